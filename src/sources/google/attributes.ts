/**
 * What a mapping may read from a Google Workspace user, and which fields of the Directory API's
 * User resource each source attribute needs. The second half keeps the `fields` mask of
 * users.list down to what the mapping reads: a full User with custom schemas is several
 * kilobytes, and 500 of them make a page.
 */
import { fieldsNeeded, type ModelAttribute } from "../record-values.js";

/**
 * Google fields behind each attribute of the source model. Empty: Google has nothing for it
 * (a mapping reading it gets nothing, which config loading reports).
 */
export const GOOGLE_FIELDS_OF: Readonly<Record<ModelAttribute, readonly string[]>> = {
  id: ["id"],
  userName: ["primaryEmail"],
  email: ["primaryEmail"],
  givenName: ["name"],
  familyName: ["name"],
  displayName: ["name"],
  active: ["suspended", "archived"],
  title: ["organizations"],
  department: ["organizations"],
  employeeNumber: ["externalIds"],
  // The manager is named by email (or an alias): resolving it needs every user's addresses.
  manager: ["relations", "primaryEmail", "aliases"],
  preferredLanguage: ["languages"],
  addresses: ["addresses"],
  phoneNumbers: ["phones"],
  roles: [],
};

/** `extra.<name>` for a Google user: the Directory fields the model has no attribute for. */
export const GOOGLE_EXTRA_FIELDS_OF: Readonly<Record<string, readonly string[]>> = {
  orgUnitPath: ["orgUnitPath"],
  costCenter: ["organizations"],
  /** "Employee type" in the Admin console; organizations[].description in the API. */
  employeeType: ["organizations"],
  /** The primary organization's location (a building or desk, as the admin typed it). */
  location: ["organizations"],
  /** The primary organization's name. */
  organization: ["organizations"],
  isAdmin: ["isAdmin"],
  aliases: ["aliases"],
  recoveryEmail: ["recoveryEmail"],
  /** extra.customSchemas.<schema>.<field>: custom attributes (projection=full brings them). */
  customSchemas: ["customSchemas"],
};

export const GOOGLE_EXTRA_NAMES = Object.keys(GOOGLE_EXTRA_FIELDS_OF);

/** Source model attributes a Google user never has. */
export const GOOGLE_MISSING_ATTRIBUTES: readonly ModelAttribute[] = (Object.keys(GOOGLE_FIELDS_OF) as ModelAttribute[]).filter(
  (name) => GOOGLE_FIELDS_OF[name].length === 0,
);

/** Always read: identity, state and what scope needs. */
const ALWAYS = ["id", "primaryEmail", "suspended", "archived"];

/**
 * The User fields the given references (normalised, as Expression.references lists them:
 * `givenName`, `extra.customSchemas.HR.costCenter`, `addresses[type eq "work"].locality`)
 * need, plus what the source itself always reads.
 */
export function googleUserFields(references: Iterable<string>, options: { orgUnitPath?: boolean } = {}): string[] {
  return fieldsNeeded(references, { model: GOOGLE_FIELDS_OF, extra: GOOGLE_EXTRA_FIELDS_OF }, options.orgUnitPath ? [...ALWAYS, "orgUnitPath"] : ALWAYS);
}
