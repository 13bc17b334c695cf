//! NEON (Advanced SIMD) kernels for aarch64, on 128-bit vectors of four f32 lanes.
//!
//! # Algorithms
//! - **dot / sum**: four independent 4-lane accumulators (16 elements per step) so that consecutive
//!   `fmla`/`fadd` instructions do not wait on each other, then 4-element steps, then one zero-padded step for
//!   the last `< 4` elements. The accumulators are reduced as `(a0 + a1) + (a2 + a3)`, then across lanes with
//!   pairwise adds (`vaddvq_f32`: `(l0 + l1) + (l2 + l3)`). `dot` fuses each multiply-add (`fmla`).
//! - **dot_rows**: a register tile of four rows × eight columns: each pass loads two vectors of `x` once and uses
//!   them against four rows, with two accumulators per row (eight independent FMA chains). The four row sums
//!   are reduced together with pairwise adds and stored as one vector. The last `< 4` rows use the `dot` kernel.
//!   The number of rows written is [`rows_that_fit`], exactly as for the scalar reference.
//! - **axpy / scale**: 16 elements per step with `fmla` / `fmul`, 4-element steps, then a padded step.
//! - **max**: four accumulators that start at `-inf`, updated with `acc = v > acc ? v : acc` (`fcmgt` + `bsl`),
//!   so every NaN is ignored, signalling NaNs included (`fmaxnm` ignores only quiet NaNs: a signalling one makes
//!   it return NaN). The NaN-free accumulators are reduced with `fmaxnm`/`fmaxnmv`. An empty or all-NaN slice
//!   gives `-inf`.
//! - **exp**: the algorithm and constants of [`portable::exp`](crate::portable::exp), four lanes at a time:
//!   clamp to `[CLAMP_LO, CLAMP_HI]`, `n = (x·log2 e + 1.5·2²³) − 1.5·2²³` (the product is fused into the
//!   addition), Cody–Waite `r = (x − n·LN2_HI) − n·LN2_LO` with fused multiply-subtracts, Horner over `P` with
//!   `fmla`, `e^r = (r + r²·P(r)) + 1`, then `e^r · 2^n₁ · 2^n₂` with `n₁ = n >> 1`, `n₂ = n − n₁`, both powers
//!   of two built by shifting `n + 127` into the exponent field. NaN lanes return the input unchanged. One
//!   raw-pointer kernel serves both [`Kernels::exp`] and [`Kernels::exp_in_place`] (source and destination may
//!   be the same buffer: every vector is loaded before it is stored).
//! - **f16 ⇄ f32**: `fcvtl`/`fcvtl2` and `fcvtn`/`fcvtn2` (base Armv8-A Advanced SIMD; the half-precision vector
//!   types are not stable in Rust, so these four instructions are written with `asm!` on `uint16x8_t` /
//!   `float32x4_t` register operands). Eight values per instruction pair.
//! - **bf16 ⇄ f32**: integer operations only. Widening is `shll #16`. Narrowing adds the rounding bias
//!   `0x7FFF + ((bits >> 16) & 1)` and keeps the high half in one `addhn`; NaN lanes take the high half with the
//!   quiet bit `0x40` set instead. This is bit for bit
//!   [`portable::convert::f32_to_bf16_bits`](crate::portable::convert::f32_to_bf16_bits).
//! - **rotate_interleaved**: `ld2`/`st2` de-interleave four `(x[2i], x[2i+1])` pairs into an even and an odd
//!   vector; **rotate_half_split** loads the two halves directly. Both compute `a·c − b·s` and `a·s + b·c` as
//!   one multiply and one fused multiply-subtract/-add.
//!
//! Every length is handled: the final `< 4` (or `< 8`) elements are copied into a small stack buffer padded with
//! a neutral value (`0`, `-inf`), processed with the same vector instructions as the body, and the valid lanes
//! copied back, so the tail is computed exactly like the rest. When slices have different lengths, the common
//! prefix is processed as [`Kernels`] specifies. Nothing here allocates, panics or touches memory outside the
//! slices it was given.
//!
//! # Accuracy contract
//! - `dot`, `sum`, `dot_rows`: f32 accumulation in a level-specific order (16 partial sums for `dot`/`sum`,
//!   8 per row for `dot_rows`); the error stays within the trait bound `(n + 8)·2⁻²³·Σ|terms|`. Results differ
//!   from the scalar reference only by summation order and FMA rounding. Because each product is fused into
//!   its partial sum, a product whose magnitude exceeds the f32 range is not first rounded to ±inf: a partial
//!   sum of `+inf` plus such a negative product stays `+inf`, where separately rounded arithmetic gives
//!   `inf − inf = NaN`.
//! - `axpy`: one rounding per element (fused); `scale`: correctly rounded products (bit-identical to scalar).
//! - `max`: exact (the sign of a zero maximum is unspecified).
//! - `exp`: the trait contract, ≤ 2 ulp for normal results; it differs from the scalar reference only where
//!   FMA contraction changes a rounding.
//! - `f16_to_f32`, `bf16_to_f32`: exact. `f32_to_f16`: `fcvtn` rounds according to FPCR, which is
//!   round-to-nearest-even in the default floating-point environment that Rust code runs in (Rust assumes it);
//!   overflow gives ±inf, tiny values give subnormals or ±0, NaN gives a quiet NaN (the payload may differ from
//!   the scalar reference). `f32_to_bf16`: bit-identical to the scalar reference, NaN included.
//! - rotations: each output has two roundings from the fused form instead of three, within 2 ulp relative to
//!   `|x·c| + |y·s|`.
//!
//! # Safety
//! The kernels are `#[target_feature(enable = "neon")]` functions private to this module; the [`Kernels`]
//! methods call them only on a [`Neon`] token, which [`Neon::detect`] hands out only where NEON is enabled.
//! Every raw-pointer access states why its offset is inside the slice it came from.
//!
//! # References
//! - Arm Architecture Reference Manual for A-profile (DDI 0487): `FMLA`, `FMAXNM`/`FMAXNMV` (`FPMaxNum`),
//!   `FCVTL`/`FCVTN`, `SHLL`, `ADDHN`, `LD2`/`ST2`.
//! - Arm C Language Extensions, *Neon Intrinsics Reference* (IHI 0073), as exposed by `core::arch::aarch64`.
//! - W. J. Cody and W. Waite, *Software Manual for the Elementary Functions* (1980); S. L. Moshier, *Cephes
//!   Mathematical Library*, `expf.c` — see [`portable::exp`](crate::portable::exp).

use core::arch::aarch64::{
    float32x4_t, float32x4x2_t, uint16x8_t, vaddhn_high_u32, vaddhn_u32, vaddq_f32, vaddq_s32,
    vaddq_u32, vaddvq_f32, vandq_u32, vbslq_f32, vbslq_u16, vceqq_f32, vcgtq_f32, vcvtq_s32_f32,
    vdupq_n_f32, vdupq_n_s32, vdupq_n_u16, vdupq_n_u32, vfmaq_f32, vfmsq_f32, vget_low_u16,
    vld1q_f32, vld1q_u16, vld2q_f32, vmaxnmq_f32, vmaxnmvq_f32, vmaxq_f32, vminq_f32,
    vmovn_high_u32, vmovn_u32, vmulq_f32, vorrq_u16, vpaddq_f32, vreinterpretq_f32_s32,
    vreinterpretq_f32_u32, vreinterpretq_u32_f32, vshll_high_n_u16, vshll_n_u16, vshlq_n_s32,
    vshrn_high_n_u32, vshrn_n_u32, vshrq_n_s32, vshrq_n_u32, vst1q_f32, vst1q_u16, vst2q_f32,
    vsubq_f32, vsubq_s32,
};
use core::arch::asm;

use half::slice::HalfFloatSliceExt;

use super::Neon;
use crate::kernels::{GemmShape, Kernels, Sealed, rows_that_fit};
use crate::portable::exp::{CLAMP_HI, CLAMP_LO, LN2_HI, LN2_LO, LOG2E, P, ROUND_MAGIC};
use crate::{Level, bf16, f16};

impl Sealed for Neon {}

// Every `unsafe` block in this impl calls a `#[target_feature(enable = "neon")]` kernel of this module. The
// only obligation of those kernels is that the CPU supports NEON, which the `Neon` token (`self`) proves: it is
// only constructed by `Neon::detect`, which checks `target_feature = "neon"`.
impl Kernels for Neon {
    const LEVEL: Level = Level::Neon;

    #[inline]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { dot_kernel(a, b) }
    }

    #[inline]
    fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { dot_rows_kernel(x, rows, stride, out) }
    }

    #[inline]
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { axpy_kernel(a, x, y) }
    }

    #[inline]
    fn scale(self, a: f32, y: &mut [f32]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { scale_kernel(a, y) }
    }

    #[inline]
    fn max(self, x: &[f32]) -> f32 {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { max_kernel(x) }
    }

    #[inline]
    fn sum(self, x: &[f32]) -> f32 {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { sum_kernel(x) }
    }

    #[inline]
    fn exp(self, x: &[f32], out: &mut [f32]) {
        let n = x.len().min(out.len());
        // SAFETY: the `Neon` token proves NEON is available; `x` is valid for `n ≤ x.len()` reads and `out` for
        // `n ≤ out.len()` writes; a shared and a mutable borrow never overlap.
        unsafe { exp_raw(x.as_ptr(), out.as_mut_ptr(), n) }
    }

    #[inline]
    fn exp_in_place(self, x: &mut [f32]) {
        let n = x.len();
        let p = x.as_mut_ptr();
        // SAFETY: the `Neon` token proves NEON is available; `p` comes from the exclusive borrow `x` and is valid
        // for `x.len()` reads and writes; `exp_raw` allows the source and destination to be the same buffer.
        unsafe { exp_raw(p, p, n) }
    }

    #[inline]
    fn f16_to_f32(self, src: &[f16], dst: &mut [f32]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { f16_to_f32_kernel(src.reinterpret_cast(), dst) }
    }

    #[inline]
    fn f32_to_f16(self, src: &[f32], dst: &mut [f16]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { f32_to_f16_kernel(src, dst.reinterpret_cast_mut()) }
    }

    #[inline]
    fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { bf16_to_f32_kernel(src.reinterpret_cast(), dst) }
    }

    #[inline]
    fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { f32_to_bf16_kernel(src, dst.reinterpret_cast_mut()) }
    }

    #[inline]
    fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { rotate_interleaved_kernel(x, cos, sin) }
    }

    #[inline]
    fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        // SAFETY: the `Neon` token proves NEON is available.
        unsafe { rotate_half_split_kernel(x, cos, sin) }
    }

    #[inline]
    fn gemm(self, shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
        super::gemm::gemm(self, shape, a, b, c, accumulate)
    }

    #[inline]
    fn prefetch<T>(self, x: &[T]) {
        let p = x.as_ptr().cast::<u8>();
        for off in (0..core::mem::size_of_val(x)).step_by(64) {
            // SAFETY: `off` is below the byte length of `x`, so the address is inside `x`; `prfm` is a hint that never faults, reads
            // nothing architecturally and writes no register or flag.
            unsafe {
                asm!("prfm pldl1keep, [{0}]", in(reg) p.add(off), options(nostack, preserves_flags, readonly))
            };
        }
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
        super::transpose::transpose(self, rows, cols, src, lds, dst, ldd)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tails: at most one vector's worth of elements, through a stack buffer.
// ---------------------------------------------------------------------------------------------------------------

/// Loads up to four leading elements of `s` into a vector; lanes past `s.len()` hold `fill`.
#[target_feature(enable = "neon")]
#[inline]
fn load_tail(s: &[f32], fill: f32) -> float32x4_t {
    let mut buf = [fill; 4];
    for (b, &v) in buf.iter_mut().zip(s) {
        *b = v;
    }
    // SAFETY: `buf` is a local array of four f32, exactly one vector.
    unsafe { vld1q_f32(buf.as_ptr()) }
}

/// Stores the leading `min(4, s.len())` lanes of `v` into `s`.
#[target_feature(enable = "neon")]
#[inline]
fn store_tail(s: &mut [f32], v: float32x4_t) {
    let mut buf = [0.0f32; 4];
    // SAFETY: `buf` is a local array of four f32, exactly one vector.
    unsafe { vst1q_f32(buf.as_mut_ptr(), v) };
    for (d, &b) in s.iter_mut().zip(&buf) {
        *d = b;
    }
}

/// `s.get(start..end)`, or an empty slice when the range is not inside `s` (never the case at the call sites).
#[inline]
fn sub(s: &[f32], start: usize, end: usize) -> &[f32] {
    s.get(start..end).unwrap_or_default()
}

/// `s.get_mut(start..end)`, or an empty slice when the range is not inside `s` (never the case at the call
/// sites).
#[inline]
fn sub_mut(s: &mut [f32], start: usize, end: usize) -> &mut [f32] {
    s.get_mut(start..end).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------------------
// Dot products, axpy, scale.
// ---------------------------------------------------------------------------------------------------------------

/// `Σ a[i]·b[i]` over the common prefix: four 4-lane FMA accumulators.
#[target_feature(enable = "neon")]
fn dot_kernel(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let zero = vdupq_n_f32(0.0);
    let (mut s0, mut s1, mut s2, mut s3) = (zero, zero, zero, zero);
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 ≤ n ≤ a.len(), b.len()`, so the loads read `a[i..i + 16]` and `b[i..i + 16]`.
        unsafe {
            s0 = vfmaq_f32(s0, vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
            s1 = vfmaq_f32(s1, vld1q_f32(pa.add(i + 4)), vld1q_f32(pb.add(i + 4)));
            s2 = vfmaq_f32(s2, vld1q_f32(pa.add(i + 8)), vld1q_f32(pb.add(i + 8)));
            s3 = vfmaq_f32(s3, vld1q_f32(pa.add(i + 12)), vld1q_f32(pb.add(i + 12)));
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: `i + 4 ≤ n ≤ a.len(), b.len()`, so the loads read `a[i..i + 4]` and `b[i..i + 4]`.
        unsafe {
            s0 = vfmaq_f32(s0, vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
        }
        i += 4;
    }
    if i < n {
        // Zero padding: the padded lanes add `0·0 = +0`, which changes no partial sum (they start at +0).
        let ta = load_tail(sub(a, i, n), 0.0);
        let tb = load_tail(sub(b, i, n), 0.0);
        s1 = vfmaq_f32(s1, ta, tb);
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)))
}

/// Row `q` of a [`Kernels::dot_rows`] block: `rows[q·stride ..][..dim]`, or `None` if it does not fit (including
/// on arithmetic overflow).
#[inline]
fn row(rows: &[f32], q: usize, stride: usize, dim: usize) -> Option<&[f32]> {
    let start = q.checked_mul(stride)?;
    rows.get(start..start.checked_add(dim)?)
}

/// [`Kernels::dot_rows`]: four rows per pass sharing the loads of `x`; the remaining rows with [`dot_kernel`].
#[target_feature(enable = "neon")]
fn dot_rows_kernel(x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
    let dim = x.len();
    let n = rows_that_fit(dim, rows.len(), stride, out.len());
    let out = out.get_mut(..n).unwrap_or_default();
    let mut tiles = out.chunks_exact_mut(4);
    let mut q = 0;
    for o in &mut tiles {
        // `rows_that_fit` guarantees that rows `q..q + 4` (all `< n`) lie inside `rows`.
        if let (Some(r0), Some(r1), Some(r2), Some(r3)) = (
            row(rows, q, stride, dim),
            row(rows, q + 1, stride, dim),
            row(rows, q + 2, stride, dim),
            row(rows, q + 3, stride, dim),
        ) {
            let v = dot4_rows(x, [r0, r1, r2, r3]);
            let mut buf = [0.0f32; 4];
            // SAFETY: `buf` is a local array of four f32, exactly one vector.
            unsafe { vst1q_f32(buf.as_mut_ptr(), v) };
            for (d, &b) in o.iter_mut().zip(&buf) {
                *d = b;
            }
        }
        q += 4;
    }
    for o in tiles.into_remainder() {
        if let Some(r) = row(rows, q, stride, dim) {
            *o = dot_kernel(x, r);
        }
        q += 1;
    }
    n
}

/// The four dot products `x · r[k]` as one vector (lane `k`). Each row must hold at least `x.len()` elements
/// (rows that are shorter are treated as if `x` were truncated to the shortest one).
#[target_feature(enable = "neon")]
fn dot4_rows(x: &[f32], r: [&[f32]; 4]) -> float32x4_t {
    let [r0, r1, r2, r3] = r;
    let dim = x
        .len()
        .min(r0.len())
        .min(r1.len())
        .min(r2.len())
        .min(r3.len());
    let px = x.as_ptr();
    let (p0, p1, p2, p3) = (r0.as_ptr(), r1.as_ptr(), r2.as_ptr(), r3.as_ptr());
    let zero = vdupq_n_f32(0.0);
    let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
    let (mut b0, mut b1, mut b2, mut b3) = (zero, zero, zero, zero);
    let mut j = 0;
    while j + 8 <= dim {
        // SAFETY: `j + 8 ≤ dim`, which is at most the length of `x` and of every row, so each load reads
        // elements `j..j + 8` of its slice.
        unsafe {
            let (x0, x1) = (vld1q_f32(px.add(j)), vld1q_f32(px.add(j + 4)));
            a0 = vfmaq_f32(a0, x0, vld1q_f32(p0.add(j)));
            a1 = vfmaq_f32(a1, x0, vld1q_f32(p1.add(j)));
            a2 = vfmaq_f32(a2, x0, vld1q_f32(p2.add(j)));
            a3 = vfmaq_f32(a3, x0, vld1q_f32(p3.add(j)));
            b0 = vfmaq_f32(b0, x1, vld1q_f32(p0.add(j + 4)));
            b1 = vfmaq_f32(b1, x1, vld1q_f32(p1.add(j + 4)));
            b2 = vfmaq_f32(b2, x1, vld1q_f32(p2.add(j + 4)));
            b3 = vfmaq_f32(b3, x1, vld1q_f32(p3.add(j + 4)));
        }
        j += 8;
    }
    if j + 4 <= dim {
        // SAFETY: `j + 4 ≤ dim`, which is at most the length of `x` and of every row, so each load reads
        // elements `j..j + 4` of its slice.
        unsafe {
            let x0 = vld1q_f32(px.add(j));
            a0 = vfmaq_f32(a0, x0, vld1q_f32(p0.add(j)));
            a1 = vfmaq_f32(a1, x0, vld1q_f32(p1.add(j)));
            a2 = vfmaq_f32(a2, x0, vld1q_f32(p2.add(j)));
            a3 = vfmaq_f32(a3, x0, vld1q_f32(p3.add(j)));
        }
        j += 4;
    }
    if j < dim {
        let xt = load_tail(sub(x, j, dim), 0.0);
        b0 = vfmaq_f32(b0, xt, load_tail(sub(r0, j, dim), 0.0));
        b1 = vfmaq_f32(b1, xt, load_tail(sub(r1, j, dim), 0.0));
        b2 = vfmaq_f32(b2, xt, load_tail(sub(r2, j, dim), 0.0));
        b3 = vfmaq_f32(b3, xt, load_tail(sub(r3, j, dim), 0.0));
    }
    let (s0, s1) = (vaddq_f32(a0, b0), vaddq_f32(a1, b1));
    let (s2, s3) = (vaddq_f32(a2, b2), vaddq_f32(a3, b3));
    // Pairwise adds: lane k of the result is the horizontal sum of s_k.
    vpaddq_f32(vpaddq_f32(s0, s1), vpaddq_f32(s2, s3))
}

/// `y[i] += a·x[i]` (fused) over the common prefix.
#[target_feature(enable = "neon")]
fn axpy_kernel(a: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let va = vdupq_n_f32(a);
    let (px, py) = (x.as_ptr(), y.as_mut_ptr());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 ≤ n ≤ x.len(), y.len()`: reads `x[i..i + 16]`, reads and writes `y[i..i + 16]`.
        unsafe {
            let y0 = vfmaq_f32(vld1q_f32(py.add(i)), vld1q_f32(px.add(i)), va);
            let y1 = vfmaq_f32(vld1q_f32(py.add(i + 4)), vld1q_f32(px.add(i + 4)), va);
            let y2 = vfmaq_f32(vld1q_f32(py.add(i + 8)), vld1q_f32(px.add(i + 8)), va);
            let y3 = vfmaq_f32(vld1q_f32(py.add(i + 12)), vld1q_f32(px.add(i + 12)), va);
            vst1q_f32(py.add(i), y0);
            vst1q_f32(py.add(i + 4), y1);
            vst1q_f32(py.add(i + 8), y2);
            vst1q_f32(py.add(i + 12), y3);
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: `i + 4 ≤ n ≤ x.len(), y.len()`: reads `x[i..i + 4]`, reads and writes `y[i..i + 4]`.
        unsafe {
            let y0 = vfmaq_f32(vld1q_f32(py.add(i)), vld1q_f32(px.add(i)), va);
            vst1q_f32(py.add(i), y0);
        }
        i += 4;
    }
    if i < n {
        let xt = load_tail(sub(x, i, n), 0.0);
        let yt = sub_mut(y, i, n);
        let v = vfmaq_f32(load_tail(yt, 0.0), xt, va);
        store_tail(yt, v);
    }
}

/// `y[i] *= a`.
#[target_feature(enable = "neon")]
fn scale_kernel(a: f32, y: &mut [f32]) {
    let n = y.len();
    let va = vdupq_n_f32(a);
    let py = y.as_mut_ptr();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 ≤ n = y.len()`: reads and writes `y[i..i + 16]`.
        unsafe {
            let y0 = vmulq_f32(vld1q_f32(py.add(i)), va);
            let y1 = vmulq_f32(vld1q_f32(py.add(i + 4)), va);
            let y2 = vmulq_f32(vld1q_f32(py.add(i + 8)), va);
            let y3 = vmulq_f32(vld1q_f32(py.add(i + 12)), va);
            vst1q_f32(py.add(i), y0);
            vst1q_f32(py.add(i + 4), y1);
            vst1q_f32(py.add(i + 8), y2);
            vst1q_f32(py.add(i + 12), y3);
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: `i + 4 ≤ n = y.len()`: reads and writes `y[i..i + 4]`.
        unsafe { vst1q_f32(py.add(i), vmulq_f32(vld1q_f32(py.add(i)), va)) };
        i += 4;
    }
    if i < n {
        let yt = sub_mut(y, i, n);
        let v = vmulq_f32(load_tail(yt, 0.0), va);
        store_tail(yt, v);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions.
// ---------------------------------------------------------------------------------------------------------------

/// Lane-wise `if v > acc { v } else { acc }`: a NaN in `v` (quiet or signalling) compares false and is ignored.
#[target_feature(enable = "neon")]
#[inline]
fn max_step(acc: float32x4_t, v: float32x4_t) -> float32x4_t {
    // Not `fmaxnm(acc, v)`: with a signalling NaN in `v` it returns NaN, which a later `fmaxnm` would then
    // replace by whatever number comes next, losing the maximum so far.
    vbslq_f32(vcgtq_f32(v, acc), v, acc)
}

/// Largest element ignoring NaN; `-inf` for an empty or all-NaN slice.
#[target_feature(enable = "neon")]
fn max_kernel(x: &[f32]) -> f32 {
    let n = x.len();
    let px = x.as_ptr();
    let ninf = vdupq_n_f32(f32::NEG_INFINITY);
    let (mut m0, mut m1, mut m2, mut m3) = (ninf, ninf, ninf, ninf);
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 ≤ n = x.len()`: reads `x[i..i + 16]`.
        unsafe {
            m0 = max_step(m0, vld1q_f32(px.add(i)));
            m1 = max_step(m1, vld1q_f32(px.add(i + 4)));
            m2 = max_step(m2, vld1q_f32(px.add(i + 8)));
            m3 = max_step(m3, vld1q_f32(px.add(i + 12)));
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: `i + 4 ≤ n = x.len()`: reads `x[i..i + 4]`.
        unsafe { m0 = max_step(m0, vld1q_f32(px.add(i))) };
        i += 4;
    }
    if i < n {
        m1 = max_step(m1, load_tail(sub(x, i, n), f32::NEG_INFINITY));
    }
    // The accumulators hold no NaN, so the reduction is an ordinary maximum.
    vmaxnmvq_f32(vmaxnmq_f32(vmaxnmq_f32(m0, m1), vmaxnmq_f32(m2, m3)))
}

/// `Σ x[i]` with four 4-lane accumulators.
#[target_feature(enable = "neon")]
fn sum_kernel(x: &[f32]) -> f32 {
    let n = x.len();
    let px = x.as_ptr();
    let zero = vdupq_n_f32(0.0);
    let (mut s0, mut s1, mut s2, mut s3) = (zero, zero, zero, zero);
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 ≤ n = x.len()`: reads `x[i..i + 16]`.
        unsafe {
            s0 = vaddq_f32(s0, vld1q_f32(px.add(i)));
            s1 = vaddq_f32(s1, vld1q_f32(px.add(i + 4)));
            s2 = vaddq_f32(s2, vld1q_f32(px.add(i + 8)));
            s3 = vaddq_f32(s3, vld1q_f32(px.add(i + 12)));
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: `i + 4 ≤ n = x.len()`: reads `x[i..i + 4]`.
        unsafe { s0 = vaddq_f32(s0, vld1q_f32(px.add(i))) };
        i += 4;
    }
    if i < n {
        s1 = vaddq_f32(s1, load_tail(sub(x, i, n), 0.0));
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)))
}

// ---------------------------------------------------------------------------------------------------------------
// Exponential.
// ---------------------------------------------------------------------------------------------------------------

/// `e^x` on four lanes with the algorithm and constants of [`crate::portable::exp`].
#[target_feature(enable = "neon")]
#[inline]
fn exp4(x: float32x4_t) -> float32x4_t {
    let [p0, p1, p2, p3, p4, p5] = P;
    // All-ones in lanes that are not NaN.
    let is_num = vceqq_f32(x, x);
    // Clamp; NaN lanes become NaN or a bound here and are replaced at the end.
    let xc = vminq_f32(vmaxq_f32(x, vdupq_n_f32(CLAMP_LO)), vdupq_n_f32(CLAMP_HI));
    // n = round_to_nearest_even(x·log2 e) through the 1.5·2²³ magic number.
    let magic = vdupq_n_f32(ROUND_MAGIC);
    let n = vsubq_f32(vfmaq_f32(magic, xc, vdupq_n_f32(LOG2E)), magic);
    // Cody–Waite reduction: n·LN2_HI is exact, so the first step is exact too.
    let r = vfmsq_f32(xc, n, vdupq_n_f32(LN2_HI));
    let r = vfmsq_f32(r, n, vdupq_n_f32(LN2_LO));
    // Horner over P, highest degree first.
    let mut p = vdupq_n_f32(p0);
    p = vfmaq_f32(vdupq_n_f32(p1), p, r);
    p = vfmaq_f32(vdupq_n_f32(p2), p, r);
    p = vfmaq_f32(vdupq_n_f32(p3), p, r);
    p = vfmaq_f32(vdupq_n_f32(p4), p, r);
    p = vfmaq_f32(vdupq_n_f32(p5), p, r);
    // e^r ≈ (r + r²·P(r)) + 1.
    let e = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0));
    // n is an integer in [-150, 129]: the conversion is exact. 2^n = 2^n₁ · 2^n₂, both normal.
    let ni = vcvtq_s32_f32(n);
    let n1 = vshrq_n_s32::<1>(ni);
    let n2 = vsubq_s32(ni, n1);
    let bias = vdupq_n_s32(127);
    let s1 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(n1, bias)));
    let s2 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(n2, bias)));
    let y = vmulq_f32(vmulq_f32(e, s1), s2);
    // NaN in, the same NaN out.
    vbslq_f32(is_num, y, x)
}

/// `dst[i] = e^src[i]` for `i < n`.
///
/// # Safety
/// - The CPU supports NEON.
/// - `src` is valid for `n` reads and `dst` for `n` writes of `f32`.
/// - The two ranges are either the same (`src == dst`, in place) or do not overlap.
#[target_feature(enable = "neon")]
unsafe fn exp_raw(src: *const f32, dst: *mut f32, n: usize) {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 ≤ n`: reads `src[i..i + 8]` and writes `dst[i..i + 8]`, inside the ranges the caller
        // vouches for. Both vectors are loaded before either is stored, so `src == dst` is fine.
        unsafe {
            let v0 = vld1q_f32(src.add(i));
            let v1 = vld1q_f32(src.add(i + 4));
            vst1q_f32(dst.add(i), exp4(v0));
            vst1q_f32(dst.add(i + 4), exp4(v1));
        }
        i += 8;
    }
    if i + 4 <= n {
        // SAFETY: `i + 4 ≤ n`: reads `src[i..i + 4]`, then writes `dst[i..i + 4]`.
        unsafe { vst1q_f32(dst.add(i), exp4(vld1q_f32(src.add(i)))) };
        i += 4;
    }
    if i < n {
        let len = n - i;
        let mut buf = [0.0f32; 4];
        // SAFETY: `len = n − i < 4`: copies `src[i..n]` into the local `buf` (which it cannot overlap), runs one
        // vector on `buf`, then copies the first `len` lanes back to `dst[i..n]`.
        unsafe {
            core::ptr::copy_nonoverlapping(src.add(i), buf.as_mut_ptr(), len);
            vst1q_f32(buf.as_mut_ptr(), exp4(vld1q_f32(buf.as_ptr())));
            core::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(i), len);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions.
// ---------------------------------------------------------------------------------------------------------------

/// Widens eight binary16 values (as bits) to two f32 vectors with `fcvtl` / `fcvtl2` (exact).
#[target_feature(enable = "neon")]
#[inline]
fn f16x8_to_f32(h: uint16x8_t) -> (float32x4_t, float32x4_t) {
    let lo: float32x4_t;
    let hi: float32x4_t;
    // SAFETY: `fcvtl`/`fcvtl2` (half → single) are base Armv8-A Advanced SIMD instructions, available since
    // NEON is enabled here. They only read `h` and write the two outputs; no memory, no stack. `lo` is an early
    // output (`out`) because `h` is still read after it is written.
    unsafe {
        asm!(
            "fcvtl {lo:v}.4s, {h:v}.4h",
            "fcvtl2 {hi:v}.4s, {h:v}.8h",
            h = in(vreg) h,
            lo = out(vreg) lo,
            hi = lateout(vreg) hi,
            options(pure, nomem, nostack),
        );
    }
    (lo, hi)
}

/// Narrows two f32 vectors to eight binary16 values (as bits) with `fcvtn` / `fcvtn2`, rounding as FPCR says
/// (nearest-even by default).
#[target_feature(enable = "neon")]
#[inline]
fn f32x8_to_f16(lo: float32x4_t, hi: float32x4_t) -> uint16x8_t {
    let h: uint16x8_t;
    // SAFETY: `fcvtn`/`fcvtn2` (single → half) are base Armv8-A Advanced SIMD instructions, available since
    // NEON is enabled here. They only read `lo`/`hi` and write `h`; no memory, no stack. `h` is an early output
    // (`out`) because `hi` is still read after the first instruction writes `h`; `fcvtn2` keeps the low half.
    unsafe {
        asm!(
            "fcvtn {h:v}.4h, {lo:v}.4s",
            "fcvtn2 {h:v}.8h, {hi:v}.4s",
            lo = in(vreg) lo,
            hi = in(vreg) hi,
            h = out(vreg) h,
            options(pure, nomem, nostack),
        );
    }
    h
}

/// 16-bit floats (as bits) → f32 over the common prefix with `widen` (eight values to two vectors), 16 then 8 per
/// step, the rest through a padded buffer: the loop of every widening conversion, inlined into its
/// `#[target_feature]` kernel.
#[inline(always)]
fn widen_loop(
    src: &[u16],
    dst: &mut [f32],
    widen: impl Fn(uint16x8_t) -> (float32x4_t, float32x4_t),
) {
    let n = src.len().min(dst.len());
    let (ps, pd) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 ≤ n ≤ src.len(), dst.len()`: reads `src[i..i + 16]`, writes `dst[i..i + 16]`.
        unsafe {
            let (a0, a1) = widen(vld1q_u16(ps.add(i)));
            let (b0, b1) = widen(vld1q_u16(ps.add(i + 8)));
            vst1q_f32(pd.add(i), a0);
            vst1q_f32(pd.add(i + 4), a1);
            vst1q_f32(pd.add(i + 8), b0);
            vst1q_f32(pd.add(i + 12), b1);
        }
        i += 16;
    }
    if i + 8 <= n {
        // SAFETY: `i + 8 ≤ n ≤ src.len(), dst.len()`: reads `src[i..i + 8]`, writes `dst[i..i + 8]`.
        unsafe {
            let (a0, a1) = widen(vld1q_u16(ps.add(i)));
            vst1q_f32(pd.add(i), a0);
            vst1q_f32(pd.add(i + 4), a1);
        }
        i += 8;
    }
    if i < n {
        let mut hb = [0u16; 8];
        for (b, &s) in hb.iter_mut().zip(src.get(i..n).unwrap_or_default()) {
            *b = s;
        }
        let mut fb = [0.0f32; 8];
        // SAFETY: `hb` holds eight u16 (one vector) and `fb` eight f32 (two vectors); both are local arrays.
        unsafe {
            let (a0, a1) = widen(vld1q_u16(hb.as_ptr()));
            vst1q_f32(fb.as_mut_ptr(), a0);
            vst1q_f32(fb.as_mut_ptr().add(4), a1);
        }
        for (d, &b) in sub_mut(dst, i, n).iter_mut().zip(&fb) {
            *d = b;
        }
    }
}

/// f32 → 16-bit floats (as bits) over the common prefix with `narrow` (two vectors to eight values), 16 then 8
/// per step, the rest through a padded buffer: the loop of every narrowing conversion, inlined into its
/// `#[target_feature]` kernel.
#[inline(always)]
fn narrow_loop(
    src: &[f32],
    dst: &mut [u16],
    narrow: impl Fn(float32x4_t, float32x4_t) -> uint16x8_t,
) {
    let n = src.len().min(dst.len());
    let (ps, pd) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 ≤ n ≤ src.len(), dst.len()`: reads `src[i..i + 16]`, writes `dst[i..i + 16]`.
        unsafe {
            let a = narrow(vld1q_f32(ps.add(i)), vld1q_f32(ps.add(i + 4)));
            let b = narrow(vld1q_f32(ps.add(i + 8)), vld1q_f32(ps.add(i + 12)));
            vst1q_u16(pd.add(i), a);
            vst1q_u16(pd.add(i + 8), b);
        }
        i += 16;
    }
    if i + 8 <= n {
        // SAFETY: `i + 8 ≤ n ≤ src.len(), dst.len()`: reads `src[i..i + 8]`, writes `dst[i..i + 8]`.
        unsafe {
            let a = narrow(vld1q_f32(ps.add(i)), vld1q_f32(ps.add(i + 4)));
            vst1q_u16(pd.add(i), a);
        }
        i += 8;
    }
    if i < n {
        let mut fb = [0.0f32; 8];
        for (b, &s) in fb.iter_mut().zip(sub(src, i, n)) {
            *b = s;
        }
        let mut hb = [0u16; 8];
        // SAFETY: `fb` holds eight f32 (two vectors) and `hb` eight u16 (one vector); both are local arrays.
        unsafe {
            let h = narrow(vld1q_f32(fb.as_ptr()), vld1q_f32(fb.as_ptr().add(4)));
            vst1q_u16(hb.as_mut_ptr(), h);
        }
        for (d, &b) in dst.get_mut(i..n).unwrap_or_default().iter_mut().zip(&hb) {
            *d = b;
        }
    }
}

/// binary16 bits → f32 (`fcvtl`/`fcvtl2`).
#[target_feature(enable = "neon")]
fn f16_to_f32_kernel(src: &[u16], dst: &mut [f32]) {
    widen_loop(src, dst, |h| f16x8_to_f32(h));
}

/// f32 → binary16 bits (`fcvtn`/`fcvtn2`).
#[target_feature(enable = "neon")]
fn f32_to_f16_kernel(src: &[f32], dst: &mut [u16]) {
    narrow_loop(src, dst, |lo, hi| f32x8_to_f16(lo, hi));
}

/// Widens eight bfloat16 values (as bits) to two f32 vectors: `shll #16` puts the bits in the high half.
#[target_feature(enable = "neon")]
#[inline]
fn bf16x8_to_f32(h: uint16x8_t) -> (float32x4_t, float32x4_t) {
    (
        vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(h))),
        vreinterpretq_f32_u32(vshll_high_n_u16::<16>(h)),
    )
}

/// Narrows two f32 vectors to eight bfloat16 values (as bits), round to nearest even, exactly as
/// [`crate::portable::convert::f32_to_bf16_bits`].
#[target_feature(enable = "neon")]
#[inline]
fn f32x8_to_bf16(lo: float32x4_t, hi: float32x4_t) -> uint16x8_t {
    let (bl, bh) = (vreinterpretq_u32_f32(lo), vreinterpretq_u32_f32(hi));
    let one = vdupq_n_u32(1);
    let half_minus_one = vdupq_n_u32(0x7FFF);
    // Bias 0x7FFF + ((bits >> 16) & 1); `addhn` adds (mod 2³²) and keeps the high 16 bits of each sum.
    let bias_l = vaddq_u32(half_minus_one, vandq_u32(vshrq_n_u32::<16>(bl), one));
    let bias_h = vaddq_u32(half_minus_one, vandq_u32(vshrq_n_u32::<16>(bh), one));
    let rounded = vaddhn_high_u32(vaddhn_u32(bl, bias_l), bh, bias_h);
    // NaN: the high half with the quiet bit set (sign and upper payload kept).
    let truncated = vshrn_high_n_u32::<16>(vshrn_n_u32::<16>(bl), bh);
    let quiet = vorrq_u16(truncated, vdupq_n_u16(0x0040));
    let is_num = vmovn_high_u32(vmovn_u32(vceqq_f32(lo, lo)), vceqq_f32(hi, hi));
    vbslq_u16(is_num, rounded, quiet)
}

/// bfloat16 bits → f32 (`shll #16`).
#[target_feature(enable = "neon")]
fn bf16_to_f32_kernel(src: &[u16], dst: &mut [f32]) {
    widen_loop(src, dst, |h| bf16x8_to_f32(h));
}

/// f32 → bfloat16 bits, round to nearest even.
#[target_feature(enable = "neon")]
fn f32_to_bf16_kernel(src: &[f32], dst: &mut [u16]) {
    narrow_loop(src, dst, |lo, hi| f32x8_to_bf16(lo, hi));
}

// ---------------------------------------------------------------------------------------------------------------
// Rotations (RoPE).
// ---------------------------------------------------------------------------------------------------------------

/// Rotates `(a, b)` by `(c, s)`: `(a·c − b·s, a·s + b·c)`, one product rounded and the other fused.
#[target_feature(enable = "neon")]
#[inline]
fn rot(a: float32x4_t, b: float32x4_t, c: float32x4_t, s: float32x4_t) -> float32x4x2_t {
    float32x4x2_t(
        vfmsq_f32(vmulq_f32(a, c), b, s),
        vfmaq_f32(vmulq_f32(a, s), b, c),
    )
}

/// [`Kernels::rotate_interleaved`]: four pairs per vector, de-interleaved by `ld2` and re-interleaved by `st2`.
#[target_feature(enable = "neon")]
fn rotate_interleaved_kernel(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let n = (x.len() / 2).min(cos.len()).min(sin.len());
    let (px, pc, ps) = (x.as_mut_ptr(), cos.as_ptr(), sin.as_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 ≤ n` with `2n ≤ x.len()`, `n ≤ cos.len(), sin.len()`: reads and writes
        // `x[2i..2i + 16]`, reads `cos[i..i + 8]` and `sin[i..i + 8]`.
        unsafe {
            let v0 = vld2q_f32(px.add(2 * i));
            let v1 = vld2q_f32(px.add(2 * i + 8));
            let (c0, c1) = (vld1q_f32(pc.add(i)), vld1q_f32(pc.add(i + 4)));
            let (s0, s1) = (vld1q_f32(ps.add(i)), vld1q_f32(ps.add(i + 4)));
            vst2q_f32(px.add(2 * i), rot(v0.0, v0.1, c0, s0));
            vst2q_f32(px.add(2 * i + 8), rot(v1.0, v1.1, c1, s1));
        }
        i += 8;
    }
    if i + 4 <= n {
        // SAFETY: `i + 4 ≤ n` with `2n ≤ x.len()`, `n ≤ cos.len(), sin.len()`: reads and writes `x[2i..2i + 8]`,
        // reads `cos[i..i + 4]` and `sin[i..i + 4]`.
        unsafe {
            let v = vld2q_f32(px.add(2 * i));
            let r = rot(v.0, v.1, vld1q_f32(pc.add(i)), vld1q_f32(ps.add(i)));
            vst2q_f32(px.add(2 * i), r);
        }
        i += 4;
    }
    if i < n {
        let xt = sub_mut(x, 2 * i, 2 * n);
        let mut buf = [0.0f32; 8];
        for (b, &v) in buf.iter_mut().zip(xt.iter()) {
            *b = v;
        }
        let c = load_tail(sub(cos, i, n), 0.0);
        let s = load_tail(sub(sin, i, n), 0.0);
        // SAFETY: `buf` is a local array of eight f32: `ld2`/`st2` of four pairs read and write exactly it.
        unsafe {
            let v = vld2q_f32(buf.as_ptr());
            vst2q_f32(buf.as_mut_ptr(), rot(v.0, v.1, c, s));
        }
        for (d, &b) in xt.iter_mut().zip(&buf) {
            *d = b;
        }
    }
}

/// [`Kernels::rotate_half_split`]: the two halves `x[..h]` and `x[h..]` are loaded as separate vectors.
#[target_feature(enable = "neon")]
fn rotate_half_split_kernel(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let h = x.len() / 2;
    let Some((lo, hi)) = x.split_at_mut_checked(h) else {
        return;
    };
    // `lo.len() = h` and `hi.len() = x.len() − h ≥ h`.
    let n = h.min(cos.len()).min(sin.len());
    let (pl, ph, pc, ps) = (lo.as_mut_ptr(), hi.as_mut_ptr(), cos.as_ptr(), sin.as_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 ≤ n ≤ lo.len(), hi.len(), cos.len(), sin.len()`: reads and writes `lo[i..i + 8]` and
        // `hi[i..i + 8]` (disjoint halves), reads `cos[i..i + 8]` and `sin[i..i + 8]`.
        unsafe {
            let (a0, a1) = (vld1q_f32(pl.add(i)), vld1q_f32(pl.add(i + 4)));
            let (b0, b1) = (vld1q_f32(ph.add(i)), vld1q_f32(ph.add(i + 4)));
            let (c0, c1) = (vld1q_f32(pc.add(i)), vld1q_f32(pc.add(i + 4)));
            let (s0, s1) = (vld1q_f32(ps.add(i)), vld1q_f32(ps.add(i + 4)));
            let r0 = rot(a0, b0, c0, s0);
            let r1 = rot(a1, b1, c1, s1);
            vst1q_f32(pl.add(i), r0.0);
            vst1q_f32(pl.add(i + 4), r1.0);
            vst1q_f32(ph.add(i), r0.1);
            vst1q_f32(ph.add(i + 4), r1.1);
        }
        i += 8;
    }
    if i + 4 <= n {
        // SAFETY: `i + 4 ≤ n ≤ lo.len(), hi.len(), cos.len(), sin.len()`: reads and writes `lo[i..i + 4]` and
        // `hi[i..i + 4]`, reads `cos[i..i + 4]` and `sin[i..i + 4]`.
        unsafe {
            let r = rot(
                vld1q_f32(pl.add(i)),
                vld1q_f32(ph.add(i)),
                vld1q_f32(pc.add(i)),
                vld1q_f32(ps.add(i)),
            );
            vst1q_f32(pl.add(i), r.0);
            vst1q_f32(ph.add(i), r.1);
        }
        i += 4;
    }
    if i < n {
        let (lt, ht) = (sub_mut(lo, i, n), sub_mut(hi, i, n));
        let c = load_tail(sub(cos, i, n), 0.0);
        let s = load_tail(sub(sin, i, n), 0.0);
        let r = rot(load_tail(lt, 0.0), load_tail(ht, 0.0), c, s);
        store_tail(lt, r.0);
        store_tail(ht, r.1);
    }
}
