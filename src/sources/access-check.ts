/**
 * One cheap read that proves a source's credentials and reachability, for test-connection and
 * reauthorize --source: a page of one user from Google or Graph, the whole file for a file.
 */
import { SourceError } from "../errors.js";
import { IncompleteReadError } from "./source-calls.js";

export type SourceAccess =
  /** `users`: how many users the read saw (a file's count; 0 or 1 for a page of one). */
  | { status: "ok"; users: number }
  /** No usable answer: the network, a timeout, throttling or server errors that outlasted the retries. */
  | { status: "unavailable"; error: SourceError }
  /** The directory answered and refused: credentials, permissions or settings; waiting will not help. */
  | { status: "refused"; error: SourceError };

export interface SourceAccessCheck {
  checkAccess(): Promise<SourceAccess>;
}

/**
 * Runs a probe made of SourceCalls: a failure worth retrying that outlasted the retries
 * (IncompleteReadError) is `unavailable`, one that waiting cannot fix (SourceError) `refused`.
 */
export async function probeAccess(probe: () => Promise<number>): Promise<SourceAccess> {
  try {
    return { status: "ok", users: await probe() };
  } catch (error) {
    if (error instanceof IncompleteReadError) return { status: "unavailable", error: new SourceError(error.message) };
    if (error instanceof SourceError) return { status: "refused", error };
    throw error;
  }
}
