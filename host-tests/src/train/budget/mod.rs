//! Fitting a trained model into a flash budget: `emkern train … --max-bytes N`.
//!
//! The trainer first trains the model it was asked for (the *unconstrained* model), then looks for the best model
//! derived from it whose `.emk` blob takes at most `N` bytes. Sizes are exact, not estimated: [`size`] computes
//! the writer's layout byte for byte, and the search leaves room for the class names a classifier's blob stores
//! after the model ([`crate::export::blob::BlobMetadata::model_budget`]). The candidates depend on the algorithm:
//!
//! - **boosting** (adaboost, gbdt, hist-gbdt): every prefix of the rounds. A boosted model's first `k` rounds are a
//!   valid model (what scikit-learn's `staged_predict` and XGBoost's `iteration_range` evaluate); gradient and
//!   histogram boosting can keep zero rounds (the prior alone), AdaBoost at least one. The trees themselves are not
//!   pruned: their leaf values were fitted jointly with the rounds after them.
//! - **forests** (rf, extra-trees): the first `k` trees (a random subset, since the trees are exchangeable) for
//!   every `k`, each at up to 32 levels of minimal cost-complexity pruning ([`prune`], scikit-learn's `ccp_alpha`
//!   applied to every tree) with alphas spread over the quantiles of the trees' pruning paths (from 0, no
//!   pruning, to the alpha that prunes every tree to its root).
//! - **cart**: the subtrees on the tree's cost-complexity pruning path (every one, up to 512 alphas).
//! - **precision**: models with f64 values (all but hist-gbdt) are also tried with f32 leaves, base margins and
//!   sums, which halves the leaf section. The f32 model is chosen only when the best f64 model that fits is
//!   clearly worse (by more than a millionth of the metric) or none fits.
//!
//! Among the candidates that fit, the one with the best metric on the selection data wins — accuracy for
//! classification (log-loss breaks ties; `--budget-metric log-loss` ranks by log-loss instead, steadier on few
//! rows), R² for regression (RMSE breaks ties), then the smaller blob. The
//! selection data are the `--valid` rows when given, otherwise the training rows (which favour the bigger
//! candidates; the report says which). A bigger budget never picks a worse candidate on the selection data, since
//! the candidates only grow. Candidates are scored with the IR's reference arithmetic ([`select`]); the report
//! quotes the metrics of the unconstrained and the fitted blobs as the `no_std` core computes them. When even the
//! smallest candidate does not fit, the error names its size.

pub mod models;
pub mod prune;
mod report;
pub mod select;
pub mod size;

pub use report::{fit, fit_exportable};

use rayon::prelude::*;

use crate::ir::{Ensemble, Precision};
use models::Shrink;
use select::{Candidate, Prefixes, Selection};

/// Parses a byte count: digits (a decimal fraction allowed) with an optional unit, case-insensitive: none or `B`
/// (bytes), `K`, `KB`, `KiB` (1024 bytes, as flash sizes are quoted), `M`, `MB`, `MiB` (1024²). Fractions are
/// rounded down to whole bytes.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (use bytes, or K/KB/KiB = 1024, M/MB/MiB = 1024²)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .ok_or_else(|| {
            format!("`{s}`: expected a positive number of bytes, like 16384, 16K or 1.5M")
        })?;
    let bytes = (value * scale).floor();
    if bytes < 1.0 || bytes > u32::MAX as f64 {
        return Err(format!(
            "`{s}`: {bytes} bytes is not between 1 and 2^32 − 1"
        ));
    }
    Ok(bytes as usize)
}

/// Why no model fits.
#[derive(Clone, Debug, PartialEq)]
pub struct TooSmall {
    /// The budget.
    pub budget: usize,
    /// Bytes of the smallest candidate.
    pub smallest: usize,
    /// What the smallest candidate is.
    pub what: String,
    /// Bytes of the unconstrained model.
    pub unconstrained: usize,
}

impl std::fmt::Display for TooSmall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--max-bytes {}: no model fits; the smallest, {}, takes {} bytes (the unconstrained model takes {} \
             bytes)",
            self.budget, self.what, self.smallest, self.unconstrained
        )
    }
}

impl std::error::Error for TooSmall {}

/// The model chosen for a budget, and how it was derived.
#[derive(Clone, Debug)]
pub struct Fitted<M> {
    /// The fitted model (the trainer's own type: its predictions are the exported blob's).
    pub model: M,
    /// Its ensemble IR, at the chosen precision.
    pub ensemble: Ensemble,
    /// The winning candidate (units kept, bytes, reference metrics on the selection data).
    pub candidate: Candidate,
    /// The cost-complexity alpha its trees were pruned with (0: not pruned).
    pub alpha: f64,
    /// Units of the unconstrained model.
    pub units: usize,
    /// Leaves of the unconstrained model's first `candidate.units` units, before pruning.
    pub leaves_before: usize,
    /// Leaves of the fitted model.
    pub leaves_after: usize,
    /// The unconstrained model's precision.
    pub native: Precision,
    /// Bytes of the unconstrained model's blob.
    pub unconstrained_bytes: usize,
    /// Candidates that fit and were scored.
    pub scored: usize,
    /// Pruning levels searched (1: no pruning).
    pub levels: usize,
    /// The fewest units a candidate had.
    pub min_units: usize,
}

/// Searches the candidates derived from `model` (see the module documentation) for the best one whose blob takes
/// at most `budget` bytes, scored on `sel`. `to_ir` is the model's translation into the IR; `progress(done, of)`
/// is called after each pruning level (levels are scored in parallel on the current rayon pool).
pub fn fit_to_budget<M: Shrink>(
    model: &M,
    budget: usize,
    sel: &Selection,
    to_ir: &(dyn Fn(&M) -> Ensemble + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Fitted<M>, TooSmall> {
    let full = to_ir(model);
    let native = full.precision;
    let precisions: Vec<Precision> = match native {
        Precision::F64 => vec![Precision::F64, Precision::F32],
        Precision::F32 => vec![Precision::F32],
    };
    let alphas = model.alphas();
    // The pruning levels are independent: score them in parallel, then combine them in order.
    let done = std::sync::atomic::AtomicUsize::new(0);
    let sweeps: Vec<select::SweepResult> = alphas
        .par_iter()
        .enumerate()
        .map(|(level, &alpha)| {
            let m = model.pruned(alpha);
            let e = if level == 0 && alpha == 0.0 {
                full.clone()
            } else {
                to_ir(&m)
            };
            let units = m.units();
            let shape = Prefixes {
                units,
                trees_per_unit: m.trees_per_unit(),
                min_units: m.min_units().min(units),
                aggregates: (0..=units)
                    .map(|k| m.prefix_aggregate(k, &e.aggregate))
                    .collect(),
            };
            let r = select::sweep(&e, &shape, &precisions, budget, sel);
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                alphas.len(),
            );
            r
        })
        .collect();
    let mut best: Vec<Option<(Candidate, usize)>> = vec![None; precisions.len()];
    let mut smallest = usize::MAX;
    let mut scored = 0;
    for (level, r) in sweeps.into_iter().enumerate() {
        scored += r.scored;
        smallest = smallest.min(r.smallest.iter().copied().min().unwrap_or(usize::MAX));
        for (slot, found) in best.iter_mut().zip(r.best) {
            if let Some(c) = found
                && slot.as_ref().is_none_or(|(b, _)| c.beats(b))
            {
                *slot = Some((c, level));
            }
        }
    }
    let chosen = match (&best[0], best.get(1).cloned().flatten()) {
        (Some(b), Some(lower)) if lower.0.metrics.clearly_better_than(&b.0.metrics) => {
            Some((lower, precisions[1]))
        }
        (Some(b), _) => Some((b.clone(), precisions[0])),
        (None, Some(lower)) => Some((lower, precisions[1])),
        (None, None) => None,
    };
    let unconstrained_bytes = size::blob_bytes(&full);
    let Some(((candidate, level), precision)) = chosen else {
        let what = if model.min_units() == 0 {
            format!("the prior alone (0 {}s)", model.unit())
        } else if alphas.len() > 1 {
            "one tree pruned to its root".to_string()
        } else {
            format!("one {}", model.unit())
        };
        return Err(TooSmall {
            budget,
            smallest,
            what: format!(
                "{what}{}",
                if precisions.len() > 1 {
                    ", f32 values"
                } else {
                    ""
                }
            ),
            unconstrained: unconstrained_bytes,
        });
    };
    let alpha = alphas[level];
    let fitted = model.pruned(alpha).prefix(candidate.units);
    let mut ensemble = to_ir(&fitted);
    ensemble.precision = precision;
    debug_assert_eq!(size::blob_bytes(&ensemble), candidate.bytes);
    Ok(Fitted {
        leaves_before: model.prefix(candidate.units).leaves(),
        leaves_after: fitted.leaves(),
        model: fitted,
        ensemble,
        candidate,
        alpha,
        units: model.units(),
        native,
        unconstrained_bytes,
        scored,
        levels: alphas.len(),
        min_units: model.min_units(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_with_units() {
        assert_eq!(parse_bytes("16384"), Ok(16384));
        assert_eq!(parse_bytes("16K"), Ok(16384));
        assert_eq!(parse_bytes("16k"), Ok(16384));
        assert_eq!(parse_bytes("16KiB"), Ok(16384));
        assert_eq!(parse_bytes("16 KB"), Ok(16384));
        assert_eq!(parse_bytes("1M"), Ok(1 << 20));
        assert_eq!(parse_bytes("1.5MiB"), Ok(3 << 19));
        assert_eq!(parse_bytes("100B"), Ok(100));
        assert_eq!(parse_bytes("0.5K"), Ok(512));
        for bad in ["", "K", "-5", "0", "12Q", "1.2.3K", "5G", "0.0001"] {
            assert!(parse_bytes(bad).is_err(), "{bad} should be rejected");
        }
    }
}
