/**
 * Shared pieces of the synthetic directories the fakes serve: a seeded random generator (so a
 * generated directory is the same on every run) and names from many languages.
 */

/** mulberry32: a tiny, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Names include accents and apostrophes on purpose: mappings, emails and addresses must cope with them.
export const GIVEN_NAMES = [
  "Ada", "Alan", "Amara", "Ana", "Arjun", "Beatriz", "Bjørn", "Carlos", "Chen", "Chloé", "Dana", "Diego",
  "Elena", "Emeka", "Farah", "Grace", "Hannah", "Hiro", "Ines", "Jamal", "José", "Julia", "Kai", "Karin",
  "Lars", "Leila", "Liam", "Mai", "Marta", "Mateo", "Nadia", "Noah", "Olga", "Omar", "Priya", "Quinn",
  "Rafael", "Sakura", "Sofia", "Tomás", "Uma", "Victor", "Wei", "Yara", "Zoë",
] as const;
export const FAMILY_NAMES = [
  "Adeyemi", "Andersson", "Bauer", "Becker", "Costa", "Dubois", "Fernández", "Fischer", "García", "Gupta",
  "Haddad", "Hansen", "Ito", "Jensen", "Kim", "Kowalski", "Larsen", "Li", "López", "Martin", "Müller",
  "Nakamura", "Nguyen", "Novak", "O'Brien", "Okafor", "Patel", "Petrov", "Rossi", "Santos", "Schmidt",
  "Silva", "Smith", "Tanaka", "Van der Berg", "Wang", "Weber", "Williams", "Yilmaz", "Zhang",
] as const;

/** What every synthetic directory generator takes. */
export interface SyntheticDirectoryOptions {
  users: number;
  groups: number;
  /** Users per group (fewer if there aren't that many users). */
  membersPerGroup: number;
  seed: number;
  /** The domain of the generated addresses. Default example.com. */
  domain?: string;
  /** Nest groups: every fifth group also gets the next group as a member, on top of its membersPerGroup users. */
  nestedGroups?: boolean;
}
