import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SourceSnapshot } from "../src/core/model.js";
import { SourceError } from "../src/errors.js";
import { FileSource } from "../src/sources/file-source.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-source-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readFileText(name: string, text: string): Promise<SourceSnapshot> {
  const file = join(dir, name);
  await writeFile(file, text);
  return new FileSource(file).read();
}

function readJson(document: unknown): Promise<SourceSnapshot> {
  return readFileText("directory.json", JSON.stringify(document));
}

async function readError(name: string, text: string | undefined): Promise<SourceError> {
  const file = join(dir, name);
  if (text !== undefined) await writeFile(file, text);
  const error = await new FileSource(file).read().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

/** A valid JSON user record; `overrides` may set a field to undefined to leave it out. */
function aUser(n: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const record: Record<string, unknown> = {
    id: `u-${n}`,
    userName: `user${n}@example.com`,
    email: `user${n}@example.com`,
    givenName: "Given",
    familyName: `Family${n}`,
    active: true,
    ...overrides,
  };
  for (const [key, value] of Object.entries(record)) if (value === undefined) delete record[key];
  return record;
}

describe("FileSource with the examples", () => {
  it("Given examples/directory.json, it reads about 50 users and the nested groups without problems", async () => {
    const snapshot = await new FileSource(resolve("examples/directory.json")).read();
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.complete).toBe(true);
    expect(snapshot.users).toHaveLength(50);
    expect(snapshot.users.filter((u) => !u.active)).toHaveLength(2);
    expect(snapshot.users.map((u) => u.givenName)).toEqual(expect.arrayContaining(["Zoë", "Łukasz"]));
    expect(snapshot.users.map((u) => u.familyName)).toContain("O'Brien");
    expect(new Set(snapshot.users.map((u) => u.department))).toEqual(
      new Set(["Engineering", "Sales", "Support", "Finance", "People", undefined]),
    );
    expect(snapshot.groups.map((g) => g.id)).toEqual(["g-eng", "g-sales", "g-support", "g-fin", "g-all"]);
    const allStaff = snapshot.groups.find((g) => g.displayName === "All Staff");
    expect(allStaff?.members).toEqual(expect.arrayContaining(["g-eng", "g-sales", "g-support", "g-fin"]));
    const ids = new Set(snapshot.users.map((u) => u.id));
    for (const user of snapshot.users) {
      expect(user.userName).toMatch(/@example\.com$/);
      if (user.manager) expect(ids).toContain(user.manager);
    }
    for (const group of snapshot.groups) {
      for (const member of group.members) expect(ids.has(member) || snapshot.groups.some((g) => g.id === member)).toBe(true);
    }
  });

  it("Given examples/directory.csv, it reads the users and builds groups from the groups column", async () => {
    const snapshot = await new FileSource(resolve("examples/directory.csv")).read();
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.complete).toBe(true);
    expect(snapshot.users).toHaveLength(10);
    const byId = new Map(snapshot.users.map((u) => [u.id, u]));
    expect(byId.get("u-2005")?.title).toBe("Director, Sales");
    expect(byId.get("u-2007")?.active).toBe(false);
    expect(byId.get("u-2006")?.active).toBe(true);
    expect(byId.get("u-2004")).not.toHaveProperty("displayName");
    expect(byId.get("u-2001")).not.toHaveProperty("department");
    const engineering = snapshot.groups.find((g) => g.displayName === "Engineering");
    expect(engineering).toEqual({ id: "Engineering", displayName: "Engineering", members: ["u-2002", "u-2003", "u-2004"] });
    expect(snapshot.groups.find((g) => g.id === "All Staff")?.members).toHaveLength(10);
  });
});

describe("FileSource with JSON", () => {
  it("Given numbers for ids, padded strings, nulls and extra fields, it normalises them", async () => {
    const snapshot = await readJson({
      users: [
        { id: 1001, userName: "  ana@example.com ", email: " ana@example.com", givenName: "Ana", familyName: null, title: "", employeeNumber: 42, manager: 1000, costCenter: "CC-7", phone: " " },
      ],
    });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users).toEqual([
      {
        id: "1001",
        userName: "ana@example.com",
        email: "ana@example.com",
        givenName: "Ana",
        active: true,
        employeeNumber: "42",
        manager: "1000",
        extra: { costCenter: "CC-7" },
      },
    ]);
    expect(snapshot.groups).toEqual([]);
  });

  const malformed: { name: string; record: Record<string, unknown>; reason: string; id?: string; userName?: string }[] = [
    { name: "no id", record: aUser(2, { id: undefined }), reason: "id is missing", userName: "user2@example.com" },
    { name: "a blank id", record: aUser(2, { id: "   " }), reason: "id is missing", userName: "user2@example.com" },
    { name: "no userName", record: aUser(2, { userName: undefined }), reason: "userName is missing", id: "u-2" },
    { name: "a bad email", record: aUser(2, { email: "user2 at example.com" }), reason: 'email "user2 at example.com" is not an email address', id: "u-2", userName: "user2@example.com" },
    { name: "active as text", record: aUser(2, { active: "yes" }), reason: 'active must be true or false', id: "u-2", userName: "user2@example.com" },
    { name: "active as null", record: aUser(2, { active: null }), reason: "active must be true or false (in CSV also yes/no/1/0, or empty), got null", id: "u-2", userName: "user2@example.com" },
    { name: "a name of the wrong type", record: aUser(2, { givenName: ["Ann"] }), reason: "givenName must be text, got a list", id: "u-2", userName: "user2@example.com" },
    { name: "an id of the wrong type", record: aUser(2, { id: true, userName: "user2@example.com" }), reason: "id must be text or a number, got true", userName: "user2@example.com" },
    { name: "a control character in userName", record: aUser(2, { userName: "user2\u0000@example.com" }), reason: "userName contains a control character", id: "u-2" },
  ];

  it.each(malformed)("Given a record with $name, it reports it with its location, skips it and protects it", async (c) => {
    const snapshot = await readJson({ users: [aUser(1), c.record, aUser(3)] });
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-1", "u-3"]);
    expect(snapshot.problems).toHaveLength(1);
    const problem = snapshot.problems[0];
    expect(problem?.location).toBe("users[1]");
    expect(problem?.reason).toContain(c.reason);
    expect(problem?.id).toBe(c.id);
    expect(problem?.userName).toBe(c.userName);
    expect(snapshot.protectedIds).toEqual(c.id ? [c.id] : []);
    expect(snapshot.protectedUserNames).toEqual(c.userName ? [c.userName] : []);
    expect(snapshot.complete).toBe(true);
  });

  it.each([
    { name: "no email", email: undefined },
    { name: "a null email", email: null },
    { name: "a blank email", email: "   " },
  ])("Given a record with $name, it reads a valid user without email", async (c) => {
    const snapshot = await readJson({ users: [aUser(1), aUser(2, { email: c.email })] });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-1", "u-2"]);
    expect(snapshot.users[1]).not.toHaveProperty("email");
    expect(snapshot.protectedIds).toEqual([]);
    expect(snapshot.complete).toBe(true);
  });

  it("Given a leaver whose mailbox is gone (active false, no email), it reads them as inactive so they can be deprovisioned", async () => {
    const snapshot = await readJson({ users: [aUser(1), aUser(2, { email: undefined, active: false })] });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users[1]).toEqual({ id: "u-2", userName: "user2@example.com", givenName: "Given", familyName: "Family2", active: false });
    expect(snapshot.protectedIds).toEqual([]);
    expect(snapshot.protectedUserNames).toEqual([]);
  });

  it("Given a record with several faults, it lists every one in the reason", async () => {
    const snapshot = await readJson({ users: [aUser(1, { email: "nope", active: "no", title: 7 })] });
    const reason = snapshot.problems[0]?.reason ?? "";
    expect(reason).toContain("email");
    expect(reason).toContain("active");
    expect(reason).toContain("title must be text, got 7");
  });

  it("Given two records with one id, it skips both and protects the id", async () => {
    const snapshot = await readJson({ users: [aUser(1), aUser(2, { id: "u-1" }), aUser(3)] });
    expect(snapshot.users.map((u) => u.userName)).toEqual(["user3@example.com"]);
    expect(snapshot.problems.map((p) => p.location)).toEqual(["users[0]", "users[1]"]);
    expect(snapshot.problems[0]?.reason).toContain('id "u-1" is also used by users[1]');
    expect(snapshot.problems[1]?.reason).toContain('id "u-1" is also used by users[0]');
    expect(snapshot.protectedIds).toEqual(["u-1"]);
    expect(snapshot.complete).toBe(true);
  });

  it("Given two records whose userNames differ only in case, it skips both and protects both ids", async () => {
    const snapshot = await readJson({
      users: [aUser(1, { userName: "Ana.Lima@example.com" }), aUser(2), aUser(3, { userName: "ana.lima@EXAMPLE.com" })],
    });
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-2"]);
    expect(snapshot.problems).toEqual([
      expect.objectContaining({ location: "users[0]", id: "u-1", userName: "Ana.Lima@example.com", reason: expect.stringContaining("users[2]") }),
      expect.objectContaining({ location: "users[2]", id: "u-3", userName: "ana.lima@EXAMPLE.com", reason: expect.stringContaining("users[0]") }),
    ]);
    expect(snapshot.problems[0]?.reason).toContain("ignoring case");
    expect(snapshot.protectedIds).toEqual(["u-1", "u-3"]);
    expect(snapshot.protectedUserNames).toEqual(["ana.lima@example.com"]);
    expect(snapshot.complete).toBe(true);
  });

  it("Given a broken record that shares a userName with a valid one, it skips both: either could be the real one", async () => {
    const snapshot = await readJson({ users: [aUser(1, { userName: "bo@example.com" }), aUser(2, { userName: "BO@example.com", email: "x" })] });
    expect(snapshot.users).toEqual([]);
    expect(snapshot.protectedIds).toEqual(["u-1", "u-2"]);
  });

  it("Given a record with neither id nor userName, the snapshot is incomplete", async () => {
    const snapshot = await readJson({ users: [aUser(1), aUser(2, { id: undefined, userName: undefined })] });
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-1"]);
    expect(snapshot.problems).toEqual([{ location: "users[1]", reason: expect.stringContaining("id is missing") }]);
    expect(snapshot.complete).toBe(false);
  });

  it("Given an entry that is not an object, it reports it and the snapshot is incomplete", async () => {
    const snapshot = await readJson({ users: [aUser(1), "user2@example.com"] });
    expect(snapshot.problems).toEqual([{ location: "users[1]", reason: expect.stringContaining("is not a user record") }]);
    expect(snapshot.complete).toBe(false);
  });

  it.each([
    { name: "no members", group: { id: "g-1", displayName: "Sales" }, reason: "members is missing" },
    { name: "no displayName", group: { id: "g-1", members: ["u-1"] }, reason: "displayName is missing" },
    { name: "a member that is not an id", group: { id: "g-1", displayName: "Sales", members: [{ id: "u-1" }] }, reason: "members must hold user or group ids" },
  ])("Given a group with $name, it reports and skips it, and the snapshot is incomplete", async (c) => {
    const snapshot = await readJson({ users: [aUser(1)], groups: [{ id: "g-0", displayName: "All", members: [1] }, c.group] });
    expect(snapshot.users).toHaveLength(1);
    expect(snapshot.groups).toEqual([{ id: "g-0", displayName: "All", members: ["1"] }]);
    expect(snapshot.problems).toEqual([{ location: "groups[1]", id: "g-1", reason: expect.stringContaining(c.reason) }]);
    expect(snapshot.complete).toBe(false);
  });

  it("Given two groups with one id, it skips both and the snapshot is incomplete", async () => {
    const snapshot = await readJson({
      users: [aUser(1)],
      groups: [
        { id: "g-1", displayName: "Sales", members: ["u-1"] },
        { id: "g-1", displayName: "Support", members: [] },
      ],
    });
    expect(snapshot.groups).toEqual([]);
    expect(snapshot.problems.map((p) => p.location)).toEqual(["groups[0]", "groups[1]"]);
    expect(snapshot.complete).toBe(false);
  });

  it("Given a UTF-8 byte order mark, it reads the file", async () => {
    const snapshot = await readFileText("directory.json", `\uFEFF${JSON.stringify({ users: [aUser(1)] })}`);
    expect(snapshot.users).toHaveLength(1);
  });
});

describe("FileSource with CSV", () => {
  const HEADER = "id,userName,email,givenName,familyName,active,title,groups";

  it("Given a BOM, CRLF line ends, blank lines and varied active words, it reads every row", async () => {
    const rows = [
      HEADER,
      "u-1,ana@example.com,ana@example.com,Ana,Lima,TRUE,Engineer,Engineering; All Staff",
      "",
      "u-2,bo@example.com,bo@example.com,Bo,Berg,No,,engineering",
      "u-3,cy@example.com,cy@example.com,Cy,Cole,0,,",
      "u-4,di@example.com,di@example.com,Di,Dunn,,,All Staff",
      "u-5,ed@example.com,ed@example.com,Ed,Eto,yes,\"Lead, Support\",",
    ];
    const snapshot = await readFileText("people.csv", `\uFEFF${rows.join("\r\n")}\r\n`);
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users.map((u) => [u.id, u.active])).toEqual([
      ["u-1", true],
      ["u-2", false],
      ["u-3", false],
      ["u-4", true],
      ["u-5", true],
    ]);
    expect(snapshot.users[4]?.title).toBe("Lead, Support");
    expect(snapshot.users[1]).not.toHaveProperty("title");
    expect(snapshot.groups).toEqual([
      { id: "Engineering", displayName: "Engineering", members: ["u-1", "u-2"] },
      { id: "All Staff", displayName: "All Staff", members: ["u-1", "u-4"] },
    ]);
  });

  it("Given header names in another case and extra columns, it maps the known ones and keeps the rest", async () => {
    const snapshot = await readFileText("people.csv", "ID,Username,EMAIL,Cost Center\nu-1,ana@example.com,ana@example.com,CC-7\n");
    expect(snapshot.users).toEqual([{ id: "u-1", userName: "ana@example.com", email: "ana@example.com", active: true, extra: { "Cost Center": "CC-7" } }]);
  });

  it("Given malformed rows, it reports each by line, skips it and protects what identifies it", async () => {
    const text = [
      HEADER,
      "u-1,ana@example.com,ana@example.com,Ana,Lima,maybe,,",
      "u-2,bo@example.com,bo(at)example.com,Bo,Berg,yes,,",
      ",,,Nobody,Known,yes,,",
      'u-4,"di\nnewline@example.com",di@example.com,Di,Dunn,yes,,',
      "u-5,ed@example.com,ed@example.com,Ed,Eto,yes,Director, Sales,Sales",
      "u-6,fay@example.com,fay@example.com,Fay,Fox,yes,,",
      "u-7,FAY@example.com,fay@example.com,Fay,Fox,yes,,",
      "u-8,gus@example.com,gus@example.com,Gus,Gil,yes,,",
    ].join("\n");
    const snapshot = await readFileText("people.csv", text);
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-8"]);
    expect(snapshot.problems.map((p) => [p.location, p.id])).toEqual([
      ["line 2", "u-1"],
      ["line 3", "u-2"],
      ["line 4", undefined],
      ["line 5", "u-4"],
      ["line 7", "u-5"],
      ["line 8", "u-6"],
      ["line 9", "u-7"],
    ]);
    const reasons = snapshot.problems.map((p) => p.reason);
    expect(reasons[0]).toContain('active must be true or false (in CSV also yes/no/1/0, or empty), got "maybe"');
    expect(reasons[1]).toContain("is not an email address");
    expect(reasons[2]).toContain("id is missing");
    expect(reasons[3]).toContain("userName contains a control character");
    expect(reasons[4]).toContain("has 9 fields but the header row has 8");
    expect(reasons[5]).toContain("line 9");
    expect(snapshot.protectedIds).toEqual(["u-1", "u-2", "u-4", "u-5", "u-6", "u-7"]);
    expect(snapshot.protectedUserNames).toEqual(["ana@example.com", "bo@example.com", "ed@example.com", "fay@example.com"]);
    // Line 4 had nothing to identify it by.
    expect(snapshot.complete).toBe(false);
  });

  it("Given a quote that is never closed, it reports the line and the snapshot is incomplete", async () => {
    const snapshot = await readFileText("people.csv", `${HEADER}\nu-1,ana@example.com,ana@example.com,Ana,Lima,yes,,\nu-2,"bo@example.com,bo@example.com,Bo,Berg,yes,,\nu-3,cy@example.com,cy@example.com,Cy,Cole,yes,,\n`);
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-1"]);
    expect(snapshot.problems).toEqual([{ location: expect.stringMatching(/^line \d+$/), reason: expect.stringContaining("never closed") }]);
    expect(snapshot.complete).toBe(false);
  });

  it("Given a header without an id column, it fails with the expected columns", async () => {
    const error = await readError("people.csv", "userName,email\nana@example.com,ana@example.com\n");
    expect(error.message).toContain("has no id column");
    expect(error.hint).toContain("id,userName,email");
  });

  it("Given rows with an empty email cell, it reads them as valid users without email, leavers included", async () => {
    const text = [HEADER, "u-1,ana@example.com,ana@example.com,Ana,Lima,yes,,", "u-2,bo@example.com, ,Bo,Berg,yes,,Sales", "u-3,cy@example.com,,Cy,Cole,no,,"].join("\n");
    const snapshot = await readFileText("people.csv", text);
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users.map((u) => [u.id, u.email, u.active])).toEqual([
      ["u-1", "ana@example.com", true],
      ["u-2", undefined, true],
      ["u-3", undefined, false],
    ]);
    expect(snapshot.users[1]).not.toHaveProperty("email");
    expect(snapshot.users[2]).not.toHaveProperty("email");
    expect(snapshot.protectedIds).toEqual([]);
    expect(snapshot.groups).toEqual([{ id: "Sales", displayName: "Sales", members: ["u-2"] }]);
    expect(snapshot.complete).toBe(true);
  });

  it("Given a header without an email column, it reads the users without email", async () => {
    const snapshot = await readFileText("people.csv", "id,userName,givenName,active\nu-1,ana@example.com,Ana,yes\nu-2,bo@example.com,Bo,no\n");
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users).toEqual([
      { id: "u-1", userName: "ana@example.com", givenName: "Ana", active: true },
      { id: "u-2", userName: "bo@example.com", givenName: "Bo", active: false },
    ]);
    expect(snapshot.complete).toBe(true);
  });

  it("Given a header without a userName column, it fails naming only that column", async () => {
    const error = await readError("people.csv", "id,email\nu-1,ana@example.com\n");
    expect(error.message).toContain("has no userName column");
    expect(error.message).not.toContain("email");
  });

  it("Given a header with neither id nor userName, it names both and only those", async () => {
    const error = await readError("people.csv", "givenName,email\nAna,ana@example.com\n");
    expect(error.message).toContain("has no id or userName column");
    expect(error.message).not.toContain("email");
  });

  it("Given an empty CSV file, it fails", async () => {
    const error = await readError("people.csv", "");
    expect(error.message).toContain("is empty");
  });
});

describe("FileSource failures", () => {
  it("Given invalid JSON, it fails with the file and the fix", async () => {
    const error = await readError("directory.json", '{"users": [ {"id": "u-1",, } ]}');
    expect(error.message).toContain(join(dir, "directory.json"));
    expect(error.message).toContain("is not valid JSON");
    expect(error.hint).toContain("examples/directory.json");
  });

  it("Given JSON without a users list, it fails and shows the expected shape", async () => {
    const error = await readError("directory.json", JSON.stringify([aUser(1)]));
    expect(error.message).toContain('no "users" list');
    expect(error.hint).toContain('{"users": [...], "groups": [...]}');
  });

  it("Given groups that are not a list, it fails", async () => {
    const error = await readError("directory.json", JSON.stringify({ users: [], groups: { "g-1": [] } }));
    expect(error.message).toContain('"groups" entry that is not a list');
  });

  it("Given a missing file, it fails and points at source.path", async () => {
    const error = await readError("absent.json", undefined);
    expect(error.message).toContain(`${join(dir, "absent.json")}: it does not exist`);
    expect(error.hint).toContain("source.path");
  });

  it.skipIf(process.getuid?.() === 0)("Given an unreadable file, it fails with permission denied", async () => {
    const file = join(dir, "directory.json");
    await writeFile(file, "{}");
    await chmod(file, 0o000);
    const error = await readError("directory.json", undefined);
    expect(error.message).toContain("permission denied");
  });

  it("Given a directory, it fails and says so", async () => {
    await mkdir(join(dir, "export.json"));
    const error = await readError("export.json", undefined);
    expect(error.message).toContain("it is a directory");
  });

  it("Given an unsupported extension, it fails and names the supported formats", async () => {
    const error = await readError("people.xlsx", "PK");
    expect(error.message).toContain("reads .json and .csv files, not .xlsx");
    expect(error.hint).toContain("JSON or CSV");
  });
});
