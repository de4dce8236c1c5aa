/**
 * The Groups side of the SCIM client, replaceUser and the entra-legacy dialect against real HTTP
 * servers on loopback, scripted to behave the way real targets do. Each test asserts what the
 * server received, not only what the client said.
 */
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import type { PatchOperation } from "../src/core/mapping.js";
import { TargetError } from "../src/errors.js";
import { BASE_URL_HINT, ScimClient, toEntraLegacyOperations, toTargetGroup } from "../src/scim/client.js";
import { caught, clientFor, send, startIndexes, startTarget, TOKEN, type FakeTarget, type Handler } from "./support/fake-scim-target.js";

const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";

const html404 = (res: ServerResponse) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>");
const scimError = (status: number, detail: string) => ({ schemas: [ERROR_SCHEMA], status: String(status), detail });

function aGroup(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [GROUP_SCHEMA], id: `g-${n}`, displayName: `Group ${n}`, ...extra };
}

function aUser(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: `id-${n}`, userName: `user${n}@example.com`, active: true, ...extra };
}

/** A paging server over `all`; `page` may distort what a request gets. */
function listing(
  all: Record<string, unknown>[],
  page: (startIndex: number, count: number) => Record<string, unknown>[] = (s, c) => all.slice(s - 1, s - 1 + c),
  totalResults = all.length,
): Handler {
  return (req, res) => {
    const startIndex = Number(req.query.get("startIndex") ?? "1");
    const count = Number(req.query.get("count") ?? "20");
    const resources = page(startIndex, count);
    send(res, 200, { schemas: [LIST_SCHEMA], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources });
  };
}

const sentJson = (t: FakeTarget, i = 0) => JSON.parse(t.requests[i]!.body) as Record<string, unknown>;

describe("listGroups", () => {
  const all = Array.from({ length: 250 }, (_, i) => aGroup(i + 1));

  it("Given 250 groups and pageSize 100, When listing, Then it reads 3 pages without members, in that query order", async () => {
    const target = await startTarget(listing(all));
    const { client } = clientFor(target, { pageSize: 100 });

    const groups = await client.listGroups();

    expect(groups).toHaveLength(250);
    expect(groups!.every((g) => g.members === undefined)).toBe(true);
    expect(target.requests.map((r) => r.url)).toEqual([
      "/scim/v2/Groups?excludedAttributes=members&startIndex=1&count=100",
      "/scim/v2/Groups?excludedAttributes=members&startIndex=101&count=100",
      "/scim/v2/Groups?excludedAttributes=members&startIndex=201&count=100",
    ]);
  });

  it("Given a server that caps count at 40, When listing, Then it advances by what it received", async () => {
    const target = await startTarget(listing(all, (s, c) => all.slice(s - 1, s - 1 + Math.min(c, 40))));
    const { client } = clientFor(target, { pageSize: 100 });

    expect(await client.listGroups()).toHaveLength(250);
    expect(startIndexes(target)).toEqual([1, 41, 81, 121, 161, 201, 241]);
  });

  it("Given a server that returns page 1 past the end, When listing, Then it stops on totalResults", async () => {
    const target = await startTarget(listing(all, (s, c) => (s > 250 ? all.slice(0, c) : all.slice(s - 1, s - 1 + c))));
    const { client } = clientFor(target, { pageSize: 100 });

    expect((await client.listGroups())!.map((g) => g.id)).toEqual(all.map((g) => g.id));
    expect(target.requests).toHaveLength(3);
  });

  it("Given a server that ignores startIndex, When listing, Then it fails as inconsistent instead of looping", async () => {
    const target = await startTarget(listing(all, (_s, c) => all.slice(0, c)));
    const { client } = clientFor(target, { pageSize: 100 });

    const error = await caught(client.listGroups());

    expect(error.message).toBe(
      "target listing is inconsistent: the page at startIndex 101 only repeated groups already listed (100 of 250 so far)",
    );
    expect(target.requests).toHaveLength(2);
  });

  it("Given totalResults larger than what the server returns, When listing, Then it fails instead of returning a short list", async () => {
    const target = await startTarget(listing(all, undefined, 260));
    const { client } = clientFor(target, { pageSize: 100 });

    const error = await caught(client.listGroups());

    expect(error.message).toBe("target listing is incomplete: totalResults is 260 but the pages ended after 250 groups");
    expect(startIndexes(target)).toEqual([1, 101, 201, 251]);
  });

  it("Given overlapping pages, When listing, Then duplicates are dropped and the walk continues", async () => {
    const five = all.slice(0, 5);
    const target = await startTarget(listing(five, (s) => (s === 1 ? five.slice(0, 3) : five.slice(s - 2, s + 1))));
    const { client } = clientFor(target, { pageSize: 3 });

    expect((await client.listGroups())!.map((g) => g.id)).toEqual(["g-1", "g-2", "g-3", "g-4", "g-5"]);
  });

  it("Given a target that ignores excludedAttributes, When listing, Then the members it sent are kept", async () => {
    const withMembers = [aGroup(1, { members: [{ value: "u1" }, { value: "u2", display: "Bob" }] }), aGroup(2, { members: [] })];
    const target = await startTarget(listing(withMembers));
    const { client } = clientFor(target);

    const groups = await client.listGroups();

    expect(groups!.map((g) => [g.id, g.members])).toEqual([
      ["g-1", ["u1", "u2"]],
      ["g-2", []],
    ]);
  });

  it.each([
    ["404 with a SCIM Error", (res: ServerResponse) => send(res, 404, scimError(404, "No such endpoint"))],
    ["404 with an HTML page", html404],
    ["404 with no body", (res: ServerResponse) => send(res, 404)],
    ["501", (res: ServerResponse) => send(res, 501, scimError(501, "Groups are not supported"))],
  ])("Given %s on the first page, When listing, Then undefined: the target has no groups", async (_name, answer) => {
    const target = await startTarget((_req, res) => answer(res));
    const { client, sleeps } = clientFor(target);

    expect(await client.listGroups()).toBeUndefined();
    expect(target.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("Given a 404 on a later page, When listing, Then it fails rather than report no group support", async () => {
    const target = await startTarget((req, res) => {
      if (req.query.get("startIndex") === "1") listing(all)(req, res);
      else send(res, 404, scimError(404, "gone"));
    });
    const { client } = clientFor(target, { pageSize: 100 });

    const error = await caught(client.listGroups());

    expect(error).toMatchObject({ status: 404, message: "GET /Groups: 404: gone", hint: BASE_URL_HINT });
    expect(target.requests).toHaveLength(2);
  });

  it("Given 403 on the first page, When listing, Then it fails: a refused token is not missing group support", async () => {
    const target = await startTarget((_req, res) => send(res, 403));
    const { client } = clientFor(target);

    expect((await caught(client.listGroups())).status).toBe(403);
  });

  it("Given 503 then the list, When listing, Then the GET is retried", async () => {
    let n = 0;
    const target = await startTarget((req, res) => (n++ === 0 ? send(res, 503) : listing(all.slice(0, 2))(req, res)));
    const { client, sleeps } = clientFor(target);

    expect(await client.listGroups()).toHaveLength(2);
    expect(sleeps).toEqual([250]);
  });

  it("Given listed groups without a usable displayName, When listing, Then they are listed with displayName \"\" among the others", async () => {
    const target = await startTarget(listing([aGroup(1), { id: "g-9" }, { id: "g-10", displayName: "", externalId: "src-10" }, aGroup(2)]));
    const { client } = clientFor(target);

    const groups = await client.listGroups();

    expect(groups?.map((g) => [g.id, g.displayName, g.externalId])).toEqual([
      ["g-1", "Group 1", undefined],
      ["g-9", "", undefined],
      ["g-10", "", "src-10"],
      ["g-2", "Group 2", undefined],
    ]);
  });

  it("Given a listed group without id, When listing, Then it fails naming the attribute: such a group could never be addressed", async () => {
    const target = await startTarget(listing([aGroup(1), { displayName: "No id" }]));
    const { client } = clientFor(target);

    expect((await caught(client.listGroups())).message).toBe("target returned a Group with no id");
  });
});

describe("getGroup and findGroups", () => {
  it("Given 200, When getting a group, Then it asked for the encoded id (with members) and returns them", async () => {
    const target = await startTarget((_req, res) => send(res, 200, aGroup(1, { externalId: "src-1", members: [{ value: "u1" }, { value: "u2" }] })));
    const { client } = clientFor(target);

    const group = await client.getGroup("a/b c");

    expect(group).toMatchObject({ id: "g-1", displayName: "Group 1", externalId: "src-1", members: ["u1", "u2"] });
    expect(target.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /scim/v2/Groups/a%2Fb%20c"]);
  });

  it.each([
    ["a SCIM Error body", (res: ServerResponse) => send(res, 404, scimError(404, "Resource g-1 not found"))],
    ["an empty body", (res: ServerResponse) => send(res, 404)],
  ])("Given 404 with %s, When getting, Then undefined", async (_name, answer) => {
    const target = await startTarget((_req, res) => answer(res));
    const { client } = clientFor(target);

    expect(await client.getGroup("g-1")).toBeUndefined();
  });

  it("Given an HTML 404 (a wrong URL), When getting, Then it fails and points at target.url", async () => {
    const target = await startTarget((_req, res) => html404(res));
    const { client } = clientFor(target);

    expect(await caught(client.getGroup("g-1"))).toMatchObject({ status: 404, message: "GET /Groups/g-1: 404: Not Found", hint: BASE_URL_HINT });
  });

  it("Given 200 with a body that is not a Group, When getting, Then it fails naming the request", async () => {
    const target = await startTarget((_req, res) => send(res, 200, { members: "everyone" }));
    const { client } = clientFor(target);

    expect((await caught(client.getGroup("g-1"))).message).toBe("GET /Groups/g-1: target returned a Group with no id, an invalid members");
  });

  it("Given 200 with a group without displayName, When getting, Then it returns it with displayName \"\" and its members", async () => {
    const target = await startTarget((_req, res) => send(res, 200, { id: "g-1", externalId: "src-1", members: [{ value: "u1" }] }));
    const { client } = clientFor(target);

    expect(await client.getGroup("g-1")).toMatchObject({ id: "g-1", displayName: "", externalId: "src-1", members: ["u1"] });
  });

  it("Given a displayName with a quote, When finding, Then it sends the escaped filter and excludes members", async () => {
    const target = await startTarget(listing([aGroup(1, { displayName: 'R&D "core"' })]));
    const { client } = clientFor(target);

    const groups = await client.findGroups("displayName", 'R&D "core"');

    expect(groups.map((g) => g.displayName)).toEqual(['R&D "core"']);
    const req = target.requests[0]!;
    expect(req.path).toBe("/Groups");
    expect(req.query.get("filter")).toBe('displayName eq "R&D \\"core\\""');
    expect(req.query.get("excludedAttributes")).toBe("members");
    expect(req.url).toContain("filter=displayName%20eq%20%22R%26D%20%5C%22core%5C%22%22&excludedAttributes=members");
  });

  it("Given an externalId, When finding, Then the filter names externalId", async () => {
    const target = await startTarget(listing([]));
    const { client } = clientFor(target);

    expect(await client.findGroups("externalId", "src-7")).toEqual([]);
    expect(target.requests[0]!.query.get("filter")).toBe('externalId eq "src-7"');
  });
});

describe("createGroup", () => {
  const body = { schemas: [GROUP_SCHEMA], displayName: "Engineering", externalId: "src-eng" };

  it("Given 201 with the group, When creating, Then it returns it and sent the resource", async () => {
    const target = await startTarget((req, res) => send(res, 201, { ...JSON.parse(req.body), id: "g-new" }));
    const { client } = clientFor(target);

    const group = await client.createGroup(body);

    expect(group).toMatchObject({ id: "g-new", displayName: "Engineering", externalId: "src-eng" });
    expect(group.members).toBeUndefined();
    expect(target.requests[0]).toMatchObject({ method: "POST", path: "/Groups" });
    expect(target.requests[0]!.headers["content-type"]).toBe("application/scim+json");
    expect(sentJson(target)).toEqual(body);
  });

  it.each([
    ["201 with no body", (res: ServerResponse) => send(res, 201), "POST /Groups: target answered 201 but returned a Group that is not a JSON object"],
    ["201 without id", (res: ServerResponse) => send(res, 201, body), "POST /Groups: target answered 201 but returned a Group with no id"],
    ["200 with an empty object", (res: ServerResponse) => send(res, 200, {}), "POST /Groups: target answered 200 but returned a Group with no id"],
  ])("Given %s, When creating, Then it fails ambiguous after one POST", async (_name, answer, message) => {
    const target = await startTarget((_req, res) => answer(res));
    const { client } = clientFor(target);

    const error = await caught(client.createGroup(body));

    expect(error).toMatchObject({ message, ambiguous: true });
    expect(target.requests).toHaveLength(1);
  });

  it("Given 201 with only the new id, When creating, Then it returns the group with displayName \"\" instead of failing ambiguous", async () => {
    const target = await startTarget((_req, res) => send(res, 201, { id: "g-new" }));
    const { client } = clientFor(target);

    expect(await client.createGroup(body)).toEqual({ id: "g-new", displayName: "", resource: { id: "g-new" } });
    expect(target.requests).toHaveLength(1);
  });

  it("Given a 201 with an HTML body, When creating, Then it fails ambiguous", async () => {
    const target = await startTarget((_req, res) => res.writeHead(201, { "content-type": "text/html" }).end("<p>created</p>"));
    const { client } = clientFor(target);

    expect(await caught(client.createGroup(body))).toMatchObject({ status: 201, ambiguous: true });
  });

  it("Given a connection closed after the POST arrived, When creating, Then ambiguous, naming a group, and never posted twice", async () => {
    const target = await startTarget((_req, res) => res.socket?.destroy());
    const { client, sleeps } = clientFor(target);

    const error = await caught(client.createGroup(body));

    expect(error.message).toBe("POST /Groups: connection closed by the target before it answered; the target may have created the group");
    expect(error.ambiguous).toBe(true);
    expect(target.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("Given 502, When creating, Then it fails ambiguous without a retry (a gateway may have passed it on)", async () => {
    const target = await startTarget((_req, res) => send(res, 502));
    const { client } = clientFor(target);

    expect(await caught(client.createGroup(body))).toMatchObject({ status: 502, ambiguous: true });
    expect(target.requests).toHaveLength(1);
  });

  it("Given 429 then 201, When creating, Then the POST is retried (it was refused, not applied)", async () => {
    let n = 0;
    const target = await startTarget((req, res) => (n++ === 0 ? send(res, 429) : send(res, 201, { ...JSON.parse(req.body), id: "g-2" })));
    const { client } = clientFor(target);

    expect((await client.createGroup(body)).id).toBe("g-2");
    expect(target.requests).toHaveLength(2);
  });

  it("Given 409 uniqueness, When creating, Then TargetError carries it and is not ambiguous", async () => {
    const target = await startTarget((_req, res) =>
      send(res, 409, { schemas: [ERROR_SCHEMA], status: "409", scimType: "uniqueness", detail: "displayName taken" }),
    );
    const { client } = clientFor(target);

    expect(await caught(client.createGroup(body))).toMatchObject({
      status: 409,
      scimType: "uniqueness",
      ambiguous: false,
      message: "POST /Groups: 409 uniqueness: displayName taken",
    });
  });
});

describe("patchGroup, replaceGroup and deleteGroup", () => {
  const ops: PatchOperation[] = [
    { op: "add", path: "members", value: [{ value: "u1" }, { value: "u2" }] },
    { op: "remove", path: 'members[value eq "u3"]' },
  ];

  it.each([
    ["204", (res: ServerResponse) => send(res, 204)],
    ["200 with the group", (res: ServerResponse) => send(res, 200, aGroup(1))],
    ["200 with something else", (res: ServerResponse) => send(res, 200, { Operations: [] })],
  ])("Given %s, When patching, Then it resolves and sent an RFC PatchOp to the encoded id", async (_name, answer) => {
    const target = await startTarget((_req, res) => answer(res));
    const { client } = clientFor(target);

    await expect(client.patchGroup("g 1", ops)).resolves.toBeUndefined();

    expect(target.requests[0]).toMatchObject({ method: "PATCH", url: "/scim/v2/Groups/g%201" });
    expect(sentJson(target)).toEqual({ schemas: [PATCH_OP], Operations: ops });
  });

  it("Given 503 then 204, When patching, Then the PATCH is retried with the same body", async () => {
    let n = 0;
    const target = await startTarget((_req, res) => send(res, n++ === 0 ? 503 : 204));
    const { client } = clientFor(target);

    await client.patchGroup("g-1", ops);

    expect(target.requests).toHaveLength(2);
    expect(target.requests[1]!.body).toBe(target.requests[0]!.body);
  });

  it("Given a connection dropped before the answer, When patching, Then the PATCH is retried", async () => {
    let n = 0;
    const target = await startTarget((_req, res) => (n++ === 0 ? res.socket?.destroy() : send(res, 204)));
    const { client } = clientFor(target);

    await client.patchGroup("g-1", ops);

    expect(target.requests).toHaveLength(2);
  });

  it("Given a 404, When patching, Then it fails (the group is gone; nothing was applied)", async () => {
    const target = await startTarget((_req, res) => send(res, 404, scimError(404, "Resource g-1 not found")));
    const { client } = clientFor(target);

    expect(await caught(client.patchGroup("g-1", ops))).toMatchObject({ status: 404, message: "PATCH /Groups/g-1: 404: Resource g-1 not found" });
  });

  it("Given 504 then 200, When replacing, Then the PUT is retried and carried the whole resource", async () => {
    let n = 0;
    const target = await startTarget((req, res) => (n++ === 0 ? send(res, 504) : send(res, 200, JSON.parse(req.body))));
    const { client } = clientFor(target);
    const resource = { schemas: [GROUP_SCHEMA], id: "g-1", displayName: "Engineering", members: [{ value: "u1" }] };

    await expect(client.replaceGroup("g-1", resource)).resolves.toBeUndefined();

    expect(target.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["PUT /scim/v2/Groups/g-1", "PUT /scim/v2/Groups/g-1"]);
    expect(sentJson(target, 1)).toEqual(resource);
    expect(target.requests[1]!.headers["content-type"]).toBe("application/scim+json");
  });

  it("Given 404 with a SCIM body, When deleting, Then it counts as done", async () => {
    const target = await startTarget((_req, res) => send(res, 404, scimError(404, "not found")));
    const { client } = clientFor(target);

    await expect(client.deleteGroup("g-1")).resolves.toBeUndefined();
    expect(target.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["DELETE /scim/v2/Groups/g-1"]);
  });

  it("Given an HTML 404, When deleting, Then it fails and points at target.url", async () => {
    const target = await startTarget((_req, res) => html404(res));
    const { client } = clientFor(target);

    expect(await caught(client.deleteGroup("g-1"))).toMatchObject({ status: 404, hint: BASE_URL_HINT });
  });

  it("Given 502 then 204, When deleting, Then the DELETE is retried", async () => {
    let n = 0;
    const target = await startTarget((_req, res) => send(res, n++ === 0 ? 502 : 204));
    const { client } = clientFor(target);

    await client.deleteGroup("g-1");

    expect(target.requests).toHaveLength(2);
  });
});

describe("replaceUser", () => {
  const resource = { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "ada@example.com", active: false };

  it("Given 200 with the user, When replacing, Then it PUT the resource to the encoded id and returns the user", async () => {
    const target = await startTarget((req, res) => send(res, 200, { ...JSON.parse(req.body), id: "a/b" }));
    const { client } = clientFor(target);

    const user = await client.replaceUser("a/b", resource);

    expect(user).toMatchObject({ id: "a/b", userName: "ada@example.com", active: false });
    expect(target.requests[0]).toMatchObject({ method: "PUT", url: "/scim/v2/Users/a%2Fb" });
    expect(sentJson(target)).toEqual(resource);
  });

  it.each([
    ["204", (res: ServerResponse) => send(res, 204)],
    ["200 with an empty object", (res: ServerResponse) => send(res, 200, {})],
  ])("Given %s, When replacing, Then it returns undefined", async (_name, answer) => {
    const target = await startTarget((_req, res) => answer(res));
    const { client } = clientFor(target);

    expect(await client.replaceUser("id-1", resource)).toBeUndefined();
  });

  it("Given 503 then 200, When replacing, Then the PUT is retried", async () => {
    let n = 0;
    const target = await startTarget((_req, res) => (n++ === 0 ? send(res, 503) : send(res, 200, aUser(1))));
    const { client } = clientFor(target);

    expect(await client.replaceUser("id-1", resource)).toMatchObject({ id: "id-1" });
    expect(target.requests).toHaveLength(2);
  });

  it("Given 409 uniqueness, When replacing, Then TargetError", async () => {
    const target = await startTarget((_req, res) =>
      send(res, 409, { schemas: [ERROR_SCHEMA], status: "409", scimType: "uniqueness", detail: "userName taken" }),
    );
    const { client } = clientFor(target);

    expect(await caught(client.replaceUser("id-1", resource))).toMatchObject({ status: 409, scimType: "uniqueness" });
    expect(target.requests).toHaveLength(1);
  });
});

describe("entra-legacy dialect", () => {
  it.each([
    [
      "op names are capitalised",
      [{ op: "add", path: "title", value: "x" }, { op: "replace", path: "displayName", value: "y" }, { op: "remove", path: "nickName" }],
      [{ op: "Add", path: "title", value: "x" }, { op: "Replace", path: "displayName", value: "y" }, { op: "Remove", path: "nickName" }],
    ],
    [
      "a member removal by filter path becomes a removal by value",
      [{ op: "remove", path: 'members[value eq "u1"]' }],
      [{ op: "Remove", path: "members", value: [{ value: "u1" }] }],
    ],
    [
      "several member removals are merged into one, at the first one's place",
      [
        { op: "add", path: "members", value: [{ value: "u9" }] },
        { op: "remove", path: 'members[value eq "u1"]' },
        { op: "replace", path: "displayName", value: "Eng" },
        { op: "remove", path: 'Members[ value eq "u2" ]' },
        { op: "remove", path: "members", value: [{ value: "u3" }, { value: "u1" }] },
      ],
      [
        { op: "Add", path: "members", value: [{ value: "u9" }] },
        { op: "Remove", path: "members", value: [{ value: "u1" }, { value: "u2" }, { value: "u3" }] },
        { op: "Replace", path: "displayName", value: "Eng" },
      ],
    ],
    [
      "an escaped member id is unescaped",
      [{ op: "remove", path: 'members[value eq "a\\"b\\\\c"]' }],
      [{ op: "Remove", path: "members", value: [{ value: 'a"b\\c' }] }],
    ],
    [
      "a removal of all members stays as it is",
      [{ op: "remove", path: "members" }],
      [{ op: "Remove", path: "members" }],
    ],
    [
      "booleans become the strings True and False, also inside values",
      [
        { op: "replace", path: "active", value: false },
        { op: "replace", path: "active", value: true },
        { op: "add", path: "emails", value: [{ type: "work", value: "a@example.com", primary: true }] },
        { op: "replace", value: { active: false, title: "x" } },
      ],
      [
        { op: "Replace", path: "active", value: "False" },
        { op: "Replace", path: "active", value: "True" },
        { op: "Add", path: "emails", value: [{ type: "work", value: "a@example.com", primary: "True" }] },
        { op: "Replace", value: { active: "False", title: "x" } },
      ],
    ],
    ["no operations stay none", [], []],
  ] as [string, PatchOperation[], Record<string, unknown>[]][])("%s", (_name, input, expected) => {
    const before = structuredClone(input);

    expect(toEntraLegacyOperations(input)).toEqual(expected);
    expect(input).toEqual(before);
  });

  it("Given dialect entra-legacy, When patching a group and a user, Then the target receives the legacy shape", async () => {
    const target = await startTarget((_req, res) => send(res, 204));
    const { client } = clientFor(target, { dialect: "entra-legacy" });

    await client.patchGroup("g-1", [
      { op: "remove", path: 'members[value eq "u1"]' },
      { op: "remove", path: 'members[value eq "u2"]' },
      { op: "add", path: "members", value: [{ value: "u3" }] },
    ]);
    await client.patchUser("id-1", [{ op: "replace", path: "active", value: false }]);

    expect(sentJson(target, 0)).toEqual({
      schemas: [PATCH_OP],
      Operations: [
        { op: "Remove", path: "members", value: [{ value: "u1" }, { value: "u2" }] },
        { op: "Add", path: "members", value: [{ value: "u3" }] },
      ],
    });
    expect(sentJson(target, 1)).toEqual({ schemas: [PATCH_OP], Operations: [{ op: "Replace", path: "active", value: "False" }] });
  });

  it.each(["patch", "put", undefined] as const)("Given dialect %s, When patching, Then the RFC operations go out unchanged", async (dialect) => {
    const target = await startTarget((_req, res) => send(res, 204));
    const { client } = clientFor(target, dialect === undefined ? {} : { dialect });
    const ops: PatchOperation[] = [{ op: "remove", path: 'members[value eq "u1"]' }, { op: "replace", path: "active", value: false }];

    await client.patchGroup("g-1", ops);

    expect(sentJson(target)).toEqual({ schemas: [PATCH_OP], Operations: ops });
  });

  it("Given an unknown dialect, When constructing, Then it refuses", () => {
    expect(() => new ScimClient({ baseUrl: "http://127.0.0.1:1", token: TOKEN, dialect: "soap" as never })).toThrow(RangeError);
  });
});

describe("toTargetGroup", () => {
  it("reads id, displayName, externalId and member values, keeping the whole resource", () => {
    const resource = {
      id: "g-1",
      displayName: "Eng",
      externalId: "src-eng",
      members: [{ value: "u1", display: "Ada" }, { value: 7 }, { display: "no value" }, "u2", null, { value: "u3", type: "Group" }],
      "urn:x:ext": { a: 1 },
    };

    expect(toTargetGroup(resource)).toEqual({ id: "g-1", displayName: "Eng", externalId: "src-eng", members: ["u1", "u3"], resource });
  });

  it.each([
    [{ id: "g", displayName: "G" }, undefined],
    [{ id: "g", displayName: "G", members: null }, undefined],
    [{ id: "g", displayName: "G", members: [] }, []],
  ])("members of %j are %j", (resource, members) => {
    const group = toTargetGroup(resource);
    expect(group.members).toEqual(members);
    expect("members" in group).toBe(members !== undefined);
  });

  it.each([
    [{ id: "g" }],
    [{ id: "g", displayName: null }],
    [{ id: "g", displayName: "" }],
    [{ id: "g", displayName: "  " }],
    [{ id: "g", displayName: 7 }],
    [{ id: "g", displayName: { value: "G" } }],
  ])("reads %j with displayName \"\", keeping the resource as sent", (resource) => {
    expect(toTargetGroup({ ...resource, externalId: "src-g" })).toEqual({ id: "g", displayName: "", externalId: "src-g", resource: { ...resource, externalId: "src-g" } });
  });

  it.each([
    [{ displayName: "G" }, "target returned a Group with no id"],
    [{ id: "", displayName: "G" }, "target returned a Group with an invalid id"],
    [{}, "target returned a Group with no id"],
    [{ id: "g", displayName: "G", members: { value: "u1" } }, "target returned a Group (id g) with an invalid members"],
    [[], "target returned a Group that is not a JSON object"],
  ])("rejects %j", (resource, message) => {
    expect(() => toTargetGroup(resource)).toThrow(new TargetError(message, {}));
  });
});
