//! AVX2 + FMA + F16C kernels (placeholder: forwards to the scalar reference until the intrinsics land).

use super::Avx2;
use crate::kernels::{Kernels, Sealed};
use crate::portable::Scalar;
use crate::{Level, bf16, f16};

impl Sealed for Avx2 {}

impl Kernels for Avx2 {
    const LEVEL: Level = Level::Avx2;

    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        Scalar.dot(a, b)
    }
    fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
        Scalar.dot_rows(x, rows, stride, out)
    }
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        Scalar.axpy(a, x, y)
    }
    fn scale(self, a: f32, y: &mut [f32]) {
        Scalar.scale(a, y)
    }
    fn max(self, x: &[f32]) -> f32 {
        Scalar.max(x)
    }
    fn sum(self, x: &[f32]) -> f32 {
        Scalar.sum(x)
    }
    fn exp(self, x: &[f32], out: &mut [f32]) {
        Scalar.exp(x, out)
    }
    fn exp_in_place(self, x: &mut [f32]) {
        Scalar.exp_in_place(x)
    }
    fn f16_to_f32(self, src: &[f16], dst: &mut [f32]) {
        Scalar.f16_to_f32(src, dst)
    }
    fn f32_to_f16(self, src: &[f32], dst: &mut [f16]) {
        Scalar.f32_to_f16(src, dst)
    }
    fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]) {
        Scalar.bf16_to_f32(src, dst)
    }
    fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]) {
        Scalar.f32_to_bf16(src, dst)
    }
    fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        Scalar.rotate_interleaved(x, cos, sin)
    }
    fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        Scalar.rotate_half_split(x, cos, sin)
    }
}
