/**
 * The plan or run result as GitHub-flavoured Markdown: for a pull request comment, a CI job
 * summary (GITHUB_STEP_SUMMARY) or a change ticket. Tables, so that a reviewer sees at a
 * glance who is created, changed and taken out.
 */
import { REPORT_SECTIONS, type JsonReport } from "./report.js";

const OP_TITLES: Record<string, string> = {
  unsuspend: "Unsuspend",
  update: "Update",
  create: "Create",
  suspend: "Suspend",
  delete: "Delete",
  "add-members": "Add members",
  "remove-members": "Remove members",
};

const REASONS: Record<string, string> = { outOfScope: "out of scope", suspended: "suspended in the directory", deleted: "gone from the directory" };

/** A table cell: pipes and line breaks would break the table, and markup in a name must stay text. */
export function cell(value: unknown): string {
  const text = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/[<>*_`[\]]/g, (c) => `\\${c}`).replace(/\r?\n/g, " ");
}

const shortPath = (path: string): string => path.replace(/^urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User:/, "enterprise:");

export function renderMarkdownReport(report: JsonReport, options: { maxRows?: number } = {}): string {
  const maxRows = options.maxRows ?? 200;
  const out: string[] = [];
  const what = report.command === "plan" ? "plan" : "sync";
  const narrowed = report.narrowedTo === undefined ? "" : ` (narrowed to ${cell(report.narrowedTo)})`;
  out.push(`### scimsync ${what}: ${cell(report.target)}${narrowed}`, "", `${cell(report.now)} · result: **${report.result}**`, "");

  const s = report.summary;
  out.push("| | users | groups |", "|---|---:|---:|");
  for (const op of ["create", "update", "unsuspend", "suspend", "delete"] as const) {
    const groups = op === "create" || op === "update" || op === "delete" ? s.groups[op] : "";
    out.push(`| ${OP_TITLES[op]} | ${s[op]} | ${groups} |`);
  }
  out.push(`| Members added / removed | | ${s.groups["add-members"]} / ${s.groups["remove-members"]} |`);
  if (s.failed || s.skipped || s.held) out.push(`| Failed / skipped / held | ${s.failed} / ${s.skipped} / ${s.held} | |`);
  out.push("");

  if (report.safety.blocked) out.push(`> **Safety stop:** ${cell(report.safety.reason)}. No user was suspended or deleted.`, "");
  else if (report.safety.failClosed) out.push(`> **Failed closed:** ${cell(report.safety.failClosed)}. No user suspended or deleted, no member or group removed.`, "");

  for (const [type, op] of REPORT_SECTIONS) {
    const items = report.actions.filter((a) => a.type === type && a.op === op);
    if (items.length === 0) continue;
    out.push(`#### ${type === "Group" ? "Groups: " : ""}${OP_TITLES[op]} (${items.length})`, "", "| | key | details | status |", "|---|---|---|---|");
    for (const a of items.slice(0, maxRows)) {
      const details: string[] = [];
      if (a.reason) details.push(REASONS[a.reason] ?? a.reason);
      if (a.members) details.push(`${a.members.length} member(s): ${a.members.slice(0, 10).join(", ")}${a.members.length > 10 ? ", …" : ""}`);
      if (op === "update" || op === "unsuspend") {
        for (const [path, change] of Object.entries(a.changes)) details.push(`${shortPath(path)}: ${JSON.stringify(change.from ?? null)} → ${JSON.stringify(change.to ?? null)}`);
      }
      const status = a.status === "failed" ? `**failed**: ${a.error ?? ""}` : a.status === "skipped" ? `skipped: ${a.error ?? ""}` : a.status;
      out.push(`| ${op === "delete" || op === "suspend" || op === "remove-members" ? "−" : "+"} | ${cell(a.key)} | ${cell(details.join("; "))} | ${cell(status)} |`);
    }
    if (items.length > maxRows) out.push(`| | … and ${items.length - maxRows} more | | |`);
    out.push("");
  }

  if (report.scheduled.length > 0) {
    out.push(`#### Scheduled, not yet due (${report.scheduled.length})`, "", "| op | key | due | reason |", "|---|---|---|---|");
    for (const d of report.scheduled.slice(0, maxRows)) out.push(`| ${d.op} | ${cell(d.type === "Group" ? `${d.key} (group)` : d.key)} | ${cell(d.due)} | ${cell(REASONS[d.reason] ?? d.reason)} |`);
    if (report.scheduled.length > maxRows) out.push(`| | … and ${report.scheduled.length - maxRows} more | | |`);
    out.push("");
  }
  if (report.held.length > 0) {
    out.push(`#### Held for review (${report.held.length})`, "");
    for (const h of report.held.slice(0, maxRows)) out.push(`- ${cell(h.key)}${h.type === "Group" ? " (group)" : ""}: ${cell(h.reason)}`);
    out.push("");
  }
  if (report.problems.length > 0) {
    out.push(`#### Directory problems (${report.problems.length})`, "");
    for (const p of report.problems.slice(0, maxRows)) out.push(`- ${cell(p.location)}${p.userName ? ` (${cell(p.userName)})` : ""}: ${cell(p.reason)}`);
    out.push("");
  }
  if (report.warnings.length > 0) {
    out.push("#### Warnings", "");
    for (const w of report.warnings) out.push(`- ${cell(w)}`);
    out.push("");
  }
  if (report.error) out.push(`**Error:** ${cell(report.error.message)}`, "");
  return out.join("\n");
}
