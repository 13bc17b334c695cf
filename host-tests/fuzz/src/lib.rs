//! What each fuzz target runs, one module per target, each with `run(&[u8])`. The libFuzzer entry points in
//! `fuzz_targets/` call these; `host-tests/tests/fuzz_regressions.rs` includes this file on stable Rust and replays
//! the committed seeds and every crash input ever found (`regressions/<target>/`) through the same code.
//!
//! A target fails only by panicking (or, under the sanitizers, by reading out of bounds): malformed input must
//! give an error. Where a public API promises more (an error writes nothing, batch prediction equals row-by-row
//! prediction, an exported blob loads), the target asserts it.

pub mod attention;
pub mod compact_forest;
pub mod forest;
pub mod import_lightgbm;
pub mod import_sklearn;
pub mod import_xgboost_binary;
pub mod import_xgboost_json;
pub mod import_xgboost_ubjson;
pub mod int_forest;
pub mod read_csv;
pub mod read_npy;
pub mod read_parquet;
pub mod rope;
pub mod speculative;
pub mod util;

/// A fuzz target: its name and its entry point, which takes the fuzzer's bytes.
pub type Target = (&'static str, fn(&[u8]));

/// Every target's name and entry point, in the order `scripts/fuzz.sh` runs them.
pub const TARGETS: [Target; 14] = [
    ("forest", forest::run),
    ("compact_forest", compact_forest::run),
    ("int_forest", int_forest::run),
    ("import_xgboost_json", import_xgboost_json::run),
    ("import_xgboost_ubjson", import_xgboost_ubjson::run),
    ("import_xgboost_binary", import_xgboost_binary::run),
    ("import_lightgbm", import_lightgbm::run),
    ("import_sklearn", import_sklearn::run),
    ("read_csv", read_csv::run),
    ("read_parquet", read_parquet::run),
    ("read_npy", read_npy::run),
    ("attention", attention::run),
    ("rope", rope::run),
    ("speculative", speculative::run),
];
