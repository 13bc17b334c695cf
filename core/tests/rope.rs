//! Position encodings (`emkern::rope`) against independent computations: an exact-angle oracle (the product
//! `p·ω` formed in integers, sine and cosine from the platform's libm), the Hugging Face formulas of every
//! scaling re-derived here in f64 (Llama 3.1, YaRN with and without mscale, Phi-3 LongRoPE around the switch,
//! dynamic NTK), PyTorch's f32 arithmetic step by step, rotation in f64, ALiBi's reference recursion and linear
//! attention in f64; plus the structural properties (relative positions, layout permutation, partial rotary,
//! inverse rotation, every SIMD level, f16/bf16 storage) and argument validation.
//!
//! Run with `--nocapture` to see the measured error figures.

#[path = "../../host-tests/tests/common/proptest_config.rs"]
mod proptest_config;
use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::rope::freq::{self, Frequencies, Llama3, LongRope, RopeConfig, Scaling, Yarn};
use emkern::rope::incremental::{F32x2, Generator, StateFloat};
use emkern::rope::sinusoidal::{self, SinusoidalLayout};
use emkern::rope::{RopeError, hf_f32, linear_attention, table};
use emkern::simd::{Level, Simd, bf16, f16};
use proptest::prelude::*;
use proptest_config::proptest_config;

// ---------------------------------------------------------------------------------------------------------------
// Oracles
// ---------------------------------------------------------------------------------------------------------------

/// `p·ω` exactly, as `hi + lo`: the product of `p` and the integer significand of `ω` in u128, split into two
/// f64 (exact while `p < 2⁵³`), then scaled by `ω`'s power of two.
fn exact_angle(p: u64, w: f64) -> (f64, f64) {
    assert!(w.is_finite() && w > 0.0);
    let bits = w.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    let product = u128::from(p) * u128::from(m);
    let hi = product as f64;
    let rest = product as i128 - hi as u128 as i128;
    let lo = rest as f64;
    assert_eq!(lo as i128, rest, "remainder not exact");
    let scale = 2f64.powi(e);
    (hi * scale, lo * scale)
}

/// `(sin, cos)` of the exact `p·ω`, from the platform's libm (not the `libm` crate the library uses).
fn oracle_sin_cos(p: u64, w: f64) -> (f64, f64) {
    let (hi, lo) = exact_angle(p, w);
    let (s, c) = (hi.sin(), hi.cos());
    (s + lo * c, c - lo * s)
}

/// ω for a configuration, f64.
fn omegas(config: &RopeConfig<'_>, seq_len: Option<u64>) -> (Vec<f64>, f64) {
    let f = Frequencies::new(config, seq_len).unwrap();
    let mut w = vec![0.0; f.half()];
    let a = freq::inv_freq(config, seq_len, &mut w).unwrap();
    (w, a)
}

/// `base^(−2i/D)` by another route than the library's `1/pow(base, 2i/D)`.
fn plain(base: f64, i: usize, dim: usize) -> f64 {
    (-(2.0 * i as f64 / dim as f64) * base.ln()).exp()
}

fn close_rel(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Uniform in [-1, 1).
    fn sym(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn scalar() -> Simd {
    Simd::new(Level::Scalar).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Exactness of the tables up to 2^20
// ---------------------------------------------------------------------------------------------------------------

/// Every 97th position up to 2²⁰, the powers of two, 2²⁰ itself.
fn sampled_positions() -> Vec<u32> {
    let mut p: Vec<u32> = (0..=1u32 << 20).step_by(97).collect();
    p.extend((0..=20).map(|k| 1u32 << k));
    p.push((1 << 20) - 1);
    p
}

/// Largest |table − oracle| over rows for `positions`.
fn table_error(w: &[f64], scale: f64, positions: &[u32], cos: &[f32], sin: &[f32]) -> f64 {
    let half = w.len();
    let mut worst = 0.0f64;
    for (r, &p) in positions.iter().enumerate() {
        for (i, &wi) in w.iter().enumerate() {
            let (s, c) = oracle_sin_cos(u64::from(p), wi);
            let k = r * half + i;
            worst = worst
                .max((f64::from(cos[k]) - c * scale).abs())
                .max((f64::from(sin[k]) - s * scale).abs());
        }
    }
    worst
}

fn exact_table_error(w: &[f64], scale: f64, positions: &[u32]) -> f64 {
    let half = w.len();
    let (mut cos, mut sin) = (
        vec![0.0f32; positions.len() * half],
        vec![0.0f32; positions.len() * half],
    );
    table::fill_positions(w, positions, scale, &mut cos, &mut sin).unwrap();
    table_error(w, scale, positions, &cos, &sin)
}

fn dense(center: u32, radius: u32) -> Vec<u32> {
    (center.saturating_sub(radius)..=center.saturating_add(radius)).collect()
}

#[test]
fn exact_tables_stay_within_1e7_up_to_2_pow_20() {
    let mut llama = RopeConfig::new(500_000.0, 128);
    llama.scaling = Scaling::Llama3(Llama3 {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
    });
    let mut yarn = RopeConfig::new(10_000.0, 64);
    yarn.scaling = Scaling::Yarn(Yarn::new(16.0, 4096));
    let configs = [
        ("default base 1e4 D 128", RopeConfig::new(10_000.0, 128)),
        ("llama3.1", llama),
        ("yarn x16 (scale 1.277)", yarn),
    ];
    let sampled = sampled_positions();
    let near_128k = dense(131_072, 256);
    let near_1m = dense(1 << 20, 256);
    for (name, config) in configs {
        let (w, scale) = omegas(&config, None);
        let e_sampled = exact_table_error(&w, scale, &sampled);
        let e_128k = exact_table_error(&w, scale, &near_128k);
        let e_1m = exact_table_error(&w, scale, &near_1m);
        eprintln!(
            "{name}: exact table max |err| sampled 0..2^20 {e_sampled:.2e}, near 128Ki {e_128k:.2e}, near 1Mi {e_1m:.2e}"
        );
        for e in [e_sampled, e_128k, e_1m] {
            assert!(e <= 1e-7, "{name}: {e:e}");
        }
    }
    // Also the range form and positions far beyond 2^20.
    let (w, _) = omegas(&RopeConfig::new(10_000.0, 64), None);
    let (mut cos, mut sin) = (vec![0.0f32; 64 * 32], vec![0.0f32; 64 * 32]);
    for first in [0u64, (1 << 20) - 32, 4_000_000_000, (1 << 40) + 12345] {
        table::fill_range(&w, first, 64, 1.0, &mut cos, &mut sin).unwrap();
        let mut worst = 0.0f64;
        for r in 0..64 {
            for (i, &wi) in w.iter().enumerate() {
                let (s, c) = oracle_sin_cos(first + r as u64, wi);
                worst = worst
                    .max((f64::from(cos[r * 32 + i]) - c).abs())
                    .max((f64::from(sin[r * 32 + i]) - s).abs());
            }
        }
        assert!(worst <= 1e-7, "range from {first}: {worst:e}");
    }
}

#[test]
fn hf_f32_tables_lose_the_position_bits() {
    let config = RopeConfig::new(10_000.0, 128);
    let (w, _) = omegas(&config, None);
    let mut w32 = vec![0.0f32; 64];
    let a = hf_f32::inv_freq(&config, None, &mut w32).unwrap();
    assert_eq!(a, 1.0);
    let mut errors = Vec::new();
    for center in [131_072u32, 1 << 20] {
        let positions = dense(center, 64);
        let (mut cos, mut sin) = (vec![0.0f32; 129 * 64], vec![0.0f32; 129 * 64]);
        hf_f32::fill_positions(&w32, &positions, 1.0, &mut cos, &mut sin).unwrap();
        let at = table_error(
            &w,
            1.0,
            &[center],
            &cos[64 * 64..65 * 64],
            &sin[64 * 64..65 * 64],
        );
        let hf = table_error(&w, 1.0, &positions, &cos, &sin);
        let exact = exact_table_error(&w, 1.0, &positions);
        eprintln!(
            "HF f32 table max |err| at {center}: {at:.2e}, within ±64 of it: {hf:.2e} (exact table there: {exact:.2e})"
        );
        errors.push((at, hf));
    }
    // The f32 angle: a few 1e-3 around 128Ki, a few 1e-2 around 1Mi (the exact tables stay at the f32
    // rounding). At a power of two the product p·ω is exact in f32 and only ω's own rounding shows.
    assert!((1e-3..1e-2).contains(&errors[0].0), "{:?}", errors[0]);
    assert!((1e-3..2e-2).contains(&errors[0].1), "{:?}", errors[0]);
    assert!((1e-2..2e-1).contains(&errors[1].0), "{:?}", errors[1]);
    assert!((1e-2..2e-1).contains(&errors[1].1), "{:?}", errors[1]);
}

// ---------------------------------------------------------------------------------------------------------------
// Published configurations against the formulas
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn default_linear_and_static_ntk() {
    let (w, a) = omegas(&RopeConfig::new(10_000.0, 128), None);
    assert_eq!(a, 1.0);
    for (i, &wi) in w.iter().enumerate() {
        assert!(close_rel(wi, plain(10_000.0, i, 128), 1e-14), "{i}");
    }
    let mut c = RopeConfig::new(10_000.0, 128);
    c.scaling = Scaling::Linear { factor: 4.0 };
    let (lin, _) = omegas(&c, None);
    for (i, &wi) in lin.iter().enumerate() {
        assert!(close_rel(wi, plain(10_000.0, i, 128) / 4.0, 1e-14));
    }
    c.scaling = Scaling::NtkStatic { factor: 4.0 };
    let (ntk, _) = omegas(&c, None);
    let base = 10_000.0 * 4f64.powf(128.0 / 126.0);
    for (i, &wi) in ntk.iter().enumerate() {
        assert!(close_rel(wi, plain(base, i, 128), 1e-13));
    }
    // Partial rotary: D = int(80 · 0.5) = 40.
    let mut p = RopeConfig::new(10_000.0, 80);
    p.partial_rotary_factor = 0.5;
    let (wp, _) = omegas(&p, None);
    assert_eq!(wp.len(), 20);
    assert!(close_rel(wp[19], plain(10_000.0, 19, 40), 1e-14));
}

#[test]
fn llama_3_1() {
    let (factor, low, high, orig, base, dim) = (8.0, 1.0, 4.0, 8192.0, 500_000.0, 128);
    let mut config = RopeConfig::new(base, dim);
    config.scaling = Scaling::Llama3(Llama3 {
        factor,
        low_freq_factor: low,
        high_freq_factor: high,
        original_max_position_embeddings: 8192,
    });
    let (w, a) = omegas(&config, None);
    assert_eq!(a, 1.0);
    let (mut kept, mut scaled, mut smoothed) = (0, 0, 0);
    for (i, &wi) in w.iter().enumerate() {
        let w0 = plain(base, i, dim);
        let wavelen = 2.0 * std::f64::consts::PI / w0;
        let want = if wavelen < orig / high {
            kept += 1;
            w0
        } else if wavelen > orig / low {
            scaled += 1;
            w0 / factor
        } else {
            smoothed += 1;
            let s = (orig / wavelen - low) / (high - low);
            (1.0 - s) * w0 / factor + s * w0
        };
        assert!(close_rel(wi, want, 1e-13), "{i}: {wi} vs {want}");
    }
    // Llama 3.1's bands for head_dim 128: wavelengths below 2048 (i ≤ 28) kept, above 8192 (i ≥ 35) scaled.
    assert_eq!((kept, smoothed, scaled), (29, 6, 29));
    assert_eq!(w[0], 1.0);
}

/// YaRN re-derived from the paper's definitions (DeepSeek/HF conventions).
fn yarn_reference(
    base: f64,
    dim: usize,
    factor: f64,
    orig: f64,
    beta_fast: f64,
    beta_slow: f64,
    truncate: bool,
) -> Vec<f64> {
    let corr =
        |r: f64| dim as f64 * (orig / (2.0 * std::f64::consts::PI * r)).ln() / (2.0 * base.ln());
    let (mut lo, mut hi) = (corr(beta_fast), corr(beta_slow));
    if truncate {
        lo = lo.floor();
        hi = hi.ceil();
    }
    let lo = lo.max(0.0);
    let mut hi = hi.min(dim as f64 - 1.0);
    if lo == hi {
        hi += 0.001;
    }
    (0..dim / 2)
        .map(|i| {
            let w = plain(base, i, dim);
            let ramp = ((i as f64 - lo) / (hi - lo)).clamp(0.0, 1.0);
            (w / factor) * ramp + w * (1.0 - ramp)
        })
        .collect()
}

#[test]
fn yarn_with_and_without_mscale() {
    // DeepSeek-V2-like: factor 40 over 4096, mscale = mscale_all_dim = 0.707 (attention factor 1).
    let mut y = Yarn::new(40.0, 4096);
    y.mscale = Some(0.707);
    y.mscale_all_dim = Some(0.707);
    let mut config = RopeConfig::new(10_000.0, 64);
    config.scaling = Scaling::Yarn(y);
    let (w, a) = omegas(&config, None);
    assert_eq!(a, 1.0);
    let want = yarn_reference(10_000.0, 64, 40.0, 4096.0, 32.0, 1.0, true);
    for (i, (&g, &r)) in w.iter().zip(&want).enumerate() {
        assert!(close_rel(g, r, 1e-13), "{i}: {g} vs {r}");
    }
    // The ramp: corr_dim(32) = 10.7 → low 10, corr_dim(1) = 22.8 → high 23: dims below 10 extrapolate, 23 and
    // above interpolate.
    assert!(close_rel(w[9], plain(10_000.0, 9, 64), 1e-14));
    assert!(close_rel(w[23], plain(10_000.0, 23, 64) / 40.0, 1e-14));
    assert!(w[15] < plain(10_000.0, 15, 64) && w[15] > plain(10_000.0, 15, 64) / 40.0);

    // Different mscales: (0.1·1·ln 40 + 1)/(0.1·0.707·ln 40 + 1).
    y.mscale = Some(1.0);
    config.scaling = Scaling::Yarn(y);
    let (_, a) = omegas(&config, None);
    let m = |k: f64| 0.1 * k * 40f64.ln() + 1.0;
    assert!(close_rel(a, m(1.0) / m(0.707), 1e-15));
    // mscale = 0 counts as absent (Python truthiness): the plain rule.
    y.mscale = Some(0.0);
    config.scaling = Scaling::Yarn(y);
    let (_, a) = omegas(&config, None);
    assert!(close_rel(a, 0.1 * 40f64.ln() + 1.0, 1e-15));

    // Without mscale: attention factor 0.1·ln(factor) + 1; factor from the lengths when absent.
    let mut plain_yarn = Yarn::new(4.0, 32_768);
    plain_yarn.factor = None;
    let mut c = RopeConfig::new(1_000_000.0, 128);
    c.max_position_embeddings = Some(131_072);
    c.scaling = Scaling::Yarn(plain_yarn);
    let (w, a) = omegas(&c, None);
    assert!(close_rel(a, 0.1 * 4f64.ln() + 1.0, 1e-15));
    let want = yarn_reference(1_000_000.0, 128, 4.0, 32_768.0, 32.0, 1.0, true);
    for (g, r) in w.iter().zip(&want) {
        assert!(close_rel(*g, *r, 1e-13));
    }
    // An explicit attention factor wins; truncate = false keeps the fractional range.
    plain_yarn.attention_factor = Some(0.5);
    plain_yarn.truncate = false;
    plain_yarn.beta_fast = 16.0;
    plain_yarn.beta_slow = 2.0;
    c.scaling = Scaling::Yarn(plain_yarn);
    let (w, a) = omegas(&c, None);
    assert_eq!(a, 0.5);
    let want = yarn_reference(1_000_000.0, 128, 4.0, 32_768.0, 16.0, 2.0, false);
    for (g, r) in w.iter().zip(&want) {
        assert!(close_rel(*g, *r, 1e-13));
    }
}

#[test]
fn yarn_degenerate_range_gets_the_small_offset() {
    // original 5: corr_dim(1) = 64·ln(5/2π)/(2 ln 1e4) = −0.79 → high = ceil = 0 = low, so high = 0.001:
    // dimension 0 extrapolates, all others interpolate.
    let mut config = RopeConfig::new(10_000.0, 64);
    config.scaling = Scaling::Yarn(Yarn::new(8.0, 5));
    let (w, _) = omegas(&config, None);
    assert_eq!(w[0], 1.0);
    for (i, &wi) in w.iter().enumerate().skip(1) {
        assert!(close_rel(wi, plain(10_000.0, i, 64) / 8.0, 1e-14), "{i}");
    }
    let want = yarn_reference(10_000.0, 64, 8.0, 5.0, 32.0, 1.0, true);
    for (g, r) in w.iter().zip(&want) {
        assert!(close_rel(*g, *r, 1e-13));
    }
}

#[test]
fn phi3_longrope_switches_after_the_original_length() {
    let short: Vec<f64> = (0..48).map(|i| 1.0 + 0.01 * i as f64).collect();
    let long: Vec<f64> = (0..48).map(|i| 1.0 + 0.5 * i as f64 + 0.125).collect();
    let mut config = RopeConfig::new(10_000.0, 96);
    config.max_position_embeddings = Some(131_072);
    config.scaling = Scaling::LongRope(LongRope {
        short_factor: &short,
        long_factor: &long,
        original_max_position_embeddings: 4096,
        factor: None,
        attention_factor: None,
    });
    let want_attention = (1.0 + 32f64.ln() / 4096f64.ln()).sqrt();
    for (seq_len, list) in [
        (Some(4095), &short),
        (Some(4096), &short),
        (Some(4097), &long),
        (None, &short),
    ] {
        let (w, a) = omegas(&config, seq_len);
        assert!(close_rel(a, want_attention, 1e-15), "{seq_len:?}");
        for (i, &wi) in w.iter().enumerate() {
            let want = 1.0 / (list[i] * 10_000f64.powf(2.0 * i as f64 / 96.0));
            assert!(close_rel(wi, want, 1e-14), "{seq_len:?} {i}");
        }
    }
    assert!((want_attention - 1.190_238).abs() < 1e-6);
    // An explicit factor ≤ 1 gives attention factor 1; an explicit attention factor wins.
    config.scaling = Scaling::LongRope(LongRope {
        short_factor: &short,
        long_factor: &long,
        original_max_position_embeddings: 4096,
        factor: Some(1.0),
        attention_factor: None,
    });
    assert_eq!(omegas(&config, None).1, 1.0);
    config.scaling = Scaling::LongRope(LongRope {
        short_factor: &short,
        long_factor: &long,
        original_max_position_embeddings: 4096,
        factor: None,
        attention_factor: Some(1.25),
    });
    assert_eq!(omegas(&config, None).1, 1.25);
}

#[test]
fn dynamic_ntk_below_and_above_max_positions() {
    let mut config = RopeConfig::new(10_000.0, 128);
    config.max_position_embeddings = Some(2048);
    config.scaling = Scaling::Dynamic { factor: 2.0 };
    let (unscaled, _) = omegas(&RopeConfig::new(10_000.0, 128), None);
    for seq_len in [None, Some(1), Some(1000), Some(2048)] {
        let (w, a) = omegas(&config, seq_len);
        assert_eq!(a, 1.0);
        assert_eq!(w, unscaled, "{seq_len:?}");
    }
    for seq_len in [2049u64, 4096, 8192, 100_000] {
        let (w, _) = omegas(&config, Some(seq_len));
        let base = 10_000.0 * ((2.0 * seq_len as f64 / 2048.0) - 1.0).powf(128.0 / 126.0);
        for (i, &wi) in w.iter().enumerate() {
            assert!(close_rel(wi, plain(base, i, 128), 1e-13), "{seq_len} {i}");
        }
        assert!(w[63] < unscaled[63]);
    }
}

#[test]
fn invalid_configurations_are_typed_errors() {
    let mut out = [0.0f64; 64];
    let err = |c: &RopeConfig<'_>, seq: Option<u64>, out: &mut [f64]| {
        freq::inv_freq(c, seq, out).unwrap_err()
    };
    let mut c = RopeConfig::new(10_000.0, 7);
    assert_eq!(err(&c, None, &mut out), RopeError::OddRotaryDim { dim: 7 });
    c = RopeConfig::new(10_000.0, 64);
    c.partial_rotary_factor = 0.3; // int(19.2) = 19
    assert_eq!(err(&c, None, &mut out), RopeError::OddRotaryDim { dim: 19 });
    c.partial_rotary_factor = 1.5;
    assert_eq!(
        err(&c, None, &mut out),
        RopeError::InvalidParameter {
            name: "partial_rotary_factor"
        }
    );
    c = RopeConfig::new(0.0, 64);
    assert_eq!(
        err(&c, None, &mut out),
        RopeError::InvalidParameter { name: "rope_theta" }
    );
    c = RopeConfig::new(10_000.0, 64);
    for factor in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        c.scaling = Scaling::Linear { factor };
        assert_eq!(
            err(&c, None, &mut out),
            RopeError::InvalidParameter { name: "factor" }
        );
    }
    c.scaling = Scaling::Dynamic { factor: 2.0 };
    assert_eq!(
        err(&c, None, &mut out),
        RopeError::MissingParameter {
            name: "max_position_embeddings"
        }
    );
    let mut two = RopeConfig::new(10_000.0, 2);
    two.scaling = Scaling::NtkStatic { factor: 2.0 };
    assert_eq!(
        err(&two, None, &mut out),
        RopeError::RotaryDimTooSmall { dim: 2, min: 4 }
    );
    c.scaling = Scaling::Default;
    assert_eq!(
        err(&c, None, &mut out[..31]),
        RopeError::TooShort {
            buffer: "inv_freq",
            needed: 32,
            got: 31
        }
    );
    let list = [1.0; 31];
    c.scaling = Scaling::LongRope(LongRope {
        short_factor: &list,
        long_factor: &list,
        original_max_position_embeddings: 4096,
        factor: Some(2.0),
        attention_factor: None,
    });
    assert_eq!(
        err(&c, None, &mut out),
        RopeError::FactorListLength {
            name: "short_factor",
            expected: 32,
            got: 31
        }
    );
    c.scaling = Scaling::Llama3(Llama3 {
        factor: 8.0,
        low_freq_factor: 4.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
    });
    assert_eq!(
        err(&c, None, &mut out),
        RopeError::InvalidParameter {
            name: "high_freq_factor"
        }
    );
    let mut y = Yarn::new(4.0, 4096);
    y.beta_fast = 0.0;
    c.scaling = Scaling::Yarn(y);
    assert_eq!(
        err(&c, None, &mut out),
        RopeError::InvalidParameter { name: "beta_fast" }
    );
    let mut one = RopeConfig::new(1.0, 64);
    one.scaling = Scaling::Yarn(Yarn::new(4.0, 4096));
    assert_eq!(
        err(&one, None, &mut out),
        RopeError::InvalidParameter { name: "rope_theta" }
    );
    // The error messages name the field.
    assert_eq!(
        RopeError::InvalidParameter { name: "beta_fast" }.to_string(),
        "`beta_fast` is out of range"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Hugging Face f32, step by step
// ---------------------------------------------------------------------------------------------------------------

/// PyTorch f32 `base ** (arange(0, D, 2).float() / D)`, with a correctly rounded power.
fn torch_pos(base: f32, i: usize, dim: usize) -> f32 {
    let e = (2 * i) as f32 / dim as f32;
    (f64::from(base)).powf(f64::from(e)) as f32
}

#[test]
fn hf_f32_inverse_frequencies_follow_pytorch() {
    let dim = 128;
    let get = |c: &RopeConfig<'_>, seq: Option<u64>| {
        let mut w = vec![0.0f32; c.rotary_dim().unwrap() / 2];
        let a = hf_f32::inv_freq(c, seq, &mut w).unwrap();
        (w, a)
    };
    // default
    let mut c = RopeConfig::new(500_000.0, dim);
    let (w, _) = get(&c, None);
    for (i, &wi) in w.iter().enumerate() {
        assert_eq!(wi, 1.0 / torch_pos(500_000.0, i, dim));
    }
    // linear: inv_freq /= factor
    c.scaling = Scaling::Linear { factor: 3.0 };
    let (w, _) = get(&c, None);
    for (i, &wi) in w.iter().enumerate() {
        assert_eq!(wi, (1.0 / torch_pos(500_000.0, i, dim)) / 3.0);
    }
    // llama3
    c.scaling = Scaling::Llama3(Llama3 {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
    });
    let (w, _) = get(&c, None);
    let two_pi = (2.0 * std::f64::consts::PI) as f32;
    for (i, &wi) in w.iter().enumerate() {
        let inv = 1.0 / torch_pos(500_000.0, i, dim);
        let wavelen = two_pi / inv;
        let llama = if wavelen > 8192.0 { inv / 8.0 } else { inv };
        let smooth = (8192.0 / wavelen - 1.0) / 3.0;
        let smoothed = (1.0 - smooth) * llama / 8.0 + smooth * llama;
        let medium = (2048.0..=8192.0).contains(&wavelen);
        assert_eq!(wi, if medium { smoothed } else { llama }, "{i}");
    }
    // yarn (DeepSeek-like), low/high from the f64 correction range: low 10, high 23.
    let mut y = Yarn::new(40.0, 4096);
    y.mscale = Some(0.707);
    y.mscale_all_dim = Some(0.707);
    let mut yc = RopeConfig::new(10_000.0, 64);
    yc.scaling = Scaling::Yarn(y);
    let (w, a) = get(&yc, None);
    assert_eq!(a, 1.0);
    for (i, &wi) in w.iter().enumerate() {
        let pos = torch_pos(10_000.0, i, 64);
        let extra = 1.0 / pos;
        let inter = 1.0 / (40.0 * pos);
        let ramp = ((i as f32 - 10.0) / 13.0).clamp(0.0, 1.0);
        let e = 1.0 - ramp;
        assert_eq!(wi, inter * (1.0 - e) + extra * e, "{i}");
    }
    // longrope: 1 / (ext.float() * base ** shape)
    let short: Vec<f64> = (0..48).map(|i| 1.0 + 0.013 * i as f64).collect();
    let long: Vec<f64> = (0..48).map(|i| 1.1 + 0.37 * i as f64).collect();
    let mut lc = RopeConfig::new(10_000.0, 96);
    lc.max_position_embeddings = Some(131_072);
    lc.scaling = Scaling::LongRope(LongRope {
        short_factor: &short,
        long_factor: &long,
        original_max_position_embeddings: 4096,
        factor: None,
        attention_factor: None,
    });
    for (seq, list) in [(4096, &short), (4097, &long)] {
        let (w, _) = get(&lc, Some(seq));
        for (i, &wi) in w.iter().enumerate() {
            assert_eq!(wi, 1.0 / (list[i] as f32 * torch_pos(10_000.0, i, 96)));
        }
    }
    // dynamic with a sequence length: f32 tensor arithmetic for the base.
    let mut dc = RopeConfig::new(10_000.0, dim);
    dc.max_position_embeddings = Some(2048);
    dc.scaling = Scaling::Dynamic { factor: 2.0 };
    let (w, _) = get(&dc, Some(5000));
    let t = ((2.0f32 * 5000.0) / 2048.0 - 1.0) as f64;
    let base = 10_000.0 * (t.powf(f64::from((128.0f64 / 126.0) as f32)) as f32);
    for (i, &wi) in w.iter().enumerate() {
        assert_eq!(wi, 1.0 / torch_pos(base, i, dim));
    }
    // The f32 and f64 paths describe the same frequencies.
    for c in [&c, &yc, &lc, &dc] {
        let (w32, _) = get(c, Some(5000));
        let (w64, _) = omegas(c, Some(5000));
        for (a, b) in w32.iter().zip(&w64) {
            assert!(close_rel(f64::from(*a), *b, 1e-6));
        }
    }
}

#[test]
fn hf_f32_tables_follow_pytorch() {
    let w: Vec<f32> = (0..16).map(|i| 1.0 / torch_pos(10_000.0, i, 32)).collect();
    let positions = [0u64, 1, 77, 16_777_217, 3_000_000_001];
    let (mut cos, mut sin) = (vec![0.0f32; 5 * 16], vec![0.0f32; 5 * 16]);
    hf_f32::fill_positions(&w, &positions, 1.3, &mut cos, &mut sin).unwrap();
    for (r, &p) in positions.iter().enumerate() {
        for (i, &wi) in w.iter().enumerate() {
            let theta = p as f32 * wi;
            let want_c = (f64::from(theta)).cos() as f32 * 1.3f32;
            let want_s = (f64::from(theta)).sin() as f32 * 1.3f32;
            assert_eq!(cos[r * 16 + i], want_c, "{p} {i}");
            assert_eq!(sin[r * 16 + i], want_s, "{p} {i}");
        }
    }
    let (mut c2, mut s2) = (vec![0.0f32; 3 * 16], vec![0.0f32; 3 * 16]);
    hf_f32::fill_range(&w, 76, 3, 1.3, &mut c2, &mut s2).unwrap();
    assert_eq!(&c2[16..32], &cos[32..48]);
}

// ---------------------------------------------------------------------------------------------------------------
// Applying the rotation
// ---------------------------------------------------------------------------------------------------------------

/// A random application problem: tables for `table_positions`, rows pointing into them.
struct ApplyCase {
    heads: usize,
    rows: usize,
    head_dim: usize,
    half: usize,
    w: Vec<f64>,
    table_positions: Vec<u64>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    row_table: Vec<usize>,
    x: Vec<f32>,
}

impl ApplyCase {
    fn new(seed: u64) -> ApplyCase {
        let mut rng = Rng::new(seed);
        let heads = 1 + rng.below(3);
        let rows = 1 + rng.below(6);
        let half = 1 + rng.below(20);
        let head_dim = 2 * half + rng.below(5);
        let base = [10_000.0, 500_000.0, 1e6][rng.below(3)];
        let w: Vec<f64> = (0..half)
            .map(|i| 1.0 / f64::powf(base, 2.0 * i as f64 / (2 * half) as f64))
            .collect();
        let n_table = 1 + rng.below(5);
        let table_positions: Vec<u64> = (0..n_table).map(|_| rng.next() % (1 << 21)).collect();
        let (mut cos, mut sin) = (vec![0.0f32; n_table * half], vec![0.0f32; n_table * half]);
        table::fill_positions(&w, &table_positions, 1.0, &mut cos, &mut sin).unwrap();
        let row_table = (0..rows).map(|_| rng.below(n_table)).collect();
        let scale = [1.0f32, 100.0, 1e-3][rng.below(3)];
        // The tails past 2·half (partial rotary) sometimes hold arbitrary bit patterns: NaN, infinities,
        // subnormals, which must come out bit for bit.
        let x = (0..heads * rows * head_dim)
            .map(|k| {
                if k % head_dim >= 2 * half && rng.below(4) == 0 {
                    f32::from_bits(rng.next() as u32)
                } else {
                    rng.sym() * scale
                }
            })
            .collect();
        ApplyCase {
            heads,
            rows,
            head_dim,
            half,
            w,
            table_positions,
            cos,
            sin,
            row_table,
            x,
        }
    }
    fn tables(&self) -> Tables<'_> {
        Tables {
            cos: &self.cos,
            sin: &self.sin,
            half: self.half,
        }
    }
    fn run(&self, simd: Simd, layout: Layout, direction: Direction) -> Vec<f32> {
        let mut x = self.x.clone();
        apply::apply(
            simd,
            layout,
            direction,
            Rows::new(&mut x[..], self.heads, self.rows, self.head_dim),
            &self.tables(),
            Positions::Listed(&self.row_table),
            &mut [],
        )
        .unwrap();
        x
    }
    /// Pair `i` of a row: its two element indices.
    fn pair(&self, layout: Layout, i: usize) -> (usize, usize) {
        match layout {
            Layout::Interleaved => (2 * i, 2 * i + 1),
            Layout::HalfSplit => (i, self.half + i),
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Rotation against f64 with the exact angle; partial rotary tails untouched.
    #[test]
    fn application_matches_f64(seed in any::<u64>()) {
        let case = ApplyCase::new(seed);
        for layout in [Layout::Interleaved, Layout::HalfSplit] {
            let got = case.run(Simd::best(), layout, Direction::Forward);
            for h in 0..case.heads {
                for r in 0..case.rows {
                    let o = (h * case.rows + r) * case.head_dim;
                    let p = case.table_positions[case.row_table[r]];
                    for i in 0..case.half {
                        let (ia, ib) = case.pair(layout, i);
                        let (a, b) = (f64::from(case.x[o + ia]), f64::from(case.x[o + ib]));
                        let (s, c) = oracle_sin_cos(p, case.w[i]);
                        let (wa, wb) = (a * c - b * s, a * s + b * c);
                        let tol = 3e-7 * (a.abs() + b.abs());
                        prop_assert!((f64::from(got[o + ia]) - wa).abs() <= tol);
                        prop_assert!((f64::from(got[o + ib]) - wb).abs() <= tol);
                    }
                    for j in 2 * case.half..case.head_dim {
                        prop_assert_eq!(got[o + j].to_bits(), case.x[o + j].to_bits());
                    }
                }
            }
        }
    }

    /// Every SIMD level agrees with the scalar level within a couple of ulps of the pair's magnitude, and the
    /// inverse rotation equals a forward rotation with negated sines, bit for bit up to the sign of an exact
    /// zero, at every level.
    #[test]
    fn every_level_agrees_with_scalar(seed in any::<u64>()) {
        let case = ApplyCase::new(seed);
        for layout in [Layout::Interleaved, Layout::HalfSplit] {
            let want = case.run(scalar(), layout, Direction::Forward);
            for simd in Simd::available() {
                let got = case.run(simd, layout, Direction::Forward);
                for o in (0..case.heads * case.rows).map(|k| k * case.head_dim) {
                    for i in 0..case.half {
                        let (ia, ib) = case.pair(layout, i);
                        let m = case.x[o + ia].abs() + case.x[o + ib].abs();
                        for j in [ia, ib] {
                            prop_assert!((got[o + j] - want[o + j]).abs() <= 2.0 * f32::EPSILON * m,
                                "{:?} {:?}", simd.level(), layout);
                        }
                    }
                }
                let inverse = case.run(simd, layout, Direction::Inverse);
                let negated: Vec<f32> = case.sin.iter().map(|s| -s).collect();
                let mut x = case.x.clone();
                apply::apply(
                    simd, layout, Direction::Forward,
                    Rows::new(&mut x[..], case.heads, case.rows, case.head_dim),
                    &Tables { cos: &case.cos, sin: &negated, half: case.half },
                    Positions::Listed(&case.row_table), &mut [],
                ).unwrap();
                // Equal bits, except that an exact zero may differ in sign (see `apply`).
                for (g, w) in inverse.iter().zip(&x) {
                    prop_assert!(g.to_bits() == w.to_bits() || (*g == 0.0 && *w == 0.0), "{g} vs {w}");
                }
            }
        }
    }

    /// Forward then inverse gives the input back to rounding.
    #[test]
    fn inverse_round_trip(seed in any::<u64>()) {
        let case = ApplyCase::new(seed);
        for layout in [Layout::Interleaved, Layout::HalfSplit] {
            let mut x = case.run(Simd::best(), layout, Direction::Forward);
            apply::apply(
                Simd::best(), layout, Direction::Inverse,
                Rows::new(&mut x[..], case.heads, case.rows, case.head_dim),
                &case.tables(), Positions::Listed(&case.row_table), &mut [],
            ).unwrap();
            for o in (0..case.heads * case.rows).map(|k| k * case.head_dim) {
                for i in 0..case.half {
                    let (ia, ib) = case.pair(layout, i);
                    let m = case.x[o + ia].abs() + case.x[o + ib].abs();
                    prop_assert!((x[o + ia] - case.x[o + ia]).abs() <= 5e-7 * m);
                    prop_assert!((x[o + ib] - case.x[o + ib]).abs() <= 5e-7 * m);
                }
                for j in 2 * case.half..case.head_dim {
                    prop_assert_eq!(x[o + j].to_bits(), case.x[o + j].to_bits());
                }
            }
        }
    }

    /// Interleaved rotation of x equals half-split rotation of the permuted x (pair i at (2i, 2i+1) moved to
    /// (i, i + D/2)), bit for bit on the scalar level.
    #[test]
    fn layouts_agree_up_to_the_permutation(seed in any::<u64>()) {
        let case = ApplyCase::new(seed);
        let permute = |x: &[f32]| -> Vec<f32> {
            let mut y = x.to_vec();
            for o in (0..case.heads * case.rows).map(|k| k * case.head_dim) {
                for i in 0..case.half {
                    y[o + i] = x[o + 2 * i];
                    y[o + case.half + i] = x[o + 2 * i + 1];
                }
            }
            y
        };
        let interleaved = case.run(scalar(), Layout::Interleaved, Direction::Forward);
        let mut y = permute(&case.x);
        apply::apply(
            scalar(), Layout::HalfSplit, Direction::Forward,
            Rows::new(&mut y[..], case.heads, case.rows, case.head_dim),
            &case.tables(), Positions::Listed(&case.row_table), &mut [],
        ).unwrap();
        prop_assert_eq!(
            permute(&interleaved).iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    /// f16/bf16 storage: widen exactly, rotate in f32, round once — the f32 rotation of the same rounded
    /// inputs, rounded; the tail (anything, including NaN and infinity bit patterns) untouched.
    #[test]
    fn half_storage_matches_f32_on_rounded_inputs(seed in any::<u64>()) {
        let case = ApplyCase::new(seed);
        let mut rng = Rng::new(seed ^ 0x55);
        for layout in [Layout::Interleaved, Layout::HalfSplit] {
            for simd in Simd::available() {
                let mut scratch = vec![0.0f32; apply::scratch_len(2 * case.half)];
                // f16
                let mut x16: Vec<f16> = case.x.iter().map(|&v| f16::from_f32(v)).collect();
                let mut x16_tail = x16.clone();
                for o in (0..case.heads * case.rows).map(|k| k * case.head_dim) {
                    for j in 2 * case.half..case.head_dim {
                        x16_tail[o + j] = f16::from_bits(rng.next() as u16);
                    }
                }
                x16.clone_from(&x16_tail);
                let mut wide: Vec<f32> = x16.iter().map(|v| v.to_f32()).collect();
                apply::apply(simd, layout, Direction::Forward,
                    Rows::new(&mut x16[..], case.heads, case.rows, case.head_dim),
                    &case.tables(), Positions::Listed(&case.row_table), &mut scratch).unwrap();
                apply::apply(simd, layout, Direction::Forward,
                    Rows::new(&mut wide[..], case.heads, case.rows, case.head_dim),
                    &case.tables(), Positions::Listed(&case.row_table), &mut []).unwrap();
                for o in (0..case.heads * case.rows).map(|k| k * case.head_dim) {
                    for j in 0..2 * case.half {
                        prop_assert_eq!(x16[o + j].to_bits(), f16::from_f32(wide[o + j]).to_bits());
                    }
                    for j in 2 * case.half..case.head_dim {
                        prop_assert_eq!(x16[o + j].to_bits(), x16_tail[o + j].to_bits());
                    }
                }
                // bf16
                let mut xb: Vec<bf16> = case.x.iter().map(|&v| bf16::from_f32(v)).collect();
                let mut wide: Vec<f32> = xb.iter().map(|v| v.to_f32()).collect();
                apply::apply(simd, layout, Direction::Forward,
                    Rows::new(&mut xb[..], case.heads, case.rows, case.head_dim),
                    &case.tables(), Positions::Listed(&case.row_table), &mut scratch).unwrap();
                apply::apply(simd, layout, Direction::Forward,
                    Rows::new(&mut wide[..], case.heads, case.rows, case.head_dim),
                    &case.tables(), Positions::Listed(&case.row_table), &mut []).unwrap();
                let original: Vec<bf16> = case.x.iter().map(|&v| bf16::from_f32(v)).collect();
                for o in (0..case.heads * case.rows).map(|k| k * case.head_dim) {
                    for j in 0..2 * case.half {
                        prop_assert_eq!(xb[o + j].to_bits(), bf16::from_f32(wide[o + j]).to_bits());
                    }
                    for j in 2 * case.half..case.head_dim {
                        prop_assert_eq!(xb[o + j].to_bits(), original[o + j].to_bits());
                    }
                }
            }
        }
    }

    /// rope(q, m)·rope(k, n) depends only on m − n: it equals qᵀR((n − m)ω)k computed in f64.
    #[test]
    fn scores_depend_only_on_relative_position(
        seed in any::<u64>(),
        m in 0u64..(1 << 20),
        n in 0u64..(1 << 20),
        shift in 0u64..(1 << 20),
    ) {
        let mut rng = Rng::new(seed);
        let (dim, half) = (64usize, 32usize);
        let w: Vec<f64> = (0..half).map(|i| plain(10_000.0, i, dim)).collect();
        let q: Vec<f32> = (0..dim).map(|_| rng.sym()).collect();
        let k: Vec<f32> = (0..dim).map(|_| rng.sym()).collect();
        let (mut cos, mut sin) = (vec![0.0f32; 4 * half], vec![0.0f32; 4 * half]);
        let positions = [m, n, m + shift, n + shift];
        table::fill_positions(&w, &positions, 1.0, &mut cos, &mut sin).unwrap();
        let rotated = |v: &[f32], row: usize| {
            let mut v = v.to_vec();
            apply::apply(Simd::best(), Layout::HalfSplit, Direction::Forward,
                Rows::new(&mut v[..], 1, 1, dim),
                &Tables { cos: &cos, sin: &sin, half }, Positions::Consecutive(row), &mut []).unwrap();
            v
        };
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum::<f64>();
        let s1 = dot(&rotated(&q, 0), &rotated(&k, 1));
        let s2 = dot(&rotated(&q, 2), &rotated(&k, 3));
        // qᵀ R((n − m)ω) k in f64, pairs (i, i + half).
        let mut want = 0.0;
        for i in 0..half {
            let delta = n as f64 - m as f64;
            let (s, c) = ((delta * w[i]).sin(), (delta * w[i]).cos());
            let (ka, kb) = (f64::from(k[i]), f64::from(k[half + i]));
            want += f64::from(q[i]) * (ka * c - kb * s) + f64::from(q[half + i]) * (ka * s + kb * c);
        }
        let scale = q.iter().map(|v| v.abs()).sum::<f32>() as f64;
        prop_assert!((s1 - want).abs() <= 2e-6 * scale, "{s1} vs {want}");
        prop_assert!((s2 - want).abs() <= 2e-6 * scale, "{s2} vs {want}");
    }
}

#[test]
fn strided_token_major_rows() {
    // x laid out [rows, heads, head_dim] (a fresh projection): head_stride = head_dim, row_stride = heads·dim.
    let (heads, rows, dim, half) = (3, 4, 10, 4);
    let w: Vec<f64> = (0..half).map(|i| plain(10_000.0, i, 8)).collect();
    let (mut cos, mut sin) = (vec![0.0f32; rows * half], vec![0.0f32; rows * half]);
    table::fill_range(&w, 100, rows, 1.0, &mut cos, &mut sin).unwrap();
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half,
    };
    let mut rng = Rng::new(9);
    let packed: Vec<f32> = (0..heads * rows * dim).map(|_| rng.sym()).collect();
    let mut token_major = vec![0.0f32; rows * heads * dim];
    for h in 0..heads {
        for r in 0..rows {
            for j in 0..dim {
                token_major[(r * heads + h) * dim + j] = packed[(h * rows + r) * dim + j];
            }
        }
    }
    let mut a = packed.clone();
    apply::apply(
        scalar(),
        Layout::Interleaved,
        Direction::Forward,
        Rows::new(&mut a[..], heads, rows, dim),
        &tables,
        Positions::Consecutive(0),
        &mut [],
    )
    .unwrap();
    apply::apply(
        scalar(),
        Layout::Interleaved,
        Direction::Forward,
        Rows {
            data: &mut token_major[..],
            heads,
            rows,
            head_dim: dim,
            row_stride: heads * dim,
            head_stride: dim,
        },
        &tables,
        Positions::Consecutive(0),
        &mut [],
    )
    .unwrap();
    for h in 0..heads {
        for r in 0..rows {
            for j in 0..dim {
                assert_eq!(
                    token_major[(r * heads + h) * dim + j],
                    a[(h * rows + r) * dim + j]
                );
            }
        }
    }
    assert_ne!(a, packed);
}

#[test]
fn inverse_differs_from_negated_sines_only_in_the_sign_of_zero() {
    // fl(a·s) = fl(b·c): the second member cancels exactly.
    for simd in Simd::available() {
        let (cos, sin, neg) = ([1.0f32], [0.5f32], [-0.5f32]);
        let mut inverse = [1.0f32, 0.5];
        let mut negated = inverse;
        for (x, s, direction) in [
            (&mut inverse, &sin, Direction::Inverse),
            (&mut negated, &neg, Direction::Forward),
        ] {
            apply::apply(
                simd,
                Layout::Interleaved,
                direction,
                Rows::new(&mut x[..], 1, 1, 2),
                &Tables {
                    cos: &cos,
                    sin: s,
                    half: 1,
                },
                Positions::Consecutive(0),
                &mut [],
            )
            .unwrap();
        }
        assert_eq!(inverse[0], 1.25);
        assert_eq!(negated[0], 1.25);
        assert_eq!((inverse[1], negated[1]), (0.0, 0.0));
        assert_eq!(negated[1].to_bits(), 0);
        assert_eq!(inverse[1].to_bits(), 0x8000_0000, "{:?}", simd.level());
    }
}

#[test]
fn application_arguments_are_checked_before_writing() {
    let cos = [1.0f32; 8];
    let sin = [0.0f32; 8];
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half: 2,
    };
    let mut x = [7.0f32; 12];
    let run = |x: Rows<'_, f32>, positions: Positions<'_>, tables: &Tables<'_>| {
        apply::apply(
            scalar(),
            Layout::HalfSplit,
            Direction::Forward,
            x,
            tables,
            positions,
            &mut [],
        )
    };
    assert_eq!(
        run(
            Rows::new(&mut x[..], 1, 4, 4),
            Positions::Consecutive(0),
            &tables
        ),
        Err(RopeError::TooShort {
            buffer: "x",
            needed: 16,
            got: 12
        })
    );
    assert_eq!(
        run(
            Rows::new(&mut x[..], 1, 3, 4),
            Positions::Consecutive(2),
            &tables
        ),
        Err(RopeError::TooShort {
            buffer: "cos",
            needed: 10,
            got: 8
        })
    );
    assert_eq!(
        run(
            Rows::new(&mut x[..], 1, 3, 4),
            Positions::Listed(&[0, 1]),
            &tables
        ),
        Err(RopeError::PositionCount {
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        run(
            Rows::new(&mut x[..], 1, 4, 3),
            Positions::Consecutive(0),
            &tables
        ),
        Err(RopeError::RotaryWiderThanHead {
            rotary_dim: 4,
            head_dim: 3
        })
    );
    let overlapping = Rows {
        data: &mut x[..],
        heads: 1,
        rows: 3,
        head_dim: 4,
        row_stride: 2,
        head_stride: 12,
    };
    assert_eq!(
        run(overlapping, Positions::Consecutive(0), &tables),
        Err(RopeError::Overlap {
            stride: "row_stride"
        })
    );
    assert_eq!(
        run(
            Rows::new(&mut x[..], 1, 3, 4),
            Positions::Consecutive(usize::MAX),
            &tables
        ),
        Err(RopeError::PositionOverflow)
    );
    assert!(x.iter().all(|&v| v == 7.0), "a rejected call wrote");
    let mut h = [f16::ONE; 8];
    assert_eq!(
        apply::apply(
            scalar(),
            Layout::Interleaved,
            Direction::Forward,
            Rows::new(&mut h[..], 1, 2, 4),
            &tables,
            Positions::Consecutive(0),
            &mut [0.0; 3],
        ),
        Err(RopeError::TooShort {
            buffer: "scratch",
            needed: 4,
            got: 3
        })
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The incremental generator
// ---------------------------------------------------------------------------------------------------------------

/// Largest |generator − exact table| over positions `0 .. n`, for a state type and re-anchoring period.
fn generator_error<T: StateFloat + Default>(
    w: &[f64],
    reanchor: u32,
    n: u64,
    exact: &ExactRows,
) -> f64 {
    let half = w.len();
    let mut state = vec![T::default(); Generator::<T>::state_len(half)];
    let mut g = Generator::new(w, 0, reanchor, &mut state[..]).unwrap();
    let (mut c, mut s) = (vec![0.0f32; half], vec![0.0f32; half]);
    let mut worst = 0.0f64;
    for p in 0..n {
        g.write(1.0, &mut c, &mut s).unwrap();
        let (ec, es) = exact.row(p);
        for i in 0..half {
            worst = worst
                .max((f64::from(c[i]) - ec[i]).abs())
                .max((f64::from(s[i]) - es[i]).abs());
        }
        g.advance().unwrap();
    }
    worst
}

/// Exact f64 cos/sin for positions `0 .. n`, precomputed once.
struct ExactRows {
    half: usize,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl ExactRows {
    fn new(w: &[f64], n: u64) -> ExactRows {
        let half = w.len();
        let (mut cos, mut sin) = (vec![0.0; n as usize * half], vec![0.0; n as usize * half]);
        for p in 0..n {
            let o = p as usize * half;
            table::row_f64(w, p, 1.0, &mut cos[o..o + half], &mut sin[o..o + half]);
        }
        ExactRows { half, cos, sin }
    }
    fn row(&self, p: u64) -> (&[f64], &[f64]) {
        let o = p as usize * self.half;
        (&self.cos[o..o + self.half], &self.sin[o..o + self.half])
    }
}

#[test]
fn incremental_generator_error_over_2_pow_20_positions() {
    let n = 1u64 << 20;
    for base in [10_000.0, 500_000.0] {
        let w: Vec<f64> = (0..64).map(|i| plain(base, i, 128)).collect();
        // The exact rows themselves are checked against the oracle on a sample.
        let exact = ExactRows::new(&w, n);
        for p in (0..n).step_by(4099) {
            let (c, s) = exact.row(p);
            for (i, &wi) in w.iter().enumerate() {
                let (os, oc) = oracle_sin_cos(p, wi);
                assert!((c[i] - oc).abs() < 1e-15 && (s[i] - os).abs() < 1e-15);
            }
        }
        let f32_16 = generator_error::<f32>(&w, 16, n, &exact);
        let f32_64 = generator_error::<f32>(&w, 64, n, &exact);
        let ff_64 = generator_error::<F32x2>(&w, 64, n, &exact);
        let ff_never = generator_error::<F32x2>(&w, u32::MAX, n, &exact);
        let f64_64 = generator_error::<f64>(&w, 64, n, &exact);
        let f64_never = generator_error::<f64>(&w, 1 << 16, n, &exact);
        eprintln!(
            "incremental, base {base}, D 128, positions 0..2^20: f32 R=16 {f32_16:.2e}, f32 R=64 {f32_64:.2e}, \
             F32x2 R=64 {ff_64:.2e}, F32x2 no re-anchor {ff_never:.2e}, f64 R=64 {f64_64:.2e}, f64 R=65536 {f64_never:.2e}"
        );
        assert!(f32_16 <= 1.5e-6, "{f32_16:e}");
        assert!(f32_64 <= 5e-6, "{f32_64:e}");
        for e in [ff_64, ff_never, f64_64, f64_never] {
            assert!(e <= 6e-8, "{e:e}");
        }
    }
}

#[test]
fn incremental_generator_edges() {
    let w = [1.0, 0.5];
    let mut state = [0.0f64; 7];
    assert_eq!(
        Generator::new(&w, 0, 64, &mut state[..]).unwrap_err(),
        RopeError::TooShort {
            buffer: "state",
            needed: 8,
            got: 7
        }
    );
    let mut state = [0.0f64; 8];
    assert_eq!(
        Generator::new(&w, 0, 0, &mut state[..]).unwrap_err(),
        RopeError::InvalidParameter { name: "reanchor" }
    );
    let mut g = Generator::new(&w, u64::MAX - 1, 64, &mut state[..]).unwrap();
    g.advance().unwrap();
    assert_eq!(g.advance(), Err(RopeError::PositionOverflow));
    assert_eq!(g.position(), u64::MAX);
    g.seek(12_345);
    let (os, oc) = oracle_sin_cos(12_345, 0.5);
    assert!((g.cos()[1] - oc).abs() < 1e-15 && (g.sin()[1] - os).abs() < 1e-15);
    // The scale is applied to the written row.
    let (mut c, mut s) = ([0.0f32; 2], [0.0f32; 2]);
    g.write(2.0, &mut c, &mut s).unwrap();
    assert_eq!(c[1], (2.0 * g.cos()[1]) as f32);
}

// ---------------------------------------------------------------------------------------------------------------
// Sinusoidal encodings, ALiBi, linear attention
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn sinusoidal_matches_the_definition() {
    let dim = 64;
    let positions: Vec<u32> = vec![0, 1, 2, 50, 1000, 131_071, 1 << 20];
    let mut inter = vec![0.0f32; positions.len() * dim];
    let mut concat = vec![0.0f32; positions.len() * dim];
    sinusoidal::fill_positions(
        dim,
        10_000.0,
        &positions,
        SinusoidalLayout::Interleaved,
        &mut inter,
    )
    .unwrap();
    sinusoidal::fill_positions(
        dim,
        10_000.0,
        &positions,
        SinusoidalLayout::Concatenated,
        &mut concat,
    )
    .unwrap();
    for (r, &p) in positions.iter().enumerate() {
        for i in 0..dim / 2 {
            let w = 1.0 / 10_000f64.powf(2.0 * i as f64 / dim as f64);
            let (s, c) = oracle_sin_cos(u64::from(p), w);
            let row = r * dim;
            assert!((f64::from(inter[row + 2 * i]) - s).abs() <= 1e-7);
            assert!((f64::from(inter[row + 2 * i + 1]) - c).abs() <= 1e-7);
            assert_eq!(concat[row + i], inter[row + 2 * i]);
            assert_eq!(concat[row + dim / 2 + i], inter[row + 2 * i + 1]);
            if p < 100 {
                // The paper's form p / 10000^(2i/d), evaluated directly.
                let theta = f64::from(p) / 10_000f64.powf(2.0 * i as f64 / dim as f64);
                assert!((f64::from(inter[row + 2 * i]) - theta.sin()).abs() <= 1e-7);
            }
        }
    }
    let mut range = vec![0.0f32; 3 * dim];
    sinusoidal::fill_range(
        dim,
        10_000.0,
        1000,
        3,
        SinusoidalLayout::Interleaved,
        &mut range,
    )
    .unwrap();
    assert_eq!(&range[..dim], &inter[4 * dim..5 * dim]);
    // Far positions: the same values as the RoPE tables of the same frequencies (both keep the angle exact).
    let (w, _) = omegas(&RopeConfig::new(10_000.0, dim), None);
    let (mut cos, mut sin) = (vec![0.0f32; 3 * 32], vec![0.0f32; 3 * 32]);
    table::fill_range(&w, 4_000_000_000, 3, 1.0, &mut cos, &mut sin).unwrap();
    sinusoidal::fill_range(
        dim,
        10_000.0,
        4_000_000_000,
        3,
        SinusoidalLayout::Concatenated,
        &mut range,
    )
    .unwrap();
    for r in 0..3 {
        assert_eq!(&range[r * dim..r * dim + 32], &sin[r * 32..(r + 1) * 32]);
        assert_eq!(
            &range[r * dim + 32..(r + 1) * dim],
            &cos[r * 32..(r + 1) * 32]
        );
    }
    assert_eq!(
        sinusoidal::fill_range(7, 10_000.0, 0, 1, SinusoidalLayout::Interleaved, &mut range),
        Err(RopeError::OddRotaryDim { dim: 7 })
    );
}

/// Press et al.'s `get_slopes`, recursively, with the geometric sequence multiplied out.
fn alibi_reference(n: usize) -> Vec<f64> {
    fn power_of_two(n: usize) -> Vec<f64> {
        let start = 2f64.powf(-8.0 / n as f64);
        let mut v = Vec::with_capacity(n);
        let mut s = start;
        for _ in 0..n {
            v.push(s);
            s *= start;
        }
        v
    }
    if n.is_power_of_two() {
        return power_of_two(n);
    }
    let closest = 1usize << n.ilog2();
    let mut v = power_of_two(closest);
    v.extend(
        alibi_reference(2 * closest)
            .iter()
            .step_by(2)
            .take(n - closest),
    );
    v
}

#[test]
fn alibi_slopes_follow_the_reference_recursion() {
    for n in 1..=64 {
        let want = alibi_reference(n);
        let mut got = vec![0.0f32; n];
        emkern::rope::alibi_slopes(&mut got);
        for (h, (&g, &w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (f64::from(g) - w).abs() <= 0.5 * f64::from(f32::EPSILON) * w * 1.001,
                "{n} heads, head {h}: {g} vs {w}"
            );
            assert_eq!(emkern::rope::alibi_slope(h, n), g);
        }
    }
    // Eight heads: 1/2, 1/4, ..., 1/256.
    let mut eight = [0.0f32; 8];
    emkern::rope::alibi_slopes(&mut eight);
    assert_eq!(
        eight,
        [
            0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625
        ]
    );
}

#[test]
fn linear_attention_with_rope_matches_f64() {
    let mut rng = Rng::new(77);
    let (d, d_v, n, half) = (16usize, 5usize, 9usize, 6usize);
    let w: Vec<f64> = (0..half).map(|i| plain(10_000.0, i, 2 * half)).collect();
    let table_positions: Vec<u64> = (0..12).map(|p| 1000 + 37 * p).collect();
    let (mut cos, mut sin) = (vec![0.0f32; 12 * half], vec![0.0f32; 12 * half]);
    table::fill_positions(&w, &table_positions, 1.0, &mut cos, &mut sin).unwrap();
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half,
    };
    let q: Vec<f32> = (0..d).map(|_| rng.sym()).collect();
    let k: Vec<f32> = (0..n * d).map(|_| rng.sym()).collect();
    let v: Vec<f32> = (0..n * d_v).map(|_| rng.sym()).collect();
    let key_positions: Vec<usize> = (0..n).map(|_| rng.below(12)).collect();
    let phi = |x: f32| {
        let x = f64::from(x);
        if x > 0.0 { x + 1.0 } else { x.exp() }
    };
    let rotate = |x: &mut [f64], p: u64| {
        for i in 0..half {
            let (s, c) = oracle_sin_cos(p, w[i]);
            let (a, b) = (x[i], x[half + i]);
            x[i] = a * c - b * s;
            x[half + i] = a * s + b * c;
        }
    };
    for layout_q_position in [3usize, 7] {
        let phi_q: Vec<f64> = q.iter().map(|&x| phi(x)).collect();
        let mut rot_q = phi_q.clone();
        rotate(&mut rot_q, table_positions[layout_q_position]);
        let (mut num, mut den) = (vec![0.0f64; d_v], 0.0f64);
        for j in 0..n {
            let phi_k: Vec<f64> = k[j * d..(j + 1) * d].iter().map(|&x| phi(x)).collect();
            den += phi_q.iter().zip(&phi_k).map(|(a, b)| a * b).sum::<f64>();
            let mut rot_k = phi_k.clone();
            rotate(&mut rot_k, table_positions[key_positions[j]]);
            let weight: f64 = rot_q.iter().zip(&rot_k).map(|(a, b)| a * b).sum();
            for t in 0..d_v {
                num[t] += weight * f64::from(v[j * d_v + t]);
            }
        }
        let mut out = vec![0.0f32; d_v];
        let mut scratch = vec![0.0f32; linear_attention::scratch_len(d)];
        linear_attention::attend(
            Simd::best(),
            Layout::HalfSplit,
            &linear_attention::Query {
                q: &q,
                q_position: layout_q_position,
                k: &k,
                key_positions: &key_positions,
                v: &v,
                d_v,
            },
            &tables,
            &mut out,
            &mut scratch,
        )
        .unwrap();
        for t in 0..d_v {
            let want = num[t] / den;
            assert!(
                (f64::from(out[t]) - want).abs() <= 1e-5,
                "{t}: {} vs {want}",
                out[t]
            );
        }
    }
    // With every key at the query's position the rotations cancel: plain linear attention (a convex
    // combination of the values).
    let same = vec![4usize; n];
    let mut out = vec![0.0f32; d_v];
    let mut scratch = vec![0.0f32; linear_attention::scratch_len(d)];
    linear_attention::attend(
        scalar(),
        Layout::HalfSplit,
        &linear_attention::Query {
            q: &q,
            q_position: 4,
            k: &k,
            key_positions: &same,
            v: &v,
            d_v,
        },
        &tables,
        &mut out,
        &mut scratch,
    )
    .unwrap();
    let weights: Vec<f64> = (0..n)
        .map(|j| (0..d).map(|t| phi(q[t]) * phi(k[j * d + t])).sum::<f64>())
        .collect();
    let total: f64 = weights.iter().sum();
    for t in 0..d_v {
        let want: f64 = (0..n)
            .map(|j| weights[j] * f64::from(v[j * d_v + t]))
            .sum::<f64>()
            / total;
        assert!((f64::from(out[t]) - want).abs() <= 1e-5);
    }
}
