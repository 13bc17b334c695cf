//! Rotating query/key rows in place, in either pair layout, for f32, f16 and bf16 storage.
//!
//! `x` is `[heads, rows, head_dim]` with explicit strides ([`Rows`]); row `r` of every head is rotated by row
//! `positions[r]` of a cos/sin table ([`Tables`], as [`table`](super::table) writes them), so rows may be in any
//! order and repeat (prefill, decoding at a cache offset, speculative trees, packed sequences). Only the first
//! `D = 2·half` elements of each row rotate; the rest of the head (partial rotary) is not read or written.
//!
//! Layouts ([`Layout`]):
//! - **interleaved** (RoFormer, GPT-J, Meta's reference Llama): pairs `(x[2i], x[2i+1])`;
//! - **half-split** (GPT-NeoX, Hugging Face `rotate_half`): pairs `(x[i], x[i + D/2])`.
//!
//! Both compute `(a, b) ← (a·c − b·s, a·s + b·c)` with `c = cos[i]`, `s = sin[i]`, through
//! [`Simd::rotate_interleaved`] and [`Simd::rotate_half_split`]. The two layouts give the same result after
//! permuting the rotary part of each row (equivalently, the rows of the Q/K projection weights).
//!
//! [`Direction::Inverse`] rotates by `−θ` (for checks and for undoing a rotation): it negates the second member
//! of each pair, rotates forward and negates again. Negation is exact and rounding is symmetric, so this gives
//! the values of rotating with `−sin` exactly, at every SIMD level, without a copy of the table; only an exact
//! zero result may come out as `−0` where the `−sin` rotation gives `+0`.
//!
//! f16/bf16 rows are widened into the caller's f32 `scratch` (at least `D` elements, [`scratch_len`]), rotated,
//! and rounded back once (round to nearest even); f32 rows are rotated in place and need no scratch.
//!
//! ```
//! use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
//! use emkern::simd::Simd;
//!
//! // One head, two rows of head_dim 4, fully rotated (half = 2); table rows for positions 0 and 1.
//! let mut x = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
//! let cos = [1.0f32, 1.0, 0.0, 1.0];
//! let sin = [0.0f32, 0.0, 1.0, 0.0];
//! let tables = Tables { cos: &cos, sin: &sin, half: 2 };
//! apply::apply(
//!     Simd::best(),
//!     Layout::Interleaved,
//!     Direction::Forward,
//!     Rows::new(&mut x[..], 1, 2, 4),
//!     &tables,
//!     Positions::Consecutive(0),
//!     &mut [],
//! )?;
//! assert_eq!(x, [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]); // row 1, pair 0 turned by 90°
//! # Ok::<(), emkern::rope::RopeError>(())
//! ```

use emkern_simd::{Simd, bf16, f16};

use super::RopeError;

/// Which elements form the rotated pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layout {
    /// `(x[2i], x[2i+1])` (RoFormer, GPT-J, Meta Llama).
    Interleaved,
    /// `(x[i], x[i + D/2])` (GPT-NeoX, Hugging Face `rotate_half`).
    HalfSplit,
}

/// Rotate by `+θ` or by `−θ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// Apply the position encoding.
    Forward,
    /// Undo it (`sin` negated).
    Inverse,
}

/// Which table row each tensor row uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Positions<'a> {
    /// Row `r` uses table row `first + r`.
    Consecutive(usize),
    /// Row `r` uses table row `list[r]` (one entry per row).
    Listed(&'a [usize]),
}

/// A cos/sin table: row-major `[table_rows, half]` each, as [`table`](super::table) writes them.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tables<'a> {
    /// Cosines (already multiplied by the attention factor, if any).
    pub cos: &'a [f32],
    /// Sines (likewise).
    pub sin: &'a [f32],
    /// Entries per row, `D/2`.
    pub half: usize,
}

/// A mutable `[heads, rows, head_dim]` view: element `(h, r, j)` is `data[h·head_stride + r·row_stride + j]`.
#[derive(Debug)]
pub struct Rows<'a, T> {
    /// The elements.
    pub data: &'a mut [T],
    /// Number of heads.
    pub heads: usize,
    /// Rows (positions) per head.
    pub rows: usize,
    /// Elements per row that belong to the head.
    pub head_dim: usize,
    /// Distance between consecutive rows.
    pub row_stride: usize,
    /// Distance between consecutive heads. No two rows may share an element: heads nested around rows
    /// (`[heads, rows, head_dim]`, e.g. a KV cache: `row_stride ≥ head_dim`,
    /// `head_stride ≥ (rows − 1)·row_stride + head_dim`) or rows around heads (`[rows, heads, head_dim]`, a
    /// fresh projection: `head_stride ≥ head_dim`, `row_stride ≥ (heads − 1)·head_stride + head_dim`).
    pub head_stride: usize,
}

impl<'a, T> Rows<'a, T> {
    /// A densely packed `[heads, rows, head_dim]` view.
    pub fn new(data: &'a mut [T], heads: usize, rows: usize, head_dim: usize) -> Rows<'a, T> {
        Rows {
            data,
            heads,
            rows,
            head_dim,
            row_stride: head_dim,
            head_stride: rows.saturating_mul(head_dim),
        }
    }
}

/// Scratch f32 elements [`apply`] needs for f16/bf16 rows with rotary dimension `rotary_dim` (0 for f32).
pub const fn scratch_len(rotary_dim: usize) -> usize {
    rotary_dim
}

/// Storage types [`apply`] rotates: f32 in place, f16 and bf16 through f32 scratch.
pub trait Element: Copy + sealed::Sealed {
    /// Whether rows are widened into scratch.
    const WIDENED: bool;
    /// Rotates `row` (exactly `2·half` elements) in place; `scratch` has at least `row.len()` elements when
    /// [`Element::WIDENED`].
    fn rotate(
        simd: Simd,
        layout: Layout,
        direction: Direction,
        row: &mut [Self],
        cos: &[f32],
        sin: &[f32],
        scratch: &mut [f32],
    );
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for super::f16 {}
    impl Sealed for super::bf16 {}
}

/// Negates the second member of every pair of the rotary part.
fn negate_second(layout: Layout, x: &mut [f32]) {
    match layout {
        Layout::Interleaved => {
            for pair in x.chunks_exact_mut(2) {
                if let Some(b) = pair.get_mut(1) {
                    *b = -*b;
                }
            }
        }
        Layout::HalfSplit => {
            let h = x.len() / 2;
            if let Some(hi) = x.get_mut(h..) {
                for b in hi {
                    *b = -*b;
                }
            }
        }
    }
}

/// Rotates an f32 rotary slice in place.
fn rotate_f32(
    simd: Simd,
    layout: Layout,
    direction: Direction,
    x: &mut [f32],
    cos: &[f32],
    sin: &[f32],
) {
    if direction == Direction::Inverse {
        negate_second(layout, x);
    }
    match layout {
        Layout::Interleaved => simd.rotate_interleaved(x, cos, sin),
        Layout::HalfSplit => simd.rotate_half_split(x, cos, sin),
    }
    if direction == Direction::Inverse {
        negate_second(layout, x);
    }
}

impl Element for f32 {
    const WIDENED: bool = false;
    #[inline]
    fn rotate(
        simd: Simd,
        layout: Layout,
        direction: Direction,
        row: &mut [f32],
        cos: &[f32],
        sin: &[f32],
        _scratch: &mut [f32],
    ) {
        rotate_f32(simd, layout, direction, row, cos, sin);
    }
}

impl Element for f16 {
    const WIDENED: bool = true;
    #[inline]
    fn rotate(
        simd: Simd,
        layout: Layout,
        direction: Direction,
        row: &mut [f16],
        cos: &[f32],
        sin: &[f32],
        scratch: &mut [f32],
    ) {
        if let Some(wide) = scratch.get_mut(..row.len()) {
            simd.f16_to_f32(row, wide);
            rotate_f32(simd, layout, direction, wide, cos, sin);
            simd.f32_to_f16(wide, row);
        }
    }
}

impl Element for bf16 {
    const WIDENED: bool = true;
    #[inline]
    fn rotate(
        simd: Simd,
        layout: Layout,
        direction: Direction,
        row: &mut [bf16],
        cos: &[f32],
        sin: &[f32],
        scratch: &mut [f32],
    ) {
        if let Some(wide) = scratch.get_mut(..row.len()) {
            simd.bf16_to_f32(row, wide);
            rotate_f32(simd, layout, direction, wide, cos, sin);
            simd.f32_to_bf16(wide, row);
        }
    }
}

/// The table row of tensor row `r`.
#[inline]
fn table_row(positions: Positions<'_>, r: usize) -> Option<usize> {
    match positions {
        Positions::Consecutive(first) => first.checked_add(r),
        Positions::Listed(list) => list.get(r).copied(),
    }
}

/// Whether no two rows of `x` share an element: heads nested around rows (`[heads, rows, head_dim]`, e.g. a
/// KV cache) or rows around heads (`[rows, heads, head_dim]`, e.g. a fresh projection).
fn disjoint<T>(x: &Rows<'_, T>) -> bool {
    let (heads, rows, dim) = (x.heads, x.rows, x.head_dim);
    let (hs, rs) = (x.head_stride, x.row_stride);
    let span = |count: usize, stride: usize| {
        (count - 1)
            .checked_mul(stride)
            .and_then(|v| v.checked_add(dim))
    };
    match (heads > 1, rows > 1) {
        (false, false) => true,
        (false, true) => rs >= dim,
        (true, false) => hs >= dim,
        (true, true) => {
            let head_major = rs >= dim && span(rows, rs).is_some_and(|e| hs >= e);
            let token_major = hs >= dim && span(heads, hs).is_some_and(|e| rs >= e);
            head_major || token_major
        }
    }
}

/// Checks every argument of [`apply`]; returns the rotary dimension.
fn check<T>(
    x: &Rows<'_, T>,
    tables: &Tables<'_>,
    positions: Positions<'_>,
    scratch_len: usize,
    widened: bool,
) -> Result<usize, RopeError> {
    let half = tables.half;
    let rotary_dim = half.checked_mul(2).ok_or(RopeError::RotaryWiderThanHead {
        rotary_dim: usize::MAX,
        head_dim: x.head_dim,
    })?;
    if rotary_dim > x.head_dim {
        return Err(RopeError::RotaryWiderThanHead {
            rotary_dim,
            head_dim: x.head_dim,
        });
    }
    if let Positions::Listed(list) = positions
        && list.len() != x.rows
    {
        return Err(RopeError::PositionCount {
            expected: x.rows,
            got: list.len(),
        });
    }
    if x.heads == 0 || x.rows == 0 {
        return Ok(rotary_dim);
    }
    // The tensor: rows must not overlap (head-major or token-major nesting), and the last element must be
    // inside `data`.
    if !disjoint(x) {
        return Err(RopeError::Overlap {
            stride: if x.rows > 1 && x.row_stride < x.head_dim {
                "row_stride"
            } else {
                "head_stride"
            },
        });
    }
    let needed = (x.heads - 1)
        .checked_mul(x.head_stride)
        .and_then(|a| {
            (x.rows - 1)
                .checked_mul(x.row_stride)
                .and_then(|b| a.checked_add(b))
        })
        .and_then(|v| v.checked_add(x.head_dim))
        .unwrap_or(usize::MAX);
    if x.data.len() < needed {
        return Err(RopeError::TooShort {
            buffer: "x",
            needed,
            got: x.data.len(),
        });
    }
    // The table rows used.
    if half > 0 {
        let mut last = 0usize;
        for r in 0..x.rows {
            let t = table_row(positions, r).ok_or(RopeError::PositionOverflow)?;
            last = last.max(t);
        }
        let needed = last
            .checked_add(1)
            .and_then(|n| n.checked_mul(half))
            .unwrap_or(usize::MAX);
        for (buffer, got) in [("cos", tables.cos.len()), ("sin", tables.sin.len())] {
            if got < needed {
                return Err(RopeError::TooShort {
                    buffer,
                    needed,
                    got,
                });
            }
        }
    }
    if widened && scratch_len < rotary_dim {
        return Err(RopeError::TooShort {
            buffer: "scratch",
            needed: rotary_dim,
            got: scratch_len,
        });
    }
    Ok(rotary_dim)
}

/// Rotates the first `D = 2·tables.half` elements of every row of `x` by its position's table row, in `layout`
/// and `direction`. `scratch` (f32, at least `D` elements) is used only for f16/bf16 rows; pass `&mut []` for
/// f32. All arguments are checked before anything is written.
pub fn apply<T: Element>(
    simd: Simd,
    layout: Layout,
    direction: Direction,
    x: Rows<'_, T>,
    tables: &Tables<'_>,
    positions: Positions<'_>,
    scratch: &mut [f32],
) -> Result<(), RopeError> {
    let rotary_dim = check(&x, tables, positions, scratch.len(), T::WIDENED)?;
    let half = tables.half;
    if rotary_dim == 0 {
        return Ok(());
    }
    for h in 0..x.heads {
        for r in 0..x.rows {
            // Every index below was bounded in `check`; `get` keeps a logic error from panicking.
            let Some(t) = table_row(positions, r) else {
                continue;
            };
            let (Some(cos), Some(sin)) = (
                tables.cos.get(t * half..t * half + half),
                tables.sin.get(t * half..t * half + half),
            ) else {
                continue;
            };
            let start = h * x.head_stride + r * x.row_stride;
            if let Some(row) = x.data.get_mut(start..start + rotary_dim) {
                T::rotate(simd, layout, direction, row, cos, sin, scratch);
            }
        }
    }
    Ok(())
}
