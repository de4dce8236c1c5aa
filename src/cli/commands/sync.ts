import { randomUUID } from "node:crypto";
import { loadConfig } from "../../config/load-config.js";
import { runSync } from "../../engine/run-sync.js";
import { isSafetyStop } from "../../core/safety.js";
import { portsFrom, settingsFrom } from "../wiring.js";
import { buildReport, makeRunOutput, type LogFormat, type OutputFormat } from "../output.js";
import { EXIT, errorBody, exitCodeFor } from "../exit-codes.js";
import { abortedRun, AuditLog, finishedRun } from "../../audit/audit-log.js";
import { UnknownUserError } from "../../engine/narrow-to-user.js";
import { runNotifier } from "../../notify/notify-run.js";

export interface SyncCommandOptions {
  config: string;
  output: OutputFormat;
  logFormat?: LogFormat;
  now?: Date;
  allowMassDeprovision?: boolean;
  /** Objects waiting in escrow after failing are tried in this run. */
  retryNow?: boolean;
  /** Provision on demand: apply only this person's changes (a userName). */
  user?: string;
}

/**
 * Applies the plan. Ctrl-C (or SIGTERM) stops starting new actions, lets those in flight
 * finish, saves the state and exits 130; a second Ctrl-C leaves at once.
 */
export async function syncCommand(options: SyncCommandOptions): Promise<number> {
  // One id for the run's log lines, its audit lines and its state record.
  const runId = randomUUID();
  const out = await makeRunOutput(options.output, "sync", { runId, ...(options.logFormat ? { logFormat: options.logFormat } : {}) });
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
  const narrowedTo = options.user?.trim();
  const notifier = runNotifier(config.notify.webhook, {
    runId,
    target: config.target.url,
    ...(narrowedTo !== undefined ? { narrowedTo } : {}),
    secrets: [config.target.token],
    warn: out.warn,
  });
  // The webhook is called while the report is shown, and awaited before the command returns.
  let notifying: Promise<void> | undefined;
  try {
    const report = await runSync(settingsFrom(config), ports, {
      now: fixedNow ?? new Date(),
      clock,
      allowMassDeprovision: options.allowMassDeprovision ?? false,
      retryFailed: options.retryNow ?? false,
      onEvent: audit
        ? (event) => {
            out.progress(event);
            audit.onEvent(event);
          }
        : out.progress,
      signal: abort.signal,
      runId,
      fixedNow: fixedNow !== undefined,
      ...(narrowedTo !== undefined ? { user: narrowedTo } : {}),
    }).catch(async (error: unknown) => {
      await audit?.close(abortedRun(error, startedAt));
      // A mistyped --user is answered on the terminal, not in the team's channel.
      if (!(error instanceof UnknownUserError)) notifying = notifier?.afterError(error);
      throw error;
    });
    await audit?.close(finishedRun(report));
    const json = buildReport("sync", config.target.url, report.plan, report.results, report.problems, report.result);
    json.stateSaved = report.saveError === undefined;
    if (report.stoppedEarly) json.stoppedEarly = report.stoppedEarly;
    if (narrowedTo !== undefined) json.narrowedTo = narrowedTo;
    if (report.person) json.person = report.person;
    json.timings = report.timings;
    notifying = notifier?.afterRun(report);
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
    await notifying?.catch((error: unknown) => out.warn(`notify.webhook: ${(error as Error).message}`));
    out.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await ports.target.close();
  }
}
