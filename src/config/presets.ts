/**
 * Ready-made mappings for apps whose SCIM endpoint has known needs. A config names one with
 * `target.preset` and overrides single entries under `mapping`; `scimsync presets show NAME`
 * prints a preset in the config's own syntax.
 *
 * Sources are mapping expressions over the source model (see src/core/expression.ts). `active`
 * never appears: the planner owns it (suspend / unsuspend).
 */
import { ENTERPRISE_USER, type Dialect, type MappingEntry, type MatchAttribute } from "../core/mapping.js";
import { closestName } from "./closest-name.js";

export type PresetName = "generic" | "comeet" | "commbox" | "recnice" | "komeet";

export type { ReadGroupMembers } from "../core/group-planner.js";
import type { ReadGroupMembers } from "../core/group-planner.js";

export const PRESET_NAMES = ["generic", "comeet", "commbox", "recnice", "komeet"] as const satisfies readonly PresetName[];

export interface Preset {
  name: PresetName;
  /** One line, for `scimsync presets`. */
  summary: string;
  /** What an administrator must know before pointing scimsync at the app. */
  notes: string[];
  /** Whether the app accepts /Groups at all; when false, provisionGroups is ignored. */
  groups: boolean;
  dialect: Dialect;
  requireEmail: boolean;
  readGroupMembers: ReadGroupMembers;
  matching: MatchAttribute[];
  user: MappingEntry[];
  group: MappingEntry[];
}

const DISPLAY_NAME_TEMPLATE = "{givenName} {familyName}";
const WORK_EMAIL = 'emails[type eq "work"].value';
const WORK_ADDRESS_PARTS = ["formatted", "streetAddress", "locality", "region", "postalCode", "country"] as const;

function workAddress(): MappingEntry[] {
  return WORK_ADDRESS_PARTS.map((part) => ({
    target: `addresses[type eq "work"].${part}`,
    source: `addresses[type eq "work"].${part}`,
  }));
}

const generic: Preset = {
  name: "generic",
  summary: "RFC 7643 core and enterprise user attributes, users and groups; a starting point for any SCIM 2.0 app",
  notes: [
    "Maps every common core and enterprise attribute. An app that does not store one of them shows a difference for it on every run: drop it with { target: ..., drop: true }.",
    "The enterprise manager attribute holds the app's id of the manager, so it can be set only when the manager is provisioned too.",
  ],
  groups: true,
  dialect: "patch",
  requireEmail: false,
  readGroupMembers: "changed",
  matching: ["externalId", "userName"],
  user: [
    { target: "userName", source: "userName", caseExact: false },
    { target: "externalId", source: "id" },
    { target: "name.givenName", source: "givenName" },
    { target: "name.familyName", source: "familyName" },
    { target: "name.formatted", source: DISPLAY_NAME_TEMPLATE },
    { target: "displayName", source: "displayName", default: DISPLAY_NAME_TEMPLATE },
    { target: WORK_EMAIL, source: "email", caseExact: false },
    { target: "title", source: "title" },
    { target: "preferredLanguage", source: "preferredLanguage" },
    { target: 'phoneNumbers[type eq "work"].value', source: 'phoneNumbers[type eq "work"].value' },
    { target: 'phoneNumbers[type eq "mobile"].value', source: 'phoneNumbers[type eq "mobile"].value' },
    ...workAddress(),
    { target: `${ENTERPRISE_USER}:department`, source: "department" },
    { target: `${ENTERPRISE_USER}:employeeNumber`, source: "employeeNumber" },
    { target: `${ENTERPRISE_USER}:manager`, source: "manager" },
  ],
  group: [
    { target: "displayName", source: "displayName" },
    { target: "externalId", source: "id" },
  ],
};

const comeet: Preset = {
  name: "comeet",
  summary: "Comeet recruiting: users only, keyed by email address",
  notes: [
    "Comeet has no groups: provisionGroups is ignored and no group is created, renamed or deleted.",
    "Comeet identifies users by email address, so userName is the email (the directory's userName for a user without one).",
    "The SCIM token is the access token shown in Comeet's single sign-on settings; an admin account is needed to see it.",
  ],
  groups: false,
  dialect: "patch",
  requireEmail: false,
  readGroupMembers: "changed",
  matching: ["externalId", "userName"],
  user: [
    { target: "userName", source: "coalesce(email, userName)", caseExact: false },
    { target: "externalId", source: "id" },
    { target: "name.givenName", source: "givenName" },
    { target: "name.familyName", source: "familyName" },
    { target: WORK_EMAIL, source: "email", caseExact: false },
  ],
  group: [],
};

const commbox: Preset = {
  name: "commbox",
  summary: "CommBox: agents as users, groups as permission profiles; matched by userName and displayName",
  notes: [
    "Each group becomes a CommBox permission profile named after the group; renaming the group in the directory renames the profile.",
    "CommBox's mapping has no externalId, so users are matched by userName and groups by displayName: a user whose userName changes in the directory is a new CommBox user.",
    "The tenant URL is https://api.commbox.io/auth/scim and the token is an API key from CommBox's API settings.",
  ],
  groups: true,
  dialect: "patch",
  requireEmail: false,
  readGroupMembers: "changed",
  matching: ["userName"],
  user: [
    { target: "userName", source: "userName", caseExact: false },
    { target: "displayName", source: "displayName", default: DISPLAY_NAME_TEMPLATE },
    { target: WORK_EMAIL, source: "email", caseExact: false },
    { target: "name.givenName", source: "givenName" },
    { target: "name.familyName", source: "familyName" },
  ],
  group: [{ target: "displayName", source: "displayName" }],
};

const recnice: Preset = {
  name: "recnice",
  summary: "Recnice: every attribute Recnice requires, users and groups; matched by userName",
  notes: [
    "Recnice requires every attribute of this mapping; a user missing one (an address, a role) may be refused, so fill them in the directory or give a default.",
    "Recnice can look users up by userName only, so they are matched by userName although externalId is sent.",
    "The tenant URL is https://scim.recnice.com/scim/ and the token is the SCIM key on Recnice's account page.",
  ],
  groups: true,
  dialect: "patch",
  requireEmail: false,
  readGroupMembers: "changed",
  matching: ["userName"],
  user: [
    { target: "userName", source: "userName", caseExact: false },
    { target: "displayName", source: "displayName", default: DISPLAY_NAME_TEMPLATE },
    { target: "title", source: "title" },
    { target: WORK_EMAIL, source: "email", caseExact: false },
    { target: "preferredLanguage", source: "preferredLanguage" },
    { target: "name.givenName", source: "givenName" },
    { target: "name.familyName", source: "familyName" },
    { target: "name.formatted", source: DISPLAY_NAME_TEMPLATE },
    ...workAddress(),
    { target: "externalId", source: "id" },
    { target: "roles", source: "roles" },
    { target: `${ENTERPRISE_USER}:department`, source: "department" },
  ],
  group: [
    { target: "displayName", source: "displayName" },
    { target: "externalId", source: "id" },
  ],
};

const komeet: Preset = {
  name: "komeet",
  summary: "Komeet: users keyed by email address, and groups; users without a valid email are skipped",
  notes: [
    "Komeet identifies users by email address: userName is the email, and a user without a valid one is reported and skipped (requireEmail).",
    "SCIM must first be enabled by the Komeet team; the SCIM URL and secret key are then shown in Komeet's user synchronization settings.",
    "Komeet accepts one synchronization per email domain: point only one scimsync config at it.",
  ],
  groups: true,
  dialect: "patch",
  requireEmail: true,
  readGroupMembers: "changed",
  matching: ["externalId", "userName"],
  user: [
    { target: "userName", source: "email", caseExact: false },
    { target: WORK_EMAIL, source: "email", caseExact: false },
    { target: "name.givenName", source: "givenName" },
    { target: "name.familyName", source: "familyName" },
    { target: "displayName", source: "displayName", default: DISPLAY_NAME_TEMPLATE },
    { target: "externalId", source: "id" },
  ],
  group: [
    { target: "displayName", source: "displayName" },
    { target: "externalId", source: "id" },
  ],
};

export const PRESETS: Readonly<Record<PresetName, Preset>> = Object.freeze({ generic, comeet, commbox, recnice, komeet });

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

/** What to tell someone who asked for a preset that does not exist; `shown` is how to quote their text. */
export function describeUnknownPreset(name: string, shown = JSON.stringify(name)): string {
  const close = closestName(name, PRESET_NAMES);
  const suggestion = close ? `did you mean "${close}"? ` : "";
  return `${shown} is not a preset; ${suggestion}use one of ${PRESET_NAMES.join(", ")} (generic suits any SCIM 2.0 app)`;
}
