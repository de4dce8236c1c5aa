/**
 * Reads the YAML config, resolves secret references, validates it, and returns a Config with
 * absolute paths and parsed delays. Every problem found is reported at once in one ConfigError.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { access, constants, readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { compareDelays, parseDelay } from "../core/delay.js";
import type { Dialect, MappingEntry, MatchAttribute } from "../core/mapping.js";
import {
  DEPROVISION_REASONS,
  type Delay,
  type DeprovisionPolicy,
  type DeprovisionRule,
  type GroupDeprovisionRule,
  type ProvisionGroups,
} from "../core/model.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import {
  checkMatching,
  checkOverrides,
  MATCH_BY_EQUIVALENT,
  matchByDropsExternalId,
  mergeEntries,
  resolveMatching,
  userOverrides,
} from "./effective-mapping.js";
import { closestName } from "./closest-name.js";
import { describeValue, toConfigIssues, type IssueContext } from "./format-issues.js";
import { formatKeyPath, isMapping, valueAt, type KeyPath } from "./key-path.js";
import { PRESETS, type PresetName, type ReadGroupMembers } from "./presets.js";
import {
  configSchema,
  describeExpressionProblem,
  describeUrlProblem,
  GOOGLE_SCOPE_KEYS,
  GOT,
  groupMappingSchema,
  IDENTITY_SECTION_KEYS,
  isGuid,
  isLoopbackHost,
  isPemText,
  matchBySchema,
  matchingSchema,
  MICROSOFT_CREDENTIAL_KEYS,
  MICROSOFT_SCOPE_KEYS,
  normalizeOrgUnitPath,
  presetSchema,
  readServiceAccountKey,
  SOURCE_KEYS,
  SOURCE_TYPES,
  TOP_LEVEL_KEYS,
  URL_RULE,
  userMappingSchema,
  type ConfigFile,
  type NotifyTrigger,
  type SourceType,
} from "./schema.js";
import { describeFsError, resolveSecretRefs } from "./secret-refs.js";
import { describeYamlErrors } from "./yaml-errors.js";

/** The directory to read. */
export type SourceConfig =
  /** `path` is absolute. */
  | { type: "file"; path: string }
  | {
      type: "google";
      /** my_customer or a customer id. */
      customer: string;
      /** Lower-cased. */
      domain?: string;
      /** Exactly one of serviceAccount / accessToken. The resolved secrets; never log them. */
      serviceAccount?: { clientEmail: string; privateKey: string; privateKeyId?: string; clientId?: string; subject: string };
      accessToken?: string;
      /** Scheme, host and port, always ending with "/": the Google client replaces any path of its root URL. */
      apiRoot?: string;
      tokenUrl?: string;
      archived: "ignore" | "treat-as-suspended";
      showDeleted: boolean;
      /** Group member lists read at once. */
      concurrency: number;
      timeoutSeconds: number;
      retries: number;
    }
  | {
      type: "microsoft";
      /** A GUID or a verified domain name, lower-cased; never common, organizations or consumers. */
      tenantId: string;
      /** The app registration's application (client) id, lower-cased. Present with secret and certificate; optional with workload-identity (absent: AZURE_CLIENT_ID); absent otherwise. */
      clientId?: string;
      /** How to sign in. The resolved secrets; never log them. */
      credential:
        | { kind: "secret"; clientSecret: string }
        /** `certificatePath` is absolute: a PEM file with the certificate and its private key. */
        | { kind: "certificate"; certificatePath: string; certificatePassword?: string }
        /** `clientId`: a user-assigned identity's; absent: the system-assigned identity. */
        | { kind: "managed-identity"; clientId?: string }
        /** `tokenFilePath` is absolute; absent: AZURE_FEDERATED_TOKEN_FILE. */
        | { kind: "workload-identity"; tokenFilePath?: string }
        /** No credential key: DefaultAzureCredential. */
        | { kind: "default" };
      cloud: MicrosoftCloud;
      /** Resolved: the override, else the cloud's (see MICROSOFT_CLOUDS); no trailing slash. */
      authorityHost: string;
      /** true when authorityHost was given (then instance discovery is turned off: it would call Microsoft's public endpoint). */
      authorityHostOverridden: boolean;
      /** Resolved: the override, else the cloud's (see MICROSOFT_CLOUDS); scheme, host and port: no trailing slash, no path. */
      graphUrl: string;
      /** Milliseconds: a full read at least this often, delta queries in between. */
      fullSyncEvery: number;
      /** Transitive member lists read at once. */
      concurrency: number;
      timeoutSeconds: number;
      retries: number;
    };

export type GoogleSourceConfig = Extract<SourceConfig, { type: "google" }>;
export type MicrosoftSourceConfig = Extract<SourceConfig, { type: "microsoft" }>;

export type MicrosoftCloud = "global" | "usgov" | "china";

/** Each Microsoft cloud's sign-in (authority) host and Microsoft Graph host; the Graph host is also what the token is for. */
export const MICROSOFT_CLOUDS: Readonly<Record<MicrosoftCloud, { authorityHost: string; graphUrl: string }>> = {
  global: { authorityHost: "https://login.microsoftonline.com", graphUrl: "https://graph.microsoft.com" },
  usgov: { authorityHost: "https://login.microsoftonline.us", graphUrl: "https://graph.microsoft.us" },
  china: { authorityHost: "https://login.chinacloudapi.cn", graphUrl: "https://microsoftgraph.chinacloudapi.cn" },
};

export interface Config {
  source: SourceConfig;
  target: {
    /** SCIM base URL without a trailing slash. */
    url: string;
    /** The resolved secret. Never log it. */
    token: string;
    concurrency: number;
    /** Requests per second; 0 = unlimited. */
    rateLimit: number;
    timeoutSeconds: number;
    retries: number;
    pageSize: number;
    /** Derived from mapping.matching, for code that knows only one match attribute. */
    matchBy: MatchAttribute;
    /** `caFile` is absolute. */
    tls: { rejectUnauthorized: boolean; caFile?: string };
    allowInsecureHttp: boolean;
    preset: PresetName;
    /** The config's, else the preset's. */
    dialect: Dialect;
    /** Members added or removed per PATCH request on a group. */
    maxMembersPerPatch: number;
    /** The config's, else the preset's. */
    readGroupMembers: ReadGroupMembers;
    /** true: a user without a valid email is reported and skipped. The config's, else the preset's. */
    requireEmail: boolean;
    /** Whether the app accepts groups at all (the preset's); when false, provisionGroups is "none". */
    groups: boolean;
  };
  /** `path` is absolute. */
  state: { path: string };
  /** `path` is absolute; absent: no audit log is written. */
  log: { path?: string };
  /**
   * Absent keys do not narrow. `groups`: group display names or ids (any source). `orgUnits`:
   * organisational unit paths without a trailing "/" ("/" is the whole organisation), and
   * `query`: a Directory API user search; both only with source.type google. `assignedToApp`:
   * the object id (lower-cased) of an enterprise application's service principal whose assigned
   * users are provisioned, and `filter`: an OData $filter on /users; both only with source.type microsoft.
   */
  scope: { groups?: string[]; orgUnits?: string[]; query?: string; assignedToApp?: string; filter?: string };
  /** The preset's mapping with the config's entries applied. `group` is empty when target.groups is false. */
  mapping: { user: MappingEntry[]; group: MappingEntry[]; matching: MatchAttribute[] };
  /** Always "none" when target.groups is false. */
  provisionGroups: ProvisionGroups;
  /** What happens to users who leave. */
  deprovision: DeprovisionPolicy;
  groupDeprovision: GroupDeprovisionRule;
  safety: { maxDeprovisions: number; maxDeprovisionPercent: number };
  /** `webhook` absent: no notifications. */
  notify: { webhook?: WebhookConfig };
}

export interface WebhookConfig {
  /** The resolved URL, a secret (it carries the webhook's token). Never log it. */
  url: string;
  /** When it is called; `always` covers every run. */
  on: NotifyTrigger[];
}

const HINT = "fix the keys listed above; config.example.yaml shows every key with its default";
const YAML_HINT =
  "fix the YAML syntax; indent with spaces, quote values that contain : or #, and quote a value that starts with { " +
  '(YAML reads it as a mapping), e.g. source: "{givenName} {familyName}"';

export async function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ config: Config; warnings: string[] }> {
  const path = resolve(file);
  const dir = dirname(path);
  const raw = parseYamlConfig(await readConfigText(path), path);

  const refs = await resolveSecretRefs(raw, { dir, env });
  const parsed = configSchema.safeParse(refs.value);
  const context: IssueContext = { schema: configSchema, root: refs.value, references: refs.references };
  const schemaIssues = parsed.success ? [] : toConfigIssues(parsed.error.issues, context);
  // One mistake, one complaint: these take the place of what the schema says about the same key.
  const replacing = [...checkKeysOfOtherSources(refs.value), ...checkMappingForSource(refs.value, context)];
  const identity = checkIdentitySections(refs.value, context);
  const replaced = [...replacing.map((r) => r.path), ...identity.sections];
  const kept = schemaIssues.filter((issue) => !replaced.some((path) => isAtOrUnder(issue.path, path)));
  const certificate = await checkCertificateFile(refs.value, dir, refs.unresolved);
  const checked = [
    ...kept,
    ...replacing,
    ...identity.issues,
    ...checkCrossKeyRules(refs.value),
    ...(await checkReferencedFiles(refs.value, dir)),
    ...certificate.issues,
  ];
  // A key whose reference failed has already been reported; "got ${env:X}" would only confuse.
  const issues = [...refs.issues, ...checked.filter((i) => !refs.unresolved.has(i.path))];

  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(sortInFileOrder(issues.length > 0 ? issues : schemaIssues, raw), { file: path, hint: HINT });
  }

  const warnings = [...refs.warnings, ...certificate.warnings, ...collectWarnings(parsed.data, refs.value, refs.references)];
  return { config: buildConfig(parsed.data, dir), warnings };
}

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new ConfigError([{ path: "", message: `cannot read the config file: ${describeFsError(error)}` }], {
      file: path,
      hint: missing ? "create it from config.example.yaml, or point scimsync at the right file" : undefined,
    });
  }
}

function parseYamlConfig(text: string, path: string): Record<string, unknown> {
  const lines = new LineCounter();
  // Without prettyErrors, messages carry no excerpt of the file (which may hold an inline token).
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    const issues = describeYamlErrors(text, doc, lines, (error) =>
      error.code === "MULTIPLE_DOCS" ? "the file holds more than one YAML document (---); keep one" : redact(error.message),
    );
    throw new ConfigError(issues, { file: path, hint: YAML_HINT });
  }
  if (doc.contents === null) {
    throw new ConfigError([{ path: "", message: "the file is empty" }], {
      file: path,
      hint: "start from config.example.yaml; at least source and target are needed",
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([{ path: "", message: `cannot read the YAML: ${(error as Error).message}` }], { file: path });
  }
  if (!isMapping(value)) {
    throw new ConfigError(
      [{ path: "", message: `the top level must be a mapping with the keys ${TOP_LEVEL_KEYS}, got ${Array.isArray(value) ? "a list" : "a single value"}` }],
      { file: path, hint: 'start from config.example.yaml; write each key at the start of a line (source:, target:), without "- " in front' },
    );
  }
  return dropNulls(value) as Record<string, unknown>;
}

/**
 * The line may hold an inline token, and a few of yaml's messages quote source text after a
 * colon or in double quotes; line and column are enough to find the spot.
 */
function redact(message: string): string {
  const head = message.split(": ")[0] ?? message;
  return head.replace(/"[^"]*"/g, '"..."');
}

/**
 * `key:` with nothing after it (often every sub-key commented out) means "not given", so it
 * takes the default instead of failing as "expected a mapping, got null".
 */
function dropNulls(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropNulls);
  if (!isMapping(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) if (value !== null) out[key] = dropNulls(value);
  return out;
}

function isAtOrUnder(path: string, parent: string): boolean {
  return path === parent || path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);
}

/** source.type as written, when it is one scimsync reads (the schema reports any other). */
function sourceTypeOf(root: unknown): SourceType | undefined {
  const type = valueAt(root, ["source", "type"]);
  return SOURCE_TYPES.find((t) => t === type);
}

/** The keys of `scope` only one source.type honours, and what they filter. */
const SCOPE_KEYS_OF: Readonly<Record<SourceType, { keys: readonly string[]; filters: string }>> = {
  file: { keys: [], filters: "" },
  google: { keys: GOOGLE_SCOPE_KEYS, filters: "it filters the Google directory" },
  microsoft: { keys: MICROSOFT_SCOPE_KEYS, filters: "it filters the Microsoft Entra directory" },
};

/** How the users of each source.type are chosen, for a scope key written for another. */
const CHOOSE_USERS: Readonly<Record<SourceType, string>> = {
  file: "scope.groups",
  google: "scope.groups, scope.orgUnits or scope.query",
  microsoft:
    "scope.filter (an OData $filter on users, e.g. department eq 'Sales'), scope.assignedToApp (the users assigned to an enterprise application) or scope.groups",
};

/** Keys written for another source.type than the config's: `source.path` with google, `scope.orgUnits` with file. */
function checkKeysOfOtherSources(root: unknown): ConfigIssue[] {
  const type = sourceTypeOf(root);
  const source = valueAt(root, ["source"]);
  if (type === undefined || !isMapping(source)) return [];
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(source)) {
    const owners = SOURCE_TYPES.filter((t) => SOURCE_KEYS[t].includes(key));
    if (owners.length === 0 || owners.includes(type)) continue;
    issues.push({ path: `source.${key}`, message: `is for source.type ${owners.join(" or ")}; remove it (source.type is ${type})` });
  }
  for (const other of SOURCE_TYPES) {
    if (other === type) continue;
    for (const key of SCOPE_KEYS_OF[other].keys) {
      if (valueAt(root, ["scope", key]) === undefined) continue;
      issues.push({
        path: `scope.${key}`,
        message: `is only for source.type ${other} (${SCOPE_KEYS_OF[other].filters}); remove it, and choose the users of a ${type} source with ${CHOOSE_USERS[type]}`,
      });
    }
  }
  return issues;
}

/**
 * managedIdentity and workloadIdentity written as a mapping, judged here rather than by the
 * schema: inside its union the schema cannot name the section's own keys, nor tell a misspelt
 * key from a missing one. `sections` are the keys judged, whose schema issues this replaces.
 */
function checkIdentitySections(root: unknown, context: IssueContext): { sections: string[]; issues: ConfigIssue[] } {
  const source = valueAt(root, ["source"]);
  if (sourceTypeOf(root) !== "microsoft" || !isMapping(source)) return { sections: [], issues: [] };
  const sections: string[] = [];
  const issues: ConfigIssue[] = [];
  for (const section of ["managedIdentity", "workloadIdentity"] as const) {
    const value = source[section];
    if (!isMapping(value)) continue;
    const at = `source.${section}`;
    sections.push(at);
    const fields: Readonly<Record<string, string>> = IDENTITY_SECTION_KEYS[section];
    const names = Object.keys(fields);
    const meant = new Set<string>();
    for (const key of Object.keys(value)) {
      if (names.includes(key)) continue;
      const close = closestName(key, names);
      if (close) meant.add(close);
      issues.push({
        path: `${at}.${key}`,
        message: close ? `unknown key; did you mean "${close}"?` : `unknown key; the keys accepted in ${at} are ${names.join(", ")}`,
      });
    }
    for (const [name, expected] of Object.entries(fields)) {
      const path: KeyPath = ["source", section, name];
      const field = value[name];
      const valid = name === "clientId" ? typeof field === "string" && isGuid(field) : typeof field === "string" && field.trim() !== "";
      if (valid || (field === undefined && meant.has(name))) continue;
      const alternative = section === "managedIdentity" ? "; or write managedIdentity: true for the system-assigned identity" : "";
      const message =
        field === undefined ? `is required; ${expected}${alternative}` : `${expected}, got ${describeValue(path, context)}`;
      issues.push({ path: formatKeyPath(path), message });
    }
  }
  return { sections, issues };
}

/**
 * The config's own mapping.user entries judged with the attributes of its source.type (the
 * schema judged them with the file source's, which reads any extra.<name>). The preset's entries
 * are left alone: a preset serves every source, and where the source has nothing they read nothing.
 */
function checkMappingForSource(root: unknown, context: IssueContext): ConfigIssue[] {
  const type = sourceTypeOf(root);
  const entries = valueAt(root, ["mapping", "user"]);
  if (type === undefined || type === "file" || !Array.isArray(entries)) return [];
  const issues: ConfigIssue[] = [];
  entries.forEach((entry, i) => {
    if (!isMapping(entry)) return;
    for (const key of ["source", "default"]) {
      const text = entry[key];
      if (typeof text !== "string") continue;
      const problem = describeExpressionProblem("user", text, type);
      if (problem === undefined) continue;
      const path: KeyPath = ["mapping", "user", i, key];
      issues.push({ path: formatKeyPath(path), message: problem.split(GOT).join(describeValue(path, context)) });
    }
  });
  return issues;
}

/** Whether `key` of `source` is written, or misspelt (the misspelling is reported, so "is required" would be noise). */
function isWritten(source: Record<string, unknown>, key: string): boolean {
  const known = ["type", ...SOURCE_TYPES.flatMap((t) => SOURCE_KEYS[t])];
  return Object.keys(source).some((k) => k === key || (!known.includes(k) && closestName(k, known) === key));
}

/** Which keys a source.type needs, and which exclude each other. */
function checkSourceRules(root: unknown): ConfigIssue[] {
  const type = sourceTypeOf(root);
  const source = valueAt(root, ["source"]);
  if (type === undefined || !isMapping(source)) return [];
  const has = (key: string) => isWritten(source, key);
  if (type === "microsoft") return checkMicrosoftSourceRules(source, has);
  if (type === "file") {
    if (has("path")) return [];
    return [{ path: "source.path", message: "is required with source.type file; give the path of the directory file (.json or .csv), relative to this config file" }];
  }
  const credentials = has("credentials");
  const accessToken = has("accessToken");
  if (!credentials && !accessToken) {
    return [
      {
        path: "source",
        message:
          "needs source.credentials or source.accessToken to sign in to Google: credentials is the JSON key of a service account " +
          "with domain-wide delegation, written as ${file:./service-account.json}, with source.subject (the admin it acts as); " +
          "accessToken is a short-lived OAuth token minted elsewhere, written as ${env:NAME}",
      },
    ];
  }
  if (credentials && accessToken) {
    return [
      {
        path: "source",
        message:
          "has both source.credentials and source.accessToken; keep one: credentials (a service account key, with source.subject) " +
          "or accessToken (a short-lived token)",
      },
    ];
  }
  if (credentials && !has("subject")) {
    return [
      {
        path: "source.subject",
        message:
          "is required with source.credentials; give the email address of a Google Workspace admin the service account acts as, " +
          "through domain-wide delegation",
      },
    ];
  }
  if (accessToken && source.subject !== undefined) {
    return [{ path: "source.subject", message: "is not used with source.accessToken: the token already acts as its user; remove source.subject" }];
  }
  if (accessToken && source.tokenUrl !== undefined) {
    return [{ path: "source.tokenUrl", message: "is not used with source.accessToken: no token is requested; remove source.tokenUrl" }];
  }
  return [];
}

const CREDENTIAL_CHOICES =
  "clientSecret (a client secret of the app registration), certificatePath (a certificate of the app registration), " +
  "managedIdentity (the managed identity of the Azure machine scimsync runs on) or workloadIdentity (a federated token, e.g. AKS workload identity)";

function listKeys(keys: readonly string[]): string {
  const named = keys.map((key) => `source.${key}`);
  return named.length <= 1 ? named.join("") : `${named.slice(0, -1).join(", ")} and ${named.at(-1)}`;
}

function checkMicrosoftSourceRules(source: Record<string, unknown>, has: (key: string) => boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!has("tenantId")) {
    issues.push({
      path: "source.tenantId",
      message:
        "is required with source.type microsoft; give the directory (tenant) id, a GUID shown in the Microsoft Entra admin center " +
        "under Overview, or a verified domain name of the tenant such as contoso.onmicrosoft.com",
    });
  }
  const credentials = MICROSOFT_CREDENTIAL_KEYS.filter(has);
  if (credentials.length > 1) {
    issues.push({ path: "source", message: `has ${listKeys(credentials)}; keep one way to sign in: ${CREDENTIAL_CHOICES}` });
  } else if ((credentials[0] === "clientSecret" || credentials[0] === "certificatePath") && !has("clientId")) {
    const what = credentials[0] === "clientSecret" ? "secret" : "certificate";
    issues.push({
      path: "source.clientId",
      message:
        `is required with source.${credentials[0]}; give the application (client) id of the app registration the ${what} belongs to, ` +
        "a GUID (Microsoft Entra admin center > App registrations > the app > Overview)",
    });
  } else if (credentials[0] === "managedIdentity" && source.clientId !== undefined) {
    issues.push({
      path: "source.clientId",
      message:
        "is not used with source.managedIdentity: a managed identity is not an app registration; remove source.clientId, and for a " +
        "user-assigned identity write its client id as managedIdentity: { clientId: <GUID> }",
    });
  } else if (credentials.length === 0 && source.clientId !== undefined) {
    issues.push({
      path: "source.clientId",
      message:
        "is not used without a credential key: DefaultAzureCredential takes the client id from AZURE_CLIENT_ID; add source.clientSecret " +
        "or source.certificatePath of the app registration with this client id, or source.workloadIdentity, or remove source.clientId",
    });
  }
  if (source.certificatePassword !== undefined && !has("certificatePath")) {
    issues.push({
      path: "source.certificatePassword",
      message: "is used only with source.certificatePath (the password of its private key); remove it, or add source.certificatePath",
    });
  }
  return issues;
}

/** Rules that involve more than one key; each runs only when the keys it reads are valid on their own. */
function checkCrossKeyRules(root: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [...checkSourceRules(root)];

  const url = valueAt(root, ["target", "url"]);
  if (typeof url === "string" && describeUrlProblem(url) === undefined) {
    const parsed = new URL(url.trim());
    if (parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname) && valueAt(root, ["target", "allowInsecureHttp"]) !== true) {
      issues.push({ path: "target.url", message: URL_RULE });
    }
  }

  issues.push(...checkMappingRules(root));

  const assignedToApp = valueAt(root, ["scope", "assignedToApp"]);
  const clientId = valueAt(root, ["source", "clientId"]);
  if (
    sourceTypeOf(root) === "microsoft" &&
    typeof assignedToApp === "string" &&
    typeof clientId === "string" &&
    isGuid(assignedToApp) &&
    assignedToApp.trim().toLowerCase() === clientId.trim().toLowerCase()
  ) {
    issues.push({
      path: "scope.assignedToApp",
      message:
        "is source.clientId, an application (client) id; scope.assignedToApp needs the Object ID of the enterprise application " +
        "(its service principal) whose assigned users are provisioned: Microsoft Entra admin center > Enterprise applications > the app > Overview",
    });
  }

  for (const reason of DEPROVISION_REASONS) {
    const rule = valueAt(root, ["deprovision", reason]);
    if (!isMapping(rule)) continue;
    const suspendText = rule.suspend ?? "now";
    const deleteText = rule.delete ?? "never";
    if (typeof suspendText !== "string" || typeof deleteText !== "string") continue;
    const suspend = parseDelay(suspendText);
    const remove = parseDelay(deleteText);
    if (suspend === undefined || remove === undefined || suspend === "never") continue;
    if (compareDelays(remove, suspend) < 0) {
      const at = `deprovision.${reason}`;
      issues.push({
        path: `${at}.delete`,
        message:
          `${deleteText} is shorter than ${at}.suspend (${suspendText}), so users would be deleted before ` +
          `they are suspended; make delete at least ${suspendText}, or set suspend: never to delete without suspending first`,
      });
    }
  }
  return issues;
}

/**
 * Rules on the preset's mapping with the config's entries applied. Each part (preset, entries,
 * matching) is validated on its own by the schema; a rule runs only when the parts it reads are.
 */
function checkMappingRules(root: unknown): ConfigIssue[] {
  const preset = presetSchema.safeParse(valueAt(root, ["target", "preset"]));
  if (!preset.success) return [];
  const presetData = PRESETS[preset.data];
  const user = userMappingSchema.safeParse(valueAt(root, ["mapping", "user"]));
  const group = groupMappingSchema.safeParse(valueAt(root, ["mapping", "group"]));
  const matching = matchingSchema.safeParse(valueAt(root, ["mapping", "matching"]));
  const matchBy = matchBySchema.safeParse(valueAt(root, ["target", "matchBy"]));
  const issues: ConfigIssue[] = [];
  if (user.success) issues.push(...checkOverrides("user", presetData, user.data ?? [], "mapping.user"));
  // A preset without groups ignores mapping.group (with a warning), so it is not held against the preset.
  if (group.success && presetData.groups) issues.push(...checkOverrides("group", presetData, group.data ?? [], "mapping.group"));
  if (user.success && matching.success && matchBy.success) {
    issues.push(...checkMatching({ preset: presetData, overrides: user.data ?? [], matching: matching.data, matchBy: matchBy.data }));
  }
  return issues;
}

async function checkReferencedFiles(root: unknown, dir: string): Promise<ConfigIssue[]> {
  const caFile = valueAt(root, ["target", "tls", "caFile"]);
  if (typeof caFile !== "string" || caFile.trim() === "") return [];
  const file = resolve(dir, caFile);
  try {
    await access(file, constants.R_OK);
    if (!(await stat(file)).isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
  } catch (error) {
    return [
      {
        path: "target.tls.caFile",
        message: `cannot read ${file}: ${describeFsError(error)}; give a PEM file with the CA certificate(s), relative to this config file`,
      },
    ];
  }
  return [];
}

const CERTIFICATE_FIX = "give a PEM file holding a certificate of the app registration and its private key, relative to this config file";
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/;
const PRIVATE_KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[^-]*-----END \1-----/;
const NO_CHECK = { issues: [], warnings: [] };

/**
 * source.certificatePath read now rather than at the first sign-in: the file exists, holds a
 * certificate and its private key (in either order), the key opens with certificatePassword and
 * belongs to the certificate. Messages name the file, never its content.
 */
async function checkCertificateFile(
  root: unknown,
  dir: string,
  unresolved: ReadonlySet<string>,
): Promise<{ issues: ConfigIssue[]; warnings: string[] }> {
  const given = valueAt(root, ["source", "certificatePath"]);
  const checkable = typeof given === "string" && given.trim() !== "" && !isPemText(given) && !unresolved.has("source.certificatePath");
  if (sourceTypeOf(root) !== "microsoft" || !checkable) {
    return NO_CHECK;
  }
  const file = resolve(dir, given);
  let text: string;
  let mode: number;
  try {
    await access(file, constants.R_OK);
    const stats = await stat(file);
    if (!stats.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
    mode = stats.mode;
    text = await readFile(file, "utf8");
  } catch (error) {
    return { issues: [{ path: "source.certificatePath", message: `cannot read ${file}: ${describeFsError(error)}; ${CERTIFICATE_FIX}` }], warnings: [] };
  }
  const password = valueAt(root, ["source", "certificatePassword"]);
  const problem = describeCertificateProblem(text, {
    password: typeof password === "string" ? password : undefined,
    // An unresolved password has been reported; whether the key opens cannot be told.
    checkKey: !unresolved.has("source.certificatePassword"),
  });
  if (problem !== undefined) return { issues: [{ path: "source.certificatePath", message: `${file} ${problem}` }], warnings: [] };
  if (process.platform === "win32" || (mode & 0o077) === 0) return NO_CHECK;
  const octal = (mode & 0o777).toString(8).padStart(3, "0");
  return {
    issues: [],
    warnings: [`source.certificatePath: ${file} holds a private key and can be read by other users (mode ${octal}); restrict it with chmod 600 ${file}`],
  };
}

function describeCertificateProblem(text: string, options: { password: string | undefined; checkKey: boolean }): string | undefined {
  if (!text.includes("-----BEGIN")) {
    return `is not a PEM file (a .pfx or .cer file may be binary); convert it, e.g. openssl pkcs12 -in app.pfx -out app.pem -nodes, and ${CERTIFICATE_FIX}`;
  }
  const certificate = CERTIFICATE_BLOCK.exec(text)?.[0];
  if (certificate === undefined) return `holds no certificate (-----BEGIN CERTIFICATE-----); ${CERTIFICATE_FIX}`;
  const key = PRIVATE_KEY_BLOCK.exec(text);
  if (key === null) {
    return (
      "holds no private key (-----BEGIN PRIVATE KEY-----): the certificate alone cannot sign in; " +
      `put its private key in the same file, e.g. cat app.crt app.key > app.pem; ${CERTIFICATE_FIX}`
    );
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certificate);
  } catch {
    return `holds a certificate that cannot be read (damaged or cut short); ${CERTIFICATE_FIX}`;
  }
  if (!options.checkKey) return undefined;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: key[0], format: "pem", ...(options.password !== undefined ? { passphrase: options.password } : {}) });
  } catch (error) {
    const encrypted = key[1] === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(key[0]);
    if (encrypted && options.password === undefined) {
      return "holds an encrypted private key; give its password in source.certificatePassword, written as ${env:NAME}";
    }
    if (encrypted || (error as NodeJS.ErrnoException).code === "ERR_MISSING_PASSPHRASE") {
      return "holds a private key that source.certificatePassword does not open; check the password";
    }
    return `holds a private key that cannot be read (damaged or cut short); ${CERTIFICATE_FIX}`;
  }
  if (!x509.checkPrivateKey(privateKey)) {
    return `holds a private key that does not belong to its (first) certificate; put the certificate's own private key in the file; ${CERTIFICATE_FIX}`;
  }
  return undefined;
}

function collectWarnings(file: ConfigFile, root: unknown, references: ReadonlyMap<string, readonly string[]>): string[] {
  const warnings: string[] = [];
  const preset = PRESETS[file.target.preset];
  if (file.target.matchBy) {
    const use = `target.matchBy is deprecated; use mapping.matching: [${MATCH_BY_EQUIVALENT[file.target.matchBy].join(", ")}]`;
    warnings.push(
      matchByDropsExternalId(preset, file.mapping.user ?? [], file.target.matchBy)
        ? `${use}; target.matchBy: userName also stops sending externalId, as before; ` +
            "to keep that with mapping.matching, add { target: externalId, drop: true } to mapping.user"
        : use,
    );
  }
  if (!preset.groups) {
    // Only what was written: the default (scoped) is no request for groups.
    const asked = valueAt(root, ["provisionGroups"]);
    if (file.provisionGroups !== "none" && asked !== undefined) {
      warnings.push(`provisionGroups: ${file.provisionGroups} is ignored: ${preset.name} does not support groups, so none are provisioned`);
    }
    if ((file.mapping.group ?? []).length > 0) {
      warnings.push(`mapping.group is ignored: ${preset.name} does not support groups, so none are provisioned`);
    }
  }
  if (!references.has("target.token")) {
    warnings.push("target.token is written in the config file; prefer ${env:NAME} or ${file:PATH} so the secret stays out of it");
  }
  if (file.source.type === "google") {
    if (file.source.credentials !== undefined && !references.has("source.credentials")) {
      warnings.push(
        "source.credentials is written in the config file; prefer ${file:PATH} pointing at the downloaded key file, so the private key stays out of it",
      );
    }
    if (file.source.accessToken !== undefined && !references.has("source.accessToken")) {
      warnings.push("source.accessToken is written in the config file; prefer ${env:NAME} so the token stays out of it");
    }
  }
  if (file.source.type === "microsoft") {
    const source = file.source;
    if (MICROSOFT_CREDENTIAL_KEYS.every((key) => source[key] === undefined)) {
      warnings.push(
        "source.type microsoft: no credential given: DefaultAzureCredential is used (environment variables, workload identity, " +
          "managed identity, Azure CLI ...); to choose how scimsync signs in, set source.clientSecret, source.certificatePath, " +
          "source.managedIdentity or source.workloadIdentity",
      );
    }
    if (source.clientSecret !== undefined && !references.has("source.clientSecret")) {
      warnings.push("source.clientSecret is written in the config file; prefer ${env:NAME} or ${file:PATH} so the secret stays out of it");
    }
    if (source.certificatePassword !== undefined && !references.has("source.certificatePassword")) {
      warnings.push("source.certificatePassword is written in the config file; prefer ${env:NAME} so the password stays out of it");
    }
  }
  if (file.notify.webhook !== undefined && !references.has("notify.webhook.url")) {
    warnings.push(
      "notify.webhook.url is written in the config file; prefer ${env:NAME} or ${file:PATH}: a webhook URL carries the token that lets anyone post to the channel",
    );
  }
  const url = new URL(file.target.url.trim());
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    warnings.push(`target.url uses http:// to ${url.hostname} (target.allowInsecureHttp: true): the token travels unencrypted`);
  }
  if (!file.target.tls.rejectUnauthorized) {
    warnings.push("target.tls.rejectUnauthorized is false: the target's certificate is not checked; prefer target.tls.caFile");
  }
  return warnings;
}

function buildConfig(file: ConfigFile, dir: string): Config {
  const { target } = file;
  const preset = PRESETS[target.preset];
  const matching = resolveMatching(preset, file.mapping.matching, target.matchBy);
  return {
    source: buildSource(file.source, dir),
    target: {
      url: target.url.trim().replace(/\/+$/, ""),
      token: target.token,
      concurrency: target.concurrency,
      rateLimit: target.rateLimit,
      timeoutSeconds: target.timeoutSeconds,
      retries: target.retries,
      pageSize: target.pageSize,
      matchBy: matching.includes("externalId") ? "externalId" : "userName",
      tls: {
        rejectUnauthorized: target.tls.rejectUnauthorized,
        ...(target.tls.caFile ? { caFile: resolve(dir, target.tls.caFile) } : {}),
      },
      allowInsecureHttp: target.allowInsecureHttp,
      preset: preset.name,
      dialect: target.dialect ?? preset.dialect,
      maxMembersPerPatch: target.maxMembersPerPatch,
      readGroupMembers: target.readGroupMembers ?? preset.readGroupMembers,
      requireEmail: target.requireEmail ?? preset.requireEmail,
      groups: preset.groups,
    },
    state: { path: resolve(dir, file.state.path) },
    log: file.log.path === undefined ? {} : { path: resolve(dir, file.log.path) },
    scope: buildScope(file.scope),
    mapping: {
      user: mergeEntries(preset.user, userOverrides(preset, file.mapping.user ?? [], target.matchBy)),
      group: preset.groups ? mergeEntries(preset.group, file.mapping.group ?? []) : [],
      matching,
    },
    provisionGroups: preset.groups ? file.provisionGroups : "none",
    deprovision: Object.fromEntries(
      DEPROVISION_REASONS.map((reason) => [reason, toRule(file.deprovision[reason])]),
    ) as DeprovisionPolicy,
    groupDeprovision: { delete: parseDelay(file.deprovision.groups.delete) ?? "never" },
    safety: { ...file.safety },
    notify: file.notify.webhook === undefined ? {} : { webhook: { url: file.notify.webhook.url.trim(), on: [...new Set(file.notify.webhook.on)] } },
  };
}

/** The source as validated: the rules above have made sure each type has what it needs. */
function buildSource(source: ConfigFile["source"], dir: string): SourceConfig {
  if (source.type === "file") {
    if (source.path === undefined) throw new Error("source.path should have been checked by checkSourceRules");
    return { type: "file", path: resolve(dir, source.path) };
  }
  if (source.type === "microsoft") return buildMicrosoftSource(source, dir);
  const key = source.credentials === undefined ? undefined : readServiceAccountKey(source.credentials);
  if (key !== undefined && "problem" in key) throw new Error("source.credentials should have been checked by the schema");
  return {
    type: "google",
    customer: source.customer.trim(),
    ...(source.domain !== undefined ? { domain: source.domain.trim().toLowerCase() } : {}),
    ...(key !== undefined ? { serviceAccount: { ...key, subject: (source.subject ?? "").trim() } } : {}),
    ...(source.accessToken !== undefined ? { accessToken: source.accessToken } : {}),
    ...(source.apiRoot !== undefined ? { apiRoot: `${new URL(source.apiRoot.trim()).origin}/` } : {}),
    ...(source.tokenUrl !== undefined ? { tokenUrl: source.tokenUrl.trim() } : {}),
    archived: source.archived,
    showDeleted: source.showDeleted,
    concurrency: source.concurrency,
    timeoutSeconds: source.timeoutSeconds,
    retries: source.retries,
  };
}

function buildMicrosoftSource(source: ConfigFile["source"], dir: string): MicrosoftSourceConfig {
  if (source.tenantId === undefined) throw new Error("source.tenantId should have been checked by checkSourceRules");
  const fullSyncEvery = parseDelay(source.fullSyncEvery);
  if (typeof fullSyncEvery !== "number") throw new Error("source.fullSyncEvery should have been checked by the schema");
  const cloud = MICROSOFT_CLOUDS[source.cloud];
  const authorityHost = source.authorityHost === undefined ? undefined : new URL(source.authorityHost.trim());
  const clientId = source.clientId?.trim().toLowerCase();
  return {
    type: "microsoft",
    tenantId: source.tenantId.trim().toLowerCase(),
    ...(clientId !== undefined ? { clientId } : {}),
    credential: buildMicrosoftCredential(source, dir),
    cloud: source.cloud,
    authorityHost: authorityHost === undefined ? cloud.authorityHost : `${authorityHost.origin}${authorityHost.pathname.replace(/\/+$/, "")}`,
    authorityHostOverridden: authorityHost !== undefined,
    graphUrl: source.graphUrl === undefined ? cloud.graphUrl : new URL(source.graphUrl.trim()).origin,
    fullSyncEvery,
    concurrency: source.concurrency,
    timeoutSeconds: source.timeoutSeconds,
    retries: source.retries,
  };
}

function buildMicrosoftCredential(source: ConfigFile["source"], dir: string): MicrosoftSourceConfig["credential"] {
  if (source.clientSecret !== undefined) return { kind: "secret", clientSecret: source.clientSecret };
  if (source.certificatePath !== undefined) {
    return {
      kind: "certificate",
      certificatePath: resolve(dir, source.certificatePath),
      ...(source.certificatePassword !== undefined ? { certificatePassword: source.certificatePassword } : {}),
    };
  }
  const managed = source.managedIdentity;
  if (managed !== undefined) {
    return { kind: "managed-identity", ...(managed === true ? {} : { clientId: managed.clientId.trim().toLowerCase() }) };
  }
  const workload = source.workloadIdentity;
  if (workload !== undefined) {
    return { kind: "workload-identity", ...(workload === true ? {} : { tokenFilePath: resolve(dir, workload.tokenFilePath) }) };
  }
  return { kind: "default" };
}

function buildScope(scope: ConfigFile["scope"]): Config["scope"] {
  const groups = [...new Set((scope.groups ?? []).map((g) => g.trim()))];
  const orgUnits = [...new Set((scope.orgUnits ?? []).map(normalizeOrgUnitPath))];
  return {
    ...(groups.length > 0 ? { groups } : {}),
    ...(orgUnits.length > 0 ? { orgUnits } : {}),
    ...(scope.query !== undefined ? { query: scope.query.trim() } : {}),
    ...(scope.assignedToApp !== undefined ? { assignedToApp: scope.assignedToApp.trim().toLowerCase() } : {}),
    ...(scope.filter !== undefined ? { filter: scope.filter.trim() } : {}),
  };
}

function toRule(rule: { suspend: string; delete: string }): DeprovisionRule {
  // The schema has already checked both; the fallback only satisfies the type checker.
  const parse = (text: string, fallback: Delay): Delay => parseDelay(text) ?? fallback;
  return { suspend: parse(rule.suspend, 0), delete: parse(rule.delete, "never") };
}

/** Issues in the order their keys appear in the file, so they read top to bottom. */
function sortInFileOrder(issues: ConfigIssue[], root: unknown): ConfigIssue[] {
  const order = new Map<string, number>();
  const walk = (node: unknown, path: PropertyKey[]): void => {
    order.set(formatKeyPath(path), order.size);
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, [...path, i]));
    else if (isMapping(node)) for (const [key, value] of Object.entries(node)) walk(value, [...path, key]);
  };
  walk(root, []);
  const rank = (path: string): number => {
    for (let p = path; ; ) {
      const found = order.get(p);
      if (found !== undefined) return found;
      const parent = p.replace(/(\.[^.[\]]+|\[\d+\])$|^[^.[\]]+$/, "");
      if (parent === p) return 0;
      p = parent;
    }
  };
  return issues
    .map((issue, index) => ({ issue, index, rank: rank(issue.path) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.issue);
}
