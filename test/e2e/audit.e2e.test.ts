import { describe, it, expect } from "vitest";
import { readFileSync, statSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configYaml, DAY, isoPlus, people, runCli, useFaultProxy, useSandboxAndWorkspace } from "./harness.js";
import { expectNoSecrets } from "../support/secret-scan.js";

const T0 = new Date("2026-03-01T09:00:00Z");
const HOUR = 3_600_000;
const ctx = useSandboxAndWorkspace();

const policy = `
log: { path: ./logs/audit.ndjson }
deprovision:
  deleted: { suspend: 1d, delete: 7d }
safety: { maxDeprovisions: 100, maxDeprovisionPercent: 100 }
`;
const refusal = { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", scimType: "invalidValue", detail: "title is too long" };
const ACTION_KEYS = ["time", "runId", "op", "type", "key", "changed", "members", "reason", "status", "error"];
const auditFile = () => join(ctx.ws.dir, "logs", "audit.ndjson");
const readLines = () => readFileSync(auditFile(), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));

describe("audit log, status", () => {
  const fault = useFaultProxy(ctx);

  it("given log.path, when sync creates, updates and fails, then each applied action and each run is one line, mode 0600, without values or the token", async () => {
    fault.proxy.decide = ({ method, body }) => (method === "POST" && body.includes("person2@example.com") ? { kind: "respond", status: 400, body: refusal } : { kind: "pass" });
    const users = people(3);
    users[0] = { ...users[0]!, title: "Head of Confidential Matters" };
    await ctx.ws.writeDirectory(users);
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, policy));

    const first = await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env);
    expect(first.code, first.stderr).toBe(3);
    users[2] = { ...users[2]!, title: "Principal Engineer" };
    await ctx.ws.writeDirectory(users);
    const second = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, HOUR)], ctx.env);
    expect(second.code, second.stderr).toBe(3);

    expect(statSync(auditFile()).mode & 0o777).toBe(0o600);
    const lines = readLines();
    const runIds = [...new Set(lines.map((l) => l.runId))];
    expect(runIds).toHaveLength(2);
    const actions = lines.filter((l) => l.event === undefined);
    for (const line of actions) for (const key of Object.keys(line)) expect(ACTION_KEYS).toContain(key);
    const [run1, run2] = runIds;
    expect(actions.filter((l) => l.runId === run1)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ time: T0.toISOString(), op: "create", type: "User", key: "person1@example.com", status: "ok", changed: expect.arrayContaining(["userName", "title"]) }),
        expect.objectContaining({ op: "create", key: "person3@example.com", status: "ok" }),
        { time: T0.toISOString(), runId: run1, op: "create", type: "User", key: "person2@example.com", changed: expect.any(Array), status: "failed", error: expect.stringContaining("title is too long") },
      ]),
    );
    expect(actions.filter((l) => l.runId === run2)).toEqual([
      { time: isoPlus(T0, HOUR), runId: run2, op: "update", type: "User", key: "person3@example.com", changed: ["title"], status: "ok" },
      expect.objectContaining({ op: "create", key: "person2@example.com", status: "failed" }),
    ]);
    const runs = lines.filter((l) => l.event === "run");
    expect(runs).toEqual([
      { time: T0.toISOString(), runId: run1, event: "run", result: "failed", counts: { failed: 1, create: 2 }, startedAt: T0.toISOString(), token: "accepted" },
      { time: isoPlus(T0, HOUR), runId: run2, event: "run", result: "failed", counts: { failed: 1, update: 1 }, startedAt: isoPlus(T0, HOUR), token: "accepted" },
    ]);
    expect(lines.at(-1)).toEqual(runs.at(-1));
    // The run's own line id is the one the JSON report and the state carry.
    const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
    expect(state.lastRun.runId).toBe(run2);

    const text = readFileSync(auditFile(), "utf8");
    expectNoSecrets([text], [ctx.sandbox.token, "Head of Confidential Matters", "Principal Engineer", "Given1", "Family3"]);
  });

  it("given a sync with a delay and repeated failures, when status runs, then it shows pending deprovisionings with due times and failing objects, and writes nothing", async () => {
    fault.proxy.decide = ({ method, body }) => (method === "POST" && body.includes("person2@example.com") ? { kind: "respond", status: 400, body: refusal } : { kind: "pass" });
    const users = people(3);
    await ctx.ws.writeDirectory(users);
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, policy));
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env)).code).toBe(3);
    await ctx.ws.writeDirectory(users.slice(0, 2));
    const leaveAt = isoPlus(T0, HOUR);
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", leaveAt], ctx.env)).code).toBe(3);

    const stateBefore = readFileSync(ctx.ws.state, "utf8");
    const logBefore = readFileSync(auditFile(), "utf8");
    const r = await runCli(["status", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(r.code, r.stderr).toBe(0);
    const runId = JSON.parse(stateBefore).lastRun.runId;
    expect(r.json).toEqual({
      managed: { users: 2, groups: 0 },
      lastRun: { runId, startedAt: leaveAt, finishedAt: leaveAt, result: "failed", counts: { failed: 1 }, token: "accepted" },
      pending: [
        { op: "suspend", type: "User", key: "person3@example.com", reason: "deleted", since: leaveAt, due: isoPlus(T0, HOUR + DAY) },
        { op: "delete", type: "User", key: "person3@example.com", reason: "deleted", since: leaveAt, due: isoPlus(T0, HOUR + 7 * DAY) },
      ],
      failing: [
        {
          type: "User",
          key: "person2@example.com",
          attempts: 2,
          lastError: expect.stringContaining("title is too long"),
          source: "state",
          op: "create",
          firstFailedAt: T0.toISOString(),
          lastFailedAt: leaveAt,
          nextAttemptAt: isoPlus(T0, 2 * HOUR),
        },
      ],
    });

    const human = await runCli(["status", "--config", ctx.ws.config], ctx.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("Managed: 2 user(s), 0 group(s)");
    expect(human.stdout).toMatch(/suspend person3@example\.com\s+due 2026-03-02T10:00:00\.000Z/);
    expect(human.stdout).toMatch(/person2@example\.com: 2 failed attempt\(s\) in a row to create; the next sync tries again; last error: .*title is too long/);
    expect(human.stdout).not.toMatch(/\x1b\[/);

    expect(readFileSync(ctx.ws.state, "utf8")).toBe(stateBefore);
    expect(readFileSync(auditFile(), "utf8")).toBe(logBefore);
    expect(existsSync(`${ctx.ws.state}.lock`)).toBe(false);

    // A run the target refuses the token for never reaches the state; the audit log tells status.
    const rejected = await runCli(["sync", "--config", ctx.ws.config, "--now", isoPlus(T0, 2 * HOUR)], { SCIM_TOKEN: "expired-token" });
    expect(rejected.code, rejected.stderr).toBe(5);
    expect(readLines().at(-1)).toMatchObject({ event: "run", result: "error", counts: {}, token: "rejected", error: expect.any(String) });
    const after = await runCli(["status", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(after.json.lastRun).toMatchObject({ result: "error", token: "rejected", finishedAt: isoPlus(T0, 2 * HOUR) });
    expect(readFileSync(auditFile(), "utf8")).not.toContain("expired-token");
  });
});

describe("report", () => {
  const line = (time: string, fields: Record<string, unknown>) => JSON.stringify({ time, runId: "r", changed: [], status: "ok", type: "User", ...fields });

  it("given an audit log, when report runs, then it counts the period in json, csv and human form and skips damaged lines with a warning", async () => {
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "log: { path: ./audit.ndjson }\n"));
    const noLog = await runCli(["report", "--config", ctx.ws.config], ctx.env);
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toMatch(/audit log .*audit\.ndjson \(log\.path\) does not exist/);

    writeFileSync(
      join(ctx.ws.dir, "audit.ndjson"),
      [
        line("2026-02-01T00:00:00.000Z", { op: "create", key: "too-old@example.com" }),
        line("2026-03-01T09:00:00.000Z", { op: "create", key: "ada@example.com" }),
        line("2026-03-01T09:00:00.000Z", { op: "create", key: "bo@example.com", status: "failed", error: 'POST /Users: 400: title is "too long", sorry' }),
        "{ damaged",
        line("2026-03-02T09:00:00.000Z", { op: "suspend", key: "cy@example.com", reason: "deleted" }),
        line("2026-03-02T09:00:00.000Z", { op: "add-members", type: "Group", key: "Eng", members: 4 }),
        JSON.stringify({ time: "2026-03-02T09:00:01.000Z", runId: "r", event: "run", result: "failed", counts: { failed: 1 }, startedAt: "2026-03-02T09:00:00.000Z" }),
        line("2026-03-20T09:00:00.000Z", { op: "delete", key: "later@example.com" }),
      ].join("\n") + "\n",
    );
    const args = ["report", "--config", ctx.ws.config, "--since", "2026-03-01", "--until", "2026-03-10T00:00:00Z"];
    const json = await runCli([...args, "--output", "json"], ctx.env);
    expect(json.code, json.stderr).toBe(0);
    expect(json.json).toEqual({
      since: "2026-03-01T00:00:00.000Z",
      until: "2026-03-10T00:00:00.000Z",
      users: { created: 1, updated: 0, suspended: 1, unsuspended: 0, deleted: 0, failed: 1 },
      groups: { created: 0, updated: 0, deleted: 0, membersAdded: 4, membersRemoved: 0, failed: 0 },
      failures: [{ time: "2026-03-01T09:00:00.000Z", op: "create", type: "User", key: "bo@example.com", error: 'POST /Users: 400: title is "too long", sorry' }],
    });
    expect(json.stderr).toContain("warning: 1 line(s) of the audit log");

    const csv = await runCli([...args, "--output", "csv"], ctx.env);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = csv.stdout.split("\r\n");
    expect(rows[0]).toBe("kind,type,name,count,time,key,error");
    expect(rows).toContain("count,User,suspended,1,,,");
    expect(rows).toContain("count,Group,membersAdded,4,,,");
    expect(rows).toContain('failure,User,create,,2026-03-01T09:00:00.000Z,bo@example.com,"POST /Users: 400: title is ""too long"", sorry"');

    const human = await runCli(args, ctx.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^created\s+1\s+0$/m);
    expect(human.stdout).toContain("Failures (1):");
    expect(human.stdout).toContain('create bo@example.com: POST /Users: 400: title is "too long", sorry');

    // The default period: the last 30 days.
    const recent = await runCli(["report", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(Math.abs(Date.parse(recent.json.until) - Date.now())).toBeLessThan(60_000);
    expect(Date.parse(recent.json.until) - Date.parse(recent.json.since)).toBe(30 * DAY);

    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));
    const off = await runCli(["report", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(off.code).toBe(1);
    expect(off.json.error).toMatchObject({ kind: "config", issues: [{ path: "log.path", message: expect.stringContaining("log: { path:") }] });
  });
});
