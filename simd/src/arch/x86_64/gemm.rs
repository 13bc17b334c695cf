//! Register-tiled small matrix product ([`Kernels::gemm`](crate::Kernels::gemm)) for AVX2 + FMA and AVX-512.
//!
//! The tiles, the row schedule and the scalar columns are the generic skeleton
//! ([`arch::generic::gemm`](crate::arch::generic::gemm)) over [`Ymm`] and [`Zmm`]; this file chooses the tiles and
//! column blocks, and keeps the narrow AVX-512 path, whose step has another shape.
//!
//! # Tiling
//! `C` is cut into tiles of `MR` rows × `NV` vectors of columns that live in registers for the whole sum over
//! `p`: per step, `NV` vectors of row `p` of `B` are loaded once and each of the `MR` elements `a[i·lda + p]` is
//! broadcast and multiplied into its row of accumulators (`MR·NV` fused multiply-adds for `NV` loads and `MR`
//! broadcasts). Tiles are chosen so that accumulators, the `B` vectors and one broadcast fit the register file:
//!
//! | level   | registers | wide tiles (`MR × NV`)                   | rows left over      |
//! |---------|-----------|------------------------------------------|---------------------|
//! | AVX2    | 16 × 256  | 6 × 2 (16 columns), then 12 × 1 (8)      | tiles of 4, 2, 1    |
//! | AVX-512 | 32 × 512  | 6 × 4 (64 columns), 12 × 2 (32), 24 × 1; 8 × 2 when `m ≤ 8` | tiles of 8, 4, 2, 1 |
//! | AVX-512, `n ≤ 8` | 32 × 256 | 24 × 1 (one 256-bit vector, embedded broadcasts) | tiles of 8, 4, 1 |
//!
//! AVX-512 tiles take a `__mmask16` per vector, so a last partial vector of columns is a masked load and store
//! (masked-out lanes are neither read nor written and cannot fault). AVX2 has no cheap masked store: its
//! columns past the last full vector go through a scalar loop with the same fused multiply-add
//! (`vfmadd231ss`). Products at most 8 columns wide (the scores of one decoding step, `K·Qᵀ` against a GQA
//! group of 8 query heads) take 256-bit vectors on the AVX-512 level too, where a vector is not half empty; with
//! AVX-512VL they use all 32 registers (24 rows per tile) and fold each broadcast of `a` into its multiply-add
//! (`vfmadd231ps ymm, ymm, m32{1to8}`), one instruction per 8 products: about 92 GFLOP/s against 87 for the
//! AVX2 tile on a Zen 4 core at 64 × 8 × 128.
//!
//! # Prefetching
//! Attention streams K and V from memory once per block of queries (decoding is bound by that stream), so the
//! tiles hint the next data in: at the start of each cache line of their `A` rows they prefetch the same line of
//! the next `MR` rows, and at each step the row of `B` eight steps ahead. Hints to addresses past the operands
//! are harmless (see [`prefetch`]).
//!
//! Every element of `C` receives its terms in increasing `p`, each one fused multiply-add, starting from the old
//! value or zero: the AVX2 and AVX-512 results are identical, whatever the tiling.
//!
//! # Memory safety
//! The public entry checks the shape once with [`GemmShape::fits`]; the tiles then use raw pointers. A tile at
//! rows `i0..i0 + MR` and columns `j0..j0 + w` (`w ≤ NV·lanes`) reads `a[i·lda + p]` for `p < k`,
//! `b[p·ldb + j]` and `c[i·ldc + j]` for `j0 ≤ j < j0 + w`, all inside the extents `fits` proved.

use core::arch::x86_64::*;

use super::{Avx2, Avx512};
use crate::arch::generic::gemm::{self as generic, GemmVector, Ops};
use crate::kernels::GemmShape;

// ---------------------------------------------------------------------------------------------------------------
// Prefetching
// ---------------------------------------------------------------------------------------------------------------

/// Hints that the cache line at `p` will be read soon (`prefetcht0`). The address may lie outside every
/// allocation: a prefetch never faults and reads nothing architecturally, and the pointer is formed with wrapping
/// arithmetic and never dereferenced.
#[inline(always)]
fn prefetch(p: *const f32) {
    // SAFETY: `prefetcht0` (SSE, part of the x86_64 baseline) is a hint with no architectural effect; it cannot
    // fault on any address.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
}

/// At the first column `p` of each cache line of a tile's `A` rows, asks for the same line of the next `MR` rows
/// (the next tile of `C` reads them, or, past the last tile, the rows that follow in memory: the next K tile of
/// attention when keys are contiguous). Keeps memory busy while the tile computes.
#[inline(always)]
fn prefetch_ahead<const MR: usize>(a: *const f32, lda: usize, p: usize) {
    for i in MR..2 * MR {
        prefetch(a.wrapping_add(i.wrapping_mul(lda).wrapping_add(p)));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AVX2
// ---------------------------------------------------------------------------------------------------------------

/// One AVX2 vector of 8 lanes; whole vectors only (AVX2 has no cheap masked store).
#[derive(Clone, Copy)]
struct Ymm(__m256);

// SAFETY: instantiated only in the `avx2,fma` functions below; loads and stores touch the 8 lanes at `p`.
unsafe impl GemmVector for Ymm {
    const LANES: usize = 8;
    const PREFETCH: bool = true;
    const ROWS_8: bool = false;
    type Mask = ();

    #[inline(always)]
    fn masks<const NV: usize>(_: usize) -> [(); NV] {
        [(); NV]
    }
    #[inline(always)]
    unsafe fn zero() -> Ymm {
        // SAFETY: AVX is available (the caller's contract).
        Ymm(unsafe { _mm256_setzero_ps() })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32, _: ()) -> Ymm {
        // SAFETY: the caller guarantees the 8 lanes at `p` are readable.
        Ymm(unsafe { _mm256_loadu_ps(p) })
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, _: (), x: Ymm) {
        // SAFETY: the caller guarantees the 8 lanes at `p` are writable.
        unsafe { _mm256_storeu_ps(p, x.0) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Ymm {
        // SAFETY: AVX is available (the caller's contract).
        Ymm(unsafe { _mm256_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn fma(acc: Ymm, a: Ymm, b: Ymm) -> Ymm {
        // SAFETY: FMA is available (the caller's contract).
        Ymm(unsafe { _mm256_fmadd_ps(a.0, b.0, acc.0) })
    }
    #[inline(always)]
    unsafe fn fma_scalar(c: f32, a: f32, b: f32) -> f32 {
        // SAFETY: FMA is available (the caller's contract).
        unsafe { _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c))) }
    }
    #[inline(always)]
    fn prefetch(p: *const f32) {
        prefetch(p)
    }
}

/// The AVX2 product over a checked shape.
///
/// # Safety
/// AVX2 and FMA must be available and `o` checked by [`Ops::new`].
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_avx2_checked(o: &Ops) {
    let n = o.shape.n;
    let mut j = 0;
    // SAFETY: each block's columns lie below n; AVX2 and FMA are enabled here for the inlined skeleton.
    unsafe {
        while j + 16 <= n {
            generic::rows::<Ymm, 6, 2>(o, j, 16);
            j += 16;
        }
        if j + 8 <= n {
            generic::rows::<Ymm, 12, 1>(o, j, 8);
            j += 8;
        }
        if j < n {
            generic::columns_scalar::<Ymm>(o, j);
        }
    }
}

/// [`Kernels::gemm`](crate::Kernels::gemm) for AVX2 + FMA.
pub(crate) fn gemm_avx2(
    _: Avx2,
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
    // SAFETY: the token proves AVX2 and FMA; `o` was checked.
    unsafe { gemm_avx2_checked(&o) };
    true
}

// ---------------------------------------------------------------------------------------------------------------
// AVX-512
// ---------------------------------------------------------------------------------------------------------------

/// Masks for `NV` vectors of 16 lanes covering `w` columns (`w ≤ 16·NV`): full vectors, then the first
/// `w mod 16` lanes.
#[inline(always)]
fn lane_masks<const NV: usize>(w: usize) -> [__mmask16; NV] {
    core::array::from_fn(|v| {
        let left = w.saturating_sub(16 * v);
        if left >= 16 {
            u16::MAX
        } else {
            (1u16 << left) - 1
        }
    })
}

/// One AVX-512 vector of 16 lanes with a lane mask: a last partial vector of columns is a masked load and store
/// (masked-out lanes are neither read nor written and cannot fault).
#[derive(Clone, Copy)]
struct Zmm(__m512);

// SAFETY: instantiated only in the `avx512f,avx2,fma` functions below; loads and stores touch only the lanes
// their mask selects.
unsafe impl GemmVector for Zmm {
    const LANES: usize = 16;
    const PREFETCH: bool = true;
    const ROWS_8: bool = true;
    type Mask = __mmask16;

    #[inline(always)]
    fn masks<const NV: usize>(w: usize) -> [__mmask16; NV] {
        lane_masks::<NV>(w)
    }
    #[inline(always)]
    unsafe fn zero() -> Zmm {
        // SAFETY: AVX-512F is available (the caller's contract).
        Zmm(unsafe { _mm512_setzero_ps() })
    }
    #[inline(always)]
    unsafe fn load(p: *const f32, mask: __mmask16) -> Zmm {
        // SAFETY: the caller guarantees the selected lanes at `p` are readable; the others are not accessed.
        Zmm(unsafe { _mm512_maskz_loadu_ps(mask, p) })
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, mask: __mmask16, x: Zmm) {
        // SAFETY: the caller guarantees the selected lanes at `p` are writable; the others are not accessed.
        unsafe { _mm512_mask_storeu_ps(p, mask, x.0) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Zmm {
        // SAFETY: AVX-512F is available (the caller's contract).
        Zmm(unsafe { _mm512_set1_ps(x) })
    }
    #[inline(always)]
    unsafe fn fma(acc: Zmm, a: Zmm, b: Zmm) -> Zmm {
        // SAFETY: AVX-512F is available (the caller's contract).
        Zmm(unsafe { _mm512_fmadd_ps(a.0, b.0, acc.0) })
    }
    #[inline(always)]
    unsafe fn fma_scalar(c: f32, a: f32, b: f32) -> f32 {
        // SAFETY: FMA is available (the caller's contract).
        unsafe { _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c))) }
    }
    #[inline(always)]
    fn prefetch(p: *const f32) {
        prefetch(p)
    }
}

/// The AVX-512 product over a checked shape.
///
/// # Safety
/// AVX-512F, AVX2 and FMA must be available and `o` checked by [`Ops::new`].
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gemm_avx512_checked(o: &Ops) {
    let n = o.shape.n;
    let mut j = 0;
    // SAFETY: each block's columns lie below n; AVX-512F, AVX2 and FMA are enabled here for the inlined
    // skeleton.
    unsafe {
        if o.shape.m <= 8 {
            // Few rows (one P·V chunk in decoding): 8 × 2 tiles, so that a tile holds every row.
            while j < n {
                generic::rows::<Zmm, 8, 2>(o, j, (n - j).min(32));
                j += 32;
            }
            return;
        }
        while j + 64 <= n {
            generic::rows::<Zmm, 6, 4>(o, j, 64);
            j += 64;
        }
        let left = n - j;
        if left > 32 {
            generic::rows::<Zmm, 6, 4>(o, j, left);
        } else if left > 16 {
            generic::rows::<Zmm, 12, 2>(o, j, left);
        } else if left > 0 {
            generic::rows::<Zmm, 24, 1>(o, j, left);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AVX-512, at most 8 columns
// ---------------------------------------------------------------------------------------------------------------

/// An `MR × w` tile (`w ≤ 8` columns, selected by `mask`) of `C` at row `i0`, over all `k`, in 256-bit vectors
/// with AVX-512VL's embedded broadcasts.
///
/// # Safety
/// AVX-512F/VL, AVX2 and FMA must be available; rows `i0..i0 + MR` and the masked-in columns must lie inside the
/// extents checked by [`GemmShape::fits`] for `o`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn tile_ymm<const MR: usize>(o: &Ops, i0: usize, mask: __mmask8) {
    let GemmShape {
        k, lda, ldb, ldc, ..
    } = o.shape;
    let mut acc = [_mm256_setzero_ps(); MR];
    // SAFETY: masked loads and stores touch only the masked-in columns of rows p < k of `b` and of the tile's rows
    // of `c`; the broadcasts read a[i·lda + p], p < k; all inside the checked extents.
    unsafe {
        let c = o.c.add(i0 * ldc);
        if o.accumulate {
            for (i, x) in acc.iter_mut().enumerate() {
                *x = _mm256_maskz_loadu_ps(mask, c.add(i * ldc));
            }
        }
        let a = o.a.add(i0 * lda);
        let step = |acc: &mut [__m256; MR], p: usize| {
            let bv = _mm256_maskz_loadu_ps(mask, o.b.add(p * ldb));
            for (i, x) in acc.iter_mut().enumerate() {
                *x = _mm256_fmadd_ps(bv, _mm256_set1_ps(*a.add(i * lda + p)), *x);
            }
        };
        let mut p = 0;
        while p + 16 <= k {
            prefetch_ahead::<MR>(a, lda, p);
            for q in p..p + 16 {
                step(&mut acc, q);
            }
            p += 16;
        }
        while p < k {
            step(&mut acc, p);
            p += 1;
        }
        for (i, x) in acc.iter().enumerate() {
            _mm256_mask_storeu_ps(c.add(i * ldc), mask, *x);
        }
    }
}

/// Every row of a product at most 8 columns wide (one 256-bit vector), in tiles of 24 rows, then 8, 4 and 1.
///
/// # Safety
/// AVX-512F/VL, AVX2 and FMA must be available, `o` checked by [`Ops::new`] and `o.shape.n ≤ 8`.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn gemm_avx512_narrow(o: &Ops) {
    let m = o.shape.m;
    let mask = (lane_masks::<1>(o.shape.n)[0] & 0xff) as __mmask8;
    let mut i = 0;
    // SAFETY: every tile's rows are below m; its columns are the n ≤ 8 masked-in ones.
    unsafe {
        while i + 24 <= m {
            tile_ymm::<24>(o, i, mask);
            i += 24;
        }
        while i + 8 <= m {
            tile_ymm::<8>(o, i, mask);
            i += 8;
        }
        while i + 4 <= m {
            tile_ymm::<4>(o, i, mask);
            i += 4;
        }
        while i < m {
            tile_ymm::<1>(o, i, mask);
            i += 1;
        }
    }
}

/// [`Kernels::gemm`](crate::Kernels::gemm) for AVX-512.
pub(crate) fn gemm_avx512(
    _: Avx512,
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
    // SAFETY: the token proves AVX-512F/VL/BW, AVX2 and FMA; `o` was checked (and the narrow path gets n ≤ 8).
    unsafe {
        if shape.n <= 8 {
            gemm_avx512_narrow(&o);
        } else {
            gemm_avx512_checked(&o);
        }
    }
    true
}
