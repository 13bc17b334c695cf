//! The lockstep forest walker ([`Simd::forest_sums`](crate::Simd::forest_sums)) for Helium: four rows per vector,
//! one `asm!` block walking one vector of rows through every tree of a [`Plan`] (stable Rust has no MVE types to
//! carry vectors between blocks, so the tree loop is inside the assembly).
//!
//! # One level
//! With the walk positions `j` (`q0`; the root is `j = 1`, a node of level `k` has `2ᵏ ≤ j < 2ᵏ⁺¹` and heap index
//! `j − 1`, as in the other ISAs' walkers over the [`Plan`] layout of [`crate::forest`]) each step gathers the four
//! nodes' feature words and thresholds (`vldrw.u32 q, [base, q0, uxtw #2]` from the arrays one word before their
//! start), then the four row values at byte offsets `4·feature + 4·lane·stride` (the word shifted left by two
//! drops its default-left bit) from the vector's first row, and sets `j ← 2j + 1`, cleared to `2j` for the lanes
//! that go left.
//!
//! # Decisions, exactly the scalar twin's
//! MVE evaluates floating-point arithmetic and comparisons with the *standard* FPSCR value, which flushes
//! subnormal operands to zero (see [`helium`](super::helium)); a float compare would send a subnormal row value
//! or threshold the wrong way. So `x < t` (`x ≤ t`) is an integer compare of order keys: `k(v) = bits` for a
//! positive sign, `−(bits & 0x7fff_ffff)` for a negative one (so `−0` and `+0` are both 0), computed as
//! `(|bits| ^ s) − s` with `s` the sign spread by an arithmetic shift. A NaN row value gets the key `i32::MAX` and
//! a NaN threshold `i32::MIN`, so that no compare with either is true, as for IEEE comparisons. The only float
//! compare left, `x ≠ x`, finds NaN, which flushing cannot change. A NaN row value goes left when the word's sign
//! (default-left) is set: a compare inside the predicated block that found the NaN lanes (`vcmpt` ANDs).
//!
//! # Sums
//! The four leaves are gathered (`thresholds − 1 + j` is the leaf slot, as in the generic skeleton) and added to
//! the four sums with the *scalar* FPU (`vadd.f32` on `s28`–`s31`, the lanes of `q7`), which follows FPSCR like
//! the scalar twin, so the sums are the twin's bit for bit, subnormals included; one addition per tree in tree
//! order.
//!
//! # Cost
//! 27 instructions per level for four rows (3 gathers) and 16 per tree (its table entry, the leaves, the loop); QEMU's
//! instruction counts for a batch are printed by the Cortex-M55 self-test firmware (`boards/selftest`).
//!
//! # Safety
//! [`forest_sums_helium`] takes the [`Helium`] token and shapes checked by the dispatcher
//! (`forest::check_rows`), and checks that the lanes' byte offsets fit a `u32`. The plan's
//! invariants bound every gather: a tree of depth `D` at word `off` has `2ᴰ − 1` feature words at `off`, as many
//! thresholds after them and `2ᴰ` leaves after those; at level `k < D` the lanes' `j` lie in `[2ᵏ, 2ᵏ⁺¹)`, so
//! `features − 1 + j` and `thresholds − 1 + j` are nodes of the tree, and after `D` levels
//! `thresholds − 1 + j` is a leaf. Features are below `n_features`, so each row value lies in its row, which the
//! shapes check keeps inside `rows` (the lanes past the valid rows of the last vector read the first row again).
//! `VPR` is saved and restored around the block (it cannot be declared), in a lane of `q6` with the sums' address.

use core::arch::asm;

use super::Helium;
use crate::forest::{Compare, Plan};

/// Walks the four rows at `rows` (lane `l`'s row at byte offset `offsets[l]`) through the `n_trees ≥ 1` trees of
/// the plan at `words`, adding each tree's leaf to `sums[l]` in tree order. `LT` is the `vpt` condition of a
/// left decision on the keys (`lt` for [`Compare::Less`], `le` for [`Compare::LessEqual`]).
macro_rules! walk_quad {
    ($lt:literal, $words:expr, $n_trees:expr, $rows:expr, $offsets:expr, $sums:expr) => {
        asm!(
            // q6 keeps VPR and the sums' address; q1 the lane offsets (bytes); q7 the sums (s28–s31).
            "vmrs {a}, p0",
            "vmov.32 q6[0], {a}",
            "vmov.32 q6[1], {sums}",
            "vldrw.u32 q1, [{offsets}]",
            "vldrw.u32 q7, [{sums}]",
            // Tree loop: (off, depth) from the table.
            "2:",
            "ldrd {a}, {b}, [{tab}], #8",
            "add {fm1}, {words}, {a}, lsl #2",
            "subs {fm1}, {fm1}, #4",
            "movs {a}, #1",
            "lsls {a}, {a}, {b}",
            // thresholds − 1 = features − 1 + 2^depth − 1.
            "add {tm1}, {fm1}, {a}, lsl #2",
            "subs {tm1}, {tm1}, #4",
            "vmov.i32 q0, #1",
            "wls lr, {b}, 4f",
            // Level loop.
            "3:",
            "vldrw.u32 q2, [{fm1}, q0, uxtw #2]",
            "vldrw.u32 q3, [{tm1}, q0, uxtw #2]",
            "vshl.i32 q5, q2, #2",
            "vadd.i32 q5, q5, q1",
            "vldrw.u32 q4, [{rows}, q5]",
            // j ← 2j + 1 (right); left lanes clear bit 0 below.
            "vshl.i32 q0, q0, #1",
            "vorr.i32 q0, #1",
            // Row value key; NaN lanes: key i32::MAX, and left if default-left.
            "vcmp.f32 ne, q4, q4",
            "vshr.s32 q5, q4, #31",
            "vbic.i32 q4, #0x80000000",
            "veor q4, q4, q5",
            "vsub.i32 q4, q4, q5",
            "vpstt",
            "vmvnt.i32 q4, #0x80000000",
            "vcmpt.s32 lt, q2, zr",
            "vpst",
            "vbict.i32 q0, #1",
            // Threshold key; NaN: i32::MIN.
            "vcmp.f32 ne, q3, q3",
            "vshr.s32 q5, q3, #31",
            "vbic.i32 q3, #0x80000000",
            "veor q3, q3, q5",
            "vsub.i32 q3, q3, q5",
            "vpst",
            "vmovt.i32 q3, #0x80000000",
            // Below: left.
            concat!("vpt.s32 ", $lt, ", q4, q3"),
            "vbict.i32 q0, #1",
            "le lr, 3b",
            // The leaf, added on the scalar FPU.
            "4:",
            "vldrw.u32 q4, [{tm1}, q0, uxtw #2]",
            "vadd.f32 s28, s28, s16",
            "vadd.f32 s29, s29, s17",
            "vadd.f32 s30, s30, s18",
            "vadd.f32 s31, s31, s19",
            "subs {nt}, {nt}, #1",
            "bne 2b",
            "vmov.32 {a}, q6[1]",
            "vstrw.32 q7, [{a}]",
            "vmov.32 {a}, q6[0]",
            "vmsr p0, {a}",
            words = in(reg) $words,
            tab = inout(reg) $words => _,
            nt = inout(reg) $n_trees => _,
            rows = in(reg) $rows,
            offsets = in(reg) $offsets,
            sums = in(reg) $sums,
            fm1 = out(reg) _,
            tm1 = out(reg) _,
            a = out(reg) _,
            b = out(reg) _,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _,
            out("q4") _, out("q5") _, out("q6") _, out("q7") _,
            options(nostack),
        )
    };
}

/// One vector of four rows through every tree.
///
/// # Safety
/// `words` must be the words of `plan`-shaped data with `n_trees ≥ 1` trees (the [`Plan`] invariants); for every
/// lane `l` and feature `f < n_features`, `rows + offsets[l] + 4f` (bytes) must be a readable row value; `sums`
/// must be four readable and writable f32. The core must have MVE with floating point.
#[inline(always)]
unsafe fn quad<const LE: bool>(
    words: *const u32,
    n_trees: usize,
    rows: *const f32,
    offsets: &[u32; 4],
    sums: *mut f32,
) {
    let offsets = offsets.as_ptr();
    // SAFETY: see the module documentation: every gather stays in the plan's trees or the rows (the caller's
    // contract), `sums` is four f32; VPR is saved and restored; every written register is declared.
    unsafe {
        if LE {
            walk_quad!("le", words, n_trees, rows, offsets, sums);
        } else {
            walk_quad!("lt", words, n_trees, rows, offsets, sums);
        }
    }
}

/// [`Simd::forest_sums`](crate::Simd::forest_sums) for Helium, shapes checked by the caller (`n_rows ≥ 1`).
pub(crate) fn forest_sums_helium(
    _: Helium,
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    // Byte offsets of the lanes' rows plus their values must fit the gathers' u32 offsets.
    let fits = stride
        .checked_mul(3)
        .and_then(|x| x.checked_add(plan.n_features()))
        .and_then(|x| x.checked_mul(4))
        .is_some_and(|x| x <= u32::MAX as usize);
    // The walker below reads complete trees only.
    if !fits || plan.has_sparse() {
        return crate::portable::forest::forest_sums(plan, rows, stride, n_rows, sums);
    }
    if plan.n_trees() == 0 {
        return;
    }
    match plan.compare() {
        Compare::Less => walk::<false>(plan, rows, stride, n_rows, sums),
        Compare::LessEqual => walk::<true>(plan, rows, stride, n_rows, sums),
    }
}

/// The rows four at a time, the last `< 4` with their sums in a scratch vector.
fn walk<const LE: bool>(
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    let words = plan.words().as_ptr();
    let n = plan.n_trees();
    // Fits a u32 (checked by the caller).
    let lane = |l: usize, valid: usize| {
        if l < valid {
            (4 * l).wrapping_mul(stride) as u32
        } else {
            0
        }
    };
    let full = [0, lane(1, 4), lane(2, 4), lane(3, 4)];
    let mut r = 0;
    while r + 4 <= n_rows {
        let (Some(row), Some(s)) = (rows.get(r * stride..), sums.get_mut(r..r + 4)) else {
            return;
        };
        // SAFETY: the token proves MVE (the caller's); rows r..r + 4 are below n_rows, each holding n_features
        // values inside `rows` (checked shapes), at the byte offsets `full` from `row`; `s` is four sums.
        unsafe { quad::<LE>(words, n, row.as_ptr(), &full, s.as_mut_ptr()) };
        r += 4;
    }
    if r < n_rows {
        let valid = n_rows - r;
        let offsets = [0, lane(1, valid), lane(2, valid), lane(3, valid)];
        let (Some(row), Some(s)) = (rows.get(r * stride..), sums.get_mut(r..n_rows)) else {
            return;
        };
        let mut scratch = [0.0f32; 4];
        for (d, v) in scratch.iter_mut().zip(s.iter()) {
            *d = *v;
        }
        // SAFETY: as above for the `valid` rows; the other lanes re-read row r (offset 0). The sums are the
        // scratch's four values.
        unsafe { quad::<LE>(words, n, row.as_ptr(), &offsets, scratch.as_mut_ptr()) };
        for (d, v) in s.iter_mut().zip(&scratch) {
            *d = *v;
        }
    }
}
