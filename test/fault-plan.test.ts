/**
 * The seeded fault plan of test/support/fault-proxy.ts: the reliability suite relies on it being
 * reproducible, on its shares, and on its counts.
 */
import { describe, expect, it } from "vitest";
import { FAULT_KINDS, seededFaults, type FaultKind } from "./support/fault-proxy.js";

const post = { method: "POST", path: "/scim/v2/Users", query: "", body: "{}" };
const get = { method: "GET", path: "/scim/v2/Users", query: "startIndex=1&count=100", body: "" };

describe("seededFaults", () => {
  it("Given the same seed, When asked for the same requests, Then it decides the same way", () => {
    const rates = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0.05]));
    const a = seededFaults({ seed: 42, rates });
    const b = seededFaults({ seed: 42, rates });
    const c = seededFaults({ seed: 43, rates });
    const run = (plan: typeof a) => Array.from({ length: 500 }, () => plan.decide(post).kind);
    const first = run(a);
    expect(run(b)).toEqual(first);
    expect(run(c)).not.toEqual(first);
  });

  it("Given 5% per kind, When 20,000 requests pass, Then each kind is injected about 1,000 times and counted by kind and method", () => {
    const plan = seededFaults({ seed: 7, rates: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0.05])) });
    for (let i = 0; i < 20_000; i++) plan.decide(i % 2 === 0 ? post : get);
    for (const kind of FAULT_KINDS) {
      expect(plan.injected[kind]).toBeGreaterThan(850);
      expect(plan.injected[kind]).toBeLessThan(1150);
    }
    expect(plan.requests).toBe(20_000);
    const byMethod = (method: string) => FAULT_KINDS.reduce((s, k) => s + (plan.injectedByMethod[method]?.[k] ?? 0), 0);
    expect(byMethod("POST") + byMethod("GET")).toBe(plan.total());
  });

  it("Given each kind, Then it answers as that fault: 5xx with a SCIM error, 429 with Retry-After, a reset, a drop after applying", () => {
    const decisionOf = (kind: FaultKind) => seededFaults({ seed: 1, rates: { [kind]: 1 }, retryAfterSeconds: 2 }).decide(post);
    expect(decisionOf("status500")).toMatchObject({ kind: "respond", status: 500, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "500" } });
    expect(decisionOf("status503")).toMatchObject({ kind: "respond", status: 503 });
    expect(decisionOf("status429")).toMatchObject({ kind: "respond", status: 429, headers: { "retry-after": "2" } });
    expect(decisionOf("resetBefore")).toEqual({ kind: "reset-before" });
    expect(decisionOf("dropAfterApply")).toEqual({ kind: "drop-after-apply" });
  });

  it("Given `only` and latency, Then other requests pass untouched but delayed, and rates over 1 are refused", () => {
    const plan = seededFaults({ seed: 3, rates: { status503: 1 }, only: (req) => req.method === "POST", latencyMs: { min: 5, max: 10 } });
    const passed = plan.decide(get);
    expect(passed.kind).toBe("pass");
    expect(passed.kind === "pass" && passed.delayMs).toBeGreaterThanOrEqual(5);
    expect(plan.decide(post)).toMatchObject({ status: 503 });
    expect(plan.injected.status503).toBe(1);
    expect(() => seededFaults({ seed: 1, rates: { status500: 0.6, status503: 0.6 } })).toThrow(/add up to at most 1/);
  });
});
