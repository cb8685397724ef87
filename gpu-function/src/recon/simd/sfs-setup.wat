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
;; sfsStiffness: over the compact problem's chart texels with W > 0, the sum of W (aU^2 + aV^2) (f64,
  ;; stored at `out`) and their count (returned): the mean data stiffness the weights are scaled by.
  (func (export "sfsStiffness") (param $act i32) (param $cw i32) (param $cu i32) (param $cv i32) (param $n i32) (param $out i32) (result i32)
    (local $i i32) (local $k i32) (local $w f64) (local $u f64) (local $v f64) (local $stiff f64) (local $count i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $k (i32.shl (local.get $i) (i32.const 2)))
        (local.set $w (f64.promote_f32 (f32.load (i32.add (local.get $cw) (local.get $k)))))
        (if (i32.and (i32.ne (i32.load8_u (i32.add (local.get $act) (local.get $i))) (i32.const 0)) (f64.gt (local.get $w) (f64.const 0)))
          (then
            (local.set $u (f64.promote_f32 (f32.load (i32.add (local.get $cu) (local.get $k)))))
            (local.set $v (f64.promote_f32 (f32.load (i32.add (local.get $cv) (local.get $k)))))
            (local.set $stiff (f64.add (local.get $stiff) (f64.mul (local.get $w) (f64.add (f64.mul (local.get $u) (local.get $u)) (f64.mul (local.get $v) (local.get $v))))))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (f64.store (local.get $out) (local.get $stiff))
    (local.get $count))

  ;; sfsRestrict: the compact S x S problem (act, W, aU, aV, r) to the C x C one (C = S / 2) at the
  ;; `d*` pointers, which must be zero: per 2 x 2 block of chart texels, W the block's sum / 4, aU and aV
  ;; their W-weighted means (plain means without weight) halved (a coarse step is two fine ones), r the
  ;; W-weighted mean (0 without weight); sums in f64 over the block in raster order.
  (func (export "sfsRestrict") (param $S i32) (param $act i32) (param $cw i32) (param $cu i32) (param $cv i32) (param $cr i32)
        (param $dact i32) (param $dw i32) (param $du i32) (param $dv i32) (param $dr i32)
    (local $C i32) (local $y i32) (local $x i32) (local $d i32) (local $i i32) (local $k i32) (local $c i32) (local $cnt i32)
    (local $sw f64) (local $su f64) (local $sv f64) (local $sr f64) (local $pu f64) (local $pv f64) (local $w f64) (local $u f64) (local $v f64)
    (local.set $C (i32.shr_u (local.get $S) (i32.const 1)))
    (loop $ly
      (local.set $x (i32.const 0))
      (loop $lx
        (local.set $cnt (i32.const 0))
        (local.set $sw (f64.const 0)) (local.set $su (f64.const 0)) (local.set $sv (f64.const 0))
        (local.set $sr (f64.const 0)) (local.set $pu (f64.const 0)) (local.set $pv (f64.const 0))
        (local.set $d (i32.const 0))
        (loop $ld
          (local.set $i (i32.add (i32.mul (i32.add (i32.shl (local.get $y) (i32.const 1)) (i32.shr_u (local.get $d) (i32.const 1))) (local.get $S))
            (i32.add (i32.shl (local.get $x) (i32.const 1)) (i32.and (local.get $d) (i32.const 1)))))
          (if (i32.load8_u (i32.add (local.get $act) (local.get $i)))
            (then
              (local.set $k (i32.shl (local.get $i) (i32.const 2)))
              (local.set $cnt (i32.add (local.get $cnt) (i32.const 1)))
              (local.set $u (f64.promote_f32 (f32.load (i32.add (local.get $cu) (local.get $k)))))
              (local.set $v (f64.promote_f32 (f32.load (i32.add (local.get $cv) (local.get $k)))))
              (local.set $pu (f64.add (local.get $pu) (local.get $u)))
              (local.set $pv (f64.add (local.get $pv) (local.get $v)))
              (local.set $w (f64.promote_f32 (f32.load (i32.add (local.get $cw) (local.get $k)))))
              (local.set $sw (f64.add (local.get $sw) (local.get $w)))
              (local.set $su (f64.add (local.get $su) (f64.mul (local.get $w) (local.get $u))))
              (local.set $sv (f64.add (local.get $sv) (f64.mul (local.get $w) (local.get $v))))
              (local.set $sr (f64.add (local.get $sr) (f64.mul (local.get $w) (f64.promote_f32 (f32.load (i32.add (local.get $cr) (local.get $k)))))))))
          (br_if $ld (i32.lt_u (local.tee $d (i32.add (local.get $d) (i32.const 1))) (i32.const 4))))
        (if (local.get $cnt)
          (then
            (local.set $c (i32.add (i32.mul (local.get $y) (local.get $C)) (local.get $x)))
            (local.set $k (i32.shl (local.get $c) (i32.const 2)))
            (i32.store8 (i32.add (local.get $dact) (local.get $c)) (i32.const 1))
            (f32.store (i32.add (local.get $dw) (local.get $k)) (f32.demote_f64 (f64.div (local.get $sw) (f64.const 4))))
            (if (f64.gt (local.get $sw) (f64.const 0))
              (then
                (f32.store (i32.add (local.get $du) (local.get $k)) (f32.demote_f64 (f64.div (f64.div (local.get $su) (local.get $sw)) (f64.const 2))))
                (f32.store (i32.add (local.get $dv) (local.get $k)) (f32.demote_f64 (f64.div (f64.div (local.get $sv) (local.get $sw)) (f64.const 2))))
                (f32.store (i32.add (local.get $dr) (local.get $k)) (f32.demote_f64 (f64.div (local.get $sr) (local.get $sw)))))
              (else
                (f32.store (i32.add (local.get $du) (local.get $k)) (f32.demote_f64 (f64.div (f64.div (local.get $pu) (f64.convert_i32_u (local.get $cnt))) (f64.const 2))))
                (f32.store (i32.add (local.get $dv) (local.get $k)) (f32.demote_f64 (f64.div (f64.div (local.get $pv) (f64.convert_i32_u (local.get $cnt))) (f64.const 2))))))))
        (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $C))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $C)))))

  ;; sfsProlong: the C x C height h bilinearly onto the S x S grid (S = 2C) at `out`, texel centres
  ;; aligned; the column taps (bilinear-taps.ts's at0 / at1 / frac for C -> S) at the three pointers, the
  ;; row weight in f64 as (y + 0.5) / 2 - 0.5 clamped, like the JavaScript it replaces.
  (func (export "sfsProlong") (param $h i32) (param $C i32) (param $out i32) (param $at0 i32) (param $at1 i32) (param $frac i32)
    (local $S i32) (local $y i32) (local $x i32) (local $cy f64) (local $ay f64) (local $y0 i32) (local $r0 i32) (local $r1 i32)
    (local $x0 i32) (local $x1 i32) (local $ax f64) (local $o i32)
    (local.set $S (i32.shl (local.get $C) (i32.const 1)))
    (loop $ly
      (local.set $cy (f64.min (f64.convert_i32_u (i32.sub (local.get $C) (i32.const 1)))
        (f64.max (f64.const 0) (f64.sub (f64.div (f64.add (f64.convert_i32_u (local.get $y)) (f64.const 0.5)) (f64.const 2)) (f64.const 0.5)))))
      (local.set $y0 (i32.trunc_f64_u (f64.floor (local.get $cy))))
      (local.set $ay (f64.sub (local.get $cy) (f64.convert_i32_u (local.get $y0))))
      (local.set $r0 (i32.add (local.get $h) (i32.shl (i32.mul (local.get $y0) (local.get $C)) (i32.const 2))))
      (local.set $r1 (select (i32.add (local.get $r0) (i32.shl (local.get $C) (i32.const 2))) (local.get $r0)
        (i32.lt_u (i32.add (local.get $y0) (i32.const 1)) (local.get $C))))
      (local.set $x (i32.const 0))
      (loop $lx
        (local.set $x0 (i32.shl (i32.load (i32.add (local.get $at0) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 2)))
        (local.set $x1 (i32.shl (i32.load (i32.add (local.get $at1) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 2)))
        (local.set $ax (f64.promote_f32 (f32.load (i32.add (local.get $frac) (i32.shl (local.get $x) (i32.const 2))))))
        (f32.store (local.get $out)
          (f32.demote_f64 (f64.add
            (f64.mul (f64.sub (f64.const 1) (local.get $ay))
              (f64.add (f64.mul (f64.sub (f64.const 1) (local.get $ax)) (f64.promote_f32 (f32.load (i32.add (local.get $r0) (local.get $x0)))))
                (f64.mul (local.get $ax) (f64.promote_f32 (f32.load (i32.add (local.get $r0) (local.get $x1)))))))
            (f64.mul (local.get $ay)
              (f64.add (f64.mul (f64.sub (f64.const 1) (local.get $ax)) (f64.promote_f32 (f32.load (i32.add (local.get $r1) (local.get $x0)))))
                (f64.mul (local.get $ax) (f64.promote_f32 (f32.load (i32.add (local.get $r1) (local.get $x1))))))))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br_if $lx (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 1))) (local.get $S))))
      (br_if $ly (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $S)))))
)
