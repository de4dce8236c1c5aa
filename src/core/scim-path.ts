import type { AttributeValue } from "./model.js";

/**
 * The subset of SCIM attribute paths (RFC 7644 §3.10) a mapping can target:
 *   userName | name.givenName | emails[type eq "work"].value | urn:...:User:department
 */
export interface ScimPath {
  /** The extension schema URN, when the path names one. */
  schema?: string;
  attribute: string;
  /** For multi-valued attributes: the element selected by `sub eq "value"`. */
  filter?: { attribute: string; value: string };
  subAttribute?: string;
}

/** Core attributes may be named with this URN (RFC 7644 §3.10) but sit at the top of a resource. */
const CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:user";

const SIMPLE = /^([A-Za-z][\w$-]*)(?:\[\s*([A-Za-z][\w$-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\])?(?:\.([A-Za-z][\w$-]*))?$/;

/** Parses a mapping target path; undefined when it is not a path we can read and write. */
export function parseScimPath(path: string): ScimPath | undefined {
  let schema: string | undefined;
  let rest = path.trim();
  if (rest.toLowerCase().startsWith("urn:")) {
    // The attribute starts after the URN's last colon, searched before any filter: a filter
    // value may itself contain colons (`badges[kind eq "urn:acme:door"]`).
    const filterStart = rest.indexOf("[");
    const cut = rest.lastIndexOf(":", filterStart === -1 ? rest.length : filterStart);
    schema = rest.slice(0, cut);
    rest = rest.slice(cut + 1);
    // A core attribute named by its full URN is still a top-level attribute: reading it under a
    // "urn:...:core:2.0:User" key would find nothing and show a difference on every run.
    if (schema.toLowerCase() === CORE_USER_SCHEMA) schema = undefined;
  }
  const m = SIMPLE.exec(rest);
  if (!m) return undefined;
  const parsed: ScimPath = { attribute: m[1]! };
  if (schema) parsed.schema = schema;
  if (m[2] !== undefined) parsed.filter = { attribute: m[2], value: m[3]!.replace(/\\(.)/g, "$1") };
  if (m[4] !== undefined) parsed.subAttribute = m[4];
  return parsed;
}

/** SCIM attribute names are case-insensitive (RFC 7643 §2.1); so is this lookup. */
export function getKey(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return undefined;
  const record = obj as Record<string, unknown>;
  if (key in record) return record[key];
  // Called for every mapped attribute of every user: compare lengths first, so an absent
  // attribute costs no lower-cased copies of the resource's keys.
  const lower = key.toLowerCase();
  for (const k in record) if (k.length === key.length && k.toLowerCase() === lower) return record[k];
  return undefined;
}

function normalise(value: unknown): AttributeValue {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return value === "" ? null : value;
  if (Array.isArray(value)) {
    // A multi-valued attribute (roles: [{value}, ...]) as the list of its values.
    const values = value.map(normalise).filter((v): v is string => typeof v === "string");
    return values.length === 0 ? null : values;
  }
  // A complex value where we expect a simple one (e.g. manager {value}): compare by its value.
  const inner = getKey(value, "value");
  return inner === undefined ? JSON.stringify(value) : normalise(inner);
}

/**
 * Picks the element of a multi-valued attribute a filter selects. Some targets drop `type`
 * on write; an element without the filter attribute is accepted when nothing matches exactly,
 * so such a target does not show an eternal difference.
 */
export function selectElement(list: unknown, filter: { attribute: string; value: string }): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  // Plain loops: this runs for every filtered mapping entry of every user in a plan.
  const wanted = filter.value.toLowerCase();
  let firstUntyped: Record<string, unknown> | undefined;
  let primaryUntyped: Record<string, unknown> | undefined;
  for (const e of list) {
    if (e === null || typeof e !== "object") continue;
    const element = e as Record<string, unknown>;
    const v = getKey(element, filter.attribute);
    if (typeof v === "string" && v.toLowerCase() === wanted) return element;
    if (v === undefined) {
      firstUntyped ??= element;
      if (primaryUntyped === undefined && getKey(element, "primary") === true) primaryUntyped = element;
    }
  }
  return primaryUntyped ?? firstUntyped;
}

/** Reads a path from a SCIM resource as the target returned it. */
export function readScimPath(resource: Record<string, unknown>, path: ScimPath): AttributeValue {
  const container = path.schema ? getKey(resource, path.schema) : resource;
  let value = getKey(container, path.attribute);
  if (path.filter) value = selectElement(value, path.filter);
  if (path.subAttribute) value = getKey(value, path.subAttribute);
  return normalise(value);
}
