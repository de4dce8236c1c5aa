/**
 * The commented config `scimsync init` writes: a starting point for one source type and preset
 * that loads as it is once the secrets it references exist. It holds references only
 * (`${env:NAME}`, `${file:PATH}`), never a secret: nothing here reads the environment.
 */
import { GOOGLE_SCOPES } from "../sources/google/google-errors.js";
import { GRAPH_PERMISSIONS } from "../sources/microsoft/graph-errors.js";
import { SCHEMA_COMMENT } from "./json-schema.js";
import { describeUnknownPreset, isPresetName, PRESETS, type PresetName } from "./presets.js";
import { describeUrlProblem, isLoopbackHost, SOURCE_TYPES, type SourceType } from "./schema.js";

export interface StarterChoices {
  source: SourceType;
  preset: PresetName;
  /** The SCIM base URL; checked with checkTargetUrl. */
  targetUrl: string;
  /** The environment variable that will hold the SCIM token; checked with checkEnvName. */
  tokenEnv: string;
}

/** What `init` writes for a choice not made (no flag, no terminal to ask in). */
export const STARTER_DEFAULTS: Readonly<StarterChoices> = {
  source: "file",
  preset: "generic",
  targetUrl: "https://app.example.com/scim/v2",
  tokenEnv: "SCIM_TOKEN",
};

/** The references the starter config uses besides the SCIM token's. */
export const STARTER_REFERENCES = {
  googleKeyFile: "./service-account.json",
  microsoftSecretEnv: "AZURE_CLIENT_SECRET",
} as const;

export const SOURCE_DESCRIPTIONS: Readonly<Record<SourceType, string>> = {
  file: "a .json or .csv export of the directory",
  google: "Google Workspace, through the Admin SDK Directory API",
  microsoft: "Microsoft Entra ID, through Microsoft Graph",
};

/** What is wrong with `text` as source.type, or undefined. */
export function checkSourceType(text: string): string | undefined {
  return (SOURCE_TYPES as readonly string[]).includes(text) ? undefined : `"${text}" is not a source type; use ${SOURCE_TYPES.join(", ")}`;
}

export function checkPreset(text: string): string | undefined {
  return isPresetName(text) ? undefined : describeUnknownPreset(text);
}

/** Stricter than the schema alone: the starter config has no allowInsecureHttp, so http:// must stay on this machine. */
export function checkTargetUrl(text: string): string | undefined {
  if (text.includes("${")) return "the target URL must be written out (init writes no reference in it)";
  const problem = describeUrlProblem(text);
  if (problem !== undefined) return `the target URL ${problem}`;
  const url = new URL(text.trim());
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) return "the target URL must be https:// (http:// only to 127.0.0.1 or localhost)";
  return undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Never quotes the text: it is often the token itself, pasted where its variable's name belongs. */
export function checkEnvName(text: string): string | undefined {
  if (ENV_NAME.test(text)) return undefined;
  const odd = [...text].find((ch) => !/[A-Za-z0-9_]/.test(ch));
  const why = text === "" ? "it is empty" : odd === undefined ? "it starts with a digit" : /\s/.test(odd) ? "it has white space in it" : `it has "${odd}" in it`;
  return `the value is not an environment variable name (${why}); use letters, digits and _, e.g. SCIM_TOKEN`;
}

/** The config file's text. `configName` is how the next steps refer to the file. */
export function renderStarterConfig(choices: StarterChoices, configName = "scimsync.yaml"): string {
  const preset = PRESETS[choices.preset];
  const lines = [
    SCHEMA_COMMENT,
    `# scimsync configuration for a ${choices.source} source and the ${preset.name} preset, written by \`scimsync init\`.`,
    "#",
    "# The first line lets editors with the YAML language server (such as VS Code's YAML extension)",
    "# complete and check keys against config.schema.json next to this file. If it is not there,",
    "# create it with: scimsync schema > config.schema.json (again after upgrading scimsync).",
    "#",
    "# No secret is written in this file: ${env:NAME} reads an environment variable and",
    "# ${file:PATH} a file (relative to this file; chmod 600 it) when the config is loaded.",
    "# config.example.yaml, shipped with scimsync, shows every key with its default.",
    "#",
    "# Next steps:",
    ...nextSteps(choices, configName).map((step, i) => `#   ${i + 1}. ${step}`),
    "",
    ...sourceSection(choices.source),
    "",
    "# The app that receives the users, through its SCIM 2.0 API.",
    "target:",
    "  # The SCIM base URL, without /Users at the end; the app's admin console shows it, often as",
    '  # "SCIM base URL" or "Tenant URL".',
    `  url: ${JSON.stringify(choices.targetUrl.trim())}`,
    `  # The app's SCIM token ("API token", "Secret token"), read from the environment variable`,
    `  # ${choices.tokenEnv}. To keep it in a file instead: token: "\${file:./scim-token}"`,
    `  token: "\${env:${choices.tokenEnv}}"`,
    `  # ${preset.summary}.`,
    ...preset.notes.flatMap((note) => wrap(note, "  #   ")),
    "  # `scimsync presets` lists the others; `scimsync presets show NAME` prints one's mapping.",
    `  preset: ${preset.name}`,
    "",
    "state:",
    "  # Which app accounts scimsync created or adopted, and when each user left. Only those are",
    "  # ever suspended or deleted. Keep it between runs.",
    "  path: ./scimsync.state.json",
    "",
    ...scopeSection(choices.source),
    "",
    ...groupsSection(choices.preset),
    "",
    "# The preset's mapping applies as it is. To change single entries, add a mapping section",
    "# (see config.example.yaml); `scimsync presets show --config FILE` prints the result.",
    "",
    "# What happens to an app account when its user leaves: out of scope, suspended in the",
    "# directory, or deleted from it. suspend deactivates the account, delete removes it for good;",
    "# each is a delay: now, 1d, 7d, 21d, <n>h, <n>d or never. This start never deletes.",
    "deprovision:",
    "  outOfScope: { suspend: now, delete: never }",
    "  suspended: { suspend: now, delete: never }",
    "  deleted: { suspend: now, delete: never }",
    "",
    "# A run that would suspend or delete more users than this suspends and deletes no one (exit 4).",
    "safety:",
    "  maxDeprovisions: 50",
    "  maxDeprovisionPercent: 20",
  ];
  return lines.join("\n") + "\n";
}

function nextSteps(choices: StarterChoices, configName: string): string[] {
  const source: Record<SourceType, string[]> = {
    file: ["Put the directory export at ./directory.json (or change source.path)."],
    google: [
      `Save the service account's JSON key as ${STARTER_REFERENCES.googleKeyFile} (chmod 600) and set source.subject.`,
      "Grant its client id domain-wide delegation with the scopes listed under source.",
    ],
    microsoft: [
      "Set source.tenantId and source.clientId to your tenant's and app registration's ids.",
      `export ${STARTER_REFERENCES.microsoftSecretEnv}=<the client secret's Value>`,
    ],
  };
  return [
    ...source[choices.source],
    ...(choices.targetUrl.trim() === STARTER_DEFAULTS.targetUrl ? ["Set target.url to the app's SCIM base URL."] : []),
    `export ${choices.tokenEnv}=<the app's SCIM token>`,
    `scimsync validate --config ${configName}   (offline: keys, mapping, secrets)`,
    `scimsync plan --config ${configName}       (reads both sides, changes nothing)`,
    `scimsync sync --config ${configName}`,
  ];
}

function sourceSection(type: SourceType): string[] {
  if (type === "file") {
    return [
      "# Where the users come from: a directory export.",
      "source:",
      "  type: file",
      '  # A .json file ({"users": [...], "groups": [...]}) or a .csv file with a header row,',
      "  # relative to this file.",
      "  path: ./directory.json",
    ];
  }
  if (type === "google") {
    return [
      "# Where the users come from: Google Workspace (read only; see the README's Google Workspace section).",
      "source:",
      "  type: google",
      "  # my_customer (the account of the admin below) or your customer id.",
      "  customer: my_customer",
      "  # The service account's JSON key, downloaded from the Google Cloud console. In the Admin",
      "  # console (Security > API controls > Manage Domain Wide Delegation), authorize its client id",
      "  # for these scopes:",
      ...Object.values(GOOGLE_SCOPES).map((scope) => `  #   ${scope}`),
      `  credentials: "\${file:${STARTER_REFERENCES.googleKeyFile}}"`,
      "  # A Google Workspace admin the service account acts as: replace with one of yours.",
      "  subject: admin@example.com",
      "  # Only the users of this domain:",
      "  # domain: example.com",
    ];
  }
  return [
    "# Where the users come from: Microsoft Entra ID (read only; see the README's Microsoft Entra ID section).",
    "source:",
    "  type: microsoft",
    "  # The Directory (tenant) ID (Microsoft Entra admin center > Overview), or a verified domain",
    "  # name: replace the zeros.",
    "  tenantId: 00000000-0000-0000-0000-000000000000",
    "  # The app registration's Application (client) ID: replace. Under API permissions, give it the",
    `  # Microsoft Graph application permissions ${GRAPH_PERMISSIONS.users} and ${GRAPH_PERMISSIONS.groups}`,
    `  # (and ${GRAPH_PERMISSIONS.assignments} with scope.assignedToApp), then grant admin consent.`,
    "  clientId: 11111111-1111-1111-1111-111111111111",
    "  # A client secret's Value (Certificates & secrets), read from the environment. Other ways",
    "  # to sign in: certificatePath, managedIdentity: true or workloadIdentity: true.",
    `  clientSecret: "\${env:${STARTER_REFERENCES.microsoftSecretEnv}}"`,
  ];
}

function scopeSection(type: SourceType): string[] {
  const bySource: Record<SourceType, string[]> = {
    file: [],
    google: ["#   orgUnits: [/Sales, /Engineering]   # users in these organizational units and below"],
    microsoft: ["#   assignedToApp: <object id>          # users assigned to this enterprise application"],
  };
  return [
    "# Which users get an account. Without a scope, every user of the directory does; to narrow it:",
    "# scope:",
    "#   groups: [All Staff]                # members of these groups (nested groups too)",
    ...bySource[type],
  ];
}

function groupsSection(name: PresetName): string[] {
  if (!PRESETS[name].groups) return [`# ${name} has no groups: users only.`];
  return [
    "# Which directory groups are created in the app, with their members: all, scoped (the scope",
    "# groups and the groups nested in them; every group without a group scope) or none.",
    "provisionGroups: scoped",
  ];
}

/** `text` as comment lines of at most about 100 characters. */
function wrap(text: string, prefix: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(prefix + line);
  return lines;
}
