/**
 * Turns Node's fs errors into StateError messages an administrator can act on. Adapters must
 * not leak raw `ENOENT: no such file or directory, open ...` errors (see src/core/ports.ts).
 */
import { errorCode, messageOf, StateError } from "../errors.js";

const HINTS: Record<string, (file: string) => string> = {
  EACCES: (file) => `check that the user running scimsync may read and write ${file} and its folder`,
  EPERM: (file) => `check that the user running scimsync may read and write ${file} and its folder`,
  EROFS: () => "the file system is read-only; point state.path at a writable location",
  ENOSPC: () => "the disk is full; free some space and run scimsync again",
  EDQUOT: () => "the disk quota is exhausted; free some space and run scimsync again",
  EISDIR: (file) => `${file} is a directory; point state.path at a file`,
  ENOTDIR: (file) => `a part of the path ${file} is a file, not a folder; fix state.path`,
};

/**
 * `doing` completes "cannot ...", e.g. "read the state file /x/state.json"; `consequence`, if
 * given, follows the error code, e.g. "the previous state is unchanged".
 */
export function stateFsError(doing: string, file: string, error: unknown, consequence?: string): StateError {
  const code = errorCode(error);
  const detail = code ?? messageOf(error);
  const hint = code ? HINTS[code]?.(file) : undefined;
  const tail = consequence ? `; ${consequence}` : "";
  return new StateError(`cannot ${doing} (${detail})${tail}`, { hint, cause: error });
}
