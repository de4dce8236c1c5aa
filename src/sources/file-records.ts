/**
 * Turns the records of a directory file (JSON or CSV, already split into fields) into a
 * SourceSnapshot. A record that cannot be trusted is reported and skipped, and whatever
 * identifies it is protected so that the planner never deprovisions a user because of it.
 */
import { z } from "zod";
import type { SourceGroup, SourceProblem, SourceSnapshot, SourceUser } from "../core/model.js";

/** One user record as found in the file, before validation. */
export interface UserRecord {
  /** Where it sits, for the administrator: `users[12]`, `line 14`. */
  location: string;
  /** The record's fields as read; anything, since files are edited by hand. */
  fields: unknown;
  /** CSV only: display names from the `groups` column. */
  groupNames?: string[];
  /** A reason the reader already knows the record is broken (a CSV row with too many fields). */
  defect?: string;
}

export interface GroupRecord {
  location: string;
  fields: unknown;
}

export interface DirectoryRecords {
  users: UserRecord[];
  /** JSON group records. CSV files have none: their groups come from each user's `groups` column. */
  groups: GroupRecord[];
  /** Stretches of the file that could not be split into records; nobody in them can be identified. */
  unreadable: SourceProblem[];
}

export const USER_FIELDS = [
  "id",
  "userName",
  "email",
  "givenName",
  "familyName",
  "displayName",
  "active",
  "title",
  "department",
  "employeeNumber",
  "manager",
] as const;

const KNOWN_FIELDS: ReadonlySet<string> = new Set(USER_FIELDS);

/** Generous on purpose: directories hold internationalised addresses, and the target has the last word. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;
const CONTROL = /\p{Cc}/u;

export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : typeof value;
}

/** Surrounding whitespace is noise, and an empty optional value means "not given". */
function normalize(numbersAsText: boolean) {
  return (value: unknown): unknown => {
    if (typeof value === "string") return value.trim() === "" ? undefined : value.trim();
    if (value === null) return undefined;
    if (numbersAsText && typeof value === "number" && Number.isFinite(value)) return String(value);
    return value;
  };
}

function text(field: string, numbersAsText: boolean) {
  const kind = numbersAsText ? "text or a number" : "text";
  return z
    .string({
      error: (iss) => (iss.input === undefined ? `${field} is missing` : `${field} must be ${kind}, got ${describeValue(iss.input)}`),
    })
    .refine((v) => !CONTROL.test(v), { error: `${field} contains a control character (a line break, tab or similar)` });
}

function requiredText(field: string, options: { numbersAsText?: boolean } = {}) {
  return z.preprocess(normalize(options.numbersAsText ?? false), text(field, options.numbersAsText ?? false));
}

function optionalText(field: string, options: { numbersAsText?: boolean } = {}) {
  return z.preprocess(normalize(options.numbersAsText ?? false), text(field, options.numbersAsText ?? false).optional());
}

const idField = requiredText("id", { numbersAsText: true });
const userNameField = requiredText("userName");
// Optional on purpose: leavers often have no mailbox any more (it goes at offboarding), and a
// skipped record is protected from deprovisioning, so requiring email would keep a leaver's access.
// An app that needs one rejects the create itself, and that is reported as a failed action.
// A value that is present but not an address is still a fault: something else went wrong there.
const emailField = optionalText("email").refine((v) => v === undefined || EMAIL.test(v), {
  error: (iss) => `email ${describeValue(iss.input)} is not an email address`,
});

const userRecordSchema = z.object(
  {
    id: idField,
    userName: userNameField,
    email: emailField,
    givenName: optionalText("givenName"),
    familyName: optionalText("familyName"),
    displayName: optionalText("displayName"),
    active: z
      .boolean({ error: (iss) => `active must be true or false (in CSV also yes/no/1/0, or empty), got ${describeValue(iss.input)}` })
      .default(true),
    title: optionalText("title"),
    department: optionalText("department"),
    employeeNumber: optionalText("employeeNumber", { numbersAsText: true }),
    manager: optionalText("manager", { numbersAsText: true }),
  },
  { error: (iss) => (iss.code === "invalid_type" ? `is not a user record (an object with id, userName, ...), got ${describeValue(iss.input)}` : undefined) },
);

const memberId = z.preprocess(
  normalize(true),
  z
    .string({ error: (iss) => `members must hold user or group ids, got ${describeValue(iss.input)}` })
    .refine((v) => !CONTROL.test(v), { error: "a member id contains a control character" }),
);

const groupRecordSchema = z.object(
  {
    id: idField,
    displayName: requiredText("displayName"),
    // Required: a group whose member list went missing would put all its members out of scope.
    members: z.array(memberId, {
      error: (iss) => (iss.input === undefined ? "members is missing" : `members must be a list of ids, got ${describeValue(iss.input)}`),
    }),
  },
  { error: (iss) => (iss.code === "invalid_type" ? `is not a group record (an object with id, displayName, members), got ${describeValue(iss.input)}` : undefined) },
);

interface Candidate {
  record: UserRecord;
  /** Identifiers usable on their own, even when the rest of the record is broken. */
  id?: string;
  userName?: string;
  user?: SourceUser;
  reasons: string[];
}

export function toSnapshot(records: DirectoryRecords): SourceSnapshot {
  const problems: SourceProblem[] = [...records.unreadable];
  const protectedIds = new Set<string>();
  const protectedUserNames = new Set<string>();
  let complete = records.unreadable.length === 0;

  const candidates = records.users.map(examineUser);
  rejectDuplicates(candidates, (c) => c.id, (c, other) => `id "${c.id}" is also used by ${other}`);
  rejectDuplicates(
    candidates,
    (c) => c.userName?.toLowerCase(),
    (c, other) => `userName ${describeValue(c.userName)} is also used by ${other} (userNames are compared ignoring case)`,
  );

  const users: SourceUser[] = [];
  const accepted: Candidate[] = [];
  for (const candidate of candidates) {
    if (candidate.reasons.length === 0 && candidate.user) {
      users.push(candidate.user);
      accepted.push(candidate);
      continue;
    }
    problems.push({
      location: candidate.record.location,
      ...(candidate.id !== undefined ? { id: candidate.id } : {}),
      ...(candidate.userName !== undefined ? { userName: candidate.userName } : {}),
      reason: candidate.reasons.join("; "),
    });
    if (candidate.id !== undefined) protectedIds.add(candidate.id);
    if (candidate.userName !== undefined) protectedUserNames.add(candidate.userName.toLowerCase());
    // Nothing identifies the record, so any user missing from the snapshot might be this one.
    if (candidate.id === undefined && candidate.userName === undefined) complete = false;
  }

  const groups = readGroups(records.groups, problems);
  if (groups.broken) complete = false;

  return {
    users,
    groups: [...groups.groups, ...groupsFromNames(accepted)],
    complete,
    problems,
    protectedIds: [...protectedIds],
    protectedUserNames: [...protectedUserNames],
  };
}

function examineUser(record: UserRecord): Candidate {
  const fields = isObject(record.fields) ? record.fields : {};
  const id = idField.safeParse(fields.id);
  const userName = userNameField.safeParse(fields.userName);
  const candidate: Candidate = {
    record,
    ...(id.success ? { id: id.data } : {}),
    ...(userName.success ? { userName: userName.data } : {}),
    reasons: record.defect ? [record.defect] : [],
  };
  const parsed = userRecordSchema.safeParse(record.fields);
  if (!parsed.success) {
    candidate.reasons.push(...parsed.error.issues.map((issue) => issue.message));
    return candidate;
  }
  const user: SourceUser = { id: parsed.data.id, userName: parsed.data.userName, active: parsed.data.active };
  for (const field of USER_FIELDS) {
    const value = parsed.data[field];
    if (field !== "id" && field !== "userName" && field !== "active" && value !== undefined) user[field] = value as string;
  }
  const extra = extraFields(fields);
  if (extra) user.extra = extra;
  candidate.user = user;
  return candidate;
}

/**
 * Every record sharing an identifier is rejected, not just the later ones: the file gives no way
 * to tell which of them is the real person.
 */
function rejectDuplicates(
  candidates: Candidate[],
  keyOf: (c: Candidate) => string | undefined,
  describe: (c: Candidate, others: string) => string,
): void {
  const byKey = new Map<string, Candidate[]>();
  for (const candidate of candidates) {
    const key = keyOf(candidate);
    if (key === undefined) continue;
    byKey.set(key, [...(byKey.get(key) ?? []), candidate]);
  }
  for (const sharing of byKey.values()) {
    if (sharing.length < 2) continue;
    for (const candidate of sharing) {
      const others = sharing.filter((c) => c !== candidate).map((c) => c.record.location);
      candidate.reasons.push(`${describe(candidate, others.join(", "))}; none of them is synced until the directory is fixed`);
    }
  }
}

/** Fields beyond the known ones, kept for configurable mappings. */
function extraFields(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  const extra: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(fields)) {
    if (KNOWN_FIELDS.has(key)) continue;
    const value = normalize(false)(raw);
    if (value !== undefined) extra[key] = value;
  }
  return Object.keys(extra).length > 0 ? extra : undefined;
}

function readGroups(records: GroupRecord[], problems: SourceProblem[]): { groups: SourceGroup[]; broken: boolean } {
  const parsed: { record: GroupRecord; group?: SourceGroup; id?: string; reasons: string[] }[] = records.map((record) => {
    const result = groupRecordSchema.safeParse(record.fields);
    if (!result.success) {
      const id = isObject(record.fields) ? idField.safeParse(record.fields.id) : undefined;
      return { record, ...(id?.success ? { id: id.data } : {}), reasons: result.error.issues.map((i) => i.message) };
    }
    const group = { id: result.data.id, displayName: result.data.displayName, members: [...new Set(result.data.members)] };
    return { record, group, id: group.id, reasons: [] };
  });

  const byId = new Map<string, number>();
  for (const entry of parsed) if (entry.id !== undefined) byId.set(entry.id, (byId.get(entry.id) ?? 0) + 1);

  const groups: SourceGroup[] = [];
  let broken = false;
  for (const entry of parsed) {
    if (entry.id !== undefined && (byId.get(entry.id) ?? 0) > 1) entry.reasons.push(`group id "${entry.id}" is used by more than one group`);
    if (entry.reasons.length === 0 && entry.group) {
      groups.push(entry.group);
      continue;
    }
    // Scope by group would misjudge this group's members, so absence proves nothing any more.
    broken = true;
    problems.push({
      location: entry.record.location,
      ...(entry.id !== undefined ? { id: entry.id } : {}),
      reason: `group skipped: ${entry.reasons.join("; ")}`,
    });
  }
  return { groups, broken };
}

/**
 * CSV groups are named in each user's row. Spellings that differ only in case are one group,
 * under the first spelling seen: a hand-edited sheet rarely means two groups by them.
 */
function groupsFromNames(accepted: Candidate[]): SourceGroup[] {
  const byName = new Map<string, SourceGroup>();
  for (const { record, user } of accepted) {
    if (!user) continue;
    for (const name of record.groupNames ?? []) {
      const key = name.toLowerCase();
      const group = byName.get(key) ?? { id: name, displayName: name, members: [] };
      byName.set(key, group);
      if (!group.members.includes(user.id)) group.members.push(user.id);
    }
  }
  return [...byName.values()];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
