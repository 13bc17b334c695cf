//! The exact size of an ensemble's `.emk` blob, without writing it.
//!
//! The layout is `emkern::forest::format`'s: a 64-byte header, then sections each starting at the next multiple
//! of 8 — base margins (`n_outputs` values), tree records (16 bytes each), for a weighted median its tree
//! weights (8 bytes each, whatever the precision), node records (`4 + feature_bytes + 1 +
//! 2·child_bytes` bytes for each reachable split), leaves (`leaf_width` values for each reachable leaf), the
//! category table (for each distinct category set: one count word plus `max/32 + 1` words), and, only when some
//! leaf is linear, the leaf-model offsets (4 bytes a leaf) and the linear table (16 bytes a linear leaf plus 16 a
//! term). Values take 8 bytes at [`Precision::F64`] and 4 at [`Precision::F32`]; `feature_bytes` is the narrowest
//! of 1, 2, 4 that holds `n_features − 1` and `child_bytes` the narrowest that holds the largest tree's
//! `max(splits, leaves) − 1`. [`SizeModel`] adds trees one at a time, so every prefix of an ensemble is sized in
//! one pass.

use std::collections::HashSet;

use emkern::forest::format;

use crate::ir::{Aggregate, Ensemble, Node, Precision, Test, Tree};

/// What one tree adds to a blob.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeCost {
    /// Reachable split nodes (node records).
    pub splits: usize,
    /// Reachable leaves.
    pub leaves: usize,
    /// Category sets of its categorical splits, each sorted and without duplicates.
    pub category_sets: Vec<Vec<u32>>,
    /// Bytes its linear leaves take in the linear table.
    pub linear_bytes: usize,
    /// Whether its leaves are vectors (adding to every output).
    pub vector: bool,
}

impl TreeCost {
    /// The cost of `tree`, counting only the nodes reachable from its root (the writer drops the others).
    pub fn of(tree: &Tree) -> TreeCost {
        let mut cost = TreeCost {
            splits: 0,
            leaves: 0,
            category_sets: Vec::new(),
            linear_bytes: 0,
            vector: tree.output.is_none(),
        };
        if tree.nodes.is_empty() {
            return cost;
        }
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            match &tree.nodes[i] {
                Node::Leaf(_) => cost.leaves += 1,
                Node::LinearLeaf(l) => {
                    cost.leaves += 1;
                    cost.linear_bytes += format::LINEAR_HEAD + format::LINEAR_TERM * l.terms.len();
                }
                Node::Split(s) => {
                    cost.splits += 1;
                    if let Test::Categorical { categories, .. } = &s.test {
                        let mut key = categories.clone();
                        key.sort_unstable();
                        key.dedup();
                        cost.category_sets.push(key);
                    }
                    stack.push(s.right);
                    stack.push(s.left);
                }
            }
        }
        cost
    }
}

/// Words a category set takes in the category table (its count word included).
fn set_words(set: &[u32]) -> usize {
    1 + set.last().map_or(0, |&max| max as usize / 32 + 1)
}

/// The narrowest index width (1, 2 or 4 bytes) that holds `max_index`.
fn width_for(max_index: usize) -> usize {
    if max_index <= u8::MAX as usize {
        1
    } else if max_index <= u16::MAX as usize {
        2
    } else {
        4
    }
}

/// Blob size of an ensemble being assembled tree by tree.
#[derive(Clone, Debug)]
pub struct SizeModel {
    n_features: u32,
    n_outputs: usize,
    trees: usize,
    splits: usize,
    leaves: usize,
    max_children: usize,
    sets: HashSet<Vec<u32>>,
    category_words: usize,
    linear_bytes: usize,
    vector: bool,
    median: bool,
}

impl SizeModel {
    /// An ensemble with `n_features` features, `n_outputs` margin columns and no trees yet.
    pub fn new(n_features: u32, n_outputs: u32) -> SizeModel {
        SizeModel {
            n_features,
            n_outputs: n_outputs as usize,
            trees: 0,
            splits: 0,
            leaves: 0,
            max_children: 1,
            sets: HashSet::new(),
            category_words: 0,
            linear_bytes: 0,
            vector: false,
            median: false,
        }
    }

    /// The empty ensemble shaped like `e` (its features, outputs, and a weighted median's weights section).
    pub fn like(e: &Ensemble) -> SizeModel {
        let mut m = SizeModel::new(e.n_features, e.n_outputs);
        m.median = matches!(e.aggregate, Aggregate::WeightedMedian { .. });
        m
    }

    /// Adds a tree.
    pub fn add(&mut self, cost: &TreeCost) {
        self.trees += 1;
        self.splits += cost.splits;
        self.leaves += cost.leaves;
        self.max_children = self.max_children.max(cost.splits.max(cost.leaves));
        for set in &cost.category_sets {
            if !self.sets.contains(set) {
                self.category_words += set_words(set);
                self.sets.insert(set.clone());
            }
        }
        self.linear_bytes += cost.linear_bytes;
        self.vector |= cost.vector;
    }

    /// Trees added so far.
    pub fn trees(&self) -> usize {
        self.trees
    }

    /// Bytes of the blob of the trees added so far at `precision`.
    pub fn bytes(&self, precision: Precision) -> usize {
        let vb = match precision {
            Precision::F32 => 4,
            Precision::F64 => 8,
        };
        let leaf_width = if self.vector { self.n_outputs } else { 1 };
        let fb = width_for(self.n_features.saturating_sub(1) as usize);
        let cb = width_for(self.max_children.saturating_sub(1));
        let a = |x: usize| x.div_ceil(8) * 8;
        let trees_off = a(format::HEADER_LEN + self.n_outputs * vb);
        let weights = if self.median { self.trees } else { 0 };
        let weights_off = a(trees_off + self.trees * format::TREE_RECORD);
        let nodes_off = a(weights_off + weights * format::MEDIAN_WEIGHT);
        let leaves_off = a(nodes_off + self.splits * format::node_size(fb, cb));
        let cats_off = a(leaves_off + self.leaves * leaf_width * vb);
        let cats_end = cats_off + 4 * self.category_words;
        if self.linear_bytes == 0 {
            cats_end
        } else {
            let models = a(cats_end);
            a(models + 4 * self.leaves) + self.linear_bytes
        }
    }
}

/// Bytes `blob::write(e)` produces for a well-formed ensemble `e` (at `e.precision`).
pub fn blob_bytes(e: &Ensemble) -> usize {
    let mut m = SizeModel::like(e);
    for t in &e.trees {
        m.add(&TreeCost::of(t));
    }
    m.bytes(e.precision)
}
