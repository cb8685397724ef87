/** Small dense linear algebra for 3x3 rotations and 4x4 symmetric eigenproblems (row-major arrays). */

export type Mat3 = Float64Array; // 9 values, row-major

export function mat3Identity(): Mat3 {
  return Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
}

export function mat3Mul(a: Mat3, b: Mat3): Mat3 {
  const o = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) o[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
  return o;
}

export function mat3Transpose(a: Mat3): Mat3 {
  return Float64Array.from([a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]]);
}

export function mat3Det(a: Mat3): number {
  return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
}

/** Rotation by `angle` radians about a unit axis (right-hand rule). */
export function rotationAxisAngle(axis: readonly [number, number, number], angle: number): Mat3 {
  const [x, y, z] = axis;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return Float64Array.from([t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c]);
}

/** Angle in radians of the rotation taking a to b. */
export function rotationAngleBetween(a: Mat3, b: Mat3): number {
  const r = mat3Mul(mat3Transpose(a), b);
  return Math.acos(Math.max(-1, Math.min(1, (r[0] + r[4] + r[8] - 1) / 2)));
}

/** Unit quaternion (w, x, y, z) to rotation matrix. */
export function quaternionToMat3(q: readonly number[]): Mat3 {
  const [w, x, y, z] = q;
  return Float64Array.from([
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ]);
}

/**
 * Eigen-decomposition of a symmetric 4x4 matrix by cyclic Jacobi rotations. Returns eigenvalues and
 * eigenvectors (columns of `vectors`, row-major 4x4). Converges to machine precision in < 10 sweeps.
 */
export function symmetricEigen4(m: ArrayLike<number>): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = Float64Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < 4; p++) for (let q = p + 1; q < 4; q++) off += a[4 * p + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < 4; p++) {
      for (let q = p + 1; q < 4; q++) {
        const apq = a[4 * p + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[4 * q + q] - a[4 * p + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < 4; k++) {
          const akp = a[4 * k + p];
          const akq = a[4 * k + q];
          a[4 * k + p] = c * akp - s * akq;
          a[4 * k + q] = s * akp + c * akq;
        }
        for (let k = 0; k < 4; k++) {
          const apk = a[4 * p + k];
          const aqk = a[4 * q + k];
          a[4 * p + k] = c * apk - s * aqk;
          a[4 * q + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < 4; k++) {
          const vkp = v[4 * k + p];
          const vkq = v[4 * k + q];
          v[4 * k + p] = c * vkp - s * vkq;
          v[4 * k + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: [a[0], a[5], a[10], a[15]], vectors: v };
}

/**
 * Cholesky factor L (row-major, lower) of a symmetric positive-definite p x p matrix M = L L^T.
 * Pivots are floored at 1e-12 so a nearly singular, regularised system still gives a finite answer.
 */
export function choleskyFactor(M: ArrayLike<number>, p: number): Float64Array {
  const L = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i * p + j];
      for (let k = 0; k < j; k++) s -= L[i * p + k] * L[j * p + k];
      L[i * p + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / L[j * p + j];
    }
  }
  return L;
}

/** Solves L L^T x = b with a factor from choleskyFactor. */
export function choleskySolve(L: Float64Array, b: ArrayLike<number>, p: number): Float64Array {
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * p + k] * y[k];
    y[i] = s / L[i * p + i];
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < p; k++) s -= L[k * p + i] * x[k];
    x[i] = s / L[i * p + i];
  }
  return x;
}

/** Solves M x = b for a symmetric positive-definite M (row-major p x p) by Cholesky decomposition. */
export function solveSymmetricPositiveDefinite(M: ArrayLike<number>, b: ArrayLike<number>, p: number): Float64Array {
  return choleskySolve(choleskyFactor(M, p), b, p);
}
