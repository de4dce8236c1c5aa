/**
 * Synthetic Microsoft Entra ID tenants for the fake Graph: users with the attributes a real
 * tenant fills in (job title, department, office, phones, an employee id, a manager chain), a few
 * disabled accounts and a few without a mailbox, groups of them (some nested inside others), and
 * one enterprise app with users and groups assigned to it. The same options always give the same
 * tenant: everything comes from a seeded PRNG, never Math.random or the clock.
 */
import type { AppAssignmentRecord, GraphGroupRecord, GraphTenantData, GraphUserRecord } from "./fake-graph.js";
import { FAMILY_NAMES, GIVEN_NAMES, mulberry32, type SyntheticDirectoryOptions } from "./synthetic-people.js";

/** Default for nestedGroups: true in the Graph tenant ("some nested"), false for Google (exact member counts). */
export type GenerateGraphOptions = SyntheticDirectoryOptions;

/** The enterprise app (service principal object id) the generated assignments belong to. */
export const GENERATED_SERVICE_PRINCIPAL_ID = "5c1e7a0d-4b8e-4f0a-9d3c-0a5e5f1b2c3d";
/** Its application (client) id. */
export const GENERATED_APP_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
/** The app role the generated assignments grant ("User" role of the app). */
export const GENERATED_APP_ROLE_ID = "18d14569-c3bd-439b-9a66-3a2aee01d14f";


/**
 * Entra keeps addresses as flat strings on the user (streetAddress, city, state, postalCode,
 * country — country is free text, not an ISO code) and phones as businessPhones[] + mobilePhone.
 */
interface Office {
  streetAddress: string;
  city: string;
  state: string | null;
  postalCode: string;
  country: string;
  phonePrefix: string;
  language: string;
}

const OFFICES: Record<string, Office> = {
  sf: { streetAddress: "500 Market St", city: "San Francisco", state: "CA", postalCode: "94105", country: "United States", phonePrefix: "+1 415 555 ", language: "en-US" },
  austin: { streetAddress: "200 Congress Ave", city: "Austin", state: "TX", postalCode: "78701", country: "United States", phonePrefix: "+1 512 555 ", language: "en-US" },
  london: { streetAddress: "1 Finsbury Ave", city: "London", state: null, postalCode: "EC2M 2PF", country: "United Kingdom", phonePrefix: "+44 20 7946 ", language: "en-GB" },
  berlin: { streetAddress: "Friedrichstraße 68", city: "Berlin", state: "Berlin", postalCode: "10117", country: "Germany", phonePrefix: "+49 30 901820", language: "de-DE" },
};

interface Department {
  department: string;
  titles: readonly string[];
  offices: readonly string[];
}

const DEPARTMENTS: readonly Department[] = [
  { department: "Sales", titles: ["Account Executive", "Sales Development Rep", "Sales Manager"], offices: ["sf", "austin", "london"] },
  { department: "Engineering", titles: ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager"], offices: ["sf", "berlin"] },
  { department: "Customer Support", titles: ["Support Specialist", "Support Team Lead"], offices: ["austin", "london"] },
  { department: "Finance", titles: ["Accountant", "Financial Analyst", "Controller"], offices: ["sf", "berlin"] },
];

const GROUP_TOPICS = [
  "All Staff", "Sales Team", "Engineering", "Support Escalations", "Managers", "Project Aurora", "Project Helios",
  "Social Committee", "Security Champions", "On-Call", "Hiring Panel", "Berlin Office", "London Office",
  "Austin Office", "Book Club", "Release Train", "Customer Advisory Board", "Data Platform", "Design Review",
] as const;

/** Mail-safe ASCII for a name part: accents dropped, spaces and apostrophes removed. */
const mailPart = (s: string) =>
  s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ø/g, "o")
    .replace(/ß/g, "ss")
    .replace(/[^A-Za-z0-9]/g, "")
    .toLowerCase();

/** A deterministic tenant in the fake's data shape. */
export function generateGraphDirectory(options: GenerateGraphOptions): Required<GraphTenantData> {
  const { seed, domain = "example.com", nestedGroups = true } = options;
  const rand = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join("");
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join("");
  /**
   * Object ids are GUIDs (v4 layout). The last block carries a kind tag and the index, so ids are
   * unique by construction rather than by luck.
   */
  const guid = (tag: number, index: number) =>
    `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(rand() * 4)]}${hex(3)}-${tag.toString(16)}${hex(3)}${index.toString(16).padStart(8, "0")}`;

  const users: GraphUserRecord[] = [];
  const usedUpns = new Set<string>();
  const byDepartment = new Map<Department, GraphUserRecord[]>();

  for (let i = 0; i < options.users; i++) {
    const givenName = pick(GIVEN_NAMES);
    const surname = pick(FAMILY_NAMES);
    const local = `${mailPart(givenName)}.${mailPart(surname)}`;
    let upn = `${local}@${domain}`;
    for (let n = 2; usedUpns.has(upn.toLowerCase()); n++) upn = `${local}${n}@${domain}`;
    usedUpns.add(upn.toLowerCase());

    // User 0 is the CEO; everyone else belongs to a department.
    const dept = i === 0 ? undefined : pick(DEPARTMENTS);
    const office = OFFICES[dept ? pick(dept.offices) : "sf"]!;
    // The manager: someone early in the same department, else the CEO (a tree, no cycles).
    const colleagues = dept ? (byDepartment.get(dept) ?? []) : [];
    const manager =
      i === 0
        ? undefined
        : colleagues.length > 0 && rand() < 0.85
          ? pick(colleagues.slice(0, Math.max(1, Math.ceil(colleagues.length / 4))))
          : users[0];
    const roll = rand();

    const user: GraphUserRecord = {
      id: guid(1, i),
      userPrincipalName: upn,
      // ~3% have no mailbox (no Exchange licence): Graph serves mail as null for them.
      mail: i !== 0 && roll > 0.97 ? null : upn,
      givenName,
      surname,
      displayName: `${givenName} ${surname}`,
      jobTitle: dept ? pick(dept.titles) : "Chief Executive Officer",
      department: dept?.department ?? "Executive",
      employeeId: String(10000 + i),
      preferredLanguage: office.language,
      officeLocation: `${office.city} ${1 + Math.floor(rand() * 8)}/${100 + Math.floor(rand() * 60)}`,
      streetAddress: office.streetAddress,
      city: office.city,
      state: office.state,
      postalCode: office.postalCode,
      country: office.country,
      mobilePhone: rand() < 0.6 ? `${office.phonePrefix}${digits(4)}` : null,
      businessPhones: [`${office.phonePrefix}${digits(4)}`],
      // ~2% disabled (blocked sign-in), never the CEO.
      accountEnabled: !(i !== 0 && roll < 0.02),
    };
    if (manager) user.managerId = manager.id;
    users.push(user);
    if (dept) byDepartment.set(dept, [...colleagues, user]);
  }

  const groups: GraphGroupRecord[] = [];
  for (let g = 0; g < options.groups; g++) {
    const topic = GROUP_TOPICS[g % GROUP_TOPICS.length]!;
    const round = Math.floor(g / GROUP_TOPICS.length);
    const displayName = round === 0 ? topic : `${topic} ${round + 1}`;
    const slug = displayName.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    // Distinct members: a partial Fisher–Yates shuffle of the user indexes.
    const count = Math.min(options.membersPerGroup, users.length);
    const order = users.map((_, i) => i);
    const members: string[] = [];
    for (let k = 0; k < count; k++) {
      const j = k + Math.floor(rand() * (order.length - k));
      [order[k], order[j]] = [order[j]!, order[k]!];
      members.push(users[order[k]!]!.id);
    }
    groups.push({
      id: guid(2, g),
      displayName,
      // Every fourth group is a plain security group: no mailbox, so mail is null.
      mail: g % 4 === 3 ? null : `${slug}@${domain}`,
      description: g % 7 === 6 ? null : `${displayName} (${count} people)`,
      members,
    });
  }
  if (nestedGroups) {
    for (let g = 0; g + 1 < groups.length; g += 5) groups[g]!.members.push(groups[g + 1]!.id);
  }

  // The app's assignments: every third group and ~5% of users directly, as in a tenant that
  // assigns mostly by group with a few individual exceptions.
  const assignments: AppAssignmentRecord[] = [];
  const assign = (principalId: string, principalType: "User" | "Group", n: number) =>
    assignments.push({
      // Real assignment ids are 43-character base64url strings, not GUIDs.
      id: Buffer.from(`${principalId}:${n}`).toString("base64url").slice(0, 43).padEnd(43, "A"),
      principalId,
      principalType,
      appRoleId: GENERATED_APP_ROLE_ID,
      resourceId: GENERATED_SERVICE_PRINCIPAL_ID,
      createdDateTime: new Date(Date.UTC(2023, 0, 1) + n * 3_600_000).toISOString().replace(".000Z", "Z"),
    });
  groups.forEach((group, g) => {
    if (g % 3 === 0) assign(group.id, "Group", assignments.length);
  });
  users.forEach((user) => {
    if (rand() < 0.05) assign(user.id, "User", assignments.length);
  });

  return {
    users,
    groups,
    servicePrincipals: {
      [GENERATED_SERVICE_PRINCIPAL_ID]: {
        appId: GENERATED_APP_ID,
        displayName: "SCIM target app",
        appRoleAssignedTo: assignments,
      },
    },
  };
}
