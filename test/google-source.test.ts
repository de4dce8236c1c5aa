/**
 * The Google Workspace source: the real @googleapis/admin client and google-auth-library's JWT
 * flow against a local fake of the Directory API and Google's token endpoint.
 */
import { afterEach, describe, expect, it } from "vitest";
import { GoogleSource, type GoogleSourceOptions } from "../src/sources/google/google-source.js";
import { googleUserFields } from "../src/sources/google/attributes.js";
import { GOOGLE_SCOPES } from "../src/sources/google/google-errors.js";
import { SourceError } from "../src/errors.js";
import type { SourceProgress } from "../src/core/ports.js";
import {
  makeServiceAccountKey,
  startFakeGoogleDirectory,
  type FakeGoogleDirectory,
  type GoogleDirectoryData,
  type GoogleGroupRecord,
  type GoogleUserRecord,
} from "./support/fake-google-directory.js";

const TOKEN = "ya29.test-access-token";
const ADMIN = "admin@example.com";

let fake: FakeGoogleDirectory | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function aUser(id: string, overrides: Partial<GoogleUserRecord> = {}): GoogleUserRecord {
  return {
    id,
    primaryEmail: `${id}@example.com`,
    name: { givenName: id.charAt(0).toUpperCase() + id.slice(1), familyName: "Tester", fullName: `${id} Tester` },
    orgUnitPath: "/",
    ...overrides,
  };
}

function aGroup(id: string, members: [string, "USER" | "GROUP" | "CUSTOMER", string?][], name = id): GoogleGroupRecord {
  return { id, email: `${id}@example.com`, name, members: members.map(([mid, type, email]) => ({ id: mid, type, ...(email ? { email } : {}) })) };
}

const admin = aUser("admin", { primaryEmail: ADMIN, isAdmin: true });

async function start(data: Partial<GoogleDirectoryData>, options: { pageSizeCap?: number; publicKeyPem?: string } = {}): Promise<FakeGoogleDirectory> {
  fake = await startFakeGoogleDirectory({ data: { users: [admin], groups: [], ...data }, ...options });
  fake.acceptToken(TOKEN);
  return fake;
}

interface Made {
  source: GoogleSource;
  sleeps: number[];
  retries: string[];
}

function sourceFor(server: FakeGoogleDirectory, overrides: Partial<GoogleSourceOptions> = {}): Made {
  const sleeps: number[] = [];
  const retries: string[] = [];
  let clock = 1_000_000;
  const source = new GoogleSource({
    connection: { credentials: { kind: "access-token", token: TOKEN }, apiRoot: server.rootUrl },
    customer: "my_customer",
    archived: "ignore",
    showDeleted: false,
    userFields: googleUserFields(["userName", "givenName", "familyName", "title", "manager", "phoneNumbers", "extra.costCenter"]),
    groups: { list: false, membersOf: [] },
    concurrency: 4,
    timeoutMs: 5000,
    retries: 3,
    // Backoff is measured, not waited for.
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    random: () => 0.5,
    onRetry: (what) => retries.push(what),
    ...overrides,
  });
  return { source, sleeps, retries };
}

const userLists = (server: FakeGoogleDirectory) => server.requests.filter((r) => r.path === "/admin/directory/v1/users");

describe("GoogleSource: users", () => {
  it("Given a service account key, When it reads, Then the JWT names the admin, the four read-only scopes and Google's audience, signed with the key", async () => {
    const key = makeServiceAccountKey();
    const server = await start({ users: [admin, aUser("ann")] }, { publicKeyPem: key.publicKeyPem });
    const { source } = sourceFor(server, {
      connection: {
        credentials: { kind: "service-account", clientEmail: key.key.client_email!, privateKey: key.privateKeyPem, subject: ADMIN },
        apiRoot: server.rootUrl,
        tokenUrl: server.tokenUrl,
      },
    });

    const snapshot = await source.read();

    expect(snapshot.users.map((u) => u.userName).sort()).toEqual(["admin@example.com", "ann@example.com"]);
    expect(server.tokenRequests).toHaveLength(1);
    const [token] = server.tokenRequests;
    expect(token!.signatureValid).toBe(true);
    expect(token!.grantType).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    expect(token!.header.alg).toBe("RS256");
    expect(token!.claims).toMatchObject({ iss: key.key.client_email, sub: ADMIN, aud: "https://oauth2.googleapis.com/token" });
    expect(String(token!.claims.scope).split(" ").sort()).toEqual(Object.values(GOOGLE_SCOPES).sort());
    const exp = Number(token!.claims.exp);
    const iat = Number(token!.claims.iat);
    expect(exp - iat).toBeLessThanOrEqual(3600);
    expect(server.requests.every((r) => r.authorization?.startsWith("Bearer ") && r.authorization !== `Bearer ${TOKEN}`)).toBe(true);
  });

  it("Given more users than a page holds, When it reads, Then it follows nextPageToken with maxResults=500, projection=full and the mapping's fields mask", async () => {
    const users = [admin, ...Array.from({ length: 11 }, (_, i) => aUser(`u${String(i).padStart(2, "0")}`))];
    const server = await start({ users }, { pageSizeCap: 5 });
    const progress: SourceProgress[] = [];

    const snapshot = await sourceFor(server).source.read({ onProgress: (p) => progress.push(p) });

    expect(snapshot.users).toHaveLength(12);
    expect(snapshot.complete).toBe(true);
    const lists = userLists(server);
    expect(lists).toHaveLength(3);
    expect(lists[0]!.query).toMatchObject({ customer: "my_customer", maxResults: "500", projection: "full" });
    expect(lists[0]!.query.pageToken).toBeUndefined();
    expect(lists[1]!.query.pageToken).toBeDefined();
    expect(lists[0]!.query.fields).toBe(
      "kind,nextPageToken,users(aliases,archived,id,name,organizations,phones,primaryEmail,relations,suspended)",
    );
    expect(progress.filter((p) => p.listing === "users").map((p) => [p.pages, p.items])).toEqual([
      [1, 5],
      [2, 10],
      [3, 12],
    ]);
  });

  it("Given a full Google user, When it reads, Then every documented field lands on the source model", async () => {
    const boss = aUser("boss", { aliases: ["chief@example.com"] });
    const ann = aUser("ann", {
      name: { givenName: "Ann", familyName: "Lee", fullName: "Ann Lee" },
      organizations: [
        { title: "Old", department: "Old", primary: false },
        { title: "Engineer", department: "R&D", costCenter: "CC-7", description: "Contractor", location: "Berlin", name: "Example", primary: true },
      ],
      externalIds: [
        { type: "custom", customType: "badge", value: "B1" },
        { type: "organization", value: "E-1001" },
      ],
      relations: [{ type: "manager", value: "Chief@example.com" }],
      languages: [{ languageCode: "fr" }, { languageCode: "de-CH", preference: "preferred" }],
      phones: [
        { type: "work", value: "+49 30 1", primary: true },
        { type: "work_fax", value: "+49 30 2" },
        { type: "custom", customType: "desk", value: "+49 30 3" },
      ],
      addresses: [{ type: "work", streetAddress: "Main St 1", locality: "Berlin", postalCode: "10115", country: "Germany", countryCode: "DE", primary: true }],
      orgUnitPath: "/Engineering",
      customSchemas: { HR: { grade: "L4" } },
      isAdmin: false,
    });
    const server = await start({ users: [admin, boss, ann] });
    const fields = googleUserFields([
      "userName",
      "email",
      "givenName",
      "familyName",
      "displayName",
      "title",
      "department",
      "employeeNumber",
      "manager",
      "preferredLanguage",
      "addresses",
      "phoneNumbers",
      "extra.orgUnitPath",
      "extra.costCenter",
      "extra.customSchemas.HR.grade",
      "extra.isAdmin",
    ]);

    const snapshot = await sourceFor(server, { userFields: fields }).source.read();

    expect(snapshot.users.find((u) => u.id === "ann")).toEqual({
      id: "ann",
      userName: "ann@example.com",
      email: "ann@example.com",
      active: true,
      givenName: "Ann",
      familyName: "Lee",
      displayName: "Ann Lee",
      title: "Engineer",
      department: "R&D",
      employeeNumber: "E-1001",
      manager: "boss",
      preferredLanguage: "de-CH",
      addresses: [{ type: "work", streetAddress: "Main St 1", locality: "Berlin", postalCode: "10115", country: "DE", primary: true }],
      phoneNumbers: [
        { type: "work", value: "+49 30 1", primary: true },
        { type: "fax", value: "+49 30 2" },
        { type: "other", value: "+49 30 3" },
      ],
      extra: { orgUnitPath: "/Engineering", costCenter: "CC-7", employeeType: "Contractor", location: "Berlin", organization: "Example", isAdmin: false, customSchemas: { HR: { grade: "L4" } } },
    });
  });

  it("Given suspended, archived and malformed users, When it reads, Then suspended are inactive, archived are left alone and malformed are reported and protected", async () => {
    const server = await start({
      users: [
        admin,
        aUser("sus", { suspended: true }),
        aUser("arc", { archived: true }),
        { id: "nomail", primaryEmail: "" },
        aUser("badphones", { phones: "call me" as unknown as object[] }),
      ],
    });

    const snapshot = await sourceFor(server).source.read();

    expect(snapshot.users.map((u) => [u.id, u.active])).toEqual([
      ["admin", true],
      ["sus", false],
    ]);
    expect(snapshot.protectedIds.sort()).toEqual(["arc", "badphones", "nomail"]);
    expect(snapshot.problems.map((p) => [p.id, p.reason])).toEqual([
      ["nomail", "has no primaryEmail"],
      ["badphones", expect.stringContaining("has an unreadable phones")],
    ]);
    expect(snapshot.warnings).toEqual(["1 archived user(s) are left as they are in the app (source.archived: ignore)"]);
    // Malformed records are not a failed read: deprovisioning stays possible for everyone else.
    expect(snapshot.complete).toBe(true);
  });

  it("Given archived: treat-as-suspended, When it reads, Then an archived user is an inactive user", async () => {
    const server = await start({ users: [admin, aUser("arc", { archived: true })] });

    const snapshot = await sourceFor(server, { archived: "treat-as-suspended" }).source.read();

    expect(snapshot.users.find((u) => u.id === "arc")?.active).toBe(false);
    expect(snapshot.protectedIds).toEqual([]);
  });

  it("Given showDeleted, When it reads, Then recently deleted users come with their deletion time and are not users", async () => {
    const server = await start({ users: [admin], deletedUsers: [aUser("gone", { deletionTime: "2026-11-20T08:00:00.000Z" })] });

    const snapshot = await sourceFor(server, { showDeleted: true }).source.read();

    expect(snapshot.users.map((u) => u.id)).toEqual(["admin"]);
    expect(snapshot.deletedAt).toEqual({ gone: "2026-11-20T08:00:00.000Z" });
    const deletedList = userLists(server).find((r) => r.query.showDeleted === "true");
    expect(deletedList?.query.fields).toBe("kind,nextPageToken,users(id,deletionTime)");
  });
});

describe("GoogleSource: scope of its own (orgUnits, query, domain)", () => {
  const users = [
    admin,
    aUser("sal", { orgUnitPath: "/Sales" }),
    aUser("emea", { orgUnitPath: "/Sales/EMEA" }),
    aUser("salesish", { orgUnitPath: "/SalesOps" }),
    aUser("eng", { orgUnitPath: "/Engineering" }),
    aUser("other", { primaryEmail: "other@subsidiary.example", orgUnitPath: "/Sales" }),
  ];

  it("Given scope.orgUnits [/sales], When it reads, Then users of /Sales and its sub-OUs are in scope, case aside, and /SalesOps is not", async () => {
    const server = await start({ users });

    const snapshot = await sourceFor(server, { orgUnits: ["/sales"], userFields: googleUserFields(["userName"], { orgUnitPath: true }) }).source.read();

    expect(snapshot.inScopeIds?.sort()).toEqual(["emea", "other", "sal"]);
    expect(snapshot.users).toHaveLength(6);
    expect(snapshot.complete).toBe(true);
    expect(server.requests.some((r) => r.path.endsWith("/orgunits") && r.query.type === "all")).toBe(true);
  });

  it("Given an OU the directory does not have, When it reads, Then the read is incomplete and says which OU", async () => {
    const server = await start({ users });

    const snapshot = await sourceFor(server, { orgUnits: ["/Sales", "/Slaes"], userFields: googleUserFields(["userName"], { orgUnitPath: true }) }).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.problems).toEqual([
      { location: "scope.orgUnits", reason: "organizational unit /Slaes does not exist in the directory; fix scope.orgUnits" },
    ]);
  });

  it("Given a query and a domain, When it reads, Then only users matching both are in scope, from an ids-only second listing", async () => {
    const server = await start({ users: users.map((u) => (u.id === "eng" ? { ...u, isAdmin: true } : u)) });

    const snapshot = await sourceFor(server, { query: "isAdmin=false", domain: "example.com" }).source.read();

    expect(snapshot.inScopeIds?.sort()).toEqual(["emea", "sal", "salesish"]);
    const queried = userLists(server).find((r) => r.query.query === "isAdmin=false");
    expect(queried?.query.fields).toBe("kind,nextPageToken,users(id)");
  });
});

describe("GoogleSource: groups and members", () => {
  // all -> (eng -> (backend -> eng: a cycle)), plus a guest, a group of another organization and "everyone".
  const users = [admin, aUser("ann"), aUser("bob"), aUser("cy"), aUser("dee")];
  const groups = [
    aGroup("all", [
      ["eng", "GROUP", "eng@example.com"],
      ["guest1", "USER", "guest@gmail.com"],
      ["ext-group", "GROUP", "partners@other.org"],
    ], "All staff"),
    aGroup("eng", [
      ["ann", "USER"],
      ["backend", "GROUP"],
    ]),
    aGroup("backend", [
      ["bob", "USER"],
      ["eng", "GROUP"],
    ]),
    aGroup("sales", [["cy", "USER"]]),
    aGroup("everyone", [["C03az79cb", "CUSTOMER"]]),
  ];

  it("Given scope groups, When it reads, Then only those and the groups nested in them have their members read, once each despite the cycle", async () => {
    const server = await start({ users, groups });

    const snapshot = await sourceFor(server, { groups: { list: true, membersOf: ["All staff"] } }).source.read();

    const memberReads = server.requests.filter((r) => r.path.endsWith("/members")).map((r) => r.path.split("/")[5]);
    expect(memberReads.sort()).toEqual(["all", "backend", "eng"]);
    expect(server.requests.filter((r) => r.path.endsWith("/members")).every((r) => r.query.maxResults === "200")).toBe(true);
    const byId = Object.fromEntries(snapshot.groups.map((g) => [g.id, g]));
    expect(byId.all).toEqual({ id: "all", displayName: "All staff", email: "all@example.com", members: ["eng"] });
    expect(byId.eng!.members.sort()).toEqual(["ann", "backend"]);
    expect(byId.backend!.members.sort()).toEqual(["bob", "eng"]);
    expect(byId.sales).toMatchObject({ members: [], membersRead: false });
    expect(snapshot.warnings).toEqual([
      "2 group member(s) are outside this Google Workspace account and are not provisioned: guest@gmail.com, partners@other.org",
    ]);
  });

  it("Given provisionGroups all, When it reads, Then every group's members are read and a CUSTOMER member stands for every user", async () => {
    const server = await start({ users, groups });

    const snapshot = await sourceFor(server, { groups: { list: true, membersOf: "all" } }).source.read();

    expect(snapshot.groups.every((g) => g.membersRead === undefined)).toBe(true);
    expect(snapshot.groups.find((g) => g.id === "everyone")!.members.sort()).toEqual(["admin", "ann", "bob", "cy", "dee"]);
    const listing = server.requests.find((r) => r.path === "/admin/directory/v1/groups");
    expect(listing?.query).toMatchObject({ customer: "my_customer", maxResults: "200", fields: "kind,nextPageToken,groups(id,email,name,description)" });
  });

  it("Given groups play no part, When it reads, Then groups are not even listed", async () => {
    const server = await start({ users, groups });

    const snapshot = await sourceFor(server).source.read();

    expect(snapshot.groups).toEqual([]);
    expect(server.requests.some((r) => r.path.includes("/groups"))).toBe(false);
  });

  it("Given a member list that keeps failing, When it reads, Then that group is reported and the read is incomplete", async () => {
    const server = await start({ users, groups });
    server.injectFault(/\/groups\/backend\/members/, { status: 503 }, 10);

    const snapshot = await sourceFor(server, { groups: { list: true, membersOf: ["eng"] } }).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.problems).toEqual([
      { location: "group backend@example.com", reason: expect.stringMatching(/its members could not be read: list group members of backend@example.com: 503.*gave up after 4 attempt/) },
    ]);
    // The group is there, with no members read: nothing is removed from it, since the run fails closed.
    expect(snapshot.groups.find((g) => g.id === "backend")).toMatchObject({ members: [] });
    expect(snapshot.groups.find((g) => g.id === "backend")!.membersRead).toBeUndefined();
  });
});

describe("GoogleSource: throttling and errors", () => {
  it("Given 403 userRateLimitExceeded twice, When it reads, Then it backs off exponentially and recovers", async () => {
    const server = await start({ users: [admin, aUser("ann")] });
    server.injectFault(/\/users$/, { status: 403, reason: "userRateLimitExceeded" }, 2);

    const { source, sleeps, retries } = sourceFor(server);
    const snapshot = await source.read();

    expect(snapshot.users).toHaveLength(2);
    expect(snapshot.complete).toBe(true);
    expect(retries).toEqual(["list users: 403 userRateLimitExceeded", "list users: 403 userRateLimitExceeded"]);
    // random() = 0.5: three quarters of 1 s, then of 2 s.
    expect(sleeps).toEqual([750, 1500]);
    expect(userLists(server)).toHaveLength(3);
  });

  it("Given 429 with Retry-After and 403 quotaExceeded, When it reads, Then both are throttling and Retry-After is honoured", async () => {
    const server = await start({ users: [admin] });
    server.injectFault(/\/users$/, { status: 429, retryAfter: "7" }, 1);
    server.injectFault(/\/users$/, { status: 403, reason: "quotaExceeded" }, 1);

    const { source, sleeps } = sourceFor(server);
    const snapshot = await source.read();

    expect(snapshot.complete).toBe(true);
    expect(sleeps).toEqual([7000, 1500]);
  });

  it("Given throttling that outlasts the retries, When it reads, Then the users listing is incomplete, not empty", async () => {
    const server = await start({ users: [admin, aUser("ann")] }, { pageSizeCap: 1 });
    server.injectFault((r) => r.path.endsWith("/users") && r.query.pageToken !== undefined, { status: 429 }, 10);

    const snapshot = await sourceFor(server).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.users.map((u) => u.id)).toEqual(["admin"]);
    expect(snapshot.problems).toEqual([
      { location: "users listing", reason: "it could not be read to the end: list users: 429 rateLimitExceeded; gave up after 4 attempt(s)" },
    ]);
  });

  it("Given a 200 that is not JSON (a proxy's page), When it reads, Then it is retried and never taken for an empty directory", async () => {
    const server = await start({ users: [admin] });
    server.injectFault(/\/users$/, { status: 200, body: "<html>Sign in</html>" }, 10);

    const snapshot = await sourceFor(server).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.problems[0]!.reason).toMatch(/not a JSON object/);
  });

  it("Given credentials without the user scope, When it reads, Then it stops with the missing scope and where to add it", async () => {
    const key = makeServiceAccountKey();
    const server = await start({ users: [admin] }, { publicKeyPem: key.publicKeyPem });
    server.injectFault(/\/users$/, { status: 403, reason: "insufficientPermissions", message: "Request had insufficient authentication scopes." });
    const { source, retries } = sourceFor(server, {
      connection: {
        credentials: { kind: "service-account", clientEmail: key.key.client_email!, clientId: key.key.client_id!, privateKey: key.privateKeyPem, subject: ADMIN },
        apiRoot: server.rootUrl,
        tokenUrl: server.tokenUrl,
      },
    });

    const error = await source.read().then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toBe(
      "cannot list users: the credentials lack the scope https://www.googleapis.com/auth/admin.directory.user.readonly (Google says: Request had insufficient authentication scopes.)",
    );
    expect((error as SourceError).hint).toContain("https://admin.google.com/ac/owl/domainwidedelegation");
    expect((error as SourceError).hint).toContain(`client id ${key.key.client_id}`);
    expect(retries).toEqual([]);
  });

  it("Given a subject who is not an admin, When it reads, Then it stops and says who must be an admin", async () => {
    const key = makeServiceAccountKey();
    const server = await start({ users: [admin, aUser("ann")] }, { publicKeyPem: key.publicKeyPem });
    const { source } = sourceFor(server, {
      connection: {
        credentials: { kind: "service-account", clientEmail: key.key.client_email!, privateKey: key.privateKeyPem, subject: "ann@example.com" },
        apiRoot: server.rootUrl,
        tokenUrl: server.tokenUrl,
      },
    });

    await expect(source.read()).rejects.toThrow(
      "cannot list users: Google refused it (403) (Google says: Not Authorized to access this resource/api)",
    );
  });

  it("Given delegation not granted, When the token is requested, Then it stops naming the client and the scopes to authorize", async () => {
    const key = makeServiceAccountKey();
    const server = await start({ users: [admin] }, { publicKeyPem: key.publicKeyPem });
    server.allowedScopes = [GOOGLE_SCOPES.users];
    const { source } = sourceFor(server, {
      connection: {
        credentials: { kind: "service-account", clientEmail: key.key.client_email!, clientId: key.key.client_id!, privateKey: key.privateKeyPem, subject: ADMIN },
        apiRoot: server.rootUrl,
        tokenUrl: server.tokenUrl,
      },
    });

    const error = (await source.read().catch((e: unknown) => e)) as SourceError;

    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toMatch(/^the service account .* is not authorized for domain-wide delegation with scimsync's scopes \(Google says: unauthorized_client/);
    expect(error.hint).toContain(key.key.client_id);
    expect(error.hint).toContain(GOOGLE_SCOPES.orgUnits);
    // Google's answer is final: asking again would not change it.
    expect(server.tokenRequests).toHaveLength(1);
  });

  it("Given an expired access token, When it reads, Then it says to mint a new one, and never shows the token", async () => {
    const server = await start({ users: [admin] });
    server.revokeTokens();

    const error = (await sourceFor(server).source.read().catch((e: unknown) => e)) as SourceError;

    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toBe("Google rejected source.accessToken (401): it has expired or was revoked");
    expect(JSON.stringify({ m: error.message, h: error.hint, c: String(error.cause) })).not.toContain(TOKEN);
  });
});

describe("GoogleSource: answers that must not pass for a directory", () => {
  it("Given a 200 with an empty JSON object on page 2, When it reads, Then the listing is incomplete rather than finished early", async () => {
    const server = await start({ users: [admin, aUser("ann"), aUser("bob")] }, { pageSizeCap: 1 });
    server.injectFault((r) => r.path.endsWith("/users") && r.query.pageToken !== undefined, { status: 200, body: "{}" }, 10);

    const snapshot = await sourceFor(server).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.users.map((u) => u.id)).toEqual(["admin"]);
    expect(snapshot.problems[0]!.reason).toMatch(/not a Directory API list/);
  });

  it("Given a listing with no user at all, When it reads, Then the read is incomplete: the acting admin is always a user", async () => {
    const server = await start({ users: [] });

    const snapshot = await sourceFor(server).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.problems).toEqual([
      { location: "users listing", reason: "it could not be read to the end: Google listed no user at all, not even the admin the requests act for" },
    ]);
  });

  it("Given the query listing fails, When it reads, Then the query admits only what it listed, never everyone", async () => {
    const server = await start({ users: [admin, aUser("ann")] });
    server.injectFault((r) => r.query.query !== undefined, { status: 503 }, 10);

    const snapshot = await sourceFor(server, { query: "isAdmin=false", retries: 0 }).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.inScopeIds).toEqual([]);
    expect(snapshot.problems[0]).toMatchObject({ location: "scope.query listing" });
  });

  it("Given a domain no user has, or a query that matches nobody, When it reads, Then the read is incomplete instead of everyone out of scope", async () => {
    const server = await start({ users: [admin, aUser("ann")] });

    const typo = await sourceFor(server, { domain: "exmaple.com" }).source.read();
    const nobody = await sourceFor(server, { query: "isAdmin=false orgUnitPath='/Nowhere'" }).source.read();

    expect(typo.complete).toBe(false);
    expect(typo.problems).toEqual([{ location: "source.domain", reason: "no user of the account has a primary email in exmaple.com; check source.domain" }]);
    expect(nobody.complete).toBe(false);
    expect(nobody.problems[0]).toMatchObject({ location: "scope.query" });
  });

  it("Given a group deleted between the listing and its member read (404), When it reads, Then that group is unread and the run goes on", async () => {
    const server = await start({ users: [admin, aUser("ann")], groups: [aGroup("g1", [["ann", "USER"]]), aGroup("g2", [["ann", "USER"]])] });
    server.injectFault(/\/groups\/g2\/members/, { status: 404, reason: "notFound", message: "Resource Not Found: groupKey" });

    const snapshot = await sourceFor(server, { groups: { list: true, membersOf: "all" } }).source.read();

    expect(snapshot.complete).toBe(false);
    expect(snapshot.groups.find((g) => g.id === "g1")!.members).toEqual(["ann"]);
    expect(snapshot.problems[0]!.reason).toMatch(/no longer exists \(404\)/);
  });

  it("Given a fatal 403 on one member list while others are in flight, When it reads, Then read() rejects with it once and nothing is left unhandled", async () => {
    const groups = Array.from({ length: 12 }, (_, i) => aGroup(`g${i}`, [["admin", "USER"]]));
    const server = await start({ users: [admin], groups });
    server.injectFault(/\/groups\/g3\/members/, { status: 403, reason: "insufficientPermissions", message: "Request had insufficient authentication scopes." });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const { source } = sourceFor(server, { groups: { list: true, membersOf: "all" }, concurrency: 4 });

      await expect(source.read()).rejects.toThrow(/lack the scope https:\/\/www.googleapis.com\/auth\/admin.directory.group.member.readonly/);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
    // No read is started after the fatal answer.
    expect(server.requests.filter((r) => r.path.endsWith("/members")).length).toBeLessThan(12);
  });

  it("Given a key the crypto library cannot use, When it reads, Then it stops at once instead of retrying as a network error", async () => {
    const server = await start({ users: [admin] });
    const broken = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
    const { source, retries } = sourceFor(server, {
      connection: { credentials: { kind: "service-account", clientEmail: "sa@p.iam.gserviceaccount.com", privateKey: broken, subject: ADMIN }, apiRoot: server.rootUrl, tokenUrl: server.tokenUrl },
    });

    const error = (await source.read().catch((e: unknown) => e)) as SourceError;

    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toMatch(/^cannot list users: /);
    expect(error.hint).toContain("source.credentials");
    expect(retries).toEqual([]);
    expect(error.message).not.toContain("bm90IGEga2V5");
  });

  it("Given a token endpoint that never answers, When it reads, Then the token request times out like any other", async () => {
    const key = makeServiceAccountKey();
    const { createServer } = await import("node:http");
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const server = await start({ users: [admin] });
    try {
      const { source } = sourceFor(server, {
        timeoutMs: 300,
        retries: 0,
        connection: {
          credentials: { kind: "service-account", clientEmail: key.key.client_email!, privateKey: key.privateKeyPem, subject: ADMIN },
          apiRoot: server.rootUrl,
          tokenUrl: `http://127.0.0.1:${port}/token`,
        },
      });

      const snapshot = await source.read();

      expect(snapshot.complete).toBe(false);
      expect(snapshot.problems[0]!.reason).toMatch(/timed out/);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
