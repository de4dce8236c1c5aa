export interface LiveViewContext {
  format: "human" | "json" | "markdown";
  logFormat?: "text" | "json";
  quiet?: boolean;
  stdout: { isTTY?: boolean };
  stderr: { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const set = (env: NodeJS.ProcessEnv, key: string) => env[key] !== undefined && env[key] !== "0" && env[key] !== "false";

/**
 * The live view is for a person watching a terminal: human output and text logs, stdout and
 * stderr both terminals, not in CI (CI or CONTINUOUS_INTEGRATION set, as ink itself judges) and
 * not TERM=dumb. Anything else (a pipe, a cron mail, a log collector) keeps the line progress.
 */
export function wantsLiveView(c: LiveViewContext): boolean {
  if (c.format !== "human" || c.logFormat === "json" || c.quiet) return false;
  if (c.stdout.isTTY !== true || c.stderr.isTTY !== true) return false;
  if (set(c.env, "CI") || set(c.env, "CONTINUOUS_INTEGRATION")) return false;
  return c.env.TERM !== "dumb";
}
