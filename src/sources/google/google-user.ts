/**
 * A Directory API User resource, checked (it is untrusted input) and turned into the source
 * model. Google's shapes: https://developers.google.com/admin-sdk/directory/reference/rest/v1/users
 * Only the fields read are checked; Google adds fields over time and they are ignored.
 */
import { z } from "zod";
import type { SourceAddress, SourceTypedValue, SourceUser } from "../../core/model.js";
import { describeRecordIssue, nonEmpty } from "../record-values.js";

const text = z.string();
const typed = z.looseObject({ type: text.optional(), customType: text.optional() });

const organization = z.looseObject({
  title: text.optional(),
  department: text.optional(),
  costCenter: text.optional(),
  description: text.optional(),
  location: text.optional(),
  name: text.optional(),
  primary: z.boolean().optional(),
});
const phone = typed.extend({ value: text.optional(), primary: z.boolean().optional() });
const address = typed.extend({
  formatted: text.optional(),
  streetAddress: text.optional(),
  locality: text.optional(),
  region: text.optional(),
  postalCode: text.optional(),
  country: text.optional(),
  countryCode: text.optional(),
  primary: z.boolean().optional(),
});
const typedValue = typed.extend({ value: text.optional() });
const language = z.looseObject({ languageCode: text.optional(), customLanguage: text.optional(), preference: text.optional() });

export const googleUserSchema = z.looseObject({
  id: text.min(1),
  primaryEmail: text.min(1),
  name: z.looseObject({ givenName: text.optional(), familyName: text.optional(), fullName: text.optional(), displayName: text.optional() }).optional(),
  suspended: z.boolean().optional(),
  archived: z.boolean().optional(),
  isAdmin: z.boolean().optional(),
  orgUnitPath: text.optional(),
  organizations: z.array(organization).optional(),
  phones: z.array(phone).optional(),
  addresses: z.array(address).optional(),
  externalIds: z.array(typedValue).optional(),
  relations: z.array(typedValue).optional(),
  languages: z.array(language).optional(),
  aliases: z.array(text).optional(),
  recoveryEmail: text.optional(),
  customSchemas: z.record(text, z.record(text, z.unknown())).optional(),
  deletionTime: text.optional(),
});

export type GoogleUser = z.output<typeof googleUserSchema>;

/** What a record that failed the check is reported as, without dumping the record. */
export function describeUserIssue(error: z.ZodError): string {
  return describeRecordIssue(error, ["id", "primaryEmail"]);
}

/** The primary entry of a list, else the first: Google marks at most one `primary`. */
function primaryOf<T extends { primary?: boolean | undefined }>(list: T[] | undefined): T | undefined {
  return list?.find((item) => item.primary === true) ?? list?.[0];
}


/** Google's phone types onto SCIM's canonical ones (RFC 7643 §4.1.2: work, home, mobile, fax, pager, other). */
const PHONE_TYPES: Record<string, string> = {
  work: "work",
  home: "home",
  mobile: "mobile",
  work_mobile: "mobile",
  fax: "fax",
  work_fax: "fax",
  home_fax: "fax",
  other_fax: "fax",
  pager: "pager",
  work_pager: "pager",
};

/** Options of the conversion that come from the config. */
export interface UserConversion {
  archived: "ignore" | "treat-as-suspended";
  /** Lower-cased primary email or alias -> user id, for managers (Google names them by email). */
  idByEmail: Map<string, string>;
}

/**
 * The source model of one user. `manager` is the manager's Google id when their address is a
 * user of this directory, else the address as Google has it (the planner then leaves the app's
 * manager alone and says so).
 */
export function toSourceUser(user: GoogleUser, conversion: UserConversion): SourceUser {
  const org = primaryOf(user.organizations);
  const out: SourceUser = {
    id: user.id,
    userName: user.primaryEmail,
    email: user.primaryEmail,
    active: !(user.suspended === true || (user.archived === true && conversion.archived === "treat-as-suspended")),
  };
  const set = <K extends keyof SourceUser>(key: K, value: SourceUser[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  set("givenName", nonEmpty(user.name?.givenName));
  set("familyName", nonEmpty(user.name?.familyName));
  set("displayName", nonEmpty(user.name?.displayName) ?? nonEmpty(user.name?.fullName));
  set("title", nonEmpty(org?.title));
  set("department", nonEmpty(org?.department));
  // "Employee ID" in the Admin console is the externalId of type organization.
  set("employeeNumber", nonEmpty(user.externalIds?.find((e) => e.type === "organization")?.value));
  const managerAddress = nonEmpty(user.relations?.find((r) => r.type === "manager")?.value);
  if (managerAddress) set("manager", conversion.idByEmail.get(managerAddress.toLowerCase()) ?? managerAddress);
  const languages = user.languages?.filter((l) => nonEmpty(l.languageCode) !== undefined);
  set("preferredLanguage", (languages?.find((l) => l.preference === "preferred") ?? languages?.[0])?.languageCode);
  const addresses = user.addresses?.map(toAddress).filter((a): a is SourceAddress => a !== undefined);
  if (addresses && addresses.length > 0) out.addresses = addresses;
  const phones = user.phones?.map(toPhone).filter((p): p is SourceTypedValue => p !== undefined);
  if (phones && phones.length > 0) out.phoneNumbers = phones;

  const extra: Record<string, unknown> = {};
  const put = (key: string, value: unknown): void => {
    if (value !== undefined) extra[key] = value;
  };
  put("orgUnitPath", nonEmpty(user.orgUnitPath));
  put("costCenter", nonEmpty(org?.costCenter));
  put("employeeType", nonEmpty(org?.description));
  put("location", nonEmpty(org?.location));
  put("organization", nonEmpty(org?.name));
  put("isAdmin", user.isAdmin);
  put("aliases", user.aliases && user.aliases.length > 0 ? user.aliases.join(",") : undefined);
  put("recoveryEmail", nonEmpty(user.recoveryEmail));
  put("customSchemas", user.customSchemas);
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}

function toAddress(address: NonNullable<GoogleUser["addresses"]>[number]): SourceAddress | undefined {
  const out: SourceAddress = {};
  const type = address.type === "custom" ? nonEmpty(address.customType) : nonEmpty(address.type);
  if (type) out.type = type;
  const fields = {
    formatted: nonEmpty(address.formatted),
    streetAddress: nonEmpty(address.streetAddress),
    locality: nonEmpty(address.locality),
    region: nonEmpty(address.region),
    postalCode: nonEmpty(address.postalCode),
    // SCIM's country is an ISO 3166-1 alpha-2 code, which Google keeps in countryCode.
    country: nonEmpty(address.countryCode) ?? nonEmpty(address.country),
  };
  let any = false;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key as keyof typeof fields] = value;
    any = true;
  }
  if (!any) return undefined;
  if (address.primary === true) out.primary = true;
  return out;
}

function toPhone(phone: NonNullable<GoogleUser["phones"]>[number]): SourceTypedValue | undefined {
  const value = nonEmpty(phone.value);
  if (!value) return undefined;
  const googleType = phone.type === "custom" ? undefined : phone.type;
  const out: SourceTypedValue = { value, type: (googleType && PHONE_TYPES[googleType]) ?? "other" };
  if (phone.primary === true) out.primary = true;
  return out;
}
