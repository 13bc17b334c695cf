//! The lockstep walker's scalar twin: one row at a time through every tree of a [`Plan`], with the same
//! decisions and the same order of additions as the vector levels. The reference for them, and the path of
//! levels without a vector walker.

use crate::forest::{
    Compare, DEFAULT_LEFT, Plan, SPARSE_CHILD_MASK, SPARSE_CHILD_SHIFT, SPARSE_FEATURE_MASK,
    TreeShape,
};

/// Whether a row value `x` goes left at a node with feature word `word` and threshold `t`.
#[inline(always)]
pub(crate) fn go_left<const LE: bool>(x: f32, t: f32, word: u32) -> bool {
    let below = if LE { x <= t } else { x < t };
    below | (x.is_nan() & (word & DEFAULT_LEFT != 0))
}

/// Adds, for each of the `n_rows` rows (row `r` at `rows[r·stride..]`), every tree's leaf to `sums[r]` in tree
/// order. The caller checked the shapes (`crate::forest::check_rows`); reads stay in bounds regardless.
pub fn forest_sums(plan: &Plan<'_>, rows: &[f32], stride: usize, n_rows: usize, sums: &mut [f32]) {
    match plan.compare() {
        Compare::Less => walk::<false>(plan, rows, stride, n_rows, sums),
        Compare::LessEqual => walk::<true>(plan, rows, stride, n_rows, sums),
    }
}

fn walk<const LE: bool>(
    plan: &Plan<'_>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
    sums: &mut [f32],
) {
    for (r, sum) in sums.iter_mut().enumerate().take(n_rows) {
        let row = rows.get(r * stride..).unwrap_or_default();
        let mut acc = *sum;
        for t in 0..plan.n_trees() {
            acc += tree_leaf::<LE>(plan, t, row);
        }
        *sum = acc;
    }
}

/// The leaf value of tree `t` of `plan` for `row`.
#[inline(always)]
pub(crate) fn tree_leaf<const LE: bool>(plan: &Plan<'_>, t: usize, row: &[f32]) -> f32 {
    let words = plan.words();
    match plan.shape(t) {
        TreeShape::Complete { off, depth } => {
            let nodes = (1usize << depth) - 1;
            let mut i = 0usize;
            for _ in 0..depth {
                let word = words.get(off + i).copied().unwrap_or(0);
                let t = f32::from_bits(words.get(off + nodes + i).copied().unwrap_or(0));
                let x = row
                    .get((word & !DEFAULT_LEFT) as usize)
                    .copied()
                    .unwrap_or(0.0);
                i = 2 * i + 2 - go_left::<LE>(x, t, word) as usize;
            }
            // Leaf slot i − (2^depth − 1) lies after the two arrays of 2^depth − 1 words: at off + nodes + i.
            f32::from_bits(words.get(off + nodes + i).copied().unwrap_or(0))
        }
        TreeShape::Sparse {
            off,
            entries,
            depth,
        } => {
            // Entry j's word, threshold and leaf at off + j, off + E + j, off + 2E + j; a step goes to the
            // first child + right (a leaf's first child is itself − 1, and every row goes right there).
            let mut j = 0usize;
            for _ in 0..depth {
                let word = words.get(off + j).copied().unwrap_or(0);
                let t = f32::from_bits(words.get(off + entries + j).copied().unwrap_or(0));
                let x = row
                    .get((word & SPARSE_FEATURE_MASK) as usize)
                    .copied()
                    .unwrap_or(0.0);
                let child = ((word >> SPARSE_CHILD_SHIFT) & SPARSE_CHILD_MASK) as usize;
                j = child + 1 - go_left::<LE>(x, t, word) as usize;
            }
            f32::from_bits(words.get(off + 2 * entries + j).copied().unwrap_or(0))
        }
    }
}
