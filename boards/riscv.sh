#!/usr/bin/env bash
# Builds the RISC-V firmware (boards/riscv) in release for rv32imc and runs it on QEMU's `virt` machine
# (`-bios none`, semihosting, `-icount shift=0` so that `minstret` counts instructions): the integer engine and
# the compact reader predict the demo model's rows, each bit for bit as on the host, and print their instructions
# per prediction. A first image with the integer engine alone (feature `int-only`) must link no soft-float
# routine and no libm function (checked with `nm`). Exits non-zero on any mismatch; prints SKIPPED and exits 0 when qemu-system-riscv32 or the
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
if ! rustup target list --installed 2>/dev/null | grep -x "$target" >/dev/null; then
    echo "!!!! SKIPPED riscv: rustup target $target not installed !!!!" >&2
    echo "SKIPPED riscv"
    exit 0
fi
elf="$CARGO_TARGET_DIR/$target/release/emkern-riscv"
run_qemu() {
    timeout "${QEMU_TIMEOUT:-120}" qemu-system-riscv32 -machine virt -bios none -nographic -monitor none \
        -serial none -icount shift=0 -semihosting-config enable=on,target=native -kernel "$1"
}

# The integer engine alone: the image must link no soft-float routine (compiler-builtins' __addsf3, __ltsf2,
# __floatsisf, … and their double twins) and no libm function, since that engine compares integer keys and adds
# fixed-point sums. The full image below links them for the compact reader, which shows the check sees them.
cargo build -p emkern-riscv --release --target "$target" --locked --features int-only
cp "$elf" "$elf-int-only"
soft_float='^__[a-z0-9_]*[sd]f[0-9]*$|^(exp|log|pow|sqrt)f?$'
nm_tool=$(command -v nm || command -v arm-none-eabi-nm || command -v llvm-nm || true)
if [ -z "$nm_tool" ]; then
    echo "!!!! SKIPPED riscv int-only symbol check: no nm (binutils) found !!!!" >&2
else
    linked=$("$nm_tool" "$elf-int-only" | awk '$2 ~ /^[TtWw]$/ {print $3}' | grep -E "$soft_float" || true)
    if [ -n "$linked" ]; then
        echo "FAIL riscv: the integer engine's image links float routines: $(echo $linked)" >&2
        exit 1
    fi
    echo "riscv: the integer engine's image links no soft-float routine and no libm ($("$nm_tool" "$elf-int-only" | wc -l) symbols checked)"
fi
run_qemu "$elf-int-only"

cargo build -p emkern-riscv --release --target "$target" --locked
if [ -n "$nm_tool" ]; then
    # The whole list first, then the test: `grep -q` would stop reading at its first match, and under pipefail
    # the writer's broken pipe would fail the pipeline (a flaky "found nothing").
    full=$("$nm_tool" "$elf" | awk '$2 ~ /^[TtWw]$/ {print $3}' | grep -E "$soft_float" || true)
    if [ -z "$full" ]; then
        echo "FAIL riscv: the float check found no soft-float routine in the full image either: it is not working" >&2
        exit 1
    fi
    echo "riscv: the full image links $(echo "$full" | wc -l) soft-float and libm routines (the check sees them)"
fi
run_qemu "$elf"
echo "riscv: virt (rv32imc): every row of the integer engine and the compact reader bit-identical, exit status 0"
