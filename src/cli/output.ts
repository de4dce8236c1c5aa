import { buildReport, type JsonReport } from "../ui/report.js";
import { renderHumanReport } from "../ui/human-report.js";
import { colorEnabled, makeStyle, type Style } from "../ui/style.js";
import { lineProgress } from "../ui/progress.js";
import { terminalSafe } from "../ui/terminal-text.js";
import type { EventSink } from "../engine/events.js";
import { renderMarkdownReport } from "../ui/markdown-report.js";
import { ndjsonLog } from "../ui/ndjson-log.js";
import { appendFileSync } from "node:fs";
import { liveSink, type LiveSink, type Screen } from "../ui/live/live-sink.js";
import { wantsLiveView } from "../ui/live/wants-live-view.js";
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
  /** A live view on this screen instead of progress lines (see makeRunOutput). */
  live?: { command: "plan" | "sync"; screen: Screen };
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
  /**
   * Ends the live view, if there is one, leaving its last frame on the terminal; later words are
   * plain lines. report() and fail() close it themselves; call it in `finally` for the other ways
   * out. Safe to call more than once.
   */
  close(): void;
}

export function makeOutput(format: OutputFormat, options: OutputOptions = {}): Output {
  const outStyle = makeStyle(colorEnabled(process.stdout));
  const errStyle = makeStyle(colorEnabled(process.stderr));
  const writeErr = (line: string) => process.stderr.write(line + "\n");
  const runId = options.runId ?? randomUUID();
  const jsonLog = options.logFormat === "json" ? ndjsonLog(writeErr, { runId }) : undefined;
  const warnLine = (message: string) => writeErr(errStyle("yellow", `warning: ${terminalSafe(message, { lines: true })}`));
  const live: LiveSink | undefined = options.live
    ? liveSink({ ...options.live, write: (text) => process.stderr.write(text), writeWarning: warnLine })
    : undefined;
  const warn = jsonLog ? (message: string) => jsonLog({ type: "warning", message }) : (live?.warn ?? warnLine);
  // JSON mode keeps stderr for warnings and errors only: scripts parse stdout, cron mails stderr.
  // NDJSON logs are asked for on purpose, so they come whatever the report's format.
  const progress: EventSink =
    jsonLog ??
    live?.progress ??
    (format !== "human" || options.quiet ? (e) => (e.type === "warning" ? warn(e.message) : undefined) : lineProgress(writeErr, errStyle));
  return {
    format,
    style: outStyle,
    progress,
    warn,
    close: () => live?.close(),
    fail(message, hint) {
      live?.close();
      writeErr(errStyle(["bold", "red"], "error: ") + terminalSafe(message, { lines: true }));
      if (hint) writeErr(errStyle("dim", `  hint: ${terminalSafe(hint, { lines: true })}`));
    },
    report(report) {
      // The view's final frame first: the report must not land in the middle of a live frame.
      live?.finish(report);
      // Indented for a person at a terminal; one line for a program reading a pipe or a file, where
      // a report of 10,000 actions is a third smaller without the indentation and written faster.
      if (format === "json") process.stdout.write(JSON.stringify(report, null, process.stdout.isTTY ? 2 : undefined) + "\n");
      else if (format === "markdown") process.stdout.write(renderMarkdownReport(report) + "\n");
      else process.stdout.write(renderHumanReport(report, outStyle));
      appendStepSummary(report, warn);
    },
  };
}

/**
 * The output of plan and sync: makeOutput, with the live view when a person watches a terminal
 * (wantsLiveView). Ink is imported only then; a pipe, cron or CI never loads it.
 */
export async function makeRunOutput(format: OutputFormat, command: "plan" | "sync", options: Omit<OutputOptions, "live"> = {}): Promise<Output> {
  const context = { format, logFormat: options.logFormat, quiet: options.quiet, stdout: process.stdout, stderr: process.stderr, env: process.env };
  if (!wantsLiveView(context)) return makeOutput(format, options);
  const { inkScreen } = await import("../ui/live/ink-screen.js");
  return makeOutput(format, { ...options, live: { command, screen: inkScreen(process.stderr, colorEnabled(process.stderr)) } });
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
