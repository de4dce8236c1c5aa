import { execFileSync } from "node:child_process";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig, MICROSOFT_CLOUDS } from "../src/config/load-config.js";
import { PRESETS } from "../src/config/presets.js";
import { configSchema } from "../src/config/schema.js";
import { ConfigError } from "../src/errors.js";
import { GRAPH_EXTRA_NAMES } from "../src/sources/microsoft/attributes.js";

const DAY = 24 * 3_600_000;
const TENANT_ID = "00000000-0000-0000-0000-000000000000";
const CLIENT_ID = "11111111-1111-1111-1111-111111111111";
const APP_OBJECT_ID = "22222222-2222-2222-2222-222222222222";
const IDENTITY_CLIENT_ID = "33333333-3333-3333-3333-333333333333";
/** Shaped like an Entra client secret, and distinctive, so that finding it anywhere means a leak. */
const CLIENT_SECRET = "Xy8Q~kR2vN7pW4mZ9tB3cF6hJ1sL5dG0aE8uYq";
const CERTIFICATE_PASSWORD = "c0rrect-H0rse-B4ttery-St4ple";
const SCIM_TOKEN = "tok-Qx7vR2mK9wZ4pL8s";
const ENV = { SCIM_TOKEN, AZURE_CLIENT_SECRET: CLIENT_SECRET, CERTIFICATE_PASSWORD };

/** A real RSA key and a self-signed certificate for it (made by openssl: node:crypto cannot sign certificates). */
let PRIVATE_KEY: string;
let CERTIFICATE: string;
/** The same key, encrypted with CERTIFICATE_PASSWORD. */
let ENCRYPTED_KEY: string;
/** A key that does not belong to CERTIFICATE. */
let OTHER_KEY: string;

function rsaKey(): string {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
}

beforeAll(async () => {
  PRIVATE_KEY = rsaKey();
  OTHER_KEY = rsaKey();
  ENCRYPTED_KEY = createPrivateKey(PRIVATE_KEY).export({
    type: "pkcs8",
    format: "pem",
    cipher: "aes-256-cbc",
    passphrase: CERTIFICATE_PASSWORD,
  }) as string;
  const work = await mkdtemp(join(tmpdir(), "scimsync-config-microsoft-ca-"));
  try {
    await writeFile(join(work, "key.pem"), PRIVATE_KEY, { mode: 0o600 });
    CERTIFICATE = execFileSync(
      "openssl",
      ["req", "-x509", "-new", "-key", join(work, "key.pem"), "-sha256", "-days", "1", "-subj", "/CN=scimsync config test"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-config-microsoft-"));
  await writeFile(join(dir, "app.pem"), `${CERTIFICATE}${PRIVATE_KEY}`, { mode: 0o600 });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tap<T>(value: T, edit?: (v: T) => void): T {
  edit?.(value);
  return value;
}

const base = (source: Record<string, unknown>): Record<string, any> => ({
  source: { type: "microsoft", tenantId: TENANT_ID, ...source },
  target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}" },
});

const aSecretConfig = () => base({ clientId: CLIENT_ID, clientSecret: "${env:AZURE_CLIENT_SECRET}" });
const aCertificateConfig = () => base({ clientId: CLIENT_ID, certificatePath: "./app.pem" });
const aManagedIdentityConfig = () => base({ managedIdentity: true });
const aWorkloadIdentityConfig = () => base({ clientId: CLIENT_ID, workloadIdentity: true });
const aDefaultConfig = () => base({});
const aGoogleConfig = (): Record<string, any> => ({
  source: { type: "google", accessToken: "${env:SCIM_TOKEN}" },
  target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}" },
});
const aFileConfig = (): Record<string, any> => ({
  source: { type: "file", path: "./directory.json" },
  target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}" },
});

async function load(config: Record<string, any>, env: NodeJS.ProcessEnv = ENV) {
  const file = join(dir, "scimsync.yaml");
  await writeFile(file, stringify(config));
  return loadConfig(file, env);
}

async function loadError(config: Record<string, any>, env: NodeJS.ProcessEnv = ENV): Promise<ConfigError> {
  const error = await load(config, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

/** Pieces of the secrets long enough that finding one anywhere means a leak. */
function secretPieces(): string[] {
  const pem = (text: string) => text.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
  const body = [...pem(PRIVATE_KEY), ...pem(ENCRYPTED_KEY), ...pem(OTHER_KEY)];
  const pieces = body.flatMap((line) => Array.from({ length: Math.floor(line.length / 8) }, (_, i) => line.slice(i * 8, i * 8 + 12)));
  return [...pieces.filter((p) => p.length === 12), CLIENT_SECRET, CLIENT_SECRET.slice(4, 16), CERTIFICATE_PASSWORD, SCIM_TOKEN];
}

function expectNoSecretIn(text: string): void {
  for (const piece of secretPieces()) expect(text, piece).not.toContain(piece);
}

function describeError(error: ConfigError): string {
  return `${String(error)}\n${error.hint ?? ""}\n${JSON.stringify(error.issues)}`;
}

const DEFAULTS = {
  cloud: "global",
  authorityHost: "https://login.microsoftonline.com",
  authorityHostOverridden: false,
  graphUrl: "https://graph.microsoft.com",
  fullSyncEvery: DAY,
  concurrency: 4,
  timeoutSeconds: 60,
  retries: 5,
};

const DEFAULT_CREDENTIAL_WARNING =
  "source.type microsoft: no credential given: DefaultAzureCredential is used (environment variables, workload identity, " +
  "managed identity, Azure CLI ...); to choose how scimsync signs in, set source.clientSecret, source.certificatePath, " +
  "source.managedIdentity or source.workloadIdentity";

describe("loadConfig with source.type microsoft: each way to sign in", () => {
  it("Given a client secret as ${env:}, it loads with every default and no warning", async () => {
    const { config, warnings } = await load(aSecretConfig());
    expect(warnings).toEqual([]);
    expect(config.source).toEqual({
      type: "microsoft",
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      credential: { kind: "secret", clientSecret: CLIENT_SECRET },
      ...DEFAULTS,
    });
    expect(config.scope).toEqual({});
  });

  it("Given a certificate file, its path becomes absolute", async () => {
    const { config, warnings } = await load(aCertificateConfig());
    expect(warnings).toEqual([]);
    expect(config.source).toEqual({
      type: "microsoft",
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      credential: { kind: "certificate", certificatePath: join(dir, "app.pem") },
      ...DEFAULTS,
    });
  });

  it("Given the private key before the certificate, encrypted, and its password as ${env:}, it loads", async () => {
    await mkdir(join(dir, "certs"));
    await writeFile(join(dir, "certs", "app.pem"), `${ENCRYPTED_KEY}\n${CERTIFICATE}`, { mode: 0o600 });
    const { config, warnings } = await load(
      base({ clientId: CLIENT_ID, certificatePath: "certs/app.pem", certificatePassword: "${env:CERTIFICATE_PASSWORD}" }),
    );
    expect(warnings).toEqual([]);
    expect(config.source).toMatchObject({
      credential: { kind: "certificate", certificatePath: join(dir, "certs", "app.pem"), certificatePassword: CERTIFICATE_PASSWORD },
    });
  });

  it("Given a certificate file others can read, it loads and warns, naming the file and not its content", async () => {
    await chmod(join(dir, "app.pem"), 0o644);
    const { warnings } = await load(aCertificateConfig());
    expect(warnings).toEqual([
      `source.certificatePath: ${join(dir, "app.pem")} holds a private key and can be read by other users (mode 644); ` +
        `restrict it with chmod 600 ${join(dir, "app.pem")}`,
    ]);
  });

  it("Given managedIdentity: true, it is the system-assigned identity", async () => {
    const { config, warnings } = await load(aManagedIdentityConfig());
    expect(warnings).toEqual([]);
    expect(config.source).toEqual({ type: "microsoft", tenantId: TENANT_ID, credential: { kind: "managed-identity" }, ...DEFAULTS });
  });

  it("Given managedIdentity with a clientId, it is that user-assigned identity, lower-cased", async () => {
    const { config } = await load(base({ managedIdentity: { clientId: IDENTITY_CLIENT_ID.replace(/3/g, "C") } }));
    expect(config.source).toMatchObject({ credential: { kind: "managed-identity", clientId: IDENTITY_CLIENT_ID.replace(/3/g, "c") } });
    expect(config.source).not.toHaveProperty("clientId");
  });

  it("Given workloadIdentity: true and a clientId, it uses AZURE_FEDERATED_TOKEN_FILE's token file", async () => {
    const { config, warnings } = await load(aWorkloadIdentityConfig());
    expect(warnings).toEqual([]);
    expect(config.source).toEqual({
      type: "microsoft",
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      credential: { kind: "workload-identity" },
      ...DEFAULTS,
    });
  });

  it("Given workloadIdentity with a tokenFilePath and no clientId (AZURE_CLIENT_ID at run time), the path becomes absolute", async () => {
    const { config, warnings } = await load(base({ workloadIdentity: { tokenFilePath: "./azure-identity-token" } }));
    expect(warnings).toEqual([]);
    expect(config.source).toMatchObject({ credential: { kind: "workload-identity", tokenFilePath: join(dir, "azure-identity-token") } });
    expect(config.source).not.toHaveProperty("clientId");
  });

  it("Given no credential key, it uses DefaultAzureCredential and warns", async () => {
    const { config, warnings } = await load(aDefaultConfig());
    expect(config.source).toEqual({ type: "microsoft", tenantId: TENANT_ID, credential: { kind: "default" }, ...DEFAULTS });
    expect(warnings).toEqual([DEFAULT_CREDENTIAL_WARNING]);
  });

  it("Given the client secret written inline, it loads and warns without repeating it", async () => {
    const { config, warnings } = await load(tap(aSecretConfig(), (c) => (c.source.clientSecret = CLIENT_SECRET)));
    expect(config.source).toMatchObject({ credential: { kind: "secret", clientSecret: CLIENT_SECRET } });
    expect(warnings).toEqual(["source.clientSecret is written in the config file; prefer ${env:NAME} or ${file:PATH} so the secret stays out of it"]);
  });

  it("Given the certificate password written inline, it loads and warns without repeating it", async () => {
    await writeFile(join(dir, "app.pem"), `${CERTIFICATE}${ENCRYPTED_KEY}`, { mode: 0o600 });
    const { warnings } = await load(tap(aCertificateConfig(), (c) => (c.source.certificatePassword = CERTIFICATE_PASSWORD)));
    expect(warnings).toEqual(["source.certificatePassword is written in the config file; prefer ${env:NAME} so the password stays out of it"]);
  });
});

describe("loadConfig with source.type microsoft: clouds, hosts and settings", () => {
  it.each(["global", "usgov", "china"] as const)("Given cloud %s, the sign-in and Graph hosts are that cloud's", async (cloud) => {
    const { config } = await load(tap(aSecretConfig(), (c) => (c.source.cloud = cloud)));
    expect(config.source).toMatchObject({ cloud, ...MICROSOFT_CLOUDS[cloud], authorityHostOverridden: false });
  });

  it("knows the hosts of each cloud", () => {
    expect(MICROSOFT_CLOUDS).toEqual({
      global: { authorityHost: "https://login.microsoftonline.com", graphUrl: "https://graph.microsoft.com" },
      usgov: { authorityHost: "https://login.microsoftonline.us", graphUrl: "https://graph.microsoft.us" },
      china: { authorityHost: "https://login.chinacloudapi.cn", graphUrl: "https://microsoftgraph.chinacloudapi.cn" },
    });
  });

  it.each([
    ["https://Login.Example.com/", "https://login.example.com"],
    ["https://127.0.0.1:8443", "https://127.0.0.1:8443"],
    [" https://proxy.example.com/aad/ ", "https://proxy.example.com/aad"],
    ["https://login.example.com:443", "https://login.example.com"],
  ])("Given authorityHost %j, it becomes %s and turns instance discovery off", async (authorityHost, expected) => {
    const { config } = await load(tap(aSecretConfig(), (c) => (c.source.authorityHost = authorityHost)));
    expect(config.source).toMatchObject({ authorityHost: expected, authorityHostOverridden: true, graphUrl: "https://graph.microsoft.com" });
  });

  it.each([
    ["https://graph.example.com/", "https://graph.example.com"],
    ["https://GRAPH.example.com:8443", "https://graph.example.com:8443"],
    ["https://[::1]:9443/", "https://[::1]:9443"],
  ])("Given graphUrl %j, it becomes %s; the authority stays the cloud's", async (graphUrl, expected) => {
    const { config } = await load(tap(aSecretConfig(), (c) => Object.assign(c.source, { cloud: "usgov", graphUrl })));
    expect(config.source).toMatchObject({
      graphUrl: expected,
      authorityHost: "https://login.microsoftonline.us",
      authorityHostOverridden: false,
    });
  });

  it.each([
    ["10m", 10 * 60_000],
    ["90m", 90 * 60_000],
    ["24h", DAY],
    ["7d", 7 * DAY],
    [" 30D ", 30 * DAY],
  ])("Given fullSyncEvery %j, it is %i ms", async (fullSyncEvery, ms) => {
    const { config } = await load(tap(aSecretConfig(), (c) => (c.source.fullSyncEvery = fullSyncEvery)));
    expect(config.source).toMatchObject({ fullSyncEvery: ms });
  });

  it("Given a domain as tenantId and every other setting, it keeps them", async () => {
    const { config } = await load(
      tap(aSecretConfig(), (c) =>
        Object.assign(c.source, { tenantId: " Contoso.onmicrosoft.com ", clientId: CLIENT_ID.toUpperCase(), concurrency: 32, timeoutSeconds: 2.5, retries: 0 }),
      ),
    );
    expect(config.source).toMatchObject({ tenantId: "contoso.onmicrosoft.com", clientId: CLIENT_ID, concurrency: 32, timeoutSeconds: 2.5, retries: 0 });
  });

  it("Given scope.assignedToApp, filter and groups, assignedToApp is lower-cased and filter trimmed", async () => {
    const { config } = await load(
      tap(aSecretConfig(), (c) => (c.scope = { assignedToApp: ` ${APP_OBJECT_ID.replace(/2/g, "A")} `, filter: " accountEnabled eq true ", groups: ["Sales"] })),
    );
    expect(config.scope).toEqual({ groups: ["Sales"], assignedToApp: APP_OBJECT_ID.replace(/2/g, "a"), filter: "accountEnabled eq true" });
  });

  it("Given google and file sources, none of the microsoft settings show in their config", async () => {
    const { config: google } = await load(aGoogleConfig());
    expect(Object.keys(google.source)).not.toContain("cloud");
    expect(Object.keys(google.source)).not.toContain("fullSyncEvery");
    await writeFile(join(dir, "directory.json"), "[]");
    const { config: file } = await load(aFileConfig());
    expect(file.source).toEqual({ type: "file", path: join(dir, "directory.json") });
  });

  it("documents the microsoft keys in the JSON Schema", () => {
    const schema = z.toJSONSchema(configSchema, { io: "input" }) as { properties: Record<string, any> };
    const source = schema.properties.source.properties;
    expect(source.type.enum).toEqual(["file", "google", "microsoft"]);
    expect(source.cloud).toMatchObject({ enum: ["global", "usgov", "china"], default: "global" });
    expect(source.fullSyncEvery).toMatchObject({ type: "string", default: "24h" });
    expect(source.managedIdentity.anyOf).toEqual([
      { type: "boolean", const: true },
      expect.objectContaining({ type: "object", required: ["clientId"], additionalProperties: false }),
    ]);
    expect(source.workloadIdentity.anyOf[1]).toMatchObject({ required: ["tokenFilePath"] });
    expect(source.clientId.description).toContain("Not with managedIdentity");
    expect(schema.properties.scope.properties.assignedToApp.description).toContain("not the application (client) id");
    expect(Object.keys(schema.properties.scope.properties)).toEqual(["groups", "orgUnits", "query", "assignedToApp", "filter"]);
  });
});

interface BadCase {
  name: string;
  config: () => Record<string, any>;
  env?: NodeJS.ProcessEnv;
  /** Written as app.pem instead of the valid certificate file: a Buffer, or the name of one made in certificateFileOf. */
  certificateFile?: string | Buffer;
  path: string;
  /** Pieces of the message; {dir} stands for the config file's directory. */
  says: string[];
}

type Edit = (source: Record<string, any>, c: Record<string, any>) => void;
const secret = (edit: Edit) => () => tap(aSecretConfig(), (c) => edit(c.source, c));
const certificate = (edit: Edit) => () => tap(aCertificateConfig(), (c) => edit(c.source, c));
const google = (edit: Edit) => () => tap(aGoogleConfig(), (c) => edit(c.source, c));
const file = (edit: Edit) => () => tap(aFileConfig(), (c) => edit(c.source, c));

const TENANT_EXPECTED =
  "expected the directory (tenant) id, a GUID shown in the Microsoft Entra admin center under Overview, " +
  "or a verified domain name of the tenant such as contoso.onmicrosoft.com";
const CERTIFICATE_FIX = "give a PEM file holding a certificate of the app registration and its private key, relative to this config file";

const badCases: BadCase[] = [
  // Keys of other source types.
  {
    name: "source.customer with microsoft",
    config: secret((s) => (s.customer = "my_customer")),
    path: "source.customer",
    says: ["is for source.type google; remove it (source.type is microsoft)"],
  },
  {
    name: "source.path with microsoft",
    config: secret((s) => (s.path = "./directory.json")),
    path: "source.path",
    says: ["is for source.type file; remove it (source.type is microsoft)"],
  },
  {
    name: "source.tenantId with google",
    config: google((s) => (s.tenantId = TENANT_ID)),
    path: "source.tenantId",
    says: ["is for source.type microsoft; remove it (source.type is google)"],
  },
  {
    name: "an invalid source.managedIdentity with file (one complaint, not two)",
    config: file((s) => (s.managedIdentity = "yes")),
    path: "source.managedIdentity",
    says: ["is for source.type microsoft; remove it (source.type is file)"],
  },
  {
    name: "source.clientSecret with google, which never shows the secret",
    config: google((s) => (s.clientSecret = CLIENT_SECRET)),
    path: "source.clientSecret",
    says: ["is for source.type microsoft"],
  },
  {
    name: "an invalid source.concurrency with file",
    config: file((s) => (s.concurrency = 100)),
    path: "source.concurrency",
    says: ["is for source.type google or microsoft; remove it (source.type is file)"],
  },
  {
    name: "scope.orgUnits with microsoft",
    config: secret((_s, c) => (c.scope = { orgUnits: ["/Sales"] })),
    path: "scope.orgUnits",
    says: ["is only for source.type google (it filters the Google directory); remove it", "scope.filter (an OData $filter on users", "scope.assignedToApp"],
  },
  {
    name: "scope.query with microsoft",
    config: secret((_s, c) => (c.scope = { query: "isAdmin=false" })),
    path: "scope.query",
    says: ["is only for source.type google", "choose the users of a microsoft source with scope.filter"],
  },
  {
    name: "scope.assignedToApp with google",
    config: google((_s, c) => (c.scope = { assignedToApp: APP_OBJECT_ID })),
    path: "scope.assignedToApp",
    says: ["is only for source.type microsoft (it filters the Microsoft Entra directory)", "with scope.groups, scope.orgUnits or scope.query"],
  },
  {
    name: "an empty scope.filter with file (one complaint, not two)",
    config: file((_s, c) => (c.scope = { filter: "" })),
    path: "scope.filter",
    says: ["is only for source.type microsoft", "choose the users of a file source with scope.groups"],
  },
  // tenantId and clientId.
  {
    name: "no tenantId",
    config: secret((s) => delete s.tenantId),
    path: "source.tenantId",
    says: ["is required with source.type microsoft", "a GUID shown in the Microsoft Entra admin center", "contoso.onmicrosoft.com"],
  },
  ...["common", "Organizations", "consumers"].map((tenant) => ({
    name: `tenantId ${tenant}`,
    config: secret((s) => (s.tenantId = tenant)),
    path: "source.tenantId",
    says: [`"${tenant}" cannot be used: it stands for many tenants`, "app-only", TENANT_EXPECTED],
  })),
  {
    name: "a tenantId that is neither a GUID nor a domain",
    config: secret((s) => (s.tenantId = "contoso")),
    path: "source.tenantId",
    says: [`${TENANT_EXPECTED}, got "contoso"`],
  },
  {
    name: "a tenantId written as a URL",
    config: secret((s) => (s.tenantId = `https://login.microsoftonline.com/${TENANT_ID}`)),
    path: "source.tenantId",
    says: [TENANT_EXPECTED],
  },
  {
    name: "a clientId that is not a GUID",
    config: secret((s) => (s.clientId = "scimsync")),
    path: "source.clientId",
    says: ["expected the application (client) id of the app registration, a GUID", 'got "scimsync"'],
  },
  {
    name: "a clientId in braces",
    config: secret((s) => (s.clientId = `{${CLIENT_ID}}`)),
    path: "source.clientId",
    says: ["expected the application (client) id"],
  },
  {
    name: "clientSecret without clientId",
    config: secret((s) => delete s.clientId),
    path: "source.clientId",
    says: ["is required with source.clientSecret; give the application (client) id of the app registration the secret belongs to"],
  },
  {
    name: "certificatePath without clientId",
    config: certificate((s) => delete s.clientId),
    path: "source.clientId",
    says: ["is required with source.certificatePath", "the certificate belongs to"],
  },
  {
    name: "managedIdentity with clientId",
    config: () => base({ clientId: CLIENT_ID, managedIdentity: true }),
    path: "source.clientId",
    says: ["is not used with source.managedIdentity", "remove source.clientId", "managedIdentity: { clientId: <GUID> }"],
  },
  {
    name: "a clientId without a credential key (a forgotten secret, most likely)",
    config: () => base({ clientId: CLIENT_ID }),
    path: "source.clientId",
    says: ["is not used without a credential key: DefaultAzureCredential takes the client id from AZURE_CLIENT_ID", "add source.clientSecret"],
  },
  // Credentials.
  {
    name: "a client secret and a certificate",
    config: secret((s) => (s.certificatePath = "./app.pem")),
    path: "source",
    says: [
      "has source.clientSecret and source.certificatePath; keep one way to sign in: clientSecret (a client secret of the app registration), " +
        "certificatePath (a certificate of the app registration), managedIdentity",
    ],
  },
  {
    name: "three credentials",
    config: secret((s) => Object.assign(s, { managedIdentity: true, workloadIdentity: true })),
    path: "source",
    says: ["has source.clientSecret, source.managedIdentity and source.workloadIdentity; keep one way to sign in"],
  },
  {
    name: "certificatePassword without certificatePath",
    config: secret((s) => (s.certificatePassword = "${env:CERTIFICATE_PASSWORD}")),
    path: "source.certificatePassword",
    says: ["is used only with source.certificatePath (the password of its private key); remove it, or add source.certificatePath"],
  },
  {
    name: "an empty client secret",
    config: secret(() => undefined),
    env: { ...ENV, AZURE_CLIENT_SECRET: "" },
    path: "source.clientSecret",
    says: ["must not be empty", "client secret of the app registration"],
  },
  {
    name: "a client secret with a line break",
    config: secret(() => undefined),
    env: { ...ENV, AZURE_CLIENT_SECRET: `${CLIENT_SECRET}\n` },
    path: "source.clientSecret",
    says: ["must not contain spaces, line breaks or control characters", "holds only the client secret"],
  },
  {
    name: "an inline client secret with a space",
    config: secret((s) => (s.clientSecret = `${CLIENT_SECRET} x`)),
    path: "source.clientSecret",
    says: ["must not contain spaces"],
  },
  {
    name: "a client secret of the wrong type",
    config: secret((s) => (s.clientSecret = 73910264551)),
    path: "source.clientSecret",
    says: ["expected a client secret of the app registration as text", "got a number"],
  },
  {
    name: "a certificate password of the wrong type",
    config: certificate((s) => (s.certificatePassword = 12345678)),
    path: "source.certificatePassword",
    says: ["expected the password of the certificate's private key as text", "got a number"],
  },
  {
    name: "managedIdentity: false",
    config: () => base({ managedIdentity: false }),
    path: "source.managedIdentity",
    says: ["expected true (the system-assigned managed identity", "or { clientId: <GUID> } (a user-assigned managed identity)", "got false"],
  },
  {
    name: "managedIdentity as a GUID",
    config: () => base({ managedIdentity: IDENTITY_CLIENT_ID }),
    path: "source.managedIdentity",
    says: ["or { clientId: <GUID> }", `got "${IDENTITY_CLIENT_ID}"`],
  },
  {
    name: "managedIdentity without clientId",
    config: () => base({ managedIdentity: {} }),
    path: "source.managedIdentity.clientId",
    says: ["is required; expected the client id of the user-assigned managed identity", "or write managedIdentity: true for the system-assigned identity"],
  },
  {
    name: "a managed identity clientId that is not a GUID",
    config: () => base({ managedIdentity: { clientId: "my-identity" } }),
    path: "source.managedIdentity.clientId",
    says: ["expected the client id of the user-assigned managed identity, a GUID", 'got "my-identity"'],
  },
  {
    name: "a numeric managed identity clientId",
    config: () => base({ managedIdentity: { clientId: 42 } }),
    path: "source.managedIdentity.clientId",
    says: ["expected the client id of the user-assigned managed identity", "got 42"],
  },
  {
    name: "workloadIdentity: yes",
    config: () => base({ workloadIdentity: "yes" }),
    path: "source.workloadIdentity",
    says: ["expected true (the federated token file named by AZURE_FEDERATED_TOKEN_FILE) or { tokenFilePath: <path> }", 'got "yes"'],
  },
  {
    name: "an empty workload identity tokenFilePath",
    config: () => base({ workloadIdentity: { tokenFilePath: " " } }),
    path: "source.workloadIdentity.tokenFilePath",
    says: ["expected the path of the federated token file, relative to this config file", 'got " "'],
  },
  {
    name: "workloadIdentity without tokenFilePath",
    config: () => base({ workloadIdentity: {} }),
    path: "source.workloadIdentity.tokenFilePath",
    says: ["is required; expected the path of the federated token file"],
  },
  // The certificate file.
  {
    name: "a certificate file that does not exist",
    config: certificate((s) => (s.certificatePath = "./missing.pem")),
    path: "source.certificatePath",
    says: [`cannot read {dir}/missing.pem: the file does not exist; ${CERTIFICATE_FIX}`],
  },
  {
    name: "a certificate path that is a directory",
    config: certificate((s) => (s.certificatePath = ".")),
    path: "source.certificatePath",
    says: ["it is a directory, not a file"],
  },
  {
    name: "an empty certificate path",
    config: certificate((s) => (s.certificatePath = "")),
    path: "source.certificatePath",
    says: ["must not be empty; expected the path of a PEM file holding the certificate and its private key"],
  },
  {
    name: "a certificate file without the private key",
    config: certificate(() => undefined),
    certificateFile: "CERTIFICATE",
    path: "source.certificatePath",
    says: ["holds no private key (-----BEGIN PRIVATE KEY-----): the certificate alone cannot sign in", "cat app.crt app.key > app.pem"],
  },
  {
    name: "a certificate file with only the private key",
    config: certificate(() => undefined),
    certificateFile: "PRIVATE_KEY",
    path: "source.certificatePath",
    says: [`holds no certificate (-----BEGIN CERTIFICATE-----); ${CERTIFICATE_FIX}`],
  },
  {
    name: "a binary (PKCS#12) file",
    config: certificate(() => undefined),
    certificateFile: Buffer.from([0x30, 0x82, 0x0a, 0x5b, 0x02, 0x01, 0x03, 0x30]),
    path: "source.certificatePath",
    says: ["is not a PEM file", "openssl pkcs12 -in app.pfx -out app.pem -nodes"],
  },
  {
    name: "a damaged certificate",
    config: certificate(() => undefined),
    certificateFile: "DAMAGED_CERTIFICATE",
    path: "source.certificatePath",
    says: ["holds a certificate that cannot be read (damaged or cut short)"],
  },
  {
    name: "a damaged private key",
    config: certificate(() => undefined),
    certificateFile: "DAMAGED_KEY",
    path: "source.certificatePath",
    says: ["holds a private key that cannot be read (damaged or cut short)"],
  },
  {
    name: "an encrypted private key without certificatePassword",
    config: certificate(() => undefined),
    certificateFile: "ENCRYPTED",
    path: "source.certificatePath",
    says: ["holds an encrypted private key; give its password in source.certificatePassword, written as ${env:NAME}"],
  },
  {
    name: "an encrypted private key and the wrong password",
    config: certificate((s) => (s.certificatePassword = "${env:WRONG_PASSWORD}")),
    env: { ...ENV, WRONG_PASSWORD: `${CERTIFICATE_PASSWORD}!` },
    certificateFile: "ENCRYPTED",
    path: "source.certificatePath",
    says: ["holds a private key that source.certificatePassword does not open; check the password"],
  },
  {
    name: "a private key of another certificate",
    config: certificate(() => undefined),
    certificateFile: "OTHER_KEY",
    path: "source.certificatePath",
    says: ["holds a private key that does not belong to its (first) certificate"],
  },
  // Hosts.
  {
    name: "an unknown cloud",
    config: secret((s) => (s.cloud = "public")),
    path: "source.cloud",
    says: ['expected global (Azure), usgov (Azure Government) or china (Azure operated by 21Vianet), got "public"'],
  },
  {
    name: "an http authorityHost, even to this machine",
    config: secret((s) => (s.authorityHost = "http://127.0.0.1:8080")),
    path: "source.authorityHost",
    says: ["must be an absolute https:// URL, e.g. https://login.microsoftonline.com: the Microsoft sign-in library (MSAL) refuses any other authority"],
  },
  {
    name: "an authorityHost with a password",
    config: secret((s) => (s.authorityHost = `https://user:${CLIENT_SECRET}@login.example.com`)),
    path: "source.authorityHost",
    says: ["must not contain a user name or password"],
  },
  {
    name: "an authorityHost with a query",
    config: secret((s) => (s.authorityHost = "https://login.example.com/?x=1")),
    path: "source.authorityHost",
    says: ["must be a URL without ?query or #fragment, e.g. https://login.microsoftonline.com"],
  },
  {
    name: "an authorityHost that ends with the tenant",
    config: secret((s) => (s.authorityHost = "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000001")),
    path: "source.authorityHost",
    says: ["must not end with a tenant or endpoint path", "/<source.tenantId>/oauth2/v2.0/token"],
  },
  {
    name: "an authorityHost that ends with a tenant domain",
    config: secret((s) => (s.authorityHost = "https://login.microsoftonline.com/contoso.onmicrosoft.com/")),
    path: "source.authorityHost",
    says: ["must not end with a tenant or endpoint path"],
  },
  {
    name: "an authorityHost that is not a URL",
    config: secret((s) => (s.authorityHost = "login.microsoftonline.com")),
    path: "source.authorityHost",
    says: ["must be an absolute https:// URL"],
  },
  {
    name: "a graphUrl with /v1.0",
    config: secret((s) => (s.graphUrl = "https://graph.microsoft.com/v1.0")),
    path: "source.graphUrl",
    says: ["must be a scheme and host (and port) only, e.g. https://graph.microsoft.com", "scimsync adds /v1.0"],
  },
  {
    name: "an http graphUrl to this machine",
    config: secret((s) => (s.graphUrl = "http://localhost:8080")),
    path: "source.graphUrl",
    says: ["must be an absolute https:// URL, e.g. https://graph.microsoft.com: Microsoft Graph is served over https only"],
  },
  {
    name: "a graphUrl with a fragment",
    config: secret((s) => (s.graphUrl = "https://graph.example.com#x")),
    path: "source.graphUrl",
    says: ["without ?query or #fragment"],
  },
  // fullSyncEvery and the readers' settings.
  {
    name: "fullSyncEvery never",
    config: secret((s) => (s.fullSyncEvery = "never")),
    path: "source.fullSyncEvery",
    says: ['"never" cannot be used', "a full read is what catches drift", "expected a duration from 10m to 30d"],
  },
  {
    name: "fullSyncEvery now",
    config: secret((s) => (s.fullSyncEvery = "now")),
    path: "source.fullSyncEvery",
    says: ['"now" is too short: it would make every run a full read', "from 10m to 30d"],
  },
  {
    name: "fullSyncEvery 5m",
    config: secret((s) => (s.fullSyncEvery = "5m")),
    path: "source.fullSyncEvery",
    says: ['"5m" is too short', "a full read of a large tenant takes minutes"],
  },
  {
    name: "fullSyncEvery 31d",
    config: secret((s) => (s.fullSyncEvery = "31d")),
    path: "source.fullSyncEvery",
    says: ['"31d" is too long: a full read is what catches drift'],
  },
  {
    name: "fullSyncEvery daily",
    config: secret((s) => (s.fullSyncEvery = "daily")),
    path: "source.fullSyncEvery",
    says: ['expected a duration from 10m to 30d such as 24h, 7d or 90m (<n>m, <n>h or <n>d), got "daily"'],
  },
  {
    name: "fullSyncEvery as a number",
    config: secret((s) => (s.fullSyncEvery = 24)),
    path: "source.fullSyncEvery",
    says: ["expected a duration from 10m to 30d", "got 24"],
  },
  {
    name: "a concurrency above 32",
    config: secret((s) => (s.concurrency = 33)),
    path: "source.concurrency",
    says: ["expected a whole number from 1 to 32, got 33"],
  },
  {
    name: "a zero timeout",
    config: secret((s) => (s.timeoutSeconds = 0)),
    path: "source.timeoutSeconds",
    says: ["expected seconds, a number greater than 0 and at most 600, got 0"],
  },
  {
    name: "retries above 10",
    config: secret((s) => (s.retries = 11)),
    path: "source.retries",
    says: ["expected a whole number from 0 to 10, got 11"],
  },
  // Scope.
  {
    name: "an assignedToApp that is not a GUID",
    config: secret((_s, c) => (c.scope = { assignedToApp: "Komeet" })),
    path: "scope.assignedToApp",
    says: ["expected the Object ID of the enterprise application (its service principal)", "not the application (client) id", 'got "Komeet"'],
  },
  {
    name: "an assignedToApp that is the clientId",
    config: secret((_s, c) => (c.scope = { assignedToApp: CLIENT_ID.toUpperCase() })),
    path: "scope.assignedToApp",
    says: ["is source.clientId, an application (client) id; scope.assignedToApp needs the Object ID of the enterprise application"],
  },
  {
    name: "an empty filter",
    config: secret((_s, c) => (c.scope = { filter: " " })),
    path: "scope.filter",
    says: ["must not be empty; expected an OData $filter on Microsoft Graph users, e.g. accountEnabled eq true"],
  },
  {
    name: "a filter written with $filter=",
    config: secret((_s, c) => (c.scope = { filter: "$filter=accountEnabled eq true" })),
    path: "scope.filter",
    says: ['must be the filter expression only, without "$filter=" (scimsync adds it)'],
  },
  {
    name: "a filter that is a list",
    config: secret((_s, c) => (c.scope = { filter: ["accountEnabled eq true"] })),
    path: "scope.filter",
    says: ["expected an OData $filter", "got a list"],
  },
];

function certificateFileOf(kind: string | Buffer): string | Buffer {
  if (typeof kind !== "string") return kind;
  const damage = (pem: string) => pem.replace(/\n[A-Za-z0-9+/]{20}/, "\n");
  const files: Record<string, string> = {
    CERTIFICATE,
    PRIVATE_KEY,
    DAMAGED_CERTIFICATE: `${damage(CERTIFICATE)}${PRIVATE_KEY}`,
    DAMAGED_KEY: `${CERTIFICATE}${damage(PRIVATE_KEY)}`,
    ENCRYPTED: `${CERTIFICATE}${ENCRYPTED_KEY}`,
    OTHER_KEY: `${CERTIFICATE}${OTHER_KEY}`,
  };
  const text = files[kind];
  if (text === undefined) throw new Error(`no certificate file ${kind}`);
  return text;
}

describe("loadConfig with a malformed microsoft source", () => {
  it.each(badCases)("Given $name, it names $path and the fix, and never a secret", async (c) => {
    if (c.certificateFile !== undefined) await writeFile(join(dir, "app.pem"), certificateFileOf(c.certificateFile), { mode: 0o600 });
    const error = await loadError(c.config(), c.env ?? ENV);
    const issue = error.issues.find((i) => i.path === c.path);
    expect(issue, `issues: ${JSON.stringify(error.issues)}`).toBeDefined();
    expect(error.issues.filter((i) => i.path === c.path)).toHaveLength(1);
    for (const piece of c.says) expect(issue?.message).toContain(piece.split("{dir}").join(dir));
    expectNoSecretIn(describeError(error));
  });

  it("Given a misspelt tenantId and clientSecret, it reports the misspellings only", async () => {
    const error = await loadError(base({ tenantID: TENANT_ID, clientId: CLIENT_ID, clientSecrt: "${env:AZURE_CLIENT_SECRET}" }));
    expect(error.issues).toEqual([
      { path: "source.tenantID", message: 'unknown key; did you mean "tenantId"?' },
      { path: "source.clientSecrt", message: 'unknown key; did you mean "clientSecret"?' },
    ]);
  });

  it("Given a misspelt key inside managedIdentity, it reports the misspelling only", async () => {
    const error = await loadError(base({ managedIdentity: { clientID: IDENTITY_CLIENT_ID } }));
    expect(error.issues).toEqual([{ path: "source.managedIdentity.clientID", message: 'unknown key; did you mean "clientId"?' }]);
  });

  it("Given an unknown key inside managedIdentity with nothing close, it lists the keys accepted there", async () => {
    const error = await loadError(base({ managedIdentity: { clientId: IDENTITY_CLIENT_ID, resourceId: "/subscriptions/x" } }));
    expect(error.issues).toEqual([
      { path: "source.managedIdentity.resourceId", message: "unknown key; the keys accepted in source.managedIdentity are clientId" },
    ]);
  });

  it("Given an unknown key inside workloadIdentity, it lists the keys accepted there", async () => {
    const error = await loadError(base({ workloadIdentity: { tokenFilePath: "./token", audience: "api://AzureADTokenExchange" } }));
    expect(error.issues).toEqual([
      { path: "source.workloadIdentity.audience", message: "unknown key; the keys accepted in source.workloadIdentity are tokenFilePath" },
    ]);
  });

  it("Given an unset certificate password variable, it reports the variable only, not the key it would open", async () => {
    await writeFile(join(dir, "app.pem"), `${CERTIFICATE}${ENCRYPTED_KEY}`, { mode: 0o600 });
    const error = await loadError(tap(aCertificateConfig(), (c) => (c.source.certificatePassword = "${env:CERTIFICATE_PASSWORD}")), { SCIM_TOKEN });
    expect(error.issues).toEqual([
      {
        path: "source.certificatePassword",
        message: "environment variable CERTIFICATE_PASSWORD is not set; set it for the scimsync process, or use ${file:PATH}",
      },
    ]);
  });

  it.each([
    ["a client secret with a line break", { clientSecret: `${CLIENT_SECRET}\nmore` }],
    ["a client secret with Bearer in front", { clientSecret: `Bearer ${CLIENT_SECRET} x` }],
    ["a client secret under another source type", { type: "google", clientSecret: CLIENT_SECRET }],
    ["a certificate password that is a list", { certificatePath: "./app.pem", certificatePassword: [CERTIFICATE_PASSWORD] }],
    ["a certificate password without a certificate", { certificatePassword: CERTIFICATE_PASSWORD }],
  ])("Given %s written inline, no message contains it", async (_name, source) => {
    const error = await loadError(tap(aSecretConfig(), (c) => Object.assign(c.source, source)));
    expectNoSecretIn(describeError(error));
  });

  it("Given the private key pasted in place of certificatePath, no message contains it", async () => {
    const error = await loadError(
      tap(aCertificateConfig(), (c) => Object.assign(c.source, { certificatePath: PRIVATE_KEY, certificatePassword: 42 })),
    );
    expect(error.issues).toEqual([
      {
        path: "source.certificatePath",
        message:
          "must be the path of the PEM file, not its content; write the certificate and its private key to a file and " +
          "give the path of a PEM file holding the certificate and its private key, relative to this config file",
      },
      expect.objectContaining({ path: "source.certificatePassword" }),
    ]);
    expectNoSecretIn(describeError(error));
  });

  it("Given a type from the list of unsupported ones, it lists file, google and microsoft", async () => {
    const error = await loadError(tap(aSecretConfig(), (c) => (c.source.type = "entra")));
    expect(error.issues).toContainEqual({
      path: "source.type",
      message: '"entra" is not supported; use file (a .json or .csv export), google (Google Workspace) or microsoft (Microsoft Entra ID)',
    });
  });
});

const ENTRA_USER_ATTRIBUTES =
  "(Microsoft Entra user attributes: id, userName, email, givenName, familyName, displayName, active, title, department, employeeNumber, " +
  `manager, preferredLanguage, addresses, phoneNumbers, ${GRAPH_EXTRA_NAMES.map((name) => `extra.${name}`).join(", ")})`;

describe("loadConfig with a microsoft source: what a mapping may read", () => {
  it.each<{ name: string; user: Record<string, unknown>[]; issues: { path: string; message: string }[] }>([
    {
      name: "a misspelt Entra extra",
      user: [{ target: "title", source: "extra.costCentre" }],
      issues: [
        {
          path: "mapping.user[0].source",
          message: `unknown Microsoft Entra user attribute "extra.costCentre"; did you mean extra.costCenter? ${ENTRA_USER_ATTRIBUTES}`,
        },
      ],
    },
    {
      name: "an extra Entra users do not have",
      user: [{ target: "nickName", source: "lower(extra.nickname)" }],
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            'unknown Microsoft Entra user attribute "extra.nickname"; scimsync reads only the Microsoft Entra user properties listed ' +
            `${ENTRA_USER_ATTRIBUTES} at column 7 of "lower(extra.nickname)"`,
        },
      ],
    },
    {
      name: "roles, which Entra users do not have, in a default",
      user: [{ target: "roles", source: "extra.employeeType", default: "roles" }],
      issues: [
        {
          path: "mapping.user[0].default",
          message:
            "Microsoft Entra users have no roles: the mapping would read nothing for every user and clear the attribute in the app; " +
            `map a literal such as 'Employee' or another attribute instead ${ENTRA_USER_ATTRIBUTES}`,
        },
      ],
    },
    {
      name: "an Entra extra written without extra.",
      user: [{ target: "title", source: "officeLocation" }],
      issues: [
        { path: "mapping.user[0].source", message: `unknown user attribute "officeLocation"; did you mean extra.officeLocation? ${ENTRA_USER_ATTRIBUTES}` },
      ],
    },
    {
      name: "a name inside a single-valued extra",
      user: [{ target: "title", source: "extra.costCenter.code" }],
      issues: [
        {
          path: "mapping.user[0].source",
          message: "extra.costCenter is a single value, with nothing inside to read; write extra.costCenter without .code",
        },
      ],
    },
    {
      name: "extra without a name",
      user: [{ target: "title", source: "extra" }],
      issues: [{ path: "mapping.user[0].source", message: `extra needs the name of a property of the Microsoft Entra user (${ENTRA_USER_ATTRIBUTES.slice(1, -1)})` }],
    },
    {
      name: "an unknown name",
      user: [{ target: "title", source: "{givenName} {middle}" }],
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            `unknown user attribute "middle"; scimsync reads only the Microsoft Entra user properties listed ${ENTRA_USER_ATTRIBUTES} ` +
            `at column 14 of "{givenName} {middle}"`,
        },
      ],
    },
  ])("Given $name, it reports exactly that", async ({ user, issues }) => {
    const error = await loadError(tap(aSecretConfig(), (c) => (c.mapping = { user })));
    expect(error.issues).toEqual(issues);
  });

  it("Given the Entra extras and group extras, it loads", async () => {
    const user = [
      { target: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", source: "extra.costCenter" },
      { target: "userType", source: "coalesce(extra.employeeType, extra.userType)" },
      { target: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division", source: "extra.division", default: "extra.companyName" },
    ];
    const { config } = await load(tap(aSecretConfig(), (c) => (c.mapping = { user, group: [{ target: "displayName", source: "extra.anything" }] })));
    expect(config.mapping.user.slice(-3)).toEqual(user);
  });

  it("Given a preset whose entries read roles, it loads: the preset's own entries are not judged", async () => {
    expect(PRESETS.recnice.user.some((e) => e.source === "roles")).toBe(true);
    const { config } = await load(tap(aSecretConfig(), (c) => (c.target.preset = "recnice")));
    expect(config.mapping.user).toEqual(PRESETS.recnice.user);
  });

  it("Given a Google-only extra, it is refused with microsoft", async () => {
    const error = await loadError(tap(aSecretConfig(), (c) => (c.mapping = { user: [{ target: "title", source: "extra.customSchemas.HR.level" }] })));
    expect(error.issues).toEqual([
      {
        path: "mapping.user[0].source",
        message: `unknown Microsoft Entra user attribute "extra.customSchemas"; scimsync reads only the Microsoft Entra user properties listed ${ENTRA_USER_ATTRIBUTES}`,
      },
    ]);
  });
});
