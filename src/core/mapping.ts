import type { AttributeChange, AttributeMap, AttributeValue, SourceUser } from "./model.js";
import { parseScimPath, readScimPath, selectElement, getKey, type ScimPath } from "./scim-path.js";

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
}

export const ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";

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

export function compileMapping(entries: MappingEntry[]): CompiledEntry[] {
  return entries.map((e) => {
    const path = parseScimPath(e.target);
    if (!path) throw new Error(`mapping target "${e.target}" is not a SCIM path scimsync can write`);
    return { ...e, path };
  });
}

function sourceValue(user: SourceUser, name: string): unknown {
  if (name in user) return (user as unknown as Record<string, unknown>)[name];
  return user.extra?.[name];
}

function evaluate(user: SourceUser, expression: string): AttributeValue {
  if (!expression.includes("{")) {
    const v = sourceValue(user, expression);
    if (v === undefined || v === null || v === "") return null;
    return typeof v === "boolean" ? v : String(v);
  }
  let missing = 0;
  let present = 0;
  const text = expression.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = sourceValue(user, name.trim());
    if (v === undefined || v === null || v === "") {
      missing++;
      return "";
    }
    present++;
    return String(v);
  });
  if (present === 0 && missing > 0) return null;
  const squeezed = text.replace(/\s+/g, " ").trim();
  return squeezed === "" ? null : squeezed;
}

/** The attributes a source user should have on the target. */
export function mapUser(user: SourceUser, mapping: CompiledEntry[]): AttributeMap {
  const out: AttributeMap = {};
  for (const entry of mapping) {
    let value = evaluate(user, entry.source);
    if (value === null && entry.default !== undefined) value = evaluate(user, entry.default);
    out[entry.target] = value;
  }
  return out;
}

export function sameValue(a: AttributeValue, b: AttributeValue, caseExact: boolean): boolean {
  if (a === b) return true;
  if (!caseExact && typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  return false;
}

/** Mapped attributes whose target value differs from the desired one. */
export function diffUser(
  desired: AttributeMap,
  resource: Record<string, unknown>,
  mapping: CompiledEntry[],
): Record<string, AttributeChange> {
  const changes: Record<string, AttributeChange> = {};
  for (const entry of mapping) {
    const want = desired[entry.target] ?? null;
    const have = readScimPath(resource, entry.path);
    if (!sameValue(want, have, entry.caseExact ?? true)) changes[entry.target] = { from: have, to: want };
  }
  return changes;
}

function setPath(resource: Record<string, unknown>, path: ScimPath, value: AttributeValue): void {
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

/** The body of `POST /Users` for a desired user. */
export function buildUserResource(attributes: AttributeMap, mapping: CompiledEntry[], active: boolean): Record<string, unknown> {
  const resource: Record<string, unknown> = { schemas: [CORE_USER] };
  const extensions = new Set<string>();
  for (const entry of mapping) {
    const value = attributes[entry.target] ?? null;
    if (value !== null && entry.path.schema) extensions.add(entry.path.schema);
    setPath(resource, entry.path, value);
  }
  resource.active = active;
  (resource.schemas as string[]).push(...extensions);
  return resource;
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
