import { InvalidArgumentError } from "commander";

export function parseOutputFormat(value: string): "human" | "json" {
  if (value === "human" || value === "json") return value;
  throw new InvalidArgumentError('use "human" or "json".');
}

/** plan and sync also render Markdown (a pull request comment, a change ticket). */
export function parseReportFormat(value: string): "human" | "json" | "markdown" {
  if (value === "human" || value === "json" || value === "markdown") return value;
  throw new InvalidArgumentError('use "human", "json" or "markdown".');
}

export function parseLogFormat(value: string): "text" | "json" {
  if (value === "text" || value === "json") return value;
  throw new InvalidArgumentError('use "text" (lines for people) or "json" (NDJSON for log collectors).');
}

/** `--now`: an ISO-8601 instant, for forecasting ("what happens on 1 March") and for tests. */
export function parseNow(value: string): Date {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new InvalidArgumentError("use an ISO-8601 time such as 2026-03-01 or 2026-03-01T09:00:00Z.");
  }
  return new Date(ms);
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("use a port number from 0 to 65535.");
  return n;
}

/** `report` also writes CSV (for a spreadsheet). */
export function parseUsageFormat(value: string): "human" | "json" | "csv" {
  if (value === "human" || value === "json" || value === "csv") return value;
  throw new InvalidArgumentError('use "human", "json" or "csv".');
}

/** A point in time given on the command line: a duration back from now, or an instant. */
export type TimeBound = { ago: number } | { at: Date };

/** `--since` / `--until`: 30d or 12h back from now, or an ISO-8601 date (midnight UTC) or time. */
export function parseTimeBound(value: string): TimeBound {
  const m = /^(\d{1,6})([dh])$/i.exec(value.trim());
  if (m) return { ago: Number(m[1]) * (m[2]!.toLowerCase() === "d" ? 86_400_000 : 3_600_000) };
  const ms = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value.trim()) && !Number.isNaN(ms)) return { at: new Date(ms) };
  throw new InvalidArgumentError("use a duration back from now such as 30d or 12h, or an ISO-8601 date or time such as 2026-03-01 or 2026-03-01T09:00:00Z.");
}

export function resolveTimeBound(bound: TimeBound, now: Date): Date {
  return "at" in bound ? bound.at : new Date(now.getTime() - bound.ago);
}

/** `--timeout`: seconds, more than 0 and at most 300. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 300) throw new InvalidArgumentError("use a number of seconds greater than 0 and at most 300.");
  return n;
}
