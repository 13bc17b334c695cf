//! Loading a model from any supported file, with the format sniffed from the content (not the extension):
//! an `.emk` blob, XGBoost JSON or UBJSON, a LightGBM text model, or an emkern-sklearn JSON export.

use std::path::Path;

use crate::export::blob;
use crate::import::{self, ImportError};
use crate::ir::Ensemble;

/// A model file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// emkern's own blob (`EMKF`).
    Blob,
    /// XGBoost JSON (`save_model("*.json")`).
    XgboostJson,
    /// XGBoost Universal Binary JSON (`save_model("*.ubj")`, the default since 2.1).
    XgboostUbjson,
    /// LightGBM text (`save_model("*.txt")`).
    LightGbm,
    /// The JSON written by `host-tests/python/emkern_sklearn.py`.
    Sklearn,
}

impl Format {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Blob => "emkern blob",
            Format::XgboostJson => "XGBoost JSON",
            Format::XgboostUbjson => "XGBoost UBJSON",
            Format::LightGbm => "LightGBM text",
            Format::Sklearn => "scikit-learn (emkern JSON)",
        }
    }
}

/// Guesses the format from the first bytes.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"EMKF") {
        return Some(Format::Blob);
    }
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    if rest.first() == Some(&b'{') {
        // JSON continues with whitespace or a quoted key; UBJSON with a length marker of the first key.
        let next = rest.get(1).copied().unwrap_or(b'}');
        if next == b'"' || next.is_ascii_whitespace() || next == b'}' {
            let head = &rest[..rest.len().min(4096)];
            let text = String::from_utf8_lossy(head);
            if text.contains("emkern-sklearn") {
                return Some(Format::Sklearn);
            }
            return Some(Format::XgboostJson);
        }
        return Some(Format::XgboostUbjson);
    }
    let text = String::from_utf8_lossy(&rest[..rest.len().min(4096)]);
    if text.starts_with("tree")
        || text
            .lines()
            .any(|l| l.starts_with("version=v") || l.starts_with("num_class="))
    {
        return Some(Format::LightGbm);
    }
    None
}

/// A loaded model: its format, the IR (absent for a blob), and the blob the core runs.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The detected format.
    pub format: Format,
    /// The ensemble, for every format but the blob.
    pub ensemble: Option<Ensemble>,
    /// The blob (read as is, or exported from the ensemble).
    pub blob: Vec<u8>,
}

/// Loads and, unless it is already a blob, imports and exports `path`.
pub fn load(path: &Path) -> Result<Loaded, ImportError> {
    let bytes = ImportError::read_file(path)?;
    let format = sniff(&bytes).ok_or_else(|| {
        ImportError::whole(
            "unknown model format: expected an emkern blob, XGBoost JSON/UBJSON, a LightGBM text model or an \
             emkern-sklearn JSON",
        )
        .in_file(path)
    })?;
    let ensemble = match format {
        Format::Blob => {
            return Ok(Loaded {
                format,
                ensemble: None,
                blob: bytes,
            });
        }
        Format::XgboostJson => import::xgboost::from_json_bytes(&bytes),
        Format::XgboostUbjson => import::xgboost::from_ubjson_bytes(&bytes),
        Format::LightGbm => {
            let text = String::from_utf8(bytes)
                .map_err(|e| ImportError::whole(format!("not UTF-8 text: {e}")).in_file(path))?;
            import::lightgbm::from_str(&text, &path.display().to_string())
        }
        Format::Sklearn => {
            let text = String::from_utf8(bytes)
                .map_err(|e| ImportError::whole(format!("not UTF-8 text: {e}")).in_file(path))?;
            import::sklearn::from_str(&text, &path.display().to_string())
        }
    }
    .map_err(|e| e.in_file(path))?;
    let blob =
        blob::write(&ensemble).map_err(|e| ImportError::whole(e.to_string()).in_file(path))?;
    Ok(Loaded {
        format,
        ensemble: Some(ensemble),
        blob,
    })
}
