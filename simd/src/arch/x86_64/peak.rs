//! Peak floating-point throughput loops for AVX2 and AVX-512, used by the benchmarks as the machine ceiling.
//!
//! Algorithm: `ACC` independent accumulators updated with `acc = acc·m + a` (one fused multiply-add each) per
//! iteration, with no memory traffic, so the loop is bound only by the FMA units (latency 4 cycles × 2 ports on
//! current cores needs at least 8 independent chains; 12 leaves headroom). `m` slightly below 1 keeps the values
//! bounded. Each FMA counts as 2 floating-point operations per lane.

use core::arch::x86_64::*;

use super::{Avx2, Avx512};

const ACC: usize = 12;

impl Avx2 {
    /// Runs `iterations` rounds of 12 independent 8-lane FMAs; returns a checksum (so the work cannot be
    /// optimized away) and the number of floating-point operations performed.
    pub fn fma_peak(self, iterations: u32) -> (f32, u64) {
        // SAFETY: the token proves AVX2 and FMA are available.
        let sum = unsafe { fma_loop_avx2(iterations) };
        (sum, iterations as u64 * ACC as u64 * 8 * 2)
    }
}

impl Avx512 {
    /// Runs `iterations` rounds of 12 independent 16-lane FMAs; returns a checksum and the flop count.
    pub fn fma_peak(self, iterations: u32) -> (f32, u64) {
        // SAFETY: the token proves AVX-512F is available.
        let sum = unsafe { fma_loop_avx512(iterations) };
        (sum, iterations as u64 * ACC as u64 * 16 * 2)
    }
}

#[target_feature(enable = "avx2,fma")]
fn fma_loop_avx2(iterations: u32) -> f32 {
    let m = _mm256_set1_ps(0.999_9);
    let a = _mm256_set1_ps(1.0e-3);
    let mut acc = [_mm256_setzero_ps(); ACC];
    for (k, v) in acc.iter_mut().enumerate() {
        *v = _mm256_set1_ps(k as f32);
    }
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, m, a);
        }
    }
    let mut total = _mm256_setzero_ps();
    for v in acc {
        total = _mm256_add_ps(total, v);
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` is 8 writable f32s; the unaligned store needs no alignment.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    lanes.iter().sum()
}

#[target_feature(enable = "avx512f")]
fn fma_loop_avx512(iterations: u32) -> f32 {
    let m = _mm512_set1_ps(0.999_9);
    let a = _mm512_set1_ps(1.0e-3);
    let mut acc = [_mm512_setzero_ps(); ACC];
    for (k, v) in acc.iter_mut().enumerate() {
        *v = _mm512_set1_ps(k as f32);
    }
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, m, a);
        }
    }
    let mut total = _mm512_setzero_ps();
    for v in acc {
        total = _mm512_add_ps(total, v);
    }
    _mm512_reduce_add_ps(total)
}
