/**
 * The 9 x 9 symmetric rank-one sums behind the SH fit's normal equations (sh-fit.ts), unrolled:
 * A[r][s] += (w_j x_j[r]) x_j[s] for s <= r over the rows x_j with weight w_j > 0, in row order, into the
 * lower triangle of A, starting from the values A holds. The same operations in the same order as the
 * loops they replace, so the sums are the same bit for bit; the 45 sums live in locals instead of being
 * read and written through the array at every row (the fit runs ~7 of these per request over ~1,500
 * samples and, per channel, ~700 mirrored pairs).
 */
export function addSymmetricRankOne9(A: Float64Array, rows: Float64Array, stride: number, offset: number, weights: Float64Array, n: number): number {
  let a00 = A[0];
  let a10 = A[9], a11 = A[10];
  let a20 = A[18], a21 = A[19], a22 = A[20];
  let a30 = A[27], a31 = A[28], a32 = A[29], a33 = A[30];
  let a40 = A[36], a41 = A[37], a42 = A[38], a43 = A[39], a44 = A[40];
  let a50 = A[45], a51 = A[46], a52 = A[47], a53 = A[48], a54 = A[49], a55 = A[50];
  let a60 = A[54], a61 = A[55], a62 = A[56], a63 = A[57], a64 = A[58], a65 = A[59], a66 = A[60];
  let a70 = A[63], a71 = A[64], a72 = A[65], a73 = A[66], a74 = A[67], a75 = A[68], a76 = A[69], a77 = A[70];
  let a80 = A[72], a81 = A[73], a82 = A[74], a83 = A[75], a84 = A[76], a85 = A[77], a86 = A[78], a87 = A[79], a88 = A[80];
  let count = 0;
  for (let j = 0; j < n; j++) {
    const w = weights[j];
    if (!(w > 0)) continue;
    count++;
    const o = stride * j + offset;
    const b0 = rows[o + 0], b1 = rows[o + 1], b2 = rows[o + 2], b3 = rows[o + 3], b4 = rows[o + 4], b5 = rows[o + 5], b6 = rows[o + 6], b7 = rows[o + 7], b8 = rows[o + 8];
    const u0 = w * b0, u1 = w * b1, u2 = w * b2, u3 = w * b3, u4 = w * b4, u5 = w * b5, u6 = w * b6, u7 = w * b7, u8 = w * b8;
    a00 += u0 * b0;
    a10 += u1 * b0; a11 += u1 * b1;
    a20 += u2 * b0; a21 += u2 * b1; a22 += u2 * b2;
    a30 += u3 * b0; a31 += u3 * b1; a32 += u3 * b2; a33 += u3 * b3;
    a40 += u4 * b0; a41 += u4 * b1; a42 += u4 * b2; a43 += u4 * b3; a44 += u4 * b4;
    a50 += u5 * b0; a51 += u5 * b1; a52 += u5 * b2; a53 += u5 * b3; a54 += u5 * b4; a55 += u5 * b5;
    a60 += u6 * b0; a61 += u6 * b1; a62 += u6 * b2; a63 += u6 * b3; a64 += u6 * b4; a65 += u6 * b5; a66 += u6 * b6;
    a70 += u7 * b0; a71 += u7 * b1; a72 += u7 * b2; a73 += u7 * b3; a74 += u7 * b4; a75 += u7 * b5; a76 += u7 * b6; a77 += u7 * b7;
    a80 += u8 * b0; a81 += u8 * b1; a82 += u8 * b2; a83 += u8 * b3; a84 += u8 * b4; a85 += u8 * b5; a86 += u8 * b6; a87 += u8 * b7; a88 += u8 * b8;
  }
  A[0] = a00;
  A[9] = a10; A[10] = a11;
  A[18] = a20; A[19] = a21; A[20] = a22;
  A[27] = a30; A[28] = a31; A[29] = a32; A[30] = a33;
  A[36] = a40; A[37] = a41; A[38] = a42; A[39] = a43; A[40] = a44;
  A[45] = a50; A[46] = a51; A[47] = a52; A[48] = a53; A[49] = a54; A[50] = a55;
  A[54] = a60; A[55] = a61; A[56] = a62; A[57] = a63; A[58] = a64; A[59] = a65; A[60] = a66;
  A[63] = a70; A[64] = a71; A[65] = a72; A[66] = a73; A[67] = a74; A[68] = a75; A[69] = a76; A[70] = a77;
  A[72] = a80; A[73] = a81; A[74] = a82; A[75] = a83; A[76] = a84; A[77] = a85; A[78] = a86; A[79] = a87; A[80] = a88;
  return count;
}
