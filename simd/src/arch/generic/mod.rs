//! Algorithms written once over a crate-private vector trait and instantiated by each ISA folder, in the
//! manner of `memchr`'s `arch/generic`: the skeleton is `#[inline(always)]` and generic over the vector type;
//! an ISA's entry point carries the `#[target_feature]` attribute and the generic code is inlined into it, so
//! the intrinsics behind the trait's methods compile with that ISA's instructions.

// Instantiated on x86_64 (AVX2, AVX-512) and aarch64 (NEON).
pub(crate) mod forest;
pub(crate) mod forest_row;
pub(crate) mod gemm;
