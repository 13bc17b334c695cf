//! The single-row walker's scalar twin ([`Simd::forest_row`](crate::Simd::forest_row) at the scalar level):
//! one row through every tree of a [`Plan`], [`TREES`] trees interleaved (their walks are independent chains of
//! loads, which an out-of-order core overlaps), branch-free steps `i ← 2i + 1 + right`, the leaves added to the
//! sum in tree order. The same decisions and additions as the vector levels and as
//! [`forest_sums`](super::forest::forest_sums) for one row. A plan with a sparse tree is walked one tree at a
//! time, as [`forest_sums`](super::forest::forest_sums) walks it (it is the path of every level for such plans).

use super::forest::{go_left, tree_leaf};
use crate::forest::{Compare, DEFAULT_LEFT, Plan};

/// Trees walked together.
pub const TREES: usize = 8;

/// Adds every tree's leaf for `row` to `sum`, in tree order. The caller checked the row's length
/// (`crate::forest::check_row`); reads stay in bounds regardless.
pub fn forest_row(plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    match plan.compare() {
        Compare::Less => walk::<false>(plan, row, sum),
        Compare::LessEqual => walk::<true>(plan, row, sum),
    }
}

/// One tree's arrays: its nodes' feature words and thresholds (`2ᴰ − 1` each) followed by its leaves, as one
/// slice from the features; `nodes = 2ᴰ − 1`.
#[derive(Clone, Copy)]
struct Tree<'a> {
    words: &'a [u32],
    nodes: usize,
    depth: u32,
}

fn walk<const LE: bool>(plan: &Plan<'_>, row: &[f32], sum: &mut f32) {
    if plan.has_sparse() {
        // One tree at a time, as the batch twin walks them.
        let mut acc = *sum;
        for t in 0..plan.n_trees() {
            acc += tree_leaf::<LE>(plan, t, row);
        }
        *sum = acc;
        return;
    }
    let words = plan.words();
    let n = plan.n_trees();
    let tree = |t: usize| {
        let (off, depth) = plan.tree(t);
        let nodes = (1usize << depth) - 1;
        Tree {
            words: words.get(off..).unwrap_or_default(),
            nodes,
            depth,
        }
    };
    let mut acc = *sum;
    let mut t = 0;
    while t < n {
        let count = (n - t).min(TREES);
        let trees: [Tree<'_>; TREES] = core::array::from_fn(|k| tree(t + k.min(count - 1)));
        let deepest = trees.iter().map(|tr| tr.depth).max().unwrap_or(0);
        let mut i = [0usize; TREES];
        for level in 0..deepest {
            for (i, tr) in i.iter_mut().zip(&trees) {
                let word = tr.words.get(*i).copied().unwrap_or(0);
                let th = f32::from_bits(tr.words.get(tr.nodes + *i).copied().unwrap_or(0));
                let x = row
                    .get((word & !DEFAULT_LEFT) as usize)
                    .copied()
                    .unwrap_or(0.0);
                // i + 1 + right, added where the tree is deeper than `level` (a mask, no branch).
                let step = *i + 2 - go_left::<LE>(x, th, word) as usize;
                *i += step & 0usize.wrapping_sub((level < tr.depth) as usize);
            }
        }
        for (i, tr) in i.iter().zip(&trees).take(count) {
            // Leaf slot i − (2^depth − 1) lies after the two arrays of 2^depth − 1 words: at nodes + i.
            acc += f32::from_bits(tr.words.get(tr.nodes + i).copied().unwrap_or(0));
        }
        t += count;
    }
    *sum = acc;
}
