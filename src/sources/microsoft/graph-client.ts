/**
 * The Microsoft Graph client, authenticated through @azure/identity as the config says: a
 * client secret, a certificate, a managed identity, workload identity federation, or, when
 * nothing is given, DefaultAzureCredential's chain.
 *
 * The middleware chain leaves out the client's RetryHandler: our own backoff (source-calls.ts)
 * wraps every call, and the two stacked would turn a throttled tenant into long stalls.
 */
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from "@azure/identity";
import { AuthenticationHandler, Client, HTTPMessageHandler, TelemetryHandler } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";

export type GraphCredentialSettings =
  | { kind: "secret"; clientSecret: string }
  | { kind: "certificate"; certificatePath: string; certificatePassword?: string }
  | { kind: "managed-identity"; clientId?: string }
  | { kind: "workload-identity"; tokenFilePath?: string }
  | { kind: "default" };

export interface GraphConnection {
  tenantId: string;
  clientId?: string;
  credential: GraphCredentialSettings;
  /** e.g. https://login.microsoftonline.com, no trailing slash. */
  authorityHost: string;
  /**
   * true when the authority was set by hand (a proxy, a test): MSAL's instance discovery would
   * otherwise ask Microsoft's public endpoint about it, and fail.
   */
  authorityHostOverridden: boolean;
  /** e.g. https://graph.microsoft.com, no trailing slash, no path. */
  graphUrl: string;
  /**
   * The cloud's Graph resource the token is for (https://graph.microsoft.com in the global
   * cloud). Not graphUrl: a proxy in front of Graph still passes on a token for Graph itself.
   */
  graphResource: string;
}

export function credentialFor(connection: GraphConnection): TokenCredential {
  const authority = { authorityHost: connection.authorityHost, ...(connection.authorityHostOverridden ? { disableInstanceDiscovery: true } : {}) };
  const c = connection.credential;
  switch (c.kind) {
    case "secret":
      return new ClientSecretCredential(connection.tenantId, connection.clientId ?? "", c.clientSecret, authority);
    case "certificate":
      return new ClientCertificateCredential(
        connection.tenantId,
        connection.clientId ?? "",
        { certificatePath: c.certificatePath, ...(c.certificatePassword ? { certificatePassword: c.certificatePassword } : {}) },
        authority,
      );
    case "managed-identity":
      return c.clientId ? new ManagedIdentityCredential({ clientId: c.clientId }) : new ManagedIdentityCredential();
    case "workload-identity":
      return new WorkloadIdentityCredential({
        tenantId: connection.tenantId,
        ...(connection.clientId ? { clientId: connection.clientId } : {}),
        ...(c.tokenFilePath ? { tokenFilePath: c.tokenFilePath } : {}),
        ...authority,
      });
    case "default":
      return new DefaultAzureCredential({ tenantId: connection.tenantId, ...authority });
  }
}

/**
 * The credential with a deadline on each token request (@azure/identity sets none of its own,
 * and a sign-in host that accepts the connection and never answers would hold the run, and
 * the state lock, forever), and one request at a time: the reads that start together would
 * otherwise each ask for a token before the first one is cached.
 */
export function withTokenTimeout(credential: TokenCredential, timeoutMs: number): TokenCredential {
  let inFlight: ReturnType<TokenCredential["getToken"]> | undefined;
  return {
    getToken: (scopes, options) => {
      inFlight ??= credential
        .getToken(scopes, { ...options, abortSignal: options?.abortSignal ?? AbortSignal.timeout(timeoutMs) })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
  };
}

export function graphClient(connection: GraphConnection, credential: TokenCredential): Client {
  const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [`${connection.graphResource}/.default`] });
  const host = new URL(connection.graphUrl).hostname;
  return Client.initWithMiddleware({
    baseUrl: `${connection.graphUrl}/`,
    middleware: [new AuthenticationHandler(authProvider), new TelemetryHandler(), new HTTPMessageHandler()],
    // The client sends the token only to Microsoft's Graph hosts, or to these (a bare host name:
    // with a port it silently sends none).
    customHosts: new Set([host]),
  });
}
