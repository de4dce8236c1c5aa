/**
 * `${env:NAME}` and `${file:PATH}` references in config strings, resolved at load time so that
 * secrets stay out of the config file. Every message here names the reference, never the value
 * it resolved to.
 */
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { ConfigIssue } from "../errors.js";
import { formatKeyPath, isMapping, type KeyPath } from "./key-path.js";

export const REFERENCE_FORMS = "${env:NAME} for an environment variable or ${file:PATH} for a file";

export interface ResolvedReferences {
  /** The config tree with every reference replaced by its value. */
  value: unknown;
  issues: ConfigIssue[];
  warnings: string[];
  /** Key path -> the references its value was built from, to name instead of the value. */
  references: Map<string, string[]>;
  /** Key paths whose references could not be resolved; other complaints about them are moot. */
  unresolved: Set<string>;
}

export interface ReferenceContext {
  /** Directory `${file:}` paths are relative to: the config file's. */
  dir: string;
  env: NodeJS.ProcessEnv;
}

const REFERENCE = /\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function resolveSecretRefs(tree: unknown, context: ReferenceContext): Promise<ResolvedReferences> {
  const result: ResolvedReferences = {
    value: undefined,
    issues: [],
    warnings: [],
    references: new Map(),
    unresolved: new Set(),
  };
  result.value = await resolveNode(tree, [], context, result);
  return result;
}

async function resolveNode(node: unknown, path: KeyPath, context: ReferenceContext, result: ResolvedReferences): Promise<unknown> {
  if (typeof node === "string") return resolveString(node, formatKeyPath(path), context, result);
  if (Array.isArray(node)) {
    const out: unknown[] = [];
    for (const [i, item] of node.entries()) out.push(await resolveNode(item, [...path, i], context, result));
    return out;
  }
  if (isMapping(node)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node)) out[key] = await resolveNode(item, [...path, key], context, result);
    return out;
  }
  return node;
}

async function resolveString(text: string, key: string, context: ReferenceContext, result: ResolvedReferences): Promise<string> {
  if (!text.includes("${")) return text;
  const found: string[] = [];
  const values: string[] = [];
  let failed = false;
  for (const match of text.matchAll(REFERENCE)) {
    const reference = match[0];
    found.push(reference);
    const outcome = await resolveReference(match[1] ?? "", key, context, result);
    if (outcome === undefined) failed = true;
    values.push(outcome ?? "");
  }
  // Quoting the rest of the string could reveal an inline secret, so only the shape is described.
  if (text.replace(REFERENCE, "").includes("${")) {
    result.issues.push({ path: key, message: `has a "\${" without a closing "}"; references look like ${REFERENCE_FORMS}` });
    failed = true;
  }
  if (found.length > 0) result.references.set(key, found);
  if (failed) {
    result.unresolved.add(key);
    return text;
  }
  let i = 0;
  return text.replace(REFERENCE, () => values[i++] ?? "");
}

/** The value of one reference, or undefined after recording why it has none. */
async function resolveReference(
  body: string,
  key: string,
  context: ReferenceContext,
  result: ResolvedReferences,
): Promise<string | undefined> {
  const colon = body.indexOf(":");
  const kind = colon === -1 ? undefined : body.slice(0, colon).trim();
  const argument = colon === -1 ? body.trim() : body.slice(colon + 1).trim();
  const fail = (message: string): undefined => {
    result.issues.push({ path: key, message });
    return undefined;
  };

  if (kind === "env") {
    if (!ENV_NAME.test(argument)) {
      return fail(`"\${env:${argument}}" does not name an environment variable; use letters, digits and _, e.g. \${env:SCIM_TOKEN}`);
    }
    const value = context.env[argument];
    if (value === undefined) {
      return fail(`environment variable ${argument} is not set; set it for the scimsync process, or use \${file:PATH}`);
    }
    return value;
  }

  if (kind === "file") {
    if (argument === "") return fail('"${file:}" names no file; use ${file:PATH}, e.g. ${file:./scim-token}');
    const file = resolve(context.dir, argument);
    let content: string;
    try {
      content = await readFile(file, "utf8");
    } catch (error) {
      const fix =
        errorCodeOf(error) === "ENOENT"
          ? "; create it with the secret as its only content, or correct the path (relative to this config file)"
          : "";
      return fail(`cannot read \${file:${argument}} (${file}): ${describeFsError(error)}${fix}`);
    }
    await warnIfShared(file, key, result);
    // Editors end files with a newline that is not part of the secret.
    return content.replace(/\r?\n$/, "");
  }

  if (kind === undefined && ENV_NAME.test(argument)) {
    return fail(`"\${${argument}}" is not a reference scimsync understands; write \${env:${argument}} to read the environment variable`);
  }
  // The body of an unknown reference may be a vault path or similar; naming the kind is enough.
  const shown = kind === undefined ? "${...}" : `\${${kind}:...}`;
  return fail(`${shown} is not a supported reference; use ${REFERENCE_FORMS}`);
}

async function warnIfShared(file: string, key: string, result: ResolvedReferences): Promise<void> {
  if (process.platform === "win32") return;
  try {
    const { mode } = await stat(file);
    if ((mode & 0o077) !== 0) {
      const octal = (mode & 0o777).toString(8).padStart(3, "0");
      result.warnings.push(
        `${key}: the secret file ${file} can be read by other users (mode ${octal}); restrict it with chmod 600 ${file}`,
      );
    }
  } catch {
    // It was readable a moment ago; a failed stat is not worth a second complaint.
  }
}

function errorCodeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function describeFsError(error: unknown): string {
  const code = errorCodeOf(error);
  switch (code) {
    case "ENOENT":
      return "the file does not exist";
    case "EACCES":
    case "EPERM":
      return "permission denied; make it readable by the user running scimsync";
    case "EISDIR":
      return "it is a directory, not a file";
    default:
      return (error as Error | undefined)?.message ?? String(error);
  }
}
