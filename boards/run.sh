#!/usr/bin/env bash
# Builds the self-test firmware for one emulated board and runs it under QEMU.
#
#   run.sh <board> [--release]
#
# <board>: an386 (mps2-an386, Cortex-M4F, scalar level) or an547 (mps3-an547, Cortex-M55, scalar and Helium).
# Prints the decoded defmt log (per-level and per-primitive counts, the instruction-count table, and finally a
# line `N passed, M failed`) and exits with QEMU's status: 0 only if every case passed.
set -euo pipefail
cd "$(dirname "$0")"

board="${1:?usage: run.sh <an386|an547> [--release]}"
profile=debug
cargo_profile=()
case "${2:-}" in
  --release) profile=release; cargo_profile=(--release) ;;
  "") ;;
  *) echo "run.sh: unknown option $2" >&2; exit 2 ;;
esac

case "$board" in
  an386|mps2-an386|m4) target=thumbv7em-none-eabihf; features=() ;;
  an547|mps3-an547|m55) target=thumbv8m.main-none-eabihf; features=(--features helium) ;;
  *) echo "run.sh: unknown board $board (an386 or an547)" >&2; exit 2 ;;
esac

# This workspace keeps its own target directory (boards/target), whatever CARGO_TARGET_DIR says for the root one.
export CARGO_TARGET_DIR="$PWD/target"
cargo build -p emkern-selftest --target "$target" "${features[@]}" "${cargo_profile[@]}"
exec ./qemu.sh "$CARGO_TARGET_DIR/$target/$profile/emkern-selftest"
