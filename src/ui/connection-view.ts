/**
 * test-connection for a person: a checklist with ✓ (works), ✗ (fails) and – (absent, which is
 * fine), each failure with its hint.
 */
import type { CheckError, ConnectionReport, SourceCheck, TargetCheck } from "../engine/check-connection.js";
import type { ServiceProviderSummary } from "../scim/service-provider-config.js";
import type { Style } from "./style.js";

export function renderConnectionReport(report: ConnectionReport, style: Style): string {
  const pass = (text: string) => `  ${style("green", "✓")} ${text}`;
  const fail = (text: string) => `  ${style("red", "✗")} ${text}`;
  const none = (text: string) => `  ${style("dim", "–")} ${text}`;
  const failure = (error: CheckError) => [fail(error.message), ...(error.hint ? [style("dim", `      hint: ${error.hint}`)] : [])];

  const lines = [style("bold", `Target ${report.target.url}`), ...targetLines(report.target, { pass, fail, none, failure })];
  lines.push("", style("bold", `Source (${report.source.type}) ${report.source.endpoint}`), ...sourceLines(report.source, { pass, failure }));
  for (const warning of report.warnings) lines.push("", style("yellow", `warning: ${warning}`));
  lines.push("", report.ok ? style(["bold", "green"], "All checks passed.") : style(["bold", "red"], "Some checks failed."));
  return lines.join("\n") + "\n";
}

interface Marks {
  pass: (text: string) => string;
  fail: (text: string) => string;
  none: (text: string) => string;
  failure: (error: CheckError) => string[];
}

function targetLines(target: TargetCheck, m: Marks): string[] {
  if (!target.reachable) return target.error ? m.failure(target.error) : [m.fail("not reachable")];
  const lines = [m.pass("reachable")];
  if (target.error?.check === "users") {
    if (target.authenticated === true) lines.push(m.pass("token accepted"));
    return [...lines, ...m.failure(target.error)];
  }
  const count = target.totalUsers === null ? "" : `; the target reports ${target.totalUsers} user(s)`;
  lines.push(m.pass(`token accepted: a userName filter that matches nobody answered an empty list${count}`));
  if (target.error) return [...lines, ...m.failure(target.error)];
  if (target.groups === true) lines.push(m.pass(`groups: /Groups answers (${target.totalGroups ?? "?"} group(s))`));
  else if (target.groups === false) lines.push(m.none("groups: none (/Groups answered 404 or 501)"));
  const config = target.serviceProviderConfig;
  lines.push(config ? m.pass(`ServiceProviderConfig: ${describeServiceProvider(config)}`) : m.none("ServiceProviderConfig: none (many apps lack it)"));
  return lines;
}

function sourceLines(source: SourceCheck, m: Pick<Marks, "pass" | "failure">): string[] {
  if (source.error) return m.failure(source.error);
  if (source.type === "file") return [m.pass(`readable: ${source.users ?? 0} user(s)`)];
  return [m.pass("reachable"), m.pass(source.type === "google" ? "credentials accepted: users.list answered" : "credentials accepted: a Graph token, and GET /users answered")];
}

function describeServiceProvider(config: ServiceProviderSummary): string {
  const word = (value: boolean | null) => (value === null ? "?" : value ? "yes" : "no");
  const filter = `filter ${word(config.filter)}${config.maxResults !== null ? ` (max ${config.maxResults})` : ""}`;
  const features = [`patch ${word(config.patch)}`, `bulk ${word(config.bulk)}`, filter, `sort ${word(config.sort)}`, `etag ${word(config.etag)}`];
  const schemes = config.authenticationSchemes.length > 0 ? `; authentication: ${config.authenticationSchemes.join(", ")}` : "";
  return `${features.join(", ")}${schemes}`;
}
