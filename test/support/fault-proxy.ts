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
import { mulberry32 } from "./synthetic-people.js";

export type FaultDecision =
  /** `until`: the request is held until it settles (after `delayMs`), e.g. to keep one run waiting while another starts. */
  | { kind: "pass"; delayMs?: number; until?: Promise<unknown>; rewrite?: (json: any) => unknown }
  | { kind: "respond"; status: number; body?: unknown; headers?: Record<string, string> }
  /** Forward to the server, wait for its answer, then destroy the client's connection. */
  | { kind: "drop-after-apply" }
  /** Destroy the connection before the request reaches the server. */
  | { kind: "reset-before" }
  /**
   * Forward to the server, then hand its answer and the client's raw socket to `write`, which
   * sends whatever bytes it likes (a truncated body, a trickle, headers that never end).
   */
  | { kind: "raw"; write: (socket: Socket, answer: UpstreamAnswer) => void };

export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface SeenRequest {
  method: string;
  path: string;
  decision: FaultDecision["kind"];
}

export interface FaultProxy {
  /** Base URL with the same path as the upstream base URL. */
  baseUrl: string;
  seen: SeenRequest[];
  /** `query` is the raw query string without `?` (empty when there is none). */
  decide: (req: { method: string; path: string; query: string; body: string }) => FaultDecision;
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
    new Promise<UpstreamAnswer>((resolve, reject) => {
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
      const [path = "/", query = ""] = (req.url ?? "/").split(/\?(.*)/s);
      const decision = proxy.decide({ method: req.method ?? "GET", path, query, body: body.toString("utf8") });
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
        if (decision.kind === "pass" && decision.until) await decision.until.catch(() => undefined);
        const answer = await forward(req, body);
        if (decision.kind === "drop-after-apply") {
          req.socket.destroy();
          return;
        }
        if (decision.kind === "raw") {
          decision.write(req.socket, answer);
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

/** The faults a seeded plan injects; see seededFaults. */
export const FAULT_KINDS = ["status500", "status503", "status429", "resetBefore", "dropAfterApply"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface SeededFaultOptions {
  seed: number;
  /** Share (0..1) of the eligible requests that get each fault; the shares add up to at most 1. */
  rates: Partial<Record<FaultKind, number>>;
  /** Delay before a passed request is forwarded: a fixed ms, or a range drawn per request. */
  latencyMs?: number | { min: number; max: number };
  /** The Retry-After of a 429, in seconds; default 1. */
  retryAfterSeconds?: number;
  /** Requests that may get a fault; the others pass (with latency). Default: all. */
  only?: (req: FaultRequest) => boolean;
}

export type FaultRequest = Parameters<FaultProxy["decide"]>[0];

export interface SeededFaults {
  decide: FaultProxy["decide"];
  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number>;
  /** Faults injected so far, by kind and by method. */
  readonly injectedByMethod: Record<string, Partial<Record<FaultKind, number>>>;
  /** Requests that reached the plan, faulted or not. */
  readonly requests: number;
  /** All faults injected so far. */
  total(): number;
}


const errorBody = (status: number, detail: string) => ({
  schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
  status: String(status),
  detail,
});

/**
 * A fault plan for FaultProxy.decide: each eligible request draws once from a PRNG seeded with
 * `seed` and gets at most one fault. The sequence of draws is fixed; which request meets which
 * draw depends on the order requests arrive in, which concurrency varies, so tests should assert
 * on outcomes and on the counts here, never on which request failed.
 */
export function seededFaults(options: SeededFaultOptions): SeededFaults {
  const draw = mulberry32(options.seed);
  // Latency has its own stream so that adding latency leaves the faults' sequence as it was.
  const drawLatency = mulberry32(options.seed ^ 0x5bd1e995);
  const shares = FAULT_KINDS.map((kind) => [kind, options.rates[kind] ?? 0] as const);
  const sum = shares.reduce((s, [, rate]) => s + rate, 0);
  if (shares.some(([, rate]) => rate < 0) || sum > 1) throw new Error(`fault rates must be >= 0 and add up to at most 1, got ${sum}`);
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const injectedByMethod: Record<string, Partial<Record<FaultKind, number>>> = {};
  let requests = 0;

  const latency = (): number | undefined => {
    const l = options.latencyMs;
    if (l === undefined) return undefined;
    if (typeof l === "number") return l;
    return Math.round(l.min + drawLatency() * (l.max - l.min));
  };

  const pick = (u: number): FaultKind | undefined => {
    let edge = 0;
    for (const [kind, rate] of shares) {
      edge += rate;
      if (u < edge) return kind;
    }
    return undefined;
  };

  const decisionFor = (kind: FaultKind | undefined): FaultDecision => {
    switch (kind) {
      case "status500":
        return { kind: "respond", status: 500, body: errorBody(500, "injected fault: internal error") };
      case "status503":
        return { kind: "respond", status: 503, body: errorBody(503, "injected fault: unavailable") };
      case "status429":
        return { kind: "respond", status: 429, body: errorBody(429, "injected fault: too many requests"), headers: { "retry-after": retryAfter } };
      case "resetBefore":
        return { kind: "reset-before" };
      case "dropAfterApply":
        return { kind: "drop-after-apply" };
      case undefined: {
        const delayMs = latency();
        return delayMs ? { kind: "pass", delayMs } : { kind: "pass" };
      }
    }
  };

  return {
    decide: (req) => {
      requests++;
      const kind = options.only && !options.only(req) ? undefined : pick(draw());
      if (kind) {
        injected[kind]++;
        const perMethod = (injectedByMethod[req.method] ??= {});
        perMethod[kind] = (perMethod[kind] ?? 0) + 1;
      }
      return decisionFor(kind);
    },
    injected,
    injectedByMethod,
    get requests() {
      return requests;
    },
    total: () => FAULT_KINDS.reduce((s, k) => s + injected[k], 0),
  };
}
