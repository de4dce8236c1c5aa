import { randomUUID } from "node:crypto";
import { loadConfig } from "../../config/load-config.js";
import { runSync } from "../../engine/run-sync.js";
import { isSafetyStop } from "../../core/safety.js";
import { portsFrom, settingsFrom } from "../wiring.js";
import { buildReport, makeOutput, type LogFormat, type OutputFormat } from "../output.js";
import { EXIT, errorBody, exitCodeFor } from "../exit-codes.js";
import { abortedRun, AuditLog, finishedRun } from "../../audit/audit-log.js";

export interface SyncCommandOptions {
  config: string;
  output: OutputFormat;
  logFormat?: LogFormat;
  now?: Date;
  allowMassDeprovision?: boolean;
}

/**
 * Applies the plan. Ctrl-C (or SIGTERM) stops starting new actions, lets those in flight
 * finish, saves the state and exits 130; a second Ctrl-C leaves at once.
 */
export async function syncCommand(options: SyncCommandOptions): Promise<number> {
  // One id for the run's log lines, its audit lines and its state record.
  const runId = randomUUID();
  const out = makeOutput(options.output, { runId, ...(options.logFormat ? { logFormat: options.logFormat } : {}) });
  const { config, warnings } = await loadConfig(options.config);
  for (const w of warnings) out.warn(w);
  const abort = new AbortController();
  const ports = portsFrom(config, {
    onWarning: out.warn,
    onLockLost: (reason) => {
      out.warn(`the state lock was lost (${reason}): stopping before another action is applied`);
      abort.abort();
    },
  });
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted);
    out.warn("interrupted: finishing the requests in flight and saving the state (press Ctrl-C again to quit at once)");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const fixedNow = options.now;
  if (fixedNow) out.warn(`the clock is set to ${fixedNow.toISOString()}: deprovisioning timers started by this run count from then`);
  const clock = () => fixedNow ?? new Date();
  const startedAt = clock().toISOString();
  const audit = config.log.path ? new AuditLog(config.log.path, { runId, clock, onWarning: out.warn }) : undefined;
  try {
    const report = await runSync(settingsFrom(config), ports, {
      now: fixedNow ?? new Date(),
      clock,
      allowMassDeprovision: options.allowMassDeprovision ?? false,
      onEvent: audit
        ? (event) => {
            out.progress(event);
            audit.onEvent(event);
          }
        : out.progress,
      signal: abort.signal,
      runId,
      fixedNow: fixedNow !== undefined,
    }).catch(async (error: unknown) => {
      await audit?.close(abortedRun(error, startedAt));
      throw error;
    });
    await audit?.close(finishedRun(report));
    const json = buildReport("sync", config.target.url, report.plan, report.results, report.problems, report.result);
    json.stateSaved = report.saveError === undefined;
    if (report.saveError) {
      // One report that says both what was applied and that it is not recorded.
      const error = report.saveError;
      json.error = errorBody(error);
      out.report(json);
      out.fail(json.error.message, json.error.hint);
      return exitCodeFor(error);
    }
    out.report(json);
    if (report.interrupted) return EXIT.interrupted;
    if (report.authError) {
      out.warn(`${report.authError.message}${report.authError.hint ? ` (${report.authError.hint})` : ""}`);
      return EXIT.authRejected;
    }
    if (isSafetyStop(report.plan.safety)) return EXIT.safetyStop;
    if (report.result === "failed") return EXIT.actionsFailed;
    return EXIT.ok;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await ports.target.close();
  }
}
