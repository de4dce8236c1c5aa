/**
 * The live view as a person sees it: the CLI runs under a pseudo-terminal (util-linux `script`),
 * the sandbox in this process. Without `script` these tests are skipped: nothing else here
 * gives the child a terminal.
 */
import { describe, it, expect } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { CLI, configYaml, people, useFaultProxy, useSandboxAndWorkspace, waitUntil } from "./harness.js";

const HAS_SCRIPT = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface PtyRun {
  /** Everything the terminal showed so far (stdout and stderr alike). */
  output(): string;
  /** Types on the terminal's keyboard. */
  type(keys: string): void;
  done: Promise<{ code: number; output: string }>;
}

/** `scimsync <args>` in a 100x40 terminal; env adds to (or, with undefined, removes from) ours. */
function runInTerminal(args: string[], env: Record<string, string | undefined>, timeoutMs = 15_000): PtyRun {
  const command = `stty cols 100 rows 40; exec ${quote(process.execPath)} ${quote(CLI)} ${args.map(quote).join(" ")}`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm-256color", NO_COLOR: "1", SHELL: "/bin/sh" };
  delete childEnv.CI;
  delete childEnv.CONTINUOUS_INTEGRATION;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  // -e: script exits with the command's code; its stdin is the terminal's keyboard.
  const child = spawn("script", ["-qec", command, "/dev/null"], { env: childEnv, stdio: ["pipe", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const done = new Promise<{ code: number; output: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`scimsync ${args.join(" ")} did not finish in ${timeoutMs} ms\n${output}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code: code ?? -1, output });
    });
  });
  return { output: () => output, type: (keys) => child.stdin.write(keys), done };
}

describe.skipIf(!HAS_SCRIPT)("the live view in a terminal", () => {
  const ctx = useSandboxAndWorkspace();

  it("given a sync in a terminal, then the live view shows it applying; Ctrl-C lets in-flight requests finish, saves the state, restores the cursor and exits 130", async () => {
    await ctx.ws.writeDirectory(people(200));
    // 50 requests a second: 200 creates take about 4 s, time enough to watch and interrupt.
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, "safety: { maxDeprovisionPercent: 100 }\n").replace("rateLimit: 0", "rateLimit: 50"));

    const run = runInTerminal(["sync", "--config", ctx.ws.config], ctx.env);
    await waitUntil(() => run.output().includes("actions/s") && ctx.sandbox.users().length >= 80, 10_000);
    run.type("\x03");
    const { code, output } = await run.done;

    expect(code, output).toBe(130);
    expect(output).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] applying +\d+\/200 · [\d.]+ actions\/s · about \S+ left/); // a live frame while applying
    expect(output).toContain("✓ reading the directory  200 users");
    expect(output).toMatch(/✗ applying +\d+\/200 · in [\d.]+s · interrupted/); // the final frame
    expect(output).toContain("interrupted: finishing the requests in flight");
    expect(output).toContain("create users"); // the summary table
    expect(output).toContain("scimsync sync"); // the report after the view
    // The terminal is given back: the cursor ink hid is shown again.
    expect(output).toContain(HIDE_CURSOR);
    const shownAgain = output.indexOf(SHOW_CURSOR, output.lastIndexOf(HIDE_CURSOR));
    expect(shownAgain).toBeGreaterThan(0);
    // ...before the report is printed: the report is not drawn over by a live frame.
    expect(output.indexOf("scimsync sync ·")).toBeGreaterThan(shownAgain);

    const state = JSON.parse(readFileSync(ctx.ws.state, "utf8"));
    const created = ctx.sandbox.users().length;
    expect(created).toBeLessThan(200);
    expect(state.serial).toBeGreaterThanOrEqual(2); // the timers' save before applying, then the final one
    expect(state.lastRun.result).toBe("interrupted");
    expect(Object.keys(state.users)).toHaveLength(created);
  });

  describe("with slow requests", () => {
    const fault = useFaultProxy(ctx);

    it("given a second Ctrl-C while requests are in flight, then it leaves at once with 130 and the cursor shown", async () => {
      fault.proxy.decide = ({ method }) => (method === "POST" ? { kind: "pass", delayMs: 3_000 } : { kind: "pass" });
      await ctx.ws.writeDirectory(people(20));
      await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, "safety: { maxDeprovisionPercent: 100 }\n").replace("rateLimit: 0", "rateLimit: 0\n  concurrency: 2"));

      const run = runInTerminal(["sync", "--config", ctx.ws.config], ctx.env);
      await waitUntil(() => run.output().includes("applying") && fault.proxy.seen.some((r) => r.method === "POST"), 10_000);
      run.type("\x03");
      await waitUntil(() => run.output().includes("press Ctrl-C again"), 5_000);
      run.type("\x03");
      const { code, output } = await run.done;

      expect(code, output).toBe(130);
      expect(ctx.sandbox.users()).toHaveLength(0); // left before the slow creates were answered
      expect(output.indexOf(SHOW_CURSOR, output.lastIndexOf(HIDE_CURSOR))).toBeGreaterThan(0);
      expect(output).not.toContain("scimsync sync ·"); // no report: it left at once
    });
  });

  it("given a plan in a terminal, then the final frame and the plan's table are shown; with CI set, the line progress as before", async () => {
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));

    const live = await runInTerminal(["plan", "--config", ctx.ws.config], ctx.env).done;
    expect(live.code, live.output).toBe(0);
    expect(live.output).toMatch(/✓ planning +3 change\(s\)/);
    expect(live.output).toMatch(/create users +3/);
    expect(live.output).not.toContain("· planning…");
    // NO_COLOR (set by runInTerminal): no colour and no dimming, although chalk under ink ignores it.
    expect(live.output).not.toMatch(/\x1b\[(3\d|2)m/);
    const coloured = await runInTerminal(["plan", "--config", ctx.ws.config], { ...ctx.env, NO_COLOR: undefined }).done;
    expect(coloured.output).toMatch(/\x1b\[32m✓/);

    const ci = await runInTerminal(["plan", "--config", ctx.ws.config], { ...ctx.env, CI: "true" }).done;
    expect(ci.code, ci.output).toBe(0);
    expect(ci.output).toContain("· planning…");
    expect(ci.output).not.toContain(HIDE_CURSOR);
    expect(ci.output).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  });
});
