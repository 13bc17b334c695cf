//! The instruction-set levels a kernel can run at.

/// An instruction-set level. Every variant exists on every target so that tests and reports can name it;
/// [`Level::is_available`] says whether this CPU (and this build) can run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Level {
    /// Portable scalar code: the reference every other level is tested against. Always available.
    Scalar,
    /// x86_64 with AVX2, FMA and F16C (x86-64-v3).
    Avx2,
    /// x86_64 with AVX-512 F, BW and VL (plus AVX2, FMA, F16C).
    Avx512,
    /// aarch64 Advanced SIMD (NEON) with FP16 conversions.
    Neon,
    /// Arm M-profile Vector Extension (Helium) with floating point, e.g. Cortex-M55 and Cortex-M85.
    Helium,
}

impl Level {
    /// Every level, slowest first.
    pub const ALL: [Level; 5] = [
        Level::Scalar,
        Level::Avx2,
        Level::Avx512,
        Level::Neon,
        Level::Helium,
    ];

    /// A short lower-case name (`"scalar"`, `"avx2"`, `"avx512"`, `"neon"`, `"helium"`).
    pub const fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
            Level::Neon => "neon",
            Level::Helium => "helium",
        }
    }

    /// Parses a name produced by [`Level::name`].
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Whether this CPU and this build can run the level.
    pub fn is_available(self) -> bool {
        crate::Simd::new(self).is_some()
    }
}

impl core::fmt::Display for Level {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
