#!/usr/bin/env bash
# Builds the Rust board example (boards/rust-example) for its three boards — nRF52840 (thumbv7em-none-eabihf),
# RP2040 (thumbv6m-none-eabi), STM32H563 (thumbv8m.main-none-eabihf) — and checks that a corrupted model fails
# the build with the reader's message. The boards are real hardware (run with probe-rs, see
# rust-example/README.md); nothing here runs them.
#
#   rust-example.sh
set -euo pipefail
cd "$(dirname "$0")/rust-example"
export CARGO_TARGET_DIR="$PWD/../target"
for board in nrf52840:thumbv7em-none-eabihf rp2040:thumbv6m-none-eabi stm32h563:thumbv8m.main-none-eabihf; do
    feature=${board%%:*}
    target=${board#*:}
    cargo build --release --features "$feature" --target "$target" --locked
    echo "rust-example: $feature ($target): built, $(arm-none-eabi-size "$CARGO_TARGET_DIR/$target/release/emkern-rust-example" | awk 'NR==2{print $1 " bytes of code and read-only data"}')"
done

# A compact-layout model: emkern-build also generates `model_forest()` (the view without run-time validation),
# which must compile in the firmware.
EMKERN_MODEL="$PWD/../compact/data/model.emkc" cargo build --release --features nrf52840 \
    --target thumbv7em-none-eabihf --locked
echo "rust-example: a compact model builds (with its generated model_forest())"

# A model with one flipped byte must not build.
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
cp ../selftest/data/model.emk "$bad/model.emk"
printf '\x55' | dd of="$bad/model.emk" bs=1 seek=100 conv=notrunc status=none
if EMKERN_MODEL="$bad/model.emk" cargo build --release --features nrf52840 --target thumbv7em-none-eabihf \
    --locked >"$bad/log" 2>&1; then
    echo "rust-example: FAIL: a corrupted model built" >&2
    exit 1
fi
if ! grep -q "model.emk: checksum mismatch" "$bad/log"; then
    echo "rust-example: FAIL: the failed build does not name the file and the checksum:" >&2
    cat "$bad/log" >&2
    exit 1
fi
echo "rust-example: a corrupted model fails the build: $(grep -m1 'checksum mismatch' "$bad/log")"
echo "PASS rust-example"
