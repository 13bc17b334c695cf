//! emkern host tooling (std): the `emkern` command-line tool and host-side helpers.
#![warn(missing_docs)]

use emkern_simd::{Level, Simd};

/// One line per instruction-set level: its name and whether this CPU and build can run it, best level marked.
pub fn describe_levels() -> String {
    let best = Simd::best().level();
    let mut s = String::new();
    for level in Level::ALL {
        let state = if level == best {
            "available (selected)"
        } else if level.is_available() {
            "available"
        } else {
            "not available"
        };
        s.push_str(&format!("{:<7} {state}\n", level.name()));
    }
    s
}

pub mod attend;
pub mod bench;
pub mod bench_attention;
pub mod bench_rope;
pub mod bench_speculative;
pub mod bench_train;
pub mod buffer;
pub mod codegen_cli;
pub mod describe;
pub mod evaluate;
pub mod export;
pub mod f64_inputs;
pub mod import;
pub mod io;
pub mod ir;
pub mod medusa_cli;
pub mod metrics;
pub mod model;
pub mod output;
pub mod profile;
pub mod progress;
pub mod rope_cli;
pub mod synth;
pub mod train;

/// The property tests' configuration (fixed seed unless asked otherwise), shared with the integration tests.
#[cfg(test)]
#[path = "../tests/common/proptest_config.rs"]
mod proptest_config;
