//! Spark ML importer: the tree models `model.write().save(path)` writes (Spark 3.x `org.apache.spark.ml`), a
//! directory rather than a file, into the [ensemble IR](crate::ir).
//!
//! The directory holds `metadata/part-00000` (one JSON line: `class`, `sparkVersion`, `paramMap`, `numFeatures`,
//! `numClasses` for classifiers, `numTrees` for ensembles), `data/*.parquet` (the node table, see
//! [`node_table`]) and, for ensembles, `treesMetadata/*.parquet` (one row per tree with its weight).
//!
//! Classes and what a prediction is, as Spark computes it (in f64):
//!
//! - `DecisionTreeRegressionModel`: the leaf's `prediction`.
//! - `RandomForestRegressionModel`: the mean of the trees' leaf predictions ([`Aggregate::Mean`]).
//! - `GBTRegressionModel`: `Σ weight_t · prediction_t` over the trees (`treesMetadata.weights`: 1 for the first
//!   tree, the step size after it), whatever the loss. Each weight is folded into its tree's leaves in f64.
//! - `DecisionTreeClassificationModel`: `probability` is the leaf's `impurityStats` (weighted class counts)
//!   divided by their sum; the leaves hold those probabilities, one output per class. Spark's `rawPrediction` is
//!   the counts themselves.
//! - `RandomForestClassificationModel`: `rawPrediction` is the sum over trees of each tree's normalised class
//!   counts (a tree whose leaf counts sum to 0 adds nothing), `probability` that sum divided by its total: the
//!   leaves hold each tree's probabilities and the margin is their mean ([`Aggregate::Mean`] over `numTrees`), which
//!   is Spark's `probability` (and `rawPrediction / numTrees`).
//! - `GBTClassificationModel` (binary, log loss on labels ±1): with `m = Σ weight_t · prediction_t`, Spark's
//!   `rawPrediction` is `[−m, m]` and `probability[1] = 1 / (1 + exp(−2m))`. The leaves hold `2 · weight_t ·
//!   prediction_t`, so the margin is `2m` and the prediction is [`Transform::Sigmoid`] of it: Spark's
//!   `probability[1]`.
//!
//! Splits, Spark's rule: a continuous split (`numCategories = −1`) sends `x <= threshold` left
//! ([`Compare::LessEqual`], the threshold kept in f64); NaN is not `<=` anything, so it goes right. A
//! categorical split stores the categories that go left (`leftCategoriesOrThreshold`). Spark tests the shorter
//! side: with at most `numCategories / 2` left categories, `x` goes left when it equals one of them (so any other
//! value, unseen categories and NaN included, goes right); otherwise `x` goes right when it equals one of the
//! right categories (`0..numCategories` minus the left ones), and every other value goes left. emkern tests
//! membership of `trunc(x)` (a negative `x` is in no set), so the two agree on every integer value, which is
//! what Spark's `VectorIndexer` and `StringIndexer` produce; a fractional value of a categorical feature, which
//! Spark's equality never matches, is read by its integer part.
//!
//! Leaves and sums are f64 ([`Precision::F64`]), as Spark computes them. Inputs: Spark reads f64 features; an f32
//! row takes Spark's path exactly (the blob keeps each threshold rounded down to f32, exact for f32 inputs), and
//! `emkern predict` maps f64 rows onto f32 values with the same decisions ([`crate::f64_inputs`]).
//!
//! Every problem is an [`ImportError`] naming the file (the metadata file or a Parquet part file), the JSON key or
//! the row and column, and what was expected. The older `org.apache.spark.mllib` (RDD API) models and other
//! classes are rejected, naming the class.
//!
//! XGBoost's PySpark estimators (`xgboost.spark`, `SparkXGBClassifier` and co.) save a directory with the same
//! `metadata/part-00000` and the booster's JSON under `model/`: [`xgboost_spark`] hands it to the XGBoost importer.
//! The JVM XGBoost4J-Spark models (`ml.dmlc.xgboost4j.scala.spark.*Model`) keep the booster's bytes under
//! `data/`: [`xgboost4j`] reads them (JSON, UBJSON or XGBoost's legacy binary format).

pub mod layout;
pub mod node_table;
pub mod xgboost4j;
pub mod xgboost_spark;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::ImportError;
use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test, Transform, Tree,
};
pub use layout::{METADATA, looks_like_dir, looks_like_metadata, model_dir};
use node_table::{NodeRow, RowAt, TreeRow};

type Result<T> = std::result::Result<T, ImportError>;

/// Largest number of features accepted (a sanity bound against corrupt files).
pub const MAX_FEATURES: u64 = 1 << 31;

/// Largest number of classes accepted (a sanity bound against corrupt files).
pub const MAX_CLASSES: u64 = 1 << 16;

/// Largest `numCategories` accepted: categories must be below 2²⁴ (the IR's and the blob's limit).
pub const MAX_CATEGORIES: i64 = 1 << 24;

/// The model classes this importer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `org.apache.spark.ml.classification.DecisionTreeClassificationModel`.
    TreeClassifier,
    /// `org.apache.spark.ml.regression.DecisionTreeRegressionModel`.
    TreeRegressor,
    /// `org.apache.spark.ml.classification.RandomForestClassificationModel`.
    ForestClassifier,
    /// `org.apache.spark.ml.regression.RandomForestRegressionModel`.
    ForestRegressor,
    /// `org.apache.spark.ml.classification.GBTClassificationModel`.
    GbtClassifier,
    /// `org.apache.spark.ml.regression.GBTRegressionModel`.
    GbtRegressor,
}

impl Kind {
    /// Every kind with its class name.
    pub const ALL: [(Kind, &'static str); 6] = [
        (
            Kind::TreeClassifier,
            "org.apache.spark.ml.classification.DecisionTreeClassificationModel",
        ),
        (
            Kind::TreeRegressor,
            "org.apache.spark.ml.regression.DecisionTreeRegressionModel",
        ),
        (
            Kind::ForestClassifier,
            "org.apache.spark.ml.classification.RandomForestClassificationModel",
        ),
        (
            Kind::ForestRegressor,
            "org.apache.spark.ml.regression.RandomForestRegressionModel",
        ),
        (
            Kind::GbtClassifier,
            "org.apache.spark.ml.classification.GBTClassificationModel",
        ),
        (
            Kind::GbtRegressor,
            "org.apache.spark.ml.regression.GBTRegressionModel",
        ),
    ];

    /// The kind of a class name.
    pub fn from_class(class: &str) -> Option<Kind> {
        Kind::ALL.iter().find(|(_, c)| *c == class).map(|(k, _)| *k)
    }

    /// Whether the model is an ensemble (saved with `treeID` and `treesMetadata/`).
    pub fn is_ensemble(self) -> bool {
        !matches!(self, Kind::TreeClassifier | Kind::TreeRegressor)
    }

    /// Whether the leaves are class counts turned into probabilities.
    fn counts_classes(self) -> bool {
        matches!(self, Kind::TreeClassifier | Kind::ForestClassifier)
    }
}

/// What the metadata says.
#[derive(Clone, Debug)]
struct Metadata {
    kind: Kind,
    class: String,
    version: String,
    n_features: u32,
    n_classes: usize,
    n_trees: Option<u64>,
    loss: Option<String>,
}

fn read_metadata(dir: &Path) -> Result<Metadata> {
    let path = dir.join(METADATA);
    let bytes = ImportError::read_file(&path)?;
    parse_metadata(&bytes).map_err(|e| e.in_file(&path))
}

fn parse_metadata(bytes: &[u8]) -> Result<Metadata> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    // Spark writes one JSON line; a text file of several lines would be several part files' worth.
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::at_line(
            e.line().max(1),
            format!("column {}: not valid JSON: {e}", e.column()),
        )
    })?;
    let text = |key: &str| -> Result<String> {
        match doc.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(ImportError::at_path(
                key,
                format!("expected a string, found {other}"),
            )),
            None => Err(ImportError::at_path(key, "missing")),
        }
    };
    let count = |key: &str, max: u64| -> Result<Option<u64>> {
        match doc.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if (1..=max).contains(&n) => Ok(Some(n)),
                _ => Err(ImportError::at_path(
                    key,
                    format!("expected an integer from 1 to {max}, found {v}"),
                )),
            },
        }
    };
    let class = text("class")?;
    let kind = Kind::from_class(&class).ok_or_else(|| {
        let why = if class.starts_with("org.apache.spark.mllib.") {
            "a model of the older RDD-based `spark.mllib` API: save the `spark.ml` (DataFrame API) model instead"
                .to_string()
        } else {
            let names: Vec<&str> = Kind::ALL
                .iter()
                .map(|(_, c)| c.rsplit('.').next().unwrap_or(c))
                .collect();
            format!("not a model class emkern imports ({})", names.join(", "))
        };
        ImportError::at_path("class", format!("`{class}`: {why}"))
    })?;
    let version = text("sparkVersion")?;
    let n_features = count("numFeatures", MAX_FEATURES)?
        .ok_or_else(|| ImportError::at_path("numFeatures", "missing"))? as u32;
    let n_classes = match kind {
        Kind::TreeClassifier | Kind::ForestClassifier => {
            let n = count("numClasses", MAX_CLASSES)?
                .ok_or_else(|| ImportError::at_path("numClasses", "missing"))?;
            if n < 2 {
                return Err(ImportError::at_path(
                    "numClasses",
                    format!("expected at least 2 classes, found {n}"),
                ));
            }
            n as usize
        }
        Kind::GbtClassifier => {
            if let Some(n) = count("numClasses", MAX_CLASSES)?
                && n != 2
            {
                return Err(ImportError::at_path(
                    "numClasses",
                    format!("a GBT classifier is binary, found {n} classes"),
                ));
            }
            2
        }
        _ => 0,
    };
    let n_trees = if kind.is_ensemble() {
        count("numTrees", u32::MAX as u64)?
    } else {
        None
    };
    let param = |key: &str| {
        ["paramMap", "defaultParamMap"]
            .iter()
            .find_map(|m| doc.get(m)?.get(key))
    };
    let loss = match param("lossType") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(ImportError::at_path(
                "paramMap.lossType",
                format!("expected a string, found {other}"),
            ));
        }
    };
    if kind == Kind::GbtClassifier
        && let Some(l) = &loss
        && l != "logistic"
    {
        return Err(ImportError::at_path(
            "paramMap.lossType",
            format!("`{l}`: a GBT classifier's loss is `logistic` (the only one Spark has)"),
        ));
    }
    Ok(Metadata {
        kind,
        class,
        version,
        n_features,
        n_classes,
        n_trees,
        loss,
    })
}

/// Imports the Spark ML model saved in directory `dir` (or named by its `metadata/part-00000` file).
pub fn load(path: impl AsRef<Path>) -> Result<Ensemble> {
    let path = path.as_ref();
    let dir = model_dir(path).ok_or_else(|| {
        ImportError::whole(
            "not a Spark ML model directory (expected a directory holding metadata/part-00000)",
        )
        .in_file(path)
    })?;
    let metadata = dir.join(METADATA);
    if let Some(e) = xgboost_spark::load(&dir, &ImportError::read_file(&metadata)?)? {
        return Ok(e);
    }
    if let Some(e) = xgboost4j::load(&dir, &ImportError::read_file(&metadata)?)? {
        return Ok(e);
    }
    let meta = read_metadata(&dir)?;
    let nodes = node_table::read_nodes(&dir.join("data"), meta.kind.is_ensemble())?;
    let trees = if meta.kind.is_ensemble() {
        Some(node_table::read_trees(&dir.join("treesMetadata"))?)
    } else {
        None
    };
    build(&meta, nodes, trees.as_deref(), &dir)
}

/// The one-line description of a model: `Spark MLlib <class>, Spark <version>`, with the loss of a GBT model.
fn source(meta: &Metadata) -> String {
    let short = meta.class.rsplit('.').next().unwrap_or(&meta.class);
    let mut s = format!("Spark MLlib {short}, Spark {}", meta.version);
    if matches!(meta.kind, Kind::GbtRegressor | Kind::GbtClassifier)
        && let Some(l) = &meta.loss
    {
        s.push_str(&format!(", lossType {l}"));
    }
    s
}

fn build(
    meta: &Metadata,
    nodes: Vec<NodeRow>,
    tree_rows: Option<&[TreeRow]>,
    dir: &Path,
) -> Result<Ensemble> {
    // Nodes grouped by tree, each tree's nodes by id.
    let mut by_tree: BTreeMap<i64, BTreeMap<i64, NodeRow>> = BTreeMap::new();
    for n in nodes {
        if n.tree < 0 {
            return Err(n
                .at
                .err_top("treeID", format!("negative tree id {}", n.tree)));
        }
        let tree = by_tree.entry(n.tree).or_default();
        if tree.contains_key(&n.id) {
            return Err(n
                .at
                .err("id", format!("tree {} has node {} twice", n.tree, n.id)));
        }
        tree.insert(n.id, n);
    }
    let data = dir.join("data");
    if by_tree.is_empty() {
        return Err(ImportError::whole("the node table has no rows").in_file(&data));
    }
    let n_trees = by_tree.len();
    if let Some((&last, _)) = by_tree.last_key_value()
        && last as usize != n_trees - 1
    {
        return Err(ImportError::whole(format!(
            "tree ids are not 0..{n_trees} (the largest is {last})"
        ))
        .in_file(&data));
    }
    if let Some(want) = meta.n_trees
        && want as usize != n_trees
    {
        return Err(ImportError::at_path(
            "numTrees",
            format!("{want}, but the node table under data/ has {n_trees} trees"),
        )
        .in_file(&dir.join(METADATA)));
    }
    // Tree weights (GBT only; Spark's forests ignore theirs, which are all 1).
    let mut weights = vec![1.0f64; n_trees];
    if let Some(rows) = tree_rows {
        let mut seen = vec![false; n_trees];
        for r in rows {
            let slot = usize::try_from(r.tree)
                .ok()
                .filter(|&t| t < n_trees)
                .ok_or_else(|| {
                    r.at.err(
                        "treeID",
                        format!(
                            "tree {} is not in the node table (trees 0..{n_trees})",
                            r.tree
                        ),
                    )
                })?;
            if std::mem::replace(&mut seen[slot], true) {
                return Err(r.at.err("treeID", format!("tree {} listed twice", r.tree)));
            }
            if !r.weight.is_finite() {
                return Err(r.at.err("weights", format!("not finite: {}", r.weight)));
            }
            weights[slot] = r.weight;
        }
        if let Some(t) = seen.iter().position(|s| !s) {
            return Err(ImportError::whole(format!("no row for tree {t}"))
                .in_file(&dir.join("treesMetadata")));
        }
    }
    let leaf_factor = |t: usize| match meta.kind {
        Kind::GbtRegressor => weights[t],
        Kind::GbtClassifier => 2.0 * weights[t],
        _ => 1.0,
    };
    let mut trees = Vec::with_capacity(n_trees);
    for (t, nodes) in by_tree.into_values().enumerate() {
        trees.push(tree(meta, t, nodes, leaf_factor(t))?);
    }
    let (n_outputs, aggregate, transform) = match meta.kind {
        Kind::TreeClassifier => (meta.n_classes, Aggregate::Sum, Transform::Identity),
        Kind::ForestClassifier => (
            meta.n_classes,
            Aggregate::Mean {
                divisor: n_trees as f64,
            },
            Transform::Identity,
        ),
        Kind::TreeRegressor | Kind::GbtRegressor => (1, Aggregate::Sum, Transform::Identity),
        Kind::ForestRegressor => (
            1,
            Aggregate::Mean {
                divisor: n_trees as f64,
            },
            Transform::Identity,
        ),
        Kind::GbtClassifier => (1, Aggregate::Sum, Transform::Sigmoid),
    };
    Ok(Ensemble {
        n_features: meta.n_features,
        n_outputs: n_outputs as u32,
        trees,
        base_margin: vec![0.0; n_outputs],
        compare: Compare::LessEqual,
        aggregate,
        transform,
        precision: Precision::F64,
        feature_names: None,
        source: source(meta),
        // Spark ML reads f64 feature vectors.
        input_f64: true,
    })
}

impl RowAt {
    /// An error about a top-level column of this row (`treeID`), without the `nodeData.` prefix.
    fn err_top(&self, column: &str, message: impl Into<String>) -> ImportError {
        RowAt {
            prefix: "",
            ..self.clone()
        }
        .err(column, message)
    }
}

/// One tree from its nodes (keyed by id): ids `0..n`, each child's id above its parent's (Spark numbers nodes in
/// pre-order), every node reached once.
fn tree(meta: &Metadata, t: usize, nodes: BTreeMap<i64, NodeRow>, factor: f64) -> Result<Tree> {
    let n = nodes.len();
    let rows: Vec<NodeRow> = nodes.into_values().collect();
    if let Some(bad) = rows.iter().enumerate().find(|(i, r)| r.id != *i as i64) {
        return Err(bad.1.at.err(
            "id",
            format!(
                "tree {t}: node ids are not 0..{n} (found {} where {} was expected)",
                bad.1.id, bad.0
            ),
        ));
    }
    let mut parent = vec![false; n];
    let mut out = Vec::with_capacity(n);
    for (i, r) in rows.iter().enumerate() {
        if r.left == -1 && r.right == -1 {
            out.push(Node::Leaf(leaf(meta, t, r, factor)?));
            continue;
        }
        let mut child = |c: i64, column: &str| -> Result<usize> {
            let ok = c > i as i64 && (c as u64) < n as u64;
            if !ok {
                return Err(r.at.err(
                    column,
                    format!(
                        "tree {t}, node {i}: child {c} is not a later node of the tree (ids {}..{n})",
                        i + 1
                    ),
                ));
            }
            if std::mem::replace(&mut parent[c as usize], true) {
                return Err(r.at.err(
                    column,
                    format!("tree {t}, node {i}: node {c} already has a parent"),
                ));
            }
            Ok(c as usize)
        };
        let left = child(r.left, "leftChild")?;
        let right = child(r.right, "rightChild")?;
        let s = r.split.as_ref().ok_or_else(|| {
            r.at.err(
                "split",
                format!("tree {t}, node {i} has children but no split"),
            )
        })?;
        out.push(Node::Split(split(meta, t, i, s, &r.at, left, right)?));
    }
    Ok(Tree {
        nodes: out,
        output: (!meta.kind.counts_classes()).then_some(0),
        weight: 1.0,
    })
}

fn leaf(meta: &Metadata, t: usize, r: &NodeRow, factor: f64) -> Result<Vec<f64>> {
    if !meta.kind.counts_classes() {
        if !r.prediction.is_finite() {
            return Err(r.at.err(
                "prediction",
                format!("tree {t}, leaf {}: not finite: {}", r.id, r.prediction),
            ));
        }
        return Ok(vec![factor * r.prediction]);
    }
    if r.stats.len() != meta.n_classes {
        return Err(r.at.err(
            "impurityStats",
            format!(
                "tree {t}, leaf {}: {} class counts, the model has {} classes",
                r.id,
                r.stats.len(),
                meta.n_classes
            ),
        ));
    }
    if let Some(k) = r.stats.iter().position(|c| !c.is_finite() || *c < 0.0) {
        return Err(r.at.err(
            &format!("impurityStats[{k}]"),
            format!(
                "tree {t}, leaf {}: a class count must be finite and ≥ 0, found {}",
                r.id, r.stats[k]
            ),
        ));
    }
    // Spark sums the counts left to right and divides each by the sum.
    let total: f64 = r.stats.iter().sum();
    if total == 0.0 {
        if meta.kind == Kind::ForestClassifier {
            // Spark's forest skips such a tree: it adds nothing to the votes.
            return Ok(vec![0.0; r.stats.len()]);
        }
        return Err(r.at.err(
            "impurityStats",
            format!(
                "tree {t}, leaf {}: the class counts are all 0 (Spark cannot normalise them)",
                r.id
            ),
        ));
    }
    if !total.is_finite() {
        return Err(r.at.err(
            "impurityStats",
            format!("tree {t}, leaf {}: the class counts sum to {total}", r.id),
        ));
    }
    Ok(r.stats.iter().map(|c| c / total).collect())
}

fn split(
    meta: &Metadata,
    t: usize,
    i: usize,
    s: &node_table::SplitRow,
    at: &RowAt,
    left: usize,
    right: usize,
) -> Result<Split> {
    let feature = u32::try_from(s.feature)
        .ok()
        .filter(|&f| f < meta.n_features)
        .ok_or_else(|| {
            at.err(
                "split.featureIndex",
                format!(
                    "tree {t}, node {i}: feature {} is not below numFeatures {}",
                    s.feature, meta.n_features
                ),
            )
        })?;
    let values = &s.values;
    let column = "split.leftCategoriesOrThreshold";
    let (test, default_left) = if s.num_categories == -1 {
        match values[..] {
            [threshold] if !threshold.is_nan() => (Test::Numeric(threshold), false),
            _ => {
                return Err(at.err(
                    column,
                    format!(
                        "tree {t}, node {i}: a continuous split has one threshold, found {values:?}"
                    ),
                ));
            }
        }
    } else {
        let k = s.num_categories;
        if !(1..=MAX_CATEGORIES).contains(&k) {
            return Err(at.err(
                "split.numCategories",
                format!(
                    "tree {t}, node {i}: expected -1 (continuous) or 1 to {MAX_CATEGORIES}, found {k}"
                ),
            ));
        }
        let mut left_set = Vec::with_capacity(values.len());
        for (j, &c) in values.iter().enumerate() {
            if !(c >= 0.0 && c < k as f64 && c.fract() == 0.0) {
                return Err(at.err(
                    &format!("{column}[{j}]"),
                    format!(
                        "tree {t}, node {i}: a category index from 0 to {}, found {c}",
                        k - 1
                    ),
                ));
            }
            left_set.push(c as u32);
        }
        // Spark's `CategoricalSplit`: the left categories are tested when there are at most half of them
        // (counted as stored), else the right ones, and a value in neither set goes to the untested side's
        // opposite.
        if values.len() as i64 <= k / 2 {
            left_set.sort_unstable();
            left_set.dedup();
            (
                Test::Categorical {
                    categories: left_set,
                    in_set_left: true,
                    truncate_first: false,
                },
                false,
            )
        } else {
            let mut is_left = vec![false; k as usize];
            for &c in &left_set {
                is_left[c as usize] = true;
            }
            let right_set: Vec<u32> = (0..k as u32).filter(|&c| !is_left[c as usize]).collect();
            (
                Test::Categorical {
                    categories: right_set,
                    in_set_left: false,
                    truncate_first: false,
                },
                true,
            )
        }
    };
    Ok(Split {
        feature,
        test,
        default_left,
        missing: MissingMode::Nan,
        left,
        right,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(json: &str) -> Result<Metadata> {
        parse_metadata(json.as_bytes())
    }

    #[test]
    fn metadata_names_the_field() {
        let e = metadata(r#"{"class":"org.apache.spark.ml.regression.GBTRegressionModel","sparkVersion":"3.5.1"}"#)
            .unwrap_err();
        assert_eq!(
            e.location,
            crate::import::Location::Path("numFeatures".into())
        );
        let e = metadata(
            r#"{"class":"org.apache.spark.mllib.tree.model.RandomForestModel","sparkVersion":"3.5.1"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("spark.mllib"), "{e}");
        let e = metadata(
            r#"{"class":"org.apache.spark.ml.classification.DecisionTreeClassificationModel","sparkVersion":"3.5.1","numFeatures":3,"numClasses":1}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.location,
            crate::import::Location::Path("numClasses".into())
        );
        let m = metadata(
            r#"{"class":"org.apache.spark.ml.classification.GBTClassificationModel","sparkVersion":"3.5.1","numFeatures":3,"numTrees":2,"paramMap":{},"defaultParamMap":{"lossType":"logistic"}}"#,
        )
        .unwrap();
        assert_eq!(m.kind, Kind::GbtClassifier);
        assert_eq!(
            source(&m),
            "Spark MLlib GBTClassificationModel, Spark 3.5.1, lossType logistic"
        );
    }

    /// Spark's `CategoricalSplit.shouldGoLeft`, from its definition: with at most `k / 2` stored left categories,
    /// left exactly when `x` equals one of them; otherwise right exactly when `x` equals one of `0..k` that is not
    /// a left category.
    fn spark_goes_left(left: &[f64], k: i64, x: f64) -> bool {
        if left.len() as i64 <= k / 2 {
            left.contains(&x)
        } else {
            let right: Vec<f64> = (0..k)
                .map(|c| c as f64)
                .filter(|c| !left.contains(c))
                .collect();
            !right.contains(&x)
        }
    }

    fn gbt_metadata(n_features: u32) -> Metadata {
        Metadata {
            kind: Kind::GbtClassifier,
            class: Kind::ALL[4].1.into(),
            version: "3.5.9".into(),
            n_features,
            n_classes: 2,
            n_trees: None,
            loss: None,
        }
    }

    fn at() -> RowAt {
        RowAt {
            file: std::path::PathBuf::from("data/part-00000.parquet"),
            row: 0,
            prefix: "",
        }
    }

    /// A two-node-deep tree: a categorical split on feature 0 (`left` of `k` categories), then leaves.
    fn categorical_tree(left: &[f64], k: i64) -> Vec<NodeRow> {
        let leaf = |id, v| NodeRow {
            tree: 0,
            id,
            prediction: v,
            stats: vec![],
            left: -1,
            right: -1,
            split: None,
            at: at(),
        };
        vec![
            NodeRow {
                tree: 0,
                id: 0,
                prediction: 0.0,
                stats: vec![],
                left: 1,
                right: 2,
                split: Some(node_table::SplitRow {
                    feature: 0,
                    values: left.to_vec(),
                    num_categories: k,
                }),
                at: at(),
            },
            leaf(1, -1.0),
            leaf(2, 1.0),
        ]
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_config::proptest_config(256))]

        /// Every categorical split, both sides tested, sends every value where Spark's rule does: integers in and
        /// around `0..k`, −0, NaN and ±inf (fractional values are documented to differ).
        #[test]
        fn categorical_splits_follow_spark(k in 1i64..12, bits in proptest::prelude::any::<u16>()) {
            let left: Vec<f64> = (0..k).filter(|c| bits >> c & 1 == 1).map(|c| c as f64).collect();
            let meta = gbt_metadata(1);
            let e = build(&meta, categorical_tree(&left, k), None, Path::new("m")).unwrap();
            let Node::Split(s) = &e.trees[0].nodes[0] else { unreachable!() };
            let mut xs: Vec<f64> = (-3..k + 4).map(|c| c as f64).collect();
            xs.extend([-0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e9]);
            for x in xs {
                proptest::prop_assert_eq!(
                    s.goes_left(x as f32, Compare::LessEqual),
                    spark_goes_left(&left, k, x),
                    "left {:?} of {} categories, x = {}", left, k, x
                );
            }
        }
    }

    /// Damaged node rows are errors naming the row and column, never a panic.
    #[test]
    fn damaged_node_rows_are_errors() {
        let meta = gbt_metadata(2);
        type Damage = Box<dyn Fn(&mut Vec<NodeRow>)>;
        let cases: Vec<(Damage, &str)> = vec![
            (Box::new(|n| n[0].left = 0), "leftChild"),
            (Box::new(|n| n[0].right = 9), "rightChild"),
            (Box::new(|n| n[0].right = 1), "rightChild"),
            (Box::new(|n| n[2].id = 7), "id"),
            (Box::new(|n| n[1].id = 0), "id"),
            (Box::new(|n| n[0].split = None), "split"),
            (
                Box::new(|n| n[0].split.as_mut().unwrap().feature = 2),
                "split.featureIndex",
            ),
            (
                Box::new(|n| n[0].split.as_mut().unwrap().num_categories = 0),
                "split.numCategories",
            ),
            (
                Box::new(|n| n[0].split.as_mut().unwrap().values = vec![1.5]),
                "split.leftCategoriesOrThreshold[0]",
            ),
            (
                Box::new(|n| n[0].split.as_mut().unwrap().values = vec![6.0]),
                "split.leftCategoriesOrThreshold[0]",
            ),
            (
                Box::new(|n| {
                    let s = n[0].split.as_mut().unwrap();
                    s.num_categories = -1;
                    s.values = vec![f64::NAN];
                }),
                "split.leftCategoriesOrThreshold",
            ),
            (Box::new(|n| n[1].prediction = f64::INFINITY), "prediction"),
        ];
        for (damage, column) in cases {
            let mut nodes = categorical_tree(&[1.0, 3.0], 6);
            damage(&mut nodes);
            let e = build(&meta, nodes, None, Path::new("m")).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with("data/part-00000.parquet: row 0: ") && text.contains(column),
                "{text} (expected {column})"
            );
        }
    }

    #[test]
    fn metadata_files_are_told_from_xgboost_json() {
        assert!(looks_like_metadata(
            br#"{"class":"org.apache.spark.ml.regression.GBTRegressionModel","timestamp":1,"sparkVersion":"3.5.1"}"#
        ));
        assert!(!looks_like_metadata(br#"{"learner": {"class": "x"}}"#));
    }
}
