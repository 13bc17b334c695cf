//! Every primitive at every level this CPU supports, against the scalar reference and an f64 oracle, on random
//! lengths 0..2000, unaligned sub-slices and IEEE special values (proptest), plus exhaustive small-length sweeps.
//! Run natively on x86_64 (scalar, AVX2, AVX-512) and under `qemu-aarch64` (scalar, NEON).

mod common;
// One configuration for every crate's property tests: fixed seed unless asked otherwise.
#[path = "../../host-tests/tests/common/proptest_config.rs"]
mod proptest_config;

use common::*;
use emkern_simd::{GemmShape, Kernels, Level, Simd, bf16, f16, portable::Scalar, rows_that_fit};
use proptest::prelude::*;
use proptest_config::proptest_config;

/// Lengths and dimensions `0..n`; under Miri `0..min(n, 48)`, which still covers every tail of the 8- and
/// 16-lane vectors and several whole vectors.
fn upto(n: usize) -> std::ops::Range<usize> {
    0..if cfg!(miri) { n.min(48) } else { n }
}

/// Matrix dimensions `0..n`; under Miri `0..min(n, 20)` (still past the largest AVX2 and NEON tiles, 12 × 8 and
/// 6 × 16; the f64 oracle of every element dominates the interpreted time).
fn dims(n: usize) -> std::ops::Range<usize> {
    0..if cfg!(miri) { n.min(20) } else { n }
}

fn dot_terms(a: &[f32], b: &[f32]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| x as f64 * y as f64)
        .collect()
}

fn check_dot(simd: Simd, a: &[f32], b: &[f32]) -> Result<(), TestCaseError> {
    let got = simd.dot(a, b);
    check_sum(got, &dot_terms(a, b))
        .map_err(|e| TestCaseError::fail(format!("{}: dot: {e}", simd.level())))
}

fn check_exp(simd: Simd, x: &[f32]) -> Result<(), TestCaseError> {
    let mut out = vec![0.0f32; x.len()];
    simd.exp(x, &mut out);
    let mut inplace = x.to_vec();
    simd.exp_in_place(&mut inplace);
    for (i, (&v, &e)) in x.iter().zip(&out).enumerate() {
        prop_assert!(
            same_bits_or_nan(e, inplace[i]),
            "{}: exp and exp_in_place differ at {v}",
            simd.level()
        );
        if v.is_nan() {
            prop_assert!(e.is_nan(), "{}: exp(NaN) = {e}", simd.level());
            continue;
        }
        let want = (v as f64).exp();
        if want > f32::MAX as f64 {
            prop_assert_eq!(
                e,
                f32::INFINITY,
                "{}: exp({}) should overflow",
                simd.level(),
                v
            );
        } else {
            let u = ulps(e, want);
            let limit = if want >= f32::MIN_POSITIVE as f64 {
                2.0
            } else {
                1.0
            };
            prop_assert!(
                u <= limit,
                "{}: exp({v}) = {e}, want {want}: {u} ulp",
                simd.level()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config(192))]

    #[test]
    fn dot_matches_oracle((a, off) in vec_with_offset(mixed(), upto(2000)), skew in 0usize..3) {
        let a = &a[off..];
        // b: a different vector of the same length (shifted copy), sometimes longer to test the prefix rule.
        let mut b: Vec<f32> = a.iter().rev().map(|v| v * 0.5 - 1.0).collect();
        b.extend(std::iter::repeat_n(7.0, skew));
        for simd in levels() {
            check_dot(simd, a, &b)?;
            check_dot(simd, &b, a)?;
        }
    }

    #[test]
    fn dot_rows_matches_oracle(
        (x, off) in vec_with_offset(moderate(), upto(200)),
        extra in upto(300),
        stride_pad in 0usize..5,
        out_len in 0usize..24,
    ) {
        let x = &x[off..];
        let stride = x.len() + stride_pad;
        let rows = pseudo_random(stride * 8 + extra, x.len() as u32 + 1);
        let want_n = rows_that_fit(x.len(), rows.len(), stride, out_len);
        for simd in levels() {
            let mut out = vec![f32::NAN; out_len];
            let n = simd.dot_rows(x, &rows, stride, &mut out);
            prop_assert_eq!(n, want_n, "{}: dot_rows row count", simd.level());
            for (r, &o) in out.iter().enumerate() {
                if r >= n {
                    prop_assert!(o.is_nan(), "{}: dot_rows wrote past row {}", simd.level(), n);
                    continue;
                }
                let row = &rows[r * stride..r * stride + x.len()];
                check_sum(o, &dot_terms(x, row)).map_err(|e| TestCaseError::fail(format!("{}: row {r}: {e}", simd.level())))?;
            }
        }
    }

    #[test]
    fn gemm_matches_oracle(
        m in dims(40),
        n in dims(150),
        k in dims(140),
        pads in (0usize..3, 0usize..3, 0usize..3),
        accumulate in any::<bool>(),
        seed in 1u32..1000,
    ) {
        let shape = GemmShape { m, n, k, lda: k + pads.0, ldb: n + pads.1, ldc: n + pads.2 };
        let a = pseudo_random(m * shape.lda + 3, seed);
        let b = pseudo_random(k * shape.ldb + 3, seed + 1);
        let c0: Vec<f32> = pseudo_random(m * shape.ldc + 3, seed + 2).iter().map(|v| v * 4.0).collect();
        for simd in levels() {
            let mut c = c0.clone();
            prop_assert!(simd.gemm(shape, &a, &b, &mut c, accumulate), "{}: gemm refused", simd.level());
            for (at, (&got, &old)) in c.iter().zip(&c0).enumerate() {
                let (i, j) = (at / shape.ldc.max(1), at % shape.ldc.max(1));
                if i >= m || j >= n {
                    prop_assert!(got.to_bits() == old.to_bits(), "{}: gemm wrote outside C at {at}", simd.level());
                    continue;
                }
                let mut terms: Vec<f64> = (0..k).map(|p| a[i * shape.lda + p] as f64 * b[p * shape.ldb + j] as f64).collect();
                if accumulate {
                    terms.push(old as f64);
                }
                check_sum(got, &terms).map_err(|e| TestCaseError::fail(format!("{}: gemm ({i}, {j}) of {shape:?}: {e}", simd.level())))?;
            }
            // One element too few of C: refused, nothing written.
            if m > 0 && n > 0 {
                let len = (m - 1) * shape.ldc + n - 1;
                let mut short = c0[..len].to_vec();
                prop_assert!(!simd.gemm(shape, &a, &b, &mut short, true), "{}: gemm accepted a short C", simd.level());
                prop_assert!(short == c0[..len], "{}: a refused gemm wrote", simd.level());
            }
        }
    }

    #[test]
    fn transpose_matches_oracle(rows in upto(70), cols in upto(70), pads in (0usize..3, 0usize..3), seed in 1u32..1000) {
        let (lds, ldd) = (cols + pads.0, rows + pads.1);
        let src = pseudo_random(rows * lds + 2, seed);
        let d0 = pseudo_random(cols * ldd + 2, seed + 1);
        for simd in levels() {
            let mut dst = d0.clone();
            prop_assert!(simd.transpose(rows, cols, &src, lds, &mut dst, ldd), "{}: transpose refused", simd.level());
            for (at, (&got, &old)) in dst.iter().zip(&d0).enumerate() {
                let (j, i) = (at / ldd.max(1), at % ldd.max(1));
                let want = if j < cols && i < rows { src[i * lds + j] } else { old };
                prop_assert!(got.to_bits() == want.to_bits(), "{}: transpose {rows}x{cols} at {at}", simd.level());
            }
        }
    }

    #[test]
    fn sum_and_max_match_oracle((x, off) in vec_with_offset(mixed(), upto(2000))) {
        let x = &x[off..];
        let terms: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let want_max = x.iter().copied().filter(|v| !v.is_nan()).fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
        for simd in levels() {
            check_sum(simd.sum(x), &terms).map_err(|e| TestCaseError::fail(format!("{}: sum: {e}", simd.level())))?;
            let m = simd.max(x);
            prop_assert!(m == want_max, "{}: max {} want {}", simd.level(), m, want_max);
        }
    }

    #[test]
    fn axpy_and_scale_match_oracle((x, off) in vec_with_offset(mixed(), upto(2000)), a in mixed(), skew in 0usize..3) {
        let x = &x[off..];
        let y0: Vec<f32> = pseudo_random(x.len() + skew, 7).iter().map(|v| v * 50.0).collect();
        let mut y_ref = y0.clone();
        Scalar.axpy(a, x, &mut y_ref);
        let mut s_ref = y0.clone();
        Scalar.scale(a, &mut s_ref);
        for simd in levels() {
            let mut y = y0.clone();
            simd.axpy(a, x, &mut y);
            for i in 0..y.len() {
                if i >= x.len() {
                    prop_assert_eq!(y[i].to_bits(), y0[i].to_bits(), "{}: axpy touched y past x", simd.level());
                    continue;
                }
                check_fma2(y[i], a, x[i], y0[i], 1.0, y_ref[i])
                    .map_err(|e| TestCaseError::fail(format!("{}: axpy[{i}]: {e}", simd.level())))?;
            }
            let mut s = y0.clone();
            simd.scale(a, &mut s);
            for i in 0..s.len() {
                prop_assert!(same_bits_or_nan(s[i], s_ref[i]), "{}: scale[{}] {} vs {}", simd.level(), i, s[i], s_ref[i]);
            }
        }
    }

    #[test]
    fn exp_matches_oracle((x, off) in vec_with_offset(prop_oneof![4 => -110.0f32..90.0, 1 => mixed()], upto(600))) {
        let x = &x[off..];
        for simd in levels() {
            check_exp(simd, x)?;
        }
    }

    #[test]
    fn exp_shifted_sum_is_exp_of_the_difference_and_its_sum(
        (x, off) in vec_with_offset(prop_oneof![6 => -60.0f32..20.0, 1 => mixed(), 1 => Just(f32::NEG_INFINITY)], upto(600)),
        shift in prop_oneof![4 => -20.0f32..40.0, 1 => mixed()],
    ) {
        let x = &x[off..];
        for simd in levels() {
            // The composition this primitive replaces, on the same level: subtract, exp, sum.
            let mut want: Vec<f32> = x.iter().map(|&v| v - shift).collect();
            simd.exp_in_place(&mut want);
            let mut got = x.to_vec();
            let total = simd.exp_shifted_sum(shift, &mut got);
            for i in 0..x.len() {
                prop_assert!(got[i].to_bits() == want[i].to_bits() || (got[i].is_nan() && want[i].is_nan()),
                    "{}: e^({:e} - {:e}) = {:e}, exp gives {:e}", simd.level(), x[i], shift, got[i], want[i]);
            }
            let terms: Vec<f64> = want.iter().map(|&v| v as f64).collect();
            check_sum(total, &terms).map_err(|e| TestCaseError::fail(format!("{}: sum: {e}", simd.level())))?;
        }
    }

    #[test]
    fn f16_roundtrips_match_scalar((bits, off) in (upto(1100), 0usize..4).prop_flat_map(|(n, o)| (proptest::collection::vec(any::<u32>(), n + o), Just(o)))) {
        let src: Vec<f32> = bits[off..].iter().map(|&b| f32::from_bits(b)).collect();
        let mut h_ref = vec![f16::ZERO; src.len()];
        Scalar.f32_to_f16(&src, &mut h_ref);
        let mut b_ref = vec![bf16::ZERO; src.len()];
        Scalar.f32_to_bf16(&src, &mut b_ref);
        for simd in levels() {
            let mut h = vec![f16::ZERO; src.len()];
            simd.f32_to_f16(&src, &mut h);
            let mut b = vec![bf16::ZERO; src.len()];
            simd.f32_to_bf16(&src, &mut b);
            for i in 0..src.len() {
                prop_assert!(h[i].to_bits() == h_ref[i].to_bits() || (h[i].is_nan() && h_ref[i].is_nan()),
                    "{}: f32->f16({:e}) = {:#06x}, scalar {:#06x}", simd.level(), src[i], h[i].to_bits(), h_ref[i].to_bits());
                prop_assert!(b[i].to_bits() == b_ref[i].to_bits() || (b[i].is_nan() && b_ref[i].is_nan() && (b[i].to_bits() ^ b_ref[i].to_bits()) & 0x8000 == 0),
                    "{}: f32->bf16({:e}) = {:#06x}, scalar {:#06x}", simd.level(), src[i], b[i].to_bits(), b_ref[i].to_bits());
            }
        }
    }

    #[test]
    fn rotations_match_oracle((x, off) in vec_with_offset(mixed(), upto(600)), pairs_short in 0usize..3) {
        let x = &x[off..];
        let pairs = (x.len() / 2).saturating_sub(pairs_short);
        let angles = pseudo_random(pairs, x.len() as u32 + 3);
        let cos: Vec<f32> = angles.iter().map(|a| (a * 3.0).cos()).collect();
        let sin: Vec<f32> = angles.iter().map(|a| (a * 3.0).sin()).collect();
        let mut il_ref = x.to_vec();
        Scalar.rotate_interleaved(&mut il_ref, &cos, &sin);
        let mut hs_ref = x.to_vec();
        Scalar.rotate_half_split(&mut hs_ref, &cos, &sin);
        let h = x.len() / 2;
        for simd in levels() {
            let mut il = x.to_vec();
            simd.rotate_interleaved(&mut il, &cos, &sin);
            let mut hs = x.to_vec();
            simd.rotate_half_split(&mut hs, &cos, &sin);
            for i in 0..x.len() {
                let lvl = simd.level();
                // Interleaved.
                let p = i / 2;
                if p < pairs && 2 * p + 1 < x.len() {
                    let (a, b) = (x[2 * p], x[2 * p + 1]);
                    let r = if i % 2 == 0 { check_fma2(il[i], a, cos[p], b, -sin[p], il_ref[i]) } else { check_fma2(il[i], a, sin[p], b, cos[p], il_ref[i]) };
                    r.map_err(|e| TestCaseError::fail(format!("{lvl}: interleaved[{i}]: {e}")))?;
                } else {
                    prop_assert_eq!(il[i].to_bits(), x[i].to_bits(), "{}: interleaved touched {}", lvl, i);
                }
                // Half-split.
                let (p, first) = if i < h { (i, true) } else { (i - h, false) };
                if p < pairs && i < 2 * h {
                    let (a, b) = (x[p], x[p + h]);
                    let r = if first { check_fma2(hs[i], a, cos[p], b, -sin[p], hs_ref[i]) } else { check_fma2(hs[i], a, sin[p], b, cos[p], hs_ref[i]) };
                    r.map_err(|e| TestCaseError::fail(format!("{lvl}: half-split[{i}]: {e}")))?;
                } else {
                    prop_assert_eq!(hs[i].to_bits(), x[i].to_bits(), "{}: half-split touched {}", lvl, i);
                }
            }
        }
    }
}

/// Every length 0..=130 (all tails of every vector width, twice over) for every primitive on pseudo-random data.
/// Under Miri: lengths 0..=40 (every tail of the 8- and 16-lane vectors), and the f16 conversions at the scalar
/// level only, since Miri cannot execute the F16C instructions (`vcvtps2ph`, `vcvtph2ps`) of the x86 levels.
#[test]
fn every_tail_length() {
    let longest = if cfg!(miri) { 40 } else { 130 };
    for n in 0..=longest {
        let a = pseudo_random(n + 3, n as u32 + 11);
        let b = pseudo_random(n + 3, n as u32 + 97);
        for off in 0..3 {
            let (a, b) = (&a[off..off + n], &b[off..off + n]);
            for simd in levels() {
                check_dot(simd, a, b).unwrap();
                let terms: Vec<f64> = a.iter().map(|&v| v as f64).collect();
                check_sum(simd.sum(a), &terms).unwrap();
                assert_eq!(simd.max(a), Scalar.max(a), "{} max n={n}", simd.level());
                let x: Vec<f32> = a.iter().map(|v| v * 90.0).collect();
                check_exp(simd, &x).unwrap();
                if cfg!(miri) && simd.level() != Level::Scalar {
                    continue;
                }
                let mut h = vec![f16::ZERO; n];
                simd.f32_to_f16(a, &mut h);
                let mut h_ref = vec![f16::ZERO; n];
                Scalar.f32_to_f16(a, &mut h_ref);
                assert_eq!(h, h_ref, "{} f32->f16 n={n}", simd.level());
                let mut w = vec![0.0; n];
                simd.f16_to_f32(&h, &mut w);
                let mut w_ref = vec![0.0; n];
                Scalar.f16_to_f32(&h, &mut w_ref);
                assert_eq!(w, w_ref, "{} f16->f32 n={n}", simd.level());
            }
        }
    }
}

/// Widening is exact: all 65 536 half-precision bit patterns, both formats, every level.
#[test]
fn widening_is_exact_for_every_bit_pattern() {
    let bits: Vec<u16> = (0..=u16::MAX).collect();
    let h: Vec<f16> = bits.iter().map(|&b| f16::from_bits(b)).collect();
    let bf: Vec<bf16> = bits.iter().map(|&b| bf16::from_bits(b)).collect();
    for simd in levels() {
        let mut out = vec![0.0f32; bits.len()];
        simd.f16_to_f32(&h, &mut out);
        for (i, &o) in out.iter().enumerate() {
            let want = h[i].to_f64();
            assert!(
                (o.is_nan() && want.is_nan()) || o as f64 == want,
                "{}: f16 {:#06x} -> {o}",
                simd.level(),
                bits[i]
            );
        }
        simd.bf16_to_f32(&bf, &mut out);
        for (i, &o) in out.iter().enumerate() {
            let want = f32::from_bits((bits[i] as u32) << 16);
            assert!(
                same_bits_or_nan(o, want),
                "{}: bf16 {:#06x} -> {o}",
                simd.level(),
                bits[i]
            );
        }
    }
}

/// Independent oracle: `v` rounded to nearest even in a binary format with `mant` stored mantissa bits and
/// exponent range `emin..=emax` (gradual underflow, overflow to ±inf), computed exactly in f64.
fn round_to_format(v: f32, mant: i32, emin: i32, emax: i32) -> f64 {
    let a = (v as f64).abs();
    let e = if a == 0.0 {
        emin
    } else {
        ((a.to_bits() >> 52) as i32 - 1023).max(emin)
    };
    let ulp = 2f64.powi(e - mant);
    let r = (a / ulp).round_ties_even() * ulp;
    let max = (2.0 - 2f64.powi(-mant)) * 2f64.powi(emax);
    let r = if r > max { f64::INFINITY } else { r };
    r.copysign(v as f64)
}

/// Narrowing rounds to nearest even at every halfway point and overflows/underflows like IEEE.
#[test]
fn narrowing_rounds_to_nearest_even() {
    let mut src = Vec::new();
    for b in (0..=0x7BFFu16).step_by(3) {
        // Midpoint between f16 b and b+1, and its neighbours.
        let lo = f16::from_bits(b).to_f64();
        let hi = f16::from_bits(b + 1).to_f64();
        let mid = ((lo + hi) / 2.0) as f32;
        for v in [
            mid,
            f32::from_bits(mid.to_bits() + 1),
            f32::from_bits(mid.to_bits().saturating_sub(1)),
        ] {
            src.push(v);
            src.push(-v);
        }
    }
    src.extend([
        65520.0f32,
        65519.99,
        1.0e-8,
        2.98e-8,
        2.99e-8,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        1.0e-40,
    ]);
    // bfloat16 midpoints (the low 16 bits exactly 0x8000) and neighbours, across the whole exponent range.
    for hi in (0..=0x7F7Fu32).step_by(5) {
        let mid = (hi << 16) | 0x8000;
        for b in [mid, mid + 1, mid - 1] {
            src.push(f32::from_bits(b));
            src.push(-f32::from_bits(b));
        }
    }
    src.retain(|v| !v.is_nan()); // NaN handling is checked against the scalar path elsewhere.
    for simd in levels() {
        let mut h = vec![f16::ZERO; src.len()];
        simd.f32_to_f16(&src, &mut h);
        let mut b = vec![bf16::ZERO; src.len()];
        simd.f32_to_bf16(&src, &mut b);
        for (i, &v) in src.iter().enumerate() {
            let (want_h, want_b) = (
                round_to_format(v, 10, -14, 15),
                round_to_format(v, 7, -126, 127),
            );
            let (got_h, got_b) = (h[i].to_f64(), b[i].to_f64());
            assert!(
                got_h == want_h && got_h.is_sign_negative() == want_h.is_sign_negative(),
                "{}: f32->f16({v:e}) = {got_h:e}, want {want_h:e}",
                simd.level()
            );
            assert!(
                got_b == want_b && got_b.is_sign_negative() == want_b.is_sign_negative(),
                "{}: f32->bf16({v:e}) = {got_b:e}, want {want_b:e}",
                simd.level()
            );
        }
    }
}

/// exp over a dense sweep of its whole domain (every 61st f32 bit pattern in [-104, 89]), in ulps against f64.
#[test]
fn exp_dense_sweep() {
    let mut xs = Vec::new();
    let mut bits = (-104.0f32).to_bits();
    while bits > 0x8000_0000 {
        xs.push(f32::from_bits(bits));
        bits -= 61;
    }
    let mut bits = 0u32;
    while f32::from_bits(bits) < 89.0 {
        xs.push(f32::from_bits(bits));
        bits += 61;
    }
    xs.extend([
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        88.72283,
        88.72284,
        -87.33655,
        -103.97208,
        -104.5,
    ]);
    for simd in levels() {
        check_exp(simd, &xs).unwrap();
    }
}

/// The dispatcher lists and forces levels consistently.
#[test]
fn levels_are_consistent() {
    let available: Vec<Level> = Simd::available().map(|s| s.level()).collect();
    assert_eq!(available.first(), Some(&Level::Scalar));
    assert_eq!(Simd::best().level(), *available.last().unwrap());
    for level in Level::ALL {
        assert_eq!(level.is_available(), available.contains(&level), "{level}");
        assert_eq!(Level::from_name(level.name()), Some(level));
    }
    #[cfg(target_arch = "aarch64")]
    assert!(
        available.contains(&Level::Neon),
        "NEON must be available on aarch64"
    );
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        assert!(available.contains(&Level::Avx2));
    }
    eprintln!("levels under test: {available:?}");
}

/// An empty product (`m`, `n` or `k` zero) reads nothing from `A` and `B`, so `GemmShape::fits` does not bound
/// their strides then: a stride whose row offsets overflow must still give `C` kept (accumulating) or zeroed, at
/// every level, without forming an address from it (found by fuzzing attention with `d_v = 0` and a huge V row
/// stride; the AVX-512 path computed `p·ldb` for every key).
#[test]
fn empty_products_ignore_unread_strides() {
    let huge = usize::MAX / 3;
    let (a, b) = ([1.0f32; 8], [2.0f32; 8]);
    for simd in levels() {
        for (m, n, k) in [(5, 0, 7), (0, 4, 7), (5, 4, 0), (30, 9, 0), (9, 0, 30)] {
            for accumulate in [false, true] {
                let shape = GemmShape {
                    m,
                    n,
                    k,
                    lda: huge,
                    ldb: huge,
                    ldc: n + 1,
                };
                let c0 = pseudo_random(m * (n + 1) + 2, 7);
                let mut c = c0.clone();
                assert!(
                    simd.gemm(shape, &a, &b, &mut c, accumulate),
                    "{}: {shape:?} refused",
                    simd.level()
                );
                for (at, (&got, &old)) in c.iter().zip(&c0).enumerate() {
                    let (i, j) = (at / (n + 1), at % (n + 1));
                    let want = if i < m && j < n && !accumulate {
                        0.0
                    } else {
                        old
                    };
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{}: {shape:?} accumulate {accumulate} at {at}",
                        simd.level()
                    );
                }
            }
        }
    }
}
