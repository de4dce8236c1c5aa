/**
 * How long reading a 10,000-user Google Workspace takes, and what it costs in Directory API
 * requests and memory: GoogleSource against the fake Directory API, then the whole CLI
 * (`scimsync plan --output json`) against an empty sandbox.
 *
 * Not part of `npm test`. Build first (the CLI runs from dist/), then:
 *   npm run build && npx vitest run --config bench/vitest.config.ts
 *
 * The fake Directory API runs in this process, so its own work (field masks, etags, JSON) shares
 * the CPU with the client and is included in the in-process wall times: they are upper bounds
 * for the client. Real Google answers in ~100-300 ms per request; the "latency" rows put a fixed
 * delay in front of every request to show what concurrency buys when waiting dominates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, Agent, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { GoogleSource } from "../src/sources/google/google-source.js";
import { googleUserFields } from "../src/sources/google/attributes.js";
import type { SourceProgress } from "../src/core/ports.js";
import { startSandbox, type Sandbox } from "../src/sandbox/server.js";
import { makeServiceAccountKey, startFakeGoogleDirectory, type FakeGoogleDirectory, type RecordedRequest } from "../test/support/fake-google-directory.js";
import { generateGoogleDirectory } from "../test/support/google-directory-data.js";
import { makeWorkspace, startCli, type Workspace } from "../test/e2e/harness.js";

const USERS = 10_000;
const GROUPS = 200;
const MEMBERS_PER_GROUP = 50;
const TOKEN = "ya29.bench-access-token";
const LATENCY_MS = 50;
/** What a typical mapping reads (the generic preset's attributes). */
const USER_FIELDS = googleUserFields([
  "userName",
  "givenName",
  "familyName",
  "displayName",
  "title",
  "department",
  "employeeNumber",
  "manager",
  "phoneNumbers",
  "addresses",
]);

let fake: FakeGoogleDirectory;
const key = makeServiceAccountKey();

beforeAll(async () => {
  const data = generateGoogleDirectory({ users: USERS, groups: GROUPS, membersPerGroup: MEMBERS_PER_GROUP, seed: 20260301 });
  // The service account acts for user 0, the generated CEO, who is an admin.
  fake = await startFakeGoogleDirectory({ data, publicKeyPem: key.publicKeyPem });
  fake.acceptToken(TOKEN);
});
afterAll(async () => {
  await fake?.close();
});

interface ReadMeasure {
  concurrency: number;
  latencyMs: number;
  wallMs: number;
  /** From the last users/groups/org-unit page to the last member page. */
  membersMs: number;
  users: number;
  groups: number;
  requests: { users: number; groups: number; members: number; other: number };
  rssDeltaMb: number;
  peakRssDeltaMb: number;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

function byListing(requests: RecordedRequest[]): ReadMeasure["requests"] {
  const out = { users: 0, groups: 0, members: 0, other: 0 };
  for (const r of requests) {
    if (r.path.endsWith("/users")) out.users++;
    else if (r.path.endsWith("/groups")) out.groups++;
    else if (r.path.endsWith("/members")) out.members++;
    else out.other++;
  }
  return out;
}

/** A plain delay in front of the fake: every request waits `delayMs` before it is forwarded. */
async function startLatencyProxy(upstream: string, delayMs: number): Promise<{ rootUrl: string; close(): Promise<void> }> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server: Server = createServer((req, res) => {
    setTimeout(() => {
      const up = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    rootUrl: `http://127.0.0.1:${port}/`,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function measureRead(concurrency: number, latencyMs = 0): Promise<ReadMeasure> {
  const proxy = latencyMs > 0 ? await startLatencyProxy(fake.rootUrl, latencyMs) : undefined;
  try {
    const source = new GoogleSource({
      connection: { credentials: { kind: "access-token", token: TOKEN }, apiRoot: proxy?.rootUrl ?? fake.rootUrl },
      customer: "my_customer",
      archived: "ignore",
      showDeleted: false,
      userFields: USER_FIELDS,
      groups: { list: true, membersOf: "all" },
      concurrency,
      timeoutMs: 60_000,
      retries: 3,
    });
    fake.requests.length = 0;
    let lastListing = 0;
    let lastMembers = 0;
    const onProgress = (p: SourceProgress) => {
      if (p.listing === "members") lastMembers = performance.now();
      else lastListing = performance.now();
    };
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const started = performance.now();
    const snapshot = await source.read({ onProgress });
    const wallMs = performance.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(snapshot.complete).toBe(true);
    return {
      concurrency,
      latencyMs,
      wallMs,
      membersMs: lastMembers > lastListing ? lastMembers - lastListing : 0,
      users: snapshot.users.length,
      groups: snapshot.groups.length,
      requests: byListing(fake.requests),
      rssDeltaMb: mb(process.memoryUsage().rss - rssBefore),
      peakRssDeltaMb: mb(peak - rssBefore),
    };
  } finally {
    await proxy?.close();
  }
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

describe(`reading ${USERS} Google users and ${GROUPS} groups of ${MEMBERS_PER_GROUP}`, () => {
  it("GoogleSource.read: wall time, requests by listing, memory; member lists at concurrency 1, 4, 8", async () => {
    // The first read is cold (JIT, sockets): its memory figures are the interesting ones.
    const cold = await measureRead(4);
    const runs: ReadMeasure[] = [];
    for (const latency of [0, LATENCY_MS]) for (const c of [1, 4, 8]) runs.push(await measureRead(c, latency));

    const heap = process.memoryUsage();
    console.log(
      [
        "",
        `GoogleSource.read, cold, concurrency 4 (fields: ${USER_FIELDS.join(",")})`,
        `  wall ${f0(cold.wallMs)} ms; users read ${cold.users} (of ${USERS}; archived ones are left out), groups read ${cold.groups}`,
        `  Directory requests: users pages ${cold.requests.users}, groups pages ${cold.requests.groups}, members pages ${cold.requests.members}, other ${cold.requests.other}`,
        `  RSS delta after the read ${f1(cold.rssDeltaMb)} MB, peak RSS delta during it ${f1(cold.peakRssDeltaMb)} MB (fake server included; heapUsed now ${f1(mb(heap.heapUsed))} MB)`,
        "",
        table(
          ["latency ms", "concurrency", "read ms", "members phase ms", "users pages", "groups pages", "members pages", "users", "groups"],
          runs.map((r) => [r.latencyMs, r.concurrency, f0(r.wallMs), f0(r.membersMs), r.requests.users, r.requests.groups, r.requests.members, r.users, r.groups]),
        ),
        "",
      ].join("\n"),
    );
    expect(cold.requests).toEqual({ users: Math.ceil(USERS / 500), groups: Math.ceil(GROUPS / 200), members: GROUPS, other: 0 });
  });

  describe("the CLI end to end", () => {
    let sandbox: Sandbox;
    let ws: Workspace;
    beforeAll(async () => {
      sandbox = await startSandbox();
      ws = await makeWorkspace();
    });
    afterAll(async () => {
      await sandbox?.close();
      await ws?.cleanup();
    });

    it("scimsync plan --output json against an empty sandbox", async () => {
      const sa = join(ws.dir, "sa.json");
      writeFileSync(sa, key.json);
      chmodSync(sa, 0o600);
      const admin = fake.data.users[0]!.primaryEmail;
      await ws.writeConfig(
        [
          "source:",
          "  type: google",
          '  credentials: "${file:./sa.json}"',
          `  subject: ${admin}`,
          `  apiRoot: ${fake.rootUrl}`,
          `  tokenUrl: ${fake.tokenUrl}`,
          "target:",
          `  url: ${sandbox.baseUrl}`,
          '  token: "${env:SCIM_TOKEN}"',
          "  rateLimit: 0",
          "state: { path: ./scimsync.state.json }",
          "provisionGroups: all",
          "",
        ].join("\n"),
      );
      fake.requests.length = 0;
      const started = performance.now();
      const running = startCli(["plan", "--config", ws.config, "--output", "json"], { SCIM_TOKEN: sandbox.token }, 600_000);
      // VmHWM is the child's peak resident set so far; the last reading before it exits is close to its peak.
      let peakKb = 0;
      const poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${running.child.pid}/status`, "utf8"));
          if (m) peakKb = Math.max(peakKb, Number(m[1]));
        } catch {
          // exited
        }
      }, 20);
      const r = await running.done;
      clearInterval(poll);
      const wallMs = performance.now() - started;
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const requests = byListing(fake.requests);
      console.log(
        [
          "",
          `scimsync plan --output json, ${USERS} Google users, ${GROUPS} groups, empty sandbox (separate process)`,
          table(
            ["wall ms", "child peak RSS MB", "stdout MB", "creates", "group creates", "users pages", "groups pages", "members pages", "SCIM requests"],
            [
              [
                f0(wallMs),
                peakKb > 0 ? f1(peakKb / 1024) : "n/a",
                f1(mb(Buffer.byteLength(r.stdout))),
                r.json.summary.create,
                r.json.summary.groups.create,
                requests.users,
                requests.groups,
                requests.members,
                sandbox.requests.length,
              ],
            ],
          ),
          "",
        ].join("\n"),
      );
    });
  });
});
