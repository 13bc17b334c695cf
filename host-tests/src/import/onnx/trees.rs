//! `TreeEnsembleClassifier` / `TreeEnsembleRegressor` attributes → the [ensemble IR](crate::ir), with
//! onnxruntime's semantics (its CPU kernels are the reference the fixtures are checked against).
//!
//! - Nodes (`nodes_treeids`, `nodes_nodeids`, `nodes_featureids`, `nodes_values`, `nodes_modes`,
//!   `nodes_truenodeids`, `nodes_falsenodeids`, `nodes_missing_value_tracks_true`): onnxruntime compares the f32
//!   input with the f32 threshold and takes the "true" node when the comparison holds, or when the value is NaN
//!   and the node's missing value tracks true. So NaN goes to the true node for every mode when tracking is set,
//!   and otherwise to the false node, except `BRANCH_NEQ`, where `NaN != t` holds. The IR's comparison is
//!   `x <= t` for the whole model ([`Compare::LessEqual`]), and each mode maps to it exactly for f32 inputs:
//!   `BRANCH_LEQ` as is; `BRANCH_LT` as `x <= t⁻` with `t⁻` the f32 just below `t`; `BRANCH_GT` and
//!   `BRANCH_GTE` as `!(x <= t)` and `!(x <= t⁻)` (children swapped); `BRANCH_EQ` and `BRANCH_NEQ` as two nodes,
//!   `x <= t` then `x <= t⁻` (the child that the pair reaches twice is copied). A threshold that is NaN, or
//!   `-inf` for `BRANCH_LT`/`BRANCH_GTE`, has no such form and is an error naming the node.
//! - Trees are evaluated in ascending tree id; a tree's root is its node that no other node points to. A node
//!   reached twice (a DAG) is copied; trees deeper than [`MAX_DEPTH`] or larger than [`MAX_NODES`] (after
//!   copying) are errors.
//! - Sums: onnxruntime adds the leaf weights of the trees in order in f32, starting from 0, then adds
//!   `base_values` (for `AVERAGE`: divides by the number of trees first). The IR keeps f32 values
//!   ([`Precision::F32`]) and, for sums, adds the base values as a last one-leaf tree, so that the blob's f32 sums
//!   are onnxruntime's operation for operation; averages use [`Aggregate::Mean`], which adds the base after
//!   dividing, as onnxruntime does.
//! - `post_transform`: `NONE` → identity, `LOGISTIC` → sigmoid, `SOFTMAX` → softmax. `SOFTMAX_ZERO` and
//!   `PROBIT` are errors, as is any transform on a one-target regressor (onnxruntime ignores all but `PROBIT`
//!   there). Regressors: `aggregate_function` `SUM` or `AVERAGE` (`MIN`/`MAX` are errors).
//! - Classifiers with more than two classes: one column per class, `base_values` per class (or none).
//! - Two classes with weights for class 0 only (`class_ids` all 0; scikit-learn's forests and gradient boosting,
//!   XGBoost, LightGBM): onnxruntime writes `[1 − s, s]` with no transform when no weight is negative, and
//!   `[σ(−s), σ(s)]` for `LOGISTIC` otherwise (`s` the sum plus `base_values[0]`). Mixed-sign weights without
//!   `LOGISTIC` (onnxruntime writes `[−s, s]` or `[s, −s]` by the sign of `s`) and two `base_values` are errors.
//! - Two classes with weights for class 1: two columns, `base_values[0]` (if one is given) added to column 0; at
//!   least one tree must give every leaf a class-1 weight (else onnxruntime switches to the one-column rule on
//!   the rows that meet none).
//!
//! Class labels (`classlabels_int64s` or `classlabels_strings`) are listed in the model's source line.

use std::collections::{BTreeMap, HashMap};

use super::Attributes;
use crate::import::ImportError;
use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test, Transform, Tree,
};

type Result<T> = std::result::Result<T, ImportError>;

/// Deepest tree accepted (onnxruntime's walk is iterative; this bounds corrupt or cyclic files).
pub const MAX_DEPTH: usize = 4096;
/// Most IR nodes one tree may expand to (after EQ/NEQ pairs and copies of shared children).
pub const MAX_NODES: usize = 1 << 22;
/// Most leaf values (leaves × output columns) a model may hold, a bound on memory for corrupt files.
pub const MAX_LEAF_VALUES: usize = 1 << 26;
/// Most output columns accepted.
pub const MAX_OUTPUTS: usize = 1 << 16;
/// Largest feature id accepted.
pub const MAX_FEATURE: i64 = (1 << 31) - 1;

/// A node's test, as `nodes_modes` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "BRANCH_LEQ" => Mode::Leq,
            "BRANCH_LT" => Mode::Lt,
            "BRANCH_GTE" => Mode::Gte,
            "BRANCH_GT" => Mode::Gt,
            "BRANCH_EQ" => Mode::Eq,
            "BRANCH_NEQ" => Mode::Neq,
            "LEAF" => Mode::Leaf,
            _ => return None,
        })
    }
}

/// One ONNX node, its attributes gathered.
struct OnnxNode {
    mode: Mode,
    feature: u32,
    value: f32,
    true_id: i64,
    false_id: i64,
    tracks_true: bool,
    /// Leaf weights `(column, weight)` in attribute order.
    weights: Vec<(usize, f32)>,
}

/// Translates a tree-ensemble node's attributes (`classifier` or regressor). `n_features` is the row width from
/// the graph input's shape, if it had one; `source` starts the model's description.
pub fn translate(
    attrs: &Attributes<'_>,
    classifier: bool,
    n_features: Option<u32>,
    source: String,
) -> Result<Ensemble> {
    let prefix = if classifier { "class" } else { "target" };
    let (nodes, order) = read_nodes(attrs, prefix, n_features)?;
    let n_trees = order.len();
    let base = attrs.floats("base_values")?;
    let post = attrs
        .string("post_transform")?
        .unwrap_or_else(|| "NONE".to_string());
    let transform_of = |post: &str| -> Result<Transform> {
        match post {
            "NONE" => Ok(Transform::Identity),
            "LOGISTIC" => Ok(Transform::Sigmoid),
            "SOFTMAX" => Ok(Transform::Softmax),
            "SOFTMAX_ZERO" | "PROBIT" => Err(ImportError::at_path(
                attrs.at("post_transform"),
                format!("post_transform {post} is not supported (emkern has no such transform)"),
            )),
            _ => Err(ImportError::at_path(
                attrs.at("post_transform"),
                format!("unknown post_transform `{post}`"),
            )),
        }
    };
    let all_weights = || nodes.values().flat_map(|n| n.weights.iter());
    let mut source = source;
    // How each ONNX weight column feeds the IR's columns: `spread[c]` lists `(ir column, factor)`.
    #[allow(clippy::type_complexity)]
    let (n_outputs, spread, base_margin, transform, aggregate): (
        usize,
        Vec<Vec<(usize, f32)>>,
        Vec<f32>,
        Transform,
        Aggregate,
    );
    if classifier {
        let ints = attrs.ints("classlabels_int64s");
        let strings = attrs.strings("classlabels_strings")?;
        let labels: Vec<String> = match (ints.is_empty(), strings.is_empty()) {
            (false, true) => ints.iter().map(|v| v.to_string()).collect(),
            (true, false) => strings,
            _ => {
                return Err(ImportError::at_path(
                    attrs.at("classlabels_int64s"),
                    "a classifier needs exactly one of classlabels_int64s and classlabels_strings",
                ));
            }
        };
        let n_classes = labels.len();
        if !(2..=MAX_OUTPUTS).contains(&n_classes) {
            return Err(ImportError::at_path(
                attrs.at("classlabels_int64s"),
                format!("{n_classes} classes; expected 2 to {MAX_OUTPUTS}"),
            ));
        }
        source.push_str(&format!(", classes [{}]", labels.join(", ")));
        check_columns(attrs, prefix, &nodes, n_classes)?;
        let used: std::collections::BTreeSet<usize> = all_weights().map(|&(c, _)| c).collect();
        if n_classes > 2 {
            if !base.is_empty() && base.len() != n_classes {
                return Err(base_error(attrs, base.len(), n_classes));
            }
            n_outputs = n_classes;
            spread = (0..n_classes).map(|c| vec![(c, 1.0)]).collect();
            base_margin = if base.is_empty() {
                vec![0.0; n_classes]
            } else {
                base
            };
            transform = transform_of(&post)?;
        } else if used.len() == 1 && used.contains(&0) {
            // onnxruntime's one-column binary case.
            if base.len() > 1 {
                return Err(ImportError::at_path(
                    attrs.at("base_values"),
                    "two base_values on a two-class model with class-0 weights only: onnxruntime's rule for \
                     it is not supported",
                ));
            }
            let b = base.first().copied().unwrap_or(0.0);
            n_outputs = 2;
            spread = vec![vec![(0, -1.0), (1, 1.0)], vec![]];
            if all_weights().all(|&(_, w)| w >= 0.0) {
                // [1 − s, s], whatever post_transform says (but PROBIT, which writes one value).
                if post == "PROBIT" {
                    transform_of(&post)?;
                }
                base_margin = vec![-b, b, 1.0, 0.0];
                transform = Transform::Identity;
                source.push_str(", weights >= 0: [1 - s, s]");
            } else if post == "LOGISTIC" {
                base_margin = vec![-b, b];
                transform = Transform::Sigmoid;
                source.push_str(", [sigmoid(-s), sigmoid(s)]");
            } else {
                return Err(ImportError::at_path(
                    attrs.at("post_transform"),
                    format!(
                        "post_transform {post} on a two-class model with one weight column of mixed signs: \
                         onnxruntime writes [-s, s] or [s, -s] by the sign of s, which emkern cannot express"
                    ),
                ));
            }
        } else {
            if base.len() > 1 {
                return Err(ImportError::at_path(
                    attrs.at("base_values"),
                    "two base_values on a two-class model: onnxruntime's rule for it is not supported",
                ));
            }
            let every_row_scores_class_1 = order.iter().any(|&root| {
                tree_leaves(&nodes, root).is_some_and(|leaves| {
                    leaves
                        .iter()
                        .all(|n| n.weights.iter().any(|&(c, _)| c == 1))
                })
            });
            if !every_row_scores_class_1 {
                return Err(ImportError::at_path(
                    attrs.at(&format!("{prefix}_ids")),
                    "two classes, and no tree gives class 1 a weight on every leaf: onnxruntime then writes \
                     some rows by its one-column rule; not supported",
                ));
            }
            n_outputs = 2;
            spread = vec![vec![(0, 1.0)], vec![(1, 1.0)]];
            base_margin = vec![base.first().copied().unwrap_or(0.0), 0.0];
            transform = transform_of(&post)?;
        }
        aggregate = Aggregate::Sum;
    } else {
        let n_targets = attrs.int("n_targets").unwrap_or(1);
        if !(1..=MAX_OUTPUTS as i64).contains(&n_targets) {
            return Err(ImportError::at_path(
                attrs.at("n_targets"),
                format!("n_targets {n_targets}; expected 1 to {MAX_OUTPUTS}"),
            ));
        }
        let n = n_targets as usize;
        check_columns(attrs, prefix, &nodes, n)?;
        if !base.is_empty() && base.len() != n {
            return Err(base_error(attrs, base.len(), n));
        }
        n_outputs = n;
        spread = (0..n).map(|c| vec![(c, 1.0)]).collect();
        base_margin = if base.is_empty() { vec![0.0; n] } else { base };
        transform = if n == 1 && post != "NONE" {
            return Err(ImportError::at_path(
                attrs.at("post_transform"),
                format!(
                    "post_transform {post} on a one-target regressor: onnxruntime applies only PROBIT there \
                     and ignores the others; not supported"
                ),
            ));
        } else {
            transform_of(&post)?
        };
        let agg = attrs
            .string("aggregate_function")?
            .unwrap_or_else(|| "SUM".to_string());
        aggregate = match agg.as_str() {
            "SUM" => Aggregate::Sum,
            "AVERAGE" => Aggregate::Mean {
                divisor: n_trees as f64,
            },
            _ => {
                return Err(ImportError::at_path(
                    attrs.at("aggregate_function"),
                    format!("aggregate_function {agg} is not supported (only SUM and AVERAGE)"),
                ));
            }
        };
        source.push_str(&format!(", aggregate {agg}"));
    }
    source.push_str(&format!(", post_transform {post}"));

    assemble(
        &nodes,
        &order,
        Shape {
            n_outputs,
            spread,
            base_margin,
            transform,
            aggregate,
        },
        n_features,
        source,
    )
}

/// How the ONNX weight columns become the IR's margins and predictions.
struct Shape {
    /// IR columns.
    n_outputs: usize,
    /// `spread[c]`: the `(IR column, factor)` pairs ONNX column `c` adds to.
    spread: Vec<Vec<(usize, f32)>>,
    /// Values added after the trees (for sums: one row of `n_outputs`, or two rows added in turn).
    base_margin: Vec<f32>,
    transform: Transform,
    aggregate: Aggregate,
}

/// The IR ensemble of the trees at `order` (roots) in `nodes`.
fn assemble(
    nodes: &HashMap<(i64, i64), OnnxNode>,
    order: &[(i64, i64)],
    shape: Shape,
    n_features: Option<u32>,
    source: String,
) -> Result<Ensemble> {
    let Shape {
        n_outputs,
        spread,
        base_margin,
        transform,
        aggregate,
    } = shape;
    let leaves = nodes.values().filter(|n| n.mode == Mode::Leaf).count();
    if leaves.saturating_mul(n_outputs) > MAX_LEAF_VALUES {
        return Err(ImportError::whole(format!(
            "{leaves} leaves of {n_outputs} values: more than {MAX_LEAF_VALUES} leaf values"
        )));
    }
    let mut trees = Vec::with_capacity(order.len() + 2);
    for (t, &root) in order.iter().enumerate() {
        let ir_nodes = build_tree(nodes, root, t, n_outputs, &spread)?;
        trees.push(Tree {
            nodes: ir_nodes,
            output: None,
            weight: 1.0,
        });
    }
    let margin_base: Vec<f64> = if aggregate == Aggregate::Sum {
        // onnxruntime adds base values after the trees: one-leaf trees at the end, in the same f32 order.
        let mut add = |values: &[f32]| {
            if values.iter().any(|&v| v != 0.0) {
                trees.push(Tree {
                    nodes: vec![Node::Leaf(values.iter().map(|&v| v as f64).collect())],
                    output: None,
                    weight: 1.0,
                });
            }
        };
        if base_margin.len() == 2 * n_outputs {
            add(&base_margin[..n_outputs]);
            add(&base_margin[n_outputs..]);
        } else {
            add(&base_margin);
        }
        vec![0.0; n_outputs]
    } else {
        base_margin.iter().map(|&v| v as f64).collect()
    };
    if trees.is_empty() {
        trees.push(Tree {
            nodes: vec![Node::Leaf(vec![0.0; n_outputs])],
            output: None,
            weight: 1.0,
        });
    }
    scalarize(&mut trees, n_outputs);
    let max_feature = nodes
        .values()
        .filter(|n| n.mode != Mode::Leaf)
        .map(|n| n.feature + 1)
        .max()
        .unwrap_or(0);
    Ok(Ensemble {
        n_features: n_features.unwrap_or(max_feature.max(1)),
        n_outputs: n_outputs as u32,
        trees,
        base_margin: margin_base,
        compare: Compare::LessEqual,
        aggregate,
        transform,
        precision: Precision::F32,
        feature_names: None,
        source,
        input_f64: false,
    })
}

fn base_error(attrs: &Attributes<'_>, got: usize, want: usize) -> ImportError {
    ImportError::at_path(
        attrs.at("base_values"),
        format!("{got} base_values; expected none or {want}"),
    )
}

/// Every weight's column is below `n`.
fn check_columns(
    attrs: &Attributes<'_>,
    prefix: &str,
    nodes: &HashMap<(i64, i64), OnnxNode>,
    n: usize,
) -> Result<()> {
    if let Some(&(c, _)) = nodes
        .values()
        .flat_map(|x| x.weights.iter())
        .find(|(c, _)| *c >= n)
    {
        return Err(ImportError::at_path(
            attrs.at(&format!("{prefix}_ids")),
            format!("column {c}, but the model has {n}"),
        ));
    }
    Ok(())
}

/// The one column a tree's leaves add to (every other value zero in every leaf), if there is one; a one-column
/// model's trees all have column 0.
fn single_column(tree: &Tree, n_outputs: usize) -> Option<usize> {
    if n_outputs == 1 {
        return Some(0);
    }
    let mut column = None;
    for n in &tree.nodes {
        if let Node::Leaf(v) = n {
            for (k, &x) in v.iter().enumerate() {
                if x != 0.0 {
                    match column {
                        None => column = Some(k),
                        Some(c) if c == k => {}
                        Some(_) => return None,
                    }
                }
            }
        }
    }
    column
}

/// Scalar leaves when every tree adds to one column (one tree per class, as gradient boosting writes them; the
/// blob takes scalar or vector leaves, not both), else vector leaves throughout.
fn scalarize(trees: &mut [Tree], n_outputs: usize) {
    let columns: Option<Vec<usize>> = trees.iter().map(|t| single_column(t, n_outputs)).collect();
    let Some(columns) = columns else {
        return;
    };
    for (tree, k) in trees.iter_mut().zip(columns) {
        for n in &mut tree.nodes {
            if let Node::Leaf(v) = n {
                *v = vec![v[k]];
            }
        }
        tree.output = Some(k as u32);
    }
}

/// The leaves reachable from `root`, or `None` for a malformed tree.
fn tree_leaves(nodes: &HashMap<(i64, i64), OnnxNode>, root: (i64, i64)) -> Option<Vec<&OnnxNode>> {
    let mut out = Vec::new();
    let mut stack = vec![(root, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        let n = nodes.get(&id)?;
        if depth > MAX_DEPTH || out.len() > MAX_NODES {
            return None;
        }
        if n.mode == Mode::Leaf {
            out.push(n);
        } else {
            stack.push(((id.0, n.true_id), depth + 1));
            stack.push(((id.0, n.false_id), depth + 1));
        }
    }
    Some(out)
}

/// Reads the node and weight attributes: nodes by `(tree id, node id)`, and the roots in ascending tree id.
#[allow(clippy::type_complexity)]
fn read_nodes(
    attrs: &Attributes<'_>,
    prefix: &str,
    n_features: Option<u32>,
) -> Result<(HashMap<(i64, i64), OnnxNode>, Vec<(i64, i64)>)> {
    let tree_ids = attrs.ints("nodes_treeids");
    let node_ids = attrs.ints("nodes_nodeids");
    let features = attrs.ints("nodes_featureids");
    let values = attrs.floats("nodes_values")?;
    let modes = attrs.strings("nodes_modes")?;
    let true_ids = attrs.ints("nodes_truenodeids");
    let false_ids = attrs.ints("nodes_falsenodeids");
    let tracks = attrs.ints("nodes_missing_value_tracks_true");
    let n = tree_ids.len();
    let lengths = [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", features.len()),
        ("nodes_values", values.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
    ];
    if n == 0 {
        return Err(ImportError::at_path(attrs.at("nodes_treeids"), "no nodes"));
    }
    for (name, len) in lengths {
        if len != n {
            return Err(ImportError::at_path(
                attrs.at(name),
                format!("{len} values, but nodes_treeids has {n}"),
            ));
        }
    }
    if !tracks.is_empty() && tracks.len() != n {
        return Err(ImportError::at_path(
            attrs.at("nodes_missing_value_tracks_true"),
            format!("{} values, but nodes_treeids has {n}", tracks.len()),
        ));
    }
    let mut nodes = HashMap::with_capacity(n);
    let mut pointed_to = std::collections::HashSet::new();
    for i in 0..n {
        let at = |name: &str| format!("{}[{i}]", attrs.at(name));
        let mode = Mode::parse(&modes[i]).ok_or_else(|| {
            let hint = if modes[i] == "BRANCH_MEMBER" {
                " (BRANCH_MEMBER belongs to ai.onnx.ml.TreeEnsemble, operator set 5, which is not supported)"
            } else {
                ""
            };
            ImportError::at_path(at("nodes_modes"), format!("unknown mode `{}`{hint}", modes[i]))
        })?;
        let feature = features[i];
        let value = values[i];
        if mode != Mode::Leaf {
            if !(0..=MAX_FEATURE).contains(&feature) {
                return Err(ImportError::at_path(
                    at("nodes_featureids"),
                    format!("feature id {feature} is out of range"),
                ));
            }
            if let Some(f) = n_features
                && feature >= f as i64
            {
                return Err(ImportError::at_path(
                    at("nodes_featureids"),
                    format!("feature id {feature}, but the input has {f} features"),
                ));
            }
            let no_form = value.is_nan()
                || (value == f32::NEG_INFINITY && matches!(mode, Mode::Lt | Mode::Gte));
            if no_form {
                return Err(ImportError::at_path(
                    at("nodes_values"),
                    format!(
                        "threshold {value} with mode {}: no exact `x <= t` form (node {} of tree {})",
                        modes[i], node_ids[i], tree_ids[i]
                    ),
                ));
            }
            pointed_to.insert((tree_ids[i], true_ids[i]));
            pointed_to.insert((tree_ids[i], false_ids[i]));
        }
        let node = OnnxNode {
            mode,
            feature: feature.clamp(0, MAX_FEATURE) as u32,
            value,
            true_id: true_ids[i],
            false_id: false_ids[i],
            tracks_true: tracks.get(i).is_some_and(|&v| v != 0),
            weights: Vec::new(),
        };
        if nodes.insert((tree_ids[i], node_ids[i]), node).is_some() {
            return Err(ImportError::at_path(
                at("nodes_nodeids"),
                format!(
                    "node {} of tree {} is declared twice",
                    node_ids[i], tree_ids[i]
                ),
            ));
        }
    }
    // Leaf weights.
    let w_trees = attrs.ints(&format!("{prefix}_treeids"));
    let w_nodes = attrs.ints(&format!("{prefix}_nodeids"));
    let w_ids = attrs.ints(&format!("{prefix}_ids"));
    let w_values = attrs.floats(&format!("{prefix}_weights"))?;
    let m = w_trees.len();
    for (name, len) in [
        (format!("{prefix}_nodeids"), w_nodes.len()),
        (format!("{prefix}_ids"), w_ids.len()),
        (format!("{prefix}_weights"), w_values.len()),
    ] {
        if len != m {
            return Err(ImportError::at_path(
                attrs.at(&name),
                format!("{len} values, but {prefix}_treeids has {m}"),
            ));
        }
    }
    for j in 0..m {
        let at = |name: &str| format!("{}[{j}]", attrs.at(&format!("{prefix}_{name}")));
        let node = nodes.get_mut(&(w_trees[j], w_nodes[j])).ok_or_else(|| {
            ImportError::at_path(
                at("nodeids"),
                format!("node {} of tree {} does not exist", w_nodes[j], w_trees[j]),
            )
        })?;
        if node.mode != Mode::Leaf {
            return Err(ImportError::at_path(
                at("nodeids"),
                format!("node {} of tree {} is not a leaf", w_nodes[j], w_trees[j]),
            ));
        }
        let column = usize::try_from(w_ids[j])
            .ok()
            .filter(|&c| c < MAX_OUTPUTS)
            .ok_or_else(|| {
                ImportError::at_path(at("ids"), format!("column {} is out of range", w_ids[j]))
            })?;
        if !w_values[j].is_finite() {
            return Err(ImportError::at_path(
                at("weights"),
                format!("weight {} is not finite", w_values[j]),
            ));
        }
        node.weights.push((column, w_values[j]));
    }
    // Roots: per tree, the one node no other node points to.
    let mut roots: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &(t, id) in nodes.keys() {
        if !pointed_to.contains(&(t, id)) {
            roots.entry(t).or_default().push(id);
        }
    }
    let mut order = Vec::new();
    let tree_set: std::collections::BTreeSet<i64> = nodes.keys().map(|&(t, _)| t).collect();
    for t in tree_set {
        match roots.get(&t).map(Vec::as_slice) {
            Some([root]) => order.push((t, *root)),
            Some(many) => {
                let mut many = many.to_vec();
                many.sort_unstable();
                return Err(ImportError::at_path(
                    attrs.at("nodes_treeids"),
                    format!("tree {t} has several roots (nodes {many:?} are no node's child)"),
                ));
            }
            None => {
                return Err(ImportError::at_path(
                    attrs.at("nodes_treeids"),
                    format!("tree {t} has no root (its nodes form a cycle)"),
                ));
            }
        }
    }
    Ok((nodes, order))
}

/// Expands one ONNX tree from `root` into IR nodes with `n_outputs`-value leaves (`spread` maps each ONNX
/// column to IR columns and factors).
fn build_tree(
    nodes: &HashMap<(i64, i64), OnnxNode>,
    root: (i64, i64),
    t: usize,
    n_outputs: usize,
    spread: &[Vec<(usize, f32)>],
) -> Result<Vec<Node>> {
    let tree_id = root.0;
    let err = |msg: String| ImportError::at_path(format!("tree {tree_id}"), msg);
    let mut out: Vec<Node> = vec![Node::Leaf(Vec::new())];
    // (ONNX node id, IR slot, depth)
    let mut stack = vec![(root.1, 0usize, 0usize)];
    let alloc = |out: &mut Vec<Node>| -> Result<usize> {
        if out.len() >= MAX_NODES {
            return Err(err(format!(
                "tree {t} expands to more than {MAX_NODES} nodes"
            )));
        }
        out.push(Node::Leaf(Vec::new()));
        Ok(out.len() - 1)
    };
    while let Some((id, slot, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(err(format!(
                "deeper than {MAX_DEPTH} levels (or a cycle through node {id})"
            )));
        }
        let n = nodes
            .get(&(tree_id, id))
            .ok_or_else(|| err(format!("a node points to node {id}, which does not exist")))?;
        if n.mode == Mode::Leaf {
            let mut leaf = vec![0f32; n_outputs];
            for &(c, w) in &n.weights {
                for &(k, factor) in spread.get(c).map(Vec::as_slice).unwrap_or_default() {
                    // A column repeated on one leaf is summed here in f32; onnxruntime adds each to the running sum.
                    leaf[k] += factor * w;
                }
            }
            out[slot] = Node::Leaf(leaf.into_iter().map(|v| v as f64).collect());
            continue;
        }
        let t32 = n.value;
        let split = |threshold: f32, default_left: bool, left: usize, right: usize| {
            Node::Split(Split {
                feature: n.feature,
                test: Test::Numeric(threshold as f64),
                default_left,
                missing: MissingMode::Nan,
                left,
                right,
            })
        };
        let track = n.tracks_true;
        let (yes, no) = (n.true_id, n.false_id);
        match n.mode {
            Mode::Leq | Mode::Lt | Mode::Gt | Mode::Gte => {
                let l = alloc(&mut out)?;
                let r = alloc(&mut out)?;
                let (threshold, left_id, right_id, default_left) = match n.mode {
                    Mode::Leq => (t32, yes, no, track),
                    Mode::Lt => (t32.next_down(), yes, no, track),
                    Mode::Gt => (t32, no, yes, !track),
                    _ => (t32.next_down(), no, yes, !track),
                };
                out[slot] = split(threshold, default_left, l, r);
                stack.push((left_id, l, depth + 1));
                stack.push((right_id, r, depth + 1));
            }
            Mode::Eq | Mode::Neq => {
                // EQ: x == t ⇔ x <= t && !(x <= t⁻). NEQ is its negation; NaN: EQ → true iff tracking,
                // NEQ → true always.
                let (hit, miss) = if n.mode == Mode::Eq {
                    (yes, no)
                } else {
                    (no, yes)
                };
                let nan_to_hit = if n.mode == Mode::Eq { track } else { false };
                if t32 == f32::NEG_INFINITY {
                    let l = alloc(&mut out)?;
                    let r = alloc(&mut out)?;
                    out[slot] = split(t32, nan_to_hit, l, r);
                    stack.push((hit, l, depth + 1));
                    stack.push((miss, r, depth + 1));
                } else {
                    let inner = alloc(&mut out)?;
                    let r = alloc(&mut out)?;
                    let il = alloc(&mut out)?;
                    let ir = alloc(&mut out)?;
                    out[slot] = split(t32, nan_to_hit, inner, r);
                    // NaN reaches the inner node only when it goes to `hit`.
                    out[inner] = split(t32.next_down(), false, il, ir);
                    stack.push((miss, r, depth + 1));
                    stack.push((miss, il, depth + 2));
                    stack.push((hit, ir, depth + 2));
                }
            }
            Mode::Leaf => unreachable!(),
        }
    }
    Ok(out)
}

/// `ai.onnx.ml.TreeEnsemble` (operator set 5) node modes, by their number in `nodes_modes`.
const V5_MODES: [&str; 7] = [
    "BRANCH_LEQ",
    "BRANCH_LT",
    "BRANCH_GTE",
    "BRANCH_GT",
    "BRANCH_EQ",
    "BRANCH_NEQ",
    "BRANCH_MEMBER",
];

/// Translates an `ai.onnx.ml.TreeEnsemble` node (operator set 5): nodes indexed from `tree_roots`, children in
/// `nodes_truenodeids`/`nodes_falsenodeids` that index the nodes or, when `nodes_trueleafs`/`nodes_falseleafs`
/// says so, the leaves (`leaf_targetids`, `leaf_weights`); `nodes_splits` and `leaf_weights` as tensors, integer
/// `aggregate_function` (0 AVERAGE, 1 SUM). onnxruntime runs it with the regressor's kernel, so the rules are
/// `TreeEnsembleRegressor`'s. Errors: `BRANCH_MEMBER` (onnxruntime implements it for integer members only, and
/// decides other inputs by its own rule) and any `post_transform` but 0 (NONE): the specification numbers
/// SOFTMAX 1 and LOGISTIC 2, and onnxruntime 1.32 applies LOGISTIC for 1.
pub fn translate_v5(
    attrs: &Attributes<'_>,
    n_features: Option<u32>,
    source: String,
) -> Result<Ensemble> {
    let features = attrs.ints("nodes_featureids");
    let splits = attrs.tensor("nodes_splits")?;
    let modes = attrs.tensor("nodes_modes")?;
    let true_ids = attrs.ints("nodes_truenodeids");
    let false_ids = attrs.ints("nodes_falsenodeids");
    let true_leafs = attrs.ints("nodes_trueleafs");
    let false_leafs = attrs.ints("nodes_falseleafs");
    let tracks = attrs.ints("nodes_missing_value_tracks_true");
    let roots = attrs.ints("tree_roots");
    let leaf_targets = attrs.ints("leaf_targetids");
    let leaf_weights = attrs.tensor("leaf_weights")?;
    let n = features.len();
    for (name, len) in [
        ("nodes_splits", splits.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_trueleafs", true_leafs.len()),
        ("nodes_falseleafs", false_leafs.len()),
    ] {
        if len != n {
            return Err(ImportError::at_path(
                attrs.at(name),
                format!("{len} values, but nodes_featureids has {n}"),
            ));
        }
    }
    if !tracks.is_empty() && tracks.len() != n {
        return Err(ImportError::at_path(
            attrs.at("nodes_missing_value_tracks_true"),
            format!("{} values, but nodes_featureids has {n}", tracks.len()),
        ));
    }
    if leaf_weights.len() != leaf_targets.len() {
        return Err(ImportError::at_path(
            attrs.at("leaf_weights"),
            format!(
                "{} values, but leaf_targetids has {}",
                leaf_weights.len(),
                leaf_targets.len()
            ),
        ));
    }
    let n_targets = attrs.int("n_targets").unwrap_or(1);
    if !(1..=MAX_OUTPUTS as i64).contains(&n_targets) {
        return Err(ImportError::at_path(
            attrs.at("n_targets"),
            format!("n_targets {n_targets}; expected 1 to {MAX_OUTPUTS}"),
        ));
    }
    let n_out = n_targets as usize;
    let leaf_base = n as i64;
    let mut nodes: HashMap<(i64, i64), OnnxNode> = HashMap::new();
    let mut order = Vec::with_capacity(roots.len());
    for (t, &root) in roots.iter().enumerate() {
        let t = t as i64;
        let at_root = || format!("{}[{t}]", attrs.at("tree_roots"));
        if !(0..n as i64).contains(&root) {
            return Err(ImportError::at_path(
                at_root(),
                format!("node {root} does not exist"),
            ));
        }
        order.push((t, root));
        let mut stack = vec![(root, false)];
        while let Some((id, leaf)) = stack.pop() {
            let key = if leaf { leaf_base + id } else { id };
            if nodes.contains_key(&(t, key)) {
                continue;
            }
            if nodes.len() > MAX_NODES {
                return Err(ImportError::at_path(at_root(), "too many nodes"));
            }
            if leaf {
                let j = id as usize;
                let (Some(&target), Some(&w)) = (leaf_targets.get(j), leaf_weights.get(j)) else {
                    return Err(ImportError::at_path(
                        attrs.at("leaf_targetids"),
                        format!("leaf {id} does not exist"),
                    ));
                };
                let column = usize::try_from(target)
                    .ok()
                    .filter(|&c| c < n_out)
                    .ok_or_else(|| {
                        ImportError::at_path(
                            format!("{}[{j}]", attrs.at("leaf_targetids")),
                            format!("target {target}, but the model has {n_out}"),
                        )
                    })?;
                let w = w as f32;
                if !w.is_finite() {
                    return Err(ImportError::at_path(
                        format!("{}[{j}]", attrs.at("leaf_weights")),
                        format!("weight {w} is not finite"),
                    ));
                }
                nodes.insert((t, key), leaf_node(vec![(column, w)]));
                continue;
            }
            let i = id as usize;
            let at = |name: &str| format!("{}[{i}]", attrs.at(name));
            let mode_number = modes[i];
            let mode_name = usize::try_from(mode_number as i64)
                .ok()
                .and_then(|m| V5_MODES.get(m))
                .filter(|_| mode_number.fract() == 0.0)
                .ok_or_else(|| {
                    ImportError::at_path(at("nodes_modes"), format!("unknown mode {mode_number}"))
                })?;
            let feature = features[i];
            if !(0..=MAX_FEATURE).contains(&feature)
                || n_features.is_some_and(|f| feature >= f as i64)
            {
                return Err(ImportError::at_path(
                    at("nodes_featureids"),
                    format!("feature id {feature} is out of range"),
                ));
            }
            let value = splits[i] as f32;
            let track = tracks.get(i).is_some_and(|&v| v != 0);
            let child = |ids: &[i64], leafs: &[i64]| -> (i64, bool, i64) {
                let leaf = leafs[i] != 0;
                let key = if leaf { leaf_base + ids[i] } else { ids[i] };
                (ids[i], leaf, key)
            };
            let (ty, tl, tk) = child(&true_ids, &true_leafs);
            let (fy, fl, fk) = child(&false_ids, &false_leafs);
            for (id, leaf) in [(ty, tl), (fy, fl)] {
                let bound = if leaf { leaf_targets.len() } else { n } as i64;
                if !(0..bound).contains(&id) {
                    return Err(ImportError::at_path(
                        at("nodes_truenodeids"),
                        format!(
                            "child {} {id} does not exist",
                            if leaf { "leaf" } else { "node" }
                        ),
                    ));
                }
                stack.push((id, leaf));
            }
            if *mode_name == "BRANCH_MEMBER" {
                return Err(ImportError::at_path(
                    at("nodes_modes"),
                    "BRANCH_MEMBER is not supported: onnxruntime implements it for integer members only, with \
                     its own rule for other inputs",
                ));
            }
            let mode = Mode::parse(mode_name).unwrap_or(Mode::Leq);
            if value.is_nan()
                || (value == f32::NEG_INFINITY && matches!(mode, Mode::Lt | Mode::Gte))
            {
                return Err(ImportError::at_path(
                    at("nodes_splits"),
                    format!("threshold {value} with mode {mode_name}: no exact `x <= t` form"),
                ));
            }
            nodes.insert(
                (t, key),
                OnnxNode {
                    mode,
                    feature: feature as u32,
                    value,
                    true_id: tk,
                    false_id: fk,
                    tracks_true: track,
                    weights: Vec::new(),
                },
            );
        }
    }
    let base: Vec<f32> = Vec::new();
    let post = attrs.int("post_transform").unwrap_or(0);
    if post != 0 {
        return Err(ImportError::at_path(
            attrs.at("post_transform"),
            format!(
                "post_transform {post} is not supported: the operator's specification numbers SOFTMAX 1 and \
                 LOGISTIC 2, and onnxruntime 1.32 applies LOGISTIC for 1; only 0 (NONE) is unambiguous"
            ),
        ));
    }
    let transform = Transform::Identity;
    let aggregate = match attrs.int("aggregate_function").unwrap_or(1) {
        0 => Aggregate::Mean {
            divisor: order.len() as f64,
        },
        1 => Aggregate::Sum,
        other => {
            return Err(ImportError::at_path(
                attrs.at("aggregate_function"),
                format!("aggregate_function {other} is not supported (only 0 AVERAGE and 1 SUM)"),
            ));
        }
    };
    let source = format!(
        "{source}, {n_out} targets, aggregate_function {}, post_transform {post}",
        if aggregate == Aggregate::Sum {
            "SUM"
        } else {
            "AVERAGE"
        }
    );
    assemble(
        &nodes,
        &order,
        Shape {
            n_outputs: n_out,
            spread: (0..n_out).map(|c| vec![(c, 1.0)]).collect(),
            base_margin: if base.is_empty() {
                vec![0.0; n_out]
            } else {
                base
            },
            transform,
            aggregate,
        },
        n_features,
        source,
    )
}

fn leaf_node(weights: Vec<(usize, f32)>) -> OnnxNode {
    OnnxNode {
        mode: Mode::Leaf,
        feature: 0,
        value: 0.0,
        true_id: 0,
        false_id: 0,
        tracks_true: false,
        weights,
    }
}
