/** Near-miss suggestions ("did you mean ...?") for config keys and named values such as presets. */

import { editDistance } from "../core/edit-distance.js";

/** Case, `_` and `-` are ignored: `rate_limit` is a near miss of `rateLimit`, not a typo. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[_\-\s]/g, "");
}

/** The candidate `name` was most likely meant to be, or undefined when none is close enough. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const wanted = normalizeName(name);
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const normalized = normalizeName(candidate);
    const distance =
      normalized.startsWith(wanted) && wanted.length >= 4 ? 0 : editDistance(wanted, normalized, { adjacentSwap: "two edits" });
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (!best) return undefined;
  // Measured in Levenshtein edits (a swapped pair costs two), as chosen above.
  return best.distance <= Math.max(1, Math.floor(wanted.length / 3)) ? best.name : undefined;
}
