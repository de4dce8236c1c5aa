import { afterEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";
import { render, cleanup } from "ink-testing-library";
import { RunTracker, type LiveFrame } from "../src/ui/live/run-tracker.js";
import { LiveView, RunSummary } from "../src/ui/live/live-view.js";
import { liveSink, type Screen } from "../src/ui/live/live-sink.js";
import { inkScreen } from "../src/ui/live/ink-screen.js";
import { wantsLiveView } from "../src/ui/live/wants-live-view.js";
import type { ActionResult, EngineEvent } from "../src/engine/events.js";
import type { ActionOp, ResourceType } from "../src/core/model.js";
import type { JsonReport } from "../src/ui/report.js";
import { Writable } from "node:stream";

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function result(op: ActionOp, key: string, status: ActionResult["status"] = "ok", error?: string, type: ResourceType = "User"): ActionResult {
  return { op, type, key, sourceId: key, changes: {}, status, ...(error ? { error } : {}) };
}

function aReport(overrides: Partial<JsonReport> = {}): JsonReport {
  return {
    command: "sync",
    target: "http://scim.test",
    now: "2026-03-01T09:00:00.000Z",
    result: "ok",
    actions: [],
    scheduled: [],
    adopted: [],
    held: [],
    summary: { create: 0, update: 0, suspend: 0, unsuspend: 0, delete: 0, failed: 0, skipped: 0, held: 0, groups: { create: 0, update: 0, delete: 0, "add-members": 0, "remove-members": 0 } },
    safety: { blocked: false } as JsonReport["safety"],
    problems: [],
    warnings: [],
    ...overrides,
  };
}

const viewOf = (frame: LiveFrame) => render(createElement(LiveView, { frame, color: false })).lastFrame();

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("the live view of a sync", () => {
  it("given the run is reading the directory, then the state is done, the directory shows pages and users so far, the rest is pending", () => {
    const clock = manualClock();
    const t = new RunTracker("sync", clock.now);
    t.onEvent({ type: "phase", phase: "read-state" });
    clock.advance(120);
    t.onEvent({ type: "phase", phase: "read-source" });
    t.onEvent({ type: "source-progress", listing: "users", pages: 3, items: 1500 });
    clock.advance(2_000);

    expect(viewOf(t.frame())).toBe(
      [
        "✓ reading the state      0.1s",
        "⠙ reading the directory  users: 1,500 in 3 page(s)",
        "· reading the target",
        "· planning",
        "· applying",
        "· saving the state",
      ].join("\n"),
    );
  });

  it("given the run is applying, then it shows done/total, actions per second, failures so far and the time left", () => {
    const clock = manualClock(0);
    const t = new RunTracker("sync", clock.now);
    const events: EngineEvent[] = [
      { type: "phase", phase: "read-state" },
      { type: "phase", phase: "read-source" },
      { type: "source-read", users: 1200, problems: 2 },
      { type: "phase", phase: "read-target" },
      { type: "target-read", users: 1000 },
      { type: "target-read", users: 1000, groups: 40 },
      { type: "phase", phase: "plan" },
      { type: "phase", phase: "save-state" }, // the timers' save before applying: still planning
    ];
    for (const e of events) {
      t.onEvent(e);
      clock.advance(500);
    }
    t.onEvent({ type: "phase", phase: "apply" });
    t.onEvent({ type: "apply-start", total: 400 });
    for (let i = 1; i <= 100; i++) t.onEvent({ type: "action-done", result: result("create", `u${i}`, i % 25 === 0 ? "failed" : "ok", "HTTP 400"), done: i, total: 400 });
    clock.advance(4_000); // 100 actions in 4 s: 25/s, 300 left: 12 s
    t.onEvent({ type: "warning", message: "first" });

    expect(viewOf(t.frame())).toBe(
      [
        "✓ reading the state      0.5s",
        "✓ reading the directory  1,200 users · 2 problem(s) · 1.0s",
        "✓ reading the target     1,000 users · 40 groups · 1.5s",
        "✓ planning               400 change(s) · 1.0s",
        "⠋ applying               100/400 · 25 actions/s · 4 failed · about 12s left",
        "· saving the state",
        "",
        "1 warning(s):",
        "  first",
      ].join("\n"),
    );
  });

  it("given more than five warnings, then the last five are shown with the count", () => {
    const t = new RunTracker("plan", manualClock().now);
    for (let i = 1; i <= 7; i++) t.warn(`warning number ${i}`);
    const frame = viewOf(t.frame())!;
    expect(frame).toContain("7 warning(s), the last 5:");
    expect(frame).not.toContain("warning number 2");
    expect(frame).toContain("warning number 3");
    expect(frame).toContain("warning number 7");
  });

  it("given an interrupted sync, then applying is marked failed and interrupted, and the final frame has no warnings", () => {
    const clock = manualClock(0);
    const t = new RunTracker("sync", clock.now);
    for (const phase of ["read-state", "read-source", "read-target", "plan"] as const) t.onEvent({ type: "phase", phase });
    t.onEvent({ type: "phase", phase: "apply" });
    t.onEvent({ type: "apply-start", total: 10 });
    t.onEvent({ type: "action-done", result: result("create", "a"), done: 1, total: 10 });
    t.warn("interrupted: finishing the requests in flight");
    clock.advance(2_000);
    t.onEvent({ type: "phase", phase: "save-state" });
    clock.advance(100);
    t.finish(aReport({ result: "interrupted" }));

    expect(viewOf(t.frame(true))).toBe(
      [
        "✓ reading the state      0.0s",
        "✓ reading the directory  0.0s",
        "✓ reading the target     0.0s",
        "✓ planning               10 change(s) · 0.0s",
        "✗ applying               1/10 · in 2.0s · interrupted",
        "✓ saving the state       0.1s",
      ].join("\n"),
    );
  });

  it("given the command leaves without a report, then the phase that was running is failed", () => {
    const t = new RunTracker("plan", manualClock().now);
    t.onEvent({ type: "phase", phase: "read-state" });
    t.onEvent({ type: "phase", phase: "read-source" });
    t.finish();
    const frame = viewOf(t.frame(true))!;
    expect(frame.split("\n")[1]).toMatch(/^✗ reading the directory/);
    expect(frame.split("\n")[2]).toBe("· reading the target");
  });
});

describe("the summary under the final frame", () => {
  it("given a sync with failures, then a table by action with done and failed, and the first 20 failures with their reasons", () => {
    const t = new RunTracker("sync", manualClock().now);
    t.onEvent({ type: "phase", phase: "apply" });
    t.onEvent({ type: "apply-start", total: 60 });
    let done = 0;
    const emit = (r: ActionResult) => t.onEvent({ type: "action-done", result: r, done: ++done, total: 60 });
    for (let i = 1; i <= 25; i++) emit(result("create", `new${i}@example.com`, "failed", `HTTP 409 uniqueness (${i})`));
    for (let i = 1; i <= 30; i++) emit(result("update", `old${i}@example.com`));
    emit(result("suspend", "gone@example.com"));
    emit(result("create", "Sales", "ok", undefined, "Group"));
    emit(result("add-members", "Sales", "ok", undefined, "Group"));
    t.finish(aReport({ result: "failed" }));

    const text = render(createElement(RunSummary, { summary: t.summary(), color: false })).lastFrame()!;
    const lines = text.split("\n");
    expect(lines.slice(0, 6)).toEqual([
      "  action             done  failed",
      "  update users         30       0",
      "  create users          0      25",
      "  create groups         1       0",
      "  add group members     1       0",
      "  suspend users         1       0",
    ]);
    expect(lines[7]).toBe("Failures (25):");
    expect(lines[8]).toBe("  create users: new1@example.com: HTTP 409 uniqueness (1)");
    expect(lines.filter((l) => l.startsWith("  create users: "))).toHaveLength(20);
    expect(lines.at(-1)).toBe("  and 5 more (see the report)");
  });

  it("given a plan, then the table counts what is planned", () => {
    const t = new RunTracker("plan", manualClock().now);
    const planned = (op: ActionOp, key: string, type: ResourceType = "User") => ({ op, type, key, changes: {}, status: "planned" as const });
    t.finish(aReport({ command: "plan", result: "changes", actions: [planned("create", "a"), planned("create", "b"), planned("delete", "c"), planned("create", "G", "Group")] }));
    expect(render(createElement(RunSummary, { summary: t.summary(), color: false })).lastFrame()).toBe(
      ["  action         planned", "  create users         2", "  create groups        1", "  delete users         1"].join("\n"),
    );
  });
});

/** A screen that only counts frames. */
function countingScreen() {
  const s = { draws: 0, closed: false, last: undefined as LiveFrame | undefined };
  const screen: Screen = {
    draw(frame) {
      s.draws++;
      s.last = frame;
    },
    close() {
      s.closed = true;
    },
    summaryText: () => "",
  };
  return { s, screen };
}

/** A writable that passes for a 100-column terminal and keeps what it is given. */
function fakeTerminal() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text(): string };
  Object.assign(stream, { isTTY: true, columns: 100, rows: 40, text: () => text });
  return stream;
}

function actionDone(i: number, total: number): EngineEvent {
  return { type: "action-done", result: result("update", `person${i}@example.com`, i % 1000 === 0 ? "failed" : "ok", "HTTP 500"), done: i, total };
}

describe("the live sink", () => {
  it("given 100k results in one burst, then it draws the first frame and the final one only", () => {
    vi.useFakeTimers();
    const { s, screen } = countingScreen();
    const warnings: string[] = [];
    const sink = liveSink({ command: "sync", write: () => {}, writeWarning: (m) => warnings.push(m), clock: Date.now, screen });
    const cpu = process.cpuUsage();
    sink.progress({ type: "phase", phase: "apply" });
    sink.progress({ type: "apply-start", total: 100_000 });
    for (let i = 1; i <= 100_000; i++) sink.progress(actionDone(i, 100_000));
    const used = process.cpuUsage(cpu);
    sink.finish(aReport({ result: "failed" }));
    expect(s.draws).toBe(2);
    expect(s.closed).toBe(true);
    expect(s.last!.rows.find((r) => r.phase === "apply")!.detail).toContain("100,000/100,000");
    // Reported, not asserted: machines differ. Typically some tens of milliseconds.
    console.info(`100k action-done events: ${((used.user + used.system) / 1000).toFixed(0)} ms of CPU, ${s.draws} frames`);
  });

  it("given 100k results spread over 100 seconds, then at most one frame per 100 ms is drawn", () => {
    vi.useFakeTimers();
    const { s, screen } = countingScreen();
    const sink = liveSink({ command: "sync", write: () => {}, writeWarning: () => {}, clock: Date.now, screen });
    sink.progress({ type: "phase", phase: "apply" });
    sink.progress({ type: "apply-start", total: 100_000 });
    for (let i = 1; i <= 100_000; i++) {
      sink.progress(actionDone(i, 100_000));
      if (i % 1000 === 0) vi.advanceTimersByTime(1000); // 1,000 results a second
    }
    sink.finish(aReport());
    // 100 s at 10 frames a second, plus the first frame and the final one.
    expect(s.draws).toBeLessThanOrEqual(1002);
    expect(s.draws).toBeGreaterThan(900);
  });

  it("given nothing happens and no phase runs, then it does not redraw", () => {
    vi.useFakeTimers();
    const { s, screen } = countingScreen();
    const sink = liveSink({ command: "plan", write: () => {}, writeWarning: () => {}, clock: Date.now, screen });
    sink.progress({ type: "warning", message: "a warning before any phase" });
    vi.advanceTimersByTime(5_000);
    expect(s.draws).toBe(1);
    sink.close();
  });

  it("given the command ends before any engine event (a config error), then nothing is drawn", () => {
    const { s, screen } = countingScreen();
    const sink = liveSink({ command: "sync", write: () => {}, writeWarning: () => {}, screen });
    sink.close();
    expect(s.draws).toBe(0);
    expect(s.closed).toBe(false);
  });

  it("given warnings before the first event and after closing, then they are plain lines; those in the view are printed in full after it", () => {
    vi.useFakeTimers();
    const { screen } = countingScreen();
    const lines: string[] = [];
    const sink = liveSink({ command: "plan", write: () => {}, writeWarning: (m) => lines.push(m), clock: Date.now, screen });
    sink.warn("config warning");
    expect(lines).toEqual(["config warning"]);
    sink.progress({ type: "phase", phase: "read-state" });
    for (let i = 1; i <= 7; i++) sink.warn(`w${i}`);
    expect(lines).toEqual(["config warning"]);
    sink.close();
    expect(lines).toEqual(["config warning", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]);
    sink.warn("late");
    expect(lines.at(-1)).toBe("late");
  });

  it("given ink on a terminal, then 100k results make a bounded number of renders, the final frame and summary are written and the cursor is shown again", () => {
    vi.useFakeTimers();
    const term = fakeTerminal();
    let renders = 0;
    const sink = liveSink({ command: "sync", write: (text) => term.write(text), writeWarning: () => {}, clock: Date.now, screen: inkScreen(term, false, () => renders++) });
    sink.progress({ type: "phase", phase: "apply" });
    sink.progress({ type: "apply-start", total: 100_000 });
    for (let i = 1; i <= 100_000; i++) {
      sink.progress(actionDone(i, 100_000));
      if (i % 10_000 === 0) vi.advanceTimersByTime(1000);
    }
    sink.finish(aReport({ result: "failed" }));
    console.info(`ink: ${renders} renders for 100k action-done events over 10 simulated seconds`);
    expect(renders).toBeLessThanOrEqual(110);
    const out = term.text();
    expect(out).toContain("\x1b[?25l");
    expect(out.lastIndexOf("\x1b[?25h")).toBeGreaterThan(out.lastIndexOf("\x1b[?25l"));
    expect(out).toContain("100,000/100,000");
    expect(out).toContain("update users  99,900     100");
    expect(out).toContain("and 80 more");
  });
});

describe("when the live view is used", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  const base = { format: "human" as const, stdout: tty, stderr: tty, env: { TERM: "xterm-256color" } };
  it.each([
    ["a terminal, human output, text logs", true, base],
    ["stdout piped", false, { ...base, stdout: pipe }],
    ["stderr piped", false, { ...base, stderr: pipe }],
    ["--output json", false, { ...base, format: "json" as const }],
    ["--output markdown", false, { ...base, format: "markdown" as const }],
    ["--log-format json", false, { ...base, logFormat: "json" as const }],
    ["CI set", false, { ...base, env: { CI: "true" } }],
    ["CI=false", true, { ...base, env: { CI: "false" } }],
    ["TERM=dumb", false, { ...base, env: { TERM: "dumb" } }],
    ["quiet", false, { ...base, quiet: true }],
  ])("given %s, then the live view is %s", (_name, expected, context) => {
    expect(wantsLiveView(context)).toBe(expected);
  });
});
