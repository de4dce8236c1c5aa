import { stat } from "node:fs/promises";
import { loadConfig } from "../../config/load-config.js";
import { readAuditLog, type AuditLogContents } from "../../audit/read-audit-log.js";
import { FileStateStore } from "../../state/file-state-store.js";
import { buildStatus, renderHumanStatus } from "../../ui/status-report.js";
import { colorEnabled, makeStyle } from "../../ui/style.js";
import { errorCode } from "../../errors.js";
import { EXIT } from "../exit-codes.js";

export interface StatusCommandOptions {
  config: string;
  output: "human" | "json";
}

/**
 * What scimsync manages and how its runs went, from the state file and the audit log. Reads
 * only: it takes no lock (a sync may be running) and writes nothing.
 */
export async function statusCommand(options: StatusCommandOptions): Promise<number> {
  const errStyle = makeStyle(colorEnabled(process.stderr));
  const warn = (message: string) => process.stderr.write(errStyle("yellow", `warning: ${message}`) + "\n");
  const { config, warnings } = await loadConfig(options.config);
  for (const w of warnings) warn(w);

  // The store's read is the one a sync does (migrations, the backup, the target check), minus the lock.
  const store = new FileStateStore(config.state.path, { onWarning: warn });
  const { state, warnings: stateWarnings } = await store.read(config.target.url);
  for (const w of stateWarnings) warn(w);
  const stateFound = await exists(config.state.path);

  let audit: AuditLogContents | undefined;
  if (config.log.path) {
    audit = await readAuditLog(config.log.path);
    if (audit && audit.malformed > 0) warn(`${audit.malformed} line(s) of the audit log ${config.log.path} could not be read and were skipped`);
  }

  const status = buildStatus(state, config.deprovision, config.groupDeprovision, audit);
  if (options.output === "json") {
    process.stdout.write(JSON.stringify(status, null, 2) + "\n");
  } else {
    const context = {
      target: config.target.url,
      statePath: config.state.path,
      stateFound,
      auditLog: config.log.path === undefined ? ("off" as const) : audit ? ("read" as const) : ("missing" as const),
      now: new Date(),
    };
    process.stdout.write(renderHumanStatus(status, context, makeStyle(colorEnabled(process.stdout))));
  }
  return EXIT.ok;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    return errorCode(error) !== "ENOENT";
  }
}
