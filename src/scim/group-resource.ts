import { z } from "zod";
import type { TargetGroup } from "../core/model.js";
import { parseResource } from "./resource-schema.js";

const groupResourceSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string().min(1),
  externalId: z.string().nullish(),
  // null is JSON's "unassigned" (RFC 7643 §2.5), the same as absent.
  members: z.array(z.unknown()).nullish(),
});

/**
 * Validates a Group resource the target returned. `members` holds the member ids (`value`s);
 * it is undefined when the resource had no members attribute, which is not the same as an
 * empty group: the group may have been listed without members, or the target never shows them.
 * Elements without a string `value` are skipped: they name no member we could manage.
 * Throws TargetError naming the attributes that are missing or malformed.
 */
export function toTargetGroup(resource: unknown): TargetGroup {
  const data = parseResource("Group", groupResourceSchema, resource);
  const { id, displayName, externalId, members } = data;
  const group: TargetGroup = { id, displayName, resource: data };
  if (typeof externalId === "string") group.externalId = externalId;
  if (members !== undefined && members !== null) group.members = members.flatMap(memberValue);
  return group;
}

function memberValue(member: unknown): string[] {
  const value = typeof member === "object" && member !== null ? (member as { value?: unknown }).value : undefined;
  return typeof value === "string" && value !== "" ? [value] : [];
}
