//! The lockstep forest walker ([`Simd::forest_sums`](crate::Simd::forest_sums)) for AVX2 (8 rows per vector) and
//! AVX-512 (16 rows per vector): the generic skeleton ([`arch::generic::forest`](crate::arch::generic::forest))
//! over [`Ymm`] and [`Zmm`], each step three gathers (the node's feature word and threshold, with one index at
//! scale 8 into the interleaved pairs, then the row value), a compare, and `i ← 2i + 2 − left`.
//!
//! A NaN goes left when the node's default-left bit (the feature word's sign) is set: AVX2 combines the
//! compare masks by their sign bits (`below | (unordered & word)`), AVX-512 with a compare masked by the sign of
//! the word. Either way the decision is exactly the scalar twin's.

use core::arch::x86_64::*;

use super::{Avx2, Avx512};
use crate::arch::generic::forest::{self as generic, ForestVector};
use crate::forest::{Compare, Plan};

/// Feature bits of a node's word (the top bit is the default direction).
const FEATURE_MASK: i32 = 0x7fff_ffff;

/// Vectors of rows walked together: enough independent gathers in flight to cover their latency.
const GROUPS: usize = 4;

/// Whether `(lanes − 1)·stride + n_features` fits the gathers' `i32` offsets.
fn offsets_fit(lanes: usize, stride: usize, n_features: usize) -> bool {
    (lanes - 1)
        .checked_mul(stride)
        .and_then(|x| x.checked_add(n_features))
        .is_some_and(|x| x <= i32::MAX as usize)
}

// ---------------------------------------------------------------------------------------------------------------
// AVX2
// ---------------------------------------------------------------------------------------------------------------

/// Eight node indices.
#[derive(Clone, Copy)]
struct Ymm(__m256i);

// SAFETY: instantiated only in the `avx2` function below; the gathers read the node pair and row value of each
// lane's index, as `step` and `leaf` document.
unsafe impl ForestVector for Ymm {
    const LANES: usize = 8;
    type Sums = __m256;

    #[inline(always)]
    unsafe fn row_offsets(stride: usize, valid: usize) -> Ymm {
        let s = stride as i32;
        let lane = |l: usize| if l < valid { l as i32 * s } else { 0 };
        // SAFETY: AVX is available (the caller's contract).
        Ymm(unsafe {
            _mm256_setr_epi32(
                lane(0),
                lane(1),
                lane(2),
                lane(3),
                lane(4),
                lane(5),
                lane(6),
                lane(7),
            )
        })
    }
    #[inline(always)]
    unsafe fn root() -> Ymm {
        // SAFETY: AVX is available (the caller's contract).
        Ymm(unsafe { _mm256_setzero_si256() })
    }
    #[inline(always)]
    unsafe fn step<const LE: bool>(self, nodes: *const u32, rows: *const f32, offsets: Ymm) -> Ymm {
        // SAFETY: the caller guarantees each lane's node pair (nodes[2i], nodes[2i + 1]: index i at scale 8) and
        // row value are readable; AVX2 is available.
        unsafe {
            let word = _mm256_i32gather_epi32::<8>(nodes.cast(), self.0);
            let t = _mm256_i32gather_ps::<8>(nodes.add(1).cast(), self.0);
            let feature = _mm256_and_si256(word, _mm256_set1_epi32(FEATURE_MASK));
            let x = _mm256_i32gather_ps::<4>(rows, _mm256_add_epi32(offsets.0, feature));
            let below = if LE {
                _mm256_cmp_ps::<_CMP_LE_OQ>(x, t)
            } else {
                _mm256_cmp_ps::<_CMP_LT_OQ>(x, t)
            };
            let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
            // Sign bit: below, or NaN and default-left (the word's sign bit).
            let left = _mm256_or_ps(below, _mm256_and_ps(nan, _mm256_castsi256_ps(word)));
            let minus_left = _mm256_srai_epi32::<31>(_mm256_castps_si256(left));
            let twice = _mm256_add_epi32(self.0, self.0);
            Ymm(_mm256_add_epi32(
                twice,
                _mm256_add_epi32(_mm256_set1_epi32(2), minus_left),
            ))
        }
    }
    #[inline(always)]
    unsafe fn leaf(self, leaves: *const u32) -> __m256 {
        // SAFETY: the caller guarantees each lane's leaves[i] is readable.
        unsafe { _mm256_i32gather_ps::<4>(leaves.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        // SAFETY: the caller guarantees 8 readable values at `p`.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, s: __m256) {
        // SAFETY: the caller guarantees 8 writable values at `p`.
        unsafe { _mm256_storeu_ps(p, s) }
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX is available (the caller's contract).
        unsafe { _mm256_add_ps(a, b) }
    }
}

/// The AVX2 walk over checked shapes.
///
/// # Safety
/// AVX2 must be available and the shapes checked as [`generic::sums`] requires.
#[target_feature(enable = "avx2")]
unsafe fn sums_avx2<const LE: bool>(
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    // SAFETY: the caller's contract; AVX2 is enabled here for the inlined skeleton.
    unsafe {
        generic::sums::<Ymm, GROUPS, LE>(plan, rows.as_ptr(), stride, n_rows, sums.as_mut_ptr())
    }
}

/// [`Simd::forest_sums`](crate::Simd::forest_sums) for AVX2, shapes checked by the caller (`n_rows ≥ 1`).
pub(crate) fn forest_sums_avx2(
    _: Avx2,
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    if !offsets_fit(8, stride, plan.n_features()) {
        return crate::portable::forest::forest_sums(plan, rows, stride, n_rows, sums);
    }
    // SAFETY: the token proves AVX2; the caller checked the shapes and the offsets fit an i32.
    unsafe {
        match plan.compare() {
            Compare::Less => sums_avx2::<false>(plan, rows, stride, n_rows, sums),
            Compare::LessEqual => sums_avx2::<true>(plan, rows, stride, n_rows, sums),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AVX-512
// ---------------------------------------------------------------------------------------------------------------

/// Sixteen node indices.
#[derive(Clone, Copy)]
struct Zmm(__m512i);

// SAFETY: instantiated only in the `avx512f` function below; the gathers read the node pair and row value of
// each lane's index, as `step` and `leaf` document.
unsafe impl ForestVector for Zmm {
    const LANES: usize = 16;
    type Sums = __m512;

    #[inline(always)]
    unsafe fn row_offsets(stride: usize, valid: usize) -> Zmm {
        let s = stride as i32;
        let lane = |l: usize| if l < valid { l as i32 * s } else { 0 };
        // SAFETY: AVX-512F is available (the caller's contract).
        Zmm(unsafe {
            _mm512_setr_epi32(
                lane(0),
                lane(1),
                lane(2),
                lane(3),
                lane(4),
                lane(5),
                lane(6),
                lane(7),
                lane(8),
                lane(9),
                lane(10),
                lane(11),
                lane(12),
                lane(13),
                lane(14),
                lane(15),
            )
        })
    }
    #[inline(always)]
    unsafe fn root() -> Zmm {
        // SAFETY: AVX-512F is available (the caller's contract).
        Zmm(unsafe { _mm512_setzero_si512() })
    }
    #[inline(always)]
    unsafe fn step<const LE: bool>(self, nodes: *const u32, rows: *const f32, offsets: Zmm) -> Zmm {
        // SAFETY: the caller guarantees each lane's node pair (nodes[2i], nodes[2i + 1]: index i at scale 8) and
        // row value are readable; AVX-512F is available.
        unsafe {
            let word = _mm512_i32gather_epi32::<8>(self.0, nodes.cast());
            let t = _mm512_i32gather_ps::<8>(self.0, nodes.add(1).cast());
            let feature = _mm512_and_si512(word, _mm512_set1_epi32(FEATURE_MASK));
            let x = _mm512_i32gather_ps::<4>(_mm512_add_epi32(offsets.0, feature), rows.cast());
            let below = if LE {
                _mm512_cmp_ps_mask::<_CMP_LE_OQ>(x, t)
            } else {
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, t)
            };
            let default_left = _mm512_cmplt_epi32_mask(word, _mm512_setzero_si512());
            let nan_left = _mm512_mask_cmp_ps_mask::<_CMP_UNORD_Q>(default_left, x, x);
            let twice = _mm512_add_epi32(self.0, self.0);
            let right = _mm512_add_epi32(twice, _mm512_set1_epi32(2));
            Zmm(_mm512_mask_sub_epi32(
                right,
                below | nan_left,
                right,
                _mm512_set1_epi32(1),
            ))
        }
    }
    #[inline(always)]
    unsafe fn leaf(self, leaves: *const u32) -> __m512 {
        // SAFETY: the caller guarantees each lane's leaves[i] is readable.
        unsafe { _mm512_i32gather_ps::<4>(self.0, leaves.cast()) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        // SAFETY: the caller guarantees 16 readable values at `p`.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, s: __m512) {
        // SAFETY: the caller guarantees 16 writable values at `p`.
        unsafe { _mm512_storeu_ps(p, s) }
    }
    #[inline(always)]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F is available (the caller's contract).
        unsafe { _mm512_add_ps(a, b) }
    }
}

/// The AVX-512 walk over checked shapes.
///
/// # Safety
/// AVX-512F must be available and the shapes checked as [`generic::sums`] requires.
#[target_feature(enable = "avx512f,avx2")]
unsafe fn sums_avx512<const LE: bool>(
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    // SAFETY: the caller's contract; AVX-512F is enabled here for the inlined skeleton.
    unsafe {
        generic::sums::<Zmm, GROUPS, LE>(plan, rows.as_ptr(), stride, n_rows, sums.as_mut_ptr())
    }
}

/// [`Simd::forest_sums`](crate::Simd::forest_sums) for AVX-512, shapes checked by the caller (`n_rows ≥ 1`).
pub(crate) fn forest_sums_avx512(
    _: Avx512,
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    if !offsets_fit(16, stride, plan.n_features()) {
        return crate::portable::forest::forest_sums(plan, rows, stride, n_rows, sums);
    }
    // SAFETY: the token proves AVX-512F; the caller checked the shapes and the offsets fit an i32.
    unsafe {
        match plan.compare() {
            Compare::Less => sums_avx512::<false>(plan, rows, stride, n_rows, sums),
            Compare::LessEqual => sums_avx512::<true>(plan, rows, stride, n_rows, sums),
        }
    }
}
