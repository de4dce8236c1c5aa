/**
 * An incoming webhook on 127.0.0.1 (plain HTTP, or HTTPS with the test CA's certificate), as
 * Slack or Teams offer them: its URL carries a secret path, and it records every POST it gets.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { readBody } from "./fake-http.js";
import { makeTestCertificates } from "./test-ca.js";

export interface WebhookRequest {
  method: string;
  path: string;
  contentType?: string;
  body: string;
  /** The body parsed, when it is JSON. */
  json?: any;
}

export interface FakeWebhook {
  /** The full URL, secret path included: never to appear in scimsync's output. */
  url: string;
  /** The secret part of the path. */
  secret: string;
  requests: WebhookRequest[];
  /** The status for each request (default 200); "hang" never answers. */
  answer: (request: WebhookRequest, n: number) => number | "hang";
  close(): Promise<void>;
}

export async function startFakeWebhook(options: { tls?: boolean } = {}): Promise<FakeWebhook> {
  const secret = `T0000/B0000/${randomBytes(12).toString("hex")}`;
  const sockets = new Set<Socket>();
  const hook: FakeWebhook = {
    url: "",
    secret,
    requests: [],
    answer: () => 200,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const request: WebhookRequest = { method: req.method ?? "GET", path: req.url ?? "/", body };
    if (req.headers["content-type"]) request.contentType = req.headers["content-type"];
    try {
      request.json = JSON.parse(body);
    } catch {
      // not JSON
    }
    hook.requests.push(request);
    const status = hook.answer(request, hook.requests.length);
    if (status === "hang") return;
    res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "no");
  };
  let server: Server;
  if (options.tls) {
    const certs = await makeTestCertificates();
    server = createHttpsServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => void handle(req, res));
  } else {
    server = createHttpServer((req, res) => void handle(req, res));
  }
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  hook.url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}/services/${secret}`;
  return hook;
}
