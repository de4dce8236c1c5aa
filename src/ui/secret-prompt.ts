/**
 * Asking for a secret at a terminal without showing it: readline in terminal mode puts the
 * terminal in raw mode (so the terminal does not echo) and writes its own echo to an output
 * that discards it. Only the question reaches the real output. The streams are passed in, so
 * this can be tested without a terminal.
 */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { InterruptedError, ScimsyncError } from "../errors.js";

export interface SecretPromptStreams {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** One line, not echoed. Ctrl-C stops with InterruptedError; an input that ends first is an error. */
export async function askSecret(question: string, { input, output }: SecretPromptStreams): Promise<string> {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  // The terminal stops echoing here; only then is the question shown, so nothing typed after it is echoed.
  const rl = createInterface({ input, output: discard, terminal: true });
  output.write(question);
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once("line", resolve);
      rl.once("SIGINT", () => reject(new InterruptedError("stopped; nothing was stored")));
      rl.once("close", () => reject(new ScimsyncError("the input ended before a secret was entered; nothing was stored")));
    });
  } finally {
    rl.close();
    // The Enter that ended the answer was not echoed either.
    output.write("\n");
  }
}
