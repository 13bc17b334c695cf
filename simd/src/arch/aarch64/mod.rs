//! aarch64 level: Advanced SIMD (NEON), part of every ARMv8-A CPU, so it is always available.

pub(crate) mod forest;
pub(crate) mod forest_row;
mod gemm;
pub mod neon;
mod peak;
mod transpose;

/// Capability token for aarch64 NEON (including the half-precision conversions `fcvtl`/`fcvtn`).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Neon {
    _proof: (),
}

impl Neon {
    /// Returns the token: NEON is mandatory on aarch64 (`target_feature = "neon"` is on for every aarch64
    /// target Rust supports with an FPU).
    #[inline]
    pub fn detect() -> Option<Self> {
        cfg!(target_feature = "neon").then_some(Neon { _proof: () })
    }

    /// Whether [`Neon::detect`] returns the token.
    #[inline]
    pub fn is_available() -> bool {
        Self::detect().is_some()
    }

    /// Builds the token without checking.
    ///
    /// # Safety
    /// The CPU must support Advanced SIMD (NEON) with half-precision conversions (every Armv8-A CPU with an FPU).
    #[inline]
    pub const unsafe fn new_unchecked() -> Self {
        Neon { _proof: () }
    }
}
