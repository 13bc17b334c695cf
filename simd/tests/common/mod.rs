//! Shared helpers for the level-comparison tests: input generators and f64 oracles with stated tolerances.
#![allow(dead_code)]

use emkern_simd::Simd;
use proptest::prelude::*;

/// f32 machine epsilon halved: the unit roundoff u = 2⁻²⁴.
pub const U: f64 = 1.0 / 16_777_216.0;
/// Smallest positive subnormal f32.
pub const TINY: f64 = 1.401_298_464_324_817e-45;

/// Every level this CPU supports (scalar first).
pub fn levels() -> Vec<Simd> {
    Simd::available().collect()
}

/// Values that break naive kernels.
pub const SPECIALS: [f32; 16] = [
    0.0,
    -0.0,
    1.0e-45,
    -1.0e-45,
    1.0e-40,
    f32::MIN_POSITIVE,
    -f32::MIN_POSITIVE,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    f32::MAX,
    f32::MIN,
    1.0e30,
    -1.0e30,
    1.0e-30,
    -1.0e-30,
];

/// Moderate finite values, the bulk of real inputs.
pub fn moderate() -> impl Strategy<Value = f32> {
    -100.0f32..100.0
}

/// Mostly moderate values with a sprinkling of specials.
pub fn mixed() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => moderate(),
        1 => proptest::sample::select(SPECIALS.to_vec()),
        1 => any::<u32>().prop_map(f32::from_bits),
    ]
}

/// A vector of `len` values plus a start offset 0..4 so kernels see unaligned sub-slices.
pub fn vec_with_offset<S: Strategy<Value = f32> + 'static>(
    values: S,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = (Vec<f32>, usize)> {
    let values = values.boxed();
    (len, 0usize..4).prop_flat_map(move |(n, off)| {
        (
            proptest::collection::vec(values.clone(), n + off),
            Just(off),
        )
    })
}

/// Deterministic pseudo-random values in [-1, 1) (xorshift32).
pub fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// Checks a sum of `terms` (given exactly in f64: products of f32 inputs are exact in f64) computed in f32 by some
/// level, with the bound `|got − exact| ≤ (n + 8)·2⁻²³·Σ|terms| + n·TINY`. IEEE special cases: a NaN term (NaN
/// input or ∞·0) or terms of both infinite signs must give NaN; when the finite terms could overflow f32 in some
/// partial sum (or, without FMA, in a product), the outcome depends on the evaluation order and is not checked;
/// otherwise an infinite term must give that infinity.
pub fn check_sum(got: f32, terms: &[f64]) -> Result<(), String> {
    let n = terms.len();
    let has_nan = terms.iter().any(|t| t.is_nan());
    let pos_inf = terms.contains(&f64::INFINITY);
    let neg_inf = terms.contains(&f64::NEG_INFINITY);
    if has_nan || (pos_inf && neg_inf) {
        return if got.is_nan() {
            Ok(())
        } else {
            Err(format!("expected NaN, got {got}"))
        };
    }
    let finite_abs: f64 = terms
        .iter()
        .filter(|t| t.is_finite())
        .map(|t| t.abs())
        .sum();
    if finite_abs >= f32::MAX as f64 / 2.0 {
        return Ok(());
    }
    if pos_inf || neg_inf {
        let want = if pos_inf {
            f32::INFINITY
        } else {
            f32::NEG_INFINITY
        };
        return if got == want {
            Ok(())
        } else {
            Err(format!("expected {want}, got {got}"))
        };
    }
    let exact: f64 = terms.iter().sum();
    let abs: f64 = terms.iter().map(|t| t.abs()).sum();
    if abs > 1.0e38 {
        // Partial sums may overflow in one order and not another; anything but a spurious NaN is acceptable.
        return if got.is_nan() {
            Err("spurious NaN".into())
        } else {
            Ok(())
        };
    }
    let bound = (n as f64 + 8.0) * 2.0 * U * abs + (n as f64 + 1.0) * TINY;
    if (got as f64 - exact).abs() <= bound {
        Ok(())
    } else {
        Err(format!(
            "got {got}, exact {exact}, |err| {} > bound {bound} (n = {n})",
            (got as f64 - exact).abs()
        ))
    }
}

/// Error of `got` against `want` in units in the last place of the f32 nearest `want` (subnormal ulp below
/// the normal range).
pub fn ulps(got: f32, want: f64) -> f64 {
    let w = want as f32;
    let ulp = if w.abs() < f32::MIN_POSITIVE {
        TINY
    } else {
        let e = ((w.abs().to_bits() >> 23) as i32) - 127;
        2f64.powi(e - 23)
    };
    (got as f64 - want).abs() / ulp
}

/// Checks `got ≈ a·b + c·d` computed in f32 from f32 inputs: within `3u·(|a·b| + |c·d|)` plus underflow, with
/// the IEEE special cases decided by the scalar result (`reference`).
pub fn check_fma2(got: f32, a: f32, b: f32, c: f32, d: f32, reference: f32) -> Result<(), String> {
    let (ab, cd) = (a as f64 * b as f64, c as f64 * d as f64);
    let exact = ab + cd;
    let mag = ab.abs() + cd.abs();
    if !reference.is_finite() || !exact.is_finite() || mag > 1.0e38 {
        let same = (got.is_nan() && reference.is_nan()) || got == reference;
        // Near the overflow threshold fused and unfused evaluation may legitimately differ.
        return if same || mag > 1.0e38 {
            Ok(())
        } else {
            Err(format!("got {got}, scalar {reference}"))
        };
    }
    let bound = 3.0 * U * mag + 2.0 * TINY;
    if (got as f64 - exact).abs() <= bound {
        Ok(())
    } else {
        Err(format!(
            "got {got}, exact {exact}, bound {bound} (a={a} b={b} c={c} d={d})"
        ))
    }
}

/// Bit equality, or both NaN.
pub fn same_bits_or_nan(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}
