//! QuickScorer's margins equal the core's `Forest::predict_margin` bit for bit: on every framework fixture it
//! accepts (with the fixture's rows, the rows with NaN put in, and rows made of the model's own thresholds, their
//! f32 neighbours, ±0, ±∞ and NaN), and on random ensembles with ties, signed zeros, infinite thresholds, every
//! missing mode, tree weights, sums and means. Every engine (row by row, blocked, AVX2, AVX-512 where the CPU has them) is checked.

use std::path::{Path, PathBuf};

use emkern::forest::Forest;
use emkern_benches::quickscorer::{QuickScorer, Refused};
use emkern_host::export::blob;
use emkern_host::export::codegen::model::{Model, Test};
use emkern_host::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test as IrTest, Transform,
    Tree,
};

/// xorshift64*: deterministic test randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Checks every engine against `predict_margin` on `rows` (row-major, `n_features` each); returns the rows checked.
fn check_engines(what: &str, forest: &Forest<'_>, qs: &QuickScorer, rows: &[f32]) -> usize {
    let nf = forest.n_features();
    let no = forest.n_outputs();
    let n_rows = rows.len() / nf;
    let mut want = vec![0.0f32; n_rows * no];
    for (r, o) in want.chunks_exact_mut(no).enumerate() {
        forest
            .predict_margin(&rows[r * nf..(r + 1) * nf], o)
            .unwrap();
    }
    let mut engines: Vec<(&str, Vec<f32>)> = Vec::new();
    let mut out = vec![f32::NAN; n_rows * no];
    qs.score(rows, nf, n_rows, &mut out);
    engines.push(("score", out.clone()));
    out.fill(f32::NAN);
    qs.score_blocked(rows, nf, n_rows, &mut out);
    engines.push(("score_blocked", out.clone()));
    out.fill(f32::NAN);
    if qs.score_avx2(rows, nf, n_rows, &mut out) {
        engines.push(("score_avx2", out.clone()));
    }
    out.fill(f32::NAN);
    if qs.score_avx512(rows, nf, n_rows, &mut out) {
        engines.push(("score_avx512", out.clone()));
    }
    for (name, got) in engines {
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "{what}: {name}, row {}, column {}: {g} vs predict_margin {w} (row {:?})",
                i / no,
                i % no,
                &rows[(i / no) * nf..(i / no + 1) * nf]
            );
        }
    }
    n_rows
}

/// Rows that probe the model's own thresholds: each value is a threshold, one of its f32 neighbours, a signed
/// zero, an infinity, NaN or a random normal-ish value.
fn probing_rows(blob: &[u8], n_features: usize, n_rows: usize, rng: &mut Rng) -> Vec<f32> {
    let model = Model::from_blob(blob).unwrap();
    let mut values = vec![0.0f32, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
    for tree in &model.trees {
        for node in &tree.nodes {
            if let Test::Numeric { threshold: t, .. } = node.test {
                values.extend([t, t.next_up(), t.next_down()]);
            }
        }
    }
    (0..n_rows * n_features)
        .map(|_| match rng.below(4) {
            0 => (rng.unit() - 0.5) * 8.0,
            _ => values[rng.below(values.len())],
        })
        .collect()
}

/// A fixture's input rows: the CSV's cells (an empty or unreadable cell is NaN), header skipped.
fn read_rows(path: &Path, n_features: usize) -> Vec<f32> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let mut row: Vec<f32> = line
            .split(',')
            .map(|c| c.trim().parse::<f32>().unwrap_or(f32::NAN))
            .collect();
        row.resize(n_features, f32::NAN);
        rows.extend(row);
    }
    rows
}

fn fixture_models() -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host-tests/fixtures");
    let mut found = Vec::new();
    for (framework, file) in [("xgboost", "model.json"), ("lightgbm", "model.txt")] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(framework))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        for dir in dirs {
            if dir.join(file).exists() && dir.join("input.csv").exists() {
                found.push((dir.join(file), dir.join("input.csv")));
            }
        }
    }
    found
}

#[test]
fn fixtures_match_predict_margin() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accepted = Vec::new();
    let mut checked_rows = 0;
    for (model_path, input) in fixture_models() {
        let mut loaded = emkern_host::model::load(&model_path).unwrap();
        let name = model_path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // The model as imported, and re-exported with f32 values (`emkern import --f32`) when it is not already.
        let mut blobs = vec![(name.clone(), loaded.blob.clone())];
        if let Some(e) = loaded.ensemble.as_mut()
            && e.precision == Precision::F64
        {
            e.precision = Precision::F32;
            if let Ok(b) = blob::write(e) {
                blobs.push((format!("{name} (f32)"), b));
            }
        }
        for (what, bytes) in blobs {
            let forest = Forest::new(&bytes).unwrap();
            let qs = match QuickScorer::from_blob(&bytes) {
                Ok(qs) => qs,
                Err(e) => {
                    eprintln!("{what}: refused: {e}");
                    continue;
                }
            };
            let nf = forest.n_features();
            let rows = read_rows(&input, nf);
            checked_rows += check_engines(&what, &forest, &qs, &rows);
            // Each row with one feature missing, in turn, and one row with every feature missing.
            let mut holes = rows.clone();
            for (r, row) in holes.chunks_exact_mut(nf).enumerate() {
                row[r % nf] = f32::NAN;
            }
            holes.extend(std::iter::repeat_n(f32::NAN, nf));
            checked_rows += check_engines(&what, &forest, &qs, &holes);
            let probes = probing_rows(&bytes, nf, 203, &mut rng);
            checked_rows += check_engines(&what, &forest, &qs, &probes);
            accepted.push(what);
        }
    }
    eprintln!(
        "accepted {} fixture models ({checked_rows} rows): {accepted:?}",
        accepted.len()
    );
    for needed in [
        "v2.1.4-binary-logistic",
        "v1.7.6-binary-logistic-nan-heavy",
        "v3.4.1-dart",
        "v4.7.0-binary (f32)",
        "v4.7.0-missing-nan (f32)",
        "v4.7.0-missing-none (f32)",
        "v4.7.0-multiclass (f32)",
        "v4.7.0-rf (f32)",
    ] {
        assert!(
            accepted.iter().any(|a| a == needed),
            "{needed} was not accepted"
        );
    }
}

#[test]
fn refuses_what_it_cannot_score_exactly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host-tests/fixtures");
    let load = |p: &str| emkern_host::model::load(&root.join(p)).unwrap().blob;
    let load_f32 = |p: &str| {
        let mut e = emkern_host::model::load(&root.join(p))
            .unwrap()
            .ensemble
            .unwrap();
        e.precision = Precision::F32;
        blob::write(&e).unwrap()
    };
    assert!(matches!(
        QuickScorer::from_blob(&load_f32("lightgbm/v4.7.0-linear-tree/model.txt")),
        Err(Refused::LinearLeaves { .. })
    ));
    // Splits at LightGBM's zero threshold (1e-35) with zero as missing: the band's values go both ways.
    assert!(matches!(
        QuickScorer::from_blob(&load_f32("lightgbm/v4.7.0-missing-zero/model.txt")),
        Err(Refused::ZeroBand { .. })
    ));
    assert_eq!(
        QuickScorer::from_blob(&load("lightgbm/v4.7.0-binary/model.txt")).unwrap_err(),
        Refused::WideValues
    );
    assert!(matches!(
        QuickScorer::from_blob(&load("xgboost/v2.1.4-categorical-feature-types/model.json")),
        Err(Refused::Categorical { .. })
    ));
    assert!(matches!(
        QuickScorer::from_blob(&load("xgboost/v2.1.4-multi-output-tree/model.json")),
        Err(Refused::VectorLeaves { .. })
    ));
    // A tree of depth 7 with more than 64 leaves.
    let e = random_ensemble(&mut Rng(7), 1, 7, 128);
    assert!(matches!(
        QuickScorer::from_blob(&blob::write(&e).unwrap()),
        Err(Refused::TooManyLeaves { .. })
    ));
    // LightGBM's zero band across the threshold: -1e-35 goes left, 1e-35 right, so the band is no one side.
    let mut e = random_ensemble(&mut Rng(7), 1, 0, 64);
    e.compare = Compare::Less;
    e.trees[0].nodes = vec![
        Node::Split(Split {
            feature: 0,
            test: IrTest::Numeric(0.0),
            default_left: true,
            missing: MissingMode::ZeroOrNan,
            left: 1,
            right: 2,
        }),
        Node::Leaf(vec![1.0]),
        Node::Leaf(vec![2.0]),
    ];
    assert!(matches!(
        QuickScorer::from_blob(&blob::write(&e).unwrap()),
        Err(Refused::ZeroBand { .. })
    ));
}

/// A random ensemble of `n_trees` trees of at most `max_leaves` leaves, complete to `depth` then cut at random.
fn random_ensemble(rng: &mut Rng, n_trees: usize, depth: u32, max_leaves: usize) -> Ensemble {
    let nf = 5;
    // Few distinct thresholds: ties within and across trees, signed zeros, infinities, the zero band's edges.
    let pool = [
        -1.5f32,
        -0.25,
        -0.0,
        0.0,
        0.5,
        1.0,
        3.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1.0e-35,
        -1.0e-35,
        2.0e-35,
    ];
    let compare = if rng.below(2) == 0 {
        Compare::Less
    } else {
        Compare::LessEqual
    };
    let mut trees = Vec::new();
    for _ in 0..n_trees {
        // `leaves` counts the leaves the tree has so far (every placeholder is one): a split adds one.
        #[allow(clippy::too_many_arguments)]
        fn grow(
            rng: &mut Rng,
            nodes: &mut Vec<Node>,
            at: usize,
            d: u32,
            leaves: &mut usize,
            max_leaves: usize,
            pool: &[f32],
            compare: Compare,
        ) {
            let split = d > 0 && *leaves < max_leaves && (d > 1 || rng.below(4) != 0);
            if !split {
                nodes[at] = Node::Leaf(vec![((rng.unit() - 0.5) * 2.0) as f64]);
                return;
            }
            *leaves += 1;
            let (left, right) = (nodes.len(), nodes.len() + 1);
            nodes.push(Node::Leaf(vec![0.0]));
            nodes.push(Node::Leaf(vec![0.0]));
            let t = pool[rng.below(pool.len())];
            let mut default_left = rng.below(2) == 0;
            let below = |x: f32| match compare {
                Compare::Less => x < t,
                Compare::LessEqual => x <= t,
            };
            let missing = match rng.below(3) {
                0 => MissingMode::Nan,
                1 => MissingMode::NanAsZero,
                // LightGBM's zero band, where its values all take one side: make that the default side.
                _ if below(-1.0e-35) == below(1.0e-35) => {
                    default_left = below(0.0);
                    MissingMode::ZeroOrNan
                }
                _ => MissingMode::Nan,
            };
            nodes[at] = Node::Split(Split {
                feature: rng.below(5) as u32,
                test: IrTest::Numeric(t as f64),
                default_left,
                missing,
                left,
                right,
            });
            grow(rng, nodes, left, d - 1, leaves, max_leaves, pool, compare);
            grow(rng, nodes, right, d - 1, leaves, max_leaves, pool, compare);
        }
        let mut nodes = vec![Node::Leaf(vec![0.0])];
        let mut leaves = 1;
        grow(
            rng,
            &mut nodes,
            0,
            depth,
            &mut leaves,
            max_leaves,
            &pool,
            compare,
        );
        trees.push(Tree {
            nodes,
            output: Some(0),
            weight: if rng.below(3) == 0 { 0.37 } else { 1.0 },
        });
    }
    Ensemble {
        n_features: nf as u32,
        n_outputs: 1,
        trees,
        base_margin: vec![0.125],
        compare,
        aggregate: if rng.below(3) == 0 {
            Aggregate::Mean {
                divisor: n_trees as f64,
            }
        } else {
            Aggregate::Sum
        },
        transform: Transform::Identity,
        precision: Precision::F32,
        feature_names: None,
        source: "random".into(),
        input_f64: false,
    }
}

#[test]
fn random_ensembles_match_predict_margin() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let mut accepted = 0;
    for case in 0..60 {
        let (n_trees, depth) = (1 + rng.below(12), 1 + rng.below(6) as u32);
        let e = random_ensemble(&mut rng, n_trees, depth, 64);
        let bytes = blob::write(&e).unwrap();
        let forest = Forest::new(&bytes).unwrap();
        match QuickScorer::from_blob(&bytes) {
            Ok(qs) => {
                let rows = probing_rows(&bytes, forest.n_features(), 101, &mut rng);
                check_engines(&format!("random case {case}"), &forest, &qs, &rows);
                accepted += 1;
            }
            Err(e) => panic!("random case {case}: refused: {e}"),
        }
    }
    eprintln!("random ensembles: {accepted} checked");
}
