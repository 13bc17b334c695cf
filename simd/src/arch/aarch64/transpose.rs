//! Matrix transpose ([`Kernels::transpose`](crate::Kernels::transpose)) for NEON: 4 × 4 blocks transposed in
//! registers (`zip1`/`zip2` on 32-bit lanes pair the rows, then on 64-bit lanes gather the columns), then the
//! rows and columns left over (fewer than 4) through the scalar reference. Values are only moved: bit-exact.
//!
//! # Memory safety
//! The entry checks the shape once with [`transpose_fits`]; a block at rows `i0..i0 + 4`, columns `j0..j0 + 4`
//! (all below `rows`, `cols`) reads `src[i·lds + j]` and writes `dst[j·ldd + i]` for those `i`, `j` only.

use core::arch::aarch64::{
    vld1q_f32, vreinterpretq_f32_f64, vreinterpretq_f64_f32, vst1q_f32, vzip1q_f32, vzip1q_f64,
    vzip2q_f32, vzip2q_f64,
};

use super::Neon;
use crate::kernels::transpose_fits;
use crate::portable::gemm::transpose_edges;

/// One 4 × 4 block.
///
/// # Safety
/// NEON must be available; rows `0..4` of `src` (stride `lds`) and of `dst` (stride `ldd`), 4 elements each,
/// must be readable and writable.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block4(src: *const f32, lds: usize, dst: *mut f32, ldd: usize) {
    // SAFETY: the caller guarantees the four rows of four elements on both sides.
    unsafe {
        let r0 = vld1q_f32(src);
        let r1 = vld1q_f32(src.add(lds));
        let r2 = vld1q_f32(src.add(2 * lds));
        let r3 = vld1q_f32(src.add(3 * lds));
        let t0 = vreinterpretq_f64_f32(vzip1q_f32(r0, r1));
        let t1 = vreinterpretq_f64_f32(vzip2q_f32(r0, r1));
        let t2 = vreinterpretq_f64_f32(vzip1q_f32(r2, r3));
        let t3 = vreinterpretq_f64_f32(vzip2q_f32(r2, r3));
        vst1q_f32(dst, vreinterpretq_f32_f64(vzip1q_f64(t0, t2)));
        vst1q_f32(dst.add(ldd), vreinterpretq_f32_f64(vzip2q_f64(t0, t2)));
        vst1q_f32(dst.add(2 * ldd), vreinterpretq_f32_f64(vzip1q_f64(t1, t3)));
        vst1q_f32(dst.add(3 * ldd), vreinterpretq_f32_f64(vzip2q_f64(t1, t3)));
    }
}

/// [`Kernels::transpose`](crate::Kernels::transpose) for NEON.
pub(crate) fn transpose(
    _: Neon,
    rows: usize,
    cols: usize,
    src: &[f32],
    lds: usize,
    dst: &mut [f32],
    ldd: usize,
) -> bool {
    if !transpose_fits(rows, cols, src.len(), lds, dst.len(), ldd) {
        return false;
    }
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    let (rows4, cols4) = (rows - rows % 4, cols - cols % 4);
    // SAFETY: the token proves NEON; every block's rows and columns lie below rows4 ≤ rows and cols4 ≤ cols,
    // inside the extents checked above (nothing runs when rows or cols is 0).
    unsafe {
        for i0 in (0..rows4).step_by(4) {
            for j0 in (0..cols4).step_by(4) {
                block4(s.add(i0 * lds + j0), lds, d.add(j0 * ldd + i0), ldd);
            }
        }
    }
    transpose_edges(rows, cols, (rows4, cols4), src, lds, dst, ldd);
    true
}
