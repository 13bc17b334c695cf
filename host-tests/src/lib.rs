//! emkern host tooling (std): the `emkern` command-line tool and host-side helpers, in layers that import only
//! the layers below them (I/O, the model pipeline, training, benchmarks, then the command line in [`cli`]); see
//! `docs/architecture.md`.
#![warn(missing_docs)]

pub mod bench;
pub mod bench_attention;
pub mod bench_rope;
pub mod bench_speculative;
pub mod bench_train;
pub mod buffer;
pub mod cli;
pub mod describe;
pub mod export;
pub mod f64_inputs;
pub mod import;
pub mod io;
pub mod ir;
pub mod metrics;
pub mod model;
pub mod output;
pub mod profile;
pub mod progress;
pub mod speculative;
pub mod storage;
pub mod synth;
pub mod train;

/// The property tests' configuration (fixed seed unless asked otherwise), shared with the integration tests.
#[cfg(test)]
#[path = "../tests/common/proptest_config.rs"]
mod proptest_config;

/// Scratch directories that a passing test removes, shared with the integration tests.
#[cfg(test)]
#[path = "../tests/common/scratch.rs"]
mod scratch;
