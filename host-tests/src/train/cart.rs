//! CART decision trees (Breiman et al., 1984) for classification (Gini, entropy) and regression (squared error),
//! grown as scikit-learn grows `DecisionTree*` and `ExtraTree*` estimators.
//!
//! - Depth-first growth by default; best-first growth (the node with the largest weighted impurity decrease is
//!   expanded first) when `max_leaf_nodes` is set.
//! - A node becomes a leaf when it reaches `max_depth`, has fewer than `min_samples_split` rows (or fewer than
//!   `2·min_samples_leaf`), weighs less than `2·min_weight_leaf`, is pure (impurity ≤ f64 ε), has no split that
//!   leaves `min_samples_leaf` rows and `min_weight_leaf` weight on each side, or its best split decreases the
//!   weighted impurity by less than `min_impurity_decrease` (`w_t/W · (I − w_R/w_t·I_R − w_L/w_t·I_L)`, with f64 ε
//!   of slack). Row counts count rows with a positive weight (a row of weight 3 is one row), as scikit-learn does.
//! - Leaves hold class fractions (classification) or the weighted mean (regression).
//! - Sample weights multiply the class weights (`balanced`: `n / (K · n_k)`, scikit-learn's definition).
//!
//! [`DecisionTree::train`] with seed `s` is scikit-learn's `DecisionTree*(random_state=s)` (or `ExtraTree*`): the
//! splitter state is the first `randint(0, 2³¹ − 1)` of NumPy's `RandomState(s)` ([`SplitterRng::from_random_state`]).
//! With the same splitter state, weights and numeric features, the trees equal scikit-learn 1.9's node for node:
//! same features, bit-identical thresholds, the same values up to rounding (see the splitter's documentation for
//! the split rules; `tests/train_random_state.rs` checks integer, fractional and class weights).

use super::TrainError;
use super::criterion::Criterion;
use super::dataset::{Dataset, FeatureKind, Task};
use super::heap::Heap;
use super::numeric;
use super::rng::SplitterRng;
use super::splitter::{Rule, SplitRecord, SplitSettings, Splitter};

/// How many features a node looks at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxFeatures {
    /// Every feature.
    All,
    /// `max(1, ⌊√n⌋)`.
    Sqrt,
    /// `max(1, ⌊log₂ n⌋)`.
    Log2,
    /// A count (capped at the number of features).
    Count(usize),
    /// `max(1, ⌊f · n⌋)` for a fraction `0 < f ≤ 1`.
    Fraction(f64),
}

impl MaxFeatures {
    /// The number of features for `n` features in the data.
    pub fn resolve(self, n: usize) -> usize {
        let k = match self {
            MaxFeatures::All => n,
            MaxFeatures::Sqrt => ((n as f64).sqrt() as usize).max(1),
            MaxFeatures::Log2 => ((n as f64).log2() as usize).max(1),
            MaxFeatures::Count(k) => k,
            MaxFeatures::Fraction(f) => ((f * n as f64) as usize).max(1),
        };
        k.min(n)
    }

    /// Parses `sqrt`, `log2`, `all`/`none`, an integer count (`5`) or a fraction with a decimal point (`0.5`).
    pub fn from_name(s: &str) -> Option<MaxFeatures> {
        Some(match s {
            "sqrt" => MaxFeatures::Sqrt,
            "log2" => MaxFeatures::Log2,
            "all" | "none" | "None" => MaxFeatures::All,
            _ if s.contains('.') => {
                let f: f64 = s.parse().ok()?;
                if !(f > 0.0 && f <= 1.0) {
                    return None;
                }
                MaxFeatures::Fraction(f)
            }
            _ => MaxFeatures::Count(s.parse().ok().filter(|&k| k > 0)?),
        })
    }

    /// A short description (`sqrt`, `0.5`, `3`, `all`).
    pub fn describe(self) -> String {
        match self {
            MaxFeatures::All => "all".into(),
            MaxFeatures::Sqrt => "sqrt".into(),
            MaxFeatures::Log2 => "log2".into(),
            MaxFeatures::Count(k) => k.to_string(),
            MaxFeatures::Fraction(f) => format!("{f}"),
        }
    }
}

/// Class weights (classification only).
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeight {
    /// Every class weighs 1.
    None,
    /// `n / (K · n_k)` for class `k` with `n_k` rows of `n` (computed without sample weights, as scikit-learn's
    /// single trees do; forests count sample weights, see [`crate::train::forest`]).
    Balanced,
    /// A weight per class label; labels not listed weigh 1.
    Explicit(Vec<(String, f64)>),
}

impl ClassWeight {
    /// Parses `balanced`, `none`, or `label:weight,label:weight`.
    pub fn from_spec(s: &str) -> Result<ClassWeight, String> {
        match s {
            "balanced" => Ok(ClassWeight::Balanced),
            "none" | "" => Ok(ClassWeight::None),
            _ => s
                .split(',')
                .map(|part| {
                    let (label, w) = part
                        .rsplit_once(':')
                        .ok_or_else(|| format!("`{part}`: expected label:weight"))?;
                    let w: f64 = w
                        .trim()
                        .parse()
                        .ok()
                        .filter(|w: &f64| w.is_finite() && *w >= 0.0)
                        .ok_or_else(|| {
                            format!("`{part}`: the weight is not a non-negative number")
                        })?;
                    Ok((label.trim().to_string(), w))
                })
                .collect::<Result<Vec<_>, String>>()
                .map(ClassWeight::Explicit),
        }
    }

    /// The weight of each class of `data` (empty for regression).
    pub fn per_class(&self, data: &Dataset) -> Result<Vec<f64>, TrainError> {
        let Some(classes) = &data.schema.classes else {
            return match self {
                ClassWeight::None => Ok(Vec::new()),
                _ => Err(TrainError::Invalid(
                    "class weights need a classification target".into(),
                )),
            };
        };
        let k = classes.len();
        Ok(match self {
            ClassWeight::None => vec![1.0; k],
            ClassWeight::Balanced => {
                let mut counts = vec![0usize; k];
                for &y in &data.target {
                    counts[y as usize] += 1;
                }
                let present = counts.iter().filter(|&&c| c > 0).count();
                counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            1.0
                        } else {
                            data.n_rows as f64 / (present as f64 * c as f64)
                        }
                    })
                    .collect()
            }
            ClassWeight::Explicit(list) => {
                let mut w = vec![1.0; k];
                for (label, weight) in list {
                    let i = classes.iter().position(|c| c == label).ok_or_else(|| {
                        TrainError::Invalid(format!(
                            "class weight for `{label}`, which is not a class ({})",
                            classes.join(", ")
                        ))
                    })?;
                    w[i] = *weight;
                }
                w
            }
        })
    }
}

/// How a node picks its split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitStrategy {
    /// The best split of each drawn feature (CART, random forests).
    Best,
    /// One random threshold per drawn feature (extremely randomized trees).
    Random,
}

/// Parameters of one tree (scikit-learn's names and defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct TreeParams {
    /// The impurity criterion.
    pub criterion: Criterion,
    /// Best or random splits.
    pub splitter: SplitStrategy,
    /// Deepest level (root = 0); `None` for unlimited.
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split (≥ 2).
    pub min_samples_split: usize,
    /// Fewest rows in a leaf (≥ 1).
    pub min_samples_leaf: usize,
    /// Smallest leaf weight as a fraction of the total weight (0 to 0.5).
    pub min_weight_fraction_leaf: f64,
    /// Features each node looks at.
    pub max_features: MaxFeatures,
    /// Grow best-first up to this many leaves (≥ 2); `None` grows depth-first.
    pub max_leaf_nodes: Option<usize>,
    /// Smallest weighted impurity decrease a split needs.
    pub min_impurity_decrease: f64,
    /// Class weights.
    pub class_weight: ClassWeight,
}

impl TreeParams {
    /// scikit-learn's `DecisionTreeClassifier`/`DecisionTreeRegressor` defaults for `task`.
    pub fn new(task: Task) -> TreeParams {
        TreeParams {
            criterion: match task {
                Task::Classification => Criterion::Gini,
                Task::Regression => Criterion::SquaredError,
            },
            splitter: SplitStrategy::Best,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_weight_fraction_leaf: 0.0,
            max_features: MaxFeatures::All,
            max_leaf_nodes: None,
            min_impurity_decrease: 0.0,
            class_weight: ClassWeight::None,
        }
    }

    /// Checks the parameters against the data.
    pub fn validate(&self, data: &Dataset) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        match (data.task(), self.criterion.is_classification()) {
            (Task::Classification, false) => {
                return bad(format!(
                    "criterion {} is for regression, the target is a classification target",
                    self.criterion.name()
                ));
            }
            (Task::Regression, true) => {
                return bad(format!(
                    "criterion {} is for classification, the target is a regression target",
                    self.criterion.name()
                ));
            }
            _ => {}
        }
        if self.min_samples_split < 2 {
            return bad("min_samples_split must be at least 2".into());
        }
        if self.min_samples_leaf < 1 {
            return bad("min_samples_leaf must be at least 1".into());
        }
        if !(0.0..=0.5).contains(&self.min_weight_fraction_leaf) {
            return bad("min_weight_fraction_leaf must be in [0, 0.5]".into());
        }
        if self.max_leaf_nodes.is_some_and(|n| n < 2) {
            return bad("max_leaf_nodes must be at least 2".into());
        }
        if self.min_impurity_decrease.is_nan() || self.min_impurity_decrease < 0.0 {
            return bad("min_impurity_decrease must be non-negative".into());
        }
        if let MaxFeatures::Fraction(f) = self.max_features
            && !(f > 0.0 && f <= 1.0)
        {
            return bad("max_features as a fraction must be in (0, 1]".into());
        }
        if self.max_features == MaxFeatures::Count(0) {
            return bad("max_features must be at least 1".into());
        }
        Ok(())
    }
}

/// An internal node's test and children.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSplit {
    /// Feature index.
    pub feature: usize,
    /// How present values are sent left.
    pub rule: Rule,
    /// Where missing values go.
    pub missing_left: bool,
    /// Whether training rows with the feature missing reached this node (else `missing_left` points at the child
    /// with more training rows).
    pub missing_seen: bool,
    /// Left child index.
    pub left: usize,
    /// Right child index.
    pub right: usize,
}

/// A tree node.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeNode {
    /// The test, for an internal node; `None` for a leaf.
    pub split: Option<NodeSplit>,
    /// Class fractions or the mean target of the node's training rows (the prediction, for a leaf).
    pub value: Vec<f64>,
    /// The node's impurity.
    pub impurity: f64,
    /// Training rows (with a positive weight) in the node.
    pub n_samples: usize,
    /// Their total weight.
    pub weighted_n_samples: f64,
}

/// A trained decision tree; nodes are numbered in creation order (pre-order for depth-first growth).
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionTree {
    /// Nodes; `nodes[0]` is the root.
    pub nodes: Vec<TreeNode>,
    /// Features a row has.
    pub n_features: usize,
    /// Classes (classification) or 0 (regression).
    pub n_classes: usize,
}

/// Minimum impurity and improvement slack (scikit-learn's `EPSILON` in the tree builders).
const EPSILON: f64 = f64::EPSILON;

impl DecisionTree {
    /// Trains a tree on `data` with its sample weights (if any) and `params.class_weight`, as scikit-learn fits
    /// its tree with `random_state = seed` (see [`SplitterRng::from_random_state`]).
    pub fn train(
        data: &Dataset,
        params: &TreeParams,
        seed: u32,
    ) -> Result<DecisionTree, TrainError> {
        let weights = row_weights(data, &params.class_weight)?;
        fit(data, params, &weights, SplitterRng::from_random_state(seed))
    }

    /// Index of the leaf `row` reaches.
    pub fn leaf_index(&self, row: &[f32]) -> usize {
        let mut i = 0;
        while let Some(s) = &self.nodes[i].split {
            let x = row[s.feature];
            let left = if x.is_nan() {
                s.missing_left
            } else {
                s.rule.goes_left(x)
            };
            i = if left { s.left } else { s.right };
        }
        i
    }

    /// The prediction for `row`: class fractions, or the regression value (one element).
    pub fn predict_row(&self, row: &[f32]) -> &[f64] {
        &self.nodes[self.leaf_index(row)].value
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.split.is_none()).count()
    }

    /// Depth (a single leaf has depth 0).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut max = 0;
        for i in 0..self.nodes.len() {
            if let Some(s) = &self.nodes[i].split {
                depth[s.left] = depth[i] + 1;
                depth[s.right] = depth[i] + 1;
                max = max.max(depth[i] + 1);
            }
        }
        max
    }

    /// Impurity-based feature importances (scikit-learn's `feature_importances_`): per feature, the sum over its
    /// splits of `w·I − w_L·I_L − w_R·I_R`, divided by the root weight and normalised to sum to 1 (all zero for a
    /// single leaf).
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut imp = vec![0.0; self.n_features];
        for node in &self.nodes {
            if let Some(s) = &node.split {
                let (l, r) = (&self.nodes[s.left], &self.nodes[s.right]);
                imp[s.feature] += node.weighted_n_samples * node.impurity
                    - l.weighted_n_samples * l.impurity
                    - r.weighted_n_samples * r.impurity;
            }
        }
        let root = self.nodes[0].weighted_n_samples;
        imp.iter_mut().for_each(|v| *v /= root);
        let total: f64 = imp.iter().sum();
        if total > 0.0 {
            imp.iter_mut().for_each(|v| *v /= total);
        }
        imp
    }
}

/// Each row's training weight: its sample weight (1 without) times its class weight.
pub fn row_weights(data: &Dataset, class_weight: &ClassWeight) -> Result<Vec<f64>, TrainError> {
    let per_class = class_weight.per_class(data)?;
    let mut w = data
        .weights
        .clone()
        .unwrap_or_else(|| vec![1.0; data.n_rows]);
    if !per_class.is_empty() && *class_weight != ClassWeight::None {
        for (w, &y) in w.iter_mut().zip(&data.target) {
            *w *= per_class[y as usize];
        }
    }
    Ok(w)
}

/// Grows a tree on the rows of `data` weighted by `weights` (one per row; rows of weight 0 take no part) with the
/// splitter state `rng`. `params.class_weight` is not applied here (see [`row_weights`]).
pub fn fit(
    data: &Dataset,
    params: &TreeParams,
    weights: &[f64],
    rng: SplitterRng,
) -> Result<DecisionTree, TrainError> {
    params.validate(data)?;
    if weights.len() != data.n_rows {
        return Err(TrainError::Invalid(format!(
            "{} weights for {} rows",
            weights.len(),
            data.n_rows
        )));
    }
    if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(TrainError::Invalid(
            "weights must be finite and non-negative".into(),
        ));
    }
    for (f, kind) in data.schema.kinds.iter().enumerate() {
        if !matches!(kind, FeatureKind::Categorical(_)) {
            continue;
        }
        let column = data.column(f);
        if let Some(r) = (0..data.n_rows).find(|&r| {
            let x = column[r];
            weights[r] > 0.0
                && !x.is_nan()
                && !(x.fract() == 0.0 && (0.0..16_777_216.0).contains(&x))
        }) {
            return Err(TrainError::Invalid(format!(
                "row {r}: categorical feature `{}` has the value {}, not a category code (an integer in [0, 2^24))",
                data.schema.feature_names[f], column[r]
            )));
        }
    }
    // scikit-learn's `min_weight_fraction_leaf * np.sum(sample_weight)`.
    let total = numeric::sum(weights);
    if total.is_nan() || total <= 0.0 {
        return Err(TrainError::Invalid(
            "no training row has a positive weight".into(),
        ));
    }
    let min_weight_leaf = params.min_weight_fraction_leaf * total;
    let settings = SplitSettings {
        criterion: params.criterion,
        n_classes: data.n_classes(),
        max_features: params.max_features.resolve(data.n_features()),
        min_samples_leaf: params.min_samples_leaf,
        min_weight_leaf,
        random: params.splitter == SplitStrategy::Random,
    };
    let splitter = Splitter::new(data, weights, settings, rng);
    let limits = Limits {
        max_depth: params.max_depth.unwrap_or(usize::MAX),
        min_samples_split: params.min_samples_split.max(2 * params.min_samples_leaf),
        min_samples_leaf: params.min_samples_leaf,
        min_weight_leaf,
        min_impurity_decrease: params.min_impurity_decrease,
    };
    let mut builder = Builder {
        splitter,
        limits,
        nodes: Vec::new(),
    };
    match params.max_leaf_nodes {
        None => builder.depth_first(),
        Some(max_leaves) => builder.best_first(max_leaves),
    }
    Ok(DecisionTree {
        nodes: builder.nodes,
        n_features: data.n_features(),
        n_classes: data.n_classes(),
    })
}

struct Limits {
    max_depth: usize,
    min_samples_split: usize,
    min_samples_leaf: usize,
    min_weight_leaf: f64,
    min_impurity_decrease: f64,
}

impl Limits {
    /// Whether a node is a leaf before any split search.
    fn stops(&self, depth: usize, n: usize, w: f64, impurity: f64) -> bool {
        depth >= self.max_depth
            || n < self.min_samples_split
            || n < 2 * self.min_samples_leaf
            || w < 2.0 * self.min_weight_leaf
            || impurity <= EPSILON
    }

    /// Whether a found split is good enough.
    fn accepts(&self, split: &SplitRecord) -> bool {
        split.improvement + EPSILON >= self.min_impurity_decrease
    }
}

struct Builder<'a> {
    splitter: Splitter<'a>,
    limits: Limits,
    nodes: Vec<TreeNode>,
}

/// A node waiting in the best-first frontier.
#[derive(Clone)]
struct Frontier {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    split: Option<SplitRecord>,
    improvement: f64,
}

impl Builder<'_> {
    /// Adds a node (as a leaf until its split is set) linked from `parent`.
    fn add_node(
        &mut self,
        parent: Option<(usize, bool)>,
        impurity: f64,
        n_samples: usize,
        weighted: f64,
    ) -> usize {
        let id = self.nodes.len();
        self.nodes.push(TreeNode {
            split: None,
            value: self.splitter.node_value(),
            impurity,
            n_samples,
            weighted_n_samples: weighted,
        });
        if let Some((p, is_left)) = parent {
            let s = self.nodes[p]
                .split
                .as_mut()
                .expect("a parent is a split node");
            if is_left {
                s.left = id;
            } else {
                s.right = id;
            }
        }
        id
    }

    fn set_split(&mut self, id: usize, s: &SplitRecord) {
        self.nodes[id].split = Some(NodeSplit {
            feature: s.feature,
            rule: s.rule.clone(),
            missing_left: s.missing_left,
            missing_seen: s.missing_seen,
            left: 0,
            right: 0,
        });
    }

    fn depth_first(&mut self) {
        struct Pending {
            start: usize,
            end: usize,
            depth: usize,
            parent: Option<(usize, bool)>,
            impurity: f64,
            n_constant: usize,
        }
        let mut stack = vec![Pending {
            start: 0,
            end: self.splitter.n_samples(),
            depth: 0,
            parent: None,
            impurity: f64::INFINITY,
            n_constant: 0,
        }];
        let mut first = true;
        while let Some(rec) = stack.pop() {
            let n = rec.end - rec.start;
            let w = self.splitter.node_reset(rec.start, rec.end);
            let mut impurity = rec.impurity;
            if first {
                impurity = self.splitter.node_impurity();
                first = false;
            }
            let mut split = None;
            let mut n_constant = rec.n_constant;
            if !self.limits.stops(rec.depth, n, w, impurity) {
                let (s, nc) = self.splitter.node_split(impurity, rec.n_constant);
                n_constant = nc;
                split = s.filter(|s| self.limits.accepts(s));
            }
            let id = self.add_node(rec.parent, impurity, n, w);
            if let Some(s) = split {
                self.set_split(id, &s);
                stack.push(Pending {
                    start: s.pos,
                    end: rec.end,
                    depth: rec.depth + 1,
                    parent: Some((id, false)),
                    impurity: s.impurity_right,
                    n_constant,
                });
                stack.push(Pending {
                    start: rec.start,
                    end: s.pos,
                    depth: rec.depth + 1,
                    parent: Some((id, true)),
                    impurity: s.impurity_left,
                    n_constant,
                });
            }
        }
    }

    /// Adds a node of the best-first frontier: computes its split now (it may stay a leaf later).
    fn frontier_node(
        &mut self,
        start: usize,
        end: usize,
        parent: Option<(usize, bool)>,
        depth: usize,
        impurity: Option<f64>,
    ) -> Frontier {
        let w = self.splitter.node_reset(start, end);
        let impurity = impurity.unwrap_or_else(|| self.splitter.node_impurity());
        let n = end - start;
        let mut split = None;
        if !self.limits.stops(depth, n, w, impurity) {
            split = self
                .splitter
                .node_split(impurity, 0)
                .0
                .filter(|s| self.limits.accepts(s));
        }
        let id = self.add_node(parent, impurity, n, w);
        if let Some(s) = &split {
            self.set_split(id, s);
        }
        Frontier {
            node: id,
            start,
            end,
            depth,
            improvement: split.as_ref().map_or(0.0, |s| s.improvement),
            split,
        }
    }

    fn best_first(&mut self, max_leaves: usize) {
        let mut heap = Heap::new(|f: &Frontier| f.improvement);
        let root = self.frontier_node(0, self.splitter.n_samples(), None, 0, None);
        heap.push(root);
        let mut splits_left = max_leaves - 1;
        while let Some(rec) = heap.pop() {
            match (&rec.split, splits_left) {
                (Some(s), 1..) => {
                    splits_left -= 1;
                    let left = self.frontier_node(
                        rec.start,
                        s.pos,
                        Some((rec.node, true)),
                        rec.depth + 1,
                        Some(s.impurity_left),
                    );
                    let right = self.frontier_node(
                        s.pos,
                        rec.end,
                        Some((rec.node, false)),
                        rec.depth + 1,
                        Some(s.impurity_right),
                    );
                    heap.push(left);
                    heap.push(right);
                }
                _ => self.nodes[rec.node].split = None,
            }
        }
    }
}
