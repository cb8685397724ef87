;; The normal and displacement maps from the working grid (detail-maps.ts).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids
;; row-major.
(module
  (import "env" "memory" (memory 1))

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
