/**
 * The handful of typed errors scimsync raises. Adapters translate library errors into these;
 * the CLI entry point maps them to exit codes (see src/cli/exit-codes.ts).
 * `hint` is a next step for the administrator; messages never contain secrets.
 */

/** The message of anything thrown: an Error's message, otherwise its text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The system error code (ENOENT, ECONNRESET, ...) of an error, or of the first error it wraps
 * (`cause`, or the `errors` of an AggregateError, as undici and Node's connect attempts use).
 */
export function errorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const e = queue.shift();
    if (typeof e !== "object" || e === null || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    queue.push((e as { cause?: unknown }).cause);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return undefined;
}

export class ScimsyncError extends Error {
  readonly hint?: string;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

export interface ConfigIssue {
  /** Key path in the config file, e.g. `deprovision.deleted.delete`. */
  path: string;
  message: string;
}

/** The config file is missing, unreadable, or invalid. Lists every problem found. */
export class ConfigError extends ScimsyncError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], options?: { hint?: string; file?: string }) {
    const where = options?.file ? ` in ${options.file}` : "";
    const lines = issues.map((i) => `  - ${i.path || "(top level)"}: ${i.message}`);
    super(`invalid configuration${where}:\n${lines.join("\n")}`, { hint: options?.hint });
    this.issues = issues;
  }
}

/** The directory could not be read at all (missing file, unreadable, wrong format). */
export class SourceError extends ScimsyncError {}

/** A SCIM request failed. `status` is absent for network errors and timeouts. */
export class TargetError extends ScimsyncError {
  readonly status?: number;
  readonly scimType?: string;
  readonly detail?: string;
  /**
   * true when the request may have reached the server and been applied although we saw no
   * success (timeout, connection dropped after sending). A create in that state must be looked
   * up before it is tried again.
   */
  readonly ambiguous: boolean;
  constructor(
    message: string,
    options: { status?: number; scimType?: string; detail?: string; ambiguous?: boolean; hint?: string; cause?: unknown },
  ) {
    super(message, { hint: options.hint, cause: options.cause });
    this.status = options.status;
    this.scimType = options.scimType;
    this.detail = options.detail;
    this.ambiguous = options.ambiguous ?? false;
  }
}

/** The target answered 401 or 403: the token is wrong, expired or lacks rights. */
export class TargetAuthError extends TargetError {}

/** The state file is unreadable, invalid, from a newer scimsync, or belongs to another target. */
export class StateError extends ScimsyncError {}

/** Another scimsync run holds the state lock. */
export class LockedError extends ScimsyncError {}

/** The run was stopped by a signal (Ctrl-C, SIGTERM). */
export class InterruptedError extends ScimsyncError {}
