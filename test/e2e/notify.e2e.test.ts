/**
 * notify.webhook through the real CLI: a webhook on 127.0.0.1 hears of failed runs, of a rejected
 * token and (with `always`) of every run; a webhook that is down costs a warning, never the exit
 * code; and its URL, a secret, appears in no output.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { configYaml, people, runCli, useFaultProxy, useSandboxAndWorkspace } from "./harness.js";
import { startFakeWebhook, type FakeWebhook } from "../support/fake-webhook.js";
import { expectNoSecrets } from "../support/secret-scan.js";

const ctx = useSandboxAndWorkspace();
const refusal = { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", scimType: "invalidValue", detail: "title is too long" };
const notify = (on?: string) => `notify:\n  webhook:\n    url: "\${env:SCIMSYNC_WEBHOOK_URL}"\n${on ? `    on: ${on}\n` : ""}`;

describe("notify.webhook", () => {
  const fault = useFaultProxy(ctx);
  let hook: FakeWebhook;
  beforeEach(async () => {
    hook = await startFakeWebhook();
  });
  afterEach(async () => {
    await hook.close();
  });
  const env = () => ({ ...ctx.env, SCIMSYNC_WEBHOOK_URL: hook.url });
  const outputs = (...runs: Array<{ stdout: string; stderr: string }>) => [...runs.flatMap((r) => [r.stdout, r.stderr]), readFileSync(ctx.ws.state, "utf8")];

  it("Given a failed run, When synced, Then one summary is posted; a clean run posts nothing unless on: [always]", async () => {
    fault.proxy.decide = ({ method, body }) => (method === "POST" && body.includes("person2@example.com") ? { kind: "respond", status: 400, body: refusal } : { kind: "pass" });
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, notify()));

    const failed = await runCli(["sync", "--config", ctx.ws.config], env());
    expect(failed.code, failed.stderr).toBe(3);
    expect(hook.requests).toHaveLength(1);
    const [post] = hook.requests;
    expect(post).toMatchObject({ method: "POST", contentType: "application/json" });
    expect(post!.json.text).toBe(`scimsync sync on ${fault.proxy.baseUrl}: 1 failed, 2 applied`);
    expect(post!.json.scimsync).toEqual({
      runId: expect.any(String),
      result: "failed",
      target: fault.proxy.baseUrl,
      counts: { failed: 1, create: 2 },
      failed: [{ op: "create", type: "User", key: "person2@example.com", error: expect.stringContaining("title is too long") }],
      safety: expect.objectContaining({ blocked: false }),
    });
    expect(post!.json.scimsync.runId).toBe(JSON.parse(readFileSync(ctx.ws.state, "utf8")).lastRun.runId);

    // The failure is resolved: a clean run is not worth a message by default...
    fault.proxy.decide = () => ({ kind: "pass" });
    const clean = await runCli(["sync", "--config", ctx.ws.config], env());
    expect(clean.code, clean.stderr).toBe(0);
    expect(hook.requests).toHaveLength(1);

    // ...but is with on: [always].
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, notify("[always]")));
    const always = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], env());
    expect(always.code, always.stderr).toBe(0);
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.json).toMatchObject({ text: `scimsync sync on ${fault.proxy.baseUrl}: ok, nothing to change`, scimsync: { result: "ok", failed: [] } });

    expectNoSecrets(outputs(failed, clean, always), [hook.url, hook.secret, ctx.sandbox.token]);
  });

  it("Given a rejected token, When synced, Then the auth summary is posted and the exit code stays 5", async () => {
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, notify("[auth]")));
    const r = await runCli(["sync", "--config", ctx.ws.config], { ...env(), SCIM_TOKEN: "not-the-token" });
    expect(r.code).toBe(5);
    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0]!.json.text).toBe(`scimsync sync on ${ctx.sandbox.baseUrl}: the target rejected the token; run scimsync reauthorize`);
    expect(hook.requests[0]!.json.scimsync).toMatchObject({ result: "error", error: { kind: "auth" } });
    expectNoSecrets([r.stdout, r.stderr, ...hook.requests.map((q) => q.body)], [hook.secret, "not-the-token"]);
  });

  it("Given the webhook is down, When a run fails, Then a warning says so and the exit code is unchanged", async () => {
    const url = hook.url;
    await hook.close();
    fault.proxy.decide = ({ method, body }) => (method === "POST" && body.includes("person1@example.com") ? { kind: "respond", status: 400, body: refusal } : { kind: "pass" });
    await ctx.ws.writeDirectory(people(2));
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, notify()));
    const r = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], { ...ctx.env, SCIMSYNC_WEBHOOK_URL: url });
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.summary).toMatchObject({ create: 1, failed: 1 });
    expect(r.stderr).toContain(`warning: notify.webhook: the run's summary was not sent: could not reach the webhook at ${new URL(url).host}: connection refused (gave up after 2 attempts)`);
    expectNoSecrets(outputs(r), [url, hook.secret]);
    hook = await startFakeWebhook();
  });
});
