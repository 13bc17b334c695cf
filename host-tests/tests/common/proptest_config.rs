//! The property tests' configuration: the same cases on every run unless asked otherwise.
//!
//! By default a property test draws its cases from a fixed seed, so the test suite (CI included) checks the same
//! cases on every run and on every machine and cannot fail by chance; failures found earlier stay in the
//! `*.proptest-regressions` files beside the tests and are replayed first. A long random run is started by hand
//! (`scripts/proptest-long.sh`), through two environment variables:
//! - `EMKERN_PROPTEST_SEED`: a number to draw from that seed, or `random` for a new seed on each test, printed so
//!   a failure can be replayed with `EMKERN_PROPTEST_SEED=<seed>`;
//! - `EMKERN_PROPTEST_CASES`: a factor on every test's number of cases (default 1).
//!
//! Under Miri (`scripts/miri.sh`), which interprets every operation about 10⁴ times slower, a test runs at most
//! 6 cases.
#![allow(dead_code)]

use proptest::test_runner::{Config, RngSeed};

/// The seed of the default runs.
pub const FIXED_SEED: u64 = 0x0065_6d6b_6572_6e01;

/// A proptest configuration running `cases` cases (times `EMKERN_PROPTEST_CASES`) from the fixed seed, or from
/// the seed `EMKERN_PROPTEST_SEED` names.
pub fn proptest_config(cases: u32) -> Config {
    let factor = std::env::var("EMKERN_PROPTEST_CASES")
        .ok()
        .map(|v| {
            v.parse::<u32>()
                .unwrap_or_else(|_| panic!("EMKERN_PROPTEST_CASES={v:?} is not a positive integer"))
        })
        .unwrap_or(1)
        .max(1);
    let seed = match std::env::var("EMKERN_PROPTEST_SEED").ok().as_deref() {
        None | Some("") => FIXED_SEED,
        Some("random") => {
            use std::hash::{BuildHasher, Hasher};
            let seed = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            eprintln!("proptest: EMKERN_PROPTEST_SEED={seed}");
            seed
        }
        Some(v) => v.parse::<u64>().unwrap_or_else(|_| {
            panic!("EMKERN_PROPTEST_SEED={v:?} is neither a number nor \"random\"")
        }),
    };
    Config {
        cases: if cfg!(miri) {
            cases.min(6)
        } else {
            cases.saturating_mul(factor)
        },
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}
