#!/usr/bin/env bash
# emkern's full test harness: installs what it needs, then runs every stage and fails on the first error.
#
#   1. host:    cargo fmt --check, no import circles between files (scripts/circles.py), clippy (host, aarch64
#               and thumb targets) with -D warnings, rustdoc with -D warnings, cargo test --workspace (every primitive at every level this
#               CPU has, against the scalar path and f64 oracles), the per-level self-test counts, and a smoke run
#               of the benchmark table
#   1b. python: pip install ./host-tests/python (the package, built by maturin from PyPI) and its pytest suite
#               against the installed XGBoost, LightGBM, scikit-learn, CatBoost and onnxruntime
#   2. aarch64: cargo test of emkern-simd (primitives and the forest walker), attention, RoPE, speculative
#               decoding and the SIMD forest batch engine for aarch64-unknown-linux-gnu under qemu-aarch64 (NEON
#               really executes)
#   3. thumb:   cargo build of emkern and emkern-simd for thumbv7em-none-eabihf (Cortex-M4F) and
#               thumbv8m.main-none-eabihf with -C target-cpu=cortex-m55 and `helium`, with and without defmt;
#               boards/nopanic for both, which links only if no public entry point keeps a panic path
#   4. boards:  firmware self-tests on QEMU mps2-an386 (Cortex-M4F, scalar) and mps3-an547 (Cortex-M55, Helium):
#               primitives, forest (single row and the SIMD walker), attention, RoPE and tree verification, and
#               instruction counts; the C API from C (boards/c-example on both boards, scripts/ffi-libs.sh for
#               five targets, scripts/ffi-cmake.sh) and the integer engine and compact reader on RISC-V rv32imc (QEMU virt, boards/riscv.sh)
#   5. nightly (in the background: the fuzz smoke run from stage 1b on, Miri beside stage 4): Miri over the code behind `unsafe` (scripts/miri.sh: the forest predictor's unchecked reads, the
#               scalar and AVX2 kernels, attention and RoPE) and a smoke run of every cargo-fuzz target
#               (scripts/fuzz.sh with a fixed number of executions, corpora seeded from the fixtures); the nightly
#               toolchain, Miri and cargo-fuzz are installed if missing, and the stage prints SKIPPED loudly if
#               they cannot be
#
# Needs: rustup/cargo. Installs if missing (as root, Debian): qemu-system-arm qemu-user gcc-aarch64-linux-gnu
# libc6-dev-arm64-cross cmake; rustup targets; defmt-print (cargo install). If rustup cannot download a target, the
# stages that need it print SKIPPED loudly instead of passing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
logs="$root/target/harness"
mkdir -p "$logs"
export CARGO_TERM_COLOR=never
declare -a summary=()
passed_total=0
failed_total=0
cross_ok=1

say() { printf '\n==== %s\n' "$*"; }
record() { summary+=("$(printf '%-9s %-8s %s' "$1" "$2" "$3")"); }

# Adds the "N passed; M failed" counts of cargo's test result lines (and the boards' and self-test's closing
# lines) in a log to the totals, and leaves "N passed, M failed" for that log in $counts. Runs in this shell (not
# in a $(...) subshell) so the totals persist.
count_tests() {
    local p f lines
    lines=$(grep -Eo '(test result: .*|^|^selftest: )[0-9]+ passed[;,] [0-9]+ failed' "$1" || true)
    p=$(grep -Eo '[0-9]+ passed' <<<"$lines" | awk '{s+=$1} END{print s+0}')
    f=$(grep -Eo '[0-9]+ failed' <<<"$lines" | awk '{s+=$1} END{print s+0}')
    passed_total=$((passed_total + p))
    failed_total=$((failed_total + f))
    counts="$p passed, $f failed"
}

# Runs a command, echoing its output and saving it; stops the harness on failure.
run() {
    local log=$1
    shift
    echo "+ $*"
    if ! "$@" 2>&1 | tee "$log"; then
        echo "FAILED: $*" >&2
        print_summary
        exit 1
    fi
}

print_summary() {
    say "summary"
    for line in "${summary[@]}"; do echo "$line"; done
}

# ---------------------------------------------------------------------------------------------------------------
say "setup"
harness_t0=$(date +%s)
t0=$(date +%s)
want_python=1
want_nightly=1
want_arm_gcc=1
source scripts/setup.sh
record setup ok "$(($(date +%s) - t0)) s"

# ---------------------------------------------------------------------------------------------------------------
say "1. host: format, lints, tests"
t0=$(date +%s)
run "$logs/fmt.log" cargo fmt --all -- --check
# Imports between files run one way (docs/architecture.md): no circle of files in the host crate or the core.
run "$logs/circles.log" python3 scripts/circles.py host-tests/src core/src
(cd boards && run "$logs/fmt-boards.log" cargo fmt --all -- --check)
run "$logs/clippy.log" cargo clippy --workspace --all-targets --locked -- -D warnings
# The API documentation builds without a broken or ambiguous link.
RUSTDOCFLAGS="-D warnings" run "$logs/doc.log" cargo doc -p emkern -p emkern-simd -p emkern-host --no-deps --lib --locked
if ((cross_ok)); then
    run "$logs/clippy-aarch64.log" cargo clippy -p emkern-simd -p emkern --all-targets --target aarch64-unknown-linux-gnu --locked -- -D warnings
    run "$logs/clippy-m4.log" cargo clippy -p emkern -p emkern-simd -p emkern-ffi --target thumbv7em-none-eabihf --locked -- -D warnings
    run "$logs/clippy-m55.log" cargo clippy -p emkern -p emkern-simd --target thumbv8m.main-none-eabihf --features emkern/helium,emkern/defmt --locked -- -D warnings
fi
run "$logs/test-host.log" cargo test --workspace --locked
count_tests "$logs/test-host.log"
host_counts=$counts
# The smoke runs build the CLI with the `python` profile (release optimizations without LTO), which the Python
# package's build in stage 1b then shares instead of compiling the host crate a second time.
run "$logs/bench-smoke.log" cargo run -q --profile python -p emkern-host --locked -- bench --quick --len 1024 --primitive dot,exp
run "$logs/bench-smoke-attention.log" cargo run -q --profile python -p emkern-host --locked -- bench --attention --quick --level scalar
record host ok "$host_counts (levels: $(cargo run -q --profile python -p emkern-host --locked -- levels | awk '$2=="available"{printf "%s ", $1}')) $(($(date +%s) - t0)) s"

# ---------------------------------------------------------------------------------------------------------------
# Stage 5 runs in the background: the fuzz smoke run from here (its own build, beside stages 1b to 4), Miri from
# stage 4 on. Miri's interpreter, the fuzz runs and QEMU each keep about one core busy, so on a two-core machine
# they overlap instead of taking turns. Each job writes only to its log (and "<log>.status": exit status and
# seconds); stage 5 below waits for them and prints their results. Each job is a process group of its own
# (setsid), killed if the harness stops early.
declare -a background=()
declare -A background_pid=()
stop_background() {
    local pid
    for pid in "${background[@]}"; do
        kill -- "-$pid" 2>/dev/null || true
    done
}
trap stop_background EXIT
start_background() {
    local log=$1
    shift
    rm -f "$log.status"
    setsid bash -c 't0=$(date +%s); status=0; "$@" >"$0" 2>&1 || status=$?; echo "$status $(($(date +%s) - t0))" >"$0.status"' \
        "$log" "$@" </dev/null &
    background+=($!)
    background_pid[$log]=$!
}
if ((fuzz_ok)); then
    # 20 000 executions per target (the seed corpora included): every parser and argument check on the seeds and
    # on mutants of them, under AddressSanitizer and debug assertions. The long runs are scripts/fuzz.sh's default.
    start_background "$logs/fuzz-smoke.log" env FUZZ_RUNS=20000 bash scripts/fuzz.sh
fi

# ---------------------------------------------------------------------------------------------------------------
say "1b. Python package: pip install ./host-tests/python, then its pytest suite"
t0=$(date +%s)
if [ -n "${EMKERN_PYTHON:-}" ] && "$EMKERN_PYTHON" -c "import pytest" >/dev/null 2>&1; then
    # As a user installs it (maturin from PyPI in pip's isolated build environment).
    run "$logs/python-install.log" "$EMKERN_PYTHON" -m pip install --disable-pip-version-check --force-reinstall --no-deps ./host-tests/python
    # Run from the tests' folder so that `import emkern` is the installed package, not the source tree.
    (cd host-tests/python/tests && run "$logs/python-tests.log" "$EMKERN_PYTHON" -m pytest -q -rs -p no:cacheprovider -m "not pyspark" .)
    py_passed=$(grep -Eo '[0-9]+ passed' "$logs/python-tests.log" | tail -1 | awk '{print $1}' || true)
    py_skipped=$(grep -Eo '[0-9]+ skipped' "$logs/python-tests.log" | tail -1 | awk '{print $1}' || true)
    passed_total=$((passed_total + ${py_passed:-0}))
    if [ "${py_skipped:-0}" -gt 0 ]; then
        record python SKIPPED "!!! ${py_passed:-0} passed, ${py_skipped} SKIPPED (a framework is missing: see python-tests.log) !!!"
    else
        record python ok "${py_passed:-0} passed, 0 failed $(($(date +%s) - t0)) s"
    fi
else
    record python SKIPPED "!!! no Python with pytest (target/pyenv): the Python package NOT built or tested !!!"
fi

# ---------------------------------------------------------------------------------------------------------------
say "2. aarch64 under qemu-aarch64"
t0=$(date +%s)
if ((cross_ok)); then
    run "$logs/test-aarch64.log" cargo test -p emkern-simd --target aarch64-unknown-linux-gnu --locked
    # The attention kernel, the RoPE rotations and tree verification through every level this CPU has (scalar and
    # NEON) against the f64 references.
    run "$logs/test-aarch64-attention.log" cargo test -p emkern --test attention --target aarch64-unknown-linux-gnu --locked
    run "$logs/test-aarch64-speculative.log" cargo test -p emkern-host --test speculative --target aarch64-unknown-linux-gnu --locked
    cat "$logs/test-aarch64-speculative.log" >>"$logs/test-aarch64-attention.log"
    # The SIMD batch engine and the single-row walker on NEON: every framework fixture they plan (with NaN put in)
    # and random models, bit for bit with the single-row predict.
    run "$logs/test-aarch64-forest.log" cargo test -p emkern-host --test forest_batch_simd --target aarch64-unknown-linux-gnu --locked
    cat "$logs/test-aarch64-forest.log" >>"$logs/test-aarch64-attention.log"
    # RoPE: the rotation tests (every level, both layouts, f16/bf16, strides); the table-precision sweeps over
    # 2^20 positions test no SIMD code and take minutes under emulation, so they run on the host only.
    run "$logs/test-aarch64-rope.log" cargo test -p emkern --test rope --target aarch64-unknown-linux-gnu --locked -- \
        application every_level inverse layouts half_storage strided
    cat "$logs/test-aarch64-rope.log" >>"$logs/test-aarch64-attention.log"
    cat "$logs/test-aarch64-attention.log" >>"$logs/test-aarch64.log"
    # The NEON level ran: the primitives' self-test at that level, and the forest walker's tests, one of which
    # exists only on aarch64 and fails unless the NEON level walks four rows per vector (its own walker).
    for line in 'selftest level neon' 'test neon_level_takes_the_neon_walker ... ok' \
        'test deep_forests_with_nan_rows_match_the_scalar_twin ... ok'; do
        grep -qF "$line" "$logs/test-aarch64.log" || { echo "NEON level did not run on aarch64 (no '$line')" >&2; exit 1; }
    done
    count_tests "$logs/test-aarch64.log"
    record aarch64 ok "$counts $(($(date +%s) - t0)) s"
else
    record aarch64 SKIPPED "!!! rustup target missing: NEON paths NOT executed !!!"
fi

# ---------------------------------------------------------------------------------------------------------------
say "3. thumb builds (Cortex-M4F, Cortex-M55 + Helium)"
t0=$(date +%s)
if ((cross_ok)); then
    for feat in "" "defmt"; do
        run "$logs/build-m4.log" cargo build -p emkern -p emkern-simd --release --target thumbv7em-none-eabihf --locked ${feat:+--features emkern/$feat}
        run "$logs/build-m55.log" cargo build -p emkern -p emkern-simd --release --target thumbv8m.main-none-eabihf --locked --features "emkern/helium${feat:+,emkern/$feat}"
    done
    # Panic freedom: a firmware calling every public entry point of emkern and emkern-simd with opaque inputs,
    # whose panic handler references an undefined symbol, so the link fails if any panic path survives.
    (cd boards && run "$logs/nopanic-m4.log" cargo build -p emkern-nopanic --release --target thumbv7em-none-eabihf --locked)
    (cd boards && run "$logs/nopanic-m55.log" cargo build -p emkern-nopanic --release --target thumbv8m.main-none-eabihf --features helium --locked)
    # The compact reader alone: links only without panic paths, predicts as the general reader (QEMU, stage 4).
    (cd boards && run "$logs/compact-m4-build.log" cargo build -p emkern-compact --release --target thumbv7em-none-eabihf --locked)
    # The Rust firmware for real boards (nRF52840, RP2040, STM32H563): builds for each, and a corrupted model must
    # fail the build with the reader's message (the boards are not here to run it).
    run "$logs/rust-example.log" bash boards/rust-example.sh
    record thumb ok "4 builds + panic-free link (M4F, M55) $(($(date +%s) - t0)) s"
else
    record thumb SKIPPED "!!! rustup targets missing: thumb builds NOT done !!!"
fi

# Miri in the background beside stage 4 (see stage 5).
if ((miri_ok)); then
    start_background "$logs/miri.log" bash scripts/miri.sh
fi

# ---------------------------------------------------------------------------------------------------------------
say "4. boards under qemu-system-arm"
t0=$(date +%s)
if ((cross_ok)); then
    run "$logs/board-m4.log" bash boards/run.sh an386 --release
    run "$logs/board-m55.log" bash boards/run.sh an547 --release
    # The Helium forest walker ran on the M55 (checked against the scalar level) and its batch was counted.
    grep -q '^forest batch helium: ' "$logs/board-m55.log" || { echo "Helium forest walker not measured on the M55" >&2; exit 1; }
    run "$logs/compact-m4.log" bash boards/compact.sh
    # The integer engine and the compact reader on RISC-V rv32imc (QEMU virt), bit for bit as on the host, with
    # instructions per prediction (SKIPPED without qemu-system-riscv32 or the rustup target).
    run "$logs/riscv.log" bash boards/riscv.sh
    grep -q '^PASS riscv' "$logs/riscv.log" || record riscv SKIPPED "!!! RISC-V firmware NOT run (see riscv.log) !!!"
    # The C API from a C firmware (no Rust in its sources, the model as generated C): the demo model's rows on the
    # Cortex-M4F and the Cortex-M55.
    # The model's C files come from the CLI stage 1 built (profile `python`), not from a release build of it.
    EMKERN="$root/target/python/emkern" run "$logs/c-example.log" bash boards/c-example.sh
    # Two images per board (predict.elf: the forest; kernels.elf: attention, RoPE, Medusa), each ending in PASS.
    [ "$(grep -c '^PASS' "$logs/c-example.log")" -eq 4 ] || record c-example SKIPPED "!!! C firmware example NOT run on both boards (see c-example.log) !!!"
    # The C API's static library and header for the five targets (target/ffi/<target>/), with their sizes.
    run "$logs/ffi-libs.log" bash scripts/ffi-libs.sh
    # The C API through CMake: the host example, and the C firmware with an arm-none-eabi toolchain file (both cores).
    EMKERN="$root/target/python/emkern" run "$logs/ffi-cmake.log" bash scripts/ffi-cmake.sh
    grep -q '^PASS ffi-cmake' "$logs/ffi-cmake.log" || record ffi-cmake SKIPPED "!!! CMake integration NOT tested (see ffi-cmake.log) !!!"
    count_tests "$logs/board-m4.log"
    m4=$counts
    count_tests "$logs/board-m55.log"
    record boards ok "m4f: $m4; m55: $counts $(($(date +%s) - t0)) s"
else
    record boards SKIPPED "!!! rustup targets missing: firmware self-tests NOT run !!!"
fi

# ---------------------------------------------------------------------------------------------------------------
say "5. nightly: Miri, fuzz smoke run (run in the background: fuzz from stage 1b, Miri from stage 4)"
# Waits for a background job; prints its log's tail; stops the harness when it failed. Leaves its seconds in $secs.
finish_background() {
    local log=$1 status
    wait "${background_pid[$log]}" 2>/dev/null || true
    read -r status secs <"$log.status" 2>/dev/null || { status=1; secs=0; }
    echo "+ $(basename "$log") (tail)"
    tail -n 25 "$log"
    if [ "$status" != 0 ]; then
        echo "FAILED: $(basename "$log") (exit $status; the whole log: $log)" >&2
        print_summary
        exit 1
    fi
}
if ((miri_ok)); then
    finish_background "$logs/miri.log"
    count_tests "$logs/miri.log"
    record miri ok "$counts $secs s (in the background)"
else
    record miri SKIPPED "!!! no nightly toolchain with Miri: undefined-behaviour checks NOT run !!!"
fi
if ((fuzz_ok)); then
    finish_background "$logs/fuzz-smoke.log"
    record fuzz ok "$(grep -c "^== " "$logs/fuzz-smoke.log") targets x 20000 executions, no crash $secs s (in the background)"
else
    record fuzz SKIPPED "!!! no nightly toolchain with cargo-fuzz: fuzz smoke run NOT done !!!"
fi
record total ok "$(($(date +%s) - harness_t0)) s"

print_summary
echo
echo "total: $passed_total passed, $failed_total failed"
[ "$failed_total" -eq 0 ]
