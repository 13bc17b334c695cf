//! The set of primitives every level implements, with the contract each implementation must honour.

use crate::{Level, bf16, f16};

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// The primitives, implemented once per level by a zero-sized *capability token* (e.g.
/// [`portable::Scalar`](crate::portable::Scalar)). A token for an ISA level can only be obtained from a detection
/// function that proved the CPU supports it, so these safe methods can call `#[target_feature]` code soundly.
///
/// The trait is sealed: the contract below is what the tests check for every level against the scalar reference
/// and against an f64 oracle.
///
/// **Subnormals on Helium.** Arm's M-profile Vector Extension evaluates vector floating-point arithmetic with
/// flush-to-zero and default-NaN semantics whatever `FPSCR` says: at [`Level::Helium`], `dot`, `dot_rows`, `sum`,
/// `axpy`, `scale`, `gemm` and the rotations read subnormal inputs as zero and flush tiny results to zero (an absolute
/// difference of at most a few `2⁻¹²⁶` per result). `max`, `exp` and the conversions are written to keep their
/// full contract there, except that `f32_to_f16` returns the default NaN for every NaN.
pub trait Kernels: Copy + Sealed {
    /// The level this implementation runs at.
    const LEVEL: Level;

    /// `Σ a[i]·b[i]` over `n = min(a.len(), b.len())` elements, accumulated in f32 (summation order is
    /// level-specific: several partial sums then a final reduction). `0.0` when `n == 0`.
    ///
    /// Error bound (checked by the tests): `|dot − exact| ≤ (n + 8)·2⁻²³·Σ|a[i]·b[i]|` plus underflow.
    fn dot(self, a: &[f32], b: &[f32]) -> f32;

    /// One vector against a block of rows (the `1×N` scores of attention): for `r` in `0..n`,
    /// `out[r] = dot(x, rows[r·stride .. r·stride + x.len()])`, where `n` is the number of leading entries of
    /// `out` whose row lies entirely inside `rows` ([`rows_that_fit`]). Returns `n`; `out[n..]` is untouched.
    /// Rows may overlap (`stride < x.len()`), and `stride == 0` repeats one row.
    fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize;

    /// `y[i] += a·x[i]` over `min(x.len(), y.len())` elements (fused multiply-add where the level has it).
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]);

    /// `y[i] *= a` for every element.
    fn scale(self, a: f32, y: &mut [f32]);

    /// The largest element. NaN elements, quiet or signalling, are ignored; an empty or all-NaN slice gives
    /// `-inf`. When the maximum is a zero, its sign is unspecified.
    fn max(self, x: &[f32]) -> f32;

    /// `Σ x[i]` accumulated in f32 with level-specific partial sums; `0.0` for an empty slice. NaN and infinities
    /// propagate as in IEEE arithmetic. Error bound: `(n + 8)·2⁻²³·Σ|x[i]|`.
    fn sum(self, x: &[f32]) -> f32;

    /// `out[i] = e^x[i]` over `min(x.len(), out.len())` elements.
    ///
    /// Every level uses the same range reduction and polynomial ([`portable::exp`](crate::portable::exp)):
    /// `x = n·ln2 + r` with `|r| ≤ ln2/2` (Cody–Waite two-constant reduction), a degree-7 polynomial for `e^r`,
    /// and scaling by `2^n` in two exact steps so that subnormal results are rounded once.
    /// Contract: at most 2 ulp from the correctly rounded result for `x` in `[-87.33, 88.72]`
    /// (normal results); within 1 ulp of the smallest subnormal below that; `e^x = +inf` for `x > 88.7228`;
    /// `e^x = 0` for `x < -103.98` and for `-inf`; NaN in, NaN out.
    fn exp(self, x: &[f32], out: &mut [f32]);

    /// [`Kernels::exp`] in place.
    fn exp_in_place(self, x: &mut [f32]);

    /// The softmax step: `x[i] = e^(x[i] − shift)` in place, returning `Σ x[i]` (of the results).
    ///
    /// Each result is bit for bit this level's [`Kernels::exp`] of the rounded difference `x[i] − shift`, so
    /// `(−inf) − shift` gives exactly 0 for a finite shift. The sum is accumulated in f32 with level-specific
    /// partial sums, with [`Kernels::sum`]'s error bound. The default does the three passes (subtract,
    /// [`Kernels::exp_in_place`], [`Kernels::sum`]); the x86 levels fuse them into one.
    fn exp_shifted_sum(self, shift: f32, x: &mut [f32]) -> f32 {
        for v in x.iter_mut() {
            *v -= shift;
        }
        self.exp_in_place(x);
        self.sum(x)
    }

    /// Widens IEEE binary16 to f32 over `min(src.len(), dst.len())` elements. Exact; NaN stays NaN.
    fn f16_to_f32(self, src: &[f16], dst: &mut [f32]);

    /// Narrows f32 to binary16 with round-to-nearest-even over the common prefix: overflow gives ±inf,
    /// tiny values give subnormals or ±0, NaN gives a quiet NaN.
    fn f32_to_f16(self, src: &[f32], dst: &mut [f16]);

    /// Widens bfloat16 to f32 over the common prefix. Exact (a shift of the bits).
    fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]);

    /// Narrows f32 to bfloat16 with round-to-nearest-even over the common prefix; NaN gives a quiet NaN
    /// with the same sign.
    fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]);

    /// RoPE rotation, interleaved layout (RoFormer / GPT-J / Meta): for `i` in `0..n`,
    /// `(x[2i], x[2i+1]) ← (x[2i]·c − x[2i+1]·s, x[2i]·s + x[2i+1]·c)` with `c = cos[i]`, `s = sin[i]` and
    /// `n = min(x.len() / 2, cos.len(), sin.len())`. Elements past `2n` are untouched.
    fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]);

    /// RoPE rotation, half-split layout (GPT-NeoX / Hugging Face `rotate_half`): with `h = x.len() / 2`,
    /// for `i` in `0..n`, `(x[i], x[h+i]) ← (x[i]·c − x[h+i]·s, x[i]·s + x[h+i]·c)` with `c = cos[i]`,
    /// `s = sin[i]` and `n = min(h, cos.len(), sin.len())`. Other elements (including the last one of an odd
    /// length) are untouched.
    fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]);

    /// Small matrix product with row-major operands (the register-tiled core of attention's `Q·Kᵀ` and `P·V`):
    /// for `i < m`, `j < n`,
    ///
    /// `c[i·ldc + j] = c₀ + Σ_{p<k} a[i·lda + p] · b[p·ldb + j]`
    ///
    /// where `c₀` is the old `c[i·ldc + j]` when `accumulate` is set and `0` otherwise. The terms are added to
    /// `c₀` one by one in increasing `p` (one fused multiply-add each where the level has FMA, a multiply then an
    /// add on the scalar level), so the result does not depend on how a level tiles the work, and `k = 0` gives
    /// `c₀`. Error bound: `|c − exact| ≤ (k + 1)·2⁻²⁴·(|c₀| + Σ_p |a·b|)` plus underflow.
    ///
    /// Returns `false` and touches nothing when the operands are too short for the shape or `ldc < n`
    /// ([`GemmShape::fits`]); `true` otherwise. Elements of `c` between rows (`j ≥ n`) are never written.
    fn gemm(self, shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool;

    /// A hint that `x` will be read soon: asks the memory system to bring its cache lines toward the core
    /// (`prefetcht1` on x86_64, `prfm pldl1keep` on aarch64; nothing on the scalar level and on Helium, whose
    /// cores usually read tightly coupled memory). Has no effect on any result and never faults.
    fn prefetch<T>(self, x: &[T]);

    /// Matrix transpose: `dst[j·ldd + i] = src[i·lds + j]` for `i < rows`, `j < cols`. Bit-exact (values are
    /// moved, never computed). Returns `false` and writes nothing when `src` or `dst` is too short or
    /// `ldd < rows` ([`transpose_fits`]); elements of `dst` past each row's first `rows` are never written.
    fn transpose(
        self,
        rows: usize,
        cols: usize,
        src: &[f32],
        lds: usize,
        dst: &mut [f32],
        ldd: usize,
    ) -> bool;
}

/// Whether a [`Kernels::transpose`] of `rows × cols` fits: with both non-zero, `ldd ≥ rows`,
/// `(rows − 1)·lds + cols ≤ src_len` and `(cols − 1)·ldd + rows ≤ dst_len`. Never overflows.
pub const fn transpose_fits(
    rows: usize,
    cols: usize,
    src_len: usize,
    lds: usize,
    dst_len: usize,
    ldd: usize,
) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    ldd >= rows && extent_fits(rows, lds, cols, src_len) && extent_fits(cols, ldd, rows, dst_len)
}

/// Shape and strides (in elements) of a [`Kernels::gemm`] call: `C[m×n] (+)= A[m×k]·B[k×n]`, each operand
/// row-major with its own row stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GemmShape {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// Columns of `A`, rows of `B` (the summed dimension).
    pub k: usize,
    /// Elements from one row of `A` to the next.
    pub lda: usize,
    /// Elements from one row of `B` to the next.
    pub ldb: usize,
    /// Elements from one row of `C` to the next (at least `n`, so rows of `C` do not overlap).
    pub ldc: usize,
}

impl GemmShape {
    /// Whether slices of these lengths hold every element the shape touches: with `m, n > 0`, `ldc ≥ n` and
    /// `(m−1)·ldc + n ≤ c_len`, and when also `k > 0`, `(m−1)·lda + k ≤ a_len` and `(k−1)·ldb + n ≤ b_len`.
    /// An empty product (`m = 0` or `n = 0`) always fits. Never overflows.
    pub const fn fits(&self, a_len: usize, b_len: usize, c_len: usize) -> bool {
        let GemmShape {
            m,
            n,
            k,
            lda,
            ldb,
            ldc,
        } = *self;
        if m == 0 || n == 0 {
            return true;
        }
        if ldc < n || !extent_fits(m, ldc, n, c_len) {
            return false;
        }
        k == 0 || (extent_fits(m, lda, k, a_len) && extent_fits(k, ldb, n, b_len))
    }
}

/// `(rows − 1)·stride + width ≤ len` without overflow (`rows ≥ 1`).
const fn extent_fits(rows: usize, stride: usize, width: usize, len: usize) -> bool {
    match (rows - 1).checked_mul(stride) {
        Some(x) => match x.checked_add(width) {
            Some(end) => end <= len,
            None => false,
        },
        None => false,
    }
}

/// How many leading entries of `out` a [`Kernels::dot_rows`] call fills: the number of `r < out_len` with
/// `r·stride + dim ≤ rows_len`. Never overflows.
#[inline]
pub const fn rows_that_fit(dim: usize, rows_len: usize, stride: usize, out_len: usize) -> usize {
    if dim > rows_len {
        return 0;
    }
    if stride == 0 {
        return out_len;
    }
    let fit = (rows_len - dim) / stride + 1;
    if fit < out_len { fit } else { out_len }
}
