/**
 * One `scimsync sync --output json` run against the bench target, as a separate process, with
 * what the benchmark reports about it: wall time, the child's CPU and peak RSS (written by
 * measure-preload.mjs as it exits), the target's CPU (this process does nothing else while the
 * child runs), the requests the target counted, the JSON report and its timings, and the size
 * of the state file afterwards.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchTarget, TargetCounters } from "./target.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "bin", "scimsync.js");
const PRELOAD = join(ROOT, "bench", "measure-preload.mjs");

export interface Workspace {
  dir: string;
  config: string;
  directory: string;
  state: string;
}

export interface ClientSettings {
  concurrency: number;
  /** Requests per second the client allows itself; 0 = unlimited. */
  rateLimit: number;
  pageSize: number;
  maxMembersPerPatch: number;
}

export async function makeWorkspace(parent: string, name: string): Promise<Workspace> {
  const dir = join(parent, name);
  await mkdir(dir, { recursive: true });
  return { dir, config: join(dir, "scimsync.yaml"), directory: join(dir, "directory.json"), state: join(dir, "scimsync.state.json") };
}

/** A config for the bench target: every directory group is pushed, nothing is ever deprovisioned. */
export async function writeConfig(ws: Workspace, target: BenchTarget, client: ClientSettings): Promise<void> {
  const yaml = [
    "source: { type: file, path: ./directory.json }",
    "target:",
    `  url: ${target.baseUrl}`,
    '  token: "${env:SCIM_TOKEN}"',
    `  concurrency: ${client.concurrency}`,
    `  rateLimit: ${client.rateLimit}`,
    `  pageSize: ${client.pageSize}`,
    `  maxMembersPerPatch: ${client.maxMembersPerPatch}`,
    "  timeoutSeconds: 120",
    "provisionGroups: all",
    "state: { path: ./scimsync.state.json }",
    "",
  ].join("\n");
  await writeFile(ws.config, yaml);
}

/** What the lead's RunTimings holds; every field optional, since older builds report none. */
export interface ReportTimings {
  stateLoadMs?: number;
  readSourceMs?: number;
  readTargetMs?: number;
  planMs?: number;
  planCpuMs?: number;
  applyMs?: number;
  stateSaveMs?: number;
}

export interface SyncMeasurement {
  exitCode: number;
  /** The report's result: ok, failed, ... (undefined when stdout was not JSON). */
  result: string | undefined;
  summary: Record<string, unknown> | undefined;
  actions: number | undefined;
  failedActions: string[];
  warnings: string[];
  timings: ReportTimings | undefined;
  wallMs: number;
  clientUserCpuMs: number | undefined;
  clientSystemCpuMs: number | undefined;
  peakRssBytes: number | undefined;
  /** CPU this process used while the child ran: the bench target's work. */
  targetCpuMs: number;
  requests: TargetCounters;
  stateBytes: number | undefined;
  stderrTail: string;
}

interface ChildUsage {
  maxRssBytes: number;
  userCpuMs: number;
  systemCpuMs: number;
}

export async function runSync(ws: Workspace, target: BenchTarget, timeoutMs: number): Promise<SyncMeasurement> {
  const usageFile = join(ws.dir, "usage.json");
  await rm(usageFile, { force: true });
  target.resetCounters();
  const env: Record<string, string | undefined> = {
    ...process.env,
    SCIM_TOKEN: target.token,
    NO_COLOR: "1",
    BENCH_USAGE_FILE: usageFile,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${pathToFileURL(PRELOAD).href}`].filter(Boolean).join(" "),
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI, "sync", "--config", ws.config, "--output", "json"], { cwd: ws.dir, env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (exit) => {
      clearTimeout(timer);
      resolveRun({ code: exit ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const requests = target.counters();

  let usage: ChildUsage | undefined;
  try {
    usage = JSON.parse(await readFile(usageFile, "utf8")) as ChildUsage;
  } catch {
    usage = undefined;
  }
  let report: Record<string, unknown> | undefined;
  try {
    report = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    report = undefined;
  }
  const actions = Array.isArray(report?.actions) ? (report.actions as Array<{ status?: string; op?: string; key?: string; error?: string }>) : undefined;
  const stateBytes = await stat(ws.state).then(
    (s) => s.size,
    () => undefined,
  );
  return {
    exitCode: code,
    result: typeof report?.result === "string" ? report.result : undefined,
    summary: report?.summary as Record<string, unknown> | undefined,
    actions: actions?.length,
    failedActions: (actions ?? []).filter((a) => a.status === "failed").slice(0, 5).map((a) => `${a.op} ${a.key}: ${a.error}`),
    warnings: Array.isArray(report?.warnings) ? (report.warnings as string[]).slice(0, 5) : [],
    timings: report?.timings as ReportTimings | undefined,
    wallMs,
    clientUserCpuMs: usage?.userCpuMs,
    clientSystemCpuMs: usage?.systemCpuMs,
    peakRssBytes: usage?.maxRssBytes,
    targetCpuMs: (cpu.user + cpu.system) / 1000,
    requests,
    stateBytes,
    stderrTail: stderr.slice(-2000),
  };
}
