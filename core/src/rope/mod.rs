//! Position encodings: rotary (RoPE) with every Hugging Face scaling, absolute sinusoidal, ALiBi slopes, and
//! RoPE for linear attention.
//!
//! The RoPE data path reads as a straight line:
//!
//! 1. [`freq`]: a [`RopeConfig`] (Hugging Face `rope_parameters`: `rope_theta`, `partial_rotary_factor`,
//!    `rope_type` and its parameters) → the inverse frequencies `ω_i` (f64) and the attention factor;
//! 2. [`table`]: `ω` and positions → cos/sin tables `[positions, D/2]` (angle kept exact), or [`incremental`]
//!    when there is no room for tables: cos/sin of consecutive positions by angle addition with periodic
//!    re-anchoring;
//! 3. [`apply`]: rotate Q/K rows in place (interleaved or half-split pairs, partial rotary, f32/f16/bf16
//!    storage) through the `emkern-simd` rotation primitives.
//!
//! [`hf_f32`] reproduces PyTorch's float32 arithmetic of the same steps, to compare against a Hugging Face model
//! (its angle loses precision at long positions; the tables above do not). [`sinusoidal`] is the absolute
//! encoding of the original Transformer, [`linear_attention`] RoFormer's rotary linear attention, and
//! [`alibi_slope`]/[`alibi_slopes`] expose the ALiBi slopes of [`attention::alibi`](crate::attention::alibi).
//!
//! Everything here is `no_std`, allocation-free and panic-free: buffers come from the caller, every index is
//! checked, and invalid arguments give a [`RopeError`] before anything is written.
//!
//! ```
//! use emkern::rope::{apply, freq, table, RopeConfig};
//! use emkern::rope::apply::{Direction, Layout, Positions, Rows, Tables};
//! use emkern::simd::Simd;
//!
//! // Two heads of dim 8, three positions 5, 6, 7; unscaled RoPE with base 10000, half-split layout.
//! let config = RopeConfig::new(10_000.0, 8);
//! let mut inv_freq = [0.0f64; 4];
//! let scale = freq::inv_freq(&config, None, &mut inv_freq)?;
//! let (mut cos, mut sin) = ([0.0f32; 3 * 4], [0.0f32; 3 * 4]);
//! table::fill_range(&inv_freq, 5, 3, scale, &mut cos, &mut sin)?;
//!
//! let mut x = [0.5f32; 2 * 3 * 8];
//! let tables = Tables { cos: &cos, sin: &sin, half: 4 };
//! let rows = Rows::new(&mut x[..], 2, 3, 8);
//! apply::apply(Simd::best(), Layout::HalfSplit, Direction::Forward, rows, &tables, Positions::Consecutive(0), &mut [])?;
//! // x[0] (head 0, position 5, pair 0): 0.5·cos 5 − 0.5·sin 5
//! assert!((x[0] - 0.5 * (libm::cos(5.0) - libm::sin(5.0)) as f32).abs() < 1e-6);
//! # Ok::<(), emkern::rope::RopeError>(())
//! ```

pub mod angle;
pub mod apply;
mod error;
pub mod freq;
pub mod hf_f32;
pub mod incremental;
pub mod linear_attention;
pub mod sinusoidal;
pub mod table;

pub use angle::Position;
pub use error::RopeError;
pub use freq::{Frequencies, Llama3, LongRope, RopeConfig, Scaling, Yarn};

/// The standard ALiBi slope of head `head` (0-based) out of `heads` (Press et al.); the same function the
/// attention kernel uses for [`Alibi::Standard`](crate::attention::Alibi::Standard).
pub use crate::attention::alibi::slope as alibi_slope;
/// Writes the standard ALiBi slopes of `out.len()` heads into `out`.
pub use crate::attention::alibi::slopes as alibi_slopes;
