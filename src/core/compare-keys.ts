/** Case-insensitive order for userNames and display names: how administrators scan a list. */
export function compareKeys(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
