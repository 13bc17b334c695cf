//! The single-row walker's skeleton ([`Simd::forest_row`](crate::Simd::forest_row)), written once for every ISA
//! whose vectors implement [`RowVector`] (AVX2, AVX-512 and NEON).
//!
//! Here the lanes are *trees*: one row walks `LANES` consecutive trees of the plan per vector, each lane at its
//! own tree's node, and `G` vectors (`G·LANES` trees, a block) step down together so that their loads overlap.
//! Each lane walks with its heap index `i` (root 0, a step is `i ← 2i + 1 + right`), reading its node at
//! `words[offset + i]` (the feature word) and `words[offset + 2ᴰ − 1 + i]` (the threshold), with its tree's
//! `offset` and depth `D` from the plan's table. A block steps as many levels as its deepest tree; a lane whose
//! tree is shallower stops at its leaf (its index no longer changes and it reads the row at feature 0). After the
//! last level each lane's leaf is `words[offset + 2ᴰ − 1 + i]` (for `2ᴰ − 1 ≤ i < 2ᴰ⁺¹ − 1` that is leaf slot
//! `i − (2ᴰ − 1)`); the block's leaves are stored and added to the sum one by one in tree order, so the result is
//! bit for bit that of the scalar twin and of [`Simd::forest_sums`](crate::Simd::forest_sums) for the same row.
//! The vectors are shared out evenly between blocks of at most `G`; the last vector's lanes past the plan's trees
//! walk its last tree again and their leaves are dropped.
//!
//! # Memory safety
//! The ISA's entry checks the row's length once ([`check_row`](crate::forest::check_row)) and that the plan's
//! words are addressable with `i32` indices. A [`Plan`]'s invariants bound every other access: tree `t`'s table
//! entry is at `2t < 2·n_trees`; a tree of depth `D` at `offset` spans `3·2ᴰ − 2` words of the plan. While its
//! lane is active (`level < D`) it has `i < 2ᴰ − 1`, a node; once done, `2ᴰ − 1 ≤ i ≤ 2ᴰ⁺¹ − 2`, and both reads
//! stay in the tree (`offset + 2ᴰ − 1 + i ≤ offset + 3·2ᴰ − 3`), but an inactive lane's word is not a feature, so
//! the row is read at feature 0 instead (`n_features ≥ 1` whenever some tree has a split, so whenever a level is
//! stepped at all). An active lane's feature is below `n_features ≤ row.len()`.

use crate::arch::generic::forest::ForestVector;
use crate::forest::Plan;

/// A vector of `i32` heap indices `i`, one tree per lane, and the operations of a single-row walk.
///
/// # Safety
/// As [`ForestVector`]: instantiated only inside functions whose `#[target_feature]` set includes the
/// instructions the methods use; memory is read exactly where the methods document.
pub(crate) unsafe trait RowVector: ForestVector {
    /// `LANES` table entries `(offset, depth)` from the `2·LANES` words at `table`: the offsets, the threshold
    /// bases `offset + 2^depth − 1` and the depths, one tree per lane.
    ///
    /// # Safety
    /// `table[..2·LANES]` must be readable, and every depth at most [`MAX_DEPTH`](crate::forest::MAX_DEPTH).
    unsafe fn trees(table: *const u32) -> (Self, Self, Self);
    /// `i = 0` (the root) in every lane.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn zero() -> Self;
    /// One level: in each lane whose `depth` is above `level`, with its node `word = words[features + i]`,
    /// `threshold = words[thresholds + i]` and the row value `x = row[word & 0x7fff_ffff]`, the next
    /// `2i + 1 + right`, where the row goes left when `x` is below the threshold (`<`, or with `LE` `<=`), or
    /// NaN and the word's default-left bit is set. Other lanes keep `i` (and read `row[0]`, if anything).
    ///
    /// # Safety
    /// For every lane, `words[features + i]`, `words[thresholds + i]` must be readable, and in active lanes
    /// `row[word & 0x7fff_ffff]`, in the others `row[0]`.
    unsafe fn step_row<const LE: bool>(
        self,
        words: *const u32,
        features: Self,
        thresholds: Self,
        depths: Self,
        level: i32,
        row: *const f32,
    ) -> Self;
    /// Each lane's `f32::from_bits(words[thresholds + i])` (its leaf, after the last level).
    ///
    /// # Safety
    /// Every lane's word must be readable.
    unsafe fn leaf_row(self, words: *const u32, thresholds: Self) -> Self::Sums;
}

/// Most trees of one block (`G·LANES`) of any instance: 4 vectors of 16 lanes.
const MAX_BLOCK: usize = 64;

/// Walks the `valid` trees from `first` (a block of `G` vectors; `1 ≤ valid ≤ G·LANES ≤ MAX_BLOCK`, lanes past
/// `valid` repeat the plan's last tree) for the row at `row`, adding their leaves to `acc` in tree order.
///
/// # Safety
/// The ISA of `V` must be available; `row[..plan.n_features()]` must be readable, the plan's words addressable
/// with `i32` indices, and `first + valid ≤ plan.n_trees()`.
#[inline(always)]
unsafe fn block<V: RowVector, const G: usize, const LE: bool>(
    plan: &Plan<'_>,
    first: usize,
    valid: usize,
    row: *const f32,
    acc: &mut f32,
) {
    let lanes = V::LANES;
    // Never taken (`row` only instantiates blocks that fit, and dispatches to at most `G`): keeps the scratch
    // arrays' bounds a local fact rather than the dispatcher's.
    if G * lanes > MAX_BLOCK || valid == 0 || valid > G * lanes {
        return;
    }
    let words = plan.words();
    let n_trees = plan.n_trees();
    let mut scratch = [0u32; 2 * MAX_BLOCK];
    let mut deepest = 0u32;
    // The table entries of the block: read in place for a whole block, else copied with the last tree repeated.
    let table: *const u32 = if valid == G * lanes {
        for t in first..first + valid {
            deepest = deepest.max(plan.tree(t).1);
        }
        // In bounds: first + valid ≤ n_trees and the table holds 2·n_trees words (the plan's invariant).
        words.get(2 * first..).unwrap_or_default().as_ptr()
    } else {
        for (k, pair) in scratch.chunks_exact_mut(2).take(G * lanes).enumerate() {
            let (off, depth) = plan.tree((first + k).min(n_trees - 1));
            pair[0] = off as u32;
            pair[1] = depth;
            deepest = deepest.max(depth);
        }
        scratch.as_ptr()
    };
    let words = words.as_ptr();
    // SAFETY: the table pointer has 2·G·LANES readable words (the plan's table for a whole block, else the
    // scratch), with depths ≤ MAX_DEPTH; the walk's reads are bounded as the module documentation shows, the row
    // by the caller's contract.
    unsafe {
        let mut features = [V::zero(); G];
        let mut thresholds = [V::zero(); G];
        let mut depths = [V::zero(); G];
        for g in 0..G {
            (features[g], thresholds[g], depths[g]) = V::trees(table.add(2 * g * lanes));
        }
        let mut i = [V::zero(); G];
        for level in 0..deepest as i32 {
            for g in 0..G {
                i[g] =
                    i[g].step_row::<LE>(words, features[g], thresholds[g], depths[g], level, row);
            }
        }
        let mut leaves = [0.0f32; MAX_BLOCK];
        for g in 0..G {
            V::store(
                leaves.as_mut_ptr().add(g * lanes),
                i[g].leaf_row(words, thresholds[g]),
            );
        }
        for &leaf in leaves.iter().take(valid) {
            *acc += leaf;
        }
    }
}

/// Adds every tree's leaf for the row at `row` to `sum`, in tree order, at most `G` vectors of trees at a time
/// (`1 ≤ G ≤ 8`, `G·LANES ≤ 64`). The vectors are shared out evenly between the fewest blocks: 13 vectors in
/// blocks of at most 6 go as 5, 4 and 4, not 6, 6 and a lone vector whose loads nothing overlaps.
///
/// # Safety
/// The ISA of `V` must be available, `row[..plan.n_features()]` readable and the plan's words addressable with
/// `i32` indices (`words.len() ≤ i32::MAX`).
#[inline(always)]
pub(crate) unsafe fn row<V: RowVector, const G: usize, const LE: bool>(
    plan: &Plan<'_>,
    row: *const f32,
    sum: &mut f32,
) {
    let lanes = V::LANES;
    let n = plan.n_trees();
    let mut acc = *sum;
    let mut vectors = n.div_ceil(lanes);
    let mut blocks = vectors.div_ceil(G);
    let mut t = 0;
    // SAFETY: every block lies within the plan's trees and has at most its vectors' lanes of trees (`v ≤ G`
    // since `vectors ≤ blocks·G` throughout); the rest is the caller's contract.
    unsafe {
        while blocks > 0 && t < n {
            let v = vectors.div_ceil(blocks).clamp(1, G);
            let valid = (v * lanes).min(n - t);
            let a = &mut acc;
            match v {
                _ if v >= G => block::<V, G, LE>(plan, t, valid, row, a),
                1 => block::<V, 1, LE>(plan, t, valid, row, a),
                2 => block::<V, 2, LE>(plan, t, valid, row, a),
                3 => block::<V, 3, LE>(plan, t, valid, row, a),
                4 => block::<V, 4, LE>(plan, t, valid, row, a),
                5 => block::<V, 5, LE>(plan, t, valid, row, a),
                6 => block::<V, 6, LE>(plan, t, valid, row, a),
                _ => block::<V, 7, LE>(plan, t, valid, row, a),
            }
            t += valid;
            vectors -= v;
            blocks -= 1;
        }
    }
    *sum = acc;
}
