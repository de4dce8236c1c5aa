import { buildReport, type JsonReport } from "../ui/report.js";
import { renderHumanReport } from "../ui/human-report.js";
import { colorEnabled, makeStyle, type Style } from "../ui/style.js";
import { lineProgress } from "../ui/progress.js";
import type { EventSink } from "../engine/events.js";
import { renderMarkdownReport } from "../ui/markdown-report.js";
import { ndjsonLog } from "../ui/ndjson-log.js";
import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";

/** markdown: plan and sync only (a PR comment, a change ticket). */
export type OutputFormat = "human" | "json" | "markdown";
/** How progress and warnings are written to stderr: lines for people, NDJSON for log collectors. */
export type LogFormat = "text" | "json";

export interface OutputOptions {
  quiet?: boolean;
  logFormat?: LogFormat;
  /** The run's id, carried by every NDJSON line. */
  runId?: string;
}

/** Where a command's words go: the report on stdout, progress and warnings on stderr. */
export interface Output {
  format: OutputFormat;
  style: Style;
  progress: EventSink;
  report(report: JsonReport): void;
  warn(message: string): void;
  /** A fatal error after the report was printed (the exit code says the rest). */
  fail(message: string, hint?: string): void;
}

export function makeOutput(format: OutputFormat, options: OutputOptions = {}): Output {
  const outStyle = makeStyle(colorEnabled(process.stdout));
  const errStyle = makeStyle(colorEnabled(process.stderr));
  const writeErr = (line: string) => process.stderr.write(line + "\n");
  const runId = options.runId ?? randomUUID();
  const jsonLog = options.logFormat === "json" ? ndjsonLog(writeErr, { runId }) : undefined;
  const warn = jsonLog
    ? (message: string) => jsonLog({ type: "warning", message })
    : (message: string) => writeErr(errStyle("yellow", `warning: ${message}`));
  // JSON mode keeps stderr for warnings and errors only: scripts parse stdout, cron mails stderr.
  // NDJSON logs are asked for on purpose, so they come whatever the report's format.
  const progress: EventSink =
    jsonLog ?? (format !== "human" || options.quiet ? (e) => (e.type === "warning" ? warn(e.message) : undefined) : lineProgress(writeErr, errStyle));
  return {
    format,
    style: outStyle,
    progress,
    warn,
    fail(message, hint) {
      writeErr(errStyle(["bold", "red"], "error: ") + message);
      if (hint) writeErr(errStyle("dim", `  hint: ${hint}`));
    },
    report(report) {
      if (format === "json") process.stdout.write(JSON.stringify(report, null, 2) + "\n");
      else if (format === "markdown") process.stdout.write(renderMarkdownReport(report) + "\n");
      else process.stdout.write(renderHumanReport(report, outStyle));
      appendStepSummary(report, warn);
    },
  };
}

export { buildReport };

/**
 * In a GitHub Actions job, the plan or run also goes to the job's summary page. A summary that
 * cannot be written is a warning: the run itself is what counts.
 */
function appendStepSummary(report: JsonReport, warn: (message: string) => void, env: NodeJS.ProcessEnv = process.env): void {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  try {
    appendFileSync(file, renderMarkdownReport(report, { maxRows: 50 }) + "\n");
  } catch (error) {
    warn(`could not append to GITHUB_STEP_SUMMARY (${file}): ${(error as Error).message}`);
  }
}
