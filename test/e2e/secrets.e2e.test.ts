/**
 * Secrets never leak, and the files that hold secrets or state are private. Every command of
 * the real CLI (dist/) runs, in success and in failure variants, with every output on (human,
 * JSON, markdown, NDJSON logs, the audit log, GITHUB_STEP_SUMMARY, notify.webhook) and with
 * known, distinctive secrets: the SCIM token (and a rejected and a renewed one), a Microsoft
 * client secret, two Google service account keys, the access tokens the fake identity providers
 * issue, the webhook URL, a password pasted into a URL. Then stdout, stderr, every file the runs
 * left in the workspace and every webhook body are searched for each secret and for its first
 * and last 8 characters (test/support/secret-scan.ts).
 *
 * One exception, on purpose: `scimsync sandbox` prints the bearer token of the demo target it
 * starts (that is how a person or `npm run demo` learns it). Only that command's own output may
 * hold that one token.
 *
 * File modes are checked with the CLI started under umask 000, so that 0600 and 0700 can only
 * come from scimsync itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { makeServiceAccountKey, startFakeGoogleDirectory, type FakeGoogleDirectory } from "../support/fake-google-directory.js";
import { startFakeGraph, type FakeGraph } from "../support/fake-graph.js";
import { startFakeWebhook, type FakeWebhook } from "../support/fake-webhook.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { bearerTokensOf, findSecrets, type NamedSecret, type NamedText } from "../support/secret-scan.js";
import { makeTestCertificates, writeCaFile } from "../support/test-ca.js";
import { CLI, makeWorkspace, people, waitUntil, type CliResult, type DirGroup, type DirUser, type Workspace } from "./harness.js";

/** Always with a "-", so that no secret is also a valid environment variable name. */
const distinct = (prefix: string) => `${prefix}-${randomBytes(24).toString("base64url")}`;

const TARGET_TOKEN = distinct("tgt");
/** The token a target rejects: it is still a secret (someone's old or mistyped one). */
const WRONG_TOKEN = distinct("wrg");
/** The token a rotation moves to (reauthorize). */
const NEW_TOKEN = distinct("new");
/** Offered to reauthorize and refused. */
const REFUSED_TOKEN = distinct("ref");
/** The demo target's token, which `scimsync sandbox` prints on purpose. */
const SANDBOX_TOKEN = distinct("sbx");
const CLIENT_SECRET = `Qx8~${randomBytes(27).toString("base64url")}`;
const WRONG_CLIENT_SECRET = `Wz8~${randomBytes(27).toString("base64url")}`;
/** A password someone pasted into target.url. */
const URL_PASSWORD = distinct("pwd");
const CLIENT_ID = "6b3f1c2e-8d4a-4e7b-9c1f-2a3b4c5d6e7f";
const ADMIN = "admin@example.com";

let ws: Workspace;
/** One SCIM target per source, so their runs never meet; all take TARGET_TOKEN. */
let fileTarget: Sandbox;
let googleTarget: Sandbox;
let microsoftTarget: Sandbox;
/** Takes NEW_TOKEN only: the app after the token was rotated. */
let rotatedTarget: Sandbox;
let proxy: FaultProxy;
let google: FakeGoogleDirectory;
let graph: FakeGraph;
let hook: FakeWebhook;
let caFile: { path: string; remove: () => Promise<void> };
let googleKey: ReturnType<typeof makeServiceAccountKey>;
/** A key Google does not know: its assertions fail the signature check. */
let foreignKey: ReturnType<typeof makeServiceAccountKey>;
let closedPort: number;

/** Files that are where a secret is kept, on purpose: not scanned. */
const secretSources = new Map<string, string>();
/** Every command run, with what it printed. */
const runs: NamedText[] = [];
let commandsRun = 0;

beforeAll(async () => {
  ws = await makeWorkspace();
  googleKey = makeServiceAccountKey();
  foreignKey = makeServiceAccountKey();
  [fileTarget, googleTarget, microsoftTarget, rotatedTarget] = await Promise.all([
    startSandbox({ token: TARGET_TOKEN }),
    startSandbox({ token: TARGET_TOKEN }),
    startSandbox({ token: TARGET_TOKEN }),
    startSandbox({ token: NEW_TOKEN }),
  ]);
  proxy = await startFaultProxy(fileTarget.baseUrl);
  google = await startFakeGoogleDirectory({ data: googleDirectory(), publicKeyPem: googleKey.publicKeyPem });
  graph = await startFakeGraph({ data: graphTenant(), clientSecret: CLIENT_SECRET, clientId: CLIENT_ID });
  hook = await startFakeWebhook();
  caFile = await writeCaFile((await makeTestCertificates()).caPem);
  closedPort = await aClosedPort();
  await writeWorkspace();
});

afterAll(async () => {
  await Promise.all([fileTarget, googleTarget, microsoftTarget, rotatedTarget, proxy, google, graph, hook].map((s) => s?.close()));
  await caFile?.remove();
  await ws?.cleanup();
});

// ---------------------------------------------------------------------------------------------
// The workspace: a directory file, secret files, one config per source, and broken configs.
// ---------------------------------------------------------------------------------------------

const path = (...parts: string[]) => join(ws.dir, ...parts);

function writeSecretFile(file: string, content: string, why: string, mode = 0o600): string {
  const full = path(file);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, content);
  chmodSync(full, mode);
  secretSources.set(full, why);
  return full;
}

function writeText(file: string, content: string): string {
  const full = path(file);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, content);
  return full;
}

const directoryUsers = (): DirUser[] => people(3);
const directoryGroups = (users: DirUser[]): DirGroup[] => [{ id: "g-1", displayName: "Engineering", members: users.map((u) => u.id) }];

function writeDirectory(users: DirUser[]): void {
  writeText("directory.json", JSON.stringify({ users, groups: directoryGroups(users) }, null, 2));
}

function googleDirectory() {
  const user = (n: number, email: string) => ({
    id: `10485760000000000000${n}`,
    primaryEmail: email,
    name: { givenName: `Gia${n}`, familyName: "Google", fullName: `Gia${n} Google` },
    orgUnitPath: "/",
    // The impersonated admin must be one, or Google refuses to list users.
    isAdmin: email === ADMIN,
  });
  const users = [user(1, ADMIN), user(2, "g2@example.com"), user(3, "g3@example.com")];
  return {
    users,
    groups: [{ id: "03x5team000001", email: "team@example.com", name: "Team", members: users.slice(1).map((u) => ({ id: u.id, email: u.primaryEmail, type: "USER" as const })) }],
  };
}

function graphTenant() {
  const id = (n: number) => `7f0e5a1c-3b2d-4c8e-9a6f-00000000000${n}`;
  const users = [1, 2, 3].map((n) => ({
    id: id(n),
    userPrincipalName: `m${n}@contoso.example`,
    mail: `m${n}@contoso.example`,
    givenName: `Mia${n}`,
    surname: "Graph",
    displayName: `Mia${n} Graph`,
    accountEnabled: true,
  }));
  return { users, groups: [{ id: "2e9d8c7b-6a5f-4e3d-8c2b-000000000001", displayName: "Graph Team", members: users.map((u) => u.id) }] };
}

/** The part every config shares after `source:`. */
function rest(name: string, target: string, token: string, extra: string[] = []): string[] {
  return [
    "target:",
    `  url: ${target}`,
    `  token: "${token}"`,
    "  rateLimit: 0",
    "  retries: 0",
    "  timeoutSeconds: 5",
    ...extra,
    `state: { path: ./state/${name}.state.json }`,
    `log: { path: ./logs/${name}-audit.ndjson }`,
    "notify:",
    "  webhook:",
    '    url: "${env:WEBHOOK_URL}"',
    "    on: [always]",
    "provisionGroups: all",
    "safety: { maxDeprovisionPercent: 100 }",
    "",
  ];
}

const fileSource = ["source: { type: file, path: ./directory.json }"];
const googleSource = (credentials = "${file:./sa.json}") => [
  "source:",
  "  type: google",
  `  credentials: "${credentials}"`,
  `  subject: ${ADMIN}`,
  "  apiRoot: GOOGLE_ROOT",
  "  tokenUrl: GOOGLE_TOKEN",
  "  retries: 0",
  "  timeoutSeconds: 10",
];
const microsoftSource = (clientSecret = "${file:./client-secret}", tenantId = "TENANT") => [
  "source:",
  "  type: microsoft",
  `  tenantId: "${tenantId}"`,
  `  clientId: ${CLIENT_ID}`,
  `  clientSecret: "${clientSecret}"`,
  "  authorityHost: GRAPH_URL",
  "  graphUrl: GRAPH_URL",
  "  retries: 0",
  "  timeoutSeconds: 10",
];

function config(file: string, lines: string[]): string {
  const text = lines
    .join("\n")
    .replaceAll("GOOGLE_ROOT", google.rootUrl)
    .replaceAll("GOOGLE_TOKEN", google.tokenUrl)
    .replaceAll("GRAPH_URL", graph.url)
    .replaceAll("TENANT", graph.tenantId);
  return writeText(file, text);
}

const CONFIG = {
  file: "",
  google: "",
  microsoft: "",
  targetDown: "",
  microsoftWrongSecret: "",
  googleForeignKey: "",
  rotate: "",
};

/** Configs with a mistake whose message could quote a secret. */
const BROKEN: string[] = [];

async function writeWorkspace(): Promise<void> {
  writeDirectory(directoryUsers());
  writeSecretFile("client-secret", `${CLIENT_SECRET}\n`, "source.clientSecret reads it (${file:})");
  writeSecretFile("sa.json", googleKey.json, "source.credentials reads it (${file:})");
  writeSecretFile("sa-foreign.json", foreignKey.json, "a key the fake Google does not know");
  writeSecretFile("scim-token", `${TARGET_TOKEN}\n`, "target.token reads it (${file:})");
  writeSecretFile("rotate/scim-token", `${TARGET_TOKEN}\n`, "target.token of the rotation reads it; reauthorize writes the new token here");

  CONFIG.file = config("file.yaml", [...fileSource, ...rest("file", proxy.baseUrl, "${env:SCIM_TOKEN}")]);
  CONFIG.google = config("google.yaml", [...googleSource(), ...rest("google", googleTarget.baseUrl, "${file:./scim-token}")]);
  CONFIG.microsoft = config("microsoft.yaml", [...microsoftSource(), ...rest("microsoft", microsoftTarget.baseUrl, "${env:SCIM_TOKEN}")]);
  CONFIG.targetDown = config("target-down.yaml", [...fileSource, ...rest("down", `http://127.0.0.1:${closedPort}/scim/v2`, "${env:SCIM_TOKEN}")]);
  CONFIG.microsoftWrongSecret = config("microsoft-wrong.yaml", [
    ...microsoftSource("${env:AZURE_CLIENT_SECRET}"),
    ...rest("microsoft-wrong", microsoftTarget.baseUrl, "${env:SCIM_TOKEN}"),
  ]);
  CONFIG.googleForeignKey = config("google-foreign.yaml", [...googleSource("${file:./sa-foreign.json}"), ...rest("google-foreign", googleTarget.baseUrl, "${env:SCIM_TOKEN}")]);
  CONFIG.rotate = config("rotate/scimsync.yaml", [
    "source: { type: file, path: ../directory.json }",
    ...rest("rotate", rotatedTarget.baseUrl, "${file:./scim-token}"),
  ]);

  const broken = (name: string, lines: string[], inline?: true) => {
    const file = config(`broken/${name}.yaml`, lines.map((l) => l.replace("./directory.json", "../directory.json")));
    if (inline) secretSources.set(file, "a broken config that holds a secret inline, as some people write them");
    BROKEN.push(file);
  };
  const target = fileTarget.baseUrl;
  // Not here: a secret in source.path or state.path. Paths are not secret keys, and validate and
  // the errors show them resolved on purpose (a path built from ${env:HOME} must be recognisable).
  broken("token-as-url", [...fileSource, ...rest("b", "${env:SCIM_TOKEN}", "${env:SCIM_TOKEN}")]);
  broken("token-as-rate-limit", [...fileSource, ...rest("b", target, "${env:SCIM_TOKEN}").map((l) => l.replace("rateLimit: 0", 'rateLimit: "${env:SCIM_TOKEN}"'))]);
  broken("token-under-unknown-key", [...fileSource, ...rest("b", target, "${env:SCIM_TOKEN}", ['  tokn: "${env:SCIM_TOKEN}"'])]);
  broken("token-inline-under-unknown-key", [...fileSource, ...rest("b", target, "${env:SCIM_TOKEN}", [`  bearer: ${TARGET_TOKEN}`])], true);
  broken("token-with-bearer-prefix", [...fileSource, ...rest("b", target, "${env:BEARER_TOKEN}")]);
  broken("yaml-error-on-inline-token", [...fileSource, ...rest("b", target, TARGET_TOKEN).map((l) => l.replace(`token: "${TARGET_TOKEN}"`, `token: "${TARGET_TOKEN}" and more`))], true);
  broken("password-in-url", [...fileSource, ...rest("b", target.replace("http://", "http://scimsync:${env:URL_PASSWORD}@"), "${env:SCIM_TOKEN}")]);
  broken("webhook-url-mistyped", [...fileSource, ...rest("b", target, "${env:SCIM_TOKEN}").map((l) => l.replace("${env:WEBHOOK_URL}", "${env:MISTYPED_WEBHOOK_URL}"))]);
  broken("client-secret-as-tenant", [...microsoftSource("${file:../client-secret}", "${file:../client-secret}"), ...rest("b", target, "${env:SCIM_TOKEN}")]);
  broken("client-secret-as-client-id", [...microsoftSource("${file:../client-secret}").map((l) => l.replace(`clientId: ${CLIENT_ID}`, 'clientId: "${env:AZURE_CLIENT_SECRET}"')), ...rest("b", target, "${env:SCIM_TOKEN}")]);
  broken("key-as-subject", [...googleSource("${file:../sa.json}").map((l) => l.replace(`subject: ${ADMIN}`, 'subject: "${file:../sa.json}"')), ...rest("b", target, "${env:SCIM_TOKEN}")]);
  // The key file damaged in the middle of its private key: JSON.parse's message quotes the text around the mistake.
  const damaged = googleKey.json.replace(/(private_key": "-----BEGIN PRIVATE KEY-----\\n[A-Za-z0-9+/]{30})/, '$1"');
  expect(damaged).not.toBe(googleKey.json);
  writeSecretFile("broken/sa-damaged.json", damaged, "a damaged copy of the Google key");
  broken("key-file-damaged", [...googleSource("${file:./sa-damaged.json}"), ...rest("b", target, "${env:SCIM_TOKEN}")]);
}

function aClosedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Running the CLI with every output on
// ---------------------------------------------------------------------------------------------

interface Run {
  /** The exit code the run must end with; "any" where the outcome is not this file's concern. */
  code: number | "any";
  env?: Record<string, string>;
  stdin?: string;
  /** Start under umask 000: whatever mode a file gets is then scimsync's doing. */
  umask000?: boolean;
  /** Secrets this run's output may hold on purpose (by name). */
  allowed?: string[];
}

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NO_COLOR: "1",
    SCIM_TOKEN: TARGET_TOKEN,
    AZURE_CLIENT_SECRET: CLIENT_SECRET,
    BEARER_TOKEN: `Bearer ${TARGET_TOKEN}`,
    URL_PASSWORD,
    WEBHOOK_URL: hook.url,
    MISTYPED_WEBHOOK_URL: hook.url.replace("http://", "htp://"),
    GITHUB_STEP_SUMMARY: path("step-summary.md"),
    NODE_EXTRA_CA_CERTS: caFile.path,
    ...extra,
  };
}

function spawnCli(args: string[], run: Omit<Run, "code">): ChildProcess {
  const [command, argv] = run.umask000
    ? ["/bin/sh", ["-c", 'umask 000; exec "$0" "$@"', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  return spawn(command, argv as string[], { env: environment(run.env), stdio: ["pipe", "pipe", "pipe"] });
}

function collect(child: ChildProcess, args: string[], run: Omit<Run, "code">): Promise<CliResult> {
  commandsRun++;
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`scimsync ${args.join(" ")} did not finish\n${stderr}`));
    }, 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const label = `scimsync ${args.map((a) => (a.startsWith(ws.dir) ? relative(ws.dir, a) || "." : a)).join(" ")}`;
      const allowed = run.allowed ?? [];
      runs.push({ name: `${label}: stdout`, text: stdout, allowed }, { name: `${label}: stderr`, text: stderr, allowed });
      const result: CliResult = { code: code ?? -1, stdout, stderr };
      try {
        result.json = JSON.parse(stdout);
      } catch {
        // human output
      }
      resolve(result);
    });
    if (run.stdin !== undefined) child.stdin!.end(run.stdin);
    else child.stdin!.end();
  });
}

async function cli(args: string[], run: Run): Promise<CliResult> {
  const result = await collect(spawnCli(args, run), args, run);
  if (run.code !== "any") expect(result.code, `scimsync ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(run.code);
  return result;
}

/** Independent runs, two at a time (the machine has two cores). */
async function cliAll(list: Array<[string[], Run]>): Promise<CliResult[]> {
  const results: CliResult[] = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      const [args, run] = list[i]!;
      results[i] = await cli(args, run);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

const c = (file: string) => ["--config", file];

/** Every read-only and writing command of one config, with every output format, as a first setup does it. */
async function everyCommand(file: string, change: () => void): Promise<void> {
  await cliAll([
    [["validate", ...c(file)], { code: 0 }],
    [["validate", ...c(file), "-o", "json"], { code: 0 }],
    [["test-connection", ...c(file)], { code: 0 }],
    [["test-connection", ...c(file), "-o", "json"], { code: 0 }],
    [["plan", ...c(file)], { code: 0 }],
    [["plan", ...c(file), "-o", "json", "--log-format", "json"], { code: 0 }],
    [["plan", ...c(file), "-o", "markdown", "--exit-code"], { code: 2 }],
    [["presets", "show", ...c(file)], { code: 0 }],
  ]);
  await cli(["sync", ...c(file), "-o", "json", "--log-format", "json"], { code: 0 });
  change();
  await cli(["plan", ...c(file), "-o", "markdown"], { code: 0 });
  await cli(["sync", ...c(file)], { code: 0 });
  await cli(["sync", ...c(file), "-o", "markdown", "--log-format", "json"], { code: 0 });
  await cliAll([
    [["plan", ...c(file), "--exit-code", "-o", "json"], { code: 0 }],
    [["status", ...c(file)], { code: 0 }],
    [["status", ...c(file), "-o", "json"], { code: 0 }],
    [["report", ...c(file)], { code: 0 }],
    [["report", ...c(file), "-o", "json"], { code: 0 }],
    [["report", ...c(file), "-o", "csv"], { code: 0 }],
  ]);
}

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
/** Dozens of processes per test, on a machine that may be busy with other work. */
const LONG = 300_000;

describe("every command, with known secrets and every output on", { timeout: LONG }, () => {
  it("Given a file source, When every command runs (and sync on demand, and after a change), Then each works", async () => {
    await everyCommand(CONFIG.file, () => {
      const users = directoryUsers();
      users[1] = { ...users[1]!, title: "Principal Engineer" };
      writeDirectory([...users, ...people(1, 4)]);
    });
    expect(fileTarget.users()).toHaveLength(4);
    writeDirectory([...directoryUsers(), ...people(2, 4)]);
    await cli(["plan", ...c(CONFIG.file), "--user", "person5@example.com", "-o", "json"], { code: 0 });
    await cli(["sync", ...c(CONFIG.file), "--user", "person5@example.com", "--log-format", "json"], { code: 0 });
    await cli(["sync", ...c(CONFIG.file), "--now", new Date().toISOString(), "--allow-mass-deprovision", "--retry-now"], { code: 0 });
    expect(fileTarget.users()).toHaveLength(5);
  });

  it("Given a Google service account key, When every command runs, Then each works and the fake issued tokens", async () => {
    await everyCommand(CONFIG.google, () => {
      google.data.users.find((u) => u.primaryEmail === "g3@example.com")!.suspended = true;
    });
    expect(googleTarget.users()).toHaveLength(3);
    expect(bearerTokensOf(google.requests).length).toBeGreaterThan(0);
  });

  it("Given a Microsoft client secret, When every command runs, Then each works and the fake issued tokens", async () => {
    await everyCommand(CONFIG.microsoft, () => graph.updateUser(graph.data.users[2]!.id, { jobTitle: "Engineer" }));
    expect(microsoftTarget.users()).toHaveLength(3);
    expect(bearerTokensOf(graph.requests).length).toBeGreaterThan(0);
  });

  it("Given a wrong SCIM token, or a target that quotes the token in its errors, When commands run, Then they fail as they should", async () => {
    const wrong = { SCIM_TOKEN: WRONG_TOKEN };
    await cliAll([
      [["plan", ...c(CONFIG.file), "-o", "json"], { code: 5, env: wrong }],
      [["sync", ...c(CONFIG.file), "-o", "json", "--log-format", "json"], { code: 5, env: wrong }],
      [["sync", ...c(CONFIG.file)], { code: 5, env: wrong }],
      [["test-connection", ...c(CONFIG.file)], { code: 5, env: wrong }],
      [["test-connection", ...c(CONFIG.file), "-o", "json"], { code: 5, env: wrong }],
    ]);

    // A careless target that echoes the Authorization header it was shown.
    proxy.decide = () => ({ kind: "respond", status: 401, body: { schemas: [SCIM_ERROR], status: "401", detail: `token Bearer ${TARGET_TOKEN} is not valid` } });
    await cli(["sync", ...c(CONFIG.file), "-o", "json"], { code: 5 });
    await cli(["test-connection", ...c(CONFIG.file), "-o", "json"], { code: 5 });

    // ...and in the error for one create: the failure is kept in the state, the audit log and the webhook's message.
    writeDirectory([...directoryUsers(), ...people(3, 4)]);
    proxy.decide = ({ method, body }) =>
      method === "POST" && body.includes("person6@example.com")
        ? { kind: "respond", status: 400, body: { schemas: [SCIM_ERROR], status: "400", scimType: "invalidValue", detail: `rejected for ${TARGET_TOKEN}` } }
        : { kind: "pass" };
    await cli(["sync", ...c(CONFIG.file), "--log-format", "json"], { code: 3 });
    await cli(["status", ...c(CONFIG.file), "-o", "json"], { code: 0 });
    await cli(["report", ...c(CONFIG.file), "-o", "csv"], { code: 0 });
    proxy.decide = () => ({ kind: "pass" });
    await cli(["sync", ...c(CONFIG.file), "-o", "json", "--retry-now"], { code: 0 });
  });

  it("Given a target that is down, When commands run, Then they fail and status still reads", async () => {
    await cliAll([
      [["plan", ...c(CONFIG.targetDown)], { code: 1 }],
      [["sync", ...c(CONFIG.targetDown), "-o", "json", "--log-format", "json"], { code: 1 }],
      [["test-connection", ...c(CONFIG.targetDown), "-o", "json"], { code: 1 }],
      [["status", ...c(CONFIG.targetDown)], { code: 0 }],
      [["reauthorize", ...c(CONFIG.targetDown), "--token-stdin"], { code: 1, stdin: `${NEW_TOKEN}\n` }],
    ]);
  });

  it("Given source credentials the directory refuses, When commands run, Then they fail naming the problem", async () => {
    const wrong = { AZURE_CLIENT_SECRET: WRONG_CLIENT_SECRET };
    await cliAll([
      [["test-connection", ...c(CONFIG.microsoftWrongSecret)], { code: 1, env: wrong }],
      [["sync", ...c(CONFIG.microsoftWrongSecret), "-o", "json", "--log-format", "json"], { code: 1, env: wrong }],
      [["plan", ...c(CONFIG.microsoftWrongSecret), "-o", "markdown"], { code: 1, env: wrong }],
      [["test-connection", ...c(CONFIG.googleForeignKey), "-o", "json"], { code: 1 }],
      [["sync", ...c(CONFIG.googleForeignKey)], { code: 1 }],
    ]);
    // An identity platform that quotes the secret it was sent, and a Graph that quotes the token.
    let echoing = true;
    graph.injectFault(
      (r) => echoing && r.path.endsWith("/oauth2/v2.0/token"),
      { status: 401, code: "invalid_client", message: `AADSTS7000215: Invalid client secret provided: ${CLIENT_SECRET}` },
      1000,
    );
    await cli(["sync", ...c(CONFIG.microsoft), "-o", "json"], { code: 1 });
    await cli(["test-connection", ...c(CONFIG.microsoft)], { code: 1 });
    echoing = false;
    google.failTokenRequests(401, { error: "unauthorized_client", error_description: "Client is unauthorized to retrieve access tokens using this method." }, 2);
    await cli(["sync", ...c(CONFIG.google), "--log-format", "json"], { code: 1 });
    await cli(["test-connection", ...c(CONFIG.google), "-o", "json"], { code: 1 });
    // Both directories answer again: nothing of the refusals is left for the runs below.
    await cliAll([
      [["test-connection", ...c(CONFIG.google)], { code: 0 }],
      [["test-connection", ...c(CONFIG.microsoft)], { code: 0 }],
    ]);
  });

  it("Given configs with a secret where another value belongs, When validate, plan, sync and test-connection read them, Then each refuses", async () => {
    const list: Array<[string[], Run]> = [];
    for (const file of BROKEN) {
      list.push(
        [["validate", ...c(file)], { code: 1 }],
        [["validate", ...c(file), "-o", "json"], { code: 1 }],
        [["sync", ...c(file), "-o", "json", "--log-format", "json"], { code: 1 }],
        [["test-connection", ...c(file)], { code: 1 }],
      );
    }
    await cliAll(list);
  });

  it("Given a token file with an old token, When sync is refused, reauthorize is offered a wrong and then the new token, Then only the new one is stored, and sync works", async () => {
    await cli(["sync", ...c(CONFIG.rotate), "-o", "json"], { code: 5 });
    await cli(["reauthorize", ...c(CONFIG.rotate), "--token-stdin"], { code: 5, stdin: `${REFUSED_TOKEN}\n` });
    await cli(["reauthorize", ...c(CONFIG.rotate)], { code: 1 });
    await cli(["reauthorize", ...c(CONFIG.rotate), "--token-stdin"], { code: 0, stdin: `${NEW_TOKEN}\n` });
    expect(readFileSync(path("rotate", "scim-token"), "utf8")).toBe(`${NEW_TOKEN}\n`);
    await cli(["sync", ...c(CONFIG.rotate), "--log-format", "json"], { code: 0 });
    await cli(["test-connection", ...c(CONFIG.rotate), "-o", "json"], { code: 0 });
    // ${env:} tokens are tested and not stored; source secrets are renewed with --source.
    await cli(["reauthorize", ...c(CONFIG.file), "--token-stdin"], { code: 0, stdin: TARGET_TOKEN });
    await cli(["reauthorize", ...c(CONFIG.microsoft), "--source", "--token-stdin"], { code: 1, stdin: `${WRONG_CLIENT_SECRET}\n` });
    await cli(["reauthorize", ...c(CONFIG.microsoft), "--source", "--token-stdin"], { code: 0, stdin: `${CLIENT_SECRET}\n` });
    await cli(["reauthorize", ...c(CONFIG.google), "--source", "--token-stdin"], { code: 1, stdin: foreignKey.json });
    await cli(["reauthorize", ...c(CONFIG.google), "--source", "--token-stdin"], { code: 1, stdin: `not a key file\n${googleKey.privateKeyPem}` });
    await cli(["reauthorize", ...c(CONFIG.google), "--source", "--token-stdin"], { code: 0, stdin: googleKey.json });
  });

  it("Given init's flags, When it writes a starter config, Then the file holds references only; a secret given where a name or URL belongs is refused", async () => {
    mkdirSync(path("init"), { recursive: true });
    const file = path("init", "scimsync.yaml");
    await cli(["init", ...c(file), "--source", "microsoft", "--preset", "generic", "--target-url", fileTarget.baseUrl, "--token-env", "SCIM_TOKEN"], { code: 0, umask000: true });
    const written = readFileSync(file, "utf8");
    expect(written).toContain("${env:SCIM_TOKEN}");
    // It holds no secret, so it may be read like any config.
    expect(statSync(file).mode & 0o777).toBe(0o644);
    await cliAll([
      [["validate", ...c(file)], { code: "any" }],
      [["init", ...c(file)], { code: 1 }],
      [["init", ...c(path("init", "b.yaml")), "--token-env", TARGET_TOKEN], { code: 1 }],
      [["init", ...c(path("init", "c.yaml")), "--target-url", TARGET_TOKEN], { code: 1 }],
      [["init", ...c(path("init", "d.yaml")), "--target-url", `https://app.example.com/scim/v2?token=${TARGET_TOKEN}`], { code: 1 }],
      [["init", ...c(path("init", "e.yaml")), "--target-url", `https://scimsync:${URL_PASSWORD}@app.example.com/scim/v2`], { code: 1 }],
    ]);
    expect(readdirSync(path("init"))).toEqual(["scimsync.yaml"]);
  });

  it("Given the commands that read no config, When they run, Then they work", async () => {
    const help = ["plan", "sync", "report", "status", "presets", "validate", "schema", "init", "test-connection", "reauthorize", "sandbox"].map(
      (command): [string[], Run] => [[command, "--help"], { code: 0 }],
    );
    await cliAll([
      [["--version"], { code: 0 }],
      [["--help"], { code: 0 }],
      [["schema"], { code: 0 }],
      [["presets"], { code: 0 }],
      [["presets", "-o", "json"], { code: 0 }],
      [["presets", "show", "generic"], { code: 0 }],
      [["no-such-command"], { code: 1 }],
      ...help,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// File modes
// ---------------------------------------------------------------------------------------------

const modeOf = (file: string) => statSync(file).mode & 0o777;
const octal = (mode: number) => mode.toString(8).padStart(3, "0");

describe("files that hold secrets or state are private", { timeout: LONG }, () => {
  it("Given umask 000, When sync runs twice, Then the state, its backup, the lock and its owner file, the audit log and the folders scimsync made are the owner's only", async () => {
    const dir = path("umask");
    mkdirSync(dir);
    writeText("umask/directory.json", JSON.stringify({ users: people(2, 20), groups: [] }));
    const file = writeText(
      "umask/scimsync.yaml",
      [
        "source: { type: file, path: ./directory.json }",
        "target:",
        `  url: ${proxy.baseUrl}`,
        '  token: "${env:SCIM_TOKEN}"',
        "  rateLimit: 0",
        "state: { path: ./state/deep/scimsync.state.json }",
        "log: { path: ./logs/deep/audit.ndjson }",
        "",
      ].join("\n"),
    );
    const state = join(dir, "state", "deep", "scimsync.state.json");
    const lock = `${state}.lock`;

    // Slow answers keep the run, and so its lock, alive long enough to look at it.
    let slow = true;
    proxy.decide = () => ({ kind: "pass", ...(slow ? { delayMs: 300 } : {}) });
    const args = ["sync", ...c(file), "-o", "json"];
    const running = collect(spawnCli(args, { umask000: true }), args, {});
    try {
      await waitUntil(() => existsSync(join(lock, "owner.json")), 20_000);
      const lockMode = modeOf(lock);
      const ownerMode = modeOf(join(lock, "owner.json"));
      expect({ lock: octal(lockMode), owner: octal(ownerMode) }).toEqual({ lock: "700", owner: "600" });
    } finally {
      slow = false;
    }
    const first = await running;
    proxy.decide = () => ({ kind: "pass" });
    expect(first.code, first.stderr).toBe(0);

    writeText("umask/directory.json", JSON.stringify({ users: people(3, 20), groups: [] }));
    await cli(["sync", ...c(file)], { code: 0, umask000: true });

    const modes = {
      state: modeOf(state),
      backup: modeOf(`${state}.bak`),
      audit: modeOf(join(dir, "logs", "deep", "audit.ndjson")),
      stateFolders: [modeOf(join(dir, "state")), modeOf(join(dir, "state", "deep"))],
      logFolders: [modeOf(join(dir, "logs")), modeOf(join(dir, "logs", "deep"))],
    };
    expect(modes).toEqual({ state: 0o600, backup: 0o600, audit: 0o600, stateFolders: [0o700, 0o700], logFolders: [0o700, 0o700] });
    expect(existsSync(lock)).toBe(false);
  });

  it("Given umask 000 and a token file others can read, When reauthorize stores the new token, Then the file is 0600, after a warning about the old one", async () => {
    const tokenFile = writeSecretFile("umask-rotate/scim-token", `${TARGET_TOKEN}\n`, "target.token reads it; reauthorize writes the new token here", 0o644);
    const file = writeText(
      "umask-rotate/scimsync.yaml",
      ["source: { type: file, path: ../directory.json }", ...rest("umask-rotate", rotatedTarget.baseUrl, "${file:./scim-token}")].join("\n"),
    );
    const result = await cli(["reauthorize", ...c(file), "--token-stdin"], { code: 0, stdin: `${NEW_TOKEN}\n`, umask000: true });
    expect(result.stderr).toContain(`the secret file ${tokenFile} can be read by other users (mode 644); restrict it with chmod 600 ${tokenFile}`);
    expect(readFileSync(tokenFile, "utf8")).toBe(`${NEW_TOKEN}\n`);
    expect(octal(modeOf(tokenFile))).toBe("600");
    const after = await cli(["sync", ...c(file)], { code: 0, umask000: true });
    expect(after.stderr).not.toContain("can be read by other users");
  });

  it("Given umask 000, When `scimsync sandbox --data` stores what a sync wrote, Then its data file is 0600", async () => {
    const data = path("sandbox", "data.json");
    mkdirSync(path("sandbox"));
    const args = ["sandbox", "--port", "0", "--token", SANDBOX_TOKEN, "--data", data];
    const child = spawnCli(args, { umask000: true });
    const done = collect(child, args, { allowed: ["sandbox token"] });
    let firstLine = "";
    child.stdout!.on("data", (d: Buffer) => (firstLine += d.toString()));
    try {
      await waitUntil(() => firstLine.includes("\n"), 20_000);
      const { url, token } = JSON.parse(firstLine.split("\n")[0]!) as { url: string; token: string };
      expect(token).toBe(SANDBOX_TOKEN);
      const file = writeText(
        "sandbox/scimsync.yaml",
        ["source: { type: file, path: ../directory.json }", ...rest("sandbox", url, "${env:SANDBOX_TOKEN}")].join("\n"),
      );
      await cli(["sync", ...c(file), "-o", "json"], { code: 0, env: { SANDBOX_TOKEN } });
      expect(JSON.parse(readFileSync(data, "utf8")).users.length).toBeGreaterThan(0);
      expect(octal(modeOf(data))).toBe("600");
    } finally {
      child.kill("SIGTERM");
    }
    expect((await done).code).toBe(0);
  });

  it.each([
    ["644", true, 0o644],
    ["640", true, 0o640],
    ["600", false, 0o600],
  ])("Given a ${file:} token file with mode %s, When sync and validate run, Then they work, and warn with the chmod fix when others can read it: %s", async (_, warns, mode) => {
    const name = `scim-token-${octal(mode)}`;
    const tokenFile = writeSecretFile(`modes/${name}`, `${TARGET_TOKEN}\n`, "target.token reads it (${file:})", mode);
    const file = writeText(`modes/${octal(mode)}.yaml`, [...fileSource.map((l) => l.replace("./", "../")), ...rest(`modes-${octal(mode)}`, fileTarget.baseUrl, `\${file:./${name}}`)].join("\n"));
    const [sync, validate] = await cliAll([
      [["sync", ...c(file)], { code: 0 }],
      [["validate", ...c(file)], { code: 0 }],
    ]);
    const warning = `target.token: the secret file ${tokenFile} can be read by other users (mode ${octal(mode)}); restrict it with chmod 600 ${tokenFile}`;
    for (const result of [sync!, validate!]) {
      if (warns) expect(result.stderr).toContain(warning);
      else expect(result.stderr).not.toContain("can be read by other users");
    }
    // The warning did not make scimsync change a file it only reads.
    expect(modeOf(tokenFile)).toBe(mode);
  });
});

// ---------------------------------------------------------------------------------------------
// The scan
// ---------------------------------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : entry.isFile() ? [full] : [];
  });
}

describe("the scan", () => {
  it("Then no secret, nor its first or last 8 characters, is in any output, any file the runs left, or any webhook body", () => {
    const issued = [...bearerTokensOf(google.requests), ...bearerTokensOf(graph.requests)];
    const secrets: NamedSecret[] = [
      { name: "SCIM token", value: TARGET_TOKEN },
      { name: "rejected SCIM token", value: WRONG_TOKEN },
      { name: "renewed SCIM token", value: NEW_TOKEN },
      { name: "refused new SCIM token", value: REFUSED_TOKEN },
      { name: "sandbox token", value: SANDBOX_TOKEN },
      { name: "client secret", value: CLIENT_SECRET },
      { name: "wrong client secret", value: WRONG_CLIENT_SECRET },
      { name: "Google key", value: googleKey.privateKeyPem },
      { name: "foreign Google key", value: foreignKey.privateKeyPem },
      { name: "password in a URL", value: URL_PASSWORD },
      { name: "webhook secret", value: hook.secret },
      { name: "webhook URL", value: hook.url, fragments: false },
      ...issued.map((token, i) => ({ name: `issued access token #${i + 1}`, value: token })),
    ];
    const files = filesUnder(ws.dir).filter((f) => !secretSources.has(f));
    const fileTexts: NamedText[] = files.map((f) => ({ name: relative(ws.dir, f), text: readFileSync(f, "utf8") }));
    const bodies: NamedText[] = hook.requests.map((r, i) => ({ name: `webhook POST #${i + 1}`, text: r.body }));

    const leaks = findSecrets([...runs, ...fileTexts, ...bodies], secrets);

    // The scan would see a leak: the sandbox's own output without its allowance, and the key file as JSON escapes it.
    const sandboxOutput = runs.filter((r) => r.allowed?.includes("sandbox token")).map(({ name, text }) => ({ name, text }));
    expect(findSecrets(sandboxOutput, secrets)).toEqual(expect.arrayContaining([expect.stringMatching(/^sandbox token \(whole\) in scimsync sandbox/)]));
    expect(findSecrets([{ name: "sa.json", text: readFileSync(path("sa.json"), "utf8") }], secrets)).toEqual(["Google key (first 8 after the key header) in sa.json"]);

    // The scan looked where the secrets would have gone.
    const names = files.map((f) => relative(ws.dir, f));
    expect(names).toEqual(
      expect.arrayContaining([
        "step-summary.md",
        "state/file.state.json",
        "state/file.state.json.bak",
        "state/google.state.json",
        "state/microsoft.state.json",
        "rotate/state/rotate.state.json",
        "logs/file-audit.ndjson",
        "logs/google-audit.ndjson",
        "logs/microsoft-audit.ndjson",
        "init/scimsync.yaml",
        "sandbox/data.json",
      ]),
    );
    expect(issued.length).toBeGreaterThanOrEqual(4);
    expect(hook.requests.length).toBeGreaterThan(10);
    expect(commandsRun).toBeGreaterThan(100);

    console.log(
      `secrets leaked: ${leaks.length} (${commandsRun} commands run, ${runs.length} outputs, ${files.length} files, ` +
        `${bodies.length} webhook bodies scanned for ${secrets.length} secrets; ${secretSources.size} secret files not scanned: ` +
        `${[...secretSources.keys()].map((f) => relative(ws.dir, f)).join(", ")})`,
    );
    expect(leaks).toEqual([]);
  });
});
