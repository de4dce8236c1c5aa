import { loadConfig } from "../../config/load-config.js";
import { preparePlan } from "../../engine/run-sync.js";
import { portsFrom, settingsFrom } from "../wiring.js";
import { buildReport, makeRunOutput, type LogFormat, type OutputFormat } from "../output.js";
import { EXIT } from "../exit-codes.js";

export interface PlanCommandOptions {
  config: string;
  output: OutputFormat;
  logFormat?: LogFormat;
  exitCode?: boolean;
  now?: Date;
  allowMassDeprovision?: boolean;
  /** Show objects waiting in escrow as a sync --retry-now would try them. */
  retryNow?: boolean;
  /** Narrow every view to this person (a userName). */
  user?: string;
}

/** Shows what `sync` would do. Reads everything, writes nothing: not even the state file. */
export async function planCommand(options: PlanCommandOptions): Promise<number> {
  const out = await makeRunOutput(options.output, "plan", options.logFormat ? { logFormat: options.logFormat } : {});
  const { config, warnings } = await loadConfig(options.config);
  for (const w of warnings) out.warn(w);
  const ports = portsFrom(config, { onWarning: out.warn });
  try {
    const prepared = await preparePlan(settingsFrom(config), ports, {
      now: options.now ?? new Date(),
      allowMassDeprovision: options.allowMassDeprovision ?? false,
      retryFailed: options.retryNow ?? false,
      onEvent: out.progress,
      ...(options.user !== undefined ? { user: options.user } : {}),
    });
    const { plan } = prepared;
    const results = plan.actions.map((a) => ({ ...a, status: "planned" as const }));
    const report = buildReport("plan", config.target.url, plan, results, prepared.problems);
    if (options.user !== undefined) report.narrowedTo = options.user.trim();
    if (prepared.person) report.person = prepared.person;
    report.timings = prepared.clock.timings;
    out.report(report);
    if (options.exitCode) return plan.actions.length > 0 ? EXIT.changesPending : EXIT.ok;
    return EXIT.ok;
  } finally {
    out.close();
    await ports.target.close();
  }
}
