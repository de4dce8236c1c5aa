import { buildReport, type JsonReport } from "../ui/report.js";
import { renderHumanReport } from "../ui/human-report.js";
import { colorEnabled, makeStyle, type Style } from "../ui/style.js";
import { lineProgress } from "../ui/progress.js";
import type { EventSink } from "../engine/events.js";

export type OutputFormat = "human" | "json";

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

export function makeOutput(format: OutputFormat, quiet = false): Output {
  const outStyle = makeStyle(colorEnabled(process.stdout));
  const errStyle = makeStyle(colorEnabled(process.stderr));
  const writeErr = (line: string) => process.stderr.write(line + "\n");
  const warn = (message: string) => writeErr(errStyle("yellow", `warning: ${message}`));
  // JSON mode keeps stderr for warnings and errors only: scripts parse stdout, cron mails stderr.
  const progress: EventSink =
    format === "json" || quiet ? (e) => (e.type === "warning" ? warn(e.message) : undefined) : lineProgress(writeErr, errStyle);
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
      else process.stdout.write(renderHumanReport(report, outStyle));
    },
  };
}

export { buildReport };
