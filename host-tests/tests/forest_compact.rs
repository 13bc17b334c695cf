//! The compact layout (`emkern::forest::compact`): for every model inside its scope, the compact reader's
//! margins and predictions are the general reader's bit for bit (random ensembles on rows with NaN, ±0,
//! infinities, the thresholds and their f32 neighbours; the XGBoost and scikit-learn fixtures that fit);
//! corrupted and truncated compact blobs are rejected or predict without panicking; the writer names every
//! reason a model does not fit.

#[path = "common/forest_gen.rs"]
mod forest_gen;
#[path = "common/proptest_config.rs"]
mod proptest_config;
#[path = "common/scratch.rs"]
mod scratch;
use forest_gen::{Rng, one_split_model, split_mut};
use scratch::Scratch;
use std::path::Path;

use emkern::forest::{CompactError, CompactForest, Compare, Forest, MissingMode, Transform};
use emkern_host::export::blob;
use emkern_host::export::compact::{self, CompactRefusal};
use emkern_host::ir::{Aggregate, Ensemble, LinearLeaf, Node, Precision, Split, Test, Tree};
use emkern_host::{io, model};
use proptest::prelude::*;
use proptest_config::proptest_config;

/// Thresholds are drawn from this grid (sometimes nudged off f32), so rows can land on them and next to them.
const GRID: [f64; 14] = [
    -2.5,
    -1.0,
    -0.5,
    0.0,
    -0.0,
    0.1,
    0.5,
    1.0,
    3.0,
    7.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f32::MAX as f64,
    1.0e39,
];

/// A random tree; `output` `None` gives vector leaves of `width` values (drawn from a few, so that some
/// leaves repeat a vector, as a classifier's pure leaves do).
fn random_tree(
    rng: &mut Rng,
    n_features: u32,
    output: Option<u32>,
    width: usize,
    max_depth: u32,
) -> Tree {
    fn value(rng: &mut Rng) -> f64 {
        match rng.below(10) {
            0 => 0.0,
            1 => -0.0,
            2 => 1.0,
            _ => rng.unit() * 20.0 - 10.0,
        }
    }
    fn grow(
        rng: &mut Rng,
        nodes: &mut Vec<Node>,
        (depth, max_depth, nf, width): (u32, u32, u32, usize),
    ) -> usize {
        let at = nodes.len();
        if depth >= max_depth || rng.chance(25) {
            let v = if rng.chance(40) {
                let hot = rng.below(width as u64) as usize;
                (0..width)
                    .map(|k| if k == hot { 1.0 } else { 0.0 })
                    .collect()
            } else {
                (0..width).map(|_| value(rng)).collect()
            };
            nodes.push(Node::Leaf(v));
            return at;
        }
        nodes.push(Node::Leaf(vec![])); // placeholder, replaced below
        let g = GRID[rng.below(GRID.len() as u64) as usize];
        let threshold = if g.is_finite() && rng.chance(30) {
            g + 1e-9 * (rng.unit() - 0.5)
        } else {
            g
        };
        let feature = rng.below(nf as u64) as u32;
        let default_left = rng.chance(50);
        let left = grow(rng, nodes, (depth + 1, max_depth, nf, width));
        let right = grow(rng, nodes, (depth + 1, max_depth, nf, width));
        nodes[at] = Node::Split(Split {
            feature,
            test: Test::Numeric(threshold),
            default_left,
            missing: MissingMode::Nan,
            left,
            right,
        });
        at
    }
    let mut nodes = Vec::new();
    let width = if output.is_some() { 1 } else { width };
    grow(rng, &mut nodes, (0, max_depth, n_features, width));
    let weight = match rng.below(10) {
        0 => (rng.unit() * 2.0) as f32,
        1 => 0.0,
        _ => 1.0,
    };
    Tree {
        nodes,
        output,
        weight,
    }
}

/// A random ensemble inside the compact layout's scope.
fn random_compact_ensemble(seed: u64) -> Ensemble {
    let mut rng = Rng(seed | 1);
    let n_features = 1 + rng.below(300) as u32;
    let n_outputs = match rng.below(4) {
        0 => 1 + rng.below(32) as u32,
        1 => 32,
        _ => 1,
    };
    let n_trees = rng.below(14) as usize;
    let max_depth = rng.below(10) as u32;
    // A third of the models have vector leaves (a random-forest classifier; the general layout does not mix
    // them with scalar trees, and has vector leaves only for two or more outputs).
    let vectors = n_outputs >= 2 && rng.chance(33);
    let trees = (0..n_trees)
        .map(|t| {
            let output = if vectors {
                None
            } else if rng.chance(70) {
                Some((t as u32) % n_outputs)
            } else {
                Some(rng.below(n_outputs as u64) as u32)
            };
            random_tree(&mut rng, n_features, output, n_outputs as usize, max_depth)
        })
        .collect();
    let transform = match rng.below(5) {
        0 => Transform::Identity,
        1 => Transform::Sigmoid,
        2 => Transform::Softmax,
        3 => Transform::ArgMax,
        _ => Transform::Exp,
    };
    Ensemble {
        n_features,
        n_outputs,
        trees,
        base_margin: (0..n_outputs)
            .map(|_| match rng.below(8) {
                0 => 0.0,
                1 => -0.0,
                _ => rng.unit() - 0.5,
            })
            .collect(),
        compare: if rng.chance(50) {
            Compare::Less
        } else {
            Compare::LessEqual
        },
        aggregate: if rng.chance(30) {
            Aggregate::Mean {
                divisor: 1.0 + rng.below(10) as f64 + if rng.chance(30) { 0.1 } else { 0.0 },
            }
        } else {
            Aggregate::Sum
        },
        transform,
        precision: Precision::F32,
        feature_names: None,
        source: format!("random compact seed {seed}"),
        input_f64: false,
    }
}

/// The f32 values next to every threshold of `e` (the value rounded both ways and its neighbours), for rows.
fn threshold_values(e: &Ensemble) -> Vec<f32> {
    let mut v = Vec::new();
    for t in &e.trees {
        for n in &t.nodes {
            if let Node::Split(Split {
                test: Test::Numeric(th),
                ..
            }) = n
            {
                for r in [blob::f32_round_down(*th), blob::f32_round_up(*th)] {
                    v.extend([r, r.next_up(), r.next_down()]);
                }
            }
        }
    }
    v
}

fn random_row(rng: &mut Rng, n: usize, near: &[f32]) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.below(12) {
            0 => f32::NAN,
            1 => -f32::NAN,
            2 => 0.0,
            3 => -0.0,
            4 => 1.0e-36,
            5 => f32::INFINITY,
            6 => f32::NEG_INFINITY,
            7 => (rng.below(80) as f32) - 5.0 + if rng.chance(50) { 0.5 } else { 0.0 },
            _ if !near.is_empty() => near[rng.below(near.len() as u64) as usize],
            _ => GRID[rng.below(GRID.len() as u64) as usize] as f32,
        })
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Compares both readers on `row`: margins and predictions, bit for bit. Returns a description of the first
/// difference.
fn compare_on(forest: &Forest, compact: &CompactForest, row: &[f32]) -> Result<(), String> {
    let n = forest.n_outputs();
    let (mut a, mut b) = (vec![0.0f32; n], vec![0.0f32; n]);
    forest.predict_margin(row, &mut a).unwrap();
    compact.predict_margin(row, &mut b).unwrap();
    if bits(&a) != bits(&b) {
        return Err(format!("margins: general {a:?}, compact {b:?}"));
    }
    let w = forest.output_len();
    let (mut a, mut b) = (vec![0.0f32; w], vec![0.0f32; w]);
    forest.predict(row, &mut a).unwrap();
    compact.predict(row, &mut b).unwrap();
    if bits(&a) != bits(&b) {
        return Err(format!("predictions: general {a:?}, compact {b:?}"));
    }
    // The transform as a type: the same values.
    use emkern::forest::compact::{ArgMax, Exp, Identity, Sigmoid, Softmax};
    let mut c = vec![0.0f32; w];
    match compact.transform() {
        Transform::Identity => compact.predict_with::<Identity>(row, &mut c),
        Transform::Sigmoid => compact.predict_with::<Sigmoid>(row, &mut c),
        Transform::Softmax => compact.predict_with::<Softmax>(row, &mut c),
        Transform::ArgMax => compact.predict_with::<ArgMax>(row, &mut c),
        t => {
            assert_eq!(t, Transform::Exp);
            compact.predict_with::<Exp>(row, &mut c)
        }
    }
    .unwrap();
    if bits(&a) != bits(&c) {
        return Err(format!("predict_with: general {a:?}, compact {c:?}"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config(2000))]

    #[test]
    fn compact_is_the_general_reader_bit_for_bit(seed in any::<u64>()) {
        let e = random_compact_ensemble(seed);
        let general = blob::write(&e).unwrap();
        let bytes = compact::write(&e).unwrap();
        let forest = Forest::new(&general).unwrap();
        let compact = CompactForest::new(&bytes).unwrap();
        // The view without validation (a blob validated before, e.g. at build time) is the same view.
        // SAFETY: `bytes` was just accepted by `new`, at this address.
        let unchecked = unsafe { CompactForest::new_unchecked(&bytes) };
        prop_assert_eq!(format!("{unchecked:?}"), format!("{compact:?}"));
        prop_assert_eq!(compact.n_features(), forest.n_features());
        prop_assert_eq!(compact.n_outputs(), forest.n_outputs());
        prop_assert_eq!(compact.output_len(), forest.output_len());
        prop_assert_eq!(compact.n_trees(), e.trees.len());
        let near = threshold_values(&e);
        let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        for _ in 0..24 {
            let row = random_row(&mut rng, e.n_features as usize, &near);
            let r = compare_on(&forest, &compact, &row);
            prop_assert!(r.is_ok(), "{}: row {:?}", r.unwrap_err(), row);
        }
    }

    /// Random byte changes with the checksum recomputed (so the structural checks are what stands between the
    /// bytes and the predictor), and truncations: never a panic; an accepted blob predicts without panicking.
    #[test]
    fn corrupted_compact_blobs_never_panic(seed in any::<u64>(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>(), fix_crc in any::<bool>()) {
        let e = random_compact_ensemble(seed);
        let mut bytes = compact::write(&e).unwrap();
        for (at, v) in edits {
            let i = at % bytes.len();
            bytes[i] = v;
        }
        if fix_crc && bytes.len() >= 16 {
            let crc = emkern::forest::crc32(&bytes[16..]);
            bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        }
        let len = if cut % 4 == 0 { cut % (bytes.len() + 1) } else { bytes.len() };
        if let Ok(f) = CompactForest::new(&bytes[..len]) {
            let mut rng = Rng(seed | 1);
            let row = random_row(&mut rng, f.n_features(), &[]);
            let mut out = vec![0.0f32; f.n_outputs().max(f.output_len())];
            prop_assert!(f.predict(&row, &mut out).is_ok());
            prop_assert!(f.predict_margin(&row, &mut out).is_ok());
            prop_assert!(f.predict(&row[..f.n_features() - 1], &mut out).is_err());
        }
    }
}

/// Every XGBoost fixture and every scikit-learn fixture (written with f32 values, the compact layout's
/// precision) that fits the compact layout predicts its input rows, and the rows with missing values, exactly
/// as the general reader.
#[test]
fn fixtures_that_fit_agree_bit_for_bit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut fitted = Vec::new();
    let mut refused = Vec::new();
    let (mut pairs, mut records) = (0, 0);
    let mut oblivious = 0;
    // The walk's two loops: (fixtures, oblivious trees) through the lean loop (one column, no vector leaves),
    // through the general loop with scalar leaves in two or more columns, and with vector leaves.
    let (mut lean, mut columns, mut vectors) = ((0, 0), (0, 0), (0, 0));
    for (framework, file) in [
        ("xgboost", "model.json"),
        ("sklearn", "model.json"),
        ("catboost", "model.json"),
        ("lightgbm", "model.txt"),
    ] {
        let mut dirs: Vec<_> = std::fs::read_dir(root.join(framework))
            .unwrap()
            .filter_map(|d| d.ok().map(|d| d.path()))
            .filter(|p| p.join(file).is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let mut e = model::load(&dir.join(file)).unwrap().ensemble.unwrap();
            e.precision = Precision::F32;
            let bytes = match compact::write(&e) {
                Ok(b) => b,
                Err(why) => {
                    refused.push(format!("{name}: {why}"));
                    continue;
                }
            };
            let general = blob::write(&e).unwrap();
            // From the general blob (what `emkern profile` and `import` of an .emk do): the same bytes.
            assert_eq!(
                compact::write_from_blob(&general).as_ref(),
                Ok(&bytes),
                "{name}"
            );
            let forest = Forest::new(&general).unwrap();
            let compact = CompactForest::new(&bytes).unwrap();
            // The same model as a version-2 writer wrote it (no leaf pairs) still loads and predicts alike.
            let v2 = as_version_2(&bytes);
            pairs += (v2.len() - bytes.len()) / 8;
            records += (v2.len() - bytes.len()) / 8 + (bytes.len() - 40) / 8;
            let compact_v2 = CompactForest::new(&v2).unwrap();
            oblivious += oblivious_trees(&bytes);
            let n_vectors = u32::from_le_bytes(bytes[36..40].try_into().unwrap());
            let walk = match (bytes[28], n_vectors) {
                (1, 0) => &mut lean,
                (_, 0) => &mut columns,
                _ => &mut vectors,
            };
            walk.0 += 1;
            walk.1 += oblivious_trees(&bytes);
            // SAFETY: `bytes` was just accepted by `new`, at this address.
            let unchecked = unsafe { CompactForest::new_unchecked(&bytes) };
            assert_eq!(format!("{unchecked:?}"), format!("{compact:?}"), "{name}");
            let input = io::read_csv(&dir.join("input.csv")).unwrap();
            let nf = forest.n_features();
            for r in 0..input.rows {
                let row = &input.row(r)[..nf];
                compare_on(&forest, &compact, row)
                    .unwrap_or_else(|d| panic!("{name}, row {r}: {d}"));
                compare_on(&forest, &compact_v2, row)
                    .unwrap_or_else(|d| panic!("{name}, row {r}, version 2: {d}"));
                // The same row with every other feature missing.
                let holes: Vec<f32> = row
                    .iter()
                    .enumerate()
                    .map(|(k, x)| if (k + r) % 2 == 0 { f32::NAN } else { *x })
                    .collect();
                compare_on(&forest, &compact, &holes)
                    .unwrap_or_else(|d| panic!("{name}, row {r} with holes: {d}"));
            }
            fitted.push(format!("{name} ({} rows)", input.rows));
        }
    }
    eprintln!(
        "compact layout: {} fixtures fit:\n  {}",
        fitted.len(),
        fitted.join("\n  ")
    );
    eprintln!("refused:\n  {}", refused.join("\n  "));
    // CatBoost's symmetric trees take the oblivious form.
    eprintln!("oblivious trees: {oblivious}");
    assert!(oblivious >= 50, "{oblivious} oblivious trees");
    // Each loop of the walk meets its kinds of tree: the lean loop single-column models with and without
    // oblivious trees, the general loop multi-column scalar models and vector leaves (CatBoost's multiclass
    // models: oblivious trees with vector leaves).
    eprintln!(
        "(fixtures, oblivious trees): lean loop {lean:?}, general loop scalar {columns:?}, vector {vectors:?}"
    );
    assert!(lean.0 >= 10 && lean.1 >= 10, "lean loop: {lean:?}");
    assert!(columns.0 >= 3, "general loop, scalar: {columns:?}");
    assert!(
        vectors.0 >= 3 && vectors.1 >= 10,
        "general loop, vector leaves: {vectors:?}"
    );
    // Leaf pairs: one record saved per bottom split (records counted as version 2 would store them).
    eprintln!("leaf pairs and oblivious trees: {pairs} records saved of {records} (about)");
    assert!(pairs * 10 > records, "{pairs} pairs in {records} records");
    assert!(
        fitted.iter().filter(|f| f.starts_with('v')).count() >= 20,
        "too few fixtures fit the compact layout: {fitted:?}"
    );
    // Vector leaves: scikit-learn's forests of per-class probabilities and multi-output trees fit; so do LightGBM
    // models whose missing modes the layout holds.
    for name in [
        "v1.9.1-random-forest-classifier ",
        "v1.9.1-random-forest-classifier-multiclass ",
        "v1.9.1-extra-trees-classifier ",
        "v1.9.1-random-forest-regressor-multioutput ",
        "v1.9.1-decision-tree-classifier-multioutput ",
        // LightGBM's missing modes: NaN (default side) and None (NaN read as 0.0: 0.0's side).
        "v4.7.0-missing-nan ",
        "v4.7.0-missing-none ",
        "v4.7.0-binary ",
    ] {
        assert!(
            fitted.iter().any(|f| f.starts_with(name)),
            "{name}does not fit: {refused:?}"
        );
    }
}

#[test]
fn every_refusal_is_named() {
    assert!(compact::write(&one_split_model()).is_ok());
    let refused = |change: &dyn Fn(&mut Ensemble)| {
        let mut e = one_split_model();
        change(&mut e);
        let Err(err) = compact::write(&e) else {
            panic!("the compact writer accepted a model outside its scope")
        };
        // Every model the compact writer refuses is still a valid general blob, except an invalid one.
        if !matches!(err, CompactRefusal::Invalid(_)) {
            assert!(
                blob::write(&e).is_ok(),
                "{err}: the general layout should hold it"
            );
            assert!(err.to_string().contains("general layout"), "{err}");
        }
        err
    };
    assert_eq!(
        refused(&|e| e.precision = Precision::F64),
        CompactRefusal::F64Precision
    );
    assert_eq!(
        refused(&|e| {
            e.trees[0].nodes[2] = Node::LinearLeaf(LinearLeaf {
                value: 1.0,
                constant: 0.5,
                terms: vec![(0, 2.0)],
            })
        }),
        CompactRefusal::LinearLeaf { tree: 0, node: 2 }
    );
    assert_eq!(
        refused(&|e| {
            split_mut(e).test = Test::Categorical {
                categories: vec![1, 3],
                in_set_left: false,
                truncate_first: false,
            }
        }),
        CompactRefusal::Categorical { tree: 0, node: 0 }
    );
    // LightGBM's `Zero` mode whose zero band (x ≤ 1e-35 < 0.5 goes left) is not on the default side (right).
    assert_eq!(
        refused(&|e| {
            let s = split_mut(e);
            s.missing = MissingMode::ZeroOrNan;
            s.default_left = false;
        }),
        CompactRefusal::MissingMode {
            tree: 0,
            node: 0,
            mode: MissingMode::ZeroOrNan
        }
    );
    // `None` (NaN read as 0.0), and `Zero` with the band on the default side, fit: NaN takes 0.0's side.
    for (mode, default_left) in [
        (MissingMode::NanAsZero, false),
        (MissingMode::NanAsZero, true),
        (MissingMode::ZeroOrNan, true),
    ] {
        let mut e = one_split_model();
        let s = split_mut(&mut e);
        s.missing = mode;
        s.default_left = default_left;
        let bytes = compact::write(&e).unwrap();
        let general = blob::write(&e).unwrap();
        let forest = Forest::new(&general).unwrap();
        let compact = CompactForest::new(&bytes).unwrap();
        for x in [
            f32::NAN,
            0.0,
            -0.0,
            1.0e-36,
            -1.0e-36,
            0.25,
            0.5,
            0.75,
            -1.0,
        ] {
            compare_on(&forest, &compact, &[0.0, x])
                .unwrap_or_else(|d| panic!("{mode:?}, default left {default_left}, x = {x}: {d}"));
        }
    }
    assert_eq!(
        refused(&|e| {
            e.aggregate = Aggregate::WeightedMedian { weights: vec![1.0] };
            e.transform = Transform::Identity;
        }),
        CompactRefusal::WeightedMedian
    );
    for t in [Transform::HingeStep, Transform::SortAscending] {
        assert_eq!(refused(&|e| e.transform = t), CompactRefusal::Transform(t));
    }
    assert_eq!(
        refused(&|e| {
            e.n_outputs = 33;
            e.base_margin = vec![0.0; 33];
        }),
        CompactRefusal::TooManyOutputs(33)
    );
    assert_eq!(
        refused(&|e| e.n_features = 70_000),
        CompactRefusal::TooManyFeatures(70_000)
    );
    assert!(matches!(
        refused(&|e| e.trees[0].weight = f32::MAX),
        CompactRefusal::NotFiniteF32 { .. }
    ));
    assert!(matches!(
        refused(&|e| e.aggregate = Aggregate::Mean { divisor: 1e-50 }),
        CompactRefusal::NotFiniteF32 { .. }
    ));
    assert!(matches!(
        refused(&|e| e.base_margin = vec![1e39]),
        CompactRefusal::NotFiniteF32 { .. }
    ));
    assert!(matches!(
        refused(&|e| split_mut(e).feature = 2),
        CompactRefusal::Invalid(_)
    ));
    assert!(matches!(
        refused(&|e| split_mut(e).right = 1),
        CompactRefusal::Invalid(_)
    ));
}

/// A chain whose default (next) subtree holds more records than the 15-bit far offset reaches is refused; one
/// just inside the limit predicts as the general reader.
#[test]
fn size_limits_are_named() {
    // Node 0's default child (left) is a chain of `n` splits: its subtree has 2n + 1 records.
    let chain = |n: usize| {
        let mut nodes = Vec::new();
        for i in 0..n {
            nodes.push(Node::Split(Split {
                feature: 0,
                test: Test::Numeric(i as f64),
                default_left: true,
                missing: MissingMode::Nan,
                left: 2 * i + 2,
                right: 2 * i + 1,
            }));
            nodes.push(Node::Leaf(vec![i as f64]));
        }
        nodes.push(Node::Leaf(vec![-1.0]));
        nodes
    };
    let mut e = one_split_model();
    e.trees[0].nodes = chain(16_384);
    let err = compact::write(&e).err();
    assert!(
        matches!(err, Some(CompactRefusal::SubtreeTooLarge { tree: 0, node: 0, far }) if far > emkern::forest::compact::MAX_FAR),
        "{err:?}"
    );
    // Just inside the limit: 16 383 splits, far offset 32 767.
    e.trees[0].nodes = chain(16_383);
    let bytes = compact::write(&e).unwrap();
    let general = blob::write(&e).unwrap();
    let (f, c) = (
        Forest::new(&general).unwrap(),
        CompactForest::new(&bytes).unwrap(),
    );
    for x in [-1.0f32, 0.0, 5.5, 16_382.0, 16_383.0, f32::NAN] {
        compare_on(&f, &c, &[x, 0.0]).unwrap();
    }
    // (More records than 24-bit roots reach, `TooManyRecords`, takes a model of 2^24 nodes: not built here.)
}

/// Header damage is a typed error naming the field.
#[test]
fn header_errors_are_typed() {
    let good = compact::write(&one_split_model()).unwrap();
    assert!(CompactForest::new(&good).is_ok());
    let reseal = |b: &mut Vec<u8>| {
        let crc = emkern::forest::crc32(&b[16..]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
    };
    let with = |at: usize, v: &[u8]| {
        let mut b = good.clone();
        b[at..at + v.len()].copy_from_slice(v);
        reseal(&mut b);
        CompactForest::new(&b).unwrap_err()
    };
    assert_eq!(
        CompactForest::new(&good[..10]).unwrap_err(),
        CompactError::Truncated {
            needed: 40,
            got: 10
        }
    );
    assert_eq!(
        CompactForest::new(&good[..good.len() - 1]).unwrap_err(),
        CompactError::Truncated {
            needed: good.len(),
            got: good.len() - 1
        }
    );
    assert_eq!(with(0, b"EMKF"), CompactError::BadMagic);
    assert_eq!(with(4, &[4, 0]), CompactError::UnsupportedVersion(4));
    assert_eq!(with(6, &[64, 0]), CompactError::BadHeaderLength(64));
    assert_eq!(
        with(16, &[0, 0, 0, 0]),
        CompactError::BadField("n_features")
    );
    assert_eq!(with(28, &[0]), CompactError::BadField("n_outputs"));
    assert_eq!(with(28, &[33]), CompactError::BadField("n_outputs"));
    assert_eq!(with(29, &[2]), CompactError::BadField("aggregate"));
    assert_eq!(with(30, &[5]), CompactError::BadField("transform"));
    assert_eq!(with(31, &[1]), CompactError::BadField("reserved"));
    assert_eq!(
        with(32, &2.0f32.to_le_bytes()),
        CompactError::BadField("divisor")
    );
    assert_eq!(with(24, &[4, 0, 0, 0]), CompactError::BadLayout);
    // n_vectors at 36: a scalar model has none, and one more does not fit total_len.
    assert_eq!(good[36..40], [0, 0, 0, 0]);
    assert_eq!(with(36, &[1]), CompactError::BadLayout);
    assert_eq!(
        with(40, &f32::NAN.to_le_bytes()),
        CompactError::BadBaseMargin { column: 0 }
    );
    // Tree entry at 44: column 1 of 1 output.
    assert!(matches!(
        with(47, &[1]),
        CompactError::BadTree { tree: 0, .. }
    ));
    // Column 255 (vector leaves) with no vector table: the leaves' indices are out of range (the pair's faults
    // name its split's record).
    assert!(matches!(
        with(47, &[255]),
        CompactError::BadRecord { record: 0, what } if what.contains("vector index")
    ));
    // Records from 48: the split's info at 52 (negate 0, feature 1 in bits 1-16, far 1 from bit 17, a bottom
    // split: bytes 02 00 02 00), its leaf pair at 56 (next child) and 60 (far child).
    assert_eq!(good[52..56], [2, 0, 2, 0]);
    assert!(matches!(
        with(52, &[4]),
        CompactError::BadRecord { record: 0, what } if what.contains("feature")
    ));
    // Far offset 3: the pair is read as a record, whose far child lies past the tree.
    assert!(matches!(
        with(54, &[6, 0]),
        CompactError::BadRecord { what, .. } if what.contains("past")
    ));
    assert!(matches!(
        with(54, &[0, 0]),
        CompactError::BadRecord { record: 0, what } if what.contains("offset 0")
    ));
    assert!(matches!(
        with(56, &f32::INFINITY.to_le_bytes()),
        CompactError::BadRecord { record: 0, what } if what.contains("not finite")
    ));
    assert!(matches!(
        with(60, &f32::NAN.to_le_bytes()),
        CompactError::BadRecord { record: 0, what } if what.contains("not finite")
    ));
    // The same bytes one byte past an aligned address.
    let mut shifted = vec![0u8; good.len() + 4];
    let at = (5 - shifted.as_ptr() as usize % 4) % 4;
    shifted[at..at + good.len()].copy_from_slice(&good);
    assert_eq!(
        CompactForest::new(&shifted[at..at + good.len()]).unwrap_err(),
        CompactError::Misaligned
    );
    // A changed leaf value keeps the layout consistent: only the checksum tells, which
    // `new_without_checksum` leaves to `verify_checksum`.
    let mut b = good.clone();
    b[56] ^= 1;
    assert!(matches!(
        CompactForest::new(&b).unwrap_err(),
        CompactError::ChecksumMismatch { .. }
    ));
    let unchecked = CompactForest::new_without_checksum(&b).unwrap();
    assert!(matches!(
        unchecked.verify_checksum().unwrap_err(),
        CompactError::ChecksumMismatch { .. }
    ));
    assert!(
        CompactForest::new_without_checksum(&good)
            .unwrap()
            .verify_checksum()
            .is_ok()
    );
}

/// A version-3 blob rewritten as version 2: every leaf pair expanded into two leaf records (the bottom split's
/// far offset 1 becomes 2) and the far offsets of the splits above it recomputed; the layout a version-2 writer
/// wrote.
fn as_version_2(v3: &[u8]) -> Vec<u8> {
    let word = |at: usize| u32::from_le_bytes(v3[at..at + 4].try_into().unwrap());
    let (n_trees, n_records, n_out) = (word(20) as usize, word(24) as usize, v3[28] as usize);
    let trees_off = 40 + 4 * n_out;
    let records_off = trees_off + 4 * n_trees;
    let vectors_off = records_off + 8 * n_records;
    let rec = |i: usize| (word(records_off + 8 * i), word(records_off + 8 * i + 4));
    // Copies the subtree at old record `i` into `out` in pre-order; returns the old record after it.
    fn copy(i: usize, rec: &dyn Fn(usize) -> (u32, u32), out: &mut Vec<(u32, u32)>) -> usize {
        let (value, info) = rec(i);
        let far = info >> 17;
        if info == 0 {
            out.push((value, 0));
            return i + 1;
        }
        if far == 1 {
            let (a, b) = rec(i + 1);
            out.push((value, (info & 0x1_FFFF) | (2 << 17)));
            out.push((a, 0));
            out.push((b, 0));
            return i + 2;
        }
        let at = out.len();
        out.push((value, 0));
        let j = copy(i + 1, rec, out);
        assert_eq!(j, i + far as usize, "not in pre-order");
        out[at].1 = (info & 0x1_FFFF) | (((out.len() - at) as u32) << 17);
        copy(j, rec, out)
    }
    // An oblivious tree (header at `root`) as the complete tree it stands for, in pre-order.
    fn expand(root: usize, rec: &dyn Fn(usize) -> (u32, u32), out: &mut Vec<(u32, u32)>) {
        let d = rec(root).0 as usize;
        let leaf = |index: usize| {
            let (a, b) = rec(root + 1 + d + index / 2);
            if index.is_multiple_of(2) { a } else { b }
        };
        // The subtree at level `k` whose path so far is `index`.
        fn node(
            k: usize,
            index: usize,
            d: usize,
            root: usize,
            rec: &dyn Fn(usize) -> (u32, u32),
            leaf: &dyn Fn(usize) -> u32,
            out: &mut Vec<(u32, u32)>,
        ) {
            if k == d {
                out.push((leaf(index), 0));
                return;
            }
            let (value, info) = rec(root + 1 + k);
            let at = out.len();
            out.push((value, 0));
            node(k + 1, 2 * index, d, root, rec, leaf, out);
            out[at].1 = info | (((out.len() - at) as u32) << 17);
            node(k + 1, 2 * index + 1, d, root, rec, leaf, out);
        }
        node(0, 0, d, root, rec, &leaf, out);
    }
    let mut records = Vec::new();
    let mut entries = Vec::new();
    for t in 0..n_trees {
        let e = word(trees_off + 4 * t);
        entries.push((records.len() as u32) | (e & 0xFF00_0000));
        let root = (e & 0x00FF_FFFF) as usize;
        if rec(root).1 == 1 {
            expand(root, &rec, &mut records);
        } else {
            copy(root, &rec, &mut records);
        }
    }
    let mut b = v3[..trees_off].to_vec();
    b[4..6].copy_from_slice(&2u16.to_le_bytes());
    b[24..28].copy_from_slice(&(records.len() as u32).to_le_bytes());
    for e in entries {
        b.extend(e.to_le_bytes());
    }
    for (v, i) in records {
        b.extend(v.to_le_bytes());
        b.extend(i.to_le_bytes());
    }
    b.extend_from_slice(&v3[vectors_off..]);
    let len = b.len() as u32;
    b[8..12].copy_from_slice(&len.to_le_bytes());
    let crc = emkern::forest::crc32(&b[16..]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Trees of a compact blob stored in the oblivious form (their root record's info is the header's).
fn oblivious_trees(blob: &[u8]) -> usize {
    let word = |at: usize| u32::from_le_bytes(blob[at..at + 4].try_into().unwrap());
    let (n_trees, n_out) = (word(20) as usize, blob[28] as usize);
    let trees_off = 40 + 4 * n_out;
    let records_off = trees_off + 4 * n_trees;
    (0..n_trees)
        .filter(|t| {
            let root = (word(trees_off + 4 * t) & 0x00FF_FFFF) as usize;
            word(records_off + 8 * root + 4) == emkern::forest::compact::OBLIVIOUS
        })
        .count()
}

/// An oblivious tree's header, levels and leaf table are checked: each kind of damage is a typed error naming the
/// record (the checksum recomputed, so the structural checks are what catches it).
#[test]
fn oblivious_trees_are_checked() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/catboost/v1.2.10-regression");
    let mut e = model::load(&dir.join("model.json"))
        .unwrap()
        .ensemble
        .unwrap();
    e.precision = Precision::F32;
    let good = compact::write(&e).unwrap();
    assert!(CompactForest::new(&good).is_ok());
    let word = |at: usize| u32::from_le_bytes(good[at..at + 4].try_into().unwrap());
    let (n_trees, n_out) = (word(20) as usize, good[28] as usize);
    let records_off = 40 + 4 * n_out + 4 * n_trees;
    // Tree 0 is oblivious: header at record 0 (depth, OBLIVIOUS), levels at 1..=d, leaves after.
    assert_eq!(word(records_off + 4), emkern::forest::compact::OBLIVIOUS);
    let d = word(records_off) as usize;
    assert!(d >= 2);
    let with = |at: usize, v: u32| {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let crc = emkern::forest::crc32(&b[16..]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
        CompactForest::new(&b).unwrap_err()
    };
    let is = |err: CompactError, record: u32, text: &str| {
        assert!(
            matches!(err, CompactError::BadRecord { record: r, what } if r == record && what.contains(text)),
            "{err:?} (expected record {record}: {text})"
        );
    };
    is(with(records_off, 1), 0, "depth out of range");
    is(with(records_off, 17), 0, "depth out of range");
    is(
        with(records_off, d as u32 + 1),
        0,
        "wrong number of records",
    );
    let level = records_off + 8 + 4;
    is(with(level, word(level) | (2 << 17)), 1, "far offset");
    is(with(level, 0xFFFF << 1), 1, "feature index out of range");
    let leaf = records_off + 8 * (1 + d);
    is(
        with(leaf + 4, f32::NAN.to_bits()),
        1 + d as u32,
        "not finite",
    );
    // In a version-2 blob the header is a split with far offset 0.
    let mut v2 = good.clone();
    v2[4..6].copy_from_slice(&2u16.to_le_bytes());
    let crc = emkern::forest::crc32(&v2[16..]);
    v2[12..16].copy_from_slice(&crc.to_le_bytes());
    is(CompactForest::new(&v2).unwrap_err(), 0, "far offset 0");
}

/// A leaf pair in a blob labelled version 2 is refused (pairs came with version 3); the same model written as
/// version 2 loads and predicts alike (every fixture is checked so in `fixtures_that_fit_agree_bit_for_bit`).
#[test]
fn leaf_pairs_need_version_3() {
    let e = one_split_model();
    let v3 = compact::write(&e).unwrap();
    let v2 = as_version_2(&v3);
    assert_eq!(
        v2.len(),
        v3.len() + 8,
        "one pair expanded into two leaf records"
    );
    let mut relabelled = v3.clone();
    relabelled[4..6].copy_from_slice(&2u16.to_le_bytes());
    let crc = emkern::forest::crc32(&relabelled[16..]);
    relabelled[12..16].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        CompactForest::new(&relabelled).unwrap_err(),
        CompactError::BadRecord { what, .. } if what.contains("before version 3")
    ));
    let (a, b) = (
        CompactForest::new(&v3).unwrap(),
        CompactForest::new(&v2).unwrap(),
    );
    for x in [-1.0f32, 0.0, 0.5, 1.0, 2.5, f32::NAN] {
        let (mut p, mut q) = ([0f32; 1], [0f32; 1]);
        a.predict(&[x, x], &mut p).unwrap();
        b.predict(&[x, x], &mut q).unwrap();
        assert_eq!(p[0].to_bits(), q[0].to_bits());
    }
}

/// A version-1 blob (36-byte header, no vector table), built from the version-2 bytes of a scalar model by
/// dropping the `n_vectors` field, still loads and predicts the same; a vector leaf in it is refused.
#[test]
fn version_1_blobs_still_load() {
    let e = one_split_model();
    let v2 = as_version_2(&compact::write(&e).unwrap());
    let mut v1 = Vec::new();
    v1.extend_from_slice(&v2[..4]);
    v1.extend_from_slice(&1u16.to_le_bytes());
    v1.extend_from_slice(&36u16.to_le_bytes());
    v1.extend_from_slice(&((v2.len() - 4) as u32).to_le_bytes());
    v1.extend_from_slice(&v2[12..36]);
    v1.extend_from_slice(&v2[40..]);
    let crc = emkern::forest::crc32(&v1[16..]);
    v1[12..16].copy_from_slice(&crc.to_le_bytes());
    let general = blob::write(&e).unwrap();
    let (f, c) = (
        Forest::new(&general).unwrap(),
        CompactForest::new(&v1).unwrap(),
    );
    for x in [-1.0f32, 0.0, 0.5, 1.0, 2.5, f32::NAN] {
        compare_on(&f, &c, &[x, x]).unwrap();
    }
    // SAFETY: `v1` was just accepted by `new`, at this address.
    let unchecked = unsafe { CompactForest::new_unchecked(&v1) };
    assert_eq!(format!("{unchecked:?}"), format!("{c:?}"));
    v1[43] = 255;
    let crc = emkern::forest::crc32(&v1[16..]);
    v1[12..16].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        CompactForest::new(&v1).unwrap_err(),
        CompactError::BadRecord { what, .. } if what.contains("vector index")
    ));
}

/// Vector leaves: equal vectors are stored once (a binary random forest's pure leaves share two vectors), and
/// a NaN in the vector table is a typed error.
#[test]
fn vector_leaves_are_shared_and_checked() {
    let mut e = one_split_model();
    e.n_outputs = 2;
    e.base_margin = vec![0.0, 0.0];
    e.aggregate = Aggregate::Mean { divisor: 3.0 };
    let tree = |a: f64| Tree {
        nodes: vec![
            Node::Split(Split {
                feature: 0,
                test: Test::Numeric(a),
                default_left: true,
                missing: MissingMode::Nan,
                left: 1,
                right: 2,
            }),
            Node::Leaf(vec![1.0, 0.0]),
            Node::Leaf(vec![0.0, 1.0]),
        ],
        output: None,
        weight: 1.0,
    };
    e.trees = vec![tree(0.5), tree(1.5), tree(-0.5)];
    let bytes = compact::write(&e).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[36..40].try_into().unwrap()), 2);
    let general = blob::write(&e).unwrap();
    let (f, c) = (
        Forest::new(&general).unwrap(),
        CompactForest::new(&bytes).unwrap(),
    );
    for x in [-1.0f32, 0.0, 0.5, 1.0, 1.5, 2.5, f32::NAN] {
        compare_on(&f, &c, &[x, 0.0]).unwrap();
    }
    let mut bad = bytes.clone();
    let at = bad.len() - 4;
    bad[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    let crc = emkern::forest::crc32(&bad[16..]);
    bad[12..16].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        CompactForest::new(&bad).unwrap_err(),
        CompactError::BadVector { vector: 1 }
    );
}

#[test]
fn wrong_shapes_are_errors() {
    let b = compact::write(&one_split_model()).unwrap();
    let f = CompactForest::new(&b).unwrap();
    let mut out = [0.0f32; 1];
    assert!(f.predict(&[1.0], &mut out).is_err());
    assert!(f.predict_margin(&[1.0, 2.0], &mut []).is_err());
    assert!(f.predict(&[1.0, 2.0, 3.0], &mut out).is_ok());
}

/// `emkern import --layout`: `compact` writes a blob `CompactForest` loads (predicting as the general blob),
/// refuses a model outside the scope naming the file and the reason and writing nothing, and `auto` falls back
/// to the general layout.
#[test]
fn import_writes_the_compact_layout() {
    let dir = Scratch::new("compact-cli");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xgboost");
    let run = |model: &Path, out: &Path, layout: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
            .arg("import")
            .arg(model)
            .arg("-o")
            .arg(out)
            .args(["--layout", layout])
            .output()
            .unwrap()
    };
    let fits = fixtures.join("v3.0.5-binary-logistic/model.json");
    let out = dir.join("fits.emkc");
    let r = run(&fits, &out, "compact");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("compact layout"));
    let bytes = std::fs::read(&out).unwrap();
    let general = model::load(&fits).unwrap().blob;
    let (f, c) = (
        Forest::new(&general).unwrap(),
        CompactForest::new(&bytes).unwrap(),
    );
    let input = io::read_csv(&fits.with_file_name("input.csv")).unwrap();
    for r in 0..input.rows {
        compare_on(&f, &c, &input.row(r)[..f.n_features()]).unwrap();
    }

    let categorical = fixtures.join("v3.0.5-categorical-pandas/model.json");
    let refused = dir.join("refused.emkc");
    let r = run(&categorical, &refused, "compact");
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("categorical-pandas/model.json") && err.contains("categorical split"),
        "{err}"
    );
    assert!(!refused.exists());
    let auto = dir.join("auto.emk");
    let r = run(&categorical, &auto, "auto");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(Forest::new(&std::fs::read(&auto).unwrap()).is_ok());
}

/// `emkern inspect` says which layout `import --layout auto` writes and why: compact with the size `import`
/// writes, or general with the compact writer's reason.
#[test]
fn inspect_names_the_auto_layout() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let emkern = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let fits = fixtures.join("xgboost/v3.0.5-binary-logistic/model.json");
    let dir = Scratch::new("compact-inspect");
    let written = dir.join("auto.emkc");
    emkern(&[
        "import".as_ref(),
        fits.as_os_str(),
        "-o".as_ref(),
        written.as_os_str(),
        "--layout".as_ref(),
        "auto".as_ref(),
    ]);
    let size = std::fs::metadata(&written).unwrap().len();
    let text = emkern(&["inspect".as_ref(), fits.as_os_str()]);
    assert!(
        text.contains(&format!(
            "layout (auto)    compact: the model fits it (numeric splits, f32 values); {size} bytes"
        )),
        "{text}"
    );
    let categorical = fixtures.join("xgboost/v3.0.5-categorical-pandas/model.json");
    let text = emkern(&["inspect".as_ref(), categorical.as_os_str()]);
    assert!(
        text.contains("layout (auto)    general: tree ") && text.contains("categorical split"),
        "{text}"
    );
    let f64_model = fixtures.join("sklearn/v1.9.1-random-forest-classifier/model.json");
    let text = emkern(&["inspect".as_ref(), f64_model.as_os_str()]);
    assert!(
        text.contains("layout (auto)    general: the model computes in f64")
            && text.contains("--f32"),
        "{text}"
    );
    // The engine host batches take: the walker with complete trees, the scalar path for f64 values (the
    // walker's reason), and a model with a tree of depth 13 beside the fixture's: one sparse tree.
    let text = emkern(&["inspect".as_ref(), fits.as_os_str()]);
    let loaded = model::load(&fits).unwrap();
    let trees = Forest::new(&loaded.blob).unwrap().summary().trees;
    assert!(
        text.contains(&format!(
            "batch (host)     SIMD walker: {trees} trees complete (depth ≤ 12: the top levels from registers), 0 \
             sparse"
        )),
        "{text}"
    );
    let text = emkern(&["inspect".as_ref(), f64_model.as_os_str()]);
    assert!(
        text.contains("batch (host)     scalar path: f64 values"),
        "{text}"
    );
    let mut deep = loaded.ensemble.unwrap();
    deep.trees.push(forest_gen::chain_tree(13));
    let deep_path = dir.join("deep.emk");
    std::fs::write(&deep_path, blob::write(&deep).unwrap()).unwrap();
    let text = emkern(&["inspect".as_ref(), deep_path.as_os_str()]);
    assert!(
        text.contains(&format!(
            "batch (host)     SIMD walker: {trees} trees complete (depth ≤ 12: the top levels from registers), 1 \
             sparse (deeper: children by index, every level gathered)"
        )),
        "{text}"
    );
}
