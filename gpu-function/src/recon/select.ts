/** Order statistics of typed arrays in linear time (Hoare's selection), for robust scales and quantiles. */

type Floats = Float32Array | Float64Array;

/**
 * Reorders `a` in place so that a[k] is its k-th smallest value (0-based), everything before it is
 * <= a[k] and everything after >= a[k]; returns a[k]. Expected O(n) (middle pivot). NaN-free input.
 */
export function selectKth(a: Floats, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

/** The median of `v` (the mean of the middle two for an even length), without reordering `v`. */
export function median(v: Floats): number {
  const s = v.slice();
  const n = s.length;
  const upper = selectKth(s, n >> 1);
  if (n % 2) return upper;
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (s[i] > lower) lower = s[i];
  return 0.5 * (lower + upper);
}

/**
 * The q-quantile of a histogram: the first bin at which the cumulative count reaches q * total (the
 * last bin if it never does). For 8-bit values (256 bins) it is the value itself.
 */
export function histQuantile(hist: ArrayLike<number>, total: number, q: number): number {
  const target = q * total;
  let acc = 0;
  for (let b = 0; b < hist.length; b++) if ((acc += hist[b]) >= target) return b;
  return hist.length - 1;
}
