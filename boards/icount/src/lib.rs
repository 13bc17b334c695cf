//! Instruction counts (SysTick under QEMU's `-icount`) and stack high-water marks, shared by the boards'
//! firmware (`selftest` and `profile`), so their figures are measured by the same code.
//!
//! # Instructions
//! With `-icount shift=S` QEMU's virtual clock advances by exactly `2^S` ns per executed instruction, and
//! SysTick (on the core clock) follows that clock. [`calibrate`] times straight-line blocks of 1000 and 3000
//! single-instruction ALU operations inside one `asm!` block each; their difference, exactly 2000 instructions,
//! gives the ticks per instruction, and an empty call gives the fixed overhead of a measurement. [`Ticks::time`]
//! reads the counter, calls an `extern "C"` job and reads it again; the job's instructions are
//! `(ticks − overhead) / ticks per instruction`, rounded. The ALU blocks use the 16-bit `adds` that every Thumb
//! core has (the Cortex-M0 has no `add.w`), which counts one instruction like any other.
//!
//! # Stack
//! [`stack_used`] fills the free stack below the current stack pointer (at most [`STACK_WINDOW`] bytes, never
//! below cortex-m-rt's `_stack_end`) with a pattern, calls the job, and finds the lowest word that changed.
//! Filling and scanning are `asm!` loops that touch no stack themselves.

#![no_std]

use core::arch::asm;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;

/// Address of the SysTick current value register.
const SYST_CVR: usize = 0xE000_E018;
/// Address of the SysTick control and status register (bit 16: COUNTFLAG, set when the counter reached 0).
const SYST_CSR: usize = 0xE000_E010;

/// SysTick as a free-running 24-bit down-counter on the core clock.
pub struct Ticks {
    _syst: SYST,
}

/// Why a region could not be timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow;

impl Ticks {
    /// Starts SysTick (no interrupt, core clock, full 24-bit reload).
    pub fn start(mut syst: SYST) -> Ticks {
        syst.disable_interrupt();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(0x00FF_FFFF);
        syst.clear_current();
        syst.enable_counter();
        Ticks { _syst: syst }
    }

    /// Ticks elapsed while `job(arg)` runs. The counter restarts from its reload value first, so a region of
    /// 2^24 ticks or more wraps it and sets COUNTFLAG: that is reported as [`Overflow`] rather than a wrong
    /// count.
    #[inline(never)]
    pub fn time<T>(&mut self, job: extern "C" fn(*mut T), arg: *mut T) -> Result<u32, Overflow> {
        // SAFETY: SYST_CVR and SYST_CSR are valid, word-aligned System Control Space registers; SysTick was set
        // up by `Ticks::start`, which this `&mut self` proves. Writing CVR clears the counter (it reloads on the
        // next tick) and COUNTFLAG; reading CSR clears COUNTFLAG. Neither has other effects.
        unsafe {
            core::ptr::write_volatile(SYST_CVR as *mut u32, 0);
            // Let the counter reload before the timed region starts.
            cortex_m::asm::nop();
            cortex_m::asm::nop();
            let _ = core::ptr::read_volatile(SYST_CSR as *const u32);
        }
        let ticks = self.time_raw(job, arg);
        // SAFETY: as above, a read of CSR.
        let csr = unsafe { core::ptr::read_volatile(SYST_CSR as *const u32) };
        if csr & (1 << 16) != 0 {
            return Err(Overflow);
        }
        Ok(ticks)
    }

    /// The timed region: one load of the counter, the call, the return and the second load.
    #[inline(never)]
    fn time_raw<T>(&mut self, job: extern "C" fn(*mut T), arg: *mut T) -> u32 {
        let (start, end): (u32, u32);
        // SAFETY: two word loads from the SysTick current value register (always readable; SysTick runs) around
        // a call of `job`, a safe `extern "C"` function, with `arg` in r0 as its first argument. The start value
        // and the register address are in callee-saved registers so they survive the call; every register the
        // C ABI lets the callee change is declared clobbered (on cores with an FPU, s0–s15 as d0–d7). The stack
        // is not touched by the asm itself and is ABI-aligned for the call (no `nostack`).
        unsafe {
            #[cfg(target_abi = "eabihf")]
            asm!(
                "ldr r4, [r5]",
                "blx {job}",
                "ldr r0, [r5]",
                job = in(reg) job,
                in("r0") arg,
                in("r5") SYST_CVR,
                out("r4") start,
                lateout("r0") end,
                out("r1") _, out("r2") _, out("r3") _, out("r12") _, out("lr") _,
                out("d0") _, out("d1") _, out("d2") _, out("d3") _,
                out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            );
            #[cfg(not(target_abi = "eabihf"))]
            asm!(
                "ldr r4, [r5]",
                "blx {job}",
                "ldr r0, [r5]",
                job = in(reg) job,
                in("r0") arg,
                in("r5") SYST_CVR,
                out("r4") start,
                lateout("r0") end,
                out("r1") _, out("r2") _, out("r3") _, out("r12") _, out("lr") _,
            );
        }
        start.wrapping_sub(end) & 0x00FF_FFFF
    }
}

/// Ticks-to-instructions conversion from the calibration.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// Ticks of an empty measured region (subtracted from every measurement).
    pub overhead: u32,
    /// Ticks per 2000 instructions.
    pub per_2000: u32,
    /// The raw calibration: ticks of the 1000-instruction block, of its repetition and of the 3000-instruction
    /// block (for a firmware that prints how it calibrated).
    pub blocks: [u32; 3],
}

impl Calibration {
    /// Instructions in a measured region of `ticks`, rounded to nearest.
    pub fn instructions(&self, ticks: u32) -> u32 {
        let net = u64::from(ticks.saturating_sub(self.overhead)) * 2000;
        let per_2000 = u64::from(self.per_2000.max(1));
        ((net + per_2000 / 2) / per_2000) as u32
    }
}

/// An empty job: timing it gives the fixed cost of a measurement (loads, call and return).
extern "C" fn empty_job(_: *mut u8) {}

/// Ticks taken by `10·REPS` single-instruction ALU operations, timed inside one `asm!` block so that exactly
/// those instructions (plus the second SysTick load) lie between the two reads of the counter.
#[inline(never)]
fn alu_block<const REPS: usize>() -> u32 {
    let (start, end): (u32, u32);
    let mut x: u32 = 0;
    // SAFETY: two word loads from the SysTick current value register, a valid, always-readable System Control
    // Space address (SysTick is running, see `Ticks::start`); the rest is register-only arithmetic.
    unsafe {
        asm!(
            // r3 = SYST_CVR (0xE000_E018), built in registers: a literal-pool load would sit after the block,
            // beyond the reach of a Thumb-1 `ldr` on the Cortex-M0. Outside the timed region.
            "movs r3, #0xE0",
            "lsls r3, r3, #16",
            "adds r3, #0xE0",
            "lsls r3, r3, #8",
            "adds r3, #0x18",
            "ldr r0, [r3]",
            ".rept {reps}",
            "adds r2, #1", "adds r2, #2", "adds r2, #3", "adds r2, #4", "adds r2, #5",
            "adds r2, #6", "adds r2, #7", "adds r2, #8", "adds r2, #9", "adds r2, #10",
            ".endr",
            "ldr r1, [r3]",
            reps = const REPS,
            out("r3") _,
            out("r0") start,
            out("r1") end,
            inout("r2") x,
            options(nostack, readonly),
        );
    }
    core::hint::black_box(x);
    start.wrapping_sub(end) & 0x00FF_FFFF
}

/// Calibrates the instruction counts; `None` when SysTick does not follow an instruction-driven clock (QEMU run
/// without `-icount`, or a board whose SysTick is not clocked).
pub fn calibrate(ticks: &mut Ticks) -> Option<Calibration> {
    // Warm up once: QEMU may count one extra instruction the first time a timed region runs.
    let mut empty = || ticks.time(empty_job, core::ptr::null_mut()).ok();
    let _ = (empty(), alu_block::<100>(), alu_block::<300>());
    let overhead = empty()?;
    let t1000 = alu_block::<100>();
    let t3000 = alu_block::<300>();
    let again = alu_block::<100>();
    // The difference of the two blocks is exactly 2000 instructions.
    let per_2000 = t3000.checked_sub(t1000)?;
    let per_1000 = per_2000 / 2;
    let setup = t1000.abs_diff(per_1000);
    // Instruction-driven ticks: at least one tick per instruction, the 1000-instruction block consistent with
    // the difference (up to the one extra load), and repeatable up to tick quantization.
    let consistent = per_1000 >= 1000 && setup <= per_1000 / 200 && again.abs_diff(t1000) <= 2;
    consistent.then_some(Calibration {
        overhead,
        per_2000,
        blocks: [t1000, again, t3000],
    })
}

/// At most this many bytes of stack below the caller are painted and watched by [`stack_used`].
pub const STACK_WINDOW: usize = 32 * 1024;

/// The painted word.
const PATTERN: u32 = 0xC5AC_CE55;

unsafe extern "C" {
    /// The lowest address the stack may reach (cortex-m-rt's `link.x`: the end of `.bss`/`.uninit`, 4-aligned).
    static _stack_end: u32;
}

/// Bytes of stack `job(arg)` used below this function's stack pointer, or `None` if it reached the bottom of
/// the watched window (it may have used more).
#[inline(never)]
pub fn stack_used<T>(job: extern "C" fn(*mut T), arg: *mut T) -> Option<usize> {
    let sp: usize;
    // SAFETY: reads the stack pointer into a register; no memory access.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    let end = (&raw const _stack_end) as usize;
    let bottom = sp.saturating_sub(STACK_WINDOW).max(end).next_multiple_of(4);
    // SAFETY: fills the words of [bottom, sp) with the pattern. That range is free stack: below this
    // function's stack pointer (nothing live is there: no interrupt is enabled, and the loop itself pushes
    // nothing) and at or above `_stack_end`, the end of every static the linker placed in RAM.
    unsafe {
        asm!(
            "2:",
            "cmp r0, r1",
            "bhs 3f",
            "str r2, [r0]",
            "adds r0, #4",
            "b 2b",
            "3:",
            inout("r0") bottom => _,
            in("r1") sp,
            in("r2") PATTERN,
            options(nostack),
        );
    }
    job(arg);
    let first: usize;
    // SAFETY: reads the words of [bottom, sp) (free stack, see above; readable RAM) upward until one differs
    // from the pattern; no stores.
    unsafe {
        asm!(
            "2:",
            "cmp r0, r1",
            "bhs 3f",
            "ldr r3, [r0]",
            "cmp r3, r2",
            "bne 3f",
            "adds r0, #4",
            "b 2b",
            "3:",
            inout("r0") bottom => first,
            in("r1") sp,
            in("r2") PATTERN,
            out("r3") _,
            options(nostack, readonly),
        );
    }
    if first <= bottom && sp > bottom {
        return None;
    }
    Some(sp.saturating_sub(first))
}
