/**
 * Google Workspace as the directory: users, groups and memberships read through the Admin SDK
 * Directory API, shaped into the source model. Scope settings that only Google can evaluate
 * (organizational units, a user query, one domain) are judged here and handed to the core as
 * `inScopeIds`; group scope stays with the core, like for every source.
 */
import type { admin_directory_v1 } from "@googleapis/admin";
import type { SourceSnapshot, SourceUser } from "../../core/model.js";
import type { DirectorySource, SourceProgress } from "../../core/ports.js";
import { namesGroup } from "../../core/scope.js";
import { ConcurrencyLimit } from "../../scim/concurrency-limit.js";
import { directoryClient, type GoogleClientOptions } from "./google-client.js";
import { SourceCalls, IncompleteReadError, UnexpectedResponseError, type Page } from "../source-calls.js";
import { classifyGoogleFailure, LISTING_TEXT, type FailureContext, type GoogleListing } from "./google-errors.js";
import { withoutSecrets } from "../secret-free-failure.js";
import { describeUserIssue, googleUserSchema, toSourceUser, type GoogleUser } from "./google-user.js";
import { DirectoryRead } from "../directory-read.js";
import { idOf, idsOf } from "../record-values.js";
import { probeAccess, type SourceAccess, type SourceAccessCheck } from "../access-check.js";
import { googleSourceScope } from "./google-scope.js";
import { toSourceGroups, type RawGroup, type RawMember } from "./google-groups.js";

/** Directory API page sizes: the largest each listing allows. */
const USERS_PER_PAGE = 500;
const GROUPS_PER_PAGE = 200;
const MEMBERS_PER_PAGE = 200;

/** The `kind` of each listing's answer: anything else is not the Directory API speaking (a proxy, a captive portal). */
const KINDS = {
  users: "admin#directory#users",
  groups: "admin#directory#groups",
  members: "admin#directory#members",
  organizationUnits: "admin#directory#orgUnits",
} as const;

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

export class GoogleSource implements DirectorySource, SourceAccessCheck {
  readonly #options: GoogleSourceOptions;
  readonly #directory: admin_directory_v1.Admin;
  readonly #calls: SourceCalls<FailureContext>;
  readonly #context: Omit<FailureContext, "listing">;

  constructor(options: GoogleSourceOptions) {
    this.#options = options;
    this.#directory = options.client ?? directoryClient(options.connection, options.timeoutMs);
    const credentials = options.connection.credentials;
    const secrets = credentials.kind === "access-token" ? [credentials.token] : [credentials.privateKey];
    this.#calls = new SourceCalls<FailureContext>({
      classify: (error, context) => withoutSecrets(classifyGoogleFailure(error, context), secrets),
      describe: (context) => LISTING_TEXT[context.listing],
      retries: options.retries,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    });
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
      ...(options.query ? { query: options.query } : {}),
    };
  }

  /** Directory API requests made so far, retries included. */
  get requestCount(): number {
    return this.#calls.requests;
  }

  async read(readOptions: { onProgress?: (progress: SourceProgress) => void } = {}): Promise<SourceSnapshot> {
    const read = new DirectoryRead(readOptions.onProgress);
    const o = this.#options;
    // The listings do not depend on each other: they run side by side, and member lists start
    // as soon as the groups are listed.
    const groupsAndMembers = o.groups.list
      ? read
          .attempt("groups listing", () => this.#listGroups(read), () => undefined)
          .then(async (groups) => (groups ? { groups, members: await this.#readMembers(groups, read) } : undefined))
      : undefined;
    const [users, queried, deleted, orgUnits, groups] = await Promise.all([
      // What was read of the users is kept: they are created and updated; only deprovisioning needs them all.
      read.attempt("users listing", () => this.#listUsers(read), (partial) => partial),
      // A query listing that failed admits only the users it did list: fewer, never more.
      o.query ? read.attempt("scope.query listing", () => this.#listQueried(o.query!, read), (partial) => idsOf(partial)) : undefined,
      o.showDeleted ? this.#listDeletedOrWarn(read) : undefined,
      o.orgUnits && o.orgUnits.length > 0 ? read.attempt("organizational units listing", () => this.#listOrgUnits(read), () => undefined) : undefined,
      groupsAndMembers,
    ]);
    return this.#snapshot(read, { users, queried, deleted, orgUnits, groups });
  }

  /** One page of one user, ids only: the credentials, the delegation and source.customer work. */
  async checkAccess(): Promise<SourceAccess> {
    return probeAccess(async () => {
      const users = await this.#calls.call(this.#ctx("users"), async () => {
        const response = await this.#directory.users.list(
          { customer: this.#options.customer, maxResults: 1, fields: "kind,users(id)" },
          this.#methodOptions(),
        );
        return listOf(response.data, "users");
      });
      return users.length;
    });
  }

  #methodOptions() {
    return { retry: false, timeout: this.#options.timeoutMs };
  }

  #ctx(listing: GoogleListing, group?: string): FailureContext {
    return { ...this.#context, listing, ...(group ? { group } : {}) };
  }

  /** One users.list listing to its end: the users, the ids a query admits, or the recently deleted. */
  async #listUserRecords(listing: "users" | "userQuery" | "deletedUsers", params: admin_directory_v1.Params$Resource$Users$List, read: DirectoryRead): Promise<unknown[]> {
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
    const users = await this.#listUserRecords("users", { projection: "full", fields: `kind,nextPageToken,users(${this.#options.userFields.join(",")})` }, read);
    // The admin the requests act for is a user of the account: an empty listing is an answer gone wrong, not an empty account.
    if (users.length === 0) throw new IncompleteReadError("Google listed no user at all, not even the admin the requests act for");
    return users;
  }

  /** The ids the directory's own query admits: a second, ids-only listing. */
  async #listQueried(query: string, read: DirectoryRead): Promise<Set<string>> {
    return idsOf(await this.#listUserRecords("userQuery", { query, fields: "kind,nextPageToken,users(id)" }, read));
  }

  /** Recently deleted users only refine the deletion times: when they cannot be read, the run goes on without them. */
  async #listDeletedOrWarn(read: DirectoryRead): Promise<Record<string, string> | undefined> {
    let items: unknown[];
    try {
      items = await this.#listUserRecords("deletedUsers", { showDeleted: "true", fields: "kind,nextPageToken,users(id,deletionTime)" }, read);
    } catch (error) {
      if (!(error instanceof IncompleteReadError)) throw error;
      read.warnings.push(`recently deleted users could not be listed (${error.message}); deletion delays count from when scimsync notices`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const item of items) {
      const id = idOf(item);
      const time = (item as { deletionTime?: unknown }).deletionTime;
      if (id !== undefined && typeof time === "string" && !Number.isNaN(Date.parse(time))) out[id] = new Date(time).toISOString();
    }
    return out;
  }

  async #listOrgUnits(read: DirectoryRead): Promise<string[]> {
    const response = await this.#calls.call(this.#ctx("orgUnits"), async () => {
      const answer = await this.#directory.orgunits.list(
        { customerId: this.#options.customer, type: "all", fields: "kind,organizationUnits(orgUnitPath)" },
        this.#methodOptions(),
      );
      return listOf(answer.data, "organizationUnits");
    });
    read.counter("orgUnits")(response);
    return response.map((u) => (u as { orgUnitPath?: unknown }).orgUnitPath).filter((p): p is string => typeof p === "string");
  }

  async #listGroups(read: DirectoryRead): Promise<RawGroup[]> {
    const items = await this.#calls.listAll(
      this.#ctx("groups"),
      async (pageToken): Promise<Page<unknown>> => {
        const response = await this.#directory.groups.list(
          {
            customer: this.#options.customer,
            maxResults: GROUPS_PER_PAGE,
            fields: "kind,nextPageToken,groups(id,email,name,description)",
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
   * group is read once however often it is nested, so a cycle ends by itself. After a failure
   * that stops the run (a missing scope), no further read is started.
   */
  async #readMembers(groups: RawGroup[], read: DirectoryRead): Promise<Map<string, RawMember[]>> {
    const known = new Map<string, RawGroup>();
    for (const g of groups) if (typeof g.id === "string" && g.id !== "" && !known.has(g.id)) known.set(g.id, g);
    const wanted = this.#options.groups.membersOf;
    const roots =
      wanted === "all"
        ? [...known.keys()]
        : [...known.entries()]
            .filter(([id, g]) => wanted.some((ref) => namesGroup({ id, displayName: g.name ?? "", ...(g.email ? { email: g.email } : {}) }, ref)))
            .map(([id]) => id);
    const members = new Map<string, RawMember[]>();
    const limit = new ConcurrencyLimit(this.#options.concurrency);
    const visited = new Set<string>();
    const running: Promise<void>[] = [];
    const count = read.counter("members");
    let fatal: { error: unknown } | undefined;
    const visit = (groupId: string): void => {
      if (visited.has(groupId) || fatal) return;
      visited.add(groupId);
      const label = known.get(groupId)!.email ?? groupId;
      const task = limit.run(async () => {
        if (fatal) return;
        try {
          const items = await this.#listMembers(groupId, label, count);
          const list = items.filter((m): m is RawMember => typeof m === "object" && m !== null);
          members.set(groupId, list);
          for (const m of list) if (m.type === "GROUP" && typeof m.id === "string" && known.has(m.id)) visit(m.id);
        } catch (error) {
          if (error instanceof IncompleteReadError) read.groupUnread(groupId, label, error.message);
          // Handled here, as it happens: a rejection waiting in `running` would be "unhandled".
          else fatal ??= { error };
        }
      });
      running.push(task);
    };
    for (const root of roots) visit(root);
    // Nested groups join `running` while earlier reads finish.
    for (let i = 0; i < running.length; i++) await running[i];
    if (fatal) throw fatal.error;
    return members;
  }

  async #listMembers(groupId: string, label: string, count: (items: unknown[]) => void): Promise<unknown[]> {
    return this.#calls.listAll(
      this.#ctx("members", label),
      async (pageToken): Promise<Page<unknown>> => {
        const response = await this.#directory.members.list(
          { groupKey: groupId, maxResults: MEMBERS_PER_PAGE, fields: "kind,nextPageToken,members(id,email,type)", ...(pageToken ? { pageToken } : {}) },
          this.#methodOptions(),
        );
        return { items: listOf(response.data, "members"), nextPageToken: response.data?.nextPageToken };
      },
      count,
    );
  }

  #snapshot(
    read: DirectoryRead,
    data: {
      users: unknown[];
      queried: Set<string> | undefined;
      deleted: Record<string, string> | undefined;
      orgUnits: string[] | undefined;
      groups: { groups: RawGroup[]; members: Map<string, RawMember[]> } | undefined;
    },
  ): SourceSnapshot {
    const o = this.#options;
    const protectedIds: string[] = [];
    const protectedUserNames: string[] = [];
    const parsed = this.#parseUsers(data.users, read, protectedIds, protectedUserNames);

    const idByEmail = new Map<string, string>();
    for (const u of parsed) {
      idByEmail.set(u.primaryEmail.toLowerCase(), u.id);
      for (const alias of u.aliases ?? []) idByEmail.set(alias.toLowerCase(), u.id);
    }
    const users: SourceUser[] = [];
    let archived = 0;
    for (const g of parsed) {
      if (g.archived === true && o.archived === "ignore") {
        // Google's autoprovisioning neither provisions nor deprovisions archived users: they keep what they have.
        archived++;
        protectedIds.push(g.id);
        continue;
      }
      users.push(toSourceUser(g, { archived: o.archived, idByEmail }));
    }
    if (archived > 0) read.warnings.push(`${archived} archived user(s) are left as they are in the app (source.archived: ignore)`);

    // Scope first: it may find the read incomplete, which the group warnings depend on.
    const inScope = googleSourceScope(
      parsed,
      { ...(o.domain ? { domain: o.domain } : {}), ...(o.orgUnits ? { orgUnits: o.orgUnits } : {}), ...(o.query ? { query: o.query } : {}) },
      { ...(data.queried ? { queried: data.queried } : {}), ...(data.orgUnits ? { orgUnits: data.orgUnits } : {}) },
      read,
    );
    // Users skipped as malformed are still the account's own, not guests.
    const accountUserIds = new Set([...parsed.map((u) => u.id), ...protectedIds]);
    const groups = data.groups ? toSourceGroups(data.groups.groups, data.groups.members, accountUserIds, read) : [];

    const snapshot: SourceSnapshot = { users, groups, complete: read.complete, problems: read.problems, protectedIds, protectedUserNames };
    if (inScope) snapshot.inScopeIds = inScope;
    if (data.deleted && Object.keys(data.deleted).length > 0) snapshot.deletedAt = data.deleted;
    if (read.warnings.length > 0) snapshot.warnings = read.warnings;
    return snapshot;
  }

  /** Checks every record; a malformed one is reported and its user protected, never half-used. */
  #parseUsers(records: unknown[], read: DirectoryRead, protectedIds: string[], protectedUserNames: string[]): GoogleUser[] {
    const parsed: GoogleUser[] = [];
    const seen = new Set<string>();
    records.forEach((record, index) => {
      const result = googleUserSchema.safeParse(record);
      if (!result.success) {
        const id = idOf(record);
        const email = (record as { primaryEmail?: unknown })?.primaryEmail;
        read.problems.push({
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
    return parsed;
  }
}

/**
 * The list in a Directory API answer, checked to be one: a 2xx that is not the Directory API's
 * (a proxy's page, `{}`) must never read as an empty or last page. Google leaves the list out
 * of an empty page, but always sends the `kind`.
 */
function listOf(data: unknown, key: keyof typeof KINDS): unknown[] {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UnexpectedResponseError(`Google's answer listing ${key} is not a JSON object`);
  }
  const body = data as Record<string, unknown>;
  if (body.kind !== KINDS[key]) throw new UnexpectedResponseError(`Google's answer listing ${key} is not a Directory API list (kind ${JSON.stringify(body.kind ?? null)})`);
  const list = body[key];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new UnexpectedResponseError(`Google's answer listing ${key} has a "${key}" that is not a list`);
  return list;
}
