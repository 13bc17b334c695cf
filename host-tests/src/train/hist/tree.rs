//! A trained regression tree in XGBoost's layout: nodes numbered in creation order (the root is 0, a split's
//! children are appended left then right), XGBoost's per-node statistics, and both the raw-value decision
//! (`x < t` on `f32`, category sets going right, NaN to the learned side) and the equivalent decision on bins.

use super::bins::FeatureBins;
use super::split::SplitRule;
use crate::ir::{self, MissingMode, Test};

/// A tree node.
#[derive(Clone, Debug, PartialEq)]
pub struct HistNode {
    /// Parent index (`None` at the root).
    pub parent: Option<u32>,
    /// `(left, right)` children of a split; `None` at a leaf.
    pub children: Option<(u32, u32)>,
    /// Split feature (0 at a leaf).
    pub feature: u32,
    /// The split test (meaningless at a leaf).
    pub rule: SplitRule,
    /// Where missing values go.
    pub default_left: bool,
    /// A leaf's output (the learning rate applied); at a split, the value the node had as a leaf.
    pub value: f32,
    /// XGBoost's `base_weights`: the unscaled weight at a split, the leaf output at a leaf.
    pub base_weight: f32,
    /// The split's loss reduction (0 at a leaf).
    pub loss_change: f32,
    /// Sum of the hessians of the node's training rows.
    pub sum_hess: f64,
}

impl HistNode {
    /// A leaf with output `value`.
    pub fn leaf(parent: Option<u32>, value: f32, sum_hess: f64) -> HistNode {
        HistNode {
            parent,
            children: None,
            feature: 0,
            rule: SplitRule::Numeric {
                threshold: 0.0,
                bin: 0,
            },
            default_left: false,
            value,
            base_weight: value,
            loss_change: 0.0,
            sum_hess,
        }
    }

    /// Whether the node is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.children.is_none()
    }

    /// Whether raw value `x` goes left (XGBoost's decision: NaN takes the default side; numeric `x < t`;
    /// categorical: a value that is negative, at least 2²⁴ or not in the set goes left).
    pub fn goes_left(&self, x: f32) -> bool {
        if x.is_nan() {
            return self.default_left;
        }
        match &self.rule {
            SplitRule::Numeric { threshold, .. } => x < *threshold,
            SplitRule::Categorical { right } => {
                !((0.0..16_777_216.0).contains(&x) && right.contains(x as usize))
            }
        }
    }

    /// Whether a row in bin `code` of the split feature goes left (`missing` is the feature's missing bin,
    /// its number of value bins, up to 256).
    pub fn code_goes_left(&self, code: u8, missing: usize) -> bool {
        if code as usize == missing {
            return self.default_left;
        }
        match &self.rule {
            SplitRule::Numeric { bin, .. } => (code as i32) <= *bin,
            SplitRule::Categorical { right } => !right.contains(code as usize),
        }
    }
}

/// A tree.
#[derive(Clone, Debug, PartialEq)]
pub struct HistTree {
    /// Nodes; `nodes[0]` is the root.
    pub nodes: Vec<HistNode>,
}

impl HistTree {
    /// The leaf a raw row reaches.
    pub fn leaf(&self, row: &[f32]) -> usize {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            match n.children {
                None => return i,
                Some((l, r)) => {
                    i = if n.goes_left(row[n.feature as usize]) {
                        l as usize
                    } else {
                        r as usize
                    }
                }
            }
        }
    }

    /// The leaf a binned row reaches (the same leaf as [`HistTree::leaf`] on the row's training values).
    pub fn leaf_of_codes(&self, codes: &[u8], features: &[FeatureBins]) -> usize {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            match n.children {
                None => return i,
                Some((l, r)) => {
                    let f = n.feature as usize;
                    let missing = features[f].n_bins();
                    i = if n.code_goes_left(codes[f], missing) {
                        l as usize
                    } else {
                        r as usize
                    }
                }
            }
        }
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_leaf()).count()
    }

    /// Depth (a lone leaf has depth 0).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut max = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                depth[i] = depth[p as usize] + 1;
                max = max.max(depth[i]);
            }
        }
        max
    }

    /// The tree in the IR, node for node (same indices), adding its leaves to margin column `output`.
    pub fn to_ir(&self, output: u32) -> ir::Tree {
        let nodes = self
            .nodes
            .iter()
            .map(|n| match n.children {
                None => ir::Node::Leaf(vec![n.value as f64]),
                Some((l, r)) => ir::Node::Split(ir::Split {
                    feature: n.feature,
                    test: match &n.rule {
                        SplitRule::Numeric { threshold, .. } => Test::Numeric(*threshold as f64),
                        SplitRule::Categorical { right } => Test::Categorical {
                            categories: right.to_vec(),
                            in_set_left: false,
                            truncate_first: false,
                        },
                    },
                    default_left: n.default_left,
                    missing: MissingMode::Nan,
                    left: l as usize,
                    right: r as usize,
                }),
            })
            .collect();
        ir::Tree {
            nodes,
            output: Some(output),
            weight: 1.0,
        }
    }
}
