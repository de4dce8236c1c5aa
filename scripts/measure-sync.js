#!/usr/bin/env node
// A quick, honest measurement of one initial and one unchanged sync of N synthetic users against
// the local sandbox (scimmy): wall time and requests by method. Not the benchmark (that is `npm run bench`,
// with its own lean target); run `npm run build` first.  Usage: node scripts/measure-sync.js [N users] [G groups]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { startSandbox } = await import(join(root, "dist", "sandbox", "server.js"));
const n = Number(process.argv[2] ?? 2000);
const g = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), "scimsync-measure-"));
const departments = ["Sales", "Engineering", "Support", "Finance", "People"];
const users = Array.from({ length: n }, (_, i) => ({
  id: `u-${i}`,
  userName: `user${i}@example.com`,
  email: `user${i}@example.com`,
  givenName: `Given${i}`,
  familyName: `Family${i}`,
  title: "Engineer",
  department: departments[i % departments.length],
  employeeNumber: String(10_000 + i),
}));
// Every user in one team group, every third user in a second one as well.
const groupsOf = (shift = 0) =>
  Array.from({ length: g }, (_, k) => ({
    id: `g-${k}`,
    displayName: `Team ${k}${shift && k < 5 ? " (renamed)" : ""}`,
    members: users.filter((_, i) => (i + shift) % g === k || (i % 3 === 0 && (i + 1) % g === k)).map((u) => u.id),
  }));
const writeDirectory = (shift) => writeFileSync(join(dir, "directory.json"), JSON.stringify({ users, groups: groupsOf(shift) }));
writeDirectory(0);
const sandbox = await startSandbox();
writeFileSync(
  join(dir, "scimsync.yaml"),
  `source: { type: file, path: ./directory.json }\ntarget:\n  url: ${sandbox.baseUrl}\n  token: "\${env:SCIM_TOKEN}"\n  rateLimit: 0\n  concurrency: 16\nstate: { path: ./scimsync.state.json }\nprovisionGroups: all\n`,
);

const sync = () =>
  new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(root, "bin", "scimsync.js"), "sync", "--config", join(dir, "scimsync.yaml"), "--output", "json"], {
      env: { ...process.env, SCIM_TOKEN: sandbox.token },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, ms: Math.round(performance.now() - started), report: JSON.parse(out) }));
  });
const requests = () => {
  const byMethod = {};
  for (const r of sandbox.requests) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
  sandbox.requests.length = 0;
  return JSON.stringify(byMethod);
};

try {
  const first = await sync();
  console.log(`initial sync, ${n} users, ${g} groups: exit ${first.code}, ${first.ms} ms, requests ${requests()}, summary ${JSON.stringify(first.report.summary)}`);
  console.log(`state file: ${statSync(join(dir, "scimsync.state.json")).size} bytes`);
  const second = await sync();
  console.log(`unchanged sync: exit ${second.code}, ${second.ms} ms, requests ${requests()}, actions ${second.report.actions.length}`);
  writeDirectory(1);
  const third = await sync();
  console.log(`churn (5 groups renamed, every team's members shifted): exit ${third.code}, ${third.ms} ms, requests ${requests()}, groups ${JSON.stringify(third.report.summary.groups)}`);
  const fourth = await sync();
  console.log(`after churn, unchanged: exit ${fourth.code}, ${fourth.ms} ms, requests ${requests()}, actions ${fourth.report.actions.length}`);
} finally {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
}
