import { Command, Option, CommanderError } from "commander";
import { VERSION } from "../version.js";
import { ScimsyncError, ConfigError, TargetError } from "../errors.js";
import { EXIT, errorBody, exitCodeFor } from "./exit-codes.js";
import { parseNow, parseOutputFormat, parsePort } from "./options.js";
import { colorEnabled, makeStyle } from "../ui/style.js";

const DEFAULT_CONFIG = "scimsync.yaml";

function buildProgram(run: (job: () => Promise<number>, json: boolean) => Promise<void>): Command {
  const program = new Command("scimsync")
    .description("Provision users from your directory into a SCIM 2.0 app, on your own schedule and machine.")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  const outputOption = () => new Option("-o, --output <format>", "human or json").default("human").argParser(parseOutputFormat);
  const nowOption = () => new Option("--now <time>", "plan as if it were this ISO-8601 time").argParser(parseNow);

  program
    .command("plan")
    .description("show what sync would change; writes nothing, not even the state file")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(outputOption())
    .option("--exit-code", "exit 0 when there are no changes, 2 when changes are pending, 1 on error")
    .addOption(nowOption())
    .option("--allow-mass-deprovision", "show the plan as sync --allow-mass-deprovision would apply it")
    .action(async (opts) => {
      const { planCommand } = await import("./commands/plan.js");
      await run(() => planCommand(opts), opts.output === "json");
    });

  program
    .command("sync")
    .description("apply the plan to the target and record it in the state file")
    .option("-c, --config <file>", "config file", DEFAULT_CONFIG)
    .addOption(outputOption())
    .addOption(nowOption())
    .option("--allow-mass-deprovision", "apply deprovisioning beyond the safety limits, this run only")
    .action(async (opts) => {
      const { syncCommand } = await import("./commands/sync.js");
      await run(() => syncCommand(opts), opts.output === "json");
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
    process.stderr.write(style(["bold", "red"], "error: ") + message + "\n");
    if (hint) process.stderr.write(style("dim", `  hint: ${hint}\n`));
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
