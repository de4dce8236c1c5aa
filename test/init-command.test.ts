/**
 * `scimsync init`: the starter config for every source and preset loads once its secrets
 * exist, holds no secret, is never written over without --force, and in a terminal the
 * missing choices are asked for (tested with streams that pretend to be a terminal).
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { askStarterChoices, initCommand, type InitCommandOptions } from "../src/cli/commands/init.js";
import { loadConfig } from "../src/config/load-config.js";
import { PRESET_NAMES } from "../src/config/presets.js";
import { SOURCE_TYPES, type SourceType } from "../src/config/schema.js";
import { renderStarterConfig, STARTER_DEFAULTS, type StarterChoices } from "../src/config/starter-config.js";
import { InterruptedError, ScimsyncError } from "../src/errors.js";
import { makePrompter } from "../src/ui/prompt.js";
import { aServiceAccountKeyFile } from "./support/service-account-key.js";

const KNOWN_SECRET = "known-secret-Zx81";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-init-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What a starter config references: written for real, so the config loads. */
async function provideSecrets(source: SourceType): Promise<NodeJS.ProcessEnv> {
  if (source === "google") await writeFile(join(dir, "service-account.json"), aServiceAccountKeyFile(), { mode: 0o600 });
  if (source === "file") await writeFile(join(dir, "directory.json"), '{"users": [], "groups": []}');
  return { SCIM_TOKEN: KNOWN_SECRET, MY_TOKEN: KNOWN_SECRET, AZURE_CLIENT_SECRET: KNOWN_SECRET };
}

/** Streams standing in for a terminal (or a pipe): `answers` are typed one line each, then the input ends. */
function streams(answers: string[] | undefined, tty: boolean) {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = "";
  output.on("data", (d: Buffer) => (printed += d.toString()));
  Object.assign(input, { isTTY: tty });
  Object.assign(output, { isTTY: tty });
  if (answers !== undefined) input.end(answers.map((a) => `${a}\n`).join(""));
  return { io: { input, output }, printed: () => printed };
}

const init = (options: Partial<InitCommandOptions>, io = streams(undefined, false).io) =>
  initCommand({ config: join(dir, "scimsync.yaml"), ...options }, io);

describe("the starter config", () => {
  const cases = SOURCE_TYPES.flatMap((source) => PRESET_NAMES.map((preset) => ({ source, preset })));
  it.each(cases)("Given source $source and preset $preset, Then it loads without warnings once its secrets exist", async ({ source, preset }) => {
    const file = join(dir, "scimsync.yaml");
    await writeFile(file, renderStarterConfig({ ...STARTER_DEFAULTS, source, preset }));
    const { config, warnings } = await loadConfig(file, await provideSecrets(source));
    expect(warnings).toEqual([]);
    expect(config.source.type).toBe(source);
    expect(config.target.preset).toBe(preset);
    expect(config.target.token).toBe(KNOWN_SECRET);
    expect(config.deprovision.deleted).toEqual({ suspend: 0, delete: "never" });
  });

  it("Given the choices, Then the file says them and references every secret", () => {
    const text = renderStarterConfig({ source: "microsoft", preset: "komeet", targetUrl: "https://komeet.example.com/scim", tokenEnv: "MY_TOKEN" });
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./config.schema.json");
    expect(text).toContain('  url: "https://komeet.example.com/scim"');
    expect(text).toContain('  token: "${env:MY_TOKEN}"');
    expect(text).toContain('  clientSecret: "${env:AZURE_CLIENT_SECRET}"');
    expect(text).toContain("  preset: komeet");
    expect(text).toContain("User.Read.All and GroupMember.Read.All");
    expect(text).toContain("scimsync schema > config.schema.json");
    expect(text).not.toContain("Set target.url");
  });
});

describe("initCommand without a terminal", () => {
  it("Given no flags, Then it writes the defaults without waiting for input", async () => {
    const { io, printed } = streams(undefined, false); // an input that never ends: must not be read
    expect(await init({}, io)).toBe(0);
    const text = await readFile(join(dir, "scimsync.yaml"), "utf8");
    expect(text).toBe(renderStarterConfig(STARTER_DEFAULTS, join(dir, "scimsync.yaml")));
    expect(printed()).toContain(`wrote ${join(dir, "scimsync.yaml")} (source file, preset generic)`);
    expect(printed()).toContain("scimsync schema > ");
    expect((await stat(join(dir, "scimsync.yaml"))).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  it.each(SOURCE_TYPES)("Given --source %s and the other flags, Then the file loads with them", async (source) => {
    const code = await init({ source, preset: "recnice", targetUrl: "https://scim.recnice.com/scim", tokenEnv: "MY_TOKEN" });
    expect(code).toBe(0);
    const { config } = await loadConfig(join(dir, "scimsync.yaml"), await provideSecrets(source));
    expect(config.source.type).toBe(source);
    expect(config.target).toMatchObject({ url: "https://scim.recnice.com/scim", preset: "recnice" });
  });

  it("Given SCIM_TOKEN and AZURE_CLIENT_SECRET set, Then neither value is in the file", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { SCIM_TOKEN: KNOWN_SECRET, AZURE_CLIENT_SECRET: KNOWN_SECRET });
    try {
      await init({ source: "microsoft" });
    } finally {
      for (const key of ["SCIM_TOKEN", "AZURE_CLIENT_SECRET"]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
    expect(await readFile(join(dir, "scimsync.yaml"), "utf8")).not.toContain(KNOWN_SECRET);
  });

  it("Given an existing file, Then it is kept and the error says to pass --force; with --force it is replaced", async () => {
    const file = join(dir, "scimsync.yaml");
    await writeFile(file, "mine: true\n");
    const error = await init({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScimsyncError);
    expect((error as ScimsyncError).message).toBe(`${file} already exists; init does not overwrite it`);
    expect((error as ScimsyncError).hint).toContain("--force");
    expect(await readFile(file, "utf8")).toBe("mine: true\n");

    expect(await init({ force: true })).toBe(0);
    expect(await readFile(file, "utf8")).toContain("source:\n  type: file");
  });

  it.each([
    [{ source: "okta" }, '--source: "okta" is not a source type'],
    [{ preset: "comet" }, 'did you mean "comeet"'],
    [{ targetUrl: "http://app.example.com/scim/v2" }, "must be https://"],
    [{ targetUrl: "https://app.example.com/scim/v2/Users" }, "without /Users at the end"],
    [{ tokenEnv: "tok-Qx7vR2mK9wZ4" }, "is not an environment variable name"],
  ])("Given %o, Then it stops before writing: %s", async (flags, message) => {
    const error = await init(flags).catch((e: unknown) => e);
    expect((error as Error).message).toContain(message);
    await expect(stat(join(dir, "scimsync.yaml"))).rejects.toThrow();
  });

  it("Given a directory that does not exist, Then the error names it", async () => {
    const error = await initCommand({ config: join(dir, "missing", "scimsync.yaml") }, streams(undefined, false).io).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`the directory ${join(dir, "missing")} does not exist`);
  });
});

describe("the questions in a terminal", () => {
  const ask = async (given: Partial<StarterChoices>, answers: string[]) => {
    const { io, printed } = streams(answers, false);
    const prompter = makePrompter(io, "pass flags");
    try {
      return { choices: await askStarterChoices(given, prompter), printed: printed() };
    } finally {
      prompter.close();
    }
  };

  it("Given numbers and text, Then they become the choices", async () => {
    const { choices, printed } = await ask({}, ["2", "3", "https://api.commbox.io/auth/scim", "COMMBOX_TOKEN"]);
    expect(choices).toEqual({ source: "google", preset: "commbox", targetUrl: "https://api.commbox.io/auth/scim", tokenEnv: "COMMBOX_TOKEN" });
    expect(printed).toContain("Where do the users come from?\n  1) file");
    expect(printed).toContain("  3) microsoft");
    expect(printed).toContain("Choose 1-5 [1]: ");
    expect(printed).toContain(`The app's SCIM base URL [${STARTER_DEFAULTS.targetUrl}]: `);
  });

  it("Given empty answers, Then the defaults are taken", async () => {
    const { choices } = await ask({}, ["", "", "", ""]);
    expect(choices).toEqual(STARTER_DEFAULTS);
  });

  it("Given a name instead of a number, and wrong answers first, Then it asks again until an answer fits", async () => {
    const { choices, printed } = await ask({}, ["microsoft", "9", "komeet", "ftp://x", "https://komeet.example.com/scim", "1TOKEN", "KOMEET_TOKEN"]);
    expect(choices).toEqual({ source: "microsoft", preset: "komeet", targetUrl: "https://komeet.example.com/scim", tokenEnv: "KOMEET_TOKEN" });
    expect(printed).toContain("Please answer with a number from 1 to 5.");
    expect(printed).toContain("the target URL must be an absolute https:// URL");
    expect(printed).toContain("is not an environment variable name (it starts with a digit)");
  });

  it("Given choices made by flags, Then only the others are asked", async () => {
    const { choices, printed } = await ask({ source: "file", targetUrl: "https://x.example.com/scim" }, ["4", ""]);
    expect(choices).toEqual({ source: "file", preset: "recnice", targetUrl: "https://x.example.com/scim", tokenEnv: "SCIM_TOKEN" });
    expect(printed).not.toContain("Where do the users come from?");
    expect(printed).not.toContain("SCIM base URL");
  });

  it("Given an input that ends early, Then it stops with the flags to pass and writes nothing", async () => {
    const { io } = streams(["2"], true);
    const error = await init({}, io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScimsyncError);
    expect((error as ScimsyncError).hint).toContain("--source");
    await expect(stat(join(dir, "scimsync.yaml"))).rejects.toThrow();
  });

  it("Given a terminal, Then init asks, writes what was answered, and the file loads", async () => {
    const { io, printed } = streams(["3", "2", "", "ENTRA_SCIM_TOKEN"], true);
    expect(await init({}, io)).toBe(0);
    expect(printed()).toContain("Which app receives them (target.preset)?");
    const { config } = await loadConfig(join(dir, "scimsync.yaml"), { ENTRA_SCIM_TOKEN: KNOWN_SECRET, AZURE_CLIENT_SECRET: KNOWN_SECRET });
    expect(config.source.type).toBe("microsoft");
    expect(config.target.preset).toBe("comeet");
  });

  it("Given Ctrl-C at a question, Then it stops as interrupted", async () => {
    const { io } = streams(undefined, true);
    const running = init({}, io);
    await new Promise((r) => setTimeout(r, 20));
    io.input.write("\x03");
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    await expect(stat(join(dir, "scimsync.yaml"))).rejects.toThrow();
  });
});
