//! Profiling firmware for `emkern profile`: one tree-ensemble engine, the rows to predict, and the measurements,
//! on an emulated Cortex-M board.
//!
//! `emkern profile` writes the inputs (see `build.rs`) and builds this crate once per engine (features
//! `engine-blob`, `engine-compact`, `engine-int`, `engine-rust`, `engine-c`) and once without any engine (the
//! baseline for the flash growth), then runs each engine image under QEMU with `-icount` and reads its semihosting
//! output.
//!
//! The firmware calibrates the instruction counter ([`measure`]), prepares the engine (the blob engine validates
//! its blob once), then for every row: copies it from flash into a buffer, times the prediction three times (the
//! first run warms up QEMU's translation; the other two must agree within one tick), measures the stack it used,
//! and prints the instruction count and the predicted values as f32 bit patterns, so that the host compares
//! exactly. Output, one item a line on semihosting stdout:
//!
//! ```text
//! engine <name>
//! calibration <ticks per 2000 instructions> <overhead ticks>
//! init-stack <bytes>
//! row <index> <instructions> <hex bits of each output value>
//! stack <bytes>
//! done <rows>
//! ```
//!
//! A line `error <message>` and a failure exit status end a run that could not measure. HardFaults and panics
//! are reported the same way.
#![no_std]
#![no_main]

use core::fmt::Write as _;

use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hio};
use defmt as _;

mod engine;
use emkern_icount as measure;

/// The shape of the rows and outputs, written by `emkern profile`.
mod config {
    include!(concat!(env!("EMKERN_PROFILE_GEN"), "/config.rs"));
}

use config::{N_FEATURES, OUTPUT_LEN, ROWS};
use engine::{Engine, Job};
use measure::Ticks;

/// The rows: `ROWS × N_FEATURES` little-endian f32, row-major.
static ROW_BYTES: &[u8] = include_bytes!(concat!(env!("EMKERN_PROFILE_GEN"), "/rows.bin"));

/// Output to semihosting stdout, buffered: written when a line ends (or when the buffer is full, for long lines).
struct Line {
    buf: [u8; 256],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            buf: [0; 256],
            len: 0,
        }
    }

    /// Writes out what is buffered.
    fn flush(&mut self) {
        if let Ok(mut out) = hio::hstdout() {
            let _ = out.write_all(self.buf.get(..self.len).unwrap_or(&[]));
        }
        self.len = 0;
    }

    /// Ends the line and writes it out.
    fn emit(&mut self) {
        let _ = self.write_str("\n");
        self.flush();
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for chunk in s.as_bytes().chunks(self.buf.len()) {
            if self.len + chunk.len() > self.buf.len() {
                self.flush();
            }
            let end = self.len + chunk.len();
            let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
            dst.copy_from_slice(chunk);
            self.len = end;
        }
        Ok(())
    }
}

/// Prints `error <message>` and ends the run with a failure status.
fn fail(message: &str) -> ! {
    let mut line = Line::new();
    let _ = write!(line, "error {message}");
    line.emit();
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// Preparing the engine, as a stack-measured job.
struct InitJob {
    engine: Option<Result<Engine, &'static str>>,
}

extern "C" fn init_job(job: *mut InitJob) {
    // SAFETY: the measurement passes the pointer it was given, which `main` derives from a live, exclusive
    // `&mut InitJob` that outlives the call.
    if let Some(job) = unsafe { job.as_mut() } {
        job.engine = Some(engine::new());
    }
}

/// Copies row `r` into `row`; `false` past the end of the rows.
fn load_row(r: usize, row: &mut [f32; N_FEATURES]) -> bool {
    let start = r * N_FEATURES * 4;
    let Some(bytes) = ROW_BYTES.get(start..start + N_FEATURES * 4) else {
        return false;
    };
    for (v, b) in row.iter_mut().zip(bytes.chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    true
}

#[entry]
fn main() -> ! {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("core peripherals already taken")
    };
    let mut line = Line::new();
    let _ = write!(line, "engine {}", engine::NAME);
    line.emit();

    let mut ticks = Ticks::start(peripherals.SYST);
    let Some(cal) = measure::calibrate(&mut ticks) else {
        fail(
            "instruction counts unavailable: SysTick does not follow an instruction-driven clock (run QEMU with -icount)",
        )
    };
    let _ = write!(line, "calibration {} {}", cal.per_2000, cal.overhead);
    line.emit();

    let mut init = InitJob { engine: None };
    let Some(init_stack) = measure::stack_used(init_job, &mut init) else {
        fail("the engine's start-up used the whole watched stack window")
    };
    let engine = match init.engine {
        Some(Ok(engine)) => engine,
        Some(Err(message)) => fail(message),
        None => fail("the engine was not prepared"),
    };
    let _ = write!(line, "init-stack {init_stack}");
    line.emit();

    let mut job = Job {
        engine: &engine,
        row: [0.0; N_FEATURES],
        out: [0.0; OUTPUT_LEN],
        ok: true,
    };
    let mut stack = 0usize;
    for r in 0..ROWS {
        if !load_row(r, &mut job.row) {
            fail("fewer rows than configured");
        }
        let mut runs = [0u32; 3];
        for t in runs.iter_mut() {
            match ticks.time(engine::emkern_profile_predict, &mut job) {
                Ok(v) => *t = v,
                Err(measure::Overflow) => {
                    fail("a prediction ran for 2^24 SysTick ticks or more: too long to time")
                }
            }
        }
        if !job.ok {
            fail("the engine refused a row");
        }
        let [_, t1, t2] = runs;
        if t1.abs_diff(t2) > 1 {
            let _ = write!(
                line,
                "error row {r}: instruction counts did not repeat ({t1} and {t2} ticks)"
            );
            line.emit();
            debug::exit(debug::EXIT_FAILURE);
        }
        match measure::stack_used(engine::emkern_profile_predict, &mut job) {
            Some(used) => stack = stack.max(used),
            None => fail("a prediction used the whole watched stack window"),
        }
        let _ = write!(line, "row {r} {}", cal.instructions(t1.min(t2)));
        for v in &job.out {
            let _ = write!(line, " {:08x}", v.to_bits());
        }
        line.emit();
    }
    let _ = write!(line, "stack {stack}");
    line.emit();
    let _ = write!(line, "done {ROWS}");
    line.emit();
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    let mut line = Line::new();
    let _ = write!(
        line,
        "error HardFault at pc={:#010x} lr={:#010x}",
        frame.pc(),
        frame.lr()
    );
    line.emit();
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    let mut line = Line::new();
    let _ = write!(line, "error unexpected exception or interrupt {irqn}");
    line.emit();
    debug::exit(debug::EXIT_FAILURE);
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    fail("panic")
}
