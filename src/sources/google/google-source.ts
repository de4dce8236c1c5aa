/**
 * Google Workspace as the directory: users, groups and memberships read through the Admin SDK
 * Directory API, shaped into the source model. Scope settings that only Google can evaluate
 * (organizational units, a user query, one domain) are judged here and handed to the core as
 * `inScopeIds`; group scope stays with the core, like for every source.
 */
import type { admin_directory_v1 } from "@googleapis/admin";
import type { SourceGroup, SourceProblem, SourceSnapshot, SourceUser } from "../../core/model.js";
import type { DirectorySource, SourceProgress } from "../../core/ports.js";
import { ConcurrencyLimit } from "../../scim/concurrency-limit.js";
import { directoryClient, type GoogleClientOptions } from "./google-client.js";
import { GoogleCalls, IncompleteReadError, UnexpectedResponseError, type Page } from "./google-calls.js";
import type { FailureContext, GoogleListing } from "./google-errors.js";
import { describeUserIssue, googleUserSchema, toSourceUser, type GoogleUser } from "./google-user.js";

/** Directory API page sizes: the largest each listing allows. */
const USERS_PER_PAGE = 500;
const GROUPS_PER_PAGE = 200;
const MEMBERS_PER_PAGE = 200;
/** How many external members a warning names before it just counts. */
const NAMED_EXTERNALS = 3;

/** Which groups' members the run needs: every group's, or those of the scope groups (and what they nest). */
export interface GroupReads {
  /** false: groups play no part (no group scope, nothing to provision): not even listed. */
  list: boolean;
  membersOf: "all" | string[];
}

export interface GoogleSourceOptions {
  connection: GoogleClientOptions;
  customer: string;
  domain?: string;
  orgUnits?: string[];
  query?: string;
  archived: "ignore" | "treat-as-suspended";
  showDeleted: boolean;
  /** User fields to ask for (googleUserFields): the fields mask of users.list. */
  userFields: string[];
  groups: GroupReads;
  /** Member lists read at once. */
  concurrency: number;
  timeoutMs: number;
  retries: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  onRetry?: (what: string, waitMs: number) => void;
  /** A client made elsewhere (tests); by default one is made from `connection`. */
  client?: admin_directory_v1.Admin;
}

interface RawMember {
  id?: string | null;
  email?: string | null;
  type?: string | null;
}

interface RawGroup {
  id?: string | null;
  email?: string | null;
  name?: string | null;
  description?: string | null;
}

export class GoogleSource implements DirectorySource {
  readonly #options: GoogleSourceOptions;
  readonly #directory: admin_directory_v1.Admin;
  readonly #calls: GoogleCalls;
  readonly #context: Omit<FailureContext, "listing">;

  constructor(options: GoogleSourceOptions) {
    this.#options = options;
    this.#directory = options.client ?? directoryClient(options.connection);
    this.#calls = new GoogleCalls({
      retries: options.retries,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
    const credentials = options.connection.credentials;
    this.#context = {
      auth:
        credentials.kind === "service-account"
          ? {
              kind: "service-account",
              clientEmail: credentials.clientEmail,
              subject: credentials.subject,
              ...(credentials.clientId ? { clientId: credentials.clientId } : {}),
            }
          : { kind: "access-token" },
      customer: options.customer,
      ...(options.domain ? { domain: options.domain } : {}),
    };
  }

  /** Directory API requests made so far, retries included. */
  get requestCount(): number {
    return this.#calls.requests;
  }

  async read(readOptions: { onProgress?: (progress: SourceProgress) => void } = {}): Promise<SourceSnapshot> {
    const read = new DirectoryRead(readOptions.onProgress);
    const o = this.#options;
    // The listings do not depend on each other: run them side by side.
    const [users, queried, deleted, orgUnits, groups] = await Promise.all([
      // What was read of the users is kept: it is created and updated; only deprovisioning needs it all.
      read.attempt("users", () => this.#listUsers(read), (partial) => partial),
      o.query ? read.attempt("users", () => this.#listQueried(o.query!, read)) : undefined,
      o.showDeleted ? read.attemptOptional("deletedUsers", () => this.#listDeleted(read)) : undefined,
      o.orgUnits && o.orgUnits.length > 0 ? read.attempt("orgUnits", () => this.#listOrgUnits(read)) : undefined,
      o.groups.list ? read.attempt("groups", () => this.#listGroups(read)) : undefined,
    ]);
    const members = groups ? await this.#readMembers(groups, read) : new Map<string, RawMember[]>();
    return this.#snapshot(read, { users: users ?? [], queried, deleted, orgUnits, groups: groups ?? [], members });
  }

  #methodOptions() {
    return { retry: false, timeout: this.#options.timeoutMs };
  }

  #ctx(listing: GoogleListing, group?: string): FailureContext {
    return { ...this.#context, listing, ...(group ? { group } : {}) };
  }

  /** One users.list listing to its end: the users, the ids a query admits, or the recently deleted. */
  async #listUserRecords(listing: "users" | "deletedUsers", params: admin_directory_v1.Params$Resource$Users$List, read: DirectoryRead): Promise<unknown[]> {
    return this.#calls.listAll(
      this.#ctx(listing),
      async (pageToken): Promise<Page<unknown>> => {
        const response = await this.#directory.users.list(
          { customer: this.#options.customer, maxResults: USERS_PER_PAGE, ...params, ...(pageToken ? { pageToken } : {}) },
          this.#methodOptions(),
        );
        return { items: listOf(response.data, "users"), nextPageToken: response.data?.nextPageToken };
      },
      read.counter(listing),
    );
  }

  async #listUsers(read: DirectoryRead): Promise<unknown[]> {
    return this.#listUserRecords("users", { projection: "full", fields: `nextPageToken,users(${this.#options.userFields.join(",")})` }, read);
  }

  /** The ids the directory's own query admits: a second, ids-only listing. */
  async #listQueried(query: string, read: DirectoryRead): Promise<Set<string>> {
    const items = await this.#listUserRecords("users", { query, fields: "nextPageToken,users(id)" }, read);
    return new Set(items.map((u) => idOf(u)).filter((id): id is string => id !== undefined));
  }

  async #listDeleted(read: DirectoryRead): Promise<Record<string, string>> {
    const items = await this.#listUserRecords("deletedUsers", { showDeleted: "true", fields: "nextPageToken,users(id,deletionTime)" }, read);
    const out: Record<string, string> = {};
    for (const item of items) {
      const id = idOf(item);
      const time = (item as { deletionTime?: unknown }).deletionTime;
      if (id !== undefined && typeof time === "string" && !Number.isNaN(Date.parse(time))) out[id] = new Date(time).toISOString();
    }
    return out;
  }

  async #listOrgUnits(read: DirectoryRead): Promise<string[]> {
    const response = await this.#calls.call(this.#ctx("orgUnits"), () =>
      this.#directory.orgunits.list({ customerId: this.#options.customer, type: "all", fields: "organizationUnits(orgUnitPath)" }, this.#methodOptions()),
    );
    const units = listOf(response.data, "organizationUnits");
    read.counter("orgUnits")(units);
    return units.map((u) => (u as { orgUnitPath?: unknown }).orgUnitPath).filter((p): p is string => typeof p === "string");
  }

  async #listGroups(read: DirectoryRead): Promise<RawGroup[]> {
    const o = this.#options;
    const items = await this.#calls.listAll(
      this.#ctx("groups"),
      async (pageToken): Promise<Page<unknown>> => {
        const response = await this.#directory.groups.list(
          {
            customer: o.customer,
            maxResults: GROUPS_PER_PAGE,
            fields: "nextPageToken,groups(id,email,name,description)",
            ...(pageToken ? { pageToken } : {}),
          },
          this.#methodOptions(),
        );
        return { items: listOf(response.data, "groups"), nextPageToken: response.data?.nextPageToken };
      },
      read.counter("groups"),
    );
    return items.filter((g): g is RawGroup => typeof g === "object" && g !== null);
  }

  /**
   * Direct members of the groups the run needs, walking nested groups ourselves (Google's
   * includeDerivedMembership is not something we could test against the real service). A
   * group is read once however often it is nested, so a cycle ends by itself.
   */
  async #readMembers(groups: RawGroup[], read: DirectoryRead): Promise<Map<string, RawMember[]>> {
    const known = new Map<string, RawGroup>();
    for (const g of groups) if (typeof g.id === "string" && g.id !== "") known.set(g.id, g);
    const wanted = this.#options.groups.membersOf;
    const roots =
      wanted === "all"
        ? [...known.keys()]
        : [...known.values()].filter((g) => wanted.some((ref) => namesGroup(g, ref))).map((g) => g.id as string);
    const members = new Map<string, RawMember[]>();
    const limit = new ConcurrencyLimit(this.#options.concurrency);
    const visited = new Set<string>();
    const running: Promise<void>[] = [];
    const count = read.counter("members");
    const visit = (groupId: string): void => {
      if (visited.has(groupId)) return;
      visited.add(groupId);
      const group = known.get(groupId)!;
      const label = group.email ?? groupId;
      running.push(
        limit
          .run(() =>
            this.#calls.listAll(
              this.#ctx("members", label),
              async (pageToken): Promise<Page<unknown>> => {
                const response = await this.#directory.members.list(
                  { groupKey: groupId, maxResults: MEMBERS_PER_PAGE, fields: "nextPageToken,members(id,email,type)", ...(pageToken ? { pageToken } : {}) },
                  this.#methodOptions(),
                );
                return { items: listOf(response.data, "members"), nextPageToken: response.data?.nextPageToken };
              },
              count,
            ),
          )
          .then(
            (items) => {
              const list = items.filter((m): m is RawMember => typeof m === "object" && m !== null);
              members.set(groupId, list);
              for (const m of list) if (m.type === "GROUP" && typeof m.id === "string" && known.has(m.id)) visit(m.id);
            },
            (error: unknown) => {
              if (!(error instanceof IncompleteReadError)) throw error;
              read.incomplete(`group ${label}`, `its members could not be read: ${error.message}`);
            },
          ),
      );
    };
    for (const root of roots) visit(root);
    // Nested groups join `running` while earlier reads finish. Every read is awaited, even after
    // one has failed for good, so that no rejection is left unhandled.
    let fatal: unknown;
    for (let i = 0; i < running.length; i++) {
      try {
        await running[i];
      } catch (error) {
        fatal ??= error;
      }
    }
    if (fatal !== undefined) throw fatal;
    return members;
  }

  #snapshot(
    read: DirectoryRead,
    data: {
      users: unknown[];
      queried: Set<string> | undefined;
      deleted: Record<string, string> | undefined;
      orgUnits: string[] | undefined;
      groups: RawGroup[];
      members: Map<string, RawMember[]>;
    },
  ): SourceSnapshot {
    const o = this.#options;
    const problems = read.problems;
    const protectedIds: string[] = [];
    const protectedUserNames: string[] = [];
    const warnings: string[] = [];

    const parsed: GoogleUser[] = [];
    const seen = new Set<string>();
    data.users.forEach((record, index) => {
      const result = googleUserSchema.safeParse(record);
      if (!result.success) {
        const id = idOf(record);
        const email = (record as { primaryEmail?: unknown })?.primaryEmail;
        problems.push({
          location: `users listing, record ${index + 1}`,
          ...(id !== undefined ? { id } : {}),
          ...(typeof email === "string" && email !== "" ? { userName: email } : {}),
          reason: describeUserIssue(result.error),
        });
        if (id !== undefined) protectedIds.push(id);
        else if (typeof email === "string" && email !== "") protectedUserNames.push(email.toLowerCase());
        return;
      }
      // A page served twice (Google's listings are not snapshots) must not make two users of one.
      if (seen.has(result.data.id)) return;
      seen.add(result.data.id);
      parsed.push(result.data);
    });

    const idByEmail = new Map<string, string>();
    for (const u of parsed) {
      idByEmail.set(u.primaryEmail.toLowerCase(), u.id);
      for (const alias of u.aliases ?? []) idByEmail.set(alias.toLowerCase(), u.id);
    }
    const users: SourceUser[] = [];
    let archived = 0;
    let unknownManagers = 0;
    for (const g of parsed) {
      if (g.archived === true && o.archived === "ignore") {
        // Google's autoprovisioning neither provisions nor deprovisions archived users: they keep what they have.
        archived++;
        protectedIds.push(g.id);
        continue;
      }
      const user = toSourceUser(g, { archived: o.archived, idByEmail });
      if (user.manager !== undefined && !seen.has(user.manager)) unknownManagers++;
      users.push(user);
    }
    if (archived > 0) warnings.push(`${archived} archived user(s) are left as they are in the app (source.archived: ignore)`);
    if (unknownManagers > 0 && read.complete) {
      warnings.push(`${unknownManagers} user(s) have a manager (relations, type manager) who is not a user of this Google Workspace account`);
    }

    // Users skipped as malformed are still the account's own, not guests.
    const known = new Set([...seen, ...protectedIds]);
    const snapshot: SourceSnapshot = {
      users,
      groups: this.#groups(data.groups, data.members, known, read, warnings),
      complete: read.complete,
      problems,
      protectedIds,
      protectedUserNames,
    };
    const inScope = this.#sourceScope(parsed, data.queried, data.orgUnits, read);
    if (inScope) snapshot.inScopeIds = inScope;
    snapshot.complete = read.complete;
    if (data.deleted && Object.keys(data.deleted).length > 0) snapshot.deletedAt = data.deleted;
    if (warnings.length > 0) snapshot.warnings = warnings;
    return snapshot;
  }

  /** Users admitted by source.domain, scope.orgUnits and scope.query together; undefined when none is set. */
  #sourceScope(users: GoogleUser[], queried: Set<string> | undefined, orgUnits: string[] | undefined, read: DirectoryRead): string[] | undefined {
    const o = this.#options;
    const wantedUnits = o.orgUnits ?? [];
    if (!o.domain && wantedUnits.length === 0 && !o.query) return undefined;
    let units: string[] | undefined;
    if (wantedUnits.length > 0) {
      // Paths are matched as the Admin console shows them, case aside; an OU the directory does not
      // have would put everyone in it out of scope, so it stops deprovisioning until it is fixed.
      // When the OU listing failed (the read is incomplete then) the paths are taken as written.
      const existing = new Map((orgUnits ?? wantedUnits).map((p) => [p.toLowerCase(), p]));
      existing.set("/", "/");
      units = [];
      for (const wanted of wantedUnits) {
        const found = existing.get(wanted.toLowerCase());
        if (found) units.push(found.toLowerCase());
        else read.incomplete("scope.orgUnits", `organizational unit ${wanted} does not exist in the directory; fix scope.orgUnits`);
      }
    }
    const domain = o.domain ? `@${o.domain.toLowerCase()}` : undefined;
    const inUnit = (path: string | undefined): boolean => {
      if (!units) return true;
      const p = (path ?? "/").toLowerCase();
      return units.some((unit) => unit === "/" || p === unit || p.startsWith(`${unit}/`));
    };
    return users
      .filter((u) => (!domain || u.primaryEmail.toLowerCase().endsWith(domain)) && inUnit(u.orgUnitPath) && (!queried || queried.has(u.id)))
      .map((u) => u.id);
  }

  #groups(raw: RawGroup[], members: Map<string, RawMember[]>, userIds: Set<string>, read: DirectoryRead, warnings: string[]): SourceGroup[] {
    const groupIds = new Set(raw.map((g) => g.id).filter((id): id is string => typeof id === "string" && id !== ""));
    const externals = new Map<string, string>();
    const out: SourceGroup[] = [];
    for (const [index, g] of raw.entries()) {
      if (typeof g.id !== "string" || g.id === "") {
        read.incomplete(`groups listing, record ${index + 1}`, "a group without an id");
        continue;
      }
      const group: SourceGroup = { id: g.id, displayName: nonEmpty(g.name) ?? nonEmpty(g.email) ?? g.id, members: [] };
      if (nonEmpty(g.email)) group.email = g.email!;
      if (nonEmpty(g.description)) group.description = g.description!;
      const list = members.get(g.id);
      if (list === undefined) {
        // Not needed by the scope or provisionGroups, or its read failed (then the snapshot is incomplete).
        if (!read.failedGroups.has(g.email ?? g.id)) group.membersRead = false;
      } else {
        const ids = new Set<string>();
        for (const m of list) {
          const id = typeof m.id === "string" ? m.id : undefined;
          if (m.type === "CUSTOMER") {
            // "Everyone in the organization" as one member: Google's own flattening of it.
            for (const userId of userIds) ids.add(userId);
          } else if (id !== undefined && (m.type === "GROUP" ? groupIds.has(id) : userIds.has(id))) {
            ids.add(id);
          } else {
            externals.set(id ?? m.email ?? "?", m.email ?? id ?? "?");
          }
        }
        group.members = [...ids];
      }
      out.push(group);
    }
    // Google provisions only the customer's own users; a guest in a group is no account in the app.
    if (externals.size > 0 && read.complete) {
      const named = [...externals.values()].slice(0, NAMED_EXTERNALS).join(", ");
      warnings.push(
        `${externals.size} group member(s) are outside this Google Workspace account and are not provisioned: ${named}${externals.size > NAMED_EXTERNALS ? ", …" : ""}`,
      );
    }
    return out;
  }
}

/** One read's bookkeeping: progress counts, and what could not be read. */
class DirectoryRead {
  readonly problems: SourceProblem[] = [];
  readonly failedGroups = new Set<string>();
  complete = true;
  readonly #counts = new Map<SourceProgress["listing"], { pages: number; items: number }>();
  readonly #onProgress: ((progress: SourceProgress) => void) | undefined;

  constructor(onProgress: ((progress: SourceProgress) => void) | undefined) {
    this.#onProgress = onProgress;
  }

  counter(listing: SourceProgress["listing"]): (items: unknown[]) => void {
    return (items) => {
      const count = this.#counts.get(listing) ?? { pages: 0, items: 0 };
      count.pages++;
      count.items += items.length;
      this.#counts.set(listing, count);
      this.#onProgress?.({ listing, ...count });
    };
  }

  incomplete(location: string, reason: string): void {
    this.complete = false;
    if (location.startsWith("group ")) this.failedGroups.add(location.slice("group ".length));
    this.problems.push({ location, reason });
  }

  /** A listing the read cannot do without: a failure makes the snapshot incomplete. */
  async attempt<T>(listing: GoogleListing, run: () => Promise<T>, keepPartial?: (partial: unknown[]) => T): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      this.incomplete(`${listing} listing`, `it could not be read to the end: ${error.message}`);
      return keepPartial?.(error.partial);
    }
  }

  /** A listing that only refines the result (deleted users): a failure is a warning-free fallback. */
  async attemptOptional<T>(_listing: GoogleListing, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      return undefined;
    }
  }
}

/** The list in a Directory API answer; Google leaves the key out of an empty page. */
function listOf(data: unknown, key: string): unknown[] {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UnexpectedResponseError(`Google's answer listing ${key} is not a JSON object`);
  }
  const list = (data as Record<string, unknown>)[key];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new UnexpectedResponseError(`Google's answer listing ${key} has a "${key}" that is not a list`);
  return list;
}

function idOf(record: unknown): string | undefined {
  const id = (record as { id?: unknown } | null)?.id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** A scope entry names a group by id, email (case aside) or name (case aside), as the core's findGroup does. */
function namesGroup(group: RawGroup, ref: string): boolean {
  const lower = ref.toLowerCase();
  return group.id === ref || group.email?.toLowerCase() === lower || group.name?.toLowerCase() === lower;
}
