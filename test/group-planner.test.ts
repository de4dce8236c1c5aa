import { describe, it, expect } from "vitest";
import { planChanges } from "../src/core/planner.js";
import { groupsNeedingMemberReads } from "../src/core/group-planner.js";
import { resolveDesiredGroups, resolveDesiredUsers } from "../src/core/scope.js";
import { compileMapping, defaultUserMapping, ENTERPRISE_USER } from "../src/core/mapping.js";
import type { Plan, PlannedAction, SourceSnapshot, StateGroup, StateUser } from "../src/core/model.js";
import {
  aDesiredGroup,
  aDesiredUser,
  aGroupInput,
  aManagedRecord,
  aPlanInput,
  aSourceUser,
  aState,
  aStateGroup,
  aTargetGroup,
  aTargetUser,
  days,
  GROUP_MAPPING,
  iso,
  T0,
} from "./builders.js";
import type { GroupPlanInput } from "../src/core/group-planner.js";

const PEOPLE = ["ada", "bob", "cy"];

/** ada, bob and cy: managed, active, in sync on the target. */
function everyoneManaged(): { users: Record<string, StateUser>; actual: ReturnType<typeof aTargetUser>[] } {
  return {
    users: Object.fromEntries(PEOPLE.map((id) => [id, aManagedRecord(id)])),
    actual: PEOPLE.map((id) => aTargetUser({ id })),
  };
}

function planWithGroups(
  groups: Partial<GroupPlanInput>,
  options: { stateGroups?: Record<string, StateGroup>; desired?: ReturnType<typeof aDesiredUser>[]; extra?: Parameters<typeof aPlanInput>[0] } = {},
): Plan {
  const { users, actual } = everyoneManaged();
  const state = { ...aState(users), groups: options.stateGroups ?? {} };
  return planChanges(
    aPlanInput({
      desired: options.desired ?? PEOPLE.map((id) => aDesiredUser({ id })),
      actual,
      state,
      groups: aGroupInput(groups),
      ...options.extra,
    }),
  );
}

const groupActions = (plan: Plan) => plan.actions.filter((a) => a.type === "Group");
const memberNames = (action: PlannedAction | undefined) => action?.members?.map((m) => m.userName);

describe("groups: create, rename, adopt", () => {
  it("Given a new directory group, When planned, Then it is created without members and its members are added after it", () => {
    const plan = planWithGroups({ desired: [aDesiredGroup("sales", ["ada", "bob"])] });

    expect(groupActions(plan).map((a) => [a.op, a.key])).toEqual([
      ["create", "Sales"],
      ["add-members", "Sales"],
    ]);
    const create = plan.actions.find((a) => a.op === "create" && a.type === "Group")!;
    expect(create.attributes).toEqual({ displayName: "Sales", externalId: "sales" });
    expect(memberNames(plan.actions.find((a) => a.op === "add-members"))).toEqual(["ada@example.com", "bob@example.com"]);
    expect(plan.actions.find((a) => a.op === "add-members")!.targetId).toBeUndefined();
  });

  it("Given a group whose members are new users too, When planned, Then users are created first, then the group, then memberships", () => {
    const plan = planChanges(
      aPlanInput({
        desired: [aDesiredUser({ id: "dee" })],
        groups: aGroupInput({ desired: [aDesiredGroup("sales", ["dee"])] }),
      }),
    );

    expect(plan.actions.map((a) => `${a.op} ${a.type} ${a.key}`)).toEqual([
      "create User dee@example.com",
      "create Group Sales",
      "add-members Group Sales",
    ]);
    expect(plan.actions[2]!.members).toEqual([{ sourceId: "dee", userName: "dee@example.com" }]);
  });

  it("Given a managed group renamed in the directory, When planned, Then one update renames it and the members are left alone", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada"], "Sales EMEA")], actual: [aTargetGroup("sales")] },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada"]) } },
    );

    expect(groupActions(plan)).toEqual([
      expect.objectContaining({ op: "update", key: "Sales EMEA", targetId: "g-sales", changes: { displayName: { from: "Sales", to: "Sales EMEA" } } }),
    ]);
  });

  it("Given a target group with the same name in another case and no externalId, When planned, Then it is adopted, not duplicated", () => {
    const plan = planWithGroups({
      desired: [aDesiredGroup("sales", ["ada"])],
      actual: [aTargetGroup("x", { displayName: "SALES", externalId: null })],
      memberReads: new Map([["g-x", ["t-ada"]]]),
    });

    expect(plan.adopted).toEqual([{ type: "Group", key: "Sales", sourceId: "sales", targetId: "g-x" }]);
    expect(groupActions(plan).map((a) => a.op)).toEqual(["update"]);
    expect(groupActions(plan)[0]!.changes).toEqual({ displayName: { from: "SALES", to: "Sales" }, externalId: { from: null, to: "sales" } });
    expect(plan.state.groups.sales).toMatchObject({ targetId: "g-x", origin: "adopted", members: ["t-ada"] });
  });

  it("Given a target group with the group's externalId under another name, When planned, Then it is adopted by externalId and renamed", () => {
    const plan = planWithGroups({
      desired: [aDesiredGroup("sales", [])],
      actual: [aTargetGroup("sales", { displayName: "Old name" }), aTargetGroup("other", { displayName: "Sales", externalId: null })],
    });

    expect(plan.adopted.map((a) => a.targetId)).toEqual(["g-sales"]);
    expect(groupActions(plan)).toEqual([expect.objectContaining({ op: "update", targetId: "g-sales" })]);
  });

  it("Given two target groups with the same name, When planned, Then the group is held, neither adopted nor created", () => {
    const plan = planWithGroups({
      desired: [aDesiredGroup("sales", ["ada"])],
      actual: [aTargetGroup("a", { displayName: "Sales", externalId: null }), aTargetGroup("b", { displayName: "sales", externalId: null })],
    });

    expect(groupActions(plan)).toEqual([]);
    expect(plan.held).toEqual([expect.objectContaining({ type: "Group", key: "Sales", reason: expect.stringContaining("2 target groups are named Sales") })]);
  });

  it("Given two new directory groups with one name (ignoring case), When planned, Then both are held, naming both, and neither is created", () => {
    const plan = planWithGroups({ desired: [aDesiredGroup("s1", [], "Sales"), aDesiredGroup("s2", [], "SALES")] });

    expect(groupActions(plan)).toEqual([]);
    expect(plan.held.map((h) => [h.type, h.sourceId])).toEqual([
      ["Group", "s1"],
      ["Group", "s2"],
    ]);
    expect(plan.held[0]!.reason).toContain("directory groups s1, s2 all have the name");
  });

  it("Given two managed groups renamed in the directory to one name, When planned, Then both are held and neither renamed", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("a", [], "Ops"), aDesiredGroup("b", [], "ops")], actual: [aTargetGroup("a", { displayName: "Red" }), aTargetGroup("b", { displayName: "Blue" })] },
      { stateGroups: { a: aStateGroup("a", [], { displayName: "Red" }), b: aStateGroup("b", [], { displayName: "Blue" }) } },
    );

    expect(groupActions(plan)).toEqual([]);
    expect(plan.held.map((h) => h.sourceId)).toEqual(["a", "b"]);
  });

  it("Given a managed group and a new directory group with its name, When planned, Then the managed one goes on and the newcomer is held", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", [], "Sales"), aDesiredGroup("s2", [], "Sales")], actual: [aTargetGroup("sales")] },
      { stateGroups: { sales: aStateGroup("sales") } },
    );

    expect(plan.held.map((h) => h.sourceId)).toEqual(["s2"]);
    expect(plan.held[0]!.reason).toContain("directory groups sales, s2 all have the name Sales");
  });

  it("Given a target without group support, When planned, Then users are planned, groups skipped with one warning", () => {
    const plan = planChanges(
      aPlanInput({ desired: [aDesiredUser({ id: "ada" })], groups: aGroupInput({ desired: [aDesiredGroup("sales", ["ada"])], actual: undefined }) }),
    );

    expect(plan.actions.map((a) => a.type)).toEqual(["User"]);
    expect(plan.warnings.filter((w) => w.includes("does not support groups"))).toHaveLength(1);
  });
});

describe("groups: deletion by policy", () => {
  const gone = (policy: GroupPlanInput["policy"], stateGroup = aStateGroup("sales", ["t-ada"]), now = T0) =>
    planWithGroups({ desired: [], actual: [aTargetGroup("sales")], policy }, { stateGroups: { sales: stateGroup }, extra: { now } });

  it("Given policy delete never, When a managed group leaves the directory, Then nothing is deleted and the record stays", () => {
    const plan = gone({ delete: "never" });

    expect(groupActions(plan)).toEqual([]);
    expect(plan.scheduled).toEqual([]);
    expect(plan.state.groups.sales).toMatchObject({ targetId: "g-sales", removedSince: T0.toISOString() });
  });

  it("Given policy delete 7d, When the group just left, Then the delete is scheduled 7 days out", () => {
    const plan = gone({ delete: days(7) });

    expect(plan.scheduled).toEqual([{ op: "delete", type: "Group", key: "Sales", sourceId: "sales", reason: "deleted", due: iso(days(7)) }]);
  });

  it("Given policy delete 7d, When 7 days have passed since the group left, Then it is deleted, after every other action", () => {
    const plan = gone({ delete: days(7) }, aStateGroup("sales", [], { removedSince: iso(-days(7)) }));

    expect(groupActions(plan)).toEqual([expect.objectContaining({ op: "delete", type: "Group", targetId: "g-sales" })]);
  });

  it("Given a managed group still in the directory but no longer provisioned, When deleted by policy, Then the reason is outOfScope, not deleted", () => {
    const plan = planWithGroups(
      { desired: [], actual: [aTargetGroup("sales")], policy: { delete: 0 }, directoryIds: ["sales"] },
      { stateGroups: { sales: aStateGroup("sales") } },
    );

    expect(groupActions(plan)).toEqual([expect.objectContaining({ op: "delete", reason: "outOfScope" })]);
  });

  it("Given a managed group on its way out (delete never), When a member is suspended, Then the leaver still leaves it; nobody else changes", () => {
    const desired = [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "bob", active: false }), aDesiredUser({ id: "cy" })];
    const plan = planWithGroups(
      { desired: [], actual: [aTargetGroup("old")], policy: { delete: "never" } },
      { stateGroups: { old: aStateGroup("old", ["t-ada", "t-bob"]) }, desired },
    );

    expect(plan.actions.map((a) => [a.op, a.key, memberNames(a) ?? null])).toEqual([
      ["remove-members", "Old", ["bob@example.com"]],
      ["suspend", "bob@example.com", null],
    ]);
  });

  it("Given policy delete now, When a group we did not manage disappears from the directory, Then nothing happens to it", () => {
    const plan = planWithGroups({ desired: [], actual: [aTargetGroup("sales")], policy: { delete: 0 } });

    expect(groupActions(plan)).toEqual([]);
  });

  it("Given the group returns to the directory before its delete is due, When planned, Then the timer is cleared", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", [])], actual: [aTargetGroup("sales")], policy: { delete: days(7) } },
      { stateGroups: { sales: aStateGroup("sales", [], { removedSince: iso(-days(3)) }) } },
    );

    expect(plan.state.groups.sales!.removedSince).toBeUndefined();
    expect(plan.scheduled).toEqual([]);
  });

  it("Given group deletions beyond the safety limit, When planned, Then the group deletes are held back, and only they", () => {
    const stateGroups = Object.fromEntries(["a", "b", "c"].map((id) => [id, aStateGroup(id)]));
    const plan = planWithGroups(
      { desired: [], actual: ["a", "b", "c"].map((id) => aTargetGroup(id)), policy: { delete: 0 } },
      { stateGroups, extra: { safety: { maxDeprovisions: 2, maxDeprovisionPercent: 100 } } },
    );

    expect(groupActions(plan).map((a) => a.op)).toEqual(["delete", "delete", "delete"]);
    expect(plan.safety).toMatchObject({ deprovisions: 3, blocked: false, groupDeletesBlocked: true, reason: expect.stringContaining("3 groups would be deleted") });
  });

  it("Given the directory could not be read completely, When planned, Then no group timer starts and no group is deleted", () => {
    const plan = planWithGroups(
      { desired: [], actual: [aTargetGroup("sales")], policy: { delete: 0 } },
      { stateGroups: { sales: aStateGroup("sales") }, extra: { deprovisioningAllowed: false } },
    );

    expect(groupActions(plan)).toEqual([]);
    expect(plan.state.groups.sales!.removedSince).toBeUndefined();
  });

  it("Given a managed group deleted by hand on the target and gone from the directory, When planned, Then its record is dropped with a warning", () => {
    const plan = planWithGroups({ desired: [], actual: [] }, { stateGroups: { sales: aStateGroup("sales") } });

    expect(plan.state.groups).toEqual({});
    expect(plan.warnings).toContainEqual(expect.stringContaining("group Sales: no longer on the target"));
  });

  it("Given a managed group deleted by hand on the target but still in the directory, When planned, Then it is created again with its members", () => {
    const plan = planWithGroups({ desired: [aDesiredGroup("sales", ["ada"])], actual: [] }, { stateGroups: { sales: aStateGroup("sales", ["t-ada"]) } });

    expect(groupActions(plan).map((a) => a.op)).toEqual(["create", "add-members"]);
    expect(memberNames(groupActions(plan)[1])).toEqual(["ada@example.com"]);
  });
});

describe("groups: memberships", () => {
  it("Given the state's record matches the directory and nothing was read, When planned, Then no membership changes", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada", "bob"])], actual: [aTargetGroup("sales")] },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada", "t-bob"]) } },
    );

    expect(plan.actions).toEqual([]);
  });

  it("Given members read from the target, When members joined and left, Then one add and one remove; a member added by hand in the app stays", () => {
    const plan = planWithGroups(
      {
        desired: [aDesiredGroup("sales", ["ada", "cy"])],
        actual: [aTargetGroup("sales")],
        memberReads: new Map([["g-sales", ["t-ada", "t-bob", "t-stranger"]]]),
      },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada", "t-bob"]) } },
    );

    expect(groupActions(plan).map((a) => [a.op, memberNames(a)])).toEqual([
      ["add-members", ["cy@example.com"]],
      ["remove-members", ["bob@example.com"]],
    ]);
    expect(groupActions(plan)[1]!.members).toEqual([{ sourceId: "bob", targetId: "t-bob", userName: "bob@example.com" }]);
    expect(plan.state.groups.sales!.members.sort()).toEqual(["t-ada", "t-bob"]);
  });

  it("Given the listing already carried members (the target ignored excludedAttributes), When planned, Then they are used as read", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada"])], actual: [aTargetGroup("sales", { members: [] })] },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada"]) } },
    );

    expect(groupActions(plan).map((a) => [a.op, memberNames(a)])).toEqual([["add-members", ["ada@example.com"]]]);
  });

  it("Given a user suspended in the directory, When planned, Then their memberships are removed before the suspend", () => {
    const desired = [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "bob", active: false }), aDesiredUser({ id: "cy" })];
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada"])], actual: [aTargetGroup("sales")] },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada", "t-bob"]) }, desired },
    );

    expect(plan.actions.map((a) => `${a.op} ${a.key}`)).toEqual(["remove-members Sales", "suspend bob@example.com"]);
  });

  it("Given a user who left the directory and is deleted now, When planned, Then the membership is removed before the delete", () => {
    const desired = [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "cy" })];
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada"])], actual: [aTargetGroup("sales")] },
      {
        stateGroups: { sales: aStateGroup("sales", ["t-ada", "t-bob"]) },
        desired,
        extra: { policy: { deleted: { suspend: 0, delete: 0 }, suspended: { suspend: 0, delete: "never" }, outOfScope: { suspend: 0, delete: "never" } } },
      },
    );

    expect(plan.actions.map((a) => `${a.op} ${a.key}`)).toEqual(["remove-members Sales", "delete bob@example.com"]);
  });

  it("Given an inactive account reactivated in this run, When planned without a fresh read, Then its memberships are added back even though the state lists them", () => {
    const { users } = everyoneManaged();
    const actual = PEOPLE.map((id) => aTargetUser({ id }, { active: id !== "bob" }));
    const plan = planChanges(
      aPlanInput({
        desired: PEOPLE.map((id) => aDesiredUser({ id })),
        actual,
        state: { ...aState(users), groups: { sales: aStateGroup("sales", ["t-ada", "t-bob"]) } },
        groups: aGroupInput({ desired: [aDesiredGroup("sales", ["ada", "bob"])], actual: [aTargetGroup("sales")] }),
      }),
    );

    expect(plan.actions.map((a) => `${a.op} ${a.key}`)).toEqual(["unsuspend bob@example.com", "add-members Sales"]);
    expect(memberNames(plan.actions[1])).toEqual(["bob@example.com"]);
  });

  it("Given a held user, When the directory wants them out of a group, Then their membership is left as it is", () => {
    const { users, actual } = everyoneManaged();
    // bob's account now carries another user's externalId: bob is held.
    actual[1] = aTargetUser({ id: "bob" }, { externalId: "someone-else" });
    const plan = planChanges(
      aPlanInput({
        desired: PEOPLE.map((id) => aDesiredUser({ id })),
        actual,
        state: { ...aState(users), groups: { sales: aStateGroup("sales", ["t-ada", "t-bob"]) } },
        groups: aGroupInput({ desired: [aDesiredGroup("sales", ["ada"])], actual: [aTargetGroup("sales")], memberReads: new Map([["g-sales", ["t-ada", "t-bob"]]]) }),
      }),
    );

    expect(plan.held.map((h) => h.key)).toEqual(["bob@example.com"]);
    expect(groupActions(plan)).toEqual([]);
  });

  it("Given the directory could not be read completely, When members seem to have left, Then no membership is removed, additions still happen", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["cy"])], actual: [aTargetGroup("sales")], memberReads: new Map([["g-sales", ["t-ada"]]]) },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada"]) }, extra: { deprovisioningAllowed: false } },
    );

    expect(groupActions(plan).map((a) => a.op)).toEqual(["add-members"]);
    expect(plan.warnings).toContainEqual(expect.stringContaining("no membership removed"));
  });

  it("Given a safety stop, When a leaver's membership would go, Then it stays; a mover's membership change still happens", () => {
    const desired = [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "bob", active: false }), aDesiredUser({ id: "cy", active: false })];
    const plan = planWithGroups(
      {
        desired: [aDesiredGroup("sales", []), aDesiredGroup("ops", ["ada"])],
        actual: [aTargetGroup("sales"), aTargetGroup("ops")],
        memberReads: new Map([
          ["g-sales", ["t-ada", "t-bob", "t-cy"]],
          ["g-ops", []],
        ]),
      },
      {
        stateGroups: { sales: aStateGroup("sales", ["t-ada", "t-bob", "t-cy"]), ops: aStateGroup("ops", []) },
        desired,
        extra: { safety: { maxDeprovisions: 1, maxDeprovisionPercent: 100 } },
      },
    );

    expect(plan.safety.blocked).toBe(true);
    const removal = plan.actions.find((a) => a.op === "remove-members")!;
    expect(memberNames(removal)).toEqual(["ada@example.com"]);
  });

  it("Given a group read without any members while the state recorded some, When planned, Then the target is taken to hide members and the state is trusted", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada", "bob"])], actual: [aTargetGroup("sales")], memberReads: new Map([["g-sales", undefined]]) },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada"]) } },
    );

    expect(plan.state.groupMembersHidden).toBe(true);
    expect(plan.warnings).toContainEqual(expect.stringContaining("does not return group members"));
    expect(groupActions(plan).map((a) => [a.op, memberNames(a)])).toEqual([["add-members", ["bob@example.com"]]]);
  });
});

describe("memberships: who is frozen, hidden members", () => {
  it("Given a managed user whose directory record was skipped, When the group no longer lists them, Then their membership stays", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada"])], actual: [aTargetGroup("sales")], memberReads: new Map([["g-sales", ["t-ada", "t-bob"]]]) },
      {
        stateGroups: { sales: aStateGroup("sales", ["t-ada", "t-bob"]) },
        desired: [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "cy" })],
        extra: { protectedIds: ["bob"] },
      },
    );

    expect(groupActions(plan)).toEqual([]);
  });

  it("Given a leaver whose suspension is 7 days out, When planned, Then the memberships stay until the account is suspended", () => {
    const desired = [aDesiredUser({ id: "ada" }), aDesiredUser({ id: "bob" }, { status: "outOfScope" }), aDesiredUser({ id: "cy" })];
    const groups = { desired: [aDesiredGroup("sales", ["ada"])], actual: [aTargetGroup("sales")], memberReads: new Map([["g-sales", ["t-ada", "t-bob"]]]) };
    const stateGroups = { sales: aStateGroup("sales", ["t-ada", "t-bob"]) };

    const now = planWithGroups(groups, { stateGroups, desired });
    expect(now.actions).toEqual([]);
    expect(now.scheduled).toContainEqual(expect.objectContaining({ op: "suspend", key: "bob@example.com", due: iso(days(7)) }));

    const { users, actual } = everyoneManaged();
    users.bob!.conditions = { outOfScope: iso(-days(7)) };
    const later = planChanges(aPlanInput({ desired, actual, state: { ...aState(users), groups: stateGroups }, groups: aGroupInput(groups) }));
    expect(later.actions.map((a) => `${a.op} ${a.key}`)).toEqual(["remove-members Sales", "suspend bob@example.com"]);
  });

  it("Given one group read empty (no members attribute) and another read with members, When planned, Then the empty one is taken as empty and refilled", () => {
    const plan = planWithGroups(
      {
        desired: [aDesiredGroup("sales", ["ada"]), aDesiredGroup("ops", ["bob"])],
        actual: [aTargetGroup("sales"), aTargetGroup("ops")],
        memberReads: new Map<string, string[] | undefined>([
          ["g-sales", undefined],
          ["g-ops", []],
        ]),
      },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada"]), ops: aStateGroup("ops", ["t-bob"]) } },
    );

    expect(plan.state.groupMembersHidden).toBe(false);
    expect(groupActions(plan).map((a) => [a.op, a.key, memberNames(a)])).toEqual([
      ["add-members", "Ops", ["bob@example.com"]],
      ["add-members", "Sales", ["ada@example.com"]],
    ]);
  });

  it("Given the target was believed to hide members, When a read comes back with members, Then the belief is dropped", () => {
    const { users, actual } = everyoneManaged();
    const plan = planChanges(
      aPlanInput({
        desired: PEOPLE.map((id) => aDesiredUser({ id })),
        actual,
        state: { ...aState(users), groups: { sales: aStateGroup("sales", ["t-ada"]) }, groupMembersHidden: true },
        groups: aGroupInput({ desired: [aDesiredGroup("sales", ["ada", "bob"])], actual: [aTargetGroup("sales")], memberReads: new Map([["g-sales", ["t-ada"]]]) }),
      }),
    );

    expect(plan.state.groupMembersHidden).toBe(false);
    expect(plan.warnings.join("\n")).not.toContain("does not return group members");
  });

  it("Given 4 managed groups, When one is deleted and a user leaves, Then the group delete is held back but the leaver is still suspended", () => {
    const ids = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const users = Object.fromEntries(ids.map((id) => [id, aManagedRecord(id)]));
    const stateGroups = Object.fromEntries(["a", "b", "c", "d"].map((id) => [id, aStateGroup(id)]));
    const plan = planChanges(
      aPlanInput({
        desired: ids.map((id, i) => aDesiredUser({ id, active: i !== 0 })),
        actual: ids.map((id) => aTargetUser({ id })),
        state: { ...aState(users), groups: stateGroups },
        safety: { maxDeprovisions: 50, maxDeprovisionPercent: 20 },
        groups: aGroupInput({
          desired: ["b", "c", "d"].map((id) => aDesiredGroup(id)),
          actual: ["a", "b", "c", "d"].map((id) => aTargetGroup(id)),
          policy: { delete: 0 },
        }),
      }),
    );

    expect(plan.safety).toMatchObject({ blocked: false, groupDeletesBlocked: true });
    expect(plan.actions.map((a) => `${a.op} ${a.type} ${a.key}`)).toEqual(["suspend User u0@example.com", "delete Group A"]);
  });

  it("Given the manager's delete is held back by a safety stop, When planned, Then the reports keep their manager", () => {
    const MANAGER = `${ENTERPRISE_USER}:manager`;
    const withManager = compileMapping([...defaultUserMapping("externalId"), { target: MANAGER, source: "manager" }]);
    const ids = ["m1", "m2", "r1"];
    const snap: SourceSnapshot = {
      users: [aSourceUser({ id: "r1", manager: "m1" })],
      groups: [],
      complete: true,
      problems: [],
      protectedIds: [],
      protectedUserNames: [],
    };
    const r1 = aTargetUser({ id: "r1" }, { edit: (r) => ((r[ENTERPRISE_USER] as Record<string, unknown>).manager = { value: "t-m1" }) });
    const plan = planChanges(
      aPlanInput({
        mapping: withManager,
        policy: { deleted: { suspend: 0, delete: 0 }, suspended: { suspend: 0, delete: "never" }, outOfScope: { suspend: 0, delete: "never" } },
        safety: { maxDeprovisions: 1, maxDeprovisionPercent: 100 },
        desired: resolveDesiredUsers(snap, {}, withManager).users,
        actual: [aTargetUser({ id: "m1" }), aTargetUser({ id: "m2" }), r1],
        state: aState(Object.fromEntries(ids.map((id) => [id, aManagedRecord(id)]))),
      }),
    );

    expect(plan.safety.blocked).toBe(true);
    expect(plan.actions.filter((a) => a.op === "update")).toEqual([]);
  });

  it("Given ids of users no longer managed in a group's record, When planned, Then they are forgotten", () => {
    const plan = planWithGroups(
      { desired: [aDesiredGroup("sales", ["ada"])], actual: [aTargetGroup("sales")] },
      { stateGroups: { sales: aStateGroup("sales", ["t-ada", "t-gone"]) } },
    );

    expect(plan.state.groups.sales!.members).toEqual(["t-ada"]);
  });

  it("Given 100 managed users and 400 managed groups, When 40 users would be suspended, Then the user limit still blocks (groups do not dilute it)", () => {
    const ids = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const users = Object.fromEntries(ids.map((id) => [id, aManagedRecord(id)]));
    const stateGroups = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`g${i}`, aStateGroup(`g${i}`)]));
    const desired = ids.map((id, i) => aDesiredUser({ id, active: i >= 40 }));
    const plan = planChanges(
      aPlanInput({
        desired,
        actual: ids.map((id) => aTargetUser({ id })),
        state: { ...aState(users), groups: stateGroups },
        safety: { maxDeprovisions: 1000, maxDeprovisionPercent: 20 },
        groups: aGroupInput({ desired: Object.keys(stateGroups).map((id) => aDesiredGroup(id)), actual: Object.keys(stateGroups).map((id) => aTargetGroup(id)) }),
      }),
    );

    expect(plan.safety).toMatchObject({ deprovisions: 40, blocked: true, reason: expect.stringContaining("40 of 100 managed users") });
  });

  it("Given one of 10 managed groups deleted and 2 of 100 users suspended, When planned, Then groups are judged against groups: 10% is within a 20% limit", () => {
    const ids = Array.from({ length: 100 }, (_, i) => `u${i}`);
    const users = Object.fromEntries(ids.map((id) => [id, aManagedRecord(id)]));
    const stateGroups = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`g${i}`, aStateGroup(`g${i}`)]));
    const plan = planChanges(
      aPlanInput({
        desired: ids.map((id, i) => aDesiredUser({ id, active: i >= 2 })),
        actual: ids.map((id) => aTargetUser({ id })),
        state: { ...aState(users), groups: stateGroups },
        safety: { maxDeprovisions: 50, maxDeprovisionPercent: 20 },
        groups: aGroupInput({
          desired: Object.keys(stateGroups).slice(1).map((id) => aDesiredGroup(id)),
          actual: Object.keys(stateGroups).map((id) => aTargetGroup(id)),
          policy: { delete: 0 },
        }),
      }),
    );

    expect(plan.safety).toMatchObject({ deprovisions: 3, blocked: false });
    expect(plan.actions.filter((a) => a.op === "delete").map((a) => a.key)).toEqual(["G0"]);
  });
});

describe("groupsNeedingMemberReads", () => {
  const users = Object.fromEntries(PEOPLE.map((id) => [id, aManagedRecord(id)]));
  const state = (groups: Record<string, StateGroup>, hidden = false) => ({ users, groups, ...(hidden ? { groupMembersHidden: true } : {}) });

  it.each([
    ["changed", "nothing changed", ["ada"], []],
    ["changed", "a member joined", ["ada", "bob"], ["g-sales"]],
    ["changed", "a member left", [], ["g-sales"]],
    ["always", "nothing changed", ["ada"], ["g-sales"]],
    ["never", "a member joined", ["ada", "bob"], []],
  ] as const)("Given mode %s and %s, Then the reads are %j", (mode, _what, members, reads) => {
    expect(groupsNeedingMemberReads([aDesiredGroup("sales", [...members])], [aTargetGroup("sales")], state({ sales: aStateGroup("sales", ["t-ada"]) }), GROUP_MAPPING, mode)).toEqual(
      reads,
    );
  });

  it("Given a group about to be adopted, When planned, Then its members are read", () => {
    expect(groupsNeedingMemberReads([aDesiredGroup("sales", [])], [aTargetGroup("x", { displayName: "Sales", externalId: null })], state({}), GROUP_MAPPING, "changed")).toEqual([
      "g-x",
    ]);
  });

  it("Given the target is believed to hide members and mode always, Then groups are still read (an answer with members proves otherwise)", () => {
    expect(groupsNeedingMemberReads([aDesiredGroup("sales", ["bob"])], [aTargetGroup("sales")], state({ sales: aStateGroup("sales") }, true), GROUP_MAPPING, "always")).toEqual([
      "g-sales",
    ]);
  });
});

describe("resolveDesiredGroups", () => {
  const snapshot = (groups: SourceSnapshot["groups"]): SourceSnapshot => ({
    users: ["ada", "bob", "cy", "dee"].map((id) => aSourceUser({ id, active: id !== "dee" })),
    groups,
    complete: true,
    problems: [],
    protectedIds: [],
    protectedUserNames: [],
  });
  const mapping = compileMapping(defaultUserMapping("externalId"));

  it("Given nested groups with a cycle, When resolved, Then members are flattened to active users and the cycle is reported once", () => {
    const snap = snapshot([
      { id: "all", displayName: "All Staff", members: ["eng", "ada"] },
      { id: "eng", displayName: "Engineering", members: ["platform", "bob"] },
      { id: "platform", displayName: "Platform", members: ["eng", "cy", "dee"] },
    ]);
    const users = resolveDesiredUsers(snap, {}, mapping).users;

    const { groups, warnings } = resolveDesiredGroups(snap, {}, "all", GROUP_MAPPING, users);

    expect(groups.map((g) => [g.displayName, g.memberIds])).toEqual([
      ["All Staff", ["ada", "bob", "cy"]],
      ["Engineering", ["bob", "cy"]],
      ["Platform", ["bob", "cy"]],
    ]);
    // Found from both groups, it reads the same from either: one warning.
    expect(warnings).toEqual(["group nesting cycle ignored: Engineering -> Platform -> Engineering"]);
  });

  it.each([
    ["scoped", ["Engineering", "Platform"]],
    ["all", ["All Staff", "Engineering", "Platform", "Sales"]],
    ["none", []],
  ] as const)("Given scope Engineering and provisionGroups %s, Then the groups pushed are %j", (provision, names) => {
    const snap = snapshot([
      { id: "all", displayName: "All Staff", members: ["eng", "sales"] },
      { id: "eng", displayName: "Engineering", members: ["platform", "bob"] },
      { id: "platform", displayName: "Platform", members: ["cy"] },
      { id: "sales", displayName: "Sales", members: ["ada"] },
    ]);
    const users = resolveDesiredUsers(snap, { groups: ["Engineering"] }, mapping).users;

    const { groups } = resolveDesiredGroups(snap, { groups: ["Engineering"] }, provision, GROUP_MAPPING, users);

    expect(groups.map((g) => g.displayName)).toEqual(names);
    // Members of a pushed group who are out of scope are not members on the target.
    if (provision === "all") expect(groups.find((g) => g.displayName === "Sales")!.memberIds).toEqual([]);
  });
});

describe("adoption keeps what the app has", () => {
  it("Given a fresh state against an app that already holds the users and the group, When planned, Then everything is adopted and no membership or manager is touched", () => {
    const MANAGER = `${ENTERPRISE_USER}:manager`;
    const withManager = compileMapping([...defaultUserMapping("externalId"), { target: MANAGER, source: "manager" }]);
    const snap: SourceSnapshot = {
      users: [aSourceUser({ id: "ada" }), aSourceUser({ id: "bob", manager: "ada" })],
      groups: [],
      complete: true,
      problems: [],
      protectedIds: [],
      protectedUserNames: [],
    };
    const desired = resolveDesiredUsers(snap, {}, withManager).users;
    const bob = aTargetUser({ id: "bob" }, { edit: (r) => ((r[ENTERPRISE_USER] as Record<string, unknown>).manager = { value: "t-ada" }) });
    const plan = planChanges(
      aPlanInput({
        mapping: withManager,
        desired,
        actual: [aTargetUser({ id: "ada" }), bob],
        groups: aGroupInput({ desired: [aDesiredGroup("team", ["ada", "bob"])], actual: [aTargetGroup("team")], memberReads: new Map([["g-team", ["t-ada", "t-bob"]]]) }),
      }),
    );

    expect(plan.adopted.map((a) => [a.type, a.key])).toEqual([
      ["User", "ada@example.com"],
      ["User", "bob@example.com"],
      ["Group", "Team"],
    ]);
    expect(plan.actions).toEqual([]);
  });
});

describe("mapped userNames", () => {
  const komeetLike = compileMapping([
    { target: "userName", source: "email", caseExact: false },
    { target: "externalId", source: "id" },
  ]);
  const snap = (users: ReturnType<typeof aSourceUser>[]): SourceSnapshot => ({ users, groups: [], complete: true, problems: [], protectedIds: [], protectedUserNames: [] });

  it("Given a mapping that makes the userName from the email, When an account with that email as userName exists, Then it is adopted, not created", () => {
    const desired = resolveDesiredUsers(snap([aSourceUser({ id: "u-1", userName: "JDoe", email: "jdoe@example.com" })]), {}, komeetLike).users;
    const existing = aTargetUser({ id: "x", userName: "jdoe@example.com" }, { externalId: null });

    const plan = planChanges(aPlanInput({ mapping: komeetLike, desired, actual: [existing] }));

    expect(desired[0]!.userName).toBe("jdoe@example.com");
    expect(plan.adopted.map((a) => a.key)).toEqual(["jdoe@example.com"]);
    expect(plan.actions.map((a) => a.op)).toEqual(["update"]);
  });

  it("Given a disabled directory user sharing the mapped userName with an active newcomer, When resolved, Then the leaver is still deprovisioned and the newcomer kept", () => {
    const result = resolveDesiredUsers(
      snap([aSourceUser({ id: "old", email: "pat@example.com", active: false }), aSourceUser({ id: "new", email: "pat@example.com" })]),
      {},
      komeetLike,
    );

    expect(result.users.map((u) => [u.sourceId, u.status])).toEqual([
      ["old", "suspended"],
      ["new", "active"],
    ]);
    expect(result.problems).toEqual([]);
  });

  it("Given two directory users the mapping gives one userName, When resolved, Then both are reported and skipped", () => {
    const result = resolveDesiredUsers(
      snap([aSourceUser({ id: "a", email: "shared@example.com" }), aSourceUser({ id: "b", email: "Shared@example.com" }), aSourceUser({ id: "c" })]),
      {},
      komeetLike,
    );

    expect(result.users.map((u) => u.sourceId)).toEqual(["c"]);
    expect(result.protectedIds).toEqual(["a", "b"]);
    expect(result.problems.map((p) => p.reason)).toEqual([
      "the mapping gives userName shared@example.com to b too",
      "the mapping gives userName Shared@example.com to a too",
    ]);
  });

  it("Given a single text mapped to roles, When mapped, Then it is a one-element list as SCIM requires", () => {
    const mapping = compileMapping([
      { target: "userName", source: "userName" },
      { target: "roles", source: "coalesce(roles, 'Employee')" },
    ]);
    const users = resolveDesiredUsers(snap([aSourceUser({ id: "a" }), aSourceUser({ id: "b", roles: ["Recruiter"] })]), {}, mapping).users;

    expect(users.map((u) => u.attributes.roles)).toEqual([["Employee"], ["Recruiter"]]);
  });

  it("Given a manager mapped from something that is not a directory id, When resolved, Then a warning says the manager is not set", () => {
    const mapping = compileMapping([
      { target: "userName", source: "userName" },
      { target: `${ENTERPRISE_USER}:manager`, source: "title" },
    ]);
    const result = resolveDesiredUsers(snap([aSourceUser({ id: "a" })]), {}, mapping);

    expect(result.warnings).toEqual([expect.stringContaining("1 user(s) have a manager that is not a directory user id")]);
  });
});

describe("manager references", () => {
  const MANAGER = `${ENTERPRISE_USER}:manager`;
  const withManager = compileMapping([...defaultUserMapping("externalId"), { target: MANAGER, source: "manager" }]);
  const desire = (id: string, manager?: string) => {
    const snap: SourceSnapshot = { users: [aSourceUser({ id, ...(manager ? { manager } : {}) })], groups: [], complete: true, problems: [], protectedIds: [], protectedUserNames: [] };
    return resolveDesiredUsers(snap, {}, withManager).users[0]!;
  };

  it("Given the manager exists on the target, When planned, Then the manager attribute is the manager's target id", () => {
    const plan = planChanges(
      aPlanInput({ mapping: withManager, desired: [desire("ada", "bob"), desire("bob")], actual: [aTargetUser({ id: "bob" })], state: aState({ bob: aManagedRecord("bob") }) }),
    );

    const create = plan.actions.find((a) => a.key === "ada@example.com")!;
    expect(create.attributes![MANAGER]).toBe("t-bob");
    expect(create.pendingReferences).toBeUndefined();
  });

  it("Given the manager is created in the same run, When planned, Then the reference is left pending for apply time", () => {
    const plan = planChanges(aPlanInput({ mapping: withManager, desired: [desire("ada", "bob"), desire("bob")] }));

    const create = plan.actions.find((a) => a.key === "ada@example.com")!;
    expect(create.pendingReferences).toEqual({ [MANAGER]: "bob" });
    expect(create.changes[MANAGER]).toEqual({ from: null, to: "(bob@example.com, created in this run)" });
  });

  it("Given an existing user whose new manager is created in this run, When planned, Then an update waits for that create", () => {
    const plan = planChanges(
      aPlanInput({ mapping: withManager, desired: [desire("ada", "bob"), desire("bob")], actual: [aTargetUser({ id: "ada" })], state: aState({ ada: aManagedRecord("ada") }) }),
    );

    const update = plan.actions.find((a) => a.key === "ada@example.com")!;
    expect(update).toMatchObject({ op: "update", pendingReferences: { [MANAGER]: "bob" } });
    expect(plan.actions.map((a) => a.key)).toEqual(["ada@example.com", "bob@example.com"].sort());
  });

  it("Given the manager is not provisioned (out of scope), When planned, Then the manager attribute is neither compared nor cleared", () => {
    const ada = aTargetUser({ id: "ada" }, { edit: (r) => ((r[ENTERPRISE_USER] as Record<string, unknown>).manager = { value: "t-someone" }) });
    const plan = planChanges(aPlanInput({ mapping: withManager, desired: [desire("ada", "zed")], actual: [ada], state: aState({ ada: aManagedRecord("ada") }) }));

    expect(plan.actions).toEqual([]);
  });

  it("Given the manager's account is deleted in this run, When planned, Then the report's manager attribute is cleared, not left dangling", () => {
    const ada = aTargetUser({ id: "ada" }, { edit: (r) => ((r[ENTERPRISE_USER] as Record<string, unknown>).manager = { value: "t-bob" }) });
    const bobLeft = { deleted: { suspend: 0, delete: 0 }, suspended: { suspend: 0, delete: "never" as const }, outOfScope: { suspend: 0, delete: "never" as const } };
    const plan = planChanges(
      aPlanInput({
        mapping: withManager,
        policy: bobLeft,
        desired: [desire("ada", "bob")],
        actual: [ada, aTargetUser({ id: "bob" })],
        state: aState({ ada: aManagedRecord("ada"), bob: aManagedRecord("bob") }),
      }),
    );

    expect(plan.actions.map((a) => [a.op, a.key, a.changes])).toEqual([
      ["update", "ada@example.com", { [MANAGER]: { from: "t-bob", to: null } }],
      ["delete", "bob@example.com", {}],
    ]);
  });

  it("Given the manager was removed in the directory, When planned, Then the manager attribute is cleared", () => {
    const ada = aTargetUser({ id: "ada" }, { edit: (r) => ((r[ENTERPRISE_USER] as Record<string, unknown>).manager = { value: "t-bob" }) });
    const plan = planChanges(aPlanInput({ mapping: withManager, desired: [desire("ada")], actual: [ada], state: aState({ ada: aManagedRecord("ada") }) }));

    expect(plan.actions).toEqual([expect.objectContaining({ op: "update", changes: { [MANAGER]: { from: "t-bob", to: null } } })]);
  });
});
