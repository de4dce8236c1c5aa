import type { TargetUser } from "./model.js";
import type { MatchAttribute } from "./mapping.js";

export interface MatchResult {
  user?: TargetUser;
  /** Several candidates for one key: no guess is made. */
  ambiguous?: string;
  /** The userName is held by an account that belongs to another directory user. */
  taken?: TargetUser;
}

/**
 * An inactive account that nothing proves is this person's (its externalId is not the source
 * id): someone switched it off, perhaps a former employee's with the same userName. Adopting it
 * would reactivate it and hand its data to the newcomer, so an administrator decides.
 */
export function isInactiveStranger(user: TargetUser, sourceId: string): boolean {
  return !user.active && user.externalId !== sourceId;
}

/** Target users indexed the ways we match them, and which of them are already spoken for. */
export class TargetIndex {
  private readonly byId = new Map<string, TargetUser>();
  private readonly byExternalId = new Map<string, TargetUser[]>();
  private readonly byUserName = new Map<string, TargetUser[]>();
  /** Target ids already bound to a source user in this plan. */
  private readonly claimed = new Set<string>();
  /** externalId is one of the matching attributes: then it says whose an account is. */
  private readonly byExternal: boolean;

  /**
   * @param knownSourceIds every source id in the directory or the state: under externalId
   *   matching, an account whose externalId is one of them belongs to that user.
   */
  constructor(
    users: TargetUser[],
    private readonly matching: readonly MatchAttribute[],
    private readonly knownSourceIds: ReadonlySet<string> = new Set(),
  ) {
    this.byExternal = matching.includes("externalId");
    for (const u of users) {
      this.byId.set(u.id, u);
      if (u.externalId) push(this.byExternalId, u.externalId, u);
      push(this.byUserName, u.userName.toLowerCase(), u);
    }
  }

  get(id: string): TargetUser | undefined {
    return this.byId.get(id);
  }

  claim(user: TargetUser): void {
    this.claimed.add(user.id);
  }

  isClaimed(user: TargetUser): boolean {
    return this.claimed.has(user.id);
  }

  /** Whether `user` is bound in this plan, or by its externalId, to a directory user other than `sourceId`. */
  belongsToAnother(user: TargetUser, sourceId: string): boolean {
    if (this.claimed.has(user.id)) return true;
    return this.byExternal && user.externalId !== undefined && user.externalId !== sourceId && this.knownSourceIds.has(user.externalId);
  }

  /**
   * Whether an account bound to a source user in the state is still that person's. Ids are not
   * proof: a state file pointed at another tenant behind the same URL, or an app that reuses
   * ids, would otherwise have us suspend or rename a stranger.
   */
  isSameAccount(user: TargetUser, sourceId: string, userNames: string[]): boolean {
    if (user.externalId === sourceId) return true;
    if (this.byExternal && user.externalId) return false;
    const name = user.userName.toLowerCase();
    return userNames.some((n) => n.toLowerCase() === name);
  }

  /**
   * The target user a source user corresponds to, trying the matching attributes in their
   * precedence order: externalId exactly, userName case-insensitively among accounts that
   * belong to nobody else.
   */
  match(sourceId: string, userName: string): MatchResult {
    let taken: TargetUser | undefined;
    for (const attribute of this.matching) {
      if (attribute === "externalId") {
        const hits = (this.byExternalId.get(sourceId) ?? []).filter((u) => !this.claimed.has(u.id));
        if (hits.length === 1) return { user: hits[0]! };
        if (hits.length > 1) return { ambiguous: `${hits.length} target users have externalId ${sourceId}` };
        continue;
      }
      const all = this.byUserName.get(userName.toLowerCase()) ?? [];
      const hits = all.filter((u) => !this.belongsToAnother(u, sourceId));
      if (hits.length === 1) return { user: hits[0]! };
      if (hits.length > 1) return { ambiguous: `${hits.length} target users have userName ${userName} (differing only in case)` };
      taken ??= all.find((u) => this.belongsToAnother(u, sourceId));
    }
    // Reported so the caller does not plan a create the target would refuse as a duplicate userName.
    return taken ? { taken } : {};
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
