//! XGBoost UBJSON import (`import::xgboost::from_ubjson_bytes`), then export to a blob, load and predict.

use emkern_host::export::blob;
use emkern_host::import::xgboost;

use super::util::{SPECIAL_VALUES, load_exported};

/// Runs one input.
pub fn run(data: &[u8]) {
    std::hint::black_box(emkern_host::model::sniff(data));
    if let Ok(ensemble) = xgboost::from_ubjson_bytes(data)
        && let Ok(bytes) = blob::write(&ensemble)
    {
        load_exported(&bytes, &SPECIAL_VALUES);
    }
}
