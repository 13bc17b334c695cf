//! Absolute sinusoidal position encodings (Vaswani et al., "Attention Is All You Need", 2017).
//!
//! For model dimension `d` (even) and `i = 0..d/2`: `PE[p, 2i] = sin(p·ω_i)`, `PE[p, 2i+1] = cos(p·ω_i)` with
//! `ω_i = 1/base^(2i/d)` and `base = 10000`. Two layouts ([`SinusoidalLayout`]): the paper's interleaved
//! `sin, cos, sin, cos, …`, and the concatenated `[sin_0 … sin_{d/2−1} | cos_0 … cos_{d/2−1}]` of tensor2tensor
//! and fairseq. The angle is formed exactly as in [`table`](super::table), so every entry is the f32 rounding of
//! the sine or cosine of the exact product (`≤ 10⁻⁷` absolute at any position below 2⁵³).
//!
//! ```
//! use emkern::rope::sinusoidal::{self, SinusoidalLayout, DEFAULT_BASE};
//!
//! let mut pe = [0.0f32; 2 * 4];
//! sinusoidal::fill_range(4, DEFAULT_BASE, 0, 2, SinusoidalLayout::Interleaved, &mut pe)?;
//! assert_eq!(&pe[..4], &[0.0, 1.0, 0.0, 1.0]); // position 0
//! assert_eq!(pe[4], libm::sin(1.0) as f32); // position 1, ω_0 = 1
//! assert_eq!(pe[7], libm::cos(0.01) as f32); // ω_1 = 10000^(−2/4)
//! # Ok::<(), emkern::rope::RopeError>(())
//! ```

use super::RopeError;
use super::angle::{self, Position};

/// The base of the original paper.
pub const DEFAULT_BASE: f64 = 10_000.0;

/// Where the sine and cosine of each frequency go in a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SinusoidalLayout {
    /// `[sin ω_0, cos ω_0, sin ω_1, cos ω_1, …]` (the paper).
    Interleaved,
    /// `[sin ω_0, …, sin ω_{d/2−1}, cos ω_0, …, cos ω_{d/2−1}]` (tensor2tensor, fairseq).
    Concatenated,
}

/// Checks `dim`, `base` and the output size; returns `d/2`.
fn check(dim: usize, base: f64, rows: usize, out_len: usize) -> Result<usize, RopeError> {
    if !dim.is_multiple_of(2) {
        return Err(RopeError::OddRotaryDim { dim });
    }
    if !(base.is_finite() && base > 0.0) {
        return Err(RopeError::InvalidParameter { name: "base" });
    }
    let needed = dim.saturating_mul(rows);
    if out_len < needed {
        return Err(RopeError::TooShort {
            buffer: "out",
            needed,
            got: out_len,
        });
    }
    Ok(dim / 2)
}

/// Fills `out` (`[rows, dim]`) with column pair `i` for every row, positions from `position(r)`.
fn fill(
    dim: usize,
    base: f64,
    rows: usize,
    layout: SinusoidalLayout,
    out: &mut [f32],
    position: impl Fn(usize) -> u64,
) {
    let half = dim / 2;
    if half == 0 {
        return;
    }
    for i in 0..half {
        let w = 1.0 / libm::pow(base, (2 * i) as f64 / dim as f64);
        let (si, ci) = match layout {
            SinusoidalLayout::Interleaved => (2 * i, 2 * i + 1),
            SinusoidalLayout::Concatenated => (i, half + i),
        };
        for (r, row) in out.chunks_exact_mut(dim).take(rows).enumerate() {
            let (s, c) = angle::sin_cos(position(r), w);
            if let Some(v) = row.get_mut(si) {
                *v = s as f32;
            }
            if let Some(v) = row.get_mut(ci) {
                *v = c as f32;
            }
        }
    }
}

/// Encodings of positions `first .. first + count` into `out[..count·dim]` (row-major `[count, dim]`).
pub fn fill_range(
    dim: usize,
    base: f64,
    first: u64,
    count: usize,
    layout: SinusoidalLayout,
    out: &mut [f32],
) -> Result<(), RopeError> {
    check(dim, base, count, out.len())?;
    if count > 0 {
        first
            .checked_add(count as u64 - 1)
            .ok_or(RopeError::PositionOverflow)?;
    }
    fill(dim, base, count, layout, out, |r| first + r as u64);
    Ok(())
}

/// Encodings of a list of positions: row `r` of `out` (`[positions.len(), dim]`) is for `positions[r]`.
pub fn fill_positions<P: Position>(
    dim: usize,
    base: f64,
    positions: &[P],
    layout: SinusoidalLayout,
    out: &mut [f32],
) -> Result<(), RopeError> {
    check(dim, base, positions.len(), out.len())?;
    fill(dim, base, positions.len(), layout, out, |r| {
        positions.get(r).map_or(0, |p| p.to_u64())
    });
    Ok(())
}
