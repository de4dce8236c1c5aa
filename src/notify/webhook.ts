/**
 * POSTs a JSON body to an incoming webhook (Slack, Microsoft Teams, or anything that takes
 * `{"text": ...}`) over undici, with TLS verification on and no redirects followed. The URL is a
 * secret: what this module reports names the webhook's host, never its path or query.
 */
import { request, type Dispatcher } from "undici";
import { errorCode } from "../errors.js";
import { classifyNetworkError, describeNetworkError } from "../scim/errors.js";
import { defaultUserAgent } from "../scim/user-agent.js";

export interface WebhookOptions {
  /** Deadline of each attempt; default 10 s. */
  timeoutMs?: number;
  /** Pause before the one retry; default 1 s. */
  retryDelayMs?: number;
  /** Tests only: another dispatcher (one that trusts a test CA). TLS verification stays on. */
  dispatcher?: Dispatcher;
}

export type WebhookResult = { ok: true; attempts: number } | { ok: false; attempts: number; problem: string };

type Attempt = { ok: true } | { ok: false; retryable: boolean; problem: string };

/**
 * Sends `payload` once, and once more after a 5xx or a network failure. Never throws: the
 * caller turns a failure into a warning, since a notice that could not be sent must not change
 * how the run itself ended.
 */
export async function postWebhook(url: string, payload: unknown, options: WebhookOptions = {}): Promise<WebhookResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    return { ok: false, attempts: 0, problem: "notify.webhook.url is not an absolute URL" };
  }
  const body = JSON.stringify(payload);
  let attempt = 1;
  for (;;) {
    const result = await send(url, body, host, timeoutMs, options.dispatcher);
    if (result.ok) return { ok: true, attempts: attempt };
    if (!result.retryable || attempt >= 2) {
      return { ok: false, attempts: attempt, problem: attempt > 1 ? `${result.problem} (gave up after ${attempt} attempts)` : result.problem };
    }
    attempt++;
    await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 1000));
  }
}

async function send(url: string, body: string, host: string, timeoutMs: number, dispatcher: Dispatcher | undefined): Promise<Attempt> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "*/*", "user-agent": defaultUserAgent() },
      body,
      signal: deadline,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(dispatcher ? { dispatcher } : {}),
    });
    // The answer's body is of no interest (Slack says "ok"), but it must be read to free the connection.
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    const status = response.statusCode;
    if (status >= 200 && status < 300) return { ok: true };
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      return { ok: false, retryable: false, problem: `the webhook at ${host} redirected (${status}) to ${hostOf(location, url)}; redirects are not followed` };
    }
    return { ok: false, retryable: status >= 500, problem: `the webhook at ${host} answered ${status}` };
  } catch (error) {
    if (deadline.aborted) return { ok: false, retryable: true, problem: `the webhook at ${host} gave no answer within ${timeoutMs / 1000} s` };
    const code = errorCode(error);
    const failure = classifyNetworkError(code);
    return { ok: false, retryable: failure !== "fatal", problem: `could not reach the webhook at ${host}: ${describeNetworkError(code).text}` };
  }
}

/** The host a Location points at: like the webhook's own URL, its path may carry a secret. */
function hostOf(location: string | string[], base: string): string {
  try {
    return new URL(Array.isArray(location) ? location[0]! : location, base).host;
  } catch {
    return "an unreadable address";
  }
}
