import { resolveLiteral, type FilterLiterals } from "./filter-literals.js";

/**
 * Evaluates a filter that scimmy has already parsed (its `Filter` is an array of OR branches;
 * each branch maps attribute names to `[not?, comparator, value?]`, to a list of those, or to
 * an object of sub-attribute conditions). scimmy's own `Filter.match` compares every string
 * case-sensitively (RFC 7643 says userName, emails, displayName are caseExact=false), throws
 * when a complex attribute is absent on a resource, and cannot reach extension attributes
 * (`urn:...:enterprise:2.0:User:department`); this evaluator fixes those three things and
 * otherwise follows RFC 7644 §3.4.2.2.
 */

export interface AttributeFacts {
  caseExact: boolean;
  type?: string;
}

/** Tells the evaluator how to compare a given attribute path (e.g. `emails.value`). */
export type DescribeAttribute = (path: string) => AttributeFacts;

type Branch = Record<string, unknown>;

export function matchesFilter(
  resource: Record<string, unknown>,
  branches: readonly Branch[],
  describe: DescribeAttribute,
  literals?: FilterLiterals,
): boolean {
  const context: Context = { describe, literals };
  return branches.some((branch) => matchBranch(resource, branch, "", context));
}

interface Context {
  describe: DescribeAttribute;
  literals?: FilterLiterals;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Case-insensitive attribute lookup (RFC 7643 §2.1). A URN-qualified name is resolved through
 * the resource's `schemas`: an extension schema descends into its object, the core schema
 * stays at the top level.
 */
function lookup(container: unknown, name: string): unknown {
  if (!isPlainObject(container)) return undefined;
  const lower = name.toLowerCase();
  for (const key of Object.keys(container)) if (key.toLowerCase() === lower) return container[key];
  if (!lower.startsWith("urn:")) return undefined;
  const schemas = Array.isArray(container.schemas) ? (container.schemas as unknown[]) : [];
  const extensionKeys = Object.keys(container).filter((k) => k.toLowerCase().startsWith("urn:"));
  for (const schema of [...extensionKeys, ...schemas]) {
    if (typeof schema !== "string" || !lower.startsWith(`${schema.toLowerCase()}:`)) continue;
    const rest = name.slice(schema.length + 1);
    const inner = extensionKeys.find((k) => k.toLowerCase() === schema.toLowerCase());
    return lookup(inner === undefined ? container : container[inner], rest);
  }
  return undefined;
}

function matchBranch(value: unknown, branch: Branch, prefix: string, context: Context): boolean {
  return Object.entries(branch).every(([name, condition]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    return matchCondition(lookup(value, name), condition, path, context);
  });
}

function matchCondition(actual: unknown, condition: unknown, path: string, context: Context): boolean {
  if (isPlainObject(condition)) {
    // Sub-attribute conditions: on a multi-valued attribute one element must satisfy all of them.
    // An absent attribute is evaluated as one empty element, so `not` conditions still hold.
    const elements = Array.isArray(actual) && actual.length > 0 ? actual : [Array.isArray(actual) ? undefined : actual];
    return elements.some((element) => matchBranch(element, condition, path, context));
  }
  if (!Array.isArray(condition)) return false;
  // Several conditions on the same attribute joined by `and`.
  if (condition.length > 0 && condition.every((c) => Array.isArray(c) || isPlainObject(c))) {
    return condition.every((c) => matchCondition(actual, c, path, context));
  }
  return matchExpression(actual, condition, path, context);
}

const PRESENCE = new Set(["pr", "np"]);
const COMPARATORS = new Set(["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr", "np"]);

/** Splits `[not?, comparator, value?]`; `negate` only when "not" is not itself the value. */
function splitExpression(expression: unknown[]): { negate: boolean; comparator: string; value: unknown; arity: number } {
  const first = typeof expression[0] === "string" ? expression[0].toLowerCase() : "";
  const second = typeof expression[1] === "string" ? expression[1].toLowerCase() : "";
  const negate = first === "not" && (expression.length === 3 || PRESENCE.has(second));
  const rest = negate ? expression.slice(1) : expression;
  return { negate, comparator: typeof rest[0] === "string" ? rest[0].toLowerCase() : "", value: rest[1], arity: rest.length };
}

/**
 * Why a parsed filter cannot be evaluated, or undefined. scimmy's parser lets through
 * `userName eq` (no value), `title pr "x"` and stray words as comparators.
 */
export function filterProblem(branches: readonly Branch[]): string | undefined {
  const inCondition = (name: string, condition: unknown): string | undefined => {
    if (isPlainObject(condition)) return inBranch(condition, `${name}.`);
    if (!Array.isArray(condition)) return `cannot read the condition on "${name}"`;
    if (condition.length > 0 && condition.every((c) => Array.isArray(c) || isPlainObject(c))) {
      for (const c of condition) {
        const problem = inCondition(name, c);
        if (problem) return problem;
      }
      return undefined;
    }
    const { comparator, arity } = splitExpression(condition);
    if (!COMPARATORS.has(comparator)) return `"${name}" is not followed by a comparison operator`;
    if (PRESENCE.has(comparator) && arity !== 1) return `"${name} ${comparator}" takes no value`;
    if (!PRESENCE.has(comparator) && arity !== 2) return `"${name} ${comparator}" needs exactly one value`;
    return undefined;
  };
  const inBranch = (branch: Record<string, unknown>, prefix: string): string | undefined => {
    for (const [name, condition] of Object.entries(branch)) {
      const problem = inCondition(`${prefix}${name}`, condition);
      if (problem) return problem;
    }
    return undefined;
  };
  for (const branch of branches) {
    const problem = inBranch(branch, "");
    if (problem) return problem;
  }
  return undefined;
}

function matchExpression(actual: unknown, expression: unknown[], path: string, context: Context): boolean {
  const { negate, comparator, value } = splitExpression(expression);
  const expected = resolveLiteral(value, context.literals);
  const facts = context.describe(path);

  let result: boolean;
  if (comparator === "pr" || comparator === "np") {
    result = isPresent(actual) === (comparator === "pr");
  } else if (Array.isArray(actual)) {
    // A multi-valued attribute matches when any element does; complex elements compare their `value`.
    const valueFacts = isPlainObject(actual[0]) ? context.describe(`${path}.value`) : facts;
    result = actual.some((element) => compare(isPlainObject(element) ? element.value : element, comparator, expected, valueFacts));
  } else {
    result = compare(actual, comparator, expected, facts);
  }
  return negate ? !result : result;
}

function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return true;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function compare(actual: unknown, comparator: string, expectedInput: unknown, facts: AttributeFacts): boolean {
  let expected = expectedInput;
  if (comparator === "ne") return !compare(actual, "eq", expected, facts);
  if (actual === undefined || actual === null) return comparator === "eq" && (expected === null || expected === undefined);
  if (expected === null || expected === undefined) return false;

  if (typeof actual === "boolean") {
    // Entra ID sends `active eq "true"`; accept the string forms.
    if (typeof expected === "string" && /^(true|false)$/i.test(expected)) expected = expected.toLowerCase() === "true";
    return comparator === "eq" && actual === expected;
  }
  if (typeof actual === "number") {
    const n = typeof expected === "number" ? expected : Number(expected);
    if (Number.isNaN(n)) return false;
    return compareOrdered(actual, n, comparator);
  }
  if (typeof actual !== "string") return false;
  const wanted = typeof expected === "string" ? expected : String(expected);

  if (facts.type === "dateTime" && ISO_DATE.test(actual) && ISO_DATE.test(wanted) && ["eq", "gt", "ge", "lt", "le"].includes(comparator)) {
    const a = Date.parse(actual);
    const b = Date.parse(wanted);
    if (!Number.isNaN(a) && !Number.isNaN(b)) return compareOrdered(a, b, comparator);
  }

  const a = facts.caseExact ? actual : actual.toLowerCase();
  const b = facts.caseExact ? wanted : wanted.toLowerCase();
  switch (comparator) {
    case "co":
      return a.includes(b);
    case "sw":
      return a.startsWith(b);
    case "ew":
      return a.endsWith(b);
    default:
      return compareOrdered(a, b, comparator);
  }
}

function compareOrdered<T extends number | string>(a: T, b: T, comparator: string): boolean {
  switch (comparator) {
    case "eq":
      return a === b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
    case "lt":
      return a < b;
    case "le":
      return a <= b;
    default:
      return false;
  }
}
