/**
 * Builders for the pure core's tests. Every builder returns a fresh, realistic value that the
 * test then bends with overrides, so a test states only what matters to it.
 *
 * People are derived from a short id: `aSourceUser({ id: "bob" })` is bob@example.com, Bob
 * Example; `aTargetUser(bob)` is bob's account on the target, in sync with the directory.
 */
import type {
  DeprovisionPolicy,
  DeprovisionReason,
  DeprovisionRule,
  DesiredStatus,
  DesiredGroup,
  DesiredUser,
  SafetyLimits,
  StateGroup,
  TargetGroup,
  SourceUser,
  StateUser,
  SyncState,
  TargetUser,
} from "../src/core/model.js";
import { compileMapping, CORE_USER, defaultUserMapping, ENTERPRISE_USER, mapUser, type CompiledEntry, type MatchBy } from "../src/core/mapping.js";
import type { PlanInput } from "../src/core/planner.js";
import type { GroupPlanInput } from "../src/core/group-planner.js";

/** The fixed clock every core test plans against. */
export const T0 = new Date("2026-03-01T09:00:00Z");

export const hours = (n: number): number => n * 3_600_000;
export const days = (n: number): number => n * hours(24);

/** T0 shifted by `offsetMs` (negative: in the past). */
export function at(offsetMs: number): Date {
  return new Date(T0.getTime() + offsetMs);
}

/** T0 shifted by `offsetMs`, as the ISO string state and plans use. */
export function iso(offsetMs: number): string {
  return at(offsetMs).toISOString();
}

export const TARGET_URL = "https://app.example.com/scim/v2";

export const MAPPING: CompiledEntry[] = compileMapping(defaultUserMapping("externalId"));
export const MAPPING_BY_USERNAME: CompiledEntry[] = compileMapping(defaultUserMapping("userName"));

export function mappingFor(matchBy: MatchBy): CompiledEntry[] {
  return matchBy === "externalId" ? MAPPING : MAPPING_BY_USERNAME;
}

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** A directory user; the defaults follow from `id` ("ada" unless given). */
export function aSourceUser(overrides: Partial<SourceUser> = {}): SourceUser {
  const id = overrides.id ?? "ada";
  const userName = overrides.userName ?? `${id}@example.com`;
  return {
    id,
    userName,
    email: userName,
    givenName: capitalise(id),
    familyName: "Example",
    active: true,
    title: "Engineer",
    department: "Research",
    employeeNumber: `E-${id}`,
    ...overrides,
  };
}

/**
 * What the target should hold for a source user. The status follows from `active` unless
 * given (outOfScope can only be given: scope is not a source attribute).
 */
export function aDesiredUser(
  source: Partial<SourceUser> = {},
  options: { status?: DesiredStatus; mapping?: CompiledEntry[] } = {},
): DesiredUser {
  const user = aSourceUser(source);
  return {
    sourceId: user.id,
    userName: user.userName,
    status: options.status ?? (user.active ? "active" : "suspended"),
    attributes: mapUser(user, options.mapping ?? MAPPING),
  };
}

export interface TargetUserOverrides {
  id?: string;
  userName?: string;
  /** null: the target holds no externalId (e.g. created by hand). */
  externalId?: string | null;
  active?: boolean;
  /** Bends the SCIM resource after it is built, for drift and odd target shapes. */
  edit?: (resource: Record<string, unknown>) => void;
}

/**
 * A source user's account on the target, as a SCIM server returns it: core attributes, a
 * typed primary work email, the enterprise extension and meta. In sync with `source`.
 */
export function aTargetUser(source: Partial<SourceUser> = {}, overrides: TargetUserOverrides = {}): TargetUser {
  const user = aSourceUser(source);
  const id = overrides.id ?? `t-${user.id}`;
  const userName = overrides.userName ?? user.userName;
  const externalId = overrides.externalId === undefined ? user.id : overrides.externalId;
  const active = overrides.active ?? true;
  const resource: Record<string, unknown> = {
    schemas: [CORE_USER, ENTERPRISE_USER],
    id,
    userName,
    name: {
      formatted: `${user.givenName} ${user.familyName}`,
      givenName: user.givenName,
      familyName: user.familyName,
    },
    displayName: user.displayName ?? `${user.givenName} ${user.familyName}`,
    title: user.title,
    active,
    emails: [{ value: user.email, type: "work", primary: true }],
    [ENTERPRISE_USER]: { department: user.department, employeeNumber: user.employeeNumber },
    meta: {
      resourceType: "User",
      created: iso(-days(90)),
      lastModified: iso(-days(10)),
      location: `${TARGET_URL}/Users/${id}`,
    },
  };
  if (externalId !== null) resource.externalId = externalId;
  overrides.edit?.(resource);
  const target: TargetUser = { id, userName, active, resource };
  if (externalId !== null) target.externalId = externalId;
  return target;
}

/** A managed user's record: created by us a month ago, no condition pending. */
export function aStateUser(overrides: Partial<StateUser> = {}): StateUser {
  return {
    targetId: "t-ada",
    userName: "ada@example.com",
    origin: "created",
    since: iso(-days(30)),
    conditions: {},
    ...overrides,
  };
}

/** The record of a managed source user `id` whose account is `t-<id>`. */
export function aManagedRecord(id: string, overrides: Partial<StateUser> = {}): StateUser {
  return aStateUser({ targetId: `t-${id}`, userName: `${id}@example.com`, ...overrides });
}

export function aState(users: Record<string, StateUser> = {}): SyncState {
  return { targetUrl: TARGET_URL, users, groups: {} };
}

/** Distinct delays per reason, so a wrong rule shows up as a wrong due time. */
export const DEFAULT_POLICY: DeprovisionPolicy = {
  deleted: { suspend: days(1), delete: days(30) },
  suspended: { suspend: 0, delete: days(60) },
  outOfScope: { suspend: days(7), delete: days(21) },
};

export function aPolicy(overrides: Partial<DeprovisionPolicy> = {}): DeprovisionPolicy {
  return { ...DEFAULT_POLICY, ...overrides };
}

/** DEFAULT_POLICY with one reason's rule replaced. */
export function policyWith(reason: DeprovisionReason, rule: DeprovisionRule): DeprovisionPolicy {
  return aPolicy({ [reason]: rule });
}

/** Limits that never block; safety tests set their own. */
export const NO_LIMITS: SafetyLimits = { maxDeprovisions: 1_000, maxDeprovisionPercent: 100 };

/** Everything planChanges needs, for an empty directory, target and state at T0. */
export function aPlanInput(overrides: Partial<PlanInput> = {}): PlanInput {
  const matchBy = overrides.matchBy ?? "externalId";
  return {
    desired: [],
    actual: [],
    state: aState(),
    policy: DEFAULT_POLICY,
    safety: NO_LIMITS,
    mapping: mappingFor(matchBy),
    matchBy,
    now: T0,
    deprovisioningAllowed: true,
    ...overrides,
  };
}

// ---- Groups ----

export const GROUP_MAPPING: CompiledEntry[] = compileMapping([
  { target: "displayName", source: "displayName" },
  { target: "externalId", source: "id" },
]);

/** A directory group after scope: `members` are source user ids that should be members. */
export function aDesiredGroup(id: string, memberIds: string[] = [], displayName = capitalise(id)): DesiredGroup {
  return { sourceId: id, displayName, attributes: { displayName, externalId: id }, memberIds: [...memberIds].sort() };
}

/** A group on the target, listed without members unless `members` is given. */
export function aTargetGroup(id: string, overrides: { displayName?: string; externalId?: string | null; members?: string[] } = {}): TargetGroup {
  const displayName = overrides.displayName ?? capitalise(id);
  const resource: Record<string, unknown> = { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], id: `g-${id}`, displayName };
  const group: TargetGroup = { id: `g-${id}`, displayName, resource };
  const externalId = overrides.externalId === undefined ? id : overrides.externalId;
  if (externalId !== null) {
    resource.externalId = externalId;
    group.externalId = externalId;
  }
  if (overrides.members) {
    group.members = overrides.members;
    resource.members = overrides.members.map((value) => ({ value }));
  }
  return group;
}

/** A managed group's record: created by us a month ago, with the given member target ids. */
export function aStateGroup(id: string, members: string[] = [], overrides: Partial<StateGroup> = {}): StateGroup {
  return { targetId: `g-${id}`, displayName: capitalise(id), origin: "created", since: iso(-days(30)), members, ...overrides };
}

/** The group part of a plan input: nothing read, deletion never. */
export function aGroupInput(overrides: Partial<GroupPlanInput> = {}): GroupPlanInput {
  return { desired: [], actual: [], mapping: GROUP_MAPPING, policy: { delete: "never" }, memberReads: new Map(), ...overrides };
}
