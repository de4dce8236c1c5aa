/**
 * Groups through the real CLI: the plan's JSON shape for group actions, and a rename plus
 * membership churn that converges in one run, after which a run writes nothing.
 */
import { describe, expect, it } from "vitest";
import { configYaml, people, runCli, useSandboxAndWorkspace } from "./harness.js";

const ctx = useSandboxAndWorkspace();

describe("groups end to end", () => {
  it("Given a group renamed and its members churned, When synced once, Then the app matches the directory and the next run writes nothing", async () => {
    const users = people(8);
    const ids = users.map((u) => u.id);
    await ctx.ws.writeDirectory(users, [
      { id: "g-sales", displayName: "Sales", members: ids.slice(0, 5) },
      { id: "g-emea", displayName: "Sales EMEA", members: ids.slice(5, 8) },
    ]);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "provisionGroups: all\n"));
    const first = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.summary.groups).toEqual({ create: 2, update: 0, delete: 0, "add-members": 2, "remove-members": 0 });

    // Sales is renamed; two people leave it, one joins; Sales EMEA is nested into it.
    await ctx.ws.writeDirectory(users, [
      { id: "g-sales", displayName: "Global Sales", members: [...ids.slice(2, 6), "g-emea"] },
      { id: "g-emea", displayName: "Sales EMEA", members: ids.slice(5, 8) },
    ]);
    const plan = await runCli(["plan", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json.actions.map((a: any) => ({ op: a.op, type: a.type, key: a.key, ...(a.members ? { members: a.members } : {}) }))).toEqual([
      { op: "update", type: "Group", key: "Global Sales" },
      { op: "add-members", type: "Group", key: "Global Sales", members: ["person6@example.com", "person7@example.com", "person8@example.com"] },
      { op: "remove-members", type: "Group", key: "Global Sales", members: ["person1@example.com", "person2@example.com"] },
    ]);
    expect(plan.json.actions[0].changes).toEqual({ displayName: { from: "Sales", to: "Global Sales" } });

    const second = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(second.code, second.stderr).toBe(0);
    const idOf = (userName: string) => ctx.sandbox.users().find((u) => u.userName === userName)!.id;
    const members = (name: string) => (ctx.sandbox.groups().find((g) => g.displayName === name)!.members as { value: string }[]).map((m) => m.value).sort();
    expect(ctx.sandbox.groups().map((g) => g.displayName).sort()).toEqual(["Global Sales", "Sales EMEA"]);
    expect(members("Global Sales")).toEqual(users.slice(2, 8).map((u) => idOf(u.userName)).sort());

    ctx.sandbox.requests.length = 0;
    const third = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(third.code, third.stderr).toBe(0);
    expect(third.json.actions).toEqual([]);
    expect(ctx.sandbox.requests.filter((r) => r.method !== "GET")).toEqual([]);
    // Unchanged: the users and groups lists, and no group read member by member.
    expect(ctx.sandbox.requests.filter((r) => /\/Groups\/./.test(r.path))).toEqual([]);
  });

  it("Given provisionGroups none and a group policy, When a managed group is no longer provisioned, Then it is deleted per deprovision.groups", async () => {
    const users = people(2);
    await ctx.ws.writeDirectory(users, [{ id: "g-x", displayName: "Project X", members: [users[0]!.id] }]);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "provisionGroups: all\ndeprovision:\n  groups: { delete: now }\n"));
    expect((await runCli(["sync", "--config", ctx.ws.config], ctx.env)).code).toBe(0);
    expect(ctx.sandbox.groups()).toHaveLength(1);

    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "provisionGroups: none\ndeprovision:\n  groups: { delete: now }\nsafety: { maxDeprovisionPercent: 100 }\n"));
    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);

    expect(r.code, r.stderr).toBe(0);
    expect(r.json.actions.map((a: any) => [a.op, a.type, a.key, a.status])).toEqual([["delete", "Group", "Project X", "ok"]]);
    expect(ctx.sandbox.groups()).toEqual([]);
    expect(ctx.sandbox.users()).toHaveLength(2);
  });
});
