//! Scalar pairwise rotation for RoPE, in both layouts.

/// Interleaved pairs `(x[2i], x[2i+1])`; see [`Kernels::rotate_interleaved`](crate::Kernels::rotate_interleaved).
pub fn interleaved(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    for ((pair, &c), &s) in x.chunks_exact_mut(2).zip(cos).zip(sin) {
        let (a, b) = (pair[0], pair[1]);
        pair[0] = a * c - b * s;
        pair[1] = a * s + b * c;
    }
}

/// Half-split pairs `(x[i], x[h+i])`; see [`Kernels::rotate_half_split`](crate::Kernels::rotate_half_split).
pub fn half_split(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let h = x.len() / 2;
    let (lo, hi) = x.split_at_mut(h);
    for (((a, b), &c), &s) in lo.iter_mut().zip(hi.iter_mut()).zip(cos).zip(sin) {
        let (x0, x1) = (*a, *b);
        *a = x0 * c - x1 * s;
        *b = x0 * s + x1 * c;
    }
}
