//! XGBoost's legacy binary booster format (`import::xgboost::from_legacy_binary_bytes`, the format of XGBoost4J-Spark
//! 1.x/2.0 models and of `save_raw("deprecated")`), then export to a blob, load and predict.

use emkern_host::export::blob;
use emkern_host::import::xgboost;

use super::util::{SPECIAL_VALUES, load_exported};

/// Runs one input.
pub fn run(data: &[u8]) {
    std::hint::black_box(emkern_host::model::sniff(data));
    if let Ok(ensemble) = xgboost::from_legacy_binary_bytes(data)
        && let Ok(bytes) = blob::write(&ensemble)
    {
        load_exported(&bytes, &SPECIAL_VALUES);
    }
}
