//! scikit-learn fixtures: every directory under `fixtures/sklearn/` holds an estimator exported by
//! `host-tests/python/emkern_sklearn.py` (`model.json`, the emkern-sklearn JSON of `docs/sklearn-json.md`), rows
//! (`input.csv`, a header line, an empty cell for a missing value) and scikit-learn's own outputs for them
//! (`margin.csv` and `pred.csv`; `meta.json` names the scikit-learn expression each reproduces, which is what the
//! document's `margin_equals` / `prediction_equals` promise). Each model is imported, checked against
//! scikit-learn with the IR's f64 reference evaluator, exported as a blob, loaded by the no_std core and checked
//! again row by row. The `AdaBoostRegressor` fixtures (a weighted median: the prediction is one tree's output)
//! are held to more: the IR's reference equals scikit-learn's `predict` exactly and the core returns its f32
//! rounding, bit for bit.
//!
//! `EMKERN_SKLEARN_FIXTURES` overrides the fixture directory.

#[path = "common/proptest_config.rs"]
mod proptest_config;
#[path = "common/python.rs"]
mod python;
use std::path::{Path, PathBuf};

use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::import::sklearn;
use emkern_host::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Test, Transform,
};
mod common;

use common::fixtures::{ABS, Outcome, REL, check_fixture, close, run_all};
use proptest::prelude::*;
use proptest_config::proptest_config;
use serde_json::Value;

fn run_fixture(dir: &Path) -> Result<Outcome, String> {
    let ensemble = sklearn::load(dir.join("model.json")).map_err(|e| format!("import: {e}"))?;
    check_fixture("scikit-learn", dir, &ensemble, 1.0)
}

fn fixture_root() -> PathBuf {
    match std::env::var_os("EMKERN_SKLEARN_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sklearn"),
    }
}

#[test]
fn sklearn_fixtures_match_sklearn() {
    run_all("scikit-learn", &fixture_root(), "model.json", run_fixture);
}

/// A small document by the specification: vector leaves, a mean, a categorical split, an `"inf"` threshold.
const SMALL_DOC: &str = r#"{
  "format": "emkern-sklearn", "version": 1, "source": "hand-written, RandomForestClassifier-like",
  "estimator": "RandomForestClassifier", "sklearn_version": "1.9.1",
  "n_features": 3, "n_outputs": 2, "compare": "le", "aggregate": {"mean": 2.0}, "transform": "identity",
  "precision": "f64", "base_margin": [0.0, 0.0], "feature_names": ["a", "b", "c"], "classes": [0, 1],
  "margin_equals": "predict_proba(X)", "prediction_equals": "predict_proba(X)",
  "trees": [
    {"output": null, "weight": 1.0, "nodes": [
      {"split": {"feature": 0, "threshold": 0.5, "default_left": true, "missing": "nan"}, "left": 1, "right": 2},
      {"leaf": [0.25, 0.75]},
      {"split": {"feature": 2, "categories": [1, 3, 40], "in_set_left": false, "truncate_first": false,
                 "default_left": false, "missing": "nan"}, "left": 3, "right": 4},
      {"leaf": [1.0, 0.0]},
      {"leaf": [0.5, 0.5]}
    ]},
    {"output": null, "weight": 1.0, "nodes": [
      {"split": {"feature": 1, "threshold": "inf", "default_left": false, "missing": "nan"}, "left": 1, "right": 2},
      {"leaf": [0.1, 0.9]},
      {"leaf": [0.6, 0.4]}
    ]}
  ]
}"#;

/// A small scalar-leaf document: gradient-boosting-like, two outputs, softmax.
const SMALL_SCALAR_DOC: &str = r#"{
  "format": "emkern-sklearn", "version": 1, "source": "hand-written, GradientBoostingClassifier-like",
  "n_features": 2, "n_outputs": 2, "compare": "le", "aggregate": "sum", "transform": "softmax",
  "precision": "f64", "base_margin": [-0.5, 0.25],
  "trees": [
    {"output": 0, "weight": 1.0, "nodes": [
      {"split": {"feature": 1, "threshold": -0.125, "default_left": true, "missing": "nan"}, "left": 1, "right": 2},
      {"leaf": [-0.18]},
      {"leaf": [0.21]}
    ]},
    {"output": 1, "weight": 1.0, "nodes": [{"leaf": [0.03]}]}
  ]
}"#;

/// A small AdaBoostRegressor-like document: a weighted median of three trees (two give equal outputs).
const SMALL_MEDIAN_DOC: &str = r#"{
  "format": "emkern-sklearn", "version": 1, "source": "hand-written, AdaBoostRegressor-like",
  "n_features": 2, "n_outputs": 1, "compare": "le", "aggregate": {"weighted_median": [0.5, 1.25, 0.75]},
  "transform": "identity", "precision": "f64", "base_margin": [0.0],
  "trees": [
    {"output": 0, "weight": 1.0, "nodes": [
      {"split": {"feature": 0, "threshold": 0.5, "default_left": true, "missing": "nan"}, "left": 1, "right": 2},
      {"leaf": [-1.5]},
      {"leaf": [2.0]}
    ]},
    {"output": 0, "weight": 1.0, "nodes": [
      {"split": {"feature": 1, "threshold": -0.25, "default_left": false, "missing": "nan"}, "left": 1, "right": 2},
      {"leaf": [2.0]},
      {"leaf": [0.5]}
    ]},
    {"output": 0, "weight": 1.0, "nodes": [{"leaf": [1.0]}]}
  ]
}"#;

/// Rows that reach every kind of branch.
const PROBE_ROWS: [[f32; 3]; 6] = [
    [f32::NAN, f32::NAN, f32::NAN],
    [0.0, 0.0, 0.0],
    [0.5, 1e30, 3.0],
    [0.6, -0.125, 40.9],
    [1.0, f32::INFINITY, -1.0],
    [-2.0, 0.3, 2.0],
];

/// A model that imported must export, load in the core, and agree with the IR's reference evaluator.
fn check_consistent(e: &Ensemble) -> Result<(), String> {
    if e.n_features > 64 || e.n_outputs > 64 {
        return Ok(());
    }
    let Ok(bytes) = blob::write(e) else {
        return Ok(()); // the exporter may refuse what the IR allows (its own errors are tested elsewhere)
    };
    let forest = Forest::new(&bytes).map_err(|err| format!("exported blob rejected: {err:?}"))?;
    let mut m = vec![0f32; e.n_outputs as usize];
    for probe in PROBE_ROWS {
        let row: Vec<f32> = (0..e.n_features as usize).map(|i| probe[i % 3]).collect();
        let want = e.margin_reference(&row);
        forest
            .predict_margin(&row, &mut m)
            .map_err(|err| format!("{err:?}"))?;
        for (k, (&got, &want)) in m.iter().zip(&want).enumerate() {
            if want.is_finite() && want.abs() < 1e30 && !close(got as f64, want, REL, ABS) {
                return Err(format!("row {row:?}, margin {k}: core {got} vs IR {want}"));
            }
        }
    }
    Ok(())
}

#[test]
fn small_documents_import_one_to_one() {
    let e = sklearn::from_str(SMALL_DOC, "model.json").unwrap();
    assert_eq!((e.n_features, e.n_outputs, e.trees.len()), (3, 2, 2));
    assert_eq!(e.aggregate, Aggregate::Mean { divisor: 2.0 });
    assert_eq!(
        (e.compare, e.transform, e.precision),
        (Compare::LessEqual, Transform::Identity, Precision::F64)
    );
    assert_eq!(e.source, "hand-written, RandomForestClassifier-like");
    assert_eq!(e.trees[0].output, None);
    let Node::Split(s) = &e.trees[0].nodes[2] else {
        panic!("node 2 is a split")
    };
    assert_eq!(
        s.test,
        Test::Categorical {
            categories: vec![1, 3, 40],
            in_set_left: false,
            truncate_first: false
        }
    );
    assert_eq!((s.left, s.right, s.missing), (3, 4, MissingMode::Nan));
    let Node::Split(s) = &e.trees[1].nodes[0] else {
        panic!("root is a split")
    };
    assert_eq!(s.test, Test::Numeric(f64::INFINITY));
    // x0 = 0.6 → right; x2 = 40.9 → category 40, in the set → right: [0.5, 0.5]; x1 finite → [0.1, 0.9].
    let m = e.margin_reference(&[0.6, 0.0, 40.9]);
    assert_eq!(m, [0.3, 0.7]);
    check_consistent(&e).unwrap();

    let e = sklearn::from_str(SMALL_SCALAR_DOC, "model.json").unwrap();
    assert_eq!(e.base_margin, [-0.5, 0.25]);
    assert_eq!(e.trees[1].nodes, [Node::Leaf(vec![0.03])]);
    assert_eq!(e.transform, Transform::Softmax);
    check_consistent(&e).unwrap();

    let e = sklearn::from_str(SMALL_MEDIAN_DOC, "model.json").unwrap();
    assert_eq!(
        e.aggregate,
        Aggregate::WeightedMedian {
            weights: vec![0.5, 1.25, 0.75]
        }
    );
    // By hand: outputs sorted with their weights (total 2.5, half 1.25), running sums, first sum ≥ 1.25.
    // x = (0, 0): −1.5 (0.5), 0.5 (1.25), 1.0 (0.75): sums 0.5, 1.75 → 0.5.
    assert_eq!(e.margin_reference(&[0.0, 0.0]), [0.5]);
    // x = (1, −1): 1.0 (0.75), 2.0 (0.5), 2.0 (1.25): sums 0.75, 1.25 → 2.0 (inside the tie).
    assert_eq!(e.margin_reference(&[1.0, -1.0]), [2.0]);
    // x = (0, −1): −1.5 (0.5), 1.0 (0.75), 2.0 (1.25): sums 0.5, 1.25, exactly half → 1.0.
    assert_eq!(e.margin_reference(&[0.0, -1.0]), [1.0]);
    check_consistent(&e).unwrap();
}

/// The AdaBoostRegressor fixtures select scikit-learn's tree on every row: the IR's reference is scikit-learn's
/// `predict` exactly, and the core returns that value rounded to f32 (the core's output type), bit for bit.
#[test]
fn adaboost_regressor_fixtures_select_scikit_learns_tree() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture_root())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("-adaboost-regressor"))
        })
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 6,
        "expected the six AdaBoostRegressor fixtures, found {dirs:?}"
    );
    for dir in &dirs {
        let e = sklearn::load(dir.join("model.json")).unwrap();
        assert!(matches!(e.aggregate, Aggregate::WeightedMedian { .. }));
        let bytes = blob::write(&e).unwrap();
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 3, "version 3");
        let forest = Forest::new(&bytes).unwrap();
        let input = emkern_host::io::read_csv(&dir.join("input.csv")).unwrap();
        let want = common::fixtures::read_csv(&dir.join("pred.csv")).unwrap();
        assert_eq!(want.rows.len(), input.rows);
        let mut out = [0.0f32];
        let mut batch = vec![0.0f32; input.rows];
        let rows: Vec<f32> = (0..input.rows)
            .flat_map(|r| input.row(r)[..e.n_features as usize].to_vec())
            .collect();
        forest
            .predict_batch(&rows, e.n_features as usize, input.rows, &mut batch, false)
            .unwrap();
        for (r, batched) in batch.iter().enumerate() {
            let row = input.row(r);
            let sk = want.rows[r][0];
            assert_eq!(e.margin_reference(row)[0], sk, "{}: row {r}", dir.display());
            forest.predict(row, &mut out).unwrap();
            assert_eq!(
                out[0].to_bits(),
                (sk as f32).to_bits(),
                "{}: row {r}: core {}, scikit-learn {sk}",
                dir.display(),
                out[0]
            );
            assert_eq!(batched.to_bits(), out[0].to_bits());
        }
    }
}

#[test]
fn errors_name_the_json_path() {
    let err = |text: &str| {
        sklearn::from_str(text, "model.json")
            .unwrap_err()
            .to_string()
    };
    let e = err(&SMALL_DOC.replace("\"emkern-sklearn\"", "\"xgboost\""));
    assert_eq!(
        e,
        "model.json: format: expected \"emkern-sklearn\", found \"xgboost\""
    );
    let e = err(&SMALL_DOC.replace("\"version\": 1", "\"version\": 2"));
    assert!(
        e.starts_with("model.json: version: version 2 is not supported"),
        "{e}"
    );
    let e = err(&SMALL_DOC.replace("\"inf\"", "\"nan\""));
    assert_eq!(
        e,
        "model.json: trees[1].nodes[0].split.threshold: the threshold is NaN"
    );
    let e = err(&SMALL_DOC.replace("\"left\": 3", "\"left\": 9"));
    assert!(
        e.starts_with("model.json: trees[0].nodes[2].left: child 9 is not a node index"),
        "{e}"
    );
    let e = err(&SMALL_DOC.replace("\"left\": 3", "\"left\": 0"));
    assert!(
        e.contains("trees[0].nodes[2].left: node 0 is reached twice"),
        "{e}"
    );
    let e = err(&SMALL_DOC.replace("[0.1, 0.9]", "[0.1]"));
    assert!(
        e.starts_with("model.json: trees[1].nodes[1].leaf: expected 2 values"),
        "{e}"
    );
    let e = err(&SMALL_DOC.replace("[1, 3, 40]", "[1, 3, 16777216]"));
    assert!(
        e.starts_with("model.json: trees[0].nodes[2].split.categories[2]: category 16777216"),
        "{e}"
    );
    let e = err(&SMALL_DOC.replace("\"feature\": 2", "\"feature\": 3"));
    assert!(
        e.starts_with("model.json: trees[0].nodes[2].split.feature: feature 3 is out of range"),
        "{e}"
    );
    let e = err(&SMALL_DOC.replace("\"transform\": \"identity\"", "\"transform\": \"tanh\""));
    assert!(
        e.starts_with("model.json: transform: unknown transform \"tanh\""),
        "{e}"
    );
    let e = err(&SMALL_DOC.replace("\"base_margin\": [0.0, 0.0]", "\"base_margin\": [0.0]"));
    assert!(
        e.starts_with("model.json: base_margin: expected 2 values"),
        "{e}"
    );
    let e = err(&SMALL_SCALAR_DOC.replace("\"output\": 1", "\"output\": 2"));
    assert!(
        e.starts_with("model.json: trees[1].output: output column 2 is out of range"),
        "{e}"
    );
    let e = err(&SMALL_SCALAR_DOC.replace(
        "\"output\": 1, \"weight\": 1.0, \"nodes\": [{\"leaf\": [0.03]}]",
        "\"output\": null, \"weight\": 1.0, \"nodes\": [{\"leaf\": [0.03, 0.04]}]",
    ));
    assert!(e.contains("mixes scalar-leaf trees"), "{e}");
    let e = err(&SMALL_DOC.replace(
        "\"weight\": 1.0, \"nodes\": [\n      {\"split\": {\"feature\": 1",
        "\"weight\": 0.1, \"nodes\": [\n      {\"split\": {\"feature\": 1",
    ));
    assert!(
        e.starts_with("model.json: trees[1].weight: 0.1 is not exactly an f32"),
        "{e}"
    );
    let e = err(&SMALL_DOC[..SMALL_DOC.len() / 2]);
    assert!(e.starts_with("model.json: line "), "{e}");
    assert!(e.contains("not valid JSON"), "{e}");
    let e = err(&SMALL_MEDIAN_DOC.replace("[0.5, 1.25, 0.75]", "[0.5, 1.25]"));
    assert!(
        e.starts_with(
            "model.json: aggregate.weighted_median: expected one weight per tree (3 trees, at least one), found 2"
        ),
        "{e}"
    );
    let e = err(&SMALL_MEDIAN_DOC.replace("[0.5, 1.25, 0.75]", "[0.5, -1.25, 0.75]"));
    assert!(
        e.starts_with("model.json: aggregate.weighted_median[1]: a weight must be ≥ 0"),
        "{e}"
    );
    let e = err(&SMALL_MEDIAN_DOC.replace("[0.5, 1.25, 0.75]", "[0.5, \"inf\", 0.75]"));
    assert!(
        e.starts_with("model.json: aggregate.weighted_median[1]: expected a finite number"),
        "{e}"
    );
    let e = err(&SMALL_MEDIAN_DOC.replace("\"n_outputs\": 1", "\"n_outputs\": 2"));
    assert!(
        e.contains("a weighted median has one output, but n_outputs is 2"),
        "{e}"
    );
}

/// Every position of a value in a JSON document, as a path of object keys and array indices.
fn value_paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(Seg::Key(k.clone()));
                value_paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(Seg::Index(i));
                value_paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

fn value_at<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut v = v;
    for s in path {
        v = match s {
            Seg::Key(k) => v.get_mut(k.as_str())?,
            Seg::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

/// Replacement values for the mutation test: wrong types, out of range, non-finite, empty containers.
fn replacement(i: usize) -> Value {
    let all = [
        "null",
        "-1",
        "0",
        "1",
        "2",
        "3",
        "4294967296",
        "16777216",
        "1e300",
        "0.5",
        "true",
        "\"nan\"",
        "\"inf\"",
        "\"x\"",
        "[]",
        "{}",
        "[0.5, 0.5]",
        "{\"mean\": 0}",
        "\"sum\"",
        "\"le\"",
        "{\"weighted_median\": [1.0, 0.0]}",
        "{\"weighted_median\": [0.0, 0.0, 0.0]}",
    ];
    serde_json::from_str(all[i % all.len()]).unwrap()
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Any strict prefix of a document is an error, never a panic.
    #[test]
    fn truncated_documents_are_errors(which in 0usize..3, cut in 0usize..10_000) {
        let text = [SMALL_DOC, SMALL_SCALAR_DOC, SMALL_MEDIAN_DOC][which].trim_end();
        let cut = cut % text.len();
        prop_assert!(sklearn::from_str(&text[..cut], "model.json").is_err());
    }

    /// One value replaced (or removed from its object): an error or a model that exports consistently.
    #[test]
    fn mutated_documents_never_panic(
        which in 0usize..3,
        at in 0usize..10_000,
        with in 0usize..100,
        remove in proptest::bool::weighted(0.2),
    ) {
        let mut doc: Value =
            serde_json::from_str([SMALL_DOC, SMALL_SCALAR_DOC, SMALL_MEDIAN_DOC][which]).unwrap();
        let mut paths = Vec::new();
        value_paths(&doc, &mut Vec::new(), &mut paths);
        let path = &paths[at % paths.len()];
        match (remove, path.split_last()) {
            (true, Some((Seg::Key(k), parent))) => {
                if let Some(Value::Object(m)) = value_at(&mut doc, parent) {
                    m.remove(k);
                }
            }
            _ => {
                if let Some(v) = value_at(&mut doc, path) {
                    *v = replacement(with);
                }
            }
        }
        let text = serde_json::to_string(&doc).unwrap();
        if let Ok(e) = sklearn::from_str(&text, "model.json") {
            prop_assert!(check_consistent(&e).is_ok(), "{:?}", check_consistent(&e));
        }
    }
}

/// An edit of a document's top-level object.
type Edit<'a> = dyn Fn(&mut serde_json::Map<String, Value>) + 'a;

/// `input_dtype` decides whether a model reads f64 rows (`Ensemble::input_f64`, which `emkern predict`'s f64
/// mapping follows); a file without it (an exporter before the field) is decided by its estimator name.
#[test]
fn input_dtype_decides_f64_rows() {
    let with = |edit: &Edit<'_>| {
        let mut doc: Value = serde_json::from_str(SMALL_DOC).unwrap();
        edit(doc.as_object_mut().unwrap());
        let text = doc.to_string();
        let e = sklearn::from_str(&text, "model.json");
        let loaded = emkern_host::model::from_bytes(text.into_bytes(), "model.json", false);
        (e, loaded)
    };
    let set = |key: &'static str, v: Value| {
        move |o: &mut serde_json::Map<String, Value>| {
            o.insert(key.to_string(), v.clone());
        }
    };
    let reads_f64 = |edits: &[&Edit<'_>]| {
        let (e, loaded) = with(&|o| {
            o.remove("estimator");
            for edit in edits {
                edit(o);
            }
        });
        let e = e.unwrap();
        let mapped = emkern_host::f64_inputs::F64Inputs::for_model(&loaded.unwrap()).is_some();
        assert_eq!(mapped, e.input_f64, "for_model follows the IR field");
        e.input_f64
    };
    let f64_field = set("input_dtype", Value::from("float64"));
    let f32_field = set("input_dtype", Value::from("float32"));
    let hgb = set("estimator", Value::from("HistGradientBoostingRegressor"));
    let hgb_source = set(
        "source",
        Value::from(
            "scikit-learn 1.5.2, HistGradientBoostingClassifier(loss=log_loss, max_iter=3)",
        ),
    );
    let forest = set("estimator", Value::from("RandomForestClassifier"));
    // The field decides, whatever the name says.
    assert!(reads_f64(&[&f64_field, &forest]));
    assert!(!reads_f64(&[&f32_field, &hgb]));
    // Older files: the estimator, else the name in `source`.
    assert!(reads_f64(&[&hgb]));
    assert!(reads_f64(&[&hgb_source]));
    assert!(!reads_f64(&[&forest]));
    assert!(!reads_f64(&[]));
    // Anything else is an error at the field.
    let (e, _) = with(&set("input_dtype", Value::from("float16")));
    let e = e.unwrap_err();
    assert_eq!(
        e.location,
        emkern_host::import::Location::Path("input_dtype".into())
    );
}

/// The committed `HistGradientBoosting*` fixtures were written before `input_dtype` existed: their estimator name
/// still makes them read f64 rows, and the classic trees' do not.
#[test]
fn older_exports_fall_back_to_the_estimator_name() {
    let mut seen = (0, 0);
    for dir in common::cli::fixture_dirs(&fixture_root(), "model.json", "scikit-learn") {
        let text = std::fs::read_to_string(dir.join("model.json")).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        if doc.get("input_dtype").is_some() {
            continue;
        }
        let hgb = doc["estimator"]
            .as_str()
            .unwrap()
            .starts_with("HistGradientBoosting");
        let e = sklearn::from_str(&text, "model.json").unwrap();
        assert_eq!(e.input_f64, hgb, "{}", dir.display());
        if hgb { seen.0 += 1 } else { seen.1 += 1 }
    }
    println!(
        "{} HistGradientBoosting and {} other older exports",
        seen.0, seen.1
    );
}

/// The exporter writes `input_dtype`: `float64` for `HistGradientBoosting*`, `float32` for the classic trees; the
/// importer carries it into the IR. Needs a Python with scikit-learn (`EMKERN_PYTHON`), else prints `SKIPPED`.
#[test]
fn exporter_writes_input_dtype() {
    let Some(py) = python::python_or_skip("exporter_writes_input_dtype", "sklearn", (1, 0)) else {
        return;
    };
    let dir = common::cli::scratch("sklearn", "input-dtype");
    let script = format!(
        r#"
import sys
sys.path.insert(0, {here:?})
import numpy as np
import emkern_sklearn
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3)); y = X[:, 0] + 0.1 * rng.normal(size=200)
emkern_sklearn.dump(HistGradientBoostingRegressor(max_iter=3, random_state=0).fit(X, y), {hgb:?})
emkern_sklearn.dump(RandomForestRegressor(n_estimators=2, max_depth=3, random_state=0).fit(X, y), {rf:?})
"#,
        here = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("python")
            .display()
            .to_string(),
        hgb = dir.join("hgb.json").display().to_string(),
        rf = dir.join("rf.json").display().to_string(),
    );
    let out = std::process::Command::new(&py)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (file, dtype, f64_rows) in [("hgb.json", "float64", true), ("rf.json", "float32", false)] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["input_dtype"], dtype, "{file}");
        let e = sklearn::from_str(&text, file).unwrap();
        assert_eq!(e.input_f64, f64_rows, "{file}");
    }
}
