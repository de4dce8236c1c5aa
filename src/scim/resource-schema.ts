import type { z } from "zod";
import { TargetError } from "../errors.js";

/**
 * Validates a resource the target returned against `schema`. Throws TargetError naming the
 * attributes that are missing or malformed, e.g. `target returned a User (id 7) with no userName`.
 */
export function parseResource<S extends z.ZodType>(kind: "User" | "Group", schema: S, resource: unknown): z.output<S> {
  if (typeof resource !== "object" || resource === null || Array.isArray(resource)) {
    throw new TargetError(`target returned a ${kind} that is not a JSON object`, {});
  }
  const parsed = schema.safeParse(resource);
  if (!parsed.success) {
    const record = resource as Record<string, unknown>;
    const problems = [...new Set(parsed.error.issues.map((i) => describeIssue(record, i)))];
    // The id helps an administrator find the record; names could be personal data, so they are left out.
    const which = typeof record.id === "string" && record.id !== "" ? ` (id ${record.id})` : "";
    throw new TargetError(`target returned a ${kind}${which} with ${problems.join(", ")}`, {});
  }
  return parsed.data;
}

function describeIssue(resource: Record<string, unknown>, issue: z.core.$ZodIssue): string {
  const key = String(issue.path[0] ?? "resource");
  return resource[key] === undefined ? `no ${key}` : `an invalid ${key}`;
}
