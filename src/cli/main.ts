import { Command, Option, CommanderError, InvalidArgumentError } from "commander";
import { VERSION } from "../version.js";
import { ScimsyncError, ConfigError, TargetError } from "../errors.js";
import { EXIT, errorBody, exitCodeFor } from "./exit-codes.js";
import { parseLogFormat, parseNow, parseOutputFormat, parsePort, parseReportFormat, parseSeconds } from "./options.js";
import { colorEnabled, makeStyle } from "../ui/style.js";
import { terminalSafe } from "../ui/terminal-text.js";
import { parseTimeBound, parseUsageFormat } from "./options.js";

const DEFAULT_CONFIG = "scimsync.yaml";

function buildProgram(run: (job: () => Promise<number>, json: boolean) => Promise<void>): Command {
  const program = new Command("scimsync")
    .description("Provision users from your directory into a SCIM 2.0 app, on your own schedule and machine.")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  const outputOption = () => new Option("-o, --output <format>", "human or json").default("human").argParser(parseOutputFormat);
  const reportOption = () =>
    new Option("-o, --output <format>", "human, json or markdown (also appended to $GITHUB_STEP_SUMMARY when set)").default("human").argParser(parseReportFormat);
  const logOption = () => new Option("--log-format <format>", "progress and warnings on stderr: text or json (NDJSON)").default("text").argParser(parseLogFormat);
  const nowOption = () => new Option("--now <time>", "plan as if it were this ISO-8601 time").argParser(parseNow);
  const userOption = (what: string) => new Option("--user <userName>", what).argParser(parseUserName);

  program
    .command("plan")
    .description("show what sync would change; writes nothing, not even the state file")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(reportOption())
    .addOption(logOption())
    .option("--exit-code", "exit 0 when there are no changes, 2 when changes are pending, 1 on error")
    .addOption(nowOption())
    .option("--allow-mass-deprovision", "show the plan as sync --allow-mass-deprovision would apply it")
    .option("--retry-now", "show the plan as sync --retry-now would apply it")
    .addOption(userOption("show only this person's part of the plan (a userName as the directory or the app has it)"))
    .action(async (opts) => {
      const { planCommand } = await import("./commands/plan.js");
      await run(() => planCommand(opts), opts.output === "json");
    });

  program
    .command("sync")
    .description("apply the plan to the target and record it in the state file")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(reportOption())
    .addOption(logOption())
    .addOption(nowOption())
    .option("--allow-mass-deprovision", "apply deprovisioning beyond the safety limits, this run only")
    .option("--retry-now", "try users and groups that failed before now, without waiting for their next attempt (escrow), this run only")
    .addOption(userOption("provision one person now (on demand): apply only their changes, step by step"))
    .action(async (opts) => {
      const { syncCommand } = await import("./commands/sync.js");
      await run(() => syncCommand(opts), opts.output === "json");
    });

  program
    .command("report")
    .description("summarise the audit log (log.path): users and groups provisioned, and the failures with their reasons")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(new Option("-o, --output <format>", "human, json or csv").default("human").argParser(parseUsageFormat))
    .addOption(new Option("--since <when>", "start: a duration back from now (30d, 12h) or an ISO-8601 date or time").default(parseTimeBound("30d"), "30d").argParser(parseTimeBound))
    .addOption(new Option("--until <when>", "end: a duration back from now or an ISO-8601 date or time (default: now)").argParser(parseTimeBound))
    .action(async (opts) => {
      const { reportCommand } = await import("./commands/report.js");
      await run(() => reportCommand(opts), opts.output === "json");
    });

  program
    .command("status")
    .description("show the managed users and groups, the last run, pending deprovisionings and objects that keep failing; reads only")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(outputOption())
    .action(async (opts) => {
      const { statusCommand } = await import("./commands/status.js");
      await run(() => statusCommand(opts), opts.output === "json");
    });

  const presets = program
    .command("presets")
    .description("list the ready-made mappings for known apps (target.preset)")
    .addOption(outputOption())
    .action(async (opts) => {
      const { listPresetsCommand } = await import("./commands/presets.js");
      await run(() => listPresetsCommand(opts), opts.output === "json");
    });

  presets
    .command("show [name]")
    .description("print a preset's settings and mapping as config YAML, or with --config the mapping a config uses")
    .option("-c, --config <file>", "show this config's effective mapping (its preset with its mapping entries)")
    .action(async (name: string | undefined, _opts, command: Command) => {
      // --output belongs to `presets`, which commander lets appear after `show` too.
      const opts = command.optsWithGlobals<{ output: "human" | "json"; config?: string }>();
      const { showPresetCommand } = await import("./commands/presets.js");
      await run(() => showPresetCommand(name, opts), opts.output === "json");
    });

  program
    .command("validate")
    .description("check the config and that the secrets and files it references exist, offline: no network, no state file")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(outputOption())
    .action(async (opts) => {
      const { validateCommand } = await import("./commands/validate.js");
      await run(() => validateCommand(opts), opts.output === "json");
    });

  program
    .command("schema")
    .description("print the config file's JSON Schema (for editors: scimsync schema > config.schema.json)")
    .action(async () => {
      const { schemaCommand } = await import("./commands/schema.js");
      await run(() => schemaCommand(), false);
    });

  program
    .command("init")
    .description("write a commented starter config; asks in a terminal, else takes flags and defaults; never writes a secret")
    .option("-c, --config <file>", "file to write", DEFAULT_CONFIG)
    .option("--source <type>", "file, google or microsoft (default file)")
    .option("--preset <name>", "target.preset (default generic; scimsync presets lists them)")
    .option("--target-url <url>", "the app's SCIM base URL")
    .option("--token-env <name>", "environment variable that will hold the SCIM token (default SCIM_TOKEN)")
    .option("--force", "replace the file if it exists")
    .action(async (opts) => {
      const { initCommand } = await import("./commands/init.js");
      await run(() => initCommand(opts), false);
    });

  program
    .command("test-connection")
    .description("check, in seconds, that the source and the target can be reached and accept their credentials; writes nothing")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(outputOption())
    .addOption(new Option("--timeout <seconds>", "deadline of each request (no retries)").default(5).argParser(parseSeconds))
    .action(async (opts) => {
      const { testConnectionCommand } = await import("./commands/test-connection.js");
      await run(() => testConnectionCommand(opts), opts.output === "json");
    });

  program
    .command("reauthorize")
    .description("test a new target token (or with --source the source's secret) and store it where the config's reference points")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .option("--token-stdin", "read the new secret from stdin (one trailing newline is dropped) instead of asking without echo")
    .option("--source", "renew the source's secret instead: a Microsoft client secret, or a Google service account key (JSON on stdin)")
    .action(async (opts) => {
      const { reauthorizeCommand } = await import("./commands/reauthorize.js");
      await run(() => reauthorizeCommand(opts), false);
    });

  program
    .command("sandbox")
    .description("run a local SCIM 2.0 target on 127.0.0.1 (for trying scimsync out and for tests)")
    .addOption(new Option("-p, --port <port>", "port; 0 picks a free one").default(8180).argParser(parsePort))
    .option("-t, --token <token>", "bearer token to require (default: a random one, printed)")
    .option("-d, --data <file>", "persist the sandbox's users and groups in this JSON file")
    .action(async (opts) => {
      const { sandboxCommand } = await import("./commands/sandbox.js");
      await run(() => sandboxCommand(opts), false);
    });

  return program;
}

function parseUserName(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("give a userName, e.g. --user ada@example.com.");
  return value.trim();
}

/** Prints an error the way its kind deserves; returns the exit code. Secrets never reach here. */
function reportError(error: unknown, json: boolean): number {
  const code = exitCodeFor(error);
  const style = makeStyle(colorEnabled(process.stderr));
  const base = errorBody(error);
  const { message, hint } = base;
  if (json) {
    const body: Record<string, unknown> = { ...base };
    if (error instanceof TargetError && error.status !== undefined) body.status = error.status;
    if (error instanceof ConfigError) body.issues = error.issues;
    process.stdout.write(JSON.stringify({ error: body, exitCode: code }, null, 2) + "\n");
  }
  if (error instanceof ScimsyncError) {
    // A message may quote what a target or a directory sent.
    process.stderr.write(style(["bold", "red"], "error: ") + terminalSafe(message, { lines: true }) + "\n");
    if (hint) process.stderr.write(style("dim", `  hint: ${terminalSafe(hint, { lines: true })}\n`));
  } else {
    // Not one of ours: a bug. Show the stack so it can be reported.
    process.stderr.write(style(["bold", "red"], "unexpected error (please report it): ") + (error instanceof Error ? (error.stack ?? message) : message) + "\n");
  }
  return code;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT.ok as number;
  const run = async (job: () => Promise<number>, json: boolean) => {
    try {
      exitCode = await job();
    } catch (error) {
      exitCode = reportError(error, json);
    }
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors are errors.
      return error.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    return reportError(error, false);
  }
  return exitCode;
}
