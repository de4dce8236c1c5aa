import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.js";
import { loadConfig } from "../src/config/load-config.js";
import { configView, presetHeader, presetView, renderMappingYaml } from "../src/config/preset-yaml.js";
import { PRESET_NAMES, PRESETS, type Preset } from "../src/config/presets.js";
import { describeExpressionProblem, describeTargetProblem } from "../src/config/schema.js";
import { parseExpression } from "../src/core/expression.js";
import { ENTERPRISE_USER } from "../src/core/mapping.js";
import { parseScimPath } from "../src/core/scim-path.js";

const ENV = { SCIM_TOKEN: "token-for-tests" };
const presets: Preset[] = PRESET_NAMES.map((name) => PRESETS[name]);

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-presets-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** Pastes `yamlText` (presets show output) into a minimal config, the way an administrator would. */
async function loadPasted(yamlText: string) {
  const pasted = parse(yamlText) as { target: Record<string, unknown>; mapping: Record<string, unknown> };
  const file = join(dir, "scimsync.yaml");
  await writeFile(
    file,
    stringify({
      source: { type: "file", path: "./directory.json" },
      target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}", ...pasted.target },
      mapping: pasted.mapping,
    }),
  );
  return loadConfig(file, ENV);
}

describe("every preset", () => {
  it.each(presets)("$name: every target is a SCIM path scimsync can write and every source parses and reads known attributes", (preset) => {
    for (const [kind, entries] of [
      ["user", preset.user],
      ["group", preset.group],
    ] as const) {
      for (const entry of entries) {
        expect(parseScimPath(entry.target), entry.target).toBeDefined();
        expect(describeTargetProblem(kind, entry.target), entry.target).toBeUndefined();
        expect(() => parseExpression(entry.source), entry.source).not.toThrow();
        if (entry.default !== undefined) expect(() => parseExpression(entry.default!), entry.default).not.toThrow();
        // What config loading checks: every reference names an attribute the directory has.
        expect(describeExpressionProblem(kind, entry.source), entry.source).toBeUndefined();
        if (entry.default !== undefined) expect(describeExpressionProblem(kind, entry.default), entry.default).toBeUndefined();
      }
    }
  });

  it.each(presets)("$name: maps userName, externalId only from id, and what it matches on", (preset) => {
    const targets = preset.user.map((e) => e.target);
    expect(targets).toContain("userName");
    expect(new Set(targets).size).toBe(targets.length);
    for (const entry of [...preset.user, ...preset.group]) if (entry.target === "externalId") expect(entry.source).toBe("id");
    if (preset.matching.includes("externalId")) expect(targets).toContain("externalId");
    if (preset.groups) expect(preset.group.map((e) => e.target)).toContain("displayName");
    else expect(preset.group).toEqual([]);
    // userName and emails compare without case (RFC 7643), so a change of case is no difference.
    for (const entry of preset.user) {
      if (entry.target === "userName" || entry.target.startsWith("emails")) expect(entry.caseExact, entry.target).toBe(false);
    }
  });

  it.each(presets)("$name: has a one-line summary and notes", (preset) => {
    expect(preset.summary).not.toContain("\n");
    expect(preset.notes.length).toBeGreaterThan(0);
  });

  it.each(presets)("$name: presets show output pasted into a config gives the same mapping and settings", async (preset) => {
    const yamlText = renderMappingYaml(presetView(preset), presetHeader(preset));
    const { config, warnings } = await loadPasted(yamlText);
    expect(warnings).toEqual([]);
    expect(config.mapping.user).toEqual(preset.user);
    expect(config.mapping.group).toEqual(preset.group);
    expect(config.mapping.matching).toEqual(preset.matching);
    expect(config.target).toMatchObject({
      preset: preset.name,
      dialect: preset.dialect,
      requireEmail: preset.requireEmail,
      readGroupMembers: preset.readGroupMembers,
      groups: preset.groups,
    });
  });
});

describe("the presets' contents", () => {
  it("comeet has no groups and keys users by email", () => {
    expect(PRESETS.comeet.groups).toBe(false);
    expect(PRESETS.comeet.user.find((e) => e.target === "userName")?.source).toBe("coalesce(email, userName)");
    expect(PRESETS.comeet.notes.join(" ")).toMatch(/no groups/);
  });

  it("recnice maps exactly the attributes Recnice documents, active aside (scimsync owns it)", () => {
    expect(PRESETS.recnice.user.map((e) => e.target)).toEqual([
      "userName",
      "displayName",
      "title",
      'emails[type eq "work"].value',
      "preferredLanguage",
      "name.givenName",
      "name.familyName",
      "name.formatted",
      'addresses[type eq "work"].formatted',
      'addresses[type eq "work"].streetAddress',
      'addresses[type eq "work"].locality',
      'addresses[type eq "work"].region',
      'addresses[type eq "work"].postalCode',
      'addresses[type eq "work"].country',
      "externalId",
      "roles",
      `${ENTERPRISE_USER}:department`,
    ]);
    expect(PRESETS.recnice.group.map((e) => e.target)).toEqual(["displayName", "externalId"]);
    // Recnice filters users on userName only.
    expect(PRESETS.recnice.matching).toEqual(["userName"]);
  });

  it("commbox has no externalId, matches on userName, and maps groups by displayName only", () => {
    expect(PRESETS.commbox.user.map((e) => e.target)).not.toContain("externalId");
    expect(PRESETS.commbox.matching).toEqual(["userName"]);
    expect(PRESETS.commbox.group).toEqual([{ target: "displayName", source: "displayName" }]);
  });

  it("komeet requires an email and uses it as userName", () => {
    expect(PRESETS.komeet.requireEmail).toBe(true);
    expect(PRESETS.komeet.user.find((e) => e.target === "userName")?.source).toBe("email");
  });

  it("generic maps core and enterprise attributes, the manager included, and never active", () => {
    const targets = PRESETS.generic.user.map((e) => e.target);
    expect(targets).toEqual(expect.arrayContaining(["name.formatted", 'phoneNumbers[type eq "mobile"].value', `${ENTERPRISE_USER}:manager`]));
    for (const preset of presets) expect(preset.user.map((e) => e.target.toLowerCase())).not.toContain("active");
    expect(PRESETS.generic.user.find((e) => e.target === "displayName")).toEqual({
      target: "displayName",
      source: "displayName",
      default: "{givenName} {familyName}",
    });
  });
});

describe("a config's effective mapping", () => {
  it("shown with --config and pasted into another config, gives the same mapping", async () => {
    const file = join(dir, "original.yaml");
    await writeFile(
      file,
      stringify({
        source: { type: "file", path: "./directory.json" },
        target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}", preset: "recnice", readGroupMembers: "always" },
        mapping: {
          user: [
            { target: "roles", drop: true },
            { target: "title", source: "coalesce(title, 'Staff')", clearWhenEmpty: false },
            { target: `${ENTERPRISE_USER}:costCenter`, source: "extra.costCenter" },
          ],
        },
      }),
    );
    const { config } = await loadConfig(file, ENV);
    const { config: again } = await loadPasted(renderMappingYaml(configView(config), ["effective"]));
    expect(again.mapping).toEqual(config.mapping);
    expect(again.target.readGroupMembers).toBe("always");
  });
});

describe("scimsync presets", () => {
  async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
    const code = await main(["node", "scimsync", ...args]);
    vi.restoreAllMocks();
    return { code, stdout, stderr };
  }

  it("lists every preset with its summary", async () => {
    const { code, stdout } = await run("presets");
    expect(code).toBe(0);
    for (const preset of presets) expect(stdout).toContain(preset.summary);
  });

  it("lists them as JSON with --output json", async () => {
    const { code, stdout } = await run("presets", "--output", "json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout).presets.map((p: { name: string }) => p.name)).toEqual([...PRESET_NAMES]);
  });

  it("show NAME prints a commented header, then YAML that loads", async () => {
    const { code, stdout } = await run("presets", "show", "comeet");
    expect(code).toBe(0);
    expect(stdout.startsWith(`# Preset comeet: ${PRESETS.comeet.summary}`)).toBe(true);
    const parsed = parse(stdout);
    expect(parsed.target).toEqual({ preset: "comeet", dialect: "patch", requireEmail: false, readGroupMembers: "changed" });
    expect(parsed.mapping.group).toBeUndefined();
    const { config } = await loadPasted(stdout);
    expect(config.mapping.user).toEqual(PRESETS.comeet.user);
  });

  it("show NAME --output json prints the same settings and mapping with the notes", async () => {
    const { code, stdout } = await run("presets", "show", "recnice", "--output", "json");
    expect(code).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.mapping.user).toEqual(PRESETS.recnice.user);
    expect(body.notes).toEqual(PRESETS.recnice.notes);
  });

  it("show without a name exits 1 and lists the presets", async () => {
    const { code, stderr } = await run("presets", "show");
    expect(code).toBe(1);
    expect(stderr).toContain(PRESET_NAMES.join(", "));
  });

  it("show with an unknown name exits 1, suggests the closest and lists them", async () => {
    const { code, stdout, stderr } = await run("presets", "show", "recnise");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain('"recnise" is not a preset; did you mean "recnice"?');
    expect(stderr).toContain(PRESET_NAMES.join(", "));
  });

  it("show --config prints the mapping a config uses", async () => {
    const file = join(dir, "scimsync.yaml");
    await writeFile(
      file,
      stringify({
        source: { type: "file", path: "./directory.json" },
        target: { url: "https://app.example.com/scim/v2", token: "inline-token", preset: "commbox" },
        mapping: { user: [{ target: "title", source: "title" }] },
      }),
    );
    const { code, stdout, stderr } = await run("presets", "show", "--config", file);
    expect(code).toBe(0);
    // The loader's warnings still reach the administrator, on stderr.
    expect(stderr).toContain("target.token is written in the config file");
    expect(parse(stdout).mapping.user.at(-1)).toEqual({ target: "title", source: "title" });
  });
});
