import { describe, expect, it } from "vitest";
import type { AttributeValue } from "../src/core/model.js";
import { parseScimPath, readScimPath, type ScimPath } from "../src/core/scim-path.js";
import {
  buildPatchOperations,
  buildUserResource,
  compileMapping,
  CORE_USER,
  defaultUserMapping,
  diffAttributes,
  ENTERPRISE_USER,
  mapUser,
  type MappingEntry,
} from "../src/core/mapping.js";
import { aSourceUser, aTargetUser, MAPPING, MAPPING_BY_USERNAME } from "./builders.js";

const WORK_EMAIL = 'emails[type eq "work"].value';
const DEPARTMENT = `${ENTERPRISE_USER}:department`;

describe("parseScimPath", () => {
  it.each<[string, ScimPath]>([
    ["userName", { attribute: "userName" }],
    ["name.givenName", { attribute: "name", subAttribute: "givenName" }],
    [WORK_EMAIL, { attribute: "emails", filter: { attribute: "type", value: "work" }, subAttribute: "value" }],
    ['emails[type eq "work"]', { attribute: "emails", filter: { attribute: "type", value: "work" } }],
    ['  emails[ type  eq  "work" ].value  ', { attribute: "emails", filter: { attribute: "type", value: "work" }, subAttribute: "value" }],
    [DEPARTMENT, { schema: ENTERPRISE_USER, attribute: "department" }],
    [`${ENTERPRISE_USER}:manager.value`, { schema: ENTERPRISE_USER, attribute: "manager", subAttribute: "value" }],
    [
      "urn:example:params:scim:schemas:extension:acme:2.0:User:badges[kind eq \"door\"].value",
      {
        schema: "urn:example:params:scim:schemas:extension:acme:2.0:User",
        attribute: "badges",
        filter: { attribute: "kind", value: "door" },
        subAttribute: "value",
      },
    ],
    [
      `${ENTERPRISE_USER}:badges[kind eq "urn:acme:door"].value`,
      { schema: ENTERPRISE_USER, attribute: "badges", filter: { attribute: "kind", value: "urn:acme:door" }, subAttribute: "value" },
    ],
    // RFC 7644 §3.10: core attributes may be named with the core schema URN; they live at the top level.
    [`${CORE_USER}:name.givenName`, { attribute: "name", subAttribute: "givenName" }],
    ['emails[type eq "say \\"hi\\""].value', { attribute: "emails", filter: { attribute: "type", value: 'say "hi"' }, subAttribute: "value" }],
    ['emails[type eq "back\\\\slash"].value', { attribute: "emails", filter: { attribute: "type", value: "back\\slash" }, subAttribute: "value" }],
  ])("Given %j, When parsed, Then it is %j", (text, expected) => {
    expect(parseScimPath(text)).toEqual(expected);
  });

  it.each([
    "",
    "1userName",
    "name.givenName.first",
    'emails[type ne "work"].value',
    "emails[type eq work].value",
    'emails[type eq "work"',
    'emails[type eq "wo"rk"].value',
    "user name",
  ])("Given %j, When parsed, Then it is refused", (text) => {
    expect(parseScimPath(text)).toBeUndefined();
  });

  it("Given a target path it cannot write, When the mapping is compiled, Then the error names it", () => {
    expect(() => compileMapping([{ target: "name.givenName.first", source: "givenName" }])).toThrow(
      'mapping target "name.givenName.first" is not a SCIM path scimsync can write',
    );
  });
});

describe("readScimPath", () => {
  const read = (resource: Record<string, unknown>, path: string): AttributeValue => readScimPath(resource, parseScimPath(path)!);

  it("Given attribute names in another case, When read, Then they are found (SCIM names are case-insensitive)", () => {
    const resource = {
      UserName: "ada@example.com",
      NAME: { GivenName: "Ada" },
      Emails: [{ Type: "Work", Value: "ada@example.com" }],
      [ENTERPRISE_USER.toLowerCase()]: { Department: "Research" },
    };

    expect(read(resource, "userName")).toBe("ada@example.com");
    expect(read(resource, "name.givenName")).toBe("Ada");
    expect(read(resource, WORK_EMAIL)).toBe("ada@example.com");
    expect(read(resource, DEPARTMENT)).toBe("Research");
  });

  it("Given an exact key and one differing in case, When read, Then the exact key wins", () => {
    expect(read({ title: "exact", TITLE: "other" }, "title")).toBe("exact");
  });

  it.each<[string, unknown, AttributeValue]>([
    ["a typed work email", [{ type: "home", value: "h@x" }, { type: "work", value: "w@x" }], "w@x"],
    ["only an untyped email", [{ value: "u@x" }], "u@x"],
    ["a home email and an untyped one", [{ type: "home", value: "h@x" }, { value: "u@x" }], "u@x"],
    ["two untyped emails, the second primary", [{ value: "a@x" }, { value: "p@x", primary: true }], "p@x"],
    ["a typed work email and an untyped one", [{ value: "u@x" }, { type: "work", value: "w@x" }], "w@x"],
    ["only a home email", [{ type: "home", value: "h@x" }], null],
    ["no emails", undefined, null],
    ["emails that are not a list", { value: "w@x" }, null],
  ])("Given %s, When the work email is read, Then it is %j", (_, emails, expected) => {
    expect(read({ emails }, WORK_EMAIL)).toBe(expected);
  });

  it.each<[string, unknown, AttributeValue]>([
    ["an empty string", "", null],
    ["null", null, null],
    ["a number", 42, "42"],
    ["a boolean", false, false],
    ["a complex value with value", { value: "m-1", displayName: "Boss" }, "m-1"],
  ])("Given %s, When read, Then it normalises to %j", (_, value, expected) => {
    expect(read({ [ENTERPRISE_USER]: { manager: value } }, `${ENTERPRISE_USER}:manager`)).toBe(expected);
  });

  it("Given a core attribute named with the core schema URN, When read, Then it reads the top-level attribute", () => {
    expect(read({ name: { givenName: "Ada" } }, `${CORE_USER}:name.givenName`)).toBe("Ada");
  });
});

describe("mapUser", () => {
  it("Given a complete source user, When mapped with the default mapping, Then every attribute has its value", () => {
    expect(mapUser(aSourceUser({ id: "ada" }), MAPPING)).toEqual({
      userName: "ada@example.com",
      externalId: "ada",
      "name.givenName": "Ada",
      "name.familyName": "Example",
      displayName: "Ada Example",
      [WORK_EMAIL]: "ada@example.com",
      title: "Engineer",
      [DEPARTMENT]: "Research",
      [`${ENTERPRISE_USER}:employeeNumber`]: "E-ada",
    });
  });

  it("Given matchBy userName, When mapped, Then externalId is not managed", () => {
    expect(mapUser(aSourceUser(), MAPPING_BY_USERNAME)).not.toHaveProperty("externalId");
    expect(defaultUserMapping("userName").map((e) => e.target)).not.toContain("externalId");
  });

  const entry = (source: string, fallback?: string): MappingEntry[] => [
    { target: "displayName", source, ...(fallback === undefined ? {} : { default: fallback }) },
  ];

  it.each<[string, Partial<Parameters<typeof aSourceUser>[0]>, MappingEntry[], AttributeValue]>([
    ["a displayName", { displayName: "Ada Lovelace" }, entry("displayName", "{givenName} {familyName}"), "Ada Lovelace"],
    ["no displayName", { displayName: undefined }, entry("displayName", "{givenName} {familyName}"), "Ada Example"],
    ["an empty displayName", { displayName: "" }, entry("displayName", "{givenName} {familyName}"), "Ada Example"],
    ["no displayName and only a givenName", { familyName: undefined }, entry("displayName", "{givenName} {familyName}"), "Ada"],
    ["no displayName and only a familyName", { givenName: undefined }, entry("displayName", "{ givenName } {familyName}"), "Example"],
    ["no name at all", { givenName: undefined, familyName: undefined }, entry("displayName", "{givenName} {familyName}"), null],
    ["a template with literal text", {}, entry("{familyName}, {givenName} ({department})"), "Example, Ada (Research)"],
    ["an attribute from extra", { extra: { costCenter: 4711 } }, entry("extra.costCenter"), "4711"],
    ["a boolean from extra", { extra: { contractor: true } }, entry("extra.contractor"), true],
    ["an attribute nowhere", {}, entry("nickName"), null],
    ["an attribute nowhere with another attribute as default", {}, entry("nickName", "givenName"), "Ada"],
  ])("Given %s, When mapped, Then the value is %j", (_, source, mapping, expected) => {
    expect(mapUser(aSourceUser(source), compileMapping(mapping)).displayName).toBe(expected);
  });
});

describe("diffAttributes", () => {
  it("Given a target in sync, When diffed, Then there is no change", () => {
    expect(diffAttributes(mapUser(aSourceUser(), MAPPING), aTargetUser().resource, MAPPING)).toEqual({});
  });

  it("Given userName and email differing in case, and a givenName differing in case, When diffed, Then only the givenName changes", () => {
    const resource = aTargetUser({}, {
      userName: "ADA@EXAMPLE.COM",
      edit: (r) => {
        r.userName = "ADA@EXAMPLE.COM";
        r.emails = [{ type: "work", value: "Ada@Example.com" }];
        (r.name as Record<string, unknown>).givenName = "ada";
      },
    }).resource;

    expect(diffAttributes(mapUser(aSourceUser(), MAPPING), resource, MAPPING)).toEqual({ "name.givenName": { from: "ada", to: "Ada" } });
  });
});

describe("buildUserResource", () => {
  it("Given a mapped user, When built, Then it is the SCIM resource with the extension declared in schemas", () => {
    expect(buildUserResource(mapUser(aSourceUser(), MAPPING), MAPPING, true)).toEqual({
      schemas: [CORE_USER, ENTERPRISE_USER],
      userName: "ada@example.com",
      externalId: "ada",
      name: { givenName: "Ada", familyName: "Example" },
      displayName: "Ada Example",
      emails: [{ type: "work", value: "ada@example.com", primary: true }],
      title: "Engineer",
      [ENTERPRISE_USER]: { department: "Research", employeeNumber: "E-ada" },
      active: true,
    });
  });

  it("Given no extension values and empty attributes, When built, Then they are left out with the extension schema", () => {
    const user = aSourceUser({ department: undefined, employeeNumber: undefined, title: undefined, email: undefined });

    expect(buildUserResource(mapUser(user, MAPPING_BY_USERNAME), MAPPING_BY_USERNAME, false)).toEqual({
      schemas: [CORE_USER],
      userName: "ada@example.com",
      name: { givenName: "Ada", familyName: "Example" },
      displayName: "Ada Example",
      active: false,
    });
  });

  it("Given a built resource, When read back with the same mapping, Then nothing differs", () => {
    const attributes = mapUser(aSourceUser(), MAPPING);

    expect(diffAttributes(attributes, buildUserResource(attributes, MAPPING, true), MAPPING)).toEqual({});
  });
});

describe("buildPatchOperations", () => {
  const target = aTargetUser();

  it("Given simple, sub-attribute and extension changes, When patched, Then each is a replace on its own path", () => {
    const ops = buildPatchOperations(
      {
        title: { from: "Engineer", to: "Lead" },
        "name.givenName": { from: "Ada", to: "Augusta" },
        [DEPARTMENT]: { from: "Research", to: "Maths" },
      },
      target.resource,
      MAPPING,
    );

    expect(ops).toEqual([
      { op: "replace", path: "title", value: "Lead" },
      { op: "replace", path: "name.givenName", value: "Augusta" },
      { op: "replace", path: DEPARTMENT, value: "Maths" },
    ]);
  });

  it("Given values the source no longer has, When patched, Then they are removed", () => {
    const ops = buildPatchOperations(
      { title: { from: "Engineer", to: null }, [WORK_EMAIL]: { from: "ada@example.com", to: null } },
      target.resource,
      MAPPING,
    );

    expect(ops).toEqual([
      { op: "remove", path: "title" },
      { op: "remove", path: WORK_EMAIL },
    ]);
  });

  it("Given a typed work email, When it changes, Then it is replaced through the filter", () => {
    const ops = buildPatchOperations({ [WORK_EMAIL]: { from: "ada@example.com", to: "augusta@example.com" } }, target.resource, MAPPING);

    expect(ops).toEqual([{ op: "replace", path: WORK_EMAIL, value: "augusta@example.com" }]);
  });

  it("Given no emails at all, When the work email is set, Then a primary work email is added", () => {
    const ops = buildPatchOperations({ [WORK_EMAIL]: { from: null, to: "ada@example.com" } }, { userName: "ada@example.com" }, MAPPING);

    expect(ops).toEqual([{ op: "add", path: "emails", value: [{ type: "work", value: "ada@example.com", primary: true }] }]);
  });

  it("Given a primary home email, When a work email is added, Then the work email does not claim primary too", () => {
    const resource = { emails: [{ type: "home", value: "ada@home.example", primary: true }] };
    const ops = buildPatchOperations({ [WORK_EMAIL]: { from: null, to: "ada@example.com" } }, resource, MAPPING);

    expect(ops).toEqual([{ op: "add", path: "emails", value: [{ type: "work", value: "ada@example.com" }] }]);
  });

  it("Given only an untyped email, When it changes, Then the emails are replaced by a typed one", () => {
    const resource = { emails: [{ value: "old@example.com", primary: true }] };

    const ops = buildPatchOperations({ [WORK_EMAIL]: { from: "old@example.com", to: "ada@example.com" } }, resource, MAPPING);

    expect(ops).toEqual([{ op: "replace", path: "emails", value: [{ value: "ada@example.com", primary: true, type: "work" }] }]);
  });

  it("Given an untyped email beside a home email, When the work email changes, Then the home email is kept", () => {
    const resource = {
      emails: [
        { value: "old@example.com", primary: true },
        { type: "home", value: "ada@home.example" },
      ],
    };

    const ops = buildPatchOperations({ [WORK_EMAIL]: { from: "old@example.com", to: "ada@example.com" } }, resource, MAPPING);

    expect(ops).toEqual([
      {
        op: "replace",
        path: "emails",
        value: [
          { value: "ada@example.com", primary: true, type: "work" },
          { type: "home", value: "ada@home.example" },
        ],
      },
    ]);
  });

  it("Given an active change and a change outside the mapping, When patched, Then active is replaced and the unknown one skipped", () => {
    const ops = buildPatchOperations(
      { active: { from: false, to: true }, nickName: { from: null, to: "Countess" } },
      target.resource,
      MAPPING,
    );

    expect(ops).toEqual([{ op: "replace", path: "active", value: true }]);
  });
});
