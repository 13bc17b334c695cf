//! Boosting tests: AdaBoost (SAMME, R2) and gradient boosting against scikit-learn, against their own
//! invariants, and every exportable model against the `no_std` core running its exported blob.
//!
//! Reference data comes from `fixtures/train/generate_boost.py` (scikit-learn 1.9.1 on the bundled splits in
//! `data/`), in `boost_metrics.json`:
//!
//! - `cases`: AdaBoost and gradient-boosting models with fixed parameters and `random_state`. The trainers replay
//!   scikit-learn's random stream and reductions, so we train with the same seed and expect scikit-learn's model:
//!   the same number of rounds, (AdaBoost) estimator weights and (early stopping) validation losses within 1e-9
//!   relative, test predictions (probabilities, decision function, regression values) within 1e-12 relative
//!   (`max(1, |v|)` scale; most cases are bit-identical, the rest differ by a few ulps), and the same test
//!   metrics (within 1e-12). Cases cover every loss, multi-class log-loss, subsampling, feature subsets
//!   (`max_features`), early stopping on scikit-learn's own validation split (same stopping round, same
//!   validation losses, the prefix up to the best round), SAMME with stumps and deeper trees, and AdaBoost.R2
//!   with its three losses.
//! - `poisson`: `HistGradientBoostingRegressor(loss="poisson")` as a quality reference for our Poisson loss
//!   (scikit-learn's `GradientBoostingRegressor` has none): the test Poisson deviance within 15%.
//! - `splits`: `train_test_split` indices; the early-stopping split must equal them.
//!
//! The core checks: each model is exported with `export::blob`, loaded by `emkern::forest::Forest`, and its
//! prediction for every training and test row must equal the trainer's own f64 prediction within 1e-6 relative
//! (`max(1, |v|)` scale; the core returns f32). AdaBoost.R2 (a weighted median: the prediction is one tree's
//! output) is held to more: the core returns the f32 rounding of the trainer's prediction bit for bit on every
//! row, and of scikit-learn's `predict` on every test row.

#[path = "common/proptest_config.rs"]
mod proptest_config;
#[path = "common/scratch.rs"]
mod scratch;
use scratch::Scratch;
use std::path::{Path, PathBuf};

use emkern::forest::Forest as CoreForest;
use emkern_host::export::blob;
use emkern_host::metrics;
use emkern_host::train::boost::Boosted;
use emkern_host::train::boost::adaboost::{AdaBoost, AdaBoostParams, R2Loss, Termination};
use emkern_host::train::boost::gbdt::{EarlyStopping, Gbdt, GbdtParams};
use emkern_host::train::boost::loss::Loss;
use emkern_host::train::boost::split::train_test_split;
use emkern_host::train::cart::MaxFeatures;
use emkern_host::train::dataset::{Categories, Dataset, DatasetSpec, FeatureKind, Schema, Task};
use proptest::prelude::*;
use proptest_config::proptest_config;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(name: &str, split: &str) -> Dataset {
    let (target, task) = if name == "diabetes" {
        ("target", Task::Regression)
    } else {
        ("label", Task::Classification)
    };
    Dataset::from_csv(
        &repo().join(format!("data/{name}_{split}.csv")),
        &DatasetSpec {
            target: target.into(),
            task: Some(task),
            ..DatasetSpec::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn load_like(name: &str, split: &str, schema: &Schema) -> Dataset {
    Dataset::from_csv_like(&repo().join(format!("data/{name}_{split}.csv")), schema)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/train/boost_metrics.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file")).expect("JSON")
}

/// `|a − b| / max(1, |b|)`.
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

/// Exports `model`, loads the blob in the core, and returns the largest relative difference between the core's
/// and the trainer's predictions over every row of `datasets`.
fn core_difference(model: &Boosted, train: &Dataset, datasets: &[&Dataset]) -> f64 {
    let ensemble = model
        .to_ensemble(Some(train.schema.feature_names.clone()), "test")
        .expect("exportable");
    let bytes = blob::write(&ensemble).expect("export");
    let core = CoreForest::new(&bytes).expect("the blob loads");
    let mut out = vec![0.0f32; core.output_len()];
    let mut worst = 0.0f64;
    for data in datasets {
        for r in 0..data.n_rows {
            let row = data.row(r);
            core.predict(&row, &mut out).unwrap();
            let want = model.predict_row(&row);
            assert_eq!(out.len(), want.len());
            for (&got, &w) in out.iter().zip(&want) {
                worst = worst.max(rel(got as f64, w));
            }
        }
    }
    worst
}

// ----------------------------------------------------------------------------------------------------------------
// Agreement with scikit-learn
// ----------------------------------------------------------------------------------------------------------------

fn gbdt_params(case: &Value, task: Task) -> GbdtParams {
    let mut p = GbdtParams::new(task);
    p.seed = case["random_state"].as_u64().unwrap() as u32;
    let params = case["params"].as_object().unwrap();
    let alpha = params.get("alpha").and_then(Value::as_f64).unwrap_or(0.9);
    let mut es: Option<EarlyStopping> = None;
    for (k, v) in params {
        match k.as_str() {
            "loss" => p.loss = Loss::from_name(v.as_str().unwrap(), alpha).unwrap(),
            "alpha" => {}
            "n_estimators" => p.n_estimators = v.as_u64().unwrap() as usize,
            "learning_rate" => p.learning_rate = v.as_f64().unwrap(),
            "max_depth" => p.tree.max_depth = Some(v.as_u64().unwrap() as usize),
            "min_samples_leaf" => p.tree.min_samples_leaf = v.as_u64().unwrap() as usize,
            "subsample" => p.subsample = v.as_f64().unwrap(),
            "max_features" => p.tree.max_features = MaxFeatures::Fraction(v.as_f64().unwrap()),
            "n_iter_no_change" => {
                es.get_or_insert(EarlyStopping::new(0)).n_iter_no_change =
                    v.as_u64().unwrap() as usize
            }
            "validation_fraction" => {
                es.get_or_insert(EarlyStopping::new(0)).validation_fraction = v.as_f64().unwrap()
            }
            other => panic!("parameter {other} not mapped"),
        }
    }
    p.early_stopping = es;
    p
}

fn adaboost_params(case: &Value, task: Task) -> AdaBoostParams {
    let mut p = AdaBoostParams::new(task);
    p.seed = case["random_state"].as_u64().unwrap() as u32;
    for (k, v) in case["params"].as_object().unwrap() {
        match k.as_str() {
            "n_estimators" => p.n_estimators = v.as_u64().unwrap() as usize,
            "learning_rate" => p.learning_rate = v.as_f64().unwrap(),
            "loss" => p.loss = R2Loss::from_name(v.as_str().unwrap()).unwrap(),
            other => panic!("parameter {other} not mapped"),
        }
    }
    for (k, v) in case["tree"].as_object().unwrap() {
        match k.as_str() {
            "max_depth" => p.tree.max_depth = Some(v.as_u64().unwrap() as usize),
            other => panic!("tree parameter {other} not mapped"),
        }
    }
    p
}

/// Test metrics of our predictions, keyed as in the fixture.
fn test_metrics(model: &Boosted, test: &Dataset) -> Vec<(&'static str, f64)> {
    if test.task() == Task::Classification {
        let proba: Vec<Vec<f64>> = (0..test.n_rows)
            .map(|r| model.predict_proba(&test.row(r)))
            .collect();
        let m = metrics::classification(&test.class_indices(), &proba);
        let mut v = vec![("accuracy", m.accuracy), ("log_loss", m.log_loss)];
        if let Some(a) = m.auc {
            v.push(("auc", a));
        }
        v
    } else {
        let p: Vec<f64> = (0..test.n_rows)
            .map(|r| model.predict_row(&test.row(r))[0])
            .collect();
        let m = metrics::regression(&test.target, &p);
        vec![("rmse", m.rmse), ("mae", m.mae), ("r2", m.r2)]
    }
}

#[test]
fn boosting_matches_scikit_learn() {
    let doc = fixture();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let data_name = case["data"].as_str().unwrap();
        let train = load(data_name, "train");
        let test = load_like(data_name, "test", &train.schema);
        let task = train.task();
        let estimator = case["estimator"].as_str().unwrap();
        let model = if estimator.starts_with("Gradient") {
            let p = gbdt_params(case, task);
            let g = Gbdt::train(&train, &p, None, &mut |_| {})
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if g.rounds_trained != case["rounds"].as_u64().unwrap() as usize {
                failures.push(format!(
                    "{name}: {} rounds trained, scikit-learn {}",
                    g.rounds_trained, case["rounds"]
                ));
            }
            if let Some(losses) = case["valid_loss"].as_array() {
                for (i, (ours, want)) in g.valid_loss.iter().zip(losses).enumerate() {
                    let want = want.as_f64().unwrap();
                    if rel(*ours, want) > 1e-9 {
                        failures.push(format!(
                            "{name}: validation loss of round {}: {ours}, scikit-learn {want}",
                            i + 1
                        ));
                        break;
                    }
                }
                let best = case["best_round"].as_u64().unwrap() as usize;
                if g.stages.len() != best {
                    failures.push(format!(
                        "{name}: kept {} rounds, best round {best}",
                        g.stages.len()
                    ));
                }
            }
            Boosted::Gbdt(g)
        } else {
            let p = adaboost_params(case, task);
            let a =
                AdaBoost::train(&train, &p, &mut |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
            let want: Vec<f64> = case["estimator_weights"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            if a.weights.len() != want.len()
                || a.weights.iter().zip(&want).any(|(a, b)| rel(*a, *b) > 1e-9)
            {
                failures.push(format!(
                    "{name}: estimator weights {:?}, scikit-learn {want:?}",
                    a.weights
                ));
            }
            Boosted::AdaBoost(a)
        };
        // Predictions on the test split.
        let mut worst = 0.0f64;
        for r in 0..test.n_rows {
            let row = test.row(r);
            let (ours, want): (Vec<f64>, Vec<f64>) = if task == Task::Classification {
                let want = &case["predict_proba"][r];
                let dec = match &model {
                    Boosted::Gbdt(g) => g.decision_function(&row),
                    Boosted::AdaBoost(a) => a.decision_function(&row),
                };
                let want_dec: Vec<f64> = match &case["decision_function"][r] {
                    Value::Array(a) => a.iter().map(|v| v.as_f64().unwrap()).collect(),
                    v => vec![v.as_f64().unwrap()],
                };
                let mut ours = model.predict_proba(&row);
                ours.extend(dec);
                let mut w: Vec<f64> = want
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                w.extend(want_dec);
                (ours, w)
            } else {
                (
                    model.predict_row(&row),
                    vec![case["predict"][r].as_f64().unwrap()],
                )
            };
            assert_eq!(ours.len(), want.len(), "{name}");
            for (a, b) in ours.iter().zip(&want) {
                worst = worst.max(rel(*a, *b));
            }
        }
        if worst > 1e-12 {
            failures.push(format!(
                "{name}: test predictions differ by up to {worst:.2e} (relative)"
            ));
        }
        let mut line = format!("{name:36} max rel diff {worst:.1e}");
        for (k, ours) in test_metrics(&model, &test) {
            let want = case["metrics"][k].as_f64().unwrap();
            line += &format!("  {k} {ours:.4} (sklearn {want:.4})");
            if rel(ours, want) > 1e-12 {
                failures.push(format!("{name}: test {k} {ours}, scikit-learn {want}"));
            }
        }
        // The exported blob reproduces the trainer (and AdaBoost.R2 scikit-learn's own predictions).
        let d = core_difference(&model, &train, &[&train, &test]);
        assert!(d <= 1e-6, "{name}: core and trainer differ by {d:e}");
        line += &format!("  core {d:.0e}");
        if let Boosted::AdaBoost(a) = &model
            && a.n_classes == 0
        {
            let core = r2_core(a, &train);
            let core = CoreForest::new(&core).unwrap();
            assert_r2_core_selects(&core, a, &[&train, &test], name);
            let mut out = [0.0f32];
            for r in 0..test.n_rows {
                core.predict(&test.row(r), &mut out).unwrap();
                let sk = case["predict"][r].as_f64().unwrap();
                assert_eq!(
                    out[0].to_bits(),
                    (sk as f32).to_bits(),
                    "{name}: test row {r}: core {}, scikit-learn {sk}",
                    out[0]
                );
            }
            line += ", = scikit-learn's f32";
        }
        report.push(line);
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn early_stopping_split_is_scikit_learns() {
    for s in fixture()["splits"].as_array().unwrap() {
        let data = load(s["data"].as_str().unwrap(), "train");
        let stratified = s["stratified"].as_bool().unwrap();
        let (train, valid) = train_test_split(
            data.n_rows,
            s["validation_fraction"].as_f64().unwrap(),
            s["seed"].as_u64().unwrap() as u32,
            stratified.then_some(&data.target[..]),
        )
        .unwrap();
        let idx = |v: &Value| -> Vec<usize> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as usize)
                .collect()
        };
        assert_eq!(train, idx(&s["train"]), "{s}");
        assert_eq!(valid, idx(&s["valid"]), "{s}");
    }
    let e = train_test_split(
        10,
        0.5,
        0,
        Some(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("at least 2 rows of every class"),
        "{e}"
    );
}

#[test]
fn poisson_matches_hist_gradient_boosting_quality() {
    let doc = fixture();
    let reference = doc["poisson"]["mean"]["poisson_deviance"].as_f64().unwrap();
    let train = load("diabetes", "train");
    let test = load_like("diabetes", "test", &train.schema);
    let mut p = GbdtParams::new(Task::Regression);
    p.loss = Loss::Poisson;
    let g = Gbdt::train(&train, &p, Some(&test), &mut |_| {}).unwrap();
    // Mean Poisson deviance on the test split (as sklearn.metrics.mean_poisson_deviance).
    let mut dev = 0.0;
    for r in 0..test.n_rows {
        let mu = g.predict_row(&test.row(r))[0];
        assert!(mu > 0.0);
        let y = test.target[r];
        let ylogy = if y > 0.0 { y * (y / mu).ln() } else { 0.0 };
        dev += 2.0 * (ylogy - y + mu);
    }
    dev /= test.n_rows as f64;
    println!("test Poisson deviance {dev:.4}, HistGradientBoostingRegressor {reference:.4}");
    assert!(
        (dev - reference).abs() <= 0.15 * reference,
        "Poisson deviance {dev:.4}, HistGradientBoosting {reference:.4}"
    );
    // The reported validation loss is the same deviance.
    assert!(rel(*g.valid_loss.last().unwrap(), dev) < 1e-9);
    let model = Boosted::Gbdt(g);
    assert!(core_difference(&model, &train, &[&train, &test]) <= 1e-6);
}

/// The blob of an AdaBoost.R2 model (version 3, a weighted median).
fn r2_core(a: &AdaBoost, train: &Dataset) -> Vec<u8> {
    let e = a
        .to_ensemble(Some(train.schema.feature_names.clone()), "test")
        .expect("AdaBoost.R2 exports");
    let bytes = blob::write(&e).expect("export");
    assert_eq!(
        u16::from_le_bytes([bytes[4], bytes[5]]),
        3,
        "format version 3"
    );
    bytes
}

/// The core selects the trainer's tree on every row: its output is the trainer's weighted median rounded to f32,
/// bit for bit.
fn assert_r2_core_selects(core: &CoreForest, a: &AdaBoost, datasets: &[&Dataset], name: &str) {
    let mut out = [0.0f32];
    for data in datasets {
        for r in 0..data.n_rows {
            let row = data.row(r);
            core.predict(&row, &mut out).unwrap();
            let want = a.predict_median(&row);
            assert_eq!(
                out[0].to_bits(),
                (want as f32).to_bits(),
                "{name}: row {r}: core {}, trainer {want}",
                out[0]
            );
        }
    }
}

/// AdaBoost.R2 exports as a weighted median: every loss, with the default 50 trees (one pass over the trees per
/// row, so the worst case is the sum of the depths) and with more trees than the core sorts at once
/// (several passes, counted in the worst case).
#[test]
fn adaboost_r2_exports_its_weighted_median() {
    let train = load("diabetes", "train");
    let test = load_like("diabetes", "test", &train.schema);
    for (loss, n_estimators) in [
        (R2Loss::Linear, 50),
        (R2Loss::Square, 150),
        (R2Loss::Exponential, 80),
    ] {
        let mut p = AdaBoostParams::new(Task::Regression);
        p.loss = loss;
        p.n_estimators = n_estimators;
        p.seed = 3;
        let a = AdaBoost::train(&train, &p, &mut |_| {}).unwrap();
        let bytes = r2_core(&a, &train);
        let core = CoreForest::new(&bytes).unwrap();
        assert_eq!(core.aggregate(), emkern::forest::Aggregate::WeightedMedian);
        let depths: u64 = a.trees.iter().map(|t| t.depth() as u64).sum();
        let t = a.trees.len();
        let chunk = emkern::forest::format::MEDIAN_CHUNK;
        let passes = if t <= chunk {
            1
        } else {
            2 * t.div_ceil(chunk) as u64
        };
        assert_eq!(core.worst_case_visits(), depths * passes, "{loss:?}");
        assert_r2_core_selects(&core, &a, &[&train, &test], loss.name());
        // Batches take the same path.
        let nf = train.n_features();
        let rows: Vec<f32> = (0..test.n_rows).flat_map(|r| test.row(r)).collect();
        let mut batch = vec![0.0f32; test.n_rows];
        core.predict_batch(&rows, nf, test.n_rows, &mut batch, false)
            .unwrap();
        for (r, b) in batch.iter().enumerate() {
            assert_eq!(*b, a.predict_median(&test.row(r)) as f32);
        }
    }
    // XGBoost has no median: its JSON export refuses, naming the reason.
    let a = AdaBoost::train(&train, &AdaBoostParams::new(Task::Regression), &mut |_| {}).unwrap();
    let e = a.to_ensemble(None, "x").unwrap();
    let err = emkern_host::export::xgboost_json::to_xgboost_semantics(&e)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("weighted median") && err.contains("XGBoost only sums trees"),
        "{err}"
    );
}

// ----------------------------------------------------------------------------------------------------------------
// Invariants
// ----------------------------------------------------------------------------------------------------------------

/// A random regression or classification table (coarse grid, so ties happen).
fn random_data(
    rows: usize,
    columns: Vec<Vec<f32>>,
    targets: Vec<f64>,
    classes: Option<usize>,
) -> Dataset {
    let nf = columns.len();
    let schema = Schema {
        feature_names: (0..nf).map(|f| format!("f{f}")).collect(),
        kinds: vec![FeatureKind::Numeric; nf],
        target_name: "y".into(),
        weight_name: None,
        classes: classes.map(|k| (0..k).map(|c| c.to_string()).collect()),
    };
    assert_eq!(targets.len(), rows);
    Dataset::from_columns(schema, columns, targets, None).unwrap()
}

fn grid_table(
    max_rows: usize,
    max_features: usize,
) -> impl Strategy<Value = (usize, Vec<Vec<f32>>)> {
    (8..=max_rows, 1..=max_features).prop_flat_map(|(rows, features)| {
        (
            Just(rows),
            proptest::collection::vec(
                proptest::collection::vec((0u8..16).prop_map(|v| v as f32 * 0.5), rows),
                features,
            ),
        )
    })
}

proptest! {
    #![proptest_config(proptest_config(24))]

    /// Squared error: every round fits leaf means of the residuals, so with a learning rate in (0, 1] the training
    /// loss never increases.
    #[test]
    fn squared_error_training_loss_never_increases(
        (rows, columns) in grid_table(60, 4),
        seed in 0u32..1000,
        lr in 0.05f64..1.0,
        depth in 1usize..4,
    ) {
        let targets: Vec<f64> = (0..rows)
            .map(|r| columns.iter().map(|c| c[r] as f64).sum::<f64>().sin() * 10.0 + (r % 3) as f64)
            .collect();
        let data = random_data(rows, columns, targets, None);
        let mut p = GbdtParams::new(Task::Regression);
        p.n_estimators = 30;
        p.learning_rate = lr;
        p.tree.max_depth = Some(depth);
        p.seed = seed;
        let g = Gbdt::train(&data, &p, None, &mut |_| {}).unwrap();
        for w in g.train_loss.windows(2) {
            prop_assert!(w[1] <= w[0] * (1.0 + 1e-12) + 1e-12, "{:?}", g.train_loss);
        }
    }

    /// A vanishing learning rate keeps every prediction at the prior (the mean, the class frequencies).
    #[test]
    fn tiny_learning_rate_keeps_the_prior(
        (rows, columns) in grid_table(40, 3),
        labels in proptest::collection::vec(0u8..3, 40),
    ) {
        let targets: Vec<f64> = labels[..rows].iter().map(|&l| l as f64).collect();
        prop_assume!([0.0, 1.0, 2.0].iter().all(|c| targets.contains(c)));
        let data = random_data(rows, columns.clone(), targets.clone(), Some(3));
        let mut p = GbdtParams::new(Task::Classification);
        p.n_estimators = 20;
        p.learning_rate = 1e-12;
        let g = Gbdt::train(&data, &p, None, &mut |_| {}).unwrap();
        let freq: Vec<f64> = (0..3)
            .map(|c| targets.iter().filter(|&&t| t == c as f64).count() as f64 / rows as f64)
            .collect();
        for r in 0..rows {
            let proba = g.predict_proba(&data.row(r));
            for (a, b) in proba.iter().zip(&freq) {
                prop_assert!((a - b).abs() < 1e-9, "{proba:?} vs {freq:?}");
            }
        }
        let regression = random_data(rows, columns, targets.clone(), None);
        let mut p = GbdtParams::new(Task::Regression);
        p.learning_rate = 1e-12;
        p.n_estimators = 20;
        let g = Gbdt::train(&regression, &p, None, &mut |_| {}).unwrap();
        let mean = targets.iter().sum::<f64>() / rows as f64;
        prop_assert!((g.predict_row(&regression.row(0))[0] - mean).abs() < 1e-9);
    }

    /// Integer sample weights act as repeated rows (squared error and Poisson; distinct feature values and
    /// continuous targets, so that no two candidate splits tie and rounding cannot pick a different one).
    #[test]
    fn integer_weights_equal_repeated_rows(
        rows in 10usize..40,
        seed in 0u64..u64::MAX,
        weights in proptest::collection::vec(1u8..4, 40),
    ) {
        let mut g = emkern_host::train::rng::SplitMix64::new(seed);
        let columns: Vec<Vec<f32>> = (0..3)
            .map(|_| (0..rows).map(|_| (g.next_f64() * 1000.0) as f32).collect())
            .collect();
        let targets: Vec<f64> = (0..rows).map(|_| 1.0 + g.next_f64() * 50.0).collect();
        let weights: Vec<f64> = weights[..rows].iter().map(|&w| w as f64).collect();
        let mut weighted = random_data(rows, columns.clone(), targets.clone(), None);
        weighted.weights = Some(weights.clone());
        let repeated_rows: Vec<usize> =
            (0..rows).flat_map(|r| std::iter::repeat_n(r, weights[r] as usize)).collect();
        let repeated = random_data(
            repeated_rows.len(),
            columns.iter().map(|c| repeated_rows.iter().map(|&r| c[r]).collect()).collect(),
            repeated_rows.iter().map(|&r| targets[r]).collect(),
            None,
        );
        for loss in [Loss::SquaredError, Loss::Poisson] {
            let mut p = GbdtParams::new(Task::Regression);
            p.loss = loss;
            p.n_estimators = 10;
            let a = Gbdt::train(&weighted, &p, None, &mut |_| {}).unwrap();
            let b = Gbdt::train(&repeated, &p, None, &mut |_| {}).unwrap();
            for r in 0..rows {
                let row = weighted.row(r);
                let (x, y) = (a.decision_function(&row)[0], b.decision_function(&row)[0]);
                prop_assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{loss:?}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn models_depend_only_on_the_seed() {
    let train = load("iris", "train");
    let mut p = GbdtParams::new(Task::Classification);
    p.n_estimators = 25;
    p.subsample = 0.7;
    p.seed = 11;
    let runs: Vec<Gbdt> = [Some(1), Some(2), Some(3), None]
        .into_iter()
        .map(|t| {
            let mut p = p.clone();
            p.threads = t;
            Gbdt::train(&train, &p, None, &mut |_| {}).unwrap()
        })
        .collect();
    for r in &runs[1..] {
        assert_eq!(r, &runs[0], "the thread count changed the model");
    }
    p.seed = 12;
    let other = Gbdt::train(&train, &p, None, &mut |_| {}).unwrap();
    assert_ne!(other, runs[0], "the seed drives the subsample");
    // Without subsampling and with every feature, repeated training is identical.
    let diabetes = load("diabetes", "train");
    let p = GbdtParams::new(Task::Regression);
    let a = Gbdt::train(&diabetes, &p, None, &mut |_| {}).unwrap();
    let b = Gbdt::train(&diabetes, &p, None, &mut |_| {}).unwrap();
    assert_eq!(a, b);
}

#[test]
fn progress_reports_every_round_and_early_stopping_keeps_the_best() {
    let train = load("breast_cancer", "train");
    let valid = load_like("breast_cancer", "test", &train.schema);
    let mut p = GbdtParams::new(Task::Classification);
    p.n_estimators = 500;
    p.learning_rate = 0.5;
    p.early_stopping = Some(EarlyStopping::new(3));
    let mut seen = Vec::new();
    let g = Gbdt::train(&train, &p, Some(&valid), &mut |r| {
        seen.push((r.round, r.valid_loss.is_some()));
    })
    .unwrap();
    assert!(g.rounds_trained < 500, "early stopping never triggered");
    assert_eq!(seen.len(), g.rounds_trained);
    assert!(seen.iter().enumerate().all(|(i, &(r, v))| r == i + 1 && v));
    let best = g.stages.len() - 1;
    let min = g.valid_loss.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(g.valid_loss[best], min);
    assert!(
        g.valid_loss[..best].iter().all(|&v| v > min),
        "the first best round is kept"
    );
    // The kept model's validation loss is the reported one.
    let mut loss = 0.0;
    for r in 0..valid.n_rows {
        let p1 = g.predict_row(&valid.row(r))[0];
        let y = valid.target[r];
        loss -= 2.0 * (y * p1.ln() + (1.0 - y) * (1.0 - p1).ln());
    }
    assert!(rel(loss / valid.n_rows as f64, min) < 1e-9);
    // AdaBoost reports each round too.
    let mut rounds = 0;
    let a = AdaBoost::train(
        &train,
        &AdaBoostParams::new(Task::Classification),
        &mut |r| {
            rounds = r.round;
            assert!(r.error < 0.5);
        },
    )
    .unwrap();
    assert_eq!(rounds, a.trees.len());
}

#[test]
fn adaboost_invariants_and_early_termination() {
    // Separable by one stump: the first tree is perfect and boosting stops with weight 1.
    let columns = vec![(0..20).map(|i| i as f32).collect::<Vec<f32>>()];
    let labels: Vec<f64> = (0..20).map(|i| if i < 10 { 0.0 } else { 1.0 }).collect();
    let data = random_data(20, columns, labels, Some(2));
    let a = AdaBoost::train(
        &data,
        &AdaBoostParams::new(Task::Classification),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(a.termination, Termination::Perfect);
    assert_eq!((a.trees.len(), a.weights.as_slice()), (1, &[1.0][..]));
    for r in 0..20 {
        let p = a.predict_proba(&data.row(r));
        assert_eq!(p[1] > 0.5, r >= 10);
    }
    // A feature that carries no information: the first stump is no better than chance.
    let columns = vec![vec![1.0f32; 8]];
    let labels = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    let data = random_data(8, columns, labels, Some(2));
    let e = AdaBoost::train(
        &data,
        &AdaBoostParams::new(Task::Classification),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("no better than chance"), "{e}");
    // AdaBoost.R2 on targets no stump can fit: the first tree's error is ≥ ½ and scikit-learn keeps it alone
    // with weight 0; the exported weighted median (all weights 0) predicts with it.
    let columns = vec![(0..16).map(|i| i as f32).collect::<Vec<f32>>()];
    let targets: Vec<f64> = (0..16)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let data = random_data(16, columns, targets, None);
    let mut p = AdaBoostParams::new(Task::Regression);
    p.tree.max_depth = Some(1);
    let a = AdaBoost::train(&data, &p, &mut |_| {}).unwrap();
    assert_eq!(a.termination, Termination::NoBetterThanChance);
    assert_eq!(a.weights, [0.0]);
    let e = a.to_ensemble(None, "t").unwrap();
    let bytes = blob::write(&e).unwrap();
    let core = CoreForest::new(&bytes).unwrap();
    let mut out = [0.0f32];
    for r in 0..16 {
        let row = data.row(r);
        core.predict(&row, &mut out).unwrap();
        assert_eq!(out[0], a.trees[0].predict_row(&row)[0] as f32);
    }
    // Multi-class SAMME: weights positive, errors below 1 − 1/K, probabilities sum to 1.
    let train = load("wine", "train");
    let a = AdaBoost::train(
        &train,
        &AdaBoostParams::new(Task::Classification),
        &mut |_| {},
    )
    .unwrap();
    assert!(a.weights.iter().all(|&w| w > 0.0));
    assert!(a.errors.iter().all(|&e| e > 0.0 && e < 2.0 / 3.0));
    let p = a.predict_proba(&train.row(0));
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn parameters_are_checked() {
    let iris = load("iris", "train");
    let diabetes = load("diabetes", "train");
    let err = |d: &Dataset, f: &dyn Fn(&mut GbdtParams)| {
        let mut p = GbdtParams::new(d.task());
        f(&mut p);
        Gbdt::train(d, &p, None, &mut |_| {})
            .unwrap_err()
            .to_string()
    };
    assert!(err(&iris, &|p| p.loss = Loss::SquaredError).contains("use log_loss"));
    assert!(err(&diabetes, &|p| p.loss = Loss::LogLoss).contains("regression target"));
    assert!(err(&diabetes, &|p| p.subsample = 0.0).contains("subsample"));
    assert!(err(&diabetes, &|p| p.learning_rate = -1.0).contains("learning_rate"));
    assert!(err(&diabetes, &|p| p.loss = Loss::Huber { alpha: 1.0 }).contains("alpha"));
    let mut negative = diabetes.clone();
    negative.target[3] = -1.0;
    assert!(err(&negative, &|p| p.loss = Loss::Poisson).contains("non-negative"));
    let mut categorical = iris.clone();
    categorical.schema.kinds[0] = FeatureKind::Categorical(Categories::Integer);
    let e = Gbdt::train(
        &categorical,
        &GbdtParams::new(Task::Classification),
        None,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("category code"), "{e}");
}

// ----------------------------------------------------------------------------------------------------------------
// Command line
// ----------------------------------------------------------------------------------------------------------------

fn emkern(args: &[&str], output: &Path) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
        .current_dir(repo())
        .args(args)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_trains_boosted_models() {
    let dir = Scratch::new("boost-cli");
    let iris = [
        "--data",
        "data/iris_train.csv",
        "--target",
        "label",
        "--valid",
        "data/iris_test.csv",
        "--quiet",
    ];
    let diabetes = [
        "--data",
        "data/diabetes_train.csv",
        "--target",
        "target",
        "--quiet",
    ];
    let with = |base: &[&'static str], extra: &[&'static str]| -> Vec<&'static str> {
        [&["train"][..], extra, base].concat()
    };

    let (ok, out, err) = emkern(
        &with(
            &iris,
            &["--algo", "gbdt", "--n-estimators", "30", "--max-depth", "2"],
        ),
        &dir.join("gb.emk"),
    );
    assert!(ok, "{out}\n{err}");
    for needle in [
        "gradient boosting",
        "30 rounds × 3 trees",
        "valid     accuracy",
        "bytes",
    ] {
        assert!(out.contains(needle), "`{needle}` missing from:\n{out}");
    }
    // The blob scores the same through eval.
    let eval = std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
        .current_dir(repo())
        .args(["eval", "--model"])
        .arg(dir.join("gb.emk"))
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
    assert!(eval.status.success() && String::from_utf8_lossy(&eval.stdout).contains("accuracy"));

    let (ok, out, err) = emkern(
        &with(&iris, &["--algo", "adaboost", "--learning-rate", "0.5"]),
        &dir.join("ada.emk"),
    );
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("AdaBoost") && out.contains("depth ≤ 1"),
        "{out}"
    );

    let (ok, out, err) = emkern(
        &with(
            &diabetes,
            &[
                "--algo",
                "gbdt",
                "--loss",
                "huber",
                "--alpha",
                "0.8",
                "--subsample",
                "0.8",
                "--n-iter-no-change",
                "5",
                "--validation-fraction",
                "0.2",
                "--seed",
                "3",
            ],
        ),
        &dir.join("huber.emk"),
    );
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("stopping")
            && out.contains("20% of the training rows")
            && out.contains("RMSE"),
        "{out}"
    );

    let (ok, out, err) = emkern(
        &with(&diabetes, &["--algo", "gbdt", "--loss", "poisson"]),
        &dir.join("poisson.emk"),
    );
    assert!(ok, "{out}\n{err}");

    // AdaBoost.R2 exports its weighted median: the blob and its Rust and C sources; eval, predict and inspect
    // read the blob.
    let r2 = dir.join("r2.emk");
    let (rs, h) = (dir.join("r2.rs"), dir.join("r2.h"));
    let mut args = with(&diabetes, &["--algo", "adaboost", "--loss", "square"]);
    let (rs_arg, h_arg) = (rs.to_str().unwrap(), h.to_str().unwrap());
    args.extend(["--rust", rs_arg, "--c-header", h_arg]);
    let (ok, out, err) = emkern(&args, &r2);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("AdaBoost") && out.contains("core      max") && !out.contains("(trainer)"),
        "{out}"
    );
    let blob = std::fs::read(&r2).unwrap();
    let core = CoreForest::new(&blob).unwrap();
    assert_eq!(core.aggregate(), emkern::forest::Aggregate::WeightedMedian);
    assert!(
        std::fs::read_to_string(&rs)
            .unwrap()
            .contains(&blob.len().to_string())
    );
    assert!(
        std::fs::read_to_string(&h)
            .unwrap()
            .contains(&blob.len().to_string())
    );
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
            .current_dir(repo())
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let r2_path = r2.to_str().unwrap();
    let eval = run(&[
        "eval",
        "--model",
        r2_path,
        "--data",
        "data/diabetes_test.csv",
        "--target",
        "target",
    ]);
    assert!(eval.contains("RMSE") && eval.contains("R²"), "{eval}");
    let inspect = run(&["inspect", r2_path]);
    assert!(
        inspect.contains("weighted median of the tree outputs")
            && inspect.contains(&format!("{} node visits", core.worst_case_visits())),
        "{inspect}"
    );
    let predicted = run(&[
        "predict",
        "--model",
        r2_path,
        "--input",
        "data/diabetes_test.csv",
    ]);
    let test = load("diabetes", "test");
    let mut one = [0.0f32];
    for (r, line) in predicted.lines().enumerate() {
        core.predict(&test.row(r), &mut one).unwrap();
        assert_eq!(line.parse::<f32>().unwrap(), one[0], "row {r}");
    }
    assert_eq!(predicted.lines().count(), test.n_rows);
    // XGBoost JSON has no median: refused before training, clearly.
    let json = dir.join("r2.json");
    let mut args = with(&diabetes, &["--algo", "adaboost"]);
    args.extend(["--xgboost-json", json.to_str().unwrap()]);
    let (ok, _, err) = emkern(&args, &dir.join("r2b.emk"));
    assert!(
        !ok && err.contains("--xgboost-json: AdaBoost.R2 predicts the weighted median"),
        "{err}"
    );
    assert!(!json.exists() && !dir.join("r2b.emk").exists());

    // Flags that do not apply are rejected.
    for (args, message) in [
        (
            &["--algo", "rf", "--learning-rate", "0.1"][..],
            "--learning-rate applies to boosting",
        ),
        (
            &["--algo", "adaboost", "--subsample", "0.5"][..],
            "--subsample does not apply to --algo adaboost",
        ),
        (
            &["--algo", "gbdt", "--oob"][..],
            "--oob does not apply to --algo gbdt",
        ),
        (
            &["--algo", "gbdt", "--tol", "0.1"][..],
            "add --n-iter-no-change",
        ),
        (
            &["--algo", "gbdt", "--loss", "log_loss"][..],
            "regression target",
        ),
        (
            &["--algo", "gbdt", "--alpha", "0.5"][..],
            "--alpha applies to the huber and quantile",
        ),
        (
            &["--algo", "gbdt", "--seed", "5000000000"][..],
            "below 2^32",
        ),
    ] {
        let (ok, out, err) = emkern(&with(&diabetes, args), &dir.join("x.emk"));
        assert!(!ok && err.contains(message), "{args:?}: {out}\n{err}");
    }
}
