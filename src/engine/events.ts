import type { ActionOp, PlannedAction } from "../core/model.js";
import type { SourceProgress } from "../core/ports.js";
import type { FailureKind } from "../core/escrow.js";

export type { StoppedEarly } from "./systemic-stop.js";

export type ActionStatus = "planned" | "ok" | "failed" | "skipped";

/** A planned action with what became of it. */
export interface ActionResult extends PlannedAction {
  status: ActionStatus;
  error?: string;
  /** How a create ended up: made by us, or an existing account found after a 409 or a lost response. */
  note?: string;
  /** For a failure: whether it concerns the object, the token or a target that did not answer (escrow and the systemic stop read it; reports do not show it). */
  failureKind?: FailureKind;
}

/** What the engine reports while it works; views turn these into progress. It never prints. */
export type EngineEvent =
  | { type: "phase"; phase: "read-source" | "read-state" | "read-target" | "plan" | "apply" | "save-state"; detail?: string }
  | ({ type: "source-progress" } & SourceProgress)
  | { type: "source-read"; users: number; problems: number }
  | { type: "target-read"; users: number; groups?: number }
  | { type: "apply-start"; total: number }
  | { type: "action-done"; result: ActionResult; done: number; total: number }
  | { type: "warning"; message: string };

export type EventSink = (event: EngineEvent) => void;

export const ACTION_OPS: readonly ActionOp[] = ["create", "update", "suspend", "unsuspend", "delete"];
