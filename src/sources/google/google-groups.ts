/**
 * Groups and their direct members as the Directory API lists them, shaped into the source
 * model. Members outside the account (guests, groups of other organizations) are not
 * provisioned, as in Google's own provisioning: they are counted in one warning.
 */
import type { SourceGroup } from "../../core/model.js";
import type { DirectoryRead } from "../directory-read.js";
import { nonEmpty } from "../record-values.js";

/** How many external members a warning names before it just counts. */
const NAMED_EXTERNALS = 3;

export interface RawGroup {
  id?: string | null;
  email?: string | null;
  name?: string | null;
  description?: string | null;
}

export interface RawMember {
  id?: string | null;
  email?: string | null;
  type?: string | null;
}

/**
 * `members` holds the member lists read (by group id); a group without one was not needed, or
 * its read failed (`read.unreadGroups`). `accountUserIds` are every user of the account,
 * skipped ones included: a member not among them is a guest.
 */
export function toSourceGroups(raw: RawGroup[], members: Map<string, RawMember[]>, accountUserIds: Set<string>, read: DirectoryRead): SourceGroup[] {
  const groupIds = new Set(raw.map((g) => g.id).filter((id): id is string => typeof id === "string" && id !== ""));
  const externals = new Map<string, string>();
  const out = new Map<string, SourceGroup>();
  for (const [index, g] of raw.entries()) {
    if (typeof g.id !== "string" || g.id === "") {
      read.incomplete(`groups listing, record ${index + 1}`, "a group without an id");
      continue;
    }
    // A page served twice must not make two groups of one.
    if (out.has(g.id)) continue;
    const group: SourceGroup = { id: g.id, displayName: nonEmpty(g.name) ?? nonEmpty(g.email) ?? g.id, members: [] };
    const email = nonEmpty(g.email);
    if (email) group.email = email;
    const description = nonEmpty(g.description);
    if (description) group.description = description;
    const list = members.get(g.id);
    if (list === undefined) {
      // Not needed by the scope or provisionGroups: flagged, so the core never reads it as "no members".
      // A group whose read failed keeps an empty list; the read is incomplete, so nothing is removed.
      if (!read.unreadGroups.has(g.id)) group.membersRead = false;
    } else {
      const ids = new Set<string>();
      for (const m of list) {
        const id = typeof m.id === "string" && m.id !== "" ? m.id : undefined;
        if (m.type === "CUSTOMER") {
          // "Everyone in the organization" as one member.
          for (const userId of accountUserIds) ids.add(userId);
        } else if (id !== undefined && (m.type === "GROUP" ? groupIds.has(id) : accountUserIds.has(id))) {
          ids.add(id);
        } else {
          externals.set(id ?? m.email ?? "?", m.email ?? id ?? "?");
        }
      }
      group.members = [...ids];
    }
    out.set(g.id, group);
  }
  // When users could not all be read, a missing user is no proof of a guest.
  if (externals.size > 0 && read.complete) {
    const named = [...externals.values()].slice(0, NAMED_EXTERNALS).join(", ");
    read.warnings.push(
      `${externals.size} group member(s) are outside this Google Workspace account and are not provisioned: ${named}${externals.size > NAMED_EXTERNALS ? ", …" : ""}`,
    );
  }
  return [...out.values()];
}
