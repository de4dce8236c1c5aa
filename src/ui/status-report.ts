import type { ActionOp, DeprovisionPolicy, GroupDeprovisionRule, ResourceType } from "../core/model.js";
import type { RunResult, StoredState } from "../core/ports.js";
import { pendingDeprovisions, type PendingDeprovision } from "../core/pending-deprovisions.js";
import type { AuditLogContents } from "../audit/read-audit-log.js";
import { failingObjects, latestRunLine, type FailingObject } from "../audit/usage-summary.js";
import type { Style } from "./style.js";
import { compareKeys } from "../core/compare-keys.js";
import { ESCROW_SLACK_MS } from "../core/escrow.js";

/**
 * The machine-readable result of `status --output json`; its shape is documented in the README
 * and is a promise to scripts: add fields, never rename or remove them.
 */
export interface StatusReport {
  managed: { users: number; groups: number };
  lastRun: LastRun | null;
  pending: PendingDeprovision[];
  failing: FailingStatus[];
}

/**
 * An object whose latest attempt failed. From the state file's escrow records (`source:
 * "state"`, with when it is tried next), or, for objects the state does not track, from the
 * audit log (`source: "audit-log"`).
 */
export interface FailingStatus extends FailingObject {
  source: "state" | "audit-log";
  /** state: the action that failed last. */
  op?: ActionOp;
  firstFailedAt?: string;
  lastFailedAt?: string;
  /** state: from when a sync tries it again (earlier with sync --retry-now). */
  nextAttemptAt?: string;
}

export interface LastRun {
  runId: string;
  /** null when the audit log line that tells of the run did not record it. */
  startedAt: string | null;
  finishedAt: string;
  result: RunResult;
  counts: Record<string, number>;
  /** Whether the target took the token in that run; unknown when the run ended before it was tried. */
  token: "accepted" | "rejected" | "unknown";
  /** The fatal error that ended the run (from the audit log). */
  error?: string;
}

/**
 * Status from the state and, when configured, the audit log. The latest run is the state's
 * lastRun unless the audit log tells of a later one: a run that ended with an error (the token
 * rejected while reading the target, say) is never recorded in the state.
 */
export function buildStatus(
  state: StoredState,
  policy: DeprovisionPolicy,
  groupRule: GroupDeprovisionRule,
  audit: AuditLogContents | undefined,
): StatusReport {
  return {
    managed: { users: Object.keys(state.users).length, groups: Object.keys(state.groups).length },
    lastRun: lastRunOf(state, audit),
    pending: pendingDeprovisions(state, policy, groupRule),
    failing: failingOf(state, audit),
  };
}

/** The state's records first; the audit log adds the objects the state does not track. */
function failingOf(state: StoredState, audit: AuditLogContents | undefined): FailingStatus[] {
  const out: FailingStatus[] = [];
  const seen = new Set<string>();
  const id = (type: ResourceType, key: string) => `${type}\u0000${key.toLowerCase()}`;
  for (const [key, f] of Object.entries(state.failures ?? {})) {
    const type: ResourceType = key.startsWith("Group:") ? "Group" : "User";
    seen.add(id(type, f.name));
    out.push({
      type,
      key: f.name,
      attempts: f.attempts,
      lastError: f.lastError,
      source: "state",
      op: f.op,
      firstFailedAt: f.firstFailedAt,
      lastFailedAt: f.lastFailedAt,
      nextAttemptAt: f.nextAttemptAt,
    });
  }
  for (const f of audit ? failingObjects(audit.actions) : []) {
    if (!seen.has(id(f.type, f.key))) out.push({ ...f, source: "audit-log" });
  }
  return out.sort((a, b) => b.attempts - a.attempts || compareKeys(a.key, b.key) || a.type.localeCompare(b.type));
}

function lastRunOf(state: StoredState, audit: AuditLogContents | undefined): LastRun | null {
  const recorded = state.lastRun;
  const logged = audit ? latestRunLine(audit.runs) : undefined;
  if (logged && (!recorded || (logged.runId !== recorded.runId && Date.parse(logged.time) > Date.parse(recorded.finishedAt)))) {
    const run: LastRun = {
      runId: logged.runId,
      startedAt: logged.startedAt ?? null,
      finishedAt: logged.time,
      result: logged.result,
      counts: logged.counts,
      token: logged.token ?? "unknown",
    };
    if (logged.error !== undefined) run.error = logged.error;
    return run;
  }
  if (!recorded) return null;
  const sameRun = logged?.runId === recorded.runId ? logged : undefined;
  // A run recorded in the state has listed the target's users, so the token worked at first;
  // "error" there means the target rejected it later in the run.
  const token = sameRun?.token ?? (recorded.result === "error" ? "rejected" : "accepted");
  return { runId: recorded.runId, startedAt: recorded.startedAt, finishedAt: recorded.finishedAt, result: recorded.result, counts: recorded.counts, token };
}

const REASONS: Record<string, string> = {
  outOfScope: "out of scope",
  suspended: "suspended in the directory",
  deleted: "gone from the directory",
  removed: "no longer in the directory or provisionGroups",
};

export interface StatusContext {
  target: string;
  statePath: string;
  stateFound: boolean;
  /** off: no log.path; missing: configured but not written yet. */
  auditLog: "off" | "missing" | "read";
  now: Date;
}

/** `status` for a person: sections that read top to bottom. */
export function renderHumanStatus(status: StatusReport, context: StatusContext, style: Style): string {
  const out: string[] = [];
  out.push(style("bold", "scimsync status") + style("dim", ` · ${context.target}`));
  out.push("");
  if (!context.stateFound) out.push(style("yellow", `No state file at ${context.statePath} yet: no sync has run for this config.`));
  out.push(`Managed: ${status.managed.users} user(s), ${status.managed.groups} group(s)`);
  out.push("");

  const run = status.lastRun;
  if (!run) {
    out.push(style("bold", "Last run: ") + "none recorded");
  } else {
    const color = run.result === "ok" ? "green" : run.result === "failed" || run.result === "safety-stop" || run.result === "interrupted" ? "yellow" : "red";
    out.push(style("bold", "Last run: ") + `${run.finishedAt}  ` + style(["bold", color], run.result) + style("dim", `  (run ${run.runId})`));
    const applied = Object.entries(run.counts)
      .filter(([op, n]) => op !== "failed" && n > 0)
      .map(([op, n]) => `${n} ${op.replace(/^groups\./, "group ")}`);
    const failed = run.counts.failed ?? 0;
    out.push(`  applied: ${applied.join(", ") || "nothing"}${failed > 0 ? style("red", `; ${failed} failed`) : ""}`);
    if (run.error) out.push(style("red", `  error: ${run.error}`));
    const token =
      run.token === "accepted"
        ? style("green", "accepted by the target")
        : run.token === "rejected"
          ? style(["bold", "red"], "rejected by the target: renew it (see scimsync reauthorize)")
          : "unknown (the run ended before it reached the target)";
    out.push(`  token: ${token}`);
  }
  out.push("");

  if (status.pending.length === 0) {
    out.push(style("bold", "Pending deprovisioning: ") + "none");
  } else {
    out.push(style("bold", `Pending deprovisioning (${status.pending.length}):`));
    const width = Math.max(...status.pending.map((p) => p.key.length + (p.type === "Group" ? 8 : 0)));
    for (const p of status.pending) {
      const what = (p.type === "Group" ? `${p.key} (group)` : p.key).padEnd(width);
      const overdue = Date.parse(p.due) <= context.now.getTime() ? style("yellow", "  overdue: the next sync applies it") : "";
      out.push(`  ${p.op.padEnd(7)} ${what}  due ${p.due}${overdue}` + style("dim", `  (${REASONS[p.reason] ?? p.reason} since ${p.since})`));
    }
  }
  out.push("");

  if (status.failing.length > 0) {
    out.push(style(["bold", "red"], `Failing (${status.failing.length}):`));
    for (const f of status.failing) {
      const what = f.type === "Group" ? `${f.key} (group)` : f.key;
      let next = "";
      if (f.nextAttemptAt !== undefined) {
        next = Date.parse(f.nextAttemptAt) - ESCROW_SLACK_MS <= context.now.getTime() ? "; the next sync tries again" : `; waiting until ${f.nextAttemptAt} (sync --retry-now tries now)`;
      }
      out.push(`  ${what}: ${f.attempts} failed attempt(s) in a row${f.op ? ` to ${f.op}` : ""}${next}; last error: ${f.lastError || "(none recorded)"}`);
    }
  } else if (context.auditLog === "off") {
    out.push(style("bold", "Failing: ") + "none" + style("dim", " (recorded in the state file; set log.path in the config for an audit log of every attempt)"));
  } else {
    out.push(style("bold", "Failing: ") + (context.auditLog === "missing" ? "none (the audit log has not been written yet)" : "none"));
  }
  return out.join("\n") + "\n";
}
