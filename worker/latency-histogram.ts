/**
 * Log2 histogram of durations in ns: bucket k holds [2^k, 2^(k+1)) ns (bucket 0 also holds 0),
 * 48 buckets reach 2^48 ns ≈ 3.3 days. Plain counts plus count/sum/max for the mean.
 */
export const LATENCY_BUCKETS = 48;

export interface HistogramData {
  /** Lower bound of each bucket, ns. */
  bucketLowNs: Float64Array;
  counts: Float64Array;
  count: number;
  sumNs: number;
  maxNs: number;
}

/** Lower bound (ns) of every bucket: 0, 2, 4, 8, … */
export function latencyBucketLowNs(): Float64Array {
  const low = new Float64Array(LATENCY_BUCKETS);
  for (let k = 1; k < LATENCY_BUCKETS; k++) low[k] = 2 ** k;
  return low;
}

export class LatencyHistogram {
  counts = new Float64Array(LATENCY_BUCKETS);
  count = 0;
  sumNs = 0;
  maxNs = 0;

  static bucketOf(ns: number): number {
    if (ns < 2) return 0;
    const k = Math.floor(Math.log2(ns));
    // log2 can round up just below a power of two; correct by one step.
    const b = 2 ** k > ns ? k - 1 : k;
    return b >= LATENCY_BUCKETS ? LATENCY_BUCKETS - 1 : b;
  }

  add(ns: number): void {
    this.counts[LatencyHistogram.bucketOf(ns)]++;
    this.count++;
    this.sumNs += ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  clear(): void {
    this.counts.fill(0);
    this.count = this.sumNs = this.maxNs = 0;
  }

  data(): HistogramData {
    return {
      bucketLowNs: latencyBucketLowNs(),
      counts: this.counts.slice(),
      count: this.count,
      sumNs: this.sumNs,
      maxNs: this.maxNs,
    };
  }
}
