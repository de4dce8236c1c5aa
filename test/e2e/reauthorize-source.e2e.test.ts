/**
 * reauthorize --source and test-connection against the fake Microsoft identity platform and
 * Graph, and the fake Google token endpoint and Directory API: a new client secret or service
 * account key is tested with a token and a page of one user before it replaces the `${file:}`
 * file; a refused one is not stored; neither is ever printed.
 */
import { spawn } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeServiceAccountKey, startFakeGoogleDirectory, type FakeGoogleDirectory } from "../support/fake-google-directory.js";
import { startFakeGraph, type FakeGraph } from "../support/fake-graph.js";
import { expectNoSecrets } from "../support/secret-scan.js";
import { makeTestCertificates, writeCaFile } from "../support/test-ca.js";
import { CLI, runCli, useSandboxAndWorkspace, type CliResult } from "./harness.js";

const ctx = useSandboxAndWorkspace();

function runWithInput(args: string[], input: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const result: CliResult = { code: code ?? -1, stdout, stderr };
      try {
        result.json = JSON.parse(stdout);
      } catch {
        // human output
      }
      resolve(result);
    });
    child.stdin.end(input);
  });
}

const targetLines = () => ["target:", `  url: ${ctx.sandbox.baseUrl}`, '  token: "${env:SCIM_TOKEN}"', "  rateLimit: 0", "state: { path: ./scimsync.state.json }", ""];

describe("Microsoft Entra ID client secret", () => {
  const CLIENT_ID = "6b3f1c2e-8d4a-4e7b-9c1f-2a3b4c5d6e7f";
  const NEW_SECRET = "Nw8~reauthR7vN4pW1zT9bC6hJ3sL0dG5aE2uYk";
  const OLD_SECRET = "Od8~expiredQ1vN4pW1zT9bC6hJ3sL0dG5aE2uY";
  let fake: FakeGraph;
  let caFile: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    caFile = await writeCaFile((await makeTestCertificates()).caPem);
    fake = await startFakeGraph({
      data: { users: [{ id: "7f0e5a1c-3b2d-4c8e-9a6f-000000000001", userPrincipalName: "ada@contoso.example", accountEnabled: true }], groups: [] },
      clientSecret: NEW_SECRET,
      clientId: CLIENT_ID,
    });
  });
  afterAll(async () => {
    await fake?.close();
    await caFile?.remove();
  });

  function writeConfig(): string {
    const secretFile = join(ctx.ws.dir, "client-secret");
    writeFileSync(secretFile, `${OLD_SECRET}\n`, { mode: 0o600 });
    writeFileSync(
      ctx.ws.config,
      [
        "source:",
        "  type: microsoft",
        `  tenantId: ${fake.tenantId}`,
        `  clientId: ${CLIENT_ID}`,
        '  clientSecret: "${file:./client-secret}"',
        `  authorityHost: ${fake.url}`,
        `  graphUrl: ${fake.url}`,
        ...targetLines(),
      ].join("\n"),
    );
    return secretFile;
  }
  const env = () => ({ ...ctx.env, NODE_EXTRA_CA_CERTS: caFile.path });

  it("Given a secret Entra refuses, When reauthorize --source runs, Then it exits 1 and the secret file is unchanged", async () => {
    const secretFile = writeConfig();

    const result = await runWithInput(["reauthorize", "--source", "--token-stdin", "--config", ctx.ws.config], "Wr0ng~secretR7vN4pW1zT9bC6hJ3sL0dG5aE2\n", env());

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Microsoft Entra ID refused the new client secret; nothing was stored");
    expect(result.stderr).toContain("AADSTS7000215");
    expect(readFileSync(secretFile, "utf8")).toBe(`${OLD_SECRET}\n`);
  });

  it("Given the app's current secret, When reauthorize --source runs, Then it signs in, lists one user, and stores the secret 0600", async () => {
    const secretFile = writeConfig();
    const before = fake.requests.length;

    const result = await runWithInput(["reauthorize", "--source", "--token-stdin", "--config", ctx.ws.config], `${NEW_SECRET}\n`, env());

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`signed in to tenant ${fake.tenantId} as app ${CLIENT_ID} with the new client secret`);
    expect(result.stdout).toContain(`stored in ${secretFile} (mode 600)`);
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`)).toEqual([
      'GET /v1.0/users {"$select":"id","$top":"1"}',
    ]);
    expect(readFileSync(secretFile, "utf8")).toBe(`${NEW_SECRET}\n`);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expectNoSecrets([result.stdout, result.stderr], [NEW_SECRET, OLD_SECRET]);

    const check = await runCli(["test-connection", "--config", ctx.ws.config, "--output", "json"], env());
    expect(check.code, check.stderr).toBe(0);
    expect(check.json.source).toEqual({
      type: "microsoft",
      endpoint: `Microsoft Graph ${fake.url}, tenant ${fake.tenantId}, app ${CLIENT_ID} (secret)`,
      reachable: true,
      authenticated: true,
      users: null,
    });
    expectNoSecrets([check.stdout, check.stderr], [NEW_SECRET]);
  });
});

describe("Google service account key", () => {
  const ADMIN = "admin@example.com";
  let fake: FakeGoogleDirectory;
  let newKey: ReturnType<typeof makeServiceAccountKey>;
  let oldKey: ReturnType<typeof makeServiceAccountKey>;

  beforeAll(async () => {
    newKey = makeServiceAccountKey();
    oldKey = makeServiceAccountKey();
    fake = await startFakeGoogleDirectory({
      data: { users: [{ id: "104857600000000000001", primaryEmail: ADMIN, isAdmin: true, orgUnitPath: "/" }], groups: [] },
      publicKeyPem: newKey.publicKeyPem,
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  function writeConfig(): string {
    const keyFile = join(ctx.ws.dir, "sa.json");
    writeFileSync(keyFile, oldKey.json, { mode: 0o600 });
    writeFileSync(
      ctx.ws.config,
      [
        "source:",
        "  type: google",
        '  credentials: "${file:./sa.json}"',
        `  subject: ${ADMIN}`,
        `  apiRoot: ${fake.rootUrl}`,
        `  tokenUrl: ${fake.tokenUrl}`,
        ...targetLines(),
      ].join("\n"),
    );
    return keyFile;
  }

  it("Given the old key, When test-connection runs, Then the source is reachable but refused", async () => {
    writeConfig();

    const result = await runCli(["test-connection", "--config", ctx.ws.config, "--output", "json"], ctx.env);

    expect(result.code).toBe(1);
    expect(result.json.target.authenticated).toBe(true);
    expect(result.json.source).toMatchObject({ type: "google", reachable: true, authenticated: false });
    expect(result.json.source.error.message).toContain("Google refused the service account's token request");
    expectNoSecrets([result.stdout, result.stderr], [oldKey.key.private_key!]);
  });

  it("Given something that is not a key, When reauthorize --source runs, Then it is refused before anything is sent", async () => {
    const keyFile = writeConfig();
    const before = fake.requests.length + fake.tokenRequests.length;

    const result = await runWithInput(["reauthorize", "--source", "--token-stdin", "--config", ctx.ws.config], '{"type":"authorized_user"}', ctx.env);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the new key is a key of type authorized_user");
    expect(fake.requests.length + fake.tokenRequests.length).toBe(before);
    expect(readFileSync(keyFile, "utf8")).toBe(oldKey.json);
  });

  it("Given a new key on stdin, When reauthorize --source runs, Then one users.list page of one is read and the key is stored 0600", async () => {
    const keyFile = writeConfig();
    const before = fake.requests.length;

    const result = await runWithInput(["reauthorize", "--source", "--token-stdin", "--config", ctx.ws.config], newKey.json, ctx.env);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${newKey.key.client_email} signed in for ${ADMIN} with the new key`);
    const reads = fake.requests.slice(before);
    expect(reads).toHaveLength(1);
    expect(reads[0]!.query).toMatchObject({ customer: "my_customer", maxResults: "1" });
    expect(readFileSync(keyFile, "utf8")).toBe(`${newKey.json}\n`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expectNoSecrets([result.stdout, result.stderr], [newKey.key.private_key!, oldKey.key.private_key!]);

    const check = await runCli(["test-connection", "--config", ctx.ws.config], ctx.env);
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toContain("✓ credentials accepted: users.list answered");
  });
});
