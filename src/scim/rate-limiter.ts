/**
 * A token bucket shared by every request a client sends, retries included, so that a run never
 * asks more of the target than the configured rate however the requests interleave.
 */

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  /**
   * `perSecond` 0 means unlimited. `burst` is how many requests may start back to back after an
   * idle spell; any window of T seconds then sees at most `burst + perSecond * T` requests.
   */
  constructor(perSecond: number, burst: number, clock: Clock = realClock) {
    this.#perMs = perSecond / 1000;
    this.#burst = Math.max(1, burst);
    this.#clock = clock;
    this.#tokens = this.#burst;
    this.#updatedAt = clock.now();
  }

  /** Resolves when the caller may send one request. */
  async acquire(): Promise<void> {
    if (this.#perMs <= 0) return;
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#perMs);
    this.#updatedAt = now;
    // Taking the token now, even into debt, reserves a place in line: concurrent callers get
    // successive slots instead of all waking at the same instant and racing for one token.
    this.#tokens -= 1;
    if (this.#tokens < 0) await this.#clock.sleep(-this.#tokens / this.#perMs);
  }
}
