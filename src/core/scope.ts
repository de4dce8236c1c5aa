import type { DesiredUser, SourceSnapshot } from "./model.js";
import { mapUser, type CompiledEntry } from "./mapping.js";

export interface Scope {
  /** Group display names or ids; members (transitively) are in scope. Absent or empty: everyone. */
  groups?: string[];
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
}

/**
 * Source ids of every user reachable from the given groups through nested groups. A cycle
 * (A contains B contains A) is reported once and not followed again.
 */
export function expandGroupMembers(
  snapshot: Pick<SourceSnapshot, "groups">,
  roots: string[],
): { userIds: Set<string>; cycles: string[] } {
  const byId = new Map(snapshot.groups.map((g) => [g.id, g]));
  const userIds = new Set<string>();
  const cycles: string[] = [];
  const done = new Set<string>();
  const walk = (groupId: string, path: string[]): void => {
    if (path.includes(groupId)) {
      cycles.push([...path.slice(path.indexOf(groupId)), groupId].map((id) => byId.get(id)?.displayName ?? id).join(" -> "));
      return;
    }
    if (done.has(groupId)) return;
    const group = byId.get(groupId);
    if (!group) return;
    for (const member of group.members) {
      if (byId.has(member)) walk(member, [...path, groupId]);
      else userIds.add(member);
    }
    done.add(groupId);
  };
  for (const root of roots) walk(root, []);
  return { userIds, cycles };
}

/** Applies scope and mapping to a directory snapshot: what the target should hold. */
export function resolveDesiredUsers(snapshot: SourceSnapshot, scope: Scope, mapping: CompiledEntry[]): DesiredState {
  const warnings: string[] = [];
  let trusted = true;
  let inScope: Set<string> | undefined;

  const wanted = scope.groups ?? [];
  if (wanted.length > 0) {
    const roots: string[] = [];
    for (const name of wanted) {
      const lower = name.toLowerCase();
      const group = snapshot.groups.find((g) => g.id === name || g.displayName.toLowerCase() === lower);
      if (group) roots.push(group.id);
      else {
        trusted = false;
        warnings.push(`scope group "${name}" is not in the directory; no user is deprovisioned for being out of scope until it is found again`);
      }
    }
    const { userIds, cycles } = expandGroupMembers(snapshot, roots);
    for (const cycle of cycles) warnings.push(`group nesting cycle ignored: ${cycle}`);
    inScope = userIds;
  }

  const users: DesiredUser[] = snapshot.users.map((user) => ({
    sourceId: user.id,
    userName: user.userName,
    status: !user.active ? "suspended" : inScope && !inScope.has(user.id) ? "outOfScope" : "active",
    attributes: mapUser(user, mapping),
  }));
  return { users, trusted, warnings };
}
