#!/usr/bin/env bash
# emkern's main job (until the tree-ensemble demo lands): build the firmware self-test and run it on an emulated
# Cortex-M55 with Helium (QEMU mps3-an547). Every primitive runs at the scalar and Helium levels against the
# scalar reference on-device, with per-kernel instruction counts; then the host's levels and a short benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
if ((cross_ok)); then
    bash boards/run.sh an547 --release
else
    echo "!!!! SKIPPED the Cortex-M55 firmware: rustup could not install thumbv8m.main-none-eabihf !!!!"
fi
echo
echo "host CPU levels:"
cargo run -q --release -p emkern-host --locked -- levels
cargo run -q --release -p emkern-host --locked -- bench --len 4096 --primitive dot,exp,f32_to_f16
