/**
 * Walking the pages of a SCIM list (GET /Users, GET /Groups) into one complete listing. The
 * planner treats every resource it does not see as absent, so a listing that may be short is
 * an error, never a result.
 */
import { TargetAuthError, TargetError } from "../errors.js";
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
  /** The `count` each page asks for. */
  pageSize: number;
}

/**
 * Follows `startIndex` by the number of resources each page actually held, since targets may
 * return fewer than `count`. Stops when the distinct resources collected reach the latest
 * totalResults. Repeated ids are dropped (unstable order without sortBy); a page that brings
 * nothing new before the end means the target went back to an earlier page, and an empty page
 * before the end means totalResults promised resources the target never returned: both throw.
 *
 * One exception to trusting totalResults: some targets report the size of the page in hand as
 * totalResults, so a first page that is full and claims exactly what it holds looks complete
 * while it may be one of many. Then one more page is read to confirm the end; that page may
 * come back empty, repeat page 1 (SCIMMY past the end) or be refused with a 400 or 404 (targets
 * that reject a startIndex past totalResults), and each of those confirms it.
 */
export async function collectListing<T extends { id: string }>({ fetchPage, toItem, noun, pageSize }: ListingSpec<T>): Promise<T[]> {
  const items = new Map<string, T>();
  let startIndex = 1;
  let confirming = false;
  for (let page = 1; page <= MAX_LIST_PAGES; page++) {
    let listed: ListPage;
    try {
      listed = await fetchPage(startIndex);
    } catch (error) {
      if (confirming && error instanceof TargetError && !(error instanceof TargetAuthError) && (error.status === 400 || error.status === 404)) {
        return [...items.values()];
      }
      throw error;
    }
    const { totalResults, resources } = listed;
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
      if (confirming) return [...items.values()];
      throw new TargetError(
        `target listing is inconsistent: the page at startIndex ${startIndex} only repeated ${noun} already listed ` +
          `(${items.size} of ${totalResults} so far)`,
        { hint: RETRY_HINT },
      );
    }
    confirming = page === 1 && resources.length >= pageSize && totalResults === resources.length;
    // More than totalResults means the count is wrong (or resources were added meanwhile): keep
    // going until the target runs out rather than trust a number that already proved false.
    if (items.size === totalResults && !confirming) return [...items.values()];
    startIndex += resources.length;
  }
  throw new TargetError(`target listing did not end after ${MAX_LIST_PAGES} pages`, { hint: RETRY_HINT });
}
