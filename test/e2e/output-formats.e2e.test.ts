/**
 * The CI and log-collector outputs: `--output markdown`, the GitHub job summary, and
 * `--log-format json` (NDJSON on stderr), through the real CLI against the sandbox.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configYaml, people, runCli, useSandboxAndWorkspace } from "./harness.js";
import { cell, renderMarkdownReport } from "../../src/ui/markdown-report.js";
import { ndjsonLog } from "../../src/ui/ndjson-log.js";
import type { JsonReport } from "../../src/ui/report.js";

const ctx = useSandboxAndWorkspace();

describe("--output markdown and GITHUB_STEP_SUMMARY", () => {
  it("Given changes pending, When plan runs with --output markdown and a job summary file, Then stdout is a Markdown report and the summary file gets it too", async () => {
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));
    const summary = join(ctx.ws.dir, "step-summary.md");
    await writeFile(summary, "earlier step\n");

    const result = await runCli(["plan", "--config", ctx.ws.config, "--output", "markdown", "--exit-code"], { ...ctx.env, GITHUB_STEP_SUMMARY: summary });

    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toContain(`### scimsync plan: ${ctx.sandbox.baseUrl}`);
    expect(result.stdout).toContain("| Create | 3 | 0 |");
    expect(result.stdout).toMatch(/#### Create \(3\)\n\n\| \| key \| details \| status \|/);
    expect(result.stdout).toContain("| + | person1@example.com |");
    const written = await readFile(summary, "utf8");
    expect(written.startsWith("earlier step\n### scimsync plan:")).toBe(true);
    expect(written).not.toContain(ctx.sandbox.token);
  });

  it("Given a summary file that cannot be written, When sync runs, Then the run succeeds with a warning", async () => {
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));

    const result = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], { ...ctx.env, GITHUB_STEP_SUMMARY: join(ctx.ws.dir, "no", "such", "dir", "summary.md") });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: could not append to GITHUB_STEP_SUMMARY/);
  });
});

describe("--log-format json", () => {
  it("Given a sync with --log-format json, Then every stderr line is a JSON object with time, level, runId and event, and carries no attribute values", async () => {
    await ctx.ws.writeDirectory(people(4).map((u) => ({ ...u, title: "Secret Project Lead" })));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));

    const result = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--log-format", "json"], ctx.env);

    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatchObject({ time: expect.any(String), level: expect.stringMatching(/^(info|warn|error)$/), runId: expect.any(String), event: expect.any(String) });
    expect(new Set(lines.map((l) => l.runId)).size).toBe(1);
    expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(["phase", "source-read", "target-read", "apply-start", "apply-progress"]));
    expect(result.stderr).not.toContain("Secret Project Lead");
    expect(result.stderr).not.toContain(ctx.sandbox.token);
  });
});

describe("renderMarkdownReport", () => {
  const report: JsonReport = {
    command: "plan",
    target: "https://app.example.com/scim/v2",
    now: "2026-11-22T10:00:00.000Z",
    result: "changes",
    actions: [
      { op: "update", type: "User", key: "a|b@example.com", changes: { title: { from: "Dev", to: "Lead\nof *all*" } }, status: "planned" },
      { op: "delete", type: "User", key: "gone@example.com", changes: {}, status: "failed", reason: "deleted", error: "409 conflict" },
    ],
    scheduled: [{ op: "delete", type: "User", key: "later@example.com", due: "2026-12-01T00:00:00.000Z", reason: "suspended" }],
    adopted: [],
    held: [],
    summary: { create: 0, update: 1, unsuspend: 0, suspend: 0, delete: 1, failed: 1, skipped: 0, held: 0, groups: { create: 0, update: 0, delete: 0, "add-members": 0, "remove-members": 0 } },
    safety: { blocked: false },
    problems: [],
    warnings: ["a | warning"],
  } as unknown as JsonReport;

  it("escapes what would break a table or turn into markup", () => {
    expect(cell("a|b\nc *d* <e>")).toBe("a\\|b c \\*d\\* \\<e\\>");
    const md = renderMarkdownReport(report);
    expect(md).toContain("| + | a\\|b@example.com |");
    expect(md).toContain('title: "Dev" → "Lead\\\\nof \\*all\\*"');
    expect(md).toContain("| − | gone@example.com | gone from the directory | \\*\\*failed\\*\\*: 409 conflict |");
    expect(md).toContain("| delete | later@example.com | 2026-12-01T00:00:00.000Z | suspended in the directory |");
    expect(md).toContain("- a \\| warning");
  });
});

describe("ndjsonLog", () => {
  it("logs a failed action with the changed attribute names only, and progress at most every interval", () => {
    const lines: string[] = [];
    let t = 0;
    const sink = ndjsonLog((l) => lines.push(l), { runId: "r1", clock: () => new Date(t), everyMs: 1000 });
    sink({ type: "apply-start", total: 3 });
    const result = { op: "update", type: "User", key: "ann@example.com", sourceId: "1", changes: { title: { from: "A", to: "B" } }, status: "failed", error: "boom" } as const;
    sink({ type: "action-done", result: result as never, done: 1, total: 3 });
    t = 500;
    sink({ type: "action-done", result: { ...result, status: "ok" } as never, done: 2, total: 3 });
    t = 1500;
    sink({ type: "action-done", result: { ...result, status: "ok" } as never, done: 3, total: 3 });

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.event)).toEqual(["apply-start", "action-failed", "apply-progress"]);
    expect(parsed[1]).toMatchObject({ level: "error", op: "update", key: "ann@example.com", changed: ["title"], error: "boom" });
    expect(lines.join("\n")).not.toContain('"B"');
  });
});
