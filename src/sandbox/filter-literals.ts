/**
 * scimmy 1.3.5's filter lexer ends a string at the first `"` even after a backslash, never
 * decodes escapes, and rewrites the raw text of `not (...)` groups (so a literal containing
 * " and " or ")" corrupts the expression). RFC 7644 §3.4.2.2 filter strings are JSON strings.
 *
 * So before scimmy sees a filter, every string literal is decoded here and replaced by an
 * opaque placeholder made of letters and digits only; scimmy parses the structure, and
 * the evaluator (filter-match.ts) swaps placeholders back for the decoded values.
 *
 * Limitation: value filters inside PATCH paths (`emails[value eq "..."]`) are parsed and matched
 * by scimmy's PatchOp, which this cannot reach: there an escaped quote is still rejected and
 * comparisons are case-sensitive. Our client only sends `type eq "work"` and member ids there.
 */

export type FilterLiterals = ReadonlyMap<string, string>;

export interface ProtectedFilter {
  filter: string;
  literals: FilterLiterals;
}

export class FilterLiteralError extends Error {}

const PREFIX = "scimsyncliteral";

/** Replaces each `"..."` literal in `filter` by a placeholder; throws FilterLiteralError on a bad escape. */
export function protectLiterals(filter: string): ProtectedFilter {
  const literals = new Map<string, string>();
  let out = "";
  let i = 0;
  while (i < filter.length) {
    const char = filter[i]!;
    if (char !== '"') {
      out += char;
      i++;
      continue;
    }
    let end = i + 1;
    while (end < filter.length && filter[end] !== '"') end += filter[end] === "\\" ? 2 : 1;
    if (end >= filter.length) {
      // Unterminated: leave the rest alone and let scimmy report the syntax error.
      out += filter.slice(i);
      break;
    }
    const raw = filter.slice(i, end + 1);
    literals.set(`${PREFIX}${literals.size}`, decode(raw));
    out += `"${PREFIX}${literals.size - 1}"`;
    i = end + 1;
  }
  return { filter: out, literals };
}

function decode(raw: string): string {
  const inner = raw.slice(1, -1);
  if (!inner.includes("\\")) return inner;
  try {
    // Raw control characters are not valid JSON but are harmless here; only escapes need JSON.
    return JSON.parse(`"${inner.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`) as string;
  } catch {
    throw new FilterLiteralError(`Invalid escape sequence in filter string ${raw}`);
  }
}

/** The decoded value for a placeholder, or the value itself when it is not one. */
export function resolveLiteral(value: unknown, literals: FilterLiterals | undefined): unknown {
  if (typeof value !== "string" || !literals) return value;
  return literals.get(value) ?? value;
}

/** `text` (e.g. a parser's error message) with placeholders shown as the literals they stand for. */
export function restoreLiterals(text: string, literals: FilterLiterals): string {
  return text.replace(new RegExp(`${PREFIX}\\d+`, "g"), (placeholder) => {
    const value = literals.get(placeholder);
    return value === undefined ? placeholder : JSON.stringify(value).slice(1, -1);
  });
}
