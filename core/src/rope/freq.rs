//! Inverse frequencies `ω_i` and the attention factor for every RoPE scaling of Hugging Face's
//! `modeling_rope_utils.py`, computed in f64.
//!
//! The rotary dimension is `D = ⌊head_dim · partial_rotary_factor⌋` (even); dimensions past `D` pass through
//! unrotated. The unscaled frequencies are `ω_i = base^(−2i/D)` for `i = 0..D/2`, evaluated like Hugging Face
//! as `1 / base^((2i)/D)`. Each [`Scaling`] then changes the base or the frequencies:
//!
//! | scaling | rule |
//! | --- | --- |
//! | [`Scaling::Default`] | `ω_i = 1 / base^(2i/D)` |
//! | [`Scaling::Linear`] | `ω_i / factor` (position interpolation) |
//! | [`Scaling::NtkStatic`] | `base' = base · factor^(D/(D−2))` |
//! | [`Scaling::Dynamic`] | `L = max(seq_len, max_pos)`, `base' = base · ((factor·L/max_pos) − (factor − 1))^(D/(D−2))` |
//! | [`Scaling::Yarn`] | ramp between `ω_i/factor` and `ω_i` over the correction range; attention factor |
//! | [`Scaling::LongRope`] | `ω_i = 1 / (ext_i · base^(2i/D))`, `ext` = long factors when `seq_len > original` |
//! | [`Scaling::Llama3`] | keep high frequencies, divide low ones by `factor`, interpolate in between |
//!
//! Every arithmetic step follows the order of operations of the Hugging Face code, in f64 instead of PyTorch's
//! f32 (the f32 reproduction is [`hf_f32`](super::hf_f32)); the attention factor is computed in f64 as there
//! (Python floats). The parameters carry Hugging Face's `rope_parameters` (formerly `rope_scaling`) names.
//!
//! ```
//! use emkern::rope::freq::{self, Llama3, RopeConfig, Scaling};
//!
//! // Llama 3.1: head_dim 128, base 500000, factor 8 over an original 8192 positions.
//! let mut config = RopeConfig::new(500_000.0, 128);
//! config.scaling = Scaling::Llama3(Llama3 {
//!     factor: 8.0,
//!     low_freq_factor: 1.0,
//!     high_freq_factor: 4.0,
//!     original_max_position_embeddings: 8192,
//! });
//! let mut inv_freq = [0.0f64; 64];
//! let attention_factor = freq::inv_freq(&config, None, &mut inv_freq)?;
//! assert_eq!(attention_factor, 1.0);
//! assert_eq!(inv_freq[0], 1.0); // the highest frequency is kept
//! assert!((inv_freq[63] - libm::pow(500_000.0, -126.0 / 128.0) / 8.0).abs() < 1e-18); // the lowest divided
//! # Ok::<(), emkern::rope::RopeError>(())
//! ```

use super::RopeError;

/// `2·π` as Python's `2 * math.pi` (one f64).
const TWO_PI: f64 = 2.0 * core::f64::consts::PI;

/// Position scaling of the frequencies (Hugging Face `rope_type` and its parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scaling<'a> {
    /// `rope_type = "default"`: `ω_i = base^(−2i/D)`.
    Default,
    /// `rope_type = "linear"` (position interpolation): every `ω_i` divided by `factor`.
    Linear {
        /// The interpolation factor (> 0).
        factor: f64,
    },
    /// Static NTK-aware scaling: `base' = base · factor^(D/(D−2))`. Not a Hugging Face `rope_type` (its
    /// `"dynamic"` is [`Scaling::Dynamic`]); the base change that dynamic NTK applies at `seq_len = factor·max_pos`,
    /// fixed once.
    NtkStatic {
        /// The context extension factor (> 0).
        factor: f64,
    },
    /// `rope_type = "dynamic"` (dynamic NTK): the base grows with the sequence length.
    ///
    /// With `L = max(seq_len, max_position_embeddings)` (`seq_len = None` means `max_position_embeddings`, as at
    /// model initialisation), `base' = base · ((factor·L/max_pos) − (factor − 1))^(D/(D−2))`; at or below
    /// `max_pos` this is the unscaled base. Guard: if the inner term is not positive (impossible for a positive
    /// factor, since `L ≥ max_pos`, but reachable through rounding in degenerate inputs) the unscaled base is
    /// used instead of a NaN. Needs [`RopeConfig::max_position_embeddings`] and `D ≥ 4`.
    ///
    /// Hugging Face recomputes the frequencies in the forward pass only when `max(position_ids) + 1` exceeds the
    /// largest length seen so far (and resets below the original length); this function is stateless, so pass
    /// the length whose frequencies you want.
    Dynamic {
        /// The context extension factor (> 0).
        factor: f64,
    },
    /// `rope_type = "yarn"` (Peng et al., 2023). See [`Yarn`].
    Yarn(Yarn),
    /// `rope_type = "longrope"` (Phi-3). See [`LongRope`].
    LongRope(LongRope<'a>),
    /// `rope_type = "llama3"` (Llama 3.1). See [`Llama3`].
    Llama3(Llama3),
}

/// YaRN parameters (`rope_type = "yarn"`).
///
/// With `corr_dim(r) = D·ln(orig/(r·2π)) / (2·ln base)`, `low = max(⌊corr_dim(beta_fast)⌋, 0)` and
/// `high = min(⌈corr_dim(beta_slow)⌉, D − 1)` (no floor/ceil when `truncate` is false); if `low == high`,
/// `high += 0.001`. `ramp_i = clamp((i − low)/(high − low), 0, 1)`, the extrapolation weight is `e_i = 1 − ramp_i`
/// and `ω'_i = ω_i^interp·(1 − e_i) + ω_i·e_i` with `ω_i^interp = 1/(factor·base^(2i/D))`.
///
/// Attention factor: `attention_factor` if given; else, when `mscale` and `mscale_all_dim` are both given and
/// non-zero (Python truthiness), `m(factor, mscale)/m(factor, mscale_all_dim)`; else `m(factor, 1) =
/// 0.1·ln(factor) + 1`, where `m(s, k) = 1` for `s ≤ 1` and `0.1·k·ln(s) + 1` otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Yarn {
    /// The scaling factor; `None` takes `max_position_embeddings / original_max_position_embeddings`.
    pub factor: Option<f64>,
    /// The context length the model was pre-trained with (the correction range uses it).
    pub original_max_position_embeddings: u64,
    /// Rotations at the high end of the ramp (default 32; > 0 — Hugging Face reads a 0 or `null` as the
    /// default, which is the caller's mapping to make).
    pub beta_fast: f64,
    /// Rotations at the low end of the ramp (default 1; > 0, likewise).
    pub beta_slow: f64,
    /// DeepSeek's `mscale` (numerator of the attention factor).
    pub mscale: Option<f64>,
    /// DeepSeek's `mscale_all_dim` (denominator of the attention factor).
    pub mscale_all_dim: Option<f64>,
    /// An explicit attention factor (multiplies cos and sin).
    pub attention_factor: Option<f64>,
    /// Round the correction range outwards to whole dimensions (default true).
    pub truncate: bool,
}

impl Yarn {
    /// YaRN with the given factor and original length and Hugging Face's defaults for everything else
    /// (`beta_fast = 32`, `beta_slow = 1`, no mscale, derived attention factor, `truncate = true`).
    pub const fn new(factor: f64, original_max_position_embeddings: u64) -> Yarn {
        Yarn {
            factor: Some(factor),
            original_max_position_embeddings,
            beta_fast: 32.0,
            beta_slow: 1.0,
            mscale: None,
            mscale_all_dim: None,
            attention_factor: None,
            truncate: true,
        }
    }
}

/// LongRoPE parameters (`rope_type = "longrope"`, Phi-3 and Phi-3.5).
///
/// `ω_i = 1 / (ext_i · base^(2i/D))` with `ext = long_factor` when `seq_len > original_max_position_embeddings`
/// and `short_factor` otherwise (also when `seq_len` is `None`). Each list has `D/2` entries.
///
/// The scaling factor is `factor` when given, else `max_position_embeddings / original_max_position_embeddings`
/// (the Phi-3 configs give no `factor`). Attention factor: `attention_factor` if given, else 1 for a factor
/// `≤ 1` and `sqrt(1 + ln(factor)/ln(original_max_position_embeddings))` above.
///
/// Hugging Face before v5 took the length ratio whenever the model config had a top-level
/// `original_max_position_embeddings`, even next to an explicit `factor`; v5 prefers the explicit `factor`, as
/// here. The two agree on every config without a `factor`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LongRope<'a> {
    /// Rescale factors for sequences up to the original length (`D/2` entries, each > 0).
    pub short_factor: &'a [f64],
    /// Rescale factors for longer sequences (`D/2` entries, each > 0).
    pub long_factor: &'a [f64],
    /// The pre-training context length: the switch point between the lists.
    pub original_max_position_embeddings: u64,
    /// The scaling factor for the attention factor; `None` takes the length ratio.
    pub factor: Option<f64>,
    /// An explicit attention factor.
    pub attention_factor: Option<f64>,
}

/// Llama 3.1 parameters (`rope_type = "llama3"`).
///
/// With wavelengths `λ_i = 2π/ω_i`: `ω_i` is kept when `λ_i < orig/high_freq_factor`, divided by `factor` when
/// `λ_i > orig/low_freq_factor`, and otherwise `ω'_i = (1 − s)·ω_i/factor + s·ω_i` with
/// `s = (orig/λ_i − low_freq_factor)/(high_freq_factor − low_freq_factor)`. The attention factor is 1.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Llama3 {
    /// Divisor of the low frequencies (8 for Llama 3.1).
    pub factor: f64,
    /// Wavelengths above `orig/low_freq_factor` are scaled (1 for Llama 3.1).
    pub low_freq_factor: f64,
    /// Wavelengths below `orig/high_freq_factor` are kept (4 for Llama 3.1); must exceed `low_freq_factor`.
    pub high_freq_factor: f64,
    /// The pre-training context length (8192 for Llama 3.1).
    pub original_max_position_embeddings: u64,
}

/// Everything the frequencies depend on (the RoPE part of a Hugging Face model config).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RopeConfig<'a> {
    /// The base `θ` of the frequencies (`rope_theta`, > 0).
    pub rope_theta: f64,
    /// Elements per attention head.
    pub head_dim: usize,
    /// The rotated fraction of each head, in `(0, 1]`; the rotary dimension is
    /// `⌊head_dim · partial_rotary_factor⌋` (Python's `int()`).
    pub partial_rotary_factor: f64,
    /// The model's `max_position_embeddings`: needed by [`Scaling::Dynamic`], and by YaRN and LongRoPE when
    /// they derive the factor from it.
    pub max_position_embeddings: Option<u64>,
    /// The scaling.
    pub scaling: Scaling<'a>,
}

impl<'a> RopeConfig<'a> {
    /// Unscaled RoPE over the whole head.
    pub const fn new(rope_theta: f64, head_dim: usize) -> RopeConfig<'a> {
        RopeConfig {
            rope_theta,
            head_dim,
            partial_rotary_factor: 1.0,
            max_position_embeddings: None,
            scaling: Scaling::Default,
        }
    }

    /// The rotary dimension `D = ⌊head_dim · partial_rotary_factor⌋`, checked: even, at least 2, and the
    /// factor in `(0, 1]`.
    pub fn rotary_dim(&self) -> Result<usize, RopeError> {
        let f = self.partial_rotary_factor;
        if !(f > 0.0 && f <= 1.0) {
            return Err(RopeError::InvalidParameter {
                name: "partial_rotary_factor",
            });
        }
        // Truncation toward zero, as Python's int(); the product is at most head_dim, so it fits.
        let dim = (self.head_dim as f64 * f) as usize;
        if dim < 2 {
            return Err(RopeError::RotaryDimTooSmall { dim, min: 2 });
        }
        if !dim.is_multiple_of(2) {
            return Err(RopeError::OddRotaryDim { dim });
        }
        Ok(dim)
    }
}

/// The per-frequency rule of a validated configuration (shared with the f32 reproduction).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rule<'a> {
    /// `1 / base^(2i/D)`, then divided by `divisor` (1 unless linear scaling).
    Plain { base: f64, divisor: f64 },
    /// Dynamic NTK; `base` is the f64 (Python) result, `length` the effective `L` when a sequence length was
    /// given (the f32 reproduction follows PyTorch's tensor arithmetic then).
    Dynamic {
        base: f64,
        unscaled: f64,
        factor: f64,
        max_pos: u64,
        length: Option<u64>,
    },
    /// YaRN's ramp; `low` and `high` are the correction range after `+0.001`.
    Yarn {
        base: f64,
        factor: f64,
        low: f64,
        high: f64,
    },
    /// LongRoPE with the chosen list.
    LongRope { base: f64, ext: &'a [f64] },
    /// Llama 3.1.
    Llama3 {
        base: f64,
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original: u64,
    },
}

/// A validated configuration at one sequence length: the rotary dimension, the attention factor and the rule
/// for each `ω_i`. Build it once with [`Frequencies::new`], then read single frequencies with
/// [`Frequencies::get`] or fill buffers with [`Frequencies::fill`] / [`Frequencies::fill_f32`].
#[derive(Clone, Copy, Debug)]
pub struct Frequencies<'a> {
    rotary_dim: usize,
    attention_factor: f64,
    pub(crate) rule: Rule<'a>,
}

fn positive(value: f64, name: &'static str) -> Result<f64, RopeError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(RopeError::InvalidParameter { name })
    }
}

fn positive_len(value: u64, name: &'static str) -> Result<u64, RopeError> {
    if value > 0 {
        Ok(value)
    } else {
        Err(RopeError::InvalidParameter { name })
    }
}

fn max_pos(config: &RopeConfig<'_>) -> Result<u64, RopeError> {
    let m = config
        .max_position_embeddings
        .ok_or(RopeError::MissingParameter {
            name: "max_position_embeddings",
        })?;
    positive_len(m, "max_position_embeddings")
}

/// The factor given, or `max_position_embeddings / original` (Hugging Face's fallback).
fn factor_or_ratio(
    config: &RopeConfig<'_>,
    factor: Option<f64>,
    original: u64,
) -> Result<f64, RopeError> {
    match factor {
        Some(f) => positive(f, "factor"),
        None => positive(
            max_pos(config)? as f64 / original as f64,
            "max_position_embeddings",
        ),
    }
}

/// YaRN's `get_mscale`.
fn mscale(scale: f64, m: f64) -> f64 {
    if scale <= 1.0 {
        1.0
    } else {
        0.1 * m * libm::log(scale) + 1.0
    }
}

/// YaRN's `find_correction_dim`, in Python's order of operations.
fn correction_dim(rotations: f64, dim: f64, base: f64, original: f64) -> f64 {
    (dim * libm::log(original / (rotations * 2.0 * core::f64::consts::PI)))
        / (2.0 * libm::log(base))
}

/// The NTK exponent `D/(D − 2)`, for `D ≥ 4`.
fn ntk_exponent(dim: usize) -> Result<f64, RopeError> {
    if dim < 4 {
        return Err(RopeError::RotaryDimTooSmall { dim, min: 4 });
    }
    Ok(dim as f64 / (dim - 2) as f64)
}

/// `base^((2i)/D)` as Hugging Face forms it: the exponent `(2i)/D`, then the power.
#[inline]
fn base_pow(base: f64, i: usize, dim: usize) -> f64 {
    libm::pow(base, (2 * i) as f64 / dim as f64)
}

impl<'a> Frequencies<'a> {
    /// Validates `config` and resolves it at `seq_len` (used by [`Scaling::Dynamic`] and
    /// [`Scaling::LongRope`]; Hugging Face passes `max(position_ids) + 1`; `None` is model initialisation).
    pub fn new(
        config: &RopeConfig<'a>,
        seq_len: Option<u64>,
    ) -> Result<Frequencies<'a>, RopeError> {
        let dim = config.rotary_dim()?;
        let base = positive(config.rope_theta, "rope_theta")?;
        let (rule, attention_factor) = match config.scaling {
            Scaling::Default => (Rule::Plain { base, divisor: 1.0 }, 1.0),
            Scaling::Linear { factor } => (
                Rule::Plain {
                    base,
                    divisor: positive(factor, "factor")?,
                },
                1.0,
            ),
            Scaling::NtkStatic { factor } => {
                let factor = positive(factor, "factor")?;
                let scaled = base * libm::pow(factor, ntk_exponent(dim)?);
                (
                    Rule::Plain {
                        base: positive(scaled, "factor")?,
                        divisor: 1.0,
                    },
                    1.0,
                )
            }
            Scaling::Dynamic { factor } => {
                let factor = positive(factor, "factor")?;
                let exponent = ntk_exponent(dim)?;
                let max_pos = max_pos(config)?;
                let length = seq_len.map_or(max_pos, |s| s.max(max_pos));
                let inner = (factor * length as f64) / max_pos as f64 - (factor - 1.0);
                let scaled = if inner > 0.0 {
                    base * libm::pow(inner, exponent)
                } else {
                    base
                };
                (
                    Rule::Dynamic {
                        base: positive(scaled, "factor")?,
                        unscaled: base,
                        factor,
                        max_pos,
                        length: seq_len.map(|s| s.max(max_pos)),
                    },
                    1.0,
                )
            }
            Scaling::Yarn(y) => {
                let original = positive_len(
                    y.original_max_position_embeddings,
                    "original_max_position_embeddings",
                )?;
                let factor = factor_or_ratio(config, y.factor, original)?;
                let beta_fast = positive(y.beta_fast, "beta_fast")?;
                let beta_slow = positive(y.beta_slow, "beta_slow")?;
                if base == 1.0 {
                    return Err(RopeError::InvalidParameter { name: "rope_theta" });
                }
                let attention_factor = match (y.attention_factor, y.mscale, y.mscale_all_dim) {
                    (Some(a), _, _) => positive(a, "attention_factor")?,
                    (None, Some(m), Some(a)) if m != 0.0 && a != 0.0 => {
                        let num = mscale(factor, finite(m, "mscale")?);
                        let den = mscale(factor, finite(a, "mscale_all_dim")?);
                        positive(num / den, "mscale_all_dim")?
                    }
                    (None, m, a) => {
                        // A given but unused mscale must still be a number.
                        if let Some(m) = m {
                            finite(m, "mscale")?;
                        }
                        if let Some(a) = a {
                            finite(a, "mscale_all_dim")?;
                        }
                        positive(mscale(factor, 1.0), "factor")?
                    }
                };
                let d = dim as f64;
                let (mut low, mut high) = (
                    correction_dim(beta_fast, d, base, original as f64),
                    correction_dim(beta_slow, d, base, original as f64),
                );
                if y.truncate {
                    low = libm::floor(low);
                    high = libm::ceil(high);
                }
                let low = low.max(0.0);
                let mut high = high.min(d - 1.0);
                if low == high {
                    high += 0.001;
                }
                (
                    Rule::Yarn {
                        base,
                        factor,
                        low,
                        high,
                    },
                    attention_factor,
                )
            }
            Scaling::LongRope(l) => {
                let half = dim / 2;
                for (name, list) in [
                    ("short_factor", l.short_factor),
                    ("long_factor", l.long_factor),
                ] {
                    if list.len() != half {
                        return Err(RopeError::FactorListLength {
                            name,
                            expected: half,
                            got: list.len(),
                        });
                    }
                    for &v in list {
                        positive(v, name)?;
                    }
                }
                let original = positive_len(
                    l.original_max_position_embeddings,
                    "original_max_position_embeddings",
                )?;
                let factor = factor_or_ratio(config, l.factor, original)?;
                let attention_factor = match l.attention_factor {
                    Some(a) => positive(a, "attention_factor")?,
                    None if factor <= 1.0 => 1.0,
                    None => {
                        if original < 2 {
                            return Err(RopeError::InvalidParameter {
                                name: "original_max_position_embeddings",
                            });
                        }
                        libm::sqrt(1.0 + libm::log(factor) / libm::log(original as f64))
                    }
                };
                let long = seq_len.is_some_and(|s| s > original);
                (
                    Rule::LongRope {
                        base,
                        ext: if long { l.long_factor } else { l.short_factor },
                    },
                    attention_factor,
                )
            }
            Scaling::Llama3(l) => {
                let factor = positive(l.factor, "factor")?;
                let low = positive(l.low_freq_factor, "low_freq_factor")?;
                let high = positive(l.high_freq_factor, "high_freq_factor")?;
                if high <= low {
                    return Err(RopeError::InvalidParameter {
                        name: "high_freq_factor",
                    });
                }
                let original = positive_len(
                    l.original_max_position_embeddings,
                    "original_max_position_embeddings",
                )?;
                (
                    Rule::Llama3 {
                        base,
                        factor,
                        low_freq_factor: low,
                        high_freq_factor: high,
                        original,
                    },
                    1.0,
                )
            }
        };
        Ok(Frequencies {
            rotary_dim: dim,
            attention_factor,
            rule,
        })
    }

    /// The rotary dimension `D`.
    pub fn rotary_dim(&self) -> usize {
        self.rotary_dim
    }

    /// The number of frequencies, `D/2`.
    pub fn half(&self) -> usize {
        self.rotary_dim / 2
    }

    /// The factor Hugging Face multiplies cos and sin by (1 except for YaRN and LongRoPE).
    pub fn attention_factor(&self) -> f64 {
        self.attention_factor
    }

    /// `ω_i`, or `None` for `i ≥ D/2`.
    pub fn get(&self, i: usize) -> Option<f64> {
        let dim = self.rotary_dim;
        if i >= dim / 2 {
            return None;
        }
        Some(match self.rule {
            Rule::Plain { base, divisor } => {
                let w = 1.0 / base_pow(base, i, dim);
                if divisor == 1.0 { w } else { w / divisor }
            }
            Rule::Dynamic { base, .. } => 1.0 / base_pow(base, i, dim),
            Rule::Yarn {
                base,
                factor,
                low,
                high,
            } => {
                let pos = base_pow(base, i, dim);
                let extrapolation = 1.0 / pos;
                let interpolation = 1.0 / (factor * pos);
                let ramp = ((i as f64 - low) / (high - low)).clamp(0.0, 1.0);
                let weight = 1.0 - ramp;
                interpolation * (1.0 - weight) + extrapolation * weight
            }
            Rule::LongRope { base, ext } => {
                // `ext` has D/2 entries (checked in `new`).
                let e = ext.get(i).copied().unwrap_or(1.0);
                1.0 / (e * base_pow(base, i, dim))
            }
            Rule::Llama3 {
                base,
                factor,
                low_freq_factor,
                high_freq_factor,
                original,
            } => {
                let w = 1.0 / base_pow(base, i, dim);
                let orig = original as f64;
                let low_wavelen = orig / low_freq_factor;
                let high_wavelen = orig / high_freq_factor;
                let wavelen = TWO_PI / w;
                let scaled = if wavelen > low_wavelen { w / factor } else { w };
                // HF: `~(wavelen < high) * ~(wavelen > low)`; the same for the non-NaN wavelengths here.
                let medium = wavelen >= high_wavelen && wavelen <= low_wavelen;
                if medium {
                    let smooth =
                        (orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                    (1.0 - smooth) * scaled / factor + smooth * scaled
                } else {
                    scaled
                }
            }
        })
    }

    /// Writes `ω_0 .. ω_{D/2−1}` into `out[..D/2]` and returns `D/2`.
    pub fn fill(&self, out: &mut [f64]) -> Result<usize, RopeError> {
        let half = self.half();
        let got = out.len();
        let out = out.get_mut(..half).ok_or(RopeError::TooShort {
            buffer: "inv_freq",
            needed: half,
            got,
        })?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(i).unwrap_or(0.0);
        }
        Ok(half)
    }

    /// [`Frequencies::fill`] rounded to f32 (each f64 value rounded once; this is not PyTorch's f32 arithmetic,
    /// which [`hf_f32::inv_freq`](super::hf_f32::inv_freq) reproduces).
    pub fn fill_f32(&self, out: &mut [f32]) -> Result<usize, RopeError> {
        let half = self.half();
        let got = out.len();
        let out = out.get_mut(..half).ok_or(RopeError::TooShort {
            buffer: "inv_freq",
            needed: half,
            got,
        })?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(i).unwrap_or(0.0) as f32;
        }
        Ok(half)
    }
}

/// A finite value of either sign (mscale parameters may be negative in principle).
fn finite(value: f64, name: &'static str) -> Result<f64, RopeError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(RopeError::InvalidParameter { name })
    }
}

/// Computes the inverse frequencies of `config` at `seq_len` into `out[..D/2]` (f64) and returns the attention
/// factor. See [`Frequencies::new`] for `seq_len`.
pub fn inv_freq(
    config: &RopeConfig<'_>,
    seq_len: Option<u64>,
    out: &mut [f64],
) -> Result<f64, RopeError> {
    let f = Frequencies::new(config, seq_len)?;
    f.fill(out)?;
    Ok(f.attention_factor())
}

/// [`inv_freq`] with the f64 values rounded once to f32.
pub fn inv_freq_f32(
    config: &RopeConfig<'_>,
    seq_len: Option<u64>,
    out: &mut [f32],
) -> Result<f64, RopeError> {
    let f = Frequencies::new(config, seq_len)?;
    f.fill_f32(out)?;
    Ok(f.attention_factor())
}
