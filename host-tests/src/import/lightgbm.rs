//! LightGBM text model importer (`model.txt`, as written by `Booster.save_model` and the CLI).
//!
//! The file is a header of `key=value` lines (`num_class`, `num_tree_per_iteration`, `max_feature_idx`,
//! `objective`, `feature_names`, `tree_sizes`, an `average_output` flag line, …), then one `Tree=i` block of
//! `key=value` lines per tree, then `end of trees` (feature importances and parameters follow and are ignored).
//!
//! Semantics, after LightGBM's `Tree::NumericalDecision` and `Tree::CategoricalDecision`:
//!
//! - Numeric splits go left when `x <= threshold` in f64 ([`Compare::LessEqual`]). `decision_type` bit 1 is the
//!   default direction and bits 2–3 the missing type: `None` reads NaN as 0 ([`MissingMode::NanAsZero`]),
//!   `Zero` sends NaN and `|x| <= 1e-35` to the default side ([`MissingMode::ZeroOrNan`]), `NaN` sends NaN there
//!   ([`MissingMode::Nan`]).
//! - Categorical splits (bit 0) hold an index into `cat_boundaries` as their threshold; the bitset words are in
//!   `cat_threshold`. The value is truncated toward zero; a member of the set goes **left**, NaN and negative
//!   values go right.
//! - Leaf values already include the learning rate (`shrinkage` is informational) and the initial score is folded
//!   into the first trees, so the base margin is 0. Trees are summed per output: tree `i` adds to output
//!   `i % num_tree_per_iteration`. With `average_output` (`boosting=rf`) the sum is divided by the number of
//!   iterations before the transform. (LightGBM's own `raw_score` output is the undivided sum in that mode.)
//! - Linear trees (`is_linear=1`) become [`LinearLeaf`]s: `leaf_const + Σ leaf_coeff·x[leaf_features]`, or
//!   `leaf_value` when one of those features is NaN.
//! - Objectives map to transforms: `binary`, `cross_entropy` and `multiclassova` → sigmoid, `multiclass` →
//!   softmax, `poisson`, `gamma`, `tweedie` → exp, the regression and ranking objectives → identity. A
//!   `sigmoid:σ` parameter other than 1 (LightGBM computes `1/(1+e^(−σ·m))`) is folded into the leaves, so the
//!   exported margin is σ times LightGBM's raw score while predictions match. Objectives whose transform the blob
//!   cannot express (`cross_entropy_lambda`, the `sqrt` option of the regression objectives) are rejected.

use std::collections::HashMap;
use std::path::Path;

use super::ImportError;
use crate::ir::{
    Aggregate, Compare, Ensemble, LinearLeaf, MissingMode, Node, Precision, Split, Test, Transform,
    Tree,
};

/// Categories at or above this are outside every set the blob format can hold.
const MAX_CATEGORY: u64 = 1 << 24;

/// Reads a LightGBM text model from `path`.
pub fn load(path: impl AsRef<Path>) -> Result<Ensemble, ImportError> {
    let path = path.as_ref();
    let bytes = ImportError::read_file(path)?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            return Err(ImportError::at_line(
                line,
                "not UTF-8 text (a LightGBM text model is expected; binary models are not supported)",
            )
            .in_file(path));
        }
    };
    parse(text).map_err(|e| e.in_file(path))
}

/// Parses a LightGBM text model held in `text`; `file_name` names it in error messages.
pub fn from_str(text: &str, file_name: &str) -> Result<Ensemble, ImportError> {
    parse(text).map_err(|e| e.in_file(Path::new(file_name)))
}

/// A `key=value` line: where it is and what follows the `=`.
#[derive(Clone, Copy)]
struct Entry<'a> {
    line: usize,
    value: &'a str,
}

/// The `key=value` lines of one section (the header or one tree).
struct Section<'a> {
    /// What the section is called in messages (`header`, `Tree=3`).
    name: String,
    /// Line of the section's first line.
    line: usize,
    entries: HashMap<&'a str, Entry<'a>>,
}

impl<'a> Section<'a> {
    fn new(name: String, line: usize) -> Section<'a> {
        Section {
            name,
            line,
            entries: HashMap::new(),
        }
    }

    fn insert(&mut self, line: usize, key: &'a str, value: &'a str) -> Result<(), ImportError> {
        if let Some(prev) = self.entries.get(key) {
            return Err(ImportError::at_line(
                line,
                format!(
                    "{key}: appears twice in {} (first on line {})",
                    self.name, prev.line
                ),
            ));
        }
        self.entries.insert(key, Entry { line, value });
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Entry<'a>> {
        self.entries.get(key).copied()
    }

    fn require(&self, key: &str) -> Result<Entry<'a>, ImportError> {
        self.get(key)
            .ok_or_else(|| ImportError::at_line(self.line, format!("missing the `{key}=` line")))
    }

    /// A single integer value.
    fn int(&self, key: &str) -> Result<Option<(usize, i64)>, ImportError> {
        let Some(e) = self.get(key) else {
            return Ok(None);
        };
        let v = e.value.trim();
        v.parse::<i64>().map(|n| Some((e.line, n))).map_err(|_| {
            ImportError::at_line(e.line, format!("{key}: expected an integer, found `{v}`"))
        })
    }

    fn require_int(&self, key: &str) -> Result<(usize, i64), ImportError> {
        self.require(key)?;
        self.int(key)?
            .ok_or_else(|| ImportError::at_line(self.line, format!("{key}: missing")))
    }

    /// A whitespace-separated array of exactly `len` values of type `T` (`what` names them in messages).
    fn array<T: std::str::FromStr>(
        &self,
        key: &str,
        len: usize,
        what: &str,
    ) -> Result<Option<(usize, Vec<T>)>, ImportError> {
        let Some(e) = self.get(key) else {
            return Ok(None);
        };
        let tokens: Vec<&str> = e.value.split_ascii_whitespace().collect();
        if tokens.len() != len {
            return Err(ImportError::at_line(
                e.line,
                format!("{key}: expected {len} {what}, found {}", tokens.len()),
            ));
        }
        let mut out = Vec::with_capacity(len);
        for (i, t) in tokens.iter().enumerate() {
            match t.parse::<T>() {
                Ok(v) => out.push(v),
                Err(_) => {
                    return Err(ImportError::at_line(
                        e.line,
                        format!("{key}: item {i} is `{t}`, expected one of {len} {what}"),
                    ));
                }
            }
        }
        Ok(Some((e.line, out)))
    }

    fn require_array<T: std::str::FromStr>(
        &self,
        key: &str,
        len: usize,
        what: &str,
    ) -> Result<(usize, Vec<T>), ImportError> {
        self.require(key)?;
        self.array(key, len, what)?
            .ok_or_else(|| ImportError::at_line(self.line, format!("{key}: missing")))
    }
}

/// The header's objective, as far as prediction is concerned.
struct Objective {
    transform: Transform,
    /// `sigmoid:` parameter folded into the leaves (1 for none).
    scale: f64,
    /// Outputs the objective needs (`num_class:` for the multiclass objectives), if it says.
    num_class: Option<i64>,
    /// Canonical name (aliases resolved).
    kind: String,
    /// The objective line as written, for the source description.
    name: String,
}

/// LightGBM's objective aliases (`ParseObjectiveAlias`), mapped to the canonical names written in models.
fn canonical_objective(name: &str) -> &str {
    match name {
        "regression_l2"
        | "mean_squared_error"
        | "mse"
        | "l2"
        | "l2_root"
        | "root_mean_squared_error"
        | "rmse" => "regression",
        "mean_absolute_error" | "l1" | "mae" => "regression_l1",
        "softmax" => "multiclass",
        "multiclass_ova" | "ova" | "ovr" => "multiclassova",
        "xentropy" => "cross_entropy",
        "xentlambda" => "cross_entropy_lambda",
        "mean_absolute_percentage_error" => "mape",
        "xendcg" | "xe_ndcg" | "xe_ndcg_mart" | "xendcg_mart" => "rank_xendcg",
        "none" | "null" | "na" => "custom",
        other => other,
    }
}

fn parse_objective(line: usize, text: &str) -> Result<Objective, ImportError> {
    let mut tokens = text.split_ascii_whitespace();
    let raw = tokens.next().unwrap_or_default().to_ascii_lowercase();
    let name = canonical_objective(&raw).to_string();
    let mut sigmoid: Option<f64> = None;
    let mut num_class: Option<i64> = None;
    let mut sqrt = false;
    for t in tokens {
        let bad = || ImportError::at_line(line, format!("objective: cannot read parameter `{t}`"));
        if let Some(v) = t.strip_prefix("sigmoid:") {
            sigmoid = Some(v.parse().map_err(|_| bad())?);
        } else if let Some(v) = t.strip_prefix("num_class:") {
            num_class = Some(v.parse().map_err(|_| bad())?);
        } else if t == "sqrt" {
            sqrt = true;
        }
        // Other parameters do not affect prediction.
    }
    let needs_sigmoid = |sigmoid: Option<f64>| match sigmoid {
        Some(s) if s.is_finite() && s > 0.0 => Ok(s),
        Some(s) => Err(ImportError::at_line(
            line,
            format!("objective: sigmoid:{s} must be a finite number above 0"),
        )),
        None => Err(ImportError::at_line(
            line,
            format!("objective: `{name}` without its `sigmoid:` parameter"),
        )),
    };
    let (transform, scale) = match name.as_str() {
        "binary" | "multiclassova" => (Transform::Sigmoid, needs_sigmoid(sigmoid)?),
        "cross_entropy" => (Transform::Sigmoid, 1.0),
        "multiclass" => (Transform::Softmax, 1.0),
        "poisson" | "gamma" | "tweedie" => (Transform::Exp, 1.0),
        "regression" | "regression_l1" | "huber" | "fair" | "quantile" | "mape" => {
            if sqrt {
                return Err(ImportError::at_line(
                    line,
                    format!(
                        "objective: `{name} sqrt` predicts sign(m)·m², which the blob format has no transform \
                         for; retrain without `reg_sqrt`"
                    ),
                ));
            }
            (Transform::Identity, 1.0)
        }
        "lambdarank" | "rank_xendcg" | "custom" => (Transform::Identity, 1.0),
        "cross_entropy_lambda" => {
            return Err(ImportError::at_line(
                line,
                "objective: `cross_entropy_lambda` predicts log(1 + e^m), which the blob format has no \
                 transform for",
            ));
        }
        "" => return Err(ImportError::at_line(line, "objective: empty")),
        other => {
            return Err(ImportError::at_line(
                line,
                format!("objective: unknown objective `{other}`"),
            ));
        }
    };
    Ok(Objective {
        transform,
        scale,
        num_class,
        kind: name,
        name: text.trim().to_string(),
    })
}

/// The file split into its header and tree sections.
struct Sections<'a> {
    header: Section<'a>,
    /// Lines of `average_output` and similar bare flags in the header.
    flags: HashMap<&'a str, usize>,
    trees: Vec<Section<'a>>,
}

fn split_sections(text: &str) -> Result<Sections<'_>, ImportError> {
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    // The sub-model name: `tree` for every LightGBM tree booster (gbdt, dart, goss, rf).
    let first = lines.by_ref().find(|(_, l)| !l.trim().is_empty());
    match first {
        Some((_, l)) if l.trim() == "tree" => {}
        Some((n, l)) => {
            let shown: String = l.chars().take(40).collect();
            return Err(ImportError::at_line(
                n,
                format!(
                    "expected `tree` (the first line of a LightGBM text model), found `{shown}`"
                ),
            ));
        }
        None => return Err(ImportError::whole("the file is empty")),
    }
    let mut header = Section::new("the header".into(), 1);
    let mut flags = HashMap::new();
    let mut trees: Vec<Section> = Vec::new();
    let mut in_tree = false;
    let mut ended = false;
    let mut last = 1;
    for (n, line) in lines {
        last = n;
        if line.trim_end() == "end of trees" {
            ended = true;
            break;
        }
        if let Some(index) = line.strip_prefix("Tree=") {
            let expected = trees.len();
            if index.trim().parse::<usize>().ok() != Some(expected) {
                return Err(ImportError::at_line(
                    n,
                    format!("expected `Tree={expected}`, found `{line}`"),
                ));
            }
            trees.push(Section::new(format!("Tree={expected}"), n));
            in_tree = true;
            continue;
        }
        if line.trim().is_empty() {
            // A blank line ends a tree's block.
            in_tree = false;
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        match (trees.last_mut(), in_tree, value) {
            (None, _, Some(v)) => header.insert(n, key, v)?,
            (None, _, None) => {
                flags.insert(key.trim(), n);
            }
            (Some(tree), true, Some(v)) => tree.insert(n, key, v)?,
            _ => {
                let shown: String = line.chars().take(40).collect();
                return Err(ImportError::at_line(
                    n,
                    format!(
                        "expected a `key=value` line of a tree, `Tree=N` or `end of trees`, found `{shown}`"
                    ),
                ));
            }
        }
    }
    if !ended {
        return Err(ImportError::at_line(
            last,
            format!(
                "the file ends after {} trees without `end of trees` (truncated?)",
                trees.len()
            ),
        ));
    }
    Ok(Sections {
        header,
        flags,
        trees,
    })
}

fn parse(text: &str) -> Result<Ensemble, ImportError> {
    let s = split_sections(text)?;
    let h = &s.header;

    let (class_line, num_class) = h.require_int("num_class")?;
    if num_class < 1 {
        return Err(ImportError::at_line(
            class_line,
            format!("num_class: expected at least 1, found {num_class}"),
        ));
    }
    let (per_iter_line, per_iter) = h
        .int("num_tree_per_iteration")?
        .unwrap_or((class_line, num_class));
    let n_outputs = match u32::try_from(per_iter) {
        Ok(k) if k >= 1 => k,
        _ => {
            return Err(ImportError::at_line(
                per_iter_line,
                format!("num_tree_per_iteration: expected a count of at least 1, found {per_iter}"),
            ));
        }
    };
    let (mfi_line, max_feature_idx) = h.require_int("max_feature_idx")?;
    let n_features = match u32::try_from(max_feature_idx.saturating_add(1)) {
        Ok(n) if n >= 1 => n,
        _ => {
            return Err(ImportError::at_line(
                mfi_line,
                format!("max_feature_idx: expected 0 or more, found {max_feature_idx}"),
            ));
        }
    };
    let feature_names = match h.get("feature_names") {
        Some(e) => {
            let names: Vec<String> = e
                .value
                .split(' ')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            if names.len() != n_features as usize {
                return Err(ImportError::at_line(
                    e.line,
                    format!(
                        "feature_names: expected {n_features} names (max_feature_idx + 1), found {}",
                        names.len()
                    ),
                ));
            }
            Some(names)
        }
        None => None,
    };
    if let Some(e) = h.get("feature_infos") {
        let found = e.value.split(' ').filter(|n| !n.is_empty()).count();
        if found != n_features as usize {
            return Err(ImportError::at_line(
                e.line,
                format!(
                    "feature_infos: expected {n_features} entries (max_feature_idx + 1), found {found}"
                ),
            ));
        }
    }

    let objective = match h.get("objective") {
        Some(e) => parse_objective(e.line, e.value)?,
        // No objective line: a custom objective; LightGBM predicts the raw score.
        None => Objective {
            transform: Transform::Identity,
            scale: 1.0,
            num_class: None,
            kind: "custom".into(),
            name: "no objective".into(),
        },
    };
    let obj_line = h.get("objective").map_or(h.line, |e| e.line);
    match objective.kind.as_str() {
        "multiclass" | "multiclassova"
            if n_outputs as i64 != num_class
                || objective.num_class.is_some_and(|k| k != num_class) =>
        {
            return Err(ImportError::at_line(
                obj_line,
                format!(
                    "objective: `{}` disagrees with num_class={num_class} and num_tree_per_iteration={n_outputs}",
                    objective.name
                ),
            ));
        }
        "multiclass" | "multiclassova" | "custom" => {}
        _ if n_outputs != 1 || num_class != 1 => {
            return Err(ImportError::at_line(
                obj_line,
                format!(
                    "objective: `{}` has one output, but num_class={num_class} and num_tree_per_iteration={n_outputs}",
                    objective.name
                ),
            ));
        }
        _ => {}
    }

    if let Some(e) = h.get("tree_sizes") {
        let found = e.value.split_ascii_whitespace().count();
        if found != s.trees.len() {
            return Err(ImportError::at_line(
                e.line,
                format!(
                    "tree_sizes: lists {found} trees, but the file has {} `Tree=` blocks",
                    s.trees.len()
                ),
            ));
        }
    }

    let mut trees = Vec::with_capacity(s.trees.len());
    for (i, section) in s.trees.iter().enumerate() {
        let output = (i % n_outputs as usize) as u32;
        let mut tree = convert_tree(section, n_features).map_err(|mut e| {
            e.message = format!("{}: {}", section.name, e.message);
            e
        })?;
        tree.output = Some(output);
        if objective.scale != 1.0 {
            scale_leaves(&mut tree, objective.scale);
        }
        trees.push(tree);
    }
    if trees.len() % n_outputs as usize != 0 {
        return Err(ImportError::whole(format!(
            "{} trees is not a whole number of iterations of {n_outputs} trees",
            trees.len()
        )));
    }
    let iterations = trees.len() / n_outputs as usize;
    let average = s.flags.contains_key("average_output");
    let aggregate = if average {
        if iterations == 0 {
            return Err(ImportError::whole(
                "average_output (random forest) with no trees: the mean is undefined",
            ));
        }
        Aggregate::Mean {
            divisor: iterations as f64,
        }
    } else {
        Aggregate::Sum
    };

    let version = h.get("version").map_or("", |e| e.value.trim());
    let mut source = format!("lightgbm {version}, {}", objective.name);
    if average {
        source.push_str(", average_output");
    }
    if objective.scale != 1.0 {
        source.push_str(&format!(
            ", sigmoid:{} folded into the leaves",
            objective.scale
        ));
    }
    Ok(Ensemble {
        n_features,
        n_outputs,
        trees,
        base_margin: vec![0.0; n_outputs as usize],
        compare: Compare::LessEqual,
        aggregate,
        transform: objective.transform,
        precision: Precision::F64,
        feature_names,
        source,
        // LightGBM compares `x <= t` with the row's f64 values.
        input_f64: true,
    })
}

/// Multiplies every leaf output of `tree` by `k` (folding a sigmoid scale into the margin).
fn scale_leaves(tree: &mut Tree, k: f64) {
    for node in &mut tree.nodes {
        match node {
            Node::Leaf(v) => v.iter_mut().for_each(|x| *x *= k),
            Node::LinearLeaf(l) => {
                l.value *= k;
                l.constant *= k;
                l.terms.iter_mut().for_each(|(_, c)| *c *= k);
            }
            Node::Split(_) => {}
        }
    }
}

fn finite(line: usize, key: &str, values: &[f64]) -> Result<(), ImportError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(ImportError::at_line(
            line,
            format!("{key}: item {i} is {}, expected a finite number", values[i]),
        )),
        None => Ok(()),
    }
}

fn count(line: usize, key: &str, v: i64) -> Result<usize, ImportError> {
    usize::try_from(v)
        .map_err(|_| ImportError::at_line(line, format!("{key}: expected 0 or more, found {v}")))
}

/// The linear models of a linear tree's leaves (`None` for a tree with constant leaves).
fn linear_models(
    t: &Section,
    n_leaves: usize,
    leaf_value: &[f64],
    n_features: u32,
) -> Result<Option<Vec<LinearLeaf>>, ImportError> {
    let linear = match t.int("is_linear")? {
        None | Some((_, 0)) => false,
        Some((_, 1)) => true,
        Some((line, v)) => {
            return Err(ImportError::at_line(
                line,
                format!("is_linear: expected 0 or 1, found {v}"),
            ));
        }
    };
    if !linear {
        return Ok(None);
    }
    let constants = match t.array::<f64>("leaf_const", n_leaves, "numbers")? {
        Some((line, c)) => {
            finite(line, "leaf_const", &c)?;
            c
        }
        None => vec![0.0; n_leaves],
    };
    let num_feat = match t.array::<i64>("num_features", n_leaves, "integers")? {
        Some((line, v)) => v
            .iter()
            .map(|&k| count(line, "num_features", k))
            .collect::<Result<Vec<usize>, _>>()?,
        None => vec![0; n_leaves],
    };
    let total = num_feat
        .iter()
        .try_fold(0usize, |a, &k| a.checked_add(k))
        .ok_or_else(|| ImportError::at_line(t.line, "num_features: the total overflows"))?;
    let (features, coeffs) = if total == 0 {
        (Vec::new(), Vec::new())
    } else {
        let (fl, f) = t.require_array::<i64>("leaf_features", total, "integers")?;
        let (cl, c) = t.require_array::<f64>("leaf_coeff", total, "numbers")?;
        finite(cl, "leaf_coeff", &c)?;
        if let Some(i) = f.iter().position(|&x| x < 0 || x >= n_features as i64) {
            return Err(ImportError::at_line(
                fl,
                format!(
                    "leaf_features: item {i} is feature {}, expected 0..{n_features}",
                    f[i]
                ),
            ));
        }
        (f, c)
    };
    let mut at = 0;
    let mut out = Vec::with_capacity(n_leaves);
    for (leaf, &k) in num_feat.iter().enumerate() {
        let terms = (at..at + k)
            .map(|j| (features[j] as u32, coeffs[j]))
            .collect();
        at += k;
        out.push(LinearLeaf {
            value: leaf_value[leaf],
            constant: constants[leaf],
            terms,
        });
    }
    Ok(Some(out))
}

/// Categories of each category set of a tree (`cat_boundaries` / `cat_threshold`).
fn category_sets(t: &Section, num_cat: usize) -> Result<Vec<Vec<u32>>, ImportError> {
    if num_cat == 0 {
        return Ok(Vec::new());
    }
    let (bl, bounds) = t.require_array::<i64>("cat_boundaries", num_cat + 1, "integers")?;
    if bounds[0] != 0 || bounds.windows(2).any(|w| w[1] < w[0]) {
        return Err(ImportError::at_line(
            bl,
            "cat_boundaries: expected non-decreasing word offsets starting at 0",
        ));
    }
    let n_words = count(bl, "cat_boundaries", bounds[num_cat])?;
    let (wl, words) = t.require_array::<u32>("cat_threshold", n_words, "32-bit words")?;
    let mut sets = Vec::with_capacity(num_cat);
    for w in bounds.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        let mut cats = Vec::new();
        for (j, &word) in words[a..b].iter().enumerate() {
            for bit in 0..32 {
                if word & (1 << bit) != 0 {
                    let c = 32 * j as u64 + bit;
                    if c >= MAX_CATEGORY {
                        return Err(ImportError::at_line(
                            wl,
                            format!(
                                "cat_threshold: category {c} is not below 2^24, the largest the blob format supports"
                            ),
                        ));
                    }
                    cats.push(c as u32);
                }
            }
        }
        sets.push(cats);
    }
    Ok(sets)
}

fn convert_tree(t: &Section, n_features: u32) -> Result<Tree, ImportError> {
    let (nl_line, num_leaves) = t.require_int("num_leaves")?;
    if num_leaves < 1 {
        return Err(ImportError::at_line(
            nl_line,
            format!("num_leaves: expected at least 1, found {num_leaves}"),
        ));
    }
    let n_leaves = count(nl_line, "num_leaves", num_leaves)?;
    let (lv_line, leaf_value) = t.require_array::<f64>("leaf_value", n_leaves, "numbers")?;
    finite(lv_line, "leaf_value", &leaf_value)?;
    let linear = linear_models(t, n_leaves, &leaf_value, n_features)?;
    let leaf = |j: usize| match &linear {
        Some(models) => Node::LinearLeaf(models[j].clone()),
        None => Node::Leaf(vec![leaf_value[j]]),
    };
    if n_leaves == 1 {
        return Ok(Tree {
            nodes: vec![leaf(0)],
            output: None,
            weight: 1.0,
        });
    }
    let n_split = n_leaves - 1;
    let (nc_line, num_cat) = t.int("num_cat")?.unwrap_or((t.line, 0));
    let num_cat = count(nc_line, "num_cat", num_cat)?;
    let sets = category_sets(t, num_cat)?;
    let (sf_line, split_feature) = t.require_array::<i64>("split_feature", n_split, "integers")?;
    let (th_line, threshold) = t.require_array::<f64>("threshold", n_split, "numbers")?;
    let (dt_line, decision_type) = t
        .array::<i64>("decision_type", n_split, "integers")?
        .unwrap_or((t.line, vec![0; n_split]));
    let (lc_line, left) = t.require_array::<i64>("left_child", n_split, "integers")?;
    let (rc_line, right) = t.require_array::<i64>("right_child", n_split, "integers")?;

    // IR layout: splits at 0..n_split (the root is split 0), leaf j at n_split + j.
    let child = |line: usize, key: &str, i: usize, c: i64| -> Result<usize, ImportError> {
        if c >= 0 && (c as usize) < n_split {
            Ok(c as usize)
        } else if c < 0 && ((!c) as usize) < n_leaves {
            Ok(n_split + (!c) as usize)
        } else {
            Err(ImportError::at_line(
                line,
                format!(
                    "{key}: item {i} is {c}, expected a split in 0..{n_split} or a leaf ~j with j in 0..{n_leaves}"
                ),
            ))
        }
    };
    let mut nodes = Vec::with_capacity(n_split + n_leaves);
    for i in 0..n_split {
        let feature = split_feature[i];
        if feature < 0 || feature >= n_features as i64 {
            return Err(ImportError::at_line(
                sf_line,
                format!(
                    "split_feature: item {i} is {feature}, expected 0..{n_features} (max_feature_idx + 1)"
                ),
            ));
        }
        let dt = decision_type[i];
        if !(0..16).contains(&dt) {
            return Err(ImportError::at_line(
                dt_line,
                format!(
                    "decision_type: item {i} is {dt}, expected 0..=15 (categorical, default_left, missing type bits)"
                ),
            ));
        }
        let categorical = dt & 1 != 0;
        let default_left = dt & 2 != 0;
        let missing = match (dt >> 2) & 3 {
            0 => MissingMode::NanAsZero,
            1 => MissingMode::ZeroOrNan,
            2 => MissingMode::Nan,
            _ => {
                return Err(ImportError::at_line(
                    dt_line,
                    format!("decision_type: item {i} is {dt}, whose missing type 3 is unknown"),
                ));
            }
        };
        let th = threshold[i];
        let split = if categorical {
            let k = th as i64;
            if th.fract() != 0.0 || k < 0 || k as usize >= num_cat {
                return Err(ImportError::at_line(
                    th_line,
                    format!(
                        "threshold: item {i} is {th}, expected a category set index in 0..{num_cat} (num_cat)"
                    ),
                ));
            }
            // NaN and negative values go right whatever the missing type; members of the set go left.
            Split {
                feature: feature as u32,
                test: Test::Categorical {
                    categories: sets[k as usize].clone(),
                    in_set_left: true,
                    truncate_first: true,
                },
                default_left: false,
                missing: MissingMode::Nan,
                left: child(lc_line, "left_child", i, left[i])?,
                right: child(rc_line, "right_child", i, right[i])?,
            }
        } else {
            if th.is_nan() {
                return Err(ImportError::at_line(
                    th_line,
                    format!("threshold: item {i} is NaN"),
                ));
            }
            Split {
                feature: feature as u32,
                test: Test::Numeric(th),
                default_left,
                missing,
                left: child(lc_line, "left_child", i, left[i])?,
                right: child(rc_line, "right_child", i, right[i])?,
            }
        };
        nodes.push(Node::Split(split));
    }
    for j in 0..n_leaves {
        nodes.push(leaf(j));
    }
    check_shape(&nodes, n_split, lc_line)?;
    Ok(Tree {
        nodes,
        output: None,
        weight: 1.0,
    })
}

/// Every split and leaf is reached from the root exactly once (no sharing, no cycle, nothing unreachable).
fn check_shape(nodes: &[Node], n_split: usize, line: usize) -> Result<(), ImportError> {
    let name = |c: usize| {
        if c < n_split {
            format!("split {c}")
        } else {
            format!(
                "leaf {} (child ~{0} = {})",
                c - n_split,
                !((c - n_split) as i64)
            )
        }
    };
    let mut seen = vec![false; nodes.len()];
    let mut stack = vec![0usize];
    seen[0] = true;
    let mut reached = 1;
    while let Some(i) = stack.pop() {
        if let Node::Split(s) = &nodes[i] {
            for c in [s.left, s.right] {
                if seen[c] {
                    return Err(ImportError::at_line(
                        line,
                        format!(
                            "left_child/right_child: {} is reached twice (or is the root): not a tree",
                            name(c)
                        ),
                    ));
                }
                seen[c] = true;
                reached += 1;
                stack.push(c);
            }
        }
    }
    if reached != nodes.len() {
        return Err(ImportError::at_line(
            line,
            format!(
                "left_child/right_child: {} of {} nodes are not reachable from the root",
                nodes.len() - reached,
                nodes.len()
            ),
        ));
    }
    Ok(())
}
