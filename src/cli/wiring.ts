import { readFileSync } from "node:fs";
import { MICROSOFT_CLOUDS, type Config } from "../config/load-config.js";
import type { RunPorts, RunSettings } from "../engine/run-sync.js";
import { FileSource } from "../sources/file-source.js";
import type { GroupReads } from "../sources/google/google-source.js";
import { googleUserFields } from "../sources/google/attributes.js";
import { graphUserFields } from "../sources/microsoft/attributes.js";
import { compileMapping } from "../core/mapping.js";
import type { DirectorySource, SourceReadOptions } from "../core/ports.js";
import type { SourceAccess, SourceAccessCheck } from "../sources/access-check.js";
import { ScimClient } from "../scim/client.js";
import { FileStateStore } from "../state/file-state-store.js";
import { ConfigError } from "../errors.js";

/** The one place that turns configuration into adapters. */
export function settingsFrom(config: Config): RunSettings {
  return {
    targetUrl: config.target.url,
    scope: config.scope,
    policy: config.deprovision,
    safety: config.safety,
    matchBy: config.target.matchBy,
    matching: config.mapping.matching,
    concurrency: config.target.concurrency,
    userMapping: config.mapping.user,
    dialect: config.target.dialect,
    requireEmail: config.target.requireEmail,
    // An app without groups (its preset says so) never hears of /Groups.
    ...(config.target.groups
      ? {
          groups: {
            provision: config.provisionGroups,
            mapping: config.mapping.group,
            policy: config.groupDeprovision,
            readMembers: config.target.readGroupMembers,
            maxMembersPerPatch: config.target.maxMembersPerPatch,
          },
        }
      : {}),
  };
}

export interface PortHooks {
  onWarning: (message: string) => void;
  /** Called if another process takes the state lock away mid-run: the run must stop applying. */
  onLockLost?: (reason: string) => void;
}

export function portsFrom(config: Config, hooks: PortHooks): RunPorts {
  const target = targetFrom(config);
  return {
    source: sourceFrom(config, hooks),
    target,
    store: new FileStateStore(config.state.path, {
      onWarning: hooks.onWarning,
      ...(hooks.onLockLost ? { onLockLost: hooks.onLockLost } : {}),
    }),
  };
}

/** The SCIM client for target.*; test-connection and reauthorize hand in a config with other timeouts or token. */
export function targetFrom(config: Config): ScimClient {
  let ca: string | undefined;
  if (config.target.tls.caFile) {
    try {
      ca = readFileSync(config.target.tls.caFile, "utf8");
    } catch (error) {
      throw new ConfigError([{ path: "target.tls.caFile", message: `cannot read ${config.target.tls.caFile}: ${(error as Error).message}` }]);
    }
  }
  return new ScimClient({
    baseUrl: config.target.url,
    token: config.target.token,
    concurrency: config.target.concurrency,
    rateLimit: config.target.rateLimit,
    timeoutMs: config.target.timeoutSeconds * 1000,
    retries: config.target.retries,
    pageSize: config.target.pageSize,
    rejectUnauthorized: config.target.tls.rejectUnauthorized,
    dialect: config.target.dialect,
    ...(ca ? { ca } : {}),
  });
}

export function sourceFrom(config: Config, hooks: PortHooks): DirectorySource & SourceAccessCheck {
  const source = config.source;
  if (source.type === "file") return new FileSource(source.path);
  const references = compileMapping(config.mapping.user).flatMap((e) => [...e.expression.references, ...(e.fallback?.references ?? [])]);
  const onRetry = (what: string, waitMs: number): void =>
    hooks.onWarning(`${source.type === "google" ? "Google" : "Graph"}: ${what}; trying again in ${(waitMs / 1000).toFixed(1)} s`);
  if (source.type === "microsoft") {
    const scopeGroups = config.scope.groups ?? [];
    return new LazySource(async () => new (await import("../sources/microsoft/microsoft-source.js")).MicrosoftSource({
      connection: {
        tenantId: source.tenantId,
        ...(source.clientId ? { clientId: source.clientId } : {}),
        credential: source.credential,
        authorityHost: source.authorityHost,
        authorityHostOverridden: source.authorityHostOverridden,
        graphUrl: source.graphUrl,
        graphResource: MICROSOFT_CLOUDS[source.cloud].graphUrl,
      },
      userFields: graphUserFields(references),
      // Groups are read (and kept up to date by delta) when they are pushed or scope users.
      readGroups: config.provisionGroups !== "none" || scopeGroups.length > 0,
      ...(config.scope.assignedToApp ? { assignedToApp: config.scope.assignedToApp } : {}),
      ...(config.scope.filter ? { filter: config.scope.filter } : {}),
      fullSyncEveryMs: source.fullSyncEvery,
      concurrency: source.concurrency,
      timeoutMs: source.timeoutSeconds * 1000,
      retries: source.retries,
      onRetry,
    }));
  }
  const credentials = source.serviceAccount
    ? { kind: "service-account" as const, ...source.serviceAccount }
    : { kind: "access-token" as const, token: source.accessToken ?? "" };
  return new LazySource(async () => new (await import("../sources/google/google-source.js")).GoogleSource({
    connection: {
      credentials,
      ...(source.apiRoot ? { apiRoot: source.apiRoot } : {}),
      ...(source.tokenUrl ? { tokenUrl: source.tokenUrl } : {}),
    },
    customer: source.customer,
    ...(source.domain ? { domain: source.domain } : {}),
    ...(config.scope.orgUnits ? { orgUnits: config.scope.orgUnits } : {}),
    ...(config.scope.query ? { query: config.scope.query } : {}),
    archived: source.archived,
    showDeleted: source.showDeleted,
    userFields: googleUserFields(references, { orgUnitPath: (config.scope.orgUnits ?? []).length > 0 }),
    groups: googleGroupReads(config),
    concurrency: source.concurrency,
    timeoutMs: source.timeoutSeconds * 1000,
    retries: source.retries,
    onRetry,
  }));
}

/**
 * Google's and Microsoft's client libraries take most of a second to load; a run that reads a
 * directory file (or only validates a config) should not wait for them.
 */
class LazySource implements DirectorySource, SourceAccessCheck {
  #source: Promise<DirectorySource & SourceAccessCheck> | undefined;

  constructor(private readonly load: () => Promise<DirectorySource & SourceAccessCheck>) {}

  async read(options?: SourceReadOptions): ReturnType<DirectorySource["read"]> {
    return (await this.#loaded()).read(options);
  }

  async checkAccess(): Promise<SourceAccess> {
    return (await this.#loaded()).checkAccess();
  }

  #loaded(): Promise<DirectorySource & SourceAccessCheck> {
    return (this.#source ??= this.load());
  }
}

/**
 * The groups whose members the run needs. Member lists are the bulk of the requests (one or
 * more per group), so a group nobody provisions or scopes by is listed but not read.
 */
export function googleGroupReads(config: Pick<Config, "scope" | "provisionGroups" | "target">): GroupReads {
  const scopeGroups = config.scope.groups ?? [];
  if (config.provisionGroups === "all" || (config.provisionGroups === "scoped" && scopeGroups.length === 0)) return { list: true, membersOf: "all" };
  if (scopeGroups.length > 0) return { list: true, membersOf: scopeGroups };
  // Listed all the same when the app has groups: a managed group missing from the listing is
  // deleted from the directory, one merely no longer provisioned is out of scope.
  return { list: config.target.groups, membersOf: [] };
}
