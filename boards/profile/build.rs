//! Build script of the profiling firmware.
//!
//! - Writes the board's `memory.x` (chosen by the target triple) where cortex-m-rt's `link.x` finds it.
//! - Reads the inputs `emkern profile` prepared in the directory named by `EMKERN_PROFILE_DIR`: `config.rs`
//!   (row and output shape), `rows.bin` (the rows, little-endian f32), and per engine `model.emk` (blob),
//!   `model.emkc` and `compact.rs` (compact: the blob and its transform as a type),
//!   `model.emki` (integer engine),
//!   `model.rs` (generated Rust, compiled as the module `generated_model`) or `link.txt` (objects and libraries
//!   to link, one absolute path a line: the compiled generated C and the toolchain's `libm.a`/`libc_nano.a`).
//!   The directory reaches the code as `EMKERN_PROFILE_GEN`.

use std::{env, fs, path::PathBuf};

/// `memory.x` per board: the QEMU machine's code region at 0 (where QEMU takes the initial SP and PC) and its
/// data region at 0x2000_0000.
fn memory_x(target: &str) -> &'static str {
    if target.starts_with("thumbv6m") {
        // micro:bit (nRF51822, Cortex-M0): 256 KiB flash, 16 KiB RAM.
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM   : ORIGIN = 0x20000000, LENGTH = 16K\n}\n"
    } else if target.starts_with("thumbv8m") {
        // mps3-an547 (Cortex-M55): ITCM 512 KiB, DTCM 512 KiB.
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 512K\n  RAM   : ORIGIN = 0x20000000, LENGTH = 512K\n}\n"
    } else {
        // mps2-an385 / mps2-an386 (Cortex-M3 / Cortex-M4F): 4 MiB at 0, 4 MiB at 0x2000_0000.
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 4M\n  RAM   : ORIGIN = 0x20000000, LENGTH = 4M\n}\n"
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=EMKERN_PROFILE_DIR");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    fs::write(out.join("memory.x"), memory_x(&target)).expect("write memory.x to OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());

    let Some(dir) = env::var_os("EMKERN_PROFILE_DIR").map(PathBuf::from) else {
        panic!(
            "emkern-profile is built by `emkern profile`, which prepares its inputs in a directory named by \
             EMKERN_PROFILE_DIR"
        );
    };
    let dir = fs::canonicalize(&dir).unwrap_or(dir);
    for name in [
        "config.rs",
        "rows.bin",
        "model.emk",
        "model.emkc",
        "compact.rs",
        "model.emki",
        "model.rs",
        "link.txt",
    ] {
        println!("cargo:rerun-if-changed={}", dir.join(name).display());
    }
    println!("cargo:rustc-env=EMKERN_PROFILE_GEN={}", dir.display());

    // `#[path]` takes a literal only: the generated module is declared in a file of OUT_DIR that `main.rs`
    // includes.
    let model_rs = dir.join("model.rs");
    let module = if env::var_os("CARGO_FEATURE_ENGINE_RUST").is_some() {
        format!(
            "#[path = {:?}]\nmod generated_model;\n",
            model_rs.display().to_string()
        )
    } else {
        String::new()
    };
    fs::write(out.join("generated_model.rs"), module).expect("write generated_model.rs to OUT_DIR");

    if env::var_os("CARGO_FEATURE_ENGINE_C").is_some() {
        let list = dir.join("link.txt");
        let text = fs::read_to_string(&list)
            .unwrap_or_else(|e| panic!("{}: cannot read: {e}", list.display()));
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            println!("cargo:rustc-link-arg={line}");
        }
    }
}
