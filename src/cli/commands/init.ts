import { access, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { PRESET_NAMES, PRESETS } from "../../config/presets.js";
import { SOURCE_TYPES } from "../../config/schema.js";
import {
  checkEnvName,
  checkPreset,
  checkSourceType,
  checkTargetUrl,
  renderStarterConfig,
  SOURCE_DESCRIPTIONS,
  STARTER_DEFAULTS,
  type StarterChoices,
} from "../../config/starter-config.js";
import { ScimsyncError } from "../../errors.js";
import { makePrompter, type Prompter, type PromptStreams } from "../../ui/prompt.js";
import { EXIT } from "../exit-codes.js";

export interface InitCommandOptions {
  config: string;
  source?: string;
  preset?: string;
  targetUrl?: string;
  tokenEnv?: string;
  force?: boolean;
}

const FLAGS_HINT = "pass the choices as flags instead: scimsync init --source file|google|microsoft --preset NAME --target-url URL --token-env NAME";

/**
 * `scimsync init`: writes a commented starter config. Asks for the choices not given as flags
 * when stdin and stdout are a terminal; otherwise takes the defaults and never waits for input.
 */
export async function initCommand(
  options: InitCommandOptions,
  io: PromptStreams = { input: process.stdin, output: process.stdout },
): Promise<number> {
  const path = resolve(options.config);
  const given = readGivenChoices(options);
  if (!options.force && (await exists(path))) throw overwriteRefused(path);

  const missing = Object.keys(STARTER_DEFAULTS).some((key) => given[key as keyof StarterChoices] === undefined);
  let choices: StarterChoices;
  if (missing && isTerminal(io.input) && isTerminal(io.output)) {
    const prompter = makePrompter(io, FLAGS_HINT);
    try {
      choices = await askStarterChoices(given, prompter);
    } finally {
      prompter.close();
    }
  } else {
    choices = { ...STARTER_DEFAULTS, ...given };
  }

  const name = shownPath(path);
  try {
    // No secret goes into the file, so it may be readable like any config (0644 before umask).
    await writeFile(path, renderStarterConfig(choices, name), { flag: options.force ? "w" : "wx", mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw overwriteRefused(path);
    if (code === "ENOENT") throw new ScimsyncError(`cannot write ${path}: the directory ${dirname(path)} does not exist`, { hint: "create it first, or pass another --config" });
    throw new ScimsyncError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }

  const schemaBeside = await exists(join(dirname(path), "config.schema.json"));
  const lines = [
    `wrote ${path} (source ${choices.source}, preset ${choices.preset}); its comments list the next steps.`,
    ...(schemaBeside ? [] : [`For completion in editors: scimsync schema > ${shownPath(join(dirname(path), "config.schema.json"))}`]),
    `Then: export ${choices.tokenEnv}=... and scimsync validate --config ${name}`,
  ];
  io.output.write(lines.join("\n") + "\n");
  return EXIT.ok;
}

/** Asks, in order, for each choice `given` lacks. */
export async function askStarterChoices(given: Partial<StarterChoices>, prompter: Prompter): Promise<StarterChoices> {
  const source =
    given.source ??
    (await prompter.choose(
      "Where do the users come from?",
      SOURCE_TYPES.map((value) => ({ value, label: `${value.padEnd(9)} ${SOURCE_DESCRIPTIONS[value]}` })),
      STARTER_DEFAULTS.source,
    ));
  const preset =
    given.preset ??
    (await prompter.choose(
      "Which app receives them (target.preset)?",
      PRESET_NAMES.map((value) => ({ value, label: `${value.padEnd(9)} ${PRESETS[value].summary}` })),
      STARTER_DEFAULTS.preset,
    ));
  const targetUrl = given.targetUrl ?? (await prompter.text("The app's SCIM base URL", STARTER_DEFAULTS.targetUrl, checkTargetUrl));
  const tokenEnv =
    given.tokenEnv ?? (await prompter.text("The environment variable that will hold the SCIM token", STARTER_DEFAULTS.tokenEnv, checkEnvName));
  return { source, preset, targetUrl, tokenEnv };
}

/** The choices given as flags, each checked; a wrong one is an error, not a question. */
function readGivenChoices(options: InitCommandOptions): Partial<StarterChoices> {
  const given: Partial<StarterChoices> = {};
  const fail = (problem: string, hint: string) => new ScimsyncError(problem, { hint });
  if (options.source !== undefined) {
    const problem = checkSourceType(options.source);
    if (problem) throw fail(`--source: ${problem}`, "file reads a .json or .csv export; google and microsoft read the directory through its API");
    given.source = options.source as StarterChoices["source"];
  }
  if (options.preset !== undefined) {
    const problem = checkPreset(options.preset);
    if (problem) throw fail(`--preset: ${problem}`, "scimsync presets lists them");
    given.preset = options.preset as StarterChoices["preset"];
  }
  if (options.targetUrl !== undefined) {
    const problem = checkTargetUrl(options.targetUrl);
    if (problem) throw fail(`--target-url: ${problem}`, "give the app's SCIM base URL, e.g. https://app.example.com/scim/v2");
    given.targetUrl = options.targetUrl.trim();
  }
  if (options.tokenEnv !== undefined) {
    const problem = checkEnvName(options.tokenEnv);
    if (problem) throw fail(`--token-env: ${problem}`, "name the variable, not its value: the token never goes into the config");
    given.tokenEnv = options.tokenEnv;
  }
  return given;
}

function overwriteRefused(path: string): ScimsyncError {
  return new ScimsyncError(`${path} already exists; init does not overwrite it`, {
    hint: "pass --force to replace it, or --config to write another file",
  });
}

/** Relative to the working directory when inside it, else absolute: how the user will type it. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

function isTerminal(stream: NodeJS.ReadableStream | NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
