#!/usr/bin/env bash
# The C API through CMake, as a C project uses it (`add_subdirectory(<emkern>/core/ffi)`, `target_link_libraries(...
# emkern)`): builds the host example core/ffi/examples (predict.c) and runs it on the demo model's rows, then
# builds boards/c-example with its arm-none-eabi toolchain file for the Cortex-M4F and the Cortex-M55 and runs it
# under QEMU. Every run must print PASS. Build directories: target/cmake/.
#
#   ffi-cmake.sh
#
# Without cmake the script prints SKIPPED loudly and exits 0 (scripts/setup.sh installs it); without
# arm-none-eabi-gcc or qemu-system-arm only the firmware part is SKIPPED.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="$root/target/cmake"
if ! command -v cmake >/dev/null; then
    echo "!!!! SKIPPED ffi-cmake: cmake not found: the CMake integration is NOT tested !!!!" >&2
    exit 0
fi
data="$root/boards/selftest/data"

echo "== host: core/ffi/examples with CMake"
cmake -S core/ffi/examples -B "$build/host" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build/host"
"$build/host/predict" "$data/model.emk" "$data/rows.bin" "$data/expected.bin" | tail -3
"$build/host/predict" "$data/model.emk" "$data/rows.bin" "$data/expected.bin" | grep '^PASS: 0 failures' >/dev/null

for tool in arm-none-eabi-gcc qemu-system-arm; do
    if ! command -v "$tool" >/dev/null; then
        echo "!!!! SKIPPED ffi-cmake firmware: $tool not found !!!!" >&2
        exit 0
    fi
done
for cpu in cortex-m4 cortex-m55; do
    echo "== boards/c-example with CMake and arm-none-eabi.cmake, ARM_CPU=$cpu"
    cmake -S boards/c-example -B "$build/c-example-$cpu" \
        -DCMAKE_TOOLCHAIN_FILE="$root/boards/c-example/arm-none-eabi.cmake" -DARM_CPU="$cpu" >/dev/null
    cmake --build "$build/c-example-$cpu" --target run 2>&1 | tee "$build/c-example-$cpu.log"
    grep -q '^PASS' "$build/c-example-$cpu.log"
done
echo "PASS ffi-cmake: host example, c-example on cortex-m4 and cortex-m55"
