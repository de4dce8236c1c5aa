/**
 * The performance targets of the benchmark, judged from what the scenarios measured. A target
 * whose scenario did not run, or whose figure the build does not report, is `null` (not
 * measured), never met by default.
 */

export interface ScenarioFigures {
  name: string;
  users: number;
  latencyMs: number;
  concurrency: number;
  wallMs?: number;
  requests?: number;
  writes?: number;
  tooManyRequests?: number;
  minimumRequests?: number;
  /** List pages of the target as it was when the run began. */
  listPages?: number;
  idealMs?: number;
  ratio?: number;
  planCpuMs?: number;
  peakRssBytes?: number;
  achievedRate?: number;
  clientRateLimit?: number;
  stateLoadSaveMs?: number;
  failed?: boolean;
}

export interface Verdict {
  id: number;
  target: string;
  scenario: string;
  /** null: not measured in this run. */
  met: boolean | null;
  measured: string;
  limit: string;
}

const MB = 1024 * 1024;

function find(scenarios: ScenarioFigures[], name: string): ScenarioFigures | undefined {
  return scenarios.find((s) => s.name === name && !s.failed);
}

export function judge(scenarios: ScenarioFigures[]): Verdict[] {
  const verdicts: Verdict[] = [];
  const initial = find(scenarios, "initial");
  verdicts.push({
    id: 1,
    target: "initial sync wall time within 1.3x of the ideal (requests x latency / concurrency)",
    scenario: "initial",
    met: initial?.ratio === undefined ? null : initial.ratio <= 1.3,
    measured: initial?.ratio === undefined ? "n/a" : `${fmt(initial.wallMs! / 1000, 2)} s = ${fmt(initial.ratio, 2)}x the ideal ${fmt(initial.idealMs! / 1000, 2)} s`,
    limit: "<= 1.30x",
  });
  verdicts.push({
    id: 2,
    target: "initial sync requests within 1.02x of the minimum",
    scenario: "initial",
    met: initial?.requests === undefined || !initial.minimumRequests ? null : initial.requests <= 1.02 * initial.minimumRequests,
    measured:
      initial?.requests === undefined || !initial.minimumRequests
        ? "n/a"
        : `${initial.requests} requests = ${fmt(initial.requests / initial.minimumRequests, 4)}x the minimum ${initial.minimumRequests}`,
    limit: "<= 1.02x",
  });

  const big = find(scenarios, "big-unchanged");
  if (!big || big.requests === undefined) {
    verdicts.push({ id: 3, target: "unchanged run: zero writes, only list pages (+3), planning < 2 s CPU, peak RSS < 600 MB", scenario: "big-unchanged", met: null, measured: "n/a", limit: "" });
  } else {
    const allowed = (big.listPages ?? 0) + 3;
    const parts = [
      big.writes === 0,
      big.requests <= allowed,
      big.planCpuMs === undefined ? null : big.planCpuMs < 2000,
      big.peakRssBytes === undefined ? null : big.peakRssBytes < 600 * MB,
    ];
    verdicts.push({
      id: 3,
      target: `unchanged run of ${big.users} users: zero writes, only list pages (+3), planning < 2 s CPU, peak RSS < 600 MB`,
      scenario: "big-unchanged",
      met: parts.includes(false) ? false : parts.includes(null) ? null : true,
      measured:
        `${big.writes} writes, ${big.requests} requests (list pages ${big.listPages}), ` +
        `planning ${big.planCpuMs === undefined ? "n/a" : `${fmt(big.planCpuMs / 1000, 2)} s`} CPU, ` +
        `peak RSS ${big.peakRssBytes === undefined ? "n/a" : `${fmt(big.peakRssBytes / MB, 0)} MB`}`,
      limit: `0 writes, <= ${allowed} requests, < 2 s, < 600 MB`,
    });
  }

  const rate = find(scenarios, "rate-limit");
  const limit = rate?.clientRateLimit ?? 0;
  verdicts.push({
    id: 4,
    target: `with target.rateLimit ${limit || "N"} against a target enforcing it: no 429, achieved rate within 5%`,
    scenario: "rate-limit",
    met: rate?.achievedRate === undefined || !limit ? null : rate.tooManyRequests === 0 && Math.abs(rate.achievedRate - limit) <= 0.05 * limit,
    measured:
      rate?.achievedRate === undefined ? "n/a" : `${rate.tooManyRequests} x 429, ${fmt(rate.achievedRate, 2)} requests/s at the target`,
    limit: limit ? `0 x 429, ${fmt(limit * 0.95, 2)}..${fmt(limit * 1.05, 2)}/s` : "",
  });

  const state = find(scenarios, "big-state");
  verdicts.push({
    id: 5,
    target: `state file of ${state?.users ?? "N"} users: load + save under 1 s`,
    scenario: "big-state",
    met: state?.stateLoadSaveMs === undefined ? null : state.stateLoadSaveMs < 1000,
    measured: state?.stateLoadSaveMs === undefined ? "n/a" : `${fmt(state.stateLoadSaveMs, 0)} ms (median of the repetitions)`,
    limit: "< 1000 ms",
  });

  const small = find(scenarios, "unchanged");
  const factor = small && big ? big.users / small.users : undefined;
  const allowedGrowth = factor === undefined ? undefined : 1.2 * factor;
  const measurable = small?.planCpuMs !== undefined && big?.planCpuMs !== undefined && small.planCpuMs > 0;
  verdicts.push({
    id: 6,
    target: "planning CPU grows linearly: unchanged run at the large size under 1.2 x (size ratio) the small one",
    scenario: "unchanged + big-unchanged",
    met: measurable && allowedGrowth !== undefined ? big!.planCpuMs! / small!.planCpuMs! < allowedGrowth : null,
    measured: measurable
      ? `${fmt(small!.planCpuMs! / 1000, 3)} s at ${small!.users} users, ${fmt(big!.planCpuMs! / 1000, 3)} s at ${big!.users}: ${fmt(big!.planCpuMs! / small!.planCpuMs!, 2)}x`
      : "n/a",
    limit: allowedGrowth === undefined ? "" : `< ${fmt(allowedGrowth, 1)}x`,
  });
  return verdicts;
}

export function fmt(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
