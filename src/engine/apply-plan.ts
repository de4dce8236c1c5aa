import type { Plan, PlannedAction, StateUser, SyncState, TargetUser } from "../core/model.js";
import type { GroupTarget, UserTarget } from "../core/ports.js";
import { isInactiveStranger } from "../core/target-index.js";
import { APPLY_PHASES, applyPhase } from "../core/apply-phases.js";
import {
  applyChanges,
  buildPatchOperations,
  buildUserResource,
  diffAttributes,
  type CompiledEntry,
  type Dialect,
  type MatchBy,
  type PatchOperation,
} from "../core/mapping.js";
import { messageOf, TargetAuthError, TargetError } from "../errors.js";
import type { ActionResult, EventSink, StoppedEarly } from "./events.js";
import { runGroupAction } from "./apply-groups.js";
import { mayPostAgain } from "./create-tries.js";
import { orderRenames } from "./rename-order.js";
import { failureKindOf, SystemicWatch, type SystemicLimits } from "./systemic-stop.js";
import { recordOutcomes } from "../core/escrow.js";

export interface ApplyOptions {
  target: UserTarget & Partial<GroupTarget>;
  /** Target users as listed for the plan, by id: PATCH needs the element a filtered path points at. */
  actualById: Map<string, TargetUser>;
  mapping: CompiledEntry[];
  /** The group mapping; needed when the plan holds group actions. */
  groupMapping?: CompiledEntry[];
  matchBy: MatchBy;
  /** How updates are written; default patch. */
  dialect?: Dialect;
  /** Members per PATCH request; default 100. */
  maxMembersPerPatch?: number;
  concurrency: number;
  /** Wall clock for timestamps written to the state (not for decisions: those are in the plan). */
  clock: () => Date;
  onEvent?: EventSink;
  /** Aborting stops new actions from starting; those in flight finish and are recorded. */
  signal?: AbortSignal;
  /** When a systemic failure stops the run (default SYSTEMIC_LIMITS); for tests. */
  systemicLimits?: Partial<SystemicLimits>;
}

export interface ApplyOutcome {
  results: ActionResult[];
  /** plan.state with the effect of every successful action. */
  state: SyncState;
  interrupted: boolean;
  /** Set when the target rejected our credentials mid-run; the remaining actions were not tried. */
  authError?: TargetAuthError;
  /** Set when a systemic failure (the token, no answer, most actions failing) stopped new actions from starting. */
  stoppedEarly?: StoppedEarly;
}


/**
 * Runs the plan's actions, never anything else. Safety-blocked deprovisions are skipped, not
 * tried. A systemic failure (see systemic-stop.ts) stops new actions from starting, as Ctrl-C
 * does. The state's failure records (escrow) are updated from what became of each object.
 */
export async function applyPlan(plan: Plan, options: ApplyOptions): Promise<ApplyOutcome> {
  const state: SyncState = { ...plan.state };
  const results = new Map<PlannedAction, ActionResult>();
  const total = plan.actions.length;
  let done = 0;
  let authError: TargetAuthError | undefined;
  let stoppedEarly: StoppedEarly | undefined;
  const watch = new SystemicWatch(options.systemicLimits);
  const stopped = () => options.signal?.aborted === true || authError !== undefined || stoppedEarly !== undefined;

  const finish = (action: PlannedAction, result: ActionResult) => {
    results.set(action, result);
    done++;
    options.onEvent?.({ type: "action-done", result, done, total });
    if (result.status === "skipped" || stoppedEarly) return;
    stoppedEarly = watch.observe(result.status === "ok", result.failureKind, result.error);
    if (stoppedEarly) options.onEvent?.({ type: "warning", message: `stopping early: ${stoppedEarly.message}` });
  };

  options.onEvent?.({ type: "apply-start", total });
  // Phases run one after another (see APPLY_PHASES for why in this order).
  for (const phase of APPLY_PHASES) {
    const queue = plan.actions.filter((a) => applyPhase(a) === phase);
    const runOne = async (action: PlannedAction): Promise<void> => {
      const base: ActionResult = { ...action, status: "planned" };
      const groupDeleteHeld = action.type === "Group" && action.op === "delete" && plan.safety.groupDeletesBlocked === true;
      if (((action.op === "suspend" || action.op === "delete") && plan.safety.blocked) || groupDeleteHeld) {
        finish(action, { ...base, status: "skipped", error: `safety limit: ${plan.safety.reason}` });
        return;
      }
      try {
        const note = await runAction(action, state, options);
        const result: ActionResult = { ...base, status: "ok" };
        if (note) result.note = note;
        finish(action, result);
      } catch (error) {
        if (error instanceof TargetAuthError) authError ??= error;
        finish(action, { ...base, status: "failed", error: messageOf(error), failureKind: failureKindOf(error) });
      }
    };
    const waves = phase === "update users" || phase === "update groups" ? orderRenames(queue) : inWaves(queue);
    for (const wave of waves) {
      // A fixed set of workers pulling from the queue keeps at most `concurrency` actions in flight.
      let next = 0;
      const worker = async () => {
        while (next < wave.length && !stopped()) await runOne(wave[next++]!);
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, wave.length)) }, worker));
      if (stopped()) break;
    }
    if (stopped()) break;
  }

  // Report every action in plan order; those never started stay "planned".
  const ordered = plan.actions.map((a) => results.get(a) ?? { ...a, status: "planned" as const });
  // A run stopped by a systemic failure says nothing about the objects that failed in it.
  const failures = recordOutcomes(plan.state.failures ?? {}, ordered, options.clock(), { countFailures: stoppedEarly === undefined });
  if (Object.keys(failures).length > 0) state.failures = failures;
  else delete state.failures;
  const outcome: ApplyOutcome = { results: ordered, state, interrupted: options.signal?.aborted === true };
  if (authError) outcome.authError = authError;
  if (stoppedEarly) outcome.stoppedEarly = stoppedEarly;
  return outcome;
}

/**
 * Splits a phase into waves so that an action referring to a user created in the same phase (a
 * report whose manager is a new hire too) runs after that create. Most phases are one wave.
 */
function inWaves(queue: PlannedAction[]): PlannedAction[][] {
  if (!queue.some((a) => a.pendingReferences)) return [queue];
  const creating = new Set(queue.filter((a) => a.op === "create" && a.type === "User").map((a) => a.sourceId));
  const waves: PlannedAction[][] = [];
  const done = new Set<string>();
  let left = queue;
  while (left.length > 0) {
    let ready = left.filter((a) => Object.values(a.pendingReferences ?? {}).every((id) => !creating.has(id) || done.has(id) || id === a.sourceId));
    // A cycle: one action goes ahead without its reference (the next run sets it), which
    // unblocks the rest of the cycle.
    if (ready.length === 0) ready = [left.find((a) => a.op === "create") ?? left[0]!];
    waves.push(ready);
    for (const a of ready) if (a.op === "create") done.add(a.sourceId);
    const readySet = new Set(ready);
    left = left.filter((a) => !readySet.has(a));
  }
  return waves;
}

/** Fills in references to users created earlier in this run; reports those whose user was not created. */
function resolvePending(action: PlannedAction, state: SyncState): { changes: PlannedAction["changes"]; attributes?: PlannedAction["attributes"]; missing: string[] } {
  const changes = { ...action.changes };
  const attributes = action.attributes ? { ...action.attributes } : undefined;
  const missing: string[] = [];
  for (const [path, sourceId] of Object.entries(action.pendingReferences ?? {})) {
    const targetId = state.users[sourceId]?.targetId;
    if (targetId) {
      changes[path] = { from: changes[path]?.from ?? null, to: targetId };
      if (attributes) attributes[path] = targetId;
    } else {
      delete changes[path];
      missing.push(`${path.replace(/^.*:/, "")} not set yet: ${sourceId} had no account at this point (not created, or created later in this run); the next run sets it`);
    }
  }
  return attributes ? { changes, attributes, missing } : { changes, missing };
}

async function runAction(action: PlannedAction, state: SyncState, options: ApplyOptions): Promise<string | undefined> {
  if (action.type === "Group") return runGroupAction(action, state, options);
  const { target } = options;
  const nowIso = () => options.clock().toISOString();
  switch (action.op) {
    case "create": {
      const resolved = resolvePending(action, state);
      const note = await createUser({ ...action, changes: resolved.changes, attributes: resolved.attributes ?? {} }, state, options);
      return joinNotes(note, resolved.missing);
    }
    case "update":
    case "unsuspend": {
      const resolved = resolvePending(action, state);
      if (Object.keys(resolved.changes).length === 0) return joinNotes(undefined, resolved.missing);
      const updated = await writeUserChanges(action.targetId!, resolved.changes, options);
      const record = state.users[action.sourceId];
      if (record) {
        if (action.op === "unsuspend") delete record.suspendedAt;
        recordRename(record, resolved.changes, updated);
      }
      return joinNotes(undefined, resolved.missing);
    }
    case "suspend": {
      await writeUserChanges(action.targetId!, { active: { from: true, to: false } }, options);
      const record = state.users[action.sourceId];
      if (record) record.suspendedAt = nowIso();
      return undefined;
    }
    case "delete": {
      await target.deleteUser(action.targetId!);
      delete state.users[action.sourceId];
      return undefined;
    }
    default:
      throw new Error(`a User action cannot be ${action.op}`);
  }
}

function joinNotes(note: string | undefined, more: string[]): string | undefined {
  const all = [...(note ? [note] : []), ...more];
  return all.length > 0 ? all.join("; ") : undefined;
}

/**
 * Writes a user's changes in the target's dialect: PATCH operations, or for a PUT-only target
 * the full resource as it is now (read fresh, so nobody's edit since the listing is lost)
 * with the changes laid over it.
 */
async function writeUserChanges(targetId: string, changes: PlannedAction["changes"], options: ApplyOptions): Promise<TargetUser | undefined> {
  if (options.dialect === "put") {
    const current = await options.target.getUser(targetId);
    if (!current) throw new TargetError(`the account ${targetId} is no longer on the target`, { status: 404 });
    return options.target.replaceUser(targetId, applyChanges(current.resource, changes, options.mapping));
  }
  const actual = options.actualById.get(targetId);
  const ops: PatchOperation[] = buildPatchOperations(changes, actual?.resource ?? {}, options.mapping);
  return options.target.patchUser(targetId, ops);
}

/**
 * Creates a user without ever creating it twice. When a POST may have been applied although no
 * answer came back, or the target says the user already exists, we look the user up and adopt
 * what we find. When the lookup finds nobody, the POST is sent again: userName is unique across
 * a SCIM service (RFC 7643 §4.1.1), so if an earlier one was applied after all and the app's
 * search lags behind its writes, the next is refused with 409 and we look again, rather than
 * leave a new colleague without an account until the next run. After CREATE_POSTS tries, the
 * next run reads the full listing and decides.
 */
async function createUser(action: PlannedAction, state: SyncState, options: ApplyOptions, posted = 1): Promise<string | undefined> {
  // From the second POST on, an earlier one may have been applied: a 409 is then most likely ours.
  const earlierMayExist = posted > 1;
  const attributes = action.attributes ?? {};
  const resource = buildUserResource(attributes, options.mapping, true);
  const record = (target: TargetUser, origin: StateUser["origin"]): StateUser => {
    const entry: StateUser = { targetId: target.id, userName: target.userName, origin, since: options.clock().toISOString(), conditions: {} };
    state.users[action.sourceId] = entry;
    return entry;
  };
  try {
    const created = await options.target.createUser(resource);
    record(created, "created");
    return undefined;
  } catch (error) {
    if (!(error instanceof TargetError) || error instanceof TargetAuthError) throw error;
    const conflict = error.status === 409;
    if (!conflict && !error.ambiguous) throw error;
    let lookup: Lookup;
    try {
      lookup = await lookUpUser(action, options);
    } catch (lookupError) {
      if (lookupError instanceof TargetAuthError) throw lookupError;
      throw new TargetError(
        `${error.message}; the create may have been applied, and looking the user up failed too (${messageOf(lookupError)}); the next run will check`,
        { ambiguous: error.ambiguous, cause: lookupError },
      );
    }
    if (lookup.several) {
      throw new TargetError(`${error.message}; ${lookup.several}, so none is adopted and nothing is created; resolve the duplicate on the target`, {
        ambiguous: error.ambiguous || earlierMayExist,
      });
    }
    const existing = lookup.user;
    if (!existing) {
      if (conflict && earlierMayExist) {
        throw new TargetError(`${error.message}; an earlier create's answer was lost and the target's search does not show the user yet; the next run will check`, {
          ambiguous: true,
          cause: error,
        });
      }
      if (conflict) {
        const keys = options.matchBy === "externalId" ? "externalId or userName" : "userName";
        throw new TargetError(`${error.message} (no user with this ${keys} exists: the clash is on another unique attribute, such as the email)`, {
          status: error.status,
          scimType: error.scimType,
          detail: error.detail,
        });
      }
      if (mayPostAgain(error, posted)) {
        const note = await createUser(action, state, options, posted + 1);
        return note ?? "the create's answer was lost and the user was not found afterwards; created it with another request";
      }
      throw new TargetError(`${error.message}; the user was not found on the target afterwards, so the next run will check again and create it if still missing`, {
        ambiguous: true,
        cause: error,
      });
    }
    ensureAdoptable(existing, action, state);
    const entry = record(existing, error.ambiguous || earlierMayExist ? "created" : "adopted");
    const changes = diffAttributes(attributes, existing.resource, options.mapping);
    if (!existing.active) changes.active = { from: false, to: true };
    if (Object.keys(changes).length > 0) {
      const updated =
        options.dialect === "put"
          ? await options.target.replaceUser(existing.id, applyChanges(existing.resource, changes, options.mapping))
          : await options.target.patchUser(existing.id, buildPatchOperations(changes, existing.resource, options.mapping));
      recordRename(entry, changes, updated);
    }
    if (conflict && earlierMayExist) return "an earlier create's answer was lost; the repeat was refused (409) and the user found and recorded";
    return conflict
      ? "the target already had this user (409); adopted it instead of creating a duplicate"
      : "the create's answer was lost; found the user on the target and adopted it";
  }
}

/** The user a lookup found; `several` (why) when more than one fits, which is never "nobody". */
interface Lookup {
  user?: TargetUser;
  several?: string;
}

async function lookUpUser(action: PlannedAction, options: ApplyOptions): Promise<Lookup> {
  if (options.matchBy === "externalId") {
    const byExternalId = await options.target.findUsers("externalId", action.sourceId);
    if (byExternalId.length === 1) return { user: byExternalId[0]! };
    if (byExternalId.length > 1) return { several: `${byExternalId.length} target users have externalId ${action.sourceId}` };
  }
  const byUserName = await options.target.findUsers("userName", action.key);
  const exact = byUserName.filter((u) => u.userName.toLowerCase() === action.key.toLowerCase());
  if (exact.length > 1) return { several: `${exact.length} target users have userName ${action.key}` };
  return exact.length === 1 ? { user: exact[0]! } : {};
}

/**
 * The state keeps the userName the target has. The target's answer to the PATCH is the best
 * witness (some apps accept a rename and quietly keep the old name); without an answer body
 * (204) the rename is taken as done.
 */
function recordRename(record: StateUser, changes: PlannedAction["changes"], answer: TargetUser | undefined): void {
  if (answer) {
    record.userName = answer.userName;
    return;
  }
  const to = changes.userName?.to;
  if (typeof to === "string") record.userName = to;
}

/** The planner's adoption rules, for an account found only at apply time. */
function ensureAdoptable(existing: TargetUser, action: PlannedAction, state: SyncState): void {
  for (const [sourceId, user] of Object.entries(state.users)) {
    if (user.targetId === existing.id && sourceId !== action.sourceId) {
      throw new TargetError(`${action.key}: the target account ${existing.userName} belongs to another managed user (${sourceId})`, {});
    }
  }
  if (isInactiveStranger(existing, action.sourceId)) {
    throw new TargetError(
      `${action.key}: the target has an inactive account ${existing.userName} that scimsync does not manage; not adopted or reactivated`,
      { hint: "reactivate it in the app for scimsync to adopt it, or delete or rename it to have a new account created" },
    );
  }
}
