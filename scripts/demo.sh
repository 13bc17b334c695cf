#!/usr/bin/env bash
# emkern's main job: import the bundled XGBoost model (Wisconsin breast-cancer data), run the held-out rows through
# the no_std core on this machine and report accuracy, agreement with XGBoost, bytes and time per row; then run
# the same model and every SIMD kernel in firmware on an emulated Cortex-M55 with Helium (QEMU mps3-an547).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo run -q --release -p emkern-host --locked -- demo
echo
if ((cross_ok)); then
    bash boards/run.sh an547 --release
else
    echo "!!!! SKIPPED the Cortex-M55 firmware: rustup could not install thumbv8m.main-none-eabihf !!!!"
fi
