//! Scalar dot product, axpy and scale.

/// `Σ a[i]·b[i]` over the common prefix with four interleaved partial sums (lane `i mod 4`), reduced as
/// `(s0 + s1) + (s2 + s3)`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (
        a.get(..n).unwrap_or_default(),
        b.get(..n).unwrap_or_default(),
    );
    let mut acc = [0.0f32; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    for (k, (x, y)) in ta.iter().zip(tb).enumerate() {
        acc[k] += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `y[i] += a·x[i]` over the common prefix (separate multiply and add, as on cores without FMA).
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `y[i] *= a`.
pub fn scale(a: f32, y: &mut [f32]) {
    for yi in y {
        *yi *= a;
    }
}
