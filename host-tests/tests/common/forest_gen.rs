//! Shared by the forest layout tests (`forest_blob`, `forest_compact`, `forest_int`, `forest_batch_simd`,
//! `train_budget`): a small deterministic generator, the one-split model the writers' refusal tests change in one
//! respect each, and a chain tree as deep as wanted.
#![allow(dead_code)]

use emkern::forest::{Compare, MissingMode, Transform};
use emkern_host::ir::{Aggregate, Ensemble, Node, Precision, Split, Test, Tree};

/// A small deterministic generator (xorshift64*), so one proptest seed describes a whole model.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (0 for `n = 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A one-split binary model (`x[1] < 0.5`, NaN left, leaves −1 and 2, base 0.25, sigmoid, f32): inside the
/// scope of every layout.
pub fn one_split_model() -> Ensemble {
    Ensemble {
        n_features: 2,
        n_outputs: 1,
        trees: vec![Tree {
            nodes: vec![
                Node::Split(Split {
                    feature: 1,
                    test: Test::Numeric(0.5),
                    default_left: true,
                    missing: MissingMode::Nan,
                    left: 1,
                    right: 2,
                }),
                Node::Leaf(vec![-1.0]),
                Node::Leaf(vec![2.0]),
            ],
            output: Some(0),
            weight: 1.0,
        }],
        base_margin: vec![0.25],
        compare: Compare::Less,
        aggregate: Aggregate::Sum,
        transform: Transform::Sigmoid,
        precision: Precision::F32,
        feature_names: None,
        source: "test".into(),
        input_f64: false,
    }
}

/// The first tree's root split.
pub fn split_mut(e: &mut Ensemble) -> &mut Split {
    match &mut e.trees[0].nodes[0] {
        Node::Split(s) => s,
        _ => unreachable!("the first node of one_split_model is a split"),
    }
}

/// A tree that is a chain of `depth` splits on feature 0: split `d` (node `2d`, `x < d`) has the leaf `d` on its
/// left and split `d + 1` on its right; the last split's leaves are −1 and −2. Deeper than the SIMD plan's
/// complete trees from depth 13 on.
pub fn chain_tree(depth: usize) -> Tree {
    let mut nodes = Vec::new();
    for d in 0..depth {
        nodes.push(Node::Split(Split {
            feature: 0,
            test: Test::Numeric(d as f64),
            default_left: false,
            missing: MissingMode::Nan,
            left: 2 * d + 1,
            right: 2 * d + 2,
        }));
        nodes.push(Node::Leaf(vec![d as f64]));
    }
    nodes.pop();
    nodes.push(Node::Leaf(vec![-1.0]));
    nodes.push(Node::Leaf(vec![-2.0]));
    Tree {
        nodes,
        output: Some(0),
        weight: 1.0,
    }
}
