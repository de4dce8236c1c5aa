import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StateGroup, StateUser } from "../src/core/model.js";
import type { StoredState } from "../src/core/ports.js";
import { LockedError, StateError } from "../src/errors.js";
import { FileStateStore, STATE_VERSION } from "../src/state/file-state-store.js";

const TARGET = "https://app.example.com/scim/v2";

function aUser(overrides: Partial<StateUser> = {}): StateUser {
  return {
    targetId: "t-1",
    userName: "ada@example.com",
    origin: "created",
    since: "2024-01-02T03:04:05.000Z",
    conditions: {},
    ...overrides,
  };
}

function aGroup(overrides: Partial<StateGroup> = {}): StateGroup {
  return {
    targetId: "g-1",
    displayName: "Engineering",
    origin: "created",
    since: "2024-01-02T03:04:05.000Z",
    members: ["t-1"],
    ...overrides,
  };
}

function aState(overrides: Partial<StoredState> = {}): StoredState {
  return { targetUrl: TARGET, users: { "src-1": aUser() }, groups: {}, serial: 0, ...overrides };
}

let dir: string;
let statePath: string;
const stores: FileStateStore[] = [];

/** Every store made here is unlocked after the test, so no heartbeat outlives it. */
function aStore(options: ConstructorParameters<typeof FileStateStore>[1] = {}, path = statePath): FileStateStore {
  const store = new FileStateStore(path, options);
  stores.push(store);
  return store;
}

function collectWarnings(): { warnings: string[]; onWarning: (m: string) => void } {
  const warnings: string[] = [];
  return { warnings, onWarning: (m) => warnings.push(m) };
}

async function catchError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

async function tempFilesIn(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((n) => n.endsWith(".tmp"));
}

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  const pid = child.pid!;
  await new Promise((resolve) => child.on("exit", resolve));
  return pid;
}

async function writeForeignLock(owner: { pid: number; hostname: string }): Promise<string> {
  const lockDir = `${statePath}.lock`;
  await mkdir(lockDir);
  const record = { ...owner, startedAt: "2024-05-06T07:08:09.000Z", token: "0123456789abcdef" };
  await writeFile(join(lockDir, "owner.json"), JSON.stringify(record));
  return lockDir;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-state-"));
  statePath = join(dir, "state.json");
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.unlock()));
  await rm(dir, { recursive: true, force: true });
});

describe("reading and writing", () => {
  it("given no state file, when read, then it is an empty state for the configured target", async () => {
    const { state, warnings } = await aStore().read(TARGET);
    expect(state).toEqual({ targetUrl: TARGET, users: {}, groups: {}, serial: 0 });
    expect(warnings).toEqual([]);
  });

  it("given a written state, when a new store reads it, then every field comes back", async () => {
    const written = aState({
      users: {
        "src-1": aUser({ suspendedAt: "2024-02-01T00:00:00.000Z", conditions: { suspended: "2024-01-31T00:00:00.000Z" } }),
        "src-2": aUser({ targetId: "t-2", userName: "bob@example.com", origin: "adopted", conditions: { outOfScope: "2024-03-01T10:00:00+02:00" } }),
      },
      lastRun: {
        runId: "run-7",
        startedAt: "2024-03-02T00:00:00.000Z",
        finishedAt: "2024-03-02T00:01:00.000Z",
        result: "ok",
        counts: { create: 2, failed: 0 },
      },
    });
    await aStore().write(written);

    const { state } = await aStore().read(TARGET);
    expect(state).toEqual({ ...written, serial: 1 });
    const onDisk = JSON.parse(await readFile(statePath, "utf8"));
    expect(onDisk.version).toBe(STATE_VERSION);
    expect(onDisk.serial).toBe(1);
    expect(Object.keys(onDisk)).toEqual(["version", "serial", "targetUrl", "users", "groups", "lastRun"]);
  });

  it("given groups and groupMembersHidden, when written and read by a new store, then they come back", async () => {
    const written = aState({
      groups: {
        "grp-eng": aGroup({ members: ["t-1", "t-2"] }),
        "grp-ops": aGroup({
          targetId: "g-2",
          displayName: "Operations",
          origin: "adopted",
          members: [],
          removedSince: "2024-04-01T00:00:00+02:00",
        }),
      },
      groupMembersHidden: true,
    });
    await aStore().write(written);

    const { state } = await aStore().read(TARGET);
    expect(state).toEqual({ ...written, serial: 1 });
    const onDisk = JSON.parse(await readFile(statePath, "utf8"));
    expect(Object.keys(onDisk)).toEqual(["version", "serial", "targetUrl", "users", "groups", "groupMembersHidden"]);
    expect(Object.keys(onDisk.groups["grp-ops"])).toEqual(["targetId", "displayName", "origin", "since", "members", "removedSince"]);
  });

  it("given groupMembersHidden is false, when written and read, then it comes back false rather than unknown", async () => {
    await aStore().write(aState({ groupMembersHidden: false }));
    expect((await aStore().read(TARGET)).state.groupMembersHidden).toBe(false);
  });

  it("given members out of order or repeated in memory, when written, then the file lists each once, sorted", async () => {
    await aStore().write(aState({ groups: { "grp-eng": aGroup({ members: ["t-3", "t-1", "t-3"] }) } }));
    expect(JSON.parse(await readFile(statePath, "utf8")).groups["grp-eng"].members).toEqual(["t-1", "t-3"]);
  });

  it("given a file whose group lists a member twice, when read, then the repeat is dropped without falling back to .bak", async () => {
    await aStore().write(aState({ groups: { "grp-eng": aGroup() } }));
    const file = JSON.parse(await readFile(statePath, "utf8"));
    file.groups["grp-eng"].members = ["t-1", "t-2", "t-1"];
    await writeFile(statePath, JSON.stringify(file));
    const { state, warnings } = await aStore().read(TARGET);
    expect(warnings).toEqual([]);
    expect(state.serial).toBe(1);
    expect(state.groups["grp-eng"]!.members).toEqual(["t-1", "t-2"]);
  });

  it("when written twice, then the serial goes up by one each time and the passed object follows", async () => {
    const store = aStore();
    const state = aState();
    await store.write(state);
    expect(state.serial).toBe(1);
    await store.write({ ...state });
    expect(state.serial).toBe(1);
    expect(JSON.parse(await readFile(statePath, "utf8")).serial).toBe(2);
    // The copy above kept serial 1; the store still knows it wrote 2.
    await store.write(state);
    expect(JSON.parse(await readFile(statePath, "utf8")).serial).toBe(3);
    expect((await aStore().read(TARGET)).state.serial).toBe(3);
  });

  it("when written, then the state file and its backup are 0600 and a new folder is 0700", async () => {
    const nested = join(dir, "a", "b", "state.json");
    const store = aStore({}, nested);
    const state = aState();
    await store.write(state);
    await store.write(state);
    expect((await stat(nested)).mode & 0o777).toBe(0o600);
    expect((await stat(`${nested}.bak`)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "a", "b"))).mode & 0o777).toBe(0o700);
  });

  it("when a file someone else created with 0644 is replaced, then the backup is 0600 anyway", async () => {
    const store = aStore();
    await store.write(aState());
    const text = await readFile(statePath, "utf8");
    await rm(statePath);
    await writeFile(statePath, text, { mode: 0o644 });
    const { state } = await store.read(TARGET);
    await store.write(state);
    expect((await stat(`${statePath}.bak`)).mode & 0o777).toBe(0o600);
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
  });

  it("given a umask that strips the owner's bits, when written, then the files are still exactly 0600", async () => {
    const store = aStore();
    const state = aState();
    const previous = process.umask(0o377);
    try {
      await store.write(state);
      await store.write(state);
    } finally {
      process.umask(previous);
    }
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
    expect((await stat(`${statePath}.bak`)).mode & 0o777).toBe(0o600);
  });

  it("when written, then .bak holds exactly the previous file", async () => {
    const store = aStore();
    const state = aState();
    await store.write(state);
    const first = await readFile(statePath, "utf8");
    state.users["src-2"] = aUser({ targetId: "t-2", userName: "bob@example.com" });
    await store.write(state);
    expect(await readFile(`${statePath}.bak`, "utf8")).toBe(first);
    expect(await readFile(statePath, "utf8")).not.toBe(first);
  });

  it("when the target URL carries credentials, then they are not written", async () => {
    await aStore().write(aState({ targetUrl: "https://admin:s3cret@app.example.com/scim/v2" }));
    const text = await readFile(statePath, "utf8");
    expect(text).not.toContain("s3cret");
    expect(text).not.toContain("admin");
  });

  it("when the state is invalid, then write refuses with StateError and leaves the file alone", async () => {
    const store = aStore();
    const state = aState();
    await store.write(state);
    const before = await readFile(statePath, "utf8");
    state.users["src-1"] = aUser({ since: "yesterday" });
    const error = await catchError(store.write(state));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain("since");
    expect(await readFile(statePath, "utf8")).toBe(before);
  });

  it("given the state path is a folder, when read, then StateError names it (not a raw fs error)", async () => {
    await mkdir(statePath);
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain(statePath);
    expect(error.message).toContain("EISDIR");
  });

  it("given another process wrote the file since it was read, when written, then StateError and no overwrite", async () => {
    await aStore().write(aState());
    const mine = aStore();
    const { state } = await mine.read(TARGET);
    await aStore().write(aState({ serial: 1, users: {} }));
    const theirs = await readFile(statePath, "utf8");
    const error = await catchError(mine.write(state));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toMatch(/changed while this run was using it \(serial 2 on disk, 1 when read\)/);
    expect(await readFile(statePath, "utf8")).toBe(theirs);
  });
});

describe("damaged files", () => {
  async function writeTwoGenerations(): Promise<string> {
    const store = aStore();
    const state = aState();
    await store.write(state);
    state.users["src-2"] = aUser({ targetId: "t-2", userName: "bob@example.com" });
    await store.write(state);
    return readFile(statePath, "utf8");
  }

  it("given truncated JSON and a good .bak, when read, then the backup is used with a warning naming both", async () => {
    const current = await writeTwoGenerations();
    await writeFile(statePath, current.slice(0, current.length / 2));
    const { state, warnings } = await aStore().read(TARGET);
    expect(state.serial).toBe(1);
    expect(Object.keys(state.users)).toEqual(["src-1"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^state file .*state\.json is damaged \(not valid JSON: .*\); using the backup .*state\.json\.bak from serial 1$/);
  });

  it("given a file that breaks the schema and a good .bak, when read, then the backup is used and the reason named", async () => {
    const current = JSON.parse(await writeTwoGenerations());
    current.users["src-1"].since = "last tuesday";
    await writeFile(statePath, JSON.stringify(current));
    const { state, warnings } = await aStore().read(TARGET);
    expect(state.serial).toBe(1);
    expect(warnings[0]).toContain("users.src-1.since");
  });

  it.each([
    ["has no targetId", (g: Record<string, unknown>) => delete g.targetId, "groups.grp-eng.targetId"],
    ["lists an empty member id", (g: Record<string, unknown>) => (g.members = ["t-1", ""]), "groups.grp-eng.members[1]"],
    ["has an unknown key", (g: Record<string, unknown>) => (g.owner = "someone"), "groups.grp-eng"],
  ])("given a group record that %s and a good .bak, when read, then the backup is used as with users", async (_, damage, where) => {
    const store = aStore();
    const state = aState({ groups: { "grp-eng": aGroup() } });
    await store.write(state);
    state.groups["grp-ops"] = aGroup({ targetId: "g-2", displayName: "Operations" });
    await store.write(state);
    const current = JSON.parse(await readFile(statePath, "utf8"));
    damage(current.groups["grp-eng"]);
    await writeFile(statePath, JSON.stringify(current));

    const { state: read, warnings } = await aStore().read(TARGET);
    expect(read.serial).toBe(1);
    expect(Object.keys(read.groups)).toEqual(["grp-eng"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(where);
    expect(warnings[0]).toContain("using the backup");
  });

  it("given a damaged file and no .bak, when read, then StateError names the file, the problem and the fix", async () => {
    await writeFile(statePath, '{"version":1,"serial":3,');
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain(statePath);
    expect(error.message).toContain("not valid JSON");
    expect(error.message).toContain("there is no backup");
    expect((error as StateError).hint).toMatch(/restore .* or move it away to start over.*adopt/);
  });

  it("given a damaged file and a damaged .bak, when read, then StateError says both are damaged", async () => {
    await writeFile(statePath, "garbage");
    await writeFile(`${statePath}.bak`, "{}");
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toMatch(/backup .*\.bak is damaged too \("version" is missing\)/);
  });

  it.each([
    ["missing", { serial: 0, targetUrl: TARGET, users: {} }],
    ["a string", { version: "1", serial: 0, targetUrl: TARGET, users: {} }],
    ["a fraction", { version: 0.5, serial: 0, targetUrl: TARGET, users: {} }],
  ])("given the version is %s, when read, then the file counts as damaged", async (_, content) => {
    await writeFile(statePath, JSON.stringify(content));
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain('"version"');
  });

  it("given the backup was used, when written, then the damaged file does not replace the good .bak", async () => {
    await writeTwoGenerations();
    const goodBackup = await readFile(`${statePath}.bak`, "utf8");
    await writeFile(statePath, "{ damaged");
    const store = aStore();
    const { state } = await store.read(TARGET);
    await store.write(state);
    expect(await readFile(`${statePath}.bak`, "utf8")).toBe(goodBackup);
    expect((await aStore().read(TARGET)).warnings).toEqual([]);
  });

  it("given a damaged file and a .bak from a newer scimsync, when read, then StateError names the backup", async () => {
    await writeFile(statePath, "garbage");
    await writeFile(`${statePath}.bak`, JSON.stringify({ version: STATE_VERSION + 1 }));
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toBe(
      `state file ${statePath}.bak was written by a newer scimsync (version ${STATE_VERSION + 1}); upgrade scimsync`,
    );
  });

});

describe("a missing state file beside its backup", () => {
  /** Leaves `state.json.bak` at serial 1 and no `state.json`, as after a careless `rm`. */
  async function loseTheStateFile(): Promise<string> {
    const store = aStore();
    const state = aState();
    await store.write(state);
    await store.write(state);
    await rm(statePath);
    return readFile(`${statePath}.bak`, "utf8");
  }

  async function snapshot(): Promise<Record<string, string>> {
    const names = (await readdir(dir)).sort();
    const entries = await Promise.all(
      names.map(async (n) => [n, (await stat(join(dir, n))).isDirectory() ? "<dir>" : await readFile(join(dir, n), "utf8")]),
    );
    return Object.fromEntries(entries);
  }

  it("given a good .bak, when read, then StateError names both files and tells how to restore or start over", async () => {
    await loseTheStateFile();
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toBe(`state file ${statePath} is missing, but its backup ${statePath}.bak exists (serial 1)`);
    expect((error as StateError).hint).toBe(
      `restore it with: cp ${statePath}.bak ${statePath} — or, to start over on purpose (every target user will be ` +
        `matched and adopted again, pending deprovisionings forgotten), delete ${statePath}.bak`,
    );
  });

  it("given a good .bak, when read twice, then both refuse and the file system is untouched (no restore, no new file)", async () => {
    await loseTheStateFile();
    const before = await snapshot();
    expect(Object.keys(before)).toEqual(["state.json.bak"]);
    const store = aStore();
    await expect(store.read(TARGET)).rejects.toBeInstanceOf(StateError);
    await expect(store.read(TARGET)).rejects.toBeInstanceOf(StateError);
    expect(await snapshot()).toEqual(before);
  });

  it("given the .bak is deleted on purpose, when read, then the state is empty without warnings", async () => {
    await loseTheStateFile();
    await rm(`${statePath}.bak`);
    expect(await aStore().read(TARGET)).toEqual({ state: { targetUrl: TARGET, users: {}, groups: {}, serial: 0 }, warnings: [] });
  });

  it("given the .bak is restored as the hint says, when read, then the previous state comes back", async () => {
    const backup = await loseTheStateFile();
    await writeFile(statePath, backup);
    const { state, warnings } = await aStore().read(TARGET);
    expect(state).toEqual(aState({ serial: 1 }));
    expect(warnings).toEqual([]);
  });

  it("given a path with a space, when refused, then the hint quotes it for the shell", async () => {
    statePath = join(dir, "my state.json");
    await writeFile(`${statePath}.bak`, JSON.stringify({ version: STATE_VERSION, serial: 4, targetUrl: TARGET, users: {}, groups: {} }));
    const error = await catchError(aStore().read(TARGET));
    expect((error as StateError).hint).toContain(`cp '${statePath}.bak' '${statePath}'`);
  });

  it.each([
    ["damaged", async () => writeFile(`${statePath}.bak`, "{ garbage"), /^and is damaged \(not valid JSON: .*\)$/],
    [
      "from a newer scimsync",
      async () => writeFile(`${statePath}.bak`, JSON.stringify({ version: STATE_VERSION + 1 })),
      new RegExp(`^\\(written by a newer scimsync, version ${STATE_VERSION + 1}\\)$`),
    ],
    ["unreadable (a folder)", async () => mkdir(`${statePath}.bak`), /^and cannot be read \(EISDIR\)$/],
  ])("given a .bak that is %s, when read, then it still refuses, naming both files", async (_, makeBackup, detail) => {
    await makeBackup();
    const before = await snapshot();
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    const prefix = `state file ${statePath} is missing, but its backup ${statePath}.bak exists `;
    expect(error.message.startsWith(prefix)).toBe(true);
    expect(error.message.slice(prefix.length)).toMatch(detail);
    expect((error as StateError).hint).toContain(`delete ${statePath}.bak`);
    expect(await snapshot()).toEqual(before);
  });
});

describe("versions and migrations", () => {
  it("given a file from a newer scimsync, when read or written, then StateError and the bytes are unchanged", async () => {
    const bytes = `${JSON.stringify({ version: STATE_VERSION + 1, serial: 9, targetUrl: TARGET, people: [] })}\n`;
    await writeFile(statePath, bytes);
    await writeFile(`${statePath}.bak`, JSON.stringify({ version: 1, serial: 8, targetUrl: TARGET, users: {} }));
    const store = aStore();

    const readError = await catchError(store.read(TARGET));
    expect(readError).toBeInstanceOf(StateError);
    expect(readError.message).toBe(
      `state file ${statePath} was written by a newer scimsync (version ${STATE_VERSION + 1}); upgrade scimsync`,
    );
    const writeError = await catchError(store.write(aState({ serial: 9 })));
    expect(writeError).toBeInstanceOf(StateError);
    expect(await readFile(statePath, "utf8")).toBe(bytes);
    expect((await readdir(dir)).sort()).toEqual(["state.json", "state.json.bak"]);
  });

  it("given a version 0 file, when read, then users become a map and pending reasons become condition timers", async () => {
    await writeFile(
      statePath,
      JSON.stringify({
        version: 0,
        targetUrl: TARGET,
        users: [
          { sourceId: "s1", targetId: "t1", userName: "ada@example.com", createdAt: "2023-01-01T00:00:00Z" },
          {
            sourceId: "s2",
            targetId: "t2",
            userName: "bob@example.com",
            createdAt: "2023-02-01T00:00:00Z",
            pending: { reason: "outOfScope", since: "2023-06-01T12:00:00Z" },
          },
          {
            sourceId: "s3",
            targetId: "t3",
            userName: "cy@example.com",
            createdAt: "2023-03-01T00:00:00Z",
            pending: { reason: "deleted", since: "2023-07-01T00:00:00Z" },
          },
        ],
      }),
    );
    const { state, warnings } = await aStore().read(TARGET);
    expect(warnings).toEqual([]);
    expect(state).toEqual({
      targetUrl: TARGET,
      serial: 0,
      groups: {},
      users: {
        s1: { targetId: "t1", userName: "ada@example.com", origin: "created", since: "2023-01-01T00:00:00Z", conditions: {} },
        s2: {
          targetId: "t2",
          userName: "bob@example.com",
          origin: "created",
          since: "2023-02-01T00:00:00Z",
          conditions: { outOfScope: "2023-06-01T12:00:00Z" },
        },
        s3: {
          targetId: "t3",
          userName: "cy@example.com",
          origin: "created",
          since: "2023-03-01T00:00:00Z",
          conditions: { deleted: "2023-07-01T00:00:00Z" },
        },
      },
    });
  });

  it("given a version 0 file, when the migrated state is written, then the file is version 2 and .bak keeps the old layout", async () => {
    const v0 = JSON.stringify({
      version: 0,
      targetUrl: TARGET,
      users: [{ sourceId: "s1", targetId: "t1", userName: "ada@example.com", createdAt: "2023-01-01T00:00:00Z" }],
    });
    await writeFile(statePath, v0);
    const store = aStore();
    const { state } = await store.read(TARGET);
    await store.write(state);
    expect(JSON.parse(await readFile(statePath, "utf8"))).toMatchObject({ version: STATE_VERSION, serial: 1, users: { s1: { targetId: "t1" } }, groups: {} });
    expect(await readFile(`${statePath}.bak`, "utf8")).toBe(v0);
  });

  const v1File = {
    version: 1,
    serial: 5,
    targetUrl: TARGET,
    users: {
      s1: { targetId: "t1", userName: "ada@example.com", origin: "adopted", since: "2023-01-01T00:00:00Z", conditions: {} },
      s2: {
        targetId: "t2",
        userName: "bob@example.com",
        origin: "created",
        since: "2023-02-01T00:00:00Z",
        suspendedAt: "2023-06-02T00:00:00Z",
        conditions: { outOfScope: "2023-06-01T12:00:00Z" },
      },
    },
    lastRun: { runId: "r1", startedAt: "2023-06-02T00:00:00Z", finishedAt: "2023-06-02T00:00:10Z", result: "ok", counts: { suspend: 1 } },
  };

  it("given a version 1 file, when read, then users, serial and last run are kept and no group is managed yet", async () => {
    await writeFile(statePath, JSON.stringify(v1File));
    const { state, warnings } = await aStore().read(TARGET);
    expect(warnings).toEqual([]);
    const { version: _, ...rest } = v1File;
    expect(state).toEqual({ ...rest, groups: {} });
    expect(state.groupMembersHidden).toBeUndefined();
  });

  it("given a version 1 file, when the migrated state is written, then the file is version 2 and .bak keeps the version 1 bytes", async () => {
    const v1 = JSON.stringify(v1File);
    await writeFile(statePath, v1);
    const store = aStore();
    const { state } = await store.read(TARGET);
    await store.write(state);
    expect(JSON.parse(await readFile(statePath, "utf8"))).toMatchObject({ version: STATE_VERSION, serial: 6, users: v1File.users, groups: {} });
    expect(await readFile(`${statePath}.bak`, "utf8")).toBe(v1);
  });

  it("given a version 1 file that already has groups, when read, then it is damaged: version 1 never had them", async () => {
    await writeFile(statePath, JSON.stringify({ ...v1File, groups: {} }));
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain("version 1 layout");
    expect(error.message).toContain("groups");
  });

  it("given a version 5 file, when read, then it is refused as written by a newer scimsync", async () => {
    await writeFile(statePath, JSON.stringify({ version: 5, serial: 1, targetUrl: TARGET, users: {}, groups: {} }));
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toBe(`state file ${statePath} was written by a newer scimsync (version 5); upgrade scimsync`);
    expect((error as StateError).hint).toBe("this scimsync reads state versions up to 4; the file was left untouched");
  });

  it("given a version 2 file, when read and written, then it becomes the current version with nothing lost", async () => {
    const v2 = { version: 2, serial: 3, targetUrl: TARGET, users: { s1: { targetId: "t1", userName: "ada@example.com", origin: "created", since: "2026-01-01T00:00:00Z", conditions: {} } }, groups: {} };
    await writeFile(statePath, JSON.stringify(v2));
    const store = aStore();
    await store.lock();
    const { state } = await store.read(TARGET);
    await store.write({ ...state, sourceCache: { kind: "microsoft", note: "kept" } });
    await store.unlock();

    const onDisk = JSON.parse(await readFile(statePath, "utf8"));
    expect(onDisk).toMatchObject({ version: STATE_VERSION, serial: 4, users: v2.users, groups: {}, source: { kind: "microsoft", note: "kept" } });
    expect((await aStore().read(TARGET)).state.sourceCache).toEqual({ kind: "microsoft", note: "kept" });
  });

  it("given a version 0 file listing a source id twice, when read, then it is damaged rather than guessed at", async () => {
    const user = { sourceId: "s1", targetId: "t1", userName: "ada@example.com", createdAt: "2023-01-01T00:00:00Z" };
    await writeFile(statePath, JSON.stringify({ version: 0, targetUrl: TARGET, users: [user, { ...user, targetId: "t9" }] }));
    const error = await catchError(aStore().read(TARGET));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain('version 0 layout: users lists sourceId "s1" twice');
  });
});

describe("target URL", () => {
  it("given a state for another target, when read, then StateError tells to use a separate state.path", async () => {
    await aStore().write(aState());
    const error = await catchError(aStore().read("https://other.example.com/scim/v2"));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toBe(
      `state file ${statePath} belongs to target https://app.example.com/scim/v2, ` +
        "but the config points at https://other.example.com/scim/v2; use a separate state.path per target",
    );
  });

  it.each(["HTTPS://APP.example.com/scim/v2/", "https://app.example.com:443/scim/v2", "https://app.example.com/scim/v2//"])(
    "given the same target spelled %s, when read, then it matches",
    async (spelling) => {
      await aStore().write(aState());
      await expect(aStore().read(spelling)).resolves.toMatchObject({ state: { serial: 1 } });
    },
  );

  it("given the same host but another path, when read, then it is another target", async () => {
    await aStore().write(aState());
    await expect(aStore().read("https://app.example.com/scim/v3")).rejects.toBeInstanceOf(StateError);
  });
});

describe("crash safety", () => {
  it("given the final rename fails, when written, then the old state is still read and no temp file is left", async () => {
    const setup = aStore();
    const state = aState();
    await setup.write(state);
    const before = await readFile(statePath, "utf8");

    const failing = aStore({
      beforeRename: (_from, to) => {
        if (to === statePath) throw Object.assign(new Error("simulated crash"), { code: "EIO" });
      },
    });
    const { state: read } = await failing.read(TARGET);
    read.users = {};
    const error = await catchError(failing.write(read));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain("the previous state is unchanged");
    expect(read.serial).toBe(1);

    expect(await readFile(statePath, "utf8")).toBe(before);
    expect((await aStore().read(TARGET)).state).toEqual({ ...state, serial: 1 });
    expect(await readFile(`${statePath}.bak`, "utf8")).toBe(before);
    expect(await tempFilesIn(dir)).toEqual([]);
  });

  it("given a crash between replacing .bak and the state file, when written again, then .bak holds the previous state and no temp file is left", async () => {
    await aStore().write(aState());
    const crashing = aStore({
      beforeRename: (_from, to) => {
        if (to === statePath) throw Object.assign(new Error("simulated crash"), { code: "EIO" });
      },
    });
    const { state } = await crashing.read(TARGET);
    await catchError(crashing.write(state));
    // The backup is now the state file itself (one file under two names, when linked).
    const current = await readFile(statePath, "utf8");
    expect(await readFile(`${statePath}.bak`, "utf8")).toBe(current);

    const next = aStore();
    const { state: again } = await next.read(TARGET);
    await next.write(again);
    expect(await readFile(`${statePath}.bak`, "utf8")).toBe(current);
    expect(await tempFilesIn(dir)).toEqual([]);
  });

  it("given the backup cannot be replaced (.bak is a folder), when written, then nothing changes and temp files are removed", async () => {
    const store = aStore();
    const state = aState();
    await store.write(state);
    const before = await readFile(statePath, "utf8");
    await mkdir(`${statePath}.bak`);
    await writeFile(join(`${statePath}.bak`, "keep"), "x");

    const error = await catchError(store.write(state));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain(statePath);
    expect(await readFile(statePath, "utf8")).toBe(before);
    expect(await tempFilesIn(dir)).toEqual([]);
  });

  it("given temp files left by a crashed write, when locked, then they are removed and others are kept", async () => {
    await writeFile(`${statePath}.4242.0123456789ab.tmp`, "{");
    await writeFile(`${statePath}.bak.4242.0123456789ab.tmp`, "{");
    await writeFile(join(dir, "notes.tmp"), "mine");
    await aStore().lock();
    expect(await tempFilesIn(dir)).toEqual(["notes.tmp"]);
  });
});

describe("run lock", () => {
  it("given one store holds the lock, when a second store locks, then LockedError names pid, host and lock path", async () => {
    await aStore().lock();
    const error = await catchError(aStore().lock());
    expect(error).toBeInstanceOf(LockedError);
    expect(error.message).toMatch(
      new RegExp(
        `^another scimsync run \\(pid ${process.pid} on host ${hostname().replace(/[.]/g, "\\.")}, started at \\d{4}-.*Z\\) ` +
          `holds the lock on ${statePath.replace(/[.]/g, "\\.")}\\.lock; wait for it to finish$`,
      ),
    );
    expect((error as LockedError).hint).toBeTruthy();
  });

  it("given the first store unlocked, when the second locks, then it gets the lock; unlock twice is harmless", async () => {
    const first = aStore();
    await first.lock();
    await first.unlock();
    await first.unlock();
    const second = aStore();
    await second.lock();
    await expect(first.lock()).rejects.toBeInstanceOf(LockedError);
    await second.unlock();
    await expect(stat(`${statePath}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("given no state file and no folder yet, when locked, then the lock is taken", async () => {
    const store = aStore({}, join(dir, "new", "state.json"));
    await store.lock();
    expect((await stat(join(dir, "new", "state.json.lock", "owner.json"))).isFile()).toBe(true);
  });

  it("given a lock left by a dead process on this host, when locked, then it is taken over with a warning", async () => {
    const pid = await deadPid();
    await writeForeignLock({ pid, hostname: hostname() });
    const { warnings, onWarning } = collectWarnings();
    const store = aStore({ onWarning });
    await store.lock();
    expect(warnings).toEqual([`took over a lock left by process ${pid}, which is no longer running`]);
    const owner = JSON.parse(await readFile(`${statePath}.lock/owner.json`, "utf8"));
    expect(owner.pid).toBe(process.pid);
    await expect(aStore().lock()).rejects.toBeInstanceOf(LockedError);
  });

  it("given a 30 s old lock from another host and default options, when locked, then it is not taken over (stale is 60 s)", async () => {
    // The owner's pid is alive here, but on another host it cannot be checked: only staleness counts.
    const lockDir = await writeForeignLock({ pid: process.pid, hostname: "elsewhere.example" });
    const paused = new Date(Date.now() - 30_000);
    await utimes(lockDir, paused, paused);
    const { warnings, onWarning } = collectWarnings();
    const error = await catchError(aStore({ onWarning }).lock());
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).hint).toContain("once nobody has refreshed it for 60s");
    expect(warnings).toEqual([]);
    expect(JSON.parse(await readFile(join(lockDir, "owner.json"), "utf8")).hostname).toBe("elsewhere.example");
  });

  it("given a lock from another host unrefreshed for over 60 s and default options, when locked, then it is taken over", async () => {
    const lockDir = await writeForeignLock({ pid: process.pid, hostname: "elsewhere.example" });
    const old = new Date(Date.now() - 61_000);
    await utimes(lockDir, old, old);
    const { warnings, onWarning } = collectWarnings();
    await aStore({ onWarning }).lock();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("took over a stale lock");
  });

  it("given a fresh lock held from another host, when locked, then LockedError names that host", async () => {
    await writeForeignLock({ pid: 1, hostname: "elsewhere.example" });
    const error = await catchError(aStore().lock());
    expect(error).toBeInstanceOf(LockedError);
    expect(error.message).toContain("pid 1 on host elsewhere.example, started at 2024-05-06T07:08:09.000Z");
  });

  it("given a lock nobody refreshed for longer than staleLockMs, when locked, then it is taken over with a warning", async () => {
    const lockDir = await writeForeignLock({ pid: 1, hostname: "elsewhere.example" });
    const old = new Date(Date.now() - 60_000);
    await utimes(lockDir, old, old);
    const { warnings, onWarning } = collectWarnings();
    await aStore({ staleLockMs: 2000, onWarning }).lock();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("took over a stale lock left by process 1 on host elsewhere.example");
  });

  it("given a run longer than staleLockMs, when another store locks, then the heartbeat has kept the lock fresh", async () => {
    const { warnings, onWarning } = collectWarnings();
    const store = aStore({ staleLockMs: 2000, onWarning });
    await store.lock();
    await new Promise((r) => setTimeout(r, 3000));
    const { warnings: otherWarnings, onWarning: otherOnWarning } = collectWarnings();
    await expect(aStore({ staleLockMs: 2000, onWarning: otherOnWarning }).lock()).rejects.toBeInstanceOf(LockedError);
    expect(otherWarnings).toEqual([]);
    expect(warnings).toEqual([]);
    const { state } = await store.read(TARGET);
    await store.write(state);
    expect(state.serial).toBe(1);
  });

  it("given the lock is lost during the run, when written, then StateError and the file is not touched", async () => {
    const { warnings, onWarning } = collectWarnings();
    const store = aStore({ staleLockMs: 2000, onWarning });
    await store.lock();
    const { state } = await store.read(TARGET);
    await store.write(state);
    const before = await readFile(statePath, "utf8");

    // Another run's takeover shows up as a changed mtime at the next heartbeat (every second here).
    const elsewhere = new Date(Date.now() - 30_000);
    await utimes(`${statePath}.lock`, elsewhere, elsewhere);
    const deadline = Date.now() + 5000;
    while (warnings.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(warnings[0]).toMatch(/^lost the lock .*state\.json\.lock during the run/);

    const error = await catchError(store.write(state));
    expect(error).toBeInstanceOf(StateError);
    expect(error.message).toContain("was lost during this run");
    expect(await readFile(statePath, "utf8")).toBe(before);
    // The lock folder is the other run's now: unlocking must not remove it.
    await store.unlock();
    expect((await stat(`${statePath}.lock`)).isDirectory()).toBe(true);
  });

  /** Makes the held lock look taken over by another run, and waits until the store notices. */
  async function loseTheLock(noticed: () => boolean): Promise<void> {
    const elsewhere = new Date(Date.now() - 30_000);
    await utimes(`${statePath}.lock`, elsewhere, elsewhere);
    const deadline = Date.now() + 5000;
    while (!noticed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }

  it("given the lock is lost during the run, then onLockLost is called once with the reason, after the warning naming the lock", async () => {
    const events: string[] = [];
    const reasons: string[] = [];
    const store = aStore({
      staleLockMs: 2000,
      onWarning: (m) => events.push(`warning: ${m}`),
      onLockLost: (reason) => {
        events.push("lock lost");
        reasons.push(reason);
      },
    });
    await store.lock();
    await loseTheLock(() => reasons.length > 0);

    expect(reasons).toEqual(["Unable to update lock within the stale threshold"]);
    expect(events).toEqual([`warning: lost the lock ${statePath}.lock during the run (${reasons[0]}); the state will not be written`, "lock lost"]);
    // Past two more heartbeats (one second each here): still once.
    await new Promise((r) => setTimeout(r, 2200));
    expect(reasons).toHaveLength(1);
    await expect(store.write(aState())).rejects.toThrow("was lost during this run");
  });

  it("given onLockLost throws, when the lock is lost, then the process survives, a warning says so and writes still refuse", async () => {
    const { warnings, onWarning } = collectWarnings();
    let calls = 0;
    const store = aStore({
      staleLockMs: 2000,
      onWarning,
      onLockLost: () => {
        calls += 1;
        throw new Error("handler broke");
      },
    });
    await store.lock();
    await loseTheLock(() => calls > 0);
    expect(calls).toBe(1);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toBe(`the handler for the lost lock ${statePath}.lock failed: handler broke`);
    await expect(store.write(aState())).rejects.toBeInstanceOf(StateError);
  });

  it("given the lock is held and kept, then onLockLost is never called", async () => {
    let calls = 0;
    const store = aStore({ staleLockMs: 2000, onLockLost: () => (calls += 1) });
    await store.lock();
    await new Promise((r) => setTimeout(r, 2500));
    await store.write(aState());
    await store.unlock();
    expect(calls).toBe(0);
  });
});
