/**
 * Reading untrusted directory records the same way in every API source (Google, Graph): which
 * API fields a mapping needs, ids, empty text, a malformed record's reason, and error texts cut
 * to one line.
 */
import type { z } from "zod";
import type { SOURCE_USER_ATTRIBUTES } from "../core/model.js";

export type ModelAttribute = (typeof SOURCE_USER_ATTRIBUTES)[number];

/** An API's fields behind each attribute of the source model and each `extra.<name>` it offers. */
export interface FieldCatalogue {
  model: Readonly<Record<ModelAttribute, readonly string[]>>;
  extra: Readonly<Record<string, readonly string[]>>;
}

/**
 * The API fields the given references (normalised, as Expression.references lists them:
 * `givenName`, `extra.customSchemas.HR.costCenter`, `addresses[type eq "work"].locality`) need,
 * plus `always`, sorted.
 */
export function fieldsNeeded(references: Iterable<string>, catalogue: FieldCatalogue, always: Iterable<string>): string[] {
  const fields = new Set(always);
  for (const reference of references) {
    const first = /^[^.[]*/.exec(reference)![0];
    if (first === "extra") {
      const name = /^extra\.([^.[]+)/.exec(reference)?.[1];
      for (const field of (name === undefined ? undefined : catalogue.extra[name]) ?? []) fields.add(field);
      continue;
    }
    for (const field of catalogue.model[first as ModelAttribute] ?? []) fields.add(field);
  }
  return [...fields].sort();
}

/** What a record that failed its check is reported as, without dumping the record. `required` are the fields it cannot do without. */
export function describeRecordIssue(error: z.ZodError, required: readonly string[]): string {
  const issue = error.issues[0];
  if (!issue) return "is not a valid user record";
  const path = issue.path.join(".");
  if (required.includes(path)) return `has no ${path}`;
  return `has an unreadable ${path || "record"} (${issue.message})`;
}

/** Text, or undefined when it is missing, null (Graph's "not set") or blank. */
export function nonEmpty(value: string | null | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

export function idOf(record: unknown): string | undefined {
  const id = (record as { id?: unknown } | null)?.id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

export function idsOf(records: unknown[]): Set<string> {
  return new Set(records.map(idOf).filter((id): id is string => id !== undefined));
}

/** An error text on one line, at most `max` characters and an ellipsis: an API's messages are short, anything long is not one of them. */
export function clipMessage(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
