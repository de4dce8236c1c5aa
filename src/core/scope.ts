import type { DesiredGroup, DesiredUser, ProvisionGroups, SourceGroup, SourceProblem, SourceSnapshot } from "./model.js";
import { mapGroup, mapReferences, mapUser, type CompiledEntry } from "./mapping.js";

export interface Scope {
  /** Group display names or ids; members (transitively) are in scope. Absent or empty: everyone. */
  groups?: string[];
}

export interface ScopeOptions {
  /** An app that needs an email for every user (Komeet): users without a valid one are reported and skipped. */
  requireEmail?: boolean;
}

export interface DesiredState {
  users: DesiredUser[];
  /**
   * false when the scope could not be evaluated faithfully (a scope group is missing from the
   * directory). Everyone outside the scope would then look out of scope, so no deprovisioning
   * may follow from it.
   */
  trusted: boolean;
  warnings: string[];
  /** Users left out by a rule of the target (requireEmail): reported, and protected like malformed records. */
  problems: SourceProblem[];
  protectedIds: string[];
}

/** Generous on purpose, as in the file source: the target has the last word. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

/**
 * Walks nested groups from the given roots. A cycle (A contains B contains A) is reported once
 * and not followed again. `groupIds` holds every group reached, roots included.
 */
export function expandGroupMembers(
  snapshot: Pick<SourceSnapshot, "groups">,
  roots: string[],
  byId: Map<string, SourceGroup> = new Map(snapshot.groups.map((g) => [g.id, g])),
): { userIds: Set<string>; groupIds: Set<string>; cycles: string[] } {
  const userIds = new Set<string>();
  const groupIds = new Set<string>();
  const cycles: string[] = [];
  const done = new Set<string>();
  const walk = (groupId: string, path: string[]): void => {
    if (path.includes(groupId)) {
      cycles.push(describeCycle(path.slice(path.indexOf(groupId)).map((id) => byId.get(id)?.displayName ?? id)));
      return;
    }
    if (done.has(groupId)) return;
    const group = byId.get(groupId);
    if (!group) return;
    assertMembersRead(group);
    groupIds.add(groupId);
    for (const member of group.members) {
      if (byId.has(member)) walk(member, [...path, groupId]);
      else userIds.add(member);
    }
    done.add(groupId);
  };
  for (const root of roots) walk(root, []);
  return { userIds, groupIds, cycles };
}

/**
 * "A -> B -> A", started at the name that sorts first: one cycle found from each of its groups
 * reads the same, so it is reported once.
 */
function describeCycle(names: string[]): string {
  let start = 0;
  names.forEach((name, i) => {
    if (name.localeCompare(names[start]!) < 0) start = i;
  });
  const rotated = [...names.slice(start), ...names.slice(0, start)];
  return [...rotated, rotated[0]].join(" -> ");
}

/**
 * A source that skipped a group's members must never have that group walked: its empty list
 * would read as "no members" and take memberships away. That is a wiring fault, so it is loud.
 */
function assertMembersRead(group: SourceGroup): void {
  if (group.membersRead === false) {
    throw new Error(`internal error: the members of group ${group.id} were not read, but the scope or provisionGroups needs them`);
  }
}

/** How a scope entry may name a group: its id, its email address (Google), or its display name; case aside but for the id. */
export function namesGroup(group: { id: string; email?: string | undefined; displayName: string }, ref: string): boolean {
  const lower = ref.toLowerCase();
  return group.id === ref || group.email?.toLowerCase() === lower || group.displayName.toLowerCase() === lower;
}

/**
 * The group a scope entry names. Ids and emails are unique; display names need not be (Google
 * and Entra allow two groups of one name), and picking one would be a guess that may change
 * from run to run: such an entry names no group, and says why.
 */
export function findGroup(snapshot: Pick<SourceSnapshot, "groups">, ref: string): { group?: SourceGroup; ambiguous?: number } {
  const lower = ref.toLowerCase();
  const byKey = snapshot.groups.find((g) => g.id === ref) ?? snapshot.groups.find((g) => g.email !== undefined && g.email.toLowerCase() === lower);
  if (byKey) return { group: byKey };
  const byName = snapshot.groups.filter((g) => g.displayName.toLowerCase() === lower);
  if (byName.length > 1) return { ambiguous: byName.length };
  return byName[0] ? { group: byName[0] } : {};
}

/** Applies scope and mapping to a directory snapshot: what the target should hold. */
export function resolveDesiredUsers(snapshot: SourceSnapshot, scope: Scope, mapping: CompiledEntry[], options: ScopeOptions = {}): DesiredState {
  const warnings: string[] = [];
  const problems: SourceProblem[] = [];
  const protectedIds: string[] = [];
  let trusted = true;
  let inScope: Set<string> | undefined;

  const wanted = scope.groups ?? [];
  if (wanted.length > 0) {
    const roots: string[] = [];
    for (const name of wanted) {
      const { group, ambiguous } = findGroup(snapshot, name);
      if (group) roots.push(group.id);
      else if (ambiguous) {
        trusted = false;
        warnings.push(
          `scope group "${name}" names ${ambiguous} groups of the directory; name it by email or id in scope.groups. Until then no one in it is provisioned and no one is deprovisioned for being out of scope`,
        );
      } else {
        trusted = false;
        warnings.push(`scope group "${name}" is not in the directory; no user is deprovisioned for being out of scope until it is found again`);
      }
    }
    const { userIds, cycles } = expandGroupMembers(snapshot, roots);
    for (const cycle of cycles) warnings.push(`group nesting cycle ignored: ${cycle}`);
    inScope = userIds;
  }

  // The source's own scope (organizational units, a directory query) and the group scope must both admit a user.
  const sourceScope = snapshot.inScopeIds ? new Set(snapshot.inScopeIds) : undefined;

  const users: DesiredUser[] = [];
  const sourceIds = new Set(snapshot.users.map((u) => u.id));
  let unknownManagers = 0;
  for (const user of snapshot.users) {
    const outside = (inScope !== undefined && !inScope.has(user.id)) || (sourceScope !== undefined && !sourceScope.has(user.id));
    const status = !user.active ? "suspended" : outside ? "outOfScope" : "active";
    if (options.requireEmail && status === "active" && !(user.email && EMAIL.test(user.email))) {
      // Skipped, not deprovisioned: the address may only be missing for a while (a new hire's
      // mailbox not yet made), and whatever the user already has stays as it is.
      problems.push({
        location: `user ${user.id}`,
        id: user.id,
        userName: user.userName,
        reason: user.email ? `email ${JSON.stringify(user.email)} is not a valid address, and this app needs one` : "has no email, and this app needs one",
      });
      protectedIds.push(user.id);
      continue;
    }
    const attributes = mapUser(user, mapping);
    // The app's userName is what the mapping makes of it (an email for Comeet or Komeet): that
    // is what an existing account is matched by and what the plan shows.
    const mapped = mappedUserName(attributes);
    if (mapped === null && status === "active") {
      problems.push({ location: `user ${user.id}`, id: user.id, userName: user.userName, reason: "the mapping gives this user no userName" });
      protectedIds.push(user.id);
      continue;
    }
    const desired: DesiredUser = { sourceId: user.id, userName: mapped ?? user.userName, status, attributes };
    const references = mapReferences(user, mapping);
    if (references) {
      for (const id of Object.values(references)) if (id !== null && !sourceIds.has(id)) unknownManagers++;
      const present = Object.entries(references).filter((e): e is [string, string] => e[1] !== null);
      // An empty manager is a plain attribute value: it clears the target's (per clearWhenEmpty).
      for (const [path, id] of Object.entries(references)) if (id === null) desired.attributes[path] = null;
      if (present.length > 0) desired.references = Object.fromEntries(present);
    }
    users.push(desired);
  }
  if (unknownManagers > 0) {
    warnings.push(
      `${unknownManagers} user(s) have a manager that is not a directory user id; their manager is left as the app has it (the manager mapping must give the manager's directory id)`,
    );
  }
  return { users: withoutSharedUserNames(users, problems, protectedIds), trusted, warnings, problems, protectedIds };
}

function mappedUserName(attributes: DesiredUser["attributes"]): string | null {
  // The mapping usually spells it userName: the direct read saves a scan per user.
  const direct = attributes.userName;
  if (direct !== undefined) return typeof direct === "string" ? direct : null;
  for (const path in attributes) {
    if (path.length === 8 && path.toLowerCase() === "username") {
      const value = attributes[path];
      return typeof value === "string" ? value : null;
    }
  }
  return null;
}

/**
 * Two directory users the mapping gives one userName (two people sharing an email, with a
 * preset that keys users by email) cannot both have an account, and picking one would be a
 * guess: both are reported and skipped, and keep whatever they have.
 */
function withoutSharedUserNames(users: DesiredUser[], problems: SourceProblem[], protectedIds: string[]): DesiredUser[] {
  const byName = new Map<string, DesiredUser[]>();
  // Only users who are to have an account compete for a name: a leaver sharing it keeps being
  // deprovisioned, and a newcomer whose name a leaver's account still holds is held by the planner.
  for (const u of users) {
    if (u.status !== "active") continue;
    const key = u.userName.toLowerCase();
    const list = byName.get(key);
    if (list) list.push(u);
    else byName.set(key, [u]);
  }
  const shared = new Set<DesiredUser>();
  for (const list of byName.values()) {
    if (list.length < 2) continue;
    for (const u of list) {
      shared.add(u);
      const others = list.filter((o) => o !== u).map((o) => o.sourceId);
      problems.push({ location: `user ${u.sourceId}`, id: u.sourceId, userName: u.userName, reason: `the mapping gives userName ${u.userName} to ${others.join(", ")} too` });
      protectedIds.push(u.sourceId);
    }
  }
  return shared.size === 0 ? users : users.filter((u) => !shared.has(u));
}

/**
 * The groups the target should hold, with their members flattened to users. `scoped` pushes the
 * scope groups and the groups nested in them (every group when there is no group scope).
 * Members are the users that end up active on the target: a suspended or out-of-scope user
 * loses their memberships, and gets them back when they return.
 */
export function resolveDesiredGroups(
  snapshot: SourceSnapshot,
  scope: Scope,
  provision: ProvisionGroups,
  mapping: CompiledEntry[],
  users: DesiredUser[],
): { groups: DesiredGroup[]; warnings: string[] } {
  if (provision === "none") return { groups: [], warnings: [] };
  const byId = new Map(snapshot.groups.map((g) => [g.id, g]));
  let chosen: SourceGroup[] = snapshot.groups;
  if (provision === "scoped" && (scope.groups ?? []).length > 0) {
    const roots = (scope.groups ?? []).map((name) => findGroup(snapshot, name).group?.id).filter((id): id is string => id !== undefined);
    const { groupIds } = expandGroupMembers(snapshot, roots, byId);
    chosen = snapshot.groups.filter((g) => groupIds.has(g.id));
  }
  const active = new Set(users.filter((u) => u.status === "active").map((u) => u.sourceId));
  const cycles = new Set<string>();
  for (const group of chosen) assertMembersRead(group);
  const groups = chosen.map((group): DesiredGroup => {
    const expanded = expandGroupMembers(snapshot, [group.id], byId);
    for (const cycle of expanded.cycles) cycles.add(`group nesting cycle ignored: ${cycle}`);
    const attributes = mapGroup(group, mapping);
    const name = attributes.displayName;
    return {
      sourceId: group.id,
      displayName: typeof name === "string" ? name : group.displayName,
      attributes,
      memberIds: [...expanded.userIds].filter((id) => active.has(id)).sort(),
    };
  });
  return { groups, warnings: [...cycles] };
}
