//! Matrix transpose ([`Kernels::transpose`](crate::Kernels::transpose)) for AVX2 (the AVX-512 level uses it as
//! is): 8 × 8 blocks transposed in registers, the standard three-stage network — `vunpcklps`/`vunpckhps` pair
//! rows, `vshufps` gathers 2 × 2 blocks, `vperm2f128` swaps the 128-bit halves — then the rows and columns
//! left over (fewer than 8) through the scalar reference. Values are only moved, so the result is bit-exact.
//!
//! # Memory safety
//! The entry checks the shape once with [`transpose_fits`]; a block at rows `i0..i0 + 8`, columns `j0..j0 + 8`
//! (all below `rows`, `cols`) reads `src[i·lds + j]` and writes `dst[j·ldd + i]` for those `i`, `j` only, all
//! inside the extents `transpose_fits` proved.

use core::arch::x86_64::*;

use super::Avx2;
use crate::kernels::transpose_fits;
use crate::portable::gemm::transpose_edges as edges;

/// One 8 × 8 block.
///
/// # Safety
/// AVX2 must be available; rows `0..8` of `src` (stride `lds`, 8 elements each) and rows `0..8` of `dst`
/// (stride `ldd`, 8 elements each) must be readable and writable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block8(src: *const f32, lds: usize, dst: *mut f32, ldd: usize) {
    // SAFETY: the caller guarantees the eight rows of eight elements on both sides.
    unsafe {
        let r: [__m256; 8] = core::array::from_fn(|i| _mm256_loadu_ps(src.add(i * lds)));
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let out = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (j, v) in out.iter().enumerate() {
            _mm256_storeu_ps(dst.add(j * ldd), *v);
        }
    }
}

/// The full 8 × 8 blocks of a checked shape (rows `0..rows8`, columns `0..cols8`, both multiples of 8).
///
/// # Safety
/// AVX2 must be available and the shape checked with [`transpose_fits`] for `src` and `dst`, with
/// `rows8 ≤ rows` and `cols8 ≤ cols`.
#[target_feature(enable = "avx2")]
unsafe fn blocks(
    rows8: usize,
    cols8: usize,
    src: *const f32,
    lds: usize,
    dst: *mut f32,
    ldd: usize,
) {
    // SAFETY: every block's rows and columns lie below rows8 ≤ rows and cols8 ≤ cols, inside the checked extents.
    unsafe {
        for i0 in (0..rows8).step_by(8) {
            for j0 in (0..cols8).step_by(8) {
                block8(src.add(i0 * lds + j0), lds, dst.add(j0 * ldd + i0), ldd);
            }
        }
    }
}

/// [`Kernels::transpose`](crate::Kernels::transpose) for AVX2.
pub(crate) fn transpose(
    _: Avx2,
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
    if rows == 0 || cols == 0 {
        return true;
    }
    let (rows8, cols8) = (rows - rows % 8, cols - cols % 8);
    // SAFETY: the token proves AVX2; the shape was checked against both slices and rows8, cols8 lie within it.
    unsafe { blocks(rows8, cols8, src.as_ptr(), lds, dst.as_mut_ptr(), ldd) };
    edges(rows, cols, (rows8, cols8), src, lds, dst, ldd);
    true
}
