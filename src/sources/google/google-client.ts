/**
 * The Directory API client, authenticated as the config says: a service account acting for an
 * admin through domain-wide delegation (a JWT signed with its key, exchanged for a token), or a
 * short-lived access token minted elsewhere.
 */
import { admin, auth as googleAuth, type admin_directory_v1 } from "@googleapis/admin";
import { VERSION } from "../../version.js";
import { GOOGLE_SCOPES } from "./google-errors.js";

/** Where google-auth-library always sends the JWT exchange (it ignores a key's token_uri). */
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

export type GoogleCredentials =
  | { kind: "service-account"; clientEmail: string; privateKey: string; privateKeyId?: string; clientId?: string; subject: string }
  | { kind: "access-token"; token: string };

export interface GoogleClientOptions {
  credentials: GoogleCredentials;
  /** Origin of the Directory API, ending in "/"; default Google's. */
  apiRoot?: string;
  /** Token endpoint for the JWT exchange; default Google's. */
  tokenUrl?: string;
}

export function directoryClient(options: GoogleClientOptions, timeoutMs: number): admin_directory_v1.Admin {
  const authClient = authFor(options, timeoutMs);
  return admin({
    version: "directory_v1",
    auth: authClient,
    ...(options.apiRoot ? { rootUrl: options.apiRoot } : {}),
    userAgentDirectives: [{ product: "scimsync", version: VERSION }],
  });
}

function authFor(options: GoogleClientOptions, timeoutMs: number) {
  const credentials = options.credentials;
  if (credentials.kind === "access-token") {
    const client = new googleAuth.OAuth2();
    client.setCredentials({ access_token: credentials.token });
    return client;
  }
  const client = new googleAuth.JWT({
    email: credentials.clientEmail,
    key: credentials.privateKey,
    ...(credentials.privateKeyId ? { keyId: credentials.privateKeyId } : {}),
    scopes: Object.values(GOOGLE_SCOPES),
    subject: credentials.subject,
  });
  const tokenUrl = options.tokenUrl;
  client.transporter.interceptors.request.add({
    resolved: async (request) => {
      if (String(request.url) !== GOOGLE_TOKEN_URL) return request;
      // Our backoff already wraps every Directory call, and the token request runs inside one:
      // the library's own three retries would stack on ours into long stalls.
      request.retryConfig = { ...request.retryConfig, retry: 0 };
      // The token request has no timeout of its own (gaxios applies `timeout` before interceptors run).
      request.signal = AbortSignal.timeout(timeoutMs);
      if (tokenUrl) request.url = new URL(tokenUrl);
      return request;
    },
  });
  return client;
}
