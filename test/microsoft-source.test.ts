/**
 * The Microsoft Entra ID source: the real Graph client and @azure/identity (client secret)
 * against a local fake of Graph and the identity platform, over HTTPS with a test CA.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MicrosoftSource, type MicrosoftSourceOptions } from "../src/sources/microsoft/microsoft-source.js";
import { graphUserFields } from "../src/sources/microsoft/attributes.js";
import { SourceError } from "../src/errors.js";
import type { SourceCache } from "../src/core/ports.js";
import type { GraphCache } from "../src/sources/microsoft/graph-cache.js";
import { startFakeGraph, type FakeGraph, type GraphGroupRecord, type GraphTenantData, type GraphUserRecord } from "./support/fake-graph.js";

const CLIENT_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const SECRET = "test-secret-value-42";
const APP = "5c1a0e7d-0000-4000-8000-00000000a11a";
const T0 = new Date("2026-11-22T10:00:00Z");
const HOUR = 3_600_000;

let fake: FakeGraph | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

let counter = 0;
const guid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function aUser(name: string, overrides: Partial<GraphUserRecord> = {}): GraphUserRecord {
  counter++;
  return {
    id: guid(counter),
    userPrincipalName: `${name}@contoso.example`,
    mail: `${name}@contoso.example`,
    givenName: name.charAt(0).toUpperCase() + name.slice(1),
    surname: "Tester",
    displayName: `${name} Tester`,
    accountEnabled: true,
    ...overrides,
  };
}

function aGroup(name: string, members: string[]): GraphGroupRecord {
  counter++;
  return { id: guid(1000 + counter), displayName: name, mail: `${name.toLowerCase()}@contoso.example`, members };
}

async function start(data: GraphTenantData, pageSize?: number): Promise<FakeGraph> {
  fake = await startFakeGraph({ data, clientSecret: SECRET, clientId: CLIENT_ID, ...(pageSize ? { pageSize } : {}) });
  return fake;
}

function sourceFor(server: FakeGraph, overrides: Partial<MicrosoftSourceOptions> = {}): { source: MicrosoftSource; sleeps: number[]; retries: string[] } {
  const sleeps: number[] = [];
  const retries: string[] = [];
  let clock = 1_000_000;
  const source = new MicrosoftSource({
    connection: {
      tenantId: server.tenantId,
      clientId: CLIENT_ID,
      credential: { kind: "secret", clientSecret: SECRET },
      authorityHost: server.url,
      authorityHostOverridden: true,
      graphUrl: server.url,
      graphResource: "https://graph.microsoft.com",
    },
    userFields: graphUserFields(["userName", "email", "givenName", "familyName", "displayName", "title", "department", "manager", "addresses", "phoneNumbers"]),
    readGroups: false,
    fullSyncEveryMs: 24 * HOUR,
    concurrency: 4,
    timeoutMs: 10_000,
    retries: 3,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    clock: () => clock,
    random: () => 0.5,
    onRetry: (what) => retries.push(what),
    ...overrides,
  });
  return { source, sleeps, retries };
}

/** What the source kept, read as the source reads it. */
const cacheOf = (cache: SourceCache | undefined): GraphCache => cache as unknown as GraphCache;

const graphRequests = (server: FakeGraph, path: string | RegExp) =>
  server.requests.filter((r) => (typeof path === "string" ? r.path === path : path.test(r.path)));

describe("MicrosoftSource: full read", () => {
  it("Given a tenant, When read the first time, Then users come from /users with $select, $top=999 and the manager expanded, paging nextLink, and a delta link is kept", async () => {
    const boss = aUser("boss");
    const users = [boss, ...Array.from({ length: 6 }, (_, i) => aUser(`u${i}`, { managerId: boss.id, jobTitle: "Engineer", department: "R&D" }))];
    const server = await start({ users, groups: [] }, 3);

    const snapshot = await sourceFor(server).source.read({ now: T0 });

    expect(snapshot.complete).toBe(true);
    expect(snapshot.users).toHaveLength(7);
    expect(snapshot.users.find((u) => u.id === users[1]!.id)).toMatchObject({ userName: "u0@contoso.example", manager: boss.id, title: "Engineer", active: true });
    const lists = graphRequests(server, "/v1.0/users");
    expect(lists).toHaveLength(3);
    expect(lists[0]!.query).toMatchObject({ $top: "999", $expand: "manager($select=id)" });
    expect(lists[0]!.query.$select!.split(",").sort()).toEqual(
      ["accountEnabled", "businessPhones", "city", "country", "department", "displayName", "faxNumber", "givenName", "id", "jobTitle", "mail", "mobilePhone", "postalCode", "state", "streetAddress", "surname", "userPrincipalName"].sort(),
    );
    const latest = graphRequests(server, "/v1.0/users/delta");
    expect(latest).toHaveLength(1);
    expect(latest[0]!.query.$deltatoken).toBe("latest");
    expect(snapshot.cache).toMatchObject({ kind: "microsoft", users: { fullReadAt: T0.toISOString() } });
    expect(Object.keys(cacheOf(snapshot.cache).users.records)).toHaveLength(7);
  });

  it("Given accountEnabled false, addresses and phones, When read, Then the user is inactive and the attributes land on the model", async () => {
    const ann = aUser("ann", {
      accountEnabled: false,
      streetAddress: "1 Main St",
      city: "Seattle",
      state: "WA",
      postalCode: "98101",
      country: "United States",
      businessPhones: ["+1 206 555 0100"],
      mobilePhone: "+1 206 555 0199",
      preferredLanguage: "en-US",
      employeeId: "E-7",
    });
    const server = await start({ users: [ann], groups: [] });
    const fields = graphUserFields(["userName", "addresses", "phoneNumbers", "preferredLanguage", "employeeNumber"]);

    const snapshot = await sourceFor(server, { userFields: fields }).source.read({ now: T0 });

    expect(snapshot.users[0]).toEqual({
      id: ann.id,
      userName: "ann@contoso.example",
      active: false,
      employeeNumber: "E-7",
      preferredLanguage: "en-US",
      addresses: [{ type: "work", streetAddress: "1 Main St", locality: "Seattle", region: "WA", postalCode: "98101", country: "United States", primary: true }],
      phoneNumbers: [
        { type: "work", value: "+1 206 555 0100", primary: true },
        { type: "mobile", value: "+1 206 555 0199" },
      ],
    });
  });
});

describe("MicrosoftSource: incremental reads", () => {
  it("Given a kept delta link, When users change, are added and deleted, Then the next read asks only for the changes and the snapshot is whole", async () => {
    const [ann, bob, cy] = [aUser("ann"), aUser("bob"), aUser("cy")];
    const server = await start({ users: [ann, bob, cy], groups: [] });
    const { source } = sourceFor(server);
    const first = await source.read({ now: T0 });

    server.updateUser(ann.id, { jobTitle: "Director" });
    server.updateUser(bob.id, { accountEnabled: false });
    server.deleteUser(cy.id);
    const dee = aUser("dee");
    server.addUser(dee);
    server.requests.length = 0;
    const second = await source.read({ now: new Date(T0.getTime() + HOUR), cache: first.cache! });

    expect(source.lastRead).toEqual({ users: "changes" });
    expect(server.requests.map((r) => r.path)).toEqual(["/v1.0/users/delta"]);
    expect(server.requests[0]!.query.$deltatoken).toBeDefined();
    const byId = Object.fromEntries(second.users.map((u) => [u.id, u]));
    expect(Object.keys(byId).sort()).toEqual([ann.id, bob.id, dee.id].sort());
    expect(byId[ann.id]!.title).toBe("Director");
    expect(byId[bob.id]!.active).toBe(false);
    expect(byId[dee.id]!.userName).toBe("dee@contoso.example");
    expect(second.complete).toBe(true);
    // The full-read time is kept: incremental reads do not postpone the next full one.
    expect(cacheOf(second.cache).users.fullReadAt).toBe(T0.toISOString());
  });

  it("Given no change, When read again, Then one delta request and the cache does not grow", async () => {
    const server = await start({ users: [aUser("ann"), aUser("bob")], groups: [] });
    const { source } = sourceFor(server);
    const first = await source.read({ now: T0 });
    server.requests.length = 0;

    const second = await source.read({ now: new Date(T0.getTime() + HOUR), cache: first.cache! });

    expect(server.requests).toHaveLength(1);
    expect(JSON.stringify(second.cache).length).toBeLessThanOrEqual(JSON.stringify(first.cache).length + 200);
  });

  it("Given churn over many runs, When users come and go, Then the cache holds only who is there", async () => {
    const server = await start({ users: [aUser("keep")], groups: [] });
    const { source } = sourceFor(server);
    let cache: SourceCache | undefined = (await source.read({ now: T0 })).cache;
    const baseline = JSON.stringify(cache).length;
    for (let run = 1; run <= 5; run++) {
      const temp = Array.from({ length: 20 }, (_, i) => aUser(`temp${run}x${i}`));
      for (const u of temp) server.addUser(u);
      cache = (await source.read({ now: new Date(T0.getTime() + run * HOUR), cache: cache! })).cache;
      for (const u of temp) server.deleteUser(u.id, { permanent: run % 2 === 0 });
      cache = (await source.read({ now: new Date(T0.getTime() + run * HOUR + 1000), cache: cache! })).cache;
    }
    const records = cacheOf(cache).users.records;
    expect(Object.keys(records)).toHaveLength(1);
    expect(JSON.stringify(cache).length).toBeLessThan(baseline + 500);
  });

  it("Given an expired delta link (410), When read, Then it reads everything again and says so", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    const { source } = sourceFor(server);
    const first = await source.read({ now: T0 });
    server.expireDeltaTokens();

    const second = await source.read({ now: new Date(T0.getTime() + HOUR), cache: first.cache! });

    expect(source.lastRead).toEqual({ users: "full" });
    expect(second.complete).toBe(true);
    expect(second.warnings).toEqual(["Graph no longer knows the users delta link (it expires after about 7 days): reading all users again"]);
    expect(cacheOf(second.cache).users.fullReadAt).toBe(new Date(T0.getTime() + HOUR).toISOString());
  });

  it("Given fullSyncEvery has passed, When read, Then it reads everything even with a good delta link", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    const { source } = sourceFor(server, { fullSyncEveryMs: 24 * HOUR });
    const first = await source.read({ now: T0 });

    await source.read({ now: new Date(T0.getTime() + 23 * HOUR), cache: first.cache! });
    expect(source.lastRead.users).toBe("changes");
    await source.read({ now: new Date(T0.getTime() + 24 * HOUR), cache: first.cache! });
    expect(source.lastRead.users).toBe("full");
  });

  it("Given a cache made for other attributes, When read, Then it is not continued", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    const first = await sourceFor(server).source.read({ now: T0 });
    const { source } = sourceFor(server, { userFields: graphUserFields(["userName", "extra.officeLocation"]) });

    await source.read({ now: new Date(T0.getTime() + HOUR), cache: first.cache! });

    expect(source.lastRead.users).toBe("full");
  });

  it("Given the delta fails beyond retries, When read, Then the kept directory is used, the read is incomplete and the cache is not moved on", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    const { source } = sourceFor(server, { retries: 1 });
    const first = await source.read({ now: T0 });
    server.injectFault(/\/users\/delta/, { status: 503 }, 5);

    const second = await source.read({ now: new Date(T0.getTime() + HOUR), cache: first.cache! });

    expect(second.complete).toBe(false);
    expect(second.users).toHaveLength(1);
    expect(second.cache).toEqual(first.cache);
    expect(second.problems[0]).toMatchObject({ location: "users changes" });
  });
});

describe("MicrosoftSource: groups, assignments and filter", () => {
  it("Given groups with nesting, When read and then changed, Then direct members come from groups delta and changes apply", async () => {
    const [ann, bob, cy] = [aUser("ann"), aUser("bob"), aUser("cy")];
    const inner = aGroup("Inner", [bob.id]);
    const outer = aGroup("Outer", [ann.id, inner.id]);
    const server = await start({ users: [ann, bob, cy], groups: [outer, inner] });
    const { source } = sourceFor(server, { readGroups: true });

    const first = await source.read({ now: T0 });
    const byName = (s: typeof first, name: string) => s.groups.find((g) => g.displayName === name)!;
    expect(byName(first, "Outer").members.sort()).toEqual([ann.id, inner.id].sort());
    expect(byName(first, "Outer").email).toBe("outer@contoso.example");
    expect(graphRequests(server, "/v1.0/groups/delta")[0]!.query.$select).toBe("displayName,mail,description,visibility,members");

    server.setGroupMembers(inner.id, [cy.id]);
    server.updateGroup(outer.id, { displayName: "Outer Renamed" });
    server.requests.length = 0;
    const second = await source.read({ now: new Date(T0.getTime() + HOUR), cache: first.cache! });

    expect(source.lastRead).toEqual({ users: "changes", groups: "changes" });
    expect(byName(second, "Inner").members).toEqual([cy.id]);
    expect(byName(second, "Outer Renamed").members.sort()).toEqual([ann.id, inner.id].sort());
  });

  it("Given an app assigned to a user and a nested group, When read, Then users in scope are the assigned user and the group's transitive members", async () => {
    const [ann, bob, cy, dee] = [aUser("ann"), aUser("bob"), aUser("cy"), aUser("dee")];
    const inner = aGroup("Inner", [cy.id]);
    const outer = aGroup("Outer", [bob.id, inner.id]);
    inner.members.push(outer.id); // a cycle: Graph's transitive members end anyway
    const server = await start({
      users: [ann, bob, cy, dee],
      groups: [outer, inner],
      servicePrincipals: {
        [APP]: {
          appRoleAssignedTo: [
            { id: "a1", principalId: ann.id, principalType: "User", resourceId: APP },
            { id: "a2", principalId: outer.id, principalType: "Group", resourceId: APP },
          ],
        },
      },
    });

    const snapshot = await sourceFor(server, { assignedToApp: APP }).source.read({ now: T0 });

    expect(snapshot.inScopeIds!.sort()).toEqual([ann.id, bob.id, cy.id].sort());
    expect(graphRequests(server, `/v1.0/servicePrincipals/${APP}/appRoleAssignedTo`)).toHaveLength(1);
    expect(graphRequests(server, `/v1.0/groups/${outer.id}/transitiveMembers/microsoft.graph.user`)).toHaveLength(1);
  });

  it("Given scope.filter, When read, Then only matching users are in scope, read with ConsistencyLevel eventual", async () => {
    const [ann, bob] = [aUser("ann"), aUser("bob", { accountEnabled: false })];
    const server = await start({ users: [ann, bob], groups: [] });

    const snapshot = await sourceFor(server, { filter: "accountEnabled eq true" }).source.read({ now: T0 });

    expect(snapshot.inScopeIds).toEqual([ann.id]);
    const filtered = server.requests.find((r) => r.query.$filter !== undefined)!;
    expect(filtered.query).toMatchObject({ $filter: "accountEnabled eq true", $select: "id" });
    expect(filtered.consistencyLevel).toBe("eventual");
  });
});

describe("MicrosoftSource: throttling and errors", () => {
  it("Given 429 with Retry-After, When read, Then it waits as asked, once (no stacked retry handler), and recovers", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    server.injectFault((r) => r.path === "/v1.0/users", { status: 429, retryAfter: "3" }, 1);
    const { source, sleeps, retries } = sourceFor(server);

    const snapshot = await source.read({ now: T0 });

    expect(snapshot.complete).toBe(true);
    expect(sleeps).toEqual([3000]);
    expect(retries).toEqual(["list users: 429 TooManyRequests"]);
    expect(graphRequests(server, "/v1.0/users")).toHaveLength(2);
  });

  it("Given the app lacks User.Read.All, When read, Then it stops naming the permission and the consent step", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    server.grantedPermissions = ["GroupMember.Read.All"];

    const error = (await sourceFor(server).source.read({ now: T0 }).catch((e: unknown) => e)) as SourceError;

    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toMatch(/^cannot list users: the app lacks the application permission User\.Read\.All \(Graph says: Authorization_RequestDenied/);
    expect(error.hint).toContain("Grant admin consent");
  });

  it("Given a wrong client secret, When read, Then it stops with Entra's code explained and no secret in the message", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    const { source } = sourceFor(server, {
      connection: {
        tenantId: server.tenantId,
        clientId: CLIENT_ID,
        credential: { kind: "secret", clientSecret: "wrong-secret-value" },
        authorityHost: server.url,
        authorityHostOverridden: true,
        graphUrl: server.url,
        graphResource: "https://graph.microsoft.com",
      },
    });

    const error = (await source.read({ now: T0 }).catch((e: unknown) => e)) as SourceError;

    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toMatch(/AADSTS7000215/);
    expect(error.hint).toContain("copy the secret's Value");
    expect(`${error.message} ${error.hint}`).not.toContain("wrong-secret-value");
  });
});

describe("MicrosoftSource: answers that must not pass for a directory", () => {
  it("Given an app nobody is assigned to, When read, Then the read is incomplete instead of everyone out of scope", async () => {
    const server = await start({ users: [aUser("ann")], groups: [], servicePrincipals: { [APP]: { appRoleAssignedTo: [] } } });

    const snapshot = await sourceFor(server, { assignedToApp: APP }).source.read({ now: T0 });

    expect(snapshot.complete).toBe(false);
    expect(snapshot.problems).toEqual([
      { location: "scope.assignedToApp", reason: `no user or group is assigned to the app ${APP}; check scope.assignedToApp and the app's Users and groups` },
    ]);
  });

  it("Given a 503 from a gateway with a non-JSON body and Retry-After, When read, Then Retry-After is honoured", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    server.injectFault((r) => r.path === "/v1.0/users", { status: 503, retryAfter: "7", body: "<html>busy</html>" }, 1);
    const { source, sleeps } = sourceFor(server);

    const snapshot = await source.read({ now: T0 });

    expect(snapshot.complete).toBe(true);
    expect(sleeps).toEqual([7000]);
  });

  it("Given a 200 whose body is not JSON, When read, Then it is retried and the read ends incomplete, not fatal", async () => {
    const server = await start({ users: [aUser("ann")], groups: [] });
    server.injectFault((r) => r.path === "/v1.0/users", { status: 200, body: "<html>sign in</html>" }, 10);

    const snapshot = await sourceFor(server, { retries: 1 }).source.read({ now: T0 });

    expect(snapshot.complete).toBe(false);
    expect(snapshot.problems[0]!.reason).toMatch(/not JSON/);
  });

  it("Given a hidden-membership group, When read, Then it is left out with a warning rather than read as empty", async () => {
    const ann = aUser("ann");
    const open = aGroup("Open", [ann.id]);
    const secret = { ...aGroup("Secret", [ann.id]), visibility: "HiddenMembership" };
    const server = await start({ users: [ann], groups: [open, secret] });

    const snapshot = await sourceFor(server, { readGroups: true }).source.read({ now: T0 });

    expect(snapshot.groups.map((g) => g.displayName)).toEqual(["Open"]);
    expect(snapshot.warnings).toEqual(["1 group(s) have hidden membership and are left out: Secret"]);
  });

  it("Given a user record without accountEnabled, When read, Then the user is reported and protected, not taken for enabled", async () => {
    const ann = aUser("ann");
    const server = await start({ users: [ann], groups: [] });
    const first = await sourceFor(server).source.read({ now: T0 });
    const cache = cacheOf(first.cache);
    delete cache.users.records[ann.id]!.accountEnabled;

    const second = await sourceFor(server).source.read({ now: new Date(T0.getTime() + HOUR), cache: cache as unknown as SourceCache });

    expect(second.users).toEqual([]);
    expect(second.protectedIds).toEqual([ann.id]);
    expect(second.problems[0]!.reason).toMatch(/has no accountEnabled/);
  });
});
