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
import type { CurrentStateFile } from "./schema.js";

type Obj = Record<string, unknown>;

const USER_KEYS = new Set(["targetId", "userName", "origin", "since", "suspendedAt", "conditions"]);
const CONDITION_KEYS = new Set(["outOfScope", "suspended", "deleted"]);
const GROUP_KEYS = new Set(["targetId", "displayName", "origin", "since", "members", "removedSince"]);
const RUN_KEYS = new Set(["runId", "startedAt", "finishedAt", "result", "counts"]);
const FILE_KEYS = new Set(["version", "serial", "targetUrl", "users", "groups", "groupMembersHidden", "lastRun", "source", "failures"]);
const ORIGINS = new Set(["created", "adopted"]);
const RUN_RESULTS = new Set(["ok", "failed", "safety-stop", "interrupted", "error"]);

/**
 * Timestamps repeat a great deal (one run stamps thousands of records), so each distinct string
 * is judged once, by the schema's own rule. Bounded so a long-lived process cannot grow it forever.
 */
class TimeCheck {
  private readonly good = new Set<string>();

  constructor(private readonly rule: z.ZodType) {}

  ok(value: unknown): boolean {
    if (typeof value !== "string") return false;
    if (this.good.has(value)) return true;
    if (!this.rule.safeParse(value).success) return false;
    if (this.good.size > 100_000) this.good.clear();
    this.good.add(value);
    return true;
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

  const userOk = (u: unknown): boolean => {
    if (!isObj(u) || !onlyKeys(u, USER_KEYS)) return false;
    if (!nonEmpty(u.targetId) || !nonEmpty(u.userName) || !ORIGINS.has(u.origin as string)) return false;
    if (!isTime(u.since) || !optional(u.suspendedAt, isTime)) return false;
    const c = u.conditions;
    if (!isObj(c) || !onlyKeys(c, CONDITION_KEYS)) return false;
    return optional(c.outOfScope, isTime) && optional(c.suspended, isTime) && optional(c.deleted, isTime);
  };

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

  return {
    userOk,
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
