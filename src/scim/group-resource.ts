import { z } from "zod";
import type { TargetGroup } from "../core/model.js";
import { parseResource } from "./resource-schema.js";

const groupResourceSchema = z.looseObject({
  id: z.string().min(1),
  // displayName is read in toTargetGroup, not validated: one group without a usable name must not fail a whole listing.
  externalId: z.string().nullish(),
  // null is JSON's "unassigned" (RFC 7643 §2.5), the same as absent.
  members: z.array(z.unknown()).nullish(),
});

/**
 * Validates a Group resource the target returned. `members` holds the member ids (`value`s);
 * it is undefined when the resource had no members attribute, which is not the same as an
 * empty group: the group may have been listed without members, or the target never shows them.
 * Elements without a string `value` are skipped: they name no member we could manage.
 *
 * A group without a usable displayName (absent, not text, or blank) is read with displayName "",
 * which no directory group has: it is never matched by name, only by id or externalId. Failing
 * instead would stop every run, users included, over one odd group in the app. `resource` keeps
 * what the target sent, so a matched group still shows its displayName as a difference.
 * Throws TargetError naming the attributes that are missing or malformed; an id is required,
 * since a group without one could never be addressed.
 */
export function toTargetGroup(resource: unknown): TargetGroup {
  const data = parseResource("Group", groupResourceSchema, resource);
  const { id, externalId, members } = data;
  const displayName = typeof data.displayName === "string" && data.displayName.trim() !== "" ? data.displayName : "";
  const group: TargetGroup = { id, displayName, resource: data };
  if (typeof externalId === "string") group.externalId = externalId;
  if (members !== undefined && members !== null) group.members = members.flatMap(memberValue);
  return group;
}

function memberValue(member: unknown): string[] {
  const value = typeof member === "object" && member !== null ? (member as { value?: unknown }).value : undefined;
  return typeof value === "string" && value !== "" ? [value] : [];
}
