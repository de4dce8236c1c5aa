/**
 * Bad directory data through the real CLI into the sandbox: records that clash, lack an id, hold
 * invalid emails, huge values or control characters, userNames that must survive a SCIM filter,
 * and listings that break off halfway. Each bad record is reported by where it is and skipped;
 * the rest is applied; nothing is ever duplicated, half-applied, or deprovisioned because of it.
 */
import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configYaml, DAY, isoPlus, people, runCli, useFaultProxy, useSandboxAndWorkspace, type CliResult, type DirUser } from "./harness.js";
import { startFakeGoogleDirectory, type GoogleUserRecord, type RecordedRequest as GoogleRecordedRequest } from "../support/fake-google-directory.js";
import { startFakeGraph, type GraphRecordedRequest, type GraphUserRecord } from "../support/fake-graph.js";
import { makeTestCertificates, writeCaFile } from "../support/test-ca.js";

const T0 = new Date("2026-03-01T09:00:00Z");
/** Leavers are suspended and deleted at once, and the limits are off: only the source's own verdict can hold them back. */
const EAGER = `
deprovision:
  outOfScope: { suspend: now, delete: now }
  suspended: { suspend: now, delete: now }
  deleted: { suspend: now, delete: now }
safety: { maxDeprovisions: 1000, maxDeprovisionPercent: 100 }
`;

const ctx = useSandboxAndWorkspace();

const sync = (at: Date | string, json = true): Promise<CliResult> =>
  runCli(["sync", "--config", ctx.ws.config, ...(json ? ["--output", "json"] : []), "--now", typeof at === "string" ? at : at.toISOString()], ctx.env);
const appUserNames = () => ctx.sandbox.users().map((u) => String(u.userName)).sort();
const userNamed = (userName: string) =>
  ctx.sandbox.users().find((u) => String(u.userName).toLowerCase() === userName.toLowerCase()) as Record<string, any> | undefined;
const writes = () => ctx.sandbox.requests.filter((r) => r.method !== "GET");
const readState = () => JSON.parse(readFileSync(ctx.ws.state, "utf8")) as Record<string, any>;

/** An account made in the app by hand, before scimsync knew of it. */
async function postUser(userName: string): Promise<void> {
  const res = await fetch(`${ctx.sandbox.baseUrl}/Users`, {
    method: "POST",
    headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
    body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName, active: true }),
  });
  expect(res.status, await res.text()).toBe(201);
}

/** A first sync of `users` that must succeed; the request log is emptied afterwards. */
async function syncedWith(users: DirUser[]): Promise<void> {
  await ctx.ws.writeDirectory(users);
  await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, EAGER));
  const first = await sync(T0);
  expect(first.code, first.stderr).toBe(0);
  expect(first.json.problems).toEqual([]);
  ctx.sandbox.requests.length = 0;
}

describe("records that clash", () => {
  it("given two new records with one userName (in different case), then neither gets an account, both are reported, and the others are created", async () => {
    const users: DirUser[] = [...people(3), { id: "twin-a", userName: "twin@example.com" }, { id: "twin-b", userName: "TWIN@example.com", givenName: "Other" }];
    await ctx.ws.writeDirectory(users);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, EAGER));

    const r = await sync(T0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.problems).toEqual([
      { location: "users[3]", id: "twin-a", userName: "twin@example.com", reason: expect.stringContaining('userName "twin@example.com" is also used by users[4]') },
      { location: "users[4]", id: "twin-b", userName: "TWIN@example.com", reason: expect.stringContaining("none of them is synced until the directory is fixed") },
    ]);
    expect(r.json.summary).toMatchObject({ create: 3, failed: 0 });
    expect(appUserNames()).toEqual(["person1@example.com", "person2@example.com", "person3@example.com"]);
    expect(Object.keys(readState().users).sort()).toEqual(["u-1", "u-2", "u-3"]);
  });

  it("given a managed user's userName or id reappears on a second record, then both records are skipped and the account is left exactly as it was", async () => {
    await syncedWith(people(4));
    const before = JSON.stringify(ctx.sandbox.users());
    // u-2's userName on a newcomer, and u-3's id on a record with another userName (a re-export gone wrong).
    const users: DirUser[] = [
      ...people(4).map((u) => (u.id === "u-2" ? { ...u, title: "Changed" } : u)),
      { id: "u-99", userName: "Person2@Example.com", title: "Impostor" },
      { id: "u-3", userName: "someone-else@example.com" },
    ];
    await ctx.ws.writeDirectory(users);

    const r = await sync(isoPlus(T0, 30 * DAY));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.problems.map((p: any) => [p.location, p.id])).toEqual([
      ["users[1]", "u-2"],
      ["users[2]", "u-3"],
      ["users[4]", "u-99"],
      ["users[5]", "u-3"],
    ]);
    // Not suspended, deleted, updated (title) or renamed; no second account.
    expect(r.json.actions).toEqual([]);
    expect(r.json.scheduled).toEqual([]);
    expect(writes()).toEqual([]);
    expect(JSON.stringify(ctx.sandbox.users())).toBe(before);
    expect(Object.keys(readState().users).sort()).toEqual(["u-1", "u-2", "u-3", "u-4"]);
  });
});

describe("records that lack what identifies them", () => {
  it("given records without an id, then each is reported by place and userName and skipped, and the account of its userName is protected", async () => {
    await syncedWith(people(3));
    const users: DirUser[] = [
      people(1)[0]!,
      // u-2 lost its id in the export; u-3 is gone (a real leaver).
      { ...people(2)[1]!, id: undefined as unknown as string },
      { id: "  ", userName: "blank-id@example.com" },
      { id: "u-4", userName: "newcomer@example.com" },
    ];
    await ctx.ws.writeDirectory(users);

    const r = await sync(isoPlus(T0, DAY));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.problems).toEqual([
      { location: "users[1]", userName: "person2@example.com", reason: "id is missing" },
      { location: "users[2]", userName: "blank-id@example.com", reason: "id is missing" },
    ]);
    expect(r.json.actions.map((a: any) => [a.op, a.key, a.status])).toEqual([
      ["create", "newcomer@example.com", "ok"],
      ["delete", "person3@example.com", "ok"],
    ]);
    expect(userNamed("person2@example.com")).toMatchObject({ active: true });
    expect(userNamed("blank-id@example.com")).toBeUndefined();
    expect(appUserNames()).toEqual(["newcomer@example.com", "person1@example.com", "person2@example.com"]);
  });

  it("given a record with neither id nor userName, then the directory is incomplete: nobody is deprovisioned, it exits 4 and says why", async () => {
    await syncedWith(people(4));
    await ctx.ws.writeDirectory([...people(2), { givenName: "Nobody" } as unknown as DirUser, { id: "u-5", userName: "newcomer@example.com" }]);

    const r = await sync(isoPlus(T0, DAY));
    expect(r.code, r.stderr).toBe(4);
    expect(r.json.problems).toEqual([{ location: "users[2]", reason: "id is missing; userName is missing" }]);
    expect(r.json.safety.failClosed).toContain("the directory could not be read completely");
    // The newcomer is still created; person3 and person4 look gone, but absence proves nothing now.
    expect(r.json.actions.map((a: any) => [a.op, a.key, a.status])).toEqual([["create", "newcomer@example.com", "ok"]]);
    expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
    expect(appUserNames()).toHaveLength(5);
    expect(readState().users["u-3"].conditions).toEqual({});

    const human = await sync(isoPlus(T0, DAY), false);
    expect(human.code).toBe(4);
    expect(human.stdout).toContain("Failed closed: the directory could not be read completely");
    expect(human.stdout).toContain("users[2]: id is missing; userName is missing");
  });
});

describe("values that are wrong or dangerous", () => {
  it("given invalid email addresses, then each record is reported with the value and skipped, and the valid ones are created", async () => {
    const bad = ["not-an-email", "two@@example.com", "no-domain@", "has space@example.com", "dotless@localhost"];
    const users: DirUser[] = [...people(2), ...bad.map((email, i) => ({ id: `bad-${i}`, userName: `bad${i}@example.com`, email }))];
    await ctx.ws.writeDirectory(users);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, EAGER));

    const r = await sync(T0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.problems).toEqual(
      bad.map((email, i) => ({ location: `users[${i + 2}]`, id: `bad-${i}`, userName: `bad${i}@example.com`, reason: `email ${JSON.stringify(email)} is not an email address` })),
    );
    expect(appUserNames()).toEqual(["person1@example.com", "person2@example.com"]);
  });

  it("given a 1 MB title, then that record is reported and skipped rather than sent, and no output repeats the value", async () => {
    await syncedWith(people(3));
    // 1 MB, less the trailing space the reader trims.
    const huge = "Principal ".repeat(104_858);
    const users = people(3).map((u) => (u.id === "u-2" ? { ...u, title: huge } : u));
    users.push({ id: "u-9", userName: "also-huge@example.com", department: huge });
    await ctx.ws.writeDirectory(users);

    const r = await sync(isoPlus(T0, DAY));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.problems).toEqual([
      { location: "users[1]", id: "u-2", userName: "person2@example.com", reason: expect.stringMatching(/^title is 1048579 characters long; at most 4096 are accepted/) },
      { location: "users[3]", id: "u-9", userName: "also-huge@example.com", reason: expect.stringMatching(/^department is 1048579 characters long/) },
    ]);
    expect(r.json.actions).toEqual([]);
    expect(writes()).toEqual([]);
    expect(userNamed("person2@example.com")!.title).toBe("Engineer");
    expect(r.stdout.length + r.stderr.length).toBeLessThan(20_000);
    expect(readFileSync(ctx.ws.state, "utf8")).not.toContain("Principal Principal");
  });

  it("given control characters in names, then the records are skipped, and neither the report nor a mapped extra value reaches the terminal raw", async () => {
    const ESC = "\u001b";
    const users: DirUser[] = [
      ...people(2),
      { id: "nul", userName: "nul@example.com", givenName: "Nu\u0000ll" },
      { id: "newline", userName: "newline@example.com", title: "Line one\nLine two" },
      { id: "ansi", userName: "ansi@example.com", familyName: `${ESC}[31mRed${ESC}[0m` },
      { id: "ansi-name", userName: `${ESC}]0;pwned${ESC}\\evil@example.com` },
    ];
    // A key the file source keeps as it is (in extra), mapped into the app: the view must escape it.
    const raw: Record<string, unknown>[] = users.map((u) => ({ ...u }));
    raw[1]!.jobCode = `${ESC}[2J${ESC}[HEng\u0007`;
    writeFileSync(ctx.ws.directory, JSON.stringify({ users: raw, groups: [] }));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, `${EAGER}mapping:\n  user:\n    - { target: title, source: extra.jobCode }\n`));

    const plan = await runCli(["plan", "--config", ctx.ws.config, "--now", T0.toISOString()], ctx.env);
    expect(plan.code, plan.stderr).toBe(0);
    for (const output of [plan.stdout, plan.stderr]) {
      expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    }
    expect(plan.stdout).toContain("users[2] (nul@example.com, nul): givenName contains a control character");
    expect(plan.stdout).toContain("users[3] (newline@example.com, newline): title contains a control character");
    expect(plan.stdout).toContain("users[4] (ansi@example.com, ansi): familyName contains a control character");
    expect(plan.stdout).toContain("users[5] (ansi-name): userName contains a control character");
    // Shown, but visibly escaped.
    expect(plan.stdout).toContain("+ person2@example.com  Given2 Family2 · \\u001b[2J\\u001b[HEng\\u0007 · Engineering");

    const r = await sync(T0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.problems.map((p: any) => p.id)).toEqual(["nul", "newline", "ansi", "ansi-name"]);
    expect(appUserNames()).toEqual(["person1@example.com", "person2@example.com"]);
    // What the directory holds is sent as it is: escaping is the terminal's concern, not the data's.
    expect(userNamed("person2@example.com")!.title).toBe(`${ESC}[2J${ESC}[HEng\u0007`);
  });
});

describe("userNames that must survive a SCIM filter", () => {
  const TRICKY = [
    "o'brien@example.com",
    'quo"te@example.com',
    "back\\slash@example.com",
    'x" or userName pr or "y@example.com',
    "eq@example.com eq \"eq@example.com\"",
    "end-backslash\\",
  ];
  const directory = (): DirUser[] => TRICKY.map((userName, i) => ({ id: `t-${i}`, userName, givenName: "Tricky", familyName: String(i) }));

  it("given accounts that already exist with such userNames, then each is adopted, not duplicated, and the next run changes nothing", async () => {
    for (const userName of TRICKY) await postUser(userName.toUpperCase());
    await postUser("bystander@example.com");
    await ctx.ws.writeDirectory(directory());
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, EAGER));

    const r = await sync(T0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.adopted.map((a: any) => a.key).sort()).toEqual([...TRICKY].sort());
    expect(r.json.summary).toMatchObject({ create: 0, failed: 0 });
    expect(ctx.sandbox.users()).toHaveLength(TRICKY.length + 1);
    for (const [i, userName] of TRICKY.entries()) expect(userNamed(userName)!.externalId).toBe(`t-${i}`);

    ctx.sandbox.requests.length = 0;
    const again = await sync(isoPlus(T0, DAY));
    expect(again.json.actions).toEqual([]);
    expect(writes()).toEqual([]);
  });
});

describe("userNames that must survive a SCIM filter, found only when the create clashes", () => {
  const proxied = useFaultProxy(ctx);

  it("given the accounts appear after the listing, then the 409 leads to a filtered lookup that finds each one, and it is adopted", async () => {
    const TRICKY = ['quo"te@example.com', "back\\slash@example.com", 'x" or userName pr or "y@example.com', "o'brien@example.com"];
    for (const userName of TRICKY) await postUser(userName);
    await ctx.ws.writeDirectory(TRICKY.map((userName, i) => ({ id: `t-${i}`, userName })));
    await ctx.ws.writeConfig(configYaml(proxied.proxy.baseUrl, EAGER));
    // The listing is served as it was before the accounts were made (a race with another admin);
    // a filtered lookup (after the first create) sees the truth.
    let created = false;
    proxied.proxy.decide = ({ method, path }) => {
      if (method === "POST") created = true;
      if (method === "GET" && path.endsWith("/Users") && !created) {
        return { kind: "pass", rewrite: (page: any) => ({ ...page, totalResults: 0, Resources: [] }) };
      }
      return { kind: "pass" };
    };

    const r = await sync(T0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.actions.map((a: any) => [a.op, a.key, a.status]).sort()).toEqual(TRICKY.map((k) => ["create", k, "ok"]).sort());
    expect(r.json.actions.every((a: any) => /adopted it instead of creating a duplicate/.test(a.note ?? ""))).toBe(true);
    expect(ctx.sandbox.users()).toHaveLength(TRICKY.length);
    const lookups = ctx.sandbox.requests
      .filter((q) => q.method === "GET" && q.query.includes("filter="))
      .map((q) => new URLSearchParams(q.query).get("filter"));
    for (const userName of TRICKY) expect(lookups).toContain(`userName eq ${JSON.stringify(userName)}`);
    const state = readState();
    for (const [i] of TRICKY.entries()) expect(state.users[`t-${i}`].origin).toBe("adopted");
  });
});

describe("a directory file cut short", () => {
  it("given a CSV whose quote is never closed halfway, then the rows after it are unread: the rest is applied, nobody deprovisioned, exit 4", async () => {
    await syncedWith(people(6));
    const header = "id,userName,email,givenName,familyName,active,title,department,employeeNumber";
    const row = (n: number, title = "Engineer") =>
      `u-${n},person${n}@example.com,person${n}@example.com,Given${n},Family${n},true,${title},Engineering,${1000 + n}`;
    const csv = [header, row(1), row(2, "Staff Engineer"), row(3).replace(",Given3", ',"Given3'), row(4), row(5), row(6)].join("\n");
    writeFileSync(join(ctx.ws.dir, "directory.csv"), csv);
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, EAGER).replace("./directory.json", "./directory.csv"));

    const r = await sync(isoPlus(T0, DAY));
    expect(r.code, r.stderr).toBe(4);
    expect(r.json.problems).toEqual([{ location: expect.stringMatching(/^line \d+$/), reason: expect.stringContaining("a double quote opened here is never closed") }]);
    expect(r.json.safety.failClosed).toContain("the directory could not be read completely");
    expect(r.json.actions.map((a: any) => [a.op, a.key, a.status])).toEqual([["update", "person2@example.com", "ok"]]);
    expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
    expect(appUserNames()).toHaveLength(6);
  });
});

describe("a directory listing that fails halfway", () => {
  const N = 30;

  it("given Google fails the second page of users beyond retries, then it exits 4, says the read was incomplete, applies what it read, and deprovisions nobody", async () => {
    const gid = (n: number) => `1048576${String(n).padStart(14, "0")}`;
    const email = (n: number) => `g${String(n).padStart(2, "0")}@example.com`;
    const googleUser = (n: number): GoogleUserRecord => ({
      id: gid(n),
      primaryEmail: email(n),
      name: { givenName: `Given${n}`, familyName: "Google" },
      orgUnitPath: "/",
      organizations: [{ title: "Engineer", department: "Engineering", primary: true }],
    });
    const everyone = { id: "03x5everyone01", email: "everyone@example.com", name: "Everyone", members: range(N).map((n) => ({ id: gid(n), email: email(n), type: "USER" as const })) };
    const google = await startFakeGoogleDirectory({ data: { users: range(N).map(googleUser), groups: [everyone] }, pageSizeCap: 10 });
    try {
      const token = `ya29.bad-source-${Date.now()}`;
      google.acceptToken(token);
      await ctx.ws.writeConfig(
        configYaml(ctx.sandbox.baseUrl, `${EAGER}provisionGroups: all\n`).replace(
          "source: { type: file, path: ./directory.json }",
          ["source:", "  type: google", '  accessToken: "${env:GOOGLE_ACCESS_TOKEN}"', `  apiRoot: ${google.rootUrl}`, "  retries: 1", "  timeoutSeconds: 10"].join("\n"),
        ),
      );
      const env = { ...ctx.env, GOOGLE_ACCESS_TOKEN: token };
      const first = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", T0.toISOString()], env);
      expect(first.code, first.stderr).toBe(0);
      expect(ctx.sandbox.users()).toHaveLength(N);
      const membersBefore = groupMembers("Everyone");
      expect(membersBefore).toHaveLength(N);

      // A change on the first page, which must still be applied; everyone on pages 2 and 3 looks gone.
      (google.data.users[0]!.organizations![0] as Record<string, unknown>).title = "Staff Engineer";
      const page2 = (r: GoogleRecordedRequest) => r.path.endsWith("/users") && r.query.pageToken !== undefined && r.query.showDeleted === undefined;
      google.injectFault(page2, { status: 503 }, 10);
      ctx.sandbox.requests.length = 0;
      google.requests.length = 0;

      const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--now", isoPlus(T0, DAY)], env);
      expect(r.code, r.stderr).toBe(4);
      expect(google.requests.filter(page2)).toHaveLength(2);
      expect(r.json.problems).toEqual([{ location: "users listing", reason: "it could not be read to the end: list users: 503 Backend Error; gave up after 2 attempt(s)" }]);
      expect(r.json.safety.failClosed).toContain("the directory could not be read completely");
      expect(r.json.actions.map((a: any) => [a.op, a.type, a.key, a.status])).toEqual([["update", "User", email(1), "ok"]]);
      expect(userNamed(email(1))!.title).toBe("Staff Engineer");
      expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
      expect(ctx.sandbox.users()).toHaveLength(N);
      expect(groupMembers("Everyone")).toEqual(membersBefore);
      expect(writes().filter((q) => q.method === "DELETE" || q.path.includes("/Groups"))).toEqual([]);
      const state = readState();
      for (const n of range(N)) expect(state.users[gid(n)].conditions, email(n)).toEqual({});

      // The human report says so as plainly.
      google.injectFault(page2, { status: 503 }, 10);
      const human = await runCli(["plan", "--config", ctx.ws.config, "--now", isoPlus(T0, DAY)], env);
      expect(human.stdout).toContain("The directory could not be read completely (1):");
      expect(human.stdout).toContain("users listing: it could not be read to the end");
      expect(human.stdout).toContain("Failed closed: the directory could not be read completely");
      expect(human.stdout + human.stderr).not.toContain(token);
    } finally {
      await google.close();
    }
  });

  it("given Microsoft Graph fails the second page of a full read of users beyond retries, then it exits 4 and deprovisions nobody", async () => {
    const ca = await writeCaFile((await makeTestCertificates()).caPem);
    const uid = (n: number) => `7f0e5a1c-3b2d-4c8e-9a6f-${String(n).padStart(12, "0")}`;
    const upn = (n: number) => `m${String(n).padStart(2, "0")}@contoso.example`;
    const graphUser = (n: number): GraphUserRecord => ({ id: uid(n), userPrincipalName: upn(n), givenName: `Given${n}`, surname: "Graph", jobTitle: "Engineer", accountEnabled: true });
    const secret = "Qm8~badSourceR7vN4pW1zT9bC6hJ3sL0dG5";
    const clientId = "6b3f1c2e-8d4a-4e7b-9c1f-2a3b4c5d6e7f";
    const graph = await startFakeGraph({ data: { users: range(N).map(graphUser), groups: [] }, clientSecret: secret, clientId, pageSize: 10 });
    try {
      await ctx.ws.writeConfig(
        configYaml(ctx.sandbox.baseUrl, EAGER).replace(
          "source: { type: file, path: ./directory.json }",
          [
            "source:",
            "  type: microsoft",
            `  tenantId: ${graph.tenantId}`,
            `  clientId: ${clientId}`,
            '  clientSecret: "${env:AZURE_CLIENT_SECRET}"',
            `  authorityHost: ${graph.url}`,
            `  graphUrl: ${graph.url}`,
            "  retries: 1",
            "  timeoutSeconds: 10",
          ].join("\n"),
        ),
      );
      const env = { ...ctx.env, AZURE_CLIENT_SECRET: secret, NODE_EXTRA_CA_CERTS: ca.path };
      const first = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], env);
      expect(first.code, first.stderr).toBe(0);
      expect(ctx.sandbox.users()).toHaveLength(N);

      // A full read is due (the last one was two days ago), and its second page fails.
      const state = readState();
      state.source.users.fullReadAt = new Date(Date.now() - 2 * DAY).toISOString();
      writeFileSync(ctx.ws.state, JSON.stringify(state, null, 2));
      const page2 = (q: GraphRecordedRequest) => q.path === "/v1.0/users" && q.query.$skiptoken !== undefined;
      graph.injectFault(page2, { status: 503 }, 10);
      ctx.sandbox.requests.length = 0;
      graph.requests.length = 0;

      const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], env);
      expect(r.code, r.stderr).toBe(4);
      expect(graph.requests.filter(page2)).toHaveLength(2);
      expect(r.json.problems).toEqual([{ location: "users listing", reason: expect.stringMatching(/^it could not be read to the end: .*503.*; gave up after 2 attempt\(s\)$/) }]);
      expect(r.json.safety.failClosed).toContain("the directory could not be read completely");
      expect(r.json.actions).toEqual([]);
      expect(ctx.sandbox.users()).toHaveLength(N);
      expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
      expect(writes()).toEqual([]);
      expect(r.stdout + r.stderr).not.toContain(secret);
    } finally {
      await graph.close();
      await ca.remove();
    }
  });
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The userNames of a group's members in the sandbox. */
function groupMembers(displayName: string): string[] {
  const byId = new Map(ctx.sandbox.users().map((u) => [u.id, String(u.userName)]));
  const group = ctx.sandbox.groups().find((g) => g.displayName === displayName);
  return ((group?.members as { value: string }[] | undefined) ?? []).map((m) => byId.get(m.value) ?? `?${m.value}`).sort();
}
