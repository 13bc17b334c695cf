#!/usr/bin/env bash
# Builds the RISC-V firmware (boards/riscv) in release for rv32imc and runs it on QEMU's `virt` machine
# (`-bios none`, semihosting, `-icount shift=0` so that `minstret` counts instructions): the integer engine and
# the compact reader predict the demo model's rows, each bit for bit as on the host, and print their instructions
# per prediction. Exits non-zero on any mismatch; prints SKIPPED and exits 0 when qemu-system-riscv32 or the
# rustup target riscv32imc-unknown-none-elf is missing.
#
#   riscv.sh
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$PWD/target"
target=riscv32imc-unknown-none-elf
if ! command -v qemu-system-riscv32 >/dev/null; then
    echo "!!!! SKIPPED riscv: qemu-system-riscv32 not found (Debian package qemu-system-misc) !!!!" >&2
    echo "SKIPPED riscv"
    exit 0
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "!!!! SKIPPED riscv: rustup target $target not installed !!!!" >&2
    echo "SKIPPED riscv"
    exit 0
fi
cargo build -p emkern-riscv --release --target "$target" --locked
elf="$CARGO_TARGET_DIR/$target/release/emkern-riscv"
timeout "${QEMU_TIMEOUT:-120}" qemu-system-riscv32 -machine virt -bios none -nographic -monitor none \
    -serial none -icount shift=0 -semihosting-config enable=on,target=native -kernel "$elf"
echo "riscv: virt (rv32imc): every row of the integer engine and the compact reader bit-identical, exit status 0"
