//! Models of XGBoost's PySpark estimators (`xgboost.spark.SparkXGBClassifier`, `SparkXGBRegressor`,
//! `SparkXGBRanker`): `model.write().save(path)` writes Spark's `metadata/part-00000` (the class is
//! `xgboost.spark.*Model`) and the booster as XGBoost JSON (`save_raw("json")`) under `model/`, a Spark text file
//! whose lines are consecutive pieces of the JSON. The pieces are joined and read by the
//! [XGBoost importer](crate::import::xgboost), so predictions are XGBoost's.

use std::path::{Path, PathBuf};

use crate::import::ImportError;
use crate::ir::Ensemble;

/// The prefix of the metadata's `class` for XGBoost's PySpark models.
pub const CLASS_PREFIX: &str = "xgboost.spark.";

/// Imports the model in `dir`, whose `metadata/part-00000` holds `metadata`, when the metadata names an
/// `xgboost.spark` class; `Ok(None)` for any other class (including metadata this function cannot read, which the
/// Spark ML importer then reports).
pub fn load(dir: &Path, metadata: &[u8]) -> Result<Option<Ensemble>, ImportError> {
    // xgboost.spark writes its parameters with Python's `json.dumps`, which spells a missing value `NaN` (not
    // JSON): only the two string fields are read, from the text.
    let text = String::from_utf8_lossy(metadata.strip_prefix(b"\xef\xbb\xbf").unwrap_or(metadata));
    let Some(class) = string_field(&text, "class") else {
        return Ok(None);
    };
    if !class.starts_with(CLASS_PREFIX) {
        return Ok(None);
    }
    let class = class.as_str();
    let version = string_field(&text, "sparkVersion").unwrap_or_else(|| "unknown".into());
    let folder = dir.join("model");
    let parts = text_parts(&folder)?;
    let mut json = Vec::new();
    for part in &parts {
        let text = ImportError::read_file(part)?;
        // Spark's text files end every record with a newline; the records are pieces of one JSON document.
        for line in text.split(|&b| b == b'\n') {
            json.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        }
    }
    let first = parts.first().map_or(folder.clone(), Clone::clone);
    let mut e = crate::import::xgboost::from_json_bytes(&json).map_err(|e| {
        let e = if parts.len() > 1 {
            ImportError {
                message: format!(
                    "{} (in the JSON joined from the {} part files)",
                    e.message,
                    parts.len()
                ),
                ..e
            }
        } else {
            e
        };
        e.in_file(&first)
    })?;
    let short = class.rsplit('.').next().unwrap_or(class);
    e.source = format!("XGBoost PySpark {short}, Spark {version}; {}", e.source);
    Ok(Some(e))
}

/// The value of the first `"key": "value"` string member in `text` (JSON escapes other than `\"` kept as they are;
/// class names and versions have none).
pub(super) fn string_field(text: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let mut from = 0;
    while let Some(at) = text[from..].find(&quoted) {
        let rest = text[from + at + quoted.len()..].trim_start();
        if let Some(rest) = rest.strip_prefix(':') {
            let rest = rest.trim_start().strip_prefix('"')?;
            let mut out = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(out),
                    '\\' => out.push(chars.next()?),
                    c => out.push(c),
                }
            }
            return None;
        }
        from += at + quoted.len();
    }
    None
}

/// The text part files of `folder` (`part-*`, not hidden, not `.crc`), sorted.
fn text_parts(folder: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let entries = std::fs::read_dir(folder).map_err(|e| {
        ImportError::whole(format!(
            "cannot list the folder (an xgboost.spark model directory holds the booster there): {e}"
        ))
        .in_file(folder)
    })?;
    let mut parts: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("part-") && !n.ends_with(".crc")
            }) && p.is_file()
        })
        .collect();
    parts.sort();
    if parts.is_empty() {
        return Err(
            ImportError::whole("no part file (part-*) with the booster's JSON").in_file(folder),
        );
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::string_field;

    #[test]
    fn string_fields_are_read_from_text_that_is_not_json() {
        let text = r#"{"class":"xgboost.spark.estimator.SparkXGBClassifierModel","missing":NaN, "sparkVersion" : "3.5.9"}"#;
        assert_eq!(
            string_field(text, "class").as_deref(),
            Some("xgboost.spark.estimator.SparkXGBClassifierModel")
        );
        assert_eq!(string_field(text, "sparkVersion").as_deref(), Some("3.5.9"));
        assert_eq!(string_field(text, "uid"), None);
        assert_eq!(string_field(r#"{"class": 3}"#, "class"), None);
    }
}
