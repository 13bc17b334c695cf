//! Prediction from a validated compact blob: the walk, the sums and the transform (shared with the general
//! layout's predictor, so both round alike).

use super::{COLUMN_SHIFT, FAR_SHIFT, FEATURE_MASK, FEATURE_SHIFT, MAX_OUTPUTS, PAIR_FAR, RECORD};
use super::{CompactForest, CompactTransform, TREE_ENTRY, VECTOR_COLUMN};
use super::{OBLIVIOUS, ROOT_MASK};
use crate::forest::predict::apply_transform;
use crate::forest::{ShapeError, Transform};

/// Reads a little-endian `u32` at `p`.
///
/// # Safety
/// `p .. p + 4` is readable and `p` is 4-byte aligned.
#[inline(always)]
unsafe fn word(p: *const u8) -> u32 {
    // SAFETY: the caller guarantees 4 readable bytes at a 4-byte aligned address.
    u32::from_le(unsafe { p.cast::<u32>().read() })
}

/// The leaf word an oblivious tree (header record at `p`) sends `row` to.
///
/// # Safety
/// `p` is the header of an oblivious tree of a validated blob (its depth, level records and `2^depth` leaf words
/// follow it inside the blob), and `row.len() >= n_features`.
#[inline(never)]
unsafe fn oblivious_leaf(p: *const u8, row: &[f32]) -> *const u8 {
    // SAFETY: the header's first word is inside the blob and aligned (the caller's validated header).
    let depth = unsafe { word(p) };
    // The index carries a leading 1 above its `depth` bits: the loop ends when that bit reaches `end`. (A
    // counted loop would be unrolled at opt-level 3, several hundred bytes for no gain on trees this shallow.)
    let end = 1usize << depth;
    let mut index = 1usize;
    // SAFETY: the level records follow the header inside the tree (validated).
    let mut q = unsafe { p.add(RECORD) };
    while index < end {
        // SAFETY: `q` is one of the `depth` level records (validated inside the tree, aligned).
        let (t, info) = unsafe { (q.cast::<f32>().read(), word(q.add(4))) };
        // SAFETY: a level's feature index is below n_features (validated); the caller guarantees the row's
        // length.
        let x = unsafe { *row.get_unchecked(((info >> FEATURE_SHIFT) & FEATURE_MASK) as usize) };
        let y = f32::from_bits(x.to_bits() ^ (info << 31));
        index = 2 * index + usize::from(y >= t);
        // SAFETY: the next level record, or the first record of the leaf table after the last level.
        q = unsafe { q.add(RECORD) };
    }
    // SAFETY: index − end < 2^depth, and the table's 2^depth words start at `q` inside the tree (validated).
    unsafe { q.add(4 * (index - end)) }
}

impl CompactForest<'_> {
    /// Writes the raw margins of one row (`n_outputs` values) into `out[..n_outputs]`.
    ///
    /// `row` must hold at least [`CompactForest::n_features`] values; NaN marks a missing value. Extra values
    /// and extra room in `out` are ignored.
    #[inline(never)]
    pub fn predict_margin(&self, row: &[f32], out: &mut [f32]) -> Result<(), ShapeError> {
        self.check(row.len(), out.len(), self.n_outputs)?;
        let mut acc = [0.0f32; MAX_OUTPUTS];
        let n = self.sums(row, &mut acc);
        for (o, a) in out.iter_mut().zip(n) {
            *o = *a;
        }
        Ok(())
    }

    /// Writes the prediction of one row through the transform `T` (a type: only its code is linked), which the
    /// caller chose to be the model's ([`CompactForest::transform`] equal to `T::TRANSFORM`; a firmware built
    /// for one model checks that once after loading). Writes `1` value for [`ArgMax`](super::ArgMax), else
    /// `n_outputs`; bit for bit what [`CompactForest::predict`] writes when `T` is the model's transform.
    #[inline(never)]
    pub fn predict_with<T: CompactTransform>(
        &self,
        row: &[f32],
        out: &mut [f32],
    ) -> Result<(), ShapeError> {
        let needed = if T::TRANSFORM == Transform::ArgMax {
            1
        } else {
            self.n_outputs
        };
        self.check(row.len(), out.len(), needed)?;
        let mut acc = [0.0f32; MAX_OUTPUTS];
        let n = self.sums(row, &mut acc);
        apply_transform(T::TRANSFORM, n, out);
        Ok(())
    }

    /// Writes the prediction of one row ([`CompactForest::output_len`] values): the margins through the
    /// model's transform (read from the blob, so the code of all five is linked; see
    /// [`CompactForest::predict_with`]).
    #[inline(never)]
    pub fn predict(&self, row: &[f32], out: &mut [f32]) -> Result<(), ShapeError> {
        self.check(row.len(), out.len(), self.output_len())?;
        let mut acc = [0.0f32; MAX_OUTPUTS];
        let n = self.sums(row, &mut acc);
        // The shared transform code, instantiated for the five transforms the layout has (validated by `new`),
        // so that the general layout's others are not linked.
        match self.transform {
            Transform::Sigmoid => apply_transform(Transform::Sigmoid, n, out),
            Transform::Softmax => apply_transform(Transform::Softmax, n, out),
            Transform::ArgMax => apply_transform(Transform::ArgMax, n, out),
            Transform::Exp => apply_transform(Transform::Exp, n, out),
            _ => apply_transform(Transform::Identity, n, out),
        }
        Ok(())
    }

    fn check(&self, row: usize, out: usize, needed: usize) -> Result<(), ShapeError> {
        if row < self.n_features {
            return Err(ShapeError::RowTooShort {
                needed: self.n_features,
                got: row,
            });
        }
        if out < needed {
            return Err(ShapeError::OutputTooShort { needed, got: out });
        }
        Ok(())
    }

    /// The margins of `row` in `acc[..n_outputs]` (returned): as the general layout's f32 predictor, a sum
    /// starts from the base margin and adds the trees in order; a mean adds the trees from zero, divides, then
    /// adds the base margin. The caller checked `row.len() >= n_features`. Out of line: `predict` and
    /// `predict_margin` share one copy.
    #[inline(never)]
    fn sums<'s>(&self, row: &[f32], acc: &'s mut [f32; MAX_OUTPUTS]) -> &'s mut [f32] {
        let b = self.bytes;
        // n_outputs <= MAX_OUTPUTS (validated), so this is the whole of `acc` or a prefix.
        let acc = acc.get_mut(..self.n_outputs).unwrap_or_default();
        let base = |k: usize| {
            // SAFETY: k < n_outputs and the base margins (n_outputs f32 from base_off) lie inside the blob
            // (`new` checked the section sizes against total_len = bytes.len()); aligned, as the blob start
            // (checked by `new`) and base_off + 4k (36 or 40) are.
            f32::from_bits(unsafe { word(b.as_ptr().add(self.base_off + 4 * k)) })
        };
        if !self.mean {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = base(k);
            }
        }
        if self.n_trees > 0 {
            // SAFETY: n_trees > 0 and the tree entries and records lie inside the blob (validated layout).
            unsafe { self.walk_all(row, acc) };
        }
        if self.mean {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = *a / self.divisor + base(k);
            }
        }
        acc
    }

    /// Walks every tree and adds its leaf to its column of `acc`, or a vector leaf to every column (the trees in
    /// order). A model of one margin column without vector leaves (`n_vectors == 0`: a vector tree has at least
    /// one leaf, so no tree has column 255 and every column is 0) takes a leaner loop that keeps the sum in a
    /// register and reads no column; every other model takes the general loop. Both walk a tree with
    /// [`tree_leaf`], a loop with a data-dependent exit, which the compiler does not unroll: every node visit is
    /// the same few instructions, and the code stays small.
    ///
    /// # Safety
    /// `n_trees > 0`, `row.len() >= n_features`, `acc.len() == n_outputs`, and `self` was validated by `new`.
    /// Out of line, so that the compiler does not copy the loops for each aggregate.
    #[inline(never)]
    unsafe fn walk_all(&self, row: &[f32], acc: &mut [f32]) {
        let b = self.bytes.as_ptr();
        // SAFETY: records_off, vectors_off and trees_off + 4·n_trees are at most total_len = bytes.len()
        // (validated layout).
        let (records, vectors, mut entry, end) = unsafe {
            (
                b.add(self.records_off),
                b.add(self.vectors_off),
                b.add(self.trees_off),
                b.add(self.trees_off + self.n_trees * TREE_ENTRY),
            )
        };
        if self.n_vectors == 0
            && let [sum] = acc
        {
            let mut s = *sum;
            loop {
                // SAFETY: `entry` is one of the n_trees > 0 entries (below `end`); its column is 0 (one
                // column, no vector tree: above), so the entry is the root, a validated record of its tree;
                // `tree_leaf`'s other conditions are the caller's.
                let leaf = unsafe { tree_leaf(records.add(word(entry) as usize * RECORD), row) };
                // SAFETY: a leaf word of a scalar tree: an aligned f32 inside the blob (`tree_leaf`).
                s += unsafe { leaf.cast::<f32>().read() };
                // SAFETY: at most one past the last entry, which ends the loop.
                entry = unsafe { entry.add(TREE_ENTRY) };
                if entry == end {
                    *sum = s;
                    return;
                }
            }
        }
        if acc.is_empty() {
            // Never (n_outputs >= 1); says so to the compiler, which would otherwise keep a copy of the loop for it.
            return;
        }
        loop {
            // SAFETY: `entry` is one of the n_trees > 0 entries (below `end`).
            let e = unsafe { word(entry) };
            // SAFETY: a validated root is a record of its tree (`validate_trees`); the rest is the caller's.
            let leaf = unsafe { tree_leaf(records.add((e & ROOT_MASK) as usize * RECORD), row) };
            let column = e >> COLUMN_SHIFT;
            if column == VECTOR_COLUMN {
                // SAFETY: in a vector tree a leaf's word is an index below n_vectors (validated), and the
                // n_vectors vectors of n_outputs = acc.len() f32 lie inside the blob from vectors_off, a
                // multiple of 4 from the aligned blob start (validated layout).
                let v = unsafe { vectors.add(word(leaf) as usize * acc.len() * 4) };
                for (k, a) in acc.iter_mut().enumerate() {
                    // SAFETY: k < acc.len() = n_outputs: inside the vector (above).
                    *a += f32::from_bits(unsafe { word(v.add(4 * k)) });
                }
            } else {
                // SAFETY: `validate_trees` proved every other column is below n_outputs = acc.len(); `leaf` is
                // an aligned word of the tree's records (above).
                unsafe { *acc.get_unchecked_mut(column as usize) += leaf.cast::<f32>().read() };
            }
            // SAFETY: at most one past the last entry, which ends the loop.
            entry = unsafe { entry.add(TREE_ENTRY) };
            if entry == end {
                return;
            }
        }
    }
}

/// The word holding the leaf that `row` reaches in the tree whose root record is at `p`: a leaf record's value,
/// one word of a leaf pair, or a word of an oblivious tree's leaf table.
///
/// One test per node visit tells a split that moves on from the three records that end the walk: a leaf
/// (`info == 0`), a bottom split (far offset 1) and an oblivious tree's header (far offset 0) all have a far
/// offset below 2. A split's row value is read after that test (a bottom split reads its own on its way out), so
/// a leaf costs the test and `info == 0`.
///
/// # Safety
/// `p` is the root record of a tree of a validated blob, and `row.len() >= n_features`.
#[inline(always)]
unsafe fn tree_leaf(mut p: *const u8, row: &[f32]) -> *const u8 {
    loop {
        // SAFETY: `p` is a record of the current tree that the validation reached as a leaf or a split (its root,
        // or a child: the tree's records are checked to be in exact pre-order, so a child pointer never leads
        // outside the tree or into a leaf pair), so its 8 bytes are inside the blob; `new` checked that the blob
        // starts 4-aligned and records start at a multiple of 4 from it, so both words are aligned. (The value is
        // read as a float: into a float register, no integer move per node.)
        let (value, info) = unsafe { (p.cast::<f32>().read(), word(p.add(4))) };
        let far = (info >> FAR_SHIFT) as usize;
        if far <= PAIR_FAR as usize {
            if info == 0 {
                return p;
            }
            if info == OBLIVIOUS {
                // SAFETY: far offset 0 with info != 0 (exactly OBLIVIOUS) is only valid as an oblivious tree's
                // header (validated), and the caller guarantees `row.len() >= n_features`.
                return unsafe { oblivious_leaf(p, row) };
            }
            // SAFETY: a bottom split of a validated tree (its feature below n_features, the caller's row); its
            // next record is its leaf pair, inside the tree (validated), so both of its words are.
            return unsafe { p.add(RECORD + if far_side(info, value, row) { 4 } else { 0 }) };
        }
        // SAFETY: a split of a validated tree; the caller's row.
        let step = if unsafe { far_side(info, value, row) } {
            far
        } else {
            1
        };
        // SAFETY: the child `i + step` (step is 1 or the far offset) is a record of the tree (validated). Walks
        // only move forward inside their tree, so each ends at a leaf, a pair or an oblivious header.
        p = unsafe { p.add(step * RECORD) };
    }
}

/// Whether a split (`info`, `value`) sends `row` to its far child: `y >= value`, `y` its feature's value with
/// the sign bit flipped when the negate bit is set.
///
/// # Safety
/// `info`'s feature index is below `row.len()`.
#[inline(always)]
unsafe fn far_side(info: u32, value: f32, row: &[f32]) -> bool {
    // SAFETY: the caller's bound.
    let x = unsafe { *row.get_unchecked(((info >> FEATURE_SHIFT) & FEATURE_MASK) as usize) };
    // Bit 0 (negate) shifted into the sign bit.
    f32::from_bits(x.to_bits() ^ (info << 31)) >= value
}
