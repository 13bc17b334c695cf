//! The lockstep walker's skeleton ([`Simd::forest_sums`](crate::Simd::forest_sums)), written once for every ISA
//! whose index vectors implement [`ForestVector`] (AVX2, AVX-512 and NEON).
//!
//! Rows are taken in blocks of `G` vectors of `LANES` rows: for each tree in order, the `G` vectors step down its
//! levels together (their gathers are independent, so they overlap in the memory pipeline), then each lane adds
//! its leaf to its row's sum. Rows left over after the last whole block go one vector at a time, the last one
//! with fewer valid lanes: its other lanes re-read the first row of the vector (in bounds) and their sums are
//! dropped.
//!
//! Each lane walks with `j = i + 1` (`i` the heap index of its node): the root is `j = 1`, a step is
//! `j ← 2j + right`, the nodes of level `k` are `2ᵏ ≤ j < 2ᵏ⁺¹` and after `D` steps `j − 2ᴰ` is the leaf slot. A level
//! of at most [`ForestVector::TABLE`] nodes is loaded into registers once per tree (shared by the `G` vectors) with
//! node `j` in lane `j mod TABLE`, so that a permute indexed by `j` itself looks up every lane's node; deeper
//! levels gather their nodes from the arrays (at `features − 1 + j`, `thresholds − 1 + j`).
//!
//! # Memory safety
//! The ISA's entry checks the shapes once ([`check_rows`](crate::forest::check_rows)) and that every row offset
//! `lane·stride + feature` fits an `i32`. A [`Plan`]'s invariants then bound every access: a tree of depth `D` at
//! word `off` has its features at `off + i`, thresholds at `off + 2ᴰ − 1 + i` (`i < 2ᴰ − 1`) and leaves at
//! `off + 2(2ᴰ − 1) + s` (`s < 2ᴰ`); a level's table loads exactly its `2ᵏ` nodes (masked loads), a gathered step
//! at level `k < D` reads node `i = j − 1 < 2ᴰ − 1`, the leaf read `thresholds − 1 + j` for `2ᴰ ≤ j < 2ᴰ⁺¹` is leaf
//! slot `j − 2ᴰ`; the row value `rows[vector start + lane·stride + feature]` has `feature < n_features`. Pointers
//! one word before an array are formed with wrapping arithmetic and only used with indices `j ≥ 1`. A sparse tree
//! of `E` entries at word `off` is read at `off + j`, `off + E + j` and `off + 2E + j` with `0 ≤ j < E`: `j` starts
//! at 0 and a step moves it to `c + right ≤ E − 1`, `c` the entry's first-child field (at most `E − 2`).

use crate::forest::{Plan, TreeShape};

/// A vector of `i32` walk positions `j` (one row per lane) and the operations of one walk.
///
/// # Safety
/// Implementations are instantiated only inside functions whose `#[target_feature]` set includes the
/// instructions the methods use; memory is read exactly where the methods document.
pub(crate) unsafe trait ForestVector: Copy {
    /// Rows per vector.
    const LANES: usize;
    /// Most nodes of a level looked up from registers (a power of two).
    const TABLE: usize;
    /// A vector of `f32` sums, one per lane.
    type Sums: Copy;
    /// One level's nodes in registers.
    type Table: Copy;

    /// `lane·stride` in each lane below `valid`, 0 in the others. `(LANES − 1)·stride` fits an `i32`.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn row_offsets(stride: usize, valid: usize) -> Self;
    /// `j = 1` (the root) in every lane.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn root() -> Self;
    /// The `2^level ≤ TABLE` nodes of `level` (features and thresholds at `first = 2^level − 1` of each array),
    /// node `j` in lane `j mod TABLE`.
    ///
    /// # Safety
    /// `features[first..first + 2^level]` and `thresholds[..]` alike must be readable; only they are read.
    unsafe fn table(features: *const u32, thresholds: *const u32, level: u32) -> Self::Table;
    /// One level from a table: with each lane's node `(word, threshold)` (the table's lane `j mod TABLE`) and the
    /// row value `x = rows[offset + (word & 0x7fff_ffff)]`, the next `2j + right`, where a row goes left when `x`
    /// is below the threshold (`<`, or with `LE` `<=`), or NaN and the word's default-left bit is set.
    ///
    /// # Safety
    /// Every lane's row value must be readable.
    unsafe fn step_table<const LE: bool>(
        self,
        table: &Self::Table,
        rows: *const f32,
        offsets: Self,
    ) -> Self;
    /// One level with gathered nodes: as [`ForestVector::step_table`] with `word = features_m1[j]` and
    /// `threshold = thresholds_m1[j]`.
    ///
    /// # Safety
    /// Every lane's `features_m1[j]`, `thresholds_m1[j]` and row value must be readable.
    unsafe fn step<const LE: bool>(
        self,
        features_m1: *const u32,
        thresholds_m1: *const u32,
        rows: *const f32,
        offsets: Self,
    ) -> Self;
    /// `j = 0` (a sparse tree's root) in every lane.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn sparse_root() -> Self;
    /// One step of a sparse tree: with each lane's entry `(word, threshold) = (words[j], thresholds[j])` and the
    /// row value `x = rows[offset + (word & 0xffff)]`, the next `((word >> 16) & 0x7fff) + right`, where a row
    /// goes left as in [`ForestVector::step_table`].
    ///
    /// # Safety
    /// Every lane's `words[j]`, `thresholds[j]` and row value must be readable.
    unsafe fn step_sparse<const LE: bool>(
        self,
        words: *const u32,
        thresholds: *const u32,
        rows: *const f32,
        offsets: Self,
    ) -> Self;
    /// Each lane's leaf value `f32::from_bits(leaves[j])`.
    ///
    /// # Safety
    /// Every lane's `leaves[j]` must be readable.
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

/// Whether `(lanes − 1)·stride + n_features` fits the walkers' `i32` row offsets.
pub(crate) fn offsets_fit(lanes: usize, stride: usize, n_features: usize) -> bool {
    (lanes - 1)
        .checked_mul(stride)
        .and_then(|x| x.checked_add(n_features))
        .is_some_and(|x| x <= i32::MAX as usize)
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
    // SAFETY: the plan's invariants put each tree's three arrays inside `words` (see the module documentation for
    // the addresses each read uses); the row reads are the caller's contract.
    unsafe {
        for t in 0..plan.n_trees() {
            let (off, depth) = match plan.shape(t) {
                TreeShape::Complete { off, depth } => (off, depth),
                TreeShape::Sparse {
                    off,
                    entries,
                    depth,
                } => {
                    // Entry j's word, threshold and leaf at off + j, off + E + j, off + 2E + j; every position
                    // stays an entry (first child ≤ E − 2, invariant).
                    let nodes = words.add(off);
                    let thresholds = nodes.add(entries);
                    let leaves = thresholds.add(entries);
                    let mut j = [V::sparse_root(); G];
                    for _ in 0..depth {
                        for (j, &base) in j.iter_mut().zip(&bases) {
                            *j = j.step_sparse::<LE>(nodes, thresholds, base, offsets);
                        }
                    }
                    for (a, j) in acc.iter_mut().zip(&j) {
                        *a = V::add(*a, j.leaf(leaves));
                    }
                    continue;
                }
            };
            let features = words.add(off);
            let thresholds = features.add((1usize << depth) - 1);
            let features_m1 = features.wrapping_sub(1);
            // Also the leaves' base: thresholds − 1 + j is leaf slot j − 2^depth for the final j.
            let thresholds_m1 = thresholds.wrapping_sub(1);
            let mut j = [V::root(); G];
            for level in 0..depth {
                if (1usize << level) <= V::TABLE {
                    let table = V::table(features, thresholds, level);
                    for (j, &base) in j.iter_mut().zip(&bases) {
                        *j = j.step_table::<LE>(&table, base, offsets);
                    }
                } else {
                    for (j, &base) in j.iter_mut().zip(&bases) {
                        *j = j.step::<LE>(features_m1, thresholds_m1, base, offsets);
                    }
                }
            }
            for (a, j) in acc.iter_mut().zip(&j) {
                *a = V::add(*a, j.leaf(thresholds_m1));
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
