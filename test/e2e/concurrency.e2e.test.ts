/**
 * Runs that overlap on one state file, through the real CLI. The run lock (src/state/run-lock.ts)
 * is taken before the state or anything else is read; these tests hold a run at a known point
 * by holding its requests at the fault proxy, so what the other run does is observed while the
 * first one is certainly inside its lock.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { configYaml, people, runCli, startCli, useFaultProxy, useSandboxAndWorkspace, waitUntil, type CliResult, type RunningCli } from "./harness.js";

const ctx = useSandboxAndWorkspace();
const fault = useFaultProxy(ctx);

const policy = "provisionGroups: all\ndeprovision:\n  deleted: { suspend: 1d, delete: 7d }\nsafety: { maxDeprovisionPercent: 100 }\n";

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const lockPath = () => `${ctx.ws.state}.lock`;
const ownerFile = () => join(lockPath(), "owner.json");
const stateTemps = () => readdirSync(ctx.ws.dir).filter((n) => n.endsWith(".tmp"));

/** What a run could change about the state files: their bytes and identity. */
function stateFingerprint(): string {
  return [ctx.ws.state, `${ctx.ws.state}.bak`]
    .map((file) => {
      if (!existsSync(file)) return `${file}: missing`;
      const info = statSync(file);
      return `${file}: ino ${info.ino} mtime ${info.mtimeMs} ${readFileSync(file, "utf8")}`;
    })
    .join("\n");
}

function warningsOf(r: CliResult): string[] {
  return r.stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { event: string; message?: string })
    .filter((l) => l.event === "warning")
    .map((l) => l.message ?? "");
}

const sync = (...extra: string[]) => startCli(["sync", "--config", ctx.ws.config, "--output", "json", "--log-format", "json", ...extra], ctx.env);

/** 30 users synced; the directory then has 60, in two groups: every later run has 30 creates to make. */
async function syncedThirtyThenSixty(): Promise<void> {
  const users = people(60);
  await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, policy));
  await ctx.ws.writeDirectory(users.slice(0, 30), [{ id: "g-all", displayName: "Everyone", members: users.slice(0, 30).map((u) => u.id) }]);
  const first = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
  expect(first.code, first.stderr).toBe(0);
  await ctx.ws.writeDirectory(users, [
    { id: "g-all", displayName: "Everyone", members: users.map((u) => u.id) },
    { id: "g-new", displayName: "Newcomers", members: users.slice(30).map((u) => u.id) },
  ]);
  ctx.sandbox.requests.length = 0;
  fault.proxy.seen.length = 0;
}

/** The target holds the 60 users and two groups exactly once, and the state maps each of them. */
function expectSixtyOnce(): void {
  const userNames = ctx.sandbox.users().map((u) => String(u.userName));
  expect(userNames).toHaveLength(60);
  expect(new Set(userNames).size).toBe(60);
  expect(ctx.sandbox.groups().map((g) => g.displayName).sort()).toEqual(["Everyone", "Newcomers"]);
  const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
  const ids = new Set(ctx.sandbox.users().map((u) => String(u.id)));
  expect(Object.keys(state.users)).toHaveLength(60);
  expect(Object.values(state.users).every((u: any) => ids.has(u.targetId))).toBe(true);
}

/** Resolves with the first of the runs to exit, and which one it was. */
async function firstToExit(runs: RunningCli[]): Promise<{ index: number; result: CliResult }> {
  return Promise.race(runs.map((run, index) => run.done.then((result) => ({ index, result }))));
}

describe("two runs on one state file", () => {
  it("given a slow target, when two syncs start at once, then one runs, the other exits 6 naming the holder, without a request or a touch to the state", async () => {
    await syncedThirtyThenSixty();
    const before = stateFingerprint();
    // Every request waits until the loser has gone: whatever reaches the proxy meanwhile is the winner's alone.
    const hold = gate();
    fault.proxy.decide = () => ({ kind: "pass", delayMs: 5, until: hold.opened });

    const runs = [sync(), sync()];
    const { index, result: loser } = await firstToExit(runs);
    const winner = runs[1 - index]!;

    expect(loser.code, loser.stderr).toBe(6);
    expect(loser.json).toEqual({
      error: {
        kind: "locked",
        message: expect.stringMatching(/^another scimsync run \(pid \d+ on host .+, started at .+\) holds the lock on .+; wait for it to finish$/),
        hint: expect.stringContaining("taken over automatically"),
      },
      exitCode: 6,
    });
    expect(loser.json.error.message).toContain(`pid ${winner.child.pid} on host ${hostname()}`);
    expect(loser.json.error.message).toContain(`holds the lock on ${lockPath()}`);
    expect(loser.stderr).toContain(`error: ${loser.json.error.message}`);
    // The winner holds the lock and waits for the answer to its first listing: the proxy has
    // seen only that (each listing once), so the loser, already gone, sent nothing.
    expect(JSON.parse(readFileSync(ownerFile(), "utf8")).pid).toBe(winner.child.pid);
    await waitUntil(() => fault.proxy.seen.length > 0);
    const seen = fault.proxy.seen.map((r) => `${r.method} ${r.path}`);
    expect(seen).toContain("GET /scim/v2/Users");
    expect(seen.every((r) => r.startsWith("GET ")) && new Set(seen).size === seen.length, seen.join(", ")).toBe(true);
    expect(ctx.sandbox.requests).toEqual([]);
    expect(stateFingerprint()).toBe(before);
    expect(stateTemps()).toEqual([]);

    hold.open();
    const won = await winner.done;
    expect(won.code, won.stderr).toBe(0);
    expect(won.json.summary.create).toBe(30);
    expect(warningsOf(won).filter((w) => /lock/.test(w))).toEqual([]);
    // One listing of the users and one create per newcomer: nobody else read or wrote.
    expect(ctx.sandbox.requests.filter((r) => r.method === "GET" && r.path === "/scim/v2/Users" && !/startIndex=(?!1\b)/.test(r.query))).toHaveLength(1);
    expect(ctx.sandbox.requests.filter((r) => r.method === "POST" && r.path === "/scim/v2/Users")).toHaveLength(30);
    expectSixtyOnce();
    expect(existsSync(lockPath())).toBe(false);
  });

  it("given a sync SIGKILLed while holding the lock, then the lock stays behind, and the next run takes it over at once, says so, and converges", async () => {
    await syncedThirtyThenSixty();
    let posts = 0;
    let victim: RunningCli | undefined;
    fault.proxy.decide = ({ method }) => {
      if (method === "POST" && ++posts === 5) victim!.child.kill("SIGKILL");
      return { kind: "pass", delayMs: 20 };
    };
    victim = sync();
    const killed = await victim.done;
    expect(killed.code).toBe(-1);
    const pid = victim.child.pid!;
    expect(JSON.parse(readFileSync(ownerFile(), "utf8"))).toMatchObject({ pid, hostname: hostname() });

    fault.proxy.decide = () => ({ kind: "pass" });
    const started = Date.now();
    const next = await sync().done;
    expect(next.code, next.stderr).toBe(0);
    // Not after the 60 s stale time: the owner is known dead on this host.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(warningsOf(next)).toContain(`took over a lock left by process ${pid}, which is no longer running`);
    expect(ctx.sandbox.requests.filter((r) => r.status === 409)).toEqual([]);
    expectSixtyOnce();
    expect(existsSync(lockPath())).toBe(false);
    expect(readdirSync(ctx.ws.dir).filter((n) => n.includes(".lock"))).toEqual([]);
  });

  it("given a lock left by a killed run, when two syncs start at once, then exactly one takes it over and the other exits 6 naming it", async () => {
    await syncedThirtyThenSixty();
    // Three rounds, each with a fresh dead lock: the takeover is a race between the two.
    for (let round = 0; round < 3; round++) {
      let victim: RunningCli | undefined;
      fault.proxy.decide = () => {
        victim?.child.kill("SIGKILL");
        return { kind: "pass" };
      };
      victim = sync();
      expect((await victim.done).code).toBe(-1);
      const dead = victim.child.pid!;
      expect(JSON.parse(readFileSync(ownerFile(), "utf8")).pid).toBe(dead);

      const hold = gate();
      fault.proxy.decide = () => ({ kind: "pass", until: hold.opened });
      const runs = [sync(), sync()];
      const { index, result: loser } = await firstToExit(runs);
      const winner = runs[1 - index]!;
      expect(loser.code, `round ${round}: ${loser.stderr}`).toBe(6);
      expect(loser.json.error.message).toContain(`pid ${winner.child.pid} on host`);
      expect(JSON.parse(readFileSync(ownerFile(), "utf8")).pid).toBe(winner.child.pid);
      hold.open();
      const won = await winner.done;
      expect(won.code, `round ${round}: ${won.stderr}`).toBe(0);
      expect(warningsOf(won)).toContain(`took over a lock left by process ${dead}, which is no longer running`);
      expect(readdirSync(ctx.ws.dir).filter((n) => n.includes(".lock"))).toEqual([]);
    }
    expectSixtyOnce();
  });
});

describe("a lock that is not a dead scimsync run's", () => {
  /** A lock folder as a run makes it, for a process that is not scimsync. */
  function writeLock(pid: number, ageMs = 0): string {
    mkdirSync(lockPath());
    const owner = `${JSON.stringify({ pid, hostname: hostname(), startedAt: new Date(Date.now() - ageMs).toISOString(), token: "0123456789abcdef" })}\n`;
    writeFileSync(ownerFile(), owner);
    const at = new Date(Date.now() - ageMs);
    utimesSync(lockPath(), at, at);
    return owner;
  }

  it("given the lock names a live process on this host, then sync exits 6 and leaves lock, state and target alone; unrefreshed for over 60 s, it is taken over as stale", async () => {
    await syncedThirtyThenSixty();
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const owner = writeLock(sleeper.pid!);
      const lockMtime = statSync(lockPath()).mtimeMs;
      const before = stateFingerprint();

      const refused = await sync().done;
      expect(refused.code, refused.stderr).toBe(6);
      expect(refused.json.error.message).toContain(`pid ${sleeper.pid} on host ${hostname()}`);
      expect(refused.json.error.hint).toContain("once nobody has refreshed it for 60s, or at once when its process on this host has exited");
      expect(readFileSync(ownerFile(), "utf8")).toBe(owner);
      expect(statSync(lockPath()).mtimeMs).toBe(lockMtime);
      expect(fault.proxy.seen).toEqual([]);
      expect(stateFingerprint()).toBe(before);

      // The same lock, but nobody has refreshed it for 61 s: a live scimsync run refreshes it every
      // 10 s, so this holder is not a run that is working (a hung run, or the pid reused).
      const staleSince = new Date(Math.floor((Date.now() - 61_000) / 1000) * 1000);
      utimesSync(lockPath(), staleSince, staleSince);
      const next = await sync().done;
      expect(next.code, next.stderr).toBe(0);
      expect(warningsOf(next)).toContain(
        `took over a stale lock left by process ${sleeper.pid} on host ${hostname()}, last refreshed at ${staleSince.toISOString()}`,
      );
      expectSixtyOnce();
    } finally {
      sleeper.kill();
    }
  });
});

describe("plan while a sync runs", () => {
  it("given a sync holding the lock, when plan runs, then plan takes no lock, shows the plan from the last saved state, writes nothing, and the sync finishes normally", async () => {
    await syncedThirtyThenSixty();
    const hold = gate();
    let gets = 0;
    // The sync's first request waits: it holds the lock and has read the state, and writes nothing meanwhile.
    fault.proxy.decide = ({ method }) => (method === "GET" && ++gets === 1 ? { kind: "pass", until: hold.opened } : { kind: "pass" });
    const running = sync();
    await waitUntil(() => gets === 1, 30_000);
    const owner = readFileSync(ownerFile(), "utf8");
    const before = stateFingerprint();

    const plan = await runCli(["plan", "--config", ctx.ws.config, "--output", "json", "--exit-code"], ctx.env);
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.json.summary).toMatchObject({ create: 30, update: 0, suspend: 0, delete: 0 });
    expect(plan.json.summary.groups).toMatchObject({ create: 1, "add-members": 2 });
    expect(readFileSync(ownerFile(), "utf8")).toBe(owner);
    expect(stateFingerprint()).toBe(before);
    expect(stateTemps()).toEqual([]);
    expect(ctx.sandbox.requests.filter((r) => r.method !== "GET")).toEqual([]);

    hold.open();
    const done = await running.done;
    expect(done.code, done.stderr).toBe(0);
    expect(warningsOf(done).filter((w) => /lock/.test(w))).toEqual([]);
    expect(done.json.summary.create).toBe(30);
    expectSixtyOnce();
  });
});
