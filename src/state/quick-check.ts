/**
 * A fast structural check of a current-version state file. Validating 100,000 user records with
 * zod takes most of a second; this loop takes a few tens of milliseconds, so loading and saving
 * a large state stays well under a second.
 *
 * It is deliberately narrower than the zod schema, never wider: whatever it accepts, the schema
 * accepts too (test/state-quick-check.test.ts checks that on mutated files). Whatever it does
 * not accept goes to zod, which stays the authority and words the error.
 */
import type { z } from "zod";
import type { StateUser } from "../core/model.js";
import type { CurrentStateFile } from "./schema.js";

type Obj = Record<string, unknown>;

const USER_KEYS = new Set(["targetId", "userName", "origin", "since", "suspendedAt", "conditions"]);
const CONDITION_KEYS = new Set(["outOfScope", "suspended", "deleted"]);
const GROUP_KEYS = new Set(["targetId", "displayName", "origin", "since", "members", "removedSince"]);
const RUN_KEYS = new Set(["runId", "startedAt", "finishedAt", "result", "counts"]);
const FILE_KEYS = new Set(["version", "serial", "targetUrl", "users", "groups", "groupMembersHidden", "lastRun", "source", "failures"]);
const ORIGINS = new Set(["created", "adopted"]);
const RUN_RESULTS = new Set(["ok", "failed", "safety-stop", "interrupted", "error"]);

/** Where `Date.toISOString()` puts digits in `2026-11-22T14:30:00.000Z`, the only form scimsync writes. */
const DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The canonical form with a real month, day and time, read without allocating (200,000 of them in a large state). */
function canonicalTime(s: string): boolean {
  if (s.length !== 24) return false;
  const at = (i: number) => s.charCodeAt(i);
  if (at(4) !== 45 || at(7) !== 45 || at(10) !== 84 || at(13) !== 58 || at(16) !== 58 || at(19) !== 46 || at(23) !== 90) return false;
  for (const i of DIGITS) if (at(i) < 48 || at(i) > 57) return false;
  const two = (i: number) => (at(i) - 48) * 10 + at(i + 1) - 48;
  const month = two(5);
  const day = two(8);
  return month >= 1 && month <= 12 && day >= 1 && day <= DAYS_IN_MONTH[month]! && two(11) <= 23 && two(14) <= 59 && two(17) <= 59;
}

/**
 * A timestamp as the schema's rule judges it. The canonical form is checked here (the rule costs
 * far more, and a state of 100,000 users holds as many distinct creation times); anything else
 * (an offset, no milliseconds, 29 February) is left to the rule itself.
 */
class TimeCheck {
  constructor(private readonly rule: z.ZodType) {}

  ok(value: unknown): boolean {
    if (typeof value !== "string") return false;
    return canonicalTime(value) || this.rule.safeParse(value).success;
  }
}

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): boolean {
  return typeof value === "string" && value.length > 0;
}

/** Every key is a known one (a known optional key may hold undefined, as in the serializer's objects). */
function onlyKeys(value: Obj, allowed: Set<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function count(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function optional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || check(value);
}

export interface QuickChecker {
  /**
   * The file as the schema would return it (group members made unique, as the schema's
   * transform does), or undefined when the schema must decide.
   */
  check(file: unknown): CurrentStateFile | undefined;
  /** One user record as the schema checks it (narrower, as check is). */
  userOk(user: unknown): boolean;
  /**
   * The JSON the serializer writes for a user (its fields in the schema's order, absent ones
   * left out), after checking them as userOk does; undefined when the schema must decide.
   * Built as text: a save of 100,000 users then makes no throwaway copy of each record.
   */
  userJson(user: StateUser): string | undefined;
}

export interface QuickCheckRules {
  version: number;
  /** The schema's rule for a timestamp. */
  isoTime: z.ZodType;
  /** The schema's rule for the escrow records: few, so the schema checks them itself. */
  failures: z.ZodType;
}

export function makeQuickChecker({ version, isoTime, failures }: QuickCheckRules): QuickChecker {
  const time = new TimeCheck(isoTime);
  const isTime = (v: unknown) => time.ok(v);

  /** The values of a user record the schema checks; keys are the caller's concern. */
  const userValuesOk = (u: Obj): boolean => {
    if (!nonEmpty(u.targetId) || !nonEmpty(u.userName) || !ORIGINS.has(u.origin as string)) return false;
    if (!isTime(u.since) || !optional(u.suspendedAt, isTime)) return false;
    const c = u.conditions;
    return isObj(c) && optional(c.outOfScope, isTime) && optional(c.suspended, isTime) && optional(c.deleted, isTime);
  };

  const userOk = (u: unknown): boolean =>
    isObj(u) && onlyKeys(u, USER_KEYS) && isObj(u.conditions) && onlyKeys(u.conditions, CONDITION_KEYS) && userValuesOk(u);

  const groupOk = (g: unknown): boolean => {
    if (!isObj(g) || !onlyKeys(g, GROUP_KEYS)) return false;
    if (!nonEmpty(g.targetId) || !nonEmpty(g.displayName) || !ORIGINS.has(g.origin as string)) return false;
    if (!isTime(g.since) || !optional(g.removedSince, isTime)) return false;
    return Array.isArray(g.members) && g.members.every(nonEmpty);
  };

  const runOk = (r: unknown): boolean => {
    if (!isObj(r) || !onlyKeys(r, RUN_KEYS)) return false;
    if (!nonEmpty(r.runId) || !isTime(r.startedAt) || !isTime(r.finishedAt) || !RUN_RESULTS.has(r.result as string)) return false;
    if (!isObj(r.counts)) return false;
    for (const key in r.counts) if (!count(r.counts[key])) return false;
    return true;
  };

  const userJson = (u: StateUser): string | undefined => {
    // Only the fields written are checked: a key the serializer leaves out cannot make the file invalid.
    if (!userValuesOk(u as unknown as Obj)) return undefined;
    const c = u.conditions;
    // Checked origins and times hold no character JSON would escape; the rest goes through JSON.stringify.
    let json = `{"targetId":${JSON.stringify(u.targetId)},"userName":${JSON.stringify(u.userName)},"origin":"${u.origin}","since":"${u.since}"`;
    if (u.suspendedAt !== undefined) json += `,"suspendedAt":"${u.suspendedAt}"`;
    const conditions: string[] = [];
    if (c.outOfScope !== undefined) conditions.push(`"outOfScope":"${c.outOfScope}"`);
    if (c.suspended !== undefined) conditions.push(`"suspended":"${c.suspended}"`);
    if (c.deleted !== undefined) conditions.push(`"deleted":"${c.deleted}"`);
    return `${json},"conditions":{${conditions.join(",")}}}`;
  };

  return {
    userOk,
    userJson,
    check(file) {
      if (!isObj(file) || !onlyKeys(file, FILE_KEYS)) return undefined;
      if (file.version !== version || !count(file.serial) || !nonEmpty(file.targetUrl)) return undefined;
      // The source's cache is the source's to check (as in the schema): here only its kind.
      if (!optional(file.source, (s) => isObj(s) && nonEmpty(s.kind))) return undefined;
      let checkedFailures: unknown;
      if (file.failures !== undefined) {
        const result = failures.safeParse(file.failures);
        if (!result.success) return undefined;
        checkedFailures = result.data;
      }
      if (!optional(file.groupMembersHidden, (v) => typeof v === "boolean") || !optional(file.lastRun, runOk)) return undefined;
      const { users, groups } = file;
      if (!isObj(users) || !isObj(groups)) return undefined;
      // "__proto__" is a key zod's record drops and a plain object would take as its prototype.
      for (const id in users) if (id.length === 0 || id === "__proto__" || !userOk(users[id])) return undefined;
      const uniqueGroups: Obj = {};
      for (const id in groups) {
        const g = groups[id] as Obj;
        if (id.length === 0 || id === "__proto__" || !groupOk(g)) return undefined;
        const members = g.members as string[];
        const unique = new Set(members);
        uniqueGroups[id] = unique.size === members.length ? g : { ...g, members: [...unique] };
      }
      const checked: Obj = { ...file, groups: uniqueGroups };
      if (file.failures !== undefined) checked.failures = checkedFailures;
      return checked as unknown as CurrentStateFile;
    },
  };
}
