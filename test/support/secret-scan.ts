/** Checks that no secret appears in what a run wrote (stdout, stderr, state and log files). */
import { expect } from "vitest";

export function expectNoSecrets(texts: string[], secrets: string[]): void {
  // Also with line breaks (raw or JSON-escaped) taken out, so a key printed as PEM is caught too.
  const haystacks = texts.flatMap((t) => [t, t.replace(/\\n|\r?\n/g, "")]);
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
