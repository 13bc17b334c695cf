#!/usr/bin/env bash
# Builds the compact-reader firmware (boards/compact) in release for the Cortex-M4F — the link fails if a panic
# path survives in it — three times: with the lean calls (default: `new_without_checksum`, `predict_with`), with
# `--features prevalidated` (`new_unchecked`: validated at build time) and with `--features full-api` (`new`
# with the CRC-32, `predict`). Each runs under QEMU (exit status 0: every row
# predicted as the general reader does, bit for bit), and the sizes of the compact reader's symbols are printed.
# `CARGO_PROFILE_RELEASE_OPT_LEVEL=s` measures at opt-level "s" (the boards' release profile is 3).
#
#   compact.sh
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$PWD/target"
target=thumbv7em-none-eabihf
elf="$CARGO_TARGET_DIR/$target/release/emkern-compact"
for features in "" prevalidated full-api; do
    cargo build -p emkern-compact --release --target "$target" --locked ${features:+--features "$features"}
    echo "compact ${features:-lean}: linked without panic paths; code of the compact reader (bytes, hex):"
    arm-none-eabi-nm --size-sort -S -C "$elf" | grep -E 'compact::|expf' || true
    timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
        -semihosting-config enable=on,target=native -kernel "$elf"
    echo "compact ${features:-lean}: an386: every row bit-identical to the general reader, exit status 0"
done
