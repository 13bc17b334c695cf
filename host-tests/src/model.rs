//! Loading a model from any supported file, with the format sniffed from the content (not the extension):
//! an `.emk` blob, XGBoost JSON or UBJSON, a LightGBM text model, an emkern-sklearn JSON export, a CatBoost JSON
//! model, or an ONNX-ML tree ensemble (also taken by its `.onnx` extension, so that a damaged one gets the ONNX
//! importer's error).

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
    /// CatBoost JSON (`save_model(path, format="json")`).
    CatBoostJson,
    /// ONNX with an `ai.onnx.ml` tree-ensemble operator (skl2onnx, onnxmltools).
    Onnx,
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
            Format::CatBoostJson => "CatBoost JSON",
            Format::Onnx => "ONNX-ML",
        }
    }
}

/// Guesses the format from the first bytes (after an optional UTF-8 byte-order mark). JSON and UBJSON are told
/// apart by [`import::xgboost::sniff`], the one rule for both; a JSON document that names `emkern-sklearn` near
/// its start is the scikit-learn export, one with CatBoost's top-level keys ([`import::catboost::looks_like`]) is
/// CatBoost's.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let bytes = strip_bom(bytes);
    if bytes.starts_with(b"EMKF") {
        return Some(Format::Blob);
    }
    if import::onnx::looks_like(bytes) {
        return Some(Format::Onnx);
    }
    match import::xgboost::sniff(bytes) {
        Some(import::xgboost::Format::Ubjson) => return Some(Format::XgboostUbjson),
        Some(import::xgboost::Format::Json) => {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
            return Some(if head.contains("emkern-sklearn") {
                Format::Sklearn
            } else if import::catboost::looks_like(bytes) {
                Format::CatBoostJson
            } else {
                Format::XgboostJson
            });
        }
        None => {}
    }
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
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

/// `bytes` without a leading UTF-8 byte-order mark (text editors on Windows add one).
fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
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
    let mut bytes = ImportError::read_file(path)?;
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    let onnx_extension = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    let format = sniff(&bytes).or(onnx_extension.then_some(Format::Onnx)).ok_or_else(|| {
        ImportError::whole(
            "unknown model format: expected an emkern blob, XGBoost JSON/UBJSON, a LightGBM text model, an \
             emkern-sklearn JSON, a CatBoost JSON or an ONNX-ML model",
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
        Format::CatBoostJson => import::catboost::from_json_bytes(&bytes),
        Format::Onnx => import::onnx::from_bytes(&bytes),
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
