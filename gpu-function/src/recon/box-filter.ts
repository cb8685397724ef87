/** Box filters over square grids of typed arrays, by running sums. */

/**
 * In place: box sums of radius r (window 2r + 1, clipped at the edges), rows then columns, by running
 * sums; `tmp` (S * S) is scratch. Not divided by the window: the callers blur a numerator and its
 * weights alike and divide one by the other, so the window size cancels.
 */
export function boxSum(a: Float32Array, tmp: Float32Array, S: number, r: number): void {
  if (2 * r + 1 > S) return boxSumClipped(a, tmp, S, r);
  boxRows(a, tmp, S, r);
  boxColumns(tmp, a, S, r, new Float64Array(S));
}

// The two passes are functions of their own, for V8's sake (see detail-maps.ts).

/** tmp = row-wise running-window sums of a (2r + 1 <= S). */
function boxRows(a: Float32Array, tmp: Float32Array, S: number, r: number): void {
  // Rows: the window's leading edge enters at x + r and its trailing edge leaves after x - r; the
  // three spans (entering only, both, leaving only) need no test per texel.
  for (let y = 0; y < S; y++) {
    const base = y * S;
    let acc = 0;
    for (let x = 0; x < r; x++) acc += a[base + x];
    let x = 0;
    for (; x < r; x++) {
      acc += a[base + x + r];
      tmp[base + x] = acc;
    }
    for (; x < S - r; x++) {
      acc += a[base + x + r];
      tmp[base + x] = acc;
      acc -= a[base + x - r];
    }
    for (; x < S; x++) {
      tmp[base + x] = acc;
      acc -= a[base + x - r];
    }
  }
}

/** a = column-wise running-window sums of tmp (2r + 1 <= S), `acc` (S, zeros) the running sums. */
function boxColumns(tmp: Float32Array, a: Float32Array, S: number, r: number, acc: Float64Array): void {
  // A whole row at a time: the running sums are a row vector (cache-friendly).
  for (let y = 0; y < r; y++) for (let x = 0, o = y * S; x < S; x++) acc[x] += tmp[o + x];
  let y = 0;
  for (; y < r; y++) {
    const o = y * S, p = (y + r) * S;
    for (let x = 0; x < S; x++) {
      const v = acc[x] + tmp[p + x];
      acc[x] = v;
      a[o + x] = v;
    }
  }
  for (; y < S - r; y++) {
    const o = y * S, p = (y + r) * S, q = (y - r) * S;
    for (let x = 0; x < S; x++) {
      const v = acc[x] + tmp[p + x];
      a[o + x] = v;
      acc[x] = v - tmp[q + x];
    }
  }
  for (; y < S; y++) {
    const o = y * S, q = (y - r) * S;
    for (let x = 0; x < S; x++) {
      const v = acc[x];
      a[o + x] = v;
      acc[x] = v - tmp[q + x];
    }
  }
}

/** boxSum for windows wider than the grid: every sum clipped at both edges. */
function boxSumClipped(a: Float32Array, tmp: Float32Array, S: number, r: number): void {
  for (let y = 0; y < S; y++) {
    const base = y * S;
    let acc = 0;
    for (let x = 0; x < r && x < S; x++) acc += a[base + x];
    for (let x = 0; x < S; x++) {
      if (x + r < S) acc += a[base + x + r];
      tmp[base + x] = acc;
      if (x - r >= 0) acc -= a[base + x - r];
    }
  }
  const acc = new Float64Array(S);
  for (let y = 0; y < r && y < S; y++) for (let x = 0; x < S; x++) acc[x] += tmp[y * S + x];
  for (let y = 0; y < S; y++) {
    if (y + r < S) for (let x = 0, o = (y + r) * S; x < S; x++) acc[x] += tmp[o + x];
    for (let x = 0, o = y * S; x < S; x++) a[o + x] = acc[x];
    if (y - r >= 0) for (let x = 0, o = (y - r) * S; x < S; x++) acc[x] -= tmp[o + x];
  }
}
