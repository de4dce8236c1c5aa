/**
 * The directory file's fast path for clean user records must give exactly the user the zod
 * schema gives (key order included), and leave to the schema every record it is not sure of.
 * Checked on realistic records and on thousands of seeded mutations of them.
 */
import { describe, expect, it } from "vitest";
import { examineUser } from "../src/sources/file-records.js";
import { mulberry32 } from "./support/synthetic-people.js";


function record(k: number): Record<string, any> {
  return {
    id: `u-${k}`,
    userName: `ada.${k}@example.com`,
    email: `ada.${k}@example.com`,
    givenName: "Ada",
    familyName: "Lovelace",
    displayName: "Ada Lovelace",
    active: true,
    title: "Engineer",
    department: "R&D",
    employeeNumber: String(1000 + k),
    manager: "u-1",
    preferredLanguage: "en-GB",
    addresses: [{ type: "work", streetAddress: "1 Main St", locality: "London", postalCode: "N1", country: "GB", primary: true }],
    phoneNumbers: [{ type: "work", value: "+44 20 0000 0000" }, { type: "mobile", value: "+44 7700 900000", primary: true }],
    costCenter: "CC-1",
  };
}

const ODD: unknown[] = [
  undefined, null, "", " ", " padded", "padded ", "tab\there", "line\nbreak", "\u00a0nbsp", "x".repeat(5000), 42, 0, true, false,
  [], {}, ["a"], [{}], [{ type: "work" }], [{ type: "work", value: "1" }, { type: "WORK", value: "2" }],
  [{ value: "1", primary: true }, { value: "2", primary: true }], [{ value: "1", extra: "x" }], [{ value: 7 }],
  "not-an-email", "a@b.c", "Ünïcödé", "u-1",
];

function mutate(fields: Record<string, any>, random: () => number): void {
  const keys = [...Object.keys(fields), "roles", "unknownKey", "addresses", "phoneNumbers"];
  const key = keys[Math.floor(random() * keys.length)]!;
  const roll = random();
  if (roll < 0.15) delete fields[key];
  else if (roll < 0.3 && Array.isArray(fields[key]) && fields[key].length > 0 && fields[key][0] !== null && typeof fields[key][0] === "object") {
    const entry = fields[key][0];
    const inner = Object.keys(entry);
    const k = inner[Math.floor(random() * inner.length)]!;
    entry[k] = structuredClone(ODD[Math.floor(random() * ODD.length)]);
  } else fields[key] = structuredClone(ODD[Math.floor(random() * ODD.length)]);
}

function both(fields: Record<string, any>) {
  const quick = examineUser({ location: "users[0]", fields: structuredClone(fields) });
  const slow = examineUser({ location: "users[0]", fields: structuredClone(fields) }, { quick: false });
  return { quick, slow };
}

describe("the directory file's fast path for user records", () => {
  it("given a realistic record, then it gives exactly the schema's user, key order included", () => {
    const { quick, slow } = both(record(7));
    expect(slow.reasons).toEqual([]);
    expect(JSON.stringify(quick.user)).toBe(JSON.stringify(slow.user));
  });

  it("given 5,000 seeded mutations, then every record gives the same user or the same problems either way", () => {
    const random = mulberry32(7643);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const fields = record(i);
      const steps = 1 + Math.floor(random() * 3);
      for (let s = 0; s < steps; s++) mutate(fields, random);
      const { quick, slow } = both(fields);
      expect(quick.reasons, `case ${i}: ${JSON.stringify(fields)}`).toEqual(slow.reasons);
      expect(JSON.stringify(quick.user), `case ${i}: ${JSON.stringify(fields)}`).toBe(JSON.stringify(slow.user));
      if (slow.user) accepted++;
      else refused++;
    }
    // Both outcomes were exercised, or the test proves little.
    expect(accepted).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });
});
