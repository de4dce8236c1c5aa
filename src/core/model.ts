/**
 * The domain model shared by the planner and every adapter. Adapters translate their own
 * shapes (a JSON file, the Admin SDK, Graph, SCIM resources) into these types; the planner
 * only ever sees these.
 */

/** Why a managed user is on its way out of the target. Keys of `deprovision` in the config. */
export type DeprovisionReason = "outOfScope" | "suspended" | "deleted";
export const DEPROVISION_REASONS: readonly DeprovisionReason[] = ["outOfScope", "suspended", "deleted"];

/** A person as the directory describes them, before scope and mapping. */
export interface SourceUser {
  /** Stable directory id; becomes the SCIM externalId. */
  id: string;
  userName: string;
  email?: string;
  givenName?: string;
  familyName?: string;
  displayName?: string;
  /** false = suspended / disabled in the directory. */
  active: boolean;
  title?: string;
  department?: string;
  employeeNumber?: string;
  /** Source id of the manager. */
  manager?: string;
  /** BCP 47 / RFC 7231 language tag, e.g. en-US. */
  preferredLanguage?: string;
  /** SCIM's own shapes (RFC 7643 §4.1.2), so mappings read them with the same paths. */
  addresses?: SourceAddress[];
  phoneNumbers?: SourceTypedValue[];
  roles?: string[];
  /** Extra source attributes, kept for configurable mappings. */
  extra?: Record<string, unknown>;
}

/**
 * SourceUser's attributes, in the model's order: the keys a directory file's user record may
 * carry, and the names a mapping expression may read (anything else is `extra`).
 */
export const SOURCE_USER_ATTRIBUTES = [
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
  "preferredLanguage",
  "addresses",
  "phoneNumbers",
  "roles",
] as const satisfies readonly Exclude<keyof SourceUser, "extra">[];

export interface SourceAddress {
  type?: string;
  formatted?: string;
  streetAddress?: string;
  locality?: string;
  region?: string;
  postalCode?: string;
  country?: string;
  primary?: boolean;
}

export interface SourceTypedValue {
  type?: string;
  value: string;
  primary?: boolean;
}

export interface SourceGroup {
  id: string;
  displayName: string;
  /** Source ids of member users or member groups. */
  members: string[];
  email?: string;
  description?: string;
  /** Extra source attributes, kept for configurable mappings. */
  extra?: Record<string, unknown>;
  /**
   * false when the source did not read this group's members because neither the scope nor
   * `provisionGroups` needs them (Google reads only what it must); `members` is then empty and
   * means nothing. Absent: the members were read.
   */
  membersRead?: false;
}

/** A record the source could not use. It is reported, skipped, and never deprovisioned because of it. */
export interface SourceProblem {
  /** Where the record sits, for the administrator: `users[12]`, `line 14`. */
  location: string;
  id?: string;
  userName?: string;
  reason: string;
}

/** Everything one read of the directory produced. */
export interface SourceSnapshot {
  users: SourceUser[];
  groups: SourceGroup[];
  /**
   * false when the read may have missed users (a page failed, a record could not be identified).
   * The planner then plans no deprovisioning at all: absence proves nothing.
   */
  complete: boolean;
  problems: SourceProblem[];
  /** Source ids of skipped records: such users keep whatever they have on the target. */
  protectedIds: string[];
  /** Lower-cased userNames of skipped records, for records that had a userName but no usable id. */
  protectedUserNames: string[];
  /**
   * The source's own scope (Google: scope.orgUnits, scope.query, source.domain): the ids of the
   * users it admits. Users outside it are out of scope, not gone. Absent: the source has no
   * scope of its own. `scope.groups` applies on top (AND), as in Google's autoprovisioning.
   */
  inScopeIds?: string[];
  /** What the administrator should know about the read (external members, archived users). */
  warnings?: string[];
  /**
   * When the directory says users were deleted (source id -> ISO time), for users it still
   * reports as recently deleted (Google's showDeleted). A deprovisioning timer for `deleted`
   * starts then, not when scimsync first noticed, as Google's own delays count.
   */
  deletedAt?: Record<string, string>;
}

/**
 * A flattened SCIM attribute value as we manage it. `null` means "absent". A list is a
 * multi-valued attribute such as `roles`, compared as a set and written as `[{value}]`.
 */
export type AttributeValue = string | boolean | string[] | null;

/** SCIM path -> value, e.g. `name.givenName`, `emails[type eq "work"].value`. */
export type AttributeMap = Record<string, AttributeValue>;

/** Where a desired user stands with respect to the sync. */
export type DesiredStatus = "active" | "suspended" | "outOfScope";

/** A source user after scope and mapping: what the target should hold. */
export interface DesiredUser {
  sourceId: string;
  userName: string;
  status: DesiredStatus;
  /** Mapped attributes, without `active` (the planner owns `active`). */
  attributes: AttributeMap;
  /**
   * Attributes whose value is another user's target id (the enterprise `manager`): SCIM path ->
   * that user's source id. The planner resolves them once it knows who exists on the target.
   */
  references?: Record<string, string>;
}

/** A source group after `provisionGroups` and mapping: what the target should hold. */
export interface DesiredGroup {
  sourceId: string;
  displayName: string;
  /** Mapped attributes (displayName, externalId, ...), without members. */
  attributes: AttributeMap;
  /** Source ids of the users that should be members: transitive, active, in scope. */
  memberIds: string[];
}

/** A SCIM Group resource as the target returned it. */
export interface TargetGroup {
  id: string;
  displayName: string;
  externalId?: string;
  /** Member target ids; undefined when the resource carried no `members` (listed without them, or a target that never returns them). */
  members?: string[];
  resource: Record<string, unknown>;
}

/** A SCIM User resource as the target returned it (unknown shape beyond these keys). */
export interface TargetUser {
  id: string;
  userName: string;
  externalId?: string;
  active: boolean;
  /** The whole resource, for reading mapped attributes. */
  resource: Record<string, unknown>;
}

export interface StateUser {
  targetId: string;
  /**
   * The userName last seen on the target or successfully written to it: never a rename that is
   * only planned. It identifies the account when the target keeps no externalId.
   */
  userName: string;
  origin: "created" | "adopted";
  /** ISO time we created or adopted it. */
  since: string;
  /** ISO time we set active=false; present only while our suspension stands. */
  suspendedAt?: string;
  /** ISO time each condition was first seen, present only while the condition holds. */
  conditions: Partial<Record<DeprovisionReason, string>>;
}

export interface StateGroup {
  targetId: string;
  /** The displayName last seen on the target or successfully written to it. */
  displayName: string;
  origin: "created" | "adopted";
  since: string;
  /**
   * Target ids of the managed users we know to be members: what we last read or wrote. It is
   * the truth for targets that never return members, and saves a read when nothing changed.
   */
  members: string[];
  /** ISO time the group was first seen gone from the directory or from `provisionGroups`; present only while so. */
  removedSince?: string;
}

/** The in-memory state: everything the planner needs from the state file. */
export interface SyncState {
  /** Base URL of the target this state belongs to (never the token). */
  targetUrl: string;
  /** Managed users keyed by source id. */
  users: Record<string, StateUser>;
  /** Managed groups keyed by source id. */
  groups: Record<string, StateGroup>;
  /**
   * Learned about the target: true, it accepts members but never returns them, so the state is
   * trusted for membership; false, it has been seen returning members; absent, not known yet.
   */
  groupMembersHidden?: boolean;
  /**
   * Objects whose actions failed in the runs before, keyed `User:<sourceId>` or
   * `Group:<sourceId>` (see escrow.ts): retried with a growing pause. Absent: none failing.
   */
  failures?: Record<string, FailureRecord>;
}

/**
 * The consecutive failed runs of one user's or group's actions: identifiers, times and the
 * error as the report showed it, never attribute values.
 */
export interface FailureRecord {
  /** The userName or the group's displayName when it last failed, for people reading status. */
  name: string;
  /** The action that failed last (the first failed one of that run, in apply order). */
  op: ActionOp;
  /** Runs in a row in which an action of this object failed. */
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  lastError: string;
  /** ISO time before which the object's actions wait (are held), unless a sync runs with --retry-now. */
  nextAttemptAt: string;
}

/** A delay in milliseconds, or never. `0` is the config's `now`. */
export type Delay = number | "never";

export interface DeprovisionRule {
  suspend: Delay;
  delete: Delay;
}

export type DeprovisionPolicy = Record<DeprovisionReason, DeprovisionRule>;

/** Groups are never suspended: only deleted, this long after they leave the directory or `provisionGroups`. */
export interface GroupDeprovisionRule {
  delete: Delay;
}

/** Which source groups are pushed to the target. */
export type ProvisionGroups = "all" | "scoped" | "none";

export interface SafetyLimits {
  maxDeprovisions: number;
  maxDeprovisionPercent: number;
}

export type ActionOp = "create" | "update" | "suspend" | "unsuspend" | "delete" | "add-members" | "remove-members";

export type ResourceType = "User" | "Group";

/** A member of an add-members / remove-members action. */
export interface MemberRef {
  /** The user's source id (absent for a target id no managed user holds any more). */
  sourceId?: string;
  /** Known when the user exists; for a user created in the same run, resolved at apply time. */
  targetId?: string;
  userName: string;
}

export interface AttributeChange {
  from: AttributeValue;
  to: AttributeValue;
}

export interface PlannedAction {
  op: ActionOp;
  type: ResourceType;
  /** userName or the group's displayName, the key administrators recognise. */
  key: string;
  sourceId: string;
  /** Present for every op but create. */
  targetId?: string;
  /** For create: every mapped attribute (from null). For update/unsuspend/suspend: what changes. */
  changes: Record<string, AttributeChange>;
  /** For suspend/delete: which condition made it due. */
  reason?: DeprovisionReason;
  /** For create: the full desired attribute map. */
  attributes?: AttributeMap;
  /**
   * Attributes that point at a user created in this run (path -> that user's source id):
   * the engine fills in the target id once it exists, so this action runs after that create.
   */
  pendingReferences?: Record<string, string>;
  /** add-members / remove-members: who. */
  members?: MemberRef[];
}

export interface ScheduledAction {
  op: "suspend" | "delete";
  type: ResourceType;
  key: string;
  sourceId: string;
  reason: DeprovisionReason;
  /** ISO time at or after which the action is due. */
  due: string;
}

/** An existing account or group on the target that scimsync takes over instead of creating one. */
export interface Adoption {
  type: ResourceType;
  key: string;
  sourceId: string;
  targetId: string;
  /** The externalId another tool had set on the account, which the adoption replaces. */
  previousExternalId?: string;
}

export interface SafetyVerdict {
  /** Deprovisioning actions (user suspends and deletes, group deletes) that this plan would apply. */
  deprovisions: number;
  managed: number;
  /** A safety limit holds back every suspend and delete of this run (--allow-mass-deprovision overrides). */
  blocked: boolean;
  /**
   * The group limit holds back this run's group deletions only: a few managed groups make one
   * deletion a large share, and that must not keep leavers' accounts active.
   */
  groupDeletesBlocked?: boolean;
  /** Why it was blocked, in words an administrator can act on. */
  reason?: string;
  /**
   * Set when no deprovisioning could even be planned because the directory, the scope or the
   * target could not be read completely. Not overridable: the input must be fixed.
   */
  failClosed?: string;
}

/** A user or group for whom nothing is done until an administrator looks: the reason says why. */
export interface Hold {
  type: ResourceType;
  key: string;
  sourceId: string;
  reason: string;
  /** Set when the hold is escrow: the object failed before and waits for its next attempt. */
  escrow?: EscrowHold;
}

/** What a held object is waiting for: its failure record, as the plan found it. */
export type EscrowHold = Omit<FailureRecord, "name">;

export interface Plan {
  /** ISO time the plan was made for. */
  now: string;
  /**
   * Ordered as applied: user unsuspend and update, user create, group create and update,
   * membership changes, user suspend and delete, group delete.
   */
  actions: PlannedAction[];
  scheduled: ScheduledAction[];
  adopted: Adoption[];
  held: Hold[];
  safety: SafetyVerdict;
  /** Notes for the administrator (fail-closed, skipped records, unmanaged conflicts). */
  warnings: string[];
  /**
   * The state as it stands once the plan is made, before any action runs: condition timers
   * started or cleared, adoptions recorded, records of users gone from the target dropped.
   * Applying actions then updates it further.
   */
  state: SyncState;
}
