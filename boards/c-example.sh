#!/usr/bin/env bash
# Builds the C firmware example (c-example/README.md: emkern's C API and the demo model as generated C, no Rust in
# its sources; and kernels.c, the attention, RoPE and Medusa calls) for QEMU's mps2-an386 (Cortex-M4F) and mps3-an547 (Cortex-M55) and runs it on both; each run must
# exit with status 0. The link itself proves that no panic path is left in the library code the firmware reaches.
#
#   c-example.sh [an386|an547 ...]    # default: both boards
set -euo pipefail
cd "$(dirname "$0")/c-example"
for tool in arm-none-eabi-gcc qemu-system-arm make; do
    if ! command -v "$tool" > /dev/null; then
        echo "SKIPPED c-example: $tool not found" >&2
        exit 0
    fi
done
boards=("$@")
((${#boards[@]})) || boards=(an386 an547)
for board in "${boards[@]}"; do
    echo "== c-example on $board"
    make --no-print-directory BOARD="$board" run
done
