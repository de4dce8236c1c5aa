import type { DeprovisionPolicy, GroupDeprovisionRule, Plan, ProvisionGroups, SafetyLimits, SourceProblem, TargetGroup, TargetUser } from "../core/model.js";
import type { DirectorySource, GroupTarget, RunRecord, RunResult, SourceCache, StateStore, StoredState, UserTarget } from "../core/ports.js";
import {
  compileMapping,
  defaultUserMapping,
  type CompiledEntry,
  type Dialect,
  type MappingEntry,
  type MatchAttribute,
  type MatchBy,
} from "../core/mapping.js";
import { resolveDesiredGroups, resolveDesiredUsers, type Scope } from "../core/scope.js";
import { planChanges } from "../core/planner.js";
import { isSafetyStop } from "../core/safety.js";
import { groupsNeedingMemberReads, type GroupPlanInput, type ReadGroupMembers } from "../core/group-planner.js";
import { applyPlan } from "./apply-plan.js";
import { narrowToUser } from "./narrow-to-user.js";
import type { PersonReport } from "../core/narrow-plan.js";
import type { ActionResult, EventSink, StoppedEarly } from "./events.js";
import { RunClock, type RunTimings } from "./run-timings.js";
import { messageOf, StateError, TargetAuthError, TargetError } from "../errors.js";

/** What the engine needs from the configuration, independent of how the config file spells it. */
export interface RunSettings {
  targetUrl: string;
  scope: Scope;
  policy: DeprovisionPolicy;
  safety: SafetyLimits;
  matchBy: MatchBy;
  concurrency: number;
  /** The precedence of matching attributes; default from matchBy. */
  matching?: MatchAttribute[];
  /** The user mapping; default: the built-in one for matchBy. */
  userMapping?: MappingEntry[];
  /** Groups in play: absent for a target without groups (its preset says so). */
  groups?: GroupSettings;
  /** How updates are written; default patch. */
  dialect?: Dialect;
  /** Users without a valid email are reported and skipped (apps that need one). */
  requireEmail?: boolean;
}

export interface GroupSettings {
  provision: ProvisionGroups;
  mapping: MappingEntry[];
  policy: GroupDeprovisionRule;
  readMembers: ReadGroupMembers;
  maxMembersPerPatch: number;
}

export interface RunPorts {
  source: DirectorySource;
  target: UserTarget & Partial<GroupTarget>;
  store: StateStore;
}

export interface RunOptions {
  /** The plan's clock: decisions about due deprovisionings are made for this instant. */
  now: Date;
  allowMassDeprovision?: boolean;
  /** `--retry-now`: objects waiting in escrow (they failed before) are tried in this run. */
  retryFailed?: boolean;
  onEvent?: EventSink;
  /**
   * `--user`: narrow the plan to this person (a userName). The whole directory and target are
   * still read and planned; the plan, its state and the problems are then this person's only.
   */
  user?: string;
}

export interface PreparedPlan {
  plan: Plan;
  problems: SourceProblem[];
  stored: StoredState;
  /** The newest time recorded anywhere in the stored state (ms); 0 for a new state. */
  latestRecorded: number;
  actualById: Map<string, TargetUser>;
  mapping: CompiledEntry[];
  groupMapping: CompiledEntry[];
  /** What the source wants kept for its next read; absent: nothing (a source that keeps nothing, or another source than last time). */
  sourceCache?: SourceCache;
  /** With `user`: who that is to the directory and the target, for the views. */
  person?: PersonReport;
  /** Where the time went so far; runSync adds applying and saving. */
  clock: RunClock;
}

/** Reads source, state and target, and plans. Shared line for line by `plan` and `sync`. */
export async function preparePlan(settings: RunSettings, ports: RunPorts, options: RunOptions): Promise<PreparedPlan> {
  const emit = options.onEvent ?? (() => {});
  const clock = new RunClock();
  const mapping = compileMapping(settings.userMapping ?? defaultUserMapping(settings.matchBy));
  const groupMapping = compileMapping(settings.groups?.mapping ?? []);

  // The state first: a source that reads incrementally (Graph delta queries) starts from what it kept there.
  emit({ type: "phase", phase: "read-state" });
  const { state: stored, warnings: stateWarnings } = await clock.time("stateLoadMs", () => ports.store.read(settings.targetUrl));
  for (const message of stateWarnings) emit({ type: "warning", message });

  emit({ type: "phase", phase: "read-source" });
  const snapshot = await clock.time("readSourceMs", () =>
    ports.source.read({
      onProgress: (progress) => emit({ type: "source-progress", ...progress }),
      ...(stored.sourceCache ? { cache: stored.sourceCache } : {}),
      now: options.now,
    }),
  );
  emit({ type: "source-read", users: snapshot.users.length, problems: snapshot.problems.length });
  for (const message of snapshot.warnings ?? []) emit({ type: "warning", message });

  emit({ type: "phase", phase: "read-target" });
  const actual = await clock.time("readTargetMs", () => ports.target.listUsers());
  emit({ type: "target-read", users: actual.length });
  const confirmed = await clock.time("readTargetMs", () =>
    lookUpUnlisted(
      Object.values(stored.users).map((u) => u.targetId),
      actual,
      (id) => ports.target.getUser(id),
    ),
  );
  actual.push(...confirmed.found);
  const targetWarnings: string[] = [];
  if (confirmed.found.length > 0) {
    targetWarnings.push(
      `${confirmed.found.length} managed account(s) were missing from the target's user listing but exist; the target hides them from lists`,
    );
  }

  const desired = clock.plan(() => resolveDesiredUsers(snapshot, settings.scope, mapping, { requireEmail: settings.requireEmail ?? false }));
  let groups: GroupPlanInput | undefined;
  const groupSettings = settings.groups;
  const groupsWanted = groupSettings && (groupSettings.provision !== "none" || Object.keys(stored.groups).length > 0);
  if (groupSettings && groupsWanted) {
    const desiredGroups = clock.plan(() => resolveDesiredGroups(snapshot, settings.scope, groupSettings.provision, groupMapping, desired.users));
    desired.warnings.push(...desiredGroups.warnings);
    const actualGroups = await clock.time("readTargetMs", () => listTargetGroups(ports.target));
    const memberReads = new Map<string, string[] | undefined>();
    let unconfirmedGroups: Record<string, string> = {};
    if (actualGroups) {
      // As for users: a managed group missing from the listing is looked up before it is
      // believed gone, or it would be created a second time.
      const lookedUp = await clock.time("readTargetMs", () =>
        lookUpUnlisted(
          Object.values(stored.groups).map((g) => g.targetId),
          actualGroups,
          (id) => ports.target.getGroup!(id),
        ),
      );
      actualGroups.push(...lookedUp.found);
      unconfirmedGroups = lookedUp.unconfirmed;
      emit({ type: "target-read", users: actual.length, groups: actualGroups.length });
      const reads = clock.plan(() => groupsNeedingMemberReads(desiredGroups.groups, actualGroups, stored, groupMapping, groupSettings.readMembers));
      const unread: string[] = [];
      await clock.time("readTargetMs", () =>
        Promise.all(
          reads.map(async (id) => {
            let group: TargetGroup | undefined;
            try {
              group = await ports.target.getGroup!(id);
            } catch (error) {
              // One group whose members cannot be read must not stop every other action, leavers'
              // suspends among them: unread, it is planned from the state file, as on a target
              // that never returns members, and the next run reads it again.
              if (error instanceof TargetAuthError || !(error instanceof TargetError)) throw error;
              unread.push(messageOf(error));
              return;
            }
            // A group deleted since the listing reads as empty: its members are added again.
            memberReads.set(id, group ? group.members : []);
          }),
        ),
      );
      if (unread.length > 0) {
        targetWarnings.push(`the members of ${unread.length} group(s) could not be read (${unread[0]}); their membership was planned from the state file`);
      }
    }
    groups = {
      desired: desiredGroups.groups,
      actual: actualGroups,
      mapping: groupMapping,
      policy: groupSettings.policy,
      memberReads,
      directoryIds: snapshot.groups.map((g) => g.id),
      unconfirmedTargetIds: unconfirmedGroups,
    };
  }

  emit({ type: "phase", phase: "plan" });
  const warnings = [...new Set([...(snapshot.warnings ?? []), ...stateWarnings, ...desired.warnings, ...targetWarnings])];
  const latest = latestTimestamp(stored);
  if (latest > options.now.getTime() + CLOCK_TOLERANCE_MS) {
    warnings.push(
      `the state holds times up to ${new Date(latest).toISOString()}, later than now (${options.now.toISOString()}): ` +
        `deprovisioning timers started then fall due later than configured (was the clock wrong, or the state written by a sync --now?)`,
    );
  }
  const failClosed: string[] = [];
  if (!snapshot.complete) failClosed.push("the directory could not be read completely (see the problems listed)");
  const problems = [...snapshot.problems, ...desired.problems];
  if (!desired.trusted) failClosed.push("a scope group is missing from the directory");
  if (snapshot.problems.some((p) => p.id === undefined && p.userName !== undefined) && !mapsUserNameAsIs(mapping)) {
    // Such a record is protected by the directory's userName, but the app knows the user by the
    // mapped one (an email, say): the account it protects cannot be told apart from the others.
    failClosed.push("a skipped directory record has no usable id, and the mapping changes userNames, so its account in the app cannot be identified");
  }
  const plan = clock.plan(() => planChanges({
    desired: desired.users,
    actual,
    state: stored,
    policy: settings.policy,
    safety: settings.safety,
    mapping,
    matchBy: settings.matchBy,
    ...(settings.matching ? { matching: settings.matching } : {}),
    now: options.now,
    deprovisioningAllowed: failClosed.length === 0,
    ...(failClosed.length > 0 ? { failClosedReason: failClosed.join("; ") } : {}),
    unconfirmedTargetIds: confirmed.unconfirmed,
    protectedIds: [...snapshot.protectedIds, ...desired.protectedIds],
    protectedUserNames: snapshot.protectedUserNames,
    allowMassDeprovision: options.allowMassDeprovision ?? false,
    // On demand (--user) means now: the person is tried even while escrow makes them wait.
    retryFailed: (options.retryFailed ?? false) || options.user !== undefined,
    warnings,
    ...(groups ? { groups } : {}),
    ...(snapshot.deletedAt ? { deletedAt: snapshot.deletedAt } : {}),
  }));
  const prepared: PreparedPlan = {
    plan,
    problems,
    stored,
    latestRecorded: latest,
    actualById: new Map(actual.map((u) => [u.id, u])),
    mapping,
    groupMapping,
    ...(snapshot.cache ? { sourceCache: snapshot.cache } : {}),
    clock,
  };
  return options.user === undefined ? prepared : narrowToUser(prepared, options.user, { directory: snapshot.users, desired: desired.users });
}

function mapsUserNameAsIs(mapping: CompiledEntry[]): boolean {
  const entry = mapping.find((e) => e.target.toLowerCase() === "username");
  return entry !== undefined && entry.source.trim() === "userName" && entry.default === undefined;
}

/** The target's groups, or undefined when it has none (no /Groups, or an adapter without groups). */
async function listTargetGroups(target: RunPorts["target"]): Promise<TargetGroup[] | undefined> {
  if (!target.listGroups) return undefined;
  return target.listGroups();
}

/**
 * Managed accounts (or groups) missing from the target's listing, looked up by id. Some apps
 * leave inactive users out of listings; taking absence for deletion would drop a leaver from the
 * state and forget their pending delete, or create a managed group a second time. A lookup that
 * fails (other than for credentials) leaves the resource unconfirmed: its user or group is held,
 * and the rest of the run goes on.
 */
async function lookUpUnlisted<T extends { id: string }>(
  recordedIds: string[],
  listed: T[],
  get: (id: string) => Promise<T | undefined>,
): Promise<{ found: T[]; unconfirmed: Record<string, string> }> {
  const seen = new Set(listed.map((r) => r.id));
  const unlisted = [...new Set(recordedIds)].filter((id) => !seen.has(id));
  const found: T[] = [];
  const unconfirmed: Record<string, string> = {};
  // The client bounds how many of these run at once and how fast.
  await Promise.all(
    unlisted.map(async (id) => {
      try {
        const resource = await get(id);
        if (resource) found.push(resource);
      } catch (error) {
        if (error instanceof TargetAuthError) throw error;
        unconfirmed[id] = messageOf(error);
      }
    }),
  );
  return { found, unconfirmed };
}

/** How far the clock may disagree with the state before we say so (clock skew between machines). */
const CLOCK_TOLERANCE_MS = 5 * 60_000;

/** The newest time the state has seen: a sync with --now may not go back before it. */
function latestTimestamp(stored: StoredState): number {
  let latest = stored.lastRun ? Date.parse(stored.lastRun.startedAt) : 0;
  for (const user of Object.values(stored.users)) {
    for (const t of [user.since, user.suspendedAt, ...Object.values(user.conditions)]) {
      if (t) latest = Math.max(latest, Date.parse(t));
    }
  }
  for (const group of Object.values(stored.groups)) {
    for (const t of [group.since, group.removedSince]) if (t) latest = Math.max(latest, Date.parse(t));
  }
  // Not nextAttemptAt: it lies ahead by design.
  for (const failure of Object.values(stored.failures ?? {})) latest = Math.max(latest, Date.parse(failure.lastFailedAt));
  return latest;
}

export interface SyncOptions extends RunOptions {
  /** Wall clock for timestamps written to the state; the plan's `now` when the user fixed one. */
  clock: () => Date;
  signal?: AbortSignal;
  runId: string;
  /** How often the state is saved while actions run, so a crash loses little. */
  checkpointMs?: number;
  /** true when the administrator fixed the clock with --now. */
  fixedNow?: boolean;
}

export interface SyncReport {
  plan: Plan;
  problems: SourceProblem[];
  results: ActionResult[];
  result: RunResult;
  interrupted: boolean;
  authError?: TargetAuthError;
  /** A systemic failure stopped new actions from starting (see systemic-stop.ts); those not started are `planned`. */
  stoppedEarly?: StoppedEarly;
  /** The state could not be saved after actions were applied: the report still says what was done. */
  saveError?: unknown;
  /** The run as recorded in the state's lastRun (also when that save failed). */
  lastRun: RunRecord;
  /** `--user`: who that is (the plan above is theirs only). */
  person?: PersonReport;
  timings: RunTimings;
}

/**
 * One `sync`: lock, plan, save the timers the plan started, apply, save. The lock is held for
 * the whole run so a second run can neither plan on stale state nor write over ours.
 */
export async function runSync(settings: RunSettings, ports: RunPorts, options: SyncOptions): Promise<SyncReport> {
  const emit = options.onEvent ?? (() => {});
  const startedAt = options.clock().toISOString();
  await ports.store.lock();
  try {
    const prepared = await preparePlan(settings, ports, options);
    const { plan } = prepared;
    const latest = prepared.latestRecorded;
    if (options.fixedNow && options.now.getTime() > Date.now() + CLOCK_TOLERANCE_MS) {
      // Timers started "in the future" would hold back every real run's deprovisioning until then.
      throw new StateError(`--now ${options.now.toISOString()} is in the future; a sync cannot run ahead of the clock`, {
        hint: "use plan --now to forecast what a later run would do",
      });
    }
    if (options.fixedNow && options.now.getTime() < latest) {
      // Timers started "back then" would fall due early for every later run.
      throw new StateError(
        `--now ${options.now.toISOString()} is earlier than ${new Date(latest).toISOString()}, the latest time recorded in the state; a sync cannot go back in time`,
        { hint: "use plan --now to forecast a date in the past or future" },
      );
    }
    // Timers and adoptions first: if this run dies while applying, no deprovisioning clock restarts.
    // The directory as read goes in with the first save: each run compares the whole directory
    // with the target, so the cache never has to wait for what is applied.
    // With --user, plan.state differs from the stored state only in that person's record and the groups they join or leave (narrowPlan).
    const working: StoredState = { ...prepared.stored, ...plan.state };
    if (prepared.sourceCache) working.sourceCache = prepared.sourceCache;
    else delete working.sourceCache;
    // The planner drops failure records nobody needs any more: absent there means none.
    if (plan.state.failures) working.failures = plan.state.failures;
    else delete working.failures;
    const clock = prepared.clock;
    emit({ type: "phase", phase: "save-state" });
    await clock.time("stateSaveMs", () => ports.store.write(working));
    // Serialising the state blocks the event loop, and requests wait meanwhile: a large state
    // (100,000 users take a few hundred ms) is checkpointed less often, so that saving never
    // takes more than about 5% of the run (stateSaveMs holds just this first save so far).
    // Capped: on a slow disk the save's time is mostly waiting, and a crash should still lose little.
    const checkpointEvery = Math.min(30_000, Math.max(options.checkpointMs ?? 2000, 20 * (clock.timings.stateSaveMs ?? 0)));

    emit({ type: "phase", phase: "apply" });
    let saving: Promise<void> | undefined;
    let checkpointError: unknown;
    const checkpoint = setInterval(() => {
      if (saving) return;
      saving = ports.store
        .write(working)
        .catch((error: unknown) => {
          checkpointError = error;
        })
        .finally(() => {
          saving = undefined;
        });
    }, checkpointEvery);
    let outcome;
    const applyStarted = performance.now();
    try {
      outcome = await applyPlan(plan, {
        target: ports.target,
        actualById: prepared.actualById,
        mapping: prepared.mapping,
        groupMapping: prepared.groupMapping,
        matchBy: settings.matchBy,
        ...(settings.dialect ? { dialect: settings.dialect } : {}),
        ...(settings.groups ? { maxMembersPerPatch: settings.groups.maxMembersPerPatch } : {}),
        concurrency: settings.concurrency,
        clock: options.clock,
        onEvent: options.onEvent,
        signal: options.signal,
      });
    } finally {
      clearInterval(checkpoint);
      await saving;
      clock.timings.applyMs = Math.round(performance.now() - applyStarted);
    }

    const failed = outcome.results.filter((r) => r.status === "failed").length;
    const result: RunResult = outcome.interrupted
      ? "interrupted"
      : outcome.authError
        ? "error"
        : isSafetyStop(plan.safety)
          ? "safety-stop"
          : failed > 0 || plan.held.length > 0
            ? "failed"
            : "ok";
    const counts: Record<string, number> = { failed };
    for (const r of outcome.results) {
      if (r.status !== "ok") continue;
      const key = r.type === "Group" ? `groups.${r.op}` : r.op;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    const lastRun: RunRecord = { runId: options.runId, startedAt, finishedAt: options.clock().toISOString(), result, counts };
    const report: SyncReport = {
      plan,
      problems: prepared.problems,
      results: outcome.results,
      result,
      interrupted: outcome.interrupted,
      lastRun,
      timings: clock.timings,
    };
    if (outcome.authError) report.authError = outcome.authError;
    if (outcome.stoppedEarly) report.stoppedEarly = outcome.stoppedEarly;
    if (prepared.person) report.person = prepared.person;

    // The final save is tried even when a checkpoint failed: it holds every applied action.
    emit({ type: "phase", phase: "save-state" });
    try {
      const final: StoredState = { ...working, ...outcome.state, lastRun };
      if (!outcome.state.failures) delete final.failures;
      await clock.time("stateSaveMs", () => ports.store.write(final));
    } catch (error) {
      report.saveError = error;
    }
    if (checkpointError && !report.saveError) emit({ type: "warning", message: `a state checkpoint failed but the final save succeeded: ${messageOf(checkpointError)}` });
    return report;
  } finally {
    await ports.store.unlock();
  }
}
