/**
 * Microsoft Entra ID as the directory, read through Microsoft Graph. The first run (and one
 * every `fullSyncEvery`) reads everything; the runs between read only what changed, with delta
 * queries continuing from links kept in the state file with the directory as last read. The
 * scope (app assignments, a $filter) is read whole every run: it is small, and Graph offers no
 * delta for it.
 */
import type { TokenCredential } from "@azure/identity";
import { ResponseType, type Client } from "@microsoft/microsoft-graph-client";
import type { SourceGroup, SourceSnapshot, SourceUser } from "../../core/model.js";
import type { DirectorySource, SourceCache, SourceReadOptions } from "../../core/ports.js";
import { ConcurrencyLimit } from "../../scim/concurrency-limit.js";
import { DirectoryRead } from "../directory-read.js";
import { idsOf, nonEmpty } from "../record-values.js";
import { probeAccess, type SourceAccess, type SourceAccessCheck } from "../access-check.js";
import { IncompleteReadError, SourceCalls, UnexpectedResponseError, type Page } from "../source-calls.js";
import { withoutSecrets } from "../secret-free-failure.js";
import { credentialFor, graphClient, withTokenTimeout, type GraphConnection, type GraphCredentialSettings } from "./graph-client.js";
import { classifyGraphFailure, GRAPH_LISTING_TEXT, GraphHttpError, isDeltaExpired, type GraphFailureContext, type GraphListing } from "./graph-errors.js";
import { describeGraphUserIssue, graphUserSchema, toSourceUser } from "./graph-user.js";
import {
  applyGroupChanges,
  applyUserChanges,
  CACHE_KIND,
  copyRecords,
  readCache,
  userRecord,
  type GraphCache,
  type GroupRecords,
  type UserRecords,
} from "./graph-cache.js";

/** The most Graph returns per page of a list. */
const PAGE_SIZE = 999;
/** `visibility`: the members of a HiddenMembership group are not listed without Member.Read.Hidden. */
const GROUP_SELECT = "displayName,mail,description,visibility,members";

export interface MicrosoftSourceOptions {
  connection: GraphConnection;
  /** User properties to select (graphUserFields); "manager" among them means the manager is read too. */
  userFields: string[];
  /** Whether groups are needed at all (provisioned, or scope.groups given). */
  readGroups: boolean;
  /** Service principal object id: only users assigned to the app (directly or through a group) are in scope. */
  assignedToApp?: string;
  /** An OData $filter on /users: only the users it matches are in scope. */
  filter?: string;
  fullSyncEveryMs: number;
  /** Group member lists (of assigned groups) read at once. */
  concurrency: number;
  timeoutMs: number;
  retries: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  clock?: () => number;
  onRetry?: (what: string, waitMs: number) => void;
  /** A client made elsewhere (tests); by default one is made from `connection`. */
  client?: Client;
  credential?: TokenCredential;
}

interface GraphPage {
  value?: unknown;
  "@odata.nextLink"?: unknown;
  "@odata.deltaLink"?: unknown;
}

/** What one part (users or groups) of the read produced. */
interface Part<R> {
  records: R;
  /** The cache part to keep: the new one, or the old one when this read could not move it on. */
  keep?: { deltaLink: string; fullReadAt: string; records: R };
  /** "full" or "changes", for the log and the tests. */
  how: "full" | "changes" | "failed";
}

export class MicrosoftSource implements DirectorySource, SourceAccessCheck {
  readonly #options: MicrosoftSourceOptions;
  readonly #client: Client;
  readonly #calls: SourceCalls<GraphFailureContext>;

  constructor(options: MicrosoftSourceOptions) {
    this.#options = options;
    this.#client = options.client ?? graphClient(options.connection, withTokenTimeout(options.credential ?? credentialFor(options.connection), options.timeoutMs));
    const secrets = credentialSecrets(options.connection.credential);
    this.#calls = new SourceCalls<GraphFailureContext>({
      classify: (error, context) => withoutSecrets(classifyGraphFailure(error, context), secrets),
      describe: (context) => GRAPH_LISTING_TEXT[context.listing],
      retries: options.retries,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      now: options.clock ?? Date.now,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
  }

  /** Graph requests made so far, retries included. */
  get requestCount(): number {
    return this.#calls.requests;
  }

  /** How the last read got each part: full read or changes only. */
  lastRead: { users?: Part<unknown>["how"]; groups?: Part<unknown>["how"] } = {};

  async read(options: SourceReadOptions = {}): Promise<SourceSnapshot & { cache?: SourceCache }> {
    const now = options.now ?? new Date();
    const read = new DirectoryRead(options.onProgress);
    const prior = readCache(options.cache, this.#cacheKey());
    const cache = "cache" in prior ? prior.cache : undefined;
    // A scheduled full read is routine; one forced by a change or damage is worth a word.
    if ("why" in prior && options.cache) read.warnings.push(`reading the whole directory again: ${prior.why}`);
    const due = (part: { fullReadAt: string } | undefined): string | undefined => {
      if (!part) return "why" in prior ? prior.why : "no earlier read of it is recorded";
      return now.getTime() - Date.parse(part.fullReadAt) >= this.#options.fullSyncEveryMs ? "a full read is due (source.fullSyncEvery)" : undefined;
    };

    const [users, groups, assigned, filtered] = await Promise.all([
      this.#readPart("users", cache?.users, due(cache?.users), now, read),
      this.#options.readGroups ? this.#readPart("groups", cache?.groups, due(cache?.groups), now, read) : undefined,
      this.#options.assignedToApp ? this.#readAssigned(this.#options.assignedToApp, read) : undefined,
      this.#options.filter ? this.#readFiltered(this.#options.filter, read) : undefined,
    ]);
    this.lastRead = { users: users.how, ...(groups ? { groups: groups.how } : {}) };

    const snapshot = this.#snapshot(users.records as UserRecords, (groups?.records as GroupRecords | undefined) ?? {}, read);
    const inScope = [assigned, filtered].filter((set): set is Set<string> => set !== undefined);
    if (inScope.length > 0) snapshot.inScopeIds = snapshot.users.map((u) => u.id).filter((id) => inScope.every((set) => set.has(id)));
    if (read.warnings.length > 0) snapshot.warnings = read.warnings;

    const kept = users.keep as GraphCache["users"] | undefined;
    const keptGroups = groups?.keep as GraphCache["groups"] | undefined;
    if (!kept) return snapshot;
    const next: GraphCache = { kind: CACHE_KIND, version: 1, key: this.#cacheKey(), users: kept, ...(keptGroups ? { groups: keptGroups } : {}) };
    return { ...snapshot, cache: next };
  }

  /** A token, then one page of one user (ids only): the credential, the tenant and User.Read.All work. */
  async checkAccess(): Promise<SourceAccess> {
    return probeAccess(async () => {
      const users = await this.#calls.call(this.#ctx("users"), async () => valueOf(await this.#get(this.#client.api("/users").query({ $select: "id", $top: "1" }))));
      return users.length;
    });
  }

  /** Tenant, Graph host and what is selected: a cache made for anything else cannot be continued. */
  #cacheKey(): string {
    const c = this.#options.connection;
    return JSON.stringify({ tenant: c.tenantId.toLowerCase(), graph: c.graphUrl, users: this.#options.userFields, groups: this.#options.readGroups ? GROUP_SELECT : null });
  }

  #ctx(listing: GraphListing, subject?: string): GraphFailureContext {
    const c = this.#options.connection;
    return { listing, tenantId: c.tenantId, ...(c.clientId ? { clientId: c.clientId } : {}), ...(subject ? { subject } : {}) };
  }

  /**
   * Users or groups: the changes since the kept delta link, or everything when there is no
   * usable link, a full read is due, or Graph no longer knows the link (410: about 7 days old).
   * A read that fails leaves the kept part as it was, and the snapshot incomplete.
   */
  async #readPart(
    kind: "users" | "groups",
    kept: { deltaLink: string; fullReadAt: string; records: UserRecords | GroupRecords } | undefined,
    fullReason: string | undefined,
    now: Date,
    read: DirectoryRead,
  ): Promise<Part<UserRecords | GroupRecords>> {
    if (kept && !fullReason) {
      const records = copyRecords(kept.records);
      try {
        const deltaLink = await this.#followDelta(kind, kept.deltaLink, records, read);
        return { records, keep: { deltaLink, fullReadAt: kept.fullReadAt, records }, how: "changes" };
      } catch (error) {
        if (isDeltaExpired(error)) {
          read.warnings.push(`Graph no longer knows the ${kind} delta link (it expires after about 7 days): reading all ${kind} again`);
        } else if (error instanceof IncompleteReadError) {
          read.incomplete(`${kind} changes`, `they could not be read to the end: ${error.message}`);
          return { records: kept.records, keep: kept, how: "failed" };
        } else throw error;
      }
    }
    try {
      const full = kind === "users" ? await this.#fullUsers(read) : await this.#fullGroups(read);
      return { records: full.records, keep: { deltaLink: full.deltaLink, fullReadAt: now.toISOString(), records: full.records }, how: "full" };
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      read.incomplete(`${kind} listing`, `it could not be read to the end: ${error.message}`);
      // What was listed is used for this run; the kept part (if any) is kept for the next.
      const partial = kind === "users" ? userRecords(error.partial) : groupRecords(error.partial);
      return { records: partial, ...(kept ? { keep: kept } : {}), how: "failed" };
    }
  }

  /**
   * Every user. The delta link is taken first ($deltatoken=latest: "from now on", without
   * paging through everything twice), so a change made while the listing runs is read again
   * by the next delta rather than lost.
   */
  async #fullUsers(read: DirectoryRead): Promise<{ records: UserRecords; deltaLink: string }> {
    const fields = this.#options.userFields;
    const withManager = fields.includes("manager");
    const select = fields.filter((f) => f !== "manager");
    const latest = await this.#calls.call(this.#ctx("users"), () =>
      this.#get(this.#client.api("/users/delta").query({ $select: [...select, ...(withManager ? ["manager"] : [])].join(","), $deltatoken: "latest" })),
    );
    const deltaLink = linkOf(latest, "@odata.deltaLink");
    if (!deltaLink) throw new IncompleteReadError("Graph gave no delta link for users");
    const entries = await this.#list(
      "users",
      this.#client.api("/users").query({ $select: select.join(","), $top: String(PAGE_SIZE), ...(withManager ? { $expand: "manager($select=id)" } : {}) }),
      read,
    );
    // The app's own tenant has at least the admin who consented: an empty listing is an answer gone wrong.
    if (entries.length === 0) throw new IncompleteReadError("Graph listed no user at all");
    return { records: userRecords(entries), deltaLink };
  }

  /** Every group with its direct members: the first round of a groups delta query, which ends in the link for the next. */
  async #fullGroups(read: DirectoryRead): Promise<{ records: GroupRecords; deltaLink: string }> {
    const records: GroupRecords = {};
    const first = this.#client.api("/groups/delta").query({ $select: GROUP_SELECT });
    const deltaLink = await this.#pageDelta("groups", first, (entries) => applyGroupChanges(records, entries), read);
    return { records, deltaLink };
  }

  /** Pages through a delta from `link`, applying each page to `records`; returns the next delta link. */
  async #followDelta(kind: "users" | "groups", link: string, records: UserRecords | GroupRecords, read: DirectoryRead): Promise<string> {
    const apply = kind === "users" ? (entries: unknown[]) => applyUserChanges(records as UserRecords, entries) : (entries: unknown[]) => applyGroupChanges(records as GroupRecords, entries);
    return this.#pageDelta(kind === "users" ? "userChanges" : "groupChanges", this.#client.api(link), apply, read, kind === "users" ? "userChanges" : "groupChanges");
  }

  async #pageDelta(
    listing: GraphListing,
    first: ReturnType<Client["api"]>,
    apply: (entries: unknown[]) => void,
    read: DirectoryRead,
    progress: string = listing,
  ): Promise<string> {
    const count = read.counter(progress);
    const seen = new Set<string>();
    let request = first;
    for (;;) {
      const page = await this.#calls.call(this.#ctx(listing), () => this.#get(request));
      const entries = valueOf(page);
      apply(entries);
      count(entries);
      const deltaLink = linkOf(page, "@odata.deltaLink");
      if (deltaLink) return deltaLink;
      const next = linkOf(page, "@odata.nextLink");
      if (!next) throw new IncompleteReadError(`Graph ended the ${listing} delta without a delta link`);
      // A link seen before would loop forever.
      if (seen.has(next)) throw new IncompleteReadError(`the ${listing} delta repeated a page`);
      seen.add(next);
      request = this.#client.api(next);
    }
  }

  /** Users (directly or through a group, transitively) assigned to the enterprise application. */
  async #readAssigned(servicePrincipal: string, read: DirectoryRead): Promise<Set<string> | undefined> {
    let assignments: unknown[];
    try {
      assignments = await this.#list(
        "assignments",
        this.#client.api(`/servicePrincipals/${encodeURIComponent(servicePrincipal)}/appRoleAssignedTo`).query({ $top: String(PAGE_SIZE) }),
        read,
        servicePrincipal,
      );
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      read.incomplete("scope.assignedToApp", `the app's assignments could not be read to the end: ${error.message}`);
      // Fewer, never more: only who was read is in scope.
      return idsOfAssigned(error.partial).users;
    }
    const { users, groups } = idsOfAssigned(assignments);
    if (users.size === 0 && groups.size === 0) {
      // More likely the wrong app (or one not yet assigned) than an intent: everyone would be out of scope.
      read.incomplete("scope.assignedToApp", `no user or group is assigned to the app ${servicePrincipal}; check scope.assignedToApp and the app's Users and groups`);
      return users;
    }
    const limit = new ConcurrencyLimit(this.#options.concurrency);
    let fatal: { error: unknown } | undefined;
    await Promise.all(
      [...groups].map((groupId) =>
        limit.run(async () => {
          if (fatal) return;
          try {
            const members = await this.#list(
              "members",
              this.#client
                .api(`/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user`)
                .header("ConsistencyLevel", "eventual")
                .query({ $select: "id", $top: String(PAGE_SIZE) }),
              read,
              groupId,
            );
            for (const id of idsOf(members)) users.add(id);
          } catch (error) {
            if (error instanceof IncompleteReadError) read.incomplete(`assigned group ${groupId}`, `its members could not be read: ${error.message}`);
            else fatal ??= { error };
          }
        }),
      ),
    );
    if (fatal) throw fatal.error;
    return users;
  }

  async #readFiltered(filter: string, read: DirectoryRead): Promise<Set<string>> {
    try {
      const users = await this.#list(
        "filteredUsers",
        this.#client
          .api("/users")
          // Advanced filters (ne, endsWith, counting) need eventual consistency and $count.
          .header("ConsistencyLevel", "eventual")
          .query({ $filter: filter, $select: "id", $top: String(PAGE_SIZE), $count: "true" }),
        read,
      );
      const ids = idsOf(users);
      if (ids.size === 0) read.incomplete("scope.filter", `${JSON.stringify(filter)} matches no user; check scope.filter`);
      return ids;
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      read.incomplete("scope.filter", `the users it matches could not be read to the end: ${error.message}`);
      return idsOf(error.partial);
    }
  }

  /** A list to its end, following @odata.nextLink. */
  async #list(listing: GraphListing, first: ReturnType<Client["api"]>, read: DirectoryRead, subject?: string): Promise<unknown[]> {
    return this.#calls.listAll(
      this.#ctx(listing, subject),
      async (next): Promise<Page<unknown>> => {
        const page = await this.#get(next ? this.#client.api(next) : first);
        return { items: valueOf(page), nextPageToken: linkOf(page, "@odata.nextLink") };
      },
      read.counter(listing),
    );
  }

  /**
   * One GET with the run's timeout (the Graph client has none), read raw: the client's own
   * parsing loses Retry-After on a non-JSON error and calls a body that broke off a failure
   * of the 200 it came with.
   */
  async #get(request: ReturnType<Client["api"]>): Promise<GraphPage> {
    const response = (await request.responseType(ResponseType.RAW).options({ signal: AbortSignal.timeout(this.#options.timeoutMs) }).get()) as Response;
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      throw new UnexpectedResponseError(`Graph's answer broke off (${(error as Error)?.name ?? "error"})`);
    }
    if (!response.ok) throw new GraphHttpError(response.status, body, response.headers.get("retry-after") ?? undefined);
    try {
      return JSON.parse(body) as GraphPage;
    } catch {
      throw new UnexpectedResponseError("Graph's answer is not JSON");
    }
  }

  #snapshot(userRecordsById: UserRecords, groupRecordsById: GroupRecords, read: DirectoryRead): SourceSnapshot {
    const users: SourceUser[] = [];
    const protectedIds: string[] = [];
    const protectedUserNames: string[] = [];
    for (const [id, record] of Object.entries(userRecordsById)) {
      const parsed = graphUserSchema.safeParse({ id, ...record });
      // Unknown is not enabled: such a user is left as the app has them rather than provisioned.
      const unknownState = parsed.success && typeof parsed.data.accountEnabled !== "boolean";
      if (!parsed.success || unknownState) {
        const upn = record.userPrincipalName;
        const reason = parsed.success ? "has no accountEnabled, so whether the account is enabled is unknown" : describeGraphUserIssue(parsed.error);
        read.problems.push({ location: `user ${id}`, id, ...(typeof upn === "string" && upn !== "" ? { userName: upn } : {}), reason });
        protectedIds.push(id);
        continue;
      }
      users.push(toSourceUser(parsed.data));
    }
    // Graph lists no members of a HiddenMembership group without Member.Read.Hidden: its empty
    // list would read as "nobody", so such groups are left out (neither provisioned nor used for scope).
    const hidden = Object.entries(groupRecordsById).filter(([, g]) => g.visibility === "HiddenMembership");
    if (hidden.length > 0) {
      const names = hidden.slice(0, 3).map(([id, g]) => nonEmpty(g.displayName) ?? id);
      read.warnings.push(`${hidden.length} group(s) have hidden membership and are left out: ${names.join(", ")}${hidden.length > 3 ? ", …" : ""}`);
    }
    const visible = Object.entries(groupRecordsById).filter(([, g]) => g.visibility !== "HiddenMembership");
    const known = new Set([...Object.keys(userRecordsById), ...visible.map(([id]) => id)]);
    const groups: SourceGroup[] = visible.map(([id, g]) => {
      const group: SourceGroup = { id, displayName: nonEmpty(g.displayName) ?? nonEmpty(g.mail) ?? id, members: g.members.filter((m) => known.has(m)) };
      const mail = nonEmpty(g.mail);
      if (mail) group.email = mail;
      const description = nonEmpty(g.description);
      if (description) group.description = description;
      return group;
    });
    return { users, groups, complete: read.complete, problems: read.problems, protectedIds, protectedUserNames };
  }
}

function valueOf(page: unknown): unknown[] {
  if (typeof page !== "object" || page === null || Array.isArray(page)) throw new UnexpectedResponseError("Graph's answer is not a JSON object");
  const value = (page as GraphPage).value;
  // Every Graph collection answer has `value`, empty or not: an answer without it is not one.
  if (!Array.isArray(value)) throw new UnexpectedResponseError('Graph\'s answer has no "value" list');
  return value;
}

function linkOf(page: unknown, key: "@odata.nextLink" | "@odata.deltaLink"): string | undefined {
  const link = (page as GraphPage | null)?.[key];
  return typeof link === "string" && link !== "" ? link : undefined;
}


/** What the credential holds that no message may repeat. */
function credentialSecrets(credential: GraphCredentialSettings): string[] {
  if (credential.kind === "secret") return [credential.clientSecret];
  if (credential.kind === "certificate" && credential.certificatePassword) return [credential.certificatePassword];
  return [];
}

function idsOfAssigned(assignments: unknown[]): { users: Set<string>; groups: Set<string> } {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const entry of assignments) {
    const a = entry as { principalId?: unknown; principalType?: unknown } | null;
    if (typeof a?.principalId !== "string") continue;
    if (a.principalType === "User") users.add(a.principalId);
    else if (a.principalType === "Group") groups.add(a.principalId);
  }
  return { users, groups };
}

function userRecords(entries: unknown[]): UserRecords {
  const records: UserRecords = {};
  for (const entry of entries) {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id === "string" && id !== "") records[id] = userRecord(entry as Record<string, unknown>);
  }
  return records;
}

function groupRecords(entries: unknown[]): GroupRecords {
  const records: GroupRecords = {};
  applyGroupChanges(records, entries);
  return records;
}
