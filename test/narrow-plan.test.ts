import { describe, it, expect } from "vitest";
import { planChanges } from "../src/core/planner.js";
import { describePerson, findPerson, narrowPlan, narrowProblems, type Person, type PersonLookup } from "../src/core/narrow-plan.js";
import type { DesiredUser, Plan, SourceProblem, SyncState, TargetUser } from "../src/core/model.js";
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
  iso,
  T0,
} from "./builders.js";
import type { PlanInput } from "../src/core/planner.js";

/**
 * ada and bob are new hires; cy is managed and changed title; dee is managed and has left the
 * directory; eve is managed and came back into scope after a timer had started.
 */
function aCompany(overrides: Partial<PlanInput> = {}): { input: PlanInput; plan: Plan; lookup: PersonLookup } {
  const desired: DesiredUser[] = [
    aDesiredUser({ id: "ada" }),
    aDesiredUser({ id: "bob" }),
    aDesiredUser({ id: "cy", title: "Manager" }),
    aDesiredUser({ id: "eve" }),
  ];
  const state: SyncState = aState({
    cy: aManagedRecord("cy"),
    dee: aManagedRecord("dee"),
    eve: aManagedRecord("eve", { conditions: { outOfScope: iso(-days(2)) } }),
  });
  const actual: TargetUser[] = [aTargetUser({ id: "cy" }), aTargetUser({ id: "dee" }), aTargetUser({ id: "eve" })];
  const input = aPlanInput({ desired, state, actual, ...overrides });
  const plan = planChanges(input);
  const lookup: PersonLookup = {
    directory: input.desired.map((d) => aSourceUser({ id: d.sourceId, userName: d.userName })),
    desired: input.desired,
    problems: [],
    state: input.state,
    actual: input.actual,
  };
  return { input, plan, lookup };
}

function narrowed(userName: string, company = aCompany()): { plan: Plan; person: Person } {
  const person = findPerson(userName, company.lookup);
  if (!person) throw new Error(`${userName} not found`);
  return { plan: narrowPlan(company.plan, person, company.input.state), person };
}

const ops = (plan: Plan) => plan.actions.map((a) => [a.op, a.type, a.key]);

describe("findPerson", () => {
  it("Given a userName in any case, When looked up, Then the directory user is found", () => {
    const { lookup } = aCompany();
    expect(findPerson("ADA@Example.com", lookup)).toEqual({ userName: "ADA@Example.com", sourceIds: ["ada"], targetIds: [] });
  });

  it("Given a managed user, When looked up, Then their recorded account comes with them", () => {
    expect(findPerson("cy@example.com", aCompany().lookup)).toEqual({ userName: "cy@example.com", sourceIds: ["cy"], targetIds: ["t-cy"] });
  });

  it("Given a name nobody has, When looked up, Then nobody is found", () => {
    expect(findPerson("nobody@example.com", aCompany().lookup)).toBeUndefined();
  });

  it("Given a leaver known only to the state and the target, When looked up, Then they are found", () => {
    expect(findPerson("dee@example.com", aCompany().lookup)?.sourceIds).toEqual(["dee"]);
  });

  it("Given an account only the target has, When looked up, Then it is found without a directory user", () => {
    const company = aCompany({ actual: [aTargetUser({ id: "cy" }), aTargetUser({ id: "dee" }), aTargetUser({ id: "eve" }), aTargetUser({ id: "zed" }, { externalId: null })] });
    expect(findPerson("zed@example.com", company.lookup)).toEqual({ userName: "zed@example.com", sourceIds: [], targetIds: ["t-zed"] });
  });

  it("Given a user renamed in the directory, When looked up by the app's old name, Then the directory user is found", () => {
    const company = aCompany({ desired: [aDesiredUser({ id: "cy", userName: "cy.new@example.com" })] });
    const person = findPerson("cy@example.com", company.lookup)!;
    expect(person.sourceIds).toEqual(["cy"]);
    expect(ops(narrowPlan(company.plan, person, company.input.state))).toEqual([["update", "User", "cy.new@example.com"]]);
  });

  it("Given a record the source skipped, When looked up, Then it is found by the problem's userName", () => {
    const problems: SourceProblem[] = [{ location: "users[3]", id: "fay", userName: "fay@example.com", reason: "has no email" }];
    expect(findPerson("fay@example.com", { ...aCompany().lookup, problems })?.sourceIds).toEqual(["fay"]);
  });
});

describe("narrowPlan: actions", () => {
  it("Given two new hires and an update, When narrowed to one hire, Then only their create remains", () => {
    const company = aCompany();
    expect(ops(company.plan)).toEqual([
      ["update", "User", "cy@example.com"],
      ["create", "User", "ada@example.com"],
      ["create", "User", "bob@example.com"],
    ]);
    const { plan } = narrowed("ada@example.com", company);
    expect(ops(plan)).toEqual([["create", "User", "ada@example.com"]]);
    expect(plan.scheduled).toEqual([]);
  });

  it("Given a leaver, When narrowed to them, Then their scheduled deprovisioning is theirs and nobody else's", () => {
    const { plan } = narrowed("dee@example.com");
    expect(plan.actions).toEqual([]);
    expect(plan.scheduled.map((s) => [s.op, s.key])).toEqual([
      ["suspend", "dee@example.com"],
      ["delete", "dee@example.com"],
    ]);
  });

  it("Given a group with two new members, When narrowed to one, Then the group is created and only they are added", () => {
    const company = aCompany({ groups: aGroupInput({ desired: [aDesiredGroup("sales", ["ada", "bob", "cy"])] }) });
    const { plan } = narrowed("bob@example.com", company);
    expect(ops(plan)).toEqual([
      ["create", "User", "bob@example.com"],
      ["create", "Group", "Sales"],
      ["add-members", "Group", "Sales"],
    ]);
    expect(plan.actions[2]!.members).toEqual([{ sourceId: "bob", userName: "bob@example.com" }]);
  });

  it("Given an existing group the person leaves, When narrowed, Then only their removal is kept and the group's others stay", () => {
    const company = aCompany({
      desired: [aDesiredUser({ id: "cy" }), aDesiredUser({ id: "eve" })],
      state: { ...aState({ cy: aManagedRecord("cy"), eve: aManagedRecord("eve") }), groups: { ops: aStateGroup("ops", ["t-cy", "t-eve"]) } },
      actual: [aTargetUser({ id: "cy" }), aTargetUser({ id: "eve" })],
      groups: aGroupInput({ desired: [aDesiredGroup("ops", [])], actual: [aTargetGroup("ops", { members: ["t-cy", "t-eve"] })] }),
    });
    expect(company.plan.actions.find((a) => a.op === "remove-members")?.members).toHaveLength(2);
    const { plan } = narrowed("eve@example.com", company);
    expect(ops(plan)).toEqual([["remove-members", "Group", "Ops"]]);
    expect(plan.actions[0]!.members?.map((m) => m.userName)).toEqual(["eve@example.com"]);
    expect(plan.state.groups.ops).toEqual(company.input.state.groups.ops);
  });

  it("Given an account only the target has, When narrowed to it, Then nothing is planned", () => {
    const company = aCompany({ actual: [aTargetUser({ id: "cy" }), aTargetUser({ id: "dee" }), aTargetUser({ id: "eve" }), aTargetUser({ id: "zed" }, { externalId: null })] });
    const { plan, person } = narrowed("zed@example.com", company);
    expect(plan.actions).toEqual([]);
    expect(describePerson(person, company.lookup, plan)).toMatchObject({ directory: null, match: "unmanaged", account: { id: "t-zed" } });
  });
});

describe("narrowPlan: state", () => {
  it("Given a plan that starts and clears other users' timers, When narrowed to a new hire, Then every other record stays as stored", () => {
    const company = aCompany();
    // The full plan starts dee's timer and clears eve's.
    expect(company.plan.state.users.dee!.conditions).toEqual({ deleted: T0.toISOString() });
    expect(company.plan.state.users.eve!.conditions).toEqual({});

    const { plan } = narrowed("ada@example.com", company);
    expect(plan.state.users).toEqual(company.input.state.users);
    expect(plan.state.users.dee).not.toBe(company.input.state.users.dee);
  });

  it("Given a leaver, When narrowed to them, Then their own timer starts and no one else's changes", () => {
    const company = aCompany();
    const { plan } = narrowed("dee@example.com", company);
    expect(plan.state.users.dee!.conditions).toEqual({ deleted: T0.toISOString() });
    expect(plan.state.users.eve).toEqual(company.input.state.users.eve);
    expect(plan.state.users.cy).toEqual(company.input.state.users.cy);
  });

  it("Given a user who came back, When narrowed to them, Then their timer is cleared", () => {
    const { plan } = narrowed("eve@example.com");
    expect(plan.state.users.eve!.conditions).toEqual({});
    expect(plan.state.users.dee!.conditions).toEqual({});
  });

  it("Given an adoption, When narrowed to the adopted user, Then the adoption is recorded, and another's is not", () => {
    const company = aCompany({ actual: [aTargetUser({ id: "cy" }), aTargetUser({ id: "dee" }), aTargetUser({ id: "eve" }), aTargetUser({ id: "ada" }), aTargetUser({ id: "bob" }, { externalId: null })] });
    const { plan, person } = narrowed("ada@example.com", company);
    expect(plan.adopted.map((a) => a.key)).toEqual(["ada@example.com"]);
    expect(plan.state.users.ada).toMatchObject({ targetId: "t-ada", origin: "adopted" });
    expect(plan.state.users.bob).toBeUndefined();
    expect(describePerson(person, company.lookup, plan)).toMatchObject({ match: "externalId", account: { id: "t-ada" } });
    const bob = narrowed("bob@example.com", company);
    expect(describePerson(bob.person, company.lookup, bob.plan).match).toBe("userName");
  });

  it("Given a group leaving the directory, When narrowed to a member being removed, Then the group's deletion timer is not started", () => {
    const company = aCompany({
      desired: [aDesiredUser({ id: "cy" }, { status: "outOfScope" })],
      state: { ...aState({ cy: aManagedRecord("cy", { conditions: { outOfScope: iso(-days(30)) } }) }), groups: { ops: aStateGroup("ops", ["t-cy"]) } },
      actual: [aTargetUser({ id: "cy" })],
      groups: aGroupInput({ desired: [], actual: [aTargetGroup("ops", { members: ["t-cy"] })] }),
    });
    expect(company.plan.state.groups.ops!.removedSince).toBe(T0.toISOString());
    const { plan } = narrowed("cy@example.com", company);
    expect(ops(plan)).toContainEqual(["remove-members", "Group", "Ops"]);
    expect(plan.state.groups.ops!.removedSince).toBeUndefined();
  });
});

describe("narrowPlan: escrow records", () => {
  const failing = (name: string, op: "create" | "update") => ({
    name,
    op,
    attempts: 1,
    firstFailedAt: iso(-days(1)),
    lastFailedAt: iso(-days(1)),
    lastError: "400",
    nextAttemptAt: iso(-days(1)),
  });

  it("Given failure records of several users, When narrowed, Then only the person's comes from the plan and the others stay as stored", () => {
    // A full run drops gus's record (nothing is planned for him any more); a run for cy must not.
    const failures = { "User:ada": failing("ada@example.com", "create"), "User:bob": failing("bob@example.com", "create"), "User:gus": failing("gus@example.com", "create") };
    const company = aCompany({ state: { ...aCompany().input.state, failures } });
    expect(Object.keys(company.plan.state.failures ?? {}).sort()).toEqual(["User:ada", "User:bob"]);

    const { plan } = narrowed("cy@example.com", company);
    expect(plan.state.failures).toEqual(failures);
  });
});

describe("narrowPlan: safety, holds, warnings", () => {
  const massLeaving = (): ReturnType<typeof aCompany> =>
    aCompany({
      desired: [aDesiredUser({ id: "ada" })],
      state: aState({ cy: aManagedRecord("cy", { conditions: { deleted: iso(-days(40)) } }), dee: aManagedRecord("dee", { conditions: { deleted: iso(-days(40)) } }) }),
      actual: [aTargetUser({ id: "cy" }), aTargetUser({ id: "dee" })],
      safety: { maxDeprovisions: 1, maxDeprovisionPercent: 100 },
    });

  it("Given a run the safety limit stops, When narrowed to a leaver, Then their delete is held back as in the full run", () => {
    const company = massLeaving();
    expect(company.plan.safety.blocked).toBe(true);
    const { plan } = narrowed("cy@example.com", company);
    expect(ops(plan)).toEqual([["delete", "User", "cy@example.com"]]);
    expect(plan.safety).toMatchObject({ blocked: true, deprovisions: 1, reason: company.plan.safety.reason });
  });

  it("Given a run the safety limit stops, When narrowed to a new hire, Then they are not held back, and the stop is mentioned", () => {
    const { plan } = narrowed("ada@example.com", massLeaving());
    expect(plan.safety).toMatchObject({ blocked: false, deprovisions: 0 });
    expect(plan.warnings.join("\n")).toContain("a full sync would stop at the safety limit");
  });

  it("Given warnings about other users, When narrowed, Then only the person's and the general ones remain", () => {
    const company = aCompany({ actual: [aTargetUser({ id: "cy" }), aTargetUser({ id: "eve" })] });
    expect(company.plan.warnings.some((w) => w.startsWith("dee@example.com: "))).toBe(true);
    expect(narrowed("ada@example.com", company).plan.warnings.some((w) => w.startsWith("dee@example.com"))).toBe(false);
    expect(narrowed("dee@example.com", company).plan.warnings.some((w) => w.startsWith("dee@example.com: "))).toBe(true);
  });

  it("Given a held user, When narrowed to them, Then the hold is shown and the person is described as held", () => {
    const company = aCompany({ actual: [aTargetUser({ id: "cy" }), aTargetUser({ id: "dee" }), aTargetUser({ id: "eve" }), aTargetUser({ id: "ada" }, { externalId: null, active: false })] });
    const { plan, person } = narrowed("ada@example.com", company);
    expect(plan.held.map((h) => h.key)).toEqual(["ada@example.com"]);
    expect(plan.actions).toEqual([]);
    expect(describePerson(person, company.lookup, plan).match).toBe("held");
  });
});

describe("describePerson and narrowProblems", () => {
  it("Given a new hire, When described, Then they are in scope and will be created", () => {
    const company = aCompany();
    const { plan, person } = narrowed("ada@example.com", company);
    expect(describePerson(person, company.lookup, plan)).toEqual({
      userName: "ada@example.com",
      directory: { id: "ada", userName: "ada@example.com", status: "active" },
      account: null,
      match: "create",
    });
  });

  it("Given a managed user, When described, Then the account and since when are given", () => {
    const company = aCompany();
    const { plan, person } = narrowed("cy@example.com", company);
    expect(describePerson(person, company.lookup, plan)).toMatchObject({ match: "managed", managedSince: company.input.state.users.cy!.since, account: { id: "t-cy", active: true } });
  });

  it("Given problems about several records, When narrowed, Then the person's and the unnamed ones remain", () => {
    const problems: SourceProblem[] = [
      { location: "users[1]", id: "ada", userName: "ada@example.com", reason: "bad" },
      { location: "users[2]", id: "bob", userName: "bob@example.com", reason: "bad" },
      { location: "groups listing", reason: "page 3 failed" },
    ];
    const person: Person = { userName: "ADA@example.com", sourceIds: ["ada"], targetIds: [] };
    expect(narrowProblems(problems, person).map((p) => p.location)).toEqual(["users[1]", "groups listing"]);
  });
});
