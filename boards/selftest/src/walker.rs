//! The lockstep forest walker (`Simd::forest_sums`) on the device, at every level the board has (the portable
//! twin; on the Cortex-M55 also Helium's gathers):
//!
//! - the bundled model's plan (`Forest::simd_plan`) over its held-out rows, as given and with NaN put into every
//!   third value, through `Forest::predict_batch_simd`: margins bit for bit the single-row `predict_margin`'s;
//! - a synthetic plan (`PlanBuilder`) of trees of depth 0 to `MAX_DEPTH`, with thresholds and row values that are
//!   subnormal, signed zeros, infinities and NaN, both comparisons, leaves that keep the sums subnormal, every
//!   row count from 1 to 19 and 37: each level's sums bit for bit the scalar level's.
//!
//! Then [`instructions`] prints the instructions of one batch of the bundled model per level and per row·tree.

use emkern::forest::Forest;
use emkern_icount::{Calibration, Ticks};
use emkern_simd::forest::{Compare, MAX_DEPTH, Plan, PlanBuilder};
use emkern_simd::{Level, Simd};

use crate::forest::{MAX_FEATURES, MODEL, load_row, row_count};

/// Words of the plan buffer (the bundled model's plan and the synthetic one both fit).
const PLAN_WORDS: usize = 16384;
/// Rows of the bundled data the checks and the batch use (at most).
const MAX_ROWS: usize = 176;
/// Rows of one measured batch.
const BATCH: usize = 32;

/// xorshift32.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
}

/// Values of thresholds and rows: subnormals, signed zeros, infinities, NaNs of both signs, ordinary values.
const VALUES: [u32; 16] = [
    0x0000_0001, // smallest positive subnormal
    0x8000_0001, // its negative
    0x0040_0000, // a larger subnormal
    0x8040_0000,
    0x0000_0000, // +0
    0x8000_0000, // -0
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7fc0_0000, // quiet NaN
    0xffc0_0001, // negative NaN with a payload
    0x3f80_0000, // 1
    0xbf80_0000, // -1
    0x3e80_0000, // 0.25
    0x0080_0000, // smallest normal
    0x8080_0000,
    0x4120_0000, // 10
];

fn value(rng: &mut Rng) -> f32 {
    f32::from_bits(VALUES[rng.below(VALUES.len() as u32) as usize])
}

/// Runs the checks; returns (passed, failed).
pub fn run() -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut words = [0u32; PLAN_WORDS];
    let mut levels = [None::<Simd>; Level::ALL.len()];
    for (slot, simd) in levels.iter_mut().zip(Simd::available()) {
        *slot = Some(simd);
    }
    let levels = levels.iter().flatten().copied();

    // The bundled model.
    let Ok(model) = Forest::new(MODEL) else {
        defmt::println!("FAIL walker: the bundled blob was rejected");
        return (0, 1);
    };
    let nf = model.n_features();
    let n_rows = row_count(nf).min(MAX_ROWS);
    let mut rows = [0.0f32; MAX_ROWS * MAX_FEATURES];
    let mut row = [0.0f32; MAX_FEATURES];
    for r in 0..n_rows {
        if load_row(r, nf, &mut row) {
            for (d, s) in rows[r * nf..][..nf].iter_mut().zip(&row) {
                *d = *s;
            }
        }
    }
    let plan = match model.simd_plan(&mut words) {
        Ok(p) => p,
        Err(e) => {
            defmt::println!("FAIL walker: the bundled model was not planned: {}", e);
            return (0, 1);
        }
    };
    for with_nan in [false, true] {
        if with_nan {
            for v in rows[..n_rows * nf].iter_mut().step_by(3) {
                *v = f32::NAN;
            }
        }
        for simd in levels.clone() {
            let mut out = [0.0f32; MAX_ROWS];
            let path =
                model.predict_batch_simd(simd, Some(&plan), &rows, nf, n_rows, &mut out, true);
            if path != Ok(emkern::forest::BatchPath::Walker(simd.level())) {
                defmt::println!(
                    "FAIL walker {=str}: the walker did not run",
                    simd.level().name()
                );
                failed += 1;
                continue;
            }
            let mut bad = 0u32;
            for r in 0..n_rows {
                let mut want = [0.0f32];
                let ok = model
                    .predict_margin(&rows[r * nf..][..nf], &mut want)
                    .is_ok();
                if !ok || out[r].to_bits() != want[0].to_bits() {
                    if bad < 4 {
                        defmt::println!(
                            "FAIL walker {=str} row {=usize}: {=u32:#010x}, predict_margin {=u32:#010x}",
                            simd.level().name(),
                            r,
                            out[r].to_bits(),
                            want[0].to_bits()
                        );
                    }
                    bad += 1;
                }
            }
            if bad == 0 {
                passed += 1;
            } else {
                failed += 1;
            }
        }
    }

    // The synthetic plan.
    let (p, f) = synthetic(&mut words, levels);
    passed += p;
    failed += f;
    defmt::println!(
        "walker: bundled model (with and without NaN) and deep synthetic trees at every level; {=u32} passed, {=u32} failed",
        passed,
        failed
    );
    (passed, failed)
}

/// Trees of depths 0 to `MAX_DEPTH` with random splits (some subtrees cut short by a leaf), values from
/// [`VALUES`], ordinary or subnormal leaves; each level's sums against the scalar level's, bit for bit.
fn synthetic(words: &mut [u32], levels: impl Iterator<Item = Simd> + Clone) -> (u32, u32) {
    const NF: usize = 7;
    const STRIDE: usize = 9;
    const ROWS: usize = 37;
    let depths = [0u32, 1, 2, 4, 5, 7, 9, MAX_DEPTH];
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut rng = Rng(0x2545_f491);
    let mut rows = [0.0f32; ROWS * STRIDE];
    for v in rows.iter_mut() {
        *v = value(&mut rng);
    }
    // The third plan's leaves are all subnormal, so that the sums stay subnormal: added on the scalar FPU (IEEE),
    // not flushed to zero as MVE arithmetic would.
    for (compare, tiny) in [
        (Compare::Less, false),
        (Compare::LessEqual, false),
        (Compare::Less, true),
    ] {
        let Some(plan) = synthetic_plan(words, &depths, NF, compare, tiny, &mut rng) else {
            defmt::println!("FAIL walker: the synthetic plan was refused");
            return (passed, failed + 1);
        };
        // Start sums: ordinary, subnormal and zero, so that the leaves' additions round as on the scalar FPU.
        let mut start = [0.0f32; ROWS];
        for (i, s) in start.iter_mut().enumerate() {
            *s = f32::from_bits([0x3f00_0000, 0x0000_0003, 0x8000_0000][i % 3]);
        }
        for n in (1..=19).chain([ROWS]) {
            let used = (n - 1) * STRIDE + NF;
            let mut want = start;
            let scalar = Simd::scalar().forest_sums(&plan, &rows[..used], STRIDE, n, &mut want);
            for simd in levels.clone().filter(|s| s.level() != Level::Scalar) {
                let mut got = start;
                let ok = simd
                    .forest_sums(&plan, &rows[..used], STRIDE, n, &mut got)
                    .is_ok();
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                if ok && scalar.is_ok() && same {
                    passed += 1;
                } else {
                    failed += 1;
                    let r = got
                        .iter()
                        .zip(&want)
                        .position(|(a, b)| a.to_bits() != b.to_bits())
                        .unwrap_or(0);
                    defmt::println!(
                        "FAIL walker {=str} synthetic, {=usize} rows, row {=usize}: {=u32:#010x}, scalar {=u32:#010x}",
                        simd.level().name(),
                        n,
                        r,
                        got[r].to_bits(),
                        want[r].to_bits()
                    );
                }
            }
        }
    }
    (passed, failed)
}

/// Writes the synthetic plan into `words`.
fn synthetic_plan<'w>(
    words: &'w mut [u32],
    depths: &[u32],
    nf: usize,
    compare: Compare,
    tiny: bool,
    rng: &mut Rng,
) -> Option<Plan<'w>> {
    let mut b = PlanBuilder::new(words, depths.len(), nf, compare, 0).ok()?;
    for &depth in depths {
        b.begin_tree(depth).ok()?;
        // Every split of the complete tree, then the leaves; a few splits' subtrees are replaced by one leaf
        // (written after, so it covers the slots below it).
        for level in 0..depth {
            for pos in 0..1usize << level {
                let feature = rng.below(nf as u32) as usize;
                b.split(level, pos, feature, value(rng), rng.below(2) == 0)
                    .ok()?;
            }
        }
        for pos in 0..1usize << depth {
            let leaf = if tiny {
                f32::from_bits(rng.below(1000) | (rng.below(2) << 31))
            } else {
                (rng.below(2001) as f32 - 1000.0) / 64.0
            };
            b.leaf(depth, pos, leaf).ok()?;
        }
        for _ in 0..depth {
            let level = rng.below(depth);
            let pos = rng.below(1 << level) as usize;
            b.leaf(level, pos, f32::from_bits(0x0000_0005 + rng.below(4)))
                .ok()?;
        }
    }
    b.finish().ok()
}

/// One measured batch: the model, its plan, the rows and the margins.
struct BatchJob<'a> {
    simd: Simd,
    forest: &'a Forest<'a>,
    plan: &'a Plan<'a>,
    rows: &'a [f32],
    nf: usize,
    out: [f32; BATCH],
}

extern "C" fn batch_job(job: *mut BatchJob<'_>) {
    // SAFETY: `Ticks::time` passes the pointer it was given, derived from a live, exclusive `&mut BatchJob`.
    if let Some(job) = unsafe { job.as_mut() } {
        let _ = job.forest.predict_batch_simd(
            job.simd,
            Some(job.plan),
            job.rows,
            job.nf,
            BATCH,
            &mut job.out,
            true,
        );
    }
}

/// Prints the instructions of one `predict_batch_simd` call over [`BATCH`] rows of the bundled model at each
/// level, per row and tree; returns whether the figures repeated.
pub fn instructions(ticks: &mut Ticks, cal: &Calibration) -> bool {
    let Ok(model) = Forest::new(MODEL) else {
        return true;
    };
    let nf = model.n_features();
    if row_count(nf) < BATCH {
        return true;
    }
    let mut rows = [0.0f32; BATCH * MAX_FEATURES];
    let mut row = [0.0f32; MAX_FEATURES];
    for r in 0..BATCH {
        if load_row(r, nf, &mut row) {
            for (d, s) in rows[r * nf..][..nf].iter_mut().zip(&row) {
                *d = *s;
            }
        }
    }
    let mut words = [0u32; PLAN_WORDS];
    let Ok(plan) = model.simd_plan(&mut words) else {
        return true;
    };
    let trees = model.summary().trees.max(1) as u64;
    let mut repeatable = true;
    let mut first = 0u32;
    for simd in Simd::available() {
        let mut job = BatchJob {
            simd,
            forest: &model,
            plan: &plan,
            rows: &rows[..BATCH * nf],
            nf,
            out: [0.0; BATCH],
        };
        let mut runs = [0u32; 3];
        for t in runs.iter_mut() {
            *t = ticks.time(batch_job, &mut job).unwrap_or(u32::MAX);
        }
        let [_, t1, t2] = runs;
        repeatable &= t1.abs_diff(t2) <= 1;
        let count = cal.instructions(t1.min(t2));
        if simd.level() == Level::Scalar {
            first = count;
        }
        // Hundredths of an instruction per row·tree.
        let per = u64::from(count) * 100 / (BATCH as u64 * trees);
        let speedup = if count > 0 {
            u64::from(first) * 100 / u64::from(count)
        } else {
            0
        };
        defmt::println!(
            "forest batch {=str}: {=u32} instructions for {=usize} rows x {=u64} trees, {=u64}.{=u64:02} per row-tree ({=u64}.{=u64:02}x scalar's)",
            simd.level().name(),
            count,
            BATCH,
            trees,
            per / 100,
            per % 100,
            speedup / 100,
            speedup % 100
        );
    }
    repeatable
}
