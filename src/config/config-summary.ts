/**
 * What a loaded config amounts to, for `scimsync validate`: the source and what it must be
 * granted, the target, the preset. Built from the Config alone (no network); it names
 * references, ids and addresses, never a resolved secret.
 */
import type { ProvisionGroups } from "../core/model.js";
import { GOOGLE_SCOPES } from "../sources/google/google-errors.js";
import { GRAPH_PERMISSIONS } from "../sources/microsoft/graph-errors.js";
import type { Config, MicrosoftCloud, MicrosoftSourceConfig } from "./load-config.js";
import type { PresetName } from "./presets.js";

export interface GraphPermission {
  /** An application permission of Microsoft Graph, e.g. User.Read.All. */
  name: string;
  /** What scimsync reads with it, for this config. */
  reason: string;
}

export type SourceSummary =
  | { type: "file"; path: string }
  | {
      type: "google";
      customer: string;
      domain?: string;
      signIn: "service-account" | "access-token";
      /** The service account's address and unique id (the client id to authorize); not secrets. */
      serviceAccount?: string;
      clientId?: string;
      subject?: string;
      /** The OAuth scopes domain-wide delegation must grant (or the access token must carry). */
      scopes: string[];
    }
  | {
      type: "microsoft";
      tenantId: string;
      clientId?: string;
      credential: MicrosoftSourceConfig["credential"]["kind"];
      cloud: MicrosoftCloud;
      /** The Graph application permissions (with admin consent) this config reads with. */
      permissions: GraphPermission[];
    };

export interface ConfigSummary {
  source: SourceSummary;
  /** `url` without user name, password, query or fragment. */
  target: { url: string; preset: PresetName; groups: boolean };
  statePath: string;
  scope: Config["scope"];
  provisionGroups: ProvisionGroups;
}

export function summarizeConfig(config: Config): ConfigSummary {
  return {
    source: summarizeSource(config),
    target: { url: displayUrl(config.target.url), preset: config.target.preset, groups: config.target.groups },
    statePath: config.state.path,
    scope: config.scope,
    provisionGroups: config.provisionGroups,
  };
}

/** A URL fit to print: the schema refuses credentials in target.url, and this makes sure of it. */
export function displayUrl(text: string): string {
  try {
    const url = new URL(text);
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return url.toString().replace(/\/+$/, "");
  } catch {
    return "(not a URL)";
  }
}

function summarizeSource(config: Config): SourceSummary {
  const source = config.source;
  if (source.type === "file") return { type: "file", path: source.path };
  if (source.type === "google") {
    const account = source.serviceAccount;
    return {
      type: "google",
      customer: source.customer,
      ...(source.domain !== undefined ? { domain: source.domain } : {}),
      signIn: account !== undefined ? "service-account" : "access-token",
      ...(account !== undefined
        ? {
            serviceAccount: account.clientEmail,
            ...(account.clientId !== undefined ? { clientId: account.clientId } : {}),
            subject: account.subject,
          }
        : {}),
      // The Google client asks for all of them in every token request, so delegation needs all.
      scopes: Object.values(GOOGLE_SCOPES),
    };
  }
  return {
    type: "microsoft",
    tenantId: source.tenantId,
    ...(source.clientId !== undefined ? { clientId: source.clientId } : {}),
    credential: source.credential.kind,
    cloud: source.cloud,
    permissions: graphPermissions(config),
  };
}

/** The same conditions as the wiring's: groups are read when pushed or when they scope users. */
function graphPermissions(config: Config): GraphPermission[] {
  const permissions: GraphPermission[] = [{ name: GRAPH_PERMISSIONS.users, reason: "users and their managers" + (config.scope.filter ? ", scope.filter" : "") }];
  const groupReasons = [
    ...(config.provisionGroups !== "none" ? [`groups and their members (provisionGroups: ${config.provisionGroups})`] : []),
    ...((config.scope.groups ?? []).length > 0 ? ["scope.groups"] : []),
    ...(config.scope.assignedToApp ? ["the members of groups assigned to the app"] : []),
  ];
  if (groupReasons.length > 0) permissions.push({ name: GRAPH_PERMISSIONS.groups, reason: groupReasons.join(", ") });
  if (config.scope.assignedToApp) permissions.push({ name: GRAPH_PERMISSIONS.assignments, reason: "who is assigned to the app (scope.assignedToApp)" });
  return permissions;
}
