/**
 * One SCIM exchange with everything around it: the shared rate limit, the cap on requests in
 * flight, the per-request deadline, retries by the rules in retry.ts, and the translation of
 * every failure into TargetError. The client above it only deals in resources.
 */
import { getCACertificates } from "node:tls";
import { Pool } from "undici";
import { errorCode, TargetError } from "../errors.js";
import { ConcurrencyLimit } from "./concurrency-limit.js";
import {
  classifyNetworkError,
  describeNetworkError,
  isTlsFailure,
  readScimError,
  redactToken,
  statusError,
  type NetworkFailure,
} from "./errors.js";
import { RateLimiter } from "./rate-limiter.js";
import {
  isJsonContentType,
  MAX_RESPONSE_HEADER_BYTES,
  mediaType,
  parseJson,
  readBodyText,
  ResponseTooLarge,
} from "./response-body.js";
import {
  backoffMs,
  isRetryableNetworkFailure,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  type HttpMethod,
} from "./retry.js";

export interface RequestEvent {
  method: string;
  /** The resource path without the query, which could carry a userName. */
  path: string;
  status?: number;
  /** 1 for the first try. */
  attempt: number;
  ms: number;
  error?: string;
}

export interface TransportOptions {
  baseUrl: string;
  token: string;
  concurrency: number;
  rateLimit: number;
  timeoutMs: number;
  retries: number;
  userAgent: string;
  rejectUnauthorized: boolean;
  ca?: string;
  onRequest?: (event: RequestEvent) => void;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export interface ScimRequest {
  method: HttpMethod;
  /** Relative to the base URL, already encoded: `/Users/abc`. */
  path: string;
  /** Values are URL-encoded here. */
  query?: Record<string, string | number>;
  body?: unknown;
  /** Non-2xx statuses the caller treats as success (a DELETE's 404). */
  acceptStatuses?: readonly number[];
  /**
   * The hint for a 404 that fails this request. Where a 404 can only mean that the path does
   * not exist (the listing, or an HTML 404 on a single user), it points at target.url.
   */
  notFoundHint?: string;
}

export interface ScimResponse {
  status: number;
  /** The parsed body; undefined when the body was empty. */
  json: unknown;
}

type Attempt =
  | { kind: "ok"; response: ScimResponse }
  | { kind: "failed"; error: TargetError; retryable: boolean; retryAfterMs?: number };

/** Marks our own deadline apart from any abort undici reports. */
class DeadlineExceeded extends Error {}

export class ScimTransport {
  readonly #options: TransportOptions;
  readonly #pool: Pool;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #limiter: RateLimiter;
  readonly #slots: ConcurrencyLimit;
  /**
   * The wait of a request that got a 429 or 503: such an answer is about the client as a whole,
   * so requests about to start wait with it instead of each running into the limit in turn
   * (16 connections would otherwise draw 16 refusals). The sleep itself is shared rather than a
   * deadline, so an injected sleep (tests) stays the only clock.
   */
  #pause: { until: number; done: Promise<void> } | undefined;
  #sent = 0;

  constructor(options: TransportOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TargetError("the target URL is not an absolute URL", { hint: "check target.url" });
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TargetError(`the target URL must be http or https, not ${url.protocol}`, { hint: "check target.url" });
    }
    this.#options = options;
    this.#origin = url.origin;
    this.#basePath = url.pathname.replace(/\/+$/, "");
    // undici's Pool follows no redirects: the token goes to target.url's origin and nowhere else.
    this.#pool = new Pool(url.origin, {
      connections: options.concurrency,
      // Fixed here rather than left to Node's --max-http-header-size, which NODE_OPTIONS can raise.
      maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
      connect: {
        rejectUnauthorized: options.rejectUnauthorized,
        // `ca` alone would replace the trusted roots; an extra CA is meant to be added to them.
        ...(options.ca ? { ca: [...getCACertificates("default"), options.ca] } : {}),
      },
    });
    // The burst is at most one second's worth and at most one request per connection: the first
    // requests of a run can start together, yet no window sees much more than the configured
    // rate, which matters for targets that count per second with a small burst (Slack: 20).
    const burst = Math.max(1, Math.min(options.concurrency, options.rateLimit));
    this.#limiter = new RateLimiter(options.rateLimit, burst);
    this.#slots = new ConcurrencyLimit(options.concurrency);
  }

  /** HTTP requests sent so far, retries included. */
  get sent(): number {
    return this.#sent;
  }

  async send(request: ScimRequest): Promise<ScimResponse> {
    const label = `${request.method} ${request.path}`;
    for (let attempt = 1; ; attempt++) {
      if (attempt === 1 && this.#pause) await this.#pause.done;
      const result = await this.#slots.run(() => this.#attempt(request, attempt));
      if (result.kind === "ok") return result.response;
      if (!result.retryable) throw result.error;
      if (attempt > this.#options.retries) {
        if (attempt === 1) throw result.error;
        throw rewrap(result.error, { message: `${result.error.message} (gave up after ${attempt} attempts)` });
      }
      if (result.retryAfterMs !== undefined && result.retryAfterMs > MAX_RETRY_AFTER_MS) {
        throw rewrap(result.error, {
          message:
            `${label}: ${result.error.status} and the target asked to wait ${Math.ceil(result.retryAfterMs / 1000)} s, ` +
            `longer than the ${MAX_RETRY_AFTER_MS / 1000} s scimsync waits`,
          hint: "run again later, or lower target.rateLimit",
        });
      }
      const waitMs = result.retryAfterMs ?? backoffMs(attempt, this.#options.random);
      const done = this.#options.sleep(waitMs);
      const until = performance.now() + waitMs;
      const pause = { until, done };
      const slowDown = result.error.status === 429 || result.error.status === 503;
      if (slowDown && (!this.#pause || this.#pause.until < until)) this.#pause = pause;
      await done;
      if (this.#pause === pause) this.#pause = undefined;
    }
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }

  async #attempt(request: ScimRequest, attempt: number): Promise<Attempt> {
    await this.#limiter.acquire();
    this.#sent++;
    const { method } = request;
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DeadlineExceeded()), this.#options.timeoutMs);
    let status: number | undefined;
    let result: Attempt;
    try {
      const response = await this.#pool.request({
        method,
        path: this.#fullPath(request),
        headers: this.#headers(request.body !== undefined),
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: deadline.signal,
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
      });
      status = response.statusCode;
      const text = await readBodyText(response.body, response.headers);
      result = this.#interpret(request, response.statusCode, response.statusText, response.headers, text);
    } catch (error) {
      result = this.#failure(request, error, status, deadline.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
    result = this.#withoutToken(result);
    this.#report({
      method,
      path: request.path,
      status,
      attempt,
      ms: Math.round(performance.now() - started),
      error: result.kind === "failed" ? result.error.message : undefined,
    });
    return result;
  }

  #interpret(
    request: ScimRequest,
    status: number,
    statusText: string,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ): Attempt {
    const label = `${request.method} ${request.path}`;
    if (status >= 200 && status < 300) {
      // A POST that got this far was applied; if we cannot read the result, the caller must
      // look the resource up rather than create it again.
      const ambiguous = request.method === "POST";
      if (text.trim() === "") return { kind: "ok", response: { status, json: undefined } };
      const contentType = headers["content-type"];
      const parsed = isJsonContentType(contentType) ? parseJson(text) : { ok: false as const };
      if (!parsed.ok) {
        // Often a proxy's or single sign-on page, which means the request never reached SCIM.
        // JSON under another content type is refused too (the type is what tells a SCIM answer
        // from a gateway's), and said so: "non-JSON" would send the reader after the body.
        const what = isJsonContentType(contentType)
          ? "a non-JSON body"
          : parseJson(text).ok
            ? `content type ${mediaType(contentType)} instead of JSON`
            : `a non-JSON (${mediaType(contentType)}) body`;
        return this.#fail(`${label}: target answered ${status} with ${what}`, { status, ambiguous });
      }
      const scimError = readScimError(parsed.value);
      if (scimError) {
        const inner = statusError(label, scimError.status ?? status, "", scimError);
        return { kind: "failed", error: rewrap(inner, { message: `${inner.message} (sent with HTTP ${status})`, ambiguous }), retryable: false };
      }
      return { kind: "ok", response: { status, json: parsed.value } };
    }

    const location = headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      return this.#redirected(request, status, Array.isArray(location) ? location[0]! : location);
    }
    const json = text.trim() === "" ? { ok: true as const, value: undefined } : parseJson(text);
    // Only a SCIM answer is trusted to mean "no such user": an HTML 404 points at a wrong URL.
    if (json.ok && request.acceptStatuses?.includes(status)) return { kind: "ok", response: { status, json: json.value } };
    const scimError = json.ok ? readScimError(json.value) : undefined;
    const retryable = isRetryableStatus(request.method, status);
    // A 5xx to a POST may come after the resource was stored (a crash while answering, a gateway
    // timing out); only a 503 says the target turned the request away.
    const ambiguous = request.method === "POST" && status >= 500 && status !== 503;
    const hint = status === 404 ? request.notFoundHint : undefined;
    const error = statusError(label, status, statusText, scimError, { ambiguous, hint });
    const retryAfterMs = parseRetryAfter(headers["retry-after"], Date.now());
    return retryAfterMs === undefined ? { kind: "failed", error, retryable } : { kind: "failed", error, retryable, retryAfterMs };
  }

  /**
   * A redirect is never followed, to another host or the same one: following it would hand the
   * token to an address that is not target.url. Where the new address ends with the requested
   * path, the base URL it implies is offered as the fix.
   */
  #redirected(request: ScimRequest, status: number, location: string): Attempt {
    const label = `${request.method} ${request.path}`;
    let where = "an unreadable Location";
    let hint = "check target.url: it must be the app's SCIM base URL itself, not an address that redirects";
    try {
      const next = new URL(location, `${this.#origin}${this.#fullPath(request)}`);
      // Origin and path only: the query may echo a filter with a userName, and userinfo a password.
      where = `${next.origin}${next.pathname}`;
      const suffix = next.pathname.replace(/\/+$/, "").endsWith(request.path) ? request.path : undefined;
      const base = suffix ? `${next.origin}${next.pathname.replace(/\/+$/, "").slice(0, -suffix.length)}` : undefined;
      if (base && base !== `${this.#origin}${this.#basePath}`) hint = `if ${base} is the app's SCIM base URL, set target.url to it`;
    } catch {
      // keep the generic words
    }
    // 307 and 308 say "send it there instead", so the POST was not processed here; after a 301,
    // 302 or 303 the target may have stored it and pointed at the result.
    const ambiguous = request.method === "POST" && status !== 307 && status !== 308;
    return this.#fail(`${label}: the target redirected (${status}) to ${where}; scimsync does not follow redirects`, {
      status,
      ambiguous,
      hint,
    });
  }

  #failure(request: ScimRequest, error: unknown, status: number | undefined, timedOut: boolean): Attempt {
    const label = `${request.method} ${request.path}`;
    if (error instanceof ResponseTooLarge) {
      return this.#fail(`${label}: ${error.message}`, {
        status,
        ambiguous: request.method === "POST",
        hint: "lower target.pageSize",
      });
    }
    const code = errorCode(error);
    let failure: NetworkFailure;
    let what: { text: string; hint?: string };
    if (timedOut || error instanceof DeadlineExceeded) {
      failure = "maybe-sent";
      what = { text: `no complete answer within ${this.#options.timeoutMs / 1000} s` };
    } else {
      what = describeNetworkError(code, status !== undefined);
      failure = classifyNetworkError(code);
      if (status !== undefined) {
        // The status line arrived, so the request was certainly sent; only the body went wrong.
        failure = failure === "fatal" ? "fatal" : "maybe-sent";
        what = { ...what, text: `target answered ${status} but its body was cut short (${what.text})` };
      }
    }
    const isPost = request.method === "POST";
    const ambiguous = isPost && failure !== "not-sent" && !isTlsFailure(code);
    const consequence = ambiguous ? `; the target may have created the ${createdNoun(request.path)}` : "";
    const failed = this.#fail(`${label}: ${what.text}${consequence}`, { status, ambiguous, hint: what.hint, cause: error });
    return { ...failed, retryable: isRetryableNetworkFailure(request.method, failure) };
  }

  #fail(
    message: string,
    fields: { status?: number; scimType?: string; detail?: string; ambiguous?: boolean; hint?: string; cause?: unknown },
  ): Attempt & { kind: "failed" } {
    return { kind: "failed", error: new TargetError(message, fields), retryable: false };
  }

  /** Every error leaves through here, so text a server echoed back cannot carry the token out. */
  #withoutToken(result: Attempt): Attempt {
    if (result.kind === "ok") return result;
    const { error } = result;
    const token = this.#options.token;
    const clean = (text: string | undefined) => (text === undefined ? undefined : redactToken(text, token));
    const fields = ["message", "detail", "scimType", "hint"] as const;
    if (fields.every((field) => clean(error[field]) === error[field])) return result;
    return {
      ...result,
      error: rewrap(error, { message: clean(error.message)!, detail: clean(error.detail), scimType: clean(error.scimType), hint: clean(error.hint) }),
    };
  }

  #fullPath(request: ScimRequest): string {
    const query = Object.entries(request.query ?? {})
      // encodeURIComponent, not URLSearchParams: a `+` for a space is not understood by every target.
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    return `${this.#basePath}${request.path}${query ? `?${query}` : ""}`;
  }

  #headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#options.token}`,
      accept: "application/scim+json, application/json",
      "user-agent": this.#options.userAgent,
    };
    if (hasBody) headers["content-type"] = "application/scim+json";
    return headers;
  }

  #report(event: RequestEvent): void {
    if (!this.#options.onRequest) return;
    try {
      this.#options.onRequest(event);
    } catch {
      // A progress hook must not turn a request that succeeded into a failure.
    }
  }
}

/** What a POST to `path` creates, for messages: our POSTs go to /Users and /Groups only. */
function createdNoun(path: string): string {
  return /^\/Groups(\/|$)/i.test(path) ? "group" : "user";
}

/** The same failure with some fields replaced, keeping its class (TargetAuthError stays one). */
function rewrap(
  error: TargetError,
  changes: { message: string; hint?: string; ambiguous?: boolean; detail?: string; scimType?: string },
): TargetError {
  const Kind = error.constructor as typeof TargetError;
  return new Kind(changes.message, {
    status: error.status,
    scimType: "scimType" in changes ? changes.scimType : error.scimType,
    detail: "detail" in changes ? changes.detail : error.detail,
    ambiguous: changes.ambiguous ?? error.ambiguous,
    hint: changes.hint ?? error.hint,
    cause: error.cause,
  });
}
