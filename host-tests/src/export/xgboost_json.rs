//! XGBoost's JSON model format (the document `Booster.save_model("model.json")` writes in 3.x), from the
//! [ensemble IR](crate::ir): the same schema [`crate::import::xgboost`] reads, so a model written here loads in
//! XGBoost 3.x (and back into emkern) and predicts the same margins, bit for bit.
//!
//! The document is a gradient-boosted tree model (`gbtree`, one tree per output per round, `num_parallel_tree`
//! 1) in XGBoost 3.4's layout:
//!
//! - `learner.learner_model_param`: `base_score` as a vector in a string (`"[6.281407E-1]"`, 3.1+), in
//!   prediction space; `num_class` (K for multi-class models, else 0), `num_feature`, `num_target` (K for
//!   multi-target models, else 1), `boost_from_average` 1;
//! - `learner.objective`: the name with its parameter object (`reg_loss_param`, `softmax_multiclass_param`,
//!   `poisson_regression_param`);
//! - `learner.feature_names`, `learner.feature_types` (`"q"` numeric, `"c"` categorical) and an empty
//!   category encoder (`cats`): categorical values are the codes themselves;
//! - `gradient_booster.model`: `trees`, `tree_info` (output column per tree), `iteration_indptr` (K trees per
//!   round), `gbtree_model_param`;
//! - per tree: `left_children`, `right_children` (−1 at leaves), `parents` (2147483647 at the root),
//!   `split_indices`, `split_conditions` (the `f32` threshold of `x < t`, the leaf value at leaves),
//!   `default_left`, `split_type` (0 numeric, 1 categorical), the categories that go right
//!   (`categories_nodes`, `categories_segments`, `categories_sizes`, `categories`), `base_weights`,
//!   `loss_changes`, `sum_hessian` (statistics: zeros, or the leaf value for `base_weights` at leaves, unless
//!   given), `tree_param`.
//!
//! Nodes are always renumbered as XGBoost numbers its own trees ([`xgboost_order`]): breadth-first from the root,
//! the two children of a split adjacent (`right = left + 1`), parents before children, unreachable nodes
//! dropped. XGBoost's CPU predictor reads a numeric split's right child as `left + 1` (`GetNextNode` in
//! `predictor/predict_fn.h`: `node.LeftChild() + !(fvalue < node.SplitCond())`) whatever `right_children`
//! says, so a depth-first numbering (scikit-learn's, which the CART, forest and boosting trainers keep) would
//! load but predict wrongly. Numbers are written as the shortest decimal that reads back as the same `f32`;
//! `±∞` as XGBoost writes them (`-Infinity`).
//!
//! Only models with XGBoost's semantics can be written: `x < t` comparisons, `f32` precision, plain sums (tree
//! weights 1), scalar leaves, NaN as the only missing value, category sets that go right. Anything else is an
//! [`ExportError::Invalid`] naming what does not fit. [`to_xgboost_semantics`] converts other models (`x <= t`,
//! f64 leaves, averaged or weighted trees, vector leaves under softmax) into those semantics first.
//!
//! The objective follows the model's transform: `reg:squarederror` for the identity, `binary:logistic` for the
//! sigmoid, `count:poisson` for exp, `multi:softprob` (`multi:softmax`) for a K-class softmax (argmax). The class
//! probabilities of a CART tree or a random or extra-trees forest (K ≥ 2 columns under the identity, binary
//! models included) are written as XGBoost's multi-target regression: `reg:squarederror` with `num_target` K,
//! `num_class` 0, base scores 0, and each vector-leaf tree split into K scalar trees (`tree_info` naming the
//! target, rounds of K as `iteration_indptr` says). XGBoost 3.x loads it, and `Booster.predict` returns the
//! forest's K class probabilities per row (an XGBoost classifier's `predict_proba` does not apply: the model is
//! a regressor whose outputs are the probabilities).

use std::collections::VecDeque;
use std::fmt::Write;

use super::blob::{ExportError, f32_round_up, less_equal_as_less};
use crate::import::xgboost::objective as xgb_objective;
use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Test, Transform, Tree,
};

/// A tree's XGBoost statistics, indexed like the IR tree's nodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeStats {
    /// `base_weights` per node.
    pub base_weights: Vec<f32>,
    /// `loss_changes` per node.
    pub loss_changes: Vec<f32>,
    /// `sum_hessian` per node.
    pub sum_hessian: Vec<f32>,
}

/// What the IR does not say about an XGBoost model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extras {
    /// The objective's name; `None` derives it from the transform (identity → `reg:squarederror`, sigmoid →
    /// `binary:logistic`, exp → `count:poisson`, softmax → `multi:softprob`, argmax → `multi:softmax`).
    pub objective: Option<String>,
    /// `base_score` in prediction space, one per output (or one for all); `None` derives it from the IR's base
    /// margins through the inverse of the objective's link, choosing the `f32` whose margin XGBoost computes
    /// to exactly the IR's (the nearest when no `f32` maps exactly, which cannot happen for a margin computed
    /// from a base score).
    pub base_score: Option<Vec<f32>>,
    /// `"q"` or `"c"` per feature; `None`: every feature numeric unless a categorical split uses it.
    pub feature_types: Option<Vec<String>>,
    /// Per-tree statistics; `None`: zeros.
    pub tree_stats: Option<Vec<TreeStats>>,
    /// `max_delta_step` of `count:poisson` (0.7 when 0).
    pub max_delta_step: f32,
}

fn invalid(m: impl Into<String>) -> ExportError {
    ExportError::Invalid(m.into())
}

/// Appends an `f32` as a JSON number (shortest round-trip decimal; `NaN`, `Infinity`, `-Infinity` as XGBoost
/// writes them).
fn push_f32(s: &mut String, v: f32) {
    if v.is_nan() {
        s.push_str("NaN");
    } else if v == f32::INFINITY {
        s.push_str("Infinity");
    } else if v == f32::NEG_INFINITY {
        s.push_str("-Infinity");
    } else {
        // Debug formatting is the shortest decimal that parses back to the same f32 (exponent form for very
        // large or small magnitudes), always valid JSON for finite values.
        let _ = write!(s, "{v:?}");
    }
}

fn push_str(s: &mut String, v: &str) {
    s.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into()));
}

fn push_list<T>(s: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    s.push('[');
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        each(s, it);
    }
    s.push(']');
}

fn push_ints<T: std::fmt::Display>(s: &mut String, items: &[T]) {
    push_list(s, items, |s, v| {
        let _ = write!(s, "{v}");
    });
}

fn push_f32s(s: &mut String, items: &[f32]) {
    push_list(s, items, |s, &v| push_f32(s, v));
}

/// The `f32` base score whose margin under `objective`'s link is `margin`: exactly when some `f32` maps to it
/// (always for an intercept that came from a base score, as a trained model's does), else the nearest, from a
/// search of the `f32` neighbours of the inverse link's value.
fn base_score_for(objective: &str, margin: f32) -> Result<f32, ExportError> {
    let (_, link) = xgb_objective(objective)
        .ok_or_else(|| invalid(format!("unknown XGBoost objective `{objective}`")))?;
    let guess = match link {
        crate::import::xgboost::Link::Identity => return Ok(margin),
        crate::import::xgboost::Link::Logit => 1.0 / (1.0 + (-(margin as f64)).exp()),
        crate::import::xgboost::Link::Log => (margin as f64).exp(),
    } as f32;
    let mut best: Option<(f32, f32)> = None;
    let mut down = guess;
    let mut up = guess;
    for _ in 0..64 {
        for b in [down, up] {
            if let Some(m) = link.to_margin(b) {
                let d = (m - margin).abs();
                if d == 0.0 {
                    return Ok(b);
                }
                if best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((b, d));
                }
            }
        }
        down = f32::from_bits(down.to_bits().wrapping_sub(1));
        up = f32::from_bits(up.to_bits().wrapping_add(1));
    }
    best.map(|(b, _)| b).ok_or_else(|| {
        invalid(format!(
            "no f32 base_score gives the margin {margin} under `{objective}`'s link"
        ))
    })
}

/// XGBoost's numbering of `tree`'s reachable nodes: `order[j]` is the IR node written as node `j`, and
/// `new_id[i]` the number of IR node `i` (`usize::MAX` when unreachable). Breadth-first from the root, each
/// split's children numbered consecutively (left, then right), so every split's right child is its left child
/// plus one and every parent precedes its children, as in the trees XGBoost writes itself.
pub fn xgboost_order(tree: &Tree) -> Result<(Vec<usize>, Vec<usize>), String> {
    let mut order = Vec::new();
    let mut new_id = vec![usize::MAX; tree.nodes.len()];
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        if i >= tree.nodes.len() || new_id[i] != usize::MAX {
            return Err(format!("node {i} is out of range or reached twice"));
        }
        new_id[i] = order.len();
        order.push(i);
        if let Node::Split(s) = &tree.nodes[i] {
            queue.push_back(s.left);
            queue.push_back(s.right);
        }
    }
    Ok((order, new_id))
}

/// `e` in XGBoost's semantics, for [`write()`]: `x <= t` splits become `x < t′` on the next `f32` threshold
/// (exact for `f32` inputs); tree weights and a random forest's divisor are multiplied into the leaves; leaves
/// and base margins are rounded to `f32`; a vector-leaf tree of a `K`-class softmax (or argmax) model becomes `K`
/// scalar trees, one per class, and the trees are regrouped into rounds of `K` (one per class, in class order;
/// a class with fewer trees is padded with single-leaf zero trees). The `K` identity outputs of a forest's class
/// probabilities are split the same way, one scalar tree per output (XGBoost's multi-target regression).
/// Predictions change only by the `f32` rounding of leaves, base margins and sums.
///
/// Refused: weighted medians (AdaBoost.R2), several outputs under a transform other than softmax, argmax or the
/// identity, linear leaves, and what [`write()`] refuses.
pub fn to_xgboost_semantics(e: &Ensemble) -> Result<Ensemble, ExportError> {
    let k = e.n_outputs as usize;
    let divisor = match e.aggregate {
        Aggregate::Sum => 1.0,
        Aggregate::Mean { divisor } => divisor,
        Aggregate::WeightedMedian { .. } => return Err(median_refused()),
    };
    if k > 1
        && !matches!(
            e.transform,
            Transform::Softmax | Transform::ArgMax | Transform::Identity
        )
    {
        return Err(invalid(format!(
            "{k} output columns under the {:?} transform: XGBoost has multi-output objectives for softmax \
             (multi:softprob), argmax (multi:softmax) and identity (multi-target reg:squarederror) only",
            e.transform
        )));
    }
    let mut per_class: Vec<Vec<Tree>> = vec![Vec::new(); k.max(1)];
    for (t, tree) in e.trees.iter().enumerate() {
        let scale = tree.weight as f64 / divisor;
        let mut base = tree.clone();
        base.weight = 1.0;
        for (i, n) in base.nodes.iter_mut().enumerate() {
            match n {
                Node::Split(s) => {
                    if e.compare == Compare::LessEqual
                        && let Test::Numeric(th) = &mut s.test
                    {
                        *th = less_equal_as_less(*th);
                    }
                }
                Node::Leaf(v) => v.iter_mut().for_each(|a| *a = (*a * scale) as f32 as f64),
                Node::LinearLeaf(_) => {
                    return Err(invalid(format!(
                        "tree {t}: node {i} is a linear leaf (XGBoost trees have constant leaves)"
                    )));
                }
            }
        }
        match tree.output {
            Some(o) if (o as usize) < k.max(1) => per_class[o as usize].push(base),
            Some(o) => {
                return Err(invalid(format!(
                    "tree {t} adds to output {o} of a {k}-output model"
                )));
            }
            None => {
                for (c, trees) in per_class.iter_mut().enumerate() {
                    let mut one = base.clone();
                    for n in &mut one.nodes {
                        if let Node::Leaf(v) = n {
                            let Some(&x) = v.get(c) else {
                                return Err(invalid(format!(
                                    "tree {t}: a leaf has {} values for {k} outputs",
                                    v.len()
                                )));
                            };
                            *v = vec![x];
                        }
                    }
                    one.output = Some(c as u32);
                    trees.push(one);
                }
            }
        }
    }
    let rounds = per_class.iter().map(Vec::len).max().unwrap_or(0);
    let mut queues: Vec<_> = per_class.into_iter().map(Vec::into_iter).collect();
    let mut trees = Vec::with_capacity(rounds * queues.len());
    for _ in 0..rounds {
        for (c, q) in queues.iter_mut().enumerate() {
            trees.push(q.next().unwrap_or_else(|| Tree {
                nodes: vec![Node::Leaf(vec![0.0])],
                output: Some(c as u32),
                weight: 1.0,
            }));
        }
    }
    let mut x = e.clone();
    x.trees = trees;
    x.compare = Compare::Less;
    x.aggregate = Aggregate::Sum;
    x.precision = Precision::F32;
    x.base_margin.iter_mut().for_each(|m| *m = *m as f32 as f64);
    Ok(x)
}

/// Why a weighted median (AdaBoost.R2) has no XGBoost form.
fn median_refused() -> ExportError {
    invalid(
        "this model predicts the weighted median of its trees' outputs (AdaBoost.R2); XGBoost only sums trees, \
         and no sum of trees selects a median: export it as an .emk blob (or --rust / --c-header) instead",
    )
}

/// Writes `e` as an XGBoost 3.x JSON model (see the module documentation).
pub fn write(e: &Ensemble, x: &Extras) -> Result<String, ExportError> {
    if e.compare != Compare::Less {
        return Err(invalid(
            "XGBoost compares x < t; this model compares x <= t (a LightGBM or scikit-learn model)",
        ));
    }
    match e.aggregate {
        Aggregate::Sum => {}
        Aggregate::Mean { .. } => {
            return Err(invalid(
                "XGBoost sums trees; this model averages them (a random forest)",
            ));
        }
        Aggregate::WeightedMedian { .. } => return Err(median_refused()),
    }
    if e.precision != Precision::F32 {
        return Err(invalid(
            "XGBoost keeps f32 leaves and sums; this model has f64 leaves",
        ));
    }
    let k = e.n_outputs as usize;
    let objective = match &x.objective {
        Some(o) => o.clone(),
        None => match e.transform {
            Transform::Identity => "reg:squarederror",
            Transform::Sigmoid => "binary:logistic",
            Transform::Exp => "count:poisson",
            Transform::Softmax => "multi:softprob",
            Transform::ArgMax => "multi:softmax",
            Transform::HingeStep => "binary:hinge",
            Transform::SortAscending => {
                return Err(invalid(
                    "sorted outputs are XGBoost 3.4+ multi-quantile regression (reg:quantileerror), whose \
                     quantile_alpha list the model does not keep",
                ));
            }
        }
        .to_string(),
    };
    let (transform, _) = xgb_objective(&objective)
        .ok_or_else(|| invalid(format!("unknown XGBoost objective `{objective}`")))?;
    if transform != e.transform {
        return Err(invalid(format!(
            "objective `{objective}` transforms margins by {transform:?}, the model by {:?}",
            e.transform
        )));
    }
    let multi = objective.starts_with("multi:");
    // Several identity outputs: XGBoost's multi-target regression, one scalar tree per target and round.
    let multi_target = k > 1 && objective == "reg:squarederror";
    if k > 1 && !multi && !multi_target {
        return Err(invalid(format!(
            "{k} output columns need a multi-class objective (multi:softprob or multi:softmax) or \
             multi-target reg:squarederror"
        )));
    }
    if e.base_margin.len() != k {
        return Err(invalid(format!(
            "{} base margins for {k} outputs",
            e.base_margin.len()
        )));
    }
    let base_score: Vec<f32> = match &x.base_score {
        Some(b) if b.len() == k || b.len() == 1 => b.clone(),
        Some(b) => {
            return Err(invalid(format!("{} base scores for {k} outputs", b.len())));
        }
        None => e
            .base_margin
            .iter()
            .map(|&m| {
                let mf = m as f32;
                if mf as f64 != m {
                    return Err(invalid(format!("base margin {m} is not an f32")));
                }
                base_score_for(&objective, mf)
            })
            .collect::<Result<_, _>>()?,
    };
    let n_trees = e.trees.len();
    if k > 1 {
        let grouped = n_trees.is_multiple_of(k)
            && e.trees
                .iter()
                .enumerate()
                .all(|(i, t)| t.output == Some((i % k) as u32));
        if !grouped {
            return Err(invalid(format!(
                "a {k}-output model needs its trees in rounds of {k}, one per output in output order"
            )));
        }
    }
    let mut cat_features = vec![false; e.n_features as usize];

    // Trees.
    let mut trees_json = String::new();
    trees_json.push('[');
    for (t, tree) in e.trees.iter().enumerate() {
        if tree.weight != 1.0 {
            return Err(invalid(format!(
                "tree {t} has weight {} (DART weights are not written)",
                tree.weight
            )));
        }
        let Some(out) = tree.output.filter(|&o| (o as usize) < k.max(1)) else {
            return Err(invalid(format!(
                "tree {t} has vector leaves or an output outside the model's columns"
            )));
        };
        let _ = out;
        let (order, new_id) = xgboost_order(tree).map_err(|m| invalid(format!("tree {t}: {m}")))?;
        let nn = order.len();
        let mut left = vec![-1i64; nn];
        let mut right = vec![-1i64; nn];
        let mut parents = vec![2147483647i64; nn];
        let mut split_indices = vec![0u32; nn];
        let mut conditions = vec![0.0f32; nn];
        let mut default_left = vec![0u8; nn];
        let mut split_type = vec![0u8; nn];
        let mut cat_nodes = Vec::new();
        let mut cat_segments = Vec::new();
        let mut cat_sizes = Vec::new();
        let mut categories: Vec<u32> = Vec::new();
        for (j, &i) in order.iter().enumerate() {
            match &tree.nodes[i] {
                Node::Leaf(v) => {
                    if v.len() != 1 {
                        return Err(invalid(format!("tree {t}: node {i} is a vector leaf")));
                    }
                    let f = v[0] as f32;
                    if f as f64 != v[0] {
                        return Err(invalid(format!(
                            "tree {t}: leaf {i} value {} is not an f32",
                            v[0]
                        )));
                    }
                    conditions[j] = f;
                }
                Node::LinearLeaf(_) => {
                    return Err(invalid(format!(
                        "tree {t}: node {i} is a linear leaf (XGBoost trees have constant leaves)"
                    )));
                }
                Node::Split(s) => {
                    if s.missing != MissingMode::Nan {
                        return Err(invalid(format!(
                            "tree {t}: node {i} treats zero as missing (XGBoost: NaN only)"
                        )));
                    }
                    if s.feature >= e.n_features {
                        return Err(invalid(format!(
                            "tree {t}: node {i} splits feature {} of {}",
                            s.feature, e.n_features
                        )));
                    }
                    left[j] = new_id[s.left] as i64;
                    right[j] = new_id[s.right] as i64;
                    parents[new_id[s.left]] = j as i64;
                    parents[new_id[s.right]] = j as i64;
                    split_indices[j] = s.feature;
                    default_left[j] = s.default_left as u8;
                    match &s.test {
                        Test::Numeric(th) => {
                            if th.is_nan() {
                                return Err(invalid(format!(
                                    "tree {t}: node {i} threshold is NaN"
                                )));
                            }
                            conditions[j] = f32_round_up(*th);
                        }
                        Test::Categorical {
                            categories: set,
                            in_set_left,
                            truncate_first,
                        } => {
                            if *in_set_left || *truncate_first {
                                return Err(invalid(format!(
                                    "tree {t}: node {i} sends its category set left (XGBoost sends it right)"
                                )));
                            }
                            split_type[j] = 1;
                            // Not read for categorical splits; 0 keeps the document plain JSON.
                            conditions[j] = 0.0;
                            cat_features[s.feature as usize] = true;
                            let mut set = set.clone();
                            set.sort_unstable();
                            set.dedup();
                            cat_nodes.push(j);
                            cat_segments.push(categories.len());
                            cat_sizes.push(set.len());
                            categories.extend(set);
                        }
                    }
                }
            }
        }
        let stats = x.tree_stats.as_ref().and_then(|s| s.get(t));
        let pick = |v: Option<&Vec<f32>>, leaf_default: bool| -> Vec<f32> {
            order
                .iter()
                .enumerate()
                .map(|(j, &i)| match v.and_then(|v| v.get(i)) {
                    Some(&x) => x,
                    None if leaf_default && left[j] == -1 => conditions[j],
                    None => 0.0,
                })
                .collect()
        };
        let base_weights = pick(stats.map(|s| &s.base_weights), true);
        let loss_changes = pick(stats.map(|s| &s.loss_changes), false);
        let sum_hessian = pick(stats.map(|s| &s.sum_hessian), false);

        if t > 0 {
            trees_json.push(',');
        }
        let s = &mut trees_json;
        s.push_str("{\"base_weights\":");
        push_f32s(s, &base_weights);
        s.push_str(",\"categories\":");
        push_ints(s, &categories);
        s.push_str(",\"categories_nodes\":");
        push_ints(s, &cat_nodes);
        s.push_str(",\"categories_segments\":");
        push_ints(s, &cat_segments);
        s.push_str(",\"categories_sizes\":");
        push_ints(s, &cat_sizes);
        s.push_str(",\"default_left\":");
        push_ints(s, &default_left);
        let _ = write!(s, ",\"id\":{t},\"left_children\":");
        push_ints(s, &left);
        s.push_str(",\"loss_changes\":");
        push_f32s(s, &loss_changes);
        s.push_str(",\"parents\":");
        push_ints(s, &parents);
        s.push_str(",\"right_children\":");
        push_ints(s, &right);
        s.push_str(",\"split_conditions\":");
        push_f32s(s, &conditions);
        s.push_str(",\"split_indices\":");
        push_ints(s, &split_indices);
        s.push_str(",\"split_type\":");
        push_ints(s, &split_type);
        s.push_str(",\"sum_hessian\":");
        push_f32s(s, &sum_hessian);
        let _ = write!(
            s,
            ",\"tree_param\":{{\"num_deleted\":\"0\",\"num_feature\":\"{}\",\"num_nodes\":\"{nn}\",\
             \"size_leaf_vector\":\"1\"}}}}",
            e.n_features
        );
    }
    trees_json.push(']');

    // Feature names and types.
    let feature_types: Vec<String> = match &x.feature_types {
        Some(t) if t.len() == e.n_features as usize => t.clone(),
        Some(t) => {
            return Err(invalid(format!(
                "{} feature types for {} features",
                t.len(),
                e.n_features
            )));
        }
        None => cat_features
            .iter()
            .map(|&c| if c { "c" } else { "q" }.to_string())
            .collect(),
    };
    if let Some((f, _)) = cat_features
        .iter()
        .enumerate()
        .find(|&(f, &c)| c && feature_types[f] != "c")
    {
        return Err(invalid(format!(
            "feature {f} has categorical splits but type `{}`",
            feature_types[f]
        )));
    }
    let names = e.feature_names.clone().unwrap_or_default();

    let mut s = String::with_capacity(trees_json.len() + 1024);
    s.push_str("{\"learner\":{\"attributes\":{},\"feature_names\":");
    push_list(&mut s, &names, |s, n| push_str(s, n));
    s.push_str(",\"feature_types\":");
    push_list(&mut s, &feature_types, |s, n| push_str(s, n));
    s.push_str(
        ",\"gradient_booster\":{\"model\":{\"cats\":{\"enc\":[],\"feature_segments\":[],\"sorted_idx\":[]},",
    );
    let per_round = k.max(1);
    let _ = write!(
        s,
        "\"gbtree_model_param\":{{\"num_parallel_tree\":\"1\",\"num_trees\":\"{n_trees}\"}},\"iteration_indptr\":"
    );
    let indptr: Vec<usize> = (0..=n_trees / per_round).map(|i| i * per_round).collect();
    push_ints(&mut s, &indptr);
    s.push_str(",\"tree_info\":");
    let info: Vec<u32> = e.trees.iter().map(|t| t.output.unwrap_or(0)).collect();
    push_ints(&mut s, &info);
    s.push_str(",\"trees\":");
    s.push_str(&trees_json);
    s.push_str("},\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":\"[");
    for (i, b) in base_score.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{b:e}");
    }
    let _ = write!(
        s,
        "]\",\"boost_from_average\":\"1\",\"num_class\":\"{}\",\"num_feature\":\"{}\",\"num_target\":\"{}\"}},",
        if multi { k } else { 0 },
        e.n_features,
        if multi_target { k } else { 1 }
    );
    s.push_str("\"objective\":{\"name\":");
    push_str(&mut s, &objective);
    if multi {
        let _ = write!(s, ",\"softmax_multiclass_param\":{{\"num_class\":\"{k}\"}}");
    } else if objective == "count:poisson" {
        let mds = if x.max_delta_step > 0.0 {
            x.max_delta_step
        } else {
            0.7
        };
        s.push_str(",\"poisson_regression_param\":{\"max_delta_step\":\"");
        push_f32(&mut s, mds);
        s.push_str("\"}");
    } else {
        s.push_str(",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}");
    }
    s.push_str("}},\"version\":[3,4,1]}");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::xgboost;
    use crate::ir::{Split, Tree};

    fn model(transform: Transform, base: f64) -> Ensemble {
        let split = |feature, test, left, right| {
            Node::Split(Split {
                feature,
                test,
                default_left: true,
                missing: MissingMode::Nan,
                left,
                right,
            })
        };
        Ensemble {
            n_features: 2,
            n_outputs: 1,
            trees: vec![Tree {
                // Deliberately not breadth-first: node 1 is a leaf reached last.
                nodes: vec![
                    split(0, Test::Numeric(0.5), 2, 1),
                    Node::Leaf(vec![0.25]),
                    split(
                        1,
                        Test::Categorical {
                            categories: vec![3, 1],
                            in_set_left: false,
                            truncate_first: false,
                        },
                        3,
                        4,
                    ),
                    Node::Leaf(vec![-1.5]),
                    Node::Leaf(vec![f32::MIN_POSITIVE as f64]),
                ],
                output: Some(0),
                weight: 1.0,
            }],
            base_margin: vec![base],
            compare: Compare::Less,
            aggregate: Aggregate::Sum,
            transform,
            precision: Precision::F32,
            feature_names: Some(vec!["a".into(), "b \"q\"".into()]),
            source: String::new(),
            input_f64: false,
        }
    }

    #[test]
    fn round_trips_through_the_importer() {
        for (t, m) in [
            (Transform::Identity, 2.5),
            (
                Transform::Sigmoid,
                xgboost::Link::Logit.to_margin(0.4).unwrap() as f64,
            ),
            (
                Transform::Exp,
                xgboost::Link::Log.to_margin(2.5).unwrap() as f64,
            ),
        ] {
            let e = model(t, m);
            let text = write(&e, &Extras::default()).unwrap();
            let back = xgboost::from_json_bytes(text.as_bytes()).unwrap();
            assert_eq!(back.base_margin, e.base_margin, "{t:?}");
            assert_eq!(back.transform, t);
            for row in [
                [0.0f32, 1.0],
                [0.0, 3.0],
                [0.0, 2.0],
                [1.0, 0.0],
                [f32::NAN, f32::NAN],
                [0.0, -1.0],
            ] {
                assert_eq!(
                    back.margin_reference(&row),
                    e.margin_reference(&row),
                    "{row:?}"
                );
            }
            assert_eq!(back.feature_names, e.feature_names);
        }
    }

    /// A scikit-learn-style (depth-first) tree: node 1's subtree is numbered before node 1's right sibling.
    fn depth_first_tree(output: Option<u32>, leaves: &[Vec<f64>; 4]) -> Tree {
        let split = |feature, t, left, right| {
            Node::Split(Split {
                feature,
                test: Test::Numeric(t),
                default_left: false,
                missing: MissingMode::Nan,
                left,
                right,
            })
        };
        Tree {
            nodes: vec![
                split(0, 0.5, 1, 4),
                split(1, 1.5, 2, 3),
                Node::Leaf(leaves[0].clone()),
                Node::Leaf(leaves[1].clone()),
                split(1, -0.5, 5, 6),
                Node::Leaf(leaves[2].clone()),
                Node::Leaf(leaves[3].clone()),
            ],
            output,
            weight: 1.0,
        }
    }

    fn ints(v: &serde_json::Value) -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect()
    }

    #[test]
    fn numbers_nodes_as_xgboost_does() {
        let mut e = model(Transform::Identity, 0.5);
        e.trees = vec![depth_first_tree(
            Some(0),
            &[vec![1.0], vec![2.0], vec![3.0], vec![4.0]],
        )];
        e.feature_names = None;
        let text = write(&e, &Extras::default()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let tree = &doc["learner"]["gradient_booster"]["model"]["trees"][0];
        let left = ints(&tree["left_children"]);
        let right = ints(&tree["right_children"]);
        let parents = ints(&tree["parents"]);
        assert_eq!(left, [1, 3, 5, -1, -1, -1, -1]);
        let mut next_child = 1;
        for j in 0..left.len() {
            if left[j] == -1 {
                assert_eq!(right[j], -1, "node {j}");
                continue;
            }
            // Children adjacent, numbered in breadth-first order, after their parent.
            assert_eq!(right[j], left[j] + 1, "node {j}");
            assert_eq!(left[j], next_child, "node {j}");
            assert!(left[j] > j as i64);
            assert_eq!(parents[left[j] as usize], j as i64);
            assert_eq!(parents[right[j] as usize], j as i64);
            next_child += 2;
        }
        assert_eq!(parents[0], 2147483647);
        // Leaves moved with their nodes: the model predicts what the IR does.
        let back = xgboost::from_json_bytes(text.as_bytes()).unwrap();
        for row in [[0.0f32, 1.0], [0.0, 2.0], [1.0, -1.0], [1.0, 0.0]] {
            assert_eq!(back.margin_reference(&row), e.margin_reference(&row));
        }
    }

    #[test]
    fn converts_forests_and_vector_leaves() {
        let probes = [
            [0.0f32, 1.5],
            [0.5, 1.5],
            [0.5, -0.5],
            [0.4999, 1.4999],
            [1.0, -0.6],
            [f32::NAN, 0.0],
        ];
        // A regression forest: `x <= t`, averaged, f64 leaves.
        let mut forest = model(Transform::Identity, 0.0);
        forest.compare = Compare::LessEqual;
        forest.precision = Precision::F64;
        forest.aggregate = Aggregate::Mean { divisor: 3.0 };
        forest.trees = (0..3)
            .map(|i| {
                let a = i as f64 * 0.1;
                depth_first_tree(None, &[vec![a], vec![1.0 + a], vec![2.0], vec![3.0 - a]])
            })
            .collect();
        // A three-class softmax model whose trees add to every class (a stack's) next to one scalar tree.
        let mut multi = forest.clone();
        multi.n_outputs = 3;
        multi.base_margin = vec![0.1, 0.2, 0.3];
        multi.transform = Transform::Softmax;
        multi.aggregate = Aggregate::Sum;
        multi.trees = vec![
            depth_first_tree(
                None,
                &[
                    vec![1.0, 2.0, 3.0],
                    vec![0.5, 0.25, 0.125],
                    vec![-1.0, 0.0, 1.0],
                    vec![0.3, 0.2, 0.1],
                ],
            ),
            depth_first_tree(Some(2), &[vec![1.0], vec![2.0], vec![3.0], vec![4.0]]),
        ];
        multi.trees[1].weight = 0.5;
        for e in [forest, multi] {
            let x = to_xgboost_semantics(&e).unwrap();
            let text = write(&x, &Extras::default()).unwrap();
            let back = xgboost::from_json_bytes(text.as_bytes()).unwrap();
            for row in probes {
                let want = e.margin_reference(&row);
                for got in [x.margin_reference(&row), back.margin_reference(&row)] {
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                            "{row:?}: {got:?} vs {want:?}"
                        );
                    }
                }
            }
            if e.n_outputs == 3 {
                // Rounds of three, class order, the missing class-2 partner padded with a zero leaf.
                let outs: Vec<_> = x.trees.iter().map(|t| t.output).collect();
                assert_eq!(outs, [Some(0), Some(1), Some(2), Some(0), Some(1), Some(2)]);
                assert_eq!(x.trees[3].nodes, vec![Node::Leaf(vec![0.0])]);
            }
        }
        // Class probabilities summed without a link: a multi-target regression, one scalar tree per output.
        let mut probs = forest_probabilities();
        let x = to_xgboost_semantics(&probs).unwrap();
        let outs: Vec<_> = x.trees.iter().map(|t| t.output).collect();
        assert_eq!(outs, [Some(0), Some(1), Some(0), Some(1)]);
        let text = write(&x, &Extras::default()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let learner = &doc["learner"];
        assert_eq!(learner["objective"]["name"], "reg:squarederror");
        assert_eq!(learner["learner_model_param"]["num_target"], "2");
        assert_eq!(learner["learner_model_param"]["num_class"], "0");
        let model = &learner["gradient_booster"]["model"];
        assert_eq!(ints(&model["tree_info"]), [0, 1, 0, 1]);
        assert_eq!(ints(&model["iteration_indptr"]), [0, 2, 4]);
        let back = xgboost::from_json_bytes(text.as_bytes()).unwrap();
        for row in probes {
            let want = probs.transform_reference(&probs.margin_reference(&row));
            let got = back.transform_reference(&back.margin_reference(&row));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-6, "{row:?}: {got:?} vs {want:?}");
            }
        }
        // Under a sigmoid, several outputs have no XGBoost objective.
        probs.transform = Transform::Sigmoid;
        let err = to_xgboost_semantics(&probs).unwrap_err().to_string();
        assert!(err.contains("Sigmoid"), "{err}");
    }

    /// A two-tree forest's class probabilities as `TrainedModel::to_ensemble` makes them: two columns under the
    /// identity, vector leaves, averaged `x <= t` trees.
    fn forest_probabilities() -> Ensemble {
        let mut probs = model(Transform::Identity, 0.0);
        probs.n_outputs = 2;
        probs.base_margin = vec![0.0, 0.0];
        probs.compare = Compare::LessEqual;
        probs.precision = Precision::F64;
        probs.aggregate = Aggregate::Mean { divisor: 2.0 };
        probs.trees = vec![
            depth_first_tree(
                None,
                &[
                    vec![1.0, 0.0],
                    vec![0.25, 0.75],
                    vec![0.5, 0.5],
                    vec![0.0, 1.0],
                ],
            ),
            depth_first_tree(
                None,
                &[
                    vec![0.9, 0.1],
                    vec![1.0 / 3.0, 2.0 / 3.0],
                    vec![0.6, 0.4],
                    vec![0.2, 0.8],
                ],
            ),
        ];
        probs
    }

    #[test]
    fn refuses_other_semantics() {
        let mut e = model(Transform::Identity, 0.0);
        e.compare = Compare::LessEqual;
        assert!(write(&e, &Extras::default()).is_err());
        let mut e = model(Transform::Identity, 0.0);
        e.precision = Precision::F64;
        assert!(write(&e, &Extras::default()).is_err());
        let mut e = model(Transform::Identity, 0.0);
        e.trees[0].weight = 0.5;
        assert!(write(&e, &Extras::default()).is_err());
        let e = model(Transform::Identity, 0.0);
        let x = Extras {
            objective: Some("binary:logistic".into()),
            ..Extras::default()
        };
        assert!(write(&e, &x).is_err(), "objective and transform disagree");
    }

    #[test]
    fn numbers() {
        let mut s = String::new();
        for v in [0.1f32, 1e-45, f32::NEG_INFINITY, 3.402_823_5e38, -2.0] {
            push_f32(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "0.1 1e-45 -Infinity 3.4028235e38 -2.0 ");
        assert_eq!(base_score_for("binary:logistic", 0.0).unwrap(), 0.5);
        let m = xgboost::Link::Logit.to_margin(0.3).unwrap();
        let b = base_score_for("binary:logistic", m).unwrap();
        assert_eq!(xgboost::Link::Logit.to_margin(b), Some(m));
        // ln is not onto the f32 margins near 0.92: the nearest reachable margin is chosen.
        let b = base_score_for("count:poisson", 0.916_290_7).unwrap();
        assert!((xgboost::Link::Log.to_margin(b).unwrap() - 0.916_290_7).abs() <= 1.2e-7);
    }
}
