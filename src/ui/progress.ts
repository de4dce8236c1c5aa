import type { EngineEvent, EventSink } from "../engine/events.js";
import type { Style } from "./style.js";
import { terminalSafe } from "./terminal-text.js";

const PHASE_TEXT: Record<string, string> = {
  "read-source": "reading the directory",
  "read-state": "reading the state file",
  "read-target": "reading users from the target",
  plan: "planning",
  apply: "applying",
  "save-state": "saving the state file",
};

const SOURCE_LISTING_TEXT: Record<string, string> = {
  users: "users read",
  deletedUsers: "deleted users read",
  userQuery: "users matching scope.query read",
  filteredUsers: "users matching scope.filter read",
  assignments: "app assignments read",
  userChanges: "changed users read",
  groupChanges: "changed groups read",
  groups: "groups read",
  members: "group members read",
  orgUnits: "organizational units read",
};

/**
 * Line-oriented progress on stderr: readable in a terminal and in a cron mail alike, and never
 * in the way of the report on stdout. Apply progress is printed at most every `everyMs`.
 */
export function lineProgress(write: (line: string) => void, style: Style, clock: () => number = Date.now, everyMs = 2000): EventSink {
  let lastPrinted = 0;
  let lastSourceLine = clock();
  return (event: EngineEvent) => {
    switch (event.type) {
      case "phase":
        if (event.phase !== "save-state") write(style("dim", `· ${PHASE_TEXT[event.phase] ?? event.phase}…`));
        return;
      case "source-progress": {
        // A listing of 100k users is 200 pages: one line every `everyMs` is plenty.
        const now = clock();
        if (now - lastSourceLine >= everyMs) {
          lastSourceLine = now;
          write(style("dim", `  ${SOURCE_LISTING_TEXT[event.listing] ?? `${event.listing} read`}: ${event.items} in ${event.pages} page(s) so far`));
        }
        return;
      }
      case "source-read":
        write(style("dim", `  ${event.users} users in the directory${event.problems ? `, ${event.problems} problem(s) (listed at the end)` : ""}`));
        return;
      case "target-read":
        write(style("dim", event.groups === undefined ? `  ${event.users} users on the target` : `  ${event.groups} groups on the target`));
        return;
      case "apply-start":
        lastPrinted = clock();
        if (event.total > 0) write(style("dim", `  ${event.total} action(s) to apply`));
        return;
      case "action-done": {
        if (event.result.status === "failed") {
          write(style("red", `  failed: ${event.result.op} ${terminalSafe(event.result.key)}: ${terminalSafe(event.result.error ?? "")}`));
        }
        const now = clock();
        if (event.done === event.total || now - lastPrinted >= everyMs) {
          lastPrinted = now;
          write(style("dim", `  ${event.done}/${event.total} done`));
        }
        return;
      }
      case "warning":
        write(style("yellow", `warning: ${terminalSafe(event.message, { lines: true })}`));
        return;
    }
  };
}
