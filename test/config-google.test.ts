import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../src/config/load-config.js";
import { PRESETS } from "../src/config/presets.js";
import { configSchema } from "../src/config/schema.js";
import { ConfigError } from "../src/errors.js";

/** A real key, so that a leak of any part of it shows. */
const PRIVATE_KEY = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
}).privateKey;
const ACCESS_TOKEN = "ya29.a0AfB_byC-Qx7vR2mK9wZ4pL8sTn3";
const SCIM_TOKEN = "tok-Qx7vR2mK9wZ4pL8s";
const ENV = { SCIM_TOKEN, GOOGLE_ACCESS_TOKEN: ACCESS_TOKEN };

/** The JSON key file as the Google Cloud console downloads it. */
function aKeyFile(edit?: (key: Record<string, unknown>) => void): string {
  const key: Record<string, unknown> = {
    type: "service_account",
    project_id: "scimsync-test",
    private_key_id: "0123456789abcdef0123456789abcdef01234567",
    private_key: PRIVATE_KEY,
    client_email: "scimsync@scimsync-test.iam.gserviceaccount.com",
    client_id: "104857600000000000001",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: "https://oauth2.googleapis.com/token",
  };
  edit?.(key);
  return JSON.stringify(key, null, 2);
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-config-google-"));
  await writeFile(join(dir, "service-account.json"), aKeyFile(), { mode: 0o600 });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function aGoogleConfig(): Record<string, any> {
  return {
    source: { type: "google", credentials: "${file:./service-account.json}", subject: "admin@example.com" },
    target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}" },
  };
}

function aTokenConfig(): Record<string, any> {
  return tap(aGoogleConfig(), (c) => (c.source = { type: "google", accessToken: "${env:GOOGLE_ACCESS_TOKEN}" }));
}

function aFileConfig(): Record<string, any> {
  return {
    source: { type: "file", path: "./directory.json" },
    target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}" },
  };
}

function tap<T>(value: T, edit?: (v: T) => void): T {
  edit?.(value);
  return value;
}

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
  const body = PRIVATE_KEY.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
  const pieces = body.flatMap((line) => Array.from({ length: Math.floor(line.length / 8) }, (_, i) => line.slice(i * 8, i * 8 + 12)));
  return [...pieces.filter((p) => p.length === 12), ACCESS_TOKEN, ACCESS_TOKEN.slice(5, 17), SCIM_TOKEN];
}

function expectNoSecretIn(text: string): void {
  for (const piece of secretPieces()) expect(text, piece).not.toContain(piece);
}

describe("loadConfig with source.type google", () => {
  it("Given a service account key as ${file:} and a subject, it loads with every default", async () => {
    const { config, warnings } = await load(aGoogleConfig());
    expect(warnings).toEqual([]);
    expect(config.source).toEqual({
      type: "google",
      customer: "my_customer",
      serviceAccount: {
        clientEmail: "scimsync@scimsync-test.iam.gserviceaccount.com",
        privateKey: PRIVATE_KEY,
        privateKeyId: "0123456789abcdef0123456789abcdef01234567",
        clientId: "104857600000000000001",
        subject: "admin@example.com",
      },
      archived: "ignore",
      showDeleted: false,
      concurrency: 4,
      timeoutSeconds: 60,
      retries: 5,
    });
    expect(config.scope).toEqual({});
  });

  it("Given an access token as ${env:} and every other key, it keeps them, lower-cases the domain and ends apiRoot with /", async () => {
    const { config, warnings } = await load(
      tap(aTokenConfig(), (c) =>
        Object.assign(c.source, {
          customer: "C01abc2de",
          domain: " Example.COM ",
          apiRoot: "http://127.0.0.1:8080",
          archived: "treat-as-suspended",
          showDeleted: true,
          concurrency: 32,
          timeoutSeconds: 2.5,
          retries: 0,
        }),
      ),
    );
    expect(warnings).toEqual([]);
    expect(config.source).toEqual({
      type: "google",
      customer: "C01abc2de",
      domain: "example.com",
      accessToken: ACCESS_TOKEN,
      apiRoot: "http://127.0.0.1:8080/",
      archived: "treat-as-suspended",
      showDeleted: true,
      concurrency: 32,
      timeoutSeconds: 2.5,
      retries: 0,
    });
  });

  it.each([
    ["https://admin.googleapis.com", "https://admin.googleapis.com/"],
    ["https://admin.googleapis.com/", "https://admin.googleapis.com/"],
    ["https://Google-API.example.com:8443", "https://google-api.example.com:8443/"],
  ])("Given apiRoot %s, it becomes %s", async (apiRoot, expected) => {
    const { config } = await load(tap(aTokenConfig(), (c) => (c.source.apiRoot = apiRoot)));
    expect(config.source).toMatchObject({ apiRoot: expected });
  });

  it("Given scope.orgUnits, they are trimmed, lose a trailing / (except /) and are deduplicated; query is trimmed", async () => {
    const { config } = await load(
      tap(aGoogleConfig(), (c) => {
        c.scope = {
          orgUnits: [" /Sales/ ", "/Engineering", "/Sales", "/", "//", "/Engineering/Platform/"],
          groups: ["all-employees@example.com"],
          query: " isAdmin=false ",
        };
      }),
    );
    expect(config.scope).toEqual({
      groups: ["all-employees@example.com"],
      orgUnits: ["/Sales", "/Engineering", "/", "/Engineering/Platform"],
      query: "isAdmin=false",
    });
  });

  it("Given an empty orgUnits list, scope stays open", async () => {
    const { config } = await load(tap(aGoogleConfig(), (c) => (c.scope = { orgUnits: [] })));
    expect(config.scope).toEqual({});
  });

  it("Given the credentials written inline, it loads and warns without repeating any of the key", async () => {
    const { config, warnings } = await load(tap(aGoogleConfig(), (c) => (c.source.credentials = aKeyFile())));
    expect(config.source).toMatchObject({ serviceAccount: { privateKey: PRIVATE_KEY } });
    expect(warnings).toEqual([expect.stringContaining("source.credentials is written in the config file; prefer ${file:PATH}")]);
    expectNoSecretIn(warnings.join("\n"));
  });

  it("Given the access token written inline, it loads and warns without repeating it", async () => {
    const { warnings } = await load(tap(aTokenConfig(), (c) => (c.source.accessToken = ACCESS_TOKEN)));
    expect(warnings).toEqual(["source.accessToken is written in the config file; prefer ${env:NAME} so the token stays out of it"]);
  });

  it("Given a file source, the Google keys' defaults do not show in its config", async () => {
    await writeFile(join(dir, "directory.json"), "[]");
    const { config } = await load(aFileConfig());
    expect(config.source).toEqual({ type: "file", path: join(dir, "directory.json") });
  });

  it("documents the Google keys in the JSON Schema", () => {
    const schema = z.toJSONSchema(configSchema, { io: "input" }) as { properties: Record<string, any> };
    const source = schema.properties.source.properties;
    expect(source.type.enum).toEqual(["file", "google", "microsoft"]);
    expect(source.concurrency).toMatchObject({ type: "integer", minimum: 1, maximum: 32, default: 4 });
    expect(source.customer.default).toBe("my_customer");
    expect(source.archived).toMatchObject({ enum: ["ignore", "treat-as-suspended"], default: "ignore" });
    expect(Object.keys(schema.properties.scope.properties)).toEqual(["groups", "orgUnits", "query", "assignedToApp", "filter"]);
  });
});

interface BadCase {
  name: string;
  config: () => Record<string, any>;
  env?: NodeJS.ProcessEnv;
  /** A key file written as service-account.json instead of the valid one. */
  keyFile?: string;
  path: string;
  says: string[];
}

const google = (edit: (source: Record<string, any>, c: Record<string, any>) => void) => () =>
  tap(aGoogleConfig(), (c) => edit(c.source, c));
const token = (edit: (source: Record<string, any>, c: Record<string, any>) => void) => () => tap(aTokenConfig(), (c) => edit(c.source, c));
const file = (edit: (source: Record<string, any>, c: Record<string, any>) => void) => () => tap(aFileConfig(), (c) => edit(c.source, c));

const KEY_FILE_FIX =
  "expected the service account key file downloaded from the Google Cloud console; write it as ${file:./service-account.json}";

const badCases: BadCase[] = [
  {
    name: "source.path with google",
    config: google((s) => (s.path = "./directory.json")),
    path: "source.path",
    says: ["is for source.type file; remove it (source.type is google)"],
  },
  {
    name: "an empty source.path with google (one complaint, not two)",
    config: google((s) => (s.path = "")),
    path: "source.path",
    says: ["is for source.type file"],
  },
  {
    name: "source.customer with file",
    config: file((s) => (s.customer = "my_customer")),
    path: "source.customer",
    says: ["is for source.type google; remove it (source.type is file)"],
  },
  {
    name: "an invalid source.concurrency with file (one complaint, not two)",
    config: file((s) => (s.concurrency = 100)),
    path: "source.concurrency",
    says: ["is for source.type google"],
  },
  {
    name: "scope.orgUnits with file",
    config: file((_s, c) => (c.scope = { orgUnits: ["/Sales", "Engineering"] })),
    path: "scope.orgUnits",
    says: ["is only for source.type google", "scope.groups"],
  },
  {
    name: "scope.query with file",
    config: file((_s, c) => (c.scope = { query: "isAdmin=false" })),
    path: "scope.query",
    says: ["is only for source.type google"],
  },
  {
    name: "a file source without a path",
    config: file((s) => delete s.path),
    path: "source.path",
    says: ["is required with source.type file", "(.json or .csv), relative to this config file"],
  },
  {
    name: "a capitalised source type",
    config: google((s) => (s.type = "Google")),
    path: "source.type",
    says: ['"Google" is not supported; did you mean "google"?'],
  },
  {
    name: "neither credentials nor accessToken",
    config: google((s) => {
      delete s.credentials;
      delete s.subject;
    }),
    path: "source",
    says: ["needs source.credentials or source.accessToken", "service account with domain-wide delegation", "short-lived OAuth token"],
  },
  {
    name: "both credentials and accessToken",
    config: google((s) => (s.accessToken = "${env:GOOGLE_ACCESS_TOKEN}")),
    path: "source",
    says: ["has both source.credentials and source.accessToken; keep one"],
  },
  {
    name: "credentials that are not JSON",
    config: google(() => undefined),
    keyFile: `not json ${PRIVATE_KEY}`,
    path: "source.credentials",
    says: [`is not valid JSON: ${KEY_FILE_FIX}`],
  },
  {
    name: "a key file cut short",
    config: google(() => undefined),
    keyFile: aKeyFile().slice(0, 400),
    path: "source.credentials",
    says: [`is not valid JSON: ${KEY_FILE_FIX}`],
  },
  {
    name: "a PEM private key instead of the key file",
    config: google(() => undefined),
    keyFile: PRIVATE_KEY,
    path: "source.credentials",
    says: ["holds a PEM private key on its own; expected the whole JSON key file"],
  },
  {
    name: "a JSON list",
    config: google(() => undefined),
    keyFile: JSON.stringify([PRIVATE_KEY]),
    path: "source.credentials",
    says: ["is JSON but not an object"],
  },
  {
    name: "an authorized_user key",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => (k.type = "authorized_user")),
    path: "source.credentials",
    says: ["is a key of type authorized_user; expected a service account key (type service_account)"],
  },
  {
    name: "a key of an unknown type",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => (k.type = PRIVATE_KEY)),
    path: "source.credentials",
    says: ["is not a service account key; expected a service account key (type service_account)"],
  },
  {
    name: "a key without type",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => delete k.type),
    path: "source.credentials",
    says: ['has no "type"'],
  },
  {
    name: "a key without client_email",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => delete k.client_email),
    path: "source.credentials",
    says: ["has no client_email", "download a new JSON key"],
  },
  {
    name: "a key without private_key",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => delete k.private_key),
    path: "source.credentials",
    says: ["has no private_key"],
  },
  {
    name: "a private_key that looks like PEM but is damaged",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => (k.private_key = PRIVATE_KEY.replace(/\n[A-Za-z0-9+/]{20}/, "\n"))),
    path: "source.credentials",
    says: ["has a private_key that cannot be read as a private key (damaged or cut short)"],
  },
  {
    name: "a private_key that is not PEM",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => (k.private_key = PRIVATE_KEY.split("\n").slice(1, -2).join(""))),
    path: "source.credentials",
    says: ["has a private_key that is not a PEM private key"],
  },
  {
    name: "a numeric client_id",
    config: google(() => undefined),
    keyFile: aKeyFile((k) => (k.client_id = 104857600000000000001)),
    path: "source.credentials",
    says: ["has a client_id that is not text"],
  },
  {
    name: "credentials written as a YAML mapping",
    config: google((s) => (s.credentials = JSON.parse(aKeyFile()))),
    path: "source.credentials",
    says: ["expected the service account key as JSON text", "got a mapping", "own file"],
  },
  {
    name: "credentials without subject",
    config: google((s) => delete s.subject),
    path: "source.subject",
    says: ["is required with source.credentials", "Google Workspace admin", "domain-wide delegation"],
  },
  {
    name: "a subject that is not an email address",
    config: google((s) => (s.subject = "admin")),
    path: "source.subject",
    says: ["expected the email address of a Google Workspace admin", 'got "admin"'],
  },
  {
    name: "a subject with accessToken",
    config: token((s) => (s.subject = "admin@example.com")),
    path: "source.subject",
    says: ["is not used with source.accessToken: the token already acts as its user", "remove source.subject"],
  },
  {
    name: "a tokenUrl with accessToken",
    config: token((s) => (s.tokenUrl = "https://oauth2.googleapis.com/token")),
    path: "source.tokenUrl",
    says: ["is not used with source.accessToken: no token is requested"],
  },
  {
    name: "an empty access token",
    config: token(() => undefined),
    env: { ...ENV, GOOGLE_ACCESS_TOKEN: "" },
    path: "source.accessToken",
    says: ["must not be empty", "Google OAuth access token"],
  },
  {
    name: "an access token with Bearer in front",
    config: token(() => undefined),
    env: { ...ENV, GOOGLE_ACCESS_TOKEN: `Bearer ${ACCESS_TOKEN}` },
    path: "source.accessToken",
    says: ['without "Bearer " in front'],
  },
  {
    name: "an access token with a line break",
    config: token(() => undefined),
    env: { ...ENV, GOOGLE_ACCESS_TOKEN: `${ACCESS_TOKEN}\nmore` },
    path: "source.accessToken",
    says: ["line breaks"],
  },
  {
    name: "an access token of the wrong type",
    config: token((s) => (s.accessToken = 73910264551)),
    path: "source.accessToken",
    says: ["expected a Google OAuth access token as text", "got a number"],
  },
  {
    name: "a customer with punctuation",
    config: google((s) => (s.customer = "my-customer")),
    path: "source.customer",
    says: ["expected my_customer", "letters and digits, e.g. C01abc2de", 'got "my-customer"'],
  },
  {
    name: "a domain written as a URL",
    config: google((s) => (s.domain = "https://example.com")),
    path: "source.domain",
    says: ["expected a domain name such as example.com", 'got "https://example.com"'],
  },
  {
    name: "an apiRoot with a path",
    config: token((s) => (s.apiRoot = "https://gateway.example.com/google/")),
    path: "source.apiRoot",
    says: ["must be a scheme and host (and port) only", "replaces the path of its root URL", "silently dropped"],
  },
  {
    name: "an apiRoot over http to another host",
    config: token((s) => (s.apiRoot = "http://gateway.example.com/")),
    path: "source.apiRoot",
    says: ["must be an absolute https:// URL (http:// is allowed only for 127.0.0.1/localhost/[::1]"],
  },
  {
    name: "an apiRoot with a query",
    config: token((s) => (s.apiRoot = "https://admin.googleapis.com/?key=abc")),
    path: "source.apiRoot",
    says: ["without ?query or #fragment", "https://admin.googleapis.com/"],
  },
  {
    name: "a tokenUrl that is not a URL",
    config: google((s) => (s.tokenUrl = "oauth2.googleapis.com/token")),
    path: "source.tokenUrl",
    says: ["must be an absolute https:// URL"],
  },
  {
    name: "a tokenUrl with a password",
    config: google((s) => (s.tokenUrl = `https://user:${SCIM_TOKEN}@oauth.example.com/token`)),
    path: "source.tokenUrl",
    says: ["must not contain a user name or password", "source.credentials or source.accessToken"],
  },
  {
    name: "an unknown archived",
    config: google((s) => (s.archived = "delete")),
    path: "source.archived",
    says: ['expected ignore or treat-as-suspended, got "delete"'],
  },
  {
    name: "showDeleted as text",
    config: google((s) => (s.showDeleted = "yes")),
    path: "source.showDeleted",
    says: ['expected true or false, got "yes"'],
  },
  {
    name: "a concurrency above 32",
    config: google((s) => (s.concurrency = 33)),
    path: "source.concurrency",
    says: ["expected a whole number from 1 to 32, got 33"],
  },
  {
    name: "a timeout above 600",
    config: google((s) => (s.timeoutSeconds = 601)),
    path: "source.timeoutSeconds",
    says: ["expected seconds, a number greater than 0 and at most 600, got 601"],
  },
  {
    name: "a zero timeout",
    config: google((s) => (s.timeoutSeconds = 0)),
    path: "source.timeoutSeconds",
    says: ["greater than 0", "got 0"],
  },
  {
    name: "retries above 10",
    config: google((s) => (s.retries = 11)),
    path: "source.retries",
    says: ["expected a whole number from 0 to 10, got 11"],
  },
  {
    name: "an organisational unit without a leading /",
    config: google((_s, c) => (c.scope = { orgUnits: ["/Sales", "Engineering"] })),
    path: "scope.orgUnits[1]",
    says: ['expected an organisational unit path starting with "/"', '("/" is the whole organisation), got "Engineering"'],
  },
  {
    name: "orgUnits written as one path",
    config: google((_s, c) => (c.scope = { orgUnits: "/Sales" })),
    path: "scope.orgUnits",
    says: ["expected a list of organisational unit paths", 'got "/Sales"'],
  },
  {
    name: "an empty query",
    config: google((_s, c) => (c.scope = { query: " " })),
    path: "scope.query",
    says: ["must not be empty", "Directory API user search"],
  },
];

describe("loadConfig with a malformed google source", () => {
  it.each(badCases)("Given $name, it names $path and the fix, and never a secret", async (c) => {
    if (c.keyFile !== undefined) await writeFile(join(dir, "service-account.json"), c.keyFile, { mode: 0o600 });
    const error = await loadError(c.config(), c.env ?? ENV);
    const issue = error.issues.find((i) => i.path === c.path);
    expect(issue, `issues: ${JSON.stringify(error.issues)}`).toBeDefined();
    expect(error.issues.filter((i) => i.path === c.path)).toHaveLength(1);
    for (const piece of c.says) expect(issue?.message).toContain(piece);
    expectNoSecretIn(`${String(error)}\n${error.hint ?? ""}\n${JSON.stringify(error.issues)}`);
  });

  it.each([
    ["the key file cut short", aKeyFile().slice(0, 700)],
    ["an authorized_user key", aKeyFile((k) => (k.type = "authorized_user"))],
    ["a key without client_email", aKeyFile((k) => delete k.client_email)],
    ["a private key without its header", aKeyFile((k) => (k.private_key = PRIVATE_KEY.replace(/-----[A-Z ]+-----/g, "")))],
    ["the PEM alone", PRIVATE_KEY],
  ])("Given %s written inline in the config, no message contains any part of the key", async (_name, credentials) => {
    const error = await loadError(tap(aGoogleConfig(), (c) => (c.source.credentials = credentials)));
    expect(error.issues.map((i) => i.path)).toEqual(["source.credentials"]);
    expectNoSecretIn(`${String(error)}\n${error.hint ?? ""}\n${JSON.stringify(error.issues)}`);
  });

  it("Given a misspelt credentials key, it reports the misspelling only, not missing credentials as well", async () => {
    const error = await loadError(
      google((s) => {
        s.credential = s.credentials;
        delete s.credentials;
      })(),
    );
    expect(error.issues).toEqual([{ path: "source.credential", message: 'unknown key; did you mean "credentials"?' }]);
  });

  it("Given a misspelt path with a file source, it reports the misspelling only", async () => {
    const error = await loadError(
      file((s) => {
        s.pth = s.path;
        delete s.path;
      })(),
    );
    expect(error.issues).toEqual([{ path: "source.pth", message: 'unknown key; did you mean "path"?' }]);
  });

  it("Given an unknown key in a google source with nothing close, it lists the keys accepted", async () => {
    const error = await loadError(google((s) => (s.projectId = "x"))());
    expect(error.issues).toEqual([{ path: "source.projectId", message: expect.stringContaining("unknown key; the keys accepted in source are type, path, customer") }]);
  });
});

const GOOGLE_USER_ATTRIBUTES =
  "(Google user attributes: id, userName, email, givenName, familyName, displayName, active, title, department, employeeNumber, " +
  "manager, preferredLanguage, addresses, phoneNumbers, extra.orgUnitPath, extra.costCenter, extra.employeeType, extra.location, " +
  "extra.organization, extra.isAdmin, extra.aliases, extra.recoveryEmail, extra.customSchemas.<schema>.<field>)";

describe("loadConfig with a google source: what a mapping may read", () => {
  it.each<{ name: string; user: Record<string, unknown>[]; issues: { path: string; message: string }[] }>([
    {
      name: "a misspelt Google extra",
      user: [{ target: "title", source: "extra.costCentre" }],
      issues: [
        { path: "mapping.user[0].source", message: `unknown Google user attribute "extra.costCentre"; did you mean extra.costCenter? ${GOOGLE_USER_ATTRIBUTES}` },
      ],
    },
    {
      name: "an extra Google users do not have",
      user: [{ target: "nickName", source: "lower(extra.nickname)" }],
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            'unknown Google user attribute "extra.nickname"; a custom attribute of the Admin console is read as extra.customSchemas.<schema>.<field> ' +
            `${GOOGLE_USER_ATTRIBUTES} at column 7 of "lower(extra.nickname)"`,
        },
      ],
    },
    {
      name: "customSchemas without a field",
      user: [{ target: "title", source: "extra.customSchemas.HR" }],
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            "extra.customSchemas needs a schema and a field: extra.customSchemas.<schema>.<field>, e.g. extra.customSchemas.HR.costCenter, " +
            "as the custom attributes are named in the Admin console's schema (its API names)",
        },
      ],
    },
    {
      name: "roles, which Google users do not have, in a default",
      user: [{ target: "roles", source: "extra.employeeType", default: "roles" }],
      issues: [
        {
          path: "mapping.user[0].default",
          message:
            "Google Workspace users have no roles: the mapping would read nothing for every user and clear the attribute in the app; " +
            `map a literal such as 'Employee' or another attribute instead ${GOOGLE_USER_ATTRIBUTES}`,
        },
      ],
    },
    {
      name: "a Google extra written without extra.",
      user: [{ target: "title", source: "costCenter" }],
      issues: [{ path: "mapping.user[0].source", message: `unknown user attribute "costCenter"; did you mean extra.costCenter? ${GOOGLE_USER_ATTRIBUTES}` }],
    },
    {
      name: "a misspelt model attribute (the Google list, once)",
      user: [{ target: "title", source: "titel" }],
      issues: [{ path: "mapping.user[0].source", message: `unknown user attribute "titel"; did you mean title? ${GOOGLE_USER_ATTRIBUTES}` }],
    },
    {
      name: "an unknown name",
      user: [{ target: "title", source: "{givenName} {middle}" }],
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            `unknown user attribute "middle"; a custom attribute of the Admin console is read as extra.customSchemas.<schema>.<field> ${GOOGLE_USER_ATTRIBUTES} ` +
            `at column 14 of "{givenName} {middle}"`,
        },
      ],
    },
  ])("Given $name, it reports exactly that", async ({ user, issues }) => {
    const error = await loadError(tap(aGoogleConfig(), (c) => (c.mapping = { user })));
    expect(error.issues).toEqual(issues);
  });

  it("Given the Google extras, custom schema fields and group extras, it loads", async () => {
    const user = [
      { target: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", source: "extra.costCenter" },
      { target: "nickName", source: "coalesce(extra.customSchemas.HR.nickName, givenName)" },
      { target: "userType", source: "extra.customSchemas.Employment_Details.type", default: "extra.employeeType" },
    ];
    const { config } = await load(tap(aGoogleConfig(), (c) => (c.mapping = { user, group: [{ target: "displayName", source: "extra.anything" }] })));
    expect(config.mapping.user.slice(-3)).toEqual(user);
  });

  it("Given a preset whose entries read roles, it loads: the preset's own entries are not judged", async () => {
    expect(PRESETS.recnice.user.some((e) => e.source === "roles")).toBe(true);
    const { config } = await load(tap(aGoogleConfig(), (c) => (c.target.preset = "recnice")));
    expect(config.mapping.user).toEqual(PRESETS.recnice.user);
  });

  it("Given the same mapping with a file source, any extra and roles are fine", async () => {
    const { config } = await load(
      tap(aFileConfig(), (c) => (c.mapping = { user: [{ target: "title", source: "extra.costCentre" }, { target: "roles", source: "roles" }] })),
    );
    expect(config.mapping.user).toContainEqual({ target: "title", source: "extra.costCentre" });
    expect(config.mapping.user).toContainEqual({ target: "roles", source: "roles" });
  });
});
