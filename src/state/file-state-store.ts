/**
 * The state file: which target users and groups scimsync created or adopted, since when each
 * deprovisioning condition holds, and which objects keep failing (escrow). It is what keeps scimsync from deleting accounts it does not
 * manage, so every path here errs towards refusing to run rather than guessing.
 *
 * Files beside `<path>`: `<path>.bak` (the previous good state), `<path>.lock/` (the run lock,
 * see run-lock.ts) and, only while a write is in flight or after a crash, `<path>.<pid>.<hex>.tmp`.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { StateStore, StoredState } from "../core/ports.js";
import { StateError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { stateFsError } from "./fs-error.js";
import { errorCode, messageOf } from "../errors.js";
import { lostLockError, RunLock } from "./run-lock.js";
import { parseStateFile, STATE_VERSION, serializeStateFile } from "./schema.js";
import { normaliseTargetUrl, redactTargetUrl, sameTarget } from "./target-url.js";

export { STATE_VERSION } from "./schema.js";

export interface FileStateStoreOptions {
  /**
   * A lock not refreshed for this long belongs to a dead run and is taken over. Default 60000
   * (a paused VM or a long GC must not hand the lock to another run), minimum 2000. A lock
   * whose owner process on this host has exited is taken over at once regardless.
   */
  staleLockMs?: number;
  /** Things the administrator should know that do not stop the run (a lock taken over, a lost lock). */
  onWarning?: (message: string) => void;
  /**
   * Called once when the run lock is lost while held (another run took it over, or it could not
   * be refreshed in time), after the `onWarning` that names the lock; `reason` is the bare cause,
   * e.g. "Unable to update lock within the stale threshold". The next write refuses either way;
   * this lets the run stop before its next change to the target. It runs from a timer and must
   * not throw (a throw is reported through `onWarning`).
   */
  onLockLost?: (reason: string) => void;
  /** Runs before each rename of a write; a throw aborts the write there. For crash tests. */
  beforeRename?: (from: string, to: string) => void | Promise<void>;
}

const DEFAULT_STALE_LOCK_MS = 60_000;

type DiskState =
  | { kind: "missing" }
  | { kind: "ok"; state: StoredState; text: string }
  | { kind: "newer"; version: number }
  | { kind: "invalid"; reason: string };

export class FileStateStore implements StateStore {
  private readonly path: string;
  private readonly backupPath: string;
  private readonly runLock: RunLock;
  private readonly beforeRename: FileStateStoreOptions["beforeRename"];
  /**
   * The serial this store last saw in `<path>` (read or written); undefined when unknown. A
   * different serial on disk at write time means someone else wrote the file meanwhile.
   */
  private expectedSerial: number | undefined;
  /**
   * The text this store last read from or wrote to `<path>`. When the file still holds exactly
   * that, a write need not parse it again to know its serial (a large state takes a while).
   */
  private knownText: string | undefined;
  /** Writes run one after another: a checkpoint timer and the final save may overlap. */
  private writing: Promise<void> = Promise.resolve();

  constructor(path: string, options: FileStateStoreOptions = {}) {
    // Resolved once so a later chdir cannot move the state, the backup or the lock apart.
    this.path = resolve(path);
    this.backupPath = `${this.path}.bak`;
    this.beforeRename = options.beforeRename;
    this.runLock = new RunLock(this.path, {
      staleMs: options.staleLockMs ?? DEFAULT_STALE_LOCK_MS,
      onWarning: options.onWarning ?? (() => undefined),
      onLockLost: options.onLockLost,
    });
  }

  async lock(): Promise<void> {
    await this.runLock.acquire();
  }

  async unlock(): Promise<void> {
    await this.runLock.releaseLock();
  }

  async read(targetUrl: string): Promise<{ state: StoredState; warnings: string[] }> {
    const warnings: string[] = [];
    const main = await this.load(this.path);
    let state: StoredState;

    switch (main.kind) {
      case "missing": {
        await this.refuseOrphanedBackup();
        state = { targetUrl, users: {}, groups: {}, serial: 0 };
        this.expectedSerial = 0;
        break;
      }
      case "newer":
        throw newerVersionError(this.path, main.version);
      case "ok":
        state = main.state;
        this.expectedSerial = main.state.serial;
        this.knownText = main.text;
        break;
      case "invalid": {
        const backup = await this.load(this.backupPath);
        if (backup.kind === "newer") throw newerVersionError(this.backupPath, backup.version);
        if (backup.kind !== "ok") {
          const why = backup.kind === "missing" ? "there is no backup" : `the backup ${this.backupPath} is damaged too (${backup.reason})`;
          throw new StateError(`state file ${this.path} is damaged (${main.reason}) and ${why}`, {
            hint:
              `restore ${this.path} from a backup of your own, or move it away to start over: ` +
              `scimsync will then adopt the users it finds on the target by matching them again, and restart every deprovisioning delay`,
          });
        }
        warnings.push(
          `state file ${this.path} is damaged (${main.reason}); using the backup ${this.backupPath} from serial ${backup.state.serial}`,
        );
        state = backup.state;
        // `<path>` holds no serial we can compare against; the next write replaces it.
        this.expectedSerial = undefined;
        break;
      }
    }

    if (!sameTarget(state.targetUrl, targetUrl)) {
      throw new StateError(
        `state file ${this.path} belongs to target ${normaliseTargetUrl(state.targetUrl)}, ` +
          `but the config points at ${normaliseTargetUrl(targetUrl)}; use a separate state.path per target`,
        { hint: "each target needs its own state file; sharing one would deprovision users on the wrong target" },
      );
    }
    return { state, warnings };
  }

  /**
   * Writes `state` with serial `max(state.serial, serial last read) + 1` and sets `state.serial`
   * to that number, so the caller can keep writing the same object. The current file becomes
   * `<path>.bak` only if it is a valid state: a damaged file never replaces a good backup.
   * Refuses (StateError) after the run lock was lost, when the file on disk is from a newer
   * scimsync, or when another process wrote it since this store read it.
   */
  write(state: StoredState): Promise<void> {
    const done = this.writing.then(() => this.writeNow(state));
    this.writing = done.catch(() => undefined);
    return done;
  }

  private async writeNow(state: StoredState): Promise<void> {
    const lost = this.runLock.lost;
    if (lost !== undefined) throw lostLockError(this.runLock.lockPath, this.path, lost);

    // When the file still holds exactly what this store last read or wrote, it is known to be
    // valid with the expected serial, and a large state is not parsed again.
    const current = await this.load(this.path, this.knownText);
    if (current.kind === "newer") throw newerVersionError(this.path, current.version);
    if (current.kind === "ok") {
      const expected = this.expectedSerial ?? state.serial;
      if (current.state.serial !== expected) {
        throw new StateError(
          `state file ${this.path} changed while this run was using it (serial ${current.state.serial} on disk, ` +
            `${expected} when read); not overwriting it`,
          { hint: "another scimsync run or a person wrote it; run scimsync again to plan from the current state" },
        );
      }
    }

    const serial = Math.max(state.serial, this.expectedSerial ?? 0) + 1;
    const serialized = serializeStateFile({ ...state, targetUrl: redactTargetUrl(state.targetUrl), serial });
    if ("invalid" in serialized) {
      throw new StateError(`refusing to write an invalid state to ${this.path}: ${serialized.invalid}`, {
        hint: "this is a bug in scimsync; the previous state file is unchanged",
      });
    }

    try {
      await writeFileAtomic(this.path, serialized.text, {
        mode: 0o600,
        dirMode: 0o700,
        backup: current.kind === "ok" || current.kind === "unchanged" ? { path: this.backupPath, content: current.text, linkFrom: this.path } : undefined,
        beforeRename: this.beforeRename,
      });
    } catch (error) {
      throw stateFsError(`write the state file ${this.path}`, this.path, error, "the previous state is unchanged");
    }
    state.serial = serial;
    this.expectedSerial = serial;
    this.knownText = serialized.text;
  }

  /**
   * A backup without its state file means the state was lost (deleted by hand, a restore that
   * missed a file), not that this is the first run. Starting empty would adopt every target user
   * again and forget the pending deprovisionings, and the first write would hide that it
   * happened; so the administrator decides, whatever shape the backup is in.
   */
  private async refuseOrphanedBackup(): Promise<void> {
    let backup: DiskState | { kind: "unreadable"; reason: string };
    try {
      backup = await this.load(this.backupPath);
    } catch (error) {
      // load() wrapped the fs error; its code (EACCES, EISDIR), found through the cause, is what the administrator needs.
      backup = { kind: "unreadable", reason: errorCode(error) ?? messageOf(error) };
    }
    if (backup.kind === "missing") return;

    const what =
      backup.kind === "ok"
        ? ` (serial ${backup.state.serial})`
        : backup.kind === "newer"
          ? ` (written by a newer scimsync, version ${backup.version})`
          : backup.kind === "invalid"
            ? ` and is damaged (${backup.reason})`
            : ` and cannot be read (${backup.reason})`;
    const restore =
      backup.kind === "ok"
        ? `restore it with: cp ${shellWord(this.backupPath)} ${shellWord(this.path)}`
        : backup.kind === "newer"
          ? `upgrade scimsync and restore it with: cp ${shellWord(this.backupPath)} ${shellWord(this.path)}`
          : `restore ${this.path} from a backup of your own`;
    throw new StateError(`state file ${this.path} is missing, but its backup ${this.backupPath} exists${what}`, {
      hint:
        `${restore} — or, to start over on purpose (every target user will be matched and adopted again, ` +
        `pending deprovisionings forgotten), delete ${shellWord(this.backupPath)}`,
    });
  }

  /** With `known`: text that matches it was checked before, and is not parsed again. */
  private async load(file: string): Promise<DiskState>;
  private async load(file: string, known: string | undefined): Promise<DiskState | { kind: "unchanged"; text: string }>;
  private async load(file: string, known?: string): Promise<DiskState | { kind: "unchanged"; text: string }> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if (errorCode(error) === "ENOENT") return { kind: "missing" };
      throw stateFsError(`read the state file ${file}`, file, error);
    }
    if (known !== undefined && text === known) return { kind: "unchanged", text };
    const parsed = parseStateFile(text);
    if (parsed.kind === "ok") return { kind: "ok", state: parsed.state, text };
    return parsed;
  }
}

function newerVersionError(file: string, version: number): StateError {
  return new StateError(`state file ${file} was written by a newer scimsync (version ${version}); upgrade scimsync`, {
    hint: `this scimsync reads state versions up to ${STATE_VERSION}; the file was left untouched`,
  });
}

/** `path` as one word for a POSIX shell, so a hint can be pasted as it is. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}
