import type { UsageReport } from "../audit/usage-summary.js";
import type { Style } from "./style.js";

const ROWS: Array<[label: string, users: keyof UsageReport["users"] | undefined, groups: keyof UsageReport["groups"] | undefined]> = [
  ["created", "created", "created"],
  ["updated", "updated", "updated"],
  ["suspended", "suspended", undefined],
  ["unsuspended", "unsuspended", undefined],
  ["deleted", "deleted", "deleted"],
  ["members added", undefined, "membersAdded"],
  ["members removed", undefined, "membersRemoved"],
  ["failed", "failed", "failed"],
];

/** `report` for a person: a table of counts, then each failure with its reason. */
export function renderHumanUsage(report: UsageReport, style: Style): string {
  const out: string[] = [];
  out.push(style("bold", "scimsync report") + style("dim", ` · ${report.since} to ${report.until}`));
  out.push("");
  const width = Math.max(...ROWS.map(([label]) => label.length));
  out.push(style("bold", `${"".padEnd(width)}  ${"users".padStart(7)}  ${"groups".padStart(7)}`));
  for (const [label, u, g] of ROWS) {
    const users = u === undefined ? "-" : String(report.users[u]);
    const groups = g === undefined ? "-" : String(report.groups[g]);
    const line = `${label.padEnd(width)}  ${users.padStart(7)}  ${groups.padStart(7)}`;
    out.push(label === "failed" && (report.users.failed > 0 || report.groups.failed > 0) ? style("red", line) : line);
  }
  out.push("");
  if (report.failures.length === 0) {
    out.push(style("green", "No failures in this period."));
  } else {
    out.push(style(["bold", "red"], `Failures (${report.failures.length}):`));
    for (const f of report.failures) {
      const what = f.type === "Group" ? `${f.key} (group)` : f.key;
      out.push(`  ${style("dim", f.time)}  ${f.op} ${what}: ${f.error || "(no error recorded)"}`);
    }
  }
  return out.join("\n") + "\n";
}

/**
 * `report --output csv`: one table, one header, so a spreadsheet or a CSV reader takes it as it
 * is. `kind` says what a row is: a `count` row has type, name (the JSON counter, e.g. created,
 * membersAdded, failed) and count; a `failure` row has type, name (the op), time, key and error.
 * RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote or line break.
 */
export function renderCsvUsage(report: UsageReport): string {
  const rows: string[][] = [["kind", "type", "name", "count", "time", "key", "error"]];
  for (const [name, count] of Object.entries(report.users)) rows.push(["count", "User", name, String(count), "", "", ""]);
  for (const [name, count] of Object.entries(report.groups)) rows.push(["count", "Group", name, String(count), "", "", ""]);
  for (const f of report.failures) rows.push(["failure", f.type, f.op, "", f.time, f.key, f.error]);
  return rows.map((row) => row.map(csvField).join(",") + "\r\n").join("");
}

/**
 * One CSV field. Text from the directory or the app that a spreadsheet would run as a formula
 * (starting with = + - @, a tab or a carriage return) gets a leading ' so it stays text.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
