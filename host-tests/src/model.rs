//! Loading a model from any supported file, with the format sniffed from the content (not the extension):
//! an `.emk` blob, XGBoost JSON or UBJSON, a LightGBM text model, an emkern-sklearn JSON export, a CatBoost JSON
//! model, or an ONNX-ML tree ensemble (also taken by its `.onnx` extension, so that a damaged one gets the ONNX
//! importer's error); or a Spark ML model, which is a directory (or its `metadata/part-00000` file).

use std::path::Path;

use crate::export::blob;
use crate::import::format::strip_bom;
use crate::import::{self, ImportError};
use crate::ir::Ensemble;

pub use crate::import::format::{Format, sniff, sniff_path};

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

/// Loads and, unless it is already a blob, imports and exports `path` (a file, or a Spark ML model directory).
pub fn load(path: &Path) -> Result<Loaded, ImportError> {
    if sniff_path(path) == Some(Format::SparkMl) {
        return from_ensemble(Format::SparkMl, import::spark::load(path)?, path);
    }
    if path.is_dir() {
        return Err(ImportError::whole(
            "a directory, but not a Spark ML model directory (no metadata/part-00000); the other formats are files",
        )
        .in_file(path));
    }
    let bytes = ImportError::read_file(path)?;
    // A Spark ML model's `metadata/part-00000` stands for its directory.
    if sniff(strip_bom(&bytes)) == Some(Format::SparkMl) {
        return from_ensemble(Format::SparkMl, import::spark::load(path)?, path);
    }
    let onnx_extension = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    from_bytes(bytes, &path.display().to_string(), onnx_extension).map_err(|e| e.in_file(path))
}

/// Loads a model held in memory (as [`load`] reads a file): `name` stands for the file in the text formats'
/// messages, and `onnx` takes bytes no format recognizes as ONNX (as the `.onnx` extension does), so that a
/// damaged ONNX model gets the ONNX importer's error. Errors are not tied to a file. A Spark ML model is a
/// directory, which [`load`] reads: its metadata alone is an error.
pub fn from_bytes(mut bytes: Vec<u8>, name: &str, onnx: bool) -> Result<Loaded, ImportError> {
    let bom = bytes.len() - strip_bom(&bytes).len();
    bytes.drain(..bom);
    let format = sniff(&bytes).or(onnx.then_some(Format::Onnx)).ok_or_else(|| {
        ImportError::whole(
            "unknown model format: expected an emkern blob, XGBoost JSON/UBJSON, a LightGBM text model, an \
             emkern-sklearn JSON, a CatBoost JSON, an ONNX-ML model or a Spark ML model directory",
        )
    })?;
    let text = |bytes: Vec<u8>| {
        String::from_utf8(bytes).map_err(|e| ImportError::whole(format!("not UTF-8 text: {e}")))
    };
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
        Format::XgboostBinary => import::xgboost::from_legacy_binary_bytes(&bytes),
        Format::CatBoostJson => import::catboost::from_json_bytes(&bytes),
        Format::Onnx => import::onnx::from_bytes(&bytes),
        Format::SparkMl => Err(ImportError::whole(
            "Spark ML model metadata: the model is its directory (metadata and the Parquet node table); load the \
             directory's path",
        )),
        Format::LightGbm => import::lightgbm::from_str(&text(bytes)?, name),
        Format::Sklearn => import::sklearn::from_str(&text(bytes)?, name),
    }?;
    let blob = blob::write(&ensemble).map_err(|e| ImportError::whole(e.to_string()))?;
    Ok(Loaded {
        format,
        ensemble: Some(ensemble),
        blob,
    })
}

/// The loaded model of an imported `ensemble`: its blob exported, an export error naming `path`.
fn from_ensemble(format: Format, ensemble: Ensemble, path: &Path) -> Result<Loaded, ImportError> {
    let blob =
        blob::write(&ensemble).map_err(|e| ImportError::whole(e.to_string()).in_file(path))?;
    Ok(Loaded {
        format,
        ensemble: Some(ensemble),
        blob,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte-order mark before an XGBoost JSON model (as Windows editors save it) changes nothing.
    #[test]
    fn a_byte_order_mark_before_xgboost_json_is_skipped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let plain_path = dir.join("breast_cancer_xgboost.json");
        let plain = load(&plain_path).unwrap();
        let bom = [
            b"\xef\xbb\xbf".as_slice(),
            &std::fs::read(&plain_path).unwrap(),
        ]
        .concat();
        let path =
            std::env::temp_dir().join(format!("emkern-model-bom-{}.json", std::process::id()));
        std::fs::write(&path, &bom).unwrap();
        let loaded = (load(&path), import::xgboost::load(&path));
        std::fs::remove_file(&path).unwrap();
        let loaded_bom = loaded.0.unwrap();
        assert_eq!(loaded_bom.format, Format::XgboostJson);
        assert_eq!(loaded_bom.blob, plain.blob);
        assert_eq!(loaded.1.unwrap(), plain.ensemble.unwrap());
    }
}
