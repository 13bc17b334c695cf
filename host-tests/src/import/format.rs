//! Which format a model file is in, told from its content (not its name): the one sniffer every loader uses.

/// A model file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// emkern's own blob (`EMKF`).
    Blob,
    /// XGBoost JSON (`save_model("*.json")`).
    XgboostJson,
    /// XGBoost Universal Binary JSON (`save_model("*.ubj")`, the default since 2.1).
    XgboostUbjson,
    /// XGBoost's legacy binary format (`binf`: `save_raw()` in 1.x, `format="deprecated"` until 3.0).
    XgboostBinary,
    /// LightGBM text (`save_model("*.txt")`).
    LightGbm,
    /// The JSON written by `host-tests/python/emkern_sklearn.py`.
    Sklearn,
    /// CatBoost JSON (`save_model(path, format="json")`).
    CatBoostJson,
    /// ONNX with an `ai.onnx.ml` tree-ensemble operator (skl2onnx, onnxmltools).
    Onnx,
    /// A Spark ML tree model directory (`model.write().save(path)`: `metadata/part-00000`, `data/*.parquet`).
    SparkMl,
}

impl Format {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Blob => "emkern blob",
            Format::XgboostJson => "XGBoost JSON",
            Format::XgboostUbjson => "XGBoost UBJSON",
            Format::XgboostBinary => "XGBoost legacy binary",
            Format::LightGbm => "LightGBM text",
            Format::Sklearn => "scikit-learn (emkern JSON)",
            Format::CatBoostJson => "CatBoost JSON",
            Format::Onnx => "ONNX-ML",
            Format::SparkMl => "Spark ML",
        }
    }
}

/// The first bytes of XGBoost's legacy binary model format (`import::xgboost_binary`). Kept here, with the other
/// signatures, so that the sniffer imports no parser of a format it recognises by a prefix.
pub const XGBOOST_BINARY_HEADER: &[u8] = b"binf";

/// Guesses the format from the first bytes, after an optional UTF-8 byte-order mark: the one rule every loader
/// uses ([`crate::model::load`], [`crate::import::xgboost::from_bytes`]).
///
/// JSON and UBJSON both start with `{`; in JSON it is followed by whitespace, `"` or `}`, in UBJSON by the type
/// marker of the first key's length (or a `$`/`#` container header). A JSON document that names
/// `emkern-sklearn` near its start is the scikit-learn export, one with CatBoost's top-level keys
/// ([`crate::import::catboost::looks_like`]) is CatBoost's; a protobuf `ModelProto` with a graph
/// ([`crate::import::onnx::looks_like`]) is ONNX. A JSON object naming a `sparkVersion` and an `org.apache.spark`
/// class is a Spark ML model's metadata file ([`crate::import::spark::layout::looks_like_metadata`]); the model itself is
/// a directory, which [`sniff_path`] recognises.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let bytes = strip_bom(bytes);
    if bytes.starts_with(b"EMKF") {
        return Some(Format::Blob);
    }
    if bytes.starts_with(XGBOOST_BINARY_HEADER) {
        return Some(Format::XgboostBinary);
    }
    if crate::import::onnx::looks_like(bytes) {
        return Some(Format::Onnx);
    }
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[start] == b'{' {
        return Some(match bytes.get(start + 1) {
            Some(b'i' | b'U' | b'I' | b'l' | b'L' | b'$' | b'#' | b'N') if start == 0 => {
                Format::XgboostUbjson
            }
            _ => {
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
                if head.contains("emkern-sklearn") {
                    Format::Sklearn
                } else if crate::import::spark::layout::looks_like_metadata(bytes) {
                    Format::SparkMl
                } else if crate::import::catboost::looks_like(bytes) {
                    Format::CatBoostJson
                } else {
                    Format::XgboostJson
                }
            }
        });
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

/// The format of a model given by its path when the path is a directory: a Spark ML model directory (it holds
/// `metadata/part-00000`), else `None`. Files are told by their content ([`sniff`]).
pub fn sniff_path(path: &std::path::Path) -> Option<Format> {
    (path.is_dir() && crate::import::spark::layout::looks_like_dir(path)).then_some(Format::SparkMl)
}

/// `bytes` without a leading UTF-8 byte-order mark (text editors on Windows add one).
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b" \n{\"learner\": 1}"), Some(Format::XgboostJson));
        assert_eq!(sniff(b"\xef\xbb\xbf{}"), Some(Format::XgboostJson));
        assert_eq!(
            sniff(b"\xef\xbb\xbf {\"format\": \"emkern-sklearn\"}"),
            Some(Format::Sklearn)
        );
        assert_eq!(sniff(b"{L\x00\x00"), Some(Format::XgboostUbjson));
        assert_eq!(sniff(b"{U\x07learner"), Some(Format::XgboostUbjson));
        assert_eq!(
            sniff(b"\xef\xbb\xbf{U\x07learner"),
            Some(Format::XgboostUbjson)
        );
        assert_eq!(sniff(b"EMKF\x01"), Some(Format::Blob));
        assert_eq!(
            sniff(b"\xef\xbb\xbftree\nversion=v4\n"),
            Some(Format::LightGbm)
        );
        assert_eq!(
            sniff(b"{\"class\":\"org.apache.spark.ml.regression.GBTRegressionModel\",\"sparkVersion\":\"3.5.1\"}"),
            Some(Format::SparkMl)
        );
        assert_eq!(sniff(b"binf\x00"), Some(Format::XgboostBinary));
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xef\xbb\xbf"), None);
    }
}
