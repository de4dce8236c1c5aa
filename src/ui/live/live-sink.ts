import type { EngineEvent, EventSink } from "../../engine/events.js";
import type { JsonReport } from "../report.js";
import { RunTracker, type LiveFrame, type RunSummaryData } from "./run-tracker.js";
import { terminalSafeDeep } from "../terminal-text.js";

/** Where frames go: ink on a terminal (inkScreen), a counter in tests. */
export interface Screen {
  draw(frame: LiveFrame): void;
  /** Leaves the last frame on the terminal and gives the terminal back (cursor shown). */
  close(): void;
  /** The summary printed once under the final frame; "" for none. */
  summaryText(summary: RunSummaryData): string;
}

export interface LiveSinkOptions {
  command: "plan" | "sync";
  screen: Screen;
  /** Plain text under the final frame (the summary), on the terminal the view is drawn on. */
  write: (text: string) => void;
  /** A warning as a plain line: before the view opens, after it closes, and all it showed once it closed. */
  writeWarning: (message: string) => void;
  clock?: () => number;
  /** Least time between two frames; events in between only update counters. */
  everyMs?: number;
}

export interface LiveSink {
  progress: EventSink;
  /** Shows a warning in the view while it is open, as a line before and after. */
  warn(message: string): void;
  /** Draws the final frame and closes the view; `report` tells how the run ended (none: it failed). */
  finish(report?: JsonReport): void;
  /** finish() without a report; does nothing once finished. */
  close(): void;
  readonly closed: boolean;
}

/**
 * The live view of `plan` and `sync` for a person at a terminal. It opens at the first engine
 * event (a config warning before that is an ordinary line) and is drawn from a timer at most every
 * `everyMs`, however fast events come: 100k results cost 100k counter updates and a handful of
 * frames. Closing it draws the final frame, prints the summary and every warning it showed as
 * plain lines, and hands the terminal back.
 */
export function liveSink(options: LiveSinkOptions): LiveSink {
  const clock = options.clock ?? Date.now;
  const everyMs = options.everyMs ?? 100;
  const tracker = new RunTracker(options.command, clock);
  const warnings: string[] = [];
  const screen = options.screen;
  let opened = false;
  let timer: NodeJS.Timeout | undefined;
  let dirty = false;
  let closed = false;

  const draw = () => {
    dirty = false;
    screen.draw(terminalSafeDeep(tracker.frame()));
  };
  const open = () => {
    opened = true;
    draw();
    timer = setInterval(() => {
      // A running phase redraws anyway: its spinner turns while the directory or target is slow.
      if (dirty || tracker.busy) draw();
    }, everyMs);
    timer.unref();
  };

  const sink: LiveSink = {
    get closed() {
      return closed;
    },
    progress(event: EngineEvent) {
      if (closed) {
        if (event.type === "warning") options.writeWarning(event.message);
        return;
      }
      if (event.type === "warning") warnings.push(event.message);
      tracker.onEvent(event);
      dirty = true;
      if (!opened) open();
    },
    warn(message) {
      if (closed || !opened) return options.writeWarning(message);
      warnings.push(message);
      tracker.warn(message);
      dirty = true;
    },
    finish(report) {
      if (closed) return;
      closed = true;
      if (!opened) return;
      clearInterval(timer);
      tracker.finish(report);
      screen.draw(terminalSafeDeep(tracker.frame(true)));
      screen.close();
      // Failures quote the target's answers and the directory's names.
      const summary = screen.summaryText(terminalSafeDeep(tracker.summary()));
      if (summary) options.write(summary + "\n");
      for (const w of warnings) options.writeWarning(w);
    },
    close() {
      sink.finish();
    },
  };
  return sink;
}
