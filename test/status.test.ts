import { describe, it, expect } from "vitest";
import { pendingDeprovisions } from "../src/core/pending-deprovisions.js";
import { planChanges } from "../src/core/planner.js";
import { buildStatus, renderHumanStatus } from "../src/ui/status-report.js";
import { makeStyle } from "../src/ui/style.js";
import type { StoredState } from "../src/core/ports.js";
import type { AuditLogContents } from "../src/audit/read-audit-log.js";
import { aManagedRecord, aPlanInput, aPolicy, aState, aStateGroup, aTargetUser, DEFAULT_POLICY, days, hours, iso, T0 } from "./builders.js";

function aStoredState(overrides: Partial<StoredState> = {}): StoredState {
  return { ...aState(), serial: 3, ...overrides };
}

describe("pendingDeprovisions", () => {
  it("Given users with running timers, it lists the suspend and delete each leads to, by due time", () => {
    const state = aState({
      // deleted: suspend 1d, delete 30d
      "u-bo": aManagedRecord("bo", { conditions: { deleted: iso(-hours(2)) } }),
      // already suspended by us: only the delete is ahead
      "u-cy": aManagedRecord("cy", { conditions: { deleted: iso(-days(3)) }, suspendedAt: iso(-days(2)) }),
      // outOfScope: suspend 7d, delete 21d
      "u-di": aManagedRecord("di", { conditions: { outOfScope: iso(-days(1)) } }),
      "u-ed": aManagedRecord("ed"),
    });
    expect(pendingDeprovisions(state, DEFAULT_POLICY, { delete: "never" })).toEqual([
      { op: "suspend", type: "User", key: "bo@example.com", reason: "deleted", since: iso(-hours(2)), due: iso(days(1) - hours(2)) },
      { op: "suspend", type: "User", key: "di@example.com", reason: "outOfScope", since: iso(-days(1)), due: iso(days(6)) },
      { op: "delete", type: "User", key: "di@example.com", reason: "outOfScope", since: iso(-days(1)), due: iso(days(20)) },
      { op: "delete", type: "User", key: "cy@example.com", reason: "deleted", since: iso(-days(3)), due: iso(days(27)) },
      { op: "delete", type: "User", key: "bo@example.com", reason: "deleted", since: iso(-hours(2)), due: iso(days(30) - hours(2)) },
    ]);
  });

  it("Given never and a delete no later than the suspend, nothing moot is listed; removed groups follow the group rule", () => {
    const state = {
      ...aState({
        "u-bo": aManagedRecord("bo", { conditions: { suspended: iso(-hours(1)) } }),
        "u-cy": aManagedRecord("cy", { conditions: { outOfScope: iso(-hours(1)) } }),
      }),
      groups: { "g-eng": aStateGroup("eng", [], { removedSince: iso(-days(1)) }), "g-ops": aStateGroup("ops") },
    };
    const policy = aPolicy({ suspended: { suspend: 0, delete: 0 }, outOfScope: { suspend: "never", delete: "never" } });
    expect(pendingDeprovisions(state, policy, { delete: days(7) })).toEqual([
      { op: "delete", type: "User", key: "bo@example.com", reason: "suspended", since: iso(-hours(1)), due: iso(-hours(1)) },
      { op: "delete", type: "Group", key: "Eng", reason: "removed", since: iso(-days(1)), due: iso(days(6)) },
    ]);
    expect(pendingDeprovisions(state, policy, { delete: "never" })).toHaveLength(1);
  });

  it("agrees with the planner's schedule for the same state", () => {
    const state = aState({ "u-bo": aManagedRecord("bo", { conditions: { deleted: iso(-hours(2)) } }) });
    const plan = planChanges(aPlanInput({ state, actual: [aTargetUser({ id: "u-bo", userName: "bo@example.com" }, { id: "t-bo" })] }));
    const fromPlanner = plan.scheduled.map((s) => ({ op: s.op, key: s.key, due: s.due }));
    const fromState = pendingDeprovisions(state, DEFAULT_POLICY, { delete: "never" }).map((p) => ({ op: p.op, key: p.key, due: p.due }));
    expect(fromPlanner).toHaveLength(2);
    expect(fromState).toEqual(expect.arrayContaining(fromPlanner));
    expect(fromState).toHaveLength(fromPlanner.length);
  });
});

describe("buildStatus", () => {
  const lastRun = { runId: "r-1", startedAt: iso(-60_000), finishedAt: iso(0), result: "failed" as const, counts: { failed: 1, create: 2 } };

  it("Given a state and an audit log, it has exactly the documented shape", () => {
    const audit: AuditLogContents = {
      actions: [{ time: iso(0), runId: "r-1", op: "create", type: "User", key: "bo@example.com", changed: [], status: "failed", error: "400: nope" }],
      runs: [{ time: iso(1000), runId: "r-1", event: "run", result: "failed", counts: lastRun.counts, startedAt: lastRun.startedAt, token: "accepted" }],
      malformed: 0,
    };
    const state = aStoredState({ users: { "u-ada": aManagedRecord("ada", { conditions: { deleted: iso(0) } }) }, lastRun });
    const status = buildStatus(state, DEFAULT_POLICY, { delete: "never" }, audit);
    expect(status).toEqual({
      managed: { users: 1, groups: 0 },
      lastRun: { ...lastRun, token: "accepted" },
      pending: [
        { op: "suspend", type: "User", key: "ada@example.com", reason: "deleted", since: iso(0), due: iso(days(1)) },
        { op: "delete", type: "User", key: "ada@example.com", reason: "deleted", since: iso(0), due: iso(days(30)) },
      ],
      failing: [{ type: "User", key: "bo@example.com", attempts: 1, lastError: "400: nope", source: "audit-log" }],
    });
    expect(Object.keys(status)).toEqual(["managed", "lastRun", "pending", "failing"]);
  });

  it("Given a later run that ended with the token rejected, the audit log's run is the last run", () => {
    const audit: AuditLogContents = {
      actions: [],
      runs: [{ time: iso(hours(1)), runId: "r-2", event: "run", result: "error", counts: {}, startedAt: iso(hours(1) - 5000), token: "rejected", error: "401" }],
      malformed: 0,
    };
    const status = buildStatus(aStoredState({ lastRun }), DEFAULT_POLICY, { delete: "never" }, audit);
    expect(status.lastRun).toEqual({ runId: "r-2", startedAt: iso(hours(1) - 5000), finishedAt: iso(hours(1)), result: "error", counts: {}, token: "rejected", error: "401" });
  });

  it("Given no audit log, the token is judged from the state's last run, and nothing is failing", () => {
    expect(buildStatus(aStoredState({ lastRun }), DEFAULT_POLICY, { delete: "never" }, undefined)).toMatchObject({ lastRun: { token: "accepted" }, failing: [] });
    const rejected = buildStatus(aStoredState({ lastRun: { ...lastRun, result: "error" } }), DEFAULT_POLICY, { delete: "never" }, undefined);
    expect(rejected.lastRun?.token).toBe("rejected");
    expect(buildStatus(aStoredState(), DEFAULT_POLICY, { delete: "never" }, undefined).lastRun).toBeNull();
  });

  it("renders readable sections, with overdue actions and the way to track failures", () => {
    const state = aStoredState({ users: { "u-ada": aManagedRecord("ada", { conditions: { deleted: iso(-days(2)) } }) }, lastRun });
    const text = renderHumanStatus(
      buildStatus(state, DEFAULT_POLICY, { delete: "never" }, undefined),
      { target: "https://app.example.com/scim/v2", statePath: "/x/state.json", stateFound: true, auditLog: "off", now: T0 },
      makeStyle(false),
    );
    expect(text).toContain("Managed: 1 user(s), 0 group(s)");
    expect(text).toMatch(/Last run: .* failed/);
    expect(text).toContain("applied: 2 create; 1 failed");
    expect(text).toContain("token: accepted by the target");
    expect(text).toMatch(/suspend ada@example\.com\s+due .*overdue/);
    expect(text).toContain("set log.path");
  });
});
