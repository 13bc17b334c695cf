//! Flash-budget fitting (`emkern train --max-bytes`): the size model is exact, fitted models fit every budget and
//! predict through the core as the trainer's fitted model does, bigger budgets never choose worse, cost-complexity
//! pruning follows scikit-learn's path (`fixtures/train/ccp_paths.json`, written by `fixtures/train/generate.py`),
//! and the CLI reports the fit.

#[path = "common/forest_gen.rs"]
mod forest_gen;
#[path = "common/scratch.rs"]
mod scratch;
use forest_gen::Rng;
use scratch::Scratch;
use std::path::{Path, PathBuf};

use emkern::forest::{Compare, Forest as CoreForest, MissingMode, Transform};
use emkern_host::export::blob;
use emkern_host::ir::{Aggregate, Ensemble, LinearLeaf, Node, Precision, Split, Test, Tree};
use emkern_host::train::Rule;
use emkern_host::train::boost::Boosted;
use emkern_host::train::boost::adaboost::{AdaBoost, AdaBoostParams};
use emkern_host::train::boost::gbdt::{Gbdt, GbdtParams};
use emkern_host::train::budget::models::Shrink;
use emkern_host::train::budget::prune;
use emkern_host::train::budget::select::Selection;
use emkern_host::train::budget::size::{SizeModel, TreeCost, blob_bytes};
use emkern_host::train::budget::{Fitted, TooSmall, fit_to_budget};
use emkern_host::train::cart::{DecisionTree, NodeSplit, TreeNode, TreeParams};
use emkern_host::train::dataset::{Dataset, DatasetSpec, Schema, Task};
use emkern_host::train::forest::{Forest, ForestKind, ForestParams};
use emkern_host::train::hist::booster::{HistBooster, HistParams};
use emkern_host::train::model::TrainedModel;
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

// ----------------------------------------------------------------------------------------------------------------
// The size model
// ----------------------------------------------------------------------------------------------------------------

/// A random well-formed tree: numeric and categorical splits (category sets drawn from a small pool, so trees
/// share sets), scalar, vector or linear leaves, and sometimes unreachable nodes the writer drops.
fn random_tree(rng: &mut Rng, n_features: u32, width: usize, output: Option<u32>) -> Tree {
    let max_depth = rng.below(11) as u32;
    let bushy = rng.chance(30);
    let mut nodes = Vec::new();
    fn grow(
        rng: &mut Rng,
        nodes: &mut Vec<Node>,
        depth: u32,
        max_depth: u32,
        bushy: bool,
        n_features: u32,
        width: usize,
    ) -> usize {
        let at = nodes.len();
        if depth >= max_depth || (!bushy && rng.chance(30)) {
            nodes.push(if width == 1 && rng.chance(10) {
                Node::LinearLeaf(LinearLeaf {
                    value: 0.5,
                    constant: 0.25,
                    terms: (0..rng.below(4))
                        .map(|_| (rng.below(n_features as u64) as u32, 0.5))
                        .collect(),
                })
            } else {
                Node::Leaf((0..width).map(|k| k as f64 - 0.5).collect())
            });
            return at;
        }
        nodes.push(Node::Leaf(vec![]));
        let test = if rng.chance(15) {
            let pool = rng.below(5);
            Test::Categorical {
                categories: (0..pool * 2).map(|c| (c * c * 13 + pool) as u32).collect(),
                in_set_left: true,
                truncate_first: false,
            }
        } else {
            Test::Numeric(rng.below(100) as f64 / 7.0)
        };
        let left = grow(rng, nodes, depth + 1, max_depth, bushy, n_features, width);
        let right = grow(rng, nodes, depth + 1, max_depth, bushy, n_features, width);
        nodes[at] = Node::Split(Split {
            feature: rng.below(n_features as u64) as u32,
            test,
            default_left: rng.chance(50),
            missing: MissingMode::Nan,
            left,
            right,
        });
        at
    }
    grow(rng, &mut nodes, 0, max_depth, bushy, n_features, width);
    for _ in 0..rng.below(3) {
        nodes.push(Node::Leaf(vec![1.0; width]));
    }
    Tree {
        nodes,
        output,
        weight: 1.0,
    }
}

fn random_ensemble(seed: u64) -> Ensemble {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let n_features = match rng.below(4) {
        0 => 1 + rng.below(5) as u32,
        1 => 1 + rng.below(300) as u32,
        2 => 256,
        _ => 65_530 + rng.below(20) as u32,
    };
    let n_outputs = 1 + rng.below(5) as u32;
    let vector = n_outputs > 1 && rng.chance(50);
    let trees = (0..rng.below(9))
        .map(|t| {
            if vector {
                random_tree(&mut rng, n_features, n_outputs as usize, None)
            } else {
                random_tree(&mut rng, n_features, 1, Some(t as u32 % n_outputs))
            }
        })
        .collect();
    Ensemble {
        n_features,
        n_outputs,
        trees,
        base_margin: vec![0.25; n_outputs as usize],
        compare: Compare::LessEqual,
        aggregate: Aggregate::Sum,
        transform: Transform::Identity,
        precision: if rng.chance(50) {
            Precision::F32
        } else {
            Precision::F64
        },
        feature_names: None,
        source: format!("seed {seed}"),
        input_f64: false,
    }
}

/// `blob_bytes` and every prefix of the incremental model equal the writer's output length.
fn check_sizes(e: &Ensemble) {
    let what = &e.source;
    assert_eq!(
        blob_bytes(e),
        blob::write(e).expect("well-formed").len(),
        "{what}"
    );
    // A weighted median's prefix keeps the first weights (and has at least one tree).
    let median = match &e.aggregate {
        Aggregate::WeightedMedian { weights } => Some(weights),
        _ => None,
    };
    for precision in [Precision::F32, Precision::F64] {
        let mut m = SizeModel::like(e);
        let mut prefix = Ensemble {
            trees: Vec::new(),
            precision,
            ..e.clone()
        };
        if median.is_none() {
            assert_eq!(
                m.bytes(precision),
                blob::write(&prefix).unwrap().len(),
                "{what}: no trees"
            );
        }
        for t in &e.trees {
            m.add(&TreeCost::of(t));
            prefix.trees.push(t.clone());
            if let Some(w) = median {
                prefix.aggregate = Aggregate::WeightedMedian {
                    weights: w[..prefix.trees.len()].to_vec(),
                };
            }
            assert_eq!(
                m.bytes(precision),
                blob::write(&prefix).unwrap().len(),
                "{what}: {} trees at {precision:?}",
                prefix.trees.len()
            );
        }
    }
}

#[test]
fn size_model_is_exact_on_random_ensembles() {
    let mut widths = std::collections::HashSet::new();
    for seed in 0..600 {
        let e = random_ensemble(seed);
        check_sizes(&e);
        let b = blob::write(&e).unwrap();
        widths.insert((b[44], b[45], !e.trees.is_empty()));
    }
    // The sample reaches 1-, 2- and 4-byte feature indices and 1- and 2-byte child indices.
    for (fb, cb) in [(1, 1), (2, 1), (4, 1), (1, 2)] {
        assert!(
            widths.iter().any(|&(f, c, _)| f == fb && c == cb),
            "no ensemble with feature_bytes {fb}, child_bytes {cb}: {widths:?}"
        );
    }
}

// ----------------------------------------------------------------------------------------------------------------
// Trained models
// ----------------------------------------------------------------------------------------------------------------

fn cart(data: &Dataset) -> TrainedModel {
    TrainedModel::Tree(DecisionTree::train(data, &TreeParams::new(data.task()), 0).unwrap())
}

fn forest(data: &Dataset, kind: ForestKind, n: usize) -> TrainedModel {
    let mut p = ForestParams::new(kind, data.task());
    p.n_estimators = n;
    p.seed = 3;
    p.threads = Some(2);
    TrainedModel::Forest(Forest::train(data, &p, &|_| {}).unwrap())
}

fn adaboost(data: &Dataset, n: usize) -> Boosted {
    let mut p = AdaBoostParams::new(data.task());
    p.n_estimators = n;
    Boosted::AdaBoost(AdaBoost::train(data, &p, &mut |_| {}).unwrap())
}

fn gbdt(data: &Dataset, n: usize) -> Boosted {
    let mut p = GbdtParams::new(data.task());
    p.n_estimators = n;
    Boosted::Gbdt(Gbdt::train(data, &p, None, &mut |_| {}).unwrap())
}

fn hist(data: &Dataset, n: usize) -> HistBooster {
    let p = HistParams {
        n_estimators: n,
        threads: Some(2),
        ..HistParams::default()
    };
    HistBooster::train(data, None, &p, &|_| {}).unwrap()
}

#[test]
fn size_model_is_exact_on_trained_models() {
    let train = load("wine", "train");
    let reg = load("diabetes", "train");
    let mut ensembles = vec![
        cart(&train).to_ensemble(&train, "cart wine"),
        forest(&train, ForestKind::RandomForest, 20).to_ensemble(&train, "rf wine"),
        forest(&reg, ForestKind::ExtraTrees, 10).to_ensemble(&reg, "extra-trees diabetes"),
        adaboost(&train, 20)
            .to_ensemble(None, "adaboost wine")
            .unwrap(),
        adaboost(&reg, 20)
            .to_ensemble(None, "adaboost.R2 diabetes")
            .unwrap(),
        gbdt(&train, 15).to_ensemble(None, "gbdt wine").unwrap(),
        hist(&train, 10).to_ensemble(),
    ];
    for e in &mut ensembles {
        for p in [Precision::F32, Precision::F64] {
            e.precision = p;
            check_sizes(e);
        }
    }
}

// ----------------------------------------------------------------------------------------------------------------
// Cost-complexity pruning against scikit-learn
// ----------------------------------------------------------------------------------------------------------------

fn read_fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/train")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture file"))
        .expect("fixture JSON")
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| match v.as_str() {
        Some("inf") => f64::INFINITY,
        Some("-inf") => f64::NEG_INFINITY,
        _ => panic!("not a number: {v}"),
    })
}

/// A scikit-learn tree from `trees.json`, node for node.
fn sklearn_tree(case: &Value) -> DecisionTree {
    let arr = |k: &str| case[k].as_array().unwrap_or_else(|| panic!("{k}"));
    let left = arr("children_left");
    let values = arr("value");
    let n_classes = if case["classes"].is_array() {
        values[0].as_array().unwrap().len()
    } else {
        0
    };
    let nodes = (0..case["node_count"].as_u64().unwrap() as usize)
        .map(|i| {
            let l = left[i].as_i64().unwrap();
            TreeNode {
                split: (l >= 0).then(|| NodeSplit {
                    feature: arr("feature")[i].as_u64().unwrap() as usize,
                    rule: Rule::Threshold(f64_of(&arr("threshold")[i])),
                    missing_left: arr("missing_go_to_left")[i].as_bool().unwrap(),
                    missing_seen: false,
                    left: l as usize,
                    right: arr("children_right")[i].as_u64().unwrap() as usize,
                }),
                value: values[i].as_array().unwrap().iter().map(f64_of).collect(),
                impurity: f64_of(&arr("impurity")[i]),
                n_samples: arr("n_node_samples")[i].as_u64().unwrap() as usize,
                weighted_n_samples: f64_of(&arr("weighted_n_node_samples")[i]),
            }
        })
        .collect();
    DecisionTree {
        nodes,
        n_features: case["feature_importances"].as_array().unwrap().len(),
        n_classes,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300) || (a - b).abs() <= 1e-17
}

#[test]
fn pruning_path_matches_scikit_learn() {
    let trees = read_fixture("trees.json");
    let paths = read_fixture("ccp_paths.json");
    let mut checked = 0;
    for want in paths["cases"].as_array().unwrap() {
        let name = want["name"].as_str().unwrap();
        let case = trees["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == want["name"])
            .unwrap_or_else(|| panic!("{name} is not in trees.json"));
        let tree = sklearn_tree(case);
        let path = prune::path(&tree);
        let alphas: Vec<f64> = want["ccp_alphas"]
            .as_array()
            .unwrap()
            .iter()
            .map(f64_of)
            .collect();
        let impurities: Vec<f64> = want["impurities"]
            .as_array()
            .unwrap()
            .iter()
            .map(f64_of)
            .collect();
        assert_eq!(path.alphas().len(), alphas.len(), "{name}: path length");
        for (k, (a, b)) in path.alphas().iter().zip(&alphas).enumerate() {
            assert!(
                close(*a, *b),
                "{name}: alpha {k}: ours {a:e}, scikit-learn {b:e}"
            );
        }
        for (k, (a, b)) in path.impurities().iter().zip(&impurities).enumerate() {
            assert!(
                close(*a, *b),
                "{name}: impurity {k}: ours {a:e}, scikit-learn {b:e}"
            );
        }
        for p in want["pruned"].as_array().unwrap() {
            let alpha = f64_of(&p["ccp_alpha"]);
            let pruned = prune::prune_alpha(&tree, alpha);
            assert_eq!(
                (pruned.nodes.len() as u64, pruned.n_leaves() as u64),
                (
                    p["node_count"].as_u64().unwrap(),
                    p["n_leaves"].as_u64().unwrap()
                ),
                "{name}: nodes and leaves at ccp_alpha {alpha:e}"
            );
            checked += 1;
        }
        println!("{name}: {} alphas, identical pruned trees", alphas.len());
    }
    assert!(checked >= 50, "only {checked} pruned trees compared");
}

// ----------------------------------------------------------------------------------------------------------------
// Budgets
// ----------------------------------------------------------------------------------------------------------------

/// The core's predictions for `rows` from `e`'s blob.
fn core_predict(e: &Ensemble, rows: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let bytes = blob::write(e).unwrap();
    let core = CoreForest::new(&bytes).expect("the fitted blob loads");
    rows.iter()
        .map(|row| {
            let mut out = vec![0.0f32; core.output_len()];
            core.predict(row, &mut out).unwrap();
            out
        })
        .collect()
}

/// Fits `model` to a sweep of budgets from its smallest candidate to above its unconstrained size and checks each
/// fit; returns `(budget, fitted bytes, units, alpha, precision, headline metric)` rows.
fn sweep_budgets<M: Shrink>(
    name: &str,
    model: &M,
    to_ir: &(dyn Fn(&M) -> Ensemble + Sync),
    predict: &dyn Fn(&M, &[f32]) -> Vec<f64>,
    sel: &Selection,
) -> Vec<(usize, usize, usize, f64, Precision, f64)> {
    let full = to_ir(model);
    let full_bytes = blob::write(&full).unwrap().len();
    let smallest = match fit_to_budget(model, 64, sel, to_ir, &|_, _| {}) {
        Err(TooSmall { smallest, .. }) => smallest,
        Ok(f) => panic!(
            "{name}: a 64-byte budget fitted {} bytes",
            f.candidate.bytes
        ),
    };
    assert!(
        fit_to_budget(model, smallest - 1, sel, to_ir, &|_, _| {}).is_err(),
        "{name}: the smallest candidate is {smallest} bytes"
    );
    let steps = 14;
    let mut budgets: Vec<usize> = (0..steps)
        .map(|i| {
            let f = i as f64 / (steps - 1) as f64;
            (smallest as f64 * (full_bytes as f64 * 1.1 / smallest as f64).powf(f)) as usize
        })
        .collect();
    budgets.push(full_bytes);
    budgets.sort_unstable();
    budgets.dedup();
    let mut rows = Vec::new();
    let mut previous: Option<Fitted<M>> = None;
    for &budget in &budgets {
        let f = fit_to_budget(model, budget, sel, to_ir, &|_, _| {})
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let len = blob::write(&f.ensemble).unwrap().len();
        assert!(
            len <= budget,
            "{name}: {len} bytes over a budget of {budget}"
        );
        assert_eq!(len, f.candidate.bytes, "{name}: the size model");
        // The exported blob predicts what the fitted trainer model predicts.
        let tol = match f.ensemble.precision {
            Precision::F64 => 1e-6,
            Precision::F32 => 1e-5,
        };
        for (row, got) in sel.rows.iter().zip(core_predict(&f.ensemble, &sel.rows)) {
            let want = predict(&f.model, row);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (*g as f64 - w).abs() <= tol * w.abs().max(1.0),
                    "{name}, budget {budget}: core {g}, trainer {w}"
                );
            }
        }
        // A bigger budget never chooses worse on the selection data.
        if let Some(p) = &previous {
            assert!(
                !p.candidate
                    .metrics
                    .clearly_better_than(&f.candidate.metrics),
                "{name}: budget {budget} chose {:?}, a smaller budget {:?}",
                f.candidate,
                p.candidate
            );
        }
        if budget >= full_bytes {
            let reference: Vec<Vec<f64>> = sel
                .rows
                .iter()
                .map(|r| full.transform_reference(&full.margin_reference(r)))
                .collect();
            let unconstrained = sel.metrics(&reference);
            assert!(
                !unconstrained.better_than(&f.candidate.metrics),
                "{name}: the unconstrained model fits and scores {unconstrained}, better than the chosen {}",
                f.candidate.metrics
            );
        }
        rows.push((
            budget,
            len,
            f.candidate.units,
            f.alpha,
            f.ensemble.precision,
            f.candidate.metrics.headline(),
        ));
        previous = Some(f);
    }
    println!(
        "{name}: unconstrained {full_bytes} bytes, {} units",
        model.units()
    );
    println!("  budget  bytes  units  ccp_alpha  precision  metric");
    for (b, len, u, a, p, m) in &rows {
        println!("  {b:6} {len:6} {u:6}  {a:9.2e}  {p:?}  {m:.4}");
    }
    rows
}

#[test]
fn every_algorithm_fits_every_budget() {
    let train = load("breast_cancer", "train");
    let test = load_like("breast_cancer", "test", &train.schema);
    let sel = Selection::of(&test, "the test split");
    let trained = |m: &TrainedModel, row: &[f32]| m.predict_row(row);
    let to_ir = |m: &TrainedModel| m.to_ensemble(&train, "test");
    let tree_rows = sweep_budgets("cart", &cart(&train), &to_ir, &trained, &sel);
    assert!(tree_rows.iter().any(|r| r.3 > 0.0), "cart never pruned");
    let rf = sweep_budgets(
        "rf",
        &forest(&train, ForestKind::RandomForest, 40),
        &to_ir,
        &trained,
        &sel,
    );
    assert!(
        rf.first().unwrap().2 < 40,
        "the smallest budget keeps fewer trees"
    );
    sweep_budgets(
        "extra-trees",
        &forest(&train, ForestKind::ExtraTrees, 30),
        &to_ir,
        &trained,
        &sel,
    );
    let boosted = |m: &Boosted, row: &[f32]| m.predict_row(row);
    let boosted_ir = |m: &Boosted| m.to_ensemble(None, "test").unwrap();
    sweep_budgets(
        "adaboost",
        &adaboost(&train, 40),
        &boosted_ir,
        &boosted,
        &sel,
    );
    let g = sweep_budgets("gbdt", &gbdt(&train, 60), &boosted_ir, &boosted, &sel);
    assert_eq!(g.first().unwrap().2, 0, "the smallest gbdt is the prior");
    let h = sweep_budgets(
        "hist-gbdt",
        &hist(&train, 40),
        &|m: &HistBooster| m.to_ensemble(),
        &|m: &HistBooster, row: &[f32]| m.predict(row).iter().map(|&v| v as f64).collect(),
        &sel,
    );
    assert!(h.iter().all(|r| r.4 == Precision::F32));
}

#[test]
fn regression_and_multiclass_fit_too() {
    let train = load("diabetes", "train");
    let test = load_like("diabetes", "test", &train.schema);
    let sel = Selection::of(&test, "the test split");
    sweep_budgets(
        "rf diabetes",
        &forest(&train, ForestKind::RandomForest, 20),
        &|m: &TrainedModel| m.to_ensemble(&train, "test"),
        &|m: &TrainedModel, row: &[f32]| m.predict_row(row),
        &sel,
    );
    sweep_budgets(
        "gbdt diabetes",
        &gbdt(&train, 40),
        &|m: &Boosted| m.to_ensemble(None, "test").unwrap(),
        &|m: &Boosted, row: &[f32]| m.predict_row(row),
        &sel,
    );
    // AdaBoost.R2: prefixes of the rounds with their weights (the median is scored by the reference rule).
    let r2 = sweep_budgets(
        "adaboost.R2 diabetes",
        &adaboost(&train, 90),
        &|m: &Boosted| m.to_ensemble(None, "test").unwrap(),
        &|m: &Boosted, row: &[f32]| m.predict_row(row),
        &sel,
    );
    assert_eq!(
        r2.first().unwrap().2,
        1,
        "the smallest AdaBoost.R2 is one tree"
    );
    let wine = load("wine", "train");
    let wine_test = load_like("wine", "test", &wine.schema);
    let sel = Selection::of(&wine_test, "the test split");
    let boosted_ir = |m: &Boosted| m.to_ensemble(None, "test").unwrap();
    let boosted = |m: &Boosted, row: &[f32]| m.predict_row(row);
    sweep_budgets(
        "gbdt wine (3 trees a round)",
        &gbdt(&wine, 20),
        &boosted_ir,
        &boosted,
        &sel,
    );
    sweep_budgets(
        "adaboost wine",
        &adaboost(&wine, 30),
        &boosted_ir,
        &boosted,
        &sel,
    );
    sweep_budgets(
        "hist-gbdt wine",
        &hist(&wine, 15),
        &|m: &HistBooster| m.to_ensemble(),
        &|m: &HistBooster, row: &[f32]| m.predict(row).iter().map(|&v| v as f64).collect(),
        &sel,
    );
}

/// The prefix of a model and the aggregate the search assumes for it are what the model's own export gives.
#[test]
fn prefixes_export_as_the_search_assumes() {
    let wine = load("wine", "train");
    let check = |name: &str, m: &Boosted| {
        let full = m.to_ensemble(None, "t").unwrap();
        for k in m.min_units()..=m.units() {
            let p = m.prefix(k).to_ensemble(None, "t").unwrap();
            assert_eq!(
                p.aggregate,
                m.prefix_aggregate(k, &full.aggregate),
                "{name}: {k} units"
            );
            assert_eq!(
                p.trees[..],
                full.trees[..k * m.trees_per_unit()],
                "{name}: {k} units"
            );
        }
    };
    check("adaboost", &adaboost(&wine, 12));
    check("adaboost.R2", &adaboost(&load("diabetes", "train"), 12));
    check("gbdt", &gbdt(&wine, 6));
    let rf = forest(&wine, ForestKind::RandomForest, 8);
    let full = rf.to_ensemble(&wine, "t");
    for k in 1..=8 {
        let p = rf.prefix(k).to_ensemble(&wine, "t");
        assert_eq!(p.aggregate, rf.prefix_aggregate(k, &full.aggregate));
        assert_eq!(p.trees[..], full.trees[..k]);
    }
}

// ----------------------------------------------------------------------------------------------------------------
// The command line
// ----------------------------------------------------------------------------------------------------------------

fn run(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
        .current_dir(repo())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn cli_reports_the_fit() {
    let dir = Scratch::new("budget-cli");
    let common = [
        "train",
        "--data",
        "data/breast_cancer_train.csv",
        "--target",
        "label",
        "--valid",
        "data/breast_cancer_test.csv",
        "--quiet",
        "--threads",
        "2",
        "--n-estimators",
        "30",
    ];
    for (algo, budget, bytes) in [
        ("rf", "4K", 4096),
        ("extra-trees", "3KiB", 3072),
        ("gbdt", "1500", 1500),
        ("adaboost", "1k", 1024),
        ("hist-gbdt", "2KB", 2048),
        ("cart", "600", 600),
    ] {
        let out = dir.join(format!("{algo}.emk"));
        let mut args = common.to_vec();
        if algo == "cart" {
            args.truncate(args.len() - 2);
        }
        args.extend([
            "--algo",
            algo,
            "--max-bytes",
            budget,
            "-o",
            out.to_str().unwrap(),
        ]);
        let (ok, text) = run(&args);
        assert!(ok, "{algo}: {text}");
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("budget") && l.contains("→ fitted"))
            .unwrap_or_else(|| panic!("{algo}: no budget line in\n{text}"));
        assert!(
            line.contains(&format!("budget    {bytes} bytes: unconstrained ")),
            "{algo}: {line}"
        );
        assert!(
            text.contains("chosen on the --valid data (171 rows)"),
            "{algo}: {text}"
        );
        let written = std::fs::metadata(&out).unwrap().len() as usize;
        assert!(written <= bytes, "{algo}: wrote {written} bytes");
        assert!(
            line.contains(&format!("fitted {written} bytes")),
            "{algo}: {line}"
        );
        assert!(
            text.contains(&format!("{}: {written} bytes", out.display())),
            "{algo}: the blob line reports the written size\n{text}"
        );
    }
    // AdaBoost.R2 (a weighted median): fitted by its rounds, and too small a budget names the one-tree model.
    let out = dir.join("r2.emk");
    let r2 = [
        "train",
        "--algo",
        "adaboost",
        "--data",
        "data/diabetes_train.csv",
        "--valid",
        "data/diabetes_test.csv",
        "--target",
        "target",
        "--quiet",
        "-o",
        out.to_str().unwrap(),
        "--max-bytes",
    ];
    let (ok, text) = run(&[&r2[..], &["2K"]].concat());
    assert!(ok, "{text}");
    assert!(
        text.contains("budget    2048 bytes: unconstrained ") && text.contains("kept "),
        "{text}"
    );
    let blob = std::fs::read(&out).unwrap();
    assert!(blob.len() <= 2048);
    let f = CoreForest::new(&blob).unwrap();
    assert_eq!(f.aggregate(), emkern::forest::Aggregate::WeightedMedian);
    let (ok, text) = run(&[&r2[..], &["150"]].concat());
    assert!(
        !ok && text
            .contains("--max-bytes 150: no model fits; the smallest, one round, f32 values, takes"),
        "{text}"
    );
    // Too small: a clear error naming the smallest model, with the blob's class names (22 bytes after the
    // model's 96).
    let out = dir.join("tiny.emk");
    let mut args = common.to_vec();
    args.extend([
        "--algo",
        "rf",
        "--max-bytes",
        "90",
        "-o",
        out.to_str().unwrap(),
    ]);
    let (ok, text) = run(&args);
    assert!(!ok, "{text}");
    assert!(
        // 96 bytes of model, then the class names (0, 1) in the metadata section: 22 bytes.
        text.contains("--max-bytes 90: no model fits; the smallest, one tree pruned to its root, f32 values, takes 118 bytes"),
        "{text}"
    );
    let (ok, text) = run(&[
        "train",
        "--algo",
        "rf",
        "--data",
        "x.csv",
        "--target",
        "y",
        "-o",
        "y",
        "--max-bytes",
        "12Q",
    ]);
    assert!(!ok && text.contains("unknown unit `q`"), "{text}");
    // Ranking by log-loss: never a worse log-loss than ranking by accuracy at the same budget.
    let log_loss_of = |text: &str| -> f64 {
        let line = text.lines().find(|l| l.contains("→ fitted")).unwrap();
        let after = &line[line.find("→ fitted").unwrap()..];
        let at = after.find("log-loss ").unwrap() + "log-loss ".len();
        after[at..].split(')').next().unwrap().parse().unwrap()
    };
    let out = dir.join("iris.emk");
    let iris = [
        "train",
        "--algo",
        "hist-gbdt",
        "--data",
        "data/iris_train.csv",
        "--valid",
        "data/iris_test.csv",
        "--target",
        "label",
        "--quiet",
        "--max-bytes",
        "1.5K",
        "-o",
        out.to_str().unwrap(),
    ];
    let (ok, by_accuracy) = run(&iris);
    assert!(ok, "{by_accuracy}");
    let mut args = iris.to_vec();
    args.extend(["--budget-metric", "log-loss"]);
    let (ok, by_log_loss) = run(&args);
    assert!(ok, "{by_log_loss}");
    assert!(
        log_loss_of(&by_log_loss) <= log_loss_of(&by_accuracy),
        "{by_accuracy}\n{by_log_loss}"
    );
    let (ok, text) = run(&args[..args.len() - 6]
        .iter()
        .chain(&["-o", out.to_str().unwrap(), "--budget-metric", "log-loss"])
        .copied()
        .collect::<Vec<_>>());
    assert!(!ok && text.contains("add --max-bytes"), "{text}");
    let (ok, text) = run(&[
        "train",
        "--algo",
        "gbdt",
        "--data",
        "data/diabetes_train.csv",
        "--target",
        "target",
        "--quiet",
        "--max-bytes",
        "2K",
        "--budget-metric",
        "log-loss",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && text.contains("applies to classification"), "{text}");
}

/// Selected on its own training rows, a single tree fitted to a budget is the largest subtree on its pruning path
/// that fits (pruning never improves a tree's training accuracy or log-loss), at f64 unless f32 fits a larger one.
#[test]
fn cart_on_training_data_keeps_the_largest_fitting_subtree() {
    let train = load("breast_cancer", "train");
    let sel = Selection::of(&train, "the training split");
    let model = cart(&train);
    let TrainedModel::Tree(tree) = &model else {
        unreachable!()
    };
    let path = prune::path(tree);
    let to_ir = |m: &TrainedModel| m.to_ensemble(&train, "test");
    let subtrees: Vec<(usize, usize, usize)> = (0..=path.steps.len())
        .map(|s| {
            let t = TrainedModel::Tree(prune::prune(tree, &path, s));
            let mut e = to_ir(&t);
            let f64_bytes = blob::write(&e).unwrap().len();
            e.precision = Precision::F32;
            (t.leaves(), f64_bytes, blob::write(&e).unwrap().len())
        })
        .collect();
    let full = subtrees[0].1;
    let mut checked = 0;
    for budget in (subtrees.last().unwrap().2..=full + 64).step_by(8) {
        let expected = subtrees
            .iter()
            .filter(|(_, b64, b32)| *b64 <= budget || *b32 <= budget)
            .map(|(leaves, _, _)| *leaves)
            .max()
            .unwrap();
        let f = fit_to_budget(&model, budget, &sel, &to_ir, &|_, _| {}).unwrap();
        assert_eq!(
            f.model.leaves(),
            expected,
            "budget {budget}: chose {:?}",
            f.candidate
        );
        let fits_f64 = subtrees
            .iter()
            .any(|(leaves, b64, _)| *leaves == expected && *b64 <= budget);
        assert_eq!(
            f.ensemble.precision,
            if fits_f64 {
                Precision::F64
            } else {
                Precision::F32
            },
            "budget {budget}"
        );
        checked += 1;
    }
    assert!(checked > 20);
}

/// A stack refuses a flash budget and says why and what to do instead (no blob is written).
#[test]
fn cli_refuses_a_budget_for_a_stack() {
    let dir = Scratch::new("budget-stack");
    let out = dir.join("stack.emk");
    let _ = std::fs::remove_file(&out);
    for extra in [
        &["--max-bytes", "4K"][..],
        &["--max-bytes", "4K", "--budget-metric", "log-loss"][..],
        &["--budget-metric", "log-loss"][..],
    ] {
        let mut args = vec![
            "train",
            "--algo",
            "stack",
            "--data",
            "data/breast_cancer_train.csv",
            "--target",
            "label",
            "--quiet",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (ok, text) = run(&args);
        assert!(!ok, "{extra:?}: {text}");
        for needle in [
            "--max-bytes does not apply to --algo stack",
            "out-of-fold outputs of the full bases",
            "--n-estimators",
        ] {
            assert!(
                text.contains(needle),
                "{extra:?}: `{needle}` missing from {text}"
            );
        }
        assert!(!out.exists(), "{extra:?}: a blob was written");
    }
}

/// The class names a classifier's blob stores after the model are sized exactly, and the model budget they
/// leave is the largest model size whose blob fits.
#[test]
fn class_names_are_sized_and_budgeted_exactly() {
    use emkern_host::export::blob::BlobMetadata;
    for (seed, names) in [
        (1u64, vec!["0", "1"]),
        (2, vec!["setosa", "versicolor", "virginica"]),
        (3, vec![]),
    ] {
        let meta = BlobMetadata {
            class_names: names.iter().map(|n| n.to_string()).collect(),
        };
        let e = random_ensemble(seed);
        let model = blob::write(&e).unwrap().len();
        let whole = blob::write_with_metadata(&e, &meta).unwrap().len();
        assert_eq!(meta.blob_bytes(model).unwrap(), whole, "seed {seed}");
        for budget in whole.saturating_sub(40)..whole + 40 {
            let fits = whole <= budget;
            let room = meta.model_budget(budget).unwrap();
            assert_eq!(
                room.is_some_and(|r| model <= r),
                fits,
                "budget {budget}, seed {seed}"
            );
            // The room is the largest model size that fits once the names are added.
            if let Some(r) = room {
                assert!(meta.blob_bytes(r).unwrap() <= budget);
                assert!(meta.blob_bytes(r + 1).unwrap() > budget);
            }
        }
    }
}
