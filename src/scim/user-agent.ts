import { VERSION } from "../version.js";

/**
 * `scimsync/<version>`. Some targets (AWS, GitHub) refuse requests without a User-Agent, and a
 * versioned one lets a target's operators tell our traffic apart.
 */
export function defaultUserAgent(): string {
  return `scimsync/${VERSION}`;
}
