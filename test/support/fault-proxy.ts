/**
 * An HTTP proxy on 127.0.0.1 in front of a real SCIM server, deciding per request whether to
 * pass it through, answer in the server's place, or forward it and then drop the connection
 * without an answer (the request is applied, the client never learns it).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { ScimClient } from "../../src/scim/client.js";

export type FaultDecision =
  | { kind: "pass"; delayMs?: number; rewrite?: (json: any) => unknown }
  | { kind: "respond"; status: number; body?: unknown; headers?: Record<string, string> }
  /** Forward to the server, wait for its answer, then destroy the client's connection. */
  | { kind: "drop-after-apply" }
  /** Destroy the connection before the request reaches the server. */
  | { kind: "reset-before" };

export interface SeenRequest {
  method: string;
  path: string;
  decision: FaultDecision["kind"];
}

export interface FaultProxy {
  /** Base URL with the same path as the upstream base URL. */
  baseUrl: string;
  seen: SeenRequest[];
  decide: (req: { method: string; path: string; body: string }) => FaultDecision;
  close(): Promise<void>;
}

export async function startFaultProxy(upstreamBaseUrl: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamBaseUrl);
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    baseUrl: "",
    seen: [],
    decide: () => ({ kind: "pass" }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      out.on("error", reject);
      out.end(body);
    });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? "/").split("?")[0]!;
      const decision = proxy.decide({ method: req.method ?? "GET", path, body: body.toString("utf8") });
      proxy.seen.push({ method: req.method ?? "GET", path, decision: decision.kind });
      try {
        if (decision.kind === "reset-before") {
          req.socket.destroy();
          return;
        }
        if (decision.kind === "respond") {
          res.writeHead(decision.status, { "content-type": "application/scim+json", ...decision.headers });
          res.end(decision.body === undefined ? "" : JSON.stringify(decision.body));
          return;
        }
        if (decision.kind === "pass" && decision.delayMs) await new Promise((r) => setTimeout(r, decision.delayMs));
        const answer = await forward(req, body);
        if (decision.kind === "drop-after-apply") {
          req.socket.destroy();
          return;
        }
        const headers = { ...answer.headers };
        delete headers["transfer-encoding"];
        delete headers["content-length"];
        let out = answer.body;
        if (decision.kind === "pass" && decision.rewrite && answer.body.length > 0) {
          out = Buffer.from(JSON.stringify(decision.rewrite(JSON.parse(answer.body.toString("utf8")))));
        }
        res.writeHead(answer.status, headers as Record<string, string>);
        res.end(out);
      } catch {
        req.socket.destroy();
      }
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  proxy.baseUrl = `http://127.0.0.1:${port}${upstream.pathname}`;
  return proxy;
}

/** The sandbox behind a fault proxy for a whole test file, reset before each test. */
export interface ProxiedSandbox {
  readonly sandbox: Sandbox;
  readonly proxy: FaultProxy;
  /** A SCIM client that talks to the sandbox through the proxy, retrying without waiting; closed after the test. */
  client(): ScimClient;
}

export function useSandboxBehindProxy(): ProxiedSandbox {
  let sandbox: Sandbox | undefined;
  let proxy: FaultProxy | undefined;
  let clients: ScimClient[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox();
    proxy = await startFaultProxy(sandbox.baseUrl);
  });
  afterAll(async () => {
    await proxy?.close();
    await sandbox?.close();
  });
  beforeEach(() => {
    sandbox!.reset();
    proxy!.decide = () => ({ kind: "pass" });
    proxy!.seen.length = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
  });
  return {
    get sandbox() {
      return sandbox!;
    },
    get proxy() {
      return proxy!;
    },
    client() {
      const client = new ScimClient({ baseUrl: proxy!.baseUrl, token: sandbox!.token, rateLimit: 0, retries: 2, sleep: async () => {} });
      clients.push(client);
      return client;
    },
  };
}
