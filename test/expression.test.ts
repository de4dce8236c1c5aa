import { describe, expect, it } from "vitest";
import {
  EXPRESSION_FUNCTIONS,
  ExpressionError,
  parseExpression,
  type ExpressionValue,
  type ParseOptions,
  type ReferenceProblem,
} from "../src/core/expression.js";

/**
 * Reads a reference from a plain object: dotted steps, each optionally filtered by
 * `[attr eq "value"]`. It only understands the normalised spelling (double quotes, single
 * spaces), so a test that passes with another spelling proves the parser normalised it.
 */
function readerOf(record: object): (reference: string) => unknown {
  return (reference) => {
    let value: unknown = record;
    for (const step of reference.split(".")) {
      const m = /^([^[]+)(?:\[(\w+) eq "([^"]*)"\])?$/.exec(step);
      if (!m || value === null || typeof value !== "object") return undefined;
      value = (value as Record<string, unknown>)[m[1]!];
      const [, , attribute, wanted] = m;
      if (attribute !== undefined) {
        value = Array.isArray(value) ? value.find((e: Record<string, unknown>) => e[attribute] === wanted) : undefined;
      }
    }
    return value;
  };
}

const ALICE = {
  userName: "Alice.Smith@Corp.example",
  givenName: "Alice",
  familyName: "Smith",
  title: "",
  department: "eng",
  active: true,
  employeeNumber: 42,
  roles: ["admin", "", null, "dev"],
  groups: [{ value: "g1" }, { value: "g2", display: "Two" }],
  manager: { value: "m-1", displayName: "Bob" },
  location: { building: "B1" },
  noRoles: [],
  extra: { nickname: "Ally", costCenter: "CC-1", rolesText: " a; b;;c ", flag: "FALSE", deptCode: "ENG", "Cost Center": "CC 7", "2nd line": "L2" },
  customSchemas: { EmployeeInfo: { costCenter: "4711" } },
  addresses: [
    { type: "home", locality: "Springfield" },
    { type: "work", locality: "Berlin" },
  ],
  phoneNumbers: [{ type: "mobile", value: "+49 111" }],
};

const evaluate = (text: string, record: object = ALICE): ExpressionValue => parseExpression(text).evaluate(readerOf(record));

function errorOf(text: string, options?: ParseOptions): ExpressionError {
  try {
    parseExpression(text, options);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseExpression: references and literals", () => {
  it.each<{ source: string; expected: ExpressionValue }>([
    { source: "givenName", expected: "Alice" },
    { source: "  givenName  ", expected: "Alice" },
    { source: "extra.nickname", expected: "Ally" },
    { source: 'extra["Cost Center"]', expected: "CC 7" },
    { source: "extra[ '2nd line' ]", expected: "L2" },
    { source: 'lower(extra["Cost Center"])', expected: "cc 7" },
    { source: "customSchemas.EmployeeInfo.costCenter", expected: "4711" },
    { source: 'addresses[type eq "work"].locality', expected: "Berlin" },
    { source: "addresses[ type  EQ  'home' ].locality", expected: "Springfield" },
    { source: "phoneNumbers[type eq 'mobile']", expected: "+49 111" },
    { source: "employeeNumber", expected: "42" },
    { source: "active", expected: true },
    { source: "roles", expected: ["admin", "dev"] },
    { source: "groups", expected: ["g1", "g2"] },
    { source: "manager", expected: "m-1" },
    { source: "location", expected: null },
    { source: "noRoles", expected: null },
    { source: "title", expected: null },
    { source: "middleName", expected: null },
    { source: "'O\\'Brien'", expected: "O'Brien" },
    { source: '"say \\"hi\\" \\\\ bye"', expected: 'say "hi" \\ bye' },
    { source: "''", expected: null },
    { source: "42", expected: "42" },
    { source: "3.5", expected: "3.5" },
    { source: "true", expected: true },
    { source: "FALSE", expected: false },
    { source: "null", expected: null },
  ])("Given $source, When evaluated against Alice, Then it yields $expected", ({ source, expected }) => {
    expect(evaluate(source)).toEqual(expected);
  });
});

describe("parseExpression: functions", () => {
  it.each<{ source: string; expected: ExpressionValue }>([
    { source: "lower(userName)", expected: "alice.smith@corp.example" },
    { source: "Upper(givenName)", expected: "ALICE" },
    { source: "TRIM('  padded  ')", expected: "padded" },
    { source: "trim('   ')", expected: null },
    { source: "upper(roles)", expected: ["ADMIN", "DEV"] },
    { source: "lower(active)", expected: "true" },
    { source: "lower(middleName)", expected: null },
    { source: "join(' ', givenName, middleName, familyName)", expected: "Alice Smith" },
    { source: "Join(', ', roles, extra.nickname)", expected: "admin, dev, Ally" },
    { source: "join('-', middleName, title)", expected: null },
    { source: "coalesce(title, 'Employee')", expected: "Employee" },
    { source: "coalesce('', 'fallback')", expected: "fallback" },
    { source: "coalesce(title, '')", expected: null },
    { source: "Coalesce(middleName, title, extra.nickname, 'unused')", expected: "Ally" },
    { source: "replace(userName, '.', '_')", expected: "Alice_Smith@Corp_example" },
    { source: "replace(givenName, 'A', '$&$&')", expected: "$&$&lice" },
    { source: "replace(middleName, 'a', 'b')", expected: null },
    { source: "switch(department, 'Other', 'ENG', 'Engineering', 'SLS', 'Sales')", expected: "Engineering" },
    { source: "Switch(extra.costCenter, 'Other', 'ENG', 'Engineering')", expected: "Other" },
    { source: "switch(active, 'inactive', true, 'active')", expected: "active" },
    { source: "switch(department, 'Other', lower(extra.deptCode), 'Engineering')", expected: "Engineering" },
    { source: "switch(middleName, 'known', null, 'missing')", expected: "missing" },
    { source: "appendDomain(userName, 'example.com')", expected: "Alice.Smith@example.com" },
    { source: "appendDomain(givenName, '@example.com')", expected: "Alice@example.com" },
    { source: "appendDomain('a@b@c', 'example.org')", expected: "a@b@example.org" },
    { source: "appendDomain(middleName, 'example.com')", expected: null },
    { source: "split(extra.rolesText, ';')", expected: ["a", "b", "c"] },
    { source: "split(middleName, ';')", expected: null },
    { source: "not(active)", expected: false },
    { source: "not(extra.flag)", expected: true },
    { source: "not(givenName)", expected: null },
    { source: "not(middleName)", expected: null },
    { source: "lower(join('.', givenName, familyName))", expected: "alice.smith" },
    { source: "coalesce(switch(extra.costCenter, null, 'cc-1', 'Finance'), 'none')", expected: "Finance" },
  ])("Given $source, When evaluated against Alice, Then it yields $expected", ({ source, expected }) => {
    expect(evaluate(source)).toEqual(expected);
  });

  it("Given coalesce whose first value is present, When evaluated, Then the later values are never read", () => {
    const read: string[] = [];

    const value = parseExpression("coalesce(givenName, familyName)").evaluate((reference) => {
      read.push(reference);
      return readerOf(ALICE)(reference);
    });

    expect(value).toBe("Alice");
    expect(read).toEqual(["givenName"]);
  });

  it("Given a switch, When evaluated, Then only the chosen result is read", () => {
    const read: string[] = [];

    parseExpression("switch(department, fallbackAttr, 'eng', extra.nickname, 'sls', extra.costCenter)").evaluate((reference) => {
      read.push(reference);
      return readerOf(ALICE)(reference);
    });

    expect(read).toEqual(["department", "extra.nickname"]);
  });

  it("Given one parsed expression, When evaluated for two users, Then each gets their own value", () => {
    const expression = parseExpression("lower(userName)");

    expect(expression.evaluate(readerOf({ userName: "Bob@X" }))).toBe("bob@x");
    expect(expression.evaluate(readerOf({ userName: "Eve@Y" }))).toBe("eve@y");
  });
});

describe("parseExpression: templates", () => {
  it.each<{ source: string; record?: object; expected: ExpressionValue }>([
    { source: "{givenName} {familyName}", expected: "Alice Smith" },
    { source: "{givenName} {middleName} {familyName}", expected: "Alice Smith" },
    { source: "Dr. {familyName}", expected: "Dr. Smith" },
    { source: "{lower(givenName)}.{lower(familyName)}@example.com", expected: "alice.smith@example.com" },
    { source: "{ givenName }", expected: "Alice" },
    { source: '{givenName} ({extra["Cost Center"]})', expected: "Alice (CC 7)" },
    { source: "{{{givenName}}}", expected: "{Alice}" },
    { source: "{{literal}}", expected: "{literal}" },
    { source: "{coalesce(title, '}')}", expected: "}" },
    { source: "Roles: {roles}", expected: "Roles: admin, dev" },
    { source: "Active: {active}", expected: "Active: true" },
    { source: "  {givenName}\t\t{familyName}  ", expected: "Alice Smith" },
    { source: "Dr. {middleName}", expected: null },
    { source: "{middleName} {title}", expected: null },
    { source: "{givenName} {familyName}", record: { givenName: " ", familyName: "" }, expected: null },
  ])("Given the template $source, When evaluated, Then it yields $expected", ({ source, record, expected }) => {
    expect(evaluate(source, record)).toEqual(expected);
  });
});

describe("parseExpression: references and text", () => {
  it.each<{ source: string; references: string[] }>([
    { source: "join(' ', givenName, familyName, givenName)", references: ["givenName", "familyName"] },
    {
      source: "{lower(givenName)} {addresses[ type eq 'work' ].locality}",
      references: ["givenName", 'addresses[type eq "work"].locality'],
    },
    { source: "phoneNumbers[type eq 'say \"hi\"'].value", references: ['phoneNumbers[type eq "say \\"hi\\""].value'] },
    { source: "switch(department, 'x', 'a', extra.nickname)", references: ["department", "extra.nickname"] },
    { source: "'text'", references: [] },
    { source: "coalesce(extra['Cost Center'], extra.costCenter, extra[\"costCenter\"])", references: ["extra.Cost Center", "extra.costCenter"] },
    { source: 'Extra["x y"]', references: ["Extra.x y"] },
    { source: "true", references: [] },
  ])("Given $source, When parsed, Then its references are $references", ({ source, references }) => {
    expect(parseExpression(source).references).toEqual(references);
  });

  it("Given padded text, When parsed, Then text is kept exactly as written", () => {
    expect(parseExpression("  lower(userName) ").text).toBe("  lower(userName) ");
  });

  it("Given a single-quoted filter, When evaluated, Then read receives the normalised reference", () => {
    const read: string[] = [];

    parseExpression("phoneNumbers[type   eq 'mobile'].value").evaluate((reference) => read.push(reference));

    expect(read).toEqual(['phoneNumbers[type eq "mobile"].value']);
  });
});

const ALL_FUNCTIONS = "(functions: lower, upper, trim, join, coalesce, replace, switch, appendDomain, split, not)";

describe("parseExpression: errors", () => {
  it("Given a misspelt function, When parsed, Then the whole message names the fix, the column and the expression", () => {
    expect(errorOf("lowr(userName)").message).toBe(
      `unknown function "lowr"; did you mean lower? ${ALL_FUNCTIONS} at column 1 of "lowr(userName)"`,
    );
  });

  it.each<{ source: string; column: number; problem: string }>([
    { source: "", column: 1, problem: "empty expression; write an attribute such as givenName, 'quoted text' or a template such as {givenName} {familyName}" },
    { source: "   ", column: 1, problem: "empty expression; write an attribute such as givenName, 'quoted text' or a template such as {givenName} {familyName}" },
    { source: "toLower(userName)", column: 1, problem: `unknown function "toLower"; did you mean lower? ${ALL_FUNCTIONS}` },
    { source: "join(' ', Lowr(x))", column: 11, problem: `unknown function "Lowr"; did you mean lower? ${ALL_FUNCTIONS}` },
    { source: "case(x, 'a', 'b', 'c')", column: 1, problem: `unknown function "case"; did you mean switch? ${ALL_FUNCTIONS}` },
    { source: "frobnicate(x)", column: 1, problem: `unknown function "frobnicate" ${ALL_FUNCTIONS}` },
    { source: "extra.fn(x)", column: 1, problem: `unknown function "extra.fn" ${ALL_FUNCTIONS}` },
    { source: "lowercase(userName)", column: 1, problem: `unknown function "lowercase"; did you mean lower? ${ALL_FUNCTIONS}` },
    { source: "toUpperCase(title)", column: 1, problem: `unknown function "toUpperCase"; did you mean upper? ${ALL_FUNCTIONS}` },
    { source: "replaceAll(title, 'a', 'b')", column: 1, problem: `unknown function "replaceAll"; did you mean replace? ${ALL_FUNCTIONS}` },
    { source: "append(userName, 'x.com')", column: 1, problem: `unknown function "append"; did you mean appendDomain? ${ALL_FUNCTIONS}` },
    { source: "lower(givenName, familyName)", column: 1, problem: "lower(value) takes exactly one argument" },
    { source: "lower()", column: 1, problem: "lower(value) takes exactly one argument" },
    { source: "join(' ')", column: 1, problem: "join(separator, value, ...) needs a separator and at least one value" },
    { source: "coalesce(title)", column: 1, problem: "coalesce(value, fallback, ...) needs at least two values" },
    { source: "replace(x, 'a')", column: 1, problem: "replace(value, search, replacement) takes exactly three arguments" },
    {
      source: "switch(department, 'Other')",
      column: 1,
      problem: "switch(value, default, key, result, ...) needs a value, a default and at least one key/result pair",
    },
    {
      source: "switch(department, 'Other', 'ENG', 'Engineering', 'SLS')",
      column: 51,
      problem: "switch(value, default, key, result, ...) has a key without a result; add its result or remove the key",
    },
    {
      source: "switch(department, 'Other', 'eng', 'A', 'ENG', 'B')",
      column: 41,
      problem: 'switch has the key "eng" twice (keys ignore case); remove one',
    },
    { source: "appendDomain(userName, '@')", column: 24, problem: "appendDomain(value, domain) needs a non-empty domain, e.g. 'example.com'" },
    { source: "replace(x, '', 'y')", column: 12, problem: "replace(value, search, replacement) needs a non-empty search text" },
    { source: "split(roles, \"\")", column: 14, problem: "split(value, separator) needs a non-empty separator, e.g. ';'" },
    { source: "'unterminated", column: 1, problem: "unterminated string; add the closing '" },
    { source: 'lower("abc)', column: 7, problem: 'unterminated string; add the closing "' },
    { source: "'C:\\Users'", column: 4, problem: "unknown escape \\U; write \\\\ for a backslash" },
    { source: "lower(userName", column: 15, problem: 'missing ")" to close lower(' },
    { source: "lower(userName))", column: 16, problem: 'unmatched ")"; remove it' },
    { source: "join(' ' givenName)", column: 10, problem: 'expected "," or ")" after an argument of join(...), found "givenName"' },
    { source: "join(' ', givenName, )", column: 20, problem: 'trailing "," in join(...); remove it' },
    { source: "join(' ',, givenName)", column: 10, problem: 'missing argument before ","' },
    {
      source: "givenName familyName",
      column: 11,
      problem: 'unexpected "familyName"; to combine values write a template, e.g. "{givenName} {familyName}", or write literal text in quotes',
    },
    {
      source: "lower(givenName) familyName",
      column: 18,
      problem: 'unexpected "familyName"; to combine values write a template, e.g. "{lower(givenName)} {familyName}"',
    },
    { source: "extra.", column: 7, problem: 'expected an attribute name after "."' },
    { source: 'addresses[type = "work"].locality', column: 16, problem: 'bad filter; inside [...] write <attribute> eq "<value>", e.g. [type eq "work"]' },
    { source: "addresses[type eq work].locality", column: 19, problem: 'bad filter; inside [...] write <attribute> eq "<value>", e.g. [type eq "work"]' },
    { source: 'addresses[type eq "work".locality', column: 25, problem: 'bad filter; inside [...] write <attribute> eq "<value>", e.g. [type eq "work"]' },
    { source: "{givenName", column: 1, problem: 'unclosed "{"; close the placeholder with "}" or write {{ for a literal brace' },
    { source: "Dr. {familyName", column: 5, problem: 'unclosed "{"; close the placeholder with "}" or write {{ for a literal brace' },
    { source: "givenName}", column: 10, problem: 'unmatched "}"; add the opening "{" or write }} for a literal brace' },
    { source: "{givenName}}", column: 12, problem: 'unmatched "}"; add the opening "{" or write }} for a literal brace' },
    {
      source: "Dr. { }",
      column: 5,
      problem: "empty placeholder; put an attribute or expression inside, e.g. {givenName}, or write {{}} for literal braces",
    },
    {
      source: "{givenName familyName}",
      column: 12,
      problem: 'unexpected "familyName" in a placeholder; write one expression per {...}, e.g. {givenName} {familyName}',
    },
    { source: "{lowr(givenName)}", column: 2, problem: `unknown function "lowr"; did you mean lower? ${ALL_FUNCTIONS}` },
    { source: "coalesce(title, '{'", column: 20, problem: 'missing ")" to close coalesce(' },
    { source: "lower(x) + 'y'", column: 10, problem: 'unexpected "+" after the expression' },
    {
      source: 'extra["cost.center"]',
      column: 7,
      problem:
        'extra["cost.center"] cannot be read: a "." in a name would be read as a step into a nested key; ' +
        'rename the directory\'s column or key without "."',
    },
    { source: "extra['  ']", column: 7, problem: `empty name in extra[...]; write the directory's column or key, e.g. extra["Cost Center"]` },
    { source: 'extra["Cost Center"', column: 20, problem: 'expected "]" after the name, e.g. extra["Cost Center"]' },
    {
      source: 'addresses["work"].locality',
      column: 10,
      problem: '["..."] names a key of extra only, e.g. extra["Cost Center"]; to pick one element of a list write [type eq "work"]',
    },
    {
      source: "lower(extra.Cost Center)",
      column: 18,
      problem: 'expected "," or ")" after an argument of lower(...), found "Center"; for a name with spaces write extra["Cost Center"]',
    },
    {
      source: "Code: {extra.Cost Center}",
      column: 19,
      problem: 'unexpected "Center" in a placeholder; for a name with spaces write extra["Cost Center"]',
    },
  ])("Given $source, When parsed, Then it is rejected at column $column: $problem", ({ source, column, problem }) => {
    const error = errorOf(source);

    expect({ column: error.column, problem: error.problem, expression: error.expression }).toEqual({ column, problem, expression: source });
    expect(error.message).toBe(`${problem} at column ${column} of ${JSON.stringify(source)}`);
  });
});

describe("parseExpression: errors about the text as a whole", () => {
  it.each<{ source: string; message: string; literal?: string }>([
    {
      source: "Head Office",
      message: "plain text is not an expression; to write the text Head Office, quote it: 'Head Office'",
      literal: "Head Office",
    },
    {
      source: " Dr. Smith ",
      message: "plain text is not an expression; to write the text Dr. Smith, quote it: 'Dr. Smith'",
      literal: "Dr. Smith",
    },
    {
      source: "extra.Cost Center",
      message: 'to read the key "Cost Center" of extra, write extra["Cost Center"]: a name with spaces or punctuation goes in brackets and quotes',
    },
    {
      source: "extra.2nd line",
      message: 'to read the key "2nd line" of extra, write extra["2nd line"]: a name with spaces or punctuation goes in brackets and quotes',
    },
    {
      // Without a reference check nothing is known to be an attribute, so the words are the key's.
      source: "extra.costCenter title",
      message: 'to read the key "costCenter title" of extra, write extra["costCenter title"]: a name with spaces or punctuation goes in brackets and quotes',
    },
  ])("Given $source, When parsed, Then the message names no column: $message", ({ source, message, literal }) => {
    const error = errorOf(source);

    expect(error.message).toBe(message);
    expect({ wholeText: error.wholeText, problem: error.problem, literal: error.literal }).toEqual({ wholeText: true, problem: message, literal });
  });
});

describe("parseExpression with a reference check", () => {
  /** Accepts givenName, title and extra.<name>; says what else it was given. */
  const checkReference = (reference: string): ReferenceProblem | undefined =>
    ["givenName", "title"].includes(reference) || reference.startsWith("extra.")
      ? undefined
      : { text: `no ${reference}`, ...(/^\p{Lu}\w*$/u.test(reference) ? { literal: reference } : {}) };

  it("Given only accepted references, When parsed, Then it parses as without the check", () => {
    expect(parseExpression('{givenName} {extra["Cost Center"]}', { checkReference }).evaluate(readerOf(ALICE))).toBe("Alice CC 7");
  });

  it("Given a rejected reference inside a call, When parsed, Then the problem points at its column", () => {
    const error = errorOf("coalesce(title, Staff)", { checkReference });

    expect(error.message).toBe('no Staff at column 17 of "coalesce(title, Staff)"');
    expect({ column: error.column, wholeText: error.wholeText, reference: error.reference, literal: error.literal }).toEqual({
      column: 17,
      wholeText: false,
      reference: "Staff",
      literal: "Staff",
    });
  });

  it("Given a rejected reference that is the whole text, When parsed, Then the message names no column", () => {
    const error = errorOf("  Employee ", { checkReference });

    expect(error.message).toBe("no Employee");
    expect({ wholeText: error.wholeText, reference: error.reference, literal: error.literal }).toEqual({
      wholeText: true,
      reference: "Employee",
      literal: "Employee",
    });
  });

  it("Given several rejected references, When parsed, Then the first written is reported, normalised", () => {
    const error = errorOf("{givenName} {addresses[type eq 'work'].locality} {middle}", { checkReference });

    expect(error.message).toBe(`no addresses[type eq "work"].locality at column 14 of "{givenName} {addresses[type eq 'work'].locality} {middle}"`);
  });

  it("Given an extra key followed by an accepted name, When parsed, Then a template is suggested instead of brackets", () => {
    expect(errorOf("extra.costCenter title", { checkReference }).problem).toBe(
      'unexpected "title"; to combine values write a template, e.g. "{extra.costCenter} {title}", or write literal text in quotes',
    );
  });
});

describe("EXPRESSION_FUNCTIONS", () => {
  it("Given the function table, When listed, Then every function is documented with a signature that starts with its name", () => {
    const names = Object.keys(EXPRESSION_FUNCTIONS);

    expect(names).toEqual(["lower", "upper", "trim", "join", "coalesce", "replace", "switch", "appendDomain", "split", "not"]);
    for (const name of names) {
      expect(EXPRESSION_FUNCTIONS[name]!.signature.startsWith(`${name}(`)).toBe(true);
      expect(EXPRESSION_FUNCTIONS[name]!.description).not.toBe("");
    }
  });
});
