/**
 * reauthorize and test-connection end to end: the real CLI against the sandbox, whose token is
 * the "new" one; the token file starts with an expired one. Checks that a rejected token is
 * never stored, that a good one replaces the `${file:}` file atomically with mode 0600, that
 * `${env:}` and inline tokens are not touched, and that no token is ever printed or saved
 * anywhere but in the token file.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startSandbox } from "../../src/sandbox/server.js";
import { expectNoSecrets } from "../support/secret-scan.js";
import { CLI, configYaml, people, runCli, useSandboxAndWorkspace, type CliResult } from "./harness.js";

const ctx = useSandboxAndWorkspace();
const EXPIRED = "expired-0123456789abcdef";

/** The CLI with `input` on its stdin (runCli gives it none). */
function runWithInput(args: string[], input: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** A config whose target.token is `${file:./scim-token}`, the file holding an expired token. */
function writeFileTokenConfig(): string {
  const tokenFile = join(ctx.ws.dir, "scim-token");
  writeFileSync(tokenFile, `${EXPIRED}\n`, { mode: 0o600 });
  writeFileSync(ctx.ws.config, configYaml(ctx.sandbox.baseUrl).replace("${env:SCIM_TOKEN}", "${file:./scim-token}"));
  return tokenFile;
}

const reauthorize = (input: string, extra: string[] = []) => runWithInput(["reauthorize", "--config", ctx.ws.config, "--token-stdin", ...extra], input);

/** Everything in the workspace except the token file, for the secret scan. */
function workspaceFilesExcept(skip: string): string[] {
  return readdirSync(ctx.ws.dir)
    .map((name) => join(ctx.ws.dir, name))
    .filter((path) => path !== skip && statSync(path).isFile())
    .map((path) => readFileSync(path, "utf8"));
}

describe("reauthorize", () => {
  it("Given a token the target rejects, When reauthorize reads it from stdin, Then it exits 5 and the token file is unchanged", async () => {
    const tokenFile = writeFileTokenConfig();
    const before = statSync(tokenFile);

    const result = await reauthorize("not-the-token\n");

    expect(result.code).toBe(5);
    expect(result.stderr).toContain("the target rejected the new token; nothing was stored");
    expect(readFileSync(tokenFile, "utf8")).toBe(`${EXPIRED}\n`);
    expect(statSync(tokenFile).ino).toBe(before.ino);
    expect(statSync(tokenFile).mtimeMs).toBe(before.mtimeMs);
    // Only the test query was sent, and it wrote nothing.
    expect(ctx.sandbox.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(["GET /scim/v2/Users 401"]);
    expectNoSecrets([result.stdout, result.stderr], ["not-the-token"]);
  });

  it("Given the target's token on stdin, When reauthorize runs, Then it is tested with an empty-filter query, stored atomically with mode 0600, and never shown", async () => {
    const tokenFile = writeFileTokenConfig();
    await ctx.ws.writeDirectory(people(3));
    const before = statSync(tokenFile);

    const result = await reauthorize(`${ctx.sandbox.token}\n`);

    expect(result.code, result.stderr).toBe(0);
    const filterQuery = decodeURIComponent(ctx.sandbox.requests[0]!.query);
    expect(filterQuery).toMatch(/^filter=userName eq "[0-9a-f-]{36}@scimsync\.invalid"&startIndex=1&count=1$/);
    expect(result.stdout).toContain(`${ctx.sandbox.baseUrl} accepted the new token`);
    expect(result.stdout).toContain("the target reports 0 user(s)");
    expect(result.stdout).toContain(`stored in ${tokenFile} (mode 600)`);
    expect(readFileSync(tokenFile, "utf8")).toBe(`${ctx.sandbox.token}\n`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    // Replaced by a rename, not rewritten in place, and no temp file left behind.
    expect(statSync(tokenFile).ino).not.toBe(before.ino);
    expect(readdirSync(ctx.ws.dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);

    // The next run uses it, and nothing it writes holds the token.
    const sync = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(ctx.sandbox.users()).toHaveLength(3);
    expectNoSecrets([result.stdout, result.stderr, sync.stdout, sync.stderr, ...workspaceFilesExcept(tokenFile)], [ctx.sandbox.token]);
  });

  it("Given target.token reads an environment variable, When reauthorize gets a good token, Then it stores nothing, says what to update, and exits 0", async () => {
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));
    const filesBefore = readdirSync(ctx.ws.dir).sort();

    const result = await runWithInput(["reauthorize", "--config", ctx.ws.config, "--token-stdin"], ctx.sandbox.token, { SCIM_TOKEN: EXPIRED });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("accepted the new token");
    expect(result.stdout).toContain("not stored: target.token is ${env:SCIM_TOKEN}");
    expect(result.stdout).toContain("set SCIM_TOKEN to the new SCIM token");
    expect(result.stdout).toContain("systemd unit");
    expect(readdirSync(ctx.ws.dir).sort()).toEqual(filesBefore);
    expectNoSecrets([result.stdout, result.stderr], [ctx.sandbox.token]);
  });

  it("Given a token written in the config itself, When reauthorize runs, Then it refuses before asking, and the config is unchanged", async () => {
    const yaml = configYaml(ctx.sandbox.baseUrl).replace('"${env:SCIM_TOKEN}"', EXPIRED);
    await ctx.ws.writeConfig(yaml);

    const result = await reauthorize(ctx.sandbox.token);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("target.token is written in the config file itself");
    expect(result.stderr).toContain('set target.token: "${file:./scim-token}"');
    expect(readFileSync(ctx.ws.config, "utf8")).toBe(yaml);
    expect(ctx.sandbox.requests).toEqual([]);
  });

  it("Given no terminal and no --token-stdin, When reauthorize runs, Then it asks for --token-stdin; and a --token option does not exist", async () => {
    writeFileTokenConfig();

    const piped = await runWithInput(["reauthorize", "--config", ctx.ws.config], ctx.sandbox.token);
    const inArgv = await runCli(["reauthorize", "--config", ctx.ws.config, "--token", ctx.sandbox.token]);

    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain("pipe it in with --token-stdin");
    expect(inArgv.code).toBe(1);
    expect(inArgv.stderr).toContain("unknown option '--token'");
    expect(ctx.sandbox.requests).toEqual([]);
  });

  it("Given a malformed token (Bearer in front), When reauthorize runs, Then it says so and sends nothing", async () => {
    writeFileTokenConfig();

    const result = await reauthorize(`Bearer ${ctx.sandbox.token}\n`);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('without "Bearer " in front');
    expect(ctx.sandbox.requests).toEqual([]);
    expect(readFileSync(join(ctx.ws.dir, "scim-token"), "utf8")).toBe(`${EXPIRED}\n`);
  });
});

/** The CLI at a pseudo-terminal (util-linux `script`), typing `keys` once the prompt is shown. */
function runAtTerminal(args: string[], keys: string): Promise<CliResult> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qefc", command, "/dev/null"], { env: { ...process.env, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let typed = false;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      // Typed only once the prompt is up: keys typed earlier would be echoed by the terminal itself.
      if (!typed && stdout.includes("(not shown): ")) {
        typed = true;
        child.stdin.write(keys);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr: "" }));
  });
}

const hasScript = existsSync("/usr/bin/script") || existsSync("/bin/script");

describe.skipIf(!hasScript)("reauthorize at a terminal", () => {
  it("Given a terminal, When the token is typed at the prompt, Then it is not echoed and is stored", async () => {
    const tokenFile = writeFileTokenConfig();

    const result = await runAtTerminal(["reauthorize", "--config", ctx.ws.config], `${ctx.sandbox.token}\r`);

    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain("New SCIM token for");
    expect(result.stdout).toContain("accepted the new token");
    expect(readFileSync(tokenFile, "utf8")).toBe(`${ctx.sandbox.token}\n`);
    expectNoSecrets([result.stdout], [ctx.sandbox.token]);
  });

  it("Given a terminal, When Ctrl-C is pressed at the prompt, Then it exits 130 and nothing is sent or stored", async () => {
    const tokenFile = writeFileTokenConfig();

    const result = await runAtTerminal(["reauthorize", "--config", ctx.ws.config], "abc\u0003");

    expect(result.code).toBe(130);
    expect(readFileSync(tokenFile, "utf8")).toBe(`${EXPIRED}\n`);
    expect(ctx.sandbox.requests).toEqual([]);
  });
});

describe("test-connection", () => {
  it("Given a working target and directory file, When test-connection runs, Then it reports what the target supports and exits 0", async () => {
    await ctx.ws.writeDirectory(people(4));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));

    const json = await runCli(["test-connection", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    const human = await runCli(["test-connection", "--config", ctx.ws.config], ctx.env);

    expect(json.code, json.stderr).toBe(0);
    expect(json.json).toEqual({
      ok: true,
      target: {
        url: ctx.sandbox.baseUrl,
        reachable: true,
        authenticated: true,
        totalUsers: 0,
        groups: true,
        totalGroups: 0,
        serviceProviderConfig: {
          patch: true,
          bulk: true,
          filter: true,
          sort: true,
          etag: false,
          changePassword: false,
          maxResults: 1000,
          authenticationSchemes: ["oauthbearertoken"],
        },
      },
      source: { type: "file", endpoint: ctx.ws.directory, reachable: true, authenticated: null, users: 4 },
      warnings: [],
    });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("✓ token accepted");
    expect(human.stdout).toContain("✓ readable: 4 user(s)");
    expect(human.stdout).toContain("All checks passed.");
    // Reads only.
    expect(ctx.sandbox.requests.every((r) => r.method === "GET")).toBe(true);
    expectNoSecrets([json.stdout, json.stderr, human.stdout, human.stderr], [ctx.sandbox.token]);
  });

  it("Given a wrong token, When test-connection runs, Then it exits 5 and the target is reachable but not authenticated", async () => {
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));

    const result = await runCli(["test-connection", "--config", ctx.ws.config, "--output", "json"], { SCIM_TOKEN: EXPIRED });

    expect(result.code).toBe(5);
    expect(result.json.ok).toBe(false);
    expect(result.json.target).toMatchObject({ reachable: true, authenticated: false, groups: null, serviceProviderConfig: null });
    expect(result.json.target.error).toMatchObject({ kind: "auth", check: "users" });
    expect(result.json.target.error.hint).toContain(`scimsync reauthorize --config ${ctx.ws.config}`);
    expect(result.json.source).toMatchObject({ reachable: true, users: 1 });
  });

  it("Given nothing listens on the target's port, When test-connection runs with a short timeout, Then it exits 1 quickly", async () => {
    const gone = await startSandbox();
    const url = gone.baseUrl;
    await gone.close();
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml(url));

    const started = Date.now();
    const result = await runCli(["test-connection", "--config", ctx.ws.config, "--output", "json", "--timeout", "2"], ctx.env);

    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.code).toBe(1);
    expect(result.json.target).toMatchObject({ reachable: false, authenticated: null });
    expect(result.json.target.error.message).toContain("connection refused");
  });

  it("Given a target without /Groups and a missing directory file, When test-connection runs, Then groups are false and the source check fails", async () => {
    const noGroups = await startSandbox({ groups: false });
    try {
      await ctx.ws.writeConfig(configYaml(noGroups.baseUrl));

      const result = await runCli(["test-connection", "--config", ctx.ws.config], { SCIM_TOKEN: noGroups.token });

      expect(result.code).toBe(1);
      expect(result.stdout).toContain("– groups: none (/Groups answered 404 or 501)");
      expect(result.stdout).toMatch(/✗ cannot read the directory file .*directory\.json: it does not exist/);
    } finally {
      await noGroups.close();
    }
  });
});

describe("sync with a rejected token", () => {
  it("Given the target answers 401, When sync runs, Then it exits 5 and says to run scimsync reauthorize", async () => {
    await ctx.ws.writeDirectory(people(1));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl));

    const result = await runCli(["sync", "--config", ctx.ws.config], { SCIM_TOKEN: EXPIRED });

    expect(result.code).toBe(5);
    expect(result.stderr).toContain("the target rejected the token; run `scimsync reauthorize --config <file>`");
    expect(existsSync(ctx.ws.state)).toBe(false);
  });
});
