//! The `emkern bench` measurements: every primitive × level × length, each reported as a rate, as a speed-up over
//! the scalar level measured in the same run, and as a fraction of the core's measured peak (FMA-throughput loop)
//! or of its measured copy bandwidth.
//!
//! Timing: each measurement repeats the kernel until a sample lasts about `sample_ms`, takes `samples` samples and
//! reports the median. Inputs are deterministic pseudo-random values in the kernels' normal range.

use std::hint::black_box;
use std::time::{Duration, Instant};

use emkern_simd::{Simd, bf16, calibrate, f16};

pub use emkern_simd::Primitive;

/// What a primitive's rate is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Floating-point operations per second (a multiply-add counts 2).
    Flops,
    /// Elements per second (for `exp`, whose operation count is an implementation detail).
    Elements,
    /// Bytes read plus written per second (conversions).
    Bytes,
}

/// Head size used by the `dot_rows` benchmark (shorter vectors use their whole length as one row).
pub const DOT_ROWS_DIM: usize = 128;

/// The `dot_rows` row length for `n` elements.
fn dot_rows_dim(n: usize) -> usize {
    DOT_ROWS_DIM.min(n).max(1)
}

/// The primitives `emkern bench` times per element, in report order: the streaming ones of
/// [`Primitive::ALL`] ([`Primitive::is_streaming`]; gemm and transpose are timed inside `bench --attention`).
pub fn primitives() -> impl Iterator<Item = Primitive> {
    Primitive::ALL.into_iter().filter(|p| p.is_streaming())
}

/// The unit of a streaming primitive's rate and how many of them one element accounts for; `None` for the
/// primitives this table does not time ([`primitives`]).
pub fn work_per_element(prim: Primitive) -> Option<(Unit, f64)> {
    Some(match prim {
        Primitive::Dot | Primitive::DotRows | Primitive::Axpy => (Unit::Flops, 2.0),
        Primitive::Scale | Primitive::Max | Primitive::Sum => (Unit::Flops, 1.0),
        // Per element: 2 multiplies and 1 add/sub (6 flops per rotated pair).
        Primitive::RotateInterleaved | Primitive::RotateHalfSplit => (Unit::Flops, 3.0),
        Primitive::Exp => (Unit::Elements, 1.0),
        Primitive::F16ToF32 | Primitive::F32ToF16 | Primitive::Bf16ToF32 | Primitive::F32ToBf16 => {
            (Unit::Bytes, 6.0)
        }
        Primitive::ExpInPlace | Primitive::Gemm | Primitive::Transpose => return None,
    })
}

/// Input and output buffers for `n` elements, reused across levels.
pub struct Buffers {
    a: Vec<f32>,
    b: Vec<f32>,
    out: Vec<f32>,
    rows_out: Vec<f32>,
    half: Vec<f16>,
    brain: Vec<bf16>,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

/// Deterministic values in `[-1, 1)` (xorshift32).
pub fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// Longest `--len` measured: the buffers of one length take about 32 bytes per element, so 2²⁷ elements need
/// about 4 GiB.
pub const MAX_LEN: usize = 1 << 27;

/// Checks the element counts asked for (`1..=MAX_LEN`), before any buffer is allocated.
pub fn check_lengths(lengths: &[usize]) -> Result<(), String> {
    match lengths.iter().find(|&&n| n == 0 || n > MAX_LEN) {
        Some(n) => Err(format!(
            "--len {n}: lengths are 1 to {MAX_LEN} elements (the buffers take about 32 bytes per element)"
        )),
        None => Ok(()),
    }
}

impl Buffers {
    /// Buffers for `n` elements.
    pub fn new(n: usize) -> Buffers {
        let a = pseudo_random(n, 1);
        let b = pseudo_random(n, 2);
        let angles = pseudo_random(n / 2 + 1, 3);
        Buffers {
            half: a.iter().map(|&v| f16::from_f32(v)).collect(),
            brain: a.iter().map(|&v| bf16::from_f32(v)).collect(),
            cos: angles.iter().map(|t| (t * 3.0).cos()).collect(),
            sin: angles.iter().map(|t| (t * 3.0).sin()).collect(),
            rows_out: vec![0.0; n / dot_rows_dim(n) + 1],
            out: vec![0.0; n],
            a,
            b,
        }
    }

    /// Runs `prim` once at `simd`'s level over all `n` elements; a primitive that is not streaming
    /// ([`primitives`]) runs nothing.
    pub fn run(&mut self, simd: Simd, prim: Primitive) {
        let n = self.a.len();
        match prim {
            Primitive::Dot => {
                black_box(simd.dot(black_box(&self.a), &self.b));
            }
            Primitive::DotRows => {
                let d = dot_rows_dim(n);
                black_box(simd.dot_rows(&self.a[..d.min(n)], &self.b, d, &mut self.rows_out));
            }
            Primitive::Axpy => simd.axpy(black_box(1.0e-3), &self.a, &mut self.b),
            // Alternate factors so repeated scaling stays in range.
            Primitive::Scale => {
                simd.scale(black_box(1.5), &mut self.b);
                simd.scale(black_box(1.0 / 1.5), &mut self.b);
            }
            Primitive::Max => {
                black_box(simd.max(black_box(&self.a)));
            }
            Primitive::Sum => {
                black_box(simd.sum(black_box(&self.a)));
            }
            Primitive::Exp => simd.exp(&self.a, &mut self.out),
            Primitive::F16ToF32 => simd.f16_to_f32(&self.half, &mut self.out),
            Primitive::F32ToF16 => simd.f32_to_f16(&self.a, &mut self.half),
            Primitive::Bf16ToF32 => simd.bf16_to_f32(&self.brain, &mut self.out),
            Primitive::F32ToBf16 => simd.f32_to_bf16(&self.a, &mut self.brain),
            // Rotations are orthogonal: repeating them keeps magnitudes.
            Primitive::RotateInterleaved => {
                simd.rotate_interleaved(&mut self.b, &self.cos, &self.sin)
            }
            Primitive::RotateHalfSplit => simd.rotate_half_split(&mut self.b, &self.cos, &self.sin),
            Primitive::ExpInPlace | Primitive::Gemm | Primitive::Transpose => {}
        }
        black_box(&mut self.b);
    }

    /// How many elements one run of `prim` processes (rows × dim for `dot_rows`; `scale` runs twice).
    pub fn elements(&self, prim: Primitive) -> usize {
        let n = self.a.len();
        match prim {
            Primitive::DotRows => {
                (n / dot_rows_dim(n)).min(self.rows_out.len()) * dot_rows_dim(n).min(n)
            }
            Primitive::Scale => 2 * n,
            _ => n,
        }
    }
}

/// Timing settings.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Target duration of one sample.
    pub sample: Duration,
    /// Samples per measurement (the median is reported).
    pub samples: usize,
}

impl Timing {
    /// Defaults for a careful run.
    pub const DEFAULT: Timing = Timing {
        sample: Duration::from_millis(4),
        samples: 15,
    };
    /// A quick run (smoke test of the benchmark itself).
    pub const QUICK: Timing = Timing {
        sample: Duration::from_micros(300),
        samples: 3,
    };

    /// [`Timing::QUICK`] for a smoke run, [`Timing::DEFAULT`] otherwise.
    pub const fn new(quick: bool) -> Timing {
        if quick {
            Timing::QUICK
        } else {
            Timing::DEFAULT
        }
    }
}

/// Median seconds per call of `f`, calling it in batches that last about `timing.sample`.
pub fn seconds_per_call(timing: Timing, mut f: impl FnMut()) -> f64 {
    // Calibrate the batch size.
    let mut reps = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        let e = t.elapsed();
        if e >= timing.sample / 4 || reps >= 1 << 30 {
            let scale = timing.sample.as_secs_f64() / e.as_secs_f64().max(1e-9);
            reps = ((reps as f64 * scale).ceil() as u64).max(1);
            break;
        }
        reps *= 4;
    }
    let mut per_call: Vec<f64> = (0..timing.samples.max(1))
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    per_call[per_call.len() / 2]
}

/// One measured rate.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// Primitive.
    pub primitive: Primitive,
    /// Level name.
    pub level: &'static str,
    /// Elements per call.
    pub n: usize,
    /// Rate in the primitive's unit per second.
    pub rate: f64,
}

/// Measures `prim` at `simd` for `n` elements; `None` for a primitive that is not streaming ([`primitives`]).
pub fn measure(simd: Simd, prim: Primitive, n: usize, timing: Timing) -> Option<Measurement> {
    let (_, per) = work_per_element(prim)?;
    let mut bufs = Buffers::new(n);
    let elements = bufs.elements(prim) as f64;
    let secs = seconds_per_call(timing, || bufs.run(simd, prim));
    Some(Measurement {
        primitive: prim,
        level: simd.level().name(),
        n,
        rate: elements * per / secs,
    })
}

/// Peak FLOP/s of one core at `simd`'s level (its FMA-throughput loop), if the level has one.
pub fn peak_flops(simd: Simd, timing: Timing) -> Option<f64> {
    calibrate::fma_peak(simd, 1)?;
    let iterations = 4096;
    let mut flops = 0;
    let secs = seconds_per_call(timing, || {
        if let Some((sum, f)) = calibrate::fma_peak(simd, black_box(iterations)) {
            black_box(sum);
            flops = f;
        }
    });
    Some(flops as f64 / secs)
}

/// Copy bandwidth (bytes read + written per second) of a copy that moves `bytes` bytes in all (`bytes / 2` read
/// and `bytes / 2` written), i.e. with the same working set as a kernel that reads and writes `bytes`.
pub fn copy_bandwidth(bytes: usize, timing: Timing) -> f64 {
    let n = (bytes / 8).max(1);
    let src = pseudo_random(n, 9);
    let mut dst = vec![0.0f32; n];
    let secs = seconds_per_call(timing, || {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
    });
    (8 * n) as f64 / secs
}

/// Formats a rate with its unit (`GFLOP/s`, `Gelem/s`, `GB/s`).
pub fn format_rate(unit: Unit, rate: f64) -> String {
    let u = match unit {
        Unit::Flops => "GFLOP/s",
        Unit::Elements => "Gelem/s",
        Unit::Bytes => "GB/s",
    };
    format!("{:.2} {u}", rate / 1e9)
}

/// Runs the whole table for the given levels, lengths and primitives and returns it as text. `progress` is
/// called before each measurement with (done, total).
pub fn report(
    levels: &[Simd],
    lengths: &[usize],
    primitives: &[Primitive],
    timing: Timing,
    mut progress: impl FnMut(usize, usize),
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let scalar = Simd::scalar();
    let peaks: Vec<Option<f64>> = levels.iter().map(|&l| peak_flops(l, timing)).collect();
    let _ = writeln!(s, "machine ceilings, one core (measured in this run):");
    for (l, p) in levels.iter().zip(&peaks) {
        if let Some(p) = p {
            let _ = writeln!(
                s,
                "  fma peak  {:<7} {:>8.2} GFLOP/s",
                l.level().name(),
                p / 1e9
            );
        }
    }
    for bytes in [24usize << 10, 384 << 10, 192 << 20] {
        let bw = copy_bandwidth(bytes, timing);
        let _ = writeln!(
            s,
            "  copy      {:>9} KiB working set {:>8.2} GB/s",
            bytes >> 10,
            bw / 1e9
        );
    }
    let _ = writeln!(
        s,
        "  (each conversion is compared with a copy of its own working set, measured alongside)"
    );
    let _ = writeln!(s);
    let _ = write!(s, "{:<19} {:>6}", "primitive", "n");
    for l in levels {
        let _ = write!(s, " | {:<33}", l.level().name());
    }
    let _ = writeln!(s);
    let total = primitives.len() * lengths.len() * levels.len();
    let mut done = 0;
    for &prim in primitives {
        let Some((unit, per)) = work_per_element(prim) else {
            continue;
        };
        for &n in lengths {
            let _ = write!(s, "{:<19} {:>6}", prim.name(), n);
            let mut base = None;
            // A conversion's ceiling: a copy of its working set, measured once for all levels.
            let copy =
                (unit == Unit::Bytes).then(|| copy_bandwidth((n as f64 * per) as usize, timing));
            for (i, &l) in levels.iter().enumerate() {
                progress(done, total);
                done += 1;
                let Some(m) = measure(l, prim, n, timing) else {
                    continue;
                };
                let base_rate = *base.get_or_insert_with(|| {
                    if l.level() == scalar.level() {
                        m.rate
                    } else {
                        measure(scalar, prim, n, timing).map_or(m.rate, |b| b.rate)
                    }
                });
                let speedup = m.rate / base_rate;
                let ceiling = match unit {
                    Unit::Flops => peaks[i].map(|p| format!("{:>3.0}% peak", 100.0 * m.rate / p)),
                    Unit::Bytes => copy.map(|bw| format!("{:>3.0}% copy", 100.0 * m.rate / bw)),
                    Unit::Elements => None,
                };
                let _ = write!(
                    s,
                    " | {:>16} {:>5.1}x {:>9}",
                    format_rate(unit, m.rate),
                    speedup,
                    ceiling.unwrap_or_default()
                );
            }
            let _ = writeln!(s);
        }
    }
    progress(total, total);
    s
}

/// Nanoseconds per row for a forest: one `predict` call per row (single-row latency, as firmware calls it) and
/// one `predict_batch` over all rows.
pub fn forest_ns_per_row(
    forest: &emkern::forest::Forest<'_>,
    rows: &[f32],
    n_rows: usize,
    timing: Timing,
) -> (f64, f64) {
    let nf = forest.n_features();
    let w = forest.output_len();
    let mut out = vec![0.0f32; n_rows * w];
    let single = seconds_per_call(timing, || {
        for (r, o) in out.chunks_exact_mut(w).enumerate().take(n_rows) {
            let _ = forest.predict(black_box(&rows[r * nf..(r + 1) * nf]), o);
        }
        black_box(&mut out);
    });
    let batch = seconds_per_call(timing, || {
        let _ = forest.predict_batch(black_box(rows), nf, n_rows, &mut out, false);
        black_box(&mut out);
    });
    (single * 1e9 / n_rows as f64, batch * 1e9 / n_rows as f64)
}

/// Nanoseconds per row of [`emkern::forest::Forest::predict_batch_simd`] over all rows, at each of `levels`
/// (the lockstep walker at that level), or why the model has no SIMD plan (its batches take the scalar path).
pub fn forest_simd_ns_per_row(
    forest: &emkern::forest::Forest<'_>,
    rows: &[f32],
    n_rows: usize,
    levels: &[Simd],
    timing: Timing,
) -> Result<Vec<(&'static str, f64)>, emkern::forest::PlanUnsupported> {
    let mut words = vec![0u32; forest.simd_plan_len()?];
    let plan = forest.simd_plan(&mut words)?;
    let nf = forest.n_features();
    let mut out = vec![0.0f32; n_rows * forest.output_len()];
    Ok(levels
        .iter()
        .map(|&simd| {
            let secs = seconds_per_call(timing, || {
                let _ = forest.predict_batch_simd(
                    simd,
                    Some(&plan),
                    black_box(rows),
                    nf,
                    n_rows,
                    &mut out,
                    false,
                );
                black_box(&mut out);
            });
            (simd.level().name(), secs * 1e9 / n_rows as f64)
        })
        .collect())
}

/// Nanoseconds per row of [`emkern::forest::Forest::predict_simd_row`], one row per call over all rows, at each
/// of `levels` (the single-row walker at that level), or why the model has no SIMD plan.
pub fn forest_simd_row_ns_per_row(
    forest: &emkern::forest::Forest<'_>,
    rows: &[f32],
    n_rows: usize,
    levels: &[Simd],
    timing: Timing,
) -> Result<Vec<(&'static str, f64)>, emkern::forest::PlanUnsupported> {
    let mut words = vec![0u32; forest.simd_plan_len()?];
    let plan = forest.simd_plan(&mut words)?;
    let nf = forest.n_features();
    let w = forest.output_len();
    let mut out = vec![0.0f32; n_rows * w];
    Ok(levels
        .iter()
        .map(|&simd| {
            let secs = seconds_per_call(timing, || {
                for (r, o) in out.chunks_exact_mut(w).enumerate().take(n_rows) {
                    let _ = forest.predict_simd_row(
                        simd,
                        Some(&plan),
                        black_box(&rows[r * nf..(r + 1) * nf]),
                        o,
                        false,
                    );
                }
                black_box(&mut out);
            });
            (simd.level().name(), secs * 1e9 / n_rows as f64)
        })
        .collect())
}
