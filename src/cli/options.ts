import { InvalidArgumentError } from "commander";

export function parseOutputFormat(value: string): "human" | "json" {
  if (value === "human" || value === "json") return value;
  throw new InvalidArgumentError('use "human" or "json".');
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
