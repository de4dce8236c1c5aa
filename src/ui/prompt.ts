/**
 * Questions at a terminal, one line per answer: numbered choices and text with a default. The
 * streams are passed in, so the questions can be tested without a terminal. Callers ask only
 * when both ends are a terminal; an input that ends, or Ctrl-C, stops the questions with an error.
 */
import { createInterface } from "node:readline/promises";
import { InterruptedError, ScimsyncError } from "../errors.js";

export interface Choice<T extends string> {
  value: T;
  label: string;
}

export interface Prompter {
  /** One of `choices`, by number or by value; an empty answer takes `fallback`. */
  choose<T extends string>(question: string, choices: readonly Choice<T>[], fallback: T): Promise<T>;
  /** A line of text; an empty answer takes `fallback`; `check` returns what is wrong, and the question is asked again. */
  text(question: string, fallback: string, check?: (answer: string) => string | undefined): Promise<string>;
  close(): void;
}

export interface PromptStreams {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/** `hint` tells the user how to avoid the questions, for when the input ends before an answer. */
export function makePrompter({ input, output }: PromptStreams, hint: string): Prompter {
  const rl = createInterface({ input, output, terminal: (output as { isTTY?: boolean }).isTTY === true });
  let interrupted = false;
  let closed = false;
  rl.on("SIGINT", () => {
    interrupted = true;
    rl.close();
  });
  // Piped answers may all arrive, and the input end, before the first question is asked.
  rl.on("close", () => (closed = true));
  // Created at once, so that answers typed (or piped) ahead of their question are kept.
  const lines = rl[Symbol.asyncIterator]();
  const say = (text: string) => output.write(text + "\n");

  const ask = async (prompt: string): Promise<string> => {
    if (closed) {
      output.write(prompt);
    } else {
      rl.setPrompt(prompt);
      rl.prompt();
    }
    const next = await lines.next();
    if (next.done) {
      say("");
      if (interrupted) throw new InterruptedError("stopped; nothing was written");
      throw new ScimsyncError("the input ended before every question was answered; nothing was written", { hint });
    }
    return String(next.value).trim();
  };

  return {
    async choose(question, choices, fallback) {
      say(question);
      choices.forEach((choice, i) => say(`  ${i + 1}) ${choice.label}`));
      const defaultNumber = choices.findIndex((c) => c.value === fallback) + 1;
      for (;;) {
        const answer = await ask(`Choose 1-${choices.length} [${defaultNumber}]: `);
        if (answer === "") return fallback;
        const byNumber = /^\d+$/.test(answer) ? choices[Number(answer) - 1] : undefined;
        const picked = byNumber ?? choices.find((c) => c.value === answer.toLowerCase());
        if (picked) return picked.value;
        say(`Please answer with a number from 1 to ${choices.length}.`);
      }
    },
    async text(question, fallback, check) {
      for (;;) {
        const answer = (await ask(`${question} [${fallback}]: `)) || fallback;
        const problem = check?.(answer);
        if (problem === undefined) return answer;
        say(`${problem}.`);
      }
    },
    close() {
      rl.close();
    },
  };
}
