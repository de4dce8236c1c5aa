/**
 * Every call a directory source makes goes through here: one retry policy for throttling and
 * server hiccups (the client libraries' own retries are off, so the two never stack), one
 * pause shared by all calls in flight (when the directory says "slow down" to one read, the
 * others slow down too), and page-following for listings. What a failure means is the
 * source's to say (`classify`): Google and Graph signal the same things differently.
 */
import { SourceError } from "../errors.js";
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from "../scim/retry.js";

/** What a failed call means for the run. */
export type SourceFailure =
  | { kind: "throttled"; retryAfter?: string; what: string }
  | { kind: "transient"; what: string }
  /** Not worth repeating, and not the run's end either: this listing is left unread (the read is incomplete). */
  | { kind: "incomplete"; what: string }
  | { kind: "fatal"; message: string; hint: string }
  /** Not a failure of the call as such (an expired delta link): the error goes back to the caller as it is. */
  | { kind: "rethrow" };

/** Google's advice for its usage limits, and Graph's for throttling without Retry-After: start near a second and double. */
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 32_000;

/** A listing that could not be finished: the directory read is incomplete, but the run may go on without deprovisioning. */
export class IncompleteReadError extends Error {
  /** What a listing had read before it failed. */
  readonly partial: unknown[];
  constructor(message: string, partial: unknown[] = []) {
    super(message);
    this.partial = partial;
  }
}

/**
 * A 2xx answer that is not what the Directory API sends (HTML from a proxy, a list that is not
 * a list). Taking it for an empty page would make every user look deleted, so it is a failure,
 * retried like a server hiccup.
 */
export class UnexpectedResponseError extends Error {}

export interface CallPolicy<C> {
  classify: (error: unknown, context: C) => SourceFailure;
  /** Names a listing in messages: "users", "members of sales@example.com". */
  describe: (context: C) => string;
  /** Retries of one call after throttling or a transient failure. */
  retries: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
  /** Called before each wait, for the log. */
  onRetry?: (what: string, waitMs: number) => void;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string | null | undefined;
}

export class SourceCalls<C> {
  readonly #policy: CallPolicy<C>;
  /** No call starts before this time (ms): set by throttling, honoured by every caller. */
  #pausedUntil = 0;
  /** Calls made, retries included: for tests and the closing figures. */
  requests = 0;

  constructor(policy: CallPolicy<C>) {
    this.#policy = policy;
  }

  /**
   * Runs one call, retrying throttling and transient failures with backoff. A failure that
   * waiting cannot fix (a permission, a bad parameter) throws SourceError at once; running out
   * of retries throws IncompleteReadError.
   */
  async call<T>(context: C, request: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      const wait = this.#pausedUntil - this.#policy.now();
      if (wait > 0) await this.#policy.sleep(wait);
      try {
        this.requests++;
        return await request();
      } catch (error) {
        const failure =
          error instanceof UnexpectedResponseError ? { kind: "transient" as const, what: error.message } : this.#policy.classify(error, context);
        if (failure.kind === "rethrow") throw error;
        if (failure.kind === "fatal") throw new SourceError(failure.message, { hint: failure.hint });
        if (failure.kind === "incomplete") throw new IncompleteReadError(failure.what);
        if (retry >= this.#policy.retries) {
          throw new IncompleteReadError(`${failure.what}; gave up after ${retry + 1} attempt(s)`);
        }
        const asked = failure.kind === "throttled" ? parseRetryAfter(failure.retryAfter, Date.now()) : undefined;
        if (asked !== undefined && asked > MAX_RETRY_AFTER_MS) {
          throw new IncompleteReadError(`${failure.what}; the directory asked to wait ${Math.round(asked / 1000)} s, longer than scimsync waits`);
        }
        const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry);
        const backoff = step / 2 + (this.#policy.random() * step) / 2;
        const delay = Math.max(asked ?? 0, backoff);
        if (failure.kind === "throttled") this.#pausedUntil = Math.max(this.#pausedUntil, this.#policy.now() + delay);
        this.#policy.onRetry?.(failure.what, delay);
        if (failure.kind !== "throttled") await this.#policy.sleep(delay);
      }
    }
  }

  /**
   * Follows the next-page token (Google's nextPageToken, Graph's @odata.nextLink) to the end;
   * `onPage` sees each page as it arrives.
   */
  async listAll<T>(context: C, fetchPage: (pageToken: string | undefined) => Promise<Page<T>>, onPage?: (items: T[]) => void): Promise<T[]> {
    const all: T[] = [];
    const seenTokens = new Set<string>();
    let token: string | undefined;
    for (;;) {
      let page: Page<T>;
      try {
        page = await this.call(context, () => fetchPage(token));
      } catch (error) {
        if (error instanceof IncompleteReadError) throw new IncompleteReadError(error.message, all);
        throw error;
      }
      all.push(...page.items);
      onPage?.(page.items);
      const next = page.nextPageToken ?? undefined;
      if (!next) return all;
      // A token seen before would loop forever; the listing cannot be trusted past it.
      if (seenTokens.has(next)) throw new IncompleteReadError(`the ${this.#policy.describe(context)} listing repeated a page token`, all);
      seenTokens.add(next);
      token = next;
    }
  }
}
