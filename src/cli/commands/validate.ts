import { checkConfig } from "../../config/check-config.js";
import { colorEnabled, makeStyle } from "../../ui/style.js";
import { renderValidConfig, validationJson } from "../../ui/validation-view.js";
import { EXIT } from "../exit-codes.js";
import { makeOutput, type OutputFormat } from "../output.js";

export interface ValidateCommandOptions {
  config: string;
  output: OutputFormat;
}

/** Checks the config and the secrets and files it references, offline; writes nothing. */
export async function validateCommand(options: ValidateCommandOptions): Promise<number> {
  const out = makeOutput(options.output);
  const check = await checkConfig(options.config);
  if (!check.valid) {
    // A person gets the ConfigError as plan and sync report it; a script gets validate's own document.
    if (options.output !== "json") throw check.error;
    process.stdout.write(JSON.stringify(validationJson(check), null, 2) + "\n");
    out.fail(check.error.message, check.error.hint);
    return EXIT.error;
  }
  for (const w of check.warnings) out.warn(w);
  if (options.output === "json") process.stdout.write(JSON.stringify(validationJson(check), null, 2) + "\n");
  else process.stdout.write(renderValidConfig(check.file, check.summary, makeStyle(colorEnabled(process.stdout))));
  return EXIT.ok;
}
