/**
 * What a mapping may read from a Microsoft Entra ID user, and which Graph user properties each
 * source attribute needs: the `$select` of /users and /users/delta. Graph returns only a small
 * default set without `$select`, and a delta query tracks only the properties selected.
 */
import { fieldsNeeded, type ModelAttribute } from "../record-values.js";

/** Graph properties behind each attribute of the source model; empty: Entra has nothing for it. */
export const GRAPH_FIELDS_OF: Readonly<Record<ModelAttribute, readonly string[]>> = {
  id: ["id"],
  userName: ["userPrincipalName"],
  email: ["mail"],
  givenName: ["givenName"],
  familyName: ["surname"],
  displayName: ["displayName"],
  active: ["accountEnabled"],
  title: ["jobTitle"],
  department: ["department"],
  employeeNumber: ["employeeId"],
  // Read with $expand=manager($select=id) on full reads, and as manager@delta in delta queries.
  manager: ["manager"],
  preferredLanguage: ["preferredLanguage"],
  addresses: ["streetAddress", "city", "state", "postalCode", "country"],
  phoneNumbers: ["businessPhones", "mobilePhone", "faxNumber"],
  roles: [],
};

/** `extra.<name>` for an Entra user: Graph properties the model has no attribute for. */
export const GRAPH_EXTRA_FIELDS_OF: Readonly<Record<string, readonly string[]>> = {
  officeLocation: ["officeLocation"],
  companyName: ["companyName"],
  employeeType: ["employeeType"],
  employeeHireDate: ["employeeHireDate"],
  /** employeeOrgData.costCenter */
  costCenter: ["employeeOrgData"],
  /** employeeOrgData.division */
  division: ["employeeOrgData"],
  userType: ["userType"],
  usageLocation: ["usageLocation"],
  mailNickname: ["mailNickname"],
  faxNumber: ["faxNumber"],
  onPremisesSamAccountName: ["onPremisesSamAccountName"],
  onPremisesImmutableId: ["onPremisesImmutableId"],
  onPremisesDistinguishedName: ["onPremisesDistinguishedName"],
};

export const GRAPH_EXTRA_NAMES = Object.keys(GRAPH_EXTRA_FIELDS_OF);

/** Source model attributes an Entra user never has. */
export const GRAPH_MISSING_ATTRIBUTES: readonly ModelAttribute[] = (Object.keys(GRAPH_FIELDS_OF) as ModelAttribute[]).filter(
  (name) => GRAPH_FIELDS_OF[name].length === 0,
);

/** Always read: identity and state. */
const ALWAYS = ["id", "userPrincipalName", "accountEnabled"];

/**
 * The user properties the given references (normalised, as Expression.references lists them)
 * need, plus what the source always reads. `manager` is in the list when a mapping reads it;
 * the reader turns it into an $expand or a delta selection.
 */
export function graphUserFields(references: Iterable<string>): string[] {
  return fieldsNeeded(references, { model: GRAPH_FIELDS_OF, extra: GRAPH_EXTRA_FIELDS_OF }, ALWAYS);
}
