/**
 * What the audit log says about a period (`scimsync report`) and about the objects that keep
 * failing (`scimsync status`). Pure: the lines and the period come in, the clock stays out.
 */
import { compareKeys } from "../core/compare-keys.js";
import type { ActionOp, ResourceType } from "../core/model.js";
import type { AuditActionLine } from "./audit-log.js";
import type { AuditLogContents } from "./read-audit-log.js";

/**
 * The machine-readable result of `report --output json`; its shape is documented in the README
 * and is a promise to scripts: add fields, never rename or remove them.
 */
export interface UsageReport {
  since: string;
  until: string;
  users: { created: number; updated: number; suspended: number; unsuspended: number; deleted: number; failed: number };
  /** membersAdded / membersRemoved: memberships, summed over the groups. */
  groups: { created: number; updated: number; deleted: number; membersAdded: number; membersRemoved: number; failed: number };
  failures: Array<{ time: string; op: ActionOp; type: ResourceType; key: string; error: string }>;
}

const USER_COUNTERS: Partial<Record<ActionOp, keyof UsageReport["users"]>> = {
  create: "created",
  update: "updated",
  suspend: "suspended",
  unsuspend: "unsuspended",
  delete: "deleted",
};
const GROUP_COUNTERS: Partial<Record<ActionOp, "created" | "updated" | "deleted">> = { create: "created", update: "updated", delete: "deleted" };

/** Counts the actions applied from `since` to `until` (both included), and lists the failed ones in the order they happened. */
export function summariseUsage(actions: readonly AuditActionLine[], since: Date, until: Date): UsageReport {
  const report: UsageReport = {
    since: since.toISOString(),
    until: until.toISOString(),
    users: { created: 0, updated: 0, suspended: 0, unsuspended: 0, deleted: 0, failed: 0 },
    groups: { created: 0, updated: 0, deleted: 0, membersAdded: 0, membersRemoved: 0, failed: 0 },
    failures: [],
  };
  const from = since.getTime();
  const to = until.getTime();
  const inPeriod = actions
    .filter((a) => {
      const t = Date.parse(a.time);
      return t >= from && t <= to;
    })
    // Stable: lines of one run keep the order they were written in.
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  for (const a of inPeriod) {
    if (a.status === "failed") {
      if (a.type === "User") report.users.failed++;
      else report.groups.failed++;
      report.failures.push({ time: new Date(Date.parse(a.time)).toISOString(), op: a.op, type: a.type, key: a.key, error: a.error ?? "" });
      continue;
    }
    // Skipped actions (held back by a safety limit) were not applied: they are no usage.
    if (a.status !== "ok") continue;
    if (a.type === "User") {
      const counter = USER_COUNTERS[a.op];
      if (counter) report.users[counter]++;
    } else if (a.op === "add-members") report.groups.membersAdded += a.members ?? 0;
    else if (a.op === "remove-members") report.groups.membersRemoved += a.members ?? 0;
    else {
      const counter = GROUP_COUNTERS[a.op];
      if (counter) report.groups[counter]++;
    }
  }
  return report;
}

export interface FailingObject {
  type: ResourceType;
  key: string;
  /** Failed attempts since the object's last success (or since the log began). */
  attempts: number;
  lastError: string;
}

/**
 * Objects whose latest attempt failed, with how many attempts in a row have failed. A success
 * clears the count; an action skipped by a safety limit was not an attempt. Keys compare
 * case-insensitively, as userNames do. Sorted by attempts (most first), then key.
 */
export function failingObjects(actions: readonly AuditActionLine[]): FailingObject[] {
  const byObject = new Map<string, FailingObject>();
  for (const a of actions) {
    const id = `${a.type}\u0000${a.key.toLowerCase()}`;
    if (a.status === "ok") byObject.delete(id);
    else if (a.status === "failed") {
      const seen = byObject.get(id);
      byObject.set(id, { type: a.type, key: a.key, attempts: (seen?.attempts ?? 0) + 1, lastError: a.error ?? "" });
    }
  }
  return [...byObject.values()].sort((a, b) => b.attempts - a.attempts || compareKeys(a.key, b.key) || a.type.localeCompare(b.type));
}

/** The run line written last (the latest by time; on a tie, the later in the file). */
export function latestRunLine(runs: AuditLogContents["runs"]): AuditLogContents["runs"][number] | undefined {
  let latest: AuditLogContents["runs"][number] | undefined;
  for (const run of runs) if (!latest || Date.parse(run.time) >= Date.parse(latest.time)) latest = run;
  return latest;
}
