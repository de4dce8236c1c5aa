import type { PlannedAction, SafetyLimits, SafetyVerdict } from "./model.js";

/**
 * Whether `count` users out of `managed` is more than the limits allow; the reason if so.
 * `what` completes "N users would be ..." / "N of M managed users ...".
 */
export function exceedsLimits(count: number, managed: number, limits: SafetyLimits, what: string): string | undefined {
  if (count === 0) return undefined;
  const percent = managed === 0 ? 100 : (count * 100) / managed;
  if (count > limits.maxDeprovisions) {
    return `${count} users ${what}, more than safety.maxDeprovisions (${limits.maxDeprovisions})`;
  }
  if (percent > limits.maxDeprovisionPercent) {
    return `${count} of ${managed} managed users (${percent.toFixed(1)}%) ${what}, more than safety.maxDeprovisionPercent (${limits.maxDeprovisionPercent}%)`;
  }
  return undefined;
}

/**
 * The brake against a bad export, a wrong scope or a typo in the config that would take many
 * colleagues out at once: more than `maxDeprovisions` suspends and deletes, or more than
 * `maxDeprovisionPercent` of the managed users, blocks every suspend and delete of the run.
 */
export function judgeSafety(
  actions: PlannedAction[],
  managed: number,
  limits: SafetyLimits,
  allowMassDeprovision: boolean,
): SafetyVerdict {
  const deprovisions = actions.filter((a) => a.op === "suspend" || a.op === "delete").length;
  const verdict: SafetyVerdict = { deprovisions, managed, blocked: false };
  if (allowMassDeprovision) return verdict;
  const reason = exceedsLimits(deprovisions, managed, limits, "would be suspended or deleted");
  if (reason) {
    verdict.blocked = true;
    verdict.reason = reason;
  }
  return verdict;
}
