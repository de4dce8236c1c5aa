/**
 * Synthetic Google Workspace directories for the fake Directory API: users with the attributes a
 * real tenant fills in (organizations, phones, addresses, an employee id, a manager chain, OUs),
 * a few suspended or archived, and groups of them. The same options always give the same
 * directory: everything comes from a seeded PRNG, never Math.random or the clock.
 */
import {
  FAKE_CUSTOMER_ID,
  type GoogleDirectoryData,
  type GoogleGroupRecord,
  type GoogleMemberRecord,
  type GoogleOrgUnitRecord,
  type GoogleUserRecord,
} from "./fake-google-directory.js";
import { FAMILY_NAMES, GIVEN_NAMES, mulberry32, type SyntheticDirectoryOptions } from "./synthetic-people.js";
export { mulberry32 };

/** Default for nestedGroups: true in the Graph tenant ("some nested"), false for Google (exact member counts). */
export type GenerateOptions = SyntheticDirectoryOptions;


interface Office {
  streetAddress: string;
  locality: string;
  region?: string;
  postalCode: string;
  country: string;
  countryCode: string;
  phonePrefix: string;
}

const OFFICES: Record<string, Office> = {
  sf: { streetAddress: "500 Market St", locality: "San Francisco", region: "CA", postalCode: "94105", country: "United States", countryCode: "US", phonePrefix: "+1 415-555-" },
  austin: { streetAddress: "200 Congress Ave", locality: "Austin", region: "TX", postalCode: "78701", country: "United States", countryCode: "US", phonePrefix: "+1 512-555-" },
  london: { streetAddress: "1 Finsbury Ave", locality: "London", postalCode: "EC2M 2PF", country: "United Kingdom", countryCode: "GB", phonePrefix: "+44 20 7946 " },
  berlin: { streetAddress: "Friedrichstraße 68", locality: "Berlin", postalCode: "10117", country: "Germany", countryCode: "DE", phonePrefix: "+49 30 901820" },
};

interface Department {
  ou: string;
  department: string;
  costCenter: string;
  titles: readonly string[];
  offices: readonly string[];
  language: string;
}

/** The OUs users live in, each with the department and offices that go with it. */
const DEPARTMENTS: readonly Department[] = [
  { ou: "/Sales", department: "Sales", costCenter: "CC-2100", titles: ["Account Executive", "Sales Development Rep", "Sales Manager"], offices: ["sf", "austin"], language: "en" },
  { ou: "/Sales/EMEA", department: "Sales", costCenter: "CC-2200", titles: ["Account Executive", "Regional Sales Director"], offices: ["london", "berlin"], language: "en-GB" },
  { ou: "/Engineering", department: "Engineering", costCenter: "CC-3100", titles: ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager"], offices: ["sf", "berlin"], language: "en" },
  { ou: "/Support", department: "Customer Support", costCenter: "CC-4100", titles: ["Support Specialist", "Support Team Lead"], offices: ["austin", "london"], language: "en" },
];

const ORG_UNITS: GoogleOrgUnitRecord[] = [
  { orgUnitPath: "/Engineering", name: "Engineering", parentOrgUnitPath: "/", description: "Product engineering" },
  { orgUnitPath: "/Sales", name: "Sales", parentOrgUnitPath: "/", description: "Sales, Americas" },
  { orgUnitPath: "/Sales/EMEA", name: "EMEA", parentOrgUnitPath: "/Sales", description: "Sales, Europe and Middle East" },
  { orgUnitPath: "/Support", name: "Support", parentOrgUnitPath: "/", description: "Customer support" },
];

const GROUP_TOPICS = [
  "All Staff", "Sales Team", "Engineering", "Support Escalations", "Managers", "Project Aurora", "Project Helios",
  "Social Committee", "Security Champions", "On-Call", "Hiring Panel", "Berlin Office", "London Office",
  "Austin Office", "Book Club", "Release Train", "Customer Advisory Board", "Data Platform", "Design Review",
] as const;

const EMPLOYEE_TYPES = ["Full-time", "Full-time", "Full-time", "Full-time", "Part-time", "Contractor"] as const;

/** Email-safe ASCII for a name part: accents dropped, spaces and apostrophes removed. */
const emailPart = (s: string) =>
  s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ø/g, "o")
    .replace(/ß/g, "ss")
    .replace(/[^A-Za-z0-9]/g, "")
    .toLowerCase();

/** A deterministic directory in the fake's data shape. */
export function generateGoogleDirectory(options: GenerateOptions): Required<Pick<GoogleDirectoryData, "users" | "groups" | "orgUnits">> {
  const { seed, domain = "example.com" } = options;
  const rand = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join("");
  const base36 = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 36).toString(36)).join("");

  // Google's user ids are 21-digit numbers; a random stem plus the index keeps them unique.
  const idStem = `1${digits(12)}`;
  const users: GoogleUserRecord[] = [];
  const usedEmails = new Set<string>();
  const byDepartment = new Map<Department, GoogleUserRecord[]>();

  for (let i = 0; i < options.users; i++) {
    const givenName = pick(GIVEN_NAMES);
    const familyName = pick(FAMILY_NAMES);
    const local = `${emailPart(givenName)}.${emailPart(familyName)}`;
    let email = `${local}@${domain}`;
    for (let n = 2; usedEmails.has(email); n++) email = `${local}${n}@${domain}`;
    usedEmails.add(email);

    // User 0 is the CEO at the root OU; everyone else belongs to a department.
    const dept = i === 0 ? undefined : pick(DEPARTMENTS);
    const officeKey = dept ? pick(dept.offices) : "sf";
    const office = OFFICES[officeKey]!;
    const title = dept ? pick(dept.titles) : "Chief Executive Officer";
    const employeeType = i === 0 ? "Full-time" : pick(EMPLOYEE_TYPES);

    // The manager: someone earlier in the same department, else the CEO (a tree, no cycles).
    const colleagues = dept ? (byDepartment.get(dept) ?? []) : [];
    const manager = i === 0 ? undefined : colleagues.length > 0 && rand() < 0.85 ? pick(colleagues.slice(0, Math.max(1, Math.ceil(colleagues.length / 4)))) : users[0];

    const roll = rand();
    const suspended = i !== 0 && roll < 0.02;
    const archived = i !== 0 && !suspended && roll >= 0.02 && roll < 0.03;
    const startYear = 2015 + Math.floor(rand() * 10);
    const startDate = `${startYear}-${String(1 + Math.floor(rand() * 12)).padStart(2, "0")}-${String(1 + Math.floor(rand() * 28)).padStart(2, "0")}`;

    const user: GoogleUserRecord = {
      id: `${idStem}${String(i).padStart(8, "0")}`,
      primaryEmail: email,
      name: { givenName, familyName, fullName: `${givenName} ${familyName}` },
      isAdmin: i === 0 || (i < 50 && dept?.department === "Engineering" && rand() < 0.1),
      suspended,
      archived,
      orgUnitPath: dept?.ou ?? "/",
      customerId: FAKE_CUSTOMER_ID,
      creationTime: `${startDate}T09:00:00.000Z`,
      organizations: [
        {
          name: "Example Corp",
          title,
          primary: true,
          type: "work",
          customType: "",
          department: dept?.department ?? "Executive",
          costCenter: dept?.costCenter ?? "CC-1000",
          description: employeeType,
          location: `${office.locality} HQ, Floor ${1 + Math.floor(rand() * 8)}`,
        },
      ],
      phones: [
        { value: `${office.phonePrefix}${digits(4)}`, type: "work", primary: true },
        ...(rand() < 0.6 ? [{ value: `${office.phonePrefix.slice(0, 4)}${digits(3)} ${digits(4)}`, type: "mobile" }] : []),
      ],
      addresses: [
        {
          type: "work",
          formatted: [office.streetAddress, `${office.postalCode} ${office.locality}`, office.region, office.country].filter(Boolean).join("\n"),
          streetAddress: office.streetAddress,
          locality: office.locality,
          ...(office.region ? { region: office.region } : {}),
          postalCode: office.postalCode,
          country: office.country,
          countryCode: office.countryCode,
          primary: true,
        },
      ],
      externalIds: [{ value: `E${String(10000 + i)}`, type: "organization" }],
      languages: [{ languageCode: dept?.language ?? "en", preference: "preferred" }],
      customSchemas: { HR: { employeeType, startDate } },
    };
    if (manager) user.relations = [{ value: manager.primaryEmail, type: "manager" }];
    if (rand() < 0.1) user.aliases = [`${emailPart(givenName)}${i}@${domain}`];
    if (rand() < 0.3) user.recoveryEmail = `${local}@personal.example.net`;
    users.push(user);
    if (dept) byDepartment.set(dept, [...colleagues, user]);
  }

  const groups: GoogleGroupRecord[] = [];
  const usedGroupEmails = new Set<string>();
  for (let g = 0; g < options.groups; g++) {
    const topic = GROUP_TOPICS[g % GROUP_TOPICS.length]!;
    const round = Math.floor(g / GROUP_TOPICS.length);
    const name = round === 0 ? topic : `${topic} ${round + 1}`;
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    let email = `${slug}@${domain}`;
    for (let n = 2; usedGroupEmails.has(email); n++) email = `${slug}-${n}@${domain}`;
    usedGroupEmails.add(email);

    // Distinct members: a partial Fisher–Yates shuffle of the user indexes.
    const count = Math.min(options.membersPerGroup, users.length);
    const order = users.map((_, i) => i);
    const members: GoogleMemberRecord[] = [];
    for (let k = 0; k < count; k++) {
      const j = k + Math.floor(rand() * (order.length - k));
      [order[k], order[j]] = [order[j]!, order[k]!];
      const user = users[order[k]!]!;
      members.push({
        id: user.id,
        email: user.primaryEmail,
        type: "USER",
        role: k === 0 ? "OWNER" : k === 1 && rand() < 0.5 ? "MANAGER" : "MEMBER",
        status: user.suspended ? "SUSPENDED" : "ACTIVE",
      });
    }
    groups.push({
      // Group ids look like Google's: 15 lower-case alphanumerics starting with 0.
      id: `0${base36(8)}${g.toString(36).padStart(6, "0")}`,
      email,
      name,
      description: `${name} (${count} people)`,
      members,
    });
  }
  if (options.nestedGroups) {
    for (let g = 0; g + 1 < groups.length; g += 5) {
      const inner = groups[g + 1]!;
      groups[g]!.members.push({ id: inner.id, email: inner.email, type: "GROUP", role: "MEMBER" });
    }
  }

  return { users, groups, orgUnits: ORG_UNITS.map((ou) => ({ ...ou })) };
}
