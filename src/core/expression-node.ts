/** What parsing produces and the function library consumes: compiled pieces of an expression. */

import type { ExpressionValue } from "./expression-values.js";

/** How an expression learns about the user: by reference, e.g. `addresses[type eq "work"].locality`. */
export type Read = (reference: string) => unknown;
export type Evaluate = (read: Read) => ExpressionValue;

/** A parsed piece of an expression; start and end index the text, for errors that point at it. */
export type Node = { readonly evaluate: Evaluate; readonly start: number; readonly end: number } & (
  | { readonly kind: "literal"; readonly value: ExpressionValue }
  | { readonly kind: "reference" | "call" }
);

/** A whole text parsed: its evaluation (before tidying) and its references in order of first use. */
export interface ParsedText {
  readonly evaluate: Evaluate;
  readonly references: string[];
  /** Where each reference (same index) is first written, for errors that point at it. */
  readonly referenceSpans: { readonly start: number; readonly end: number }[];
}
