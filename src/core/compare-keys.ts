/** Case-insensitive order for userNames and display names: how administrators scan a list. */
export function compareKeys(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `items` in compareKeys order of `keyOf`, ties broken by `before` (e.g. a rank), each key lower-cased once.
 * Sorting 100,000 users with compareKeys directly lower-cases two strings per comparison,
 * millions of throwaway strings.
 */
export function sortedByKey<T>(items: readonly T[], keyOf: (item: T) => string, before?: (item: T) => number): T[] {
  const decorated = items.map((item) => ({ item, rank: before ? before(item) : 0, key: keyOf(item).toLowerCase() }));
  decorated.sort((a, b) => a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return decorated.map((d) => d.item);
}
