//! Impurity criteria and the running statistics of a node's split search.
//!
//! The formulas and the order of their floating-point operations are scikit-learn's (`sklearn/tree/_criterion.pyx`),
//! so that split candidates compare the same way: with integer weights (unit weights, bootstrap counts) every class
//! count is exact and the trees are identical to scikit-learn's.
//!
//! - Gini: `1 − Σ_k (w_k / w)²`; entropy: `−Σ_k p_k log₂ p_k`; squared error: `Σ w y² / w − (Σ w y / w)²`.
//! - The split search ranks candidates by a *proxy* (`−w_R·I_R − w_L·I_L` for the classification criteria,
//!   `S_L²/w_L + S_R²/w_R` for squared error) and reports the weighted impurity decrease
//!   `w_t / W · (I − w_R/w_t · I_R − w_L/w_t · I_L)` of the chosen split (`W` = the whole training weight): the
//!   quantity `min_impurity_decrease` and the feature importances use.

/// The impurity measure a tree minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// Gini impurity (classification).
    Gini,
    /// Shannon entropy in bits (classification; scikit-learn's `entropy`/`log_loss`).
    Entropy,
    /// Variance, i.e. mean squared error around the node mean (regression).
    SquaredError,
}

impl Criterion {
    /// scikit-learn's name: `gini`, `entropy`, `squared_error`.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Gini => "gini",
            Criterion::Entropy => "entropy",
            Criterion::SquaredError => "squared_error",
        }
    }

    /// Parses a name (`gini`, `entropy` or `log_loss`, `squared_error` or `mse`).
    pub fn from_name(name: &str) -> Option<Criterion> {
        Some(match name {
            "gini" => Criterion::Gini,
            "entropy" | "log_loss" => Criterion::Entropy,
            "squared_error" | "mse" => Criterion::SquaredError,
            _ => return None,
        })
    }

    /// Whether the criterion is for classification.
    pub fn is_classification(self) -> bool {
        self != Criterion::SquaredError
    }
}

fn log2(x: f64) -> f64 {
    x.ln() / 2f64.ln()
}

fn class_impurity(criterion: Criterion, sums: &[f64], w: f64) -> f64 {
    match criterion {
        Criterion::Gini => {
            let mut sq = 0.0;
            for &c in sums {
                sq += c * c;
            }
            1.0 - sq / (w * w)
        }
        Criterion::Entropy => {
            let mut e = 0.0;
            for &c in sums {
                if c > 0.0 {
                    let p = c / w;
                    e -= p * log2(p);
                }
            }
            e
        }
        Criterion::SquaredError => unreachable!("not a classification criterion"),
    }
}

/// The running sums of one node: totals, and left/right parts for a split position over the node's samples.
pub(crate) struct NodeStats {
    criterion: Criterion,
    /// Sums per class (classification) or the single weighted target sum (regression).
    sum_total: Vec<f64>,
    sum_left: Vec<f64>,
    sum_right: Vec<f64>,
    sq_sum_total: f64,
    pub(crate) w_node: f64,
    pub(crate) w_left: f64,
    pub(crate) w_right: f64,
    start: usize,
    end: usize,
    pos: usize,
}

/// The rows, targets and weights the statistics read.
pub(crate) struct Sample<'a> {
    pub(crate) y: &'a [f64],
    pub(crate) w: &'a [f64],
}

impl NodeStats {
    /// Statistics for `criterion` with `n_classes` classes (ignored for regression).
    pub(crate) fn new(criterion: Criterion, n_classes: usize) -> NodeStats {
        let k = if criterion.is_classification() {
            n_classes
        } else {
            1
        };
        NodeStats {
            criterion,
            sum_total: vec![0.0; k],
            sum_left: vec![0.0; k],
            sum_right: vec![0.0; k],
            sq_sum_total: 0.0,
            w_node: 0.0,
            w_left: 0.0,
            w_right: 0.0,
            start: 0,
            end: 0,
            pos: 0,
        }
    }

    /// Computes the totals of `samples[start..end]` and resets the split position to `start`.
    pub(crate) fn init(&mut self, s: &Sample, samples: &[u32], start: usize, end: usize) {
        self.start = start;
        self.end = end;
        self.w_node = 0.0;
        self.sq_sum_total = 0.0;
        self.sum_total.iter_mut().for_each(|v| *v = 0.0);
        for &i in &samples[start..end] {
            let i = i as usize;
            let w = s.w[i];
            if self.criterion.is_classification() {
                self.sum_total[s.y[i] as usize] += w;
            } else {
                let wy = w * s.y[i];
                self.sum_total[0] += wy;
                self.sq_sum_total += wy * s.y[i];
            }
            self.w_node += w;
        }
        self.reset();
    }

    /// Everything right of the split (position `start`).
    pub(crate) fn reset(&mut self) {
        self.pos = self.start;
        self.sum_left.iter_mut().for_each(|v| *v = 0.0);
        self.sum_right.copy_from_slice(&self.sum_total);
        self.w_left = 0.0;
        self.w_right = self.w_node;
    }

    /// Everything left of the split (position `end`).
    fn reverse_reset(&mut self) {
        self.pos = self.end;
        self.sum_right.iter_mut().for_each(|v| *v = 0.0);
        self.sum_left.copy_from_slice(&self.sum_total);
        self.w_right = 0.0;
        self.w_left = self.w_node;
    }

    /// Moves the split to `new_pos ≥ pos`: `samples[start..new_pos]` is the left part. Adds the samples between
    /// the old and the new position, or subtracts those after `new_pos` from the whole when that is shorter.
    pub(crate) fn update(&mut self, s: &Sample, samples: &[u32], new_pos: usize) {
        let classification = self.criterion.is_classification();
        if new_pos - self.pos <= self.end - new_pos {
            for &i in &samples[self.pos..new_pos] {
                let i = i as usize;
                let w = s.w[i];
                if classification {
                    self.sum_left[s.y[i] as usize] += w;
                } else {
                    self.sum_left[0] += w * s.y[i];
                }
                self.w_left += w;
            }
        } else {
            self.reverse_reset();
            for &i in samples[new_pos..self.end].iter().rev() {
                let i = i as usize;
                let w = s.w[i];
                if classification {
                    self.sum_left[s.y[i] as usize] -= w;
                } else {
                    self.sum_left[0] -= w * s.y[i];
                }
                self.w_left -= w;
            }
        }
        self.w_right = self.w_node - self.w_left;
        for k in 0..self.sum_total.len() {
            self.sum_right[k] = self.sum_total[k] - self.sum_left[k];
        }
        self.pos = new_pos;
    }

    /// The node's impurity.
    pub(crate) fn node_impurity(&self) -> f64 {
        match self.criterion {
            Criterion::SquaredError => {
                let mean = self.sum_total[0] / self.w_node;
                self.sq_sum_total / self.w_node - mean.powf(2.0)
            }
            c => class_impurity(c, &self.sum_total, self.w_node),
        }
    }

    /// The impurities of the left and right parts at the current position.
    pub(crate) fn children_impurity(&self, s: &Sample, samples: &[u32]) -> (f64, f64) {
        match self.criterion {
            Criterion::SquaredError => {
                let mut sq_left = 0.0;
                for &i in &samples[self.start..self.pos] {
                    let i = i as usize;
                    sq_left += s.w[i] * s.y[i] * s.y[i];
                }
                let sq_right = self.sq_sum_total - sq_left;
                let left = sq_left / self.w_left - (self.sum_left[0] / self.w_left).powf(2.0);
                let right = sq_right / self.w_right - (self.sum_right[0] / self.w_right).powf(2.0);
                (left, right)
            }
            c => (
                class_impurity(c, &self.sum_left, self.w_left),
                class_impurity(c, &self.sum_right, self.w_right),
            ),
        }
    }

    /// The proxy of the current split (larger is better).
    pub(crate) fn proxy(&self) -> f64 {
        proxy(
            self.criterion,
            &self.sum_left,
            self.w_left,
            &self.sum_right,
            self.w_right,
        )
    }

    /// The weighted impurity decrease of the current split, `w_total` being the whole training weight.
    pub(crate) fn improvement(&self, w_total: f64, parent: f64, left: f64, right: f64) -> f64 {
        (self.w_node / w_total)
            * (parent - (self.w_right / self.w_node * right) - (self.w_left / self.w_node * left))
    }

    /// The node's value: class fractions (classification) or the weighted mean (regression).
    pub(crate) fn node_value(&self) -> Vec<f64> {
        self.sum_total.iter().map(|s| s / self.w_node).collect()
    }

    /// The node totals (class weights, or the weighted target sum).
    pub(crate) fn totals(&self) -> &[f64] {
        &self.sum_total
    }
}

/// The proxy of a split with the given left and right sums (per class, or the weighted target sum).
pub(crate) fn proxy(
    criterion: Criterion,
    sum_left: &[f64],
    w_left: f64,
    sum_right: &[f64],
    w_right: f64,
) -> f64 {
    match criterion {
        Criterion::SquaredError => {
            sum_left[0] * sum_left[0] / w_left + sum_right[0] * sum_right[0] / w_right
        }
        c => {
            let il = class_impurity(c, sum_left, w_left);
            let ir = class_impurity(c, sum_right, w_right);
            -w_right * ir - w_left * il
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_entropy_and_variance_from_definitions() {
        let y = [0.0, 1.0, 1.0, 2.0];
        let w = [1.0, 2.0, 1.0, 4.0];
        let samples = [0u32, 1, 2, 3];
        let s = Sample { y: &y, w: &w };
        let mut g = NodeStats::new(Criterion::Gini, 3);
        g.init(&s, &samples, 0, 4);
        // weights per class: 1, 3, 4 of 8.
        let want = 1.0 - (1.0 + 9.0 + 16.0) / 64.0;
        assert!((g.node_impurity() - want).abs() < 1e-15);
        g.update(&s, &samples, 2);
        assert_eq!((g.w_left, g.w_right), (3.0, 5.0));
        let (l, r) = g.children_impurity(&s, &samples);
        assert!((l - (1.0 - (1.0 + 4.0) / 9.0)).abs() < 1e-15);
        assert!((r - (1.0 - (1.0 + 16.0) / 25.0)).abs() < 1e-15);
        // Moving backwards from the end gives the same sums.
        g.reset();
        g.update(&s, &samples, 3);
        assert_eq!(g.w_left, 4.0);

        let mut e = NodeStats::new(Criterion::Entropy, 3);
        e.init(&s, &samples, 0, 4);
        let p = [1.0 / 8.0, 3.0 / 8.0, 4.0 / 8.0];
        let want: f64 = -p.iter().map(|p: &f64| p * p.log2()).sum::<f64>();
        assert!((e.node_impurity() - want).abs() < 1e-12);

        let yr = [1.0, 2.0, 4.0, 8.0];
        let s = Sample { y: &yr, w: &w };
        let mut m = NodeStats::new(Criterion::SquaredError, 0);
        m.init(&s, &samples, 0, 4);
        let mean = (1.0 + 4.0 + 4.0 + 32.0) / 8.0;
        let var = (1.0 * (1.0 - mean) * (1.0f64 - mean)
            + 2.0 * (2.0 - mean) * (2.0 - mean)
            + (4.0 - mean) * (4.0 - mean)
            + 4.0 * (8.0 - mean) * (8.0 - mean))
            / 8.0;
        assert!((m.node_impurity() - var).abs() < 1e-12);
        assert_eq!(m.node_value(), vec![mean]);
    }
}
