;; The shading solve's conjugate gradients (sfs-solve.ts).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids
;; row-major.
(module
  (import "env" "memory" (memory 1))

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
)
