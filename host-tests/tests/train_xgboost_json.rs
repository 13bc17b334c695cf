//! `emkern train --xgboost-json` for the algorithms whose models XGBoost can hold (cart, rf and extra-trees for
//! regression and classification, gbdt, adaboost's SAMME): XGBoost 3.x loads the written model and gives the
//! blob's margins and predictions to within f32 rounding; for a classification forest, `Booster.predict` gives
//! its class probabilities (a multi-target `reg:squarederror` model, one target per class). Deep trees matter here: the trainers number nodes depth-first as
//! scikit-learn does, and XGBoost only reads its own numbering (children adjacent, breadth-first).
//!
//! The XGBoost check needs a Python with XGBoost >= 3.1 (`EMKERN_PYTHON`, else `python3`); without one it
//! prints a SKIPPED line and checks only what needs no Python.

#[path = "common/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern::forest::Forest as CoreForest;
use emkern_host::train::dataset::{Dataset, DatasetSpec, Task};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data_path(name: &str, split: &str) -> PathBuf {
    repo().join(format!("data/{name}_{split}.csv"))
}

fn target(name: &str) -> &'static str {
    if name == "diabetes" {
        "target"
    } else {
        "label"
    }
}

fn load(name: &str, split: &str) -> Dataset {
    let task = if name == "diabetes" {
        Task::Regression
    } else {
        Task::Classification
    };
    let spec = DatasetSpec {
        target: target(name).into(),
        task: Some(task),
        ..DatasetSpec::default()
    };
    let train =
        Dataset::from_csv(&data_path(name, "train"), &spec).unwrap_or_else(|e| panic!("{e}"));
    if split == "train" {
        return train;
    }
    Dataset::from_csv_like(&data_path(name, split), &train.schema).unwrap_or_else(|e| panic!("{e}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train_xgboost_json");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn emkern(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_emkern"))
        .args(args)
        .output()
        .expect("run emkern");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Trains `algo` (with `extra` flags) on `data`'s training split, writing the blob and the XGBoost JSON.
fn train(tag: &str, data: &str, algo: &str, extra: &[&str]) -> (PathBuf, PathBuf, String) {
    let out = scratch(&format!("{tag}.emk"));
    let json = scratch(&format!("{tag}.json"));
    let train = data_path(data, "train");
    let mut args = vec![
        "train",
        "--algo",
        algo,
        "--data",
        train.to_str().unwrap(),
        "--target",
        target(data),
        "-o",
        out.to_str().unwrap(),
        "--xgboost-json",
        json.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = emkern(&args);
    assert!(ok, "{tag}: {stdout}\n{stderr}");
    assert!(stdout.contains("xgboost   "), "{tag}: {stdout}");
    (out, json, stdout)
}

/// (tag, data set, algorithm, extra flags): every algorithm `--xgboost-json` accepts but hist-gbdt (whose
/// XGBoost agreement `tests/train_hist.rs` checks) and stack (`tests/train_stack.rs`).
const CASES: [(&str, &str, &str, &[&str]); 8] = [
    ("diabetes_rf", "diabetes", "rf", &["--n-estimators", "30"]),
    ("diabetes_cart", "diabetes", "cart", &[]),
    (
        "diabetes_extra",
        "diabetes",
        "extra-trees",
        &["--n-estimators", "20"],
    ),
    (
        "diabetes_gbdt",
        "diabetes",
        "gbdt",
        &["--n-estimators", "40", "--max-depth", "6"],
    ),
    (
        "bc_gbdt",
        "breast_cancer",
        "gbdt",
        &["--n-estimators", "30"],
    ),
    (
        "iris_gbdt",
        "iris",
        "gbdt",
        &["--n-estimators", "20", "--max-depth", "5"],
    ),
    (
        "bc_adaboost",
        "breast_cancer",
        "adaboost",
        &["--n-estimators", "20", "--max-depth", "3"],
    ),
    (
        "wine_adaboost",
        "wine",
        "adaboost",
        &["--n-estimators", "15", "--max-depth", "3"],
    ),
];

const PREDICT: &str = r#"
import json, sys
import numpy as np
import xgboost as xgb
model, rows, n_features = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = json.load(open(model))["learner"]["feature_names"]
x = np.fromfile(rows, dtype="<f4").reshape(-1, n_features)
b = xgb.Booster()
b.load_model(model)
d = xgb.DMatrix(x, feature_names=names)
for out in (b.predict(d, output_margin=True), b.predict(d)):
    print(" ".join(repr(float(v)) for v in np.asarray(out, dtype=np.float64).ravel()))
"#;

/// XGBoost's margins and predictions for `rows` (two lines of floats, row-major).
fn xgboost_predict(py: &str, json: &Path, data: &Dataset, tag: &str) -> (Vec<f64>, Vec<f64>) {
    let script = scratch(&format!("{tag}.py"));
    std::fs::write(&script, PREDICT).unwrap();
    let rows: Vec<u8> = (0..data.n_rows)
        .flat_map(|r| data.row(r))
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let rows_path = scratch(&format!("{tag}.f32"));
    std::fs::write(&rows_path, rows).unwrap();
    let res = Command::new(py)
        .arg(&script)
        .arg(json)
        .arg(&rows_path)
        .arg(data.n_features().to_string())
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "{tag}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let text = String::from_utf8_lossy(&res.stdout);
    let mut lines = text.lines().map(|l| {
        l.split_whitespace()
            .map(|v| v.parse::<f64>().unwrap())
            .collect::<Vec<_>>()
    });
    (lines.next().unwrap(), lines.next().unwrap())
}

/// Trains every case and checks that XGBoost's margins and predictions equal the blob's on the training and
/// test rows.
fn check_cases(py: &str, cases: &[(&str, &str, &str, &[&str])]) {
    for &(tag, data, algo, extra) in cases {
        let (out, json, _) = train(tag, data, algo, extra);
        let bytes = std::fs::read(&out).unwrap();
        let core = CoreForest::new(&bytes).unwrap();
        let k = core.n_outputs();
        let len = core.output_len();
        for split in ["train", "test"] {
            let d = load(data, split);
            let (margins, preds) = xgboost_predict(py, &json, &d, &format!("{tag}_{split}"));
            assert_eq!(margins.len(), d.n_rows * k, "{tag} {split}: margins");
            assert_eq!(preds.len(), d.n_rows * len, "{tag} {split}: predictions");
            let mut m = vec![0.0f32; k];
            let mut p = vec![0.0f32; len];
            let mut worst = 0.0f64;
            for r in 0..d.n_rows {
                let row = d.row(r);
                core.predict_margin(&row, &mut m).unwrap();
                core.predict(&row, &mut p).unwrap();
                for (got, want) in margins[r * k..(r + 1) * k]
                    .iter()
                    .zip(&m)
                    .chain(preds[r * len..(r + 1) * len].iter().zip(&p))
                {
                    let want = *want as f64;
                    let diff = (got - want).abs() / want.abs().max(1.0);
                    worst = worst.max(diff);
                    assert!(
                        diff <= 2e-5,
                        "{tag} {split} row {r}: XGBoost {got} vs blob {want}"
                    );
                }
            }
            println!("{tag} {split}: max relative difference XGBoost vs blob {worst:.1e}");
        }
    }
}

/// XGBoost predicts what the blob predicts, margins and outputs, on the training and test rows, for deep
/// depth-first-numbered trees of every exportable algorithm.
#[test]
fn xgboost_predicts_what_the_blob_predicts() {
    let Some(py) =
        python::python_or_skip("xgboost_predicts_what_the_blob_predicts", "xgboost", (3, 1))
    else {
        return;
    };
    check_cases(&py, &CASES);
}

/// Class-probability trees and forests (binary and three classes): cart, rf and extra-trees.
const CLASS_CASES: [(&str, &str, &str, &[&str]); 6] = [
    ("bc_cart", "breast_cancer", "cart", &[]),
    ("bc_rf", "breast_cancer", "rf", &["--n-estimators", "25"]),
    (
        "bc_extra",
        "breast_cancer",
        "extra-trees",
        &["--n-estimators", "20"],
    ),
    ("wine_cart", "wine", "cart", &[]),
    ("wine_rf", "wine", "rf", &["--n-estimators", "25"]),
    (
        "iris_extra",
        "iris",
        "extra-trees",
        &["--n-estimators", "20"],
    ),
];

/// XGBoost's `Booster.predict` on the multi-target model gives the forest's class probabilities (every
/// class's column, binary models included), on the training and test rows.
#[test]
fn xgboost_predicts_forest_class_probabilities() {
    let Some(py) = python::python_or_skip(
        "xgboost_predicts_forest_class_probabilities",
        "xgboost",
        (3, 1),
    ) else {
        return;
    };
    check_cases(&py, &CLASS_CASES);
}

/// A forest's class probabilities are written as XGBoost's multi-target regression: `reg:squarederror`, one
/// target per class, one scalar tree per class and forest tree.
#[test]
fn writes_class_probability_forests_as_multi_target_regression() {
    let (_, json, _) = train("wine_rf3", "wine", "rf", &["--n-estimators", "3"]);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let learner = &doc["learner"];
    assert_eq!(learner["objective"]["name"], "reg:squarederror");
    let param = &learner["learner_model_param"];
    assert_eq!(param["num_target"], "3");
    assert_eq!(param["num_class"], "0");
    assert_eq!(param["base_score"], "[0e0,0e0,0e0]");
    let model = &learner["gradient_booster"]["model"];
    assert_eq!(model["gbtree_model_param"]["num_trees"], "9");
    let info: Vec<u64> = model["tree_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(info, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
}
