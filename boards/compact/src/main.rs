//! A firmware that predicts with [`CompactForest`] alone: the linked size of the compact reader with fat LTO,
//! and a link-time proof that no panic path survives in it (the panic handler calls a function defined nowhere,
//! as in `boards/nopanic`).
//!
//! By default it links what a firmware built for one model needs: `new_without_checksum` (no CRC-32 code or
//! table), `predict_with::<Sigmoid>` (the demo model's transform alone) and `predict_margin`. With the feature
//! `full-api` it links `new` (with the CRC-32) and `predict` (the transform read from the blob: all five); with
//! `prevalidated`, `new_unchecked` (no validation code: the blob was validated when the firmware was built).
//!
//! The model and the row pass through [`core::hint::black_box`], so nothing is folded at compile time. On QEMU
//! it predicts the rows of `data/rows.bin` with `data/model.emkc` and exits with status 0 when every
//! prediction equals `data/expected.bin` bit for bit (written by the host from the general reader,
//! `emkern::forest::Forest`, on the same model).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use defmt as _;
use emkern::forest::CompactForest;
#[cfg(not(feature = "full-api"))]
use emkern::forest::compact::Sigmoid;

/// 4-byte alignment for an embedded blob (the compact reader reads aligned words).
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// A compact model (XGBoost `binary:logistic` of the demo, written by the host's compact exporter).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!("../data/model.emkc"));
/// Rows of `n_features` f32 values, little-endian.
static ROWS: &[u8] = include_bytes!("../data/rows.bin");
/// The general reader's prediction of each row (one f32 each).
static EXPECTED: &[u8] = include_bytes!("../data/expected.bin");

fn f32_at(b: &[u8], i: usize) -> Option<f32> {
    let s = b.get(4 * i..4 * i + 4)?;
    Some(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(feature = "full-api")]
fn load(bytes: &'static [u8]) -> Option<CompactForest<'static>> {
    CompactForest::new(bytes).ok()
}

#[cfg(not(any(feature = "full-api", feature = "prevalidated")))]
fn load(bytes: &'static [u8]) -> Option<CompactForest<'static>> {
    use emkern::forest::compact::CompactTransform;
    CompactForest::new_without_checksum(bytes)
        .ok()
        .filter(|f| f.transform() == Sigmoid::TRANSFORM)
}

#[cfg(all(feature = "prevalidated", not(feature = "full-api")))]
fn load(bytes: &'static [u8]) -> Option<CompactForest<'static>> {
    // SAFETY: `bytes` is `data/model.emkc` at its 4-aligned static address (the black box returns its
    // argument); the host test `board_data`, which keeps that file current, validates it with
    // `CompactForest::new`, as `emkern-build` validates a firmware's model when the firmware is built.
    Some(unsafe { CompactForest::new_unchecked(bytes) })
}

#[cfg(feature = "full-api")]
fn predict(f: &CompactForest<'_>, row: &[f32], out: &mut [f32]) -> bool {
    f.predict(row, out).is_ok()
}

#[cfg(not(feature = "full-api"))]
fn predict(f: &CompactForest<'_>, row: &[f32], out: &mut [f32]) -> bool {
    f.predict_with::<Sigmoid>(row, out).is_ok()
}

fn check() -> bool {
    let Some(f) = load(core::hint::black_box(&MODEL.0)) else {
        return false;
    };
    let n = f.n_features();
    if n > 64 || f.output_len() != 1 {
        return false;
    }
    let mut row = [0.0f32; 64];
    let mut out = [0.0f32; 1];
    let mut margin = [0.0f32; 1];
    let rows = ROWS.len().checked_div(4 * n).unwrap_or(0);
    for r in 0..rows {
        for (k, x) in row.iter_mut().enumerate().take(n) {
            *x = f32_at(ROWS, r * n + k).unwrap_or(f32::NAN);
        }
        let row = core::hint::black_box(&row[..n]);
        if !predict(&f, row, &mut out) || f.predict_margin(row, &mut margin).is_err() {
            return false;
        }
        if f32_at(EXPECTED, r).map(f32::to_bits) != Some(out[0].to_bits()) {
            return false;
        }
    }
    rows > 0
}

#[entry]
fn main() -> ! {
    let ok = check();
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        core::hint::spin_loop();
    }
}

unsafe extern "C" {
    /// Declared, never defined: referencing it fails the link.
    fn emkern_panic_path_survived() -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: never executed in a build that links; a build where this is reachable does not link.
    unsafe { emkern_panic_path_survived() }
}
