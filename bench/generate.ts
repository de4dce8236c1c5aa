/**
 * Synthetic directories for the benchmark, in the file source's JSON layout (`{users, groups}`).
 *
 * Users carry what a real export carries (names with diacritics, title, department, employee
 * number, manager, language, a work address, one or two phone numbers) so that request bodies
 * and the state file have realistic sizes. Managers form an org chart with about eight reports
 * each, so an initial sync creates users in a handful of waves, as it would for a real company.
 * Group sizes are log-normal around the mean (a few large groups, many small ones); a user is in
 * 0 to 3 groups. Everything comes from a seeded generator: the same parameters give the same file.
 */

export interface DirectoryUser {
  id: string;
  userName: string;
  email: string;
  givenName: string;
  familyName: string;
  displayName: string;
  active: boolean;
  title: string;
  department: string;
  employeeNumber: string;
  manager?: string;
  preferredLanguage: string;
  addresses: Array<{ type: string; streetAddress: string; locality: string; region?: string; postalCode: string; country: string }>;
  phoneNumbers: Array<{ type: string; value: string }>;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  members: string[];
}

export interface Directory {
  users: DirectoryUser[];
  groups: DirectoryGroup[];
}

export interface DirectoryShape {
  users: number;
  groups: number;
  /** Mean members per group. Default 50. */
  meanGroupSize?: number;
  /** Most groups one user is in. Default 3. */
  maxGroupsPerUser?: number;
  /** Reports per manager in the org chart. Default 8. */
  reportsPerManager?: number;
  seed?: number;
}

/** mulberry32: small, fast and good enough to pick names; not for anything secret. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GIVEN = [
  "Margaret", "Łukasz", "Zoë", "Aiko", "Mateo", "Priya", "Oluwaseun", "Chloé", "Björn", "Lan", "Ethan", "Fatima",
  "Daniel", "Hannah", "Rafael", "Ingrid", "Kwame", "Siobhán", "Tomás", "Mei Lin", "Patrick", "Rosa", "Yusuf", "Anna",
  "Liam", "Élodie", "Kenji", "Grace", "Noah", "Valentina", "David", "Ngozi", "Søren", "Julia", "Arjun", "Claire",
  "Marcus", "Beatriz", "Olivia", "Jürgen", "Aisha", "Connor", "Leilani", "Dmitri", "Amara", "Matías", "Sakura", "Omar",
];
const FAMILY = [
  "Okafor", "Wiśniewski", "Fontaine", "Tanaka", "Gómez", "Raghunathan", "Adeyemi", "Dubois", "Lindqvist", "Nguyễn",
  "Brooks", "Al-Sayed", "Kowalczyk", "Schmidt", "Oliveira", "Halvorsen", "Mensah", "O'Brien", "Ferreira", "Chen",
  "O'Connell", "Delgado", "Demir", "Kowalska", "Murphy", "Marchand", "Watanabe", "Achieng", "Fischer", "Rossi", "Levi",
  "Okonkwo", "Madsen", "Nowak", "Mehta", "Dupont", "Johnson", "Santos", "Bennett", "Weber", "Rahman", "McAllister",
];
const TITLES = [
  "Software Engineer", "Senior Software Engineer", "Staff Software Engineer", "Engineering Manager, Platform",
  "Site Reliability Engineer", "Product Designer", "Account Executive", "Sales Development Representative",
  "Customer Support Specialist", "Technical Account Manager", "Financial Analyst", "Accounts Payable Specialist",
  "HR Business Partner", "Talent Acquisition Lead", "Learning & Development Manager", "Workplace Coordinator",
];
const DEPARTMENTS = ["Engineering", "Sales", "Support", "Finance", "People", "Marketing", "Legal", "Operations"];
const LANGUAGES = ["en-GB", "en-US", "pl-PL", "fr-FR", "de-DE", "es-ES", "pt-BR", "ja-JP", "sv-SE", "vi-VN", "en-CA"];
const OFFICES = [
  { streetAddress: "30 Old Street", locality: "London", postalCode: "EC1V 9AB", country: "GB", phone: "+44 20 7946" },
  { streetAddress: "ul. Lubicz 23", locality: "Kraków", region: "Małopolskie", postalCode: "31-503", country: "PL", phone: "+48 12 345" },
  { streetAddress: "Friedrichstraße 68", locality: "Berlin", region: "Berlin", postalCode: "10117", country: "DE", phone: "+49 30 23125" },
  { streetAddress: "600 Congress Avenue, Floor 14", locality: "Austin", region: "TX", postalCode: "78701", country: "US", phone: "+1 512 555" },
  { streetAddress: "200 Front Street West\nSuite 2400", locality: "Toronto", region: "ON", postalCode: "M5V 3K2", country: "CA", phone: "+1 416 555" },
  { streetAddress: "1 Raffles Place, #20-01", locality: "Singapore", postalCode: "048616", country: "SG", phone: "+65 6123" },
];
const TEAM_WORDS = ["Platform", "Payments", "Growth", "Identity", "Search", "Mobile", "Data", "Billing", "Infra", "Design", "EMEA", "APAC"];

/** ASCII for an email local part: diacritics dropped, anything else left out. */
function asciiWord(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ł/g, "l")
    .replace(/Ł/g, "L")
    .replace(/ø/g, "o")
    .replace(/[^A-Za-z0-9]/g, "")
    .toLowerCase();
}

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

/** A standard normal deviate (Box-Muller). */
function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function userId(k: number): string {
  return `u-${String(k).padStart(7, "0")}`;
}

export function generateDirectory(shape: DirectoryShape): Directory {
  const random = seededRandom(shape.seed ?? 20_240_601);
  const fanout = shape.reportsPerManager ?? 8;
  const users: DirectoryUser[] = [];
  for (let k = 1; k <= shape.users; k++) {
    const givenName = pick(random, GIVEN);
    const familyName = pick(random, FAMILY);
    const office = pick(random, OFFICES);
    const id = userId(k);
    // The number keeps userNames unique; the names make them look like what directories hold.
    const userName = `${asciiWord(givenName)}.${asciiWord(familyName)}.${k}@example.com`;
    const address: DirectoryUser["addresses"][number] = {
      type: "work",
      streetAddress: office.streetAddress,
      locality: office.locality,
      postalCode: office.postalCode,
      country: office.country,
    };
    if (office.region) address.region = office.region;
    const phoneNumbers = [{ type: "work", value: `${office.phone} ${String(k % 10_000).padStart(4, "0")}` }];
    if (random() < 0.6) phoneNumbers.push({ type: "mobile", value: `+44 7700 ${String(900_000 + (k % 100_000)).padStart(6, "0")}` });
    const user: DirectoryUser = {
      id,
      userName,
      email: userName,
      givenName,
      familyName,
      displayName: `${givenName} ${familyName}`,
      active: true,
      title: pick(random, TITLES),
      department: pick(random, DEPARTMENTS),
      employeeNumber: String(100_000 + k),
      preferredLanguage: pick(random, LANGUAGES),
      addresses: [address],
      phoneNumbers,
    };
    // An org chart: user k reports to user ceil((k - 1) / fanout), so user 1 has no manager.
    if (k > 1) user.manager = userId(Math.ceil((k - 1) / fanout));
    users.push(user);
  }

  const groups: DirectoryGroup[] = [];
  const mean = shape.meanGroupSize ?? 50;
  const maxPerUser = shape.maxGroupsPerUser ?? 3;
  const membership = new Uint8Array(shape.users);
  // Log-normal sizes with the requested mean: exp(N(mu, sigma)) has mean exp(mu + sigma^2 / 2).
  const sigma = 0.6;
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  for (let g = 1; g <= shape.groups; g++) {
    const wanted = Math.max(1, Math.min(shape.users, Math.round(Math.exp(mu + sigma * gaussian(random)))));
    const members = new Set<number>();
    // Random users with room for another group; give up on a group only when nearly everyone is full.
    for (let tries = 0; members.size < wanted && tries < wanted * 20; tries++) {
      const k = Math.floor(random() * shape.users);
      if (membership[k]! >= maxPerUser || members.has(k)) continue;
      members.add(k);
      membership[k]!++;
    }
    groups.push({
      id: `g-${String(g).padStart(5, "0")}`,
      displayName: `${pick(random, TEAM_WORDS)} ${pick(random, DEPARTMENTS)} ${g}`,
      members: [...members].sort((a, b) => a - b).map((k) => userId(k + 1)),
    });
  }
  return { users, groups };
}

/** Facts about a directory that the benchmark's minimum request counts are computed from. */
export interface DirectoryFacts {
  users: number;
  groups: number;
  memberships: number;
  /** Member PATCH requests when members are added in chunks of `chunk` after an empty POST. */
  memberPatches: number;
  largestGroup: number;
  usersInGroups: [number, number, number, number];
}

export function describeDirectory(directory: Directory, chunk: number): DirectoryFacts {
  const perUser = new Map<string, number>();
  let memberships = 0;
  let memberPatches = 0;
  let largestGroup = 0;
  for (const group of directory.groups) {
    memberships += group.members.length;
    memberPatches += Math.ceil(group.members.length / chunk);
    largestGroup = Math.max(largestGroup, group.members.length);
    for (const id of group.members) perUser.set(id, (perUser.get(id) ?? 0) + 1);
  }
  const usersInGroups: [number, number, number, number] = [directory.users.length - perUser.size, 0, 0, 0];
  for (const count of perUser.values()) usersInGroups[Math.min(3, count) as 1 | 2 | 3]++;
  return { users: directory.users.length, groups: directory.groups.length, memberships, memberPatches, largestGroup, usersInGroups };
}
