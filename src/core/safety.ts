import type { PlannedAction, SafetyLimits, SafetyVerdict } from "./model.js";

/**
 * Whether `count` users (or groups) out of `managed` is more than the limits allow; the reason
 * if so. `what` completes "N users would be ..." / "N of M managed users ...".
 */
export function exceedsLimits(count: number, managed: number, limits: SafetyLimits, what: string, noun = "users"): string | undefined {
  if (count === 0) return undefined;
  const percent = managed === 0 ? 100 : (count * 100) / managed;
  if (count > limits.maxDeprovisions) {
    return `${count} ${noun} ${what}, more than safety.maxDeprovisions (${limits.maxDeprovisions})`;
  }
  if (percent > limits.maxDeprovisionPercent) {
    return `${count} of ${managed} managed ${noun} (${percent.toFixed(1)}%) ${what}, more than safety.maxDeprovisionPercent (${limits.maxDeprovisionPercent}%)`;
  }
  return undefined;
}

/** Whether the verdict held anything back, or could not even plan deprovisioning: exit 4 territory. */
export function isSafetyStop(verdict: SafetyVerdict): boolean {
  return verdict.blocked || verdict.groupDeletesBlocked === true || Boolean(verdict.failClosed);
}

/**
 * The brake against a bad export, a wrong scope or a typo in the config that would take many
 * colleagues out at once: more than `maxDeprovisions` suspends and deletes, or more than
 * `maxDeprovisionPercent` of the managed users, blocks every suspend and delete of the run.
 * Group deletions are judged the same way against the managed groups, on their own: many groups
 * must not make a mass suspension look small, nor one group deletion look like a mass one.
 */
export function judgeSafety(
  actions: PlannedAction[],
  managed: { users: number; groups: number },
  limits: SafetyLimits,
  allowMassDeprovision: boolean,
): SafetyVerdict {
  const userDeprovisions = actions.filter((a) => a.type === "User" && (a.op === "suspend" || a.op === "delete")).length;
  const groupDeletes = actions.filter((a) => a.type === "Group" && a.op === "delete").length;
  const verdict: SafetyVerdict = { deprovisions: userDeprovisions + groupDeletes, managed: managed.users + managed.groups, blocked: false };
  if (allowMassDeprovision) return verdict;
  const groupReason = exceedsLimits(groupDeletes, managed.groups, limits, "would be deleted", "groups");
  if (groupReason) {
    verdict.groupDeletesBlocked = true;
    verdict.reason = groupReason;
  }
  const reason = exceedsLimits(userDeprovisions, managed.users, limits, "would be suspended or deleted");
  if (reason) {
    verdict.blocked = true;
    verdict.reason = groupReason ? `${reason}; ${groupReason}` : reason;
  }
  return verdict;
}
