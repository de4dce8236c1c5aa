/**
 * End-to-end harness: a sandbox SCIM target in this process, a workspace with a directory
 * file and a config, and the real CLI spawned as a child process (bin/scimsync.js over dist/).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { beforeAll, afterAll, beforeEach, afterEach } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import type { SourceUser } from "../../src/core/model.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const CLI = resolve(import.meta.dirname, "../../bin/scimsync.js");
export const DAY = 86_400_000;

/** A user as the directory file holds it: the source model's fields, most of them optional. */
export type DirUser = Partial<Omit<SourceUser, "extra">> & { id: string; userName: string };
export interface DirGroup {
  id: string;
  displayName: string;
  members: string[];
}

export function people(n: number, from = 1): DirUser[] {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i;
    return {
      id: `u-${k}`,
      userName: `person${k}@example.com`,
      email: `person${k}@example.com`,
      givenName: `Given${k}`,
      familyName: `Family${k}`,
      active: true,
      title: "Engineer",
      department: "Engineering",
      employeeNumber: String(1000 + k),
    };
  });
}

export interface Workspace {
  dir: string;
  config: string;
  directory: string;
  state: string;
  writeDirectory(users: DirUser[], groups?: DirGroup[]): Promise<void>;
  writeConfig(yaml: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeWorkspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "scimsync-e2e-"));
  const ws: Workspace = {
    dir,
    config: join(dir, "scimsync.yaml"),
    directory: join(dir, "directory.json"),
    state: join(dir, "scimsync.state.json"),
    async writeDirectory(users, groups = []) {
      await writeFile(ws.directory, JSON.stringify({ users, groups }, null, 2));
    },
    async writeConfig(yaml) {
      await writeFile(ws.config, yaml);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return ws;
}

/** A config for the sandbox; `extra` is appended YAML (deprovision, safety, scope...). */
export function configYaml(baseUrl: string, extra = ""): string {
  return [
    "source: { type: file, path: ./directory.json }",
    "target:",
    `  url: ${baseUrl}`,
    '  token: "${env:SCIM_TOKEN}"',
    "  rateLimit: 0",
    "state: { path: ./scimsync.state.json }",
    extra,
  ].join("\n");
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: any;
}

export interface RunningCli {
  child: ChildProcess;
  /** Resolves when the process has exited, with everything it printed. */
  done: Promise<CliResult>;
}

/**
 * Starts the CLI asynchronously (the sandbox lives in this process and must keep serving) and
 * leaves it running, for tests that act while it works (signals, tampering with files).
 */
export function startCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`scimsync ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const result: CliResult = { code: code ?? -1, stdout, stderr };
      try {
        result.json = JSON.parse(stdout);
      } catch {
        // human output
      }
      resolvePromise(result);
    });
  });
  return { child, done };
}

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return startCli(args, env, timeoutMs).done;
}

/** Resolves once `condition` holds, checking every 20 ms; fails after `timeoutMs`. */
export function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (condition()) {
        clearInterval(poll);
        resolvePromise();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`condition not met within ${timeoutMs} ms`));
      }
    }, 20);
  });
}

export function isoPlus(base: Date, ms: number): string {
  return new Date(base.getTime() + ms).toISOString();
}

export interface E2eContext {
  sandbox: Sandbox;
  ws: Workspace;
  /** Environment for the CLI: the sandbox's token as SCIM_TOKEN. */
  env: Record<string, string>;
}

/**
 * Registers the hooks every end-to-end file needs: one sandbox per file, emptied before each
 * test, and a fresh workspace per test. The returned object is filled in by the hooks.
 */
export function useSandboxAndWorkspace(): E2eContext {
  const ctx = {} as E2eContext;
  beforeAll(async () => {
    ctx.sandbox = await startSandbox();
    ctx.env = { SCIM_TOKEN: ctx.sandbox.token };
  });
  afterAll(async () => {
    await ctx.sandbox.close();
  });
  beforeEach(async () => {
    ctx.sandbox.reset();
    ctx.ws = await makeWorkspace();
  });
  afterEach(async () => {
    await ctx.ws.cleanup();
  });
  return ctx;
}

/**
 * A fault proxy in front of the file's sandbox for the tests of one describe block; it passes
 * everything through at the start of each test.
 */
export function useFaultProxy(ctx: E2eContext): { proxy: FaultProxy } {
  const holder = {} as { proxy: FaultProxy };
  beforeAll(async () => {
    holder.proxy = await startFaultProxy(ctx.sandbox.baseUrl);
  });
  beforeEach(() => {
    holder.proxy.decide = () => ({ kind: "pass" });
    holder.proxy.seen.length = 0;
  });
  afterAll(async () => {
    await holder.proxy.close();
  });
  return holder;
}
