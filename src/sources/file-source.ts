/**
 * The directory as an export file: JSON (`{"users": [...], "groups": [...]}`) or CSV (a header
 * row naming the user fields plus `groups`). The format follows the file's extension.
 * Both are turned into the same records, and validated alike in file-records.ts.
 */
import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { parse as parseCsv, type CsvError } from "csv-parse/sync";
import { SOURCE_USER_ATTRIBUTES, type SourceAddress, type SourceProblem, type SourceSnapshot } from "../core/model.js";
import type { DirectorySource } from "../core/ports.js";
import { SourceError } from "../errors.js";
import type { SourceAccess, SourceAccessCheck } from "./access-check.js";
import { toSnapshot, type DirectoryRecords, type UserRecord } from "./file-records.js";

const SHAPE_HINT = "see examples/directory.json and examples/directory.csv for the expected shape";

export class FileSource implements DirectorySource, SourceAccessCheck {
  private readonly path: string;

  constructor(path: string) {
    this.path = resolve(path);
  }

  async read(): Promise<SourceSnapshot> {
    const extension = extname(this.path).toLowerCase();
    if (extension !== ".json" && extension !== ".csv") {
      throw new SourceError(
        `cannot read the directory file ${this.path}: scimsync reads .json and .csv files, not ${extension === "" ? "files without an extension" : extension}`,
        { hint: `export the directory as JSON or CSV and point source.path at it; ${SHAPE_HINT}` },
      );
    }
    const text = stripBom(await this.readText());
    const records = extension === ".csv" ? readCsvRecords(text, this.path) : readJsonRecords(text, this.path);
    return toSnapshot(records);
  }

  /** The whole file, read as a run reads it: a file has no credentials, only a path and a format. */
  async checkAccess(): Promise<SourceAccess> {
    try {
      return { status: "ok", users: (await this.read()).users.length };
    } catch (error) {
      if (error instanceof SourceError) return { status: "unavailable", error };
      throw error;
    }
  }

  private async readText(): Promise<string> {
    try {
      return await readFile(this.path, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const [what, hint] =
        code === "ENOENT"
          ? ["it does not exist", "check source.path in the config; a relative path is relative to the config file"]
          : code === "EACCES" || code === "EPERM"
            ? ["permission denied", "make the file readable by the user that runs scimsync"]
            : code === "EISDIR"
              ? ["it is a directory", "point source.path at the .json or .csv file itself"]
              : [(error as Error).message, "check that the file can be read"];
      throw new SourceError(`cannot read the directory file ${this.path}: ${what}`, { hint, cause: error });
    }
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function readJsonRecords(text: string, path: string): DirectoryRecords {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new SourceError(`the directory file ${path} is not valid JSON: ${(error as Error).message}`, {
      hint: `fix the file or export it again; ${SHAPE_HINT}`,
      cause: error,
    });
  }
  const top = document !== null && typeof document === "object" && !Array.isArray(document) ? (document as Record<string, unknown>) : undefined;
  if (!top || !Array.isArray(top.users)) {
    throw new SourceError(`the directory file ${path} has no "users" list at the top level`, {
      hint: `the file must be an object like {"users": [...], "groups": [...]}; ${SHAPE_HINT}`,
    });
  }
  if (top.groups !== undefined && !Array.isArray(top.groups)) {
    throw new SourceError(`the directory file ${path} has a "groups" entry that is not a list`, {
      hint: `"groups" must be a list of {"id", "displayName", "members"} objects, or be left out; ${SHAPE_HINT}`,
    });
  }
  const groups: unknown[] = top.groups ?? [];
  return {
    users: top.users.map((fields: unknown, i) => ({ location: `users[${i}]`, fields })),
    groups: groups.map((fields, i) => ({ location: `groups[${i}]`, fields })),
    unreadable: [],
  };
}

const ACTIVE_WORDS: Record<string, boolean> = { true: true, yes: true, "1": true, false: false, no: false, "0": false };

/**
 * A cell holds no list of objects, so CSV gives each phone number a column and spreads one work
 * address over several; the reader builds the JSON shapes from them.
 */
const PHONE_COLUMNS: ReadonlyMap<string, string> = new Map([
  ["workPhone", "work"],
  ["mobilePhone", "mobile"],
]);
const ADDRESS_COLUMNS: ReadonlyMap<string, keyof SourceAddress> = new Map([
  ["streetAddress", "streetAddress"],
  ["locality", "locality"],
  ["region", "region"],
  ["postalCode", "postalCode"],
  ["country", "country"],
  ["formattedAddress", "formatted"],
]);
/** JSON keys the flat columns above stand in for. */
const LIST_KEYS: readonly string[] = ["addresses", "phoneNumbers"];

const CSV_COLUMNS = [...SOURCE_USER_ATTRIBUTES.filter((name) => !LIST_KEYS.includes(name)), ...PHONE_COLUMNS.keys(), ...ADDRESS_COLUMNS.keys(), "groups"];

/** Header names are matched ignoring case, so `username` or `Email` from a spreadsheet still work. */
const CANONICAL_COLUMNS = new Map(CSV_COLUMNS.map((name) => [name.toLowerCase(), name]));

function readCsvRecords(text: string, path: string): DirectoryRecords {
  const unreadable: SourceProblem[] = [];
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(text, {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      skip_records_with_error: true,
      on_skip: (error: CsvError | undefined) => {
        if (error) unreadable.push({ location: `line ${String(error.lines)}`, reason: describeCsvError(error) });
      },
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new SourceError(`the directory file ${path} is not valid CSV: ${(error as Error).message}`, {
      hint: `fix the file or export it again; ${SHAPE_HINT}`,
      cause: error,
    });
  }

  const [header, ...body] = rows;
  if (!header) {
    throw new SourceError(`the directory file ${path} is empty`, { hint: `the first row must name the columns; ${SHAPE_HINT}` });
  }
  const columns = readHeader(header.record, path);

  const users: UserRecord[] = [];
  for (const { record, info } of body) {
    if (record.every((cell) => cell.trim() === "")) continue;
    // info.lines is where the record ends; a quoted value may span lines.
    const line = info.lines - record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);
    const fields: Record<string, unknown> = {};
    const sources: Record<string, string> = {};
    const phoneNumbers: { type: string; value: string }[] = [];
    const address: Record<string, string> = {};
    let groupNames: string[] = [];
    columns.forEach((name, i) => {
      const cell = record[i];
      if (name === undefined || cell === undefined) return;
      const phoneType = PHONE_COLUMNS.get(name);
      const addressKey = ADDRESS_COLUMNS.get(name);
      if (name === "groups") groupNames = cell.split(";").map((g) => g.trim()).filter((g) => g !== "");
      else if (name === "active") {
        const word = cell.trim().toLowerCase();
        // Unknown words stay text, so the shared validation reports them with the accepted ones.
        if (word !== "") fields.active = ACTIVE_WORDS[word] ?? cell;
      } else if (name === "roles") {
        const roles = cell.split(";");
        roles.forEach((_, n) => (sources[`roles[${n}]`] = name));
        fields.roles = roles;
      } else if (phoneType !== undefined) {
        // Blank cells are kept: the shared validation drops entries without a value.
        sources[`phoneNumbers[${phoneNumbers.length}].value`] = name;
        phoneNumbers.push({ type: phoneType, value: cell });
      } else if (addressKey !== undefined) {
        sources[`addresses[0].${addressKey}`] = name;
        address[addressKey] = cell;
      } else fields[name] = cell;
    });
    if (phoneNumbers.length > 0) fields.phoneNumbers = phoneNumbers;
    if (Object.keys(address).length > 0) fields.addresses = [{ type: "work", ...address }];
    users.push({
      location: `line ${line}`,
      fields,
      groupNames,
      columns: sources,
      ...(record.length !== header.record.length
        ? { defect: `has ${record.length} fields but the header row has ${header.record.length}; a value containing a comma must be in double quotes` }
        : {}),
    });
  }
  return { users, groups: [], unreadable };
}

/** Column names by position; undefined for unnamed columns (the trailing comma of some exports). */
function readHeader(cells: string[], path: string): (string | undefined)[] {
  const columns = cells.map((cell) => {
    const name = cell.trim();
    return name === "" ? undefined : (CANONICAL_COLUMNS.get(name.toLowerCase()) ?? name);
  });
  const seen = new Set<string>();
  for (const name of columns) {
    if (name === undefined) continue;
    if (seen.has(name)) {
      throw new SourceError(`the directory file ${path} names the column "${name}" twice in its header row`, {
        hint: "remove or rename one of them",
      });
    }
    seen.add(name);
  }
  const listColumn = columns.find((name) => name !== undefined && LIST_KEYS.some((key) => key.toLowerCase() === name.toLowerCase()));
  if (listColumn !== undefined) {
    throw new SourceError(`the directory file ${path} has a column "${listColumn}", but a CSV cell cannot hold that list`, {
      hint: `use the columns ${[...PHONE_COLUMNS.keys()].join(", ")} for phone numbers and ${[...ADDRESS_COLUMNS.keys()].join(", ")} for the work address, or export the directory as JSON; ${SHAPE_HINT}`,
    });
  }
  // Without one of these every row would be rejected, so the file as a whole is wrong.
  // email is not among them: it is optional per user (see file-records.ts).
  const missing = ["id", "userName"].filter((name) => !seen.has(name));
  if (missing.length > 0) {
    const names = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(", ")} or ${missing.at(-1)}`;
    throw new SourceError(`the directory file ${path} has no ${names} column in its header row`, {
      hint: `the first row must name the columns, e.g. ${CSV_COLUMNS.join(",")}; ${SHAPE_HINT}`,
    });
  }
  return columns;
}

function describeCsvError(error: CsvError): string {
  switch (error.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "a double quote opened here is never closed, so the rest of the file could not be read";
    case "CSV_INVALID_CLOSING_QUOTE":
      return 'a quoted value is followed by other characters; write a quote inside a quoted value as two quotes ("")';
    default:
      return `this record could not be read: ${error.message}`;
  }
}
