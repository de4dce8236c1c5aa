/**
 * Turns what went wrong on the wire into our typed errors. Every message names the method and
 * the resource path (never the query, which can hold a userName, and never the token).
 */
import { TargetAuthError, TargetError } from "../errors.js";

const SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/** What to do about a 401 or 403; the config file is not known down here, so callers that know it say it. */
export function authHint(configFile = "<file>"): string {
  return `the target rejected the token; run \`scimsync reauthorize --config ${configFile}\` to test and store a new one`;
}

export const AUTH_HINT = authHint();

export interface ScimErrorBody {
  status?: number;
  scimType?: string;
  detail?: string;
}

/** The fields of an RFC 7644 §3.12 error body, or undefined when `json` is not one. */
export function readScimError(json: unknown): ScimErrorBody | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const body = json as Record<string, unknown>;
  const schemas = Array.isArray(body.schemas) ? body.schemas : [];
  if (!schemas.includes(SCIM_ERROR_SCHEMA)) return undefined;
  const error: ScimErrorBody = {};
  // RFC 7644 makes status a string; many servers send a number.
  const status = typeof body.status === "number" ? body.status : Number.parseInt(String(body.status ?? ""), 10);
  if (Number.isInteger(status)) error.status = status;
  if (typeof body.scimType === "string" && body.scimType !== "") error.scimType = body.scimType;
  if (typeof body.detail === "string" && body.detail !== "") error.detail = body.detail;
  return error;
}

/** A non-success HTTP status as a TargetError; 401 and 403 become TargetAuthError. */
export function statusError(
  request: string,
  status: number,
  statusText: string,
  body: ScimErrorBody | undefined,
  options: { ambiguous?: boolean; hint?: string } = {},
): TargetError {
  const scimType = body?.scimType;
  const detail = body?.detail;
  const head = [String(status), scimType].filter(Boolean).join(" ");
  const tail = detail ?? (scimType ? undefined : statusText || undefined);
  const message = `${request}: ${head}${tail ? `: ${tail}` : ""}`;
  const fields = { status, scimType, detail, ambiguous: options.ambiguous, hint: options.hint };
  if (status === 401 || status === 403) return new TargetAuthError(message, { ...fields, hint: AUTH_HINT });
  return new TargetError(message, fields);
}

/**
 * How far a failed exchange got. `not-sent`: the connection failed before any byte of the
 * request left, so even a POST can be repeated. `maybe-sent`: the server may have received and
 * applied it. `fatal`: repeating cannot help (TLS trust, a closed client, a malformed answer).
 */
export type NetworkFailure = "not-sent" | "maybe-sent" | "fatal";

const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);

const MAYBE_SENT_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/**
 * A failed TLS handshake: the certificate is refused before any request byte leaves, so even
 * a POST was certainly not applied. Still `fatal`, since repeating it changes nothing.
 */
export function isTlsFailure(code: string | undefined): boolean {
  return code !== undefined && TLS_CODE.test(code);
}

export function classifyNetworkError(code: string | undefined): NetworkFailure {
  if (code && NOT_SENT_CODES.has(code)) return "not-sent";
  if (code && MAYBE_SENT_CODES.has(code)) return "maybe-sent";
  return "fatal";
}

/**
 * A network failure in words, with a hint where the administrator can act. `answered`: the
 * status line had arrived, so the failure hit the body.
 */
export function describeNetworkError(code: string | undefined, answered = false): { text: string; hint?: string } {
  switch (code) {
    case "ECONNREFUSED":
      return { text: "connection refused", hint: "check target.url and that the target is reachable" };
    case "UND_ERR_CONNECT_TIMEOUT":
      return { text: "connect timed out", hint: "check target.url and that the target is reachable" };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { text: "host name not found", hint: "check the host in target.url" };
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
    case "EPIPE":
    case "ECONNABORTED":
      return { text: answered ? "connection closed by the target" : "connection closed by the target before it answered" };
    case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
      return { text: "response body was truncated" };
    case "UND_ERR_HEADERS_OVERFLOW":
      return { text: "the response headers are larger than scimsync accepts" };
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
    case "ETIMEDOUT":
      return { text: "the target stopped answering" };
    case undefined:
      return { text: "request failed" };
  }
  // llhttp's codes: the bytes that came back are not an HTTP response.
  if (code.startsWith("HPE_")) return { text: `the answer is not valid HTTP (${code})` };
  if (TLS_CODE.test(code)) {
    return {
      text: `TLS verification failed (${code})`,
      hint: "trust the target's certificate authority with target.tls.caFile (or, for a test target only, set target.tls.rejectUnauthorized: false)",
    };
  }
  return { text: `network error ${code}` };
}

/**
 * Removes the token from text that came from elsewhere (a server's error detail could echo the
 * Authorization header). Very short tokens are left alone: they would match ordinary words.
 */
export function redactToken(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join("[redacted]") : text;
}
