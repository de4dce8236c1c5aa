import type { PlannedAction, SafetyLimits, SafetyVerdict } from "./model.js";

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
  if (deprovisions === 0 || allowMassDeprovision) return verdict;
  const percent = managed === 0 ? 100 : (deprovisions * 100) / managed;
  if (deprovisions > limits.maxDeprovisions) {
    verdict.blocked = true;
    verdict.reason = `${deprovisions} users would be suspended or deleted, more than safety.maxDeprovisions (${limits.maxDeprovisions})`;
  } else if (percent > limits.maxDeprovisionPercent) {
    verdict.blocked = true;
    verdict.reason =
      `${deprovisions} of ${managed} managed users (${percent.toFixed(1)}%) would be suspended or deleted, ` +
      `more than safety.maxDeprovisionPercent (${limits.maxDeprovisionPercent}%)`;
  }
  return verdict;
}
