/**
 * The common, clean user record of a directory file, read without zod. Validating 100,000
 * records with the zod schema in file-records.ts takes several seconds; nearly all of them are
 * plain text that needs no trimming, defaulting or reporting.
 *
 * Narrower than the schema, never wider: a record this accepts is one the schema accepts too,
 * giving the same user (test/quick-user-record.test.ts checks that on mutated records, key order
 * included). Anything else (blank or padded text, numbers as text, roles, nulls, entries to
 * drop, anything to report) returns undefined and goes to the schema, which words the problem.
 */
import type { SourceAddress, SourceTypedValue, SourceUser } from "../core/model.js";

type Fields = Record<string, unknown>;

/** The schema's checks on text, all at once: not blank, not padded, no control character, not too long. */
/** The schema's own rules (file-records.ts), handed in so that they are written once. */
export interface RecordRules {
  /** The user record's known attributes; any other key is `extra`. */
  known: ReadonlySet<string>;
  maxLength: number;
  email: RegExp;
  /** A control character, and one other than a line break (for text that may span lines). */
  control: RegExp;
  controlButLineBreak: RegExp;
}

function clean(value: unknown, rules: RecordRules, multiline = false): value is string {
  return (
    typeof value === "string" &&
    value.length > 0 &&
    value.length <= rules.maxLength &&
    // Padded text is trimmed by the schema: left to it.
    value.charCodeAt(0) > 32 &&
    value.charCodeAt(value.length - 1) > 32 &&
    !(multiline ? rules.controlButLineBreak : rules.control).test(value) &&
    // Unicode spaces that trim() removes too.
    !/^\s|\s$/u.test(value)
  );
}

/** The user's text attributes in the schema's order, which is the order the schema's result has. */
const TEXT_FIELDS = ["email", "givenName", "familyName", "displayName", "title", "department", "employeeNumber", "manager", "preferredLanguage"] as const;
const ADDRESS_KEYS = ["type", "formatted", "streetAddress", "locality", "region", "postalCode", "country", "primary"] as const;
const ADDRESS_KEY_SET: ReadonlySet<string> = new Set(ADDRESS_KEYS);
const PHONE_KEY_SET: ReadonlySet<string> = new Set(["type", "value", "primary"]);
/** Address parts SCIM lets span lines, as the schema does. */
const MULTILINE: ReadonlySet<string> = new Set(["formatted", "streetAddress"]);
const READ_HERE: ReadonlySet<string> = new Set(["id", "userName", "active", "addresses", "phoneNumbers", ...TEXT_FIELDS]);

/** A list of typed entries as the schema would keep it, or undefined when the schema must decide. */
function typedEntries<Entry extends { type?: string; primary?: boolean }>(
  list: unknown,
  allowed: ReadonlySet<string>,
  keys: readonly string[],
  hasValue: (entry: Fields) => boolean,
  rules: RecordRules,
): Entry[] | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const types = new Set<string>();
  let primaries = 0;
  const out: Entry[] = [];
  for (const item of list) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return undefined;
    const entry = item as Fields;
    for (const key in entry) {
      if (!allowed.has(key)) return undefined;
      const value = entry[key];
      if (key === "primary" ? typeof value !== "boolean" : !clean(value, rules, MULTILINE.has(key))) return undefined;
    }
    // Entries the schema drops (type only) or reports (a repeated type, a second primary) are its to handle.
    if (!hasValue(entry)) return undefined;
    if (typeof entry.type === "string") {
      const type = entry.type.toLowerCase();
      if (types.has(type)) return undefined;
      types.add(type);
    }
    if (entry.primary === true && ++primaries > 1) return undefined;
    const kept: Fields = {};
    for (const key of keys) if (entry[key] !== undefined) kept[key] = entry[key];
    out.push(kept as Entry);
  }
  return out;
}

const hasAddressValue = (entry: Fields) => ADDRESS_KEYS.some((k) => k !== "type" && k !== "primary" && entry[k] !== undefined);
const hasPhoneValue = (entry: Fields) => entry.value !== undefined;

/**
 * The user the schema would make of `fields` (without `extra`, which the caller adds the same
 * way for both paths), or undefined when the schema must look at it.
 */
export function quickUserRecord(fields: Fields, rules: RecordRules): SourceUser | undefined {
  const { id, userName, active } = fields;
  if (!clean(id, rules) || !clean(userName, rules)) return undefined;
  if (active !== undefined && typeof active !== "boolean") return undefined;
  if (fields.roles !== undefined) return undefined;
  const user: SourceUser = { id, userName, active: active ?? true };
  for (const key of TEXT_FIELDS) {
    const value = fields[key];
    // An empty cell (CSV) means "not given" to the schema as well.
    if (value === undefined || value === "") continue;
    if (!clean(value, rules)) return undefined;
    if (key === "email" && !rules.email.test(value)) return undefined;
    user[key] = value;
  }
  if (fields.addresses !== undefined) {
    const addresses = typedEntries<SourceAddress>(fields.addresses, ADDRESS_KEY_SET, ADDRESS_KEYS, hasAddressValue, rules);
    if (!addresses) return undefined;
    user.addresses = addresses;
  }
  if (fields.phoneNumbers !== undefined) {
    // value last, as in the schema's result.
    const phones = typedEntries<SourceTypedValue>(fields.phoneNumbers, PHONE_KEY_SET, ["type", "primary", "value"], hasPhoneValue, rules);
    if (!phones) return undefined;
    user.phoneNumbers = phones;
  }
  // A known field this does not read (a future attribute) goes to the schema.
  for (const key in fields) if (rules.known.has(key) && !READ_HERE.has(key)) return undefined;
  return user;
}
