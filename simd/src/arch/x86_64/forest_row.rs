//! The single-row forest walker ([`Simd::forest_row`](crate::Simd::forest_row)) for AVX2 (8 trees per vector)
//! and AVX-512 (16 trees per vector): the generic skeleton
//! ([`arch::generic::forest_row`](crate::arch::generic::forest_row)) over the batch walker's [`Ymm`] and [`Zmm`].
//! Each level is two gathers of the lanes' nodes (masked to the lanes whose tree is that deep), a gather of the
//! row values, a compare and `i ← 2i + 1 + right`; the decision is the batch walker's (and the scalar twin's).

use core::arch::x86_64::*;

use super::forest::{FEATURE_MASK, Ymm, Zmm};
use super::{Avx2, Avx512};
use crate::arch::generic::forest_row::{self as generic, RowVector};
use crate::forest::{Compare, Plan};

/// Vectors of trees walked together at AVX2.
const GROUPS_AVX2: usize = 6;
/// Vectors of trees walked together at AVX-512.
const GROUPS_AVX512: usize = 4;

/// Whether the plan's words are addressable with the gathers' `i32` indices.
fn words_fit(plan: &Plan<'_>) -> bool {
    plan.words().len() <= i32::MAX as usize
}

// SAFETY: instantiated only in the `avx2` function below; the gathers read what the trait documents.
unsafe impl RowVector for Ymm {
    #[inline(always)]
    unsafe fn trees(table: *const u32) -> (Ymm, Ymm, Ymm) {
        // SAFETY: the caller guarantees 16 readable words at `table`; AVX2 is available.
        unsafe {
            let a = _mm256_castsi256_ps(_mm256_loadu_si256(table.cast()));
            let b = _mm256_castsi256_ps(_mm256_loadu_si256(table.add(8).cast()));
            // Per 128-bit half: (o0 o1 o4 o5 | o2 o3 o6 o7), then the 64-bit pairs in order.
            let even = _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(a, b));
            let odd = _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(a, b));
            let offsets = _mm256_permute4x64_epi64::<0b11_01_10_00>(even);
            let depths = _mm256_permute4x64_epi64::<0b11_01_10_00>(odd);
            let nodes = _mm256_sub_epi32(
                _mm256_sllv_epi32(_mm256_set1_epi32(1), depths),
                _mm256_set1_epi32(1),
            );
            (
                Ymm(offsets),
                Ymm(_mm256_add_epi32(offsets, nodes)),
                Ymm(depths),
            )
        }
    }
    #[inline(always)]
    unsafe fn zero() -> Ymm {
        // SAFETY: AVX is available (the caller's contract).
        Ymm(unsafe { _mm256_setzero_si256() })
    }
    #[inline(always)]
    unsafe fn step_row<const LE: bool>(
        self,
        words: *const u32,
        features: Ymm,
        thresholds: Ymm,
        depths: Ymm,
        level: i32,
        row: *const f32,
    ) -> Ymm {
        // SAFETY: the masked gathers read only the active lanes' nodes, the row gather an active lane's feature
        // or (word 0) feature 0: what the caller guarantees readable. AVX2 is available.
        unsafe {
            let i = self.0;
            let active = _mm256_cmpgt_epi32(depths.0, _mm256_set1_epi32(level));
            let word = _mm256_mask_i32gather_epi32::<4>(
                _mm256_setzero_si256(),
                words.cast(),
                _mm256_add_epi32(features.0, i),
                active,
            );
            let t = _mm256_mask_i32gather_ps::<4>(
                _mm256_setzero_ps(),
                words.cast(),
                _mm256_add_epi32(thresholds.0, i),
                _mm256_castsi256_ps(active),
            );
            let feature = _mm256_and_si256(word, _mm256_set1_epi32(FEATURE_MASK));
            let x = _mm256_i32gather_ps::<4>(row, feature);
            let below = if LE {
                _mm256_cmp_ps::<_CMP_LE_OQ>(x, t)
            } else {
                _mm256_cmp_ps::<_CMP_LT_OQ>(x, t)
            };
            let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
            let left = _mm256_or_ps(below, _mm256_and_ps(nan, _mm256_castsi256_ps(word)));
            let minus_left = _mm256_srai_epi32::<31>(_mm256_castps_si256(left));
            // i + 1 + right = i + 2 − left, added where the lane is active.
            let step = _mm256_add_epi32(_mm256_add_epi32(i, _mm256_set1_epi32(2)), minus_left);
            Ymm(_mm256_add_epi32(i, _mm256_and_si256(step, active)))
        }
    }
    #[inline(always)]
    unsafe fn leaf_row(self, words: *const u32, thresholds: Ymm) -> __m256 {
        // SAFETY: the caller guarantees each lane's word is readable; AVX2 is available.
        unsafe { _mm256_i32gather_ps::<4>(words.cast(), _mm256_add_epi32(thresholds.0, self.0)) }
    }
}

/// The AVX2 walk over a checked row.
///
/// # Safety
/// AVX2 must be available, `row` hold `plan.n_features()` values and the plan's words fit `i32` indices.
#[target_feature(enable = "avx2")]
unsafe fn row_avx2<const LE: bool>(plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    // SAFETY: the caller's contract; AVX2 is enabled here for the inlined skeleton.
    unsafe { generic::row::<Ymm, GROUPS_AVX2, LE>(plan, row.as_ptr(), sum) }
}

/// [`Simd::forest_row`](crate::Simd::forest_row) for AVX2, the row's length checked by the caller.
pub(crate) fn forest_row_avx2(_: Avx2, plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    if !words_fit(plan) {
        return crate::portable::forest_row::forest_row(plan, row, sum);
    }
    // SAFETY: the token proves AVX2; the caller checked the row, and the words fit i32 indices.
    unsafe {
        match plan.compare() {
            Compare::Less => row_avx2::<false>(plan, row, sum),
            Compare::LessEqual => row_avx2::<true>(plan, row, sum),
        }
    }
}

/// Indices 0, 2, …, 30 (the offsets of 16 table entries over two registers), or 1, 3, …, 31 (the depths).
///
/// # Safety
/// AVX-512F must be available.
#[inline(always)]
unsafe fn pick(odd: i32) -> __m512i {
    // SAFETY: AVX-512F is available (the caller's contract).
    unsafe {
        _mm512_add_epi32(
            _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
            _mm512_set1_epi32(odd),
        )
    }
}

// SAFETY: instantiated only in the `avx512f` function below; the gathers read what the trait documents.
unsafe impl RowVector for Zmm {
    #[inline(always)]
    unsafe fn trees(table: *const u32) -> (Zmm, Zmm, Zmm) {
        // SAFETY: the caller guarantees 32 readable words at `table`; AVX-512F is available.
        unsafe {
            let a = _mm512_loadu_si512(table.cast());
            let b = _mm512_loadu_si512(table.add(16).cast());
            let offsets = _mm512_permutex2var_epi32(a, pick(0), b);
            let depths = _mm512_permutex2var_epi32(a, pick(1), b);
            let nodes = _mm512_sub_epi32(
                _mm512_sllv_epi32(_mm512_set1_epi32(1), depths),
                _mm512_set1_epi32(1),
            );
            (
                Zmm(offsets),
                Zmm(_mm512_add_epi32(offsets, nodes)),
                Zmm(depths),
            )
        }
    }
    #[inline(always)]
    unsafe fn zero() -> Zmm {
        // SAFETY: AVX-512F is available (the caller's contract).
        Zmm(unsafe { _mm512_setzero_si512() })
    }
    #[inline(always)]
    unsafe fn step_row<const LE: bool>(
        self,
        words: *const u32,
        features: Zmm,
        thresholds: Zmm,
        depths: Zmm,
        level: i32,
        row: *const f32,
    ) -> Zmm {
        // SAFETY: the masked gathers read only the active lanes' nodes and row values (the caller guarantees
        // them readable). AVX-512F is available.
        unsafe {
            let i = self.0;
            let active = _mm512_cmpgt_epi32_mask(depths.0, _mm512_set1_epi32(level));
            let word = _mm512_mask_i32gather_epi32::<4>(
                _mm512_setzero_si512(),
                active,
                _mm512_add_epi32(features.0, i),
                words.cast(),
            );
            let t = _mm512_mask_i32gather_ps::<4>(
                _mm512_setzero_ps(),
                active,
                _mm512_add_epi32(thresholds.0, i),
                words.cast(),
            );
            let feature = _mm512_and_si512(word, _mm512_set1_epi32(FEATURE_MASK));
            let x = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), active, feature, row.cast());
            let below = if LE {
                _mm512_cmp_ps_mask::<_CMP_LE_OQ>(x, t)
            } else {
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, t)
            };
            let default_left = _mm512_cmplt_epi32_mask(word, _mm512_setzero_si512());
            let nan_left = _mm512_mask_cmp_ps_mask::<_CMP_UNORD_Q>(default_left, x, x);
            let odd = _mm512_add_epi32(_mm512_add_epi32(i, i), _mm512_set1_epi32(1));
            let next = _mm512_mask_add_epi32(odd, !(below | nan_left), odd, _mm512_set1_epi32(1));
            Zmm(_mm512_mask_mov_epi32(i, active, next))
        }
    }
    #[inline(always)]
    unsafe fn leaf_row(self, words: *const u32, thresholds: Zmm) -> __m512 {
        // SAFETY: the caller guarantees each lane's word is readable; AVX-512F is available.
        unsafe { _mm512_i32gather_ps::<4>(_mm512_add_epi32(thresholds.0, self.0), words.cast()) }
    }
}

/// The AVX-512 walk over a checked row.
///
/// # Safety
/// AVX-512F must be available, `row` hold `plan.n_features()` values and the plan's words fit `i32` indices.
#[target_feature(enable = "avx512f,avx2")]
unsafe fn row_avx512<const LE: bool>(plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    // SAFETY: the caller's contract; AVX-512F is enabled here for the inlined skeleton.
    unsafe { generic::row::<Zmm, GROUPS_AVX512, LE>(plan, row.as_ptr(), sum) }
}

/// [`Simd::forest_row`](crate::Simd::forest_row) for AVX-512, the row's length checked by the caller.
pub(crate) fn forest_row_avx512(_: Avx512, plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    if !words_fit(plan) {
        return crate::portable::forest_row::forest_row(plan, row, sum);
    }
    // SAFETY: the token proves AVX-512F; the caller checked the row, and the words fit i32 indices.
    unsafe {
        match plan.compare() {
            Compare::Less => row_avx512::<false>(plan, row, sum),
            Compare::LessEqual => row_avx512::<true>(plan, row, sum),
        }
    }
}
