/** The config's JSON Schema: generated, stable, and the committed copy editors use is current. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { configJsonSchema, renderConfigJsonSchema, SCHEMA_COMMENT } from "../src/config/json-schema.js";

const ROOT = resolve(import.meta.dirname, "..");

describe("the config JSON Schema", () => {
  it("is the zod schema's, with $schema and a title and without $id", () => {
    const schema = configJsonSchema() as { $schema: string; title: string; properties: Record<string, any>; additionalProperties: boolean };
    expect(Object.keys(schema).slice(0, 2)).toEqual(["$schema", "title"]);
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.title).toBe("scimsync configuration");
    expect(schema).not.toHaveProperty("$id");
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["source", "target", "state", "scope", "mapping", "deprovision", "safety"]));
    expect(schema.properties.target.properties.preset.enum).toEqual(["generic", "comeet", "commbox", "recnice", "komeet"]);
  });

  it("renders the same text every time", () => {
    expect(renderConfigJsonSchema()).toBe(renderConfigJsonSchema());
  });

  it("Given the committed config.schema.json, Then it is what scimsync schema prints", () => {
    const committed = readFileSync(resolve(ROOT, "config.schema.json"), "utf8");
    expect(committed, "config.schema.json is stale: run npm run schema").toBe(renderConfigJsonSchema());
  });

  it("Given config.example.yaml, Then its first line points editors at the schema", () => {
    const example = readFileSync(resolve(ROOT, "config.example.yaml"), "utf8");
    expect(example.split("\n")[0]).toBe(SCHEMA_COMMENT);
    expect(SCHEMA_COMMENT).toBe("# yaml-language-server: $schema=./config.schema.json");
  });
});
