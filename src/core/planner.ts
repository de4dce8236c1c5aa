import type {
  ActionOp,
  Adoption,
  AttributeChange,
  DeprovisionPolicy,
  DeprovisionReason,
  DesiredUser,
  Plan,
  PlannedAction,
  Hold,
  SafetyLimits,
  ResourceType,
  ScheduledAction,
  StateUser,
  SyncState,
  TargetUser,
} from "./model.js";
import { diffAttributes, type CompiledEntry, type MatchAttribute, type MatchBy } from "./mapping.js";
import { isInactiveStranger, TargetIndex } from "./target-index.js";
import { exceedsLimits, judgeSafety } from "./safety.js";
import { compareKeys, sortedByKey } from "./compare-keys.js";
import { dueAfter } from "./delay.js";
import { applyRank } from "./apply-phases.js";
import { planGroupStructure, planMemberships, type GroupPlanInput, type UserFate } from "./group-planner.js";
import { escrowHoldOf, failureKey, isWaiting, mayWait } from "./escrow.js";

export { judgeSafety } from "./safety.js";

export interface PlanInput {
  desired: DesiredUser[];
  /** Every user on the target. */
  actual: TargetUser[];
  state: SyncState;
  policy: DeprovisionPolicy;
  safety: SafetyLimits;
  mapping: CompiledEntry[];
  matchBy: MatchBy;
  /** The precedence of matching attributes; default from matchBy (externalId, then userName; or userName only). */
  matching?: MatchAttribute[];
  now: Date;
  /**
   * false when the directory or the scope could not be read completely: then absence proves
   * nothing and no suspend or delete is planned, nor any new deprovisioning timer started.
   */
  deprovisioningAllowed: boolean;
  /** Why deprovisioning is not allowed, for the administrator. */
  failClosedReason?: string;
  /**
   * Managed accounts missing from the listing whose lookup by id failed, with the error: their
   * users are held, since "missing" proves nothing about them.
   */
  unconfirmedTargetIds?: Record<string, string>;
  /** Users whose source record was malformed and skipped: left exactly as they are. */
  protectedIds?: string[];
  protectedUserNames?: string[];
  allowMassDeprovision?: boolean;
  /** Notes from earlier steps (source problems, scope) to carry into the plan. */
  warnings?: string[];
  /** Absent: groups are not in play (an app without groups, or provisionGroups none with none managed). */
  groups?: GroupPlanInput;
  /**
   * When the directory says users were deleted (source id -> ISO time, see SourceSnapshot): a
   * new `deleted` timer starts then rather than now. A time in the future counts as now.
   */
  deletedAt?: Record<string, string>;
  /** Ignore escrow's pauses for this run (sync --retry-now): objects that failed before are tried now. */
  retryFailed?: boolean;
}

const OP_ORDER: Record<ActionOp, number> = { unsuspend: 0, update: 1, create: 2, suspend: 3, delete: 4, "add-members": 5, "remove-members": 6 };

function cloneUsers(users: Record<string, StateUser>): Record<string, StateUser> {
  const out: Record<string, StateUser> = {};
  for (const id in users) {
    const u = users[id]!;
    out[id] = { ...u, conditions: { ...u.conditions } };
  }
  return out;
}

/**
 * Decides what one run should do. Pure: everything it knows comes in through `input`,
 * including the clock, so every deprovisioning transition is a unit test with another `now`.
 */
export function planChanges(input: PlanInput): Plan {
  const nowIso = input.now.toISOString();
  const nowMs = input.now.getTime();
  const matching: MatchAttribute[] = input.matching ?? (input.matchBy === "externalId" ? ["externalId", "userName"] : ["userName"]);
  const knownSourceIds = new Set<string>();
  for (const d of input.desired) knownSourceIds.add(d.sourceId);
  for (const sourceId in input.state.users) knownSourceIds.add(sourceId);
  const index = new TargetIndex(input.actual, matching, knownSourceIds);
  const users = cloneUsers(input.state.users);
  const managedCount = Object.keys(input.state.users).length;
  const actions: PlannedAction[] = [];
  const scheduled: ScheduledAction[] = [];
  const adopted: Adoption[] = [];
  const held: Hold[] = [];
  const heldIds = new Set<string>();
  const warnings = [...(input.warnings ?? [])];
  const protectedIds = new Set(input.protectedIds ?? []);
  const protectedNames = new Set((input.protectedUserNames ?? []).map((n) => n.toLowerCase()));
  const unconfirmed = input.unconfirmedTargetIds ?? {};
  const desiredById = new Map(input.desired.map((d) => [d.sourceId, d]));

  // Which source id manages which target id, so a newcomer never takes over a managed account.
  const managedTargetIds = new Map<string, string>();
  const located = new Map<string, TargetUser>();
  const bind = (sourceId: string, target: TargetUser): void => {
    index.claim(target);
    located.set(sourceId, target);
    managedTargetIds.set(target.id, sourceId);
  };
  // A held record stays exactly as it is: not re-matched, re-created, dropped or deprovisioned.
  const hold = (sourceId: string, key: string, reason: string): void => {
    const want = desiredById.get(sourceId);
    // A leaver on hold keeps access: say so, since that is what the administrator must weigh.
    const leaving =
      users[sourceId] && (!want || want.status !== "active") ? "; meanwhile this user has left the directory or the scope and still has access" : "";
    held.push({ type: "User", key, sourceId, reason: reason + leaving });
    heldIds.add(sourceId);
  };
  // Escrow: an object that failed before waits out its pause (see escrow.ts); its record stays.
  const failures = { ...(input.state.failures ?? {}) };
  const escrowed = new Set<string>();
  const waitingRecord = (type: ResourceType, sourceId: string) => {
    const record = failures[failureKey(type, sourceId)];
    return record && isWaiting(record, input.now, input.retryFailed === true) ? record : undefined;
  };
  /** Holds the object's action when it waits; true when it does. */
  const waitFor = (type: ResourceType, sourceId: string, key: string, op: ActionOp, accountActive?: boolean): boolean => {
    if (!mayWait(type, op, accountActive)) return false;
    const record = waitingRecord(type, sourceId);
    if (!record) return false;
    const id = failureKey(type, sourceId);
    if (!escrowed.has(id)) held.push({ type, key, sourceId, ...escrowHoldOf(record) });
    escrowed.add(id);
    return true;
  };
  // Users waiting in escrow whose memberships and references are left as they are this run.
  const waitingUsers = new Set<string>();

  // Every record whose account is still there is bound before any record is re-matched:
  // otherwise a record whose account vanished, coming earlier in the state, could take over
  // another managed user's account by userName (a leaver re-matched to the new hire who reuses
  // the userName), which would then be suspended or deleted as the leaver's.
  let vanished: string[] = [];
  // for-in rather than Object.entries here and below: no array of pairs per loop over 100,000 users.
  for (const sourceId in users) {
    const record = users[sourceId]!;
    const target = index.get(record.targetId);
    if (target && !index.isClaimed(target)) {
      if (index.isSameAccount(target, sourceId, [record.userName, desiredById.get(sourceId)?.userName ?? record.userName])) {
        bind(sourceId, target);
        record.userName = target.userName; // what the target says now is the truth to match by later
        continue;
      }
      // Ids are not proof: another tenant behind the same URL, an app that reuses ids, or a
      // rename we did not make. Claimed so nobody adopts it while in doubt.
      index.claim(target);
      managedTargetIds.set(target.id, sourceId);
      const externalIdDiffers = matching.includes("externalId") && target.externalId !== undefined && target.externalId !== sourceId;
      hold(
        sourceId,
        record.userName,
        externalIdDiffers
          ? `its account ${target.id} (${target.userName}) now carries externalId ${target.externalId}, not ${sourceId}; ` +
              `nothing is done for this user until that is resolved (set the externalId back in the app, or check that state.path and the token belong to this target)`
          : `its account ${target.id} is now named ${target.userName}, not ${record.userName} as scimsync recorded; ` +
              `nothing is done for this user until that is resolved (rename the account back in the app, or check that state.path and the token belong to this target)`,
      );
      continue;
    }
    if (target) {
      hold(sourceId, record.userName, `its account ${target.id} is recorded for another user too; check the state file`);
      continue;
    }
    const lookupError = unconfirmed[record.targetId];
    if (lookupError !== undefined) {
      hold(
        sourceId,
        record.userName,
        `its account ${record.targetId} is missing from the target's user list and looking it up failed (${lookupError}); it is checked again next run`,
      );
      continue;
    }
    vanished.push(sourceId);
  }

  // Many managed accounts gone at once is likelier a wrong tenant or a broken app than real
  // deletions: nothing is dropped or re-created for them until an administrator agrees.
  const vanishedReason = input.allowMassDeprovision
    ? undefined
    : exceedsLimits(vanished.length, managedCount, input.safety, "have disappeared from the target");
  if (vanishedReason) {
    for (const sourceId of vanished) hold(sourceId, users[sourceId]!.userName, `its account is gone from the target, and so are many others: ${vanishedReason}`);
    vanished = [];
  }

  for (const sourceId of vanished) {
    // Recreated or restored on the target under a new id: find it the way we would adopt it.
    // Only for users still active in the source. A user on its way out whose account vanished is
    // dropped instead: re-matching it could bind an account we never managed (one made by hand
    // with the same userName) and then suspend or delete it.
    const want = desiredById.get(sourceId);
    if (want?.status !== "active") continue;
    const found = index.match(sourceId, want.userName);
    if (found.user && !isInactiveStranger(found.user, sourceId)) {
      users[sourceId]!.targetId = found.user.id;
      users[sourceId]!.userName = found.user.userName;
      bind(sourceId, found.user);
      if (found.user.externalId !== sourceId) {
        const adoption: Adoption = { type: "User", key: want.userName, sourceId, targetId: found.user.id };
        if (found.user.externalId) adoption.previousExternalId = found.user.externalId;
        adopted.push(adoption);
      }
    } else {
      // The account is confirmed gone and nothing else is this person's: the record has nothing
      // left to hold, and keeping it would count the same disappearance again every run.
      delete users[sourceId];
    }
  }

  const knownDeletion = (sourceId: string): string | undefined => {
    const at = Date.parse(input.deletedAt?.[sourceId] ?? "");
    return Number.isNaN(at) ? undefined : new Date(Math.min(at, nowMs)).toISOString();
  };
  const deprovision = (sourceId: string, record: StateUser, reason: DeprovisionReason): void => {
    const key = record.userName;
    const target = located.get(sourceId);
    if (!target) {
      // Gone from the target (confirmed by id, not just missing from a listing): nothing left to
      // suspend or delete, nothing left to manage.
      warnings.push(`${key}: the account is no longer on the target; scimsync stops tracking it`);
      delete users[sourceId];
      return;
    }
    const backdated = record.conditions[reason] === undefined && reason === "deleted" ? knownDeletion(sourceId) : undefined;
    const since = record.conditions[reason] ?? backdated ?? nowIso;
    record.conditions = { [reason]: since };
    const rule = input.policy[reason];
    let deleteDue = dueAfter(since, rule.delete);
    const suspendDue = dueAfter(since, rule.suspend);
    if (backdated && deleteDue && deleteDue.getTime() <= nowMs) {
      // Learned late (scimsync was not running, or failing closed): a hard delete is never the
      // first thing done to such an account. It is shown as due now and done by the next run.
      warnings.push(`${key}: deleted in the directory at ${backdated}, first seen now; the overdue delete is done by the next run`);
      deleteDue = new Date(nowMs);
      if (target.active && rule.suspend !== "never") {
        actions.push({ op: "suspend", type: "User", key, sourceId, targetId: target.id, changes: { active: { from: true, to: false } }, reason });
      }
      scheduled.push({ op: "delete", type: "User", key, sourceId, reason, due: deleteDue.toISOString() });
      return;
    }
    if (deleteDue && deleteDue.getTime() <= nowMs) {
      if (waitFor("User", sourceId, key, "delete", target.active)) return;
      actions.push({ op: "delete", type: "User", key, sourceId, targetId: target.id, changes: {}, reason });
      return;
    }
    if (suspendDue && suspendDue.getTime() <= nowMs) {
      if (target.active) {
        actions.push({
          op: "suspend",
          type: "User",
          key,
          sourceId,
          targetId: target.id,
          changes: { active: { from: true, to: false } },
          reason,
        });
      }
    } else if (suspendDue && target.active) {
      // An account that is already inactive (suspended by us for an earlier reason, or by hand)
      // has no suspend ahead of it; listing one would announce an action that never happens.
      scheduled.push({ op: "suspend", type: "User", key, sourceId, reason, due: suspendDue.toISOString() });
    }
    if (deleteDue) scheduled.push({ op: "delete", type: "User", key, sourceId, reason, due: deleteDue.toISOString() });
  };

  // Diffs wait until every user's fate is known: a manager attribute needs the manager's target id.
  const existing: Array<{ want: (typeof input.desired)[number]; target: TargetUser }> = [];
  const creates: Array<(typeof input.desired)[number]> = [];
  const sortedDesired = sortedByKey(input.desired, (d) => d.userName);
  for (const want of sortedDesired) {
    if (heldIds.has(want.sourceId)) continue;
    const record = users[want.sourceId];
    if (want.status !== "active") {
      if (!record) continue; // never create, adopt or touch a user we do not manage
      if (input.deprovisioningAllowed) deprovision(want.sourceId, record, want.status);
      continue;
    }

    let target = record ? located.get(want.sourceId) : undefined;
    if (!target) {
      const found = index.match(want.sourceId, want.userName);
      if (found.ambiguous) {
        hold(want.sourceId, want.userName, `not created or adopted: ${found.ambiguous}; resolve the duplicate on the target`);
        continue;
      }
      if (found.taken) {
        // Never adopt another managed user's account, and never plan a create the target would
        // refuse for the duplicate userName: wait until that account is deleted.
        const holder = managedTargetIds.get(found.taken.id) ?? found.taken.externalId ?? "unknown";
        hold(
          want.sourceId,
          want.userName,
          `not created: the target account ${found.taken.userName} still belongs to another directory user (${holder}); ` +
            `it is created once that account is renamed or deleted`,
        );
        continue;
      }
      if (found.user && isInactiveStranger(found.user, want.sourceId)) {
        hold(
          want.sourceId,
          want.userName,
          `the target has an inactive account ${found.user.userName} that scimsync does not manage (perhaps a former employee's); ` +
            `not adopted or reactivated. Reactivate it in the app for scimsync to adopt it, or delete or rename it to have a new account created`,
        );
        continue;
      }
      if (found.user) {
        target = found.user;
        bind(want.sourceId, target);
        const adoption: Adoption = { type: "User", key: want.userName, sourceId: want.sourceId, targetId: target.id };
        if (target.externalId && target.externalId !== want.sourceId) adoption.previousExternalId = target.externalId;
        adopted.push(adoption);
        users[want.sourceId] = { targetId: target.id, userName: target.userName, origin: "adopted", since: nowIso, conditions: {} };
      }
    }

    if (!target) {
      // A stale record (the target account vanished) is replaced when the create succeeds.
      if (record) record.conditions = {};
      if (waitFor("User", want.sourceId, want.userName, "create")) {
        waitingUsers.add(want.sourceId);
        continue;
      }
      creates.push(want);
      continue;
    }
    users[want.sourceId]!.conditions = {};
    // An inactive account would be unsuspended: while that waits, the account stays as it is.
    if (!target.active && waitFor("User", want.sourceId, want.userName, "unsuspend")) {
      waitingUsers.add(want.sourceId);
      continue;
    }
    existing.push({ want, target });
  }

  // Managed users the directory no longer lists. (Deleting the current key in for-in is safe.)
  for (const sourceId in users) {
    const record = users[sourceId]!;
    if (desiredById.has(sourceId) || heldIds.has(sourceId)) continue;
    if (protectedIds.has(sourceId) || protectedNames.has(record.userName.toLowerCase())) continue;
    if (!input.deprovisioningAllowed) continue;
    deprovision(sourceId, record, "deleted");
  }

  // What becomes of every user, for references and memberships.
  // A run the user limits will stop applies no suspend or delete: those users stay as they are,
  // so nothing may be planned on the assumption that they go (a report's manager cleared).
  const userDeprovisions = actions.filter((a) => a.op === "suspend" || a.op === "delete");
  const usersBlocked =
    !input.allowMassDeprovision &&
    (vanishedReason !== undefined || exceedsLimits(userDeprovisions.length, managedCount, input.safety, "") !== undefined);
  const deleting = new Set(usersBlocked ? [] : userDeprovisions.filter((a) => a.op === "delete").map((a) => a.sourceId));
  const deprovisioning = new Set(userDeprovisions.map((a) => a.sourceId));
  const fates = new Map<string, UserFate>();
  for (const sourceId in users) {
    const record = users[sourceId]!;
    const fate: UserFate = { userName: record.userName };
    const target = located.get(sourceId);
    if (target && !deleting.has(sourceId)) fate.targetId = target.id;
    if (heldIds.has(sourceId) || waitingUsers.has(sourceId) || protectedIds.has(sourceId) || protectedNames.has(record.userName.toLowerCase())) {
      fate.frozen = true;
      fate.targetId = record.targetId;
    } else if (desiredById.get(sourceId)?.status !== "active") {
      // A leaver's memberships go with the account: when it is suspended or deleted, not while
      // the delay runs, so a wrong export or scope cannot strip permissions faster than accounts.
      if (deprovisioning.has(sourceId) || (target && !target.active)) fate.leaving = true;
      else fate.frozen = true;
    }
    fates.set(sourceId, fate);
  }
  for (const want of creates) fates.set(want.sourceId, { userName: want.userName, pending: true });
  // A newcomer whose create waits has no account: references to it are left as the target has them.
  for (const sourceId of waitingUsers) if (!fates.has(sourceId)) fates.set(sourceId, { userName: desiredById.get(sourceId)!.userName, frozen: true });
  for (const { want, target } of existing) if (!target.active) fates.get(want.sourceId)!.unsuspended = true;

  /**
   * The references resolved to target ids (values over the desired attributes); those pointing
   * at a user created in this run are left pending.
   */
  const resolve = (want: (typeof input.desired)[number]) => {
    if (!want.references) return { resolved: undefined, pending: undefined };
    let resolved: Record<string, string | null> | undefined;
    let pending: Record<string, string> | undefined;
    for (const path in want.references) {
      const sourceId = want.references[path]!;
      const fate = fates.get(sourceId);
      if (fate?.targetId && !fate.frozen) (resolved ??= {})[path] = fate.targetId;
      else if (fate?.pending) (pending ??= {})[path] = sourceId;
      // A managed manager whose account is deleted now (or gone) would be a dangling reference.
      else if (fate && !fate.frozen && !fate.targetId) (resolved ??= {})[path] = null;
      // Otherwise the manager is not ours to point at (out of scope, held): the attribute is
      // left as the target has it rather than cleared or pointed at nothing.
    }
    return { resolved, pending };
  };

  for (const want of creates) {
    const { resolved, pending } = resolve(want);
    const attributes = resolved ? { ...want.attributes, ...resolved } : want.attributes;
    const changes: Record<string, AttributeChange> = {};
    for (const [path, value] of Object.entries(attributes)) if (value !== null) changes[path] = { from: null, to: value };
    const action: PlannedAction = { op: "create", type: "User", key: want.userName, sourceId: want.sourceId, changes, attributes };
    if (pending) {
      action.pendingReferences = pending;
      for (const [path, sourceId] of Object.entries(pending)) changes[path] = { from: null, to: `(${fates.get(sourceId)!.userName}, created in this run)` };
    }
    actions.push(action);
  }
  for (const { want, target } of existing) {
    const { resolved, pending } = resolve(want);
    const changes = diffAttributes(want.attributes, target.resource, input.mapping, resolved);
    for (const [path, sourceId] of Object.entries(pending ?? {})) {
      const entry = input.mapping.find((e) => e.target === path);
      changes[path] = { from: entry ? readManager(target, entry) : null, to: `(${fates.get(sourceId)!.userName}, created in this run)` };
    }
    const base = { type: "User" as const, key: want.userName, sourceId: want.sourceId, targetId: target.id };
    let action: PlannedAction | undefined;
    if (!target.active) {
      action = { ...base, op: "unsuspend", changes: { active: { from: false, to: true }, ...changes } };
    } else {
      // Guarded: a delete, even of an absent key, can turn 100,000 small records into slow dictionaries.
      const record = users[want.sourceId]!;
      if (record.suspendedAt !== undefined) delete record.suspendedAt;
      if (Object.keys(changes).length > 0) action = { ...base, op: "update", changes };
    }
    if (action && pending) action.pendingReferences = pending;
    if (action && waitFor("User", want.sourceId, want.userName, action.op)) continue;
    if (action) actions.push(action);
  }

  let groupState = input.state.groups;
  let groupMembersHidden = input.state.groupMembersHidden === true;
  let membersSeen = input.state.groupMembersHidden === false;
  let managedGroups = 0;
  let structure: ReturnType<typeof planGroupStructure> | undefined;
  if (input.groups) {
    structure = planGroupStructure(input.groups, input.state.groups, input.now, input.deprovisioningAllowed);
    actions.push(...structure.actions.filter((a) => !waitFor("Group", a.sourceId, a.key, a.op)));
    scheduled.push(...structure.scheduled);
    adopted.push(...structure.adopted);
    held.push(...structure.held);
    warnings.push(...structure.warnings);
    groupState = structure.groups;
    managedGroups = Object.keys(input.state.groups).length;
  }

  const safety = judgeSafety(actions, { users: managedCount, groups: managedGroups }, input.safety, input.allowMassDeprovision ?? false);
  if (vanishedReason) {
    safety.blocked = true;
    safety.reason = safety.reason ? `${safety.reason}; ${vanishedReason}` : vanishedReason;
  }
  if (!input.deprovisioningAllowed) {
    safety.failClosed = input.failClosedReason ?? "the directory or the scope could not be read completely";
    warnings.push(`${safety.failClosed}: no user is suspended or deleted in this run` + (input.groups ? ", no group deleted and no membership removed" : ""));
  }

  if (input.groups && structure) {
    const managedTargetIds = new Map<string, string>();
    for (const sourceId in users) managedTargetIds.set(users[sourceId]!.targetId, sourceId);
    const memberships = planMemberships(input.groups, structure, {
      fates,
      managedTargetIds,
      groupMembersHidden,
      removalsAllowed: input.deprovisioningAllowed,
      deprovisionBlocked: safety.blocked,
    });
    actions.push(...memberships.actions.filter((a) => !waitFor("Group", a.sourceId, a.key, a.op)));
    warnings.push(...memberships.warnings);
    groupMembersHidden = memberships.groupMembersHidden;
    membersSeen = memberships.membersSeen || (membersSeen && !groupMembersHidden);
  }

  const sortedActions = sortedByKey(actions, (a) => a.key, (a) => applyRank(a) * 10 + OP_ORDER[a.op]);
  scheduled.sort((a, b) => a.due.localeCompare(b.due) || compareKeys(a.key, b.key));
  const sortedHeld = sortedByKey(held, (h) => h.key);

  const state: Plan["state"] = { targetUrl: input.state.targetUrl, users, groups: groupState };
  // A record is kept while its object has an action planned or waits; otherwise nothing is
  // needed any more (the directory changed, the object is gone) and it is dropped.
  const planned = new Set([...actions.map((a) => failureKey(a.type, a.sourceId)), ...escrowed]);
  for (const key of Object.keys(failures)) if (!planned.has(key)) delete failures[key];
  if (Object.keys(failures).length > 0) state.failures = failures;
  // true: the target hides members; false: it has been seen returning them (so a group read
  // without members is empty); absent: not known yet.
  if (groupMembersHidden) state.groupMembersHidden = true;
  else if (membersSeen) state.groupMembersHidden = false;
  return { now: nowIso, actions: sortedActions, scheduled, adopted, held: sortedHeld, safety, warnings, state };
}

function readManager(target: TargetUser, entry: CompiledEntry): AttributeChange["from"] {
  return diffAttributes({ [entry.target]: null }, target.resource, [{ ...entry, clearWhenEmpty: true }])[entry.target]?.from ?? null;
}
