//! Histogram gradient boosting (`emkern_host::train::hist`) against XGBoost 3.4.1 and LightGBM 4.7.0, against its
//! own invariants, and through both exporters (the `.emk` blob run by the `no_std` core, XGBoost JSON).
//!
//! Reference data comes from `fixtures/train/generate_hist.py`:
//!
//! - `hist_xgboost.json` + `hist_model_<case>.ubj`: XGBoost `hist` models (one thread, no random sampling) on
//!   the bundled splits, the missing-value wine file and a synthetic table with categorical and missing values,
//!   covering every objective, depthwise and lossguide growth, L1/L2 penalties, `gamma`, `min_child_weight`,
//!   `max_delta_step`, monotone constraints, one-hot and partition categorical splits, sample weights. Trained with the same
//!   parameters, our trees must be XGBoost's node for node (same features, `f32` thresholds bit for bit, default
//!   directions, category sets, `f32` leaf values), our intercept must be XGBoost's, and our `f32` test margins
//!   must equal XGBoost's bit for bit.
//! - `hist_metrics.json`: test-split metrics of XGBoost and LightGBM at matching parameters. Deterministic cases
//!   must reproduce XGBoost's metrics (the trees are the same: 1e-6 relative, accuracy exactly); cases with row
//!   and column subsampling use our own random stream, so the means over seeds 0..4 are compared with
//!   XGBoost's: accuracy within 2 test rows, log-loss within 15%, RMSE and MAE within 5%. Against LightGBM every
//!   case must be no worse than accuracy − 2 test rows, log-loss × 1.1, RMSE/MAE/Poisson deviance × 1.05.
//!
//! Exports: the core's margins from the blob equal the trainer's bit for bit; the XGBoost JSON reads back through
//! emkern's importer to the same model; and, when Python with XGBoost ≥ 3.1 is available (`EMKERN_PYTHON` or
//! `python3`), XGBoost itself loads the JSON and predicts the same margins bit for bit (skipped loudly
//! otherwise).

#[path = "common/python.rs"]
mod python;
#[path = "common/scratch.rs"]
mod scratch;

use scratch::Scratch;
use std::path::{Path, PathBuf};

use emkern::forest::Forest as CoreForest;
use emkern_host::export::blob;
use emkern_host::import::ubjson::Value as Ubj;
use emkern_host::import::xgboost as xgb_import;
use emkern_host::ir::{self, Ensemble};
use emkern_host::train::dataset::{Dataset, DatasetSpec, FeatureKind, Schema, Task};
use emkern_host::train::hist::{GrowPolicy, HistBooster, HistParams, Objective};
use emkern_host::train::rng::SplitMix64;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/train")
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// The training and test data of a fixture case.
fn load(data: &str, objective: Objective) -> (Dataset, Dataset) {
    let (train, test, target, categorical): (PathBuf, PathBuf, &str, &[&str]) = match data {
        "catmiss" => (
            fixtures().join("hist_catmiss_train.csv"),
            fixtures().join("hist_catmiss_test.csv"),
            "y",
            &["c", "c2"],
        ),
        "catmiss_cls" => (
            fixtures().join("hist_catmiss_cls_train.csv"),
            fixtures().join("hist_catmiss_cls_test.csv"),
            "label",
            &["c", "c2"],
        ),
        "weighted_breast_cancer" => (
            fixtures().join("hist_weighted_breast_cancer_train.csv"),
            repo().join("data/breast_cancer_test.csv"),
            "label",
            &[],
        ),
        "wine_missing" => (
            fixtures().join("wine_missing_train.csv"),
            repo().join("data/wine_test.csv"),
            "label",
            &[],
        ),
        name => (
            repo().join(format!("data/{name}_train.csv")),
            repo().join(format!("data/{name}_test.csv")),
            if name == "diabetes" {
                "target"
            } else {
                "label"
            },
            &[],
        ),
    };
    let spec = DatasetSpec {
        target: target.into(),
        weight: (data == "weighted_breast_cancer").then(|| "w".to_string()),
        categorical: categorical.iter().map(|s| s.to_string()).collect(),
        task: Some(if objective.is_classification() {
            Task::Classification
        } else {
            Task::Regression
        }),
    };
    let tr = Dataset::from_csv(&train, &spec).unwrap_or_else(|e| panic!("{e}"));
    // Test rows are unweighted.
    let mut schema = tr.schema.clone();
    schema.weight_name = None;
    let te = Dataset::from_csv_like(&test, &schema).unwrap_or_else(|e| panic!("{e}"));
    (tr, te)
}

/// Our parameters from XGBoost's (the names the fixtures use).
fn params_from(case: &Value) -> HistParams {
    let objective = Objective::from_name(case["objective"].as_str().unwrap()).unwrap();
    let mut p = HistParams {
        objective: Some(objective),
        n_estimators: case["rounds"].as_u64().unwrap() as usize,
        threads: Some(1),
        ..HistParams::default()
    };
    let f = |v: &Value| v.as_f64().unwrap() as f32;
    for (k, v) in case["params"].as_object().unwrap() {
        match k.as_str() {
            "eta" => p.eta = f(v),
            "max_depth" => p.max_depth = v.as_u64().unwrap() as u32,
            "max_leaves" => p.max_leaves = v.as_u64().unwrap() as u32,
            "grow_policy" => {
                p.grow_policy = match v.as_str().unwrap() {
                    "lossguide" => GrowPolicy::Lossguide,
                    _ => GrowPolicy::Depthwise,
                }
            }
            "reg_alpha" => p.alpha = f(v),
            "reg_lambda" => p.lambda = f(v),
            "gamma" => p.gamma = f(v),
            "min_child_weight" => p.min_child_weight = f(v),
            "max_delta_step" => p.max_delta_step = Some(f(v)),
            "max_bin" => p.max_bin = v.as_u64().unwrap() as usize,
            "max_cat_to_onehot" => p.max_cat_to_onehot = v.as_u64().unwrap() as u32,
            "max_cat_threshold" => p.max_cat_threshold = v.as_u64().unwrap() as u32,
            "subsample" => p.subsample = f(v),
            "colsample_bytree" => p.colsample_bytree = f(v),
            "colsample_bylevel" => p.colsample_bylevel = f(v),
            "colsample_bynode" => p.colsample_bynode = f(v),
            "monotone_constraints" => {
                p.monotone =
                    emkern_host::train::hist::run::parse_monotone(v.as_str().unwrap()).unwrap()
            }
            other => panic!("unknown fixture parameter {other}"),
        }
    }
    p
}

/// Whether two trees are the same from `(ai, bi)` down: same tests, default directions and leaf values.
fn same_subtree(
    a: &ir::Tree,
    ai: usize,
    b: &ir::Tree,
    bi: usize,
    path: &str,
) -> Result<(), String> {
    match (&a.nodes[ai], &b.nodes[bi]) {
        (ir::Node::Leaf(x), ir::Node::Leaf(y)) => {
            if x.iter()
                .map(|v| v.to_bits())
                .eq(y.iter().map(|v| v.to_bits()))
            {
                Ok(())
            } else {
                Err(format!("{path}: leaf {x:?} vs {y:?}"))
            }
        }
        (ir::Node::Split(s), ir::Node::Split(t)) => {
            let same_test = match (&s.test, &t.test) {
                (ir::Test::Numeric(x), ir::Test::Numeric(y)) => x.to_bits() == y.to_bits(),
                (x, y) => x == y,
            };
            if s.feature != t.feature || !same_test || s.default_left != t.default_left {
                return Err(format!(
                    "{path}: split f{} {:?} default_left {} vs f{} {:?} default_left {}",
                    s.feature, s.test, s.default_left, t.feature, t.test, t.default_left
                ));
            }
            same_subtree(a, s.left, b, t.left, &format!("{path}L"))?;
            same_subtree(a, s.right, b, t.right, &format!("{path}R"))
        }
        (x, y) => Err(format!("{path}: {x:?} vs {y:?}")),
    }
}

fn same_model(ours: &Ensemble, theirs: &Ensemble) -> Result<(), String> {
    if ours.base_margin != theirs.base_margin {
        return Err(format!(
            "base margin {:?} vs {:?}",
            ours.base_margin, theirs.base_margin
        ));
    }
    if ours.transform != theirs.transform || ours.n_outputs != theirs.n_outputs {
        return Err("transform or outputs differ".into());
    }
    if ours.trees.len() != theirs.trees.len() {
        return Err(format!(
            "{} trees vs {}",
            ours.trees.len(),
            theirs.trees.len()
        ));
    }
    for (t, (a, b)) in ours.trees.iter().zip(&theirs.trees).enumerate() {
        if a.output != b.output {
            return Err(format!("tree {t}: output {:?} vs {:?}", a.output, b.output));
        }
        same_subtree(a, 0, b, 0, &format!("tree {t} root "))?;
    }
    Ok(())
}

/// Checks the core on the exported blob: its margins equal the trainer's bit for bit on every row, and its
/// predictions equal the trainer's within `f32` rounding of the transform.
fn check_core(model: &HistBooster, data: &[&Dataset]) {
    let bytes = blob::write(&model.to_ensemble()).expect("export");
    let core = CoreForest::new(&bytes).expect("the blob loads");
    let mut margin = vec![0.0f32; model.n_outputs];
    let mut out = vec![0.0f32; core.output_len()];
    for d in data {
        for r in 0..d.n_rows {
            let row = d.row(r);
            core.predict_margin(&row, &mut margin).unwrap();
            let ours = model.predict_margin(&row);
            assert!(
                ours.iter()
                    .zip(&margin)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{}: row {r}: trainer {ours:?}, core {margin:?}",
                d.source
            );
            core.predict(&row, &mut out).unwrap();
            let p = model.predict(&row);
            for (a, b) in p.iter().zip(&out) {
                assert!(
                    (a - b).abs() <= 4.0 * f32::EPSILON * a.abs().max(1.0),
                    "{a} {b}"
                );
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------------------------
// Node-for-node equality with XGBoost
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn trees_equal_xgboost_node_for_node() {
    let fx = read_json("hist_xgboost.json");
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let p = params_from(case);
        let objective = p.objective.unwrap();
        let (train, test) = load(case["data"].as_str().unwrap(), objective);
        let model =
            HistBooster::train(&train, None, &p, &|_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = xgb_import::load(&fixtures().join(case["model"].as_str().unwrap()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = model.to_ensemble();
        if let Err(e) = same_model(&ours, &theirs) {
            panic!("{name}: our model differs from XGBoost's: {e}");
        }
        // XGBoost's own f32 test margins, bit for bit.
        let want = case["test_margins"].as_array().unwrap();
        assert_eq!(want.len(), test.n_rows);
        for (r, w) in want.iter().enumerate() {
            let got = model.predict_margin(&test.row(r));
            let w: Vec<f32> = w
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert!(
                got.iter().zip(&w).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{name}: test row {r}: ours {got:?}, XGBoost {w:?}"
            );
        }
        check_core(&model, &[&train, &test]);
    }
}

#[test]
fn xgboost_json_round_trips_through_the_importer() {
    let fx = read_json("hist_xgboost.json");
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let p = params_from(case);
        let (train, test) = load(case["data"].as_str().unwrap(), p.objective.unwrap());
        let model = HistBooster::train(&train, None, &p, &|_| {}).unwrap();
        let json = model.to_xgboost_json().unwrap();
        let back =
            xgb_import::from_json_bytes(json.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(e) = same_model(&model.to_ensemble(), &back) {
            panic!("{name}: the exported JSON reads back differently: {e}");
        }
        assert_eq!(back.feature_names.as_ref(), Some(&model.feature_names));
        // The document carries XGBoost's statistics and feature types.
        // (XGBoost's JSON may hold `-Infinity`: read it with the importer's parser.)
        let doc = xgb_import::parse_json(json.as_bytes()).unwrap();
        let at = |v: &Ubj, path: &[&str]| -> Ubj {
            path.iter().fold(v.clone(), |v, k| {
                v.get(k).unwrap_or_else(|| panic!("{name}: no {k}")).clone()
            })
        };
        let learner = at(&doc, &["learner"]);
        assert_eq!(
            at(&learner, &["objective", "name"]),
            Ubj::Str(p.objective.unwrap().name().into())
        );
        let Ubj::Array(types) = at(&learner, &["feature_types"]) else {
            panic!("{name}: feature_types")
        };
        for (f, t) in types.iter().enumerate() {
            let want = if model.categorical[f] { "c" } else { "q" };
            assert_eq!(t, &Ubj::Str(want.into()));
        }
        let Ubj::Array(trees) = at(&learner, &["gradient_booster", "model", "trees"]) else {
            panic!("{name}: trees")
        };
        let Ubj::Array(loss) = at(&trees[0], &["loss_changes"]) else {
            panic!("{name}: loss_changes")
        };
        let first = match &loss[0] {
            Ubj::Float(v) => *v as f32,
            Ubj::Int(v) => *v as f32,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(first, model.trees[0].nodes[0].loss_change);
        for r in 0..test.n_rows {
            let row = test.row(r);
            let a = back.margin_reference(&row);
            let b = model.predict_margin(&row);
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (*x - *y as f64).abs() < 1e-4 * (1.0 + x.abs()),
                    "{name}: row {r}"
                );
            }
        }
    }
}

#[test]
fn xgboost_predicts_the_exported_json_bit_for_bit() {
    let Some(py) = python::python_or_skip(
        "xgboost_predicts_the_exported_json_bit_for_bit",
        "xgboost",
        (3, 1),
    ) else {
        return;
    };
    let dir = Scratch::new("hist-xgb");
    let script = r#"
import json, sys
import numpy as np
import xgboost as xgb
model, rows, n_features = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open(model))
types = doc["learner"]["feature_types"]
names = doc["learner"]["feature_names"]
x = np.fromfile(rows, dtype="<f4").reshape(-1, n_features)
b = xgb.Booster()
b.load_model(model)
d = xgb.DMatrix(x, feature_names=names, feature_types=types, enable_categorical="c" in types)
m = np.asarray(b.predict(d, output_margin=True), dtype=np.float32).reshape(len(x), -1)
print(" ".join(str(v) for v in m.view(np.uint32).ravel()))
"#;
    let script_path = dir.join("predict.py");
    std::fs::write(&script_path, script).unwrap();
    let fx = read_json("hist_xgboost.json");
    let mut checked = 0;
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut p = params_from(case);
        // Random sampling too: XGBoost only has to read the model.
        p.subsample = 0.8;
        p.colsample_bynode = 0.8;
        p.seed = 3;
        let (train, test) = load(case["data"].as_str().unwrap(), p.objective.unwrap());
        let model = HistBooster::train(&train, None, &p, &|_| {}).unwrap();
        let json_path = dir.join(format!("{name}.json"));
        std::fs::write(&json_path, model.to_xgboost_json().unwrap()).unwrap();
        let rows: Vec<f32> = (0..test.n_rows).flat_map(|r| test.row(r)).collect();
        let rows_path = dir.join(format!("{name}.f32"));
        std::fs::write(
            &rows_path,
            rows.iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
        .unwrap();
        let out = std::process::Command::new(&py)
            .arg(&script_path)
            .arg(&json_path)
            .arg(&rows_path)
            .arg(test.n_features().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<u32> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let bytes = blob::write(&model.to_ensemble()).unwrap();
        let core = CoreForest::new(&bytes).unwrap();
        let mut m = vec![0.0f32; model.n_outputs];
        let mut ours = Vec::new();
        for r in 0..test.n_rows {
            core.predict_margin(&test.row(r), &mut m).unwrap();
            ours.extend(m.iter().map(|v| v.to_bits()));
        }
        assert_eq!(
            ours, theirs,
            "{name}: XGBoost's margins of the exported model differ from the core's"
        );
        checked += 1;
    }
    assert!(checked >= 10);
}

// ----------------------------------------------------------------------------------------------------------------
// Quality against XGBoost and LightGBM
// ----------------------------------------------------------------------------------------------------------------

/// Test metrics with the fixture script's definitions.
fn test_metrics(model: &HistBooster, test: &Dataset) -> Vec<(String, f64)> {
    let n = test.n_rows as f64;
    let preds: Vec<Vec<f64>> = (0..test.n_rows)
        .map(|r| {
            model
                .predict(&test.row(r))
                .iter()
                .map(|&v| v as f64)
                .collect()
        })
        .collect();
    let y = &test.target;
    match model.objective {
        Objective::BinaryLogistic => {
            let acc = preds
                .iter()
                .zip(y)
                .filter(|&(p, &y)| (p[0] > 0.5) == (y == 1.0))
                .count() as f64
                / n;
            let ll = -preds
                .iter()
                .zip(y)
                .map(|(p, &y)| {
                    let p = p[0].clamp(1e-15, 1.0 - 1e-15);
                    y * p.ln() + (1.0 - y) * (1.0 - p).ln()
                })
                .sum::<f64>()
                / n;
            vec![("accuracy".into(), acc), ("logloss".into(), ll)]
        }
        Objective::MultiSoftprob => {
            let acc = preds
                .iter()
                .zip(y)
                .filter(|&(p, &y)| emkern_host::metrics::argmax(p) == y as usize)
                .count() as f64
                / n;
            let ll = -preds
                .iter()
                .zip(y)
                .map(|(p, &y)| p[y as usize].max(1e-15).ln())
                .sum::<f64>()
                / n;
            vec![("accuracy".into(), acc), ("logloss".into(), ll)]
        }
        _ => {
            let p: Vec<f64> = preds.iter().map(|p| p[0]).collect();
            let rmse = (p.iter().zip(y).map(|(p, y)| (p - y).powi(2)).sum::<f64>() / n).sqrt();
            let mae = p.iter().zip(y).map(|(p, y)| (p - y).abs()).sum::<f64>() / n;
            let mut out = vec![("rmse".into(), rmse), ("mae".into(), mae)];
            if model.objective == Objective::CountPoisson {
                let dev = p
                    .iter()
                    .zip(y)
                    .map(|(&p, &y)| {
                        let p = p.max(1e-15);
                        let t = if y > 0.0 { y * (y / p).ln() } else { 0.0 };
                        2.0 * (t - y + p)
                    })
                    .sum::<f64>()
                    / n;
                out.push(("poisson_deviance".into(), dev));
            }
            out
        }
    }
}

#[test]
fn quality_matches_xgboost_and_lightgbm() {
    let fx = read_json("hist_metrics.json");
    let mut table = String::new();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut p = params_from(&serde_json::json!({
            "objective": case["objective"],
            "rounds": case["rounds"],
            "params": case["params"],
        }));
        let (train, test) = load(case["data"].as_str().unwrap(), p.objective.unwrap());
        let seeds: Vec<u64> = case["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        let sampled = seeds.len() > 1;
        let mut sums: Vec<(String, f64)> = Vec::new();
        for &seed in &seeds {
            p.seed = seed;
            let model = HistBooster::train(&train, None, &p, &|_| {}).unwrap();
            let m = test_metrics(&model, &test);
            if sums.is_empty() {
                sums = m.iter().map(|(k, _)| (k.clone(), 0.0)).collect();
            }
            for (s, (_, v)) in sums.iter_mut().zip(&m) {
                s.1 += v / seeds.len() as f64;
            }
        }
        let n_test = test.n_rows as f64;
        for (metric, ours) in &sums {
            let xgb = case["mean"]["xgboost"][metric].as_f64().unwrap();
            let lgb = case["mean"]["lightgbm"][metric].as_f64().unwrap();
            table += &format!(
                "{name:<24} {metric:<17} ours {ours:>10.5}  xgboost {xgb:>10.5}  lightgbm {lgb:>10.5}\n"
            );
            let vs_xgb = match (metric.as_str(), sampled) {
                ("accuracy", false) => ours == &xgb,
                ("accuracy", true) => (ours - xgb).abs() <= 2.0 / n_test + 1e-12,
                (_, false) => (ours - xgb).abs() <= 1e-6 * xgb.abs().max(1e-3),
                ("logloss", true) => (ours - xgb).abs() <= 0.15 * xgb,
                (_, true) => (ours - xgb).abs() <= 0.05 * xgb,
            };
            assert!(
                vs_xgb,
                "{name} {metric}: ours {ours}, XGBoost {xgb}\n{table}"
            );
            let vs_lgb = match metric.as_str() {
                "accuracy" => *ours >= lgb - 2.0 / n_test - 1e-12,
                "logloss" => *ours <= 1.1 * lgb,
                _ => *ours <= 1.05 * lgb,
            };
            assert!(
                vs_lgb,
                "{name} {metric}: ours {ours}, LightGBM {lgb}\n{table}"
            );
        }
    }
    println!("{table}");
}

// ----------------------------------------------------------------------------------------------------------------
// Invariants
// ----------------------------------------------------------------------------------------------------------------

/// A regression table from a closure of the features (normal features, seeded).
fn synthetic(
    n: usize,
    nf: usize,
    seed: u64,
    f: impl Fn(&[f32], &mut SplitMix64) -> f64,
) -> Dataset {
    let mut rng = SplitMix64::new(seed);
    let mut columns = vec![Vec::with_capacity(n); nf];
    let mut target = Vec::with_capacity(n);
    let mut row = vec![0.0f32; nf];
    for _ in 0..n {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (rng.next_f64() * 4.0 - 2.0) as f32;
            columns[j].push(*v);
        }
        target.push(f(&row, &mut rng));
    }
    let schema = Schema {
        feature_names: (0..nf).map(|j| format!("x{j}")).collect(),
        kinds: vec![FeatureKind::Numeric; nf],
        target_name: "y".into(),
        weight_name: None,
        classes: None,
    };
    Dataset::from_columns(schema, columns, target, None).unwrap()
}

#[test]
fn models_do_not_depend_on_the_thread_count() {
    // Large enough for multi-block histograms (8192 rows) and chunked parallel partitions (16384 rows).
    let data = synthetic(40_000, 12, 1, |x, rng| {
        (x[0] * x[1]) as f64 + (3.0 * x[2] as f64).sin() + x[3].abs() as f64 + 0.3 * rng.next_f64()
    });
    let mut p = HistParams {
        n_estimators: 8,
        subsample: 0.9,
        colsample_bytree: 0.9,
        colsample_bylevel: 0.9,
        colsample_bynode: 0.8,
        seed: 11,
        ..HistParams::default()
    };
    let mut models = Vec::new();
    for threads in [1, 2, 3] {
        p.threads = Some(threads);
        models.push(HistBooster::train(&data, None, &p, &|_| {}).unwrap());
    }
    assert_eq!(models[0], models[1]);
    assert_eq!(models[0], models[2]);
    p.seed = 12;
    let other = HistBooster::train(&data, None, &p, &|_| {}).unwrap();
    assert_ne!(models[0].trees, other.trees, "the seed drives the sampling");
    check_core(&models[0], &[&data]);
}

#[test]
fn monotone_constraints_hold_on_random_probes() {
    let data = synthetic(3000, 4, 2, |x, rng| {
        // Increasing in x0 overall but not everywhere, decreasing in x1 with a bump, noisy.
        (x[0] as f64 * 2.0) + (5.0 * x[0] as f64).sin() - x[1] as f64
            + 0.8 * (4.0 * x[1] as f64).cos()
            + x[2] as f64 * x[3] as f64
            + rng.next_f64()
    });
    for policy in [GrowPolicy::Depthwise, GrowPolicy::Lossguide] {
        let p = HistParams {
            monotone: vec![1, -1],
            n_estimators: 40,
            grow_policy: policy,
            max_leaves: if policy == GrowPolicy::Lossguide {
                16
            } else {
                0
            },
            ..HistParams::default()
        };
        let model = HistBooster::train(&data, None, &p, &|_| {}).unwrap();
        let bytes = blob::write(&model.to_ensemble()).unwrap();
        let core = CoreForest::new(&bytes).unwrap();
        let mut rng = SplitMix64::new(5);
        let mut out = [0.0f32];
        for _ in 0..300 {
            let mut row: Vec<f32> = (0..4)
                .map(|_| (rng.next_f64() * 4.0 - 2.0) as f32)
                .collect();
            for (f, sign) in [(0usize, 1.0f32), (1, -1.0)] {
                let mut last = None;
                for step in 0..=60 {
                    row[f] = -2.5 + step as f32 * (5.0 / 60.0);
                    core.predict(&row, &mut out).unwrap();
                    if let Some(prev) = last {
                        assert!(
                            sign * (out[0] - prev) >= 0.0,
                            "{policy:?}: feature {f} breaks its constraint at {row:?}: {prev} -> {}",
                            out[0]
                        );
                    }
                    last = Some(out[0]);
                }
            }
        }
        // Unconstrained, the same data gives a non-monotone fit in x0.
        let free = HistBooster::train(
            &data,
            None,
            &HistParams {
                n_estimators: 40,
                ..HistParams::default()
            },
            &|_| {},
        )
        .unwrap();
        let mut violations = 0;
        for step in 0..60 {
            let a = free.predict(&[-2.0 + step as f32 / 15.0, 0.0, 0.0, 0.0])[0];
            let b = free.predict(&[-2.0 + (step + 1) as f32 / 15.0, 0.0, 0.0, 0.0])[0];
            violations += (b < a) as usize;
        }
        assert!(violations > 0, "the probe must be able to see a violation");
    }
}

#[test]
fn early_stopping_keeps_the_best_round() {
    for (data, objective) in [
        ("diabetes", Objective::SquaredError),
        ("wine", Objective::MultiSoftprob),
    ] {
        let (train, valid) = load(data, objective);
        let p = HistParams {
            objective: Some(objective),
            n_estimators: 300,
            eta: 0.3,
            early_stopping_rounds: Some(10),
            ..HistParams::default()
        };
        let model = HistBooster::train(&train, Some(&valid), &p, &|_| {}).unwrap();
        let best = model.best_iteration.expect("early stopping chose a round");
        let h = &model.history;
        let min = h.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(h[best], min, "{data}");
        assert_eq!(
            h.iter().position(|&v| v == min),
            Some(best),
            "the first best round"
        );
        assert!(model.rounds_trained < 300, "{data}: it stopped early");
        assert_eq!(model.rounds_trained, best + 11);
        assert!(h[best + 1..].iter().all(|&v| v >= h[best]));
        assert_eq!(model.trees.len(), (best + 1) * model.n_outputs);
        // The kept model scores the best round's metric.
        let preds: Vec<f32> = (0..valid.n_rows)
            .flat_map(|r| {
                let mut m = model.predict_margin(&valid.row(r));
                emkern_host::train::hist::booster::transform_f32(objective.transform(), &mut m);
                m
            })
            .collect();
        let score = objective.metric(&preds, &valid.target, None);
        assert!(
            (score - h[best]).abs() <= 1e-6 * h[best],
            "{score} vs {}",
            h[best]
        );
        // Progress reports every round with the validation metric.
        let rounds = std::sync::Mutex::new(Vec::new());
        let p2 = HistParams {
            n_estimators: 5,
            early_stopping_rounds: None,
            ..p.clone()
        };
        HistBooster::train(&train, Some(&valid), &p2, &|r| {
            rounds.lock().unwrap().push((r.round, r.metric.is_some()))
        })
        .unwrap();
        assert_eq!(
            rounds.into_inner().unwrap(),
            (1..=5).map(|r| (r, true)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn missing_values_learn_their_direction() {
    // x0 is missing exactly when the target is high: a learned direction sends NaN to the high side, where
    // a fixed direction (or imputation at any value of x0) could not.
    let mut rng = SplitMix64::new(9);
    let n = 4000;
    let mut x0 = Vec::new();
    let mut x1 = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let a = rng.next_f64() as f32;
        let b = rng.next_f64() as f32;
        let high = rng.next_f64() < 0.3;
        x0.push(if high { f32::NAN } else { a });
        x1.push(b);
        y.push(if high { 10.0 } else { a as f64 } + 0.1 * rng.next_f64());
    }
    let schema = Schema {
        feature_names: vec!["x0".into(), "x1".into()],
        kinds: vec![FeatureKind::Numeric; 2],
        target_name: "y".into(),
        weight_name: None,
        classes: None,
    };
    let data = Dataset::from_columns(schema, vec![x0, x1], y, None).unwrap();
    let model = HistBooster::train(&data, None, &HistParams::default(), &|_| {}).unwrap();
    let p_missing = model.predict(&[f32::NAN, 0.5])[0];
    assert!((p_missing - 10.0).abs() < 0.2, "{p_missing}");
    for a in [0.0f32, 0.3, 0.9] {
        let p = model.predict(&[a, 0.5])[0];
        assert!((p - a).abs() < 0.2, "{a}: {p}");
    }
    // The root separates missing from present values of x0.
    let root = &model.trees[0].nodes[0];
    assert_eq!(root.feature, 0);
    let present = root.goes_left(0.0);
    assert!((0..=10).all(|i| root.goes_left(i as f32 / 10.0) == present));
    assert_ne!(root.goes_left(f32::NAN), present);
    check_core(&model, &[&data]);
}

#[test]
fn parameter_errors_are_explained() {
    let (train, valid) = load("iris", Objective::MultiSoftprob);
    let err = |p: HistParams| {
        HistBooster::train(&train, Some(&valid), &p, &|_| {})
            .unwrap_err()
            .to_string()
    };
    let d = HistParams::default;
    assert!(
        err(HistParams {
            objective: Some(Objective::BinaryLogistic),
            ..d()
        })
        .contains("two classes")
    );
    assert!(
        err(HistParams {
            subsample: 0.0,
            ..d()
        })
        .contains("subsample")
    );
    assert!(
        err(HistParams {
            max_bin: 300,
            ..d()
        })
        .contains("max_bin")
    );
    assert!(
        err(HistParams {
            max_depth: 0,
            ..d()
        })
        .contains("max_leaves")
    );
    assert!(
        err(HistParams {
            monotone: vec![1; 9],
            ..d()
        })
        .contains("monotone")
    );
    assert!(
        err(HistParams {
            lambda: -1.0,
            ..d()
        })
        .contains("lambda")
    );
    let (reg, _) = load("diabetes", Objective::SquaredError);
    assert!(
        HistBooster::train(
            &reg,
            None,
            &HistParams {
                early_stopping_rounds: Some(3),
                ..d()
            },
            &|_| {}
        )
        .unwrap_err()
        .to_string()
        .contains("validation")
    );
    assert!(
        HistBooster::train(
            &reg,
            None,
            &HistParams {
                objective: Some(Objective::MultiSoftprob),
                ..d()
            },
            &|_| {}
        )
        .is_err()
    );
}

#[test]
fn cli_trains_exports_and_reports() {
    let dir = Scratch::new("hist-cli");
    let model = dir.join("bc.emk");
    let json = dir.join("bc.json");
    let exe = env!("CARGO_BIN_EXE_emkern");
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args([
            "train",
            "--algo",
            "hist-gbdt",
            "--data",
            "data/breast_cancer_train.csv",
            "--target",
            "label",
            "--valid",
            "data/breast_cancer_test.csv",
            "--objective",
            "binary:logistic",
            "--n-estimators",
            "200",
            "--eta",
            "0.3",
            "--max-depth",
            "4",
            "--lambda",
            "1",
            "--alpha",
            "0",
            "--gamma",
            "0",
            "--min-child-weight",
            "1",
            "--max-bin",
            "256",
            "--subsample",
            "0.9",
            "--colsample-bytree",
            "0.9",
            "--colsample-bylevel",
            "1",
            "--colsample-bynode",
            "0.9",
            "--early-stopping-rounds",
            "10",
            "--threads",
            "2",
            "--seed",
            "4",
            "--quiet",
            "--xgboost-json",
        ])
        .arg(&json)
        .arg("-o")
        .arg(&model)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "histogram gradient boosting",
        "early     best round",
        "valid     accuracy",
        "bit for bit on 569 of 569 rows",
        "XGBoost 3.x JSON",
    ] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from:\n{stdout}"
        );
    }
    let back = xgb_import::load(&json).unwrap();
    let blob_bytes = std::fs::read(&model).unwrap();
    let core = CoreForest::new(&blob_bytes).unwrap();
    assert_eq!(core.summary().trees, back.trees.len());

    // Flags of other algorithms are refused, and hist-gbdt flags with other algorithms.
    let run = |args: &[&str]| {
        let o = std::process::Command::new(exe)
            .current_dir(repo())
            .args([
                "train",
                "--data",
                "data/iris_train.csv",
                "--target",
                "label",
                "--quiet",
                "-o",
            ])
            .arg(dir.join("x.emk"))
            .args(args)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (ok, e) = run(&["--algo", "rf", "--eta", "0.1"]);
    assert!(
        !ok && e.contains("--eta applies to --algo hist-gbdt"),
        "{e}"
    );
    let (ok, e) = run(&["--algo", "hist-gbdt", "--oob"]);
    assert!(!ok && e.contains("--oob does not apply"), "{e}");
    let (ok, e) = run(&["--algo", "hist-gbdt", "--monotone", "(1,2)"]);
    assert!(!ok && e.contains("monotone"), "{e}");
    let (ok, e) = run(&["--algo", "hist-gbdt", "--objective", "reg:foo"]);
    assert!(!ok && e.contains("multi:softprob"), "{e}");
    let (ok, e) = run(&[
        "--algo",
        "hist-gbdt",
        "--grow-policy",
        "lossguide",
        "--max-leaves",
        "6",
        "--max-depth",
        "0",
    ]);
    assert!(ok, "{e}");
}
