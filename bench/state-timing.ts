/**
 * Loads and saves one state file with the product's FileStateStore (dist/), in a process of its
 * own so that every measurement is as cold as a scimsync run's: modules freshly loaded, nothing
 * compiled yet, and no benchmark target sharing the heap. Prints {"loadMs", "saveMs"} as JSON.
 *
 *   node bench/state-timing.ts <state file> <target URL recorded in it>
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [file, targetUrl] = process.argv.slice(2);
if (!file || !targetUrl) {
  process.stderr.write("usage: node bench/state-timing.ts <state file> <target URL>\n");
  process.exit(2);
}
const moduleUrl = pathToFileURL(join(resolve(import.meta.dirname, ".."), "dist", "state", "file-state-store.js")).href;
const { FileStateStore } = (await import(moduleUrl)) as typeof import("../src/state/file-state-store.ts");
const store = new FileStateStore(file);
await store.lock();
try {
  const t0 = performance.now();
  const { state } = await store.read(targetUrl);
  const t1 = performance.now();
  await store.write(state);
  const t2 = performance.now();
  process.stdout.write(`${JSON.stringify({ loadMs: t1 - t0, saveMs: t2 - t1 })}\n`);
} finally {
  await store.unlock();
}
