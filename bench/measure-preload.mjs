/**
 * Loaded into the scimsync process by the benchmark (NODE_OPTIONS=--import=<this file>): when
 * the process exits, it writes its own resource usage to the file named by BENCH_USAGE_FILE.
 * The 'exit' handler runs for a normal end and for process.exit(), which is how bin/scimsync.js
 * leaves; a process killed by a signal writes nothing.
 */
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  // Only this process: children it might start must not overwrite the figures.
  delete process.env.BENCH_USAGE_FILE;
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        // resourceUsage reports maxRSS in kilobytes and CPU times in microseconds.
        maxRssBytes: usage.maxRSS * 1024,
        userCpuMs: usage.userCPUTime / 1000,
        systemCpuMs: usage.systemCPUTime / 1000,
        uptimeMs: process.uptime() * 1000,
      }),
    );
  });
}
