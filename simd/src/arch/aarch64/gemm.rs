//! Register-tiled small matrix product ([`Kernels::gemm`](crate::Kernels::gemm)) for NEON.
//!
//! `C` is cut into tiles of `MR` rows × `NV` vectors of four columns held in registers for the whole sum over
//! `p`: per step, `NV` vectors of row `p` of `B` are loaded once and each of the `MR` elements `a[i·lda + p]`
//! is broadcast (`ld1r`) and multiplied into its row of accumulators with `fmla`. With 32 vector registers the
//! tiles are 6 × 4 (16 columns: 24 accumulators, 4 `B` vectors, 1 broadcast), then 12 × 2 (8 columns) and
//! 12 × 1 (4 columns); rows left over go in tiles of 4, 2 and 1. Columns past the last full vector (fewer than
//! 4) use the same fused multiply-add one lane at a time.
//!
//! The tiles, the row schedule and the scalar columns are the generic skeleton
//! ([`arch::generic::gemm`](crate::arch::generic::gemm)) over [`Q`]; this file chooses the tiles and column blocks.
//!
//! Every element of `C` receives its terms in increasing `p`, each one fused multiply-add, starting from the old
//! value or zero, so the result does not depend on the tiling.
//!
//! # Memory safety
//! The entry checks the shape once with [`GemmShape::fits`]; the tiles then use raw pointers. A tile at rows
//! `i0..i0 + MR` and columns `j0..j0 + 4·NV` reads `a[i·lda + p]` for `p < k`, `b[p·ldb + j]` and
//! `c[i·ldc + j]` for `j` in its columns, all inside the extents `fits` proved.

use core::arch::aarch64::{
    float32x4_t, vdupq_n_f32, vfmaq_f32, vgetq_lane_f32, vld1q_f32, vst1q_f32,
};

use super::Neon;
use crate::arch::generic::gemm::{self as generic, GemmVector, Ops};
use crate::kernels::GemmShape;

/// One NEON vector of 4 lanes; whole vectors only.
#[derive(Clone, Copy)]
struct Q(float32x4_t);

// SAFETY: instantiated only in the `neon` functions below; loads and stores touch the 4 lanes at `p`.
unsafe impl GemmVector for Q {
    const LANES: usize = 4;
    const PREFETCH: bool = false;
    const ROWS_8: bool = false;
    type Mask = ();

    #[inline(always)]
    fn masks<const NV: usize>(_: usize) -> [(); NV] {
        [(); NV]
    }
    #[inline(always)]
    unsafe fn zero() -> Q {
        // SAFETY: NEON is available (the caller's contract).
        Q(unsafe { vdupq_n_f32(0.0) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32, _: ()) -> Q {
        // SAFETY: the caller guarantees the 4 lanes at `p` are readable.
        Q(unsafe { vld1q_f32(p) })
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, _: (), x: Q) {
        // SAFETY: the caller guarantees the 4 lanes at `p` are writable.
        unsafe { vst1q_f32(p, x.0) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Q {
        // SAFETY: NEON is available (the caller's contract).
        Q(unsafe { vdupq_n_f32(x) })
    }
    #[inline(always)]
    unsafe fn fma(acc: Q, a: Q, b: Q) -> Q {
        // SAFETY: NEON is available (the caller's contract).
        Q(unsafe { vfmaq_f32(acc.0, a.0, b.0) })
    }
    #[inline(always)]
    unsafe fn fma_scalar(c: f32, a: f32, b: f32) -> f32 {
        // SAFETY: NEON is available (the caller's contract).
        unsafe { vgetq_lane_f32::<0>(vfmaq_f32(vdupq_n_f32(c), vdupq_n_f32(a), vdupq_n_f32(b))) }
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
    // SAFETY: each block's columns lie below n; NEON is enabled here for the inlined skeleton.
    unsafe {
        while j + 16 <= n {
            generic::rows::<Q, 6, 4>(o, j, 16);
            j += 16;
        }
        if j + 8 <= n {
            generic::rows::<Q, 12, 2>(o, j, 8);
            j += 8;
        }
        if j + 4 <= n {
            generic::rows::<Q, 12, 1>(o, j, 4);
            j += 4;
        }
        if j < n {
            generic::columns_scalar::<Q>(o, j);
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
    if shape.m == 0 || shape.n == 0 || shape.k == 0 {
        // Nothing to multiply (C is kept or zeroed): the reference does it without forming pointers into `a`
        // and `b`, whose extents `fits` does not bound then.
        return crate::portable::gemm::gemm(shape, a, b, c, accumulate);
    }
    let Some(o) = Ops::new(shape, a, b, c, accumulate) else {
        return false;
    };
    // SAFETY: the token proves NEON; the shape was checked against the slices.
    unsafe { gemm_checked(&o) };
    true
}
