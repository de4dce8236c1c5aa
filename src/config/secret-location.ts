/**
 * Where a secret's value comes from, read from the config file as written (before references
 * are resolved): reauthorize stores a new secret there, which it can only do when the whole
 * value is one `${file:PATH}` reference. References are read as secret-refs.ts resolves them.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { valueAt, type KeyPath } from "./key-path.js";

export type SecretLocation =
  /** `path` is absolute (a relative one is relative to the config file). */
  | { kind: "file"; reference: string; path: string }
  | { kind: "env"; reference: string; name: string }
  /** The secret is written in the config file itself. */
  | { kind: "inline" }
  /** Several references, or text around one: no single place holds the secret. */
  | { kind: "composite"; references: string[] }
  | { kind: "absent" };

const REFERENCE = /\$\{([^}]*)\}/g;

/** Reads `configFile` again; call it after loadConfig accepted the file, so the YAML is known to be sound. */
export async function locateSecret(configFile: string, key: KeyPath): Promise<SecretLocation> {
  const path = resolve(configFile);
  const raw = valueAt(parse(await readFile(path, "utf8")) as unknown, key);
  if (raw === undefined || raw === null) return { kind: "absent" };
  if (typeof raw !== "string") return { kind: "inline" };
  return locateIn(raw, dirname(path));
}

export function locateIn(text: string, dir: string): SecretLocation {
  const references = [...text.matchAll(REFERENCE)];
  if (references.length === 0) return { kind: "inline" };
  const only = references[0]!;
  if (references.length > 1 || only[0] !== text) return { kind: "composite", references: references.map((m) => m[0]) };
  const body = only[1] ?? "";
  const colon = body.indexOf(":");
  const kind = colon === -1 ? undefined : body.slice(0, colon).trim();
  const argument = body.slice(colon + 1).trim();
  if (kind === "file") return { kind: "file", reference: only[0], path: resolve(dir, argument) };
  if (kind === "env") return { kind: "env", reference: only[0], name: argument };
  return { kind: "composite", references: [only[0]] };
}
