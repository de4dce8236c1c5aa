import { describe, expect, it } from "vitest";
import { redactSecrets, withoutSecrets } from "../src/sources/secret-free-failure.js";

const SECRET = "Qx8~clientSecretValue0123456789";

describe("a source failure without the source's secrets", () => {
  it("Given a fatal failure quoting the secret in message and hint, Then both have it cut out", () => {
    const failure = withoutSecrets({ kind: "fatal", message: `AADSTS7000215: Invalid client secret provided: ${SECRET}.`, hint: `not ${SECRET}` }, [SECRET]);
    expect(failure).toEqual({ kind: "fatal", message: "AADSTS7000215: Invalid client secret provided: [redacted].", hint: "not [redacted]" });
  });

  it("Given a retryable failure quoting it, Then its description has it cut out", () => {
    expect(withoutSecrets({ kind: "throttled", what: `list users: 429 for ${SECRET}`, retryAfter: "2" }, [SECRET])).toEqual({
      kind: "throttled",
      what: "list users: 429 for [redacted]",
      retryAfter: "2",
    });
    expect(withoutSecrets({ kind: "rethrow" }, [SECRET])).toEqual({ kind: "rethrow" });
  });

  it("Given secrets that contain one another, or are too short to tell from words, Then the longest goes whole and short ones stay", () => {
    expect(redactSecrets(`a ${SECRET}-extra b ${SECRET} c`, [SECRET, `${SECRET}-extra`])).toBe("a [redacted] b [redacted] c");
    expect(redactSecrets("the user was not found", ["user"])).toBe("the user was not found");
  });
});
