//! Scoring candidate models on the selection data, and the sweep over the prefixes of one ensemble.
//!
//! A candidate is the first `k` units (rounds or trees) of an ensemble at one precision. The sweep adds one unit at
//! a time, keeping each row's running margin sums and the blob size ([`SizeModel`]), scores every prefix that fits
//! the budget, and stops at the first that does not (sizes only grow with `k`). Scores come from the IR's reference
//! arithmetic in f64; an f32 candidate is scored with its leaves, weights and base margins rounded to f32 first,
//! which is how the blob stores them. A weighted median (AdaBoost.R2) keeps each row's tree outputs instead of
//! sums and takes the median of the prefix with [`crate::ir::weighted_median`].

use super::size::{SizeModel, TreeCost};
use crate::ir::{Aggregate, Compare, Ensemble, Node, Precision, Tree, weighted_median};
use crate::metrics;
use crate::train::dataset::{Dataset, Task};

/// The rows candidates are compared on.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Feature rows.
    pub rows: Vec<Vec<f32>>,
    /// Class indices (classification) or targets (regression).
    pub target: Vec<f64>,
    /// The task.
    pub task: Task,
    /// What the rows are, for the report (`the --valid data (143 rows)`).
    pub what: String,
    /// What ranks classifiers.
    pub rank: Rank,
}

impl Selection {
    /// The rows of `data`, described as `what`.
    pub fn of(data: &Dataset, what: &str) -> Selection {
        Selection {
            rows: (0..data.n_rows).map(|r| data.row(r)).collect(),
            target: data.target.clone(),
            task: data.task(),
            what: format!("{what} ({} rows)", data.n_rows),
            rank: Rank::Accuracy,
        }
    }

    /// Metrics of `predictions` (one prediction vector per row, as the core returns them).
    pub fn metrics(&self, predictions: &[Vec<f64>]) -> Metrics {
        match self.task {
            Task::Classification => {
                let proba: Vec<Vec<f64>> = predictions
                    .iter()
                    .map(|p| {
                        if p.len() == 1 {
                            vec![1.0 - p[0], p[0]]
                        } else {
                            p.clone()
                        }
                    })
                    .collect();
                let labels: Vec<usize> = self.target.iter().map(|&y| y as usize).collect();
                let m = metrics::classification(&labels, &proba);
                Metrics::Classification {
                    accuracy: m.accuracy,
                    log_loss: m.log_loss,
                    rank: self.rank,
                }
            }
            Task::Regression => {
                let p: Vec<f64> = predictions.iter().map(|p| p[0]).collect();
                let m = metrics::regression(&self.target, &p);
                Metrics::Regression {
                    r2: m.r2,
                    rmse: m.rmse,
                }
            }
        }
    }
}

/// What ranks classifiers (regressors are ranked by R², then RMSE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rank {
    /// Accuracy first, log-loss to break ties.
    #[default]
    Accuracy,
    /// Log-loss first, accuracy to break ties.
    LogLoss,
}

/// Quality of a candidate on the selection data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metrics {
    /// Classification.
    Classification {
        /// Fraction of rows classified correctly.
        accuracy: f64,
        /// Mean negative log-probability of the true class.
        log_loss: f64,
        /// Which of the two ranks first.
        rank: Rank,
    },
    /// Regression: the squared error (as R²).
    Regression {
        /// Coefficient of determination.
        r2: f64,
        /// Root mean squared error.
        rmse: f64,
    },
}

impl Metrics {
    /// `(primary, secondary)`, both larger-is-better.
    pub fn key(&self) -> (f64, f64) {
        match *self {
            Metrics::Classification {
                accuracy,
                log_loss,
                rank: Rank::Accuracy,
            } => (accuracy, -log_loss),
            Metrics::Classification {
                accuracy,
                log_loss,
                rank: Rank::LogLoss,
            } => (-log_loss, accuracy),
            Metrics::Regression { r2, rmse } => (r2, -rmse),
        }
    }

    /// Strictly better (lexicographically on [`Metrics::key`]).
    pub fn better_than(&self, other: &Metrics) -> bool {
        let (a, b) = (self.key(), other.key());
        a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
    }

    /// Better by more than a millionth (relative) of the primary metric, or equal to that tolerance and better by
    /// more than a millionth of the secondary: the margin a lower-precision candidate must win by.
    pub fn clearly_better_than(&self, other: &Metrics) -> bool {
        let tol = |x: f64| 1e-6 * x.abs().max(1e-9);
        let (a, b) = (self.key(), other.key());
        a.0 > b.0 + tol(b.0) || (a.0 >= b.0 - tol(b.0) && a.1 > b.1 + tol(b.1))
    }

    /// The headline number: accuracy or R².
    pub fn headline(&self) -> f64 {
        match *self {
            Metrics::Classification { accuracy, .. } => accuracy,
            Metrics::Regression { r2, .. } => r2,
        }
    }

    /// The headline's name.
    pub fn headline_name(&self) -> &'static str {
        match self {
            Metrics::Classification { .. } => "accuracy",
            Metrics::Regression { .. } => "R²",
        }
    }
}

impl std::fmt::Display for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metrics::Classification {
                accuracy, log_loss, ..
            } => write!(f, "accuracy {accuracy:.4}, log-loss {log_loss:.4}"),
            Metrics::Regression { r2, rmse } => write!(f, "R² {r2:.4}, RMSE {rmse:.4}"),
        }
    }
}

/// How an ensemble splits into units and how a prefix combines its trees.
#[derive(Clone, Debug)]
pub struct Prefixes {
    /// Units in the whole ensemble.
    pub units: usize,
    /// Trees per unit (one per class for multi-class boosting).
    pub trees_per_unit: usize,
    /// The fewest units a model has (0: the base margin alone is a model).
    pub min_units: usize,
    /// The aggregate of the first `k` units, for every `k` in `0..=units`.
    pub aggregates: Vec<Aggregate>,
}

/// The best candidate of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Units kept.
    pub units: usize,
    /// Blob bytes.
    pub bytes: usize,
    /// Quality on the selection data (reference arithmetic).
    pub metrics: Metrics,
}

impl Candidate {
    /// Whether `self` beats `other`: better metrics, or equal metrics and fewer bytes.
    pub fn beats(&self, other: &Candidate) -> bool {
        self.metrics.better_than(&other.metrics)
            || (self.metrics == other.metrics && self.bytes < other.bytes)
    }
}

/// What a sweep found at each precision.
#[derive(Clone, Debug, Default)]
pub struct SweepResult {
    /// The best fitting candidate per precision (indexed like the `precisions` argument).
    pub best: Vec<Option<Candidate>>,
    /// Bytes of the smallest prefix (`min_units`) at each precision.
    pub smallest: Vec<usize>,
    /// Candidates that fit and were scored.
    pub scored: usize,
}

/// The leaf `row` reaches in `tree`.
fn leaf<'a>(tree: &'a Tree, row: &[f32], compare: Compare) -> &'a Node {
    let mut i = 0;
    loop {
        match &tree.nodes[i] {
            Node::Split(s) => {
                i = if s.goes_left(row[s.feature as usize], compare) {
                    s.left
                } else {
                    s.right
                }
            }
            n => return n,
        }
    }
}

/// Scores every prefix of `e` that fits `budget` bytes at each of `precisions`.
pub fn sweep(
    e: &Ensemble,
    shape: &Prefixes,
    precisions: &[Precision],
    budget: usize,
    sel: &Selection,
) -> SweepResult {
    let n_out = e.n_outputs as usize;
    let rows = sel.rows.len();
    let mut size = SizeModel::like(e);
    let round = |x: f64, p: Precision| match p {
        Precision::F64 => x,
        Precision::F32 => x as f32 as f64,
    };
    // Running sums of the trees' weighted leaves, per precision, row and output.
    let mut sums: Vec<Vec<f64>> = precisions.iter().map(|_| vec![0.0; rows * n_out]).collect();
    // A weighted median's tree outputs so far, per precision and row.
    let median = matches!(e.aggregate, Aggregate::WeightedMedian { .. });
    let mut outputs: Vec<Vec<Vec<f64>>> =
        precisions.iter().map(|_| vec![Vec::new(); rows]).collect();
    let mut out = SweepResult {
        best: vec![None; precisions.len()],
        smallest: vec![usize::MAX; precisions.len()],
        scored: 0,
    };
    let mut predictions = vec![Vec::new(); rows];
    for k in 0..=shape.units {
        if k > 0 {
            let trees = &e.trees[(k - 1) * shape.trees_per_unit..k * shape.trees_per_unit];
            for tree in trees {
                size.add(&TreeCost::of(tree));
                for (r, row) in sel.rows.iter().enumerate() {
                    let linear;
                    let values: &[f64] = match leaf(tree, row, e.compare) {
                        Node::Leaf(v) => v,
                        Node::LinearLeaf(l) => {
                            linear = l.eval(row);
                            std::slice::from_ref(&linear)
                        }
                        Node::Split(_) => unreachable!("leaf() stops at a leaf"),
                    };
                    for (pi, &p) in precisions.iter().enumerate() {
                        let w = round(tree.weight as f64, p);
                        if median {
                            outputs[pi][r].push(round(w * round(values[0], p), p));
                            continue;
                        }
                        let s = &mut sums[pi][r * n_out..(r + 1) * n_out];
                        match tree.output {
                            Some(c) => s[c as usize] += w * round(values[0], p),
                            None => {
                                for (s, &v) in s.iter_mut().zip(values) {
                                    *s += w * round(v, p);
                                }
                            }
                        }
                    }
                }
            }
        }
        if k < shape.min_units {
            continue;
        }
        let mut any_fits = false;
        for (pi, &p) in precisions.iter().enumerate() {
            let bytes = size.bytes(p);
            if k == shape.min_units {
                out.smallest[pi] = bytes;
            }
            if bytes > budget {
                continue;
            }
            any_fits = true;
            let (div, weights) = match &shape.aggregates[k] {
                Aggregate::Sum => (1.0, None),
                Aggregate::Mean { divisor } => (*divisor, None),
                Aggregate::WeightedMedian { weights } => (1.0, Some(weights)),
            };
            for (r, pred) in predictions.iter_mut().enumerate() {
                if let Some(weights) = weights {
                    let m = weighted_median(&outputs[pi][r], weights);
                    *pred = e.transform_reference(&[round(round(e.base_margin[0], p) + m, p)]);
                    continue;
                }
                let margins: Vec<f64> = sums[pi][r * n_out..(r + 1) * n_out]
                    .iter()
                    .zip(&e.base_margin)
                    .map(|(s, &b)| round(b, p) + s / div)
                    .collect();
                *pred = e.transform_reference(&margins);
            }
            let candidate = Candidate {
                units: k,
                bytes,
                metrics: sel.metrics(&predictions),
            };
            out.scored += 1;
            if out.best[pi].as_ref().is_none_or(|b| candidate.beats(b)) {
                out.best[pi] = Some(candidate);
            }
        }
        if !any_fits {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_order() {
        let c = |accuracy, log_loss| Metrics::Classification {
            accuracy,
            log_loss,
            rank: Rank::Accuracy,
        };
        let l = |accuracy, log_loss| Metrics::Classification {
            accuracy,
            log_loss,
            rank: Rank::LogLoss,
        };
        assert!(l(0.8, 0.1).better_than(&l(0.9, 0.5)), "log-loss first");
        assert!(
            l(0.9, 0.1).better_than(&l(0.8, 0.1)),
            "accuracy breaks ties"
        );
        assert!(c(0.9, 0.5).better_than(&c(0.8, 0.1)), "accuracy first");
        assert!(
            c(0.9, 0.1).better_than(&c(0.9, 0.2)),
            "log-loss breaks ties"
        );
        assert!(!c(0.9, 0.1).better_than(&c(0.9, 0.1)));
        assert!(!c(0.9, 0.1 - 1e-9).clearly_better_than(&c(0.9, 0.1)));
        assert!(c(0.9, 0.09).clearly_better_than(&c(0.9, 0.1)));
        assert!(c(0.91, 0.2).clearly_better_than(&c(0.9, 0.1)));
        let r = |r2, rmse| Metrics::Regression { r2, rmse };
        assert!(r(0.5, 3.0).better_than(&r(0.4, 1.0)));
        assert!(!r(0.5, 1.0).clearly_better_than(&r(0.5 - 1e-9, 1.0 + 1e-9)));
        assert_eq!(r(0.5, 1.0).headline_name(), "R²");
    }
}
