;; The recon passes whose per-texel JavaScript dominated their stage (bench:recon's lighting, albedo and
;; detail columns), as WebAssembly: 128-bit SIMD where the arithmetic vectorises, scalar where only the
;; bounds checks and conversions were JavaScript's cost. Compiled from this text at start-up by
;; kernels.ts, which owns the linear memory and the layout; each function's comment gives its contract.
;; Pointers are byte offsets into the memory, grids row-major.
(module
  (memory (export "memory") 1)

  ;; boxSum: in place, box sums of radius r over an S x S f32 grid `a` (window 2r + 1 <= S, clipped at
  ;; the edges), rows then columns, by running sums in f64, the same operations in the same order as
  ;; box-filter.ts's JavaScript had, so the sums are the same bit for bit. Scratch: `tmp` (S * S f32),
  ;; `acc` (S f64), `zero` (S f32 of zeros), `sink` (S f32, written).
  (func (export "boxSum") (param $a i32) (param $tmp i32) (param $acc i32) (param $zero i32) (param $sink i32) (param $S i32) (param $r i32)
    (local $y i32) (local $row i32) (local $add i32) (local $sub i32)
    (call $boxRows (local.get $a) (local.get $tmp) (local.get $S) (local.get $r))
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $S) (i32.const 3)))
    (local.set $row (i32.shl (local.get $S) (i32.const 2)))
    ;; The column sums' leading edge: rows 0 .. r - 1 into the accumulators.
    (block $done0
      (loop $l0
        (br_if $done0 (i32.ge_u (local.get $y) (local.get $r)))
        (call $columnStep (local.get $sink) (i32.add (local.get $tmp) (i32.mul (local.get $y) (local.get $row))) (local.get $zero) (local.get $acc) (local.get $S))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $l0)))
    ;; Row y: the row entering at y + r (while inside), the one leaving after y - r (once there is one).
    (local.set $y (i32.const 0))
    (loop $l1
      (local.set $add (select (i32.add (local.get $tmp) (i32.mul (i32.add (local.get $y) (local.get $r)) (local.get $row))) (local.get $zero)
        (i32.lt_u (i32.add (local.get $y) (local.get $r)) (local.get $S))))
      (local.set $sub (select (i32.add (local.get $tmp) (i32.mul (i32.sub (local.get $y) (local.get $r)) (local.get $row))) (local.get $zero)
        (i32.ge_s (i32.sub (local.get $y) (local.get $r)) (i32.const 0))))
      (call $columnStep (i32.add (local.get $a) (i32.mul (local.get $y) (local.get $row))) (local.get $add) (local.get $sub) (local.get $acc) (local.get $S))
      (br_if $l1 (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $S)))))

  ;; Per column x < S: v = acc[x] + add[x]; dst[x] = f32(v); acc[x] = v - sub[x]. Two columns per
  ;; step (f64x2), the odd one last.
  (func $columnStep (param $dst i32) (param $add i32) (param $sub i32) (param $acc i32) (param $S i32)
    (local $x i32) (local $pairs i32) (local $v v128) (local $s f64)
    (local.set $pairs (i32.and (local.get $S) (i32.const -2)))
    (block $done
      (loop $lx
        (br_if $done (i32.ge_u (local.get $x) (local.get $pairs)))
        (local.set $v (f64x2.add (v128.load (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3))))
          (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $add) (i32.shl (local.get $x) (i32.const 2)))))))
        (v128.store64_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32x4.demote_f64x2_zero (local.get $v)))
        (v128.store (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3)))
          (f64x2.sub (local.get $v) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $sub) (i32.shl (local.get $x) (i32.const 2)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 2)))
        (br $lx)))
    (if (i32.lt_u (local.get $x) (local.get $S))
      (then
        (local.set $s (f64.add (f64.load (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3))))
          (f64.promote_f32 (f32.load (i32.add (local.get $add) (i32.shl (local.get $x) (i32.const 2)))))))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $s)))
        (f64.store (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3)))
          (f64.sub (local.get $s) (f64.promote_f32 (f32.load (i32.add (local.get $sub) (i32.shl (local.get $x) (i32.const 2))))))))))

  ;; tmp = the row-wise running-window sums of a (f64 accumulator per row): the window's leading edge
  ;; enters at x + r and its trailing edge leaves after x - r, in three spans with no test per texel.
  (func $boxRows (param $a i32) (param $tmp i32) (param $S i32) (param $r i32)
    (local $y i32) (local $x i32) (local $src i32) (local $dst i32) (local $acc f64) (local $end i32) (local $rb i32)
    (local.set $rb (i32.shl (local.get $r) (i32.const 2)))
    (local.set $end (i32.sub (local.get $S) (local.get $r)))
    (loop $ly
      (local.set $src (i32.add (local.get $a) (i32.shl (i32.mul (local.get $y) (local.get $S)) (i32.const 2))))
      (local.set $dst (i32.add (local.get $tmp) (i32.shl (i32.mul (local.get $y) (local.get $S)) (i32.const 2))))
      (local.set $acc (f64.const 0))
      (local.set $x (i32.const 0))
      (block $d0
        (loop $l0
          (br_if $d0 (i32.ge_u (local.get $x) (local.get $r)))
          (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2)))))))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $l0)))
      (local.set $x (i32.const 0))
      (block $d1
        (loop $l1
          (br_if $d1 (i32.ge_u (local.get $x) (local.get $r)))
          (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2)))))))
          (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $l1)))
      (block $d2
        (loop $l2
          (br_if $d2 (i32.ge_u (local.get $x) (local.get $end)))
          (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2)))))))
          (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
          (local.set $acc (f64.sub (local.get $acc) (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb))))))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $l2)))
      (block $d3
        (loop $l3
          (br_if $d3 (i32.ge_u (local.get $x) (local.get $S)))
          (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
          (local.set $acc (f64.sub (local.get $acc) (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb))))))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $l3)))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $S)))))

  ;; gainField: dst = src (RGB bytes, size x size) times a per-channel gain upsampled from a G x G grid,
  ;; through a table: dst = table[(row << 8) | src], row = trunc(the gain's bilinear table row + 0.5).
  ;; `gain` holds each grid texel's three table rows (f32); the taps are bilinear-taps.ts's for G -> size,
  ;; `runs` their runs (nRuns entries, the last = size). Separably, like albedo.ts had it: each output
  ;; row blends its two grid rows into `row` (3G f32, rounded to f32 as the JavaScript stored it), then
  ;; each run of columns blends its two cells; in f64 as JavaScript computed, so the bytes are the same.
  (func (export "gainField") (param $src i32) (param $dst i32) (param $size i32) (param $gain i32) (param $G i32)
        (param $at0 i32) (param $at1 i32) (param $frac i32) (param $runs i32) (param $nRuns i32) (param $table i32) (param $row i32)
    (local $y i32) (local $i i32) (local $n i32) (local $sy f64) (local $fl f64) (local $ay f64) (local $r0 i32) (local $r1 i32) (local $g f64)
    (local $r i32) (local $x i32) (local $x1 i32) (local $p0 i32) (local $p1 i32) (local $o i32) (local $ax f64)
    (local $a0 f64) (local $ad f64) (local $b0 f64) (local $bd f64) (local $c0 f64) (local $cd f64)
    (local.set $n (i32.mul (i32.const 3) (local.get $G)))
    (loop $ly
      (local.set $sy (f64.min (f64.convert_i32_u (i32.sub (local.get $G) (i32.const 1)))
        (f64.max (f64.const 0) (f64.sub (f64.mul (f64.add (f64.convert_i32_u (local.get $y)) (f64.const 0.5))
          (f64.div (f64.convert_i32_u (local.get $G)) (f64.convert_i32_u (local.get $size)))) (f64.const 0.5)))))
      (local.set $fl (f64.floor (local.get $sy)))
      (local.set $ay (f64.sub (local.get $sy) (local.get $fl)))
      (local.set $r0 (i32.add (local.get $gain) (i32.shl (i32.mul (i32.trunc_f64_u (local.get $fl)) (local.get $n)) (i32.const 2))))
      (local.set $r1 (select (i32.add (local.get $r0) (i32.shl (local.get $n) (i32.const 2))) (local.get $r0)
        (i32.lt_u (i32.add (i32.trunc_f64_u (local.get $fl)) (i32.const 1)) (local.get $G))))
      (local.set $i (i32.const 0))
      (loop $lb
        (local.set $g (f64.promote_f32 (f32.load (i32.add (local.get $r0) (local.get $i)))))
        (f32.store (i32.add (local.get $row) (local.get $i))
          (f32.demote_f64 (f64.add (f64.add (local.get $g) (f64.mul (local.get $ay) (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $r1) (local.get $i)))) (local.get $g)))) (f64.const 0.5))))
        (br_if $lb (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.shl (local.get $n) (i32.const 2)))))
      (local.set $r (i32.const 0))
      (loop $lr
        (local.set $x (i32.load (i32.add (local.get $runs) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $x1 (i32.load (i32.add (local.get $runs) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))))
        (local.set $p0 (i32.add (local.get $row) (i32.mul (i32.load (i32.add (local.get $at0) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 12))))
        (local.set $p1 (i32.add (local.get $row) (i32.mul (i32.load (i32.add (local.get $at1) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 12))))
        (local.set $a0 (f64.promote_f32 (f32.load (local.get $p0))))
        (local.set $ad (f64.sub (f64.promote_f32 (f32.load (local.get $p1))) (local.get $a0)))
        (local.set $b0 (f64.promote_f32 (f32.load offset=4 (local.get $p0))))
        (local.set $bd (f64.sub (f64.promote_f32 (f32.load offset=4 (local.get $p1))) (local.get $b0)))
        (local.set $c0 (f64.promote_f32 (f32.load offset=8 (local.get $p0))))
        (local.set $cd (f64.sub (f64.promote_f32 (f32.load offset=8 (local.get $p1))) (local.get $c0)))
        (local.set $o (i32.mul (i32.add (i32.mul (local.get $y) (local.get $size)) (local.get $x)) (i32.const 3)))
        (loop $lx
          (local.set $ax (f64.promote_f32 (f32.load (i32.add (local.get $frac) (i32.shl (local.get $x) (i32.const 2))))))
          (i32.store8 (i32.add (local.get $dst) (local.get $o)) (i32.load8_u (i32.add (local.get $table)
            (i32.or (i32.shl (i32.trunc_sat_f64_s (f64.add (local.get $a0) (f64.mul (local.get $ax) (local.get $ad)))) (i32.const 8)) (i32.load8_u (i32.add (local.get $src) (local.get $o)))))))
          (i32.store8 offset=1 (i32.add (local.get $dst) (local.get $o)) (i32.load8_u (i32.add (local.get $table)
            (i32.or (i32.shl (i32.trunc_sat_f64_s (f64.add (local.get $b0) (f64.mul (local.get $ax) (local.get $bd)))) (i32.const 8)) (i32.load8_u offset=1 (i32.add (local.get $src) (local.get $o)))))))
          (i32.store8 offset=2 (i32.add (local.get $dst) (local.get $o)) (i32.load8_u (i32.add (local.get $table)
            (i32.or (i32.shl (i32.trunc_sat_f64_s (f64.add (local.get $c0) (f64.mul (local.get $ax) (local.get $cd)))) (i32.const 8)) (i32.load8_u offset=2 (i32.add (local.get $src) (local.get $o)))))))
          (local.set $o (i32.add (local.get $o) (i32.const 3)))
          (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $x1))))
        (br_if $lr (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (i32.sub (local.get $nRuns) (i32.const 1)))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $size)))))

  ;; screenedSfsCg: Jacobi-preconditioned conjugate gradients for sfs-solve.ts's screened problem, on the
  ;; grid itself rather than a compact numbering, four texels at a time in f32 (dot products in f64).
  ;; The grid is padded: rows of P >= S + 1 floats (P % 4 == 0), one zero row above and below, so that
  ;; every texel's right, lower, left and upper neighbours are loads at fixed offsets and off the chart
  ;; reads 0. `blk` holds 14 arrays of `stride` bytes each, every one starting with its zero row:
  ;;   0 m (1 on the chart)  1 W  2 aU  3 aV  4 alpha m  5 1 / diag (0 off the chart)  6 h (the start;
  ;;   the result)  7 res  8 z  9 dir  10 A dir  11 qx  12 qy  13 b
  ;; with W, aU, aV, h and b 0 off the chart and rows -1 and S of every array 0. Returns the iterations
  ;; run; the relative residual |res| / |b| is stored as f64 at `relOut`.
  (func (export "screenedSfsCg") (param $blk i32) (param $stride i32) (param $P i32) (param $S i32) (param $beta f32)
        (param $maxIt i32) (param $tol f64) (param $relOut i32) (result i32)
    (local $n i32) (local $k i32) (local $it i32) (local $rz f64) (local $rzNew f64) (local $rr f64) (local $dAd f64) (local $bNorm f64) (local $rel f64)
    (local $step v128) (local $g v128) (local $r v128) (local $z v128) (local $acc1 v128) (local $acc2 v128)
    (local $H i32) (local $RES i32) (local $Z i32) (local $DIR i32) (local $AD i32) (local $INV i32) (local $B i32) (local $row i32)
    (local.set $n (i32.shl (i32.mul (local.get $S) (local.get $P)) (i32.const 2)))
    (local.set $row (i32.shl (local.get $P) (i32.const 2)))
    (local.set $INV (i32.add (i32.add (local.get $blk) (i32.mul (i32.const 5) (local.get $stride))) (local.get $row)))
    (local.set $H (i32.add (i32.add (local.get $blk) (i32.mul (i32.const 6) (local.get $stride))) (local.get $row)))
    (local.set $RES (i32.add (local.get $H) (local.get $stride)))
    (local.set $Z (i32.add (local.get $RES) (local.get $stride)))
    (local.set $DIR (i32.add (local.get $Z) (local.get $stride)))
    (local.set $AD (i32.add (local.get $DIR) (local.get $stride)))
    (local.set $B (i32.add (i32.add (local.get $blk) (i32.mul (i32.const 13) (local.get $stride))) (local.get $row)))
    (local.set $bNorm (f64.sqrt (call $dot (local.get $B) (local.get $B) (local.get $n))))
    ;; No right-hand side: the minimiser is h = 0, whatever the start.
    (if (f64.eq (local.get $bNorm) (f64.const 0))
      (then (memory.fill (local.get $H) (i32.const 0) (local.get $n)) (f64.store (local.get $relOut) (f64.const 0)) (return (i32.const 0))))
    ;; res = b - A h; z = res / diag; dir = z; rz = res . z
    (call $sfsApply (local.get $blk) (local.get $stride) (local.get $P) (local.get $n) (i32.const 6) (local.get $beta))
    (local.set $acc1 (v128.const f64x2 0 0))
    (local.set $k (i32.const 0))
    (loop $l0
      (local.set $r (f32x4.sub (v128.load (i32.add (local.get $B) (local.get $k))) (v128.load (i32.add (local.get $AD) (local.get $k)))))
      (local.set $z (f32x4.mul (local.get $r) (v128.load (i32.add (local.get $INV) (local.get $k)))))
      (v128.store (i32.add (local.get $RES) (local.get $k)) (local.get $r))
      (v128.store (i32.add (local.get $Z) (local.get $k)) (local.get $z))
      (v128.store (i32.add (local.get $DIR) (local.get $k)) (local.get $z))
      (local.set $acc1 (call $dotStep (local.get $acc1) (local.get $r) (local.get $z)))
      (br_if $l0 (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n))))
    (local.set $rz (f64.add (f64x2.extract_lane 0 (local.get $acc1)) (f64x2.extract_lane 1 (local.get $acc1))))
    (local.set $rel (f64.const 1))
    (block $done
      (loop $iter
        (br_if $done (i32.ge_u (local.get $it) (local.get $maxIt)))
        (call $sfsApply (local.get $blk) (local.get $stride) (local.get $P) (local.get $n) (i32.const 9) (local.get $beta))
        (local.set $dAd (call $dot (local.get $DIR) (local.get $AD) (local.get $n)))
        (br_if $done (f64.le (local.get $dAd) (f64.const 0)))
        (local.set $step (f32x4.splat (f32.demote_f64 (f64.div (local.get $rz) (local.get $dAd)))))
        ;; h += step dir; res -= step A dir; z = res / diag; with |res|^2 and res . z
        (local.set $acc1 (v128.const f64x2 0 0))
        (local.set $acc2 (v128.const f64x2 0 0))
        (local.set $k (i32.const 0))
        (loop $l1
          (v128.store (i32.add (local.get $H) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $H) (local.get $k))) (f32x4.mul (local.get $step) (v128.load (i32.add (local.get $DIR) (local.get $k))))))
          (local.set $r (f32x4.sub (v128.load (i32.add (local.get $RES) (local.get $k))) (f32x4.mul (local.get $step) (v128.load (i32.add (local.get $AD) (local.get $k))))))
          (v128.store (i32.add (local.get $RES) (local.get $k)) (local.get $r))
          (local.set $z (f32x4.mul (local.get $r) (v128.load (i32.add (local.get $INV) (local.get $k)))))
          (v128.store (i32.add (local.get $Z) (local.get $k)) (local.get $z))
          (local.set $acc1 (call $dotStep (local.get $acc1) (local.get $r) (local.get $r)))
          (local.set $acc2 (call $dotStep (local.get $acc2) (local.get $r) (local.get $z)))
          (br_if $l1 (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n))))
        (local.set $rr (f64.add (f64x2.extract_lane 0 (local.get $acc1)) (f64x2.extract_lane 1 (local.get $acc1))))
        (local.set $rzNew (f64.add (f64x2.extract_lane 0 (local.get $acc2)) (f64x2.extract_lane 1 (local.get $acc2))))
        (local.set $it (i32.add (local.get $it) (i32.const 1)))
        (local.set $rel (f64.div (f64.sqrt (local.get $rr)) (local.get $bNorm)))
        (br_if $done (f64.lt (local.get $rel) (local.get $tol)))
        (local.set $g (f32x4.splat (f32.demote_f64 (f64.div (local.get $rzNew) (local.get $rz)))))
        (local.set $rz (local.get $rzNew))
        (local.set $k (i32.const 0))
        (loop $l2
          (v128.store (i32.add (local.get $DIR) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $Z) (local.get $k))) (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $DIR) (local.get $k))))))
          (br_if $l2 (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n))))
        (br $iter)))
    (f64.store (local.get $relOut) (local.get $rel))
    (local.get $it))

  ;; acc + a * b over four f32 lanes, in two f64x2 halves.
  (func $dotStep (param $acc v128) (param $a v128) (param $b v128) (result v128)
    (local $p v128)
    (local.set $p (f32x4.mul (local.get $a) (local.get $b)))
    (f64x2.add (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (local.get $p)))
      (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p) (local.get $p)))))

  ;; a . b over n bytes of f32 (n % 16 == 0), accumulated in f64.
  (func $dot (param $a i32) (param $b i32) (param $n i32) (result f64)
    (local $k i32) (local $acc v128)
    (loop $l
      (local.set $acc (call $dotStep (local.get $acc) (v128.load (i32.add (local.get $a) (local.get $k))) (v128.load (i32.add (local.get $b) (local.get $k)))))
      (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n))))
    (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))

  ;; A x into array 10 (A dir), x = array `xi`: the screened operator sfs-solve.ts states,
  ;; A x = Dx' (W aU e + alpha Dx x) + Dy' (W aV e + alpha Dy x) + beta x, e = aU Dx x + aV Dy x, forward
  ;; differences, on the chart only. First each texel's two fluxes q (0 off the chart), then each
  ;; texel gathers its own and its left and upper neighbours' (the transposes of the differences).
  (func $sfsApply (param $blk i32) (param $stride i32) (param $P i32) (param $n i32) (param $xi i32) (param $beta f32)
    (local $k i32) (local $row i32) (local $X i32) (local $M i32) (local $W i32) (local $U i32) (local $V i32) (local $AM i32) (local $OUT i32) (local $QX i32) (local $QY i32)
    (local $x v128) (local $dx v128) (local $dy v128) (local $e v128) (local $u v128) (local $v v128) (local $am v128) (local $bt v128)
    (local.set $row (i32.shl (local.get $P) (i32.const 2)))
    (local.set $M (i32.add (local.get $blk) (local.get $row)))
    (local.set $W (i32.add (local.get $M) (local.get $stride)))
    (local.set $U (i32.add (local.get $W) (local.get $stride)))
    (local.set $V (i32.add (local.get $U) (local.get $stride)))
    (local.set $AM (i32.add (local.get $V) (local.get $stride)))
    (local.set $X (i32.add (local.get $M) (i32.mul (local.get $xi) (local.get $stride))))
    (local.set $OUT (i32.add (local.get $M) (i32.mul (i32.const 10) (local.get $stride))))
    (local.set $QX (i32.add (local.get $OUT) (local.get $stride)))
    (local.set $QY (i32.add (local.get $QX) (local.get $stride)))
    (local.set $bt (f32x4.splat (local.get $beta)))
    (loop $l1
      (local.set $x (v128.load (i32.add (local.get $X) (local.get $k))))
      (local.set $dx (f32x4.sub (v128.load offset=4 (i32.add (local.get $X) (local.get $k))) (local.get $x)))
      (local.set $dy (f32x4.sub (v128.load (i32.add (i32.add (local.get $X) (local.get $k)) (local.get $row))) (local.get $x)))
      (local.set $u (v128.load (i32.add (local.get $U) (local.get $k))))
      (local.set $v (v128.load (i32.add (local.get $V) (local.get $k))))
      (local.set $am (v128.load (i32.add (local.get $AM) (local.get $k))))
      (local.set $e (f32x4.mul (v128.load (i32.add (local.get $W) (local.get $k))) (f32x4.add (f32x4.mul (local.get $u) (local.get $dx)) (f32x4.mul (local.get $v) (local.get $dy)))))
      (v128.store (i32.add (local.get $QX) (local.get $k)) (f32x4.add (f32x4.mul (local.get $u) (local.get $e)) (f32x4.mul (local.get $am) (local.get $dx))))
      (v128.store (i32.add (local.get $QY) (local.get $k)) (f32x4.add (f32x4.mul (local.get $v) (local.get $e)) (f32x4.mul (local.get $am) (local.get $dy))))
      (br_if $l1 (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n))))
    (local.set $k (i32.const 0))
    (loop $l2
      (v128.store (i32.add (local.get $OUT) (local.get $k))
        (f32x4.mul (v128.load (i32.add (local.get $M) (local.get $k)))
          (f32x4.add
            (f32x4.sub (f32x4.mul (local.get $bt) (v128.load (i32.add (local.get $X) (local.get $k))))
              (f32x4.add (v128.load (i32.add (local.get $QX) (local.get $k))) (v128.load (i32.add (local.get $QY) (local.get $k)))))
            (f32x4.add (v128.load (i32.sub (i32.add (local.get $QX) (local.get $k)) (i32.const 4)))
              (v128.load (i32.sub (i32.add (local.get $QY) (local.get $k)) (local.get $row)))))))
      (br_if $l2 (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $n)))))

  ;; detailMaps: the tangent-space normal map and the grey displacement map (RGB bytes, size x size)
  ;; from three S x S f32 planes at `planes` (slope x, slope y, height), bilinear with texel centres
  ;; aligned: first along x into `wide` (3 planes of S x size f32, the column taps at0 / at1 / frac from
  ;; bilinear-taps.ts), then along y four texels at a time. Per texel, in f32:
  ;;   l = 127.5 / sqrt(gx^2 + gy^2 + 1); normal = trunc(128 + gx l, 128 + gy l, 128 + l);
  ;;   displacement = trunc(clamp(128.5 + h dScale, 0, 255)).
  ;; Preconditions: size % 4 == 0, S <= size; each output has 4 writable bytes past its end (the last
  ;; 16-byte store of a row spills 4 bytes that the next store or the caller's padding takes).
  (func (export "detailMaps") (param $planes i32) (param $S i32) (param $size i32) (param $at0 i32) (param $at1 i32) (param $frac i32)
        (param $wide i32) (param $dScale f32) (param $nd i32) (param $dd i32)
    (call $upsampleColumns (local.get $planes) (local.get $S) (local.get $size) (local.get $at0) (local.get $at1) (local.get $frac) (local.get $wide))
    (call $encodeRows (local.get $wide) (local.get $S) (local.get $size) (local.get $dScale) (local.get $nd) (local.get $dd)))

  (func $upsampleColumns (param $planes i32) (param $S i32) (param $size i32) (param $at0 i32) (param $at1 i32) (param $frac i32) (param $out i32)
    (local $y i32) (local $x i32) (local $row i32) (local $a f32) (local $rows i32)
    (local.set $rows (i32.mul (i32.const 3) (local.get $S)))
    (loop $ly
      (local.set $row (i32.add (local.get $planes) (i32.shl (i32.mul (local.get $y) (local.get $S)) (i32.const 2))))
      (local.set $x (i32.const 0))
      (loop $lx
        (local.set $a (f32.load (i32.add (local.get $row) (i32.shl (i32.load (i32.add (local.get $at0) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 2)))))
        (f32.store (local.get $out)
          (f32.add (local.get $a) (f32.mul (f32.load (i32.add (local.get $frac) (i32.shl (local.get $x) (i32.const 2))))
            (f32.sub (f32.load (i32.add (local.get $row) (i32.shl (i32.load (i32.add (local.get $at1) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 2)))) (local.get $a)))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $size))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $rows)))))

  (func $encodeRows (param $wide i32) (param $S i32) (param $size i32) (param $dScale f32) (param $nd i32) (param $dd i32)
    (local $y i32) (local $x i32) (local $sy f64) (local $y0 i32) (local $ay v128) (local $p0 i32) (local $p1 i32) (local $plane i32) (local $o i32)
    (local $gx v128) (local $gy v128) (local $hh v128) (local $a v128) (local $il v128) (local $rg v128) (local $bb v128) (local $d v128) (local $ds v128)
    (local.set $plane (i32.shl (i32.mul (local.get $S) (local.get $size)) (i32.const 2)))
    (local.set $ds (f32x4.splat (local.get $dScale)))
    (loop $ly
      ;; The output row's two grid rows and weight: sy = clamp((y + 0.5) S / size - 0.5, 0, S - 1).
      (local.set $sy (f64.min (f64.convert_i32_u (i32.sub (local.get $S) (i32.const 1)))
        (f64.max (f64.const 0) (f64.sub (f64.div (f64.mul (f64.add (f64.convert_i32_u (local.get $y)) (f64.const 0.5)) (f64.convert_i32_u (local.get $S))) (f64.convert_i32_u (local.get $size))) (f64.const 0.5)))))
      (local.set $y0 (i32.trunc_f64_u (local.get $sy)))
      (local.set $ay (f32x4.splat (f32.demote_f64 (f64.sub (local.get $sy) (f64.floor (local.get $sy))))))
      (local.set $p0 (i32.add (local.get $wide) (i32.shl (i32.mul (local.get $y0) (local.get $size)) (i32.const 2))))
      ;; The second row clamps at the last (where its weight is 0 anyway).
      (local.set $p1 (select (i32.add (local.get $p0) (i32.shl (local.get $size) (i32.const 2))) (local.get $p0)
        (i32.lt_u (i32.add (local.get $y0) (i32.const 1)) (local.get $S))))
      (local.set $o (i32.mul (i32.mul (local.get $y) (local.get $size)) (i32.const 3)))
      (local.set $x (i32.const 0))
      (loop $lx
        (local.set $a (v128.load (local.get $p0)))
        (local.set $gx (f32x4.add (local.get $a) (f32x4.mul (local.get $ay) (f32x4.sub (v128.load (local.get $p1)) (local.get $a)))))
        (local.set $a (v128.load (i32.add (local.get $p0) (local.get $plane))))
        (local.set $gy (f32x4.add (local.get $a) (f32x4.mul (local.get $ay) (f32x4.sub (v128.load (i32.add (local.get $p1) (local.get $plane))) (local.get $a)))))
        (local.set $a (v128.load (i32.add (local.get $p0) (i32.shl (local.get $plane) (i32.const 1)))))
        (local.set $hh (f32x4.add (local.get $a) (f32x4.mul (local.get $ay) (f32x4.sub (v128.load (i32.add (local.get $p1) (i32.shl (local.get $plane) (i32.const 1)))) (local.get $a)))))
        (local.set $il (f32x4.div (f32x4.splat (f32.const 127.5))
          (f32x4.sqrt (f32x4.add (f32x4.add (f32x4.mul (local.get $gx) (local.get $gx)) (f32x4.mul (local.get $gy) (local.get $gy))) (f32x4.splat (f32.const 1))))))
        ;; Four texels' R, G, B (each 0.5 .. 255.5 before truncation) narrowed to bytes
        ;; [R0..R3 G0..G3 B0..B3 B0..B3] and interleaved to R0 G0 B0 R1 G1 B1 ...
        (local.set $rg (i16x8.narrow_i32x4_s
          (i32x4.trunc_sat_f32x4_s (f32x4.add (f32x4.splat (f32.const 128)) (f32x4.mul (local.get $gx) (local.get $il))))
          (i32x4.trunc_sat_f32x4_s (f32x4.add (f32x4.splat (f32.const 128)) (f32x4.mul (local.get $gy) (local.get $il))))))
        (local.set $bb (i32x4.trunc_sat_f32x4_s (f32x4.add (f32x4.splat (f32.const 128)) (local.get $il))))
        (local.set $bb (i16x8.narrow_i32x4_s (local.get $bb) (local.get $bb)))
        (v128.store (i32.add (local.get $nd) (local.get $o))
          (i8x16.shuffle 0 4 8 1 5 9 2 6 10 3 7 11 12 13 14 15 (i8x16.narrow_i16x8_u (local.get $rg) (local.get $bb)) (local.get $rg)))
        (local.set $d (i32x4.trunc_sat_f32x4_s (f32x4.min (f32x4.splat (f32.const 255)) (f32x4.max (f32x4.splat (f32.const 0))
          (f32x4.add (f32x4.splat (f32.const 128.5)) (f32x4.mul (local.get $hh) (local.get $ds)))))))
        (local.set $d (i16x8.narrow_i32x4_s (local.get $d) (local.get $d)))
        (v128.store (i32.add (local.get $dd) (local.get $o))
          (i8x16.shuffle 0 0 0 1 1 1 2 2 2 3 3 3 12 13 14 15 (i8x16.narrow_i16x8_u (local.get $d) (local.get $d)) (local.get $d)))
        (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
        (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 12)))
        (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 4))) (local.get $size))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $size)))))
)
