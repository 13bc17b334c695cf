//! Firmware for QEMU's RISC-V `virt` machine on an rv32imc core (no FPU: f32 through soft-float routines). It
//! predicts the demo model's rows with two engines and checks each prediction bit for bit against the host:
//!
//! - [`IntForest`] (integer layout, `data/model.emki`) against `data/expected_int.bin`, the host integer
//!   engine's predictions (integer arithmetic only, so they must be identical on any core);
//! - [`CompactForest`] (compact layout, `../compact/data/model.emkc`) against `../compact/data/expected.bin`,
//!   the host general reader's (`emkern::forest::Forest`) predictions.
//!
//! The rows are `../compact/data/rows.bin`; the host test `board_data` keeps every file current. Each
//! prediction is timed with the `minstret` CSR, which QEMU advances by one per executed instruction under
//! `-icount shift=0` (checked at start against a block of exactly 1000 instructions). Text and the exit status
//! go through semihosting (QEMU's `-semihosting`): status 0 when every row of both engines matched.
//!
//! With the feature `int-only` the image holds the integer engine alone, so that its symbols show what that
//! engine links on a core without an FPU (`riscv.sh` checks: no soft-float routine, no libm).
#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;

#[cfg(not(feature = "int-only"))]
use emkern::forest::CompactForest;
use emkern::forest::IntForest;
use semihosting::println;

/// 4-byte alignment for an embedded blob (both readers read aligned words).
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// The demo model (XGBoost `binary:logistic`) in the integer layout.
static INT_MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!("../data/model.emki"));
/// The host integer engine's prediction of each row (one f32 each, little-endian).
static INT_EXPECTED: &[u8] = include_bytes!("../data/expected_int.bin");
/// The same model in the compact layout.
#[cfg(not(feature = "int-only"))]
static COMPACT_MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!("../../compact/data/model.emkc"));
/// The general reader's prediction of each row (one f32 each, little-endian).
#[cfg(not(feature = "int-only"))]
static COMPACT_EXPECTED: &[u8] = include_bytes!("../../compact/data/expected.bin");
/// Rows of `n_features` f32 values, little-endian.
static ROWS: &[u8] = include_bytes!("../../compact/data/rows.bin");

/// The most features a row may have here.
const MAX_FEATURES: usize = 64;
/// The most bins the integer engine's scratch holds.
const MAX_BINS: usize = 2 * MAX_FEATURES;

/// The low 32 bits of `minstret` (instructions retired).
#[inline(always)]
fn instret() -> u32 {
    let v: u32;
    // SAFETY: reads the `minstret` CSR; riscv-rt runs `main` in M-mode, where it is always readable. No memory
    // access, no other effect.
    unsafe { asm!("csrr {0}, minstret", out(reg) v, options(nomem, nostack)) };
    v
}

/// `minstret` elapsed while `job` runs (the call included), and its result.
#[inline(never)]
fn timed(job: &mut dyn FnMut() -> bool) -> (u32, bool) {
    let t0 = instret();
    let ok = job();
    let t1 = instret();
    (t1.wrapping_sub(t0), ok)
}

/// The count of an empty job (the fixed cost of a measurement), after checking that a job of exactly 1000
/// more instructions counts 1000 more: `None` if `minstret` does not count instructions.
fn calibrate() -> Option<u32> {
    let (empty, _) = timed(&mut || black_box(true));
    let (block, _) = timed(&mut || {
        // SAFETY: 1000 `nop`s: no memory access, no register or flag changed.
        unsafe { asm!(".rept 1000", "nop", ".endr", options(nomem, nostack)) };
        black_box(true)
    });
    (block.wrapping_sub(empty) == 1000).then_some(empty)
}

fn f32_at(b: &[u8], i: usize) -> Option<f32> {
    let s = b.get(4 * i..4 * i + 4)?;
    Some(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Rows checked, rows matching, mean and largest instructions per prediction.
#[derive(Default)]
struct Tally {
    rows: u32,
    matched: u32,
    total: u64,
    max: u32,
}

impl Tally {
    fn add(&mut self, ok: bool, instructions: u32) {
        self.rows += 1;
        self.matched += u32::from(ok);
        self.total += u64::from(instructions);
        self.max = self.max.max(instructions);
    }

    /// Prints the engine's line; true when every row matched and there was at least one.
    fn report(&self, engine: &str) -> bool {
        let pass = self.rows > 0 && self.matched == self.rows;
        let mean = self.total.checked_div(u64::from(self.rows)).unwrap_or(0);
        println!(
            "{engine}: {} rows, {} bit-identical: {}; instructions per prediction: mean {mean}, max {}",
            self.rows,
            self.matched,
            if pass { "PASS" } else { "FAIL" },
            self.max
        );
        pass
    }
}

/// Reads row `r` (of `n` features) into `row`.
fn load_row(row: &mut [f32; MAX_FEATURES], r: usize, n: usize) {
    for (k, x) in row.iter_mut().enumerate().take(n) {
        *x = f32_at(ROWS, r * n + k).unwrap_or(f32::NAN);
    }
}

fn check_int(overhead: u32) -> bool {
    let f = match IntForest::new(black_box(&INT_MODEL.0)) {
        Ok(f) => f,
        Err(e) => {
            println!("int: the model does not load: {e}");
            return false;
        }
    };
    let n = f.n_features();
    if n > MAX_FEATURES || f.bins_len() > MAX_BINS || f.output_len() != 1 {
        println!("int: the model's shape does not fit this firmware");
        return false;
    }
    let mut tally = Tally::default();
    let mut row = [0.0f32; MAX_FEATURES];
    let mut bins = [0u16; MAX_BINS];
    let mut out = [0.0f32; 1];
    for r in 0..ROWS.len() / (4 * n) {
        load_row(&mut row, r, n);
        let x = black_box(&row[..n]);
        let (count, ok) = timed(&mut || f.predict(x, &mut bins, &mut out).is_ok());
        let same = ok && f32_at(INT_EXPECTED, r).map(f32::to_bits) == Some(out[0].to_bits());
        tally.add(same, count.wrapping_sub(overhead));
    }
    tally.report("int")
}

#[cfg(not(feature = "int-only"))]
fn check_compact(overhead: u32) -> bool {
    let f = match CompactForest::new(black_box(&COMPACT_MODEL.0)) {
        Ok(f) => f,
        Err(e) => {
            println!("compact: the model does not load: {e}");
            return false;
        }
    };
    let n = f.n_features();
    if n > MAX_FEATURES || f.output_len() != 1 {
        println!("compact: the model's shape does not fit this firmware");
        return false;
    }
    let mut tally = Tally::default();
    let mut row = [0.0f32; MAX_FEATURES];
    let mut out = [0.0f32; 1];
    for r in 0..ROWS.len() / (4 * n) {
        load_row(&mut row, r, n);
        let x = black_box(&row[..n]);
        let (count, ok) = timed(&mut || f.predict(x, &mut out).is_ok());
        let same = ok && f32_at(COMPACT_EXPECTED, r).map(f32::to_bits) == Some(out[0].to_bits());
        tally.add(same, count.wrapping_sub(overhead));
    }
    tally.report("compact")
}

#[riscv_rt::entry]
fn main() -> ! {
    let Some(overhead) = calibrate() else {
        println!("FAIL: minstret does not count instructions (run QEMU with -icount shift=0)");
        semihosting::process::exit(1);
    };
    println!("minstret: a block of 1000 instructions counts 1000; measurement overhead {overhead}");
    let int = check_int(overhead);
    // Built with `int-only`, the image holds the integer engine alone: `riscv.sh` checks that it links no
    // soft-float routine.
    #[cfg(feature = "int-only")]
    let compact = true;
    #[cfg(not(feature = "int-only"))]
    let compact = check_compact(overhead);
    if int && compact {
        println!("PASS riscv");
        semihosting::process::exit(0);
    }
    println!("FAIL riscv");
    semihosting::process::exit(1)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("FAIL: panic: {info}");
    semihosting::process::exit(101)
}
