//! The SIMD batch engine (`Forest::predict_batch_simd` over a plan, the lockstep walker of `emkern-simd`) and the
//! single-row walker on the same plan (`Forest::predict_simd_row`, trees in the lanes) against the core's
//! single-row walk (`Forest::predict`, `Forest::predict_margin`): bit for bit, at every level this CPU runs (the
//! portable twin, AVX2, AVX-512, NEON), on every framework fixture it plans (inputs as given and with NaN put into
//! them) and on random models with fixed seeds, for row counts that are and are not multiples of the vector
//! widths, and zero rows. Models it does not plan must say why and take the scalar path.

#[path = "common/forest_gen.rs"]
mod forest_gen;

use std::path::{Path, PathBuf};

use emkern::forest::{BatchPath, Compare, Forest, MissingMode, PlanUnsupported, Transform};
use emkern_host::export::blob;
use emkern_host::ir::{Aggregate, Ensemble, Node, Precision, Split, Test, Tree};
use emkern_simd::Simd;
use forest_gen::Rng;

/// Row counts: none, fewer than a vector, around the AVX2 (8) and AVX-512 (16) widths, and around a block of four
/// vectors of each (32, 64), with tails.
const COUNTS: [usize; 14] = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 79];

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The single-row predictions (margins or transformed) of `n_rows` rows at `stride`, one `predict` call each.
fn single_rows(f: &Forest, rows: &[f32], stride: usize, n_rows: usize, margin: bool) -> Vec<f32> {
    let w = if margin {
        f.n_outputs()
    } else {
        f.output_len()
    };
    let mut out = vec![0.0f32; n_rows * w];
    for r in 0..n_rows {
        let row = &rows[r * stride..];
        let o = &mut out[r * w..(r + 1) * w];
        if margin {
            f.predict_margin(row, o).unwrap();
        } else {
            f.predict(row, o).unwrap();
        }
    }
    out
}

/// Checks `predict_batch_simd` at every level against the single-row path for every row count in `COUNTS` that
/// fits (and all rows), margins and predictions. Returns whether the model was planned.
fn check_model(what: &str, f: &Forest, rows: &[f32], stride: usize) -> Result<bool, String> {
    let total = rows.len().checked_div(stride).unwrap_or(0);
    let planned = f.simd_plan_len();
    let mut words = vec![0u32; *planned.as_ref().unwrap_or(&0)];
    let plan = match &planned {
        Ok(_) => Some(
            f.simd_plan(&mut words)
                .map_err(|e| format!("{what}: simd_plan_len accepted, simd_plan refused: {e}"))?,
        ),
        Err(_) => {
            // Refused by the length already: building must refuse too, with the same reason.
            let mut none = [0u32; 0];
            let again = f.simd_plan(&mut none).err();
            if again != planned.err() {
                return Err(format!(
                    "{what}: plan refusals differ: {:?} vs {again:?}",
                    planned.err()
                ));
            }
            None
        }
    };
    let w = f.output_len().max(f.n_outputs());
    let mut counts: Vec<usize> = COUNTS.iter().copied().filter(|&n| n <= total).collect();
    counts.push(total);
    for simd in Simd::available() {
        for &n in &counts {
            for margin in [false, true] {
                let want = single_rows(f, rows, stride, n, margin);
                let mut got = vec![f32::from_bits(0x7fc0_dead); want.len().max(n * w)];
                let path = f
                    .predict_batch_simd(simd, plan.as_ref(), rows, stride, n, &mut got, margin)
                    .map_err(|e| format!("{what}: {e}"))?;
                let expected_path = if plan.is_some() {
                    BatchPath::Walker(simd.level())
                } else {
                    BatchPath::Scalar
                };
                if path != expected_path {
                    return Err(format!(
                        "{what}: {n} rows at {}: ran {path:?}, expected {expected_path:?}",
                        simd.level()
                    ));
                }
                if bits(&got[..want.len()]) != bits(&want) {
                    let r = (0..want.len())
                        .find(|&i| got[i].to_bits() != want[i].to_bits())
                        .unwrap_or(0);
                    return Err(format!(
                        "{what}: {n} rows at {} (margin {margin}): value {r} is {} (single row: {})",
                        simd.level(),
                        got[r],
                        want[r]
                    ));
                }
            }
        }
    }
    check_single_rows(what, f, plan.as_ref(), rows, stride, total)?;
    Ok(plan.is_some())
}

/// Checks `predict_simd_row` (the single-row walker, trees in the lanes) at every level against `predict` and
/// `predict_margin` for each of the first `n_rows` rows: the same path rule as the batch engine, bit for bit.
fn check_single_rows(
    what: &str,
    f: &Forest,
    plan: Option<&emkern_simd::forest::Plan<'_>>,
    rows: &[f32],
    stride: usize,
    n_rows: usize,
) -> Result<(), String> {
    for simd in Simd::available() {
        // A plan with a sparse tree predicts single rows on the scalar path.
        let expected_path = if plan.is_some_and(|p| !p.has_sparse()) {
            BatchPath::Walker(simd.level())
        } else {
            BatchPath::Scalar
        };
        for margin in [false, true] {
            let want = single_rows(f, rows, stride, n_rows, margin);
            let w = want.len().checked_div(n_rows).unwrap_or(0);
            for r in 0..n_rows {
                // The row as a slice of exactly its features when the stride allows, else to the end.
                let row = &rows[r * stride..];
                let mut got = vec![f32::from_bits(0x7fc0_dead); w.max(1)];
                let path = f
                    .predict_simd_row(simd, plan, row, &mut got, margin)
                    .map_err(|e| format!("{what}: row {r}: {e}"))?;
                if path != expected_path {
                    return Err(format!(
                        "{what}: single row {r} at {}: ran {path:?}, expected {expected_path:?}",
                        simd.level()
                    ));
                }
                if bits(&got[..w]) != bits(&want[r * w..(r + 1) * w]) {
                    return Err(format!(
                        "{what}: single row {r} at {} (margin {margin}): {:?}, predict gives {:?}",
                        simd.level(),
                        &got[..w],
                        &want[r * w..(r + 1) * w]
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `rows` with NaN put into every value whose index is `≡ k (mod 5)`, k = 0..3 across the copies: every feature
/// of some rows is missing.
fn with_nans(rows: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * 3);
    for k in 0..3 {
        out.extend(
            rows.iter()
                .enumerate()
                .map(|(i, &v)| if i % 5 == k { f32::NAN } else { v }),
        );
    }
    out
}

fn fixture_dirs(framework: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(framework);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Every fixture of `framework`: planned ones agree bit for bit, the others name why and agree on the scalar
/// path. Returns (planned, refused) names.
fn check_fixtures(framework: &str) -> (Vec<String>, Vec<String>) {
    let mut planned = Vec::new();
    let mut refused = Vec::new();
    let mut failures = Vec::new();
    for dir in fixture_dirs(framework) {
        let Some(model) = ["model.json", "model.txt"]
            .iter()
            .map(|m| dir.join(m))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let loaded = emkern_host::model::load(&model).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = emkern_host::io::read_csv(&dir.join("input.csv")).unwrap();
        let stride = input.columns.len();
        // The blob as imported, and for models imported with f64 values (LightGBM, scikit-learn) also the same
        // model with f32 values (`emkern import --f32`), which the walker plans.
        let mut blobs = vec![(name.clone(), loaded.blob.clone())];
        if let Some(e) = loaded
            .ensemble
            .as_ref()
            .filter(|e| e.precision == Precision::F64)
        {
            let narrow = Ensemble {
                precision: Precision::F32,
                ..e.clone()
            };
            blobs.push((format!("{name} --f32"), blob::write(&narrow).unwrap()));
        }
        for (label, bytes) in blobs {
            let f = Forest::new(&bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
            let mut outcome = check_model(&label, &f, &input.values, stride);
            if outcome.is_ok() {
                outcome = check_model(
                    &format!("{label} with NaN"),
                    &f,
                    &with_nans(&input.values),
                    stride,
                );
            }
            match outcome {
                Ok(true) => planned.push(label),
                Ok(false) => refused.push(format!("{label} ({})", f.simd_plan_len().unwrap_err())),
                Err(e) => failures.push(e),
            }
        }
    }
    println!("{framework}: planned {planned:?}");
    println!("{framework}: scalar path {refused:?}");
    assert!(failures.is_empty(), "{failures:#?}");
    (planned, refused)
}

#[test]
fn xgboost_fixtures_agree_bit_for_bit() {
    let (planned, refused) = check_fixtures("xgboost");
    for must in ["binary-logistic", "binary-logistic-nan-heavy", "dart"] {
        assert!(
            planned.iter().any(|p| p.ends_with(must)),
            "the {must} fixtures must be planned; planned: {planned:?}"
        );
    }
    // Multi-class and categorical models take the scalar path, and say so.
    assert!(
        refused
            .iter()
            .any(|r| r.contains("multi-softprob") && r.contains("margin columns"))
    );
    assert!(
        refused
            .iter()
            .any(|r| r.contains("categorical") && r.contains("categorical split"))
    );
}

#[test]
fn lightgbm_fixtures_agree_bit_for_bit() {
    let (planned, refused) = check_fixtures("lightgbm");
    for must in ["binary", "missing-nan", "missing-none", "regression", "rf"] {
        assert!(
            planned
                .iter()
                .any(|p| p.ends_with(&format!("{must} --f32"))),
            "the {must} fixture (f32 values) must be planned; planned: {planned:?}"
        );
    }
    assert!(
        refused
            .iter()
            .any(|r| r.contains("linear-tree") && r.contains("linear leaves"))
    );
    // The f64-comparison fixtures (their rows as f32 here): whatever is planned agrees.
    check_fixtures("lightgbm-f64");
}

#[test]
fn sklearn_fixtures_agree_bit_for_bit() {
    let (planned, refused) = check_fixtures("sklearn");
    for must in [
        "gradient-boosting-regressor",
        "hist-gradient-boosting-classifier",
    ] {
        assert!(
            planned
                .iter()
                .any(|p| p.ends_with(&format!("{must} --f32"))),
            "the {must} fixture (f32 values) must be planned; planned: {planned:?}"
        );
    }
    assert!(refused.iter().any(|r| r.contains("weighted median")));
}

/// Threshold and row-value grid: rows often land exactly on thresholds, on both zeros and inside LightGBM's zero
/// band.
const GRID: [f32; 11] = [
    -2.5, -1.0, -1.0e-36, -0.0, 0.0, 1.0e-36, 0.1, 0.5, 1.0, 3.0, 7.0,
];

/// A random tree; `cat`: some splits are categorical; `zero`: some are LightGBM zero-as-missing.
fn random_tree(rng: &mut Rng, n_features: u32, max_depth: u32, cat: bool, zero: bool) -> Tree {
    fn grow(
        rng: &mut Rng,
        nodes: &mut Vec<Node>,
        d: u32,
        max_d: u32,
        nf: u32,
        flags: (bool, bool),
    ) {
        let (cat, zero) = flags;
        let at = nodes.len();
        if d >= max_d || rng.chance(15) {
            nodes.push(Node::Leaf(vec![rng.unit() * 2.0 - 1.0]));
            return;
        }
        nodes.push(Node::Leaf(vec![]));
        let test = if cat && rng.chance(10) {
            Test::Categorical {
                categories: vec![rng.below(5) as u32],
                in_set_left: rng.chance(50),
                truncate_first: rng.chance(50),
            }
        } else {
            Test::Numeric(GRID[rng.below(GRID.len() as u64) as usize] as f64)
        };
        let missing = match rng.below(100) {
            0..20 => MissingMode::NanAsZero,
            20..25 if zero => MissingMode::ZeroOrNan,
            _ => MissingMode::Nan,
        };
        let split = Split {
            feature: rng.below(nf as u64) as u32,
            test,
            default_left: rng.chance(50),
            missing,
            left: 0,
            right: 0,
        };
        let left = nodes.len();
        grow(rng, nodes, d + 1, max_d, nf, flags);
        let right = nodes.len();
        grow(rng, nodes, d + 1, max_d, nf, flags);
        nodes[at] = Node::Split(Split {
            left,
            right,
            ..split
        });
    }
    let mut nodes = Vec::new();
    grow(rng, &mut nodes, 0, max_depth, n_features, (cat, zero));
    Tree {
        nodes,
        output: Some(0),
        weight: if rng.chance(20) {
            (rng.unit() * 2.0) as f32
        } else {
            1.0
        },
    }
}

fn random_ensemble(seed: u64, categorical: bool) -> Ensemble {
    let mut rng = Rng(seed | 1);
    let n_features = 1 + rng.below(60) as u32;
    let max_depth = rng.below(11) as u32;
    let n_trees = rng.below(40) as usize;
    // One model in five has zero-as-missing splits (of which those whose zero band does not compare to their
    // default side are refused, and one refusal takes the whole model).
    let zero = rng.chance(20);
    let trees = (0..n_trees)
        .map(|_| random_tree(&mut rng, n_features, max_depth, categorical, zero))
        .collect();
    Ensemble {
        n_features,
        n_outputs: 1,
        trees,
        base_margin: vec![rng.unit() - 0.5],
        compare: if rng.chance(50) {
            Compare::Less
        } else {
            Compare::LessEqual
        },
        aggregate: if rng.chance(30) {
            Aggregate::Mean {
                divisor: 1.0 + rng.below(10) as f64,
            }
        } else {
            Aggregate::Sum
        },
        transform: match rng.below(5) {
            0 => Transform::Identity,
            1 => Transform::Sigmoid,
            2 => Transform::Exp,
            3 => Transform::HingeStep,
            _ => Transform::ArgMax,
        },
        precision: Precision::F32,
        feature_names: None,
        source: format!("random seed {seed}"),
        input_f64: false,
    }
}

fn random_rows(rng: &mut Rng, n_rows: usize, stride: usize) -> Vec<f32> {
    (0..n_rows * stride)
        .map(|_| match rng.below(12) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => (rng.unit() * 10.0 - 5.0) as f32,
            _ => GRID[rng.below(GRID.len() as u64) as usize],
        })
        .collect()
}

#[test]
fn random_models_agree_bit_for_bit() {
    let mut planned = 0;
    let mut refused = 0;
    for seed in 0..60u64 {
        let e = random_ensemble(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), false);
        let bytes = blob::write(&e).unwrap();
        let f = Forest::new(&bytes).unwrap();
        let mut rng = Rng(seed + 7);
        // A stride larger than the feature count: rows do not touch.
        let stride = e.n_features as usize + (seed % 3) as usize;
        let rows = random_rows(&mut rng, 83, stride);
        match check_model(&format!("seed {seed}"), &f, &rows, stride) {
            Ok(true) => planned += 1,
            Ok(false) => {
                // Only zero-as-missing splits whose zero band does not compare to the default side are refused in
                // these models.
                let why = f.simd_plan_len().unwrap_err();
                assert!(
                    matches!(why, PlanUnsupported::ZeroMissing { .. }),
                    "seed {seed}: {why}"
                );
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    println!("random models: {planned} planned, {refused} refused");
    assert!(planned >= 40, "only {planned} of 60 random models planned");
}

#[test]
fn categorical_and_wide_models_take_the_scalar_path() {
    let mut seen_categorical = false;
    for seed in 0..30u64 {
        let mut e = random_ensemble(seed + 1000, true);
        let bytes = blob::write(&e).unwrap();
        let f = Forest::new(&bytes).unwrap();
        let mut rng = Rng(seed + 3);
        let stride = e.n_features as usize;
        let rows = random_rows(&mut rng, 40, stride);
        let planned = check_model(&format!("categorical seed {seed}"), &f, &rows, stride).unwrap();
        if let Err(PlanUnsupported::Categorical { .. }) = f.simd_plan_len() {
            assert!(!planned);
            seen_categorical = true;
        }
        e.precision = Precision::F64;
        let wide = blob::write(&e).unwrap();
        let f = Forest::new(&wide).unwrap();
        assert_eq!(f.simd_plan_len(), Err(PlanUnsupported::WideValues));
        assert!(!check_model(&format!("f64 seed {seed}"), &f, &rows, stride).unwrap());
    }
    assert!(seen_categorical);
}

/// A tree of depth exactly `depth`: a spine of splits down to it (each spine split's other child a random
/// subtree that stops at each node with probability 1/2), random numeric thresholds and missing modes.
fn deep_tree(rng: &mut Rng, n_features: u32, depth: u32) -> Tree {
    fn grow(rng: &mut Rng, nodes: &mut Vec<Node>, d: u32, max_d: u32, nf: u32, spine: bool) {
        let at = nodes.len();
        if d >= max_d || (!spine && rng.chance(50)) {
            nodes.push(Node::Leaf(vec![rng.unit() * 2.0 - 1.0]));
            return;
        }
        nodes.push(Node::Leaf(vec![]));
        let missing = match rng.below(100) {
            0..20 => MissingMode::NanAsZero,
            _ => MissingMode::Nan,
        };
        let spine_left = rng.chance(50);
        let left = nodes.len();
        grow(rng, nodes, d + 1, max_d, nf, spine && spine_left);
        let right = nodes.len();
        grow(rng, nodes, d + 1, max_d, nf, spine && !spine_left);
        nodes[at] = Node::Split(Split {
            feature: rng.below(nf as u64) as u32,
            test: Test::Numeric(GRID[rng.below(GRID.len() as u64) as usize] as f64),
            default_left: rng.chance(50),
            missing,
            left,
            right,
        });
    }
    let mut nodes = Vec::new();
    grow(rng, &mut nodes, 0, depth, n_features, true);
    Tree {
        nodes,
        output: Some(0),
        weight: if rng.chance(20) {
            (rng.unit() * 2.0) as f32
        } else {
            1.0
        },
    }
}

#[test]
fn deep_random_models_agree_bit_for_bit() {
    // Random ensembles with trees deeper than a complete tree of the plan holds (planned sparse) among the
    // shallow ones (planned complete), at every level, batch and single rows, NaN in the rows.
    let mut sparse = 0;
    for seed in 0..24u64 {
        let mut e = random_ensemble(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1, false);
        let mut rng = Rng(seed + 101);
        for _ in 0..1 + rng.below(5) {
            let depth = emkern_simd::forest::MAX_DEPTH + 1 + rng.below(20) as u32;
            let at = rng.below(e.trees.len() as u64 + 1) as usize;
            let tree = deep_tree(&mut rng, e.n_features, depth);
            e.trees.insert(at, tree);
        }
        let bytes = blob::write(&e).unwrap();
        let f = Forest::new(&bytes).unwrap();
        let stride = e.n_features as usize + 1;
        let rows = random_rows(&mut rng, 80, stride);
        match check_model(&format!("deep seed {seed}"), &f, &rows, stride) {
            Ok(true) => {
                let mut words = vec![0u32; f.simd_plan_len().unwrap()];
                assert!(f.simd_plan(&mut words).unwrap().has_sparse());
                sparse += 1;
            }
            Ok(false) => {
                let why = f.simd_plan_len().unwrap_err();
                assert!(
                    matches!(why, PlanUnsupported::ZeroMissing { .. }),
                    "deep seed {seed}: {why}"
                );
            }
            Err(e) => panic!("{e}"),
        }
    }
    println!("deep random models: {sparse} of 24 planned with sparse trees");
    assert!(sparse >= 16, "only {sparse} of 24 deep models planned");
}

#[test]
fn chains_deeper_than_a_complete_plan_are_sparse_up_to_the_limit() {
    // A chain of MAX_DEPTH + 1 splits is planned (sparse) and exact; one of MAX_SPARSE_DEPTH + 1 is refused.
    let planned = chain(emkern_simd::forest::MAX_DEPTH + 1);
    let f = Forest::new(&planned).unwrap();
    let rows: Vec<f32> = (0..40).map(|i| i as f32 * 0.4 - 1.0).collect();
    assert!(check_model("chain", &f, &rows, 2).unwrap());
    let depth = emkern_simd::forest::MAX_SPARSE_DEPTH + 1;
    let refused = chain(depth);
    let f = Forest::new(&refused).unwrap();
    assert_eq!(
        f.simd_plan_len(),
        Err(PlanUnsupported::TooDeep { tree: 0, depth })
    );
    let rows: Vec<f32> = (0..140).map(|i| i as f32 * 0.5 - 1.0).collect();
    assert!(!check_model("deep chain", &f, &rows, 2).unwrap());
}

/// The blob of a one-feature model whose one tree is [`forest_gen::chain_tree`] of `depth` splits.
fn chain(depth: u32) -> Vec<u8> {
    let e = Ensemble {
        trees: vec![forest_gen::chain_tree(depth as usize)],
        ..forest_gen::one_split_model()
    };
    blob::write(&e).unwrap()
}

#[test]
fn wrong_shapes_and_foreign_plans() {
    // The first seed from 11 whose model is planned.
    let bytes = (11..)
        .map(|seed| blob::write(&random_ensemble(seed, false)).unwrap())
        .find(|b| Forest::new(b).unwrap().simd_plan_len().is_ok())
        .unwrap();
    let f = Forest::new(&bytes).unwrap();
    let mut words = vec![0u32; f.simd_plan_len().unwrap()];
    let plan = f.simd_plan(&mut words).unwrap();
    let nf = f.n_features();
    let rows = vec![0.5f32; 10 * nf];
    let mut out = vec![0.0f32; 10];
    for simd in Simd::available() {
        // Same errors as the scalar batch path.
        assert_eq!(
            f.predict_batch_simd(simd, Some(&plan), &rows, nf, 11, &mut out, false),
            f.predict_batch(&rows, nf, 11, &mut out, false)
                .map(|_| BatchPath::Scalar)
        );
        assert!(
            f.predict_batch_simd(simd, Some(&plan), &rows, nf, 10, &mut out[..9], false)
                .is_err()
        );
        if nf > 1 {
            assert!(
                f.predict_batch_simd(simd, Some(&plan), &rows, nf - 1, 2, &mut out, false)
                    .is_err()
            );
        }
    }
    // The single-row entry: the same errors as `predict`, and nothing written on error.
    for simd in Simd::available() {
        let mut one = [7.0f32; 1];
        assert_eq!(
            f.predict_simd_row(simd, Some(&plan), &rows[..nf - 1], &mut one, false),
            f.predict(&rows[..nf - 1], &mut one)
                .map(|_| BatchPath::Scalar)
        );
        assert_eq!(
            f.predict_simd_row(simd, Some(&plan), &rows[..nf], &mut [], true),
            f.predict_margin(&rows[..nf], &mut [])
                .map(|_| BatchPath::Scalar)
        );
        assert_eq!(one, [7.0]);
    }
    // A buffer one word short is refused.
    let mut short = vec![0u32; f.simd_plan_len().unwrap() - 1];
    assert!(matches!(
        f.simd_plan(&mut short),
        Err(PlanUnsupported::Plan(_))
    ));
    // Another model's plan is not used: the scalar path runs, with the right answers.
    let other = random_ensemble(5000, false);
    let other_bytes = blob::write(&other).unwrap();
    let g = Forest::new(&other_bytes).unwrap();
    if g.n_features() == nf {
        let want = single_rows(&g, &rows, nf, 10, false);
        let path = g
            .predict_batch_simd(Simd::best(), Some(&plan), &rows, nf, 10, &mut out, false)
            .unwrap();
        assert_eq!(path, BatchPath::Scalar);
        assert_eq!(bits(&out), bits(&want));
        let mut one = [0.0f32];
        let path = g
            .predict_simd_row(Simd::best(), Some(&plan), &rows[..nf], &mut one, false)
            .unwrap();
        assert_eq!(path, BatchPath::Scalar);
        assert_eq!(one[0].to_bits(), want[0].to_bits());
    } else {
        let g_rows = vec![0.5f32; 10 * g.n_features()];
        let want = single_rows(&g, &g_rows, g.n_features(), 10, false);
        let path = g
            .predict_batch_simd(
                Simd::best(),
                Some(&plan),
                &g_rows,
                g.n_features(),
                10,
                &mut out,
                false,
            )
            .unwrap();
        assert_eq!(path, BatchPath::Scalar);
        assert_eq!(bits(&out), bits(&want));
    }
}
