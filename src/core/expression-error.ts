/** Why the text of a mapping expression was rejected: thrown while parsing, never while evaluating. */

export interface ExpressionErrorDetails {
  /**
   * The problem is the text as a whole (plain text, one unknown name): the message then names
   * no column, since the problem itself quotes what matters.
   */
  readonly wholeText?: boolean;
  /** The literal text the expression was most likely meant to be, for callers that show how to quote it. */
  readonly literal?: string;
  /** The reference a reference check rejected (see ParseOptions); absent for a syntax error. */
  readonly reference?: string;
}

export class ExpressionError extends Error {
  readonly expression: string;
  /** 1-based column in `expression` where the problem is. */
  readonly column: number;
  /** Just the problem, without the expression (the message includes both unless `wholeText`). */
  readonly problem: string;
  readonly wholeText: boolean;
  readonly literal?: string;
  readonly reference?: string;

  constructor(expression: string, column: number, problem: string, details: ExpressionErrorDetails = {}) {
    const wholeText = details.wholeText ?? false;
    super(wholeText ? problem : `${problem} at column ${column} of ${JSON.stringify(expression)}`);
    this.name = "ExpressionError";
    this.expression = expression;
    this.column = column;
    this.problem = problem;
    this.wholeText = wholeText;
    if (details.literal !== undefined) this.literal = details.literal;
    if (details.reference !== undefined) this.reference = details.reference;
  }
}
