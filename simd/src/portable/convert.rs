//! Scalar f16/bf16 ⇄ f32 conversions (software, via `half`'s const conversions, which round to nearest even).

use crate::{bf16, f16};

/// binary16 → f32, exact.
pub fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32_const();
    }
}

/// f32 → binary16, round to nearest even.
pub fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16::from_f32_const(s);
    }
}

/// bfloat16 → f32, exact.
pub fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = f32::from_bits(u32::from(s.to_bits()) << 16);
    }
}

/// f32 → bfloat16, round to nearest even; NaN becomes a quiet NaN of the same sign.
pub fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = bf16::from_bits(f32_to_bf16_bits(s));
    }
}

/// The bfloat16 bits of `x` rounded to nearest even (the rule every SIMD path implements with integer ops):
/// `(bits + 0x7FFF + ((bits >> 16) & 1)) >> 16`, and for NaN the top half with the quiet bit set.
#[inline]
pub const fn f32_to_bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x0040) as u16;
    }
    (bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16) as u16
}
