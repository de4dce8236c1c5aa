import { createHash, timingSafeEqual } from "node:crypto";
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { FilterLiteralError, protectLiterals, restoreLiterals, type FilterLiterals, type ProtectedFilter } from "./filter-literals.js";
import { attachContext, BASE_PATH, contextOf, filterSyntaxProblem, MAX_BODY_BYTES, SCIM_CONTENT_TYPE } from "./scimmy-glue.js";

import type { RequestLogEntry } from "./server.js";
import type { SandboxStore } from "./store.js";

/** The sandbox's HTTP concerns around scimmy: logging, auth, bodies, response shape, errors. */

const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

export function sendScimError(res: Response, status: number, detail: string, scimType?: string): void {
  const body: Record<string, unknown> = { schemas: [ERROR_SCHEMA], status: String(status) };
  if (scimType) body.scimType = scimType;
  body.detail = detail;
  res.status(status).type(SCIM_CONTENT_TYPE).json(body);
}

/** Where parseJsonBody leaves the raw body for the request log. */
const RAW_BODY_KEY = Symbol("scimsync.sandbox.raw-body");

/**
 * The request body as it arrived, parsed afresh from the raw bytes: scimmy may change the
 * object it is handed, and the log must show what the client sent. Undefined when no JSON body
 * was read (no body, not JSON, or refused before parsing, as a 401 is).
 */
function receivedBody(req: Request): unknown {
  const raw = (req as unknown as Record<symbol, Buffer | undefined>)[RAW_BODY_KEY];
  if (raw === undefined || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Logs a request when its response head is written, not on "finish": a client in the same
 * process may otherwise read the response before the entry exists.
 */
export function logRequests(log: RequestLogEntry[]): RequestHandler {
  return (req, res, next) => {
    const url = req.originalUrl;
    const cut = url.indexOf("?");
    const entry = { method: req.method, path: cut < 0 ? url : url.slice(0, cut), query: cut < 0 ? "" : url.slice(cut + 1) };
    const writeHead = res.writeHead;
    let logged = false;
    res.writeHead = function (this: Response, ...args: unknown[]) {
      if (!logged) {
        logged = true;
        const record: RequestLogEntry = { ...entry, status: typeof args[0] === "number" ? args[0] : res.statusCode };
        const body = receivedBody(req);
        if (body !== undefined) record.body = body;
        log.push(record);
      }
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as Response["writeHead"];
    next();
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Bearer-token check for every route, including unknown ones. */
export function requireBearer(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get("authorization") ?? "");
    if (match && timingSafeEqual(digest(match[1]!), expected)) return next();
    res.set("WWW-Authenticate", 'Bearer realm="scimsync-sandbox"');
    sendScimError(res, 401, match ? "Invalid bearer token" : "Missing bearer token");
  };
}

/** JSON bodies are parsed here so that a malformed one becomes a SCIM 400, never an HTML page. */
export const parseJsonBody: RequestHandler = express.json({
  type: [SCIM_CONTENT_TYPE, "application/json", "application/*+json"],
  limit: MAX_BODY_BYTES,
  verify: (req, _res, raw) => {
    (req as unknown as Record<symbol, Buffer>)[RAW_BODY_KEY] = raw;
  },
});

/**
 * Binds the request to this sandbox's store. A filter (query, or body of POST .search) gets its
 * string literals decoded (see filter-literals.ts) and is checked before scimmy parses it.
 */
export function bindStore(store: SandboxStore): RequestHandler {
  return (req, res, next) => {
    const holder: Record<string, unknown> | undefined =
      typeof req.query.filter === "string"
        ? (req.query as Record<string, unknown>)
        : req.method === "POST" && req.path.endsWith("/.search") && typeof req.body?.filter === "string"
          ? (req.body as Record<string, unknown>)
          : undefined;
    let literals: FilterLiterals | undefined;
    if (holder) {
      const original = holder.filter as string;
      let safe: ProtectedFilter;
      try {
        safe = protectLiterals(original);
      } catch (error) {
        if (error instanceof FilterLiteralError) return sendScimError(res, 400, error.message, "invalidFilter");
        throw error;
      }
      const problem = filterSyntaxProblem(safe.filter);
      if (problem) return sendScimError(res, 400, `Invalid filter ${JSON.stringify(original)}: ${restoreLiterals(problem, safe.literals)}`, "invalidFilter");
      holder.filter = safe.filter;
      literals = safe.literals;
    }
    attachContext(req, { store, literals });
    next();
  };
}

/** The startIndex a list request asked for, when the glue cut the page itself. */
function pageStartOf(req: Request): number | undefined {
  try {
    return contextOf(req).pageStart;
  } catch {
    return undefined; // no store bound: not a resource request
  }
}

function absolutise(value: unknown, origin: string): void {
  const meta = (value as { meta?: { location?: unknown } } | null)?.meta;
  if (meta && typeof meta.location === "string" && meta.location.startsWith("/")) meta.location = `${origin}${meta.location}`;
}

const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
const GROUPS_PATH = new RegExp(`^${BASE_PATH}/Groups(/|$)`, "i");

/**
 * Whether a resource in an answer is a Group. Anything answered under /Groups is; elsewhere
 * (POST /.search) it has to say so, by meta or schemas, which `attributes=` may have left out.
 */
function isGroup(value: unknown, underGroups: boolean): boolean {
  if (value === null || typeof value !== "object") return false;
  if (underGroups) return true;
  const { meta, schemas } = value as { meta?: { resourceType?: unknown }; schemas?: unknown };
  return meta?.resourceType === "Group" || (Array.isArray(schemas) && schemas.includes(GROUP_SCHEMA));
}

export interface ResponseShape {
  /** Leave `members` out of every Group in an answer (see SandboxOptions.hideGroupMembers). */
  hideGroupMembers: boolean;
}

/**
 * Final touches on every JSON answer: scimmy's locations (meta and bulk results) are relative
 * (see scimmy-glue.ts) and become absolute here; a ListResponse's itemsPerPage is the size of
 * the page, not the count asked for (RFC 7644 §3.4.2); a 201 carries a Location header (§3.3).
 * Hidden group members are cut here, on the way out, because scimmy's PATCH reads the stored
 * group through the same handlers: hiding them there would make it rewrite the membership.
 */
export function shapeResponses(origin: () => string, shape: ResponseShape): RequestHandler {
  return (req, res, next) => {
    const json = res.json.bind(res);
    res.json = (input?: unknown) => {
      if (input === undefined || input === null || typeof input !== "object") return json(input);
      const body = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
      absolutise(body, origin());
      // originalUrl: scimmy's nested routers have cut req.path down by the time they answer.
      const underGroups = GROUPS_PATH.test(req.originalUrl.split("?")[0]!);
      const hideMembers = (resource: unknown) => {
        if (shape.hideGroupMembers && isGroup(resource, underGroups)) delete (resource as Record<string, unknown>).members;
      };
      hideMembers(body);
      if (Array.isArray(body.schemas) && body.schemas.includes(LIST_SCHEMA) && Array.isArray(body.Resources)) {
        for (const resource of body.Resources) absolutise(resource, origin());
        body.Resources.forEach(hideMembers);
        body.itemsPerPage = body.Resources.length;
        const pageStart = pageStartOf(req);
        if (pageStart !== undefined) body.startIndex = pageStart;
      }
      if (Array.isArray(body.schemas) && body.schemas.includes(BULK_RESPONSE_SCHEMA) && Array.isArray(body.Operations)) {
        for (const operation of body.Operations as { location?: unknown }[]) {
          if (typeof operation?.location === "string" && operation.location.startsWith("/")) operation.location = `${origin()}${operation.location}`;
        }
      }
      const location = (body.meta as { location?: unknown } | undefined)?.location;
      if (res.statusCode === 201 && typeof location === "string") res.location(location);
      return json(body);
    };
    next();
  };
}

export const notFound: RequestHandler = (req, res) =>
  sendScimError(res, 404, `No such endpoint: ${req.method} ${req.originalUrl.split("?")[0]}`);

/** Turns any error into a SCIM error response; the process never crashes on a request. */
export const handleErrors: ErrorRequestHandler = (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  // scimmy-routers already answered and forwards 5xx errors for logging only.
  if (res.headersSent) return;
  const e = (error ?? {}) as { name?: string; status?: unknown; statusCode?: unknown; scimType?: unknown; message?: unknown; type?: unknown };
  const status = typeof e.status === "number" ? e.status : typeof e.statusCode === "number" ? e.statusCode : 500;
  const message = typeof e.message === "string" ? e.message : String(error);
  if (e.type === "entity.parse.failed") return sendScimError(res, 400, `Request body is not valid JSON: ${message}`, "invalidSyntax");
  if (e.type === "entity.too.large") return sendScimError(res, 413, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
  if (status >= 400 && status < 600) {
    return sendScimError(res, status, message, typeof e.scimType === "string" && e.scimType ? e.scimType : undefined);
  }
  sendScimError(res, 500, message);
};
