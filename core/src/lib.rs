//! emkern: allocation-free, `no_std` inference kernels for microcontrollers and small CPUs.
//!
//! The primitive SIMD kernels live in [`simd`] (the `emkern-simd` crate), with a scalar reference and hand-written
//! AVX2/AVX-512, NEON and Helium paths. Model-level kernels (tree ensembles, streaming attention, position
//! encodings, speculative decoding) build on them.
#![no_std]
#![warn(missing_docs)]

pub use emkern_simd as simd;

pub mod attention;
pub mod forest;
pub mod rope;
pub mod speculative;
