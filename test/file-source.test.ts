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

  it("Given examples/directory.json, it has the SCIM attributes the presets map, and one active member of staff without email", async () => {
    const snapshot = await new FileSource(resolve("examples/directory.json")).read();
    const users = snapshot.users;
    expect(users.filter((u) => u.preferredLanguage).length).toBeGreaterThan(40);
    expect(users.filter((u) => u.addresses).length).toBeGreaterThan(40);
    expect(new Set(users.flatMap((u) => u.addresses ?? []).map((a) => a.country)).size).toBeGreaterThan(4);
    expect(users.flatMap((u) => u.addresses ?? []).every((a) => a.type === "work")).toBe(true);
    expect(users.filter((u) => u.phoneNumbers?.some((p) => p.type === "work")).length).toBeGreaterThan(5);
    expect(users.filter((u) => u.phoneNumbers?.some((p) => p.type === "mobile")).length).toBeGreaterThan(5);
    expect(new Set(users.flatMap((u) => u.roles ?? []))).toEqual(new Set(["Recruiter", "Hiring Manager", "Interviewer"]));
    // Presets that require an email need someone to skip; this must stay an active, in-scope non-manager.
    const withoutEmail = users.filter((u) => u.email === undefined);
    expect(withoutEmail.map((u) => [u.id, u.active])).toEqual([["u-1011", true]]);
    expect(users.some((u) => u.manager === "u-1011")).toBe(false);
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
    expect(engineering).toEqual({ id: "engineering", displayName: "Engineering", members: ["u-2002", "u-2003", "u-2004"] });
    expect(snapshot.groups.find((g) => g.id === "all staff")?.members).toHaveLength(10);
    expect(byId.get("u-2002")).toMatchObject({
      preferredLanguage: "en-GB",
      roles: ["Hiring Manager", "Interviewer"],
      phoneNumbers: [
        { type: "work", value: "+44 20 7946 0202" },
        { type: "mobile", value: "+44 7700 900202" },
      ],
      addresses: [{ type: "work", streetAddress: "30 Old Street", locality: "London", postalCode: "EC1V 9AB", country: "GB" }],
    });
    expect(byId.get("u-2010")).not.toHaveProperty("preferredLanguage");
    expect(byId.get("u-2001")).not.toHaveProperty("phoneNumbers");
    expect(snapshot.users.every((u) => u.extra === undefined)).toBe(true);
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
  const work = { type: "work", locality: "Berlin" };
  const malformedAttributes: { name: string; overrides: Record<string, unknown>; reason: string }[] = [
    { name: "preferredLanguage as a list", overrides: { preferredLanguage: ["en-GB"] }, reason: "preferredLanguage must be text, got a list" },
    { name: "a line break in preferredLanguage", overrides: { preferredLanguage: "en-\nGB" }, reason: "preferredLanguage contains a control character" },
    { name: "manager as an object", overrides: { manager: { value: "u-1" } }, reason: "manager must be text or a number, got an object" },
    { name: "addresses as one object", overrides: { addresses: work }, reason: "addresses must be a list of addresses, got an object" },
    { name: "an address that is text", overrides: { addresses: ["Berlin"] }, reason: 'addresses[0] must be an address (an object with type, formatted, streetAddress, locality, region, postalCode, country, primary), got "Berlin"' },
    { name: "a postalCode as a list", overrides: { addresses: [work, { type: "home", postalCode: ["10115"] }] }, reason: "addresses[1].postalCode must be text, got a list" },
    { name: "a postalCode as a number", overrides: { addresses: [{ type: "work", postalCode: 2139 }] }, reason: "addresses[0].postalCode must be text, got 2139" },
    { name: "a tab in a locality", overrides: { addresses: [{ type: "work", locality: "Ber\tlin" }] }, reason: "addresses[0].locality contains a control character (a line break, tab or similar)" },
    { name: "a tab in a street address", overrides: { addresses: [{ type: "work", streetAddress: "Unter den Linden\t1" }] }, reason: "addresses[0].streetAddress contains a control character other than a line break" },
    {
      name: "an unknown key in an address",
      overrides: { addresses: [{ type: "work", city: "Berlin", zip: "10115" }] },
      reason: 'addresses[0] has unknown keys "city", "zip"; an address accepts type, formatted, streetAddress, locality, region, postalCode, country, primary',
    },
    { name: "primary as text", overrides: { addresses: [{ ...work, primary: "yes" }] }, reason: 'addresses[0].primary must be true or false, got "yes"' },
    {
      name: "two addresses whose types differ only in case",
      overrides: { addresses: [work, { type: "home", locality: "Potsdam" }, { type: "Work", locality: "Hamburg" }] },
      reason: 'addresses[2] has type "Work" like addresses[0] (types are compared ignoring case); a mapping such as addresses[type eq "Work"].locality could not tell them apart',
    },
    { name: "two primary addresses", overrides: { addresses: [{ ...work, primary: true }, { type: "home", locality: "Potsdam", primary: true }] }, reason: "addresses[1] is marked primary like addresses[0]; only one may be" },
    { name: "phoneNumbers as text", overrides: { phoneNumbers: "+49 30 1234567" }, reason: 'phoneNumbers must be a list of phone numbers, got "+49 30 1234567"' },
    { name: "a phone number as a number", overrides: { phoneNumbers: [{ type: "work", value: 4930123 }] }, reason: "phoneNumbers[0].value must be text, got 4930123" },
    { name: "an unknown key in a phone number", overrides: { phoneNumbers: [{ type: "work", number: "+49 30 1234567" }] }, reason: 'phoneNumbers[0] has an unknown key "number"; a phone number accepts type, value, primary' },
    {
      name: "two phone numbers of one type",
      overrides: { phoneNumbers: [{ type: "work", value: "+1 555 0100" }, { type: "mobile", value: "+1 555 0101" }, { type: "mobile", value: "+1 555 0102" }] },
      reason: 'phoneNumbers[2] has type "mobile" like phoneNumbers[1]',
    },
    { name: "a line break in a phone number", overrides: { phoneNumbers: [{ type: "work", value: "+1 555\n0100" }] }, reason: "phoneNumbers[0].value contains a control character" },
    { name: "roles as text", overrides: { roles: "Recruiter" }, reason: 'roles must be a list of text, got "Recruiter"' },
    { name: "a role that is not text", overrides: { roles: ["Recruiter", 3] }, reason: "roles[1] must be text, got 3" },
    { name: "a null role", overrides: { roles: [null] }, reason: "roles[0] must be text, got null" },
    { name: "a control character in a role", overrides: { roles: ["Re\u0007cruiter"] }, reason: "roles[0] contains a control character" },
  ];
  const malformedRecords = [
    ...malformed,
    ...malformedAttributes.map((c) => ({ name: c.name, record: aUser(2, c.overrides), reason: c.reason, id: "u-2", userName: "user2@example.com" })),
  ];

  it.each(malformedRecords)("Given a record with $name, it reports it with its location, skips it and protects it", async (c) => {
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

  it("Given preferredLanguage, addresses, phoneNumbers, roles and manager in SCIM's shapes, it reads them as written", async () => {
    const snapshot = await readJson({
      users: [
        aUser(1, {
          manager: "u-0",
          preferredLanguage: " de-DE ",
          addresses: [
            { type: "work", streetAddress: "Friedrichstraße 68\nAufgang B", locality: "Berlin", region: "Berlin", postalCode: "10117", country: "DE", primary: true },
            { type: "Home", formatted: "Am Kanal 3\r\n14467 Potsdam", country: "DE", region: null, primary: false },
          ],
          phoneNumbers: [
            { type: "work", value: " +49 30 23125 100 " },
            { type: "mobile", value: "+49 1522 3433333", primary: true },
          ],
          roles: ["Recruiter", " Interviewer ", "recruiter", "", "Hiring Manager"],
        }),
      ],
    });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users[0]).toStrictEqual({
      id: "u-1",
      userName: "user1@example.com",
      email: "user1@example.com",
      givenName: "Given",
      familyName: "Family1",
      active: true,
      manager: "u-0",
      preferredLanguage: "de-DE",
      addresses: [
        { type: "work", streetAddress: "Friedrichstraße 68\nAufgang B", locality: "Berlin", region: "Berlin", postalCode: "10117", country: "DE", primary: true },
        { type: "Home", formatted: "Am Kanal 3\r\n14467 Potsdam", country: "DE", primary: false },
      ],
      phoneNumbers: [
        { type: "work", value: "+49 30 23125 100" },
        { type: "mobile", value: "+49 1522 3433333", primary: true },
      ],
      roles: ["Recruiter", "Interviewer", "Hiring Manager"],
    });
  });

  it.each([
    { name: "null lists", overrides: { addresses: null, phoneNumbers: null, roles: null, preferredLanguage: null } },
    { name: "empty lists and a blank language", overrides: { addresses: [], phoneNumbers: [], roles: [], preferredLanguage: "  " } },
    {
      name: "entries with nothing but a type",
      overrides: { addresses: [{ type: "work", locality: " " }, { type: "work", primary: true }], phoneNumbers: [{ type: "work", value: "" }, { type: "work" }], roles: [" ", ""] },
    },
  ])("Given $name, it reads the user without those attributes", async (c) => {
    const snapshot = await readJson({ users: [aUser(1, c.overrides)] });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users[0]).toStrictEqual({ id: "u-1", userName: "user1@example.com", email: "user1@example.com", givenName: "Given", familyName: "Family1", active: true });
  });

  it("Given entries without a type, it accepts several: only a duplicated type is ambiguous", async () => {
    const snapshot = await readJson({
      users: [aUser(1, { phoneNumbers: [{ value: "+1 555 0100" }, { value: "+1 555 0101" }, { type: "work", value: "+1 555 0102" }], addresses: [{ locality: "Austin" }, { locality: "Dallas" }] })],
    });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users[0]?.phoneNumbers).toEqual([{ value: "+1 555 0100" }, { value: "+1 555 0101" }, { type: "work", value: "+1 555 0102" }]);
    expect(snapshot.users[0]?.addresses).toHaveLength(2);
  });

  it("Given a duplicated type next to an entry with nothing in it, it ignores the empty one", async () => {
    const snapshot = await readJson({ users: [aUser(1, { addresses: [{ type: "work" }, { type: "work", locality: "Oslo" }] })] });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users[0]?.addresses).toEqual([{ type: "work", locality: "Oslo" }]);
  });

  it("Given several faults in the addresses and phone numbers, it lists each with its place", async () => {
    const snapshot = await readJson({
      users: [aUser(1, { addresses: [{ type: "work", town: "Oslo" }, { type: "home", country: 47 }], phoneNumbers: [{ type: "work", value: ["+47"] }] })],
    });
    expect(snapshot.problems).toHaveLength(1);
    expect(snapshot.problems[0]?.reason).toBe(
      [
        'addresses[0] has an unknown key "town"; an address accepts type, formatted, streetAddress, locality, region, postalCode, country, primary',
        "addresses[1].country must be text, got 47",
        "phoneNumbers[0].value must be text, got a list",
      ].join("; "),
    );
    expect(snapshot.protectedIds).toEqual(["u-1"]);
  });

  it("Given JSON keys meant for CSV (workPhone, locality), it keeps them in extra like any unknown key", async () => {
    const snapshot = await readJson({ users: [aUser(1, { workPhone: "+1 555 0100", locality: "Austin" })] });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users[0]?.extra).toEqual({ workPhone: "+1 555 0100", locality: "Austin" });
    expect(snapshot.users[0]).not.toHaveProperty("phoneNumbers");
  });

  it("Given a record with several faults, it lists every one in the reason", async () => {
    const snapshot = await readJson({ users: [aUser(1, { email: "nope", active: "no", title: 7 })] });
    const reason = snapshot.problems[0]?.reason ?? "";
    expect(reason).toContain("email");
    expect(reason).toContain("active");
    expect(reason).toContain("title must be text, got 7");
  });

  it("Given values longer than 4096 characters, it skips the record naming each field and its length, never the value, and protects it", async () => {
    const long = "x".repeat(4097);
    const snapshot = await readJson({
      users: [
        aUser(1, { title: "y".repeat(4096) }),
        aUser(2, { title: long, addresses: [{ type: "work", streetAddress: long }] }),
        aUser(3, { extraNotes: long }),
      ],
    });
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-1", "u-3"]);
    expect(snapshot.problems).toEqual([
      {
        location: "users[1]",
        id: "u-2",
        userName: "user2@example.com",
        reason:
          "title is 4097 characters long; at most 4096 are accepted (a value this long is most likely an export gone wrong); " +
          "addresses[0].streetAddress is 4097 characters long; at most 4096 are accepted (a value this long is most likely an export gone wrong)",
      },
    ]);
    expect(snapshot.protectedIds).toEqual(["u-2"]);
    // Columns scimsync does not read itself are kept as they are; a mapping that uses one sends it.
    expect(snapshot.users[1]?.extra).toEqual({ extraNotes: long });
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
    { name: "an email that is not an address", group: { id: "g-1", displayName: "Sales", members: [], email: "sales team" }, reason: 'email "sales team" is not an email address' },
    { name: "a description that is not text", group: { id: "g-1", displayName: "Sales", members: [], description: ["EMEA"] }, reason: "description must be text, got a list" },
    { name: "a tab in the description", group: { id: "g-1", displayName: "Sales", members: [], description: "EMEA\tand APAC" }, reason: "description contains a control character other than a line break" },
  ])("Given a group with $name, it reports and skips it, and the snapshot is incomplete", async (c) => {
    const snapshot = await readJson({ users: [aUser(1)], groups: [{ id: "g-0", displayName: "All", members: [1] }, c.group] });
    expect(snapshot.users).toHaveLength(1);
    expect(snapshot.groups).toEqual([{ id: "g-0", displayName: "All", members: ["1"] }]);
    expect(snapshot.problems).toEqual([{ location: "groups[1]", id: "g-1", reason: expect.stringContaining(c.reason) }]);
    expect(snapshot.complete).toBe(false);
  });

  it("Given groups with email, description and other keys, it reads the first two and keeps the rest in extra", async () => {
    const snapshot = await readJson({
      users: [aUser(1)],
      groups: [
        { id: "g-1", displayName: "Sales", members: ["u-1"], email: " sales@example.com ", description: "Everyone who sells.\nEMEA and APAC.", costCenter: "CC-7", owner: null },
        { id: "g-2", displayName: "Support", members: [], email: "", description: null },
      ],
    });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.groups).toStrictEqual([
      { id: "g-1", displayName: "Sales", members: ["u-1"], email: "sales@example.com", description: "Everyone who sells.\nEMEA and APAC.", extra: { costCenter: "CC-7" } },
      { id: "g-2", displayName: "Support", members: [] },
    ]);
    expect(snapshot.complete).toBe(true);
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
      { id: "engineering", displayName: "Engineering", members: ["u-1", "u-2"] },
      { id: "all staff", displayName: "All Staff", members: ["u-1", "u-4"] },
    ]);
  });

  it("Given one group spelt in two cases, When the rows are reordered, Then its id stays the name lower-cased and only the displayName follows the first spelling", async () => {
    const ana = "u-1,ana@example.com,ana@example.com,Ana,Lima,yes,,Sales";
    const bo = "u-2,bo@example.com,bo@example.com,Bo,Berg,yes,,sales";
    const first = await readFileText("people.csv", [HEADER, ana, bo].join("\n"));
    const reordered = await readFileText("people.csv", [HEADER, bo, ana].join("\n"));
    expect(first.groups).toEqual([{ id: "sales", displayName: "Sales", members: ["u-1", "u-2"] }]);
    expect(reordered.groups).toEqual([{ id: "sales", displayName: "sales", members: ["u-2", "u-1"] }]);
  });

  it("Given a group whose only member's row is skipped, Then the group stays in the directory with that user's id as its member", async () => {
    const text = [
      HEADER,
      "u-1,ana@example.com,ana@example.com,Ana,Lima,yes,,Everyone",
      "u-2,bo@example.com,bo(at)example.com,Bo,Berg,yes,,Finance;Everyone",
      ",cy@example.com,cy@example.com,Cy,Cole,yes,,Legal",
    ].join("\n");
    const snapshot = await readFileText("people.csv", text);
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-1"]);
    expect(snapshot.problems.map((p) => p.location)).toEqual(["line 3", "line 4"]);
    expect(snapshot.protectedIds).toEqual(["u-2"]);
    // The row without an id names no member, but its group is still in the directory.
    expect(snapshot.groups).toEqual([
      { id: "everyone", displayName: "Everyone", members: ["u-1", "u-2"] },
      { id: "finance", displayName: "Finance", members: ["u-2"] },
      { id: "legal", displayName: "Legal", members: [] },
    ]);
  });

  it("Given a row with more fields than the header, Then its groups cell is not trusted: its cells may belong to other columns", async () => {
    const text = [HEADER, "u-1,ana@example.com,ana@example.com,Ana,Lima,yes,,Sales", "u-2,bo@example.com,bo@example.com,Bo,Berg,yes,Head, Legal,Sales"].join("\n");
    const snapshot = await readFileText("people.csv", text);
    expect(snapshot.problems.map((p) => [p.location, p.id])).toEqual([["line 3", "u-2"]]);
    expect(snapshot.groups).toEqual([{ id: "sales", displayName: "Sales", members: ["u-1"] }]);
  });

  it("Given header names in another case and extra columns, it maps the known ones and keeps the rest", async () => {
    const snapshot = await readFileText("people.csv", "ID,Username,EMAIL,Cost Center\nu-1,ana@example.com,ana@example.com,CC-7\n");
    expect(snapshot.users).toEqual([{ id: "u-1", userName: "ana@example.com", email: "ana@example.com", active: true, extra: { "Cost Center": "CC-7" } }]);
  });

  it("Given the columns for language, roles, phones and the work address, it builds SCIM's shapes from them", async () => {
    const text = [
      "id,userName,PreferredLanguage,roles,WorkPhone,mobilePhone,streetAddress,locality,region,postalCode,country,formattedAddress,groups",
      'u-1,ana@example.com,pt-BR,Recruiter; Interviewer;;recruiter,+1 512 555 0100,+1 512 555 0150,"600 Congress Avenue\nFloor 14",Austin,TX,78701,US,"600 Congress Avenue, Floor 14\nAustin, TX 78701",Sales',
      "u-2,bo@example.com,,,,+44 7700 900100,,London,,,GB,,",
      "u-3,cy@example.com,,,,,,,,,,,",
    ].join("\n");
    const snapshot = await readFileText("people.csv", text);
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.users).toStrictEqual([
      {
        id: "u-1",
        userName: "ana@example.com",
        active: true,
        preferredLanguage: "pt-BR",
        roles: ["Recruiter", "Interviewer"],
        phoneNumbers: [
          { type: "work", value: "+1 512 555 0100" },
          { type: "mobile", value: "+1 512 555 0150" },
        ],
        addresses: [
          {
            type: "work",
            streetAddress: "600 Congress Avenue\nFloor 14",
            locality: "Austin",
            region: "TX",
            postalCode: "78701",
            country: "US",
            formatted: "600 Congress Avenue, Floor 14\nAustin, TX 78701",
          },
        ],
      },
      { id: "u-2", userName: "bo@example.com", active: true, phoneNumbers: [{ type: "mobile", value: "+44 7700 900100" }], addresses: [{ type: "work", locality: "London", country: "GB" }] },
      { id: "u-3", userName: "cy@example.com", active: true },
    ]);
    expect(snapshot.groups).toEqual([{ id: "sales", displayName: "Sales", members: ["u-1"] }]);
  });

  it("Given a fault in one of those columns, it names the column, skips the row and protects it", async () => {
    const text = [
      "id,userName,preferredLanguage,roles,workPhone,mobilePhone,locality,formattedAddress",
      'u-1,ana@example.com,en-GB,"Recruiter;Inter\tviewer",,,,',
      'u-2,bo@example.com,en-GB,,,"+44\t7700 900100",,',
      'u-3,cy@example.com,en-GB,,,,"Lon\ndon",',
      'u-4,di@example.com,en-GB,,,,,"30 Old Street\tLondon"',
      'u-5,ed@example.com,"en\nGB",,,,,',
      "u-6,fay@example.com,en-GB,,,,,",
    ].join("\n");
    const snapshot = await readFileText("people.csv", text);
    expect(snapshot.users.map((u) => u.id)).toEqual(["u-6"]);
    expect(snapshot.problems.map((p) => [p.location, p.id, p.reason])).toEqual([
      ["line 2", "u-1", "roles contains a control character (a line break, tab or similar)"],
      ["line 3", "u-2", "mobilePhone contains a control character (a line break, tab or similar)"],
      ["line 4", "u-3", "locality contains a control character (a line break, tab or similar)"],
      ["line 6", "u-4", "formattedAddress contains a control character other than a line break (a tab or similar)"],
      ["line 7", "u-5", "preferredLanguage contains a control character (a line break, tab or similar)"],
    ]);
    expect(snapshot.protectedIds).toEqual(["u-1", "u-2", "u-3", "u-4", "u-5"]);
    expect(snapshot.complete).toBe(true);
  });

  it.each(["addresses", "PhoneNumbers"])("Given a %s column, it fails and names the flat columns to use instead", async (column) => {
    const error = await readError("people.csv", `id,userName,${column}\nu-1,ana@example.com,x\n`);
    expect(error.message).toContain(`has a column "${column}", but a CSV cell cannot hold that list`);
    expect(error.hint).toContain("workPhone, mobilePhone");
    expect(error.hint).toContain("streetAddress, locality, region, postalCode, country, formattedAddress");
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
    expect(error.hint).toContain("preferredLanguage,roles,workPhone,mobilePhone,streetAddress,locality,region,postalCode,country,formattedAddress,groups");
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
    expect(snapshot.groups).toEqual([{ id: "sales", displayName: "Sales", members: ["u-2"] }]);
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
