//! Build script: the board's `memory.x` (by feature) where cortex-m-rt's `link.x` finds it, and the model,
//! validated now and embedded as an aligned static (`emkern-build`): `EMKERN_MODEL=path/to/model.emk` selects
//! another model than the bundled demo; an invalid one fails the build with the reader's message.

use std::{env, fs, path::PathBuf};

/// The memory map of each supported board.
fn memory_x() -> Result<&'static str, &'static str> {
    let boards = [
        env::var_os("CARGO_FEATURE_NRF52840").is_some(),
        env::var_os("CARGO_FEATURE_RP2040").is_some(),
        env::var_os("CARGO_FEATURE_STM32H563").is_some(),
    ];
    match boards {
        // nRF52840: 1 MiB flash at 0, 256 KiB RAM.
        [true, false, false] => Ok(
            "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 1024K\n  RAM : ORIGIN = 0x20000000, LENGTH = 256K\n}\n",
        ),
        // RP2040: the boot loader's 256 bytes first in the external flash (XIP at 0x1000_0000), 2 MiB on the
        // Raspberry Pi Pico; 264 KiB of SRAM (the striped 256 KiB is used here).
        [false, true, false] => Ok(
            "MEMORY\n{\n  BOOT2 : ORIGIN = 0x10000000, LENGTH = 0x100\n  FLASH : ORIGIN = 0x10000100, LENGTH = 2048K - 0x100\n  RAM : ORIGIN = 0x20000000, LENGTH = 256K\n}\n\nSECTIONS {\n  .boot2 ORIGIN(BOOT2) :\n  {\n    KEEP(*(.boot2));\n  } > BOOT2\n} INSERT BEFORE .text;\n",
        ),
        // STM32H563ZI (NUCLEO-H563ZI): 2 MiB flash at 0x0800_0000, 640 KiB SRAM.
        [false, false, true] => Ok(
            "MEMORY\n{\n  FLASH : ORIGIN = 0x08000000, LENGTH = 2048K\n  RAM : ORIGIN = 0x20000000, LENGTH = 640K\n}\n",
        ),
        _ => Err("enable exactly one board feature: nrf52840, rp2040 or stm32h563 (see README.md)"),
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    match memory_x() {
        Ok(m) => fs::write(out.join("memory.x"), m).expect("write memory.x to OUT_DIR"),
        Err(e) => {
            println!("cargo::error={e}");
            std::process::exit(1);
        }
    }
    println!("cargo:rustc-link-search={}", out.display());
    emkern_build::Embed::new("../selftest/data/model.emk", "MODEL")
        .env_override("EMKERN_MODEL")
        .run();
}
