/**
 * `scimsync validate`'s core: everything loadConfig checks (keys, types, delays, mapping
 * expressions, that referenced secrets and files exist), as a value. It reads the config file
 * and the files it references, nothing else: no network, no state file.
 */
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { summarizeConfig, type ConfigSummary } from "./config-summary.js";
import { loadConfig } from "./load-config.js";

export type ConfigCheck =
  | { valid: true; file: string; warnings: string[]; summary: ConfigSummary }
  | { valid: false; file: string; error: ConfigError };

export async function checkConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigCheck> {
  const path = resolve(file);
  try {
    const { config, warnings } = await loadConfig(path, env);
    return { valid: true, file: path, warnings, summary: summarizeConfig(config) };
  } catch (error) {
    // Anything but a ConfigError is a bug, not a verdict on the file.
    if (error instanceof ConfigError) return { valid: false, file: path, error };
    throw error;
  }
}
