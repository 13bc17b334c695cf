# Installs what emkern's harness and demo need, if missing (sourced by scripts/test.sh and scripts/demo.sh):
# Debian packages qemu-system-arm, qemu-user, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, cmake, and gcc-arm-none-eabi
# with libnewlib-arm-none-eabi when want_arm_gcc=1 (as root, or via sudo); rustfmt and clippy; rustup targets for aarch64 Linux and the four
# Cortex-M targets (M4F, M55, and for `emkern profile` the FPU-less M3 and M0); qemu-system-misc and the rustup
# target riscv32imc-unknown-none-elf for the RISC-V firmware (optional: loud warning when unavailable); defmt-print; a Python
# virtual environment with XGBoost, scikit-learn, CatBoost and ONNX/onnxruntime (target/pyenv) for the tests that compare with them (when
# want_python=1); the nightly toolchain (minimal profile) with Miri and rust-src, and cargo-fuzz, for the fuzz
# smoke run and Miri (when want_nightly=1).
# Sets cross_ok=0 (and says so loudly) when a rustup target cannot be installed; fuzz_ok=0 / miri_ok=0 when the
# nightly tools cannot be installed (their stages then print SKIPPED).
cross_ok=1
apt_missing=()
command -v qemu-system-arm >/dev/null || apt_missing+=(qemu-system-arm)
command -v qemu-aarch64 >/dev/null || apt_missing+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null || apt_missing+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || apt_missing+=(libc6-dev-arm64-cross)
# The C API's CMake integration (scripts/ffi-cmake.sh; it prints SKIPPED without cmake).
command -v cmake >/dev/null || apt_missing+=(cmake)
# `emkern profile --engine c` compiles the generated C for the boards and links newlib's libm (when want_arm_gcc=1:
# the test run; its test prints SKIPPED without them).
if [ "${want_arm_gcc:-0}" = 1 ]; then
    command -v arm-none-eabi-gcc >/dev/null || apt_missing+=(gcc-arm-none-eabi)
    [ -e /usr/lib/arm-none-eabi/newlib/libm.a ] || apt_missing+=(libnewlib-arm-none-eabi)
fi
if ((${#apt_missing[@]})); then
    echo "installing with apt: ${apt_missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
targets=(aarch64-unknown-linux-gnu thumbv7em-none-eabihf thumbv8m.main-none-eabihf thumbv7m-none-eabi thumbv6m-none-eabi)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
    if ! grep -qx "$t" <<<"$installed"; then
        if ! rustup target add "$t"; then
            echo "!!!! could not install rustup target $t: cross stages will be SKIPPED !!!!" >&2
            cross_ok=0
        fi
    fi
done
# The RISC-V firmware (boards/riscv.sh): qemu-system-riscv32 (Debian's qemu-system-misc, machine `virt`) and the
# rustup target riscv32imc-unknown-none-elf. Optional: without either, boards/riscv.sh prints SKIPPED.
if ! command -v qemu-system-riscv32 >/dev/null; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq || true
    if ! DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends qemu-system-misc >/dev/null; then
        echo "!!!! could not install qemu-system-misc: the RISC-V firmware (boards/riscv.sh) will be SKIPPED !!!!" >&2
    fi
fi
if ! grep -qx riscv32imc-unknown-none-elf <<<"$installed" && ! rustup target add riscv32imc-unknown-none-elf; then
    echo "!!!! could not install rustup target riscv32imc-unknown-none-elf: the RISC-V firmware (boards/riscv.sh) will be SKIPPED !!!!" >&2
fi
# The QEMU machines of the boards (self-test and `emkern profile`): QEMU 7.2 or newer has them all.
qemu_machines=$(qemu-system-arm -machine help 2>/dev/null || true)
for m in mps2-an385 mps2-an386 mps3-an547 microbit; do
    if ! grep -q "^$m " <<<"$qemu_machines"; then
        echo "!!!! qemu-system-arm has no machine $m (QEMU 7.2 or newer needed): the boards' tests on it will fail !!!!" >&2
    fi
done
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v defmt-print >/dev/null; then
    echo "installing defmt-print (decodes the boards' defmt logs)"
    cargo install defmt-print --locked --quiet
fi
# Python with XGBoost, scikit-learn and NumPy, for the tests that load emkern's XGBoost JSON exports into XGBoost
# itself and compare its predictions and evaluation log with emkern's, and for the tests that train the same models
# with scikit-learn (they print SKIPPED without them). A virtual environment under target/, made once; EMKERN_PYTHON
# set by the caller wins.
if [ "${want_python:-0}" = 1 ] && [ -z "${EMKERN_PYTHON:-}" ]; then
    pyenv_dir="$(pwd)/target/pyenv"
    if ! "$pyenv_dir/bin/python" -c "import xgboost, sklearn, numpy" >/dev/null 2>&1; then
        echo "installing xgboost-cpu, scikit-learn and numpy into target/pyenv"
        if ! { python3 -m venv "$pyenv_dir" && "$pyenv_dir/bin/pip" install -q --disable-pip-version-check \
            "xgboost-cpu>=3.1,<4" "scikit-learn>=1.5,<2" "numpy>=1.26"; }; then
            echo "!!!! could not install XGBoost and scikit-learn for Python: the tests that need them will be SKIPPED !!!!" >&2
        fi
    fi
    # CatBoost for the tests that import CatBoost JSON models (tests/catboost_fixtures.rs); optional: without it
    # those tests print SKIPPED.
    if [ -x "$pyenv_dir/bin/python" ] && ! "$pyenv_dir/bin/python" -c "import catboost" >/dev/null 2>&1; then
        echo "installing catboost into target/pyenv"
        if ! "$pyenv_dir/bin/pip" install -q --disable-pip-version-check "catboost>=1.2,<2"; then
            echo "!!!! could not install CatBoost for Python: the tests that need it will be SKIPPED !!!!" >&2
        fi
    fi
    # ONNX, onnxruntime and the converters for the tests that import ONNX-ML models (tests/onnx_fixtures.rs);
    # optional: without them the live test prints SKIPPED.
    if [ -x "$pyenv_dir/bin/python" ] \
        && ! "$pyenv_dir/bin/python" -c "import onnx, onnxruntime, skl2onnx, onnxmltools" >/dev/null 2>&1; then
        echo "installing onnx, onnxruntime, skl2onnx and onnxmltools into target/pyenv"
        if ! "$pyenv_dir/bin/pip" install -q --disable-pip-version-check onnx onnxruntime skl2onnx onnxmltools; then
            echo "!!!! could not install onnx/onnxruntime/skl2onnx for Python: the tests that need them will be SKIPPED !!!!" >&2
        fi
    fi
    # LightGBM, pandas and pytest for the Python package's pytest suite (host-tests/python/tests), which also uses
    # the frameworks above; optional: without them the suite's tests that need them print SKIPPED.
    if [ -x "$pyenv_dir/bin/python" ] \
        && ! "$pyenv_dir/bin/python" -c "import lightgbm, pandas, pytest" >/dev/null 2>&1; then
        echo "installing lightgbm, pandas and pytest into target/pyenv"
        if ! "$pyenv_dir/bin/pip" install -q --disable-pip-version-check "lightgbm>=4,<5" pandas pytest; then
            echo "!!!! could not install lightgbm/pandas/pytest for Python: the package tests that need them will be SKIPPED !!!!" >&2
        fi
    fi
    if "$pyenv_dir/bin/python" -c "import xgboost, sklearn, numpy" >/dev/null 2>&1; then
        export EMKERN_PYTHON="$pyenv_dir/bin/python"
    fi
fi
# Nightly tools, optional: the fuzz smoke run needs cargo-fuzz (libFuzzer needs nightly's sanitizer flags), Miri
# needs the miri and rust-src components. Each step is guarded; a failure only makes its stage print SKIPPED.
fuzz_ok=0
miri_ok=0
if [ "${want_nightly:-0}" = 1 ]; then
    if ! rustup toolchain list | grep '^nightly' >/dev/null; then
        echo "installing the nightly toolchain (minimal profile) for the fuzz smoke run and Miri"
        timeout 300 rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
    fi
    if cargo +nightly --version >/dev/null 2>&1; then
        if ! cargo +nightly miri --version >/dev/null 2>&1; then
            timeout 300 rustup component add --toolchain nightly miri rust-src >/dev/null 2>&1 || true
        fi
        if cargo +nightly miri --version >/dev/null 2>&1; then
            miri_ok=1
        else
            echo "!!!! could not install Miri (rustup component miri): the Miri stage will be SKIPPED !!!!" >&2
        fi
        if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
            echo "installing cargo-fuzz (crates.io)"
            timeout 900 cargo install cargo-fuzz --locked --quiet || true
        fi
        if cargo +nightly fuzz --version >/dev/null 2>&1; then
            fuzz_ok=1
        else
            echo "!!!! could not install cargo-fuzz: the fuzz smoke stage will be SKIPPED !!!!" >&2
        fi
    else
        echo "!!!! no nightly toolchain (rustup toolchain install nightly failed): fuzz and Miri stages will be SKIPPED !!!!" >&2
    fi
fi
