/**
 * The functions an expression can call (lower, join, switch, ...): how each checks its
 * arguments at parse time and what it computes, plus the "did you mean" for unknown names.
 */

import { editDistance } from "./edit-distance.js";
import type { Evaluate, Node } from "./expression-node.js";
import { eachText, isEmpty, textOf, type ExpressionValue } from "./expression-values.js";

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
export const FUNCTIONS = new Map(FUNCTION_LIST.map((f) => [f.name.toLowerCase(), f]));

/** For docs and `did you mean`: name -> signature and one-line description. */
export const EXPRESSION_FUNCTIONS: Readonly<Record<string, { signature: string; description: string }>> = Object.freeze(
  Object.fromEntries(FUNCTION_LIST.map((f) => [f.name, Object.freeze({ signature: f.signature, description: f.description })])),
);

/** Names from other tools that edit distance would not lead to. */
const KNOWN_AS: ReadonlyMap<string, string> = new Map([
  ["case", "switch"],
  ["concat", "join"],
]);

/**
 * The function whose name is part of `wanted` (lowercase, toUpperCase, replaceAll) or that
 * `wanted` abbreviates (append for appendDomain); the longest such name.
 */
function containedFunction(wanted: string): string | undefined {
  let best: string | undefined;
  for (const f of FUNCTION_LIST) {
    const name = f.name.toLowerCase();
    // Three letters at least: "no" is part of too many names to mean not.
    const related = wanted.includes(name) || (wanted.length >= 3 && name.includes(wanted));
    if (related && (!best || f.name.length > best.length)) best = f.name;
  }
  return best;
}

/** The problem to report for a call of `name`, which is no function: a near miss if there is one, then the list. */
export function unknownFunction(name: string): string {
  const wanted = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const f of FUNCTION_LIST) {
    // A swapped pair of letters ("nto") is one edit; the thresholds below are measured that way.
    const distance = editDistance(wanted, f.name.toLowerCase(), { adjacentSwap: "one edit" });
    if (!best || distance < best.distance) best = { name: f.name, distance };
  }
  const close =
    best && best.distance <= (wanted.length <= 4 ? 1 : 2) ? best.name : (KNOWN_AS.get(wanted) ?? containedFunction(wanted));
  const suggestion = close ? `; did you mean ${close}?` : "";
  return `unknown function ${JSON.stringify(name)}${suggestion} (functions: ${FUNCTION_LIST.map((f) => f.name).join(", ")})`;
}
