//! The Medusa acceptance step through the C API (`emk_medusa_accept`): which drafted tokens the base model's
//! own logits accept, and which candidate wins, as the Medusa reference's `evaluate_posterior` decides.

use core::ffi::c_int;

use emkern::simd::Simd;
use emkern::speculative::accept::{self, AcceptError, Entropy, Logits, Rule, Typical};

use crate::{EmkStatus, input, output, status};

/// How drafted tokens are judged (`emk_medusa_rule`). `emk_medusa_rule_default(temperature)` gives the
/// reference's choice.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmkMedusaRule {
    /// Softmax temperature; 0 selects the greedy rule (a token is accepted iff it is the argmax of its logits).
    pub temperature: f32,
    /// Typical acceptance's `ε` (finite, ≥ 0): a token is accepted iff `p > min(ε, α·e^(−H))`.
    pub posterior_threshold: f32,
    /// Typical acceptance's `α` (finite, ≥ 0).
    pub posterior_alpha: f32,
    /// Non-zero: the exact entropy `−Σ p·ln p`; zero: the reference's `−Σ p·ln(p + 1e-5)`.
    pub exact_entropy: c_int,
}

/// The reference's rule at `temperature`: greedy at 0, typical acceptance with `ε = 0.09`, `α = 0.3` and the
/// reference's entropy otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn emk_medusa_rule_default(temperature: f32) -> EmkMedusaRule {
    EmkMedusaRule {
        temperature,
        posterior_threshold: accept::POSTERIOR_THRESHOLD,
        posterior_alpha: accept::POSTERIOR_ALPHA,
        exact_entropy: 0,
    }
}

impl EmkMedusaRule {
    fn rule(&self) -> Rule {
        if self.temperature == 0.0 {
            Rule::Greedy
        } else {
            Rule::Typical(Typical {
                temperature: self.temperature,
                posterior_threshold: self.posterior_threshold,
                posterior_alpha: self.posterior_alpha,
                entropy: if self.exact_entropy != 0 {
                    Entropy::Exact
                } else {
                    Entropy::Reference
                },
            })
        }
    }
}

/// The core's error as a status.
fn from_accept_error(e: AcceptError) -> EmkStatus {
    match e {
        AcceptError::BadParam(_) => EmkStatus::EMK_BAD_PARAM,
        AcceptError::BadLogitsShape | AcceptError::BadTokens { .. } => EmkStatus::EMK_BAD_SHAPE,
        AcceptError::TooFewRows { .. } => EmkStatus::EMK_INPUT_TOO_SHORT,
        AcceptError::TokenOutOfRange { .. }
        | AcceptError::NonFiniteLogit { .. }
        | AcceptError::NoFiniteLogit { .. } => EmkStatus::EMK_BAD_INPUT,
    }
}

/// Judges `n_candidates` candidates of `len` tokens each and writes the winner to `*best` and the number of
/// accepted drafted tokens to `*accept_length` (the step keeps `accept_length + 1` tokens of candidate `best`).
///
/// `tokens` is the reference's `candidates` `[n_candidates, len]` (`uint32_t`, row-major; each row starts with
/// the base model's token); `logits` is `[n_candidates, len, vocab]` floats, row `c·len + p` being the base
/// model's logits after token `p` of candidate `c` (it judges token `p + 1`), `n_logits` the floats it holds
/// (at least `(n_candidates·len − 1)·vocab`; the last row is never read). The longest accepted prefix wins;
/// ties go to the first candidate (greedy) or to the largest sum of log-probabilities (typical).
///
/// Errors, before anything is written: `EMK_BAD_PARAM` (a rule parameter out of its domain), `EMK_BAD_SHAPE`
/// (`len` or `vocab` 0, sizes overflowing), `EMK_INPUT_TOO_SHORT` (fewer logits than that), `EMK_BAD_INPUT` (a
/// judged token ≥ `vocab`, a NaN or `+∞` logit, a row with no finite logit), `EMK_NULL_POINTER`,
/// `EMK_MISALIGNED`.
///
/// # Safety
/// `rule` is NULL or points to a readable `emk_medusa_rule`; `tokens` to `n_candidates·len` readable values;
/// `logits` to `n_logits` readable floats; `best` and `accept_length` to writable `size_t`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_medusa_accept(
    rule: *const EmkMedusaRule,
    tokens: *const u32,
    n_candidates: usize,
    len: usize,
    logits: *const f32,
    n_logits: usize,
    vocab: usize,
    best: *mut usize,
    accept_length: *mut usize,
) -> EmkStatus {
    status((|| {
        let shape = EmkStatus::EMK_BAD_SHAPE;
        // SAFETY: the caller's contract; the helper checks null and alignment.
        let rule = unsafe { input(rule, 1, shape) }?
            .first()
            .ok_or(EmkStatus::EMK_NULL_POINTER)?
            .rule();
        if len == 0 || vocab == 0 {
            return Err(shape);
        }
        let n_tokens = n_candidates.checked_mul(len).ok_or(shape)?;
        // SAFETY: the caller guarantees `n_candidates·len` readable tokens behind a non-null pointer.
        let tokens = unsafe { input(tokens, n_tokens, shape) }?;
        // SAFETY: the caller guarantees `n_logits` readable floats behind a non-null pointer.
        let logits = unsafe { input(logits, n_logits, shape) }?;
        // SAFETY: the caller guarantees a writable `size_t` behind each non-null pointer.
        let best = unsafe { output(best, 1, shape) }?;
        // SAFETY: as above.
        let accept_length = unsafe { output(accept_length, 1, shape) }?;
        let d = accept::evaluate(Simd::best(), &rule, tokens, len, Logits::new(logits, vocab))
            .map_err(from_accept_error)?;
        if let (Some(b), Some(a)) = (best.first_mut(), accept_length.first_mut()) {
            *b = d.best;
            *a = d.accept_length;
        }
        Ok(())
    })())
}
