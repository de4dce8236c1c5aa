/**
 * Escrow in the pure core: the pause schedule, how a run's outcomes update the failure records,
 * what the planner holds while an object waits, and the state file's version 4.
 */
import { describe, expect, it } from "vitest";
import { escrowPauseMs, failureKey, recordOutcomes, type ActionOutcome } from "../src/core/escrow.js";
import { planChanges } from "../src/core/planner.js";
import type { FailureRecord, SyncState } from "../src/core/model.js";
import { parseStateFile, serializeStateFile } from "../src/state/schema.js";
import { buildStatus, renderHumanStatus } from "../src/ui/status-report.js";
import { makeStyle } from "../src/ui/style.js";
import type { AuditLogContents } from "../src/audit/read-audit-log.js";
import {
  aDesiredGroup,
  aDesiredUser,
  aGroupInput,
  aManagedRecord,
  aPlanInput,
  aState,
  aStateGroup,
  aTargetGroup,
  aTargetUser,
  at,
  days,
  hours,
  iso,
  policyWith,
  T0,
} from "./builders.js";

const MINUTE = 60_000;

/** A record of `attempts` failed runs, the last one at `lastFailedAt`, waiting until `nextAttemptAt`. */
function aFailure(overrides: Partial<FailureRecord> = {}): FailureRecord {
  return {
    name: "ada@example.com",
    op: "create",
    attempts: 2,
    firstFailedAt: iso(-hours(2)),
    lastFailedAt: iso(-MINUTE * 10),
    lastError: "POST /Users: 400 invalidValue: title is too long",
    nextAttemptAt: iso(hours(1) - MINUTE * 10),
    ...overrides,
  };
}

function withFailures(state: SyncState, failures: Record<string, FailureRecord>): SyncState {
  return { ...state, failures };
}

describe("the pause after n failed runs in a row", () => {
  it.each([
    [1, 0],
    [2, hours(1)],
    [3, hours(2)],
    [4, hours(4)],
    [5, hours(8)],
    [6, hours(16)],
    [7, hours(24)],
    [30, hours(24)],
  ])("after %i failure(s) the object waits %i ms", (attempts, pause) => {
    expect(escrowPauseMs(attempts)).toBe(pause);
  });
});

describe("recordOutcomes", () => {
  const outcome = (overrides: Partial<ActionOutcome> = {}): ActionOutcome => ({
    type: "User",
    sourceId: "ada",
    key: "ada@example.com",
    op: "create",
    status: "failed",
    error: "POST /Users: 400 bad",
    failureKind: "object",
    ...overrides,
  });

  it("Given a first failure, it is recorded with no pause: the next run retries it", () => {
    expect(recordOutcomes({}, [outcome()], T0, { countFailures: true })).toEqual({
      "User:ada": {
        name: "ada@example.com",
        op: "create",
        attempts: 1,
        firstFailedAt: iso(0),
        lastFailedAt: iso(0),
        lastError: "POST /Users: 400 bad",
        nextAttemptAt: iso(0),
      },
    });
  });

  it("Given a record, another failure counts one more attempt and sets a longer pause, keeping when it started", () => {
    const next = recordOutcomes({ "User:ada": aFailure() }, [outcome({ error: "POST /Users: 400 still bad" })], T0, { countFailures: true });
    expect(next["User:ada"]).toEqual({ ...aFailure(), attempts: 3, lastFailedAt: iso(0), lastError: "POST /Users: 400 still bad", nextAttemptAt: iso(hours(2)) });
  });

  it("counts one attempt per run, with the first failure in apply order as the error", () => {
    const group = (op: ActionOutcome["op"], error: string) => outcome({ type: "Group", sourceId: "sales", key: "Sales", op, error });
    const next = recordOutcomes({}, [group("create", "POST /Groups: 400 bad name"), group("add-members", "the group Sales was not created")], T0, { countFailures: true });
    expect(next["Group:sales"]).toMatchObject({ attempts: 1, op: "create", lastError: "POST /Groups: 400 bad name" });
  });

  it("Given a success and no failure, the record is cleared; other objects' records stay", () => {
    const failures = { "User:ada": aFailure(), "User:bob": aFailure({ name: "bob@example.com" }) };
    const next = recordOutcomes(failures, [outcome({ status: "ok", error: undefined, failureKind: undefined })], T0, { countFailures: true });
    expect(next).toEqual({ "User:bob": failures["User:bob"] });
  });

  it.each([
    ["the token was rejected", [outcome({ failureKind: "auth" })], true],
    ["the target did not answer", [outcome({ failureKind: "no-answer" })], true],
    ["the run stopped early for a systemic failure", [outcome()], false],
    ["the action was not started", [outcome({ status: "planned", error: undefined })], true],
    ["the action was held back by the safety limit", [outcome({ op: "delete", status: "skipped" })], true],
  ] as const)("Given %s, the record stays as it was", (_, outcomes, countFailures) => {
    const failures = { "User:ada": aFailure() };
    expect(recordOutcomes(failures, outcomes, T0, { countFailures })).toEqual(failures);
  });

  it("keeps a long error short in the state file", () => {
    const next = recordOutcomes({}, [outcome({ error: "x".repeat(5000) })], T0, { countFailures: true });
    expect(next["User:ada"]!.lastError.length).toBe(1000);
  });
});

describe("planning with escrow", () => {
  const newcomer = [aDesiredUser({ id: "ada" })];

  it("Given a newcomer whose create waits, then it is held with the reason and its record, and no create is planned", () => {
    const failure = aFailure();
    const plan = planChanges(aPlanInput({ desired: newcomer, state: withFailures(aState(), { "User:ada": failure }) }));

    expect(plan.actions).toEqual([]);
    expect(plan.held).toEqual([
      {
        type: "User",
        key: "ada@example.com",
        sourceId: "ada",
        reason: expect.stringMatching(/^waiting until .* after 2 failed attempt\(s\) to create: POST \/Users: 400 invalidValue: title is too long/),
        escrow: { op: "create", attempts: 2, firstFailedAt: failure.firstFailedAt, lastFailedAt: failure.lastFailedAt, lastError: failure.lastError, nextAttemptAt: failure.nextAttemptAt },
      },
    ]);
    expect(plan.state.failures).toEqual({ "User:ada": failure });
  });

  it.each([
    ["its next attempt is due", { now: at(hours(1)) }],
    ["the run is a few minutes early (a jittered timer)", { now: at(hours(1) - MINUTE * 14) }],
    ["sync --retry-now", { retryFailed: true }],
  ])("Given %s, then the create is planned and the record kept until the outcome is known", (_, extra) => {
    const plan = planChanges(aPlanInput({ desired: newcomer, state: withFailures(aState(), { "User:ada": aFailure() }), ...extra }));
    expect(plan.actions.map((a) => `${a.op} ${a.key}`)).toEqual(["create ada@example.com"]);
    expect(plan.held).toEqual([]);
    expect(plan.state.failures).toEqual({ "User:ada": aFailure() });
  });

  it("Given a failing object that now needs nothing, or is gone from every list, then its record is dropped", () => {
    const state = withFailures(aState({ bob: aManagedRecord("bob") }), {
      "User:bob": aFailure({ name: "bob@example.com", op: "update" }),
      "User:gone": aFailure({ name: "gone@example.com" }),
      "Group:old": aFailure({ name: "Old", op: "create" }),
    });
    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "bob" })], actual: [aTargetUser({ id: "bob" })], state }));
    expect(plan.actions).toEqual([]);
    expect(plan.held).toEqual([]);
    expect(plan.state.failures).toBeUndefined();
  });

  it("Given an update or an unsuspend that waits, then it is held and the account is left as it is", () => {
    const state = withFailures(aState({ bob: aManagedRecord("bob"), cy: aManagedRecord("cy") }), {
      "User:bob": aFailure({ name: "bob@example.com", op: "update" }),
      "User:cy": aFailure({ name: "cy@example.com", op: "unsuspend" }),
    });
    const plan = planChanges(
      aPlanInput({
        desired: [aDesiredUser({ id: "bob", title: "Staff Engineer" }), aDesiredUser({ id: "cy" })],
        actual: [aTargetUser({ id: "bob" }), aTargetUser({ id: "cy" }, { active: false })],
        state,
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.held.map((h) => [h.key, h.escrow?.op])).toEqual([
      ["bob@example.com", "update"],
      ["cy@example.com", "unsuspend"],
    ]);
  });

  it("Given a leaver whose suspend failed before, then the suspend is never held: a leaver must lose access", () => {
    const state = withFailures(aState({ ada: aManagedRecord("ada", { conditions: { deleted: iso(-days(2)) } }) }), {
      "User:ada": aFailure({ op: "suspend", attempts: 6, nextAttemptAt: iso(hours(16)) }),
    });
    const plan = planChanges(aPlanInput({ actual: [aTargetUser({ id: "ada" })], state, policy: policyWith("deleted", { suspend: 0, delete: "never" }) }));
    expect(plan.actions.map((a) => a.op)).toEqual(["suspend"]);
    expect(plan.held).toEqual([]);
    expect(plan.state.failures?.["User:ada"]).toMatchObject({ attempts: 6 });
  });

  it("Given a delete that failed before, then it waits only when the account is already inactive", () => {
    const failures = { "User:ada": aFailure({ op: "delete" }) };
    const state = withFailures(aState({ ada: aManagedRecord("ada", { conditions: { deleted: iso(-days(40)) } }) }), failures);
    const policy = policyWith("deleted", { suspend: "never", delete: days(30) });

    const active = planChanges(aPlanInput({ actual: [aTargetUser({ id: "ada" })], state, policy }));
    expect(active.actions.map((a) => a.op)).toEqual(["delete"]);

    const inactive = planChanges(aPlanInput({ actual: [aTargetUser({ id: "ada" }, { active: false })], state, policy }));
    expect(inactive.actions).toEqual([]);
    expect(inactive.held).toEqual([expect.objectContaining({ key: "ada@example.com", escrow: expect.objectContaining({ op: "delete" }) })]);
  });

  it("Given a group that waits, then none of its actions are planned; a newcomer whose create waits joins no group", () => {
    const users = { bob: aManagedRecord("bob") };
    const state: SyncState = {
      ...aState(users),
      groups: { eng: aStateGroup("eng", ["t-bob"]) },
      failures: { "Group:sales": aFailure({ name: "Sales", op: "create" }), "User:ada": aFailure() },
    };
    const plan = planChanges(
      aPlanInput({
        desired: [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "bob" })],
        actual: [aTargetUser({ id: "bob" })],
        state,
        groups: aGroupInput({
          desired: [aDesiredGroup("sales", ["ada", "bob"]), aDesiredGroup("eng", ["ada", "bob"])],
          actual: [aTargetGroup("eng", { members: ["t-bob"] })],
        }),
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.held.map((h) => `${h.type} ${h.key}`)).toEqual(["User ada@example.com", "Group Sales"]);
  });
});

describe("the state file, version 4", () => {
  const v3 = {
    version: 3,
    serial: 7,
    targetUrl: "https://app.example.com/scim/v2",
    users: { ada: { targetId: "t-ada", userName: "ada@example.com", origin: "created", since: "2026-01-01T00:00:00.000Z", suspendedAt: "2026-02-01T00:00:00.000Z", conditions: { deleted: "2026-02-01T00:00:00.000Z" } } },
    groups: { eng: { targetId: "g-eng", displayName: "Eng", origin: "adopted", since: "2026-01-01T00:00:00.000Z", members: ["t-ada"], removedSince: "2026-02-02T00:00:00.000Z" } },
    groupMembersHidden: false,
    lastRun: { runId: "r-1", startedAt: "2026-02-03T00:00:00.000Z", finishedAt: "2026-02-03T00:01:00.000Z", result: "failed", counts: { failed: 1 } },
    source: { kind: "microsoft", deltaLink: "https://graph.example/delta" },
  };

  it("Given a version 3 file, when read, then everything is kept and nothing is failing", () => {
    const parsed = parseStateFile(JSON.stringify(v3));
    expect(parsed).toEqual({
      kind: "ok",
      version: 3,
      state: {
        targetUrl: v3.targetUrl,
        serial: 7,
        users: v3.users,
        groups: v3.groups,
        groupMembersHidden: false,
        lastRun: v3.lastRun,
        sourceCache: v3.source,
      },
    });
  });

  it("Given failure records, when written and read back, then they are kept, in key order", () => {
    const parsed = parseStateFile(JSON.stringify(v3));
    if (parsed.kind !== "ok") throw new Error(parsed.kind);
    const failures = { [failureKey("User", "ada")]: aFailure(), [failureKey("Group", "eng")]: aFailure({ name: "Eng", op: "add-members" }) };
    const written = serializeStateFile({ ...parsed.state, failures });
    if ("invalid" in written) throw new Error(written.invalid);
    const onDisk = JSON.parse(written.text);
    expect(onDisk.version).toBe(4);
    expect(Object.keys(onDisk.failures)).toEqual(["Group:eng", "User:ada"]);
    expect(parseStateFile(written.text)).toMatchObject({ kind: "ok", version: 4, state: { ...parsed.state, failures } });
  });

  it("Given no failure records, the file has no failures key", () => {
    const parsed = parseStateFile(JSON.stringify(v3));
    if (parsed.kind !== "ok") throw new Error(parsed.kind);
    const written = serializeStateFile(parsed.state);
    expect("text" in written && JSON.parse(written.text)).not.toHaveProperty("failures");
  });

  it("Given a failure record under a key that names no type, the file is damaged", () => {
    const file = { ...v3, version: 4, failures: { ada: aFailure() } };
    expect(parseStateFile(JSON.stringify(file))).toMatchObject({ kind: "invalid", reason: expect.stringContaining("failures.ada") });
  });
});

describe("status shows escrow", () => {
  const audit = (key: string, error: string): AuditLogContents => ({
    actions: [{ time: iso(0), runId: "r-1", op: "create", type: "User", key, changed: [], status: "failed", error }],
    runs: [],
    malformed: 0,
  });

  it("lists the state's records with their next attempt, preferring them to the audit log's view of the same object", () => {
    const state = { ...aState(), serial: 1, failures: { "User:ada": aFailure(), "Group:eng": aFailure({ name: "Eng", op: "add-members", attempts: 1, nextAttemptAt: iso(-MINUTE) }) } };
    const both = { ...audit("ADA@example.com", "stale"), actions: [...audit("ADA@example.com", "stale").actions, ...audit("cy@example.com", "POST /Users: 409").actions] };
    const status = buildStatus(state, policyWith("deleted", { suspend: 0, delete: "never" }), { delete: "never" }, both);
    expect(status.failing).toEqual([
      { type: "User", key: "ada@example.com", attempts: 2, lastError: aFailure().lastError, source: "state", op: "create", firstFailedAt: aFailure().firstFailedAt, lastFailedAt: aFailure().lastFailedAt, nextAttemptAt: aFailure().nextAttemptAt },
      { type: "User", key: "cy@example.com", attempts: 1, lastError: "POST /Users: 409", source: "audit-log" },
      expect.objectContaining({ type: "Group", key: "Eng", source: "state", attempts: 1 }),
    ]);

    const text = renderHumanStatus(status, { target: "t", statePath: "s", stateFound: true, auditLog: "off", now: T0 }, makeStyle(false));
    expect(text).toContain(`ada@example.com: 2 failed attempt(s) in a row to create; waiting until ${aFailure().nextAttemptAt} (sync --retry-now tries now); last error: POST /Users: 400`);
    expect(text).toContain("Eng (group): 1 failed attempt(s) in a row to add-members; the next sync tries again;");
  });
});

describe("mayWait: escrow never delays taking access away", () => {
  it("Given a group in escrow, When members are to be removed or the group deleted, Then those actions are not held", async () => {
    const { mayWait } = await import("../src/core/escrow.js");
    expect(mayWait("Group", "remove-members")).toBe(false);
    expect(mayWait("Group", "delete")).toBe(false);
    expect(mayWait("Group", "add-members")).toBe(true);
    expect(mayWait("User", "suspend")).toBe(false);
    expect(mayWait("User", "delete", true)).toBe(false);
    expect(mayWait("User", "delete", false)).toBe(true);
  });
});
