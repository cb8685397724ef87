;; The shading detail's chroma gate and smooth albedo (shading-detail.ts), per texel; the blurs between
;; these passes are box-sum.wat's.
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids of n
;; f32 texels (the mean colours 3n). Scalar, in f64 where the JavaScript these replace computed in f64,
;; rounded to f32 where it stored: the same bits.
(module
  (import "env" "memory" (memory 1))

  ;; log(max(1e-4, linear)) of an sRGB value by srgb.ts's table (`steps` entries per level, f64),
  ;; linearly interpolated, the input clamped to 0..255: srgbToLogLinearFast.
  (func $logLinear (param $v f64) (param $table i32) (param $steps f64) (result f64)
    (local $x f64) (local $k i32) (local $p i32) (local $t0 f64)
    (local.set $x (f64.mul (if (result f64) (f64.le (local.get $v) (f64.const 0)) (then (f64.const 0))
      (else (if (result f64) (f64.ge (local.get $v) (f64.const 255)) (then (f64.const 255)) (else (local.get $v))))) (local.get $steps)))
    (local.set $k (i32.trunc_sat_f64_s (local.get $x)))
    (local.set $p (i32.add (local.get $table) (i32.shl (local.get $k) (i32.const 3))))
    (local.set $t0 (f64.load (local.get $p)))
    (f64.add (local.get $t0) (f64.mul (f64.sub (local.get $x) (f64.convert_i32_s (local.get $k))) (f64.sub (f64.load offset=8 (local.get $p)) (local.get $t0)))))

  ;; chromaSums: per texel with weight W not <= 0, its log-chromaticity cr = log R/G, cb = log B/G (linear
  ;; light, from the sRGB mean colours) and the weighted sums' seeds sr = W cr, sb = W cb, sw = W; the
  ;; outputs must be zero elsewhere.
  (func (export "chromaSums") (param $mean i32) (param $W i32) (param $n i32) (param $table i32) (param $steps f64)
        (param $cr i32) (param $cb i32) (param $sr i32) (param $sb i32) (param $sw i32)
    (local $i i32) (local $o i32) (local $w f64) (local $g f64)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $w (f64.promote_f32 (f32.load (i32.add (local.get $W) (local.get $o)))))
        (if (i32.eqz (f64.le (local.get $w) (f64.const 0)))
          (then
            (local.set $g (call $logLinear (f64.promote_f32 (f32.load offset=4 (i32.add (local.get $mean) (i32.mul (local.get $o) (i32.const 3))))) (local.get $table) (local.get $steps)))
            (f32.store (i32.add (local.get $cr) (local.get $o))
              (f32.demote_f64 (f64.sub (call $logLinear (f64.promote_f32 (f32.load (i32.add (local.get $mean) (i32.mul (local.get $o) (i32.const 3))))) (local.get $table) (local.get $steps)) (local.get $g))))
            (f32.store (i32.add (local.get $cb) (local.get $o))
              (f32.demote_f64 (f64.sub (call $logLinear (f64.promote_f32 (f32.load offset=8 (i32.add (local.get $mean) (i32.mul (local.get $o) (i32.const 3))))) (local.get $table) (local.get $steps)) (local.get $g))))
            (f32.store (i32.add (local.get $sr) (local.get $o)) (f32.demote_f64 (f64.mul (local.get $w) (f64.promote_f32 (f32.load (i32.add (local.get $cr) (local.get $o)))))))
            (f32.store (i32.add (local.get $sb) (local.get $o)) (f32.demote_f64 (f64.mul (local.get $w) (f64.promote_f32 (f32.load (i32.add (local.get $cb) (local.get $o)))))))
            (f32.store (i32.add (local.get $sw) (local.get $o)) (f32.load (i32.add (local.get $W) (local.get $o))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))

  ;; chromaGate: W *= 1 - smoothstep(e0, e1, d) where neither W nor the blurred sw is <= 0, d the distance of
  ;; (cr, cb) from the neighbourhood's weighted mean (sr / sw, sb / sw).
  (func (export "chromaGate") (param $W i32) (param $n i32) (param $cr i32) (param $cb i32) (param $sr i32) (param $sb i32) (param $sw i32) (param $e0 f64) (param $e1 f64)
    (local $i i32) (local $o i32) (local $s f64) (local $er f64) (local $eb f64) (local $t f64)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $s (f64.promote_f32 (f32.load (i32.add (local.get $sw) (local.get $o)))))
        (if (i32.eqz (i32.or (f64.le (f64.promote_f32 (f32.load (i32.add (local.get $W) (local.get $o)))) (f64.const 0)) (f64.le (local.get $s) (f64.const 0))))
          (then
            (local.set $er (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $cr) (local.get $o)))) (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $sr) (local.get $o)))) (local.get $s))))
            (local.set $eb (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $cb) (local.get $o)))) (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $sb) (local.get $o)))) (local.get $s))))
            ;; smoothstep.ts: t = min(1, max(0, (d - e0) / (e1 - e0))), t^2 (3 - 2t)
            (local.set $t (f64.min (f64.const 1) (f64.max (f64.const 0)
              (f64.div (f64.sub (f64.sqrt (f64.add (f64.mul (local.get $er) (local.get $er)) (f64.mul (local.get $eb) (local.get $eb)))) (local.get $e0)) (f64.sub (local.get $e1) (local.get $e0))))))
            (f32.store (i32.add (local.get $W) (local.get $o))
              (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $W) (local.get $o))))
                (f64.sub (f64.const 1) (f64.mul (f64.mul (local.get $t) (local.get $t)) (f64.sub (f64.const 3) (f64.mul (f64.const 2) (local.get $t))))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))

  ;; albedoRatios: num = w I / s0 and den = w where w > 0 (else 0).
  (func (export "albedoRatios") (param $I i32) (param $s0 i32) (param $w i32) (param $n i32) (param $num i32) (param $den i32)
    (local $i i32) (local $o i32) (local $wi f64)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $wi (f64.promote_f32 (f32.load (i32.add (local.get $w) (local.get $o)))))
        (f32.store (i32.add (local.get $num) (local.get $o))
          (if (result f32) (f64.gt (local.get $wi) (f64.const 0))
            (then (f32.demote_f64 (f64.div (f64.mul (local.get $wi) (f64.promote_f32 (f32.load (i32.add (local.get $I) (local.get $o)))))
              (f64.promote_f32 (f32.load (i32.add (local.get $s0) (local.get $o)))))))
            (else (f32.const 0))))
        (f32.store (i32.add (local.get $den) (local.get $o)) (f32.load (i32.add (local.get $w) (local.get $o))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))

  ;; albedoResiduals: rho = num / den, the clamped residual r = I / (rho s0) - 1 and its weight W (W0,
  ;; faded from |r| = 0.2 to 0 at 0.35), where W0 > 0 and den > 1e-9 (else W = 0, rho and r left);
  ;; returns the texels with weight.
  (func (export "albedoResiduals") (param $I i32) (param $s0 i32) (param $W0 i32) (param $num i32) (param $den i32) (param $rho i32) (param $r i32) (param $W i32) (param $n i32) (result i32)
    (local $i i32) (local $o i32) (local $res f64) (local $m f64) (local $w0 f64) (local $w f32) (local $count i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $w0 (f64.promote_f32 (f32.load (i32.add (local.get $W0) (local.get $o)))))
        (if (i32.or (f64.le (local.get $w0) (f64.const 0)) (f64.le (f64.promote_f32 (f32.load (i32.add (local.get $den) (local.get $o)))) (f64.const 1e-9)))
          (then (f32.store (i32.add (local.get $W) (local.get $o)) (f32.const 0)))
          (else
            (f32.store (i32.add (local.get $rho) (local.get $o))
              (f32.demote_f64 (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $num) (local.get $o)))) (f64.promote_f32 (f32.load (i32.add (local.get $den) (local.get $o)))))))
            (local.set $res (f64.sub (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $I) (local.get $o))))
              (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $rho) (local.get $o)))) (f64.promote_f32 (f32.load (i32.add (local.get $s0) (local.get $o)))))) (f64.const 1)))
            (local.set $m (f64.abs (local.get $res)))
            (local.set $w
              (if (result f32) (f64.ge (local.get $m) (f64.const 0.35)) (then (f32.const 0))
                (else (if (result f32) (f64.gt (local.get $m) (f64.const 0.2))
                  (then (f32.demote_f64 (f64.mul (local.get $w0) (f64.sub (f64.const 1) (f64.div (f64.sub (local.get $m) (f64.const 0.2)) (f64.const 0.15))))))
                  (else (f32.demote_f64 (local.get $w0)))))))
            (f32.store (i32.add (local.get $W) (local.get $o)) (local.get $w))
            (f32.store (i32.add (local.get $r) (local.get $o))
              (f32.demote_f64 (if (result f64) (f64.lt (local.get $res) (f64.const -0.35)) (then (f64.const -0.35))
                (else (if (result f64) (f64.gt (local.get $res) (f64.const 0.35)) (then (f64.const 0.35)) (else (local.get $res)))))))
            (if (f32.gt (local.get $w) (f32.const 0)) (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $count))
)
