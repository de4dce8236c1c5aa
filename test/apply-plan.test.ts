import { CREATE_POSTS } from "../src/engine/create-tries.js";
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from "vitest";
import { startSandbox, type Sandbox } from "../src/sandbox/server.js";
import { ScimClient } from "../src/scim/client.js";
import { planChanges } from "../src/core/planner.js";
import { applyPlan, type ApplyOptions } from "../src/engine/apply-plan.js";
import type { Plan, TargetUser } from "../src/core/model.js";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.js";
import { aDesiredUser, aPlanInput, aState, aStateUser, MAPPING, T0, days } from "./builders.js";

let sandbox: Sandbox;
let proxy: FaultProxy;
let client: ScimClient;

beforeAll(async () => {
  sandbox = await startSandbox();
  proxy = await startFaultProxy(sandbox.baseUrl);
});
afterAll(async () => {
  await proxy.close();
  await sandbox.close();
});
beforeEach(() => {
  sandbox.reset();
  proxy.seen.length = 0;
  proxy.decide = () => ({ kind: "pass" });
  client = new ScimClient({ baseUrl: proxy.baseUrl, token: sandbox.token, rateLimit: 0, retries: 2, sleep: async () => {}, timeoutMs: 5000 });
});
afterEach(async () => {
  await client.close();
});

const posts = () => sandbox.requests.filter((r) => r.method === "POST");

async function planAgainstTarget(desired = [aDesiredUser({ id: "ada" })], state = aState()): Promise<{ plan: Plan; actual: TargetUser[] }> {
  const actual = await client.listUsers();
  return { plan: planChanges(aPlanInput({ desired, actual, state, now: T0 })), actual };
}

function options(actual: TargetUser[], extra: Partial<ApplyOptions> = {}): ApplyOptions {
  return {
    target: client,
    actualById: new Map(actual.map((u) => [u.id, u])),
    mapping: MAPPING,
    matchBy: "externalId",
    concurrency: 4,
    clock: () => T0,
    ...extra,
  };
}

async function createDirectly(resource: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await fetch(`${sandbox.baseUrl}/Users`, {
    method: "POST",
    headers: { authorization: `Bearer ${sandbox.token}`, "content-type": "application/scim+json" },
    body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], ...resource }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Record<string, any>;
}

describe("applyPlan: creates never duplicate", () => {
  it("given the answer to a create is lost after the target applied it, then the user is found and adopted, with one POST only", async () => {
    const { plan, actual } = await planAgainstTarget();
    let dropped = false;
    proxy.decide = ({ method }) => {
      if (method === "POST" && !dropped) {
        dropped = true;
        return { kind: "drop-after-apply" };
      }
      return { kind: "pass" };
    };

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results).toEqual([expect.objectContaining({ op: "create", key: "ada@example.com", status: "ok", note: expect.stringContaining("lost") })]);
    expect(sandbox.users()).toHaveLength(1);
    expect(posts()).toHaveLength(1);
    const ada = sandbox.users()[0]!;
    expect(outcome.state.users["ada"]).toEqual({ targetId: ada.id, userName: "ada@example.com", origin: "created", since: T0.toISOString(), conditions: {} });
    // The lookup went by externalId first.
    expect(sandbox.requests.some((r) => r.method === "GET" && decodeURIComponent(r.query).includes('externalId eq "ada"'))).toBe(true);
  });

  it("given a create whose every answer is lost and the user is never found, then it is posted CREATE_POSTS times in all and the next run checks", async () => {
    const { plan, actual } = await planAgainstTarget();
    // The connection drops after the request was sent but before the target got it: nothing was created.
    proxy.decide = ({ method }) => (method === "POST" ? { kind: "reset-before" } : { kind: "pass" });

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results[0]).toMatchObject({ op: "create", status: "failed", error: expect.stringContaining("the next run will check again") });
    expect(proxy.seen.filter((r) => r.method === "POST")).toHaveLength(CREATE_POSTS);
    expect(sandbox.users()).toHaveLength(0);
    expect(outcome.state.users).toEqual({});
  });

  it("given a create whose answer is lost and the user is not found, then a second POST creates it in this run", async () => {
    const { plan, actual } = await planAgainstTarget();
    let posts = 0;
    proxy.decide = ({ method }) => (method === "POST" && ++posts === 1 ? { kind: "reset-before" } : { kind: "pass" });

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results[0]).toMatchObject({ op: "create", status: "ok", note: expect.stringContaining("another request") });
    expect(sandbox.users()).toHaveLength(1);
    expect(outcome.state.users["ada"]).toMatchObject({ origin: "created" });
  });

  it("given the first POST was applied but its answer lost and the search lags, then the second POST's 409 leads to adoption, not a duplicate", async () => {
    const { plan, actual } = await planAgainstTarget();
    let posts = 0;
    proxy.decide = ({ method, path }) => {
      if (method === "POST" && ++posts === 1) return { kind: "drop-after-apply" };
      // The app's search has not caught up with the first create yet.
      if (method === "GET" && path.endsWith("/Users") && posts < 2) return { kind: "respond", status: 200, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 0, Resources: [] } };
      return { kind: "pass" };
    };

    const outcome = await applyPlan(plan, options(actual));

    expect(posts).toBe(2);
    expect(sandbox.users()).toHaveLength(1);
    expect(outcome.results[0]).toMatchObject({ op: "create", status: "ok", note: expect.stringContaining("409") });
  });

  it("given a create answered 201 with an unusable body and a search that lags, then it is not posted again: it was applied", async () => {
    const { plan, actual } = await planAgainstTarget();
    proxy.decide = ({ method, path }) => {
      if (method === "POST") return { kind: "pass", rewrite: () => ({}) };
      if (method === "GET" && path.endsWith("/Users")) return { kind: "respond", status: 200, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 0, Resources: [] } };
      return { kind: "pass" };
    };

    const outcome = await applyPlan(plan, options(actual));

    expect(proxy.seen.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(sandbox.users()).toHaveLength(1);
    expect(outcome.results[0]).toMatchObject({ op: "create", status: "failed", error: expect.stringContaining("the next run will check") });
  });

  it("given a lost create and two target users answering to the userName, then neither is adopted and nothing is posted again", async () => {
    const { plan, actual } = await planAgainstTarget();
    proxy.decide = ({ method, path }) => {
      if (method === "POST") return { kind: "reset-before" };
      if (method === "GET" && path.endsWith("/Users")) {
        const twin = (id: string, userName: string) => ({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id, userName, active: true });
        return { kind: "respond", status: 200, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 2, Resources: [twin("t1", "ada@example.com"), twin("t2", "ADA@example.com")] } };
      }
      return { kind: "pass" };
    };

    const outcome = await applyPlan(plan, options(actual));

    expect(proxy.seen.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(outcome.results[0]).toMatchObject({ op: "create", status: "failed", error: expect.stringContaining("2 target users have") });
    expect(outcome.state.users).toEqual({});
  });

  it("given the user appeared on the target after planning, when the create gets 409, then it is adopted and brought in line", async () => {
    const { plan, actual } = await planAgainstTarget();
    const existing = await createDirectly({ userName: "ADA@example.com", active: true, title: "Intern" });

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results[0]).toMatchObject({ op: "create", status: "ok", note: expect.stringContaining("409") });
    expect(sandbox.users()).toHaveLength(1);
    const ada = sandbox.users()[0] as Record<string, any>;
    expect(ada.id).toBe(existing.id);
    expect(ada).toMatchObject({ externalId: "ada", title: "Engineer", active: true });
    expect(outcome.state.users["ada"]).toMatchObject({ targetId: existing.id, origin: "adopted" });
  });

  it("given a 409 whose account is an inactive one scimsync does not manage, then it is neither adopted nor reactivated", async () => {
    const { plan, actual } = await planAgainstTarget();
    await createDirectly({ userName: "ada@example.com", externalId: "okta-old-77", active: false, title: "Former employee" });

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results[0]).toMatchObject({ status: "failed", error: expect.stringContaining("inactive account ada@example.com that scimsync does not manage") });
    expect(sandbox.users()[0]).toMatchObject({ active: false, externalId: "okta-old-77", title: "Former employee" });
    expect(outcome.state.users).toEqual({});
  });

  it("given a 409 on another unique attribute, then the create fails with the target's reason and nothing is adopted", async () => {
    const { plan, actual } = await planAgainstTarget();
    proxy.decide = ({ method }) =>
      method === "POST"
        ? { kind: "respond", status: 409, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "409", scimType: "uniqueness", detail: "email already in use" } }
        : { kind: "pass" };

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results[0]).toMatchObject({ status: "failed", error: expect.stringContaining("email already in use") });
    expect(outcome.results[0]!.error).toContain("another unique attribute");
    expect(outcome.state.users).toEqual({});
    expect(sandbox.users()).toHaveLength(0);
  });

  it("given the account a 409 points at belongs to another managed user, then it is not adopted", async () => {
    const other = await createDirectly({ userName: "ada@example.com", externalId: "old-ada" });
    const state = aState({ "old-ada": aStateUser({ targetId: other.id, userName: "ada@example.com" }) });
    // A plan made from a stale listing in which the old account was not seen.
    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [], state: aState(), now: T0 }));
    plan.state.users = state.users;

    const outcome = await applyPlan(plan, options([], { matchBy: "userName" }));

    expect(outcome.results[0]).toMatchObject({ status: "failed", error: expect.stringContaining("belongs to another managed user") });
    expect(outcome.state.users["ada"]).toBeUndefined();
    expect(sandbox.users()).toHaveLength(1);
  });
});

describe("applyPlan: order, safety, interruption, credentials", () => {
  async function seedManaged(n: number) {
    const state = aState();
    for (let i = 1; i <= n; i++) {
      const u = await createDirectly({ userName: `u${i}@example.com`, externalId: `u${i}` });
      state.users[`u${i}`] = aStateUser({ targetId: u.id, userName: `u${i}@example.com` });
    }
    return state;
  }

  it("given a safety-blocked plan, then suspends and deletes are skipped without a request", async () => {
    const state = await seedManaged(3);
    const actual = await client.listUsers();
    const plan = planChanges(
      aPlanInput({ actual, state, now: T0, policy: { deleted: { suspend: 0, delete: days(1) }, suspended: { suspend: 0, delete: "never" }, outOfScope: { suspend: 0, delete: "never" } }, safety: { maxDeprovisions: 1, maxDeprovisionPercent: 100 } }),
    );
    expect(plan.safety.blocked).toBe(true);
    sandbox.requests.length = 0;

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results.map((r) => r.status)).toEqual(["skipped", "skipped", "skipped"]);
    expect(outcome.results[0]!.error).toContain("safety.maxDeprovisions");
    expect(sandbox.requests).toEqual([]);
    // The timers still start (the condition was seen), but nothing was suspended.
    for (const id of ["u1", "u2", "u3"]) {
      expect(outcome.state.users[id]).toMatchObject({ targetId: state.users[id]!.targetId, conditions: { deleted: T0.toISOString() } });
      expect(outcome.state.users[id]!.suspendedAt).toBeUndefined();
    }
  });

  it("given an abort during the run, then actions in flight finish, the rest stay planned, and the state has what was done", async () => {
    const { plan, actual } = await planAgainstTarget(["a", "b", "c", "d", "e", "f"].map((id) => aDesiredUser({ id })));
    const abort = new AbortController();
    const outcome = await applyPlan(
      plan,
      options(actual, {
        concurrency: 1,
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === "action-done" && e.done === 2) abort.abort();
        },
      }),
    );

    expect(outcome.interrupted).toBe(true);
    expect(outcome.results.map((r) => r.status)).toEqual(["ok", "ok", "planned", "planned", "planned", "planned"]);
    expect(Object.keys(outcome.state.users).sort()).toEqual(["a", "b"]);
    expect(sandbox.users()).toHaveLength(2);
  });

  it("given the target starts rejecting the token mid-run, then the run stops and reports the auth error", async () => {
    const { plan, actual } = await planAgainstTarget(["a", "b", "c", "d"].map((id) => aDesiredUser({ id })));
    let n = 0;
    proxy.decide = ({ method }) =>
      method === "POST" && ++n >= 2 ? { kind: "respond", status: 401, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "401", detail: "token expired" } } : { kind: "pass" };

    const outcome = await applyPlan(plan, options(actual, { concurrency: 1 }));

    expect(outcome.authError).toBeDefined();
    expect(outcome.results.map((r) => r.status)).toEqual(["ok", "failed", "planned", "planned"]);
    expect(posts()).toHaveLength(1);
  });

  it("given an update whose account was deleted on the target meanwhile, then it fails and the others go on", async () => {
    const state = await seedManaged(2);
    const actual = await client.listUsers();
    const desired = [aDesiredUser({ id: "u1", userName: "u1@example.com" }), aDesiredUser({ id: "u2", userName: "u2@example.com" })];
    const plan = planChanges(aPlanInput({ desired, actual, state, now: T0 }));
    expect(plan.actions.map((a) => a.op)).toEqual(["update", "update"]);
    await fetch(`${sandbox.baseUrl}/Users/${state.users["u1"]!.targetId}`, { method: "DELETE", headers: { authorization: `Bearer ${sandbox.token}` } });

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results.map((r) => [r.key, r.status])).toEqual([
      ["u1@example.com", "failed"],
      ["u2@example.com", "ok"],
    ]);
    expect(outcome.results[0]!.error).toMatch(/404/);
  });

  it("given a rename, then the state takes the new userName only once the target has accepted it", async () => {
    const state = await seedManaged(2);
    await createDirectly({ userName: "taken@example.com" });
    const actual = await client.listUsers();
    const desired = [aDesiredUser({ id: "u1", userName: "taken@example.com" }), aDesiredUser({ id: "u2", userName: "fresh@example.com" })];
    const plan = planChanges(aPlanInput({ desired, actual, state, now: T0 }));
    expect(plan.state.users["u1"]!.userName).toBe("u1@example.com");

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results.map((r) => [r.key, r.status])).toEqual([
      ["fresh@example.com", "ok"],
      ["taken@example.com", "failed"],
    ]);
    expect(outcome.state.users["u1"]!.userName).toBe("u1@example.com"); // the 409: still the old name
    expect(outcome.state.users["u2"]!.userName).toBe("fresh@example.com");
  });

  it("given an app that accepts a rename but keeps the old name, then the state keeps the name the app answered with", async () => {
    const state = await seedManaged(1);
    const actual = await client.listUsers();
    const account = actual[0]!;
    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "u1", userName: "u1.new@example.com" })], actual, state, now: T0 }));
    // The app answers 200 with the account as it was: the rename silently ignored.
    proxy.decide = ({ method }) => (method === "PATCH" ? { kind: "respond", status: 200, body: account.resource } : { kind: "pass" });

    const outcome = await applyPlan(plan, options(actual));

    expect(outcome.results[0]).toMatchObject({ op: "update", status: "ok" });
    expect(outcome.state.users["u1"]!.userName).toBe("u1@example.com");
  });
});
