//! emkern on a real board: the model, validated when the firmware was built (`build.rs`, `emkern-build`), is
//! read in place from flash; the bundled held-out rows are predicted and compared with the framework's own
//! predictions (XGBoost's probabilities for the demo model), and the summary is printed over defmt/RTT.
//!
//! Boards (one feature each, with its Rust target): `nrf52840` (thumbv7em-none-eabihf), `rp2040`
//! (thumbv6m-none-eabi), `stm32h563` (thumbv8m.main-none-eabihf). See README.md.

#![no_std]
#![no_main]

use defmt_rtt as _;
use panic_probe as _;

use cortex_m_rt::entry;
use emkern::forest::Forest;

// MODEL (8-byte aligned), MODEL_N_FEATURES, MODEL_OUTPUT_LEN, MODEL_LAYOUT: written by build.rs.
include!(concat!(env!("OUT_DIR"), "/model.rs"));

/// The RP2040's second-stage boot loader (for the W25Q080 flash of the Raspberry Pi Pico), placed first in flash
/// by `memory.x`.
#[cfg(feature = "rp2040")]
#[unsafe(link_section = ".boot2")]
#[used]
static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// The bundled rows (little-endian f32, `MODEL_N_FEATURES` per row) and, per row, the framework's prediction and
/// the label (little-endian f32), for the demo model; a model of another shape skips the comparison.
static ROWS: &[u8] = include_bytes!("../../selftest/data/rows.bin");
static EXPECTED: &[u8] = include_bytes!("../../selftest/data/expected.bin");

fn f32_at(bytes: &[u8], index: usize) -> Option<f32> {
    let b = bytes.get(index.checked_mul(4)?..index.checked_mul(4)?.checked_add(4)?)?;
    Some(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[entry]
fn main() -> ! {
    // Validated at build time; checking again costs one pass over the blob and keeps the code honest when the
    // flash was written by something else.
    let forest = match Forest::new(MODEL) {
        Ok(f) => f,
        Err(e) => {
            defmt::println!("model rejected: {}", e);
            halt()
        }
    };
    defmt::println!(
        "model: {=usize} bytes ({=str} layout), {=usize} features, {=usize} outputs, at most {=u64} node visits per prediction",
        MODEL.len(),
        MODEL_LAYOUT,
        MODEL_N_FEATURES,
        MODEL_OUTPUT_LEN,
        forest.worst_case_visits()
    );
    let mut row = [0.0f32; MODEL_N_FEATURES];
    let mut out = [0.0f32; MODEL_OUTPUT_LEN];
    let rows = ROWS.len() / (4 * MODEL_N_FEATURES.max(1));
    let comparable = MODEL_OUTPUT_LEN == 1 && EXPECTED.len() >= 8 * rows;
    let (mut worst, mut predicted) = (0.0f32, 0usize);
    for r in 0..rows {
        for (i, v) in row.iter_mut().enumerate() {
            *v = f32_at(ROWS, r * MODEL_N_FEATURES + i).unwrap_or(f32::NAN);
        }
        if forest.predict(&row, &mut out).is_err() {
            defmt::println!("row {=usize}: shape rejected", r);
            halt();
        }
        predicted += 1;
        if let (true, Some(want)) = (comparable, f32_at(EXPECTED, 2 * r)) {
            worst = worst.max((out[0] - want).abs());
        }
    }
    if comparable {
        defmt::println!(
            "{=usize} rows predicted; largest difference from the framework: {=f32}",
            predicted,
            worst
        );
    } else {
        defmt::println!(
            "{=usize} rows predicted (no reference for this model's shape)",
            predicted
        );
    }
    halt()
}

/// Stops: a breakpoint ends `probe-rs run`.
fn halt() -> ! {
    loop {
        cortex_m::asm::bkpt();
    }
}
