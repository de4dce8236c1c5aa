/**
 * The exclusive lock a run holds on its state file, from before the state is read until after
 * it is written, so two runs never plan from the same state and both apply.
 *
 * proper-lockfile does the locking: `mkdir <path>.lock` (atomic), a heartbeat that refreshes the
 * folder's mtime, and taking over a lock whose mtime is older than `stale`. On top of it we keep
 * `<path>.lock/owner.json` (pid, host, start time) so that a refused run can say who holds the
 * lock, and so that a lock left by a dead process on this host is taken over at once instead of
 * after `stale`. The owner file lives inside the lock folder so it can never outlive the lock it
 * describes or be mistaken for the owner of a newer one.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import lockfile from "proper-lockfile";
import { LockedError, StateError } from "../errors.js";
import { isTempFileOf } from "./atomic-write.js";
import { stateFsError } from "./fs-error.js";
import { errorCode, messageOf } from "../errors.js";

export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** Tells this lock apart from a later one by a process that happens to reuse the pid. */
  token: string;
}

export interface RunLockOptions {
  staleMs: number;
  onWarning: (message: string) => void;
  /** Called once per lost lock with proper-lockfile's reason, after `onWarning`; must not throw. */
  onLockLost?: (reason: string) => void;
}

/**
 * The heartbeat never waits longer than this, whatever `staleMs` is: the longer a pause (a
 * suspended VM, a long GC) may last before another run takes the lock over, the better.
 */
const MAX_REFRESH_MS = 10_000;

const OWNER_FILE = "owner.json";

export class RunLock {
  readonly lockPath: string;
  private release: (() => Promise<void>) | undefined;
  private lostReason: string | undefined;

  constructor(
    private readonly statePath: string,
    private readonly options: RunLockOptions,
  ) {
    this.lockPath = `${statePath}.lock`;
  }

  /** Why the lock was lost while held, if it was; writes must then stop. */
  get lost(): string | undefined {
    return this.lostReason;
  }

  get held(): boolean {
    return this.release !== undefined;
  }

  async acquire(): Promise<void> {
    if (this.release) return;
    try {
      await mkdir(dirname(this.statePath), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw stateFsError(`create the folder for the state file ${this.statePath}`, dirname(this.statePath), error);
    }

    const before = await this.inspect();
    try {
      await this.tryLock();
    } catch (error) {
      if (errorCode(error) !== "ELOCKED") throw stateFsError(`take the lock ${this.lockPath}`, this.lockPath, error);
      const holder = await this.inspect();
      if (!holder?.owner || !isDeadLocalProcess(holder.owner)) throw this.lockedError(holder?.owner);
      await this.takeOverDead(holder.owner);
      try {
        await this.tryLock();
      } catch (retryError) {
        if (errorCode(retryError) !== "ELOCKED") throw stateFsError(`take the lock ${this.lockPath}`, this.lockPath, retryError);
        throw this.lockedError((await this.inspect())?.owner);
      }
      this.options.onWarning(`took over a lock left by process ${holder.owner.pid}, which is no longer running`);
      await this.removeLeftoverTemps();
      return;
    }
    if (before && before.mtimeMs < Date.now() - this.staleMs) {
      // proper-lockfile took it over silently; the administrator should still hear that a run died.
      const who = before.owner ? `process ${before.owner.pid} on host ${before.owner.hostname}` : "an unknown process";
      this.options.onWarning(
        `took over a stale lock left by ${who}, last refreshed at ${new Date(before.mtimeMs).toISOString()}`,
      );
    }
    await this.removeLeftoverTemps();
  }

  /** Idempotent. A failure to remove the lock folder is a warning: the next run takes it over. */
  async releaseLock(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    if (!release) return;
    try {
      await release();
    } catch (error) {
      const code = errorCode(error);
      // ERELEASED: the lock was compromised and proper-lockfile already let go of it.
      if (code === "ERELEASED" || code === "ENOTACQUIRED") return;
      this.options.onWarning(
        `could not remove the lock ${this.lockPath} (${code ?? String(error)}); the next run will take it over once it is stale`,
      );
    }
  }

  private get staleMs(): number {
    // proper-lockfile never treats a lock as stale sooner than this.
    return Math.max(this.options.staleMs, 2000);
  }

  private async tryLock(): Promise<void> {
    this.lostReason = undefined;
    this.release = await lockfile.lock(this.statePath, {
      realpath: false,
      lockfilePath: this.lockPath,
      stale: this.options.staleMs,
      update: Math.min(this.staleMs / 2, MAX_REFRESH_MS),
      retries: 0,
      fs: ownerAwareFs,
      onCompromised: (error) => {
        // The default handler throws from a timer and kills the process mid-run, possibly
        // between two SCIM requests; recording it lets the next write refuse instead, and
        // onLockLost lets the run stop at its next step.
        if (this.lostReason !== undefined) return;
        this.lostReason = error.message;
        this.release = undefined;
        this.options.onWarning(
          `lost the lock ${this.lockPath} during the run (${error.message}); the state will not be written`,
        );
        this.reportLockLost(error.message);
      },
    });
  }

  private reportLockLost(reason: string): void {
    const onLockLost = this.options.onLockLost;
    if (!onLockLost) return;
    try {
      onLockLost(reason);
    } catch (error) {
      // We are inside proper-lockfile's timer: a throw here would kill the process mid-run.
      const message = messageOf(error);
      this.options.onWarning(`the handler for the lost lock ${this.lockPath} failed: ${message}`);
    }
  }

  private lockedError(owner: LockOwner | undefined): LockedError {
    const who = owner
      ? `another scimsync run (pid ${owner.pid} on host ${owner.hostname}, started at ${owner.startedAt})`
      : "another scimsync run";
    return new LockedError(`${who} holds the lock on ${this.lockPath}; wait for it to finish`, {
      hint:
        `a lock is taken over automatically once nobody has refreshed it for ${Math.round(this.staleMs / 1000)}s, ` +
        `or at once when its process on this host has exited; remove ${this.lockPath} by hand only if you are sure no run is active`,
    });
  }

  private async inspect(): Promise<{ owner: LockOwner | undefined; mtimeMs: number } | undefined> {
    try {
      const info = await stat(this.lockPath);
      return { owner: await readOwner(this.lockPath), mtimeMs: info.mtimeMs };
    } catch {
      return undefined;
    }
  }

  /**
   * Moves the dead run's lock aside (one atomic rename, so of two runs racing for it only one
   * succeeds) and checks that what moved is still the dead owner's: if a live run re-took the
   * lock in between, it is put back and we report the lock as held.
   */
  private async takeOverDead(dead: LockOwner): Promise<void> {
    const aside = `${this.lockPath}.takeover-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      await rename(this.lockPath, aside);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return;
      throw stateFsError(`take over the lock ${this.lockPath}`, this.lockPath, error);
    }
    const moved = await readOwner(aside);
    if (moved?.token !== dead.token) {
      await rename(aside, this.lockPath).catch(() => undefined);
      throw this.lockedError(moved);
    }
    await rm(aside, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Temp files of writes that crashed. Safe to remove: we hold the lock, nobody else writes. */
  private async removeLeftoverTemps(): Promise<void> {
    const folder = dirname(this.statePath);
    const base = basename(this.statePath);
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return;
    }
    const leftovers = names.filter((n) => isTempFileOf(base, n) || isTempFileOf(`${base}.bak`, n));
    await Promise.all(leftovers.map((n) => rm(join(folder, n), { force: true }).catch(() => undefined)));
  }
}

function makeOwner(): LockOwner {
  return {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
}

export async function readOwner(lockPath: string): Promise<LockOwner | undefined> {
  try {
    const raw: unknown = JSON.parse(await readFile(join(lockPath, OWNER_FILE), "utf8"));
    if (typeof raw !== "object" || raw === null) return undefined;
    const o = raw as Record<string, unknown>;
    if (typeof o.pid !== "number" || !Number.isInteger(o.pid) || o.pid <= 0) return undefined;
    if (typeof o.hostname !== "string" || typeof o.startedAt !== "string" || typeof o.token !== "string") return undefined;
    return { pid: o.pid, hostname: o.hostname, startedAt: o.startedAt, token: o.token };
  } catch {
    // Missing or half-written: the holder is between mkdir and writing it, or predates owner files.
    return undefined;
  }
}

function isDeadLocalProcess(owner: LockOwner): boolean {
  if (owner.hostname !== hostname() || owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists under another user; only ESRCH proves it is gone.
    return errorCode(error) === "ESRCH";
  }
}

function writeOwnerSync(lockPath: string): void {
  // Written to a temp name and renamed, so a reader never sees half an owner file.
  const temp = join(lockPath, `${OWNER_FILE}.tmp`);
  fs.writeFileSync(temp, `${JSON.stringify(makeOwner())}\n`, { mode: 0o600 });
  fs.renameSync(temp, join(lockPath, OWNER_FILE));
}

function removeOwnerSync(lockPath: string): void {
  fs.rmSync(join(lockPath, OWNER_FILE), { force: true });
  fs.rmSync(join(lockPath, `${OWNER_FILE}.tmp`), { force: true });
}

/**
 * The fs proper-lockfile calls. `mkdir` writes the owner file as part of taking the lock,
 * before proper-lockfile stamps the folder's mtime (its heartbeat treats any later mtime change
 * as a lost lock, so nothing may be written into the folder afterwards). `rmdir` removes the
 * owner file first, because proper-lockfile removes locks (its own, stale ones, at exit) with a
 * plain rmdir that fails on a non-empty folder.
 */
const ownerAwareFs = {
  ...fs,
  mkdir(path: string, callback: (error: NodeJS.ErrnoException | null) => void): void {
    // Owner only: under a permissive umask anyone could otherwise add, replace or remove the owner file.
    fs.mkdir(path, { mode: 0o700 }, (error) => {
      if (error) return callback(error);
      try {
        writeOwnerSync(path);
      } catch (ownerError) {
        fs.rm(path, { recursive: true, force: true }, () => callback(ownerError as NodeJS.ErrnoException));
        return;
      }
      callback(null);
    });
  },
  rmdir(path: string, callback: (error: NodeJS.ErrnoException | null) => void): void {
    try {
      removeOwnerSync(path);
    } catch (error) {
      return callback(error as NodeJS.ErrnoException);
    }
    fs.rmdir(path, callback);
  },
  rmdirSync(path: string): void {
    removeOwnerSync(path);
    fs.rmdirSync(path);
  },
};

/** For the StateStore: a write must not go ahead once the lock is lost. */
export function lostLockError(lockPath: string, statePath: string, reason: string): StateError {
  return new StateError(
    `the lock ${lockPath} was lost during this run (${reason}); not writing ${statePath}, another run may own it now`,
    { hint: "run scimsync again: it re-reads the state and plans from what the other run left" },
  );
}
