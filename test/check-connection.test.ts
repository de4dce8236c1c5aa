import { describe, expect, it } from "vitest";
import { checkConnection, targetRejectedToken, type CheckInputs, type TargetProbe } from "../src/engine/check-connection.js";
import { SourceError, TargetAuthError, TargetError } from "../src/errors.js";
import { toServiceProviderSummary } from "../src/scim/service-provider-config.js";
import type { SourceAccess } from "../src/sources/access-check.js";

const SPC = toServiceProviderSummary({ patch: { supported: true }, filter: { supported: true, maxResults: 200 }, authenticationSchemes: [{ name: "Bearer" }] });

function aTarget(overrides: Partial<TargetProbe> = {}): TargetProbe {
  return {
    checkUserAccess: async () => ({ totalUsers: 12 }),
    getServiceProviderConfig: async () => SPC,
    countGroups: async () => 3,
    ...overrides,
  };
}

function inputs(target: TargetProbe, access: SourceAccess = { status: "ok", users: 1 }, groupsNeeded = true): CheckInputs {
  return {
    target,
    targetUrl: "https://app.example.com/scim/v2",
    groupsNeeded,
    source: { checkAccess: async () => access },
    sourceType: "google",
    sourceEndpoint: "Google Directory API, customer my_customer",
    unusedUserName: "00000000-0000-4000-8000-000000000000@scimsync.invalid",
  };
}

describe("checkConnection", () => {
  it("Given everything works, Then ok with the counts and what the target supports", async () => {
    const report = await checkConnection(inputs(aTarget()));

    expect(report).toEqual({
      ok: true,
      target: {
        url: "https://app.example.com/scim/v2",
        reachable: true,
        authenticated: true,
        totalUsers: 12,
        groups: true,
        totalGroups: 3,
        serviceProviderConfig: SPC,
      },
      source: { type: "google", endpoint: "Google Directory API, customer my_customer", reachable: true, authenticated: true, users: null },
      warnings: [],
    });
    expect(SPC).toEqual({ patch: true, bulk: null, filter: true, sort: null, etag: null, changePassword: null, maxResults: 200, authenticationSchemes: ["Bearer"] });
  });

  it("Given the token is refused, Then not authenticated, the rest unchecked, and the report says exit 5", async () => {
    const report = await checkConnection(inputs(aTarget({ checkUserAccess: async () => Promise.reject(new TargetAuthError("GET /Users: 401", { status: 401 })) })));

    expect(report.ok).toBe(false);
    expect(report.target).toMatchObject({ reachable: true, authenticated: false, groups: null, serviceProviderConfig: null });
    expect(report.target.error).toEqual({ kind: "auth", message: "GET /Users: 401", check: "users" });
    expect(targetRejectedToken(report)).toBe(true);
  });

  it("Given a network failure, Then not reachable and authentication unknown", async () => {
    const report = await checkConnection(inputs(aTarget({ checkUserAccess: async () => Promise.reject(new TargetError("GET /Users: connection refused", {})) })));

    expect(report.target).toMatchObject({ reachable: false, authenticated: null });
    expect(targetRejectedToken(report)).toBe(false);
  });

  it("Given a target that ignores filters, Then the token counts as accepted but the check fails", async () => {
    const report = await checkConnection(inputs(aTarget({ checkUserAccess: async () => Promise.reject(new TargetError("matched 5 user(s)", { status: 200 })) })));

    expect(report.ok).toBe(false);
    expect(report.target).toMatchObject({ reachable: true, authenticated: true });
  });

  it("Given no ServiceProviderConfig and no /Groups, Then both are reported absent and all is ok", async () => {
    const report = await checkConnection(inputs(aTarget({ getServiceProviderConfig: async () => undefined, countGroups: async () => undefined })));

    expect(report.ok).toBe(true);
    expect(report.target).toMatchObject({ groups: false, totalGroups: null, serviceProviderConfig: null });
  });

  it("Given a ServiceProviderConfig that fails, Then it is a warning only", async () => {
    const report = await checkConnection(inputs(aTarget({ getServiceProviderConfig: async () => Promise.reject(new TargetError("GET /ServiceProviderConfig: 500", { status: 500 })) })));

    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual(["the ServiceProviderConfig could not be read: GET /ServiceProviderConfig: 500"]);
  });

  it("Given /Groups fails, Then it fails the check when the app has groups, and is a warning when it has none", async () => {
    const failing = aTarget({ countGroups: async () => Promise.reject(new TargetError("GET /Groups: 500", { status: 500 })) });

    const needed = await checkConnection(inputs(failing));
    const notNeeded = await checkConnection(inputs(failing, undefined, false));

    expect(needed.ok).toBe(false);
    expect(needed.target.error).toMatchObject({ kind: "target", check: "groups" });
    expect(notNeeded.ok).toBe(true);
    expect(notNeeded.warnings).toHaveLength(1);
  });

  it.each([
    ["refused", { reachable: true, authenticated: false }],
    ["unavailable", { reachable: false, authenticated: null }],
  ] as const)("Given the source is %s, Then the source check says so and the report fails", async (status, expected) => {
    const report = await checkConnection(inputs(aTarget(), { status, error: new SourceError("no", { hint: "do this" }) }));

    expect(report.ok).toBe(false);
    expect(report.source).toMatchObject({ ...expected, error: { kind: "source", message: "no", hint: "do this" } });
  });
});
