/**
 * Measurements, not tests: never part of `npm test` (the main config includes only test/**).
 * Run with: npx vitest run --config bench/vitest.config.ts
 */
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, ".."),
    include: ["bench/**/*.bench.test.ts"],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: "forks",
    // One measurement at a time: parallel files would skew each other's numbers.
    fileParallelism: false,
  },
});
