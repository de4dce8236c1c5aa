#!/usr/bin/env node
// `npm run demo`: starts the local SCIM sandbox, shows `plan` then applies `sync` of
// examples/directory.json with examples/demo.yaml, shows that a second plan is empty, and
// stops the sandbox. Nothing is left behind: the state lives in a temporary folder.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "bin", "scimsync.js");
const work = mkdtempSync(join(tmpdir(), "scimsync-demo-"));

const sandbox = spawn(process.execPath, [cli, "sandbox", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
const first = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: sandbox.stdout });
  lines.once("line", resolve);
  sandbox.once("exit", (code) => reject(new Error(`the sandbox exited early (code ${code})`)));
});
const { url, token } = JSON.parse(first);

const env = { ...process.env, SCIMSYNC_DEMO_URL: url, SCIMSYNC_DEMO_TOKEN: token, SCIMSYNC_DEMO_STATE: join(work, "demo.state.json") };
const config = join(root, "examples", "demo.yaml");
const step = (title, args) => {
  process.stdout.write(`\n=== ${title}: scimsync ${args.join(" ")}\n\n`);
  const r = spawnSync(process.execPath, [cli, ...args, "--config", config], { env, stdio: "inherit" });
  return r.status ?? 1;
};

let failed = 0;
try {
  if (step("1. What would change", ["plan"]) !== 0) failed++;
  if (step("2. Apply it", ["sync"]) !== 0) failed++;
  if (step("3. A second run has nothing to do", ["plan", "--exit-code"]) !== 0) failed++;
} finally {
  sandbox.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
