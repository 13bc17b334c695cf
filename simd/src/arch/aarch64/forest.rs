//! The lockstep forest walker ([`Simd::forest_sums`](crate::Simd::forest_sums)) for NEON: the generic skeleton
//! ([`arch::generic::forest`](crate::arch::generic::forest)) over [`Quad`], four rows per vector, [`GROUPS`]
//! vectors in flight.
//!
//! NEON has no gather. A level of at most 16 nodes (the top five levels) is looked up from registers: its
//! features and thresholds are loaded once per tree into four registers each (node `j` in lane `j mod 16`, the
//! lanes of other levels zero), and each lane's 32-bit entry is picked by a byte table lookup (`tbl` over the
//! four registers, 64 bytes) with byte indices `4·(j mod 16) + 0..3`, built from `j` by a shift, a byte
//! broadcast within the lane (itself a one-register `tbl`), a mask and an `orr`. Deeper levels read each lane's
//! feature word and threshold with scalar loads; the row values are always scalar loads
//! (`rows[lane offset + feature]`), inserted into a vector for the compare.
//!
//! The decision is the scalar twin's: `fcmgt`/`fcmge` (ordered: false for NaN) for `x < t` / `x ≤ t`, or'ed with
//! "NaN and default-left" (the unordered mask `¬(x = x)` and'ed with the word's sign spread by an arithmetic
//! shift); then `j ← 2j − ¬left`, i.e. `2j + 1` when the row goes right. Leaves are read per lane and added with
//! one `fadd` per tree, in tree order, so the sums are the scalar twin's bit for bit.

use core::arch::aarch64::{
    float32x4_t, int32x4_t, uint8x16x4_t, uint32x4_t, vaddq_f32, vaddq_s32, vaddq_u32, vandq_u8,
    vandq_u32, vbicq_u32, vceqq_f32, vcleq_f32, vcltq_f32, vcombine_u32, vdup_n_u32, vdupq_n_s32,
    vdupq_n_u8, vdupq_n_u32, vld1_u32, vld1q_f32, vld1q_lane_u32, vld1q_u8, vld1q_u32,
    vld1q_u32_x2, vld1q_u32_x4, vmvnq_u32, vorrq_u8, vorrq_u32, vqtbl1q_u8, vqtbl4q_u8,
    vreinterpretq_f32_u8, vreinterpretq_f32_u32, vreinterpretq_s32_u32, vreinterpretq_u8_u32,
    vreinterpretq_u32_s32, vreinterpretq_u32_u8, vshlq_n_u32, vshrq_n_s32, vshrq_n_u32, vst1q_f32,
    vst1q_u32, vsubq_s32,
};

use super::Neon;
use crate::arch::generic::forest::{self as generic, ForestVector, offsets_fit};
use crate::forest::{Compare, Plan, SPARSE_CHILD_MASK, SPARSE_CHILD_SHIFT, SPARSE_FEATURE_MASK};

/// Feature bits of a node's word (the top bit is the default direction).
pub(super) const FEATURE_MASK: u32 = 0x7fff_ffff;

/// Vectors of four rows walked together: each vector's step is a chain of dependent loads (node, then row
/// value), so several independent chains let an out-of-order core overlap them; four vectors (16 rows) keep
/// the positions, sums and both 4-register tables in the 32 vector registers.
const GROUPS: usize = 4;

/// Four walk positions `j`, one row per lane.
#[derive(Clone, Copy)]
pub(super) struct Quad(pub(super) int32x4_t);

/// A level of up to 16 nodes: node `j` in lane `j mod 16` of the features and the thresholds (four registers
/// each, as 64 bytes for `tbl`).
#[derive(Clone, Copy)]
pub(super) struct QuadTable {
    features: uint8x16x4_t,
    thresholds: uint8x16x4_t,
}

/// The four lanes of `v` as indices.
///
/// # Safety
/// NEON must be available.
#[inline(always)]
pub(super) unsafe fn lanes(v: uint32x4_t) -> [usize; 4] {
    let mut a = [0u32; 4];
    // SAFETY: `a` holds four writable u32; NEON is available (the caller's contract).
    unsafe { vst1q_u32(a.as_mut_ptr(), v) };
    a.map(|x| x as usize)
}

/// A vector of four u32.
///
/// # Safety
/// NEON must be available.
#[inline(always)]
pub(super) unsafe fn vector(a: [u32; 4]) -> uint32x4_t {
    // SAFETY: `a` holds four readable u32; NEON is available (the caller's contract).
    unsafe { vld1q_u32(a.as_ptr()) }
}

/// `2^level` words from `src` into their lanes of four registers (node `j` in lane `j mod 16`, heap index
/// `j − 1`), the other lanes zero: one level's nodes (`level ≤ 4`).
///
/// # Safety
/// NEON must be available and `src[..2^level]` readable; nothing else is read.
#[inline(always)]
unsafe fn level_registers(src: *const u32, level: u32) -> uint8x16x4_t {
    // SAFETY: each arm reads exactly the 2^level words at `src`, and NEON is available (the caller's contract).
    unsafe {
        let zero = vdupq_n_u32(0);
        let [a, b, c, d] = match level {
            // j = 1: lane 1.
            0 => [vld1q_lane_u32::<1>(src, zero), zero, zero, zero],
            // j = 2, 3: lanes 2–3.
            1 => [vcombine_u32(vdup_n_u32(0), vld1_u32(src)), zero, zero, zero],
            // j = 4..8: lanes 4–7.
            2 => [zero, vld1q_u32(src), zero, zero],
            // j = 8..16: lanes 8–15.
            3 => {
                let x = vld1q_u32_x2(src);
                [zero, zero, x.0, x.1]
            }
            // j = 16..32: lanes 0–15.
            _ => {
                let x = vld1q_u32_x4(src);
                [x.0, x.1, x.2, x.3]
            }
        };
        let q = |v| vreinterpretq_u8_u32(v);
        uint8x16x4_t(q(a), q(b), q(c), q(d))
    }
}

impl Quad {
    /// The decision and the next position, given each lane's node (`word`, `t`) and row value `x`.
    ///
    /// # Safety
    /// NEON must be available.
    #[inline(always)]
    unsafe fn next<const LE: bool>(self, word: uint32x4_t, t: float32x4_t, x: float32x4_t) -> Quad {
        // SAFETY: register operations; NEON is available (the caller's contract).
        unsafe { Quad::from_base::<LE>(vaddq_s32(self.0, self.0), word, t, x) }
    }

    /// `base + right`, given each lane's node (`word`'s sign bit the default direction, `t` the threshold) and
    /// row value `x`.
    ///
    /// # Safety
    /// NEON must be available.
    #[inline(always)]
    unsafe fn from_base<const LE: bool>(
        base: int32x4_t,
        word: uint32x4_t,
        t: float32x4_t,
        x: float32x4_t,
    ) -> Quad {
        // SAFETY: register operations; NEON is available (the caller's contract).
        unsafe {
            // Ordered compares: false when x is NaN.
            let below = if LE { vcleq_f32(x, t) } else { vcltq_f32(x, t) };
            let default_left =
                vreinterpretq_u32_s32(vshrq_n_s32::<31>(vreinterpretq_s32_u32(word)));
            // Default-left and NaN (not x = x).
            let nan_left = vbicq_u32(default_left, vceqq_f32(x, x));
            let right = vreinterpretq_s32_u32(vmvnq_u32(vorrq_u32(below, nan_left)));
            // base − (−1 when right, else 0).
            Quad(vsubq_s32(base, right))
        }
    }

    /// Each lane's row value `rows[offset + (word & FEATURE_MASK)]`.
    ///
    /// # Safety
    /// NEON must be available and every lane's row value readable.
    #[inline(always)]
    unsafe fn row_values(word: uint32x4_t, rows: *const f32, offsets: Quad) -> float32x4_t {
        // SAFETY: the caller's contract, passed on.
        unsafe { Quad::values_at(vandq_u32(word, vdupq_n_u32(FEATURE_MASK)), rows, offsets) }
    }

    /// Each lane's row value `rows[offset + feature]`.
    ///
    /// # Safety
    /// NEON must be available and every lane's row value readable.
    #[inline(always)]
    unsafe fn values_at(feature: uint32x4_t, rows: *const f32, offsets: Quad) -> float32x4_t {
        // SAFETY: the caller guarantees each lane's row value is readable and NEON available.
        unsafe {
            let at = lanes(vaddq_u32(vreinterpretq_u32_s32(offsets.0), feature));
            vreinterpretq_f32_u32(vector(at.map(|i| rows.add(i).read().to_bits())))
        }
    }
}

/// Byte `4·k` of each lane `k` spread over the lane's four bytes (the `tbl` pattern).
const SPREAD: [u8; 16] = [0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12];
/// The byte offsets within a lane (0, 1, 2, 3 in every lane).
const BYTES: [u8; 16] = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3];

// SAFETY: instantiated only in the `neon` function below; the loads read what the trait documents.
unsafe impl ForestVector for Quad {
    const LANES: usize = 4;
    const TABLE: usize = 16;
    type Sums = float32x4_t;
    type Table = QuadTable;

    #[inline(always)]
    unsafe fn row_offsets(stride: usize, valid: usize) -> Quad {
        // 3·stride fits an i32 (the caller's contract).
        let lane = |l: usize| if l < valid { (l * stride) as u32 } else { 0 };
        // SAFETY: NEON is available (the caller's contract).
        Quad(unsafe { vreinterpretq_s32_u32(vector([lane(0), lane(1), lane(2), lane(3)])) })
    }
    #[inline(always)]
    unsafe fn root() -> Quad {
        // SAFETY: NEON is available (the caller's contract).
        Quad(unsafe { vdupq_n_s32(1) })
    }
    #[inline(always)]
    unsafe fn table(features: *const u32, thresholds: *const u32, level: u32) -> QuadTable {
        let first = (1usize << level) - 1;
        // SAFETY: the level's 2^level nodes at `first` of each array are readable (the caller's contract), and
        // `level_registers` reads only them.
        unsafe {
            QuadTable {
                features: level_registers(features.add(first), level),
                thresholds: level_registers(thresholds.add(first), level),
            }
        }
    }
    #[inline(always)]
    unsafe fn step_table<const LE: bool>(
        self,
        table: &QuadTable,
        rows: *const f32,
        offsets: Quad,
    ) -> Quad {
        // SAFETY: register lookups and the 16-byte constants; the row reads are the caller's contract, as is NEON.
        unsafe {
            // Byte indices 4·(j mod 16) + 0..3 in each lane: the low byte of 4j (exact: j < 32 at a table level)
            // spread over the lane, masked to 0..60, or'ed with the byte offsets.
            let four_j = vreinterpretq_u8_u32(vshlq_n_u32::<2>(vreinterpretq_u32_s32(self.0)));
            let spread = vqtbl1q_u8(four_j, vld1q_u8(SPREAD.as_ptr()));
            let index = vorrq_u8(vandq_u8(spread, vdupq_n_u8(0x3c)), vld1q_u8(BYTES.as_ptr()));
            let word = vreinterpretq_u32_u8(vqtbl4q_u8(table.features, index));
            let t = vreinterpretq_f32_u8(vqtbl4q_u8(table.thresholds, index));
            let x = Quad::row_values(word, rows, offsets);
            self.next::<LE>(word, t, x)
        }
    }
    #[inline(always)]
    unsafe fn step<const LE: bool>(
        self,
        features_m1: *const u32,
        thresholds_m1: *const u32,
        rows: *const f32,
        offsets: Quad,
    ) -> Quad {
        // SAFETY: the caller guarantees each lane's node fields and row value are readable, and NEON.
        unsafe {
            let j = lanes(vreinterpretq_u32_s32(self.0));
            let word = vector(j.map(|j| features_m1.add(j).read()));
            let t = vreinterpretq_f32_u32(vector(j.map(|j| thresholds_m1.add(j).read())));
            let x = Quad::row_values(word, rows, offsets);
            self.next::<LE>(word, t, x)
        }
    }
    #[inline(always)]
    unsafe fn sparse_root() -> Quad {
        // SAFETY: NEON is available (the caller's contract).
        Quad(unsafe { vdupq_n_s32(0) })
    }
    #[inline(always)]
    unsafe fn step_sparse<const LE: bool>(
        self,
        words: *const u32,
        thresholds: *const u32,
        rows: *const f32,
        offsets: Quad,
    ) -> Quad {
        // SAFETY: the caller guarantees each lane's entry and row value are readable, and NEON.
        unsafe {
            let j = lanes(vreinterpretq_u32_s32(self.0));
            let word = vector(j.map(|j| words.add(j).read()));
            let t = vreinterpretq_f32_u32(vector(j.map(|j| thresholds.add(j).read())));
            let feature = vandq_u32(word, vdupq_n_u32(SPARSE_FEATURE_MASK));
            let child = vandq_u32(
                vshrq_n_u32::<{ SPARSE_CHILD_SHIFT as i32 }>(word),
                vdupq_n_u32(SPARSE_CHILD_MASK),
            );
            let x = Quad::values_at(feature, rows, offsets);
            Quad::from_base::<LE>(vreinterpretq_s32_u32(child), word, t, x)
        }
    }
    #[inline(always)]
    unsafe fn leaf(self, leaves: *const u32) -> float32x4_t {
        // SAFETY: the caller guarantees each lane's leaves[j] is readable, and NEON.
        unsafe {
            let j = lanes(vreinterpretq_u32_s32(self.0));
            vreinterpretq_f32_u32(vector(j.map(|j| leaves.add(j).read())))
        }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> float32x4_t {
        // SAFETY: the caller guarantees 4 readable values at `p`.
        unsafe { vld1q_f32(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, s: float32x4_t) {
        // SAFETY: the caller guarantees 4 writable values at `p`.
        unsafe { vst1q_f32(p, s) }
    }
    #[inline(always)]
    unsafe fn add(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON is available (the caller's contract).
        unsafe { vaddq_f32(a, b) }
    }
}

/// The NEON walk over checked shapes.
///
/// # Safety
/// NEON must be available and the shapes checked as [`generic::sums`] requires.
#[target_feature(enable = "neon")]
unsafe fn sums_neon<const LE: bool>(
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    // SAFETY: the caller's contract; NEON is enabled here for the inlined skeleton.
    unsafe {
        generic::sums::<Quad, GROUPS, LE>(plan, rows.as_ptr(), stride, n_rows, sums.as_mut_ptr())
    }
}

/// [`Simd::forest_sums`](crate::Simd::forest_sums) for NEON, shapes checked by the caller (`n_rows ≥ 1`).
pub(crate) fn forest_sums_neon(
    _: Neon,
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    if !offsets_fit(Quad::LANES, stride, plan.n_features()) {
        return crate::portable::forest::forest_sums(plan, rows, stride, n_rows, sums);
    }
    // SAFETY: the token proves NEON; the caller checked the shapes and the offsets fit an i32.
    unsafe {
        match plan.compare() {
            Compare::Less => sums_neon::<false>(plan, rows, stride, n_rows, sums),
            Compare::LessEqual => sums_neon::<true>(plan, rows, stride, n_rows, sums),
        }
    }
}
