import { describe, expect, it } from "vitest";
import type {
  DeprovisionReason,
  DeprovisionRule,
  DesiredUser,
  PlannedAction,
  ScheduledAction,
  StateUser,
  TargetUser,
} from "../src/core/model.js";
import { planChanges } from "../src/core/planner.js";
import { buildUserResource, ENTERPRISE_USER, type MatchBy } from "../src/core/mapping.js";
import {
  aDesiredUser,
  aManagedRecord,
  aPlanInput,
  aPolicy,
  aSourceUser,
  aState,
  aStateUser,
  aTargetUser,
  at,
  days,
  hours,
  iso,
  MAPPING,
  MAPPING_BY_USERNAME,
  policyWith,
  T0,
} from "./builders.js";

const REASONS: DeprovisionReason[] = ["deleted", "suspended", "outOfScope"];

/** What the directory says about `id` when `reason` holds for it. */
function departing(reason: DeprovisionReason, id = "ada"): DesiredUser[] {
  switch (reason) {
    case "deleted":
      return [];
    case "suspended":
      return [aDesiredUser({ id, active: false })];
    case "outOfScope":
      return [aDesiredUser({ id }, { status: "outOfScope" })];
  }
}

function suspendOf(id: string, reason: DeprovisionReason): PlannedAction {
  return {
    op: "suspend",
    type: "User",
    key: `${id}@example.com`,
    sourceId: id,
    targetId: `t-${id}`,
    changes: { active: { from: true, to: false } },
    reason,
  };
}

function deleteOf(id: string, reason: DeprovisionReason): PlannedAction {
  return { op: "delete", type: "User", key: `${id}@example.com`, sourceId: id, targetId: `t-${id}`, changes: {}, reason };
}

function unsuspendOf(id: string, changes: PlannedAction["changes"] = {}): PlannedAction {
  return {
    op: "unsuspend",
    type: "User",
    key: `${id}@example.com`,
    sourceId: id,
    targetId: `t-${id}`,
    changes: { active: { from: false, to: true }, ...changes },
  };
}

function scheduledOf(op: "suspend" | "delete", id: string, reason: DeprovisionReason, dueOffset: number): ScheduledAction {
  return { op, type: "User", key: `${id}@example.com`, sourceId: id, reason, due: iso(dueOffset) };
}

function createOf(source: Parameters<typeof aDesiredUser>[0], mapping = MAPPING): PlannedAction {
  const want = aDesiredUser(source, { mapping });
  const changes: PlannedAction["changes"] = {};
  for (const [path, value] of Object.entries(want.attributes)) if (value !== null) changes[path] = { from: null, to: value };
  return { op: "create", type: "User", key: want.userName, sourceId: want.sourceId, changes, attributes: want.attributes };
}

/** The op and key of each action, for the tests where the order is the point. */
const opsOf = (actions: PlannedAction[]): string[] => actions.map((a) => `${a.op} ${a.key}`);

// ---------------------------------------------------------------------------------------------
// Every deprovisioning transition, for each of the three reasons.
// ---------------------------------------------------------------------------------------------

interface Transition {
  name: string;
  rule: DeprovisionRule;
  /** Offset from T0 at which the condition was first seen; absent: not seen before this run. */
  since?: number;
  suspendedAt?: number;
  /** The target account's active flag; null: the account vanished from the target. */
  target: boolean | null;
  /** true: the directory shows the user active and in scope again. */
  cleared?: boolean;
  actions: (reason: DeprovisionReason) => PlannedAction[];
  scheduled: Array<["suspend" | "delete", number]>;
  /** The user's conditions in plan.state (offsets from T0); "dropped": no longer managed. */
  conditions: "dropped" | "none" | number;
}

const STANDARD: DeprovisionRule = { suspend: days(1), delete: days(30) };

const TRANSITIONS: Transition[] = [
  {
    name: "Given the condition is first seen, When planned, Then the timer starts and both actions are scheduled",
    rule: STANDARD,
    target: true,
    actions: () => [],
    scheduled: [["suspend", days(1)], ["delete", days(30)]],
    conditions: 0,
  },
  {
    name: "Given the condition was seen 12h ago, When planned, Then nothing is due and the due times count from then",
    rule: STANDARD,
    since: -hours(12),
    target: true,
    actions: () => [],
    scheduled: [["suspend", hours(12)], ["delete", days(30) - hours(12)]],
    conditions: -hours(12),
  },
  {
    name: "Given the suspend delay has just elapsed, When planned, Then the user is suspended",
    rule: STANDARD,
    since: -days(1),
    target: true,
    actions: (r) => [suspendOf("ada", r)],
    scheduled: [["delete", days(29)]],
    conditions: -days(1),
  },
  {
    name: "Given the suspend delay has elapsed 1ms short, When planned, Then it is still only scheduled",
    rule: STANDARD,
    since: -days(1) + 1,
    target: true,
    actions: () => [],
    scheduled: [["suspend", 1], ["delete", days(29) + 1]],
    conditions: -days(1) + 1,
  },
  {
    name: "Given the suspend is overdue, When planned, Then the user is suspended and the delete stays scheduled",
    rule: STANDARD,
    since: -days(3),
    target: true,
    actions: (r) => [suspendOf("ada", r)],
    scheduled: [["delete", days(27)]],
    conditions: -days(3),
  },
  {
    name: "Given we already suspended the user, When planned again, Then no second suspend is planned",
    rule: STANDARD,
    since: -days(3),
    suspendedAt: -days(2),
    target: false,
    actions: () => [],
    scheduled: [["delete", days(27)]],
    conditions: -days(3),
  },
  {
    name: "Given the delete is due and the user was never suspended, When planned, Then the user is deleted",
    rule: STANDARD,
    since: -days(30),
    target: true,
    actions: (r) => [deleteOf("ada", r)],
    scheduled: [],
    conditions: -days(30),
  },
  {
    name: "Given the delete is due after our suspension, When planned, Then the user is deleted",
    rule: STANDARD,
    since: -days(31),
    suspendedAt: -days(30),
    target: false,
    actions: (r) => [deleteOf("ada", r)],
    scheduled: [],
    conditions: -days(31),
  },
  {
    name: "Given suspend is never and the delete is not due, When planned, Then only the delete is scheduled",
    rule: { suspend: "never", delete: days(30) },
    since: -days(10),
    target: true,
    actions: () => [],
    scheduled: [["delete", days(20)]],
    conditions: -days(10),
  },
  {
    name: "Given suspend is never and the delete is due, When planned, Then the user is deleted without a suspend",
    rule: { suspend: "never", delete: days(30) },
    since: -days(30),
    target: true,
    actions: (r) => [deleteOf("ada", r)],
    scheduled: [],
    conditions: -days(30),
  },
  {
    name: "Given delete is never and the suspend is due, When planned, Then the user is suspended and no delete is scheduled",
    rule: { suspend: days(1), delete: "never" },
    since: -days(2),
    target: true,
    actions: (r) => [suspendOf("ada", r)],
    scheduled: [],
    conditions: -days(2),
  },
  {
    name: "Given delete is never and the user was suspended a year ago, When planned, Then nothing ever follows",
    rule: { suspend: days(1), delete: "never" },
    since: -days(400),
    suspendedAt: -days(399),
    target: false,
    actions: () => [],
    scheduled: [],
    conditions: -days(400),
  },
  {
    name: "Given suspend is now, When the condition is first seen, Then the user is suspended in the same run",
    rule: { suspend: 0, delete: days(30) },
    target: true,
    actions: (r) => [suspendOf("ada", r)],
    scheduled: [["delete", days(30)]],
    conditions: 0,
  },
  {
    name: "Given delete is now, When the condition is first seen, Then the user is deleted in the same run",
    rule: { suspend: 0, delete: 0 },
    target: true,
    actions: (r) => [deleteOf("ada", r)],
    scheduled: [],
    conditions: 0,
  },
  {
    name: "Given suspend and delete are never, When the condition is first seen, Then it is recorded and nothing is scheduled",
    rule: { suspend: "never", delete: "never" },
    target: true,
    actions: () => [],
    scheduled: [],
    conditions: 0,
  },
  {
    name: "Given a pending suspend, When the condition clears before it is due, Then the timer is cancelled",
    rule: STANDARD,
    since: -hours(12),
    target: true,
    cleared: true,
    actions: () => [],
    scheduled: [],
    conditions: "none",
  },
  {
    name: "Given we suspended the user, When the condition clears, Then the user is unsuspended and the timer is cancelled",
    rule: STANDARD,
    since: -days(3),
    suspendedAt: -days(2),
    target: false,
    cleared: true,
    actions: () => [unsuspendOf("ada")],
    scheduled: [],
    conditions: "none",
  },
  {
    name: "Given the account vanished from the target while on its way out, When planned, Then the record is dropped",
    rule: STANDARD,
    since: -days(3),
    suspendedAt: -days(2),
    target: null,
    actions: () => [],
    scheduled: [],
    conditions: "dropped",
  },
  {
    name: "Given the account vanished before the condition was seen, When planned, Then the record is dropped",
    rule: STANDARD,
    target: null,
    actions: () => [],
    scheduled: [],
    conditions: "dropped",
  },
];

describe("planChanges: deprovisioning transitions", () => {
  const cases = TRANSITIONS.flatMap((t) => REASONS.map((reason) => ({ reason, ...t })));

  it.each(cases)("$reason: $name", (c) => {
    const record = aManagedRecord("ada", {
      conditions: c.since === undefined ? {} : { [c.reason]: iso(c.since) },
      ...(c.suspendedAt === undefined ? {} : { suspendedAt: iso(c.suspendedAt) }),
    });
    const input = aPlanInput({
      desired: c.cleared ? [aDesiredUser({ id: "ada" })] : departing(c.reason),
      actual: c.target === null ? [] : [aTargetUser({ id: "ada" }, { active: c.target })],
      state: aState({ ada: record }),
      policy: policyWith(c.reason, c.rule),
    });

    const plan = planChanges(input);

    expect(plan.actions).toEqual(c.actions(c.reason));
    expect(plan.scheduled).toEqual(c.scheduled.map(([op, due]) => scheduledOf(op, "ada", c.reason, due)));
    expect(plan.adopted).toEqual([]);
    if (c.conditions === "dropped") expect(plan.state.users).toEqual({});
    else
      expect(plan.state.users.ada).toEqual({
        ...record,
        conditions: c.conditions === "none" ? {} : { [c.reason]: iso(c.conditions) },
      });
  });

  it.each(REASONS)(
    "%s: Given the condition is first seen at T0, When replanned from plan.state at later times, Then the due times stay anchored at T0",
    (reason) => {
      const policy = policyWith(reason, STANDARD);
      const runAt = (offset: number, state: ReturnType<typeof aState>, active: boolean) =>
        planChanges(
          aPlanInput({ desired: departing(reason), actual: [aTargetUser({ id: "ada" }, { active })], state, policy, now: at(offset) }),
        );

      const first = runAt(0, aState({ ada: aManagedRecord("ada") }), true);
      expect(first.scheduled).toEqual([scheduledOf("suspend", "ada", reason, days(1)), scheduledOf("delete", "ada", reason, days(30))]);

      const second = runAt(hours(12), first.state, true);
      expect(second.actions).toEqual([]);
      expect(second.scheduled).toEqual(first.scheduled);

      const third = runAt(days(1), second.state, true);
      expect(third.actions).toEqual([suspendOf("ada", reason)]);
      expect(third.scheduled).toEqual([scheduledOf("delete", "ada", reason, days(30))]);

      const fourth = runAt(days(30) - 1, { ...third.state, users: { ada: { ...third.state.users.ada!, suspendedAt: iso(days(1)) } } }, false);
      expect(fourth.actions).toEqual([]);
      expect(fourth.scheduled).toEqual([scheduledOf("delete", "ada", reason, days(30))]);

      const fifth = runAt(days(30), fourth.state, false);
      expect(fifth.actions).toEqual([deleteOf("ada", reason)]);
      expect(fifth.state.users.ada!.conditions).toEqual({ [reason]: iso(0) });
    },
  );

  it("Given ada was out of scope and suspended by us, When she leaves the directory, Then a deleted timer starts now and no second suspend is planned", () => {
    const record = aManagedRecord("ada", { conditions: { outOfScope: iso(-days(10)) }, suspendedAt: iso(-days(3)) });

    const plan = planChanges(
      aPlanInput({ desired: [], actual: [aTargetUser({ id: "ada" }, { active: false })], state: aState({ ada: record }) }),
    );

    expect(plan.actions).toEqual([]);
    // The user is already inactive: the deleted rule's suspend (1d) has nothing left to do.
    expect(plan.scheduled).toEqual([scheduledOf("delete", "ada", "deleted", days(30))]);
    expect(plan.state.users.ada).toEqual({ ...record, conditions: { deleted: iso(0) } });
  });

  it("Given the directory says ada was deleted 10 days ago, When scimsync first sees it, Then the deleted timer starts at that time", () => {
    const record = aManagedRecord("ada");

    const plan = planChanges(
      aPlanInput({ desired: [], actual: [aTargetUser({ id: "ada" })], state: aState({ ada: record }), deletedAt: { ada: iso(-days(10)) } }),
    );

    // The deleted rule (suspend 1d, delete 30d) counts from the deletion: the suspend is overdue, the delete 20 days off.
    expect(plan.actions).toEqual([suspendOf("ada", "deleted")]);
    expect(plan.scheduled).toEqual([scheduledOf("delete", "ada", "deleted", days(20))]);
    expect(plan.state.users.ada!.conditions).toEqual({ deleted: iso(-days(10)) });
  });

  it("Given the directory says ada was deleted 40 days ago, When scimsync first sees it, Then she is suspended now and the overdue delete waits for the next run", () => {
    const input = aPlanInput({ desired: [], actual: [aTargetUser({ id: "ada" })], state: aState({ ada: aManagedRecord("ada") }), deletedAt: { ada: iso(-days(40)) } });

    const first = planChanges(input);

    expect(first.actions).toEqual([suspendOf("ada", "deleted")]);
    expect(first.scheduled).toEqual([scheduledOf("delete", "ada", "deleted", 0)]);
    expect(first.warnings).toContain(`ada@example.com: deleted in the directory at ${iso(-days(40))}, first seen now; the overdue delete is done by the next run`);

    const second = planChanges({ ...input, state: first.state, actual: [aTargetUser({ id: "ada" }, { active: false })], now: at(3_600_000) });
    expect(second.actions).toEqual([deleteOf("ada", "deleted")]);
  });

  it("Given a deleted timer already running, When the directory reports another deletion time, Then the recorded start stands", () => {
    const record = aManagedRecord("ada", { conditions: { deleted: iso(-days(2)) } });

    const plan = planChanges(
      aPlanInput({ desired: [], actual: [aTargetUser({ id: "ada" })], state: aState({ ada: record }), deletedAt: { ada: iso(-days(25)) } }),
    );

    expect(plan.state.users.ada!.conditions).toEqual({ deleted: iso(-days(2)) });
  });

  it("Given a deletion time in the future (a skewed clock), When planned, Then the timer starts now", () => {
    const plan = planChanges(
      aPlanInput({ desired: [], actual: [aTargetUser({ id: "ada" })], state: aState({ ada: aManagedRecord("ada") }), deletedAt: { ada: iso(days(3)) } }),
    );

    expect(plan.state.users.ada!.conditions).toEqual({ deleted: iso(0) });
  });

  it("Given ada was suspended in the directory, When she is reactivated but out of scope, Then the outOfScope timer starts now and she stays suspended", () => {
    const record = aManagedRecord("ada", { conditions: { suspended: iso(-days(5)) }, suspendedAt: iso(-days(5)) });

    const plan = planChanges(
      aPlanInput({
        desired: [aDesiredUser({ id: "ada" }, { status: "outOfScope" })],
        actual: [aTargetUser({ id: "ada" }, { active: false })],
        state: aState({ ada: record }),
      }),
    );

    expect(plan.actions).toEqual([]);
    expect(plan.scheduled).toEqual([scheduledOf("delete", "ada", "outOfScope", days(21))]);
    expect(plan.state.users.ada).toEqual({ ...record, conditions: { outOfScope: iso(0) } });
  });

  it("Given ada left the directory, When planned, Then the input state is not mutated", () => {
    const state = aState({ ada: aManagedRecord("ada") });
    const before = structuredClone(state);

    planChanges(aPlanInput({ desired: [], actual: [aTargetUser({ id: "ada" })], state }));

    expect(state).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Creating, adopting and updating.
// ---------------------------------------------------------------------------------------------

describe("planChanges: creating and adopting", () => {
  it("Given an empty target and state, When planned, Then everyone active is created, in userName order", () => {
    const plan = planChanges(
      aPlanInput({
        desired: [aDesiredUser({ id: "carl" }), aDesiredUser({ id: "ada", displayName: "Ada Lovelace" }), aDesiredUser({ id: "bob" })],
      }),
    );

    expect(plan.actions).toEqual([createOf({ id: "ada", displayName: "Ada Lovelace" }), createOf({ id: "bob" }), createOf({ id: "carl" })]);
    expect(plan.actions[0]).toEqual({
      op: "create",
      type: "User",
      key: "ada@example.com",
      sourceId: "ada",
      changes: {
        userName: { from: null, to: "ada@example.com" },
        externalId: { from: null, to: "ada" },
        "name.givenName": { from: null, to: "Ada" },
        "name.familyName": { from: null, to: "Example" },
        displayName: { from: null, to: "Ada Lovelace" },
        'emails[type eq "work"].value': { from: null, to: "ada@example.com" },
        title: { from: null, to: "Engineer" },
        [`${ENTERPRISE_USER}:department`]: { from: null, to: "Research" },
        [`${ENTERPRISE_USER}:employeeNumber`]: { from: null, to: "E-ada" },
      },
      attributes: {
        userName: "ada@example.com",
        externalId: "ada",
        "name.givenName": "Ada",
        "name.familyName": "Example",
        displayName: "Ada Lovelace",
        'emails[type eq "work"].value': "ada@example.com",
        title: "Engineer",
        [`${ENTERPRISE_USER}:department`]: "Research",
        [`${ENTERPRISE_USER}:employeeNumber`]: "E-ada",
      },
    });
    expect(plan.scheduled).toEqual([]);
    expect(plan.adopted).toEqual([]);
    expect(plan.state.users).toEqual({});
    expect(plan.safety).toEqual({ deprovisions: 0, managed: 0, blocked: false });
  });

  it("Given a create attribute is empty in the source, When planned, Then it is left out of the changes but kept as null in attributes", () => {
    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada", title: undefined })] }));

    expect(plan.actions[0]!.changes).not.toHaveProperty("title");
    expect(plan.actions[0]!.attributes).toHaveProperty("title", null);
  });

  it("Given a target user with ada's externalId under her old userName, When planned, Then it is adopted and renamed", () => {
    const target = aTargetUser({ id: "ada" }, { id: "t-99", userName: "ada.lovelace@example.com" });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [target] }));

    expect(plan.adopted).toEqual([{ type: "User", key: "ada@example.com", sourceId: "ada", targetId: "t-99" }]);
    expect(plan.actions).toEqual([
      {
        op: "update",
        type: "User",
        key: "ada@example.com",
        sourceId: "ada",
        targetId: "t-99",
        changes: { userName: { from: "ada.lovelace@example.com", to: "ada@example.com" } },
      },
    ]);
    // The state records the name the account has until the rename has been applied.
    expect(plan.state.users).toEqual({
      ada: { targetId: "t-99", userName: "ada.lovelace@example.com", origin: "adopted", since: iso(0), conditions: {} },
    });
  });

  it("Given matchBy externalId, When one target user has the externalId and another the userName, Then the externalId wins", () => {
    const byExternalId = aTargetUser({ id: "ada" }, { id: "t-ext", userName: "a.lovelace@example.com" });
    const byUserName = aTargetUser({ id: "ada" }, { id: "t-name", externalId: null });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [byUserName, byExternalId] }));

    expect(plan.adopted).toEqual([{ type: "User", key: "ada@example.com", sourceId: "ada", targetId: "t-ext" }]);
  });

  it("Given matchBy userName, When a target user's userName differs only in case, Then it is adopted without an update", () => {
    const target = aTargetUser({ id: "ada" }, { id: "t-7", userName: "ADA@Example.COM", externalId: null });

    const plan = planChanges(
      aPlanInput({ matchBy: "userName", desired: [aDesiredUser({ id: "ada" }, { mapping: MAPPING_BY_USERNAME })], actual: [target] }),
    );

    expect(plan.adopted).toEqual([{ type: "User", key: "ada@example.com", sourceId: "ada", targetId: "t-7" }]);
    expect(plan.actions).toEqual([]);
    expect(plan.state.users.ada).toEqual({ targetId: "t-7", userName: "ADA@Example.COM", origin: "adopted", since: iso(0), conditions: {} });
  });

  it("Given matchBy externalId and a hand-made account without externalId, When planned, Then it is adopted by userName and given the externalId", () => {
    const target = aTargetUser({ id: "ada" }, { id: "t-7", userName: "Ada@Example.com", externalId: null });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [target] }));

    expect(plan.adopted).toEqual([{ type: "User", key: "ada@example.com", sourceId: "ada", targetId: "t-7" }]);
    expect(plan.actions).toEqual([
      {
        op: "update",
        type: "User",
        key: "ada@example.com",
        sourceId: "ada",
        targetId: "t-7",
        changes: { externalId: { from: null, to: "ada" } },
      },
    ]);
  });

  it("Given an inactive unmanaged account carrying the source user's externalId, When adopted, Then it is activated", () => {
    const target = aTargetUser({ id: "ada" }, { active: false });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [target] }));

    expect(plan.adopted).toEqual([{ type: "User", key: "ada@example.com", sourceId: "ada", targetId: "t-ada" }]);
    expect(plan.actions).toEqual([unsuspendOf("ada")]);
  });

  it.each<MatchBy>(["userName", "externalId"])(
    "matchBy %s: Given an inactive unmanaged account matched by userName only, When planned, Then it is neither adopted, reactivated nor duplicated",
    (matchBy) => {
      const mapping = matchBy === "userName" ? MAPPING_BY_USERNAME : MAPPING;
      // A former employee's account, switched off by hand, whose userName the newcomer now has.
      const former = aTargetUser({ id: "hal" }, { id: "t-old", externalId: "okta-old-77", active: false });

      const plan = planChanges(aPlanInput({ matchBy, desired: [aDesiredUser({ id: "hal-2", userName: "hal@example.com" }, { mapping })], actual: [former] }));

      expect(plan.actions).toEqual([]);
      expect(plan.adopted).toEqual([]);
      expect(plan.state.users).toEqual({});
      expect(plan.held).toEqual([
        { type: "User", key: "hal@example.com", sourceId: "hal-2", reason: expect.stringContaining("the target has an inactive account hal@example.com that scimsync does not manage") },
      ]);
    },
  );

  it.each<MatchBy>(["userName", "externalId"])(
    "matchBy %s: Given two target users whose userNames differ only in case, When planned, Then a warning and no action",
    (matchBy) => {
      const mapping = matchBy === "userName" ? MAPPING_BY_USERNAME : MAPPING;
      const actual = [
        aTargetUser({ id: "ada" }, { id: "t-1", externalId: null }),
        aTargetUser({ id: "ada" }, { id: "t-2", userName: "ADA@example.com", externalId: null }),
      ];

      const plan = planChanges(aPlanInput({ matchBy, desired: [aDesiredUser({ id: "ada" }, { mapping })], actual }));

      expect(plan.actions).toEqual([]);
      expect(plan.adopted).toEqual([]);
      expect(plan.state.users).toEqual({});
      expect(plan.held).toEqual([
        {
          type: "User",
          key: "ada@example.com",
          sourceId: "ada",
          reason: "not created or adopted: 2 target users have userName ada@example.com (differing only in case); resolve the duplicate on the target",
        },
      ]);
    },
  );

  it("Given unmanaged target users, some matching suspended or out-of-scope source users, When planned with immediate delays, Then none is touched or adopted", () => {
    const actual = [
      aTargetUser({ id: "ada" }),
      aTargetUser({ id: "mallory" }), // not in the directory at all
      aTargetUser({ id: "sam" }), // suspended in the directory
      aTargetUser({ id: "otto" }), // out of scope
    ];
    const desired = [
      aDesiredUser({ id: "ada" }),
      aDesiredUser({ id: "sam", active: false }),
      aDesiredUser({ id: "otto" }, { status: "outOfScope" }),
    ];
    const now = { suspend: 0, delete: 0 };

    const plan = planChanges(
      aPlanInput({
        desired,
        actual,
        state: aState({ ada: aManagedRecord("ada") }),
        policy: aPolicy({ deleted: now, suspended: now, outOfScope: now }),
      }),
    );

    expect(plan.actions).toEqual([]);
    expect(plan.scheduled).toEqual([]);
    expect(plan.adopted).toEqual([]);
    expect(plan.state.users).toEqual({ ada: aManagedRecord("ada") });
  });

  it("Given a first sync was applied, When planned again with nothing changed, Then nothing is planned", () => {
    const desired = [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "bob", title: undefined, department: undefined }), aDesiredUser({ id: "carl" })];
    const first = planChanges(aPlanInput({ desired }));
    // Apply the creates the way the engine does: POST the built resource, record the new id.
    const actual: TargetUser[] = [];
    const state = aState();
    for (const action of first.actions) {
      const resource = { ...buildUserResource(action.attributes!, MAPPING, true), id: `t-${action.sourceId}` };
      actual.push({ id: `t-${action.sourceId}`, userName: action.key, externalId: action.sourceId, active: true, resource });
      state.users[action.sourceId] = aStateUser({ targetId: `t-${action.sourceId}`, userName: action.key, since: iso(0) });
    }

    const second = planChanges(aPlanInput({ desired, actual, state, now: at(hours(1)) }));

    expect(first.actions.map((a) => a.op)).toEqual(["create", "create", "create"]);
    expect(second.actions).toEqual([]);
    expect(second.scheduled).toEqual([]);
    expect(second.adopted).toEqual([]);
    expect(second.warnings).toEqual([]);
    expect(second.state).toEqual(state);
  });

  it("Given manual drift on the target, When planned, Then exactly the drifted attributes are corrected", () => {
    const target = aTargetUser(
      { id: "ada" },
      {
        edit: (r) => {
          r.title = "Manager";
          (r.name as Record<string, unknown>).givenName = "ADA"; // givenName is caseExact
          delete (r[ENTERPRISE_USER] as Record<string, unknown>).department;
          r.nickName = "Countess"; // not mapped: not ours to correct
        },
      },
    );

    const plan = planChanges(
      aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [target], state: aState({ ada: aManagedRecord("ada") }) }),
    );

    expect(plan.actions).toEqual([
      {
        op: "update",
        type: "User",
        key: "ada@example.com",
        sourceId: "ada",
        targetId: "t-ada",
        changes: {
          "name.givenName": { from: "ADA", to: "Ada" },
          title: { from: "Manager", to: "Engineer" },
          [`${ENTERPRISE_USER}:department`]: { from: null, to: "Research" },
        },
      },
    ]);
  });

  it("Given the source no longer has a title, When planned, Then the update removes it", () => {
    const plan = planChanges(
      aPlanInput({
        desired: [aDesiredUser({ id: "ada", title: undefined })],
        actual: [aTargetUser({ id: "ada" })],
        state: aState({ ada: aManagedRecord("ada") }),
      }),
    );

    expect(plan.actions.map((a) => a.changes)).toEqual([{ title: { from: "Engineer", to: null } }]);
  });

  it("Given the target's userName and email differ from the source only in case, When planned, Then nothing is planned", () => {
    const target = aTargetUser(
      { id: "ada" },
      {
        userName: "ADA@EXAMPLE.COM",
        edit: (r) => {
          r.emails = [{ value: "Ada@Example.Com", type: "work", primary: true }];
        },
      },
    );

    const plan = planChanges(
      aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [target], state: aState({ ada: aManagedRecord("ada") }) }),
    );

    expect(plan.actions).toEqual([]);
  });

  it("Given a managed user's account vanished while active in the source, When planned, Then it is re-created and the stale record dropped", () => {
    const record = aManagedRecord("ada", { conditions: { outOfScope: iso(-hours(2)) } });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [], state: aState({ ada: record }) }));

    expect(plan.actions).toEqual([createOf({ id: "ada" })]);
    expect(plan.adopted).toEqual([]);
    // The create records a fresh one; until then nothing would count this disappearance twice.
    expect(plan.state.users.ada).toBeUndefined();
  });

  it("Given a managed user's account vanished and another account has the userName, When planned, Then the re-bind is reported as an adoption", () => {
    const record = aManagedRecord("ada");
    const other = aTargetUser({ id: "ada" }, { id: "t-okta", externalId: "okta-123" });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [other], state: aState({ ada: record }) }));

    expect(plan.adopted).toEqual([{ type: "User", key: "ada@example.com", sourceId: "ada", targetId: "t-okta", previousExternalId: "okta-123" }]);
    expect(plan.state.users.ada).toMatchObject({ targetId: "t-okta" });
  });

  it("Given a managed user's account was restored under a new id, When planned, Then the record follows it and nothing is created", () => {
    const record = aManagedRecord("ada");
    const restored = aTargetUser({ id: "ada" }, { id: "t-restored" });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [restored], state: aState({ ada: record }) }));

    expect(plan.actions).toEqual([]);
    expect(plan.adopted).toEqual([]);
    expect(plan.state.users.ada).toEqual({ ...record, targetId: "t-restored" });
  });

  it.each(REASONS)(
    "%s: Given a departing user's account vanished and a hand-made account has the same userName, When planned, Then the record is dropped and that account is not touched",
    (reason) => {
      const record = aManagedRecord("ada", { conditions: { [reason]: iso(-days(100)) } });
      const handMade = aTargetUser({ id: "ada" }, { id: "t-hand", externalId: null });
      const now = { suspend: 0, delete: 0 };

      const plan = planChanges(
        aPlanInput({
          desired: departing(reason),
          actual: [handMade],
          state: aState({ ada: record }),
          policy: policyWith(reason, now),
        }),
      );

      expect(plan.actions).toEqual([]);
      expect(plan.state.users).toEqual({});
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Fail closed, protected records, the safety brake.
// ---------------------------------------------------------------------------------------------

describe("planChanges: fail closed", () => {
  it.each(REASONS)(
    "%s: Given the source was read incompletely, When planned, Then no deprovisioning, existing timers kept, no new timers, creates and updates go on",
    (reason) => {
      const state = aState({
        ada: aManagedRecord("ada", { conditions: { [reason]: iso(-days(100)) } }), // overdue
        bob: aManagedRecord("bob"), // newly departing
        dan: aManagedRecord("dan"),
      });
      const desired = [
        ...departing(reason, "ada"),
        ...departing(reason, "bob"),
        aDesiredUser({ id: "carl" }),
        aDesiredUser({ id: "dan", title: "Director" }),
      ];
      const actual = [aTargetUser({ id: "ada" }), aTargetUser({ id: "bob" }), aTargetUser({ id: "dan" })];

      const plan = planChanges(aPlanInput({ desired, actual, state, deprovisioningAllowed: false }));

      expect(opsOf(plan.actions)).toEqual(["update dan@example.com", "create carl@example.com"]);
      expect(plan.scheduled).toEqual([]);
      expect(plan.state.users.ada).toEqual(state.users.ada);
      expect(plan.state.users.bob).toEqual(state.users.bob);
      expect(plan.safety.deprovisions).toBe(0);
      expect(plan.warnings).toContain(
        "the directory or the scope could not be read completely: no user is suspended or deleted in this run",
      );
    },
  );
});

describe("planChanges: protected records", () => {
  it("Given ada's record was skipped as malformed (by id), When planned with an overdue timer and immediate delays, Then she is not deprovisioned", () => {
    const record = aManagedRecord("ada", { conditions: { deleted: iso(-days(100)) } });

    const plan = planChanges(
      aPlanInput({
        desired: [],
        actual: [aTargetUser({ id: "ada" })],
        state: aState({ ada: record, bob: aManagedRecord("bob") }),
        policy: policyWith("deleted", { suspend: 0, delete: 0 }),
        protectedIds: ["ada"],
        protectedUserNames: ["bob@example.com"],
      }),
    );

    expect(plan.actions).toEqual([]);
    expect(plan.scheduled).toEqual([]);
    expect(plan.state.users).toEqual({ ada: record, bob: aManagedRecord("bob") });
  });

  it("Given a skipped record's userName differs from the state's in case, When planned, Then it is still protected", () => {
    const plan = planChanges(
      aPlanInput({
        desired: [],
        actual: [aTargetUser({ id: "bob" })],
        state: aState({ bob: aManagedRecord("bob", { userName: "Bob@Example.com" }) }),
        policy: policyWith("deleted", { suspend: 0, delete: 0 }),
        protectedUserNames: ["bob@example.com"],
      }),
    );

    expect(plan.actions).toEqual([]);
  });
});

describe("planChanges: safety", () => {
  /** `managed` managed users, of whom the first `leaving` left the directory long ago. */
  function fleet(managed: number, leaving: number) {
    const ids = Array.from({ length: managed }, (_, i) => `u${String(i).padStart(2, "0")}`);
    const users: Record<string, StateUser> = {};
    for (const [i, id] of ids.entries()) {
      users[id] = aManagedRecord(id, i < leaving ? { conditions: { deleted: iso(-days(100)) } } : {});
    }
    return {
      desired: ids.slice(leaving).map((id) => aDesiredUser({ id })),
      actual: ids.map((id) => aTargetUser({ id })),
      state: aState(users),
    };
  }

  it.each([
    { managed: 10, leaving: 3, limits: { maxDeprovisions: 2, maxDeprovisionPercent: 100 }, blocked: true,
      reason: "3 users would be suspended or deleted, more than safety.maxDeprovisions (2)" },
    { managed: 10, leaving: 2, limits: { maxDeprovisions: 2, maxDeprovisionPercent: 100 }, blocked: false },
    { managed: 10, leaving: 3, limits: { maxDeprovisions: 100, maxDeprovisionPercent: 25 }, blocked: true,
      reason: "3 of 10 managed users (30.0%) would be suspended or deleted, more than safety.maxDeprovisionPercent (25%)" },
    { managed: 10, leaving: 2, limits: { maxDeprovisions: 100, maxDeprovisionPercent: 20 }, blocked: false },
  ])(
    "Given $leaving of $managed managed users left, When planned with $limits.maxDeprovisions users / $limits.maxDeprovisionPercent%, Then blocked is $blocked",
    ({ managed, leaving, limits, blocked, reason }) => {
      const plan = planChanges(aPlanInput({ ...fleet(managed, leaving), safety: limits }));

      expect(plan.actions.filter((a) => a.op === "delete")).toHaveLength(leaving);
      expect(plan.safety).toEqual({ deprovisions: leaving, managed, blocked, ...(reason ? { reason } : {}) });
    },
  );

  it("Given suspends and deletes together exceed the limit, When planned, Then both count", () => {
    const { desired, actual, state } = fleet(10, 2);
    state.users.u09 = aManagedRecord("u09", { conditions: { deleted: iso(-days(2)) } }); // suspend due, delete not
    const plan = planChanges(
      aPlanInput({ desired: desired.filter((d) => d.sourceId !== "u09"), actual, state, safety: { maxDeprovisions: 2, maxDeprovisionPercent: 100 } }),
    );

    expect(opsOf(plan.actions)).toEqual(["suspend u09@example.com", "delete u00@example.com", "delete u01@example.com"]);
    expect(plan.safety.deprovisions).toBe(3);
    expect(plan.safety.blocked).toBe(true);
  });

  it("Given a run over the limits, When mass deprovisioning is allowed, Then it is not blocked", () => {
    const plan = planChanges(
      aPlanInput({ ...fleet(10, 5), safety: { maxDeprovisions: 1, maxDeprovisionPercent: 10 }, allowMassDeprovision: true }),
    );

    expect(plan.safety).toEqual({ deprovisions: 5, managed: 10, blocked: false });
  });
});

// ---------------------------------------------------------------------------------------------
// Ordering and userName reuse.
// ---------------------------------------------------------------------------------------------

describe("planChanges: ordering", () => {
  it("Given one of each kind of action, When planned, Then they come as unsuspend, update, create, suspend, delete and by key within a kind", () => {
    const state = aState({
      zoe: aManagedRecord("zoe", { conditions: { suspended: iso(-days(3)) }, suspendedAt: iso(-days(3)) }),
      yan: aManagedRecord("yan"),
      walt: aManagedRecord("walt", { conditions: { deleted: iso(-days(2)) } }),
      vera: aManagedRecord("vera", { conditions: { deleted: iso(-days(40)) } }),
      uma: aManagedRecord("uma", { conditions: { deleted: iso(-days(40)) } }),
    });
    const desired = [
      aDesiredUser({ id: "zoe" }),
      aDesiredUser({ id: "yan", title: "Lead" }),
      aDesiredUser({ id: "xavier" }),
      aDesiredUser({ id: "amy" }),
    ];
    const actual = [
      aTargetUser({ id: "zoe" }, { active: false }),
      aTargetUser({ id: "yan" }),
      aTargetUser({ id: "walt" }),
      aTargetUser({ id: "vera" }, { active: false }),
      aTargetUser({ id: "uma" }),
    ];

    const plan = planChanges(aPlanInput({ desired, actual, state }));

    expect(opsOf(plan.actions)).toEqual([
      "unsuspend zoe@example.com",
      "update yan@example.com",
      "create amy@example.com",
      "create xavier@example.com",
      "suspend walt@example.com",
      "delete uma@example.com",
      "delete vera@example.com",
    ]);
    expect(plan.scheduled).toEqual([scheduledOf("delete", "walt", "deleted", days(28))]);
  });

  it("Given several timers, When planned, Then scheduled is ordered by due time", () => {
    const plan = planChanges(
      aPlanInput({
        desired: [aDesiredUser({ id: "bob" }, { status: "outOfScope" })],
        actual: [aTargetUser({ id: "ada" }), aTargetUser({ id: "bob" })],
        state: aState({ ada: aManagedRecord("ada"), bob: aManagedRecord("bob", { conditions: { outOfScope: iso(-days(3)) } }) }),
      }),
    );

    expect(plan.scheduled).toEqual([
      scheduledOf("suspend", "ada", "deleted", days(1)),
      scheduledOf("suspend", "bob", "outOfScope", days(4)),
      scheduledOf("delete", "bob", "outOfScope", days(18)),
      scheduledOf("delete", "ada", "deleted", days(30)),
    ]);
  });
});

describe("planChanges: userName reuse", () => {
  it("Given bob's account carries ada's userName, When ada is planned, Then bob's account is not adopted for ada and ada waits for the rename", () => {
    // bob renamed on the target to ada's userName (or a stale rename): its externalId says it is bob's.
    const bobsAccount = aTargetUser({ id: "bob" }, { id: "t-bob", userName: "ada@example.com" });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "bob" })], actual: [bobsAccount] }));

    expect(plan.adopted).toEqual([{ type: "User", key: "bob@example.com", sourceId: "bob", targetId: "t-bob" }]);
    expect(plan.actions).toEqual([
      expect.objectContaining({ op: "update", key: "bob@example.com", changes: expect.objectContaining({ userName: { from: "ada@example.com", to: "bob@example.com" } }) }),
    ]);
    expect(plan.held).toEqual([expect.objectContaining({ key: "ada@example.com", reason: expect.stringContaining("the target account ada@example.com still belongs to another directory user (bob)") })]);
  });

  it("Given an account whose externalId is unknown to the directory (made by another tool), When planned, Then it is adopted by userName", () => {
    const fromEntra = aTargetUser({ id: "ada" }, { id: "t-1", externalId: "5f2c-entra-object-id" });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [fromEntra] }));

    expect(plan.adopted).toEqual([{ type: "User", key: "ada@example.com", sourceId: "ada", targetId: "t-1", previousExternalId: "5f2c-entra-object-id" }]);
    expect(plan.actions).toEqual([
      expect.objectContaining({ op: "update", changes: { externalId: { from: "5f2c-entra-object-id", to: "ada" } } }),
    ]);
  });

  const oldJane = (overrides: Partial<StateUser> = {}) =>
    aStateUser({ targetId: "t-jane-old", userName: "jane@example.com", conditions: { deleted: iso(-days(5)) }, suspendedAt: iso(-days(4)), ...overrides });
  const oldAccount = () => aTargetUser({ id: "jane-old", userName: "jane@example.com" }, { id: "t-jane-old", active: false });
  const newJane = (mapping = MAPPING) => aDesiredUser({ id: "jane-new", userName: "jane@example.com" }, { mapping });

  it.each<MatchBy>(["externalId", "userName"])(
    "matchBy %s: Given the old jane's account awaits deletion, When a new hire gets her userName, Then it is neither adopted nor created, with a warning",
    (matchBy) => {
      const mapping = matchBy === "userName" ? MAPPING_BY_USERNAME : MAPPING;
      const state = aState({ "jane-old": oldJane() });

      const plan = planChanges(aPlanInput({ matchBy, desired: [newJane(mapping)], actual: [oldAccount()], state }));

      expect(plan.actions).toEqual([]);
      expect(plan.adopted).toEqual([]);
      expect(plan.state.users).toEqual({ "jane-old": oldJane() });
      expect(plan.scheduled).toEqual([
        { op: "delete", type: "User", key: "jane@example.com", sourceId: "jane-old", reason: "deleted", due: iso(days(25)) },
      ]);
      expect(plan.held).toEqual([
        {
          type: "User",
          key: "jane@example.com",
          sourceId: "jane-new",
          reason:
            "not created: the target account jane@example.com still belongs to another directory user (jane-old); " +
            "it is created once that account is renamed or deleted",
        },
      ]);
    },
  );

  it("Given the old jane's delete is due, When planned, Then her account is deleted and the new hire waits for the next run", () => {
    const state = aState({ "jane-old": oldJane({ conditions: { deleted: iso(-days(30)) } }) });

    const plan = planChanges(aPlanInput({ desired: [newJane()], actual: [oldAccount()], state }));

    expect(plan.actions).toEqual([
      {
        op: "delete",
        type: "User",
        key: "jane@example.com",
        sourceId: "jane-old",
        targetId: "t-jane-old",
        changes: {},
        reason: "deleted",
      },
    ]);
    expect(plan.adopted).toEqual([]);
  });

  it("Given the old jane's account was deleted, When planned, Then the new hire is created", () => {
    const plan = planChanges(aPlanInput({ desired: [newJane()], actual: [], state: aState() }));

    expect(plan.actions).toEqual([createOf({ id: "jane-new", userName: "jane@example.com" })]);
  });

  it.each<MatchBy>(["externalId", "userName"])(
    "matchBy %s: Given the old jane's account vanished and the new jane is managed, When planned, Then the old record is dropped and the new jane's account is left alone",
    (matchBy) => {
      const mapping = matchBy === "userName" ? MAPPING_BY_USERNAME : MAPPING;
      const newRecord = aStateUser({ targetId: "t-jane-new", userName: "jane@example.com", since: iso(-days(1)) });
      // The old record comes first in the state file, as it would: it was written first.
      const state = aState({ "jane-old": oldJane({ conditions: { deleted: iso(-days(40)) } }), "jane-new": newRecord });
      const actual = [aTargetUser({ id: "jane-new", userName: "jane@example.com" }, { id: "t-jane-new" })];

      const plan = planChanges(aPlanInput({ matchBy, desired: [newJane(mapping)], actual, state }));

      expect(plan.actions).toEqual([]);
      expect(plan.state.users).toEqual({ "jane-new": newRecord });
    },
  );
});

describe("planChanges: the clock", () => {
  it("Given a fixed now, When planned, Then plan.now is that instant", () => {
    expect(planChanges(aPlanInput({ now: T0 })).now).toBe("2026-03-01T09:00:00.000Z");
  });
});

describe("planChanges: the state's target ids are checked, not trusted", () => {
  it.each<MatchBy>(["externalId", "userName"])(
    "matchBy %s: Given the id in the state now names a stranger's account, When bob has left, Then bob is held: the stranger untouched, bob's record kept",
    (matchBy) => {
      const mapping = matchBy === "userName" ? MAPPING_BY_USERNAME : MAPPING;
      // Another tenant behind the same URL, or an app that reuses ids: t-bob is zoe's account now.
      const zoe = aTargetUser({ id: "b-2", userName: "zoe@tenantb.example" }, { id: "t-bob" });
      const state = aState({ bob: aManagedRecord("bob", { conditions: { deleted: iso(-days(3)) } }) });

      const plan = planChanges(
        aPlanInput({ matchBy, mapping, actual: [zoe], state, policy: policyWith("deleted", { suspend: 0, delete: 0 }) }),
      );

      expect(plan.actions).toEqual([]);
      expect(plan.scheduled).toEqual([]);
      const evidence =
        matchBy === "externalId"
          ? "its account t-bob (zoe@tenantb.example) now carries externalId b-2, not bob"
          : "its account t-bob is now named zoe@tenantb.example, not bob@example.com as scimsync recorded";
      expect(plan.held).toEqual([{ type: "User", key: "bob@example.com", sourceId: "bob", reason: expect.stringContaining(evidence) }]);
      // bob has left the directory: the administrator must know he still has access.
      expect(plan.held[0]!.reason).toContain("still has access");
      expect(plan.state.users).toEqual(state.users);
    },
  );

  it("Given the id in the state names a stranger's account, When ada is still in the directory, Then ada is held and the stranger is neither updated nor adopted", () => {
    const stranger = aTargetUser({ id: "y-1", userName: "yan@tenantb.example" }, { id: "t-ada" });
    const state = aState({ ada: aManagedRecord("ada") });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada" })], actual: [stranger], state }));

    expect(plan.actions).toEqual([]);
    expect(plan.held.map((h) => h.key)).toEqual(["ada@example.com"]);
    expect(plan.state.users).toEqual(state.users);
  });

  it("Given matchBy userName and a rename that failed last run, When planned again, Then the account is still recognised by the name the state confirmed", () => {
    // The state holds the confirmed name; the directory already has the new one; the target the old one.
    const account = aTargetUser({ id: "alice" }, { id: "t-alice", externalId: null });
    const state = aState({ alice: aManagedRecord("alice") });
    const renamed = aDesiredUser({ id: "alice", userName: "alice.smith@example.com" }, { mapping: MAPPING_BY_USERNAME });
    // A hand-made account already holds the new name: the rename will fail again, but nothing is taken over.
    const squatter = aTargetUser({ id: "someone" }, { id: "t-squat", userName: "alice.smith@example.com", externalId: null });

    const plan = planChanges(aPlanInput({ matchBy: "userName", mapping: MAPPING_BY_USERNAME, desired: [renamed], actual: [account, squatter], state }));

    expect(plan.held).toEqual([]);
    expect(plan.adopted).toEqual([]);
    expect(plan.actions).toEqual([expect.objectContaining({ op: "update", targetId: "t-alice" })]);
    expect(plan.state.users.alice).toMatchObject({ targetId: "t-alice", userName: "alice@example.com" });
  });

  it("Given matchBy userName, When the app renamed the account but it carries the source id as externalId, Then it is recognised", () => {
    const account = aTargetUser({ id: "carol" }, { id: "t-carol", userName: "carol.x@example.com" });
    const state = aState({ carol: aManagedRecord("carol") });

    const plan = planChanges(
      aPlanInput({ matchBy: "userName", mapping: MAPPING_BY_USERNAME, desired: [aDesiredUser({ id: "carol" }, { mapping: MAPPING_BY_USERNAME })], actual: [account], state }),
    );

    expect(plan.held).toEqual([]);
    expect(plan.actions).toEqual([expect.objectContaining({ op: "update", changes: { userName: { from: "carol.x@example.com", to: "carol@example.com" } } })]);
  });

  it("Given an account missing from the listing whose lookup failed, When its user has left, Then the user is held and the record kept", () => {
    const state = aState({ bob: aManagedRecord("bob", { conditions: { deleted: iso(-days(40)) } }) });

    const plan = planChanges(aPlanInput({ actual: [], state, unconfirmedTargetIds: { "t-bob": "GET /Users/t-bob: 500 server error" } }));

    expect(plan.held).toEqual([
      expect.objectContaining({ key: "bob@example.com", reason: expect.stringContaining("looking it up failed (GET /Users/t-bob: 500 server error)") }),
    ]);
    // bob is not in the directory: the reason says he still has access.
    expect(plan.held[0]!.reason).toContain("has left the directory or the scope and still has access");
    expect(plan.state.users).toEqual(state.users);
    expect(plan.warnings).toEqual([]);
  });

  it("Given many managed accounts gone from the target at once, Then nothing is dropped or re-created and the safety limit blocks the run", () => {
    const state = aState(Object.fromEntries(["a", "b", "c", "d", "e"].map((id) => [id, aManagedRecord(id)])));
    const desired = ["a", "b", "c", "d", "e"].map((id) => aDesiredUser({ id }));
    const limits = { maxDeprovisions: 2, maxDeprovisionPercent: 100 };

    const plan = planChanges(aPlanInput({ desired, actual: [], state, safety: limits }));

    expect(plan.actions).toEqual([]);
    expect(plan.held).toHaveLength(5);
    expect(plan.safety).toMatchObject({ blocked: true, reason: expect.stringContaining("5 users have disappeared from the target, more than safety.maxDeprovisions (2)") });
    expect(plan.state.users).toEqual(state.users);

    const allowed = planChanges(aPlanInput({ desired, actual: [], state, safety: limits, allowMassDeprovision: true }));
    expect(allowed.actions.map((a) => a.op)).toEqual(["create", "create", "create", "create", "create"]);
  });

  it("Given ada was renamed in the directory and the app keeps no externalId, When planned, Then her account is still recognised by the recorded userName", () => {
    const account = aTargetUser({ id: "ada" }, { id: "t-ada", externalId: null });
    const state = aState({ ada: aManagedRecord("ada") });

    const plan = planChanges(aPlanInput({ desired: [aDesiredUser({ id: "ada", userName: "ada.lovelace@example.com" })], actual: [account], state }));

    expect(plan.actions).toEqual([
      expect.objectContaining({ op: "update", targetId: "t-ada", changes: expect.objectContaining({ userName: { from: "ada@example.com", to: "ada.lovelace@example.com" } }) }),
    ]);
  });
});
