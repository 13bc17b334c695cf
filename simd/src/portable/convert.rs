//! Scalar f16/bf16 ⇄ f32 conversions in software. Narrowing rounds to nearest, ties to even, in every range
//! (normal, subnormal, overflow), which is what F16C, `fcvtn` and `vcvtb` do with default rounding.

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
        *d = f16::from_bits(f32_to_f16_bits(s));
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

/// The binary16 bits of `x` rounded to nearest even. NaN becomes a quiet NaN keeping the sign and the top payload
/// bits; values at or above 65520 (the midpoint between the largest f16 and 2¹⁶) become ±inf.
#[inline]
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let abs = bits & 0x7FFF_FFFF;
    if abs > 0x7F80_0000 {
        return sign | 0x7E00 | ((abs >> 13) & 0x03FF) as u16;
    }
    if abs >= 0x3880_0000 {
        // Normal f16 range (|x| ≥ 2⁻¹⁴): round the 13 dropped mantissa bits to nearest even (a carry may ripple
        // into the exponent, which is still correct), then rebias the exponent from 127 to 15.
        let rounded = abs + 0x0FFF + ((abs >> 13) & 1);
        let h = (rounded >> 13) - (112 << 10);
        return sign | if h >= 0x7C00 { 0x7C00 } else { h as u16 };
    }
    // Subnormal (or zero) result: the f16 bits are round(|x|·2²⁴). The scaling is exact; adding and subtracting
    // 2²³ rounds to the nearest integer with ties to even (the value is at most 1024; 1024 is the smallest normal).
    let scaled = f32::from_bits(abs) * 16_777_216.0;
    let n = (scaled + 8_388_608.0) - 8_388_608.0;
    sign | n as u16
}
