/**
 * The SCIM client against real HTTP servers on loopback, each scripted to misbehave the way
 * real targets do. Every test asserts what the server received, not only what the client said.
 */
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { TargetAuthError, TargetError } from "../src/errors.js";
import { BASE_URL_HINT, escapeFilterValue, toTargetUser } from "../src/scim/client.js";
import { defaultUserAgent } from "../src/scim/user-agent.js";
import { VERSION } from "../src/version.js";
import { caught, clientFor, send, startIndexes, startTarget, TOKEN, type FakeTarget, type Handler } from "./support/fake-scim-target.js";

const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

function aUser(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id: `id-${n}`, userName: `user${n}@example.com`, active: true, ...extra };
}

function scimError(status: number, scimType: string | undefined, detail: string): Record<string, unknown> {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

/** A paging server over `count` users; `page` decides what a request gets. */
function listing(
  total: number,
  page: (startIndex: number, count: number) => { resources: Record<string, unknown>[]; totalResults?: number },
): Handler {
  return (req, res) => {
    const startIndex = Number(req.query.get("startIndex") ?? "1");
    const count = Number(req.query.get("count") ?? "20");
    const { resources, totalResults } = page(startIndex, count);
    send(res, 200, { schemas: [LIST_SCHEMA], totalResults: totalResults ?? total, startIndex, itemsPerPage: resources.length, Resources: resources });
  };
}

function usersFrom(all: Record<string, unknown>[], startIndex: number, count: number): Record<string, unknown>[] {
  return all.slice(startIndex - 1, startIndex - 1 + count);
}


describe("listUsers", () => {
  const all = Array.from({ length: 250 }, (_, i) => aUser(i + 1));

  it("Given 250 users and pageSize 100, When listing, Then it reads 3 pages by startIndex", async () => {
    const target = await startTarget(listing(250, (s, c) => ({ resources: usersFrom(all, s, c) })));
    const { client } = clientFor(target, { pageSize: 100 });

    const users = await client.listUsers();

    expect(users).toHaveLength(250);
    expect(new Set(users.map((u) => u.id)).size).toBe(250);
    expect(target.requests).toHaveLength(3);
    expect(startIndexes(target)).toEqual([1, 101, 201]);
    expect(target.requests.every((r) => r.query.get("count") === "100" && r.path === "/Users")).toBe(true);
    expect(client.requestCount()).toBe(3);
  });

  it("Given a server that caps count at 50, When listing, Then it advances by what it received", async () => {
    const target = await startTarget(listing(250, (s, c) => ({ resources: usersFrom(all, s, Math.min(c, 50)) })));
    const { client } = clientFor(target, { pageSize: 100 });

    const users = await client.listUsers();

    expect(users).toHaveLength(250);
    expect(startIndexes(target)).toEqual([1, 51, 101, 151, 201]);
  });

  it("Given a server that returns page 1 past the end, When listing, Then it stops on totalResults without duplicates", async () => {
    const target = await startTarget(
      listing(250, (s, c) => ({ resources: s > 250 ? usersFrom(all, 1, c) : usersFrom(all, s, c) })),
    );
    const { client } = clientFor(target, { pageSize: 100 });

    const users = await client.listUsers();

    expect(users.map((u) => u.id)).toEqual(all.map((u) => u.id));
    expect(target.requests).toHaveLength(3);
    expect(startIndexes(target).every((s) => s <= 250)).toBe(true);
  });

  it("Given a server that repeats a page before totalResults, When listing, Then it fails as inconsistent", async () => {
    // Ignores startIndex entirely: every request gets the first page.
    const target = await startTarget(listing(250, (_s, c) => ({ resources: usersFrom(all, 1, c) })));
    const { client } = clientFor(target, { pageSize: 100 });

    const error = await caught(client.listUsers());

    expect(error.message).toMatch(/^target listing is inconsistent/);
    expect(error.message).toContain("100 of 250");
    expect(target.requests).toHaveLength(2);
  });

  it("Given totalResults larger than what the server returns, When listing, Then it fails instead of returning a short list", async () => {
    const target = await startTarget(listing(300, (s, c) => ({ resources: usersFrom(all, s, c) })));
    const { client } = clientFor(target, { pageSize: 100 });

    const error = await caught(client.listUsers());

    expect(error.message).toMatch(/^target listing is incomplete: totalResults is 300 .* 250 users/);
    expect(startIndexes(target)).toEqual([1, 101, 201, 251]);
  });

  it("Given overlapping pages (unstable order), When listing, Then duplicates are dropped and the walk continues", async () => {
    // The second page starts one user early, as when a user is added during the walk.
    const target = await startTarget(
      listing(5, (s) => ({ resources: s === 1 ? usersFrom(all, 1, 3) : usersFrom(all, s - 1, 3) })),
    );
    const { client } = clientFor(target, { pageSize: 3 });

    const users = await client.listUsers();

    expect(users.map((u) => u.id)).toEqual(["id-1", "id-2", "id-3", "id-4", "id-5"]);
  });

  it("Given an empty target without Resources, When listing, Then it returns no users after one request", async () => {
    const target = await startTarget((_req, res) => send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 0 }));
    const { client } = clientFor(target);

    expect(await client.listUsers()).toEqual([]);
    expect(target.requests).toHaveLength(1);
  });

  it("Given a body that is not a ListResponse, When listing, Then it fails naming the problem", async () => {
    const target = await startTarget((_req, res) => send(res, 200, { Resources: [] }));
    const { client } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error.message).toMatch(/^GET \/Users: target did not answer with a SCIM ListResponse \(totalResults/);
  });

  it.each([
    ["an HTML body", (res: ServerResponse) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>")],
    ["a SCIM Error body", (res: ServerResponse) => send(res, 404, scimError(404, undefined, "No such endpoint"))],
  ])("Given 404 with %s, When listing, Then it fails with a hint about the SCIM base URL", async (_name, answer) => {
    const target = await startTarget((_req, res) => answer(res));
    const { client } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error.status).toBe(404);
    expect(error.message).toMatch(/^GET \/Users: 404/);
    expect(error.hint).toBe(
      "check target.url: it must be the app's SCIM base URL, the part before /Users (e.g. https://app.example.com/scim/v2)",
    );
    expect(target.requests).toHaveLength(1);
  });

  it("Given a listed user without userName, When listing, Then it fails naming the missing attribute", async () => {
    const target = await startTarget(listing(1, () => ({ resources: [{ id: "x1" }] })));
    const { client } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error.message).toBe("target returned a User (id x1) with no userName");
  });
});

describe("getUser", () => {
  it("Given 200 with the user, When getting it, Then it returns the user and asked for the encoded id", async () => {
    const target = await startTarget((_req, res) => send(res, 200, aUser(7, { externalId: "e7", active: false })));
    const { client } = clientFor(target);

    const user = await client.getUser("a/b c");

    expect(user).toMatchObject({ id: "id-7", userName: "user7@example.com", externalId: "e7", active: false });
    expect(target.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /scim/v2/Users/a%2Fb%20c"]);
  });

  it("Given 404 with a SCIM Error body, When getting, Then it returns undefined", async () => {
    const target = await startTarget((_req, res) => send(res, 404, scimError(404, undefined, "Resource id-1 not found")));
    const { client } = clientFor(target);

    expect(await client.getUser("id-1")).toBeUndefined();
    expect(target.requests).toHaveLength(1);
  });

  it("Given 404 with an empty body, When getting, Then it returns undefined", async () => {
    const target = await startTarget((_req, res) => send(res, 404));
    const { client } = clientFor(target);

    expect(await client.getUser("id-1")).toBeUndefined();
  });

  it("Given an HTML 404 (a wrong URL, not a missing user), When getting, Then it fails and points at target.url", async () => {
    const target = await startTarget((_req, res) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>"));
    const { client } = clientFor(target);

    const error = await caught(client.getUser("id-1"));

    expect(error).toMatchObject({ status: 404, message: "GET /Users/id-1: 404: Not Found", hint: BASE_URL_HINT });
    expect(target.requests).toHaveLength(1);
  });

  it("Given 503 then 200, When getting, Then the GET is retried", async () => {
    let n = 0;
    const target = await startTarget((_req, res) => (n++ === 0 ? send(res, 503) : send(res, 200, aUser(1))));
    const { client, sleeps } = clientFor(target);

    expect(await client.getUser("id-1")).toMatchObject({ id: "id-1" });
    expect(target.requests).toHaveLength(2);
    expect(sleeps).toEqual([250]);
  });

  it("Given 200 with a body that is not a User, When getting, Then it fails naming the request", async () => {
    const target = await startTarget((_req, res) => send(res, 200, { id: "id-1" }));
    const { client } = clientFor(target);

    const error = await caught(client.getUser("id-1"));

    expect(error).toMatchObject({ status: 200, message: "GET /Users/id-1: target returned a User (id id-1) with no userName" });
  });
});

describe("findUsers", () => {
  it("Given a value with a quote and a backslash, When finding, Then the server receives the escaped filter, percent-encoded", async () => {
    const target = await startTarget(listing(1, () => ({ resources: [aUser(1, { userName: 'a"b\\c' })] })));
    const { client } = clientFor(target);

    const users = await client.findUsers("userName", 'a"b\\c');

    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]!.query.get("filter")).toBe('userName eq "a\\"b\\\\c"');
    expect(target.requests[0]!.url).toContain("filter=userName%20eq%20%22a%5C%22b%5C%5Cc%22");
    expect(users.map((u) => u.userName)).toEqual(['a"b\\c']);
  });

  it("Given several matches, When finding by externalId, Then all are returned", async () => {
    const target = await startTarget(listing(2, () => ({ resources: [aUser(1, { externalId: "e1" }), aUser(2, { externalId: "e1" })] })));
    const { client } = clientFor(target);

    const users = await client.findUsers("externalId", "e1");

    expect(target.requests[0]!.query.get("filter")).toBe('externalId eq "e1"');
    expect(users.map((u) => [u.id, u.externalId])).toEqual([
      ["id-1", "e1"],
      ["id-2", "e1"],
    ]);
  });

  it("Given an error, When finding, Then the message names the path but not the filter value", async () => {
    const target = await startTarget((_req, res) => send(res, 400, scimError(400, "invalidFilter", "bad filter")));
    const { client } = clientFor(target);

    const error = await caught(client.findUsers("userName", "private.person@example.com"));

    expect(error.message).toBe("GET /Users: 400 invalidFilter: bad filter");
    expect(String(error)).not.toContain("private.person");
  });
});

describe("retries", () => {
  const okList = { schemas: [LIST_SCHEMA], totalResults: 0, Resources: [] };

  function failingThen(failures: ((res: ServerResponse) => void)[], then: (res: ServerResponse) => void): Handler {
    let n = 0;
    return (_req, res) => {
      const fail = failures[n++];
      if (fail) fail(res);
      else then(res);
    };
  }

  it("Given 429 with Retry-After: 2, When listing, Then it waits 2000 ms and succeeds", async () => {
    const target = await startTarget(
      failingThen([(res) => send(res, 429, scimError(429, undefined, "slow down"), { "retry-after": "2" })], (res) => send(res, 200, okList)),
    );
    const { client, sleeps } = clientFor(target);

    expect(await client.listUsers()).toEqual([]);
    expect(sleeps).toEqual([2000]);
    expect(target.requests).toHaveLength(2);
  });

  it("Given 429 with an HTTP-date Retry-After, When listing, Then it waits until that date", async () => {
    const target = await startTarget(
      failingThen(
        [(res) => send(res, 429, undefined, { "retry-after": new Date(Date.now() + 3000).toUTCString() })],
        (res) => send(res, 200, okList),
      ),
    );
    const { client, sleeps } = clientFor(target);

    await client.listUsers();

    // An HTTP-date has whole seconds, so up to one second of the three can be lost.
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(1500);
    expect(sleeps[0]).toBeLessThanOrEqual(3000);
    expect(target.requests).toHaveLength(2);
  });

  it("Given 503 once, When listing, Then it backs off and retries", async () => {
    const target = await startTarget(failingThen([(res) => send(res, 503)], (res) => send(res, 200, okList)));
    const { client, sleeps } = clientFor(target);

    await client.listUsers();

    expect(sleeps).toEqual([250]); // base 500 ms, half fixed, random() = 0
    expect(target.requests).toHaveLength(2);
  });

  it("Given backoff steps, When retrying repeatedly, Then the waits grow exponentially with jitter", async () => {
    const target = await startTarget((_req, res) => send(res, 502));
    const { client, sleeps } = clientFor(target, { retries: 4, random: () => 0.5 });

    await caught(client.listUsers());

    expect(sleeps).toEqual([375, 750, 1500, 3000]);
  });

  it("Given 500 once, When listing, Then it backs off and retries: one transient 500 must not end the run", async () => {
    const target = await startTarget(failingThen([(res) => send(res, 500, scimError(500, undefined, "boom"))], (res) => send(res, 200, okList)));
    const { client, sleeps } = clientFor(target);

    expect(await client.listUsers()).toEqual([]);
    expect(sleeps).toEqual([250]);
    expect(target.requests).toHaveLength(2);
  });

  it("Given 500 every time, When retries run out, Then it throws the 500 after retries + 1 requests", async () => {
    const target = await startTarget((_req, res) => send(res, 500, scimError(500, undefined, "boom")));
    const { client } = clientFor(target, { retries: 2 });

    const error = await caught(client.listUsers());

    expect(error.status).toBe(500);
    expect(error.message).toBe("GET /Users: 500: boom (gave up after 3 attempts)");
    expect(target.requests).toHaveLength(3);
  });

  it("Given 503 every time, When retries run out, Then it throws TargetError after retries + 1 requests", async () => {
    const target = await startTarget((_req, res) => send(res, 503));
    const { client, sleeps } = clientFor(target, { retries: 2 });

    const error = await caught(client.listUsers());

    expect(error.status).toBe(503);
    expect(error.message).toBe("GET /Users: 503: Service Unavailable (gave up after 3 attempts)");
    expect(target.requests).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]);
    expect(client.requestCount()).toBe(3);
  });

  it("Given a Retry-After beyond the cap, When listing, Then it fails clearly instead of sleeping", async () => {
    const target = await startTarget((_req, res) => send(res, 429, undefined, { "retry-after": "3600" }));
    const { client, sleeps } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error.message).toBe("GET /Users: 429 and the target asked to wait 3600 s, longer than the 120 s scimsync waits");
    expect(sleeps).toEqual([]);
    expect(target.requests).toHaveLength(1);
  });

  it("Given a GET whose connection drops, When listing, Then it is retried", async () => {
    let n = 0;
    const target = await startTarget((_req, res) => {
      if (n++ === 0) res.socket?.destroy();
      else send(res, 200, okList);
    });
    const { client } = clientFor(target);

    expect(await client.listUsers()).toEqual([]);
    expect(target.requests).toHaveLength(2);
  });

  it("Given a GET that gets no answer in time, When the deadline passes, Then it is retried and reported as a timeout", async () => {
    let n = 0;
    const target = await startTarget((_req, res) => {
      if (n++ > 0) send(res, 200, okList);
    });
    const { client, events } = clientFor(target, { timeoutMs: 200 });

    expect(await client.listUsers()).toEqual([]);
    expect(target.requests).toHaveLength(2);
    expect(events[0]!.error).toBe("GET /Users: no complete answer within 0.2 s");
  });
});

describe("createUser", () => {
  const body = { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "ada@example.com", active: true };

  it("Given 201 with the resource, When creating, Then it returns the user and sent a SCIM JSON body", async () => {
    const target = await startTarget((req, res) => send(res, 201, { ...JSON.parse(req.body), id: "new-1" }));
    const { client } = clientFor(target);

    const user = await client.createUser(body);

    expect(user).toMatchObject({ id: "new-1", userName: "ada@example.com", active: true });
    expect(target.requests[0]).toMatchObject({ method: "POST", path: "/Users" });
    expect(target.requests[0]!.headers["content-type"]).toBe("application/scim+json");
    expect(JSON.parse(target.requests[0]!.body)).toEqual(body);
  });

  it("Given 409 uniqueness, When creating, Then TargetError carries status, scimType and detail", async () => {
    const target = await startTarget((_req, res) => send(res, 409, scimError(409, "uniqueness", "userName already exists")));
    const { client } = clientFor(target);

    const error = await caught(client.createUser(body));

    expect(error.message).toBe("POST /Users: 409 uniqueness: userName already exists");
    expect(error).toMatchObject({ status: 409, scimType: "uniqueness", detail: "userName already exists", ambiguous: false });
    expect(target.requests).toHaveLength(1);
  });

  it("Given a connection destroyed after the body arrived, When creating, Then it fails ambiguous and never posts twice", async () => {
    const target = await startTarget((_req, res) => res.socket?.destroy());
    const { client, sleeps } = clientFor(target);

    const error = await caught(client.createUser(body));

    expect(error.ambiguous).toBe(true);
    expect(error.status).toBeUndefined();
    expect(error.message).toBe("POST /Users: connection closed by the target before it answered; the target may have created the user");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(target.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("Given a POST that gets no answer in time, When the deadline passes, Then it fails ambiguous without a second POST", async () => {
    const target = await startTarget(() => {});
    const { client } = clientFor(target, { timeoutMs: 200 });

    const error = await caught(client.createUser(body));

    expect(error.ambiguous).toBe(true);
    expect(target.requests).toHaveLength(1);
  });

  it("Given 503 then 201, When creating, Then the POST is retried", async () => {
    let n = 0;
    const target = await startTarget((req, res) => {
      if (n++ === 0) send(res, 503);
      else send(res, 201, { ...JSON.parse(req.body), id: "new-2" });
    });
    const { client } = clientFor(target);

    expect((await client.createUser(body)).id).toBe("new-2");
    expect(target.requests).toHaveLength(2);
  });

  it.each([502, 504, 500])("Given %i, When creating, Then it fails ambiguous after one POST", async (status) => {
    const target = await startTarget((_req, res) => send(res, status));
    const { client } = clientFor(target);

    const error = await caught(client.createUser(body));

    expect(error).toMatchObject({ status, ambiguous: true });
    expect(target.requests).toHaveLength(1);
  });

  it("Given 429 every time, When retries run out, Then the error is not ambiguous (nothing was applied)", async () => {
    const target = await startTarget((_req, res) => send(res, 429));
    const { client } = clientFor(target, { retries: 1 });

    const error = await caught(client.createUser(body));

    expect(error).toMatchObject({ status: 429, ambiguous: false });
    expect(target.requests).toHaveLength(2);
  });

  it("Given a refused connection, When creating, Then the POST is retried (it never left) and the error is not ambiguous", async () => {
    const target = await startTarget(() => {});
    const url = target.baseUrl;
    await target.close();
    const { client, sleeps } = clientFor({ ...target, baseUrl: url }, { retries: 1 });

    const error = await caught(client.createUser(body));

    expect(error.ambiguous).toBe(false);
    expect(error.message).toMatch(/^POST \/Users: connection refused \(gave up after 2 attempts\)$/);
    expect(error.hint).toBe("check target.url and that the target is reachable");
    expect(sleeps).toHaveLength(1);
    expect(client.requestCount()).toBe(2);
  });

  it("Given 201 without id, When creating, Then TargetError (ambiguous: the target says it created something)", async () => {
    const target = await startTarget((req, res) => send(res, 201, JSON.parse(req.body)));
    const { client } = clientFor(target);

    const error = await caught(client.createUser(body));

    expect(error.message).toBe("POST /Users: target answered 201 but returned a User with no id");
    expect(error).toMatchObject({ status: 201, ambiguous: true });
  });
});

describe("patchUser and deleteUser", () => {
  it("Given 204, When patching, Then it returns undefined and sent a PatchOp to the encoded id", async () => {
    const target = await startTarget((_req, res) => send(res, 204));
    const { client } = clientFor(target);
    const ops = [{ op: "replace" as const, path: "active", value: false }];

    expect(await client.patchUser("a/b c", ops)).toBeUndefined();

    const req = target.requests[0]!;
    expect(req.method).toBe("PATCH");
    expect(req.url).toBe("/scim/v2/Users/a%2Fb%20c");
    expect(req.headers["content-type"]).toBe("application/scim+json");
    expect(JSON.parse(req.body)).toEqual({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: ops });
  });

  it("Given 200 with the user, When patching, Then it returns the updated user", async () => {
    const target = await startTarget((_req, res) => send(res, 200, aUser(7, { active: false })));
    const { client } = clientFor(target);

    expect(await client.patchUser("id-7", [{ op: "replace", path: "active", value: false }])).toMatchObject({ id: "id-7", active: false });
  });

  it.each([503, 500])("Given %i then 204, When patching, Then the PATCH is retried", async (status) => {
    let n = 0;
    const target = await startTarget((_req, res) => send(res, n++ === 0 ? status : 204));
    const { client } = clientFor(target);

    await client.patchUser("id-1", [{ op: "replace", path: "title", value: "x" }]);

    expect(target.requests).toHaveLength(2);
  });

  it("Given 404, When deleting, Then it counts as done", async () => {
    const target = await startTarget((_req, res) => send(res, 404, scimError(404, undefined, "not found")));
    const { client } = clientFor(target);

    await expect(client.deleteUser("gone")).resolves.toBeUndefined();
    expect(target.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["DELETE /Users/gone"]);
  });

  it("Given an HTML 404 (a wrong URL, not a missing user), When deleting, Then it fails", async () => {
    const target = await startTarget((_req, res) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>"));
    const { client } = clientFor(target);

    const error = await caught(client.deleteUser("id-1"));

    expect(error).toMatchObject({ status: 404, message: "DELETE /Users/id-1: 404: Not Found" });
  });

  it("Given 204, When deleting, Then it resolves", async () => {
    const target = await startTarget((_req, res) => send(res, 204));
    const { client } = clientFor(target);

    await client.deleteUser("id-1");

    expect(target.requests[0]!.body).toBe("");
    expect(target.requests[0]!.headers["content-type"]).toBeUndefined();
  });
});

describe("errors and response bodies", () => {
  it("Given 401, When listing, Then TargetAuthError with the hint, and the token appears nowhere", async () => {
    // The detail echoes the token, as a careless server might.
    const target = await startTarget((_req, res) => send(res, 401, scimError(401, undefined, `invalid token Bearer ${TOKEN}`)));
    const { client, events } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error).toBeInstanceOf(TargetAuthError);
    expect(error.status).toBe(401);
    expect(error.hint).toBe("the target rejected the token; run `scimsync reauthorize --config <file>` to test and store a new one");
    expect(target.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    for (const text of [error.message, String(error), error.stack ?? "", error.detail ?? "", JSON.stringify(events)]) {
      expect(text).not.toContain(TOKEN);
    }
    expect(target.requests).toHaveLength(1);
  });

  it("Given 403, When deleting, Then TargetAuthError", async () => {
    const target = await startTarget((_req, res) => send(res, 403));
    const { client } = clientFor(target);

    const error = await caught(client.deleteUser("id-1"));

    expect(error).toBeInstanceOf(TargetAuthError);
    expect(error.message).toBe("DELETE /Users/id-1: 403: Forbidden");
  });

  it("Given a 200 with an HTML body, When listing, Then TargetError without retrying", async () => {
    const target = await startTarget((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>login</html>"));
    const { client } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error.message).toBe("GET /Users: target answered 200 with a non-JSON (text/html) body");
    expect(target.requests).toHaveLength(1);
  });

  it("Given a 200 with broken JSON, When listing, Then TargetError", async () => {
    const target = await startTarget((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"totalResults": 3, "Reso'));
    const { client } = clientFor(target);

    expect((await caught(client.listUsers())).message).toBe("GET /Users: target answered 200 with a non-JSON body");
  });

  it("Given a body cut short of its Content-Length, When listing, Then TargetError after retries", async () => {
    const target = await startTarget((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"totalResults": 0,');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { client } = clientFor(target, { retries: 1 });

    const error = await caught(client.listUsers());

    expect(error.message).toBe(
      "GET /Users: target answered 200 but its body was cut short (connection closed by the target) (gave up after 2 attempts)",
    );
    expect(target.requests).toHaveLength(2);
  });

  it("Given a 200 whose body is a SCIM Error, When listing, Then TargetError", async () => {
    const target = await startTarget((_req, res) => send(res, 200, scimError(400, "tooMany", "narrow the filter")));
    const { client } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error.message).toBe("GET /Users: 400 tooMany: narrow the filter (sent with HTTP 200)");
    expect(error.scimType).toBe("tooMany");
  });

  it("Given a body over 20 MB, When listing, Then it stops reading and fails clearly", async () => {
    const target = await startTarget((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 25) {
          sent++;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      res.on("error", () => {});
      pump();
    });
    const { client } = clientFor(target);

    const error = await caught(client.listUsers());

    expect(error.message).toBe("GET /Users: response body exceeds 20 MB");
    expect(error.hint).toBe("lower target.pageSize");
    expect(target.requests).toHaveLength(1);
  });
});

describe("requests on the wire", () => {
  it("Given any request, Then it carries User-Agent, Accept and the bearer token", async () => {
    const target = await startTarget((req, res) => {
      if (req.method === "GET" && req.path !== "/Users") send(res, 200, aUser(1));
      else if (req.method === "GET") send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 1, Resources: [aUser(1)] });
      else if (req.method === "POST") send(res, 201, aUser(2));
      else send(res, 204);
    });
    const { client } = clientFor(target);

    await client.listUsers();
    await client.findUsers("userName", "x");
    await client.getUser("id-1");
    await client.createUser({ userName: "x" });
    await client.patchUser("id-1", []);
    await client.deleteUser("id-1");

    expect(target.requests).toHaveLength(6);
    for (const req of target.requests) {
      expect(req.headers["user-agent"]).toBe("scimsync/0.1.0");
      expect(req.headers.accept).toBe("application/scim+json, application/json");
      expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
  });

  it("Given no custom User-Agent, Then the default names the version in package.json", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(defaultUserAgent()).toBe(`scimsync/${VERSION}`);
  });

  it("Given a custom User-Agent and a base URL with a trailing slash, Then both are honoured", async () => {
    const target = await startTarget((_req, res) => send(res, 204));
    const { client } = clientFor({ ...target, baseUrl: `${target.baseUrl}/` }, { userAgent: "acme-sync/2" });

    await client.deleteUser("id-1");

    expect(target.requests[0]!.url).toBe("/scim/v2/Users/id-1");
    expect(target.requests[0]!.headers["user-agent"]).toBe("acme-sync/2");
  });

  it("Given onRequest, Then each attempt is reported without query or token", async () => {
    let n = 0;
    const target = await startTarget((_req, res) =>
      n++ === 0 ? send(res, 503) : send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 0, Resources: [] }),
    );
    const { client, events } = clientFor(target);

    await client.findUsers("userName", "someone@example.com");

    expect(events.map(({ ms: _ms, ...e }) => e)).toEqual([
      { method: "GET", path: "/Users", status: 503, attempt: 1, error: "GET /Users: 503: Service Unavailable" },
      { method: "GET", path: "/Users", status: 200, attempt: 2, error: undefined },
    ]);
  });

  it("Given concurrency 2, When many requests are started at once, Then at most 2 are in flight", async () => {
    let inFlight = 0;
    let peak = 0;
    const target = await startTarget((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        send(res, 204);
      }, 20);
    });
    const { client } = clientFor(target, { concurrency: 2 });

    await Promise.all(Array.from({ length: 8 }, (_, i) => client.deleteUser(`id-${i}`)));

    expect(peak).toBe(2);
    expect(target.requests).toHaveLength(8);
  });

  it("Given rateLimit 10, When 30 requests are made, Then the server sees them spread over at least ~2.5 s", async () => {
    const target = await startTarget((_req, res) => send(res, 204));
    const { client } = clientFor(target, { rateLimit: 10, concurrency: 4 });

    await Promise.all(Array.from({ length: 30 }, (_, i) => client.deleteUser(`id-${i}`)));

    const times = target.requests.map((r) => r.at).sort((a, b) => a - b);
    expect(times).toHaveLength(30);
    // The bucket starts with a burst of 4 (= concurrency); the other 26 come 100 ms apart.
    expect(times[29]! - times[0]!).toBeGreaterThanOrEqual(2500);
    // No one-second window holds more than the burst plus one second's worth.
    for (let i = 14; i < times.length; i++) expect(times[i]! - times[i - 14]!).toBeGreaterThanOrEqual(950);
    // After the burst, consecutive requests are spaced by about 1 / rate.
    const gaps = times.slice(5).map((t, i) => t - times[i + 4]!);
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeGreaterThanOrEqual(90);
  });
});

describe("escapeFilterValue", () => {
  it.each([
    ["plain", "plain"],
    ['a"b', 'a\\"b'],
    ["a\\b", "a\\\\b"],
    ['a"b\\c', 'a\\"b\\\\c'],
    ['\\"', '\\\\\\"'],
  ])("escapes %s", (input, expected) => {
    expect(escapeFilterValue(input)).toBe(expected);
  });
});

describe("toTargetUser", () => {
  it("defaults active to true and keeps unknown attributes", () => {
    const user = toTargetUser({ id: "1", userName: "u", "urn:x:ext": { a: 1 } });

    expect(user).toEqual({ id: "1", userName: "u", active: true, resource: { id: "1", userName: "u", active: true, "urn:x:ext": { a: 1 } } });
  });

  it("reads externalId and a string active flag", () => {
    expect(toTargetUser({ id: "1", userName: "u", externalId: "e", active: "False" })).toMatchObject({ externalId: "e", active: false });
  });

  it.each([
    [{ userName: "u" }, "target returned a User with no id"],
    [{ id: "1" }, "target returned a User (id 1) with no userName"],
    [{ id: 5, userName: "u" }, "target returned a User with an invalid id"],
    [{}, "target returned a User with no id, no userName"],
    ["nope", "target returned a User that is not a JSON object"],
  ])("rejects %j", (resource, message) => {
    expect(() => toTargetUser(resource)).toThrow(new TargetError(message, {}));
  });
});

describe("a 429 slows the whole client down", () => {
  it("Given one request got 429 with Retry-After, When others start meanwhile, Then they wait for the same pause instead of drawing 429s too", async () => {
    let refused = false;
    const target = await startTarget((req, res) => {
      if (!refused) {
        refused = true;
        send(res, 429, scimError(429, undefined, "slow down"), { "retry-after": "1" });
        return;
      }
      send(res, 200, { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id: req.path.split("/").pop(), userName: "u@example.com", active: true });
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const sleeps: number[] = [];
    const { client } = clientFor(target, {
      concurrency: 4,
      sleep: (ms) => {
        sleeps.push(ms);
        return released;
      },
    });

    const first = client.getUser("a");
    while (sleeps.length === 0) await new Promise((r) => setTimeout(r, 5));
    const others = Promise.all(["b", "c", "d"].map((id) => client.getUser(id)));
    await new Promise((r) => setTimeout(r, 100));
    // Only the refused request reached the target while the pause runs.
    expect(target.requests).toHaveLength(1);

    release();
    await Promise.all([first, others]);
    expect(target.requests).toHaveLength(5);
    expect(sleeps).toEqual([1000]);
  });
});
