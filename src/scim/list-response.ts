import { z } from "zod";
import { TargetError } from "../errors.js";

/** RFC 7644 §3.4.2 ListResponse, as far as paging needs it. */
const listResponseSchema = z.looseObject({
  totalResults: z.number().int().nonnegative(),
  // Absent when a page is empty: RFC 7644 only requires Resources when totalResults is non-zero.
  Resources: z.array(z.unknown()).optional(),
});

export interface ListPage {
  totalResults: number;
  resources: unknown[];
}

/** Throws TargetError when `json` is not a ListResponse. `request` is `GET /Users`, for the message. */
export function toListPage(request: string, json: unknown): ListPage {
  const parsed = listResponseSchema.safeParse(json);
  if (!parsed.success) {
    const problem = parsed.error.issues[0];
    const where = problem && problem.path.length > 0 ? ` (${problem.path.join(".")}: ${problem.message})` : "";
    throw new TargetError(`${request}: target did not answer with a SCIM ListResponse${where}`, {});
  }
  return { totalResults: parsed.data.totalResults, resources: parsed.data.Resources ?? [] };
}
