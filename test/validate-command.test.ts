/**
 * `scimsync validate`'s core and views: the verdict on a config file, offline, with the summary
 * of what the source must be granted, and never a secret in what it prints.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { checkConfig } from "../src/config/check-config.js";
import { displayUrl } from "../src/config/config-summary.js";
import { makeStyle } from "../src/ui/style.js";
import { renderValidConfig, validationJson } from "../src/ui/validation-view.js";
import { expectNoSecrets } from "./support/secret-scan.js";
import { aPrivateKey, aServiceAccountKeyFile, SERVICE_ACCOUNT } from "./support/service-account-key.js";

const SCIM_TOKEN = "tok-validate-Qx7vR2mK9wZ4";
const CLIENT_SECRET = "azure-secret-Lm3~Np8Qr2";
const ENV = { SCIM_TOKEN, AZURE_CLIENT_SECRET: CLIENT_SECRET };
const SECRETS = [SCIM_TOKEN, CLIENT_SECRET, aPrivateKey().split("\n")[1]!];
const plain = makeStyle(false);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-validate-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function check(yaml: string, env: NodeJS.ProcessEnv = ENV) {
  const file = join(dir, "scimsync.yaml");
  await writeFile(file, yaml);
  return checkConfig(file, env);
}

const TARGET = ['target:', '  url: https://app.example.com/scim/v2', '  token: "${env:SCIM_TOKEN}"'].join("\n");

describe("checkConfig", () => {
  it("Given a valid file config, Then it is valid with its summary and no warnings", async () => {
    const result = await check(`source: { type: file, path: ./directory.json }\n${TARGET}\n  preset: comeet\n`);
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.warnings).toEqual([]);
    expect(result.summary).toEqual({
      source: { type: "file", path: join(dir, "directory.json") },
      target: { url: "https://app.example.com/scim/v2", preset: "comeet", groups: false },
      statePath: join(dir, "scimsync.state.json"),
      scope: {},
      provisionGroups: "none",
    });
    const text = renderValidConfig(result.file, result.summary, plain);
    expect(text.split("\n")[0]).toBe(`config OK: ${join(dir, "scimsync.yaml")}`);
    expect(text).toContain("https://app.example.com/scim/v2 (preset comeet, users only)");
  });

  it("Given an inline token, Then it is valid and the warning says so without the token", async () => {
    const result = await check(`source: { type: file, path: ./d.json }\ntarget: { url: "https://app.example.com/scim/v2", token: ${SCIM_TOKEN} }\n`);
    expect(result.valid).toBe(true);
    const json = validationJson(result);
    expect(json.warnings).toEqual([expect.stringContaining("target.token is written in the config file")]);
    expectNoSecrets([JSON.stringify(json)], [SCIM_TOKEN]);
  });

  it("Given several mistakes, Then every one is listed with its key path, in file order", async () => {
    const result = await check(
      [
        "source: { type: file }",
        "target:",
        "  url: http://app.example.com/scim/v2/Users",
        '  token: "${env:SCIM_TOKEN}"',
        "  presett: generic",
        "mapping:",
        "  user:",
        "    - { target: title, source: \"lower(titel)\" }",
        "deprovision:",
        "  deleted: { suspend: 7d, delete: 1d }",
      ].join("\n"),
    );
    expect(result.valid).toBe(false);
    const json = validationJson(result);
    expect(json.valid).toBe(false);
    expect(json.warnings).toEqual([]);
    expect(json.issues.map((i) => i.path)).toEqual([
      "source.path",
      "target.url",
      "target.presett",
      "mapping.user[0].source",
      "deprovision.deleted.delete",
    ]);
    expect(json.issues.every((i) => i.message.length > 10)).toBe(true);
    expect(json.issues[2]!.message).toContain('did you mean "preset"');
  });

  it("Given a token from an unset environment variable and a missing key file, Then both are named, not guessed at", async () => {
    const result = await check(
      [
        "source: { type: google, credentials: \"${file:./service-account.json}\", subject: admin@example.com }",
        "target: { url: https://app.example.com/scim/v2, token: \"${env:SCIMSYNC_TEST_UNSET_TOKEN}\" }",
      ].join("\n"),
      {},
    );
    expect(validationJson(result).issues).toEqual([
      { path: "source.credentials", message: expect.stringContaining("the file does not exist") },
      { path: "target.token", message: expect.stringContaining("environment variable SCIMSYNC_TEST_UNSET_TOKEN is not set") },
    ]);
  });

  it("Given a Google service account, Then the summary names the client id and the four scopes, never the key", async () => {
    await writeFile(join(dir, "service-account.json"), aServiceAccountKeyFile(), { mode: 0o600 });
    const result = await check(
      [
        "source: { type: google, credentials: \"${file:./service-account.json}\", subject: admin@example.com, domain: Example.com }",
        TARGET,
      ].join("\n"),
    );
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.summary.source).toEqual({
      type: "google",
      customer: "my_customer",
      domain: "example.com",
      signIn: "service-account",
      serviceAccount: SERVICE_ACCOUNT.email,
      clientId: SERVICE_ACCOUNT.clientId,
      subject: "admin@example.com",
      scopes: [
        "https://www.googleapis.com/auth/admin.directory.user.readonly",
        "https://www.googleapis.com/auth/admin.directory.group.readonly",
        "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
        "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
      ],
    });
    const text = renderValidConfig(result.file, result.summary, plain);
    expect(text).toContain(`must grant client id ${SERVICE_ACCOUNT.clientId} these scopes:`);
    expect(text).toContain("admin.directory.user.readonly,https://www.googleapis.com/auth/admin.directory.group.readonly");
    expectNoSecrets([text, JSON.stringify(validationJson(result))], SECRETS);
  });

  it.each([
    { scope: "", provisionGroups: "scoped", expected: ["User.Read.All", "GroupMember.Read.All"] },
    { scope: "", provisionGroups: "none", expected: ["User.Read.All"] },
    { scope: "scope: { assignedToApp: 22222222-2222-2222-2222-222222222222 }", provisionGroups: "none", expected: ["User.Read.All", "GroupMember.Read.All", "Application.Read.All"] },
  ])("Given microsoft with provisionGroups $provisionGroups and $scope, Then it needs $expected", async ({ scope, provisionGroups, expected }) => {
    const result = await check(
      [
        "source:",
        "  type: microsoft",
        "  tenantId: 00000000-0000-0000-0000-000000000000",
        "  clientId: 11111111-1111-1111-1111-111111111111",
        '  clientSecret: "${env:AZURE_CLIENT_SECRET}"',
        TARGET,
        `provisionGroups: ${provisionGroups}`,
        scope,
      ].join("\n"),
    );
    expect(result.valid).toBe(true);
    if (!result.valid || result.summary.source.type !== "microsoft") return;
    expect(result.summary.source).toMatchObject({ tenantId: "00000000-0000-0000-0000-000000000000", credential: "secret", cloud: "global" });
    expect(result.summary.source.permissions.map((p) => p.name)).toEqual(expected);
    const text = renderValidConfig(result.file, result.summary, plain);
    expect(text).toContain("The app registration 11111111-1111-1111-1111-111111111111 needs these Microsoft Graph application permissions");
    expectNoSecrets([text, JSON.stringify(validationJson(result))], SECRETS);
  });

  it("Given a target on an unroutable host, Then no connection is attempted and the state file is not created", async () => {
    const connect = vi.spyOn(net.Socket.prototype, "connect");
    const result = await check(
      [
        "source:",
        "  type: microsoft",
        "  tenantId: contoso.onmicrosoft.com",
        "  clientId: 11111111-1111-1111-1111-111111111111",
        '  clientSecret: "${env:AZURE_CLIENT_SECRET}"',
        "  authorityHost: https://10.255.255.1",
        "  graphUrl: https://10.255.255.1:4443",
        "target: { url: \"https://10.255.255.1/scim/v2\", token: \"${env:SCIM_TOKEN}\" }",
      ].join("\n"),
    );
    expect(result.valid).toBe(true);
    expect(connect).not.toHaveBeenCalled();
    expect(existsSync(join(dir, "scimsync.state.json"))).toBe(false);
  });

  it("Given a missing config file, Then it is invalid with the reason at the top level", async () => {
    const result = await checkConfig(join(dir, "nope.yaml"), ENV);
    expect(validationJson(result).issues).toEqual([{ path: "", message: "cannot read the config file: the file does not exist" }]);
  });
});

describe("displayUrl", () => {
  it.each([
    ["https://app.example.com/scim/v2", "https://app.example.com/scim/v2"],
    ["https://user:pass@app.example.com/scim/v2?key=secret#x", "https://app.example.com/scim/v2"],
    ["not a url", "(not a URL)"],
  ])("shows %s as %s", (given, shown) => {
    expect(displayUrl(given)).toBe(shown);
  });
});
