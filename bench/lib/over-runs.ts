/**
 * One figure over repeated runs (`--repeat N`): its median, its range, and how many runs met an
 * aim. On this shared 2-vCPU VM the same heavy run gives a p99 anywhere in a 3–5× range from one
 * minute to the next (docs/benchmarks.md), so one run can say "met" or "not met" by chance; the
 * median of several, with the range beside it, is the figure worth quoting.
 */

export interface OverRuns {
  runs: number;
  median: number;
  min: number;
  max: number;
  /** Runs whose value was below `aim` (undefined without an aim). */
  met?: number;
  aim?: number;
}

/** Median (mean of the middle two for an even count), range and aim count of `values`. */
export function overRuns(values: number[], aim?: number): OverRuns {
  if (values.length === 0) throw new RangeError('overRuns: no runs');
  const a = [...values].sort((x, y) => x - y);
  const mid = a.length >>> 1;
  const median = a.length % 2 ? a[mid] : (a[mid - 1] + a[mid]) / 2;
  const out: OverRuns = {runs: a.length, median, min: a[0], max: a[a.length - 1]};
  if (aim !== undefined) {
    out.aim = aim;
    out.met = a.filter((x) => x < aim).length;
  }
  return out;
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/**
 * "median 27.9 ms (14.5–73.4 over 9 runs); aim < 20 ms met in 5 of 9"; with unit 'x' (a ratio)
 * "median 62.0x (40.1–80.2 over 5 runs)", with '%' "median 61.2 % (…)".
 */
export function formatOverRuns(r: OverRuns, unit: 'ms' | 'x' | '%' = 'ms'): string {
  const u = unit === 'x' ? 'x' : ` ${unit}`;
  const aim = r.aim === undefined ? '' : `; aim < ${r.aim}${u} met in ${r.met} of ${r.runs}`;
  return `median ${ms(r.median)}${u} (${ms(r.min)}–${ms(r.max)} over ${r.runs} runs)${aim}`;
}

/** `--repeat N` from a bench's arguments (default 1), checked. */
export function repeatArg(args: string[]): number {
  const i = args.indexOf('--repeat');
  if (i < 0) return 1;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--repeat needs a whole number ≥ 1`);
  return n;
}
