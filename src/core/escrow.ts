/**
 * Escrow, after Entra's provisioning escrow: a user or group whose actions fail run after run is
 * retried with a growing pause instead of being tried (and failing) on every run.
 *
 * - The first failure is retried by the next run. After n >= 2 failed runs in a row the object
 *   waits min(2^(n-2) hours, 24 hours) from its last failure: 1 h, 2 h, 4 h, 8 h, 16 h, then
 *   once a day for as long as it keeps failing. There is no permanent quarantine.
 * - While it waits, the planner holds the object's actions (listed under `held`, with `escrow`),
 *   and no request is sent for it. `sync --retry-now` ignores the pause for one run.
 * - Escrow never delays taking access away: a suspend, and the delete of an account that is
 *   still active, are tried on every run.
 * - A success clears the record; so does a run that plans nothing for the object.
 *
 * The record counts runs, not requests: one run in which any of the object's actions failed
 * is one attempt. Failures that say nothing about the object (the token rejected, the target
 * not answering, a run stopped early for a systemic failure) leave the record as it was.
 */
import type { ActionOp, EscrowHold, FailureRecord, ResourceType } from "./model.js";

const HOUR_MS = 3_600_000;
/** The longest pause: like Entra, an object that keeps failing is still tried once a day. */
export const MAX_ESCROW_PAUSE_MS = 24 * HOUR_MS;
/**
 * A run this much before `nextAttemptAt` counts as on time: scheduled runs are jittered
 * (the systemd timer's RandomizedDelaySec), and missing by a minute must not add an hour.
 */
export const ESCROW_SLACK_MS = 5 * 60_000;
/** How much of an error is kept in the state file. */
const MAX_ERROR_CHARS = 1000;

/** The key of an object's record in `SyncState.failures`. */
export function failureKey(type: ResourceType, sourceId: string): string {
  return `${type}:${sourceId}`;
}

/** The pause after `attempts` failed runs in a row. */
export function escrowPauseMs(attempts: number): number {
  if (attempts < 2) return 0;
  return Math.min(2 ** (attempts - 2) * HOUR_MS, MAX_ESCROW_PAUSE_MS);
}

/** Whether the object still waits at `now`; never with --retry-now. */
export function isWaiting(record: FailureRecord, now: Date, retryNow: boolean): boolean {
  if (retryNow) return false;
  return Date.parse(record.nextAttemptAt) - ESCROW_SLACK_MS > now.getTime();
}

/**
 * Which actions may wait. Nothing that takes access away does: a suspend, a delete while the
 * account is still active, and, for groups, removing members or deleting the group (one
 * member's failing add must not keep a leaver in a privileged group).
 */
export function mayWait(type: ResourceType, op: ActionOp, accountActive?: boolean): boolean {
  if (type === "Group") return op !== "remove-members" && op !== "delete";
  if (op === "suspend") return false;
  if (op === "delete") return accountActive === false;
  return true;
}

/** What a held object's entry in the plan says. */
export function escrowHoldOf(record: FailureRecord): { reason: string; escrow: EscrowHold } {
  const { name: _, ...escrow } = record;
  const reason =
    `waiting until ${record.nextAttemptAt} after ${record.attempts} failed attempt(s) to ${record.op}: ${record.lastError}` +
    ` (sync --retry-now retries it at once)`;
  return { reason, escrow };
}

/** Why an action failed, as far as escrow and the systemic stop care. */
export type FailureKind =
  /** The target answered, or scimsync refused, and the failure concerns this object. */
  | "object"
  /** The target rejected the token (401/403). */
  | "auth"
  /** No answer at all: a network error or a timeout, after the client's retries. */
  | "no-answer";

/** An action's outcome as escrow reads it. */
export interface ActionOutcome {
  type: ResourceType;
  sourceId: string;
  key: string;
  op: ActionOp;
  status: "planned" | "ok" | "failed" | "skipped";
  error?: string;
  failureKind?: FailureKind;
}

/**
 * The failure records after a run: an object with a failure that counts gets one more attempt
 * and a new pause; one with a success and no failure is cleared; the rest stay as they were
 * (not started, skipped, or failed for reasons that are not the object's). `outcomes` are in
 * apply order, so the first failure of an object is its root cause (a group's create before
 * its members).
 */
export function recordOutcomes(
  failures: Readonly<Record<string, FailureRecord>>,
  outcomes: readonly ActionOutcome[],
  at: Date,
  options: { countFailures: boolean },
): Record<string, FailureRecord> {
  const byObject = new Map<string, ActionOutcome[]>();
  for (const o of outcomes) {
    const key = failureKey(o.type, o.sourceId);
    byObject.set(key, [...(byObject.get(key) ?? []), o]);
  }
  const next: Record<string, FailureRecord> = { ...failures };
  const atIso = at.toISOString();
  for (const [key, list] of byObject) {
    const failed = list.filter((o) => o.status === "failed");
    const counted = options.countFailures ? failed.find((o) => (o.failureKind ?? "object") === "object") : undefined;
    if (counted) {
      const before = failures[key];
      const attempts = (before?.attempts ?? 0) + 1;
      next[key] = {
        name: counted.key,
        op: counted.op,
        attempts,
        firstFailedAt: before?.firstFailedAt ?? atIso,
        lastFailedAt: atIso,
        lastError: truncate(counted.error ?? "(no error recorded)"),
        nextAttemptAt: new Date(at.getTime() + escrowPauseMs(attempts)).toISOString(),
      };
    } else if (failed.length === 0 && list.some((o) => o.status === "ok")) {
      delete next[key];
    }
  }
  return next;
}

function truncate(text: string): string {
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS - 1)}…`;
}
