/**
 * A scripted HTTP server on loopback standing in for a SCIM target, for client tests that need
 * a target to misbehave in one precise way, and a ScimClient wired to it that never really
 * sleeps. Every server and client is closed after each test.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect } from "vitest";
import { TargetError } from "../../src/errors.js";
import { ScimClient, type ScimClientOptions } from "../../src/scim/client.js";

export const TOKEN = "s3cr3t-token-value-9f8e7d";

export interface SeenRequest {
  method: string;
  url: string;
  /** Without the base path prefix. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
  /** performance.now() when the request arrived. */
  at: number;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void;

export interface FakeTarget {
  baseUrl: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

export async function startTarget(handler: Handler, prefix = "/scim/v2"): Promise<FakeTarget> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const seen: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        path: url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: performance.now(),
      };
      requests.push(seen);
      handler(seen, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const target: FakeTarget = {
    baseUrl: `http://127.0.0.1:${port}${prefix}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  cleanups.push(target.close);
  return target;
}

export interface Harness {
  client: ScimClient;
  /** Every backoff the client asked for, in ms. */
  sleeps: number[];
  events: Parameters<NonNullable<ScimClientOptions["onRequest"]>>[0][];
}

export function clientFor(target: FakeTarget, options: Partial<ScimClientOptions> = {}): Harness {
  const sleeps: number[] = [];
  const events: Harness["events"] = [];
  const client = new ScimClient({
    baseUrl: target.baseUrl,
    token: TOKEN,
    rateLimit: 0,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
    onRequest: (e) => events.push(e),
    ...options,
  });
  cleanups.push(() => client.close());
  return { client, sleeps, events };
}

/** Answers with a JSON body (SCIM content type, exact length), or none. */
export function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/scim+json", "content-length": Buffer.byteLength(text), ...headers }).end(text);
}

/** The TargetError a call failed with; fails the test if it succeeded or threw something else. */
export async function caught(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TargetError);
    return error as TargetError;
  }
  throw new Error("expected the call to fail");
}

/** The startIndex of every request the target received, in order. */
export const startIndexes = (t: FakeTarget) => t.requests.map((r) => Number(r.query.get("startIndex")));
