import { Router, type NextFunction, type Request, type Response } from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import { filterProblem, matchesFilter, type DescribeAttribute } from "./filter-match.js";
import type { FilterLiterals } from "./filter-literals.js";
import type { SandboxStore, StoredResource } from "./store.js";

/**
 * Connects scimmy (protocol: schemas, filters' syntax, PATCH, list responses, errors) to
 * the sandbox store. scimmy keeps resource declarations, handlers and config in process-wide
 * state, so everything here is set up once per process and shared by every sandbox; each
 * request carries its own sandbox's store in the context scimmy hands to the handlers.
 */

/** What a request hands to the storage handlers. */
export interface HandlerContext {
  store: SandboxStore;
  /** Decoded filter string literals (see filter-literals.ts). */
  literals?: FilterLiterals;
  /** The startIndex a list request asked for, when the page was cut here (see forPaging). */
  pageStart?: number;
}

export const BASE_PATH = "/scim/v2";
export const SCIM_CONTENT_TYPE = "application/scim+json";
/** Page size when a list request has no `count` (scimmy alone would use 20). */
export const DEFAULT_PAGE_SIZE = 100;
/** Largest page served, advertised as filter.maxResults in /ServiceProviderConfig. */
export const MAX_PAGE_SIZE = 1000;
/** Request body limit for JSON bodies (scimmy's bulk maxPayloadSize default). */
export const MAX_BODY_BYTES = 1_048_576;

// Symbol.for keys: shared even if this module is loaded twice in one process (e.g. from src
// and from dist), since scimmy's own state is shared that way too.
const CONTEXT_KEY = Symbol.for("scimsync.sandbox.context");
const ROUTER_KEY = Symbol.for("scimsync.sandbox.scimmy-router");

export function attachContext(req: Request, context: HandlerContext): void {
  (req as unknown as Record<symbol, unknown>)[CONTEXT_KEY] = context;
}

export function contextOf(source: unknown): HandlerContext {
  const context = (source as Record<symbol, unknown> | undefined)?.[CONTEXT_KEY] ?? source;
  const store = (context as Partial<HandlerContext> | undefined)?.store;
  if (!store) throw scimError(500, undefined, "request reached the sandbox storage without a store");
  return context as HandlerContext;
}

type ScimType = "uniqueness" | "invalidValue" | "invalidFilter" | "invalidSyntax" | "invalidPath" | "noTarget" | "mutability" | "tooMany";

export function scimError(status: number, scimType: ScimType | undefined, detail: string): InstanceType<typeof SCIMMY.Types.Error> {
  // scimmy's typings demand a string, its code treats a missing scimType as "none".
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

/** Runs a store operation, turning its refusals into SCIM errors scimmy passes through. */
function translate<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (error instanceof SCIMMY.Types.Error) throw error;
    // Matched by name, not class: the store may come from another copy of this module.
    const refusal = error as { name?: string; status?: number; scimType?: ScimType; message?: string };
    if (refusal?.name === "StoreError" && typeof refusal.status === "number") {
      throw scimError(refusal.status, refusal.scimType, refusal.message ?? "refused");
    }
    // Anything else would reach scimmy's catch-all, which reports it as a misleading 404.
    throw scimError(500, undefined, `sandbox storage failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

function describeWith(definition: InstanceType<typeof SCIMMY.Types.SchemaDefinition>): DescribeAttribute {
  const cache = new Map<string, ReturnType<DescribeAttribute>>();
  return (path) => {
    let facts = cache.get(path);
    if (!facts) {
      try {
        const attribute = definition.attribute(path) as unknown as { type?: unknown; config?: { caseExact?: boolean } };
        facts = { caseExact: attribute.config?.caseExact === true, type: typeof attribute.type === "string" ? attribute.type : String(attribute.type) };
      } catch {
        // Unknown attribute: RFC 7643 §2.2 default is caseExact=false.
        facts = { caseExact: false };
      }
      cache.set(path, facts);
    }
    return facts;
  };
}

/**
 * Why scimmy cannot use `filter`, or undefined. Checked before scimmy sees a request: its
 * parser throws plain TypeErrors on some malformed filters (answered as 500) and accepts others
 * (`userName eq` with no value).
 */
export function filterSyntaxProblem(filter: string): string | undefined {
  try {
    return filterProblem(new SCIMMY.Types.Filter(filter) as unknown as Record<string, unknown>[]);
  } catch (error) {
    // scimmy's own syntax errors are informative; its TypeErrors are crashes on garbage input.
    return error instanceof SCIMMY.Types.Error ? error.message : "not a valid SCIM filter expression";
  }
}

type AnyResource = InstanceType<typeof SCIMMY.Types.Resource<any>>;
type Constraints = NonNullable<AnyResource["constraints"]> & { totalResults?: number };

/**
 * Applies the sandbox's page-size policy and cuts the page here. scimmy would otherwise run every
 * matching resource through its schema before slicing, making each page cost as much as the
 * whole store (about a second per page at 2,000 users). scimmy is told the page starts at 1 so
 * it does not slice again; the requested startIndex is put back in the answer (shapeResponses).
 * With sortBy, scimmy must see everything to sort, so the old way is kept.
 */
function forPaging(resource: AnyResource, matched: StoredResource[], context: HandlerContext): StoredResource[] {
  const requested: Constraints = resource.constraints ?? {};
  const count = Math.min(requested.count ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const startIndex = Math.max(requested.startIndex ?? 1, 1);
  if (requested.sortBy !== undefined) {
    const constraints: Constraints = { ...requested, count, startIndex };
    // scimmy answers a startIndex past the end with page 1 again; an empty page is right.
    if (startIndex > matched.length) constraints.totalResults = matched.length;
    resource.constraints = constraints;
    return startIndex > matched.length ? [] : matched;
  }
  const constraints: Constraints = { ...requested, count, startIndex: 1, totalResults: matched.length };
  resource.constraints = constraints;
  context.pageStart = startIndex;
  return matched.slice(startIndex - 1, startIndex - 1 + count);
}

interface Kind {
  resource: typeof SCIMMY.Resources.User | typeof SCIMMY.Resources.Group;
  schemaId: string;
  read(store: SandboxStore, id: string): StoredResource | undefined;
  list(store: SandboxStore): StoredResource[];
  create(store: SandboxStore, data: Record<string, unknown>): StoredResource;
  replace(store: SandboxStore, id: string, data: Record<string, unknown>): StoredResource;
  remove(store: SandboxStore, id: string): void;
}

const USERS: Kind = {
  resource: SCIMMY.Resources.User,
  schemaId: SCIMMY.Schemas.User.id,
  read: (store, id) => store.readUser(id),
  list: (store) => store.listUsers(),
  create: (store, data) => store.createUser(data),
  replace: (store, id, data) => store.replaceUser(id, data),
  remove: (store, id) => store.deleteUser(id),
};

const GROUPS: Kind = {
  resource: SCIMMY.Resources.Group,
  schemaId: SCIMMY.Schemas.Group.id,
  read: (store, id) => store.readGroup(id),
  list: (store) => store.listGroups(),
  create: (store, data) => store.createGroup(data),
  replace: (store, id, data) => store.replaceGroup(id, data),
  remove: (store, id) => store.deleteGroup(id),
};

/** scimmy derives extension schema ids from the data; the core id lets filters use full URNs. */
function withSchemas(kind: Kind, stored: StoredResource): StoredResource {
  return { schemas: [kind.schemaId], ...stored };
}

function handlersFor(kind: Kind) {
  const describe = describeWith(kind.resource.schema.definition);
  return {
    egress: (resource: AnyResource, ctx: unknown) =>
      translate(() => {
        const context = contextOf(ctx);
        const { store, literals } = context;
        if (resource.id) {
          const found = kind.read(store, resource.id);
          if (!found) throw scimError(404, undefined, `Resource ${resource.id} not found`);
          return withSchemas(kind, found);
        }
        const all = kind.list(store).map((r) => withSchemas(kind, r));
        const filter = resource.filter as unknown as Record<string, unknown>[] | undefined;
        const matched = filter ? all.filter((r) => matchesFilter(r, filter, describe, literals)) : all;
        return forPaging(resource, matched, context);
      }),
    ingress: (resource: AnyResource, instance: unknown, ctx: unknown) =>
      translate(() => {
        const { store } = contextOf(ctx);
        // scimmy hands over a schema instance full of proxies; the store keeps plain JSON.
        const data = JSON.parse(JSON.stringify(instance)) as Record<string, unknown>;
        const saved = resource.id ? kind.replace(store, resource.id, data) : kind.create(store, data);
        return withSchemas(kind, saved);
      }),
    degress: (resource: AnyResource, ctx: unknown) =>
      translate(() => {
        kind.remove(contextOf(ctx).store, resource.id!);
      }),
  };
}

/** Our client reads the resource from every PATCH answer; scimmy-routers answers 204 when nothing changed. */
function patchAnswering200(kind: Kind) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const ctx = contextOf(req);
      const query: Record<string, string> = {};
      for (const key of ["attributes", "excludedAttributes"]) {
        const value = req.query[key];
        if (typeof value === "string") query[key] = value;
      }
      const Resource = kind.resource as unknown as new (id: string, query: object) => AnyResource;
      const patched = await new Resource(req.params.id!, query).patch(req.body, ctx);
      const body = patched ?? (await new Resource(req.params.id!, query).read(ctx));
      res.status(200).type(SCIM_CONTENT_TYPE).send(body);
    } catch (error) {
      next(error);
    }
  };
}

function declareResources(): void {
  SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    basepath: BASE_PATH,
    extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }],
    ...handlersFor(USERS),
  });
  SCIMMY.Resources.declare(SCIMMY.Resources.Group, { basepath: BASE_PATH, ...handlersFor(GROUPS) });
}

function buildRouter(): Router {
  declareResources();
  const router = Router();
  router.patch(`${SCIMMY.Resources.User.endpoint}/:id`, patchAnswering200(USERS));
  router.patch(`${SCIMMY.Resources.Group.endpoint}/:id`, patchAnswering200(GROUPS));
  router.use(
    new SCIMMYRouters({
      type: "bearer",
      // Authentication happens before this router (so it also covers unknown routes and bad bodies).
      handler: () => undefined as unknown as string,
      context: (req) => contextOf(req),
      // No baseUri: locations stay relative ("/scim/v2/Users/..."), identical for every sandbox in the
      // process, since scimmy stores the base path globally; each sandbox makes them absolute on the way out.
    }) as unknown as Router,
  );
  // After SCIMMYRouters, which resets filter/sort/patch/bulk support on construction.
  SCIMMY.Config.set({ filter: { maxResults: MAX_PAGE_SIZE }, etag: false, changePassword: false });
  return router;
}

/** The process-wide SCIM router, built and its resources declared on first use. */
export function scimRouter(): Router {
  const registry = globalThis as unknown as Record<symbol, Router | undefined>;
  registry[ROUTER_KEY] ??= buildRouter();
  return registry[ROUTER_KEY];
}

/** A stored resource as the server would return it, with `meta.location` under `baseUrl`. */
export function renderResource(type: "User" | "Group", stored: StoredResource, baseUrl: string): Record<string, unknown> {
  scimRouter();
  const kind = type === "User" ? USERS : GROUPS;
  const Schema = (type === "User" ? SCIMMY.Schemas.User : SCIMMY.Schemas.Group) as unknown as new (
    resource: object,
    direction: string,
    basepath: string,
  ) => object;
  const basepath = `${baseUrl}${kind.resource.endpoint}`;
  return JSON.parse(JSON.stringify(new Schema(withSchemas(kind, stored), "out", basepath))) as Record<string, unknown>;
}
