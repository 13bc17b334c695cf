//! cos/sin tables for a range or a list of positions, with the angle formed exactly.
//!
//! A table is two row-major `[positions, D/2]` f32 arrays: row `r`, column `i` holds
//! `cos(p_r·ω_i)·scale` and `sin(p_r·ω_i)·scale`, where `ω` comes from [`freq`](super::freq) and `scale` is
//! usually the attention factor (1 for no scaling). [`apply`](super::apply) reads these rows.
//!
//! # Accuracy
//! The angle is computed as in [`angle`]: the product `p·ω` is kept exact in f64 and reduced
//! exactly by `libm`, so each entry is the correctly rounded f32 of `cos(p·ω)·scale` up to a few f64 ulps, for
//! every position below 2⁵³ (the tests check `≤ 10⁻⁷` absolute, measuring about `3·10⁻⁸` — the f32 rounding —
//! at positions up to 2²⁰ and beyond). Hugging Face's f32 tables are in [`hf_f32`](super::hf_f32).
//!
//! ```
//! use emkern::rope::{freq::{self, RopeConfig}, table};
//!
//! let config = RopeConfig::new(10_000.0, 8);
//! let mut inv_freq = [0.0f64; 4];
//! let scale = freq::inv_freq(&config, None, &mut inv_freq)?;
//! let (mut cos, mut sin) = ([0.0f32; 3 * 4], [0.0f32; 3 * 4]);
//! table::fill_positions(&inv_freq, &[0u32, 1_000_000, 7], scale, &mut cos, &mut sin)?;
//! assert_eq!((cos[0], sin[0]), (1.0, 0.0));
//! assert!((cos[4] - libm::cos(1.0e6) as f32).abs() < 1e-7); // ω_0 = 1
//! # Ok::<(), emkern::rope::RopeError>(())
//! ```

use super::RopeError;
use super::angle::{self, Position};

/// Checks that `cos` and `sin` hold `count` rows of `half` entries.
pub(crate) fn check_table(
    half: usize,
    count: usize,
    cos_len: usize,
    sin_len: usize,
) -> Result<(), RopeError> {
    let needed = half.saturating_mul(count);
    for (buffer, got) in [("cos", cos_len), ("sin", sin_len)] {
        if got < needed {
            return Err(RopeError::TooShort {
                buffer,
                needed,
                got,
            });
        }
    }
    Ok(())
}

/// One row: `cos(p·ω_i)·scale`, `sin(p·ω_i)·scale`.
#[inline]
fn row(inv_freq: &[f64], p: u64, scale: f64, cos: &mut [f32], sin: &mut [f32]) {
    for ((&w, c), s) in inv_freq.iter().zip(cos.iter_mut()).zip(sin.iter_mut()) {
        let (sv, cv) = angle::sin_cos(p, w);
        *c = (cv * scale) as f32;
        *s = (sv * scale) as f32;
    }
}

/// Tables for positions `first .. first + count` into `cos[..count·D/2]` and `sin[..count·D/2]`
/// (`D/2 = inv_freq.len()`), each entry multiplied by `scale` in f64 before rounding to f32.
pub fn fill_range(
    inv_freq: &[f64],
    first: u64,
    count: usize,
    scale: f64,
    cos: &mut [f32],
    sin: &mut [f32],
) -> Result<(), RopeError> {
    fill_range_with(inv_freq.len(), first, count, cos, sin, |p, c, s| {
        row(inv_freq, p, scale, c, s)
    })
}

/// Tables for a list of positions (any order, repeats allowed): row `r` is for `positions[r]`.
pub fn fill_positions<P: Position>(
    inv_freq: &[f64],
    positions: &[P],
    scale: f64,
    cos: &mut [f32],
    sin: &mut [f32],
) -> Result<(), RopeError> {
    fill_positions_with(inv_freq.len(), positions, cos, sin, |p, c, s| {
        row(inv_freq, p, scale, c, s)
    })
}

/// Checks `cos`/`sin` for `count` rows of `half` entries and that `first + count − 1` fits in u64, then calls
/// `row(position, cos_row, sin_row)` for positions `first .. first + count` (shared by the exact and the
/// PyTorch-f32 tables).
pub(crate) fn fill_range_with(
    half: usize,
    first: u64,
    count: usize,
    cos: &mut [f32],
    sin: &mut [f32],
    mut row: impl FnMut(u64, &mut [f32], &mut [f32]),
) -> Result<(), RopeError> {
    check_table(half, count, cos.len(), sin.len())?;
    if count > 0 {
        first
            .checked_add(count as u64 - 1)
            .ok_or(RopeError::PositionOverflow)?;
    }
    if half == 0 {
        return Ok(());
    }
    for (r, (c, s)) in cos
        .chunks_exact_mut(half)
        .zip(sin.chunks_exact_mut(half))
        .take(count)
        .enumerate()
    {
        row(first + r as u64, c, s);
    }
    Ok(())
}

/// [`fill_range_with`] for a list of positions: row `r` is for `positions[r]`.
pub(crate) fn fill_positions_with<P: Position>(
    half: usize,
    positions: &[P],
    cos: &mut [f32],
    sin: &mut [f32],
    mut row: impl FnMut(u64, &mut [f32], &mut [f32]),
) -> Result<(), RopeError> {
    check_table(half, positions.len(), cos.len(), sin.len())?;
    if half == 0 {
        return Ok(());
    }
    for ((&p, c), s) in positions
        .iter()
        .zip(cos.chunks_exact_mut(half))
        .zip(sin.chunks_exact_mut(half))
    {
        row(p.to_u64(), c, s);
    }
    Ok(())
}

/// One f64 row (for oracles and for callers that rotate in f64): `cos[i] = cos(p·ω_i)·scale`, likewise `sin`,
/// over `min(inv_freq.len(), cos.len(), sin.len())` entries.
pub fn row_f64(inv_freq: &[f64], position: u64, scale: f64, cos: &mut [f64], sin: &mut [f64]) {
    for ((&w, c), s) in inv_freq.iter().zip(cos.iter_mut()).zip(sin.iter_mut()) {
        let (sv, cv) = angle::sin_cos(position, w);
        *c = cv * scale;
        *s = sv * scale;
    }
}
