#!/usr/bin/env node
// `npm run demo`: the main job of scimsync against the local SCIM sandbox, start to finish.
// It starts the sandbox, plans and syncs examples/directory.json with examples/demo.yaml, then
// lets one person leave and another be suspended to show delayed deprovisioning, forecasts the
// hard delete with --now, and stops the sandbox. Everything it writes lives in a temporary
// folder that is removed at the end.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "bin", "scimsync.js");
const work = mkdtempSync(join(tmpdir(), "scimsync-demo-"));
copyFileSync(join(root, "examples", "demo.yaml"), join(work, "demo.yaml"));
copyFileSync(join(root, "examples", "directory.json"), join(work, "directory.json"));
const config = join(work, "demo.yaml");

const sandbox = spawn(process.execPath, [cli, "sandbox", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const first = await new Promise((resolve, reject) => {
  createInterface({ input: sandbox.stdout }).once("line", resolve);
  sandbox.once("exit", (code) => reject(new Error(`the sandbox exited early (code ${code})`)));
});
const { url, token } = JSON.parse(first);
const env = { ...process.env, SCIMSYNC_DEMO_URL: url, SCIMSYNC_DEMO_TOKEN: token, SCIMSYNC_DEMO_STATE: join(work, "demo.state.json") };

const failures = [];
const step = (title, args, expected = [0]) => {
  process.stdout.write(`\n=== ${title}\n$ scimsync ${args.join(" ")} --config demo.yaml\n\n`);
  const r = spawnSync(process.execPath, [cli, ...args, "--config", config], { env, stdio: "inherit" });
  if (!expected.includes(r.status ?? -1)) failures.push(`${title}: exit ${r.status}`);
};

try {
  step("1. What would change (nothing is written)", ["plan"]);
  step("2. Apply it", ["sync"]);
  step("3. A second run has nothing to do", ["plan", "--exit-code"]);

  // Somebody leaves the company and somebody else is suspended in the directory.
  const directory = JSON.parse(readFileSync(join(work, "directory.json"), "utf8"));
  const active = directory.users.filter((u) => u.active !== false);
  const leaver = active[0];
  const suspended = active[1];
  directory.users = directory.users.filter((u) => u !== leaver);
  suspended.active = false;
  writeFileSync(join(work, "directory.json"), JSON.stringify(directory, null, 2));
  process.stdout.write(`\n(The demo removes ${leaver.userName} from the directory and suspends ${suspended.userName} there.)\n`);

  step("4. Leavers are suspended now; their hard delete is scheduled", ["sync"]);
  const inEightDays = new Date(Date.now() + 8 * 86_400_000).toISOString();
  step("5. Forecast: what a run in 8 days would do", ["plan", "--now", inEightDays]);
} finally {
  sandbox.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  process.stderr.write(`\ndemo failed:\n  ${failures.join("\n  ")}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write("\nDemo finished: the sandbox is stopped and its temporary files are removed.\n");
}
