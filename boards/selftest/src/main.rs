//! emkern-simd self-test and kernel instruction counts, as firmware for emulated Cortex-M boards.
//!
//! - `mps2-an386` (Cortex-M4F, `thumbv7em-none-eabihf`): the scalar level.
//! - `mps3-an547` (Cortex-M55, `thumbv8m.main-none-eabihf`, feature `helium`): the scalar and Helium levels.
//!
//! For every level in [`Simd::available`] the firmware runs [`selftest::run`] and prints the per-level and
//! per-primitive counts, checks the tree-ensemble core, the SIMD forest walker, attention, RoPE and
//! speculative-decoding verification against references (see the `forest`, `walker`, `attn` and `spec` modules), then a table of instructions per kernel
//! call, and finally one line `N passed, M failed`. The exit status (through semihosting, so it becomes QEMU's) is 0 only if every case
//! passed. Logs go out as `defmt` frames over semihosting stdout; faults and panics are reported as text on
//! semihosting stderr and end the run with a failure status.
//!
//! # Instruction counts
//! QEMU has no timing model, but with `-icount shift=S` its virtual clock advances by exactly `2^S` ns per
//! executed instruction, and SysTick (clocked from the core clock) is driven by that virtual clock. The firmware
//! first calibrates with straight-line blocks of 1000 and 3000 single-cycle ALU instructions, each timed inside
//! one `asm!` block: their difference (exactly 2000 instructions) gives the ticks per instruction
//! (`2^10 ns × 25 MHz = 25.6` on the AN386, `× 32 MHz = 32.768` on the AN547). A measurement is an `asm!` block
//! that reads the counter, calls an `extern "C"` job function and reads the counter again; timing an empty job
//! gives the fixed overhead. A kernel's figure is `(ticks − overhead) / ticks_per_instruction`, rounded: every
//! instruction a call through [`Simd`] executes (job unpacking, dispatch, the kernel) beyond an empty call. If
//! the calibration is not linear (QEMU run without `-icount`), no table is printed. Each figure is timed three
//! times: the first run warms up QEMU's translation, the other two must agree within one tick. The figures
//! repeat exactly from run to run. They are executed instructions, not cycles: QEMU counts a `letp` on every
//! iteration (hardware hides it), and a Helium instruction counts as one although the Cortex-M55 takes two
//! beats for most of them.
//!
//! The Cortex-M55 build disables LLVM's auto-vectorization (see `.cargo/config.toml`), so the scalar column is
//! the portable code as plain scalar FPU instructions.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::hint::black_box;

use cortex_m::peripheral::SYST;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, heprintln};
use defmt_semihosting as _;
use emkern_icount::{Calibration, Ticks};
use emkern_simd::{GemmShape, Level, Primitive, Simd, bf16, f16, selftest};

mod attn;
mod forest;
mod spec;
mod walker;

/// At most this many failures are printed per level and primitive (all are counted).
const MAX_REPORTED: u32 = 4;

#[entry]
fn main() -> ! {
    let Some(peripherals) = cortex_m::Peripherals::take() else {
        fail("core peripherals already taken")
    };
    defmt::println!("emkern-simd self-test on {=str}", core_name());

    let (mut passed, mut failed) = (0u32, 0u32);
    let mut levels = [None::<Simd>; Level::ALL.len()];
    for (slot, simd) in levels.iter_mut().zip(Simd::available()) {
        *slot = Some(simd);
        let level = simd.level();
        let mut reported = [0u32; selftest::PRIMITIVE_COUNT];
        let tally = selftest::run(simd, &mut |failure| {
            let index = selftest::PRIMITIVES
                .iter()
                .position(|&p| p == failure.primitive);
            if let Some(count) = index.and_then(|i| reported.get_mut(i)) {
                if *count < MAX_REPORTED {
                    defmt::println!(
                        "FAIL {} (got bits {=u32:#010x}, expected bits {=u32:#010x})",
                        failure,
                        failure.got.to_bits(),
                        failure.expected.to_bits()
                    );
                }
                *count += 1;
            }
        });
        defmt::println!(
            "level {=str}: {=u32} passed, {=u32} failed",
            level.name(),
            tally.passed,
            tally.failed
        );
        for p in &tally.primitives {
            let mut line = Line::new();
            let _ = write!(
                line,
                "  {:<20} {:>6} passed {:>4} failed",
                p.name, p.passed, p.failed
            );
            defmt::println!("{=str}", line.as_str());
        }
        passed = passed.saturating_add(tally.passed);
        failed = failed.saturating_add(tally.failed);
    }

    let (forest_passed, forest_failed) = forest::run();
    passed = passed.saturating_add(forest_passed);
    failed = failed.saturating_add(forest_failed);
    let (walker_passed, walker_failed) = walker::run();
    passed = passed.saturating_add(walker_passed);
    failed = failed.saturating_add(walker_failed);
    let (attn_passed, attn_failed) = attn::run();
    passed = passed.saturating_add(attn_passed);
    failed = failed.saturating_add(attn_failed);
    let (spec_passed, spec_failed) = spec::run();
    passed = passed.saturating_add(spec_passed);
    failed = failed.saturating_add(spec_failed);

    instruction_counts(peripherals.SYST, &levels);

    defmt::println!("{=u32} passed, {=u32} failed", passed, failed);
    debug::exit(if failed == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Semihosting exit ends QEMU; on a probe without semihosting the core parks here.
    loop {
        cortex_m::asm::wfi();
    }
}

/// The core, from the CPUID part number.
fn core_name() -> &'static str {
    // SAFETY: CPUID (0xE000_ED00) is an always-readable, word-aligned, read-only System Control Space register
    // on every M-profile core; a volatile read has no side effects.
    let cpuid = unsafe { core::ptr::read_volatile(0xE000_ED00 as *const u32) };
    match (cpuid >> 4) & 0xFFF {
        0xC24 => "Cortex-M4",
        0xD21 => "Cortex-M33",
        0xD22 => "Cortex-M55",
        0xD23 => "Cortex-M85",
        _ => "an unknown Cortex-M core",
    }
}

/// Reports `message` on semihosting stderr and ends the run with a failure status.
fn fail(message: &str) -> ! {
    heprintln!("error: {}", message);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    // Text on stderr rather than defmt: the fault may have hit while a defmt frame was half written.
    heprintln!(
        "HardFault: pc={:#010x} lr={:#010x} xpsr={:#010x}",
        frame.pc(),
        frame.lr(),
        frame.xpsr()
    );
    // SAFETY: HFSR (0xE000_ED2C) and CFSR (0xE000_ED28) are always-readable, word-aligned System Control Space
    // registers; reading them has no side effects.
    let (hfsr, cfsr) = unsafe {
        (
            core::ptr::read_volatile(0xE000_ED2C as *const u32),
            core::ptr::read_volatile(0xE000_ED28 as *const u32),
        )
    };
    heprintln!("HFSR={:#010x} CFSR={:#010x}", hfsr, cfsr);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    heprintln!("unexpected exception or interrupt {}", irqn);
    debug::exit(debug::EXIT_FAILURE);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    heprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// A fixed-capacity text line for column-aligned output (defmt has no width formatting).
struct Line {
    buf: [u8; 120],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            buf: [0; 120],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Instruction counts (the shared counter: `emkern-icount`)

/// One measured call: which kernel, at which level, on how many elements.
struct Job<'a> {
    simd: Simd,
    kernel: Primitive,
    n: usize,
    bench: &'a mut Bench,
}

extern "C" fn run_job(job: *mut Job<'_>) {
    // SAFETY: `Ticks::time` passes the pointer it was given, which `instruction_counts` derives from a live,
    // exclusive `&mut Job` that outlives the call.
    if let Some(job) = unsafe { job.as_mut() } {
        call(job.simd, job.kernel, job.n, job.bench);
    }
}

/// Calibrates the counter ([`emkern_icount::calibrate`]) and prints how.
fn calibrate(ticks: &mut Ticks) -> Option<Calibration> {
    let Some(cal) = emkern_icount::calibrate(ticks) else {
        defmt::println!(
            "instruction counts unavailable: SysTick is not driven by QEMU's -icount clock"
        );
        return None;
    };
    let [t1000, again, t3000] = cal.blocks;
    defmt::println!(
        "calibration: empty call {=u32} ticks, 1000-instruction block {=u32} and {=u32} ticks, 3000-instruction block {=u32} ticks",
        cal.overhead,
        t1000,
        again,
        t3000
    );
    let mut line = Line::new();
    let _ = write!(
        line,
        "calibration: {}.{:04} ticks per instruction; counts below are instructions per call",
        cal.per_2000 / 2000,
        (cal.per_2000 % 2000) * 5
    );
    defmt::println!("{=str}", line.as_str());
    Some(cal)
}

/// Ticks of one measured call; a region of 2^24 ticks or more (never reached by these calls) reads as
/// `u32::MAX`, which shows in the table instead of a wrapped count.
fn time<T>(ticks: &mut Ticks, job: extern "C" fn(*mut T), arg: *mut T) -> u32 {
    ticks.time(job, arg).unwrap_or(u32::MAX)
}

/// Buffers for the measured calls.
struct Bench {
    a: [f32; 1024],
    b: [f32; 1024],
    y: [f32; 1024],
    h: [f16; 1024],
    g: [bf16; 1024],
    rows_out: [f32; 4],
}

/// One call of `kernel` on `n` elements (`dot_rows`: 4 rows of `n/4`, so also `n` products; rotations: `x` of
/// length `n`). Not inlined, so every level is measured through the same call.
#[inline(never)]
fn call(simd: Simd, kernel: Primitive, n: usize, bench: &mut Bench) {
    let Bench {
        a,
        b,
        y,
        h,
        g,
        rows_out,
    } = bench;
    let (a, b, y) = (
        a.get(..n).unwrap_or(&[]),
        b.get(..n).unwrap_or(&[]),
        y.get_mut(..n).unwrap_or(&mut []),
    );
    let (h, g) = (
        h.get_mut(..n).unwrap_or(&mut []),
        g.get_mut(..n).unwrap_or(&mut []),
    );
    let half = a.get(..n / 2).unwrap_or(&[]);
    match kernel {
        Primitive::Dot => {
            black_box(simd.dot(a, b));
        }
        Primitive::DotRows => {
            let x = a.get(..n / 4).unwrap_or(&[]);
            black_box(simd.dot_rows(x, b, n / 4, rows_out));
        }
        Primitive::Axpy => simd.axpy(0.5, a, y),
        Primitive::Scale => simd.scale(0.999, y),
        Primitive::Max => {
            black_box(simd.max(a));
        }
        Primitive::Sum => {
            black_box(simd.sum(a));
        }
        Primitive::Exp => simd.exp(a, y),
        Primitive::F16ToF32 => simd.f16_to_f32(h, y),
        Primitive::F32ToF16 => simd.f32_to_f16(a, h),
        Primitive::Bf16ToF32 => simd.bf16_to_f32(g, y),
        Primitive::F32ToBf16 => simd.f32_to_bf16(a, g),
        Primitive::RotateInterleaved => simd.rotate_interleaved(y, half, half),
        Primitive::RotateHalfSplit => simd.rotate_half_split(y, half, half),
        // Not streaming: left out of the table (gemm is counted by the attention self-test's calls).
        Primitive::ExpInPlace | Primitive::Gemm | Primitive::Transpose => {}
    }
}

#[inline(never)]
fn instruction_counts(syst: SYST, levels: &[Option<Simd>]) {
    let mut ticks = Ticks::start(syst);
    let Some(cal) = calibrate(&mut ticks) else {
        return;
    };

    let mut bench = Bench {
        a: [0.0; 1024],
        b: [0.0; 1024],
        y: [0.0; 1024],
        h: [f16::ZERO; 1024],
        g: [bf16::ZERO; 1024],
        rows_out: [0.0; 4],
    };
    // Deterministic, well-scaled inputs: exp arguments in [-8, 8), products and sums far from overflow.
    let mut state = 0x1234_5678u32;
    for (i, (a, b)) in bench.a.iter_mut().zip(bench.b.iter_mut()).enumerate() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *a = (state >> 8) as f32 * (16.0 / 16_777_216.0) - 8.0;
        *b = (i % 17) as f32 * 0.125 - 1.0;
    }
    for ((h, g), &a) in bench.h.iter_mut().zip(bench.g.iter_mut()).zip(&bench.a) {
        *h = f16::from_f32(a);
        *g = bf16::from_f32(a);
    }

    let mut header = Line::new();
    let _ = write!(header, "{:<20} {:>5}", "kernel", "n");
    for simd in levels.iter().flatten() {
        let _ = write!(header, " {:>10}", simd.level().name());
    }
    if levels.iter().flatten().count() > 1 {
        let _ = write!(header, " {:>8}", "speedup");
    }
    defmt::println!("{=str}", header.as_str());

    let mut repeatable = true;
    // The table's rows: the streaming primitives of the one list in emkern-simd.
    for kernel in Primitive::ALL.into_iter().filter(|p| p.is_streaming()) {
        let rows = if kernel == Primitive::DotRows {
            " 4 rows"
        } else {
            ""
        };
        for n in [256usize, 1024] {
            let mut label = Line::new();
            let _ = write!(label, "{}{rows}", kernel.name());
            let mut line = Line::new();
            let _ = write!(line, "{:<20} {:>5}", label.as_str(), n);
            let (mut first, mut last) = (0u32, 0u32);
            for (k, simd) in levels.iter().flatten().enumerate() {
                // Same data for every level and run (the output buffer is reset). The same timed code runs three
                // times: the first run warms up QEMU's translation of it, the other two must agree up to one tick
                // of quantization (a tick is a fraction of an instruction).
                let mut runs = [0u32; 3];
                for t in runs.iter_mut() {
                    bench.y = bench.b;
                    let mut job = Job {
                        simd: *simd,
                        kernel,
                        n,
                        bench: &mut bench,
                    };
                    *t = time(&mut ticks, run_job, &mut job);
                }
                let [_, t1, t2] = runs;
                let count = cal.instructions(t1.min(t2));
                repeatable &= t1.abs_diff(t2) <= 1;
                if k == 0 {
                    first = count;
                }
                last = count;
                let _ = write!(line, " {:>10}", count);
            }
            if levels.iter().flatten().count() > 1 {
                let tenths =
                    (u64::from(first) * 100 + u64::from(last.max(1)) / 2) / u64::from(last.max(1));
                let _ = write!(line, " {:>5}.{:02}x", tenths / 100, tenths % 100);
            }
            defmt::println!("{=str}", line.as_str());
        }
    }
    repeatable &= gemm_instructions(&mut ticks, &cal, levels);
    repeatable &= forest_instructions(&mut ticks, &cal);
    repeatable &= walker::instructions(&mut ticks, &cal);
    repeatable &= attention_instructions(&mut ticks, &cal, levels);
    if !repeatable {
        defmt::println!("warning: some instruction counts did not repeat within one tick");
    }
}

/// Shapes `(m, n, k, accumulate)` of the measured `gemm` calls, like attention's: scores `Sᵀ = K·Qᵀ` (a tile
/// of keys × queries over the head size, from zero), `P·V` (queries × head size over keys, accumulating), and a
/// ragged shape that exercises the row and column tails.
const GEMM_SHAPES: [(usize, usize, usize, bool); 3] =
    [(8, 32, 32, false), (32, 8, 64, true), (13, 35, 17, false)];

/// One measured `gemm` call: contiguous operands of the largest shape in [`GEMM_SHAPES`].
struct GemmJob {
    simd: Simd,
    shape: GemmShape,
    accumulate: bool,
    a: [f32; 2048],
    b: [f32; 1024],
    c: [f32; 1024],
}

extern "C" fn gemm_job(job: *mut GemmJob) {
    // SAFETY: `Ticks::time` passes the pointer it was given, which `gemm_instructions` derives from a live,
    // exclusive `&mut GemmJob` that outlives the call.
    if let Some(job) = unsafe { job.as_mut() } {
        let GemmJob {
            simd,
            shape,
            accumulate,
            a,
            b,
            c,
        } = job;
        black_box(simd.gemm(*shape, a, b, c, *accumulate));
    }
}

/// Instructions per `gemm` call for each shape of [`GEMM_SHAPES`] at each level, as rows of the kernel table
/// (named `gemm m×n×k`, `+=` when accumulating; the `n` column is the number of multiply-adds `m·n·k`); returns
/// whether the counts repeated.
fn gemm_instructions(ticks: &mut Ticks, cal: &Calibration, levels: &[Option<Simd>]) -> bool {
    let mut job = GemmJob {
        simd: Simd::scalar(),
        shape: GemmShape::default(),
        accumulate: false,
        a: [0.0; 2048],
        b: [0.0; 1024],
        c: [0.0; 1024],
    };
    for (i, a) in job.a.iter_mut().enumerate() {
        *a = (i % 13) as f32 * 0.0625 - 0.375;
    }
    for (i, b) in job.b.iter_mut().enumerate() {
        *b = (i % 17) as f32 * 0.125 - 1.0;
    }
    let levels_n = levels.iter().flatten().count();
    let mut repeatable = true;
    for &(m, n, k, accumulate) in &GEMM_SHAPES {
        job.shape = GemmShape {
            m,
            n,
            k,
            lda: k,
            ldb: n,
            ldc: n,
        };
        job.accumulate = accumulate;
        let mut line = Line::new();
        let mut name = Line::new();
        let _ = write!(
            name,
            "gemm {}x{}x{}{}",
            m,
            n,
            k,
            if accumulate { " +=" } else { "" }
        );
        let _ = write!(line, "{:<20} {:>5}", name.as_str(), m * n * k);
        let (mut first, mut last) = (0u32, 0u32);
        for (l, simd) in levels.iter().flatten().enumerate() {
            job.simd = *simd;
            // As in the kernel table: a warm-up run, then two that must agree; C is reset before each run.
            let mut runs = [0u32; 3];
            for t in runs.iter_mut() {
                job.c = [0.5; 1024];
                *t = time(ticks, gemm_job, &mut job);
            }
            let [_, t1, t2] = runs;
            repeatable &= t1.abs_diff(t2) <= 1;
            let count = cal.instructions(t1.min(t2));
            if l == 0 {
                first = count;
            }
            last = count;
            let _ = write!(line, " {:>10}", count);
        }
        if levels_n > 1 {
            let tenths =
                (u64::from(first) * 100 + u64::from(last.max(1)) / 2) / u64::from(last.max(1));
            let _ = write!(line, " {:>5}.{:02}x", tenths / 100, tenths % 100);
        }
        defmt::println!("{=str}", line.as_str());
    }
    repeatable
}

/// Instructions per attention call (the self-test problem) at each level; returns whether the counts repeated.
fn attention_instructions(ticks: &mut Ticks, cal: &Calibration, levels: &[Option<Simd>]) -> bool {
    let problem = attn::Problem::new();
    let mut repeatable = true;
    for half in [false, true] {
        let mut line = Line::new();
        let _ = write!(
            line,
            "attention call ({} K/V)",
            if half { "f16" } else { "f32" }
        );
        for simd in levels.iter().flatten() {
            let mut job = attn::Job {
                problem: &problem,
                simd: *simd,
                half,
                out: [0.0; attn::OUT_LEN],
            };
            let mut runs = [0u32; 3];
            for t in runs.iter_mut() {
                *t = time(ticks, attn::job, &mut job);
            }
            let [_, t1, t2] = runs;
            repeatable &= t1.abs_diff(t2) <= 1;
            let _ = write!(
                line,
                "  {}: {}",
                simd.level().name(),
                cal.instructions(t1.min(t2))
            );
        }
        defmt::println!("{=str}", line.as_str());
    }
    repeatable
}

/// Instructions per row of the bundled forest (mean and maximum over the first rows); returns whether the
/// counts repeated.
fn forest_instructions(ticks: &mut Ticks, cal: &Calibration) -> bool {
    let Ok(model) = emkern::forest::Forest::new(forest::MODEL) else {
        return true;
    };
    let nf = model.n_features();
    let rows = forest::row_count(nf).min(32);
    let mut job = forest::RowJob {
        forest: model,
        row: [0.0; forest::MAX_FEATURES],
        out: [0.0],
    };
    let (mut total, mut max, mut repeatable) = (0u64, 0u32, true);
    for r in 0..rows {
        if !forest::load_row(r, nf, &mut job.row) {
            break;
        }
        let mut runs = [0u32; 3];
        for t in runs.iter_mut() {
            *t = time(ticks, forest::predict_job, &mut job);
        }
        let [_, t1, t2] = runs;
        repeatable &= t1.abs_diff(t2) <= 1;
        let count = cal.instructions(t1.min(t2));
        total += u64::from(count);
        max = max.max(count);
    }
    let trees = model.summary().trees.max(1) as u64;
    let mean = total / rows.max(1) as u64;
    defmt::println!(
        "forest predict: {=u64} instructions/row on average ({=u64}/tree), at most {=u32}, over {=usize} rows",
        mean,
        mean / trees,
        max,
        rows
    );
    repeatable
}
