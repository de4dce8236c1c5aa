/**
 * The CLI against a target that fails: a systemic failure stops the run early, and an object
 * that keeps failing waits in escrow (shown by sync and status) until its next attempt or
 * sync --retry-now.
 */
import { CREATE_POSTS } from "../../src/engine/create-tries.js";
import { describe, it, expect } from "vitest";
import { configYaml, useFaultProxy, useSandboxAndWorkspace, people, runCli } from "./harness.js";

const ctx = useSandboxAndWorkspace();
const fault = useFaultProxy(ctx);
const refusal = { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", scimType: "invalidValue", detail: "title is too long" };

describe("a target that fails", () => {
  it("given every write fails with 500, then sync stops early, exits 3 with most actions not started, and the next run applies them", async () => {
    fault.proxy.decide = ({ method }) => (method === "GET" ? { kind: "pass" } : { kind: "respond", status: 500, body: { detail: "down for maintenance" } });
    await ctx.ws.writeDirectory(people(60));
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl, "log: { path: ./audit.ndjson }\n"));

    const stopped = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(stopped.code, stopped.stderr).toBe(3);
    expect(stopped.json.result).toBe("failed");
    expect(stopped.json.stoppedEarly).toEqual({ reason: "failing", message: expect.stringMatching(/^\d+ of the last 20 actions failed/) });
    const notStarted = stopped.json.actions.filter((a: any) => a.status === "planned").length;
    expect(notStarted).toBeGreaterThan(30);
    // Each create answered 500 and not found afterwards is posted again, up to CREATE_POSTS times.
    expect(fault.proxy.seen.filter((r) => r.method === "POST").length).toBe(CREATE_POSTS * (60 - notStarted));
    expect(stopped.stderr).toContain("stopping early:");
    // The failures were the target's, not the users': nothing waits in escrow.
    const status = await runCli(["status", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(status.json.failing.filter((f: any) => f.source === "state")).toEqual([]);

    fault.proxy.decide = () => ({ kind: "pass" });
    const recovered = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.json.stoppedEarly).toBeUndefined();
    expect(ctx.sandbox.users()).toHaveLength(60);
  });

  it("given one user's create is refused twice, then the next sync waits for it, status shows when it is tried, and --retry-now tries it", async () => {
    fault.proxy.decide = ({ method, body }) => (method === "POST" && body.includes("person2@example.com") ? { kind: "respond", status: 400, body: refusal } : { kind: "pass" });
    await ctx.ws.writeDirectory(people(3));
    await ctx.ws.writeConfig(configYaml(fault.proxy.baseUrl));
    expect((await runCli(["sync", "--config", ctx.ws.config], ctx.env)).code).toBe(3);
    expect((await runCli(["sync", "--config", ctx.ws.config], ctx.env)).code).toBe(3);
    fault.proxy.seen.length = 0;

    const waiting = await runCli(["sync", "--config", ctx.ws.config], ctx.env);
    expect(waiting.code).toBe(3);
    expect(waiting.stdout).toContain("Waiting to retry (1)");
    expect(waiting.stdout).toMatch(/person2@example\.com: create at \S+, after 2 failed attempt\(s\): POST \/Users: 400 invalidValue: title is too long/);
    expect(fault.proxy.seen.filter((r) => r.method === "POST")).toEqual([]);

    const status = await runCli(["status", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(status.json.failing).toEqual([
      expect.objectContaining({ type: "User", key: "person2@example.com", attempts: 2, source: "state", op: "create", nextAttemptAt: expect.any(String) }),
    ]);

    fault.proxy.decide = () => ({ kind: "pass" });
    const retried = await runCli(["sync", "--config", ctx.ws.config, "--output", "json", "--retry-now"], ctx.env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.json.actions).toEqual([expect.objectContaining({ op: "create", key: "person2@example.com", status: "ok" })]);
    expect((await runCli(["status", "--config", ctx.ws.config, "--output", "json"], ctx.env)).json.failing).toEqual([]);
  });
});
