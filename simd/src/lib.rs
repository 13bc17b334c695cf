//! Primitive numeric kernels for emkern, with one scalar reference and hand-written paths per ISA.
//!
//! Every primitive exists as
//! - a portable scalar reference in [`portable`] (always compiled; the oracle every other path is tested against),
//! - `x86_64`: AVX2 + FMA + F16C, and AVX-512 (F + BW + VL) where it measurably pays,
//! - `aarch64`: NEON (always present on that architecture),
//! - 32-bit Arm M-profile: Helium (MVE) in inline assembly, behind the `helium` cargo feature and built with
//!   `-C target-cpu=cortex-m55` (stable Rust has no MVE intrinsics).
//!
//! # Choosing a path
//! [`Simd`] is a dispatcher holding one [`Level`] that the running CPU is *proven* to support: it can only be
//! built by [`Simd::new`] (which checks) or [`Simd::best`] (which picks the fastest available level, detected
//! once and cached). Each call dispatches once, never per element. The free functions at the crate root
//! ([`dot`], [`axpy`], …) use [`Simd::best`].
//!
//! Selection is at run time on x86_64 with the `std` feature (CPUID through `is_x86_feature_detected!`), at
//! compile time otherwise (`-C target-feature`/`target-cpu`); NEON is always on for aarch64; Helium is on when the
//! `helium` feature is enabled. Tests and benchmarks enumerate every level the machine supports with
//! [`Simd::available`] and force one with [`Simd::new`].
//!
//! # Shapes and special values
//! The kernels never allocate, never panic and never read out of bounds. When slices that should have equal
//! lengths differ, the common prefix is processed (like [`Iterator::zip`]); each function states its rule.
//! IEEE special values follow the documented contract of each function (e.g. [`max`] ignores NaN, [`exp`]
//! propagates it).
//!
//! ```
//! use emkern_simd::Simd;
//! let simd = Simd::best();
//! let a = [1.0f32, 2.0, 3.0];
//! let b = [4.0f32, 5.0, 6.0];
//! assert_eq!(simd.dot(&a, &b), 32.0);
//! for level in Simd::available() {
//!     assert_eq!(level.dot(&a, &b), 32.0);
//! }
//! ```
#![no_std]
#![warn(missing_docs)]

pub mod arch;
pub mod calibrate;
mod dispatch;
pub mod forest;
mod kernels;
mod level;
pub mod portable;
mod primitive;
pub mod selftest;

pub use dispatch::{Available, Simd};
pub use half::{bf16, f16};
pub use kernels::{GemmShape, Kernels, rows_that_fit, transpose_fits};
pub use level::Level;
pub use primitive::Primitive;

/// Dot product `Σ a[i]·b[i]` over the common prefix of `a` and `b`, accumulated in f32, on [`Simd::best`].
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    Simd::best().dot(a, b)
}

/// `out[r] = dot(x, rows[r·stride ..][..x.len()])` for every row that fits; returns how many rows were written.
/// See [`Kernels::dot_rows`].
#[inline]
pub fn dot_rows(x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
    Simd::best().dot_rows(x, rows, stride, out)
}

/// `y[i] += a·x[i]` over the common prefix, on [`Simd::best`].
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    Simd::best().axpy(a, x, y)
}

/// `y[i] *= a`, on [`Simd::best`].
#[inline]
pub fn scale(a: f32, y: &mut [f32]) {
    Simd::best().scale(a, y)
}

/// Largest element, ignoring NaN; `-inf` for an empty or all-NaN slice. See [`Kernels::max`].
#[inline]
pub fn max(x: &[f32]) -> f32 {
    Simd::best().max(x)
}

/// Sum of the elements, accumulated in f32; `0.0` for an empty slice. See [`Kernels::sum`].
#[inline]
pub fn sum(x: &[f32]) -> f32 {
    Simd::best().sum(x)
}

/// `out[i] = e^x[i]` over the common prefix. See [`Kernels::exp`] for the accuracy contract.
#[inline]
pub fn exp(x: &[f32], out: &mut [f32]) {
    Simd::best().exp(x, out)
}

/// `x[i] = e^x[i]` in place. See [`Kernels::exp`] for the accuracy contract.
#[inline]
pub fn exp_in_place(x: &mut [f32]) {
    Simd::best().exp_in_place(x)
}

/// `x[i] = e^(x[i] − shift)` in place, returning the sum of the results (the softmax step). See
/// [`Kernels::exp_shifted_sum`].
#[inline]
pub fn exp_shifted_sum(shift: f32, x: &mut [f32]) -> f32 {
    Simd::best().exp_shifted_sum(shift, x)
}

/// Widens IEEE binary16 to f32 (exact) over the common prefix.
#[inline]
pub fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    Simd::best().f16_to_f32(src, dst)
}

/// Narrows f32 to IEEE binary16, rounding to nearest even, over the common prefix.
#[inline]
pub fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    Simd::best().f32_to_f16(src, dst)
}

/// Widens bfloat16 to f32 (exact) over the common prefix.
#[inline]
pub fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    Simd::best().bf16_to_f32(src, dst)
}

/// Narrows f32 to bfloat16, rounding to nearest even, over the common prefix.
#[inline]
pub fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    Simd::best().f32_to_bf16(src, dst)
}

/// Rotates interleaved pairs `(x[2i], x[2i+1])` by `(cos[i], sin[i])`. See [`Kernels::rotate_interleaved`].
#[inline]
pub fn rotate_interleaved(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    Simd::best().rotate_interleaved(x, cos, sin)
}

/// Rotates half-split pairs `(x[i], x[i + n/2])` by `(cos[i], sin[i])`. See [`Kernels::rotate_half_split`].
#[inline]
pub fn rotate_half_split(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    Simd::best().rotate_half_split(x, cos, sin)
}

/// `C (+)= A·B` for small row-major matrices, on [`Simd::best`]. See [`Kernels::gemm`].
#[inline]
pub fn gemm(shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
    Simd::best().gemm(shape, a, b, c, accumulate)
}
