//! x86_64 levels: AVX2 (+FMA, F16C) and AVX-512 (F, BW, VL on top of AVX2).
//!
//! Detection: with the `std` feature, CPUID through `std::is_x86_feature_detected!` (the standard library caches
//! the answer); without it, the compile-time `target_feature` set (`-C target-cpu=native`, `x86-64-v3`, …).

pub mod avx2;
pub mod avx512;
pub(crate) mod forest;
pub(crate) mod forest_row;
mod gemm;
mod peak;
mod transpose;

#[cfg(feature = "std")]
extern crate std;

/// Capability token for AVX2 + FMA + F16C. Holding one proves the CPU supports them.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Avx2 {
    _proof: (),
}

/// Capability token for AVX-512 F + BW + VL together with AVX2 + FMA + F16C.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Avx512 {
    _proof: (),
}

impl Avx2 {
    /// Returns the token if the CPU supports AVX2, FMA and F16C.
    #[inline]
    pub fn detect() -> Option<Self> {
        #[cfg(feature = "std")]
        let ok = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c");
        #[cfg(not(feature = "std"))]
        let ok = cfg!(all(
            target_feature = "avx2",
            target_feature = "fma",
            target_feature = "f16c"
        ));
        ok.then_some(Avx2 { _proof: () })
    }

    /// Whether [`Avx2::detect`] returns the token.
    #[inline]
    pub fn is_available() -> bool {
        Self::detect().is_some()
    }

    /// Builds the token without checking.
    ///
    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[inline]
    pub const unsafe fn new_unchecked() -> Self {
        Avx2 { _proof: () }
    }
}

impl Avx512 {
    /// Returns the token if the CPU supports AVX-512 F, BW and VL as well as AVX2, FMA and F16C.
    #[inline]
    pub fn detect() -> Option<Self> {
        #[cfg(feature = "std")]
        let ok = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl");
        #[cfg(not(feature = "std"))]
        let ok = cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl"
        ));
        (ok && Avx2::detect().is_some()).then_some(Avx512 { _proof: () })
    }

    /// Whether [`Avx512::detect`] returns the token.
    #[inline]
    pub fn is_available() -> bool {
        Self::detect().is_some()
    }

    /// Builds the token without checking.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, BW, VL, AVX2, FMA and F16C.
    #[inline]
    pub const unsafe fn new_unchecked() -> Self {
        Avx512 { _proof: () }
    }

    /// The AVX2 token implied by this one.
    #[inline]
    pub const fn avx2(self) -> Avx2 {
        Avx2 { _proof: () }
    }
}
