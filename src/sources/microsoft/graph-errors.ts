/**
 * What a failed Graph or token request means for the run. Graph throttles with 429, 503 and
 * 504 (with Retry-After); a missing permission is a 403 Authorization_RequestDenied, which
 * waiting cannot fix. Token errors come from @azure/identity with Entra's AADSTS codes.
 *
 * Error objects keep the request (and so the Authorization header) nowhere we could print:
 * messages are built from the status, Graph's error code and its own text.
 */
import type { SourceFailure } from "../source-calls.js";
import { clipMessage } from "../record-values.js";

/** The application permissions scimsync needs, by what is read. */
export const GRAPH_PERMISSIONS = {
  users: "User.Read.All",
  groups: "GroupMember.Read.All",
  assignments: "Application.Read.All",
} as const;

export type GraphListing = "users" | "userChanges" | "filteredUsers" | "groups" | "groupChanges" | "assignments" | "members";

export const GRAPH_LISTING_TEXT: Record<GraphListing, string> = {
  users: "list users",
  userChanges: "read the changes to users",
  filteredUsers: "list the users scope.filter matches",
  groups: "list groups",
  groupChanges: "read the changes to groups",
  assignments: "list the users and groups assigned to the app",
  members: "list group members",
};

const PERMISSION_OF: Record<GraphListing, string> = {
  users: GRAPH_PERMISSIONS.users,
  userChanges: GRAPH_PERMISSIONS.users,
  filteredUsers: GRAPH_PERMISSIONS.users,
  groups: GRAPH_PERMISSIONS.groups,
  groupChanges: GRAPH_PERMISSIONS.groups,
  members: GRAPH_PERMISSIONS.groups,
  assignments: GRAPH_PERMISSIONS.assignments,
};

export interface GraphFailureContext {
  listing: GraphListing;
  tenantId: string;
  clientId?: string;
  /** For members: the group; for assignments: the service principal. */
  subject?: string;
}

/**
 * A Graph answer that is not 2xx, read by us from the raw response: the client's own error
 * handling drops the headers (Retry-After) when the body is not Graph's JSON, as a gateway's
 * 503 often is not.
 */
export class GraphHttpError extends Error {
  readonly statusCode: number;
  readonly code: string | null;
  readonly retryAfter: string | undefined;
  constructor(statusCode: number, body: string, retryAfter: string | undefined) {
    let code: string | null = null;
    let message = "";
    try {
      const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
      if (typeof error?.code === "string") code = error.code;
      if (typeof error?.message === "string") message = error.message;
    } catch {
      // Not Graph's error JSON: the status says enough.
    }
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const THROTTLE_STATUSES = new Set([429, 503, 504]);
const DELTA_EXPIRED_CODES = new Set(["resyncrequired", "syncstatenotfound", "syncstateinvalid"]);

interface GraphErrorShape {
  statusCode?: number;
  code?: string | null;
  message?: string;
  retryAfter?: string;
}

/** Is this the answer to a delta link that has expired? */
export function isDeltaExpired(error: unknown): boolean {
  const e = error as GraphErrorShape;
  if (e?.statusCode === 410) return true;
  return e?.statusCode === 400 && DELTA_EXPIRED_CODES.has(String(e.code ?? "").toLowerCase());
}

export function classifyGraphFailure(error: unknown, context: GraphFailureContext): SourceFailure {
  const e = (error ?? {}) as GraphErrorShape;
  // An expired delta link is not a failure: the caller reads everything again.
  if ((context.listing === "userChanges" || context.listing === "groupChanges") && isDeltaExpired(error)) return { kind: "rethrow" };
  const what = `${GRAPH_LISTING_TEXT[context.listing]}${context.subject ? ` of ${context.subject}` : ""}`;
  const status = typeof e.statusCode === "number" && e.statusCode > 0 ? e.statusCode : undefined;
  const message = clip(typeof e.message === "string" ? e.message : String(error));
  if (status === undefined) return withoutStatus(e, message, what, context);

  const code = typeof e.code === "string" ? e.code : "";
  const graph = message ? ` (Graph says: ${code ? `${code}: ` : ""}${message})` : "";
  if (THROTTLE_STATUSES.has(status)) {
    return { kind: "throttled", what: `${what}: ${status}${code ? ` ${code}` : ""}`, ...(e.retryAfter ? { retryAfter: e.retryAfter } : {}) };
  }
  if (status >= 500 || status === 408) return { kind: "transient", what: `${what}: ${status}${code ? ` ${code}` : ""}` };
  if (status === 403) {
    const permission = PERMISSION_OF[context.listing];
    return {
      kind: "fatal",
      message: `cannot ${what}: the app lacks the application permission ${permission}${graph}`,
      hint:
        `in the Microsoft Entra admin center, open App registrations > ${context.clientId ?? "your app"} > API permissions, ` +
        `add Microsoft Graph > Application permissions > ${permission}, then "Grant admin consent"; scimsync needs ${Object.values(GRAPH_PERMISSIONS).join(", ")}`,
    };
  }
  if (status === 401) {
    return {
      kind: "fatal",
      message: `cannot ${what}: Graph did not accept the app's token (401)${graph}`,
      hint: "check source.tenantId and source.graphUrl (the token is for the cloud of source.cloud), and that the machine's clock is right",
    };
  }
  if (status === 404 && (context.listing === "members" || context.listing === "assignments")) {
    if (context.listing === "members") return { kind: "incomplete", what: `${what}: the group no longer exists (404)` };
    return {
      kind: "fatal",
      message: `cannot ${what}: there is no service principal ${context.subject ?? ""} in the tenant${graph}`,
      hint: "scope.assignedToApp takes the enterprise application's object id (Enterprise applications > your app > Overview > Object ID), not its application (client) id",
    };
  }
  if (status === 400 && context.listing === "filteredUsers") {
    return {
      kind: "fatal",
      message: `cannot ${what}: Graph rejected scope.filter${graph}`,
      hint: "fix scope.filter; it is an OData $filter on /users, e.g. accountEnabled eq true or department eq 'Sales'",
    };
  }
  return { kind: "fatal", message: `cannot ${what}: Graph answered ${status}${graph}`, hint: "see the Microsoft Entra ID section of the README" };
}

/** Errors without an HTTP answer: the network, a timeout, or the credential (token request) failing. */
function withoutStatus(e: GraphErrorShape, message: string, what: string, context: GraphFailureContext): SourceFailure {
  const name = String(e.code ?? "");
  if (name === "TimeoutError" || name === "AbortError") return { kind: "transient", what: `${what}: timed out` };
  // fetch reports every connection failure as a TypeError ("fetch failed", "terminated").
  if (name === "TypeError") return { kind: "transient", what: `${what}: ${message}` };
  const aadsts = /AADSTS(\d+)/.exec(message)?.[1];
  // The sign-in host could not be reached: a network matter, not a configuration one.
  if (!aadsts && /endpoints_resolution_error|network_error|ECONN|ETIMEDOUT|EAI_AGAIN|socket hang up|timed out|aborted/i.test(message)) {
    return { kind: "transient", what: `get a Graph token: ${message}` };
  }
  if (name === "AuthenticationError" || name === "CredentialUnavailableError" || name === "AggregateAuthenticationError" || aadsts) {
    return tokenFailure(aadsts, message, context);
  }
  return { kind: "fatal", message: `cannot ${what}: ${message}`, hint: "see the Microsoft Entra ID section of the README" };
}

/** Entra's sign-in errors an administrator meets most, with what to do about each. */
const AADSTS_HINTS: Record<string, string> = {
  "7000215": "source.clientSecret is not a valid secret of the app: copy the secret's Value (not its ID) from Certificates & secrets",
  "7000222": "the app's client secret has expired: create a new one under Certificates & secrets and update source.clientSecret",
  "700016": "source.clientId is not an application in this tenant: check source.clientId and source.tenantId",
  "90002": "source.tenantId names no tenant: use the Directory (tenant) ID from the app's Overview page",
  "700027": "the certificate is not one of the app's certificates: upload its public part under Certificates & secrets",
  "700024": "the client assertion is outside its valid time range: set this machine's clock right",
  "53003": "a Conditional Access policy blocks the app's sign-in: exclude the workload identity or allow its location",
};

function tokenFailure(aadsts: string | undefined, message: string, context: GraphFailureContext): SourceFailure {
  // MSAL wraps Entra's sentence in timestamps, trace and correlation ids: keep the sentence.
  const said = /AADSTS\d+:.*?(?= Trace ID:|$)/.exec(message)?.[0] ?? message;
  return {
    kind: "fatal",
    message: `cannot get a Graph token for the app${context.clientId ? ` ${context.clientId}` : ""} in tenant ${context.tenantId}: ${said.trim()}`,
    hint:
      (aadsts && AADSTS_HINTS[aadsts]) ??
      "check source.tenantId, source.clientId and the credential (clientSecret, certificatePath, managedIdentity or workloadIdentity); see the Microsoft Entra ID section of the README",
  };
}

function clip(text: string): string {
  return clipMessage(text, 400);
}
