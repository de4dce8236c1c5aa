/**
 * The config file's JSON Schema, generated from the zod schema, for editors (the YAML language
 * server) and for `scimsync schema`. The repository keeps a generated copy in config.schema.json;
 * a test fails when the two differ (`npm run schema` writes it again).
 */
import { z } from "zod";
import { configSchema } from "./schema.js";

export const CONFIG_SCHEMA_TITLE = "scimsync configuration";

/** The comment that makes the YAML language server check a config against the schema next to it. */
export const SCHEMA_COMMENT = "# yaml-language-server: $schema=./config.schema.json";

/**
 * The JSON Schema of the config file as written (defaults are optional keys). Deterministic:
 * the same scimsync always gives the same document, with no `$id` (it has no stable home to name).
 */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, $id: _id, ...rest } = z.toJSONSchema(configSchema, { io: "input" }) as Record<string, unknown>;
  return { $schema, title: CONFIG_SCHEMA_TITLE, ...rest };
}

/** The schema as `scimsync schema` prints it and config.schema.json holds it. */
export function renderConfigJsonSchema(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + "\n";
}
