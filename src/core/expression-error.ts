/** Why the text of a mapping expression was rejected: thrown while parsing, never while evaluating. */

export class ExpressionError extends Error {
  readonly expression: string;
  /** 1-based column in `expression` where the problem is. */
  readonly column: number;
  /** Just the problem, without the expression (the message includes both). */
  readonly problem: string;

  constructor(expression: string, column: number, problem: string) {
    super(`${problem} at column ${column} of ${JSON.stringify(expression)}`);
    this.name = "ExpressionError";
    this.expression = expression;
    this.column = column;
    this.problem = problem;
  }
}
