import { describe, it, expect } from "vitest";
import { existsSync, readFileSync, statSync } from "node:fs";
import { FileStateStore } from "../../src/state/file-state-store.js";
import { configYaml, DAY, isoPlus, useSandboxAndWorkspace, people, runCli } from "./harness.js";

const T0 = new Date("2026-03-01T09:00:00Z");
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const ctx = useSandboxAndWorkspace();

const userNamed = (userName: string) =>
  ctx.sandbox.users().find((u) => String(u.userName).toLowerCase() === userName.toLowerCase()) as Record<string, any> | undefined;
const writes = () => ctx.sandbox.requests.filter((r) => r.method !== "GET");

const lenient = `
deprovision:
  outOfScope: { suspend: now, delete: never }
  suspended: { suspend: now, delete: 21d }
  deleted: { suspend: 1d, delete: 7d }
safety: { maxDeprovisions: 100, maxDeprovisionPercent: 100 }
`;

describe("first and second sync", () => {
  it("given a new target, when sync runs, then every directory user is created with the mapped attributes", async () => {
    const users = people(12);
    users[0] = { ...users[0]!, givenName: "Zoë", familyName: "O'Brien", title: "Staff Engineer", department: "Platform", manager: "u-2" };
    await ctx.ws.writeDirectory(users);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));

    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", T0.toISOString()], ctx.env);
    expect(r.stderr).not.toContain(ctx.sandbox.token);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.summary).toMatchObject({ create: 12, update: 0, suspend: 0, delete: 0, failed: 0 });
    expect(r.json.actions.every((a: any) => a.status === "ok" && a.type === "User" && a.op === "create")).toBe(true);
    expect(ctx.sandbox.users()).toHaveLength(12);
    expect(ctx.sandbox.requests.filter((q) => q.method === "POST")).toHaveLength(12);

    const zoe = userNamed("person1@example.com")!;
    expect(zoe.externalId).toBe("u-1");
    expect(zoe.active).toBe(true);
    expect(zoe.name).toMatchObject({ givenName: "Zoë", familyName: "O'Brien" });
    expect(zoe.displayName).toBe("Zoë O'Brien");
    expect(zoe.title).toBe("Staff Engineer");
    expect(zoe.emails).toEqual([expect.objectContaining({ type: "work", value: "person1@example.com" })]);
    expect(zoe[ENTERPRISE]).toMatchObject({ department: "Platform", employeeNumber: "1001" });

    const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
    expect(Object.keys(state.users)).toHaveLength(12);
    expect(state.users["u-1"]).toMatchObject({ targetId: zoe.id, origin: "created" });
    expect(JSON.stringify(state)).not.toContain(ctx.sandbox.token);
    expect(statSync(ctx.ws.state).mode & 0o777).toBe(0o600);
  });

  it("given a synced target, when sync runs again with nothing changed, then it writes nothing", async () => {
    await ctx.ws.writeDirectory(people(8));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    expect((await runCli(["sync", "--config", ctx.ws.config], ctx.env)).code).toBe(0);

    ctx.sandbox.requests.length = 0;
    const again = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.actions).toEqual([]);
    expect(writes()).toEqual([]);
    const plan = await runCli(["plan", "--config", ctx.ws.config, "--exit-code"], ctx.env);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("No changes");
  });

  it("given manual drift in the app, when sync runs, then only the drifted attribute is patched back", async () => {
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    await runCli(["sync", "--config", ctx.ws.config], ctx.env);
    const victim = userNamed("person2@example.com")!;
    const res = await fetch(`${ctx.sandbox.baseUrl}/Users/${victim.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "title", value: "Hacker" }] }),
    });
    expect(res.status).toBe(200);
    ctx.sandbox.requests.length = 0;

    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.actions).toEqual([
      expect.objectContaining({ op: "update", key: "person2@example.com", changes: { title: { from: "Hacker", to: "Engineer" } }, status: "ok" }),
    ]);
    expect(writes()).toEqual([expect.objectContaining({ method: "PATCH", path: `/scim/v2/Users/${victim.id}` })]);
    expect(userNamed("person2@example.com")!.title).toBe("Engineer");
  });

  it("given an existing account for a directory user, when sync runs, then it is adopted, not duplicated", async () => {
    const res = await fetch(`${ctx.sandbox.baseUrl}/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "PERSON1@example.com", active: true }),
    });
    expect(res.status).toBe(201);
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));

    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.adopted).toEqual([{ type: "User", key: "person1@example.com" }]);
    expect(ctx.sandbox.users()).toHaveLength(2);
    expect(userNamed("person1@example.com")!.externalId).toBe("u-1");
    const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
    expect(state.users["u-1"].origin).toBe("adopted");
  });
});

describe("plan", () => {
  it("given pending changes, when plan runs, then it shows them, writes nothing and --exit-code says 2", async () => {
    await ctx.ws.writeDirectory(people(4));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    const r = await runCli(["plan", "--config", ctx.ws.config, "--exit-code"], ctx.env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toContain("Create (4)");
    expect(r.stdout).toContain("person3@example.com");
    expect(existsSync(ctx.ws.state)).toBe(false);
    expect(writes()).toEqual([]);
    expect(ctx.sandbox.users()).toHaveLength(0);
  });
});

describe("delayed deprovisioning", () => {
  it("given a user gone from the directory, then it is suspended after 1d and deleted after 7d, on the clock of --now", async () => {
    await ctx.ws.writeDirectory(people(10));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env)).code).toBe(0);
    await ctx.ws.writeDirectory(people(9)); // person10 leaves

    const seen = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 1000)], ctx.env);
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.json.actions).toEqual([]);
    expect(seen.json.scheduled).toEqual([
      { op: "suspend", type: "User", key: "person10@example.com", due: isoPlus(T0, 1000 + DAY), reason: "deleted" },
      { op: "delete", type: "User", key: "person10@example.com", due: isoPlus(T0, 1000 + 7 * DAY), reason: "deleted" },
    ]);
    expect(userNamed("person10@example.com")!.active).toBe(true);

    // A run in between does not restart the timer.
    const between = await runCli(["plan", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, DAY / 2)], ctx.env);
    expect(between.json.scheduled[0].due).toBe(isoPlus(T0, 1000 + DAY));

    const suspend = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 1000 + DAY)], ctx.env);
    expect(suspend.code, suspend.stderr).toBe(0);
    expect(suspend.json.actions).toEqual([expect.objectContaining({ op: "suspend", key: "person10@example.com", reason: "deleted", status: "ok" })]);
    expect(userNamed("person10@example.com")!.active).toBe(false);

    const early = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 6 * DAY)], ctx.env);
    expect(early.json.actions).toEqual([]);
    expect(userNamed("person10@example.com")).toBeDefined();

    const del = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 1000 + 7 * DAY)], ctx.env);
    expect(del.code, del.stderr).toBe(0);
    expect(del.json.actions).toEqual([expect.objectContaining({ op: "delete", key: "person10@example.com", status: "ok" })]);
    expect(userNamed("person10@example.com")).toBeUndefined();
    expect(ctx.sandbox.users()).toHaveLength(9);
    const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
    expect(state.users["u-10"]).toBeUndefined();
  });

  it("given a suspended user who returns to the directory, then the account is unsuspended and the timer cancelled", async () => {
    const users = people(6);
    await ctx.ws.writeDirectory(users);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env);

    users[2] = { ...users[2]!, active: false }; // suspended in the directory: suspend now, delete after 21d
    await ctx.ws.writeDirectory(users);
    const s = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, DAY)], ctx.env);
    expect(s.json.actions).toEqual([expect.objectContaining({ op: "suspend", key: "person3@example.com", reason: "suspended", status: "ok" })]);
    expect(s.json.scheduled).toEqual([expect.objectContaining({ op: "delete", key: "person3@example.com", due: isoPlus(T0, 22 * DAY) })]);
    expect(userNamed("person3@example.com")!.active).toBe(false);

    users[2] = { ...users[2]!, active: true };
    await ctx.ws.writeDirectory(users);
    const back = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 2 * DAY)], ctx.env);
    expect(back.code, back.stderr).toBe(0);
    expect(back.json.actions).toEqual([
      expect.objectContaining({ op: "unsuspend", key: "person3@example.com", changes: { active: { from: false, to: true } }, status: "ok" }),
    ]);
    expect(back.json.scheduled).toEqual([]);
    expect(userNamed("person3@example.com")!.active).toBe(true);

    // Past the old delete time nothing happens: the timer was cancelled.
    const later = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 30 * DAY)], ctx.env);
    expect(later.json.actions).toEqual([]);
    expect(ctx.sandbox.users()).toHaveLength(6);
  });

  it("given users on the target that scimsync does not manage, then they are never touched", async () => {
    await fetch(`${ctx.sandbox.baseUrl}/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "local-admin@example.com", active: true }),
    });
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env);
    await ctx.ws.writeDirectory([]);
    // An empty directory would take everyone out: the percent limit is off here, so it goes through.
    await runCli(["sync", "--config", ctx.ws.config, "--now", isoPlus(T0, DAY)], ctx.env);
    await runCli(["sync", "--config", ctx.ws.config, "--now", isoPlus(T0, 10 * DAY)], ctx.env);
    expect(ctx.sandbox.users().map((u) => u.userName)).toEqual(["local-admin@example.com"]);
    expect(userNamed("local-admin@example.com")!.active).toBe(true);
  });
});

describe("safety", () => {
  it("given a run that would deprovision too many users, then nothing is deprovisioned and it exits 4 until overridden", async () => {
    await ctx.ws.writeDirectory(people(20));
    await ctx.ws.writeConfig(
      configYaml(ctx.sandbox.baseUrl, "deprovision:\n  deleted: { suspend: now, delete: 7d }\nsafety: { maxDeprovisions: 50, maxDeprovisionPercent: 20 }\n"),
    );
    expect((await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env)).code).toBe(0);
    await ctx.ws.writeDirectory(people(10)); // half the company "leaves": a broken export, most likely

    ctx.sandbox.requests.length = 0;
    const blocked = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, DAY)], ctx.env);
    expect(blocked.code, blocked.stderr).toBe(4);
    expect(blocked.json.safety).toMatchObject({ blocked: true, deprovisions: 10, managed: 20 });
    expect(blocked.json.safety.reason).toContain("maxDeprovisionPercent");
    expect(blocked.json.actions.every((a: any) => a.op === "suspend" && a.status === "skipped")).toBe(true);
    expect(writes()).toEqual([]);
    expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);

    const human = await runCli(["sync", "--config", ctx.ws.config, "--now", isoPlus(T0, DAY)], ctx.env);
    expect(human.code).toBe(4);
    expect(human.stdout).toContain("Safety stop");
    expect(human.stdout).toContain("--allow-mass-deprovision");

    const forced = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--allow-mass-deprovision", "--now", isoPlus(T0, DAY)], ctx.env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json.summary.suspend).toBe(10);
    expect(ctx.sandbox.users().filter((u) => u.active === false)).toHaveLength(10);
  });

  it("given a directory record that is malformed, then that user is skipped and not deprovisioned", async () => {
    const users = people(5);
    await ctx.ws.writeDirectory(users);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    await runCli(["sync", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env);
    users[1] = { ...users[1]!, email: "not-an-email" };
    await ctx.ws.writeDirectory(users);
    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, 30 * DAY)], ctx.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.problems).toEqual([expect.objectContaining({ location: "users[1]", id: "u-2" })]);
    expect(r.json.actions).toEqual([]);
    expect(r.json.scheduled).toEqual([]);
    expect(userNamed("person2@example.com")!.active).toBe(true);
  });
});

describe("errors and exit codes", () => {
  it("given another run holds the lock, then sync exits 6 and changes nothing", async () => {
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    const holder = new FileStateStore(ctx.ws.state);
    await holder.lock();
    try {
      const r = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toMatch(/another scimsync run/i);
      expect(ctx.sandbox.users()).toHaveLength(0);
      expect(writes()).toEqual([]);
    } finally {
      await holder.unlock();
    }
    expect((await runCli(["sync", "--config", ctx.ws.config], ctx.env)).code).toBe(0);
  });

  it("given an invalid config, then it names the key and the fix, exits 1 and writes nothing", async () => {
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "deprovision:\n  deleted: { suspend: 7d, delete: 1d }\n"));
    const r = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("deprovision.deleted.delete");
    expect(existsSync(ctx.ws.state)).toBe(false);
    expect(ctx.sandbox.requests).toEqual([]);

    const json = await runCli(["plan", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(json.code).toBe(1);
    expect(json.json.error.kind).toBe("config");
  });

  it("given a wrong token, then sync exits 5 and never prints the token", async () => {
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, lenient));
    const r = await runCli(["sync", "--config", ctx.ws.config], { SCIM_TOKEN: "wrong-token-value-123" });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr + r.stdout).not.toContain("wrong-token-value-123");
    expect(r.stderr).toMatch(/token/i);
  });
});
