/**
 * Crash safety through the real CLI: `sync` is SIGKILLed at 20 moments chosen from a fixed seed,
 * spread over the phases the engine reports (`--log-format json`): reading the directory, reading
 * the target, planning, applying, and writing the state file. After each kill the state file must
 * still be readable, and the next, unkilled run must converge: every directory user and group on
 * the target exactly once, all of them in the state, and every deprovisioning timer that was
 * pending before the crash still there with the same start (so the same due dates).
 *
 * Kills are triggered on events rather than on sleeps, so each lands in the phase it aims at:
 * - reading the directory: the directory is a FIFO the test feeds by hand, so the run is blocked
 *   in the middle of its read, with part of the file received, when it is killed;
 * - reading the target / applying: the fault proxy kills the run when its n-th GET / n-th write
 *   arrives (that write still reaches the target: applied, never acknowledged);
 * - planning: on the `plan` event (a race of a few ms against a ~15 ms phase, so the phase it
 *   actually hit is recorded from the events received and the files on disk, not assumed);
 * - writing the state: on the temp file, the `.bak` or the state file appearing (fs.watch).
 * Every kill is classified afterwards by the last phase event the run printed and the files it
 * left. Kills aimed at reading the directory or the target always land there, and those aimed at
 * applying land there or in a checkpoint write; that is asserted. Planning and state-write kills
 * are races the test usually wins: where each landed is printed, and every phase must be hit.
 *
 * `CRASH_SEED=<n>` replays another schedule.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, watch, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseStateFile } from "../../src/state/schema.js";
import type { StoredState } from "../../src/core/ports.js";
import { DAY, people, runCli, startCli, useFaultProxy, useSandboxAndWorkspace, type CliResult, type DirGroup, type DirUser, type RunningCli } from "./harness.js";
import { mulberry32 } from "../support/synthetic-people.js";

const SEED = Number(process.env.CRASH_SEED ?? 20260301);
const HOUR = 3_600_000;
const MINUTE = 60_000;
const SUSPEND_AFTER = 10 * DAY;
const DELETE_AFTER = 30 * DAY;

const ctx = useSandboxAndWorkspace();
const fault = useFaultProxy(ctx);


type Phase = "read-source" | "read-target" | "plan" | "apply" | "state-write";
type StateWriteMoment = "main-temp" | "bak-temp" | "bak-renamed" | "main-renamed";
type KillAim =
  | { phase: "read-source"; bytes: number }
  | { phase: "read-target"; nthGet: number }
  | { phase: "plan" }
  /**
   * `at`: how far into the run's writes, 0 to 1; or, with `during`, the `nth` suspend or delete
   * (the cycle with that kill is the one where the setup's leavers fall due).
   */
  | { phase: "apply"; at: number; during?: { op: "suspend" | "delete"; nth: number } }
  | { phase: "state-write"; save: "before-apply" | "final"; moment: StateWriteMoment };

/** 4 + 3 + 3 + 6 + 4 kills, in an order and with parameters drawn from the seed. */
function killSchedule(seed: number): KillAim[] {
  // Seeded, so one seed always gives the same kill schedule.
  const random = mulberry32(seed);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const phases: Phase[] = [
    ...Array<Phase>(4).fill("read-source"),
    ...Array<Phase>(3).fill("read-target"),
    ...Array<Phase>(3).fill("plan"),
    ...Array<Phase>(6).fill("apply"),
    ...Array<Phase>(4).fill("state-write"),
  ];
  const shuffle = <T,>(items: T[]): T[] => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  };
  shuffle(phases);
  // Each of the four moments of a state write once, before applying or at the end as drawn.
  const moments = shuffle<StateWriteMoment>(["main-temp", "bak-temp", "bak-renamed", "main-renamed"]);
  // The first two apply kills land among the ten suspends and the ten deletes that fall due.
  const deprovisioning: Array<"suspend" | "delete"> = ["delete", "suspend"];
  return phases.map((phase): KillAim => {
    switch (phase) {
      case "read-source":
        return { phase, bytes: 1000 + Math.floor(random() * 30_000) };
      case "read-target":
        return { phase, nthGet: 1 + Math.floor(random() * 3) };
      case "plan":
        return { phase };
      case "apply": {
        const op = deprovisioning.pop();
        return op ? { phase, at: 0, during: { op, nth: 1 + Math.floor(random() * 9) } } : { phase, at: random() };
      }
      case "state-write":
        return { phase, save: pick(["before-apply", "final"] as const), moment: moments.pop()! };
    }
  });
}

// ---- The directory over time ----------------------------------------------------------------

const BASE_USERS = 200;
const CYCLES = 20;
/** Leavers whose timers start in the setup runs: deleted during the cycles (B), suspended during them (A), pending throughout (C). */
const SET_B = range(191, 200).map((n) => `u-${n}`);
const SET_A = range(181, 190).map((n) => `u-${n}`);
const SET_C = range(171, 180).map((n) => `u-${n}`);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const numberOf = (id: string) => Number(id.slice(2));

/**
 * The directory as it stands in cycle `cycle` (-1: before the cycles), with `gone` the setup
 * leavers already removed. Each cycle: two base users leave, four people join (into their team
 * and a new group of the cycle), an eighth of the base users get a new title, and one team is
 * renamed: some 25 to 35 writes per cycle.
 */
function directoryAt(cycle: number, gone: readonly string[]): { users: DirUser[]; groups: DirGroup[] } {
  const leftInCycles = new Set(range(0, cycle).flatMap((j) => [`u-${2 * j + 1}`, `u-${2 * j + 2}`]));
  const removed = new Set([...gone, ...leftInCycles]);
  const titled = (n: number) => {
    let title = "Engineer";
    for (let j = 0; j <= cycle; j++) if (n % 8 === j % 8) title = `Engineer c${j}`;
    return title;
  };
  const base = people(BASE_USERS)
    .filter((u) => !removed.has(u.id))
    .map((u) => ({ ...u, title: titled(numberOf(u.id)) }));
  const joiners = range(0, cycle).flatMap((j) =>
    range(1, 4).map((k) => ({
      ...people(1, 1000 + j * 10 + k)[0]!,
      id: `n-${j}-${k}`,
      userName: `joiner${j}-${k}@example.com`,
      email: `joiner${j}-${k}@example.com`,
    })),
  );
  const teamOf = (u: DirUser) => (u.id.startsWith("n-") ? Number(u.id.split("-")[1]) % 10 : numberOf(u.id) % 10);
  const users = [...base, ...joiners];
  const groups: DirGroup[] = range(0, 9).map((k) => {
    let displayName = `Team ${k}`;
    for (let j = 0; j <= cycle; j++) if (j % 10 === k) displayName = `Team ${k} v${j}`;
    return { id: `g-team-${k}`, displayName, members: users.filter((u) => teamOf(u) === k).map((u) => u.id) };
  });
  for (const j of range(0, cycle)) {
    groups.push({ id: `g-cycle-${j}`, displayName: `Cycle ${j}`, members: joiners.filter((u) => u.id.startsWith(`n-${j}-`)).map((u) => u.id) });
  }
  return { users, groups };
}

// ---- Running and killing ---------------------------------------------------------------------

interface LogLine {
  event: string;
  phase?: string;
  done?: number;
  total?: number;
  message?: string;
  level?: string;
}

function logLines(stderr: string): LogLine[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
}

const warningsOf = (r: CliResult) => logLines(r.stderr).filter((l) => l.event === "warning").map((l) => l.message ?? "");

/** Calls `onLine` for each NDJSON line the run prints on stderr, as it prints it. */
function followLog(run: RunningCli, onLine: (line: LogLine) => void): void {
  let buffer = "";
  run.child.stderr!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith("{")) onLine(JSON.parse(line) as LogLine);
    }
  });
}

const isStateTemp = (name: string) => /^scimsync\.state\.json(\.bak)?\.\d+\.[0-9a-f]{12}\.tmp$/.test(name);

/** Where a kill actually landed, from what the run printed and left on disk. */
interface KillRecord {
  index: number;
  aim: KillAim;
  /** The phase named by the last phase event the run printed; state-write when it left a temp file or replaced a file. */
  hit: Phase;
  detail: string;
  pid: number;
  timersChecked: number;
  /** Runs that finished before their kill landed (retried). */
  misses: number;
}

function describeAim(aim: KillAim): string {
  if (aim.phase === "state-write") return `state-write/${aim.save}/${aim.moment}`;
  if (aim.phase === "apply" && aim.during) return `apply/${aim.during.op} #${aim.during.nth}`;
  return aim.phase;
}

function stateOnDisk(path: string): StoredState {
  const parsed = parseStateFile(readFileSync(path, "utf8"));
  if (parsed.kind !== "ok") throw new Error(`state file unreadable: ${JSON.stringify(parsed)}`);
  return parsed.state;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const serialOf = (path: string) => (existsSync(path) ? (parseStateFile(readFileSync(path, "utf8")) as { state?: StoredState }).state?.serial : undefined);

describe("sync killed at random moments", () => {
  it(
    "given pending deprovisioning timers, when sync is SIGKILLed 20 times across its phases, then the state stays readable, each next run converges without duplicates and no timer is lost or restarted",
    async () => {
      const schedule = killSchedule(SEED);
      const started = Date.now();
      const ws = ctx.ws;
      const now = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
      const crashAt = (i: number) => now - 2 * DAY + i * HOUR;
      const convergeAt = (i: number) => crashAt(i) + 30 * MINUTE;
      const dueCycle = (op: "suspend" | "delete") => schedule.findIndex((a) => a.phase === "apply" && a.during?.op === op);
      const sinceB = crashAt(dueCycle("delete")) - DELETE_AFTER - 10 * MINUTE; // B's deletes fall due just before that cycle
      const sinceA = crashAt(dueCycle("suspend")) - SUSPEND_AFTER - 10 * MINUTE; // A's suspends too
      const sinceC = crashAt(0) - DAY; // C stays pending throughout
      const iso = (ms: number) => new Date(ms).toISOString();

      const policy = [
        "provisionGroups: all",
        "deprovision:",
        `  deleted: { suspend: ${SUSPEND_AFTER / DAY}d, delete: ${DELETE_AFTER / DAY}d }`,
        "safety: { maxDeprovisions: 1000, maxDeprovisionPercent: 100 }",
      ].join("\n");
      const config = (name: string, directory: string, concurrency: number) =>
        writeFileSync(
          join(ws.dir, name),
          [
            `source: { type: file, path: ./${directory} }`,
            "target:",
            `  url: ${fault.proxy.baseUrl}`,
            '  token: "${env:SCIM_TOKEN}"',
            "  rateLimit: 0",
            `  concurrency: ${concurrency}`,
            "state: { path: ./scimsync.state.json }",
            policy,
          ].join("\n"),
        );
      // Crashing runs apply slowly (two writes at a time, each delayed) so the kill moments spread over a run of a second or two.
      config("crash.yaml", "directory.json", 2);
      config("crash-fifo.yaml", "directory-fifo.json", 2);
      config("converge.yaml", "directory.json", 8);
      const fifo = join(ws.dir, "directory-fifo.json");
      execFileSync("mkfifo", [fifo]);
      const lockPath = `${ws.state}.lock`;

      const sync = (configName: string, at: number) =>
        runCli(["sync", "--config", join(ws.dir, configName), "--output", "json", "--log-format", "json", "--now", iso(at)], ctx.env, 90_000);

      // An account scimsync does not manage: it must come through every crash untouched.
      const foreign = await fetch(`${ctx.sandbox.baseUrl}/Users`, {
        method: "POST",
        headers: { authorization: `Bearer ${ctx.sandbox.token}`, "content-type": "application/scim+json" },
        body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "local-admin@example.com", active: true }),
      });
      expect(foreign.status).toBe(201);
      const foreignId = ((await foreign.json()) as { id: string }).id;

      // ---- Setup: everyone provisioned, then three sets of leavers whose timers start at known times.
      /** source id -> ISO time its `deleted` condition started; the model every state is checked against. */
      const timers = new Map<string, string>();
      const setupSteps: Array<{ at: number; gone: string[] }> = [
        { at: sinceB - DAY, gone: [] },
        { at: sinceB, gone: SET_B },
        { at: sinceA, gone: [...SET_B, ...SET_A] },
        { at: sinceC, gone: [...SET_B, ...SET_A, ...SET_C] },
      ];
      for (const step of setupSteps) {
        const dir = directoryAt(-1, step.gone);
        await ws.writeDirectory(dir.users, dir.groups);
        const r = await sync("converge.yaml", step.at);
        expect(r.code, r.stderr).toBe(0);
        for (const id of step.gone) if (!timers.has(id)) timers.set(id, iso(step.at));
      }
      const gone = setupSteps.at(-1)!.gone;
      const afterSetup = stateOnDisk(ws.state);
      for (const [id, since] of timers) expect(afterSetup.users[id]?.conditions.deleted, id).toBe(since);
      expect(SET_B.every((id) => afterSetup.users[id]?.suspendedAt !== undefined)).toBe(true);

      const setupMs = Date.now() - started;
      const records: KillRecord[] = [];

      for (const [index, aim] of schedule.entries()) {
        const label = `kill #${index} (seed ${SEED}, aim ${JSON.stringify(aim)})`;
        const dir = directoryAt(index, gone);
        await ws.writeDirectory(dir.users, dir.groups);
        // A lower bound of this cycle's writes: the title changes and the four creates.
        const previous = new Map(directoryAt(index - 1, gone).users.map((u) => [u.id, u.title]));
        const leastWrites = dir.users.filter((u) => previous.has(u.id) && previous.get(u.id) !== u.title).length + 4;
        const nthWrite = aim.phase === "apply" ? 1 + Math.floor(aim.at * (leastWrites - 1)) : 0;
        /**
         * One run aimed at the kill. A plan or state-write kill can come too late when the run
         * outpaces the test (it then simply finishes): that is retried, up to twice, and counted.
         */
        const attempt = async () => {
          const before = stateOnDisk(ws.state);
          const seenBefore = fault.proxy.seen.length;
          let gets = 0;
          let writes = 0;
          let killed = false;
          let run: RunningCli | undefined;
          const kill = () => {
            if (killed || !run) return;
            killed = true;
            run.child.kill("SIGKILL");
          };
          let deprovisions = 0;
          fault.proxy.decide = ({ method, body }) => {
            if (method === "GET") {
              gets++;
              if (aim.phase === "read-target" && gets === aim.nthGet) kill();
              return { kind: "pass" };
            }
            writes++;
            if (aim.phase === "apply" && !aim.during && writes === nthWrite) kill();
            const op = method === "DELETE" ? "delete" : method === "PATCH" && /"active"/.test(body) ? "suspend" : undefined;
            if (op && aim.phase === "apply" && aim.during?.op === op && ++deprovisions === aim.during.nth) kill();
            return { kind: "pass", delayMs: 10 };
          };

          // Read-write, so neither side blocks opening it; the run then blocks reading until EOF, which never comes.
          const fifoFd = aim.phase === "read-source" ? openSync(fifo, constants.O_RDWR) : undefined;
          let applied = false;
          const watcher =
            aim.phase === "state-write"
              ? watch(ws.dir, (_type, name) => {
                  // The first write of a run is the one before applying; the final one follows the last action.
                  if (!name || (aim.save === "final" && !applied)) return;
                  const matches =
                    aim.moment === "main-temp"
                      ? /^scimsync\.state\.json\.\d+\.[0-9a-f]{12}\.tmp$/.test(name)
                      : aim.moment === "bak-temp"
                        ? /^scimsync\.state\.json\.bak\.\d+\.[0-9a-f]{12}\.tmp$/.test(name)
                        : aim.moment === "bak-renamed"
                          ? name === "scimsync.state.json.bak"
                          : name === "scimsync.state.json";
                  if (matches) kill();
                })
              : undefined;

          run = startCli(
            ["sync", "--config", join(ws.dir, aim.phase === "read-source" ? "crash-fifo.yaml" : "crash.yaml"), "--output", "json", "--log-format", "json", "--now", iso(crashAt(index))],
            ctx.env,
            90_000,
          );
          const pid = run.child.pid!;
          followLog(run, (line) => {
            if (line.event === "apply-progress" && line.done === line.total) applied = true;
            if (line.event !== "phase") return;
            if (aim.phase === "read-source" && line.phase === "read-source") {
              const text = JSON.stringify(dir, null, 2);
              // Part of the directory, then the kill while the run waits for the rest.
              writeSync(fifoFd!, text.slice(0, Math.min(aim.bytes, text.length - 1)));
              setTimeout(kill, 50);
            }
            if (aim.phase === "plan" && line.phase === "plan") kill();
          });
          const result = await run.done;
          watcher?.close();
          if (fifoFd !== undefined) closeSync(fifoFd);
          return { killed, result, pid, before, writes, targetRequests: fault.proxy.seen.length - seenBefore };
        };
        let outcome = await attempt();
        let misses = 0;
        while (!outcome.killed) {
          expect(outcome.result.code, `${label}: a run that outran its kill\n${outcome.result.stderr}`).toBe(0);
          expect(++misses, `${label}: the kill missed ${misses} times`).toBeLessThan(3);
          outcome = await attempt();
        }
        const { result: crashed, pid, before, writes, targetRequests } = outcome;
        expect(crashed.code, label).toBe(-1); // killed by a signal
        const saves = logLines(crashed.stderr).filter((l) => l.event === "phase" && l.phase === "save-state").length;

        // ---- Where did it land?
        const printed = logLines(crashed.stderr).filter((l) => l.event === "phase").map((l) => l.phase!);
        const last = printed.at(-1);
        const temps = readdirSync(ws.dir).filter(isStateTemp);
        const tempsAfterKill = [...temps];
        const serialAfter = serialOf(ws.state);
        const bakSerial = serialOf(`${ws.state}.bak`);
        let hit: Phase;
        let detail: string;
        if (temps.length > 0) {
          hit = "state-write";
          detail = `left ${temps.map((t) => (t.includes(".bak.") ? "bak-temp" : "main-temp")).join("+")}; state serial ${before.serial} -> ${serialAfter}, .bak serial ${bakSerial}`;
        } else if (last === "save-state") {
          hit = "state-write";
          detail = `after ${printed.length} phase events; state serial ${before.serial} -> ${serialAfter}, .bak serial ${bakSerial}`;
        } else if (last === "read-source" || last === "read-target" || last === "plan" || last === "apply") {
          hit = last;
          detail = `${targetRequests} requests (${writes} writes) reached the target`;
        } else {
          throw new Error(`${label}: killed before the first phase event`);
        }
        if (aim.phase === "read-source" || aim.phase === "read-target") expect(hit, label).toBe(aim.phase);
        if (aim.phase === "apply") expect(hit === "apply" || (hit === "state-write" && last === "apply"), `${label}: hit ${hit}`).toBe(true);
        if (hit === "read-source") expect(targetRequests, `${label}: no request may precede the directory read`).toBe(0);
        if (hit === "read-source" || hit === "read-target" || hit === "plan") {
          expect(writes, label).toBe(0);
          expect(serialAfter, `${label}: the state is written only after planning`).toBe(before.serial);
        }

        // ---- The state after the kill: readable, holding every timer it held before.
        const killedState = parseStateFile(readFileSync(ws.state, "utf8"));
        expect(killedState.kind, `${label}: the state file after the kill`).toBe("ok");
        const afterKill = (killedState as { state: StoredState }).state;
        let timersChecked = 0;
        let onTarget: Set<unknown> | undefined;
        for (const [id, since] of timers) {
          const record = afterKill.users[id];
          if (!record) {
            // Only a user whose delete fell due may be gone, and only once the target no longer has it.
            expect(Date.parse(since) + DELETE_AFTER, `${label}: ${id} vanished from the state`).toBeLessThanOrEqual(crashAt(index));
            onTarget ??= new Set(ctx.sandbox.users().map((u) => u.externalId));
            expect(onTarget.has(id), `${label}: ${id} dropped from the state but still on the target`).toBe(false);
            continue;
          }
          expect(record.conditions.deleted, `${label}: timer of ${id} after the kill`).toBe(since);
          timersChecked++;
        }
        // The lock is left behind, naming the dead run; only a kill after the final save can come after its release.
        const lockLeft = existsSync(lockPath);
        if (lockLeft) expect(JSON.parse(readFileSync(join(lockPath, "owner.json"), "utf8")).pid, label).toBe(pid);
        else expect(saves, `${label}: lock gone before the final save`).toBe(2);
        if (!lockLeft) detail += "; killed after releasing the lock";

        // ---- The next run, not killed, converges.
        fault.proxy.decide = () => ({ kind: "pass" });
        const requestsBefore = ctx.sandbox.requests.length;
        const next = await sync("converge.yaml", convergeAt(index));
        const nextWarnings = warningsOf(next);
        expect(next.code, `${label}: the run after the kill\n${next.stderr}`).toBe(0);
        expect(next.json.result).toBe("ok");
        expect(next.json.stateSaved).toBe(true);
        if (lockLeft) expect(nextWarnings, label).toContain(`took over a lock left by process ${pid}, which is no longer running`);
        expect(nextWarnings.filter((w) => /damaged|backup/.test(w)), label).toEqual([]);
        // It never tried to create something that exists: no 409 from the target.
        expect(ctx.sandbox.requests.slice(requestsBefore).filter((r) => r.status === 409), label).toEqual([]);

        // New leavers of this cycle: their timer started with the killed run if it saved it, otherwise now.
        for (const id of [`u-${2 * index + 1}`, `u-${2 * index + 2}`]) {
          timers.set(id, afterKill.users[id]?.conditions.deleted ?? iso(convergeAt(index)));
        }
        timersChecked += assertConverged({ label, at: convergeAt(index), directory: dir, timers, foreignId });
        expect(existsSync(lockPath), `${label}: lock released`).toBe(false);
        expect(readdirSync(ws.dir).filter(isStateTemp), `${label}: temp files cleaned up (killed ${pid}, ${detail}, temps after kill ${JSON.stringify(tempsAfterKill)}; next run: ${next.stderr})`).toEqual([]);

        records.push({ index, aim, hit, detail, pid, timersChecked, misses });
      }

      // The product agrees nothing is left to do.
      const last = await runCli(["plan", "--config", join(ws.dir, "converge.yaml"), "--output", "json", "--exit-code", "--now", iso(convergeAt(CYCLES - 1))], ctx.env);
      expect(last.code, last.stderr).toBe(0);
      expect(last.json.actions).toEqual([]);

      const byPhase = new Map<Phase, number>();
      for (const r of records) byPhase.set(r.hit, (byPhase.get(r.hit) ?? 0) + 1);
      console.log(
        [
          `seed ${SEED}: ${records.length} kills; by phase hit: ${[...byPhase].map(([p, n]) => `${p} ${n}`).join(", ")}`,
          ...records.map((r) => `  #${r.index} aim ${describeAim(r.aim)} -> hit ${r.hit} (${r.detail}); converged by the next run, ${r.timersChecked} timer checks${r.misses ? `, ${r.misses} run(s) outran the kill` : ""}`),
          `timer checks in all: ${records.reduce((n, r) => n + r.timersChecked, 0)}; setup ${setupMs} ms, in all ${Date.now() - started} ms`,
        ].join("\n"),
      );
      expect(records).toHaveLength(CYCLES);
      // Each phase the schedule aims at was reached by at least one kill.
      for (const phase of ["read-source", "read-target", "plan", "apply", "state-write"] as const) {
        expect(byPhase.get(phase) ?? 0, `kills that hit ${phase}`).toBeGreaterThan(0);
      }
    },
    300_000,
  );

  /**
   * SIGKILL never leaves a torn state file (nothing is written in place), so the kills above never
   * reach the `.bak`. A torn file does come from outside the process: a machine crash on a file
   * system that does not order the data before the rename, a disk error, a bad restore. Here the
   * file is torn by hand after a kill, to check the fallback a kill alone cannot reach.
   */
  it("given a kill while applying and then a torn state file, when sync runs, then it uses the .bak with a warning, converges without duplicates and keeps the .bak's timers", async () => {
    const ws = ctx.ws;
    const now = Math.floor(Date.now() / MINUTE) * MINUTE - MINUTE;
    const at = (hoursAgo: number) => new Date(now - hoursAgo * HOUR).toISOString();
    await ws.writeConfig(
      [
        "source: { type: file, path: ./directory.json }",
        "target:",
        `  url: ${fault.proxy.baseUrl}`,
        '  token: "${env:SCIM_TOKEN}"',
        "  rateLimit: 0",
        "  concurrency: 2",
        "state: { path: ./scimsync.state.json }",
        "deprovision:",
        "  deleted: { suspend: 10d, delete: 30d }",
        "safety: { maxDeprovisions: 1000, maxDeprovisionPercent: 100 }",
      ].join("\n"),
    );
    const everyone = people(60);
    await ws.writeDirectory(everyone.slice(0, 40));
    expect((await runCli(["sync", "--config", ws.config, "--now", at(48)], ctx.env)).code).toBe(0);
    await ws.writeDirectory(everyone.slice(0, 35)); // five leave: their timers start now
    expect((await runCli(["sync", "--config", ws.config, "--now", at(24)], ctx.env)).code).toBe(0);
    const timersBefore = stateOnDisk(ws.state).users;
    for (const u of everyone.slice(35, 40)) expect(timersBefore[u.id]?.conditions.deleted).toBe(at(24));

    // Twenty join; the run dies after its eighth create.
    await ws.writeDirectory([...everyone.slice(0, 35), ...everyone.slice(40, 60)]);
    let posts = 0;
    let run: RunningCli | undefined;
    fault.proxy.decide = ({ method }) => {
      if (method === "POST" && ++posts === 8) run!.child.kill("SIGKILL");
      return { kind: "pass", delayMs: 10 };
    };
    run = startCli(["sync", "--config", ws.config, "--now", at(2)], ctx.env);
    expect((await run.done).code).toBe(-1);
    const bak = readFileSync(`${ws.state}.bak`, "utf8");
    expect(parseStateFile(bak).kind).toBe("ok");
    const bakSerial = (parseStateFile(bak) as { state: StoredState }).state.serial;
    const text = readFileSync(ws.state, "utf8");
    writeFileSync(ws.state, text.slice(0, Math.floor(text.length / 2)));

    fault.proxy.decide = () => ({ kind: "pass" });
    const requestsBefore = ctx.sandbox.requests.length;
    const next = await runCli(["sync", "--config", ws.config, "--output", "json", "--log-format", "json", "--now", at(1)], ctx.env);
    expect(next.code, next.stderr).toBe(0);
    const damaged = warningsOf(next).filter((w) => w.includes("damaged"));
    expect(damaged).toEqual([
      expect.stringMatching(
        new RegExp(`^state file ${escape(ws.state)} is damaged \\(not valid JSON: .+\\); using the backup ${escape(ws.state)}\\.bak from serial ${bakSerial}$`),
      ),
    ]);
    // The accounts the killed run created are not in the .bak: they are found and adopted, never posted again.
    expect(ctx.sandbox.requests.slice(requestsBefore).filter((r) => r.status === 409)).toEqual([]);
    const userNames = ctx.sandbox.users().map((u) => String(u.userName));
    expect(userNames).toHaveLength(60);
    expect(new Set(userNames).size).toBe(60);
    const state = stateOnDisk(ws.state);
    expect(Object.keys(state.users)).toHaveLength(60);
    for (const u of everyone.slice(35, 40)) expect(state.users[u.id]?.conditions.deleted, u.id).toBe(at(24));
    // The torn file never became the backup.
    expect(parseStateFile(readFileSync(`${ws.state}.bak`, "utf8")).kind).toBe("ok");
  });

  /**
   * The checks after every converging run. Returns how many timers it compared.
   * - every directory user exactly once on the target (userName and externalId unique), active,
   *   with this cycle's title; every directory group once, with exactly its directory members;
   * - every leaver per the model: pending (active, timer unchanged), suspended, or deleted when due;
   * - the state maps every managed target resource and nothing else; the foreign account is untouched.
   */
  function assertConverged(input: { label: string; at: number; directory: { users: DirUser[]; groups: DirGroup[] }; timers: Map<string, string>; foreignId: string }): number {
    const { label, at, directory } = input;
    const state = stateOnDisk(ctx.ws.state);
    const targetUsers = ctx.sandbox.users() as Array<Record<string, any>>;
    const targetGroups = ctx.sandbox.groups() as Array<Record<string, any>>;

    const userNames = targetUsers.map((u) => String(u.userName).toLowerCase());
    expect(userNames.length - new Set(userNames).size, `${label}: duplicate userNames`).toBe(0);
    const externalIds = targetUsers.map((u) => u.externalId).filter((x) => x !== undefined);
    expect(externalIds.length - new Set(externalIds).size, `${label}: duplicate externalIds`).toBe(0);
    const groupNames = targetGroups.map((g) => String(g.displayName).toLowerCase());
    expect(groupNames.length - new Set(groupNames).size, `${label}: duplicate group names`).toBe(0);

    const byId = new Map(targetUsers.map((u) => [String(u.id), u]));
    const expectedIds = new Set<string>();
    for (const u of directory.users) {
      const record = state.users[u.id];
      expect(record, `${label}: ${u.id} in the state`).toBeDefined();
      const account = byId.get(record!.targetId);
      expect(account, `${label}: ${u.id}'s account`).toBeDefined();
      expect({ userName: account!.userName, externalId: account!.externalId, active: account!.active, title: account!.title }, label).toEqual({
        userName: u.userName,
        externalId: u.id,
        active: true,
        title: u.title,
      });
      expect(record!.conditions, `${label}: ${u.id} has no timer`).toEqual({});
      expectedIds.add(record!.targetId);
    }

    let checked = 0;
    const inDirectory = new Set(directory.users.map((u) => u.id));
    for (const [id, since] of input.timers) {
      expect(inDirectory.has(id), `${label}: ${id} is a leaver`).toBe(false);
      const start = Date.parse(since);
      const record = state.users[id];
      if (at >= start + DELETE_AFTER) {
        expect(record, `${label}: ${id} deleted when due`).toBeUndefined();
        expect(targetUsers.some((u) => u.externalId === id), `${label}: ${id} gone from the target`).toBe(false);
        continue;
      }
      expect(record?.conditions.deleted, `${label}: timer of ${id} (not lost, not restarted)`).toBe(since);
      checked++;
      const account = byId.get(record!.targetId);
      expect(account?.externalId, `${label}: ${id}'s account`).toBe(id);
      expect(account!.active, `${label}: ${id} suspended iff due (${since} + 10d vs ${new Date(at).toISOString()})`).toBe(at < start + SUSPEND_AFTER);
      expectedIds.add(record!.targetId);
    }
    expect(Object.keys(state.users).sort(), `${label}: the state holds exactly the directory users and pending leavers`).toEqual(
      [...inDirectory, ...[...input.timers].filter(([, since]) => at < Date.parse(since) + DELETE_AFTER).map(([id]) => id)].sort(),
    );

    const foreign = byId.get(input.foreignId);
    expect(foreign, label).toMatchObject({ userName: "local-admin@example.com", active: true });
    expect(new Set(targetUsers.map((u) => String(u.id))), `${label}: the target holds exactly the managed accounts and the foreign one`).toEqual(
      new Set([...expectedIds, input.foreignId]),
    );

    // Groups: each directory group once, recorded in the state, with its members' accounts. A
    // leaver keeps their memberships until the account is suspended (as the planner documents:
    // permissions go with the account, not faster), so active leavers stay in their old team.
    const groupById = new Map(targetGroups.map((g) => [String(g.id), g]));
    expect(Object.keys(state.groups).sort(), label).toEqual(directory.groups.map((g) => g.id).sort());
    for (const g of directory.groups) {
      const record = state.groups[g.id]!;
      const group = groupById.get(record.targetId);
      expect(group?.displayName, `${label}: group ${g.id}`).toBe(g.displayName);
      const members = ((group!.members ?? []) as Array<{ value: string }>).map((m) => m.value).sort();
      const stayingLeavers = [...input.timers]
        .filter(([id, since]) => g.id === `g-team-${numberOf(id) % 10}` && at < Date.parse(since) + SUSPEND_AFTER)
        .map(([id]) => id);
      expect(members, `${label}: members of ${g.displayName}`).toEqual([...g.members, ...stayingLeavers].map((id) => state.users[id]!.targetId).sort());
    }
    expect(targetGroups).toHaveLength(directory.groups.length);
    return checked;
  }
});
