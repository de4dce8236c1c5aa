/**
 * `--user <userName>`: one person's part of a plan. `plan --user` shows it and `sync --user`
 * applies it (Entra's "provision on demand"). Pure like the planner, and it only filters what
 * the planner decided for everyone: the person's actions are exactly those a full sync would
 * apply to them, so on-demand provisioning can never do something a full run would not.
 */
import type {
  DesiredStatus,
  DesiredUser,
  Hold,
  MemberRef,
  Plan,
  PlannedAction,
  SafetyVerdict,
  SourceProblem,
  SourceUser,
  StateUser,
  SyncState,
  TargetUser,
} from "./model.js";
import { failureKey } from "./escrow.js";

/** Everything a userName may be known by: the directory, the state, the target. */
export interface PersonLookup {
  /** The directory's users as read (their own userNames, before mapping). */
  directory: ReadonlyArray<Pick<SourceUser, "id" | "userName">>;
  /** The same users after scope and mapping (the app's userNames and each one's status). */
  desired: readonly DesiredUser[];
  /** Records the source or the scope skipped. */
  problems: readonly SourceProblem[];
  /** The state as stored before this run. */
  state: SyncState;
  /** Every user on the target. */
  actual: readonly TargetUser[];
}

/** Whom `--user` names. */
export interface Person {
  /** As the administrator gave it. */
  userName: string;
  /** Directory ids (the state's keys) that are this person: one, unless a leaver and a newcomer share the userName. */
  sourceIds: string[];
  /** Their accounts on the target: recorded in the state, or named so. */
  targetIds: string[];
}

const lower = (text: string): string => text.trim().toLowerCase();

/**
 * Finds a person by userName, case-insensitively: the directory's userName, the app's (mapped)
 * one, the one the state recorded, or an account's name on the target. Undefined when nobody
 * has it, which the caller reports: a typo must not read as "nothing to do".
 */
export function findPerson(userName: string, lookup: PersonLookup): Person | undefined {
  const wanted = lower(userName);
  const same = (name: string | undefined): boolean => name !== undefined && lower(name) === wanted;
  const sourceIds = new Set<string>();
  let named = false;
  for (const u of lookup.directory) if (same(u.userName)) sourceIds.add(u.id);
  for (const d of lookup.desired) if (same(d.userName)) sourceIds.add(d.sourceId);
  for (const p of lookup.problems) {
    if (!same(p.userName)) continue;
    named = true;
    if (p.id !== undefined) sourceIds.add(p.id);
  }
  const managedBy = new Map<string, string>();
  for (const [sourceId, record] of Object.entries(lookup.state.users)) {
    managedBy.set(record.targetId, sourceId);
    if (same(record.userName)) sourceIds.add(sourceId);
  }
  const directoryIds = new Set(lookup.directory.map((u) => u.id));
  const targetIds = new Set<string>();
  for (const account of lookup.actual) {
    if (!same(account.userName)) continue;
    targetIds.add(account.id);
    // An account named so belongs to whoever manages it, or to the directory user it carries
    // the id of: after a rename in the directory, the admin may still use the app's old name.
    const owner = managedBy.get(account.id) ?? (account.externalId !== undefined && directoryIds.has(account.externalId) ? account.externalId : undefined);
    if (owner !== undefined) sourceIds.add(owner);
  }
  for (const sourceId of sourceIds) {
    const record = lookup.state.users[sourceId];
    if (record) targetIds.add(record.targetId);
  }
  if (sourceIds.size === 0 && targetIds.size === 0 && !named) return undefined;
  return { userName: userName.trim(), sourceIds: [...sourceIds].sort(), targetIds: [...targetIds].sort() };
}

/**
 * The plan for one person: their user actions; in group membership changes only their own
 * (the other members' changes wait for the next full run); the group creates those memberships
 * need; their scheduled deprovisionings, holds and adoptions.
 *
 * `state` is the stored state with only this person's records taken from the plan (timers
 * started or cleared, adoption, a record dropped) and the groups their memberships touch.
 * Everybody else's records stay exactly as stored: a narrowed sync must not start, clear or
 * drop another user's deprovisioning timer as if it had run for them. The safety verdict is the
 * full plan's (limits still apply to this person's suspend or delete), counted for this person.
 */
export function narrowPlan(plan: Plan, person: Person, stored: SyncState): Plan {
  const ids = new Set(person.sourceIds);
  const accounts = new Set(person.targetIds);
  const wanted = lower(person.userName);
  const theirs = (item: { type: string; sourceId: string; key: string }): boolean =>
    item.type === "User" && (ids.has(item.sourceId) || lower(item.key) === wanted);
  const isThem = (member: MemberRef): boolean =>
    member.sourceId !== undefined ? ids.has(member.sourceId) : member.targetId !== undefined ? accounts.has(member.targetId) : lower(member.userName) === wanted;

  const touched = new Set<string>();
  for (const action of plan.actions) {
    if (action.type === "Group" && action.members?.some(isThem)) touched.add(action.sourceId);
  }
  const actions: PlannedAction[] = [];
  for (const action of plan.actions) {
    if (action.type === "User") {
      if (theirs(action)) actions.push(action);
    } else if (action.members) {
      const members = action.members.filter(isThem);
      if (members.length > 0) actions.push({ ...action, members });
    } else if (action.op === "create" && touched.has(action.sourceId)) {
      actions.push(action);
    }
  }

  const state = narrowState(plan.state, stored, ids, touched);
  const safety = narrowSafety(plan.safety, actions);
  const warnings = narrowWarnings(plan, stored, ids, wanted);
  if (plan.safety.blocked && !safety.blocked) {
    warnings.push(`a full sync would stop at the safety limit (${plan.safety.reason ?? "see plan"}); ${person.userName}'s changes include no suspend or delete, so they are not held back`);
  }
  return {
    now: plan.now,
    actions,
    scheduled: plan.scheduled.filter(theirs),
    adopted: plan.adopted.filter((a) => (a.type === "Group" ? touched.has(a.sourceId) : theirs(a))),
    held: plan.held.filter(theirs),
    safety,
    warnings,
    state,
  };
}

function narrowState(planned: SyncState, stored: SyncState, ids: ReadonlySet<string>, touched: ReadonlySet<string>): SyncState {
  const users: Record<string, StateUser> = {};
  // Copies: applying the plan updates records in place, and the stored ones must stay as read.
  for (const [sourceId, record] of Object.entries(stored.users)) users[sourceId] = { ...record, conditions: { ...record.conditions } };
  for (const sourceId of ids) {
    const record = planned.users[sourceId];
    if (record) users[sourceId] = record;
    else delete users[sourceId];
  }
  const groups: SyncState["groups"] = {};
  for (const [sourceId, record] of Object.entries(stored.groups)) groups[sourceId] = { ...record, members: [...record.members] };
  for (const sourceId of touched) {
    const record = planned.groups[sourceId];
    if (!record) {
      delete groups[sourceId];
      continue;
    }
    // The group's record as planned (adopted, members as read) but not its deletion timer:
    // that is the full run's business, not this person's.
    const kept = { ...record, members: [...record.members] };
    const removedSince = stored.groups[sourceId]?.removedSince;
    if (removedSince) kept.removedSince = removedSince;
    else delete kept.removedSince;
    groups[sourceId] = kept;
  }
  // Escrow's failure records likewise: only the person's and their groups' come from the plan.
  const failures = { ...stored.failures };
  const keys = [...[...ids].map((id) => failureKey("User", id)), ...[...touched].map((id) => failureKey("Group", id))];
  for (const key of keys) {
    const record = planned.failures?.[key];
    if (record) failures[key] = record;
    else delete failures[key];
  }
  const state: SyncState = { ...planned, users, groups };
  if (Object.keys(failures).length > 0) state.failures = failures;
  else delete state.failures;
  return state;
}

function narrowSafety(full: SafetyVerdict, actions: PlannedAction[]): SafetyVerdict {
  const deprovisions = actions.filter((a) => a.type === "User" && (a.op === "suspend" || a.op === "delete")).length;
  const verdict: SafetyVerdict = { deprovisions, managed: full.managed, blocked: full.blocked && deprovisions > 0 };
  if (verdict.blocked && full.reason) verdict.reason = full.reason;
  if (full.failClosed) verdict.failClosed = full.failClosed;
  return verdict;
}

/** The plan's warnings without those about other users (each starts with that user's key). */
function narrowWarnings(plan: Plan, stored: SyncState, ids: ReadonlySet<string>, wanted: string): string[] {
  const others = new Set<string>();
  const note = (item: { sourceId: string; key: string; type?: string }) => {
    if (item.type !== "Group" && !ids.has(item.sourceId) && lower(item.key) !== wanted) others.add(lower(item.key));
  };
  for (const item of [...plan.actions, ...plan.scheduled, ...plan.held, ...plan.adopted]) note(item);
  for (const [sourceId, record] of Object.entries(stored.users)) note({ sourceId, key: record.userName });
  return plan.warnings.filter((w) => {
    const colon = w.indexOf(": ");
    return colon === -1 || !others.has(lower(w.slice(0, colon)));
  });
}

/** Source problems that name this person, and those that name nobody (a part of the directory not read). */
export function narrowProblems(problems: readonly SourceProblem[], person: Person): SourceProblem[] {
  const ids = new Set(person.sourceIds);
  const wanted = lower(person.userName);
  return problems.filter(
    (p) => (p.id === undefined && p.userName === undefined) || (p.id !== undefined && ids.has(p.id)) || (p.userName !== undefined && lower(p.userName) === wanted),
  );
}

/** How scimsync found the person's account: the steps `sync --user` shows. */
export type PersonMatch =
  /** Managed already: the state records the account. */
  | "managed"
  /** An existing account taken over, found by its externalId or its userName. */
  | "externalId"
  | "userName"
  /** No account yet: one is created. */
  | "create"
  /** Held for review: nothing is done (see held). */
  | "held"
  /** The target has an account by this name that scimsync does not manage, and leaves alone. */
  | "unmanaged"
  /** No account, and none is to be made (not in scope, suspended, or skipped). */
  | "none";

/** The person as `--user` reports them, step by step: scope, then match. */
export interface PersonReport {
  userName: string;
  /** Step 1, scope: the directory's record and what scope made of it; null when the directory does not have them. */
  directory: { id: string; userName: string; status: DesiredStatus } | null;
  /** The directory record was skipped (malformed, no usable email...): the reason. */
  skipped?: string;
  /** Step 2, match: their account on the target, if any. */
  account: { id: string; userName: string; active: boolean } | null;
  match: PersonMatch;
  /** Since when scimsync manages the account (match "managed"). */
  managedSince?: string;
  /** Why nothing is done (match "held"). */
  heldReason?: string;
}

/** Describes the person for the views, from the lookup and their narrowed plan. */
export function describePerson(person: Person, lookup: PersonLookup, narrowed: Plan): PersonReport {
  const desiredById = new Map(lookup.desired.map((d) => [d.sourceId, d]));
  // The one to describe: the directory's user first (a newcomer over a leaver with the same name).
  const primary = person.sourceIds.find((id) => desiredById.has(id)) ?? person.sourceIds.find((id) => lookup.state.users[id]) ?? person.sourceIds[0];
  const actual = new Map<string, TargetUser>();
  for (const account of lookup.actual) actual.set(account.id, account);
  const accountOf = (id: string | undefined): PersonReport["account"] => {
    const account = id === undefined ? undefined : actual.get(id);
    return account ? { id: account.id, userName: account.userName, active: account.active } : null;
  };

  const desired = primary === undefined ? undefined : desiredById.get(primary);
  const source = primary === undefined ? undefined : lookup.directory.find((u) => u.id === primary);
  const report: PersonReport = {
    userName: person.userName,
    directory: desired ? { id: desired.sourceId, userName: source?.userName ?? desired.userName, status: desired.status } : null,
    account: null,
    match: "none",
  };
  const skipped = narrowProblems(lookup.problems, person).find((p) => p.id !== undefined || p.userName !== undefined);
  if (skipped) report.skipped = skipped.reason;

  const hold: Hold | undefined = narrowed.held.find((h) => h.type === "User" && (primary === undefined || h.sourceId === primary));
  const record = primary === undefined ? undefined : lookup.state.users[primary];
  const adoption = narrowed.adopted.find((a) => a.type === "User" && a.sourceId === primary);
  const creates = narrowed.actions.some((a) => a.type === "User" && a.op === "create" && a.sourceId === primary);
  if (hold) {
    report.match = "held";
    report.heldReason = hold.reason;
    report.account = accountOf(record?.targetId);
  } else if (adoption) {
    report.account = accountOf(adoption.targetId);
    report.match = actual.get(adoption.targetId)?.externalId === primary ? "externalId" : "userName";
  } else if (creates) {
    report.match = "create";
  } else if (record && actual.has(record.targetId)) {
    report.match = "managed";
    report.managedSince = record.since;
    report.account = accountOf(record.targetId);
  } else {
    const named = person.targetIds.map((id) => actual.get(id)).find((a) => a !== undefined);
    if (named) {
      report.account = accountOf(named.id);
      report.match = Object.values(lookup.state.users).some((r) => r.targetId === named.id) ? "managed" : "unmanaged";
    }
  }
  return report;
}
