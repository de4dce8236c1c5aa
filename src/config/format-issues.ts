/**
 * Turns zod's issues into ConfigIssues an administrator can act on: the key path, what was
 * wrong, what is accepted. Offending values are quoted only when they cannot be secrets.
 */
import type { z } from "zod";
import type { ConfigIssue } from "../errors.js";
import { formatKeyPath, isMapping, valueAt, type KeyPath } from "./key-path.js";
import { closestName, normalizeName } from "./closest-name.js";
import { GOT, SECRET_KEYS } from "./schema.js";

export interface IssueContext {
  /** The schema the issues came from, to list the keys accepted where an unknown one appears. */
  schema: z.ZodType;
  /** The validated tree, to show the offending values. */
  root: unknown;
  /** Key path -> the references the value was built from (see secret-refs.ts). */
  references: ReadonlyMap<string, readonly string[]>;
}

export function toConfigIssues(issues: readonly z.core.$ZodIssue[], context: IssueContext): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  // Keys that are "required" only because they were misspelt: the misspelling says it all.
  const meant = new Set<string>();
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const close = closestName(key, knownKeys(context.schema, issue.path));
        if (close) meant.add(formatKeyPath([...issue.path, close]));
        out.push({ path: formatKeyPath([...issue.path, key]), message: describeUnknownKey(context.schema, issue.path, key) });
      }
      continue;
    }
    const message = issue.message.includes(GOT)
      ? issue.message.split(GOT).join(describeValue(issue.path, context))
      : issue.message;
    out.push({ path: formatKeyPath(issue.path), message });
  }
  return out.filter((issue) => !(meant.has(issue.path) && issue.message.startsWith("is required")));
}

/** The offending value as a message may show it: secrets are named by reference or by type only. */
export function describeValue(path: KeyPath, context: IssueContext): string {
  const key = formatKeyPath(path);
  const references = context.references.get(key);
  if (references && references.length > 0) return `the value of ${references.join(" and ")}`;
  const value = valueAt(context.root, path);
  if (isSecretKey(key)) return describeType(value);
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return describeType(value);
}

function isSecretKey(key: string): boolean {
  for (const secret of SECRET_KEYS) {
    if (key === secret || key.startsWith(`${secret}.`) || key.startsWith(`${secret}[`)) return true;
  }
  return false;
}

function describeType(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (isMapping(value)) return "a mapping";
  if (typeof value === "string") return "text";
  return `a ${typeof value}`;
}

/**
 * Unknown keys that mean a setting which does not exist, keyed by path: the usual "did you mean"
 * would point at a key that does something else.
 */
const NO_SUCH_SETTING: ReadonlyMap<string, string> = new Map([
  ["deprovision.groups.suspend", "unknown key: groups are never suspended, only deleted (deprovision.groups.delete)"],
]);

function describeUnknownKey(schema: z.ZodType, parent: KeyPath, key: string): string {
  const explained = NO_SUCH_SETTING.get(formatKeyPath([...parent, normalizeName(key)]));
  if (explained) return explained;
  const siblings = knownKeys(schema, parent);
  const close = closestName(key, siblings);
  if (close) return `unknown key; did you mean "${close}"?`;
  const elsewhere = pathsOfKey(schema, key).filter((p) => formatKeyPath(p.slice(0, -1)) !== formatKeyPath(parent));
  if (elsewhere.length > 0) {
    return `unknown key here; did you mean ${elsewhere.map((p) => `"${formatKeyPath(p)}"`).join(" or ")}?`;
  }
  const where = parent.length === 0 ? "at the top level" : `in ${formatKeyPath(parent)}`;
  return `unknown key; the keys accepted ${where} are ${siblings.join(", ")}`;
}

type Def = { type: string; innerType?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };

function def(schema: z.core.$ZodType): Def {
  return schema._zod.def as unknown as Def;
}

/** Strips default/prefault/optional wrappers down to the object or array inside. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (let d = def(current); d.innerType; d = def(current)) current = d.innerType;
  return current;
}

function knownKeys(schema: z.core.$ZodType, path: KeyPath): string[] {
  let node: z.core.$ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    const d: Def = def(node);
    node = typeof segment === "number" ? d.element : d.shape?.[String(segment)];
    if (!node) return [];
    node = unwrap(node);
  }
  return Object.keys(def(node).shape ?? {});
}

/** Every path in the schema that ends in `key` (compared loosely), for a key put at the wrong level. */
function pathsOfKey(schema: z.core.$ZodType, key: string): string[][] {
  const wanted = normalizeName(key);
  const found: string[][] = [];
  const walk = (node: z.core.$ZodType, path: string[]): void => {
    const shape = def(unwrap(node)).shape;
    if (!shape) return;
    for (const [name, child] of Object.entries(shape)) {
      if (normalizeName(name) === wanted) found.push([...path, name]);
      walk(child, [...path, name]);
    }
  };
  walk(schema, []);
  return found;
}
