/**
 * The mapping a run uses: the preset's entries with the config's `mapping` entries applied on
 * top, and the rules that only make sense on that result (userName is mapped, matching on
 * externalId has an externalId to match, no target is mapped twice).
 */
import type { MappingEntry, MatchAttribute } from "../core/mapping.js";
import { parseScimPath } from "../core/scim-path.js";
import type { ConfigIssue } from "../errors.js";
import type { Preset } from "./presets.js";
import type { MappingKind, MappingOverride } from "./schema.js";

export interface EffectiveMapping {
  user: MappingEntry[];
  group: MappingEntry[];
  matching: MatchAttribute[];
}

/** What the deprecated target.matchBy meant, as mapping.matching. */
export const MATCH_BY_EQUIVALENT: Readonly<Record<MatchAttribute, MatchAttribute[]>> = {
  externalId: ["externalId", "userName"],
  userName: ["userName"],
};

/** The attribute each kind of resource cannot be created without (RFC 7643 §4.1, §4.2). */
const REQUIRED_TARGET: Record<MappingKind, string> = { user: "userName", group: "displayName" };

/**
 * Two targets name the same attribute when they differ only in case, spaces, the core schema
 * URN, or an omitted `.value` after a filter: SCIM names are case-insensitive and the writer
 * treats those forms alike.
 */
export function targetKey(target: string): string {
  const path = parseScimPath(target);
  if (!path) return target.replace(/\s+/g, "").toLowerCase();
  const sub = path.subAttribute ?? (path.filter ? "value" : "");
  return [path.schema ?? "", path.attribute, path.filter?.attribute ?? "", path.filter?.value ?? "", sub].join("|").toLowerCase();
}

/**
 * RFC 7643 declares userName and email addresses caseExact=false; comparing them exactly would
 * report a difference for a change of case the app ignores anyway.
 */
function caseExactByDefault(target: string): false | undefined {
  const path = parseScimPath(target);
  if (!path || path.schema) return undefined;
  const attribute = path.attribute.toLowerCase();
  if (attribute === "username" && !path.filter && !path.subAttribute) return false;
  if (attribute === "emails" && (path.subAttribute ?? "value").toLowerCase() === "value") return false;
  return undefined;
}

function toEntry(override: MappingOverride & { source: string }, target: string): MappingEntry {
  const entry: MappingEntry = { target, source: override.source };
  if (override.default !== undefined) entry.default = override.default;
  const caseExact = override.caseExact ?? caseExactByDefault(target);
  if (caseExact !== undefined) entry.caseExact = caseExact;
  if (override.clearWhenEmpty !== undefined) entry.clearWhenEmpty = override.clearWhenEmpty;
  return entry;
}

/**
 * The preset's entries with each override replacing the entry of the same target in place
 * (keeping the preset's spelling of the target), new targets appended, and dropped ones removed.
 */
export function mergeEntries(base: readonly MappingEntry[], overrides: readonly MappingOverride[]): MappingEntry[] {
  const out = base.map((entry) => ({ ...entry }));
  for (const override of overrides) {
    const key = targetKey(override.target);
    const at = out.findIndex((entry) => targetKey(entry.target) === key);
    if (override.drop === true || override.source === undefined) {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    const existing = at >= 0 ? out[at] : undefined;
    const entry = toEntry({ ...override, source: override.source }, existing ? existing.target : override.target.trim());
    if (existing) out[at] = entry;
    else out.push(entry);
  }
  return out;
}

/**
 * Before mapping.matching, `target.matchBy: userName` was the setting for apps that do not store
 * externalId, and it also stopped sending externalId. A config that still uses it and says
 * nothing of externalId in mapping.user keeps that: otherwise the preset's externalId entry would
 * show a difference on every run of such an app. True only when there is an entry to drop.
 */
export function matchByDropsExternalId(preset: Preset, overrides: readonly MappingOverride[], matchBy?: MatchAttribute): boolean {
  if (matchBy !== "userName") return false;
  const key = targetKey("externalId");
  return preset.user.some((entry) => targetKey(entry.target) === key) && !overrides.some((o) => targetKey(o.target) === key);
}

/** mapping.user as written, plus the externalId drop the deprecated target.matchBy implies (see matchByDropsExternalId). */
export function userOverrides(preset: Preset, overrides: readonly MappingOverride[], matchBy?: MatchAttribute): MappingOverride[] {
  const implied: MappingOverride[] = matchByDropsExternalId(preset, overrides, matchBy) ? [{ target: "externalId", drop: true }] : [];
  return [...overrides, ...implied];
}

export function resolveMatching(preset: Preset, matching?: MatchAttribute[], matchBy?: MatchAttribute): MatchAttribute[] {
  if (matching) return [...matching];
  if (matchBy) return [...MATCH_BY_EQUIVALENT[matchBy]];
  return [...preset.matching];
}

/** Problems of mapping.user or mapping.group (`at`) that show only against the preset. */
export function checkOverrides(kind: MappingKind, preset: Preset, overrides: readonly MappingOverride[], at: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const base = kind === "user" ? preset.user : preset.group;
  const baseKeys = new Set(base.map((entry) => targetKey(entry.target)));
  const firstIndex = new Map<string, number>();
  overrides.forEach((override, i) => {
    const key = targetKey(override.target);
    const earlier = firstIndex.get(key);
    if (earlier !== undefined) {
      issues.push({
        path: `${at}[${i}].target`,
        message: `${JSON.stringify(override.target.trim())} is already in ${at}[${earlier}]; keep one entry per target`,
      });
      return;
    }
    firstIndex.set(key, i);
    if (override.drop === true && !baseKeys.has(key)) {
      const targets = base.map((entry) => entry.target).join(", ") || "none";
      issues.push({
        path: `${at}[${i}].target`,
        message:
          `${JSON.stringify(override.target.trim())} is not in the ${preset.name} preset's ${kind} mapping, so there is nothing to drop; ` +
          `its targets are: ${targets}`,
      });
    }
  });
  if (issues.length > 0) return issues;

  const required = REQUIRED_TARGET[kind];
  if (kind === "group" && !preset.groups) return issues;
  const merged = mergeEntries(base, overrides);
  if (!merged.some((entry) => targetKey(entry.target) === targetKey(required))) {
    const dropped = overrides.findIndex((o) => o.drop === true && targetKey(o.target) === targetKey(required));
    issues.push({
      path: dropped >= 0 ? `${at}[${dropped}].drop` : at,
      message:
        `the ${kind} mapping must map ${required}: every SCIM ${kind} needs one; ` +
        `map it instead of dropping it, e.g. { target: ${required}, source: ${kind === "user" ? "email" : "displayName"} }`,
    });
  }
  return issues;
}

export interface MatchingInput {
  preset: Preset;
  /** mapping.user as written (already valid). */
  overrides: readonly MappingOverride[];
  matching?: MatchAttribute[];
  matchBy?: MatchAttribute;
}

/** Rules that tie mapping.matching (or target.matchBy) to the effective user mapping. */
export function checkMatching(input: MatchingInput): ConfigIssue[] {
  const { preset, overrides, matching, matchBy } = input;
  if (matching && matchBy) {
    return [
      {
        path: "target.matchBy",
        message: "is deprecated and mapping.matching is also given; remove target.matchBy (mapping.matching decides)",
      },
    ];
  }
  const effective = resolveMatching(preset, matching, matchBy);
  if (!effective.includes("externalId")) return [];
  const user = mergeEntries(preset.user, overrides);
  if (user.some((entry) => targetKey(entry.target) === targetKey("externalId"))) return [];

  const addIt = "add { target: externalId, source: id } to mapping.user";
  if (matching) {
    return [{ path: "mapping.matching", message: `lists externalId, but the user mapping does not map externalId; ${addIt}, or remove externalId from the list` }];
  }
  if (matchBy) {
    return [
      {
        path: "target.matchBy",
        message: `externalId needs externalId in the user mapping, which the ${preset.name} preset's mapping lacks here; ${addIt}, or use mapping.matching: [userName]`,
      },
    ];
  }
  const dropped = overrides.findIndex((o) => o.drop === true && targetKey(o.target) === targetKey("externalId"));
  return [
    {
      path: dropped >= 0 ? `mapping.user[${dropped}].drop` : "mapping.user",
      message:
        `externalId is in the ${preset.name} preset's matching [${preset.matching.join(", ")}], so it cannot be dropped alone; ` +
        "also set mapping.matching: [userName]",
    },
  ];
}
