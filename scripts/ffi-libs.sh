#!/usr/bin/env bash
# Builds the C API (crate emkern-ffi, release profile) as a static library for firmware and host targets, each
# into target/ffi/<target>/ with the header: libemkern_ffi.a and emkern.h. Prints each library's size: the archive
# (with debug information) and the code of its members.
#
#   ffi-libs.sh [TARGET ...]
#
# Default targets: thumbv6m-none-eabi (Cortex-M0/M0+), thumbv7em-none-eabihf (Cortex-M4F/M7),
# thumbv8m.main-none-eabihf (Cortex-M55, built with -C target-cpu=cortex-m55 from .cargo/config.toml, so LLVM may
# use Helium (MVE) instructions; emkern-simd's `helium` feature gates hand-written kernels that the C API does not
# call), aarch64-unknown-linux-gnu and x86_64-unknown-linux-gnu. A missing rustup target is installed as
# scripts/setup.sh does. EMKERN_FFI_FEATURES passes cargo flags, e.g. `--no-default-features` (no weighted median).
#
# The size of an archive is not what a firmware pays: the linker keeps only what `emk_*` calls reach (the C
# example's link map: boards/c-example/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
((${#targets[@]})) || targets=(thumbv6m-none-eabi thumbv7em-none-eabihf thumbv8m.main-none-eabihf
    aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
    if ! grep -qx "$t" <<<"$installed"; then
        rustup target add "$t"
    fi
done
read -r -a features <<<"${EMKERN_FFI_FEATURES:-}"
declare -a lines=()
for t in "${targets[@]}"; do
    echo "== $t"
    cargo build -p emkern-ffi --release --locked --target "$t" "${features[@]}"
    out="target/ffi/$t"
    mkdir -p "$out"
    cp "target/$t/release/libemkern_ffi.a" "$out/"
    cp core/ffi/include/emkern.h "$out/"
    bytes=$(stat -c %s "$out/libemkern_ffi.a")
    # The code and data of every member (core and compiler_builtins included), when a `size` for the target exists.
    case "$t" in
        thumb*) size_tool=arm-none-eabi-size ;;
        aarch64-*) size_tool=aarch64-linux-gnu-size ;;
        *) size_tool=size ;;
    esac
    members=""
    if command -v "$size_tool" >/dev/null; then
        members=$("$size_tool" -t "$out/libemkern_ffi.a" | awk 'END { printf "text %d KiB, data+bss %d B", ($1 + 1023) / 1024, $2 + $3 }')
    fi
    lines+=("$(printf '%-26s archive %6d KiB  %-34s %s' "$t" $(((bytes + 1023) / 1024)) "$members" "$out/libemkern_ffi.a")")
done
echo
printf '%s\n' "${lines[@]}"
