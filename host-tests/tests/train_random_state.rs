//! `--seed S` is scikit-learn's `random_state=S` for `--algo cart`, `rf` and `extra-trees`, checked as a user
//! would: scikit-learn and emkern train on the same CSV files with the same seed, and must give the same model.
//!
//! One Python process (`train_random_state.py`, scikit-learn ≥ 1.5; the test prints SKIPPED without it) writes
//! ~100 randomized datasets from fixed seeds — ties and duplicate rows, constant features, missing values, integer,
//! dyadic and real sample weights, 2 to 10 classes, regression — and fits `DecisionTree*`, `RandomForest*` and
//! `ExtraTrees*` on them with seeds 0, 1, 7, 42, 2³² − 1 and seeds drawn from a fixed generator over the whole
//! 32-bit range, and with every `max_features` form (sqrt, log2, int, float, None), gini/entropy/log_loss/
//! squared_error, `min_samples_leaf`, `min_samples_split`, `max_depth`, `max_leaf_nodes`,
//! `min_impurity_decrease`, `min_weight_fraction_leaf`, balanced and explicit class weights, `bootstrap` on and
//! off, `max_samples` (count and fraction) and out-of-bag scores. For every case:
//!
//! - the CLI: `emkern train --seed S …` on the training CSV, then `emkern predict` on the test CSV: every output is
//!   scikit-learn's probability or value rounded to f32 (the core computes in f32), within one f32 step; with
//!   `--oob` the printed out-of-bag score is scikit-learn's `oob_score_` to the 4 printed decimals;
//! - the library on the same CSV (`Dataset::from_csv`, `DecisionTree::train` / `Forest::train` with the seed): the
//!   forest's per-tree seeds are scikit-learn's `estimators_[i].random_state`, and every tree is scikit-learn's node
//!   for node (children, features, bit-identical thresholds, missing-value directions, sample counts, weighted
//!   counts and values within 1e-12 relative), the f64 test predictions are within 1e-12 relative and the
//!   out-of-bag score within 1e-12.

#[path = "common/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern_host::train::Rule;
use emkern_host::train::cart::{ClassWeight, DecisionTree, MaxFeatures, TreeParams};
use emkern_host::train::criterion::Criterion;
use emkern_host::train::dataset::{Dataset, DatasetSpec, Task};
use emkern_host::train::forest::{Forest, ForestKind, ForestParams, MaxSamples};
use emkern_host::train::model::TrainedModel;
use emkern_host::train::random_state::RandomState;
use serde_json::Value;

const TEST: &str = "trees_and_forests_are_scikit_learns_for_the_same_random_state";

fn emkern(args: &[String]) -> (bool, String, String) {
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

/// `|a − b| ≤ rel · max(|b|, 1)`.
fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

fn task_of(case: &Value) -> Task {
    match case["task"].as_str().unwrap() {
        "classification" => Task::Classification,
        _ => Task::Regression,
    }
}

/// The value of `--max-features` / `--max-samples` for a JSON number (a float keeps its decimal point).
fn number_arg(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_u64() => n.to_string(),
        Value::Number(n) => format!("{:?}", n.as_f64().unwrap()),
        Value::String(s) => s.clone(),
        Value::Null => "all".into(),
        _ => panic!("not a number or a name: {v}"),
    }
}

fn class_weight_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .iter()
            .map(|(k, w)| format!("{k}:{}", w.as_f64().unwrap()))
            .collect::<Vec<_>>()
            .join(","),
        _ => panic!("class_weight {v}"),
    }
}

/// The case's scikit-learn parameters as `emkern train` flags.
fn cli_flags(case: &Value) -> Vec<String> {
    let mut flags = Vec::new();
    for (k, v) in case["params"].as_object().unwrap() {
        let (flag, value) = match k.as_str() {
            "max_features" | "max_samples" => (k.as_str(), number_arg(v)),
            "class_weight" => ("class_weight", class_weight_arg(v)),
            "bootstrap" => ("bootstrap", v.as_bool().unwrap().to_string()),
            "oob_score" => {
                flags.push("--oob".to_string());
                continue;
            }
            "criterion" => ("criterion", v.as_str().unwrap().to_string()),
            _ => (k.as_str(), number_arg(v)),
        };
        flags.push(format!("--{}={value}", flag.replace('_', "-")));
    }
    flags
}

/// The case's scikit-learn parameters applied to `p` (a tree's) and `f` (a forest's).
fn library_params(case: &Value, p: &mut TreeParams, f: &mut ForestParams) {
    for (k, v) in case["params"].as_object().unwrap() {
        match k.as_str() {
            "criterion" => p.criterion = Criterion::from_name(v.as_str().unwrap()).unwrap(),
            "max_depth" => p.max_depth = Some(v.as_u64().unwrap() as usize),
            "min_samples_leaf" => p.min_samples_leaf = v.as_u64().unwrap() as usize,
            "min_samples_split" => p.min_samples_split = v.as_u64().unwrap() as usize,
            "max_leaf_nodes" => p.max_leaf_nodes = Some(v.as_u64().unwrap() as usize),
            "min_impurity_decrease" => p.min_impurity_decrease = v.as_f64().unwrap(),
            "min_weight_fraction_leaf" => p.min_weight_fraction_leaf = v.as_f64().unwrap(),
            "class_weight" => {
                p.class_weight = ClassWeight::from_spec(&class_weight_arg(v)).unwrap()
            }
            "max_features" => p.max_features = MaxFeatures::from_name(&number_arg(v)).unwrap(),
            "n_estimators" => f.n_estimators = v.as_u64().unwrap() as usize,
            "bootstrap" => f.bootstrap = v.as_bool().unwrap(),
            "oob_score" => f.oob_score = v.as_bool().unwrap(),
            "max_samples" => {
                f.max_samples = Some(if v.is_u64() {
                    MaxSamples::Count(v.as_u64().unwrap() as usize)
                } else {
                    MaxSamples::Fraction(v.as_f64().unwrap())
                })
            }
            other => panic!("parameter {other} not mapped"),
        }
    }
}

/// The rows of a features-only CSV with a header (empty cell = missing).
fn read_rows(path: &Path) -> Vec<Vec<f32>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|c| {
                    if c.is_empty() {
                        f32::NAN
                    } else {
                        c.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect()
}

/// The first difference between our tree and scikit-learn's arrays.
fn compare_tree(ours: &DecisionTree, sk: &Value) -> Result<(), String> {
    let count = sk["n_node_samples"].as_array().unwrap().len();
    if ours.nodes.len() != count {
        return Err(format!("{} nodes, scikit-learn {count}", ours.nodes.len()));
    }
    for (i, node) in ours.nodes.iter().enumerate() {
        let differ = |what: &str, got: String, want: String| {
            Err(format!("node {i}: {what} {got}, scikit-learn {want}"))
        };
        let left = sk["children_left"][i].as_i64().unwrap();
        match &node.split {
            None if left != -1 => return differ("leaf", "yes".into(), "split".into()),
            Some(_) if left == -1 => return differ("split", "yes".into(), "leaf".into()),
            None => {}
            Some(s) => {
                let right = sk["children_right"][i].as_i64().unwrap();
                if (s.left as i64, s.right as i64) != (left, right) {
                    let got = format!("{:?}", (s.left, s.right));
                    return differ("children", got, format!("{:?}", (left, right)));
                }
                let feature = sk["feature"][i].as_u64().unwrap() as usize;
                if s.feature != feature {
                    return differ("feature", s.feature.to_string(), feature.to_string());
                }
                let want = match &sk["threshold"][i] {
                    Value::String(s) if s == "inf" => f64::INFINITY,
                    Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
                    v => v.as_f64().unwrap(),
                };
                match s.rule {
                    Rule::Threshold(t) if t.to_bits() == want.to_bits() => {}
                    ref r => return differ("threshold", format!("{r:?}"), format!("{want:e}")),
                }
                let ml = sk["missing_go_to_left"][i].as_bool().unwrap();
                if s.missing_left != ml {
                    return differ(
                        "missing_go_to_left",
                        s.missing_left.to_string(),
                        ml.to_string(),
                    );
                }
            }
        }
        let n = sk["n_node_samples"][i].as_u64().unwrap() as usize;
        if node.n_samples != n {
            return differ("n_node_samples", node.n_samples.to_string(), n.to_string());
        }
        let w = sk["weighted_n_node_samples"][i].as_f64().unwrap();
        if !close(node.weighted_n_samples, w, 1e-12) {
            return differ(
                "weighted_n_node_samples",
                node.weighted_n_samples.to_string(),
                w.to_string(),
            );
        }
        let imp = sk["impurity"][i].as_f64().unwrap();
        if !close(node.impurity, imp, 1e-12) {
            return differ("impurity", node.impurity.to_string(), imp.to_string());
        }
        let value: Vec<f64> = sk["value"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        if value.len() != node.value.len()
            || node
                .value
                .iter()
                .zip(&value)
                .any(|(a, b)| !close(*a, *b, 1e-12))
        {
            return differ("value", format!("{:?}", node.value), format!("{value:?}"));
        }
    }
    Ok(())
}

/// Trains through the library on the case's CSV and compares trees, predictions and the out-of-bag score.
fn check_library(case: &Value, dir: &Path, rows: &[Vec<f32>]) -> Result<String, String> {
    let name = case["name"].as_str().unwrap();
    let task = task_of(case);
    let spec = DatasetSpec {
        target: "y".into(),
        weight: case["weighted"].as_bool().unwrap().then(|| "w".into()),
        task: Some(task),
        ..DatasetSpec::default()
    };
    let data = Dataset::from_csv(&dir.join(format!("{name}_train.csv")), &spec)
        .map_err(|e| e.to_string())?;
    if let Some(classes) = case["classes"].as_array() {
        let want: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
        if data.schema.classes.as_ref() != Some(&want) {
            return Err(format!(
                "classes {:?}, scikit-learn {want:?}",
                data.schema.classes
            ));
        }
    }
    let seed = case["seed"].as_u64().unwrap() as u32;
    let algo = case["algo"].as_str().unwrap();
    let kind = if algo == "extra-trees" {
        ForestKind::ExtraTrees
    } else {
        ForestKind::RandomForest
    };
    let mut fp = ForestParams::new(kind, task);
    let mut tp = if algo == "cart" {
        TreeParams::new(task)
    } else {
        fp.tree.clone()
    };
    library_params(case, &mut tp, &mut fp);
    let model = if algo == "cart" {
        TrainedModel::Tree(DecisionTree::train(&data, &tp, seed).map_err(|e| e.to_string())?)
    } else {
        fp.tree = tp;
        fp.seed = seed;
        let want: Vec<u32> = case["tree_seeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap() as u32)
            .collect();
        let mut master = RandomState::new(seed);
        let ours: Vec<u32> = want.iter().map(|_| master.estimator_seed()).collect();
        if ours != want {
            return Err(format!("tree seeds {ours:?}, scikit-learn {want:?}"));
        }
        TrainedModel::Forest(Forest::train(&data, &fp, &|_| {}).map_err(|e| e.to_string())?)
    };
    let trees = model.trees();
    let sk_trees = case["trees"].as_array().unwrap();
    if trees.len() != sk_trees.len() {
        return Err(format!(
            "{} trees, scikit-learn {}",
            trees.len(),
            sk_trees.len()
        ));
    }
    let mut nodes = 0;
    for (t, (ours, sk)) in trees.iter().zip(sk_trees).enumerate() {
        compare_tree(ours, sk).map_err(|e| format!("tree {t}: {e}"))?;
        nodes += ours.nodes.len();
    }
    let mut worst = 0.0f64;
    for (r, (row, want)) in rows
        .iter()
        .zip(case["prediction"].as_array().unwrap())
        .enumerate()
    {
        let got = model.predict_row(row);
        let want: Vec<f64> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        if got.len() != want.len() || got.iter().zip(&want).any(|(a, b)| !close(*a, *b, 1e-12)) {
            return Err(format!("test row {r}: {got:?}, scikit-learn {want:?}"));
        }
        worst = got
            .iter()
            .zip(&want)
            .fold(worst, |m, (a, b)| m.max((a - b).abs()));
    }
    if let Some(want) = case["oob_score"].as_f64() {
        let TrainedModel::Forest(Forest { oob: Some(oob), .. }) = &model else {
            return Err("no out-of-bag score".into());
        };
        let n = case["n_train"].as_u64().unwrap() as usize;
        if oob.rows != n || (oob.score - want).abs() > 1e-12 {
            return Err(format!(
                "out-of-bag score {} over {} rows, scikit-learn {want} over {n}",
                oob.score, oob.rows
            ));
        }
    }
    Ok(format!(
        "{} tree(s), {nodes} nodes identical, max |Δ| {worst:.1e}",
        trees.len()
    ))
}

/// Trains with the CLI, predicts the test CSV with the CLI and compares with scikit-learn.
fn check_cli(case: &Value, dir: &Path, threads: usize) -> Result<(), String> {
    let name = case["name"].as_str().unwrap();
    let blob = dir.join(format!("{name}.emk"));
    let path = |p: PathBuf| p.display().to_string();
    let mut args: Vec<String> = [
        "train",
        "--algo",
        case["algo"].as_str().unwrap(),
        "--target",
        "y",
        "--task",
        case["task"].as_str().unwrap(),
        "--quiet",
    ]
    .map(String::from)
    .into();
    args.extend([
        "--data".into(),
        path(dir.join(format!("{name}_train.csv"))),
        "--seed".into(),
        case["seed"].to_string(),
        "--threads".into(),
        threads.to_string(),
        "-o".into(),
        path(blob.clone()),
    ]);
    if case["weighted"].as_bool().unwrap() {
        args.extend(["--weight".into(), "w".into()]);
    }
    args.extend(cli_flags(case));
    let (ok, out, err) = emkern(&args);
    if !ok {
        return Err(format!("emkern {}: {err}", args.join(" ")));
    }
    if let Some(want) = case["oob_score"].as_f64() {
        let printed: f64 = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("oob"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no out-of-bag score in:\n{out}"))?;
        if (printed - want).abs() > 5e-5 + 1e-12 {
            return Err(format!(
                "printed out-of-bag score {printed}, scikit-learn {want}"
            ));
        }
    }
    let predict = [
        "predict".to_string(),
        "--model".into(),
        path(blob),
        "--input".into(),
        path(dir.join(format!("{name}_test.csv"))),
    ];
    let (ok, out, err) = emkern(&predict);
    if !ok {
        return Err(format!("emkern predict: {err}"));
    }
    let want = case["prediction"].as_array().unwrap();
    let lines: Vec<&str> = out.lines().collect();
    if lines.len() != want.len() {
        return Err(format!(
            "{} predicted rows, scikit-learn {}",
            lines.len(),
            want.len()
        ));
    }
    for (r, (line, want)) in lines.iter().zip(want).enumerate() {
        let got: Vec<f64> = line
            .split(',')
            .map(|v| v.parse::<f32>().unwrap() as f64)
            .collect();
        let want: Vec<f64> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        // The core returns f32: within one f32 step of scikit-learn's f64 (plus the library's 1e-12).
        let far = |(a, b): (&f64, &f64)| {
            (a - b).abs() > b.abs() * f64::from(f32::EPSILON) + 1e-12 * b.abs().max(1.0)
        };
        if got.len() != want.len() || got.iter().zip(&want).any(far) {
            return Err(format!("predicted row {r}: {got:?}, scikit-learn {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn trees_and_forests_are_scikit_learns_for_the_same_random_state() {
    let Some(py) = python::python_or_skip(TEST, "sklearn", (1, 5)) else {
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train_random_state");
    let _ = std::fs::remove_dir_all(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/train_random_state.py");
    let out = Command::new(&py)
        .arg(&script)
        .arg(&dir)
        .output()
        .expect("run Python");
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    println!(
        "scikit-learn {}, NumPy {}",
        doc["sklearn"].as_str().unwrap(),
        doc["numpy"].as_str().unwrap()
    );
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 90, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let rows = read_rows(&dir.join(format!("{name}_test.csv")));
        let summary = format!(
            "{name} seed {} {}",
            case["seed"],
            serde_json::to_string(&case["params"]).unwrap()
        );
        match check_library(case, &dir, &rows)
            .and_then(|s| check_cli(case, &dir, 1 + i % 2).map(|()| s))
        {
            Ok(s) => println!("{summary}: {s}"),
            Err(e) => failures.push(format!("{summary}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from scikit-learn:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn seeds_beyond_32_bits_are_refused() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train_random_state_refused");
    std::fs::create_dir_all(&dir).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/iris_train.csv");
    for algo in ["cart", "rf", "extra-trees"] {
        for (seed, ok) in [("4294967295", true), ("4294967296", false)] {
            let mut args: Vec<String> = [
                "train", "--algo", algo, "--target", "label", "--seed", seed, "--quiet",
            ]
            .map(String::from)
            .into();
            args.extend([
                "--data".into(),
                data.display().to_string(),
                "-o".into(),
                dir.join("m.emk").display().to_string(),
            ]);
            if algo != "cart" {
                args.extend(["--n-estimators".into(), "3".into()]);
            }
            let (success, out, err) = emkern(&args);
            assert_eq!(success, ok, "{algo} --seed {seed}:\n{out}\n{err}");
            if !ok {
                assert!(
                    err.contains(&format!("--seed {seed} is too large for --algo {algo}"))
                        && err.contains("scikit-learn's random_state, below 2^32"),
                    "{algo}: {err}"
                );
            }
        }
    }
}
