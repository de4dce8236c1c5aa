/**
 * Microsoft Entra ID end to end: the real CLI (dist/) signs in with a client secret at a fake
 * identity platform and reads a fake Microsoft Graph (test/support/fake-graph.ts, HTTPS with a
 * throwaway CA passed to the child in NODE_EXTRA_CA_CERTS), and provisions into the sandbox SCIM
 * target. Covers app-assignment scope with nested groups, the directory and delta links kept in
 * the state (sync only, never plan), incremental runs that read only the changes, an expired
 * delta link (410), throttling, a missing permission, failing closed on a failed delta (keeping
 * the old link), and that neither the client secret nor an issued token is ever printed or saved.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { runCli, useSandboxAndWorkspace, type CliResult } from "./harness.js";
import {
  startFakeGraph,
  type FakeGraph,
  type GraphGroupRecord,
  type GraphRecordedRequest,
  type GraphTenantData,
  type GraphUserRecord,
} from "../support/fake-graph.js";
import { makeTestCertificates, writeCaFile } from "../support/test-ca.js";
import { bearerTokensOf, expectNoSecrets } from "../support/secret-scan.js";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CLIENT_ID = "6b3f1c2e-8d4a-4e7b-9c1f-2a3b4c5d6e7f";
/** Shaped like an Entra client secret, and distinctive, so that finding it anywhere means a leak. */
const CLIENT_SECRET = "Qm8~e2eR7vN4pW1zT9bC6hJ3sL0dG5aE2uYkX";
/** The enterprise app (service principal object id) scope.assignedToApp names. */
const APP = "4d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d";
const DOMAIN = "contoso.example";

const ctx = useSandboxAndWorkspace();
let fake: FakeGraph;
let caFile: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  caFile = await writeCaFile((await makeTestCertificates()).caPem);
});
afterAll(async () => {
  await caFile?.remove();
});
beforeEach(async () => {
  fake = await startFakeGraph({ data: tenant(), clientSecret: CLIENT_SECRET, clientId: CLIENT_ID });
});
afterEach(async () => {
  await fake.close();
});

// ---------------------------------------------------------------------------------------------
// The tenant: 30 users, four groups (App Users > Platform Team > Platform Oncall nested, and
// Finance), an app assigned to Ada directly and to App Users.
// ---------------------------------------------------------------------------------------------

const uid = (n: number) => `7f0e5a1c-3b2d-4c8e-9a6f-${String(n).padStart(12, "0")}`;
const gid = (n: number) => `2e9d8c7b-6a5f-4e3d-8c2b-${String(n).padStart(12, "0")}`;
const upn = (n: number) => `u${String(n).padStart(2, "0")}@${DOMAIN}`;

const APP_USERS = { id: gid(1), displayName: "App Users" };
const PLATFORM = { id: gid(2), displayName: "Platform Team" };
const ONCALL = { id: gid(3), displayName: "Platform Oncall" };
const FINANCE = { id: gid(4), displayName: "Finance" };

interface Person {
  given: string;
  family: string;
  title: string;
  department: string;
  manager?: number;
}

function person(n: number): Person {
  if (n === 1) return { given: "Ada", family: "Admin", title: "Chief Executive Officer", department: "Executive" };
  if (n <= 8) return { given: `Sam${n}`, family: "Seller", title: "Account Executive", department: "Sales", manager: 1 };
  if (n === 9) return { given: "Pia", family: "Lead", title: "Engineering Manager", department: "Platform", manager: 1 };
  if (n <= 16) return { given: `Nia${n}`, family: "Coder", title: "Software Engineer", department: "Platform", manager: 9 };
  return { given: `Fin${n}`, family: "Counter", title: "Accountant", department: "Finance", manager: 17 === n ? 1 : 17 };
}

function graphUser(n: number): GraphUserRecord {
  const p = person(n);
  const user: GraphUserRecord = {
    id: uid(n),
    userPrincipalName: upn(n),
    // The mailbox differs from the UPN: userName must come from the UPN.
    mail: n === 7 ? null : `${p.given.toLowerCase()}.${p.family.toLowerCase()}@${DOMAIN}`,
    givenName: p.given,
    surname: p.family,
    displayName: `${p.given} ${p.family}`,
    jobTitle: p.title,
    department: p.department,
    employeeId: String(5000 + n),
    preferredLanguage: "en-US",
    streetAddress: "1 Microsoft Way",
    city: "Redmond",
    state: "WA",
    postalCode: "98052",
    country: "United States",
    businessPhones: [`+1 425 555 ${String(1000 + n)}`],
    mobilePhone: n % 2 === 0 ? `+1 206 555 ${String(2000 + n)}` : null,
    accountEnabled: n !== 29,
  };
  if (p.manager) user.managerId = uid(p.manager);
  return user;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function tenant(): GraphTenantData {
  const groups: GraphGroupRecord[] = [
    { ...APP_USERS, mail: `app-users@${DOMAIN}`, description: "Everyone who uses the app", members: [...range(2, 8).map(uid), PLATFORM.id] },
    { ...PLATFORM, mail: `platform@${DOMAIN}`, members: [...range(9, 14).map(uid), ONCALL.id] },
    { ...ONCALL, mail: null, members: [uid(15), uid(16)] },
    { ...FINANCE, mail: `finance@${DOMAIN}`, members: [...range(18, 24).map(uid), uid(2)] },
  ];
  return {
    users: range(1, 30).map(graphUser),
    groups,
    servicePrincipals: {
      [APP]: {
        appId: CLIENT_ID,
        displayName: "SCIM target app",
        appRoleAssignedTo: [
          { id: "assign-ada-0000000000000000000000000000000", principalId: uid(1), principalType: "User", resourceId: APP },
          { id: "assign-appusers-000000000000000000000000000", principalId: APP_USERS.id, principalType: "Group", resourceId: APP },
        ],
      },
    },
  };
}

/** Assigned directly (u01) or through App Users and the groups nested in it (u02-u16). */
const IN_SCOPE = range(1, 16).map(upn);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async function writeMicrosoftConfig(options: { retries?: number; extraSource?: string[] } = {}): Promise<void> {
  await ctx.ws.writeConfig(
    [
      "source:",
      "  type: microsoft",
      `  tenantId: ${fake.tenantId}`,
      `  clientId: ${CLIENT_ID}`,
      '  clientSecret: "${env:AZURE_CLIENT_SECRET}"',
      `  authorityHost: ${fake.url}`,
      `  graphUrl: ${fake.url}`,
      `  retries: ${options.retries ?? 1}`,
      "  timeoutSeconds: 10",
      ...(options.extraSource ?? []).map((l) => `  ${l}`),
      "target:",
      `  url: ${ctx.sandbox.baseUrl}`,
      '  token: "${env:SCIM_TOKEN}"',
      "  rateLimit: 0",
      "state: { path: ./scimsync.state.json }",
      "scope:",
      `  assignedToApp: ${APP}`,
      "provisionGroups: all",
      "deprovision:",
      "  deleted: { suspend: now, delete: now }",
      "safety: { maxDeprovisionPercent: 100 }",
      "",
    ].join("\n"),
  );
}

const cli = (command: "plan" | "sync", json = true, env: Record<string, string> = {}): Promise<CliResult> =>
  runCli([command, "--config", ctx.ws.config, ...(json ? ["--output", "json"] : [])], {
    ...ctx.env,
    AZURE_CLIENT_SECRET: CLIENT_SECRET,
    NODE_EXTRA_CA_CERTS: caFile.path,
    ...env,
  });

const userNamed = (userName: string) => ctx.sandbox.users().find((u) => String(u.userName).toLowerCase() === userName) as Record<string, any> | undefined;
const sandboxWrites = () => ctx.sandbox.requests.filter((r) => r.method !== "GET");
const appUserNames = () => ctx.sandbox.users().map((u) => String(u.userName)).sort();
const activeUserNames = () => ctx.sandbox.users().filter((u) => u.active !== false).map((u) => String(u.userName)).sort();
function appMembers(displayName: string): string[] {
  const byId = new Map(ctx.sandbox.users().map((u) => [u.id, String(u.userName)]));
  const group = ctx.sandbox.groups().find((g) => g.displayName === displayName);
  return ((group?.members as { value: string }[] | undefined) ?? []).map((m) => byId.get(m.value) ?? `?${m.value}`).sort();
}
const readState = () => readFileSync(ctx.ws.state, "utf8");
const stateJson = () => JSON.parse(readState()) as Record<string, any>;

/** A Graph request by kind: which listing, and whether a delta continued from a token. */
function kindOf(r: GraphRecordedRequest): string {
  const p = r.path;
  const delta = (what: string) => {
    const token = r.query.$deltatoken;
    if (token === "latest") return `${what}/delta latest`;
    if (token !== undefined) return `${what}/delta token`;
    if (r.query.$skiptoken !== undefined) return `${what}/delta page`;
    return `${what}/delta initial`;
  };
  if (p === "/v1.0/users") return "users";
  if (p === "/v1.0/users/delta") return delta("users");
  if (p === "/v1.0/groups/delta") return delta("groups");
  if (p === `/v1.0/servicePrincipals/${APP}/appRoleAssignedTo`) return "assignments";
  const members = /^\/v1\.0\/groups\/([^/]+)\/transitiveMembers\/microsoft\.graph\.user$/.exec(p);
  if (members) return `transitiveMembers ${members[1] === APP_USERS.id ? "App Users" : members[1]}`;
  return `${r.method} ${p}`;
}
const kinds = (requests: GraphRecordedRequest[]) => requests.map(kindOf).sort();

const FULL_READ = ["assignments", "groups/delta initial", "transitiveMembers App Users", "users", "users/delta latest"];
const DELTA_READ = ["assignments", "groups/delta token", "transitiveMembers App Users", "users/delta token"];

/** The users/delta request of a run that continued from a token, and that token. */
const usersDeltaTokens = (requests: GraphRecordedRequest[]) =>
  requests.filter((r) => kindOf(r) === "users/delta token").map((r) => r.query.$deltatoken);

/** Runs the first sync and checks it worked; returns the state file's text. */
async function initialSync(): Promise<string> {
  await writeMicrosoftConfig();
  const first = await cli("sync");
  expect(first.code, first.stderr).toBe(0);
  expect(appUserNames()).toEqual(IN_SCOPE);
  return readState();
}

// ---------------------------------------------------------------------------------------------

describe("Microsoft Entra ID to the sandbox through the real CLI", () => {
  it("Given an app assigned to a user and to a group with nested groups, When planned and then synced, Then plan saves nothing, and the app holds exactly the assigned users with their attributes, groups and memberships, and the state keeps the directory and delta links", async () => {
    await writeMicrosoftConfig();

    const plan = await cli("plan");
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json.summary).toMatchObject({ create: IN_SCOPE.length, update: 0, suspend: 0, delete: 0 });
    expect(plan.json.problems).toEqual([]);
    expect(sandboxWrites()).toEqual([]);
    // plan reads everything but keeps nothing: no state file at all.
    expect(existsSync(ctx.ws.state)).toBe(false);
    expect(kinds(fake.requests)).toEqual(FULL_READ);
    // The sign-in: client credentials with the secret, for Graph's resource, once: the reads
    // started together (users, groups, assignments) share one token request.
    expect(fake.tokenRequests).toHaveLength(1);
    for (const request of fake.tokenRequests) {
      expect(request).toMatchObject({
        tenant: fake.tenantId,
        grantType: "client_credentials",
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        scope: "https://graph.microsoft.com/.default",
      });
    }
    const usersList = fake.requests.find((r) => kindOf(r) === "users")!;
    expect(usersList.query).toMatchObject({ $top: "999", $expand: "manager($select=id)" });
    expect(usersList.query.$select!.split(",")).toEqual(expect.arrayContaining(["id", "userPrincipalName", "accountEnabled", "jobTitle", "givenName", "surname"]));

    fake.requests.length = 0;
    const first = await cli("sync");
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.summary).toMatchObject({ create: IN_SCOPE.length, failed: 0, groups: { create: 4 } });
    expect(first.json.problems).toEqual([]);
    expect(kinds(fake.requests)).toEqual(FULL_READ);
    expect(appUserNames()).toEqual(IN_SCOPE);

    // Mapped attributes (generic preset): userName = UPN, externalId = object id, the manager resolved to the app's id.
    const ada = userNamed(upn(1))!;
    const sam = userNamed(upn(2))!;
    const pia = userNamed(upn(9))!;
    expect(sam).toMatchObject({
      userName: upn(2),
      externalId: uid(2),
      active: true,
      name: { givenName: "Sam2", familyName: "Seller", formatted: "Sam2 Seller" },
      displayName: "Sam2 Seller",
      title: "Account Executive",
      preferredLanguage: "en-US",
      emails: [expect.objectContaining({ type: "work", value: `sam2.seller@${DOMAIN}` })],
    });
    expect(sam.phoneNumbers).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "work", value: "+1 425 555 1002" }), expect.objectContaining({ type: "mobile", value: "+1 206 555 2002" })]),
    );
    expect(sam.addresses).toEqual([expect.objectContaining({ type: "work", streetAddress: "1 Microsoft Way", locality: "Redmond", region: "WA", postalCode: "98052" })]);
    expect(sam[ENTERPRISE]).toMatchObject({ department: "Sales", employeeNumber: "5002", manager: { value: ada.id } });
    expect(ada).toMatchObject({ externalId: uid(1), title: "Chief Executive Officer" });
    expect(ada[ENTERPRISE]?.manager).toBeUndefined();
    // Two levels down the nesting, managed by someone reached through the nesting too.
    expect(userNamed(upn(15))![ENTERPRISE]).toMatchObject({ department: "Platform", manager: { value: pia.id } });
    // No mailbox: no email.
    expect(userNamed(upn(7))!.emails ?? []).toEqual([]);

    // Groups: all four; members are the provisioned users reached through nesting, nobody else.
    expect(ctx.sandbox.groups().map((g) => g.displayName).sort()).toEqual(["App Users", "Finance", "Platform Oncall", "Platform Team"]);
    expect(ctx.sandbox.groups().find((g) => g.displayName === "App Users")!.externalId).toBe(APP_USERS.id);
    expect(appMembers("App Users")).toEqual(range(2, 16).map(upn));
    expect(appMembers("Platform Team")).toEqual(range(9, 16).map(upn));
    expect(appMembers("Platform Oncall")).toEqual([upn(15), upn(16)]);
    expect(appMembers("Finance")).toEqual([upn(2)]);

    // The state: version 4, the users it manages, and what the source kept: the whole tenant and two delta links.
    const state = stateJson();
    expect(state.version).toBe(4);
    expect(Object.keys(state.users).sort()).toEqual(range(1, 16).map(uid).sort());
    expect(state.source).toMatchObject({ kind: "microsoft", users: { deltaLink: expect.stringContaining("$deltatoken="), fullReadAt: expect.any(String) } });
    expect(state.source.users.deltaLink.startsWith(`${fake.url}/v1.0/users/delta?`)).toBe(true);
    expect(state.source.groups.deltaLink.startsWith(`${fake.url}/v1.0/groups/delta?`)).toBe(true);
    expect(state.source.groups.deltaLink).toContain("$deltatoken=");
    expect(Object.keys(state.source.users.records)).toHaveLength(30);
    expect(Object.keys(state.source.groups.records).sort()).toEqual([APP_USERS.id, PLATFORM.id, ONCALL.id, FINANCE.id].sort());
  });

  it("Given a synced tenant, When a title changes, a user is disabled, one deleted, one added and assigned, a manager and group members change, Then sync reads only the changes and the app reflects each, and a run without changes writes nothing", async () => {
    const stateAfterFirst = await initialSync();
    const firstLink = JSON.parse(stateAfterFirst).source.users.deltaLink as string;

    fake.updateUser(uid(3), { jobTitle: "Senior Account Executive" });
    fake.updateUser(uid(4), { accountEnabled: false });
    fake.deleteUser(uid(5));
    fake.updateUser(uid(12), { managerId: uid(1) });
    // Cleared in Entra: the manager link removed (manager@delta with @removed), a title emptied (null).
    fake.updateUser(uid(13), { managerId: undefined });
    fake.updateUser(uid(14), { jobTitle: undefined });
    fake.addUser({ ...graphUser(31), givenName: "Neo", surname: "Newcomer", displayName: "Neo Newcomer", mail: `neo.newcomer@${DOMAIN}`, managerId: uid(9) });
    fake.data.servicePrincipals![APP]!.appRoleAssignedTo.push({ id: "assign-neo-0000000000000000000000000000000", principalId: uid(31), principalType: "User", resourceId: APP });
    // u17 joins Platform Team (and so the app); Finance swaps u02 for u06.
    fake.setGroupMembers(PLATFORM.id, [...range(9, 14).map(uid), ONCALL.id, uid(17)]);
    fake.setGroupMembers(FINANCE.id, [...range(18, 24).map(uid), uid(6)]);

    // plan reads the changes but keeps nothing: the state is as the first sync left it.
    ctx.sandbox.requests.length = 0;
    fake.requests.length = 0;
    const plan = await cli("plan");
    expect(plan.code, plan.stderr).toBe(0);
    expect(kinds(fake.requests)).toEqual(DELTA_READ);
    expect(plan.json.summary).toMatchObject({ create: 2, update: 4, suspend: 1, delete: 1 });
    expect(readState()).toBe(stateAfterFirst);
    expect(sandboxWrites()).toEqual([]);

    fake.requests.length = 0;
    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(0);
    // Only the changes: the delta links kept by the first sync (the same one plan used), no full listing.
    expect(kinds(fake.requests)).toEqual(DELTA_READ);
    expect(fake.requests.some((q) => q.path === "/v1.0/users")).toBe(false);
    expect(usersDeltaTokens(fake.requests)).toEqual([new URL(firstLink).searchParams.get("$deltatoken")]);
    expect(r.json.problems).toEqual([]);

    const userActions = r.json.actions.filter((a: any) => a.type === "User").map((a: any) => [a.op, a.key, a.status]);
    expect(userActions).toEqual(
      expect.arrayContaining([
        ["update", upn(3), "ok"],
        ["suspend", upn(4), "ok"],
        ["delete", upn(5), "ok"],
        ["create", upn(17), "ok"],
        ["create", upn(31), "ok"],
        ["update", upn(12), "ok"],
        ["update", upn(13), "ok"],
        ["update", upn(14), "ok"],
      ]),
    );
    expect(userNamed(upn(13))![ENTERPRISE]?.manager).toBeUndefined();
    expect(userNamed(upn(13))![ENTERPRISE]).toMatchObject({ department: "Platform" });
    expect(userNamed(upn(14))!.title).toBeUndefined();
    expect(userNamed(upn(3))!.title).toBe("Senior Account Executive");
    expect(userNamed(upn(4))!.active).toBe(false);
    expect(userNamed(upn(5))).toBeUndefined();
    expect(userNamed(upn(31))).toMatchObject({ active: true, displayName: "Neo Newcomer", externalId: uid(31) });
    expect(userNamed(upn(31))![ENTERPRISE]).toMatchObject({ manager: { value: userNamed(upn(9))!.id } });
    expect(userNamed(upn(12))![ENTERPRISE]).toMatchObject({ manager: { value: userNamed(upn(1))!.id } });
    expect(userNamed(upn(17))).toMatchObject({ active: true, externalId: uid(17) });
    const expectedApp = [...IN_SCOPE.filter((u) => u !== upn(5)), upn(17), upn(31)].sort();
    expect(appUserNames()).toEqual(expectedApp);
    expect(activeUserNames()).toEqual(expectedApp.filter((u) => u !== upn(4)));

    // Memberships: the disabled and the deleted user left, u17 joined (App Users through Platform Team), Finance swapped.
    expect(appMembers("App Users")).toEqual([...range(2, 16).filter((n) => n !== 4 && n !== 5), 17].map(upn).sort());
    expect(appMembers("Platform Team")).toEqual([...range(9, 16), 17].map(upn).sort());
    expect(appMembers("Finance")).toEqual([upn(6)]);

    // The state moved on: new links, and what was kept follows the tenant.
    const state = stateJson();
    expect(state.source.users.deltaLink).not.toBe(firstLink);
    expect(state.source.users.records[uid(5)]).toBeUndefined();
    expect(state.source.users.records[uid(31)]).toMatchObject({ userPrincipalName: upn(31) });
    expect(state.source.users.records[uid(3)]).toMatchObject({ jobTitle: "Senior Account Executive" });
    expect(state.source.groups.records[FINANCE.id].members).toContain(uid(6));
    expect(state.source.groups.records[FINANCE.id].members).not.toContain(uid(2));

    // Third run: nothing changed; nothing is written to the app; Graph sees the deltas only.
    ctx.sandbox.requests.length = 0;
    fake.requests.length = 0;
    const third = await cli("sync");
    expect(third.code, third.stderr).toBe(0);
    expect(third.json.actions).toEqual([]);
    expect(sandboxWrites()).toEqual([]);
    expect(kinds(fake.requests)).toEqual(DELTA_READ);
  });

  it("Given the delta links have expired (410), When synced, Then it warns, reads everything again, exits 0 and converges; the next run reads deltas again", async () => {
    await initialSync();
    fake.updateUser(uid(3), { jobTitle: "Regional Sales Director" });
    fake.deleteUser(uid(6));
    fake.expireDeltaTokens();

    fake.requests.length = 0;
    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(0);
    const said = `${r.stderr}\n${JSON.stringify(r.json.warnings)}`;
    expect(said).toContain("Graph no longer knows the users delta link");
    expect(said).toContain("Graph no longer knows the groups delta link");
    // The old links were tried, answered 410, and then everything was read.
    expect(kinds(fake.requests)).toEqual([...DELTA_READ, "groups/delta initial", "users", "users/delta latest"].sort());
    expect(r.json.problems).toEqual([]);
    expect(userNamed(upn(3))!.title).toBe("Regional Sales Director");
    expect(userNamed(upn(6))).toBeUndefined();
    expect(appUserNames()).toEqual(IN_SCOPE.filter((u) => u !== upn(6)));
    expect(appMembers("App Users")).toEqual(range(2, 16).filter((n) => n !== 6).map(upn));

    ctx.sandbox.requests.length = 0;
    fake.requests.length = 0;
    const next = await cli("sync");
    expect(next.code, next.stderr).toBe(0);
    expect(kinds(fake.requests)).toEqual(DELTA_READ);
    expect(next.json.actions).toEqual([]);
    expect(sandboxWrites()).toEqual([]);
  });

  it("Given Graph throttles a delta request with 429 and Retry-After: 1, When synced, Then the request is asked again exactly once, stderr says so, and the sync succeeds", async () => {
    await initialSync();
    fake.updateUser(uid(8), { jobTitle: "Sales Manager" });
    fake.injectFault((q) => q.path === "/v1.0/users/delta" && q.query.$deltatoken !== undefined && q.query.$deltatoken !== "latest", {
      status: 429,
      retryAfter: "1",
    });

    fake.requests.length = 0;
    const started = Date.now();
    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Graph: read the changes to users: 429 TooManyRequests; trying again in 1\.\d s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // One retry of ours, no second retry layer (the Graph client's RetryHandler) under it.
    expect(fake.requests.filter((q) => kindOf(q) === "users/delta token")).toHaveLength(2);
    expect(fake.requests.some((q) => q.path === "/v1.0/users")).toBe(false);
    expect(r.json.problems).toEqual([]);
    expect(userNamed(upn(8))!.title).toBe("Sales Manager");
  });

  it("Given the app lacks GroupMember.Read.All, When synced, Then it stops with exit 1 naming the permission and admin consent, and writes nothing to the app or the state", async () => {
    const stateBefore = await initialSync();
    fake.updateUser(uid(3), { jobTitle: "Something New" });
    fake.deleteUser(uid(4));
    ctx.sandbox.requests.length = 0;

    // Application.Read.All granted: the failing reads are exactly the group reads.
    fake.grantedPermissions = ["User.Read.All", "Application.Read.All"];
    for (const json of [true, false]) {
      const r = await cli("sync", json);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`the app lacks the application permission GroupMember.Read.All`);
      expect(r.stderr).toContain("Authorization_RequestDenied");
      expect(r.stderr).toMatch(/Grant admin consent/i);
      expect(r.stderr).toContain(CLIENT_ID);
      if (json) expect(r.json.error).toMatchObject({ kind: "source", hint: expect.stringContaining("GroupMember.Read.All") });
    }

    // Only User.Read.All, as the brief of a fresh app registration: still names GroupMember.Read.All and admin consent.
    fake.grantedPermissions = ["User.Read.All"];
    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/the app lacks the application permission (GroupMember|Application)\.Read\.All/);
    expect(r.stderr).toContain("GroupMember.Read.All");
    expect(r.stderr).toMatch(/admin consent/i);

    expect(sandboxWrites()).toEqual([]);
    expect(readState()).toBe(stateBefore);
    expect(existsSync(`${ctx.ws.state}.lock`)).toBe(false);
  });

  it("Given the users delta fails beyond retries (503, retries 0), When synced, Then it fails closed with exit 4, deprovisions nobody, keeps the old users delta link, and the next run reads those changes again", async () => {
    await writeMicrosoftConfig({ retries: 0 });
    const first = await cli("sync");
    expect(first.code, first.stderr).toBe(0);
    const before = stateJson();

    fake.updateUser(uid(3), { jobTitle: "Senior Account Executive" });
    fake.updateUser(uid(4), { accountEnabled: false });
    fake.deleteUser(uid(5));
    fake.injectFault((q) => q.path === "/v1.0/users/delta" && q.query.$deltatoken !== undefined && q.query.$deltatoken !== "latest", { status: 503 });
    ctx.sandbox.requests.length = 0;
    fake.requests.length = 0;

    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(4);
    expect(r.json.safety.failClosed).toEqual(expect.stringContaining("the directory could not be read completely"));
    expect(r.json.problems).toEqual([
      { location: "users changes", reason: expect.stringMatching(/read the changes to users: 503.*gave up after 1 attempt/) },
    ]);
    // No full read instead: a failed delta is not an expired one.
    expect(fake.requests.some((q) => q.path === "/v1.0/users")).toBe(false);
    // Nobody suspended or deleted, no membership removed.
    expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
    expect(appUserNames()).toEqual(IN_SCOPE);
    expect(appMembers("App Users")).toEqual(range(2, 16).map(upn));
    expect(sandboxWrites().filter((q) => q.method === "DELETE" || q.path.includes("/Groups"))).toEqual([]);

    // The users part of the kept directory is as before, with its link; groups moved on.
    const after = stateJson();
    expect(after.source.users).toEqual(before.source.users);
    expect(after.source.groups.deltaLink).not.toBe(before.source.groups.deltaLink);

    // The next run continues from the old link and sees the changes it missed.
    fake.requests.length = 0;
    const next = await cli("sync");
    expect(next.code, next.stderr).toBe(0);
    expect(usersDeltaTokens(fake.requests)).toEqual([new URL(before.source.users.deltaLink).searchParams.get("$deltatoken")]);
    expect(kinds(fake.requests)).toEqual(DELTA_READ);
    expect(userNamed(upn(3))!.title).toBe("Senior Account Executive");
    expect(userNamed(upn(4))!.active).toBe(false);
    expect(userNamed(upn(5))).toBeUndefined();
    expect(appMembers("App Users")).toEqual(range(2, 16).filter((n) => n !== 4 && n !== 5).map(upn));
  });
});

describe("full reads and long waits", () => {
  it("Given the last full read is older than source.fullSyncEvery, When synced, Then users and groups are read in full again (no delta) and the full-read time moves on", async () => {
    await initialSync();
    // Two days ago, as the state would hold it after a day of incremental runs (default fullSyncEvery: 24h).
    const state = stateJson();
    const longAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    state.source.users.fullReadAt = longAgo;
    state.source.groups.fullReadAt = longAgo;
    writeFileSync(ctx.ws.state, JSON.stringify(state, null, 2));
    fake.updateUser(uid(3), { jobTitle: "Regional Sales Director" });

    fake.requests.length = 0;
    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(fake.requests)).toEqual(FULL_READ);
    expect(userNamed(upn(3))!.title).toBe("Regional Sales Director");
    const after = stateJson();
    expect(Date.parse(after.source.users.fullReadAt)).toBeGreaterThan(Date.parse(longAgo) + 86_400_000);
    expect(Date.parse(after.source.groups.fullReadAt)).toBeGreaterThan(Date.parse(longAgo) + 86_400_000);
  });

  it("Given Graph asks to wait longer than scimsync waits (429, Retry-After: 3600), When synced, Then the read is incomplete, the run fails closed, and the problem names Graph", async () => {
    await initialSync();
    fake.injectFault((q) => q.path === "/v1.0/users/delta" && q.query.$deltatoken !== undefined && q.query.$deltatoken !== "latest", {
      status: 429,
      retryAfter: "3600",
    });
    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(4);
    expect(r.json.problems).toEqual([{ location: "users changes", reason: expect.stringMatching(/read the changes to users: 429 TooManyRequests; .*asked to wait 3600 s/) }]);
    // The retry code is shared by both sources: the message names neither.
    expect(r.json.problems[0].reason).not.toContain("Google");
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------


/** The access tokens the fake issued, as the CLI presented them. */
const issuedTokens = () => bearerTokensOf(fake.requests);

describe("secrets stay out of output and state", () => {
  it("Given a client secret, When plan and sync run with JSON and human output (and once with a wrong secret), Then neither the secret nor any issued token appears in stdout, stderr or the state file", async () => {
    await writeMicrosoftConfig();
    const outputs: string[] = [];
    for (const [command, json] of [["plan", true], ["plan", false], ["sync", true], ["sync", false]] as const) {
      if (command === "sync" && !json) fake.updateUser(uid(2), { accountEnabled: false }); // something to apply in the human run too
      const r = await cli(command, json);
      expect(r.code, r.stderr).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    expect(outputs.join("")).toContain(upn(2));
    expect(userNamed(upn(2))!.active).toBe(false);

    // A wrong secret: Entra's error is shown, never the secret sent.
    const wrong = "Zz9~wrongSecretValue0123456789abcdefGHIJ";
    const refused = await cli("sync", true, { AZURE_CLIENT_SECRET: wrong });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain("AADSTS7000215");
    outputs.push(refused.stdout, refused.stderr);

    const tokens = issuedTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    expect(fake.tokenRequests.filter((t) => t.clientSecret === CLIENT_SECRET).length).toBeGreaterThanOrEqual(4);
    const state = readState();
    expect(JSON.parse(state).source?.kind).toBe("microsoft");
    expectNoSecrets(
      [...outputs, state],
      [CLIENT_SECRET, CLIENT_SECRET.slice(3, 20), wrong, wrong.slice(4, 20), ...tokens, ...tokens.map((t) => t.split(".")[2]!.slice(0, 40))],
    );
  });
});
