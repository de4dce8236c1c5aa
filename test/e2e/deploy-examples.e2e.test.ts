/**
 * The deployment recipes in examples/deploy (cron, systemd, Kubernetes, GitHub Actions) as far
 * as they can be tried here: the YAML parses, the timer and service name each other, and every
 * scimsync command line in them is accepted by the real CLI (an unknown option or command
 * would fail before the config is even read).
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "./harness.js";

const DIR = resolve(import.meta.dirname, "../../examples/deploy");
const read = (name: string) => readFile(join(DIR, name), "utf8");

/** The arguments after `scimsync` / `scimsync.js` in a command line. */
function scimsyncArgs(line: string): string[] {
  const match = /scimsync(?:\.js)?\s+((?:plan|sync|status|report|validate)\b[^|>&]*)/.exec(line);
  if (!match) throw new Error(`no scimsync command in: ${line}`);
  return match[1]!.trim().split(/\s+/);
}

/** Runs the command with its --config pointed at a file that does not exist: it must get as far as reading it. */
async function expectAccepted(args: string[]): Promise<void> {
  const at = args.indexOf("--config");
  const patched = [...args];
  patched[at + 1] = join(DIR, "no-such-config.yaml");
  const result = await runCli(patched);
  expect(result.stderr, `scimsync ${args.join(" ")}`).not.toMatch(/unknown (option|command)|error: option/i);
  expect(result.stderr).toMatch(/no-such-config\.yaml/);
  expect(result.code).toBe(1);
}

describe("deployment recipes", () => {
  it("crontab: the command line is accepted", async () => {
    const line = (await read("crontab")).split("\n").find((l) => /^\d/.test(l))!;
    expect(line.split(/\s+/).slice(0, 5)).toEqual(["15", "*", "*", "*", "*"]);
    await expectAccepted(scimsyncArgs(line));
  });

  it("systemd: the timer and the service belong together, and ExecStart is accepted", async () => {
    const service = await read("scimsync.service");
    const timer = await read("scimsync.timer");
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(timer).toMatch(/^OnCalendar=hourly$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
    await expectAccepted(scimsyncArgs(/^ExecStart=(.*)$/m.exec(service)![1]!));
  });

  it("Kubernetes: a CronJob that never overlaps, with the command accepted", async () => {
    const job = parse(await read("kubernetes-cronjob.yaml"));
    expect(job).toMatchObject({ apiVersion: "batch/v1", kind: "CronJob", spec: { concurrencyPolicy: "Forbid" } });
    const container = job.spec.jobTemplate.spec.template.spec.containers[0];
    await expectAccepted(scimsyncArgs(container.command.join(" ")));
  });

  it("GitHub Actions: plan on pull requests, sync on schedule, state kept in the cache, both commands accepted", async () => {
    const workflow = parse(await read("github-actions.yml"));
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "schedule", "workflow_dispatch"]);
    expect(workflow.concurrency.group).toBe("scimsync");
    const steps: { run?: string; uses?: string; with?: { path?: string } }[] = workflow.jobs.scimsync.steps;
    expect(steps.filter((s) => s.uses?.startsWith("actions/cache/")).map((s) => s.with?.path)).toEqual(["scimsync.state.json", "scimsync.state.json"]);
    const runs = steps.map((s) => s.run).filter((r): r is string => r !== undefined && /scimsync (plan|sync)/.test(r));
    expect(runs).toHaveLength(2);
    for (const run of runs) await expectAccepted(scimsyncArgs(run));
  });
});
