import type { ActionOp } from "../core/model.js";
import { REPORT_SECTIONS, type JsonReport } from "./report.js";
import type { Style } from "./style.js";
import { ENTERPRISE_USER as ENTERPRISE } from "../core/mapping.js";
import type { PersonReport } from "../core/narrow-plan.js";
import { terminalSafe, terminalSafeDeep } from "./terminal-text.js";

const HEADINGS: Record<ActionOp, string> = {
  create: "Create",
  update: "Update",
  unsuspend: "Unsuspend",
  suspend: "Suspend",
  delete: "Delete",
  "add-members": "Add members",
  "remove-members": "Remove members",
};
const MARKS: Record<ActionOp, string> = { create: "+", update: "~", unsuspend: "^", suspend: "-", delete: "x", "add-members": "+", "remove-members": "-" };
const COLORS: Record<ActionOp, "green" | "yellow" | "cyan" | "magenta" | "red"> = {
  create: "green",
  update: "yellow",
  unsuspend: "cyan",
  suspend: "magenta",
  delete: "red",
  "add-members": "green",
  "remove-members": "magenta",
};
const OPS = ["create", "update", "unsuspend", "suspend", "delete"] as const;
const GROUP_OPS = ["create", "update", "delete", "add-members", "remove-members"] as const;
const PAST: Record<ActionOp, string> = {
  create: "created",
  update: "updated",
  unsuspend: "unsuspended",
  suspend: "suspended",
  delete: "deleted",
  "add-members": "members added",
  "remove-members": "members removed",
};
const REASONS: Record<string, string> = {
  outOfScope: "out of scope",
  suspended: "suspended in the directory",
  deleted: "gone from the directory",
};

const GROUP_REASONS: Record<string, string> = {
  outOfScope: "no longer provisioned (provisionGroups)",
  deleted: "gone from the directory",
};

/** Longer values are cut in the view (the JSON report keeps them whole): one value must not flood the terminal. */
const SHOWN_CHARACTERS = 200;

function clip(text: string): string {
  return text.length <= SHOWN_CHARACTERS ? text : `${text.slice(0, SHOWN_CHARACTERS)}… (${text.length} characters)`;
}

function show(value: unknown): string {
  return value === null || value === undefined ? "(none)" : terminalSafe(clip(JSON.stringify(value)));
}

/** "Ada Lovelace · Engineer · Engineering": enough to recognise a newcomer in a long list. */
function describeNewUser(changes: Record<string, { to: unknown }>): string {
  const pick = (path: string) => {
    const v = changes[path]?.to;
    return typeof v === "string" && v !== "" ? terminalSafe(clip(v)) : undefined;
  };
  return [pick("displayName"), pick("title"), pick(`${ENTERPRISE}:department`)].filter(Boolean).join(" · ");
}

function shortName(path: string): string {
  return path.replace(/^urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User:/, "enterprise:");
}

/**
 * Everything but the attribute changes made terminal-safe once: keys, names, reasons and errors
 * come from the directory and the target. The changes are shown through show() and describeNewUser.
 */
function terminalSafeReport(report: JsonReport): JsonReport {
  const actions = report.actions.map((a) => ({ ...terminalSafeDeep({ ...a, changes: {} }), changes: a.changes }));
  return { ...terminalSafeDeep({ ...report, actions: [] }), actions };
}

/** The plan or run result for a person at a terminal. */
export function renderHumanReport(input: JsonReport, style: Style): string {
  const report = terminalSafeReport(input);
  const out: string[] = [];
  const narrowed = report.narrowedTo === undefined ? "" : style("bold", ` (narrowed to ${report.narrowedTo})`);
  out.push(style("bold", `scimsync ${report.command}`) + style("dim", ` · ${report.target} · ${report.now}`) + narrowed);
  out.push("");
  if (report.person) out.push(...renderPersonSteps(report, report.person, style), "");

  // A problem that names a user is a record skipped; one that names none is a part of the
  // directory that could not be read (a listing, a group's members, a scope setting).
  const skipped = report.problems.filter((p) => p.id !== undefined || p.userName !== undefined);
  const unread = report.problems.filter((p) => p.id === undefined && p.userName === undefined);
  if (unread.length > 0) {
    out.push(style(["bold", "yellow"], `The directory could not be read completely (${unread.length}):`));
    for (const p of unread) out.push(`  ${p.location}: ${p.reason}`);
    out.push("");
  }
  if (skipped.length > 0) {
    out.push(style(["bold", "yellow"], `Directory records skipped (${skipped.length}); these users are left as they are:`));
    for (const p of skipped) {
      const who = [p.userName, p.id].filter(Boolean).join(", ");
      out.push(`  ${p.location}${who ? ` (${who})` : ""}: ${p.reason}`);
    }
    out.push("");
  }

  for (const [type, op] of REPORT_SECTIONS) {
    const items = report.actions.filter((a) => a.op === op && a.type === type);
    if (items.length === 0) continue;
    const heading = type === "Group" ? `Groups: ${HEADINGS[op].toLowerCase()}` : HEADINGS[op];
    out.push(style(["bold", COLORS[op]], `${heading} (${items.length})`));
    for (const a of items) {
      let line = `  ${style(COLORS[op], MARKS[op])} ${a.key}`;
      if (op === "create" && type === "User") line += style("dim", `  ${describeNewUser(a.changes)}`);
      if (a.members) line += style("dim", `  ${a.members.length} member(s): ${a.members.slice(0, 10).join(", ")}${a.members.length > 10 ? ", ..." : ""}`);
      if (a.reason) line += style("dim", `  ${(type === "Group" ? GROUP_REASONS : REASONS)[a.reason] ?? a.reason}`);
      if (a.status === "failed") line += `  ${style(["bold", "red"], "FAILED")}: ${a.error ?? ""}`;
      else if (a.status === "skipped") line += `  ${style("yellow", "skipped")}: ${a.error ?? ""}`;
      else if (a.status === "planned" && report.command === "sync") line += style("dim", "  not started");
      if (a.note) line += style("dim", `  (${a.note})`);
      out.push(line);
      if (op === "update" || op === "unsuspend") {
        for (const [path, change] of Object.entries(a.changes)) {
          out.push(style("dim", `      ${shortName(path)}: `) + `${show(change.from)} -> ${show(change.to)}`);
        }
      }
    }
    out.push("");
  }

  if (report.scheduled.length > 0) {
    out.push(style("bold", `Scheduled, not yet due (${report.scheduled.length})`));
    for (const s of report.scheduled) {
      const what = s.type === "Group" ? `${s.key} (group)` : s.key;
      const why = (s.type === "Group" ? GROUP_REASONS : REASONS)[s.reason] ?? s.reason;
      out.push(`  ${s.op.padEnd(7)} ${what}  ${style("dim", `due ${s.due} (${why})`)}`);
    }
    out.push("");
  }

  if (report.adopted.length > 0) {
    out.push(style("bold", `Adopt: existing accounts that scimsync takes over (${report.adopted.length})`));
    for (const a of report.adopted) {
      const note = a.previousExternalId ? style("dim", `  (its externalId ${a.previousExternalId} is replaced)`) : "";
      out.push(`  = ${a.key}${a.type === "Group" ? " (group)" : ""}${note}`);
    }
    out.push("");
  }
  const forReview = report.held.filter((h) => !h.escrow);
  const waiting = report.held.filter((h) => h.escrow);
  if (waiting.length > 0) {
    out.push(style(["bold", "yellow"], `Waiting to retry (${waiting.length}): failed before; tried again from the time shown (sync --retry-now tries now)`));
    for (const h of waiting) {
      const e = h.escrow!;
      out.push(`  … ${h.key}${h.type === "Group" ? " (group)" : ""}: ${e.op} ` + style("dim", `at ${e.nextAttemptAt}, after ${e.attempts} failed attempt(s): `) + e.lastError);
    }
    out.push("");
  }
  if (forReview.length > 0) {
    out.push(style(["bold", "yellow"], `Held for review (${forReview.length}): nothing is done for these users until resolved`));
    for (const h of forReview) out.push(`  ! ${h.key}${h.type === "Group" ? " (group)" : ""}: ${h.reason}`);
    out.push("");
  }

  for (const w of report.warnings) out.push(style("yellow", `warning: ${w}`));
  if (report.stoppedEarly) {
    const notStarted = report.actions.filter((a) => a.status === "planned").length;
    out.push(style(["bold", "red"], `Stopped early: ${report.stoppedEarly.message}.`));
    out.push(`  ${notStarted} action(s) not started; the next run plans them again.`);
  }
  if (report.safety.groupDeletesBlocked && !report.safety.blocked) {
    out.push(style(["bold", "red"], `Safety stop for groups: ${report.safety.reason}.`));
    out.push(`  No group was deleted (users were handled as planned). If this is intended, run again with --allow-mass-deprovision.`);
  }
  if (report.safety.blocked) {
    out.push(style(["bold", "red"], `Safety stop: ${report.safety.reason}.`));
    out.push(`  No user was suspended or deleted. Check the directory and scope; if this is intended, run again with --allow-mass-deprovision.`);
  }
  if (report.safety.failClosed && !report.safety.blocked) {
    out.push(style(["bold", "red"], `Failed closed: ${report.safety.failClosed}.`));
    out.push(
      `  ${report.command === "plan" ? "A sync would suspend or delete" : "This run suspended and deleted"} no user, ` +
        `and removed no group member and no group. Fix the cause above; the next complete read catches up.`,
    );
  }

  const s = report.summary;
  if (report.actions.length === 0 && forReview.length > 0) {
    out.push(style(["bold", "yellow"], `No changes to apply, but ${forReview.length} user(s) are held for review (see above).`));
  } else if (report.actions.length === 0 && waiting.length > 0) {
    out.push(style(["bold", "yellow"], `No changes to apply now; ${waiting.length} waiting to retry after failing (see above).`));
  } else if (report.actions.length === 0 && report.safety.failClosed) {
    out.push(style(["bold", "yellow"], "No changes to apply from what could be read; the directory was not read completely (see above)."));
  } else if (report.actions.length === 0) {
    out.push(style("green", "No changes: the target matches the directory."));
  } else if (report.command === "plan") {
    const parts = OPS.filter((op) => s[op] > 0).map((op) => `${s[op]} to ${op}`);
    parts.push(
      ...GROUP_OPS.filter((op) => s.groups[op] > 0).map((op) => {
        const n = s.groups[op];
        if (op === "add-members" || op === "remove-members") return `${n} group(s) with members to ${op === "add-members" ? "add" : "remove"}`;
        return `${n} ${n === 1 ? "group" : "groups"} to ${op}`;
      }),
    );
    if (forReview.length > 0) parts.push(`${forReview.length} held for review`);
    if (waiting.length > 0) parts.push(`${waiting.length} waiting to retry`);
    out.push(style("bold", `Plan: ${parts.join(", ")}.`) + style("dim", " Nothing was changed; run sync to apply."));
  } else {
    const parts = OPS.filter((op) => s[op] > 0).map((op) => `${s[op]} ${PAST[op]}`);
    parts.push(
      ...GROUP_OPS.filter((op) => s.groups[op] > 0).map((op) => {
        const n = s.groups[op];
        if (op === "add-members" || op === "remove-members") return `${n} group(s) with members ${op === "add-members" ? "added" : "removed"}`;
        return `${n} ${n === 1 ? "group" : "groups"} ${PAST[op]}`;
      }),
    );
    if (s.failed > 0) parts.push(style("red", `${s.failed} failed (retried next run)`));
    if (forReview.length > 0) parts.push(style("yellow", `${forReview.length} held for review`));
    if (waiting.length > 0) parts.push(style("yellow", `${waiting.length} waiting to retry`));
    if (s.skipped > 0) parts.push(style("yellow", `${s.skipped} skipped`));
    out.push(style("bold", `Summary: ${parts.join(", ") || "nothing applied"}.`));
  }
  return out.join("\n") + "\n";
}

const SCOPE_STATUS: Record<NonNullable<PersonReport["directory"]>["status"], string> = {
  active: "in scope: active in the directory",
  suspended: "suspended in the directory: the account is deprovisioned (deprovision.suspended)",
  outOfScope: "out of scope: not in the scope groups or the source's scope (deprovision.outOfScope)",
};

/** `--user`: the person step by step, as Entra's "provision on demand" shows it. */
function renderPersonSteps(report: JsonReport, person: PersonReport, style: Style): string[] {
  const out = [style("bold", `${report.command === "sync" ? "On demand" : "Person"}: ${person.userName}`)];
  const step = (n: number, name: string, text: string) => out.push(`  ${n}. ${name.padEnd(6)} ${text}`);

  const d = person.directory;
  if (d) step(1, "Scope", `${SCOPE_STATUS[d.status]} (${d.userName}, id ${d.id})`);
  else if (person.skipped) step(1, "Scope", `the directory record was skipped: ${person.skipped}`);
  else step(1, "Scope", "not in the directory" + (person.match === "managed" ? ": scimsync manages the account, so it is deprovisioned as gone from the directory" : ""));

  const a = person.account;
  const account = a ? `${a.id} (${a.userName}${a.active ? "" : ", inactive"})` : "";
  const match: Record<PersonReport["match"], string> = {
    managed: `managed by scimsync${person.managedSince ? ` since ${person.managedSince}` : ""}: account ${account}`,
    externalId: `matched the existing account ${account} by externalId; scimsync takes it over`,
    userName: `matched the existing account ${account} by userName; scimsync takes it over`,
    create: "no account on the target: one is created",
    held: `held for review: ${person.heldReason ?? ""}`,
    unmanaged: `the target has an account ${account} that scimsync does not manage; it is left alone`,
    none: "no account on the target, and none is to be made",
  };
  step(2, "Match", match[person.match]);

  const planned = report.actions.map((x) => {
    if (x.type === "User") return x.op;
    if (x.op === "add-members") return `join ${x.key}`;
    if (x.op === "remove-members") return `leave ${x.key}`;
    return `${x.op} group ${x.key}`;
  });
  const later = report.scheduled.map((s) => `${s.op} due ${s.due}`);
  step(3, "Plan", [...planned, ...later].join("; ") || "nothing to change");

  if (report.command === "sync") {
    const count = (status: string) => report.actions.filter((x) => x.status === status).length;
    const parts = [`${count("ok")} applied`];
    if (count("failed") > 0) parts.push(style("red", `${count("failed")} failed (see below)`));
    if (count("skipped") > 0) parts.push(style("yellow", `${count("skipped")} skipped`));
    if (count("planned") > 0) parts.push(`${count("planned")} not started`);
    step(4, "Result", report.actions.length === 0 ? "nothing to apply" : parts.join(", "));
  }
  return out;
}
