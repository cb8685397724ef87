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
)
