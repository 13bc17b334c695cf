//! The forest blob: random well-formed ensembles agree between the IR's f64 reference evaluator and the no_std
//! core after a round trip through the blob; corrupted and truncated blobs are rejected or evaluated without
//! panicking.

#[path = "common/forest_gen.rs"]
mod forest_gen;
#[path = "common/proptest_config.rs"]
mod proptest_config;
use emkern::forest::format::MEDIAN_CHUNK;
use emkern::forest::{BlobError, Compare, Forest, MissingMode, Transform};
use emkern_host::export::blob;
use emkern_host::ir::{Aggregate, Ensemble, LinearLeaf, Node, Precision, Split, Test, Tree};
use forest_gen::Rng;
use proptest::prelude::*;
use proptest_config::proptest_config;

/// Thresholds and row values are drawn from this grid (plus noise) so rows often land exactly on thresholds.
const GRID: [f64; 9] = [-2.5, -1.0, -0.5, 0.0, 0.1, 0.5, 1.0, 3.0, 7.0];

fn random_tree(
    rng: &mut Rng,
    n_features: u32,
    leaf_width: usize,
    output: Option<u32>,
    max_depth: u32,
) -> Tree {
    fn grow(
        rng: &mut Rng,
        nodes: &mut Vec<Node>,
        depth: u32,
        max_depth: u32,
        n_features: u32,
        leaf_width: usize,
    ) -> usize {
        let at = nodes.len();
        if depth >= max_depth || rng.chance(25) {
            if leaf_width == 1 && n_features.is_multiple_of(3) && rng.chance(50) {
                // Linear leaves (LightGBM linear_tree), in one model out of three.
                let terms = (0..rng.below(4))
                    .map(|_| (rng.below(n_features as u64) as u32, rng.unit() * 2.0 - 1.0))
                    .collect();
                nodes.push(Node::LinearLeaf(LinearLeaf {
                    value: rng.unit() * 20.0 - 10.0,
                    constant: rng.unit() - 0.5,
                    terms,
                }));
            } else {
                nodes.push(Node::Leaf(
                    (0..leaf_width).map(|_| rng.unit() * 20.0 - 10.0).collect(),
                ));
            }
            return at;
        }
        nodes.push(Node::Leaf(vec![])); // placeholder, replaced below
        let feature = rng.below(n_features as u64) as u32;
        let test = if rng.chance(20) {
            let n = rng.below(6) as usize;
            Test::Categorical {
                categories: (0..n).map(|_| rng.below(70) as u32).collect(),
                in_set_left: rng.chance(50),
                truncate_first: rng.chance(50),
            }
        } else {
            let g = GRID[rng.below(GRID.len() as u64) as usize];
            // Sometimes a threshold that is not an f32, to exercise the exporter's directed rounding.
            Test::Numeric(if rng.chance(30) {
                g + 1e-9 * (rng.unit() - 0.5)
            } else {
                g
            })
        };
        let missing = match rng.below(3) {
            0 => MissingMode::Nan,
            1 => MissingMode::NanAsZero,
            _ => MissingMode::ZeroOrNan,
        };
        let default_left = rng.chance(50);
        let left = grow(rng, nodes, depth + 1, max_depth, n_features, leaf_width);
        let right = grow(rng, nodes, depth + 1, max_depth, n_features, leaf_width);
        nodes[at] = Node::Split(Split {
            feature,
            test,
            default_left,
            missing,
            left,
            right,
        });
        at
    }
    let mut nodes = Vec::new();
    grow(rng, &mut nodes, 0, max_depth, n_features, leaf_width);
    let weight = if rng.chance(20) {
        (rng.unit() * 2.0) as f32
    } else {
        1.0
    };
    Tree {
        nodes,
        output,
        weight,
    }
}

fn random_ensemble(seed: u64) -> Ensemble {
    let mut rng = Rng(seed | 1);
    let n_features = 1 + rng.below(300) as u32;
    let n_outputs = if rng.chance(50) {
        1
    } else {
        1 + rng.below(40) as u32
    };
    let vector = n_outputs > 1 && rng.chance(30);
    let n_trees = rng.below(12) as usize;
    let max_depth = rng.below(9) as u32;
    let trees = (0..n_trees)
        .map(|t| {
            let output = if vector {
                None
            } else {
                Some((t as u32) % n_outputs)
            };
            let width = if vector { n_outputs as usize } else { 1 };
            random_tree(&mut rng, n_features, width, output, max_depth)
        })
        .collect();
    let transform = match rng.below(7) {
        0 => Transform::Identity,
        1 => Transform::Sigmoid,
        2 => Transform::Softmax,
        3 => Transform::ArgMax,
        4 => Transform::Exp,
        5 => Transform::SortAscending,
        _ => Transform::HingeStep,
    };
    Ensemble {
        n_features,
        n_outputs,
        trees,
        base_margin: (0..n_outputs).map(|_| rng.unit() - 0.5).collect(),
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
        transform,
        precision: if rng.chance(50) {
            Precision::F32
        } else {
            Precision::F64
        },
        feature_names: None,
        source: format!("random seed {seed}"),
        input_f64: false,
    }
}

fn random_row(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.below(10) {
            0 => f32::NAN,
            1 => 0.0,
            2 => -0.0,
            3 => 1.0e-36,
            4 => (rng.below(80) as f32) - 5.0 + if rng.chance(50) { 0.5 } else { 0.0 },
            5 => f32::INFINITY,
            _ => GRID[rng.below(GRID.len() as u64) as usize] as f32,
        })
        .collect()
}

/// Scale of the margins' rounding error: base + Σ |weight·leaf| over every tree, an upper bound on any partial sum.
fn magnitude(e: &Ensemble) -> f64 {
    let mut m = e.base_margin.iter().map(|b| b.abs()).sum::<f64>();
    for t in &e.trees {
        let max_leaf = t
            .nodes
            .iter()
            .filter_map(|n| {
                if let Node::Leaf(v) = n {
                    v.iter().map(|x| x.abs()).reduce(f64::max)
                } else {
                    None
                }
            })
            .fold(0.0, f64::max);
        m += (t.weight as f64).abs() * max_leaf;
    }
    m
}

proptest! {
    #![proptest_config(proptest_config(400))]

    #[test]
    fn core_agrees_with_reference(seed in any::<u64>()) {
        let e = random_ensemble(seed);
        let bytes = blob::write(&e).unwrap();
        let forest = Forest::new(&bytes).unwrap();
        prop_assert_eq!(forest.n_features(), e.n_features as usize);
        prop_assert_eq!(forest.output_len(), e.output_len());
        let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        let tol = 1e-5 * (1.0 + magnitude(&e));
        for _ in 0..16 {
            let row = random_row(&mut rng, e.n_features as usize);
            let want = e.margin_reference(&row);
            let mut got = vec![0.0f32; e.n_outputs as usize];
            forest.predict_margin(&row, &mut got).unwrap();
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                let ok = if w.is_finite() { (*g as f64 - w).abs() <= tol } else { (g.is_nan() && w.is_nan()) || *g as f64 == *w };
                prop_assert!(ok, "margin {k}: core {g}, reference {w}, tol {tol}, row {row:?}");
            }
            let mut pred = vec![0.0f32; forest.output_len()];
            forest.predict(&row, &mut pred).unwrap();
            let want_pred = e.transform_reference(&want);
            if matches!(e.transform, Transform::ArgMax) {
                // A class whose reference margin is the largest, up to the margins' tolerance (near-ties may go
                // either way), at any number of columns (more than one accumulation pass holds included).
                let class = pred[0];
                prop_assert!(class >= 0.0 && class.fract() == 0.0 && (class as usize) < want.len(), "argmax {class} of {} columns", want.len());
                if want.iter().all(|w| w.is_finite()) {
                    let top = want.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    prop_assert!(want[class as usize] >= top - 2.0 * tol, "argmax {class}: margin {} < largest {top} (tol {tol})", want[class as usize]);
                }
                continue;
            }
            for (k, (g, w)) in pred.iter().zip(&want_pred).enumerate() {
                // exp carries the margin's absolute error `tol` into a relative error of e^tol − 1.
                let rel = if matches!(e.transform, Transform::Exp) { tol.exp() - 1.0 + 1e-6 } else { 1e-4 };
                // Values beyond f32's range come out as infinities of their sign.
                let overflows = w.abs() * (1.0 + rel) >= f32::MAX as f64 && g.is_infinite() && (*g as f64).signum() == w.signum();
                let close = (*g as f64 - w).abs() <= 1e-4 + rel * w.abs() || overflows || !w.is_finite() || w.is_nan();
                // The hinge step may legitimately flip on margins within rounding of 0.
                let borderline = matches!(e.transform, Transform::HingeStep);
                prop_assert!(close || borderline, "prediction {k}: core {g}, reference {w}");
            }
        }
    }

    #[test]
    fn batch_matches_single_rows(seed in any::<u64>(), n_rows in 0usize..6, pad in 0usize..3) {
        let e = random_ensemble(seed);
        let bytes = blob::write(&e).unwrap();
        let forest = Forest::new(&bytes).unwrap();
        let nf = e.n_features as usize;
        let stride = nf + pad;
        let mut rng = Rng(seed.rotate_left(7) | 1);
        let rows: Vec<f32> = (0..n_rows * stride).map(|_| random_row(&mut rng, 1)[0]).collect();
        let w = forest.output_len();
        let mut out = vec![0.0f32; n_rows * w];
        forest.predict_batch(&rows, stride, n_rows, &mut out, false).unwrap();
        for r in 0..n_rows {
            let mut one = vec![0.0f32; w];
            forest.predict(&rows[r * stride..], &mut one).unwrap();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&out[r * w..(r + 1) * w]), bits(&one));
        }
    }

    /// Random byte changes with the checksum recomputed (so the structural checks are what stands between the
    /// bytes and the predictor), and truncations: never a panic; an accepted blob predicts without panicking.
    #[test]
    fn corrupted_blobs_never_panic(seed in any::<u64>(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>(), fix_crc in any::<bool>()) {
        let e = random_ensemble(seed);
        let mut bytes = blob::write(&e).unwrap();
        for (at, v) in edits {
            let i = at % bytes.len();
            bytes[i] = v;
        }
        if fix_crc && bytes.len() >= 16 {
            let crc = emkern::forest::crc32(&bytes[16..]);
            bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        }
        let len = if cut % 4 == 0 { cut % (bytes.len() + 1) } else { bytes.len() };
        if let Ok(f) = Forest::new(&bytes[..len]) {
            // An edited `n_features` passes validation when no split reads past it: rows are then simply longer.
            let mut rng = Rng(seed | 1);
            let row = random_row(&mut rng, f.n_features().min(1 << 16));
            let mut out = vec![0.0f32; f.n_outputs().max(f.output_len())];
            let fits = f.n_features() <= 1 << 16;
            prop_assert_eq!(f.predict(&row, &mut out).is_ok(), fits);
            prop_assert_eq!(f.predict_margin(&row, &mut out).is_ok(), fits);
        }
    }
}

#[test]
fn wrong_shapes_are_errors() {
    let e = random_ensemble(42);
    let bytes = blob::write(&e).unwrap();
    let f = Forest::new(&bytes).unwrap();
    let short = vec![0.0f32; f.n_features().saturating_sub(1)];
    let mut out = vec![0.0f32; 64];
    if f.n_features() > 0 {
        assert!(f.predict(&short, &mut out).is_err());
    }
    let row = vec![0.0f32; f.n_features()];
    assert!(f.predict_margin(&row, &mut []).is_err());
}

#[test]
fn header_errors_are_typed() {
    let e = random_ensemble(7);
    let bytes = blob::write(&e).unwrap();
    assert_eq!(
        Forest::new(&bytes[..10]).unwrap_err(),
        BlobError::Truncated {
            needed: 64,
            got: 10
        }
    );
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert_eq!(Forest::new(&bad).unwrap_err(), BlobError::BadMagic);
    let mut bad = bytes.clone();
    bad[4] = 9;
    assert_eq!(
        Forest::new(&bad).unwrap_err(),
        BlobError::UnsupportedVersion(9)
    );
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    assert!(matches!(
        Forest::new(&bad).unwrap_err(),
        BlobError::ChecksumMismatch { .. }
    ));
    assert!(matches!(
        Forest::new(&bytes[..bytes.len() - 1]).unwrap_err(),
        BlobError::Truncated { .. }
    ));
}

/// The exporter's directed rounding makes the f32 comparison exact for f32 inputs next to an f64 threshold.
#[test]
fn thresholds_round_in_the_safe_direction() {
    let t = 0.1f64; // not an f32
    let down = blob::f32_round_down(t);
    let up = blob::f32_round_up(t);
    assert!((down as f64) < t && (up as f64) > t);
    assert_eq!(f32::from_bits(down.to_bits() + 1), up);
    assert_eq!(blob::f32_round_down(0.5), 0.5);
    assert_eq!(blob::f32_round_up(0.5), 0.5);
}

/// Class names with what can go wrong in text: empty, non-ASCII, separators, a long one.
fn class_names_for(k: usize) -> Vec<String> {
    let pool = ["", "ünïcødé ✓", "a,b", "setosa", "x\"y", "0", "1.5"];
    (0..k)
        .map(|i| {
            if i == 3 {
                "long ".repeat(50)
            } else {
                format!("{}{i}", pool[i % pool.len()])
            }
        })
        .collect()
}

/// Sets `total_len` to the buffer's length and recomputes the checksum.
fn reseal(bytes: &mut [u8]) {
    let len = bytes.len() as u32;
    bytes[8..12].copy_from_slice(&len.to_le_bytes());
    let crc = emkern::forest::crc32(&bytes[16..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

/// A blob with class names, and the offset where its metadata section starts.
fn blob_with_names(seed: u64, names: &[String]) -> (Vec<u8>, usize) {
    let e = random_ensemble(seed);
    let plain = blob::write(&e).unwrap();
    let meta = blob::BlobMetadata {
        class_names: names.to_vec(),
    };
    let bytes = blob::write_with_metadata(&e, &meta).unwrap();
    (bytes, plain.len().next_multiple_of(8))
}

#[test]
fn class_names_round_trip_and_leave_predictions_alone() {
    for seed in 0..40u64 {
        let e = random_ensemble(seed);
        let names = class_names_for(1 + seed as usize % 9);
        let plain = blob::write(&e).unwrap();
        let (bytes, meta_at) = blob_with_names(seed, &names);
        assert_eq!(u16::from_le_bytes([plain[4], plain[5]]), 1);
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2);
        // Everything before the metadata but the header's length, checksum and version is the version-1 blob.
        assert_eq!(bytes[16..plain.len()], plain[16..]);
        assert!(bytes[plain.len()..meta_at].iter().all(|&b| b == 0));
        let with = Forest::new(&bytes).unwrap();
        let without = Forest::new(&plain).unwrap();
        assert_eq!(without.class_names().count(), 0);
        assert_eq!(with.class_names().len(), names.len());
        assert_eq!(with.class_names().collect::<Vec<_>>(), names);
        let mut rng = Rng(seed | 1);
        for _ in 0..8 {
            let row = random_row(&mut rng, e.n_features as usize);
            let mut a = vec![0.0f32; with.n_outputs()];
            let mut b = vec![0.0f32; with.n_outputs()];
            with.predict_margin(&row, &mut a).unwrap();
            without.predict_margin(&row, &mut b).unwrap();
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}

/// Version-1 blobs (the bundled board model, and what the writer emits without metadata) still load; a
/// version-1 blob cannot carry a metadata section.
#[test]
fn version_1_blobs_still_load() {
    let board = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/selftest/data/model.emk"),
    )
    .unwrap();
    assert_eq!(u16::from_le_bytes([board[4], board[5]]), 1);
    let f = Forest::new(&board).unwrap();
    assert_eq!(f.class_names().count(), 0);

    let (mut bytes, _) = blob_with_names(3, &class_names_for(3));
    bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
    reseal(&mut bytes);
    assert_eq!(Forest::new(&bytes).unwrap_err(), BlobError::BadLayout);
    // Version 2 without a metadata section is fine too.
    let mut plain = blob::write(&random_ensemble(3)).unwrap();
    plain[4..6].copy_from_slice(&2u16.to_le_bytes());
    reseal(&mut plain);
    assert_eq!(Forest::new(&plain).unwrap().class_names().count(), 0);
}

#[test]
fn metadata_errors_are_typed() {
    let names = class_names_for(3);
    let (good, at) = blob_with_names(11, &names);
    let bad_meta = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        reseal(&mut b);
        Forest::new(&b).map(|f| f.class_names().count())
    };
    let first_name = at + 8 + 4 + 4; // record head, count, first length
    let what = |e: Result<usize, BlobError>| match e {
        Err(BlobError::BadMetadata(w)) => w,
        other => panic!("expected BadMetadata, got {other:?}"),
    };
    // The first name (`0`: "" + index) made invalid UTF-8.
    assert_eq!(
        what(bad_meta(&|b| b[first_name] = 0xFF)),
        "class name is not UTF-8"
    );
    // More names than the record holds; fewer (bytes left over).
    assert_eq!(
        what(bad_meta(&|b| b[at + 8] = 4)),
        "class-name length runs past the record"
    );
    assert_eq!(
        what(bad_meta(&|b| b[at + 8] = 2)),
        "bytes after the last class name"
    );
    // A name longer than the record; a record longer than the section; a cut record head.
    assert_eq!(
        what(bad_meta(&|b| b[at + 12] = 200)),
        "class name runs past the record"
    );
    assert_eq!(
        what(bad_meta(&|b| b[at + 4] = 255)),
        "record runs past the section"
    );
    assert_eq!(
        what(bad_meta(&|b| b.extend([9, 0, 0]))),
        "record head runs past the section"
    );
    // Non-zero padding before the section (when there is padding), and the class-name record twice.
    let plain_len = blob::write(&random_ensemble(11)).unwrap().len();
    if plain_len < at {
        assert_eq!(
            what(bad_meta(&|b| b[at - 1] = 1)),
            "padding before the section is not zero"
        );
    }
    let record = good[at..].to_vec();
    assert_eq!(
        what(bad_meta(&|b| b.extend(&record))),
        "class names appear twice"
    );
    // An unknown record is skipped; the names still read.
    assert_eq!(
        bad_meta(&|b| b.extend([7, 0, 0, 0, 2, 0, 0, 0, 1, 2])),
        Ok(3)
    );
    // total_len inside the padding before the section.
    let mut b = good.clone();
    b.truncate(plain_len + 1);
    if plain_len + 1 < at {
        reseal(&mut b);
        assert_eq!(Forest::new(&b).unwrap_err(), BlobError::BadLayout);
    }
}

proptest! {
    #![proptest_config(proptest_config(300))]

    /// Random edits and truncations inside the metadata section, with the length and checksum made consistent
    /// (so only the metadata checks stand in the way): never a panic; an accepted blob's names iterate to the end
    /// and are no more than the section can hold.
    #[test]
    fn corrupted_metadata_never_panics(
        seed in any::<u64>(),
        k in 0usize..6,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
    ) {
        let (mut bytes, at) = blob_with_names(seed, &class_names_for(k + 1));
        let section = bytes.len() - at;
        for (i, v) in edits {
            let i = at + i % section;
            bytes[i] = v;
        }
        if cut % 3 == 0 {
            bytes.truncate(at + cut % (section + 1));
        }
        reseal(&mut bytes);
        match Forest::new(&bytes) {
            Ok(f) => {
                let names: Vec<&str> = f.class_names().collect();
                prop_assert_eq!(names.len(), f.class_names().len());
                prop_assert!(names.iter().map(|n| n.len() + 4).sum::<usize>() <= bytes.len() - at);
            }
            Err(e) => prop_assert!(
                matches!(e, BlobError::BadMetadata(_) | BlobError::BadLayout),
                "{e:?}"
            ),
        }
    }
}

/// XGBoost 3.4's sorted quantiles, stated without its algorithm: a NaN stays where it is (its insertion sort's `>`
/// is false for it, so nothing crosses it), and the values between NaNs are sorted ascending, stably (so `-0`
/// and `0` keep their order).
fn xgboost_sorted(m: &[f32]) -> Vec<f32> {
    let mut v = m.to_vec();
    for segment in v.split_mut(|x| x.is_nan()) {
        segment.sort_by(|a, b| a.partial_cmp(b).unwrap());
    }
    v
}

/// `SortAscending`: each row's predictions are its margins in ascending order (checked against the standard
/// library's stable sort, around NaNs, which the random leaves' infinities produce), on the single-row and batch
/// paths, with f32 and f64 values, for a few outputs and for more than one accumulation pass holds (40); margins
/// stay unsorted.
#[test]
fn sorted_outputs_are_the_sorted_margins() {
    for (n_outputs, precision) in [
        (5u32, Precision::F32),
        (5, Precision::F64),
        (40, Precision::F32),
        (40, Precision::F64),
    ] {
        let mut rng = Rng(0x5EED ^ n_outputs as u64);
        let n_features = 3;
        let trees = (0..3 * n_outputs)
            .map(|t| random_tree(&mut rng, n_features, 1, Some(t % n_outputs), 4))
            .collect();
        let e = Ensemble {
            n_features,
            n_outputs,
            trees,
            base_margin: (0..n_outputs).map(|_| rng.unit() - 0.5).collect(),
            compare: Compare::Less,
            aggregate: Aggregate::Sum,
            transform: Transform::SortAscending,
            precision,
            feature_names: None,
            source: "sorted outputs".into(),
            input_f64: false,
        };
        let bytes = blob::write(&e).unwrap();
        let forest = Forest::new(&bytes).unwrap();
        assert_eq!(forest.transform(), Transform::SortAscending);
        assert_eq!(forest.output_len(), n_outputs as usize);
        let k = n_outputs as usize;
        let rows: Vec<Vec<f32>> = (0..9).map(|_| random_row(&mut rng, 3)).collect();
        let flat: Vec<f32> = rows.concat();
        let mut batch = vec![0f32; rows.len() * k];
        forest
            .predict_batch(&flat, 3, rows.len(), &mut batch, false)
            .unwrap();
        let mut unsorted_rows = 0;
        for (r, row) in rows.iter().enumerate() {
            let (mut m, mut p) = (vec![0f32; k], vec![0f32; k]);
            forest.predict_margin(row, &mut m).unwrap();
            forest.predict(row, &mut p).unwrap();
            unsorted_rows += m.windows(2).any(|w| w[0] > w[1]) as usize;
            let want = xgboost_sorted(&m);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&p), bits(&want), "{k} outputs, {precision:?}, row {r}");
            assert_eq!(
                bits(&batch[r * k..(r + 1) * k]),
                bits(&want),
                "batch row {r}"
            );
        }
        assert!(
            unsorted_rows > 0,
            "{k} outputs: every row's margins were already sorted"
        );
    }
}

// ----------------------------------------------------------------------------------------------------------------
// Weighted median (AdaBoost.R2)
// ----------------------------------------------------------------------------------------------------------------

/// A random weighted median: 1 to 3 trees, up to [`MEDIAN_CHUNK`] (one pass) or up to 150 more (several passes);
/// leaves drawn from a palette of a few values, so that trees tie; weights from a few dyadic values (whose sums
/// are exact in any order, so exactly-half running sums are common), all equal, all zero, or random reals, with
/// zeros mixed in.
fn random_median_ensemble(seed: u64) -> Ensemble {
    let mut rng = Rng(seed | 1);
    let n_features = 1 + rng.below(6) as u32;
    let n_trees = match rng.below(4) {
        0 => 1 + rng.below(3),
        1 | 2 => 1 + rng.below(MEDIAN_CHUNK as u64),
        _ => MEDIAN_CHUNK as u64 + 1 + rng.below(150),
    } as usize;
    let palette: Vec<f64> = (0..1 + rng.below(6))
        .map(|_| {
            GRID[rng.below(GRID.len() as u64) as usize] * if rng.chance(30) { 1.1 } else { 1.0 }
        })
        .collect();
    let max_depth = rng.below(5) as u32;
    let trees = (0..n_trees)
        .map(|_| {
            let mut t = random_tree(&mut rng, n_features, 1, Some(0), max_depth);
            for n in &mut t.nodes {
                if matches!(n, Node::Leaf(_) | Node::LinearLeaf(_)) {
                    *n = Node::Leaf(vec![palette[rng.below(palette.len() as u64) as usize]]);
                }
            }
            t
        })
        .collect();
    let dyadic = [0.0, 0.25, 0.5, 1.0, 2.0, 3.0];
    let mode = rng.below(10);
    let weights = (0..n_trees)
        .map(|_| match mode {
            0 => 0.0,
            1 => 1.0,
            2..=5 => dyadic[rng.below(dyadic.len() as u64) as usize],
            _ if rng.chance(10) => 0.0,
            _ => rng.unit() * 3.0,
        })
        .collect();
    Ensemble {
        n_features,
        n_outputs: 1,
        trees,
        base_margin: vec![if rng.chance(50) {
            0.0
        } else {
            rng.unit() - 0.5
        }],
        compare: if rng.chance(50) {
            Compare::Less
        } else {
            Compare::LessEqual
        },
        aggregate: Aggregate::WeightedMedian { weights },
        transform: if rng.chance(70) {
            Transform::Identity
        } else {
            Transform::Exp
        },
        precision: if rng.chance(50) {
            Precision::F32
        } else {
            Precision::F64
        },
        feature_names: None,
        source: format!("random weighted median, seed {seed}"),
        input_f64: false,
    }
}

/// The straightforward oracle: sort the outputs (stably: ties keep the tree order), running sums of the weights in
/// that order, the first output whose running sum reaches half the total.
fn median_oracle(outputs: &[f64], weights: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..outputs.len()).collect();
    order.sort_by(|&a, &b| outputs[a].partial_cmp(&outputs[b]).unwrap());
    let total = order.iter().fold(0.0, |s, &i| s + weights[i]);
    let mut running = 0.0;
    for &i in &order {
        running += weights[i];
        if running >= 0.5 * total {
            return outputs[i];
        }
    }
    unreachable!("the last running sum is the total")
}

/// The margin the oracle gives for `row`, in the blob's precision (f32 models: f32 leaves, products and sums).
fn median_margin_oracle(e: &Ensemble, weights: &[f64], row: &[f32]) -> f32 {
    let f32_model = e.precision == Precision::F32;
    let outputs: Vec<f64> = e
        .trees
        .iter()
        .map(|t| {
            let leaf = t.leaf_reference(row, e.compare)[0];
            if f32_model {
                (t.weight * leaf as f32) as f64
            } else {
                t.weight as f64 * leaf
            }
        })
        .collect();
    let m = median_oracle(&outputs, weights);
    if f32_model {
        e.base_margin[0] as f32 + m as f32
    } else {
        (e.base_margin[0] + m) as f32
    }
}

fn median_weights(e: &Ensemble) -> Vec<f64> {
    match &e.aggregate {
        Aggregate::WeightedMedian { weights } => weights.clone(),
        other => panic!("not a weighted median: {other:?}"),
    }
}

/// Offset of the tree-weights section in a blob written from `e` (the format's layout).
fn median_weights_offset(e: &Ensemble) -> usize {
    let vb = if e.precision == Precision::F64 { 8 } else { 4 };
    let trees_off = (64 + vb as usize).next_multiple_of(8);
    (trees_off + 16 * e.trees.len()).next_multiple_of(8)
}

proptest! {
    #![proptest_config(proptest_config(300))]

    /// The core's weighted median equals the sort-based oracle bit for bit (many ties, exactly-half sums, zero
    /// weights, several passes), through `predict`, `predict_margin` and `predict_batch`.
    #[test]
    fn median_matches_the_sort_oracle(seed in any::<u64>()) {
        let e = random_median_ensemble(seed);
        let weights = median_weights(&e);
        let bytes = blob::write(&e).unwrap();
        prop_assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 3);
        let f = Forest::new(&bytes).unwrap();
        prop_assert_eq!(f.aggregate(), emkern::forest::Aggregate::WeightedMedian);
        let passes = if e.trees.len() <= MEDIAN_CHUNK { 1 } else { 2 * e.trees.len().div_ceil(MEDIAN_CHUNK) };
        prop_assert_eq!(f.median_passes(), passes);
        let mut rng = Rng(seed.rotate_left(17) | 1);
        let n = 12;
        let nf = e.n_features as usize;
        let rows: Vec<f32> = (0..n).flat_map(|_| random_row(&mut rng, nf)).collect();
        let mut batch = vec![0.0f32; n];
        f.predict_batch(&rows, nf, n, &mut batch, true).unwrap();
        for r in 0..n {
            let row = &rows[r * nf..(r + 1) * nf];
            let want = median_margin_oracle(&e, &weights, row);
            let mut got = [0.0f32];
            f.predict_margin(row, &mut got).unwrap();
            prop_assert_eq!(got[0].to_bits(), want.to_bits(), "row {:?}: core {}, oracle {}", row, got[0], want);
            prop_assert_eq!(batch[r].to_bits(), want.to_bits());
            // The IR's reference is the same rule in f64.
            let reference = e.margin_reference(row)[0];
            if e.precision == Precision::F64 {
                prop_assert_eq!(reference as f32, want);
            }
            // The transform applies to the median (e^m within the f32 rounding of m, |m| < 8).
            let mut pred = [0.0f32];
            f.predict(row, &mut pred).unwrap();
            let expect = match e.transform {
                Transform::Exp => (want as f64).exp(),
                _ => want as f64,
            };
            prop_assert!((pred[0] as f64 - expect).abs() <= 1e-6 * expect.abs().max(1.0), "{} vs {}", pred[0], expect);
        }
    }

    /// Damaged weight sections (and median header fields), with the checksum made consistent: never a panic; an
    /// accepted blob has finite weights ≥ 0 and predicts the oracle's median with the weights it holds.
    #[test]
    fn damaged_median_weights_never_panic(
        seed in any::<u64>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        header in proptest::option::of((0usize..6, any::<u8>())),
    ) {
        let e = random_median_ensemble(seed);
        let mut bytes = blob::write(&e).unwrap();
        let at = median_weights_offset(&e);
        let len = 8 * e.trees.len();
        for (i, v) in edits {
            bytes[at + i % len] = v;
        }
        if let Some((field, v)) = header {
            // version, n_outputs, n_trees, leaf_width, aggregate, value_bytes
            let off = [4, 20, 24, 36, 47, 49][field];
            bytes[off] = v;
        }
        reseal(&mut bytes);
        let Ok(f) = Forest::new(&bytes) else {
            return Ok(());
        };
        let mut rng = Rng(seed | 1);
        let row = random_row(&mut rng, f.n_features());
        let mut out = vec![0.0f32; f.n_outputs().max(1)];
        prop_assert!(f.predict(&row, &mut out).is_ok());
        prop_assert!(f.predict_margin(&row, &mut out).is_ok());
        if header.is_none() {
            let weights: Vec<f64> = (0..e.trees.len())
                .map(|t| f64::from_le_bytes(bytes[at + 8 * t..at + 8 * t + 8].try_into().unwrap()))
                .collect();
            prop_assert!(weights.iter().all(|w| w.is_finite() && *w >= 0.0), "{weights:?}");
            prop_assert_eq!(out[0].to_bits(), median_margin_oracle(&e, &weights, &row).to_bits());
        }
    }
}

/// Bad weights and median headers are typed errors; writers refuse what the format cannot hold; all-zero weights
/// load and predict the smallest output (scikit-learn's lone zero-weight tree).
#[test]
fn median_errors_are_typed() {
    let e = random_median_ensemble(5);
    let n = e.trees.len();
    let at = median_weights_offset(&e);
    let good = blob::write(&e).unwrap();
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        reseal(&mut b);
        Forest::new(&b).map(|_| ())
    };
    let put = |b: &mut Vec<u8>, t: usize, w: f64| {
        b[at + 8 * t..at + 8 * t + 8].copy_from_slice(&w.to_le_bytes())
    };
    for bad in [
        -1.0,
        -f64::MIN_POSITIVE,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        assert_eq!(
            with(&|b| put(b, n - 1, bad)),
            Err(BlobError::BadTree {
                tree: (n - 1) as u32,
                what: "median weight is negative or not finite"
            }),
            "{bad}"
        );
    }
    assert_eq!(
        with(&|b| put(b, 0, f64::MAX)),
        Err(BlobError::BadField(
            "median weights sum to more than f64 holds"
        ))
    );
    // A weighted median needs version 3 and one output.
    assert_eq!(with(&|b| b[4] = 2), Err(BlobError::BadField("aggregate")));
    assert_eq!(
        with(&|b| b[20] = 2),
        Err(BlobError::BadField(
            "a weighted median needs one output, one tree or more and no linear leaves"
        ))
    );
    // An unknown aggregate.
    assert_eq!(with(&|b| b[47] = 3), Err(BlobError::BadField("aggregate")));

    // The writer refuses what the format cannot hold.
    let refuse = |edit: &dyn Fn(&mut Ensemble)| {
        let mut x = e.clone();
        edit(&mut x);
        match blob::write(&x) {
            Err(blob::ExportError::Invalid(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    let set_weights =
        |x: &mut Ensemble, w: Vec<f64>| x.aggregate = Aggregate::WeightedMedian { weights: w };
    assert!(refuse(&|x| set_weights(x, vec![1.0; n + 1])).contains("one weight per tree"));
    assert!(refuse(&|x| set_weights(x, vec![-0.5; n])).contains("negative or not finite"));
    assert!(
        refuse(&|x| {
            x.n_outputs = 2;
            x.base_margin = vec![0.0, 0.0];
        })
        .contains("one output")
    );
    assert!(
        refuse(&|x| {
            x.trees[0].nodes = vec![Node::LinearLeaf(LinearLeaf {
                value: 1.0,
                constant: 0.0,
                terms: vec![],
            })];
        })
        .contains("linear leaves")
    );

    // All weights zero: the smallest output, whatever the order of the trees.
    let mut zero = e.clone();
    set_weights(&mut zero, vec![0.0; n]);
    let bytes = blob::write(&zero).unwrap();
    let f = Forest::new(&bytes).unwrap();
    let mut rng = Rng(99);
    for _ in 0..20 {
        let row = random_row(&mut rng, e.n_features as usize);
        let smallest = e
            .trees
            .iter()
            .map(|t| t.weight as f64 * t.leaf_reference(&row, e.compare)[0])
            .fold(f64::INFINITY, f64::min);
        let mut m = [0.0f32];
        f.predict_margin(&row, &mut m).unwrap();
        let want = if e.precision == Precision::F32 {
            e.base_margin[0] as f32 + smallest as f32
        } else {
            (e.base_margin[0] + smallest) as f32
        };
        assert_eq!(m[0], want);
    }
}

/// A base margin or a leaf value that is not finite is named by its output column or its leaf-table index
/// (across trees), so a firmware's error report points at the value.
#[test]
fn bad_values_are_named_by_index() {
    let tree = |output: u32, a: f64, b: f64| Tree {
        nodes: vec![
            Node::Split(Split {
                feature: 0,
                test: Test::Numeric(0.5),
                default_left: true,
                missing: MissingMode::Nan,
                left: 1,
                right: 2,
            }),
            Node::Leaf(vec![a]),
            Node::Leaf(vec![b]),
        ],
        output: Some(output),
        weight: 1.0,
    };
    let e = Ensemble {
        n_features: 1,
        n_outputs: 2,
        trees: vec![tree(0, 1.5, 2.5), tree(1, 3.5, 4.5)],
        base_margin: vec![0.25, 0.75],
        compare: Compare::Less,
        aggregate: Aggregate::Sum,
        transform: Transform::Identity,
        precision: Precision::F32,
        feature_names: None,
        source: "bad values".into(),
        input_f64: false,
    };
    let bytes = blob::write(&e).unwrap();
    assert!(Forest::new(&bytes).is_ok());
    let find = |v: f32| {
        let pat = v.to_le_bytes();
        let at: Vec<usize> = (0..bytes.len() - 3)
            .filter(|&i| bytes[i..i + 4] == pat)
            .collect();
        assert_eq!(at.len(), 1, "{v} stored once");
        at[0]
    };
    let corrupt = |at: usize, v: f32| {
        let mut b = bytes.clone();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let crc = emkern::forest::crc32(&b[16..]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
        Forest::new(&b).map(|_| ()).unwrap_err()
    };
    // The leaf table holds the four values in its own order: a value's index is its rank by offset.
    let mut leaves: Vec<(usize, f32)> = [1.5f32, 2.5, 3.5, 4.5]
        .iter()
        .map(|&v| (find(v), v))
        .collect();
    leaves.sort_unstable_by_key(|&(at, _)| at);
    for (index, &(at, v)) in leaves.iter().enumerate() {
        for bad in [f32::NAN, f32::INFINITY] {
            let err = corrupt(at, bad);
            assert_eq!(
                err,
                BlobError::BadValue {
                    table: "leaf",
                    index: index as u32,
                    what: "value is not finite"
                },
                "leaf value {v} set to {bad}"
            );
            assert_eq!(
                err.to_string(),
                format!("leaf {index}: value is not finite")
            );
        }
    }
    assert_eq!(
        corrupt(find(0.75), f32::NEG_INFINITY),
        BlobError::BadValue {
            table: "output column",
            index: 1,
            what: "base margin is not finite"
        }
    );
}

/// The work bound counts every pass over the trees: a model with more margin columns than one pass sums (32)
/// walks every tree once per pass, and leaf-only trees still cost a leaf read each.
#[test]
fn work_bound_counts_passes_and_leaf_reads() {
    for (n_outputs, max_depth, passes) in [
        (1u32, 4, 1u64),
        (32, 3, 1),
        (33, 3, 2),
        (40, 0, 2),
        (65, 5, 3),
    ] {
        let mut rng = Rng(0xB0D ^ u64::from(n_outputs));
        let trees: Vec<Tree> = (0..2 * n_outputs)
            .map(|t| random_tree(&mut rng, 4, 1, Some(t % n_outputs), max_depth))
            .collect();
        fn depth(nodes: &[Node], at: usize) -> u64 {
            match &nodes[at] {
                Node::Split(s) => 1 + depth(nodes, s.left).max(depth(nodes, s.right)),
                _ => 0,
            }
        }
        let depths: u64 = trees.iter().map(|t| depth(&t.nodes, 0)).sum();
        let n_trees = trees.len() as u64;
        let e = Ensemble {
            n_features: 4,
            n_outputs,
            trees,
            base_margin: vec![0.0; n_outputs as usize],
            compare: Compare::Less,
            aggregate: Aggregate::Sum,
            transform: Transform::Identity,
            precision: Precision::F32,
            feature_names: None,
            source: "work bound".into(),
            input_f64: false,
        };
        let bytes = blob::write(&e).unwrap();
        let f = Forest::new(&bytes).unwrap();
        assert_eq!(f.passes() as u64, passes, "{n_outputs} outputs");
        assert_eq!(f.worst_case_tree_walks(), passes * n_trees);
        assert_eq!(f.worst_case_visits(), passes * depths);
        assert_eq!(f.summary().worst_case_visits, passes * depths);
    }
}
