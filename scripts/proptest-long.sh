#!/usr/bin/env bash
# A long random run of every property test, started by hand (CI runs the same tests from a fixed seed):
#
#   bash scripts/proptest-long.sh [FACTOR] [cargo test arguments…]
#
# Each property test runs FACTOR (default 20) times its usual number of cases from a new random seed, which
# the failing test prints (`proptest: EMKERN_PROPTEST_SEED=N`); replay it with
# `EMKERN_PROPTEST_SEED=N EMKERN_PROPTEST_CASES=FACTOR cargo test …`. Proptest also stores each shrunk failure in
# the `*.proptest-regressions` file beside the test, which the default runs replay first: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
factor=${1:-20}
shift || true
export EMKERN_PROPTEST_SEED=random EMKERN_PROPTEST_CASES=$factor
if (($#)); then
    exec cargo test --locked "$@"
fi
cargo test --locked -p emkern-simd --test levels
cargo test --locked -p emkern-host --lib
cargo test --locked -p emkern --test attention --test rope
cargo test --locked -p emkern-host --test speculative --test forest_blob \
    --test train --test train_boost --test lightgbm_fixtures --test sklearn_fixtures
