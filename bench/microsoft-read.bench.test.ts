/**
 * What reading a 10,000-user Microsoft Entra ID tenant costs, first in full and then by delta
 * queries: MicrosoftSource (the real Graph client and @azure/identity) against the fake Graph
 * over HTTPS, then the whole CLI: `scimsync plan --output json` against an empty sandbox (the
 * initial full read end to end), and `scimsync sync` twice (initial, then incremental) and a plan.
 *
 *   (a) the first (full) read: wall time and Graph requests by kind;
 *   (b) an incremental read after 50 users and 5 groups' members changed;
 *   (c) an incremental read with no change;
 *   (d) the size of what the source keeps in the state file (JSON bytes) after the full read and
 *       after 5 rounds of churn (100 users added and 100 deleted per round).
 *
 * Not part of `npm test`. Build first (the CLI runs from dist/), then:
 *   npm run build && npx vitest run --config bench/vitest.config.ts bench/microsoft-read.bench.test.ts
 *
 * The fake Graph runs in this process: its own work (diffing the tenant for delta, $select,
 * JSON) shares the CPU with the client and is included in the in-process wall times, so they
 * are upper bounds for the client. Real Graph answers in ~100-500 ms per request, so on a real
 * tenant the request counts matter more than these wall times.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { MicrosoftSource } from "../src/sources/microsoft/microsoft-source.js";
import { graphUserFields } from "../src/sources/microsoft/attributes.js";
import { compileMapping } from "../src/core/mapping.js";
import { PRESETS } from "../src/config/presets.js";
import type { SourceCache } from "../src/core/ports.js";
import { startSandbox, type Sandbox } from "../src/sandbox/server.js";
import { startFakeGraph, type FakeGraph, type GraphRecordedRequest } from "../test/support/fake-graph.js";
import { generateGraphDirectory, GENERATED_SERVICE_PRINCIPAL_ID } from "../test/support/graph-directory-data.js";
import { makeTestCertificates, writeCaFile } from "../test/support/test-ca.js";
import { makeWorkspace, startCli, type Workspace } from "../test/e2e/harness.js";

const USERS = 10_000;
const GROUPS = 200;
const MEMBERS_PER_GROUP = 50;
const CLIENT_ID = "0b9f8e7d-6c5b-4a39-8281-7f6e5d4c3b2a";
const SECRET = "Bn7~benchSecretValue0123456789abcdefXYZ";
const HOUR = 3_600_000;
/** What the CLI reads with the generic preset: the same references as src/cli/wiring.ts. */
const USER_FIELDS = graphUserFields(compileMapping(PRESETS.generic.user).flatMap((e) => [...e.expression.references, ...(e.fallback?.references ?? [])]));

let fake: FakeGraph;

beforeAll(async () => {
  const data = generateGraphDirectory({ users: USERS, groups: GROUPS, membersPerGroup: MEMBERS_PER_GROUP, seed: 20260401 });
  fake = await startFakeGraph({ data, clientSecret: SECRET, clientId: CLIENT_ID });
});
afterAll(async () => {
  await fake?.close();
});

function newSource(): MicrosoftSource {
  return new MicrosoftSource({
    connection: {
      tenantId: fake.tenantId,
      clientId: CLIENT_ID,
      credential: { kind: "secret", clientSecret: SECRET },
      authorityHost: fake.url,
      authorityHostOverridden: true,
      graphUrl: fake.url,
      graphResource: "https://graph.microsoft.com",
    },
    userFields: USER_FIELDS,
    readGroups: true,
    assignedToApp: GENERATED_SERVICE_PRINCIPAL_ID,
    fullSyncEveryMs: 24 * HOUR,
    concurrency: 4,
    timeoutMs: 60_000,
    retries: 3,
  });
}

type Kind = "users pages" | "users/delta" | "groups/delta pages" | "servicePrincipals pages" | "transitiveMembers pages" | "other";
const KINDS: Kind[] = ["users pages", "users/delta", "groups/delta pages", "servicePrincipals pages", "transitiveMembers pages", "other"];

function kindOf(r: GraphRecordedRequest): Kind {
  if (r.path === "/v1.0/users") return "users pages";
  if (r.path === "/v1.0/users/delta") return "users/delta";
  if (r.path === "/v1.0/groups/delta") return "groups/delta pages";
  if (r.path.startsWith("/v1.0/servicePrincipals/")) return "servicePrincipals pages";
  if (r.path.includes("/transitiveMembers")) return "transitiveMembers pages";
  return "other";
}

function byKind(requests: GraphRecordedRequest[]): Record<Kind, number> {
  const out = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  for (const r of requests) out[kindOf(r)]++;
  return out;
}

interface ReadMeasure {
  label: string;
  wallMs: number;
  how: string;
  users: number;
  groups: number;
  inScope: number;
  requests: Record<Kind, number>;
  total: number;
  cacheBytes: number;
  cache: SourceCache | undefined;
}

async function measureRead(label: string, cache: SourceCache | undefined): Promise<ReadMeasure> {
  const source = newSource();
  fake.requests.length = 0;
  const started = performance.now();
  const snapshot = await source.read({ now: new Date(), ...(cache ? { cache } : {}) });
  const wallMs = performance.now() - started;
  expect(snapshot.complete, JSON.stringify(snapshot.problems)).toBe(true);
  return {
    label,
    wallMs,
    how: `${source.lastRead.users}/${source.lastRead.groups}`,
    users: snapshot.users.length,
    groups: snapshot.groups.length,
    inScope: snapshot.inScopeIds?.length ?? snapshot.users.length,
    requests: byKind(fake.requests),
    total: fake.requests.length,
    cacheBytes: Buffer.byteLength(JSON.stringify(snapshot.cache)),
    cache: snapshot.cache,
  };
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const kb = (bytes: number) => f1(bytes / 1024);

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** A GUID no generated object has (tag f in the last block). */
const newId = (n: number) => `0b5e11e0-0000-4000-8000-f${String(n).padStart(11, "0")}`;

describe(`reading ${USERS} Entra users and ${GROUPS} groups of ${MEMBERS_PER_GROUP}, assignedToApp`, () => {
  it("MicrosoftSource.read: full, incremental after changes, incremental without changes, and the kept cache under churn", async () => {
    // (a) The first read: everything.
    const full = await measureRead("(a) full read (no cache)", undefined);
    expect(full.how).toBe("full/full");
    expect(full.users).toBe(USERS);

    // (b) 50 users' titles and 5 groups' members change.
    const users = fake.data.users;
    for (let i = 0; i < 50; i++) fake.updateUser(users[100 + i * 97]!.id, { jobTitle: `Changed title ${i}` });
    for (let g = 0; g < 5; g++) {
      const group = fake.data.groups[g * 7]!;
      const kept = group.members.slice(5);
      const added = users.slice(5000 + g * 5, 5005 + g * 5).map((u) => u.id);
      fake.setGroupMembers(group.id, [...kept, ...added]);
    }
    const changed = await measureRead("(b) incremental: 50 users, 5 groups changed", full.cache);
    expect(changed.how).toBe("changes/changes");
    expect(changed.requests["users pages"]).toBe(0);

    // (c) Nothing changed.
    const quiet = await measureRead("(c) incremental: no change", changed.cache);
    expect(quiet.how).toBe("changes/changes");
    expect(quiet.requests["users pages"]).toBe(0);

    // (d) Churn: 100 users added and 100 deleted per round, each round read incrementally.
    const churn: { round: number; users: number; cacheBytes: number; wallMs: number; requests: number }[] = [];
    let cache = quiet.cache;
    let next = 0;
    for (let round = 1; round <= 5; round++) {
      for (let i = 0; i < 100; i++) {
        const n = next++;
        fake.addUser({
          id: newId(n),
          userPrincipalName: `churn.${n}@example.com`,
          mail: `churn.${n}@example.com`,
          givenName: "Churn",
          surname: `User ${n}`,
          displayName: `Churn User ${n}`,
          jobTitle: "Contractor",
          department: "Sales",
          employeeId: String(900_000 + n),
          accountEnabled: true,
        });
      }
      // The oldest 100 (never the CEO), soft-deleted as Entra does by default.
      for (const user of fake.data.users.slice(1, 101)) fake.deleteUser(user.id);
      const m = await measureRead(`(d) churn round ${round}`, cache);
      expect(m.how).toBe("changes/changes");
      expect(m.users).toBe(USERS);
      churn.push({ round, users: m.users, cacheBytes: m.cacheBytes, wallMs: m.wallMs, requests: m.total });
      cache = m.cache;
    }

    const reads = [full, changed, quiet];
    console.log(
      [
        "",
        `MicrosoftSource.read, ${USERS} users, ${GROUPS} groups x ${MEMBERS_PER_GROUP}, scope.assignedToApp (fields: ${USER_FIELDS.join(",")})`,
        table(
          ["read", "wall ms", "users/groups", "users pages", "users/delta", "groups/delta pages", "servicePrincipals pages", "transitiveMembers pages", "other", "total", "users", "groups", "in scope", "cache KB"],
          reads.map((r) => [
            r.label,
            f0(r.wallMs),
            r.how,
            ...KINDS.map((k) => r.requests[k]),
            r.total,
            r.users,
            r.groups,
            r.inScope,
            kb(r.cacheBytes),
          ]),
        ),
        "",
        "Kept cache (state file `source` entry, JSON bytes) under churn: +100 / -100 users per round, read incrementally",
        table(
          ["after", "users", "cache bytes", "cache KB", "vs full read", "read ms", "Graph requests"],
          [
            ["full read", full.users, full.cacheBytes, kb(full.cacheBytes), "100.0%", f0(full.wallMs), full.total],
            ...churn.map((c) => [`churn round ${c.round}`, c.users, c.cacheBytes, kb(c.cacheBytes), `${f1((100 * c.cacheBytes) / full.cacheBytes)}%`, f0(c.wallMs), c.requests]),
          ],
        ),
        "",
      ].join("\n"),
    );
    // The cache follows the tenant, not time: same number of users, about the same size.
    const last = churn.at(-1)!;
    expect(Math.abs(last.cacheBytes - full.cacheBytes) / full.cacheBytes).toBeLessThan(0.05);
  });

  describe("the CLI end to end", () => {
    let sandbox: Sandbox;
    let ws: Workspace;
    let ca: { path: string; remove: () => Promise<void> };
    beforeAll(async () => {
      sandbox = await startSandbox();
      ws = await makeWorkspace();
      ca = await writeCaFile((await makeTestCertificates()).caPem);
      await ws.writeConfig(
        [
          "source:",
          "  type: microsoft",
          `  tenantId: ${fake.tenantId}`,
          `  clientId: ${CLIENT_ID}`,
          '  clientSecret: "${env:AZURE_CLIENT_SECRET}"',
          `  authorityHost: ${fake.url}`,
          `  graphUrl: ${fake.url}`,
          "target:",
          `  url: ${sandbox.baseUrl}`,
          '  token: "${env:SCIM_TOKEN}"',
          "  rateLimit: 0",
          "state: { path: ./scimsync.state.json }",
          "scope:",
          `  assignedToApp: ${GENERATED_SERVICE_PRINCIPAL_ID}`,
          "provisionGroups: all",
          "",
        ].join("\n"),
      );
    });
    afterAll(async () => {
      await sandbox?.close();
      await ws?.cleanup();
      await ca?.remove();
    });

    it("scimsync plan --output json against an empty sandbox (the initial, full read)", async () => {
      fake.requests.length = 0;
      const started = performance.now();
      const running = startCli(
        ["plan", "--config", ws.config, "--output", "json"],
        { SCIM_TOKEN: sandbox.token, AZURE_CLIENT_SECRET: SECRET, NODE_EXTRA_CA_CERTS: ca.path },
        600_000,
      );
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
      const requests = byKind(fake.requests);
      console.log(
        [
          "",
          `scimsync plan --output json, ${USERS} Entra users, ${GROUPS} groups, assignedToApp, empty sandbox (separate process; full read, nothing saved)`,
          table(
            ["wall ms", "child peak RSS MB", "stdout MB", "creates", "group creates", ...KINDS, "SCIM requests"],
            [
              [
                f0(wallMs),
                peakKb > 0 ? f1(peakKb / 1024) : "n/a",
                f1(Buffer.byteLength(r.stdout) / 1024 / 1024),
                r.json.summary.create,
                r.json.summary.groups.create,
                ...KINDS.map((k) => requests[k]),
                sandbox.requests.length,
              ],
            ],
          ),
          "",
        ].join("\n"),
      );
    });

    it("scimsync sync --output json: the initial run (full read, creates everything), a second run (incremental read, nothing to do), and a plan (incremental read, saves nothing)", async () => {
      const env = { SCIM_TOKEN: sandbox.token, AZURE_CLIENT_SECRET: SECRET, NODE_EXTRA_CA_CERTS: ca.path };
      const rows: (string | number)[][] = [];
      for (const [label, command] of [
        ["initial sync", "sync"],
        ["second sync", "sync"],
        ["plan after them", "plan"],
      ] as const) {
        fake.requests.length = 0;
        sandbox.requests.length = 0;
        const started = performance.now();
        const r = await startCli([command, "--config", ws.config, "--output", "json"], env, 600_000).done;
        const wallMs = performance.now() - started;
        expect(r.code, r.stderr.slice(-2000)).toBe(0);
        const requests = byKind(fake.requests);
        rows.push([
          label,
          f0(wallMs),
          r.json.summary.create,
          r.json.actions.length,
          r.json.result,
          ...KINDS.map((k) => requests[k]),
          sandbox.requests.length,
          kb(readFileSync(ws.state).length),
        ]);
      }
      console.log(
        [
          "",
          `scimsync sync --output json, ${USERS} Entra users, ${GROUPS} groups, assignedToApp, into the sandbox (separate process)`,
          table(["run", "wall ms", "creates", "actions", "result", ...KINDS, "SCIM requests", "state file KB"], rows),
          "",
        ].join("\n"),
      );
    });
  });
});
