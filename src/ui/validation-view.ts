/**
 * `scimsync validate` output: the verdict with the config's summary for a person, or one JSON
 * document (`{"valid","issues","warnings"}`, plus `config`, and `summary` when valid or `hint` when not) for scripts.
 */
import type { ConfigCheck } from "../config/check-config.js";
import type { ConfigSummary } from "../config/config-summary.js";
import { DELEGATION_PAGE } from "../sources/google/google-errors.js";
import type { Style } from "./style.js";

export interface ValidationJson {
  valid: boolean;
  config: string;
  issues: Array<{ path: string; message: string }>;
  /** When invalid: the next step, as plan and sync print it. A YAML syntax error's fix is only here. */
  hint?: string;
  warnings: string[];
  summary?: ConfigSummary;
}

export function validationJson(check: ConfigCheck): ValidationJson {
  if (!check.valid) {
    const hint = check.error.hint;
    return { valid: false, config: check.file, issues: check.error.issues, ...(hint !== undefined ? { hint } : {}), warnings: [] };
  }
  return { valid: true, config: check.file, issues: [], warnings: check.warnings, summary: check.summary };
}

/** The human report of a valid config; an invalid one is reported as the ConfigError it is. */
export function renderValidConfig(file: string, summary: ConfigSummary, style: Style): string {
  const rows: Array<[string, string]> = [
    ["source", describeSource(summary)],
    ["target", `${summary.target.url} (preset ${summary.target.preset}${summary.target.groups ? "" : ", users only"})`],
    ["scope", describeScope(summary)],
    ["groups", summary.target.groups ? `provisionGroups: ${summary.provisionGroups}` : "none (the preset's app has no groups)"],
    ["state", summary.statePath],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = [`${style(["bold", "green"], "config OK")}: ${file}`, ...rows.map(([name, text]) => `  ${style("bold", name.padEnd(width))}  ${text}`)];
  lines.push("", ...describeGrants(summary));
  lines.push("Nothing was sent anywhere: `scimsync plan` signs in and shows what a sync would change.");
  return lines.join("\n") + "\n";
}

function describeSource(summary: ConfigSummary): string {
  const source = summary.source;
  switch (source.type) {
    case "file":
      return `file ${source.path}`;
    case "google": {
      const domain = source.domain ? `, domain ${source.domain}` : "";
      const signIn =
        source.signIn === "access-token"
          ? "a short-lived access token"
          : `service account ${source.serviceAccount}${source.clientId ? ` (client id ${source.clientId})` : ""} acting as ${source.subject}`;
      return `Google Workspace, customer ${source.customer}${domain}, signing in with ${signIn}`;
    }
    case "microsoft": {
      const client = source.clientId ? `, client id ${source.clientId}` : "";
      return `Microsoft Entra ID, tenant ${source.tenantId}${client}, credential ${source.credential}, cloud ${source.cloud}`;
    }
  }
}

function describeScope(summary: ConfigSummary): string {
  const { groups, orgUnits, query, assignedToApp, filter } = summary.scope;
  const parts = [
    ...(assignedToApp ? [`assigned to the app ${assignedToApp}`] : []),
    ...(orgUnits ? [`in ${orgUnits.join(", ")}`] : []),
    ...(groups ? [`members of ${groups.join(", ")}`] : []),
    ...(query ? [`matching ${query}`] : []),
    ...(filter ? [`matching ${filter}`] : []),
  ];
  return parts.length === 0 ? "every user of the directory" : `users ${parts.join(" and ")}`;
}

/** What the directory must grant scimsync, in the words of its admin console. */
function describeGrants(summary: ConfigSummary): string[] {
  const source = summary.source;
  if (source.type === "google") {
    const who = source.clientId ? `client id ${source.clientId}` : "the service account's client id";
    const lead =
      source.signIn === "access-token"
        ? "The access token must carry these scopes:"
        : `Domain-wide delegation (${DELEGATION_PAGE}) must grant ${who} these scopes:`;
    return [lead, `  ${source.scopes.join(",")}`, ""];
  }
  if (source.type === "microsoft") {
    const who =
      source.credential === "managed-identity" ? "The managed identity" : source.clientId ? `The app registration ${source.clientId}` : "The identity scimsync signs in as";
    return [
      `${who} needs these Microsoft Graph application permissions, with admin consent:`,
      ...source.permissions.map((p) => `  ${p.name}  (${p.reason})`),
      "",
    ];
  }
  return [];
}
