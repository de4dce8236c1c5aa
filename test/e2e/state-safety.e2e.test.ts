import { describe, it, expect } from "vitest";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { configYaml, DAY, isoPlus, useSandboxAndWorkspace, useFaultProxy, people, runCli, startCli, waitUntil } from "./harness.js";

const T0 = new Date("2026-03-01T09:00:00Z");
const ctx = useSandboxAndWorkspace();
const policy = "deprovision:\n  deleted: { suspend: now, delete: 7d }\nsafety: { maxDeprovisionPercent: 100 }\n";
const userNamed = (n: string) => ctx.sandbox.users().find((u) => u.userName === n);

describe("the state file's history is protected", () => {
  it("given a sync recorded at a time, when sync --now goes back before it, then it is refused and nothing changes", async () => {
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, policy));
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env)).code).toBe(0);
    await ctx.ws.writeDirectory(people(2));
    const before = readFileSync(ctx.ws.state, "utf8");

    const back = await runCli(["sync", "--config", ctx.ws.config, "--now", isoPlus(T0, -30 * DAY)], ctx.env);
    expect(back.code).toBe(1);
    expect(back.stderr).toContain("a sync cannot go back in time");
    expect(readFileSync(ctx.ws.state, "utf8")).toBe(before);
    expect(userNamed("person3@example.com")!.active).toBe(true);

    // plan may look anywhere in time.
    expect((await runCli(["plan", "--config", ctx.ws.config, "--now", isoPlus(T0, -30 * DAY)], ctx.env)).code).toBe(0);
  });

  it("given sync --now in the future, then it is refused: timers may not be started ahead of the clock", async () => {
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, policy));
    const ahead = new Date(Date.now() + 30 * DAY).toISOString();

    const r = await runCli(["sync", "--config", ctx.ws.config, "--now", ahead], ctx.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("a sync cannot run ahead of the clock");
    expect(ctx.sandbox.users()).toHaveLength(0);
    expect((await runCli(["plan", "--config", ctx.ws.config, "--now", ahead], ctx.env)).code).toBe(0);
  });

  it("given a newcomer whose userName belongs to an inactive account scimsync does not manage, then the user is held and sync exits 3", async () => {
    const res = await fetch(`${ctx.sandbox.baseUrl}/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "person1@example.com", externalId: "okta-old-7", active: false }),
    });
    expect(res.status).toBe(201);
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, policy));

    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.held).toEqual([{ type: "User", key: "person1@example.com", reason: expect.stringContaining("inactive account") }]);
    expect(r.json.summary).toMatchObject({ create: 1, held: 1 });
    expect(userNamed("person1@example.com")).toMatchObject({ active: false, externalId: "okta-old-7" });

    const human = await runCli(["plan", "--config", ctx.ws.config], ctx.env);
    expect(human.stdout).toContain("Held for review (1)");
    expect(human.stdout).toContain("No changes to apply, but 1 user(s) are held for review");
  });

  it("given the state file was moved away but its backup is there, then sync refuses to start over silently", async () => {
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, policy));
    await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env);
    await ctx.ws.writeDirectory(people(2)); // person3 leaves: a delete is pending
    await runCli(["sync", "--config", ctx.ws.config, "--now", isoPlus(T0, DAY)], ctx.env);
    renameSync(ctx.ws.state, `${ctx.ws.state}.moved`);

    const r = await runCli(["sync", "--config", ctx.ws.config, "--now", isoPlus(T0, 2 * DAY)], ctx.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(".bak");
    expect(userNamed("person3@example.com")!.active).toBe(false);
  });
});

describe("apps that hide inactive users from GET /Users", () => {
  const fault = useFaultProxy(ctx);

  it("given a suspended leaver no longer listed, then the record and its pending delete are kept, and the delete happens when due", async () => {
    fault.proxy.decide = () => ({ kind: "pass" });
    await ctx.ws.writeDirectory(people(4));
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, policy));
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env)).code).toBe(0);
    await ctx.ws.writeDirectory(people(3));
    const suspended = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, DAY)], ctx.env);
    expect(suspended.json.summary.suspend).toBe(1);

    fault.proxy.decide = ({ method, path }) =>
      method === "GET" && path.endsWith("/Users")
        ? {
            kind: "pass",
            rewrite: (list: any) => {
              const visible = list.Resources.filter((u: any) => u.active !== false);
              return { ...list, Resources: visible, totalResults: visible.length };
            },
          }
        : { kind: "pass" };

    const later = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 3 * DAY)], ctx.env);
    expect(later.code, later.stderr).toBe(0);
    expect(later.json.actions).toEqual([]);
    expect(later.json.scheduled).toEqual([expect.objectContaining({ op: "delete", key: "person4@example.com", due: isoPlus(T0, 8 * DAY) })]);
    expect(later.json.warnings.join("\n")).toContain("missing from the target's user listing but exist");

    const due = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 8 * DAY)], ctx.env);
    expect(due.json.actions).toEqual([expect.objectContaining({ op: "delete", key: "person4@example.com", status: "ok" })]);
    expect(userNamed("person4@example.com")).toBeUndefined();
  });
});

describe("partial failure", () => {
  const fault = useFaultProxy(ctx);

  it("given the target refuses one create, then the others are applied, the failure is listed, it exits 3, and the next run retries it", async () => {
    const refusal = { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", scimType: "invalidValue", detail: "title is too long" };
    fault.proxy.decide = ({ method, body }) => (method === "POST" && body.includes("person2@example.com") ? { kind: "respond", status: 400, body: refusal } : { kind: "pass" });
    await ctx.ws.writeDirectory(people(4));
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, policy));

    const json = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(json.code, json.stderr).toBe(3);
    expect(json.json.result).toBe("failed");
    expect(json.json.summary).toMatchObject({ create: 3, failed: 1 });
    expect(json.json.actions.find((a: any) => a.status === "failed")).toMatchObject({
      op: "create",
      key: "person2@example.com",
      error: expect.stringContaining("title is too long"),
    });

    const human = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(/person2@example\.com .*FAILED: .*title is too long/);
    expect(human.stdout).toContain("1 failed (retried next run)");

    fault.proxy.decide = () => ({ kind: "pass" });
    // After two failures in a row the user waits an hour (escrow); --retry-now tries it at once.
    const retry = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--retry-now"], ctx.env);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.json.actions).toEqual([expect.objectContaining({ op: "create", key: "person2@example.com", status: "ok" })]);
    expect(ctx.sandbox.users()).toHaveLength(4);
  });
});

describe("a state file changed behind the run's back", () => {
  const fault = useFaultProxy(ctx);

  it("given the state cannot be saved at the end, then the one JSON report says what was applied, stateSaved false, and it exits 1", async () => {
    fault.proxy.decide = ({ method }) => (method === "POST" ? { kind: "pass", delayMs: 300 } : { kind: "pass" });
    await ctx.ws.writeDirectory(people(1));
    // One request at a time: the run is certainly still applying when the file is changed.
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, policy).replace("rateLimit: 0", "rateLimit: 0\n  concurrency: 1"));
    expect((await runCli(["sync", "--config", ctx.ws.config], ctx.env)).code).toBe(0);
    await ctx.ws.writeDirectory(people(6));

    const run = startCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    // Once the run is applying, someone rewrites the state file (a restore, another tool).
    await waitUntil(() => ctx.sandbox.users().length >= 2);
    const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
    writeFileSync(ctx.ws.state, JSON.stringify({ ...state, serial: state.serial + 100 }));
    const { code, stdout, stderr } = await run.done;

    expect(code, stderr).toBe(1);
    const report = JSON.parse(stdout); // exactly one JSON document
    expect(report.stateSaved).toBe(false);
    expect(report.error).toMatchObject({ kind: "state" });
    expect(report.summary.create).toBe(5);
    expect(stderr).toContain("error: ");
  });
});
