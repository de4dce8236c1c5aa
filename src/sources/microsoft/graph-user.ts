/**
 * A Microsoft Graph user, as cached between runs, checked (it is untrusted input) and turned
 * into the source model. Graph sends null for a property that is not set; both read as absent.
 */
import { z } from "zod";
import type { SourceAddress, SourceTypedValue, SourceUser } from "../../core/model.js";
import { describeRecordIssue, nonEmpty } from "../record-values.js";

const text = z.string().nullish();

export const graphUserSchema = z.looseObject({
  id: z.string().min(1),
  userPrincipalName: z.string().min(1),
  accountEnabled: z.boolean().nullish(),
  mail: text,
  givenName: text,
  surname: text,
  displayName: text,
  jobTitle: text,
  department: text,
  employeeId: text,
  preferredLanguage: text,
  officeLocation: text,
  streetAddress: text,
  city: text,
  state: text,
  postalCode: text,
  country: text,
  mobilePhone: text,
  businessPhones: z.array(z.string()).nullish(),
  faxNumber: text,
  companyName: text,
  employeeType: text,
  employeeHireDate: text,
  employeeOrgData: z.looseObject({ costCenter: text, division: text }).nullish(),
  userType: text,
  usageLocation: text,
  mailNickname: text,
  onPremisesSamAccountName: text,
  onPremisesImmutableId: text,
  onPremisesDistinguishedName: text,
  /** The manager's object id, as the cache keeps it (from $expand=manager or manager@delta). */
  managerId: text,
});

export type GraphUser = z.output<typeof graphUserSchema>;

export function describeGraphUserIssue(error: z.ZodError): string {
  return describeRecordIssue(error, ["id", "userPrincipalName"]);
}


export function toSourceUser(user: GraphUser): SourceUser {
  const out: SourceUser = { id: user.id, userName: user.userPrincipalName, active: user.accountEnabled !== false };
  const set = <K extends keyof SourceUser>(key: K, v: SourceUser[K] | undefined): void => {
    if (v !== undefined) out[key] = v;
  };
  set("email", nonEmpty(user.mail));
  set("givenName", nonEmpty(user.givenName));
  set("familyName", nonEmpty(user.surname));
  set("displayName", nonEmpty(user.displayName));
  set("title", nonEmpty(user.jobTitle));
  set("department", nonEmpty(user.department));
  set("employeeNumber", nonEmpty(user.employeeId));
  set("manager", nonEmpty(user.managerId));
  set("preferredLanguage", nonEmpty(user.preferredLanguage));
  // Entra keeps one postal address, flat on the user: the work address, as Entra's own provisioning maps it.
  const address: SourceAddress = {};
  const fields: [keyof SourceAddress, string | undefined][] = [
    ["streetAddress", nonEmpty(user.streetAddress)],
    ["locality", nonEmpty(user.city)],
    ["region", nonEmpty(user.state)],
    ["postalCode", nonEmpty(user.postalCode)],
    ["country", nonEmpty(user.country)],
  ];
  for (const [key, v] of fields) if (v !== undefined) (address as Record<string, string>)[key] = v;
  if (Object.keys(address).length > 0) out.addresses = [{ type: "work", ...address, primary: true }];
  const phones: SourceTypedValue[] = [];
  const business = (user.businessPhones ?? []).map(nonEmpty).filter((p): p is string => p !== undefined);
  business.forEach((p, i) => phones.push({ type: "work", value: p, ...(i === 0 ? { primary: true } : {}) }));
  const mobile = nonEmpty(user.mobilePhone);
  if (mobile) phones.push({ type: "mobile", value: mobile, ...(business.length === 0 ? { primary: true } : {}) });
  const fax = nonEmpty(user.faxNumber);
  if (fax) phones.push({ type: "fax", value: fax });
  if (phones.length > 0) out.phoneNumbers = phones;

  const extra: Record<string, unknown> = {};
  const put = (key: string, v: unknown): void => {
    if (v !== undefined && v !== null && v !== "") extra[key] = v;
  };
  put("officeLocation", nonEmpty(user.officeLocation));
  put("companyName", nonEmpty(user.companyName));
  put("employeeType", nonEmpty(user.employeeType));
  put("employeeHireDate", nonEmpty(user.employeeHireDate));
  put("costCenter", nonEmpty(user.employeeOrgData?.costCenter));
  put("division", nonEmpty(user.employeeOrgData?.division));
  put("userType", nonEmpty(user.userType));
  put("usageLocation", nonEmpty(user.usageLocation));
  put("mailNickname", nonEmpty(user.mailNickname));
  put("faxNumber", fax);
  put("onPremisesSamAccountName", nonEmpty(user.onPremisesSamAccountName));
  put("onPremisesImmutableId", nonEmpty(user.onPremisesImmutableId));
  put("onPremisesDistinguishedName", nonEmpty(user.onPremisesDistinguishedName));
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}
