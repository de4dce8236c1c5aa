import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditLineOf, AuditLog, type AuditActionLine } from "../src/audit/audit-log.js";
import { readAuditLog } from "../src/audit/read-audit-log.js";
import { failingObjects, summariseUsage } from "../src/audit/usage-summary.js";
import { csvField, renderCsvUsage, renderHumanUsage } from "../src/ui/usage-report.js";
import { makeStyle } from "../src/ui/style.js";
import type { ActionResult } from "../src/engine/events.js";
import { T0, at, days, hours, iso } from "./builders.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-audit-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const RUN = "run-1";
const clock = () => T0;

function aResult(overrides: Partial<ActionResult> = {}): ActionResult {
  return {
    op: "update",
    type: "User",
    key: "ada@example.com",
    sourceId: "u-ada",
    targetId: "t-ada",
    changes: { title: { from: "Engineer", to: "Top Secret Title" } },
    status: "ok",
    ...overrides,
  };
}

function anAction(overrides: Partial<AuditActionLine> = {}): AuditActionLine {
  return { time: iso(0), runId: RUN, op: "create", type: "User", key: "ada@example.com", changed: ["userName"], status: "ok", ...overrides };
}

const lines = async (file: string) => (await readFile(file, "utf8")).trimEnd().split("\n").map((l) => JSON.parse(l));

describe("auditLineOf", () => {
  it("Given an applied update, it records the attribute names and never their values", () => {
    const line = auditLineOf(aResult(), RUN, T0);
    expect(line).toEqual({ time: T0.toISOString(), runId: RUN, op: "update", type: "User", key: "ada@example.com", changed: ["title"], status: "ok" });
    expect(Object.keys(line!)).toEqual(["time", "runId", "op", "type", "key", "changed", "status"]);
    expect(JSON.stringify(line)).not.toContain("Top Secret Title");
  });

  it("Given a membership change, it records how many members, not who", () => {
    const line = auditLineOf(
      aResult({ op: "add-members", type: "Group", key: "Engineering", changes: {}, members: [{ sourceId: "u-1", userName: "bo@example.com" }, { sourceId: "u-2", userName: "cy@example.com" }] }),
      RUN,
      T0,
    );
    expect(line).toMatchObject({ op: "add-members", changed: [], members: 2 });
    expect(JSON.stringify(line)).not.toContain("bo@example.com");
  });

  it("Given a failed deprovisioning, it records the reason and the error; an action never started has no line", () => {
    const line = auditLineOf(aResult({ op: "delete", changes: {}, reason: "deleted", status: "failed", error: "500: boom" }), RUN, T0);
    expect(line).toMatchObject({ op: "delete", reason: "deleted", status: "failed", error: "500: boom" });
    expect(Object.keys(line!).slice(-2)).toEqual(["status", "error"]);
    expect(auditLineOf(aResult({ status: "planned" }), RUN, T0)).toBeUndefined();
  });
});

describe("AuditLog", () => {
  it("Given no file yet, it creates it (and its folder) with mode 0600 and appends action lines then the run line", async () => {
    const file = join(dir, "logs", "audit.ndjson");
    const warnings: string[] = [];
    const log = new AuditLog(file, { runId: RUN, clock, onWarning: (m) => warnings.push(m) });
    log.onEvent({ type: "action-done", result: aResult(), done: 1, total: 2 });
    log.onEvent({ type: "phase", phase: "apply" });
    log.onEvent({ type: "action-done", result: aResult({ key: "bo@example.com", status: "failed", error: "400: no" }), done: 2, total: 2 });
    await log.close({ result: "failed", counts: { failed: 1, update: 1 }, startedAt: iso(-60_000), token: "accepted" });

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await lines(file)).toEqual([
      expect.objectContaining({ key: "ada@example.com", status: "ok" }),
      expect.objectContaining({ key: "bo@example.com", status: "failed", error: "400: no" }),
      { time: iso(0), runId: RUN, event: "run", result: "failed", counts: { failed: 1, update: 1 }, startedAt: iso(-60_000), token: "accepted" },
    ]);
    expect(warnings).toEqual([]);

    // A second run appends.
    const next = new AuditLog(file, { runId: "run-2", clock, onWarning: (m) => warnings.push(m) });
    await next.close({ result: "ok", counts: { failed: 0 }, startedAt: iso(0) });
    expect((await lines(file)).map((l) => l.runId)).toEqual([RUN, RUN, RUN, "run-2"]);
  });

  it("Given a full batch, it writes it before the run ends", async () => {
    const file = join(dir, "audit.ndjson");
    const log = new AuditLog(file, { runId: RUN, clock, onWarning: () => {}, batchLines: 2 });
    log.onEvent({ type: "action-done", result: aResult(), done: 1, total: 3 });
    log.onEvent({ type: "action-done", result: aResult({ key: "bo@example.com" }), done: 2, total: 3 });
    await expect.poll(async () => (await readFile(file, "utf8").catch(() => "")).split("\n").length - 1).toBe(2);
    await log.close({ result: "ok", counts: {}, startedAt: iso(0) });
  });

  it("Given an existing log other users can read, it warns and still appends", async () => {
    const file = join(dir, "audit.ndjson");
    await writeFile(file, "");
    await chmod(file, 0o644);
    const warnings: string[] = [];
    const log = new AuditLog(file, { runId: RUN, clock, onWarning: (m) => warnings.push(m) });
    await log.close({ result: "ok", counts: {}, startedAt: iso(0) });
    expect(warnings).toEqual([expect.stringMatching(/can be read by other users \(mode 644\).*chmod 600/)]);
    expect(await lines(file)).toHaveLength(1);
  });

  it("Given a log that cannot be written, it warns once and never throws", async () => {
    const file = join(dir, "is-a-folder");
    await mkdir(file);
    const warnings: string[] = [];
    const log = new AuditLog(file, { runId: RUN, clock, onWarning: (m) => warnings.push(m), batchLines: 1 });
    log.onEvent({ type: "action-done", result: aResult(), done: 1, total: 2 });
    log.onEvent({ type: "action-done", result: aResult(), done: 2, total: 2 });
    await expect(log.close({ result: "ok", counts: {}, startedAt: iso(0) })).resolves.toBeUndefined();
    expect(warnings).toEqual([
      expect.stringMatching(/cannot write the audit log .*is-a-folder \(log\.path\): EISDIR; the run goes on without it/),
      expect.stringContaining("3 line(s) of this run are missing from the audit log"),
    ]);
  });
});

describe("readAuditLog", () => {
  it("Given damaged and foreign lines, it skips and counts them and reads the rest", async () => {
    const file = join(dir, "audit.ndjson");
    const good = anAction();
    const run = { time: iso(0), runId: RUN, event: "run", result: "ok", counts: { create: 1 }, startedAt: iso(0) };
    await writeFile(
      file,
      [
        JSON.stringify(good),
        "not json",
        JSON.stringify({ ...good, op: "explode" }),
        JSON.stringify({ ...good, time: "yesterday" }),
        "",
        JSON.stringify({ ...good, extra: "from a later scimsync" }),
        JSON.stringify(run),
        JSON.stringify({ ...run, event: "run", result: 7 }),
        '{"time":"2026-03-01T09:00:00.000Z","runId":"cut sho',
      ].join("\n"),
    );
    const log = await readAuditLog(file);
    expect(log!.actions).toHaveLength(2);
    expect(log!.runs).toEqual([run]);
    expect(log!.malformed).toBe(5);
  });

  it("Given no file, it returns undefined", async () => {
    expect(await readAuditLog(join(dir, "none.ndjson"))).toBeUndefined();
  });
});

describe("summariseUsage", () => {
  const actions: AuditActionLine[] = [
    anAction({ time: iso(-days(40)), key: "old@example.com" }),
    anAction({ time: iso(-days(30)), key: "edge@example.com" }),
    anAction({ time: iso(-days(2)), op: "update", changed: ["title"] }),
    anAction({ time: iso(-days(2)), op: "suspend", changed: ["active"], reason: "deleted" }),
    anAction({ time: iso(-days(2)), op: "delete", changed: [], reason: "deleted", status: "skipped", error: "safety limit" }),
    anAction({ time: iso(-days(1)), op: "create", key: "bo@example.com", status: "failed", error: "400: title is too long" }),
    anAction({ time: iso(-hours(1)), op: "create", type: "Group", key: "Eng", changed: ["displayName"] }),
    anAction({ time: iso(-hours(1)), op: "add-members", type: "Group", key: "Eng", changed: [], members: 3 }),
    anAction({ time: iso(-hours(1)), op: "add-members", type: "Group", key: "Ops", changed: [], members: 2 }),
    anAction({ time: iso(-hours(1)), op: "remove-members", type: "Group", key: "Ops", changed: [], members: 1 }),
    anAction({ time: iso(-hours(1)), op: "delete", type: "Group", key: "Old", changed: [], status: "failed", error: "500" }),
    anAction({ time: iso(hours(1)), key: "later@example.com" }),
  ];

  it("Given a period, it counts what was applied in it (both ends included) and lists the failures in order", () => {
    expect(summariseUsage(actions, at(-days(30)), T0)).toEqual({
      since: iso(-days(30)),
      until: iso(0),
      users: { created: 1, updated: 1, suspended: 1, unsuspended: 0, deleted: 0, failed: 1 },
      groups: { created: 1, updated: 0, deleted: 0, membersAdded: 5, membersRemoved: 1, failed: 1 },
      failures: [
        { time: iso(-days(1)), op: "create", type: "User", key: "bo@example.com", error: "400: title is too long" },
        { time: iso(-hours(1)), op: "delete", type: "Group", key: "Old", error: "500" },
      ],
    });
  });

  it("renders CSV with one header, RFC 4180 quoting and CRLF line ends", () => {
    const report = summariseUsage([anAction({ status: "failed", key: "=cmd@example.com", error: 'bad "value", retry\nlater' })], at(-1), at(1));
    const csv = renderCsvUsage(report);
    const rows = csv.split("\r\n");
    expect(rows[0]).toBe("kind,type,name,count,time,key,error");
    expect(rows[1]).toBe("count,User,created,0,,,");
    expect(rows).toContain("count,Group,membersAdded,0,,,");
    expect(csv).toContain(`failure,User,create,,${iso(0)},'=cmd@example.com,"bad ""value"", retry\nlater"\r\n`);
    expect(rows.at(-1)).toBe("");
    expect(csvField("-1")).toBe("'-1");
    expect(csvField("plain")).toBe("plain");
  });

  it("renders a table and the failures for a person", () => {
    const text = renderHumanUsage(summariseUsage(actions, at(-days(30)), T0), makeStyle(false));
    expect(text).toMatch(/^created\s+1\s+1$/m);
    expect(text).toMatch(/^members added\s+-\s+5$/m);
    expect(text).toContain("Failures (2):");
    expect(text).toContain("create bo@example.com: 400: title is too long");
    expect(text).toContain("delete Old (group): 500");
  });
});

describe("failingObjects", () => {
  it("Given attempts over several runs, it counts the failures since the last success, ignoring skipped actions", () => {
    const failing = failingObjects([
      anAction({ key: "bo@example.com", status: "failed", error: "first" }),
      anAction({ key: "ada@example.com", status: "failed", error: "ada failed" }),
      anAction({ key: "BO@example.com", status: "failed", error: "second" }),
      anAction({ key: "ada@example.com", status: "ok" }),
      anAction({ key: "bo@example.com", status: "skipped", error: "safety limit" }),
      anAction({ key: "bo@example.com", status: "failed", error: "third" }),
      anAction({ key: "Eng", type: "Group", op: "delete", status: "failed", error: "500" }),
    ]);
    expect(failing).toEqual([
      { type: "User", key: "bo@example.com", attempts: 3, lastError: "third" },
      { type: "Group", key: "Eng", attempts: 1, lastError: "500" },
    ]);
  });
});
