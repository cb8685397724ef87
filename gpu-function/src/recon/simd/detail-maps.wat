;; The normal and displacement maps from the working grid (detail-maps.ts).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids
;; row-major.
(module
  (import "env" "memory" (memory 1))

  ;; detailMaps: the tangent-space normal map and the grey displacement map (RGB bytes, size x size)
  ;; from three S x S f32 planes at `planes` (slope x, slope y, height), bilinear with texel centres
  ;; aligned: first along x into `wide` (3 planes of S x size f32, the column taps at0 / at1 / frac from
  ;; bilinear-taps.ts and their `runs`), four columns of a run at a time (a run's last group spills
  ;; into the next run, which rewrites it), then along y four texels at a time. Per texel, in f32:
  ;;   l = 127.5 / sqrt(gx^2 + gy^2 + 1); normal = trunc(128 + gx l, 128 + gy l, 128 + l);
  ;;   displacement = trunc(clamp(128.5 + h dScale, 0, 255)).
  ;; Preconditions: size % 4 == 0, S <= size; each output has 4 writable bytes past its end (the last
  ;; 16-byte store of a row spills 4 bytes that the next store or the caller's padding takes); `wide`
  ;; and `frac` have 12 bytes past their ends (a run's last group of four).
  (func (export "detailMaps") (param $planes i32) (param $S i32) (param $size i32) (param $at0 i32) (param $at1 i32) (param $frac i32)
        (param $wide i32) (param $dScale f32) (param $nd i32) (param $dd i32) (param $runs i32) (param $nRuns i32)
    (call $upsampleColumns (local.get $planes) (local.get $S) (local.get $size) (local.get $at0) (local.get $at1) (local.get $frac) (local.get $wide) (local.get $runs) (local.get $nRuns))
    (call $encodeRows (local.get $wide) (local.get $S) (local.get $size) (local.get $dScale) (local.get $nd) (local.get $dd)))

  (func $upsampleColumns (param $planes i32) (param $S i32) (param $size i32) (param $at0 i32) (param $at1 i32) (param $frac i32) (param $out i32)
        (param $runs i32) (param $nRuns i32)
    (local $y i32) (local $x i32) (local $x1 i32) (local $row i32) (local $a f32) (local $d v128) (local $av v128) (local $rows i32) (local $r i32) (local $o i32)
    (local.set $rows (i32.mul (i32.const 3) (local.get $S)))
    (loop $ly
      (local.set $row (i32.add (local.get $planes) (i32.shl (i32.mul (local.get $y) (local.get $S)) (i32.const 2))))
      (local.set $o (i32.add (local.get $out) (i32.shl (i32.mul (local.get $y) (local.get $size)) (i32.const 2))))
      (local.set $r (i32.const 0))
      (loop $lr
        (local.set $x (i32.load (i32.add (local.get $runs) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $x1 (i32.load (i32.add (local.get $runs) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))))
        (local.set $a (f32.load (i32.add (local.get $row) (i32.shl (i32.load (i32.add (local.get $at0) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 2)))))
        (local.set $av (f32x4.splat (local.get $a)))
        (local.set $d (f32x4.splat (f32.sub (f32.load (i32.add (local.get $row) (i32.shl (i32.load (i32.add (local.get $at1) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 2)))) (local.get $a))))
        (loop $lx
          (v128.store (i32.add (local.get $o) (i32.shl (local.get $x) (i32.const 2)))
            (f32x4.add (local.get $av) (f32x4.mul (v128.load (i32.add (local.get $frac) (i32.shl (local.get $x) (i32.const 2)))) (local.get $d))))
          (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 4))) (local.get $x1))))
        (br_if $lr (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (i32.sub (local.get $nRuns) (i32.const 1)))))
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
;; slopeNormals: per chart texel k < nTexels of the S x S working grid (texels, triangle, b1, b2: the
  ;; grid's texel map), the tangent-space normal's x and y for n0 - grad h (detail-maps.ts has the
  ;; definition): central differences of h inside the chart (`act`), one-sided at its border, over the
  ;; texel's size e = the barycentric blend of the per-vertex lu, lv (f32, mm per working texel). nx and
  ;; ny must be zero; they are written where e > 0. In f64 and in the order of the JavaScript it
  ;; replaces, rounded to f32 as stored. Returns max |h| over the chart.
  (func (export "slopeNormals") (param $h i32) (param $act i32) (param $S i32) (param $texels i32) (param $triangle i32) (param $b1 i32) (param $b2 i32)
        (param $nTexels i32) (param $indices i32) (param $lu i32) (param $lv i32) (param $nx i32) (param $ny i32) (result f64)
    (local $k i32) (local $i i32) (local $t i32) (local $a i32) (local $b i32) (local $c i32) (local $x i32) (local $N i32)
    (local $w0 f64) (local $w1 f64) (local $w2 f64) (local $eu f64) (local $ev f64) (local $hi f64) (local $gu f64) (local $gv f64)
    (local $l i32) (local $rr i32) (local $up i32) (local $dn i32) (local $m f32) (local $hm f32)
    (local.set $N (i32.mul (local.get $S) (local.get $S)))
    (block $done
      (loop $lk
        (br_if $done (i32.ge_u (local.get $k) (local.get $nTexels)))
        (local.set $i (i32.load (i32.add (local.get $texels) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $t (i32.add (local.get $indices) (i32.mul (i32.load (i32.add (local.get $triangle) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 12))))
        (local.set $a (i32.shl (i32.load (local.get $t)) (i32.const 2)))
        (local.set $b (i32.shl (i32.load offset=4 (local.get $t)) (i32.const 2)))
        (local.set $c (i32.shl (i32.load offset=8 (local.get $t)) (i32.const 2)))
        (local.set $w1 (f64.promote_f32 (f32.load (i32.add (local.get $b1) (i32.shl (local.get $k) (i32.const 2))))))
        (local.set $w2 (f64.promote_f32 (f32.load (i32.add (local.get $b2) (i32.shl (local.get $k) (i32.const 2))))))
        (local.set $w0 (f64.sub (f64.sub (f64.const 1) (local.get $w1)) (local.get $w2)))
        (local.set $eu (f64.add (f64.add (f64.mul (local.get $w0) (f64.promote_f32 (f32.load (i32.add (local.get $lu) (local.get $a)))))
          (f64.mul (local.get $w1) (f64.promote_f32 (f32.load (i32.add (local.get $lu) (local.get $b))))))
          (f64.mul (local.get $w2) (f64.promote_f32 (f32.load (i32.add (local.get $lu) (local.get $c)))))))
        (local.set $ev (f64.add (f64.add (f64.mul (local.get $w0) (f64.promote_f32 (f32.load (i32.add (local.get $lv) (local.get $a)))))
          (f64.mul (local.get $w1) (f64.promote_f32 (f32.load (i32.add (local.get $lv) (local.get $b))))))
          (f64.mul (local.get $w2) (f64.promote_f32 (f32.load (i32.add (local.get $lv) (local.get $c)))))))
        (local.set $x (i32.rem_u (local.get $i) (local.get $S)))
        ;; The neighbours on the chart (branches, not selects: a neighbour off the grid is never read).
        (local.set $l (if (result i32) (i32.gt_u (local.get $x) (i32.const 0))
          (then (i32.ne (i32.load8_u (i32.sub (i32.add (local.get $act) (local.get $i)) (i32.const 1))) (i32.const 0))) (else (i32.const 0))))
        (local.set $rr (if (result i32) (i32.lt_u (i32.add (local.get $x) (i32.const 1)) (local.get $S))
          (then (i32.ne (i32.load8_u offset=1 (i32.add (local.get $act) (local.get $i))) (i32.const 0))) (else (i32.const 0))))
        (local.set $up (if (result i32) (i32.ge_u (local.get $i) (local.get $S))
          (then (i32.ne (i32.load8_u (i32.sub (i32.add (local.get $act) (local.get $i)) (local.get $S))) (i32.const 0))) (else (i32.const 0))))
        (local.set $dn (if (result i32) (i32.lt_u (i32.add (local.get $i) (local.get $S)) (local.get $N))
          (then (i32.ne (i32.load8_u (i32.add (i32.add (local.get $act) (local.get $i)) (local.get $S))) (i32.const 0))) (else (i32.const 0))))
        (local.set $hi (f64.promote_f32 (f32.load (i32.add (local.get $h) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $gu (f64.const 0))
        (if (i32.add (local.get $l) (local.get $rr))
          (then (local.set $gu (f64.div
            (f64.sub
              (if (result f64) (local.get $rr) (then (f64.promote_f32 (f32.load offset=4 (i32.add (local.get $h) (i32.shl (local.get $i) (i32.const 2)))))) (else (local.get $hi)))
              (if (result f64) (local.get $l) (then (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $h) (i32.shl (local.get $i) (i32.const 2))) (i32.const 4))))) (else (local.get $hi))))
            (f64.convert_i32_u (i32.add (local.get $l) (local.get $rr)))))))
        (local.set $gv (f64.const 0))
        (if (i32.add (local.get $up) (local.get $dn))
          (then (local.set $gv (f64.div
            (f64.sub
              (if (result f64) (local.get $dn) (then (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $h) (i32.shl (local.get $i) (i32.const 2))) (i32.shl (local.get $S) (i32.const 2)))))) (else (local.get $hi)))
              (if (result f64) (local.get $up) (then (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $h) (i32.shl (local.get $i) (i32.const 2))) (i32.shl (local.get $S) (i32.const 2)))))) (else (local.get $hi))))
            (f64.convert_i32_u (i32.add (local.get $up) (local.get $dn)))))))
        (if (f64.gt (local.get $eu) (f64.const 0))
          (then (f32.store (i32.add (local.get $nx) (i32.shl (local.get $i) (i32.const 2))) (f32.demote_f64 (f64.div (f64.neg (local.get $gu)) (local.get $eu))))))
        (if (f64.gt (local.get $ev) (f64.const 0))
          (then (f32.store (i32.add (local.get $ny) (i32.shl (local.get $i) (i32.const 2))) (f32.demote_f64 (f64.div (local.get $gv) (local.get $ev))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
    ;; max |h| over the chart
    (local.set $i (i32.const 0))
    (block $mdone
      (loop $lm
        (br_if $mdone (i32.ge_u (local.get $i) (local.get $N)))
        (if (i32.load8_u (i32.add (local.get $act) (local.get $i)))
          (then
            (local.set $hm (f32.abs (f32.load (i32.add (local.get $h) (i32.shl (local.get $i) (i32.const 2))))))
            (if (f32.gt (local.get $hm) (local.get $m)) (then (local.set $m (local.get $hm))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $lm)))
    (f64.promote_f32 (local.get $m)))
)
