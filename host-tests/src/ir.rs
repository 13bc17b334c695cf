//! The ensemble IR: one in-memory form for every model source (importers, trainers) and every sink (blob, Rust
//! and C sources, XGBoost JSON). Importers translate each framework's semantics into it; exporters never need to
//! know where a model came from.

/// A tree ensemble with its split semantics, aggregation and output transform.
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble {
    /// Row length the model reads.
    pub n_features: u32,
    /// Columns of the raw margin.
    pub n_outputs: u32,
    /// Trees in evaluation order.
    pub trees: Vec<Tree>,
    /// Per-column margin added before the trees (length `n_outputs`), already in margin space.
    pub base_margin: Vec<f64>,
    /// How thresholds compare.
    pub compare: Compare,
    /// How tree outputs combine.
    pub aggregate: Aggregate,
    /// Margin → prediction.
    pub transform: Transform,
    /// Precision of leaves and sums in the exported blob.
    pub precision: Precision,
    /// Feature names, if the source had them.
    pub feature_names: Option<Vec<String>>,
    /// Where the model came from (e.g. `"xgboost 2.1.4, binary:logistic"`), for reports.
    pub source: String,
    /// Whether the framework compares float64 input rows with its thresholds (LightGBM, Spark ML, scikit-learn's
    /// `HistGradientBoosting*`), rather than converting rows to f32 first (XGBoost, scikit-learn's other trees).
    /// The blob always reads f32 rows; for such a model `emkern predict` reads CSV rows as f64 and maps each
    /// value onto an f32 with the same decisions ([`crate::f64_inputs`]).
    pub input_f64: bool,
}

pub use emkern::forest::{Compare, MissingMode, Transform};

/// How tree outputs are combined.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregate {
    /// Base margin plus the sum of (weighted) leaves.
    Sum,
    /// Base margin plus the sum of leaves divided by `divisor` (random-forest mean).
    Mean {
        /// The divisor (usually the number of trees).
        divisor: f64,
    },
    /// Base margin plus the weighted median of the tree outputs (scikit-learn's `AdaBoostRegressor`, one output,
    /// scalar leaves): see [`weighted_median`].
    WeightedMedian {
        /// One weight per tree (scikit-learn's `estimator_weights_`), finite and ≥ 0.
        weights: Vec<f64>,
    },
}

/// scikit-learn's weighted median (`AdaBoostRegressor._get_median_predict`) of `values` with `weights`, in its
/// arithmetic: the values sorted by a stable sort, the f64 running sums of their weights in that order (NumPy's
/// `cumsum`), and the value at the first position whose running sum reaches half the last one. With all weights 0
/// that is the smallest value. Panics when the slices are empty or of different lengths.
pub fn weighted_median(values: &[f64], weights: &[f64]) -> f64 {
    assert!(!values.is_empty() && values.len() == weights.len());
    let mut order: Vec<usize> = (0..values.len()).collect();
    // Stable: ties (as `==` sees them, so -0 and 0 too) keep the tree order.
    order.sort_by(|&a, &b| {
        values[a]
            .partial_cmp(&values[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let cdf: Vec<f64> = order
        .iter()
        .scan(0.0, |acc, &i| {
            *acc += weights[i];
            Some(*acc)
        })
        .collect();
    let half = 0.5 * cdf[cdf.len() - 1];
    let at = cdf.iter().position(|&c| c >= half).unwrap_or(0);
    values[order[at]]
}

/// Value precision of the exported blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// f32 leaves and sums (XGBoost's own precision; smallest blobs).
    F32,
    /// f64 leaves and sums (LightGBM and scikit-learn compute in double).
    F64,
}

/// One tree: nodes indexed from the root (`nodes[0]`), children by index.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    /// Nodes; `nodes[0]` is the root. Unreachable nodes are allowed (they are dropped on export).
    pub nodes: Vec<Node>,
    /// The margin column this tree's scalar leaves add to; `None` for vector leaves adding to every column.
    pub output: Option<u32>,
    /// Multiplies the tree's leaves (DART weights, boosting weights); 1 otherwise.
    pub weight: f32,
}

/// A tree node.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// An internal node.
    Split(Split),
    /// A leaf: one value, or `n_outputs` values for vector leaves.
    Leaf(Vec<f64>),
    /// A scalar leaf with a linear model (LightGBM `linear_tree`).
    LinearLeaf(LinearLeaf),
}

/// A leaf whose output is `constant + Σ coefficient·x[feature]` (in f64), or `value` when any of its features is
/// NaN.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearLeaf {
    /// The output when a feature of the model is missing.
    pub value: f64,
    /// Constant term.
    pub constant: f64,
    /// `(feature, coefficient)` terms.
    pub terms: Vec<(u32, f64)>,
}

impl LinearLeaf {
    /// The leaf's output for `row`.
    pub fn eval(&self, row: &[f32]) -> f64 {
        let mut sum = self.constant;
        for &(f, c) in &self.terms {
            let x = row[f as usize];
            if x.is_nan() {
                return self.value;
            }
            sum += x as f64 * c;
        }
        sum
    }
}

/// An internal node's test and children.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Feature index.
    pub feature: u32,
    /// Numeric threshold or category set.
    pub test: Test,
    /// Where a missing value goes.
    pub default_left: bool,
    /// What counts as missing.
    pub missing: MissingMode,
    /// Left child index.
    pub left: usize,
    /// Right child index.
    pub right: usize,
}

/// What a split tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// `x < t` or `x <= t` (per [`Ensemble::compare`]), compared in f64 (`x` is an f32 widened exactly).
    Numeric(f64),
    /// Membership of `trunc(x)` in a set of categories.
    Categorical {
        /// Categories in the set (each < 2²⁴).
        categories: Vec<u32>,
        /// A member goes left (LightGBM) instead of right (XGBoost).
        in_set_left: bool,
        /// Truncate toward zero before the range check (LightGBM), instead of rejecting any negative value.
        truncate_first: bool,
    },
}

impl Ensemble {
    /// Values a prediction has: 1 for [`Transform::ArgMax`], else `n_outputs`.
    pub fn output_len(&self) -> usize {
        if self.transform == Transform::ArgMax {
            1
        } else {
            self.n_outputs as usize
        }
    }

    /// Reference evaluation of the raw margins in f64, straight from the definitions (no blob, no rounding
    /// tricks): the oracle the property tests hold the core against.
    pub fn margin_reference(&self, row: &[f32]) -> Vec<f64> {
        let n = self.n_outputs as usize;
        if let Aggregate::WeightedMedian { weights } = &self.aggregate {
            let outputs: Vec<f64> = self
                .trees
                .iter()
                .map(|t| t.weight as f64 * t.leaf_reference(row, self.compare)[0])
                .collect();
            return vec![self.base_margin[0] + weighted_median(&outputs, weights)];
        }
        let mut sum = vec![0.0f64; n];
        for tree in &self.trees {
            let leaf = tree.leaf_reference(row, self.compare);
            let w = tree.weight as f64;
            match tree.output {
                Some(k) => sum[k as usize] += w * leaf[0],
                None => {
                    for (s, v) in sum.iter_mut().zip(leaf) {
                        *s += w * v;
                    }
                }
            }
        }
        let div = match self.aggregate {
            Aggregate::Mean { divisor } => divisor,
            _ => 1.0,
        };
        sum.iter()
            .zip(&self.base_margin)
            .map(|(s, b)| b + s / div)
            .collect()
    }

    /// The prediction from margins, in f64.
    pub fn transform_reference(&self, margins: &[f64]) -> Vec<f64> {
        match self.transform {
            Transform::Identity => margins.to_vec(),
            Transform::Sigmoid => margins.iter().map(|m| 1.0 / (1.0 + (-m).exp())).collect(),
            Transform::Exp => margins.iter().map(|m| m.exp()).collect(),
            Transform::HingeStep => margins
                .iter()
                .map(|&m| if m > 0.0 { 1.0 } else { 0.0 })
                .collect(),
            Transform::Softmax => {
                let max = margins.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = margins.iter().map(|m| (m - max).exp()).collect();
                let s: f64 = e.iter().sum();
                e.iter().map(|v| v / s).collect()
            }
            Transform::ArgMax => {
                let mut best = 0;
                for (k, m) in margins.iter().enumerate() {
                    if *m > margins[best] {
                        best = k;
                    }
                }
                vec![best as f64]
            }
            Transform::SortAscending => {
                // XGBoost 3.4's insertion sort: each value moves left past every value greater than it.
                let mut v = margins.to_vec();
                for i in 1..v.len() {
                    let mut j = i;
                    while j > 0 && v[j - 1] > v[j] {
                        v.swap(j - 1, j);
                        j -= 1;
                    }
                }
                v
            }
        }
    }
}

impl Tree {
    /// The leaf values a row reaches, by the IR's definitions.
    pub fn leaf_reference(&self, row: &[f32], compare: Compare) -> Vec<f64> {
        let mut i = 0;
        loop {
            match &self.nodes[i] {
                Node::Leaf(v) => return v.clone(),
                Node::LinearLeaf(l) => return vec![l.eval(row)],
                Node::Split(s) => {
                    let x = row[s.feature as usize];
                    i = if s.goes_left(x, compare) {
                        s.left
                    } else {
                        s.right
                    };
                }
            }
        }
    }
}

impl Split {
    /// The decision for value `x`, by the IR's definitions (each framework's rules, as documented on the types).
    pub fn goes_left(&self, x: f32, compare: Compare) -> bool {
        match &self.test {
            Test::Numeric(t) => {
                let x = if x.is_nan() {
                    match self.missing {
                        MissingMode::NanAsZero => 0.0,
                        _ => return self.default_left,
                    }
                } else {
                    x
                };
                if self.missing == MissingMode::ZeroOrNan && x.abs() <= 1.0e-35f32 {
                    return self.default_left;
                }
                let x = x as f64;
                match compare {
                    Compare::Less => x < *t,
                    Compare::LessEqual => x <= *t,
                }
            }
            Test::Categorical {
                categories,
                in_set_left,
                truncate_first,
            } => {
                if x.is_nan() {
                    return self.default_left;
                }
                let t = x.trunc();
                let valid = if *truncate_first { t >= 0.0 } else { x >= 0.0 } && x < 16_777_216.0;
                let in_set = valid && categories.contains(&(t as u32));
                in_set == *in_set_left
            }
        }
    }
}
