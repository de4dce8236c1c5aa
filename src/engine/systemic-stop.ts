/**
 * Stopping a run early when the target, not one object, is the problem: hammering a target that
 * rejects the token, does not answer, or fails nearly everything helps nobody. Like Ctrl-C, a
 * stop only ends the starting of new actions: those in flight finish and are recorded, the
 * state is saved, and the actions not started are planned again by the next run.
 */
import { TargetAuthError, TargetError } from "../errors.js";
import type { FailureKind } from "../core/escrow.js";

export interface SystemicLimits {
  /** Stop after this many finished actions in a row got no answer at all (after the client's retries). */
  noAnswerInARow: number;
  /** The failure share is judged over the last this-many finished actions, once that many finished. */
  window: number;
  /** Stop when at least this share (0..1) of the window failed. */
  failureShare: number;
}

export const SYSTEMIC_LIMITS: SystemicLimits = { noAnswerInARow: 5, window: 20, failureShare: 0.8 };

/** Why a run stopped starting actions before the end of its plan. */
export interface StoppedEarly {
  /** auth: the target rejected the token; unreachable: it stopped answering; failing: most actions failed. */
  reason: "auth" | "unreachable" | "failing";
  message: string;
}

/** How an action's error counts: the token, no answer at all, or a failure about this object. */
export function failureKindOf(error: unknown): FailureKind {
  if (error instanceof TargetAuthError) return "auth";
  return isNoAnswer(error) ? "no-answer" : "object";
}

/**
 * true when the target never answered: the innermost TargetError (following `cause`, as the
 * create paths wrap the original failure) has no HTTP status and was caused by the network or
 * a timeout. A TargetError without status and without a cause is scimsync's own refusal.
 */
function isNoAnswer(error: unknown): boolean {
  let e = error;
  while (e instanceof TargetError) {
    if (e.status !== undefined) return false;
    if (!(e.cause instanceof TargetError)) return e.cause !== undefined;
    e = e.cause;
  }
  return false;
}

/** Watches finished actions in the order they finish and says when the run should stop. */
export class SystemicWatch {
  private noAnswerInARow = 0;
  private readonly recent: boolean[] = [];
  private readonly limits: SystemicLimits;

  constructor(limits: Partial<SystemicLimits> = {}) {
    this.limits = { ...SYSTEMIC_LIMITS, ...limits };
  }

  /** One finished (ok or failed) action; skipped ones say nothing about the target. */
  observe(ok: boolean, kind: FailureKind | undefined, error: string | undefined): StoppedEarly | undefined {
    if (!ok && kind === "auth") {
      return { reason: "auth", message: `the target rejected the token (${error ?? "401/403"}); no further action was started` };
    }
    this.noAnswerInARow = !ok && kind === "no-answer" ? this.noAnswerInARow + 1 : 0;
    this.recent.push(!ok);
    if (this.recent.length > this.limits.window) this.recent.shift();
    if (this.noAnswerInARow >= this.limits.noAnswerInARow) {
      return {
        reason: "unreachable",
        message: `the target did not answer ${this.noAnswerInARow} actions in a row, after retries (last: ${error ?? "no answer"}); no further action was started`,
      };
    }
    const failed = this.recent.filter(Boolean).length;
    if (this.recent.length >= this.limits.window && failed >= Math.ceil(this.limits.failureShare * this.limits.window)) {
      return {
        reason: "failing",
        message: `${failed} of the last ${this.recent.length} actions failed (last: ${error ?? "unknown"}); no further action was started, so as not to hammer the target`,
      };
    }
    return undefined;
  }
}
