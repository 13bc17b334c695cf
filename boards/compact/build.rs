//! Puts the boards' shared `memory.x` (in `../selftest`) where the linker finds it (cortex-m-rt's `link.x`
//! includes it by name).

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("../selftest/memory.x", out.join("memory.x")).expect("copy memory.x to OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=../selftest/memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
