/**
 * A directory's error text can quote what it was sent: an identity platform behind a proxy that
 * echoes the request, a gateway's error page. Everything a source reports about a failure ends up
 * on stderr, in the audit log and in the webhook's message, so the source's own secrets are cut
 * out of it first, as the SCIM client does with the target's token.
 */
import type { SourceFailure } from "./source-calls.js";

/** Shorter values would match ordinary words. */
const MIN_SECRET_LENGTH = 8;

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so that a secret containing another is cut out whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join("[redacted]");
  }
  return out;
}

export function withoutSecrets(failure: SourceFailure, secrets: readonly string[]): SourceFailure {
  const clean = (text: string) => redactSecrets(text, secrets);
  switch (failure.kind) {
    case "fatal":
      return { ...failure, message: clean(failure.message), hint: clean(failure.hint) };
    case "throttled":
    case "transient":
    case "incomplete":
      return { ...failure, what: clean(failure.what) };
    case "rethrow":
      return failure;
  }
}
