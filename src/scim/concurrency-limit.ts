/**
 * Caps the requests in flight. The undici Pool would queue excess requests by itself, but a
 * request waiting in that queue would already be running its timeout and holding a rate token.
 */
export class ConcurrencyLimit {
  readonly #max: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so #active does not change hands.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
