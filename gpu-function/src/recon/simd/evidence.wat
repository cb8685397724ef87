;; The shading detail's evidence on its working grid (shading-detail.ts gatherEvidence).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids
;; row-major. Scalar, in f64 where the JavaScript this replaces computed in f64, rounded to f32 where it
;; stored: the same bits.
(module
  (import "env" "memory" (memory 1))

  ;; sRGB 0..255 to linear light by srgb.ts's table (`steps` entries per level, f64), linearly
  ;; interpolated, the input clamped: srgbToLinearFast.
  (func $toLinear (param $v f64) (param $table i32) (param $steps f64) (result f64)
    (local $x f64) (local $k i32) (local $p i32) (local $t0 f64)
    (local.set $x (f64.mul (if (result f64) (f64.le (local.get $v) (f64.const 0)) (then (f64.const 0))
      (else (if (result f64) (f64.ge (local.get $v) (f64.const 255)) (then (f64.const 255)) (else (local.get $v))))) (local.get $steps)))
    (local.set $k (i32.trunc_sat_f64_s (local.get $x)))
    (local.set $p (i32.add (local.get $table) (i32.shl (local.get $k) (i32.const 3))))
    (local.set $t0 (f64.load (local.get $p)))
    (f64.add (local.get $t0) (f64.mul (f64.sub (local.get $x) (f64.convert_i32_s (local.get $k))) (f64.sub (f64.load offset=8 (local.get $p)) (local.get $t0)))))

  ;; Vertex term `v` (f32 array at p) blended with barycentrics w0, w1, w2 over vertices a, b, c (byte offsets).
  (func $blend (param $p i32) (param $a i32) (param $b i32) (param $c i32) (param $w0 f64) (param $w1 f64) (param $w2 f64) (result f64)
    (f64.add (f64.add (f64.mul (local.get $w0) (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $a)))))
      (f64.mul (local.get $w1) (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $b))))))
      (f64.mul (local.get $w2) (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $c)))))))

  ;; gatherEvidence: per chart texel k < m of the S x S working grid (texels, triangle, b1, b2: its texel
  ;; map; `indices` the mesh's triangles), the vertex terms at its centre (`vt`: six f32 arrays of nv
  ;; each, in the order shade, cu, cv, facing, lu, lv) and, where it faces the camera (n_z > 0.2) and is
  ;; lit, its block of bn x bn tile texels averaged by bake weight. The tile's rows a block reads are
  ;; packed: block row by's dy-th row at (by bn + dy) `size` texels from `color` (RGB f32) and `weight`,
  ;; the block's first column at (x f + b0). Outputs (zero on entry): I, W, s0, aU, aV (f32, S x S),
  ;; active (u8), mean (RGB f32). Returns the sum over the chart texels of the blended lu + lv.
  (func (export "gatherEvidence") (param $texels i32) (param $triangle i32) (param $b1 i32) (param $b2 i32) (param $m i32) (param $indices i32)
        (param $vt i32) (param $nv i32) (param $color i32) (param $weight i32) (param $size i32) (param $S i32) (param $f i32) (param $b0 i32) (param $bn i32)
        (param $table i32) (param $steps f64)
        (param $I i32) (param $W i32) (param $s0 i32) (param $aU i32) (param $aV i32) (param $active i32) (param $mean i32) (result f64)
    (local $k i32) (local $i i32) (local $t i32) (local $a i32) (local $b i32) (local $c i32) (local $o i32) (local $plane i32)
    (local $w0 f64) (local $w1 f64) (local $w2 f64) (local $s f64) (local $facing f64) (local $texelMm f64)
    (local $dy i32) (local $dx i32) (local $j i32) (local $w f64) (local $sw f64) (local $sr f64) (local $sg f64) (local $sb f64)
    (local $mr f64) (local $mg f64) (local $mb f64) (local $Sf f64)
    (local.set $plane (i32.shl (local.get $nv) (i32.const 2)))
    (local.set $Sf (f64.convert_i32_s (local.get $S)))
    (block $done
      (loop $lk
        (br_if $done (i32.ge_u (local.get $k) (local.get $m)))
        (local.set $i (i32.load (i32.add (local.get $texels) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (i32.store8 (i32.add (local.get $active) (local.get $i)) (i32.const 1))
        (local.set $t (i32.add (local.get $indices) (i32.mul (i32.load (i32.add (local.get $triangle) (i32.shl (local.get $k) (i32.const 2)))) (i32.const 12))))
        (local.set $a (i32.shl (i32.load (local.get $t)) (i32.const 2)))
        (local.set $b (i32.shl (i32.load offset=4 (local.get $t)) (i32.const 2)))
        (local.set $c (i32.shl (i32.load offset=8 (local.get $t)) (i32.const 2)))
        (local.set $w1 (f64.promote_f32 (f32.load (i32.add (local.get $b1) (i32.shl (local.get $k) (i32.const 2))))))
        (local.set $w2 (f64.promote_f32 (f32.load (i32.add (local.get $b2) (i32.shl (local.get $k) (i32.const 2))))))
        (local.set $w0 (f64.sub (f64.sub (f64.const 1) (local.get $w1)) (local.get $w2)))
        (local.set $s (call $blend (local.get $vt) (local.get $a) (local.get $b) (local.get $c) (local.get $w0) (local.get $w1) (local.get $w2)))
        (f32.store (i32.add (local.get $s0) (local.get $o)) (f32.demote_f64 (local.get $s)))
        (f32.store (i32.add (local.get $aU) (local.get $o))
          (f32.demote_f64 (f64.mul (call $blend (i32.add (local.get $vt) (local.get $plane)) (local.get $a) (local.get $b) (local.get $c) (local.get $w0) (local.get $w1) (local.get $w2)) (local.get $Sf))))
        (f32.store (i32.add (local.get $aV) (local.get $o))
          (f32.demote_f64 (f64.mul (call $blend (i32.add (local.get $vt) (i32.shl (local.get $plane) (i32.const 1))) (local.get $a) (local.get $b) (local.get $c) (local.get $w0) (local.get $w1) (local.get $w2)) (local.get $Sf))))
        ;; texelMm += w0 (lu + lv)[a] + w1 (lu + lv)[b] + w2 (lu + lv)[c]
        (local.set $texelMm (f64.add (local.get $texelMm)
          (f64.add (f64.add
            (f64.mul (local.get $w0) (f64.add (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $vt) (i32.shl (local.get $plane) (i32.const 2))) (local.get $a))))
              (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $vt) (i32.mul (local.get $plane) (i32.const 5))) (local.get $a))))))
            (f64.mul (local.get $w1) (f64.add (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $vt) (i32.shl (local.get $plane) (i32.const 2))) (local.get $b))))
              (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $vt) (i32.mul (local.get $plane) (i32.const 5))) (local.get $b)))))))
            (f64.mul (local.get $w2) (f64.add (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $vt) (i32.shl (local.get $plane) (i32.const 2))) (local.get $c))))
              (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $vt) (i32.mul (local.get $plane) (i32.const 5))) (local.get $c)))))))))
        (local.set $facing (call $blend (i32.add (local.get $vt) (i32.mul (local.get $plane) (i32.const 3))) (local.get $a) (local.get $b) (local.get $c) (local.get $w0) (local.get $w1) (local.get $w2)))
        (block $skip
          (br_if $skip (i32.or (f64.le (local.get $facing) (f64.const 0.2)) (f64.le (local.get $s) (f64.const 1e-6))))
          (local.set $sw (f64.const 0)) (local.set $sr (f64.const 0)) (local.set $sg (f64.const 0)) (local.set $sb (f64.const 0))
          (local.set $dy (i32.const 0))
          (loop $ly
            ;; j: the block's first texel in its packed row
            (local.set $j (i32.add (i32.mul (i32.add (i32.mul (i32.div_u (local.get $i) (local.get $S)) (local.get $bn)) (local.get $dy)) (local.get $size))
              (i32.add (i32.mul (i32.rem_u (local.get $i) (local.get $S)) (local.get $f)) (local.get $b0))))
            (local.set $dx (i32.const 0))
            (loop $lx
              (local.set $w (f64.promote_f32 (f32.load (i32.add (local.get $weight) (i32.shl (local.get $j) (i32.const 2))))))
              (if (i32.eqz (f64.le (local.get $w) (f64.const 0)))
                (then
                  (local.set $sr (f64.add (local.get $sr) (f64.mul (local.get $w) (f64.promote_f32 (f32.load (i32.add (local.get $color) (i32.mul (local.get $j) (i32.const 12))))))))
                  (local.set $sg (f64.add (local.get $sg) (f64.mul (local.get $w) (f64.promote_f32 (f32.load offset=4 (i32.add (local.get $color) (i32.mul (local.get $j) (i32.const 12))))))))
                  (local.set $sb (f64.add (local.get $sb) (f64.mul (local.get $w) (f64.promote_f32 (f32.load offset=8 (i32.add (local.get $color) (i32.mul (local.get $j) (i32.const 12))))))))
                  (local.set $sw (f64.add (local.get $sw) (local.get $w)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $lx (i32.lt_u (local.tee $dx (i32.add (local.get $dx) (i32.const 1))) (local.get $bn))))
            (br_if $ly (i32.lt_u (local.tee $dy (i32.add (local.get $dy) (i32.const 1))) (local.get $bn))))
          (br_if $skip (f64.le (local.get $sw) (f64.const 0)))
          (local.set $mr (f64.div (local.get $sr) (local.get $sw)))
          (local.set $mg (f64.div (local.get $sg) (local.get $sw)))
          (local.set $mb (f64.div (local.get $sb) (local.get $sw)))
          (f32.store (i32.add (local.get $I) (local.get $o))
            (f32.demote_f64 (f64.add (f64.add
              (f64.mul (f64.const 0.2126) (call $toLinear (local.get $mr) (local.get $table) (local.get $steps)))
              (f64.mul (f64.const 0.7152) (call $toLinear (local.get $mg) (local.get $table) (local.get $steps))))
              (f64.mul (f64.const 0.0722) (call $toLinear (local.get $mb) (local.get $table) (local.get $steps))))))
          (f32.store (i32.add (local.get $mean) (i32.mul (local.get $o) (i32.const 3))) (f32.demote_f64 (local.get $mr)))
          (f32.store offset=4 (i32.add (local.get $mean) (i32.mul (local.get $o) (i32.const 3))) (f32.demote_f64 (local.get $mg)))
          (f32.store offset=8 (i32.add (local.get $mean) (i32.mul (local.get $o) (i32.const 3))) (f32.demote_f64 (local.get $mb)))
          (f32.store (i32.add (local.get $W) (local.get $o))
            (f32.demote_f64 (f64.mul (f64.div (local.get $sw) (f64.convert_i32_s (i32.mul (local.get $bn) (local.get $bn))))
              (if (result f64) (f64.ge (local.get $facing) (f64.const 0.5)) (then (f64.const 1))
                (else (f64.div (f64.sub (local.get $facing) (f64.const 0.2)) (f64.const 0.3))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
    (local.get $texelMm))
)
