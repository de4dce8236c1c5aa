import type { StateStore, StoredState } from "../../src/core/ports.js";

/** A state store in memory, for engine tests: each read gets a copy, as from a file. */
export class MemoryStore implements StateStore {
  state: StoredState | undefined;
  writes = 0;
  async lock() {}
  async unlock() {}
  async read(targetUrl: string) {
    return { state: structuredClone(this.state) ?? { targetUrl, users: {}, groups: {}, serial: 0 }, warnings: [] };
  }
  async write(state: StoredState) {
    this.writes++;
    this.state = structuredClone(state);
  }
}
