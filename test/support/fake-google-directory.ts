/**
 * A local stand-in for Google's Admin SDK Directory API (directory_v1) and Google's OAuth token
 * endpoint, for tests of the Google Workspace source. It serves the read calls the source makes
 * (users, groups, members, orgunits) in the shapes the API reference documents, checks bearer
 * tokens and their scopes the way Google does, honours the `fields` partial-response mask, and
 * lets a test script throttling and errors per request. It only ever listens on 127.0.0.1.
 *
 * Where Google's behaviour is undocumented the fake picks the strict reading (a 400 rather than a
 * silent clamp), so a client that leans on an accident fails here rather than in production.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomInt, verify } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody, sendJson as sendJsonAs } from "./fake-http.js";

// ---------------------------------------------------------------------------------------------
// Data the fake serves
// ---------------------------------------------------------------------------------------------

/** A user as stored; served with Google's defaults (kind, etag, isAdmin, emails…) filled in. */
export interface GoogleUserRecord {
  id: string;
  primaryEmail: string;
  name?: { givenName?: string; familyName?: string; fullName?: string };
  suspended?: boolean;
  archived?: boolean;
  isAdmin?: boolean;
  orgUnitPath?: string;
  organizations?: object[];
  phones?: object[];
  addresses?: object[];
  externalIds?: object[];
  relations?: object[];
  languages?: object[];
  aliases?: string[];
  customSchemas?: Record<string, Record<string, unknown>>;
  deletionTime?: string;
  customerId?: string;
  [key: string]: unknown;
}

export interface GoogleMemberRecord {
  id: string;
  email?: string;
  type: "USER" | "GROUP" | "CUSTOMER";
  role?: "MEMBER" | "MANAGER" | "OWNER";
  status?: string;
}

export interface GoogleGroupRecord {
  id: string;
  email: string;
  name: string;
  description?: string;
  /** Other addresses of the group; members.list accepts them as groupKey, like Google. */
  aliases?: string[];
  members: GoogleMemberRecord[];
}

export interface GoogleOrgUnitRecord {
  orgUnitPath: string;
  orgUnitId?: string;
  name?: string;
  parentOrgUnitPath?: string;
  description?: string;
}

export interface GoogleDirectoryData {
  users: GoogleUserRecord[];
  /** What users.list returns with showDeleted=true. */
  deletedUsers?: GoogleUserRecord[];
  groups: GoogleGroupRecord[];
  /** Without it, the OUs are derived from the users' orgUnitPath (and their ancestors). */
  orgUnits?: GoogleOrgUnitRecord[];
}

/** One Directory API request as it arrived. `path` is percent-decoded (an email groupKey reads as typed). */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
}

/** One POST /token, decoded whether or not it succeeded. */
export interface TokenRequest {
  grantType: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** undefined when the fake was started without a publicKeyPem. */
  signatureValid: boolean | undefined;
}

/** A response the fake sends instead of the real one, for throttling and error tests. */
export interface InjectedFault {
  status: number;
  /** Google's errors[0].reason; defaults by status (403 forbidden, 429 rateLimitExceeded, 5xx backendError…). */
  reason?: string;
  /** Defaults to the message Google pairs with the reason. */
  message?: string;
  /** Sent as the Retry-After header. */
  retryAfter?: string;
  /** raw body instead of Google's error JSON (sent as text/html unless it looks like JSON) */
  body?: string;
  /** errors[0].domain; defaults to usageLimits for rate and quota reasons, global otherwise. */
  domain?: string;
  /** error.status (e.g. "RESOURCE_EXHAUSTED"); omitted unless given, as in most Directory errors. */
  errorStatus?: string;
}

export interface FakeGoogleDirectory {
  /** e.g. "http://127.0.0.1:PORT/" — what @googleapis/admin takes as rootUrl. */
  rootUrl: string;
  /** e.g. "http://127.0.0.1:PORT/token" */
  tokenUrl: string;
  /** Read on every request, so a test may change it (or replace it) between calls. */
  data: GoogleDirectoryData;
  /** Every Directory API request (not token requests), in arrival order. */
  requests: RecordedRequest[];
  tokenRequests: TokenRequest[];
  /**
   * Token-endpoint behaviour: only these scopes may be granted; a request for any other scope is
   * refused with 401 unauthorized_client, as Google does when domain-wide delegation lacks a
   * scope. undefined (the default): any scope.
   */
  allowedScopes?: string[];
  /** Accept this bearer token without a token request (for the accessToken mode); it has every scope. */
  acceptToken(token: string): void;
  /** Forget every token issued or accepted so far: the next Directory request with one gets 401. */
  revokeTokens(): void;
  /** The next `times` (default 1) requests whose path matches `match` (RegExp or predicate) are answered with `fault`. */
  injectFault(match: RegExp | ((r: RecordedRequest) => boolean), fault: InjectedFault, times?: number): void;
  /** Make the token endpoint answer with this status/body (e.g. 401 unauthorized_client) the next `times` (default 1) calls. */
  failTokenRequests(status: number, body: Record<string, unknown>, times?: number): void;
  close(): Promise<void>;
}

export interface FakeGoogleDirectoryOptions {
  data?: GoogleDirectoryData;
  /** Verify each assertion's RS256 signature with this key (see makeServiceAccountKey). */
  publicKeyPem?: string;
  /** Never return more than this many items per page, whatever maxResults asks (Google may return fewer). */
  pageSizeCap?: number;
  /** The account's customer id, accepted besides my_customer. Default FAKE_CUSTOMER_ID. */
  customerId?: string;
}

/** The customer id the fake's users carry unless their record says otherwise. */
export const FAKE_CUSTOMER_ID = "C03az79cb";

const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SCOPE = "https://www.googleapis.com/auth/";

/**
 * The scopes each endpoint accepts, from the "Authorization scopes" section of each method's
 * reference page (the legacy apps-apis.google.com feeds scopes left out).
 */
const SCOPES_FOR = {
  users: [`${SCOPE}admin.directory.user`, `${SCOPE}admin.directory.user.readonly`, `${SCOPE}cloud-platform`],
  groups: [`${SCOPE}admin.directory.group`, `${SCOPE}admin.directory.group.readonly`],
  members: [
    `${SCOPE}admin.directory.group`,
    `${SCOPE}admin.directory.group.readonly`,
    `${SCOPE}admin.directory.group.member`,
    `${SCOPE}admin.directory.group.member.readonly`,
  ],
  orgunits: [`${SCOPE}admin.directory.orgunit`, `${SCOPE}admin.directory.orgunit.readonly`],
} as const;

// ---------------------------------------------------------------------------------------------
// Google's error bodies
// ---------------------------------------------------------------------------------------------

/** An error the handlers throw; the server turns it into the response. */
class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${httpStatus}`);
  }
}

const RATE_REASONS = new Set(["userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"]);

const DEFAULT_REASON: Record<number, string> = {
  400: "badRequest",
  401: "authError",
  403: "forbidden",
  404: "notFound",
  409: "duplicate",
  412: "conditionNotMet",
  429: "rateLimitExceeded",
  500: "backendError",
  502: "backendError",
  503: "backendError",
};

const DEFAULT_MESSAGE: Record<string, string> = {
  badRequest: "Bad Request",
  invalid: "Invalid Input",
  authError: "Invalid Credentials",
  forbidden: "Not Authorized to access this resource/api",
  notFound: "Resource Not Found",
  userRateLimitExceeded: "User Rate Limit Exceeded",
  rateLimitExceeded: "Rate Limit Exceeded",
  quotaExceeded: "Quota Exceeded",
  dailyLimitExceeded: "Daily Limit Exceeded",
  backendError: "Backend Error",
  internalError: "Internal Error",
};

interface ErrorExtras {
  domain?: string;
  status?: string;
  location?: string;
  locationType?: string;
  /** errors[0].message when it differs from the top-level message (as in Google's 401/403 auth errors). */
  itemMessage?: string;
  details?: unknown[];
}

/**
 * Google's JSON error envelope: {"error":{"code","message","errors":[{message,domain,reason}],…}}.
 * `status` and `details` appear only on errors from Google's front end (auth, scopes, quota).
 */
export function googleErrorBody(code: number, message: string, reason: string, extras: ErrorExtras = {}) {
  const item: Record<string, string> = {
    message: extras.itemMessage ?? message,
    domain: extras.domain ?? (RATE_REASONS.has(reason) ? "usageLimits" : "global"),
    reason,
  };
  if (extras.location) item.location = extras.location;
  if (extras.locationType) item.locationType = extras.locationType;
  const error: Record<string, unknown> = { code, message, errors: [item] };
  if (extras.status) error.status = extras.status;
  if (extras.details) error.details = extras.details;
  return { error };
}

const apiError = (code: number, message: string, reason: string, extras?: ErrorExtras) =>
  new ApiError(code, googleErrorBody(code, message, reason, extras));

/** What Google answers a list call without customer/domain, or with a customer it doesn't know. */
const badRequest = () => apiError(400, "Bad Request", "badRequest");
const invalidInput = () => apiError(400, "Invalid Input", "invalid");

/** The fake's own limits: a 400 that says plainly it is the fake refusing, not Google. */
const unsupported = (what: string) =>
  apiError(400, `fake-google-directory does not support ${what}`, "invalid");

function invalidValue(parameter: string, message: string) {
  return apiError(400, message, "invalidParameter", { location: parameter, locationType: "parameter" });
}

// ---------------------------------------------------------------------------------------------
// Partial response: the `fields` mask
// ---------------------------------------------------------------------------------------------

/** A parsed `fields` mask: per field name, `true` (the whole value) or a mask of its sub-fields. */
export type FieldMask = Map<string, FieldMask | true>;

export class FieldMaskError extends Error {}

/**
 * Parses Google's partial-response syntax: comma-separated selections, `a/b` for a nested field,
 * `a(b,c)` for several sub-fields of an object or of each element of an array (nestable), `*`
 * for every field at that level. Spaces around names are tolerated. Selecting a field whole and
 * also a part of it keeps it whole.
 */
export function parseFieldMask(text: string): FieldMask {
  let pos = 0;
  const fail = (): never => {
    throw new FieldMaskError(`Invalid field selection ${text}`);
  };
  const skipSpaces = () => {
    while (text[pos] === " ") pos++;
  };
  const name = (): string => {
    skipSpaces();
    const start = pos;
    if (text[pos] === "*") pos++;
    else while (pos < text.length && /[A-Za-z0-9_$@.#-]/.test(text[pos]!)) pos++;
    if (pos === start) fail();
    const found = text.slice(start, pos);
    skipSpaces();
    return found;
  };
  const selection = (): FieldMask => {
    const mask: FieldMask = new Map();
    for (;;) {
      const path = [name()];
      while (text[pos] === "/") {
        pos++;
        path.push(name());
      }
      let leaf: FieldMask | true = true;
      if (text[pos] === "(") {
        pos++;
        leaf = selection();
        if (text[pos] !== ")") fail();
        pos++;
        skipSpaces();
      }
      addToMask(mask, path, leaf);
      if (text[pos] !== ",") return mask;
      pos++;
    }
  };
  const mask = selection();
  if (pos !== text.length) fail();
  return mask;
}

function addToMask(mask: FieldMask, path: string[], leaf: FieldMask | true): void {
  let level = mask;
  for (const [i, segment] of path.entries()) {
    const existing = level.get(segment);
    if (existing === true) return; // already selected whole
    if (i === path.length - 1) {
      if (leaf === true || existing === undefined) level.set(segment, leaf);
      else for (const [key, sub] of leaf) addToMask(existing, [key], sub);
      return;
    }
    if (existing === undefined) {
      const next: FieldMask = new Map();
      level.set(segment, next);
      level = next;
    } else level = existing;
  }
}

/**
 * Keeps only what the mask selects. Arrays are transparent (the mask applies to each element);
 * names the value lacks are simply absent, and an object left with nothing selected is dropped.
 */
export function applyFieldMask(value: unknown, mask: FieldMask): unknown {
  if (Array.isArray(value)) return value.map((element) => applyFieldMask(element, mask));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  const star = mask.get("*");
  for (const [key, field] of Object.entries(value)) {
    const own = mask.get(key);
    const selected = own === true || star === true ? true : (own ?? star);
    if (selected === undefined) continue;
    if (selected === true) {
      out[key] = field;
      continue;
    }
    const projected = applyFieldMask(field, selected);
    if (isEmptyObject(projected) && !isEmptyObject(field)) continue;
    out[key] = projected;
  }
  return out;
}

const isEmptyObject = (v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** Google's etags are quoted opaque strings; a hash of the content keeps them stable. */
function etagOf(value: unknown): string {
  return `"${createHash("sha1").update(JSON.stringify(value)).digest("base64url")}"`;
}

const lower = (s: string) => s.toLowerCase();
const domainOfEmail = (email: string) => lower(email.slice(email.lastIndexOf("@") + 1));

function normalizeOuPath(path: string): string {
  let p = path.trim();
  if (!p.startsWith("/")) p = `/${p}`;
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

const parentOuPath = (path: string) => (path === "/" ? undefined : path.slice(0, path.lastIndexOf("/")) || "/");

/** OU names are case-insensitive (Google's OU guide), so paths compare in lower case. */
const isSameOrBelow = (path: string, top: string) => {
  const p = lower(normalizeOuPath(path));
  const t = lower(normalizeOuPath(top));
  return t === "/" || p === t || p.startsWith(`${t}/`);
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonAs(res, status, body, headers, "application/json; charset=UTF-8");
}

function decodeJwtPart(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------

interface PageLimits {
  defaultSize: number;
  maxSize: number;
}

/**
 * One page of `items`. The token is opaque to clients but names the listing it belongs to, so a
 * token replayed against another list (or another group) fails instead of silently skipping.
 * maxResults outside the documented range is refused with Google's invalidParameter error.
 */
function paginate<T>(items: T[], params: URLSearchParams, listing: string, limits: PageLimits, cap?: number) {
  let size = limits.defaultSize;
  const raw = params.get("maxResults");
  if (raw !== null) {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > limits.maxSize) {
      throw invalidValue(
        "maxResults",
        `Invalid value '${raw}'. Values must be within the range: [1, ${limits.maxSize}]`,
      );
    }
    size = n;
  }
  if (cap !== undefined) size = Math.min(size, cap);
  let offset = 0;
  const token = params.get("pageToken");
  if (token) {
    const decoded = decodeJwtPart(token);
    if (decoded?.l !== listing || typeof decoded.o !== "number" || decoded.o < 0) throw invalidInput();
    offset = decoded.o;
  }
  const slice = items.slice(offset, offset + size);
  const next = offset + size < items.length ? Buffer.from(JSON.stringify({ l: listing, o: offset + size })).toString("base64url") : undefined;
  return { slice, next };
}

/** A list response: kind and etag always, the items only when there are some (as Google omits an empty list), then the token. */
function listBody(kind: string, key: string, items: unknown[], next: string | undefined) {
  const body: Record<string, unknown> = { kind, etag: etagOf(items) };
  if (items.length > 0) body[key] = items;
  if (next !== undefined) body.nextPageToken = next;
  return body;
}

// ---------------------------------------------------------------------------------------------
// users.list `query`
// ---------------------------------------------------------------------------------------------

interface Clause {
  /** undefined: a bare word, compared with givenName, familyName and email. */
  field?: string;
  op: "=" | ":";
  value: string;
}

/** Clauses separated by spaces (an implicit AND); values may be quoted with ' or ". */
function parseUserQuery(query: string): Clause[] {
  const clauses: Clause[] = [];
  let pos = 0;
  while (pos < query.length) {
    if (query[pos] === " ") {
      pos++;
      continue;
    }
    const start = pos;
    while (pos < query.length && /[A-Za-z0-9_.]/.test(query[pos]!)) pos++;
    const op = query[pos];
    let field: string | undefined;
    let clauseOp: "=" | ":" = ":";
    if ((op === "=" || op === ":") && pos > start) {
      field = query.slice(start, pos);
      clauseOp = op;
      pos++;
    } else pos = start;
    let value: string;
    const quote = query[pos];
    if (quote === "'" || quote === '"') {
      const end = query.indexOf(quote, pos + 1);
      if (end < 0) throw invalidInput();
      value = query.slice(pos + 1, end);
      pos = end + 1;
    } else {
      const end = query.indexOf(" ", pos);
      value = query.slice(pos, end < 0 ? query.length : end);
      pos = end < 0 ? query.length : end;
    }
    if (value === "") throw invalidInput();
    clauses.push({ field, op: clauseOp, value });
  }
  return clauses;
}

type Obj = Record<string, unknown>;
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x): x is Obj => x !== null && typeof x === "object") : []);
const strings = (values: unknown[]): string[] => values.filter((v): v is string => typeof v === "string");
const pluck = (list: unknown, key: string) => strings(objects(list).map((o) => o[key]));

const ORG_FIELDS: Record<string, string> = {
  orgName: "name",
  orgTitle: "title",
  orgDepartment: "department",
  orgDescription: "description",
  orgCostCenter: "costCenter",
};
const ADDRESS_FIELDS: Record<string, string> = {
  addressPoBox: "poBox",
  addressExtended: "extendedAddress",
  addressStreet: "streetAddress",
  addressLocality: "locality",
  addressRegion: "region",
  addressPostalCode: "postalCode",
  addressCountry: "country",
};
const BOOLEAN_FIELDS: Record<string, string> = {
  isAdmin: "isAdmin",
  isDelegatedAdmin: "isDelegatedAdmin",
  isSuspended: "suspended",
  isArchived: "archived",
  isEnrolledIn2Sv: "isEnrolledIn2Sv",
  isEnforcedIn2Sv: "isEnforcedIn2Sv",
};
/** Fields Google's search guide lists that the fake does not implement. */
const UNSUPPORTED_QUERY_FIELDS = new Set(["im", "isMailboxSetup", "lastLoginTime", "creationTime"]);

const directManagerEmails = (u: GoogleUserRecord) =>
  strings(objects(u.relations).filter((r) => r.type === "manager").map((r) => r.value));

/** A string test per the search guide: `=` exact, `:` contains, `:abc*` prefix; case-insensitive. */
function matchesText(values: string[], clause: Clause): boolean {
  const v = lower(clause.value);
  if (clause.op === "=") return values.some((x) => lower(x) === v);
  if (v.endsWith("*")) return values.some((x) => lower(x).startsWith(v.slice(0, -1)));
  return values.some((x) => lower(x).includes(v));
}

/** A predicate for users.list `query`, over the subset of Google's search fields the fake knows. */
function userQueryPredicate(query: string, all: GoogleUserRecord[]): (u: GoogleUserRecord) => boolean {
  const byEmail = new Map(all.map((u) => [lower(u.primaryEmail), u]));
  const byId = new Map(all.map((u) => [u.id, u]));
  /** Everyone up the management chain, by email (Google's `manager` matches the whole chain). */
  const managerChain = (u: GoogleUserRecord): string[] => {
    const chain: string[] = [];
    let current: GoogleUserRecord | undefined = u;
    while (current && chain.length < 50) {
      const next = directManagerEmails(current)[0];
      if (next === undefined || chain.includes(lower(next))) break;
      chain.push(lower(next));
      current = byEmail.get(lower(next));
    }
    return chain;
  };
  const emailOfId = (id: string) => byId.get(id)?.primaryEmail;

  const tests = parseUserQuery(query).map((clause): ((u: GoogleUserRecord) => boolean) => {
    const { field } = clause;
    const emails = (u: GoogleUserRecord) => [u.primaryEmail, ...(u.aliases ?? []), ...pluck(u.emails, "address")];
    if (field === undefined) {
      return (u) => matchesText([u.name?.givenName ?? "", u.name?.familyName ?? "", ...emails(u)], clause);
    }
    if (field in BOOLEAN_FIELDS) {
      const wanted = lower(clause.value);
      if (clause.op !== "=" || (wanted !== "true" && wanted !== "false")) throw invalidInput();
      const key = BOOLEAN_FIELDS[field]!;
      return (u) => (u[key] === true) === (wanted === "true");
    }
    if (field === "orgUnitPath") {
      // The search guide: "This matches all org unit chains under the target".
      if (clause.op !== "=") throw invalidInput();
      return (u) => isSameOrBelow(u.orgUnitPath ?? "/", clause.value);
    }
    const orgKey = ORG_FIELDS[field];
    if (orgKey) return (u) => matchesText(pluck(u.organizations, orgKey), clause);
    const addressKey = ADDRESS_FIELDS[field];
    if (addressKey) return (u) => matchesText(pluck(u.addresses, addressKey), clause);
    switch (field) {
      case "email":
        return (u) => matchesText(emails(u), clause);
      case "givenName":
        return (u) => matchesText([u.name?.givenName ?? ""], clause);
      case "familyName":
        return (u) => matchesText([u.name?.familyName ?? ""], clause);
      case "name":
        return (u) => matchesText([`${u.name?.givenName ?? ""} ${u.name?.familyName ?? ""}`], clause);
      case "externalId":
        return (u) => matchesText(pluck(u.externalIds, "value"), clause);
      case "phone":
        return (u) => matchesText(pluck(u.phones, "value"), { ...clause, op: "=" });
      case "address":
        return (u) => matchesText(Object.values(ADDRESS_FIELDS).flatMap((k) => pluck(u.addresses, k)), { ...clause, op: ":" });
      case "directManager":
        return (u) => directManagerEmails(u).some((m) => lower(m) === lower(clause.value));
      case "directManagerId":
        return (u) => directManagerEmails(u).some((m) => lower(m) === lower(emailOfId(clause.value) ?? "\0"));
      case "manager":
        return (u) => managerChain(u).includes(lower(clause.value));
      case "managerId":
        return (u) => managerChain(u).includes(lower(emailOfId(clause.value) ?? "\0"));
    }
    if (UNSUPPORTED_QUERY_FIELDS.has(field)) throw unsupported(`the query field '${field}'`);
    const dot = field.indexOf(".");
    if (dot > 0) {
      // schemaName.fieldName: a custom attribute.
      const schema = field.slice(0, dot);
      const key = field.slice(dot + 1);
      return (u) => {
        const v = u.customSchemas?.[schema]?.[key];
        const values = Array.isArray(v) ? v.map((x: unknown) => (x && typeof x === "object" ? (x as Obj).value : x)) : [v];
        return matchesText(values.map((x) => (x === undefined || x === null ? "" : String(x))), clause);
      };
    }
    throw invalidInput();
  });
  return (u) => tests.every((test) => test(u));
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

interface IssuedToken {
  scopes: Set<string> | "all";
  subject?: string;
}

interface PendingFault {
  match: RegExp | ((r: RecordedRequest) => boolean);
  fault: InjectedFault;
  remaining: number;
}

interface PendingTokenFailure {
  status: number;
  body: Record<string, unknown>;
  remaining: number;
}

const DIRECTORY_PREFIX = "/admin/directory/v1/";

export async function startFakeGoogleDirectory(options: FakeGoogleDirectoryOptions = {}): Promise<FakeGoogleDirectory> {
  const customerId = options.customerId ?? FAKE_CUSTOMER_ID;
  const publicKey = options.publicKeyPem ? createPublicKey(options.publicKeyPem) : undefined;
  const tokens = new Map<string, IssuedToken>();
  const faults: PendingFault[] = [];
  const tokenFailures: PendingTokenFailure[] = [];

  const fake: FakeGoogleDirectory = {
    rootUrl: "",
    tokenUrl: "",
    data: options.data ?? { users: [], groups: [] },
    requests: [],
    tokenRequests: [],
    allowedScopes: undefined,
    acceptToken: (token) => {
      tokens.set(token, { scopes: "all" });
    },
    revokeTokens: () => tokens.clear(),
    injectFault: (match, fault, times = 1) => {
      faults.push({ match, fault, remaining: times });
    },
    failTokenRequests: (status, body, times = 1) => {
      tokenFailures.push({ status, body, remaining: times });
    },
    close: async () => {},
  };

  // --- token endpoint -------------------------------------------------------------------------

  /**
   * POST /token with a JWT-bearer assertion, checked the way Google's token endpoint does: the
   * signature (when the fake knows the key), the audience, a lifetime of at most an hour, a scope,
   * and the delegation's allowed scopes. The error bodies are Google's OAuth ones.
   */
  function handleToken(method: string, rawBody: string): { status: number; body: Record<string, unknown> } {
    if (method !== "POST") return { status: 405, body: { error: "invalid_request", error_description: "POST only" } };
    const form = new URLSearchParams(rawBody);
    const grantType = form.get("grant_type") ?? "";
    const assertion = form.get("assertion") ?? "";
    const parts = assertion.split(".");
    const header = decodeJwtPart(parts[0]);
    const claims = decodeJwtPart(parts[1]);
    let signatureValid: boolean | undefined;
    if (publicKey && parts.length === 3) {
      signatureValid = verify("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2]!, "base64url"));
    } else if (publicKey) signatureValid = false;
    fake.tokenRequests.push({ grantType, header: header ?? {}, claims: claims ?? {}, signatureValid });

    const failure = tokenFailures[0];
    if (failure) {
      if (--failure.remaining <= 0) tokenFailures.shift();
      return { status: failure.status, body: failure.body };
    }
    const invalidGrant = (description: string) => ({ status: 400, body: { error: "invalid_grant", error_description: description } });
    if (grantType !== JWT_BEARER) {
      return { status: 400, body: { error: "unsupported_grant_type", error_description: `Invalid grant_type: ${grantType}` } };
    }
    if (!header || !claims || parts.length !== 3) return invalidGrant("Invalid JWT: malformed assertion.");
    if (signatureValid === false) return invalidGrant("Invalid JWT Signature.");
    // google-auth-library always signs for Google's own token URL; accept the fake's too.
    if (claims.aud !== GOOGLE_TOKEN_URL && claims.aud !== fake.tokenUrl) return invalidGrant("Invalid JWT: Failed audience check.");
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== "number" || typeof exp !== "number" || exp <= now || exp - iat > 3600 || iat > now + 300) {
      return invalidGrant(
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
      );
    }
    const scopes = typeof claims.scope === "string" ? claims.scope.split(" ").filter(Boolean) : [];
    if (scopes.length === 0) {
      return { status: 400, body: { error: "invalid_scope", error_description: "Invalid OAuth scope or ID token audience provided." } };
    }
    const allowed = fake.allowedScopes;
    if (allowed && scopes.some((s) => !allowed.includes(s))) {
      return {
        status: 401,
        body: {
          error: "unauthorized_client",
          error_description:
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        },
      };
    }
    const accessToken = `ya29.fake-${randomBytes(24).toString("base64url")}`;
    tokens.set(accessToken, { scopes: new Set(scopes), subject: typeof claims.sub === "string" ? claims.sub : undefined });
    return { status: 200, body: { access_token: accessToken, expires_in: 3600, token_type: "Bearer" } };
  }

  // --- auth on Directory requests ---------------------------------------------------------------

  /**
   * Google's front end answers a missing or unknown token with 401, a token without one of the
   * method's scopes with 403. Past that, the Directory API itself refuses an impersonated subject
   * that is a known non-admin user: the 403 "Not Authorized to access this resource/api".
   */
  function authorize(authorization: string | undefined, accepted: readonly string[]): void {
    const unauthenticated = (message: string, itemMessage: string, reason: string) =>
      apiError(401, message, reason, {
        itemMessage,
        location: "Authorization",
        locationType: "header",
        status: "UNAUTHENTICATED",
      });
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!match) {
      throw unauthenticated(
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "Login Required.",
        "required",
      );
    }
    const issued = tokens.get(match[1]!);
    if (!issued) {
      throw unauthenticated(
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "Invalid Credentials",
        "authError",
      );
    }
    if (issued.scopes !== "all" && !accepted.some((s) => (issued.scopes as Set<string>).has(s))) {
      throw apiError(403, "Request had insufficient authentication scopes.", "insufficientPermissions", {
        itemMessage: "Insufficient Permission",
        status: "PERMISSION_DENIED",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            domain: "googleapis.com",
            metadata: { service: "admin.googleapis.com" },
          },
        ],
      });
    }
    if (issued.subject !== undefined) {
      const subject = fake.data.users.find((u) => lower(u.primaryEmail) === lower(issued.subject!));
      if (subject && subject.isAdmin !== true && subject.isDelegatedAdmin !== true) {
        throw apiError(403, "Not Authorized to access this resource/api", "forbidden");
      }
    }
  }

  // --- resources --------------------------------------------------------------------------------

  const isOurCustomer = (value: string) =>
    value === "my_customer" || value === customerId || fake.data.users.some((u) => u.customerId === value);

  /** A user as Google serves it: the fields it always returns, then the record, then the projection. */
  function userResource(u: GoogleUserRecord, projection: string, schemaMask: string[] | undefined, deleted: boolean) {
    const { customSchemas, name, id, primaryEmail, ...rest } = u;
    const given = name?.givenName ?? "";
    const family = name?.familyName ?? "";
    const out: Obj = {
      kind: "admin#directory#user",
      id,
      etag: etagOf(u),
      primaryEmail,
      name: { ...name, givenName: given, familyName: family, fullName: name?.fullName ?? `${given} ${family}`.trim() },
      isAdmin: false,
      isDelegatedAdmin: false,
      suspended: false,
      archived: false,
      orgUnitPath: "/",
      customerId,
      emails: [{ address: primaryEmail, primary: true }],
      ...rest,
    };
    if (deleted && out.deletionTime === undefined) out.deletionTime = "2024-01-01T00:00:00.000Z";
    if (customSchemas && projection === "full") out.customSchemas = customSchemas;
    if (customSchemas && projection === "custom") {
      const picked = Object.fromEntries(Object.entries(customSchemas).filter(([schema]) => schemaMask?.includes(schema)));
      if (Object.keys(picked).length > 0) out.customSchemas = picked;
    }
    return out;
  }

  const sortKeys: Record<string, (u: GoogleUserRecord) => string> = {
    email: (u) => lower(u.primaryEmail),
    givenname: (u) => lower(u.name?.givenName ?? ""),
    familyname: (u) => lower(u.name?.familyName ?? ""),
  };

  function listUsers(params: URLSearchParams) {
    const customer = params.get("customer");
    const domain = params.get("domain");
    if (!customer && !domain) throw badRequest();
    if (customer && !isOurCustomer(customer)) throw badRequest();
    const deleted = params.get("showDeleted") === "true";
    let users = deleted ? (fake.data.deletedUsers ?? []) : fake.data.users;
    if (domain) users = users.filter((u) => domainOfEmail(u.primaryEmail) === lower(domain));
    const query = params.get("query");
    if (query) users = users.filter(userQueryPredicate(query, fake.data.users));
    const orderBy = params.get("orderBy");
    if (orderBy) {
      const key = sortKeys[lower(orderBy)];
      if (!key) throw invalidValue("orderBy", `Invalid string value: '${orderBy}'. Allowed values: [email, familyName, givenName]`);
      const sign = lower(params.get("sortOrder") ?? "ascending") === "descending" ? -1 : 1;
      users = [...users].sort((a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    }
    const projection = lower(params.get("projection") ?? "basic");
    if (!["basic", "full", "custom"].includes(projection)) {
      throw invalidValue("projection", `Invalid string value: '${projection}'. Allowed values: [basic, custom, full]`);
    }
    const customFieldMask = params.get("customFieldMask")?.split(",").map((s) => s.trim()).filter(Boolean);
    if (projection === "custom" && !customFieldMask?.length) throw invalidInput();
    const { slice, next } = paginate(users, params, deleted ? "deletedUsers" : "users", { defaultSize: 100, maxSize: 500 }, options.pageSizeCap);
    return listBody(
      "admin#directory#users",
      "users",
      slice.map((u) => userResource(u, projection, customFieldMask, deleted)),
      next,
    );
  }

  function findUser(key: string): GoogleUserRecord | undefined {
    const k = lower(key);
    return fake.data.users.find(
      (u) => u.id === key || lower(u.primaryEmail) === k || (u.aliases ?? []).some((a) => lower(a) === k),
    );
  }

  function getUser(userKey: string, params: URLSearchParams) {
    const user = findUser(userKey);
    if (!user) throw apiError(404, "Resource Not Found: userKey", "notFound");
    const projection = lower(params.get("projection") ?? "basic");
    const customFieldMask = params.get("customFieldMask")?.split(",").map((s) => s.trim()).filter(Boolean);
    return userResource(user, projection, customFieldMask, false);
  }

  function groupResource(g: GoogleGroupRecord) {
    const { members, id, email, name, ...rest } = g;
    return {
      kind: "admin#directory#group",
      id,
      etag: etagOf(g),
      email,
      name,
      // Google's int64 fields travel as strings.
      directMembersCount: String(members.length),
      description: g.description ?? "",
      adminCreated: true,
      ...rest,
    };
  }

  function listGroups(params: URLSearchParams) {
    const customer = params.get("customer");
    const domain = params.get("domain");
    const userKey = params.get("userKey");
    // groups.list: "userKey … Cannot be used with customer parameter" (a 400 Bad Request in practice).
    if (userKey && customer) throw badRequest();
    if (!customer && !domain && !userKey) throw badRequest();
    if (customer && !isOurCustomer(customer)) throw badRequest();
    if (params.get("query")) throw unsupported("groups.list query");
    let groups = fake.data.groups;
    if (domain) groups = groups.filter((g) => domainOfEmail(g.email) === lower(domain));
    if (userKey) {
      const user = findUser(userKey);
      const addresses = new Set([lower(userKey), ...(user ? [lower(user.primaryEmail), ...(user.aliases ?? []).map(lower)] : [])]);
      groups = groups.filter((g) =>
        g.members.some((m) => m.id === userKey || m.id === user?.id || (m.email !== undefined && addresses.has(lower(m.email)))),
      );
    }
    const { slice, next } = paginate(groups, params, `groups`, { defaultSize: 200, maxSize: 200 }, options.pageSizeCap);
    return listBody("admin#directory#groups", "groups", slice.map(groupResource), next);
  }

  function findGroup(key: string): GoogleGroupRecord | undefined {
    const k = lower(key);
    return fake.data.groups.find(
      (g) => g.id === key || lower(g.email) === k || (g.aliases ?? []).some((a) => lower(a) === k),
    );
  }

  /**
   * includeDerivedMembership=true: the direct members, then, depth first, the members of each
   * nested group (the nested group itself stays listed, as Google does). A member reached twice
   * is listed once, at its first (most direct) place; cycles end.
   */
  function derivedMembers(group: GoogleGroupRecord): GoogleMemberRecord[] {
    const out: GoogleMemberRecord[] = [];
    const seenMembers = new Set<string>();
    const seenGroups = new Set<string>();
    const walk = (g: GoogleGroupRecord) => {
      if (seenGroups.has(g.id)) return;
      seenGroups.add(g.id);
      const nested: GoogleGroupRecord[] = [];
      for (const m of g.members) {
        const key = m.id || lower(m.email ?? "");
        if (!seenMembers.has(key)) {
          seenMembers.add(key);
          out.push(m);
        }
        if (m.type === "GROUP") {
          const inner = findGroup(m.id) ?? (m.email ? findGroup(m.email) : undefined);
          if (inner) nested.push(inner);
        }
      }
      for (const inner of nested) walk(inner);
    };
    walk(group);
    return out;
  }

  function memberResource(m: GoogleMemberRecord) {
    const out: Obj = { kind: "admin#directory#member", etag: etagOf(m), id: m.id };
    if (m.email !== undefined && m.type !== "CUSTOMER") out.email = m.email;
    out.role = m.role ?? "MEMBER";
    out.type = m.type;
    let status = m.status;
    if (status === undefined && m.type === "USER") {
      // A member that is a suspended user is listed as SUSPENDED.
      const user = fake.data.users.find((u) => u.id === m.id || (m.email !== undefined && lower(u.primaryEmail) === lower(m.email)));
      status = user?.suspended ? "SUSPENDED" : "ACTIVE";
    }
    if (status !== undefined) out.status = status;
    return out;
  }

  function listMembers(groupKey: string, params: URLSearchParams) {
    const group = findGroup(groupKey);
    if (!group) throw apiError(404, "Resource Not Found: groupKey", "notFound");
    let members = params.get("includeDerivedMembership") === "true" ? derivedMembers(group) : group.members;
    const roles = params.get("roles");
    if (roles) {
      const wanted = new Set(roles.split(",").map((r) => r.trim().toUpperCase()));
      members = members.filter((m) => wanted.has(m.role ?? "MEMBER"));
    }
    const { slice, next } = paginate(members, params, `members:${group.id}`, { defaultSize: 200, maxSize: 200 }, options.pageSizeCap);
    return listBody("admin#directory#members", "members", slice.map(memberResource), next);
  }

  function orgUnitRecords(): GoogleOrgUnitRecord[] {
    if (fake.data.orgUnits) return fake.data.orgUnits;
    const paths = new Set<string>();
    for (const u of fake.data.users) {
      let p: string | undefined = normalizeOuPath(u.orgUnitPath ?? "/");
      while (p && p !== "/") {
        paths.add(p);
        p = parentOuPath(p);
      }
    }
    return [...paths].sort().map((orgUnitPath) => ({ orgUnitPath }));
  }

  const orgUnitIdOf = (path: string) => `id:${createHash("sha1").update(lower(path)).digest("hex").slice(0, 14)}`;

  function orgUnitResource(ou: GoogleOrgUnitRecord, all: GoogleOrgUnitRecord[]) {
    const path = normalizeOuPath(ou.orgUnitPath);
    const parent = ou.parentOrgUnitPath ?? parentOuPath(path) ?? "/";
    const parentRecord = all.find((o) => lower(normalizeOuPath(o.orgUnitPath)) === lower(parent));
    const out: Obj = {
      kind: "admin#directory#orgUnit",
      etag: etagOf(ou),
      name: ou.name ?? path.slice(path.lastIndexOf("/") + 1),
      orgUnitPath: path,
      orgUnitId: ou.orgUnitId ?? orgUnitIdOf(path),
      parentOrgUnitPath: parent,
      parentOrgUnitId: parentRecord?.orgUnitId ?? orgUnitIdOf(parent),
      blockInheritance: false,
    };
    if (ou.description !== undefined) out.description = ou.description;
    return out;
  }

  function rootOrgUnit() {
    const first = fake.data.users[0];
    return {
      kind: "admin#directory#orgUnit",
      etag: etagOf("/"),
      name: first ? domainOfEmail(first.primaryEmail) : "example.com",
      description: "",
      orgUnitPath: "/",
      orgUnitId: orgUnitIdOf("/"),
      blockInheritance: false,
    };
  }

  function listOrgUnits(customer: string, params: URLSearchParams) {
    if (!isOurCustomer(customer)) throw badRequest();
    const all = orgUnitRecords();
    const type = params.get("type") ?? "children";
    const kind = lower(type).replaceAll("_", "");
    if (!["all", "children", "allincludingparent"].includes(kind)) {
      throw invalidValue("type", `Invalid string value: '${type}'. Allowed values: [all, allIncludingParent, children]`);
    }
    // orgUnitPath: a path (with or without its leading slash) or an OU's id.
    const requested = params.get("orgUnitPath") ?? "/";
    let top = "/";
    if (requested !== "/" && requested !== "") {
      const byId = all.find((o) => (o.orgUnitId ?? orgUnitIdOf(normalizeOuPath(o.orgUnitPath))) === requested);
      const byPath = all.find((o) => lower(normalizeOuPath(o.orgUnitPath)) === lower(normalizeOuPath(requested)));
      const found = byId ?? byPath;
      if (!found) throw apiError(404, "Org unit not found", "notFound");
      top = normalizeOuPath(found.orgUnitPath);
    }
    const units: Obj[] = [];
    if (kind === "allincludingparent") {
      const self = all.find((o) => lower(normalizeOuPath(o.orgUnitPath)) === lower(top));
      units.push(self ? orgUnitResource(self, all) : rootOrgUnit());
    }
    for (const ou of all) {
      const path = normalizeOuPath(ou.orgUnitPath);
      if (lower(path) === lower(top) || !isSameOrBelow(path, top)) continue;
      if (kind === "children" && lower(parentOuPath(path) ?? "") !== lower(top)) continue;
      units.push(orgUnitResource(ou, all));
    }
    const body: Obj = { kind: "admin#directory#orgUnits", etag: etagOf(units) };
    if (units.length > 0) body.organizationUnits = units;
    return body;
  }

  // --- routing ----------------------------------------------------------------------------------

  interface Route {
    scopes: readonly string[];
    run: (params: URLSearchParams) => unknown;
  }

  function route(method: string, segments: string[]): Route | undefined {
    if (method !== "GET") return undefined;
    const [first, second, third, fourth] = segments;
    if (first === "users" && segments.length === 1) return { scopes: SCOPES_FOR.users, run: listUsers };
    if (first === "users" && segments.length === 2) return { scopes: SCOPES_FOR.users, run: (p) => getUser(second!, p) };
    if (first === "groups" && segments.length === 1) return { scopes: SCOPES_FOR.groups, run: listGroups };
    if (first === "groups" && third === "members" && segments.length === 3) {
      return { scopes: SCOPES_FOR.members, run: (p) => listMembers(second!, p) };
    }
    if (first === "customer" && third === "orgunits" && fourth === undefined && segments.length === 3) {
      return { scopes: SCOPES_FOR.orgunits, run: (p) => listOrgUnits(second!, p) };
    }
    return undefined;
  }

  function takeFault(recorded: RecordedRequest): InjectedFault | undefined {
    const index = faults.findIndex((f) => (f.match instanceof RegExp ? f.match.test(recorded.path) : f.match(recorded)));
    if (index < 0) return undefined;
    const pending = faults[index]!;
    if (--pending.remaining <= 0) faults.splice(index, 1);
    return pending.fault;
  }

  function sendFault(res: ServerResponse, fault: InjectedFault): void {
    const headers: Record<string, string> = fault.retryAfter ? { "retry-after": fault.retryAfter } : {};
    if (fault.body !== undefined) {
      const looksJson = /^\s*[{[]/.test(fault.body);
      res
        .writeHead(fault.status, {
          "content-type": looksJson ? "application/json; charset=UTF-8" : "text/html; charset=UTF-8",
          "content-length": Buffer.byteLength(fault.body),
          ...headers,
        })
        .end(fault.body);
      return;
    }
    const reason = fault.reason ?? DEFAULT_REASON[fault.status] ?? "backendError";
    const message = fault.message ?? DEFAULT_MESSAGE[reason] ?? reason;
    const extras: ErrorExtras = {};
    if (fault.domain) extras.domain = fault.domain;
    if (fault.errorStatus) extras.status = fault.errorStatus;
    sendJson(res, fault.status, googleErrorBody(fault.status, message, reason, extras), headers);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const rawBody = await readBody(req);
    if (url.pathname === "/token") {
      const { status, body } = handleToken(method, rawBody);
      sendJson(res, status, body, { "cache-control": "no-cache, no-store, max-age=0, must-revalidate" });
      return;
    }
    const segments = url.pathname.startsWith(DIRECTORY_PREFIX)
      ? url.pathname.slice(DIRECTORY_PREFIX.length).split("/").filter(Boolean).map(decodeURIComponent)
      : undefined;
    const recorded: RecordedRequest = {
      method,
      path: segments ? DIRECTORY_PREFIX + segments.join("/") : decodeURIComponent(url.pathname),
      query: Object.fromEntries(url.searchParams),
    };
    if (req.headers.authorization !== undefined) recorded.authorization = req.headers.authorization;
    fake.requests.push(recorded);

    const fault = takeFault(recorded);
    if (fault) return sendFault(res, fault);

    const found = segments ? route(method, segments) : undefined;
    if (!found) throw apiError(404, `fake-google-directory has no ${method} ${url.pathname}`, "notFound");
    authorize(recorded.authorization, found.scopes);
    const fields = url.searchParams.get("fields");
    let mask: FieldMask | undefined;
    if (fields) {
      try {
        mask = parseFieldMask(fields);
      } catch (error) {
        if (!(error instanceof FieldMaskError)) throw error;
        throw invalidValue("fields", error.message);
      }
    }
    const body = found.run(url.searchParams);
    sendJson(res, 200, mask ? applyFieldMask(body, mask) : body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof ApiError) sendJson(res, error.httpStatus, error.body, error.headers);
      else sendJson(res, 500, googleErrorBody(500, `fake-google-directory failed: ${String(error)}`, "internalError"));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.rootUrl = `http://127.0.0.1:${port}/`;
  fake.tokenUrl = `http://127.0.0.1:${port}/token`;
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}

// ---------------------------------------------------------------------------------------------
// Service-account keys for tests
// ---------------------------------------------------------------------------------------------

/** An RSA key pair and a service-account key JSON (type service_account, client_email, private_key, private_key_id, client_id, token_uri) for tests. */
export function makeServiceAccountKey(options: { clientEmail?: string; tokenUri?: string } = {}): {
  json: string;
  key: Record<string, string>;
  publicKeyPem: string;
  privateKeyPem: string;
} {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const clientEmail = options.clientEmail ?? "scimsync-test@fake-project.iam.gserviceaccount.com";
  // Same field set and order as a key downloaded from the Cloud console.
  const key = {
    type: "service_account",
    project_id: "fake-project",
    private_key_id: randomBytes(20).toString("hex"),
    private_key: privateKey,
    client_email: clientEmail,
    client_id: String(randomInt(10 ** 11, 10 ** 12 - 1)) + String(randomInt(10 ** 8, 10 ** 9 - 1)),
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: options.tokenUri ?? GOOGLE_TOKEN_URL,
    auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: "googleapis.com",
  };
  return { json: JSON.stringify(key, null, 2), key, publicKeyPem: publicKey, privateKeyPem: privateKey };
}
