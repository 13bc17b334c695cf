//! [`Params`]: what an attention call computes (scale, soft-cap, ALiBi, sinks, masks) and how it tiles the work.

use emkern_simd::Level;

use super::error::{AttentionError, Operand};
use super::mask::{Align, Mask};
use super::shape::check_len;

/// Tile sizes. Results do not depend on them beyond f32 rounding (the online softmax is exact in real
/// arithmetic); they trade scratch memory for fewer passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tiles {
    /// Keys per K/V tile (≥ 1): each tile's keys are widened once (f16/bf16 storage) and then scored against
    /// every query row of the block, for every query head of the group.
    pub kv: usize,
    /// Query rows per block (≥ 1), counting every query head of a group: a block holds
    /// [`Tiles::positions`]` = max(1, q / group)` query positions of each of the group's `group` heads, the K/V
    /// tiles are streamed once per block, and the block's running states (`group · positions · (d_v + 2)` f32)
    /// live in scratch.
    pub q: usize,
}

impl Tiles {
    /// Portable default (the scalar level's).
    pub const DEFAULT: Tiles = Tiles::for_level(Level::Scalar);

    /// Explicit tile sizes.
    pub const fn new(kv: usize, q: usize) -> Tiles {
        Tiles { kv, q }
    }

    /// Query positions per block for `group` query heads per key/value head: `max(1, q / group)` (and at least
    /// 1 for `q = 0` or `group = 0`).
    pub const fn positions(&self, group: usize) -> usize {
        let p = match self.q.checked_div(group) {
            Some(p) => p,
            None => self.q,
        };
        if p == 0 { 1 } else { p }
    }

    /// Default tile sizes for a SIMD level: the level's own preference
    /// ([`Level::attention_tiles`](emkern_simd::Level::attention_tiles), which says why), wide where vectors are
    /// wide and caches large, small on microcontrollers. Pass explicit sizes to tune for another core.
    pub const fn for_level(level: Level) -> Tiles {
        let (kv, q) = level.attention_tiles();
        Tiles { kv, q }
    }
}

impl Default for Tiles {
    fn default() -> Self {
        Tiles::DEFAULT
    }
}

/// ALiBi slopes.
#[derive(Clone, Copy, Debug)]
pub enum Alibi<'a> {
    /// The standard slopes for `heads_q` heads ([`alibi::slope`](super::alibi::slope)), computed in the kernel.
    Standard,
    /// One slope per query head (at least `heads_q` values).
    Slopes(&'a [f32]),
}

/// What a call computes. The score of query row `i` (head `h`) and key `j` is
///
/// `s = softcap(scale · q·k) + alibi(h, i, j) + additive_mask(h, i, j)`
///
/// with `softcap(x) = c·tanh(x / c)` when enabled; hidden keys (see [`Mask`]) are left out of the softmax. The
/// output is `Σ_j e^(s_j) v_j / (Σ_j e^(s_j) + e^(sink_h))`, the sink term present only when sinks are given.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    /// Multiplier of `q·k`; `None` means `1/√d_k` (1 when `d_k = 0`). Must be finite.
    pub scale: Option<f32>,
    /// Logit soft-capping `c` (finite, > 0): scores become `c·tanh(s/c)` after scaling, before biases and masks
    /// (Gemma 2 convention).
    pub softcap: Option<f32>,
    /// ALiBi biases, added after soft-capping (see [`alibi`](super::alibi) for the sign convention).
    pub alibi: Option<Alibi<'a>>,
    /// Attention sinks: one learned logit per query head (at least `heads_q` values). A sink joins the softmax
    /// denominator only (`ℓ += e^(sink − m)`), with no value row. A fully masked row then still outputs zeros,
    /// and its log-sum-exp is the sink.
    pub sinks: Option<&'a [f32]>,
    /// Query/key position alignment, used by the causal mask, the window and ALiBi.
    pub align: Align,
    /// Masks.
    pub mask: Mask<'a>,
    /// Tile sizes.
    pub tiles: Tiles,
}

impl Params<'_> {
    /// Plain softmax attention: default scale, no soft-cap, ALiBi, sinks or masks, bottom-right alignment,
    /// [`Tiles::DEFAULT`].
    pub const fn new() -> Self {
        Params {
            scale: None,
            softcap: None,
            alibi: None,
            sinks: None,
            align: Align::BottomRight,
            mask: Mask {
                causal: false,
                window: None,
                bits: None,
                additive: None,
                tree: None,
            },
            tiles: Tiles::DEFAULT,
        }
    }
}

impl Params<'_> {
    /// [`Params::new`] with the tiles `level` prefers ([`Tiles::for_level`]): what a caller running at that
    /// level (`Params::for_level(simd.level())`) wants unless it tunes the tiles itself. Size the scratch with
    /// these tiles.
    pub const fn for_level(level: Level) -> Self {
        let mut p = Params::new();
        p.tiles = Tiles::for_level(level);
        p
    }
}

impl Default for Params<'_> {
    fn default() -> Self {
        Params::new()
    }
}

/// The multiplier actually used for `d_k`.
pub(crate) fn effective_scale(scale: Option<f32>, d_k: usize) -> Result<f32, AttentionError> {
    match scale {
        Some(s) if s.is_finite() => Ok(s),
        Some(_) => Err(AttentionError::BadParam("scale must be finite")),
        None if d_k == 0 => Ok(1.0),
        None => Ok(1.0 / libm::sqrtf(d_k as f32)),
    }
}

/// Checks the parameters that do not depend on the views (masks are checked by [`super::mask::check`]).
pub(crate) fn check(params: &Params<'_>, heads_q: usize) -> Result<(), AttentionError> {
    if let Some(c) = params.softcap
        && !(c.is_finite() && c > 0.0)
    {
        return Err(AttentionError::BadParam(
            "soft-cap must be finite and positive",
        ));
    }
    if let Some(Alibi::Slopes(s)) = params.alibi {
        check_len(Operand::AlibiSlopes, Some(heads_q), s.len())?;
    }
    if let Some(s) = params.sinks {
        check_len(Operand::Sinks, Some(heads_q), s.len())?;
    }
    if params.tiles.kv == 0 || params.tiles.q == 0 {
        return Err(AttentionError::BadParam("tile sizes must be at least 1"));
    }
    Ok(())
}
