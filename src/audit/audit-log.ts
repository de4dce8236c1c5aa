/**
 * The audit log (`log.path`): one NDJSON line per action a sync applied, and one per run. It
 * records what was done to whom, never how: attribute names, not values (they may be personal
 * data or secrets), and never a token. A failure to write it is a warning, never a failed run.
 */
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import type { ActionOp, DeprovisionReason, ResourceType } from "../core/model.js";
import type { RunResult } from "../core/ports.js";
import type { ActionResult, EngineEvent } from "../engine/events.js";
import type { SyncReport } from "../engine/run-sync.js";
import { errorCode, InterruptedError, messageOf, TargetAuthError } from "../errors.js";

export interface AuditActionLine {
  time: string;
  runId: string;
  op: ActionOp;
  type: ResourceType;
  /** The userName, or the group's displayName. */
  key: string;
  /** The attribute paths written (a create: every one it set). */
  changed: string[];
  /** add-members / remove-members: how many. */
  members?: number;
  /** suspend / delete of a user, delete of a group. */
  reason?: DeprovisionReason;
  status: "ok" | "failed" | "skipped";
  error?: string;
}

export interface AuditRunLine {
  /** When the run ended. */
  time: string;
  runId: string;
  event: "run";
  result: RunResult;
  /** Applied actions by op (`groups.<op>` for groups), plus `failed`: as the state's lastRun. */
  counts: Record<string, number>;
  startedAt: string;
  /** Whether the target took the token in this run; absent when the run ended before it was tried. */
  token?: "accepted" | "rejected";
  /** The fatal error that ended the run, if one did. */
  error?: string;
}

export type AuditLine = AuditActionLine | AuditRunLine;

/** The audit line of an action the engine finished; undefined for one never started. */
export function auditLineOf(result: ActionResult, runId: string, time: Date): AuditActionLine | undefined {
  if (result.status === "planned") return undefined;
  // In the documented key order: what, to whom, which attributes, then how it went.
  return {
    time: time.toISOString(),
    runId,
    op: result.op,
    type: result.type,
    key: result.key,
    changed: Object.keys(result.changes),
    ...(result.members ? { members: result.members.length } : {}),
    ...(result.reason ? { reason: result.reason } : {}),
    status: result.status,
    ...(result.error !== undefined ? { error: result.error } : {}),
  };
}

/** What the run line says besides when and which run. */
export type RunSummary = Omit<AuditRunLine, "time" | "runId" | "event">;

/** The run line of a sync that got as far as a report. */
export function finishedRun(report: SyncReport): RunSummary {
  const run: RunSummary = {
    result: report.lastRun.result,
    counts: report.lastRun.counts,
    startedAt: report.lastRun.startedAt,
    // The run listed the target's users before anything else it did there.
    token: report.authError ? "rejected" : "accepted",
  };
  if (report.saveError !== undefined) run.error = messageOf(report.saveError);
  return run;
}

/** The run line of a sync that ended with an error before its report (the state holds no record of it). */
export function abortedRun(error: unknown, startedAt: string): RunSummary {
  const run: RunSummary = { result: error instanceof InterruptedError ? "interrupted" : "error", counts: {}, startedAt, error: messageOf(error) };
  if (error instanceof TargetAuthError) run.token = "rejected";
  return run;
}

export interface AuditLogOptions {
  runId: string;
  /** The run's clock: the time written on each line. */
  clock: () => Date;
  onWarning: (message: string) => void;
  /** Lines are written at least this often while actions run (ms). Default 1000. */
  flushMs?: number;
  /** ... and as soon as this many wait. Default 200. */
  batchLines?: number;
}

/**
 * Appends to the audit log. Lines wait in memory and are written in batches, each batch with
 * one write to a file opened with O_APPEND: on a local file system another writer's lines land
 * between batches, never inside a line. The file is opened for each batch, so a log rotated away
 * is created anew (mode 0600). Nothing here throws: a failure is reported through `onWarning`,
 * once per run, and the lines it cost are counted when the run ends.
 */
export class AuditLog {
  private readonly path: string;
  private readonly options: AuditLogOptions;
  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private checkedMode = false;
  private failure: string | undefined;
  private lost = 0;

  constructor(path: string, options: AuditLogOptions) {
    this.path = path;
    this.options = options;
  }

  /** An event sink for the engine: records every action it finishes. */
  readonly onEvent = (event: EngineEvent): void => {
    if (event.type !== "action-done") return;
    const line = auditLineOf(event.result, this.options.runId, this.options.clock());
    if (line) this.add(line);
  };

  /** Writes the run line after everything still waiting, and says if lines were lost. */
  async close(run: RunSummary): Promise<void> {
    const line: AuditRunLine = { time: this.options.clock().toISOString(), runId: this.options.runId, event: "run", ...run };
    this.buffer.push(JSON.stringify(line));
    await this.flush();
    if (this.lost > 0) {
      this.options.onWarning(`${this.lost} line(s) of this run are missing from the audit log ${this.path} (log.path)`);
    }
  }

  private add(line: AuditLine): void {
    this.buffer.push(JSON.stringify(line));
    if (this.buffer.length >= (this.options.batchLines ?? 200)) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushMs ?? 1000);
      // A pending batch must not keep the process alive; close() writes it.
      this.timer.unref();
    }
  }

  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.buffer;
    this.buffer = [];
    if (lines.length > 0) this.writing = this.writing.then(() => this.append(lines));
    return this.writing;
  }

  private async append(lines: string[]): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const handle = await open(this.path, "a", 0o600);
      try {
        if (!this.checkedMode) {
          this.checkedMode = true;
          await this.warnIfShared((await handle.stat()).mode);
        }
        const data = Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8");
        let written = 0;
        // One write; a regular file takes it whole, the loop is for the rare short write.
        while (written < data.length) written += (await handle.write(data, written)).bytesWritten;
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.lost += lines.length;
      if (this.failure === undefined) {
        this.failure = errorCode(error) ?? messageOf(error);
        this.options.onWarning(`cannot write the audit log ${this.path} (log.path): ${this.failure}; the run goes on without it`);
      }
    }
  }

  private async warnIfShared(mode: number): Promise<void> {
    if (process.platform === "win32" || (mode & 0o077) === 0) return;
    const octal = (mode & 0o777).toString(8).padStart(3, "0");
    this.options.onWarning(
      `the audit log ${this.path} can be read by other users (mode ${octal}); it names every user scimsync changed: restrict it with chmod 600 ${this.path}`,
    );
  }
}
