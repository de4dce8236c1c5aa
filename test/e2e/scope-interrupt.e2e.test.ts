import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { configYaml, DAY, isoPlus, useSandboxAndWorkspace, useFaultProxy, people, runCli, startCli, waitUntil } from "./harness.js";

const T0 = new Date("2026-03-01T09:00:00Z");
const ctx = useSandboxAndWorkspace();

const activeOf = (userName: string) => ctx.sandbox.users().find((u) => u.userName === userName)?.active;

describe("scope", () => {
  it("given a CSV directory scoped to a group, then only members are provisioned and a member who leaves the group is suspended", async () => {
    const csv = (salesOf: string[]) =>
      [
        "id,userName,email,givenName,familyName,active,department,groups",
        ...["ana", "ben", "cai", "dee"].map(
          (n) => `u-${n},${n}@example.com,${n}@example.com,${n[0]!.toUpperCase()}${n.slice(1)},Example,true,Sales,${salesOf.includes(n) ? "Sales;Everyone" : "Everyone"}`,
        ),
      ].join("\n");
    const directory = ctx.ws.directory.replace(/\.json$/, ".csv");
    writeFileSync(directory, csv(["ana", "ben", "cai"]));
    await ctx.ws.writeConfig(
      configYaml(ctx.sandbox.baseUrl, "scope: { groups: [Sales] }\ndeprovision:\n  outOfScope: { suspend: now, delete: never }\nsafety: { maxDeprovisionPercent: 100 }\n").replace(
        "./directory.json",
        "./directory.csv",
      ),
    );

    const first = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", T0.toISOString()], ctx.env);
    expect(first.code, first.stderr).toBe(0);
    expect(ctx.sandbox.users().map((u) => u.userName).sort()).toEqual(["ana@example.com", "ben@example.com", "cai@example.com"]);

    writeFileSync(directory, csv(["ana", "cai", "dee"])); // ben moves out of Sales, dee moves in
    const second = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, DAY)], ctx.env);
    expect(second.code, second.stderr).toBe(0);
    // The scope group itself is provisioned (provisionGroups: scoped): ben leaves it before his suspend.
    expect(second.json.actions.map((a: any) => [a.op, a.key, a.reason ?? a.members ?? null])).toEqual([
      ["create", "dee@example.com", null],
      ["add-members", "Sales", ["dee@example.com"]],
      ["remove-members", "Sales", ["ben@example.com"]],
      ["suspend", "ben@example.com", "outOfScope"],
    ]);
    expect(activeOf("ben@example.com")).toBe(false);
    expect(second.json.scheduled).toEqual([]); // outOfScope: delete never
  });

  it("given a scope group that vanished from the directory, then nobody is deprovisioned (fail closed) and the run says why", async () => {
    const users = people(4);
    await ctx.ws.writeDirectory(users, [{ id: "g-eng", displayName: "Engineering", members: users.map((u) => u.id) }]);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "scope: { groups: [Engineering] }\nsafety: { maxDeprovisionPercent: 100 }\n"));
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env)).code).toBe(0);

    await ctx.ws.writeDirectory(users, [{ id: "g-eng2", displayName: "Engineering Team", members: users.map((u) => u.id) }]);
    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, DAY)], ctx.env);
    expect(r.code, r.stderr).toBe(4); // deprovisioning is stuck until the scope is fixed: cron must hear of it
    expect(r.json.actions).toEqual([]);
    expect(r.json.safety.failClosed).toContain("a scope group is missing from the directory");
    expect(r.json.warnings.join("\n")).toContain('scope group "Engineering" is not in the directory');
    expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
  });

  it("given a directory record that cannot be identified at all, then nobody is deprovisioned", async () => {
    await ctx.ws.writeDirectory(people(5));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "safety: { maxDeprovisionPercent: 100 }\n"));
    await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env);
    // The export lost ids and userNames of a record, and person5 is missing: absence proves nothing now.
    const broken = [...people(4), { givenName: "Who", familyName: "Knows" }];
    writeFileSync(ctx.ws.directory, JSON.stringify({ users: broken, groups: [] }));
    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 30 * DAY)], ctx.env);
    expect(r.code, r.stderr).toBe(4);
    expect(r.json.safety.failClosed).toContain("the directory could not be read completely");
    expect(r.json.problems).toHaveLength(1);
    expect(r.json.actions).toEqual([]);
    expect(activeOf("person5@example.com")).toBe(true);
  });
});

describe("interruption", () => {
  const fault = useFaultProxy(ctx);

  it("given Ctrl-C during a sync, then requests in flight finish, the state records every account created, and it exits 130", async () => {
    fault.proxy.decide = ({ method }) => (method === "POST" ? { kind: "pass", delayMs: 150 } : { kind: "pass" });
    await ctx.ws.writeDirectory(people(40));
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, "safety: { maxDeprovisionPercent: 100 }\n").replace("rateLimit: 0", "rateLimit: 0\n  concurrency: 2"));

    const run = startCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    // Interrupt once a few creates have reached the target.
    await waitUntil(() => ctx.sandbox.users().length >= 4);
    run.child.kill("SIGINT");
    const { code, stdout } = await run.done;

    expect(code).toBe(130);
    const report = JSON.parse(stdout);
    expect(report.result).toBe("interrupted");
    const created = ctx.sandbox.users().length;
    expect(created).toBeGreaterThanOrEqual(4);
    expect(created).toBeLessThan(40);
    expect(report.actions.filter((a: any) => a.status === "ok")).toHaveLength(created);
    expect(report.actions.filter((a: any) => a.status === "planned").length).toBe(40 - created);
    const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
    expect(Object.keys(state.users)).toHaveLength(created);
    expect(state.lastRun.result).toBe("interrupted");

    // The next run finishes the job without duplicates.
    fault.proxy.decide = () => ({ kind: "pass" });
    const next = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(next.code, next.stderr).toBe(0);
    expect(next.json.summary.create).toBe(40 - created);
    expect(ctx.sandbox.users()).toHaveLength(40);
  });
});
