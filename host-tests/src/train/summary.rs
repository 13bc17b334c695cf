//! The lines a training run prints about a model: its metrics and its most important features.

use std::path::Path;

use emkern::forest::Forest as CoreForest;

use super::dataset::{Dataset, Task};
use crate::metrics;

/// Prints the first line of a run of `what` on `data` (read from `path`): its size and its task.
pub(crate) fn print_start(what: &str, path: &Path, data: &Dataset) {
    crate::say!(
        "emkern train: {what} on {} ({} rows, {} features), {}",
        path.display(),
        data.n_rows,
        data.n_features(),
        match &data.schema.classes {
            Some(c) => format!("classification: {} classes ({})", c.len(), c.join(", ")),
            None => "regression".into(),
        }
    );
}

/// Prints the metrics line `scored` gives for the training data and for the validation data, if any; returns
/// the lines with their split's name, for the report.
pub(crate) fn print_scores(
    data: &Dataset,
    valid: Option<&Dataset>,
    mut scored: impl FnMut(&Dataset) -> String,
) -> Vec<(&'static str, String)> {
    let mut printed = vec![("train", scored(data))];
    crate::say!("  train     {}", printed[0].1);
    if let Some(v) = valid {
        printed.push(("valid", scored(v)));
        crate::say!("  valid     {}", printed[1].1);
    }
    printed
}

/// Prints where the blob went, its size, bytes per node and the worst case of node visits per row.
pub(crate) fn print_blob(output: &Path, core: &CoreForest) {
    let s = core.summary();
    crate::say!(
        "  blob      {}: {} bytes, {} bytes/node, worst case {} node visits per row",
        output.display(),
        s.blob_bytes,
        s.node_bytes,
        crate::describe::Cost::of(core).node_visits
    );
}

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
