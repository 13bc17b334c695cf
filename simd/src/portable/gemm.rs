//! Scalar small matrix product and transpose: the references for every level's `gemm` and `transpose`.

use crate::kernels::{GemmShape, transpose_fits};

/// `c[i·ldc + j] (+)= Σ_p a[i·lda + p]·b[p·ldb + j]`, each term a multiply then an add in increasing `p` (the
/// order every level keeps). Returns `false` without writing if the shape does not fit the slices (see
/// [`Kernels::gemm`](crate::Kernels::gemm)).
///
/// The work is cut into 4 × 4 blocks of `C` kept in local accumulators for the whole sum (sixteen
/// multiply-adds per four loads of `A` and four of `B`, which in-order cores with a register file such as the
/// Cortex-M4F's 32 single-precision registers run without spilling), then narrower blocks for the edges. The
/// blocking changes no result: every element still receives its terms one by one in increasing `p`.
pub fn gemm(shape: GemmShape, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) -> bool {
    if !shape.fits(a.len(), b.len(), c.len()) {
        return false;
    }
    let GemmShape { m, n, .. } = shape;
    if m == 0 || n == 0 {
        return true;
    }
    let ops = Ops {
        shape,
        a,
        b,
        accumulate,
    };
    let mut j = 0;
    while j < n {
        let width = (n - j).min(4);
        let mut i = 0;
        while i < m {
            let height = (m - i).min(4);
            match (height, width) {
                (4, 4) => ops.block::<4, 4>(c, i, j),
                (4, 3) => ops.block::<4, 3>(c, i, j),
                (4, 2) => ops.block::<4, 2>(c, i, j),
                (4, _) => ops.block::<4, 1>(c, i, j),
                (3, 4) => ops.block::<3, 4>(c, i, j),
                (2, 4) => ops.block::<2, 4>(c, i, j),
                (_, 4) => ops.block::<1, 4>(c, i, j),
                (h, w) => {
                    for r in i..i + h {
                        for col in j..j + w {
                            ops.block::<1, 1>(c, r, col);
                        }
                    }
                }
            }
            i += height;
        }
        j += width;
    }
    true
}

/// The operands of one checked call.
struct Ops<'a> {
    shape: GemmShape,
    a: &'a [f32],
    b: &'a [f32],
    accumulate: bool,
}

impl Ops<'_> {
    /// The `R × C` block of `C` at row `i0`, column `j0` (inside the checked shape).
    #[inline]
    fn block<const R: usize, const C: usize>(&self, c: &mut [f32], i0: usize, j0: usize) {
        let GemmShape {
            k, lda, ldb, ldc, ..
        } = self.shape;
        // `fits` proved every range below lies inside its slice; `get` keeps the code panic-free regardless.
        let mut acc = [[0.0f32; C]; R];
        if self.accumulate {
            for (r, row) in acc.iter_mut().enumerate() {
                let at = (i0 + r) * ldc + j0;
                if let Some(src) = c.get(at..at + C) {
                    row.copy_from_slice(src);
                }
            }
        }
        // With k = 0, `fits` does not bound `a`'s rows (none is read): the offset may wrap, and `get` then fails.
        let rows: [&[f32]; R] = core::array::from_fn(|r| {
            let at = (i0 + r).wrapping_mul(lda);
            at.checked_add(k)
                .and_then(|end| self.a.get(at..end))
                .unwrap_or_default()
        });
        for p in 0..k {
            let at = p * ldb + j0;
            let Some(b_p) = self
                .b
                .get(at..at + C)
                .and_then(|x| <&[f32; C]>::try_from(x).ok())
            else {
                continue;
            };
            for (row, a_row) in acc.iter_mut().zip(rows) {
                let a_ip = a_row.get(p).copied().unwrap_or(0.0);
                for (x, &y) in row.iter_mut().zip(b_p) {
                    *x += a_ip * y;
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let at = (i0 + r) * ldc + j0;
            if let Some(dst) = c.get_mut(at..at + C) {
                dst.copy_from_slice(row);
            }
        }
    }
}

/// `dst[j·ldd + i] = src[i·lds + j]`, one element at a time; `false` without writing if the shape does not fit
/// (see [`Kernels::transpose`](crate::Kernels::transpose)).
pub fn transpose(
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
    for (j, d_row) in dst.chunks_mut(ldd).take(cols).enumerate() {
        if lds == 0 {
            // Every row of src is the same row.
            let x = src.get(j).copied().unwrap_or(0.0);
            d_row.iter_mut().take(rows).for_each(|d| *d = x);
            continue;
        }
        // Row i of src starts at i·lds; column j is every lds-th element from j.
        let column = src.iter().skip(j).step_by(lds);
        for (d, &x) in d_row.iter_mut().take(rows).zip(column) {
            *d = x;
        }
    }
    true
}

/// The parts of a transpose that a level's `b × b` register blocks leave over, with the scalar [`transpose`]:
/// the columns `cols_b..cols` of rows `0..rows_b`, and every column of rows `rows_b..rows`. `rows_b ≤ rows` and
/// `cols_b ≤ cols` are the extents the blocks covered; the shape must fit the slices (as checked by the caller).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) fn transpose_edges(
    rows: usize,
    cols: usize,
    (rows_b, cols_b): (usize, usize),
    src: &[f32],
    lds: usize,
    dst: &mut [f32],
    ldd: usize,
) {
    if cols_b < cols
        && let (Some(s), Some(d)) = (src.get(cols_b..), dst.get_mut(cols_b * ldd..))
    {
        transpose(rows_b, cols - cols_b, s, lds, d, ldd);
    }
    if rows_b < rows
        && let (Some(s), Some(d)) = (src.get(rows_b * lds..), dst.get_mut(rows_b..))
    {
        transpose(rows - rows_b, cols, s, lds, d, ldd);
    }
}
