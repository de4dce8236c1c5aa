/**
 * Target URLs as the state file records and compares them. A state file belongs to exactly one
 * target: applying it to another would deprovision users that target never had.
 */

/** Drops userinfo and fragment: a URL pasted with credentials must not end up on disk. */
export function redactTargetUrl(url: string): string {
  try {
    const parsed = new URL(url.trim());
    parsed.username = "";
    parsed.password = "";
    parsed.hash = "";
    return parsed.toString();
  } catch {
    return url.trim();
  }
}

/**
 * The form two URLs are compared in: scheme and host lowercased, default port dropped (both
 * done by URL), no trailing slash, no credentials. The path stays case-sensitive, as servers treat it.
 */
export function normaliseTargetUrl(url: string): string {
  try {
    const parsed = new URL(url.trim());
    const path = parsed.pathname.replace(/\/+$/, "");
    return `${parsed.protocol}//${parsed.host}${path}${parsed.search}`;
  } catch {
    return url.trim().replace(/\/+$/, "");
  }
}

export function sameTarget(a: string, b: string): boolean {
  return normaliseTargetUrl(a) === normaliseTargetUrl(b);
}
