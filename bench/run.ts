/**
 * `npm run bench`: scimsync against a local SCIM target with injected latency, in one process
 * run, and whether the performance targets are met. Not part of `npm test`.
 *
 * Scenarios (each can be picked with --only):
 *   initial        initial sync of --users users and --groups groups, --latency ms per request,
 *                  --concurrency requests in flight
 *   unchanged      a second run of the same, nothing changed
 *   big-unchanged  an unchanged run of --big-users users (prepared by a real initial sync at
 *                  0 ms latency, reported as big-initial)
 *   big-state      loading and saving that run's state file with FileStateStore
 *   rate-limit     an initial sync with target.rateLimit --rate-limit against a target that
 *                  enforces the same rate (429 beyond it)
 *
 * The scimsync runs are child processes (bin/scimsync.js over dist/); the target runs in this
 * process, which does nothing else meanwhile, so the two use separate CPUs where there are two.
 * The target costs about 0.2-0.3 ms of CPU per request (measured: "target CPU"), a quarter of
 * a core at most, so a worker or a process of its own would add plumbing for nothing.
 * The enforcing target of rate-limit is a token bucket of --target-burst (one second's worth
 * by default): any window of T seconds may see burst + rate x T requests, as scimsync's own
 * limiter allows.
 * Prints a table and writes bench/results.json (or --out).
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { cpus, loadavg, platform, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { describeDirectory, generateDirectory, type DirectoryFacts } from "./generate.ts";
import { startBenchTarget, type BenchTarget } from "./target.ts";
import { makeWorkspace, runSync, writeConfig, type ClientSettings, type SyncMeasurement, type Workspace } from "./sync-run.ts";
import { fmt, judge, type ScenarioFigures, type Verdict } from "./verdicts.ts";

const ROOT = resolve(import.meta.dirname, "..");
const execFileAsync = promisify(execFile);
const SCENARIOS = ["initial", "unchanged", "big-unchanged", "big-state", "rate-limit"] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const MB = 1024 * 1024;

const USAGE = `Usage: npm run bench -- [options]
  --users N            users of the initial and unchanged scenarios (default 10000)
  --groups N           groups of those (default 200)
  --big-users N        users of big-unchanged and big-state (default 100000)
  --big-groups N       groups of those (default 2000)
  --rate-users N       users of rate-limit (default 600)
  --rate-groups N      groups of rate-limit (default 12)
  --latency MS         latency the target adds to every answer (default 20)
  --big-latency MS     latency for big-unchanged (default: --latency)
  --concurrency N      target.concurrency (default 16)
  --page-size N        target.pageSize (default 100)
  --members-per-patch N  target.maxMembersPerPatch (default 100)
  --rate-limit N       target.rateLimit of rate-limit, and the rate the target enforces (default 25)
  --target-burst N     requests the enforcing target accepts at once after an idle spell (default: --rate-limit)
  --seed N             seed of the generated directories (default 1)
  --only LIST          comma-separated scenarios: ${SCENARIOS.join(", ")}
  --quick              tiny sizes: a smoke test that finishes in seconds
  --out FILE           where to write the results (default bench/results.json)
  --keep               keep the work directory (directories, configs, state files)
`;

interface Parameters {
  users: number;
  groups: number;
  bigUsers: number;
  bigGroups: number;
  rateUsers: number;
  rateGroups: number;
  latencyMs: number;
  bigLatencyMs: number;
  concurrency: number;
  pageSize: number;
  membersPerPatch: number;
  rateLimit: number;
  targetBurst: number;
  seed: number;
  quick: boolean;
}

class UsageError extends Error {}

function readParameters(): { parameters: Parameters; only: Set<ScenarioName>; out: string; keep: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        users: { type: "string" },
        groups: { type: "string" },
        "big-users": { type: "string" },
        "big-groups": { type: "string" },
        "rate-users": { type: "string" },
        "rate-groups": { type: "string" },
        latency: { type: "string" },
        "big-latency": { type: "string" },
        concurrency: { type: "string" },
        "page-size": { type: "string" },
        "members-per-patch": { type: "string" },
        "rate-limit": { type: "string" },
        "target-burst": { type: "string" },
        seed: { type: "string" },
        only: { type: "string", multiple: true },
        quick: { type: "boolean", default: false },
        out: { type: "string" },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const number = (name: string, raw: string | undefined, fallback: number, min = 0): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new UsageError(`--${name} must be a number >= ${min}, got ${raw}`);
    return value;
  };
  const latencyMs = number("latency", values.latency, 20);
  const rateLimit = number("rate-limit", values["rate-limit"], 25, 1);
  const parameters: Parameters = {
    users: number("users", values.users, quick ? 300 : 10_000, 1),
    groups: number("groups", values.groups, quick ? 6 : 200),
    bigUsers: number("big-users", values["big-users"], quick ? 2000 : 100_000, 1),
    bigGroups: number("big-groups", values["big-groups"], quick ? 40 : 2000),
    rateUsers: number("rate-users", values["rate-users"], quick ? 60 : 600, 1),
    rateGroups: number("rate-groups", values["rate-groups"], quick ? 2 : 12),
    latencyMs,
    bigLatencyMs: number("big-latency", values["big-latency"], latencyMs),
    concurrency: number("concurrency", values.concurrency, 16, 1),
    pageSize: number("page-size", values["page-size"], 100, 1),
    membersPerPatch: number("members-per-patch", values["members-per-patch"], 100, 1),
    rateLimit,
    targetBurst: number("target-burst", values["target-burst"], rateLimit, 1),
    seed: number("seed", values.seed, 1),
    quick,
  };
  const picked = (values.only ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  for (const name of picked) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`--only: unknown scenario ${name}; use ${SCENARIOS.join(", ")}`);
  }
  const only = new Set<ScenarioName>(picked.length > 0 ? (picked as ScenarioName[]) : SCENARIOS);
  return { parameters, only, out: resolve(values.out ?? join(ROOT, "bench", "results.json")), keep: values.keep };
}

/** One row of the results: a measured scenario, or a preparation whose figures are shown for information. */
interface ScenarioResult {
  name: string;
  role: "measured" | "preparation";
  description: string;
  users: number;
  groups: number;
  latencyMs: number;
  concurrency: number;
  clientRateLimit: number;
  targetRateLimit: number;
  directory?: DirectoryFacts;
  /** The minimum requests and what they consist of. */
  minimum?: Record<string, number>;
  minimumRequests?: number;
  listPages?: number;
  idealMs?: number;
  ratio?: number;
  achievedRate?: number;
  sync?: SyncMeasurement;
  state?: { bytes: number; loadMs: number[]; saveMs: number[]; medianLoadSaveMs: number };
  /** Whatever looked wrong: a failed run, a target that does not hold what the directory has. */
  problems: string[];
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function pages(count: number, pageSize: number): number {
  return Math.max(1, Math.ceil(count / pageSize));
}

/**
 * The fewest requests an initial sync into an empty target can make the way scimsync works:
 * one POST per user and per group (groups are created without members), the members added by
 * PATCH in chunks, one list page per resource type (the target is empty), and no discovery
 * (sync reads no /ServiceProviderConfig). `withMembersInPost` is the floor had the members
 * gone in the group's POST instead.
 */
function initialMinimum(facts: DirectoryFacts): Record<string, number> {
  const listPages = 2;
  const minimum = facts.users + facts.groups + facts.memberPatches + listPages;
  return {
    userPosts: facts.users,
    groupPosts: facts.groups,
    memberPatches: facts.memberPatches,
    listPages,
    discovery: 0,
    minimum,
    withMembersInPost: facts.users + facts.groups + listPages,
  };
}

async function prepareDataset(
  parent: string,
  name: string,
  shape: { users: number; groups: number; seed: number },
  membersPerPatch: number,
): Promise<{ ws: Workspace; facts: DirectoryFacts; largestGroupName: string | undefined; largestGroupSize: number }> {
  const ws = await makeWorkspace(parent, name);
  const started = performance.now();
  const directory = generateDirectory(shape);
  await writeFile(ws.directory, JSON.stringify(directory));
  const facts = describeDirectory(directory, membersPerPatch);
  const largest = directory.groups.reduce<{ displayName: string; members: string[] } | undefined>((a, g) => (!a || g.members.length > a.members.length ? g : a), undefined);
  const bytes = (await stat(ws.directory)).size;
  log(`${name}: ${facts.users} users, ${facts.groups} groups, ${facts.memberships} memberships (${fmt(bytes / MB, 1)} MB) in ${fmt((performance.now() - started) / 1000, 1)} s`);
  return { ws, facts, largestGroupName: largest?.displayName, largestGroupSize: largest?.members.length ?? 0 };
}

function baseResult(name: string, role: ScenarioResult["role"], description: string, facts: DirectoryFacts, latencyMs: number, client: ClientSettings, targetRateLimit: number): ScenarioResult {
  return {
    name,
    role,
    description,
    users: facts.users,
    groups: facts.groups,
    latencyMs,
    concurrency: client.concurrency,
    clientRateLimit: client.rateLimit,
    targetRateLimit,
    directory: facts,
    problems: [],
  };
}

/** Fills in the figures derived from a run: ideal time, ratio, the rate the target saw, problems. */
function derive(result: ScenarioResult, sync: SyncMeasurement): void {
  result.sync = sync;
  const requests = sync.requests.total;
  const byLatency = (requests * result.latencyMs) / result.concurrency;
  const byRate = result.clientRateLimit > 0 ? (requests / result.clientRateLimit) * 1000 : 0;
  result.idealMs = Math.max(byLatency, byRate);
  if (result.idealMs > 0) result.ratio = sync.wallMs / result.idealMs;
  const { firstAt, lastAt } = sync.requests;
  if (firstAt !== undefined && lastAt !== undefined && lastAt > firstAt) result.achievedRate = (requests - 1) / ((lastAt - firstAt) / 1000);
  if (sync.exitCode !== 0) result.problems.push(`scimsync exited ${sync.exitCode}: ${sync.stderrTail.trim().split("\n").slice(-3).join(" | ")}`);
  for (const failure of sync.failedActions) result.problems.push(`failed: ${failure}`);
  if (sync.peakRssBytes === undefined) result.problems.push("the child's resource usage was not recorded");
}

function checkContents(result: ScenarioResult, target: BenchTarget, facts: DirectoryFacts, largest: { name: string | undefined; size: number }): void {
  const contents = target.contents();
  if (contents.users !== facts.users) result.problems.push(`target holds ${contents.users} users, directory ${facts.users}`);
  if (contents.groups !== facts.groups) result.problems.push(`target holds ${contents.groups} groups, directory ${facts.groups}`);
  if (contents.memberships !== facts.memberships) result.problems.push(`target holds ${contents.memberships} memberships, directory ${facts.memberships}`);
  if (largest.name !== undefined && target.membersOf(largest.name)?.length !== largest.size) result.problems.push(`group ${largest.name} has the wrong members`);
}

function checkUnchanged(result: ScenarioResult): void {
  const sync = result.sync!;
  if (sync.requests.writes > 0) result.problems.push(`${sync.requests.writes} writes in a run with nothing changed`);
  if (sync.actions !== undefined && sync.actions > 0) result.problems.push(`planned ${sync.actions} actions with nothing changed`);
}

/** Each repetition on a fresh copy, in a process of its own (see state-timing.ts). */
async function measureStateFile(statePath: string, targetUrl: string, dir: string, repetitions: number): Promise<NonNullable<ScenarioResult["state"]>> {
  const loadMs: number[] = [];
  const saveMs: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const copyDir = join(dir, `state-copy-${i}`);
    await rm(copyDir, { recursive: true, force: true });
    await mkdir(copyDir, { recursive: true });
    const copy = join(copyDir, "scimsync.state.json");
    await copyFile(statePath, copy);
    const { stdout } = await execFileAsync(process.execPath, [join(ROOT, "bench", "state-timing.ts"), copy, targetUrl]);
    const figures = JSON.parse(stdout) as { loadMs: number; saveMs: number };
    loadMs.push(figures.loadMs);
    saveMs.push(figures.saveMs);
    await rm(copyDir, { recursive: true, force: true });
  }
  const totals = loadMs.map((l, i) => l + saveMs[i]!).sort((a, b) => a - b);
  return { bytes: (await stat(statePath)).size, loadMs, saveMs, medianLoadSaveMs: totals[Math.floor(totals.length / 2)]! };
}

async function gitCommit(): Promise<string | undefined> {
  try {
    let gitDir = join(ROOT, ".git");
    const info = await stat(gitDir);
    if (info.isFile()) gitDir = resolve(ROOT, (await readFile(gitDir, "utf8")).replace(/^gitdir:\s*/, "").trim());
    const head = (await readFile(join(gitDir, "HEAD"), "utf8")).trim();
    if (!head.startsWith("ref:")) return head;
    const ref = head.slice(4).trim();
    try {
      return (await readFile(join(gitDir, ref), "utf8")).trim();
    } catch {
      const packed = await readFile(join(gitDir, "packed-refs"), "utf8");
      return packed.split("\n").find((line) => line.endsWith(` ${ref}`))?.split(" ")[0];
    }
  } catch {
    return undefined;
  }
}

function toFigures(r: ScenarioResult): ScenarioFigures {
  // A run that failed outright, or a measurement that could not be taken, is not judged.
  const failed = r.sync ? r.sync.exitCode !== 0 : r.state === undefined;
  const figures: ScenarioFigures = { name: r.name, users: r.users, latencyMs: r.latencyMs, concurrency: r.concurrency, clientRateLimit: r.clientRateLimit, failed };
  if (r.sync) {
    figures.wallMs = r.sync.wallMs;
    figures.requests = r.sync.requests.total;
    figures.writes = r.sync.requests.writes;
    figures.tooManyRequests = r.sync.requests.tooManyRequests;
    if (r.sync.timings?.planCpuMs !== undefined) figures.planCpuMs = r.sync.timings.planCpuMs;
    if (r.sync.peakRssBytes !== undefined) figures.peakRssBytes = r.sync.peakRssBytes;
  }
  if (r.minimumRequests !== undefined) figures.minimumRequests = r.minimumRequests;
  if (r.listPages !== undefined) figures.listPages = r.listPages;
  if (r.idealMs !== undefined) figures.idealMs = r.idealMs;
  if (r.ratio !== undefined) figures.ratio = r.ratio;
  if (r.achievedRate !== undefined) figures.achievedRate = r.achievedRate;
  if (r.state) figures.stateLoadSaveMs = r.state.medianLoadSaveMs;
  return figures;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, n) => {
    const line = r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
    return n === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
  }).join("\n");
}

function render(results: ScenarioResult[], verdicts: Verdict[], p: Parameters): string {
  const header = ["scenario", "users/groups", "latency", "wall s", "requests", "minimum", "ideal s", "ratio", "plan CPU s", "client CPU s", "target CPU s", "peak RSS MB", "state MB", "in flight", "429s"];
  const rows = [header];
  for (const r of results) {
    const s = r.sync;
    const cpu = s?.clientUserCpuMs !== undefined ? s.clientUserCpuMs + (s.clientSystemCpuMs ?? 0) : undefined;
    rows.push([
      r.role === "preparation" ? `${r.name} (prep)` : r.name,
      `${r.users}/${r.groups}`,
      r.state ? "" : `${r.latencyMs} ms`,
      r.state ? fmt(r.state.medianLoadSaveMs / 1000, 3) : fmt(s && s.wallMs / 1000, 2),
      s ? String(s.requests.total) : "",
      r.minimumRequests !== undefined ? String(r.minimumRequests) : r.listPages !== undefined ? `${r.listPages} pages` : "",
      r.idealMs !== undefined ? fmt(r.idealMs / 1000, 2) : "",
      r.ratio !== undefined ? fmt(r.ratio, 2) : "",
      s ? (s.timings?.planCpuMs === undefined ? "n/a" : fmt(s.timings.planCpuMs / 1000, 3)) : "",
      cpu !== undefined ? fmt(cpu / 1000, 2) : "",
      s ? fmt(s.targetCpuMs / 1000, 2) : "",
      s?.peakRssBytes !== undefined ? fmt(s.peakRssBytes / MB, 0) : "",
      r.state ? fmt(r.state.bytes / MB, 1) : s?.stateBytes !== undefined ? fmt(s.stateBytes / MB, 1) : "",
      s ? fmt(s.requests.averageInFlight, 1) : "",
      s ? String(s.requests.tooManyRequests) : "",
    ]);
  }
  const lines = [table(rows), ""];
  for (const r of results) {
    const s = r.sync;
    if (s) {
      const t = s.timings;
      const timing = t
        ? `stateLoad ${fmt(t.stateLoadMs, 0)} ms, readSource ${fmt(t.readSourceMs, 0)} ms, readTarget ${fmt(t.readTargetMs, 0)} ms, plan ${fmt(t.planMs, 0)} ms, apply ${fmt(t.applyMs, 0)} ms, stateSave ${fmt(t.stateSaveMs, 0)} ms`
        : "timings n/a (this build reports none)";
      lines.push(`${r.name}: ${timing}`);
      const routes = Object.entries(s.requests.byRoute).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ");
      lines.push(`  requests: ${routes || "none"}; peak in flight ${s.requests.peakInFlight}, busiest second ${s.requests.busiestSecond}`);
      const clientCpu = (s.clientUserCpuMs ?? NaN) + (s.clientSystemCpuMs ?? 0);
      if (s.requests.writes > 0) {
        lines.push(`  per request: client CPU ${fmt(clientCpu / s.requests.total, 3)} ms, target CPU ${fmt(s.targetCpuMs / s.requests.total, 3)} ms (whole run, startup included)`);
      }
      if (r.achievedRate !== undefined && r.clientRateLimit > 0) lines.push(`  rate at the target: ${fmt(r.achievedRate, 2)}/s (limit ${r.clientRateLimit}/s, enforced ${r.targetRateLimit}/s)`);
      if (r.minimum) lines.push(`  minimum: ${Object.entries(r.minimum).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      if (r.listPages !== undefined && r.latencyMs > 0) {
        lines.push(`  list pages are read one after another: their own floor is ${r.listPages} x ${r.latencyMs} ms = ${fmt((r.listPages * r.latencyMs) / 1000, 2)} s`);
      }
    }
    if (r.state) lines.push(`${r.name}: load ${r.state.loadMs.map((v) => fmt(v, 0)).join("/")} ms, save ${r.state.saveMs.map((v) => fmt(v, 0)).join("/")} ms, ${fmt(r.state.bytes / MB, 1)} MB`);
    for (const p of r.problems) lines.push(`  PROBLEM: ${p}`);
  }
  lines.push("", "Targets:");
  if (p.quick) lines.push("  (--quick: tiny sizes for a smoke test; startup dominates, so these verdicts say nothing about the targets)");
  for (const v of verdicts) {
    const mark = v.met === null ? "NOT MEASURED" : v.met ? "MET" : "NOT MET";
    lines.push(`  ${v.id}. [${mark}] ${v.target}`, `       ${v.measured}${v.limit ? ` (limit ${v.limit})` : ""}`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { parameters: p, only, out, keep } = readParameters();
  const began = performance.now();
  const startedAt = new Date().toISOString();
  // Other work on the machine skews every figure; the load averages show how busy it was.
  const loadBefore = loadavg();
  const work = await mkdtemp(join(tmpdir(), "scimsync-bench-"));
  log(`work directory ${work}`);
  const results: ScenarioResult[] = [];
  const client: ClientSettings = { concurrency: p.concurrency, rateLimit: 0, pageSize: p.pageSize, maxMembersPerPatch: p.membersPerPatch };
  // A run should never take this long; a stuck one is killed and reported as failed.
  const timeoutMs = 30 * 60_000;

  try {
    if (only.has("initial") || only.has("unchanged")) {
      const data = await prepareDataset(work, "small", { users: p.users, groups: p.groups, seed: p.seed }, p.membersPerPatch);
      const measured = only.has("initial");
      const target = await startBenchTarget({ latencyMs: measured ? p.latencyMs : 0 });
      try {
        await writeConfig(data.ws, target, client);
        const initial = baseResult("initial", measured ? "measured" : "preparation", "initial sync into an empty target", data.facts, measured ? p.latencyMs : 0, client, 0);
        initial.minimum = initialMinimum(data.facts);
        initial.minimumRequests = initial.minimum.minimum;
        log(`initial: syncing ${p.users} users at ${initial.latencyMs} ms latency, concurrency ${p.concurrency}`);
        derive(initial, await runSync(data.ws, target, timeoutMs));
        checkContents(initial, target, data.facts, { name: data.largestGroupName, size: data.largestGroupSize });
        results.push(initial);
        if (only.has("unchanged")) {
          target.setLatency(p.latencyMs);
          const unchanged = baseResult("unchanged", "measured", "second run, nothing changed", data.facts, p.latencyMs, client, 0);
          unchanged.listPages = pages(data.facts.users, p.pageSize) + pages(data.facts.groups, p.pageSize);
          log(`unchanged: ${p.users} users`);
          derive(unchanged, await runSync(data.ws, target, timeoutMs));
          checkUnchanged(unchanged);
          results.push(unchanged);
        }
      } finally {
        await target.close();
      }
    }

    if (only.has("big-unchanged") || only.has("big-state")) {
      const data = await prepareDataset(work, "big", { users: p.bigUsers, groups: p.bigGroups, seed: p.seed + 1 }, p.membersPerPatch);
      const target = await startBenchTarget({ latencyMs: 0 });
      let prepared = false;
      try {
        await writeConfig(data.ws, target, client);
        const prep = baseResult("big-initial", "preparation", "real initial sync at 0 ms latency that fills the target and the state file", data.facts, 0, client, 0);
        prep.minimum = initialMinimum(data.facts);
        prep.minimumRequests = prep.minimum.minimum;
        log(`big-initial: syncing ${p.bigUsers} users at 0 ms latency (preparation)`);
        derive(prep, await runSync(data.ws, target, timeoutMs));
        checkContents(prep, target, data.facts, { name: data.largestGroupName, size: data.largestGroupSize });
        results.push(prep);
        prepared = prep.problems.length === 0;
        if (!prepared) log(`big-initial failed, so big-unchanged and big-state are skipped: ${prep.problems.join("; ")}`);
        if (prepared && only.has("big-unchanged")) {
          target.setLatency(p.bigLatencyMs);
          const big = baseResult("big-unchanged", "measured", "second run, nothing changed", data.facts, p.bigLatencyMs, client, 0);
          big.listPages = pages(data.facts.users, p.pageSize) + pages(data.facts.groups, p.pageSize);
          log(`big-unchanged: ${p.bigUsers} users at ${p.bigLatencyMs} ms latency`);
          derive(big, await runSync(data.ws, target, timeoutMs));
          checkUnchanged(big);
          results.push(big);
        }
      } finally {
        await target.close();
      }
      if (prepared && only.has("big-state")) {
        log(`big-state: loading and saving the state of ${p.bigUsers} users`);
        const state = baseResult("big-state", "measured", "FileStateStore read + write of the state file, each in a fresh process (median of 3)", data.facts, 0, client, 0);
        state.state = await measureStateFile(data.ws.state, target.baseUrl, work, 3).catch((error: unknown) => {
          state.problems.push(`could not measure: ${(error as Error).message}`);
          return undefined;
        });
        if (!state.state) delete state.state;
        results.push(state);
      }
    }

    if (only.has("rate-limit")) {
      const data = await prepareDataset(work, "rate", { users: p.rateUsers, groups: p.rateGroups, seed: p.seed + 2 }, p.membersPerPatch);
      const target = await startBenchTarget({ latencyMs: p.latencyMs, rateLimit: p.rateLimit, burst: p.targetBurst });
      try {
        const limited = { ...client, rateLimit: p.rateLimit };
        await writeConfig(data.ws, target, limited);
        const rate = baseResult("rate-limit", "measured", `initial sync with target.rateLimit ${p.rateLimit} against a target enforcing ${p.rateLimit}/s`, data.facts, p.latencyMs, limited, p.rateLimit);
        rate.minimum = initialMinimum(data.facts);
        rate.minimumRequests = rate.minimum.minimum;
        log(`rate-limit: syncing ${p.rateUsers} users at ${p.rateLimit} requests/s`);
        derive(rate, await runSync(data.ws, target, timeoutMs));
        checkContents(rate, target, data.facts, { name: data.largestGroupName, size: data.largestGroupSize });
        results.push(rate);
      } finally {
        await target.close();
      }
    }
  } finally {
    if (keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }

  const verdicts = judge(results.filter((r) => r.role === "measured").map(toFigures));
  const cpuList = cpus();
  const output = {
    machine: {
      cpuModel: cpuList[0]?.model ?? "unknown",
      cpus: cpuList.length,
      totalMemoryBytes: totalmem(),
      os: `${platform()} ${release()}`,
      node: process.version,
      loadAverageBefore: loadBefore.map((l) => Math.round(l * 100) / 100),
      loadAverageAfter: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    commit: await gitCommit(),
    startedAt,
    durationMs: Math.round(performance.now() - began),
    parameters: p,
    scenarios: results,
    targets: verdicts,
  };
  await writeFile(out, `${JSON.stringify(output, null, 2)}\n`);
  const busy = `load average ${output.machine.loadAverageBefore[0]} before, ${output.machine.loadAverageAfter[0]} after, on ${cpuList.length} CPUs`;
  process.stdout.write(`${render(results, verdicts, p)}\n\n${busy}\nwrote ${out} (${fmt(output.durationMs / 1000, 0)} s in all)\n`);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n(run with --help for the options)\n`);
  process.exitCode = 2;
}
