/**
 * What a target says it supports in GET /ServiceProviderConfig (RFC 7643 §5), read leniently:
 * many apps fill it in loosely, and it is only ever shown to the administrator.
 */

export interface ServiceProviderSummary {
  /** Each feature's `supported`; null when the target does not say. */
  patch: boolean | null;
  bulk: boolean | null;
  filter: boolean | null;
  sort: boolean | null;
  etag: boolean | null;
  changePassword: boolean | null;
  /** filter.maxResults: the most resources one listing page returns; null when not given. */
  maxResults: number | null;
  /** The `type` (else `name`) of each authentication scheme, e.g. "oauthbearertoken". */
  authenticationSchemes: string[];
}

const FEATURES = ["patch", "bulk", "filter", "sort", "etag", "changePassword"] as const;

export function toServiceProviderSummary(json: unknown): ServiceProviderSummary {
  const body = isObject(json) ? json : {};
  const supported = (name: string): boolean | null => {
    const feature = body[name];
    return isObject(feature) && typeof feature.supported === "boolean" ? feature.supported : null;
  };
  const filter = isObject(body.filter) ? body.filter : {};
  const maxResults = typeof filter.maxResults === "number" && Number.isFinite(filter.maxResults) ? filter.maxResults : null;
  const schemes = Array.isArray(body.authenticationSchemes) ? body.authenticationSchemes : [];
  const authenticationSchemes = schemes
    .map((s) => (isObject(s) ? (typeof s.type === "string" && s.type !== "" ? s.type : typeof s.name === "string" ? s.name : undefined) : undefined))
    .filter((s): s is string => s !== undefined && s !== "");
  const summary = Object.fromEntries(FEATURES.map((name) => [name, supported(name)])) as Record<(typeof FEATURES)[number], boolean | null>;
  return { ...summary, maxResults, authenticationSchemes };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
