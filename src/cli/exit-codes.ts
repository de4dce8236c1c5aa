import { messageOf, ConfigError, InterruptedError, LockedError, ScimsyncError, SourceError, StateError, TargetAuthError, TargetError } from "../errors.js";

/** The one table of exit codes; the README repeats it. */
export const EXIT = {
  ok: 0,
  error: 1,
  changesPending: 2,
  actionsFailed: 3,
  safetyStop: 4,
  authRejected: 5,
  locked: 6,
  interrupted: 130,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof TargetAuthError) return EXIT.authRejected;
  if (error instanceof LockedError) return EXIT.locked;
  if (error instanceof InterruptedError) return EXIT.interrupted;
  // Config, source, state and target errors, and bugs: the run could not do its job.
  return EXIT.error;
}

/** A short word for the kind of failure, for JSON output and logs. */
export function errorKind(error: unknown): string {
  if (error instanceof ConfigError) return "config";
  if (error instanceof SourceError) return "source";
  if (error instanceof StateError) return "state";
  if (error instanceof TargetAuthError) return "auth";
  if (error instanceof TargetError) return "target";
  if (error instanceof LockedError) return "locked";
  if (error instanceof InterruptedError) return "interrupted";
  if (error instanceof ScimsyncError) return "error";
  return "bug";
}

/** How a fatal error appears in JSON output: its kind, its message and the hint if it has one. */
export function errorBody(error: unknown): { kind: string; message: string; hint?: string } {
  const body: { kind: string; message: string; hint?: string } = { kind: errorKind(error), message: messageOf(error) };
  if (error instanceof ScimsyncError && error.hint) body.hint = error.hint;
  return body;
}
