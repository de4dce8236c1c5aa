/**
 * The SCIM 2.0 target: the UserTarget and GroupTarget ports over HTTP. Resource semantics live
 * here; the wire (rate limit, retries, timeouts, error translation) lives in transport.ts.
 */
import type { PatchOperation } from "../core/mapping.js";
import type { TargetGroup, TargetUser } from "../core/model.js";
import type { GroupTarget, UserTarget } from "../core/ports.js";
import { TargetAuthError, TargetError } from "../errors.js";
import { toEntraLegacyOperations } from "./dialect.js";
import { equalityFilter } from "./filter.js";
import { toTargetGroup } from "./group-resource.js";
import { toListPage } from "./list-response.js";
import { collectListing } from "./listing.js";
import { toServiceProviderSummary, type ServiceProviderSummary } from "./service-provider-config.js";
import { ScimTransport, type RequestEvent } from "./transport.js";
import { defaultUserAgent } from "./user-agent.js";
import { toTargetUser } from "./user-resource.js";

export { toEntraLegacyOperations } from "./dialect.js";
export { escapeFilterValue } from "./filter.js";
export { toTargetGroup } from "./group-resource.js";
export { toTargetUser } from "./user-resource.js";
export type { RequestEvent } from "./transport.js";
export type { ServiceProviderSummary } from "./service-provider-config.js";

/**
 * How the target wants changes written. `patch`: RFC 7644 PATCH. `put`: the engine sends whole
 * resources through replaceUser / replaceGroup, so the client needs nothing for it.
 * `entra-legacy`: PATCH bodies in Microsoft Entra's pre-2020 shape (see dialect.ts).
 */
export type ScimDialect = "patch" | "put" | "entra-legacy";
const DIALECTS: readonly ScimDialect[] = ["patch", "put", "entra-legacy"];

export interface ScimClientOptions {
  /** e.g. https://app.example.com/scim/v2 (a trailing slash is tolerated). */
  baseUrl: string;
  /** Bearer token. It appears in no error message, log line or event. */
  token: string;
  /** Most requests in flight; also the Pool's keep-alive connections. Default 8. */
  concurrency?: number;
  /** Requests per second across all requests, retries included. Default 25; 0 = unlimited. */
  rateLimit?: number;
  /** Deadline per request, for the headers and the whole body. Default 30000. */
  timeoutMs?: number;
  /** Further attempts after a retryable failure. Default 4. */
  retries?: number;
  /** `count` of each list page. Default 100. */
  pageSize?: number;
  /** Default `scimsync/<version>`. */
  userAgent?: string;
  /** TLS verification. Default true. */
  rejectUnauthorized?: boolean;
  /** An extra CA certificate (PEM) to trust besides the usual roots. */
  ca?: string;
  /** Called after every attempt, for progress and metrics. */
  onRequest?: (event: RequestEvent) => void;
  /** Waits between retries; injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Default `patch`. */
  dialect?: ScimDialect;
}

const PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** A 404 on a path every SCIM target serves means target.url points somewhere else. */
export const BASE_URL_HINT =
  "check target.url: it must be the app's SCIM base URL, the part before /Users (e.g. https://app.example.com/scim/v2)";

export class ScimClient implements UserTarget, GroupTarget {
  readonly #transport: ScimTransport;
  readonly #pageSize: number;
  readonly #dialect: ScimDialect;

  constructor(options: ScimClientOptions) {
    const concurrency = positiveInteger(options.concurrency, 8, "concurrency");
    this.#pageSize = positiveInteger(options.pageSize, 100, "pageSize");
    this.#dialect = options.dialect ?? "patch";
    if (!DIALECTS.includes(this.#dialect)) {
      throw new RangeError(`ScimClient dialect must be one of ${DIALECTS.join(", ")}, got ${String(this.#dialect)}`);
    }
    this.#transport = new ScimTransport({
      baseUrl: options.baseUrl,
      token: options.token,
      concurrency,
      rateLimit: nonNegative(options.rateLimit, 25, "rateLimit"),
      timeoutMs: positiveInteger(options.timeoutMs, 30_000, "timeoutMs"),
      retries: nonNegative(options.retries, 4, "retries"),
      userAgent: options.userAgent ?? defaultUserAgent(),
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      ca: options.ca,
      onRequest: options.onRequest,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
    });
  }

  async listUsers(): Promise<TargetUser[]> {
    return collectListing({
      noun: "users",
      pageSize: this.#pageSize,
      toItem: toTargetUser,
      fetchPage: async (startIndex) => {
        const { json } = await this.#transport.send({
          method: "GET",
          path: "/Users",
          query: { startIndex, count: this.#pageSize },
          notFoundHint: BASE_URL_HINT,
        });
        return toListPage("GET /Users", json);
      },
    });
  }

  /**
   * A 404 in SCIM's words (an Error body, or any JSON or empty body) means the user is gone; an
   * HTML 404 means the URL is wrong and fails, as for DELETE. Some apps leave inactive users out
   * of GET /Users, so the planner asks here before it believes a managed user has disappeared.
   */
  async getUser(id: string): Promise<TargetUser | undefined> {
    return this.#getOne(userPath(id), toTargetUser);
  }

  async #getOne<T>(path: string, parse: (json: unknown) => T): Promise<T | undefined> {
    const { status, json } = await this.#transport.send({ method: "GET", path, acceptStatuses: [404], notFoundHint: BASE_URL_HINT });
    if (status === 404) return undefined;
    try {
      return parse(json);
    } catch (error) {
      const problem = error instanceof TargetError ? error.message : "an unreadable body";
      throw new TargetError(`GET ${path}: ${problem}`, { status, cause: error });
    }
  }

  /** One page of matches: a filter on userName or externalId should match one user, rarely a few. */
  async findUsers(attribute: "externalId" | "userName", value: string): Promise<TargetUser[]> {
    const { json } = await this.#transport.send({
      method: "GET",
      path: "/Users",
      query: { filter: equalityFilter(attribute, value), startIndex: 1, count: this.#pageSize },
    });
    return toListPage("GET /Users", json).resources.map(toTargetUser);
  }

  async createUser(resource: Record<string, unknown>): Promise<TargetUser> {
    const { status, json } = await this.#transport.send({ method: "POST", path: "/Users", body: resource });
    return readCreated("POST /Users", status, json, toTargetUser);
  }

  async patchUser(id: string, operations: PatchOperation[]): Promise<TargetUser | undefined> {
    const { json } = await this.#transport.send({ method: "PATCH", path: userPath(id), body: this.#patchBody(operations) });
    return userOrNothing(json);
  }

  async replaceUser(id: string, resource: Record<string, unknown>): Promise<TargetUser | undefined> {
    const { json } = await this.#transport.send({ method: "PUT", path: userPath(id), body: resource });
    return userOrNothing(json);
  }

  async deleteUser(id: string): Promise<void> {
    // A 404 is what a repeated DELETE gets once the first one went through.
    await this.#transport.send({ method: "DELETE", path: userPath(id), acceptStatuses: [404], notFoundHint: BASE_URL_HINT });
  }

  /**
   * Only the first page can tell that the target has no /Groups at all: a 404 (whatever the
   * body: targets without groups rarely answer in SCIM's words there) or a 501. Later pages of
   * a listing that has started must not fail that way, so there it is an error like any other.
   * Targets that ignore excludedAttributes send members anyway; they are kept.
   */
  async listGroups(): Promise<TargetGroup[] | undefined> {
    let first = true;
    try {
      return await collectListing({
        noun: "groups",
        pageSize: this.#pageSize,
        toItem: toTargetGroup,
        fetchPage: async (startIndex) => {
          const { json } = await this.#transport.send({
            method: "GET",
            path: "/Groups",
            query: { excludedAttributes: "members", startIndex, count: this.#pageSize },
            notFoundHint: BASE_URL_HINT,
          });
          first = false;
          return toListPage("GET /Groups", json);
        },
      });
    } catch (error) {
      if (first && error instanceof TargetError && (error.status === 404 || error.status === 501)) return undefined;
      throw error;
    }
  }

  /** With members. A SCIM 404 means the group is gone; an HTML 404 means a wrong URL and fails, as in getUser. */
  async getGroup(id: string): Promise<TargetGroup | undefined> {
    return this.#getOne(groupPath(id), toTargetGroup);
  }

  /** One page of matches, without members: a displayName or externalId should match one group. */
  async findGroups(attribute: "externalId" | "displayName", value: string): Promise<TargetGroup[]> {
    const { json } = await this.#transport.send({
      method: "GET",
      path: "/Groups",
      query: { filter: equalityFilter(attribute, value), excludedAttributes: "members", startIndex: 1, count: this.#pageSize },
    });
    return toListPage("GET /Groups", json).resources.map(toTargetGroup);
  }

  async createGroup(resource: Record<string, unknown>): Promise<TargetGroup> {
    const { status, json } = await this.#transport.send({ method: "POST", path: "/Groups", body: resource });
    return readCreated("POST /Groups", status, json, toTargetGroup);
  }

  /** 200 or 204; whatever a 200 carries is ignored, since targets that hide members echo groups without them. */
  async patchGroup(id: string, operations: PatchOperation[]): Promise<void> {
    await this.#transport.send({ method: "PATCH", path: groupPath(id), body: this.#patchBody(operations) });
  }

  async replaceGroup(id: string, resource: Record<string, unknown>): Promise<void> {
    await this.#transport.send({ method: "PUT", path: groupPath(id), body: resource });
  }

  async deleteGroup(id: string): Promise<void> {
    // A 404 is what a repeated DELETE gets once the first one went through.
    await this.#transport.send({ method: "DELETE", path: groupPath(id), acceptStatuses: [404], notFoundHint: BASE_URL_HINT });
  }

  /**
   * Entra's Test Connection: a userName filter that can match nobody must answer 200 with an
   * empty list, which proves the token is accepted and the filters scimsync relies on work.
   * Then one unfiltered page of one user, for the number of users the target reports; that
   * page is a courtesy, so only an auth failure on it counts.
   */
  async checkUserAccess(unusedUserName: string): Promise<{ totalUsers?: number }> {
    const { json } = await this.#transport.send({
      method: "GET",
      path: "/Users",
      query: { filter: equalityFilter("userName", unusedUserName), startIndex: 1, count: 1 },
      notFoundHint: BASE_URL_HINT,
    });
    const page = toListPage("GET /Users", json);
    const matched = Math.max(page.totalResults, page.resources.length);
    if (matched > 0) {
      throw new TargetError(`GET /Users: a filter on a userName nobody has matched ${matched} user(s) instead of none`, {
        status: 200,
        hint: "the target seems to ignore SCIM filters; scimsync needs userName eq \"...\" filters to find existing accounts",
      });
    }
    try {
      const { json: all } = await this.#transport.send({ method: "GET", path: "/Users", query: { startIndex: 1, count: 1 } });
      return { totalUsers: toListPage("GET /Users", all).totalResults };
    } catch (error) {
      if (error instanceof TargetAuthError) throw error;
      return {};
    }
  }

  /** GET /ServiceProviderConfig; undefined when the target has none (a 404 or 501, as many apps answer). */
  async getServiceProviderConfig(): Promise<ServiceProviderSummary | undefined> {
    try {
      const { json } = await this.#transport.send({ method: "GET", path: "/ServiceProviderConfig" });
      return toServiceProviderSummary(json);
    } catch (error) {
      if (error instanceof TargetError && (error.status === 404 || error.status === 501)) return undefined;
      throw error;
    }
  }

  /**
   * Whether the target serves /Groups, and how many it reports: the first page of a listing
   * (one group, without members) answers it the way listGroups tells; a 404 or 501 means no groups.
   */
  async countGroups(): Promise<number | undefined> {
    try {
      const { json } = await this.#transport.send({
        method: "GET",
        path: "/Groups",
        query: { excludedAttributes: "members", startIndex: 1, count: 1 },
        notFoundHint: BASE_URL_HINT,
      });
      return toListPage("GET /Groups", json).totalResults;
    } catch (error) {
      if (error instanceof TargetError && (error.status === 404 || error.status === 501)) return undefined;
      throw error;
    }
  }

  /** HTTP requests sent so far, retries included. */
  requestCount(): number {
    return this.#transport.sent;
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  #patchBody(operations: PatchOperation[]): Record<string, unknown> {
    return {
      schemas: [PATCH_OP_SCHEMA],
      Operations: this.#dialect === "entra-legacy" ? toEntraLegacyOperations(operations) : operations,
    };
  }
}

/**
 * The resource a POST created. A 2xx means the target created something, so a second POST
 * would make a duplicate: when the body is unusable the error is ambiguous, and the engine
 * looks the resource up instead of creating it again.
 */
function readCreated<T>(request: string, status: number, json: unknown, convert: (resource: unknown) => T): T {
  try {
    return convert(json);
  } catch (error) {
    const problem = error instanceof TargetError ? error.message : "an unreadable body";
    throw new TargetError(`${request}: target answered ${status} but ${problem.replace(/^target returned /, "returned ")}`, {
      status,
      ambiguous: true,
      cause: error,
    });
  }
}

/**
 * A 200 whose body is not a full User (some targets echo `{}` or the operations) still means
 * the change was applied, so it is reported like a 204 rather than as a failure.
 */
function userOrNothing(json: unknown): TargetUser | undefined {
  if (json === undefined) return undefined;
  try {
    return toTargetUser(json);
  } catch {
    return undefined;
  }
}

function groupPath(id: string): string {
  return `/Groups/${encodeURIComponent(id)}`;
}

function userPath(id: string): string {
  return `/Users/${encodeURIComponent(id)}`;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`ScimClient ${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`ScimClient ${name} must be zero or more, got ${value}`);
  return value;
}
