/**
 * The attributes a mapping expression can read from the directory, and what to say about a
 * reference to anything else. A name nothing in the source model carries would read as empty
 * for every user and clear the attribute in the app on every run, so it is refused at load.
 *
 * These are the names of the source model (src/core/model.ts) as the file source fills it. The
 * Google and Microsoft sources, when they come, bring their own lists, chosen by source.type.
 */
import { editDistance } from "../core/edit-distance.js";
import { SOURCE_USER_ATTRIBUTES } from "../core/model.js";
import type { ReferenceProblem } from "../core/expression.js";
import type { MappingKind } from "./schema.js";


/** SourceGroup's attributes a mapping can read (members are not a mapping). */
export const GROUP_SOURCE_ATTRIBUTES = ["id", "displayName", "email", "description"] as const;

/** Every directory column or key the model has no attribute for, as `extra.<name>`. */
const EXTRA = "extra";

const ATTRIBUTES: Readonly<Record<MappingKind, readonly string[]>> = {
  user: SOURCE_USER_ATTRIBUTES,
  group: GROUP_SOURCE_ATTRIBUTES,
};

function listOf(kind: MappingKind): string {
  return `${kind} attributes: ${ATTRIBUTES[kind].join(", ")}, or extra.<name> for any other column or key of the directory`;
}

/** The attribute `name` most likely means (case aside, one or two typos), or undefined. */
function closestAttribute(kind: MappingKind, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of [...ATTRIBUTES[kind], EXTRA]) {
    // Measured with a swapped pair ("titel") as one edit, as the thresholds below assume.
    const distance = editDistance(wanted, candidate.toLowerCase(), { adjacentSwap: "one edit" });
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= (wanted.length <= 4 ? 1 : 2) ? best.name : undefined;
}

/**
 * What is wrong with a reference (normalised, as Expression.references lists it) in a `kind`
 * mapping; undefined when its first name is an attribute of the source model, or `extra`
 * followed by a name. Names are exact, as the source model spells them.
 */
export function describeReferenceProblem(kind: MappingKind, reference: string): ReferenceProblem | undefined {
  const first = /^[^.[]*/.exec(reference)![0];
  const rest = reference.slice(first.length);
  if (first === EXTRA) {
    if (!rest.startsWith(".")) {
      return { text: `extra needs the name of a column or key, e.g. extra.costCenter, or extra["Cost Center"] for a name with spaces` };
    }
    // The mapping's reader takes extra.<name> apart at each ".", so a filter inside would never match.
    if (rest.includes("[")) return { text: `a [...] filter cannot be used on extra: write extra.<name> to read a column or key` };
    return undefined;
  }
  if (ATTRIBUTES[kind].includes(first)) return undefined;

  const close = closestAttribute(kind, first);
  // `Extra.Cost Center` (from Extra["Cost Center"]) is meant as extra["Cost Center"], which a dot cannot spell.
  const bracketed = close === EXTRA && /[^\p{L}0-9_$.-]/u.test(rest);
  const meant = close ? `did you mean ${bracketed ? `extra[${JSON.stringify(rest.slice(1))}]` : close + rest}?` : undefined;
  const unknown = `unknown ${kind} attribute ${JSON.stringify(first)}`;
  const list = `(${listOf(kind)})`;
  // A single capitalised word is most often text meant literally (Employee, Staff).
  if (rest === "" && /^\p{Lu}/u.test(first)) {
    const quoteIt = `write the text ${first}, quote it: '${first}'`;
    const text = meant ? `${unknown}; ${meant} To ${quoteIt} ${list}` : `${unknown}; to ${quoteIt} ${list}`;
    return { text, literal: first };
  }
  if (meant) return { text: `${unknown}; ${meant} ${list}` };
  if (rest === "") return { text: `${unknown}; for a directory column or key of that name, write extra.${first} ${list}` };
  return { text: `${unknown} ${list}` };
}
