/**
 * The directory as the Microsoft source last read it, kept in the state file between runs with
 * the delta links that continue from it. A run reads only what changed since (Graph delta
 * queries) and applies it here; the planner still sees the whole directory.
 *
 * It holds no more than the directory: a removed user or group, or a removed member, is
 * dropped, and each delta link replaces the last, so it never grows beyond the tenant's size.
 */
import { z } from "zod";
import type { SourceCache } from "../../core/ports.js";

export const CACHE_KIND = "microsoft";

const isoTime = z.iso.datetime({ offset: true });

const cachedGroup = z.object({
  displayName: z.string().nullish(),
  mail: z.string().nullish(),
  description: z.string().nullish(),
  visibility: z.string().nullish(),
  /** Direct members: user and group object ids. */
  members: z.array(z.string()),
});
export type CachedGroup = z.output<typeof cachedGroup>;

const cacheSchema = z.object({
  kind: z.literal(CACHE_KIND),
  version: z.literal(1),
  /**
   * What the cache was read for (tenant, Graph host, selected properties): a cache read for
   * anything else would be missing properties or hold another tenant, so it is read again.
   */
  key: z.string(),
  /** Each part with the delta link that continues it, and when its last full read began (the next is due `source.fullSyncEvery` later). */
  users: z.object({ deltaLink: z.string().min(1), fullReadAt: isoTime, records: z.record(z.string(), z.record(z.string(), z.unknown())) }),
  groups: z.object({ deltaLink: z.string().min(1), fullReadAt: isoTime, records: z.record(z.string(), cachedGroup) }).optional(),
});
export type GraphCache = z.output<typeof cacheSchema>;

export type UserRecords = GraphCache["users"]["records"];
export type GroupRecords = NonNullable<GraphCache["groups"]>["records"];

/** The cache in the state, if it is ours, well-formed and made for this `key`; otherwise why not. */
export function readCache(cache: SourceCache | undefined, key: string): { cache: GraphCache } | { why: string } {
  if (!cache) return { why: "no earlier read is recorded" };
  if (cache.kind !== CACHE_KIND) return { why: `the state holds what a ${cache.kind} source kept` };
  const parsed = cacheSchema.safeParse(cache);
  if (!parsed.success) return { why: "what the state holds of the last read is damaged" };
  if (parsed.data.key !== key) return { why: "the tenant, Graph URL or the attributes read have changed" };
  return { cache: parsed.data };
}

/** Properties Graph adds to every entry that are not the user's own. */
const NOT_A_PROPERTY = /^@odata\.|@delta$|^@removed$/;

/** A user from a listing or a full delta round: its properties, with the manager as `managerId`. */
export function userRecord(entry: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (NOT_A_PROPERTY.test(key) || key === "manager") continue;
    record[key] = value;
  }
  const manager = entry.manager as { id?: unknown } | null | undefined;
  if (manager && typeof manager.id === "string") record.managerId = manager.id;
  return record;
}

/** The entries of a delta page that change an object, by id; removed objects are dropped from `records` on the way. */
function* changed(records: Record<string, unknown>, entries: unknown[]): Generator<[string, Record<string, unknown>]> {
  for (const raw of entries) {
    const entry = raw as Record<string, unknown>;
    const id = typeof entry?.id === "string" ? entry.id : undefined;
    if (!id) continue;
    if (entry["@removed"] !== undefined) delete records[id];
    else yield [id, entry];
  }
}

/**
 * Applies one page of /users/delta to `records` (in place). A removed user (soft-deleted, in
 * deleted items, or gone for good) is dropped; a changed one has the properties sent merged
 * in, so a delta that sends only what changed loses nothing; `manager@delta` names the new
 * manager, or removes the old one.
 */
export function applyUserChanges(records: UserRecords, entries: unknown[]): void {
  for (const [id, entry] of changed(records, entries)) {
    const record = { ...(records[id] ?? {}), ...userRecord(entry) };
    const managerChanges = entry["manager@delta"];
    if (Array.isArray(managerChanges)) {
      for (const change of managerChanges as Record<string, unknown>[]) {
        if (typeof change?.id !== "string") continue;
        if (change["@removed"] !== undefined) {
          if (record.managerId === change.id) delete record.managerId;
        } else record.managerId = change.id;
      }
    }
    records[id] = record;
  }
}

/**
 * Applies one page of /groups/delta to `records` (in place). A group may come in several
 * entries (Graph splits large member lists); `members@delta` adds members, or removes those
 * marked `@removed`.
 */
export function applyGroupChanges(records: GroupRecords, entries: unknown[]): void {
  for (const [id, entry] of changed(records, entries)) {
    const group: CachedGroup = records[id] ?? { members: [] };
    for (const key of ["displayName", "mail", "description", "visibility"] as const) {
      if (Object.hasOwn(entry, key)) group[key] = typeof entry[key] === "string" ? (entry[key] as string) : null;
    }
    const changes = entry["members@delta"];
    if (Array.isArray(changes)) {
      const members = new Set(group.members);
      for (const change of changes as Record<string, unknown>[]) {
        if (typeof change?.id !== "string") continue;
        // Devices, contacts and service principals can be members too; only people and groups are provisioned.
        const type = change["@odata.type"];
        if (typeof type === "string" && type !== "#microsoft.graph.user" && type !== "#microsoft.graph.group") continue;
        if (change["@removed"] !== undefined) members.delete(change.id);
        else members.add(change.id);
      }
      group.members = [...members];
    }
    records[id] = group;
  }
}

/** A deep enough copy to apply changes to without touching the cache as read (a failed delta leaves it as it was). */
export function copyRecords<T extends Record<string, object>>(records: T): T {
  const out: Record<string, object> = {};
  for (const [id, record] of Object.entries(records)) out[id] = Array.isArray((record as CachedGroup).members) ? { ...record, members: [...(record as CachedGroup).members] } : { ...record };
  return out as T;
}
