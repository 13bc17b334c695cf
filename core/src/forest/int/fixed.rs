//! Fixed-point values to f32 by integer operations alone, shared by the prediction and the sigmoid.

/// `v · 2^-s` as the nearest f32 (ties to even), computed with integer operations only (no float instruction,
/// no soft-float call). `s` is clamped to `-64 ..= 64`, where every result is a normal f32 or zero and the
/// conversion is exact up to that one rounding.
pub fn fixed_to_f32(v: i32, s: i32) -> f32 {
    if v == 0 {
        return 0.0;
    }
    let s = s.clamp(-64, 64);
    let sign = (v as u32) & 0x8000_0000;
    let a = v.unsigned_abs();
    let lz = a.leading_zeros();
    // The top bit of `a` moved to bit 31; the value is n · 2^(31 - lz - s - 31).
    let n = a << lz;
    let mut mant = n >> 8;
    let rem = n & 0xFF;
    if rem > 0x80 || (rem == 0x80 && mant & 1 == 1) {
        mant += 1;
    }
    // Biased exponent of the leading bit: 127 + (31 - lz) - s, in 63 ..= 222 (clamped s, lz ≤ 31).
    let mut e = (127 + 31 - s - lz as i32) as u32;
    if mant == 1 << 24 {
        mant >>= 1;
        e += 1;
    }
    f32::from_bits(sign | (e << 23) | (mant & 0x007F_FFFF))
}
