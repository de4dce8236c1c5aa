import type { PlannedAction } from "./model.js";

/**
 * The order actions are applied in, which is also the order of the plan. Memberships need their
 * users and groups to exist and go before users are suspended or deleted; additions and removals
 * of members are separate phases so that two writes to one group never race (a PUT-only target
 * gets the whole member list each time).
 */
export const APPLY_PHASES = [
  "update users",
  "create users",
  "create groups",
  "update groups",
  "add members",
  "remove members",
  "suspend users",
  "delete users",
  "delete groups",
] as const;

export type ApplyPhase = (typeof APPLY_PHASES)[number];

export function applyPhase(action: Pick<PlannedAction, "op" | "type" | "pendingReferences">): ApplyPhase {
  if (action.op === "add-members") return "add members";
  if (action.op === "remove-members") return "remove members";
  if (action.type === "Group") return action.op === "create" ? "create groups" : action.op === "delete" ? "delete groups" : "update groups";
  // An update waiting for a manager created in this run goes with the creates, after it.
  if (action.op === "create" || action.pendingReferences) return "create users";
  if (action.op === "suspend") return "suspend users";
  if (action.op === "delete") return "delete users";
  return "update users";
}

export function applyRank(action: Pick<PlannedAction, "op" | "type" | "pendingReferences">): number {
  return APPLY_PHASES.indexOf(applyPhase(action));
}
