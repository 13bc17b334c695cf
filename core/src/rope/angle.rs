//! The rotation angle `θ = p·ω` and its sine and cosine, formed without losing the position's precision.
//!
//! # Error bound
//! `p` is converted to f64 exactly (every position below 2⁵³), and the product `p·ω` is split exactly into
//! `hi + lo` (Dekker's two-product: `hi = fl(p·ω)`, `|lo| ≤ ulp(hi)/2`). `libm::sincos(hi)` reduces `hi`
//! modulo `π/2` exactly (Payne–Hanek for large arguments) and is accurate to about one f64 ulp, and the
//! first-order correction `sin(hi + lo) ≈ sin hi + lo·cos hi` leaves an error below `lo²/2`. For any position
//! the result is therefore within a few `2⁻⁵³` of the sine and cosine of the exact product of the two f64
//! numbers `p` and `ω`; rounding to f32 afterwards (at most `2⁻²⁵ ≈ 3·10⁻⁸`) dominates. Forming
//! `fl(p·ω)` alone would be off by up to `θ·2⁻⁵³` (`1.2·10⁻¹⁰` at `θ = 2²⁰`, `5·10⁻⁷` at `θ = 2³²`).
//!
//! The frequencies `ω` themselves are f64 values from [`freq`](super::freq); their own rounding (about one ulp
//! of `ω`) moves the angle by `p·ω·2⁻⁵³`, which is part of their definition, not of this computation.

/// A position: an index along the sequence. Implemented for the unsigned integer types.
pub trait Position: Copy + sealed::Sealed {
    /// The position as a u64.
    fn to_u64(self) -> u64;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
    impl Sealed for usize {}
}

impl Position for u16 {
    #[inline]
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
}

impl Position for u32 {
    #[inline]
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
}

impl Position for u64 {
    #[inline]
    fn to_u64(self) -> u64 {
        self
    }
}

impl Position for usize {
    #[inline]
    fn to_u64(self) -> u64 {
        // usize is at most 64 bits on every target Rust supports.
        self as u64
    }
}

/// Veltkamp's splitting constant for f64: `2²⁷ + 1`.
const SPLIT: f64 = 134_217_729.0;

/// Splits `a` into `hi + lo` with `hi` holding the upper 26 significand bits (exact for `|a| < 2⁹⁹⁵`).
#[inline]
fn split(a: f64) -> (f64, f64) {
    let t = SPLIT * a;
    let hi = t - (t - a);
    (hi, a - hi)
}

/// `a·b = p + e` exactly, with `p = fl(a·b)` (Dekker's two-product without a fused multiply-add). When the
/// product is not finite or the split would overflow, `e` is 0.
#[inline]
pub fn two_product(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    (p, if e.is_finite() { e } else { 0.0 })
}

/// `(sin θ, cos θ)` of `θ = p·ω`, with the product kept exact (see the [module](self) documentation for the
/// error bound). `p` above 2⁵³ is rounded to the nearest f64 first.
#[inline]
pub fn sin_cos(p: u64, omega: f64) -> (f64, f64) {
    let (hi, lo) = two_product(p as f64, omega);
    let (s, c) = libm::sincos(hi);
    (s + lo * c, c - lo * s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_product_is_exact_on_integers() {
        // (2^27 + 1)^2 = 2^54 + 2^28 + 1: the trailing 1 is lost by fl(), kept in e.
        let a = 134_217_729.0;
        let (p, e) = two_product(a, a);
        assert_eq!(p, 18_014_398_777_917_440.0);
        assert_eq!(e, 1.0);
    }

    #[test]
    fn sin_cos_matches_small_angles() {
        let (s, c) = sin_cos(3, 0.5);
        assert!((s - libm::sin(1.5)).abs() < 1e-16);
        assert!((c - libm::cos(1.5)).abs() < 1e-16);
    }
}
