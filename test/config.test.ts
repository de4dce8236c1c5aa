import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../src/config/load-config.js";
import { PRESETS } from "../src/config/presets.js";
import { configSchema } from "../src/config/schema.js";
import { compileMapping, ENTERPRISE_USER, mapUser } from "../src/core/mapping.js";
import { ConfigError } from "../src/errors.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Distinctive, so that finding it anywhere in an error means a secret leaked. */
const SECRET = "tok-Qx7vR2mK9wZ4pL8s";
const ENV = { SCIM_TOKEN: SECRET };

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "scimsync-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(text: string, name = "scimsync.yaml"): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** A valid config as a plain object, for cases that change one key. */
function aConfig(): Record<string, any> {
  return {
    source: { type: "file", path: "./directory.json" },
    target: { url: "https://app.example.com/scim/v2", token: "${env:SCIM_TOKEN}" },
  };
}

async function loadError(text: string, env: NodeJS.ProcessEnv = ENV): Promise<ConfigError> {
  const file = await writeConfig(text);
  const error = await loadConfig(file, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

function expectNoSecret(error: ConfigError, secret = SECRET): void {
  expect(String(error)).not.toContain(secret);
  expect(error.hint ?? "").not.toContain(secret);
  expect(JSON.stringify(error.issues)).not.toContain(secret);
}

describe("loadConfig with valid files", () => {
  it("Given config.example.yaml and SCIM_TOKEN set, it loads without errors or warnings", async () => {
    const example = resolve("config.example.yaml");
    const { config, warnings } = await loadConfig(example, { SCIM_TOKEN: "example-token" });
    expect(warnings).toEqual([]);
    expect(config.source).toEqual({ type: "file", path: resolve("examples/directory.json") });
    expect(config.target.token).toBe("example-token");
    expect(config.target.url).toBe("https://app.example.com/scim/v2");
    expect(config.state.path).toBe(resolve("scimsync.state.json"));
    expect(config.scope).toEqual({ groups: ["All Staff"] });
    expect(config.deprovision.deleted).toEqual({ suspend: 0, delete: 21 * DAY });
    expect(config.target).toMatchObject({ preset: "generic", dialect: "patch", maxMembersPerPatch: 100, readGroupMembers: "changed" });
    expect(config.provisionGroups).toBe("scoped");
    expect(config.groupDeprovision).toEqual({ delete: "never" });
    // The example's three entries: an added target, a replaced one, a dropped one.
    const targets = config.mapping.user.map((e) => e.target);
    expect(targets.at(-1)).toBe(`${ENTERPRISE_USER}:costCenter`);
    expect(config.mapping.user.find((e) => e.target === "title")).toEqual({ target: "title", source: "coalesce(title, 'Staff')" });
    expect(targets).not.toContain("preferredLanguage");
    expect(config.mapping.group).toEqual(PRESETS.generic.group);
  });

  it("Given only source and target, it applies every default", async () => {
    const file = await writeConfig(stringify(aConfig()));
    const { config } = await loadConfig(file, ENV);
    expect(config).toEqual({
      source: { type: "file", path: join(dir, "directory.json") },
      target: {
        url: "https://app.example.com/scim/v2",
        token: SECRET,
        concurrency: 8,
        rateLimit: 25,
        timeoutSeconds: 30,
        retries: 4,
        pageSize: 100,
        matchBy: "externalId",
        tls: { rejectUnauthorized: true },
        allowInsecureHttp: false,
        preset: "generic",
        dialect: "patch",
        maxMembersPerPatch: 100,
        readGroupMembers: "changed",
        requireEmail: false,
        groups: true,
      },
      state: { path: join(dir, "scimsync.state.json") },
      log: {},
      scope: {},
      mapping: { user: PRESETS.generic.user, group: PRESETS.generic.group, matching: ["externalId", "userName"] },
      provisionGroups: "scoped",
      deprovision: {
        outOfScope: { suspend: 0, delete: "never" },
        suspended: { suspend: 0, delete: "never" },
        deleted: { suspend: 0, delete: "never" },
      },
      groupDeprovision: { delete: "never" },
      safety: { maxDeprovisions: 50, maxDeprovisionPercent: 20 },
      notify: {},
    });
  });

  it("Given every key, it keeps the values and parses the delays", async () => {
    await writeFile(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    const file = await writeConfig(`
source: { type: file, path: data/users.csv }
target:
  url: http://127.0.0.1:8080/scim/v2/
  token: \${env:SCIM_TOKEN}
  concurrency: 2
  rateLimit: 0
  timeoutSeconds: 2.5
  retries: 0
  pageSize: 1000
  matchBy: userName
  tls: { rejectUnauthorized: true, caFile: ca.pem }
  allowInsecureHttp: false
state: { path: /var/lib/scimsync/state.json }
scope: { groups: [" Engineering ", g-sales, Engineering] }
deprovision:
  outOfScope: { suspend: 36h, delete: 90d }
  suspended: { suspend: never, delete: 7d }
  deleted: { delete: 1d }
safety: { maxDeprovisions: 0, maxDeprovisionPercent: 2.5 }
`);
    const { config } = await loadConfig(file, ENV);
    expect(config.source).toEqual({ type: "file", path: join(dir, "data/users.csv") });
    expect(config.target).toMatchObject({
      url: "http://127.0.0.1:8080/scim/v2",
      concurrency: 2,
      rateLimit: 0,
      timeoutSeconds: 2.5,
      retries: 0,
      pageSize: 1000,
      matchBy: "userName",
      tls: { rejectUnauthorized: true, caFile: join(dir, "ca.pem") },
    });
    expect(config.state.path).toBe("/var/lib/scimsync/state.json");
    expect(config.scope.groups).toEqual(["Engineering", "g-sales"]);
    expect(config.deprovision).toEqual({
      outOfScope: { suspend: 36 * HOUR, delete: 90 * DAY },
      suspended: { suspend: "never", delete: 7 * DAY },
      deleted: { suspend: 0, delete: DAY },
    });
    expect(config.safety).toEqual({ maxDeprovisions: 0, maxDeprovisionPercent: 2.5 });
  });

  it("Given a partially written deprovision case, it fills the other half from the default", async () => {
    const file = await writeConfig(stringify({ ...aConfig(), deprovision: { suspended: { suspend: "7d" }, deleted: { delete: "21d" } } }));
    const { config } = await loadConfig(file, ENV);
    expect(config.deprovision.suspended).toEqual({ suspend: 7 * DAY, delete: "never" });
    expect(config.deprovision.deleted).toEqual({ suspend: 0, delete: 21 * DAY });
  });

  it("Given ${env:} and ${file:} references, it resolves them, also inside longer text", async () => {
    await writeFile(join(dir, "token"), `${SECRET}\n`, { mode: 0o600 });
    const file = await writeConfig(`
source: { type: file, path: "\${env:DATA_DIR}/directory.json" }
target:
  url: "https://\${env:SCIM_HOST}/scim/v2"
  token: \${file:token}
`);
    const { config, warnings } = await loadConfig(file, { DATA_DIR: "/srv/hr", SCIM_HOST: "scim.example.net" });
    expect(config.source).toEqual({ type: "file", path: "/srv/hr/directory.json" });
    expect(config.target.url).toBe("https://scim.example.net/scim/v2");
    expect(config.target.token).toBe(SECRET);
    expect(warnings).toEqual([]);
  });

  it("Given a ${file:} token with two trailing newlines, only one is trimmed, so the token is refused", async () => {
    await writeFile(join(dir, "token"), `${SECRET}\n\n`, { mode: 0o600 });
    const error = await loadError(stringify(tap(aConfig(), (c) => (c.target.token = "${file:./token}"))), {});
    expect(error.issues).toEqual([{ path: "target.token", message: expect.stringContaining("line breaks") }]);
    expectNoSecret(error);
  });

  it("Given relative paths, it resolves them against the config file's directory, not the working directory", async () => {
    await mkdir(join(dir, "conf"));
    await mkdir(join(dir, "conf", "secrets"));
    await writeFile(join(dir, "conf", "secrets", "token"), SECRET, { mode: 0o600 });
    await writeFile(join(dir, "conf", "ca.pem"), "pem");
    const file = await writeConfig(
      stringify({
        source: { type: "file", path: "../hr/export.json" },
        target: { url: "https://app.example.com/scim/v2", token: "${file:secrets/token}", tls: { caFile: "./ca.pem" } },
        state: { path: "state/scimsync.json" },
      }),
      "conf/scimsync.yaml",
    );
    expect(process.cwd()).not.toBe(join(dir, "conf"));
    const { config } = await loadConfig(file, {});
    expect(config.source).toEqual({ type: "file", path: join(dir, "hr", "export.json") });
    expect(config.state.path).toBe(join(dir, "conf", "state", "scimsync.json"));
    expect(config.target.tls.caFile).toBe(join(dir, "conf", "ca.pem"));
    expect(config.target.token).toBe(SECRET);
  });

  it("Given sections left empty (every sub-key commented out), they take their defaults", async () => {
    const file = await writeConfig(`${stringify(aConfig())}\nscope:\n  # groups: [Sales]\nsafety:\ndeprovision:\n  deleted:\n`);
    const { config } = await loadConfig(file, ENV);
    expect(config.scope).toEqual({});
    expect(config.safety).toEqual({ maxDeprovisions: 50, maxDeprovisionPercent: 20 });
    expect(config.deprovision.deleted).toEqual({ suspend: 0, delete: "never" });
  });

  it("Given allowInsecureHttp: true, a remote http:// URL loads with a warning", async () => {
    const config = aConfig();
    config.target.url = "http://scim.internal.example.com/scim";
    config.target.allowInsecureHttp = true;
    const { warnings } = await loadConfig(await writeConfig(stringify(config)), ENV);
    expect(warnings.join("\n")).toMatch(/http:\/\/.*unencrypted/);
  });

  it("exports configSchema, from which JSON Schema can be generated", () => {
    const schema = z.toJSONSchema(configSchema, { io: "input" }) as { required?: string[]; properties: Record<string, any> };
    expect(schema.required).toEqual(["source", "target"]);
    expect(schema.properties.target.properties.concurrency).toMatchObject({ type: "integer", minimum: 1, maximum: 64, default: 8 });
    expect(schema.properties.deprovision.properties.deleted.properties.delete.default).toBe("never");
    expect(schema.properties.target.properties.preset).toMatchObject({ default: "generic", enum: Object.keys(PRESETS) });
    expect(schema.properties.provisionGroups).toMatchObject({ default: "scoped", enum: ["all", "scoped", "none"] });
    expect(schema.properties.mapping.properties.user.items.properties).toHaveProperty("clearWhenEmpty");
    expect(schema.properties.mapping.properties.matching.items.enum).toEqual(["externalId", "userName"]);
    expect(schema.properties.deprovision.properties.groups.properties.delete.default).toBe("never");
  });
});

describe("loadConfig with presets and mappings", () => {
  async function load(edit: (c: Record<string, any>) => void) {
    return loadConfig(await writeConfig(stringify(tap(aConfig(), edit))), ENV);
  }

  it("Given a preset, its mapping and settings become the config's", async () => {
    const { config, warnings } = await load((c) => (c.target.preset = "komeet"));
    expect(warnings).toEqual([]);
    expect(config.target).toMatchObject({ preset: "komeet", dialect: "patch", requireEmail: true, readGroupMembers: "changed", groups: true });
    expect(config.mapping).toEqual({ user: PRESETS.komeet.user, group: PRESETS.komeet.group, matching: ["externalId", "userName"] });
    expect(config.target.matchBy).toBe("externalId");
  });

  it("Given the comeet preset, groups are off: no group mapping and provisionGroups none", async () => {
    const { config, warnings } = await load((c) => (c.target.preset = "comeet"));
    expect(warnings).toEqual([]);
    expect(config.target.groups).toBe(false);
    expect(config.provisionGroups).toBe("none");
    expect(config.mapping.group).toEqual([]);
    expect(config.mapping.user).toEqual(PRESETS.comeet.user);
  });

  it("Given target settings, they override the preset's", async () => {
    const { config } = await load((c) => {
      c.target.preset = "komeet";
      Object.assign(c.target, { dialect: "entra-legacy", requireEmail: false, readGroupMembers: "always", maxMembersPerPatch: 25 });
    });
    expect(config.target).toMatchObject({ dialect: "entra-legacy", requireEmail: false, readGroupMembers: "always", maxMembersPerPatch: 25 });
  });

  it("Given mapping.matching, it replaces the preset's and matchBy follows it", async () => {
    const { config } = await load((c) => (c.mapping = { matching: ["userName", "externalId"] }));
    expect(config.mapping.matching).toEqual(["userName", "externalId"]);
    expect(config.target.matchBy).toBe("externalId");
    const { config: byName } = await load((c) => (c.mapping = { matching: ["userName"] }));
    expect(byName.target.matchBy).toBe("userName");
  });

  it("Given user entries, an entry for a preset's target replaces it in place, a new target is appended, a drop removes", async () => {
    const { config } = await load((c) => {
      c.target.preset = "comeet";
      c.mapping = {
        user: [
          { target: " Name.GivenName ", source: "coalesce(extra.preferredName, givenName)", clearWhenEmpty: false },
          { target: "title", source: "title", default: "'Staff'" },
          { target: "name.familyName", drop: true },
          { target: 'emails[type eq "work"]', source: "lower(email)" },
        ],
      };
    });
    expect(config.mapping.user).toEqual([
      { target: "userName", source: "coalesce(email, userName)", caseExact: false },
      { target: "externalId", source: "id" },
      // The preset's spelling of the target stays; the entry is the config's.
      { target: "name.givenName", source: "coalesce(extra.preferredName, givenName)", clearWhenEmpty: false },
      // Written without .value, still the same attribute; emails compare without case unless told.
      { target: 'emails[type eq "work"].value', source: "lower(email)", caseExact: false },
      { target: "title", source: "title", default: "'Staff'" },
    ]);
  });

  it("Given caseExact on an entry, it is kept, also for userName", async () => {
    const { config } = await load((c) => (c.mapping = { user: [{ target: "userName", source: "email", caseExact: true }] }));
    expect(config.mapping.user[0]).toEqual({ target: "userName", source: "email", caseExact: true });
  });

  it("Given group entries, they merge into the preset's group mapping", async () => {
    const { config } = await load((c) => {
      c.mapping = {
        group: [
          { target: "displayName", source: "upper(displayName)" },
          { target: `${ENTERPRISE_USER}:department`, source: "extra.department" },
        ],
      };
    });
    expect(config.mapping.group).toEqual([
      { target: "displayName", source: "upper(displayName)" },
      { target: "externalId", source: "id" },
      { target: `${ENTERPRISE_USER}:department`, source: "extra.department" },
    ]);
  });

  it("Given externalId dropped together with matching on userName, it loads", async () => {
    const { config } = await load((c) => (c.mapping = { matching: ["userName"], user: [{ target: "externalId", drop: true }] }));
    expect(config.mapping.user.map((e) => e.target)).not.toContain("externalId");
    expect(config.target.matchBy).toBe("userName");
  });

  it.each([
    ["externalId", ["externalId", "userName"]],
    ["userName", ["userName"]],
  ] as const)("Given the deprecated matchBy: %s, it becomes mapping.matching %j with a warning", async (matchBy, matching) => {
    const { config, warnings } = await load((c) => (c.target.matchBy = matchBy));
    expect(config.mapping.matching).toEqual(matching);
    expect(config.target.matchBy).toBe(matchBy);
    expect(warnings[0]).toMatch(new RegExp(`^target\\.matchBy is deprecated; use mapping\\.matching: \\[${matching.join(", ")}\\]`));
    expect(warnings).toHaveLength(1);
  });

  it("Given the deprecated matchBy: externalId, the preset's externalId entry stays", async () => {
    const { config, warnings } = await load((c) => (c.target.matchBy = "externalId"));
    expect(config.mapping.user).toEqual(PRESETS.generic.user);
    expect(warnings).toEqual(["target.matchBy is deprecated; use mapping.matching: [externalId, userName]"]);
  });

  it("Given the deprecated matchBy: userName and no externalId entry, externalId is dropped as before, and the warning says so", async () => {
    const { config, warnings } = await load((c) => (c.target.matchBy = "userName"));
    expect(config.mapping.user).toEqual(PRESETS.generic.user.filter((e) => e.target !== "externalId"));
    expect(config.mapping.group).toEqual(PRESETS.generic.group);
    expect(warnings).toEqual([
      "target.matchBy is deprecated; use mapping.matching: [userName]; target.matchBy: userName also stops sending externalId, as before; " +
        "to keep that with mapping.matching, add { target: externalId, drop: true } to mapping.user",
    ]);
  });

  it.each([
    ["maps externalId", { target: "ExternalId", source: "id", clearWhenEmpty: false }, { target: "externalId", source: "id", clearWhenEmpty: false }],
    ["drops externalId", { target: "externalId", drop: true }, undefined],
  ])("Given the deprecated matchBy: userName and mapping.user that %s, the config's entry decides and the warning is the plain one", async (_name, entry, expected) => {
    const { config, warnings } = await load((c) => {
      c.target.matchBy = "userName";
      c.mapping = { user: [entry] };
    });
    expect(config.mapping.user.find((e) => e.target.toLowerCase() === "externalid")).toEqual(expected);
    expect(warnings).toEqual(["target.matchBy is deprecated; use mapping.matching: [userName]"]);
  });

  it("Given the deprecated matchBy: userName with a preset without externalId, its mapping is unchanged and the warning is the plain one", async () => {
    const { config, warnings } = await load((c) => {
      c.target.preset = "commbox";
      c.target.matchBy = "userName";
    });
    expect(config.mapping.user).toEqual(PRESETS.commbox.user);
    expect(warnings).toEqual(["target.matchBy is deprecated; use mapping.matching: [userName]"]);
  });

  it("Given mapping.matching: [userName] without matchBy, the preset's externalId entry stays (only the deprecated key drops it)", async () => {
    const { config, warnings } = await load((c) => (c.mapping = { matching: ["userName"] }));
    expect(config.mapping.user).toEqual(PRESETS.generic.user);
    expect(warnings).toEqual([]);
  });

  it("Given provisionGroups written for a preset without groups, it warns that none are provisioned", async () => {
    const { config, warnings } = await load((c) => {
      c.target.preset = "comeet";
      c.provisionGroups = "all";
      c.mapping = { group: [{ target: "displayName", source: "displayName" }] };
    });
    expect(config.provisionGroups).toBe("none");
    expect(warnings).toEqual([
      "provisionGroups: all is ignored: comeet does not support groups, so none are provisioned",
      "mapping.group is ignored: comeet does not support groups, so none are provisioned",
    ]);
    const { warnings: quiet } = await load((c) => {
      c.target.preset = "comeet";
      c.provisionGroups = "none";
    });
    expect(quiet).toEqual([]);
  });

  it("Given provisionGroups and a group delete delay, it keeps both", async () => {
    const { config } = await load((c) => {
      c.provisionGroups = "all";
      c.deprovision = { groups: { delete: "7d" } };
    });
    expect(config.provisionGroups).toBe("all");
    expect(config.groupDeprovision).toEqual({ delete: 7 * DAY });
    expect(Object.keys(config.deprovision)).toEqual(["outOfScope", "suspended", "deleted"]);
  });

  it("Given several mapping mistakes, it reports each with its key", async () => {
    const error = await loadError(
      stringify(
        tap(aConfig(), (c) => {
          c.mapping = {
            user: [
              { target: "active", source: "true" },
              { target: "title", source: "upper(" },
              { target: "userName", drop: true },
            ],
            group: [{ target: "members", source: "id" }],
          };
        }),
      ),
    );
    expect(error.issues.map((i) => i.path)).toEqual(["mapping.user[0].target", "mapping.user[1].source", "mapping.group[0].target"]);
  });
});

describe("loadConfig warnings", () => {
  it("Given the token written inline, it loads and warns without repeating the token", async () => {
    const config = aConfig();
    config.target.token = SECRET;
    const { config: loaded, warnings } = await loadConfig(await writeConfig(stringify(config)), {});
    expect(loaded.target.token).toBe(SECRET);
    expect(warnings).toEqual([expect.stringContaining("target.token is written in the config file; prefer ${env:NAME} or ${file:PATH}")]);
    expect(warnings.join("\n")).not.toContain(SECRET);
  });

  it("Given a ${file:} token file readable by its group, it warns with the file and chmod 600", async () => {
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, SECRET);
    await chmod(tokenFile, 0o640);
    const config = aConfig();
    config.target.token = "${file:token}";
    const { warnings } = await loadConfig(await writeConfig(stringify(config)), {});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("target.token");
    expect(warnings[0]).toContain(tokenFile);
    expect(warnings[0]).toContain(`chmod 600 ${tokenFile}`);
    expect(warnings[0]).not.toContain(SECRET);
  });

  it("Given tls.rejectUnauthorized: false, it warns that the certificate is not checked", async () => {
    const config = aConfig();
    config.target.tls = { rejectUnauthorized: false };
    const { warnings } = await loadConfig(await writeConfig(stringify(config)), ENV);
    expect(warnings).toEqual([expect.stringContaining("target.tls.rejectUnauthorized is false")]);
  });
});

interface BadCase {
  name: string;
  /** The whole file, or a change to a valid config. */
  yaml?: string;
  edit?: (c: Record<string, any>) => void;
  env?: NodeJS.ProcessEnv;
  /** Key path of the issue; "" for file-level problems. */
  path: string;
  /** Pieces of the message: what was wrong and what is accepted. */
  says: string[];
  /** A secret that must not appear, when it is not SECRET. */
  secret?: string;
}

const badCases: BadCase[] = [
  {
    name: "a misspelt top-level key",
    edit: (c) => {
      c.targt = c.target;
    },
    path: "targt",
    says: ['unknown key; did you mean "target"?'],
  },
  {
    name: "a snake_case key",
    edit: (c) => {
      c.target.rate_limit = 5;
    },
    path: "target.rate_limit",
    says: ['did you mean "rateLimit"?'],
  },
  {
    name: "a key at the wrong level",
    edit: (c) => {
      c.token = "${env:SCIM_TOKEN}";
    },
    path: "token",
    says: ['did you mean "target.token"?'],
  },
  {
    name: "an unknown key with nothing close",
    edit: (c) => {
      c.safety = { banana: 1 };
    },
    path: "safety.banana",
    says: ["unknown key", "maxDeprovisions, maxDeprovisionPercent"],
  },
  {
    name: "an unsupported source type",
    edit: (c) => {
      c.source.type = "ldap";
    },
    path: "source.type",
    says: ['"ldap" is not supported; use file', "google (Google Workspace) or microsoft (Microsoft Entra ID)"],
  },
  {
    name: "a misspelt source type",
    edit: (c) => {
      c.source.type = "Microsoft";
    },
    path: "source.type",
    says: ['"Microsoft" is not supported; did you mean "microsoft"?', "use file", "or microsoft (Microsoft Entra ID)"],
  },
  {
    name: "no source section",
    edit: (c) => {
      delete c.source;
    },
    path: "source",
    says: ["is required"],
  },
  {
    name: "a remote http:// URL",
    edit: (c) => {
      c.target.url = "http://scim.example.com/v2";
    },
    path: "target.url",
    says: [
      "must be an absolute https:// URL (http:// is allowed for 127.0.0.1/localhost/[::1], or set target.allowInsecureHttp: true)",
    ],
  },
  {
    name: "a URL that is not absolute",
    edit: (c) => {
      c.target.url = "scim.example.com/v2";
    },
    path: "target.url",
    says: ["must be an absolute https:// URL"],
  },
  {
    name: "a URL with the token as password",
    edit: (c) => {
      c.target.url = `https://admin:${SECRET}@scim.example.com/v2`;
    },
    path: "target.url",
    says: ["must not contain a user name or password", "target.token"],
  },
  {
    name: "a URL ending in /Users",
    edit: (c) => {
      c.target.url = "https://scim.example.com/v2/Users";
    },
    path: "target.url",
    says: ["without /Users at the end"],
  },
  {
    name: "a concurrency in words",
    edit: (c) => {
      c.target.concurrency = "eight";
    },
    path: "target.concurrency",
    says: ['expected a whole number from 1 to 64, got "eight"'],
  },
  {
    name: "a concurrency above the limit",
    edit: (c) => {
      c.target.concurrency = 100;
    },
    path: "target.concurrency",
    says: ["expected a whole number from 1 to 64, got 100"],
  },
  {
    name: "fractional retries",
    edit: (c) => {
      c.target.retries = 2.5;
    },
    path: "target.retries",
    says: ["expected a whole number from 0 to 10, got 2.5"],
  },
  {
    name: "a negative rate limit",
    edit: (c) => {
      c.target.rateLimit = -1;
    },
    path: "target.rateLimit",
    says: ["0 (unlimited)", "got -1"],
  },
  {
    name: "a zero timeout",
    edit: (c) => {
      c.target.timeoutSeconds = 0;
    },
    path: "target.timeoutSeconds",
    says: ["greater than 0", "got 0"],
  },
  {
    name: "a page size above 1000",
    edit: (c) => {
      c.target.pageSize = 5000;
    },
    path: "target.pageSize",
    says: ["expected a whole number from 1 to 1000, got 5000"],
  },
  {
    name: "an unknown matchBy",
    edit: (c) => {
      c.target.matchBy = "email";
    },
    path: "target.matchBy",
    says: ['expected externalId or userName, got "email"'],
  },
  {
    name: "a boolean written as yes",
    yaml: `source: { type: file, path: d.json }\ntarget:\n  url: https://a.example.com/scim\n  token: \${env:SCIM_TOKEN}\n  tls: { rejectUnauthorized: "no" }\n`,
    path: "target.tls.rejectUnauthorized",
    says: ['expected true or false, got "no"'],
  },
  {
    name: "a CA file that does not exist",
    edit: (c) => {
      c.target.tls = { caFile: "./corp-ca.pem" };
    },
    path: "target.tls.caFile",
    says: ["corp-ca.pem", "does not exist", "PEM file"],
  },
  {
    name: "an unset environment variable",
    env: {},
    path: "target.token",
    says: ["environment variable SCIM_TOKEN is not set"],
  },
  {
    name: "an unreadable token file",
    edit: (c) => {
      c.target.token = "${file:./missing-token}";
    },
    path: "target.token",
    says: ["cannot read ${file:./missing-token}", "does not exist"],
  },
  {
    name: "an unknown reference kind",
    edit: (c) => {
      c.target.token = "${vault:kv/scim#token}";
    },
    path: "target.token",
    says: ["${vault:...} is not a supported reference", "${env:NAME}", "${file:PATH}"],
  },
  {
    name: "a shell-style reference",
    edit: (c) => {
      c.target.token = "${SCIM_TOKEN}";
    },
    path: "target.token",
    says: ["write ${env:SCIM_TOKEN}"],
  },
  {
    name: "a reference without its closing brace",
    edit: (c) => {
      c.target.token = "${env:SCIM_TOKEN";
    },
    path: "target.token",
    says: ['without a closing "}"', "${env:NAME}"],
  },
  {
    name: "an inline token of the wrong type",
    yaml: "source: { type: file, path: d.json }\ntarget:\n  url: https://a.example.com/scim\n  token: 73910264551\n",
    path: "target.token",
    says: ["expected the SCIM API token as text", "${env:NAME}", "got a number"],
    secret: "73910264551",
  },
  {
    name: "an inline token with the Bearer prefix",
    edit: (c) => {
      c.target.token = `Bearer ${SECRET}`;
    },
    path: "target.token",
    says: ['without "Bearer " in front'],
  },
  {
    name: "a token variable with a line break inside",
    env: { SCIM_TOKEN: `${SECRET}\nsecond-line` },
    path: "target.token",
    says: ["line breaks", "holds only the token"],
  },
  {
    name: "no token",
    edit: (c) => {
      delete c.target.token;
    },
    path: "target.token",
    says: ["is required", "${env:NAME} or ${file:PATH}"],
  },
  {
    name: "a delay that is not a delay",
    edit: (c) => {
      c.deprovision = { deleted: { suspend: "now", delete: "7 days" } };
    },
    path: "deprovision.deleted.delete",
    says: ['"7 days" is not a delay; use now, never, or a duration such as 24h, 1d, 7d, 21d'],
  },
  {
    name: "a delay without a unit",
    edit: (c) => {
      c.deprovision = { suspended: { suspend: 7 } };
    },
    path: "deprovision.suspended.suspend",
    says: ["7 is not a delay; use now, never"],
  },
  {
    name: "delete sooner than suspend",
    edit: (c) => {
      c.deprovision = { outOfScope: { suspend: "7d", delete: "1d" } };
    },
    path: "deprovision.outOfScope.delete",
    says: ["1d is shorter than deprovision.outOfScope.suspend (7d)", "at least 7d", "suspend: never"],
  },
  {
    name: "a deprovision case written as one delay",
    edit: (c) => {
      c.deprovision = { suspended: "21d" };
    },
    path: "deprovision.suspended",
    says: ["expected a mapping of suspend and delete delays", 'got "21d"'],
  },
  {
    name: "a percentage above 100",
    edit: (c) => {
      c.safety = { maxDeprovisionPercent: 150 };
    },
    path: "safety.maxDeprovisionPercent",
    says: ["expected a percentage from 0 to 100, got 150"],
  },
  {
    name: "scope groups as one name",
    edit: (c) => {
      c.scope = { groups: "Engineering" };
    },
    path: "scope.groups",
    says: ["expected a list of group names or ids", 'got "Engineering"'],
  },
  {
    name: "a numeric group id",
    edit: (c) => {
      c.scope = { groups: ["Sales", 4021] };
    },
    path: "scope.groups[1]",
    says: ["expected a group name or id as text, got 4021", 'quote it: "4021"'],
  },
  {
    name: "an empty state path",
    edit: (c) => {
      c.state = { path: " " };
    },
    path: "state.path",
    says: ["must not be empty", "path of the state file"],
  },
  {
    name: "a YAML syntax error on the line holding an inline token",
    yaml: `source: { type: file, path: d.json }\ntarget:\n  token: "${SECRET}\n  url: https://a.example.com\n`,
    path: "target.token",
    says: ["YAML syntax error at line 3, column 10", 'opens with " but has no closing "'],
  },
  {
    name: "a block scalar header that swallowed an inline token",
    yaml: `source: { type: file, path: d.json }\ntarget:\n  url: https://a.example.com\n  token: |${SECRET}\n    x\n`,
    path: "",
    says: ["YAML syntax error at line 4", "(key token)", "Block scalar header includes extra characters"],
  },
  {
    name: "a tab used for indentation",
    yaml: "source: { type: file, path: d.json }\ntarget:\n\turl: https://a.example.com\n",
    path: "",
    says: ["YAML syntax error at line 3, column 1 (key url): Tabs are not allowed as indentation"],
  },
  {
    name: "a list that is never closed",
    yaml: "source: { type: file, path: d.json }\nscope:\n  groups: [Sales, Engineering\ntarget: { url: https://a.example.com }\n",
    path: "scope.groups",
    says: ["YAML syntax error at line 3, column 11: the [ that starts the value of scope.groups is not closed with ]", "indent each continued line"],
  },
  {
    name: "a key written twice",
    yaml: "source: { type: file, path: d.json }\nsource: { type: file, path: e.json }\n",
    path: "source",
    says: ["YAML syntax error at line 2, column 1", "the key source is written twice (first at line 1); keep one"],
  },
  {
    name: "an empty file",
    yaml: "# nothing here yet\n",
    path: "",
    says: ["the file is empty"],
  },
  {
    name: "a list at the top level",
    yaml: "- source\n- target\n",
    path: "",
    says: ["the top level must be a mapping", "source, target", "got a list"],
  },
  {
    name: "an unknown preset",
    edit: (c) => {
      c.target.preset = "comet";
    },
    path: "target.preset",
    says: ['"comet" is not a preset; did you mean "comeet"?', "generic, comeet, commbox, recnice, komeet"],
  },
  {
    name: "an unknown dialect",
    edit: (c) => {
      c.target.dialect = "soap";
    },
    path: "target.dialect",
    says: ['expected patch, put or entra-legacy, got "soap"'],
  },
  {
    name: "zero members per PATCH",
    edit: (c) => {
      c.target.maxMembersPerPatch = 0;
    },
    path: "target.maxMembersPerPatch",
    says: ["expected a whole number from 1 to 1000, got 0"],
  },
  {
    name: "an unknown readGroupMembers",
    edit: (c) => {
      c.target.readGroupMembers = "sometimes";
    },
    path: "target.readGroupMembers",
    says: ['expected changed, always or never, got "sometimes"'],
  },
  {
    name: "requireEmail as text",
    edit: (c) => {
      c.target.requireEmail = "yes";
    },
    path: "target.requireEmail",
    says: ['expected true or false, got "yes"'],
  },
  {
    name: "an unknown provisionGroups",
    edit: (c) => {
      c.provisionGroups = "some";
    },
    path: "provisionGroups",
    says: ['expected all, scoped or none, got "some"'],
  },
  {
    name: "matching on email",
    edit: (c) => {
      c.mapping = { matching: ["userName", "email"] };
    },
    path: "mapping.matching[1]",
    says: ['expected externalId or userName, got "email"', "mapping.matching accepts only these two"],
  },
  {
    name: "matching written as one name",
    edit: (c) => {
      c.mapping = { matching: "userName" };
    },
    path: "mapping.matching",
    says: ["expected a list of externalId and/or userName", 'got "userName"'],
  },
  {
    name: "an empty matching list",
    edit: (c) => {
      c.mapping = { matching: [] };
    },
    path: "mapping.matching",
    says: ["must not be empty", "[externalId, userName]"],
  },
  {
    name: "matching on one attribute twice",
    edit: (c) => {
      c.mapping = { matching: ["userName", "userName"] };
    },
    path: "mapping.matching",
    says: ["names an attribute twice"],
  },
  {
    name: "matching on externalId with a preset that does not map it",
    edit: (c) => {
      c.target.preset = "commbox";
      c.mapping = { matching: ["externalId", "userName"] };
    },
    path: "mapping.matching",
    says: ["lists externalId, but the user mapping does not map externalId", "{ target: externalId, source: id }"],
  },
  {
    name: "externalId dropped while the preset matches on it",
    edit: (c) => {
      c.mapping = { user: [{ target: "externalId", drop: true }] };
    },
    path: "mapping.user[0].drop",
    says: ["externalId is in the generic preset's matching [externalId, userName]", "mapping.matching: [userName]"],
  },
  {
    name: "the deprecated matchBy: externalId with a preset without externalId",
    edit: (c) => {
      c.target.preset = "commbox";
      c.target.matchBy = "externalId";
    },
    path: "target.matchBy",
    says: ["externalId needs externalId in the user mapping", "mapping.matching: [userName]"],
  },
  {
    name: "both matchBy and mapping.matching",
    edit: (c) => {
      c.target.matchBy = "userName";
      c.mapping = { matching: ["userName"] };
    },
    path: "target.matchBy",
    says: ["is deprecated and mapping.matching is also given", "remove target.matchBy"],
  },
  {
    name: "a source expression that does not parse",
    edit: (c) => {
      c.mapping = { user: [{ target: "title", source: "lower(title" }] };
    },
    path: "mapping.user[0].source",
    says: ['missing ")" to close lower( at column 12 of "lower(title"', "an expression is a source attribute"],
  },
  {
    name: "an unknown function",
    edit: (c) => {
      c.mapping = { user: [{ target: "title", source: "lowr(title)" }] };
    },
    path: "mapping.user[0].source",
    says: ['unknown function "lowr"; did you mean lower?', 'at column 1 of "lowr(title)"'],
  },
  {
    name: "a default that does not parse",
    edit: (c) => {
      c.mapping = { group: [{ target: "displayName", source: "displayName", default: "coalesce(id," }] };
    },
    path: "mapping.group[0].default",
    says: ['of "coalesce(id,"'],
  },
  {
    name: "a source written as a number",
    edit: (c) => {
      c.mapping = { user: [{ target: "title", source: 42 }] };
    },
    path: "mapping.user[0].source",
    says: ["expected an expression over the directory's attributes as text", "got 42"],
  },
  {
    name: "a target that is not a SCIM path",
    edit: (c) => {
      c.mapping = { user: [{ target: "emails[work].value", source: "email" }] };
    },
    path: "mapping.user[0].target",
    says: ['"emails[work].value" is not a SCIM attribute path scimsync can write', 'emails[type eq "work"].value', "name.givenName"],
  },
  {
    name: "a mapping of active",
    edit: (c) => {
      c.mapping = { user: [{ target: "active", source: "not(extra.disabled)" }] };
    },
    path: "mapping.user[0].target",
    says: ["active cannot be mapped: scimsync sets it itself", "deprovision rules", "remove this entry"],
  },
  {
    name: "a mapping of group members",
    edit: (c) => {
      c.mapping = { group: [{ target: "members", source: "extra.members" }] };
    },
    path: "mapping.group[0].target",
    says: ["members cannot be mapped", "directory group's members", "remove this entry"],
  },
  {
    name: "userName dropped",
    edit: (c) => {
      c.mapping = { user: [{ target: "username", drop: true }] };
    },
    path: "mapping.user[0].drop",
    says: ["the user mapping must map userName", "{ target: userName, source: email }"],
  },
  {
    name: "the group displayName dropped",
    edit: (c) => {
      c.mapping = { group: [{ target: "displayName", drop: true }] };
    },
    path: "mapping.group[0].drop",
    says: ["the group mapping must map displayName"],
  },
  {
    name: "externalId from another attribute",
    edit: (c) => {
      c.mapping = { user: [{ target: "externalId", source: "employeeNumber" }] };
    },
    path: "mapping.user[0].source",
    says: ['externalId must be mapped from id, got "employeeNumber"', "immutable id", "another attribute"],
  },
  {
    name: "a group externalId from another attribute",
    edit: (c) => {
      c.mapping = { group: [{ target: "externalId", source: "email" }] };
    },
    path: "mapping.group[0].source",
    says: ["externalId must be mapped from id", "the groups it manages"],
  },
  {
    name: "externalId with a default",
    edit: (c) => {
      c.mapping = { user: [{ target: "externalId", source: "id", default: "userName" }] };
    },
    path: "mapping.user[0].default",
    says: ["externalId takes no default"],
  },
  {
    name: "a target mapped twice",
    edit: (c) => {
      c.mapping = {
        user: [
          { target: "title", source: "title" },
          { target: " Title ", source: "department" },
        ],
      };
    },
    path: "mapping.user[1].target",
    says: ['"Title" is already in mapping.user[0]', "one entry per target"],
  },
  {
    name: "drop together with source",
    edit: (c) => {
      c.mapping = { user: [{ target: "title", source: "title", drop: true }] };
    },
    path: "mapping.user[0].drop",
    says: ["drop: true removes the target, so the entry takes no source", "remove drop"],
  },
  {
    name: "an entry without source",
    edit: (c) => {
      c.mapping = { user: [{ target: "title", default: "'Staff'" }] };
    },
    path: "mapping.user[0].source",
    says: ["is required", "drop: true"],
  },
  {
    name: "a drop of a target the preset does not map",
    edit: (c) => {
      c.target.preset = "comeet";
      c.mapping = { user: [{ target: "title", drop: true }] };
    },
    path: "mapping.user[0].target",
    says: ["\"title\" is not in the comeet preset's user mapping, so there is nothing to drop", "userName, externalId"],
  },
  {
    name: "a misspelt key in a mapping entry",
    edit: (c) => {
      c.mapping = { user: [{ target: "title", source: "title", clearWhenEmtpy: false }] };
    },
    path: "mapping.user[0].clearWhenEmtpy",
    says: ['did you mean "clearWhenEmpty"?'],
  },
  {
    name: "a misspelt source in a mapping entry",
    edit: (c) => {
      c.mapping = { user: [{ target: "title", sorce: "title" }] };
    },
    path: "mapping.user[0].sorce",
    says: ['did you mean "source"?'],
  },
  {
    name: "a mapping entry written as text",
    edit: (c) => {
      c.mapping = { user: ["title: title"] };
    },
    path: "mapping.user[0]",
    says: ["expected a mapping entry such as { target: title, source: title }", 'got "title: title"'],
  },
  {
    name: "mapping.user written as one entry",
    edit: (c) => {
      c.mapping = { user: { target: "title", source: "title" } };
    },
    path: "mapping.user",
    says: ["expected a list of mapping entries", "got a mapping"],
  },
  {
    name: "a group delete delay that is not a delay",
    edit: (c) => {
      c.deprovision = { groups: { delete: "soon" } };
    },
    path: "deprovision.groups.delete",
    says: ['"soon" is not a delay'],
  },
];

describe("loadConfig with malformed files", () => {
  it.each(badCases)("Given $name, it names $path and the fix, and never the secret", async (c) => {
    const text = c.yaml ?? stringify(tap(aConfig(), c.edit));
    const error = await loadError(text, c.env ?? ENV);
    const issue = error.issues.find((i) => i.path === c.path);
    expect(issue, `issues: ${JSON.stringify(error.issues)}`).toBeDefined();
    // One mistake, one complaint: a second message about the same key would only add noise.
    if (c.path !== "") expect(error.issues.filter((i) => i.path === c.path)).toHaveLength(1);
    for (const piece of c.says) expect(issue?.message).toContain(piece);
    expect(String(error)).toContain(`${c.path || "(top level)"}: ${issue?.message}`);
    expectNoSecret(error, c.secret ?? SECRET);
  });

  it("Given several problems, it reports all of them at once, in file order", async () => {
    const error = await loadError(`
source: { type: ldap, path: d.json }
target:
  url: ftp://scim.example.com
  token: \${env:MISSING}
  concurrency: eight
deprovision:
  deleted: { suspend: 21d, delete: 7d }
saftey: {}
`);
    expect(error.issues.map((i) => i.path)).toEqual([
      "source.type",
      "target.url",
      "target.token",
      "target.concurrency",
      "deprovision.deleted.delete",
      "saftey",
    ]);
    expect(error.issues.at(-1)?.message).toContain('did you mean "safety"?');
  });

  it("Given a misspelt required key, it reports the misspelling, not the missing key as well", async () => {
    const error = await loadError(stringify(tap(aConfig(), (c) => (c.mapping = { user: [{ target: "title", sorce: "title" }] }))));
    expect(error.issues).toEqual([{ path: "mapping.user[0].sorce", message: 'unknown key; did you mean "source"?' }]);
  });

  it("Given a reference that cannot be resolved, it reports the reference once, not the unresolved text", async () => {
    const error = await loadError(stringify(tap(aConfig(), (c) => (c.target.url = "${env:SCIM_URL}"))), ENV);
    expect(error.issues).toEqual([{ path: "target.url", message: expect.stringContaining("environment variable SCIM_URL is not set") }]);
  });

  it("Given a referenced value that is invalid, it names the reference instead of the value", async () => {
    const error = await loadError(stringify(tap(aConfig(), (c) => (c.target.pageSize = "${env:SCIM_TOKEN}"))), ENV);
    const issue = error.issues.find((i) => i.path === "target.pageSize");
    expect(issue?.message).toBe("expected a whole number from 1 to 1000, got the value of ${env:SCIM_TOKEN}");
    expectNoSecret(error);
  });

  it("Given no config file, it says so and where to start", async () => {
    const error = await loadConfig(join(dir, "nope.yaml"), ENV).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain(join(dir, "nope.yaml"));
    expect(String(error)).toContain("does not exist");
    expect((error as ConfigError).hint).toContain("config.example.yaml");
  });

  it("Given a directory instead of a config file, it says so", async () => {
    const error = await loadConfig(dir, ENV).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain("directory");
  });
});

const USER_ATTRIBUTES =
  "(user attributes: id, userName, email, givenName, familyName, displayName, active, title, department, employeeNumber, " +
  "manager, preferredLanguage, addresses, phoneNumbers, roles, or extra.<name> for any other column or key of the directory)";
const GROUP_ATTRIBUTES = "(group attributes: id, displayName, email, description, or extra.<name> for any other column or key of the directory)";
const EXPRESSION_FORMS =
  "an expression is a source attribute (givenName, extra.costCenter), a quoted literal ('Employee'), " +
  "a function call (lower(email)) or a template ({givenName} {familyName})";
const READ_ONLY = "is read-only in SCIM (set by the app): the app ignores what scimsync sends, so it would differ on every run";

describe("loadConfig with mapping mistakes: the exact messages", () => {
  it.each<{ name: string; edit: (c: Record<string, any>) => void; issues: { path: string; message: string }[] }>([
    {
      name: "a misspelt attribute",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "titel" }] }),
      issues: [{ path: "mapping.user[0].source", message: `unknown user attribute "titel"; did you mean title? ${USER_ATTRIBUTES}` }],
    },
    {
      name: "a word meant as text",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "Employee" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            `unknown user attribute "Employee"; to write the text Employee, quote it: 'Employee' ${USER_ATTRIBUTES}; ` +
            `in the YAML file write it as "'Employee'" (YAML removes its own quotes)`,
        },
      ],
    },
    {
      name: "a default in YAML quotes only",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "title" }, { target: "nickName", source: "extra.nickname", default: "Staff" }] }),
      issues: [
        {
          path: "mapping.user[1].default",
          message:
            `unknown user attribute "Staff"; to write the text Staff, quote it: 'Staff' ${USER_ATTRIBUTES}; ` +
            `in the YAML file write it as "'Staff'" (YAML removes its own quotes)`,
        },
      ],
    },
    {
      name: "an unquoted word inside a call",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "coalesce(title, Staff)" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message: `unknown user attribute "Staff"; to write the text Staff, quote it: 'Staff' ${USER_ATTRIBUTES} at column 17 of "coalesce(title, Staff)"`,
        },
      ],
    },
    {
      name: "an attribute the directory does not have, in a template",
      edit: (c) => (c.mapping = { user: [{ target: "displayName", source: "{givenName} {middle} {familyName}" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            `unknown user attribute "middle"; for a directory column or key of that name, write extra.middle ${USER_ATTRIBUTES} ` +
            `at column 14 of "{givenName} {middle} {familyName}"`,
        },
      ],
    },
    {
      name: "a capitalised attribute",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "Title" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            `unknown user attribute "Title"; did you mean title? To write the text Title, quote it: 'Title' ${USER_ATTRIBUTES}; ` +
            `in the YAML file write it as "'Title'" (YAML removes its own quotes)`,
        },
      ],
    },
    {
      name: "a misspelt list attribute with a filter",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "adresses[type eq 'work'].locality" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message: `unknown user attribute "adresses"; did you mean addresses[type eq "work"].locality? ${USER_ATTRIBUTES}`,
        },
      ],
    },
    {
      name: "a user attribute in a group mapping",
      edit: (c) => (c.mapping = { group: [{ target: "displayName", source: "coalesce(displayName, title)" }] }),
      issues: [
        {
          path: "mapping.group[0].source",
          message:
            `unknown group attribute "title"; for a directory column or key of that name, write extra.title ${GROUP_ATTRIBUTES} ` +
            `at column 23 of "coalesce(displayName, title)"`,
        },
      ],
    },
    {
      name: "extra without a name",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "extra" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message: 'extra needs the name of a column or key, e.g. extra.costCenter, or extra["Cost Center"] for a name with spaces',
        },
      ],
    },
    {
      name: "a filter inside extra",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "lower(extra.phones[type eq 'work'].value)" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message: `a [...] filter cannot be used on extra: write extra.<name> to read a column or key at column 7 of "lower(extra.phones[type eq 'work'].value)"`,
        },
      ],
    },
    {
      name: "Extra in brackets",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "Extra['Cost Center']" }] }),
      issues: [{ path: "mapping.user[0].source", message: `unknown user attribute "Extra"; did you mean extra["Cost Center"]? ${USER_ATTRIBUTES}` }],
    },
    {
      name: "a key of extra with a space, written after a dot",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "extra.Cost Center" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message: 'to read the key "Cost Center" of extra, write extra["Cost Center"]: a name with spaces or punctuation goes in brackets and quotes',
        },
      ],
    },
    {
      name: "a key of extra with a dot",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: 'extra["cost.center"]' }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            'extra["cost.center"] cannot be read: a "." in a name would be read as a step into a nested key; rename the directory\'s column or key ' +
            `without "." at column 7 of "extra[\\"cost.center\\"]"; ${EXPRESSION_FORMS}`,
        },
      ],
    },
    {
      name: "plain text",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "Staff Member" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            "plain text is not an expression; to write the text Staff Member, quote it: 'Staff Member'; " +
            `in the YAML file write it as "'Staff Member'" (YAML removes its own quotes)`,
        },
      ],
    },
    {
      name: "a function named after another tool's",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: "lowercase(title)" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            'unknown function "lowercase"; did you mean lower? (functions: lower, upper, trim, join, coalesce, replace, switch, appendDomain, split, not) ' +
            `at column 1 of "lowercase(title)"; ${EXPRESSION_FORMS}`,
        },
      ],
    },
    {
      name: "a template YAML read as a mapping",
      edit: (c) => (c.mapping = { user: [{ target: "title", source: { givenName: "x" } }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            `expected an expression over the directory's attributes as text, e.g. givenName or "{givenName} {familyName}", got a mapping; ` +
            `YAML reads an unquoted {...} as a mapping, so quote a template: "{givenName}"`,
        },
      ],
    },
    {
      name: "a group externalId from another attribute",
      edit: (c) => (c.mapping = { group: [{ target: "externalId", source: "email" }] }),
      issues: [
        {
          path: "mapping.group[0].source",
          message:
            'externalId must be mapped from id, got "email"; scimsync recognises the groups it manages by the directory\'s immutable id; ' +
            "map another identifier to another attribute",
        },
      ],
    },
    {
      name: "a user externalId from another attribute",
      edit: (c) => (c.mapping = { user: [{ target: "externalId", source: "employeeNumber" }] }),
      issues: [
        {
          path: "mapping.user[0].source",
          message:
            'externalId must be mapped from id, got "employeeNumber"; scimsync recognises the users it manages by the directory\'s immutable id; ' +
            "map another identifier to another attribute, e.g. urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        },
      ],
    },
    {
      name: "read-only targets",
      edit: (c) =>
        (c.mapping = {
          user: [
            { target: "id", source: "id" },
            { target: "groups", source: "extra.groups" },
            { target: "meta.lastModified", source: "extra.changed" },
            { target: "schemas", source: "'x'" },
            { target: "urn:ietf:params:scim:schemas:core:2.0:User:id", source: "id" },
          ],
          group: [
            { target: "ID", source: "id" },
            { target: "meta", source: "extra.meta" },
          ],
        }),
      issues: [
        { path: "mapping.user[0].target", message: `id ${READ_ONLY}; the directory's id goes to externalId; remove this entry` },
        {
          path: "mapping.user[1].target",
          message: `groups ${READ_ONLY}; a user's groups follow from the groups' members (provisionGroups); remove this entry`,
        },
        { path: "mapping.user[2].target", message: `meta ${READ_ONLY}; remove this entry` },
        {
          path: "mapping.user[3].target",
          message: "schemas cannot be mapped: scimsync writes it itself, naming the schemas of the mapped attributes; remove this entry",
        },
        { path: "mapping.user[4].target", message: `id ${READ_ONLY}; the directory's id goes to externalId; remove this entry` },
        { path: "mapping.group[0].target", message: `id ${READ_ONLY}; the directory's id goes to externalId; remove this entry` },
        { path: "mapping.group[1].target", message: `meta ${READ_ONLY}; remove this entry` },
      ],
    },
    {
      name: "a suspend delay for groups",
      edit: (c) => (c.deprovision = { groups: { suspend: "now", delete: "7d" } }),
      issues: [
        { path: "deprovision.groups.suspend", message: "unknown key: groups are never suspended, only deleted (deprovision.groups.delete)" },
      ],
    },
  ])("Given $name, it reports exactly that", async ({ edit, issues }) => {
    const error = await loadError(stringify(tap(aConfig(), edit)));
    expect(error.issues).toEqual(issues);
  });

  it("Given an unquoted template in the YAML, the hint says to quote a value that starts with {", async () => {
    const error = await loadError(`${stringify(aConfig())}mapping:\n  user:\n    - target: displayName\n      source: {givenName} {familyName}\n`);
    expect(error.issues[0]?.message).toMatch(/^YAML syntax error at line 10, column/);
    expect(error.hint).toBe(
      'fix the YAML syntax; indent with spaces, quote values that contain : or #, and quote a value that starts with { ' +
        '(YAML reads it as a mapping), e.g. source: "{givenName} {familyName}"',
    );
  });

  it("Given a key of extra in brackets, it loads with the source as written", async () => {
    const entries = [
      { target: `${ENTERPRISE_USER}:costCenter`, source: 'extra["Cost Center"]' },
      { target: "nickName", source: "coalesce(extra.nickname, givenName)", default: "'Staff'" },
    ];
    const { config } = await loadConfig(await writeConfig(stringify(tap(aConfig(), (c) => (c.mapping = { user: entries })))), ENV);
    expect(config.mapping.user.slice(-2)).toEqual(entries);
    // The mapping's own reader resolves the normalised reference, extra.Cost Center.
    const user = { id: "u-1", userName: "ada@example.com", active: true, extra: { "Cost Center": "CC 7" } };
    expect(mapUser(user, compileMapping(config.mapping.user))).toMatchObject({ [`${ENTERPRISE_USER}:costCenter`]: "CC 7", nickName: "Staff" });
  });
});

function tap<T>(value: T, edit?: (v: T) => void): T {
  edit?.(value);
  return value;
}
