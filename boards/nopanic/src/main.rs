//! A firmware that proves, at link time, that no public entry point of `emkern` and `emkern-simd` keeps a panic
//! path after optimization.
//!
//! Every public function and method of both crates (the modules below, one per area) is called with inputs the
//! optimizer cannot see: each argument passes through [`core::hint::black_box`], which makes values, slice
//! pointers and slice lengths opaque, so no bounds check, `unwrap` or overflow check can be folded away by
//! constant propagation. The `#[panic_handler]` calls
//! `emkern_panic_path_survived`, a function that is declared but defined nowhere: if any call can still reach a
//! panic after optimization (release profile, fat LTO), the panic handler is referenced and the link fails
//! with `undefined symbol: emkern_panic_path_survived`. The build succeeding is the proof; the
//! harness (`scripts/test.sh`, stage 3) builds it for the Cortex-M4F and for the Cortex-M55 with Helium.
//!
//! It also runs: on QEMU (`boards/nopanic.sh an386` / `an547`) it makes every call once and exits through
//! semihosting with status 0, so the calls do not fault either.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use defmt as _;

mod attention;
mod forest;
mod rope;
mod simd;
mod speculative;

/// Makes a value opaque to the optimizer (also the pointer and length of a slice).
#[inline(always)]
pub fn o<T>(x: T) -> T {
    core::hint::black_box(x)
}

/// Keeps a result alive without looking at it (the optimizer must assume it is used).
#[inline(always)]
pub fn keep<T>(x: T) {
    core::hint::black_box(x);
}

#[entry]
fn main() -> ! {
    simd::run();
    forest::run();
    attention::run();
    rope::run();
    speculative::run();
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(not(feature = "locate-panics"))]
unsafe extern "C" {
    /// Declared, never defined: referencing it fails the link.
    fn emkern_panic_path_survived() -> !;
}

#[cfg(not(feature = "locate-panics"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: never executed in a build that links; a build where this is reachable does not link.
    unsafe { emkern_panic_path_survived() }
}

/// With `--features locate-panics` the firmware links whatever survives, so that the callers of the panic
/// functions can be found in the disassembly (see `README.md`).
#[cfg(feature = "locate-panics")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        core::hint::spin_loop();
    }
}
