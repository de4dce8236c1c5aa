/**
 * Google Workspace end to end: the real CLI (dist/) reads a fake Admin SDK Directory API and
 * Google token endpoint (test/support/fake-google-directory.ts) and provisions into the sandbox
 * SCIM target. Covers the service-account JWT flow, OU and group scope with nesting, a cycle and a
 * guest, suspension / leaving the OU / archiving, throttling, failing closed, a fatal delegation
 * error, and that no secret (key, issued tokens, a configured access token) is ever printed or saved.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runCli, useSandboxAndWorkspace, type CliResult } from "./harness.js";
import {
  makeServiceAccountKey,
  startFakeGoogleDirectory,
  type FakeGoogleDirectory,
  type GoogleDirectoryData,
  type GoogleGroupRecord,
  type GoogleUserRecord,
  type RecordedRequest,
} from "../support/fake-google-directory.js";
import { bearerTokensOf, expectNoSecrets } from "../support/secret-scan.js";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ADMIN = "admin@example.com";
const DIRECTORY = "/admin/directory/v1/";

const ctx = useSandboxAndWorkspace();
let key: ReturnType<typeof makeServiceAccountKey>;
let fake: FakeGoogleDirectory;

beforeAll(() => {
  key = makeServiceAccountKey();
});
beforeEach(async () => {
  fake = await startFakeGoogleDirectory({ data: directory(), publicKeyPem: key.publicKeyPem });
});
afterEach(async () => {
  await fake.close();
});

// ---------------------------------------------------------------------------------------------
// The directory: 29 users in /, /Sales, /Sales/EMEA and /Engineering; four groups.
// ---------------------------------------------------------------------------------------------

interface Person {
  key: string;
  given: string;
  family: string;
  ou: string;
  title: string;
  department: string;
  manager?: string;
}

const idOf = (n: number) => `1048576${String(n).padStart(14, "0")}`;

const PEOPLE: Person[] = [
  { key: "admin", given: "Ada", family: "Admin", ou: "/", title: "IT Administrator", department: "IT" },
  { key: "s01", given: "Zoë", family: "O'Brien", ou: "/Sales", title: "VP Sales", department: "Sales", manager: ADMIN },
  ...["s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09"].map(
    (k, i): Person => ({ key: k, given: `Sam${i + 2}`, family: "Seller", ou: "/Sales", title: "Account Executive", department: "Sales", manager: "s01@example.com" }),
  ),
  { key: "e01", given: "José", family: "García", ou: "/Sales/EMEA", title: "Regional Sales Director", department: "Sales EMEA", manager: "s01@example.com" },
  ...["e02", "e03", "e04", "e05", "e06"].map(
    (k, i): Person => ({ key: k, given: `Eva${i + 2}`, family: "Müller", ou: "/Sales/EMEA", title: "Account Executive", department: "Sales EMEA", manager: "e01@example.com" }),
  ),
  ...Array.from({ length: 12 }, (_, i): Person => {
    const k = `n${String(i + 1).padStart(2, "0")}`;
    return { key: k, given: `Nia${i + 1}`, family: "Coder", ou: "/Engineering", title: "Software Engineer", department: "Engineering", manager: "n01@example.com" };
  }),
];

function userRecord(p: Person, n: number): GoogleUserRecord {
  const user: GoogleUserRecord = {
    id: idOf(n),
    primaryEmail: `${p.key}@example.com`,
    name: { givenName: p.given, familyName: p.family, fullName: `${p.given} ${p.family}` },
    isAdmin: p.key === "admin",
    suspended: false,
    archived: false,
    orgUnitPath: p.ou,
    organizations: [{ name: "Example Corp", title: p.title, department: p.department, costCenter: "CC-1", description: "Full-time", primary: true, type: "work", customType: "" }],
    phones: [
      { value: `+1 415-555-${String(1000 + n)}`, type: "work", primary: true },
      { value: `+1 415-777-${String(1000 + n)}`, type: "mobile" },
    ],
    addresses: [
      {
        type: "work",
        formatted: "500 Market St\n94105 San Francisco\nCA\nUnited States",
        streetAddress: "500 Market St",
        locality: "San Francisco",
        region: "CA",
        postalCode: "94105",
        country: "United States",
        countryCode: "US",
        primary: true,
      },
    ],
    externalIds: [{ value: `E${10000 + n}`, type: "organization" }],
    languages: [{ languageCode: p.ou.startsWith("/Sales/EMEA") ? "en-GB" : "en", preference: "preferred" }],
  };
  if (p.manager) user.relations = [{ value: p.manager, type: "manager" }];
  return user;
}

const member = (k: string) => ({ id: idOf(PEOPLE.findIndex((p) => p.key === k)), email: `${k}@example.com`, type: "USER" as const, role: "MEMBER" as const });

const SALES_ALL = { id: "03x5salesall001", email: "sales-all@example.com", name: "Sales All" };
const EMEA_TEAM = { id: "03x5emeateam002", email: "emea-team@example.com", name: "EMEA Team" };
const GUEST = "guest@partner.example";

function directory(): GoogleDirectoryData {
  const users = PEOPLE.map(userRecord);
  // s09 was archived long ago: it has no account in the app and must not get one.
  users.find((u) => u.primaryEmail === "s09@example.com")!.archived = true;
  const groups: GoogleGroupRecord[] = [
    {
      ...SALES_ALL,
      members: [
        ...["s01", "s02", "s03", "s04", "s05", "s06", "s09", "n01"].map(member),
        { id: EMEA_TEAM.id, email: EMEA_TEAM.email, type: "GROUP", role: "MEMBER" },
        // A guest from another organization (its id is not one of the account's users).
        { id: "109999999999999999999", email: GUEST, type: "USER", role: "MEMBER" },
      ],
    },
    {
      ...EMEA_TEAM,
      // Nested back into Sales All: a cycle.
      members: [...["e01", "e02", "e03", "e04", "e05", "e06"].map(member), { id: SALES_ALL.id, email: SALES_ALL.email, type: "GROUP", role: "MEMBER" }],
    },
    { id: "03x5engineer003", email: "engineering@example.com", name: "Engineering", members: PEOPLE.filter((p) => p.ou === "/Engineering").map((p) => member(p.key)) },
    { id: "03x5leads00004", email: "leads@example.com", name: "Leads", members: ["s01", "e01", "n01"].map(member) },
  ];
  return { users, groups };
}

/** Who the app should hold: in /Sales (or below) and reached from sales-all (s07, s08 are not; n01 is not in the OU; s09 is archived). */
const IN_SCOPE = ["s01", "s02", "s03", "s04", "s05", "s06", "e01", "e02", "e03", "e04", "e05", "e06"].map((k) => `${k}@example.com`).sort();

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

interface ConfigOptions {
  retries?: number;
  extraSource?: string[];
  extra?: string;
  /** Replaces credentials + subject. */
  accessToken?: boolean;
}

async function writeGoogleConfig(options: ConfigOptions = {}): Promise<void> {
  const sa = join(ctx.ws.dir, "sa.json");
  if (!options.accessToken) {
    writeFileSync(sa, key.json);
    chmodSync(sa, 0o600);
  }
  const auth = options.accessToken ? ['  accessToken: "${env:GOOGLE_ACCESS_TOKEN}"'] : ['  credentials: "${file:./sa.json}"', `  subject: ${ADMIN}`];
  await ctx.ws.writeConfig(
    [
      "source:",
      "  type: google",
      ...auth,
      `  apiRoot: ${fake.rootUrl}`,
      ...(options.accessToken ? [] : [`  tokenUrl: ${fake.tokenUrl}`]),
      `  retries: ${options.retries ?? 1}`,
      "  timeoutSeconds: 10",
      ...(options.extraSource ?? []).map((l) => `  ${l}`),
      "target:",
      `  url: ${ctx.sandbox.baseUrl}`,
      '  token: "${env:SCIM_TOKEN}"',
      "  rateLimit: 0",
      "state: { path: ./scimsync.state.json }",
      "scope:",
      "  orgUnits: [/Sales]",
      `  groups: [${SALES_ALL.email}]`,
      "provisionGroups: scoped",
      "safety: { maxDeprovisionPercent: 100 }",
      options.extra ?? "",
    ].join("\n"),
  );
}

const cli = (command: "plan" | "sync", json = true, env: Record<string, string> = {}): Promise<CliResult> =>
  runCli([command, "--config", ctx.ws.config, ...(json ? ["--output", "json"] : [])], { ...ctx.env, ...env });

const userNamed = (userName: string) => ctx.sandbox.users().find((u) => String(u.userName).toLowerCase() === userName) as Record<string, any> | undefined;
const sandboxWrites = () => ctx.sandbox.requests.filter((r) => r.method !== "GET");
const appUserNames = () => ctx.sandbox.users().map((u) => String(u.userName)).sort();
/** The userNames of a group's members in the app. */
function appMembers(displayName: string): string[] {
  const byId = new Map(ctx.sandbox.users().map((u) => [u.id, String(u.userName)]));
  const group = ctx.sandbox.groups().find((g) => g.displayName === displayName);
  return ((group?.members as { value: string }[] | undefined) ?? []).map((m) => byId.get(m.value) ?? `?${m.value}`).sort();
}
/** Directory API requests by kind. */
function kinds(requests: RecordedRequest[]): string[] {
  return requests
    .map((r) => {
      const path = r.path.slice(DIRECTORY.length);
      if (path === "users") return "users.list";
      if (path === "groups") return "groups.list";
      if (/^groups\/[^/]+\/members$/.test(path)) return `members.list ${path.split("/")[1]}`;
      if (/^customer\/[^/]+\/orgunits$/.test(path)) return "orgunits.list";
      return `${r.method} ${path}`;
    })
    .sort();
}
const readState = () => readFileSync(ctx.ws.state, "utf8");

// ---------------------------------------------------------------------------------------------

describe("Google Workspace to the sandbox through the real CLI", () => {
  it("Given a service account, OU and group scope with nesting, a cycle and a guest, When planned and synced twice, Then the app holds exactly the scoped users and groups, and the second run only lists", async () => {
    await writeGoogleConfig();

    // plan: nothing written, and the warnings name the guest and the cycle.
    const plan = await cli("plan");
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json.summary).toMatchObject({ create: IN_SCOPE.length, update: 0, suspend: 0, delete: 0 });
    expect(plan.json.warnings).toEqual(
      expect.arrayContaining([
        `1 group member(s) are outside this Google Workspace account and are not provisioned: ${GUEST}`,
        expect.stringMatching(/^group nesting cycle ignored: (Sales All -> EMEA Team -> Sales All|EMEA Team -> Sales All -> EMEA Team)$/),
      ]),
    );
    expect(plan.json.problems).toEqual([]);
    expect(sandboxWrites()).toEqual([]);
    expect(existsSync(ctx.ws.state)).toBe(false);

    // The JWT flow: one token request per run, signed with the key, for the admin, four read-only scopes.
    expect(fake.tokenRequests).toHaveLength(1);
    expect(fake.tokenRequests[0]).toMatchObject({ signatureValid: true, claims: expect.objectContaining({ iss: key.key.client_email, sub: ADMIN }) });
    expect(String(fake.tokenRequests[0]!.claims.scope).split(" ").sort()).toEqual([
      "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
      "https://www.googleapis.com/auth/admin.directory.group.readonly",
      "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
      "https://www.googleapis.com/auth/admin.directory.user.readonly",
    ]);
    // users.list asks for what the generic preset maps, plus identity, state and the OU.
    const usersList = fake.requests.find((r) => r.path === `${DIRECTORY}users`)!;
    expect(usersList.query).toMatchObject({ customer: "my_customer", projection: "full", maxResults: "500" });
    expect(usersList.query.fields).toBe(
      "kind,nextPageToken,users(addresses,aliases,archived,externalIds,id,languages,name,orgUnitPath,organizations,phones,primaryEmail,relations,suspended)",
    );
    // Member lists only of the scope group and the group nested in it.
    expect(kinds(fake.requests)).toEqual(["groups.list", `members.list ${EMEA_TEAM.id}`, `members.list ${SALES_ALL.id}`, "orgunits.list", "users.list"]);

    const first = await cli("sync");
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.summary).toMatchObject({ create: IN_SCOPE.length, failed: 0, groups: { create: 2 } });
    expect(first.json.warnings).toEqual(expect.arrayContaining([expect.stringContaining(GUEST)]));
    expect(appUserNames()).toEqual(IN_SCOPE);

    // Mapped attributes (generic preset): userName = primaryEmail, externalId = Google id, the manager resolved to the app's id.
    const zoe = userNamed("s01@example.com")!;
    const sam = userNamed("s02@example.com")!;
    expect(sam).toMatchObject({
      userName: "s02@example.com",
      externalId: idOf(2),
      active: true,
      name: { givenName: "Sam2", familyName: "Seller", formatted: "Sam2 Seller" },
      displayName: "Sam2 Seller",
      title: "Account Executive",
      preferredLanguage: "en",
      emails: [expect.objectContaining({ type: "work", value: "s02@example.com" })],
    });
    expect(sam.phoneNumbers).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "work", value: "+1 415-555-1002" }), expect.objectContaining({ type: "mobile", value: "+1 415-777-1002" })]),
    );
    expect(sam.addresses).toEqual([expect.objectContaining({ type: "work", locality: "San Francisco", postalCode: "94105", country: "US" })]);
    expect(sam[ENTERPRISE]).toMatchObject({ department: "Sales", employeeNumber: "E10002", manager: { value: zoe.id } });
    expect(zoe).toMatchObject({ externalId: idOf(1), name: { givenName: "Zoë", familyName: "O'Brien" }, displayName: "Zoë O'Brien", title: "VP Sales" });
    // Zoë's manager (the admin) is out of scope: left as the app has it (none).
    expect(zoe[ENTERPRISE]?.manager).toBeUndefined();
    expect(userNamed("e02@example.com")![ENTERPRISE]).toMatchObject({ department: "Sales EMEA", manager: { value: userNamed("e01@example.com")!.id } });
    expect(userNamed("e02@example.com")!.preferredLanguage).toBe("en-GB");

    // Groups: the scope group and the one nested in it; the cycle makes each contain the other's people.
    expect(ctx.sandbox.groups().map((g) => g.displayName).sort()).toEqual(["EMEA Team", "Sales All"]);
    expect(ctx.sandbox.groups().find((g) => g.displayName === "Sales All")!.externalId).toBe(SALES_ALL.id);
    expect(appMembers("Sales All")).toEqual(IN_SCOPE);
    expect(appMembers("EMEA Team")).toEqual(IN_SCOPE);

    const state = JSON.parse(readState());
    expect(Object.keys(state.users).sort()).toEqual(IN_SCOPE.map((u) => idOf(PEOPLE.findIndex((p) => `${p.key}@example.com` === u))).sort());

    // Second run: nothing to do, nothing written, and Google sees the listings only.
    ctx.sandbox.requests.length = 0;
    const before = fake.requests.length;
    const tokensBefore = fake.tokenRequests.length;
    const second = await cli("sync");
    expect(second.code, second.stderr).toBe(0);
    expect(second.json.actions).toEqual([]);
    expect(sandboxWrites()).toEqual([]);
    const secondRun = fake.requests.slice(before);
    expect(kinds(secondRun)).toEqual(["groups.list", `members.list ${EMEA_TEAM.id}`, `members.list ${SALES_ALL.id}`, "orgunits.list", "users.list"]);
    expect(secondRun.every((r) => r.method === "GET")).toBe(true);
    expect(fake.tokenRequests.length - tokensBefore).toBe(1);
  });

  it("Given synced users, When one is suspended in Google, one moves out of the scoped OU and one is archived, Then the first two are suspended in the app and the archived one is left alone", async () => {
    await writeGoogleConfig();
    const first = await cli("sync");
    expect(first.code, first.stderr).toBe(0);
    expect(appUserNames()).toEqual(IN_SCOPE);

    const user = (email: string) => fake.data.users.find((u) => u.primaryEmail === email)!;
    user("s02@example.com").suspended = true;
    user("s03@example.com").orgUnitPath = "/Engineering";
    user("s04@example.com").archived = true;
    ctx.sandbox.requests.length = 0;

    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(0);
    const userActions = r.json.actions.filter((a: any) => a.type === "User").map((a: any) => [a.op, a.key, a.reason, a.status]);
    expect(userActions).toEqual(
      expect.arrayContaining([
        ["suspend", "s02@example.com", expect.stringMatching(/suspended/), "ok"],
        ["suspend", "s03@example.com", expect.stringMatching(/out ?of ?scope/i), "ok"],
      ]),
    );
    expect(userActions).toHaveLength(2);
    // s04 and s09 (archived from the start, never provisioned).
    expect(r.json.warnings).toEqual(expect.arrayContaining(["2 archived user(s) are left as they are in the app (source.archived: ignore)"]));
    expect(userNamed("s02@example.com")!.active).toBe(false);
    expect(userNamed("s03@example.com")!.active).toBe(false);
    // Archived: neither provisioned nor deprovisioned; no request touched the account.
    const s04 = userNamed("s04@example.com")!;
    expect(s04.active).toBe(true);
    expect(ctx.sandbox.requests.filter((q) => q.method !== "GET" && q.path.endsWith(`/Users/${s04.id}`))).toEqual([]);
    expect(appUserNames()).toEqual(IN_SCOPE);
    // The leavers' memberships go with their accounts; the archived user keeps theirs.
    const remaining = IN_SCOPE.filter((u) => u !== "s02@example.com" && u !== "s03@example.com");
    expect(appMembers("Sales All")).toEqual(remaining);
    expect(appMembers("EMEA Team")).toEqual(remaining);
    expect(appMembers("Sales All")).toContain("s04@example.com");

    const state = JSON.parse(readState());
    expect(state.users[idOf(2)].suspendedAt).toEqual(expect.any(String));
    expect(state.users[idOf(3)].suspendedAt).toEqual(expect.any(String));
  });

  it("Given Google throttles with 403 userRateLimitExceeded and 429, When synced, Then the reads are retried, stderr says so, and the sync succeeds", async () => {
    await writeGoogleConfig({ retries: 2 });
    fake.injectFault(/\/users$/, { status: 403, reason: "userRateLimitExceeded" });
    fake.injectFault(new RegExp(`/groups/${SALES_ALL.id}/members$`), { status: 429, retryAfter: "1" });

    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Google: list users: 403 userRateLimitExceeded; trying again in \d+\.\d s/);
    expect(r.stderr).toMatch(new RegExp(`Google: list group members of ${SALES_ALL.email}: 429 rateLimitExceeded; trying again in \\d+\\.\\d s`));
    expect(r.json.problems).toEqual([]);
    expect(appUserNames()).toEqual(IN_SCOPE);
    expect(appMembers("Sales All")).toEqual(IN_SCOPE);
    // Each throttled request was asked again, once.
    expect(fake.requests.filter((q) => q.path === `${DIRECTORY}users`)).toHaveLength(2);
    expect(fake.requests.filter((q) => q.path === `${DIRECTORY}groups/${SALES_ALL.id}/members`)).toHaveLength(2);
  });

  it("Given a member list that fails beyond retries, When synced, Then the run fails closed (exit 4): updates go ahead, no one is suspended, no membership removed, the failure listed", async () => {
    await writeGoogleConfig({ retries: 0 });
    expect((await cli("sync")).code).toBe(0);
    const stateBefore = JSON.parse(readState());

    const user = (email: string) => fake.data.users.find((u) => u.primaryEmail === email)!;
    user("s02@example.com").suspended = true;
    (user("s05@example.com").organizations![0] as Record<string, unknown>).title = "Senior Account Executive";
    fake.injectFault(new RegExp(`/groups/${EMEA_TEAM.id}/members$`), { status: 503 });
    ctx.sandbox.requests.length = 0;

    const r = await cli("sync");
    expect(r.code, r.stderr).toBe(4);
    expect(r.json.safety.failClosed).toContain("the directory could not be read completely");
    expect(r.json.problems).toEqual([
      { location: `group ${EMEA_TEAM.email}`, reason: expect.stringMatching(/its members could not be read: list group members of emea-team@example.com: 503 .*gave up after 1 attempt/) },
    ]);
    expect(r.json.actions.map((a: any) => [a.op, a.type, a.key, a.status])).toEqual([["update", "User", "s05@example.com", "ok"]]);
    expect(userNamed("s05@example.com")!.title).toBe("Senior Account Executive");
    // Nobody suspended (s02 is suspended in Google; EMEA's people look out of scope without their list).
    expect(ctx.sandbox.users().every((u) => u.active === true)).toBe(true);
    expect(appUserNames()).toEqual(IN_SCOPE);
    expect(appMembers("Sales All")).toEqual(IN_SCOPE);
    expect(appMembers("EMEA Team")).toEqual(IN_SCOPE);
    expect(sandboxWrites().filter((q) => q.path.includes("/Groups") || q.method === "DELETE")).toEqual([]);
    expect(r.json.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/could not be read completely.*no user is suspended or deleted in this run, no group deleted and no membership removed/)]),
    );
    // No deprovisioning timer started for anyone.
    const state = JSON.parse(readState());
    for (const [id, record] of Object.entries<any>(state.users)) expect(record.suspendedAt, id).toBe(stateBefore.users[id].suspendedAt);

    // The human report of the same situation lists the failure too (plan exits 0: it applies nothing).
    fake.injectFault(new RegExp(`/groups/${EMEA_TEAM.id}/members$`), { status: 503 });
    const human = await cli("plan", false);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`group ${EMEA_TEAM.email}: its members could not be read`);
    expect(human.stdout).toContain("no user is suspended or deleted in this run");
    // s02 is suspended in Google and still active in the app: the report must not say all is in order.
    // Fails today: src/ui/human-report.ts ignores safety.failClosed and ends a run without actions
    // with "No changes: the target matches the directory." (see the report of this test's author).
    expect(human.stdout).not.toContain("the target matches the directory");
  });

  it("Given domain-wide delegation lacks a scope, When synced, Then it stops with exit 1 naming domain-wide delegation and the client id, and writes nothing", async () => {
    await writeGoogleConfig();
    expect((await cli("sync")).code).toBe(0);
    const stateBefore = readState();
    fake.allowedScopes = ["https://www.googleapis.com/auth/admin.directory.user.readonly"];
    ctx.sandbox.requests.length = 0;
    const directoryRequests = fake.requests.length;

    for (const json of [false, true]) {
      const r = await cli("sync", json);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`the service account ${key.key.client_email} is not authorized for domain-wide delegation`);
      expect(r.stderr).toContain("unauthorized_client");
      expect(r.stderr).toContain(`client id ${key.key.client_id}`);
      expect(r.stderr).toContain("https://admin.google.com/ac/owl/domainwidedelegation");
      if (json) expect(r.json.error).toMatchObject({ kind: "source", hint: expect.stringContaining(key.key.client_id!) });
      expectNoSecrets([r.stdout, r.stderr], privateKeyPieces(key.privateKeyPem));
    }
    expect(ctx.sandbox.requests).toEqual([]);
    expect(fake.requests.length).toBe(directoryRequests);
    expect(readState()).toBe(stateBefore);
    expect(existsSync(`${ctx.ws.state}.lock`)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

/** Every 40-character slice of the key's base64 body: finding any one anywhere means a leak. */
function privateKeyPieces(pem: string): string[] {
  const body = pem
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("-----"))
    .join("");
  return Array.from({ length: body.length - 39 }, (_, i) => body.slice(i, i + 40));
}


const issuedTokens = () => bearerTokensOf(fake.requests);

describe("secrets stay out of output and state", () => {
  it("Given a service account key, When plan and sync run with JSON and human output, Then no part of the key or of an issued token appears in stdout, stderr or the state file", async () => {
    await writeGoogleConfig();
    const outputs: string[] = [];
    for (const [command, json] of [["plan", true], ["plan", false], ["sync", true], ["sync", false]] as const) {
      if (command === "sync" && !json) {
        // Something left to apply in the human run too.
        fake.data.users.find((u) => u.primaryEmail === "s02@example.com")!.suspended = true;
      }
      const r = await cli(command, json);
      expect(r.code, r.stderr).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    expect(outputs.join("")).toContain("s02@example.com");
    const tokens = issuedTokens();
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    expect(tokens.every((t) => t.startsWith("ya29.fake-"))).toBe(true);
    expectNoSecrets([...outputs, readState()], [...privateKeyPieces(key.privateKeyPem), ...tokens, ...tokens.map((t) => t.slice(10, 30))]);
    expect(readState()).not.toContain(key.key.private_key_id);
  });

  it("Given source.accessToken from the environment, When plan and sync run, and when Google later rejects it, Then the token never appears in output or state", async () => {
    const token = `ya29.e2e-${randomBytes(24).toString("base64url")}`;
    fake.acceptToken(token);
    await writeGoogleConfig({ accessToken: true });
    const env = { GOOGLE_ACCESS_TOKEN: token };
    const outputs: string[] = [];

    const plan = await cli("plan", true, env);
    expect(plan.code, plan.stderr).toBe(0);
    const sync = await cli("sync", false, env);
    expect(sync.code, sync.stderr).toBe(0);
    outputs.push(plan.stdout, plan.stderr, sync.stdout, sync.stderr);
    expect(appUserNames()).toEqual(IN_SCOPE);
    expect(fake.tokenRequests).toEqual([]);
    expect(fake.requests.every((r) => r.authorization === `Bearer ${token}`)).toBe(true);

    // The token expires: a fatal error, which must not quote the request it came from.
    fake.revokeTokens();
    const expired = await cli("sync", true, env);
    expect(expired.code, expired.stderr).toBe(1);
    expect(expired.stderr).toContain("Google rejected source.accessToken (401)");
    outputs.push(expired.stdout, expired.stderr);

    expectNoSecrets([...outputs, readState()], [token, token.slice(9, 29), token.slice(-20)]);
  });
});
