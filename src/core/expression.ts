/**
 * The language of a mapping's `source`:
 *   givenName, extra.costCenter, addresses[type eq "work"].locality   a source attribute
 *   'text', "text", 42, true, false, null                             a literal
 *   lower(userName), join(' ', givenName, familyName)                  a function call
 *   {givenName} {familyName}                                          a template
 * An expression is parsed once, when the config is loaded, into closures: evaluation runs for
 * every user times every entry, so it never looks at the text again.
 *
 * This module decides which of those a text is and is the only one callers import. Beside it:
 * expression-parser.ts (one expression), expression-template.ts (placeholders),
 * expression-functions.ts (the function library), expression-values.ts (the value shapes).
 */

import { ExpressionError } from "./expression-error.js";
import type { ParsedText, Read } from "./expression-node.js";
import { parseSingle, splitIntoExpressions } from "./expression-parser.js";
import { parseTemplate } from "./expression-template.js";
import { tidy, type ExpressionValue } from "./expression-values.js";

export { ExpressionError } from "./expression-error.js";
export { EXPRESSION_FUNCTIONS } from "./expression-functions.js";
export type { ExpressionValue } from "./expression-values.js";

export interface Expression {
  /** The text as written. */
  readonly text: string;
  /** Every source attribute reference used, normalised, deduplicated, in order of first use. */
  readonly references: readonly string[];
  /**
   * Pure: all it knows about the user comes through `read`. Never throws (unless `read` does)
   * and never returns "" or an empty list: empty is null.
   */
  evaluate(read: (reference: string) => unknown): ExpressionValue;
}

/**
 * When a text without braces is not an expression, the usual cause is text that was meant
 * to be literal or a template; say so in the admin's own words.
 */
function explainPlainText(text: string): ExpressionError | undefined {
  const pieces = splitIntoExpressions(text);
  const quoteIt = () =>
    new ExpressionError(text, 1, `plain text is not an expression; write literal text in quotes, e.g. '${text.trim()}'`);
  if (pieces && pieces.length >= 2) {
    const onlyNames = pieces.every((p) => p.kind === "reference");
    if (onlyNames && pieces.every((p) => /^\p{Lu}/u.test(text.slice(p.start)))) return quoteIt();
    const template = pieces.map((p) => `{${text.slice(p.start, p.end)}}`).join(" ");
    const second = pieces[1]!;
    const problem =
      `unexpected ${JSON.stringify(text.slice(second.start, second.end))}; to combine values write a template, e.g. "${template}"` +
      (onlyNames ? ", or write literal text in quotes" : "");
    return new ExpressionError(text, second.start + 1, problem);
  }
  // Words with spaces and no expression punctuation; `extra.` alone is a broken reference instead.
  const plain = /\s/.test(text.trim()) && !/[()'"[\]{}]/.test(text);
  return plain ? quoteIt() : undefined;
}

/**
 * Decides what the text is: one expression if all of it parses as one; otherwise a template
 * if it has a "{"; otherwise an error. Throws ExpressionError.
 */
export function parseExpression(text: string): Expression {
  if (text.trim() === "") {
    throw new ExpressionError(text, 1, "empty expression; write an attribute such as givenName, 'quoted text' or a template such as {givenName} {familyName}");
  }
  let parsed: ParsedText;
  try {
    parsed = parseSingle(text);
  } catch (singleError) {
    if (!(singleError instanceof ExpressionError)) throw singleError;
    if (!text.includes("{")) throw explainPlainText(text) ?? singleError;
    try {
      parsed = parseTemplate(text);
    } catch (templateError) {
      // A "{" inside a broken call's string is not a template: report whichever got further.
      if (templateError instanceof ExpressionError && singleError.column > templateError.column) throw singleError;
      throw templateError;
    }
  }
  const { evaluate } = parsed;
  return Object.freeze({
    text,
    references: Object.freeze([...parsed.references]),
    evaluate: (read: Read) => tidy(evaluate(read)),
  });
}
