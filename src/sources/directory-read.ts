/**
 * One read of a directory: progress counts as pages arrive, and what could not be read.
 * Anything that could not be read makes the snapshot incomplete, which stops all
 * deprovisioning in the run (absence then proves nothing).
 */
import type { SourceProblem } from "../core/model.js";
import type { SourceProgress } from "../core/ports.js";
import { IncompleteReadError } from "./source-calls.js";

export class DirectoryRead {
  readonly problems: SourceProblem[] = [];
  readonly warnings: string[] = [];
  /** Ids of groups whose member list could not be read. */
  readonly unreadGroups = new Set<string>();
  complete = true;
  readonly #counts = new Map<SourceProgress["listing"], { pages: number; items: number }>();
  readonly #onProgress: ((progress: SourceProgress) => void) | undefined;

  constructor(onProgress: ((progress: SourceProgress) => void) | undefined) {
    this.#onProgress = onProgress;
  }

  /** Counts one more page of `listing` and reports the totals so far. */
  counter(listing: SourceProgress["listing"]): (items: unknown[]) => void {
    return (items) => {
      const count = this.#counts.get(listing) ?? { pages: 0, items: 0 };
      count.pages++;
      count.items += items.length;
      this.#counts.set(listing, count);
      this.#onProgress?.({ listing, ...count });
    };
  }

  incomplete(location: string, reason: string): void {
    this.complete = false;
    this.problems.push({ location, reason });
  }

  groupUnread(groupId: string, label: string, reason: string): void {
    this.unreadGroups.add(groupId);
    this.incomplete(`group ${label}`, `its members could not be read: ${reason}`);
  }

  /**
   * Runs a listing the read cannot do without. When it cannot be finished the snapshot is
   * incomplete, and `keepPartial` decides what stands for what was read: never more than the
   * listing would have given (a scope listing that failed admits fewer users, not more).
   */
  async attempt<T>(what: string, run: () => Promise<T>, keepPartial: (partial: unknown[]) => T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      this.incomplete(what, `it could not be read to the end: ${error.message}`);
      return keepPartial(error.partial);
    }
  }
}
