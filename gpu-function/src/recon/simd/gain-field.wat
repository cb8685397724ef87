;; The albedo's gain field through the gain table (albedo.ts).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids
;; row-major.
(module
  (import "env" "memory" (memory 1))

  ;; gainField: dst = src (RGB bytes, size x size) times a per-channel gain upsampled from a G x G grid,
  ;; through a table: dst = table[(row << 8) | src], row = trunc(the gain's bilinear table row + 0.5).
  ;; `gain` holds each grid texel's three table rows (f32); the taps are bilinear-taps.ts's for G -> size,
  ;; `runs` their runs (nRuns entries, the last = size). Separably, like albedo.ts had it: each output
  ;; row blends its two grid rows into `row` (3G f32, rounded to f32 as the JavaScript stored it), then
  ;; each run of columns blends its two cells; in f64 as JavaScript computed, so the bytes are the same.
  ;; The blend is two columns per f64x2 (a run's odd last column is computed with its cells and then
  ;; overwritten by the next run, which starts there) into `idx`, three planes (R, G, B) of size + 4
  ;; i32 table offsets (row << 8), and only then the table, one byte loop per output row: the
  ;; arithmetic and the lookups no longer share a loop (the kernel alone at 1024: 8.0 -> 5.9 ms, the
  ;; same bytes). `frac` must be readable 4 bytes past size.
  (func (export "gainField") (param $src i32) (param $dst i32) (param $size i32) (param $gain i32) (param $G i32)
        (param $at0 i32) (param $at1 i32) (param $frac i32) (param $runs i32) (param $nRuns i32) (param $table i32) (param $row i32) (param $idx i32)
    (local $y i32) (local $i i32) (local $n i32) (local $sy f64) (local $fl f64) (local $ay f64) (local $r0 i32) (local $r1 i32) (local $g f64)
    (local $r i32) (local $x i32) (local $x1 i32) (local $p0 i32) (local $p1 i32) (local $o i32) (local $ax f64)
    (local $va0 v128) (local $vad v128) (local $vb0 v128) (local $vbd v128) (local $vc0 v128) (local $vcd v128) (local $vax v128) (local $stride i32)
    (local.set $n (i32.mul (i32.const 3) (local.get $G)))
    (local.set $stride (i32.shl (i32.add (local.get $size) (i32.const 4)) (i32.const 2)))
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
        (local.set $va0 (f64x2.splat (f64.promote_f32 (f32.load (local.get $p0)))))
        (local.set $vad (f64x2.sub (f64x2.splat (f64.promote_f32 (f32.load (local.get $p1)))) (local.get $va0)))
        (local.set $vb0 (f64x2.splat (f64.promote_f32 (f32.load offset=4 (local.get $p0)))))
        (local.set $vbd (f64x2.sub (f64x2.splat (f64.promote_f32 (f32.load offset=4 (local.get $p1)))) (local.get $vb0)))
        (local.set $vc0 (f64x2.splat (f64.promote_f32 (f32.load offset=8 (local.get $p0)))))
        (local.set $vcd (f64x2.sub (f64x2.splat (f64.promote_f32 (f32.load offset=8 (local.get $p1)))) (local.get $vc0)))
        (loop $lx
          (local.set $o (i32.shl (local.get $x) (i32.const 2)))
          (local.set $vax (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $frac) (local.get $o)))))
          (v128.store64_lane 0 (i32.add (local.get $idx) (local.get $o))
            (i32x4.shl (i32x4.trunc_sat_f64x2_s_zero (f64x2.add (local.get $va0) (f64x2.mul (local.get $vax) (local.get $vad)))) (i32.const 8)))
          (v128.store64_lane 0 (i32.add (i32.add (local.get $idx) (local.get $stride)) (local.get $o))
            (i32x4.shl (i32x4.trunc_sat_f64x2_s_zero (f64x2.add (local.get $vb0) (f64x2.mul (local.get $vax) (local.get $vbd)))) (i32.const 8)))
          (v128.store64_lane 0 (i32.add (i32.add (local.get $idx) (i32.shl (local.get $stride) (i32.const 1))) (local.get $o))
            (i32x4.shl (i32x4.trunc_sat_f64x2_s_zero (f64x2.add (local.get $vc0) (f64x2.mul (local.get $vax) (local.get $vcd)))) (i32.const 8)))
          (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 2))) (local.get $x1))))
        (br_if $lr (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (i32.sub (local.get $nRuns) (i32.const 1)))))
      ;; Each texel's three bytes through the table at its rows.
      (local.set $o (i32.mul (i32.mul (local.get $y) (local.get $size)) (i32.const 3)))
      (local.set $p0 (local.get $idx))
      (local.set $p1 (i32.add (local.get $idx) (i32.shl (local.get $size) (i32.const 2))))
      (loop $lb2
        (i32.store8 (i32.add (local.get $dst) (local.get $o)) (i32.load8_u (i32.add (i32.add (local.get $table) (i32.load (local.get $p0))) (i32.load8_u (i32.add (local.get $src) (local.get $o))))))
        (i32.store8 offset=1 (i32.add (local.get $dst) (local.get $o)) (i32.load8_u (i32.add (i32.add (local.get $table) (i32.load (i32.add (local.get $p0) (local.get $stride)))) (i32.load8_u offset=1 (i32.add (local.get $src) (local.get $o))))))
        (i32.store8 offset=2 (i32.add (local.get $dst) (local.get $o)) (i32.load8_u (i32.add (i32.add (local.get $table) (i32.load (i32.add (local.get $p0) (i32.shl (local.get $stride) (i32.const 1))))) (i32.load8_u offset=2 (i32.add (local.get $src) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 3)))
        (br_if $lb2 (i32.lt_u (local.tee $p0 (i32.add (local.get $p0) (i32.const 4))) (local.get $p1))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $size)))))
;; gainRows: in place on n f32 log gains at p, each to its table row (fractional),
  ;; (clamp(g + offset, -limit, limit) + limit) / step, in f64 as albedo.ts computed it and rounded to f32.
  (func (export "gainRows") (param $p i32) (param $n i32) (param $offset f64) (param $limit f64) (param $step f64)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (if (i32.eqz (local.get $n)) (then (return)))
    (loop $l
      (f32.store (local.get $p)
        (f32.demote_f64 (f64.div (f64.add (f64.max (f64.neg (local.get $limit)) (f64.min (local.get $limit)
          (f64.add (f64.promote_f32 (f32.load (local.get $p))) (local.get $offset)))) (local.get $limit)) (local.get $step))))
      (br_if $l (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 4))) (local.get $end)))))
;; liftSplit: s_c = the log gains of channel c (3 per texel at lg) where w > 0; s_c must be zero.
  (func (export "liftSplit") (param $lg i32) (param $w i32) (param $n i32) (param $s0 i32) (param $s1 i32) (param $s2 i32)
    (local $i i32) (local $o i32) (local $p i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (if (i32.eqz (f32.le (f32.load (i32.add (local.get $w) (local.get $o))) (f32.const 0)))
          (then
            (local.set $p (i32.add (local.get $lg) (i32.mul (local.get $o) (i32.const 3))))
            (f32.store (i32.add (local.get $s0) (local.get $o)) (f32.load (local.get $p)))
            (f32.store (i32.add (local.get $s1) (local.get $o)) (f32.load offset=4 (local.get $p)))
            (f32.store (i32.add (local.get $s2) (local.get $o)) (f32.load offset=8 (local.get $p)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))

  ;; liftCap: where w > 0 and den > 0, each channel's log gain := max(0, s_c / den + spike) where it
  ;; exceeds that (s_c the blurred sums, den the blurred chart indicator): albedo.ts limitLocalLift.
  (func (export "liftCap") (param $lg i32) (param $w i32) (param $den i32) (param $n i32) (param $s0 i32) (param $s1 i32) (param $s2 i32) (param $spike f64)
    (local $i i32) (local $o i32) (local $p i32) (local $d f64)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $d (f64.promote_f32 (f32.load (i32.add (local.get $den) (local.get $o)))))
        (if (i32.eqz (i32.or (f32.le (f32.load (i32.add (local.get $w) (local.get $o))) (f32.const 0)) (f64.le (local.get $d) (f64.const 0))))
          (then
            (local.set $p (i32.add (local.get $lg) (i32.mul (local.get $o) (i32.const 3))))
            (call $cap (local.get $p) (f64.add (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $s0) (local.get $o)))) (local.get $d)) (local.get $spike)))
            (call $cap (i32.add (local.get $p) (i32.const 4)) (f64.add (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $s1) (local.get $o)))) (local.get $d)) (local.get $spike)))
            (call $cap (i32.add (local.get $p) (i32.const 8)) (f64.add (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $s2) (local.get $o)))) (local.get $d)) (local.get $spike)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))

  ;; The f32 at p := f32(max(0, c)) when it exceeds c.
  (func $cap (param $p i32) (param $c f64)
    (if (f64.gt (f64.promote_f32 (f32.load (local.get $p))) (local.get $c))
      (then (f32.store (local.get $p) (f32.demote_f64 (f64.max (f64.const 0) (local.get $c)))))))
)
