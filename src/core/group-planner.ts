/**
 * The group half of planning: which groups to create, rename, adopt or delete, and which
 * memberships to add or remove. Pure like the user planner, which calls it once it knows what
 * becomes of every user.
 */
import type {
  Adoption,
  DesiredGroup,
  GroupDeprovisionRule,
  Hold,
  MemberRef,
  PlannedAction,
  ScheduledAction,
  StateGroup,
  StateUser,
  TargetGroup,
} from "./model.js";
import { diffAttributes, type CompiledEntry } from "./mapping.js";
import { compareKeys } from "./compare-keys.js";
import { dueAfter } from "./delay.js";

export type ReadGroupMembers = "changed" | "always" | "never";

export interface GroupPlanInput {
  desired: DesiredGroup[];
  /** Every group on the target, listed without members; undefined when the target has no group support. */
  actual: TargetGroup[] | undefined;
  mapping: CompiledEntry[];
  policy: GroupDeprovisionRule;
  /**
   * Members read from the target this run, by target group id (see groupsNeedingMemberReads);
   * undefined for a group whose answer carried no `members` at all.
   */
  memberReads?: Map<string, string[] | undefined>;
  /**
   * Ids of every group in the directory, provisioned or not: a managed group that is still there
   * but no longer provisioned is deleted as out of scope, not as gone from the directory.
   */
  directoryIds?: string[];
  /** Managed groups missing from the listing whose lookup by id failed, with the error: held, since missing proves nothing. */
  unconfirmedTargetIds?: Record<string, string>;
}

/** What the user planner knows about a user, for membership decisions. */
export interface UserFate {
  userName: string;
  /** The account's target id, when it exists and stays (not deleted in this run). */
  targetId?: string;
  /** The account is created in this run: its id is known only at apply time. */
  pending?: boolean;
  /**
   * Memberships left exactly as they are: a held user, a user whose directory record was skipped,
   * or a leaver whose suspension is not due yet (memberships go with the account, not before).
   */
  frozen?: boolean;
  /** On the way out and suspended or deleted in this run, or already inactive: memberships go. */
  leaving?: boolean;
  /** Reactivated in this run: the target may have dropped its memberships while it was inactive. */
  unsuspended?: boolean;
}

export interface GroupStructure {
  actions: PlannedAction[];
  scheduled: ScheduledAction[];
  adopted: Adoption[];
  held: Hold[];
  warnings: string[];
  groups: Record<string, StateGroup>;
  /** Desired groups that exist or are created in this run, with their target group (undefined: created). */
  bound: Array<{ want: DesiredGroup; target?: TargetGroup }>;
  /** Managed groups no longer wanted but still on the target: leavers are still taken out of them. */
  orphans: Array<{ sourceId: string; target: TargetGroup }>;
}

function cloneGroups(groups: Record<string, StateGroup>): Record<string, StateGroup> {
  const out: Record<string, StateGroup> = {};
  for (const [id, g] of Object.entries(groups)) out[id] = { ...g, members: [...g.members] };
  return out;
}

/** Whether groups are recognised by externalId too: only when the group mapping writes one. */
export function mapsExternalId(mapping: CompiledEntry[]): boolean {
  return mapping.some((e) => e.target.toLowerCase() === "externalid");
}

/** Target groups indexed by the two ways a group is recognised: externalId, then displayName ignoring case. */
class GroupIndex {
  readonly byId = new Map<string, TargetGroup>();
  private readonly byExternalId = new Map<string, TargetGroup[]>();
  private readonly byName = new Map<string, TargetGroup[]>();
  readonly claimed = new Set<string>();

  constructor(groups: TargetGroup[]) {
    for (const g of groups) {
      this.byId.set(g.id, g);
      if (g.externalId) push(this.byExternalId, g.externalId, g);
      push(this.byName, g.displayName.toLowerCase(), g);
    }
  }

  match(sourceId: string, displayName: string, byExternalId: boolean): { group?: TargetGroup; problem?: string } {
    if (byExternalId) {
      const hits = (this.byExternalId.get(sourceId) ?? []).filter((g) => !this.claimed.has(g.id));
      if (hits.length === 1) return { group: hits[0]! };
      if (hits.length > 1) return { problem: `${hits.length} target groups have externalId ${sourceId}` };
    }
    const all = this.byName.get(displayName.toLowerCase()) ?? [];
    const free = all.filter((g) => !this.claimed.has(g.id) && !(byExternalId && g.externalId && g.externalId !== sourceId && g.externalId !== ""));
    if (free.length === 1) return { group: free[0]! };
    if (free.length > 1) return { problem: `${free.length} target groups are named ${displayName} (ignoring case)` };
    if (all.length > 0) return { problem: `the target group ${all[0]!.displayName} already belongs to another directory group` };
    return {};
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Target group ids whose members must be read before planning. With `changed`, a group is read
 * only when the directory's members differ from what the state recorded (or nothing is
 * recorded, as for a group about to be adopted), so a run with nothing changed reads none.
 */
export function groupsNeedingMemberReads(
  desired: DesiredGroup[],
  actual: TargetGroup[],
  state: { groups: Record<string, StateGroup>; users: Record<string, StateUser>; groupMembersHidden?: boolean },
  mapping: CompiledEntry[],
  mode: ReadGroupMembers,
): string[] {
  // A target known to hide members is still read when something changed: its answer then tells
  // nothing, but a target that does answer with members proves the flag wrong and clears it.
  if (mode === "never") return [];
  const index = new GroupIndex(actual);
  const reads: string[] = [];
  for (const record of Object.values(state.groups)) if (index.byId.has(record.targetId)) index.claimed.add(record.targetId);
  for (const want of desired) {
    const record = state.groups[want.sourceId];
    const bound = record && index.byId.get(record.targetId);
    if (bound) {
      if (bound.members !== undefined) continue; // the listing carried them already
      if (mode === "always") {
        reads.push(bound.id);
        continue;
      }
      const recorded = new Set(record.members);
      const wanted = want.memberIds.map((id) => state.users[id]?.targetId);
      const same = wanted.length === recorded.size && wanted.every((id) => id !== undefined && recorded.has(id));
      if (!same) reads.push(bound.id);
      continue;
    }
    const found = index.match(want.sourceId, want.displayName, mapsExternalId(mapping)).group;
    if (found && found.members === undefined) {
      index.claimed.add(found.id);
      reads.push(found.id);
    }
  }
  return reads;
}

/** Group creates, renames, adoptions and deletions. Memberships follow in planMemberships. */
export function planGroupStructure(
  input: GroupPlanInput,
  stateGroups: Record<string, StateGroup>,
  now: Date,
  deprovisioningAllowed: boolean,
): GroupStructure {
  const nowIso = now.toISOString();
  const groups = cloneGroups(stateGroups);
  const out: GroupStructure = { actions: [], scheduled: [], adopted: [], held: [], warnings: [], groups, bound: [], orphans: [] };
  if (input.actual === undefined) {
    if (input.desired.length > 0 || Object.keys(groups).length > 0) {
      out.warnings.push("the target does not support groups (/Groups answered 404): groups are skipped and only users are synced");
    }
    return out;
  }
  const index = new GroupIndex(input.actual);
  const desiredById = new Map(input.desired.map((g) => [g.sourceId, g]));
  const located = new Map<string, TargetGroup>();
  const heldIds = new Set<string>();
  const hold = (sourceId: string, key: string, reason: string) => {
    out.held.push({ type: "Group", key, sourceId, reason });
    heldIds.add(sourceId);
  };

  for (const [sourceId, record] of Object.entries(groups)) {
    const target = index.byId.get(record.targetId);
    if (target && !index.claimed.has(target.id)) {
      index.claimed.add(target.id);
      located.set(sourceId, target);
      record.displayName = target.displayName;
      continue;
    }
    if (target) {
      hold(sourceId, record.displayName, `its group ${target.id} is recorded for another directory group too; check the state file`);
      continue;
    }
    const lookupError = input.unconfirmedTargetIds?.[record.targetId];
    if (lookupError !== undefined) {
      hold(sourceId, record.displayName, `its group ${record.targetId} is missing from the target's group list and looking it up failed (${lookupError}); it is checked again next run`);
      continue;
    }
    // Gone from the target: recreated below when still wanted, forgotten otherwise.
    if (!desiredById.has(sourceId)) out.warnings.push(`group ${record.displayName}: no longer on the target; scimsync stops tracking it`);
    delete groups[sourceId];
  }

  const byExternalId = mapsExternalId(input.mapping);
  // Directory groups sharing a name (ignoring case): the app allows the name once. A group that
  // already has it in the app keeps it; which of the others would get it is a guess, so none does.
  const namesakes = new Map<string, string[]>();
  for (const want of input.desired) {
    const key = want.displayName.toLowerCase();
    namesakes.set(key, [...(namesakes.get(key) ?? []), want.sourceId]);
  }
  const hasName = (sourceId: string, name: string) => located.get(sourceId)?.displayName.toLowerCase() === name.toLowerCase();
  const sorted = [...input.desired].sort((a, b) => compareKeys(a.displayName, b.displayName));
  for (const want of sorted) {
    if (heldIds.has(want.sourceId)) continue;
    const sharing = namesakes.get(want.displayName.toLowerCase()) ?? [];
    if (sharing.length > 1 && !hasName(want.sourceId, want.displayName)) {
      hold(
        want.sourceId,
        want.displayName,
        `not created or adopted: directory groups ${sharing.join(", ")} all have the name ${want.displayName} (ignoring case), and the app needs unique group names; rename all but one in the directory`,
      );
      continue;
    }
    let target = located.get(want.sourceId);
    if (!target) {
      const found = index.match(want.sourceId, want.displayName, byExternalId);
      if (found.problem) {
        hold(want.sourceId, want.displayName, `not created or adopted: ${found.problem}; resolve it on the target`);
        continue;
      }
      if (found.group) {
        target = found.group;
        index.claimed.add(target.id);
        const adoption: Adoption = { type: "Group", key: want.displayName, sourceId: want.sourceId, targetId: target.id };
        if (target.externalId && target.externalId !== want.sourceId) adoption.previousExternalId = target.externalId;
        out.adopted.push(adoption);
        groups[want.sourceId] = { targetId: target.id, displayName: target.displayName, origin: "adopted", since: nowIso, members: [] };
      }
    }
    if (!target) {
      const changes: PlannedAction["changes"] = {};
      for (const [path, value] of Object.entries(want.attributes)) if (value !== null) changes[path] = { from: null, to: value };
      out.actions.push({ op: "create", type: "Group", key: want.displayName, sourceId: want.sourceId, changes, attributes: want.attributes });
      out.bound.push({ want });
      continue;
    }
    const record = groups[want.sourceId]!;
    delete record.removedSince;
    const changes = diffAttributes(want.attributes, target.resource, input.mapping);
    if (Object.keys(changes).length > 0) {
      out.actions.push({ op: "update", type: "Group", key: want.displayName, sourceId: want.sourceId, targetId: target.id, changes });
    }
    out.bound.push({ want, target });
  }

  // Managed groups the directory (or provisionGroups) no longer wants.
  const inDirectory = new Set(input.directoryIds ?? []);
  for (const [sourceId, record] of Object.entries(groups)) {
    if (desiredById.has(sourceId) || heldIds.has(sourceId)) continue;
    const target = located.get(sourceId);
    if (!target) continue;
    out.orphans.push({ sourceId, target });
    if (!deprovisioningAllowed) continue;
    const reason = inDirectory.has(sourceId) ? "outOfScope" : "deleted";
    const since = record.removedSince ?? nowIso;
    record.removedSince = since;
    const due = dueAfter(since, input.policy.delete);
    if (!due) continue;
    if (due.getTime() <= now.getTime()) {
      out.actions.push({ op: "delete", type: "Group", key: record.displayName, sourceId, targetId: target.id, changes: {}, reason });
    } else {
      out.scheduled.push({ op: "delete", type: "Group", key: record.displayName, sourceId, reason, due: due.toISOString() });
    }
  }
  return out;
}

export interface MembershipContext {
  /** What becomes of every managed, created or desired user, by source id. */
  fates: ReadonlyMap<string, UserFate>;
  /** Target id -> source id of every managed user. */
  managedTargetIds: ReadonlyMap<string, string>;
  /** Learned in an earlier run: the target does not return members. */
  groupMembersHidden: boolean;
  /** false: no removal at all, since the directory may have been read incompletely. */
  removalsAllowed: boolean;
  /** A safety limit holds back deprovisioning: leavers keep their memberships too. */
  deprovisionBlocked: boolean;
}

/**
 * Member additions and removals per group. Only memberships of users scimsync manages are
 * touched: members someone added by hand in the app stay. Where the target's members were not
 * read this run, the state's record of them stands in.
 */
export function planMemberships(
  input: GroupPlanInput,
  structure: GroupStructure,
  context: MembershipContext,
): { actions: PlannedAction[]; warnings: string[]; groupMembersHidden: boolean; membersSeen: boolean } {
  const { fates, managedTargetIds } = context;
  const actions: PlannedAction[] = [];
  const warnings: string[] = [];
  const frozen = new Set<string>();
  for (const fate of fates.values()) if (fate.frozen && fate.targetId) frozen.add(fate.targetId);
  // Ids of users no longer managed (their account vanished) are forgotten: they would otherwise
  // make every group look changed on every run.
  for (const record of Object.values(structure.groups)) record.members = record.members.filter((id) => managedTargetIds.has(id));

  const hidden = judgeHiddenMembers(input, structure, context.groupMembersHidden);
  if (hidden.learned) warnings.push("the target does not return group members; scimsync keeps track of memberships in its state file from now on");
  else if (hidden.value && structure.bound.length > 0) {
    warnings.push("the target does not return group members: memberships are taken from the state file, so members changed by hand in the app are not seen");
  }

  for (const { want, target } of structure.bound) {
    const record = structure.groups[want.sourceId];
    let actual: string[];
    let fresh = false;
    if (!target) actual = [];
    else {
      const read = readMembers(input, target);
      if (read.members) {
        actual = read.members;
        fresh = true;
      } else if (read.read && !hidden.value) {
        // Servers leave `members` out of an empty group.
        actual = [];
        fresh = true;
      } else actual = record?.members ?? [];
    }
    const actualSet = new Set(actual);
    if (record && fresh) record.members = actual.filter((id) => managedTargetIds.has(id));

    const wanted = new Set<string>();
    const adds: MemberRef[] = [];
    for (const memberId of want.memberIds) {
      const fate = fates.get(memberId);
      if (!fate || fate.frozen) continue;
      if (fate.pending) {
        adds.push({ sourceId: memberId, userName: fate.userName });
        continue;
      }
      if (!fate.targetId) continue;
      wanted.add(fate.targetId);
      // A reactivated account may have lost its memberships while inactive (a gap in Entra):
      // without a fresh read, they are added again rather than assumed present.
      if (!actualSet.has(fate.targetId) || (fate.unsuspended && !fresh)) adds.push({ sourceId: memberId, targetId: fate.targetId, userName: fate.userName });
    }
    const removes: MemberRef[] = [];
    if (context.removalsAllowed) {
      for (const targetId of actualSet) {
        const sourceId = managedTargetIds.get(targetId);
        if (sourceId === undefined || wanted.has(targetId) || frozen.has(targetId)) continue;
        if (context.deprovisionBlocked && fates.get(sourceId)?.leaving) continue;
        removes.push({ sourceId, targetId, userName: fates.get(sourceId)?.userName ?? targetId });
      }
    }
    const byName = (a: MemberRef, b: MemberRef) => compareKeys(a.userName, b.userName);
    const base = { type: "Group" as const, key: want.displayName, sourceId: want.sourceId, changes: {} };
    const targetId = target ? { targetId: target.id } : {};
    if (adds.length > 0) actions.push({ ...base, ...targetId, op: "add-members", members: adds.sort(byName) });
    if (removes.length > 0) actions.push({ ...base, ...targetId, op: "remove-members", members: removes.sort(byName) });
  }
  // A group on its way out is no longer kept in step, but a leaver still leaves it with the account.
  for (const { sourceId, target } of structure.orphans) {
    const record = structure.groups[sourceId];
    if (!record || !context.removalsAllowed) continue;
    const read = readMembers(input, target);
    const removes: MemberRef[] = [];
    for (const targetId of read.members ?? record.members) {
      const memberSourceId = managedTargetIds.get(targetId);
      const fate = memberSourceId === undefined ? undefined : fates.get(memberSourceId);
      if (!fate?.leaving || context.deprovisionBlocked) continue;
      removes.push({ sourceId: memberSourceId!, targetId, userName: fate.userName });
    }
    if (removes.length > 0) {
      actions.push({ op: "remove-members", type: "Group", key: record.displayName, sourceId, targetId: target.id, changes: {}, members: removes.sort((a, b) => compareKeys(a.userName, b.userName)) });
    }
  }
  return { actions, warnings, groupMembersHidden: hidden.value, membersSeen: hidden.answeredWithMembers };
}

/** Members of a group as read this run: from the listing (a target that ignores excludedAttributes) or a GET. */
function readMembers(input: GroupPlanInput, target: TargetGroup): { read: boolean; members?: string[] } {
  if (target.members !== undefined) return { read: true, members: target.members };
  if (!input.memberReads?.has(target.id)) return { read: false };
  const members = input.memberReads.get(target.id);
  return members === undefined ? { read: true } : { read: true, members };
}

/**
 * Whether the target hides group members. Any group answered with `members` proves it does not.
 * Only when every group read this run came back without members, one of them a group we
 * recorded members for, is it taken to hide them: a single group emptied by hand would look the
 * same, but then another group's members clear the flag as soon as they are read.
 */
function judgeHiddenMembers(
  input: GroupPlanInput,
  structure: GroupStructure,
  known: boolean,
): { value: boolean; learned: boolean; answeredWithMembers: boolean } {
  let answeredWithMembers = false;
  let recordedButMissing = false;
  for (const { want, target } of structure.bound) {
    if (!target) continue;
    const read = readMembers(input, target);
    if (!read.read) continue;
    if (read.members) answeredWithMembers = true;
    else if ((structure.groups[want.sourceId]?.members.length ?? 0) > 0) recordedButMissing = true;
  }
  if (answeredWithMembers) return { value: false, learned: false, answeredWithMembers };
  if (recordedButMissing && !known) return { value: true, learned: true, answeredWithMembers };
  return { value: known, learned: false, answeredWithMembers };
}
