/**
 * notify.webhook for `sync`: after the run, or after the error that ended it, decide whether
 * the configured triggers match and post the summary. A notice that cannot be sent is a warning;
 * it never changes the exit code.
 */
import type { WebhookConfig } from "../config/load-config.js";
import type { SyncReport } from "../engine/run-sync.js";
import type { ActionResult } from "../engine/events.js";
import { errorBody } from "../cli/exit-codes.js";
import { InterruptedError, LockedError, TargetAuthError } from "../errors.js";
import { shouldNotify, webhookPayload, type FailedAction, type RunOutcome } from "./run-summary.js";
import { postWebhook, type WebhookOptions } from "./webhook.js";

export interface RunNotifier {
  /** After runSync returned (also when the state could not be saved: report.saveError). */
  afterRun(report: SyncReport): Promise<void>;
  /** After runSync threw. */
  afterError(error: unknown): Promise<void>;
}

export interface NotifierContext {
  runId: string;
  target: string;
  narrowedTo?: string;
  /** Cut out of every text sent (the target's token). The webhook URL is added. */
  secrets: string[];
  warn: (message: string) => void;
  /** Tests only. */
  webhookOptions?: WebhookOptions;
}

/** A notifier for the config's webhook; undefined when none is configured. */
export function runNotifier(webhook: WebhookConfig | undefined, context: NotifierContext): RunNotifier | undefined {
  if (!webhook) return undefined;
  const secrets = [...context.secrets, webhook.url];
  const base = { runId: context.runId, target: context.target, ...(context.narrowedTo !== undefined ? { narrowedTo: context.narrowedTo } : {}) };
  const deliver = async (outcome: RunOutcome): Promise<void> => {
    if (!shouldNotify(webhook.on, outcome)) return;
    const sent = await postWebhook(webhook.url, webhookPayload(outcome, secrets), context.webhookOptions);
    if (!sent.ok) context.warn(`notify.webhook: the run's summary was not sent: ${sent.problem}`);
  };
  return {
    async afterRun(report) {
      const outcome: RunOutcome = {
        ...base,
        // Applied but not recorded: the run ends as an error (exit 1), whatever it applied.
        result: report.saveError !== undefined ? "error" : report.result,
        counts: report.lastRun.counts,
        failed: report.results.filter((r) => r.status === "failed").map(failedAction),
        held: report.plan.held.length,
        safety: report.plan.safety,
        authRejected: report.authError !== undefined || report.stoppedEarly?.reason === "auth",
      };
      if (report.stoppedEarly) outcome.stoppedEarly = report.stoppedEarly.message;
      if (report.saveError !== undefined) outcome.error = errorBody(report.saveError);
      else if (report.authError) outcome.error = errorBody(report.authError);
      await deliver(outcome);
    },
    async afterError(error) {
      // Another run holds the lock (it reports for itself), or a person pressed Ctrl-C.
      if (error instanceof LockedError || error instanceof InterruptedError) return;
      await deliver({
        ...base,
        result: "error",
        counts: {},
        failed: [],
        held: 0,
        authRejected: error instanceof TargetAuthError,
        error: errorBody(error),
      });
    },
  };
}

function failedAction(result: ActionResult): FailedAction {
  const values: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === "string") values.push(value);
    else if (Array.isArray(value)) for (const v of value) collect(v);
  };
  for (const change of Object.values(result.changes)) {
    collect(change.from);
    collect(change.to);
  }
  for (const value of Object.values(result.attributes ?? {})) collect(value);
  // The key is given anyway (userNames are what an administrator acts on).
  const key = result.key.toLowerCase();
  return { op: result.op, type: result.type, key: result.key, error: result.error ?? "", values: values.filter((v) => v.toLowerCase() !== key) };
}
