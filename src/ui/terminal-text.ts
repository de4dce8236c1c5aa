/**
 * Text from a directory or a target, made safe to print on a terminal. A value may hold escape
 * sequences (ESC [2J clears the screen, ESC ] retitles the window, a carriage return overwrites
 * the line), so control characters are printed as JSON-style escapes instead. The data itself is
 * never changed: JSON output, the target and the state keep the value as it is.
 */

// C0, DEL and C1; line break and tab are handled by the callers' choice below.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function escapeControl(char: string): string {
  if (char === "\n") return "\\n";
  if (char === "\t") return "\\t";
  if (char === "\r") return "\\r";
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `text` with every control character escaped. `lines: true` keeps line breaks and tabs, for
 * messages scimsync writes over several lines (a list of config issues); anything else is escaped.
 */
export function terminalSafe(text: string, options: { lines?: boolean } = {}): string {
  return text.replace(CONTROL, (char) => (options.lines && (char === "\n" || char === "\t") ? char : escapeControl(char)));
}

/** A copy of `value` with every string in it made terminal-safe (single-line: line breaks escaped too). */
export function terminalSafeDeep<T>(value: T): T {
  if (typeof value === "string") return terminalSafe(value) as T;
  if (Array.isArray(value)) return value.map((item) => terminalSafeDeep(item)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[terminalSafe(key)] = terminalSafeDeep(item);
    return out as T;
  }
  return value;
}
