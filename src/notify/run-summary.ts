/**
 * What a webhook is told about a sync: one line of text that Slack and Teams show as it is, and
 * the same facts as JSON for anything that reads further. Pure: the caller says what happened.
 *
 * Neither part ever holds a token or an attribute value. Keys (userNames, group names) are what
 * an administrator acts on and are given; error messages come from the target and could quote a
 * value it refused, so every value of the failed action is cut out of them.
 */
import type { ActionOp, ResourceType, SafetyVerdict } from "../core/model.js";
import type { RunResult } from "../core/ports.js";
import type { NotifyTrigger } from "../config/schema.js";

/** A sync as the webhook hears of it. */
export interface RunOutcome {
  runId: string;
  /** The SCIM base URL (not a secret: no token in it). */
  target: string;
  /** `sync --user`: the person the run was narrowed to. */
  narrowedTo?: string;
  result: RunResult;
  /** Applied actions by op (groups as groups.<op>), plus failed: the state's lastRun counts. */
  counts: Record<string, number>;
  failed: FailedAction[];
  /** Users held for review. */
  held: number;
  /** Absent when the run ended before it had a plan. */
  safety?: SafetyVerdict;
  /** The target rejected the token (401/403), before or while applying. */
  authRejected: boolean;
  /** What ended the run early, or kept its outcome from being saved. */
  error?: { kind: string; message: string; hint?: string };
  /** The run stopped starting actions because of a systemic failure (most requests failing, the target gone). */
  stoppedEarly?: string;
}

export interface FailedAction {
  op: ActionOp;
  type: ResourceType;
  key: string;
  error: string;
  /** Attribute values the action carried, to cut out of `error`; never sent. */
  values?: readonly string[];
}

export interface WebhookPayload {
  text: string;
  scimsync: {
    runId: string;
    result: RunResult;
    target: string;
    narrowedTo?: string;
    counts: Record<string, number>;
    failed: Array<{ op: ActionOp; type: ResourceType; key: string; error: string }>;
    safety?: SafetyVerdict;
    error?: { kind: string; message: string; hint?: string };
    stoppedEarly?: string;
  };
}

/** Failures listed in the payload; the counts say how many there were in all. */
export const MAX_FAILED_LISTED = 10;
const MAX_MESSAGE = 300;

/** The triggers a run matches (`always` aside). */
export function triggersOf(outcome: RunOutcome): Set<Exclude<NotifyTrigger, "always">> {
  const triggers = new Set<Exclude<NotifyTrigger, "always">>();
  if (outcome.authRejected) triggers.add("auth");
  const safety = outcome.safety;
  if (safety && (safety.blocked || safety.groupDeletesBlocked === true || safety.failClosed)) triggers.add("safety-stop");
  const failedRun = outcome.failed.length > 0 || (outcome.counts.failed ?? 0) > 0 || outcome.held > 0 || outcome.stoppedEarly !== undefined;
  if (failedRun || (outcome.error && !outcome.authRejected)) {
    triggers.add("failed");
  }
  return triggers;
}

export function shouldNotify(on: readonly NotifyTrigger[], outcome: RunOutcome): boolean {
  if (on.includes("always")) return true;
  const matched = triggersOf(outcome);
  return on.some((t) => t !== "always" && matched.has(t));
}

/**
 * The payload, with `secrets` (the token, the webhook URL) cut out of every text as well, in
 * case a server echoed one back.
 */
export function webhookPayload(outcome: RunOutcome, secrets: readonly string[] = []): WebhookPayload {
  // Cut out before anything is cut short, so that no part of a secret is left at an end.
  const clean = (text: string, values: readonly string[] = []) => scrub(scrub(text, values, "[value]"), secrets, "[redacted]");
  const cleaned: RunOutcome = {
    ...outcome,
    target: clean(outcome.target),
    ...(outcome.stoppedEarly !== undefined ? { stoppedEarly: clean(outcome.stoppedEarly) } : {}),
    failed: outcome.failed.map((f) => ({ op: f.op, type: f.type, key: f.key, error: clean(f.error, f.values) })),
  };
  if (outcome.error) {
    cleaned.error = { kind: outcome.error.kind, message: clean(outcome.error.message) };
    if (outcome.error.hint) cleaned.error.hint = clean(outcome.error.hint);
  }
  const body: WebhookPayload["scimsync"] = {
    runId: cleaned.runId,
    result: cleaned.result,
    target: cleaned.target,
    counts: cleaned.counts,
    failed: cleaned.failed.slice(0, MAX_FAILED_LISTED).map((f) => ({ op: f.op, type: f.type, key: f.key, error: shortMessage(f.error) })),
  };
  if (cleaned.narrowedTo !== undefined) body.narrowedTo = cleaned.narrowedTo;
  if (cleaned.stoppedEarly !== undefined) body.stoppedEarly = shortMessage(cleaned.stoppedEarly);
  if (cleaned.safety) body.safety = cleaned.safety;
  if (cleaned.error) {
    body.error = { kind: cleaned.error.kind, message: shortMessage(cleaned.error.message) };
    if (cleaned.error.hint) body.error.hint = shortMessage(cleaned.error.hint);
  }
  return { text: oneLine(summaryText(cleaned)), scimsync: body };
}

/** "scimsync sync on https://app.example.com/scim/v2: 3 failed, 120 applied (safety stop: …)" */
export function summaryText(outcome: RunOutcome): string {
  const who = outcome.narrowedTo === undefined ? "scimsync sync" : `scimsync sync --user ${outcome.narrowedTo}`;
  const failed = outcome.counts.failed ?? outcome.failed.length;
  const applied = Object.entries(outcome.counts).reduce((n, [op, count]) => (op === "failed" ? n : n + count), 0);
  const parts: string[] = [];
  if (outcome.authRejected) parts.push("the target rejected the token; run scimsync reauthorize");
  else if (outcome.error && outcome.result === "error") parts.push(`error: ${shortMessage(outcome.error.message)}`);
  else if (outcome.stoppedEarly !== undefined) parts.push(`stopped early: ${shortMessage(outcome.stoppedEarly)}`);
  else if (outcome.result === "interrupted") parts.push("interrupted");
  if (outcome.result === "ok" && failed === 0) parts.push(applied > 0 ? `ok, ${applied} applied` : "ok, nothing to change");
  else {
    if (failed > 0) parts.push(`${failed} failed`);
    if (applied > 0 || failed > 0 || parts.length === 0) parts.push(`${applied} applied`);
  }
  if (outcome.held > 0) parts.push(`${outcome.held} held for review`);
  let text = `${who} on ${outcome.target}: ${parts.join(", ")}`;
  const safety = outcome.safety;
  if (safety?.blocked) text += ` (safety stop: ${safety.reason ?? "limits exceeded"})`;
  else if (safety?.groupDeletesBlocked) text += ` (safety stop for groups: ${safety.reason ?? "limits exceeded"})`;
  else if (safety?.failClosed) text += ` (failed closed: ${safety.failClosed})`;
  return text;
}

/** Cuts each of `values` out of `text`. Very short values are left: they would match ordinary words. */
function scrub(text: string, values: readonly string[], mark: string): string {
  let out = text;
  for (const value of [...values].sort((a, b) => b.length - a.length)) {
    if (value.length >= 4) out = out.split(value).join(mark);
  }
  return out;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_MESSAGE * 2 ? `${flat.slice(0, MAX_MESSAGE * 2 - 1)}…` : flat;
}

/** Error messages are cut short: the payload is a notice, the audit log and the report have the rest. */
export function shortMessage(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE - 1)}…` : flat;
}
