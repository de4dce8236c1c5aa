/**
 * The config file's format as a zod schema. It describes the file as written (after
 * `${env:}`/`${file:}` references are resolved), with its defaults, and carries no transforms so
 * that `z.toJSONSchema(configSchema, { io: "input" })` can document it for editors.
 * Turning the parsed file into a `Config` (absolute paths, parsed delays) is load-config.ts's job.
 *
 * Error messages name what is accepted. They may contain `{got}`, which the issue formatter
 * replaces with a rendering of the offending value that never reveals a secret.
 */
import { createPrivateKey } from "node:crypto";
import { z } from "zod";
import { DELAY_SYNTAX, parseDelay } from "../core/delay.js";
import { ExpressionError, parseExpression } from "../core/expression.js";
import { parseScimPath } from "../core/scim-path.js";
import { closestName } from "./closest-name.js";
import { isMapping } from "./key-path.js";
import { describeUnknownPreset, PRESET_NAMES } from "./presets.js";
import { describeReferenceProblem } from "./source-attributes.js";

/** Placeholder in messages for the offending value; see format-issues.ts. */
export const GOT = "{got}";

/** Keys whose values are secrets even when written inline: messages describe only their type. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  "target.token",
  "source.credentials",
  "source.accessToken",
  "source.clientSecret",
  "source.certificatePassword",
  // Slack and Teams webhook URLs carry the token that lets anyone post to the channel.
  "notify.webhook.url",
]);

export const URL_RULE =
  "must be an absolute https:// URL (http:// is allowed for 127.0.0.1/localhost/[::1], or set target.allowInsecureHttp: true)";

/** The Google URLs have no target.allowInsecureHttp: plain http is for a local test server only. */
export const GOOGLE_URL_RULE = "must be an absolute https:// URL (http:// is allowed only for 127.0.0.1/localhost/[::1], e.g. a test server)";

type IssueInput = { input?: unknown; code?: string };

/** "is required" when the key is absent, else what is expected and what was found. */
function expecting(expected: string): (iss: IssueInput) => string {
  return (iss) => (iss.input === undefined ? `is required; ${expected}` : `${expected}, got ${GOT}`);
}

/** A section (YAML mapping). Unknown keys are reported by the formatter, which knows the siblings. */
function section<T extends z.ZodRawShape>(shape: T, what: string) {
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "invalid_type") return undefined;
      return iss.input === undefined ? `is required; add ${what}` : `expected a mapping of ${what}, got ${GOT}`;
    },
  });
}

function wholeNumber(min: number, max: number) {
  const error = expecting(`expected a whole number from ${min} to ${max}`);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

function boolean() {
  return z.boolean({ error: expecting("expected true or false") });
}

function nonEmptyText(expected: string) {
  return z.string({ error: expecting(expected) }).refine((s) => s.trim() !== "", { error: `must not be empty; ${expected}` });
}

function delay(fallback: "now" | "never") {
  const error = () => `${GOT} is not a delay; use ${DELAY_SYNTAX}`;
  return z
    .string({ error })
    .refine((s) => parseDelay(s) !== undefined, { error })
    .default(fallback);
}

export const TOP_LEVEL_KEYS = "source, target, state, log, scope, provisionGroups, mapping, deprovision, safety and notify";

const LOOPBACK_HOSTS = new Set(["localhost", "[::1]"]);

/** Plain-text http is tolerable only when the token never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** The keys that hold a URL; each has its own example and its own rule for http://. */
export type UrlKey = "target.url" | "source.apiRoot" | "source.tokenUrl";

/**
 * What is wrong with the URL of `key` on its own. Whether http:// is acceptable for target.url
 * depends on target.allowInsecureHttp and is checked with the other cross-key rules; the Google
 * URLs allow it only to this machine. Never quotes the URL: it may carry credentials.
 */
export function describeUrlProblem(text: string, key: UrlKey = "target.url"): string | undefined {
  const rule = key === "target.url" ? URL_RULE : GOOGLE_URL_RULE;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return rule;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return rule;
  if (key !== "target.url") return describeGoogleUrlProblem(url, key);
  if (url.username || url.password) return "must not contain a user name or password; put the API token in target.token";
  if (url.search || url.hash) return "must be the SCIM base URL without ?query or #fragment, e.g. https://app.example.com/scim/v2";
  if (/\/users\/*$/i.test(url.pathname)) {
    return "must be the SCIM base URL, without /Users at the end (scimsync adds it), e.g. https://app.example.com/scim/v2";
  }
  return undefined;
}

function describeGoogleUrlProblem(url: URL, key: Exclude<UrlKey, "target.url">): string | undefined {
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) return GOOGLE_URL_RULE;
  if (url.username || url.password) {
    return "must not contain a user name or password; scimsync signs in with source.credentials or source.accessToken";
  }
  const example = key === "source.apiRoot" ? "https://admin.googleapis.com/" : "https://oauth2.googleapis.com/token";
  if (url.search || url.hash) return `must be a URL without ?query or #fragment, e.g. ${example}`;
  // The Google client library builds each request URL from rootUrl's origin and its own path.
  if (key === "source.apiRoot" && url.pathname !== "/") {
    return (
      "must be a scheme and host (and port) only, e.g. https://admin.googleapis.com/ or https://google-api.example.com/: " +
      "the Google client library replaces the path of its root URL, so a path prefix (as a gateway may use) would be silently dropped; " +
      "serve the Admin SDK API at the root of a host name"
    );
  }
  return undefined;
}

export const presetSchema = z
  .enum(PRESET_NAMES, {
    error: (iss) =>
      typeof iss.input === "string"
        ? describeUnknownPreset(iss.input.trim(), GOT)
        : `expected the name of a preset (${PRESET_NAMES.join(", ")}), got ${GOT}`,
  })
  .default("generic")
  .describe("The app's ready-made mapping and settings: generic, comeet, commbox, recnice or komeet. See `scimsync presets`.");

function matchAttribute(where: string) {
  return z.enum(["externalId", "userName"], {
    error: `expected externalId or userName, got ${GOT}; ${where} accepts only these two, the attributes that identify an account`,
  });
}

export const matchBySchema = matchAttribute("target.matchBy")
  .optional()
  .describe("Deprecated: use mapping.matching. externalId = [externalId, userName], userName = [userName].");

const MATCHING_EXPECTED = "expected a list of externalId and/or userName in the order they are tried, e.g. [externalId, userName]";

export const matchingSchema = z
  .array(matchAttribute("mapping.matching"), { error: expecting(MATCHING_EXPECTED) })
  .min(1, { error: `must not be empty; ${MATCHING_EXPECTED}` })
  .refine((list) => new Set(list).size === list.length, { error: `names an attribute twice; ${MATCHING_EXPECTED}` })
  .optional()
  .describe("Attributes an existing account is recognised by, tried in this order. Default: the preset's.");

/** The forms a mapping target may take, for messages. */
export const SCIM_PATH_FORMS =
  'an attribute (title), a sub-attribute (name.givenName), one element of a multi-valued attribute (emails[type eq "work"].value) ' +
  "or an extension attribute (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department)";

export type MappingKind = "user" | "group";

/** Attributes RFC 7643 declares readOnly (lower-cased) -> how they are spelt and what to do instead. */
const READ_ONLY_TARGETS: Readonly<Record<MappingKind, ReadonlyMap<string, { name: string; instead: string }>>> = (() => {
  const id = { name: "id", instead: "the directory's id goes to externalId; remove this entry" };
  const meta = { name: "meta", instead: "remove this entry" };
  const groups = { name: "groups", instead: "a user's groups follow from the groups' members (provisionGroups); remove this entry" };
  return {
    user: new Map([
      ["id", id],
      ["meta", meta],
      ["groups", groups],
    ]),
    group: new Map([
      ["id", id],
      ["meta", meta],
    ]),
  };
})();

/** What is wrong with a mapping target on its own; whether it is mapped twice is a cross-key rule. */
export function describeTargetProblem(kind: MappingKind, text: string): string | undefined {
  const path = parseScimPath(text);
  if (!path) return `${GOT} is not a SCIM attribute path scimsync can write; use ${SCIM_PATH_FORMS}`;
  if (path.schema) return undefined;
  const attribute = path.attribute.toLowerCase();
  const readOnly = READ_ONLY_TARGETS[kind].get(attribute);
  if (readOnly) {
    return `${readOnly.name} is read-only in SCIM (set by the app): the app ignores what scimsync sends, so it would differ on every run; ${readOnly.instead}`;
  }
  if (attribute === "schemas") {
    return "schemas cannot be mapped: scimsync writes it itself, naming the schemas of the mapped attributes; remove this entry";
  }
  if (attribute === "active") {
    return "active cannot be mapped: scimsync sets it itself, suspending and reactivating accounts by the deprovision rules; remove this entry";
  }
  if (kind === "group" && attribute === "members") {
    return "members cannot be mapped: a group's members are the directory group's members, written by scimsync; remove this entry";
  }
  return undefined;
}

const EXPRESSION_FORMS =
  "an expression is a source attribute (givenName, extra.costCenter), a quoted literal ('Employee'), " +
  "a function call (lower(email)) or a template ({givenName} {familyName})";

/**
 * Why an expression of a `kind` mapping does not parse or reads an attribute the directory does
 * not have; the formatter fills in the expression itself (or the reference it came from).
 * The schema judges with the file source's attributes (any extra.<name>); load-config.ts judges
 * a config's own entries again with its source.type's (see describeReferenceProblem).
 */
export function describeExpressionProblem(kind: MappingKind, text: string, source: SourceType = "file"): string | undefined {
  try {
    parseExpression(text, { checkReference: (reference) => describeReferenceProblem(kind, reference, source) });
    return undefined;
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    const where = error.wholeText ? "" : ` at column ${error.column} of ${GOT}`;
    // YAML's quotes around a value are gone by the time the expression sees it.
    if (error.wholeText && error.literal !== undefined) {
      return `${error.problem}${where}; in the YAML file write it as "'${error.literal}'" (YAML removes its own quotes)`;
    }
    // These name the fix already (an attribute list, the bracket syntax): the forms would be noise.
    if (error.reference !== undefined || error.wholeText) return `${error.problem}${where}`;
    return `${error.problem}${where}; ${EXPRESSION_FORMS}`;
  }
}

function expression(kind: MappingKind, what: string) {
  const expected = `expected ${what} as text, e.g. givenName or "{givenName} {familyName}"`;
  return z
    .string({
      error: (iss) =>
        isMapping(iss.input)
          ? `${expected}, got ${GOT}; YAML reads an unquoted {...} as a mapping, so quote a template: "{givenName}"`
          : expecting(expected)(iss),
    })
    .refine((s) => describeExpressionProblem(kind, s) === undefined, {
      error: (iss) => describeExpressionProblem(kind, String(iss.input)),
    });
}

function isExternalId(target: string): boolean {
  const path = parseScimPath(target);
  return path !== undefined && !path.schema && !path.filter && !path.subAttribute && path.attribute.toLowerCase() === "externalid";
}

/** Checks that involve more than one key of an entry; zod runs them only when each key is valid on its own. */
function checkEntry(kind: MappingKind, entry: MappingEntryInput, ctx: z.RefinementCtx): void {
  if (entry.drop === true) {
    const extra = (["source", "default", "clearWhenEmpty", "caseExact"] as const).filter((key) => entry[key] !== undefined);
    if (extra.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["drop"],
        message: `drop: true removes the target, so the entry takes no ${extra.join(" or ")}; remove drop to map the target, or remove ${extra.join(" and ")}`,
      });
    }
    return;
  }
  if (entry.source === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["source"],
      message: "is required; give an expression such as givenName, or drop: true to remove the target from the preset's mapping",
    });
    return;
  }
  // Anything but the directory's immutable id in externalId would make scimsync lose track of
  // its own accounts when that value changes.
  if (!isExternalId(entry.target) || describeExpressionProblem(kind, entry.source) !== undefined) return;
  const why =
    `scimsync recognises the ${kind}s it manages by the directory's immutable id; map another identifier to another attribute` +
    (kind === "user" ? ", e.g. urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber" : "");
  if (entry.source.trim() !== "id") {
    ctx.addIssue({ code: "custom", path: ["source"], message: `externalId must be mapped from id, got ${GOT}; ${why}` });
  } else if (entry.default !== undefined) {
    ctx.addIssue({ code: "custom", path: ["default"], message: "externalId takes no default: id is never empty; remove default" });
  }
}

interface MappingEntryInput {
  target: string;
  source?: string;
  default?: string;
  clearWhenEmpty?: boolean;
  caseExact?: boolean;
  drop?: boolean;
}

function mappingEntry(kind: MappingKind) {
  return z
    .strictObject(
      {
        target: z
          .string({ error: expecting(`expected a SCIM attribute path: ${SCIM_PATH_FORMS}`) })
          .refine((s) => describeTargetProblem(kind, s) === undefined, { error: (iss) => describeTargetProblem(kind, String(iss.input)) })
          .describe('The SCIM attribute written, e.g. name.givenName or emails[type eq "work"].value.'),
        source: expression(kind, "an expression over the directory's attributes")
          .optional()
          .describe("Expression giving the value: an attribute, a 'literal', a function call or a {template}."),
        default: expression(kind, "an expression used when source gives nothing")
          .optional()
          .describe("Expression used when source gives nothing (empty or missing)."),
        clearWhenEmpty: boolean()
          .optional()
          .describe("When source and default give nothing: true (default) clears the attribute in the app, false leaves the app's value."),
        caseExact: boolean()
          .optional()
          .describe("Compare values case-sensitively. Default true; false for userName and emails."),
        drop: boolean().optional().describe("true removes this target from the preset's mapping; the entry then has no source."),
      },
      {
        error: (iss) => {
          if (iss.code !== "invalid_type") return undefined;
          return `expected a mapping entry such as { target: title, source: title }, got ${GOT}`;
        },
      },
    )
    .superRefine((entry, ctx) => checkEntry(kind, entry, ctx));
}

function mappingList(kind: MappingKind) {
  const example = kind === "user" ? "[{ target: title, source: title }]" : "[{ target: displayName, source: displayName }]";
  return z
    .array(mappingEntry(kind), { error: expecting(`expected a list of mapping entries, e.g. ${example}`) })
    .optional()
    .describe(`${kind === "user" ? "User" : "Group"} entries that replace the preset's entry for the same target, add a target, or remove one (drop: true).`);
}

export const userMappingSchema = mappingList("user");
export const groupMappingSchema = mappingList("group");

/** One entry under mapping.user or mapping.group, as validated. */
export type MappingOverride = NonNullable<z.output<typeof userMappingSchema>>[number];

const mappingSchema = section(
  { matching: matchingSchema, user: userMappingSchema, group: groupMappingSchema },
  "the attribute mapping (matching, user, group)",
);

const TOKEN_EXPECTED = "expected the SCIM API token as text, best written as ${env:NAME} or ${file:PATH}";

/** The kinds of directory this release reads. */
export const SOURCE_TYPES = ["file", "google", "microsoft"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** Settings of the directory APIs' readers, shared by google and microsoft. */
const API_READER_KEYS = ["concurrency", "timeoutSeconds", "retries"];

/** The keys of `source` besides `type`, by the source.type they belong to; a key may belong to several. */
export const SOURCE_KEYS: Readonly<Record<SourceType, readonly string[]>> = {
  file: ["path"],
  google: ["customer", "domain", "credentials", "subject", "accessToken", "apiRoot", "tokenUrl", "archived", "showDeleted", ...API_READER_KEYS],
  microsoft: [
    "tenantId",
    "clientId",
    "clientSecret",
    "certificatePath",
    "certificatePassword",
    "managedIdentity",
    "workloadIdentity",
    "cloud",
    "authorityHost",
    "graphUrl",
    "fullSyncEvery",
    ...API_READER_KEYS,
  ],
};

/** The keys of `source` that choose how a microsoft source signs in; at most one is given. */
export const MICROSOFT_CREDENTIAL_KEYS = ["clientSecret", "certificatePath", "managedIdentity", "workloadIdentity"] as const;

/** Keys of `scope` that only a source.type google can honour (they are Directory API filters). */
export const GOOGLE_SCOPE_KEYS = ["orgUnits", "query"] as const;
/** Keys of `scope` that only a source.type microsoft can honour (they are Microsoft Graph reads). */
export const MICROSOFT_SCOPE_KEYS = ["assignedToApp", "filter"] as const;

const SOURCE_TYPE_CHOICES = "use file (a .json or .csv export), google (Google Workspace) or microsoft (Microsoft Entra ID)";

function describeSourceType(input: unknown): string {
  if (input === undefined) return `is required; ${SOURCE_TYPE_CHOICES}`;
  const close = typeof input === "string" ? closestName(input, SOURCE_TYPES) : undefined;
  const meant = close ? `did you mean "${close}"? ` : "";
  return `${GOT} is not supported; ${meant}${SOURCE_TYPE_CHOICES}`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A GUID as Entra writes ids, e.g. 00000000-0000-0000-0000-000000000000 (no braces). */
export function isGuid(text: string): boolean {
  return GUID.test(text.trim());
}

/** `my_customer` (the admin's own account) or a customer id such as C01abc2de. */
function isGoogleCustomer(text: string): boolean {
  const trimmed = text.trim();
  return trimmed === "my_customer" || /^[A-Za-z0-9]+$/.test(trimmed);
}

/** An ASCII DNS name with at least two labels; case is ignored (the config's value is lower-cased). */
function isDnsName(text: string): boolean {
  const name = text.trim();
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
  const labels = name.split(".");
  return name.length <= 253 && labels.length >= 2 && labels.every((l) => label.test(l));
}

function isEmailAddress(text: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text.trim());
}

/** The parts of a service account key scimsync uses. */
export interface ServiceAccountKey {
  clientEmail: string;
  privateKey: string;
  privateKeyId?: string;
  clientId?: string;
}

const KEY_FILE = "expected the service account key file downloaded from the Google Cloud console; write it as ${file:./service-account.json}";
const NEW_KEY =
  "download a new JSON key for the service account (Google Cloud console > IAM & Admin > Service Accounts > Keys) and write it as ${file:./service-account.json}";
/** Other kinds of Google credentials files, by their "type"; named in messages, as they are not secret. */
const OTHER_KEY_TYPES = new Set([
  "authorized_user",
  "external_account",
  "external_account_authorized_user",
  "impersonated_service_account",
  "gdch_service_account",
]);
const PRIVATE_KEY_PEM = /-----BEGIN (RSA )?PRIVATE KEY-----/;

/**
 * The service account key in `text` (the JSON key file), or what is wrong with it. A message
 * never contains any part of the text: it holds a private key.
 */
export function readServiceAccountKey(text: string): ServiceAccountKey | { problem: string } {
  const trimmed = text.trim();
  if (trimmed === "") return { problem: `is empty; ${KEY_FILE}` };
  let key: unknown;
  try {
    key = JSON.parse(trimmed);
  } catch {
    // JSON.parse's own message quotes the text around the mistake.
    if (trimmed.startsWith("-----BEGIN") && PRIVATE_KEY_PEM.test(trimmed)) {
      return { problem: `holds a PEM private key on its own; expected the whole JSON key file, which also names the service account; ${NEW_KEY}` };
    }
    return { problem: `is not valid JSON: ${KEY_FILE}` };
  }
  if (!isMapping(key)) return { problem: `is JSON but not an object: ${KEY_FILE}` };
  if (key.type !== "service_account") {
    if (key.type === undefined) return { problem: `has no "type"; expected a service account key (type service_account): ${KEY_FILE}` };
    const which = typeof key.type === "string" && OTHER_KEY_TYPES.has(key.type) ? `a key of type ${key.type}` : "not a service account key";
    return {
      problem:
        `is ${which}; expected a service account key (type service_account) with domain-wide delegation, ` +
        `or a short-lived token in source.accessToken; ${NEW_KEY}`,
    };
  }
  const textAt = (name: string): string | undefined => (typeof key[name] === "string" ? (key[name] as string) : undefined);
  const clientEmail = textAt("client_email");
  if (clientEmail === undefined || !isEmailAddress(clientEmail)) {
    return { problem: `has no client_email (the service account's address); ${NEW_KEY}` };
  }
  const privateKey = textAt("private_key");
  if (privateKey === undefined || privateKey.trim() === "") return { problem: `has no private_key; ${NEW_KEY}` };
  if (!PRIVATE_KEY_PEM.test(privateKey)) {
    return { problem: `has a private_key that is not a PEM private key (-----BEGIN PRIVATE KEY-----); ${NEW_KEY}` };
  }
  try {
    // A key that only looks like PEM would otherwise fail at the first token request.
    createPrivateKey(privateKey);
  } catch {
    return { problem: `has a private_key that cannot be read as a private key (damaged or cut short); ${NEW_KEY}` };
  }
  for (const name of ["private_key_id", "client_id"]) {
    if (key[name] !== undefined && textAt(name) === undefined) return { problem: `has a ${name} that is not text; ${NEW_KEY}` };
  }
  const privateKeyId = textAt("private_key_id");
  const clientId = textAt("client_id");
  return { clientEmail, privateKey, ...(privateKeyId ? { privateKeyId } : {}), ...(clientId ? { clientId } : {}) };
}

function describeCredentialsProblem(text: string): string | undefined {
  const key = readServiceAccountKey(text);
  return "problem" in key ? key.problem : undefined;
}

const TOKEN_RULES = {
  bearer: 'must hold only the token, without "Bearer " in front (scimsync adds it)',
  characters: "must not contain spaces, line breaks or control characters; check that the variable or file holds only the token",
};

/** A bearer token as text: not empty, no "Bearer " in front, no whitespace or control characters. */
function bearerToken(expected: string) {
  return (
    z
      .string({ error: expecting(expected) })
      .refine((s) => s !== "", { error: `must not be empty; ${expected}` })
      .refine((s) => !/^bearer\s/i.test(s), { error: TOKEN_RULES.bearer })
      // A "Bearer " prefix has its own message above; one mistake, one complaint.
      .refine((s) => !/[\s\p{Cc}]/u.test(s.replace(/^bearer\s+/i, "")), { error: TOKEN_RULES.characters })
  );
}

function url(key: Exclude<UrlKey, "target.url">, expected: string) {
  return z
    .string({ error: expecting(`expected ${expected}; it ${GOOGLE_URL_RULE}`) })
    .refine((s) => describeUrlProblem(s, key) === undefined, { error: (iss) => describeUrlProblem(String(iss.input), key) ?? GOOGLE_URL_RULE });
}

/** The Microsoft URLs: MSAL refuses an authority that is not https, and Graph is served over https only. */
export type MicrosoftUrlKey = "source.authorityHost" | "source.graphUrl";

const MICROSOFT_URL_RULE: Readonly<Record<MicrosoftUrlKey, string>> = {
  "source.authorityHost":
    "must be an absolute https:// URL, e.g. https://login.microsoftonline.com: the Microsoft sign-in library (MSAL) refuses any other authority, " +
    "also on this machine (serve a test server over https with a test CA)",
  "source.graphUrl":
    "must be an absolute https:// URL, e.g. https://graph.microsoft.com: Microsoft Graph is served over https only, " +
    "and scimsync sends its token nowhere else (serve a test server over https with a test CA)",
};

/** What is wrong with an authorityHost or graphUrl. Never quotes the URL: it may carry credentials. */
export function describeMicrosoftUrlProblem(text: string, key: MicrosoftUrlKey): string | undefined {
  const rule = MICROSOFT_URL_RULE[key];
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return rule;
  }
  if (url.protocol !== "https:") return rule;
  const example = key === "source.authorityHost" ? "https://login.microsoftonline.com" : "https://graph.microsoft.com";
  if (url.username || url.password) {
    return "must not contain a user name or password; scimsync signs in with the source's credential (clientSecret, certificatePath, managedIdentity or workloadIdentity)";
  }
  if (url.search || url.hash) return `must be a URL without ?query or #fragment, e.g. ${example}`;
  if (key === "source.graphUrl" && url.pathname !== "/") {
    return (
      `must be a scheme and host (and port) only, e.g. ${example} or https://graph.example.com: ` +
      "scimsync adds /v1.0 and each request's path itself; serve Microsoft Graph at the root of a host name"
    );
  }
  // A proxy may serve the authority under a path, but a path that already names a tenant or an
  // endpoint would be doubled: the sign-in library appends /<tenantId>/oauth2/v2.0/token itself.
  if (key === "source.authorityHost" && /(^|\/)([0-9a-f]{8}-[0-9a-f-]{27}|[^/]+\.[^/]+|common|organizations|consumers|oauth2|v2\.0)\/?$/i.test(url.pathname)) {
    return `must not end with a tenant or endpoint path, e.g. ${example}: the sign-in library adds /<source.tenantId>/oauth2/v2.0/token itself`;
  }
  return undefined;
}

function microsoftUrl(key: MicrosoftUrlKey, expected: string) {
  return z
    .string({ error: expecting(`expected ${expected}; it ${MICROSOFT_URL_RULE[key]}`) })
    .refine((s) => describeMicrosoftUrlProblem(s, key) === undefined, {
      error: (iss) => describeMicrosoftUrlProblem(String(iss.input), key) ?? MICROSOFT_URL_RULE[key],
    });
}

/** Tenants that stand for many: an application signing in as itself needs its own. */
const MULTI_TENANT_NAMES = new Set(["common", "organizations", "consumers"]);
const TENANT_EXPECTED =
  "expected the directory (tenant) id, a GUID shown in the Microsoft Entra admin center under Overview, " +
  "or a verified domain name of the tenant such as contoso.onmicrosoft.com";

function describeTenantProblem(text: string): string | undefined {
  const tenant = text.trim();
  if (MULTI_TENANT_NAMES.has(tenant.toLowerCase())) {
    return (
      `${GOT} cannot be used: it stands for many tenants, and scimsync signs in as an application (app-only), ` +
      `which needs the one tenant whose directory it reads; ${TENANT_EXPECTED}`
    );
  }
  if (isGuid(tenant) || isDnsName(tenant)) return undefined;
  return `${TENANT_EXPECTED}, got ${GOT}`;
}

function guid(expected: string) {
  return z
    .string({ error: expecting(expected) })
    .refine(isGuid, { error: `${expected}, got ${GOT}` });
}

const CLIENT_ID_EXPECTED =
  "expected the application (client) id of the app registration, a GUID such as 11111111-1111-1111-1111-111111111111 " +
  "(Microsoft Entra admin center > App registrations > the app > Overview)";
const MANAGED_IDENTITY_CLIENT_ID_EXPECTED =
  "expected the client id of the user-assigned managed identity, a GUID such as 11111111-1111-1111-1111-111111111111 " +
  "(Azure portal > Managed Identities > the identity > Overview)";
const CERTIFICATE_PATH_EXPECTED = "expected the path of a PEM file holding the certificate and its private key, relative to this config file";

/** PEM content (or any text of several lines) where a path belongs. */
export function isPemText(text: string): boolean {
  return /-----BEGIN|[\r\n]/.test(text);
}

const CLIENT_SECRET_EXPECTED = "expected a client secret of the app registration as text, best written as ${env:NAME} or ${file:PATH}";
const CERTIFICATE_PASSWORD_EXPECTED = "expected the password of the certificate's private key as text, best written as ${env:NAME}";

const MANAGED_IDENTITY_FORMS =
  "expected true (the system-assigned managed identity of the machine scimsync runs on) " +
  "or { clientId: <GUID> } (a user-assigned managed identity); remove managedIdentity to sign in another way";
const WORKLOAD_IDENTITY_FORMS =
  "expected true (the federated token file named by AZURE_FEDERATED_TOKEN_FILE) " +
  "or { tokenFilePath: <path> } (another token file, relative to this config file); remove workloadIdentity to sign in another way";

/**
 * true, or a mapping of `shape`. Inside a union, zod reports most mistakes in the mapping as one
 * issue about the whole union, so load-config.ts judges the mapping form by its keys
 * (IDENTITY_SECTION_KEYS); the message here covers every other value.
 */
function oneOfTrueOr<T extends z.ZodRawShape>(shape: T, forms: string) {
  return z.union([z.literal(true), z.strictObject(shape)], { error: () => `${forms}, got ${GOT}` });
}

/** The shape of managedIdentity's and workloadIdentity's mapping form, for load-config.ts. */
export const IDENTITY_SECTION_KEYS = {
  managedIdentity: { clientId: MANAGED_IDENTITY_CLIENT_ID_EXPECTED },
  workloadIdentity: { tokenFilePath: "expected the path of the federated token file, relative to this config file" },
} as const;

/** fullSyncEvery's bounds in milliseconds: a full read of a large tenant takes minutes, and drift must not last a month. */
const FULL_SYNC_EVERY_RANGE = { min: 10 * 60_000, max: 30 * 24 * 3_600_000, text: "from 10m to 30d" } as const;
const FULL_SYNC_EXPECTED = `expected a duration ${FULL_SYNC_EVERY_RANGE.text} such as 24h, 7d or 90m (<n>m, <n>h or <n>d)`;

function describeFullSyncProblem(text: string): string | undefined {
  const delay = parseDelay(text);
  if (delay === undefined) return `${FULL_SYNC_EXPECTED}, got ${GOT}`;
  if (delay === "never") {
    return (
      `${GOT} cannot be used: between full reads scimsync reads only the changes (delta queries), and a full read is what catches ` +
      `drift those miss (an expired delta link, changes to the scope); ${FULL_SYNC_EXPECTED}`
    );
  }
  if (delay < FULL_SYNC_EVERY_RANGE.min) {
    const now = delay === 0 ? "it would make every run a full read; " : "";
    return `${GOT} is too short: ${now}${FULL_SYNC_EXPECTED} (a full read of a large tenant takes minutes)`;
  }
  if (delay > FULL_SYNC_EVERY_RANGE.max) {
    return `${GOT} is too long: a full read is what catches drift the delta queries miss; ${FULL_SYNC_EXPECTED}`;
  }
  return undefined;
}

const GOOGLE = "source.type google:";
const CUSTOMER_EXPECTED = "expected my_customer (the admin's own account) or a Google customer id of letters and digits, e.g. C01abc2de";
const CREDENTIALS_EXPECTED = "expected the service account key as JSON text, best written as ${file:./service-account.json}";
const ACCESS_TOKEN_EXPECTED = "expected a Google OAuth access token as text, best written as ${env:NAME}";
const SUBJECT_EXPECTED =
  "expected the email address of a Google Workspace admin the service account acts as, through domain-wide delegation";

const MICROSOFT = "source.type microsoft:";
const GOOGLE_AND_MICROSOFT = "source.type google and microsoft:";

const sourceSchema = section(
  {
    type: z
      .enum(SOURCE_TYPES, { error: (iss) => describeSourceType(iss.input) })
      .describe("Kind of directory: file (a .json or .csv export), google (Google Workspace) or microsoft (Microsoft Entra ID)."),
    path: nonEmptyText("expected the path of the directory file (.json or .csv), relative to this config file")
      .optional()
      .describe("source.type file: the directory export (.json or .csv), relative to this config file. Required."),
    customer: z
      .string({ error: expecting(CUSTOMER_EXPECTED) })
      .refine(isGoogleCustomer, { error: `${CUSTOMER_EXPECTED}, got ${GOT}` })
      .default("my_customer")
      .describe(`${GOOGLE} the Google Workspace account: my_customer (the admin's own) or a customer id.`),
    domain: z
      .string({ error: expecting("expected a domain name such as example.com") })
      .refine(isDnsName, { error: `expected a domain name such as example.com (an internationalised one in its xn-- form), got ${GOT}` })
      .optional()
      .describe(`${GOOGLE} read only the users of this domain. Default: every domain of the account.`),
    credentials: z
      .string({
        error: (iss) =>
          isMapping(iss.input)
            ? `${CREDENTIALS_EXPECTED}, got ${GOT}; YAML reads JSON written into the config as a mapping, and the key belongs in its own file anyway`
            : expecting(CREDENTIALS_EXPECTED)(iss),
      })
      .refine((s) => describeCredentialsProblem(s) === undefined, { error: (iss) => describeCredentialsProblem(String(iss.input)) })
      .optional()
      .describe(`${GOOGLE} the JSON key of a service account with domain-wide delegation, written as \${file:PATH}. Needs subject; or use accessToken.`),
    subject: z
      .string({ error: expecting(SUBJECT_EXPECTED) })
      .refine(isEmailAddress, { error: `${SUBJECT_EXPECTED}, got ${GOT}` })
      .optional()
      .describe(`${GOOGLE} the admin the service account acts as (domain-wide delegation). Required with credentials.`),
    accessToken: bearerToken(ACCESS_TOKEN_EXPECTED)
      .optional()
      .describe(`${GOOGLE} a short-lived OAuth access token minted elsewhere, written as \${env:NAME}; instead of credentials.`),
    apiRoot: url("source.apiRoot", "the root URL of the Google APIs, e.g. https://admin.googleapis.com/")
      .optional()
      .describe(`${GOOGLE} another root URL for the Admin SDK API (a private gateway, restricted VIP, tests). Scheme and host only.`),
    tokenUrl: url("source.tokenUrl", "the OAuth token endpoint, e.g. https://oauth2.googleapis.com/token")
      .optional()
      .describe(`${GOOGLE} another OAuth token endpoint for credentials.`),
    archived: z
      .enum(["ignore", "treat-as-suspended"], { error: expecting("expected ignore or treat-as-suspended") })
      .default("ignore")
      .describe(`${GOOGLE} archived users: ignore (as if they were not there) or treat-as-suspended.`),
    showDeleted: boolean().default(false).describe(`${GOOGLE} also read users deleted in the last 20 days.`),
    concurrency: wholeNumber(1, 32)
      .default(4)
      .describe(`${GOOGLE_AND_MICROSOFT} group member lists (microsoft: transitive member lists) read at once.`),
    timeoutSeconds: z
      .number({ error: expecting("expected seconds, a number greater than 0 and at most 600") })
      .gt(0, { error: `expected seconds, a number greater than 0 and at most 600, got ${GOT}` })
      .max(600, { error: `expected seconds, a number greater than 0 and at most 600, got ${GOT}` })
      .default(60)
      .describe(`${GOOGLE_AND_MICROSOFT} seconds to wait for one response.`),
    retries: wholeNumber(0, 10)
      .default(5)
      .describe(`${GOOGLE_AND_MICROSOFT} retries of a throttled (429) or failed (5xx, network) request, with backoff.`),
    tenantId: z
      .string({ error: expecting(TENANT_EXPECTED) })
      .refine((s) => describeTenantProblem(s) === undefined, { error: (iss) => describeTenantProblem(String(iss.input)) })
      .optional()
      .describe(`${MICROSOFT} the directory (tenant) id, a GUID, or a verified domain such as contoso.onmicrosoft.com. Required.`),
    clientId: guid(CLIENT_ID_EXPECTED)
      .optional()
      .describe(
        `${MICROSOFT} the application (client) id of the app registration scimsync signs in as. Required with clientSecret and certificatePath; ` +
          "with workloadIdentity, default: the AZURE_CLIENT_ID environment variable. " +
          "Not with managedIdentity (use managedIdentity.clientId), nor without a credential key (DefaultAzureCredential reads AZURE_CLIENT_ID).",
      ),
    clientSecret: z
      .string({ error: expecting(CLIENT_SECRET_EXPECTED) })
      .refine((s) => s !== "", { error: `must not be empty; ${CLIENT_SECRET_EXPECTED}` })
      .refine((s) => !/[\s\p{Cc}]/u.test(s), {
        error: "must not contain spaces, line breaks or control characters; check that the variable or file holds only the client secret",
      })
      .optional()
      .describe(`${MICROSOFT} a client secret of the app registration, written as \${env:NAME} or \${file:PATH}. Needs clientId.`),
    certificatePath: nonEmptyText(CERTIFICATE_PATH_EXPECTED)
      // Never quoted: text pasted here instead of a path is the private key itself.
      .refine((s) => !isPemText(s), {
        error: `must be the path of the PEM file, not its content; write the certificate and its private key to a file and ${CERTIFICATE_PATH_EXPECTED.replace("expected ", "give ")}`,
      })
      .optional()
      .describe(
        `${MICROSOFT} a PEM file with a certificate of the app registration and its private key, relative to this config file. Needs clientId.`,
      ),
    certificatePassword: z
      .string({ error: expecting(CERTIFICATE_PASSWORD_EXPECTED) })
      .refine((s) => s !== "", { error: `must not be empty; ${CERTIFICATE_PASSWORD_EXPECTED}` })
      .optional()
      .describe(`${MICROSOFT} the password of certificatePath's private key, when it is encrypted; written as \${env:NAME}.`),
    managedIdentity: oneOfTrueOr({ clientId: guid(MANAGED_IDENTITY_CLIENT_ID_EXPECTED) }, MANAGED_IDENTITY_FORMS)
      .optional()
      .describe(`${MICROSOFT} sign in as the Azure managed identity: true (system-assigned) or { clientId: <GUID> } (user-assigned).`),
    workloadIdentity: oneOfTrueOr(
      { tokenFilePath: nonEmptyText(IDENTITY_SECTION_KEYS.workloadIdentity.tokenFilePath) },
      WORKLOAD_IDENTITY_FORMS,
    )
      .optional()
      .describe(
        `${MICROSOFT} sign in with a federated token (e.g. AKS workload identity): true (the file in AZURE_FEDERATED_TOKEN_FILE) ` +
          "or { tokenFilePath: <path> }. Uses clientId, else AZURE_CLIENT_ID.",
      ),
    cloud: z
      .enum(["global", "usgov", "china"], {
        error: expecting("expected global (Azure), usgov (Azure Government) or china (Azure operated by 21Vianet)"),
      })
      .default("global")
      .describe(`${MICROSOFT} the Microsoft cloud: global, usgov or china. Chooses the sign-in and Graph hosts.`),
    authorityHost: microsoftUrl("source.authorityHost", "the sign-in host, e.g. https://login.microsoftonline.com")
      .optional()
      .describe(`${MICROSOFT} another sign-in (authority) host than the cloud's, e.g. a proxy or a test server. https only.`),
    graphUrl: microsoftUrl("source.graphUrl", "the Microsoft Graph host, e.g. https://graph.microsoft.com")
      .optional()
      .describe(`${MICROSOFT} another Microsoft Graph host than the cloud's, e.g. a proxy or a test server. https, scheme and host only.`),
    fullSyncEvery: z
      .string({ error: expecting(FULL_SYNC_EXPECTED) })
      .refine((s) => describeFullSyncProblem(s) === undefined, { error: (iss) => describeFullSyncProblem(String(iss.input)) })
      .default("24h")
      .describe(`${MICROSOFT} read the whole directory at least this often (10m to 30d); runs in between read only the changes (delta queries).`),
  },
  "the directory to read: type, and path for a file or the Google Workspace or Microsoft Entra ID settings",
);

const tlsSchema = section(
  {
    rejectUnauthorized: boolean().default(true).describe("Check the target's TLS certificate. Turn off only for tests."),
    caFile: nonEmptyText("expected the path of a PEM file with the CA certificate(s), relative to this config file")
      .optional()
      .describe("Extra CA certificates (PEM) to trust, for targets behind a private CA."),
  },
  "TLS settings (rejectUnauthorized, caFile)",
);

const targetSchema = section(
  {
    url: z
      .string({ error: expecting(`expected the SCIM base URL; it ${URL_RULE}`) })
      .refine((s) => describeUrlProblem(s) === undefined, { error: (iss) => describeUrlProblem(String(iss.input)) ?? URL_RULE })
      .describe("SCIM base URL of the app, e.g. https://app.example.com/scim/v2 (without /Users)."),
    token: bearerToken(TOKEN_EXPECTED).describe("Bearer token for the SCIM API. Write it as ${env:NAME} or ${file:PATH}."),
    concurrency: wholeNumber(1, 64).default(8).describe("Requests in flight at once."),
    rateLimit: z
      .number({ error: expecting("expected requests per second, a number from 0 (unlimited) to 10000") })
      .min(0, { error: `expected requests per second, a number from 0 (unlimited) to 10000, got ${GOT}` })
      .max(10_000, { error: `expected requests per second, a number from 0 (unlimited) to 10000, got ${GOT}` })
      .default(25)
      .describe("Most requests started per second; 0 = unlimited."),
    timeoutSeconds: z
      .number({ error: expecting("expected seconds, a number greater than 0 and at most 3600") })
      .gt(0, { error: `expected seconds, a number greater than 0 and at most 3600, got ${GOT}` })
      .max(3600, { error: `expected seconds, a number greater than 0 and at most 3600, got ${GOT}` })
      .default(30)
      .describe("Seconds to wait for one response."),
    retries: wholeNumber(0, 10).default(4).describe("Retries of a failed request (429, 5xx, network), with backoff."),
    pageSize: wholeNumber(1, 1000).default(100).describe("Users asked for per page when listing the target."),
    preset: presetSchema,
    dialect: z
      .enum(["patch", "put", "entra-legacy"], { error: expecting("expected patch, put or entra-legacy") })
      .optional()
      .describe(
        "How changes are written: patch (RFC 7644 PATCH), put (whole resource replaced), entra-legacy (PATCH as Entra ID sent it before 2020). Default: the preset's.",
      ),
    maxMembersPerPatch: wholeNumber(1, 1000).default(100).describe("Group members added or removed per PATCH request."),
    readGroupMembers: z
      .enum(["changed", "always", "never"], { error: expecting("expected changed, always or never") })
      .optional()
      .describe(
        "When a group's members are read back from the app: changed (when the membership to write differs from the state file), " +
          "always (every run), never (the app does not return members). Default: the preset's.",
      ),
    requireEmail: boolean()
      .optional()
      .describe("Skip (and report) users without a valid email address. Default: the preset's."),
    matchBy: matchBySchema,
    tls: tlsSchema.prefault({}),
    allowInsecureHttp: boolean().default(false).describe("Allow http:// to a host other than this machine. The token travels unencrypted."),
  },
  "the SCIM app to provision into (at least url and token)",
);

const stateSchema = section(
  {
    path: nonEmptyText("expected the path of the state file, relative to this config file")
      .default("./scimsync.state.json")
      .describe("Where scimsync remembers the users it manages, relative to this config file."),
  },
  "state settings (path)",
);

const logSchema = section(
  {
    path: nonEmptyText("expected the path of the audit log file, relative to this config file")
      .optional()
      .describe(
        "Append every action a sync applies to this NDJSON audit log (relative to this config file), for `scimsync report` and `scimsync status`. " +
          "It names users and the attributes changed, never their values. Absent: no audit log.",
      ),
  },
  "audit log settings (path)",
);

const groupRef = z
  .string({
    error: (iss) =>
      typeof iss.input === "number"
        ? `expected a group name or id as text, got ${GOT}; quote it: "${iss.input}"`
        : `expected a group name or id as text, got ${GOT}`,
  })
  .refine((s) => s.trim() !== "", { error: "must not be empty; expected a group name or id" });

const ORG_UNIT_EXPECTED = 'expected an organisational unit path starting with "/", e.g. /Sales or /Engineering/Platform ("/" is the whole organisation)';

const orgUnitPath = z
  .string({ error: `${ORG_UNIT_EXPECTED}, got ${GOT}` })
  .refine((s) => s.trim().startsWith("/"), { error: `${ORG_UNIT_EXPECTED}, got ${GOT}` });

/** An organisational unit path as Google writes it: trimmed, without a trailing "/" except for the root "/". */
export function normalizeOrgUnitPath(text: string): string {
  return text.trim().replace(/\/+$/, "") || "/";
}

const ASSIGNED_TO_APP_EXPECTED =
  "expected the Object ID of the enterprise application (its service principal), not the application (client) id: " +
  "a GUID shown in the Microsoft Entra admin center under Enterprise applications > the app > Overview > Object ID";
const FILTER_EXPECTED = "expected an OData $filter on Microsoft Graph users, e.g. accountEnabled eq true or department eq 'Sales'";

const scopeSchema = section(
  {
    groups: z
      .array(groupRef, { error: expecting("expected a list of group names or ids, e.g. [Engineering, Sales]") })
      .optional()
      .describe("Provision only members of these groups (names or ids; nested groups count). Absent or empty: everyone."),
    orgUnits: z
      .array(orgUnitPath, { error: expecting("expected a list of organisational unit paths, e.g. [/Sales, /Engineering]") })
      .optional()
      .describe('source.type google only: provision only users of these organisational units (paths such as /Sales; "/" is the whole organisation).'),
    query: nonEmptyText("expected a Google Directory API user search, e.g. isAdmin=false or orgUnitPath='/Sales'")
      .optional()
      .describe("source.type google only: provision only the users this Directory API search (users.list query) returns."),
    assignedToApp: guid(ASSIGNED_TO_APP_EXPECTED)
      .optional()
      .describe(
        "source.type microsoft only: provision only the users assigned to this enterprise application; " +
          "its service principal's Object ID (Enterprise applications > the app > Overview), not the application (client) id.",
      ),
    filter: z
      .string({ error: expecting(FILTER_EXPECTED) })
      .refine((s) => s.trim() !== "", { error: `must not be empty; ${FILTER_EXPECTED}` })
      .refine((s) => !/^\s*\$filter\s*=/i.test(s), { error: `must be the filter expression only, without "$filter=" (scimsync adds it); ${FILTER_EXPECTED}` })
      .optional()
      .describe("source.type microsoft only: provision only the users this OData $filter on Microsoft Graph's /users returns, e.g. accountEnabled eq true."),
  },
  "the users to provision (groups; orgUnits and query for source.type google; assignedToApp and filter for source.type microsoft)",
);

function deprovisionRule(what: string) {
  return section(
    {
      suspend: delay("now").describe(`How long after a user ${what} they are suspended (active=false) on the target.`),
      delete: delay("never").describe(`How long after a user ${what} they are deleted from the target.`),
    },
    "suspend and delete delays, e.g. { suspend: now, delete: 21d }",
  ).prefault({});
}

const deprovisionSchema = section(
  {
    outOfScope: deprovisionRule("leaves the scope (the app is turned off for them)"),
    suspended: deprovisionRule("is suspended or disabled in the directory"),
    deleted: deprovisionRule("is deleted from the directory"),
    groups: section(
      {
        delete: delay("never").describe(
          "How long after a group leaves the directory (or provisionGroups) it is deleted from the target. Groups are never suspended.",
        ),
      },
      "the group delete delay, e.g. { delete: 7d }",
    ).prefault({}),
  },
  "what to do when users and groups leave (outOfScope, suspended, deleted, groups)",
);

const safetySchema = section(
  {
    maxDeprovisions: wholeNumber(0, 1_000_000).default(50).describe("Stop before a run that would suspend or delete more users than this."),
    maxDeprovisionPercent: z
      .number({ error: expecting("expected a percentage from 0 to 100") })
      .min(0, { error: `expected a percentage from 0 to 100, got ${GOT}` })
      .max(100, { error: `expected a percentage from 0 to 100, got ${GOT}` })
      .default(20)
      .describe("Stop before a run that would suspend or delete more than this share of the managed users."),
  },
  "safety limits (maxDeprovisions, maxDeprovisionPercent)",
);

/** When notify.webhook is called; `always` after every sync. */
export const NOTIFY_TRIGGERS = ["failed", "safety-stop", "auth", "always"] as const;
export type NotifyTrigger = (typeof NOTIFY_TRIGGERS)[number];
export const DEFAULT_NOTIFY_TRIGGERS: readonly NotifyTrigger[] = ["failed", "safety-stop", "auth"];

export const WEBHOOK_URL_RULE =
  "must be an absolute https:// URL (http:// is allowed only for 127.0.0.1/localhost/[::1], e.g. a test server)";

/** What is wrong with notify.webhook.url. Never quotes the URL: its path or query is the webhook's secret. */
export function describeWebhookUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return WEBHOOK_URL_RULE;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return undefined;
  return WEBHOOK_URL_RULE;
}

const TRIGGERS_EXPECTED = "expected a list of failed, safety-stop and auth, e.g. [failed, safety-stop, auth], or [always]";

const notifySchema = section(
  {
    webhook: section(
      {
        url: z
          .string({ error: expecting(`expected the incoming webhook URL (Slack, Teams...), best written as \${env:NAME}; it ${WEBHOOK_URL_RULE}`) })
          .refine((s) => describeWebhookUrlProblem(s) === undefined, { error: () => WEBHOOK_URL_RULE })
          .describe("The incoming webhook URL (Slack, Microsoft Teams, ...). It is a secret: write it as ${env:NAME} or ${file:PATH}."),
        on: z
          .array(z.enum(NOTIFY_TRIGGERS, { error: `expected failed, safety-stop, auth or always, got ${GOT}` }), { error: expecting(TRIGGERS_EXPECTED) })
          .min(1, { error: `must not be empty; ${TRIGGERS_EXPECTED}; to notify never, remove notify.webhook` })
          .default([...DEFAULT_NOTIFY_TRIGGERS])
          .describe(
            "When a sync posts its summary: failed (actions failed, users held, or the run ended with an error), safety-stop (a safety limit " +
              "held deprovisioning back, or the run failed closed), auth (the target rejected the token), always (after every sync). Default: [failed, safety-stop, auth].",
          ),
      },
      "the webhook to call (url, on)",
    )
      .optional()
      .describe("POST a JSON summary ({text, scimsync}) to this webhook after a sync, e.g. a Slack or Teams channel's incoming webhook."),
  },
  "notifications (webhook)",
);

export const configSchema = z.strictObject(
  {
    source: sourceSchema,
    target: targetSchema,
    state: stateSchema.prefault({}),
    log: logSchema.prefault({}),
    scope: scopeSchema.prefault({}),
    provisionGroups: z
      .enum(["all", "scoped", "none"], { error: expecting("expected all, scoped or none") })
      .default("scoped")
      .describe(
        "Which directory groups are pushed to the target: all, scoped (the scope groups and the groups nested in them; all without a group scope) or none.",
      ),
    mapping: mappingSchema.prefault({}),
    deprovision: deprovisionSchema.prefault({}),
    safety: safetySchema.prefault({}),
    notify: notifySchema.prefault({}),
  },
  {
    error: (iss) => {
      if (iss.code !== "invalid_type") return undefined;
      return `the top level must be a mapping with the keys ${TOP_LEVEL_KEYS}, got ${GOT}`;
    },
  },
);

/** The config file as written, before defaults. */
export type ConfigFileInput = z.input<typeof configSchema>;
/** The config file with defaults applied; load-config.ts turns it into a Config. */
export type ConfigFile = z.output<typeof configSchema>;
