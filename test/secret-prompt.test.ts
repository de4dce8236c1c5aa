import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { InterruptedError, ScimsyncError } from "../src/errors.js";
import { askSecret } from "../src/ui/secret-prompt.js";

function streams() {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = "";
  output.on("data", (d: Buffer) => (shown += d.toString()));
  return { input, output, shown: () => shown };
}

describe("askSecret", () => {
  it("Given a line typed, Then it is returned and only the question is shown", async () => {
    const io = streams();
    const answer = askSecret("Token: ", io);
    io.input.write("s3cret-value\r");

    await expect(answer).resolves.toBe("s3cret-value");
    expect(io.shown()).toBe("Token: \n");
  });

  it("Given Ctrl-C, Then it stops with InterruptedError", async () => {
    const io = streams();
    const answer = askSecret("Token: ", io);
    io.input.write("abc\u0003");

    await expect(answer).rejects.toBeInstanceOf(InterruptedError);
    expect(io.shown()).not.toContain("abc");
  });

  it("Given an input that ends first, Then it is an error, not an empty secret", async () => {
    const io = streams();
    const answer = askSecret("Token: ", io);
    io.input.end();

    const error = await answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScimsyncError);
    expect((error as Error).message).toContain("the input ended before a secret was entered");
  });
});
