//! Evaluation metrics, defined as scikit-learn defines them (unweighted).
//!
//! - accuracy: the fraction of rows whose predicted class (the first largest probability) is the label;
//! - log-loss: `−mean log p_y`, each probability clipped to `[ε, 1 − ε]` with ε the f64 machine epsilon
//!   (`sklearn.metrics.log_loss` on float64 probabilities);
//! - ROC AUC (binary): the probability that a positive row scores above a negative one, ties counting one half
//!   (the Mann–Whitney statistic, equal to the trapezoidal area under the ROC curve);
//! - RMSE, MAE, R² (`1 − SS_res / SS_tot`).

/// Classification metrics for rows of class probabilities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassificationMetrics {
    /// Fraction of rows classified correctly.
    pub accuracy: f64,
    /// Mean negative log-probability of the true class.
    pub log_loss: f64,
    /// ROC AUC of the positive class (binary problems only).
    pub auc: Option<f64>,
    /// Rows scored.
    pub rows: usize,
}

/// Regression metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionMetrics {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Rows scored.
    pub rows: usize,
}

/// Index of the first largest value.
pub fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in p.iter().enumerate() {
        if *x > p[best] {
            best = i;
        }
    }
    best
}

/// Metrics of class probabilities `proba` (one row per label, each `K` values) against class indices `labels`.
/// With two classes the AUC scores column 1.
pub fn classification(labels: &[usize], proba: &[Vec<f64>]) -> ClassificationMetrics {
    assert_eq!(labels.len(), proba.len(), "one probability row per label");
    let n = labels.len();
    let eps = f64::EPSILON;
    let mut correct = 0usize;
    let mut loss = 0.0;
    for (&y, p) in labels.iter().zip(proba) {
        if argmax(p) == y {
            correct += 1;
        }
        let py = p.get(y).copied().unwrap_or(0.0).clamp(eps, 1.0 - eps);
        loss -= py.ln();
    }
    let binary = proba.first().is_some_and(|p| p.len() == 2);
    let auc = if binary {
        let scores: Vec<f64> = proba.iter().map(|p| p[1]).collect();
        let positive: Vec<bool> = labels.iter().map(|&y| y == 1).collect();
        roc_auc(&positive, &scores)
    } else {
        None
    };
    ClassificationMetrics {
        accuracy: correct as f64 / n as f64,
        log_loss: loss / n as f64,
        auc,
        rows: n,
    }
}

/// ROC AUC of `scores` for the rows marked `positive`; `None` unless both kinds of rows are present.
pub fn roc_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (tie-averaged, 1-based) ranks of the positive rows.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * order[i..=j].iter().filter(|&&r| positive[r]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// Regression metrics of `predicted` against `actual`.
pub fn regression(actual: &[f64], predicted: &[f64]) -> RegressionMetrics {
    assert_eq!(actual.len(), predicted.len(), "one prediction per target");
    let n = actual.len() as f64;
    let mean = actual.iter().sum::<f64>() / n;
    let (mut se, mut ae, mut ss_tot) = (0.0, 0.0, 0.0);
    for (&y, &p) in actual.iter().zip(predicted) {
        se += (y - p) * (y - p);
        ae += (y - p).abs();
        ss_tot += (y - mean) * (y - mean);
    }
    RegressionMetrics {
        rmse: (se / n).sqrt(),
        mae: ae / n,
        r2: 1.0 - se / ss_tot,
        rows: actual.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_metrics_by_hand() {
        let labels = [0, 1, 1, 0];
        let proba = vec![
            vec![0.9, 0.1],
            vec![0.4, 0.6],
            vec![0.7, 0.3],
            vec![1.0, 0.0],
        ];
        let m = classification(&labels, &proba);
        assert_eq!(m.accuracy, 0.75);
        let want = -(0.9f64.ln() + 0.6f64.ln() + 0.3f64.ln() + (1.0 - f64::EPSILON).ln()) / 4.0;
        assert!((m.log_loss - want).abs() < 1e-15);
        // Positive scores 0.6, 0.3; negative 0.1, 0.0: every positive ranks above every negative.
        assert_eq!(m.auc, Some(1.0));
        assert_eq!(
            roc_auc(&[true, false, true, false], &[0.5, 0.5, 0.2, 0.9]),
            Some(0.125)
        );
        assert_eq!(roc_auc(&[true, true], &[0.5, 0.1]), None);
    }

    #[test]
    fn regression_metrics_by_hand() {
        let m = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0]);
        assert!((m.rmse - (4.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((m.mae - 2.0 / 3.0).abs() < 1e-15);
        assert!((m.r2 - (1.0 - 4.0 / 2.0)).abs() < 1e-15);
    }
}
