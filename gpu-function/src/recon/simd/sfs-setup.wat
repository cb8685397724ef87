;; The shading solve's set-up and read-back around sfs-cg.wat's conjugate gradients (kernels.ts).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids
;; row-major. `blk` is sfs-cg.wat's block of 14 padded arrays (`stride` bytes each, rows of P floats,
;; each starting with its zero row): 0 m, 1 W, 2 aU, 3 aV, 4 alpha m, 5 1 / diag, 6 h, ..., 13 b.
;; The compact inputs are S x S (the problem as sfs-solve.ts states it). Scalar, in f64 where the
;; JavaScript these replace computed in f64 and rounded to f32 where it stored: the same bits.
(module
  (import "env" "memory" (memory 1))

  ;; sfsPad: the chart's texels of the compact problem onto the padded grid, which must be zero:
  ;; m = 1, W, aU, aV, alpha m = f32(alpha), and h = the initial height where `init` is not 0.
  (func (export "sfsPad") (param $blk i32) (param $stride i32) (param $P i32) (param $S i32)
        (param $act i32) (param $cw i32) (param $cu i32) (param $cv i32) (param $init i32) (param $alpha f64)
    (local $y i32) (local $x i32) (local $i i32) (local $g i32) (local $am f32)
    (local.set $am (f32.demote_f64 (local.get $alpha)))
    (loop $ly
      ;; g: the texel's byte offset within an array, past the zero row.
      (local.set $g (i32.shl (i32.mul (i32.add (local.get $y) (i32.const 1)) (local.get $P)) (i32.const 2)))
      (local.set $x (i32.const 0))
      (loop $lx
        (if (i32.load8_u (i32.add (local.get $act) (local.get $i)))
          (then
            (f32.store (i32.add (local.get $blk) (local.get $g)) (f32.const 1))
            (f32.store (i32.add (i32.add (local.get $blk) (local.get $stride)) (local.get $g)) (f32.load (i32.add (local.get $cw) (i32.shl (local.get $i) (i32.const 2)))))
            (f32.store (i32.add (i32.add (local.get $blk) (i32.shl (local.get $stride) (i32.const 1))) (local.get $g)) (f32.load (i32.add (local.get $cu) (i32.shl (local.get $i) (i32.const 2)))))
            (f32.store (i32.add (i32.add (local.get $blk) (i32.mul (local.get $stride) (i32.const 3))) (local.get $g)) (f32.load (i32.add (local.get $cv) (i32.shl (local.get $i) (i32.const 2)))))
            (f32.store (i32.add (i32.add (local.get $blk) (i32.shl (local.get $stride) (i32.const 2))) (local.get $g)) (local.get $am))
            (if (local.get $init)
              (then (f32.store (i32.add (i32.add (local.get $blk) (i32.mul (local.get $stride) (i32.const 6))) (local.get $g)) (f32.load (i32.add (local.get $init) (i32.shl (local.get $i) (i32.const 2)))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $S))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $S)))))

  ;; sfsRhsDiag: b = D' (W a r) (each chart texel's fluxes W r aU, W r aV scattered to itself and to its
  ;; right and lower neighbours on the chart) and 1 / diag(A), over the padded grid after sfsPad, the
  ;; compact residual at `res`; alpha and beta in f64 as the caller scaled them.
  (func (export "sfsRhsDiag") (param $blk i32) (param $stride i32) (param $P i32) (param $S i32) (param $res i32) (param $alpha f64) (param $beta f64)
    (local $y i32) (local $x i32) (local $i i32) (local $g i32) (local $row i32)
    (local $M i32) (local $W i32) (local $U i32) (local $V i32) (local $INV i32) (local $B i32)
    (local $wr f64) (local $qx f64) (local $qy f64) (local $c f64) (local $d f64) (local $a2b f64)
    (local.set $row (i32.shl (local.get $P) (i32.const 2)))
    (local.set $M (local.get $blk))
    (local.set $W (i32.add (local.get $M) (local.get $stride)))
    (local.set $U (i32.add (local.get $W) (local.get $stride)))
    (local.set $V (i32.add (local.get $U) (local.get $stride)))
    (local.set $INV (i32.add (local.get $blk) (i32.mul (i32.const 5) (local.get $stride))))
    (local.set $B (i32.add (local.get $blk) (i32.mul (i32.const 13) (local.get $stride))))
    (loop $ly
      (local.set $g (i32.shl (i32.mul (i32.add (local.get $y) (i32.const 1)) (local.get $P)) (i32.const 2)))
      (local.set $x (i32.const 0))
      (loop $lx
        (if (f32.ne (f32.load (i32.add (local.get $M) (local.get $g))) (f32.const 0))
          (then
            (local.set $wr (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $W) (local.get $g))))
              (f64.promote_f32 (f32.load (i32.add (local.get $res) (i32.shl (local.get $i) (i32.const 2)))))))
            (local.set $qx (f64.mul (local.get $wr) (f64.promote_f32 (f32.load (i32.add (local.get $U) (local.get $g))))))
            (local.set $qy (f64.mul (local.get $wr) (f64.promote_f32 (f32.load (i32.add (local.get $V) (local.get $g))))))
            (if (f32.ne (f32.load offset=4 (i32.add (local.get $M) (local.get $g))) (f32.const 0))
              (then (f32.store offset=4 (i32.add (local.get $B) (local.get $g))
                (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load offset=4 (i32.add (local.get $B) (local.get $g)))) (local.get $qx))))))
            (if (f32.ne (f32.load (i32.add (i32.add (local.get $M) (local.get $g)) (local.get $row))) (f32.const 0))
              (then (f32.store (i32.add (i32.add (local.get $B) (local.get $g)) (local.get $row))
                (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $B) (local.get $g)) (local.get $row)))) (local.get $qy))))))
            (f32.store (i32.add (local.get $B) (local.get $g))
              (f32.demote_f64 (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $B) (local.get $g)))) (f64.add (local.get $qx) (local.get $qy)))))
            (local.set $c (f64.add (f64.promote_f32 (f32.load (i32.add (local.get $U) (local.get $g)))) (f64.promote_f32 (f32.load (i32.add (local.get $V) (local.get $g))))))
            ;; d = W c c + 2 alpha + beta, then each neighbour's term, in the JavaScript's order.
            (local.set $d (f64.add (f64.add (f64.mul (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $W) (local.get $g)))) (local.get $c)) (local.get $c))
              (f64.mul (f64.const 2) (local.get $alpha))) (local.get $beta)))
            (if (f32.ne (f32.load (i32.sub (i32.add (local.get $M) (local.get $g)) (i32.const 4))) (f32.const 0))
              (then (local.set $d (f64.add (local.get $d)
                (f64.add (f64.mul (f64.mul (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $W) (local.get $g)) (i32.const 4))))
                  (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $U) (local.get $g)) (i32.const 4)))))
                  (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $U) (local.get $g)) (i32.const 4))))) (local.get $alpha))))))
            (if (f32.ne (f32.load (i32.sub (i32.add (local.get $M) (local.get $g)) (local.get $row))) (f32.const 0))
              (then (local.set $d (f64.add (local.get $d)
                (f64.add (f64.mul (f64.mul (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $W) (local.get $g)) (local.get $row))))
                  (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $V) (local.get $g)) (local.get $row)))))
                  (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $V) (local.get $g)) (local.get $row))))) (local.get $alpha))))))
            (f32.store (i32.add (local.get $INV) (local.get $g)) (f32.demote_f64 (f64.div (f64.const 1) (local.get $d))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $S))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $S)))))

  ;; sfsUnpad: the padded h (array 6) back to the compact S x S grid at `out`.
  (func (export "sfsUnpad") (param $blk i32) (param $stride i32) (param $P i32) (param $S i32) (param $out i32)
    (local $y i32) (local $H i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $S) (i32.const 2)))
    (loop $ly
      (local.set $H (i32.add (i32.add (local.get $blk) (i32.mul (i32.const 6) (local.get $stride)))
        (i32.shl (i32.mul (i32.add (local.get $y) (i32.const 1)) (local.get $P)) (i32.const 2))))
      (memory.copy (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $rowBytes))) (local.get $H) (local.get $rowBytes))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $S)))))
)
