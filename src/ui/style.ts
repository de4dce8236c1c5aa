import { styleText } from "node:util";

export type Style = (format: Parameters<typeof styleText>[0], text: string) => string;

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM=dumb. */
export function colorEnabled(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true;
}

export function makeStyle(enabled: boolean): Style {
  return enabled ? (format, text) => styleText(format, text, { validateStream: false }) : (_format, text) => text;
}
