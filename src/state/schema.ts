/**
 * The state file's layout, one zod schema per version, and the migrations between versions.
 *
 * To change the layout: add `stateFileV<N+1>`, append `step(stateFileV<N>, migrateV<N>ToV<N+1>)`
 * to `migrations`, bump STATE_VERSION and point `currentStateFile` at the new schema. Old files
 * are then upgraded in memory on read and written back in the new layout on the next write.
 */
import { z } from "zod";
import { DEPROVISION_REASONS, type ActionOp, type DeprovisionReason, type FailureRecord, type StateGroup, type StateUser } from "../core/model.js";
import type { RunResult, StoredState } from "../core/ports.js";
import { makeQuickChecker } from "./quick-check.js";

/** The layout this scimsync reads and writes. A file with a higher version is refused, never guessed at. */
export const STATE_VERSION = 4;

/** Offsets are accepted because administrators edit these files by hand; we write `Z`. */
const isoTime = z.iso.datetime({ offset: true });
const reason = z.enum(DEPROVISION_REASONS as [DeprovisionReason, ...DeprovisionReason[]]);
const runResults = ["ok", "failed", "safety-stop", "interrupted", "error"] as const satisfies readonly RunResult[];

/**
 * Version 0, the pre-1.0 layout written by pre-release builds: users as an array, one pending
 * deprovisioning reason per user, no adoption (every user was created by scimsync), no
 * suspension bookkeeping and no serial. Kept so those files still load.
 */
export const stateFileV0 = z.strictObject({
  version: z.literal(0),
  targetUrl: z.string().min(1),
  users: z.array(
    z.strictObject({
      sourceId: z.string().min(1),
      targetId: z.string().min(1),
      userName: z.string().min(1),
      createdAt: isoTime,
      pending: z.strictObject({ reason, since: isoTime }).optional(),
    }),
  ),
});
export type StateFileV0 = z.infer<typeof stateFileV0>;

// Strict objects throughout: the file is machine-written, so an unknown key means a damaged
// or hand-mangled file, and silently dropping it on the next write would hide that.
const stateUserV1 = z.strictObject({
  targetId: z.string().min(1),
  userName: z.string().min(1),
  origin: z.enum(["created", "adopted"]),
  since: isoTime,
  suspendedAt: isoTime.optional(),
  conditions: z.strictObject({
    outOfScope: isoTime.optional(),
    suspended: isoTime.optional(),
    deleted: isoTime.optional(),
  }),
});

const runRecordV1 = z.strictObject({
  runId: z.string().min(1),
  startedAt: isoTime,
  finishedAt: isoTime,
  result: z.enum(runResults),
  counts: z.record(z.string(), z.int().nonnegative()),
});

/** Version 1: users keyed by source id, one timer per deprovisioning condition, a serial. */
export const stateFileV1 = z.strictObject({
  version: z.literal(1),
  serial: z.int().nonnegative(),
  targetUrl: z.string().min(1),
  users: z.record(z.string().min(1), stateUserV1),
  lastRun: runRecordV1.optional(),
});
export type StateFileV1 = z.infer<typeof stateFileV1>;

/**
 * A group member is a target user id. Repeats are dropped on read rather than making the file
 * damaged: membership is a set, so a repeat (a hand edit, an append that ran twice) says nothing
 * that contradicts the rest of the file, unlike a source id listed twice in version 0. Rejecting
 * it would throw away the newest state for the older .bak, or stop every run when there is none,
 * over a harmless repeat. The next write stores the set once.
 */
const memberIds = z.array(z.string().min(1)).transform((ids) => [...new Set(ids)]);

const stateGroupV2 = z.strictObject({
  targetId: z.string().min(1),
  displayName: z.string().min(1),
  origin: z.enum(["created", "adopted"]),
  since: isoTime,
  members: memberIds,
  removedSince: isoTime.optional(),
});

/** Version 2: version 1 plus managed groups keyed by source id, and what was learned about the target's groups. */
export const stateFileV2 = z.strictObject({
  version: z.literal(2),
  serial: z.int().nonnegative(),
  targetUrl: z.string().min(1),
  users: z.record(z.string().min(1), stateUserV1),
  groups: z.record(z.string().min(1), stateGroupV2),
  groupMembersHidden: z.boolean().optional(),
  lastRun: runRecordV1.optional(),
});
export type StateFileV2 = z.infer<typeof stateFileV2>;

/**
 * Version 3: version 2 plus what a directory source keeps between runs (Microsoft Graph: the
 * directory as last read and its delta links). Its inside is the source's to check: here it
 * is an object that names its kind.
 */
export const stateFileV3 = stateFileV2.extend({
  version: z.literal(3),
  source: z.looseObject({ kind: z.string().min(1) }).optional(),
});
export type StateFileV3 = z.infer<typeof stateFileV3>;

const actionOps = ["create", "update", "suspend", "unsuspend", "delete", "add-members", "remove-members"] as const satisfies readonly ActionOp[];

const failureRecordV4 = z.strictObject({
  name: z.string().min(1),
  op: z.enum(actionOps),
  attempts: z.int().positive(),
  firstFailedAt: isoTime,
  lastFailedAt: isoTime,
  lastError: z.string(),
  nextAttemptAt: isoTime,
});

/**
 * Version 4: version 3 plus escrow, the objects whose actions failed in the last runs
 * (src/core/escrow.ts). One record keyed `User:<sourceId>` or `Group:<sourceId>`: a flat map
 * keeps the file readable and one lookup finds any object. Absent when nothing is failing.
 */
const failuresV4 = z.record(z.string().regex(/^(User|Group):./, 'a key is "User:<sourceId>" or "Group:<sourceId>"'), failureRecordV4);

export const stateFileV4 = stateFileV3.extend({
  version: z.literal(4),
  failures: failuresV4.optional(),
});
export type StateFileV4 = z.infer<typeof stateFileV4>;

export const currentStateFile = stateFileV4;
export type CurrentStateFile = StateFileV4;

/** The schema's verdict on a current-version file, fast on the common shape (see quick-check.ts). */
export const quickStateCheck = makeQuickChecker({ version: STATE_VERSION, isoTime, failures: failuresV4 });

function checkCurrent(file: unknown): { success: true; data: CurrentStateFile } | { success: false; error: z.ZodError } {
  const fast = quickStateCheck.check(file);
  if (fast) return { success: true, data: fast };
  return currentStateFile.safeParse(file);
}

/** Thrown inside a migration when a file is valid per its schema but cannot be upgraded. */
class MigrationProblem extends Error {}

function migrateV0ToV1(file: StateFileV0): StateFileV1 {
  const users: StateFileV1["users"] = {};
  for (const user of file.users) {
    if (Object.hasOwn(users, user.sourceId)) {
      // Two records for one source user: picking either could forget the target account we made.
      throw new MigrationProblem(`users lists sourceId "${user.sourceId}" twice`);
    }
    users[user.sourceId] = {
      targetId: user.targetId,
      userName: user.userName,
      origin: "created",
      since: user.createdAt,
      // The pending reason's start time is the condition's timer, so the configured delay keeps
      // counting from when the condition was first seen, not from the upgrade.
      conditions: user.pending ? { [user.pending.reason]: user.pending.since } : {},
    };
  }
  return { version: 1, serial: 0, targetUrl: file.targetUrl, users };
}

/** Version 1 files predate group provisioning: no group is managed yet, and nothing is known about the target's groups. */
function migrateV1ToV2(file: StateFileV1): z.input<typeof stateFileV2> {
  return { ...file, version: 2, groups: {} };
}

/** Version 2 files predate sources that keep anything between runs. */
function migrateV2ToV3(file: StateFileV2): z.input<typeof stateFileV3> {
  return { ...file, version: 3 };
}

/** Version 3 files predate escrow: nothing is known to be failing, so every object is tried by the next run. */
function migrateV3ToV4(file: StateFileV3): z.input<typeof stateFileV4> {
  return { ...file, version: 4 };
}

type Migration = (file: unknown) => unknown;

/** Validates the input against its own version's schema before migrating, so every step sees typed data. */
function step<From>(schema: z.ZodType<From>, migrate: (file: From) => unknown): Migration {
  return (file) => migrate(schema.parse(file));
}

/** `migrations[n]` turns a version-n file into a version n+1 file. */
export const migrations: readonly Migration[] = [
  step(stateFileV0, migrateV0ToV1),
  step(stateFileV1, migrateV1ToV2),
  step(stateFileV2, migrateV2ToV3),
  step(stateFileV3, migrateV3ToV4),
];

export type ParsedStateFile =
  | { kind: "ok"; state: StoredState; version: number }
  | { kind: "newer"; version: number }
  | { kind: "invalid"; reason: string };

/**
 * Parses the text of a state file of any known version into the current in-memory state.
 * Never throws: the caller decides what a damaged or newer file means.
 */
export function parseStateFile(text: string): ParsedStateFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { kind: "invalid", reason: `not valid JSON: ${(error as Error).message}` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { kind: "invalid", reason: "not a JSON object" };
  }
  const version = (raw as { version?: unknown }).version;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0) {
    return { kind: "invalid", reason: `"version" is ${version === undefined ? "missing" : "not a non-negative integer"}` };
  }
  if (version > STATE_VERSION) return { kind: "newer", version };

  let file: unknown = raw;
  try {
    for (let v = version; v < STATE_VERSION; v++) {
      const migrate = migrations[v];
      if (!migrate) throw new MigrationProblem(`no migration from version ${v}`);
      file = migrate(file);
    }
  } catch (error) {
    if (error instanceof z.ZodError) return { kind: "invalid", reason: `version ${version} layout: ${describeIssues(error)}` };
    if (error instanceof MigrationProblem) return { kind: "invalid", reason: `version ${version} layout: ${error.message}` };
    throw error;
  }
  const parsed = checkCurrent(file);
  if (!parsed.success) {
    // After a migration this would be a bug in the migration; the message says which layout failed.
    const which = version === STATE_VERSION ? "" : ` after upgrading from version ${version}`;
    return { kind: "invalid", reason: `${describeIssues(parsed.error)}${which}` };
  }
  return { kind: "ok", state: toStoredState(parsed.data), version };
}

/** The bytes we write for a state: stable key order, sorted users, groups and members, so successive files diff cleanly. */
export function serializeStateFile(state: StoredState): { text: string } | { invalid: string } {
  // Users are the bulk of a large state: each is checked and written in the same pass, without
  // a 100,000-key object in between (see quick-check.ts for why the check is not zod's here).
  const userIds = Object.keys(state.users).sort();
  const userLines: string[] = new Array<string>(userIds.length);
  let usersChecked = true;
  const userRecord = (sourceId: string): StateUser => {
    const u = state.users[sourceId]!;
    return {
      targetId: u.targetId,
      userName: u.userName,
      origin: u.origin,
      since: u.since,
      suspendedAt: u.suspendedAt,
      conditions: { outOfScope: u.conditions.outOfScope, suspended: u.conditions.suspended, deleted: u.conditions.deleted },
    };
  };
  for (let i = 0; i < userIds.length; i++) {
    const sourceId = userIds[i]!;
    let json = sourceId.length > 0 && sourceId !== "__proto__" ? quickStateCheck.userJson(state.users[sourceId]!) : undefined;
    if (json === undefined) {
      usersChecked = false;
      json = JSON.stringify(userRecord(sourceId));
    }
    userLines[i] = `    ${JSON.stringify(sourceId)}: ${json}`;
  }
  const groups: Record<string, StateGroup> = {};
  for (const sourceId of Object.keys(state.groups).sort()) {
    const g = state.groups[sourceId]!;
    groups[sourceId] = {
      targetId: g.targetId,
      displayName: g.displayName,
      origin: g.origin,
      since: g.since,
      // A set, as on read (see memberIds); sorted because the order carries nothing.
      members: [...new Set(g.members)].sort(),
      removedSince: g.removedSince,
    };
  }
  let failures: Record<string, FailureRecord> | undefined;
  for (const key of Object.keys(state.failures ?? {}).sort()) {
    const f = state.failures![key]!;
    (failures ??= {})[key] = {
      name: f.name,
      op: f.op,
      attempts: f.attempts,
      firstFailedAt: f.firstFailedAt,
      lastFailedAt: f.lastFailedAt,
      lastError: f.lastError,
      nextAttemptAt: f.nextAttemptAt,
    };
  }
  const file = {
    version: STATE_VERSION,
    serial: state.serial,
    targetUrl: state.targetUrl,
    users: {},
    groups,
    groupMembersHidden: state.groupMembersHidden,
    lastRun: state.lastRun,
    source: state.sourceCache,
    failures,
  };
  // Checked as it will be read back, so a write can never produce a file the next run rejects.
  // Every field the checks accept is a string, a safe integer, a boolean or a plain object of
  // them, which survive JSON unchanged, so the objects can be checked without a round trip.
  if (!usersChecked || quickStateCheck.check(file) === undefined) {
    // The schema decides (the fast checks are narrower) and words what is wrong.
    const whole = { ...file, users: Object.fromEntries(userIds.map((id) => [id, userRecord(id)])) };
    const check = currentStateFile.safeParse(whole);
    if (!check.success) return { invalid: describeIssues(check.error) };
  }
  return { text: stateFileText(file, userLines) };
}

/**
 * One user, group or escrow record per line, the rest indented: a state of 100,000 users is a
 * third smaller and several times faster to write than fully indented JSON, and a diff of two
 * files still shows one line per changed record. The source's cache is one line: it is a copy
 * of the directory, of no use in a diff.
 */
function stateFileText(file: Record<string, unknown>, userLines: string[]): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(file)) {
    if (value === undefined) continue;
    const name = JSON.stringify(key);
    if (key === "users" || key === "groups" || key === "failures") {
      const lines =
        key === "users"
          ? userLines
          : Object.entries(value as Record<string, unknown>).map(([id, record]) => `    ${JSON.stringify(id)}: ${JSON.stringify(record)}`);
      parts.push(lines.length === 0 ? `  ${name}: {}` : `  ${name}: {\n${lines.join(",\n")}\n  }`);
    } else if (key === "source") {
      parts.push(`  ${name}: ${JSON.stringify(value)}`);
    } else {
      parts.push(`  ${name}: ${JSON.stringify(value, null, 2).replace(/\n/g, "\n  ")}`);
    }
  }
  return `{\n${parts.join(",\n")}\n}\n`;
}

function toStoredState(file: CurrentStateFile): StoredState {
  const state: StoredState = { targetUrl: file.targetUrl, users: file.users, groups: file.groups, serial: file.serial };
  if (file.groupMembersHidden !== undefined) state.groupMembersHidden = file.groupMembersHidden;
  if (file.lastRun) state.lastRun = file.lastRun;
  if (file.source) state.sourceCache = file.source;
  if (file.failures && Object.keys(file.failures).length > 0) state.failures = file.failures;
  return state;
}

function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
    return `${path || "(top level)"}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : "";
  return shown.join("; ") + more;
}
