/**
 * The tokenizer and recursive-descent parser for one expression: literals, attribute references
 * with filters, and function calls, each compiled into a closure as it is read. Templates
 * (expression-template.ts) reuse it for the expression inside each placeholder.
 */

import { ExpressionError } from "./expression-error.js";
import { FUNCTIONS, unknownFunction } from "./expression-functions.js";
import type { Node, ParsedText } from "./expression-node.js";
import { normalise, type ExpressionValue } from "./expression-values.js";

const IDENTIFIER = /[\p{L}_$][\p{L}0-9_$-]*/uy;
const NUMBER = /-?[0-9]+(?:\.[0-9]+)?/y;
const WORD = /[\p{L}0-9_$.-]+/uy;
const SPACE = /\s/;
/** The one attribute whose keys may be named in brackets: the directory's own columns and keys. */
const EXTRA = "extra";
const KEYWORDS: ReadonlyMap<string, ExpressionValue> = new Map<string, ExpressionValue>([
  ["true", true],
  ["false", false],
  ["null", null],
]);
const FILTER_SYNTAX = `bad filter; inside [...] write <attribute> eq "<value>", e.g. [type eq "work"]`;
const EXPECTED_VALUE = "expected an attribute, 'quoted text' or a function call";
export const UNMATCHED_CLOSE_BRACE = `unmatched "}"; add the opening "{" or write }} for a literal brace`;

/** A cursor over `text` that throws ExpressionError; templates move `pos` to each placeholder themselves. */
export class Parser {
  readonly text: string;
  pos = 0;
  /** Normalised, in order of first use. */
  readonly references: string[] = [];
  /** Where each of `references` is first written. */
  readonly referenceSpans: { start: number; end: number }[] = [];

  constructor(text: string) {
    this.text = text;
  }

  fail(index: number, problem: string): never {
    throw new ExpressionError(this.text, index + 1, problem);
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  skipSpace(): void {
    while (this.pos < this.text.length && SPACE.test(this.text[this.pos]!)) this.pos++;
  }

  /** The token at `index`, as an error message names it. */
  describe(index: number): string {
    if (index >= this.text.length) return "the end";
    return JSON.stringify(this.match(WORD, index) ?? this.text[index]);
  }

  match(pattern: RegExp, index = this.pos): string | undefined {
    pattern.lastIndex = index;
    return pattern.exec(this.text)?.[0];
  }

  expression(): Node {
    this.skipSpace();
    const start = this.pos;
    const c = this.peek();
    if (c === "'" || c === '"') return this.literal(this.quoted(), start);
    const number = this.match(NUMBER);
    if (number !== undefined) {
      this.pos += number.length;
      return this.literal(number, start);
    }
    if (this.match(IDENTIFIER) !== undefined) return this.named();
    if (c === ")") this.fail(start, `unmatched ")"; remove it`);
    if (c === "}") this.fail(start, UNMATCHED_CLOSE_BRACE);
    return this.fail(start, `${EXPECTED_VALUE}, found ${this.describe(start)}`);
  }

  literal(value: ExpressionValue, start: number): Node {
    return { kind: "literal", value, evaluate: () => value, start, end: this.pos };
  }

  /** A quoted text at pos, unescaped. */
  quoted(): string {
    const start = this.pos;
    const quote = this.text[start]!;
    let value = "";
    this.pos++;
    for (;;) {
      const c = this.peek();
      if (c === undefined) return this.fail(start, `unterminated string; add the closing ${quote}`);
      this.pos++;
      if (c === quote) return value;
      if (c !== "\\") {
        value += c;
        continue;
      }
      const escaped = this.peek();
      if (escaped === undefined) return this.fail(start, `unterminated string; add the closing ${quote}`);
      if (escaped !== "'" && escaped !== '"' && escaped !== "\\") {
        this.fail(this.pos - 1, `unknown escape \\${escaped}; write \\\\ for a backslash`);
      }
      value += escaped;
      this.pos++;
    }
  }

  /** A reference, a keyword or a call: they all start with a name. */
  named(): Node {
    const start = this.pos;
    const { reference, simple } = this.path();
    const end = this.pos;
    this.skipSpace();
    if (this.peek() === "(") return this.call(this.text.slice(start, end), start);
    this.pos = end;
    const keyword = simple ? reference.toLowerCase() : "";
    if (KEYWORDS.has(keyword)) return this.literal(KEYWORDS.get(keyword)!, start);
    if (!this.references.includes(reference)) {
      this.references.push(reference);
      this.referenceSpans.push({ start, end });
    }
    return { kind: "reference", evaluate: (read) => normalise(read(reference)), start, end };
  }

  /**
   * `a.b[attr eq "v"].c` or `extra["Cost Center"]`, normalised (the latter to `extra.Cost Center`);
   * `simple` when it is a single name.
   */
  path(): { reference: string; simple: boolean } {
    let reference = "";
    let simple = true;
    for (;;) {
      const name = this.match(IDENTIFIER);
      if (name === undefined) this.fail(this.pos, `expected an attribute name after "."`);
      this.pos += name.length;
      reference += name;
      if (this.peek() === "[") {
        if (!this.quoteFollows()) reference += this.filter();
        else if (reference.toLowerCase() === EXTRA) reference += `.${this.extraKey()}`;
        else this.fail(this.pos, `["..."] names a key of extra only, e.g. extra["Cost Center"]; to pick one element of a list write [type eq "work"]`);
        simple = false;
      }
      if (this.peek() !== ".") return { reference, simple };
      this.pos++;
      reference += ".";
      simple = false;
    }
  }

  /** Whether the "[" at pos opens a quoted name rather than a filter. */
  quoteFollows(): boolean {
    let i = this.pos + 1;
    while (i < this.text.length && SPACE.test(this.text[i]!)) i++;
    return this.text[i] === "'" || this.text[i] === '"';
  }

  /**
   * `["Cost Center"]` after extra, at pos: the key's name. `read` receives `extra.<name>`, and a
   * reader splits that at ".", so a name with "." could never be read.
   */
  extraKey(): string {
    this.pos++;
    this.skipSpace();
    const start = this.pos;
    const name = this.quoted();
    this.skipSpace();
    if (this.peek() !== "]") this.fail(this.pos, `expected "]" after the name, e.g. extra["Cost Center"]`);
    this.pos++;
    if (name.trim() === "") this.fail(start, `empty name in extra[...]; write the directory's column or key, e.g. extra["Cost Center"]`);
    if (name.includes(".")) {
      this.fail(
        start,
        `extra[${JSON.stringify(name)}] cannot be read: a "." in a name would be read as a step into a nested key; ` +
          `rename the directory's column or key without "."`,
      );
    }
    return name;
  }

  /** `[type eq "work"]` at pos, in the one spelling `read` receives. */
  filter(): string {
    this.pos++;
    this.skipSpace();
    const attribute = this.match(IDENTIFIER);
    if (attribute === undefined) this.fail(this.pos, FILTER_SYNTAX);
    this.pos += attribute.length;
    this.skipSpace();
    const operator = this.match(IDENTIFIER);
    if (operator?.toLowerCase() !== "eq") this.fail(this.pos, FILTER_SYNTAX);
    this.pos += operator.length;
    this.skipSpace();
    const c = this.peek();
    if (c !== "'" && c !== '"') this.fail(this.pos, FILTER_SYNTAX);
    const value = this.quoted();
    this.skipSpace();
    if (this.peek() !== "]") this.fail(this.pos, FILTER_SYNTAX);
    this.pos++;
    return `[${attribute} eq "${value.replace(/[\\"]/g, "\\$&")}"]`;
  }

  /** pos is at the "(" after `name`. */
  call(name: string, start: number): Node {
    const spec = FUNCTIONS.get(name.toLowerCase());
    if (!spec) this.fail(start, unknownFunction(name));
    this.pos++;
    const args: Node[] = [];
    this.skipSpace();
    if (this.peek() === ")") this.pos++;
    else {
      for (;;) {
        this.skipSpace();
        const next = this.peek();
        if (next === undefined) this.fail(this.pos, `missing ")" to close ${name}(`);
        if (next === ",") this.fail(this.pos, `missing argument before ","`);
        args.push(this.expression());
        this.skipSpace();
        const after = this.peek();
        if (after === ")") {
          this.pos++;
          break;
        }
        if (after === ",") {
          const comma = this.pos++;
          this.skipSpace();
          if (this.peek() === ")") this.fail(comma, `trailing "," in ${name}(...); remove it`);
          continue;
        }
        if (after === undefined || after === "}") this.fail(this.pos, `missing ")" to close ${name}(`);
        const found = `found ${this.describe(this.pos)}${this.spacedExtraKeyHint(args[args.length - 1])}`;
        this.fail(this.pos, `expected "," or ")" after an argument of ${name}(...), ${found}`);
      }
    }
    const problem = spec.check(args);
    if (problem) this.fail(problem.at?.start ?? start, problem.text);
    return { kind: "call", evaluate: spec.compile(args), start, end: this.pos };
  }

  /**
   * For `extra.Cost Center`, where the next word belongs to a name with a space: how to write
   * that name. Prefixed with "; ", or "" when `node` is no such reference.
   */
  spacedExtraKeyHint(node: Node | undefined): string {
    if (node?.kind !== "reference") return "";
    const name = /^extra\.([^.[\]]+)$/.exec(this.text.slice(node.start, node.end))?.[1];
    if (name === undefined || !SPACE.test(this.text[node.end] ?? "")) return "";
    const rest = /^[^,(){}'"[\]]*/u.exec(this.text.slice(node.end))![0].trimEnd();
    if (rest === "") return "";
    return `; for a name with spaces write extra[${JSON.stringify(name + rest)}]`;
  }

  /** After `node`, an expression that should end the text (or a placeholder, at `}`). */
  expectEnd(closing: "" | "}", node?: Node): void {
    this.skipSpace();
    const c = this.peek();
    if (closing ? c === closing : c === undefined) return;
    if (c === ")") this.fail(this.pos, `unmatched ")"; remove it`);
    if (c === "}") this.fail(this.pos, UNMATCHED_CLOSE_BRACE);
    if (closing) {
      const hint = this.spacedExtraKeyHint(node) || "; write one expression per {...}, e.g. {givenName} {familyName}";
      this.fail(this.pos, `unexpected ${this.describe(this.pos)} in a placeholder${hint}`);
    }
    this.fail(this.pos, `unexpected ${this.describe(this.pos)} after the expression${this.spacedExtraKeyHint(node)}`);
  }
}

/** A whole text that is one expression. */
export function parseSingle(text: string): ParsedText {
  const parser = new Parser(text);
  const node = parser.expression();
  parser.expectEnd("", node);
  return { evaluate: node.evaluate, references: parser.references, referenceSpans: parser.referenceSpans };
}

/** `givenName familyName` as its two expressions; undefined when it is not a run of them. */
export function splitIntoExpressions(text: string): Node[] | undefined {
  const parser = new Parser(text);
  const pieces: Node[] = [];
  try {
    parser.skipSpace();
    while (parser.peek() !== undefined) {
      pieces.push(parser.expression());
      parser.skipSpace();
    }
  } catch (error) {
    if (error instanceof ExpressionError) return undefined;
    throw error;
  }
  return pieces;
}
