import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSandbox, type Sandbox } from "../src/sandbox/server.js";
import { buildPatchOperations, compileMapping, defaultUserMapping, diffAttributes, ENTERPRISE_USER, mapUser } from "../src/core/mapping.js";

const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Json = Record<string, any>;

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

async function scim(sb: Sandbox, method: string, path: string, body?: unknown, token: string | null = sb.token): Promise<Reply> {
  const headers: Record<string, string> = { accept: "application/scim+json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/scim+json";
  const response = await fetch(`${sb.baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? {} : (JSON.parse(text) as Json) };
}

function aUser(overrides: Json = {}): Json {
  return {
    schemas: [CORE_USER, ENTERPRISE_USER],
    userName: "ada@example.com",
    externalId: "src-ada",
    name: { givenName: "Ada", familyName: "Lovelace" },
    displayName: "Ada Lovelace",
    title: "Engineer",
    active: true,
    emails: [{ type: "work", value: "ada@example.com", primary: true }],
    [ENTERPRISE_USER]: { department: "R&D", employeeNumber: "1815" },
    ...overrides,
  };
}

function patch(...Operations: Json[]): Json {
  return { schemas: [PATCH_OP], Operations };
}

const filterQuery = (expression: string) => `?filter=${encodeURIComponent(expression)}`;

function expectScimError(reply: Reply, status: number, scimType?: string): void {
  expect(reply.status).toBe(status);
  expect(reply.headers.get("content-type")).toMatch(/^application\/scim\+json/);
  expect(reply.body.schemas).toEqual([ERROR]);
  expect(reply.body.status).toBe(String(status));
  expect(typeof reply.body.detail).toBe("string");
  if (scimType) expect(reply.body.scimType).toBe(scimType);
}

describe("SCIM sandbox", () => {
  let sb: Sandbox;

  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(async () => {
    await sb.close();
  });
  beforeEach(() => {
    sb.reset();
  });

  it("listens on loopback under /scim/v2 with a random 64-hex-digit token by default", () => {
    expect(sb.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    expect(sb.token).toMatch(/^[0-9a-f]{64}$/);
  });

  describe("authentication", () => {
    it("Given no token or a wrong one, when any route is called, then it answers 401 with a SCIM error", async () => {
      expectScimError(await scim(sb, "GET", "/Users", undefined, null), 401);
      expectScimError(await scim(sb, "GET", "/Users", undefined, "not-the-token"), 401);
      expectScimError(await scim(sb, "POST", "/Users", aUser(), `${sb.token}x`), 401);
      expectScimError(await scim(sb, "GET", "/ServiceProviderConfig", undefined, null), 401);
      expectScimError(await scim(sb, "GET", "/NoSuchThing", undefined, null), 401);
      expect(sb.users()).toEqual([]);
    });
  });

  describe("users", () => {
    it("Given a new user with enterprise attributes, when POSTed, then 201 with id, meta and Location", async () => {
      const reply = await scim(sb, "POST", "/Users", aUser());

      expect(reply.status).toBe(201);
      expect(reply.headers.get("content-type")).toMatch(/^application\/scim\+json/);
      const user = reply.body;
      expect(user.id).toMatch(UUID);
      expect(user.meta).toMatchObject({ resourceType: "User", location: `${sb.baseUrl}/Users/${user.id}` });
      expect(reply.headers.get("location")).toBe(user.meta.location);
      expect(Date.parse(user.meta.created)).not.toBeNaN();
      expect(user.meta.lastModified).toBe(user.meta.created);
      expect(typeof user.meta.version).toBe("string");
      expect(user.schemas).toEqual(expect.arrayContaining([CORE_USER, ENTERPRISE_USER]));
      expect(user.userName).toBe("ada@example.com");
      expect(user.externalId).toBe("src-ada");
      expect(user.emails).toEqual([{ type: "work", value: "ada@example.com", primary: true }]);
      expect(user[ENTERPRISE_USER]).toEqual({ department: "R&D", employeeNumber: "1815" });

      const read = await scim(sb, "GET", `/Users/${user.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(user);
      expect(sb.users()).toEqual([user]);
    });

    it("Given a user, when another is created with the same userName in other case, then 409 uniqueness", async () => {
      await scim(sb, "POST", "/Users", aUser());
      const clash = await scim(sb, "POST", "/Users", aUser({ userName: "ADA@Example.COM", externalId: "other" }));

      expectScimError(clash, 409, "uniqueness");
      expect(sb.users()).toHaveLength(1);
    });

    it("Given two users, when one is renamed to the other's userName by PUT or PATCH, then 409 uniqueness", async () => {
      await scim(sb, "POST", "/Users", aUser());
      const bob = (await scim(sb, "POST", "/Users", aUser({ userName: "bob@example.com", externalId: "src-bob" }))).body;

      expectScimError(await scim(sb, "PUT", `/Users/${bob.id}`, aUser({ userName: "Ada@example.com" })), 409, "uniqueness");
      expectScimError(await scim(sb, "PATCH", `/Users/${bob.id}`, patch({ op: "replace", path: "userName", value: "ADA@EXAMPLE.COM" })), 409, "uniqueness");
      expect(sb.users().map((u) => u.userName).sort()).toEqual(["ada@example.com", "bob@example.com"]);

      // Renaming a user to another case of its own userName is not a clash.
      const own = await scim(sb, "PATCH", `/Users/${bob.id}`, patch({ op: "replace", path: "userName", value: "Bob@Example.com" }));
      expect(own.status).toBe(200);
      expect(own.body.userName).toBe("Bob@Example.com");
    });

    it("Given users, when filtered by userName in any case or by externalId, then exactly the match is listed", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      await scim(sb, "POST", "/Users", aUser({ userName: "bob@example.com", externalId: "src-bob", emails: [{ type: "work", value: "bob@example.com" }] }));

      const byName = await scim(sb, "GET", `/Users${filterQuery('userName eq "ADA@example.COM"')}`);
      expect(byName.status).toBe(200);
      expect(byName.body).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
      expect(byName.body.Resources.map((u: Json) => u.id)).toEqual([ada.id]);

      const byExternalId = await scim(sb, "GET", `/Users${filterQuery('externalId eq "src-ada"')}`);
      expect(byExternalId.body.Resources.map((u: Json) => u.id)).toEqual([ada.id]);

      // externalId is caseExact (RFC 7643 §3.1).
      const wrongCase = await scim(sb, "GET", `/Users${filterQuery('externalId eq "SRC-ADA"')}`);
      expect(wrongCase.body.totalResults).toBe(0);
      expect(wrongCase.body.Resources).toEqual([]);

      const byWorkEmail = await scim(sb, "GET", `/Users${filterQuery('emails[type eq "work" and value eq "Ada@Example.com"]')}`);
      expect(byWorkEmail.body.Resources.map((u: Json) => u.id)).toEqual([ada.id]);

      const byDepartment = await scim(sb, "GET", `/Users${filterQuery(`${ENTERPRISE_USER}:department eq "r&d"`)}`);
      expect(byDepartment.body.totalResults).toBe(2);
    });

    it("Given a userName with a quote and a backslash, when filtered with RFC 7644 escapes, then it is found", async () => {
      const odd = (await scim(sb, "POST", "/Users", aUser({ userName: 'o"hara\\x (and) or [y]', externalId: "src-odd" }))).body;
      await scim(sb, "POST", "/Users", aUser({ userName: "plain", externalId: "src-plain" }));

      const found = await scim(sb, "GET", `/Users${filterQuery('userName eq "O\\"Hara\\\\x (and) or [y]"')}`);
      expect(found.status).toBe(200);
      expect(found.body.Resources.map((u: Json) => u.id)).toEqual([odd.id]);

      const negated = await scim(sb, "GET", `/Users${filterQuery('not (userName eq "o\\"hara\\\\x (and) or [y]")')}`);
      expect(negated.body.Resources.map((u: Json) => u.userName)).toEqual(["plain"]);
    });

    it("Given a malformed filter, when listing, then 400 invalidFilter", async () => {
      expectScimError(await scim(sb, "GET", `/Users${filterQuery("userName eq")}`), 400, "invalidFilter");
      expectScimError(await scim(sb, "GET", `/Users${filterQuery("userName")}`), 400, "invalidFilter");
      expectScimError(await scim(sb, "GET", `/Users${filterQuery('userName eq "a\\qb"')}`), 400, "invalidFilter");
      expectScimError(await scim(sb, "GET", `/Users${filterQuery('(userName eq "a"')}`), 400, "invalidFilter");
    });

    it("Given 45 users, when paged with count=20, then three pages of 20, 20 and 5 with totalResults 45", async () => {
      for (let i = 0; i < 45; i++) {
        const reply = await scim(sb, "POST", "/Users", aUser({ userName: `user${String(i).padStart(2, "0")}@example.com`, externalId: `src-${i}` }));
        expect(reply.status).toBe(201);
      }

      const seen: string[] = [];
      for (const [startIndex, size] of [
        [1, 20],
        [21, 20],
        [41, 5],
      ] as const) {
        const page = await scim(sb, "GET", `/Users?startIndex=${startIndex}&count=20`);
        expect(page.status).toBe(200);
        expect(page.body).toMatchObject({ totalResults: 45, startIndex, itemsPerPage: size });
        expect(page.body.Resources).toHaveLength(size);
        seen.push(...page.body.Resources.map((u: Json) => u.userName));
      }
      expect(seen).toEqual(Array.from({ length: 45 }, (_, i) => `user${String(i).padStart(2, "0")}@example.com`));

      // An offset that is not a multiple of the page size.
      const odd = await scim(sb, "GET", "/Users?startIndex=7&count=5");
      expect(odd.body).toMatchObject({ totalResults: 45, startIndex: 7, itemsPerPage: 5 });
      expect(odd.body.Resources.map((u: Json) => u.userName)).toEqual(["user06", "user07", "user08", "user09", "user10"].map((n) => `${n}@example.com`));

      // Past the end: an empty page, not page 1 again (scimmy's default).
      const beyond = await scim(sb, "GET", "/Users?startIndex=46&count=20");
      expect(beyond.body).toMatchObject({ totalResults: 45, Resources: [], itemsPerPage: 0 });

      // Without count the sandbox pages by 100, not scimmy's 20.
      const unpaged = await scim(sb, "GET", "/Users");
      expect(unpaged.body.Resources).toHaveLength(45);

      const filteredPage = await scim(sb, "GET", `/Users${filterQuery('userName sw "USER1"')}&count=4&startIndex=9`);
      expect(filteredPage.body).toMatchObject({ totalResults: 10, itemsPerPage: 2 });
      expect(filteredPage.body.Resources.map((u: Json) => u.userName)).toEqual(["user18@example.com", "user19@example.com"]);
    });

    it("advertises PATCH, filtering with maxResults 1000 and bearer auth in /ServiceProviderConfig", async () => {
      const config = await scim(sb, "GET", "/ServiceProviderConfig");
      expect(config.status).toBe(200);
      expect(config.body).toMatchObject({ patch: { supported: true }, filter: { supported: true, maxResults: 1000 } });
      expect(config.body.authenticationSchemes).toHaveLength(1);
      expect(config.body.authenticationSchemes[0].type).toBe("oauthbearertoken");

      const types = await scim(sb, "GET", "/ResourceTypes");
      const user = types.body.Resources.find((t: Json) => t.id === "User");
      expect(user.schemaExtensions).toEqual([{ schema: ENTERPRISE_USER, required: false }]);
      expect(types.body.Resources.map((t: Json) => t.id).sort()).toEqual(["Group", "User"]);
    });

    it("Given a user, when PATCHed the way our client patches, then 200 with the changed resource", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;

      const replaced = await scim(
        sb,
        "PATCH",
        `/Users/${ada.id}`,
        patch(
          { op: "replace", path: "name.givenName", value: "Augusta" },
          { op: "replace", path: 'emails[type eq "work"].value', value: "augusta@example.com" },
          { op: "replace", path: `${ENTERPRISE_USER}:department`, value: "Analytics" },
          { op: "replace", path: "displayName", value: "Augusta Ada King" },
          { op: "replace", path: "active", value: false },
        ),
      );
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({
        id: ada.id,
        active: false,
        displayName: "Augusta Ada King",
        name: { givenName: "Augusta", familyName: "Lovelace" },
        emails: [{ type: "work", value: "augusta@example.com", primary: true }],
        [ENTERPRISE_USER]: { department: "Analytics", employeeNumber: "1815" },
      });
      expect(replaced.body.meta.version).not.toBe(ada.meta.version);
      expect(replaced.body.meta.created).toBe(ada.meta.created);

      const added = await scim(sb, "PATCH", `/Users/${ada.id}`, patch({ op: "add", path: "emails", value: [{ type: "home", value: "ada@home.example" }] }));
      expect(added.status).toBe(200);
      expect(added.body.emails).toEqual([
        { type: "work", value: "augusta@example.com", primary: true },
        { type: "home", value: "ada@home.example" },
      ]);

      const removed = await scim(sb, "PATCH", `/Users/${ada.id}`, patch({ op: "remove", path: "title" }, { op: "remove", path: `${ENTERPRISE_USER}:employeeNumber` }));
      expect(removed.status).toBe(200);
      expect(removed.body).not.toHaveProperty("title");
      expect(removed.body[ENTERPRISE_USER]).toEqual({ department: "Analytics" });

      const read = await scim(sb, "GET", `/Users/${ada.id}`);
      expect(read.body).toEqual(removed.body);
    });

    it("Given a PATCH that changes nothing, then it still answers 200 with the resource and keeps the version", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      const same = await scim(sb, "PATCH", `/Users/${ada.id}`, patch({ op: "replace", path: "active", value: true }));
      expect(same.status).toBe(200);
      expect(same.body).toEqual(ada);
    });

    it("Given a target user, when our mapping's PATCH operations are applied, then the user no longer differs", async () => {
      const mapping = compileMapping(defaultUserMapping("externalId"));
      const before = (await scim(sb, "POST", "/Users", aUser({ emails: [{ value: "untyped@example.com" }] }))).body;
      const desired = mapUser(
        {
          id: "src-ada",
          userName: "ada@example.com",
          email: "countess@example.com",
          givenName: "Augusta",
          familyName: "King",
          active: true,
          department: "Analytics",
        },
        mapping,
      );
      const changes = diffAttributes(desired, before, mapping);
      expect(Object.keys(changes).length).toBeGreaterThan(0);

      const reply = await scim(sb, "PATCH", `/Users/${before.id}`, patch(...buildPatchOperations(changes, before, mapping)));
      expect(reply.status).toBe(200);
      expect(diffAttributes(desired, reply.body, mapping)).toEqual({});
      expect(reply.body).not.toHaveProperty("title");
      expect(reply.body[ENTERPRISE_USER]).toEqual({ department: "Analytics" });
    });

    it("Given a user, when DELETEd, then 204 and later reads and deletes answer 404", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;

      const deleted = await scim(sb, "DELETE", `/Users/${ada.id}`);
      expect(deleted.status).toBe(204);
      expectScimError(await scim(sb, "GET", `/Users/${ada.id}`), 404);
      expectScimError(await scim(sb, "DELETE", `/Users/${ada.id}`), 404);
      expectScimError(await scim(sb, "PATCH", `/Users/${ada.id}`, patch({ op: "replace", path: "active", value: false })), 404);
      expectScimError(await scim(sb, "PUT", `/Users/${ada.id}`, aUser()), 404);
      expect(sb.users()).toEqual([]);
    });
  });

  describe("groups", () => {
    it("Given a group, when a member is added twice and removed by a filter path, then membership stays exact", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      const bob = (await scim(sb, "POST", "/Users", aUser({ userName: "bob@example.com", externalId: "src-bob", displayName: "Bob" }))).body;
      const created = await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: ada.id }] });
      expect(created.status).toBe(201);
      expect(created.headers.get("location")).toBe(`${sb.baseUrl}/Groups/${created.body.id}`);
      const groupPath = `/Groups/${created.body.id}`;

      for (let i = 0; i < 2; i++) {
        const added = await scim(sb, "PATCH", groupPath, patch({ op: "add", path: "members", value: [{ value: bob.id }, { value: ada.id }] }));
        expect(added.status).toBe(200);
        expect(added.body.members.map((m: Json) => m.value)).toEqual([ada.id, bob.id]);
      }
      expect(sb.groups()[0]!.members).toEqual([
        { value: ada.id, display: "Ada Lovelace", type: "User" },
        { value: bob.id, display: "Bob", type: "User" },
      ]);
      expect((await scim(sb, "GET", `/Users/${bob.id}`)).body.groups).toEqual([{ value: created.body.id, display: "Engineering", type: "direct" }]);

      const removed = await scim(sb, "PATCH", groupPath, patch({ op: "remove", path: `members[value eq "${ada.id}"]` }));
      expect(removed.status).toBe(200);
      expect(removed.body.members.map((m: Json) => m.value)).toEqual([bob.id]);

      const removedByValue = await scim(sb, "PATCH", groupPath, patch({ op: "remove", path: "members", value: [{ value: bob.id }] }));
      expect(removedByValue.status).toBe(200);
      expect(removedByValue.body).not.toHaveProperty("members");
    });

    it("Given a user in a group, when the user is deleted, then the group no longer lists it", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      const group = (await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: ada.id }] })).body;

      expect((await scim(sb, "DELETE", `/Users/${ada.id}`)).status).toBe(204);
      const read = await scim(sb, "GET", `/Groups/${group.id}`);
      expect(read.body).not.toHaveProperty("members");
      expect(read.body.meta.version).not.toBe(group.meta.version);
    });

    it("Given groups with members, when listed or filtered with excludedAttributes=members, then no group carries members", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: ada.id }] });
      await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Research", members: [{ value: ada.id }] });

      const listed = await scim(sb, "GET", "/Groups?excludedAttributes=members&startIndex=1&count=10");
      expect(listed.body).toMatchObject({ totalResults: 2, itemsPerPage: 2 });
      expect(listed.body.Resources.map((g: Json) => g.displayName)).toEqual(["Engineering", "Research"]);
      expect(listed.body.Resources.some((g: Json) => "members" in g)).toBe(false);

      const filtered = await scim(sb, "GET", `/Groups${filterQuery('displayName eq "RESEARCH"')}&excludedAttributes=members`);
      expect(filtered.body.Resources.map((g: Json) => g.displayName)).toEqual(["Research"]);
      expect(filtered.body.Resources[0]).not.toHaveProperty("members");

      const full = await scim(sb, "GET", `/Groups${filterQuery('displayName eq "research"')}`);
      expect(full.body.Resources[0].members.map((m: Json) => m.value)).toEqual([ada.id]);
    });

    it("Given a group created without members, when members are added with repeats in one request, then each is stored once", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      const created = await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering" });
      expect(created.status).toBe(201);
      expect(created.body).not.toHaveProperty("members");

      const added = await scim(sb, "PATCH", `/Groups/${created.body.id}`, patch({ op: "add", path: "members", value: [{ value: ada.id }, { value: ada.id }] }));
      expect(added.body.members.map((m: Json) => m.value)).toEqual([ada.id]);
    });

    it("Given a group, when renamed by PATCH or replaced by PUT, then the new values hold and names stay unique in any case", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      const bob = (await scim(sb, "POST", "/Users", aUser({ userName: "bob@example.com", externalId: "src-bob" }))).body;
      const eng = (await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: ada.id }] })).body;
      await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Research" });

      const renamed = await scim(sb, "PATCH", `/Groups/${eng.id}`, patch({ op: "replace", path: "displayName", value: "Platform" }));
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ displayName: "Platform", members: [{ value: ada.id }] });
      expectScimError(await scim(sb, "PATCH", `/Groups/${eng.id}`, patch({ op: "replace", path: "displayName", value: "research" })), 409, "uniqueness");

      const put = await scim(sb, "PUT", `/Groups/${eng.id}`, { schemas: [CORE_GROUP], displayName: "PLATFORM", externalId: "src-eng", members: [{ value: bob.id }] });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ id: eng.id, displayName: "PLATFORM", externalId: "src-eng" });
      expect(put.body.members.map((m: Json) => m.value)).toEqual([bob.id]);
      expectScimError(await scim(sb, "PUT", `/Groups/${eng.id}`, { schemas: [CORE_GROUP], displayName: "RESEARCH" }), 409, "uniqueness");
      expect(sb.groups().map((g) => g.displayName).sort()).toEqual(["PLATFORM", "Research"]);
    });

    it("rejects a second group whose displayName differs only in case, and members that do not exist", async () => {
      await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering" });
      expectScimError(await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "ENGINEERING" }), 409, "uniqueness");
      expectScimError(await scim(sb, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Ghosts", members: [{ value: "no-such-user" }] }), 400, "invalidValue");
      expect(sb.groups().map((g) => g.displayName)).toEqual(["Engineering"]);

      const found = await scim(sb, "GET", `/Groups${filterQuery('displayName eq "engineering"')}`);
      expect(found.body.totalResults).toBe(1);
    });
  });

  describe("robustness", () => {
    it("answers a bad JSON body with 400, an unknown route with 404, and keeps serving", async () => {
      expectScimError(await scim(sb, "POST", "/Users", "{not json"), 400, "invalidSyntax");
      expectScimError(await scim(sb, "PATCH", "/Users/x", "[1,"), 400);
      expectScimError(await scim(sb, "POST", "/Users", "[]"), 400);
      expectScimError(await scim(sb, "GET", "/Widgets"), 404);
      const outside = await fetch(sb.baseUrl.replace(/\/scim\/v2$/, "/elsewhere"), { headers: { authorization: `Bearer ${sb.token}` } });
      expect(outside.status).toBe(404);
      expect(((await outside.json()) as Json).schemas).toEqual([ERROR]);

      expect((await scim(sb, "POST", "/Users", aUser())).status).toBe(201);
    });

    it("logs every request with method, path, query and status, and reset() clears log and store", async () => {
      await scim(sb, "POST", "/Users", aUser());
      await scim(sb, "GET", `/Users${filterQuery('userName eq "x"')}`);
      await scim(sb, "GET", "/Users", undefined, null);

      expect(sb.requests).toEqual([
        { method: "POST", path: "/scim/v2/Users", query: "", status: 201, body: aUser() },
        { method: "GET", path: "/scim/v2/Users", query: `filter=${encodeURIComponent('userName eq "x"')}`, status: 200 },
        { method: "GET", path: "/scim/v2/Users", query: "", status: 401 },
      ]);

      const log = sb.requests;
      sb.reset();
      expect(log).toEqual([]);
      expect(sb.users()).toEqual([]);
    });

    it("records each JSON request body as the client sent it, and no body where none was read", async () => {
      const ada = (await scim(sb, "POST", "/Users", aUser())).body;
      const group = { schemas: [CORE_GROUP], displayName: "Engineering" };
      const created = (await scim(sb, "POST", "/Groups", group)).body;
      const addAda = patch({ op: "add", path: "members", value: [{ value: ada.id }] });
      await scim(sb, "PATCH", `/Groups/${created.id}`, addAda);
      const replacement = { schemas: [CORE_GROUP], displayName: "Research", members: [{ value: ada.id }] };
      await scim(sb, "PUT", `/Groups/${created.id}`, replacement);
      await scim(sb, "GET", `/Groups/${created.id}`);
      await scim(sb, "DELETE", `/Groups/${created.id}`);
      await scim(sb, "POST", "/Users", "{broken");
      await scim(sb, "POST", "/Users", aUser(), "wrong-token");

      expect(sb.requests.map((r) => [r.method, r.status, r.body])).toEqual([
        ["POST", 201, aUser()],
        ["POST", 201, group],
        ["PATCH", 200, addAda],
        ["PUT", 200, replacement],
        ["GET", 200, undefined],
        ["DELETE", 204, undefined],
        ["POST", 400, undefined],
        ["POST", 401, undefined],
      ]);
      expect(sb.requests.filter((r) => r.body === undefined).every((r) => !("body" in r))).toBe(true);
    });
  });
});

describe("sandbox options for group support", () => {
  it("Given groups: false, when /Groups is called with any method, then 404, while users work", async () => {
    const sandbox = await startSandbox({ groups: false });
    try {
      expectScimError(await scim(sandbox, "GET", "/Groups?excludedAttributes=members&startIndex=1&count=100"), 404);
      expectScimError(await scim(sandbox, "GET", "/groups"), 404);
      expectScimError(await scim(sandbox, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering" }), 404);
      expectScimError(await scim(sandbox, "GET", "/Groups/some-id"), 404);
      expectScimError(await scim(sandbox, "GET", "/Groups", undefined, null), 401);
      expect((await scim(sandbox, "POST", "/Users", aUser())).status).toBe(201);
      expect(sandbox.groups()).toEqual([]);
      expect(sandbox.requests.map((r) => r.status)).toEqual([404, 404, 404, 404, 401, 201]);
    } finally {
      await sandbox.close();
    }
  });

  it("Given hideGroupMembers, when groups are read or written, then no answer shows members, yet membership changes apply", async () => {
    const sandbox = await startSandbox({ hideGroupMembers: true });
    try {
      const ada = (await scim(sandbox, "POST", "/Users", aUser())).body;
      const bob = (await scim(sandbox, "POST", "/Users", aUser({ userName: "bob@example.com", externalId: "src-bob", displayName: "Bob" }))).body;
      const created = await scim(sandbox, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: ada.id }] });
      const groupPath = `/Groups/${created.body.id}`;
      const added = await scim(sandbox, "PATCH", groupPath, patch({ op: "add", path: "members", value: [{ value: bob.id }] }));
      const read = await scim(sandbox, "GET", groupPath);
      const listed = await scim(sandbox, "GET", "/Groups");
      const filtered = await scim(sandbox, "GET", `/Groups${filterQuery('displayName eq "engineering"')}&attributes=members`);
      const searched = await scim(sandbox, "POST", "/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"] });

      for (const group of [created.body, added.body, read.body, ...listed.body.Resources, ...filtered.body.Resources]) {
        expect(group).not.toHaveProperty("members");
      }
      expect(searched.body.Resources.filter((r: Json) => r.meta.resourceType === "Group").some((g: Json) => "members" in g)).toBe(false);
      expect(sandbox.groups()[0]!.members).toEqual([
        { value: ada.id, display: "Ada Lovelace", type: "User" },
        { value: bob.id, display: "Bob", type: "User" },
      ]);

      await scim(sandbox, "PATCH", groupPath, patch({ op: "remove", path: `members[value eq "${ada.id}"]` }));
      expect(sandbox.groups()[0]!.members).toEqual([{ value: bob.id, display: "Bob", type: "User" }]);
      await scim(sandbox, "PUT", groupPath, { schemas: [CORE_GROUP], displayName: "Engineering" });
      expect(sandbox.groups()[0]).not.toHaveProperty("members");
    } finally {
      await sandbox.close();
    }
  });
});

describe("several sandboxes in one process", () => {
  it("keep separate stores, tokens and locations even under concurrent requests", async () => {
    const [one, two] = await Promise.all([startSandbox(), startSandbox()]);
    try {
      expect(one.baseUrl).not.toBe(two.baseUrl);
      const created = await Promise.all(
        Array.from({ length: 10 }, (_, i) => scim(i % 2 === 0 ? one : two, "POST", "/Users", aUser({ userName: `same${i >> 1}@example.com` }))),
      );
      expect(created.every((r) => r.status === 201)).toBe(true);

      const [listOne, listTwo] = await Promise.all([scim(one, "GET", "/Users"), scim(two, "GET", "/Users")]);
      expect(listOne.body.totalResults).toBe(5);
      expect(listTwo.body.totalResults).toBe(5);
      for (const u of listOne.body.Resources) expect(u.meta.location).toBe(`${one.baseUrl}/Users/${u.id}`);
      for (const u of listTwo.body.Resources) expect(u.meta.location).toBe(`${two.baseUrl}/Users/${u.id}`);
      const idsOne = new Set(one.users().map((u) => u.id));
      expect(two.users().some((u) => idsOne.has(u.id))).toBe(false);

      expect((await scim(one, "GET", "/Users", undefined, two.token)).status).toBe(401);
      one.reset();
      expect(one.users()).toEqual([]);
      expect(two.users()).toHaveLength(5);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it("close() ends keep-alive connections at once", async () => {
    const sandbox = await startSandbox();
    await scim(sandbox, "GET", "/Users");
    const started = Date.now();
    await sandbox.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(`${sandbox.baseUrl}/Users`)).rejects.toThrow();
  });
});

describe("data file", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "scimsync-sandbox-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("Given a data file, when the sandbox restarts, then users and groups come back unchanged (file mode 0600)", async () => {
    const dataFile = join(dir, "sandbox.json");
    const first = await startSandbox({ dataFile, token: "demo-token" });
    expect(first.token).toBe("demo-token");
    const ada = (await scim(first, "POST", "/Users", aUser())).body;
    await scim(first, "POST", "/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: ada.id }] });
    await scim(first, "PATCH", `/Users/${ada.id}`, patch({ op: "replace", path: "active", value: false }));
    const usersBefore = first.users();
    const groupsBefore = first.groups();
    await first.close();

    expect((await stat(dataFile)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["sandbox.json"]);

    const second = await startSandbox({ dataFile });
    try {
      const portOf = (url: string) => new URL(url).port;
      const relocate = (r: Json) => ({ ...r, meta: { ...r.meta, location: r.meta.location.replace(`:${portOf(first.baseUrl)}/`, `:${portOf(second.baseUrl)}/`) } });
      expect(second.users()).toEqual(usersBefore.map(relocate));
      expect(second.groups()).toEqual(groupsBefore.map(relocate));
      expect(second.users()[0]!.active).toBe(false);

      expectScimError(await scim(second, "POST", "/Users", aUser({ userName: "ADA@example.com" })), 409, "uniqueness");
      expect((await scim(second, "DELETE", `/Users/${ada.id}`)).status).toBe(204);
    } finally {
      await second.close();
    }
    const third = await startSandbox({ dataFile });
    try {
      expect(third.users()).toEqual([]);
      expect(third.groups()[0]).not.toHaveProperty("members");
    } finally {
      await third.close();
    }
  });

  it("refuses to start on a file that is not a sandbox data file, leaving it untouched", async () => {
    const dataFile = join(dir, "foreign.json");
    const { writeFile, readFile } = await import("node:fs/promises");
    await writeFile(dataFile, '{"something":"else"}');
    await expect(startSandbox({ dataFile })).rejects.toThrow(/not a scimsync sandbox data file/);
    expect(await readFile(dataFile, "utf8")).toBe('{"something":"else"}');
  });
});
