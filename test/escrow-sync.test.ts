/**
 * Escrow through the whole engine (runSync) against the sandbox behind the fault proxy: the
 * source is an in-memory directory and the state lives in memory, and each run gets its own
 * `now`, so "three runs in a row" takes no time.
 */
import { describe, expect, it } from "vitest";
import { runSync, type RunSettings } from "../src/engine/run-sync.js";
import type { SourceSnapshot, SourceUser } from "../src/core/model.js";
import type { DirectorySource } from "../src/core/ports.js";
import { defaultUserMapping } from "../src/core/mapping.js";
import { buildReport } from "../src/ui/report.js";
import { useSandboxBehindProxy } from "./support/fault-proxy.js";
import { MemoryStore } from "./support/memory-store.js";
import { aSourceUser, at, days, hours, iso } from "./builders.js";

const MINUTE = 60_000;
const env = useSandboxBehindProxy();

function sourceOf(users: () => SourceUser[]): DirectorySource {
  return {
    read: async (): Promise<SourceSnapshot> => ({ users: structuredClone(users()), groups: [], complete: true, problems: [], protectedIds: [], protectedUserNames: [] }),
  };
}

const settings = (): RunSettings => ({
  targetUrl: env.proxy.baseUrl,
  scope: {},
  policy: {
    deleted: { suspend: 0, delete: days(30) },
    suspended: { suspend: 0, delete: "never" },
    outOfScope: { suspend: 0, delete: "never" },
  },
  safety: { maxDeprovisions: 1000, maxDeprovisionPercent: 100 },
  matchBy: "externalId",
  concurrency: 4,
  userMapping: defaultUserMapping("externalId"),
});

/** One sync at `now` (the plan's clock and the state's timestamps). */
async function syncAt(now: Date, store: MemoryStore, users: () => SourceUser[], extra: { retryFailed?: boolean } = {}) {
  const client = env.client();
  env.proxy.seen.length = 0;
  return runSync(settings(), { source: sourceOf(users), target: client, store }, { now, clock: () => now, runId: `run-${now.toISOString()}`, ...extra });
}

const scimError = (status: number, detail: string) => ({
  kind: "respond" as const,
  status,
  body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(status), scimType: "invalidValue", detail },
});

describe("escrow: objects that keep failing are retried with a growing pause", () => {
  it("Given a create the target refuses with 400 run after run, then the 2nd run retries it, the 3rd holds it, --retry-now retries it, and a success clears it", async () => {
    const directory = [aSourceUser({ id: "ada" }), aSourceUser({ id: "bob" })];
    const store = new MemoryStore();
    let refuse = true;
    env.proxy.decide = ({ method, path, body }) =>
      refuse && method === "POST" && path.endsWith("/Users") && body.includes("ada@example.com") ? scimError(400, "title is too long") : { kind: "pass" };
    const adaPosts = () => env.proxy.seen.filter((r) => r.method === "POST" && r.decision === "respond").length;

    // Run 1: bob is created, ada fails; the first failure is retried by the next run.
    const first = await syncAt(at(0), store, () => directory);
    expect(first.result).toBe("failed");
    expect(adaPosts()).toBe(1);
    expect(store.state!.failures).toEqual({
      "User:ada": {
        name: "ada@example.com",
        op: "create",
        attempts: 1,
        firstFailedAt: iso(0),
        lastFailedAt: iso(0),
        lastError: "POST /Users: 400 invalidValue: title is too long",
        nextAttemptAt: iso(0),
      },
    });

    // Run 2, ten minutes later: retried, fails again, now waits an hour.
    await syncAt(at(10 * MINUTE), store, () => directory);
    expect(adaPosts()).toBe(1);
    expect(store.state!.failures!["User:ada"]).toMatchObject({ attempts: 2, firstFailedAt: iso(0), lastFailedAt: iso(10 * MINUTE), nextAttemptAt: iso(70 * MINUTE) });

    // Run 3: ada waits; no request is sent for her, the run still says something is wrong.
    const third = await syncAt(at(30 * MINUTE), store, () => directory);
    expect(adaPosts()).toBe(0);
    expect(env.proxy.seen.filter((r) => r.method !== "GET")).toEqual([]);
    expect(third.result).toBe("failed");
    expect(third.plan.held).toEqual([expect.objectContaining({ key: "ada@example.com", reason: expect.stringContaining(`waiting until ${iso(70 * MINUTE)} after 2 failed attempt(s)`) })]);
    const json = buildReport("sync", env.proxy.baseUrl, third.plan, third.results, third.problems, third.result);
    expect(json.held[0]!.escrow).toMatchObject({ op: "create", attempts: 2, nextAttemptAt: iso(70 * MINUTE) });
    expect(json.summary).toMatchObject({ held: 1, waiting: 1 });
    expect(store.state!.failures!["User:ada"]).toMatchObject({ attempts: 2 });

    // Run 4 with --retry-now: tried at once; a third failure means two hours.
    await syncAt(at(40 * MINUTE), store, () => directory, { retryFailed: true });
    expect(adaPosts()).toBe(1);
    expect(store.state!.failures!["User:ada"]).toMatchObject({ attempts: 3, nextAttemptAt: iso(40 * MINUTE + hours(2)) });

    // The app is fixed; once due, the create succeeds and the record is gone.
    refuse = false;
    const fixed = await syncAt(at(3 * hours(1)), store, () => directory);
    expect(fixed.result).toBe("ok");
    expect(env.sandbox.users().map((u) => u.userName).sort()).toEqual(["ada@example.com", "bob@example.com"]);
    expect(store.state!.failures).toBeUndefined();
  });

  it("Given a leaver whose suspend keeps failing, then it is tried on every run, never held", async () => {
    const store = new MemoryStore();
    await syncAt(at(0), store, () => [aSourceUser({ id: "ada" })]);
    env.proxy.decide = ({ method }) => (method === "PATCH" ? scimError(400, "cannot deactivate") : { kind: "pass" });
    const patches = () => env.proxy.seen.filter((r) => r.method === "PATCH").length;

    for (const [i, offset] of [MINUTE, 2 * MINUTE, 3 * MINUTE, 4 * MINUTE].entries()) {
      const report = await syncAt(at(offset), store, () => []);
      expect(report.plan.held).toEqual([]);
      expect(patches()).toBe(1);
      expect(store.state!.failures!["User:ada"]).toMatchObject({ op: "suspend", attempts: i + 1 });
    }
    env.proxy.decide = () => ({ kind: "pass" });
    await syncAt(at(5 * MINUTE), store, () => []);
    expect(env.sandbox.users()[0]!.active).toBe(false);
    expect(store.state!.failures).toBeUndefined();
  });

  it("Given the target stops answering, then the failures are not held against the objects", async () => {
    const store = new MemoryStore();
    await syncAt(at(0), store, () => [aSourceUser({ id: "ada" })]);
    env.proxy.decide = ({ method }) => (method === "PATCH" ? { kind: "reset-before" } : { kind: "pass" });

    const report = await syncAt(at(MINUTE), store, () => [aSourceUser({ id: "ada", title: "Staff Engineer" })]);
    expect(report.results).toEqual([expect.objectContaining({ op: "update", status: "failed", failureKind: "no-answer" })]);
    expect(store.state!.failures).toBeUndefined();
  });
});
