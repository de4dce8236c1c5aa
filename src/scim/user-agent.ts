import { readFileSync } from "node:fs";

let cached: string | undefined;

/**
 * `scimsync/<version>`. Some targets (AWS, GitHub) refuse requests without a User-Agent, and a
 * versioned one lets a target's operators tell our traffic apart. The version is read at run
 * time because package.json sits outside the compiled tree; the path is the same from src/ and dist/.
 */
export function defaultUserAgent(): string {
  if (cached === undefined) {
    let version = "unknown";
    try {
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
      if (typeof pkg.version === "string") version = pkg.version;
    } catch {
      // A missing package.json (a bundled build) must not stop a sync over a header.
    }
    cached = `scimsync/${version}`;
  }
  return cached;
}
