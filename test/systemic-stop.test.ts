/**
 * Stopping early when the target, not one object, is failing: the rules on their own, then
 * applyPlan and runSync against the sandbox behind the fault proxy.
 */
import { CREATE_POSTS } from "../src/engine/create-tries.js";
import { describe, expect, it } from "vitest";
import type { ScimClient } from "../src/scim/client.js";
import { planChanges } from "../src/core/planner.js";
import { applyPlan } from "../src/engine/apply-plan.js";
import { runSync, type RunSettings } from "../src/engine/run-sync.js";
import { failureKindOf, SystemicWatch } from "../src/engine/systemic-stop.js";
import { TargetAuthError, TargetError } from "../src/errors.js";
import type { SourceSnapshot, SourceUser } from "../src/core/model.js";
import type { DirectorySource } from "../src/core/ports.js";
import { defaultUserMapping } from "../src/core/mapping.js";
import { buildReport } from "../src/ui/report.js";
import { renderHumanReport } from "../src/ui/human-report.js";
import { makeStyle } from "../src/ui/style.js";
import { useSandboxBehindProxy } from "./support/fault-proxy.js";
import { MemoryStore } from "./support/memory-store.js";
import { aDesiredUser, aPlanInput, aSourceUser, aState, days, MAPPING, T0 } from "./builders.js";

describe("SystemicWatch", () => {
  const failures = (watch: SystemicWatch, n: number, kind: "object" | "no-answer" = "object") => {
    let stop;
    for (let i = 0; i < n && !stop; i++) stop = watch.observe(false, kind, `failure ${i + 1}`);
    return stop;
  };

  it("stops at the first rejected token", () => {
    expect(new SystemicWatch().observe(false, "auth", "PATCH /Users/1: 401")).toEqual({ reason: "auth", message: expect.stringContaining("401") });
  });

  it("stops after 5 actions in a row without an answer; an answer in between starts the count again", () => {
    const watch = new SystemicWatch();
    expect(failures(watch, 4, "no-answer")).toBeUndefined();
    expect(watch.observe(true, undefined, undefined)).toBeUndefined();
    expect(failures(watch, 4, "no-answer")).toBeUndefined();
    expect(watch.observe(false, "no-answer", "POST /Users: connection refused")).toEqual({
      reason: "unreachable",
      message: expect.stringContaining("did not answer 5 actions in a row"),
    });
  });

  it("judges the failure share once 20 actions finished, over the last 20", () => {
    const watch = new SystemicWatch();
    expect(failures(watch, 19)).toBeUndefined();
    expect(watch.observe(false, "object", "POST /Users: 500")).toEqual({ reason: "failing", message: expect.stringContaining("20 of the last 20 actions failed") });

    const mixed = new SystemicWatch();
    for (let i = 0; i < 40; i++) expect(mixed.observe(i % 4 === 0, i % 4 === 0 ? undefined : "object", "x")).toBeUndefined(); // 75% failing
    expect(failures(mixed, 1)).toEqual(expect.objectContaining({ reason: "failing" })); // the last 20 now hold 16 failures
  });

  it("tells a failure without an answer from one the target answered or scimsync refused", () => {
    const network = new TargetError("POST /Users: connection refused", { cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }) });
    expect(failureKindOf(network)).toBe("no-answer");
    expect(failureKindOf(new TargetError("wrapped; the user was not found afterwards", { ambiguous: true, cause: network }))).toBe("no-answer");
    expect(failureKindOf(new TargetError("POST /Users: 500", { status: 500 }))).toBe("object");
    expect(failureKindOf(new TargetError("wrapped", { cause: new TargetError("POST /Users: 500", { status: 500 }) }))).toBe("object");
    expect(failureKindOf(new TargetError("the group was not created, so its members cannot be changed", {}))).toBe("object");
    expect(failureKindOf(new TargetAuthError("PATCH: 401", { status: 401 }))).toBe("auth");
    expect(failureKindOf(new Error("bug"))).toBe("object");
  });
});

const env = useSandboxBehindProxy();

function aClient(): ScimClient {
  const client = env.client();
  return client;
}

const people = (n: number): SourceUser[] => Array.from({ length: n }, (_, i) => aSourceUser({ id: `p${String(i).padStart(3, "0")}` }));
const writes = () => env.proxy.seen.filter((r) => r.method !== "GET");

async function applyCreates(n: number, concurrency = 4) {
  const plan = planChanges(aPlanInput({ desired: people(n).map((u) => aDesiredUser(u)), state: aState(), now: T0 }));
  return applyPlan(plan, { target: aClient(), actualById: new Map(), mapping: MAPPING, matchBy: "externalId", concurrency, clock: () => T0 });
}

describe("applyPlan stops early on a systemic failure", () => {
  it("Given every write fails with 500, then it stops once 20 actions finished, in-flight ones finish, and the rest are not started", async () => {
    env.proxy.decide = ({ method }) => (method === "GET" ? { kind: "pass" } : { kind: "respond", status: 500, body: { detail: "down" } });

    const outcome = await applyCreates(60);

    expect(outcome.stoppedEarly).toEqual({ reason: "failing", message: expect.stringMatching(/^20 of the last 20 actions failed/) });
    const failed = outcome.results.filter((r) => r.status === "failed").length;
    const notStarted = outcome.results.filter((r) => r.status === "planned").length;
    expect(failed).toBeGreaterThanOrEqual(20);
    expect(failed).toBeLessThanOrEqual(20 + 3); // those in flight when it tripped
    expect(failed + notStarted).toBe(60);
    // A create answered 500 and not found afterwards is posted again (see createUser).
    expect(writes()).toHaveLength(CREATE_POSTS * failed);
    // A systemic failure says nothing about the objects: no escrow record.
    expect(outcome.state.failures).toBeUndefined();
    expect(outcome.interrupted).toBe(false);
  });

  it("Given the target stops answering, then it stops after 5 actions in a row without an answer", async () => {
    env.proxy.decide = ({ method }) => (method === "POST" ? { kind: "reset-before" } : { kind: "pass" });

    const outcome = await applyCreates(30, 1);

    expect(outcome.stoppedEarly).toMatchObject({ reason: "unreachable" });
    expect(outcome.results.filter((r) => r.status === "failed")).toHaveLength(5);
    expect(outcome.results.filter((r) => r.status === "planned")).toHaveLength(25);
  });

  it("Given the target rejects the token, then no action is started after the first rejection", async () => {
    env.proxy.decide = ({ method }) => (method === "POST" ? { kind: "respond", status: 401, body: { detail: "expired" } } : { kind: "pass" });

    const outcome = await applyCreates(10, 1);

    expect(outcome.authError).toBeInstanceOf(TargetAuthError);
    expect(outcome.stoppedEarly).toMatchObject({ reason: "auth" });
    expect(writes()).toHaveLength(1);
    expect(outcome.results.filter((r) => r.status === "planned")).toHaveLength(9);
  });

  it("Given a few objects fail among many that succeed, then the run goes on", async () => {
    env.proxy.decide = ({ method, body }) => (method === "POST" && /p00[0-4]@/.test(body) ? { kind: "respond", status: 400, body: { detail: "nope" } } : { kind: "pass" });

    const outcome = await applyCreates(30);

    expect(outcome.stoppedEarly).toBeUndefined();
    expect(outcome.results.filter((r) => r.status === "failed")).toHaveLength(5);
    expect(outcome.results.filter((r) => r.status === "ok")).toHaveLength(25);
    expect(Object.keys(outcome.state.failures ?? {})).toHaveLength(5);
  });
});

describe("runSync after a systemic stop", () => {
  const settings = (): RunSettings => ({
    targetUrl: env.proxy.baseUrl,
    scope: {},
    policy: { deleted: { suspend: 0, delete: days(30) }, suspended: { suspend: 0, delete: "never" }, outOfScope: { suspend: 0, delete: "never" } },
    safety: { maxDeprovisions: 1000, maxDeprovisionPercent: 100 },
    matchBy: "externalId",
    concurrency: 4,
    userMapping: defaultUserMapping("externalId"),
  });
  const source = (users: SourceUser[]): DirectorySource => ({
    read: async (): Promise<SourceSnapshot> => ({ users, groups: [], complete: true, problems: [], protectedIds: [], protectedUserNames: [] }),
  });

  it("Given most writes fail, then the run stops early and says why; once the target recovers, the next run applies the rest", async () => {
    const store = new MemoryStore();
    const users = people(40);
    env.proxy.decide = ({ method }) => (method === "GET" ? { kind: "pass" } : { kind: "respond", status: 500 });

    const first = await runSync(settings(), { source: source(users), target: aClient(), store }, { now: T0, clock: () => T0, runId: "r1" });

    expect(first.result).toBe("failed");
    expect(first.stoppedEarly).toMatchObject({ reason: "failing" });
    expect(first.results.filter((r) => r.status === "planned").length).toBeGreaterThan(10);
    expect(store.state!.lastRun).toMatchObject({ result: "failed" });
    expect(store.state!.failures).toBeUndefined();
    const json = buildReport("sync", env.proxy.baseUrl, first.plan, first.results, first.problems, first.result);
    json.stoppedEarly = first.stoppedEarly;
    expect(renderHumanReport(json, makeStyle(false))).toMatch(/Stopped early: 20 of the last 20 actions failed.*\n {2}\d+ action\(s\) not started; the next run plans them again\./);

    env.proxy.decide = () => ({ kind: "pass" });
    const second = await runSync(settings(), { source: source(users), target: aClient(), store }, { now: T0, clock: () => T0, runId: "r2" });
    expect(second.result).toBe("ok");
    expect(second.stoppedEarly).toBeUndefined();
    expect(env.sandbox.users()).toHaveLength(40);
  });
});
