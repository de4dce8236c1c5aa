/**
 * The part of the scope only Google can judge: source.domain, scope.orgUnits and scope.query.
 * Each narrows the users admitted (AND, as Google's autoprovisioning combines them). A setting
 * that admits nobody at all is far more likely a typo than an intent, and would put every user
 * out of scope: it makes the read incomplete, so nobody is deprovisioned because of it.
 */
import type { DirectoryRead } from "../directory-read.js";
import type { GoogleUser } from "./google-user.js";

export interface GoogleScopeSettings {
  domain?: string;
  /** As configured: paths starting with "/", "/" being everyone. */
  orgUnits?: string[];
  query?: string;
}

export interface GoogleScopeListings {
  /** Ids the query admits (what was read of them, if the listing failed). */
  queried?: Set<string>;
  /** Every OU path of the account; undefined when the OU listing failed or was not needed. */
  orgUnits?: string[];
}

/** The ids of the users admitted, or undefined when no such setting is given. */
export function googleSourceScope(users: GoogleUser[], settings: GoogleScopeSettings, listings: GoogleScopeListings, read: DirectoryRead): string[] | undefined {
  const wantedUnits = settings.orgUnits ?? [];
  if (!settings.domain && wantedUnits.length === 0 && !settings.query) return undefined;

  const units = wantedUnits.length > 0 ? resolveUnits(wantedUnits, listings.orgUnits, read) : undefined;
  const inUnit = (path: string | undefined): boolean => {
    if (!units) return true;
    const p = (path ?? "/").toLowerCase();
    return units.some((unit) => unit === "/" || p === unit || p.startsWith(`${unit}/`));
  };
  const domain = settings.domain ? `@${settings.domain.toLowerCase()}` : undefined;
  const inDomain = (u: GoogleUser): boolean => !domain || u.primaryEmail.toLowerCase().endsWith(domain);

  if (domain && users.length > 0 && !users.some(inDomain)) {
    read.incomplete("source.domain", `no user of the account has a primary email in ${settings.domain}; check source.domain`);
  }
  if (settings.query && listings.queried?.size === 0 && users.length > 0 && read.complete) {
    read.incomplete("scope.query", `${JSON.stringify(settings.query)} matches no user; check scope.query`);
  }
  return users.filter((u) => inDomain(u) && inUnit(u.orgUnitPath) && (!listings.queried || listings.queried.has(u.id))).map((u) => u.id);
}

/**
 * The configured OUs as the account spells them, lower-cased for matching. Paths are matched
 * case aside, as the Admin console does. An OU the account does not have would put everyone
 * in it out of scope: it is reported and stops deprovisioning until it is fixed. When the OU
 * listing failed (the read is incomplete already), the paths are taken as written.
 */
function resolveUnits(wanted: string[], existing: string[] | undefined, read: DirectoryRead): string[] {
  const known = new Map((existing ?? wanted).map((p) => [p.toLowerCase(), p]));
  known.set("/", "/");
  const units: string[] = [];
  for (const path of wanted) {
    const found = known.get(path.toLowerCase());
    if (found) units.push(found.toLowerCase());
    else read.incomplete("scope.orgUnits", `organizational unit ${path} does not exist in the directory; fix scope.orgUnits`);
  }
  return units;
}
