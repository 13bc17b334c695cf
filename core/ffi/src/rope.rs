//! RoPE through the C API: exact cos/sin tables (`emk_rope_tables`) and the in-place rotation of query or key
//! rows (`emk_rope_apply`), for unscaled RoPE and linear position interpolation (the scalings with one
//! parameter; the others are in the Rust API, `emkern::rope`).

use core::ffi::c_int;

use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::rope::{Frequencies, RopeConfig, RopeError, Scaling, angle};
use emkern::simd::Simd;

use crate::{EmkStatus, output, status};

/// The core's error as a status (the tables are the only buffers the core can find short here: `x`'s length is
/// the one its shape implies).
fn from_rope_error(e: RopeError) -> EmkStatus {
    match e {
        RopeError::TooShort { .. } => EmkStatus::EMK_INPUT_TOO_SHORT,
        RopeError::PositionCount { .. } | RopeError::PositionOverflow => EmkStatus::EMK_BAD_INPUT,
        RopeError::RotaryWiderThanHead { .. } | RopeError::Overlap { .. } => {
            EmkStatus::EMK_BAD_SHAPE
        }
        _ => EmkStatus::EMK_BAD_PARAM,
    }
}

/// Writes the cos and sin tables of positions `first .. first + count` into `cos` and `sin`, each
/// `[count, D/2]` floats row-major (`D = floor(head_dim · partial_rotary_factor)`, the rotary dimension, even),
/// for RoPE with base `theta` (`rope_theta`) and linear position interpolation by `linear_factor` (1: none).
/// `table_len` is the room in each of `cos` and `sin`, at least `count · D/2` (`EMK_OUTPUT_TOO_SHORT`
/// otherwise). The angles are exact (the product `position · ω` carried in double-double), so long positions
/// keep full precision; values are those of `emkern::rope::table::fill_range`.
///
/// Errors: `EMK_BAD_PARAM` for `theta` or `linear_factor` not finite and > 0, a factor outside `(0, 1]` or an
/// odd or too small rotary dimension; `EMK_BAD_INPUT` when `first + count − 1` overflows.
///
/// # Safety
/// `cos` and `sin` are NULL or point to `table_len` writable floats each, not overlapping.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_rope_tables(
    theta: f64,
    head_dim: usize,
    partial_rotary_factor: f64,
    linear_factor: f64,
    first: u64,
    count: usize,
    cos: *mut f32,
    sin: *mut f32,
    table_len: usize,
) -> EmkStatus {
    status((|| {
        let mut config = RopeConfig::new(theta, head_dim);
        config.partial_rotary_factor = partial_rotary_factor;
        if linear_factor != 1.0 {
            config.scaling = Scaling::Linear {
                factor: linear_factor,
            };
        }
        let f = Frequencies::new(&config, None).map_err(from_rope_error)?;
        let half = f.half();
        let needed = count
            .checked_mul(half)
            .ok_or(EmkStatus::EMK_OUTPUT_TOO_SHORT)?;
        if table_len < needed {
            return Err(EmkStatus::EMK_OUTPUT_TOO_SHORT);
        }
        if count > 0 && first.checked_add(count as u64 - 1).is_none() {
            return Err(EmkStatus::EMK_BAD_INPUT);
        }
        if needed == 0 {
            return Ok(());
        }
        let long = EmkStatus::EMK_OUTPUT_TOO_SHORT;
        // SAFETY: the caller guarantees `table_len ≥ needed` writable floats behind each non-null pointer, and
        // that the two do not overlap; `output` checks null and alignment.
        let cos = unsafe { output(cos, needed, long) }?;
        // SAFETY: as above.
        let sin = unsafe { output(sin, needed, long) }?;
        let scale = f.attention_factor();
        for i in 0..half {
            let w = f.get(i).ok_or(EmkStatus::EMK_BAD_PARAM)?;
            for r in 0..count {
                let (s, c) = angle::sin_cos(first + r as u64, w);
                let at = r * half + i;
                if let (Some(co), Some(si)) = (cos.get_mut(at), sin.get_mut(at)) {
                    *co = (c * scale) as f32;
                    *si = (s * scale) as f32;
                }
            }
        }
        Ok(())
    })())
}

/// Rotates the first `2·half` elements of every row of `x` in place by RoPE: `x` is `[heads, rows, head_dim]`
/// floats, contiguous, and row `r` of every head uses table row `first_row + r` of `cos`/`sin` (`[table_rows,
/// half]` floats each, as `emk_rope_tables` writes them). `half_split` non-zero pairs `x[i]` with
/// `x[i + half]` (GPT-NeoX, Hugging Face `rotate_half`), zero pairs `x[2i]` with `x[2i+1]` (GPT-J, Meta
/// Llama); `inverse` non-zero undoes the rotation.
///
/// Errors, before anything is written: `EMK_BAD_SHAPE` when `2·half > head_dim` or a size overflows,
/// `EMK_INPUT_TOO_SHORT` when the tables have fewer than `first_row + rows` rows, `EMK_NULL_POINTER`,
/// `EMK_MISALIGNED`.
///
/// # Safety
/// `x` is NULL or points to `heads·rows·head_dim` writable floats; `cos` and `sin` are NULL or point to
/// `table_rows·half` readable floats each; `x` overlaps neither.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_rope_apply(
    x: *mut f32,
    heads: usize,
    rows: usize,
    head_dim: usize,
    cos: *const f32,
    sin: *const f32,
    half: usize,
    table_rows: usize,
    first_row: usize,
    half_split: c_int,
    inverse: c_int,
) -> EmkStatus {
    status((|| {
        let shape = EmkStatus::EMK_BAD_SHAPE;
        let n = heads
            .checked_mul(rows)
            .and_then(|v| v.checked_mul(head_dim))
            .ok_or(shape)?;
        let t = table_rows.checked_mul(half).ok_or(shape)?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: the caller guarantees `n` writable floats behind a non-null `x`, overlapping no table; the
        // helper checks null and alignment.
        let x = unsafe { output(x, n, shape) }?;
        // SAFETY: the caller guarantees `t` readable floats behind each non-null table pointer.
        let cos = unsafe { crate::input(cos, t, shape) }?;
        // SAFETY: as above.
        let sin = unsafe { crate::input(sin, t, shape) }?;
        let layout = if half_split != 0 {
            Layout::HalfSplit
        } else {
            Layout::Interleaved
        };
        let direction = if inverse != 0 {
            Direction::Inverse
        } else {
            Direction::Forward
        };
        let tables = Tables { cos, sin, half };
        apply::apply(
            Simd::best(),
            layout,
            direction,
            Rows::new(x, heads, rows, head_dim),
            &tables,
            Positions::Consecutive(first_row),
            &mut [],
        )
        .map_err(from_rope_error)
    })())
}
