/**
 * The fake Google Directory API is itself code other tests trust, so its own behaviour is pinned
 * here: the fields-mask grammar, paging, Google's auth and error shapes, the token endpoint, and
 * that the real @googleapis/admin client and google-auth-library JWT flow work against it.
 */
import { createPrivateKey, sign } from "node:crypto";
import { admin, auth } from "@googleapis/admin";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  applyFieldMask,
  FieldMaskError,
  makeServiceAccountKey,
  parseFieldMask,
  startFakeGoogleDirectory,
  type FakeGoogleDirectory,
  type FakeGoogleDirectoryOptions,
  type GoogleDirectoryData,
} from "./support/fake-google-directory.js";
import { generateGoogleDirectory } from "./support/google-directory-data.js";

const SCOPE = "https://www.googleapis.com/auth/";
const TOKEN = "test-access-token";

const fakes: FakeGoogleDirectory[] = [];
afterEach(async () => {
  while (fakes.length > 0) await fakes.pop()!.close();
});

async function start(options: FakeGoogleDirectoryOptions = {}): Promise<FakeGoogleDirectory> {
  const fake = await startFakeGoogleDirectory(options);
  fakes.push(fake);
  fake.acceptToken(TOKEN);
  return fake;
}

/** GET a Directory path with plain fetch; returns the status, headers and parsed JSON. */
async function get(fake: FakeGoogleDirectory, path: string, query: Record<string, string> = {}, token: string | null = TOKEN) {
  const url = new URL(`admin/directory/v1/${path}`, fake.rootUrl);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const response = await fetch(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

/** An RS256 JWT, signed the way google-auth-library signs a service account's assertion. */
function signJwt(privateKeyPem: string, claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}`;
  return `${input}.${sign("RSA-SHA256", Buffer.from(input), createPrivateKey(privateKeyPem)).toString("base64url")}`;
}

async function postToken(fake: FakeGoogleDirectory, assertion: string) {
  const response = await fetch(fake.tokenUrl, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const claimsFor = (scope: string, extra: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return { iss: "sa@fake-project.iam.gserviceaccount.com", scope, aud: "https://oauth2.googleapis.com/token", iat: now, exp: now + 3600, ...extra };
};

const small = (): GoogleDirectoryData => generateGoogleDirectory({ users: 5, groups: 3, membersPerGroup: 2, seed: 7 });

describe("fields mask", () => {
  const user = {
    kind: "admin#directory#user",
    id: "1",
    primaryEmail: "a@example.com",
    name: { givenName: "Ada", familyName: "Li", fullName: "Ada Li" },
    organizations: [{ title: "CEO", department: "Exec" }],
    customSchemas: { HR: { startDate: "2020-01-01" }, Other: { x: 1 } },
  };
  const page = { kind: "admin#directory#users", etag: '"e"', users: [user, { ...user, id: "2" }], nextPageToken: "t" };

  it("selects nested fields with (…) and a/b, inside arrays, and leaves unknown names out", () => {
    const mask = parseFieldMask("nextPageToken,users(id,primaryEmail,name(givenName,familyName),organizations,customSchemas/HR,nosuch)");
    expect(applyFieldMask(page, mask)).toEqual({
      nextPageToken: "t",
      users: [1, 2].map((n) => ({
        id: String(n),
        primaryEmail: "a@example.com",
        name: { givenName: "Ada", familyName: "Li" },
        organizations: [{ title: "CEO", department: "Exec" }],
        customSchemas: { HR: { startDate: "2020-01-01" } },
      })),
    });
  });

  it("treats a(b) and a/b alike, keeps a field whole when also selected whole, and expands *", () => {
    expect(parseFieldMask("users(id)")).toEqual(parseFieldMask("users/id"));
    expect(applyFieldMask(page, parseFieldMask("users/name/givenName, users/name"))).toEqual({
      users: [{ name: user.name }, { name: user.name }],
    });
    expect(applyFieldMask(user, parseFieldMask("customSchemas/*/startDate"))).toEqual({ customSchemas: { HR: { startDate: "2020-01-01" } } });
    expect(applyFieldMask(user, parseFieldMask("*"))).toEqual(user);
  });

  it.each(["users(id", "users()", ",id", "a//b", "id)", "a,", "users(id))", "a b"])("rejects %j", (mask) => {
    expect(() => parseFieldMask(mask)).toThrow(FieldMaskError);
  });

  it("answers a malformed mask over HTTP with Google's 400 invalidParameter", async () => {
    const fake = await start({ data: small() });
    const { status, body } = await get(fake, "users", { customer: "my_customer", fields: "users(id" });
    expect(status).toBe(400);
    expect(body.error.code).toBe(400);
    expect(body.error.message).toMatch(/^Invalid field selection/);
    expect(body.error.errors[0]).toMatchObject({ reason: "invalidParameter", domain: "global", location: "fields" });
  });
});

describe("users.list", () => {
  it("pages with an opaque nextPageToken that is absent on the last page", async () => {
    const data = small();
    const fake = await start({ data });
    const ids: string[] = [];
    const tokens: (string | undefined)[] = [];
    let pageToken: string | undefined;
    do {
      const { status, body } = await get(fake, "users", { customer: "my_customer", maxResults: "2", ...(pageToken ? { pageToken } : {}) });
      expect(status).toBe(200);
      expect(body).toMatchObject({ kind: "admin#directory#users", etag: expect.stringMatching(/^".+"$/) });
      ids.push(...body.users.map((u: { id: string }) => u.id));
      pageToken = body.nextPageToken;
      tokens.push(pageToken);
    } while (pageToken);
    expect(ids).toEqual(data.users.map((u) => u.id));
    expect(tokens).toHaveLength(3);
    expect(fake.requests.map((r) => r.query.pageToken)).toEqual([undefined, tokens[0], tokens[1]]);
  });

  it("serves Google's user shape, applies fields, projection and query, and omits users when none match", async () => {
    const fake = await start({ data: small() });
    const full = await get(fake, "users", { customer: "my_customer", maxResults: "1", projection: "full" });
    expect(full.body.users[0]).toMatchObject({
      kind: "admin#directory#user",
      isAdmin: true,
      suspended: false,
      archived: false,
      orgUnitPath: "/",
      customerId: expect.any(String),
      name: { fullName: expect.any(String) },
      customSchemas: { HR: expect.any(Object) },
    });
    const basic = await get(fake, "users", { customer: "my_customer", maxResults: "1" });
    expect(basic.body.users[0].customSchemas).toBeUndefined();

    const masked = await get(fake, "users", { customer: "my_customer", maxResults: "2", fields: "nextPageToken,users(primaryEmail)" });
    expect(Object.keys(masked.body)).toEqual(["users", "nextPageToken"]);
    expect(Object.keys(masked.body.users[0])).toEqual(["primaryEmail"]);

    const none = await get(fake, "users", { customer: "my_customer", query: "email=nobody@example.com" });
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ kind: "admin#directory#users", etag: expect.any(String) });
  });

  it("matches orgUnitPath= on the OU and everything below it", async () => {
    const data = generateGoogleDirectory({ users: 60, groups: 0, membersPerGroup: 0, seed: 3 });
    const fake = await start({ data });
    const { body } = await get(fake, "users", { customer: "my_customer", query: "orgUnitPath='/Sales' isSuspended=false" });
    const paths = new Set(body.users.map((u: { orgUnitPath: string }) => u.orgUnitPath));
    expect(paths).toEqual(new Set(["/Sales", "/Sales/EMEA"]));
    expect(body.users.every((u: { suspended: boolean }) => !u.suspended)).toBe(true);
  });

  it("refuses a list without customer or domain, and maxResults over 500, as Google does", async () => {
    const fake = await start({ data: small() });
    const missing = await get(fake, "users");
    expect(missing.status).toBe(400);
    expect(missing.body.error.errors[0].reason).toBe("badRequest");
    const tooMany = await get(fake, "users", { customer: "my_customer", maxResults: "501" });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.errors[0]).toMatchObject({ reason: "invalidParameter", location: "maxResults" });
  });

  it("lists deleted users with showDeleted=true", async () => {
    const data = small();
    data.deletedUsers = [{ id: "9", primaryEmail: "gone@example.com", deletionTime: "2025-03-01T10:00:00.000Z" }];
    const fake = await start({ data });
    const { body } = await get(fake, "users", { customer: "my_customer", showDeleted: "true" });
    expect(body.users).toEqual([expect.objectContaining({ id: "9", deletionTime: "2025-03-01T10:00:00.000Z" })]);
  });
});

describe("auth and errors", () => {
  it("answers a missing or unknown token with Google's 401", async () => {
    const fake = await start({ data: small() });
    const unknown = await get(fake, "users", { customer: "my_customer" }, "nope");
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toMatchObject({
      code: 401,
      message: expect.stringMatching(/^Request had invalid authentication credentials\./),
      status: "UNAUTHENTICATED",
      errors: [{ message: "Invalid Credentials", domain: "global", reason: "authError", location: "Authorization", locationType: "header" }],
    });
    const missing = await get(fake, "users", { customer: "my_customer" }, null);
    expect(missing.status).toBe(401);
    expect(missing.body.error.errors[0].reason).toBe("required");
    expect(fake.requests).toHaveLength(2);
  });

  it("answers a token without the endpoint's scope with 403 insufficientPermissions", async () => {
    const key = makeServiceAccountKey();
    const fake = await start({ data: small(), publicKeyPem: key.publicKeyPem });
    const granted = await postToken(fake, signJwt(key.privateKeyPem, claimsFor(`${SCOPE}admin.directory.group.readonly`)));
    expect(granted.status).toBe(200);
    const token = granted.body.access_token as string;

    const users = await get(fake, "users", { customer: "my_customer" }, token);
    expect(users.status).toBe(403);
    expect(users.body.error).toMatchObject({
      code: 403,
      message: "Request had insufficient authentication scopes.",
      status: "PERMISSION_DENIED",
      errors: [{ reason: "insufficientPermissions", domain: "global" }],
    });
    const group = fake.data.groups[0]!;
    expect((await get(fake, "groups", { customer: "my_customer" }, token)).status).toBe(200);
    expect((await get(fake, `groups/${group.id}/members`, {}, token)).status).toBe(200);
  });

  it("refuses an impersonated subject that is not an admin with 403 forbidden", async () => {
    const key = makeServiceAccountKey();
    const data = small();
    const fake = await start({ data, publicKeyPem: key.publicKeyPem });
    const plainUser = data.users.find((u) => !u.isAdmin)!;
    const granted = await postToken(fake, signJwt(key.privateKeyPem, claimsFor(`${SCOPE}admin.directory.user.readonly`, { sub: plainUser.primaryEmail })));
    const { status, body } = await get(fake, "users", { customer: "my_customer" }, granted.body.access_token);
    expect(status).toBe(403);
    expect(body.error).toEqual({
      code: 403,
      message: "Not Authorized to access this resource/api",
      errors: [{ message: "Not Authorized to access this resource/api", domain: "global", reason: "forbidden" }],
    });
  });

  it("injects faults for the next matching requests only", async () => {
    const fake = await start({ data: small() });
    fake.injectFault(/\/users$/, { status: 403, reason: "userRateLimitExceeded", message: "User Rate Limit Exceeded" });
    fake.injectFault((r) => r.path.endsWith("/groups"), { status: 429, retryAfter: "7" }, 2);

    const limited = await get(fake, "users", { customer: "my_customer" });
    expect(limited.status).toBe(403);
    expect(limited.body).toEqual({
      error: {
        code: 403,
        message: "User Rate Limit Exceeded",
        errors: [{ message: "User Rate Limit Exceeded", domain: "usageLimits", reason: "userRateLimitExceeded" }],
      },
    });
    expect((await get(fake, "users", { customer: "my_customer" })).status).toBe(200);

    for (let i = 0; i < 2; i++) {
      const throttled = await get(fake, "groups", { customer: "my_customer" });
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get("retry-after")).toBe("7");
      expect(throttled.body.error.errors[0]).toMatchObject({ reason: "rateLimitExceeded", domain: "usageLimits" });
    }
    expect((await get(fake, "groups", { customer: "my_customer" })).status).toBe(200);
  });
});

describe("groups and members", () => {
  it("lists groups with Google's shape and filters them by userKey", async () => {
    const data = small();
    const fake = await start({ data });
    const all = await get(fake, "groups", { customer: "my_customer" });
    expect(all.body.groups).toHaveLength(3);
    expect(all.body.groups[0]).toMatchObject({ kind: "admin#directory#group", directMembersCount: "2", adminCreated: true });
    const member = data.groups[1]!.members[0]!;
    const mine = await get(fake, "groups", { userKey: member.email!.toUpperCase() });
    expect(mine.body.groups.map((g: { id: string }) => g.id)).toContain(data.groups[1]!.id);
  });

  it("finds a group by email in any case, 404s an unknown one, and flattens nested groups on request", async () => {
    const data = generateGoogleDirectory({ users: 20, groups: 3, membersPerGroup: 3, seed: 11, nestedGroups: true });
    const fake = await start({ data });
    const [outer, inner] = data.groups;
    const direct = await get(fake, `groups/${outer!.email.toUpperCase()}/members`);
    expect(direct.body.members).toHaveLength(4);
    expect(direct.body.members[0]).toMatchObject({ kind: "admin#directory#member", role: "OWNER", type: "USER", status: expect.any(String) });

    const derived = await get(fake, `groups/${outer!.id}/members`, { includeDerivedMembership: "true" });
    const ids = derived.body.members.map((m: { id: string }) => m.id);
    expect(ids).toEqual([...new Set([...outer!.members, ...inner!.members].map((m) => m.id))]);

    const missing = await get(fake, "groups/nosuch@example.com/members");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({
      code: 404,
      message: "Resource Not Found: groupKey",
      errors: [{ message: "Resource Not Found: groupKey", domain: "global", reason: "notFound" }],
    });
    expect(fake.requests.at(-1)!.path).toBe("/admin/directory/v1/groups/nosuch@example.com/members");
  });

  it("lists org units by type", async () => {
    const fake = await start({ data: small() });
    const children = await get(fake, "customer/my_customer/orgunits");
    expect(children.body.kind).toBe("admin#directory#orgUnits");
    expect(children.body.organizationUnits.map((o: { orgUnitPath: string }) => o.orgUnitPath).sort()).toEqual(["/Engineering", "/Sales", "/Support"]);
    const sales = await get(fake, "customer/my_customer/orgunits", { orgUnitPath: "Sales", type: "allIncludingParent" });
    expect(sales.body.organizationUnits.map((o: { orgUnitPath: string }) => o.orgUnitPath)).toEqual(["/Sales", "/Sales/EMEA"]);
    expect(sales.body.organizationUnits[1]).toMatchObject({ name: "EMEA", parentOrgUnitPath: "/Sales", orgUnitId: expect.stringMatching(/^id:/) });
  });
});

describe("token endpoint", () => {
  let key: ReturnType<typeof makeServiceAccountKey>;
  beforeAll(() => {
    key = makeServiceAccountKey();
  });

  it("verifies the assertion's signature, records its claims and issues a usable token", async () => {
    const fake = await start({ data: small(), publicKeyPem: key.publicKeyPem });
    const claims = claimsFor(`${SCOPE}admin.directory.user.readonly ${SCOPE}admin.directory.group.readonly`, { sub: "nobody-known@example.com" });
    const { status, body } = await postToken(fake, signJwt(key.privateKeyPem, claims));
    expect(status).toBe(200);
    expect(body).toEqual({ access_token: expect.any(String), expires_in: 3600, token_type: "Bearer" });
    expect(fake.tokenRequests).toEqual([
      { grantType: "urn:ietf:params:oauth:grant-type:jwt-bearer", header: { alg: "RS256", typ: "JWT" }, claims, signatureValid: true },
    ]);
    expect((await get(fake, "users", { customer: "my_customer" }, body.access_token)).status).toBe(200);
    expect(fake.requests.at(-1)!.authorization).toBe(`Bearer ${body.access_token}`);

    const otherKey = makeServiceAccountKey();
    const forged = await postToken(fake, signJwt(otherKey.privateKeyPem, claims));
    expect(forged).toEqual({ status: 400, body: { error: "invalid_grant", error_description: "Invalid JWT Signature." } });
    expect(fake.tokenRequests.at(-1)!.signatureValid).toBe(false);
  });

  it("refuses scopes the delegation does not allow, expired assertions, and scripted failures", async () => {
    const fake = await start({ publicKeyPem: key.publicKeyPem });
    fake.allowedScopes = [`${SCOPE}admin.directory.user.readonly`];
    const refused = await postToken(fake, signJwt(key.privateKeyPem, claimsFor(`${SCOPE}admin.directory.group.readonly`)));
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("unauthorized_client");

    const expired = await postToken(fake, signJwt(key.privateKeyPem, claimsFor(`${SCOPE}admin.directory.user.readonly`, { exp: 1 })));
    expect(expired.status).toBe(400);
    expect(expired.body.error).toBe("invalid_grant");

    fake.failTokenRequests(503, { error: "temporarily_unavailable" });
    const good = signJwt(key.privateKeyPem, claimsFor(`${SCOPE}admin.directory.user.readonly`));
    expect((await postToken(fake, good)).status).toBe(503);
    expect((await postToken(fake, good)).status).toBe(200);
  });
});

describe("the real clients", () => {
  it("@googleapis/admin lists users through rootUrl with a preset access token", async () => {
    const fake = await start({ data: small() });
    const oauth = new auth.OAuth2();
    oauth.setCredentials({ access_token: TOKEN });
    const dir = admin({ version: "directory_v1", auth: oauth, rootUrl: fake.rootUrl });
    const res = await dir.users.list({ customer: "my_customer", maxResults: 2, fields: "nextPageToken,users(id,primaryEmail,name/fullName)" });
    expect(res.status).toBe(200);
    expect(res.data.users).toHaveLength(2);
    expect(res.data.users![0]).toEqual({ id: expect.any(String), primaryEmail: expect.any(String), name: { fullName: expect.any(String) } });
    expect(res.data.nextPageToken).toEqual(expect.any(String));
    expect(fake.requests[0]).toMatchObject({ method: "GET", path: "/admin/directory/v1/users", authorization: `Bearer ${TOKEN}` });
  });

  it("google-auth-library's JWT client gets a token from the fake and calls the API with it", async () => {
    const key = makeServiceAccountKey();
    const data = small();
    const fake = await start({ data, publicKeyPem: key.publicKeyPem });
    const jwt = new auth.JWT({
      email: key.key.client_email,
      key: key.key.private_key,
      scopes: [`${SCOPE}admin.directory.group.readonly`],
      subject: data.users[0]!.primaryEmail,
    });
    // google-auth-library ignores token_uri and always posts to Google: send it to the fake instead.
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (config.url.href === "https://oauth2.googleapis.com/token") config.url = new URL(fake.tokenUrl);
        return config;
      },
    });
    const dir = admin({ version: "directory_v1", auth: jwt, rootUrl: fake.rootUrl });
    const res = await dir.groups.list({ customer: "my_customer" });
    expect(res.data.groups).toHaveLength(3);
    expect(fake.tokenRequests).toHaveLength(1);
    expect(fake.tokenRequests[0]).toMatchObject({
      signatureValid: true,
      claims: { iss: key.key.client_email, sub: data.users[0]!.primaryEmail, scope: `${SCOPE}admin.directory.group.readonly` },
    });
  });
});

describe("generateGoogleDirectory", () => {
  it("is deterministic per seed and internally consistent", () => {
    const a = generateGoogleDirectory({ users: 1000, groups: 10, membersPerGroup: 25, seed: 42 });
    expect(generateGoogleDirectory({ users: 1000, groups: 10, membersPerGroup: 25, seed: 42 })).toEqual(a);
    expect(generateGoogleDirectory({ users: 1000, groups: 10, membersPerGroup: 25, seed: 43 }).users).not.toEqual(a.users);

    const emails = new Set(a.users.map((u) => u.primaryEmail));
    expect(emails.size).toBe(1000);
    expect(new Set(a.users.map((u) => u.id)).size).toBe(1000);
    for (const u of a.users.slice(1)) {
      const manager = (u.relations as { value: string; type: string }[])[0]!;
      expect(manager.type).toBe("manager");
      expect(emails.has(manager.value)).toBe(true);
      expect(manager.value).not.toBe(u.primaryEmail);
    }
    const suspended = a.users.filter((u) => u.suspended).length;
    const archived = a.users.filter((u) => u.archived).length;
    expect(suspended).toBeGreaterThan(5);
    expect(suspended).toBeLessThan(40);
    expect(archived).toBeGreaterThan(2);
    expect(archived).toBeLessThan(25);
    expect(a.groups.every((g) => g.members.length === 25 && new Set(g.members.map((m) => m.id)).size === 25)).toBe(true);
    expect(new Set(a.users.map((u) => u.orgUnitPath))).toEqual(new Set(["/", "/Sales", "/Sales/EMEA", "/Engineering", "/Support"]));
  });
});
