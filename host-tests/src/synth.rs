//! Synthetic ensembles and data for benchmarks and demos: full trees of a given depth with random splits, in
//! the shape boosting libraries produce (e.g. 100 trees of depth 6 over 50 features).

use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test, Transform, Tree,
};

/// A deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A binary-logistic boosted ensemble of `n_trees` full trees of `depth` levels over `n_features` features with
/// thresholds in `[-1, 1)` (XGBoost semantics: `x < t`, f32, NaN to the default side).
pub fn boosted_binary(n_trees: usize, depth: u32, n_features: u32, seed: u64) -> Ensemble {
    let mut rng = Rng::new(seed);
    let trees = (0..n_trees)
        .map(|_| {
            let mut nodes = Vec::new();
            full_tree(&mut rng, &mut nodes, depth, n_features);
            Tree {
                nodes,
                output: Some(0),
                weight: 1.0,
            }
        })
        .collect();
    Ensemble {
        n_features,
        n_outputs: 1,
        trees,
        base_margin: vec![0.0],
        compare: Compare::Less,
        aggregate: Aggregate::Sum,
        transform: Transform::Sigmoid,
        precision: Precision::F32,
        feature_names: None,
        source: format!(
            "synthetic: {n_trees} trees of depth {depth}, {n_features} features, seed {seed}"
        ),
        input_f64: false,
    }
}

fn full_tree(rng: &mut Rng, nodes: &mut Vec<Node>, depth: u32, n_features: u32) -> usize {
    let at = nodes.len();
    if depth == 0 {
        nodes.push(Node::Leaf(vec![(rng.unit() - 0.5) * 0.2]));
        return at;
    }
    nodes.push(Node::Leaf(Vec::new()));
    let feature = rng.below(n_features as u64) as u32;
    let threshold = (rng.unit() * 2.0 - 1.0) as f32 as f64;
    let default_left = rng.below(2) == 0;
    let left = full_tree(rng, nodes, depth - 1, n_features);
    let right = full_tree(rng, nodes, depth - 1, n_features);
    nodes[at] = Node::Split(Split {
        feature,
        test: Test::Numeric(threshold),
        default_left,
        missing: MissingMode::Nan,
        left,
        right,
    });
    at
}

/// `n_rows × n_features` values uniform in `[-1, 1)`, row-major.
pub fn rows(n_rows: usize, n_features: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n_rows * n_features)
        .map(|_| (rng.unit() * 2.0 - 1.0) as f32)
        .collect()
}
