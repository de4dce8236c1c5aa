/**
 * PATCH bodies for targets that speak something other than RFC 7644.
 *
 * `entra-legacy`: Microsoft Entra ID's provisioning service sent non-standard PATCH requests
 * until its 2020 compliance changes (the `aadOptscim062020` flag), and apps built and tested
 * only against Entra often still accept nothing else: capitalised op names, member removal by
 * value instead of by filter path, and booleans as the strings "True" / "False". Such a
 * target rejects or misreads the RFC forms, so scimsync speaks its shape when the target is
 * configured with `dialect: entra-legacy`.
 */
import type { PatchOperation } from "../core/mapping.js";

const OP_NAMES: Record<PatchOperation["op"], string> = { add: "Add", replace: "Replace", remove: "Remove" };

/** `members[value eq "ID"]`, the one filter path scimsync sends for a member removal. */
const MEMBER_FILTER_PATH = /^members\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$/i;

/**
 * RFC 7644 operations in Entra's pre-2020 shape. Every member removal, by filter path or by
 * value list, is folded into one `{op: "Remove", path: "members", value: [{value}, ...]}` at
 * the place of the first one; the order of all other operations is kept. Booleans anywhere in
 * a value become "True" / "False".
 */
export function toEntraLegacyOperations(ops: PatchOperation[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let removal: { value: string }[] | undefined;
  for (const op of ops) {
    const removed = op.op === "remove" ? removedMembers(op) : undefined;
    if (removed) {
      if (!removal) {
        removal = [];
        out.push({ op: OP_NAMES.remove, path: "members", value: removal });
      }
      for (const value of removed) if (!removal.some((m) => m.value === value)) removal.push({ value });
      continue;
    }
    const legacy: Record<string, unknown> = { op: OP_NAMES[op.op] ?? op.op };
    if (op.path !== undefined) legacy.path = op.path;
    if (op.value !== undefined) legacy.value = booleansAsStrings(op.value);
    out.push(legacy);
  }
  return out;
}

/**
 * The member ids a remove operation names, or undefined when it is not a removal of specific
 * members (a removal of all members, `path: "members"` without a value, stays as it is).
 */
function removedMembers(op: PatchOperation): string[] | undefined {
  const path = op.path?.trim() ?? "";
  const byFilter = MEMBER_FILTER_PATH.exec(path);
  // The inverse of escapeFilterValue: a backslash keeps the character after it.
  if (byFilter) return [byFilter[1]!.replace(/\\(.)/g, "$1")];
  if (path.toLowerCase() !== "members" || !Array.isArray(op.value)) return undefined;
  const values = op.value.map((m) => (typeof m === "object" && m !== null ? (m as { value?: unknown }).value : undefined));
  return values.every((v): v is string => typeof v === "string") && values.length > 0 ? values : undefined;
}

function booleansAsStrings(value: unknown): unknown {
  if (typeof value === "boolean") return value ? "True" : "False";
  if (Array.isArray(value)) return value.map(booleansAsStrings);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, booleansAsStrings(v)]));
  }
  return value;
}
