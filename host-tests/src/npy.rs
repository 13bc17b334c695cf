//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): reading little-endian `f2`/`f4`/`f8` and `b1` arrays
//! in C order, and writing `f4` arrays, so that attention inputs and outputs can be exchanged with NumPy and
//! PyTorch directly.

use std::path::Path;

/// The element type of an array on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// IEEE binary16 (`<f2`).
    F16,
    /// f32 (`<f4`).
    F32,
    /// f64 (`<f8`).
    F64,
    /// bool (`|b1`).
    Bool,
}

/// An array read from a `.npy` file: its shape, its on-disk type, and the values as f32 (bools as 0/1; f64
/// rounded to nearest).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The type stored in the file.
    pub dtype: Dtype,
    /// Values in C order.
    pub values: Vec<f32>,
}

/// A problem with a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyError {
    /// The file (empty when parsing bytes).
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for NpyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.file.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for NpyError {}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads a `.npy` file.
pub fn read(path: &Path) -> Result<Array, NpyError> {
    let bytes = std::fs::read(path).map_err(|e| NpyError {
        file: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&bytes).map_err(|mut e| {
        e.file = path.display().to_string();
        e
    })
}

fn err(message: impl Into<String>) -> NpyError {
    NpyError {
        file: String::new(),
        message: message.into(),
    }
}

/// Parses the bytes of a `.npy` file.
pub fn parse(bytes: &[u8]) -> Result<Array, NpyError> {
    if !bytes.starts_with(MAGIC) {
        return Err(err("not a .npy file (magic \\x93NUMPY missing)"));
    }
    let major = *bytes.get(6).ok_or_else(|| err("truncated header"))?;
    let (len, start) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or_else(|| err("truncated header"))?;
            (u16::from_le_bytes([b[0], b[1]]) as usize, 10)
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| err("truncated header"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(err(format!("unsupported .npy format version {v}"))),
    };
    let header = bytes
        .get(start..start + len)
        .ok_or_else(|| err("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| err("header is not text"))?;
    let descr = dict_value(header, "descr").ok_or_else(|| err("header has no 'descr'"))?;
    let fortran =
        dict_value(header, "fortran_order").ok_or_else(|| err("header has no 'fortran_order'"))?;
    let shape = dict_value(header, "shape").ok_or_else(|| err("header has no 'shape'"))?;
    if fortran.trim() != "False" {
        return Err(err(
            "Fortran-order arrays are not supported (save with np.ascontiguousarray)",
        ));
    }
    let descr = descr.trim().trim_matches('\'').trim_matches('"');
    let (dtype, size) = match descr {
        "<f2" => (Dtype::F16, 2),
        "<f4" => (Dtype::F32, 4),
        "<f8" => (Dtype::F64, 8),
        "|b1" | "<b1" => (Dtype::Bool, 1),
        other => {
            return Err(err(format!(
                "dtype {other} is not supported (expected <f2, <f4, <f8 or |b1)"
            )));
        }
    };
    let shape: Vec<usize> = shape
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| err(format!("bad shape entry `{s}`")))
        })
        .collect::<Result<_, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err("shape overflows"))?;
    let data = &bytes[start + len..];
    let needed = count
        .checked_mul(size)
        .ok_or_else(|| err("shape overflows"))?;
    if data.len() < needed {
        return Err(err(format!(
            "{} data bytes, shape {:?} needs {needed}",
            data.len(),
            shape
        )));
    }
    let values = data[..needed]
        .chunks_exact(size)
        .map(|c| match dtype {
            Dtype::F16 => emkern_simd::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32(),
            Dtype::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            Dtype::F64 => {
                f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
            }
            Dtype::Bool => (c[0] != 0) as u8 as f32,
        })
        .collect();
    Ok(Array {
        shape,
        dtype,
        values,
    })
}

/// The text after `'key':` in a header dict, up to the next top-level comma (parentheses kept together).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

/// The bytes of a version-1.0 `.npy` file holding `values` as `<f4` with `shape`.
pub fn to_bytes_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // Pad with spaces so that the data starts at a multiple of 64 bytes, ending the header with a newline.
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes `values` with `shape` as an `<f4` `.npy` file.
pub fn write_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<(), NpyError> {
    std::fs::write(path, to_bytes_f32(shape, values)).map_err(|e| NpyError {
        file: path.display().to_string(),
        message: format!("cannot write: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_header_forms() {
        let v: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b = to_bytes_f32(&[2, 3, 4], &v);
        assert_eq!((b.len() - v.len() * 4) % 64, 0);
        let a = parse(&b).unwrap();
        assert_eq!(a.shape, [2, 3, 4]);
        assert_eq!(a.dtype, Dtype::F32);
        assert_eq!(a.values, v);
        let one = parse(&to_bytes_f32(&[5], &v[..5])).unwrap();
        assert_eq!(one.shape, [5]);
        // A bool array as NumPy writes it (version 1.0).
        let mut h = String::from("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend([1, 0, 0, 1]);
        let a = parse(&b).unwrap();
        assert_eq!((a.dtype, a.values), (Dtype::Bool, vec![1.0, 0.0, 0.0, 1.0]));
    }

    #[test]
    fn errors_are_reported() {
        assert!(parse(b"nope").is_err());
        let b = to_bytes_f32(&[4], &[1.0, 2.0, 3.0, 4.0]);
        assert!(
            parse(&b[..b.len() - 1])
                .unwrap_err()
                .message
                .contains("needs 16")
        );
        let bad = String::from_utf8_lossy(&b).replace("<f4", "<i4");
        assert!(parse(bad.as_bytes()).is_err());
    }
}
