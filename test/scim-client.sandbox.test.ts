/**
 * The SCIM client against the sandbox, a real SCIM server (scimmy) we did not write the
 * protocol of: what the client sends must be understood by an independent implementation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildUserResource, compileMapping, defaultUserMapping, ENTERPRISE_USER } from "../src/core/mapping.js";
import { TargetAuthError, TargetError } from "../src/errors.js";
import { ScimClient } from "../src/scim/client.js";
import { startSandbox, type Sandbox } from "../src/sandbox/server.js";

const mapping = compileMapping(defaultUserMapping("externalId"));

function resourceFor(n: number, extra: Partial<Record<string, string>> = {}): Record<string, unknown> {
  return buildUserResource(
    {
      userName: `user${n}@example.com`,
      externalId: `src-${n}`,
      "name.givenName": `Given${n}`,
      "name.familyName": `Family${n}`,
      displayName: `Given${n} Family${n}`,
      'emails[type eq "work"].value': `user${n}@example.com`,
      title: "Engineer",
      [`${ENTERPRISE_USER}:department`]: "Platform",
      [`${ENTERPRISE_USER}:employeeNumber`]: String(n),
      ...extra,
    },
    mapping,
    true,
  );
}

let sandbox: Sandbox;
let client: ScimClient;

beforeAll(async () => {
  sandbox = await startSandbox();
  client = new ScimClient({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0, pageSize: 10 });
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

beforeEach(() => sandbox.reset());

const userRequests = (method: string) => sandbox.requests.filter((r) => r.method === method && r.path.endsWith("/Users"));

describe("ScimClient against the sandbox", () => {
  it("Given a new user, When created, Then the sandbox stores it and returns it with an id", async () => {
    const created = await client.createUser(resourceFor(1));

    expect(created).toMatchObject({ userName: "user1@example.com", externalId: "src-1", active: true });
    expect(created.id).not.toBe("");
    expect(sandbox.users().map((u) => u.id)).toEqual([created.id]);
    expect(created.resource[ENTERPRISE_USER]).toMatchObject({ department: "Platform", employeeNumber: "1" });
  });

  it("Given a user, When finding by userName in another case, Then it is found (userName is caseExact=false)", async () => {
    const created = await client.createUser(resourceFor(2));

    const found = await client.findUsers("userName", "USER2@Example.COM");

    expect(found.map((u) => u.id)).toEqual([created.id]);
  });

  it("Given a user, When finding by externalId, Then exactly that user is found", async () => {
    await client.createUser(resourceFor(3));
    const created = await client.createUser(resourceFor(4));

    expect((await client.findUsers("externalId", "src-4")).map((u) => u.id)).toEqual([created.id]);
    expect(await client.findUsers("externalId", "src-404")).toEqual([]);
  });

  it('Given a userName with a quote and a backslash, When finding it, Then the escaped filter matches only it', async () => {
    const tricky = 'o"brien\\x@example.com';
    const created = await client.createUser(resourceFor(5, { userName: tricky }));
    await client.createUser(resourceFor(6, { userName: "obrien@example.com" }));

    const found = await client.findUsers("userName", tricky);

    expect(found.map((u) => [u.id, u.userName])).toEqual([[created.id, tricky]]);
  });

  it("Given an existing userName, When creating it again, Then TargetError 409 uniqueness", async () => {
    await client.createUser(resourceFor(7));

    const error = await client.createUser(resourceFor(7, { externalId: "src-other" })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TargetError);
    expect(error).toMatchObject({ status: 409, scimType: "uniqueness", ambiguous: false });
    expect((error as TargetError).message).toMatch(/^POST \/Users: 409 uniqueness/);
  });

  it("Given 25 users and pageSize 10, When listing, Then all come back over 3 pages", async () => {
    const created = await Promise.all(Array.from({ length: 25 }, (_, i) => client.createUser(resourceFor(100 + i))));
    sandbox.requests.length = 0;

    const users = await client.listUsers();

    expect(users.map((u) => u.id).sort()).toEqual(created.map((u) => u.id).sort());
    expect(userRequests("GET")).toHaveLength(3);
    expect(userRequests("GET").map((r) => new URLSearchParams(r.query).get("startIndex"))).toEqual(["1", "11", "21"]);
  });

  it("Given a user, When patching work email, department and active, Then the sandbox holds the new values", async () => {
    const created = await client.createUser(resourceFor(8));

    const updated = await client.patchUser(created.id, [
      { op: "replace", path: 'emails[type eq "work"].value', value: "new.address@example.com" },
      { op: "replace", path: `${ENTERPRISE_USER}:department`, value: "Research" },
      { op: "replace", path: "active", value: false },
    ]);

    const stored = sandbox.users().find((u) => u.id === created.id)!;
    expect(stored.active).toBe(false);
    expect(stored.emails).toEqual([expect.objectContaining({ type: "work", value: "new.address@example.com" })]);
    expect(stored[ENTERPRISE_USER]).toMatchObject({ department: "Research", employeeNumber: "8" });
    expect(updated).toMatchObject({ id: created.id, active: false });
    const [reread] = await client.findUsers("externalId", "src-8");
    expect(reread).toMatchObject({ id: created.id, active: false });
  });

  it("Given a user, When deleted twice, Then it is gone and the second delete (404) counts as done", async () => {
    const created = await client.createUser(resourceFor(9));

    await client.deleteUser(created.id);
    await client.deleteUser(created.id);

    expect(sandbox.users()).toEqual([]);
    expect(sandbox.requests.filter((r) => r.method === "DELETE").map((r) => r.status)).toEqual([204, 404]);
  });

  it("Given a user, When getting it by id, Then it comes back; once deleted, getUser answers undefined (SCIM 404)", async () => {
    const created = await client.createUser(resourceFor(10));

    const fetched = await client.getUser(created.id);
    await client.deleteUser(created.id);
    const afterDelete = await client.getUser(created.id);

    expect(fetched).toMatchObject({ id: created.id, userName: "user10@example.com", externalId: "src-10", active: true });
    expect(fetched?.resource[ENTERPRISE_USER]).toMatchObject({ department: "Platform", employeeNumber: "10" });
    expect(afterDelete).toBeUndefined();
    const gets = sandbox.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/Users/${created.id}`));
    expect(gets.map((r) => r.status)).toEqual([200, 404]);
  });

  it("Given an inactive user, When getting it by id, Then it reports active false", async () => {
    const created = await client.createUser(resourceFor(11));
    await client.patchUser(created.id, [{ op: "replace", path: "active", value: false }]);

    expect(await client.getUser(created.id)).toMatchObject({ id: created.id, active: false });
  });

  it("Given a wrong token, When listing, Then TargetAuthError", async () => {
    const wrong = new ScimClient({ baseUrl: sandbox.baseUrl, token: "not-the-token", rateLimit: 0 });
    try {
      await expect(wrong.listUsers()).rejects.toBeInstanceOf(TargetAuthError);
    } finally {
      await wrong.close();
    }
  });
});
