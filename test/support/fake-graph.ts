/**
 * A local stand-in for Microsoft Graph v1.0 (the directory reads an Entra ID source makes) and for
 * the Microsoft identity platform's token endpoint, for tests that drive the REAL
 * `@microsoft/microsoft-graph-client` and `@azure/identity` libraries. Both refuse plain HTTP (MSAL
 * wants an https authority; the Graph client attaches its token only to https URLs), so the fake
 * serves HTTPS on 127.0.0.1 with a throwaway CA (see test-ca.ts) that this process trusts.
 *
 * It serves users, groups (direct and transitive members), an enterprise app's assignments and the
 * users/groups delta functions in the shapes the Graph reference documents; checks bearer tokens
 * and application permissions; and lets a test script throttling, errors and delta-token expiry.
 *
 * Where Graph's behaviour is undocumented or varies, the fake picks the strict reading (e.g. it
 * returns only the properties $select names, without a free `id`; membership removals in delta
 * come as `@removed` entries), so a client that leans on an accident fails here, not in production.
 * Features the fake does not implement answer 400 with a message that says so plainly.
 */
import { createHash, createPublicKey, randomBytes, randomUUID, verify, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { makeTestCertificates, trustTestCa, type TestCertificates } from "./test-ca.js";
import { readBody, sendJson as sendJsonAs } from "./fake-http.js";

// ---------------------------------------------------------------------------------------------
// Data the fake serves
// ---------------------------------------------------------------------------------------------

/**
 * A user as stored. Properties use Graph's names; anything a test adds (employeeType,
 * onPremisesExtensionAttributes, extension_<app>_<name>…) is served when $select names it.
 * `managerId` is the fake's own field: Graph exposes it as the `manager` navigation property.
 */
export interface GraphUserRecord {
  id: string;
  userPrincipalName: string;
  mail?: string | null;
  givenName?: string | null;
  surname?: string | null;
  displayName?: string | null;
  jobTitle?: string | null;
  department?: string | null;
  employeeId?: string | null;
  preferredLanguage?: string | null;
  officeLocation?: string | null;
  streetAddress?: string | null;
  city?: string | null;
  state?: string | null;
  postalCode?: string | null;
  country?: string | null;
  mobilePhone?: string | null;
  businessPhones?: string[];
  accountEnabled?: boolean;
  managerId?: string;
  [key: string]: unknown;
}

export interface GraphGroupRecord {
  id: string;
  displayName: string;
  mail?: string | null;
  description?: string | null;
  /** Ids of the direct members: users or groups. Ids that resolve to neither are skipped. */
  members: string[];
  /** Other group properties (groupTypes, securityEnabled, mailNickname…) override the defaults. */
  [key: string]: unknown;
}

export interface AppAssignmentRecord {
  id: string;
  principalId: string;
  principalType: "User" | "Group" | "ServicePrincipal";
  /** Default: the all-zero GUID, Graph's "default access" role. */
  appRoleId?: string;
  resourceId: string;
  createdDateTime?: string;
  /** Default: the displayName of the user or group principalId names. */
  principalDisplayName?: string | null;
}

export interface ServicePrincipalRecord {
  /** The application (client) id, for /servicePrincipals(appId='…') and $filter=appId eq '…'. */
  appId?: string;
  displayName?: string;
  appRoleAssignedTo: AppAssignmentRecord[];
}

export interface GraphTenantData {
  users: GraphUserRecord[];
  groups: GraphGroupRecord[];
  /** Keyed by the service principal's object id. */
  servicePrincipals?: Record<string, ServicePrincipalRecord>;
}

/** One Graph request as it arrived. `path` is percent-decoded. */
export interface GraphRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  /** The Prefer header (e.g. return=minimal on a delta request). */
  prefer?: string;
  /** The ConsistencyLevel header (eventual for advanced queries). */
  consistencyLevel?: string;
}

/** One POST /{tenant}/oauth2/v2.0/token, decoded whether or not it succeeded. */
export interface GraphTokenRequest {
  tenant: string;
  grantType: string;
  clientId?: string;
  scope?: string;
  clientSecret?: string;
  clientAssertionType?: string;
  clientAssertion?: string;
  /** The assertion's decoded JWT header and claims (certificate credentials). */
  assertionHeader?: Record<string, unknown>;
  assertionClaims?: Record<string, unknown>;
}

/** A response the fake sends instead of the real one, for throttling and error tests. */
export interface GraphInjectedFault {
  status: number;
  /** error.code; defaults by status (429 TooManyRequests, 503 serviceNotAvailable…). */
  code?: string;
  /** error.message; defaults to the message Graph pairs with the code. */
  message?: string;
  /** Sent as the Retry-After header (seconds, or an HTTP date). */
  retryAfter?: string;
  /** Raw body instead of Graph's error JSON (sent as text/html unless it looks like JSON). */
  body?: string;
}

export type RequestMatcher = RegExp | ((r: { method: string; path: string; query: Record<string, string> }) => boolean);

export interface ExpireDeltaTokensOptions {
  /** Default 410 (Gone), as the delta overview's "synchronization reset" describes. */
  status?: number;
  /** Default "resyncRequired"; Graph has also been seen answering "syncStateNotFound" (400 or 410). */
  code?: string;
  message?: string;
}

export interface FakeGraph {
  /** "https://127.0.0.1:PORT" (no trailing slash): the authorityHost, and the Graph base URL. */
  url: string;
  tenantId: string;
  /** The CA that signed the fake's certificate (PEM): trust it (trustTestCa / NODE_EXTRA_CA_CERTS). */
  caPem: string;
  /**
   * Read on every request, so a test may change it (or replace it) between calls. Delta queries
   * see every change, whether made directly or through the helpers below: at the start of each
   * delta round the fake diffs the data against what it last saw.
   */
  data: GraphTenantData;
  /** Every Graph request (not identity requests), in arrival order. */
  requests: GraphRecordedRequest[];
  tokenRequests: GraphTokenRequest[];
  /** Every identity-platform request (metadata and token), as "METHOD /path" in arrival order. */
  identityRequests: string[];
  /** Replace properties of a user (a property set to undefined is removed, i.e. becomes null). */
  updateUser(id: string, patch: Partial<GraphUserRecord>): void;
  addUser(user: GraphUserRecord): void;
  /**
   * Delete a user and take it out of every group, as Entra does. Delta reports it as
   * `{"id", "@removed": {"reason": "changed"}}` (soft delete: restorable for 30 days) or, with
   * `permanent`, `"reason": "deleted"`.
   */
  deleteUser(id: string, options?: { permanent?: boolean }): void;
  addGroup(group: GraphGroupRecord): void;
  updateGroup(id: string, patch: Partial<GraphGroupRecord>): void;
  deleteGroup(id: string, options?: { permanent?: boolean }): void;
  setGroupMembers(id: string, members: string[]): void;
  /**
   * The next `times` (default 1) requests matching `match` (a RegExp on the decoded path, or a
   * predicate) get `fault` instead of the real answer. Applies to token requests too (path
   * `/{tenant}/oauth2/v2.0/token`), answered in the identity platform's error format.
   */
  injectFault(match: RequestMatcher, fault: GraphInjectedFault, times?: number): void;
  /** Make every existing delta/skip token invalid: the next request with one gets 410 Gone (see options). */
  expireDeltaTokens(options?: ExpireDeltaTokensOptions): void;
  /** Forget every access token issued so far: the next Graph request with one gets 401. */
  revokeTokens(): void;
  /**
   * Only these application permissions are granted; a request needing others gets 403
   * Authorization_RequestDenied. undefined (the default): all. Checked on every request, so a
   * test can change it without making the client fetch a new token.
   */
  grantedPermissions?: string[];
  /** Server-side page size cap for lists and delta (Graph may return fewer than $top). */
  pageSize?: number;
  /** Members per group entry in a groups/delta page; a bigger group is split over several entries. Default 500. */
  deltaMembersPerEntry: number;
  close(): Promise<void>;
}

export interface FakeGraphOptions {
  data?: GraphTenantData;
  tenantId?: string;
  /** When set, a client_secret other than this is refused (AADSTS7000215). Otherwise any secret is accepted. */
  clientSecret?: string;
  /** When set, a client_id other than this is refused (AADSTS700016). */
  clientId?: string;
  /** When set, client assertions must be signed by this certificate's key (and name its thumbprint). */
  clientCertificatePem?: string;
  pageSize?: number;
  grantedPermissions?: string[];
  /** Default: makeTestCertificates() (one CA per process). */
  certificates?: TestCertificates;
  /** Call trustTestCa for the fake's CA in this process. Default true. */
  trustCa?: boolean;
}

export const DEFAULT_TENANT_ID = "8f3b2a1c-6d4e-4f5a-9b7c-0d1e2f3a4b5c";
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
const GRAPH_RESOURCE = "https://graph.microsoft.com";
const DEFAULT_APP_ROLE_ID = "00000000-0000-0000-0000-000000000000";
const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/**
 * The application permissions each endpoint accepts (any one suffices), from the "Permissions"
 * table of each method's reference page (least to most privileged).
 */
const PERMISSIONS = {
  users: ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
  groups: [
    "GroupMember.Read.All",
    "Group.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
  ],
  applications: ["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
} as const;
const ALL_PERMISSIONS = [...new Set(Object.values(PERMISSIONS).flat())];

// ---------------------------------------------------------------------------------------------
// Resource shapes
// ---------------------------------------------------------------------------------------------

/** What GET /users returns without $select (the v1.0 default set; the reference's example 1). */
const DEFAULT_USER_PROPERTIES = [
  "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
  "preferredLanguage", "surname", "userPrincipalName", "id",
] as const;

/** user properties $select may name (v1.0 user resource, the ones a directory read may want). */
const USER_PROPERTIES = [
  "id", "aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans", "birthday", "businessPhones",
  "city", "companyName", "consentProvidedForMinor", "country", "createdDateTime", "creationType", "deletedDateTime",
  "department", "displayName", "employeeHireDate", "employeeId", "employeeLeaveDateTime", "employeeOrgData",
  "employeeType", "externalUserState", "externalUserStateChangeDateTime", "faxNumber", "givenName", "hireDate",
  "identities", "imAddresses", "interests", "isResourceAccount", "jobTitle", "lastPasswordChangeDateTime",
  "legalAgeGroupClassification", "mail", "mailNickname", "mobilePhone", "mySite", "officeLocation",
  "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesExtensionAttributes", "onPremisesImmutableId",
  "onPremisesLastSyncDateTime", "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled",
  "onPremisesUserPrincipalName", "otherMails", "passwordPolicies", "pastProjects", "postalCode",
  "preferredDataLocation", "preferredLanguage", "preferredName", "proxyAddresses", "responsibilities", "schools",
  "securityIdentifier", "showInAddressList", "signInSessionsValidFromDateTime", "skills", "state", "streetAddress",
  "surname", "usageLocation", "userPrincipalName", "userType",
];
/** Collection-valued user properties: served as [] rather than null when unset. */
const USER_COLLECTIONS = new Set(["businessPhones", "imAddresses", "otherMails", "proxyAddresses", "identities", "assignedLicenses", "assignedPlans", "interests", "pastProjects", "responsibilities", "schools", "skills"]);

/** group properties a group resource has (v1.0), served in this order without $select. */
const GROUP_PROPERTIES = [
  "id", "deletedDateTime", "classification", "createdDateTime", "creationOptions", "description", "displayName",
  "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "mailNickname", "membershipRule",
  "membershipRuleProcessingState", "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesNetBiosName",
  "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation",
  "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions",
  "securityEnabled", "securityIdentifier", "theme", "visibility", "onPremisesProvisioningErrors",
  "serviceProvisioningErrors",
];
const GROUP_COLLECTIONS = new Set(["creationOptions", "groupTypes", "proxyAddresses", "resourceBehaviorOptions", "resourceProvisioningOptions", "onPremisesProvisioningErrors", "serviceProvisioningErrors"]);

const APP_ROLE_ASSIGNMENT_PROPERTIES = [
  "id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName", "principalId", "principalType",
  "resourceDisplayName", "resourceId",
];

const USER_TYPE = "#microsoft.graph.user";
const GROUP_TYPE = "#microsoft.graph.group";

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Graph's error bodies
// ---------------------------------------------------------------------------------------------

// Plain fields rather than parameter properties: the file stays loadable by Node's type stripping.
class GraphError extends Error {
  readonly httpStatus: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(httpStatus: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.httpStatus = httpStatus;
    this.code = code;
    this.headers = headers;
  }
}

/** Graph's innerError date: ISO 8601 to the second, no zone designator. */
const graphDate = () => new Date().toISOString().slice(0, 19);

export function graphErrorBody(code: string, message: string, requestId: string, clientRequestId?: string) {
  return {
    error: {
      code,
      message,
      innerError: { date: graphDate(), "request-id": requestId, "client-request-id": clientRequestId ?? requestId },
    },
  };
}

const DEFAULT_FAULT: Record<number, [string, string]> = {
  400: ["BadRequest", "Bad request."],
  401: ["InvalidAuthenticationToken", "Access token validation failure."],
  403: ["Authorization_RequestDenied", "Insufficient privileges to complete the operation."],
  404: ["Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property objects are not present."],
  409: ["Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property exists."],
  429: ["TooManyRequests", "Too many requests"],
  500: ["generalException", "An unspecified error has occurred."],
  502: ["BadGateway", "Bad gateway."],
  503: ["serviceNotAvailable", "The service is not available. Try the request again after a delay."],
  504: ["GatewayTimeout", "The server, while acting as a proxy, did not receive a timely response from the upstream server."],
};

const notFound = (key: string) =>
  new GraphError(
    404,
    "Request_ResourceNotFound",
    `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
  );
/** The fake's own limits: a 400 that says plainly it is the fake refusing, not Graph. */
const unsupported = (what: string) => new GraphError(400, "BadRequest", `fake-graph does not support ${what}`);
const unknownProperty = (name: string, type: string) =>
  new GraphError(
    400,
    "BadRequest",
    `Parsing OData Select and Expand failed: Could not find a property named '${name}' on type 'microsoft.graph.${type}'.`,
  );

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const lower = (s: string) => s.toLowerCase();
const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function decodeB64Json(text: string | undefined | null): Obj | undefined {
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Obj) : undefined;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonAs(res, status, body, headers);
}

/** Graph's content type: the Graph client parses JSON by the part before the first ";". */
const ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/** Case-insensitive lookup of a property name in a list, giving its canonical spelling. */
function canonical(name: string, known: Iterable<string>): string | undefined {
  const wanted = lower(name);
  for (const k of known) if (lower(k) === wanted) return k;
  return undefined;
}

/** Splits on commas outside parentheses ("a,manager($select=id,x),b"). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

// ---------------------------------------------------------------------------------------------
// $filter: the small subset of OData filters the fake understands
// ---------------------------------------------------------------------------------------------

type FilterValue = string | boolean | null;
interface FilterClause {
  op: "eq" | "startswith";
  property: string;
  value: FilterValue;
}

class FilterSyntaxError extends Error {}

/**
 * Clauses joined by `and`: `prop eq 'text'|true|false|null` or `startswith(prop,'text')`.
 * Strings use OData quoting ('' for a quote). Anything else is a FilterSyntaxError.
 */
function parseFilter(text: string): FilterClause[] {
  const clauses: FilterClause[] = [];
  let pos = 0;
  const skip = () => {
    while (text[pos] === " ") pos++;
  };
  const word = () => {
    skip();
    const start = pos;
    while (pos < text.length && /[A-Za-z0-9_/.]/.test(text[pos]!)) pos++;
    if (pos === start) throw new FilterSyntaxError();
    return text.slice(start, pos);
  };
  const literal = (): FilterValue => {
    skip();
    if (text[pos] === "'") {
      let out = "";
      pos++;
      for (;;) {
        if (pos >= text.length) throw new FilterSyntaxError();
        if (text[pos] === "'") {
          if (text[pos + 1] === "'") {
            out += "'";
            pos += 2;
            continue;
          }
          pos++;
          return out;
        }
        out += text[pos++];
      }
    }
    const w = lower(word());
    if (w === "true") return true;
    if (w === "false") return false;
    if (w === "null") return null;
    throw new FilterSyntaxError();
  };
  for (;;) {
    const first = word();
    skip();
    if (lower(first) === "startswith" && text[pos] === "(") {
      pos++;
      const property = word();
      skip();
      if (text[pos] !== ",") throw new FilterSyntaxError();
      pos++;
      const value = literal();
      skip();
      if (text[pos] !== ")" || typeof value !== "string") throw new FilterSyntaxError();
      pos++;
      clauses.push({ op: "startswith", property, value });
    } else {
      const op = lower(word());
      if (op !== "eq") throw new FilterSyntaxError(op);
      clauses.push({ op: "eq", property: first, value: literal() });
    }
    skip();
    if (pos >= text.length) return clauses;
    if (lower(word()) !== "and") throw new FilterSyntaxError();
  }
}

/** String comparisons are case-insensitive, as for Graph's directory properties. */
function matchesClause(value: unknown, clause: FilterClause): boolean {
  if (clause.op === "startswith") return typeof value === "string" && lower(value).startsWith(lower(clause.value as string));
  if (clause.value === null) return value === null || value === undefined;
  if (typeof clause.value === "string") return typeof value === "string" && lower(value) === lower(clause.value);
  return value === clause.value;
}

// ---------------------------------------------------------------------------------------------
// Change tracking for delta
// ---------------------------------------------------------------------------------------------

interface ChangeEvent {
  version: number;
  /** Property name -> its JSON before this change ("null" when unset). */
  before: Map<string, string>;
}

interface Tracked {
  createdVersion: number;
  /** Property name -> JSON of its value, as last seen. */
  props: Map<string, string>;
  events: ChangeEvent[];
  members?: Set<string>;
  memberEvents?: { version: number; id: string; added: boolean }[];
}

interface Tombstone {
  version: number;
  reason: "changed" | "deleted";
}

interface DeltaRound {
  kind: "users" | "groups";
  items: Obj[];
  /** The clock when the round's snapshot was taken: the deltaLink's token. */
  version: number;
  epoch: number;
  select: string[] | null;
  trackMembers: boolean;
  /** $top of the initial request, if any (kept in the tokens like the other options). */
  top: number | null;
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export async function startFakeGraph(options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const certificates = options.certificates ?? (await makeTestCertificates());
  if (options.trustCa ?? true) trustTestCa(certificates.caPem);
  const tenantId = options.tenantId ?? DEFAULT_TENANT_ID;

  const faults: { match: RequestMatcher; fault: GraphInjectedFault; remaining: number }[] = [];
  /** access token -> what it was issued for. */
  const issuedTokens = new Map<string, { clientId: string; expiresAt: number }>();
  let deltaEpoch = 0;
  let expiry: Required<ExpireDeltaTokensOptions> = {
    status: 410,
    code: "resyncRequired",
    message: "Resync is required. The delta token is no longer valid, and the app must reset the sync state.",
  };
  const rounds = new Map<string, DeltaRound>();
  let roundSeq = 0;

  // Delta bookkeeping: a logical clock bumped once per detected change.
  let clock = 0;
  const tracked = { users: new Map<string, Tracked>(), groups: new Map<string, Tracked>() };
  const tombstones = { users: new Map<string, Tombstone>(), groups: new Map<string, Tombstone>() };
  /** Why an object the next sync finds missing was removed (set by deleteUser/deleteGroup). */
  const removalReasons = { users: new Map<string, Tombstone["reason"]>(), groups: new Map<string, Tombstone["reason"]>() };
  /** Every id ever seen as a user or group, so a removed member still gets the right @odata.type. */
  const kindOf = new Map<string, "user" | "group">();

  const fake: FakeGraph = {
    url: "",
    tenantId,
    caPem: certificates.caPem,
    data: options.data ?? { users: [], groups: [] },
    requests: [],
    tokenRequests: [],
    identityRequests: [],
    deltaMembersPerEntry: 500,
    updateUser(id, patch) {
      const user = fake.data.users.find((u) => u.id === id);
      if (!user) throw new Error(`fake-graph: no user ${id}`);
      applyPatch(user, patch);
    },
    addUser(user) {
      if (fake.data.users.some((u) => u.id === user.id)) throw new Error(`fake-graph: user ${user.id} exists`);
      fake.data.users.push(user);
    },
    deleteUser(id, opts = {}) {
      const index = fake.data.users.findIndex((u) => u.id === id);
      if (index < 0) throw new Error(`fake-graph: no user ${id}`);
      fake.data.users.splice(index, 1);
      removalReasons.users.set(id, opts.permanent ? "deleted" : "changed");
      // A deleted user leaves every group (so groups/delta reports it under members@delta).
      for (const g of fake.data.groups) g.members = g.members.filter((m) => m !== id);
      for (const u of fake.data.users) if (u.managerId === id) delete u.managerId;
    },
    addGroup(group) {
      if (fake.data.groups.some((g) => g.id === group.id)) throw new Error(`fake-graph: group ${group.id} exists`);
      fake.data.groups.push(group);
    },
    updateGroup(id, patch) {
      const group = fake.data.groups.find((g) => g.id === id);
      if (!group) throw new Error(`fake-graph: no group ${id}`);
      applyPatch(group, patch);
    },
    deleteGroup(id, opts = {}) {
      const index = fake.data.groups.findIndex((g) => g.id === id);
      if (index < 0) throw new Error(`fake-graph: no group ${id}`);
      fake.data.groups.splice(index, 1);
      removalReasons.groups.set(id, opts.permanent ? "deleted" : "changed");
      for (const g of fake.data.groups) g.members = g.members.filter((m) => m !== id);
    },
    setGroupMembers(id, members) {
      const group = fake.data.groups.find((g) => g.id === id);
      if (!group) throw new Error(`fake-graph: no group ${id}`);
      group.members = [...new Set(members)];
    },
    injectFault(match, fault, times = 1) {
      faults.push({ match, fault, remaining: times });
    },
    expireDeltaTokens(opts = {}) {
      deltaEpoch++;
      rounds.clear();
      expiry = { ...expiry, ...opts };
    },
    revokeTokens() {
      issuedTokens.clear();
    },
    close: async () => {},
  };
  if (options.pageSize !== undefined) fake.pageSize = options.pageSize;
  if (options.grantedPermissions !== undefined) fake.grantedPermissions = options.grantedPermissions;

  function applyPatch(target: Obj, patch: Obj) {
    for (const [key, value] of Object.entries(patch)) {
      if (key === "id") continue;
      if (value === undefined) delete target[key];
      else target[key] = value;
    }
  }

  // --- lookups ------------------------------------------------------------------------------

  const findUser = (key: string) => {
    const k = lower(key);
    return fake.data.users.find((u) => u.id === key || lower(u.userPrincipalName) === k);
  };
  const findGroup = (key: string) => fake.data.groups.find((g) => g.id === key);

  // --- resources ----------------------------------------------------------------------------

  /** Every property of a user as Graph would serve it: unset scalars null, unset collections []. */
  function userResource(u: GraphUserRecord): Obj {
    const out: Obj = {};
    for (const p of USER_PROPERTIES) out[p] = USER_COLLECTIONS.has(p) ? [] : null;
    out.accountEnabled = true;
    out.userType = "Member";
    out.mailNickname = u.userPrincipalName.split("@")[0];
    for (const [k, v] of Object.entries(u)) if (k !== "managerId" && v !== undefined) out[k] = v;
    return out;
  }

  function groupResource(g: GraphGroupRecord): Obj {
    const out: Obj = {};
    for (const p of GROUP_PROPERTIES) out[p] = GROUP_COLLECTIONS.has(p) ? [] : null;
    const mail = g.mail ?? null;
    Object.assign(out, {
      createdDateTime: "2023-01-01T00:00:00Z",
      mailEnabled: mail !== null,
      mailNickname: mail ? mail.split("@")[0] : lower(g.displayName).replace(/[^a-z0-9]+/g, "-"),
      proxyAddresses: mail ? [`SMTP:${mail}`] : [],
      securityEnabled: true,
      securityIdentifier: `S-1-12-1-${parseInt(createHash("sha1").update(g.id).digest("hex").slice(0, 8), 16)}`,
    });
    for (const [k, v] of Object.entries(g)) if (k !== "members" && v !== undefined) out[k] = v;
    return out;
  }

  /** Property names $select may use for users: Graph's, plus whatever the records carry. */
  function userPropertyNames(): Set<string> {
    const names = new Set(USER_PROPERTIES);
    for (const u of fake.data.users) for (const k of Object.keys(u)) if (k !== "managerId") names.add(k);
    return names;
  }
  function groupPropertyNames(): Set<string> {
    const names = new Set(GROUP_PROPERTIES);
    for (const g of fake.data.groups) for (const k of Object.keys(g)) if (k !== "members") names.add(k);
    return names;
  }

  /**
   * Parses $select against the properties of `types` (a property must exist on at least one).
   * Directory extension properties (extension_<appId>_<name>) are accepted whether or not set.
   * `navigation` are extra names allowed here (manager, members in delta).
   */
  function parseSelect(raw: string | null, types: ("user" | "group")[], navigation: string[] = []): string[] | null {
    if (raw === null) return null;
    const known = new Set<string>(navigation);
    if (types.includes("user")) for (const n of userPropertyNames()) known.add(n);
    if (types.includes("group")) for (const n of groupPropertyNames()) known.add(n);
    const out: string[] = [];
    for (const name of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
      const found = canonical(name, known) ?? (/^extension_[0-9a-f]{32}_\w+$/i.test(name) ? name : undefined);
      if (!found) throw unknownProperty(name, types.length === 1 ? types[0]! : "directoryObject");
      if (!out.includes(found)) out.push(found);
    }
    return out;
  }

  /** The properties `select` names that `resource` has (Graph serves a type's own properties only). */
  function project(resource: Obj, select: readonly string[]): Obj {
    const out: Obj = {};
    for (const p of select) {
      if (p in resource) out[p] = resource[p];
      else if (p.startsWith("extension_")) out[p] = null;
    }
    return out;
  }

  const userDefault = (u: GraphUserRecord) => project(userResource(u), DEFAULT_USER_PROPERTIES);
  const groupDefault = (g: GraphGroupRecord) => groupResource(g);

  function serveUser(u: GraphUserRecord, select: string[] | null): Obj {
    return select ? project(userResource(u), select) : userDefault(u);
  }
  function serveGroup(g: GraphGroupRecord, select: string[] | null): Obj {
    return select ? project(groupResource(g), select) : groupDefault(g);
  }

  // --- $expand=manager --------------------------------------------------------------------------

  interface ManagerExpand {
    select: string[] | null;
  }

  /** Only `manager` and `manager($select=…)` are understood. */
  function parseExpand(raw: string | null): ManagerExpand | undefined {
    if (raw === null) return undefined;
    const parts = splitTopLevel(raw);
    if (parts.length !== 1) throw unsupported(`$expand=${raw} (only manager or manager($select=…))`);
    const m = /^manager(?:\((.*)\))?$/i.exec(parts[0]!);
    if (!m) throw unsupported(`$expand=${raw} (only manager or manager($select=…))`);
    if (m[1] === undefined) return { select: null };
    const inner = /^\$select=(.*)$/i.exec(m[1].trim());
    if (!inner) throw unsupported(`$expand=${raw} options other than $select`);
    return { select: parseSelect(inner[1]!, ["user"]) };
  }

  function withManager(out: Obj, u: GraphUserRecord, expand: ManagerExpand | undefined): Obj {
    if (!expand) return out;
    const manager = u.managerId ? fake.data.users.find((x) => x.id === u.managerId) : undefined;
    // No manager: the property is simply absent (not null).
    if (manager) out.manager = { "@odata.type": USER_TYPE, ...serveUser(manager, expand.select) };
    return out;
  }

  // --- paging -----------------------------------------------------------------------------------

  function parseTop(params: URLSearchParams): number | null {
    const raw = params.get("$top");
    if (raw === null) return null;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 999) {
      throw new GraphError(400, "Request_UnsupportedQuery", `Invalid page size specified: '${raw}'. Must be between 1 and 999 inclusive.`);
    }
    return n;
  }

  /** $top (default 100), capped by the server-side page size read at the time of the request. */
  const effectivePageSize = (top: number | null) => Math.min(top ?? 100, fake.pageSize ?? Infinity);
  const pageSizeFor = (params: URLSearchParams) => effectivePageSize(parseTop(params));

  /**
   * One page of a list. The nextLink repeats the request's query options with a $skiptoken that
   * names the listing (path + filter), so a token replayed against another list fails.
   */
  function page(items: Obj[], path: string, params: URLSearchParams, context: string): Obj {
    const size = pageSizeFor(params);
    const listing = `${lower(path)}|${params.get("$filter") ?? ""}`;
    let offset = 0;
    const token = params.get("$skiptoken");
    if (token !== null) {
      const decoded = decodeB64Json(token);
      if (decoded?.l !== listing || typeof decoded.o !== "number" || decoded.o < 0) {
        throw new GraphError(400, "Request_BadRequest", "Invalid or expired skip token.");
      }
      offset = decoded.o;
    }
    const body: Obj = { "@odata.context": `${fake.url}/v1.0/$metadata#${context}` };
    if (offset + size < items.length) {
      const next = new URLSearchParams(params);
      next.delete("$skiptoken");
      next.set("$skiptoken", b64json({ l: listing, o: offset + size }));
      body["@odata.nextLink"] = `${fake.url}${path}?${odataQuery(next)}`;
    }
    body.value = items.slice(offset, offset + size);
    return body;
  }

  /** A query string with `$` left readable (Graph's links are written that way). */
  const odataQuery = (params: URLSearchParams) => params.toString().replace(/%24/g, "$").replace(/%2C/gi, ",");

  function rejectUnsupportedOptions(params: URLSearchParams, allowed: string[]) {
    for (const key of params.keys()) {
      if (!key.startsWith("$")) continue;
      const k = lower(key);
      if (k === "$count" || k === "$skiptoken") continue; // $count is ignored
      if (!allowed.includes(k)) throw unsupported(`the ${key} query option here`);
    }
  }

  // --- filters --------------------------------------------------------------------------------

  const USER_FILTERABLE = ["id", "accountEnabled", "displayName", "userPrincipalName", "mail", "givenName", "surname", "jobTitle", "employeeId"];
  const GROUP_FILTERABLE = ["id", "displayName", "mail", "mailNickname"];

  function filterPredicate(raw: string | null, resource: string, filterable: string[]): ((o: Obj) => boolean) | undefined {
    if (raw === null) return undefined;
    let clauses: FilterClause[];
    try {
      clauses = parseFilter(raw);
    } catch {
      throw new GraphError(400, "BadRequest", `Invalid filter clause: ${raw}`);
    }
    const tests = clauses.map((clause) => {
      const property = canonical(clause.property, filterable);
      // Graph's answer for a property (or operator on it) its filter doesn't support.
      if (!property || (property === "accountEnabled" && clause.op !== "eq")) {
        throw new GraphError(
          400,
          "Request_UnsupportedQuery",
          `Unsupported or invalid query filter clause specified for property '${clause.property}' of resource '${resource}'.`,
        );
      }
      return (o: Obj) => matchesClause(o[property], { ...clause, property });
    });
    return (o) => tests.every((t) => t(o));
  }

  // --- handlers -----------------------------------------------------------------------------------

  function listUsers(path: string, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select", "$top", "$filter", "$expand"]);
    const select = parseSelect(params.get("$select"), ["user"]);
    const expand = parseExpand(params.get("$expand"));
    const predicate = filterPredicate(params.get("$filter"), "User", USER_FILTERABLE);
    const users = fake.data.users.filter((u) => !predicate || predicate(userResource(u)));
    const items = users.map((u) => withManager(serveUser(u, select), u, expand));
    return page(items, path, params, select ? `users(${select.join(",")})` : "users");
  }

  function getUser(key: string, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select", "$expand"]);
    const user = findUser(key);
    if (!user) throw notFound(key);
    const select = parseSelect(params.get("$select"), ["user"]);
    const expand = parseExpand(params.get("$expand"));
    return { "@odata.context": `${fake.url}/v1.0/$metadata#users/$entity`, ...withManager(serveUser(user, select), user, expand) };
  }

  function getManager(key: string, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select"]);
    const user = findUser(key);
    if (!user) throw notFound(key);
    const manager = user.managerId ? fake.data.users.find((u) => u.id === user.managerId) : undefined;
    if (!manager) throw notFound("manager");
    const select = parseSelect(params.get("$select"), ["user"]);
    return {
      "@odata.context": `${fake.url}/v1.0/$metadata#directoryObjects/$entity`,
      "@odata.type": USER_TYPE,
      ...serveUser(manager, select),
    };
  }

  function listGroups(path: string, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select", "$top", "$filter"]);
    const select = parseSelect(params.get("$select"), ["group"]);
    const predicate = filterPredicate(params.get("$filter"), "Group", GROUP_FILTERABLE);
    const groups = fake.data.groups.filter((g) => !predicate || predicate(groupResource(g)));
    return page(groups.map((g) => serveGroup(g, select)), path, params, select ? `groups(${select.join(",")})` : "groups");
  }

  function getGroup(id: string, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select"]);
    const group = findGroup(id);
    if (!group) throw notFound(id);
    const select = parseSelect(params.get("$select"), ["group"]);
    return { "@odata.context": `${fake.url}/v1.0/$metadata#groups/$entity`, ...serveGroup(group, select) };
  }

  /**
   * Direct members, or (transitive) every user and group reachable through nested groups, each
   * listed once; nested groups are listed themselves too; cycles end; the group itself never
   * appears in its own list.
   */
  function memberObjects(group: GraphGroupRecord, transitive: boolean): ({ kind: "user"; u: GraphUserRecord } | { kind: "group"; g: GraphGroupRecord })[] {
    const out: ({ kind: "user"; u: GraphUserRecord } | { kind: "group"; g: GraphGroupRecord })[] = [];
    const seen = new Set<string>([group.id]);
    const queue: GraphGroupRecord[] = [group];
    while (queue.length > 0) {
      const current = queue.shift()!;
      for (const id of current.members) {
        if (seen.has(id)) continue;
        const u = fake.data.users.find((x) => x.id === id);
        const g = u ? undefined : findGroup(id);
        if (!u && !g) continue;
        seen.add(id);
        if (u) out.push({ kind: "user", u });
        else {
          out.push({ kind: "group", g: g! });
          if (transitive) queue.push(g!);
        }
      }
      if (!transitive) break;
    }
    return out;
  }

  function listMembers(path: string, groupId: string, transitive: boolean, cast: string | undefined, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select", "$top"]);
    const group = findGroup(groupId);
    if (!group) throw notFound(groupId);
    const castKind = cast === undefined ? undefined : lower(cast) === "microsoft.graph.user" ? "user" : lower(cast) === "microsoft.graph.group" ? "group" : null;
    if (castKind === null) throw unsupported(`the cast ${cast}`);
    const select = parseSelect(params.get("$select"), castKind ? [castKind] : ["user", "group"]);
    const objects = memberObjects(group, transitive).filter((o) => !castKind || o.kind === castKind);
    const items = objects.map((o) => {
      const body = o.kind === "user" ? serveUser(o.u, select) : serveGroup(o.g, select);
      // A cast collection has one type, so Graph leaves @odata.type out; a mixed one names each.
      return castKind ? body : { "@odata.type": o.kind === "user" ? USER_TYPE : GROUP_TYPE, ...body };
    });
    const context = castKind ? `${castKind}s` : "directoryObjects";
    return page(items, path, params, select ? `${context}(${select.join(",")})` : context);
  }

  function findServicePrincipal(key: string): [string, ServicePrincipalRecord] | undefined {
    const sps = Object.entries(fake.data.servicePrincipals ?? {});
    const byAppId = /^\(appId='(.*)'\)$/i.exec(key);
    if (byAppId) return sps.find(([, sp]) => sp.appId !== undefined && lower(sp.appId) === lower(byAppId[1]!));
    return sps.find(([id]) => id === key);
  }

  function servicePrincipalResource(id: string, sp: ServicePrincipalRecord): Obj {
    return {
      id,
      deletedDateTime: null,
      accountEnabled: true,
      appId: sp.appId ?? null,
      appDisplayName: sp.displayName ?? null,
      appRoleAssignmentRequired: true,
      displayName: sp.displayName ?? null,
      servicePrincipalType: "Application",
      tags: ["WindowsAzureActiveDirectoryIntegratedApp"],
    };
  }

  function listServicePrincipals(path: string, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select", "$top", "$filter"]);
    const all = Object.entries(fake.data.servicePrincipals ?? {}).map(([id, sp]) => servicePrincipalResource(id, sp));
    const predicate = filterPredicate(params.get("$filter"), "ServicePrincipal", ["id", "appId", "displayName"]);
    const select = params.get("$select")?.split(",").map((s) => s.trim()).filter(Boolean);
    const items = all.filter((sp) => !predicate || predicate(sp)).map((sp) => (select ? project(sp, select) : sp));
    return page(items, path, params, "servicePrincipals");
  }

  function getServicePrincipal(key: string) {
    const found = findServicePrincipal(key);
    if (!found) throw notFound(key.replace(/^\(appId='(.*)'\)$/i, "$1"));
    return { "@odata.context": `${fake.url}/v1.0/$metadata#servicePrincipals/$entity`, ...servicePrincipalResource(...found) };
  }

  function listAppRoleAssignedTo(path: string, key: string, params: URLSearchParams) {
    rejectUnsupportedOptions(params, ["$select", "$top"]);
    const found = findServicePrincipal(key);
    if (!found) throw notFound(key.replace(/^\(appId='(.*)'\)$/i, "$1"));
    const [spId, sp] = found;
    const select = params.get("$select")
      ? params.get("$select")!.split(",").map((s) => {
          const name = canonical(s.trim(), APP_ROLE_ASSIGNMENT_PROPERTIES);
          if (!name) throw unknownProperty(s.trim(), "appRoleAssignment");
          return name;
        })
      : null;
    const items = sp.appRoleAssignedTo.map((a) => {
      const principal =
        a.principalType === "User" ? fake.data.users.find((u) => u.id === a.principalId) : a.principalType === "Group" ? findGroup(a.principalId) : undefined;
      const full: Obj = {
        id: a.id,
        deletedDateTime: null,
        appRoleId: a.appRoleId ?? DEFAULT_APP_ROLE_ID,
        createdDateTime: a.createdDateTime ?? "2023-01-01T00:00:00Z",
        principalDisplayName: principal?.displayName ?? a.principalDisplayName ?? null,
        principalId: a.principalId,
        principalType: a.principalType,
        resourceDisplayName: sp.displayName ?? null,
        resourceId: a.resourceId || spId,
      };
      return select ? project(full, select) : full;
    });
    return page(items, path, params, `servicePrincipals('${spId}')/appRoleAssignedTo`);
  }

  // --- delta --------------------------------------------------------------------------------

  /** What change tracking compares: every stored property, with managerId as the manager link. */
  function trackedProps(record: Obj, skip: string): Map<string, string> {
    const props = new Map<string, string>();
    for (const [k, v] of Object.entries(record)) {
      if (k === "id" || k === skip) continue;
      props.set(k === "managerId" ? "manager" : k, JSON.stringify(v ?? null));
    }
    return props;
  }

  /**
   * Diffs the data against what the fake last saw and records each difference as a change at a
   * new clock value. Runs at the start of every delta round, so direct edits of `fake.data` and
   * the helpers' edits are tracked alike.
   */
  function syncChanges(initial = false) {
    const stamp = () => (initial ? 0 : ++clock);
    const visit = (kind: "users" | "groups", records: Obj[], skip: string) => {
      const seen = new Set<string>();
      for (const record of records) {
        const id = record.id as string;
        seen.add(id);
        kindOf.set(id, kind === "users" ? "user" : "group");
        const props = trackedProps(record, skip);
        const members = kind === "groups" ? new Set((record as GraphGroupRecord).members) : undefined;
        const known = tracked[kind].get(id);
        if (!known) {
          tracked[kind].set(id, { createdVersion: stamp(), props, events: [], members, memberEvents: [] });
          tombstones[kind].delete(id);
          continue;
        }
        const before = new Map<string, string>();
        for (const name of new Set([...known.props.keys(), ...props.keys()])) {
          const was = known.props.get(name) ?? "null";
          if (was !== (props.get(name) ?? "null")) before.set(name, was);
        }
        if (before.size > 0) {
          known.events.push({ version: stamp(), before });
          known.props = props;
        }
        if (members && known.members) {
          const added = [...members].filter((m) => !known.members!.has(m));
          const removed = [...known.members].filter((m) => !members.has(m));
          if (added.length + removed.length > 0) {
            const version = stamp();
            for (const m of added) known.memberEvents!.push({ version, id: m, added: true });
            for (const m of removed) known.memberEvents!.push({ version, id: m, added: false });
            known.members = members;
          }
        }
      }
      for (const id of [...tracked[kind].keys()]) {
        if (seen.has(id)) continue;
        tracked[kind].delete(id);
        // Removed without a helper: treat it as Entra's default, a soft delete.
        tombstones[kind].set(id, { version: stamp(), reason: removalReasons[kind].get(id) ?? "changed" });
        removalReasons[kind].delete(id);
      }
    };
    visit("users", fake.data.users, "");
    visit("groups", fake.data.groups, "members");
  }

  const memberRef = (id: string) => ({ "@odata.type": kindOf.get(id) === "group" ? GROUP_TYPE : USER_TYPE, id });
  const removedRef = (id: string) => ({ ...memberRef(id), "@removed": { reason: "deleted" } });

  /** The value of `prop` at version v: the "before" of its first change after v, else its current value. */
  function valueAt(t: Tracked, prop: string, v: number): unknown {
    for (const e of t.events) if (e.version > v && e.before.has(prop)) return JSON.parse(e.before.get(prop)!);
    const now = t.props.get(prop);
    return now === undefined ? null : JSON.parse(now);
  }

  const changedSince = (t: Tracked, v: number) => {
    const names = new Set<string>();
    for (const e of t.events) if (e.version > v) for (const n of e.before.keys()) names.add(n);
    return names;
  };

  /**
   * A user as users/delta serves it: the tracked properties (all of them, or with
   * Prefer: return=minimal only the changed ones) and always the id. `manager` comes as
   * `manager@delta`, a list of links; a removed link carries @removed.
   */
  function deltaUser(u: GraphUserRecord, select: string[] | null, only: Set<string> | null, t: Tracked | undefined, since: number | null): Obj {
    const resource = userResource(u);
    const out: Obj = {};
    for (const p of select ?? DEFAULT_USER_PROPERTIES) {
      if (p === "id" || (only && !only.has(p))) continue;
      if (p === "manager") {
        const links: Obj[] = [];
        const old = since !== null && t ? (valueAt(t, "manager", since) as string | null) : null;
        if (old && old !== u.managerId) links.push(removedRef(old));
        if (u.managerId && (since === null || old !== u.managerId)) links.push(memberRef(u.managerId));
        if (links.length > 0) out["manager@delta"] = links;
        continue;
      }
      if (p in resource) out[p] = resource[p];
      else if (p.startsWith("extension_")) out[p] = null;
    }
    out.id = u.id;
    return out;
  }

  function deltaGroupEntries(g: GraphGroupRecord, select: string[] | null, only: Set<string> | null, memberDelta: Obj[] | undefined): Obj[] {
    const resource = groupResource(g);
    const base: Obj = {};
    for (const p of select ?? GROUP_PROPERTIES) {
      if (p === "members" || p === "id" || (only && !only.has(p))) continue;
      if (p in resource) base[p] = resource[p];
      else if (p.startsWith("extension_")) base[p] = null;
    }
    base.id = g.id;
    if (!memberDelta || memberDelta.length === 0) return [base];
    // A big group is split over several entries that repeat its properties; clients must merge.
    const chunk = Math.max(1, fake.deltaMembersPerEntry);
    const entries: Obj[] = [];
    for (let i = 0; i < memberDelta.length; i += chunk) entries.push({ ...base, "members@delta": memberDelta.slice(i, i + chunk) });
    return entries;
  }

  /** Net membership changes since v: a member added and removed again is not reported. */
  function memberChangesSince(t: Tracked, v: number): Obj[] {
    const first = new Map<string, boolean>();
    for (const e of t.memberEvents ?? []) if (e.version > v && !first.has(e.id)) first.set(e.id, e.added);
    // Ids that never named a user or group are not members Graph would know about.
    const out: Obj[] = [];
    for (const [id, firstWasAdd] of first) {
      const wasMember = !firstWasAdd;
      const isMember = t.members?.has(id) ?? false;
      if (wasMember !== isMember && kindOf.has(id)) out.push(isMember ? memberRef(id) : removedRef(id));
    }
    return out;
  }

  function buildUserDelta(select: string[] | null, since: number | null, minimal: boolean): Obj[] {
    const items: Obj[] = [];
    const watched = new Set<string>(select ?? DEFAULT_USER_PROPERTIES);
    for (const u of fake.data.users) {
      const t = tracked.users.get(u.id);
      if (since === null || !t || t.createdVersion > since) {
        items.push(deltaUser(u, select, null, t, null));
        continue;
      }
      const changed = new Set([...changedSince(t, since)].filter((p) => watched.has(p)));
      // A change to a property that isn't tracked ($select) doesn't make the user appear.
      if (changed.size === 0) continue;
      items.push(deltaUser(u, select, minimal ? changed : null, t, since));
    }
    if (since !== null) {
      for (const [id, tomb] of tombstones.users) if (tomb.version > since) items.push({ id, "@removed": { reason: tomb.reason } });
    }
    return items;
  }

  function buildGroupDelta(select: string[] | null, trackMembers: boolean, since: number | null, minimal: boolean): Obj[] {
    const items: Obj[] = [];
    const watched = new Set<string>(select ?? GROUP_PROPERTIES);
    for (const g of fake.data.groups) {
      const t = tracked.groups.get(g.id);
      const current = () => [...new Set(g.members)].filter((id) => kindOf.has(id)).map(memberRef);
      if (since === null || !t || t.createdVersion > since) {
        items.push(...deltaGroupEntries(g, select, null, trackMembers ? current() : undefined));
        continue;
      }
      const changed = new Set([...changedSince(t, since)].filter((p) => watched.has(p)));
      const memberDelta = trackMembers ? memberChangesSince(t, since) : [];
      if (changed.size === 0 && memberDelta.length === 0) continue;
      items.push(...deltaGroupEntries(g, select, minimal ? changed : null, memberDelta));
    }
    if (since !== null) {
      for (const [id, tomb] of tombstones.groups) if (tomb.version > since) items.push({ id, "@removed": { reason: tomb.reason } });
    }
    return items;
  }

  function deltaPage(path: string, round: DeltaRound, roundId: string, offset: number): Obj {
    const body: Obj = {
      "@odata.context": `${fake.url}/v1.0/$metadata#${round.kind}${round.select ? `(${round.select.join(",")})` : ""}`,
    };
    const end = offset + effectivePageSize(round.top);
    if (end < round.items.length) {
      body["@odata.nextLink"] = `${fake.url}${path}?$skiptoken=${b64json({ r: roundId, o: end, e: round.epoch })}`;
    } else {
      const token = { k: round.kind, v: round.version, s: round.select, m: round.trackMembers, e: round.epoch, t: round.top };
      body["@odata.deltaLink"] = `${fake.url}${path}?$deltatoken=${b64json(token)}`;
    }
    body.value = round.items.slice(offset, end);
    return body;
  }

  function deltaExpired(kind: "users" | "groups", select: string[] | null, trackMembers: boolean) {
    // The delta overview: 410 Gone with a Location naming the initial request (empty token).
    const q = new URLSearchParams();
    const sel = select ? [...select] : null;
    if (kind === "groups" && trackMembers && sel && !sel.includes("members")) sel.push("members");
    if (sel) q.set("$select", sel.join(","));
    const location = `${fake.url}/v1.0/${kind}/delta${sel ? `?${odataQuery(q)}` : ""}`;
    return new GraphError(expiry.status, expiry.code, expiry.message, { location });
  }

  function handleDelta(kind: "users" | "groups", path: string, params: URLSearchParams, prefer: string | undefined) {
    const minimal = /return=minimal/i.test(prefer ?? "");
    const skiptoken = params.get("$skiptoken");
    const deltatoken = params.get("$deltatoken");
    // Query options travel inside the tokens; ones sent alongside a token are ignored, as Graph
    // documents that they "must be specified in the initial request".
    if (skiptoken !== null) {
      const t = decodeB64Json(skiptoken);
      const round = typeof t?.r === "string" ? rounds.get(t.r) : undefined;
      if (typeof t?.e === "number" && t.e !== deltaEpoch) throw deltaExpired(kind, null, false);
      if (!round || round.kind !== kind || typeof t?.o !== "number") {
        throw new GraphError(400, "Request_BadRequest", "Invalid or expired skip token.");
      }
      return deltaPage(path, round, t.r as string, t.o);
    }
    if (deltatoken !== null && deltatoken !== "latest") {
      const t = decodeB64Json(deltatoken);
      if (!t || t.k !== kind || typeof t.v !== "number") throw new GraphError(400, "Request_BadRequest", "Invalid delta token.");
      const select = Array.isArray(t.s) ? (t.s as string[]) : null;
      if (t.e !== deltaEpoch) throw deltaExpired(kind, select, t.m === true);
      syncChanges();
      const items = kind === "users" ? buildUserDelta(select, t.v, minimal) : buildGroupDelta(select, t.m === true, t.v, minimal);
      return startRound(path, { kind, items, version: clock, epoch: deltaEpoch, select, trackMembers: t.m === true, top: typeof t.t === "number" ? t.t : null });
    }
    // The initial request (or "sync from now" with $deltatoken=latest).
    const allowed = ["$select", "$deltatoken", "$top", ...(kind === "groups" ? ["$expand"] : [])];
    rejectUnsupportedOptions(params, allowed);
    const select = parseSelect(params.get("$select"), [kind === "users" ? "user" : "group"], [kind === "users" ? "manager" : "members"]);
    let trackMembers = kind === "groups" && (select === null || select.includes("members"));
    const expand = params.get("$expand");
    if (expand !== null) {
      if (lower(expand.trim()) !== "members") throw unsupported(`$expand=${expand} on delta (only members)`);
      trackMembers = true;
    }
    const top = parseTop(params);
    syncChanges();
    const items =
      deltatoken === "latest" ? [] : kind === "users" ? buildUserDelta(select, null, false) : buildGroupDelta(select, trackMembers, null, false);
    return startRound(path, { kind, items, version: clock, epoch: deltaEpoch, select, trackMembers, top });
  }

  function startRound(path: string, round: DeltaRound): Obj {
    const id = String(++roundSeq);
    rounds.set(id, round);
    // Keep memory bounded in long tests: old rounds' skip tokens stop working, as they would expire.
    if (rounds.size > 200) rounds.delete(rounds.keys().next().value!);
    return deltaPage(path, round, id, 0);
  }

  // --- identity platform --------------------------------------------------------------------

  function aadError(status: number, error: string, code: number, description: string) {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date().toISOString().replace("T", " ").slice(0, 19) + "Z";
    return {
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `${fake.url}/error?code=${code}`,
      },
    };
  }

  const knownTenant = (t: string) => lower(t) === lower(tenantId);
  const unknownTenant = (t: string) =>
    aadError(400, "invalid_tenant", 90002, `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);

  /** Everything the Host header says, so the document names the address the client used. */
  function openidConfiguration(host: string) {
    const base = `https://${host}/${tenantId}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `https://${host}/${tenantId}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: `https://${host}/${tenantId}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `https://${host}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "tid", "ver", "oid"],
      kerberos_endpoint: `https://${host}/${tenantId}/kerberos`,
      tenant_region_scope: "EU",
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
      rbac_url: "https://pas.windows.net",
    };
  }

  function parseJwt(token: string): { header: Obj; claims: Obj; signingInput: string; signature: Buffer } | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const header = decodeB64Json(parts[0]);
    const claims = decodeB64Json(parts[1]);
    if (!header || !claims) return undefined;
    return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, "base64url") };
  }

  function verifyAssertion(jwt: NonNullable<ReturnType<typeof parseJwt>>): boolean {
    if (!options.clientCertificatePem) return true;
    const cert = new X509Certificate(options.clientCertificatePem);
    const der = cert.raw;
    const x5t = createHash("sha1").update(der).digest("base64url");
    const x5t256 = createHash("sha256").update(der).digest("base64url");
    if (jwt.header.x5t !== x5t && jwt.header["x5t#S256"] !== x5t256) return false;
    const key = createPublicKey(cert.publicKey.export({ type: "spki", format: "pem" }));
    const data = Buffer.from(jwt.signingInput);
    if (jwt.header.alg === "RS256") return verify("sha256", data, key, jwt.signature);
    if (jwt.header.alg === "PS256") return verify("sha256", data, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, jwt.signature);
    return false;
  }

  function issueToken(clientId: string): string {
    // A JWT in the shape Entra issues for app-only Graph tokens (roles = application permissions),
    // so code that peeks at the claims works; the signature is random: nobody verifies it here.
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", kid: "fake-graph" };
    const claims = {
      aud: GRAPH_RESOURCE,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + 3599,
      app_displayname: "scimsync test app",
      appid: clientId,
      idtyp: "app",
      oid: randomUUID(),
      roles: fake.grantedPermissions ?? ALL_PERMISSIONS,
      sub: randomUUID(),
      tid: tenantId,
      ver: "1.0",
      uti: randomBytes(16).toString("base64url"),
    };
    const token = `${b64json(header)}.${b64json(claims)}.${randomBytes(64).toString("base64url")}`;
    issuedTokens.set(token, { clientId, expiresAt: (now + 3599) * 1000 });
    return token;
  }

  function handleToken(tenant: string, rawBody: string, authorization: string | undefined) {
    const form = new URLSearchParams(rawBody);
    const recorded: GraphTokenRequest = { tenant, grantType: form.get("grant_type") ?? "" };
    let clientId = form.get("client_id") ?? undefined;
    let clientSecret = form.get("client_secret") ?? undefined;
    // client_secret_basic: the id and secret in an Authorization: Basic header.
    const basic = /^Basic (.+)$/i.exec(authorization ?? "");
    if (basic) {
      const [id, secret] = Buffer.from(basic[1]!, "base64").toString("utf8").split(":");
      clientId ??= decodeURIComponent(id ?? "");
      clientSecret ??= decodeURIComponent(secret ?? "");
    }
    if (clientId !== undefined) recorded.clientId = clientId;
    const scope = form.get("scope");
    if (scope !== null) recorded.scope = scope;
    if (clientSecret !== undefined) recorded.clientSecret = clientSecret;
    const assertionType = form.get("client_assertion_type");
    const assertion = form.get("client_assertion");
    if (assertionType !== null) recorded.clientAssertionType = assertionType;
    const jwt = assertion ? parseJwt(assertion) : undefined;
    if (assertion !== null) recorded.clientAssertion = assertion;
    if (jwt) {
      recorded.assertionHeader = jwt.header;
      recorded.assertionClaims = jwt.claims;
    }
    fake.tokenRequests.push(recorded);

    if (!knownTenant(tenant)) return unknownTenant(tenant);
    if (recorded.grantType !== "client_credentials") {
      return aadError(400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${recorded.grantType}'.`);
    }
    if (!clientId) return aadError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
    if (options.clientId !== undefined && clientId !== options.clientId) {
      return aadError(400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantId}'.`);
    }
    const scopes = (scope ?? "").split(" ").filter((s) => s && !["openid", "profile", "offline_access"].includes(s));
    if (scopes.length !== 1 || !scopes[0]!.endsWith("/.default")) {
      return aadError(
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${scope ?? ""} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const resource = scopes[0]!.slice(0, -"/.default".length).replace(/\/$/, "");
    if (resource !== GRAPH_RESOURCE && resource !== GRAPH_APP_ID) {
      return aadError(400, "invalid_resource", 500011, `The resource principal named ${resource} was not found in the tenant named ${tenantId}.`);
    }
    if (assertion !== null || assertionType !== null) {
      if (assertionType !== JWT_BEARER_ASSERTION) {
        return aadError(400, "invalid_request", 50027, "Invalid client_assertion_type.");
      }
      if (!jwt || jwt.claims.iss !== clientId || jwt.claims.sub !== clientId) {
        return aadError(400, "invalid_request", 50027, "JWT token is invalid or malformed.");
      }
      if (!verifyAssertion(jwt)) return aadError(401, "invalid_client", 700027, "Client assertion failed signature validation.");
    } else if (clientSecret !== undefined) {
      if (options.clientSecret !== undefined && clientSecret !== options.clientSecret) {
        return aadError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientId + "'.");
      }
    } else {
      return aadError(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    return {
      status: 200,
      body: { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: issueToken(clientId) },
    };
  }

  // --- routing ------------------------------------------------------------------------------

  interface Route {
    permissions: readonly string[];
    run: () => unknown;
  }

  const isDelta = (s: string | undefined) => s !== undefined && /^(microsoft\.graph\.)?delta(\(\))?$/i.test(s);

  function route(method: string, path: string, segments: string[], params: URLSearchParams, prefer: string | undefined): Route | undefined {
    if (method !== "GET") return undefined;
    const [collection, key, nav, cast, ...rest] = segments;
    if (rest.length > 0 || collection === undefined) return undefined;
    const c = lower(collection);
    const n = nav === undefined ? undefined : lower(nav);
    if (c === "users") {
      if (key === undefined) return { permissions: PERMISSIONS.users, run: () => listUsers(path, params) };
      if (isDelta(key) && nav === undefined) return { permissions: PERMISSIONS.users, run: () => handleDelta("users", path, params, prefer) };
      if (nav === undefined) return { permissions: PERMISSIONS.users, run: () => getUser(key, params) };
      if (n === "manager" && cast === undefined) return { permissions: PERMISSIONS.users, run: () => getManager(key, params) };
      return undefined;
    }
    if (c === "groups") {
      if (key === undefined) return { permissions: PERMISSIONS.groups, run: () => listGroups(path, params) };
      if (isDelta(key) && nav === undefined) return { permissions: PERMISSIONS.groups, run: () => handleDelta("groups", path, params, prefer) };
      if (nav === undefined) return { permissions: PERMISSIONS.groups, run: () => getGroup(key, params) };
      if (n === "members" || n === "transitivemembers") {
        return { permissions: PERMISSIONS.groups, run: () => listMembers(path, key, n === "transitivemembers", cast, params) };
      }
      return undefined;
    }
    // servicePrincipals(appId='…') arrives as one segment: split the key off the collection name.
    const sp = /^serviceprincipals(\(appid='[^']*'\))?$/i.exec(collection);
    if (sp) {
      const spKey = sp[1] ? collection.slice("servicePrincipals".length) : key;
      const spNav = sp[1] ? key : nav;
      const spExtra = sp[1] ? nav : cast;
      if (spExtra !== undefined) return undefined;
      if (spKey === undefined) return { permissions: PERMISSIONS.applications, run: () => listServicePrincipals(path, params) };
      if (spNav === undefined) return { permissions: PERMISSIONS.applications, run: () => getServicePrincipal(spKey) };
      if (lower(spNav) === "approleassignedto") {
        return { permissions: PERMISSIONS.applications, run: () => listAppRoleAssignedTo(path, spKey, params) };
      }
    }
    return undefined;
  }

  function takeFault(r: { method: string; path: string; query: Record<string, string> }): GraphInjectedFault | undefined {
    const index = faults.findIndex((f) => (f.match instanceof RegExp ? f.match.test(r.path) : f.match(r)));
    if (index < 0) return undefined;
    const pending = faults[index]!;
    if (--pending.remaining <= 0) faults.splice(index, 1);
    return pending.fault;
  }

  function sendRaw(res: ServerResponse, status: number, body: string, headers: Record<string, string>) {
    const looksJson = /^\s*[{[]/.test(body);
    res
      .writeHead(status, {
        "content-type": looksJson ? "application/json; charset=utf-8" : "text/html; charset=utf-8",
        "content-length": Buffer.byteLength(body),
        ...headers,
      })
      .end(body);
  }

  function authenticate(authorization: string | undefined) {
    const challenge = {
      "www-authenticate": `Bearer realm="", authorization_uri="${fake.url}/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`,
    };
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
    if (!m) throw new GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge);
    const issued = issuedTokens.get(m[1]!.trim());
    if (!issued) throw new GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", challenge);
    if (issued.expiresAt <= Date.now()) throw new GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.", challenge);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const rawBody = await readBody(req);
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const path = `/${segments.join("/")}`;
    const query = Object.fromEntries(url.searchParams);
    const host = req.headers.host ?? `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const requestId = randomUUID();
    const clientRequestId = typeof req.headers["client-request-id"] === "string" ? req.headers["client-request-id"] : undefined;

    // --- identity platform: /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/oauth2/v2.0/token
    if (segments[0] !== undefined && lower(segments[0]) !== "v1.0" && lower(segments[0]) !== "beta") {
      fake.identityRequests.push(`${method} ${path}`);
      const tenant = segments[0];
      const rest = lower(segments.slice(1).join("/"));
      const fault = takeFault({ method, path, query });
      if (fault) {
        const headers: Record<string, string> = fault.retryAfter ? { "retry-after": fault.retryAfter } : {};
        if (fault.body !== undefined) return sendRaw(res, fault.status, fault.body, headers);
        const { status, body } = aadError(fault.status, fault.code ?? (fault.status >= 500 || fault.status === 429 ? "temporarily_unavailable" : "invalid_request"), 50196, fault.message ?? "The server is temporarily unavailable.");
        return sendJson(res, status, body, headers);
      }
      if (method === "GET" && (rest === "v2.0/.well-known/openid-configuration" || rest === ".well-known/openid-configuration")) {
        if (!knownTenant(tenant)) {
          const { status, body } = unknownTenant(tenant);
          return sendJson(res, status, body);
        }
        return sendJson(res, 200, openidConfiguration(host));
      }
      if (method === "GET" && rest === "discovery/v2.0/keys") return sendJson(res, 200, { keys: [] });
      if (method === "POST" && rest === "oauth2/v2.0/token") {
        const { status, body } = handleToken(tenant, rawBody, req.headers.authorization);
        return sendJson(res, status, body, { "cache-control": "no-store, no-cache", pragma: "no-cache" });
      }
      return sendJson(res, 404, { error: "not_found", error_description: `fake-graph has no ${method} ${path}` });
    }

    // --- Graph
    const recorded: GraphRecordedRequest = { method, path, query };
    if (req.headers.authorization !== undefined) recorded.authorization = req.headers.authorization;
    const prefer = typeof req.headers.prefer === "string" ? req.headers.prefer : undefined;
    if (prefer !== undefined) recorded.prefer = prefer;
    const consistency = req.headers.consistencylevel;
    if (typeof consistency === "string") recorded.consistencyLevel = consistency;
    fake.requests.push(recorded);
    const responseHeaders: Record<string, string> = { "request-id": requestId, "client-request-id": clientRequestId ?? requestId };

    try {
      const fault = takeFault(recorded);
      if (fault) {
        const headers = { ...responseHeaders, ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}) };
        if (fault.body !== undefined) return sendRaw(res, fault.status, fault.body, headers);
        const [code, message] = DEFAULT_FAULT[fault.status] ?? ["UnknownError", ""];
        return sendJson(res, fault.status, graphErrorBody(fault.code ?? code, fault.message ?? message, requestId, clientRequestId), headers);
      }
      authenticate(recorded.authorization);
      if (lower(segments[0]!) === "beta") throw unsupported("the beta endpoint");
      const found = route(method, path, segments.slice(1), url.searchParams, prefer);
      if (!found) {
        if (method !== "GET") throw unsupported(`${method} requests`);
        throw new GraphError(400, "BadRequest", `Resource not found for the segment '${segments[segments.length - 1]}'.`);
      }
      const granted = fake.grantedPermissions;
      if (granted && !found.permissions.some((p) => granted.includes(p))) {
        throw new GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
      }
      const body = found.run();
      sendJson(res, 200, body, { ...responseHeaders, "content-type": ODATA_JSON });
    } catch (error) {
      if (!(error instanceof GraphError)) throw error;
      sendJson(res, error.httpStatus, graphErrorBody(error.code, error.message, requestId, clientRequestId), {
        ...responseHeaders,
        ...error.headers,
      });
    }
  }

  const server = createServer({ key: certificates.keyPem, cert: certificates.certPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, 500, graphErrorBody("generalException", `fake-graph failed: ${String(error)}`, randomUUID()));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `https://127.0.0.1:${port}`;
  // Everything present at start is the baseline: an initial delta round returns it all anyway.
  syncChanges(true);
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}
