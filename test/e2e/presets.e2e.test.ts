/**
 * Every preset end to end: the example directory synced into the sandbox by the real CLI, with
 * assertions on the exact SCIM payloads the target received, and a second run that must write
 * nothing (a preset whose mapping the target cannot round-trip would update forever).
 */
import { copyFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { configYaml, runCli, useSandboxAndWorkspace } from "./harness.js";

const ctx = useSandboxAndWorkspace();
const EXAMPLE = resolve(import.meta.dirname, "../../examples/directory.json");
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

async function syncWithPreset(preset: string, extra = ""): Promise<void> {
  copyFileSync(EXAMPLE, ctx.ws.directory);
  await ctx.ws.writeConfig(configYaml(ctx.sandbox.baseUrl, `scope: { groups: [All Staff] }\n${extra}`).replace("  rateLimit: 0", `  rateLimit: 0\n  preset: ${preset}`));
}

async function runTwice(): Promise<{ first: any; second: any }> {
  const first = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
  expect([0, 3], first.stderr).toContain(first.code);
  const firstRequests = [...ctx.sandbox.requests];
  ctx.sandbox.requests.length = 0;
  const second = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
  expect(second.code, second.stderr).toBe(first.code);
  const writes = ctx.sandbox.requests.filter((r) => r.method !== "GET");
  expect(writes, "the second run must write nothing").toEqual([]);
  ctx.sandbox.requests.length = 0;
  ctx.sandbox.requests.push(...firstRequests);
  return { first: first.json, second: second.json };
}

const userPost = (userName: string) =>
  ctx.sandbox.requests.find((r) => r.method === "POST" && r.path.endsWith("/Users") && (r.body as any)?.userName === userName)?.body as Record<string, any>;
const userPosts = () => ctx.sandbox.requests.filter((r) => r.method === "POST" && r.path.endsWith("/Users"));
const groupRequests = () => ctx.sandbox.requests.filter((r) => r.path.includes("/Groups"));
const idOf = (userName: string) => ctx.sandbox.users().find((u) => u.userName === userName)!.id as string;

describe("taking over an app that already has everyone", () => {
  it("Given the example directory already in the app and a fresh state file, When synced, Then every user and group is adopted and nothing is written", async () => {
    await syncWithPreset("generic");
    const first = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);
    expect(first.code, first.stderr).toBe(0);

    // A lost state file, or a migration from another provisioning tool.
    rmSync(ctx.ws.state);
    rmSync(`${ctx.ws.state}.bak`, { force: true });
    ctx.sandbox.requests.length = 0;
    const takeover = await runCli(["sync", "--config", ctx.ws.config, "--output", "json"], ctx.env);

    expect(takeover.code, takeover.stderr).toBe(0);
    expect(takeover.json.actions).toEqual([]);
    expect(takeover.json.adopted.filter((a: any) => a.type === "Group")).toHaveLength(5);
    expect(ctx.sandbox.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });
});

describe("presets: what each app receives", () => {
  it("generic: core and enterprise attributes, the manager as the manager's target id, groups with members", async () => {
    await syncWithPreset("generic");
    await runTwice();

    expect(userPost("lukasz.wisniewski@example.com")).toEqual({
      schemas: [CORE_USER, ENTERPRISE],
      userName: "lukasz.wisniewski@example.com",
      externalId: "u-1002",
      name: { givenName: "Łukasz", familyName: "Wiśniewski", formatted: "Łukasz Wiśniewski" },
      displayName: "Łukasz Wiśniewski",
      emails: [{ type: "work", primary: true, value: "lukasz.wisniewski@example.com" }],
      title: "VP of Engineering",
      preferredLanguage: "pl-PL",
      addresses: [{ type: "work", primary: true, streetAddress: "ul. Lubicz 23", locality: "Kraków", region: "Małopolskie", postalCode: "31-503", country: "PL" }],
      [ENTERPRISE]: { department: "Engineering", employeeNumber: "4103", manager: { value: idOf("margaret.okafor@example.com") } },
      active: true,
    });
    expect(userPost("oluwaseun.adeyemi@example.com").phoneNumbers).toEqual([
      { type: "work", primary: true, value: "+44 20 7946 0107" },
      { type: "mobile", value: "+44 7700 900107" },
    ]);
    const groupPosts = groupRequests().filter((r) => r.method === "POST");
    expect(groupPosts.map((r) => r.body)).toContainEqual({ schemas: [CORE_GROUP], displayName: "Engineering", externalId: "g-eng" });
    expect(groupPosts.every((r) => !("members" in (r.body as object)))).toBe(true);
    const engineering = ctx.sandbox.groups().find((g) => g.displayName === "Engineering")!;
    expect((engineering.members as unknown[]).length).toBe(16);
  });

  it("comeet: users only, userName = email, never a request to /Groups", async () => {
    await syncWithPreset("comeet");
    const { first } = await runTwice();

    expect(groupRequests()).toEqual([]);
    expect(userPost("zoe.fontaine@example.com")).toEqual({
      schemas: [CORE_USER],
      userName: "zoe.fontaine@example.com",
      externalId: "u-1003",
      name: { givenName: "Zoë", familyName: "Fontaine" },
      emails: [{ type: "work", primary: true, value: "zoe.fontaine@example.com" }],
      active: true,
    });
    // No email in the directory: Comeet's userName falls back to the directory's userName.
    expect(userPost("ethan.brooks@example.com")).toMatchObject({ userName: "ethan.brooks@example.com" });
    expect(first.summary.groups.create).toBe(0);
  });

  it("commbox: the CommBox attribute table, no externalId, groups by displayName only", async () => {
    await syncWithPreset("commbox");
    await runTwice();

    expect(userPost("zoe.fontaine@example.com")).toEqual({
      schemas: [CORE_USER],
      userName: "zoe.fontaine@example.com",
      displayName: "Zoë Fontaine",
      emails: [{ type: "work", primary: true, value: "zoe.fontaine@example.com" }],
      name: { givenName: "Zoë", familyName: "Fontaine" },
      active: true,
    });
    const groupPosts = groupRequests().filter((r) => r.method === "POST");
    expect(groupPosts.map((r) => r.body)).toContainEqual({ schemas: [CORE_GROUP], displayName: "Sales" });
    expect(ctx.sandbox.groups().map((g) => g.displayName).sort()).toEqual(["All Staff", "Engineering", "Finance", "Sales", "Support"]);
  });

  it("recnice: every attribute Recnice requires, roles as a multi-valued attribute", async () => {
    await syncWithPreset("recnice");
    await runTwice();

    expect(userPost("zoe.fontaine@example.com")).toEqual({
      schemas: [CORE_USER, ENTERPRISE],
      userName: "zoe.fontaine@example.com",
      displayName: "Zoë Fontaine",
      title: "Engineering Manager, Platform",
      emails: [{ type: "work", primary: true, value: "zoe.fontaine@example.com" }],
      preferredLanguage: "fr-FR",
      name: { givenName: "Zoë", familyName: "Fontaine", formatted: "Zoë Fontaine" },
      addresses: [{ type: "work", primary: true, streetAddress: "Friedrichstraße 68", locality: "Berlin", region: "Berlin", postalCode: "10117", country: "DE" }],
      externalId: "u-1003",
      roles: [{ value: "Hiring Manager" }, { value: "Interviewer" }],
      [ENTERPRISE]: { department: "Engineering" },
      active: true,
    });
    expect(groupRequests().filter((r) => r.method === "POST").map((r) => r.body)).toContainEqual({ schemas: [CORE_GROUP], displayName: "Finance", externalId: "g-fin" });
  });

  it("komeet: userName = email; a user without a valid email is reported and skipped", async () => {
    await syncWithPreset("komeet");
    const { first, second } = await runTwice();

    expect(userPost("ethan.brooks@example.com")).toBeUndefined();
    expect(userPosts().every((r) => typeof (r.body as any).emails?.[0]?.value === "string")).toBe(true);
    expect(first.problems).toContainEqual(expect.objectContaining({ id: "u-1011", reason: expect.stringContaining("no email") }));
    expect(second.problems).toContainEqual(expect.objectContaining({ id: "u-1011" }));
    const engineering = ctx.sandbox.groups().find((g) => g.displayName === "Engineering")!;
    // Ethan is in Engineering in the directory but has no account, so he is not a member.
    expect((engineering.members as unknown[]).length).toBe(15);
  });
});
