//! The code behind `unsafe` blocks, through the public API, on problems small enough to run under Miri as well
//! (`scripts/miri.sh` compiles the x86_64 AVX2 level in, so that Miri detects it and checks its kernels too):
//!
//! - the forest predictor's unchecked reads: the bundled demo model against XGBoost's own probabilities, and
//!   models exported from LightGBM (linear trees, categorical splits), scikit-learn (multi-output, f64) and
//!   XGBoost (categorical splits, vector leaves) fixtures, row by row and batched;
//! - the compact reader's unchecked walk (the demo model in the compact layout, bit for bit as the general
//!   reader) and the integer reader's (committed integer blobs: its entry points against each other);
//! - attention at every SIMD level (the `gemm`, `transpose`, `exp` and conversion kernels it runs on) against a
//!   naive f64 attention, whole and split into two key spans;
//! - RoPE rotation at every level, both pair layouts, f32 and bf16 rows, against the f64 rotation.

use emkern::attention::{self, BitMask, KvSpan, Params, Qkv, States, Tensor, TensorMut, Tiles};
use emkern::forest::{BlobError, CompactForest, Forest, IntForest, int};
use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::simd::{Simd, bf16};

/// The boards' demo model (XGBoost, 100 trees on the breast-cancer data), its test rows (f32, 30 per row) and
/// per row XGBoost's probability and the label (f32), kept current by the host test `board_data`.
static MODEL: &[u8] = include_bytes!("../../boards/selftest/data/model.emk");
static ROWS: &[u8] = include_bytes!("../../boards/selftest/data/rows.bin");
static EXPECTED: &[u8] = include_bytes!("../../boards/selftest/data/expected.bin");

/// Models exported from the framework fixtures (the forest fuzz target's seeds).
static EXPORTED: [(&str, &[u8]); 6] = [
    (
        "LightGBM linear trees",
        include_bytes!("../../host-tests/fuzz/seeds/forest/lightgbm-linear-tree.emk"),
    ),
    (
        "LightGBM categorical",
        include_bytes!("../../host-tests/fuzz/seeds/forest/lightgbm-categorical.emk"),
    ),
    (
        "scikit-learn multi-output",
        include_bytes!("../../host-tests/fuzz/seeds/forest/sklearn-multioutput.emk"),
    ),
    (
        "XGBoost categorical",
        include_bytes!("../../host-tests/fuzz/seeds/forest/xgboost-categorical.emk"),
    ),
    (
        "XGBoost vector leaves",
        include_bytes!("../../host-tests/fuzz/seeds/forest/xgboost-vector-leaf.emk"),
    ),
    (
        "classifier with class names",
        include_bytes!("../../host-tests/fuzz/seeds/forest/classifier-with-class-names.emk"),
    ),
];

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [-1, 1).
    fn sym(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Single-row and batched predictions and margins agree bit for bit; returns the single-row predictions.
fn predict_both_ways(forest: &Forest<'_>, rows: &[f32], n_rows: usize, what: &str) -> Vec<f32> {
    let (nf, ol, no) = (forest.n_features(), forest.output_len(), forest.n_outputs());
    let mut single = vec![0.0f32; n_rows * ol];
    let mut margins = vec![0.0f32; n_rows * no];
    for r in 0..n_rows {
        let row = &rows[r * nf..(r + 1) * nf];
        forest
            .predict(row, &mut single[r * ol..(r + 1) * ol])
            .unwrap();
        forest
            .predict_margin(row, &mut margins[r * no..(r + 1) * no])
            .unwrap();
    }
    let mut batch = vec![0.0f32; n_rows * ol];
    forest
        .predict_batch(rows, nf, n_rows, &mut batch, false)
        .unwrap();
    let mut batch_margins = vec![0.0f32; n_rows * no];
    forest
        .predict_batch(rows, nf, n_rows, &mut batch_margins, true)
        .unwrap();
    for (i, (a, b)) in single.iter().zip(&batch).enumerate() {
        assert!(
            same(*a, *b),
            "{what}: prediction {i}: {a} row by row, {b} batched"
        );
    }
    for (i, (a, b)) in margins.iter().zip(&batch_margins).enumerate() {
        assert!(
            same(*a, *b),
            "{what}: margin {i}: {a} row by row, {b} batched"
        );
    }
    single
}

#[test]
fn bundled_model_gives_xgboost_probabilities() {
    let forest = Forest::new(MODEL).unwrap();
    let nf = forest.n_features();
    let rows = f32s(ROWS);
    let expected = f32s(EXPECTED);
    let n_rows = rows.len() / nf;
    assert_eq!(n_rows, expected.len() / 2);
    // Miri interprets every node visit: every 16th row there (still both interleaved groups and single rows).
    let step = if cfg!(miri) { 16 } else { 1 };
    let picked: Vec<usize> = (0..n_rows).step_by(step).collect();
    let sample: Vec<f32> = picked
        .iter()
        .flat_map(|&r| rows[r * nf..(r + 1) * nf].iter().copied())
        .collect();
    let got = predict_both_ways(&forest, &sample, picked.len(), "demo model");
    for (k, &r) in picked.iter().enumerate() {
        let want = expected[2 * r];
        assert!(
            (got[k] - want).abs() <= 1e-6 + 1e-5 * want.abs(),
            "row {r}: {} vs XGBoost {want}",
            got[k]
        );
    }
    let mut copy = MODEL.to_vec();
    copy[MODEL.len() / 2] ^= 0x40;
    assert!(matches!(
        Forest::new(&copy),
        Err(BlobError::ChecksumMismatch { .. })
    ));
}

/// A blob at a 4-byte aligned address (the compact and integer readers load aligned words).
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

static COMPACT: &Aligned<[u8]> = &Aligned(*include_bytes!("../../boards/compact/data/model.emkc"));

/// Compact blobs with oblivious trees (CatBoost's symmetric trees; fuzz seeds written by the host writer).
static COMPACT_OBLIVIOUS: [(&str, &Aligned<[u8]>); 2] = [
    (
        "catboost regression",
        &Aligned(*include_bytes!(
            "../../host-tests/fuzz/seeds/compact_forest/v3-catboost-regression.emkc"
        )),
    ),
    (
        "catboost multiclass",
        &Aligned(*include_bytes!(
            "../../host-tests/fuzz/seeds/compact_forest/v3-catboost-multiclass.emkc"
        )),
    ),
];

/// Integer blobs (fuzz seeds written by the host writer).
static INT_BLOBS: [(&str, &Aligned<[u8]>); 3] = [
    (
        "xgboost binary",
        &Aligned(*include_bytes!(
            "../../host-tests/fuzz/seeds/int_forest/xgboost-binary-logistic.emki"
        )),
    ),
    (
        "xgboost multiclass argmax",
        &Aligned(*include_bytes!(
            "../../host-tests/fuzz/seeds/int_forest/xgboost-multi-softmax-argmax.emki"
        )),
    ),
    (
        "lightgbm missing-zero",
        &Aligned(*include_bytes!(
            "../../host-tests/fuzz/seeds/int_forest/lightgbm-missing-zero.emki"
        )),
    ),
];

#[test]
fn compact_and_integer_readers_walk_in_bounds() {
    let general = Forest::new(MODEL).expect("the demo model");
    let compact = CompactForest::new(&COMPACT.0).expect("the demo model, compact");
    let rows = f32s(ROWS);
    let nf = general.n_features();
    let n_rows = if cfg!(miri) { 4 } else { rows.len() / nf };
    for row in rows.chunks_exact(nf).take(n_rows) {
        let (mut a, mut b) = ([0.0f32; 1], [0.0f32; 1]);
        general.predict(row, &mut a).expect("general");
        compact.predict(row, &mut b).expect("compact");
        assert_eq!(
            a[0].to_bits(),
            b[0].to_bits(),
            "compact differs from general"
        );
    }
    let special = [f32::NAN, 0.0, -0.0, 0.5, -3.0, 1e30, f32::INFINITY];
    let mut rng = Rng(0x1A7);
    // Oblivious trees: the level walk and the leaf-table read (margins finite: finite leaves, few trees).
    for (what, blob) in COMPACT_OBLIVIOUS {
        let f = CompactForest::new(&blob.0).unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut margin = vec![0.0f32; f.n_outputs()];
        let mut out = vec![0.0f32; f.output_len()];
        for r in 0..if cfg!(miri) { 3 } else { 50 } {
            let row: Vec<f32> = (0..f.n_features())
                .map(|i| {
                    if (i + r) % 3 == 0 {
                        special[(i + r) % special.len()]
                    } else {
                        rng.sym() * 4.0
                    }
                })
                .collect();
            f.predict_margin(&row, &mut margin).expect(what);
            f.predict(&row, &mut out).expect(what);
            assert!(margin.iter().all(|m| m.is_finite()), "{what}: {margin:?}");
        }
    }
    for (what, blob) in INT_BLOBS {
        let f = IntForest::new(&blob.0).unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut bins = vec![0u16; f.bins_len()];
        let mut fixed = vec![0i32; f.n_outputs()];
        let mut margin = vec![0.0f32; f.n_outputs()];
        let mut out = vec![0.0f32; f.output_len()];
        for r in 0..if cfg!(miri) { 3 } else { 50 } {
            let row: Vec<f32> = (0..f.n_features())
                .map(|i| {
                    if (i + r) % 4 == 0 {
                        special[(i + r) % special.len()]
                    } else {
                        rng.sym() * 4.0
                    }
                })
                .collect();
            f.predict_margin(&row, &mut bins, &mut margin).expect(what);
            f.map_row(&row, &mut bins).expect(what);
            f.margins_fixed(&bins, &mut fixed).expect(what);
            for (m, &x) in margin.iter().zip(&fixed) {
                assert_eq!(
                    m.to_bits(),
                    int::fixed_to_f32(x, f.scale()).to_bits(),
                    "{what}"
                );
            }
            f.predict(&row, &mut bins, &mut out).expect(what);
            assert!(out.iter().all(|v| v.is_finite()), "{what}: {out:?}");
        }
    }
}

#[test]
fn exported_models_predict_the_same_row_by_row_and_batched() {
    // Values that take every branch: NaN (missing), zero and LightGBM's zero threshold, negative and fractional
    // values (categories truncate or fall out of range), small category codes, values past 2^24, infinities.
    let special = [
        f32::NAN,
        0.0,
        -0.0,
        1e-36,
        -0.5,
        0.5,
        1.0,
        2.0,
        3.0,
        7.0,
        31.0,
        16_777_216.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let mut rng = Rng(0x5EED);
    for (what, blob) in EXPORTED {
        let forest = Forest::new(blob).unwrap_or_else(|e| panic!("{what}: {e}"));
        let nf = forest.n_features();
        // Nine rows: two interleaved groups of four and one single row in the batch.
        let n_rows = 9;
        let rows: Vec<f32> = (0..n_rows * nf)
            .map(|i| {
                if i % 3 == 0 {
                    special[(i / 3) % special.len()]
                } else {
                    rng.sym() * 4.0
                }
            })
            .collect();
        // (An infinite input may make a linear leaf NaN: only the agreement of both paths is checked.)
        predict_both_ways(&forest, &rows, n_rows, what);
    }
}

/// Naive attention in f64 of one query row over keys `0..len_kv` with the masks of [`attention_case`].
#[allow(clippy::too_many_arguments)]
fn reference_row(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (len_kv, d_k, d_v): (usize, usize, usize),
    visible: impl Fn(usize) -> bool,
    scale: f64,
    sink: f64,
) -> (Vec<f64>, f64) {
    let scores: Vec<(usize, f64)> = (0..len_kv)
        .filter(|&j| visible(j))
        .map(|j| {
            let s: f64 = (0..d_k).map(|c| q[c] as f64 * k[j * d_k + c] as f64).sum();
            (j, s * scale)
        })
        .collect();
    let m = scores.iter().map(|s| s.1).fold(sink, f64::max);
    let mut l = (sink - m).exp();
    let mut o = vec![0.0f64; d_v];
    for &(j, s) in &scores {
        let p = (s - m).exp();
        l += p;
        for (c, x) in o.iter_mut().enumerate() {
            *x += p * v[j * d_v + c] as f64;
        }
    }
    (o.iter().map(|x| x / l).collect(), m + l.ln())
}

#[test]
fn attention_matches_f64_at_every_level() {
    let (heads_q, heads_kv, len_q, len_kv, d_k, d_v) = (4, 2, 6, 37, 8, 5);
    let mut rng = Rng(0xA77E);
    let q: Vec<f32> = (0..heads_q * len_q * d_k).map(|_| rng.sym()).collect();
    let k: Vec<f32> = (0..heads_kv * len_kv * d_k).map(|_| rng.sym()).collect();
    let v: Vec<f32> = (0..heads_kv * len_kv * d_v).map(|_| rng.sym()).collect();
    // Keys stored in bf16 too: the reference then reads the rounded keys.
    let k16: Vec<bf16> = k.iter().map(|&x| bf16::from_f32(x)).collect();
    let k_rounded: Vec<f32> = k16.iter().map(|x| x.to_f32()).collect();
    let sinks = [0.25f32, -1.0, 0.5, 0.0];
    // One bit mask shared by the heads: row i hides key (3i + 1) mod len_kv.
    let words: Vec<u64> = (0..len_q)
        .map(|i| !(1u64 << ((3 * i + 1) % len_kv)))
        .collect();
    let window = 20;
    let scale = 0.4f32;
    let mut params = Params::new();
    params.scale = Some(scale);
    params.sinks = Some(&sinks);
    params.mask.causal = true;
    params.mask.window = Some(window);
    params.mask.bits = Some(BitMask {
        words: &words,
        row_stride: 1,
        head_stride: 0,
    });
    params.tiles = Tiles::new(8, 4);
    for simd in Simd::available() {
        for bf16_keys in [false, true] {
            let qkv = Qkv {
                q: Tensor::new(&q[..], heads_q, len_q, d_k),
                k: if bf16_keys {
                    Tensor::new(&k16[..], heads_kv, len_kv, d_k)
                } else {
                    Tensor::new(&k[..], heads_kv, len_kv, d_k)
                },
                v: Tensor::new(&v[..], heads_kv, len_kv, d_v),
            };
            let keys = if bf16_keys { &k_rounded } else { &k };
            let mut scratch =
                vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
            let mut out = vec![0.0f32; heads_q * len_q * d_v];
            let mut lse = vec![0.0f32; heads_q * len_q];
            let out_view = TensorMut::new(&mut out[..], heads_q, len_q, d_v);
            attention::attention(simd, &qkv, &params, out_view, Some(&mut lse), &mut scratch)
                .unwrap();

            // The same keys split into two spans, each into its own states, merged.
            let cut = 13;
            let mut buf = [
                vec![0.0f32; attention::state_len(heads_q * len_q, d_v)],
                vec![0.0f32; attention::state_len(heads_q * len_q, d_v)],
            ];
            let [b0, b1] = &mut buf;
            let mut s0 = States::new(b0, heads_q, len_q, d_v).unwrap();
            let mut s1 = States::new(b1, heads_q, len_q, d_v).unwrap();
            let part = |start: usize, len: usize| Qkv {
                q: qkv.q,
                k: qkv.k.narrow_rows(start, len).unwrap(),
                v: qkv.v.narrow_rows(start, len).unwrap(),
            };
            let span = |start| KvSpan {
                start,
                total: len_kv,
            };
            attention::attention_partial(
                simd,
                &part(0, cut),
                &params,
                span(0),
                &mut s0,
                &mut scratch,
            )
            .unwrap();
            attention::attention_partial(
                simd,
                &part(cut, len_kv - cut),
                &params,
                span(cut),
                &mut s1,
                &mut scratch,
            )
            .unwrap();
            s0.merge(simd, &s1).unwrap();
            let mut split_out = vec![0.0f32; heads_q * len_q * d_v];
            let split_view = TensorMut::new(&mut split_out[..], heads_q, len_q, d_v);
            s0.finalize(simd, Some(&sinks), split_view, None).unwrap();

            let level = simd.level();
            for h in 0..heads_q {
                let g = h / (heads_q / heads_kv);
                for i in 0..len_q {
                    // Bottom-right alignment: query i is at position p = i + len_kv − len_q.
                    let p = i + len_kv - len_q;
                    let visible = |j: usize| j <= p && j + window > p && (words[i] >> j) & 1 == 1;
                    let (want, want_lse) = reference_row(
                        &q[(h * len_q + i) * d_k..][..d_k],
                        &keys[g * len_kv * d_k..][..len_kv * d_k],
                        &v[g * len_kv * d_v..][..len_kv * d_v],
                        (len_kv, d_k, d_v),
                        visible,
                        scale as f64,
                        sinks[h] as f64,
                    );
                    let at = (h * len_q + i) * d_v;
                    for c in 0..d_v {
                        for (how, got) in [("whole", out[at + c]), ("split", split_out[at + c])] {
                            assert!(
                                (got as f64 - want[c]).abs() <= 2e-6,
                                "{level} bf16 keys {bf16_keys} {how}: head {h} row {i} col {c}: {got} vs {}",
                                want[c]
                            );
                        }
                    }
                    let got = lse[h * len_q + i] as f64;
                    assert!(
                        (got - want_lse).abs() <= 2e-6 * want_lse.abs().max(1.0),
                        "{level}: lse {got} vs {want_lse}"
                    );
                }
            }
        }
    }
}

#[test]
fn rope_rotation_matches_f64_at_every_level() {
    let (heads, rows, head_dim, half) = (3, 5, 20, 8); // partial rotary: 16 of 20 elements rotate
    let table_rows = 9;
    let mut rng = Rng(0x2073);
    let angles: Vec<f64> = (0..table_rows * half)
        .map(|_| rng.sym() as f64 * 3.0)
        .collect();
    let cos: Vec<f32> = angles.iter().map(|a| a.cos() as f32).collect();
    let sin: Vec<f32> = angles.iter().map(|a| a.sin() as f32).collect();
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half,
    };
    let positions = [4usize, 0, 8, 8, 2];
    let x: Vec<f32> = (0..heads * rows * head_dim).map(|_| rng.sym()).collect();
    for simd in Simd::available() {
        for layout in [Layout::Interleaved, Layout::HalfSplit] {
            let pair = |j: usize| match layout {
                Layout::Interleaved => (2 * j, 2 * j + 1),
                Layout::HalfSplit => (j, j + half),
            };
            // f32 rows, rotated in place.
            let mut y = x.clone();
            apply::apply(
                simd,
                layout,
                Direction::Forward,
                Rows::new(&mut y[..], heads, rows, head_dim),
                &tables,
                Positions::Listed(&positions),
                &mut [],
            )
            .unwrap();
            // bf16 rows, widened into scratch, rotated, rounded back.
            let x16: Vec<bf16> = x.iter().map(|&v| bf16::from_f32(v)).collect();
            let mut y16 = x16.clone();
            let mut scratch = vec![0.0f32; apply::scratch_len(2 * half)];
            apply::apply(
                simd,
                layout,
                Direction::Forward,
                Rows::new(&mut y16[..], heads, rows, head_dim),
                &tables,
                Positions::Listed(&positions),
                &mut scratch,
            )
            .unwrap();
            let level = simd.level();
            for h in 0..heads {
                for (r, &t) in positions.iter().enumerate() {
                    let base = (h * rows + r) * head_dim;
                    for j in 0..half {
                        let (a, b) = pair(j);
                        let (c, s) = (cos[t * half + j] as f64, sin[t * half + j] as f64);
                        for (input, got, tol) in [
                            (&x[base..base + head_dim], [y[base + a], y[base + b]], 1e-6),
                            (
                                &x16[base..base + head_dim]
                                    .iter()
                                    .map(|v| v.to_f32())
                                    .collect::<Vec<f32>>()[..],
                                [y16[base + a].to_f32(), y16[base + b].to_f32()],
                                1.0 / 128.0,
                            ),
                        ] {
                            let (xa, xb) = (input[a] as f64, input[b] as f64);
                            let want = [xa * c - xb * s, xa * s + xb * c];
                            for (g, w) in got.iter().zip(want) {
                                assert!(
                                    (*g as f64 - w).abs() <= tol * w.abs().max(1.0),
                                    "{level} {layout:?}: head {h} row {r} pair {j}: {g} vs {w}"
                                );
                            }
                        }
                    }
                    // Elements past the rotary dimension are untouched.
                    assert_eq!(
                        y[base + 2 * half..base + head_dim],
                        x[base + 2 * half..base + head_dim]
                    );
                }
            }
        }
    }
}
