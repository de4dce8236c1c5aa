/**
 * Walking the pages of a SCIM list (GET /Users, GET /Groups) into one complete listing. The
 * planner treats every resource it does not see as absent, so a listing that may be short is
 * an error, never a result.
 */
import { TargetError } from "../errors.js";
import type { ListPage } from "./list-response.js";

/**
 * Each page either adds a resource not seen before or ends the walk, so the walk is already
 * bounded by totalResults; this bound only guards against a target whose totalResults keeps
 * growing. 50,000 pages is 5 million resources at the default page size.
 */
export const MAX_LIST_PAGES = 50_000;

const RETRY_HINT = "run again; if it persists, the target's paging is broken (try a different target.pageSize)";

export interface ListingSpec<T extends { id: string }> {
  /** Fetches the page that starts at `startIndex` (1-based). */
  fetchPage: (startIndex: number) => Promise<ListPage>;
  /** Validates one listed resource; throws TargetError when it is unusable. */
  toItem: (resource: unknown) => T;
  /** Plural noun for messages: `users`, `groups`. */
  noun: string;
}

/**
 * Follows `startIndex` by the number of resources each page actually held, since targets may
 * return fewer than `count`. Stops when the distinct resources collected reach the latest
 * totalResults. Repeated ids are dropped (unstable order without sortBy); a page that brings
 * nothing new before the end means the target went back to an earlier page, and an empty page
 * before the end means totalResults promised resources the target never returned: both throw.
 */
export async function collectListing<T extends { id: string }>({ fetchPage, toItem, noun }: ListingSpec<T>): Promise<T[]> {
  const items = new Map<string, T>();
  let startIndex = 1;
  for (let page = 1; page <= MAX_LIST_PAGES; page++) {
    const { totalResults, resources } = await fetchPage(startIndex);
    if (resources.length === 0) {
      if (items.size < totalResults) {
        throw new TargetError(
          `target listing is incomplete: totalResults is ${totalResults} but the pages ended after ${items.size} ${noun}`,
          { hint: RETRY_HINT },
        );
      }
      return [...items.values()];
    }
    let fresh = 0;
    for (const resource of resources) {
      const item = toItem(resource);
      if (items.has(item.id)) continue;
      items.set(item.id, item);
      fresh++;
    }
    if (fresh === 0) {
      throw new TargetError(
        `target listing is inconsistent: the page at startIndex ${startIndex} only repeated ${noun} already listed ` +
          `(${items.size} of ${totalResults} so far)`,
        { hint: RETRY_HINT },
      );
    }
    // More than totalResults means the count is wrong (or resources were added meanwhile): keep
    // going until the target runs out rather than trust a number that already proved false.
    if (items.size === totalResults) return [...items.values()];
    startIndex += resources.length;
  }
  throw new TargetError(`target listing did not end after ${MAX_LIST_PAGES} pages`, { hint: RETRY_HINT });
}
