//! Acceptance: which drafted tokens the base model's own logits accept, and which candidate wins.
//!
//! # Indexing
//! As in the Medusa reference (`evaluate_posterior`), a candidate is a row of `L` tokens whose first token is
//! the base model's (always kept), and the logits row at position `p` of a candidate is the base model's
//! prediction *after* its token `p`: it judges token `p + 1`. Positions `0 .. L − 1` are judged; the accept
//! length of a candidate is the number of leading accepted tokens (the sum of the cumulative product of the
//! accept flags), so `0 ..= L − 1`, and the step keeps `accept_length + 1` tokens (the base token and the
//! accepted drafts).
//!
//! # Rules
//! - [`Rule::Greedy`] (temperature 0): token `c` is accepted iff it is the argmax of the logits (the first
//!   index of the largest value, as `torch.argmax`).
//! - [`Rule::Typical`]: with `p = softmax(logits / T)`, token `c` is accepted iff
//!   `p(c) > min(ε, α·e^(−H))`, `ε` = `posterior_threshold`, `α` = `posterior_alpha` (defaults 0.09 and 0.3, the
//!   reference's `medusa_generate` defaults; note that `evaluate_posterior`'s own keyword defaults are swapped).
//!   `H` is the reference's `−Σ p·ln(p + 10⁻⁵)` ([`Entropy::Reference`], a second pass over the logits) or the
//!   exact entropy `−Σ p·ln p` ([`Entropy::Exact`], from the single streaming pass).
//!
//! The best candidate is the one with the longest accept length; with the greedy rule the first such candidate,
//! with the typical rule the one whose accepted tokens have the largest `Σ ln p` (the first on equal sums). If
//! nothing is accepted the best candidate is 0 with accept length 0. This is the reference's deterministic
//! (`fast = True`, its default) path.
//!
//! # One streaming pass
//! [`Softmax::scan`] reads a logits row once, in blocks, keeping the running maximum `m` of the logits and, for
//! `d_i = (x_i − m)/T`, `S = Σ e^(d_i)` and `W = Σ d_i·e^(d_i)`. When a block raises the maximum to `m'`, every
//! `d_i` shifts by `δ = (m − m')/T`, so `S ← e^δ·S` and `W ← e^δ·(W + δ·S)` (the old `S`). At the end
//! `ln p_i = d_i − ln S` and the exact entropy is `H = −Σ p_i ln p_i = ln S − W/S` (a sum of two non-negative
//! terms: no cancellation). Exponentials use the SIMD `exp` on blocks of 64; `S` and `W` are accumulated in
//! f64 across blocks. `−∞` logits are masked tokens (probability 0).
//!
//! # Inputs
//! Logits must not be NaN or `+∞` and a judged row must have a finite logit (typical rule); the greedy rule only
//! rejects NaN. Only rows that are actually judged are read: judging a candidate stops at its first rejected
//! token, as the cumulative product makes every later flag irrelevant.

use emkern_simd::Simd;

use super::tree::{MAX_NODES, Tree};

/// The reference's default `posterior_threshold` `ε`.
pub const POSTERIOR_THRESHOLD: f32 = 0.09;

/// The reference's default `posterior_alpha` `α`.
pub const POSTERIOR_ALPHA: f32 = 0.3;

/// The constant inside the reference's entropy, `−Σ p·ln(p + 10⁻⁵)`.
pub const ENTROPY_EPSILON: f32 = 1e-5;

/// Logits per block of the streaming passes.
const BLOCK: usize = 64;

/// Shifted logits below this are clamped to it: `e^FLOOR` is 0 in f32 (the SIMD `exp` returns 0 below
/// −103.98), so the clamp changes no exponential, and it keeps `d·e^d` finite for `−∞` logits.
const FLOOR: f32 = -110.0;

/// Which entropy the typical rule uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Entropy {
    /// The reference's `−Σ p·ln(p + 10⁻⁵)` (a second pass over the logits).
    #[default]
    Reference,
    /// The exact entropy `−Σ p·ln p`, from the single streaming pass.
    Exact,
}

/// Parameters of typical acceptance.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Typical {
    /// Softmax temperature `T` (finite, > 0).
    pub temperature: f32,
    /// `ε`: the threshold's upper bound (finite, ≥ 0).
    pub posterior_threshold: f32,
    /// `α`: the factor of `e^(−H)` (finite, ≥ 0).
    pub posterior_alpha: f32,
    /// The entropy variant.
    pub entropy: Entropy,
}

impl Typical {
    /// Temperature `temperature` with the reference's defaults `ε = 0.09`, `α = 0.3` and entropy.
    pub const fn new(temperature: f32) -> Typical {
        Typical {
            temperature,
            posterior_threshold: POSTERIOR_THRESHOLD,
            posterior_alpha: POSTERIOR_ALPHA,
            entropy: Entropy::Reference,
        }
    }

    fn check(&self) -> Result<(), AcceptError> {
        let t = self.temperature;
        if !(t.is_finite() && t > 0.0 && (1.0 / t).is_finite()) {
            return Err(AcceptError::BadParam(
                "temperature must be finite and positive (and its reciprocal finite)",
            ));
        }
        if !(self.posterior_threshold.is_finite() && self.posterior_threshold >= 0.0) {
            return Err(AcceptError::BadParam(
                "posterior threshold must be finite and non-negative",
            ));
        }
        if !(self.posterior_alpha.is_finite() && self.posterior_alpha >= 0.0) {
            return Err(AcceptError::BadParam(
                "posterior alpha must be finite and non-negative",
            ));
        }
        Ok(())
    }
}

/// How drafted tokens are judged.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rule {
    /// Accept the argmax token only (temperature 0).
    Greedy,
    /// Typical acceptance.
    Typical(Typical),
}

impl Rule {
    /// The reference's choice: greedy at temperature 0, typical acceptance with the default `ε`, `α` otherwise.
    pub const fn from_temperature(temperature: f32) -> Rule {
        if temperature == 0.0 {
            Rule::Greedy
        } else {
            Rule::Typical(Typical::new(temperature))
        }
    }

    fn check(&self) -> Result<(), AcceptError> {
        match self {
            Rule::Greedy => Ok(()),
            Rule::Typical(t) => t.check(),
        }
    }
}

/// Why an acceptance call was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AcceptError {
    /// A rule parameter is outside its domain.
    BadParam(&'static str),
    /// The vocabulary is empty, or a logits row stride is smaller than the vocabulary.
    BadLogitsShape,
    /// Fewer logits rows than the candidates or nodes need (or a candidate length of 0).
    TooFewRows {
        /// Rows needed.
        needed: usize,
        /// Rows the view holds.
        got: usize,
    },
    /// The token list's length does not fit the shape (not a multiple of the candidate length, or not one
    /// token per tree node).
    BadTokens {
        /// Tokens expected (a multiple of it, for candidates).
        expected: usize,
        /// Tokens given.
        got: usize,
    },
    /// A judged token is not below the vocabulary size.
    TokenOutOfRange {
        /// Index of the token in the token list.
        index: usize,
        /// The token.
        token: u32,
        /// Vocabulary size.
        vocab: usize,
    },
    /// A logits row holds NaN (or `+∞`, for the typical rule).
    NonFiniteLogit {
        /// The logits row.
        row: usize,
    },
    /// A logits row has no finite value (all `−∞`, or empty), so its softmax is undefined.
    NoFiniteLogit {
        /// The logits row.
        row: usize,
    },
}

impl core::fmt::Display for AcceptError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            AcceptError::BadParam(what) => write!(f, "parameter out of range: {what}"),
            AcceptError::BadLogitsShape => write!(
                f,
                "logits: the vocabulary must be non-empty and the row stride at least the vocabulary"
            ),
            AcceptError::TooFewRows { needed, got } => {
                write!(f, "logits: {got} rows, {needed} needed")
            }
            AcceptError::BadTokens { expected, got } => {
                write!(
                    f,
                    "tokens: {got} given, expected {expected} (or a multiple)"
                )
            }
            AcceptError::TokenOutOfRange {
                index,
                token,
                vocab,
            } => write!(
                f,
                "token {index} is {token}, not below the vocabulary size {vocab}"
            ),
            AcceptError::NonFiniteLogit { row } => {
                write!(f, "logits row {row} holds NaN or +inf")
            }
            AcceptError::NoFiniteLogit { row } => {
                write!(f, "logits row {row} has no finite value")
            }
        }
    }
}

impl core::error::Error for AcceptError {}

/// Rows of logits: row `r` is `values[r·row_stride .. r·row_stride + vocab]`.
#[derive(Clone, Copy, Debug)]
pub struct Logits<'a> {
    /// The values.
    pub values: &'a [f32],
    /// Entries per row (vocabulary size).
    pub vocab: usize,
    /// Elements from one row to the next (at least `vocab`).
    pub row_stride: usize,
}

impl<'a> Logits<'a> {
    /// Contiguous rows of `vocab` logits.
    pub const fn new(values: &'a [f32], vocab: usize) -> Logits<'a> {
        Logits {
            values,
            vocab,
            row_stride: vocab,
        }
    }

    /// The same rows with an explicit stride.
    pub const fn with_stride(self, row_stride: usize) -> Logits<'a> {
        Logits { row_stride, ..self }
    }

    /// Number of whole rows in `values` (0 for a bad shape).
    pub fn rows(&self) -> usize {
        if self.vocab == 0 || self.row_stride < self.vocab || self.values.len() < self.vocab {
            return 0;
        }
        (self.values.len() - self.vocab) / self.row_stride + 1
    }

    /// Row `r`, if it lies inside `values`.
    pub fn row(&self, r: usize) -> Option<&'a [f32]> {
        let start = r.checked_mul(self.row_stride)?;
        self.values.get(start..start.checked_add(self.vocab)?)
    }

    fn check(&self, needed: usize) -> Result<(), AcceptError> {
        if self.vocab == 0 || self.row_stride < self.vocab {
            return Err(AcceptError::BadLogitsShape);
        }
        let got = self.rows();
        if got < needed {
            return Err(AcceptError::TooFewRows { needed, got });
        }
        Ok(())
    }
}

/// The outcome of an acceptance step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Decision {
    /// The winning candidate (leaf row, for a tree).
    pub best: usize,
    /// Drafted tokens accepted after the base token (the step keeps `accept_length + 1` tokens).
    pub accept_length: usize,
}

/// The softmax of one logits row at temperature `T`, summarized by one streaming pass (see the
/// [module documentation](self)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softmax {
    max: f32,
    inv_t: f32,
    sum: f64,
    weighted: f64,
    ln_sum: f32,
}

/// `d = (x − m)·inv_t` clamped below to [`FLOOR`]; NaN stays NaN.
#[inline]
fn shifted(x: f32, m: f32, inv_t: f32) -> f32 {
    let d = (x - m) * inv_t;
    if d < FLOOR { FLOOR } else { d }
}

fn has_nan(x: &[f32]) -> bool {
    x.iter().fold(false, |a, v| a | v.is_nan())
}

impl Softmax {
    /// One pass over `row` (logit row `index`, for errors) at temperature `temperature` (finite, > 0).
    ///
    /// Errors: a bad temperature, NaN or `+∞` in the row, no finite value in the row.
    pub fn scan(
        simd: Simd,
        row: &[f32],
        temperature: f32,
        index: usize,
    ) -> Result<Softmax, AcceptError> {
        Typical::new(temperature).check()?;
        let inv_t = 1.0 / temperature;
        let (mut m, mut s, mut w) = (f32::NEG_INFINITY, 0.0f64, 0.0f64);
        let mut d = [0.0f32; BLOCK];
        let mut e = [0.0f32; BLOCK];
        for chunk in row.chunks(BLOCK) {
            let b = simd.max(chunk);
            if b == f32::INFINITY {
                return Err(AcceptError::NonFiniteLogit { row: index });
            }
            if b == f32::NEG_INFINITY {
                // All −∞ or NaN (the maximum ignores NaN).
                if has_nan(chunk) {
                    return Err(AcceptError::NonFiniteLogit { row: index });
                }
                continue;
            }
            if b > m {
                if m != f32::NEG_INFINITY {
                    let delta = shifted(m, b, inv_t);
                    let r = f64::from(libm::expf(delta));
                    w = r * (w + f64::from(delta) * s);
                    s *= r;
                }
                m = b;
            }
            let n = chunk.len();
            let (Some(d), Some(e)) = (d.get_mut(..n), e.get_mut(..n)) else {
                break;
            };
            for (di, &x) in d.iter_mut().zip(chunk) {
                *di = shifted(x, m, inv_t);
            }
            simd.exp(d, e);
            s += f64::from(simd.sum(e));
            w += f64::from(simd.dot(d, e));
        }
        if m == f32::NEG_INFINITY {
            return Err(AcceptError::NoFiniteLogit { row: index });
        }
        if !(s.is_finite() && w.is_finite()) {
            return Err(AcceptError::NonFiniteLogit { row: index });
        }
        Ok(Softmax {
            max: m,
            inv_t,
            sum: s,
            weighted: w,
            ln_sum: libm::log(s) as f32,
        })
    }

    /// The largest logit of the row.
    pub const fn max(&self) -> f32 {
        self.max
    }

    /// `ln p` of a token whose logit is `logit`: `(logit − max)/T − ln S` (`−∞` for a `−∞` logit).
    pub fn log_prob(&self, logit: f32) -> f32 {
        (logit - self.max) * self.inv_t - self.ln_sum
    }

    /// `p` of a token whose logit is `logit`.
    pub fn prob(&self, logit: f32) -> f32 {
        libm::expf(shifted(logit, self.max, self.inv_t)) / self.sum as f32
    }

    /// `ln Σ e^(x_i/T)` over the row (the log-partition function of `logits / T`).
    pub fn log_partition(&self) -> f32 {
        (f64::from(self.max) * f64::from(self.inv_t) + libm::log(self.sum)) as f32
    }

    /// The exact entropy `−Σ p ln p = ln S − W/S`, from the streaming pass alone.
    pub fn entropy(&self) -> f32 {
        (libm::log(self.sum) - self.weighted / self.sum) as f32
    }

    /// The reference's entropy `−Σ p·ln(p + 10⁻⁵)`, by a second pass over `row` (the row this summary was
    /// made from). The logarithm is [`ln_unit`]'s (within 2 ulp), evaluated branch-free so that the pass
    /// vectorizes.
    pub fn reference_entropy(&self, simd: Simd, row: &[f32]) -> f32 {
        let inv_s = (1.0 / self.sum) as f32;
        let mut acc = 0.0f64;
        let mut d = [0.0f32; BLOCK];
        let mut e = [0.0f32; BLOCK];
        for chunk in row.chunks(BLOCK) {
            let n = chunk.len();
            let (Some(d), Some(e)) = (d.get_mut(..n), e.get_mut(..n)) else {
                break;
            };
            for (di, &x) in d.iter_mut().zip(chunk) {
                *di = shifted(x, self.max, self.inv_t);
            }
            simd.exp(d, e);
            simd.scale(inv_s, e);
            // e holds p now; d receives ln(p + 10⁻⁵) (element-wise, so it vectorizes), then Σ p·ln(p + 10⁻⁵).
            // p = 0 contributes 0·ln(10⁻⁵) = 0, as in the sum's definition.
            for (di, &p) in d.iter_mut().zip(e.iter()) {
                *di = ln_unit(p + ENTROPY_EPSILON);
            }
            acc += f64::from(simd.dot(e, d));
        }
        -(acc as f32)
    }

    /// The typical rule's threshold `min(ε, α·e^(−H))` for this row.
    pub fn threshold(&self, simd: Simd, row: &[f32], rule: &Typical) -> f32 {
        let h = match rule.entropy {
            Entropy::Exact => self.entropy(),
            Entropy::Reference => self.reference_entropy(simd, row),
        };
        rule.posterior_threshold
            .min(rule.posterior_alpha * libm::expf(-h))
    }
}

/// Natural logarithm of a positive normal `y` (the entropy pass uses `y` in `[10⁻⁵, 1 + 10⁻⁵]`), within 2 ulp
/// (checked against `libm::log` by the tests), without branches or table lookups: `y = 2^e·m` with
/// `m ∈ [√½, √2)`, `ln y = e·ln 2 + 2·atanh(s)`, `s = (m − 1)/(m + 1)`, `|s| ≤ 0.1716`, and the odd series of
/// `atanh` to `s⁹` (truncation below `2⁻³⁰` relative). Zero, subnormal, infinite or NaN inputs give
/// unspecified values.
#[inline]
pub fn ln_unit(y: f32) -> f32 {
    const LN_2_HI: f32 = 0.693_145_75; // exact in 16 bits: e·LN_2_HI is exact for |e| < 2^8
    const LN_2_LO: f32 = 1.428_606_8e-6;
    let bits = y.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > core::f32::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = (e + i32::from(big)) as f32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = s2 * (2.0 / 3.0 + s2 * (2.0 / 5.0 + s2 * (2.0 / 7.0 + s2 * (2.0 / 9.0))));
    e * LN_2_HI + (e * LN_2_LO + (2.0 * s + s * series))
}

#[cfg(test)]
mod tests {
    use super::ln_unit;

    #[test]
    fn ln_unit_is_within_2_ulp() {
        // Every 97th f32 in [1e-5, 1 + 1e-5] (every 97·1009th under Miri, which interprets each one) and the
        // ends of the binades around 1.
        let (lo, hi) = (1e-5f32.to_bits(), (1.0f32 + 1e-5).to_bits());
        let step = if cfg!(miri) { 97 * 1009 } else { 97 };
        let mut worst = 0.0f64;
        let mut check = |y: f32| {
            let want = libm::log(f64::from(y));
            let got = f64::from(ln_unit(y));
            let ulp = if want == 0.0 {
                f64::from(f32::MIN_POSITIVE)
            } else {
                let w = want.abs() as f32;
                f64::from(f32::from_bits(w.to_bits() + 1) - w)
            };
            let err = (got - want).abs() / ulp;
            if err > worst {
                worst = err;
            }
        };
        for b in (lo..=hi).step_by(step) {
            check(f32::from_bits(b));
        }
        let (r, s) = (core::f32::consts::FRAC_1_SQRT_2, core::f32::consts::SQRT_2);
        let next = |x: f32| f32::from_bits(x.to_bits() + 1);
        for y in [
            1e-5f32,
            0.5,
            r,
            next(r),
            1.0,
            next(1.0),
            s,
            next(s),
            1.00001,
        ] {
            check(y);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }
}

/// The first index of the largest value of `row` (0 when all are `−∞`), or an error if the row holds NaN.
pub fn argmax(simd: Simd, row: &[f32], index: usize) -> Result<usize, AcceptError> {
    let (mut best, mut at) = (f32::NEG_INFINITY, 0usize);
    for (k, chunk) in row.chunks(BLOCK).enumerate() {
        if has_nan(chunk) {
            return Err(AcceptError::NonFiniteLogit { row: index });
        }
        let b = simd.max(chunk);
        if b > best {
            best = b;
            at = k * BLOCK + chunk.iter().position(|&x| x == b).unwrap_or(0);
        }
    }
    Ok(at)
}

/// What a judged row says about one token.
#[derive(Clone, Copy, Debug)]
struct Verdict {
    accepted: bool,
    log_prob: f32,
}

/// The per-row judge: greedy or typical, with the row's summary computed once (kept small: a tree holds one per
/// parent node on the stack).
enum Judge {
    Greedy {
        argmax: usize,
    },
    Typical {
        max: f32,
        inv_t: f32,
        ln_sum: f32,
        sum: f32,
        threshold: f32,
    },
}

impl Judge {
    fn new(simd: Simd, rule: &Rule, row: &[f32], index: usize) -> Result<Judge, AcceptError> {
        Ok(match rule {
            Rule::Greedy => Judge::Greedy {
                argmax: argmax(simd, row, index)?,
            },
            Rule::Typical(t) => {
                let softmax = Softmax::scan(simd, row, t.temperature, index)?;
                Judge::Typical {
                    max: softmax.max,
                    inv_t: softmax.inv_t,
                    ln_sum: softmax.ln_sum,
                    sum: softmax.sum as f32,
                    threshold: softmax.threshold(simd, row, t),
                }
            }
        })
    }

    fn judge(&self, row: &[f32], token: u32) -> Verdict {
        let logit = row
            .get(token as usize)
            .copied()
            .unwrap_or(f32::NEG_INFINITY);
        match *self {
            Judge::Greedy { argmax } => Verdict {
                accepted: argmax == token as usize,
                log_prob: 0.0,
            },
            Judge::Typical {
                max,
                inv_t,
                ln_sum,
                sum,
                threshold,
            } => Verdict {
                // As `Softmax::prob` and `Softmax::log_prob`.
                accepted: libm::expf(shifted(logit, max, inv_t)) / sum > threshold,
                log_prob: (logit - max) * inv_t - ln_sum,
            },
        }
    }
}

/// Running choice of the best candidate, by the reference's rules.
struct Best {
    best: usize,
    length: usize,
    likelihood: f32,
}

impl Best {
    const fn new() -> Best {
        Best {
            best: 0,
            length: 0,
            likelihood: f32::NEG_INFINITY,
        }
    }

    fn offer(&mut self, candidate: usize, length: usize, likelihood: f32, typical: bool) {
        if length > self.length {
            *self = Best {
                best: candidate,
                length,
                likelihood,
            };
        } else if typical && length > 0 && length == self.length && likelihood > self.likelihood {
            self.best = candidate;
            self.likelihood = likelihood;
        }
    }

    const fn decision(&self) -> Decision {
        Decision {
            best: self.best,
            accept_length: self.length,
        }
    }
}

/// Judges candidates laid out as the reference's `candidates` `[C, len]` (`tokens`, row-major) and `logits`
/// `[C, len, vocab]` (logits row `c·len + p` judges token `c·len + p + 1`; the last position's row is not read).
///
/// Errors: a bad rule, `len = 0`, `tokens.len()` not a multiple of `len`, fewer than `C·len` logits rows
/// (`C·len − 1` suffice), a judged token `≥ vocab`, and NaN/`+∞`/all-`−∞` in a judged row.
pub fn evaluate(
    simd: Simd,
    rule: &Rule,
    tokens: &[u32],
    len: usize,
    logits: Logits<'_>,
) -> Result<Decision, AcceptError> {
    rule.check()?;
    if len == 0 || !tokens.len().is_multiple_of(len) {
        return Err(AcceptError::BadTokens {
            expected: len,
            got: tokens.len(),
        });
    }
    let candidates = tokens.len() / len;
    logits.check(tokens.len().saturating_sub(1))?;
    for (index, &token) in tokens.iter().enumerate() {
        if index % len != 0 && token as usize >= logits.vocab {
            return Err(AcceptError::TokenOutOfRange {
                index,
                token,
                vocab: logits.vocab,
            });
        }
    }
    let typical = matches!(rule, Rule::Typical(_));
    let mut best = Best::new();
    for c in 0..candidates {
        let (mut length, mut likelihood) = (0usize, 0.0f32);
        for p in 0..len - 1 {
            let at = c * len + p;
            let (Some(row), Some(&token)) = (logits.row(at), tokens.get(at + 1)) else {
                break;
            };
            let v = Judge::new(simd, rule, row, at)?.judge(row, token);
            if !v.accepted {
                break;
            }
            length += 1;
            likelihood += v.log_prob;
        }
        best.offer(c, length, likelihood, typical);
    }
    Ok(best.decision())
}

/// Judges a tree directly: `tokens[node]` is node `node`'s token and logits row `node` is the base model's
/// prediction after it (rows `0 .. N`, in the tree's node order). A node is accepted iff its parent is the root
/// or accepted and its parent's row accepts its token; each parent row is summarized once, and only for
/// parents that are reached. Candidates are the leaf rows ([`Tree::leaves`]), so the decision is the
/// reference's for candidates gathered with `retrieve_indices`, except that a candidate ends at its leaf (the
/// reference pads shorter candidates with token 0 judged by the last node's logits, which could in principle
/// extend them).
///
/// Errors: as [`evaluate`], with `tokens.len() ≠ N` reported as [`AcceptError::BadTokens`].
pub fn evaluate_tree(
    simd: Simd,
    rule: &Rule,
    tree: &Tree,
    tokens: &[u32],
    logits: Logits<'_>,
) -> Result<Decision, AcceptError> {
    rule.check()?;
    let n = tree.len();
    if tokens.len() != n {
        return Err(AcceptError::BadTokens {
            expected: n,
            got: tokens.len(),
        });
    }
    logits.check(n)?;
    for (index, &token) in tokens.iter().enumerate().skip(1) {
        if token as usize >= logits.vocab {
            return Err(AcceptError::TokenOutOfRange {
                index,
                token,
                vocab: logits.vocab,
            });
        }
    }
    // Per node: accepted (the root always is), and the sum of ln p of the accepted path to it.
    let mut accepted = [false; MAX_NODES];
    let mut likelihood = [0.0f32; MAX_NODES];
    if let Some(a) = accepted.get_mut(0) {
        *a = true;
    }
    let mut judges: [Option<Judge>; MAX_NODES] = [const { None }; MAX_NODES];
    for (node, &parent) in tree.parents().iter().enumerate().skip(1) {
        let parent = parent as usize;
        if !accepted.get(parent).copied().unwrap_or(false) {
            continue;
        }
        let (Some(row), Some(&token)) = (logits.row(parent), tokens.get(node)) else {
            continue;
        };
        let Some(slot) = judges.get_mut(parent) else {
            continue;
        };
        let judge = match slot {
            Some(j) => j,
            None => slot.insert(Judge::new(simd, rule, row, parent)?),
        };
        let v = judge.judge(row, token);
        if v.accepted {
            let base = likelihood.get(parent).copied().unwrap_or(0.0);
            if let (Some(a), Some(l)) = (accepted.get_mut(node), likelihood.get_mut(node)) {
                *a = true;
                *l = base + v.log_prob;
            }
        }
    }
    let typical = matches!(rule, Rule::Typical(_));
    let mut best = Best::new();
    for row in 0..tree.num_leaves() {
        let Some(path) = tree.path(row) else {
            continue;
        };
        // The deepest accepted node of the path (acceptance is closed under taking parents).
        let last = path
            .as_slice()
            .iter()
            .take_while(|&&v| accepted.get(v as usize).copied().unwrap_or(false))
            .last()
            .copied()
            .unwrap_or(0) as usize;
        let length = tree.depths().get(last).copied().unwrap_or(0) as usize;
        let ll = likelihood.get(last).copied().unwrap_or(0.0);
        best.offer(row, length, ll, typical);
    }
    Ok(best.decision())
}
