//! The lockstep forest walker ([`Simd::forest_sums`](crate::Simd::forest_sums)) for AVX2 (8 rows per vector) and
//! AVX-512 (16 rows per vector): the generic skeleton ([`arch::generic::forest`](crate::arch::generic::forest))
//! over [`Ymm`] and [`Zmm`]. A level's nodes come from registers while the level has at most 16 (AVX2: two
//! `vpermd` and a blend per field) or 64 nodes (AVX-512: one `vpermt2d` per field up to 32 nodes, two and a blend
//! for 64), else from two gathers; then one gather of the row value, a compare, and `j ← 2j + right`.
//!
//! A NaN goes left when the node's default-left bit (the feature word's sign) is set: AVX2 combines the
//! compare masks by their sign bits (`below | (unordered & word)`), AVX-512 with a compare masked by the sign of
//! the word. Either way the decision is exactly the scalar twin's.

use core::arch::x86_64::*;

use super::{Avx2, Avx512};
use crate::arch::generic::forest::{self as generic, ForestVector, offsets_fit};
use crate::forest::{Compare, Plan, SPARSE_CHILD_MASK, SPARSE_CHILD_SHIFT, SPARSE_FEATURE_MASK};

/// Feature bits of a node's word (the top bit is the default direction).
pub(super) const FEATURE_MASK: i32 = 0x7fff_ffff;

/// Vectors of rows walked together at AVX2: enough independent gathers in flight to cover their latency, few
/// enough for 16 registers (measured: 4 beats 1, 2 and 8).
const GROUPS_AVX2: usize = 4;
/// Vectors of rows walked together at AVX-512 (measured: 8 beats 2 and 4, by about 15%).
const GROUPS_AVX512: usize = 8;

/// Where a level's table loads from and which lanes it fills, for a table of `width` lanes: node `j`
/// (`2^level ≤ j < 2^(level+1)`, heap index `j − 1`) goes to lane `j mod width`, so lane `L` reads
/// `features[first − lane0 + L]` for `lane0 ≤ L < lane0 + 2^level`, with `first = 2^level − 1` and
/// `lane0 = 2^level mod width`. Returns (`first − lane0`, as a wrapping offset, `lane0`, `2^level`).
#[inline(always)]
fn table_span(level: u32, width: usize) -> (usize, usize, usize) {
    let n = 1usize << level;
    let lane0 = n % width;
    ((n - 1).wrapping_sub(lane0), lane0, n)
}

// ---------------------------------------------------------------------------------------------------------------
// AVX2
// ---------------------------------------------------------------------------------------------------------------

/// Eight walk positions.
#[derive(Clone, Copy)]
pub(super) struct Ymm(pub(super) __m256i);

/// A level of up to 16 nodes: lanes 0–7 and 8–15 of the features and thresholds.
#[derive(Clone, Copy)]
pub(super) struct YmmTable {
    features: [__m256i; 2],
    thresholds: [__m256; 2],
}

impl Ymm {
    /// The decision and the next position, given each lane's node.
    ///
    /// # Safety
    /// AVX2 must be available and every lane's row value readable.
    #[inline(always)]
    unsafe fn decide<const LE: bool>(
        self,
        word: __m256i,
        t: __m256,
        rows: *const f32,
        offsets: Ymm,
    ) -> Ymm {
        // SAFETY: the caller guarantees each lane's row value is readable; AVX2 is available.
        unsafe {
            let feature = _mm256_and_si256(word, _mm256_set1_epi32(FEATURE_MASK));
            Ymm::next::<LE>(
                _mm256_add_epi32(self.0, self.0),
                feature,
                word,
                t,
                rows,
                offsets,
            )
        }
    }

    /// `base + right` for each lane's node (`word`'s sign bit the default direction, `t` the threshold) and
    /// row value `rows[offset + feature]`.
    ///
    /// # Safety
    /// AVX2 must be available and every lane's row value readable.
    #[inline(always)]
    unsafe fn next<const LE: bool>(
        base: __m256i,
        feature: __m256i,
        word: __m256i,
        t: __m256,
        rows: *const f32,
        offsets: Ymm,
    ) -> Ymm {
        // SAFETY: the caller guarantees each lane's row value is readable; AVX2 is available.
        unsafe {
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
            Ymm(_mm256_add_epi32(
                base,
                _mm256_add_epi32(_mm256_set1_epi32(1), minus_left),
            ))
        }
    }
}

// SAFETY: instantiated only in the `avx2` function below; the loads and gathers read what the trait documents.
unsafe impl ForestVector for Ymm {
    const LANES: usize = 8;
    const TABLE: usize = 16;
    type Sums = __m256;
    type Table = YmmTable;

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
        Ymm(unsafe { _mm256_set1_epi32(1) })
    }
    #[inline(always)]
    unsafe fn table(features: *const u32, thresholds: *const u32, level: u32) -> YmmTable {
        let (start, lane0, n) = table_span(level, 16);
        // SAFETY: the masked loads touch only lanes lane0 ≤ L < lane0 + n, at start + L = the level's nodes, which
        // the caller guarantees are readable; the others are not accessed (and cannot fault). AVX2 is available.
        unsafe {
            let lanes = |from: i32| {
                _mm256_setr_epi32(
                    from,
                    from + 1,
                    from + 2,
                    from + 3,
                    from + 4,
                    from + 5,
                    from + 6,
                    from + 7,
                )
            };
            let (lo, hi) = (lanes(0), lanes(8));
            let a = _mm256_set1_epi32(lane0 as i32 - 1);
            let b = _mm256_set1_epi32((lane0 + n) as i32);
            let mask =
                |l: __m256i| _mm256_and_si256(_mm256_cmpgt_epi32(l, a), _mm256_cmpgt_epi32(b, l));
            let (m_lo, m_hi) = (mask(lo), mask(hi));
            let f = features.wrapping_add(start).cast::<i32>();
            let t = thresholds.wrapping_add(start).cast::<f32>();
            YmmTable {
                features: [
                    _mm256_maskload_epi32(f, m_lo),
                    _mm256_maskload_epi32(f.wrapping_add(8), m_hi),
                ],
                thresholds: [
                    _mm256_maskload_ps(t, m_lo),
                    _mm256_maskload_ps(t.wrapping_add(8), m_hi),
                ],
            }
        }
    }
    #[inline(always)]
    unsafe fn step_table<const LE: bool>(
        self,
        table: &YmmTable,
        rows: *const f32,
        offsets: Ymm,
    ) -> Ymm {
        // SAFETY: register lookups; the row reads are the caller's contract. AVX2 is available.
        unsafe {
            // Bit 3 of j picks the upper half (in the sign bit, for the blends).
            let upper = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(self.0));
            let word = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(table.features[0], self.0)),
                _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(table.features[1], self.0)),
                upper,
            ));
            let t = _mm256_blendv_ps(
                _mm256_permutevar8x32_ps(table.thresholds[0], self.0),
                _mm256_permutevar8x32_ps(table.thresholds[1], self.0),
                upper,
            );
            self.decide::<LE>(word, t, rows, offsets)
        }
    }
    #[inline(always)]
    unsafe fn step<const LE: bool>(
        self,
        features_m1: *const u32,
        thresholds_m1: *const u32,
        rows: *const f32,
        offsets: Ymm,
    ) -> Ymm {
        // SAFETY: the caller guarantees each lane's node fields and row value are readable; AVX2 is available.
        unsafe {
            let word = _mm256_i32gather_epi32::<4>(features_m1.cast(), self.0);
            let t = _mm256_i32gather_ps::<4>(thresholds_m1.cast(), self.0);
            self.decide::<LE>(word, t, rows, offsets)
        }
    }
    #[inline(always)]
    unsafe fn sparse_root() -> Ymm {
        // SAFETY: AVX is available (the caller's contract).
        Ymm(unsafe { _mm256_setzero_si256() })
    }
    #[inline(always)]
    unsafe fn step_sparse<const LE: bool>(
        self,
        words: *const u32,
        thresholds: *const u32,
        rows: *const f32,
        offsets: Ymm,
    ) -> Ymm {
        // SAFETY: the caller guarantees each lane's entry and row value are readable; AVX2 is available.
        unsafe {
            let word = _mm256_i32gather_epi32::<4>(words.cast(), self.0);
            let t = _mm256_i32gather_ps::<4>(thresholds.cast(), self.0);
            let feature = _mm256_and_si256(word, _mm256_set1_epi32(SPARSE_FEATURE_MASK as i32));
            let child = _mm256_and_si256(
                _mm256_srli_epi32::<{ SPARSE_CHILD_SHIFT as i32 }>(word),
                _mm256_set1_epi32(SPARSE_CHILD_MASK as i32),
            );
            Ymm::next::<LE>(child, feature, word, t, rows, offsets)
        }
    }
    #[inline(always)]
    unsafe fn leaf(self, leaves: *const u32) -> __m256 {
        // SAFETY: the caller guarantees each lane's leaves[j] is readable.
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
        generic::sums::<Ymm, GROUPS_AVX2, LE>(
            plan,
            rows.as_ptr(),
            stride,
            n_rows,
            sums.as_mut_ptr(),
        )
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

/// Sixteen walk positions.
#[derive(Clone, Copy)]
pub(super) struct Zmm(pub(super) __m512i);

/// A level of up to 64 nodes: lanes 0–15, 16–31 (the two sources of one `vpermt2d`), and for a level of 64
/// nodes (`wide`) lanes 32–47 and 48–63, of the features and thresholds.
#[derive(Clone, Copy)]
pub(super) struct ZmmTable {
    features: [__m512i; 4],
    thresholds: [__m512; 4],
    wide: bool,
}

impl Zmm {
    /// The decision and the next position, given each lane's node.
    ///
    /// # Safety
    /// AVX-512F must be available and every lane's row value readable.
    #[inline(always)]
    unsafe fn decide<const LE: bool>(
        self,
        word: __m512i,
        t: __m512,
        rows: *const f32,
        offsets: Zmm,
    ) -> Zmm {
        // SAFETY: the caller guarantees each lane's row value is readable; AVX-512F is available.
        unsafe {
            let feature = _mm512_and_si512(word, _mm512_set1_epi32(FEATURE_MASK));
            Zmm::next::<LE>(
                _mm512_add_epi32(self.0, self.0),
                feature,
                word,
                t,
                rows,
                offsets,
            )
        }
    }

    /// `base + right` for each lane's node (`word`'s sign bit the default direction, `t` the threshold) and
    /// row value `rows[offset + feature]`.
    ///
    /// # Safety
    /// AVX-512F must be available and every lane's row value readable.
    #[inline(always)]
    unsafe fn next<const LE: bool>(
        base: __m512i,
        feature: __m512i,
        word: __m512i,
        t: __m512,
        rows: *const f32,
        offsets: Zmm,
    ) -> Zmm {
        // SAFETY: the caller guarantees each lane's row value is readable; AVX-512F is available.
        unsafe {
            let x = _mm512_i32gather_ps::<4>(_mm512_add_epi32(offsets.0, feature), rows.cast());
            let below = if LE {
                _mm512_cmp_ps_mask::<_CMP_LE_OQ>(x, t)
            } else {
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, t)
            };
            let default_left = _mm512_cmplt_epi32_mask(word, _mm512_setzero_si512());
            let nan_left = _mm512_mask_cmp_ps_mask::<_CMP_UNORD_Q>(default_left, x, x);
            Zmm(_mm512_mask_add_epi32(
                base,
                !(below | nan_left),
                base,
                _mm512_set1_epi32(1),
            ))
        }
    }
}

// SAFETY: instantiated only in the `avx512f` function below; the loads and gathers read what the trait documents.
unsafe impl ForestVector for Zmm {
    const LANES: usize = 16;
    const TABLE: usize = 64;
    type Sums = __m512;
    type Table = ZmmTable;

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
        Zmm(unsafe { _mm512_set1_epi32(1) })
    }
    #[inline(always)]
    unsafe fn table(features: *const u32, thresholds: *const u32, level: u32) -> ZmmTable {
        // Up to 32 nodes: lanes j mod 32 of the first two registers (one `vpermt2d`); 64: j mod 64 of all four.
        let width = if level > 5 { 64 } else { 32 };
        let (start, lane0, n) = table_span(level, width);
        let lanes = if n >= 64 {
            u64::MAX
        } else {
            ((1u64 << n) - 1) << lane0
        };
        let masks: [u16; 4] = core::array::from_fn(|q| (lanes >> (16 * q)) as u16);
        // SAFETY: the masked loads touch only lanes lane0 ≤ L < lane0 + n, at start + L = the level's nodes, which
        // the caller guarantees are readable; the others are not accessed (and cannot fault). AVX-512F is
        // available.
        unsafe {
            let f = features.wrapping_add(start).cast::<i32>();
            let t = thresholds.wrapping_add(start).cast::<f32>();
            ZmmTable {
                features: core::array::from_fn(|q| {
                    _mm512_maskz_loadu_epi32(masks[q], f.wrapping_add(16 * q))
                }),
                thresholds: core::array::from_fn(|q| {
                    _mm512_maskz_loadu_ps(masks[q], t.wrapping_add(16 * q))
                }),
                wide: n > 32,
            }
        }
    }
    #[inline(always)]
    unsafe fn step_table<const LE: bool>(
        self,
        table: &ZmmTable,
        rows: *const f32,
        offsets: Zmm,
    ) -> Zmm {
        // SAFETY: register lookups (the low 5 bits of j pick one of 32 lanes, bit 5 the half of a wide table);
        // the row reads are the caller's contract. AVX-512F is available.
        unsafe {
            let f = &table.features;
            let t = &table.thresholds;
            let mut word = _mm512_permutex2var_epi32(f[0], self.0, f[1]);
            let mut th = _mm512_permutex2var_ps(t[0], self.0, t[1]);
            if table.wide {
                let upper = _mm512_test_epi32_mask(self.0, _mm512_set1_epi32(32));
                word = _mm512_mask_blend_epi32(
                    upper,
                    word,
                    _mm512_permutex2var_epi32(f[2], self.0, f[3]),
                );
                th = _mm512_mask_blend_ps(upper, th, _mm512_permutex2var_ps(t[2], self.0, t[3]));
            }
            self.decide::<LE>(word, th, rows, offsets)
        }
    }
    #[inline(always)]
    unsafe fn step<const LE: bool>(
        self,
        features_m1: *const u32,
        thresholds_m1: *const u32,
        rows: *const f32,
        offsets: Zmm,
    ) -> Zmm {
        // SAFETY: the caller guarantees each lane's node fields and row value are readable; AVX-512F is available.
        unsafe {
            let word = _mm512_i32gather_epi32::<4>(self.0, features_m1.cast());
            let t = _mm512_i32gather_ps::<4>(self.0, thresholds_m1.cast());
            self.decide::<LE>(word, t, rows, offsets)
        }
    }
    #[inline(always)]
    unsafe fn sparse_root() -> Zmm {
        // SAFETY: AVX-512F is available (the caller's contract).
        Zmm(unsafe { _mm512_setzero_si512() })
    }
    #[inline(always)]
    unsafe fn step_sparse<const LE: bool>(
        self,
        words: *const u32,
        thresholds: *const u32,
        rows: *const f32,
        offsets: Zmm,
    ) -> Zmm {
        // SAFETY: the caller guarantees each lane's entry and row value are readable; AVX-512F is available.
        unsafe {
            let word = _mm512_i32gather_epi32::<4>(self.0, words.cast());
            let t = _mm512_i32gather_ps::<4>(self.0, thresholds.cast());
            let feature = _mm512_and_si512(word, _mm512_set1_epi32(SPARSE_FEATURE_MASK as i32));
            let child = _mm512_and_si512(
                _mm512_srli_epi32::<{ SPARSE_CHILD_SHIFT }>(word),
                _mm512_set1_epi32(SPARSE_CHILD_MASK as i32),
            );
            Zmm::next::<LE>(child, feature, word, t, rows, offsets)
        }
    }
    #[inline(always)]
    unsafe fn leaf(self, leaves: *const u32) -> __m512 {
        // SAFETY: the caller guarantees each lane's leaves[j] is readable.
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
        generic::sums::<Zmm, GROUPS_AVX512, LE>(
            plan,
            rows.as_ptr(),
            stride,
            n_rows,
            sums.as_mut_ptr(),
        )
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
