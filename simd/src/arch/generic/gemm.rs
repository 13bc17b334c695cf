//! The register-tiled matrix product's skeleton ([`Kernels::gemm`](crate::Kernels::gemm)), written once for
//! every ISA whose vectors implement [`GemmVector`] (AVX2, AVX-512 and NEON).
//!
//! `C` is cut into tiles of `MR` rows × `NV` vectors of columns held in registers for the whole sum over `p`:
//! per step, `NV` vectors of row `p` of `B` are loaded once and each of the `MR` elements `a[i·lda + p]` is
//! broadcast and multiplied into its row of accumulators (`MR·NV` fused multiply-adds for `NV` loads and `MR`
//! broadcasts). Each ISA chooses its tiles (so that accumulators, the `B` vectors and one broadcast fit its
//! register file) and its column blocks; [`rows`] covers the rows of one block with tiles of `MR` rows and then
//! 8 (if the vector asks for it), 4, 2 and 1.
//!
//! Every element of `C` receives its terms in increasing `p`, each one fused multiply-add, starting from the old
//! value or zero, so the result does not depend on the tiling or on the ISA.
//!
//! # Memory safety
//! The ISA's entry checks the shape once with [`GemmShape::fits`] ([`Ops::new`]); the tiles then use raw
//! pointers. A tile at rows `i0..i0 + MR` and the columns its lane masks select from `j0` reads `a[i·lda + p]`
//! for `p < k`, `b[p·ldb + j]` and `c[i·ldc + j]` for those columns, all inside the extents `fits` proved.
//! Addresses are formed with wrapping arithmetic, since a vector whose lanes are all masked out may start past
//! the end of its operand (no memory is accessed through it).

use crate::kernels::GemmShape;

/// Operands of one call, as raw pointers into slices checked by [`GemmShape::fits`].
#[derive(Clone, Copy)]
pub(crate) struct Ops {
    /// `A`, row-major with stride `shape.lda`.
    pub a: *const f32,
    /// `B`, row-major with stride `shape.ldb`.
    pub b: *const f32,
    /// `C`, row-major with stride `shape.ldc`.
    pub c: *mut f32,
    /// The checked shape.
    pub shape: GemmShape,
    /// Whether `C` is added to (`true`) or overwritten.
    pub accumulate: bool,
}

impl Ops {
    /// Checks the shape and captures the pointers; `None` if the operands are too short.
    pub fn new(
        shape: GemmShape,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        accumulate: bool,
    ) -> Option<Ops> {
        shape.fits(a.len(), b.len(), c.len()).then_some(Ops {
            a: a.as_ptr(),
            b: b.as_ptr(),
            c: c.as_mut_ptr(),
            shape,
            accumulate,
        })
    }
}

/// One SIMD vector of `f32` lanes, as the gemm skeleton needs it.
///
/// # Safety
/// Implementations are instantiated only inside functions whose `#[target_feature]` set includes the
/// instructions the methods use; the memory methods access exactly the lanes their mask selects.
pub(crate) unsafe trait GemmVector: Copy {
    /// `f32` lanes per vector.
    const LANES: usize;
    /// Whether the tiles hint the data ahead into the cache (see [`tile`]).
    const PREFETCH: bool;
    /// Whether [`rows`] uses tiles of 8 rows between the wide tiles and the tiles of 4.
    const ROWS_8: bool;
    /// Which lanes of a vector are in use: `()` for ISAs that only ever use whole vectors.
    type Mask: Copy;

    /// Masks for `NV` vectors covering `w` columns: whole vectors, then the first `w mod LANES` lanes. ISAs
    /// without masks are only given blocks of `NV·LANES` columns.
    fn masks<const NV: usize>(w: usize) -> [Self::Mask; NV];
    /// All lanes zero.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn zero() -> Self;
    /// Loads the lanes `mask` selects from `p` (the others are zero).
    ///
    /// # Safety
    /// The selected lanes at `p` must be readable.
    unsafe fn load(p: *const f32, mask: Self::Mask) -> Self;
    /// Stores the lanes `mask` selects to `p`.
    ///
    /// # Safety
    /// The selected lanes at `p` must be writable.
    unsafe fn store(p: *mut f32, mask: Self::Mask, x: Self);
    /// `x` in every lane.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn splat(x: f32) -> Self;
    /// `acc + a·b` in every lane, one rounding.
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn fma(acc: Self, a: Self, b: Self) -> Self;
    /// `c + a·b` for one element, one rounding (for columns past the last whole vector).
    ///
    /// # Safety
    /// The ISA must be available.
    unsafe fn fma_scalar(c: f32, a: f32, b: f32) -> f32;
    /// A hint that the cache line at `p` will be read soon. It must not fault on any address; the default does
    /// nothing.
    #[inline(always)]
    fn prefetch(_p: *const f32) {}
}

/// Rows of `B` ahead of the current one that a tile asks for.
const B_AHEAD: usize = 8;

/// An `MR × NV`-vector tile of `C` at row `i0`, column `j0`, over all `k`; the lanes `masks` select.
///
/// With [`GemmVector::PREFETCH`], at the first column `p` of each cache line of the tile's `A` rows it asks for
/// the same line of the next `MR` rows (the next tile of `C` reads them, or, past the last tile, the rows that
/// follow in memory: the next K tile of attention when keys are contiguous), and at each step for the row of `B`
/// eight steps ahead, once per 64-byte line. Hints to addresses past the operands are harmless: the addresses
/// are formed with wrapping arithmetic and never dereferenced.
///
/// # Safety
/// The ISA of `V` must be available; rows `i0..i0 + MR` and the selected columns from `j0` must lie inside the
/// extents checked by [`GemmShape::fits`] for `o`.
#[inline(always)]
pub(crate) unsafe fn tile<V: GemmVector, const MR: usize, const NV: usize>(
    o: &Ops,
    i0: usize,
    j0: usize,
    masks: [V::Mask; NV],
) {
    let GemmShape {
        k, lda, ldb, ldc, ..
    } = o.shape;
    let lanes = V::LANES;
    // SAFETY: every access below stays within the tile's rows and selected columns, which the caller guarantees
    // lie inside the checked extents of `a` (row i, p < k), `b` (row p < k) and `c`; the vector addresses are
    // formed with wrapping arithmetic because a vector whose lanes are all masked out may start past its operand.
    unsafe {
        let mut acc = [[V::zero(); NV]; MR];
        let c = o.c.add(i0 * ldc + j0);
        if o.accumulate {
            for (i, row) in acc.iter_mut().enumerate() {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = V::load(c.wrapping_add(i * ldc + lanes * v), masks[v]);
                }
            }
        }
        let a = o.a.add(i0 * lda);
        let mut b = o.b.add(j0);
        let per_line = (16 / lanes).max(1);
        for p in 0..k {
            if V::PREFETCH {
                if p % 16 == 0 {
                    for i in MR..2 * MR {
                        V::prefetch(a.wrapping_add(i.wrapping_mul(lda).wrapping_add(p)));
                    }
                }
                for v in (0..NV).step_by(per_line) {
                    V::prefetch(b.wrapping_add(B_AHEAD.wrapping_mul(ldb).wrapping_add(lanes * v)));
                }
            }
            let bv: [V; NV] =
                core::array::from_fn(|v| V::load(b.wrapping_add(lanes * v), masks[v]));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = V::splat(*a.add(i * lda + p));
                for (x, &bj) in row.iter_mut().zip(&bv) {
                    *x = V::fma(*x, ai, bj);
                }
            }
            // Wrapping: after the last row the pointer may lie past the end of `b` (it is not dereferenced).
            b = b.wrapping_add(ldb);
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, x) in row.iter().enumerate() {
                V::store(c.wrapping_add(i * ldc + lanes * v), masks[v], *x);
            }
        }
    }
}

/// Rows `0..m` of the column block of `w` columns at `j0`, in tiles of `MR` rows, then 8 (with
/// [`GemmVector::ROWS_8`] and `MR > 8`), 4, 2 and 1.
///
/// # Safety
/// As [`tile`] for every row `< m` and the block's columns (`w ≤ NV·LANES`, exactly `NV·LANES` for ISAs
/// without masks).
#[inline(always)]
pub(crate) unsafe fn rows<V: GemmVector, const MR: usize, const NV: usize>(
    o: &Ops,
    j0: usize,
    w: usize,
) {
    let m = o.shape.m;
    let masks = V::masks::<NV>(w);
    let mut i = 0;
    // SAFETY: every tile's rows are below m and its columns are the block's.
    unsafe {
        while i + MR <= m {
            tile::<V, MR, NV>(o, i, j0, masks);
            i += MR;
        }
        if V::ROWS_8 && MR > 8 {
            while i + 8 <= m {
                tile::<V, 8, NV>(o, i, j0, masks);
                i += 8;
            }
        }
        while i + 4 <= m {
            tile::<V, 4, NV>(o, i, j0, masks);
            i += 4;
        }
        while i + 2 <= m {
            tile::<V, 2, NV>(o, i, j0, masks);
            i += 2;
        }
        while i < m {
            tile::<V, 1, NV>(o, i, j0, masks);
            i += 1;
        }
    }
}

/// Columns `j0..n` one element at a time, with the same fused multiply-add per term (for ISAs without masked
/// stores, past the last whole vector).
///
/// # Safety
/// The ISA of `V` must be available and the shape checked for `o`.
#[inline(always)]
pub(crate) unsafe fn columns_scalar<V: GemmVector>(o: &Ops, j0: usize) {
    let GemmShape {
        m,
        n,
        k,
        lda,
        ldb,
        ldc,
    } = o.shape;
    for i in 0..m {
        for j in j0..n {
            // SAFETY: i < m, j < n and p < k are inside the checked extents.
            unsafe {
                let cij = o.c.add(i * ldc + j);
                let mut x = if o.accumulate { *cij } else { 0.0 };
                for p in 0..k {
                    x = V::fma_scalar(x, *o.a.add(i * lda + p), *o.b.add(p * ldb + j));
                }
                *cij = x;
            }
        }
    }
}
