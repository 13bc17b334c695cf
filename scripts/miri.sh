#!/usr/bin/env bash
# Runs the code behind emkern's `unsafe` blocks under Miri (nightly), which reports undefined behaviour: reads out
# of bounds or misaligned, out-of-bounds pointer arithmetic, uninitialized memory, aliasing violations.
#
#   bash scripts/miri.sh
#
# What runs (about 3 minutes on 2 cores once Miri's sysroot is built):
#   - emkern's unit tests;
#   - core/tests/unsafe_paths.rs: the forest predictor's unchecked reads (the demo model against XGBoost's
#     probabilities; LightGBM linear-tree and categorical, scikit-learn multi-output f64 and XGBoost categorical
#     and vector-leaf models, row by row and batched; the compact and integer readers' walks), attention at every level against f64 (f32 and bf16 keys,
#     masks, sinks, split spans), RoPE rotation at every level (f32 and bf16 rows, both layouts);
#   - core/ffi/tests/api.rs: the C API's pointer checks and its in-place storage of the validated view (a sample of
#     the demo model's rows against XGBoost's probabilities, misuse of every kind);
#   - emkern-simd's unit tests and the kernels of tests/levels.rs that are not covered above, with Miri-sized
#     lengths: every tail length of dot, sum, max, exp, gemm, transpose, dot_rows, axpy/scale, rotations.
#
# Levels: on x86_64 the build enables AVX2, FMA and F16C (`-C target-feature`), which Miri then reports as
# present, so the scalar and the AVX2 kernels both run. Not checked under Miri: AVX-512 (Miri implements few of
# its intrinsics, e.g. not `llvm.x86.avx512.max.ps.512`), the F16C conversions of the AVX2 level (Miri has no
# `vcvtps2ph`/`vcvtph2ps`; f16 runs at the scalar level there), NEON and Helium (other architectures); the fuzz
# targets run those under AddressSanitizer (x86_64) and the aarch64/Cortex-M stages run them natively.
set -euo pipefail
cd "$(dirname "$0")/.."
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
if [ "$(uname -m)" = x86_64 ]; then
    export RUSTFLAGS="-C target-feature=+avx2,+fma,+f16c"
fi
run() {
    echo "+ $*"
    "$@"
}
run cargo +nightly miri test -p emkern --lib
run cargo +nightly miri test -p emkern --test unsafe_paths
run cargo +nightly miri test -p emkern-ffi --test api
run cargo +nightly miri test -p emkern-simd --lib
run cargo +nightly miri test -p emkern-simd --test levels -- \
    every_tail_length gemm_matches_oracle empty_products transpose_matches_oracle dot_rows_matches_oracle \
    axpy_and_scale_match_oracle rotations_match_oracle levels_are_consistent
