#!/usr/bin/env bash
# Builds the no-panic firmware (nopanic/README.md) in release for one or both Cortex-M targets — the link fails if
# any panic path survives in emkern or emkern-simd — and runs it under QEMU, which must exit with status 0.
#
#   nopanic.sh [an386|an547|all]     (default: all)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$PWD/target"

boards=("${1:-all}")
[ "${boards[0]}" = all ] && boards=(an386 an547)
for board in "${boards[@]}"; do
    case "$board" in
        an386) target=thumbv7em-none-eabihf; cpu=cortex-m4; machine=mps2-an386; features=() ;;
        an547) target=thumbv8m.main-none-eabihf; cpu=cortex-m55; machine=mps3-an547; features=(--features helium) ;;
        *) echo "nopanic.sh: unknown board $board (an386, an547 or all)" >&2; exit 2 ;;
    esac
    echo "nopanic: $target ${features[*]}: release build (links only without panic paths)"
    log=$(mktemp)
    if ! cargo build -p emkern-nopanic --release --target "$target" "${features[@]}" 2>&1 | tee "$log"; then
        if grep -q emkern_panic_path_survived "$log"; then
            echo "nopanic: a panic path survives in emkern/emkern-simd on $target (see boards/nopanic/README.md)" >&2
        fi
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
    elf="$CARGO_TARGET_DIR/$target/release/emkern-nopanic"
    echo "nopanic: linked without panic paths; running on $machine ($cpu)"
    timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm -cpu "$cpu" -machine "$machine" -nographic \
        -semihosting-config enable=on,target=native -kernel "$elf"
    echo "nopanic: $board: every entry point called, exit status 0"
done
