import { renderConfigJsonSchema } from "../../config/json-schema.js";
import { EXIT } from "../exit-codes.js";

/** `scimsync schema`: the config file's JSON Schema, e.g. `scimsync schema > config.schema.json`. */
export async function schemaCommand(): Promise<number> {
  process.stdout.write(renderConfigJsonSchema());
  return EXIT.ok;
}
