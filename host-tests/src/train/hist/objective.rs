//! Learning objectives: gradients and hessians in XGBoost's `f32` arithmetic, the intercept (`base_score`) each
//! objective estimates from the training targets, the output transform, and the evaluation metric used for
//! early stopping.
//!
//! | objective | gradient `g`, hessian `h` (times the row weight `w`) | `base_score` (prediction space) | link | metric |
//! | --- | --- | --- | --- | --- |
//! | `reg:squarederror` | `m − y`, `1` | weighted mean of `y` | identity | `rmse` |
//! | `binary:logistic` | `p − y`, `max(p(1 − p), 1e-16)`, `p = σ(m)` | weighted mean of `y` | logit | `logloss` |
//! | `multi:softprob` | `pₖ − [y = k]`, `max(2pₖ(1 − pₖ), 1e-16)`, `p = softmax(m)` | `ln(πₖ + 1e-6)` centred over the classes, `πₖ` the weighted class frequency | identity | `mlogloss` |
//! | `count:poisson` | `eᵐ − y`, `e^(m + max_delta_step)` | weighted mean of `y` | log | `poisson-nloglik` |
//!
//! These are XGBoost 3.x's definitions (`src/objective/regression_obj.cu`, `multiclass_obj.cu`,
//! `init_estimation.cc`): since 2.0 XGBoost estimates `base_score` when it is not given, and since 3.1 the
//! estimate of the regression-style objectives above is the weighted mean of the target (in prediction space,
//! mapped to the margin by the link), and the multi-class intercept is the centred log of the class
//! frequencies. The sigmoid is XGBoost's `1 / (e^min(−m, 88.7) + 1 + 1e-16)` in `f32`. `count:poisson` also
//! sets the trees' `max_delta_step` to 0.7 unless it is given, as XGBoost does.
//!
//! The margin of the intercept is computed from the `f32` `base_score` exactly as XGBoost does when it loads a
//! model ([`Link::to_margin`]), so an exported XGBoost model starts from the same `f32` margin as the trainer.

use crate::import::xgboost::Link;
use crate::ir::Transform;

/// A learning objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// Squared error regression.
    SquaredError,
    /// Binary classification with the logistic loss; the prediction is the probability of class 1.
    BinaryLogistic,
    /// Multi-class classification with the softmax cross-entropy; the prediction is the class probabilities.
    MultiSoftprob,
    /// Poisson regression for counts (log link).
    CountPoisson,
}

/// The `max_delta_step` XGBoost uses for `count:poisson` (in the hessian and in the trees).
pub const POISSON_MAX_DELTA_STEP: f32 = 0.7;

/// The smallest hessian of the logistic and softmax losses.
const HESS_EPS: f32 = 1e-16;

impl Objective {
    /// Every objective, in documentation order.
    pub const ALL: [Objective; 4] = [
        Objective::SquaredError,
        Objective::BinaryLogistic,
        Objective::MultiSoftprob,
        Objective::CountPoisson,
    ];

    /// XGBoost's name (`reg:squarederror`, …).
    pub fn name(self) -> &'static str {
        match self {
            Objective::SquaredError => "reg:squarederror",
            Objective::BinaryLogistic => "binary:logistic",
            Objective::MultiSoftprob => "multi:softprob",
            Objective::CountPoisson => "count:poisson",
        }
    }

    /// The objective of an XGBoost name.
    pub fn from_name(name: &str) -> Option<Objective> {
        Objective::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The evaluation metric (XGBoost's default for the objective).
    pub fn metric_name(self) -> &'static str {
        match self {
            Objective::SquaredError => "rmse",
            Objective::BinaryLogistic => "logloss",
            Objective::MultiSoftprob => "mlogloss",
            Objective::CountPoisson => "poisson-nloglik",
        }
    }

    /// Whether the objective learns class labels.
    pub fn is_classification(self) -> bool {
        matches!(self, Objective::BinaryLogistic | Objective::MultiSoftprob)
    }

    /// The margin → prediction transform.
    pub fn transform(self) -> Transform {
        match self {
            Objective::SquaredError => Transform::Identity,
            Objective::BinaryLogistic => Transform::Sigmoid,
            Objective::MultiSoftprob => Transform::Softmax,
            Objective::CountPoisson => Transform::Exp,
        }
    }

    /// The link from `base_score` (prediction space) to the margin.
    pub fn link(self) -> Link {
        match self {
            Objective::SquaredError | Objective::MultiSoftprob => Link::Identity,
            Objective::BinaryLogistic => Link::Logit,
            Objective::CountPoisson => Link::Log,
        }
    }

    /// The trees' default `max_delta_step` under this objective (0 means none).
    pub fn default_max_delta_step(self) -> f32 {
        match self {
            Objective::CountPoisson => POISSON_MAX_DELTA_STEP,
            _ => 0.0,
        }
    }

    /// Checks the targets: labels 0/1 for `binary:logistic`, class indices below `n_outputs` for
    /// `multi:softprob`, finite values (non-negative for `count:poisson`) otherwise.
    pub fn check_targets(self, target: &[f64], n_outputs: usize) -> Result<(), String> {
        let bad = match self {
            Objective::SquaredError => target.iter().find(|y| !y.is_finite()),
            Objective::BinaryLogistic => target.iter().find(|&&y| y != 0.0 && y != 1.0),
            Objective::MultiSoftprob => target
                .iter()
                .find(|&&y| !(y >= 0.0 && y.fract() == 0.0 && y < n_outputs as f64)),
            Objective::CountPoisson => target.iter().find(|&&y| !(y.is_finite() && y >= 0.0)),
        };
        match bad {
            None => Ok(()),
            Some(y) => Err(format!(
                "target {y} does not fit {} ({})",
                self.name(),
                match self {
                    Objective::SquaredError => "finite values",
                    Objective::BinaryLogistic => "labels 0 and 1",
                    Objective::MultiSoftprob => "class indices",
                    Objective::CountPoisson => "non-negative counts",
                }
            )),
        }
    }

    /// XGBoost's estimate of `base_score` (prediction space, one per output; see the module documentation).
    /// `weights` are the row weights, if any.
    pub fn estimate_base_score(
        self,
        target: &[f64],
        weights: Option<&[f32]>,
        n_outputs: usize,
    ) -> Vec<f32> {
        let w = |i: usize| weights.map_or(1.0, |w| w[i] as f64);
        let total: f64 = (0..target.len()).map(w).sum();
        match self {
            Objective::MultiSoftprob => {
                let mut freq = vec![0.0f64; n_outputs];
                for (i, &y) in target.iter().enumerate() {
                    freq[y as usize] += w(i);
                }
                let logs: Vec<f32> = freq
                    .iter()
                    .map(|&c| ((c / total) as f32 + 1e-6).ln())
                    .collect();
                let mean = logs.iter().map(|&v| v as f64).sum::<f64>() / n_outputs as f64;
                logs.iter().map(|&v| (v as f64 - mean) as f32).collect()
            }
            _ => {
                let mean = target
                    .iter()
                    .enumerate()
                    .map(|(i, &y)| y * w(i))
                    .sum::<f64>()
                    / total;
                vec![mean as f32; n_outputs]
            }
        }
    }

    /// The margin of a `base_score` (prediction space), as XGBoost computes it in `f32`; `None` outside the
    /// link's domain.
    pub fn base_margin(self, base_score: f32) -> Option<f32> {
        self.link().to_margin(base_score)
    }

    /// Writes the gradients and hessians of rows `first_row ..` (as many as `out` holds, `n_outputs` pairs per
    /// row, row-major) from the row-major margins, the targets and the weights.
    pub fn gradients_rows(
        self,
        margins: &[f32],
        target: &[f32],
        weights: Option<&[f32]>,
        max_delta_step: f32,
        first_row: usize,
        out: &mut [GradPair],
    ) {
        match self {
            Objective::MultiSoftprob => {
                let k = margins.len() / target.len();
                for (j, o) in out.chunks_exact_mut(k).enumerate() {
                    let r = first_row + j;
                    let m = &margins[r * k..(r + 1) * k];
                    let wt = weights.map_or(1.0, |w| w[r]);
                    softmax_gradients(m, target[r], wt, o);
                }
            }
            _ => {
                for (j, o) in out.iter_mut().enumerate() {
                    let r = first_row + j;
                    let wt = weights.map_or(1.0, |w| w[r]);
                    *o = self.pair(margins[r], target[r], wt, max_delta_step);
                }
            }
        }
    }

    /// The gradient pair of one row of a single-output objective.
    fn pair(self, m: f32, y: f32, w: f32, max_delta_step: f32) -> GradPair {
        match self {
            Objective::SquaredError => GradPair {
                g: (m - y) * w,
                h: w,
            },
            Objective::BinaryLogistic => {
                let p = sigmoid(m);
                GradPair {
                    g: (p - y) * w,
                    h: (p * (1.0 - p)).max(HESS_EPS) * w,
                }
            }
            Objective::CountPoisson => GradPair {
                g: (m.exp() - y) * w,
                h: (m + max_delta_step).exp() * w,
            },
            Objective::MultiSoftprob => unreachable!("multi-output objective"),
        }
    }

    /// The metric of predictions (`n_outputs` per row, prediction space) against targets, weighted; lower is
    /// better for every metric here.
    pub fn metric(self, predictions: &[f32], target: &[f64], weights: Option<&[f64]>) -> f64 {
        let n = target.len();
        let k = predictions.len() / n.max(1);
        let mut sum = 0.0f64;
        let mut wsum = 0.0f64;
        for (i, &y) in target.iter().enumerate() {
            let w = weights.map_or(1.0, |w| w[i]);
            let p = &predictions[i * k..(i + 1) * k];
            let loss = match self {
                Objective::SquaredError => {
                    let d = y - p[0] as f64;
                    d * d
                }
                Objective::BinaryLogistic => {
                    let p = (p[0] as f64).clamp(1e-16, 1.0 - 1e-16);
                    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
                }
                Objective::MultiSoftprob => -(p[y as usize] as f64).max(1e-16).ln(),
                Objective::CountPoisson => {
                    let p = (p[0] as f64).max(1e-16);
                    ln_gamma(y + 1.0) + p - y * p.ln()
                }
            };
            sum += w * loss;
            wsum += w;
        }
        let mean = sum / wsum;
        if self == Objective::SquaredError {
            mean.sqrt()
        } else {
            mean
        }
    }
}

/// A row's gradient and hessian (`f32`, as XGBoost's `GradientPair`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct GradPair {
    /// First derivative of the loss.
    pub g: f32,
    /// Second derivative of the loss.
    pub h: f32,
}

/// XGBoost's `f32` sigmoid: `1 / (e^min(−x, 88.7) + 1 + 1e-16)`.
pub fn sigmoid(x: f32) -> f32 {
    let e = (-x).min(88.7).exp();
    1.0 / (e + 1.0 + 1e-16)
}

/// The softmax gradients of one row (XGBoost's `SoftmaxMultiClassObj::GetGradient`).
fn softmax_gradients(m: &[f32], y: f32, w: f32, out: &mut [GradPair]) {
    let mut max = f32::MIN_POSITIVE;
    for &v in m {
        max = max.max(v);
    }
    let mut sum = 0.0f64;
    for &v in m {
        sum += (v - max).exp() as f64;
    }
    let label = y as usize;
    for (k, o) in out.iter_mut().enumerate() {
        let p = (m[k] - max).exp() / sum as f32;
        let h = (2.0 * p * (1.0 - p) * w).max(HESS_EPS);
        let g = if k == label { p - 1.0 } else { p };
        *o = GradPair { g: g * w, h };
    }
}

/// `ln Γ(x)` for `x ≥ 1` (Lanczos approximation, g = 7, 9 terms; relative error below 1e-13).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection (not needed for counts, kept for completeness).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_scores_follow_xgboost() {
        let y = [0.0, 1.0, 1.0, 1.0];
        assert_eq!(
            Objective::BinaryLogistic.estimate_base_score(&y, None, 1),
            vec![0.75]
        );
        let w = [3.0f32, 1.0, 1.0, 1.0];
        assert_eq!(
            Objective::BinaryLogistic.estimate_base_score(&y, Some(&w), 1),
            vec![0.5]
        );
        let c = [0.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        let b = Objective::MultiSoftprob.estimate_base_score(&c, None, 3);
        let logs = [
            (1.0f64 / 6.0 + 1e-6).ln(),
            (2.0f64 / 6.0 + 1e-6).ln(),
            (3.0f64 / 6.0 + 1e-6).ln(),
        ];
        let mean = logs.iter().sum::<f64>() / 3.0;
        for k in 0..3 {
            assert!((b[k] as f64 - (logs[k] - mean)).abs() < 1e-6);
        }
        assert!((b.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-6);
        // The logit margin of the base score is XGBoost's f32 computation.
        assert_eq!(
            Objective::BinaryLogistic.base_margin(0.75),
            Some(-(1.0f32 / 0.75 - 1.0).ln())
        );
        assert_eq!(Objective::CountPoisson.base_margin(2.5), Some(2.5f32.ln()));
    }

    #[test]
    fn gradients_are_derivatives_of_the_losses() {
        // Central differences of each loss in f64 against the analytic gradient.
        let cases = [(0.3f32, 1.0f32), (-1.2, 0.0), (2.0, 1.0)];
        for (m, y) in cases {
            let p = Objective::BinaryLogistic.pair(m, y, 1.0, 0.0);
            let loss = |m: f64| {
                let p = 1.0 / (1.0 + (-m).exp());
                -(y as f64 * p.ln() + (1.0 - y as f64) * (1.0 - p).ln())
            };
            let e = 1e-5;
            let g = (loss(m as f64 + e) - loss(m as f64 - e)) / (2.0 * e);
            let h = (loss(m as f64 + e) - 2.0 * loss(m as f64) + loss(m as f64 - e)) / (e * e);
            assert!((p.g as f64 - g).abs() < 1e-4, "{m} {y}");
            assert!((p.h as f64 - h).abs() < 1e-3, "{m} {y}");
        }
        let p = Objective::SquaredError.pair(1.5, 1.0, 2.0, 0.0);
        assert_eq!((p.g, p.h), (1.0, 2.0));
        let p = Objective::CountPoisson.pair(0.0, 3.0, 1.0, 0.7);
        assert_eq!(p.g, -2.0);
        assert!((p.h - 0.7f32.exp()).abs() < 1e-6);
        let mut out = [GradPair::default(); 3];
        softmax_gradients(&[0.0, 0.0, 0.0], 1.0, 1.0, &mut out);
        assert!((out[0].g - 1.0 / 3.0).abs() < 1e-6);
        assert!((out[1].g + 2.0 / 3.0).abs() < 1e-6);
        assert!((out[2].h - 2.0 * (1.0 / 3.0) * (2.0 / 3.0)).abs() < 1e-6);
    }

    #[test]
    fn metrics() {
        let y = [1.0, 3.0];
        assert!(
            (Objective::SquaredError.metric(&[2.0, 3.0], &y, None) - 0.5f64.sqrt()).abs() < 1e-12
        );
        let p = [0.8f32, 0.3];
        let yb = [1.0, 0.0];
        let ll = -(0.8f32 as f64).ln() - (0.7f32 as f64).ln();
        assert!((Objective::BinaryLogistic.metric(&p, &yb, None) - ll / 2.0).abs() < 1e-9);
        assert!((ln_gamma(5.0) - 24.0f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(1.0)).abs() < 1e-12);
        let nll = Objective::CountPoisson.metric(&[2.0], &[3.0], None);
        assert!((nll - (6.0f64.ln() + 2.0 - 3.0 * 2.0f64.ln())).abs() < 1e-9);
    }
}
