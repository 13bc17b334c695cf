//! The loss functions of gradient boosting: the prior (initial raw prediction), the negative gradient the trees
//! are fitted to, the leaf values ("line search" of each terminal region), and the loss reported per round.
//!
//! scikit-learn 1.9's `GradientBoosting*` definitions, in its order of operations:
//!
//! | loss | link | prior | negative gradient | leaf value over the leaf's rows |
//! | --- | --- | --- | --- | --- |
//! | `squared_error` | identity | weighted mean of `y` | `y − F` | the tree's value (mean residual) |
//! | `absolute_error` | identity | median of `y` | `+1` if `y ≥ F` else `−1` | weighted median of `y − F` |
//! | `huber` | identity | median of `y` | `y − F`, clipped to `±δ` | `m + avg(sign(r − m)·min(δ, ∣r − m∣))`, `m` the weighted median of `r = y − F` |
//! | `quantile` | identity | `α`-quantile of `y` | `α` if `y ≥ F` else `α − 1` | weighted `α`-quantile of `y − F` |
//! | `log_loss`, 2 classes | logit | `logit(p₁)` | `y − σ(F)` | `Σw·g / Σw·p(1−p)` |
//! | `log_loss`, K classes | symmetric multinomial logit | `log pₖ − mean log p` | `[y = k] − softmaxₖ(F)` | `(K−1)/K · Σw·g / Σw·p(1−p)` |
//! | `poisson` | log | `log` of the weighted mean of `y` | `y − e^F` | `Σw·(y − μ) / Σw·μ` (one Newton step) |
//!
//! - Medians and quantiles of the prior are NumPy's linearly interpolated percentiles (weighted data: scikit-learn's
//!   inverted-CDF weighted percentile); leaf medians and quantiles are always weighted percentiles, as
//!   scikit-learn computes them.
//! - Huber's `δ` is recomputed before every round as the weighted `α`-percentile of `∣y − F∣` over all training
//!   rows.
//! - Class priors are clipped to `[ε, 1 − ε]` before the link; a Newton step whose denominator is below 1e-150 is 0.
//! - `poisson` is not one of `GradientBoostingRegressor`'s losses: it follows the same scheme (a least-squares
//!   tree on the negative gradient, then a Newton step per leaf) with `HistGradientBoostingRegressor`'s log link
//!   and prior. Targets must be non-negative with a positive weighted mean.
//!
//! The reported loss (scikit-learn's `train_score_` scale) is the weighted mean of: `(y − F)²` (squared error),
//! `∣y − F∣`, the Huber loss with the current `δ`, the pinball loss, the binomial deviance `2·(log(1 + e^F) −
//! y·F)`, the multinomial cross-entropy, and the Poisson deviance `2·(y·log(y/μ) − y + μ)`.

use crate::train::numeric;

/// A gradient-boosting loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Least squares (regression).
    SquaredError,
    /// Least absolute deviation (regression).
    AbsoluteError,
    /// Huber's loss, quadratic up to the `alpha`-quantile of the absolute residuals (regression).
    Huber {
        /// The quantile of the absolute residuals where the loss turns linear, in `(0, 1)`.
        alpha: f64,
    },
    /// The pinball loss of the `alpha`-quantile (quantile regression).
    Quantile {
        /// The quantile, in `(0, 1)`.
        alpha: f64,
    },
    /// Binomial or multinomial deviance (classification).
    LogLoss,
    /// Poisson deviance with a log link (non-negative regression targets such as counts).
    Poisson,
}

impl Loss {
    /// The loss named `name` (`squared_error`, `absolute_error`, `huber`, `quantile`, `log_loss`, `poisson`), with
    /// `alpha` for `huber` and `quantile`.
    pub fn from_name(name: &str, alpha: f64) -> Option<Loss> {
        Some(match name {
            "squared_error" | "ls" => Loss::SquaredError,
            "absolute_error" | "lad" => Loss::AbsoluteError,
            "huber" => Loss::Huber { alpha },
            "quantile" => Loss::Quantile { alpha },
            "log_loss" | "deviance" => Loss::LogLoss,
            "poisson" => Loss::Poisson,
            _ => return None,
        })
    }

    /// scikit-learn's name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::SquaredError => "squared_error",
            Loss::AbsoluteError => "absolute_error",
            Loss::Huber { .. } => "huber",
            Loss::Quantile { .. } => "quantile",
            Loss::LogLoss => "log_loss",
            Loss::Poisson => "poisson",
        }
    }

    /// Whether the loss is for classification.
    pub fn is_classification(self) -> bool {
        self == Loss::LogLoss
    }

    /// What the reported loss is (for messages): `MSE`, `MAE`, `log-loss`, ….
    pub fn metric_name(self) -> &'static str {
        match self {
            Loss::SquaredError => "MSE",
            Loss::AbsoluteError => "MAE",
            Loss::Huber { .. } => "Huber loss",
            Loss::Quantile { .. } => "pinball loss",
            Loss::LogLoss => "log-loss",
            Loss::Poisson => "Poisson deviance",
        }
    }
}

/// `scipy.special.logit`: `log(p / (1 − p))`, with `log1p(s) − log1p(−s)` for `s = 2(p − ½)` near ½.
pub fn logit(p: f64) -> f64 {
    if !(0.3..=0.65).contains(&p) {
        (p / (1.0 - p)).ln()
    } else {
        let s = 2.0 * (p - 0.5);
        s.ln_1p() - (-s).ln_1p()
    }
}

/// The logistic function `1 / (1 + e^−x)`.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Softmax of `raw` (shifted by its maximum).
pub fn softmax(raw: &[f64]) -> Vec<f64> {
    let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = raw.iter().map(|r| (r - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// The prior: the constant raw prediction (one value per tree of a round) fitted to targets `y` with optional
/// sample weights `w` (`None`: unweighted, as when the data has no weight column). `n_classes` is the number of
/// classes for `log_loss`.
pub fn prior(loss: Loss, y: &[f64], w: Option<&[f64]>, n_classes: usize) -> Vec<f64> {
    match loss {
        Loss::SquaredError => vec![match w {
            None => numeric::sum(y) / y.len() as f64,
            Some(w) => numeric::average(y, w),
        }],
        Loss::AbsoluteError | Loss::Huber { .. } => vec![quantile_of(y, w, 0.5)],
        Loss::Quantile { alpha } => vec![quantile_of(y, w, alpha)],
        Loss::Poisson => {
            let mean = match w {
                None => numeric::sum(y) / y.len() as f64,
                Some(w) => numeric::average(y, w),
            };
            vec![mean.ln()]
        }
        Loss::LogLoss => {
            let mut counts = vec![0.0; n_classes];
            for (r, &c) in y.iter().enumerate() {
                counts[c as usize] += w.map_or(1.0, |w| w[r]);
            }
            let total: f64 = numeric::sum(&counts);
            let eps = f64::EPSILON;
            let p: Vec<f64> = counts
                .iter()
                .map(|c| (c / total).clamp(eps, 1.0 - eps))
                .collect();
            if n_classes == 2 {
                vec![logit(p[1])]
            } else {
                let logs: Vec<f64> = p.iter().map(|p| p.ln()).collect();
                let gmean = (numeric::sum(&logs) / n_classes as f64).exp();
                p.iter().map(|p| (p / gmean).ln()).collect()
            }
        }
    }
}

/// The `q`-quantile of `y` as scikit-learn's `DummyRegressor(strategy="quantile")` computes it.
fn quantile_of(y: &[f64], w: Option<&[f64]>, q: f64) -> f64 {
    let rank = q * 100.0;
    match w {
        None => numeric::percentile(y, rank),
        Some(w) => numeric::weighted_percentile(y, w, rank),
    }
}

/// Huber's `δ` for this round: the weighted `alpha`-percentile of `∣y − F∣` over every training row.
pub fn huber_delta(alpha: f64, y: &[f64], raw: &[f64], w: &[f64]) -> f64 {
    let abserr: Vec<f64> = y.iter().zip(raw).map(|(y, f)| (y - f).abs()).collect();
    numeric::weighted_percentile(&abserr, w, 100.0 * alpha)
}

/// The negative gradient of a single-output loss at raw prediction `f` for target `y` (`delta`: Huber's `δ`).
pub fn negative_gradient(loss: Loss, y: f64, f: f64, delta: f64) -> f64 {
    match loss {
        Loss::SquaredError => -(f - y),
        Loss::AbsoluteError => {
            if f > y {
                -1.0
            } else {
                1.0
            }
        }
        Loss::Huber { .. } => {
            let res = f - y;
            let g = if res.abs() <= delta {
                res
            } else if res >= 0.0 {
                delta
            } else {
                -delta
            };
            -g
        }
        Loss::Quantile { alpha } => {
            if y >= f {
                alpha
            } else {
                -(1.0 - alpha)
            }
        }
        Loss::LogLoss => {
            // −(expit(f) − y), scikit-learn's branch-light formula.
            let g = if f > -37.0 {
                let e = (-f).exp();
                ((1.0 - y) - y * e) / (1.0 + e)
            } else {
                f.exp() - y
            };
            -g
        }
        Loss::Poisson => -(f.exp() - y),
    }
}

/// The negative gradients of the multinomial loss for a row of raw predictions `raw` and class `y`, into `out`:
/// `[y = k] − softmaxₖ(raw)`.
pub fn multinomial_negative_gradient(raw: &[f64], y: usize, out: &mut [f64]) {
    let mut max = raw[0];
    for &r in &raw[1..] {
        if max < r {
            max = r;
        }
    }
    let mut sum = 0.0;
    for (o, &r) in out.iter_mut().zip(raw) {
        *o = (r - max).exp();
        sum += *o;
    }
    for (k, o) in out.iter_mut().enumerate() {
        let p = *o / sum;
        *o = -(p - if k == y { 1.0 } else { 0.0 });
    }
}

/// `_safe_divide`: 0 when the denominator is below 1e-150 in magnitude.
fn safe_divide(num: f64, den: f64) -> f64 {
    if den.abs() < 1e-150 { 0.0 } else { num / den }
}

/// What a leaf-value update reads: for every row of the leaf (in row order) its target, current raw prediction,
/// negative gradient and weight.
pub struct LeafRows<'a> {
    /// Targets (for the multinomial loss: 1 for the tree's class, else 0).
    pub y: &'a [f64],
    /// Raw predictions of the tree's column before this round.
    pub raw: &'a [f64],
    /// Negative gradients the tree was fitted to.
    pub neg_gradient: &'a [f64],
    /// Sample weights.
    pub w: &'a [f64],
}

/// The leaf value of a terminal region (`None`: keep the tree's own value, the mean negative gradient).
/// `n_classes` is the number of classes (`log_loss`), `delta` Huber's `δ`.
pub fn leaf_value(loss: Loss, rows: &LeafRows, n_classes: usize, delta: f64) -> Option<f64> {
    let residuals = || -> Vec<f64> { rows.y.iter().zip(rows.raw).map(|(y, f)| y - f).collect() };
    Some(match loss {
        Loss::SquaredError => return None,
        Loss::AbsoluteError => numeric::weighted_percentile(&residuals(), rows.w, 50.0),
        Loss::Quantile { alpha } => {
            numeric::weighted_percentile(&residuals(), rows.w, 100.0 * alpha)
        }
        Loss::Huber { .. } => {
            let r = residuals();
            let median = numeric::weighted_percentile(&r, rows.w, 50.0);
            let term: Vec<f64> = r
                .iter()
                .map(|r| {
                    let d = r - median;
                    let s = if d > 0.0 {
                        1.0
                    } else if d < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                    s * delta.min(d.abs())
                })
                .collect();
            median + numeric::average(&term, rows.w)
        }
        Loss::LogLoss => {
            let hess: Vec<f64> = rows
                .y
                .iter()
                .zip(rows.neg_gradient)
                .map(|(y, g)| {
                    let p = y - g;
                    p * (1.0 - p)
                })
                .collect();
            let mut num = numeric::average(rows.neg_gradient, rows.w);
            if n_classes > 2 {
                num *= (n_classes - 1) as f64 / n_classes as f64;
            }
            safe_divide(num, numeric::average(&hess, rows.w))
        }
        Loss::Poisson => {
            let mu: Vec<f64> = rows.raw.iter().map(|f| f.exp()).collect();
            safe_divide(
                numeric::average(rows.neg_gradient, rows.w),
                numeric::average(&mu, rows.w),
            )
        }
    })
}

/// `log(1 + e^x)` without overflow (scikit-learn's `log1pexp` branches).
fn log1pexp(x: f64) -> f64 {
    if x <= -37.0 {
        x.exp()
    } else if x <= -2.0 {
        x.exp().ln_1p()
    } else if x <= 18.0 {
        x + (-x).exp().ln_1p()
    } else {
        x + (-x).exp()
    }
}

/// The per-row loss of a single-output loss (scikit-learn's `train_score_` scale; see the module documentation).
pub fn row_loss(loss: Loss, y: f64, f: f64, delta: f64) -> f64 {
    match loss {
        Loss::SquaredError => (f - y) * (f - y),
        Loss::AbsoluteError => (f - y).abs(),
        Loss::Huber { .. } => {
            let a = (y - f).abs();
            if a <= delta {
                0.5 * a * a
            } else {
                delta * (a - 0.5 * delta)
            }
        }
        Loss::Quantile { alpha } => {
            if y >= f {
                alpha * (y - f)
            } else {
                (1.0 - alpha) * (f - y)
            }
        }
        Loss::LogLoss => 2.0 * (log1pexp(f) - y * f),
        Loss::Poisson => {
            let mu = f.exp();
            let ylogy = if y > 0.0 { y * (y / mu).ln() } else { 0.0 };
            2.0 * (ylogy - y + mu)
        }
    }
}

/// The multinomial cross-entropy of a row: `log Σ e^raw − raw[y]`.
pub fn multinomial_row_loss(raw: &[f64], y: usize) -> f64 {
    let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = raw.iter().map(|r| (r - max).exp()).sum();
    s.ln() + max - raw[y]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priors_follow_the_links() {
        let y = [0.0, 1.0, 1.0, 1.0];
        let p = prior(Loss::LogLoss, &y, None, 2);
        assert!((sigmoid(p[0]) - 0.75).abs() < 1e-15);
        let y3 = [0.0, 1.0, 2.0, 2.0];
        let p = prior(Loss::LogLoss, &y3, None, 3);
        assert!(p.iter().sum::<f64>().abs() < 1e-15, "symmetric: {p:?}");
        let q = softmax(&p);
        assert!((q[2] - 0.5).abs() < 1e-15 && (q[0] - 0.25).abs() < 1e-15);
        let y = [1.0, 2.0, 10.0];
        assert_eq!(prior(Loss::SquaredError, &y, None, 0), [13.0 / 3.0]);
        assert_eq!(prior(Loss::AbsoluteError, &y, None, 0), [2.0]);
        assert_eq!(prior(Loss::Poisson, &y, None, 0), [(13.0f64 / 3.0).ln()]);
        let w = [1.0, 1.0, 4.0];
        assert_eq!(prior(Loss::AbsoluteError, &y, Some(&w), 0), [10.0]);
    }

    #[test]
    fn gradients_are_derivatives_of_the_losses() {
        let h = 1e-6;
        for loss in [Loss::SquaredError, Loss::LogLoss, Loss::Poisson] {
            for (y, f) in [(0.0, 0.3), (1.0, -1.2), (1.0, 2.5)] {
                let numeric =
                    (row_loss(loss, y, f + h, 0.0) - row_loss(loss, y, f - h, 0.0)) / (2.0 * h);
                // Squared error, binomial and Poisson deviance are twice the halved losses the gradients belong to.
                let g = -negative_gradient(loss, y, f, 0.0);
                assert!((numeric / 2.0 - g).abs() < 1e-6, "{loss:?} y={y} f={f}");
            }
        }
        let raw = [0.2, -0.5, 1.0];
        let mut g = [0.0; 3];
        multinomial_negative_gradient(&raw, 1, &mut g);
        for k in 0..3 {
            let mut up = raw;
            up[k] += h;
            let mut down = raw;
            down[k] -= h;
            let d = (multinomial_row_loss(&up, 1) - multinomial_row_loss(&down, 1)) / (2.0 * h);
            assert!((d + g[k]).abs() < 1e-6);
        }
        assert_eq!(
            negative_gradient(Loss::Huber { alpha: 0.9 }, 5.0, 1.0, 2.0),
            2.0
        );
        assert_eq!(
            negative_gradient(Loss::Huber { alpha: 0.9 }, 1.5, 1.0, 2.0),
            0.5
        );
    }

    #[test]
    fn leaf_values_minimise_the_loss() {
        let y = [1.0, 2.0, 7.0];
        let raw = [0.0; 3];
        let g: Vec<f64> = y
            .iter()
            .map(|y| negative_gradient(Loss::AbsoluteError, *y, 0.0, 0.0))
            .collect();
        let rows = LeafRows {
            y: &y,
            raw: &raw,
            neg_gradient: &g,
            w: &[1.0; 3],
        };
        assert_eq!(leaf_value(Loss::AbsoluteError, &rows, 0, 0.0), Some(2.0));
        assert_eq!(leaf_value(Loss::SquaredError, &rows, 0, 0.0), None);
        // Poisson Newton step from F = 0 (μ = 1): mean(y − 1) / mean(1).
        let g: Vec<f64> = y
            .iter()
            .map(|y| negative_gradient(Loss::Poisson, *y, 0.0, 0.0))
            .collect();
        let rows = LeafRows {
            y: &y,
            raw: &raw,
            neg_gradient: &g,
            w: &[1.0; 3],
        };
        assert_eq!(leaf_value(Loss::Poisson, &rows, 0, 0.0), Some(7.0 / 3.0));
    }
}
