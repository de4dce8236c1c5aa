/**
 * The language of a mapping's `source`:
 *   givenName, extra.costCenter, addresses[type eq "work"].locality   a source attribute
 *   extra["Cost Center"]                                              a key of extra with spaces
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
import type { Node, ParsedText, Read } from "./expression-node.js";
import { parseSingle, splitIntoExpressions } from "./expression-parser.js";
import { parseTemplate } from "./expression-template.js";
import { tidy, type ExpressionValue } from "./expression-values.js";

export { ExpressionError } from "./expression-error.js";
export { EXPRESSION_FUNCTIONS } from "./expression-functions.js";
export type { ExpressionValue } from "./expression-values.js";

/** What is wrong with a reference, as `ParseOptions.checkReference` reports it. */
export interface ReferenceProblem {
  readonly text: string;
  /** The literal text the reference was most likely meant to be (`Employee` for 'Employee'). */
  readonly literal?: string;
}

export interface ParseOptions {
  /**
   * Judges each attribute reference (normalised, as `references` lists it); the first one it
   * rejects is reported at its column. Without it every reference is accepted: this module
   * knows the language, not which attributes a directory has.
   */
  checkReference?(reference: string): ReferenceProblem | undefined;
}

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

/** `extra.Cost Center`: a key with spaces or punctuation written as if it were a plain name. */
const UNBRACKETED_EXTRA_KEY = /^\s*extra\.([^\s()'"[\]{},.](?:[^()'"[\]{},.]*[^\s()'"[\]{},.])?)\s*$/u;

/**
 * When a text without braces is not an expression, the usual cause is text that was meant
 * to be literal or a template, or a key of extra with a space; say so in the admin's own words.
 */
function explainPlainText(text: string, options: ParseOptions): ExpressionError | undefined {
  const pieces = splitIntoExpressions(text);
  const literal = text.trim();
  const quoteIt = () =>
    new ExpressionError(text, 1, `plain text is not an expression; to write the text ${literal}, quote it: '${literal}'`, {
      wholeText: true,
      literal,
    });
  // Only a name the check accepts is taken for an attribute: `extra.costCenter title` is then a template.
  const check = options.checkReference;
  const isAttribute = (piece: Node) =>
    piece.kind === "reference" && check !== undefined && check(text.slice(piece.start, piece.end)) === undefined;
  const extraKey = UNBRACKETED_EXTRA_KEY.exec(text)?.[1];
  if (extraKey !== undefined && !pieces?.slice(1).some(isAttribute)) {
    const bracketed = `extra[${JSON.stringify(extraKey)}]`;
    return new ExpressionError(
      text,
      1,
      `to read the key ${JSON.stringify(extraKey)} of extra, write ${bracketed}: a name with spaces or punctuation goes in brackets and quotes`,
      { wholeText: true },
    );
  }
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

/** Throws for the first reference `options.checkReference` rejects. */
function checkReferences(text: string, parsed: ParsedText, options: ParseOptions): void {
  const check = options.checkReference;
  if (!check) return;
  parsed.references.forEach((reference, i) => {
    const problem = check(reference);
    if (!problem) return;
    const { start, end } = parsed.referenceSpans[i]!;
    const wholeText = text.slice(0, start).trim() === "" && text.slice(end).trim() === "";
    const details = { wholeText, reference, ...(problem.literal !== undefined ? { literal: problem.literal } : {}) };
    throw new ExpressionError(text, start + 1, problem.text, details);
  });
}

/**
 * Decides what the text is: one expression if all of it parses as one; otherwise a template
 * if it has a "{"; otherwise an error. Throws ExpressionError.
 */
export function parseExpression(text: string, options: ParseOptions = {}): Expression {
  if (text.trim() === "") {
    throw new ExpressionError(text, 1, "empty expression; write an attribute such as givenName, 'quoted text' or a template such as {givenName} {familyName}");
  }
  let parsed: ParsedText;
  try {
    parsed = parseSingle(text);
  } catch (singleError) {
    if (!(singleError instanceof ExpressionError)) throw singleError;
    if (!text.includes("{")) throw explainPlainText(text, options) ?? singleError;
    try {
      parsed = parseTemplate(text);
    } catch (templateError) {
      // A "{" inside a broken call's string is not a template: report whichever got further.
      if (templateError instanceof ExpressionError && singleError.column > templateError.column) throw singleError;
      throw templateError;
    }
  }
  checkReferences(text, parsed, options);
  const { evaluate } = parsed;
  return Object.freeze({
    text,
    references: Object.freeze([...parsed.references]),
    evaluate: (read: Read) => tidy(evaluate(read)),
  });
}
