/**
 * Replacing a file so that a crash at any instant leaves either the old or the new content at
 * `path`, never a mix or nothing, and keeps the previous content as a backup.
 */
import { randomBytes } from "node:crypto";
import { link, lstat, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { errorCode } from "../errors.js";

export interface AtomicWriteOptions {
  /**
   * Written to `backup.path` (atomically too) before `path` is replaced. With `linkFrom`, the
   * backup is first tried as a hard link to that file (which must hold `content`): no copy of a
   * large state is written and synced, and the old file's blocks are already durable.
   */
  backup?: { path: string; content: string | Uint8Array; linkFrom?: string };
  /** Permission bits for the new file and the backup. */
  mode: number;
  /** Permission bits for parent folders that have to be created. */
  dirMode: number;
  /** Runs before each rename; a throw aborts the write there, as a crash would. */
  beforeRename?: (from: string, to: string) => void | Promise<void>;
}

/** A unique sibling name, so concurrent or crashed writers never share a temp file. */
export function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
}

/** Matches the names `tempPathFor` makes for `base` (a file name without folder). */
export function isTempFileOf(base: string, candidate: string): boolean {
  if (!candidate.startsWith(`${base}.`)) return false;
  return /^\d+\.[0-9a-f]{12}\.tmp$/.test(candidate.slice(base.length + 1));
}

/**
 * Order matters: the new content is durable in its temp file before anything is renamed; the
 * backup is replaced (by rename, so it is never half-written either) before the main file; the
 * folder is synced last so both renames survive a power cut. Temp files are removed on failure.
 * Errors are Node's own; the caller knows which file this was for and words the message.
 */
export async function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true, mode: options.dirMode });

  const temps: string[] = [];
  try {
    const temp = tempPathFor(path);
    temps.push(temp);
    await writeDurably(temp, content, options.mode);

    if (options.backup) {
      const backupTemp = tempPathFor(options.backup.path);
      temps.push(backupTemp);
      if (!(options.backup.linkFrom && (await linked(options.backup.linkFrom, backupTemp, options.mode, options.backup.content)))) {
        await writeDurably(backupTemp, options.backup.content, options.mode);
      }
      await options.beforeRename?.(backupTemp, options.backup.path);
      await rename(backupTemp, options.backup.path);
      // A rename between two links to one file succeeds and does nothing (POSIX), leaving the
      // temp link behind. That happens when a crash came between the two renames: the backup is
      // then already a link to the state file. Best effort: the next lock removes leftovers too.
      await unlink(backupTemp).catch(() => undefined);
      temps.pop();
    }

    await options.beforeRename?.(temp, path);
    await rename(temp, path);
    temps.pop();

    await syncFolder(folder);
  } catch (error) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw error;
  }
}

/**
 * false where the file system has no hard links, where `from` is not a plain file with the
 * backup's permissions (a file someone else created, a symbolic link), or where it no longer
 * holds `content` (someone wrote it since it was checked): the caller then writes a copy.
 */
async function linked(from: string, to: string, mode: number, content: string | Uint8Array): Promise<boolean> {
  try {
    const info = await lstat(from);
    if (!info.isFile() || (info.mode & 0o7777) !== mode) return false;
    await link(from, to);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "EMLINK" || code === "EXDEV") return false;
    throw error;
  }
  // The backup must be exactly what was checked; reading it back costs far less than writing it.
  const linkedText = await readFile(to);
  const expected = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  if (Buffer.compare(linkedText, expected) === 0) return true;
  await unlink(to).catch(() => undefined);
  return false;
}

async function writeDurably(path: string, content: string | Uint8Array, mode: number): Promise<void> {
  // `wx`: a name collision must fail rather than truncate somebody else's file.
  const handle = await open(path, "wx", mode);
  try {
    // open()'s mode is filtered by the umask; chmod makes the result exact either way.
    await handle.chmod(mode);
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames durable. Some platforms cannot fsync a folder; there is nothing more to do there. */
async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, "r");
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code === "EISDIR" || code === "EINVAL" || code === "EPERM" || code === "ENOTSUP" || code === "EBADF") return;
    throw error;
  } finally {
    await handle?.close();
  }
}
