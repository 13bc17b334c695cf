//! The integer layout (`emkern::forest::int`): for every model inside its scope, the integer reader reaches the
//! same leaf in every tree as the general reader (trees relabelled with integer leaves, where fixed point is
//! exact, compared with the general layout's f32 margin), and its margins are within the stated bound of the
//! f64 oracle (`Ensemble::margin_reference`) on the XGBoost, LightGBM and scikit-learn fixtures, with rows with
//! missing values; its sigmoid is within `SIGMOID_MAX_ERROR` of f64 over a dense grid; its f32 conversion is
//! f64's rounding; corrupted and truncated blobs are typed errors or predict without panicking; the writer
//! names every reason a model does not fit.

#[path = "common/forest_gen.rs"]
mod forest_gen;
#[path = "common/proptest_config.rs"]
mod proptest_config;
#[path = "common/scratch.rs"]
mod scratch;
use forest_gen::{Rng, one_split_model, split_mut};
use scratch::Scratch;
use std::path::Path;

use emkern::forest::int::{
    SIGMOID_MAX_ERROR, SOFTMAX_MAX_ERROR, fixed_to_f32, sigmoid_fixed, softmax_fixed,
};
use emkern::forest::{Compare, Forest, IntError, IntForest, MissingMode, Transform};
use emkern_host::export::blob;
use emkern_host::export::int::{self, IntRefusal};
use emkern_host::ir::{Aggregate, Ensemble, LinearLeaf, Node, Precision, Split, Test, Tree};
use emkern_host::{io, model};
use proptest::prelude::*;
use proptest_config::proptest_config;

/// The blob in 4-aligned memory (the reader requires it).
struct Aligned(Vec<u32>, usize);

impl Aligned {
    fn new(bytes: &[u8]) -> Aligned {
        let mut w = vec![0u32; bytes.len().div_ceil(4)];
        for (i, b) in bytes.iter().enumerate() {
            w[i / 4] |= u32::from(*b) << (8 * (i % 4));
        }
        Aligned(w, bytes.len())
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: a Vec<u32> of at least len/4 words holds `len` initialised bytes; u8 has no alignment.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), self.1) }
    }
}

/// Thresholds come from this grid (sometimes nudged off f32), so rows land on them and next to them.
const GRID: [f64; 13] = [
    -2.5,
    -1.0,
    -0.5,
    0.0,
    -0.0,
    1.0e-36,
    0.5,
    1.0,
    3.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f32::MAX as f64,
    1.0e39,
];

/// A random tree with integer leaves in ±1000 (so f32 and fixed-point sums are exact) and per-feature missing
/// modes `modes`: scalar leaves adding to `output`, or vector leaves of `width` values when `output` is `None`.
fn random_tree(
    rng: &mut Rng,
    modes: &[MissingMode],
    output: Option<u32>,
    width: usize,
    max_depth: u32,
) -> Tree {
    fn grow(
        rng: &mut Rng,
        nodes: &mut Vec<Node>,
        depth: u32,
        (max_depth, width): (u32, usize),
        modes: &[MissingMode],
    ) -> usize {
        let at = nodes.len();
        if depth >= max_depth || rng.chance(25) {
            let leaf = (0..width)
                .map(|_| rng.below(2001) as f64 - 1000.0)
                .collect();
            nodes.push(Node::Leaf(leaf));
            return at;
        }
        nodes.push(Node::Leaf(vec![])); // placeholder, replaced below
        let g = GRID[rng.below(GRID.len() as u64) as usize];
        let threshold = if g.is_finite() && rng.chance(30) {
            g + 1e-9 * (rng.unit() - 0.5)
        } else {
            g
        };
        let feature = rng.below(modes.len() as u64) as u32;
        let default_left = rng.chance(50);
        let left = grow(rng, nodes, depth + 1, (max_depth, width), modes);
        let right = grow(rng, nodes, depth + 1, (max_depth, width), modes);
        nodes[at] = Node::Split(Split {
            feature,
            test: Test::Numeric(threshold),
            default_left,
            missing: modes[feature as usize],
            left,
            right,
        });
        at
    }
    let mut nodes = Vec::new();
    let width = if output.is_some() { 1 } else { width };
    grow(rng, &mut nodes, 0, (max_depth, width), modes);
    Tree {
        nodes,
        output,
        weight: 1.0,
    }
}

/// A random ensemble inside the integer layout's scope, with exact (integer) leaves and base margins; with
/// several columns, half the time every tree has vector leaves (a leaf table, version 2).
fn random_int_ensemble(seed: u64) -> Ensemble {
    let mut rng = Rng(seed | 1);
    let n_features = 1 + rng.below(40) as u32;
    let modes: Vec<MissingMode> = (0..n_features)
        .map(|_| match rng.below(4) {
            0 => MissingMode::NanAsZero,
            1 => MissingMode::ZeroOrNan,
            _ => MissingMode::Nan,
        })
        .collect();
    let n_outputs = if rng.chance(30) {
        1 + rng.below(6) as u32
    } else {
        1
    };
    let n_trees = rng.below(14) as usize;
    let max_depth = rng.below(9) as u32;
    let vector = n_outputs > 1 && rng.chance(50);
    let trees = (0..n_trees)
        .map(|t| {
            // The general layout holds no mix of scalar and vector trees.
            let output = if vector {
                None
            } else {
                Some((t as u32) % n_outputs)
            };
            random_tree(&mut rng, &modes, output, n_outputs as usize, max_depth)
        })
        .collect();
    Ensemble {
        n_features,
        n_outputs,
        trees,
        base_margin: (0..n_outputs)
            .map(|_| rng.below(21) as f64 - 10.0)
            .collect(),
        compare: if rng.chance(50) {
            Compare::Less
        } else {
            Compare::LessEqual
        },
        aggregate: Aggregate::Sum,
        transform: Transform::Identity,
        precision: Precision::F32,
        feature_names: None,
        source: format!("random int seed {seed}"),
        input_f64: false,
    }
}

/// The f32 values at and next to every threshold of `e`.
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
                    v.extend([r, r.next_up(), r.next_down(), -r]);
                }
            }
        }
    }
    v
}

fn random_row(rng: &mut Rng, n: usize, near: &[f32]) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.below(13) {
            0 => f32::NAN,
            1 => -f32::NAN,
            2 => 0.0,
            3 => -0.0,
            4 => 1.0e-36,
            5 => -1.0e-36,
            6 => f32::INFINITY,
            7 => f32::NEG_INFINITY,
            8 => (rng.below(80) as f32) - 5.0 + if rng.chance(50) { 0.5 } else { 0.0 },
            _ if !near.is_empty() => near[rng.below(near.len() as u64) as usize],
            _ => GRID[rng.below(GRID.len() as u64) as usize] as f32,
        })
        .collect()
}

/// The integer reader's f32 margins of `row`.
fn int_margins(f: &IntForest, row: &[f32]) -> Vec<f32> {
    let mut bins = vec![0u16; f.bins_len()];
    let mut out = vec![0.0f32; f.n_outputs()];
    f.predict_margin(row, &mut bins, &mut out).unwrap();
    out
}

fn general_margins(f: &Forest, row: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; f.n_outputs()];
    f.predict_margin(row, &mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(proptest_config(1500))]

    /// Integer leaves and base margins: the integer reader's margins equal the general reader's exactly (every
    /// tree reached the same leaf, or sums of distinct leaves would differ) on rows with NaN, ±0, infinities,
    /// the thresholds and their neighbours, under both comparisons and all three missing modes.
    #[test]
    fn integer_leaves_give_the_general_margins_exactly(seed in any::<u64>()) {
        let e = random_int_ensemble(seed);
        let general = blob::write(&e).unwrap();
        let bytes = Aligned::new(&int::write(&e).unwrap());
        let forest = Forest::new(&general).unwrap();
        let f = IntForest::new(bytes.bytes()).unwrap();
        prop_assert_eq!(f.n_features(), forest.n_features());
        prop_assert_eq!(f.n_outputs(), forest.n_outputs());
        prop_assert_eq!(f.n_trees(), e.trees.len());
        prop_assert!(f.n_used() <= f.n_features());
        let near = threshold_values(&e);
        let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        // The same model under softmax (version 2): the margins are equal, so the probabilities differ by the
        // two softmaxes' errors alone (the general layout's f32 `exp` and division: a few f32 ulps).
        let soft = (e.n_outputs > 1).then(|| {
            let mut s = e.clone();
            s.transform = Transform::Softmax;
            (blob::write(&s).unwrap(), Aligned::new(&int::write(&s).unwrap()))
        });
        let soft = soft
            .as_ref()
            .map(|(g, i)| (Forest::new(g).unwrap(), IntForest::new(i.bytes()).unwrap()));
        for _ in 0..24 {
            let row = random_row(&mut rng, e.n_features as usize, &near);
            let (a, b) = (general_margins(&forest, &row), int_margins(&f, &row));
            prop_assert_eq!(&a, &b, "row {:?}", row);
            if let Some((g, i)) = &soft {
                let mut want = vec![0.0f32; g.output_len()];
                g.predict(&row, &mut want).unwrap();
                let mut got = vec![0.0f32; i.output_len()];
                let mut bins = vec![0u16; i.bins_len()];
                i.predict(&row, &mut bins, &mut got).unwrap();
                for (x, y) in got.iter().zip(&want) {
                    prop_assert!((x - y).abs() <= SOFTMAX_MAX_ERROR + 1e-6, "softmax {:?} vs {:?}", got, want);
                }
            }
        }
    }

    /// Random byte changes with the checksum recomputed, and truncations: never a panic; an accepted blob
    /// predicts without panicking.
    #[test]
    fn corrupted_int_blobs_never_panic(seed in any::<u64>(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>(), fix_crc in any::<bool>()) {
        let e = random_int_ensemble(seed);
        let mut bytes = int::write(&e).unwrap();
        for (at, v) in edits {
            let i = at % bytes.len();
            bytes[i] = v;
        }
        if fix_crc && bytes.len() >= 16 {
            let crc = emkern::forest::crc32(&bytes[16..]);
            bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        }
        let len = if cut % 4 == 0 { cut % (bytes.len() + 1) } else { bytes.len() };
        let aligned = Aligned::new(&bytes[..len]);
        if let Ok(f) = IntForest::new(aligned.bytes()) {
            let mut rng = Rng(seed | 1);
            let row = random_row(&mut rng, f.n_features(), &[]);
            let mut bins = vec![0u16; f.bins_len()];
            let mut out = vec![0.0f32; f.n_outputs().max(f.output_len())];
            prop_assert!(f.predict(&row, &mut bins, &mut out).is_ok());
            prop_assert!(f.predict_margin(&row, &mut bins, &mut out).is_ok());
            prop_assert!(f.predict(&row[..f.n_features() - 1], &mut bins, &mut out).is_err());
            let garbage: Vec<u16> = (0..f.bins_len()).map(|_| rng.next() as u16).collect();
            let mut fixed = vec![0i32; f.n_outputs()];
            prop_assert!(f.margins_fixed(&garbage, &mut fixed).is_ok());
        }
    }

    /// `fixed_to_f32` is the nearest f32 of `v · 2^-s` (f64 holds it exactly; Rust's f64 → f32 rounds to
    /// nearest even).
    #[test]
    fn fixed_to_f32_rounds_like_f64(v in any::<i32>(), s in -64i32..=64, small in any::<bool>()) {
        let v = if small { v >> 20 } else { v };
        let want = (v as f64 * 2f64.powi(-s)) as f32;
        prop_assert_eq!(fixed_to_f32(v, s).to_bits(), want.to_bits());
    }
}

/// The sigmoid's largest error against f64 over a dense grid of margins at several scales.
#[test]
fn sigmoid_is_within_its_stated_error() {
    let sigma = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut worst = (0.0f64, 0i32, 0i32);
    for s in [-3, 0, 4, 11, 16, 20, 24, 30, 40] {
        let scale = 2f64.powi(s);
        // |x| up to 20, at least 2^21 points per scale (every representable margin when that is fewer).
        let limit = (20.0 * scale).min(i32::MAX as f64) as i64;
        let step = (limit / (1 << 21)).max(1);
        let mut v = -limit;
        while v <= limit {
            let got = sigmoid_fixed(v as i32, s) as f64;
            let err = (got - sigma(v as f64 / scale)).abs();
            if err > worst.0 {
                worst = (err, v as i32, s);
            }
            v += step;
        }
        // Saturated inputs.
        for v in [i32::MIN, i32::MIN + 1, i32::MAX] {
            let err = (sigmoid_fixed(v, s) as f64 - sigma(v as f64 / scale)).abs();
            assert!(err <= SIGMOID_MAX_ERROR as f64, "v {v}, s {s}: {err:e}");
        }
    }
    eprintln!(
        "sigmoid: largest error {:.3e} (v = {}, s = {}), stated {:e}",
        worst.0, worst.1, worst.2, SIGMOID_MAX_ERROR
    );
    assert!(worst.0 <= SIGMOID_MAX_ERROR as f64, "{worst:?}");
    // The bound is not loose by orders of magnitude.
    assert!(worst.0 > SIGMOID_MAX_ERROR as f64 / 4.0, "{worst:?}");
}

/// The exact softmax of `v · 2^-s` in f64.
fn softmax_f64(v: &[i32], s: i32) -> Vec<f64> {
    let x: Vec<f64> = v.iter().map(|v| *v as f64 * 2f64.powi(-s)).collect();
    let top = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|x| (x - top).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|e| e / sum).collect()
}

/// The softmax's largest error against f64: two columns over a dense grid of margin differences at several
/// scales (every representable difference up to |x| = 24 where they are fewer than 2^21), and 3, 5, 10 and 32
/// columns at random margins (fixed seed) spread over ±24, clustered near the largest and saturated.
#[test]
fn softmax_is_within_its_stated_error() {
    let mut worst = (0.0f64, Vec::new(), 0i32);
    let mut check = |v: &[i32], s: i32| {
        let mut out = vec![0.0f32; v.len()];
        softmax_fixed(v, s, &mut out);
        for (o, w) in out.iter().zip(softmax_f64(v, s)) {
            let err = (*o as f64 - w).abs();
            if err > worst.0 {
                worst = (err, v.to_vec(), s);
            }
        }
    };
    for s in [-3, 0, 4, 11, 16, 20, 21, 24, 30, 40] {
        let scale = 2f64.powi(s);
        let limit = (24.0 * scale).min(i32::MAX as f64 / 2.0) as i64;
        let step = (limit / (1 << 21)).max(1);
        let mut d = -limit;
        while d <= limit {
            check(&[0, d as i32], s);
            check(&[d as i32, -(d as i32) / 3], s);
            d += step;
        }
        for v in [
            [i32::MIN, i32::MAX],
            [i32::MAX, i32::MAX],
            [i32::MIN, i32::MIN],
        ] {
            check(&v, s);
        }
    }
    let mut rng = Rng(0x5EED_50F7);
    for n in [3usize, 5, 10, 32] {
        for s in [0, 8, 16, 20, 24, 30] {
            let scale = 2f64.powi(s);
            let span = (24.0 * scale).min(f64::from(1 << 30)) as u64;
            for _ in 0..40_000 {
                let near = rng.chance(50);
                let v: Vec<i32> = (0..n)
                    .map(|_| {
                        let w = if near { span / 8 } else { 2 * span };
                        (rng.below(w + 1) as i64 - (w / 2) as i64) as i32
                    })
                    .collect();
                check(&v, s);
            }
        }
    }
    eprintln!(
        "softmax: largest error {:.3e} (margins {:?}, s = {}), stated {:e}",
        worst.0, worst.1, worst.2, SOFTMAX_MAX_ERROR
    );
    assert!(worst.0 <= SOFTMAX_MAX_ERROR as f64, "{worst:?}");
    // The bound is not loose by orders of magnitude.
    assert!(worst.0 > SOFTMAX_MAX_ERROR as f64 / 8.0, "{worst:?}");
    // Every output in [0, 1], summing to 1 within n times the bound, on extreme inputs.
    for v in [
        vec![i32::MIN; 32],
        vec![i32::MAX; 32],
        vec![0; 1],
        vec![i32::MIN, 0, i32::MAX],
    ] {
        for s in [-40, 0, 40] {
            let mut out = vec![0.0f32; v.len()];
            softmax_fixed(&v, s, &mut out);
            assert!(
                out.iter().all(|p| (0.0..=1.0).contains(p)),
                "{v:?} {s}: {out:?}"
            );
            let sum: f32 = out.iter().sum();
            assert!(
                (sum - 1.0).abs() <= v.len() as f32 * SOFTMAX_MAX_ERROR,
                "{v:?} {s}: {sum}"
            );
        }
    }
}

/// `e` with only tree `t`, its leaves replaced by their node index, base 0, identity, a plain sum.
fn relabelled_tree(e: &Ensemble, t: usize) -> Ensemble {
    let mut tree = e.trees[t].clone();
    for (i, n) in tree.nodes.iter_mut().enumerate() {
        if let Node::Leaf(v) = n {
            *v = vec![i as f64];
        }
    }
    tree.output = Some(0);
    tree.weight = 1.0;
    Ensemble {
        n_outputs: 1,
        trees: vec![tree],
        base_margin: vec![0.0],
        aggregate: Aggregate::Sum,
        transform: Transform::Identity,
        precision: Precision::F32,
        ..e.clone()
    }
}

/// The fixtures' model files, by framework.
fn fixture_models() -> Vec<(String, std::path::PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut all = Vec::new();
    for (framework, file) in [
        ("xgboost", "model.json"),
        ("sklearn", "model.json"),
        ("lightgbm", "model.txt"),
    ] {
        let mut dirs: Vec<_> = std::fs::read_dir(root.join(framework))
            .unwrap()
            .filter_map(|d| d.ok().map(|d| d.path()))
            .filter(|p| p.join(file).is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = format!("{framework}/{}", dir.file_name().unwrap().to_string_lossy());
            all.push((name, dir.join(file)));
        }
    }
    all
}

/// Every XGBoost, LightGBM and scikit-learn fixture that fits: on its input rows and the same rows with every
/// other feature missing, (1) every tree reaches the leaf the general reader reaches (each tree alone, leaves
/// relabelled with their node index: margins equal exactly), and (2) the margins are within the stated bound
/// of the f64 oracle, the predictions (sigmoid, argmax) within the sigmoid's error.
#[test]
fn fixtures_that_fit_agree_with_the_general_layout() {
    let mut fitted = Vec::new();
    let mut refused = Vec::new();
    for (name, path) in fixture_models() {
        let e = model::load(&path).unwrap().ensemble.unwrap();
        let bytes = match int::write(&e) {
            Ok(b) => Aligned::new(&b),
            Err(why) => {
                refused.push(format!("{name}: {why}"));
                continue;
            }
        };
        let f = IntForest::new(bytes.bytes()).unwrap();
        let general = blob::write(&e).unwrap();
        let forest = Forest::new(&general).unwrap();
        let input = io::read_csv(&path.with_file_name("input.csv")).unwrap();
        let nf = forest.n_features();
        let mut rows: Vec<Vec<f32>> = Vec::new();
        for r in 0..input.rows {
            let row = input.row(r)[..nf].to_vec();
            let holes = row
                .iter()
                .enumerate()
                .map(|(k, x)| if (k + r) % 2 == 0 { f32::NAN } else { *x })
                .collect();
            rows.push(row);
            rows.push(holes);
        }
        // (1) Leaf by leaf.
        for t in 0..e.trees.len() {
            let one = relabelled_tree(&e, t);
            let ib = Aligned::new(&int::write(&one).unwrap());
            let fi = IntForest::new(ib.bytes()).unwrap();
            let gb = blob::write(&one).unwrap();
            let fg = Forest::new(&gb).unwrap();
            for (r, row) in rows.iter().enumerate() {
                assert_eq!(
                    int_margins(&fi, row),
                    general_margins(&fg, row),
                    "{name}: tree {t}, row {r}: a different leaf"
                );
            }
        }
        // (2) Margins and predictions against the oracle.
        let mut worst = 0.0f64;
        for (r, row) in rows.iter().enumerate() {
            let got = int_margins(&f, row);
            let want = e.margin_reference(row);
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                let bound = int::margin_bound(&e, f.scale(), k as u32)
                    + (*g as f64).abs() * f64::from(f32::EPSILON) / 2.0;
                let err = (*g as f64 - w).abs();
                worst = worst.max(err / bound);
                assert!(
                    err <= bound,
                    "{name}, row {r}, column {k}: int {g}, oracle {w}, error {err:e} > bound {bound:e}"
                );
            }
            let mut bins = vec![0u16; f.bins_len()];
            let mut out = vec![0.0f32; f.output_len()];
            f.predict(row, &mut bins, &mut out).unwrap();
            match e.transform {
                Transform::Sigmoid => {
                    for (o, m) in out.iter().zip(&got) {
                        let exact = 1.0 / (1.0 + (-(*m as f64)).exp());
                        assert!(
                            (*o as f64 - exact).abs() <= SIGMOID_MAX_ERROR as f64 + 1e-7,
                            "{name}, row {r}: sigmoid {o}, f64 {exact}"
                        );
                    }
                }
                Transform::Softmax => {
                    // (a) Within SOFTMAX_MAX_ERROR of the exact softmax of the fixed-point margins.
                    let mut fixed = vec![0i32; f.n_outputs()];
                    let mut bins2 = vec![0u16; f.bins_len()];
                    f.map_row(row, &mut bins2).unwrap();
                    f.margins_fixed(&bins2, &mut fixed).unwrap();
                    for (o, p) in out.iter().zip(softmax_f64(&fixed, f.scale())) {
                        assert!(
                            (*o as f64 - p).abs() <= SOFTMAX_MAX_ERROR as f64,
                            "{name}, row {r}: softmax {o}, f64 {p}"
                        );
                    }
                    // (b) Against the general layout: a probability moves by at most half the largest margin
                    // change (∂p_k/∂m_j sums to at most 1/2 in absolute value), plus both softmaxes' errors.
                    let g = general_margins(&forest, row);
                    let d = got
                        .iter()
                        .zip(&g)
                        .map(|(a, b)| (*a as f64 - *b as f64).abs())
                        .fold(0.0, f64::max);
                    let mut want = vec![0.0f32; forest.output_len()];
                    forest.predict(row, &mut want).unwrap();
                    for (o, w) in out.iter().zip(&want) {
                        let tol = d / 2.0 + SOFTMAX_MAX_ERROR as f64 + 1e-6;
                        assert!(
                            (*o as f64 - *w as f64).abs() <= tol,
                            "{name}, row {r}: int {out:?}, general {want:?}"
                        );
                    }
                }
                Transform::ArgMax => {
                    // The first largest fixed-point margin: compare with the f32 margins unless two are within
                    // the error bound of each other.
                    let best = out[0] as usize;
                    let top = got.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    assert!(
                        (got[best] as f64 - top as f64).abs()
                            <= 2.0 * int::margin_bound(&e, f.scale(), 0) + 1e-6,
                        "{name}, row {r}: argmax {best} of {got:?}"
                    );
                }
                _ => assert_eq!(out, got, "{name}, row {r}"),
            }
        }
        fitted.push(format!(
            "{name} ({} rows, {} trees, scale {}, worst error/bound {worst:.3})",
            input.rows,
            e.trees.len(),
            f.scale()
        ));
    }
    eprintln!(
        "integer layout: {} fixtures fit:\n  {}",
        fitted.len(),
        fitted.join("\n  ")
    );
    eprintln!("refused:\n  {}", refused.join("\n  "));
    for must in [
        "xgboost/v3.0.5-binary-logistic",
        "xgboost/v3.0.5-binary-logistic-nan-heavy",
        "xgboost/v3.0.5-reg-squarederror",
        "lightgbm/v4.7.0-binary",
        "lightgbm/v4.7.0-missing-nan",
        "lightgbm/v4.7.0-missing-zero",
        "lightgbm/v4.7.0-missing-none",
        "sklearn/v1.9.1-gradient-boosting-regressor",
        "sklearn/v1.9.1-gradient-boosting-classifier",
        "sklearn/v1.9.1-random-forest-regressor",
        "sklearn/v1.9.1-random-forest-classifier",
        "sklearn/v1.9.1-random-forest-classifier-multiclass",
        "sklearn/v1.9.1-extra-trees-classifier",
        "sklearn/v1.9.1-decision-tree-classifier",
        "sklearn/v1.9.1-gradient-boosting-classifier-multiclass",
        "xgboost/v3.0.5-multi-softprob",
        "xgboost/v3.0.5-multi-softmax",
        "xgboost/v3.4.1-multi-output-tree",
        "xgboost/v3.4.1-multi-softprob-vector-leaf",
        "lightgbm/v4.7.0-multiclass",
    ] {
        assert!(
            fitted.iter().any(|f| f.starts_with(&format!("{must} "))),
            "{must} does not fit the integer layout"
        );
    }
}

#[test]
fn every_refusal_is_named() {
    assert!(int::write(&one_split_model()).is_ok());
    let refused = |change: &dyn Fn(&mut Ensemble)| {
        let mut e = one_split_model();
        change(&mut e);
        let Err(err) = int::write(&e) else {
            panic!("the integer writer accepted a model outside its scope")
        };
        if !matches!(err, IntRefusal::Invalid(_)) {
            assert!(
                blob::write(&e).is_ok(),
                "{err}: the general layout should hold it"
            );
            assert!(err.to_string().contains("general layout"), "{err}");
        }
        err
    };
    // Vector leaves fit (version 2, a leaf table); a vector leaf of the wrong length is an invalid model.
    let mut vector = one_split_model();
    vector.n_outputs = 2;
    vector.base_margin = vec![0.0, 0.0];
    vector.trees[0].output = None;
    vector.trees[0].nodes[1] = Node::Leaf(vec![1.0, 2.0]);
    vector.trees[0].nodes[2] = Node::Leaf(vec![3.0, 4.0]);
    assert!(int::write(&vector).is_ok());
    vector.trees[0].nodes[2] = Node::Leaf(vec![3.0]);
    assert!(matches!(int::write(&vector), Err(IntRefusal::Invalid(_))));
    assert_eq!(
        refused(&|e| {
            e.trees[0].nodes[2] = Node::LinearLeaf(LinearLeaf {
                value: 1.0,
                constant: 0.5,
                terms: vec![(0, 2.0)],
            })
        }),
        IntRefusal::LinearLeaf { tree: 0, node: 2 }
    );
    assert_eq!(
        refused(&|e| {
            split_mut(e).test = Test::Categorical {
                categories: vec![1, 3],
                in_set_left: false,
                truncate_first: false,
            }
        }),
        IntRefusal::Categorical { tree: 0, node: 0 }
    );
    assert_eq!(
        refused(&|e| {
            let mut second = e.trees[0].clone();
            if let Node::Split(s) = &mut second.nodes[0] {
                s.missing = MissingMode::ZeroOrNan;
            }
            e.trees.push(second);
        }),
        IntRefusal::MixedMissingModes { feature: 1 }
    );
    assert_eq!(
        refused(&|e| {
            e.aggregate = Aggregate::WeightedMedian { weights: vec![1.0] };
            e.transform = Transform::Identity;
        }),
        IntRefusal::WeightedMedian
    );
    for t in [
        Transform::Exp,
        Transform::HingeStep,
        Transform::SortAscending,
    ] {
        assert_eq!(refused(&|e| e.transform = t), IntRefusal::Transform(t));
    }
    assert_eq!(
        refused(&|e| {
            e.n_outputs = 33;
            e.base_margin = vec![0.0; 33];
        }),
        IntRefusal::TooManyOutputs(33)
    );
    assert_eq!(
        refused(&|e| e.n_features = 70_000),
        IntRefusal::TooManyFeatures(70_000)
    );
    assert!(matches!(
        refused(&|e| e.base_margin = vec![1e30]),
        IntRefusal::ValuesTooLarge(_)
    ));
    assert!(matches!(
        refused(&|e| split_mut(e).feature = 2),
        IntRefusal::Invalid(_)
    ));
    assert!(matches!(
        refused(&|e| split_mut(e).right = 1),
        IntRefusal::Invalid(_)
    ));
    // A feature with more distinct thresholds than 15-bit bins reach.
    let mut e = one_split_model();
    let n = emkern::forest::int::MAX_KEYS_PER_FEATURE + 1;
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
    e.trees[0].nodes = nodes;
    assert!(matches!(
        int::write(&e),
        Err(IntRefusal::TooManyThresholds { feature: 0, .. })
    ));
    // Wide fields leave a narrow far offset: 4 096 used features (13 bits of bin index) and 8 191 thresholds
    // on feature 0 (14 bits) leave 4 bits, so a default subtree of more than 14 words does not fit.
    let chain = |splits: &[(u32, f64)]| {
        let mut nodes = Vec::new();
        for (i, (feature, t)) in splits.iter().enumerate() {
            nodes.push(Node::Split(Split {
                feature: *feature,
                test: Test::Numeric(*t),
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
    let mut splits: Vec<(u32, f64)> = (0..8191).map(|i| (0, i as f64)).collect();
    splits.extend((1..4096).map(|f| (f, 0.5)));
    let mut e = one_split_model();
    e.n_features = 4096;
    e.trees[0].nodes = chain(&splits);
    let err = int::write(&e).unwrap_err();
    assert!(
        matches!(
            err,
            IntRefusal::SubtreeTooLarge {
                tree: 0,
                node: 0,
                bits: 4,
                ..
            }
        ),
        "{err}"
    );
    assert!(blob::write(&e).is_ok());
    // The same chain cut to 7 splits fits (far offsets up to 14 words) and decides as the general layout.
    let small = [
        (0, 0.0),
        (1, 0.5),
        (2, 1.0),
        (0, 2.0),
        (3, 0.5),
        (0, 5.0),
        (4, 0.0),
    ];
    e.n_features = 5;
    e.trees[0].nodes = chain(&small);
    let bytes = Aligned::new(&int::write(&e).unwrap());
    let f = IntForest::new(bytes.bytes()).unwrap();
    let general = blob::write(&e).unwrap();
    let g = Forest::new(&general).unwrap();
    let mut rng = Rng(99);
    for _ in 0..200 {
        let row = random_row(&mut rng, 5, &[0.0, 0.5, 1.0, 2.0, 5.0]);
        assert_eq!(int_margins(&f, &row), general_margins(&g, &row), "{row:?}");
    }
}

/// Header and structure damage is a typed error naming the field.
#[test]
fn header_errors_are_typed() {
    let good = int::write(&one_split_model()).unwrap();
    assert!(IntForest::new(Aligned::new(&good).bytes()).is_ok());
    let reseal = |b: &mut Vec<u8>| {
        let crc = emkern::forest::crc32(&b[16..]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
    };
    let load = |b: &[u8]| IntForest::new(Aligned::new(b).bytes()).map(|f| f.n_trees());
    let with_all = |edits: &[(usize, &[u8])]| {
        let mut b = good.clone();
        for (at, v) in edits {
            b[*at..at + v.len()].copy_from_slice(v);
        }
        reseal(&mut b);
        load(&b).unwrap_err()
    };
    let with = |at: usize, v: &[u8]| with_all(&[(at, v)]);
    assert_eq!(
        load(&good[..10]).unwrap_err(),
        IntError::Truncated {
            needed: 40,
            got: 10
        }
    );
    assert_eq!(
        load(&good[..good.len() - 1]).unwrap_err(),
        IntError::Truncated {
            needed: good.len(),
            got: good.len() - 1
        }
    );
    assert_eq!(with(0, b"EMKC"), IntError::BadMagic);
    assert_eq!(with(4, &[3, 0]), IntError::UnsupportedVersion(3));
    // Version 2 has a 44-byte header: a version-1 blob relabelled as version 2 is refused.
    assert_eq!(with(4, &[2, 0]), IntError::BadHeaderLength(40));
    assert_eq!(with(6, &[36, 0]), IntError::BadHeaderLength(36));
    assert_eq!(with(16, &[0, 0, 0, 0]), IntError::BadField("n_features"));
    assert_eq!(with(32, &[3, 0]), IntError::BadField("n_used"));
    assert_eq!(with(34, &[0]), IntError::BadField("n_outputs"));
    assert_eq!(with(34, &[33]), IntError::BadField("n_outputs"));
    assert_eq!(with(35, &[2]), IntError::BadField("transform"));
    assert_eq!(with(36, &[41]), IntError::BadField("scale"));
    assert_eq!(with(37, &[0]), IntError::BadField("t_bits"));
    assert_eq!(with(37, &[16]), IntError::BadField("t_bits"));
    assert_eq!(with(38, &[0]), IntError::BadField("f_bits"));
    assert_eq!(with(38, &[18]), IntError::BadField("f_bits"));
    assert_eq!(with(39, &[1]), IntError::BadField("reserved"));
    assert_eq!(with(24, &[9, 0, 0, 0]), IntError::BadLayout);
    // Layout of the base model: base margin at 40, feature entry at 44 (info, key_end), key at 52, tree entry
    // at 56, words from 60: the split (t = 2 in bits 1-2, t_bits = 2; bin index 0 in bit 3, f_bits = 1; far
    // offset 2 from bit 4), then the two leaves at 64 and 68.
    assert_eq!(good.len(), 72);
    assert_eq!(good[37..39], [2, 1]);
    assert_eq!(good[60..64], [4 | (2 << 4), 0, 0, 0]);
    assert!(matches!(
        with(44, &[2]),
        IntError::BadFeature { feature: 0, what } if what.contains("row index")
    ));
    assert!(matches!(
        with(46, &[3]),
        IntError::BadFeature { feature: 0, what } if what.contains("mode")
    ));
    assert!(matches!(with(59, &[1]), IntError::BadTree { tree: 0, .. }));
    assert!(matches!(
        with(60, &[4 | (3 << 4)]),
        IntError::BadWord { word: 0, what } if what.contains("past")
    ));
    assert!(matches!(
        with(60, &[4 | (1 << 4)]),
        IntError::BadWord { word: 0, what } if what.contains("below 2")
    ));
    // Two bits of bin index (f_bits = 2): index 2 is past the 2 · n_used = 2 bins.
    assert!(matches!(
        with_all(&[(38, &[2]), (60, &[4 | (2 << 3) | (2 << 5)])]),
        IntError::BadWord { word: 0, what } if what.contains("bin index")
    ));
    // A base margin so large that it and the largest leaf overflow an i32.
    assert_eq!(
        with(40, &(i32::MAX - 10).to_le_bytes()),
        IntError::BadField("scale")
    );
    let mut shifted = vec![0u32; good.len() / 4 + 2];
    let base = shifted.as_mut_ptr().cast::<u8>();
    // SAFETY: the Vec holds 4·len bytes; the slice starts one byte in and ends inside it.
    let odd = unsafe {
        std::ptr::copy_nonoverlapping(good.as_ptr(), base.add(1), good.len());
        std::slice::from_raw_parts(base.add(1), good.len())
    };
    assert_eq!(IntForest::new(odd).unwrap_err(), IntError::Misaligned);
    let mut b = good.clone();
    b[20] ^= 1;
    assert!(matches!(
        load(&b).unwrap_err(),
        IntError::ChecksumMismatch { .. }
    ));
}

/// 16-bit quantized rows (`predict_i16`): on every fixture that fits, each input row quantized at a global
/// power-of-two scale (the largest at which its largest magnitude fits an i16; NaN as `i16::MIN`) predicts
/// exactly as the dequantized f32 row does; the agreement with the f32 predictions of the unquantized rows is
/// reported (it depends on the data, not on the engine).
#[test]
fn int16_rows_predict_as_their_dequantized_f32_rows() {
    let mut report = Vec::new();
    for (name, path) in fixture_models() {
        let e = model::load(&path).unwrap().ensemble.unwrap();
        let Ok(bytes) = int::write(&e) else { continue };
        let bytes = Aligned::new(&bytes);
        let f = IntForest::new(bytes.bytes()).unwrap();
        let input = io::read_csv(&path.with_file_name("input.csv")).unwrap();
        let nf = f.n_features();
        let top = (0..input.rows)
            .flat_map(|r| input.row(r)[..nf].to_vec())
            .filter(|x| x.is_finite())
            .fold(0.0f32, |a, x| a.max(x.abs()));
        let mut exp = 24;
        while exp > -24 && f64::from(top) * 2f64.powi(exp) >= 32_767.0 {
            exp -= 1;
        }
        let (mut bins, mut a, mut b, mut c) = (
            vec![0u16; f.bins_len()],
            vec![0.0f32; f.output_len()],
            vec![0.0f32; f.output_len()],
            vec![0.0f32; f.output_len()],
        );
        let (mut worst, mut same) = (0.0f64, 0usize);
        for r in 0..input.rows {
            let row = &input.row(r)[..nf];
            let q: Vec<i16> = row
                .iter()
                .map(|x| {
                    if x.is_nan() {
                        i16::MIN
                    } else {
                        (f64::from(*x) * 2f64.powi(exp))
                            .round()
                            .clamp(-32_767.0, 32_767.0) as i16
                    }
                })
                .collect();
            let deq: Vec<f32> = q
                .iter()
                .map(|q| {
                    if *q == i16::MIN {
                        f32::NAN
                    } else {
                        (f64::from(*q) * 2f64.powi(-exp)) as f32
                    }
                })
                .collect();
            f.predict_i16(&q, exp, &mut bins, &mut a).unwrap();
            f.predict(&deq, &mut bins, &mut b).unwrap();
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{name}, row {r}: i16 {q:?} at 2^-{exp}"
            );
            f.predict(row, &mut bins, &mut c).unwrap();
            same += usize::from(a == c);
            for (x, y) in a.iter().zip(&c) {
                worst = worst.max((f64::from(*x) - f64::from(*y)).abs());
            }
        }
        report.push(format!(
            "{name}: scale 2^-{exp}, {same} of {} rows predict as the f32 rows, largest difference {worst:.3e}",
            input.rows
        ));
    }
    assert!(report.len() > 100, "{report:?}");
    eprintln!("int16 rows:\n  {}", report.join("\n  "));
}

/// Version 2 (a leaf table): damage to `n_rows`, a leaf's row index, a tree's column or a row's values is a typed
/// error; softmax is accepted in version 2 only.
#[test]
fn version_2_errors_are_typed() {
    let mut e = one_split_model();
    e.n_outputs = 2;
    e.base_margin = vec![0.0, 0.0];
    e.trees[0].output = None;
    e.trees[0].nodes[1] = Node::Leaf(vec![1.0, 2.0]);
    e.trees[0].nodes[2] = Node::Leaf(vec![3.0, 4.0]);
    let good = int::write(&e).unwrap();
    // Header 44 (n_rows at 40), base margins at 44, feature entry at 52, key at 60, tree entry at 64, words from
    // 68 (the split, then the leaves naming rows 0 and 1), the rows from 80.
    assert_eq!(good[4..8], [2, 0, 44, 0]);
    assert_eq!(good[40..44], 2u32.to_le_bytes());
    assert_eq!(good.len(), 96);
    let f_bytes = Aligned::new(&good);
    let f = IntForest::new(f_bytes.bytes()).unwrap();
    assert_eq!(f.n_rows(), 2);
    let load = |b: &[u8]| IntForest::new(Aligned::new(b).bytes()).map(|f| f.n_trees());
    let with = |at: usize, v: &[u8]| {
        let mut b = good.clone();
        b[at..at + v.len()].copy_from_slice(v);
        let crc = emkern::forest::crc32(&b[16..]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
        load(&b)
    };
    assert_eq!(
        load(&good[..42]).unwrap_err(),
        IntError::Truncated {
            needed: 44,
            got: 42
        }
    );
    assert_eq!(
        with(6, &[40, 0]).unwrap_err(),
        IntError::BadHeaderLength(40)
    );
    assert_eq!(with(40, &[0, 0, 0, 0]).unwrap_err(), IntError::BadLayout);
    assert_eq!(with(40, &[3, 0, 0, 0]).unwrap_err(), IntError::BadLayout);
    assert_eq!(
        with(40, &(1u32 << 30).to_le_bytes()).unwrap_err(),
        IntError::BadField("n_rows")
    );
    let past = emkern::forest::int::leaf_word(2).unwrap().to_le_bytes();
    assert!(matches!(
        with(72, &past).unwrap_err(),
        IntError::BadWord { word: 1, what } if what.contains("row index")
    ));
    let negative = emkern::forest::int::leaf_word(-1).unwrap().to_le_bytes();
    assert!(matches!(
        with(72, &negative).unwrap_err(),
        IntError::BadWord { word: 1, what } if what.contains("row index")
    ));
    assert!(matches!(
        with(67, &[1]).unwrap_err(),
        IntError::BadTree { tree: 0, .. }
    ));
    assert_eq!(
        with(80, &i32::MIN.to_le_bytes()).unwrap_err(),
        IntError::BadField("scale")
    );
    // Softmax (2) is a version-2 transform; the version-1 test above refuses it there.
    assert!(with(35, &[2]).is_ok());
    assert_eq!(with(35, &[4]).unwrap_err(), IntError::BadField("transform"));
}

#[test]
fn wrong_shapes_are_errors() {
    let b = Aligned::new(&int::write(&one_split_model()).unwrap());
    let f = IntForest::new(b.bytes()).unwrap();
    assert_eq!(f.n_used(), 1);
    assert_eq!(f.bins_len(), 2);
    let mut out = [0.0f32; 1];
    let mut bins = [0u16; 2];
    assert!(f.predict(&[1.0], &mut bins, &mut out).is_err());
    assert!(f.predict(&[1.0, 2.0], &mut [], &mut out).is_err());
    assert!(f.predict(&[1.0, 2.0], &mut bins, &mut []).is_err());
    assert!(f.margins_fixed(&[], &mut [0]).is_err());
    assert!(f.margins_fixed(&[1], &mut [0]).is_err());
    assert!(f.margins_fixed(&[1, 1], &mut []).is_err());
    assert!(f.predict(&[1.0, 2.0, 3.0], &mut bins, &mut out).is_ok());
}

/// `emkern import --layout int` writes a blob `IntForest` loads, and refuses a model outside the scope naming
/// the file and the reason, writing nothing.
#[test]
fn import_writes_the_integer_layout() {
    let dir = Scratch::new("int-cli");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xgboost");
    let run = |model: &Path, out: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
            .arg("import")
            .arg(model)
            .arg("-o")
            .arg(out)
            .args(["--layout", "int"])
            .output()
            .unwrap()
    };
    let fits = fixtures.join("v3.0.5-binary-logistic/model.json");
    let out = dir.join("fits.emki");
    let r = run(&fits, &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("integer layout"));
    let bytes = Aligned::new(&std::fs::read(&out).unwrap());
    let f = IntForest::new(bytes.bytes()).unwrap();
    let e = model::load(&fits).unwrap().ensemble.unwrap();
    assert_eq!(f.n_trees(), e.trees.len());

    let categorical = fixtures.join("v3.0.5-categorical-pandas/model.json");
    let refused = dir.join("refused.emki");
    let r = run(&categorical, &refused);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("categorical-pandas/model.json") && err.contains("categorical split"),
        "{err}"
    );
    assert!(!refused.exists());
}
