//! Minimal cost-complexity pruning (Breiman et al., 1984, ch. 3; scikit-learn's `ccp_alpha`): weakest-link
//! pruning of a CART tree.
//!
//! A node `t` costs `R(t) = w_t / w_root · impurity(t)`; a branch `T_t` costs the sum of `R` over its leaves. The
//! weakest link is the internal node with the smallest `g(t) = (R(t) − R(T_t)) / (|leaves(T_t)| − 1)`, ties going
//! to the lowest node index; pruning it (making it a leaf with its own value) and repeating until only the root is
//! left gives the pruning path: a sequence of effective alphas and total leaf impurities, exactly what
//! scikit-learn's `cost_complexity_pruning_path` returns (the first entry is alpha 0 and the unpruned tree's
//! impurity). A tree pruned with `ccp_alpha = α` applies the path's steps while their effective alpha is at most
//! `α`, as scikit-learn's `ccp_alpha` does. The sums are formed in scikit-learn's order, so the alphas agree to
//! the last few bits; instead of rescanning every node for each step (quadratic), the candidates are kept ordered
//! and only the pruned node's ancestors are updated.

use std::collections::BTreeSet;

use crate::train::cart::{DecisionTree, TreeNode};

/// One weakest-link step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PruneStep {
    /// The effective alpha of the step.
    pub alpha: f64,
    /// The node made a leaf (an index into the unpruned tree).
    pub node: usize,
    /// Total impurity of the leaves after the step (`Σ R` over the leaves).
    pub impurity: f64,
}

/// A tree's pruning path.
#[derive(Clone, Debug, PartialEq)]
pub struct PruningPath {
    /// Total leaf impurity of the unpruned tree (the path's entry at alpha 0).
    pub impurity: f64,
    /// The steps, in order; after the last one the tree is its root alone.
    pub steps: Vec<PruneStep>,
}

impl PruningPath {
    /// scikit-learn's `ccp_alphas`: 0, then every step's effective alpha.
    pub fn alphas(&self) -> Vec<f64> {
        std::iter::once(0.0)
            .chain(self.steps.iter().map(|s| s.alpha))
            .collect()
    }

    /// scikit-learn's `impurities`: the unpruned tree's, then the tree's after every step.
    pub fn impurities(&self) -> Vec<f64> {
        std::iter::once(self.impurity)
            .chain(self.steps.iter().map(|s| s.impurity))
            .collect()
    }

    /// The number of steps a tree pruned with `ccp_alpha = alpha` applies: those before the first whose effective
    /// alpha exceeds `alpha`.
    pub fn steps_for(&self, alpha: f64) -> usize {
        self.steps
            .iter()
            .position(|s| s.alpha > alpha)
            .unwrap_or(self.steps.len())
    }
}

/// Candidate order: effective alpha, then node index (the lowest index wins ties, as in a forward scan).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key(f64, usize);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// The pruning path of `tree`.
pub fn path(tree: &DecisionTree) -> PruningPath {
    let nodes = &tree.nodes;
    let n = nodes.len();
    let total = nodes[0].weighted_n_samples;
    let r_node: Vec<f64> = nodes
        .iter()
        .map(|t| t.weighted_n_samples * t.impurity / total)
        .collect();
    let mut parent = vec![usize::MAX; n];
    for (i, t) in nodes.iter().enumerate() {
        if let Some(s) = &t.split {
            parent[s.left] = i;
            parent[s.right] = i;
        }
    }
    let mut n_leaves = vec![0usize; n];
    let mut r_branch = vec![0.0f64; n];
    for (leaf, t) in nodes.iter().enumerate() {
        if t.split.is_some() {
            continue;
        }
        r_branch[leaf] = r_node[leaf];
        let mut i = leaf;
        while i != 0 {
            let p = parent[i];
            r_branch[p] += r_node[leaf];
            n_leaves[p] += 1;
            i = p;
        }
    }
    let g = |i: usize, r_branch: &[f64], n_leaves: &[usize]| {
        (r_node[i] - r_branch[i]) / (n_leaves[i] as f64 - 1.0)
    };
    let mut candidate = vec![false; n];
    let mut key = vec![0.0f64; n];
    let mut queue = BTreeSet::new();
    for (i, t) in nodes.iter().enumerate() {
        if t.split.is_some() {
            candidate[i] = true;
            key[i] = g(i, &r_branch, &n_leaves);
            queue.insert(Key(key[i], i));
        }
    }
    let mut out = PruningPath {
        impurity: r_branch[0],
        steps: Vec::new(),
    };
    while candidate[0] {
        let Some(&Key(alpha, p)) = queue.first() else {
            break;
        };
        // The branch's internal nodes stop being candidates.
        let mut stack = vec![p];
        while let Some(i) = stack.pop() {
            if candidate[i] {
                candidate[i] = false;
                queue.remove(&Key(key[i], i));
                if let Some(s) = &nodes[i].split {
                    stack.push(s.left);
                    stack.push(s.right);
                }
            }
        }
        let pruned_leaves = n_leaves[p] - 1;
        n_leaves[p] = 0;
        let r_diff = r_node[p] - r_branch[p];
        r_branch[p] = r_node[p];
        let mut i = parent[p];
        while i != usize::MAX {
            n_leaves[i] -= pruned_leaves;
            r_branch[i] += r_diff;
            queue.remove(&Key(key[i], i));
            key[i] = g(i, &r_branch, &n_leaves);
            queue.insert(Key(key[i], i));
            i = parent[i];
        }
        out.steps.push(PruneStep {
            alpha,
            node: p,
            impurity: r_branch[0],
        });
    }
    out
}

/// `tree` after the first `steps` steps of its pruning `path`: every pruned node becomes a leaf with its own
/// value, and the nodes below it are dropped. The kept nodes are renumbered in pre-order (node, left branch, right
/// branch).
pub fn prune(tree: &DecisionTree, path: &PruningPath, steps: usize) -> DecisionTree {
    if steps == 0 {
        return tree.clone();
    }
    let mut cut = vec![false; tree.nodes.len()];
    for s in &path.steps[..steps] {
        cut[s.node] = true;
    }
    // Pre-order numbering of the kept nodes.
    let mut new_index = vec![usize::MAX; tree.nodes.len()];
    let mut order = Vec::new();
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        new_index[i] = order.len();
        order.push(i);
        if !cut[i]
            && let Some(s) = &tree.nodes[i].split
        {
            stack.push(s.right);
            stack.push(s.left);
        }
    }
    let nodes = order
        .iter()
        .map(|&i| {
            let t = &tree.nodes[i];
            TreeNode {
                split: if cut[i] {
                    None
                } else {
                    t.split.as_ref().map(|s| {
                        let mut s = s.clone();
                        s.left = new_index[s.left];
                        s.right = new_index[s.right];
                        s
                    })
                },
                value: t.value.clone(),
                impurity: t.impurity,
                n_samples: t.n_samples,
                weighted_n_samples: t.weighted_n_samples,
            }
        })
        .collect();
    DecisionTree {
        nodes,
        n_features: tree.n_features,
        n_classes: tree.n_classes,
    }
}

/// `tree` pruned with `ccp_alpha = alpha` (scikit-learn's minimal cost-complexity pruning).
pub fn prune_alpha(tree: &DecisionTree, alpha: f64) -> DecisionTree {
    let p = path(tree);
    prune(tree, &p, p.steps_for(alpha))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Rule;
    use crate::train::cart::NodeSplit;

    fn node(split: Option<(usize, usize)>, impurity: f64, w: f64) -> TreeNode {
        TreeNode {
            split: split.map(|(left, right)| NodeSplit {
                feature: 0,
                rule: Rule::Threshold(0.5),
                missing_left: true,
                missing_seen: false,
                left,
                right,
            }),
            value: vec![impurity],
            impurity,
            n_samples: w as usize,
            weighted_n_samples: w,
        }
    }

    /// A root over an internal node with two pure leaves and a leaf: weakest link first, then the root.
    #[test]
    fn path_of_a_small_tree() {
        let tree = DecisionTree {
            nodes: vec![
                node(Some((1, 4)), 0.5, 10.0),
                node(Some((2, 3)), 0.4, 6.0),
                node(None, 0.0, 3.0),
                node(None, 0.0, 3.0),
                node(None, 0.25, 4.0),
            ],
            n_features: 1,
            n_classes: 0,
        };
        let p = path(&tree);
        // R: root 0.5, node1 0.24, leaves 0, 0, 0.1. g(1) = 0.24 / 1, g(0) = (0.5 − 0.1) / 2 = 0.2.
        assert_eq!(p.steps.len(), 1);
        assert_eq!(
            p.steps[0].node, 0,
            "g(root) = 0.2 < g(1) = 0.24: the root goes first"
        );
        assert!((p.steps[0].alpha - 0.2).abs() < 1e-15);
        assert!((p.impurity - 0.1).abs() < 1e-15);
        assert!((p.steps[0].impurity - 0.5).abs() < 1e-15);
        let pruned = prune(&tree, &p, 1);
        assert_eq!(pruned.nodes.len(), 1);
        assert_eq!(prune_alpha(&tree, 0.19).nodes.len(), 5);
        assert_eq!(prune_alpha(&tree, 0.2).nodes.len(), 1);
    }

    #[test]
    fn inner_branch_pruned_first_and_renumbered() {
        let tree = DecisionTree {
            nodes: vec![
                node(Some((1, 2)), 0.5, 10.0),
                node(None, 0.0, 5.0),
                node(Some((3, 4)), 0.3, 5.0),
                node(None, 0.28, 2.5),
                node(None, 0.28, 2.5),
            ],
            n_features: 1,
            n_classes: 0,
        };
        let p = path(&tree);
        // g(2) = (0.15 − 0.14) / 1 = 0.01; g(0) = (0.5 − 0.14) / 2 = 0.18.
        assert_eq!(p.steps[0].node, 2);
        assert!((p.steps[0].alpha - 0.01).abs() < 1e-12);
        let pruned = prune(&tree, &p, 1);
        assert_eq!(pruned.nodes.len(), 3);
        assert_eq!(pruned.n_leaves(), 2);
        let s = pruned.nodes[0].split.as_ref().unwrap();
        assert_eq!((s.left, s.right), (1, 2));
        assert_eq!(pruned.nodes[2].value, vec![0.3]);
        // The second step's alpha uses the updated branch: (0.5 − (0 + 0.15)) / 1 = 0.35.
        assert!((p.steps[1].alpha - 0.35).abs() < 1e-12);
    }
}
