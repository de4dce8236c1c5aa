/**
 * The fake Graph + identity platform, driven by the real @azure/identity and
 * @microsoft/microsoft-graph-client, so the fake is known to speak what those libraries expect
 * (HTTPS with a trusted test CA, MSAL's metadata and token calls, absolute links, RetryHandler).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ClientCertificateCredential, ClientSecretCredential } from "@azure/identity";
import { Client, GraphError } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeGraph, type FakeGraph } from "./support/fake-graph.js";
import { GENERATED_APP_ID, GENERATED_SERVICE_PRINCIPAL_ID, generateGraphDirectory } from "./support/graph-directory-data.js";
import { makeTestCertificates } from "./support/test-ca.js";

const CLIENT_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const SECRET = "test-secret-value";
const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

function graphClient(fake: FakeGraph, secret = SECRET): Client {
  const credential = new ClientSecretCredential(fake.tenantId, CLIENT_ID, secret, {
    authorityHost: fake.url,
    disableInstanceDiscovery: true,
  });
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] }),
    baseUrl: `${fake.url}/`,
    customHosts: new Set(["127.0.0.1"]),
  });
}

interface Page {
  value: Record<string, unknown>[];
  "@odata.nextLink"?: string;
  "@odata.deltaLink"?: string;
}

/** Follows nextLinks to the end; returns every item and the final page (with the deltaLink). */
async function readAll(client: Client, first: Page): Promise<{ items: Record<string, unknown>[]; last: Page; pages: number }> {
  const items = [...first.value];
  let last = first;
  let pages = 1;
  while (last["@odata.nextLink"]) {
    last = (await client.api(last["@odata.nextLink"]).get()) as Page;
    items.push(...last.value);
    pages++;
  }
  return { items, last, pages };
}

async function graphFailure(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GraphError) return error;
    throw error;
  }
  throw new Error("expected the Graph call to fail");
}

describe("fake Graph with the real client libraries", () => {
  let fake: FakeGraph;
  let client: Client;

  beforeAll(async () => {
    fake = await startFakeGraph({
      data: generateGraphDirectory({ users: 12, groups: 6, membersPerGroup: 3, seed: 7 }),
      clientSecret: SECRET,
    });
    client = graphClient(fake);
  });
  afterAll(() => fake.close());
  afterEach(() => {
    delete fake.grantedPermissions;
    delete fake.pageSize;
  });

  it("gets a token over HTTPS and pages /users with absolute nextLinks", async () => {
    const first = (await client.api("/users").select(["id", "displayName"]).top(5).get()) as Page;
    expect(first.value).toHaveLength(5);
    // Only what $select names: no free id, no default properties.
    expect(Object.keys(first.value[0]!).sort()).toEqual(["displayName", "id"]);
    expect(first["@odata.nextLink"]).toMatch(new RegExp(`^${fake.url}/v1\\.0/users\\?.*\\$skiptoken=`));
    const { items, pages } = await readAll(client, first);
    expect(pages).toBe(3);
    expect(items.map((u) => u.id)).toEqual(fake.data.users.map((u) => u.id));
    // Every Graph request carried the fake's token (customHosts took the bare host name).
    const graphRequests = fake.requests.filter((r) => r.path === "/v1.0/users");
    expect(graphRequests.length).toBeGreaterThanOrEqual(3);
    for (const r of graphRequests) expect(r.authorization).toMatch(/^Bearer .+\..+\..+$/);
    // What MSAL called with disableInstanceDiscovery: the tenant's metadata, then the token endpoint.
    expect(fake.identityRequests.slice(0, 2)).toEqual([
      `GET /${fake.tenantId}/v2.0/.well-known/openid-configuration`,
      `POST /${fake.tenantId}/oauth2/v2.0/token`,
    ]);
    expect(fake.tokenRequests[0]).toMatchObject({ grantType: "client_credentials", clientId: CLIENT_ID, scope: GRAPH_SCOPE, clientSecret: SECRET });
  });

  it("serves the default property set, $expand=manager and $filter", async () => {
    const ceo = fake.data.users[0]!;
    const one = (await client.api(`/users/${ceo.id}`).get()) as Record<string, unknown>;
    expect(Object.keys(one).filter((k) => !k.startsWith("@")).sort()).toEqual(
      ["businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"],
    );
    const withManagers = (await client.api("/users").select(["id"]).expand("manager($select=id)").top(999).get()) as Page;
    expect(withManagers.value[0]).toEqual({ id: ceo.id }); // no manager: property absent
    expect(withManagers.value[1]!.manager).toEqual({ "@odata.type": "#microsoft.graph.user", id: fake.data.users[1]!.managerId });
    fake.updateUser(fake.data.users[2]!.id, { accountEnabled: false });
    const disabled = (await client.api("/users").filter("accountEnabled eq false").select(["id"]).get()) as Page;
    expect(disabled.value.map((u) => u.id)).toContain(fake.data.users[2]!.id);
    const prefix = fake.data.users[3]!.displayName!.slice(0, 3);
    const byName = (await client.api("/users").filter(`startswith(displayName,'${prefix}')`).select(["displayName"]).get()) as Page;
    expect(byName.value.every((u) => String(u.displayName).toLowerCase().startsWith(prefix.toLowerCase()))).toBe(true);
    const bad = await graphFailure(client.api("/users").filter("department eq 'Sales'").get());
    expect(bad.statusCode).toBe(400);
    expect(bad.code).toBe("Request_UnsupportedQuery");
    const manager = (await client.api(`/users/${fake.data.users[1]!.id}/manager`).select(["id"]).get()) as Record<string, unknown>;
    expect(manager).toMatchObject({ "@odata.type": "#microsoft.graph.user", id: fake.data.users[1]!.managerId });
    const none = await graphFailure(client.api(`/users/${ceo.id}/manager`).get());
    expect(none.statusCode).toBe(404);
    expect(none.code).toBe("Request_ResourceNotFound");
  });

  it("tracks user changes through users/delta, including deletions and token expiry", async () => {
    fake.pageSize = 5;
    const initial = await readAll(client, (await client.api("/users/delta").select(["displayName", "jobTitle", "manager"]).get()) as Page);
    expect(initial.pages).toBeGreaterThan(1);
    expect(initial.items).toHaveLength(fake.data.users.length);
    expect(initial.items[1]!["manager@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.user", id: fake.data.users[1]!.managerId }]);
    const deltaLink = initial.last["@odata.deltaLink"]!;
    expect(deltaLink).toMatch(new RegExp(`^${fake.url}/v1\\.0/users/delta\\?\\$deltatoken=`));

    // Nothing changed yet: an empty page with a new deltaLink.
    const quiet = (await client.api(deltaLink).get()) as Page;
    expect(quiet.value).toEqual([]);

    const [a, b, c] = fake.data.users.slice(4, 7);
    fake.updateUser(a!.id, { jobTitle: "Principal Engineer" });
    fake.updateUser(b!.id, { city: "Lisbon" }); // not selected: must not appear
    fake.deleteUser(c!.id);
    const gone = fake.data.users[7]!;
    fake.deleteUser(gone.id, { permanent: true });
    fake.addUser({ id: "11111111-2222-4333-8444-555555555555", userPrincipalName: "new.hire@example.com", displayName: "New Hire" });

    const changes = await readAll(client, (await client.api(quiet["@odata.deltaLink"]!).get()) as Page);
    const byId = new Map(changes.items.map((i) => [i.id, i]));
    expect(byId.get(a!.id)).toMatchObject({ id: a!.id, jobTitle: "Principal Engineer", displayName: a!.displayName });
    expect(byId.has(b!.id)).toBe(false);
    expect(byId.get(c!.id)).toEqual({ id: c!.id, "@removed": { reason: "changed" } });
    expect(byId.get(gone.id)).toEqual({ id: gone.id, "@removed": { reason: "deleted" } });
    expect(byId.get("11111111-2222-4333-8444-555555555555")).toMatchObject({ displayName: "New Hire", jobTitle: null });

    // Prefer: return=minimal gives only the changed properties.
    fake.updateUser(a!.id, { displayName: "Renamed Person" });
    const minimal = (await client.api(changes.last["@odata.deltaLink"]!).header("Prefer", "return=minimal").get()) as Page;
    expect(minimal.value).toEqual([{ displayName: "Renamed Person", id: a!.id }]);

    // A reset: the stored deltaLink now answers 410 Gone, with a Location to start over.
    fake.expireDeltaTokens();
    const expired = await graphFailure(client.api(minimal["@odata.deltaLink"]!).get());
    expect(expired.statusCode).toBe(410);
    expect(expired.code).toBe("resyncRequired");
    expect(expired.headers?.get("location")).toMatch(/\/v1\.0\/users\/delta\?\$select=displayName,jobTitle,manager$/);
    const fresh = await readAll(client, (await client.api("/users/delta").select(["displayName"]).get()) as Page);
    expect(fresh.items).toHaveLength(fake.data.users.length);
  });

  it("reports membership changes as members@delta in groups/delta", async () => {
    const initial = await readAll(client, (await client.api("/groups/delta").select(["displayName", "members"]).get()) as Page);
    const group = fake.data.groups[1]!;
    const entry = initial.items.find((g) => g.id === group.id)!;
    expect(entry["members@delta"]).toEqual(group.members.map((id) => ({ "@odata.type": "#microsoft.graph.user", id })));
    const nested = initial.items.find((g) => g.id === fake.data.groups[0]!.id)!;
    expect(nested["members@delta"]).toContainEqual({ "@odata.type": "#microsoft.graph.group", id: group.id });

    const [removed, ...kept] = group.members;
    const added = fake.data.users.find((u) => !group.members.includes(u.id))!;
    fake.setGroupMembers(group.id, [...kept, added.id]);
    const changes = (await client.api(initial.last["@odata.deltaLink"]!).get()) as Page;
    expect(changes.value).toEqual([
      {
        displayName: group.displayName,
        id: group.id,
        "members@delta": [
          { "@odata.type": "#microsoft.graph.user", id: added.id },
          { "@odata.type": "#microsoft.graph.user", id: removed, "@removed": { reason: "deleted" } },
        ],
      },
    ]);
  });

  it("flattens nested groups in transitiveMembers, cycle-safe, with the user cast", async () => {
    const [outer, inner] = fake.data.groups;
    // A cycle: inner contains outer again.
    fake.setGroupMembers(inner!.id, [...inner!.members, outer!.id]);
    const all = (await client.api(`/groups/${outer!.id}/transitiveMembers`).select(["id", "displayName"]).get()) as Page;
    const expected = new Set([...outer!.members, ...inner!.members].filter((id) => id !== outer!.id));
    expect(new Set(all.value.map((m) => m.id))).toEqual(expected);
    expect(all.value.find((m) => m.id === inner!.id)).toMatchObject({ "@odata.type": "#microsoft.graph.group" });
    const users = (await client.api(`/groups/${outer!.id}/transitiveMembers/microsoft.graph.user`).select(["id"]).get()) as Page;
    expect(users.value.every((m) => Object.keys(m).join() === "id")).toBe(true);
    expect(users.value).toHaveLength(expected.size - 1);
  });

  it("lists an enterprise app's assignments", async () => {
    const page = (await client.api(`/servicePrincipals/${GENERATED_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo`).get()) as Page;
    const first = page.value[0]!;
    expect(first).toMatchObject({ principalType: "Group", resourceId: GENERATED_SERVICE_PRINCIPAL_ID, resourceDisplayName: "SCIM target app" });
    expect(first.principalDisplayName).toBe(fake.data.groups.find((g) => g.id === first.principalId)!.displayName);
    const byAppId = (await client.api(`/servicePrincipals(appId='${GENERATED_APP_ID}')/appRoleAssignedTo`).get()) as Page;
    expect(byAppId.value).toEqual(page.value);
  });

  it("answers throttling with Retry-After, which the client's RetryHandler honours", async () => {
    const before = fake.requests.length;
    fake.injectFault(/^\/v1\.0\/groups$/, { status: 429, retryAfter: "0" });
    const groups = (await client.api("/groups").select(["id"]).get()) as Page;
    expect(groups.value).toHaveLength(fake.data.groups.length);
    const attempts = fake.requests.slice(before).filter((r) => r.path === "/v1.0/groups");
    expect(attempts).toHaveLength(2);
  });

  it("refuses what the granted permissions don't cover, and bad credentials", async () => {
    fake.grantedPermissions = ["User.Read.All"];
    await client.api("/users").top(1).get();
    const denied = await graphFailure(client.api("/groups").get());
    expect(denied.statusCode).toBe(403);
    expect(denied.code).toBe("Authorization_RequestDenied");
    expect(denied.message).toBe("Insufficient privileges to complete the operation.");
    expect(denied.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const wrong = graphClient(fake, "not-the-secret");
    await expect(wrong.api("/users").get()).rejects.toThrow(/AADSTS7000215/);

    const unauthenticated = await fetch(`${fake.url}/v1.0/users`);
    expect(unauthenticated.status).toBe(401);
    expect(((await unauthenticated.json()) as { error: { code: string } }).error.code).toBe("InvalidAuthenticationToken");
  });
});

describe("certificate credentials", () => {
  it("accepts a client assertion signed by the registered certificate", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fake-graph-cert-"));
    try {
      await promisify(execFile)("openssl", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=scimsync-test-app",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      ]);
      const certPem = await readFile(join(dir, "cert.pem"), "utf8");
      const keyPem = await readFile(join(dir, "key.pem"), "utf8");
      const fake = await startFakeGraph({ data: generateGraphDirectory({ users: 2, groups: 0, membersPerGroup: 0, seed: 1 }), clientCertificatePem: certPem });
      try {
        const credential = new ClientCertificateCredential(
          fake.tenantId,
          CLIENT_ID,
          { certificate: `${keyPem}\n${certPem}` },
          { authorityHost: fake.url, disableInstanceDiscovery: true },
        );
        const token = await credential.getToken(GRAPH_SCOPE);
        expect(token.token.split(".")).toHaveLength(3);
        expect(fake.tokenRequests[0]).toMatchObject({
          grantType: "client_credentials",
          clientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          assertionClaims: { iss: CLIENT_ID, sub: CLIENT_ID },
        });
        expect(fake.tokenRequests[0]!.clientSecret).toBeUndefined();
        // MSAL names the certificate by thumbprint; the fake checks it and the signature.
        expect(fake.tokenRequests[0]!.assertionHeader).toHaveProperty(["x5t#S256"]);

        // Another app's certificate (here: the fake's own server certificate) is refused.
        const other = new ClientCertificateCredential(
          fake.tenantId,
          CLIENT_ID,
          { certificate: `${keyPem}\n${(await makeTestCertificates()).certPem}` },
          { authorityHost: fake.url, disableInstanceDiscovery: true },
        );
        await expect(other.getToken(GRAPH_SCOPE)).rejects.toThrow(/AADSTS700027/);
      } finally {
        await fake.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
