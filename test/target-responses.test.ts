/**
 * Hostile answers from a SCIM target, on the wire: each is tried against a GET of the listing,
 * a POST create and a PATCH, on raw node:http servers on 127.0.0.1 that misbehave byte by
 * byte. For each: the error names the request and never the token, only what may be repeated is
 * repeated (counted on the server), and a POST that may have been applied is marked ambiguous.
 * At the end, the CLI against the sandbox behind a fault proxy: a listing that fails stops the
 * run before anything is written, and a create whose answer is unusable is not duplicated.
 */
import type { ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import type { ScimClient } from "../src/scim/client.js";
import { MAX_RESPONSE_BYTES } from "../src/scim/response-body.js";
import { configYaml, people, runCli, useFaultProxy, useSandboxAndWorkspace } from "./e2e/harness.js";
import { caught, clientFor, send, startIndexes, startTarget, TOKEN, type Handler } from "./support/fake-scim-target.js";
import type { FaultDecision, UpstreamAnswer } from "./support/fault-proxy.js";

const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
/** Well past a 0.3 s deadline and its one retry on a busy machine, and far short of what these servers would take: forever. */
const HANG_MS = 5000;

function aUser(n: number): Record<string, unknown> {
  return { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id: `id-${n}`, userName: `user${n}@example.com`, active: true };
}

interface Operation {
  /** What every message must start with. */
  label: string;
  run: (client: ScimClient) => Promise<unknown>;
  /** Whether the transport may repeat it after a failure that may have reached the target. */
  repeatable: boolean;
}

const OPERATIONS: Record<"list" | "create" | "patch", Operation> = {
  list: { label: "GET /Users", run: (c) => c.listUsers(), repeatable: true },
  create: {
    label: "POST /Users",
    run: (c) => c.createUser({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "ada@example.com", active: true }),
    repeatable: false,
  },
  patch: { label: "PATCH /Users/id-1", run: (c) => c.patchUser("id-1", [{ op: "replace", path: "title", value: "x" }]), repeatable: true },
};
const ALL = Object.keys(OPERATIONS) as (keyof typeof OPERATIONS)[];

/** Writes `text` `bytes` at a time every `everyMs` until it is written or the socket closes; never ends the socket. */
function trickle(socket: Socket, text: string, everyMs: number, bytes = 1): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text.slice(at, at + bytes));
    at += bytes;
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

/** A body that never ends: a space every `everyMs`, each one resetting any idle timer. */
function endlessBody(res: ServerResponse, everyMs: number): void {
  res.writeHead(200, { "content-type": "application/scim+json" });
  res.write("{");
  const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(" ")), everyMs);
  res.once("close", () => clearInterval(timer));
}

/** Streams `bytes` of spaces in 1 MB chunks, chunked, with no Content-Length, respecting backpressure. */
function streamSpaces(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { "content-type": "application/scim+json" });
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  let left = bytes;
  res.on("error", () => {});
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/**
 * Runs `operation` against a target answering every request with `answer`, with one retry
 * allowed, and checks what every hostile answer must share: a TargetError whose message starts
 * with the request and carries no token anywhere, and a POST that is never sent twice.
 */
async function tryAgainst(operation: Operation, answer: Handler, options: { timeoutMs?: number } = {}) {
  const target = await startTarget(answer);
  const harness = clientFor(target, { retries: 1, ...options });
  const started = performance.now();
  const error = await caught(operation.run(harness.client));
  const ms = performance.now() - started;
  expect(error.message.startsWith(`${operation.label}: `), error.message).toBe(true);
  for (const text of [error.message, error.hint ?? "", error.detail ?? "", String(error), JSON.stringify(harness.events)]) {
    expect(text).not.toContain(TOKEN);
  }
  // Every attempt carried the token: it went to the target it was meant for, and only there.
  expect(target.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  if (!operation.repeatable) expect(target.requests).toHaveLength(1);
  return { error, requests: target.requests, ms };
}

describe("a 200 with an HTML page (a proxy's or a sign-in page)", () => {
  const html: Handler = (_req, res) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<html><body>Sign in</body></html>");

  it.each(ALL)("Given %s, Then it fails at once, naming the content type, without a retry", async (name) => {
    const op = OPERATIONS[name];
    const { error, requests } = await tryAgainst(op, html);

    expect(error.message).toBe(`${op.label}: target answered 200 with a non-JSON (text/html) body`);
    expect(requests).toHaveLength(1);
    // The target answered 2xx to a POST: it may have created the user, so the engine must look before posting again.
    expect(error.ambiguous).toBe(name === "create");
  });
});

describe("a 200 whose JSON comes as text/plain", () => {
  // SCIM answers are application/scim+json (RFC 7644 §8.1); the content type is what tells a SCIM
  // answer from a gateway's, so JSON under another type is refused, saying which type came.
  const plain: Handler = (req, res) => {
    const body = req.method === "GET" ? { schemas: [LIST_SCHEMA], totalResults: 1, Resources: [aUser(1)] } : aUser(1);
    res.writeHead(200, { "content-type": "text/plain" }).end(JSON.stringify(body));
  };

  it.each(ALL)("Given %s, Then it fails naming text/plain, without a retry", async (name) => {
    const op = OPERATIONS[name];
    const { error, requests } = await tryAgainst(op, plain);

    expect(error.message).toBe(`${op.label}: target answered 200 with content type text/plain instead of JSON`);
    expect(requests).toHaveLength(1);
    expect(error.ambiguous).toBe(name === "create");
  });
});

describe("a body cut short of its Content-Length, then the connection ends", () => {
  const truncated: Handler = (_req, res) => {
    const socket = res.socket!;
    // Raw bytes: ServerResponse would refuse to end a body shorter than its declared length.
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: 500\r\n\r\n{"totalResults": 1, "Resou');
    setTimeout(() => socket.end(), 20);
  };

  it.each(ALL)("Given %s, Then it fails as truncated; only GET and PATCH are repeated", async (name) => {
    const op = OPERATIONS[name];
    const { error, requests } = await tryAgainst(op, truncated);

    expect(error.message).toMatch(new RegExp(`^${op.label}: target answered 200 but its body was cut short \\(`));
    if (op.repeatable) {
      expect(requests).toHaveLength(2);
      expect(error.message).toMatch(/\(gave up after 2 attempts\)$/);
    } else {
      expect(requests).toHaveLength(1);
      expect(error.ambiguous).toBe(true);
      expect(error.message).toContain("the target may have created the user");
    }
  });
});

describe("a body over the size limit", () => {
  const declared: Handler = (_req, res) => {
    // Declares more than the limit, then sends only a little: the client must not wait for the rest.
    res.socket!.write(`HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: ${MAX_RESPONSE_BYTES + 1}\r\n\r\n{"schemas":[`);
  };

  it.each(ALL)("Given %s and a declared Content-Length over the limit, Then it fails at once without reading on", async (name) => {
    const op = OPERATIONS[name];
    // A deadline longer than HANG_MS: failing within HANG_MS shows the length alone decided it.
    const { error, requests, ms } = await tryAgainst(op, declared, { timeoutMs: 2 * HANG_MS });

    expect(error.message).toBe(`${op.label}: response body exceeds 20 MB`);
    expect(error.hint).toBe("lower target.pageSize");
    expect(requests).toHaveLength(1);
    expect(error.ambiguous).toBe(name === "create");
    expect(ms).toBeLessThan(HANG_MS);
  });

  it.each(["create", "patch"] as const)(
    "Given %s and a chunked body without length that grows past the limit, Then it stops reading and fails once",
    async (name) => {
      // The listing's streamed case is proven in scim-client.test.ts.
      const op = OPERATIONS[name];
      const { error, requests } = await tryAgainst(op, (_req, res) => streamSpaces(res, MAX_RESPONSE_BYTES + 2 * 1024 * 1024), {
        timeoutMs: 10_000,
      });

      expect(error.message).toBe(`${op.label}: response body exceeds 20 MB`);
      expect(requests).toHaveLength(1);
      expect(error.ambiguous).toBe(name === "create");
    },
  );
});

describe("a 200 whose body is a SCIM Error", () => {
  const errorBody: Handler = (_req, res) =>
    send(res, 200, { schemas: [ERROR_SCHEMA], status: "500", detail: "backend unavailable" });

  it.each(ALL)("Given %s, Then the error's own status and detail are reported, without a retry", async (name) => {
    const op = OPERATIONS[name];
    const { error, requests } = await tryAgainst(op, errorBody);

    expect(error.message).toBe(`${op.label}: 500: backend unavailable (sent with HTTP 200)`);
    expect(requests).toHaveLength(1);
    expect(error.ambiguous).toBe(name === "create");
  });
});

describe("slow-loris answers end at the configured deadline", () => {
  const slowHeaders: Handler = (_req, res) =>
    trickle(res.socket!, "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\nx-padding: " + "a".repeat(10_000), 20);

  it.each(ALL)("Given %s and a status line and headers sent a byte at a time, Then it gives up at the deadline", async (name) => {
    const op = OPERATIONS[name];
    const { error, requests, ms } = await tryAgainst(op, slowHeaders, { timeoutMs: 300 });

    expect(error.message).toMatch(new RegExp(`^${op.label}: no complete answer within 0.3 s`));
    if (op.repeatable) {
      expect(requests).toHaveLength(2);
      expect(ms).toBeLessThan(HANG_MS);
    } else {
      expect(error.message).toBe(`${op.label}: no complete answer within 0.3 s; the target may have created the user`);
      expect(error.ambiguous).toBe(true);
      expect(requests).toHaveLength(1);
      expect(ms).toBeLessThan(HANG_MS);
    }
  });

  it.each(ALL)("Given %s and a body that trickles forever (never idle), Then it gives up at the deadline", async (name) => {
    const op = OPERATIONS[name];
    const { error, requests, ms } = await tryAgainst(op, (_req, res) => endlessBody(res, 20), { timeoutMs: 300 });

    expect(error.message).toMatch(new RegExp(`^${op.label}: no complete answer within 0.3 s`));
    expect(requests).toHaveLength(op.repeatable ? 2 : 1);
    expect(error.ambiguous).toBe(name === "create");
    expect(ms).toBeLessThan(HANG_MS);
  });
});

describe("a ListResponse whose totalResults is wrong", () => {
  const all = Array.from({ length: 7 }, (_, i) => aUser(i + 1));
  /** Serves `all` by startIndex and count, claiming `totalResults` on every page. */
  const claiming =
    (totalResults: (resources: unknown[]) => number): Handler =>
    (req, res) => {
      const start = Number(req.query.get("startIndex"));
      const resources = all.slice(start - 1, start - 1 + Number(req.query.get("count")));
      send(res, 200, { schemas: [LIST_SCHEMA], totalResults: totalResults(resources), startIndex: start, itemsPerPage: resources.length, Resources: resources });
    };

  it("Given totalResults too high, When the pages run out, Then the listing fails instead of coming back short", async () => {
    const target = await startTarget(claiming(() => 12));
    const { client } = clientFor(target, { pageSize: 3 });

    const error = await caught(client.listUsers());

    expect(error.message).toBe("target listing is incomplete: totalResults is 12 but the pages ended after 7 users");
    expect(startIndexes(target)).toEqual([1, 4, 7, 8]);
  });

  it("Given totalResults too low but not a page boundary, When listing, Then it reads on until the target runs out", async () => {
    const target = await startTarget(claiming(() => 5));
    const { client } = clientFor(target, { pageSize: 3 });

    expect((await client.listUsers()).map((u) => u.id)).toEqual(all.map((u) => u.id));
    expect(startIndexes(target)).toEqual([1, 4, 7, 8]);
  });

  it("Given totalResults that counts only the page in hand, When the first page is full, Then the pages after it are read all the same", async () => {
    // Seen in the field: totalResults equal to itemsPerPage, so a full first page looks like the whole list.
    const target = await startTarget(claiming((resources) => resources.length));
    const { client } = clientFor(target, { pageSize: 3 });

    expect((await client.listUsers()).map((u) => u.id)).toEqual(all.map((u) => u.id));
    // From page 2 on the walk already holds more than is claimed, so only an empty page ends it.
    expect(startIndexes(target)).toEqual([1, 4, 7, 8]);
  });

  it.each([
    ["empty", (res: ServerResponse) => send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 3, Resources: [] })],
    ["page 1 again (as SCIMMY answers)", (res: ServerResponse, three: unknown[]) => send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 3, Resources: three })],
    ["a 400 for a startIndex past the end", (res: ServerResponse) => send(res, 400, { schemas: [ERROR_SCHEMA], status: "400", scimType: "invalidValue", detail: "startIndex out of range" })],
  ] as [string, (res: ServerResponse, three: unknown[]) => void][])("Given exactly one full page of users, When the page after it is %s, Then that confirms the end", async (_what, pastTheEnd) => {
    const three = all.slice(0, 3);
    const target = await startTarget((req, res) => {
      if (req.query.get("startIndex") === "1") send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 3, Resources: three });
      else pastTheEnd(res, three);
    });
    const { client } = clientFor(target, { pageSize: 3 });

    expect((await client.listUsers()).map((u) => u.id)).toEqual(["id-1", "id-2", "id-3"]);
    expect(startIndexes(target)).toEqual([1, 4]);
  });

  it("Given a true total that is a multiple of the page size beyond one page, When listing, Then no page past the end is asked for", async () => {
    const six = all.slice(0, 6);
    const target = await startTarget((req, res) => {
      const start = Number(req.query.get("startIndex"));
      send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 6, Resources: six.slice(start - 1, start + 2) });
    });
    const { client } = clientFor(target, { pageSize: 3 });

    expect(await client.listUsers()).toHaveLength(6);
    expect(startIndexes(target)).toEqual([1, 4]);
  });

  it("Given a full first page that claims only itself, When the next page fails otherwise (500), Then the listing fails", async () => {
    const target = await startTarget((req, res) => {
      if (req.query.get("startIndex") === "1") send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 3, Resources: all.slice(0, 3) });
      else send(res, 500);
    });
    const { client } = clientFor(target, { pageSize: 3 });

    // A 500 is retried like a 503 (retry.ts), so the message ends with how often it was tried.
    expect((await caught(client.listUsers())).message).toMatch(/^GET \/Users: 500: Internal Server Error \(gave up after \d+ attempts\)$/);
  });
});

describe("a page that repeats", () => {
  it("Given page 2 repeating page 1 before totalResults, When listing, Then it fails as inconsistent after two requests, without retrying", async () => {
    const target = await startTarget((_req, res) =>
      send(res, 200, { schemas: [LIST_SCHEMA], totalResults: 5, Resources: [aUser(1), aUser(2)] }),
    );
    const { client } = clientFor(target, { pageSize: 2 });

    const error = await caught(client.listUsers());

    expect(error.message).toBe("target listing is inconsistent: the page at startIndex 3 only repeated users already listed (2 of 5 so far)");
    expect(error.hint).toMatch(/^run again/);
    expect(startIndexes(target)).toEqual([1, 3]);
  });
});

describe("a create answered without an id", () => {
  it.each([
    ["201 with the user but no id", "returned a User with no id", (req: { body: string }, res: ServerResponse) => send(res, 201, JSON.parse(req.body))],
    ["201 with an empty id", "returned a User with an invalid id", (req: { body: string }, res: ServerResponse) => send(res, 201, { ...JSON.parse(req.body), id: "" })],
    ["201 with an empty body", "returned a User that is not a JSON object", (_req: unknown, res: ServerResponse) => send(res, 201)],
  ])("Given %s, Then it fails ambiguous after one POST, so the engine looks the user up instead of posting again", async (_what, problem, answer) => {
    const { error, requests } = await tryAgainst(OPERATIONS.create, answer as Handler);

    expect(error.message).toBe(`POST /Users: target answered 201 but ${problem}`);
    expect(error).toMatchObject({ status: 201, ambiguous: true });
    expect(requests).toHaveLength(1);
  });
});

describe("the engine through the CLI: nothing is lost", () => {
  const ctx = useSandboxAndWorkspace();
  const fault = useFaultProxy(ctx);
  const policy = "deprovision:\n  deleted: { suspend: now, delete: now }\nsafety: { maxDeprovisionPercent: 100 }\n";
  /** Small pages so that a listing has a page 2 to spoil; no retries and a short deadline to stay quick. */
  const config = () =>
    configYaml(fault.proxy.baseUrl, policy).replace("  rateLimit: 0", "  rateLimit: 0\n  pageSize: 2\n  retries: 0\n  timeoutSeconds: 0.5");
  const writes = () => ctx.sandbox.requests.filter((r) => r.method !== "GET");
  const headOf = (answer: UpstreamAnswer, length: number | string) =>
    `HTTP/1.1 ${answer.status} OK\r\ncontent-type: application/scim+json\r\ncontent-length: ${length}\r\n\r\n`;

  const onPage2 =
    (decision: FaultDecision) =>
    ({ method, path, query }: { method: string; path: string; query: string }): FaultDecision =>
      method === "GET" && path.endsWith("/Users") && /(^|&)startIndex=3(&|$)/.test(query) ? decision : { kind: "pass" };
  const listingFaults: [string, (req: { method: string; path: string; query: string }) => FaultDecision, RegExp][] = [
    [
      "page 2 is an HTML page",
      onPage2({ kind: "raw", write: (socket) => socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 13\r\n\r\n<h1>Hi!</h1>\n") }),
      /error: GET \/Users: target answered 200 with a non-JSON \(text\/html\) body/,
    ],
    [
      "page 2 is cut short",
      onPage2({ kind: "raw", write: (socket, answer) => socket.end(headOf(answer, answer.body.length + 100) + answer.body.toString("utf8")) }),
      /error: GET \/Users: target answered 200 but its body was cut short/,
    ],
    [
      "page 2 trickles past the deadline",
      onPage2({ kind: "raw", write: (socket, answer) => trickle(socket, headOf(answer, answer.body.length) + answer.body.toString("utf8"), 40, 4) }),
      /error: GET \/Users: no complete answer within 0.5 s/,
    ],
    [
      "page 2 repeats page 1",
      onPage2({ kind: "pass", rewrite: () => ({ schemas: [LIST_SCHEMA], totalResults: 5, Resources: ctx.sandbox.users().slice(0, 2) }) }),
      /error: target listing is inconsistent/,
    ],
    [
      "every page claims more than there is",
      ({ method, path }) => (method === "GET" && path.endsWith("/Users") ? { kind: "pass", rewrite: (json) => ({ ...json, totalResults: 9 }) } : { kind: "pass" }),
      /error: target listing is incomplete: totalResults is 9 but the pages ended after 5 users/,
    ],
  ];

  it("Given leavers and a listing that fails in each of five ways, Then every run fails before planning: nothing written, nothing deprovisioned, state unchanged", async () => {
    await ctx.ws.writeDirectory(people(5));
    await ctx.ws.writeConfig(config());
    const first = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
    expect(first.code, first.stderr).toBe(0);
    await ctx.ws.writeDirectory(people(3));
    const state = readFileSync(ctx.ws.state, "utf8");

    for (const [what, decide, message] of listingFaults) {
      ctx.sandbox.requests.length = 0;
      fault.proxy.decide = decide;

      const r = await runCli(["sync", "--config", ctx.ws.config], ctx.env);

      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr + r.stdout).not.toContain(ctx.sandbox.token);
      expect(writes(), what).toEqual([]);
      expect(ctx.sandbox.users().filter((u) => u.active === true), what).toHaveLength(5);
      expect(readFileSync(ctx.ws.state, "utf8"), what).toBe(state);
    }
  });

  /** The answer each person's create gets, after the sandbox stored the user. */
  const createFaults: Record<string, FaultDecision> = {
    "person1@example.com": { kind: "pass", rewrite: ({ id: _id, ...rest }) => rest },
    "person2@example.com": { kind: "raw", write: (socket, answer) => socket.end(headOf(answer, 0)) },
    "person3@example.com": { kind: "raw", write: (socket, answer) => socket.end(headOf(answer, answer.body.length + 50) + answer.body.toString("utf8")) },
    "person4@example.com": { kind: "raw", write: (socket, answer) => trickle(socket, headOf(answer, answer.body.length) + answer.body.toString("utf8"), 40, 4) },
    "person5@example.com": {
      kind: "raw",
      write: (socket, answer) => {
        const body = JSON.stringify({ schemas: [ERROR_SCHEMA], status: "500", detail: "try later" });
        socket.end(headOf({ ...answer, status: 200 }, body.length) + body);
      },
    },
  };

  it("Given creates answered without id, empty, cut short, trickling past the deadline and as 200 with an error, Then each user exists once and the next run posts nothing", async () => {
    await ctx.ws.writeDirectory(people(5));
    await ctx.ws.writeConfig(config());
    fault.proxy.decide = ({ method, body }) => {
      if (method !== "POST") return { kind: "pass" };
      return createFaults[(JSON.parse(body) as { userName: string }).userName] ?? { kind: "pass" };
    };

    const first = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);

    expect(first.stderr).not.toContain(ctx.sandbox.token);
    expect(fault.proxy.seen.filter((r) => r.method === "POST")).toHaveLength(5);
    expect(ctx.sandbox.users().map((u) => u.userName).sort()).toEqual(Object.keys(createFaults));
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.actions.map((a: { status: string }) => a.status)).toEqual(["ok", "ok", "ok", "ok", "ok"]);

    fault.proxy.decide = () => ({ kind: "pass" });
    fault.proxy.seen.length = 0;
    const second = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);

    expect(second.code, second.stderr).toBe(0);
    expect(fault.proxy.seen.filter((r) => r.method !== "GET")).toEqual([]);
    expect(ctx.sandbox.users()).toHaveLength(5);
  });
});
