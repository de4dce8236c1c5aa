import { describe, expect, it } from "vitest";
import { orderRenames } from "../src/engine/rename-order.js";
import type { PlannedAction } from "../src/core/model.js";

const renameUser = (id: string, from: string, to: string): PlannedAction => ({
  op: "update",
  type: "User",
  key: to,
  sourceId: id,
  targetId: `t-${id}`,
  changes: { userName: { from, to } },
});
const renameGroup = (id: string, from: string, to: string): PlannedAction => ({ ...renameUser(id, from, to), type: "Group", changes: { displayName: { from, to } } });
const retitle = (id: string): PlannedAction => ({ op: "update", type: "User", key: id, sourceId: id, targetId: `t-${id}`, changes: { title: { from: "a", to: "b" } } });
const shape = (waves: PlannedAction[][]) => waves.map((w) => w.map((a) => a.sourceId));

describe("orderRenames", () => {
  it("Given renames to free names and other updates, Then everything is one wave", () => {
    expect(shape(orderRenames([retitle("x"), renameUser("a", "a@x", "a2@x"), renameUser("b", "b@x", "b2@x")]))).toEqual([["x", "a", "b"]]);
  });

  it("Given a chain (a takes b's name, b takes c's, c a new one), Then c goes first, then b, then a", () => {
    const queue = [renameUser("a", "a@x", "b@x"), renameUser("b", "b@x", "C@x"), renameUser("c", "c@x", "d@x"), retitle("x")];
    expect(shape(orderRenames(queue))).toEqual([["x", "c"], ["b"], ["a"]]);
  });

  it("Given a swap, Then both go last, once, and the app's refusal is reported (no endless loop)", () => {
    const queue = [retitle("x"), renameUser("a", "a@x", "b@x"), renameUser("b", "B@x", "a@x")];
    expect(shape(orderRenames(queue))).toEqual([["x", "a", "b"]]);
  });

  it("Given two renames to one name next to a swap, Then every action is in exactly one wave", () => {
    const queue = [renameGroup("gc", "C", "A"), renameGroup("gb", "B", "A"), renameGroup("ga", "A", "B")];
    const waves = orderRenames(queue);
    expect(waves.flat()).toHaveLength(3);
    expect(new Set(waves.flat())).toEqual(new Set(queue));
  });

  it("Given a user and a group with the same names, Then they do not wait for each other", () => {
    expect(shape(orderRenames([renameUser("a", "b@x", "a@x"), renameGroup("g", "a@x", "b@x")]))).toEqual([["a", "g"]]);
  });
});
