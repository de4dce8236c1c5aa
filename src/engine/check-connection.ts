/**
 * test-connection's checks through the ports: can the target be reached, does it take the
 * token, what does it support; can the source be read with its credentials. Source and target
 * are checked side by side; nothing is written anywhere. The result is a value for a view.
 */
import { ScimsyncError, TargetAuthError, TargetError } from "../errors.js";
import type { ServiceProviderSummary } from "../scim/service-provider-config.js";
import type { SourceAccessCheck } from "../sources/access-check.js";

export interface TargetProbe {
  checkUserAccess(unusedUserName: string): Promise<{ totalUsers?: number }>;
  getServiceProviderConfig(): Promise<ServiceProviderSummary | undefined>;
  countGroups(): Promise<number | undefined>;
}

export interface CheckError {
  /** As in the CLI's JSON errors: auth (the target refused the token), target, source. */
  kind: "auth" | "target" | "source";
  message: string;
  hint?: string;
}

export interface TargetCheck {
  /** Without credentials. */
  url: string;
  /** The target answered over HTTP (any status). */
  reachable: boolean;
  /** The token was accepted (true), refused with 401/403 (false), or the check did not get that far (null). */
  authenticated: boolean | null;
  /** totalResults of GET /Users; null when not known. */
  totalUsers: number | null;
  /** Whether /Groups exists (false: 404 or 501); null when not checked or the check failed. */
  groups: boolean | null;
  totalGroups: number | null;
  /** null: the target has none (404/501), or it was not read. */
  serviceProviderConfig: ServiceProviderSummary | null;
  /** `check`: which request failed: the users query (reachability, token, filters) or /Groups. */
  error?: CheckError & { check: "users" | "groups" };
}

export interface SourceCheck {
  type: "file" | "google" | "microsoft";
  /** What was read, in words: the file, or the API with the tenant/customer and identity. Never a secret. */
  endpoint: string;
  reachable: boolean;
  /** true when the credentials worked; false when they (or the permissions) were refused; null for a file or when not reached. */
  authenticated: boolean | null;
  /** A file's number of users; null for Google and Microsoft (the check reads a page of one). */
  users: number | null;
  error?: CheckError;
}

export interface ConnectionReport {
  /** Everything a sync needs works. */
  ok: boolean;
  target: TargetCheck;
  source: SourceCheck;
  /** Things worth knowing that do not stop a sync (a ServiceProviderConfig that could not be read). */
  warnings: string[];
}

export interface CheckInputs {
  target: TargetProbe;
  targetUrl: string;
  /** Whether the app takes groups (target.groups): then a /Groups that fails is a failure, not a note. */
  groupsNeeded: boolean;
  source: SourceAccessCheck;
  sourceType: SourceCheck["type"];
  sourceEndpoint: string;
  /** A userName nobody has, for the empty-filter query (`<uuid>@scimsync.invalid`). */
  unusedUserName: string;
}

export async function checkConnection(inputs: CheckInputs): Promise<ConnectionReport> {
  const warnings: string[] = [];
  const [target, source] = await Promise.all([checkTarget(inputs, warnings), checkSource(inputs)]);
  const ok = target.error === undefined && source.error === undefined;
  return { ok, target, source, warnings };
}

/** Whether a failed report failed because the target refused the token (exit 5). */
export function targetRejectedToken(report: ConnectionReport): boolean {
  return report.target.error?.kind === "auth";
}

async function checkTarget(inputs: CheckInputs, warnings: string[]): Promise<TargetCheck> {
  const check: TargetCheck = {
    url: inputs.targetUrl,
    reachable: false,
    authenticated: null,
    totalUsers: null,
    groups: null,
    totalGroups: null,
    serviceProviderConfig: null,
  };
  try {
    const users = await inputs.target.checkUserAccess(inputs.unusedUserName);
    check.reachable = true;
    check.authenticated = true;
    check.totalUsers = users.totalUsers ?? null;
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    check.reachable = error.status !== undefined;
    check.authenticated = authenticatedBy(error);
    check.error = { ...errorBody(error), check: "users" };
    return check;
  }
  const [config, groups] = await Promise.allSettled([inputs.target.getServiceProviderConfig(), inputs.target.countGroups()]);
  if (config.status === "fulfilled") check.serviceProviderConfig = config.value ?? null;
  else if (config.reason instanceof TargetError) warnings.push(`the ServiceProviderConfig could not be read: ${config.reason.message}`);
  else throw config.reason;
  if (groups.status === "fulfilled") {
    check.groups = groups.value !== undefined;
    check.totalGroups = groups.value ?? null;
  } else if (!(groups.reason instanceof TargetError)) {
    throw groups.reason;
  } else if (inputs.groupsNeeded) {
    check.error = { ...errorBody(groups.reason), check: "groups" };
  } else {
    warnings.push(`/Groups could not be read (the preset says the app has no groups, so a sync does not use it): ${groups.reason.message}`);
  }
  return check;
}

/** 401/403: refused; any other HTTP answer to the users query: the token got through (a 2xx) or it is unknown. */
function authenticatedBy(error: TargetError): boolean | null {
  if (error instanceof TargetAuthError) return false;
  if (error.status !== undefined && error.status >= 200 && error.status < 300) return true;
  return null;
}

async function checkSource(inputs: CheckInputs): Promise<SourceCheck> {
  const base = { type: inputs.sourceType, endpoint: inputs.sourceEndpoint };
  const access = await inputs.source.checkAccess();
  const isFile = inputs.sourceType === "file";
  switch (access.status) {
    case "ok":
      return { ...base, reachable: true, authenticated: isFile ? null : true, users: isFile ? access.users : null };
    case "unavailable":
      return { ...base, reachable: false, authenticated: null, users: null, error: errorBody(access.error) };
    case "refused":
      return { ...base, reachable: true, authenticated: false, users: null, error: errorBody(access.error) };
  }
}

function errorBody(error: ScimsyncError): CheckError {
  const kind = error instanceof TargetAuthError ? "auth" : error instanceof TargetError ? "target" : "source";
  return { kind, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
}
