//! The lockstep walker's skeleton ([`Simd::forest_sums`](crate::Simd::forest_sums)), written once for every ISA
//! whose index vectors implement [`ForestVector`] (AVX2 and AVX-512 today; NEON or Helium would implement the same
//! trait).
//!
//! Rows are taken in blocks of `G` vectors of `LANES` rows: for each tree in order, the `G` vectors step down its
//! levels together (their gathers are independent, so they overlap in the memory pipeline), then each lane adds
//! its leaf to its row's sum. Rows left over after the last whole block go one vector at a time, the last one
//! with fewer valid lanes: its other lanes re-read the first row of the vector (in bounds) and their sums are
//! dropped.
//!
//! # Memory safety
//! The ISA's entry checks the shapes once ([`check_rows`](crate::forest::check_rows)) and that every row offset
//! `lane·stride + feature` fits an `i32`. A [`Plan`]'s invariants then bound every gather: a step at index `i` of
//! a tree of depth `D` (`i < 2ᴰ − 1` before the last step) reads node pair `i` inside the tree's data, and the row
//! value `rows[vector start + lane·stride + feature]` with `feature < n_features`; the leaf read at
//! `2ᴰ − 1 ≤ i < 2ᴰ⁺¹ − 1` lies in the tree's leaf slots.

use crate::forest::Plan;

/// A vector of `i32` node indices (one row per lane) and the operations of one walk.
///
/// # Safety
/// Implementations are instantiated only inside functions whose `#[target_feature]` set includes the
/// instructions the methods use; the gathers read exactly the addresses the method documents.
pub(crate) unsafe trait ForestVector: Copy {
    /// Rows per vector.
    const LANES: usize;
    /// A vector of `f32` sums, one per lane.
    type Sums: Copy;

    /// `lane·stride` in each lane below `valid`, 0 in the others. `(LANES − 1)·stride` fits an `i32`.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn row_offsets(stride: usize, valid: usize) -> Self;
    /// Index 0 (the root) in every lane.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn root() -> Self;
    /// One level: with the node pair `(word, threshold)` at `nodes[2i], nodes[2i + 1]` of each lane's index `i`,
    /// and the row value `x = rows[offset + (word & 0x7fff_ffff)]`, the next index `2i + 1` (left: `x` below the
    /// threshold, `<` or with `LE` `<=`, or NaN with the word's default-left bit) or `2i + 2`.
    ///
    /// # Safety
    /// Every lane's node pair and row value must be readable.
    unsafe fn step<const LE: bool>(
        self,
        nodes: *const u32,
        rows: *const f32,
        offsets: Self,
    ) -> Self;
    /// Each lane's leaf value `f32::from_bits(leaves[i])`.
    ///
    /// # Safety
    /// Every lane's `leaves[i]` must be readable.
    unsafe fn leaf(self, leaves: *const u32) -> Self::Sums;
    /// Loads `LANES` sums.
    ///
    /// # Safety
    /// `LANES` values at `p` must be readable.
    unsafe fn load(p: *const f32) -> Self::Sums;
    /// Stores `LANES` sums.
    ///
    /// # Safety
    /// `LANES` values at `p` must be writable.
    unsafe fn store(p: *mut f32, s: Self::Sums);
    /// `a + b` in every lane (one f32 addition, round to nearest).
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn add(a: Self::Sums, b: Self::Sums) -> Self::Sums;
}

/// Most rows per vector of any ISA (the tail's scratch).
const MAX_LANES: usize = 16;

/// Walks every tree of `plan` for the `G` vectors of rows at `bases` (each with `offsets`), adding each tree's
/// leaf to `acc` in tree order.
///
/// # Safety
/// The ISA of `V` must be available; for every lane, `bases[g] + offset + feature` must be a readable row value
/// for every `feature < plan.n_features()` (the plan's invariants bound the rest).
#[inline(always)]
unsafe fn trees<V: ForestVector, const G: usize, const LE: bool>(
    plan: &Plan<'_>,
    bases: [*const f32; G],
    offsets: V,
    acc: &mut [V::Sums; G],
) {
    let words = plan.words().as_ptr();
    // SAFETY: the plan's invariants put each tree's node pairs and leaf slots at `off..off + 3·2^depth − 2`
    // inside `words`; the steps read node pairs i < 2^depth − 1 and the leaf read slots 2^depth − 1 ≤ i <
    // 2^(depth+1) − 1 relative to `off + 2^depth − 1`, i.e. within the tree's data; the row reads are the
    // caller's contract.
    unsafe {
        for t in 0..plan.n_trees() {
            let (off, depth) = plan.tree(t);
            let nodes = words.add(off);
            let mut idx = [V::root(); G];
            for _ in 0..depth {
                for (i, &base) in idx.iter_mut().zip(&bases) {
                    *i = i.step::<LE>(nodes, base, offsets);
                }
            }
            let leaves = nodes.add((1usize << depth) - 1);
            for (a, i) in acc.iter_mut().zip(&idx) {
                *a = V::add(*a, i.leaf(leaves));
            }
        }
    }
}

/// Adds every tree's leaf to `sums[r]` for the `n_rows` rows at `rows` (row `r` at `rows + r·stride`), in tree
/// order, `G` vectors of rows at a time.
///
/// # Safety
/// The ISA of `V` must be available; the shapes must have passed [`check_rows`](crate::forest::check_rows) for
/// `plan` (so every row holds `n_features` values and `sums` holds `n_rows`), with `n_rows ≥ 1`, and
/// `(LANES − 1)·stride + n_features` must fit an `i32`.
#[inline(always)]
pub(crate) unsafe fn sums<V: ForestVector, const G: usize, const LE: bool>(
    plan: &Plan<'_>,
    rows: *const f32,
    stride: usize,
    n_rows: usize,
    sums: *mut f32,
) {
    let lanes = V::LANES;
    let block = G * lanes;
    let mut r = 0;
    // SAFETY: every vector's rows are below n_rows, each of which holds n_features values (checked); lanes past
    // the valid ones re-read their vector's first row; the sums of rows r..r + lanes (or of the valid lanes, via
    // the scratch) are in `sums`.
    unsafe {
        let full = V::row_offsets(stride, lanes);
        while r + block <= n_rows {
            let bases: [*const f32; G] =
                core::array::from_fn(|g| rows.add((r + g * lanes) * stride));
            let mut acc: [V::Sums; G] = core::array::from_fn(|g| V::load(sums.add(r + g * lanes)));
            trees::<V, G, LE>(plan, bases, full, &mut acc);
            for (g, a) in acc.iter().enumerate() {
                V::store(sums.add(r + g * lanes), *a);
            }
            r += block;
        }
        while r < n_rows {
            let valid = (n_rows - r).min(lanes);
            let mut scratch = [0.0f32; MAX_LANES];
            core::ptr::copy_nonoverlapping(sums.add(r), scratch.as_mut_ptr(), valid);
            let mut acc = [V::load(scratch.as_ptr())];
            trees::<V, 1, LE>(
                plan,
                [rows.add(r * stride)],
                V::row_offsets(stride, valid),
                &mut acc,
            );
            V::store(scratch.as_mut_ptr(), acc[0]);
            core::ptr::copy_nonoverlapping(scratch.as_ptr(), sums.add(r), valid);
            r += valid;
        }
    }
}
