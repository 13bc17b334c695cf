//! Hugging Face's RoPE in PyTorch float32, step by step: the inverse frequencies as `modeling_rope_utils.py`
//! computes them on f32 tensors, and the cos/sin tables of the rotary-embedding modules' `forward`.
//!
//! This is the reference to compare a PyTorch model against, not the accurate encoding: forming the angle
//! `θ = p·ω` in f32 loses the position's low bits: with base 10000 and `D = 128` the tests measure `3.4·10⁻³`
//! absolute at `p = 131072` and `2.3·10⁻²` at `p = 2²⁰` (powers of two, where only `ω`'s rounding shows), and up
//! to `7.6·10⁻³` and `6·10⁻²` at the positions around them. [`table`](super::table) keeps the angle exact.
//!
//! # What is reproduced
//! Every f32 rounding of the Python code, in its order of operations, with PyTorch's type promotion: a Python
//! number meeting an f32 tensor is rounded to f32 and the operation is done in f32 (comparisons too); Python
//! number arithmetic (`2 * math.pi`, `factor - 1`, `dim / (dim - 2)`, YaRN's correction range) is f64.
//! - exponents `torch.arange(0, D, 2, dtype=int64).float() / D`: `(2i as f32) / (D as f32)`;
//! - `base ** exponent`: `base` rounded to f32, the power in f32;
//! - `1.0 / x`, `inv_freq / factor`, YaRN's `1 / (factor·pos)`, ramp and blend, LongRoPE's `1 / (ext·pos)` with
//!   `ext` rounded to f32, Llama 3's wavelengths, comparisons, smoothing: f32 operations, no fused multiply-add;
//! - dynamic NTK with a sequence length (PyTorch passes `max(position_ids) + 1` as an int64 tensor):
//!   `base · ((factor·L / max_pos) − (factor − 1))^(D/(D−2))` in f32 tensor arithmetic; without one (model
//!   initialisation) the new base is the f64 Python value, rounded to f32 for the power; static NTK likewise;
//! - the table: `freqs = inv_freq · position` (one f32 product: `position_ids.float()` rounds positions above
//!   2²⁴ to f32, and the `[D/2, 1] @ [1, S]` matrix product is a single rounded product), `cos(freqs)`,
//!   `sin(freqs)`, times the attention factor rounded to f32.
//!
//! The library functions are evaluated correctly rounded: `pow(a, b)` as the f64 power of the f32 operands
//! rounded to f32, `cos`/`sin` as `libm` on the widened f32 angle rounded to f32. PyTorch's CPU kernels (SLEEF,
//! vectorized, ≤ 1 ulp) and CUDA's fast paths are not always correctly rounded, so an individual value can
//! differ from a given PyTorch build by an ulp; everything else matches bit for bit.

use super::RopeError;
use super::angle::Position;
use super::freq::{Frequencies, RopeConfig, Rule};
use super::table::{fill_positions_with, fill_range_with};

/// `a^b` in f32, correctly rounded (see the module documentation).
#[inline]
fn pow32(a: f32, b: f32) -> f32 {
    libm::pow(f64::from(a), f64::from(b)) as f32
}

/// `base^((2i)/D)` with PyTorch's f32 exponent and power.
#[inline]
fn pos_freq(base: f32, i: usize, dim: usize) -> f32 {
    pow32(base, (2 * i) as f32 / dim as f32)
}

/// `ω_i` of a validated configuration in PyTorch f32 arithmetic (`i < D/2`).
fn omega(f: &Frequencies<'_>, i: usize) -> f32 {
    let dim = f.rotary_dim();
    match f.rule {
        Rule::Plain { base, divisor } => {
            let w = 1.0 / pos_freq(base as f32, i, dim);
            if divisor == 1.0 {
                w
            } else {
                w / divisor as f32
            }
        }
        Rule::Dynamic {
            base,
            unscaled,
            factor,
            max_pos,
            length,
        } => {
            let base32 = match length {
                // Tensor arithmetic: seq_len is an int64 tensor, the Python floats meet it as f32.
                Some(l) => {
                    let t = factor as f32 * l as f32;
                    let t = t / max_pos as f32;
                    let t = t - (factor - 1.0) as f32;
                    if t > 0.0 {
                        let e = dim as f64 / (dim - 2) as f64;
                        unscaled as f32 * pow32(t, e as f32)
                    } else {
                        unscaled as f32
                    }
                }
                None => base as f32,
            };
            1.0 / pos_freq(base32, i, dim)
        }
        Rule::Yarn {
            base,
            factor,
            low,
            high,
        } => {
            let pos = pos_freq(base as f32, i, dim);
            let extrapolation = 1.0 / pos;
            let interpolation = 1.0 / (factor as f32 * pos);
            let ramp = ((i as f32 - low as f32) / (high - low) as f32).clamp(0.0, 1.0);
            let weight = 1.0 - ramp;
            interpolation * (1.0 - weight) + extrapolation * weight
        }
        Rule::LongRope { base, ext } => {
            let e = ext.get(i).copied().unwrap_or(1.0) as f32;
            1.0 / (e * pos_freq(base as f32, i, dim))
        }
        Rule::Llama3 {
            base,
            factor,
            low_freq_factor,
            high_freq_factor,
            original,
        } => {
            let w = 1.0 / pos_freq(base as f32, i, dim);
            let orig = original as f64;
            let low_wavelen = (orig / low_freq_factor) as f32;
            let high_wavelen = (orig / high_freq_factor) as f32;
            let factor = factor as f32;
            let wavelen = (2.0 * core::f64::consts::PI) as f32 / w;
            let scaled = if wavelen > low_wavelen { w / factor } else { w };
            let smooth = (original as f32 / wavelen - low_freq_factor as f32)
                / (high_freq_factor - low_freq_factor) as f32;
            let smoothed = (1.0 - smooth) * scaled / factor + smooth * scaled;
            let medium = wavelen >= high_wavelen && wavelen <= low_wavelen;
            if medium { smoothed } else { scaled }
        }
    }
}

/// Hugging Face's f32 inverse frequencies of `config` at `seq_len` into `out[..D/2]`; returns the attention
/// factor (f64, a Python float there). Validation and `seq_len` as in [`Frequencies::new`].
pub fn inv_freq(
    config: &RopeConfig<'_>,
    seq_len: Option<u64>,
    out: &mut [f32],
) -> Result<f64, RopeError> {
    let f = Frequencies::new(config, seq_len)?;
    let half = f.half();
    let got = out.len();
    let out = out.get_mut(..half).ok_or(RopeError::TooShort {
        buffer: "inv_freq",
        needed: half,
        got,
    })?;
    for (i, o) in out.iter_mut().enumerate() {
        *o = omega(&f, i);
    }
    Ok(f.attention_factor())
}

/// One row of the f32 table.
#[inline]
fn row(inv_freq: &[f32], p: u64, scale: f32, cos: &mut [f32], sin: &mut [f32]) {
    let p = p as f32;
    for ((&w, c), s) in inv_freq.iter().zip(cos.iter_mut()).zip(sin.iter_mut()) {
        let theta = f64::from(p * w);
        let (sv, cv) = libm::sincos(theta);
        *c = cv as f32 * scale;
        *s = sv as f32 * scale;
    }
}

/// PyTorch's f32 cos/sin tables for positions `first .. first + count`: row `r` of `cos` and `sin`
/// (`[count, inv_freq.len()]`, row-major) is `cos(fl32(fl32(first + r)·ω_i))·fl32(attention_factor)`.
/// Hugging Face concatenates each row with itself for the half-split layout (`[cos | cos]`); this writes one
/// half.
pub fn fill_range(
    inv_freq: &[f32],
    first: u64,
    count: usize,
    attention_factor: f64,
    cos: &mut [f32],
    sin: &mut [f32],
) -> Result<(), RopeError> {
    let scale = attention_factor as f32;
    fill_range_with(inv_freq.len(), first, count, cos, sin, |p, c, s| {
        row(inv_freq, p, scale, c, s)
    })
}

/// [`fill_range`] for a list of positions: row `r` is for `positions[r]`.
pub fn fill_positions<P: Position>(
    inv_freq: &[f32],
    positions: &[P],
    attention_factor: f64,
    cos: &mut [f32],
    sin: &mut [f32],
) -> Result<(), RopeError> {
    let scale = attention_factor as f32;
    fill_positions_with(inv_freq.len(), positions, cos, sin, |p, c, s| {
        row(inv_freq, p, scale, c, s)
    })
}
