//! Register-tiled small matrix product ([`Kernels::gemm`](crate::Kernels::gemm)) for Helium, in `asm!`.
//!
//! # Tiling
//! MVE has eight 128-bit vectors (`q0`–`q7`, 4 × f32) and a vector × general-purpose-register fused multiply-add
//! (`vfma.f32 Qda, Qn, Rm`), so an element of `A` needs no broadcast: a scalar `ldr` into a core register is
//! enough. `C` is cut into tiles of `MR` rows × `NV` vectors of 4 columns whose accumulators stay in `q0`–`q5`
//! (row `i`, vector `v` in `q(2i + v)`) for the whole sum over `p`, with the `NV` vectors of row `p` of `B` in
//! `q6`/`q7`. The widest tile is 3 × 2 (8 columns: 6 accumulators + 2 `B` vectors fill the register file);
//! among the tiles of 6 accumulators it executes the fewest instructions per fused multiply-add (6 × 1 and
//! 2 × 3 need one more per pair of steps).
//!
//! The loop over `p` takes two steps per iteration so that one `ldrd` fetches `a[i·lda + p]` and
//! `a[i·lda + p + 1]` of a row. Per pair of steps a 3 × 2 tile executes 4 `vldrw` (`B`), 2 `add` (the `B`
//! pointer, by `ldb`), 3 `ldrd` (`A`, post-incremented row pointers), 12 `vfma` and the loop's `le`: 22
//! instructions for 12 vector fused multiply-adds (48 lane FMAs). A first single step handles an odd `k`, so
//! the steps still run in increasing `p`.
//!
//! Columns are taken in blocks of 8 (3 × 2 tiles), then at most one block of 4 (`NV = 1`), then the last 1–3
//! columns as one predicated vector: `vctp.32` sets the lane mask once per tile and each load and store of that
//! vector is a `vpst`-predicated `vldrwt`/`vstrwt` (masked lanes neither read nor write memory; a masked load
//! gives zeros, whose lanes are never stored). Rows left over after the tiles of 3 form one tile of 2 or 1.
//!
//! Every element of `C` receives its terms in increasing `p`, each one fused multiply-add, starting from the
//! old value (`vldrw` of `C` before the loop when accumulating) or zero (`vmov.i32 q, #0`), so the result does
//! not depend on the tiling. As everywhere in MVE, the arithmetic flushes subnormal operands and results to zero
//! and returns the default NaN (see the [`helium`](super::helium) module documentation and [`Kernels`]).
//!
//! # Memory safety
//! The safe entry checks the shape once with [`GemmShape::fits`] (which also proves `ldc ≥ n`) and returns early
//! for an empty product; the tiles then work on raw pointers. A tile at rows `i0..i0 + MR` and columns
//! `j0..j0 + w` (`w = 4·NV`, or `1..=3` when predicated) reads `a[i·lda + p]` for `p < k`, `b[p·ldb + j]` for
//! `p < k`, `j0 ≤ j < j0 + w`, and reads (when accumulating) and writes `c[i·ldc + j]` for the same columns:
//! all inside the extents `fits` proved, and `c` does not overlap `a` or `b` (it is borrowed mutably). Pointers
//! to rows that are never accessed (`A` and `B` when `k = 0`, the row pointers of a tile with fewer than 3
//! rows, and the post-increments past the last step) are formed with wrapping arithmetic and never
//! dereferenced.
//!
//! [`Kernels`]: crate::Kernels

use core::arch::asm;

use super::Helium;
use crate::kernels::GemmShape;

/// Operands of one call: raw pointers into slices checked by [`GemmShape::fits`], strides in bytes.
#[derive(Clone, Copy)]
struct Ops {
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    m: usize,
    k: usize,
    /// Row strides in elements.
    lda: usize,
    ldc: usize,
    /// Row strides of `B` and `C` in bytes (wrapping: only ever added to pointers that are then dereferenced
    /// when the byte offset is inside the checked extent).
    ldb_bytes: usize,
    ldc_bytes: usize,
    accumulate: bool,
}

/// An `MR × 4·NV` tile of `C` at row `i0`, column `j0`, over all `k`; with `PRED` (then `NV = 1`) only the first
/// `cols` (1 to 3) columns.
///
/// # Safety
/// Rows `i0..i0 + MR` (`1 ≤ MR ≤ 3`) and columns `j0..j0 + w` (`w = 4·NV` without `PRED`, `w = cols` with it)
/// must lie inside the extents checked by [`GemmShape::fits`] for the slices behind `o`.
#[inline(always)]
unsafe fn tile<const MR: usize, const NV: usize, const PRED: bool>(
    _: Helium,
    o: &Ops,
    i0: usize,
    j0: usize,
    cols: usize,
) {
    const {
        assert!(MR >= 1 && MR <= 3 && (NV == 1 || NV == 2) && (!PRED || NV == 1));
    }
    let a0 = o.a.wrapping_add(i0.wrapping_mul(o.lda));
    let a1 = a0.wrapping_add(o.lda);
    let a2 = a1.wrapping_add(o.lda);
    let b = o.b.wrapping_add(j0);
    let c = o.c.wrapping_add(i0.wrapping_mul(o.ldc).wrapping_add(j0));
    // SAFETY: MVE is present (token). Memory accessed (the caller guarantees these lie inside the checked
    // extents, see the module documentation):
    // - `A`: `a_i[p]` for rows `i < MR` and `p < k`: one `ldr` for an odd `k`, then `ldrd` pairs, each row pointer
    //   post-incremented by the elements it read, `k` in all;
    // - `B`: for each `p < k`, columns `j0..j0 + w` of row `p` (`[b]`, `[b, #16]` for the second vector), the
    //   pointer advanced by `ldb` bytes after each row;
    // - `C`: columns `j0..j0 + w` of rows `i < MR` (`c + i·ldc` bytes), read only when accumulating, written
    //   once at the end.
    // With `PRED`, every access to the partial vector is a `vpst`-predicated `vldrwt`/`vstrwt` under the mask
    // `vctp.32 cols` (lanes `≥ cols` do not access memory). `VPR`, which `asm!` cannot declare, is saved on the
    // stack (8 bytes, keeping the stack 8-aligned) and restored. The low-overhead loop (`wls`/`le`, not
    // tail-predicated) leaves `FPSCR.LTPSIZE` at 4. Written registers are declared: the pointers, strides and
    // temporaries (inputs discarded), `lr` and `q0`–`q7`; the flags are not preserved (no `preserves_flags`).
    unsafe {
        asm!(
            // Predicated tile: save VPR, set the lane mask P0 for `cols` lanes ({t2}).
            ".if {pred}",
            "vmrs {t3}, p0",
            "str {t3}, [sp, #-8]!",
            "vctp.32 {t2}",
            ".endif",
            // Accumulators: the old C (accumulate = {t1} ≠ 0) or zero.
            "cmp {t1}, #0",
            "beq 2f",
            ".if {pred}",
            "vpst",
            "vldrwt.u32 q0, [{c}]",
            ".else",
            "vldrw.u32 q0, [{c}]",
            ".endif",
            ".if {nv} == 2",
            "vldrw.u32 q1, [{c}, #16]",
            ".endif",
            ".if {mr} >= 2",
            "add {t3}, {c}, {ldc}",
            ".if {pred}",
            "vpst",
            "vldrwt.u32 q2, [{t3}]",
            ".else",
            "vldrw.u32 q2, [{t3}]",
            ".endif",
            ".if {nv} == 2",
            "vldrw.u32 q3, [{t3}, #16]",
            ".endif",
            ".endif",
            ".if {mr} >= 3",
            "add {t3}, {t3}, {ldc}",
            ".if {pred}",
            "vpst",
            "vldrwt.u32 q4, [{t3}]",
            ".else",
            "vldrw.u32 q4, [{t3}]",
            ".endif",
            ".if {nv} == 2",
            "vldrw.u32 q5, [{t3}, #16]",
            ".endif",
            ".endif",
            "b 3f",
            "2:",
            "vmov.i32 q0, #0",
            ".if {nv} == 2",
            "vmov.i32 q1, #0",
            ".endif",
            ".if {mr} >= 2",
            "vmov.i32 q2, #0",
            ".if {nv} == 2",
            "vmov.i32 q3, #0",
            ".endif",
            ".endif",
            ".if {mr} >= 3",
            "vmov.i32 q4, #0",
            ".if {nv} == 2",
            "vmov.i32 q5, #0",
            ".endif",
            ".endif",
            "3:",
            // {t1} = number of step pairs; an odd k ({t0}) first runs the single step p = 0.
            "lsrs {t1}, {t0}, #1",
            "tst {t0}, #1",
            "beq 4f",
            ".if {pred}",
            "vpst",
            "vldrwt.u32 q6, [{b}]",
            ".else",
            "vldrw.u32 q6, [{b}]",
            ".endif",
            ".if {nv} == 2",
            "vldrw.u32 q7, [{b}, #16]",
            ".endif",
            "add {b}, {b}, {ldb}",
            "ldr {t0}, [{a0}], #4",
            "vfma.f32 q0, q6, {t0}",
            ".if {nv} == 2",
            "vfma.f32 q1, q7, {t0}",
            ".endif",
            ".if {mr} >= 2",
            "ldr {t0}, [{a1}], #4",
            "vfma.f32 q2, q6, {t0}",
            ".if {nv} == 2",
            "vfma.f32 q3, q7, {t0}",
            ".endif",
            ".endif",
            ".if {mr} >= 3",
            "ldr {t0}, [{a2}], #4",
            "vfma.f32 q4, q6, {t0}",
            ".if {nv} == 2",
            "vfma.f32 q5, q7, {t0}",
            ".endif",
            ".endif",
            "4:",
            // Pairs of steps p, p + 1: `ldrd` fetches both elements of a row of A; {t0} is reused for step p,
            // {t1}–{t3} (free again: the count is in lr, the mask and C row are no longer needed) hold step p + 1.
            "wls lr, {t1}, 6f",
            "5:",
            ".if {pred}",
            "vpst",
            "vldrwt.u32 q6, [{b}]",
            ".else",
            "vldrw.u32 q6, [{b}]",
            ".endif",
            ".if {nv} == 2",
            "vldrw.u32 q7, [{b}, #16]",
            ".endif",
            "add {b}, {b}, {ldb}",
            "ldrd {t0}, {t1}, [{a0}], #8",
            "vfma.f32 q0, q6, {t0}",
            ".if {nv} == 2",
            "vfma.f32 q1, q7, {t0}",
            ".endif",
            ".if {mr} >= 2",
            "ldrd {t0}, {t2}, [{a1}], #8",
            "vfma.f32 q2, q6, {t0}",
            ".if {nv} == 2",
            "vfma.f32 q3, q7, {t0}",
            ".endif",
            ".endif",
            ".if {mr} >= 3",
            "ldrd {t0}, {t3}, [{a2}], #8",
            "vfma.f32 q4, q6, {t0}",
            ".if {nv} == 2",
            "vfma.f32 q5, q7, {t0}",
            ".endif",
            ".endif",
            ".if {pred}",
            "vpst",
            "vldrwt.u32 q6, [{b}]",
            ".else",
            "vldrw.u32 q6, [{b}]",
            ".endif",
            ".if {nv} == 2",
            "vldrw.u32 q7, [{b}, #16]",
            ".endif",
            "add {b}, {b}, {ldb}",
            "vfma.f32 q0, q6, {t1}",
            ".if {nv} == 2",
            "vfma.f32 q1, q7, {t1}",
            ".endif",
            ".if {mr} >= 2",
            "vfma.f32 q2, q6, {t2}",
            ".if {nv} == 2",
            "vfma.f32 q3, q7, {t2}",
            ".endif",
            ".endif",
            ".if {mr} >= 3",
            "vfma.f32 q4, q6, {t3}",
            ".if {nv} == 2",
            "vfma.f32 q5, q7, {t3}",
            ".endif",
            ".endif",
            "le lr, 5b",
            "6:",
            // Store the tile, row by row.
            ".if {pred}",
            "vpst",
            "vstrwt.32 q0, [{c}]",
            ".else",
            "vstrw.32 q0, [{c}]",
            ".endif",
            ".if {nv} == 2",
            "vstrw.32 q1, [{c}, #16]",
            ".endif",
            ".if {mr} >= 2",
            "add {c}, {c}, {ldc}",
            ".if {pred}",
            "vpst",
            "vstrwt.32 q2, [{c}]",
            ".else",
            "vstrw.32 q2, [{c}]",
            ".endif",
            ".if {nv} == 2",
            "vstrw.32 q3, [{c}, #16]",
            ".endif",
            ".endif",
            ".if {mr} >= 3",
            "add {c}, {c}, {ldc}",
            ".if {pred}",
            "vpst",
            "vstrwt.32 q4, [{c}]",
            ".else",
            "vstrw.32 q4, [{c}]",
            ".endif",
            ".if {nv} == 2",
            "vstrw.32 q5, [{c}, #16]",
            ".endif",
            ".endif",
            ".if {pred}",
            "ldr {t3}, [sp], #8",
            "vmsr p0, {t3}",
            ".endif",
            mr = const MR,
            nv = const NV,
            pred = const PRED as u32,
            a0 = inout(reg) a0 => _,
            a1 = inout(reg) a1 => _,
            a2 = inout(reg) a2 => _,
            b = inout(reg) b => _,
            c = inout(reg) c => _,
            ldb = in(reg) o.ldb_bytes,
            ldc = in(reg) o.ldc_bytes,
            t0 = inout(reg) o.k => _,
            t1 = inout(reg) u32::from(o.accumulate) => _,
            t2 = inout(reg) cols => _,
            t3 = out(reg) _,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _,
            out("q4") _, out("q5") _, out("q6") _, out("q7") _,
        );
    }
}

/// Rows `0..m` of the column block at `j0`: tiles of 3 rows, then one of 2 or 1.
///
/// # Safety
/// Columns `j0..j0 + w` (as for [`tile`]) must lie inside the checked extents for every row `< m`.
#[inline(always)]
unsafe fn rows<const NV: usize, const PRED: bool>(h: Helium, o: &Ops, j0: usize, cols: usize) {
    let m = o.m;
    let mut i = 0;
    // SAFETY: every tile's rows are below m and its columns are the block's.
    unsafe {
        while i + 3 <= m {
            tile::<3, NV, PRED>(h, o, i, j0, cols);
            i += 3;
        }
        match m - i {
            2 => tile::<2, NV, PRED>(h, o, i, j0, cols),
            1 => tile::<1, NV, PRED>(h, o, i, j0, cols),
            _ => {}
        }
    }
}

/// [`Kernels::gemm`](crate::Kernels::gemm) for Helium.
pub(crate) fn gemm(
    h: Helium,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) -> bool {
    if !shape.fits(a.len(), b.len(), c.len()) {
        return false;
    }
    let GemmShape {
        m,
        n,
        k,
        lda,
        ldb,
        ldc,
    } = shape;
    if m == 0 || n == 0 {
        return true;
    }
    let o = Ops {
        a: a.as_ptr(),
        b: b.as_ptr(),
        c: c.as_mut_ptr(),
        m,
        k,
        lda,
        ldc,
        ldb_bytes: ldb.wrapping_mul(4),
        ldc_bytes: ldc.wrapping_mul(4),
        accumulate,
    };
    let mut j = 0;
    // SAFETY: the token proves MVE and `fits` proved the extents of every row `< m`, column `< n` and `p < k`;
    // each block below covers columns `j..j + w` with `j + w ≤ n`.
    unsafe {
        while j + 8 <= n {
            rows::<2, false>(h, &o, j, 8);
            j += 8;
        }
        if j + 4 <= n {
            rows::<1, false>(h, &o, j, 4);
            j += 4;
        }
        if j < n {
            rows::<1, true>(h, &o, j, n - j);
        }
    }
    true
}
