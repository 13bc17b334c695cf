#!/usr/bin/env bash
# Builds the compact-reader firmware (boards/compact) in release for the Cortex-M4F — the link fails if a panic
# path survives in it — runs it under QEMU (exit status 0: every row predicted as the general reader does, bit for
# bit) and prints the sizes of the compact reader's symbols.
#
#   compact.sh
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$PWD/target"
target=thumbv7em-none-eabihf
cargo build -p emkern-compact --release --target "$target" --locked
elf="$CARGO_TARGET_DIR/$target/release/emkern-compact"
echo "compact: linked without panic paths; code of the compact reader (bytes, hex):"
arm-none-eabi-nm --size-sort -S -C "$elf" | grep -E 'compact::|expf' || true
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf"
echo "compact: an386: every row bit-identical to the general reader, exit status 0"
