/**
 * Where a run's time went, for `--output json` and the benchmark: an administrator whose nightly
 * sync got slow can tell the source from the target from scimsync itself.
 */
export interface RunTimings {
  /** Reading and migrating the state file. */
  stateLoadMs: number;
  readSourceMs: number;
  /** Listing the target's users and groups, with the lookups and member reads planning needs. */
  readTargetMs: number;
  /** Wall time of the pure planning steps (scope, mapping, diff). */
  planMs: number;
  /**
   * CPU time of the same steps. They run without awaiting anything, so nothing else runs on the
   * thread meanwhile and this is their own cost (garbage collection included).
   */
  planCpuMs: number;
  /** sync only: applying the plan. */
  applyMs?: number;
  /** sync only: the saves before and after applying (checkpoints while applying are not counted). */
  stateSaveMs?: number;
}

export type TimingKey = keyof RunTimings;

/** Adds up wall (and, for planning, CPU) time per step. */
export class RunClock {
  readonly timings: RunTimings = { stateLoadMs: 0, readSourceMs: 0, readTargetMs: 0, planMs: 0, planCpuMs: 0 };

  async time<T>(key: Exclude<TimingKey, "planMs" | "planCpuMs">, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await step();
    } finally {
      this.timings[key] = round((this.timings[key] ?? 0) + performance.now() - started);
    }
  }

  /** For synchronous planning steps only: CPU time measured across an await would include other work. */
  plan<T>(step: () => T): T {
    const started = performance.now();
    const cpu = process.cpuUsage();
    try {
      return step();
    } finally {
      const used = process.cpuUsage(cpu);
      this.timings.planMs = round(this.timings.planMs + performance.now() - started);
      this.timings.planCpuMs = round(this.timings.planCpuMs + (used.user + used.system) / 1000);
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
