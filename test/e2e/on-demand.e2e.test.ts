/**
 * `--user` through the real CLI: `plan --user` narrows every view to one person, and
 * `sync --user` provisions only them (Entra's "provision on demand") without touching anybody
 * else's account or deprovisioning timer.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { configYaml, DAY, isoPlus, people, runCli, useSandboxAndWorkspace } from "./harness.js";

const ctx = useSandboxAndWorkspace();
const T0 = new Date("2026-03-01T09:00:00Z");
const CONFIG = "provisionGroups: all\ndeprovision:\n  deleted: { suspend: 1d, delete: never }\nsafety: { maxDeprovisions: 10, maxDeprovisionPercent: 100 }\n";

const readState = () => JSON.parse(readFileSync(ctx.ws.state, "utf8"));
const userNames = () => ctx.sandbox.users().map((u) => String(u.userName)).sort();
const membersOf = (group: string) => {
  const names = new Map(ctx.sandbox.users().map((u) => [u.id, String(u.userName)]));
  const found = ctx.sandbox.groups().find((g) => g.displayName === group);
  return ((found?.members ?? []) as { value: string }[]).map((m) => names.get(m.value)).sort();
};

describe("plan --user", () => {
  it("Given four new people in a group, When planned for one, Then the human and JSON views show only that person", async () => {
    const users = people(4);
    await ctx.ws.writeDirectory(users, [{ id: "g-eng", displayName: "Engineering", members: users.map((u) => u.id) }]);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, CONFIG));

    const human = await runCli(["plan", "--config", ctx.ws.config, "--user", "PERSON2@example.com"], ctx.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("(narrowed to PERSON2@example.com)");
    expect(human.stdout).toContain("1. Scope  in scope: active in the directory (person2@example.com, id u-2)");
    expect(human.stdout).toContain("2. Match  no account on the target: one is created");
    expect(human.stdout).toContain("3. Plan   create; create group Engineering; join Engineering");
    expect(human.stdout).toContain("Create (1)");
    expect(human.stdout).toContain("1 member(s): person2@example.com");
    expect(human.stdout).not.toMatch(/person[134]@example\.com/);

    const json = await runCli(["plan", "--config", ctx.ws.config, "--user", "person2@example.com", "--output", "json", "--exit-code"], ctx.env);
    expect(json.code, json.stderr).toBe(2);
    expect(json.json.narrowedTo).toBe("person2@example.com");
    expect(json.json.actions.map((a: any) => [a.op, a.type, a.key, a.members])).toEqual([
      ["create", "User", "person2@example.com", undefined],
      ["create", "Group", "Engineering", undefined],
      ["add-members", "Group", "Engineering", ["person2@example.com"]],
    ]);
    expect(json.json.summary).toMatchObject({ create: 1, update: 0, groups: { create: 1, "add-members": 1 } });
    expect(json.json.person).toMatchObject({ userName: "person2@example.com", directory: { id: "u-2", status: "active" }, match: "create", account: null });

    const markdown = await runCli(["plan", "--config", ctx.ws.config, "--user", "person2@example.com", "--output", "markdown"], ctx.env);
    expect(markdown.stdout).toContain("(narrowed to person2@example.com)");
    expect(markdown.stdout).not.toContain("person3@example.com");
  });

  it("Given a userName nobody has, When planned, Then it exits 1 and says so", async () => {
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, CONFIG));
    const r = await runCli(["plan", "--config", ctx.ws.config, "--user", "nobody@example.com"], ctx.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no user named nobody@example.com in the directory, on the target or in the state file");
  });
});

describe("sync --user", () => {
  it("Given new people, When one is synced on demand, Then only they are created, and the next full sync creates the rest", async () => {
    const users = people(4);
    await ctx.ws.writeDirectory(users, [{ id: "g-eng", displayName: "Engineering", members: users.map((u) => u.id) }]);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, CONFIG));

    const one = await runCli(["sync", "--config", ctx.ws.config, "--user", "person2@example.com", "--now", T0.toISOString()], ctx.env);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain("On demand: person2@example.com");
    expect(one.stdout).toContain("2. Match  no account on the target: one is created");
    expect(one.stdout).toContain("4. Result 3 applied");
    expect(userNames()).toEqual(["person2@example.com"]);
    expect(membersOf("Engineering")).toEqual(["person2@example.com"]);
    expect(Object.keys(readState().users)).toEqual(["u-2"]);

    // Again: the person is managed now, and matched by the state.
    const again = await runCli(["sync", "--config", ctx.ws.config, "--user", "person2@example.com", "--output", "json", "--now", isoPlus(T0, 60_000)], ctx.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.actions).toEqual([]);
    expect(again.json.person).toMatchObject({ match: "managed", account: { userName: "person2@example.com" } });

    const full = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 120_000)], ctx.env);
    expect(full.code, full.stderr).toBe(0);
    expect(full.json.summary).toMatchObject({ create: 3, groups: { create: 0, "add-members": 1 } });
    expect(userNames()).toEqual(users.map((u) => u.userName).sort());
    expect(membersOf("Engineering")).toEqual(users.map((u) => u.userName).sort());
  });

  it("Given a leaver and a new hire, When the hire is synced on demand, Then the leaver's timer is neither started nor changed", async () => {
    const users = people(5);
    await ctx.ws.writeDirectory(users.slice(0, 4));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, CONFIG));
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env)).code).toBe(0);
    const before = readState();

    // person4 leaves the directory; person5 joins.
    await ctx.ws.writeDirectory([...users.slice(0, 3), users[4]!]);
    const t1 = isoPlus(T0, 3_600_000);
    const plan = await runCli(["plan", "--config", ctx.ws.config, "--output", "json", "--now", t1], ctx.env);
    expect(plan.json.scheduled).toEqual([expect.objectContaining({ op: "suspend", key: "person4@example.com", due: isoPlus(new Date(t1), DAY) })]);

    const hire = await runCli(["sync", "--config", ctx.ws.config, "--user", "person5@example.com", "--output", "json", "--now", t1], ctx.env);
    expect(hire.code, hire.stderr).toBe(0);
    expect(hire.json.scheduled).toEqual([]);
    expect(userNames()).toContain("person5@example.com");
    const after = readState();
    for (const id of ["u-1", "u-2", "u-3", "u-4"]) expect(after.users[id]).toEqual(before.users[id]);
    expect(after.users["u-5"]).toMatchObject({ origin: "created", userName: "person5@example.com" });

    // Two days later a full run starts person4's timer then (not at t1), so no suspend is due yet.
    const t2 = isoPlus(T0, 2 * DAY);
    const full = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", t2], ctx.env);
    expect(full.code, full.stderr).toBe(0);
    expect(full.json.summary.suspend).toBe(0);
    expect(full.json.scheduled).toEqual([expect.objectContaining({ op: "suspend", key: "person4@example.com", due: isoPlus(new Date(t2), DAY) })]);
    expect(readState().users["u-4"].conditions).toEqual({ deleted: t2 });
  });
});
