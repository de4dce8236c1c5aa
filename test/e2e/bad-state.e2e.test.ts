/**
 * Bad state files through the real CLI. The state file is what keeps scimsync from deleting
 * accounts it does not manage, so a damaged one is refused (or its backup used, with a warning),
 * one from a newer scimsync is refused and left byte for byte, and one from an older scimsync is
 * read as it was meant and rewritten in the current layout only by a sync.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { STATE_VERSION } from "../../src/state/schema.js";
import { configYaml, DAY, isoPlus, people, runCli, useSandboxAndWorkspace, type CliResult } from "./harness.js";

const T0 = new Date("2026-03-01T09:00:00Z");
const POLICY = `
deprovision:
  deleted: { suspend: 1d, delete: 7d }
safety: { maxDeprovisions: 100, maxDeprovisionPercent: 100 }
`;

const ctx = useSandboxAndWorkspace();

const run = (command: "plan" | "sync" | "status", at?: Date | string, json = false): Promise<CliResult> =>
  runCli(
    [command, "--config", ctx.ws.config, ...(json ? ["--output", "json"] : []), ...(at ? ["--now", typeof at === "string" ? at : at.toISOString()] : [])],
    ctx.env,
  );
const stateBytes = () => readFileSync(ctx.ws.state, "utf8");
const files = () => readdirSync(ctx.ws.dir).sort();
const userNamed = (userName: string) => ctx.sandbox.users().find((u) => String(u.userName) === userName) as Record<string, any> | undefined;

/** An account made on the target by hand (or by a scimsync whose state is gone). */
async function postUser(userName: string, externalId?: string): Promise<void> {
  const res = await fetch(`${ctx.sandbox.baseUrl}/Users`, {
    method: "POST",
    headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
    body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName, active: true, ...(externalId ? { externalId } : {}) }),
  });
  expect(res.status).toBe(201);
}

async function firstSync(): Promise<void> {
  await ctx.ws.writeDirectory(people(3));
  await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, POLICY));
  const r = await run("sync", T0);
  expect(r.code, r.stderr).toBe(0);
}

describe("a damaged state file without a backup", () => {
  const damaged: { name: string; text: string; reason: string }[] = [
    { name: "truncated JSON", text: '{\n  "version": 4,\n  "serial": 1,\n  "targetUrl": "http://127.0.0.1', reason: "not valid JSON" },
    { name: "garbage", text: "\u0000\u0001PK\u0003\u0004 this is not a state file", reason: "not valid JSON" },
    { name: "an empty file", text: "", reason: "not valid JSON" },
    { name: "a JSON list", text: "[]\n", reason: "not a JSON object" },
    { name: "JSON without a version", text: '{ "users": {} }\n', reason: '"version" is missing' },
    { name: "valid JSON of the wrong shape", text: '{ "version": 4, "serial": 2, "targetUrl": "x", "users": [] }\n', reason: "users" },
  ];

  it.each(damaged)("given $name, then every command refuses naming the file and the way out, and nothing is touched", async ({ text, reason }) => {
    // Accounts on the target that the damaged state managed; two look gone from the directory.
    for (const p of people(3)) await postUser(p.userName, p.id);
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, POLICY));
    writeFileSync(ctx.ws.state, text);
    ctx.sandbox.requests.length = 0;
    const before = files();

    const sync = await run("sync", T0);
    expect(sync.code, sync.stderr).toBe(1);
    expect(sync.stderr).toContain(`error: state file ${ctx.ws.state} is damaged (`);
    expect(sync.stderr).toContain(reason);
    expect(sync.stderr).toContain("and there is no backup");
    expect(sync.stderr).toContain(`hint: restore ${ctx.ws.state} from a backup of your own, or move it away to start over`);
    const plan = await run("plan", T0, true);
    expect(plan.code, plan.stderr).toBe(1);
    expect(plan.json.error).toMatchObject({ kind: "state", message: expect.stringContaining(`state file ${ctx.ws.state} is damaged (`) });

    expect(stateBytes()).toBe(text);
    expect(files()).toEqual(before);
    expect(ctx.sandbox.requests).toEqual([]);
    expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
  });

  it("given a damaged file, then status refuses too, naming the file", async () => {
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, POLICY));
    writeFileSync(ctx.ws.state, "{ not json");
    const r = await run("status");
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`state file ${ctx.ws.state} is damaged`);
    expect(stateBytes()).toBe("{ not json");
  });
});

describe("a damaged state file with a good backup", () => {
  it("given the state is cut short after two runs, then sync uses the backup with a warning naming both files, converges, and keeps the good backup", async () => {
    await firstSync();
    await ctx.ws.writeDirectory(people(2)); // person3 leaves: a suspend after 1d
    expect((await run("sync", isoPlus(T0, DAY))).code).toBe(0);
    const serialOfBackup = JSON.parse(readFileSync(`${ctx.ws.state}.bak`, "utf8")).serial as number;
    writeFileSync(ctx.ws.state, stateBytes().slice(0, 40));

    const r = await run("sync", isoPlus(T0, 3 * DAY), true);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: state file ${ctx.ws.state} is damaged (not valid JSON`);
    expect(r.stderr).toContain(`using the backup ${ctx.ws.state}.bak from serial ${serialOfBackup}`);
    // The backup knew when person3 left: the suspend (after 1d) is due, the delete counts from then too.
    expect(r.json.actions).toEqual([expect.objectContaining({ op: "suspend", key: "person3@example.com", status: "ok" })]);
    expect(r.json.scheduled).toEqual([expect.objectContaining({ op: "delete", key: "person3@example.com", due: isoPlus(T0, 8 * DAY) })]);
    expect(userNamed("person3@example.com")!.active).toBe(false);
    expect(ctx.sandbox.users()).toHaveLength(3);
    expect(JSON.parse(stateBytes())).toMatchObject({ version: STATE_VERSION });
    expect(JSON.parse(stateBytes()).serial).toBeGreaterThan(serialOfBackup);
    // The damaged bytes never become the backup.
    expect(() => JSON.parse(readFileSync(`${ctx.ws.state}.bak`, "utf8"))).not.toThrow();
  });
});

describe("a state file from a newer scimsync", () => {
  it("given version 5, then sync, plan and status refuse naming the version and the upgrade, and the file is left byte for byte", async () => {
    await firstSync();
    const newer = stateBytes().replace(`"version": ${STATE_VERSION}`, `"version": ${STATE_VERSION + 1}`).replace('"users"', '"newThing": {"a": 1},\n  "users"');
    expect(newer).toContain(`"version": ${STATE_VERSION + 1}`);
    writeFileSync(ctx.ws.state, newer);
    await ctx.ws.writeDirectory(people(1));
    ctx.sandbox.requests.length = 0;
    const before = files();

    for (const command of ["sync", "plan", "status"] as const) {
      const r = await run(command, command === "status" ? undefined : isoPlus(T0, 30 * DAY));
      expect(r.code, `${command}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`state file ${ctx.ws.state} was written by a newer scimsync (version ${STATE_VERSION + 1}); upgrade scimsync`);
      expect(r.stderr).toContain(`this scimsync reads state versions up to ${STATE_VERSION}; the file was left untouched`);
    }
    expect(stateBytes()).toBe(newer);
    expect(files()).toEqual(before);
    expect(ctx.sandbox.requests).toEqual([]);
  });
});

describe("a state file from an older scimsync", () => {
  /** Accounts on the target as an older scimsync left them: person1-4, person4 gone from the directory two days ago. */
  async function olderWorld(): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    for (const p of people(4)) {
      const res = await fetch(`${ctx.sandbox.baseUrl}/Users`, {
        method: "POST",
        headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
        body: JSON.stringify({
          schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          userName: p.userName,
          externalId: p.id,
          active: true,
          displayName: `${p.givenName} ${p.familyName}`,
          name: { givenName: p.givenName, familyName: p.familyName, formatted: `${p.givenName} ${p.familyName}` },
          title: p.title,
          emails: [{ type: "work", value: p.email, primary: true }],
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: p.department, employeeNumber: p.employeeNumber },
        }),
      });
      expect(res.status).toBe(201);
      ids[p.id] = ((await res.json()) as { id: string }).id;
    }
    const group = await fetch(`${ctx.sandbox.baseUrl}/Groups`, {
      method: "POST",
      headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
      body: JSON.stringify({
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        displayName: "Engineering",
        externalId: "g-eng",
        members: [{ value: ids["u-1"] }, { value: ids["u-2"] }],
      }),
    });
    expect(group.status).toBe(201);
    ids["g-eng"] = ((await group.json()) as { id: string }).id;
    await ctx.ws.writeDirectory(people(3), [{ id: "g-eng", displayName: "Engineering", members: ["u-1", "u-2"] }]);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, `${POLICY}provisionGroups: all\n`));
    ctx.sandbox.requests.length = 0;
    return ids;
  }

  const CREATED = "2025-06-01T08:00:00.000Z";
  const GONE_SINCE = isoPlus(T0, -2 * DAY);
  const LAST_RUN = { runId: "7d3c2b1a-0000-4000-8000-000000000001", startedAt: isoPlus(T0, -DAY), finishedAt: isoPlus(T0, -DAY + 5000), result: "ok", counts: { create: 0 } };

  const userV1 = (ids: Record<string, string>, n: number) => ({
    targetId: ids[`u-${n}`],
    userName: `person${n}@example.com`,
    origin: "created",
    since: CREATED,
    conditions: n === 4 ? { deleted: GONE_SINCE } : {},
  });
  const usersV1 = (ids: Record<string, string>) => Object.fromEntries([1, 2, 3, 4].map((n) => [`u-${n}`, userV1(ids, n)]));
  const groupsV2 = (ids: Record<string, string>) => ({
    "g-eng": { targetId: ids["g-eng"], displayName: "Engineering", origin: "created", since: CREATED, members: [ids["u-2"], ids["u-1"]] },
  });

  const versions: { version: number; file: (url: string, ids: Record<string, string>) => unknown; groups: boolean }[] = [
    {
      version: 0,
      groups: false,
      file: (url, ids) => ({
        version: 0,
        targetUrl: url,
        users: [1, 2, 3, 4].map((n) => ({
          sourceId: `u-${n}`,
          targetId: ids[`u-${n}`],
          userName: `person${n}@example.com`,
          createdAt: CREATED,
          ...(n === 4 ? { pending: { reason: "deleted", since: GONE_SINCE } } : {}),
        })),
      }),
    },
    { version: 1, groups: false, file: (url, ids) => ({ version: 1, serial: 7, targetUrl: url, users: usersV1(ids), lastRun: LAST_RUN }) },
    { version: 2, groups: true, file: (url, ids) => ({ version: 2, serial: 7, targetUrl: url, users: usersV1(ids), groups: groupsV2(ids), lastRun: LAST_RUN }) },
    {
      version: 3,
      groups: true,
      file: (url, ids) => ({ version: 3, serial: 7, targetUrl: url, users: usersV1(ids), groups: groupsV2(ids), groupMembersHidden: false, lastRun: LAST_RUN }),
    },
  ];

  it.each(versions)("given version $version, then plan reads it with its timers and leaves it alone, and sync rewrites it as the current version", async ({ version, file, groups }) => {
    const ids = await olderWorld();
    const old = JSON.stringify(file(ctx.sandbox.baseUrl, ids), null, 2) + "\n";
    writeFileSync(ctx.ws.state, old);

    // person4 left two days ago: the suspend (after 1d) is due, the delete (after 7d) in five days. A
    // migration that restarted the timer would schedule the suspend for tomorrow instead.
    const plan = await run("plan", T0, true);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json.actions.filter((a: any) => a.type === "User")).toEqual([expect.objectContaining({ op: "suspend", key: "person4@example.com", reason: "deleted" })]);
    expect(plan.json.scheduled).toEqual([expect.objectContaining({ op: "delete", key: "person4@example.com", due: isoPlus(T0, 5 * DAY) })]);
    expect(plan.json.adopted).toEqual(groups ? [] : [{ type: "Group", key: "Engineering" }]);
    expect(stateBytes()).toBe(old);
    expect(existsSync(`${ctx.ws.state}.bak`)).toBe(false);
    expect(ctx.sandbox.requests.filter((q) => q.method !== "GET")).toEqual([]);

    const sync = await run("sync", T0, true);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.json.actions.filter((a: any) => a.type === "User")).toEqual([expect.objectContaining({ op: "suspend", key: "person4@example.com", status: "ok" })]);
    expect(userNamed("person4@example.com")!.active).toBe(false);
    expect(ctx.sandbox.users()).toHaveLength(4);

    const now = JSON.parse(stateBytes());
    expect(now.version).toBe(STATE_VERSION);
    expect(now.serial).toBeGreaterThan(version === 0 ? 0 : 7);
    expect(now.users["u-1"]).toEqual({ targetId: ids["u-1"], userName: "person1@example.com", origin: "created", since: CREATED, conditions: {} });
    expect(now.users["u-4"]).toMatchObject({ targetId: ids["u-4"], origin: "created", since: CREATED, suspendedAt: T0.toISOString(), conditions: { deleted: GONE_SINCE } });
    expect(now.groups["g-eng"]).toMatchObject({ targetId: ids["g-eng"], origin: groups ? "created" : "adopted", members: [ids["u-1"], ids["u-2"]].sort() });

    // And the delete comes when the old timer says, not seven days after the upgrade.
    const del = await run("sync", isoPlus(T0, 5 * DAY), true);
    expect(del.code, del.stderr).toBe(0);
    expect(del.json.actions).toEqual([expect.objectContaining({ op: "delete", key: "person4@example.com", status: "ok" })]);
    expect(userNamed("person4@example.com")).toBeUndefined();
  });
});
