//! Register-tiled small matrix product ([`Kernels::gemm`](crate::Kernels::gemm)) for NEON.
//!
//! `C` is cut into tiles of `MR` rows × `NV` vectors of four columns held in registers for the whole sum over
//! `p`: per step, `NV` vectors of row `p` of `B` are loaded once and each of the `MR` elements `a[i·lda + p]`
//! is broadcast (`ld1r`) and multiplied into its row of accumulators with `fmla`. With 32 vector registers the
//! tiles are 6 × 4 (16 columns: 24 accumulators, 4 `B` vectors, 1 broadcast), then 12 × 2 (8 columns) and
//! 12 × 1 (4 columns); rows left over go in tiles of 4, 2 and 1. Columns past the last full vector (fewer than
//! 4) use the same fused multiply-add one lane at a time.
//!
//! Every element of `C` receives its terms in increasing `p`, each one fused multiply-add, starting from the old
//! value or zero, so the result does not depend on the tiling.
//!
//! # Memory safety
//! The entry checks the shape once with [`GemmShape::fits`]; the tiles then use raw pointers. A tile at rows
//! `i0..i0 + MR` and columns `j0..j0 + 4·NV` reads `a[i·lda + p]` for `p < k`, `b[p·ldb + j]` and
//! `c[i·ldc + j]` for `j` in its columns, all inside the extents `fits` proved.

use core::arch::aarch64::{
    float32x4_t, vdupq_n_f32, vfmaq_f32, vgetq_lane_f32, vld1q_dup_f32, vld1q_f32, vst1q_f32,
};

use super::Neon;
use crate::kernels::GemmShape;

/// Operands of one call, as raw pointers into slices checked by [`GemmShape::fits`].
#[derive(Clone, Copy)]
struct Ops {
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    shape: GemmShape,
    accumulate: bool,
}

/// An `MR × 4·NV` tile of `C` at row `i0`, column `j0`, over all `k`.
///
/// # Safety
/// NEON must be available; rows `i0..i0 + MR` and columns `j0..j0 + 4·NV` must lie inside the extents checked
/// by [`GemmShape::fits`] for `o`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn tile<const MR: usize, const NV: usize>(o: &Ops, i0: usize, j0: usize) {
    let GemmShape {
        k, lda, ldb, ldc, ..
    } = o.shape;
    let mut acc = [[vdupq_n_f32(0.0); NV]; MR];
    // SAFETY: every access below stays within the tile's rows and columns, which the caller guarantees lie inside
    // the checked extents of `a` (row i, p < k), `b` (row p < k, the tile's columns) and `c`.
    unsafe {
        let c = o.c.add(i0 * ldc + j0);
        if o.accumulate {
            for (i, row) in acc.iter_mut().enumerate() {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = vld1q_f32(c.add(i * ldc + 4 * v));
                }
            }
        }
        let a = o.a.add(i0 * lda);
        let mut b = o.b.add(j0);
        for p in 0..k {
            let bv: [float32x4_t; NV] = core::array::from_fn(|v| vld1q_f32(b.add(4 * v)));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = vld1q_dup_f32(a.add(i * lda + p));
                for (x, &bj) in row.iter_mut().zip(&bv) {
                    *x = vfmaq_f32(*x, ai, bj);
                }
            }
            // Wrapping: after the last row the pointer may lie past the end of `b` (it is not dereferenced).
            b = b.wrapping_add(ldb);
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, x) in row.iter().enumerate() {
                vst1q_f32(c.add(i * ldc + 4 * v), *x);
            }
        }
    }
}

/// Rows `0..m` of the column block at `j0`, in tiles of `MR` rows, then 4, 2 and 1.
///
/// # Safety
/// As [`tile`] for every row `< m` and the block's columns.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn rows<const MR: usize, const NV: usize>(o: &Ops, j0: usize) {
    let m = o.shape.m;
    let mut i = 0;
    // SAFETY: every tile's rows are below m and its columns are the block's.
    unsafe {
        while i + MR <= m {
            tile::<MR, NV>(o, i, j0);
            i += MR;
        }
        while i + 4 <= m {
            tile::<4, NV>(o, i, j0);
            i += 4;
        }
        while i + 2 <= m {
            tile::<2, NV>(o, i, j0);
            i += 2;
        }
        while i < m {
            tile::<1, NV>(o, i, j0);
            i += 1;
        }
    }
}

/// Columns `j0..n` (fewer than 4) one element at a time, with the same fused multiply-add per term.
///
/// # Safety
/// NEON must be available and the shape checked for `o`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn columns_scalar(o: &Ops, j0: usize) {
    let GemmShape {
        m,
        n,
        k,
        lda,
        ldb,
        ldc,
    } = o.shape;
    for i in 0..m {
        for j in j0..n {
            // SAFETY: i < m, j < n and p < k are inside the checked extents.
            unsafe {
                let cij = o.c.add(i * ldc + j);
                let mut x = vdupq_n_f32(if o.accumulate { *cij } else { 0.0 });
                for p in 0..k {
                    let ap = vdupq_n_f32(*o.a.add(i * lda + p));
                    let bp = vdupq_n_f32(*o.b.add(p * ldb + j));
                    x = vfmaq_f32(x, ap, bp);
                }
                *cij = vgetq_lane_f32::<0>(x);
            }
        }
    }
}

/// The product over a checked shape.
///
/// # Safety
/// NEON must be available and `o` checked.
#[target_feature(enable = "neon")]
unsafe fn gemm_checked(o: &Ops) {
    let n = o.shape.n;
    let mut j = 0;
    // SAFETY: each block's columns lie below n.
    unsafe {
        while j + 16 <= n {
            rows::<6, 4>(o, j);
            j += 16;
        }
        if j + 8 <= n {
            rows::<12, 2>(o, j);
            j += 8;
        }
        if j + 4 <= n {
            rows::<12, 1>(o, j);
            j += 4;
        }
        if j < n {
            columns_scalar(o, j);
        }
    }
}

/// [`Kernels::gemm`](crate::Kernels::gemm) for NEON.
pub(crate) fn gemm(
    _: Neon,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) -> bool {
    if !shape.fits(a.len(), b.len(), c.len()) {
        return false;
    }
    if shape.m == 0 || shape.n == 0 || shape.k == 0 {
        // Nothing to multiply (C is kept or zeroed): the reference does it without forming pointers into `a`
        // and `b`, whose extents `fits` does not bound then.
        return crate::portable::gemm::gemm(shape, a, b, c, accumulate);
    }
    let o = Ops {
        a: a.as_ptr(),
        b: b.as_ptr(),
        c: c.as_mut_ptr(),
        shape,
        accumulate,
    };
    // SAFETY: the token proves NEON; the shape was checked against the slices.
    unsafe { gemm_checked(&o) };
    true
}
