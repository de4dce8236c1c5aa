/**
 * When a failed request is repeated, and how long to wait first.
 */
import type { NetworkFailure } from "./errors.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;
/** The longest Retry-After we sleep through; a target asking for more gets a clear error instead. */
export const MAX_RETRY_AFTER_MS = 120_000;

/**
 * Statuses worth repeating a GET, PUT, PATCH or DELETE for. A 500 is included: such a request may
 * be repeated freely (see isRetryableStatus), and one transient 500 on a single page of the
 * listing would otherwise end the whole run before anything is planned.
 */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
/**
 * Statuses after which a POST certainly was not applied: the target refused it before doing
 * anything (rate limited, unavailable). A 502 or 504 comes from a gateway that may have passed
 * the request on, so it proves nothing.
 */
const POST_RETRYABLE_STATUSES = new Set([429, 503]);

/**
 * GET, PUT, PATCH and DELETE may be repeated freely: a PUT sends the whole resource, our PATCH
 * operations set fixed values or add and remove members by id (RFC 7644 §3.5.2.1: adding a
 * value already present changes nothing), and a repeated DELETE ends in 404, which counts as
 * done. A POST may create a second resource, so it is repeated only when the target certainly
 * did not get it.
 */
export function isRetryableStatus(method: HttpMethod, status: number): boolean {
  return method === "POST" ? POST_RETRYABLE_STATUSES.has(status) : RETRYABLE_STATUSES.has(status);
}

export function isRetryableNetworkFailure(method: HttpMethod, failure: NetworkFailure): boolean {
  if (failure === "fatal") return false;
  return method !== "POST" || failure === "not-sent";
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed so a retry never fires
 * immediately, half is random so clients that failed together do not return together.
 * `retry` counts from 1.
 */
export function backoffMs(retry: number, random: () => number): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (retry - 1));
  return step / 2 + (random() * step) / 2;
}

/**
 * A Retry-After header (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) in milliseconds from
 * `nowMs` (wall clock, as the date is); undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
