/**
 * YAML syntax errors as ConfigIssues that name the key they concern, where the parser's partial
 * document tells it reliably: "line 5, column 1: Map keys must be unique" becomes "target: the
 * key is written twice". Messages quote keys and line numbers, never values (a value may be an
 * inline token).
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type YAMLError } from "yaml";
import type { ConfigIssue } from "../errors.js";
import { formatKeyPath } from "./key-path.js";

interface PairSpot {
  path: PropertyKey[];
  /** Offsets in the text: where the key starts, and where the value ends. */
  keyStart: number;
  end: number;
  /** The value when it is a quoted scalar: its opening quote character. */
  quote?: '"' | "'";
  /** The value when it is a { } or [ ] collection. */
  flow?: "map" | "seq";
  valueStart?: number;
}

/** Every key of the (partial) document with where it is written, in text order. */
function collectPairs(doc: Document): PairSpot[] {
  const spots: PairSpot[] = [];
  const walk = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key) || !pair.key.range) continue;
        const key = String(pair.key.value);
        const value = pair.value;
        const range = (value as { range?: [number, number, number] } | null)?.range;
        const spot: PairSpot = { path: [...path, key], keyStart: pair.key.range[0], end: range?.[1] ?? pair.key.range[1] };
        if (isScalar(value) && range && (value.type === "QUOTE_DOUBLE" || value.type === "QUOTE_SINGLE")) {
          spot.quote = value.type === "QUOTE_DOUBLE" ? '"' : "'";
          spot.valueStart = range[0];
        }
        if ((isMap(value) || isSeq(value)) && value.flow && range) {
          spot.flow = isMap(value) ? "map" : "seq";
          spot.valueStart = range[0];
        }
        spots.push(spot);
        walk(value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
  return spots.sort((a, b) => a.keyStart - b.keyStart);
}

/**
 * One issue per YAML error. `describe` renders the parser's own message safely (see
 * load-config.ts); `path` is set only when the key is certain, else the key written on the
 * error's line is named in the message.
 */
export function describeYamlErrors(
  text: string,
  doc: Document,
  lines: LineCounter,
  describe: (error: YAMLError) => string,
): ConfigIssue[] {
  const pairs = collectPairs(doc);
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  const lineOf = (offset: number) => lines.linePos(offset).line;
  const issues = doc.errors.map((error): ConfigIssue => {
    const pos = error.pos[0];
    if (error.code === "DUPLICATE_KEY") {
      const spot = pairs.find((p) => p.keyStart === pos);
      if (spot) {
        const key = formatKeyPath(spot.path);
        const first = pairs.find((p) => p !== spot && formatKeyPath(p.path) === key && p.keyStart < pos);
        const also = first ? ` (first at line ${lineOf(first.keyStart)})` : "";
        return {
          path: key,
          message: `YAML syntax error at ${at(pos)}: the key ${key} is written twice${also}; keep one, with the settings of both`,
        };
      }
    }
    if (error.code === "MISSING_CHAR" && /quote/i.test(error.message)) {
      // The unclosed value runs to where the parser gave up: the last quoted value that reaches it.
      const spot = pairs.filter((p) => p.quote !== undefined && p.end >= pos - 1).at(-1);
      if (spot?.valueStart !== undefined) {
        const key = formatKeyPath(spot.path);
        return {
          path: key,
          message:
            `YAML syntax error at ${at(spot.valueStart)}: the value of ${key} opens with ${spot.quote} but has no closing ${spot.quote}; ` +
            `add the closing ${spot.quote} at the end of the value`,
        };
      }
    }
    const flow = /^Flow (map|sequence)/.exec(error.message)?.[1];
    if (flow !== undefined) {
      // The parser notices an unclosed { or [ (or a continued line indented too little) only
      // further on; name the innermost collection of that kind that reaches the spot.
      const kind = flow === "map" ? "map" : "seq";
      const spot = pairs.filter((p) => p.flow === kind && (p.valueStart ?? p.keyStart) <= pos && p.end >= pos - 1).at(-1);
      if (spot) {
        const key = formatKeyPath(spot.path);
        const [open, close] = kind === "map" ? ["{", "}"] : ["[", "]"];
        return {
          path: key,
          message:
            `YAML syntax error at ${at(spot.valueStart ?? spot.keyStart)}: the ${open} that starts the value of ${key} is not closed with ${close}, ` +
            `or a line inside it is not indented past the key; end the value with ${close}, and indent each continued line`,
        };
      }
    }
    // The partial document may hang a misplaced key in the wrong section or take a value for a
    // key: name the key as the line writes it instead.
    const key = keyWrittenOn(text, lines.lineStarts[lineOf(pos) - 1] ?? 0);
    return { path: "", message: `YAML syntax error at ${at(pos)}${key ? ` (key ${key})` : ""}: ${describe(error)}` };
  });
  // One mistake may trip the parser twice at the same spot.
  return issues.filter((issue, i) => issues.findIndex((other) => other.path === issue.path && other.message === issue.message) === i);
}

/** The key a line of block YAML starts with (`  - name: x` -> name), if it looks like one. */
function keyWrittenOn(text: string, lineStart: number): string | undefined {
  const end = text.indexOf("\n", lineStart);
  const line = text.slice(lineStart, end === -1 ? undefined : end);
  return /^[\t ]*(?:-[\t ]+)*([A-Za-z_$][\w$.-]*)[\t ]*:(?:[\t ]|$)/.exec(line)?.[1];
}
