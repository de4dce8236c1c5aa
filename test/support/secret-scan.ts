/** Checks that no secret appears in what a run wrote (stdout, stderr, state and log files). */
import { expect } from "vitest";

/** Also with line breaks (raw or JSON-escaped) taken out, so a key printed as PEM is caught too. */
function haystacksOf(text: string): string[] {
  return [text, text.replace(/\\n|\r?\n/g, "")];
}

export function expectNoSecrets(texts: string[], secrets: string[]): void {
  const haystacks = texts.flatMap(haystacksOf);
  for (const secret of secrets) {
    for (const text of haystacks) {
      if (text.includes(secret)) expect.fail(`a secret leaked: …${secret.slice(0, 12)}… in\n${text.slice(0, 2000)}`);
    }
  }
}

/** The bearer tokens a fake server was shown, as the client presented them. */
export function bearerTokensOf(requests: { authorization?: string }[]): string[] {
  return [...new Set(requests.map((r) => /^Bearer (\S+)$/.exec(r.authorization ?? "")?.[1]).filter((t): t is string => t !== undefined))];
}

/** Characters of a secret that are enough to call a finding a (partial) leak. */
const PIECE = 8;
/**
 * A PKCS#8 RSA key's base64 starts with the same ASN.1 header for every key of a size (about 48
 * characters); fragments are taken after it, or every key would "leak" into every other.
 */
const PEM_HEADER_CHARS = 64;
/** Windows of the key body: any run of 2 × PEM_STRIDE characters contains a whole one. */
const PEM_WINDOW = 40;
const PEM_STRIDE = 20;

export interface SecretFragment {
  /** "whole", "first 8", "last 8", "key body @120"… for the failure message. */
  what: string;
  value: string;
}

/**
 * What must not appear for a secret to count as kept: the whole of it, its first and last 8
 * characters (a "redaction" that keeps an end still gives it away), and for a PEM private key
 * overlapping windows of its base64 body, whatever line breaks it was printed with.
 */
export function secretFragments(secret: string): SecretFragment[] {
  const pem = /-----BEGIN [A-Z ]*PRIVATE KEY-----([\s\S]*?)-----END/.exec(secret);
  if (pem) {
    const body = pem[1]!.replace(/\s+/g, "");
    const distinctive = body.slice(PEM_HEADER_CHARS);
    const windows: SecretFragment[] = [];
    for (let at = 0; at + PEM_WINDOW <= distinctive.length; at += PEM_STRIDE) {
      windows.push({ what: `key body @${PEM_HEADER_CHARS + at}`, value: distinctive.slice(at, at + PEM_WINDOW) });
    }
    return [
      { what: "first 8 after the key header", value: distinctive.slice(0, PIECE) },
      { what: "last 8", value: distinctive.slice(-PIECE) },
      ...windows,
    ];
  }
  if (secret.length <= PIECE * 2) return [{ what: "whole", value: secret }];
  return [
    { what: "whole", value: secret },
    { what: "first 8", value: secret.slice(0, PIECE) },
    { what: "last 8", value: secret.slice(-PIECE) },
  ];
}

export interface NamedText {
  /** Where the text came from: "sync -o json: stderr", a file path, "webhook POST #3". */
  name: string;
  text: string;
  /** Names of secrets this text may hold on purpose (the sandbox prints its own token). */
  allowed?: readonly string[];
}

export interface NamedSecret {
  name: string;
  value: string;
  /** false: look for the whole value only (a URL whose ends are not secret). Default true. */
  fragments?: boolean;
}

/** Every leak as "<secret> (<fragment>) in <text>"; empty when nothing leaked. Never quotes a secret. */
export function findSecrets(texts: readonly NamedText[], secrets: readonly NamedSecret[]): string[] {
  const leaks: string[] = [];
  const fragmentsOf = secrets.map((s) => ({ secret: s, fragments: s.fragments === false ? [{ what: "whole", value: s.value }] : secretFragments(s.value) }));
  for (const text of texts) {
    const haystacks = haystacksOf(text.text);
    for (const { secret, fragments } of fragmentsOf) {
      if (text.allowed?.includes(secret.name)) continue;
      const found = fragments.find((f) => haystacks.some((h) => h.includes(f.value)));
      if (found) leaks.push(`${secret.name} (${found.what}) in ${text.name}`);
    }
  }
  return leaks;
}
