import type { Delay } from "./model.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The grammar accepted for a delay, for error messages. */
export const DELAY_SYNTAX = 'now, never, or a duration such as 24h, 1d, 7d, 21d (<n>h or <n>d, also <n>m for minutes)';

/**
 * Parses a deprovisioning delay. `now` is 0: acted on by the run that first sees the condition.
 * Returns undefined for anything else so callers can report it with the key path.
 */
export function parseDelay(text: string): Delay | undefined {
  const t = text.trim().toLowerCase();
  if (t === "now") return 0;
  if (t === "never") return "never";
  const m = /^(\d{1,6})\s*(m|h|d)$/.exec(t);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] === "d" ? DAY : m[2] === "h" ? HOUR : 60_000;
  return n * unit;
}

/** never sorts after every duration. */
export function compareDelays(a: Delay, b: Delay): number {
  const av = a === "never" ? Infinity : a;
  const bv = b === "never" ? Infinity : b;
  return av === bv ? 0 : av < bv ? -1 : 1;
}

/** When something that started at `since` (ISO time) with this delay falls due; undefined for never. */
export function dueAfter(since: string, delay: Delay): Date | undefined {
  return delay === "never" ? undefined : new Date(Date.parse(since) + delay);
}
