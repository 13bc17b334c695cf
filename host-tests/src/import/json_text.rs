//! XGBoost's JSON text into the document model ([`Value`]), with numbers read as XGBoost reads them: XGBoost's
//! numbers are `f32`, so a pre-pass makes sure every decimal ends up as the `f32` it denotes (a decimal rounded
//! first to `f64` and then to `f32` can land one ulp off), and turns XGBoost's bare `NaN`/`Infinity` tokens into
//! the marker strings the document model reads as numbers. Used by the JSON importer and by the legacy binary
//! one (whose objective configuration is JSON text).

use std::borrow::Cow;

use super::ImportError;
use super::format::strip_bom;
use super::ubjson::{self, NON_FINITE_MARKERS, Value};

/// Parses XGBoost JSON text into the document model, with its numbers read as XGBoost reads them (see the
/// module documentation). Syntax errors carry the line.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ImportError> {
    let text = normalize_json(strip_bom(bytes));
    serde_json::from_slice::<Value>(&text).map_err(|e| {
        if e.line() == 0 {
            ImportError::whole(format!("invalid JSON: {e}"))
        } else {
            ImportError::at_line(e.line(), format!("invalid JSON: {e}"))
        }
    })
}

/// Rewrites, outside strings, the tokens `NaN`, `Infinity` and `-Infinity` into the marker strings of
/// [`NON_FINITE_MARKERS`], and every decimal number whose nearest `f64` does not round to its nearest `f32`
/// into the exact decimal of that `f32`. Borrows the input when nothing needs rewriting (the usual case).
fn normalize_json(b: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            b'N' | b'I' | b'+' | b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len()
                    && matches!(b[i], b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'-' | b'.')
                {
                    i += 1;
                }
                let token = &b[start..i];
                let replacement = match token {
                    b"NaN" => Some(json_string(NON_FINITE_MARKERS[0].0)),
                    b"Infinity" | b"+Infinity" => Some(json_string(NON_FINITE_MARKERS[1].0)),
                    b"-Infinity" => Some(json_string(NON_FINITE_MARKERS[2].0)),
                    _ => exact_f32_decimal(token),
                };
                if let Some(r) = replacement {
                    let o = out.get_or_insert_with(|| Vec::with_capacity(b.len() + 64));
                    o.extend_from_slice(&b[copied..start]);
                    o.extend_from_slice(r.as_bytes());
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(b),
        Some(mut o) => {
            o.extend_from_slice(&b[copied..]);
            Cow::Owned(o)
        }
    }
}

/// `s` as a JSON string literal (only NUL needs escaping in the marker strings).
fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\u{0}', "\\u0000"))
}

/// For a JSON number token with a fraction or exponent whose `f64` rounding does not round to the `f32` the
/// decimal denotes: the exact decimal expansion of that `f32` (which `f64` represents exactly).
fn exact_f32_decimal(token: &[u8]) -> Option<String> {
    if !token.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        return None;
    }
    let s = std::str::from_utf8(token).ok()?;
    if !ubjson::is_json_number(s) {
        return None;
    }
    let single: f32 = s.parse().ok()?;
    let double: f64 = s.parse().ok()?;
    if (double as f32).to_bits() == single.to_bits() || !single.is_finite() {
        return None;
    }
    Some(format!("{:e}", single as f64))
}
