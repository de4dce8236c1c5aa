/**
 * The state file's fast check must never accept what the zod schema rejects, nor return
 * anything other than what the schema would. Checked on a valid file and on thousands of
 * seeded mutations of it, every one of which is judged by both.
 */
import { describe, expect, it } from "vitest";
import { currentStateFile, parseStateFile, quickStateCheck, serializeStateFile, STATE_VERSION } from "../src/state/schema.js";
import { mulberry32 } from "./support/synthetic-people.js";

function validFile(): Record<string, any> {
  return {
    version: STATE_VERSION,
    serial: 7,
    targetUrl: "https://app.example.com/scim/v2",
    users: {
      "u-1": { targetId: "t-1", userName: "ada@example.com", origin: "created", since: "2026-01-01T00:00:00.000Z", conditions: {} },
      "u-2": {
        targetId: "t-2",
        userName: "bob@example.com",
        origin: "adopted",
        since: "2026-01-02T10:00:00+02:00",
        suspendedAt: "2026-02-01T00:00:00Z",
        conditions: { outOfScope: "2026-01-30T00:00:00.000Z", deleted: "2026-01-31T00:00:00.000Z" },
      },
    },
    groups: {
      "g-1": { targetId: "tg-1", displayName: "Team", origin: "created", since: "2026-01-01T00:00:00.000Z", members: ["t-1", "t-2", "t-1"] },
      "g-2": { targetId: "tg-2", displayName: "Gone", origin: "adopted", since: "2026-01-01T00:00:00.000Z", members: [], removedSince: "2026-03-01T00:00:00.000Z" },
    },
    groupMembersHidden: false,
    lastRun: { runId: "r1", startedAt: "2026-03-01T00:00:00.000Z", finishedAt: "2026-03-01T00:01:00.000Z", result: "ok", counts: { create: 2 } },
    source: { kind: "microsoft", users: { a: 1 } },
    failures: {
      "User:u-1": {
        name: "ada@example.com",
        op: "create",
        attempts: 1,
        firstFailedAt: "2026-03-01T00:00:00.000Z",
        lastFailedAt: "2026-03-01T00:00:00.000Z",
        lastError: "500",
        nextAttemptAt: "2026-03-01T01:00:00.000Z",
      },
    },
  };
}


const ODD_VALUES: unknown[] = [
  undefined, null, "", "x", 0, -1, 1.5, 2 ** 60, true, [], {}, ["a"], [""], { kind: "" },
  "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00", "yesterday", "created", "deleted", "ok",
  "2026-02-29T00:00:00.000Z", "2024-02-29T00:00:00.000Z", "2026-04-31T00:00:00.000Z", "2026-12-31T23:59:59.999Z", "2026-12-31T24:00:00.000Z",
  "2026-00-10T00:00:00.000Z", "2026-06-00T00:00:00.000Z", "2026-06-10T12:60:00.000Z", "2026-06-10T12:00:60.000Z", "0000-01-01T00:00:00.000Z",
];

/** Every path to a value inside `value`, objects and arrays included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function mutate(file: Record<string, any>, random: () => number): void {
  const all = paths(file).filter((p) => p.length > 0);
  const path = all[Math.floor(random() * all.length)]!;
  let parent: any = file;
  for (const step of path.slice(0, -1)) parent = parent[step];
  const last = path.at(-1)!;
  const roll = random();
  if (roll < 0.15 && !Array.isArray(parent)) delete parent[last];
  else if (roll < 0.3 && !Array.isArray(parent)) parent[`extra${Math.floor(random() * 3)}`] = "surprise";
  else if (roll < 0.35 && !Array.isArray(parent)) parent[""] = parent[last];
  else parent[last] = structuredClone(ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
}

describe("the state file's fast check", () => {
  it("given a valid file, then it accepts it and returns what the schema returns", () => {
    const file = validFile();
    const fast = quickStateCheck.check(structuredClone(file));
    const slow = currentStateFile.parse(structuredClone(file));
    expect(fast).toBeDefined();
    expect(fast).toEqual(slow);
  });

  it("given 5,000 seeded mutations, then whatever it accepts the schema accepts, with the same result", () => {
    // Seeded, so a failure names a reproducible case.
    const random = mulberry32(20261122);
    let acceptedByBoth = 0;
    let rejectedByFast = 0;
    for (let i = 0; i < 5000; i++) {
      const file = validFile();
      const steps = 1 + Math.floor(random() * 3);
      for (let s = 0; s < steps; s++) mutate(file, random);
      const fast = quickStateCheck.check(structuredClone(file));
      const slow = currentStateFile.safeParse(structuredClone(file));
      if (fast === undefined) {
        rejectedByFast++;
        continue;
      }
      if (!slow.success) expect.fail(`fast check accepted what the schema rejects (case ${i}): ${JSON.stringify(file)}\n${slow.error.message}`);
      expect(fast).toEqual(slow.data);
      acceptedByBoth++;
    }
    // Both branches were exercised, or the test proves nothing.
    expect(acceptedByBoth).toBeGreaterThan(100);
    expect(rejectedByFast).toBeGreaterThan(1000);
  });

  it("given valid users, then the serializer's text for each is exactly JSON.stringify of its record", () => {
    for (const user of Object.values(validFile().users) as any[]) {
      const record = { targetId: user.targetId, userName: user.userName, origin: user.origin, since: user.since, suspendedAt: user.suspendedAt, conditions: { outOfScope: user.conditions.outOfScope, suspended: user.conditions.suspended, deleted: user.conditions.deleted } };
      expect(quickStateCheck.userJson(user)).toBe(JSON.stringify(record));
    }
    expect(quickStateCheck.userJson({ targetId: 't"1\\', userName: "a\nb", origin: "created", since: "2026-01-01T00:00:00.000Z", conditions: {} })).toBe(
      JSON.stringify({ targetId: 't"1\\', userName: "a\nb", origin: "created", since: "2026-01-01T00:00:00.000Z", conditions: {} }),
    );
  });

  it("given a written state, then it reads back equal, with one record per line", () => {
    const parsed = parseStateFile(JSON.stringify(validFile()));
    if (parsed.kind !== "ok") throw new Error(JSON.stringify(parsed));
    const written = serializeStateFile(parsed.state);
    if ("invalid" in written) throw new Error(written.invalid);
    const again = parseStateFile(written.text);
    if (again.kind !== "ok") throw new Error(JSON.stringify(again));
    expect(again.state).toEqual(parsed.state);
    const lines = written.text.split("\n");
    expect(lines.filter((l) => l.startsWith('    "u-')).length).toBe(2);
    expect(lines.find((l) => l.startsWith('    "g-1"'))).toContain('"members":["t-1","t-2"]');
  });
});
