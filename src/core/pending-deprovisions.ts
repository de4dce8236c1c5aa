import { compareKeys } from "./compare-keys.js";
import { dueAfter } from "./delay.js";
import type { DeprovisionPolicy, DeprovisionReason, GroupDeprovisionRule, ResourceType, SyncState } from "./model.js";

/** A suspend or delete the state's timers lead to, as the planner would schedule it. */
export interface PendingDeprovision {
  op: "suspend" | "delete";
  type: ResourceType;
  key: string;
  /**
   * A user's condition; `removed` for a group gone from the directory or from provisionGroups
   * (the state does not record which: the next read of the directory tells).
   */
  reason: DeprovisionReason | "removed";
  /** ISO time the condition was first seen. */
  since: string;
  /** ISO time the action falls due (it may be past: the next sync applies it). */
  due: string;
}

/**
 * The deprovisionings the stored timers lead to, from the state alone: what a run would do
 * if the directory stayed as the last run saw it. Due times follow the planner's rule (the
 * condition's start plus the configured delay). A user our suspension already stands for has
 * no suspend ahead; whether the account is still active on the target is not known here, so a
 * suspend someone did by hand in the app still shows. Sorted by due time, then key.
 */
export function pendingDeprovisions(state: SyncState, policy: DeprovisionPolicy, groupRule: GroupDeprovisionRule): PendingDeprovision[] {
  const pending: PendingDeprovision[] = [];
  for (const record of Object.values(state.users)) {
    for (const [reason, since] of Object.entries(record.conditions) as Array<[DeprovisionReason, string | undefined]>) {
      if (since === undefined) continue;
      const rule = policy[reason];
      const suspendDue = dueAfter(since, rule.suspend);
      const deleteDue = dueAfter(since, rule.delete);
      // A delete due no later than the suspend makes the suspend moot, as in the planner.
      const suspendMoot = deleteDue !== undefined && suspendDue !== undefined && deleteDue.getTime() <= suspendDue.getTime();
      if (suspendDue && record.suspendedAt === undefined && !suspendMoot) {
        pending.push({ op: "suspend", type: "User", key: record.userName, reason, since, due: suspendDue.toISOString() });
      }
      if (deleteDue) pending.push({ op: "delete", type: "User", key: record.userName, reason, since, due: deleteDue.toISOString() });
    }
  }
  for (const record of Object.values(state.groups)) {
    if (record.removedSince === undefined) continue;
    const due = dueAfter(record.removedSince, groupRule.delete);
    if (due) pending.push({ op: "delete", type: "Group", key: record.displayName, reason: "removed", since: record.removedSince, due: due.toISOString() });
  }
  return pending.sort((a, b) => Date.parse(a.due) - Date.parse(b.due) || compareKeys(a.key, b.key) || (a.op === b.op ? 0 : a.op === "suspend" ? -1 : 1));
}
