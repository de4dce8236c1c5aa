/**
 * The client's Groups side against the sandbox, a SCIM server whose protocol we did not write
 * (scimmy): what the client sends must be understood by an independent implementation, and the
 * sandbox's request log shows exactly what went over the wire.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PatchOperation } from "../src/core/mapping.js";
import type { TargetUser } from "../src/core/model.js";
import { TargetError } from "../src/errors.js";
import { ScimClient } from "../src/scim/client.js";
import { startSandbox, type Sandbox } from "../src/sandbox/server.js";

const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

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

function aGroup(displayName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [GROUP_SCHEMA], displayName, ...extra };
}

async function createUsers(target: ScimClient, count: number): Promise<TargetUser[]> {
  const users: TargetUser[] = [];
  // A few at a time, in order, so ids line up with their numbers.
  for (let i = 0; i < count; i += 25) {
    const batch = Array.from({ length: Math.min(25, count - i) }, (_, j) =>
      target.createUser({ schemas: [USER_SCHEMA], userName: `user${i + j}@example.com`, displayName: `User ${i + j}` }),
    );
    users.push(...(await Promise.all(batch)));
  }
  return users;
}

const addMembers = (ids: string[]): PatchOperation => ({ op: "add", path: "members", value: ids.map((value) => ({ value })) });
const removeMember = (id: string): PatchOperation => ({ op: "remove", path: `members[value eq "${id}"]` });
const groupRequests = (method: string) => sandbox.requests.filter((r) => r.method === method && /\/Groups(\/|$)/.test(r.path));
const storedMembers = (id: string) => ((sandbox.groups().find((g) => g.id === id)?.members as { value: string }[] | undefined) ?? []).map((m) => m.value);

describe("ScimClient groups against the sandbox", () => {
  it("Given a new group without members, When created, Then it is stored and returned with its id and no members", async () => {
    const created = await client.createGroup(aGroup("Engineering", { externalId: "src-eng" }));

    expect(created).toMatchObject({ displayName: "Engineering", externalId: "src-eng" });
    expect(created.members).toBeUndefined();
    expect(sandbox.groups().map((g) => [g.id, g.displayName])).toEqual([[created.id, "Engineering"]]);
    expect(groupRequests("POST").map((r) => [r.status, r.body])).toEqual([[201, aGroup("Engineering", { externalId: "src-eng" })]]);
  });

  it("Given a displayName taken in another case, When creating, Then 409 uniqueness, not ambiguous", async () => {
    await client.createGroup(aGroup("Engineering"));

    const error = await client.createGroup(aGroup("ENGINEERING")).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TargetError);
    expect(error).toMatchObject({ status: 409, scimType: "uniqueness", ambiguous: false });
  });

  it("Given 25 groups with members and pageSize 10, When listing, Then all come back over 3 pages asked without members", async () => {
    const [ada] = await createUsers(client, 1);
    const created = [];
    for (let i = 0; i < 25; i++) created.push(await client.createGroup(aGroup(`Team ${i}`, { members: [{ value: ada!.id }] })));
    sandbox.requests.length = 0;

    const groups = await client.listGroups();

    expect(groups!.map((g) => g.id).sort()).toEqual(created.map((g) => g.id).sort());
    expect(groups!.every((g) => g.members === undefined)).toBe(true);
    expect(groupRequests("GET").map((r) => r.query)).toEqual([
      "excludedAttributes=members&startIndex=1&count=10",
      "excludedAttributes=members&startIndex=11&count=10",
      "excludedAttributes=members&startIndex=21&count=10",
    ]);
  });

  it("Given no groups, When listing, Then an empty list (not undefined) after one request", async () => {
    expect(await client.listGroups()).toEqual([]);
    expect(groupRequests("GET")).toHaveLength(1);
  });

  it("Given a group with members, When getting it by id, Then its members come back; once deleted, undefined", async () => {
    const [ada, bob] = await createUsers(client, 2);
    const created = await client.createGroup(aGroup("Engineering", { members: [{ value: ada!.id }, { value: bob!.id }] }));

    const fetched = await client.getGroup(created.id);
    await client.deleteGroup(created.id);
    const afterDelete = await client.getGroup(created.id);

    expect(fetched).toMatchObject({ id: created.id, displayName: "Engineering", members: [ada!.id, bob!.id] });
    expect(afterDelete).toBeUndefined();
  });

  it("Given a group, When finding it by displayName in another case or by externalId, Then it is found without members", async () => {
    const [ada] = await createUsers(client, 1);
    const created = await client.createGroup(aGroup("Platform Team", { externalId: "src-plat", members: [{ value: ada!.id }] }));
    await client.createGroup(aGroup("Platform"));

    const byName = await client.findGroups("displayName", "PLATFORM team");
    const byExternalId = await client.findGroups("externalId", "src-plat");

    expect(byName.map((g) => [g.id, g.members])).toEqual([[created.id, undefined]]);
    expect(byExternalId.map((g) => g.id)).toEqual([created.id]);
    expect(await client.findGroups("displayName", "Nobody")).toEqual([]);
    expect(groupRequests("GET").every((r) => new URLSearchParams(r.query).get("excludedAttributes") === "members")).toBe(true);
  });

  it("Given 250 users, When added in PATCHes of at most 100 members, Then the group holds each exactly once", async () => {
    const users = await createUsers(client, 250);
    const group = await client.createGroup(aGroup("Everyone"));
    const ids = users.map((u) => u.id);
    sandbox.requests.length = 0;

    for (let i = 0; i < ids.length; i += 100) await client.patchGroup(group.id, [addMembers(ids.slice(i, i + 100))]);
    // Repeating a chunk, as a retried PATCH would, changes nothing.
    await client.patchGroup(group.id, [addMembers(ids.slice(0, 100))]);

    const patches = groupRequests("PATCH");
    expect(patches.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(patches.map((r) => (r.body as { Operations: { value: unknown[] }[] }).Operations[0]!.value.length)).toEqual([100, 100, 50, 100]);
    expect(patches[2]!.body).toEqual({ schemas: [PATCH_OP], Operations: [addMembers(ids.slice(200))] });
    expect(storedMembers(group.id)).toEqual(ids);
    expect((await client.getGroup(group.id))!.members).toEqual(ids);
  });

  it("Given members, When removed by filter path and renamed in one PATCH, Then only those leave and the name changes", async () => {
    const [ada, bob, cyd] = await createUsers(client, 3);
    const group = await client.createGroup(aGroup("Engineering", { members: [ada, bob, cyd].map((u) => ({ value: u!.id })) }));

    await client.patchGroup(group.id, [removeMember(ada!.id), removeMember(cyd!.id), { op: "replace", path: "displayName", value: "Research" }]);
    // A removal of someone no longer there is harmless.
    await client.patchGroup(group.id, [removeMember(ada!.id)]);

    expect(storedMembers(group.id)).toEqual([bob!.id]);
    expect(sandbox.groups()[0]!.displayName).toBe("Research");
    expect(groupRequests("PATCH")[0]!.body).toEqual({
      schemas: [PATCH_OP],
      Operations: [removeMember(ada!.id), removeMember(cyd!.id), { op: "replace", path: "displayName", value: "Research" }],
    });
  });

  it("Given a group, When replaced by PUT, Then name, externalId and members are those sent", async () => {
    const [ada, bob] = await createUsers(client, 2);
    const group = await client.createGroup(aGroup("Engineering", { members: [{ value: ada!.id }] }));
    const resource = aGroup("Engineering & Research", { externalId: "src-eng", members: [{ value: bob!.id }] });

    await client.replaceGroup(group.id, resource);

    expect(sandbox.groups()[0]).toMatchObject({ id: group.id, displayName: "Engineering & Research", externalId: "src-eng" });
    expect(storedMembers(group.id)).toEqual([bob!.id]);
    expect(groupRequests("PUT").map((r) => [r.status, r.body])).toEqual([[200, resource]]);
  });

  it("Given a group, When deleted twice, Then it is gone and the second delete (404) counts as done", async () => {
    const group = await client.createGroup(aGroup("Engineering"));

    await client.deleteGroup(group.id);
    await client.deleteGroup(group.id);

    expect(sandbox.groups()).toEqual([]);
    expect(groupRequests("DELETE").map((r) => r.status)).toEqual([204, 404]);
  });

  it("Given a user, When replaced by PUT, Then the sandbox holds exactly the new resource and it is returned", async () => {
    const [ada] = await createUsers(client, 1);

    const replaced = await client.replaceUser(ada!.id, { schemas: [USER_SCHEMA], userName: "ada@example.com", externalId: "src-ada", active: false });

    expect(replaced).toMatchObject({ id: ada!.id, userName: "ada@example.com", externalId: "src-ada", active: false });
    const stored = sandbox.users()[0]!;
    expect(stored).toMatchObject({ userName: "ada@example.com", externalId: "src-ada", active: false });
    expect(stored).not.toHaveProperty("displayName");
  });

  it("Given a client with dialect entra-legacy, When removing members, Then the sandbox gets one Remove by value and applies it", async () => {
    const legacy = new ScimClient({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0, dialect: "entra-legacy" });
    try {
      const [ada, bob, cyd] = await createUsers(legacy, 3);
      const group = await legacy.createGroup(aGroup("Engineering", { members: [ada, bob, cyd].map((u) => ({ value: u!.id })) }));

      await legacy.patchGroup(group.id, [removeMember(ada!.id), removeMember(cyd!.id)]);

      expect(groupRequests("PATCH").map((r) => [r.status, r.body])).toEqual([
        [200, { schemas: [PATCH_OP], Operations: [{ op: "Remove", path: "members", value: [{ value: ada!.id }, { value: cyd!.id }] }] }],
      ]);
      expect(storedMembers(group.id)).toEqual([bob!.id]);
    } finally {
      await legacy.close();
    }
  });
});

describe("targets with limited group support", () => {
  it("Given a target without /Groups, When listing groups, Then undefined after a single request", async () => {
    const bare = await startSandbox({ groups: false });
    const target = new ScimClient({ baseUrl: bare.baseUrl, token: bare.token, rateLimit: 0 });
    try {
      expect(await target.listGroups()).toBeUndefined();
      expect(bare.requests.map((r) => [r.method, r.path, r.status])).toEqual([["GET", "/scim/v2/Groups", 404]]);
      expect(await target.listUsers()).toEqual([]);
    } finally {
      await target.close();
      await bare.close();
    }
  });

  it("Given a target that hides members, When members are written, Then reads report none known but the target holds them", async () => {
    const hiding = await startSandbox({ hideGroupMembers: true });
    const target = new ScimClient({ baseUrl: hiding.baseUrl, token: hiding.token, rateLimit: 0 });
    try {
      const [ada, bob] = await createUsers(target, 2);
      const group = await target.createGroup(aGroup("Engineering"));

      await target.patchGroup(group.id, [addMembers([ada!.id, bob!.id])]);
      await target.patchGroup(group.id, [removeMember(ada!.id)]);

      expect((await target.getGroup(group.id))!.members).toBeUndefined();
      expect((await target.listGroups())!.map((g) => g.members)).toEqual([undefined]);
      expect((hiding.groups()[0]!.members as { value: string }[]).map((m) => m.value)).toEqual([bob!.id]);
    } finally {
      await target.close();
      await hiding.close();
    }
  });
});
