//! Number literals that a compiler reads back as exactly the same value: C99 hexadecimal floating constants (exact
//! by the standard whenever the value is representable, which it is by construction), and Rust decimal literals
//! in the shortest form that round-trips (rustc parses them correctly rounded).

/// `v` as a C hexadecimal floating constant of type `float` (`0x1.99999ap-4f`), or `INFINITY`/`-INFINITY`.
pub fn c_float(v: f32) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "INFINITY" } else { "-INFINITY" }.into();
    }
    let b = v.to_bits();
    let hex = hex_float(
        b >> 31 != 0,
        ((b >> 23) & 0xff) as i32,
        (b & 0x7f_ffff) as u64,
        23,
        127,
    );
    format!("{hex}f")
}

/// `v` as a C hexadecimal floating constant of type `double` (`0x1.999999999999ap-4`), or
/// `INFINITY`/`-INFINITY`.
pub fn c_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "INFINITY" } else { "-INFINITY" }.into();
    }
    let b = v.to_bits();
    hex_float(
        b >> 63 != 0,
        ((b >> 52) & 0x7ff) as i32,
        b & 0xf_ffff_ffff_ffff,
        52,
        1023,
    )
}

/// A finite IEEE value (sign, biased exponent, fraction of `frac_bits` bits) as `[-]0x1.<hex>p<exp>`, normalized
/// (subnormals too), trailing zero digits dropped; zero as `0x0p+0`.
fn hex_float(negative: bool, biased: i32, frac: u64, frac_bits: u32, bias: i32) -> String {
    let sign = if negative { "-" } else { "" };
    if biased == 0 && frac == 0 {
        return format!("{sign}0x0p+0");
    }
    let (mut exp, mut frac) = (biased - bias, frac);
    if biased == 0 {
        // Subnormal: shift the leading one into the implicit bit's place.
        exp = 1 - bias;
        while frac >> frac_bits == 0 {
            frac <<= 1;
            exp -= 1;
        }
        frac &= (1u64 << frac_bits) - 1;
    }
    // Pad the fraction to whole hex digits.
    let digits = frac_bits.div_ceil(4);
    let padded = frac << (digits * 4 - frac_bits);
    let mut hex = format!("{padded:0width$x}", width = digits as usize);
    while hex.ends_with('0') {
        hex.pop();
    }
    let point = if hex.is_empty() { "" } else { "." };
    format!("{sign}0x1{point}{hex}p{exp:+}")
}

/// `v` as a Rust `f32` literal (`0.1f32`), or `f32::INFINITY`/`f32::NEG_INFINITY`.
pub fn rust_f32(v: f32) -> String {
    if v.is_infinite() {
        return if v > 0.0 {
            "f32::INFINITY"
        } else {
            "f32::NEG_INFINITY"
        }
        .into();
    }
    format!("{v:?}f32")
}

/// `v` as a Rust `f64` literal (`0.1f64`), or `f64::INFINITY`/`f64::NEG_INFINITY`.
pub fn rust_f64(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 {
            "f64::INFINITY"
        } else {
            "f64::NEG_INFINITY"
        }
        .into();
    }
    format!("{v:?}f64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_literals_match_printf_a() {
        // Expected strings are glibc's `printf("%a", v)` for these values, except the subnormal double, which
        // glibc prints denormalized (`0x0.0000000000001p-1022`, the same value).
        assert_eq!(c_float(0.1), "0x1.99999ap-4f");
        assert_eq!(c_float(-0.5), "-0x1p-1f");
        assert_eq!(c_float(1.0), "0x1p+0f");
        assert_eq!(c_float(0.0), "0x0p+0f");
        assert_eq!(c_float(-0.0), "-0x0p+0f");
        assert_eq!(c_float(f32::from_bits(1)), "0x1p-149f");
        assert_eq!(c_float(f32::MAX), "0x1.fffffep+127f");
        assert_eq!(c_double(0.1), "0x1.999999999999ap-4");
        assert_eq!(c_double(f64::from_bits(1)), "0x1p-1074");
        assert_eq!(c_double(3.0), "0x1.8p+1");
        assert_eq!(c_float(f32::NEG_INFINITY), "-INFINITY");
    }

    #[test]
    fn rust_literals_round_trip() {
        for v in [0.1f32, 1e-35, -0.0, 16_777_216.0, f32::MIN_POSITIVE, 3.4e38] {
            let s = rust_f32(v);
            let parsed: f32 = s.trim_end_matches("f32").parse().unwrap();
            assert_eq!(parsed.to_bits(), v.to_bits(), "{s}");
        }
        for v in [0.1f64, 1e-300, -2.5, 5e-324] {
            let s = rust_f64(v);
            let parsed: f64 = s.trim_end_matches("f64").parse().unwrap();
            assert_eq!(parsed.to_bits(), v.to_bits(), "{s}");
        }
    }
}
