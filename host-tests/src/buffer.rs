//! Buffers sized from input files: their sizes are checked for overflow and allocated with `try_reserve`, so a
//! header that asks for more memory than the machine gives is a clear error rather than an abort.

/// A vector of `len` copies of `fill`; `what` names it in the error (`the output [8, 1000000, 64]`).
pub fn filled<T: Clone>(len: usize, fill: T, what: &str) -> Result<Vec<T>, String> {
    let bytes = len.checked_mul(std::mem::size_of::<T>());
    let mut v = Vec::new();
    match bytes {
        Some(b) if b <= isize::MAX as usize && v.try_reserve_exact(len).is_ok() => {
            v.resize(len, fill);
            Ok(v)
        }
        _ => Err(format!(
            "{what} needs {} bytes, more than this machine can allocate",
            bytes.map_or_else(|| "over 2^64".to_string(), |b| b.to_string())
        )),
    }
}

/// The product of `dims`, or an error naming `what` when it overflows.
pub fn product(dims: &[usize], what: &str) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("{what} {dims:?} has more elements than memory can address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors() {
        assert_eq!(filled(3, 1u8, "x").unwrap(), [1, 1, 1]);
        assert!(filled(usize::MAX / 2, 0.0f32, "x").is_err());
        assert!(product(&[1 << 40, 1 << 40], "x").is_err());
        assert_eq!(product(&[2, 3, 4], "x"), Ok(24));
    }
}
