import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import type { StoreSnapshot, StoredResource } from "./store.js";

/**
 * The sandbox's optional data file: the whole store as JSON, rewritten after every change.
 * Writes are synchronous so that a response is only sent once its change is on disk: an
 * end-to-end test (or a second process) may read the file right after a request returns.
 */

const FORMAT = "scimsync-sandbox";
const VERSION = 1;

interface DataFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  users: StoredResource[];
  groups: StoredResource[];
}

function isResourceList(value: unknown, resourceType: string): value is StoredResource[] {
  return (
    Array.isArray(value) &&
    value.every((r) => {
      if (r === null || typeof r !== "object") return false;
      const { id, meta } = r as { id?: unknown; meta?: { resourceType?: unknown } };
      return typeof id === "string" && id !== "" && meta !== null && typeof meta === "object" && meta.resourceType === resourceType;
    })
  );
}

/** The stored snapshot, or undefined when the file does not exist. Throws on anything unreadable. */
export function readDataFile(path: string): StoreSnapshot | undefined {
  let raw: string;
  try {
    raw = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read sandbox data file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: Partial<DataFile>;
  try {
    parsed = JSON.parse(raw) as Partial<DataFile>;
  } catch (error) {
    throw new Error(`sandbox data file ${path} is not valid JSON`, { cause: error });
  }
  // Refuse rather than start empty: the next write would silently destroy the file's content.
  if (parsed?.format !== FORMAT || parsed.version !== VERSION) {
    throw new Error(`${path} is not a scimsync sandbox data file (expected format "${FORMAT}" version ${VERSION})`);
  }
  if (!isResourceList(parsed.users, "User") || !isResourceList(parsed.groups, "Group")) {
    throw new Error(`sandbox data file ${path} is damaged: users and groups must be lists of resources with id and meta`);
  }
  return { users: parsed.users, groups: parsed.groups };
}

/** Replaces the file atomically (temp file in the same folder, fsync, rename), readable by the owner only. */
export function writeDataFile(path: string, snapshot: StoreSnapshot): void {
  const content: DataFile = { format: FORMAT, version: VERSION, users: snapshot.users, groups: snapshot.groups };
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(content, null, 2)}\n`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
