/**
 * The roles the engine talks to. Adapters implement them and return our domain types and
 * typed errors (src/errors.ts), never a library's own error classes.
 */
import type { SourceSnapshot, SyncState, TargetGroup, TargetUser } from "./model.js";
import type { PatchOperation } from "./mapping.js";

/** How far a directory read has come: `pages` and `items` so far of one listing. */
export interface SourceProgress {
  /**
   * What is being listed: users, groups, members (of every group read so far), orgUnits,
   * deletedUsers, userQuery, assignments, userChanges, groupChanges.
   */
  listing: string;
  pages: number;
  items: number;
}

export interface DirectorySource {
  /**
   * Reads the whole directory. Malformed records go to `problems`; a listing that could not be
   * finished makes the snapshot incomplete; a read that cannot start (credentials, permissions)
   * throws SourceError.
   */
  read(options?: SourceReadOptions): Promise<SourceSnapshot & { cache?: SourceCache }>;
}

export interface SourceReadOptions {
  onProgress?: (progress: SourceProgress) => void;
  /** What this source kept from its last read (from the state file); absent on a first run. */
  cache?: SourceCache;
  /** The run's clock, for decisions such as "a full read is due". */
  now?: Date;
}

export interface UserTarget {
  /** Every user on the target, following pages until totalResults; throws TargetError if incomplete. */
  listUsers(): Promise<TargetUser[]>;
  /** One user by id; undefined when the target answers 404. */
  getUser(id: string): Promise<TargetUser | undefined>;
  /** Users matching `attribute eq "value"` (value escaped by the client). */
  findUsers(attribute: "externalId" | "userName", value: string): Promise<TargetUser[]>;
  /** POST /Users. Not retried when the request may have been applied: that error has `ambiguous: true`. */
  createUser(resource: Record<string, unknown>): Promise<TargetUser>;
  /** PATCH /Users/{id}; returns the updated user when the target sent it back (200), else undefined (204). */
  patchUser(id: string, operations: PatchOperation[]): Promise<TargetUser | undefined>;
  /** PUT /Users/{id} with a full resource (the `put` dialect); returns the user when the target sent it back. */
  replaceUser(id: string, resource: Record<string, unknown>): Promise<TargetUser | undefined>;
  /** DELETE /Users/{id}; a 404 counts as done. */
  deleteUser(id: string): Promise<void>;
  close(): Promise<void>;
}

/** The Groups side of a SCIM target. */
export interface GroupTarget {
  /**
   * Every group, listed with `excludedAttributes=members` (so `members` is undefined), following
   * pages until totalResults. Undefined when the target has no /Groups (404 or 501): it does
   * not support groups, which is not an error. Throws TargetError when the listing is incomplete.
   */
  listGroups(): Promise<TargetGroup[] | undefined>;
  /** One group with its members; undefined when the target answers 404. */
  getGroup(id: string): Promise<TargetGroup | undefined>;
  /** Groups matching `attribute eq "value"` (value escaped by the client). */
  findGroups(attribute: "externalId" | "displayName", value: string): Promise<TargetGroup[]>;
  /** POST /Groups. Not retried when the request may have been applied: that error has `ambiguous: true`. */
  createGroup(resource: Record<string, unknown>): Promise<TargetGroup>;
  /** PATCH /Groups/{id}. */
  patchGroup(id: string, operations: PatchOperation[]): Promise<void>;
  /** PUT /Groups/{id} with a full resource (the `put` dialect). */
  replaceGroup(id: string, resource: Record<string, unknown>): Promise<void>;
  /** DELETE /Groups/{id}; a 404 counts as done. */
  deleteGroup(id: string): Promise<void>;
}

export type RunResult = "ok" | "failed" | "safety-stop" | "interrupted" | "error";

export interface RunRecord {
  runId: string;
  startedAt: string;
  finishedAt: string;
  result: RunResult;
  /** Applied actions by op, plus `failed`. */
  counts: Record<string, number>;
}

/**
 * What a directory source keeps between runs (Microsoft Graph: the directory as last read and
 * its delta links), stored in the state file. Only the source that wrote it reads its inside.
 */
export interface SourceCache {
  /** Which source wrote it; another source ignores it. */
  kind: string;
  [key: string]: unknown;
}

/** The state file as stored: the planner's state plus bookkeeping. */
export interface StoredState extends SyncState {
  /** Increases by one on every write. */
  serial: number;
  lastRun?: RunRecord;
  sourceCache?: SourceCache;
}

export interface StateStore {
  /** Takes the exclusive run lock; throws LockedError when another live run holds it. */
  lock(): Promise<void>;
  /** Releases the lock; safe to call twice. */
  unlock(): Promise<void>;
  /**
   * Reads the state. A missing file is an empty state for `targetUrl`, unless its backup exists:
   * then, like a state made for another target, an unreadable file with no usable backup, or a
   * newer version, it throws StateError.
   * `warnings` says when the backup was used.
   */
  read(targetUrl: string): Promise<{ state: StoredState; warnings: string[] }>;
  /** Writes atomically (temp file, fsync, rename), keeping the previous file as `.bak`, mode 0600. */
  write(state: StoredState): Promise<void>;
}
