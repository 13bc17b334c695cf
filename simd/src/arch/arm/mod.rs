//! 32-bit Arm M-profile level: Helium (MVE with floating point), e.g. Cortex-M55/M85.
//!
//! Selected at compile time by the `helium` cargo feature (the code is `asm!`, and must be built with
//! `-C target-cpu=cortex-m55` or another MVE-capable CPU). [`Helium::detect`] also reads `MVFR1` at run time, so
//! a binary built with the feature refuses the level on a core without MVE instead of faulting.

pub(crate) mod forest;
mod gemm;
pub mod helium;

/// Capability token for Helium (MVE integer + floating point).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Helium {
    _proof: (),
}

/// Address of the Media and VFP Feature Register 1 in the System Control Space (Armv8.1-M).
const MVFR1: usize = 0xE000_EF44;

impl Helium {
    /// Returns the token if `MVFR1.MVE` (bits 11:8) reports integer and floating-point MVE (`0b0010`).
    #[inline]
    pub fn detect() -> Option<Self> {
        // SAFETY: MVFR1 is an always-readable, word-aligned, read-only register of the System Control Space on
        // every Armv8-M core, which is the only kind of target this module is compiled for (`helium` feature on
        // a 32-bit Arm target). A volatile read has no side effects.
        let mvfr1 = unsafe { core::ptr::read_volatile(MVFR1 as *const u32) };
        (((mvfr1 >> 8) & 0xF) == 0b0010).then_some(Helium { _proof: () })
    }

    /// Whether [`Helium::detect`] returns the token.
    #[inline]
    pub fn is_available() -> bool {
        Self::detect().is_some()
    }

    /// Builds the token without checking (e.g. where reading `MVFR1` is not wanted, on a core known to have MVE).
    ///
    /// # Safety
    /// The CPU must implement MVE with floating point (Helium), e.g. a Cortex-M55 or M85 built with it.
    #[inline]
    pub const unsafe fn new_unchecked() -> Self {
        Helium { _proof: () }
    }
}
