/** A Google service account JSON key as the Cloud console downloads it, with a real RSA key. */
import { generateKeyPairSync } from "node:crypto";

let privateKey: string | undefined;

/** One key per test file: generating an RSA key takes a while. */
export function aPrivateKey(): string {
  privateKey ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return privateKey;
}

export const SERVICE_ACCOUNT = { email: "scimsync@scimsync-test.iam.gserviceaccount.com", clientId: "104857600000000000001" };

export function aServiceAccountKeyFile(): string {
  return JSON.stringify(
    {
      type: "service_account",
      project_id: "scimsync-test",
      private_key_id: "0123456789abcdef0123456789abcdef01234567",
      private_key: aPrivateKey(),
      client_email: SERVICE_ACCOUNT.email,
      client_id: SERVICE_ACCOUNT.clientId,
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: "https://oauth2.googleapis.com/token",
    },
    null,
    2,
  );
}
