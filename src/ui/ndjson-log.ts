/**
 * Progress and warnings as NDJSON on stderr (`--log-format json`): one object a line, for log
 * collectors (journald, Loki, CloudWatch) that a cron job or a container writes into. Lines
 * carry what happened and to whom, never attribute values: those may be personal data.
 */
import type { EngineEvent, EventSink } from "../engine/events.js";

export interface NdjsonLogOptions {
  runId: string;
  clock?: () => Date;
  /** Apply progress at most this often (ms); failures are always logged. */
  everyMs?: number;
}

export function ndjsonLog(write: (line: string) => void, options: NdjsonLogOptions): EventSink {
  const clock = options.clock ?? (() => new Date());
  const everyMs = options.everyMs ?? 2000;
  let lastProgress = 0;
  let lastSource = 0;
  const emit = (level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>): void => {
    write(JSON.stringify({ time: clock().toISOString(), level, runId: options.runId, event, ...fields }));
  };
  return (e: EngineEvent) => {
    const now = clock().getTime();
    switch (e.type) {
      case "phase":
        emit("info", "phase", { phase: e.phase, ...(e.detail ? { detail: e.detail } : {}) });
        return;
      case "source-progress":
        if (now - lastSource < everyMs) return;
        lastSource = now;
        emit("info", "source-progress", { listing: e.listing, pages: e.pages, items: e.items });
        return;
      case "source-read":
        emit("info", "source-read", { users: e.users, problems: e.problems });
        return;
      case "target-read":
        emit("info", "target-read", { users: e.users, ...(e.groups !== undefined ? { groups: e.groups } : {}) });
        return;
      case "apply-start":
        lastProgress = now;
        emit("info", "apply-start", { total: e.total });
        return;
      case "action-done": {
        const r = e.result;
        if (r.status === "failed") {
          emit("error", "action-failed", { op: r.op, type: r.type, key: r.key, changed: Object.keys(r.changes), error: r.error ?? "" });
        }
        if (e.done === e.total || now - lastProgress >= everyMs) {
          lastProgress = now;
          emit("info", "apply-progress", { done: e.done, total: e.total });
        }
        return;
      }
      case "warning":
        emit("warn", "warning", { message: e.message });
        return;
    }
  };
}
