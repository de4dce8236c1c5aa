import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { getCACertificates } from "node:tls";
import { shouldNotify, summaryText, triggersOf, webhookPayload, type RunOutcome } from "../src/notify/run-summary.js";
import { postWebhook } from "../src/notify/webhook.js";
import { runNotifier } from "../src/notify/notify-run.js";
import { loadConfig } from "../src/config/load-config.js";
import { ConfigError, TargetAuthError } from "../src/errors.js";
import type { SyncReport } from "../src/engine/run-sync.js";
import { startFakeWebhook, type FakeWebhook } from "./support/fake-webhook.js";
import { makeTestCertificates } from "./support/test-ca.js";
import { expectNoSecrets } from "./support/secret-scan.js";

const TARGET = "https://app.example.com/scim/v2";

function anOutcome(overrides: Partial<RunOutcome> = {}): RunOutcome {
  return {
    runId: "run-1",
    target: TARGET,
    result: "ok",
    counts: { failed: 0, create: 100, update: 20 },
    failed: [],
    held: 0,
    safety: { deprovisions: 0, managed: 500, blocked: false },
    authRejected: false,
    ...overrides,
  };
}

const failures = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ op: "create" as const, type: "User" as const, key: `p${i}@example.com`, error: `POST /Users: 400 invalidValue: title is too long` }));

describe("run summary: when and what", () => {
  it.each([
    ["an ok run", anOutcome(), []],
    ["failed actions", anOutcome({ result: "failed", counts: { failed: 3, create: 120 }, failed: failures(3) }), ["failed"]],
    ["held users", anOutcome({ result: "failed", held: 2 }), ["failed"]],
    ["a safety stop", anOutcome({ result: "safety-stop", safety: { deprovisions: 80, managed: 100, blocked: true, reason: "too many" } }), ["safety-stop"]],
    ["failing closed", anOutcome({ result: "safety-stop", safety: { deprovisions: 0, managed: 100, blocked: false, failClosed: "incomplete read" } }), ["safety-stop"]],
    ["a rejected token", anOutcome({ result: "error", authRejected: true, error: { kind: "auth", message: "GET /Users: 401" } }), ["auth"]],
    ["an error", anOutcome({ result: "error", error: { kind: "target", message: "GET /Users: connection refused" } }), ["failed"]],
    ["a systemic stop", anOutcome({ result: "failed", stoppedEarly: "most actions failed" }), ["failed"]],
  ])("Given %s, Then the triggers are %j", (_, outcome, expected) => {
    expect([...triggersOf(outcome)].sort()).toEqual(expected);
  });

  it("Given the default triggers, Then an ok run is not notified and a failed one is; always notifies every run", () => {
    const on = ["failed", "safety-stop", "auth"] as const;
    expect(shouldNotify(on, anOutcome())).toBe(false);
    expect(shouldNotify(on, anOutcome({ result: "failed", failed: failures(1), counts: { failed: 1 } }))).toBe(true);
    expect(shouldNotify(["auth"], anOutcome({ result: "failed", failed: failures(1), counts: { failed: 1 } }))).toBe(false);
    expect(shouldNotify(["always"], anOutcome())).toBe(true);
  });

  it("Given failures and a safety stop, Then the text is one line in the documented form", () => {
    const outcome = anOutcome({
      result: "safety-stop",
      counts: { failed: 3, create: 100, update: 20 },
      failed: failures(3),
      safety: { deprovisions: 80, managed: 100, blocked: true, reason: "80 users would be suspended or deleted, more than safety.maxDeprovisions (50)" },
    });
    expect(summaryText(outcome)).toBe(
      `scimsync sync on ${TARGET}: 3 failed, 120 applied (safety stop: 80 users would be suspended or deleted, more than safety.maxDeprovisions (50))`,
    );
    expect(summaryText(anOutcome())).toBe(`scimsync sync on ${TARGET}: ok, 120 applied`);
    expect(summaryText(anOutcome({ result: "failed", counts: { failed: 8, create: 2 }, stoppedEarly: "8 of the last 10 actions failed" }))).toBe(
      `scimsync sync on ${TARGET}: stopped early: 8 of the last 10 actions failed, 8 failed, 2 applied`,
    );
    expect(summaryText(anOutcome({ counts: {} , narrowedTo: "ada@example.com" }))).toBe(`scimsync sync --user ada@example.com on ${TARGET}: ok, nothing to change`);
    expect(summaryText(anOutcome({ result: "error", counts: {}, authRejected: true, error: { kind: "auth", message: "401" } }))).toBe(
      `scimsync sync on ${TARGET}: the target rejected the token; run scimsync reauthorize`,
    );
  });

  it("Given many failures, Then the payload lists the first ten with op, type, key and error", () => {
    const payload = webhookPayload(anOutcome({ result: "failed", counts: { failed: 12, create: 1 }, failed: failures(12) }));
    expect(Object.keys(payload)).toEqual(["text", "scimsync"]);
    expect(payload.scimsync).toMatchObject({ runId: "run-1", result: "failed", target: TARGET, counts: { failed: 12, create: 1 } });
    expect(payload.scimsync.failed).toHaveLength(10);
    expect(payload.scimsync.failed[0]).toEqual({ op: "create", type: "User", key: "p0@example.com", error: "POST /Users: 400 invalidValue: title is too long" });
    expect(payload.scimsync.safety).toEqual({ deprovisions: 0, managed: 500, blocked: false });
    expect(payload.scimsync).not.toHaveProperty("error");
  });

  it("Given an error that quotes an attribute value and a secret, Then neither is in the payload", () => {
    const outcome = anOutcome({
      result: "failed",
      counts: { failed: 1 },
      failed: [{ op: "update", type: "User", key: "ada@example.com", error: "PATCH: title 'Head of Secret Things' is too long (token tok-12345678)", values: ["Head of Secret Things"] }],
      error: { kind: "state", message: "could not write https://hooks.example.com/services/XYZ-secret" },
    });
    const text = JSON.stringify(webhookPayload(outcome, ["tok-12345678", "https://hooks.example.com/services/XYZ-secret"]));
    expectNoSecrets([text], ["Head of Secret Things", "tok-12345678", "XYZ-secret"]);
    expect(text).toContain("ada@example.com");
  });
});

describe("postWebhook", () => {
  let hook: FakeWebhook;
  beforeEach(async () => {
    hook = await startFakeWebhook();
  });
  afterEach(async () => {
    await hook.close();
  });

  it("Given a webhook, When posted to, Then it gets one JSON POST", async () => {
    const result = await postWebhook(hook.url, { text: "hello" });
    expect(result).toEqual({ ok: true, attempts: 1 });
    expect(hook.requests).toEqual([expect.objectContaining({ method: "POST", contentType: "application/json", json: { text: "hello" } })]);
  });

  it("Given a 502 first, When posted to, Then it is tried once more", async () => {
    hook.answer = (_, n) => (n === 1 ? 502 : 200);
    expect(await postWebhook(hook.url, { text: "x" }, { retryDelayMs: 1 })).toEqual({ ok: true, attempts: 2 });
  });

  it("Given a webhook that keeps failing, When posted to, Then it gives up after two attempts, naming the host only", async () => {
    hook.answer = () => 500;
    const result = await postWebhook(hook.url, { text: "x" }, { retryDelayMs: 1 });
    expect(result).toMatchObject({ ok: false, attempts: 2 });
    if (result.ok) throw new Error("unreachable");
    expect(result.problem).toBe(`the webhook at ${new URL(hook.url).host} answered 500 (gave up after 2 attempts)`);
    expect(result.problem).not.toContain(hook.secret);
  });

  it("Given a 404, When posted to, Then it is not retried", async () => {
    hook.answer = () => 404;
    expect(await postWebhook(hook.url, { text: "x" }, { retryDelayMs: 1 })).toMatchObject({ ok: false, attempts: 1 });
  });

  it("Given a webhook that never answers, When posted to, Then it gives up at the deadline", async () => {
    hook.answer = () => "hang";
    const result = await postWebhook(hook.url, { text: "x" }, { timeoutMs: 200, retryDelayMs: 1 });
    expect(result).toMatchObject({ ok: false, attempts: 2, problem: expect.stringContaining("gave no answer within 0.2 s") });
  });

  it("Given nothing listening, When posted to, Then it is tried twice and reported as unreachable", async () => {
    const url = hook.url;
    await hook.close();
    const result = await postWebhook(url, { text: "x" }, { retryDelayMs: 1 });
    expect(result).toMatchObject({ ok: false, attempts: 2, problem: expect.stringContaining("connection refused") });
    hook = await startFakeWebhook();
  });
});

describe("postWebhook over TLS", () => {
  it("Given a certificate the client does not trust, When posted to, Then it fails and nothing is sent; trusting its CA makes it work", async () => {
    const hook = await startFakeWebhook({ tls: true });
    try {
      const refused = await postWebhook(hook.url, { text: "x" }, { retryDelayMs: 1 });
      expect(refused).toMatchObject({ ok: false, attempts: 1, problem: expect.stringContaining("TLS verification failed") });
      expect(hook.requests).toEqual([]);

      const { caPem } = await makeTestCertificates();
      const dispatcher = new Agent({ connect: { ca: [...getCACertificates("default"), caPem] } });
      expect(await postWebhook(hook.url, { text: "x" }, { dispatcher })).toEqual({ ok: true, attempts: 1 });
      await dispatcher.close();
    } finally {
      await hook.close();
    }
  });
});

describe("runNotifier", () => {
  let hook: FakeWebhook;
  beforeEach(async () => {
    hook = await startFakeWebhook();
  });
  afterEach(async () => {
    await hook.close();
  });

  const aReport = (overrides: Partial<SyncReport> = {}): SyncReport =>
    ({
      plan: { now: "", actions: [], scheduled: [], adopted: [], held: [], warnings: [], safety: { deprovisions: 0, managed: 3, blocked: false }, state: { targetUrl: TARGET, users: {}, groups: {} } },
      problems: [],
      results: [],
      result: "ok",
      interrupted: false,
      lastRun: { runId: "r", startedAt: "", finishedAt: "", result: "ok", counts: { failed: 0 } },
      ...overrides,
    }) as SyncReport;

  it("Given a failed action carrying a value, When notified, Then the value is cut out of its error", async () => {
    const warnings: string[] = [];
    const notifier = runNotifier({ url: hook.url, on: ["failed"] }, { runId: "r", target: TARGET, secrets: ["tok-abcdef"], warn: (w) => warnings.push(w) })!;
    await notifier.afterRun(
      aReport({
        result: "failed",
        lastRun: { runId: "r", startedAt: "", finishedAt: "", result: "failed", counts: { failed: 1 } },
        results: [
          {
            op: "update",
            type: "User",
            key: "ada@example.com",
            sourceId: "ada",
            targetId: "t-ada",
            changes: { title: { from: "Engineer", to: "Chief Confidential Officer" } },
            status: "failed",
            error: "PATCH /Users/t-ada: 400: 'Chief Confidential Officer' is too long",
          },
        ],
      }),
    );
    expect(warnings).toEqual([]);
    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0]!.json.scimsync.failed).toEqual([{ op: "update", type: "User", key: "ada@example.com", error: "PATCH /Users/t-ada: 400: '[value]' is too long" }]);
  });

  it("Given a rejected token thrown before planning, When notified for auth, Then the error goes out", async () => {
    const notifier = runNotifier({ url: hook.url, on: ["auth"] }, { runId: "r", target: TARGET, secrets: [], warn: () => {} })!;
    await notifier.afterError(new TargetAuthError("GET /Users: 401", { status: 401, hint: "run scimsync reauthorize" }));
    expect(hook.requests[0]!.json).toMatchObject({ scimsync: { result: "error", error: { kind: "auth", message: "GET /Users: 401" } } });
    expect(hook.requests[0]!.json.text).toContain("the target rejected the token");
  });

  it("Given no webhook configured, Then there is no notifier", () => {
    expect(runNotifier(undefined, { runId: "r", target: TARGET, secrets: [], warn: () => {} })).toBeUndefined();
  });
});

describe("config: notify.webhook", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "scimsync-notify-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const SECRET_URL = "https://hooks.slack.com/services/T000/B000/sEcReT123456";
  const load = async (notify: string, env: NodeJS.ProcessEnv = { SCIM_TOKEN: "tok-123456", HOOK: SECRET_URL }) => {
    const file = join(dir, "scimsync.yaml");
    await writeFile(file, ["source: { type: file, path: ./d.json }", "target: { url: https://app.example.com/scim/v2, token: \"${env:SCIM_TOKEN}\" }", notify].join("\n"));
    return loadConfig(file, env);
  };
  const loadError = async (notify: string) => {
    const error = await load(notify).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  };

  it("Given a webhook from the environment, Then it loads with the default triggers and no warning", async () => {
    const { config, warnings } = await load('notify: { webhook: { url: "${env:HOOK}" } }');
    expect(config.notify).toEqual({ webhook: { url: SECRET_URL, on: ["failed", "safety-stop", "auth"] } });
    expect(warnings).toEqual([]);
  });

  it("Given no notify section, Then there is no webhook", async () => {
    expect((await load("")).config.notify).toEqual({});
  });

  it("Given the URL written in the file, Then it loads with a warning that does not quote it", async () => {
    const { warnings } = await load(`notify: { webhook: { url: "${SECRET_URL}", on: [always] } }`);
    expect(warnings).toEqual([expect.stringContaining("notify.webhook.url is written in the config file")]);
    expectNoSecrets(warnings, ["sEcReT123456"]);
  });

  it("Given http:// to another host, Then it is refused without quoting the URL", async () => {
    const error = await loadError('notify: { webhook: { url: "http://hooks.example.com/services/sEcReT123456" } }');
    expect(error.issues).toEqual([{ path: "notify.webhook.url", message: expect.stringContaining("must be an absolute https:// URL") }]);
    expectNoSecrets([String(error), JSON.stringify(error.issues)], ["sEcReT123456"]);
  });

  it("Given http:// to this machine, Then it is accepted", async () => {
    const { config } = await load('notify: { webhook: { url: "http://127.0.0.1:9/hook" } }');
    expect(config.notify.webhook?.url).toBe("http://127.0.0.1:9/hook");
  });

  it("Given an unknown trigger or an empty list, Then each is named", async () => {
    const error = await loadError('notify: { webhook: { url: "${env:HOOK}", on: [failed, sometimes] } }');
    expect(error.issues).toEqual([{ path: "notify.webhook.on[1]", message: 'expected failed, safety-stop, auth or always, got "sometimes"' }]);
    const empty = await loadError('notify: { webhook: { url: "${env:HOOK}", on: [] } }');
    expect(empty.issues[0]).toMatchObject({ path: "notify.webhook.on", message: expect.stringContaining("must not be empty") });
  });
});
