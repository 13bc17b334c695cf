//! Scalar small matrix product: the reference for every level's register-tiled `gemm`.

use crate::kernels::GemmShape;

/// `c[i·ldc + j] (+)= Σ_p a[i·lda + p]·b[p·ldb + j]`, one row of `C` at a time, each term a multiply then an
/// add in increasing `p` (the order every level keeps). Returns `false` without writing if the shape does not fit
/// the slices (see [`Kernels::gemm`](crate::Kernels::gemm)).
pub fn gemm(shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
    if !shape.fits(a.len(), b.len(), c.len()) {
        return false;
    }
    let GemmShape {
        m,
        n,
        k,
        lda,
        ldb,
        ldc,
    } = shape;
    if m == 0 || n == 0 {
        return true;
    }
    // `fits` proved every range below lies inside its slice; `get` keeps the code panic-free regardless.
    for i in 0..m {
        let Some(c_row) = c.get_mut(i * ldc..i * ldc + n) else {
            continue;
        };
        if !accumulate {
            c_row.fill(0.0);
        }
        let a_row = a.get(i * lda..i * lda + k).unwrap_or_default();
        for (p, &a_ip) in a_row.iter().enumerate() {
            let Some(b_row) = b.get(p * ldb..p * ldb + n) else {
                continue;
            };
            for (c_ij, &b_pj) in c_row.iter_mut().zip(b_row) {
                *c_ij += a_ip * b_pj;
            }
        }
    }
    true
}
