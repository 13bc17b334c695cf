//! Trainer tests: CART trees, random forests and extra trees against scikit-learn and against their own
//! invariants, and every trained model against the `no_std` core running its exported blob.
//!
//! Reference data comes from `fixtures/train/generate.py` (scikit-learn 1.9.1 on the bundled splits in `data/`):
//!
//! - `trees.json`: single trees. Grown with scikit-learn's `random_state` as the seed (which must give the splitter
//!   state scikit-learn seeded its search with, also in the fixture), our trees must be scikit-learn's node for
//!   node: same shape, features and sample counts, bit-identical thresholds, the same missing-value directions,
//!   values and impurities within 1e-12 (relative), importances within 1e-9. This covers
//!   Gini, entropy and squared error, depth-first and best-first growth, `max_depth`, `min_samples_leaf`,
//!   `min_samples_split`, `min_impurity_decrease`, `max_features` (sqrt, fraction), integer sample weights,
//!   balanced class weights, missing values, and extra trees' random thresholds.
//! - `metrics.json`: test-split metrics of scikit-learn estimators for `random_state` 0..4. We train with the
//!   same seeds 0..4 and compare the means over the five seeds (`train_random_state.rs` checks that the same seed
//!   gives scikit-learn's model itself):
//!   - single CART trees: accuracy within 2 test rows (`2 / n_test`), RMSE within 5%;
//!   - forests (100 trees): accuracy within 0.03, log-loss within 0.05 + 25%, RMSE and MAE within 10%,
//!     R² within 0.05.
//!
//! The core checks: each model is exported with `export::blob`, loaded by `emkern::forest::Forest`, and its
//! prediction for every training and test row must equal the trainer's own f64 prediction rounded to f32.

#[path = "common/proptest_config.rs"]
mod proptest_config;
#[path = "common/scratch.rs"]
mod scratch;
use scratch::Scratch;
use std::path::{Path, PathBuf};

use emkern::forest::Forest as CoreForest;
use emkern_host::export::blob;
use emkern_host::metrics;
use emkern_host::train::Rule;
use emkern_host::train::cart::{ClassWeight, DecisionTree, MaxFeatures, SplitStrategy, TreeParams};
use emkern_host::train::criterion::Criterion;
use emkern_host::train::dataset::{Categories, Dataset, DatasetSpec, FeatureKind, Schema, Task};
use emkern_host::train::forest::{Forest, ForestKind, ForestParams};
use emkern_host::train::model::TrainedModel;
use emkern_host::train::random_state::RandomState;
use proptest::prelude::*;
use proptest_config::proptest_config;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/train")
}

fn task_of(name: &str) -> (&'static str, Task) {
    if name == "diabetes" {
        ("target", Task::Regression)
    } else {
        ("label", Task::Classification)
    }
}

/// A bundled split (`data/<name>_<split>.csv`) or, for `wine_missing`, the fixture file with missing cells.
fn load(name: &str, split: &str) -> Dataset {
    let path = if name == "wine_missing" {
        fixtures().join("wine_missing_train.csv")
    } else {
        repo().join(format!("data/{name}_{split}.csv"))
    };
    let (target, task) = task_of(name);
    Dataset::from_csv(
        &path,
        &DatasetSpec {
            target: target.into(),
            task: Some(task),
            ..DatasetSpec::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn load_like(name: &str, split: &str, schema: &Schema) -> Dataset {
    let path = repo().join(format!("data/{name}_{split}.csv"));
    Dataset::from_csv_like(&path, schema).unwrap_or_else(|e| panic!("{e}"))
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// Exports `model`, loads the blob in the core and checks every row of every dataset: the core's prediction is
/// the trainer's f64 prediction rounded to f32.
fn check_core(model: &TrainedModel, train: &Dataset, others: &[&Dataset]) {
    let ensemble = model.to_ensemble(train, "test");
    let bytes = blob::write(&ensemble).expect("export");
    let core = CoreForest::new(&bytes).expect("the blob loads");
    let mut out = vec![0.0f32; core.output_len()];
    for data in std::iter::once(train).chain(others.iter().copied()) {
        for r in 0..data.n_rows {
            let row = data.row(r);
            core.predict(&row, &mut out).unwrap();
            let want = model.predict_row(&row);
            assert_eq!(out.len(), want.len());
            for (k, (&got, &w)) in out.iter().zip(&want).enumerate() {
                assert_eq!(
                    got, w as f32,
                    "{}: row {r}, output {k}: core {got}, trainer {w}",
                    data.source
                );
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------------------------
// Node-for-node equality with scikit-learn
// ----------------------------------------------------------------------------------------------------------------

fn tree_params(case: &Value, task: Task) -> TreeParams {
    let estimator = case["estimator"].as_str().unwrap();
    let mut p = TreeParams::new(task);
    if estimator.starts_with("ExtraTree") {
        p.splitter = SplitStrategy::Random;
        p.max_features = if task == Task::Classification {
            MaxFeatures::Sqrt
        } else {
            MaxFeatures::All
        };
    }
    for (k, v) in case["params"].as_object().unwrap() {
        match k.as_str() {
            "criterion" => p.criterion = Criterion::from_name(v.as_str().unwrap()).unwrap(),
            "max_depth" => p.max_depth = Some(v.as_u64().unwrap() as usize),
            "min_samples_leaf" => p.min_samples_leaf = v.as_u64().unwrap() as usize,
            "min_samples_split" => p.min_samples_split = v.as_u64().unwrap() as usize,
            "max_leaf_nodes" => p.max_leaf_nodes = Some(v.as_u64().unwrap() as usize),
            "min_impurity_decrease" => p.min_impurity_decrease = v.as_f64().unwrap(),
            "class_weight" => p.class_weight = ClassWeight::from_spec(v.as_str().unwrap()).unwrap(),
            "max_features" => {
                p.max_features = match v {
                    Value::Null => MaxFeatures::All,
                    Value::String(s) => MaxFeatures::from_name(s).unwrap(),
                    Value::Number(n) if n.is_u64() => {
                        MaxFeatures::Count(n.as_u64().unwrap() as usize)
                    }
                    Value::Number(n) => MaxFeatures::Fraction(n.as_f64().unwrap()),
                    _ => panic!("max_features {v}"),
                }
            }
            other => panic!("parameter {other} not mapped"),
        }
    }
    p
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        v => v.as_f64().unwrap(),
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

/// Compares our tree with scikit-learn's arrays; returns the first difference.
fn compare_tree(ours: &DecisionTree, sk: &Value) -> Result<(), String> {
    let count = sk["node_count"].as_u64().unwrap() as usize;
    if ours.nodes.len() != count {
        return Err(format!("{} nodes, scikit-learn {count}", ours.nodes.len()));
    }
    for (i, node) in ours.nodes.iter().enumerate() {
        let at = |what: &str, got: String, want: String| {
            Err(format!("node {i}: {what} {got}, scikit-learn {want}"))
        };
        let left = sk["children_left"][i].as_i64().unwrap();
        match &node.split {
            None if left != -1 => return at("leaf", "yes".into(), "split".into()),
            Some(_) if left == -1 => return at("split", "yes".into(), "leaf".into()),
            Some(s) => {
                let feature = sk["feature"][i].as_u64().unwrap() as usize;
                let right = sk["children_right"][i].as_i64().unwrap();
                if (s.left as i64, s.right as i64) != (left, right) {
                    return at(
                        "children",
                        format!("{:?}", (s.left, s.right)),
                        format!("{:?}", (left, right)),
                    );
                }
                if s.feature != feature {
                    return at("feature", s.feature.to_string(), feature.to_string());
                }
                let want = number(&sk["threshold"][i]);
                match s.rule {
                    Rule::Threshold(t) if t.to_bits() == want.to_bits() => {}
                    ref r => return at("threshold", format!("{r:?}"), format!("{want:e}")),
                }
                let ml = sk["missing_go_to_left"][i].as_bool().unwrap();
                if s.missing_left != ml {
                    return at(
                        "missing_go_to_left",
                        s.missing_left.to_string(),
                        ml.to_string(),
                    );
                }
            }
            None => {}
        }
        let n = sk["n_node_samples"][i].as_u64().unwrap() as usize;
        if node.n_samples != n {
            return at("n_samples", node.n_samples.to_string(), n.to_string());
        }
        let w = sk["weighted_n_node_samples"][i].as_f64().unwrap();
        if !close(node.weighted_n_samples, w, 1e-12) {
            return at(
                "weighted_n_samples",
                node.weighted_n_samples.to_string(),
                w.to_string(),
            );
        }
        let imp = sk["impurity"][i].as_f64().unwrap();
        if !close(node.impurity, imp, 1e-12) {
            return at("impurity", node.impurity.to_string(), imp.to_string());
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
            return at("value", format!("{:?}", node.value), format!("{value:?}"));
        }
    }
    let want: Vec<f64> = sk["feature_importances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let got = ours.feature_importances();
    if got.iter().zip(&want).any(|(a, b)| (a - b).abs() > 1e-9) {
        return Err(format!(
            "feature importances {got:?}, scikit-learn {want:?}"
        ));
    }
    Ok(())
}

#[test]
fn trees_equal_scikit_learn_node_for_node() {
    let doc = read_json("trees.json");
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let data_name = case["data"].as_str().unwrap();
        let mut data = load(data_name, "train");
        if let Some(w) = case["sample_weight"].as_array() {
            data.weights = Some(w.iter().map(|v| v.as_f64().unwrap()).collect());
        }
        if let Some(classes) = case["classes"].as_array() {
            let names: Vec<String> = classes
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                data.schema.classes.as_ref(),
                Some(&names),
                "{name}: class order"
            );
        }
        let params = tree_params(case, data.task());
        let seed = case["random_state"].as_u64().unwrap() as u32;
        let state = case["splitter_state"].as_u64().unwrap() as u32;
        assert_eq!(
            RandomState::new(seed).splitter_state(),
            state,
            "{name}: the splitter state of random_state {seed}"
        );
        let tree = DecisionTree::train(&data, &params, seed).unwrap();
        match compare_tree(&tree, case) {
            Ok(()) => println!("{name}: {} nodes, identical", tree.nodes.len()),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        let model = TrainedModel::Tree(tree);
        if data_name == "wine_missing" {
            check_core(&model, &data, &[]);
        } else {
            let test = load_like(data_name, "test", &data.schema);
            check_core(&model, &data, &[&test]);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ----------------------------------------------------------------------------------------------------------------
// Quality against scikit-learn
// ----------------------------------------------------------------------------------------------------------------

struct Scores {
    accuracy: f64,
    log_loss: f64,
    rmse: f64,
    mae: f64,
    r2: f64,
}

fn score(model: &TrainedModel, test: &Dataset) -> Scores {
    let proba: Vec<Vec<f64>> = (0..test.n_rows)
        .map(|r| model.predict_row(&test.row(r)))
        .collect();
    match test.task() {
        Task::Classification => {
            let m = metrics::classification(&test.class_indices(), &proba);
            Scores {
                accuracy: m.accuracy,
                log_loss: m.log_loss,
                rmse: 0.0,
                mae: 0.0,
                r2: 0.0,
            }
        }
        Task::Regression => {
            let p: Vec<f64> = proba.iter().map(|p| p[0]).collect();
            let m = metrics::regression(&test.target, &p);
            Scores {
                accuracy: 0.0,
                log_loss: 0.0,
                rmse: m.rmse,
                mae: m.mae,
                r2: m.r2,
            }
        }
    }
}

#[test]
fn quality_matches_scikit_learn() {
    let doc = read_json("metrics.json");
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let data_name = case["data"].as_str().unwrap();
        let estimator = case["estimator"].as_str().unwrap();
        let train = load(data_name, "train");
        let test = load_like(data_name, "test", &train.schema);
        let task = train.task();
        let seeds: Vec<u32> = case["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap() as u32)
            .collect();
        let mut sum = Scores {
            accuracy: 0.0,
            log_loss: 0.0,
            rmse: 0.0,
            mae: 0.0,
            r2: 0.0,
        };
        for &seed in &seeds {
            let model = if estimator.starts_with("DecisionTree") {
                let mut p = TreeParams::new(task);
                if let Some(m) = case["params"]["min_samples_leaf"].as_u64() {
                    p.min_samples_leaf = m as usize;
                }
                TrainedModel::Tree(DecisionTree::train(&train, &p, seed).unwrap())
            } else {
                let kind = if estimator.starts_with("RandomForest") {
                    ForestKind::RandomForest
                } else {
                    ForestKind::ExtraTrees
                };
                let mut p = ForestParams::new(kind, task);
                p.seed = seed;
                TrainedModel::Forest(Forest::train(&train, &p, &|_| {}).unwrap())
            };
            if seed == seeds[0] {
                check_core(&model, &train, &[&test]);
            }
            let s = score(&model, &test);
            sum.accuracy += s.accuracy;
            sum.log_loss += s.log_loss;
            sum.rmse += s.rmse;
            sum.mae += s.mae;
            sum.r2 += s.r2;
        }
        let n = seeds.len() as f64;
        let mean = &case["mean"];
        let sk = |k: &str| mean[k].as_f64().unwrap();
        let single = estimator.starts_with("DecisionTree");
        let n_test = test.n_rows as f64;
        let mut check = |what: &str, ours: f64, theirs: f64, tol: f64| {
            let ok = (ours - theirs).abs() <= tol;
            report.push(format!(
                "{name:20} {what:9} emkern {ours:9.4}  scikit-learn {theirs:9.4}  tolerance ±{tol:.4}{}",
                if ok { "" } else { "  FAILED" }
            ));
            if !ok {
                failures.push(format!("{name}: {what}"));
            }
        };
        match task {
            Task::Classification => {
                let acc_tol = if single { 2.0 / n_test } else { 0.03 };
                check("accuracy", sum.accuracy / n, sk("accuracy"), acc_tol);
                if !single {
                    let theirs = sk("log_loss");
                    check("log-loss", sum.log_loss / n, theirs, 0.05 + 0.25 * theirs);
                }
            }
            Task::Regression => {
                let rel = if single { 0.05 } else { 0.10 };
                check("RMSE", sum.rmse / n, sk("rmse"), rel * sk("rmse"));
                check("MAE", sum.mae / n, sk("mae"), rel * sk("mae"));
                check("R²", sum.r2 / n, sk("r2"), 0.05);
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        report.join("\n")
    );
}

// ----------------------------------------------------------------------------------------------------------------
// Forests: determinism, out-of-bag score, categorical splits
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn forests_do_not_depend_on_the_thread_count() {
    let train = load("breast_cancer", "train");
    for kind in [ForestKind::RandomForest, ForestKind::ExtraTrees] {
        let mut p = ForestParams::new(kind, Task::Classification);
        p.n_estimators = 24;
        p.seed = 11;
        p.threads = Some(1);
        let one = Forest::train(&train, &p, &|_| {}).unwrap();
        p.threads = Some(2);
        let two = Forest::train(&train, &p, &|_| {}).unwrap();
        p.threads = Some(5);
        let five = Forest::train(&train, &p, &|_| {}).unwrap();
        assert_eq!(one, two, "{kind:?}: 1 vs 2 threads");
        assert_eq!(one, five, "{kind:?}: 1 vs 5 threads");
        p.seed = 12;
        let other = Forest::train(&train, &p, &|_| {}).unwrap();
        assert_ne!(one, other, "{kind:?}: another seed gives another forest");
    }
}

#[test]
fn out_of_bag_scores_are_sane() {
    let train = load("breast_cancer", "train");
    let test = load_like("breast_cancer", "test", &train.schema);
    let mut p = ForestParams::new(ForestKind::RandomForest, Task::Classification);
    p.oob_score = true;
    let f = Forest::train(&train, &p, &|_| {}).unwrap();
    let oob = f.oob.clone().unwrap();
    assert_eq!(
        oob.rows, train.n_rows,
        "100 trees leave every row out of some bootstrap sample"
    );
    let test_acc = score(&TrainedModel::Forest(f), &test).accuracy;
    assert!(
        (0.9..=1.0).contains(&oob.score),
        "OOB accuracy {}",
        oob.score
    );
    assert!(
        (oob.score - test_acc).abs() < 0.05,
        "OOB {} vs test {test_acc}",
        oob.score
    );

    let train = load("diabetes", "train");
    let mut p = ForestParams::new(ForestKind::RandomForest, Task::Regression);
    p.oob_score = true;
    p.n_estimators = 60;
    let f = Forest::train(&train, &p, &|_| {}).unwrap();
    let oob = f.oob.unwrap();
    assert!((0.25..=0.65).contains(&oob.score), "OOB R² {}", oob.score);

    p.bootstrap = false;
    assert!(
        Forest::train(&train, &p, &|_| {}).is_err(),
        "OOB needs bootstrap samples"
    );
}

#[test]
fn progress_reports_every_tree() {
    let train = load("iris", "train");
    let mut p = ForestParams::new(ForestKind::ExtraTrees, Task::Classification);
    p.n_estimators = 17;
    p.threads = Some(2);
    let calls = std::sync::Mutex::new(Vec::new());
    Forest::train(&train, &p, &|d| calls.lock().unwrap().push(d)).unwrap();
    let mut calls = calls.into_inner().unwrap();
    calls.sort_unstable();
    assert_eq!(calls, (1..=17).collect::<Vec<_>>());
}

/// `n` rows: a noise feature and a categorical feature cycling through `n_categories` codes; the class is a
/// function of the category.
fn categorical_data(
    n: usize,
    n_categories: usize,
    k_classes: usize,
    class_of: impl Fn(u32) -> usize,
) -> Dataset {
    let codes: Vec<f32> = (0..n).map(|i| ((i * 7) % n_categories) as f32).collect();
    let noise: Vec<f32> = (0..n).map(|i| ((i * 37) % 101) as f32 / 101.0).collect();
    let target: Vec<f64> = codes.iter().map(|&c| class_of(c as u32) as f64).collect();
    let schema = Schema {
        feature_names: vec!["noise".into(), "colour".into()],
        kinds: vec![
            FeatureKind::Numeric,
            FeatureKind::Categorical(Categories::Integer),
        ],
        target_name: "y".into(),
        weight_name: None,
        classes: Some((0..k_classes).map(|k| format!("c{k}")).collect()),
    };
    Dataset::from_columns(schema, vec![noise, codes], target, None).unwrap()
}

#[test]
fn categorical_splits_separate_category_sets() {
    // Class 1 for categories {1, 4, 7}: one set split, where thresholds on the codes need several.
    let data = categorical_data(200, 10, 2, |c| usize::from([1, 4, 7].contains(&c)));
    let mut p = TreeParams::new(Task::Classification);
    p.max_depth = Some(1);
    let tree = DecisionTree::train(&data, &p, 0).unwrap();
    let root = tree.nodes[0].split.as_ref().unwrap();
    assert_eq!(root.feature, 1);
    match &root.rule {
        Rule::Categories { set, set_goes_left } => {
            // The set is the lighter side: the three class-1 categories (60 of 200 rows).
            assert_eq!(set, &[1, 4, 7]);
            let members = if *set_goes_left {
                root.left
            } else {
                root.right
            };
            assert_eq!(tree.nodes[members].value, [0.0, 1.0]);
        }
        r => panic!("expected a category split, got {r:?}"),
    }
    let model = TrainedModel::Tree(tree);
    for r in 0..data.n_rows {
        assert_eq!(model.predict_class(&data.row(r)), data.target[r] as usize);
    }
    // Unseen categories, out-of-range codes and missing values reach the same leaves in the core.
    let probes = Dataset::from_columns(
        data.schema.clone(),
        vec![
            vec![0.5; 6],
            vec![99.0, -1.0, 4.5, f32::NAN, 16_777_216.0, 7.0],
        ],
        vec![0.0; 6],
        None,
    )
    .unwrap();
    check_core(&model, &data, &[&probes]);

    // Three classes over category groups: 8 categories (searched exhaustively) and 12 (ordered by the majority
    // class), each separated in two levels.
    let data = categorical_data(240, 12, 3, |c| match c {
        0 | 5 | 9 => 0,
        2 | 3 => 1,
        _ => 2,
    });
    p.max_depth = Some(2);
    let model = TrainedModel::Tree(DecisionTree::train(&data, &p, 0).unwrap());
    for r in 0..data.n_rows {
        assert_eq!(model.predict_class(&data.row(r)), data.target[r] as usize);
    }
    let data = categorical_data(240, 8, 3, |c| match c {
        0 | 5 => 0,
        2 | 3 => 1,
        _ => 2,
    });
    p.max_depth = Some(2);
    let model = TrainedModel::Tree(DecisionTree::train(&data, &p, 0).unwrap());
    for r in 0..data.n_rows {
        assert_eq!(model.predict_class(&data.row(r)), data.target[r] as usize);
    }
    check_core(&model, &data, &[&probes]);

    // Forests over categorical data, both kinds.
    for kind in [ForestKind::RandomForest, ForestKind::ExtraTrees] {
        let mut fp = ForestParams::new(kind, Task::Classification);
        fp.n_estimators = 10;
        fp.tree.max_features = MaxFeatures::All;
        let model = TrainedModel::Forest(Forest::train(&data, &fp, &|_| {}).unwrap());
        check_core(&model, &data, &[&probes]);
    }
}

#[test]
fn class_weights_and_errors() {
    let train = load("iris", "train");
    let w = ClassWeight::from_spec("setosa:2, virginica:0.5")
        .unwrap()
        .per_class(&train)
        .unwrap();
    assert_eq!(w, [2.0, 1.0, 0.5]);
    let b = ClassWeight::Balanced.per_class(&train).unwrap();
    // 35 rows per class of 105: every balanced weight is 105 / (3 · 35) = 1.
    assert_eq!(b, [1.0, 1.0, 1.0]);
    assert!(
        ClassWeight::from_spec("nope:1")
            .unwrap()
            .per_class(&train)
            .is_err()
    );
    assert!(ClassWeight::from_spec("setosa").is_err());
    let mut p = TreeParams::new(Task::Classification);
    p.criterion = Criterion::SquaredError;
    assert!(DecisionTree::train(&train, &p, 0).is_err());
    let mut p = TreeParams::new(Task::Classification);
    p.min_samples_leaf = 0;
    assert!(DecisionTree::train(&train, &p, 0).is_err());
    let mut zero = train.clone();
    zero.weights = Some(vec![0.0; train.n_rows]);
    assert!(DecisionTree::train(&zero, &TreeParams::new(Task::Classification), 0).is_err());
    // Training codes of a categorical feature must be integers in [0, 2^24).
    let schema = categorical_data(20, 4, 2, |c| (c % 2) as usize).schema;
    for bad in [-1.0, 2.5, 16_777_216.0] {
        let codes = vec![1.0, bad, 2.0, 3.0];
        let data = Dataset::from_columns(
            schema.clone(),
            vec![vec![0.0; 4], codes],
            vec![0.0, 1.0, 0.0, 1.0],
            None,
        )
        .unwrap();
        let e = DecisionTree::train(&data, &TreeParams::new(Task::Classification), 0).unwrap_err();
        assert!(e.to_string().contains("not a category code"), "{e}");
    }
}

#[test]
fn cli_train_and_eval() {
    let dir = Scratch::new("train-cli");
    let model = dir.join("iris.emk");
    let exe = env!("CARGO_BIN_EXE_emkern");
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args([
            "train",
            "--algo",
            "rf",
            "--data",
            "data/iris_train.csv",
            "--target",
            "label",
            "--valid",
            "data/iris_test.csv",
            "--n-estimators",
            "20",
            "--oob",
            "--threads",
            "2",
            "--quiet",
            "-o",
        ])
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
        "setosa, versicolor, virginica",
        "20 trees",
        "oob",
        "valid     accuracy",
        "bytes",
    ] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from:\n{stdout}"
        );
    }
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args(["eval", "--model"])
        .arg(&model)
        .args([
            "--data",
            "data/iris_test.csv",
            "--target",
            "label",
            "--classes",
            "setosa,versicolor,virginica",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("accuracy") && stdout.contains("log-loss"),
        "{stdout}"
    );
    // Without --classes the class names stored in the blob map the string labels: the same scores.
    let with_classes = stdout.to_string();
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args(["eval", "--model"])
        .arg(&model)
        .args(["--data", "data/iris_test.csv", "--target", "label"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), with_classes);
    // --classes that disagree with the stored names are an error.
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args(["eval", "--model"])
        .arg(&model)
        .args([
            "--data",
            "data/iris_test.csv",
            "--target",
            "label",
            "--classes",
            "versicolor,setosa,virginica",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("differ from the class names stored")
            && stderr.contains("setosa, versicolor, virginica"),
        "{stderr}"
    );
    // Regression: CART on diabetes, scored by eval.
    let model = dir.join("diabetes.emk");
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args([
            "train",
            "--algo",
            "cart",
            "--data",
            "data/diabetes_train.csv",
            "--target",
            "target",
            "--max-depth",
            "4",
            "--categorical",
            "sex",
            "-o",
        ])
        .arg(&model)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("regression") && stdout.contains("RMSE"),
        "{stdout}"
    );
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args(["eval", "--model"])
        .arg(&model)
        .args(["--data", "data/diabetes_test.csv", "--target", "target"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("RMSE"), "{stdout}");
    // Forest-only flags are rejected for a single tree; unknown columns are named.
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args([
            "train",
            "--algo",
            "cart",
            "--data",
            "data/iris_train.csv",
            "--target",
            "label",
            "--oob",
            "-o",
        ])
        .arg(dir.join("x.emk"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--oob applies to forests"));
    let out = std::process::Command::new(exe)
        .current_dir(repo())
        .args([
            "train",
            "--algo",
            "rf",
            "--data",
            "data/iris_train.csv",
            "--target",
            "species",
            "-o",
        ])
        .arg(dir.join("x.emk"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("iris_train.csv") && stderr.contains("no target column `species`"),
        "{stderr}"
    );
}

// ----------------------------------------------------------------------------------------------------------------
// Properties of single trees on random data
// ----------------------------------------------------------------------------------------------------------------

/// A random table: `rows × features` values on a coarse grid (so ties happen), some missing; targets from a
/// small set.
fn table(
    max_rows: usize,
    max_features: usize,
    missing: bool,
) -> impl Strategy<Value = (Vec<Vec<f32>>, Vec<u8>)> {
    (2..=max_rows, 1..=max_features).prop_flat_map(move |(rows, features)| {
        let cell = if missing {
            prop_oneof![9 => (0u8..12).prop_map(|v| v as f32 * 0.25), 1 => Just(f32::NAN)].boxed()
        } else {
            (0u8..12).prop_map(|v| v as f32 * 0.25).boxed()
        };
        (
            proptest::collection::vec(proptest::collection::vec(cell, rows), features),
            proptest::collection::vec(0u8..3, rows),
        )
    })
}

/// A dataset of `columns`; with `categorical`, the first column becomes category codes 0..7.
fn dataset(mut columns: Vec<Vec<f32>>, labels: &[u8], task: Task, categorical: bool) -> Dataset {
    let mut kinds = vec![FeatureKind::Numeric; columns.len()];
    if categorical {
        for x in columns[0].iter_mut().filter(|x| !x.is_nan()) {
            *x = (*x * 4.0) % 7.0;
        }
        kinds[0] = FeatureKind::Categorical(Categories::Integer);
    }
    let schema = Schema {
        feature_names: (0..columns.len()).map(|f| format!("f{f}")).collect(),
        kinds,
        target_name: "y".into(),
        weight_name: None,
        classes: (task == Task::Classification).then(|| vec!["a".into(), "b".into(), "c".into()]),
    };
    let target = labels
        .iter()
        .map(|&l| match task {
            Task::Classification => l as f64,
            Task::Regression => l as f64 * 1.5 - 0.25,
        })
        .collect();
    Dataset::from_columns(schema, columns, target, None).unwrap()
}

/// Two trees with the same shape, tests and values (default directions only where training had missing values).
fn same_tree(a: &DecisionTree, b: &DecisionTree) -> Result<(), String> {
    if a.nodes.len() != b.nodes.len() {
        return Err(format!("{} vs {} nodes", a.nodes.len(), b.nodes.len()));
    }
    for (i, (x, y)) in a.nodes.iter().zip(&b.nodes).enumerate() {
        if x.value != y.value || x.weighted_n_samples != y.weighted_n_samples {
            return Err(format!("node {i}: {:?} vs {:?}", x.value, y.value));
        }
        match (&x.split, &y.split) {
            (None, None) => {}
            (Some(s), Some(t)) => {
                let dir_ok =
                    s.missing_left == t.missing_left || !(s.missing_seen || t.missing_seen);
                if s.feature != t.feature
                    || s.rule != t.rule
                    || s.left != t.left
                    || s.right != t.right
                    || !dir_ok
                {
                    return Err(format!("node {i}: {s:?} vs {t:?}"));
                }
            }
            _ => return Err(format!("node {i}: leaf vs split")),
        }
    }
    Ok(())
}

fn criterion_for(k: u8) -> (Criterion, Task) {
    match k % 3 {
        0 => (Criterion::Gini, Task::Classification),
        1 => (Criterion::Entropy, Task::Classification),
        _ => (Criterion::SquaredError, Task::Regression),
    }
}

proptest! {
    #![proptest_config(proptest_config(96))]

    /// Integer sample weights train the same tree as repeating each row that many times (weight 0 = dropped).
    #[test]
    fn weights_equal_duplication(
        (columns, labels) in table(24, 4, true),
        weights in proptest::collection::vec(0u8..4, 24),
        crit in 0u8..3,
        depth in proptest::option::of(1usize..5),
        seed in any::<u32>(),
        random in any::<bool>(),
        categorical in any::<bool>(),
    ) {
        let (criterion, task) = criterion_for(crit);
        let n = labels.len();
        let weights: Vec<f64> = weights[..n].iter().map(|&w| w as f64).collect();
        prop_assume!(weights.iter().any(|&w| w > 0.0));
        let mut weighted = dataset(columns.clone(), &labels, task, categorical);
        let mut dup_cols = vec![Vec::new(); columns.len()];
        let mut dup_labels = Vec::new();
        for r in 0..n {
            for _ in 0..weights[r] as usize {
                for (f, c) in columns.iter().enumerate() {
                    dup_cols[f].push(c[r]);
                }
                dup_labels.push(labels[r]);
            }
        }
        let duplicated = dataset(dup_cols, &dup_labels, task, categorical);
        let mut p = TreeParams::new(task);
        p.criterion = criterion;
        p.max_depth = depth;
        if random {
            p.splitter = SplitStrategy::Random;
        }
        weighted.weights = Some(weights);
        let a = DecisionTree::train(&weighted, &p, seed).unwrap();
        let b = DecisionTree::train(&duplicated, &p, seed).unwrap();
        if let Err(e) = same_tree(&a, &b) {
            return Err(TestCaseError::fail(e));
        }
    }

    /// Leaf-size, depth and split-size constraints hold in every tree, and leaves hold what reaches them.
    #[test]
    fn constraints_hold(
        (columns, labels) in table(60, 4, true),
        crit in 0u8..3,
        min_leaf in 1usize..6,
        min_split in 2usize..12,
        depth in proptest::option::of(1usize..6),
        max_leaves in proptest::option::of(2usize..9),
        seed in any::<u32>(),
        extra in any::<bool>(),
        categorical in any::<bool>(),
    ) {
        let (criterion, task) = criterion_for(crit);
        let data = dataset(columns, &labels, task, categorical);
        let mut p = TreeParams::new(task);
        p.criterion = criterion;
        p.min_samples_leaf = min_leaf;
        p.min_samples_split = min_split;
        p.max_depth = depth;
        p.max_leaf_nodes = max_leaves;
        if extra {
            p.splitter = SplitStrategy::Random;
        }
        let tree = DecisionTree::train(&data, &p, seed).unwrap();
        prop_assert!(depth.is_none_or(|d| tree.depth() <= d));
        prop_assert!(max_leaves.is_none_or(|m| tree.n_leaves() <= m));
        let mut reached = vec![0usize; tree.nodes.len()];
        for r in 0..data.n_rows {
            reached[tree.leaf_index(&data.row(r))] += 1;
        }
        for (i, node) in tree.nodes.iter().enumerate() {
            match &node.split {
                None => {
                    // Every leaf but a root that was never split comes from a split leaving min_leaf rows.
                    prop_assert!(
                        i == 0 || node.n_samples >= min_leaf,
                        "leaf {i} has {} rows",
                        node.n_samples
                    );
                    prop_assert_eq!(reached[i], node.n_samples, "training rows reaching leaf {}", i);
                }
                Some(s) => {
                    prop_assert!(node.n_samples >= min_split.max(2 * min_leaf));
                    prop_assert_eq!(
                        tree.nodes[s.left].n_samples + tree.nodes[s.right].n_samples,
                        node.n_samples
                    );
                }
            }
        }
        let imp = tree.feature_importances();
        let total: f64 = imp.iter().sum();
        // Normalised to 1, unless no split decreased the impurity (a total of 0 up to rounding, left as is).
        prop_assert!((total - 1.0).abs() < 1e-9 || total.abs() < 1e-9, "importances sum to {}", total);
    }

    /// A fully grown tree classifies its training rows perfectly when no two rows share features with different
    /// labels; the core agrees with the trainer.
    #[test]
    fn full_trees_fit_separable_data(
        (columns, labels) in table(40, 3, false),
        seed in any::<u32>(),
        entropy in any::<bool>(),
        categorical in any::<bool>(),
    ) {
        // Rows with equal features get the label of the first of them, so the data is separable.
        let raw = dataset(columns.clone(), &labels, Task::Classification, categorical);
        let mut first = std::collections::HashMap::new();
        let labels: Vec<u8> = labels
            .iter()
            .enumerate()
            .map(|(r, &l)| {
                let key: Vec<u32> = raw.row(r).iter().map(|v| v.to_bits()).collect();
                *first.entry(key).or_insert(l)
            })
            .collect();
        let data = dataset(columns, &labels, Task::Classification, categorical);
        let mut p = TreeParams::new(Task::Classification);
        if entropy {
            p.criterion = Criterion::Entropy;
        }
        let model = TrainedModel::Tree(DecisionTree::train(&data, &p, seed).unwrap());
        for (r, &label) in labels.iter().enumerate() {
            prop_assert_eq!(model.predict_class(&data.row(r)), label as usize);
        }
        check_core(&model, &data, &[]);
    }
}
