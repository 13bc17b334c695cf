//! The lines a training run prints about a model: its metrics and its most important features.

use super::dataset::{Dataset, Task};
use crate::metrics;

/// The metrics line `train` prints for `predictions` on `data` (one row per data row: the class probabilities, or
/// P(class 1) alone for a binary model, or the regression value): accuracy, log-loss and AUC, or RMSE, MAE and
/// R², then `extra` if not empty, then the row count. The report parses these lines.
pub(crate) fn metrics_summary(data: &Dataset, predictions: Vec<Vec<f64>>, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("  {extra}")
    };
    match data.task() {
        Task::Classification => {
            let proba: Vec<Vec<f64>> = predictions
                .into_iter()
                .map(|p| {
                    if p.len() == 1 {
                        vec![1.0 - p[0], p[0]]
                    } else {
                        p
                    }
                })
                .collect();
            let m = metrics::classification(&data.class_indices(), &proba);
            let mut line = format!("accuracy {:.4}  log-loss {:.4}", m.accuracy, m.log_loss);
            if let Some(a) = m.auc {
                line += &format!("  AUC {a:.4}");
            }
            line + &format!("{extra}  ({} rows)", m.rows)
        }
        Task::Regression => {
            let p: Vec<f64> = predictions.iter().map(|p| p[0]).collect();
            let m = metrics::regression(&data.target, &p);
            format!(
                "RMSE {:.4}  MAE {:.4}  R² {:.4}{extra}  ({} rows)",
                m.rmse, m.mae, m.r2, m.rows
            )
        }
    }
}

/// Prints the five most important features (importance > 0) in decreasing order, ties by index, as
/// `  features  name 0.123, …` followed by `suffix`.
pub(crate) fn print_top_features(names: &[String], imp: &[f64], suffix: &str) {
    let mut order: Vec<usize> = (0..imp.len()).collect();
    order.sort_by(|&a, &b| imp[b].total_cmp(&imp[a]).then(a.cmp(&b)));
    let top: Vec<String> = order
        .iter()
        .take(5)
        .filter(|&&f| imp[f] > 0.0)
        .map(|&f| format!("{} {:.3}", names.get(f).map_or("?", String::as_str), imp[f]))
        .collect();
    if !top.is_empty() {
        crate::say!("  features  {}{suffix}", top.join(", "));
    }
}
