//! Peak floating-point throughput loop for NEON, used by the benchmarks as the machine ceiling.
//!
//! Algorithm: 12 independent 4-lane accumulators updated with `acc = acc + m·a` (`vfmaq_f32`) per iteration with
//! no memory traffic, so the loop is bound by the FMA pipes only. Each FMA counts as 2 flops per lane.

use core::arch::aarch64::*;

use super::Neon;

const ACC: usize = 12;

impl Neon {
    /// Runs `iterations` rounds of 12 independent 4-lane FMAs; returns a checksum and the flop count.
    pub fn fma_peak(self, iterations: u32) -> (f32, u64) {
        // SAFETY: the token proves NEON is available.
        let sum = unsafe { fma_loop(iterations) };
        (sum, iterations as u64 * ACC as u64 * 4 * 2)
    }
}

#[target_feature(enable = "neon")]
fn fma_loop(iterations: u32) -> f32 {
    let m = vdupq_n_f32(0.999_9);
    let a = vdupq_n_f32(1.0e-3);
    let mut acc = [vdupq_n_f32(0.0); ACC];
    for (k, v) in acc.iter_mut().enumerate() {
        *v = vdupq_n_f32(k as f32);
    }
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = vfmaq_f32(a, *v, m);
        }
    }
    let mut total = vdupq_n_f32(0.0);
    for v in acc {
        total = vaddq_f32(total, v);
    }
    vaddvq_f32(total)
}
