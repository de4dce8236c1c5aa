/**
 * First setup at a terminal, through the real CLI: init writes a config without secrets,
 * validate checks it offline, schema prints what editors use. No target is needed.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectNoSecrets } from "../support/secret-scan.js";
import { aPrivateKey, aServiceAccountKeyFile } from "../support/service-account-key.js";
import { makeWorkspace, runCli, type Workspace } from "./harness.js";

const KNOWN_SECRET = "known-secret-e2e-4Hq9";
const ENV = { SCIM_TOKEN: KNOWN_SECRET, AZURE_CLIENT_SECRET: KNOWN_SECRET };

let ws: Workspace;
beforeEach(async () => {
  ws = await makeWorkspace();
});
afterEach(async () => {
  await ws.cleanup();
});

describe("scimsync init", () => {
  it.each(["file", "google", "microsoft"])(
    "Given --source %s without a terminal and secrets in the environment, Then it writes a config without them that validates once they exist",
    async (source) => {
      const init = await runCli(["init", "--config", ws.config, "--source", source, "--preset", "komeet"], ENV);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toContain(`wrote ${ws.config} (source ${source}, preset komeet)`);
      const text = await readFile(ws.config, "utf8");
      expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./config.schema.json");
      expectNoSecrets([text, init.stdout, init.stderr], [KNOWN_SECRET]);

      if (source === "google") await writeFile(join(ws.dir, "service-account.json"), aServiceAccountKeyFile(), { mode: 0o600 });
      const validate = await runCli(["validate", "--config", ws.config, "--output", "json"], ENV);
      expect(validate.code, validate.stderr).toBe(0);
      expect(validate.json).toMatchObject({ valid: true, issues: [], warnings: [], summary: { source: { type: source }, target: { preset: "komeet" } } });
      expectNoSecrets([validate.stdout, validate.stderr], [KNOWN_SECRET, aPrivateKey().split("\n")[1]!]);
    },
  );

  it("Given an existing config, Then it refuses to overwrite it without --force", async () => {
    await ws.writeConfig("# mine\n");
    const refused = await runCli(["init", "--config", ws.config]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${ws.config} already exists; init does not overwrite it`);
    expect(refused.stderr).toContain("--force");
    expect(await readFile(ws.config, "utf8")).toBe("# mine\n");

    const forced = await runCli(["init", "--config", ws.config, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(ws.config, "utf8")).toContain("preset: generic");
  });
});

describe("scimsync validate", () => {
  it("Given a target and Google endpoints nobody answers, Then it says config OK at once: nothing is contacted and no state file is written", async () => {
    await writeFile(join(ws.dir, "service-account.json"), aServiceAccountKeyFile(), { mode: 0o600 });
    await ws.writeConfig(
      [
        "source:",
        "  type: google",
        '  credentials: "${file:./service-account.json}"',
        "  subject: admin@example.com",
        "  apiRoot: https://127.0.0.1:1/",
        "  tokenUrl: https://127.0.0.1:1/token",
        "target:",
        "  url: https://10.255.255.1/scim/v2", // unroutable: a connection attempt would hang
        '  token: "${env:SCIM_TOKEN}"',
        "  timeoutSeconds: 60",
      ].join("\n"),
    );
    const started = Date.now();
    const result = await runCli(["validate", "--config", ws.config], ENV, 15_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^config OK: /);
    expect(result.stdout).toContain("target  https://10.255.255.1/scim/v2 (preset generic)");
    expect(result.stdout).toContain("https://www.googleapis.com/auth/admin.directory.orgunit.readonly");
    expect(existsSync(ws.state)).toBe(false);
    expectNoSecrets([result.stdout, result.stderr], [KNOWN_SECRET, aPrivateKey().split("\n")[1]!]);
  });

  it("Given several mistakes, Then it lists every one with its key path and exits 1", async () => {
    await ws.writeConfig(
      [
        "source: { type: file, path: ./directory.json }",
        'target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}", concurency: 8 }',
        "deprovision: { deleted: { suspend: 7d, delete: soon } }",
        "safety: { maxDeprovisionPercent: 150 }",
      ].join("\n"),
    );
    const json = await runCli(["validate", "--config", ws.config, "--output", "json"], ENV);
    expect(json.code).toBe(1);
    expect(json.json.valid).toBe(false);
    expect(json.json.warnings).toEqual([]);
    expect(json.json.issues.map((i: { path: string }) => i.path)).toEqual(["target.concurency", "deprovision.deleted.delete", "safety.maxDeprovisionPercent"]);

    const human = await runCli(["validate", "--config", ws.config], ENV);
    expect(human.code).toBe(1);
    expect(human.stdout).toBe("");
    expect(human.stderr).toContain(`error: invalid configuration in ${ws.config}:`);
    expect(human.stderr).toContain('  - target.concurency: unknown key; did you mean "concurrency"?');
    expect(human.stderr).toContain("  - deprovision.deleted.delete:");
    expect(human.stderr).toContain("  - safety.maxDeprovisionPercent:");
  });

  it("Given a token from an environment variable that is not set, Then it names the variable and exits 1", async () => {
    await ws.writeConfig('source: { type: file, path: ./d.json }\ntarget: { url: "https://app.example.com/scim/v2", token: "${env:SCIMSYNC_E2E_UNSET_TOKEN}" }\n');
    const result = await runCli(["validate", "--config", ws.config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("target.token: environment variable SCIMSYNC_E2E_UNSET_TOKEN is not set");
  });
});

describe("scimsync schema", () => {
  it("prints the JSON Schema committed as config.schema.json", async () => {
    const result = await runCli(["schema"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ $schema: "https://json-schema.org/draft/2020-12/schema", title: "scimsync configuration", type: "object" });
    expect(result.stdout).toBe(readFileSync(resolve(import.meta.dirname, "../../config.schema.json"), "utf8"));
  });
});
