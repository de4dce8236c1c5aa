/**
 * Turns the records of a directory file (JSON or CSV, already split into fields) into a
 * SourceSnapshot. A record that cannot be trusted is reported and skipped, and whatever
 * identifies it is protected so that the planner never deprovisions a user because of it.
 */
import { z } from "zod";
import { quickUserRecord } from "./quick-user-record.js";
import { SOURCE_USER_ATTRIBUTES, type SourceAddress, type SourceGroup, type SourceProblem, type SourceSnapshot, type SourceTypedValue, type SourceUser } from "../core/model.js";

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
  /**
   * CSV only: the column each list entry came from, by its place in the record
   * (`addresses[0].postalCode` -> `postalCode`), so that a fault names what the administrator wrote.
   */
  columns?: Record<string, string>;
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

/** A JSON user record's keys are the source model's attributes; any other key is kept in `extra`. */
const KNOWN_USER_FIELDS: ReadonlySet<string> = new Set(SOURCE_USER_ATTRIBUTES);

/** Generous on purpose: directories hold internationalised addresses, and the target has the last word. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_LINE_BREAK = /(?![\r\n])\p{Cc}/u;
/**
 * Far above what apps accept in one attribute (often 256 to 1024 characters) and what directories
 * allow (a Google group description: 4096). A longer value is a cell that swallowed its
 * neighbours, or worse; sent on, it would fail the user's every write (or be stored) each run.
 */
export const MAX_TEXT_LENGTH = 4096;

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

interface TextOptions {
  numbersAsText?: boolean;
  /** For values SCIM says may span lines (a street address, a description). */
  multiline?: boolean;
}

/** Without a field name the messages have no subject: see describeIssue. */
function text(field: string | undefined, options: TextOptions) {
  const subject = field === undefined ? "" : `${field} `;
  const kind = options.numbersAsText ? "text or a number" : "text";
  return z
    .string({
      error: (iss) => (iss.input === undefined ? `${subject}is missing` : `${subject}must be ${kind}, got ${describeValue(iss.input)}`),
    })
    .refine((v) => !(options.multiline ? CONTROL_BUT_LINE_BREAK : CONTROL).test(v), {
      error: options.multiline
        ? `${subject}contains a control character other than a line break (a tab or similar)`
        : `${subject}contains a control character (a line break, tab or similar)`,
    })
    .refine((v) => v.length <= MAX_TEXT_LENGTH, {
      error: (iss) =>
        `${subject}is ${String(iss.input).length} characters long; at most ${MAX_TEXT_LENGTH} are accepted (a value this long is most likely an export gone wrong)`,
    });
}

function requiredText(field: string, options: TextOptions = {}) {
  return z.preprocess(normalize(options.numbersAsText ?? false), text(field, options));
}

function optionalText(field: string | undefined, options: TextOptions = {}) {
  return z.preprocess(normalize(options.numbersAsText ?? false), text(field, options).optional());
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

/** A yes/no inside a list entry; like entry text, its messages have no subject. */
const entryFlag = z.preprocess(
  normalize(false),
  z.boolean({ error: (iss) => `must be true or false, got ${describeValue(iss.input)}` }).optional(),
);

/**
 * A list entry (an address, a phone number). Strict, unlike the record itself: a misspelt key
 * would otherwise lose a value without a word, and an entry has no `extra` to keep it in.
 */
function entryObject<Shape extends z.ZodRawShape>(what: string, shape: Shape) {
  const accepted = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === "unrecognized_keys") {
        const keys = iss.keys.map((k) => JSON.stringify(k)).join(", ");
        return `has ${iss.keys.length === 1 ? "an unknown key" : "unknown keys"} ${keys}; ${what} accepts ${accepted}`;
      }
      return iss.code === "invalid_type" ? `must be ${what} (an object with ${accepted}), got ${describeValue(iss.input)}` : undefined;
    },
  });
}

const addressSchema = entryObject("an address", {
  type: optionalText(undefined),
  formatted: optionalText(undefined, { multiline: true }),
  streetAddress: optionalText(undefined, { multiline: true }),
  locality: optionalText(undefined),
  region: optionalText(undefined),
  postalCode: optionalText(undefined),
  country: optionalText(undefined),
  primary: entryFlag,
} satisfies Record<keyof SourceAddress, z.ZodType>);

const phoneNumberSchema = entryObject("a phone number", {
  type: optionalText(undefined),
  value: optionalText(undefined),
  primary: entryFlag,
} satisfies Record<keyof SourceTypedValue, z.ZodType>);

interface TypedEntry {
  type?: string | undefined;
  primary?: boolean | undefined;
}

/**
 * Drops entries that hold nothing but a type (an empty value means "not given"), then rejects
 * what a mapping could not tell apart: two entries of one type, compared ignoring case as SCIM
 * filters compare them (`addresses[type eq "work"].locality` would be ambiguous), or two marked
 * primary (RFC 7643 allows one).
 */
function keepTypedEntries<Entry extends TypedEntry>(
  field: string,
  entries: Entry[] | undefined,
  ctx: z.RefinementCtx,
  example: string,
): Entry[] | undefined {
  const kept = (entries ?? [])
    .map((entry, index) => ({ entry, index }))
    .filter(({ entry }) => Object.entries(entry).some(([key, value]) => key !== "type" && key !== "primary" && value !== undefined));
  const firstOfType = new Map<string, number>();
  let firstPrimary: number | undefined;
  for (const { entry, index } of kept) {
    if (entry.type !== undefined) {
      const first = firstOfType.get(entry.type.toLowerCase());
      if (first === undefined) firstOfType.set(entry.type.toLowerCase(), index);
      else {
        ctx.addIssue({
          code: "custom",
          path: [index],
          input: entry,
          message: `has type ${describeValue(entry.type)} like ${field}[${first}] (types are compared ignoring case); a mapping such as ${field}[type eq ${JSON.stringify(entry.type)}]${example} could not tell them apart`,
        });
      }
    }
    if (entry.primary === true) {
      if (firstPrimary === undefined) firstPrimary = index;
      else ctx.addIssue({ code: "custom", path: [index], input: entry, message: `is marked primary like ${field}[${firstPrimary}]; only one may be` });
    }
  }
  return kept.length > 0 ? kept.map(({ entry }) => entry) : undefined;
}

const addressesField = z
  .preprocess(
    normalize(false),
    z.array(addressSchema, { error: (iss) => `addresses must be a list of addresses, got ${describeValue(iss.input)}` }).optional(),
  )
  .transform((entries, ctx) => keepTypedEntries("addresses", entries, ctx, ".locality"));

const phoneNumbersField = z
  .preprocess(
    normalize(false),
    z.array(phoneNumberSchema, { error: (iss) => `phoneNumbers must be a list of phone numbers, got ${describeValue(iss.input)}` }).optional(),
  )
  .transform((entries, ctx) => keepTypedEntries("phoneNumbers", entries, ctx, ".value"));

const roleEntry = z.preprocess(
  (value) => (typeof value === "string" ? value.trim() : value),
  text(undefined, {}),
);

/**
 * Blank roles are dropped, and so are repeats that differ only in case (the first spelling
 * stays): SCIM compares role values ignoring case (RFC 7643 section 8.7.1), so a target may keep
 * only one of them and the pair would show as a difference on every run.
 */
const rolesField = z
  .preprocess(normalize(false), z.array(roleEntry, { error: (iss) => `roles must be a list of text, got ${describeValue(iss.input)}` }).optional())
  .transform((roles) => {
    const byKey = new Map<string, string>();
    for (const role of roles ?? []) if (role !== "" && !byKey.has(role.toLowerCase())) byKey.set(role.toLowerCase(), role);
    return byKey.size > 0 ? [...byKey.values()] : undefined;
  });

/** Lists whose entries report faults without a subject; describeIssue names the entry. */
const LIST_FIELDS: ReadonlySet<string> = new Set(["addresses", "phoneNumbers", "roles"]);

function describeIssue(issue: z.core.$ZodIssue, columns: Record<string, string> | undefined): string {
  const [field, ...inside] = issue.path;
  if (typeof field !== "string" || !LIST_FIELDS.has(field) || inside.length === 0) return issue.message;
  const place = field + inside.map((step) => (typeof step === "number" ? `[${step}]` : `.${String(step)}`)).join("");
  return `${columns?.[place] ?? place} ${issue.message}`;
}

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
    preferredLanguage: optionalText("preferredLanguage"),
    addresses: addressesField,
    phoneNumbers: phoneNumbersField,
    roles: rolesField,
  } satisfies Record<(typeof SOURCE_USER_ATTRIBUTES)[number], z.ZodType>,
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
    email: emailField,
    // Multi-line on purpose: directories let administrators write descriptions in paragraphs.
    description: optionalText("description", { multiline: true }),
  },
  { error: (iss) => (iss.code === "invalid_type" ? `is not a group record (an object with id, displayName, members), got ${describeValue(iss.input)}` : undefined) },
);

const KNOWN_GROUP_FIELDS: ReadonlySet<string> = new Set(Object.keys(groupRecordSchema.shape));

export interface Candidate {
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

  const candidates = records.users.map((record) => examineUser(record));
  rejectDuplicates(candidates, (c) => c.id, (c, other) => `id "${c.id}" is also used by ${other}`);
  rejectDuplicates(
    candidates,
    (c) => c.userName?.toLowerCase(),
    (c, other) => `userName ${describeValue(c.userName)} is also used by ${other} (userNames are compared ignoring case)`,
  );

  const users: SourceUser[] = [];
  for (const candidate of candidates) {
    if (candidate.reasons.length === 0 && candidate.user) {
      users.push(candidate.user);
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
    groups: [...groups.groups, ...groupsFromNames(candidates)],
    complete,
    problems,
    protectedIds: [...protectedIds],
    protectedUserNames: [...protectedUserNames],
  };
}

const QUICK_RULES = { known: KNOWN_USER_FIELDS, maxLength: MAX_TEXT_LENGTH, email: EMAIL, control: CONTROL, controlButLineBreak: CONTROL_BUT_LINE_BREAK };

/** `quick: false` (tests) always takes the schema's path. */
export function examineUser(record: UserRecord, options: { quick?: boolean } = {}): Candidate {
  const fields = isObject(record.fields) ? record.fields : {};
  if (options.quick !== false && record.defect === undefined && isObject(record.fields)) {
    const user = quickUserRecord(fields, QUICK_RULES);
    if (user) {
      const extra = extraFields(fields, KNOWN_USER_FIELDS);
      if (extra) user.extra = extra;
      return { record, id: user.id, userName: user.userName, reasons: [], user };
    }
  }
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
    candidate.reasons.push(...parsed.error.issues.map((issue) => describeIssue(issue, record.columns)));
    return candidate;
  }
  const { id: userId, userName: name, active, addresses, phoneNumbers, roles, ...texts } = parsed.data;
  const user: SourceUser = { id: userId, userName: name, active, ...withoutUndefined(texts) };
  if (addresses) user.addresses = addresses.map((a): SourceAddress => withoutUndefined(a));
  if (phoneNumbers) {
    // keepTypedEntries has already dropped the entries without a value; this tells the compiler.
    user.phoneNumbers = phoneNumbers.flatMap(({ value, ...rest }): SourceTypedValue[] => (value === undefined ? [] : [{ ...withoutUndefined(rest), value }]));
  }
  if (roles) user.roles = roles;
  const extra = extraFields(fields, KNOWN_USER_FIELDS);
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
function extraFields(fields: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> | undefined {
  const extra: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(fields)) {
    if (known.has(key)) continue;
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
    const { id, displayName, members, ...texts } = result.data;
    const group: SourceGroup = { id, displayName, members: [...new Set(members)], ...withoutUndefined(texts) };
    const extra = extraFields(record.fields as Record<string, unknown>, KNOWN_GROUP_FIELDS);
    if (extra) group.extra = extra;
    return { record, group, id, reasons: [] };
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
 * CSV groups are named in each user's row. Spellings that differ only in case are one group: a
 * hand-edited sheet rarely means two groups by them. The displayName is the first spelling seen,
 * but the id is the name lower-cased, because the id is what the state and the app's externalId
 * remember the group by: were it the first spelling, reordering rows could change it, and the
 * app's group would be deleted and created again.
 *
 * Skipped rows count too (their users are protected, and the planner leaves their memberships
 * alone): otherwise a group whose only member's row has a fault would vanish from the directory
 * and be deleted from the app. A row whose field count differs from the header's is the
 * exception: its cells may belong to other columns, so its groups cell names no group we trust.
 */
function groupsFromNames(candidates: Candidate[]): SourceGroup[] {
  const byName = new Map<string, SourceGroup>();
  for (const { record, id } of candidates) {
    if (record.defect !== undefined) continue;
    for (const name of record.groupNames ?? []) {
      const key = name.toLowerCase();
      const group = byName.get(key) ?? { id: key, displayName: name, members: [] };
      byName.set(key, group);
      if (id !== undefined && !group.members.includes(id)) group.members.push(id);
    }
  }
  return [...byName.values()];
}

/** Optional values that were not given leave no key behind, so snapshots compare and print cleanly. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
