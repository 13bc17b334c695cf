//! Machine ceilings for benchmarks and reports: the peak floating-point throughput of one core at each level.
//!
//! A benchmark divides a kernel's measured FLOP/s by [`fma_peak`]'s FLOP/s at the same level, measured in the
//! same run, to report the kernel as a fraction of what the core can do.

use crate::{Level, Simd};

/// Runs a register-only loop of independent multiply-adds at `simd`'s level for `iterations` rounds.
/// Returns a checksum (to keep the work observable) and the number of floating-point operations performed,
/// counting a multiply-add as 2. Time it to get the core's peak FLOP/s at that level. `None` for a level that has
/// no peak loop in this build.
pub fn fma_peak(simd: Simd, iterations: u32) -> Option<(f32, u64)> {
    match simd.level() {
        Level::Scalar => return Some(scalar_peak(iterations)),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => {
            if let Some(t) = crate::arch::x86_64::Avx2::detect() {
                return Some(t.fma_peak(iterations));
            }
        }
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => {
            if let Some(t) = crate::arch::x86_64::Avx512::detect() {
                return Some(t.fma_peak(iterations));
            }
        }
        #[cfg(target_arch = "aarch64")]
        Level::Neon => {
            if let Some(t) = crate::arch::aarch64::Neon::detect() {
                return Some(t.fma_peak(iterations));
            }
        }
        _ => {}
    }
    None
}

/// The portable level's ceiling as compiled: 32 independent multiply-add chains in plain Rust (two operations
/// each), which the compiler may keep in scalar registers or auto-vectorize with the target's baseline vector
/// unit (SSE2 on x86_64, NEON on aarch64), exactly as it does for the portable kernels.
fn scalar_peak(iterations: u32) -> (f32, u64) {
    let mut acc = [0.0f32; 32];
    for (k, v) in acc.iter_mut().enumerate() {
        *v = k as f32;
    }
    // Opaque constants so the compiler cannot fold the loop.
    let m = core::hint::black_box(0.999_9f32);
    let a = core::hint::black_box(1.0e-3f32);
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = *v * m + a;
        }
    }
    (acc.iter().sum(), iterations as u64 * 32 * 2)
}
