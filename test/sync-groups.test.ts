/**
 * Groups and memberships through the whole engine (runSync) against the sandbox: the source is
 * an in-memory snapshot and the state lives in memory, so each test reads as "the directory
 * says X; after a run the app holds Y, and these requests were sent".
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../src/sandbox/server.js";
import { ScimClient } from "../src/scim/client.js";
import { runSync, type RunSettings } from "../src/engine/run-sync.js";
import type { DirectorySource, StateStore, StoredState } from "../src/core/ports.js";
import type { SourceGroup, SourceSnapshot, SourceUser } from "../src/core/model.js";
import { defaultUserMapping, ENTERPRISE_USER, type Dialect } from "../src/core/mapping.js";
import { aSourceUser, days, T0 } from "./builders.js";
import { TargetError } from "../src/errors.js";

let sandbox: Sandbox;
let hidingSandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
  hidingSandbox = await startSandbox({ hideGroupMembers: true });
});
afterAll(async () => {
  await sandbox.close();
  await hidingSandbox.close();
});
beforeEach(() => {
  sandbox.reset();
  hidingSandbox.reset();
});

class MemoryStore implements StateStore {
  state: StoredState | undefined;
  async lock() {}
  async unlock() {}
  async read(targetUrl: string) {
    return { state: structuredClone(this.state) ?? { targetUrl, users: {}, groups: {}, serial: 0 }, warnings: [] };
  }
  async write(state: StoredState) {
    this.state = structuredClone(state);
  }
}

interface Directory {
  users: SourceUser[];
  groups: SourceGroup[];
}

function sourceOf(directory: Directory): DirectorySource {
  return {
    read: async (): Promise<SourceSnapshot> => ({
      users: structuredClone(directory.users),
      groups: structuredClone(directory.groups),
      complete: true,
      problems: [],
      protectedIds: [],
      protectedUserNames: [],
    }),
  };
}

const MANAGER = `${ENTERPRISE_USER}:manager`;

function settings(target: Sandbox, extra: Partial<RunSettings> = {}, groups: Partial<NonNullable<RunSettings["groups"]>> = {}): RunSettings {
  return {
    targetUrl: target.baseUrl,
    scope: {},
    policy: {
      deleted: { suspend: 0, delete: days(7) },
      suspended: { suspend: 0, delete: "never" },
      outOfScope: { suspend: 0, delete: "never" },
    },
    safety: { maxDeprovisions: 1000, maxDeprovisionPercent: 100 },
    matchBy: "externalId",
    concurrency: 4,
    userMapping: [...defaultUserMapping("externalId"), { target: MANAGER, source: "manager" }],
    groups: {
      provision: "all",
      mapping: [
        { target: "displayName", source: "displayName" },
        { target: "externalId", source: "id" },
      ],
      policy: { delete: 0 },
      readMembers: "changed",
      maxMembersPerPatch: 100,
      ...groups,
    },
    ...extra,
  };
}

let clients: ScimClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

async function sync(target: Sandbox, directory: Directory, store: MemoryStore, extra: Partial<RunSettings> = {}, groups: Partial<NonNullable<RunSettings["groups"]>> = {}) {
  const dialect: Dialect = extra.dialect ?? "patch";
  const client = new ScimClient({ baseUrl: target.baseUrl, token: target.token, rateLimit: 0, dialect });
  clients.push(client);
  target.requests.length = 0;
  const report = await runSync(settings(target, extra, groups), { source: sourceOf(directory), target: client, store }, { now: new Date(), clock: () => new Date(), runId: "test" });
  return report;
}

const people = (n: number, prefix = "p") => Array.from({ length: n }, (_, i) => aSourceUser({ id: `${prefix}${String(i).padStart(3, "0")}` }));
const membersOf = (target: Sandbox, displayName: string) =>
  (((target.groups().find((g) => g.displayName === displayName)?.members as { value: string }[] | undefined) ?? []).map((m) => m.value)).sort();
const idOf = (target: Sandbox, userName: string) => target.users().find((u) => u.userName === userName)!.id as string;
const groupWrites = (target: Sandbox) => target.requests.filter((r) => r.method !== "GET" && r.path.includes("/Groups"));
const writes = (target: Sandbox) => target.requests.filter((r) => r.method !== "GET");

describe("groups through the engine", () => {
  it("Given a group of 250 new people, When synced, Then the group is created without members and they are added in PATCHes of at most 100", async () => {
    const users = people(250);
    const store = new MemoryStore();

    const report = await sync(sandbox, { users, groups: [{ id: "all", displayName: "All Staff", members: users.map((u) => u.id) }] }, store);

    expect(report.result).toBe("ok");
    const posts = groupWrites(sandbox).filter((r) => r.method === "POST");
    expect(posts.map((r) => r.body)).toEqual([{ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "All Staff", externalId: "all" }]);
    const patches = groupWrites(sandbox).filter((r) => r.method === "PATCH");
    expect(patches.map((r) => ((r.body as any).Operations[0].value as unknown[]).length)).toEqual([100, 100, 50]);
    expect(membersOf(sandbox, "All Staff")).toHaveLength(250);
    expect(store.state!.groups.all!.members).toHaveLength(250);

    const again = await sync(sandbox, { users, groups: [{ id: "all", displayName: "All Staff", members: users.map((u) => u.id) }] }, store);
    expect(again.results).toEqual([]);
    expect(writes(sandbox)).toEqual([]);
    // Nothing changed, so no group was read member by member.
    expect(sandbox.requests.filter((r) => /\/Groups\/[^/]+$/.test(r.path))).toEqual([]);
  });

  it("Given 150 members leaving a group and maxMembersPerPatch 60, When synced, Then removals go out 60, 60 and 30 per PATCH in the RFC filter form", async () => {
    const users = people(160);
    const store = new MemoryStore();
    const ids = users.map((u) => u.id);
    await sync(sandbox, { users, groups: [{ id: "big", displayName: "Big", members: ids }] }, store, {}, { maxMembersPerPatch: 60 });

    const report = await sync(sandbox, { users, groups: [{ id: "big", displayName: "Big", members: ids.slice(150) }] }, store, {}, { maxMembersPerPatch: 60 });

    expect(report.results.map((r) => [r.op, r.members?.length, r.status])).toEqual([["remove-members", 150, "ok"]]);
    const patches = groupWrites(sandbox).filter((r) => r.method === "PATCH").map((r) => (r.body as any).Operations as { op: string; path: string }[]);
    expect(patches.map((ops) => ops.length)).toEqual([60, 60, 30]);
    expect(patches.flat().every((op) => op.op === "remove" && /^members\[value eq "[^"]+"\]$/.test(op.path))).toBe(true);
    expect(membersOf(sandbox, "Big")).toHaveLength(10);
    expect(store.state!.groups.big!.members).toHaveLength(10);
  });

  it("Given membership churn and a rename, When synced once, Then the target converges and the next run writes nothing", async () => {
    const users = people(6);
    const store = new MemoryStore();
    const ids = users.map((u) => u.id);
    await sync(sandbox, { users, groups: [{ id: "eng", displayName: "Engineering", members: ids.slice(0, 4) }] }, store);

    const changed: Directory = { users, groups: [{ id: "eng", displayName: "Engineering & Product", members: ids.slice(2, 6) }] };
    const report = await sync(sandbox, changed, store);

    expect(report.results.map((r) => [r.op, r.type, r.status])).toEqual([
      ["update", "Group", "ok"],
      ["add-members", "Group", "ok"],
      ["remove-members", "Group", "ok"],
    ]);
    const removal = groupWrites(sandbox).find((r) => (r.body as any)?.Operations?.[0]?.op === "remove")!;
    expect((removal.body as any).Operations).toEqual([
      { op: "remove", path: `members[value eq "${idOf(sandbox, users[0]!.userName)}"]` },
      { op: "remove", path: `members[value eq "${idOf(sandbox, users[1]!.userName)}"]` },
    ]);
    expect(sandbox.groups().map((g) => g.displayName)).toEqual(["Engineering & Product"]);
    expect(membersOf(sandbox, "Engineering & Product")).toEqual(users.slice(2, 6).map((u) => idOf(sandbox, u.userName)).sort());

    const third = await sync(sandbox, changed, store);
    expect(third.results).toEqual([]);
    expect(writes(sandbox)).toEqual([]);
  });

  it("Given a group made by hand in the app with the same name, When synced, Then it is adopted with its members, not duplicated", async () => {
    const users = people(3);
    const store = new MemoryStore();
    await sync(sandbox, { users, groups: [] }, store);
    const client = new ScimClient({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0 });
    clients.push(client);
    const handMade = await client.createGroup({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "sales" });
    await client.patchGroup(handMade.id, [{ op: "add", path: "members", value: [{ value: idOf(sandbox, users[0]!.userName) }] }]);

    const report = await sync(sandbox, { users, groups: [{ id: "s", displayName: "Sales", members: [users[0]!.id, users[1]!.id] }] }, store);

    expect(report.plan.adopted).toEqual([expect.objectContaining({ type: "Group", key: "Sales", targetId: handMade.id })]);
    expect(sandbox.groups()).toHaveLength(1);
    expect(report.results.find((r) => r.op === "add-members")!.members!.map((m) => m.userName)).toEqual([users[1]!.userName]);
  });

  it("Given a group made by hand after scimsync listed the groups, When its create answers 409, Then it is adopted and its members are known to the next run", async () => {
    const users = people(3);
    const store = new MemoryStore();
    await sync(sandbox, { users, groups: [] }, store);
    const stranger = idOf(sandbox, users[2]!.userName);
    // The race: someone creates "Sales" by hand, with a member the directory does not put there,
    // between scimsync's listing and its POST.
    class RacingClient extends ScimClient {
      override async listGroups() {
        const listed = await super.listGroups();
        const made = await super.createGroup({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Sales" });
        await super.patchGroup(made.id, [{ op: "add", path: "members", value: [{ value: stranger }] }]);
        return listed;
      }
    }
    const racing = new RacingClient({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0 });
    clients.push(racing);
    const directory = { users, groups: [{ id: "s", displayName: "Sales", members: [users[0]!.id] }] };
    const first = await runSync(settings(sandbox), { source: sourceOf(directory), target: racing, store }, { now: new Date(), clock: () => new Date(), runId: "race" });

    expect(first.results.find((r) => r.op === "create")).toMatchObject({ type: "Group", status: "ok", note: expect.stringContaining("409") });
    expect(sandbox.groups()).toHaveLength(1);
    expect(store.state!.groups.s!.members.sort()).toEqual([idOf(sandbox, users[0]!.userName), stranger].sort());

    const second = await sync(sandbox, directory, store);
    expect(second.results.map((r) => [r.op, r.members?.map((m) => m.userName)])).toEqual([["remove-members", [users[2]!.userName]]]);
    expect(membersOf(sandbox, "Sales")).toEqual([idOf(sandbox, users[0]!.userName)]);
  });

  it("Given a suspended user, When synced, Then they leave their groups before the suspend; reactivated, they get their memberships back", async () => {
    const users = people(2);
    const store = new MemoryStore();
    const group = (): SourceGroup => ({ id: "g", displayName: "Support", members: users.map((u) => u.id) });
    await sync(sandbox, { users, groups: [group()] }, store);

    users[1]!.active = false;
    const suspended = await sync(sandbox, { users, groups: [group()] }, store);
    expect(suspended.results.map((r) => r.op)).toEqual(["remove-members", "suspend"]);
    expect(membersOf(sandbox, "Support")).toEqual([idOf(sandbox, users[0]!.userName)]);

    users[1]!.active = true;
    const back = await sync(sandbox, { users, groups: [group()] }, store);
    expect(back.results.map((r) => r.op)).toEqual(["unsuspend", "add-members"]);
    expect(membersOf(sandbox, "Support")).toHaveLength(2);
  });

  it("Given a target that never returns members, When members change, Then the state is trusted and said to be, and runs converge", async () => {
    const users = people(3);
    const store = new MemoryStore();
    await sync(hidingSandbox, { users, groups: [{ id: "g", displayName: "Ops", members: [users[0]!.id] }] }, store);

    const report = await sync(hidingSandbox, { users, groups: [{ id: "g", displayName: "Ops", members: [users[0]!.id, users[1]!.id] }] }, store);

    expect(report.plan.warnings).toContainEqual(expect.stringContaining("does not return group members"));
    expect(report.results.map((r) => [r.op, r.members?.map((m) => m.userName)])).toEqual([["add-members", [users[1]!.userName]]]);
    expect(store.state!.groupMembersHidden).toBe(true);
    const third = await sync(hidingSandbox, { users, groups: [{ id: "g", displayName: "Ops", members: [users[0]!.id, users[1]!.id] }] }, store);
    expect(third.results).toEqual([]);
    expect(third.plan.warnings).toContainEqual(expect.stringContaining("memberships are taken from the state file"));
  });

  it("Given a group gone from the directory and policy delete now, When synced, Then the group is deleted after its members' changes", async () => {
    const users = people(2);
    const store = new MemoryStore();
    await sync(sandbox, { users, groups: [{ id: "g", displayName: "Temp", members: [users[0]!.id] }] }, store);

    const report = await sync(sandbox, { users, groups: [] }, store);

    expect(report.results.map((r) => [r.op, r.type, r.status])).toEqual([["delete", "Group", "ok"]]);
    expect(sandbox.groups()).toEqual([]);
    expect(store.state!.groups).toEqual({});
  });

  it("Given a target without /Groups, When synced, Then users are synced and groups skipped with one warning, not an error", async () => {
    const noGroups = await startSandbox({ groups: false });
    try {
      const users = people(2);
      const report = await sync(noGroups, { users, groups: [{ id: "g", displayName: "X", members: [users[0]!.id] }] }, new MemoryStore());
      expect(report.result).toBe("ok");
      expect(noGroups.users()).toHaveLength(2);
      expect(report.plan.warnings.filter((w) => w.includes("does not support groups"))).toHaveLength(1);
    } finally {
      await noGroups.close();
    }
  });
});

describe("reads that prove little", () => {
  it("Given one group whose members cannot be read, When synced, Then the run goes on, that group is planned from the state, and a leaver is still suspended", async () => {
    const users = people(4);
    const store = new MemoryStore();
    const groups = (members: string[]) => [
      { id: "a", displayName: "Alpha", members },
      { id: "b", displayName: "Beta", members: [users[0]!.id] },
    ];
    await sync(sandbox, { users, groups: groups([users[0]!.id, users[1]!.id]) }, store);
    const alpha = sandbox.groups().find((g) => g.displayName === "Alpha")!.id as string;
    class Failing extends ScimClient {
      override async getGroup(id: string) {
        if (id === alpha) throw new TargetError(`GET /Groups/${id}: 500: boom (gave up after 5 attempts)`, { status: 500 });
        return super.getGroup(id);
      }
    }
    const client = new Failing({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0 });
    clients.push(client);

    // users[3] leaves the directory; users[2] joins Alpha, whose members will not load.
    const directory = { users: users.slice(0, 3), groups: groups([users[0]!.id, users[1]!.id, users[2]!.id]) };
    const report = await runSync(settings(sandbox), { source: sourceOf(directory), target: client, store }, { now: new Date(), clock: () => new Date(), runId: "unread" });

    expect(report.result).toBe("ok");
    expect(report.plan.warnings.join("\n")).toContain("the members of 1 group(s) could not be read (GET /Groups/");
    expect(report.results.map((r) => [r.op, r.key, r.status])).toEqual([
      ["add-members", "Alpha", "ok"],
      ["suspend", users[3]!.userName, "ok"],
    ]);
    expect(membersOf(sandbox, "Alpha")).toEqual([0, 1, 2].map((i) => idOf(sandbox, users[i]!.userName)).sort());
    expect(sandbox.users().find((u) => u.userName === users[3]!.userName)!.active).toBe(false);
  });

  it("Given a managed group the app leaves out of its group listing, When synced, Then it is looked up by id and not created again", async () => {
    const users = people(2);
    const store = new MemoryStore();
    const directory = { users, groups: [{ id: "g", displayName: "Quiet", members: [users[0]!.id] }] };
    await sync(sandbox, directory, store);
    class Forgetful extends ScimClient {
      override async listGroups() {
        return (await super.listGroups())?.filter((g) => g.displayName !== "Quiet");
      }
    }
    const client = new Forgetful({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0 });
    clients.push(client);
    sandbox.requests.length = 0;

    const report = await runSync(settings(sandbox), { source: sourceOf(directory), target: client, store }, { now: new Date(), clock: () => new Date(), runId: "quiet" });

    expect(report.results).toEqual([]);
    expect(sandbox.groups()).toHaveLength(1);
    expect(sandbox.requests.filter((r) => r.method === "GET" && /\/Groups\/[^/]+$/.test(r.path))).toHaveLength(1);
  });

  it("Given a skipped record without an id and a mapping that makes userNames from emails, When synced, Then nobody is deprovisioned (fail closed)", async () => {
    const users = people(3);
    const store = new MemoryStore();
    const emailMapping = [
      { target: "userName", source: "email", caseExact: false },
      { target: "externalId", source: "id" },
    ];
    users.forEach((u) => (u.email = `${u.id}@corp.example.com`));
    await sync(sandbox, { users, groups: [] }, store, { userMapping: emailMapping });
    // The third user's record is now broken (no usable id); the file source protects it by its
    // directory userName, which is not the userName the app knows.
    const source: DirectorySource = {
      read: async () => ({
        users: structuredClone(users.slice(0, 2)),
        groups: [],
        complete: true,
        problems: [{ location: "users[2]", userName: users[2]!.userName, reason: "id is missing" }],
        protectedIds: [],
        protectedUserNames: [users[2]!.userName.toLowerCase()],
      }),
    };
    const client = new ScimClient({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0 });
    clients.push(client);

    const report = await runSync(settings(sandbox, { userMapping: emailMapping }), { source, target: client, store }, { now: new Date(), clock: () => new Date(), runId: "skip" });

    expect(report.plan.safety.failClosed).toContain("cannot be identified");
    expect(report.results.filter((r) => r.op === "suspend" || r.op === "delete")).toEqual([]);
    expect(sandbox.users().every((u) => u.active !== false)).toBe(true);
  });

  it("Given a PUT-only target hiding members and a new group of 5 written 2 at a time, When synced, Then all 5 are members", async () => {
    const users = people(5);
    const store = new MemoryStore();

    const report = await sync(hidingSandbox, { users, groups: [{ id: "g", displayName: "Five", members: users.map((u) => u.id) }] }, store, { dialect: "put" }, { maxMembersPerPatch: 2 });

    expect(report.result).toBe("ok");
    expect((hidingSandbox.groups()[0]!.members as unknown[]).length).toBe(5);
    expect(store.state!.groups.g!.members).toHaveLength(5);
  });

  it("Given a skipped record that has an id, under a mapping that makes userNames from emails, When synced, Then leavers are still deprovisioned", async () => {
    const users = people(3);
    const store = new MemoryStore();
    const emailMapping = [
      { target: "userName", source: "email", caseExact: false },
      { target: "externalId", source: "id" },
    ];
    await sync(sandbox, { users, groups: [] }, store, { userMapping: emailMapping });
    const source: DirectorySource = {
      read: async () => ({
        users: [structuredClone(users[0]!), { ...structuredClone(users[1]!), active: false }],
        groups: [],
        complete: true,
        problems: [{ location: "users[2]", id: users[2]!.id, userName: users[2]!.userName, reason: "active must be true or false" }],
        protectedIds: [users[2]!.id],
        protectedUserNames: [users[2]!.userName.toLowerCase()],
      }),
    };
    const client = new ScimClient({ baseUrl: sandbox.baseUrl, token: sandbox.token, rateLimit: 0 });
    clients.push(client);

    const report = await runSync(settings(sandbox, { userMapping: emailMapping }), { source, target: client, store }, { now: new Date(), clock: () => new Date(), runId: "typo" });

    expect(report.plan.safety.failClosed).toBeUndefined();
    expect(report.results.map((r) => [r.op, r.key])).toEqual([["suspend", users[1]!.email]]);
  });

  it("Given an app group made by hand with a contractor and a PUT-only target hiding members, When adopted, Then it is not overwritten", async () => {
    const users = people(2);
    const store = new MemoryStore();
    await sync(hidingSandbox, { users, groups: [] }, store, { dialect: "put" });
    const direct = new ScimClient({ baseUrl: hidingSandbox.baseUrl, token: hidingSandbox.token, rateLimit: 0 });
    clients.push(direct);
    const contractor = await direct.createUser({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "contractor@example.com" });
    const ops = await direct.createGroup({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Ops" });
    await direct.patchGroup(ops.id, [{ op: "add", path: "members", value: [{ value: contractor.id }] }]);

    const report = await sync(hidingSandbox, { users, groups: [{ id: "ops", displayName: "Ops", members: [users[0]!.id] }] }, store, { dialect: "put" });

    expect(report.results.filter((r) => r.status === "failed").length).toBeGreaterThan(0);
    expect(hidingSandbox.requests.filter((r) => r.method === "PUT")).toEqual([]);
    expect((hidingSandbox.groups()[0]!.members as { value: string }[]).map((m) => m.value)).toContain(contractor.id);
  });
});

describe("names handed over in one run", () => {
  it("Given a group renamed to the name another group gives up, When synced, Then the one giving it up goes first and both land", async () => {
    const users = people(1);
    const store = new MemoryStore();
    const groups = (a: string, b: string): SourceGroup[] => [
      { id: "ga", displayName: a, members: [users[0]!.id] },
      { id: "gb", displayName: b, members: [] },
    ];
    await sync(sandbox, { users, groups: groups("Red", "Blue") }, store);

    const report = await sync(sandbox, { users, groups: groups("Blue", "Navy") }, store);

    expect(report.results.map((r) => [r.op, r.key, r.status])).toEqual([
      ["update", "Blue", "ok"],
      ["update", "Navy", "ok"],
    ]);
    const renames = sandbox.requests.filter((r) => r.method === "PATCH").map((r) => (r.body as any).Operations[0].value);
    expect(renames).toEqual(["Navy", "Blue"]);
    expect((await sync(sandbox, { users, groups: groups("Blue", "Navy") }, store)).results).toEqual([]);
  });

  it("Given two users who swap userNames, When synced, Then both renames are refused by the app and reported, and nothing else is disturbed", async () => {
    const users = people(2);
    const store = new MemoryStore();
    await sync(sandbox, { users, groups: [] }, store);
    const [first, second] = [users[0]!.userName, users[1]!.userName];
    users[0]!.userName = second;
    users[1]!.userName = first;

    const report = await sync(sandbox, { users, groups: [] }, store);

    expect(report.result).toBe("failed");
    expect(report.results.map((r) => [r.op, r.status])).toEqual([
      ["update", "failed"],
      ["update", "failed"],
    ]);
    expect(sandbox.users().map((u) => u.userName).sort()).toEqual([first, second].sort());
  });
});

describe("manager references through the engine", () => {
  it("Given a new manager and new reports in one run, When synced, Then each report's POST already carries the manager's new id", async () => {
    const boss = aSourceUser({ id: "boss" });
    const mid = aSourceUser({ id: "mid", manager: "boss" });
    const staff = aSourceUser({ id: "staff", manager: "mid" });
    const store = new MemoryStore();

    const report = await sync(sandbox, { users: [staff, mid, boss], groups: [] }, store);

    expect(report.result).toBe("ok");
    const bossId = idOf(sandbox, boss.userName);
    const midId = idOf(sandbox, mid.userName);
    const body = (userName: string) => sandbox.requests.find((r) => r.method === "POST" && (r.body as any)?.userName === userName)!.body as any;
    expect(body(mid.userName)[ENTERPRISE_USER].manager).toEqual({ value: bossId });
    expect(body(staff.userName)[ENTERPRISE_USER].manager).toEqual({ value: midId });
    expect(sandbox.requests.filter((r) => r.method === "PATCH")).toEqual([]);

    const again = await sync(sandbox, { users: [staff, mid, boss], groups: [] }, store);
    expect(again.results).toEqual([]);
  });
});

describe("the put dialect", () => {
  it("Given one run that both adds and removes members of a group, When written with PUT, Then both changes land (no lost update)", async () => {
    const users = people(4);
    const store = new MemoryStore();
    const ids = users.map((u) => u.id);
    await sync(sandbox, { users, groups: [{ id: "g", displayName: "Team", members: ids.slice(0, 2) }] }, store, { dialect: "put" });

    const report = await sync(sandbox, { users, groups: [{ id: "g", displayName: "Team", members: ids.slice(1, 4) }] }, store, { dialect: "put" });

    expect(report.results.map((r) => [r.op, r.status])).toEqual([
      ["add-members", "ok"],
      ["remove-members", "ok"],
    ]);
    expect(membersOf(sandbox, "Team")).toEqual(users.slice(1, 4).map((u) => idOf(sandbox, u.userName)).sort());
  });

  it("Given a PUT-only target that does not return members, When a group is renamed, Then nothing is written and the failure says why", async () => {
    const users = people(2);
    const store = new MemoryStore();
    await sync(hidingSandbox, { users, groups: [{ id: "g", displayName: "Desk", members: [users[0]!.id] }] }, store, { dialect: "put" });

    const report = await sync(hidingSandbox, { users, groups: [{ id: "g", displayName: "Front Desk", members: [users[0]!.id] }] }, store, { dialect: "put" });

    expect(report.results).toEqual([expect.objectContaining({ op: "update", status: "failed", error: expect.stringContaining("would remove them all") })]);
    expect(hidingSandbox.requests.filter((r) => r.method === "PUT")).toEqual([]);
    expect(hidingSandbox.groups()[0]!.members).toHaveLength(1);
  });

  it("Given a PUT-only target, When a user and a group change, Then they are written with GET + PUT and never PATCH", async () => {
    const users = people(3);
    const store = new MemoryStore();
    await sync(sandbox, { users, groups: [{ id: "g", displayName: "Finance", members: [users[0]!.id] }] }, store, { dialect: "put" });
    expect(sandbox.requests.filter((r) => r.method === "PATCH")).toEqual([]);
    expect(membersOf(sandbox, "Finance")).toEqual([idOf(sandbox, users[0]!.userName)]);

    users[0]!.title = "Controller";
    const report = await sync(sandbox, { users, groups: [{ id: "g", displayName: "Finance EU", members: [users[0]!.id, users[2]!.id] }] }, store, { dialect: "put" });

    expect(report.result).toBe("ok");
    expect(sandbox.requests.filter((r) => r.method === "PATCH")).toEqual([]);
    expect(sandbox.requests.filter((r) => r.method === "PUT")).toHaveLength(3);
    expect(sandbox.users().find((u) => u.userName === users[0]!.userName)!.title).toBe("Controller");
    expect(membersOf(sandbox, "Finance EU")).toEqual([users[0], users[2]].map((u) => idOf(sandbox, u!.userName)).sort());
    const again = await sync(sandbox, { users, groups: [{ id: "g", displayName: "Finance EU", members: [users[0]!.id, users[2]!.id] }] }, store, { dialect: "put" });
    expect(writes(sandbox)).toEqual([]);
    expect(again.result).toBe("ok");
  });
});
