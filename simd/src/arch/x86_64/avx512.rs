//! AVX-512 (F + BW + VL) kernels: 16 f32 lanes per `__m512`, tails through `__mmask16` mask registers.
//!
//! Only the compute-bound primitives have 512-bit kernels; every other method forwards to the
//! [AVX2 level](super::avx2) (`Avx512::avx2`), because a 512-bit version measured no faster.
//!
//! # Algorithms
//! - **`exp`**: the shared algorithm and constants of [`portable::exp`](crate::portable::exp), lane-wise as on the
//!   AVX2 level: clamp, magic-number rounding computed as multiply then add (the same `n` as the scalar code),
//!   Cody–Waite reduction and Horner polynomial with FMA, two-step scaling by `2^n₁ · 2^n₂` built from exponent
//!   bits; NaN lanes are restored by a masked blend. `exp` and `exp_in_place` share one raw-pointer kernel that
//!   allows `src == dst`.
//! - **f32 → f16**: `vcvtps2ph` with immediate round-to-nearest-even (independent of MXCSR).
//! - **f32 → bf16**: integer operations, `(bits + 0x7FFF + ((bits >> 16) & 1)) >> 16`, or `(bits >> 16) | 0x40`
//!   for NaN (exactly [`f32_to_bf16_bits`](crate::portable::convert::f32_to_bf16_bits)), narrowed by `vpmovdw`.
//! - **Tails** (any length): masked loads and stores with `__mmask16` (`vmovups`, `vmovdqu16`, `vpmovdw` with a
//!   mask). Masked-out elements are neither read nor written and raise no fault; masked loads give `+0.0` there.
//!   No access ever leaves the slices.
//!
//! # Where 512 bits pay
//! Measured against the AVX2 kernels on AMD Zen 4 (which executes most 512-bit operations as two 256-bit halves
//! and loads at most 64 bytes per cycle either way), 1 024 elements in L1 / 65 536 in L2:
//! `exp` 1.7× / 1.6×, f32 → f16 1.9× / 1.2×, f32 → bf16 1.2× / 1.2×. The load- and store-bound primitives
//! (`dot`, `dot_rows`, `sum`, `max`, `axpy`, `scale`, the widening conversions) measured 0.86–1.05× with
//! 512-bit kernels, so they keep the AVX2 code, as do the rotations, which are bound by loads and stores in the
//! same way. Cores with two full-width 512-bit load ports may change that balance; re-measure before adding
//! kernels here.
//!
//! # Accuracy
//! As stated by [`Kernels`] and as on the AVX2 level: `exp` within 2 ulp on the normal range (it differs from the
//! scalar reference only by FMA contraction, and the AVX2 and AVX-512 kernels agree bit for bit); conversions
//! bit-exact.
//!
//! # References
//! Intel® Intrinsics Guide; Intel® 64 and IA-32 Architectures Software Developer's Manual, Vol. 2 (masked
//! `VMOVUPS`/`VMOVDQU16`/`VPMOVDW`: fault suppression on masked-out elements; `VCVTPS2PH`); S. L. Moshier,
//! *Cephes Mathematical Library* (`expf`); W. J. Cody and W. Waite, *Software Manual for the Elementary
//! Functions* (1980).

use core::arch::x86_64::*;

use super::Avx512;
use crate::kernels::{GemmShape, Kernels, Sealed};
use crate::portable::exp::{CLAMP_HI, CLAMP_LO, LN2_HI, LN2_LO, LOG2E, P};
use crate::{Level, bf16, f16};

/// f32 lanes per vector.
const W: usize = 16;

// ---------------------------------------------------------------------------------------------------------------
// Helpers (no memory access).
// ---------------------------------------------------------------------------------------------------------------

/// Mask of the first `min(n, 16)` lanes.
#[inline]
fn first_lanes(n: usize) -> __mmask16 {
    if n >= W { u16::MAX } else { (1u16 << n) - 1 }
}

/// `e^x` lane-wise with the shared algorithm of [`crate::portable::exp`].
///
/// Two AVX-512 instructions shorten it without changing a bit of the result: `vrndscaleps` rounds `x·log₂e` to
/// the nearest integer (ties to even) as the add-and-subtract of the rounding constant does, and `vscalefps`
/// forms `e·2ⁿ` with one rounding, which is what the reference's two exact-then-rounding power-of-two products
/// give (the first product is exact for every `n` the clamp allows).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn exp16(x: __m512) -> __m512 {
    let [p0, p1, p2, p3, p4, p5] = P;
    // max/min return their second operand for a NaN first operand: NaN lanes are computed as CLAMP_LO and
    // restored by the final blend.
    let xc = _mm512_min_ps(
        _mm512_max_ps(x, _mm512_set1_ps(CLAMP_LO)),
        _mm512_set1_ps(CLAMP_HI),
    );
    // Multiply (rounded), then round to an integer: the same `n` on every level.
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(xc, _mm512_set1_ps(LOG2E)),
    );
    // n·LN2_HI is exact, so the first step equals the scalar `x − n·LN2_HI`.
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), xc);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    let mut p = _mm512_set1_ps(p0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(p5));
    let e = _mm512_add_ps(
        _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r),
        _mm512_set1_ps(1.0),
    );
    // n is an integer in [-150, 129] and e in [0.7, 1.5]: e·2ⁿ rounds once, at most to a subnormal or zero.
    let y = _mm512_scalef_ps(e, n);
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x), y, x)
}

/// bf16 bits (in the low half of each 32-bit lane) of `v` rounded to nearest even; NaN → quiet NaN.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
fn bf16_bits(v: __m512) -> __m512i {
    let bits = _mm512_castps_si512(v);
    let high = _mm512_srli_epi32::<16>(bits);
    let bias = _mm512_add_epi32(
        _mm512_set1_epi32(0x7FFF),
        _mm512_and_si512(high, _mm512_set1_epi32(1)),
    );
    let rounded = _mm512_srli_epi32::<16>(_mm512_add_epi32(bits, bias));
    let quiet = _mm512_or_si512(high, _mm512_set1_epi32(0x40));
    _mm512_mask_blend_epi32(_mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v), rounded, quiet)
}

// ---------------------------------------------------------------------------------------------------------------
// Kernels.
// ---------------------------------------------------------------------------------------------------------------

/// `dst[i] = e^src[i]` for `i < n`.
///
/// # Safety
/// The CPU must support AVX-512 F, BW, VL, AVX2, FMA and F16C; `src` must be valid for reading and `dst` for
/// writing `n` f32; the two ranges are either identical (in place) or disjoint.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn exp_raw(src: *const f32, dst: *mut f32, n: usize) {
    let mut i = 0;
    while i + 2 * W <= n {
        // SAFETY: i + 2W ≤ n, inside both ranges (caller contract). Each store writes only elements this iteration
        // has already loaded, so `src == dst` is fine.
        unsafe {
            let a = _mm512_loadu_ps(src.add(i));
            let b = _mm512_loadu_ps(src.add(i + W));
            _mm512_storeu_ps(dst.add(i), exp16(a));
            _mm512_storeu_ps(dst.add(i + W), exp16(b));
        }
        i += 2 * W;
    }
    while i < n {
        let mask = first_lanes(n - i);
        // SAFETY: i < n; the masked load/store access only the first min(16, n − i) lanes, all below n; the store
        // writes only lanes just loaded.
        unsafe {
            let v = _mm512_maskz_loadu_ps(mask, src.add(i));
            _mm512_mask_storeu_ps(dst.add(i), mask, exp16(v));
        }
        i += W;
    }
}

/// `x[i] = e^(x[i] − shift)` for every element, and the f32 sum of the results: one pass, two accumulators for
/// the full pairs of vectors, the masked tail last.
///
/// # Safety
/// The CPU must support AVX-512 F, BW, VL, AVX2, FMA and F16C.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn exp_shifted_sum_kernel(shift: f32, x: &mut [f32]) -> f32 {
    let n = x.len();
    let p = x.as_mut_ptr();
    let s = _mm512_set1_ps(shift);
    let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    while i + 2 * W <= n {
        // SAFETY: i + 2W ≤ n = x.len(); each store writes elements this iteration has already loaded.
        unsafe {
            let a = exp16(_mm512_sub_ps(_mm512_loadu_ps(p.add(i)), s));
            let b = exp16(_mm512_sub_ps(_mm512_loadu_ps(p.add(i + W)), s));
            _mm512_storeu_ps(p.add(i), a);
            _mm512_storeu_ps(p.add(i + W), b);
            acc0 = _mm512_add_ps(acc0, a);
            acc1 = _mm512_add_ps(acc1, b);
        }
        i += 2 * W;
    }
    while i < n {
        let mask = first_lanes(n - i);
        // SAFETY: i < n; the masked load and store access only the first min(16, n − i) lanes, all below n; the
        // store writes only lanes just loaded. Masked-out lanes are not added.
        unsafe {
            let e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, p.add(i)), s));
            _mm512_mask_storeu_ps(p.add(i), mask, e);
            acc0 = _mm512_mask_add_ps(acc0, mask, acc0, e);
        }
        i += W;
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
}

/// f32 → binary16 (round to nearest even) over the common prefix.
///
/// # Safety
/// The CPU must support AVX-512 F, BW, VL, AVX2, FMA and F16C.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn f32_to_f16_kernel(src: &[f32], dst: &mut [f16]) {
    let n = src.len().min(dst.len());
    // `f16` is a transparent u16, and every bit pattern is a valid value.
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr().cast::<i16>());
    let mut i = 0;
    while i + W <= n {
        // SAFETY: i + 16 ≤ n: 16 f32 are read and 16 f16 (32 bytes) written, in bounds.
        unsafe {
            let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm512_loadu_ps(sp.add(i)));
            _mm256_storeu_si256(dp.add(i).cast(), h);
        }
        i += W;
    }
    if i < n {
        let mask = first_lanes(n - i);
        // SAFETY: i < n; the masked load/store access only the first n − i (< 16) elements of each slice.
        unsafe {
            let v = _mm512_maskz_loadu_ps(mask, sp.add(i));
            let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm256_mask_storeu_epi16(dp.add(i), mask, h);
        }
    }
}

/// f32 → bfloat16 (round to nearest even, NaN → quiet NaN) over the common prefix.
///
/// # Safety
/// The CPU must support AVX-512 F, BW, VL, AVX2, FMA and F16C.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn f32_to_bf16_kernel(src: &[f32], dst: &mut [bf16]) {
    let n = src.len().min(dst.len());
    // `bf16` is a transparent u16, and every bit pattern is a valid value.
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr().cast::<i16>());
    let mut i = 0;
    while i + W <= n {
        // SAFETY: i + 16 ≤ n: 16 f32 are read and 16 bf16 (32 bytes) written, in bounds.
        unsafe {
            let h = _mm512_cvtepi32_epi16(bf16_bits(_mm512_loadu_ps(sp.add(i))));
            _mm256_storeu_si256(dp.add(i).cast(), h);
        }
        i += W;
    }
    if i < n {
        let mask = first_lanes(n - i);
        // SAFETY: i < n; the masked load/store access only the first n − i (< 16) elements of each slice.
        unsafe {
            let v = _mm512_maskz_loadu_ps(mask, sp.add(i));
            _mm512_mask_cvtepi32_storeu_epi16(dp.add(i), mask, bf16_bits(v));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Safe entry points.
// ---------------------------------------------------------------------------------------------------------------

impl Sealed for Avx512 {}

impl Kernels for Avx512 {
    const LEVEL: Level = Level::Avx512;

    #[inline]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        self.avx2().dot(a, b)
    }

    #[inline]
    fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
        self.avx2().dot_rows(x, rows, stride, out)
    }

    #[inline]
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        self.avx2().axpy(a, x, y)
    }

    #[inline]
    fn scale(self, a: f32, y: &mut [f32]) {
        self.avx2().scale(a, y)
    }

    #[inline]
    fn max(self, x: &[f32]) -> f32 {
        self.avx2().max(x)
    }

    #[inline]
    fn sum(self, x: &[f32]) -> f32 {
        self.avx2().sum(x)
    }

    #[inline]
    fn exp(self, x: &[f32], out: &mut [f32]) {
        let n = x.len().min(out.len());
        // SAFETY: an `Avx512` token only exists once AVX-512 F/BW/VL, AVX2, FMA and F16C were detected (or
        // `new_unchecked`'s caller vouched for them); `x` is readable and `out` writable for n ≤ both lengths
        // elements, and a shared and a mutable borrow cannot overlap.
        unsafe { exp_raw(x.as_ptr(), out.as_mut_ptr(), n) }
    }

    #[inline]
    fn exp_in_place(self, x: &mut [f32]) {
        let p = x.as_mut_ptr();
        // SAFETY: the token proves the CPU features; source and destination are the same `x.len()` elements,
        // which `exp_raw` allows, both derived from one mutable borrow.
        unsafe { exp_raw(p.cast_const(), p, x.len()) }
    }

    #[inline]
    fn exp_shifted_sum(self, shift: f32, x: &mut [f32]) -> f32 {
        // SAFETY: the token proves the CPU features; the kernel stays within `x`.
        unsafe { exp_shifted_sum_kernel(shift, x) }
    }

    #[inline]
    fn f16_to_f32(self, src: &[f16], dst: &mut [f32]) {
        self.avx2().f16_to_f32(src, dst)
    }

    #[inline]
    fn f32_to_f16(self, src: &[f32], dst: &mut [f16]) {
        // SAFETY: the token proves the CPU features; the kernel stays within the common prefix.
        unsafe { f32_to_f16_kernel(src, dst) }
    }

    #[inline]
    fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]) {
        self.avx2().bf16_to_f32(src, dst)
    }

    #[inline]
    fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]) {
        // SAFETY: the token proves the CPU features; the kernel stays within the common prefix.
        unsafe { f32_to_bf16_kernel(src, dst) }
    }

    #[inline]
    fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        self.avx2().rotate_interleaved(x, cos, sin)
    }

    #[inline]
    fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        self.avx2().rotate_half_split(x, cos, sin)
    }

    #[inline]
    fn gemm(self, shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
        super::gemm::gemm_avx512(self, shape, a, b, c, accumulate)
    }

    #[inline]
    fn prefetch<T>(self, x: &[T]) {
        self.avx2().prefetch(x)
    }

    #[inline]
    fn transpose(
        self,
        rows: usize,
        cols: usize,
        src: &[f32],
        lds: usize,
        dst: &mut [f32],
        ldd: usize,
    ) -> bool {
        super::transpose::transpose(self.avx2(), rows, cols, src, lds, dst, ldd)
    }
}
