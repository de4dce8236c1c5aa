/** How many single-character edits turn one text into another: the measure behind "did you mean". */

export interface EditDistanceOptions {
  /**
   * What swapping two adjacent characters ("nto" for "not") costs: one edit (optimal string
   * alignment) or two substitutions (plain Levenshtein). Each caller's threshold is measured in
   * one of these, so the caller says which.
   */
  readonly adjacentSwap: "one edit" | "two edits";
}

/** Compares UTF-16 code units exactly; callers fold case or punctuation first. */
export function editDistance(a: string, b: string, { adjacentSwap }: EditDistanceOptions): number {
  // Rows of the usual (a.length + 1) x (b.length + 1) table; a swap looks two rows back.
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
      if (adjacentSwap === "one edit" && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, beforePrevious[j - 2]! + 1);
      }
      current.push(best);
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}
