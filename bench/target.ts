/**
 * A lean in-memory SCIM 2.0 target for the benchmark: the product's sandbox (scimmy) spends
 * milliseconds of CPU per request and scans every user per list page, which would measure the
 * sandbox rather than scimsync.
 *
 * What it serves: /Users and /Groups (list with startIndex/count, `eq` filters on userName,
 * externalId and displayName, excludedAttributes=members; POST with a 409 on a taken userName or
 * group displayName; GET, PUT, PATCH per RFC 7644 §3.5.2 including `members[value eq "..."]`;
 * DELETE), and small /ServiceProviderConfig, /ResourceTypes and /Schemas documents. Every
 * request needs the bearer token.
 *
 * What it injects: a fixed latency before each answer (a timer, so waiting costs no CPU) and,
 * optionally, an enforced rate limit (a token bucket; beyond it a 429 with Retry-After). It
 * counts requests by method and route, 429s, the peak and average number of requests in
 * flight, and the busiest one-second window.
 *
 * Resources are kept as JSON text (users) or as a small object plus a member map (groups), so
 * that a list page is a concatenation of strings and 100,000 users cost little memory and GC.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const BASE_PATH = "/scim/v2";
const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const MAX_PAGE = 1000;
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

type Json = Record<string, unknown>;

export interface BenchTargetOptions {
  /** Milliseconds added before every answer. Default 0. */
  latencyMs?: number;
  /** Requests accepted per second; 0 = no limit. Default 0. */
  rateLimit?: number;
  /** Requests the bucket holds after an idle spell. Default: one second's worth (rateLimit). */
  burst?: number;
  /** Default: random. */
  token?: string;
}

export interface TargetCounters {
  total: number;
  /** POST, PUT, PATCH and DELETE requests received, refused ones included. */
  writes: number;
  /** "POST /Users", "GET /Users (list)", "PATCH /Groups/{id}", ... */
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  /** 429 answers sent. */
  tooManyRequests: number;
  /** performance.now() of the first and last request received; undefined before any. */
  firstAt: number | undefined;
  lastAt: number | undefined;
  peakInFlight: number;
  /** Requests in flight averaged over the time from the first arrival to the last answer. */
  averageInFlight: number;
  /** Most requests received within any one second. */
  busiestSecond: number;
}

export interface TargetContents {
  users: number;
  groups: number;
  memberships: number;
}

export interface BenchTarget {
  /** e.g. http://127.0.0.1:40123/scim/v2 */
  baseUrl: string;
  token: string;
  counters(): TargetCounters;
  resetCounters(): void;
  setLatency(ms: number): void;
  setRateLimit(perSecond: number, burst?: number): void;
  contents(): TargetContents;
  /** The member ids of the group with this displayName, for checks. */
  membersOf(displayName: string): string[] | undefined;
  /** Stores resources directly, as if POSTed (ids are kept when given). */
  preload(users: Json[], groups: Json[]): void;
  close(): Promise<void>;
}

class ScimFault extends Error {
  readonly status: number;
  readonly scimType: string | undefined;
  constructor(status: number, detail: string, scimType?: string) {
    super(detail);
    this.status = status;
    this.scimType = scimType;
  }
}

interface UserEntry {
  id: string;
  /** userName in lower case: SCIM compares userNames without regard to case. */
  userNameKey: string;
  externalId: string | undefined;
  json: string;
}

interface GroupEntry {
  id: string;
  displayNameKey: string;
  externalId: string | undefined;
  /** The group without members. */
  base: Json;
  members: Map<string, Json>;
  /** JSON of `base`, made on first listing. */
  baseJson: string | undefined;
}

/** A list ordered by insertion whose elements can be removed; paging reads it by position. */
class OrderedIds {
  #ids: string[] = [];
  #removed = 0;
  readonly #live = new Set<string>();
  add(id: string): void {
    this.#ids.push(id);
    this.#live.add(id);
  }
  remove(id: string): void {
    if (!this.#live.delete(id)) return;
    this.#removed++;
    // Compacting lazily keeps deletes O(1) amortised; pages read after a compaction.
    if (this.#removed > 1000 && this.#removed > this.#ids.length / 4) this.#compact();
  }
  get size(): number {
    return this.#live.size;
  }
  /** `count` live ids from the 0-based live position `start`. */
  slice(start: number, count: number): string[] {
    if (this.#removed > 0) this.#compact();
    return this.#ids.slice(start, start + count);
  }
  #compact(): void {
    this.#ids = this.#ids.filter((id) => this.#live.has(id));
    this.#removed = 0;
  }
}

class TokenBucket {
  readonly #perMs: number;
  readonly #capacity: number;
  #tokens: number;
  #at: number;
  constructor(perSecond: number, burst: number) {
    this.#perMs = perSecond / 1000;
    this.#capacity = Math.max(1, burst);
    this.#tokens = this.#capacity;
    this.#at = performance.now();
  }
  /** 0 when the request may go ahead, else the milliseconds until a token is free. */
  take(now: number): number {
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return (1 - this.#tokens) / this.#perMs;
  }
}

class Store {
  readonly users = new Map<string, UserEntry>();
  readonly userOrder = new OrderedIds();
  readonly usersByName = new Map<string, string>();
  readonly usersByExternalId = new Map<string, string>();
  readonly groups = new Map<string, GroupEntry>();
  readonly groupOrder = new OrderedIds();
  readonly groupsByName = new Map<string, string>();
  readonly groupsByExternalId = new Map<string, string>();
  readonly baseUrl: () => string;

  constructor(baseUrl: () => string) {
    this.baseUrl = baseUrl;
  }

  // ---- users ----

  createUser(body: Json, id: string = randomUUID()): UserEntry {
    const resource = this.#userResource(body, id, undefined);
    const entry = this.#userEntry(resource);
    if (this.usersByName.has(entry.userNameKey)) throw new ScimFault(409, `userName ${String(resource.userName)} is taken`, "uniqueness");
    this.users.set(id, entry);
    this.userOrder.add(id);
    this.#indexUser(entry);
    return entry;
  }

  getUser(id: string): UserEntry {
    const entry = this.users.get(id);
    if (!entry) throw new ScimFault(404, `no user ${id}`);
    return entry;
  }

  replaceUser(id: string, body: Json): string {
    const old = this.getUser(id);
    const created = (JSON.parse(old.json) as { meta?: { created?: string } }).meta?.created;
    return this.#storeUser(old, this.#userResource(body, id, created));
  }

  patchUser(id: string, operations: unknown): string {
    const old = this.getUser(id);
    const resource = JSON.parse(old.json) as Json;
    for (const op of readOperations(operations)) applyOperation(resource, op);
    normaliseActive(resource);
    return this.#storeUser(old, this.#userResource(resource, id, (resource.meta as { created?: string } | undefined)?.created));
  }

  deleteUser(id: string): void {
    const entry = this.getUser(id);
    this.users.delete(id);
    this.userOrder.remove(id);
    this.#unindexUser(entry);
    for (const group of this.groups.values()) if (group.members.delete(id)) group.baseJson = undefined;
  }

  #storeUser(old: UserEntry, resource: Json): string {
    const entry = this.#userEntry(resource);
    const holder = this.usersByName.get(entry.userNameKey);
    if (holder !== undefined && holder !== old.id) throw new ScimFault(409, `userName ${String(resource.userName)} is taken`, "uniqueness");
    this.#unindexUser(old);
    this.users.set(old.id, entry);
    this.#indexUser(entry);
    return entry.json;
  }

  #userResource(body: Json, id: string, created: string | undefined): Json {
    if (typeof body.userName !== "string" || body.userName.trim() === "") throw new ScimFault(400, "userName is required", "invalidValue");
    const now = new Date().toISOString();
    const { id: _id, meta: _meta, schemas, ...rest } = body;
    normaliseActive(rest);
    return {
      schemas: Array.isArray(schemas) && schemas.length > 0 ? schemas : [USER_SCHEMA],
      id,
      ...rest,
      meta: { resourceType: "User", created: created ?? now, lastModified: now, location: `${this.baseUrl()}/Users/${id}` },
    };
  }

  #userEntry(resource: Json): UserEntry {
    const id = resource.id as string;
    const externalId = typeof resource.externalId === "string" ? resource.externalId : undefined;
    return { id, userNameKey: (resource.userName as string).toLowerCase(), externalId, json: JSON.stringify(resource) };
  }

  #indexUser(entry: UserEntry): void {
    this.usersByName.set(entry.userNameKey, entry.id);
    if (entry.externalId !== undefined) this.usersByExternalId.set(entry.externalId, entry.id);
  }

  #unindexUser(entry: UserEntry): void {
    if (this.usersByName.get(entry.userNameKey) === entry.id) this.usersByName.delete(entry.userNameKey);
    if (entry.externalId !== undefined && this.usersByExternalId.get(entry.externalId) === entry.id) this.usersByExternalId.delete(entry.externalId);
  }

  // ---- groups ----

  createGroup(body: Json, id: string = randomUUID()): GroupEntry {
    const entry = this.#groupEntry(body, id, undefined);
    if (this.groupsByName.has(entry.displayNameKey)) throw new ScimFault(409, `displayName ${String(entry.base.displayName)} is taken`, "uniqueness");
    this.groups.set(id, entry);
    this.groupOrder.add(id);
    this.#indexGroup(entry);
    return entry;
  }

  getGroup(id: string): GroupEntry {
    const entry = this.groups.get(id);
    if (!entry) throw new ScimFault(404, `no group ${id}`);
    return entry;
  }

  replaceGroup(id: string, body: Json): string {
    const old = this.getGroup(id);
    return this.#storeGroup(old, this.#groupEntry(body, id, (old.base.meta as { created?: string }).created));
  }

  patchGroup(id: string, operations: unknown): void {
    const old = this.getGroup(id);
    const base = structuredClone(old.base);
    const members = new Map(old.members);
    for (const op of readOperations(operations)) {
      const rest = applyMemberOperation(members, op);
      if (rest) applyOperation(base, rest);
    }
    const entry = this.#groupEntry(base, id, (old.base.meta as { created?: string }).created);
    entry.members = members;
    this.#storeGroup(old, entry);
  }

  deleteGroup(id: string): void {
    const entry = this.getGroup(id);
    this.groups.delete(id);
    this.groupOrder.remove(id);
    this.#unindexGroup(entry);
  }

  #storeGroup(old: GroupEntry, entry: GroupEntry): string {
    const holder = this.groupsByName.get(entry.displayNameKey);
    if (holder !== undefined && holder !== old.id) throw new ScimFault(409, `displayName ${String(entry.base.displayName)} is taken`, "uniqueness");
    this.#unindexGroup(old);
    this.groups.set(old.id, entry);
    this.#indexGroup(entry);
    return groupJson(entry, true);
  }

  #groupEntry(body: Json, id: string, created: string | undefined): GroupEntry {
    if (typeof body.displayName !== "string" || body.displayName.trim() === "") throw new ScimFault(400, "displayName is required", "invalidValue");
    const now = new Date().toISOString();
    const { id: _id, meta: _meta, schemas, members, ...rest } = body;
    const base: Json = {
      schemas: Array.isArray(schemas) && schemas.length > 0 ? schemas : [GROUP_SCHEMA],
      id,
      ...rest,
      meta: { resourceType: "Group", created: created ?? now, lastModified: now, location: `${this.baseUrl()}/Groups/${id}` },
    };
    const map = new Map<string, Json>();
    for (const member of Array.isArray(members) ? members : []) addMember(map, member);
    const externalId = typeof base.externalId === "string" ? base.externalId : undefined;
    return { id, displayNameKey: (base.displayName as string).toLowerCase(), externalId, base, members: map, baseJson: undefined };
  }

  #indexGroup(entry: GroupEntry): void {
    this.groupsByName.set(entry.displayNameKey, entry.id);
    if (entry.externalId !== undefined) this.groupsByExternalId.set(entry.externalId, entry.id);
  }

  #unindexGroup(entry: GroupEntry): void {
    if (this.groupsByName.get(entry.displayNameKey) === entry.id) this.groupsByName.delete(entry.displayNameKey);
    if (entry.externalId !== undefined && this.groupsByExternalId.get(entry.externalId) === entry.id) this.groupsByExternalId.delete(entry.externalId);
  }
}

function groupJson(entry: GroupEntry, withMembers: boolean): string {
  if (!withMembers) return (entry.baseJson ??= JSON.stringify(entry.base));
  const { meta, ...rest } = entry.base;
  return JSON.stringify({ ...rest, members: [...entry.members.values()], meta });
}

function addMember(members: Map<string, Json>, member: unknown): void {
  if (typeof member !== "object" || member === null || typeof (member as Json).value !== "string") {
    throw new ScimFault(400, "a member needs a value", "invalidValue");
  }
  const value = (member as Json).value as string;
  if (!members.has(value)) members.set(value, { value });
}

/** `active` sent as "True"/"False" (Entra's old dialect) is stored as a boolean, as targets do. */
function normaliseActive(resource: Json): void {
  const key = findKey(resource, "active");
  const value = key === undefined ? undefined : resource[key];
  if (key !== undefined && typeof value === "string" && /^(true|false)$/i.test(value)) resource[key] = value.toLowerCase() === "true";
}

// ---- PATCH (RFC 7644 §3.5.2) ----

interface Operation {
  op: "add" | "replace" | "remove";
  path: string | undefined;
  value: unknown;
}

function readOperations(body: unknown): Operation[] {
  const json = body as Json | undefined;
  const schemas = json?.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_SCHEMA)) throw new ScimFault(400, "a PATCH needs the PatchOp schema", "invalidSyntax");
  const list = json!.Operations;
  if (!Array.isArray(list)) throw new ScimFault(400, "a PATCH needs Operations", "invalidSyntax");
  return list.map((raw: unknown) => {
    const o = raw as Json;
    const op = typeof o.op === "string" ? o.op.toLowerCase() : "";
    if (op !== "add" && op !== "replace" && op !== "remove") throw new ScimFault(400, `unknown op ${String(o.op)}`, "invalidSyntax");
    const path = typeof o.path === "string" && o.path.trim() !== "" ? o.path.trim() : undefined;
    if (op === "remove" && path === undefined) throw new ScimFault(400, "remove needs a path", "noTarget");
    return { op, path, value: o.value };
  });
}

interface ParsedPath {
  /** The extension schema URN the attribute lives under, if any. */
  schema: string | undefined;
  attribute: string;
  filter: { attribute: string; value: unknown } | undefined;
  subAttribute: string | undefined;
}

const PATH = /^([A-Za-z][\w$-]*)(?:\[\s*([A-Za-z][\w$.-]*)\s+eq\s+("(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)\s*\])?(?:\.([A-Za-z][\w$-]*))?$/i;

function parsePath(path: string): ParsedPath {
  let schema: string | undefined;
  let rest = path;
  if (/^urn:/i.test(path)) {
    // The attribute follows the schema URN's last colon; the URN itself may contain dots (2.0).
    const bracket = path.indexOf("[");
    const head = bracket === -1 ? path : path.slice(0, bracket);
    const colon = head.lastIndexOf(":");
    schema = path.slice(0, colon);
    rest = path.slice(colon + 1);
  }
  const match = PATH.exec(rest);
  if (!match) throw new ScimFault(400, `cannot read the path ${path}`, "invalidPath");
  const filter = match[2] === undefined ? undefined : { attribute: match[2], value: JSON.parse(match[3]!) as unknown };
  return { schema, attribute: match[1]!, filter, subAttribute: match[4] };
}

/** The key of `object` that names `name`, compared without regard to case as SCIM attribute names are. */
function findKey(object: Json, name: string): string | undefined {
  if (name in object) return name;
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function container(resource: Json, schema: string | undefined, create: boolean): Json | undefined {
  if (schema === undefined) return resource;
  const key = findKey(resource, schema) ?? schema;
  let inner = resource[key];
  if (!isObject(inner)) {
    if (!create) return undefined;
    inner = {};
    resource[key] = inner;
    const schemas = resource.schemas;
    if (Array.isArray(schemas) && !schemas.includes(schema)) schemas.push(schema);
  }
  return inner as Json;
}

function matches(element: unknown, filter: NonNullable<ParsedPath["filter"]>): boolean {
  if (!isObject(element)) return false;
  const key = findKey(element, filter.attribute);
  const actual = key === undefined ? undefined : element[key];
  if (typeof actual === "string" && typeof filter.value === "string") return actual.toLowerCase() === filter.value.toLowerCase();
  return actual === filter.value;
}

function applyOperation(resource: Json, op: Operation): void {
  if (op.path === undefined) {
    // No path: the value is an object of attributes to add or replace.
    if (!isObject(op.value)) throw new ScimFault(400, `${op.op} without a path needs an object value`, "invalidValue");
    for (const [name, value] of Object.entries(op.value)) {
      if (/^urn:/i.test(name) && isObject(value)) {
        const inner = container(resource, name, true)!;
        for (const [k, v] of Object.entries(value)) setAttribute(inner, k, v, op.op === "add");
      } else {
        setAttribute(resource, name, value, op.op === "add");
      }
    }
    return;
  }
  const path = parsePath(op.path);
  const target = container(resource, path.schema, op.op !== "remove");
  if (!target) return;
  const key = findKey(target, path.attribute) ?? path.attribute;
  if (path.filter) {
    const list = Array.isArray(target[key]) ? (target[key] as unknown[]) : [];
    const hits = list.filter((e) => matches(e, path.filter!));
    if (op.op === "remove") {
      if (path.subAttribute === undefined) target[key] = list.filter((e) => !hits.includes(e));
      else for (const hit of hits as Json[]) delete hit[findKey(hit, path.subAttribute) ?? path.subAttribute];
      if ((target[key] as unknown[]).length === 0) delete target[key];
      return;
    }
    if (hits.length === 0) {
      // Lenient, as many targets are: a filtered path that matches nothing creates the element.
      const fresh: Json = { [path.filter.attribute]: path.filter.value };
      if (path.subAttribute === undefined && isObject(op.value)) Object.assign(fresh, op.value);
      else fresh[path.subAttribute ?? "value"] = op.value;
      target[key] = [...list, fresh];
      return;
    }
    for (const hit of hits as Json[]) {
      if (path.subAttribute === undefined) {
        if (isObject(op.value)) Object.assign(hit, op.value);
      } else {
        hit[findKey(hit, path.subAttribute) ?? path.subAttribute] = op.value;
      }
    }
    return;
  }
  if (path.subAttribute !== undefined) {
    let complex = target[key];
    if (op.op === "remove") {
      if (isObject(complex)) delete complex[findKey(complex, path.subAttribute) ?? path.subAttribute];
      return;
    }
    if (!isObject(complex)) {
      complex = {};
      target[key] = complex;
    }
    (complex as Json)[findKey(complex as Json, path.subAttribute) ?? path.subAttribute] = op.value;
    return;
  }
  if (op.op === "remove") {
    delete target[key];
    return;
  }
  setAttribute(target, key, op.value, op.op === "add");
}

/** add appends to a multi-valued attribute and merges into a complex one; replace overwrites. */
function setAttribute(target: Json, name: string, value: unknown, add: boolean): void {
  const key = findKey(target, name) ?? name;
  const current = target[key];
  if (add && Array.isArray(current) && Array.isArray(value)) {
    target[key] = [...current, ...value.filter((v) => !current.some((c) => JSON.stringify(c) === JSON.stringify(v)))];
  } else if (add && isObject(current) && isObject(value)) {
    Object.assign(current, value);
  } else {
    target[key] = value;
  }
}

/**
 * Applies what `op` says about the group's members to `members`; returns what is left of it for
 * the group's other attributes (the whole op when it is not about members), or undefined.
 */
function applyMemberOperation(members: Map<string, Json>, op: Operation): Operation | undefined {
  if (op.path === undefined) {
    if (!isObject(op.value)) return op;
    const key = findKey(op.value, "members");
    if (key === undefined) return op;
    const { [key]: list, ...rest } = op.value;
    if (op.op === "replace") members.clear();
    for (const member of Array.isArray(list) ? list : []) addMember(members, member);
    // The rest of the value (a displayName, say) still applies to the group itself.
    return Object.keys(rest).length === 0 ? undefined : { ...op, value: rest };
  }
  const path = parsePath(op.path);
  if (path.schema !== undefined || path.attribute.toLowerCase() !== "members") return op;
  if (path.filter) {
    if (op.op !== "remove" || path.filter.attribute.toLowerCase() !== "value" || typeof path.filter.value !== "string") {
      throw new ScimFault(400, `unsupported member operation ${op.op} ${op.path}`, "invalidPath");
    }
    members.delete(path.filter.value);
    return undefined;
  }
  const list = Array.isArray(op.value) ? op.value : op.value === undefined ? undefined : [op.value];
  if (op.op === "remove") {
    if (list === undefined) members.clear();
    else for (const member of list) if (isObject(member) && typeof member.value === "string") members.delete(member.value);
    return undefined;
  }
  if (op.op === "replace") members.clear();
  for (const member of list ?? []) addMember(members, member);
  return undefined;
}

// ---- listing and filters ----

const FILTER = /^\s*([A-Za-z][\w.]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

function readFilter(filter: string, allowed: readonly string[]): { attribute: string; value: string } {
  const match = FILTER.exec(filter);
  const attribute = match?.[1] ? allowed.find((a) => a.toLowerCase() === match[1]!.toLowerCase()) : undefined;
  if (!match || attribute === undefined) throw new ScimFault(400, `unsupported filter ${filter} (only ${allowed.join(", ")} eq "...")`, "invalidFilter");
  return { attribute, value: JSON.parse(`"${match[2]!}"`) as string };
}

function listBody(totalResults: number, startIndex: number, items: string[]): string {
  return `{"schemas":["${LIST_SCHEMA}"],"totalResults":${totalResults},"startIndex":${startIndex},"itemsPerPage":${items.length},"Resources":[${items.join(",")}]}`;
}

function pageOf(query: URLSearchParams): { start: number; count: number } {
  const startIndex = Math.max(1, Number.parseInt(query.get("startIndex") ?? "1", 10) || 1);
  const raw = query.get("count");
  const count = raw === null ? 100 : Math.min(MAX_PAGE, Math.max(0, Number.parseInt(raw, 10) || 0));
  return { start: startIndex, count };
}

function listUsers(store: Store, query: URLSearchParams): string {
  const { start, count } = pageOf(query);
  const filter = query.get("filter");
  if (filter !== null) {
    const { attribute, value } = readFilter(filter, ["userName", "externalId"]);
    const id = attribute === "userName" ? store.usersByName.get(value.toLowerCase()) : store.usersByExternalId.get(value);
    const found = id === undefined ? [] : [store.users.get(id)!.json];
    return listBody(found.length, start, found.slice(start - 1, start - 1 + count));
  }
  const ids = store.userOrder.slice(start - 1, count);
  return listBody(store.userOrder.size, start, ids.map((id) => store.users.get(id)!.json));
}

function listGroups(store: Store, query: URLSearchParams): string {
  const { start, count } = pageOf(query);
  const withMembers = !(query.get("excludedAttributes") ?? "").split(",").some((a) => a.trim().toLowerCase() === "members");
  const filter = query.get("filter");
  if (filter !== null) {
    const { attribute, value } = readFilter(filter, ["displayName", "externalId"]);
    const id = attribute === "displayName" ? store.groupsByName.get(value.toLowerCase()) : store.groupsByExternalId.get(value);
    const found = id === undefined ? [] : [groupJson(store.groups.get(id)!, withMembers)];
    return listBody(found.length, start, found.slice(start - 1, start - 1 + count));
  }
  const ids = store.groupOrder.slice(start - 1, count);
  return listBody(store.groupOrder.size, start, ids.map((id) => groupJson(store.groups.get(id)!, withMembers)));
}

const SERVICE_PROVIDER_CONFIG = JSON.stringify({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: MAX_PAGE },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: false },
  authenticationSchemes: [{ type: "oauthbearertoken", name: "OAuth Bearer Token", description: "Authentication with a bearer token" }],
});

const RESOURCE_TYPES = JSON.stringify({
  schemas: [LIST_SCHEMA],
  totalResults: 2,
  startIndex: 1,
  itemsPerPage: 2,
  Resources: [
    { schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], id: "User", name: "User", endpoint: "/Users", schema: USER_SCHEMA },
    { schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], id: "Group", name: "Group", endpoint: "/Groups", schema: GROUP_SCHEMA },
  ],
});

const SCHEMAS = JSON.stringify({
  schemas: [LIST_SCHEMA],
  totalResults: 2,
  startIndex: 1,
  itemsPerPage: 2,
  Resources: [
    { id: USER_SCHEMA, name: "User", attributes: [] },
    { id: GROUP_SCHEMA, name: "Group", attributes: [] },
  ],
});

// ---- HTTP ----

interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

function errorAnswer(status: number, detail: string, scimType?: string): Answer {
  const body: Json = { schemas: [ERROR_SCHEMA], status: String(status), detail };
  if (scimType) body.scimType = scimType;
  return { status, body: JSON.stringify(body) };
}

/** The route label counted for a request: method, resource path with `{id}`, and the kind of GET. */
function routeOf(method: string, resource: string, id: string | undefined, query: URLSearchParams): string {
  if (id !== undefined) return `${method} /${resource}/{id}`;
  if (method === "GET" && (resource === "Users" || resource === "Groups")) return `GET /${resource} (${query.has("filter") ? "filter" : "list"})`;
  return `${method} /${resource}`;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function handle(store: Store, method: string, resource: string, id: string | undefined, query: URLSearchParams, text: string): Answer {
  const body = (): Json => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ScimFault(400, "the body is not JSON", "invalidSyntax");
    }
    if (!isObject(parsed)) throw new ScimFault(400, "the body must be a JSON object", "invalidSyntax");
    return parsed;
  };
  if (resource === "ServiceProviderConfig" && method === "GET" && id === undefined) return { status: 200, body: SERVICE_PROVIDER_CONFIG };
  if (resource === "ResourceTypes" && method === "GET" && id === undefined) return { status: 200, body: RESOURCE_TYPES };
  if (resource === "Schemas" && method === "GET" && id === undefined) return { status: 200, body: SCHEMAS };
  if (resource === "Users") {
    if (id === undefined) {
      if (method === "GET") return { status: 200, body: listUsers(store, query) };
      if (method === "POST") {
        const created = store.createUser(body());
        return { status: 201, body: created.json, headers: { location: `${store.baseUrl()}/Users/${created.id}` } };
      }
    } else {
      if (method === "GET") return { status: 200, body: store.getUser(id).json };
      if (method === "PUT") return { status: 200, body: store.replaceUser(id, body()) };
      if (method === "PATCH") return { status: 200, body: store.patchUser(id, body()) };
      if (method === "DELETE") {
        store.deleteUser(id);
        return { status: 204 };
      }
    }
    return errorAnswer(405, `${method} is not allowed here`);
  }
  if (resource === "Groups") {
    if (id === undefined) {
      if (method === "GET") return { status: 200, body: listGroups(store, query) };
      if (method === "POST") {
        const created = store.createGroup(body());
        return { status: 201, body: groupJson(created, true), headers: { location: `${store.baseUrl()}/Groups/${created.id}` } };
      }
    } else {
      const withMembers = !(query.get("excludedAttributes") ?? "").toLowerCase().includes("members");
      if (method === "GET") return { status: 200, body: groupJson(store.getGroup(id), withMembers) };
      if (method === "PUT") return { status: 200, body: store.replaceGroup(id, body()) };
      if (method === "PATCH") {
        store.patchGroup(id, body());
        return { status: 204 };
      }
      if (method === "DELETE") {
        store.deleteGroup(id);
        return { status: 204 };
      }
    }
    return errorAnswer(405, `${method} is not allowed here`);
  }
  return errorAnswer(404, `no endpoint ${resource}`);
}

function emptyCounters(): TargetCounters {
  return {
    total: 0,
    writes: 0,
    byRoute: {},
    byStatus: {},
    tooManyRequests: 0,
    firstAt: undefined,
    lastAt: undefined,
    peakInFlight: 0,
    averageInFlight: 0,
    busiestSecond: 0,
  };
}

export async function startBenchTarget(options: BenchTargetOptions = {}): Promise<BenchTarget> {
  const token = options.token ?? randomUUID();
  let latencyMs = options.latencyMs ?? 0;
  let bucket: TokenBucket | undefined;
  const setRateLimit = (perSecond: number, burst?: number) => {
    bucket = perSecond > 0 ? new TokenBucket(perSecond, burst ?? perSecond) : undefined;
  };
  setRateLimit(options.rateLimit ?? 0, options.burst);
  let baseUrl = "";
  const store = new Store(() => baseUrl);

  let counters = emptyCounters();
  let inFlight = 0;
  let inFlightArea = 0;
  let changedAt = 0;
  let lastAnswerAt = 0;
  let window: number[] = [];
  let windowStart = 0;
  const track = (now: number, delta: number) => {
    if (inFlight > 0) inFlightArea += inFlight * (now - changedAt);
    changedAt = now;
    inFlight += delta;
    counters.peakInFlight = Math.max(counters.peakInFlight, inFlight);
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const now = performance.now();
    track(now, +1);
    counters.total++;
    counters.firstAt ??= now;
    counters.lastAt = now;
    window.push(now);
    while (window[windowStart]! <= now - 1000) windowStart++;
    counters.busiestSecond = Math.max(counters.busiestSecond, window.length - windowStart);
    if (windowStart > 4096) {
      window = window.slice(windowStart);
      windowStart = 0;
    }

    const method = request.method ?? "GET";
    const url = request.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? "" : url.slice(q + 1));
    const parts = pathname.startsWith(`${BASE_PATH}/`) ? pathname.slice(BASE_PATH.length + 1).split("/") : [];
    const resource = parts[0] ?? "";
    const id = parts.length > 1 && parts[1] !== "" ? decodeURIComponent(parts[1]!) : undefined;
    const route = parts.length === 0 ? `${method} ${pathname}` : routeOf(method, resource, id, query);
    counters.byRoute[route] = (counters.byRoute[route] ?? 0) + 1;
    if (WRITE_METHODS.has(method)) counters.writes++;
    const waitMs = bucket?.take(now) ?? 0;

    void readBody(request).then(
      (text) => {
        let answer: Answer;
        if (request.headers.authorization !== `Bearer ${token}`) {
          answer = errorAnswer(401, "a valid bearer token is required");
        } else if (waitMs > 0) {
          counters.tooManyRequests++;
          answer = errorAnswer(429, "too many requests");
          answer.headers = { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) };
        } else if (parts.length === 0) {
          answer = errorAnswer(404, `no endpoint ${pathname}`);
        } else {
          try {
            answer = handle(store, method, resource, id, query, text);
          } catch (error) {
            if (!(error instanceof ScimFault)) throw error;
            answer = errorAnswer(error.status, error.message, error.scimType);
          }
        }
        const send = () => {
          counters.byStatus[answer.status] = (counters.byStatus[answer.status] ?? 0) + 1;
          const headers: Record<string, string | number> = { ...answer.headers };
          if (answer.body !== undefined) {
            headers["content-type"] = "application/scim+json";
            headers["content-length"] = Buffer.byteLength(answer.body);
          }
          response.writeHead(answer.status, headers);
          response.end(answer.body);
          const done = performance.now();
          track(done, -1);
          lastAnswerAt = done;
        };
        if (latencyMs > 0) setTimeout(send, latencyMs);
        else send();
      },
      () => {
        track(performance.now(), -1);
        response.destroy();
      },
    );
  });
  // Longer than the client's keep-alive, so connections are reused for the whole run.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}${BASE_PATH}`;

  return {
    baseUrl,
    token,
    counters() {
      const span = lastAnswerAt - (counters.firstAt ?? lastAnswerAt);
      return { ...counters, byRoute: { ...counters.byRoute }, byStatus: { ...counters.byStatus }, averageInFlight: span > 0 ? inFlightArea / span : 0 };
    },
    resetCounters() {
      counters = emptyCounters();
      inFlightArea = 0;
      changedAt = performance.now();
      window = [];
      windowStart = 0;
    },
    setLatency(ms: number) {
      latencyMs = ms;
    },
    setRateLimit,
    contents() {
      let memberships = 0;
      for (const group of store.groups.values()) memberships += group.members.size;
      return { users: store.users.size, groups: store.groups.size, memberships };
    },
    membersOf(displayName: string) {
      const id = store.groupsByName.get(displayName.toLowerCase());
      return id === undefined ? undefined : [...store.groups.get(id)!.members.keys()];
    },
    preload(users: Json[], groups: Json[]) {
      for (const user of users) store.createUser(user, typeof user.id === "string" ? user.id : randomUUID());
      for (const group of groups) store.createGroup(group, typeof group.id === "string" ? group.id : randomUUID());
    },
    close() {
      return new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
    },
  };
}
