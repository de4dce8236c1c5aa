import { describe, expect, it } from "vitest";
import type { DesiredStatus, SourceGroup, SourceSnapshot, SourceUser } from "../src/core/model.js";
import { expandGroupMembers, resolveDesiredUsers } from "../src/core/scope.js";
import { mapUser } from "../src/core/mapping.js";
import { aSourceUser, MAPPING } from "./builders.js";

function aGroup(id: string, members: string[], displayName = id.charAt(0).toUpperCase() + id.slice(1)): SourceGroup {
  return { id, displayName, members };
}

function aSnapshot(users: SourceUser[], groups: SourceGroup[] = []): SourceSnapshot {
  return { users, groups, complete: true, problems: [], protectedIds: [], protectedUserNames: [] };
}

const statuses = (users: { sourceId: string; status: DesiredStatus }[]): Record<string, DesiredStatus> =>
  Object.fromEntries(users.map((u) => [u.sourceId, u.status]));

describe("expandGroupMembers", () => {
  it("Given groups nested three deep, When expanded, Then every member at every depth is in", () => {
    const groups = [aGroup("eng", ["backend", "erin"]), aGroup("backend", ["platform", "bo"]), aGroup("platform", ["pia"])];

    const { userIds, cycles } = expandGroupMembers({ groups }, ["eng"]);

    expect([...userIds].sort()).toEqual(["bo", "erin", "pia"]);
    expect(cycles).toEqual([]);
  });

  it("Given a diamond (two paths to one group), When expanded, Then it is not reported as a cycle", () => {
    const groups = [aGroup("all", ["a", "b"]), aGroup("a", ["shared"]), aGroup("b", ["shared"]), aGroup("shared", ["sam"])];

    expect(expandGroupMembers({ groups }, ["all"])).toEqual({ userIds: new Set(["sam"]), groupIds: new Set(["all", "a", "b", "shared"]), cycles: [] });
  });

  it("Given A contains B contains A, When expanded from both, Then the cycle is reported once and every member is in", () => {
    const groups = [aGroup("a", ["b", "ann"]), aGroup("b", ["a", "ben"])];

    const { userIds, cycles } = expandGroupMembers({ groups }, ["a", "b"]);

    expect([...userIds].sort()).toEqual(["ann", "ben"]);
    expect(cycles).toEqual(["A -> B -> A"]);
  });

  it("Given a group that contains itself, When expanded, Then the self-cycle is reported", () => {
    const { userIds, cycles } = expandGroupMembers({ groups: [aGroup("a", ["a", "ann"])] }, ["a"]);

    expect([...userIds]).toEqual(["ann"]);
    expect(cycles).toEqual(["A -> A"]);
  });

  it("Given a cycle below the root, When expanded, Then only the looping part is named", () => {
    const groups = [aGroup("root", ["x"]), aGroup("x", ["y"]), aGroup("y", ["x", "yuri"])];

    const { userIds, cycles } = expandGroupMembers({ groups }, ["root"]);

    expect([...userIds]).toEqual(["yuri"]);
    expect(cycles).toEqual(["X -> Y -> X"]);
  });
});

describe("resolveDesiredUsers", () => {
  const ada = aSourceUser({ id: "ada" });
  const bob = aSourceUser({ id: "bob" });
  const cy = aSourceUser({ id: "cy", active: false });
  const dee = aSourceUser({ id: "dee", active: false });
  const groups = [aGroup("g-eng", ["g-platform", "ada"], "Engineering"), aGroup("g-platform", ["cy"], "Platform"), aGroup("g-sales", ["bob"], "Sales")];

  it("Given no scope, When resolved, Then everyone is active except the suspended, and attributes are mapped", () => {
    const desired = resolveDesiredUsers(aSnapshot([ada, bob, cy]), {}, MAPPING);

    expect(desired.users).toEqual([
      { sourceId: "ada", userName: "ada@example.com", status: "active", attributes: mapUser(ada, MAPPING) },
      { sourceId: "bob", userName: "bob@example.com", status: "active", attributes: mapUser(bob, MAPPING) },
      { sourceId: "cy", userName: "cy@example.com", status: "suspended", attributes: mapUser(cy, MAPPING) },
    ]);
    expect(desired.trusted).toBe(true);
    expect(desired.warnings).toEqual([]);
  });

  it.each([
    ["by display name in another case", "engineering"],
    ["by id", "g-eng"],
  ])("Given a scope group named %s, When resolved, Then its transitive members are in scope and the rest out", (_, name) => {
    const desired = resolveDesiredUsers(aSnapshot([ada, bob, cy, dee], groups), { groups: [name] }, MAPPING);

    // A suspended user stays "suspended" whether in scope (cy) or not (dee).
    expect(statuses(desired.users)).toEqual({ ada: "active", bob: "outOfScope", cy: "suspended", dee: "suspended" });
    expect(desired.trusted).toBe(true);
  });

  it("Given an empty scope list, When resolved, Then everyone is in scope", () => {
    expect(statuses(resolveDesiredUsers(aSnapshot([ada, bob], groups), { groups: [] }, MAPPING).users)).toEqual({
      ada: "active",
      bob: "active",
    });
  });

  it("Given scope groups nested in a cycle, When resolved, Then it terminates, members are in scope and the cycle is warned about", () => {
    const cyclic = [aGroup("g-a", ["g-b", "ada"], "A"), aGroup("g-b", ["g-a", "bob"], "B")];

    const desired = resolveDesiredUsers(aSnapshot([ada, bob, aSourceUser({ id: "eve" })], cyclic), { groups: ["A"] }, MAPPING);

    expect(statuses(desired.users)).toEqual({ ada: "active", bob: "active", eve: "outOfScope" });
    expect(desired.warnings).toEqual(["group nesting cycle ignored: A -> B -> A"]);
    expect(desired.trusted).toBe(true);
  });

  it("Given one of two scope groups is missing from the directory, When resolved, Then the scope is not trusted and it says which", () => {
    const desired = resolveDesiredUsers(aSnapshot([ada, bob], groups), { groups: ["Engineering", "Contractors"] }, MAPPING);

    expect(desired.trusted).toBe(false);
    expect(desired.warnings).toEqual([
      'scope group "Contractors" is not in the directory; no user is deprovisioned for being out of scope until it is found again',
    ]);
    expect(statuses(desired.users)).toEqual({ ada: "active", bob: "outOfScope" });
  });
});

describe("resolveDesiredUsers with a source scope and group emails", () => {
  const users = [aSourceUser({ id: "ann" }), aSourceUser({ id: "bob" }), aSourceUser({ id: "cy" })];

  it("Given the source admits ann and bob, When resolved, Then cy is out of scope and the others active", () => {
    const desired = resolveDesiredUsers({ ...aSnapshot(users), inScopeIds: ["ann", "bob"] }, {}, MAPPING);

    expect(statuses(desired.users)).toEqual({ ann: "active", bob: "active", cy: "outOfScope" });
    expect(desired.trusted).toBe(true);
  });

  it("Given a source scope and a group scope, When resolved, Then only users admitted by both are active (Google's AND)", () => {
    const snapshot = { ...aSnapshot(users, [{ ...aGroup("g1", ["bob", "cy"]), email: "Team@Example.com" }]), inScopeIds: ["ann", "bob"] };

    const desired = resolveDesiredUsers(snapshot, { groups: ["team@example.com"] }, MAPPING);

    expect(statuses(desired.users)).toEqual({ ann: "outOfScope", bob: "active", cy: "outOfScope" });
  });

  it("Given a scope group whose members the source did not read, When resolved, Then it fails loudly instead of emptying the scope", () => {
    const snapshot = aSnapshot(users, [{ ...aGroup("g1", []), membersRead: false }]);

    expect(() => resolveDesiredUsers(snapshot, { groups: ["g1"] }, MAPPING)).toThrow(/members of group g1 were not read/);
  });
});

describe("findGroup", () => {
  it("Given two groups of one display name, When a scope names it, Then no group is picked, the scope is untrusted and the warning says to use the email", () => {
    const snapshot = aSnapshot([aSourceUser({ id: "ann" })], [{ ...aGroup("g1", ["ann"], "Sales"), email: "sales@example.com" }, aGroup("g2", [], "sales")]);

    const desired = resolveDesiredUsers(snapshot, { groups: ["Sales"] }, MAPPING);

    expect(desired.trusted).toBe(false);
    expect(desired.warnings[0]).toMatch(/^scope group "Sales" names 2 groups of the directory; name it by email or id/);
    expect(statuses(desired.users)).toEqual({ ann: "outOfScope" });
    // Named by email, the same group is found.
    expect(resolveDesiredUsers(snapshot, { groups: ["SALES@example.com"] }, MAPPING).users[0]!.status).toBe("active");
  });
});
