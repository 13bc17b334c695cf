//! scikit-learn (emkern JSON) import (`import::sklearn::from_str`), then export to a blob, load and predict.

use emkern_host::export::blob;
use emkern_host::import::sklearn;

use super::util::{SPECIAL_VALUES, load_exported};

/// Runs one input.
pub fn run(data: &[u8]) {
    std::hint::black_box(emkern_host::model::sniff(data));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ensemble) = sklearn::from_str(text, "fuzz.json")
        && let Ok(bytes) = blob::write(&ensemble)
    {
        load_exported(&bytes, &SPECIAL_VALUES);
    }
}
