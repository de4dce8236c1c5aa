/**
 * A Microsoft Graph user, as cached between runs, checked (it is untrusted input) and turned
 * into the source model. Graph sends null for a property that is not set; both read as absent.
 */
import { z } from "zod";
import type { SourceAddress, SourceTypedValue, SourceUser } from "../../core/model.js";

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
  const issue = error.issues[0];
  if (!issue) return "is not a valid user record";
  const path = issue.path.join(".");
  if (path === "id" || path === "userPrincipalName") return `has no ${path}`;
  return `has an unreadable ${path || "record"} (${issue.message})`;
}

const value = (v: string | null | undefined): string | undefined => (typeof v === "string" && v.trim() !== "" ? v : undefined);

export function toSourceUser(user: GraphUser): SourceUser {
  const out: SourceUser = { id: user.id, userName: user.userPrincipalName, active: user.accountEnabled !== false };
  const set = <K extends keyof SourceUser>(key: K, v: SourceUser[K] | undefined): void => {
    if (v !== undefined) out[key] = v;
  };
  set("email", value(user.mail));
  set("givenName", value(user.givenName));
  set("familyName", value(user.surname));
  set("displayName", value(user.displayName));
  set("title", value(user.jobTitle));
  set("department", value(user.department));
  set("employeeNumber", value(user.employeeId));
  set("manager", value(user.managerId));
  set("preferredLanguage", value(user.preferredLanguage));
  // Entra keeps one postal address, flat on the user: the work address, as Entra's own provisioning maps it.
  const address: SourceAddress = {};
  const fields: [keyof SourceAddress, string | undefined][] = [
    ["streetAddress", value(user.streetAddress)],
    ["locality", value(user.city)],
    ["region", value(user.state)],
    ["postalCode", value(user.postalCode)],
    ["country", value(user.country)],
  ];
  for (const [key, v] of fields) if (v !== undefined) (address as Record<string, string>)[key] = v;
  if (Object.keys(address).length > 0) out.addresses = [{ type: "work", ...address, primary: true }];
  const phones: SourceTypedValue[] = [];
  const business = (user.businessPhones ?? []).map(value).filter((p): p is string => p !== undefined);
  business.forEach((p, i) => phones.push({ type: "work", value: p, ...(i === 0 ? { primary: true } : {}) }));
  const mobile = value(user.mobilePhone);
  if (mobile) phones.push({ type: "mobile", value: mobile, ...(business.length === 0 ? { primary: true } : {}) });
  const fax = value(user.faxNumber);
  if (fax) phones.push({ type: "fax", value: fax });
  if (phones.length > 0) out.phoneNumbers = phones;

  const extra: Record<string, unknown> = {};
  const put = (key: string, v: unknown): void => {
    if (v !== undefined && v !== null && v !== "") extra[key] = v;
  };
  put("officeLocation", value(user.officeLocation));
  put("companyName", value(user.companyName));
  put("employeeType", value(user.employeeType));
  put("employeeHireDate", value(user.employeeHireDate));
  put("costCenter", value(user.employeeOrgData?.costCenter));
  put("division", value(user.employeeOrgData?.division));
  put("userType", value(user.userType));
  put("usageLocation", value(user.usageLocation));
  put("mailNickname", value(user.mailNickname));
  put("faxNumber", fax);
  put("onPremisesSamAccountName", value(user.onPremisesSamAccountName));
  put("onPremisesImmutableId", value(user.onPremisesImmutableId));
  put("onPremisesDistinguishedName", value(user.onPremisesDistinguishedName));
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}
