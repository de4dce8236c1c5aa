import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import express from "express";
import { readDataFile, writeDataFile } from "./data-file.js";
import { bindStore, handleErrors, logRequests, notFound, parseJsonBody, requireBearer, shapeResponses } from "./middleware.js";
import { BASE_PATH, renderResource, scimRouter } from "./scimmy-glue.js";
import { SandboxStore } from "./store.js";

/**
 * A local SCIM 2.0 server: the demo target of `scimsync sandbox` and the target of our
 * integration and end-to-end tests. Protocol behaviour is scimmy's; see scimmy-glue.ts.
 */

export interface SandboxOptions {
  /** 0 = pick a free port; default 0. */
  port?: number;
  /** Default: random 32-byte hex. */
  token?: string;
  /** Persist here (JSON, atomic write, mode 0600) and load at start. */
  dataFile?: string;
  /** false: /Groups answers 404 on every method, like a target without group support. Default true. */
  groups?: boolean;
  /**
   * true: no Group in any answer carries `members`, while membership writes (POST, PUT, PATCH)
   * still work, like targets that never return members (AWS). `groups()` still shows them.
   * Default false.
   */
  hideGroupMembers?: boolean;
}

export interface RequestLogEntry {
  method: string;
  /** Without the query string. */
  path: string;
  /** The raw (still percent-encoded) query string, without `?`; empty when there is none. */
  query: string;
  status: number;
  /**
   * The JSON request body as the client sent it (POST, PUT, PATCH); absent when the request
   * had none, or when it was refused before the body was read (a 401).
   */
  body?: unknown;
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:43123/scim/v2 (no trailing slash). */
  baseUrl: string;
  token: string;
  /** Every request served, in the order their responses started. */
  requests: RequestLogEntry[];
  /** Current stored User resources, as the server would return them. */
  users(): Record<string, unknown>[];
  /** Current stored Group resources, with their members even when hideGroupMembers is set. */
  groups(): Record<string, unknown>[];
  /** Empties the store (and the data file, if any) and the request log. */
  reset(): void;
  /** Stops listening and closes keep-alive sockets at once. */
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once("error", reject);
    // Loopback only: the sandbox has a well-known demo token and must not be reachable from outside.
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolveListen();
    });
  });
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const token = options.token ?? randomBytes(32).toString("hex");
  const dataFile = options.dataFile === undefined ? undefined : resolve(options.dataFile);
  const store = new SandboxStore({
    initial: dataFile === undefined ? undefined : readDataFile(dataFile),
    onChange: dataFile === undefined ? undefined : (snapshot) => writeDataFile(dataFile, snapshot),
  });
  const requests: RequestLogEntry[] = [];
  let origin = "";

  const app = express();
  app.disable("x-powered-by");
  // Express's automatic ETag would look like SCIM versioning, which the sandbox does not offer.
  app.set("etag", false);
  app.use(logRequests(requests));
  app.use(requireBearer(token));
  app.use(BASE_PATH, parseJsonBody);
  if (options.groups === false) app.use(`${BASE_PATH}/Groups`, notFound);
  app.use(
    BASE_PATH,
    bindStore(store),
    shapeResponses(() => origin, { hideGroupMembers: options.hideGroupMembers ?? false }),
    scimRouter(),
  );
  app.use(notFound);
  app.use(handleErrors);

  const server = createServer(app);
  await listen(server, options.port ?? 0);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const baseUrl = `${origin}${BASE_PATH}`;

  let closing: Promise<void> | undefined;
  return {
    baseUrl,
    token,
    requests,
    users: () => store.listUsers().map((u) => renderResource("User", u, baseUrl)),
    groups: () => store.listGroups().map((g) => renderResource("Group", g, baseUrl)),
    reset: () => {
      store.clear();
      requests.length = 0;
    },
    close: () => {
      closing ??= new Promise<void>((resolveClose, reject) => {
        server.close((error) => (error ? reject(error) : resolveClose()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
