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

    /// The level's preferred attention tiles `(kv, q)`: keys per K/V tile and query rows per block, chosen for
    /// this level's gemm tiles and caches (measured on AMD Zen 4 for d 128: blocks of 64 rows keep `Qᵀ` and the
    /// block's states in L1/L2), small ones on microcontrollers (where scratch is SRAM).
    ///
    /// | level  | `kv` | `q` | why |
    /// |--------|------|-----|-----|
    /// | scalar | 32   | 8   | SRAM-sized scratch |
    /// | helium | 32   | 8   | SRAM-sized scratch |
    /// | neon   | 64   | 32  | multiples of the 6 × 16 and 12 × 8 NEON tiles |
    /// | avx2   | 96   | 96  | 16 of the 6-row AVX2 gemm tiles (key rows of `K·Qᵀ`), 6 vectors of 16 columns (query rows) |
    /// | avx512 | 128  | 64  | 4 of the 64-column AVX-512 blocks, one 64-row block of states |
    pub const fn attention_tiles(self) -> (usize, usize) {
        match self {
            Level::Scalar | Level::Helium => (32, 8),
            Level::Neon => (64, 32),
            Level::Avx2 => (96, 96),
            Level::Avx512 => (128, 64),
        }
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
