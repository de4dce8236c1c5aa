/**
 * Reads the audit log back for `report` and `status`. A line that is not one of ours (cut short
 * by a crash or a full disk, edited by hand, from a future scimsync) is skipped and counted,
 * never fatal: the rest of the log still says what happened.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";
import { DEPROVISION_REASONS, type DeprovisionReason } from "../core/model.js";
import { errorCode, messageOf, ScimsyncError } from "../errors.js";
import type { AuditActionLine, AuditRunLine } from "./audit-log.js";

const isoTime = z.iso.datetime({ offset: true });
const OPS = ["create", "update", "suspend", "unsuspend", "delete", "add-members", "remove-members"] as const;
const RESULTS = ["ok", "failed", "safety-stop", "interrupted", "error"] as const;

// Loose objects: a later scimsync may add fields, and this one still reads what it knows.
const actionLine = z.looseObject({
  time: isoTime,
  runId: z.string(),
  op: z.enum(OPS),
  type: z.enum(["User", "Group"]),
  key: z.string(),
  changed: z.array(z.string()),
  members: z.int().nonnegative().optional(),
  reason: z.enum(DEPROVISION_REASONS as [DeprovisionReason, ...DeprovisionReason[]]).optional(),
  status: z.enum(["ok", "failed", "skipped"]),
  error: z.string().optional(),
});

const runLine = z.looseObject({
  time: isoTime,
  runId: z.string(),
  event: z.literal("run"),
  result: z.enum(RESULTS),
  counts: z.record(z.string(), z.number()),
  startedAt: isoTime.optional(),
  token: z.enum(["accepted", "rejected"]).optional(),
  error: z.string().optional(),
});

export interface AuditLogContents {
  /** In file order, which is the order they were written. */
  actions: AuditActionLine[];
  runs: Array<Omit<AuditRunLine, "startedAt"> & { startedAt?: string }>;
  /** Lines skipped because they could not be read. */
  malformed: number;
}

/** The lines of an audit log. Throws ScimsyncError when the file cannot be read; undefined when it does not exist. */
export async function readAuditLog(path: string): Promise<AuditLogContents | undefined> {
  const contents: AuditLogContents = { actions: [], runs: [], malformed: 0 };
  try {
    const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text.trim() === "") continue;
      addLine(contents, text);
    }
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw new ScimsyncError(`cannot read the audit log ${path} (log.path): ${errorCode(error) ?? messageOf(error)}`, {
      hint: errorCode(error) === "EACCES" ? `check that the user running scimsync may read ${path}` : undefined,
      cause: error,
    });
  }
  return contents;
}

/** Parses one line of text into `contents`, or counts it as malformed. */
function addLine(contents: AuditLogContents, text: string): void {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    contents.malformed++;
    return;
  }
  const isRun = typeof raw === "object" && raw !== null && (raw as { event?: unknown }).event !== undefined;
  if (isRun) {
    const run = runLine.safeParse(raw);
    if (run.success) contents.runs.push(run.data);
    else contents.malformed++;
    return;
  }
  const action = actionLine.safeParse(raw);
  if (action.success) contents.actions.push(action.data);
  else contents.malformed++;
}
