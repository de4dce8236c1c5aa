/** Templates such as `{givenName} {familyName}`: literal text around placeholders, rendered to one text. */

import type { Evaluate, ParsedText } from "./expression-node.js";
import { Parser, UNMATCHED_CLOSE_BRACE } from "./expression-parser.js";
import { textOf } from "./expression-values.js";

const UNCLOSED_BRACE = `unclosed "{"; close the placeholder with "}" or write {{ for a literal brace`;

/** Literal text with {expression} placeholders; {{ and }} are literal braces. */
export function parseTemplate(text: string): ParsedText {
  const parser = new Parser(text);
  const parts: (string | Evaluate)[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const doubled = text[i + 1] === c;
    if (c !== "{" && c !== "}") {
      literal += c;
      i++;
    } else if (doubled) {
      literal += c;
      i += 2;
    } else if (c === "}") {
      parser.fail(i, UNMATCHED_CLOSE_BRACE);
    } else {
      parser.pos = i + 1;
      parser.skipSpace();
      if (parser.peek() === undefined) parser.fail(i, UNCLOSED_BRACE);
      if (parser.peek() === "}") parser.fail(i, `empty placeholder; put an attribute or expression inside, e.g. {givenName}, or write {{}} for literal braces`);
      const node = parser.expression();
      parser.skipSpace();
      if (parser.peek() === undefined) parser.fail(i, UNCLOSED_BRACE);
      parser.expectEnd("}", node);
      if (literal) parts.push(literal);
      literal = "";
      parts.push(node.evaluate);
      i = parser.pos + 1;
    }
  }
  if (literal) parts.push(literal);
  const placeholders = parts.filter((part) => typeof part !== "string").length;
  const evaluate: Evaluate = (read) => {
    let out = "";
    let filled = false;
    for (const part of parts) {
      if (typeof part === "string") {
        out += part;
        continue;
      }
      const rendered = textOf(part(read)) ?? "";
      if (rendered !== "") filled = true;
      out += rendered;
    }
    if (placeholders > 0 && !filled) return null;
    // A missing middle name must not leave "Alice  Smith" behind.
    return out.replace(/\s+/g, " ").trim() || null;
  };
  return { evaluate, references: parser.references, referenceSpans: parser.referenceSpans };
}
