/**
 * Applying group actions: create (without members), rename, membership changes in chunks, and
 * delete, with the state kept in step with every request that succeeded.
 */
import type { MemberRef, PlannedAction, StateGroup, SyncState, TargetGroup } from "../core/model.js";
import type { GroupTarget } from "../core/ports.js";
import { mapsExternalId } from "../core/group-planner.js";
import { applyChanges, buildGroupResource, buildPatchOperations, diffAttributes, type PatchOperation } from "../core/mapping.js";
import { messageOf, TargetAuthError, TargetError } from "../errors.js";
import type { ApplyOptions } from "./apply-plan.js";
import { mayPostAgain } from "./create-tries.js";

const DEFAULT_MEMBERS_PER_PATCH = 100;

/** Groups POSTed in this run, per run state: the only groups whose members we know without reading them. */
const createdInRun = new WeakMap<SyncState, Set<string>>();

function groupsOf(options: ApplyOptions): GroupTarget {
  const t = options.target;
  if (!t.listGroups || !t.createGroup || !t.patchGroup || !t.deleteGroup || !t.getGroup || !t.findGroups || !t.replaceGroup) {
    throw new Error("the target adapter does not implement groups");
  }
  return t as GroupTarget;
}

export async function runGroupAction(action: PlannedAction, state: SyncState, options: ApplyOptions): Promise<string | undefined> {
  const groups = groupsOf(options);
  const mapping = options.groupMapping ?? [];
  switch (action.op) {
    case "create":
      return createGroup(action, state, groups, options);
    case "update": {
      const targetId = action.targetId!;
      if (options.dialect === "put") {
        const current = await readForPut(groups, targetId, state);
        await groups.replaceGroup(targetId, applyChanges(current.resource, action.changes, mapping));
      } else {
        await groups.patchGroup(targetId, buildPatchOperations(action.changes, {}, mapping));
      }
      const record = state.groups[action.sourceId];
      const name = action.changes.displayName?.to;
      if (record && typeof name === "string") record.displayName = name;
      return undefined;
    }
    case "add-members":
    case "remove-members":
      return changeMembers(action, state, groups, options);
    case "delete":
      await groups.deleteGroup(action.targetId!);
      delete state.groups[action.sourceId];
      return undefined;
    default:
      throw new Error(`a Group action cannot be ${action.op}`);
  }
}

/**
 * POST /Groups without members (they follow as PATCHes, after every user exists). A 409 or a
 * lost answer is resolved by looking the group up. As in createUser, a create whose answer was
 * lost without proof that it was applied (no answer, or a 5xx) is sent again when the lookup
 * finds nothing, up to CREATE_POSTS in all: apps that keep group names unique refuse a repeat
 * with 409 if an earlier one was applied after all. On an app that allows two groups of one name
 * and whose search lags behind its writes, a repeat could leave an empty second group of that
 * name, unmanaged (the README says so under Guarantees).
 */
async function createGroup(action: PlannedAction, state: SyncState, groups: GroupTarget, options: ApplyOptions, posted = 1): Promise<string | undefined> {
  const mapping = options.groupMapping ?? [];
  const resource = buildGroupResource(action.attributes ?? {}, mapping);
  const record = (group: TargetGroup, origin: StateGroup["origin"]) => {
    state.groups[action.sourceId] = { targetId: group.id, displayName: group.displayName, origin, since: options.clock().toISOString(), members: [] };
  };
  try {
    const created = await groups.createGroup(resource);
    record(created, "created");
    const known = createdInRun.get(state) ?? new Set<string>();
    known.add(created.id);
    createdInRun.set(state, known);
    return undefined;
  } catch (error) {
    if (!(error instanceof TargetError) || error instanceof TargetAuthError) throw error;
    if (error.status !== 409 && !error.ambiguous) throw error;
    let found: TargetGroup[];
    try {
      found = await groups.findGroups("displayName", action.key);
    } catch (lookupError) {
      if (lookupError instanceof TargetAuthError) throw lookupError;
      throw new TargetError(`${error.message}; looking the group up failed too (${messageOf(lookupError)}); the next run will check`, {
        ambiguous: error.ambiguous,
        cause: lookupError,
      });
    }
    const same = found.filter((g) => g.displayName.toLowerCase() === action.key.toLowerCase());
    const taken = new Set(Object.values(state.groups).map((g) => g.targetId));
    // The planner's rule: a group carrying another directory group's externalId is not ours to take.
    const byExternalId = mapsExternalId(mapping);
    const free = same.filter((g) => !taken.has(g.id) && !(byExternalId && g.externalId && g.externalId !== action.sourceId));
    if (free.length === 0 && same.length === 0 && error.ambiguous && mayPostAgain(error, posted)) {
      const note = await createGroup(action, state, groups, options, posted + 1);
      return note ?? "the create's answer was lost and the group was not found afterwards; created it with another request";
    }
    if (free.length !== 1) {
      throw new TargetError(
        same.length === 0
          ? `${error.message}; no group named ${action.key} was found afterwards, so the next run checks again`
          : `${error.message}; the group named ${action.key} on the target belongs to another directory group or is not unique`,
        // Nothing found: the create's own failure says why. A name taken by another group is this group's problem.
        same.length === 0 ? { ambiguous: error.ambiguous, cause: error } : { ambiguous: error.ambiguous },
      );
    }
    const existing = free[0]!;
    // From the second POST on, a 409 is most likely our own earlier create.
    record(existing, error.ambiguous || posted > 1 ? "created" : "adopted");
    // A group someone made by hand may already have members; knowing them lets the next run
    // see what differs from the directory instead of trusting an empty record.
    const withMembers = await groups.getGroup(existing.id).catch(() => undefined);
    if (withMembers?.members) {
      const managed = new Set(Object.values(state.users).map((u) => u.targetId));
      state.groups[action.sourceId]!.members = withMembers.members.filter((id) => managed.has(id));
    }
    const changes = diffAttributes(action.attributes ?? {}, existing.resource, mapping);
    if (Object.keys(changes).length > 0) {
      if (options.dialect === "put") {
        const current = await readForPut(groups, existing.id, state);
        await groups.replaceGroup(existing.id, applyChanges(current.resource, changes, mapping));
      } else {
        await groups.patchGroup(existing.id, buildPatchOperations(changes, existing.resource, mapping));
      }
    }
    return error.ambiguous || posted > 1
      ? "the create's answer was lost; found the group on the target and took it over"
      : "the target already had this group (409); adopted it instead of creating a duplicate";
  }
}

/**
 * Adds or removes members in requests of at most maxMembersPerPatch members each (some targets
 * refuse more). Each request that succeeds is recorded at once, so a failure halfway loses
 * nothing: the next run sees exactly what is left to do.
 */
async function changeMembers(action: PlannedAction, state: SyncState, groups: GroupTarget, options: ApplyOptions): Promise<string | undefined> {
  const record = state.groups[action.sourceId];
  const groupId = action.targetId ?? record?.targetId;
  if (!groupId || !record) throw new TargetError(`the group ${action.key} was not created, so its members cannot be changed`, {});
  const adding = action.op === "add-members";
  const unresolved: MemberRef[] = [];
  const ids: string[] = [];
  for (const member of action.members ?? []) {
    const id = member.targetId ?? (member.sourceId ? state.users[member.sourceId]?.targetId : undefined);
    if (id) ids.push(id);
    else unresolved.push(member);
  }
  const size = Math.max(1, options.maxMembersPerPatch ?? DEFAULT_MEMBERS_PER_PATCH);
  for (let i = 0; i < ids.length; i += size) {
    const chunk = ids.slice(i, i + size);
    if (options.dialect === "put") await putMembers(groupId, record, state, chunk, adding, groups, options);
    else await groups.patchGroup(groupId, adding ? addOperation(chunk) : removeOperations(chunk));
    const members = new Set(record.members);
    for (const id of chunk) adding ? members.add(id) : members.delete(id);
    record.members = [...members];
  }
  if (unresolved.length > 0) {
    const names = unresolved.map((m) => m.userName).join(", ");
    if (ids.length === 0) throw new TargetError(`none of the members exist on the target (${names} were not created)`, {});
    return `${unresolved.length} member(s) not added because they were not created: ${names}`;
  }
  return undefined;
}

/**
 * The group as a PUT must send it back. A read without members may be an empty group or a
 * target that does not return members (then a PUT would remove every member, ours and those
 * added by hand). It is written only when the target has been seen returning members, or when
 * this run created the group.
 */
async function readForPut(groups: GroupTarget, groupId: string, state: SyncState): Promise<TargetGroup> {
  const current = await groups.getGroup(groupId);
  if (!current) throw new TargetError(`the group ${groupId} is no longer on the target`, { status: 404 });
  if (current.members === undefined && state.groupMembersHidden !== false && !createdInRun.get(state)?.has(groupId)) {
    throw new TargetError(`the target returned group ${current.displayName} without its members, so replacing it (dialect put) would remove them all; not written`, {
      hint: "use dialect patch for this app, or ask the vendor how its SCIM API returns group members",
    });
  }
  return current;
}

function addOperation(ids: string[]): PatchOperation[] {
  return [{ op: "add", path: "members", value: ids.map((value) => ({ value })) }];
}

/** RFC 7644 §3.5.2.2: one value-filtered remove per member. */
function removeOperations(ids: string[]): PatchOperation[] {
  return ids.map((id) => ({ op: "remove", path: `members[value eq ${JSON.stringify(id)}]` }));
}

/**
 * A PUT-only target gets the whole group, members included, read fresh so that members added by
 * hand in the app are kept.
 */
async function putMembers(
  groupId: string,
  record: StateGroup,
  state: SyncState,
  chunk: string[],
  adding: boolean,
  groups: GroupTarget,
  options: ApplyOptions,
): Promise<void> {
  const current = await readForPut(groups, groupId, state);
  // A group this run created, on a target that does not return members, holds exactly what
  // the earlier chunks wrote; otherwise a read without members is an empty group.
  const members = new Set(current.members ?? (createdInRun.get(state)?.has(groupId) ? record.members : []));
  for (const id of chunk) adding ? members.add(id) : members.delete(id);
  const resource = applyChanges(current.resource, {}, options.groupMapping ?? []);
  resource.members = [...members].map((value) => ({ value }));
  await groups.replaceGroup(groupId, resource);
}
