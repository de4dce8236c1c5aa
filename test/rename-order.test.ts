import { describe, expect, it } from "vitest";
import { orderRenames, temporaryName } from "../src/engine/rename-order.js";
import type { PlannedAction } from "../src/core/model.js";

const renameUser = (id: string, from: string, to: string): PlannedAction => ({
  op: "update",
  type: "User",
  key: to,
  sourceId: id,
  targetId: `t-${id}`,
  changes: { userName: { from, to } },
});
const retitle = (id: string): PlannedAction => ({ op: "update", type: "User", key: id, sourceId: id, targetId: `t-${id}`, changes: { title: { from: "a", to: "b" } } });
const shape = (waves: ReturnType<typeof orderRenames>) => waves.map((w) => w.map((s) => `${s.action.sourceId}${s.temporaryName ? `->${s.temporaryName}` : ""}`));
const tmp = (a: PlannedAction) => `tmp-${a.sourceId}`;

describe("orderRenames", () => {
  it("Given renames to free names and other updates, Then everything is one wave", () => {
    const queue = [retitle("x"), renameUser("a", "a@x", "a2@x"), renameUser("b", "b@x", "b2@x")];
    expect(shape(orderRenames(queue, tmp))).toEqual([["x", "a", "b"]]);
  });

  it("Given a chain (a takes b's name, b takes a new one), Then b goes first", () => {
    const queue = [renameUser("a", "a@x", "b@x"), renameUser("b", "b@x", "c@x")];
    expect(shape(orderRenames(queue, tmp))).toEqual([["b"], ["a"]]);
  });

  it("Given a swap, Then one steps aside to a temporary name, the other renames, then the first finishes", () => {
    const queue = [retitle("x"), renameUser("a", "a@x", "b@x"), renameUser("b", "B@x", "a@x")];
    expect(shape(orderRenames(queue, tmp))).toEqual([["x", "a->tmp-a"], ["b"], ["a"]]);
  });

  it("Given a ring of three, Then one temporary name is enough", () => {
    const queue = [renameUser("a", "a@x", "b@x"), renameUser("b", "b@x", "c@x"), renameUser("c", "c@x", "a@x")];
    expect(shape(orderRenames(queue, tmp))).toEqual([["a->tmp-a"], ["c"], ["b"], ["a"]]);
  });

  it("Given a user and a group with the same names, Then they do not wait for each other", () => {
    const group: PlannedAction = { op: "update", type: "Group", key: "b@x", sourceId: "g", targetId: "g", changes: { displayName: { from: "a@x", to: "b@x" } } };
    const queue = [renameUser("a", "b@x", "a@x"), group];
    expect(shape(orderRenames(queue, tmp))).toEqual([["a", "g"]]);
  });

});

describe("temporaryName", () => {
  it("keeps an email shape for users and a recognisable name for groups", () => {
    expect(temporaryName(renameUser("a", "a@x", "bob@example.com"), "bob@example.com")).toMatch(/^bob\+scimsync-[0-9a-f]{6}@example\.com$/);
    expect(temporaryName(renameUser("a", "a", "bob"), "bob")).toMatch(/^bob\.scimsync-[0-9a-f]{6}$/);
    expect(temporaryName({ ...renameUser("g", "A", "B"), type: "Group" }, "Sales")).toMatch(/^Sales \(scimsync-[0-9a-f]{6}\)$/);
  });
});
