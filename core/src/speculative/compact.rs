//! KV-cache compaction after acceptance: the verification step appended the `N` tree tokens' keys and values
//! at cache rows `prefix_len .. prefix_len + N` (node `i` at row `prefix_len + i`); the accepted path's rows
//! move to `prefix_len, prefix_len + 1, ..`, in place, and the cache's length becomes
//! `prefix_len + accepted + 1`. The rows beyond the new length are left as they are (stale; the next step
//! overwrites them).
//!
//! # Why in place is safe
//! The path's nodes `n_0 < n_1 < .. < n_k` are strictly increasing (a parent's index is below its child's), so
//! `n_j ≥ j`: every source row `prefix_len + n_j` is at or after its destination `prefix_len + j`. Rows move in
//! increasing destination order. When row `j` is written, the rows still to be read are `n_i > n_j ≥ j` for
//! `i > j`, all beyond it, and the row being read, `n_j ≥ j`, has not been written by an earlier move (those
//! wrote rows `< j`). So no source is overwritten before it is read; a row with `n_j = j` is left alone.
//! Different heads' rows never overlap (checked), so the order across heads does not matter.

use crate::attention::{DataMut, TensorMut};
use crate::rope::apply::Rows;

/// Why a compaction was rejected (nothing is moved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CompactError {
    /// The path is not strictly increasing at entry `at` (moves could overwrite sources).
    NotIncreasing {
        /// The index in the path.
        at: usize,
    },
    /// A source row `prefix_len + node` lies beyond the cache's rows (or overflows).
    RowOutOfRange {
        /// The row.
        row: usize,
        /// The cache's rows.
        rows: usize,
    },
    /// The cache slice is shorter than its shape and strides reach.
    TooShort {
        /// Elements needed (`usize::MAX` on overflow).
        needed: usize,
        /// Elements given.
        got: usize,
    },
    /// Strides that make two rows of the cache overlap.
    Overlap,
}

impl core::fmt::Display for CompactError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CompactError::NotIncreasing { at } => {
                write!(f, "path is not strictly increasing at entry {at}")
            }
            CompactError::RowOutOfRange { row, rows } => {
                write!(f, "row {row} is beyond the cache's {rows} rows")
            }
            CompactError::TooShort { needed, got } => {
                write!(f, "cache: {got} elements, {needed} needed")
            }
            CompactError::Overlap => write!(f, "cache strides make rows overlap"),
        }
    }
}

impl core::error::Error for CompactError {}

/// Whether no two rows of `[heads, rows, dim]` with these strides share an element: heads nested around rows
/// (`row_stride ≥ dim`, `head_stride ≥ (rows − 1)·row_stride + dim`) or rows around heads.
fn disjoint(heads: usize, rows: usize, dim: usize, head_stride: usize, row_stride: usize) -> bool {
    if heads == 0 || rows == 0 || dim == 0 {
        return true;
    }
    let span =
        |n: usize, stride: usize| (n - 1).checked_mul(stride).and_then(|v| v.checked_add(dim));
    let rows_ok = rows == 1 || row_stride >= dim;
    let heads_ok = heads == 1 || head_stride >= dim;
    if !(rows_ok && heads_ok) {
        return false;
    }
    if heads == 1 || rows == 1 {
        return true;
    }
    // One level must step over the whole extent of the other.
    matches!(span(rows, row_stride), Some(s) if head_stride >= s)
        || matches!(span(heads, head_stride), Some(s) if row_stride >= s)
}

/// Moves the rows of the accepted path in one cache tensor (`[heads, rows, head_dim]`, any element type): for
/// `j` in `0..path.len()`, row `prefix_len + path[j]` of every head is copied to row `prefix_len + j`. `path`
/// is the accepted root-to-node path of tree nodes ([`Tree::path`](super::Tree::path) truncated to
/// `accept_length + 1`). Returns the cache's new length, `prefix_len + path.len()`.
///
/// Errors (nothing moved): a path that is not strictly increasing, a source row beyond `cache.rows`, a slice
/// too short for the shape, overlapping rows.
pub fn compact<T: Copy>(
    cache: Rows<'_, T>,
    prefix_len: usize,
    path: &[u8],
) -> Result<usize, CompactError> {
    let Rows {
        data,
        heads,
        rows,
        head_dim,
        row_stride,
        head_stride,
    } = cache;
    for (at, pair) in path.windows(2).enumerate() {
        if let [a, b] = *pair
            && b <= a
        {
            return Err(CompactError::NotIncreasing { at: at + 1 });
        }
    }
    let new_len = prefix_len
        .checked_add(path.len())
        .ok_or(CompactError::RowOutOfRange {
            row: usize::MAX,
            rows,
        })?;
    if let Some(&last) = path.last() {
        let row = prefix_len
            .checked_add(last as usize)
            .ok_or(CompactError::RowOutOfRange {
                row: usize::MAX,
                rows,
            })?;
        if row >= rows {
            return Err(CompactError::RowOutOfRange { row, rows });
        }
    }
    if heads == 0 || head_dim == 0 || path.is_empty() {
        return Ok(new_len);
    }
    if !disjoint(heads, rows, head_dim, head_stride, row_stride) {
        return Err(CompactError::Overlap);
    }
    let needed = (heads - 1)
        .checked_mul(head_stride)
        .and_then(|a| {
            (rows - 1)
                .checked_mul(row_stride)
                .and_then(|b| a.checked_add(b))
        })
        .and_then(|v| v.checked_add(head_dim))
        .unwrap_or(usize::MAX);
    if data.len() < needed {
        return Err(CompactError::TooShort {
            needed,
            got: data.len(),
        });
    }
    // Every offset below is inside the extent just checked: rows < `rows`, heads < `heads`.
    for h in 0..heads {
        let base = h * head_stride;
        for (j, &node) in path.iter().enumerate() {
            let node = node as usize;
            if node == j {
                continue;
            }
            let src = base + (prefix_len + node) * row_stride;
            let dst = base + (prefix_len + j) * row_stride;
            // The path increases strictly, so `node > j` and the source row starts after the destination
            // row ends (rows are disjoint): split there and copy between the halves.
            if let Some((before, from)) = data.split_at_mut_checked(src)
                && let (Some(to), Some(row)) = (
                    before.get_mut(dst..).and_then(|t| t.get_mut(..head_dim)),
                    from.get(..head_dim),
                )
            {
                to.copy_from_slice(row);
            }
        }
    }
    Ok(new_len)
}

/// [`compact`] on an attention output-style view (f32, f16 or bf16 storage), e.g. a KV cache described as the
/// attention kernel's [`TensorMut`] with `rows` = the cache's capacity.
pub fn compact_tensor(
    cache: TensorMut<'_>,
    prefix_len: usize,
    path: &[u8],
) -> Result<usize, CompactError> {
    let TensorMut {
        data,
        heads,
        rows,
        dim,
        head_stride,
        row_stride,
    } = cache;
    macro_rules! run {
        ($d:expr) => {
            compact(
                Rows {
                    data: $d,
                    heads,
                    rows,
                    head_dim: dim,
                    row_stride,
                    head_stride,
                },
                prefix_len,
                path,
            )
        };
    }
    match data {
        DataMut::F32(d) => run!(d),
        DataMut::F16(d) => run!(d),
        DataMut::Bf16(d) => run!(d),
    }
}
