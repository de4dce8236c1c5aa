/**
 * The attributes a mapping expression can read from the directory, and what to say about a
 * reference to anything else. A name nothing in the source model carries would read as empty
 * for every user and clear the attribute in the app on every run, so it is refused at load.
 *
 * A file source fills the source model's attributes and any `extra.<name>` (its own columns or
 * keys). A Google source has no value for some model attributes (GOOGLE_MISSING_ATTRIBUTES) and
 * only the extras of src/sources/google/attributes.ts; a Microsoft source likewise
 * (GRAPH_MISSING_ATTRIBUTES, the extras of src/sources/microsoft/attributes.ts). Users only, as
 * their groups have no extras of their own to judge by.
 */
import { editDistance } from "../core/edit-distance.js";
import { SOURCE_USER_ATTRIBUTES } from "../core/model.js";
import type { ReferenceProblem } from "../core/expression.js";
import { GOOGLE_EXTRA_NAMES, GOOGLE_MISSING_ATTRIBUTES } from "../sources/google/attributes.js";
import { GRAPH_EXTRA_NAMES, GRAPH_MISSING_ATTRIBUTES } from "../sources/microsoft/attributes.js";
import type { MappingKind, SourceType } from "./schema.js";

/** SourceGroup's attributes a mapping can read (members are not a mapping). */
export const GROUP_SOURCE_ATTRIBUTES = ["id", "displayName", "email", "description"] as const;

/** Every directory column or key the model has no attribute for, as `extra.<name>`. */
const EXTRA = "extra";

const ATTRIBUTES: Readonly<Record<MappingKind, readonly string[]>> = {
  user: SOURCE_USER_ATTRIBUTES,
  group: GROUP_SOURCE_ATTRIBUTES,
};

/** The one Google extra that takes more than a name: custom attributes, by schema and field. */
const CUSTOM_SCHEMAS = "customSchemas";
const CUSTOM_SCHEMAS_FORM = `extra.${CUSTOM_SCHEMAS}.<schema>.<field>`;

/** What the users of a directory API have, and how messages name it. */
interface ApiUsers {
  /** How the list in messages is titled: "Google user attributes". */
  listTitle: string;
  /** Who has no attribute: "Google Workspace users". */
  users: string;
  /** What an unknown extra is: "Google user attribute". */
  attribute: string;
  /** What extra names: "a field of the Google user". */
  extraNames: string;
  missing: ReadonlySet<string>;
  attributes: readonly string[];
  extras: readonly string[];
  /** The extras as the list shows them. */
  shownExtras: readonly string[];
  /** Whether every extra is one value, with nothing inside to name (extra.costCenter.x reads nothing). */
  scalarExtras: boolean;
  /** Said of an unknown name that nothing resembles. */
  otherwise: string;
}

function apiUsers(fields: Omit<ApiUsers, "missing" | "attributes"> & { missing: readonly string[] }): ApiUsers {
  const missing = new Set(fields.missing);
  return { ...fields, missing, attributes: SOURCE_USER_ATTRIBUTES.filter((name) => !missing.has(name)) };
}

const API_USERS: Readonly<Partial<Record<SourceType, ApiUsers>>> = {
  google: apiUsers({
    listTitle: "Google user attributes",
    users: "Google Workspace users",
    attribute: "Google user attribute",
    extraNames: "a field of the Google user",
    missing: GOOGLE_MISSING_ATTRIBUTES,
    extras: GOOGLE_EXTRA_NAMES,
    shownExtras: GOOGLE_EXTRA_NAMES.map((name) => (name === CUSTOM_SCHEMAS ? CUSTOM_SCHEMAS_FORM : `extra.${name}`)),
    scalarExtras: false,
    otherwise: `a custom attribute of the Admin console is read as ${CUSTOM_SCHEMAS_FORM}`,
  }),
  microsoft: apiUsers({
    listTitle: "Microsoft Entra user attributes",
    users: "Microsoft Entra users",
    attribute: "Microsoft Entra user attribute",
    extraNames: "a property of the Microsoft Entra user",
    missing: GRAPH_MISSING_ATTRIBUTES,
    extras: GRAPH_EXTRA_NAMES,
    shownExtras: GRAPH_EXTRA_NAMES.map((name) => `extra.${name}`),
    scalarExtras: true,
    otherwise: "scimsync reads only the Microsoft Entra user properties listed",
  }),
};

/** The directory API's users, when the `kind` mapping reads them (not the model's list). */
function apiUsersOf(kind: MappingKind, source: SourceType): ApiUsers | undefined {
  return kind === "user" ? API_USERS[source] : undefined;
}

function listOf(kind: MappingKind, api: ApiUsers | undefined): string {
  if (api) return `${api.listTitle}: ${[...api.attributes, ...api.shownExtras].join(", ")}`;
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
  const api = apiUsersOf(kind, source);
  if (first === EXTRA) {
    if (!rest.startsWith(".")) {
      if (api) return { text: `extra needs the name of ${api.extraNames} (${listOf(kind, api)})` };
      return { text: `extra needs the name of a column or key, e.g. extra.costCenter, or extra["Cost Center"] for a name with spaces` };
    }
    // The mapping's reader takes extra.<name> apart at each ".", so a filter inside would never match.
    if (rest.includes("[")) return { text: `a [...] filter cannot be used on extra: write extra.<name> to read a column or key` };
    return api ? describeApiExtraProblem(api, rest) : undefined;
  }
  if (api?.missing.has(first)) {
    return {
      text:
        `${api.users} have no ${first}: the mapping would read nothing for every user and clear the attribute in the app; ` +
        `map a literal such as 'Employee' or another attribute instead (${listOf(kind, api)})`,
    };
  }
  const attributes = api ? api.attributes : ATTRIBUTES[kind];
  if (attributes.includes(first)) return undefined;

  // A field of the API the model has no attribute for (costCenter) is read through extra.
  const closeExtra = api ? closestAttribute(first, api.extras) : undefined;
  const close = closestAttribute(first, [...attributes, EXTRA]) ?? (closeExtra === undefined ? undefined : `extra.${closeExtra}`);
  // `Extra.Cost Center` (from Extra["Cost Center"]) is meant as extra["Cost Center"], which a dot cannot spell.
  const bracketed = close === EXTRA && /[^\p{L}0-9_$.-]/u.test(rest);
  const meant = close ? `did you mean ${bracketed ? `extra[${JSON.stringify(rest.slice(1))}]` : close + rest}?` : undefined;
  const unknown = `unknown ${kind} attribute ${JSON.stringify(first)}`;
  const list = `(${listOf(kind, api)})`;
  // A single capitalised word is most often text meant literally (Employee, Staff).
  if (rest === "" && /^\p{Lu}/u.test(first)) {
    const quoteIt = `write the text ${first}, quote it: '${first}'`;
    const text = meant ? `${unknown}; ${meant} To ${quoteIt} ${list}` : `${unknown}; to ${quoteIt} ${list}`;
    return { text, literal: first };
  }
  if (meant) return { text: `${unknown}; ${meant} ${list}` };
  if (rest === "" && api) return { text: `${unknown}; ${api.otherwise} ${list}` };
  if (rest === "") return { text: `${unknown}; for a directory column or key of that name, write extra.${first} ${list}` };
  return { text: `${unknown} ${list}` };
}

/** `rest` is what follows `extra` in a reference of an API's user mapping: `.costCenter`, `.customSchemas.HR.level`. */
function describeApiExtraProblem(api: ApiUsers, rest: string): ReferenceProblem | undefined {
  const name = /^\.([^.]*)/.exec(rest)![1]!;
  const after = rest.slice(1 + name.length);
  const list = `(${listOf("user", api)})`;
  if (api.extras.includes(CUSTOM_SCHEMAS) && name === CUSTOM_SCHEMAS) {
    // The schema and the field, each a non-empty name.
    if (/^\.[^.]+\.[^.]/.test(after)) return undefined;
    return {
      text:
        `extra.${CUSTOM_SCHEMAS} needs a schema and a field: ${CUSTOM_SCHEMAS_FORM}, e.g. extra.${CUSTOM_SCHEMAS}.HR.costCenter, ` +
        "as the custom attributes are named in the Admin console's schema (its API names)",
    };
  }
  if (api.extras.includes(name)) {
    if (after === "" || !api.scalarExtras) return undefined;
    return { text: `extra.${name} is a single value, with nothing inside to read; write extra.${name} without ${after}` };
  }
  const unknown = `unknown ${api.attribute} ${JSON.stringify(`extra.${name}`)}`;
  const close = closestAttribute(name, api.extras);
  if (close) return { text: `${unknown}; did you mean extra.${close}${after}? ${list}` };
  return { text: `${unknown}; ${api.otherwise} ${list}` };
}
