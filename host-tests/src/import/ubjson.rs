//! A small reader for UBJSON (Universal Binary JSON, draft 12) and the document model it shares with JSON.
//!
//! [`Value`] is the one document model of the importers that read JSON-like formats: [`parse`] produces it
//! from UBJSON, and it implements [`serde::Deserialize`] so `serde_json` produces it from JSON text. UBJSON's
//! optimized containers of fixed-size numbers (`[$d#L…`, as XGBoost writes every float, integer and flag
//! array) are kept compact as a [`TypedArray`] instead of one [`Value`] per element; `f32` values stay `f32`.
//!
//! Supported markers: `Z` null, `N` no-op, `T`/`F` booleans, `i` int8, `U` uint8, `I` int16, `l` int32,
//! `L` int64, `d` float32, `D` float64, `H` high-precision number, `C` char, `S` string, `[` array and `{`
//! object, both with the optional `$` element type and `#` count. Multi-byte values are big-endian, as the
//! specification requires.
//!
//! Malformed input (truncation, unknown markers, negative or oversized counts, invalid UTF-8, nesting deeper
//! than [`MAX_DEPTH`]) is reported as an [`ImportError`] at the offending byte offset; the reader never
//! panics and never allocates more than the input can justify.

use std::fmt;

use super::{ImportError, Location};

/// Deepest container nesting accepted (the same limit `serde_json` applies to JSON).
pub const MAX_DEPTH: usize = 128;

/// Payload-free elements (`[$Z#…`, `[$T#…`, `[$F#…`) take no bytes of the input, so their count is not bounded
/// by its length; the whole document may hold at most this many of them per byte of input, which keeps the memory
/// of the parsed document proportional to the file (XGBoost writes no such containers).
pub const EMPTY_ELEMENTS_PER_BYTE: usize = 1;

/// A document value (JSON or UBJSON).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer (JSON integers beyond the `i64` range are read as [`Value::Float`]).
    Int(i64),
    /// A floating-point number (UBJSON `d` values are `f32` widened exactly; may be NaN or infinite).
    Float(f64),
    /// A string (UBJSON `S`, `C` and object keys).
    Str(String),
    /// An array of values.
    Array(Vec<Value>),
    /// An optimized UBJSON array of fixed-size numbers.
    Typed(TypedArray),
    /// An object: keys and values in document order.
    Object(Vec<(String, Value)>),
}

/// The payload of an optimized UBJSON container of fixed-size numbers.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedArray {
    /// `$U`: uint8.
    U8(Vec<u8>),
    /// `$i`: int8.
    I8(Vec<i8>),
    /// `$I`: int16.
    I16(Vec<i16>),
    /// `$l`: int32.
    I32(Vec<i32>),
    /// `$L`: int64.
    I64(Vec<i64>),
    /// `$d`: float32.
    F32(Vec<f32>),
    /// `$D`: float64.
    F64(Vec<f64>),
}

impl TypedArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TypedArray::U8(v) => v.len(),
            TypedArray::I8(v) => v.len(),
            TypedArray::I16(v) => v.len(),
            TypedArray::I32(v) => v.len(),
            TypedArray::I64(v) => v.len(),
            TypedArray::F32(v) => v.len(),
            TypedArray::F64(v) => v.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as a [`Value`] (`None` past the end).
    pub fn get(&self, i: usize) -> Option<Value> {
        Some(match self {
            TypedArray::U8(v) => Value::Int(*v.get(i)? as i64),
            TypedArray::I8(v) => Value::Int(*v.get(i)? as i64),
            TypedArray::I16(v) => Value::Int(*v.get(i)? as i64),
            TypedArray::I32(v) => Value::Int(*v.get(i)? as i64),
            TypedArray::I64(v) => Value::Int(*v.get(i)?),
            TypedArray::F32(v) => Value::Float(*v.get(i)? as f64),
            TypedArray::F64(v) => Value::Float(*v.get(i)?),
        })
    }

    /// The UBJSON marker of the element type.
    pub fn marker(&self) -> char {
        match self {
            TypedArray::U8(_) => 'U',
            TypedArray::I8(_) => 'i',
            TypedArray::I16(_) => 'I',
            TypedArray::I32(_) => 'l',
            TypedArray::I64(_) => 'L',
            TypedArray::F32(_) => 'd',
            TypedArray::F64(_) => 'D',
        }
    }
}

impl Value {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Array(_) | Value::Typed(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The value of `key` if this is an object that has it (the last one, if the key is repeated).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The number of elements if this is an array (plain or typed).
    pub fn array_len(&self) -> Option<usize> {
        match self {
            Value::Array(v) => Some(v.len()),
            Value::Typed(t) => Some(t.len()),
            _ => None,
        }
    }
}

impl fmt::Display for TypedArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[${}#{}]", self.marker(), self.len())
    }
}

/// Parses a whole UBJSON document (one value, nothing after it but no-op markers).
pub fn parse(bytes: &[u8]) -> Result<Value, ImportError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        empty_budget: bytes.len().saturating_mul(EMPTY_ELEMENTS_PER_BYTE),
    };
    let marker = r.marker_skipping_noop()?;
    let v = r.value(marker, 0)?;
    while r.pos < bytes.len() {
        if bytes[r.pos] != b'N' {
            return Err(r.error_at(r.pos, "unexpected bytes after the end of the document"));
        }
        r.pos += 1;
    }
    Ok(v)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Payload-free elements still allowed in the document (see [`EMPTY_ELEMENTS_PER_BYTE`]).
    empty_budget: usize,
}

impl Reader<'_> {
    fn error_at(&self, offset: usize, message: impl Into<String>) -> ImportError {
        ImportError::new(Location::Byte(offset), message)
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], ImportError> {
        if self.remaining() < n {
            return Err(self.error_at(
                self.pos,
                format!(
                    "truncated: {what} needs {n} bytes, {} left",
                    self.remaining()
                ),
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ImportError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn byte(&mut self, what: &str) -> Result<u8, ImportError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn marker_skipping_noop(&mut self) -> Result<u8, ImportError> {
        loop {
            let m = self.byte("a type marker")?;
            if m != b'N' {
                return Ok(m);
            }
        }
    }

    /// Reads the payload of an integer with marker `m` (at offset `at`).
    fn int_payload(&mut self, m: u8, at: usize) -> Result<i64, ImportError> {
        Ok(match m {
            b'i' => i8::from_be_bytes(self.array("an int8")?) as i64,
            b'U' => u8::from_be_bytes(self.array("a uint8")?) as i64,
            b'I' => i16::from_be_bytes(self.array("an int16")?) as i64,
            b'l' => i32::from_be_bytes(self.array("an int32")?) as i64,
            b'L' => i64::from_be_bytes(self.array("an int64")?),
            _ => {
                return Err(self.error_at(
                    at,
                    format!(
                        "expected an integer marker (i, U, I, l, L), found {}",
                        show(m)
                    ),
                ));
            }
        })
    }

    /// Reads a length or count: an integer with its marker, non-negative.
    fn length(&mut self, what: &str) -> Result<usize, ImportError> {
        let at = self.pos;
        let m = self.byte(what)?;
        let n = self.int_payload(m, at)?;
        usize::try_from(n).map_err(|_| self.error_at(at, format!("{what} is negative ({n})")))
    }

    fn string(&mut self, what: &str) -> Result<String, ImportError> {
        let n = self.length(&format!("the length of {what}"))?;
        let at = self.pos;
        let s = self.take(n, what)?;
        match std::str::from_utf8(s) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => {
                Err(self.error_at(at + e.valid_up_to(), format!("{what} is not valid UTF-8")))
            }
        }
    }

    /// Reads the value whose marker `m` was just read.
    fn value(&mut self, m: u8, depth: usize) -> Result<Value, ImportError> {
        let at = self.pos - 1;
        Ok(match m {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::Int(self.int_payload(m, at)?),
            b'd' => Value::Float(f32::from_be_bytes(self.array("a float32")?) as f64),
            b'D' => Value::Float(f64::from_be_bytes(self.array("a float64")?)),
            b'H' => {
                let s = self.string("a high-precision number")?;
                if let Ok(i) = s.parse::<i64>() {
                    Value::Int(i)
                } else if let (Ok(f), true) = (s.parse::<f64>(), is_json_number(&s)) {
                    Value::Float(f)
                } else {
                    return Err(self.error_at(at, format!("invalid high-precision number {s:?}")));
                }
            }
            b'C' => {
                let c = self.byte("a char")?;
                if !c.is_ascii() {
                    return Err(self.error_at(at + 1, "a char must be ASCII (0-127)"));
                }
                Value::Str((c as char).to_string())
            }
            b'S' => Value::Str(self.string("a string")?),
            b'[' => self.container(false, depth + 1, at)?,
            b'{' => self.container(true, depth + 1, at)?,
            _ => {
                return Err(self.error_at(at, format!("unknown type marker {}", show(m))));
            }
        })
    }

    /// Reads an array or object after its opening marker at `at`.
    fn container(&mut self, object: bool, depth: usize, at: usize) -> Result<Value, ImportError> {
        if depth > MAX_DEPTH {
            return Err(self.error_at(
                at,
                format!("containers nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        // Optional `$type` (which requires `#count`) and `#count`.
        let mut elem_type = None;
        let mut count = None;
        match self.bytes.get(self.pos) {
            Some(b'$') => {
                self.pos += 1;
                let tm = self.byte("the element type of an optimized container")?;
                if matches!(tm, b'N' | b'$' | b'#' | b']' | b'}') {
                    return Err(self.error_at(
                        self.pos - 1,
                        format!("{} cannot be a container's element type", show(tm)),
                    ));
                }
                elem_type = Some(tm);
                if self.bytes.get(self.pos) != Some(&b'#') {
                    return Err(self.error_at(
                        self.pos,
                        "a `$` element type must be followed by a `#` count",
                    ));
                }
                self.pos += 1;
                count = Some(self.length("a container count")?);
            }
            Some(b'#') => {
                self.pos += 1;
                count = Some(self.length("a container count")?);
            }
            _ => {}
        }

        if !object
            && let (Some(tm), Some(n)) = (elem_type, count)
            && let Some(t) = self.typed_array(tm, n)?
        {
            return Ok(Value::Typed(t));
        }
        if let (Some(tm), Some(n)) = (elem_type, count) {
            // Elements without a payload are not bounded by the input's length: the document's budget is.
            if matches!(tm, b'Z' | b'T' | b'F') {
                if n > self.empty_budget {
                    return Err(self.error_at(
                        at,
                        format!(
                            "container of {n} payload-free elements: a {}-byte document may hold at most {} in all",
                            self.bytes.len(),
                            self.bytes.len().saturating_mul(EMPTY_ELEMENTS_PER_BYTE)
                        ),
                    ));
                }
                self.empty_budget -= n;
            }
        }

        let mut items = Vec::new();
        let mut entries = Vec::new();
        let mut i = 0usize;
        loop {
            match count {
                Some(n) if i == n => break,
                Some(_) => {}
                None => {
                    // Skip no-ops, then look for the closing marker.
                    while self.bytes.get(self.pos) == Some(&b'N') {
                        self.pos += 1;
                    }
                    let close = if object { b'}' } else { b']' };
                    match self.bytes.get(self.pos) {
                        Some(&c) if c == close => {
                            self.pos += 1;
                            break;
                        }
                        None => {
                            return Err(self.error_at(
                                self.pos,
                                format!(
                                    "truncated: the {} opened at byte {at} is not closed",
                                    if object { "object" } else { "array" }
                                ),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            let key = if object {
                Some(self.string("an object key")?)
            } else {
                None
            };
            let m = match elem_type {
                Some(tm) => tm,
                None => self.marker_skipping_noop()?,
            };
            let v = self.value(m, depth)?;
            match key {
                Some(k) => entries.push((k, v)),
                None => items.push(v),
            }
            i += 1;
        }
        Ok(if object {
            Value::Object(entries)
        } else {
            Value::Array(items)
        })
    }

    /// Reads `n` fixed-size numbers of type `tm`; `None` if `tm` is not a fixed-size number type.
    fn typed_array(&mut self, tm: u8, n: usize) -> Result<Option<TypedArray>, ImportError> {
        let size = match tm {
            b'i' | b'U' => 1,
            b'I' => 2,
            b'l' | b'd' => 4,
            b'L' | b'D' => 8,
            _ => return Ok(None),
        };
        let bytes = match n.checked_mul(size) {
            Some(b) if b <= self.remaining() => b,
            _ => {
                return Err(self.error_at(
                    self.pos,
                    format!(
                        "truncated: {n} elements of type {} need more than the {} bytes left",
                        show(tm),
                        self.remaining()
                    ),
                ));
            }
        };
        let data = &self.bytes[self.pos..self.pos + bytes];
        self.pos += bytes;
        fn conv<const N: usize, T>(data: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
            data.chunks_exact(N)
                .map(|c| {
                    let mut a = [0u8; N];
                    a.copy_from_slice(c);
                    f(a)
                })
                .collect()
        }
        Ok(Some(match tm {
            b'i' => TypedArray::I8(conv(data, i8::from_be_bytes)),
            b'U' => TypedArray::U8(data.to_vec()),
            b'I' => TypedArray::I16(conv(data, i16::from_be_bytes)),
            b'l' => TypedArray::I32(conv(data, i32::from_be_bytes)),
            b'd' => TypedArray::F32(conv(data, f32::from_be_bytes)),
            b'L' => TypedArray::I64(conv(data, i64::from_be_bytes)),
            _ => TypedArray::F64(conv(data, f64::from_be_bytes)),
        }))
    }
}

/// Whether `s` has the shape of a JSON number (what a UBJSON `H` value must hold).
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// A marker byte for messages: the character if printable, else its hex code.
fn show(m: u8) -> String {
    if m.is_ascii_graphic() {
        format!("`{}`", m as char)
    } else {
        format!("0x{m:02x}")
    }
}

/// Strings standing for the non-finite numbers some writers (XGBoost) put in JSON as bare `NaN`,
/// `Infinity` and `-Infinity` tokens; a JSON pre-pass rewrites those tokens to these strings, and
/// deserializing into [`Value`] turns them back into numbers. The leading NUL keeps them apart from any
/// real string a model would hold.
pub const NON_FINITE_MARKERS: [(&str, f64); 3] = [
    ("\u{0}NaN", f64::NAN),
    ("\u{0}Infinity", f64::INFINITY),
    ("\u{0}-Infinity", f64::NEG_INFINITY),
];

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(v as f64),
        })
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        for (marker, x) in NON_FINITE_MARKERS {
            if v == marker {
                return Ok(Value::Float(x));
            }
        }
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        for (marker, x) in NON_FINITE_MARKERS {
            if v == marker {
                return Ok(Value::Float(x));
            }
        }
        Ok(Value::Str(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            entries.push((k, v));
        }
        Ok(Value::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_l(n: i64) -> Vec<u8> {
        let mut v = vec![b'L'];
        v.extend(n.to_be_bytes());
        v
    }

    #[test]
    fn scalars() {
        assert_eq!(parse(b"Z").unwrap(), Value::Null);
        assert_eq!(parse(b"T").unwrap(), Value::Bool(true));
        assert_eq!(parse(b"F").unwrap(), Value::Bool(false));
        assert_eq!(parse(&[b'i', 0xff]).unwrap(), Value::Int(-1));
        assert_eq!(parse(&[b'U', 0xff]).unwrap(), Value::Int(255));
        assert_eq!(parse(&[b'I', 0x80, 0x00]).unwrap(), Value::Int(-32768));
        assert_eq!(parse(&[b'l', 0, 1, 0, 0]).unwrap(), Value::Int(65536));
        let mut l = vec![b'L'];
        l.extend((-5i64).to_be_bytes());
        assert_eq!(parse(&l).unwrap(), Value::Int(-5));
        let mut d = vec![b'd'];
        d.extend(0.1f32.to_be_bytes());
        assert_eq!(parse(&d).unwrap(), Value::Float(0.1f32 as f64));
        let mut dd = vec![b'D'];
        dd.extend(0.1f64.to_be_bytes());
        assert_eq!(parse(&dd).unwrap(), Value::Float(0.1));
        assert_eq!(parse(b"Ca").unwrap(), Value::Str("a".into()));
        assert_eq!(parse(b"SU\x03abc").unwrap(), Value::Str("abc".into()));
        assert_eq!(parse(b"HU\x041.25").unwrap(), Value::Float(1.25));
        assert_eq!(parse(b"HU\x0212").unwrap(), Value::Int(12));
        assert_eq!(parse(b"NNZN").unwrap(), Value::Null);
    }

    #[test]
    fn containers() {
        // {"a": [1, "x"], "b": {}} with no-ops sprinkled in.
        let doc = b"{U\x01a[U\x01NSU\x01x]NU\x01b{}}";
        assert_eq!(
            parse(doc).unwrap(),
            Value::Object(vec![
                (
                    "a".into(),
                    Value::Array(vec![Value::Int(1), Value::Str("x".into())])
                ),
                ("b".into(), Value::Object(vec![])),
            ])
        );
        // Counted, untyped.
        assert_eq!(
            parse(b"[#U\x02TF").unwrap(),
            Value::Array(vec![Value::Bool(true), Value::Bool(false)])
        );
        // Typed f32 with an int64 count, as XGBoost writes.
        let mut t = b"[$d#".to_vec();
        t.extend(len_l(2));
        t.extend(1.5f32.to_be_bytes());
        t.extend((-0.25f32).to_be_bytes());
        assert_eq!(
            parse(&t).unwrap(),
            Value::Typed(TypedArray::F32(vec![1.5, -0.25]))
        );
        // Typed object.
        assert_eq!(
            parse(b"{$U#U\x02U\x01a\x07U\x01b\x08").unwrap(),
            Value::Object(vec![
                ("a".into(), Value::Int(7)),
                ("b".into(), Value::Int(8))
            ])
        );
        // Typed array of payload-free values and of strings.
        assert_eq!(
            parse(b"[$Z#U\x02").unwrap(),
            Value::Array(vec![Value::Null, Value::Null])
        );
        assert_eq!(
            parse(b"[$S#U\x02U\x01aU\x00").unwrap(),
            Value::Array(vec![Value::Str("a".into()), Value::Str(String::new())])
        );
        let i32s = b"[$l#i\x02\x00\x00\x00\x01\xff\xff\xff\xff";
        assert_eq!(
            parse(i32s).unwrap(),
            Value::Typed(TypedArray::I32(vec![1, -1]))
        );
    }

    #[test]
    fn malformed_is_an_error() {
        for bad in [
            &b""[..],
            b"[",
            b"{U\x01a",
            b"{U\x01aU",
            b"SU\x05abc",
            b"S\xff\x01a",
            b"Si\xff",
            b"[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff",
            b"[$d]",
            b"[$Z#L\x00\x00\x00\x00\x7f\xff\xff\xff",
            b"SU\x01\xff",
            b"X",
            b"ZZ",
            b"}",
            b"[$[#U\x01[]",
            b"C\x80",
            b"HU\x03abc",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let deep = vec![b'['; MAX_DEPTH + 5];
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn payload_free_elements_are_bounded_by_the_document_length() {
        // Ten arrays declaring 2^24 nulls each in a document of under 200 bytes.
        let mut doc = b"{".to_vec();
        for k in 0..10u8 {
            doc.extend([b'U', 1, b'a' + k]);
            doc.extend(b"[$Z#");
            doc.extend(len_l(1 << 24));
        }
        doc.push(b'}');
        let e = parse(&doc).unwrap_err();
        assert!(e.message.contains("payload-free"), "{e}");
        // Nested: every inner array is small, the total is not.
        let mut nested = b"[$[#".to_vec();
        nested.extend(len_l(4));
        for _ in 0..4 {
            nested.extend(b"$Z#");
            nested.extend(len_l(20));
        }
        assert!(parse(&nested).is_err());
        // Within the budget they parse.
        assert_eq!(parse(b"[$T#U\x03").unwrap().array_len(), Some(3));
    }
}
