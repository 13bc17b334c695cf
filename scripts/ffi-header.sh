#!/bin/sh
# Regenerates core/ffi/include/emkern.h from the emkern-ffi crate with cbindgen (config: core/ffi/cbindgen.toml).
# The test `cargo test -p emkern-ffi --test header` fails while the checked-in header is stale.
set -eu
cd "$(dirname "$0")/.."
EMKERN_BLESS=1 cargo test -p emkern-ffi --test header --quiet
