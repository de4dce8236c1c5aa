import { Box, Text } from "ink";
import type { LiveFrame, PhaseStatus, RunSummaryData } from "./run-tracker.js";
import { count } from "./run-tracker.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const MARKS: Record<Exclude<PhaseStatus, "running">, string> = { pending: "·", done: "✓", failed: "✗" };
const MARK_COLORS: Record<PhaseStatus, string | undefined> = { pending: undefined, running: "cyan", done: "green", failed: "red" };

interface Paint {
  color(name: string | undefined): { color?: string };
  dim: { dimColor?: boolean };
}

/**
 * Colours only when asked: chalk, under ink, ignores NO_COLOR, so the caller decides (colorEnabled)
 * and the components leave colour and dimming out altogether otherwise.
 */
function paintFor(color: boolean): Paint {
  return color ? { color: (name) => (name ? { color: name } : {}), dim: { dimColor: true } } : { color: () => ({}), dim: {} };
}

/** The live part: one line per phase, and the latest warnings below. Small, so it redraws in place. */
export function LiveView({ frame, color }: { frame: LiveFrame; color: boolean }) {
  const paint = paintFor(color);
  const width = Math.max(...frame.rows.map((r) => r.label.length));
  const hidden = frame.warnings.total - frame.warnings.shown.length;
  return (
    <Box flexDirection="column">
      {frame.rows.map((row) => (
        <Text key={row.phase} wrap="truncate-end">
          <Text {...paint.color(MARK_COLORS[row.status])}>{row.status === "running" ? SPINNER[frame.tick % SPINNER.length] : MARKS[row.status]}</Text>
          <Text {...(row.status === "pending" ? paint.dim : {})}> {row.label.padEnd(width)}</Text>
          {row.detail ? <Text {...(row.status === "failed" ? paint.color("red") : paint.dim)}>  {row.detail}</Text> : null}
        </Text>
      ))}
      {frame.warnings.total > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <Text {...paint.color("yellow")}>
            {frame.warnings.total} warning(s){hidden > 0 ? `, the last ${frame.warnings.shown.length}:` : ":"}
          </Text>
          {frame.warnings.shown.map((w, i) => (
            <Text key={i} wrap="truncate-end" {...paint.color("yellow")}>
              {"  "}
              {w}
            </Text>
          ))}
        </Box>
      ) : null}
    </Box>
  );
}

/** Printed once under the final frame: counts by action, then the failures with their reasons. */
export function RunSummary({ summary, color }: { summary: RunSummaryData; color: boolean }) {
  const paint = paintFor(color);
  const { table, failures } = summary;
  const labelWidth = table ? Math.max("action".length, ...table.rows.map((r) => r.label.length)) : 0;
  const cellWidths = table ? table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => count(r.cells[i] ?? 0).length))) : [];
  const hidden = failures.total - failures.shown.length;
  return (
    <Box flexDirection="column">
      {table ? (
        <Box flexDirection="column">
          <Text bold>
            {"  "}
            {"action".padEnd(labelWidth)}
            {table.columns.map((c, i) => `  ${c.padStart(cellWidths[i] ?? 0)}`).join("")}
          </Text>
          {table.rows.map((row) => (
            <Text key={row.label}>
              {"  "}
              {row.label.padEnd(labelWidth)}
              {row.cells.map((n, i) => {
                const cell = `  ${count(n).padStart(cellWidths[i] ?? 0)}`;
                const red = table.columns[i] === "failed" && n > 0;
                return (
                  <Text key={i} {...(red ? paint.color("red") : {})}>
                    {cell}
                  </Text>
                );
              })}
            </Text>
          ))}
        </Box>
      ) : null}
      {failures.total > 0 ? (
        <Box flexDirection="column" marginTop={table ? 1 : 0}>
          <Text bold {...paint.color("red")}>
            Failures ({count(failures.total)}):
          </Text>
          {failures.shown.map((f, i) => (
            <Text key={i}>
              {"  "}
              {f.what}
              <Text {...paint.dim}>: {f.error}</Text>
            </Text>
          ))}
          {hidden > 0 ? <Text>  and {count(hidden)} more (see the report)</Text> : null}
        </Box>
      ) : null}
    </Box>
  );
}
