;; Box sums by running sums (box-filter.ts).
;; One of the recon's WebAssembly kernels (kernels.ts compiles each file from its text at start-up and
;; gives them one shared linear memory, "env" "memory"). Pointers are byte offsets into it, grids
;; row-major.
(module
  (import "env" "memory" (memory 1))

  ;; boxSum: in place, box sums of radius r over an S x S f32 grid `a` (window 2r + 1 <= S, clipped at
  ;; the edges), rows then columns, by running sums in f64, the same operations in the same order as
  ;; box-filter.ts's JavaScript had, so the sums are the same bit for bit. Scratch: `tmp` (S * S f32),
  ;; `acc` (S f64), `zero` (S f32 of zeros), `sink` (S f32, written).
  (func (export "boxSum") (param $a i32) (param $tmp i32) (param $acc i32) (param $zero i32) (param $sink i32) (param $S i32) (param $r i32)
    (local $y i32) (local $row i32) (local $add i32) (local $sub i32)
    (call $boxRows (local.get $a) (local.get $tmp) (local.get $S) (local.get $r))
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $S) (i32.const 3)))
    (local.set $row (i32.shl (local.get $S) (i32.const 2)))
    ;; The column sums' leading edge: rows 0 .. r - 1 into the accumulators.
    (block $done0
      (loop $l0
        (br_if $done0 (i32.ge_u (local.get $y) (local.get $r)))
        (call $columnStep (local.get $sink) (i32.add (local.get $tmp) (i32.mul (local.get $y) (local.get $row))) (local.get $zero) (local.get $acc) (local.get $S))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $l0)))
    ;; Row y: the row entering at y + r (while inside), the one leaving after y - r (once there is one).
    (local.set $y (i32.const 0))
    (loop $l1
      (local.set $add (select (i32.add (local.get $tmp) (i32.mul (i32.add (local.get $y) (local.get $r)) (local.get $row))) (local.get $zero)
        (i32.lt_u (i32.add (local.get $y) (local.get $r)) (local.get $S))))
      (local.set $sub (select (i32.add (local.get $tmp) (i32.mul (i32.sub (local.get $y) (local.get $r)) (local.get $row))) (local.get $zero)
        (i32.ge_s (i32.sub (local.get $y) (local.get $r)) (i32.const 0))))
      (call $columnStep (i32.add (local.get $a) (i32.mul (local.get $y) (local.get $row))) (local.get $add) (local.get $sub) (local.get $acc) (local.get $S))
      (br_if $l1 (i32.lt_u (local.tee $y (i32.add (local.get $y) (i32.const 1))) (local.get $S)))))

  ;; Per column x < S: v = acc[x] + add[x]; dst[x] = f32(v); acc[x] = v - sub[x]. Two columns per
  ;; step (f64x2), the odd one last.
  (func $columnStep (param $dst i32) (param $add i32) (param $sub i32) (param $acc i32) (param $S i32)
    (local $x i32) (local $pairs i32) (local $v v128) (local $s f64)
    (local.set $pairs (i32.and (local.get $S) (i32.const -2)))
    (block $done
      (loop $lx
        (br_if $done (i32.ge_u (local.get $x) (local.get $pairs)))
        (local.set $v (f64x2.add (v128.load (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3))))
          (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $add) (i32.shl (local.get $x) (i32.const 2)))))))
        (v128.store64_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32x4.demote_f64x2_zero (local.get $v)))
        (v128.store (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3)))
          (f64x2.sub (local.get $v) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $sub) (i32.shl (local.get $x) (i32.const 2)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 2)))
        (br $lx)))
    (if (i32.lt_u (local.get $x) (local.get $S))
      (then
        (local.set $s (f64.add (f64.load (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3))))
          (f64.promote_f32 (f32.load (i32.add (local.get $add) (i32.shl (local.get $x) (i32.const 2)))))))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $s)))
        (f64.store (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3)))
          (f64.sub (local.get $s) (f64.promote_f32 (f32.load (i32.add (local.get $sub) (i32.shl (local.get $x) (i32.const 2))))))))))

  ;; tmp = the row-wise running-window sums of a (f64 accumulator per row): the window's leading edge
  ;; enters at x + r and its trailing edge leaves after x - r, in three spans with no test per texel.
  ;; Four rows at a time, two per f64x2 (lane 0 and lane 1 of each): each row's sum is a chain of
  ;; dependent adds, and chains side by side take the time of one (256 x 256, radius 5: 0.19 -> 0.09 ms
  ;; for the whole box sum); each lane does its row's operations in the scalar order. Then a pair, then
  ;; a single row for what is left.
  (func $boxRows (param $a i32) (param $tmp i32) (param $S i32) (param $r i32)
    (local $y i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $S) (i32.const 2)))
    (block $quadsDone
      (loop $lq
        (br_if $quadsDone (i32.ge_u (i32.add (local.get $y) (i32.const 3)) (local.get $S)))
        (call $boxRowQuad (i32.add (local.get $a) (i32.mul (local.get $y) (local.get $rowBytes))) (i32.add (local.get $tmp) (i32.mul (local.get $y) (local.get $rowBytes)))
          (local.get $rowBytes) (local.get $S) (local.get $r))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $lq)))
    (block $pairsDone
      (loop $lp
        (br_if $pairsDone (i32.ge_u (i32.add (local.get $y) (i32.const 1)) (local.get $S)))
        (call $boxRowPair (i32.add (local.get $a) (i32.mul (local.get $y) (local.get $rowBytes))) (i32.add (local.get $tmp) (i32.mul (local.get $y) (local.get $rowBytes)))
          (local.get $rowBytes) (local.get $S) (local.get $r))
        (local.set $y (i32.add (local.get $y) (i32.const 2)))
        (br $lp)))
    (if (i32.lt_u (local.get $y) (local.get $S))
      (then (call $boxRow (i32.add (local.get $a) (i32.mul (local.get $y) (local.get $rowBytes))) (i32.add (local.get $tmp) (i32.mul (local.get $y) (local.get $rowBytes))) (local.get $S) (local.get $r)))))

  ;; Rows src and src + rowBytes into dst and dst + rowBytes, lane 0 and lane 1.
  (func $boxRowPair (param $src i32) (param $dst i32) (param $rowBytes i32) (param $S i32) (param $r i32)
    (local $x i32) (local $acc v128) (local $end i32) (local $rb i32) (local $f v128)
    (local.set $rb (i32.shl (local.get $r) (i32.const 2)))
    (local.set $end (i32.sub (local.get $S) (local.get $r)))
    (block $d0
      (loop $l0
        (br_if $d0 (i32.ge_u (local.get $x) (local.get $r)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l0)))
    (local.set $x (i32.const 0))
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_u (local.get $x) (local.get $r)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc)))
        (v128.store32_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l1)))
    (block $d2
      (loop $l2
        (br_if $d2 (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc)))
        (v128.store32_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $acc (f64x2.sub (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)) (local.get $rowBytes)) (v128.load32_zero (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l2)))
    (block $d3
      (loop $l3
        (br_if $d3 (i32.ge_u (local.get $x) (local.get $S)))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc)))
        (v128.store32_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $acc (f64x2.sub (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)) (local.get $rowBytes)) (v128.load32_zero (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l3))))

  ;; Rows src .. src + 3 rowBytes into dst .., lanes 0 and 1 of acc, then of acc2.
  (func $boxRowQuad (param $src i32) (param $dst i32) (param $rowBytes i32) (param $S i32) (param $r i32)
    (local $x i32) (local $acc v128) (local $acc2 v128) (local $end i32) (local $rb i32) (local $f v128) (local $r2 i32)
    (local.set $rb (i32.shl (local.get $r) (i32.const 2)))
    (local.set $r2 (i32.shl (local.get $rowBytes) (i32.const 1)))
    (local.set $end (i32.sub (local.get $S) (local.get $r)))
    (block $d0
      (loop $l0
        (br_if $d0 (i32.ge_u (local.get $x) (local.get $r)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $acc2 (f64x2.add (local.get $acc2) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (i32.add (local.get $src) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (i32.add (local.get $src) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l0)))
    (local.set $x (i32.const 0))
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_u (local.get $x) (local.get $r)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $acc2 (f64x2.add (local.get $acc2) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (i32.add (i32.add (local.get $src) (local.get $r2)) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (i32.add (i32.add (local.get $src) (local.get $r2)) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc)))
        (v128.store32_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc2)))
        (v128.store32_lane 0 (i32.add (i32.add (local.get $dst) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (i32.add (local.get $dst) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l1)))
    (block $d2
      (loop $l2
        (br_if $d2 (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $acc2 (f64x2.add (local.get $acc2) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.add (i32.add (i32.add (local.get $src) (local.get $r2)) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (v128.load32_zero (i32.add (i32.add (i32.add (local.get $src) (local.get $r2)) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2))))))))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc)))
        (v128.store32_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc2)))
        (v128.store32_lane 0 (i32.add (i32.add (local.get $dst) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (i32.add (local.get $dst) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $acc (f64x2.sub (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)) (local.get $rowBytes)) (v128.load32_zero (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)))))))
        (local.set $acc2 (f64x2.sub (local.get $acc2) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.sub (i32.add (i32.add (local.get $src) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)) (local.get $rowBytes)) (v128.load32_zero (i32.sub (i32.add (i32.add (local.get $src) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l2)))
    (block $d3
      (loop $l3
        (br_if $d3 (i32.ge_u (local.get $x) (local.get $S)))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc)))
        (v128.store32_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $f (f32x4.demote_f64x2_zero (local.get $acc2)))
        (v128.store32_lane 0 (i32.add (i32.add (local.get $dst) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $f))
        (v128.store32_lane 1 (i32.add (i32.add (i32.add (local.get $dst) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rowBytes)) (local.get $f))
        (local.set $acc (f64x2.sub (local.get $acc) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)) (local.get $rowBytes)) (v128.load32_zero (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)))))))
        (local.set $acc2 (f64x2.sub (local.get $acc2) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (i32.sub (i32.add (i32.add (local.get $src) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)) (local.get $rowBytes)) (v128.load32_zero (i32.sub (i32.add (i32.add (local.get $src) (local.get $r2)) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l3))))

  ;; One row, scalar (the odd last row).
  (func $boxRow (param $src i32) (param $dst i32) (param $S i32) (param $r i32)
    (local $x i32) (local $acc f64) (local $end i32) (local $rb i32)
    (local.set $rb (i32.shl (local.get $r) (i32.const 2)))
    (local.set $end (i32.sub (local.get $S) (local.get $r)))
    (block $d0
      (loop $l0
        (br_if $d0 (i32.ge_u (local.get $x) (local.get $r)))
        (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l0)))
    (local.set $x (i32.const 0))
    (block $d1
      (loop $l1
        (br_if $d1 (i32.ge_u (local.get $x) (local.get $r)))
        (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2)))))))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l1)))
    (block $d2
      (loop $l2
        (br_if $d2 (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (i32.add (i32.add (local.get $src) (local.get $rb)) (i32.shl (local.get $x) (i32.const 2)))))))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
        (local.set $acc (f64.sub (local.get $acc) (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l2)))
    (block $d3
      (loop $l3
        (br_if $d3 (i32.ge_u (local.get $x) (local.get $S)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $x) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
        (local.set $acc (f64.sub (local.get $acc) (f64.promote_f32 (f32.load (i32.sub (i32.add (local.get $src) (i32.shl (local.get $x) (i32.const 2))) (local.get $rb))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $l3))))
)
