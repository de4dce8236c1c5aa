import type { ActionOp, ResourceType } from "../../core/model.js";
import type { EngineEvent } from "../../engine/events.js";
import { REPORT_SECTIONS, type JsonReport } from "../report.js";

export type PhaseName = "read-state" | "read-source" | "read-target" | "plan" | "apply" | "save-state";
export type PhaseStatus = "pending" | "running" | "done" | "failed";

export const MAX_FAILURES_SHOWN = 20;
export const MAX_WARNINGS_SHOWN = 5;

const PHASES: Record<"plan" | "sync", readonly PhaseName[]> = {
  plan: ["read-state", "read-source", "read-target", "plan"],
  sync: ["read-state", "read-source", "read-target", "plan", "apply", "save-state"],
};

const PHASE_LABELS: Record<PhaseName, string> = {
  "read-state": "reading the state",
  "read-source": "reading the directory",
  "read-target": "reading the target",
  plan: "planning",
  apply: "applying",
  "save-state": "saving the state",
};

const LISTING_LABELS: Record<string, string> = {
  users: "users",
  deletedUsers: "deleted users",
  userQuery: "users matching scope.query",
  filteredUsers: "users matching scope.filter",
  assignments: "app assignments",
  userChanges: "changed users",
  groupChanges: "changed groups",
  groups: "groups",
  members: "group members",
  orgUnits: "organizational units",
};

const ACTION_LABELS: Partial<Record<`${ResourceType} ${ActionOp}`, string>> = {
  "User create": "create users",
  "User update": "update users",
  "User unsuspend": "unsuspend users",
  "User suspend": "suspend users",
  "User delete": "delete users",
  "Group create": "create groups",
  "Group update": "update groups",
  "Group delete": "delete groups",
  "Group add-members": "add group members",
  "Group remove-members": "remove group members",
};

/** What one frame of the live view shows: plain data, laid out and coloured by LiveView. */
export interface LiveFrame {
  rows: Array<{ phase: PhaseName; label: string; status: PhaseStatus; detail: string }>;
  /** Advances every 100 ms of the clock; drives the spinner of a running phase. */
  tick: number;
  /** The last few warnings and how many there were; none in the final frame (they follow it as lines). */
  warnings: { shown: string[]; total: number };
}

/** What is printed under the final frame: counts by action and the failures with their reasons. */
export interface RunSummaryData {
  /** `planned` for plan; `done`, `failed` (and `skipped` if any) for sync. Absent when nothing was planned. */
  table?: { columns: string[]; rows: Array<{ label: string; cells: number[] }> };
  failures: { shown: Array<{ what: string; error: string }>; total: number };
}

interface Tally {
  type: ResourceType;
  op: ActionOp;
  planned: number;
  done: number;
  failed: number;
  skipped: number;
}

/**
 * Collects what the engine reports, in plain variables: an event costs a few additions, whatever
 * the size of the run, and a frame is built only when the view is drawn.
 */
export class RunTracker {
  private readonly phases = new Map<PhaseName, { status: PhaseStatus; startedAt?: number; endedAt?: number }>();
  private current: PhaseName | undefined;
  private readonly source = { listing: undefined as string | undefined, pages: 0, items: 0, users: undefined as number | undefined, problems: 0 };
  private readonly target = { users: undefined as number | undefined, groups: undefined as number | undefined };
  private readonly apply = { started: false, startedAt: 0, endedAt: undefined as number | undefined, total: 0, done: 0, failed: 0, skipped: 0 };
  private plannedTotal: number | undefined;
  private readonly tallies = new Map<string, Tally>();
  private readonly failures: Array<{ what: string; error: string }> = [];
  private failureCount = 0;
  private readonly recentWarnings: string[] = [];
  private warningCount = 0;
  private interrupted = false;
  private finished = false;

  constructor(
    readonly command: "plan" | "sync",
    private readonly clock: () => number,
  ) {
    for (const phase of PHASES[command]) this.phases.set(phase, { status: "pending" });
  }

  /** Whether a phase is running: the spinner needs a frame now and then even without events. */
  get busy(): boolean {
    return !this.finished && this.current !== undefined;
  }

  onEvent(event: EngineEvent): void {
    switch (event.type) {
      case "phase":
        // sync saves the plan's timers before applying: part of planning, not the final save.
        if (event.phase === "save-state" && this.phases.get("apply")?.status === "pending") return;
        this.enter(event.phase);
        return;
      case "source-progress":
        this.source.listing = event.listing;
        this.source.pages = event.pages;
        this.source.items = event.items;
        return;
      case "source-read":
        this.source.users = event.users;
        this.source.problems = event.problems;
        return;
      case "target-read":
        this.target.users = event.users;
        if (event.groups !== undefined) this.target.groups = event.groups;
        return;
      case "apply-start":
        this.apply.started = true;
        this.apply.startedAt = this.clock();
        this.apply.total = event.total;
        this.plannedTotal = event.total;
        return;
      case "action-done": {
        const { result } = event;
        this.apply.done = event.done;
        this.apply.total = event.total;
        const tally = this.tally(result.type, result.op);
        if (result.status === "ok") tally.done++;
        else if (result.status === "skipped") {
          tally.skipped++;
          this.apply.skipped++;
        } else if (result.status === "failed") {
          tally.failed++;
          this.apply.failed++;
          this.failureCount++;
          if (this.failures.length < MAX_FAILURES_SHOWN) {
            this.failures.push({ what: `${ACTION_LABELS[`${result.type} ${result.op}`] ?? result.op}: ${result.key}`, error: result.error ?? "" });
          }
        }
        return;
      }
      case "warning":
        this.warn(event.message);
        return;
    }
  }

  warn(message: string): void {
    this.warningCount++;
    this.recentWarnings.push(message);
    if (this.recentWarnings.length > MAX_WARNINGS_SHOWN) this.recentWarnings.shift();
  }

  /**
   * The run is over. With its report the phase that was running is done (or failed, when the
   * report carries an error); without one the command left on an error, in that phase.
   */
  finish(report?: JsonReport): void {
    if (this.finished) return;
    this.finished = true;
    const failed = report === undefined || report.error !== undefined;
    if (this.current) this.end(this.current, failed ? "failed" : "done");
    if (report) {
      this.interrupted = report.result === "interrupted";
      if ((this.interrupted || report.result === "error") && this.phases.get("apply")?.status === "done") this.phases.get("apply")!.status = "failed";
      if (report.command === "plan") {
        this.plannedTotal = report.actions.length;
        for (const a of report.actions) this.tally(a.type, a.op).planned++;
      }
    }
  }

  /** The live view's rows; `final` leaves the warnings out, for they are printed in full after it. */
  frame(final = false): LiveFrame {
    const now = this.clock();
    return {
      rows: [...this.phases].map(([phase, p]) => ({ phase, label: PHASE_LABELS[phase], status: p.status, detail: this.detail(phase, p, now) })),
      tick: Math.floor(now / 100),
      warnings: final ? { shown: [], total: 0 } : { shown: [...this.recentWarnings], total: this.warningCount },
    };
  }

  summary(): RunSummaryData {
    const table = this.table();
    return { ...(table ? { table } : {}), failures: { shown: [...this.failures], total: this.failureCount } };
  }

  private enter(phase: PhaseName): void {
    if (this.current === phase) return;
    if (this.current) this.end(this.current, "done");
    this.phases.set(phase, { status: "running", startedAt: this.clock() });
    this.current = phase;
  }

  private end(phase: PhaseName, status: "done" | "failed"): void {
    const p = this.phases.get(phase);
    if (p) {
      p.status = status;
      p.endedAt = this.clock();
    }
    if (phase === "apply") this.apply.endedAt = this.clock();
    if (this.current === phase) this.current = undefined;
  }

  private tally(type: ResourceType, op: ActionOp): Tally {
    const key = `${type} ${op}`;
    let t = this.tallies.get(key);
    if (!t) {
      t = { type, op, planned: 0, done: 0, failed: 0, skipped: 0 };
      this.tallies.set(key, t);
    }
    return t;
  }

  private detail(phase: PhaseName, p: { status: PhaseStatus; startedAt?: number; endedAt?: number }, now: number): string {
    if (p.status === "pending") return "";
    const took = p.endedAt !== undefined && p.startedAt !== undefined ? formatDuration(p.endedAt - p.startedAt) : "";
    const parts: string[] = [];
    switch (phase) {
      case "read-source":
        if (this.source.users !== undefined) {
          parts.push(`${count(this.source.users)} users`);
          if (this.source.problems > 0) parts.push(`${count(this.source.problems)} problem(s)`);
        } else if (this.source.listing !== undefined) {
          parts.push(`${LISTING_LABELS[this.source.listing] ?? this.source.listing}: ${count(this.source.items)} in ${count(this.source.pages)} page(s)`);
        }
        break;
      case "read-target":
        if (this.target.users !== undefined) parts.push(`${count(this.target.users)} users`);
        if (this.target.groups !== undefined) parts.push(`${count(this.target.groups)} groups`);
        break;
      case "plan":
        if (p.status !== "running" && this.plannedTotal !== undefined) parts.push(`${count(this.plannedTotal)} change(s)`);
        break;
      case "apply":
        return this.applyDetail(p.status, now);
    }
    if (took && p.status !== "running") parts.push(took);
    return parts.join(" · ");
  }

  private applyDetail(status: PhaseStatus, now: number): string {
    const a = this.apply;
    const parts = [`${count(a.done)}/${count(a.total)}`];
    const elapsed = (a.endedAt ?? now) - a.startedAt;
    if (status === "running") {
      // Actions, not HTTP requests: a create that meets a 409 costs a few requests but counts once.
      const perSecond = elapsed >= 1000 ? a.done / (elapsed / 1000) : undefined;
      if (perSecond !== undefined) parts.push(`${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)} actions/s`);
      if (a.failed > 0) parts.push(`${count(a.failed)} failed`);
      if (perSecond !== undefined && perSecond > 0 && a.done < a.total) parts.push(`about ${formatDuration(((a.total - a.done) / perSecond) * 1000)} left`);
      return parts.join(" · ");
    }
    if (a.started) parts.push(`in ${formatDuration(elapsed)}`);
    if (a.failed > 0) parts.push(`${count(a.failed)} failed`);
    if (a.skipped > 0) parts.push(`${count(a.skipped)} skipped`);
    if (this.interrupted) parts.push("interrupted");
    return parts.join(" · ");
  }

  private table(): RunSummaryData["table"] {
    const ordered: Tally[] = [];
    for (const [type, op] of REPORT_SECTIONS) {
      const t = this.tallies.get(`${type} ${op}`);
      if (t && (t.planned || t.done || t.failed || t.skipped)) ordered.push(t);
    }
    if (ordered.length === 0) return undefined;
    const label = (t: Tally) => ACTION_LABELS[`${t.type} ${t.op}`] ?? `${t.op} ${t.type}`;
    if (this.command === "plan") return { columns: ["planned"], rows: ordered.map((t) => ({ label: label(t), cells: [t.planned] })) };
    const withSkipped = ordered.some((t) => t.skipped > 0);
    return {
      columns: withSkipped ? ["done", "failed", "skipped"] : ["done", "failed"],
      rows: ordered.map((t) => ({ label: label(t), cells: withSkipped ? [t.done, t.failed, t.skipped] : [t.done, t.failed] })),
    };
  }
}

/** 12,345: thousands separated whatever the locale, so frames are the same everywhere. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** 0.4s, 12s, 3m 05s, 1h 02m. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  const totalSeconds = Math.round(s);
  const m = Math.floor(totalSeconds / 60);
  if (m < 60) return `${m}m ${String(totalSeconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}
