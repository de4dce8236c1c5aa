/** Near-miss suggestions ("did you mean ...?") for config keys and named values such as presets. */

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
    const distance = normalized.startsWith(wanted) && wanted.length >= 4 ? 0 : editDistance(wanted, normalized);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(1, Math.floor(wanted.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
