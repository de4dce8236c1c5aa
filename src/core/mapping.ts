import type { AttributeChange, AttributeMap, AttributeValue, SourceGroup, SourceUser } from "./model.js";
import { parseScimPath, readScimPath, selectElement, getKey, type ScimPath } from "./scim-path.js";
import { parseExpression, type Expression } from "./expression.js";

/**
 * One mapped attribute. `source` is a SourceUser attribute name, or a template such as
 * "{givenName} {familyName}"; `default` is used when `source` yields nothing.
 * Kept as data so that configurable mappings (a later issue) only need a schema for it.
 */
export interface MappingEntry {
  target: string;
  source: string;
  default?: string;
  /** false for attributes the SCIM schema declares caseExact=false (userName, emails). */
  caseExact?: boolean;
  /**
   * What an empty source value does: true (the default) clears the attribute on the target,
   * false leaves whatever the target has.
   */
  clearWhenEmpty?: boolean;
}

/** Target attributes an existing account can be recognised by, in precedence order. */
export type MatchAttribute = "externalId" | "userName";

/** How PATCH-less or Entra-shaped targets are written to. See README "Dialects". */
export type Dialect = "patch" | "put" | "entra-legacy";

export interface CompiledEntry extends MappingEntry {
  path: ScimPath;
  expression: Expression;
  fallback?: Expression;
  /**
   * The value is another user's id: the source gives the manager's source id, the target wants
   * that manager's target id, which only the planner knows (and only once the manager exists).
   */
  reference: boolean;
}

export const ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

export type MatchBy = "externalId" | "userName";

/** The user mapping of this release. `active` is not here: the planner owns it. */
export function defaultUserMapping(matchBy: MatchBy): MappingEntry[] {
  const entries: MappingEntry[] = [
    { target: "userName", source: "userName", caseExact: false },
    { target: "externalId", source: "id" },
    { target: "name.givenName", source: "givenName" },
    { target: "name.familyName", source: "familyName" },
    { target: "displayName", source: "displayName", default: "{givenName} {familyName}" },
    { target: 'emails[type eq "work"].value', source: "email", caseExact: false },
    { target: "title", source: "title" },
    { target: `${ENTERPRISE_USER}:department`, source: "department" },
    { target: `${ENTERPRISE_USER}:employeeNumber`, source: "employeeNumber" },
  ];
  // A target that does not store externalId would otherwise show a difference on every run.
  return matchBy === "externalId" ? entries : entries.filter((e) => e.target !== "externalId");
}

/** Throws on a target path we cannot write or an invalid expression (config loading reports both by key first). */
export function compileMapping(entries: MappingEntry[]): CompiledEntry[] {
  return entries.map((e) => {
    const path = parseScimPath(e.target);
    if (!path) throw new Error(`mapping target "${e.target}" is not a SCIM path scimsync can write`);
    const compiled: CompiledEntry = { ...e, path, expression: parseExpression(e.source), reference: isManagerPath(path) };
    if (e.default !== undefined) compiled.fallback = parseExpression(e.default);
    return compiled;
  });
}

function isManagerPath(path: ScimPath): boolean {
  return (
    path.schema?.toLowerCase() === ENTERPRISE_USER.toLowerCase() &&
    path.attribute.toLowerCase() === "manager" &&
    !path.filter &&
    (path.subAttribute === undefined || path.subAttribute.toLowerCase() === "value")
  );
}

/**
 * Reads a source attribute reference as an expression names it: `givenName`,
 * `addresses[type eq "work"].locality`, `extra.costCenter`, `extra.Cost Center` (written
 * `extra["Cost Center"]`). Config loading has already refused names the model does not carry.
 */
function compileReader(reference: string): (record: object) => unknown {
  const path = parseScimPath(reference);
  if (path && !path.schema) return (record) => readRaw(record, path);
  const steps = reference.split(".");
  return (record) => {
    let value: unknown = record;
    for (const step of steps) value = getKey(value, step);
    return value;
  };
}

function readRaw(record: unknown, path: ScimPath): unknown {
  let value = getKey(record, path.attribute);
  if (path.filter) value = selectElement(value, path.filter);
  if (path.subAttribute) value = getKey(value, path.subAttribute);
  return value;
}

/** One reader per distinct reference for the whole process: 100,000 users times every entry. */
const readers = new Map<string, (record: object) => unknown>();

function evaluateFor(record: object, expression: Expression): AttributeValue {
  return expression.evaluate((reference) => {
    let reader = readers.get(reference);
    if (!reader) {
      reader = compileReader(reference);
      readers.set(reference, reader);
    }
    return reader(record);
  });
}

function evaluateEntry(record: object, entry: CompiledEntry): AttributeValue {
  let value = evaluateFor(record, entry.expression);
  if (value === null && entry.fallback) value = evaluateFor(record, entry.fallback);
  return value;
}

/**
 * Multi-valued attributes of RFC 7643 whose elements are plain values: a single text mapped to
 * one of them (`coalesce(roles, 'Employee')`) is a one-element list, as the schema requires.
 */
const LIST_ATTRIBUTES = new Set(["roles", "entitlements"]);

function valueFor(record: object, entry: CompiledEntry): AttributeValue {
  const value = evaluateEntry(record, entry);
  if (typeof value === "string" && !entry.path.filter && !entry.path.subAttribute && LIST_ATTRIBUTES.has(entry.path.attribute.toLowerCase())) return [value];
  return value;
}

/** The attributes a source user should have on the target, without references (see mapReferences). */
export function mapUser(user: SourceUser, mapping: CompiledEntry[]): AttributeMap {
  const out: AttributeMap = {};
  for (const entry of mapping) if (!entry.reference) out[entry.target] = valueFor(user, entry);
  return out;
}

/** The attributes a source group should have on the target (members are not a mapping). */
export function mapGroup(group: SourceGroup, mapping: CompiledEntry[]): AttributeMap {
  const out: AttributeMap = {};
  for (const entry of mapping) out[entry.target] = valueFor(group, entry);
  return out;
}

/** Reference attributes (the manager) as SCIM path -> the referenced user's source id, or null when empty. */
export function mapReferences(user: SourceUser, mapping: CompiledEntry[]): Record<string, string | null> | undefined {
  let out: Record<string, string | null> | undefined;
  for (const entry of mapping) {
    if (!entry.reference) continue;
    const value = evaluateEntry(user, entry);
    out ??= {};
    out[entry.target] = typeof value === "string" ? value : null;
  }
  return out;
}

export function sameValue(a: AttributeValue, b: AttributeValue, caseExact: boolean): boolean {
  if (a === b) return true;
  const fold = (v: string) => (caseExact ? v : v.toLowerCase());
  if (typeof a === "string" && typeof b === "string") return fold(a) === fold(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    // Multi-valued attributes are sets: the order a target returns them in means nothing.
    const left = new Set(a.map(fold));
    const right = new Set(b.map(fold));
    return left.size === right.size && [...left].every((v) => right.has(v));
  }
  if (Array.isArray(a) && typeof b === "string") return a.length === 1 && fold(a[0]!) === fold(b);
  if (typeof a === "string" && Array.isArray(b)) return b.length === 1 && fold(b[0]!) === fold(a);
  return false;
}

/**
 * Mapped attributes whose target value differs from the desired one. An attribute absent from
 * `desired` (a reference the planner could not resolve) is not compared; an empty one is,
 * unless the entry says clearWhenEmpty: false.
 */
export function diffAttributes(
  desired: AttributeMap,
  resource: Record<string, unknown>,
  mapping: CompiledEntry[],
  /** Values that take precedence over `desired` (resolved references), so it need not be copied per user. */
  overrides?: AttributeMap,
): Record<string, AttributeChange> {
  const changes: Record<string, AttributeChange> = {};
  for (const entry of mapping) {
    // Attribute values are never undefined: undefined means absent.
    const override = overrides?.[entry.target];
    const value = override !== undefined ? override : desired[entry.target];
    if (value === undefined) continue;
    const want = value ?? null;
    if (want === null && entry.clearWhenEmpty === false) continue;
    const have = readScimPath(resource, entry.path);
    if (!sameValue(want, have, entry.caseExact ?? true)) changes[entry.target] = { from: have, to: want };
  }
  return changes;
}

/** How a value is written at a path: a reference as `{value}`, a list as `[{value}, ...]`. */
function wireValue(entry: Pick<CompiledEntry, "reference">, value: AttributeValue): unknown {
  if (entry.reference) return { value };
  if (Array.isArray(value)) return value.map((v) => ({ value: v }));
  return value;
}

function setPath(resource: Record<string, unknown>, path: ScimPath, value: unknown): void {
  if (value === null) return;
  let container = resource;
  if (path.schema) {
    container = (resource[path.schema] as Record<string, unknown> | undefined) ?? {};
    resource[path.schema] = container;
  }
  if (path.filter) {
    const list = (container[path.attribute] as Record<string, unknown>[] | undefined) ?? [];
    container[path.attribute] = list;
    let element = list.find((e) => getKey(e, path.filter!.attribute) === path.filter!.value);
    if (!element) {
      element = { [path.filter.attribute]: path.filter.value };
      if (list.length === 0) element.primary = true;
      list.push(element);
    }
    element[path.subAttribute ?? "value"] = value;
    return;
  }
  if (path.subAttribute) {
    const inner = (container[path.attribute] as Record<string, unknown> | undefined) ?? {};
    container[path.attribute] = inner;
    inner[path.subAttribute] = value;
    return;
  }
  container[path.attribute] = value;
}

/** A resource of the core schema with the mapped attributes set, and the extension schemas they use. */
function buildResource(coreSchema: string, attributes: AttributeMap, mapping: CompiledEntry[]): Record<string, unknown> {
  const schemas = [coreSchema];
  const resource: Record<string, unknown> = { schemas };
  for (const entry of mapping) {
    const value = attributes[entry.target] ?? null;
    if (value === null) continue;
    if (entry.path.schema && !schemas.includes(entry.path.schema)) schemas.push(entry.path.schema);
    setPath(resource, entry.path, wireValue(entry, value));
  }
  return resource;
}

/** The body of `POST /Users` for a desired user. */
export function buildUserResource(attributes: AttributeMap, mapping: CompiledEntry[], active: boolean): Record<string, unknown> {
  const resource = buildResource(CORE_USER, attributes, mapping);
  resource.active = active;
  return resource;
}

/** The body of `POST /Groups`: mapped attributes, never members (they follow as PATCHes). */
export function buildGroupResource(attributes: AttributeMap, mapping: CompiledEntry[]): Record<string, unknown> {
  return buildResource(CORE_GROUP, attributes, mapping);
}

/**
 * The full resource a `put`-dialect target should hold: what it has now with the changes laid
 * over it. Server-owned attributes (meta, groups) are left out: PUT replaces what the client owns.
 */
export function applyChanges(
  resource: Record<string, unknown>,
  changes: Record<string, AttributeChange>,
  mapping: CompiledEntry[],
): Record<string, unknown> {
  const next = structuredClone(resource);
  delete next.meta;
  delete next.groups;
  for (const [target, change] of Object.entries(changes)) {
    if (target === "active") {
      next.active = change.to === true;
      continue;
    }
    const entry = mapping.find((e) => e.target === target);
    if (!entry) continue;
    clearPath(next, entry.path);
    if (change.to === null) continue;
    setPath(next, entry.path, wireValue(entry, change.to));
    if (entry.path.schema) {
      const schemas = Array.isArray(next.schemas) ? (next.schemas as string[]) : [];
      if (!schemas.some((s) => s.toLowerCase() === entry.path.schema!.toLowerCase())) next.schemas = [...schemas, entry.path.schema];
    }
  }
  return next;
}

/** Removes the value a path names, leaving siblings (a home email, other address parts) alone. */
function clearPath(resource: Record<string, unknown>, path: ScimPath): void {
  const container = path.schema ? getKey(resource, path.schema) : resource;
  if (container === null || typeof container !== "object" || Array.isArray(container)) return;
  const record = container as Record<string, unknown>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === path.attribute.toLowerCase());
  if (key === undefined) return;
  if (path.filter) {
    const element = selectElement(record[key], path.filter);
    const sub = element && Object.keys(element).find((k) => k.toLowerCase() === (path.subAttribute ?? "value").toLowerCase());
    if (element && sub !== undefined) delete element[sub];
    return;
  }
  if (path.subAttribute) {
    const inner = record[key];
    if (inner && typeof inner === "object" && !Array.isArray(inner)) {
      const sub = Object.keys(inner).find((k) => k.toLowerCase() === path.subAttribute!.toLowerCase());
      if (sub !== undefined) delete (inner as Record<string, unknown>)[sub];
    }
    return;
  }
  delete record[key];
}

export interface PatchOperation {
  op: "add" | "replace" | "remove";
  path?: string;
  value?: unknown;
}

/**
 * RFC 7644 §3.5.2 operations that turn `resource` into the desired values. A value-filtered
 * path is replaced in place when the element exists and added as a new element otherwise
 * (a replace whose filter matches nothing is an error on strict servers).
 */
export function buildPatchOperations(
  changes: Record<string, AttributeChange>,
  resource: Record<string, unknown>,
  mapping: CompiledEntry[],
): PatchOperation[] {
  const ops: PatchOperation[] = [];
  for (const [target, change] of Object.entries(changes)) {
    if (target === "active") {
      ops.push({ op: "replace", path: "active", value: change.to === true });
      continue;
    }
    const entry = mapping.find((e) => e.target === target);
    if (!entry) continue;
    const path = entry.path;
    if (change.to === null) {
      ops.push({ op: "remove", path: target });
      continue;
    }
    if (entry.reference || Array.isArray(change.to)) {
      ops.push({ op: "replace", path: target, value: wireValue(entry, change.to) });
      continue;
    }
    if (path.filter) {
      const container = path.schema ? getKey(resource, path.schema) : resource;
      const element = selectElement(getKey(container, path.attribute), path.filter);
      if (element && getKey(element, path.filter.attribute) !== undefined) {
        ops.push({ op: "replace", path: target, value: change.to });
      } else {
        const prefix = path.schema ? `${path.schema}:` : "";
        if (element) {
          // An untyped element is replaced by a typed one so the target stops looking different.
          // Replacing the attribute replaces the whole list, so the other elements (a home email)
          // are sent back unchanged and the element keeps its own sub-attributes (primary).
          const list = getKey(container, path.attribute) as unknown[];
          const typed = { ...element, [path.filter.attribute]: path.filter.value, [path.subAttribute ?? "value"]: change.to };
          ops.push({ op: "replace", path: `${prefix}${path.attribute}`, value: list.map((e) => (e === element ? typed : e)) });
        } else {
          const fresh: Record<string, unknown> = { [path.filter.attribute]: path.filter.value, [path.subAttribute ?? "value"]: change.to };
          // At most one element may be primary (RFC 7643 §2.4): claim it only when no other element does.
          const existing = getKey(container, path.attribute);
          if (!(Array.isArray(existing) && existing.some((e) => getKey(e, "primary") === true))) fresh.primary = true;
          ops.push({ op: "add", path: `${prefix}${path.attribute}`, value: [fresh] });
        }
      }
      continue;
    }
    ops.push({ op: "replace", path: target, value: change.to });
  }
  return ops;
}
