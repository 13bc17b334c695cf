//! LightGBM text import (`import::lightgbm::from_str`), then export to a blob, load and predict.

use emkern_host::export::blob;
use emkern_host::import::lightgbm;

use super::util::{SPECIAL_VALUES, load_exported};

/// Runs one input.
pub fn run(data: &[u8]) {
    std::hint::black_box(emkern_host::model::sniff(data));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ensemble) = lightgbm::from_str(text, "fuzz.txt")
        && let Ok(bytes) = blob::write(&ensemble)
    {
        load_exported(&bytes, &SPECIAL_VALUES);
    }
}
