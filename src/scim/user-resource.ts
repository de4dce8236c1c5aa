import { z } from "zod";
import type { TargetUser } from "../core/model.js";
import { TargetError } from "../errors.js";

// Some targets serialise booleans as strings; refusing them would make every listing fail.
const activeFlag = z
  .union([z.boolean(), z.string().regex(/^(true|false)$/i)])
  .transform((v) => (typeof v === "boolean" ? v : v.toLowerCase() === "true"));

const userResourceSchema = z.looseObject({
  id: z.string().min(1),
  userName: z.string().min(1),
  externalId: z.string().nullish(),
  active: activeFlag.nullish(),
});

/**
 * Validates a User resource the target returned. `active` is true when absent (RFC 7643 leaves
 * its default to the provider; every target we know treats a missing flag as active).
 * Throws TargetError naming the attributes that are missing or malformed.
 */
export function toTargetUser(resource: unknown): TargetUser {
  if (typeof resource !== "object" || resource === null || Array.isArray(resource)) {
    throw new TargetError("target returned a User that is not a JSON object", {});
  }
  const parsed = userResourceSchema.safeParse(resource);
  if (!parsed.success) {
    const problems = [...new Set(parsed.error.issues.map((i) => describeIssue(resource as Record<string, unknown>, i)))];
    const id = (resource as Record<string, unknown>).id;
    // The id helps an administrator find the record; userName could be personal data, so it is left out.
    const which = typeof id === "string" && id !== "" ? ` (id ${id})` : "";
    throw new TargetError(`target returned a User${which} with ${problems.join(", ")}`, {});
  }
  const { id, userName, externalId, active } = parsed.data;
  const isActive = active ?? true;
  const user: TargetUser = { id, userName, active: isActive, resource: { ...parsed.data, active: isActive } };
  if (typeof externalId === "string") user.externalId = externalId;
  return user;
}

function describeIssue(resource: Record<string, unknown>, issue: z.core.$ZodIssue): string {
  const key = String(issue.path[0] ?? "resource");
  return resource[key] === undefined ? `no ${key}` : `an invalid ${key}`;
}
