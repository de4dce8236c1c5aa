import { randomUUID } from "node:crypto";
import { loadConfig, type Config } from "../../config/load-config.js";
import { checkConnection, targetRejectedToken } from "../../engine/check-connection.js";
import { authHint } from "../../scim/errors.js";
import { redactTargetUrl } from "../../state/target-url.js";
import { renderConnectionReport } from "../../ui/connection-view.js";
import { colorEnabled, makeStyle } from "../../ui/style.js";
import { EXIT } from "../exit-codes.js";
import { makeOutput, type OutputFormat } from "../output.js";
import { sourceFrom, targetFrom } from "../wiring.js";

export interface TestConnectionOptions {
  config: string;
  output: OutputFormat;
  /** Deadline of each request, in seconds. */
  timeout: number;
}

/**
 * Checks source and target credentials and reachability with a few short requests, without
 * retries, and writes nothing. Exit 0 when everything a sync needs works, 5 when the target
 * rejects the token, 1 otherwise.
 */
export async function testConnectionCommand(options: TestConnectionOptions): Promise<number> {
  const out = makeOutput(options.output);
  const { config: loaded, warnings } = await loadConfig(options.config);
  for (const w of warnings) out.warn(w);
  const config = withShortTimeouts(loaded, options.timeout);
  const target = targetFrom(config);
  try {
    const report = await checkConnection({
      target,
      targetUrl: redactTargetUrl(config.target.url).replace(/\/+$/, ""),
      groupsNeeded: config.target.groups,
      source: sourceFrom(config, { onWarning: out.warn }),
      sourceType: config.source.type,
      sourceEndpoint: describeSource(config.source),
      unusedUserName: `${randomUUID()}@scimsync.invalid`,
    });
    // The client cannot know the config file; here it is known.
    if (report.target.error?.kind === "auth") report.target.error.hint = authHint(options.config);
    if (options.output === "json") process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    else process.stdout.write(renderConnectionReport(report, makeStyle(colorEnabled(process.stdout))));
    if (targetRejectedToken(report)) return EXIT.authRejected;
    return report.ok ? EXIT.ok : EXIT.error;
  } finally {
    await target.close();
  }
}

/** One attempt per request with a short deadline: a check should answer in seconds, not retry for minutes. */
function withShortTimeouts(config: Config, seconds: number): Config {
  const source = config.source.type === "file" ? config.source : { ...config.source, timeoutSeconds: seconds, retries: 0 };
  return { ...config, source, target: { ...config.target, timeoutSeconds: seconds, retries: 0 } };
}

/** What the source check reads, in words an administrator recognises; never a secret. */
export function describeSource(source: Config["source"]): string {
  switch (source.type) {
    case "file":
      return source.path;
    case "google": {
      const api = `Google Directory API${source.apiRoot ? ` at ${source.apiRoot}` : ""}, customer ${source.customer}`;
      return source.serviceAccount
        ? `${api}, as ${source.serviceAccount.subject} through ${source.serviceAccount.clientEmail}`
        : `${api}, with source.accessToken`;
    }
    case "microsoft":
      return `Microsoft Graph ${source.graphUrl}, tenant ${source.tenantId}${source.clientId ? `, app ${source.clientId}` : ""} (${source.credential.kind})`;
  }
}
