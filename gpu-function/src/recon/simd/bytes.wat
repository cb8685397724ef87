;; Float colours to bytes (uv-grid.ts toRgbImage).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it.
(module
  (import "env" "memory" (memory 1))

  ;; toBytes: dst[i] = the byte a Uint8ClampedArray store of src[i] gives (ECMAScript ToUint8Clamp:
  ;; round half to even, clamped to 0..255, NaN to 0), for i < n. Sixteen values a step: f32x4.nearest
  ;; rounds half to even like ToUint8Clamp, the saturating conversion and narrows clamp (NaN becomes 0
  ;; at the conversion), so the bytes are the same as the JavaScript store's. src 16-byte aligned.
  (func (export "toBytes") (param $src i32) (param $dst i32) (param $n i32)
    (local $i i32) (local $blocks i32) (local $s i32) (local $lo v128) (local $hi v128)
    (local.set $blocks (i32.and (local.get $n) (i32.const -16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $blocks)))
        (local.set $s (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $lo (i16x8.narrow_i32x4_s
          (i32x4.trunc_sat_f32x4_s (f32x4.nearest (v128.load offset=0 (local.get $s))))
          (i32x4.trunc_sat_f32x4_s (f32x4.nearest (v128.load offset=16 (local.get $s))))))
        (local.set $hi (i16x8.narrow_i32x4_s
          (i32x4.trunc_sat_f32x4_s (f32x4.nearest (v128.load offset=32 (local.get $s))))
          (i32x4.trunc_sat_f32x4_s (f32x4.nearest (v128.load offset=48 (local.get $s))))))
        (v128.store (i32.add (local.get $dst) (local.get $i)) (i8x16.narrow_i16x8_u (local.get $lo) (local.get $hi)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l)))
    ;; The tail, one value at a time through the same conversions.
    (block $tail
      (loop $t
        (br_if $tail (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $lo (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.splat (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))))))
        (local.set $lo (i16x8.narrow_i32x4_s (local.get $lo) (local.get $lo)))
        (i32.store8 (i32.add (local.get $dst) (local.get $i)) (i8x16.extract_lane_u 0 (i8x16.narrow_i16x8_u (local.get $lo) (local.get $lo))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $t))))
)
