//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0): reading little-endian `f2`/`f4`/`f8` and `b1` arrays
//! in C order (and integer arrays as u64, for position ids), and writing `f4` and `f8` arrays, so that attention
//! and RoPE inputs and outputs can be exchanged with NumPy and PyTorch directly.

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

/// The parts of a `.npy` file: the `descr` string, the shape and the data bytes after the header.
fn header(bytes: &[u8]) -> Result<(&str, Vec<usize>, &[u8]), NpyError> {
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
    Ok((descr, shape, &bytes[start + len..]))
}

/// The element count of `shape` and the data bytes it needs at `size` bytes each, checked against `data`.
fn payload<'a>(shape: &[usize], size: usize, data: &'a [u8]) -> Result<&'a [u8], NpyError> {
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err("shape overflows"))?;
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
    Ok(&data[..needed])
}

/// Parses the bytes of a `.npy` file.
pub fn parse(bytes: &[u8]) -> Result<Array, NpyError> {
    let (descr, shape, data) = header(bytes)?;
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
    let data = payload(&shape, size, data)?;
    let values = data
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

/// Reads a `.npy` file of non-negative whole numbers (e.g. position ids) as u64: any integer dtype
/// (`i1`..`i8`, `u1`..`u8`), or floats that hold whole numbers. Returns the shape and the values.
pub fn read_u64(path: &Path) -> Result<(Vec<usize>, Vec<u64>), NpyError> {
    let bytes = std::fs::read(path).map_err(|e| NpyError {
        file: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    parse_u64(&bytes).map_err(|mut e| {
        e.file = path.display().to_string();
        e
    })
}

/// Parses the bytes of a `.npy` file of non-negative whole numbers; see [`read_u64`].
pub fn parse_u64(bytes: &[u8]) -> Result<(Vec<usize>, Vec<u64>), NpyError> {
    let (descr, shape, data) = header(bytes)?;
    let (kind, size) = match descr {
        "|i1" | "<i1" => ('i', 1),
        "<i2" => ('i', 2),
        "<i4" => ('i', 4),
        "<i8" => ('i', 8),
        "|u1" | "<u1" => ('u', 1),
        "<u2" => ('u', 2),
        "<u4" => ('u', 4),
        "<u8" => ('u', 8),
        "<f2" => ('f', 2),
        "<f4" => ('f', 4),
        "<f8" => ('f', 8),
        other => {
            return Err(err(format!(
                "dtype {other} is not supported for integers (expected <i8, <i4, <u8, ... or whole <f8)"
            )));
        }
    };
    let data = payload(&shape, size, data)?;
    let mut values = Vec::with_capacity(data.len() / size);
    for (i, c) in data.chunks_exact(size).enumerate() {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(c);
        let v = match kind {
            'u' => Some(u64::from_le_bytes(b)),
            'i' => {
                // Sign-extend from `size` bytes.
                let shift = 64 - 8 * size as u32;
                let v = (i64::from_le_bytes(b) << shift) >> shift;
                u64::try_from(v).ok()
            }
            _ => {
                let f = match size {
                    2 => f64::from(
                        emkern_simd::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32(),
                    ),
                    4 => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                    _ => f64::from_le_bytes(b),
                };
                (f >= 0.0 && f.fract() == 0.0 && f < 18_446_744_073_709_551_616.0)
                    .then_some(f as u64)
            }
        };
        values
            .push(v.ok_or_else(|| err(format!("element {i} is not a non-negative whole number")))?);
    }
    Ok((shape, values))
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

/// The bytes of a version-1.0 `.npy` file with `descr`, `shape` and the little-endian element bytes.
fn to_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
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
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Pad with spaces so that the data starts at a multiple of 64 bytes, ending the header with a newline.
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The bytes of a version-1.0 `.npy` file holding `values` as `<f4` with `shape`.
pub fn to_bytes_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    to_bytes("<f4", shape, &data)
}

/// The bytes of a version-1.0 `.npy` file holding `values` as `<f8` with `shape`.
pub fn to_bytes_f64(shape: &[usize], values: &[f64]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    to_bytes("<f8", shape, &data)
}

/// The bytes of a version-1.0 `.npy` file holding `values` as `<f2` (IEEE binary16) with `shape`.
pub fn to_bytes_f16(shape: &[usize], values: &[emkern_simd::f16]) -> Vec<u8> {
    let data: Vec<u8> = values
        .iter()
        .flat_map(|v| v.to_bits().to_le_bytes())
        .collect();
    to_bytes("<f2", shape, &data)
}

/// Writes `values` with `shape` as an `<f2` `.npy` file.
pub fn write_f16(
    path: &Path,
    shape: &[usize],
    values: &[emkern_simd::f16],
) -> Result<(), NpyError> {
    write(path, to_bytes_f16(shape, values))
}

/// Writes `values` with `shape` as an `<f4` `.npy` file.
pub fn write_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<(), NpyError> {
    write(path, to_bytes_f32(shape, values))
}

/// Writes `values` with `shape` as an `<f8` `.npy` file.
pub fn write_f64(path: &Path, shape: &[usize], values: &[f64]) -> Result<(), NpyError> {
    write(path, to_bytes_f64(shape, values))
}

/// Writes through the CLI's one output path ([`crate::output::write_file`]: temporary file, sync, rename).
fn write(path: &Path, bytes: Vec<u8>) -> Result<(), NpyError> {
    crate::output::write_file(path, &bytes).map_err(|message| NpyError {
        file: String::new(),
        message,
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

    #[test]
    fn integers_and_f64() {
        // int64 positions as NumPy writes them, including a negative one.
        let ints: Vec<u8> = [0i64, 7, 1 << 40]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let b = to_bytes("<i8", &[3], &ints);
        assert_eq!(parse_u64(&b).unwrap(), (vec![3], vec![0, 7, 1 << 40]));
        let neg: Vec<u8> = [-1i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(
            parse_u64(&to_bytes("<i4", &[2], &neg))
                .unwrap_err()
                .message
                .contains("element 0")
        );
        let small = to_bytes("|u1", &[2], &[3, 250]);
        assert_eq!(parse_u64(&small).unwrap().1, vec![3, 250]);
        assert_eq!(
            parse_u64(&to_bytes_f64(&[2], &[5.0, 1e9])).unwrap().1,
            vec![5, 1_000_000_000]
        );
        assert!(parse_u64(&to_bytes_f64(&[1], &[0.5])).is_err());
        let f = parse(&to_bytes_f64(&[1, 2], &[0.25, -3.0])).unwrap();
        assert_eq!(
            (f.dtype, f.shape, f.values),
            (Dtype::F64, vec![1, 2], vec![0.25, -3.0])
        );
    }
}
