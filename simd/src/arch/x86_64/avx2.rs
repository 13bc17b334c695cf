//! AVX2 + FMA + F16C kernels (x86-64-v3): 8 f32 lanes per `__m256`.
//!
//! # Algorithms
//! - **Reductions** (`dot`, `dot_rows`, `sum`, `max`): four independent 8-lane accumulators cover 32 consecutive
//!   elements per step, so four FMA (or add, max) dependency chains are in flight and the FMA latency is hidden.
//!   Element `i` always goes to accumulator `(i / 8) mod 4`, lane `i mod 8`, including in the tail; the
//!   accumulators are combined as `(a0 + a1) + (a2 + a3)` and the eight lanes by a fixed tree. The summation order
//!   therefore depends only on the length, never on alignment.
//! - **`dot_rows`** register-tiles three rows per pass: 3 × 4 accumulators plus the shared `x` vector fit the 16
//!   `ymm` registers (rows are FMA memory operands), so each `x` load serves three rows. The tile runs the very
//!   code of `dot` with `R` rows, so every `out[r]` is bit-identical to `dot(x, row r)` on this level.
//! - **`axpy`** is one FMA per element (`y + a·x` rounded once); **`scale`** a multiply (bit-identical to the
//!   scalar reference).
//! - **`exp`** evaluates the shared algorithm of [`portable::exp`](crate::portable::exp) lane-wise with the same
//!   constants: clamp, magic-number rounding `n = (x·log2 e + 1.5·2²³) − 1.5·2²³` (multiply then add, exactly as
//!   the scalar code), Cody–Waite `r = (x − n·LN2_HI) − n·LN2_LO` and the Horner polynomial with FMA, and the
//!   two-step scaling `e^r · 2^n₁ · 2^n₂` built from exponent bits. NaN lanes are restored by a final blend.
//!   `exp` and `exp_in_place` share one raw-pointer kernel that allows `src == dst`.
//! - **f16 ⇄ f32** use F16C (`vcvtph2ps`, and `vcvtps2ph` with immediate round-to-nearest-even, independent of
//!   MXCSR). **bf16 ⇄ f32** are integer operations: widening shifts the bits left by 16; narrowing computes
//!   `(bits + 0x7FFF + ((bits >> 16) & 1)) >> 16`, or `(bits >> 16) | 0x40` for NaN, exactly
//!   [`f32_to_bf16_bits`](crate::portable::convert::f32_to_bf16_bits).
//! - **Rotations**: interleaved pairs are rotated in place without deinterleaving: `cos`/`sin` are duplicated
//!   into pair lanes with `vpermps`, the pair partner is obtained with an in-lane swap (`vpermilps`), and
//!   `vfmaddsub` gives `a·c − b·s` in even lanes and `b·c + a·s` in odd lanes. The half-split layout is purely
//!   vertical (`lo·c − hi·s`, `lo·s + hi·c`, one FMA each).
//! - **Tails** (any length): partial f32 vectors are read with `vmaskmovps` (`_mm256_maskload_ps`), which
//!   neither accesses nor faults on masked-out lanes and returns `+0.0` there (reductions read their last
//!   `< 32` elements this way, up to four vectors), and computed like full vectors. Results are written back with
//!   at most one 4-, one 2- and one 1-lane store rather than a `vmaskmovps` store, which costs tens of cycles on
//!   AMD Zen (more than the whole tail). 16-bit tails are packed into and unpacked from general-purpose
//!   registers. No access ever leaves the slices.
//!
//! # Accuracy
//! As stated by [`Kernels`]: sums and dots within `(n + 8)·2⁻²³·Σ|terms|`; `exp` within 2 ulp on the normal
//! range (it differs from the scalar reference only by FMA contraction); conversions bit-exact (NaN stays NaN,
//! quiet); `max` exact (IEEE `maxNum`: `vmaxps(x, acc)` returns `acc` when `x` is NaN, and `acc` starts at
//! `-inf`); rotations within a few ulp of `|x·c| + |y·s|`.
//!
//! # References
//! Intel® Intrinsics Guide; Intel® 64 and IA-32 Architectures Software Developer's Manual, Vol. 2
//! (`VMASKMOV`: masked-out elements are not accessed and raise no fault; `VMAXPS`; `VCVTPS2PH`; `VFMADDSUB`);
//! S. L. Moshier, *Cephes Mathematical Library* (`expf`); W. J. Cody and W. Waite, *Software Manual for the
//! Elementary Functions* (1980).

use core::arch::x86_64::*;

use super::Avx2;
use crate::kernels::{GemmShape, Kernels, Sealed, rows_that_fit};
use crate::portable::exp::{CLAMP_HI, CLAMP_LO, LN2_HI, LN2_LO, LOG2E, P, ROUND_MAGIC};
use crate::{Level, bf16, f16};

/// f32 lanes per vector.
const W: usize = 8;
/// Elements per reduction step: four accumulators of `W` lanes.
const BLOCK: usize = 4 * W;
/// Rows per `dot_rows` tile.
const TILE_ROWS: usize = 3;

// ---------------------------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------------------------

/// All-ones in the first `min(n, 8)` 32-bit lanes, zero in the others.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn first_lanes(n: usize) -> __m256i {
    let n = n.min(W) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// All-ones in the first `min(n, 4)` 32-bit lanes of a 128-bit vector.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn first_lanes4(n: usize) -> __m128i {
    let n = n.min(4) as i32;
    _mm_cmpgt_epi32(_mm_set1_epi32(n), _mm_setr_epi32(0, 1, 2, 3))
}

/// Writes the first `len` (< 8) lanes of `v` to `dst`.
///
/// The tails use this instead of a `vmaskmovps` store, which costs tens of cycles on AMD Zen: at most one 4-, one
/// 2- and one 1-lane store (`len = 4a + 2b + c`).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `dst` must be valid for writing `len` f32, and `len < 8`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn store_first(dst: *mut f32, v: __m256, len: usize) {
    let mut lanes = _mm256_castps256_ps128(v);
    let mut at = 0;
    if len & 4 != 0 {
        // SAFETY: lanes 0..4 < len are writable.
        unsafe { _mm_storeu_ps(dst, lanes) };
        lanes = _mm256_extractf128_ps::<1>(v);
        at = 4;
    }
    if len & 2 != 0 {
        // SAFETY: at + 2 ≤ len: the 8 bytes of two f32 are writable. The store is unaligned on purpose
        // (`write_unaligned`, one `movsd`): `dst` is only 4-byte aligned, and `_mm_store_sd` is a typed `f64`
        // write that requires 8 (Miri reports it as undefined behaviour).
        unsafe {
            dst.add(at)
                .cast::<f64>()
                .write_unaligned(_mm_cvtsd_f64(_mm_castps_pd(lanes)))
        };
        lanes = _mm_movehl_ps(lanes, lanes);
        at += 2;
    }
    if len & 1 != 0 {
        // SAFETY: at + 1 = len.
        unsafe { _mm_store_ss(dst.add(at), lanes) };
    }
}

/// The bits of up to eight 16-bit values, packed into the low lanes of a vector (zero above).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn gather_u16(bits: impl Iterator<Item = u16>) -> __m128i {
    // Built in general-purpose registers: storing u16s to memory and reloading them as a vector would stall on
    // store-to-load forwarding.
    let (mut lo, mut hi) = (0u64, 0u64);
    for (k, b) in bits.take(W).enumerate() {
        let shift = 16 * (k % 4);
        if k < 4 {
            lo |= u64::from(b) << shift;
        } else {
            hi |= u64::from(b) << shift;
        }
    }
    _mm_set_epi64x(hi as i64, lo as i64)
}

/// The eight 16-bit lanes of `v`, in order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn scatter_u16(v: __m128i) -> impl Iterator<Item = u16> {
    let lo = _mm_cvtsi128_si64(v) as u64;
    let hi = _mm_extract_epi64::<1>(v) as u64;
    (0..W).map(move |k| {
        let word = if k < 4 { lo } else { hi };
        (word >> (16 * (k % 4))) as u16
    })
}

/// `l0 + … + l7` as `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Largest lane of a vector without NaN.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hmax(v: __m256) -> f32 {
    let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_max_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// `(a0 + a1) + (a2 + a3)`, then the horizontal sum.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn reduce_sum(acc: [__m256; 4]) -> f32 {
    let [a0, a1, a2, a3] = acc;
    hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)))
}

/// `e^x` lane-wise with the shared algorithm of [`crate::portable::exp`].
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn exp8(x: __m256) -> __m256 {
    let [p0, p1, p2, p3, p4, p5] = P;
    let magic = _mm256_set1_ps(ROUND_MAGIC);
    // max/min return their second operand for a NaN first operand, so NaN lanes become CLAMP_LO here (and are
    // restored by the final blend).
    let xc = _mm256_min_ps(
        _mm256_max_ps(x, _mm256_set1_ps(CLAMP_LO)),
        _mm256_set1_ps(CLAMP_HI),
    );
    // Multiply then add, as the scalar reference: the same `n` on every level.
    let n = _mm256_sub_ps(
        _mm256_add_ps(_mm256_mul_ps(xc, _mm256_set1_ps(LOG2E)), magic),
        magic,
    );
    // n·LN2_HI is exact, so the first step equals the scalar `x − n·LN2_HI`.
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), xc);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    let mut p = _mm256_set1_ps(p0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(p5));
    let e = _mm256_add_ps(
        _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r),
        _mm256_set1_ps(1.0),
    );
    // n is an integer in [-150, 129]: the conversion is exact in any rounding mode.
    let ni = _mm256_cvtps_epi32(n);
    let n1 = _mm256_srai_epi32::<1>(ni);
    let n2 = _mm256_sub_epi32(ni, n1);
    let bias = _mm256_set1_epi32(127);
    let s1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n1, bias)));
    let s2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n2, bias)));
    let y = _mm256_mul_ps(_mm256_mul_ps(e, s1), s2);
    _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x))
}

/// bf16 bits (in the low half of each 32-bit lane) of `v` rounded to nearest even; NaN → quiet NaN.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn bf16_bits(v: __m256) -> __m256i {
    let bits = _mm256_castps_si256(v);
    let high = _mm256_srli_epi32::<16>(bits);
    let bias = _mm256_add_epi32(
        _mm256_set1_epi32(0x7FFF),
        _mm256_and_si256(high, _mm256_set1_epi32(1)),
    );
    let rounded = _mm256_srli_epi32::<16>(_mm256_add_epi32(bits, bias));
    let quiet = _mm256_or_si256(high, _mm256_set1_epi32(0x40));
    let nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
    _mm256_blendv_epi8(rounded, quiet, nan)
}

/// Packs the low 16 bits of the eight 32-bit lanes (each ≤ 0xFFFF) into eight u16, in order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn pack_u16(v: __m256i) -> __m128i {
    _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
}

/// Rotates four interleaved pairs `x = [a0 b0 a1 b1 a2 b2 a3 b3]` by `c = [c0 c1 c2 c3]`, `s = [s0 s1 s2 s3]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn rotate4_interleaved(x: __m256, c: __m128, s: __m128) -> __m256 {
    let dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    let cc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(c), dup);
    let ss = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(s), dup);
    // [b0 a0 b1 a1 …]
    let swapped = _mm256_permute_ps::<0b10_11_00_01>(x);
    // Even lanes a·c − b·s, odd lanes b·c + a·s.
    _mm256_fmaddsub_ps(x, cc, _mm256_mul_ps(swapped, ss))
}

// ---------------------------------------------------------------------------------------------------------------
// Kernels.
// ---------------------------------------------------------------------------------------------------------------

/// Dot products of `x` with each of the `R` rows over `n = min(x.len(), every row length)` elements, in the
/// summation order described in the module documentation (identical for every `R`).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_tile<const R: usize>(x: &[f32], rows: [&[f32]; R]) -> [f32; R] {
    let n = rows.iter().fold(x.len(), |n, row| n.min(row.len()));
    let xp = x.as_ptr();
    let rp = rows.map(<[f32]>::as_ptr);
    let mut acc = [[_mm256_setzero_ps(); 4]; R];
    let mut i = 0;
    while i + BLOCK <= n {
        for k in 0..4 {
            let at = i + k * W;
            // SAFETY: at + W ≤ i + BLOCK ≤ n, and n is at most the length of `x` and of every row.
            let xv = unsafe { _mm256_loadu_ps(xp.add(at)) };
            for (a, &p) in acc.iter_mut().zip(&rp) {
                // SAFETY: as above, for this row.
                let rv = unsafe { _mm256_loadu_ps(p.add(at)) };
                a[k] = _mm256_fmadd_ps(xv, rv, a[k]);
            }
        }
        i += BLOCK;
    }
    // Fewer than BLOCK elements left: continue with accumulators 0, 1, … (masked loads, zero in unused lanes).
    for k in 0..4 {
        if i >= n {
            break;
        }
        let mask = first_lanes(n - i);
        // SAFETY: i < n, so the pointer is inside `x`; maskload touches only the first min(8, n − i) lanes.
        let xv = unsafe { _mm256_maskload_ps(xp.add(i), mask) };
        for (a, &p) in acc.iter_mut().zip(&rp) {
            // SAFETY: as above, for this row (n ≤ its length).
            let rv = unsafe { _mm256_maskload_ps(p.add(i), mask) };
            a[k] = _mm256_fmadd_ps(xv, rv, a[k]);
        }
        i += W;
    }
    acc.map(|a| reduce_sum(a))
}

/// `out[r] = dot(x, rows[r·stride ..][..x.len()])` for every `r < out.len()`, [`TILE_ROWS`] rows per pass; the
/// caller has limited `out` to the rows that fit ([`rows_that_fit`]).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_rows_kernel(x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) {
    let dim = x.len();
    // For every r < out.len(), r·stride + dim ≤ rows.len() (`rows_that_fit`), so the arithmetic does not overflow
    // and `get` succeeds; the empty fallback is unreachable and would only yield a 0.0 score.
    let row = |r: usize| rows.get(r * stride..r * stride + dim).unwrap_or_default();
    let mut tiles = out.chunks_exact_mut(TILE_ROWS);
    let mut r = 0;
    for tile in &mut tiles {
        // SAFETY: the CPU features are the caller's contract; `dot_tile` reads only within the slices it gets.
        let d = unsafe { dot_tile::<TILE_ROWS>(x, [row(r), row(r + 1), row(r + 2)]) };
        for (o, v) in tile.iter_mut().zip(d) {
            *o = v;
        }
        r += TILE_ROWS;
    }
    // The remaining rows, in one narrower tile (same summation order).
    match tiles.into_remainder() {
        [o] => {
            // SAFETY: as above.
            let [d] = unsafe { dot_tile::<1>(x, [row(r)]) };
            *o = d;
        }
        [o0, o1] => {
            // SAFETY: as above.
            let [d0, d1] = unsafe { dot_tile::<2>(x, [row(r), row(r + 1)]) };
            (*o0, *o1) = (d0, d1);
        }
        rest => {
            for o in rest {
                // SAFETY: as above.
                let [d] = unsafe { dot_tile::<1>(x, [row(r)]) };
                *o = d;
                r += 1;
            }
        }
    }
}

/// `y[i] += a·x[i]` (one FMA) over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn axpy_kernel(a: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let (xp, yp) = (x.as_ptr(), y.as_mut_ptr());
    let av = _mm256_set1_ps(a);
    let mut i = 0;
    while i + BLOCK <= n {
        for k in 0..4 {
            let at = i + k * W;
            // SAFETY: at + W ≤ i + BLOCK ≤ n = min(x.len(), y.len()).
            unsafe {
                let v =
                    _mm256_fmadd_ps(av, _mm256_loadu_ps(xp.add(at)), _mm256_loadu_ps(yp.add(at)));
                _mm256_storeu_ps(yp.add(at), v);
            }
        }
        i += BLOCK;
    }
    while i + W <= n {
        // SAFETY: i + W ≤ n = min(x.len(), y.len()).
        unsafe {
            let v = _mm256_fmadd_ps(av, _mm256_loadu_ps(xp.add(i)), _mm256_loadu_ps(yp.add(i)));
            _mm256_storeu_ps(yp.add(i), v);
        }
        i += W;
    }
    if i < n {
        let mask = first_lanes(n - i);
        // SAFETY: i < n; the masked loads read and `store_first` writes only the first n − i (< 8) elements.
        unsafe {
            let v = _mm256_fmadd_ps(
                av,
                _mm256_maskload_ps(xp.add(i), mask),
                _mm256_maskload_ps(yp.add(i), mask),
            );
            store_first(yp.add(i), v, n - i);
        }
    }
}

/// `y[i] *= a`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scale_kernel(a: f32, y: &mut [f32]) {
    let n = y.len();
    let yp = y.as_mut_ptr();
    let av = _mm256_set1_ps(a);
    let mut i = 0;
    while i + BLOCK <= n {
        for k in 0..4 {
            let at = i + k * W;
            // SAFETY: at + W ≤ i + BLOCK ≤ n = y.len().
            unsafe { _mm256_storeu_ps(yp.add(at), _mm256_mul_ps(av, _mm256_loadu_ps(yp.add(at)))) };
        }
        i += BLOCK;
    }
    while i + W <= n {
        // SAFETY: i + W ≤ n = y.len().
        unsafe { _mm256_storeu_ps(yp.add(i), _mm256_mul_ps(av, _mm256_loadu_ps(yp.add(i)))) };
        i += W;
    }
    if i < n {
        // SAFETY: i < n; the masked load reads and `store_first` writes only the first n − i (< 8) elements.
        unsafe {
            let v = _mm256_mul_ps(av, _mm256_maskload_ps(yp.add(i), first_lanes(n - i)));
            store_first(yp.add(i), v, n - i);
        }
    }
}

/// Largest non-NaN element, `-inf` if there is none.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn max_kernel(x: &[f32]) -> f32 {
    let n = x.len();
    let xp = x.as_ptr();
    let neg_inf = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut acc = [neg_inf; 4];
    let mut i = 0;
    while i + BLOCK <= n {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + k·W + W ≤ i + BLOCK ≤ n = x.len().
            let v = unsafe { _mm256_loadu_ps(xp.add(i + k * W)) };
            // `vmaxps(v, a)` returns `a` when `v` is NaN: NaN elements are skipped, accumulators never hold NaN.
            *a = _mm256_max_ps(v, *a);
        }
        i += BLOCK;
    }
    for a in acc.iter_mut() {
        if i >= n {
            break;
        }
        let mask = first_lanes(n - i);
        // SAFETY: i < n; maskload touches only the first min(8, n − i) lanes, all below n.
        let v = unsafe { _mm256_maskload_ps(xp.add(i), mask) };
        let v = _mm256_blendv_ps(neg_inf, v, _mm256_castsi256_ps(mask));
        *a = _mm256_max_ps(v, *a);
        i += W;
    }
    let [a0, a1, a2, a3] = acc;
    hmax(_mm256_max_ps(_mm256_max_ps(a0, a1), _mm256_max_ps(a2, a3)))
}

/// `Σ x[i]` with the reduction order of the module documentation.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn sum_kernel(x: &[f32]) -> f32 {
    let n = x.len();
    let xp = x.as_ptr();
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + BLOCK <= n {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + k·W + W ≤ i + BLOCK ≤ n = x.len().
            *a = _mm256_add_ps(*a, unsafe { _mm256_loadu_ps(xp.add(i + k * W)) });
        }
        i += BLOCK;
    }
    for a in acc.iter_mut() {
        if i >= n {
            break;
        }
        // SAFETY: i < n; maskload touches only the first min(8, n − i) lanes, all below n.
        *a = _mm256_add_ps(*a, unsafe {
            _mm256_maskload_ps(xp.add(i), first_lanes(n - i))
        });
        i += W;
    }
    reduce_sum(acc)
}

/// `dst[i] = e^src[i]` for `i < n`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `src` must be valid for reading and `dst` for writing `n` f32; the
/// two ranges are either identical (in place) or disjoint.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn exp_raw(src: *const f32, dst: *mut f32, n: usize) {
    let mut i = 0;
    while i + 2 * W <= n {
        // SAFETY: i + 2W ≤ n, inside both ranges (caller contract). Each store writes only elements this iteration
        // has already loaded, so `src == dst` is fine.
        unsafe {
            let a = _mm256_loadu_ps(src.add(i));
            let b = _mm256_loadu_ps(src.add(i + W));
            _mm256_storeu_ps(dst.add(i), exp8(a));
            _mm256_storeu_ps(dst.add(i + W), exp8(b));
        }
        i += 2 * W;
    }
    if i + W <= n {
        // SAFETY: i + W ≤ n; the store writes only elements just loaded.
        unsafe { _mm256_storeu_ps(dst.add(i), exp8(_mm256_loadu_ps(src.add(i)))) };
        i += W;
    }
    if i < n {
        // SAFETY: i < n; the masked load reads and `store_first` writes only the first n − i (< 8) elements, the
        // writes after the read.
        unsafe {
            let v = _mm256_maskload_ps(src.add(i), first_lanes(n - i));
            store_first(dst.add(i), exp8(v), n - i);
        }
    }
}

/// `x[i] = e^(x[i] − shift)` for every element, and the f32 sum of the results: one pass, two pairs of
/// accumulators for the full vectors, the tail's lanes added last.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn exp_shifted_sum_kernel(shift: f32, x: &mut [f32]) -> f32 {
    let n = x.len();
    let p = x.as_mut_ptr();
    let s = _mm256_set1_ps(shift);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 2 * W <= n {
        // SAFETY: i + 2W ≤ n = x.len(); each store writes elements this iteration has already loaded.
        unsafe {
            let a = exp8(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), s));
            let b = exp8(_mm256_sub_ps(_mm256_loadu_ps(p.add(i + W)), s));
            _mm256_storeu_ps(p.add(i), a);
            _mm256_storeu_ps(p.add(i + W), b);
            acc[0] = _mm256_add_ps(acc[0], a);
            acc[1] = _mm256_add_ps(acc[1], b);
        }
        i += 2 * W;
    }
    if i + W <= n {
        // SAFETY: i + W ≤ n; the store writes only elements just loaded.
        unsafe {
            let a = exp8(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), s));
            _mm256_storeu_ps(p.add(i), a);
            acc[2] = _mm256_add_ps(acc[2], a);
        }
        i += W;
    }
    if i < n {
        let lanes = first_lanes(n - i);
        // SAFETY: i < n; the masked load reads and `store_first` writes only the first n − i (< 8) elements, the
        // writes after the read. Lanes past the slice are zeroed before they are summed.
        unsafe {
            let e = exp8(_mm256_sub_ps(_mm256_maskload_ps(p.add(i), lanes), s));
            store_first(p.add(i), e, n - i);
            acc[3] = _mm256_and_ps(e, _mm256_castsi256_ps(lanes));
        }
    }
    reduce_sum(acc)
}

/// binary16 → f32 over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_to_f32_kernel(src: &[f16], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + W <= n {
        // SAFETY: i + 8 ≤ n: 8 f16 (16 bytes; `f16` is a transparent u16) are read and 8 f32 written, in bounds.
        unsafe {
            let h = _mm_loadu_si128(sp.add(i).cast());
            _mm256_storeu_ps(dp.add(i), _mm256_cvtph_ps(h));
        }
        i += W;
    }
    if i < n {
        let h = gather_u16(
            src.get(i..n)
                .unwrap_or_default()
                .iter()
                .map(|v| v.to_bits()),
        );
        // SAFETY: i < n; `store_first` writes only the first n − i (< 8) elements.
        unsafe { store_first(dp.add(i), _mm256_cvtph_ps(h), n - i) };
    }
}

/// f32 → binary16 (round to nearest even) over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f32_to_f16_kernel(src: &[f32], dst: &mut [f16]) {
    let n = src.len().min(dst.len());
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + W <= n {
        // SAFETY: i + 8 ≤ n: 8 f32 are read and 8 f16 (16 bytes; any bit pattern is a valid `f16`) written.
        unsafe {
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(sp.add(i)));
            _mm_storeu_si128(dp.add(i).cast(), h);
        }
        i += W;
    }
    if i < n {
        // SAFETY: i < n; maskload reads only the first n − i (< 8) lanes.
        let v = unsafe { _mm256_maskload_ps(sp.add(i), first_lanes(n - i)) };
        let h = scatter_u16(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v));
        for (d, b) in dst.get_mut(i..n).unwrap_or_default().iter_mut().zip(h) {
            *d = f16::from_bits(b);
        }
    }
}

/// bfloat16 → f32 over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bf16_to_f32_kernel(src: &[bf16], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + W <= n {
        // SAFETY: i + 8 ≤ n: 8 bf16 (16 bytes; `bf16` is a transparent u16) are read and 8 f32 written.
        unsafe {
            let h = _mm_loadu_si128(sp.add(i).cast());
            let w = _mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h));
            _mm256_storeu_ps(dp.add(i), _mm256_castsi256_ps(w));
        }
        i += W;
    }
    if i < n {
        let h = gather_u16(
            src.get(i..n)
                .unwrap_or_default()
                .iter()
                .map(|v| v.to_bits()),
        );
        let w = _mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h));
        // SAFETY: i < n; `store_first` writes only the first n − i (< 8) elements.
        unsafe { store_first(dp.add(i), _mm256_castsi256_ps(w), n - i) };
    }
}

/// f32 → bfloat16 (round to nearest even, NaN → quiet NaN) over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f32_to_bf16_kernel(src: &[f32], dst: &mut [bf16]) {
    let n = src.len().min(dst.len());
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    let mut i = 0;
    while i + 2 * W <= n {
        // SAFETY: i + 16 ≤ n: 16 f32 are read and 16 bf16 (32 bytes) written.
        unsafe {
            let a = bf16_bits(_mm256_loadu_ps(sp.add(i)));
            let b = bf16_bits(_mm256_loadu_ps(sp.add(i + W)));
            // packus works per 128-bit half: [a0..3 b0..3 a4..7 b4..7]; the permute restores the order.
            let packed = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(a, b));
            _mm256_storeu_si256(dp.add(i).cast(), packed);
        }
        i += 2 * W;
    }
    if i + W <= n {
        // SAFETY: i + 8 ≤ n: 8 f32 are read and 8 bf16 (16 bytes) written.
        unsafe {
            let h = pack_u16(bf16_bits(_mm256_loadu_ps(sp.add(i))));
            _mm_storeu_si128(dp.add(i).cast(), h);
        }
        i += W;
    }
    if i < n {
        // SAFETY: i < n; maskload reads only the first n − i (< 8) lanes.
        let v = unsafe { _mm256_maskload_ps(sp.add(i), first_lanes(n - i)) };
        for (d, b) in dst
            .get_mut(i..n)
            .unwrap_or_default()
            .iter_mut()
            .zip(scatter_u16(pack_u16(bf16_bits(v))))
        {
            *d = bf16::from_bits(b);
        }
    }
}

/// Interleaved RoPE rotation of `n = min(x.len() / 2, cos.len(), sin.len())` pairs.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rotate_interleaved_kernel(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let n = (x.len() / 2).min(cos.len()).min(sin.len());
    let (xp, cp, sp) = (x.as_mut_ptr(), cos.as_ptr(), sin.as_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 ≤ n: cos/sin[i..i + 8] and x[2i..2i + 16] are in bounds (2n ≤ x.len()).
        unsafe {
            let (c, s) = (_mm256_loadu_ps(cp.add(i)), _mm256_loadu_ps(sp.add(i)));
            let x0 = _mm256_loadu_ps(xp.add(2 * i));
            let x1 = _mm256_loadu_ps(xp.add(2 * i + W));
            let r0 = rotate4_interleaved(x0, _mm256_castps256_ps128(c), _mm256_castps256_ps128(s));
            let r1 = rotate4_interleaved(
                x1,
                _mm256_extractf128_ps::<1>(c),
                _mm256_extractf128_ps::<1>(s),
            );
            _mm256_storeu_ps(xp.add(2 * i), r0);
            _mm256_storeu_ps(xp.add(2 * i + W), r1);
        }
        i += 8;
    }
    if i + 4 <= n {
        // SAFETY: i + 4 ≤ n: cos/sin[i..i + 4] and x[2i..2i + 8] are in bounds.
        unsafe {
            let (c, s) = (_mm_loadu_ps(cp.add(i)), _mm_loadu_ps(sp.add(i)));
            let v = _mm256_loadu_ps(xp.add(2 * i));
            _mm256_storeu_ps(xp.add(2 * i), rotate4_interleaved(v, c, s));
        }
        i += 4;
    }
    if i < n {
        let m = n - i;
        // SAFETY: 0 < m < 4; the masked loads read cos/sin[i..i + m] and x[2i..2i + 2m], and `store_first` writes
        // x[2i..2i + 2m], all in bounds.
        unsafe {
            let cmask = first_lanes4(m);
            let c = _mm_maskload_ps(cp.add(i), cmask);
            let s = _mm_maskload_ps(sp.add(i), cmask);
            let v = _mm256_maskload_ps(xp.add(2 * i), first_lanes(2 * m));
            store_first(xp.add(2 * i), rotate4_interleaved(v, c, s), 2 * m);
        }
    }
}

/// Half-split RoPE rotation: pairs `(x[i], x[h + i])`, `h = x.len() / 2`, for `i < min(h, cos.len(), sin.len())`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rotate_half_split_kernel(x: &mut [f32], cos: &[f32], sin: &[f32]) {
    let h = x.len() / 2;
    let n = h.min(cos.len()).min(sin.len());
    let (cp, sp) = (cos.as_ptr(), sin.as_ptr());
    let lo = x.as_mut_ptr();
    // SAFETY: h ≤ x.len(), so `hi` is inside `x` or one past its end.
    let hi = unsafe { lo.add(h) };
    let mut i = 0;
    while i + W <= n {
        // SAFETY: i + 8 ≤ n ≤ h: x[i..i + 8], x[h + i..h + i + 8] (h + n ≤ 2h ≤ x.len()) and cos/sin[i..i + 8] are
        // in bounds; the two halves do not overlap.
        unsafe {
            let (c, s) = (_mm256_loadu_ps(cp.add(i)), _mm256_loadu_ps(sp.add(i)));
            let (a, b) = (_mm256_loadu_ps(lo.add(i)), _mm256_loadu_ps(hi.add(i)));
            _mm256_storeu_ps(lo.add(i), _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)));
            _mm256_storeu_ps(hi.add(i), _mm256_fmadd_ps(a, s, _mm256_mul_ps(b, c)));
        }
        i += W;
    }
    if i < n {
        let mask = first_lanes(n - i);
        // SAFETY: i < n; the masked loads and `store_first` access only the first n − i (< 8) elements at each of
        // the four addresses, all in bounds as above.
        unsafe {
            let c = _mm256_maskload_ps(cp.add(i), mask);
            let s = _mm256_maskload_ps(sp.add(i), mask);
            let a = _mm256_maskload_ps(lo.add(i), mask);
            let b = _mm256_maskload_ps(hi.add(i), mask);
            store_first(lo.add(i), _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)), n - i);
            store_first(hi.add(i), _mm256_fmadd_ps(a, s, _mm256_mul_ps(b, c)), n - i);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Safe entry points.
// ---------------------------------------------------------------------------------------------------------------

impl Sealed for Avx2 {}

impl Kernels for Avx2 {
    const LEVEL: Level = Level::Avx2;

    #[inline]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: an `Avx2` token only exists once AVX2, FMA and F16C were detected (or `new_unchecked`'s caller
        // vouched for them); the kernel reads only the first min(a.len(), b.len()) elements of each slice.
        let [d] = unsafe { dot_tile::<1>(a, [b]) };
        d
    }

    fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
        let n = rows_that_fit(x.len(), rows.len(), stride, out.len());
        let out = out.get_mut(..n).unwrap_or_default();
        // SAFETY: the token proves the CPU features; the kernel reads `x` and the rows through checked slicing of
        // `rows` and writes only `out[..n]`.
        unsafe { dot_rows_kernel(x, rows, stride, out) };
        n
    }

    #[inline]
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel stays within min(x.len(), y.len()) elements.
        unsafe { axpy_kernel(a, x, y) }
    }

    #[inline]
    fn scale(self, a: f32, y: &mut [f32]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel stays within `y`.
        unsafe { scale_kernel(a, y) }
    }

    #[inline]
    fn max(self, x: &[f32]) -> f32 {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel reads only within `x`.
        unsafe { max_kernel(x) }
    }

    #[inline]
    fn sum(self, x: &[f32]) -> f32 {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel reads only within `x`.
        unsafe { sum_kernel(x) }
    }

    #[inline]
    fn exp(self, x: &[f32], out: &mut [f32]) {
        let n = x.len().min(out.len());
        // SAFETY: the token proves AVX2, FMA and F16C; `x` is readable and `out` writable for n ≤ both lengths
        // elements, and a shared and a mutable borrow cannot overlap.
        unsafe { exp_raw(x.as_ptr(), out.as_mut_ptr(), n) }
    }

    #[inline]
    fn exp_in_place(self, x: &mut [f32]) {
        let p = x.as_mut_ptr();
        // SAFETY: the token proves AVX2, FMA and F16C; source and destination are the same `x.len()` elements,
        // which `exp_raw` allows, both derived from one mutable borrow.
        unsafe { exp_raw(p.cast_const(), p, x.len()) }
    }

    #[inline]
    fn exp_shifted_sum(self, shift: f32, x: &mut [f32]) -> f32 {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel stays within `x`.
        unsafe { exp_shifted_sum_kernel(shift, x) }
    }

    #[inline]
    fn f16_to_f32(self, src: &[f16], dst: &mut [f32]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel stays within the common prefix.
        unsafe { f16_to_f32_kernel(src, dst) }
    }

    #[inline]
    fn f32_to_f16(self, src: &[f32], dst: &mut [f16]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel stays within the common prefix.
        unsafe { f32_to_f16_kernel(src, dst) }
    }

    #[inline]
    fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel stays within the common prefix.
        unsafe { bf16_to_f32_kernel(src, dst) }
    }

    #[inline]
    fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel stays within the common prefix.
        unsafe { f32_to_bf16_kernel(src, dst) }
    }

    #[inline]
    fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel touches only x[..2n], cos[..n], sin[..n] with
        // n = min(x.len() / 2, cos.len(), sin.len()).
        unsafe { rotate_interleaved_kernel(x, cos, sin) }
    }

    #[inline]
    fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        // SAFETY: the token proves AVX2, FMA and F16C; the kernel touches only x[..n], x[h..h + n], cos[..n],
        // sin[..n] with h = x.len() / 2 and n = min(h, cos.len(), sin.len()).
        unsafe { rotate_half_split_kernel(x, cos, sin) }
    }

    #[inline]
    fn gemm(self, shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
        super::gemm::gemm_avx2(self, shape, a, b, c, accumulate)
    }

    #[inline]
    fn prefetch<T>(self, x: &[T]) {
        let p = x.as_ptr().cast::<u8>();
        for off in (0..core::mem::size_of_val(x)).step_by(64) {
            // SAFETY: `off` is below the byte length of `x`, so the address is inside `x`; a prefetch never faults and reads nothing
            // architecturally. SSE is part of the x86_64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p.add(off).cast()) };
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
