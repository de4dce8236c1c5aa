import { z } from "zod";
import type { TargetUser } from "../core/model.js";
import { parseResource } from "./resource-schema.js";

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
  const data = parseResource("User", userResourceSchema, resource);
  const { id, userName, externalId, active } = data;
  const isActive = active ?? true;
  // zod's output is already a copy of what was listed: kept as it is, not copied again (100,000 users).
  data.active = isActive;
  const user: TargetUser = { id, userName, active: isActive, resource: data };
  if (typeof externalId === "string") user.externalId = externalId;
  return user;
}
