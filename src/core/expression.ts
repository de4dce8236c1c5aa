/**
 * The language of a mapping's `source`:
 *   givenName, extra.costCenter, addresses[type eq "work"].locality   a source attribute
 *   'text', "text", 42, true, false, null                             a literal
 *   lower(userName), join(' ', givenName, familyName)                  a function call
 *   {givenName} {familyName}                                          a template
 * An expression is parsed once, when the config is loaded, into closures: evaluation runs for
 * every user times every entry, so it never looks at the text again.
 */

export type ExpressionValue = string | boolean | string[] | null;

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

export class ExpressionError extends Error {
  readonly expression: string;
  /** 1-based column in `expression` where the problem is. */
  readonly column: number;
  /** Just the problem, without the expression (the message includes both). */
  readonly problem: string;

  constructor(expression: string, column: number, problem: string) {
    super(`${problem} at column ${column} of ${JSON.stringify(expression)}`);
    this.name = "ExpressionError";
    this.expression = expression;
    this.column = column;
    this.problem = problem;
  }
}

type Read = (reference: string) => unknown;
type Evaluate = (read: Read) => ExpressionValue;

/** A parsed piece of an expression; start and end index the text, for errors that point at it. */
type Node = { readonly evaluate: Evaluate; readonly start: number; readonly end: number } & (
  | { readonly kind: "literal"; readonly value: ExpressionValue }
  | { readonly kind: "reference" | "call" }
);

// ---------------------------------------------------------------------------------------------
// Values

/** What `read` hands back, in the shapes directories and SCIM use, reduced to ours. */
function normalise(raw: unknown): ExpressionValue {
  if (raw === undefined || raw === null || raw === "") return null;
  switch (typeof raw) {
    case "string":
    case "boolean":
      return raw;
    case "number":
    case "bigint":
      return String(raw);
    case "object": {
      if (Array.isArray(raw)) {
        const list: string[] = [];
        for (const element of raw) {
          const value = normalise(element);
          if (Array.isArray(value)) list.push(...value);
          else if (value !== null) list.push(String(value));
        }
        return list.length > 0 ? list : null;
      }
      // SCIM's complex values ({value, display}, {value, type}) stand for their value.
      return Object.hasOwn(raw, "value") ? normalise((raw as { value: unknown }).value) : null;
    }
    default:
      return null;
  }
}

/** Empty text and empty lists are null, so that "no value" has one spelling for callers. */
function tidy(value: ExpressionValue): ExpressionValue {
  if (value === "") return null;
  if (!Array.isArray(value) || !value.includes("")) return value;
  const kept = value.filter((element) => element !== "");
  return kept.length > 0 ? kept : null;
}

/** The single-text form used wherever one text is needed: templates, separators, switch keys. */
function textOf(value: ExpressionValue): string | null {
  if (value === null || typeof value === "string") return value;
  return typeof value === "boolean" ? String(value) : value.join(", ");
}

/** Applies a text function to a value, or to each element of a list. */
function eachText(value: ExpressionValue, change: (text: string) => string): ExpressionValue {
  if (value === null) return null;
  if (Array.isArray(value)) return tidy(value.map(change));
  return tidy(change(typeof value === "string" ? value : String(value)));
}

const isEmpty = (value: ExpressionValue) => value === null || value === "" || (Array.isArray(value) && value.length === 0);

// ---------------------------------------------------------------------------------------------
// Functions

interface Problem {
  readonly text: string;
  /** The argument the problem is about; the call's name when absent. */
  readonly at?: Node;
}

interface FunctionSpec {
  readonly name: string;
  readonly signature: string;
  readonly description: string;
  /** The first problem with these arguments, if any: caught at config load, not per user. */
  check(args: readonly Node[]): Problem | undefined;
  compile(args: readonly Node[]): Evaluate;
}

const arg = (args: readonly Node[], index: number): Evaluate => args[index]!.evaluate;

function exactly(count: number, signature: string, args: readonly Node[]): Problem | undefined {
  if (args.length === count) return undefined;
  const words = ["no arguments", "one argument", "two arguments", "three arguments"];
  return { text: `${signature} takes exactly ${words[count]}` };
}

/** A literal argument that would make the call useless, reported at parse time. */
function emptyLiteral(node: Node | undefined, ignorePrefix = ""): boolean {
  if (node?.kind !== "literal") return false;
  const text = textOf(node.value);
  return text === null || text.slice(text.startsWith(ignorePrefix) ? ignorePrefix.length : 0) === "";
}

function textFunction(name: string, description: string, change: (text: string) => string): FunctionSpec {
  const signature = `${name}(value)`;
  return {
    name,
    signature,
    description,
    check: (args) => exactly(1, signature, args),
    compile: (args) => {
      const value = arg(args, 0);
      return (read) => eachText(value(read), change);
    },
  };
}

const join: FunctionSpec = {
  name: "join",
  signature: "join(separator, value, ...)",
  description: "The non-empty values (lists flattened) joined with the separator; null when none is left.",
  check: (args) => (args.length < 2 ? { text: `${join.signature} needs a separator and at least one value` } : undefined),
  compile: (args) => {
    const separator = arg(args, 0);
    const values = args.slice(1).map((node) => node.evaluate);
    return (read) => {
      const parts: string[] = [];
      for (const evaluate of values) {
        const value = evaluate(read);
        if (Array.isArray(value)) {
          for (const element of value) if (element !== "") parts.push(element);
        } else {
          const text = textOf(value);
          if (text) parts.push(text);
        }
      }
      return parts.length > 0 ? parts.join(textOf(separator(read)) ?? "") : null;
    };
  },
};

const coalesce: FunctionSpec = {
  name: "coalesce",
  signature: "coalesce(value, fallback, ...)",
  description: "The first value that is not empty.",
  check: (args) => (args.length < 2 ? { text: `${coalesce.signature} needs at least two values` } : undefined),
  compile: (args) => {
    const values = args.map((node) => node.evaluate);
    return (read) => {
      for (const evaluate of values) {
        const value = evaluate(read);
        if (!isEmpty(value)) return value;
      }
      return null;
    };
  },
};

const replace: FunctionSpec = {
  name: "replace",
  signature: "replace(value, search, replacement)",
  description: "Every occurrence of the text search replaced (plain text, not a pattern).",
  check: (args) =>
    exactly(3, replace.signature, args) ??
    (emptyLiteral(args[1]) ? { text: `${replace.signature} needs a non-empty search text`, at: args[1] } : undefined),
  compile: (args) => {
    const [value, search, replacement] = [arg(args, 0), arg(args, 1), arg(args, 2)];
    return (read) => {
      const text = value(read);
      if (text === null) return null;
      const find = textOf(search(read));
      const by = textOf(replacement(read)) ?? "";
      // split/join rather than replaceAll: a replacement such as "$&" must stay literal.
      return eachText(text, find ? (t) => t.split(find).join(by) : (t) => t);
    };
  },
};

const switchFunction: FunctionSpec = {
  name: "switch",
  signature: "switch(value, default, key, result, ...)",
  description: "The result whose key equals the value, ignoring case; the default when no key does.",
  check: (args) => {
    if (args.length < 4) return { text: `${switchFunction.signature} needs a value, a default and at least one key/result pair` };
    if (args.length % 2 === 1) {
      return { text: `${switchFunction.signature} has a key without a result; add its result or remove the key`, at: args[args.length - 1] };
    }
    const seen = new Set<string>();
    for (let i = 2; i < args.length; i += 2) {
      const key = args[i]!;
      if (key.kind !== "literal") continue;
      const folded = (textOf(key.value) ?? "").toLowerCase();
      if (seen.has(folded)) return { text: `switch has the key ${JSON.stringify(folded)} twice (keys ignore case); remove one`, at: key };
      seen.add(folded);
    }
    return undefined;
  },
  compile: (args) => {
    const value = arg(args, 0);
    const fallback = arg(args, 1);
    const pairs: { key: Node; result: Evaluate }[] = [];
    for (let i = 2; i < args.length; i += 2) pairs.push({ key: args[i]!, result: arg(args, i + 1) });
    const fold = (v: ExpressionValue) => (textOf(v) ?? "").toLowerCase();
    if (pairs.every((pair) => pair.key.kind === "literal")) {
      // The usual case (department codes and the like): one lookup per user.
      const table = new Map<string, Evaluate>();
      for (const { key, result } of pairs) table.set(fold(key.kind === "literal" ? key.value : null), result);
      return (read) => (table.get(fold(value(read))) ?? fallback)(read);
    }
    return (read) => {
      const folded = fold(value(read));
      for (const { key, result } of pairs) if (fold(key.evaluate(read)) === folded) return result(read);
      return fallback(read);
    };
  },
};

const appendDomain: FunctionSpec = {
  name: "appendDomain",
  signature: "appendDomain(value, domain)",
  description: "The part before the last @ (or all of it), then @domain; a leading @ on the domain is ignored.",
  check: (args) =>
    exactly(2, appendDomain.signature, args) ??
    (emptyLiteral(args[1], "@") ? { text: `${appendDomain.signature} needs a non-empty domain, e.g. 'example.com'`, at: args[1] } : undefined),
  compile: (args) => {
    const [value, domain] = [arg(args, 0), arg(args, 1)];
    return (read) => {
      const text = value(read);
      if (text === null) return null;
      let suffix = textOf(domain(read));
      if (suffix?.startsWith("@")) suffix = suffix.slice(1);
      if (!suffix) return null;
      return eachText(text, (t) => {
        const at = t.lastIndexOf("@");
        const local = at === -1 ? t : t.slice(0, at);
        return local === "" ? "" : `${local}@${suffix}`;
      });
    };
  },
};

const split: FunctionSpec = {
  name: "split",
  signature: "split(value, separator)",
  description: "The non-empty, trimmed parts of the text between separators, as a list.",
  check: (args) =>
    exactly(2, split.signature, args) ??
    (emptyLiteral(args[1]) ? { text: `${split.signature} needs a non-empty separator, e.g. ';'`, at: args[1] } : undefined),
  compile: (args) => {
    const [value, separator] = [arg(args, 0), arg(args, 1)];
    return (read) => {
      const whole = value(read);
      if (whole === null) return null;
      const by = textOf(separator(read));
      const parts: string[] = [];
      for (const text of Array.isArray(whole) ? whole : [textOf(whole)!]) {
        for (const part of by ? text.split(by) : [text]) {
          const trimmed = part.trim();
          if (trimmed !== "") parts.push(trimmed);
        }
      }
      return parts.length > 0 ? parts : null;
    };
  },
};

const not: FunctionSpec = {
  name: "not",
  signature: "not(value)",
  description: "The negation of a boolean or of the text true/false; null for anything else.",
  check: (args) => exactly(1, not.signature, args),
  compile: (args) => {
    const value = arg(args, 0);
    return (read) => {
      const v = value(read);
      if (typeof v === "boolean") return !v;
      const folded = typeof v === "string" ? v.toLowerCase() : undefined;
      return folded === "true" ? false : folded === "false" ? true : null;
    };
  },
};

const FUNCTION_LIST: readonly FunctionSpec[] = [
  textFunction("lower", "The text in lower case; on a list, each element.", (t) => t.toLowerCase()),
  textFunction("upper", "The text in upper case; on a list, each element.", (t) => t.toUpperCase()),
  textFunction("trim", "The text without leading and trailing whitespace; on a list, each element.", (t) => t.trim()),
  join,
  coalesce,
  replace,
  switchFunction,
  appendDomain,
  split,
  not,
];

/** Names are case-insensitive: Entra admins write Join, Switch, Coalesce. */
const FUNCTIONS = new Map(FUNCTION_LIST.map((f) => [f.name.toLowerCase(), f]));

/** For docs and `did you mean`: name -> signature and one-line description. */
export const EXPRESSION_FUNCTIONS: Readonly<Record<string, { signature: string; description: string }>> = Object.freeze(
  Object.fromEntries(FUNCTION_LIST.map((f) => [f.name, Object.freeze({ signature: f.signature, description: f.description })])),
);

/** Names from other tools that edit distance would not lead to. */
const KNOWN_AS: ReadonlyMap<string, string> = new Map([
  ["case", "switch"],
  ["concat", "join"],
]);

function unknownFunction(name: string): string {
  const wanted = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const f of FUNCTION_LIST) {
    const distance = editDistance(wanted, f.name.toLowerCase());
    if (!best || distance < best.distance) best = { name: f.name, distance };
  }
  const close = best && best.distance <= (wanted.length <= 4 ? 1 : 2) ? best.name : KNOWN_AS.get(wanted);
  const suggestion = close ? `; did you mean ${close}?` : "";
  return `unknown function ${JSON.stringify(name)}${suggestion} (functions: ${FUNCTION_LIST.map((f) => f.name).join(", ")})`;
}

/** Optimal string alignment distance: a swapped pair of letters ("nto") counts as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

// ---------------------------------------------------------------------------------------------
// Parsing

const IDENTIFIER = /[\p{L}_$][\p{L}0-9_$-]*/uy;
const NUMBER = /-?[0-9]+(?:\.[0-9]+)?/y;
const WORD = /[\p{L}0-9_$.-]+/uy;
const SPACE = /\s/;
const KEYWORDS: ReadonlyMap<string, ExpressionValue> = new Map<string, ExpressionValue>([
  ["true", true],
  ["false", false],
  ["null", null],
]);
const FILTER_SYNTAX = `bad filter; inside [...] write <attribute> eq "<value>", e.g. [type eq "work"]`;
const EXPECTED_VALUE = "expected an attribute, 'quoted text' or a function call";
const UNCLOSED_BRACE = `unclosed "{"; close the placeholder with "}" or write {{ for a literal brace`;
const UNMATCHED_CLOSE_BRACE = `unmatched "}"; add the opening "{" or write }} for a literal brace`;

class Parser {
  readonly text: string;
  pos = 0;
  /** Normalised, in order of first use. */
  readonly references: string[] = [];

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
    if (!this.references.includes(reference)) this.references.push(reference);
    return { kind: "reference", evaluate: (read) => normalise(read(reference)), start, end };
  }

  /** `a.b[attr eq "v"].c`, normalised; `simple` when it is a single name. */
  path(): { reference: string; simple: boolean } {
    let reference = "";
    let simple = true;
    for (;;) {
      const name = this.match(IDENTIFIER);
      if (name === undefined) this.fail(this.pos, `expected an attribute name after "."`);
      this.pos += name.length;
      reference += name;
      if (this.peek() === "[") {
        reference += this.filter();
        simple = false;
      }
      if (this.peek() !== ".") return { reference, simple };
      this.pos++;
      reference += ".";
      simple = false;
    }
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
        this.fail(this.pos, `expected "," or ")" after an argument of ${name}(...), found ${this.describe(this.pos)}`);
      }
    }
    const problem = spec.check(args);
    if (problem) this.fail(problem.at?.start ?? start, problem.text);
    return { kind: "call", evaluate: spec.compile(args), start, end: this.pos };
  }

  /** After an expression that should end the text (or a placeholder, at `}`). */
  expectEnd(closing: "" | "}"): void {
    this.skipSpace();
    const c = this.peek();
    if (closing ? c === closing : c === undefined) return;
    if (c === ")") this.fail(this.pos, `unmatched ")"; remove it`);
    if (c === "}") this.fail(this.pos, UNMATCHED_CLOSE_BRACE);
    if (closing) {
      this.fail(this.pos, `unexpected ${this.describe(this.pos)} in a placeholder; write one expression per {...}, e.g. {givenName} {familyName}`);
    }
    this.fail(this.pos, `unexpected ${this.describe(this.pos)} after the expression`);
  }
}

/** A whole text that is one expression. */
function parseSingle(text: string): { evaluate: Evaluate; references: string[] } {
  const parser = new Parser(text);
  const node = parser.expression();
  parser.expectEnd("");
  return { evaluate: node.evaluate, references: parser.references };
}

/** Literal text with {expression} placeholders; {{ and }} are literal braces. */
function parseTemplate(text: string): { evaluate: Evaluate; references: string[] } {
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
      parser.expectEnd("}");
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
  return { evaluate, references: parser.references };
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

/** `givenName familyName` as its two expressions; undefined when it is not a run of them. */
function splitIntoExpressions(text: string): Node[] | undefined {
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

/**
 * Decides what the text is: one expression if all of it parses as one; otherwise a template
 * if it has a "{"; otherwise an error. Throws ExpressionError.
 */
export function parseExpression(text: string): Expression {
  if (text.trim() === "") {
    throw new ExpressionError(text, 1, "empty expression; write an attribute such as givenName, 'quoted text' or a template such as {givenName} {familyName}");
  }
  let parsed: { evaluate: Evaluate; references: string[] };
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
