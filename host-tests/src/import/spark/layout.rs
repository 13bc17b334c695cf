//! How a Spark ML model directory is recognised: the one file every saved model has, told apart from other
//! formats. A leaf module (it refers to nothing else in the crate), so the format sniffer can use it.

use std::path::{Path, PathBuf};

/// The metadata file of a model directory, relative to it.
pub const METADATA: &str = "metadata/part-00000";

/// Whether `dir` looks like a Spark ML model directory: it has a `metadata/part-00000` file.
pub fn looks_like_dir(dir: &Path) -> bool {
    dir.join(METADATA).is_file()
}

/// Whether `bytes` look like a Spark ML metadata file (a JSON object naming a `sparkVersion` and an
/// `org.apache.spark` or XGBoost4J-Spark `ml.dmlc.xgboost4j` class), so that the file itself can be told apart from an XGBoost JSON model.
pub fn looks_like_metadata(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    head.trim_start().starts_with('{')
        && head.contains("\"sparkVersion\"")
        && (head.contains("\"org.apache.spark.") || head.contains("\"ml.dmlc.xgboost4j."))
}

/// The model directory a path names: the directory itself, or the directory of a `metadata/part-00000` file.
pub fn model_dir(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        return Some(path.to_path_buf());
    }
    let parent = path.parent()?;
    (path.file_name()? == "part-00000" && parent.file_name()? == "metadata")
        .then(|| parent.parent().map(Path::to_path_buf))
        .flatten()
}
