/**
 * The attributes a mapping expression can read from the directory, and what to say about a
 * reference to anything else. A name nothing in the source model carries would read as empty
 * for every user and clear the attribute in the app on every run, so it is refused at load.
 *
 * A file source fills the source model's attributes and any `extra.<name>` (its own columns or
 * keys). A Google source has no value for some model attributes (GOOGLE_MISSING_ATTRIBUTES) and
 * only the extras of src/sources/google/attributes.ts; users only, as its groups have no extras
 * of their own to judge by.
 */
import { editDistance } from "../core/edit-distance.js";
import { SOURCE_USER_ATTRIBUTES } from "../core/model.js";
import type { ReferenceProblem } from "../core/expression.js";
import { GOOGLE_EXTRA_NAMES, GOOGLE_MISSING_ATTRIBUTES } from "../sources/google/attributes.js";
import type { MappingKind, SourceType } from "./schema.js";

/** SourceGroup's attributes a mapping can read (members are not a mapping). */
export const GROUP_SOURCE_ATTRIBUTES = ["id", "displayName", "email", "description"] as const;

/** Every directory column or key the model has no attribute for, as `extra.<name>`. */
const EXTRA = "extra";

const ATTRIBUTES: Readonly<Record<MappingKind, readonly string[]>> = {
  user: SOURCE_USER_ATTRIBUTES,
  group: GROUP_SOURCE_ATTRIBUTES,
};

const GOOGLE_MISSING: ReadonlySet<string> = new Set(GOOGLE_MISSING_ATTRIBUTES);
const GOOGLE_USER_ATTRIBUTES = SOURCE_USER_ATTRIBUTES.filter((name) => !GOOGLE_MISSING.has(name));
/** The one extra that takes more than a name: custom attributes, by schema and field. */
const CUSTOM_SCHEMAS = "customSchemas";
const CUSTOM_SCHEMAS_FORM = `extra.${CUSTOM_SCHEMAS}.<schema>.<field>`;
const GOOGLE_EXTRAS = GOOGLE_EXTRA_NAMES.map((name) => (name === CUSTOM_SCHEMAS ? CUSTOM_SCHEMAS_FORM : `extra.${name}`));

/** Whether the Google user list (not the model's) applies. */
function isGoogleUser(kind: MappingKind, source: SourceType): boolean {
  return kind === "user" && source === "google";
}

function attributesOf(kind: MappingKind, source: SourceType): readonly string[] {
  return isGoogleUser(kind, source) ? GOOGLE_USER_ATTRIBUTES : ATTRIBUTES[kind];
}

function listOf(kind: MappingKind, source: SourceType): string {
  if (isGoogleUser(kind, source)) return `Google user attributes: ${[...GOOGLE_USER_ATTRIBUTES, ...GOOGLE_EXTRAS].join(", ")}`;
  return `${kind} attributes: ${ATTRIBUTES[kind].join(", ")}, or extra.<name> for any other column or key of the directory`;
}

/** The candidate `name` most likely means (case aside, one or two typos), or undefined. */
function closestAttribute(name: string, candidates: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    // Measured with a swapped pair ("titel") as one edit, as the thresholds below assume.
    const distance = editDistance(wanted, candidate.toLowerCase(), { adjacentSwap: "one edit" });
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= (wanted.length <= 4 ? 1 : 2) ? best.name : undefined;
}

/**
 * What is wrong with a reference (normalised, as Expression.references lists it) in a `kind`
 * mapping over a `source`; undefined when its first name is an attribute the source fills, or
 * `extra` followed by a name the source has (any name, for a file). Names are exact, as the
 * source model spells them.
 */
export function describeReferenceProblem(kind: MappingKind, reference: string, source: SourceType = "file"): ReferenceProblem | undefined {
  const first = /^[^.[]*/.exec(reference)![0];
  const rest = reference.slice(first.length);
  const google = isGoogleUser(kind, source);
  if (first === EXTRA) {
    if (!rest.startsWith(".")) {
      if (google) return { text: `extra needs the name of a field of the Google user (${listOf(kind, source)})` };
      return { text: `extra needs the name of a column or key, e.g. extra.costCenter, or extra["Cost Center"] for a name with spaces` };
    }
    // The mapping's reader takes extra.<name> apart at each ".", so a filter inside would never match.
    if (rest.includes("[")) return { text: `a [...] filter cannot be used on extra: write extra.<name> to read a column or key` };
    return google ? describeGoogleExtraProblem(rest) : undefined;
  }
  if (google && GOOGLE_MISSING.has(first)) {
    return {
      text:
        `Google Workspace users have no ${first}: the mapping would read nothing for every user and clear the attribute in the app; ` +
        `map a literal such as 'Employee' or another attribute instead (${listOf(kind, source)})`,
    };
  }
  const attributes = attributesOf(kind, source);
  if (attributes.includes(first)) return undefined;

  // A Google field the model has no attribute for (costCenter) is read through extra.
  const closeExtra = google ? closestAttribute(first, GOOGLE_EXTRA_NAMES) : undefined;
  const close = closestAttribute(first, [...attributes, EXTRA]) ?? (closeExtra === undefined ? undefined : `extra.${closeExtra}`);
  // `Extra.Cost Center` (from Extra["Cost Center"]) is meant as extra["Cost Center"], which a dot cannot spell.
  const bracketed = close === EXTRA && /[^\p{L}0-9_$.-]/u.test(rest);
  const meant = close ? `did you mean ${bracketed ? `extra[${JSON.stringify(rest.slice(1))}]` : close + rest}?` : undefined;
  const unknown = `unknown ${kind} attribute ${JSON.stringify(first)}`;
  const list = `(${listOf(kind, source)})`;
  // A single capitalised word is most often text meant literally (Employee, Staff).
  if (rest === "" && /^\p{Lu}/u.test(first)) {
    const quoteIt = `write the text ${first}, quote it: '${first}'`;
    const text = meant ? `${unknown}; ${meant} To ${quoteIt} ${list}` : `${unknown}; to ${quoteIt} ${list}`;
    return { text, literal: first };
  }
  if (meant) return { text: `${unknown}; ${meant} ${list}` };
  if (rest === "" && google) return { text: `${unknown}; a custom attribute of the Admin console is read as ${CUSTOM_SCHEMAS_FORM} ${list}` };
  if (rest === "") return { text: `${unknown}; for a directory column or key of that name, write extra.${first} ${list}` };
  return { text: `${unknown} ${list}` };
}

/** `rest` is what follows `extra` in a reference of a Google user mapping: `.costCenter`, `.customSchemas.HR.level`. */
function describeGoogleExtraProblem(rest: string): ReferenceProblem | undefined {
  const name = /^\.([^.]*)/.exec(rest)![1]!;
  const after = rest.slice(1 + name.length);
  const list = `(${listOf("user", "google")})`;
  if (name === CUSTOM_SCHEMAS) {
    // The schema and the field, each a non-empty name.
    if (/^\.[^.]+\.[^.]/.test(after)) return undefined;
    return {
      text:
        `extra.${CUSTOM_SCHEMAS} needs a schema and a field: ${CUSTOM_SCHEMAS_FORM}, e.g. extra.${CUSTOM_SCHEMAS}.HR.costCenter, ` +
        "as the custom attributes are named in the Admin console's schema (its API names)",
    };
  }
  if (GOOGLE_EXTRA_NAMES.includes(name)) return undefined;
  const unknown = `unknown Google user attribute ${JSON.stringify(`extra.${name}`)}`;
  const close = closestAttribute(name, GOOGLE_EXTRA_NAMES);
  if (close) return { text: `${unknown}; did you mean extra.${close}${after}? ${list}` };
  return { text: `${unknown}; a custom attribute of the Admin console is read as ${CUSTOM_SCHEMAS_FORM} ${list}` };
}
