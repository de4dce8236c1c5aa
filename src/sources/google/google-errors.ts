/**
 * What a failed Google request means for the run: wait and try again (throttling, a server
 * hiccup), or stop with an explanation an administrator can act on (a scope not granted, an
 * admin who is not one). Google signals throttling with 403 as well as 429, so the status
 * alone cannot tell a quota from a missing permission: the `reason` in the error body can.
 *
 * The library's error objects carry the request, Authorization header included, so nothing
 * here keeps them: messages are built from the status and Google's own error text.
 */
import { errorCode } from "../../errors.js";
import type { SourceFailure } from "../source-calls.js";
import { clipMessage } from "../record-values.js";

/** The read-only scopes scimsync asks for, one per kind of Directory resource it lists. */
export const GOOGLE_SCOPES = {
  users: "https://www.googleapis.com/auth/admin.directory.user.readonly",
  groups: "https://www.googleapis.com/auth/admin.directory.group.readonly",
  members: "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
  orgUnits: "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
} as const;

export type GoogleListing = keyof typeof GOOGLE_SCOPES | "deletedUsers" | "userQuery";

export const DELEGATION_PAGE = "https://admin.google.com/ac/owl/domainwidedelegation";

/** 403 reasons that mean "slow down", not "not allowed" (Directory API usage limits). */
const THROTTLE_REASONS = new Set(["userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"]);

export type GoogleFailure = SourceFailure;

/** Error codes of a connection that failed or broke: worth another try. Anything else without a status is not. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
]);

export interface FailureContext {
  listing: GoogleListing;
  /** How the run authenticates, for the hint. */
  auth: { kind: "service-account"; clientId?: string; clientEmail: string; subject: string } | { kind: "access-token" };
  customer: string;
  domain?: string;
  query?: string;
  /** The group whose members were being listed. */
  group?: string;
}

interface ErrorShape {
  status?: number;
  /** Google API errors: {error: {code, message, errors: [{reason}], status}}. OAuth errors: {error, error_description}. */
  data?: unknown;
  headers?: { get?(name: string): string | null } | Record<string, string | undefined>;
  url?: string;
}

function shapeOf(error: unknown): ErrorShape {
  const e = error as { status?: unknown; response?: { status?: unknown; data?: unknown; headers?: unknown }; config?: { url?: unknown } };
  const status = typeof e?.response?.status === "number" ? e.response.status : typeof e?.status === "number" ? e.status : undefined;
  return {
    ...(status !== undefined ? { status } : {}),
    data: e?.response?.data,
    ...(e?.response?.headers ? { headers: e.response.headers as ErrorShape["headers"] } : {}),
    ...(e?.config?.url !== undefined ? { url: String(e.config.url) } : {}),
  };
}

function header(shape: ErrorShape, name: string): string | undefined {
  const h = shape.headers;
  if (!h) return undefined;
  if (typeof (h as { get?: unknown }).get === "function") return (h as { get(n: string): string | null }).get(name) ?? undefined;
  return (h as Record<string, string | undefined>)[name];
}

/** Google's error body, read defensively: it is untrusted input, and a proxy may send HTML. */
function apiError(data: unknown): { message?: string; reasons: string[]; oauthError?: string; oauthDescription?: string } {
  let body = data;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      return { reasons: [] };
    }
  }
  const error = (body as { error?: unknown } | undefined)?.error;
  if (typeof error === "string") {
    const description = (body as { error_description?: unknown }).error_description;
    return { reasons: [], oauthError: error, ...(typeof description === "string" ? { oauthDescription: clip(description) } : {}) };
  }
  if (typeof error !== "object" || error === null) return { reasons: [] };
  const message = (error as { message?: unknown }).message;
  const errors = (error as { errors?: unknown }).errors;
  const reasons = Array.isArray(errors)
    ? errors.map((item) => (item as { reason?: unknown })?.reason).filter((r): r is string => typeof r === "string")
    : [];
  return { reasons, ...(typeof message === "string" ? { message: clip(message) } : {}) };
}

function clip(text: string): string {
  return clipMessage(text, 300);
}

export const LISTING_TEXT: Record<GoogleListing, string> = {
  users: "list users",
  userQuery: "list the users scope.query matches",
  deletedUsers: "list deleted users",
  groups: "list groups",
  members: "list group members",
  orgUnits: "list organizational units",
};

function scopeFor(listing: GoogleListing): string {
  return GOOGLE_SCOPES[listing === "deletedUsers" || listing === "userQuery" ? "users" : listing];
}

function allScopes(): string {
  return Object.values(GOOGLE_SCOPES).join(",");
}

/** Classifies a failed Directory API or token request. */
export function classifyGoogleFailure(error: unknown, context: FailureContext): GoogleFailure {
  const shape = shapeOf(error);
  const what = `${LISTING_TEXT[context.listing]}${context.group ? ` of ${context.group}` : ""}`;
  if (shape.status === undefined) {
    const code = errorCode(error);
    const name = (error as { name?: unknown })?.name;
    // gaxios reports an aborted fetch with the abort's name as its code.
    if ([name, code].some((n) => n === "TimeoutError" || n === "AbortError" || n === "ABORT_ERR")) return { kind: "transient", what: `${what}: timed out` };
    if (code !== undefined && (NETWORK_CODES.has(code) || code.startsWith("UND_ERR_"))) return { kind: "transient", what: `${what}: ${code}` };
    // Anything else happened on this side (a key the crypto library cannot use, a bug): waiting
    // would not change it. The message is the library's own; it never holds the key.
    const message = clip(error instanceof Error ? error.message : String(error));
    return {
      kind: "fatal",
      message: `cannot ${what}: ${message}${code ? ` (${code})` : ""}`,
      hint:
        context.auth.kind === "service-account"
          ? "check that source.credentials holds the service account's JSON key as downloaded from the Google Cloud console"
          : "see the Google Workspace section of the README",
    };
  }
  const body = apiError(shape.data);
  if (body.oauthError !== undefined || /\/token\b/.test(shape.url ?? "")) return tokenFailure(shape.status, body, context);

  const status = shape.status;
  if (status === 429 || (status === 403 && body.reasons.some((r) => THROTTLE_REASONS.has(r)))) {
    const retryAfter = header(shape, "retry-after");
    return { kind: "throttled", what: `${what}: ${status} ${body.reasons[0] ?? "rate limited"}`, ...(retryAfter ? { retryAfter } : {}) };
  }
  if (status >= 500 || status === 408) return { kind: "transient", what: `${what}: ${status}${body.message ? ` ${body.message}` : ""}` };

  const google = body.message ? ` (Google says: ${body.message})` : "";
  if (status === 403 && body.reasons.includes("accessNotConfigured")) {
    return {
      kind: "fatal",
      message: `cannot ${what}: the Admin SDK API is not enabled in the service account's Google Cloud project${google}`,
      hint: "enable it in the Google Cloud console (APIs & Services > Library > Admin SDK API > Enable), wait a few minutes, and run again",
    };
  }
  if (status === 404 && context.listing === "members") {
    // Deleted between the group listing and this read: the group is gone, not the run.
    return { kind: "incomplete", what: `${what}: the group no longer exists (404)` };
  }
  if (status === 403 && body.reasons.includes("dailyLimitExceeded")) {
    return {
      kind: "fatal",
      message: `cannot ${what}: the project's daily Directory API quota is used up${google}`,
      hint: "wait until the quota resets (midnight Pacific time) or ask for a higher quota in the Google Cloud console (APIs & Services > Admin SDK API > Quotas)",
    };
  }
  if (status === 403 && (body.reasons.includes("insufficientPermissions") || /insufficient authentication scopes/i.test(body.message ?? ""))) {
    const scope = scopeFor(context.listing);
    return {
      kind: "fatal",
      message: `cannot ${what}: the credentials lack the scope ${scope}${google}`,
      hint:
        context.auth.kind === "service-account"
          ? `in the Google Admin console, open Security > Access and data control > API controls > Manage Domain Wide Delegation (${DELEGATION_PAGE}), ` +
            `edit the entry of client id ${context.auth.clientId ?? `of ${context.auth.clientEmail}`} and make its scopes exactly: ${allScopes()}`
          : `mint the access token with the scopes ${allScopes()}`,
    };
  }
  if (status === 403) {
    const subject = context.auth.kind === "service-account" ? `the impersonated admin (source.subject ${context.auth.subject})` : "the user the access token belongs to";
    return {
      kind: "fatal",
      message: `cannot ${what}: Google refused it (403)${google}`,
      hint:
        `${subject} must be a Google Workspace admin allowed to read users, groups and organizational units of customer ${context.customer}` +
        `${context.domain ? ` and domain ${context.domain}` : ""}; check source.customer and source.domain, and the admin's role in the Admin console (Account > Admin roles)`,
    };
  }
  if (status === 401) {
    if (context.auth.kind === "access-token") return accessTokenRejected();
    return {
      kind: "fatal",
      message: `cannot ${what}: Google did not accept the service account's token (401)${google}`,
      hint: "check that the service account key is current (not deleted in the Google Cloud console) and that the machine's clock is right",
    };
  }
  if (status === 400 && context.listing === "userQuery") {
    return {
      kind: "fatal",
      message: `cannot ${what}: Google rejected scope.query${google}`,
      hint: "fix scope.query; it takes the Directory API's user search syntax, e.g. isAdmin=false or orgUnitPath='/Sales'",
    };
  }
  if (status === 404 || status === 400) {
    return {
      kind: "fatal",
      message: `cannot ${what}: Google answered ${status}${google}`,
      hint: `check source.customer (${context.customer}: my_customer or your customer id, Account > Account settings in the Admin console)${
        context.domain ? ` and source.domain (${context.domain}: one of the account's domains)` : ""
      }`,
    };
  }
  return { kind: "fatal", message: `cannot ${what}: Google answered ${status}${google}`, hint: "see the Google Workspace section of the README" };
}

function accessTokenRejected(): GoogleFailure {
  return {
    kind: "fatal",
    message: "Google rejected source.accessToken (401): it has expired or was revoked",
    hint: "mint a new token (they last about an hour) and run again, or use source.credentials with a service account key",
  };
}

function tokenFailure(status: number, body: ReturnType<typeof apiError>, context: FailureContext): GoogleFailure {
  if (status >= 500 || status === 429) return { kind: "transient", what: `get an access token: ${status}` };
  const said = body.oauthError ? ` (Google says: ${body.oauthError}${body.oauthDescription ? `: ${body.oauthDescription}` : ""})` : "";
  const auth = context.auth;
  if (auth.kind !== "service-account") return accessTokenRejected();
  if (body.oauthError === "unauthorized_client" || body.oauthError === "access_denied") {
    return {
      kind: "fatal",
      message: `the service account ${auth.clientEmail} is not authorized for domain-wide delegation with scimsync's scopes${said}`,
      hint:
        `in the Google Admin console, open Security > Access and data control > API controls > Manage Domain Wide Delegation (${DELEGATION_PAGE}), ` +
        `add client id ${auth.clientId ?? `(the service account's unique id)`} with the scopes ${allScopes()}; changes can take a few minutes to apply`,
    };
  }
  if (body.oauthError === "invalid_grant" && /email|user id|subject/i.test(body.oauthDescription ?? "")) {
    return {
      kind: "fatal",
      message: `Google does not know source.subject ${auth.subject}${said}`,
      hint: "set source.subject to the primary email of an existing admin of your Google Workspace account",
    };
  }
  if (body.oauthError === "invalid_grant" && /timeframe|short-lived|iat|exp/i.test(body.oauthDescription ?? "")) {
    return { kind: "fatal", message: `Google refused the token request because of the time in it${said}`, hint: "set this machine's clock right (use NTP)" };
  }
  return {
    kind: "fatal",
    message: `Google refused the service account's token request (${status})${said}`,
    hint: "check that the key in source.credentials is current: a key deleted in the Google Cloud console (IAM & Admin > Service accounts > Keys) stops working at once",
  };
}
