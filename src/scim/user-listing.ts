/**
 * Walking the pages of GET /Users into one complete listing. The planner treats every target
 * user it does not see as absent, so a listing that may be short is an error, never a result.
 */
import type { TargetUser } from "../core/model.js";
import { TargetError } from "../errors.js";
import type { ListPage } from "./list-response.js";
import { toTargetUser } from "./user-resource.js";

/**
 * Each page either adds a user not seen before or ends the walk, so the walk is already bounded
 * by totalResults; this bound only guards against a target whose totalResults keeps growing.
 * 50,000 pages is 5 million users at the default page size.
 */
export const MAX_LIST_PAGES = 50_000;

const RETRY_HINT = "run again; if it persists, the target's paging is broken (try a different target.pageSize)";

/**
 * Follows `startIndex` by the number of resources each page actually held, since targets may
 * return fewer than `count`. Stops when the distinct users collected reach the latest
 * totalResults. Repeated ids are dropped (unstable order without sortBy); a page that brings
 * nothing new before the end means the target went back to an earlier page, and an empty page
 * before the end means totalResults promised users the target never returned: both throw.
 */
export async function collectUsers(fetchPage: (startIndex: number) => Promise<ListPage>): Promise<TargetUser[]> {
  const users = new Map<string, TargetUser>();
  let startIndex = 1;
  for (let page = 1; page <= MAX_LIST_PAGES; page++) {
    const { totalResults, resources } = await fetchPage(startIndex);
    if (resources.length === 0) {
      if (users.size < totalResults) {
        throw new TargetError(
          `target listing is incomplete: totalResults is ${totalResults} but the pages ended after ${users.size} users`,
          { hint: RETRY_HINT },
        );
      }
      return [...users.values()];
    }
    let fresh = 0;
    for (const resource of resources) {
      const user = toTargetUser(resource);
      if (users.has(user.id)) continue;
      users.set(user.id, user);
      fresh++;
    }
    if (fresh === 0) {
      throw new TargetError(
        `target listing is inconsistent: the page at startIndex ${startIndex} only repeated users already listed ` +
          `(${users.size} of ${totalResults} so far)`,
        { hint: RETRY_HINT },
      );
    }
    // More than totalResults means the count is wrong (or users were added meanwhile): keep
    // going until the target runs out rather than trust a number that already proved false.
    if (users.size === totalResults) return [...users.values()];
    startIndex += resources.length;
  }
  throw new TargetError(`target listing did not end after ${MAX_LIST_PAGES} pages`, { hint: RETRY_HINT });
}
