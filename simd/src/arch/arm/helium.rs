//! Helium (Arm M-profile Vector Extension, MVE) kernels, hand-written in `asm!`.
//!
//! Stable Rust has no MVE intrinsics, so every kernel is one inline-assembly loop over raw pointers, wrapped by a
//! safe [`Kernels`] method that clips the lengths first. Vectors are 128 bits (4 × f32), and there are only eight
//! of them (`q0`–`q7`).
//!
//! # Loops
//! - Contiguous element-wise kernels use *tail-predicated* low-overhead loops: `dlstp.32 lr, n` … `letp lr`
//!   processes 4 elements per iteration and masks the lanes past `n` in the last one, so loads and stores never
//!   touch memory past the slices and no scalar tail is needed (`n == 0` runs one iteration with every lane
//!   masked).
//! - `dot` and `sum` run a non-predicated `wls`/`le` loop over blocks of 8 with two accumulators (independent
//!   fused multiply-add chains), then a tail-predicated loop over the last `n mod 8` elements; the lanes are
//!   reduced as `(l0 + l1) + (l2 + l3)` by the scalar FPU.
//! - `dot_rows` runs 4 rows per pass, sharing each load of `x` between 4 accumulators.
//! - `rotate_interleaved` uses the de-interleaving `vld20`/`vld21` and interleaving `vst20`/`vst21`, which are
//!   not tail-predicable: a non-predicated loop handles blocks of 4 pairs and the scalar reference the rest.
//! - `gemm` (in the sibling `gemm` module) keeps 3 × 8 tiles of `C` in `q0`–`q5` over a `wls`/`le` loop of two
//!   steps of `p`, with `vfma` by a core register holding an element of `A`; its last 1–3 columns are
//!   `vctp`/`vpst`-predicated.
//!
//! # Algorithms and accuracy
//! - `dot`, `dot_rows`, `sum`, `axpy`, the rotations and `gemm` use fused multiply-adds (`vfma`, `vfms`); the
//!   results stay within the bounds of [`Kernels`] under IEEE arithmetic.
//! - `max` compares the bit patterns as integers (a signed maximum and an unsigned minimum, which order the
//!   non-negative and the negative floats), skipping NaN lanes with a `vpt` block: exactly the NaN-ignoring
//!   maximum, subnormals included, never affected by flush-to-zero.
//! - `exp` evaluates the shared algorithm of [`portable::exp`] with the same constants:
//!   clamp with `vmaxnm`/`vminnm`, round with the `1.5·2²³` magic number (whose bits also give `n` as an
//!   integer), Cody–Waite reduction, Horner with `vfmas` over `P`, scaling by `2^n₁` through an exponent add and
//!   by `2^n₂` with one multiply. Results that are subnormal are recomputed exactly in integer arithmetic
//!   (`e·2^(n+127)` has a normal exponent; adding `2.0` rounds it to the subnormal grid once, to nearest even),
//!   and NaN inputs are passed through with `vcmp` + `vpsel`. It differs from the scalar reference only where
//!   the reference rounds a product that is fused here.
//! - Conversions: f16 → f32 with the widening load `vldrh.u32` and `vcvtb.f32.f16`; f32 → f16 with
//!   `vcvtb.f16.f32` (round to nearest even) and the narrowing store `vstrh.32`; exact except that NaNs become
//!   the default NaN. bf16 → f32 is `vldrh.u32` and a shift; f32 → bf16 is the integer round-to-nearest-even of
//!   [`f32_to_bf16_bits`](crate::portable::convert::f32_to_bf16_bits), bit-identical including NaN.
//!
//! # Flush-to-zero
//! The Armv8-M architecture evaluates MVE floating-point arithmetic with the *standard* FPSCR value, whatever
//! `FPSCR.FZ`/`DN` say: subnormal operands are read as zero, results that are tiny before rounding become zero,
//! and NaN results are the default NaN (QEMU's Cortex-M55 model behaves the same way). `max`, `exp` and the
//! conversions are written so that this never shows (apart from the default NaN of f32 → f16). In `dot`,
//! `dot_rows`, `sum`, `axpy`, `scale`, the rotations and `gemm`, subnormal operands and results are flushed to
//! signed zeros; the self-test checks them against that model (see
//! [`selftest::flushes_subnormals`](crate::selftest::flushes_subnormals)). The final lane reductions run on the
//! scalar FPU, which follows `FPSCR` (IEEE by default).
//!
//! # Soundness
//! Each kernel is an `unsafe fn` over raw pointers that takes the [`Helium`] token (proof that the core has
//! MVE with floating point, see [`Helium::detect`]) and is only called by the safe methods below with pointers
//! derived from slices and counts no larger than those slices. Every `asm!` block declares the registers it
//! writes (`lr`, the `q` registers, temporaries), and the blocks that compare save and restore `VPR`, which
//! `asm!` cannot declare. The tail-predicated loops leave `FPSCR.LTPSIZE` at 4 (no predication, its value
//! outside such loops): `letp` restores it on exit.
//!
//! References: *Armv8-M Architecture Reference Manual* (Arm DDI 0553), the M-profile Vector Extension and
//! low-overhead-loop chapters and the `StandardFPSCRValue()` pseudocode; *Arm Cortex-M55 Processor Technical
//! Reference Manual* (Arm 101051).

use core::arch::asm;

use super::Helium;
use crate::kernels::{GemmShape, Kernels, Sealed, rows_that_fit};
use crate::portable::exp::{CLAMP_HI, CLAMP_LO, LN2_HI, LN2_LO, LOG2E, P, ROUND_MAGIC};
use crate::{Level, bf16, f16, portable};

impl Sealed for Helium {}

impl Kernels for Helium {
    const LEVEL: Level = Level::Helium;

    #[inline]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        // SAFETY: the token proves MVE; `a` and `b` are valid for reads of `n ≤ len` elements each.
        unsafe { dot_raw(self, a.as_ptr(), b.as_ptr(), n) }
    }

    fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
        let n = rows_that_fit(x.len(), rows.len(), stride, out.len());
        let dim = x.len();
        let out = out.get_mut(..n).unwrap_or_default();
        let mut quads = out.chunks_exact_mut(4);
        let mut r = 0;
        for quad in &mut quads {
            // Row `r + k` starts at `(r + k)·stride`; `rows_that_fit` guarantees `(r + k)·stride + dim ≤ rows.len()`
            // for every `r + k < n`, so these offsets neither overflow nor leave the slice.
            let row = |k: usize| rows.as_ptr().wrapping_add((r + k) * stride);
            // SAFETY: the token proves MVE; `x` is valid for `dim` reads, and each of the four row pointers is
            // valid for `dim` reads (see above); `quad` is 4 writable elements.
            unsafe {
                dot4_raw(
                    self,
                    x.as_ptr(),
                    [row(0), row(1), row(2), row(3)],
                    dim,
                    quad,
                )
            };
            r += 4;
        }
        for o in quads.into_remainder() {
            let row = rows.as_ptr().wrapping_add(r * stride);
            // SAFETY: as above, for the single row `r < n`.
            *o = unsafe { dot_raw(self, x.as_ptr(), row, dim) };
            r += 1;
        }
        n
    }

    #[inline]
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        let n = x.len().min(y.len());
        // SAFETY: the token proves MVE; `x` is valid for `n` reads and `y` for `n` reads and writes, and they do
        // not overlap (`y` is borrowed mutably).
        unsafe { axpy_raw(self, a, x.as_ptr(), y.as_mut_ptr(), n) }
    }

    #[inline]
    fn scale(self, a: f32, y: &mut [f32]) {
        // SAFETY: the token proves MVE; `y` is valid for `y.len()` reads and writes.
        unsafe { scale_raw(self, a, y.as_mut_ptr(), y.len()) }
    }

    #[inline]
    fn max(self, x: &[f32]) -> f32 {
        // SAFETY: the token proves MVE; `x` is valid for `x.len()` reads.
        unsafe { max_raw(self, x.as_ptr(), x.len()) }
    }

    #[inline]
    fn sum(self, x: &[f32]) -> f32 {
        // SAFETY: the token proves MVE; `x` is valid for `x.len()` reads.
        unsafe { sum_raw(self, x.as_ptr(), x.len()) }
    }

    #[inline]
    fn exp(self, x: &[f32], out: &mut [f32]) {
        let n = x.len().min(out.len());
        // SAFETY: the token proves MVE; `x` is valid for `n` reads and `out` for `n` writes (distinct borrows).
        unsafe { exp_raw(self, x.as_ptr(), out.as_mut_ptr(), n) }
    }

    #[inline]
    fn exp_in_place(self, x: &mut [f32]) {
        let p = x.as_mut_ptr();
        // SAFETY: the token proves MVE; `x` is valid for `x.len()` reads and writes, and `exp_raw` supports
        // `src == dst` (each iteration loads its 4 elements before storing them).
        unsafe { exp_raw(self, p.cast_const(), p, x.len()) }
    }

    #[inline]
    fn f16_to_f32(self, src: &[f16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        // SAFETY: the token proves MVE; `f16` is a transparent 16-bit value, `src` is valid for `n` reads and
        // `dst` for `n` writes.
        unsafe { f16_to_f32_raw(self, src.as_ptr().cast(), dst.as_mut_ptr(), n) }
    }

    #[inline]
    fn f32_to_f16(self, src: &[f32], dst: &mut [f16]) {
        let n = src.len().min(dst.len());
        // SAFETY: the token proves MVE; `src` is valid for `n` reads and `dst` (transparent 16-bit values, any
        // bit pattern valid) for `n` writes.
        unsafe { f32_to_f16_raw(self, src.as_ptr(), dst.as_mut_ptr().cast(), n) }
    }

    #[inline]
    fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        // SAFETY: the token proves MVE; `bf16` is a transparent 16-bit value, `src` is valid for `n` reads and
        // `dst` for `n` writes.
        unsafe { bf16_to_f32_raw(self, src.as_ptr().cast(), dst.as_mut_ptr(), n) }
    }

    #[inline]
    fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]) {
        let n = src.len().min(dst.len());
        // SAFETY: the token proves MVE; `src` is valid for `n` reads and `dst` (transparent 16-bit values, any
        // bit pattern valid) for `n` writes.
        unsafe { f32_to_bf16_raw(self, src.as_ptr(), dst.as_mut_ptr().cast(), n) }
    }

    fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        let n = (x.len() / 2).min(cos.len()).min(sin.len());
        let blocks = n / 4;
        // SAFETY: the token proves MVE; the kernel touches `8·blocks ≤ 2n ≤ x.len()` elements of `x` and reads
        // `4·blocks ≤ n` elements of `cos` and `sin`.
        unsafe { rotate_interleaved_raw(self, x.as_mut_ptr(), cos.as_ptr(), sin.as_ptr(), blocks) };
        // The last `n mod 4` pairs: the de-interleaving loads have no tail predication.
        let done = 4 * blocks;
        portable::rotate::interleaved(
            x.get_mut(2 * done..2 * n).unwrap_or_default(),
            cos.get(done..n).unwrap_or_default(),
            sin.get(done..n).unwrap_or_default(),
        );
    }

    fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        let h = x.len() / 2;
        let n = h.min(cos.len()).min(sin.len());
        let p = x.as_mut_ptr();
        // SAFETY: the token proves MVE; the kernel reads and writes `x[..n]` and `x[h..h + n]` (disjoint, as
        // `n ≤ h`, and inside `x` as `h + n ≤ 2h ≤ x.len()`) and reads `n` elements of `cos` and `sin`.
        unsafe { rotate_half_split_raw(self, p, p.wrapping_add(h), cos.as_ptr(), sin.as_ptr(), n) }
    }

    #[inline]
    fn gemm(self, shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
        super::gemm::gemm(self, shape, a, b, c, accumulate)
    }

    #[inline]
    fn prefetch<T>(self, x: &[T]) {
        let _ = x;
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
        crate::portable::gemm::transpose(rows, cols, src, lds, dst, ldd)
    }
}

/// Sums the four lanes (given as bits) like the scalar reference: `(l0 + l1) + (l2 + l3)`, on the scalar FPU.
#[inline(always)]
fn reduce_lanes(l0: u32, l1: u32, l2: u32, l3: u32) -> f32 {
    (f32::from_bits(l0) + f32::from_bits(l1)) + (f32::from_bits(l2) + f32::from_bits(l3))
}

/// `Σ a[i]·b[i]` for `i < n`.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` f32 each.
#[inline]
unsafe fn dot_raw(_: Helium, a: *const f32, b: *const f32, n: usize) -> f32 {
    let (l0, l1, l2, l3): (u32, u32, u32, u32);
    // SAFETY: MVE is present (token). The block loop runs `n / 8` times and reads 8 elements of each input per
    // iteration; the tail loop reads the remaining `n mod 8` with tail predication (masked lanes do not access
    // memory), so exactly `n` elements of each input are read. Written registers are declared: the pointers
    // and counter (discarded), `lr`, `q0`–`q5` and the lane outputs; no memory is written.
    unsafe {
        asm!(
            "vmov.i32 q0, #0",
            "vmov.i32 q1, #0",
            "lsrs {k}, {n}, #3",
            "wls lr, {k}, 3f",
            "2:",
            "vldrw.u32 q2, [{a}], #16",
            "vldrw.u32 q3, [{b}], #16",
            "vfma.f32 q0, q2, q3",
            "vldrw.u32 q4, [{a}], #16",
            "vldrw.u32 q5, [{b}], #16",
            "vfma.f32 q1, q4, q5",
            "le lr, 2b",
            "3:",
            "and {n}, {n}, #7",
            "dlstp.32 lr, {n}",
            "4:",
            "vldrw.u32 q2, [{a}], #16",
            "vldrw.u32 q3, [{b}], #16",
            "vfma.f32 q0, q2, q3",
            "letp lr, 4b",
            "vadd.f32 q0, q0, q1",
            "vmov {l2}, {l0}, q0[2], q0[0]",
            "vmov {l3}, {l1}, q0[3], q0[1]",
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            n = inout(reg) n => _,
            k = out(reg) _,
            l0 = lateout(reg) l0,
            l1 = lateout(reg) l1,
            l2 = lateout(reg) l2,
            l3 = lateout(reg) l3,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _, out("q4") _, out("q5") _,
            options(nostack, readonly),
        );
    }
    reduce_lanes(l0, l1, l2, l3)
}

/// `out[k] = Σ x[i]·rows[k][i]` for `k < 4`, `i < dim`.
///
/// # Safety
/// `x` and each of `rows` must be valid for reads of `dim` f32.
#[inline]
unsafe fn dot4_raw(_: Helium, x: *const f32, rows: [*const f32; 4], dim: usize, out: &mut [f32]) {
    let mut acc = [0u32; 16];
    let [r0, r1, r2, r3] = rows;
    // SAFETY: MVE is present (token). The tail-predicated loop reads exactly `dim` elements from `x` and from
    // each row pointer (masked lanes do not access memory); the four accumulators are stored to `acc`, a local
    // array of 16 words. Written registers are declared: the pointers (discarded), `lr` and `q0`–`q7`.
    unsafe {
        asm!(
            "vmov.i32 q0, #0",
            "vmov.i32 q1, #0",
            "vmov.i32 q2, #0",
            "vmov.i32 q3, #0",
            "dlstp.32 lr, {dim}",
            "2:",
            "vldrw.u32 q4, [{x}], #16",
            "vldrw.u32 q5, [{r0}], #16",
            "vfma.f32 q0, q4, q5",
            "vldrw.u32 q6, [{r1}], #16",
            "vfma.f32 q1, q4, q6",
            "vldrw.u32 q7, [{r2}], #16",
            "vfma.f32 q2, q4, q7",
            "vldrw.u32 q5, [{r3}], #16",
            "vfma.f32 q3, q4, q5",
            "letp lr, 2b",
            "vstrw.32 q0, [{acc}]",
            "vstrw.32 q1, [{acc}, #16]",
            "vstrw.32 q2, [{acc}, #32]",
            "vstrw.32 q3, [{acc}, #48]",
            x = inout(reg) x => _,
            r0 = inout(reg) r0 => _,
            r1 = inout(reg) r1 => _,
            r2 = inout(reg) r2 => _,
            r3 = inout(reg) r3 => _,
            dim = in(reg) dim,
            acc = in(reg) acc.as_mut_ptr(),
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _,
            out("q4") _, out("q5") _, out("q6") _, out("q7") _,
            options(nostack),
        );
    }
    for (o, l) in out.iter_mut().zip(acc.chunks_exact(4)) {
        if let [l0, l1, l2, l3] = *l {
            *o = reduce_lanes(l0, l1, l2, l3);
        }
    }
}

/// `y[i] += a·x[i]` for `i < n`.
///
/// # Safety
/// `x` must be valid for reads and `y` for reads and writes of `n` f32; they must not overlap.
#[inline]
unsafe fn axpy_raw(_: Helium, a: f32, x: *const f32, y: *mut f32, n: usize) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads `n` elements of `x` and reads then writes
    // `n` elements of `y` (masked lanes do not access memory). Written registers are declared: the pointers
    // (discarded), `lr`, `q0` and `q1`.
    unsafe {
        asm!(
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{x}], #16",
            "vldrw.u32 q1, [{y}]",
            "vfma.f32 q1, q0, {a}",
            "vstrw.32 q1, [{y}], #16",
            "letp lr, 2b",
            x = inout(reg) x => _,
            y = inout(reg) y => _,
            n = in(reg) n,
            a = in(reg) a.to_bits(),
            out("lr") _,
            out("q0") _, out("q1") _,
            options(nostack),
        );
    }
}

/// `y[i] *= a` for `i < n`.
///
/// # Safety
/// `y` must be valid for reads and writes of `n` f32.
#[inline]
unsafe fn scale_raw(_: Helium, a: f32, y: *mut f32, n: usize) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads then writes exactly `n` elements of `y`
    // (masked lanes do not access memory). Written registers are declared: the pointer (discarded), `lr`, `q0`.
    unsafe {
        asm!(
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{y}]",
            "vmul.f32 q0, q0, {a}",
            "vstrw.32 q0, [{y}], #16",
            "letp lr, 2b",
            y = inout(reg) y => _,
            n = in(reg) n,
            a = in(reg) a.to_bits(),
            out("lr") _,
            out("q0") _,
            options(nostack),
        );
    }
}

/// Largest of `x[..n]` ignoring NaN (IEEE `maxNum`), `-inf` if there is none.
///
/// Works on the bit patterns: as signed integers, non-negative floats are ordered like the floats and above
/// every negative one; as unsigned integers, negative floats are ordered in reverse. So the answer is the signed
/// maximum if that is non-negative, otherwise the unsigned minimum (all candidates are then negative). NaN
/// lanes are skipped by predication, and `-inf` (neutral for both) seeds the accumulators.
///
/// # Safety
/// `x` must be valid for reads of `n` f32.
#[inline]
unsafe fn max_raw(_: Helium, x: *const f32, n: usize) -> f32 {
    const NEG_INF: u32 = 0xFF80_0000;
    let (mut smax, mut umin) = (NEG_INF, NEG_INF);
    // SAFETY: MVE is present (token). The tail-predicated loop reads exactly `n` elements of `x` (masked lanes
    // neither access memory nor change the accumulators). `VPR` is saved and restored around the `vpt` blocks.
    // Written registers are declared: the pointer (discarded), the saved `VPR`, the two results, `lr`,
    // `q0`–`q2`; no memory is written.
    unsafe {
        asm!(
            "vmrs {vpr}, p0",
            "vdup.32 q0, {smax}",
            "vdup.32 q2, {umin}",
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q1, [{x}], #16",
            // Only lanes that are not NaN (x == x) update the accumulators.
            "vptt.f32 eq, q1, q1",
            "vmaxt.s32 q0, q0, q1",
            "vmint.u32 q2, q2, q1",
            "letp lr, 2b",
            "vmaxv.s32 {smax}, q0",
            "vminv.u32 {umin}, q2",
            "vmsr p0, {vpr}",
            x = inout(reg) x => _,
            n = in(reg) n,
            smax = inout(reg) smax,
            umin = inout(reg) umin,
            vpr = out(reg) _,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _,
            options(nostack, readonly),
        );
    }
    f32::from_bits(if (smax as i32) >= 0 { smax } else { umin })
}

/// `Σ x[i]` for `i < n`.
///
/// # Safety
/// `x` must be valid for reads of `n` f32.
#[inline]
unsafe fn sum_raw(_: Helium, x: *const f32, n: usize) -> f32 {
    let (l0, l1, l2, l3): (u32, u32, u32, u32);
    // SAFETY: MVE is present (token). The block loop runs `n / 8` times reading 8 elements per iteration and
    // the tail-predicated loop reads the remaining `n mod 8` (masked lanes do not access memory): exactly `n`
    // elements. Written registers are declared: the pointer and counter (discarded), `lr`, `q0`–`q3` and the
    // lane outputs; no memory is written.
    unsafe {
        asm!(
            "vmov.i32 q0, #0",
            "vmov.i32 q1, #0",
            "lsrs {k}, {n}, #3",
            "wls lr, {k}, 3f",
            "2:",
            "vldrw.u32 q2, [{x}], #16",
            "vadd.f32 q0, q0, q2",
            "vldrw.u32 q3, [{x}], #16",
            "vadd.f32 q1, q1, q3",
            "le lr, 2b",
            "3:",
            "and {n}, {n}, #7",
            "dlstp.32 lr, {n}",
            "4:",
            "vldrw.u32 q2, [{x}], #16",
            "vadd.f32 q0, q0, q2",
            "letp lr, 4b",
            "vadd.f32 q0, q0, q1",
            "vmov {l2}, {l0}, q0[2], q0[0]",
            "vmov {l3}, {l1}, q0[3], q0[1]",
            x = inout(reg) x => _,
            n = inout(reg) n => _,
            k = out(reg) _,
            l0 = lateout(reg) l0,
            l1 = lateout(reg) l1,
            l2 = lateout(reg) l2,
            l3 = lateout(reg) l3,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _,
            options(nostack, readonly),
        );
    }
    reduce_lanes(l0, l1, l2, l3)
}

/// Constants of the exponential loaded inside the loop, in load order (pairs for `ldrd`): `-LN2_HI`, `-LN2_LO`,
/// `P[0..6]`, `2.0` (the rounding constant of the subnormal path) and a pad word, then the clamp bounds (loaded
/// once, before the loop).
static EXP_TABLE: [u32; 12] = [
    (-LN2_HI).to_bits(),
    (-LN2_LO).to_bits(),
    P[0].to_bits(),
    P[1].to_bits(),
    P[2].to_bits(),
    P[3].to_bits(),
    P[4].to_bits(),
    P[5].to_bits(),
    2.0f32.to_bits(),
    0,
    CLAMP_LO.to_bits(),
    CLAMP_HI.to_bits(),
];

/// `dst[i] = e^src[i]` for `i < n`; `src == dst` is allowed.
///
/// # Safety
/// `src` must be valid for reads and `dst` for writes of `n` f32; the two ranges must be identical or disjoint.
#[inline]
unsafe fn exp_raw(_: Helium, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads exactly `n` elements of `src` and writes
    // exactly `n` of `dst` (masked lanes do not access memory); each iteration loads its 4 inputs before it
    // stores its 4 outputs, so `src == dst` works. The other loads read `EXP_TABLE` (12 words, offsets 0 to 44).
    // `VPR` is saved and restored around the `vcmp`/`vpsel`. Written registers are declared: the pointers
    // (discarded), two temporaries, the saved `VPR`, `lr` and `q0`–`q7`.
    unsafe {
        asm!(
            "vmrs {vpr}, p0",
            "ldrd {t0}, {t1}, [{tab}, #40]",
            "vdup.32 q6, {t0}",
            "vdup.32 q7, {t1}",
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{src}], #16",
            // Clamp (a NaN becomes CLAMP_LO here and is restored at the end).
            "vmaxnm.f32 q1, q0, q6",
            "vminnm.f32 q1, q1, q7",
            // t = x·log2e + 1.5·2^23 rounds x·log2e to an integer n; t's bits are magic's bits + n.
            "vmul.f32 q2, q1, {log2e}",
            "vadd.f32 q2, q2, {magic}",
            "vsub.f32 q3, q2, {magic}",
            "vsub.i32 q2, q2, {magic}",
            // r = (x − n·LN2_HI) − n·LN2_LO (the first product is exact).
            "ldrd {t0}, {t1}, [{tab}]",
            "vfma.f32 q1, q3, {t0}",
            "vfma.f32 q1, q3, {t1}",
            // p = P(r) by Horner: p = P0·r + P1, then p = p·r + P[k].
            "ldrd {t0}, {t1}, [{tab}, #8]",
            "vdup.32 q4, {t1}",
            "vfma.f32 q4, q1, {t0}",
            "ldrd {t0}, {t1}, [{tab}, #16]",
            "vfmas.f32 q4, q1, {t0}",
            "vfmas.f32 q4, q1, {t1}",
            "ldrd {t0}, {t1}, [{tab}, #24]",
            "vfmas.f32 q4, q1, {t0}",
            "vfmas.f32 q4, q1, {t1}",
            // e = p·r² + r + 1.
            "vmul.f32 q5, q1, q1",
            "vfma.f32 q1, q4, q5",
            "vadd.f32 q1, q1, {one}",
            // n1 = n >> 1, n2 = n − n1; e1 = e·2^n1 by adding n1 to the exponent field (exact, stays normal).
            "vshr.s32 q3, q2, #1",
            "vsub.i32 q2, q2, q3",
            "vshl.i32 q3, q3, #23",
            "vadd.i32 q1, q1, q3",
            // 2^n2 = (n2 << 23) + bits(1.0); res = e1·2^n2 (rounds once; overflows to inf; flushes if tiny).
            "vshl.i32 q2, q2, #23",
            "vadd.i32 q3, q2, {one}",
            "vmul.f32 q4, q1, q3",
            // Subnormal results: z·2^127 = bits(e1) + bits(2^n2) is normal and below 2.0; adding 2.0 rounds it to
            // the 2^-22 grid, i.e. z to the 2^-149 grid, and the bits minus bits(2.0) are the subnormal's bits.
            "vadd.i32 q5, q1, q3",
            "ldr {t0}, [{tab}, #32]",
            "vadd.f32 q5, q5, {t0}",
            "vsub.i32 q5, q5, {t0}",
            "vcmp.i32 eq, q4, zr",
            "vpsel q4, q5, q4",
            // NaN in, the same NaN out.
            "vcmp.f32 eq, q0, q0",
            "vpsel q4, q4, q0",
            "vstrw.32 q4, [{dst}], #16",
            "letp lr, 2b",
            "vmsr p0, {vpr}",
            src = inout(reg) src => _,
            dst = inout(reg) dst => _,
            n = in(reg) n,
            tab = in(reg) EXP_TABLE.as_ptr(),
            log2e = in(reg) LOG2E.to_bits(),
            magic = in(reg) ROUND_MAGIC.to_bits(),
            one = in(reg) 1.0f32.to_bits(),
            t0 = out(reg) _,
            t1 = out(reg) _,
            vpr = out(reg) _,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _,
            out("q4") _, out("q5") _, out("q6") _, out("q7") _,
            options(nostack),
        );
    }
}

/// Widens `n` binary16 values (as bits) to f32.
///
/// # Safety
/// `src` must be valid for reads of `n` u16 and `dst` for writes of `n` f32.
#[inline]
unsafe fn f16_to_f32_raw(_: Helium, src: *const u16, dst: *mut f32, n: usize) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads exactly `n` halfwords (`vldrh.u32` widens
    // 4 per iteration) and writes exactly `n` words (masked lanes do not access memory). The pointers are pinned
    // to `r0`/`r1` because the widening load only encodes a low base register. Written registers are declared:
    // the pointers (discarded), `lr`, `q0`.
    unsafe {
        asm!(
            "dlstp.32 lr, {n}",
            "2:",
            "vldrh.u32 q0, [r0], #8",
            "vcvtb.f32.f16 q0, q0",
            "vstrw.32 q0, [r1], #16",
            "letp lr, 2b",
            inout("r0") src => _,
            inout("r1") dst => _,
            n = in(reg) n,
            out("lr") _,
            out("q0") _,
            options(nostack),
        );
    }
}

/// Narrows `n` f32 to binary16 (as bits), rounding to nearest even.
///
/// # Safety
/// `src` must be valid for reads of `n` f32 and `dst` for writes of `n` u16.
#[inline]
unsafe fn f32_to_f16_raw(_: Helium, src: *const f32, dst: *mut u16, n: usize) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads exactly `n` words and writes exactly `n`
    // halfwords (`vstrh.32` narrows 4 per iteration; masked lanes do not access memory). The pointers are pinned
    // to `r0`/`r1` because the narrowing store only encodes a low base register. Written registers are declared:
    // the pointers (discarded), `lr`, `q0`.
    unsafe {
        asm!(
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [r0], #16",
            "vcvtb.f16.f32 q0, q0",
            "vstrh.32 q0, [r1], #8",
            "letp lr, 2b",
            inout("r0") src => _,
            inout("r1") dst => _,
            n = in(reg) n,
            out("lr") _,
            out("q0") _,
            options(nostack),
        );
    }
}

/// Widens `n` bfloat16 values (as bits) to f32.
///
/// # Safety
/// `src` must be valid for reads of `n` u16 and `dst` for writes of `n` f32.
#[inline]
unsafe fn bf16_to_f32_raw(_: Helium, src: *const u16, dst: *mut f32, n: usize) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads exactly `n` halfwords and writes exactly
    // `n` words (masked lanes do not access memory). The pointers are pinned to `r0`/`r1` because the widening
    // load only encodes a low base register. Written registers are declared: the pointers (discarded), `lr`,
    // `q0`.
    unsafe {
        asm!(
            "dlstp.32 lr, {n}",
            "2:",
            "vldrh.u32 q0, [r0], #8",
            "vshl.i32 q0, q0, #16",
            "vstrw.32 q0, [r1], #16",
            "letp lr, 2b",
            inout("r0") src => _,
            inout("r1") dst => _,
            n = in(reg) n,
            out("lr") _,
            out("q0") _,
            options(nostack),
        );
    }
}

/// Narrows `n` f32 to bfloat16 (as bits), rounding to nearest even; NaN keeps its sign and becomes quiet.
///
/// # Safety
/// `src` must be valid for reads of `n` f32 and `dst` for writes of `n` u16.
#[inline]
unsafe fn f32_to_bf16_raw(_: Helium, src: *const f32, dst: *mut u16, n: usize) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads exactly `n` words and writes exactly `n`
    // halfwords (masked lanes do not access memory). The pointers are pinned to `r0`/`r1` because the narrowing
    // store only encodes a low base register. `VPR` is saved and restored around the `vcmp`/`vpsel`. Written
    // registers are declared: the pointers (discarded), the saved `VPR`, `lr`, `q0`–`q2`, `q7`.
    unsafe {
        asm!(
            "vmrs {vpr}, p0",
            "vmov.i32 q7, #1",
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [r0], #16",
            // Round to nearest even: (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16.
            "vshr.u32 q1, q0, #16",
            "vand q2, q1, q7",
            "vadd.i32 q2, q2, q0",
            "vadd.i32 q2, q2, {round}",
            "vshr.u32 q2, q2, #16",
            // NaN: the top half with the quiet bit set.
            "vorr.i32 q1, #0x40",
            "vcmp.f32 eq, q0, q0",
            "vpsel q2, q2, q1",
            "vstrh.32 q2, [r1], #8",
            "letp lr, 2b",
            "vmsr p0, {vpr}",
            inout("r0") src => _,
            inout("r1") dst => _,
            n = in(reg) n,
            round = in(reg) 0x7FFFu32,
            vpr = out(reg) _,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q7") _,
            options(nostack),
        );
    }
}

/// Rotates `4·blocks` interleaved pairs of `x` by `cos`/`sin`.
///
/// # Safety
/// `x` must be valid for reads and writes of `8·blocks` f32, `cos` and `sin` for reads of `4·blocks` f32, and
/// `x` must not overlap them.
#[inline]
unsafe fn rotate_interleaved_raw(
    _: Helium,
    x: *mut f32,
    cos: *const f32,
    sin: *const f32,
    blocks: usize,
) {
    // SAFETY: MVE is present (token). The loop runs `blocks` times (none if zero): `vld20`/`vld21` read and
    // `vst20`/`vst21` write the same 8 elements of `x` per iteration, and 4 elements of `cos` and `sin` are
    // read: `8·blocks` and `4·blocks` in total. Written registers are declared: the pointers (discarded),
    // `lr`, `q0`–`q7`.
    unsafe {
        asm!(
            "wls lr, {blocks}, 3f",
            "2:",
            // q0 = x[2i] (a), q1 = x[2i+1] (b) for 4 pairs.
            "vld20.32 {{q0, q1}}, [{x}]",
            "vld21.32 {{q0, q1}}, [{x}]",
            "vldrw.u32 q2, [{cos}], #16",
            "vldrw.u32 q3, [{sin}], #16",
            // a' = a·c − b·s, b' = a·s + b·c.
            "vmul.f32 q6, q0, q2",
            "vfms.f32 q6, q1, q3",
            "vmul.f32 q7, q0, q3",
            "vfma.f32 q7, q1, q2",
            "vst20.32 {{q6, q7}}, [{x}]",
            "vst21.32 {{q6, q7}}, [{x}]!",
            "le lr, 2b",
            "3:",
            x = inout(reg) x => _,
            cos = inout(reg) cos => _,
            sin = inout(reg) sin => _,
            blocks = in(reg) blocks,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _,
            out("q6") _, out("q7") _,
            options(nostack),
        );
    }
}

/// Rotates the pairs `(lo[i], hi[i])` by `(cos[i], sin[i])` for `i < n`.
///
/// # Safety
/// `lo` and `hi` must be valid for reads and writes of `n` f32 each and must not overlap each other or `cos`
/// and `sin`, which must be valid for reads of `n` f32.
#[inline]
unsafe fn rotate_half_split_raw(
    _: Helium,
    lo: *mut f32,
    hi: *mut f32,
    cos: *const f32,
    sin: *const f32,
    n: usize,
) {
    // SAFETY: MVE is present (token). The tail-predicated loop reads and writes exactly `n` elements through
    // `lo` and through `hi`, and reads `n` elements of `cos` and `sin` (masked lanes do not access memory).
    // Written registers are declared: the pointers (discarded), `lr`, `q0`–`q5`.
    unsafe {
        asm!(
            "dlstp.32 lr, {n}",
            "2:",
            "vldrw.u32 q0, [{lo}]",
            "vldrw.u32 q1, [{hi}]",
            "vldrw.u32 q2, [{cos}], #16",
            "vldrw.u32 q3, [{sin}], #16",
            // lo' = lo·c − hi·s, hi' = lo·s + hi·c.
            "vmul.f32 q4, q0, q2",
            "vfms.f32 q4, q1, q3",
            "vmul.f32 q5, q0, q3",
            "vfma.f32 q5, q1, q2",
            "vstrw.32 q4, [{lo}], #16",
            "vstrw.32 q5, [{hi}], #16",
            "letp lr, 2b",
            lo = inout(reg) lo => _,
            hi = inout(reg) hi => _,
            cos = inout(reg) cos => _,
            sin = inout(reg) sin => _,
            n = in(reg) n,
            out("lr") _,
            out("q0") _, out("q1") _, out("q2") _, out("q3") _, out("q4") _, out("q5") _,
            options(nostack),
        );
    }
}
