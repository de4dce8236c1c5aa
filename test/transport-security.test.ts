/**
 * Where the token may go and what scimsync accepts back: TLS verification, plain http only to
 * this machine, no redirects followed (to another origin or the same one), bounded response
 * headers, and a sandbox that wants its token and listens on loopback only. Every server here
 * listens on 127.0.0.1 or [::1]; 127.0.0.2 (also loopback) only probes what a server is bound to.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { postWebhook } from "../src/notify/webhook.js";
import { startSandbox } from "../src/sandbox/server.js";
import { ScimClient } from "../src/scim/client.js";
import { MAX_RESPONSE_HEADER_BYTES } from "../src/scim/response-body.js";
import { CLI, configYaml, people, runCli, useSandboxAndWorkspace } from "./e2e/harness.js";
import { caught, clientFor, send, startTarget, TOKEN, type FakeTarget } from "./support/fake-scim-target.js";
import { makeTestCertificates } from "./support/test-ca.js";

const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const EMPTY_LIST = { schemas: [LIST_SCHEMA], totalResults: 0, Resources: [] };
const NEW_USER = { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "ada@example.com", active: true };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function listen(server: Server, host = "127.0.0.1"): Promise<number> {
  server.listen(0, host);
  await once(server, "listening");
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

/** Resolves with "connected" or the error code of connecting to host:port. */
function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

/** A SCIM target over HTTPS with the throwaway CA's certificate for 127.0.0.1 and localhost. */
async function startHttpsTarget(host = "127.0.0.1"): Promise<{ baseUrl: string; requests: IncomingMessage[] }> {
  const { certPem, keyPem } = await makeTestCertificates();
  const requests: IncomingMessage[] = [];
  const server = createHttpsServer({ cert: certPem, key: keyPem }, (req, res) => {
    requests.push(req);
    send(res, 200, EMPTY_LIST);
  });
  const port = await listen(server, host);
  return { baseUrl: `https://${host.includes(":") ? `[${host}]` : host}:${port}/scim/v2`, requests };
}

function client(baseUrl: string, options: Partial<ConstructorParameters<typeof ScimClient>[0]> = {}): ScimClient {
  const c = new ScimClient({ baseUrl, token: TOKEN, rateLimit: 0, retries: 2, sleep: async () => {}, ...options });
  cleanups.push(() => c.close());
  return c;
}

describe("TLS verification", () => {
  it("Given a certificate from a CA nobody trusts, When listing, Then it fails naming TLS, tries once, and no request (no token) arrives", async () => {
    const target = await startHttpsTarget();
    const untrusting = client(target.baseUrl);

    const error = await caught(untrusting.listUsers());

    expect(untrusting.requestCount()).toBe(1);
    expect(error.message).toMatch(/^GET \/Users: TLS verification failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/);
    expect(error.hint).toBe(
      "trust the target's certificate authority with target.tls.caFile (or, for a test target only, set target.tls.rejectUnauthorized: false)",
    );
    expect(target.requests).toEqual([]);
  });

  it("Given a POST to an untrusted certificate, Then it is tried once and not ambiguous: nothing was sent", async () => {
    const target = await startHttpsTarget();
    const untrusting = client(target.baseUrl);

    const error = await caught(untrusting.createUser(NEW_USER));

    expect(untrusting.requestCount()).toBe(1);
    expect(error.message).toMatch(/^POST \/Users: TLS verification failed \(\w+\)$/);
    expect(error.ambiguous).toBe(false);
    expect(target.requests).toEqual([]);
  });

  it("Given the target's CA as an extra CA, When listing, Then it works and carries the token", async () => {
    const target = await startHttpsTarget();
    const { caPem } = await makeTestCertificates();

    expect(await client(target.baseUrl, { ca: caPem }).listUsers()).toEqual([]);
    expect(target.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  it("Given the trusted CA but an address the certificate does not name ([::1]), Then it is refused all the same", async () => {
    const target = await startHttpsTarget("::1");
    const { caPem } = await makeTestCertificates();

    const error = await caught(client(target.baseUrl, { ca: caPem }).listUsers());

    expect(error.message).toMatch(/^GET \/Users: TLS verification failed \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
    expect(target.requests).toEqual([]);
  });

  it("Given rejectUnauthorized false, When listing an untrusted certificate, Then it works", async () => {
    const target = await startHttpsTarget();

    expect(await client(target.baseUrl, { rejectUnauthorized: false }).listUsers()).toEqual([]);
    expect(target.requests).toHaveLength(1);
  });
});

describe("TLS through the CLI (target.tls)", () => {
  const ctx = useSandboxAndWorkspace();

  /** HTTPS in front of the sandbox, like a TLS-terminating load balancer; counts what reaches it. */
  async function tlsFront(): Promise<{ baseUrl: string; requests: number }> {
    const { certPem, keyPem } = await makeTestCertificates();
    const upstream = new URL(ctx.sandbox.baseUrl);
    const front = { baseUrl: "", requests: 0 };
    const server = createHttpsServer({ cert: certPem, key: keyPem }, (req, res) => {
      front.requests++;
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on("error", () => res.destroy());
      req.pipe(out);
    });
    front.baseUrl = `https://127.0.0.1:${await listen(server)}${upstream.pathname}`;
    return front;
  }

  it("Given no target.tls, Then sync fails with the certificate error and its fix, sending nothing", async () => {
    const front = await tlsFront();
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(front.baseUrl).replace("  rateLimit: 0", "  rateLimit: 0\n  retries: 0"));

    const r = await runCli(["sync", "--config", ctx.ws.config], ctx.env);

    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: GET \/Users: TLS verification failed \(\w+\)/);
    expect(r.stderr).toContain("hint: trust the target's certificate authority with target.tls.caFile");
    expect(front.requests).toBe(0);
    expect(ctx.sandbox.requests).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(ctx.sandbox.token);
  });

  it("Given target.tls.caFile, Then sync works; given rejectUnauthorized false instead, it works and warns", async () => {
    const front = await tlsFront();
    await writeFile(join(ctx.ws.dir, "ca.pem"), (await makeTestCertificates()).caPem);
    await ctx.ws.writeDirectory(people(2));
    const yaml = (tls: string) => configYaml(front.baseUrl).replace("  rateLimit: 0", `  rateLimit: 0\n  tls: ${tls}`);

    await ctx.ws.writeConfig(yaml("{ caFile: ./ca.pem }"));
    const trusted = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(trusted.stderr).not.toContain("rejectUnauthorized");
    expect(ctx.sandbox.users()).toHaveLength(2);

    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(yaml("{ rejectUnauthorized: false }"));
    const unchecked = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
    expect(unchecked.code, unchecked.stderr).toBe(0);
    expect(unchecked.stderr).toContain("target.tls.rejectUnauthorized is false: the target's certificate is not checked");
    expect(ctx.sandbox.users()).toHaveLength(3);
  });
});

describe("http:// only to this machine unless target.allowInsecureHttp", () => {
  const ctx = useSandboxAndWorkspace();

  // validate is offline: whatever it decides, nothing connects to the remote host.
  it("Given http:// to a remote host, Then the config is refused naming target.url and the key that allows it", async () => {
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml("http://scim.example.com/scim/v2"));

    const r = await runCli(["validate", "--config", ctx.ws.config], ctx.env);

    expect(r.code).toBe(1);
    expect(r.stderr).toContain("target.url");
    expect(r.stderr).toContain("set target.allowInsecureHttp: true");
  });

  it("Given http:// to a remote host and allowInsecureHttp: true, Then it is accepted with a warning that the token travels unencrypted", async () => {
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml("http://scim.example.com/scim/v2", "").replace("  rateLimit: 0", "  rateLimit: 0\n  allowInsecureHttp: true"));

    const r = await runCli(["validate", "--config", ctx.ws.config], ctx.env);

    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("target.url uses http:// to scim.example.com (target.allowInsecureHttp: true): the token travels unencrypted");
  });

  it.each(["127.0.0.1", "localhost", "[::1]"])("Given http:// to %s, Then it is accepted without a warning", async (host) => {
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml(`http://${host}:8999/scim/v2`));

    const r = await runCli(["validate", "--config", ctx.ws.config], ctx.env);

    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("unencrypted");
  });
});

describe("redirects are never followed", () => {
  /** A second origin that must never see the token; it would answer like a real target. */
  async function elsewhere(): Promise<FakeTarget> {
    return startTarget((req, res) => (req.method === "POST" ? send(res, 201, { ...NEW_USER, id: "x" }) : send(res, 200, EMPTY_LIST)));
  }

  it.each([301, 302, 307, 308])("Given a %i to another origin, When listing, Then it fails saying where, and the other origin sees nothing", async (status) => {
    const other = await elsewhere();
    const target = await startTarget((_req, res) => send(res, status, undefined, { location: `${other.baseUrl}/Users?startIndex=1&count=100` }));
    const { client: c } = clientFor(target, { retries: 2 });

    const error = await caught(c.listUsers());

    expect(error.message).toBe(`GET /Users: the target redirected (${status}) to ${other.baseUrl}/Users; scimsync does not follow redirects`);
    expect(error.hint).toBe(`if ${other.baseUrl} is the app's SCIM base URL, set target.url to it`);
    expect(error.status).toBe(status);
    expect(target.requests).toHaveLength(1);
    expect(other.requests).toEqual([]);
  });

  it.each([
    [301, true],
    [302, true],
    [303, true],
    [307, false],
    [308, false],
  ])("Given a %i to a POST, Then it is posted once, ambiguous: %s (only 307 and 308 say it was not processed)", async (status, ambiguous) => {
    const other = await elsewhere();
    const target = await startTarget((_req, res) => send(res, status, undefined, { location: `${other.baseUrl}/Users` }));
    const { client: c } = clientFor(target);

    const error = await caught(c.createUser(NEW_USER));

    expect(error.message).toBe(`POST /Users: the target redirected (${status}) to ${other.baseUrl}/Users; scimsync does not follow redirects`);
    expect(error.ambiguous).toBe(ambiguous);
    expect(target.requests).toHaveLength(1);
    expect(other.requests).toEqual([]);
  });

  it("Given a redirect within the same origin to another base path, Then it is not followed either, and the hint names the new base URL", async () => {
    const target = await startTarget((req, res) =>
      req.url.startsWith("/scim/v2/") ? send(res, 308, undefined, { location: "/api/scim/v2/Users/id-1" }) : send(res, 204),
    );
    const { client: c } = clientFor(target);
    const origin = new URL(target.baseUrl).origin;

    const error = await caught(c.patchUser("id-1", [{ op: "replace", path: "title", value: "x" }]));

    expect(error.message).toBe(`PATCH /Users/id-1: the target redirected (308) to ${origin}/api/scim/v2/Users/id-1; scimsync does not follow redirects`);
    expect(error.hint).toBe(`if ${origin}/api/scim/v2 is the app's SCIM base URL, set target.url to it`);
    expect(target.requests.map((r) => r.url)).toEqual(["/scim/v2/Users/id-1"]);
  });

  it("Given a redirect that only adds a slash, Then the hint does not offer the same target.url back", async () => {
    const target = await startTarget((_req, res) => send(res, 301, undefined, { location: "/scim/v2/Users/" }));
    const { client: c } = clientFor(target);

    const error = await caught(c.listUsers());

    expect(error.message).toMatch(/redirected \(301\) to http:\/\/127\.0\.0\.1:\d+\/scim\/v2\/Users\/; scimsync does not follow redirects$/);
    expect(error.hint).toBe("check target.url: it must be the app's SCIM base URL itself, not an address that redirects");
  });

  it("Given a Location with a user name, password, query and the token in it, Then the message shows origin and path only", async () => {
    const target = await startTarget((_req, res) =>
      send(res, 302, undefined, { location: `http://admin:hunter2@127.0.0.1:1/sso/${TOKEN}/login?user=ada%40example.com&t=${TOKEN}` }),
    );
    const { client: c } = clientFor(target);

    const error = await caught(c.listUsers());

    expect(error.message).toBe("GET /Users: the target redirected (302) to http://127.0.0.1:1/sso/[redacted]/login; scimsync does not follow redirects");
    for (const text of [error.message, error.hint ?? ""]) {
      expect(text).not.toMatch(/hunter2|admin|ada|example\.com/);
      expect(text).not.toContain(TOKEN);
    }
  });

  it("Given a 304 or a 3xx without Location, Then it fails as an HTTP status, not as a redirect", async () => {
    const target = await startTarget((_req, res) => send(res, 300));
    const { client: c } = clientFor(target);

    expect((await caught(c.listUsers())).message).toBe("GET /Users: 300: Multiple Choices");
  });

  describe("through the CLI", () => {
    const ctx = useSandboxAndWorkspace();

    it("Given a target.url that redirects to the real target, Then sync exits 1 naming where, and the token never reaches it", async () => {
      const target = await startTarget((req, res) => send(res, 308, undefined, { location: `${ctx.sandbox.baseUrl}${req.path}` }));
      await ctx.ws.writeDirectory(people(2));
      await ctx.ws.writeConfig(configYaml(target.baseUrl));

      const r = await runCli(["sync", "--config", ctx.ws.config], ctx.env);

      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: GET /Users: the target redirected (308) to ${ctx.sandbox.baseUrl}/Users; scimsync does not follow redirects`);
      expect(r.stderr).toContain(`hint: if ${ctx.sandbox.baseUrl} is the app's SCIM base URL, set target.url to it`);
      expect(ctx.sandbox.requests).toEqual([]);
      expect(target.requests).toHaveLength(1);
    });
  });
});

describe("response header limits", () => {
  /** Answers 200 with an empty list after `headers` extra header lines, written raw. */
  function withHeaders(headers: string[]): (req: unknown, res: ServerResponse) => void {
    return (_req, res) => {
      const body = JSON.stringify(EMPTY_LIST);
      res.socket!.end(
        `HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ncontent-length: ${body.length}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n${body}`,
      );
    };
  }
  const many = (count: number, size: number) => Array.from({ length: count }, (_, i) => `x-filler-${i}: ${"a".repeat(size)}`);

  it.each([
    ["many headers over 64 KB in all", many(100, 1000)],
    ["one header of 100 KB", [`set-cookie: session=${"b".repeat(100 * 1024)}`]],
  ])("Given %s, When listing, Then it fails at once with a clear error, without a retry", async (_what, headers) => {
    const target = await startTarget(withHeaders(headers));
    const { client: c } = clientFor(target, { retries: 2, timeoutMs: 5000 });
    const started = performance.now();

    const error = await caught(c.listUsers());

    expect(error.message).toBe("GET /Users: the response headers are larger than scimsync accepts");
    expect(target.requests).toHaveLength(1);
    // The 5 s deadline was not what ended it: the headers were refused as they came.
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it("Given huge headers on a POST, Then it fails ambiguous (the target got it) after one POST", async () => {
    const target = await startTarget(withHeaders(many(100, 1000)));
    const { client: c } = clientFor(target, { retries: 2 });

    const error = await caught(c.createUser(NEW_USER));

    expect(error.message).toBe("POST /Users: the response headers are larger than scimsync accepts; the target may have created the user");
    expect(error.ambiguous).toBe(true);
    expect(target.requests).toHaveLength(1);
  });

  it("Given 40 KB of headers (over Node's 16 KB default, under scimsync's limit), Then the answer is read", async () => {
    expect(MAX_RESPONSE_HEADER_BYTES).toBe(64 * 1024);
    const target = await startTarget(withHeaders(many(40, 1000)));
    const { client: c } = clientFor(target);

    expect(await c.listUsers()).toEqual([]);
  });
});

describe("the webhook notifier", () => {
  it.each([301, 302, 307, 308])("Given a %i to another server, Then it is not followed: the other server gets nothing", async (status) => {
    const seen: string[] = [];
    const otherPort = await listen(
      createHttpServer((req, res) => {
        seen.push(`${req.method} ${req.url}`);
        res.end("ok");
      }),
    );
    const hookPort = await listen(
      createHttpServer((req, res) => {
        req.resume();
        res.writeHead(status, { location: `http://127.0.0.1:${otherPort}/services/other-secret` }).end();
      }),
    );

    const result = await postWebhook(`http://127.0.0.1:${hookPort}/services/T0/B0/secret`, { text: "x" }, { retryDelayMs: 1 });

    expect(result).toEqual({
      ok: false,
      attempts: 1,
      problem: `the webhook at 127.0.0.1:${hookPort} redirected (${status}) to 127.0.0.1:${otherPort}; redirects are not followed`,
    });
    expect(seen).toEqual([]);
  });

  it("Given huge response headers, Then it fails without hanging", async () => {
    const port = await listen(
      createHttpServer((req, res) => {
        req.resume();
        res.socket!.end(`HTTP/1.1 200 OK\r\nx-big: ${"c".repeat(100 * 1024)}\r\ncontent-length: 2\r\n\r\nok`);
      }),
    );

    const result = await postWebhook(`http://127.0.0.1:${port}/hook`, { text: "x" }, { retryDelayMs: 1, timeoutMs: 5000 });

    expect(result).toMatchObject({ ok: false, problem: expect.stringContaining("the response headers are larger than scimsync accepts") });
  });
});

describe("the sandbox", () => {
  async function scim(baseUrl: string, method: string, path: string, authorization: string | undefined, body?: unknown) {
    const headers: Record<string, string> = { "content-type": "application/scim+json" };
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    await res.arrayBuffer();
    return res.status;
  }

  it("Given no token, a wrong one, another scheme or the token in the query, Then every write answers 401 and changes nothing", async () => {
    const sb = await startSandbox();
    cleanups.push(() => sb.close());
    const created = await fetch(`${sb.baseUrl}/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${sb.token}`, "content-type": "application/scim+json" },
      body: JSON.stringify(NEW_USER),
    });
    const id = ((await created.json()) as { id: string }).id;
    const before = JSON.stringify(sb.users());
    const wrong = [undefined, "Bearer not-the-token", `Bearer ${sb.token}x`, `Basic ${Buffer.from(`user:${sb.token}`).toString("base64")}`, sb.token];
    const patch = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] };

    for (const authorization of wrong) {
      expect(await scim(sb.baseUrl, "PATCH", `/Users/${id}`, authorization, patch)).toBe(401);
      expect(await scim(sb.baseUrl, "PUT", `/Users/${id}`, authorization, { ...NEW_USER, userName: "eve@example.com" })).toBe(401);
      expect(await scim(sb.baseUrl, "DELETE", `/Users/${id}`, authorization)).toBe(401);
      expect(await scim(sb.baseUrl, "POST", "/Users", authorization, { ...NEW_USER, userName: "mallory@example.com" })).toBe(401);
    }
    expect(await scim(sb.baseUrl, "DELETE", `/Users/${id}?access_token=${sb.token}`, undefined)).toBe(401);

    expect(JSON.stringify(sb.users())).toBe(before);
    expect(sb.requests.filter((r) => r.status === 401).every((r) => r.body === undefined)).toBe(true);
  });

  it("Given startSandbox, Then it is bound to 127.0.0.1 only: other loopback addresses are refused", async () => {
    const sb = await startSandbox();
    cleanups.push(() => sb.close());
    const port = Number(new URL(sb.baseUrl).port);

    expect(await probe("127.0.0.1", port)).toBe("connected");
    // Bound to 0.0.0.0 or :: these would connect; 127.0.0.2 and [::1] never leave this machine.
    expect(await probe("127.0.0.2", port)).toBe("ECONNREFUSED");
    expect(await probe("::1", port)).toBe("ECONNREFUSED");
  });

  it("Given `scimsync sandbox --port 0`, Then it prints a 127.0.0.1 URL, listens there only, wants its token, and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [CLI, "sandbox", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    const exited = once(child, "exit");
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    });
    const lines = createInterface({ input: child.stdout! });
    const [first] = (await once(lines, "line")) as [string];
    const { url, token } = JSON.parse(first) as { url: string; token: string };
    const port = Number(new URL(url).port);

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    expect(await probe("127.0.0.2", port)).toBe("ECONNREFUSED");
    expect(await probe("::1", port)).toBe("ECONNREFUSED");
    expect((await fetch(`${url}/Users`)).status).toBe(401);
    expect((await fetch(`${url}/Users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });
});
