import type { ActionOp, EscrowHold, Plan, ResourceType, SafetyVerdict, SourceProblem } from "../core/model.js";
import type { RunResult } from "../core/ports.js";
import type { PersonReport } from "../core/narrow-plan.js";
import type { ActionResult, StoppedEarly } from "../engine/events.js";
import { ACTION_OPS } from "../engine/events.js";
import type { RunTimings } from "../engine/run-timings.js";

/**
 * The machine-readable result of `plan` and `sync` (`--output json`). Its shape is documented
 * in the README and is a promise to scripts: add fields, never rename or remove them.
 */
export interface JsonReport {
  command: "plan" | "sync";
  /** The SCIM base URL the run talked to. */
  target: string;
  now: string;
  result: RunResult | "changes" | "no-changes";
  actions: Array<{
    op: ActionOp;
    type: ResourceType;
    key: string;
    changes: Record<string, { from: unknown; to: unknown }>;
    /** add-members / remove-members: the userNames. */
    members?: string[];
    status: ActionResult["status"];
    reason?: string;
    error?: string;
    note?: string;
  }>;
  scheduled: Array<{ op: "suspend" | "delete"; type: ResourceType; key: string; due: string; reason: string }>;
  adopted: Array<{ type: ResourceType; key: string; previousExternalId?: string }>;
  /**
   * Managed users and groups left untouched until an administrator looks, with the reason; and
   * objects waiting in escrow after failing before, with `escrow` (retried from nextAttemptAt).
   */
  held: Array<{ type: ResourceType; key: string; reason: string; escrow?: EscrowHold }>;
  /**
   * User actions by op (groups are counted in `groups`), plus failed, skipped and held of both;
   * `waiting` (always set by buildReport): how many of the held wait in escrow.
   */
  summary: Record<UserOp | "failed" | "skipped" | "held", number> & { groups: Record<GroupOp, number>; waiting?: number };
  safety: SafetyVerdict;
  problems: SourceProblem[];
  warnings: string[];
  /** sync only: false when the run's outcome could not be written to the state file (see error). */
  stateSaved?: boolean;
  /**
   * sync only: a systemic failure (the token rejected, the target not answering, most actions
   * failing) stopped new actions from starting; those not started have status `planned`.
   */
  stoppedEarly?: StoppedEarly;
  /** A fatal error that ended the run after the actions above (e.g. the state could not be saved). */
  error?: { kind: string; message: string; hint?: string };
  /** `--user`: the userName every list and count above is narrowed to. */
  narrowedTo?: string;
  /** `--user`: the person step by step (scope, match); see PersonReport. */
  person?: PersonReport;
  /** Where the run's time went, in milliseconds (see RunTimings). */
  timings?: RunTimings;
}

/** The report's sections in the order a sync applies them; every view lists actions this way. */
export const REPORT_SECTIONS: ReadonlyArray<readonly ["User" | "Group", ActionOp]> = [
  ["User", "unsuspend"],
  ["User", "update"],
  ["User", "create"],
  ["Group", "create"],
  ["Group", "update"],
  ["Group", "add-members"],
  ["Group", "remove-members"],
  ["User", "suspend"],
  ["User", "delete"],
  ["Group", "delete"],
];

type UserOp = "create" | "update" | "suspend" | "unsuspend" | "delete";
type GroupOp = "create" | "update" | "delete" | "add-members" | "remove-members";
const GROUP_OPS: readonly GroupOp[] = ["create", "update", "delete", "add-members", "remove-members"];

export function buildReport(
  command: "plan" | "sync",
  target: string,
  plan: Plan,
  results: ActionResult[],
  problems: SourceProblem[],
  result?: RunResult,
): JsonReport {
  const summary = {
    ...Object.fromEntries([...ACTION_OPS, "failed", "skipped", "held"].map((k) => [k, 0])),
    groups: Object.fromEntries(GROUP_OPS.map((k) => [k, 0])),
  } as JsonReport["summary"];
  summary.held = plan.held.length;
  summary.waiting = plan.held.filter((h) => h.escrow).length;
  for (const r of results) {
    if (r.status === "failed") summary.failed++;
    else if (r.status === "skipped") summary.skipped++;
    // For plan, what would happen; for sync, what did.
    else if (command === "plan" || r.status === "ok") {
      if (r.type === "Group") summary.groups[r.op as GroupOp]++;
      else summary[r.op as UserOp]++;
    }
  }
  return {
    command,
    target,
    now: plan.now,
    result: result ?? (plan.actions.length > 0 ? "changes" : "no-changes"),
    actions: results.map((r) => {
      const action: JsonReport["actions"][number] = { op: r.op, type: r.type, key: r.key, changes: r.changes, status: r.status };
      if (r.members) action.members = r.members.map((m) => m.userName);
      if (r.reason) action.reason = r.reason;
      if (r.error) action.error = r.error;
      if (r.note) action.note = r.note;
      return action;
    }),
    scheduled: plan.scheduled.map((s) => ({ op: s.op, type: s.type, key: s.key, due: s.due, reason: s.reason })),
    adopted: plan.adopted.map((a) => (a.previousExternalId ? { type: a.type, key: a.key, previousExternalId: a.previousExternalId } : { type: a.type, key: a.key })),
    held: plan.held.map((h) => (h.escrow ? { type: h.type, key: h.key, reason: h.reason, escrow: h.escrow } : { type: h.type, key: h.key, reason: h.reason })),
    summary,
    safety: plan.safety,
    problems,
    warnings: plan.warnings,
  };
}
