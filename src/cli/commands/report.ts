import { loadConfig, type Config } from "../../config/load-config.js";
import { readAuditLog, type AuditLogContents } from "../../audit/read-audit-log.js";
import { summariseUsage } from "../../audit/usage-summary.js";
import { renderCsvUsage, renderHumanUsage } from "../../ui/usage-report.js";
import { colorEnabled, makeStyle } from "../../ui/style.js";
import { ConfigError, ScimsyncError } from "../../errors.js";
import { EXIT } from "../exit-codes.js";
import { resolveTimeBound, type TimeBound } from "../options.js";

export interface ReportCommandOptions {
  config: string;
  output: "human" | "json" | "csv";
  since: TimeBound;
  until?: TimeBound;
}

/** Summarises the audit log over a period: what was provisioned, and what failed and why. */
export async function reportCommand(options: ReportCommandOptions): Promise<number> {
  const errStyle = makeStyle(colorEnabled(process.stderr));
  const warn = (message: string) => process.stderr.write(errStyle("yellow", `warning: ${message}`) + "\n");
  const { config, warnings } = await loadConfig(options.config);
  for (const w of warnings) warn(w);
  const now = new Date();
  const since = resolveTimeBound(options.since, now);
  const until = options.until ? resolveTimeBound(options.until, now) : now;
  if (since.getTime() > until.getTime()) {
    throw new ScimsyncError(`--since ${since.toISOString()} is after --until ${until.toISOString()}`, { hint: "give --since an earlier time than --until" });
  }
  const log = await requireAuditLog(config, options.config);
  if (log.malformed > 0) warn(`${log.malformed} line(s) of the audit log ${config.log.path} could not be read and were skipped`);

  const report = summariseUsage(log.actions, since, until);
  if (options.output === "json") process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else if (options.output === "csv") process.stdout.write(renderCsvUsage(report));
  else process.stdout.write(renderHumanUsage(report, makeStyle(colorEnabled(process.stdout))));
  return EXIT.ok;
}

async function requireAuditLog(config: Config, configFile: string): Promise<AuditLogContents> {
  const path = config.log.path;
  if (path === undefined) {
    throw new ConfigError(
      [{ path: "log.path", message: "is not set, so there is no audit log to report on; add log: { path: ./scimsync-audit.ndjson } and the next sync starts it" }],
      { file: configFile, hint: "report reads the audit log that sync writes to log.path; runs before it was set are not in it" },
    );
  }
  const log = await readAuditLog(path);
  if (!log) {
    throw new ScimsyncError(`the audit log ${path} (log.path) does not exist`, {
      hint: "sync creates it on its first run with log.path set; check that log.path points where sync writes",
    });
  }
  return log;
}
