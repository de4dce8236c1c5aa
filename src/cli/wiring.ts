import { readFileSync } from "node:fs";
import type { Config } from "../config/load-config.js";
import type { RunPorts, RunSettings } from "../engine/run-sync.js";
import { FileSource } from "../sources/file-source.js";
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
  let ca: string | undefined;
  if (config.target.tls.caFile) {
    try {
      ca = readFileSync(config.target.tls.caFile, "utf8");
    } catch (error) {
      throw new ConfigError([{ path: "target.tls.caFile", message: `cannot read ${config.target.tls.caFile}: ${(error as Error).message}` }]);
    }
  }
  const target = new ScimClient({
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
  return {
    source: new FileSource(config.source.path),
    target,
    store: new FileStateStore(config.state.path, {
      onWarning: hooks.onWarning,
      ...(hooks.onLockLost ? { onLockLost: hooks.onLockLost } : {}),
    }),
  };
}
