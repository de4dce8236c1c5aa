/**
 * The values an expression computes with, and the helpers that keep them in one shape: text,
 * boolean, list of texts, or null for "no value" (never "" or an empty list once tidied).
 */

export type ExpressionValue = string | boolean | string[] | null;

/** What `read` hands back, in the shapes directories and SCIM use, reduced to ours. */
export function normalise(raw: unknown): ExpressionValue {
  if (raw === undefined || raw === null || raw === "") return null;
  switch (typeof raw) {
    case "string":
    case "boolean":
      return raw;
    case "number":
    case "bigint":
      return String(raw);
    case "object": {
      if (Array.isArray(raw)) {
        const list: string[] = [];
        for (const element of raw) {
          const value = normalise(element);
          if (Array.isArray(value)) list.push(...value);
          else if (value !== null) list.push(String(value));
        }
        return list.length > 0 ? list : null;
      }
      // SCIM's complex values ({value, display}, {value, type}) stand for their value.
      return Object.hasOwn(raw, "value") ? normalise((raw as { value: unknown }).value) : null;
    }
    default:
      return null;
  }
}

/** Empty text and empty lists are null, so that "no value" has one spelling for callers. */
export function tidy(value: ExpressionValue): ExpressionValue {
  if (value === "") return null;
  if (!Array.isArray(value) || !value.includes("")) return value;
  const kept = value.filter((element) => element !== "");
  return kept.length > 0 ? kept : null;
}

/** The single-text form used wherever one text is needed: templates, separators, switch keys. */
export function textOf(value: ExpressionValue): string | null {
  if (value === null || typeof value === "string") return value;
  return typeof value === "boolean" ? String(value) : value.join(", ");
}

/** Applies a text function to a value, or to each element of a list. */
export function eachText(value: ExpressionValue, change: (text: string) => string): ExpressionValue {
  if (value === null) return null;
  if (Array.isArray(value)) return tidy(value.map(change));
  return tidy(change(typeof value === "string" ? value : String(value)));
}

export const isEmpty = (value: ExpressionValue) => value === null || value === "" || (Array.isArray(value) && value.length === 0);
