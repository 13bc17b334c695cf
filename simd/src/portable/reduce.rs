//! Scalar max and sum reductions.

/// Largest element ignoring every NaN (quiet or signalling); `-inf` for an empty or all-NaN slice.
pub fn max(x: &[f32]) -> f32 {
    // A comparison, not `f32::max`: LLVM lowers the latter to `fmaxnm`, which returns NaN for a signalling NaN.
    x.iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// `Σ x[i]` with four interleaved partial sums reduced as `(s0 + s1) + (s2 + s3)`.
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let chunks = x.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            acc[k] += c[k];
        }
    }
    for (a, v) in acc.iter_mut().zip(tail) {
        *a += v;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}
