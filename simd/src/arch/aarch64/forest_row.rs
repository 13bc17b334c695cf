//! The single-row forest walker ([`Simd::forest_row`](crate::Simd::forest_row)) for NEON: the generic skeleton
//! ([`arch::generic::forest_row`](crate::arch::generic::forest_row)) over the batch walker's [`Quad`], four trees
//! per vector, [`GROUPS`] vectors in flight. NEON has no gather: each lane's node fields, row value and leaf are
//! scalar loads (`vld2q` deinterleaves the tree table); the compare, the NaN rule and the step are vector
//! operations, the same decision as the batch walker's and the scalar twin's.

use core::arch::aarch64::{
    float32x4_t, vaddq_u32, vandq_u32, vbicq_u32, vceqq_f32, vcgtq_s32, vcleq_f32, vcltq_f32,
    vdupq_n_s32, vdupq_n_u32, vld2q_u32, vorrq_u32, vreinterpretq_f32_u32, vreinterpretq_s32_u32,
    vreinterpretq_u32_s32, vshlq_u32, vshrq_n_s32, vsubq_u32,
};

use super::Neon;
use super::forest::{FEATURE_MASK, Quad, lanes, vector};
use crate::arch::generic::forest_row::{self as generic, RowVector};
use crate::forest::{Compare, Plan};

/// Vectors of four trees walked together: independent chains of loads for the out-of-order core to overlap.
const GROUPS: usize = 4;

// SAFETY: instantiated only in the `neon` function below; the loads read what the trait documents.
unsafe impl RowVector for Quad {
    #[inline(always)]
    unsafe fn trees(table: *const u32) -> (Quad, Quad, Quad) {
        // SAFETY: the caller guarantees 8 readable words at `table`; NEON is available.
        unsafe {
            let t = vld2q_u32(table);
            let (offsets, depths) = (t.0, t.1);
            let nodes = vsubq_u32(
                vshlq_u32(vdupq_n_u32(1), vreinterpretq_s32_u32(depths)),
                vdupq_n_u32(1),
            );
            let q = |v| Quad(vreinterpretq_s32_u32(v));
            (q(offsets), q(vaddq_u32(offsets, nodes)), q(depths))
        }
    }
    #[inline(always)]
    unsafe fn zero() -> Quad {
        // SAFETY: NEON is available (the caller's contract).
        Quad(unsafe { vdupq_n_s32(0) })
    }
    #[inline(always)]
    unsafe fn step_row<const LE: bool>(
        self,
        words: *const u32,
        features: Quad,
        thresholds: Quad,
        depths: Quad,
        level: i32,
        row: *const f32,
    ) -> Quad {
        // SAFETY: every lane's node fields are readable (the caller's contract), and the row is read at an active
        // lane's feature or (masked) at feature 0; NEON is available.
        unsafe {
            let i = vreinterpretq_u32_s32(self.0);
            let active = vcgtq_s32(depths.0, vdupq_n_s32(level));
            let at = |base: Quad| lanes(vaddq_u32(vreinterpretq_u32_s32(base.0), i));
            let word = vector(at(features).map(|k| words.add(k).read()));
            let t = vreinterpretq_f32_u32(vector(at(thresholds).map(|k| words.add(k).read())));
            let feature = vandq_u32(vandq_u32(word, vdupq_n_u32(FEATURE_MASK)), active);
            let x: float32x4_t =
                vreinterpretq_f32_u32(vector(lanes(feature).map(|f| row.add(f).read().to_bits())));
            // Ordered compares: false when x is NaN.
            let below = if LE { vcleq_f32(x, t) } else { vcltq_f32(x, t) };
            let default_left =
                vreinterpretq_u32_s32(vshrq_n_s32::<31>(vreinterpretq_s32_u32(word)));
            let nan_left = vbicq_u32(default_left, vceqq_f32(x, x));
            // All ones when the row goes left: i + 1 + right = i + 2 + (−1 when left).
            let left = vorrq_u32(below, nan_left);
            let step = vaddq_u32(vaddq_u32(i, vdupq_n_u32(2)), left);
            Quad(vreinterpretq_s32_u32(vaddq_u32(i, vandq_u32(step, active))))
        }
    }
    #[inline(always)]
    unsafe fn leaf_row(self, words: *const u32, thresholds: Quad) -> float32x4_t {
        // SAFETY: the caller guarantees each lane's word is readable; NEON is available.
        unsafe {
            let at = lanes(vaddq_u32(
                vreinterpretq_u32_s32(thresholds.0),
                vreinterpretq_u32_s32(self.0),
            ));
            vreinterpretq_f32_u32(vector(at.map(|k| words.add(k).read())))
        }
    }
}

/// The NEON walk over a checked row.
///
/// # Safety
/// NEON must be available, `row` hold `plan.n_features()` values and the plan's words fit `i32` indices.
#[target_feature(enable = "neon")]
unsafe fn row_neon<const LE: bool>(plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    // SAFETY: the caller's contract; NEON is enabled here for the inlined skeleton.
    unsafe { generic::row::<Quad, GROUPS, LE>(plan, row.as_ptr(), sum) }
}

/// [`Simd::forest_row`](crate::Simd::forest_row) for NEON, the row's length checked by the caller.
pub(crate) fn forest_row_neon(_: Neon, plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    if plan.words().len() > i32::MAX as usize {
        return crate::portable::forest_row::forest_row(plan, row, sum);
    }
    // SAFETY: the token proves NEON; the caller checked the row, and the words fit i32 indices.
    unsafe {
        match plan.compare() {
            Compare::Less => row_neon::<false>(plan, row, sum),
            Compare::LessEqual => row_neon::<true>(plan, row, sum),
        }
    }
}
