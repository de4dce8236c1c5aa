import { randomUUID } from "node:crypto";

/**
 * The sandbox's in-memory storage of Users and Groups. It knows nothing about scimmy or HTTP:
 * it owns ids, meta, uniqueness, membership integrity and derived attributes (a user's
 * `groups`, a member's `display`). Attribute validation is scimmy's job before data gets here.
 */

export type ResourceType = "User" | "Group";

export interface ResourceMeta {
  resourceType: ResourceType;
  created: string;
  lastModified: string;
  /** A weak ETag that changes whenever the stored attributes change. */
  version: string;
}

/** A resource as stored: the client's attributes plus `id` and `meta` (never `schemas`). */
export interface StoredResource {
  id: string;
  meta: ResourceMeta;
  [attribute: string]: unknown;
}

/** Everything the store holds; the shape of the data file. */
export interface StoreSnapshot {
  users: StoredResource[];
  groups: StoredResource[];
}

/** A refusal the HTTP layer turns into a SCIM error response. */
export class StoreError extends Error {
  readonly status: 400 | 404 | 409;
  readonly scimType?: "uniqueness" | "invalidValue";
  constructor(status: 400 | 404 | 409, scimType: "uniqueness" | "invalidValue" | undefined, message: string) {
    super(message);
    this.name = "StoreError";
    this.status = status;
    this.scimType = scimType;
  }
}

export interface StoreOptions {
  initial?: StoreSnapshot;
  now?: () => Date;
  newId?: () => string;
  /** Called after every change with the whole new state (the data file writer). */
  onChange?: (snapshot: StoreSnapshot) => void;
}

type Attributes = Record<string, unknown>;

interface Member {
  value: string;
  type: ResourceType;
}

/** Attributes the store owns or derives; whatever a client sends for them is dropped. */
const SERVER_KEYS = new Set(["id", "meta", "schemas", "groups"]);

function nextVersion(previous: string | undefined): string {
  const n = Number(/(\d+)/.exec(previous ?? "")?.[1] ?? 0);
  return `W/"${n + 1}"`;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Multi-valued attributes whose elements mean nothing without a `value` (RFC 7643 §4.1.2). */
const VALUE_LISTS = new Set(["emails", "phonenumbers", "ims", "photos", "entitlements", "roles", "x509certificates", "members"]);

function isPlainObject(value: unknown): value is Attributes {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Removes what PATCH removals leave behind in scimmy's output: null or undefined values, empty
 * objects (`name: {}` after removing `name.givenName`), empty lists, and list elements without
 * a value (`emails[type eq "work"].value` removed), so stored data never differs from
 * "attribute absent" in form only.
 */
function prune(value: unknown, key: string): unknown {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) {
    const items = value
      .map((item) => prune(item, ""))
      .filter((item) => item !== undefined && !(VALUE_LISTS.has(key.toLowerCase()) && isPlainObject(item) && item.value === undefined));
    return items.length > 0 ? items : undefined;
  }
  if (isPlainObject(value)) {
    const out: Attributes = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = prune(v, k);
      if (kept !== undefined) out[k] = kept;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return value;
}

/** The client-owned attributes of `data`: server-owned keys dropped, leftovers pruned. */
function clientAttributes(data: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(data)) {
    if (SERVER_KEYS.has(key.toLowerCase())) continue;
    const kept = prune(value, key);
    if (kept !== undefined) out[key] = kept;
  }
  return out;
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class SandboxStore {
  private readonly users = new Map<string, StoredResource>();
  private readonly groups = new Map<string, StoredResource>();
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly onChange?: (snapshot: StoreSnapshot) => void;

  constructor(options: StoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.onChange = options.onChange;
    for (const user of options.initial?.users ?? []) this.users.set(user.id, structuredClone(user));
    for (const group of options.initial?.groups ?? []) this.groups.set(group.id, structuredClone(group));
  }

  snapshot(): StoreSnapshot {
    return { users: [...this.users.values()].map((u) => structuredClone(u)), groups: [...this.groups.values()].map((g) => structuredClone(g)) };
  }

  clear(): void {
    this.users.clear();
    this.groups.clear();
    this.changed();
  }

  // ---- Users ----

  /** The user with its derived `groups`, or undefined. */
  readUser(id: string): StoredResource | undefined {
    const user = this.users.get(id);
    return user && this.withGroups(user, this.groupsByMember());
  }

  listUsers(): StoredResource[] {
    const index = this.groupsByMember();
    return [...this.users.values()].map((u) => this.withGroups(u, index));
  }

  createUser(data: Attributes): StoredResource {
    const attributes = clientAttributes(data);
    this.assertUniqueUserName(attributes, undefined);
    const user = this.stamp(this.newId(), attributes, "User", undefined);
    this.users.set(user.id, user);
    this.changed();
    return this.readUser(user.id)!;
  }

  /** PUT semantics: the new attributes replace the old ones (PATCH arrives here fully applied). */
  replaceUser(id: string, data: Attributes): StoredResource {
    const existing = this.users.get(id);
    if (!existing) throw new StoreError(404, undefined, `Resource ${id} not found`);
    const attributes = clientAttributes(data);
    this.assertUniqueUserName(attributes, id);
    if (!sameAttributes(attributes, clientAttributes(existing))) {
      this.users.set(id, this.stamp(id, attributes, "User", existing.meta));
      this.changed();
    }
    return this.readUser(id)!;
  }

  /** Also removes the user from every group it belongs to. */
  deleteUser(id: string): void {
    if (!this.users.delete(id)) throw new StoreError(404, undefined, `Resource ${id} not found`);
    this.dropMember(id);
    this.changed();
  }

  // ---- Groups ----

  readGroup(id: string): StoredResource | undefined {
    const group = this.groups.get(id);
    return group && this.withMemberDetails(group);
  }

  listGroups(): StoredResource[] {
    return [...this.groups.values()].map((g) => this.withMemberDetails(g));
  }

  createGroup(data: Attributes): StoredResource {
    const attributes = this.groupAttributes(data, undefined);
    const group = this.stamp(this.newId(), attributes, "Group", undefined);
    this.groups.set(group.id, group);
    this.changed();
    return this.readGroup(group.id)!;
  }

  replaceGroup(id: string, data: Attributes): StoredResource {
    const existing = this.groups.get(id);
    if (!existing) throw new StoreError(404, undefined, `Resource ${id} not found`);
    const attributes = this.groupAttributes(data, id);
    if (!sameAttributes(attributes, clientAttributes(existing))) {
      this.groups.set(id, this.stamp(id, attributes, "Group", existing.meta));
      this.changed();
    }
    return this.readGroup(id)!;
  }

  deleteGroup(id: string): void {
    if (!this.groups.delete(id)) throw new StoreError(404, undefined, `Resource ${id} not found`);
    this.dropMember(id);
    this.changed();
  }

  // ---- internals ----

  private changed(): void {
    this.onChange?.(this.snapshot());
  }

  private stamp(id: string, attributes: Attributes, resourceType: ResourceType, previous: ResourceMeta | undefined): StoredResource {
    const now = this.now().toISOString();
    const meta: ResourceMeta = { resourceType, created: previous?.created ?? now, lastModified: now, version: nextVersion(previous?.version) };
    return { id, ...structuredClone(attributes), meta };
  }

  private assertUniqueUserName(attributes: Attributes, selfId: string | undefined): void {
    const userName = text(attributes.userName);
    if (userName === undefined || userName.trim() === "") throw new StoreError(400, "invalidValue", "userName must be a non-empty string");
    const key = userName.toLowerCase();
    for (const user of this.users.values()) {
      if (user.id !== selfId && text(user.userName)?.toLowerCase() === key) {
        throw new StoreError(409, "uniqueness", `userName "${userName}" is already taken by user ${user.id}`);
      }
    }
  }

  /**
   * Validates displayName uniqueness and members. scimmy accepts any member id and appends
   * duplicates on PATCH add; here members must exist and each appears once.
   */
  private groupAttributes(data: Attributes, selfId: string | undefined): Attributes {
    const attributes = clientAttributes(data);
    const displayName = text(attributes.displayName);
    if (displayName === undefined || displayName.trim() === "") throw new StoreError(400, "invalidValue", "displayName must be a non-empty string");
    const key = displayName.toLowerCase();
    for (const group of this.groups.values()) {
      if (group.id !== selfId && text(group.displayName)?.toLowerCase() === key) {
        throw new StoreError(409, "uniqueness", `displayName "${displayName}" is already taken by group ${group.id}`);
      }
    }
    const requested = Array.isArray(attributes.members) ? (attributes.members as unknown[]) : [];
    const members: Member[] = [];
    for (const entry of requested) {
      const value = text((entry as Attributes | null)?.value);
      if (value === undefined) throw new StoreError(400, "invalidValue", "every member needs a string value");
      if (members.some((m) => m.value === value)) continue;
      const type: ResourceType | undefined = this.users.has(value) ? "User" : this.groups.has(value) ? "Group" : undefined;
      if (!type) throw new StoreError(400, "invalidValue", `member ${value} is neither a user nor a group`);
      if (value === selfId) throw new StoreError(400, "invalidValue", "a group cannot be a member of itself");
      members.push({ value, type });
    }
    delete attributes.members;
    if (members.length > 0) attributes.members = members;
    return attributes;
  }

  private dropMember(id: string): void {
    for (const group of this.groups.values()) {
      const members = (group.members as Member[] | undefined) ?? [];
      if (!members.some((m) => m.value === id)) continue;
      const { members: _old, meta, ...rest } = group;
      const remaining = members.filter((m) => m.value !== id);
      const attributes: Attributes = remaining.length > 0 ? { ...rest, members: remaining } : rest;
      delete attributes.id;
      this.groups.set(group.id, this.stamp(group.id, attributes, "Group", meta));
    }
  }

  private groupsByMember(): Map<string, { value: string; display?: string; type: "direct" }[]> {
    const index = new Map<string, { value: string; display?: string; type: "direct" }[]>();
    for (const group of this.groups.values()) {
      for (const member of (group.members as Member[] | undefined) ?? []) {
        const list = index.get(member.value) ?? [];
        list.push({ value: group.id, display: text(group.displayName), type: "direct" });
        index.set(member.value, list);
      }
    }
    return index;
  }

  private withGroups(user: StoredResource, index: ReturnType<SandboxStore["groupsByMember"]>): StoredResource {
    const copy = structuredClone(user);
    const groups = index.get(user.id);
    if (groups) copy.groups = groups;
    return copy;
  }

  private withMemberDetails(group: StoredResource): StoredResource {
    const copy = structuredClone(group);
    const members = (group.members as Member[] | undefined) ?? [];
    if (members.length > 0) {
      copy.members = members.map((m) => {
        const target = m.type === "User" ? this.users.get(m.value) : this.groups.get(m.value);
        const display = m.type === "User" ? (text(target?.displayName) ?? text(target?.userName)) : text(target?.displayName);
        return display === undefined ? { value: m.value, type: m.type } : { value: m.value, display, type: m.type };
      });
    }
    return copy;
  }
}
