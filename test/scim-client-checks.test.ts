/**
 * The ScimClient's connection checks (test-connection, reauthorize) against scripted servers:
 * Entra's empty-filter query, a count of users, /ServiceProviderConfig and /Groups.
 */
import { describe, expect, it } from "vitest";
import { TargetAuthError, TargetError } from "../src/errors.js";
import { caught, clientFor, send, startTarget } from "./support/fake-scim-target.js";

const LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const list = (totalResults: number, resources: unknown[] = []) => ({ schemas: [LIST_SCHEMA], totalResults, Resources: resources });
const PROBE = "3f2c6a1e-0000-4000-8000-000000000000@scimsync.invalid";

describe("checkUserAccess", () => {
  it("Given a target that filters, Then it sends the filter, then one page of one for the count", async () => {
    const target = await startTarget((req, res) => send(res, 200, req.query.has("filter") ? list(0) : list(42, [{ id: "x", userName: "a@example.com" }])));
    const { client } = clientFor(target);

    await expect(client.checkUserAccess(PROBE)).resolves.toEqual({ totalUsers: 42 });

    expect(target.requests.map((r) => `${r.path}?${r.query.toString()}`)).toEqual([
      `/Users?filter=${encodeURIComponent(`userName eq "${PROBE}"`).replace(/%20/g, "+")}&startIndex=1&count=1`,
      "/Users?startIndex=1&count=1",
    ]);
  });

  it("Given a target that ignores the filter, Then it fails: matching accounts needs filters", async () => {
    const target = await startTarget((_req, res) => send(res, 200, list(7, [{ id: "x", userName: "a@example.com" }])));
    const { client } = clientFor(target);

    const error = await caught(client.checkUserAccess(PROBE));

    expect(error).toBeInstanceOf(TargetError);
    expect(error.message).toBe("GET /Users: a filter on a userName nobody has matched 7 user(s) instead of none");
  });

  it("Given a 403, Then TargetAuthError", async () => {
    const target = await startTarget((_req, res) => send(res, 403, { detail: "forbidden" }));
    const { client } = clientFor(target, { retries: 0 });

    expect(await caught(client.checkUserAccess(PROBE))).toBeInstanceOf(TargetAuthError);
  });

  it("Given the count page fails with a 500, Then the check passes without a count", async () => {
    const target = await startTarget((req, res) => (req.query.has("filter") ? send(res, 200, list(0)) : send(res, 500, { detail: "boom" })));
    const { client } = clientFor(target, { retries: 0 });

    await expect(client.checkUserAccess(PROBE)).resolves.toEqual({});
  });
});

describe("getServiceProviderConfig and countGroups", () => {
  it("Given an HTML 404 for both, Then neither exists, and that is no error", async () => {
    const target = await startTarget((_req, res) => {
      res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>");
    });
    const { client } = clientFor(target, { retries: 0 });

    await expect(client.getServiceProviderConfig()).resolves.toBeUndefined();
    await expect(client.countGroups()).resolves.toBeUndefined();
    expect(target.requests.map((r) => r.path)).toEqual(["/ServiceProviderConfig", "/Groups"]);
  });

  it("Given a 501 on /Groups and a ServiceProviderConfig, Then no groups, and the features as the target states them", async () => {
    const target = await startTarget((req, res) =>
      req.path === "/Groups"
        ? send(res, 501, { detail: "not implemented" })
        : send(res, 200, { patch: { supported: true }, bulk: { supported: false }, etag: { supported: "yes" }, authenticationSchemes: [{ type: "oauthbearertoken" }] }),
    );
    const { client } = clientFor(target, { retries: 0 });

    await expect(client.countGroups()).resolves.toBeUndefined();
    await expect(client.getServiceProviderConfig()).resolves.toEqual({
      patch: true,
      bulk: false,
      filter: null,
      sort: null,
      etag: null,
      changePassword: null,
      maxResults: null,
      authenticationSchemes: ["oauthbearertoken"],
    });
  });
});
