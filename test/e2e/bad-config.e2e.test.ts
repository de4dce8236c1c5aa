/**
 * Malformed configs through the real CLI: each must name the key and the fix, exit 1, and leave
 * no trace: no state file, no lock, no audit log, no folder, and not one request to the target.
 * The target URL is a live sandbox wherever the URL is not the mistake, so a request that slips
 * through is seen. Loading is checked in depth by test/config*.test.ts; this checks what an
 * administrator sees from `sync`, `plan` and `validate`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.js";
import { makeWorkspace, people, runCli } from "./harness.js";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  // Every case ran against this sandbox; none may have reached it.
  expect(sandbox.requests).toEqual([]);
  await sandbox.close();
});

const GUID = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const INLINE_SECRET = "s3cr3t-inline-Zq81x";

/** `{URL}` becomes the sandbox's base URL. State and audit log go to a folder that must not appear. */
const SOURCE = "source: { type: file, path: ./directory.json }";
const TARGET = ["target:", "  url: {URL}", '  token: "${env:SCIM_TOKEN}"', "  rateLimit: 0"].join("\n");
const STATE_AND_LOG = "state: { path: ./var/scimsync.state.json }\nlog: { path: ./var/audit.ndjson }";
const valid = (...extra: string[]) => [SOURCE, TARGET, STATE_AND_LOG, ...extra].join("\n") + "\n";
const withTarget = (...lines: string[]) => [SOURCE, TARGET, ...lines.map((l) => `  ${l}`), STATE_AND_LOG].join("\n") + "\n";
const withSource = (...lines: string[]) => ["source:", ...lines.map((l) => `  ${l}`), TARGET, STATE_AND_LOG].join("\n") + "\n";

type Command = "sync" | "plan" | "validate";

interface BadConfig {
  name: string;
  yaml: string;
  /** The key path (or, for YAML syntax, the key) stderr must name. */
  key: string;
  /** A fragment of the fix stderr must give. */
  fix: string;
  /** The issue's path in JSON output when it is not `key` itself: "" for a problem of the file as a whole. */
  issuePath?: string;
  /** Also run with `--output json`, where the JSON must carry the same key and fix. */
  also?: Command[];
  /** Text that must never be printed (an inline secret). */
  secret?: string;
}

const cases: BadConfig[] = [
  // YAML syntax
  {
    name: "a tab used for indentation",
    yaml: `${SOURCE}\ntarget:\n\turl: {URL}\n`,
    key: "(key url)",
    fix: "indent with spaces",
    issuePath: "",
    also: ["validate"],
  },
  {
    name: "a quote that is never closed",
    yaml: `${SOURCE}\ntarget:\n  token: '\${env:SCIM_TOKEN}'\n  url: "{URL}\n  rateLimit: 0\n`,
    key: "target.url",
    fix: 'opens with " but has no closing "; add the closing "',
    issuePath: "target.url",
    also: ["plan"],
  },
  {
    name: "an inline token whose quote is never closed",
    yaml: `${SOURCE}\ntarget:\n  token: '${INLINE_SECRET}\n  url: {URL}\n`,
    key: "target.token",
    fix: "no closing '",
    issuePath: "target.token",
    secret: INLINE_SECRET,
  },
  {
    name: "a section written twice",
    yaml: `${SOURCE}\n${TARGET}\ntarget: { rateLimit: 5 }\n`,
    key: "target",
    fix: "is written twice (first at line 2); keep one",
    issuePath: "target",
    also: ["validate"],
  },
  {
    name: "a { } mapping that is never closed",
    yaml: `source: { type: file, path: ./directory.json\n${TARGET}\n`,
    key: "source",
    fix: "the { that starts the value of source is not closed with }",
    issuePath: "source",
  },
  {
    name: "an unquoted template",
    yaml: valid("mapping:", "  user:", "    - target: displayName", "      source: {givenName} {familyName}"),
    key: "(key source)",
    fix: 'quote a value that starts with { (YAML reads it as a mapping), e.g. source: "{givenName} {familyName}"',
    issuePath: "",
  },
  {
    name: "an unquoted value holding a colon and a space",
    yaml: withTarget("preset: generic: yes"),
    key: "(key preset)",
    fix: "quote values that contain : or #",
    issuePath: "",
  },
  // The file as a whole
  {
    name: "an empty file",
    yaml: "",
    key: "the file is empty",
    fix: "at least source and target are needed",
    issuePath: "",
    also: ["plan"],
  },
  {
    name: "a file of comments only",
    yaml: "# source: { type: file, path: ./directory.json }\n",
    key: "the file is empty",
    fix: "start from config.example.yaml",
    issuePath: "",
  },
  {
    name: "a YAML list",
    yaml: "- source: { type: file, path: ./directory.json }\n- target: { url: {URL} }\n",
    key: "the top level must be a mapping with the keys source, target",
    fix: 'write each key at the start of a line (source:, target:), without "- " in front',
    issuePath: "",
    also: ["validate"],
  },
  // Unknown keys
  {
    name: "a misspelt top-level key",
    yaml: valid("safty: { maxDeprovisions: 5 }"),
    key: "safty",
    fix: 'did you mean "safety"?',
    also: ["plan"],
  },
  {
    name: "a misspelt key in target",
    yaml: withTarget("concurency: 4"),
    key: "target.concurency",
    fix: 'did you mean "concurrency"?',
  },
  {
    name: "a misspelt key three levels down",
    yaml: valid("deprovision:", "  deleted: { suspend: now, delte: 7d }"),
    key: "deprovision.deleted.delte",
    fix: 'did you mean "delete"?',
  },
  {
    name: "a misspelt key in a list entry",
    yaml: valid("mapping:", "  user:", "    - { target: title, sorce: department }"),
    key: "mapping.user[0].sorce",
    fix: 'did you mean "source"?',
  },
  {
    name: "a British spelling in target.tls",
    yaml: withTarget("tls: { rejectUnauthorised: false }"),
    key: "target.tls.rejectUnauthorised",
    fix: 'did you mean "rejectUnauthorized"?',
  },
  {
    name: "a key at the wrong level",
    yaml: valid("allowInsecureHttp: true"),
    key: "allowInsecureHttp",
    fix: 'did you mean "target.allowInsecureHttp"?',
  },
  {
    name: "an unknown key with nothing close to it",
    yaml: valid("safety: { banana: 1 }"),
    key: "safety.banana",
    fix: "the keys accepted in safety are maxDeprovisions, maxDeprovisionPercent",
  },
  {
    name: "a setting that does not exist (suspending groups)",
    yaml: valid("deprovision:", "  groups: { suspend: 1d, delete: 7d }"),
    key: "deprovision.groups.suspend",
    fix: "groups are never suspended, only deleted (deprovision.groups.delete)",
  },
  // Wrong types
  {
    name: "a number written in words",
    yaml: withTarget("concurrency: eight"),
    key: "target.concurrency",
    fix: 'expected a whole number from 1 to 64, got "eight"',
    also: ["validate"],
  },
  {
    name: "a list where a number belongs",
    yaml: withTarget("timeoutSeconds: [30]"),
    key: "target.timeoutSeconds",
    fix: "expected seconds, a number greater than 0 and at most 3600, got a list",
  },
  {
    name: "a boolean written as yes",
    yaml: withTarget('allowInsecureHttp: "yes"'),
    key: "target.allowInsecureHttp",
    fix: 'expected true or false, got "yes"',
  },
  {
    name: "one delay where a suspend/delete pair belongs",
    yaml: valid("deprovision:", "  suspended: 21d"),
    key: "deprovision.suspended",
    fix: "expected a mapping of suspend and delete delays, e.g. { suspend: now, delete: 21d }",
  },
  {
    name: "an unknown preset",
    yaml: withTarget("preset: comet"),
    key: "target.preset",
    fix: 'did you mean "comeet"?',
  },
  // Delays
  {
    name: "a delay in words",
    yaml: valid("deprovision:", "  deleted: { suspend: now, delete: 7 days }"),
    key: "deprovision.deleted.delete",
    fix: '"7 days" is not a delay; use now, never, or a duration such as 24h, 1d, 7d, 21d',
    also: ["plan"],
  },
  {
    name: "a negative delay",
    yaml: valid("deprovision:", "  outOfScope: { suspend: -1d }"),
    key: "deprovision.outOfScope.suspend",
    fix: '"-1d" is not a delay; use now, never, or a duration',
  },
  {
    name: "a delay that is not a duration",
    yaml: valid("deprovision:", "  suspended: { suspend: abc }"),
    key: "deprovision.suspended.suspend",
    fix: '"abc" is not a delay; use now, never',
  },
  {
    name: "a group delete delay that is not a delay",
    yaml: valid("deprovision:", "  groups: { delete: soon }"),
    key: "deprovision.groups.delete",
    fix: '"soon" is not a delay',
  },
  {
    name: "delete sooner than suspend",
    yaml: valid("deprovision:", "  deleted: { suspend: 7d, delete: 1d }"),
    key: "deprovision.deleted.delete",
    fix: "make delete at least 7d, or set suspend: never to delete without suspending first",
    also: ["validate", "plan"],
  },
  // Secrets
  {
    name: "a token variable that is not set",
    yaml: withTarget().replace("env:SCIM_TOKEN", "env:SCIMSYNC_E2E_NEVER_SET"),
    key: "target.token",
    fix: "environment variable SCIMSYNC_E2E_NEVER_SET is not set; set it for the scimsync process, or use ${file:PATH}",
    also: ["validate", "plan"],
  },
  {
    name: "a token file that does not exist",
    yaml: withTarget().replace('"${env:SCIM_TOKEN}"', '"${file:./secrets/scim-token}"'),
    key: "target.token",
    fix: "create it with the secret as its only content, or correct the path",
  },
  {
    name: "no token at all",
    yaml: [SOURCE, "target: { url: {URL} }", STATE_AND_LOG].join("\n"),
    key: "target.token",
    fix: "is required",
  },
  {
    name: "a reference written shell-style",
    yaml: withTarget().replace('"${env:SCIM_TOKEN}"', '"${SCIM_TOKEN}"'),
    key: "target.token",
    fix: "write ${env:SCIM_TOKEN} to read the environment variable",
  },
  {
    name: "a Google key file that does not exist",
    yaml: withSource("type: google", 'credentials: "${file:./sa.json}"', "subject: admin@example.com"),
    key: "source.credentials",
    fix: "cannot read ${file:./sa.json}",
  },
  // URLs
  {
    name: "a target URL that is not a URL",
    yaml: valid().replace("{URL}", "scim.example.com/v2"),
    key: "target.url",
    fix: "must be an absolute https:// URL",
    also: ["plan"],
  },
  {
    name: "an ftp:// target URL",
    yaml: valid().replace("{URL}", "ftp://127.0.0.1/scim/v2"),
    key: "target.url",
    fix: "must be an absolute https:// URL",
  },
  {
    name: "plain http to another machine",
    yaml: valid().replace("{URL}", "http://scim.example.com/scim/v2"),
    key: "target.url",
    fix: "or set target.allowInsecureHttp: true",
  },
  {
    name: "a target URL carrying a password",
    yaml: valid().replace("{URL}", `https://admin:${INLINE_SECRET}@scim.example.com/scim/v2`),
    key: "target.url",
    fix: "must not contain a user name or password; put the API token in target.token",
    secret: INLINE_SECRET,
  },
  {
    name: "a target URL ending in /Users",
    yaml: valid().replace("{URL}", "{URL}/Users"),
    key: "target.url",
    fix: "without /Users at the end (scimsync adds it)",
  },
  {
    name: "a webhook over plain http to another machine",
    yaml: valid("notify:", "  webhook: { url: 'http://hooks.example.com/services/T000/B000' }"),
    key: "notify.webhook.url",
    fix: "must be an absolute https:// URL",
    secret: "T000/B000",
  },
  // Mapping expressions
  {
    name: "an expression with a syntax error",
    yaml: valid("mapping:", "  user:", "    - { target: title, source: 'lower(title' }"),
    key: "mapping.user[0].source",
    fix: 'missing ")" to close lower(',
    also: ["validate"],
  },
  {
    name: "an unknown function",
    yaml: valid("mapping:", "  user:", "    - { target: title, source: 'shout(title)' }"),
    key: "mapping.user[0].source",
    fix: "(functions: lower, upper, trim",
  },
  {
    name: "an unknown source attribute",
    yaml: valid("mapping:", "  user:", "    - { target: title, source: jobTitel }"),
    key: "mapping.user[0].source",
    fix: "write extra.jobTitel",
  },
  {
    name: "a read-only target attribute",
    yaml: valid("mapping:", "  user:", "    - { target: id, source: employeeNumber }"),
    key: "mapping.user[0].target",
    fix: "remove this entry",
  },
  // Scope and safety
  {
    name: "scope groups written as one name",
    yaml: valid("scope: { groups: Engineering }"),
    key: "scope.groups",
    fix: "expected a list of group names or ids, e.g. [Engineering, Sales]",
  },
  {
    name: "a Google scope on a file source",
    yaml: valid("scope: { orgUnits: [/Sales] }"),
    key: "scope.orgUnits",
    fix: "choose the users of a file source with scope.groups",
  },
  {
    name: "a negative deprovision limit",
    yaml: valid("safety: { maxDeprovisions: -5 }"),
    key: "safety.maxDeprovisions",
    fix: "expected a whole number from 0 to 1000000, got -5",
    also: ["plan"],
  },
  {
    name: "a percentage with a percent sign",
    yaml: valid("safety: { maxDeprovisionPercent: '20%' }"),
    key: "safety.maxDeprovisionPercent",
    fix: 'expected a percentage from 0 to 100, got "20%"',
  },
  // Sources
  {
    name: "an unsupported source type",
    yaml: withSource("type: ldap", "path: ./directory.json"),
    key: "source.type",
    fix: "use file",
  },
  {
    name: "a file source without a path",
    yaml: withSource("type: file"),
    key: "source.path",
    fix: "give the path of the directory file (.json or .csv)",
  },
  {
    name: "a Google source without credentials",
    yaml: withSource("type: google", "customer: my_customer"),
    key: "source",
    fix: "needs source.credentials or source.accessToken",
    also: ["validate"],
  },
  {
    name: "a Google service account without the admin it acts as",
    yaml: withSource("type: google", 'credentials: "${file:./sa.json}"'),
    key: "source.subject",
    fix: "give the email address of a Google Workspace admin",
  },
  {
    name: "a Google source with a file source's key",
    yaml: withSource("type: google", 'accessToken: "${env:SCIM_TOKEN}"', "path: ./directory.json"),
    key: "source.path",
    fix: "is for source.type file; remove it",
  },
  {
    name: "a misspelt Google key",
    yaml: withSource("type: google", 'accessToken: "${env:SCIM_TOKEN}"', "costumer: my_customer"),
    key: "source.costumer",
    fix: 'did you mean "customer"?',
  },
  {
    name: "a Microsoft source without a tenant",
    yaml: withSource("type: microsoft", `clientId: ${GUID}`, 'clientSecret: "${env:SCIM_TOKEN}"'),
    key: "source.tenantId",
    fix: "give the directory (tenant) id",
    also: ["plan"],
  },
  {
    name: "a Microsoft client secret without its client id",
    yaml: withSource("type: microsoft", "tenantId: contoso.onmicrosoft.com", 'clientSecret: "${env:SCIM_TOKEN}"'),
    key: "source.clientId",
    fix: "give the application (client) id of the app registration",
  },
  {
    name: "a Microsoft source with a Google key",
    yaml: withSource("type: microsoft", "tenantId: contoso.onmicrosoft.com", `clientId: ${GUID}`, 'clientSecret: "${env:SCIM_TOKEN}"', "subject: admin@example.com"),
    key: "source.subject",
    fix: "is for source.type google; remove it",
  },
  {
    name: "a Microsoft source with two ways to sign in",
    yaml: withSource(
      "type: microsoft",
      "tenantId: contoso.onmicrosoft.com",
      `clientId: ${GUID}`,
      'clientSecret: "${env:SCIM_TOKEN}"',
      "managedIdentity: true",
    ),
    key: "source",
    fix: "keep one way to sign in",
  },
];

describe("a malformed config, through the real CLI", () => {
  it("has enough cases to be a fair sample", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.concurrent.each(cases)("given $name, then every command names $key and the fix, exits 1 and writes nothing", async (c) => {
    const ws = await makeWorkspace();
    try {
      await ws.writeDirectory(people(3));
      await ws.writeConfig(c.yaml.replaceAll("{URL}", sandbox.baseUrl));
      const before = listing(ws.dir);
      const env = { SCIM_TOKEN: sandbox.token };

      const sync = await runCli(["sync", "--config", ws.config], env);
      expect(sync.code, sync.stderr).toBe(1);
      expect(sync.stderr).toContain(c.key);
      expect(sync.stderr).toContain(c.fix);
      expect(sync.stdout).toBe("");
      expectNoSecret(sync.stdout + sync.stderr, c);

      for (const command of c.also ?? []) {
        const r = await runCli([command, "--config", ws.config, "--output", "json"], env);
        expect(r.code, `${command}: ${r.stderr}`).toBe(1);
        expectNoSecret(r.stdout + r.stderr, c);
        // validate has a document of its own; plan (like sync) reports a fatal error.
        const report: { issues: { path: string; message: string }[]; hint?: string } = command === "validate" ? r.json : r.json.error;
        if (command === "validate") expect(r.json.valid).toBe(false);
        else expect(r.json.error.kind).toBe("config");
        expect(report.issues.map((i) => i.path)).toContain(c.issuePath ?? c.key);
        const text = [...report.issues.map((i) => `${i.path}: ${i.message}`), report.hint].join("\n");
        expect(text).toContain(c.key);
        expect(text).toContain(c.fix);
      }

      // Nothing written: no state file, no lock, no backup, no audit log, not even their folder.
      expect(listing(ws.dir)).toEqual(before);
      expect(sandbox.requests).toEqual([]);
    } finally {
      await ws.cleanup();
    }
  });
});

describe("a config whose directory file is missing", () => {
  it("given source.path names no file, then sync names source.path, exits 1, and only the audit log records the failed run", async () => {
    const ws = await makeWorkspace();
    try {
      // Valid as a config: the export may be written just before each run, so only the run can tell.
      await ws.writeConfig(valid().replaceAll("{URL}", sandbox.baseUrl).replace("./directory.json", "./exports/people.json"));
      const r = await runCli(["sync", "--config", ws.config], { SCIM_TOKEN: sandbox.token });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`cannot read the directory file ${join(ws.dir, "exports", "people.json")}: it does not exist`);
      expect(r.stderr).toContain("check source.path in the config; a relative path is relative to the config file");
      expect(listing(ws.dir)).toEqual(["scimsync.yaml", "var", join("var", "audit.ndjson")].sort());
      const audit = readFileSync(join(ws.dir, "var", "audit.ndjson"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(audit).toEqual([expect.objectContaining({ event: "run", result: "error", error: expect.stringContaining("exports/people.json") })]);
      expect(sandbox.requests).toEqual([]);
    } finally {
      await ws.cleanup();
    }
  });
});

function listing(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

function expectNoSecret(output: string, c: BadConfig): void {
  expect(output).not.toContain(sandbox.token);
  if (c.secret) expect(output).not.toContain(c.secret);
}
