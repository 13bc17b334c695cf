//! Portable scalar kernels: the reference (oracle) for every ISA path, and the path used where no SIMD level is
//! available (e.g. Cortex-M4F). Plain Rust, no `unsafe`, written for clarity first; the reductions keep a few
//! independent partial sums so that in-order cores can overlap their floating-point latency.

pub mod convert;
pub mod dot;
pub mod exp;
pub mod forest;
pub mod forest_row;
pub mod gemm;
pub mod reduce;
pub mod rotate;

use crate::kernels::{GemmShape, Kernels, Sealed, rows_that_fit};
use crate::{Level, bf16, f16};

/// Capability token for the portable scalar level. Always available.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Scalar;

impl Sealed for Scalar {}

impl Kernels for Scalar {
    const LEVEL: Level = Level::Scalar;

    #[inline]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        dot::dot(a, b)
    }

    fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
        let n = rows_that_fit(x.len(), rows.len(), stride, out.len());
        for (r, o) in out.iter_mut().take(n).enumerate() {
            // `rows_that_fit` guarantees r·stride + x.len() ≤ rows.len(); `get` keeps this panic-free anyway.
            if let Some(row) = rows.get(r * stride..r * stride + x.len()) {
                *o = dot::dot(x, row);
            }
        }
        n
    }

    #[inline]
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        dot::axpy(a, x, y)
    }

    #[inline]
    fn scale(self, a: f32, y: &mut [f32]) {
        dot::scale(a, y)
    }

    #[inline]
    fn max(self, x: &[f32]) -> f32 {
        reduce::max(x)
    }

    #[inline]
    fn sum(self, x: &[f32]) -> f32 {
        reduce::sum(x)
    }

    #[inline]
    fn exp(self, x: &[f32], out: &mut [f32]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = exp::exp(v);
        }
    }

    #[inline]
    fn exp_in_place(self, x: &mut [f32]) {
        for v in x {
            *v = exp::exp(*v);
        }
    }

    #[inline]
    fn f16_to_f32(self, src: &[f16], dst: &mut [f32]) {
        convert::f16_to_f32(src, dst)
    }

    #[inline]
    fn f32_to_f16(self, src: &[f32], dst: &mut [f16]) {
        convert::f32_to_f16(src, dst)
    }

    #[inline]
    fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]) {
        convert::bf16_to_f32(src, dst)
    }

    #[inline]
    fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]) {
        convert::f32_to_bf16(src, dst)
    }

    #[inline]
    fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        rotate::interleaved(x, cos, sin)
    }

    #[inline]
    fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        rotate::half_split(x, cos, sin)
    }

    #[inline]
    fn gemm(self, shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
        gemm::gemm(shape, a, b, c, accumulate)
    }

    #[inline]
    fn prefetch<T>(self, _: &[T]) {}

    #[inline]
    fn transpose(
        self,
        rows: usize,
        cols: usize,
        src: &[f32],
        lds: usize,
        dst: &mut [f32],
        ldd: usize,
    ) -> bool {
        gemm::transpose(rows, cols, src, lds, dst, ldd)
    }
}
