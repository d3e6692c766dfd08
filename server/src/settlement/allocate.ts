// Exact integer apportionment (largest remainder): splits a whole total over weights so the parts sum to the total.

/**
 * Splits `total` over `weights` pro rata: part_i = floor(total·w_i / W), then the units left over go one each to the
 * largest remainders, ties to the lower index (callers order by trade seq, so the result is deterministic).
 * Invariants: Σ parts = total (when W > 0), part_i ≤ ceil(total·w_i / W), and part_i ≤ w_i whenever total ≤ W.
 */
export function allocateLargestRemainder(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n) throw new RangeError('allocate: total must not be negative');
  const sum = weights.reduce((a, w) => {
    if (w < 0n) throw new RangeError('allocate: weights must not be negative');
    return a + w;
  }, 0n);
  if (sum === 0n) {
    if (total !== 0n) throw new RangeError('allocate: a positive total needs a positive weight');
    return weights.map(() => 0n);
  }
  const parts = weights.map((w) => (total * w) / sum);
  let left = total - parts.reduce((a, p) => a + p, 0n);
  if (left === 0n) return parts;
  const order = weights
    .map((w, i) => ({ i, rem: (total * w) % sum }))
    .sort((x, y) => (x.rem === y.rem ? x.i - y.i : x.rem > y.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    parts[i] += 1n;
    left -= 1n;
  }
  return parts;
}
