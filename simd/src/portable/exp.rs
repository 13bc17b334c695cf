//! The exponential shared by every level: the constants here are used by the scalar reference and by each ISA
//! path, so all levels evaluate the same approximation (they may differ by FMA contraction only).
//!
//! Algorithm (Cody–Waite range reduction with a minimax polynomial, as in Cephes `expf`):
//! 1. NaN returns itself; `x` is clamped to `[CLAMP_LO, CLAMP_HI]` (so ±inf need no special case).
//! 2. `n = round_to_nearest_even(x·log2 e)`, computed as `(x·log2 e + 1.5·2²³) − 1.5·2²³`, which every ISA
//!    evaluates identically without a rounding instruction.
//! 3. `r = (x − n·LN2_HI) − n·LN2_LO`, `|r| ≤ ln2/2 + ε`; `LN2_HI` has 9 significant bits, so `n·LN2_HI` is exact.
//! 4. `e^r ≈ 1 + r + r²·P(r)` with the degree-5 polynomial `P` below (degree 7 overall).
//! 5. `e^x = e^r · 2^n₁ · 2^n₂` with `n₁ = n >> 1`, `n₂ = n − n₁`: both factors are normal powers of two, the first
//!    product is exact, and the second rounds once, also into the subnormal range.
//!
//! Accuracy (checked by the tests against f64 `exp`): ≤ 2 ulp for results in the normal range
//! (`x ∈ [-87.33, 88.72]`), and within one unit of the smallest subnormal below it.
//!
//! Reference: S. L. Moshier, *Cephes Mathematical Library*, `expf.c` (polynomial coefficients);
//! W. J. Cody and W. Waite, *Software Manual for the Elementary Functions* (1980), range reduction.

/// log2(e).
pub const LOG2E: f32 = core::f32::consts::LOG2_E;
/// 1.5·2²³: adding and subtracting it rounds a float of magnitude < 2²² to the nearest integer (ties to even).
pub const ROUND_MAGIC: f32 = 12_582_912.0;
/// High part of ln 2 (355/512, exact in 9 bits).
#[allow(clippy::excessive_precision)] // exact: 355/512
pub const LN2_HI: f32 = 0.693_359_375;
/// Low part of ln 2: `ln 2 − LN2_HI`.
#[allow(clippy::excessive_precision)]
pub const LN2_LO: f32 = -2.121_944_4e-4;
/// Inputs above this give `+inf` (after the clamp, `2^n` overflows).
pub const CLAMP_HI: f32 = 88.8;
/// Inputs below this give `+0` (`e^-104` is below half the smallest subnormal).
pub const CLAMP_LO: f32 = -104.0;
/// Coefficients of `P(r)` as published (the compiler rounds each to the nearest f32), highest degree first (Horner order): `e^r ≈ 1 + r + r²·P(r)`.
#[allow(clippy::excessive_precision)]
pub const P: [f32; 6] = [
    1.987_569_150_0e-4,
    1.398_199_950_7e-3,
    8.333_451_907_3e-3,
    4.166_579_589_4e-2,
    1.666_666_545_9e-1,
    5.000_000_120_1e-1,
];

/// `2^n` as an f32 for `n` in `-126..=127` (the callers' range is `-75..=64`).
#[inline]
pub const fn pow2i(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// `e^x` (scalar reference). See the module documentation for the algorithm and accuracy.
#[inline]
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let x = x.clamp(CLAMP_LO, CLAMP_HI);
    let n = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = P[0];
    p = p * r + P[1];
    p = p * r + P[2];
    p = p * r + P[3];
    p = p * r + P[4];
    p = p * r + P[5];
    let e = p * (r * r) + r + 1.0;
    // n is an integer in [-150, 129]; the cast is exact.
    let n = n as i32;
    let n1 = n >> 1;
    e * pow2i(n1) * pow2i(n - n1)
}
