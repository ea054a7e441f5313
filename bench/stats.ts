/** Order statistics for benchmark samples. Quantiles interpolate linearly between ranks (R type 7). */

export interface Summary {
  median: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
  n: number;
}

export function quantile(values: readonly number[], q: number): number {
  return sortedQuantile([...values].sort((a, b) => a - b), q);
}

function sortedQuantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/**
 * Median, p95 and p99 of a set of samples. For a rate (higher is better) the tail that matters is
 * the slow one, so `p95` is then the value that 95% of the samples reached (the 5th percentile).
 */
export function summarize(values: readonly number[], higherIsBetter = false): Summary {
  // Sorted once; no Math.min(...values): load tests collect far more samples than a call's arguments.
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sortedQuantile(sorted, higherIsBetter ? 1 - q : q);
  return {
    median: sortedQuantile(sorted, 0.5),
    p95: at(0.95),
    p99: at(0.99),
    min: sorted.length ? sorted[0] : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : Number.NaN,
    n: sorted.length,
  };
}
