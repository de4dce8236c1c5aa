import { randomUUID } from "node:crypto";
import { loadConfig, type Config, type GoogleSourceConfig, type MicrosoftSourceConfig } from "../../config/load-config.js";
import { configSchema, readServiceAccountKey } from "../../config/schema.js";
import { locateSecret, type SecretLocation } from "../../config/secret-location.js";
import { describeFsError } from "../../config/secret-refs.js";
import { storeSecretFile } from "../../config/store-secret.js";
import { ScimsyncError, SourceError, TargetAuthError, TargetError } from "../../errors.js";
import { redactTargetUrl } from "../../state/target-url.js";
import { askSecret } from "../../ui/secret-prompt.js";
import { colorEnabled, makeStyle, type Style } from "../../ui/style.js";
import { EXIT } from "../exit-codes.js";
import { makeOutput } from "../output.js";
import { sourceFrom, targetFrom } from "../wiring.js";

export interface ReauthorizeOptions {
  config: string;
  /** Read the secret from stdin instead of asking at the terminal. */
  tokenStdin?: boolean;
  /** Renew the source's credential (a Graph client secret, a Google service account key) instead of the target's token. */
  source?: boolean;
}

/** The secret a reauthorize renews, and how it is talked about. */
interface Secret {
  key: "target.token" | "source.clientSecret" | "source.credentials";
  /** "SCIM token", "client secret", "service account key". */
  noun: string;
}

interface Context {
  options: ReauthorizeOptions;
  config: Config;
  say: (line: string) => void;
  style: Style;
  warn: (message: string) => void;
}

/**
 * Tests a new secret before storing it, and stores it only where the config's reference points:
 * a `${file:}` file is replaced atomically (mode 0600); for `${env:}` it says what to update;
 * a secret written in the config is refused (scimsync does not edit the config). The secret is
 * read from a prompt without echo or from stdin, never from the command line, and never printed.
 */
export async function reauthorizeCommand(options: ReauthorizeOptions): Promise<number> {
  const out = makeOutput("human");
  const { config, warnings } = await loadConfig(options.config);
  for (const w of warnings) out.warn(w);
  const context: Context = {
    options,
    config,
    say: (line) => process.stdout.write(line + "\n"),
    style: makeStyle(colorEnabled(process.stdout)),
    warn: out.warn,
  };
  if (!options.source) return renewTargetToken(context);
  const source = config.source;
  if (source.type === "microsoft") return renewClientSecret(context, source);
  if (source.type === "google") return renewServiceAccountKey(context, source);
  throw new ScimsyncError("source.type file has no credentials to renew", { hint: "reauthorize without --source renews the target's token" });
}

async function renewTargetToken(context: Context): Promise<number> {
  const { config, options } = context;
  const secret: Secret = { key: "target.token", noun: "SCIM token" };
  const location = await storableLocation(options.config, secret);
  const url = redactTargetUrl(config.target.url).replace(/\/+$/, "");
  const token = await readSecret(options, `New SCIM token for ${url} (not shown): `);
  refuseMalformed(secret, configSchema.shape.target.shape.token.safeParse(token));

  const client = targetFrom({ ...config, target: { ...config.target, token, retries: Math.min(config.target.retries, 1) } });
  let totalUsers: number | undefined;
  try {
    ({ totalUsers } = await client.checkUserAccess(`${randomUUID()}@scimsync.invalid`));
  } catch (error) {
    if (error instanceof TargetAuthError) {
      throw new TargetAuthError(`the target rejected the new token; nothing was stored (${error.message})`, {
        status: error.status,
        hint: "check that the whole token was copied and that it is allowed to provision users; the old token was left as it was",
      });
    }
    if (error instanceof TargetError) {
      throw new TargetError(`the new token could not be tested, so nothing was stored: ${error.message}`, { status: error.status, hint: error.hint });
    }
    throw error;
  } finally {
    await client.close();
  }

  const { say, style } = context;
  say(`${style("green", "✓")} ${url} accepted the new token: GET /Users with a userName filter that matches nobody answered an empty list`);
  if (totalUsers !== undefined) say(`${style("green", "✓")} the target reports ${totalUsers} user(s)`);
  return store(context, secret, location, token, (again) => again.target.token === token);
}

async function renewClientSecret(context: Context, source: MicrosoftSourceConfig): Promise<number> {
  const { config, options } = context;
  if (source.credential.kind !== "secret") {
    throw new ScimsyncError(`source signs in with ${CREDENTIAL_WORDS[source.credential.kind]}, which has no secret for scimsync to store`, {
      hint:
        source.credential.kind === "certificate"
          ? "upload the new certificate's public part under App registrations > Certificates & secrets and replace the PEM file source.certificatePath names"
          : "reauthorize --source renews a client secret (source.clientSecret) or a Google service account key",
    });
  }
  const secret: Secret = { key: "source.clientSecret", noun: "client secret" };
  const location = await storableLocation(options.config, secret);
  const clientSecret = await readSecret(options, `New client secret (its Value) for app ${source.clientId ?? "?"} (not shown): `);
  refuseMalformed(secret, configSchema.shape.source.shape.clientSecret.safeParse(clientSecret));

  const probe = { ...source, credential: { kind: "secret" as const, clientSecret }, retries: Math.min(source.retries, 1) };
  await checkSource(context, { ...config, source: probe }, secret, "Microsoft Entra ID");
  context.say(
    `${context.style("green", "✓")} signed in to tenant ${source.tenantId} as app ${source.clientId ?? "?"} with the new client secret, and GET ${source.graphUrl}/v1.0/users answered`,
  );
  return store(context, secret, location, clientSecret, (again) => {
    const credential = again.source.type === "microsoft" ? again.source.credential : undefined;
    return credential?.kind === "secret" && credential.clientSecret === clientSecret;
  });
}

async function renewServiceAccountKey(context: Context, source: GoogleSourceConfig): Promise<number> {
  const { config, options } = context;
  if (!source.serviceAccount) {
    throw new ScimsyncError("source.accessToken is a short-lived token minted elsewhere; there is no key for scimsync to renew", {
      hint: "mint a new access token where it comes from, or use source.credentials with a service account key",
    });
  }
  const secret: Secret = { key: "source.credentials", noun: "service account key" };
  const location = await storableLocation(options.config, secret);
  if (!options.tokenStdin || process.stdin.isTTY) {
    throw new ScimsyncError("the new service account key is read from stdin", {
      hint: `pipe the JSON key file in: scimsync reauthorize --source --token-stdin --config ${options.config} < new-key.json`,
    });
  }
  const text = (await readAll(process.stdin)).trim();
  const key = readServiceAccountKey(text);
  if ("problem" in key) throw new ScimsyncError(`the new key ${key.problem}; nothing was tested or stored`);

  const probe = { ...source, serviceAccount: { ...key, subject: source.serviceAccount.subject }, retries: Math.min(source.retries, 1) };
  await checkSource(context, { ...config, source: probe }, secret, "Google");
  context.say(
    `${context.style("green", "✓")} ${key.clientEmail} signed in for ${source.serviceAccount.subject} with the new key, and users.list answered for customer ${source.customer}`,
  );
  if (key.clientEmail !== source.serviceAccount.clientEmail) {
    context.warn(`the new key belongs to ${key.clientEmail}, the old one to ${source.serviceAccount.clientEmail}`);
  }
  return store(context, secret, location, text, (again) => again.source.type === "google" && again.source.serviceAccount?.privateKey === key.privateKey);
}

const CREDENTIAL_WORDS: Record<MicrosoftSourceConfig["credential"]["kind"], string> = {
  secret: "a client secret",
  certificate: "a certificate (source.certificatePath)",
  "managed-identity": "a managed identity",
  "workload-identity": "workload identity federation",
  default: "DefaultAzureCredential",
};

/** The source with the new credential, one read of one user; throws when it does not work. */
async function checkSource(context: Context, config: Config, secret: Secret, who: string): Promise<void> {
  const access = await sourceFrom(config, { onWarning: context.warn }).checkAccess();
  if (access.status === "refused") {
    throw new SourceError(`${who} refused the new ${secret.noun}; nothing was stored: ${access.error.message}`, { hint: access.error.hint });
  }
  if (access.status === "unavailable") {
    throw new SourceError(`the new ${secret.noun} could not be tested, so nothing was stored: ${access.error.message}`, {
      hint: "check the network path to the directory and run reauthorize again",
    });
  }
}

/** Where the secret goes: a `${file:}` or `${env:}` reference; anything else is refused before a secret is asked for. */
async function storableLocation(configFile: string, secret: Secret): Promise<Extract<SecretLocation, { kind: "file" | "env" }>> {
  const location = await locateSecret(configFile, secret.key.split("."));
  if (location.kind === "file" || location.kind === "env") return location;
  const example = secret.key === "source.credentials" ? "./service-account.json" : secret.key === "target.token" ? "./scim-token" : "./client-secret";
  const move =
    `write the ${secret.noun} into a file only scimsync's user can read (chmod 600), ` +
    `set ${secret.key}: "\${file:${example}}" in ${configFile}, then run scimsync reauthorize again`;
  if (location.kind === "inline") {
    throw new ScimsyncError(`${secret.key} is written in the config file itself; scimsync does not edit the config, so nothing was asked for or stored`, {
      hint: move,
    });
  }
  if (location.kind === "composite") {
    throw new ScimsyncError(`${secret.key} is built from ${location.references.join(" and ")} and other text; scimsync cannot tell where the ${secret.noun} is kept`, {
      hint: `make ${secret.key} exactly one reference, "\${file:PATH}" or "\${env:NAME}"`,
    });
  }
  throw new ScimsyncError(`${secret.key} is not set in ${configFile}`, { hint: `set it to "\${file:${example}}"` });
}

function refuseMalformed(secret: Secret, result: { success: boolean; error?: { issues: { message: string }[] } }): void {
  if (result.success) return;
  const problem = result.error?.issues[0]?.message ?? "is not usable";
  throw new ScimsyncError(`the new ${secret.noun} ${problem}; nothing was tested or stored`);
}

/**
 * With --token-stdin (and stdin not a terminal): stdin, less the one trailing newline `echo`
 * adds, as the loader trims a file's. Otherwise a prompt without echo, which needs a terminal.
 */
async function readSecret(options: ReauthorizeOptions, question: string): Promise<string> {
  if (options.tokenStdin && !process.stdin.isTTY) return (await readAll(process.stdin)).replace(/\r?\n$/, "");
  if (!process.stdin.isTTY) {
    throw new ScimsyncError("there is no terminal to ask for the secret without showing it", {
      hint: `pipe it in with --token-stdin, e.g. scimsync reauthorize --token-stdin --config ${options.config} < new-token-file`,
    });
  }
  return askSecret(question, { input: process.stdin, output: process.stderr });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Writes a `${file:}` secret and loads the config again to see that it reads the new one. For
 * `${env:}`, says what to update instead: scimsync cannot change the environment of the
 * processes that will run it.
 */
async function store(
  context: Context,
  secret: Secret,
  location: Extract<SecretLocation, { kind: "file" | "env" }>,
  value: string,
  readsNew: (config: Config) => boolean,
): Promise<number> {
  const { say, style, options } = context;
  if (location.kind === "env") {
    say(`${style("yellow", "!")} not stored: ${secret.key} is ${location.reference}, an environment variable scimsync cannot change for the processes that run it`);
    say(
      `  set ${location.name} to the new ${secret.noun} where scimsync's environment is defined ` +
        "(Environment= or EnvironmentFile= in the systemd unit, the CI secret, the Kubernetes Secret, the crontab), " +
        `then check it with: scimsync test-connection --config ${options.config}`,
    );
    return EXIT.ok;
  }
  let written: string;
  try {
    written = await storeSecretFile(location.path, value);
  } catch (error) {
    throw new ScimsyncError(`the new ${secret.noun} works, but it could not be written to ${location.path}: ${describeFsError(error)}; the old one is unchanged`, {
      hint: `let this user write to ${location.path} and its folder (or run as the user that owns it), then run scimsync reauthorize again`,
    });
  }
  say(`${style("green", "✓")} stored in ${written} (mode 600), which ${secret.key} reads through ${location.reference}`);
  const { config } = await loadConfig(options.config);
  if (!readsNew(config)) {
    context.warn(`${options.config} does not read the new ${secret.noun} back from ${location.path}; check ${secret.key}`);
    return EXIT.error;
  }
  return EXIT.ok;
}
