//! Streaming attention on the device: one causal GQA problem (4 query heads sharing 2 KV heads, 8 queries against
//! 40 keys, head size 16, with ALiBi and a window), with f32 and with f16 keys/values, run at every available level
//! and compared with the scalar level element by element; then instructions per call at each level.

use emkern::attention::{self, Alibi, Dims, Dtypes, Params, Qkv, Tensor, TensorMut, Tiles};
use emkern_simd::{Level, Simd, f16};

const HQ: usize = 4;
const HKV: usize = 2;
const LQ: usize = 8;
const LKV: usize = 40;
const D: usize = 16;
const DIMS: Dims = Dims {
    heads_q: HQ,
    heads_kv: HKV,
    len_q: LQ,
    len_kv: LKV,
    d_k: D,
    d_v: D,
};
const TILES: Tiles = Tiles::for_level(Level::Scalar);
/// Output values of the problem.
pub const OUT_LEN: usize = HQ * LQ * D;
/// Scratch for the largest case (f16 K and V need widening space).
const SCRATCH: usize = attention::scratch_len(
    DIMS,
    Dtypes {
        q: attention::Dtype::F32,
        k: attention::Dtype::F16,
        v: attention::Dtype::F16,
    },
    TILES,
);

/// Inputs of the problem.
pub struct Problem {
    q: [f32; HQ * LQ * D],
    k: [f32; HKV * LKV * D],
    v: [f32; HKV * LKV * D],
    k16: [f16; HKV * LKV * D],
    v16: [f16; HKV * LKV * D],
}

impl Problem {
    /// Deterministic inputs in [-1, 1).
    pub fn new() -> Problem {
        let mut state = 0x2468_ACE1u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0
        };
        let mut p = Problem {
            q: [0.0; HQ * LQ * D],
            k: [0.0; HKV * LKV * D],
            v: [0.0; HKV * LKV * D],
            k16: [f16::ZERO; HKV * LKV * D],
            v16: [f16::ZERO; HKV * LKV * D],
        };
        p.q.iter_mut()
            .chain(p.k.iter_mut())
            .chain(p.v.iter_mut())
            .for_each(|x| *x = next());
        for ((a, b), (k, v)) in p
            .k16
            .iter_mut()
            .zip(p.v16.iter_mut())
            .zip(p.k.iter().zip(&p.v))
        {
            *a = f16::from_f32(*k);
            *b = f16::from_f32(*v);
        }
        p
    }

    /// Runs the problem at `simd`'s level into `out`; `half` selects f16 K/V.
    pub fn run(&self, simd: Simd, half: bool, out: &mut [f32; HQ * LQ * D]) -> bool {
        let qkv = if half {
            Qkv {
                q: Tensor::new(&self.q[..], HQ, LQ, D),
                k: Tensor::new(&self.k16[..], HKV, LKV, D),
                v: Tensor::new(&self.v16[..], HKV, LKV, D),
            }
        } else {
            Qkv {
                q: Tensor::new(&self.q[..], HQ, LQ, D),
                k: Tensor::new(&self.k[..], HKV, LKV, D),
                v: Tensor::new(&self.v[..], HKV, LKV, D),
            }
        };
        let mut params = Params::new();
        params.mask.causal = true;
        params.mask.window = Some(24);
        params.alibi = Some(Alibi::Standard);
        params.tiles = TILES;
        let mut scratch = [0.0f32; SCRATCH];
        attention::attention(
            simd,
            &qkv,
            &params,
            TensorMut::new(&mut out[..], HQ, LQ, D),
            None,
            &mut scratch,
        )
        .is_ok()
    }
}

/// Every level against the scalar level; returns (passed, failed) element comparisons.
pub fn run() -> (u32, u32) {
    let problem = Problem::new();
    let (mut passed, mut failed) = (0u32, 0u32);
    for half in [false, true] {
        let mut reference = [0.0f32; HQ * LQ * D];
        if !problem.run(Simd::scalar(), half, &mut reference) {
            defmt::println!("FAIL attention: the scalar call was rejected");
            failed += 1;
            continue;
        }
        for simd in Simd::available() {
            let mut out = [0.0f32; HQ * LQ * D];
            if !problem.run(simd, half, &mut out) {
                failed += 1;
                continue;
            }
            let (mut ok, mut bad) = (0u32, 0u32);
            for (g, w) in out.iter().zip(&reference) {
                if (g - w).abs() <= 1.0e-5 * (1.0 + w.abs()) {
                    ok += 1;
                } else {
                    bad += 1;
                }
            }
            defmt::println!(
                "attention {=str} K/V, level {=str}: {=u32} passed, {=u32} failed",
                if half { "f16" } else { "f32" },
                simd.level().name(),
                ok,
                bad
            );
            passed += ok;
            failed += bad;
        }
    }
    (passed, failed)
}

/// One timed call: the problem, the level, the storage, the output.
pub struct Job<'a> {
    /// Inputs.
    pub problem: &'a Problem,
    /// Level.
    pub simd: Simd,
    /// f16 K/V.
    pub half: bool,
    /// Output.
    pub out: [f32; HQ * LQ * D],
}

/// Runs the job (called through `Ticks::time`).
pub extern "C" fn job(job: *mut Job<'_>) {
    // SAFETY: `Ticks::time` passes the pointer it was given, derived from a live, exclusive `&mut Job`.
    if let Some(j) = unsafe { job.as_mut() } {
        let _ = j.problem.run(j.simd, j.half, &mut j.out);
    }
}
