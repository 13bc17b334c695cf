//! Training curves computed from trained models, without retraining: the metrics of every prefix of an ensemble
//! (the first `t` trees of a forest, the first `t` rounds of a boosted model) and of a tree cut at every depth.
//!
//! Each row's prediction is accumulated tree by tree, so scoring every prefix costs one pass over the trees per
//! row, as one prediction does. The metrics are summed over fixed chunks of rows (in parallel) and the chunks
//! added in order, so the curves do not depend on the number of threads. They follow [`crate::metrics`]:
//! accuracy (first largest probability) and log-loss (probabilities clipped to `[ε, 1 − ε]`) for
//! classification, RMSE and R² for regression, all unweighted.

use rayon::prelude::*;

use super::{Chart, Marker, Series};
use crate::metrics::argmax;
use crate::train::boost::adaboost::AdaBoost;
use crate::train::boost::gbdt::Gbdt;
use crate::train::boost::loss::{self, Loss};
use crate::train::cart::DecisionTree;
use crate::train::config::TrainConfig;
use crate::train::dataset::{Dataset, Task};
use crate::train::forest::Forest;

/// Rows per parallel work item.
const CHUNK: usize = 512;

/// Metrics of a model after each stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Staged {
    /// Classification.
    Classification {
        /// Accuracy per stage.
        accuracy: Vec<f64>,
        /// Log-loss per stage.
        log_loss: Vec<f64>,
    },
    /// Regression.
    Regression {
        /// RMSE per stage.
        rmse: Vec<f64>,
        /// R² per stage.
        r2: Vec<f64>,
    },
}

/// Emits a row's prediction after every stage: `(stage, prediction)` for stages `0, 1, …` in order, the
/// prediction being class probabilities (classification) or one value (regression).
pub type StagedPredict<'a> = dyn Fn(&[f32], &mut dyn FnMut(usize, &[f64])) + Sync + 'a;

/// Scores `data` after each of `stages` stages of `predict`.
pub fn staged_scores(data: &Dataset, stages: usize, predict: &StagedPredict) -> Staged {
    let classification = data.task() == Task::Classification;
    let n = data.n_rows;
    let rows: Vec<usize> = (0..n).collect();
    let eps = f64::EPSILON;
    let chunks: Vec<Vec<[f64; 2]>> = rows
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut sums = vec![[0.0f64; 2]; stages];
            let mut row = Vec::new();
            for &r in chunk {
                data.row_into(r, &mut row);
                let y = data.target[r];
                predict(&row, &mut |t, p| {
                    let Some(s) = sums.get_mut(t) else { return };
                    if classification {
                        let c = y as usize;
                        s[0] += f64::from(u8::from(argmax(p) == c));
                        s[1] -= p.get(c).copied().unwrap_or(0.0).clamp(eps, 1.0 - eps).ln();
                    } else {
                        s[0] += (y - p[0]) * (y - p[0]);
                    }
                });
            }
            sums
        })
        .collect();
    let mut totals = vec![[0.0f64; 2]; stages];
    for sums in chunks {
        for (t, s) in totals.iter_mut().zip(sums) {
            t[0] += s[0];
            t[1] += s[1];
        }
    }
    let rows = n as f64;
    if classification {
        Staged::Classification {
            accuracy: totals.iter().map(|s| s[0] / rows).collect(),
            log_loss: totals.iter().map(|s| s[1] / rows).collect(),
        }
    } else {
        let mean = data.target.iter().sum::<f64>() / rows;
        let ss_tot: f64 = data.target.iter().map(|y| (y - mean) * (y - mean)).sum();
        Staged::Regression {
            rmse: totals.iter().map(|s| (s[0] / rows).sqrt()).collect(),
            r2: totals.iter().map(|s| 1.0 - s[0] / ss_tot).collect(),
        }
    }
}

/// What a training curve is drawn against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Depth of a cut tree, from 0.
    Depth,
    /// Trees of a forest, from 1.
    Trees,
    /// Boosting rounds, from 1.
    Rounds,
}

impl Axis {
    /// The x of stage 0.
    fn first(self) -> f64 {
        if self == Axis::Depth { 0.0 } else { 1.0 }
    }

    /// The axis caption.
    fn label(self) -> &'static str {
        match self {
            Axis::Depth => "depth",
            Axis::Trees => "trees",
            Axis::Rounds => "round",
        }
    }

    /// `by depth`, `by number of trees`, `per round`.
    fn by(self) -> &'static str {
        match self {
            Axis::Depth => "by depth",
            Axis::Trees => "by number of trees",
            Axis::Rounds => "per round",
        }
    }
}

/// `values` at stages 0, 1, … on `axis`.
fn series(name: &str, axis: Axis, values: &[f64]) -> Series {
    Series {
        name: name.to_string(),
        points: values
            .iter()
            .enumerate()
            .map(|(i, &v)| (axis.first() + i as f64, v))
            .collect(),
    }
}

fn chart(title: &str, axis: Axis, y: &str, series: Vec<Series>) -> Chart {
    Chart {
        title: format!("{title} {}", axis.by()),
        x_label: axis.label().to_string(),
        y_label: y.to_string(),
        series,
        marker: None,
    }
}

/// The two charts of staged scores of named splits: accuracy and log-loss (classification), or RMSE and R²
/// (regression).
pub fn score_charts(axis: Axis, splits: &[(&str, &Staged)]) -> [Chart; 2] {
    let mut first = Vec::new();
    let mut second = Vec::new();
    let mut regression = false;
    for (name, s) in splits {
        match s {
            Staged::Classification { accuracy, log_loss } => {
                first.push(series(name, axis, accuracy));
                second.push(series(name, axis, log_loss));
            }
            Staged::Regression { rmse, r2 } => {
                regression = true;
                first.push(series(name, axis, rmse));
                second.push(series(name, axis, r2));
            }
        }
    }
    if regression {
        [
            chart("RMSE", axis, "RMSE", first),
            chart("R²", axis, "R²", second),
        ]
    } else {
        [
            chart("Accuracy", axis, "accuracy", first),
            chart("Log-loss", axis, "log-loss", second),
        ]
    }
}

/// The training curves of a report, and remarks on what they show.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curves {
    /// The charts.
    pub charts: Vec<Chart>,
    /// Remarks.
    pub notes: Vec<String>,
}

/// Scores of `data` and, when given, `valid` after every stage of `predict`, named `train` and `valid`.
fn train_and_valid(
    data: &Dataset,
    valid: Option<&Dataset>,
    stages: usize,
    predict: &StagedPredict,
) -> Vec<(&'static str, Staged)> {
    let mut out = vec![("train", staged_scores(data, stages, predict))];
    if let Some(v) = valid {
        out.push(("valid", staged_scores(v, stages, predict)));
    }
    out
}

fn named<'a>(splits: &'a [(&'static str, Staged)]) -> Vec<(&'static str, &'a Staged)> {
    splits.iter().map(|(n, s)| (*n, s)).collect()
}

/// A decision tree cut at every depth `0..=depth`: every node at the cut depth predicts its training rows' class
/// fractions (mean target), as a leaf would.
pub fn cart(tree: &DecisionTree, data: &Dataset, valid: Option<&Dataset>) -> Curves {
    let depth = tree.depth();
    let predict = |row: &[f32], emit: &mut dyn FnMut(usize, &[f64])| {
        let mut i = 0;
        let mut d = 0;
        loop {
            emit(d, &tree.nodes[i].value);
            match &tree.nodes[i].split {
                Some(s) => {
                    let x = row[s.feature];
                    let left = if x.is_nan() {
                        s.missing_left
                    } else {
                        s.rule.goes_left(x)
                    };
                    i = if left { s.left } else { s.right };
                    d += 1;
                }
                None => break,
            }
        }
        for rest in d + 1..=depth {
            emit(rest, &tree.nodes[i].value);
        }
    };
    let splits = train_and_valid(data, valid, depth + 1, &predict);
    let notes = vec![if depth == 0 {
        "The tree is a single leaf (depth 0): each curve is one point.".to_string()
    } else {
        format!(
            "A single tree has no rounds: the curves show the trained tree cut at each depth from 0 to {depth} (the \
             nodes at the cut predict their training rows' {}), without retraining. The last point is the trained \
             tree.",
            if data.task() == Task::Classification {
                "class fractions"
            } else {
                "mean target"
            }
        )
    }];
    Curves {
        charts: score_charts(Axis::Depth, &named(&splits)).to_vec(),
        notes,
    }
}

/// A forest's first `t` trees for `t = 1..=n_trees` (train, valid), and the out-of-bag score by number of trees
/// when it was computed.
pub fn forest(forest: &Forest, data: &Dataset, valid: Option<&Dataset>) -> Curves {
    let width = forest.trees[0].nodes[0].value.len();
    let predict = |row: &[f32], emit: &mut dyn FnMut(usize, &[f64])| {
        let mut sum = vec![0.0; width];
        let mut mean = vec![0.0; width];
        for (t, tree) in forest.trees.iter().enumerate() {
            for (s, v) in sum.iter_mut().zip(tree.predict_row(row)) {
                *s += v;
            }
            let n = (t + 1) as f64;
            for (m, s) in mean.iter_mut().zip(&sum) {
                *m = s / n;
            }
            emit(t, &mean);
        }
    };
    let splits = train_and_valid(data, valid, forest.trees.len(), &predict);
    let [mut first, mut second] = score_charts(Axis::Trees, &named(&splits));
    let mut notes = vec![
        "Train and valid: the average of the first t trees. Trees are independent, so later trees do not change \
         earlier ones: the curves show how many trees the forest needs."
            .to_string(),
    ];
    if let Some(oob) = &forest.oob {
        let s = series("OOB", Axis::Trees, &oob.by_tree);
        if data.task() == Task::Classification {
            first.series.push(s);
        } else {
            second.series.push(s);
        }
        notes.push(format!(
            "OOB: {} of the first t trees, each row averaging the trees whose bootstrap sample missed it.",
            if data.task() == Task::Classification {
                "accuracy"
            } else {
                "R²"
            }
        ));
    }
    Curves {
        charts: vec![first, second],
        notes,
    }
}

/// AdaBoost: the weighted training error of every round (`errors`, as the trainer reported them, including a
/// round whose tree was dropped) and the accuracy (SAMME) or RMSE (R2) of the first `t` trees.
pub fn adaboost(
    model: &AdaBoost,
    errors: &[f64],
    data: &Dataset,
    valid: Option<&Dataset>,
) -> Curves {
    let k = model.n_classes;
    let samme = |row: &[f32], emit: &mut dyn FnMut(usize, &[f64])| {
        let mut pred = vec![0.0; k];
        let mut norm = 0.0;
        let mut proba = vec![0.0; k];
        for (t, (tree, &w)) in model.trees.iter().zip(&model.weights).enumerate() {
            let c = argmax(tree.predict_row(row));
            let other = -1.0 / (k as f64 - 1.0) * w;
            for (j, p) in pred.iter_mut().enumerate() {
                *p += if j == c { w } else { other };
            }
            norm += w;
            if k == 2 {
                let p = loss::sigmoid((pred[1] - pred[0]) / norm);
                proba[0] = 1.0 - p;
                proba[1] = p;
            } else {
                let scaled: Vec<f64> = pred.iter().map(|v| v / norm / (k as f64 - 1.0)).collect();
                proba = loss::softmax(&scaled);
            }
            emit(t, &proba);
        }
    };
    let r2 = |row: &[f32], emit: &mut dyn FnMut(usize, &[f64])| {
        // (prediction, weight) sorted by prediction, earlier trees first among equals.
        let mut sorted: Vec<(f64, f64)> = Vec::with_capacity(model.trees.len());
        for (t, (tree, &w)) in model.trees.iter().zip(&model.weights).enumerate() {
            let p = tree.predict_row(row)[0];
            let at = sorted.partition_point(|(q, _)| q.total_cmp(&p).is_le());
            sorted.insert(at, (p, w));
            let total: f64 = sorted.iter().map(|(_, w)| w).sum();
            let mut acc = 0.0;
            let mut median = sorted[0].0;
            for &(q, w) in &sorted {
                acc += w;
                if acc >= 0.5 * total {
                    median = q;
                    break;
                }
            }
            emit(t, &[median]);
        }
    };
    let predict: &StagedPredict = if k > 0 { &samme } else { &r2 };
    let splits = train_and_valid(data, valid, model.trees.len(), predict);
    let [first, _] = score_charts(Axis::Rounds, &named(&splits));
    let error = chart(
        "Weighted training error",
        Axis::Rounds,
        "weighted error",
        vec![series("weighted error", Axis::Rounds, errors)],
    );
    let mut notes = vec![format!(
        "Weighted error: each round's tree on the reweighted training rows ({}). {}: the first t trees.",
        if k > 0 {
            "SAMME stops when it reaches 1 − 1/K"
        } else {
            "AdaBoost.R2 stops when it reaches ½"
        },
        if k > 0 { "Accuracy" } else { "RMSE" }
    )];
    if errors.len() > model.trees.len() {
        notes.push(format!(
            "The tree of round {} was no better than chance and was dropped.",
            errors.len()
        ));
    }
    Curves {
        charts: vec![error, first],
        notes,
    }
}

/// Gradient boosting: the loss it optimizes per round (training rows, validation or held-out rows) and the
/// accuracy (classification) or RMSE (regression) of the first `t` rounds on the training and validation data,
/// with the round early stopping kept marked.
pub fn gbdt(model: &Gbdt, req: &TrainConfig, data: &Dataset, valid: Option<&Dataset>) -> Curves {
    let lr = model.learning_rate;
    let classes = model.n_classes;
    let predict = |row: &[f32], emit: &mut dyn FnMut(usize, &[f64])| {
        let mut raw = model.init.clone();
        let mut out = Vec::with_capacity(raw.len().max(2));
        for (s, stage) in model.stages.iter().enumerate() {
            for (k, tree) in stage.iter().enumerate() {
                raw[k] += lr * tree.predict_row(row)[0];
            }
            out.clear();
            match (model.loss, raw.len()) {
                (Loss::LogLoss, 1) => {
                    let p = loss::sigmoid(raw[0]);
                    out.extend([1.0 - p, p]);
                }
                (Loss::LogLoss, _) => out.extend(loss::softmax(&raw)),
                (Loss::Poisson, _) => out.push(raw[0].exp()),
                _ => out.push(raw[0]),
            }
            emit(s, &out);
        }
    };
    let splits = train_and_valid(data, valid, model.stages.len(), &predict);
    let [mut scores, _] = score_charts(Axis::Rounds, &named(&splits));
    let early = req.n_iter_no_change.is_some();
    let held_out = format!(
        "held-out {:.0}%",
        100.0 * req.validation_fraction.unwrap_or(0.1)
    );
    let subsampled = req.subsample.is_some_and(|s| s < 1.0);
    let train_name = if subsampled {
        "train (in-bag)"
    } else {
        "train"
    };
    let mut loss_series = vec![series(train_name, Axis::Rounds, &model.train_loss)];
    if !model.valid_loss.is_empty() {
        let name = if valid.is_some() { "valid" } else { &held_out };
        loss_series.push(series(name, Axis::Rounds, &model.valid_loss));
    }
    let metric = model.loss.metric_name();
    let mut loss_chart = chart(metric, Axis::Rounds, metric, loss_series);
    let mut notes = vec![format!(
        "{metric}: the loss the trainer minimizes, after each round{}. {}: the first t rounds{}.",
        if subsampled {
            " (training: the round's in-bag rows)"
        } else {
            ""
        },
        if classes > 0 { "Accuracy" } else { "RMSE" },
        if early && valid.is_none() {
            " on every training row (the held-out rows included)"
        } else {
            ""
        }
    )];
    if early {
        let kept = model.stages.len();
        let marker = Marker {
            x: kept as f64,
            label: format!("kept: {kept} rounds"),
        };
        loss_chart.marker = Some(marker.clone());
        scores.marker = Some(marker);
        notes.push(format!(
            "Early stopping trained {} rounds and kept the first {kept} (the best {} loss).",
            model.rounds_trained,
            if valid.is_some() {
                "validation".to_string()
            } else {
                held_out.clone()
            }
        ));
    }
    Curves {
        charts: vec![loss_chart, scores],
        notes,
    }
}

/// Histogram gradient boosting: XGBoost's evaluation metric per round on the training and validation data, with
/// the best round marked when early stopping kept it.
pub fn hist(metric: &str, train: &[f64], valid: &[f64], best: Option<usize>) -> Curves {
    let mut s = vec![series("train", Axis::Rounds, train)];
    if !valid.is_empty() {
        s.push(series("valid", Axis::Rounds, valid));
    }
    let mut c = chart(metric, Axis::Rounds, metric, s);
    let mut notes = vec![format!(
        "{metric}: the evaluation metric XGBoost prints for this objective, after each round."
    )];
    if let Some(b) = best {
        c.marker = Some(Marker {
            x: (b + 1) as f64,
            label: format!("best round {}", b + 1),
        });
        notes.push(format!(
            "Early stopping trained {} rounds; the model keeps rounds 1..={} (the best validation {metric}).",
            valid.len(),
            b + 1
        ));
    }
    Curves {
        charts: vec![c],
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;
    use crate::train::dataset::{DatasetSpec, FeatureKind, Schema};

    fn dataset(columns: Vec<Vec<f32>>, target: Vec<f64>, task: Task) -> Dataset {
        let classes = (task == Task::Classification).then(|| {
            let k = target.iter().fold(0.0f64, |m, &y| m.max(y)) as usize + 1;
            (0..k).map(|c| c.to_string()).collect()
        });
        let schema = Schema {
            feature_names: (0..columns.len()).map(|i| format!("x{i}")).collect(),
            kinds: vec![FeatureKind::Numeric; columns.len()],
            target_name: "y".into(),
            weight_name: None,
            classes,
        };
        Dataset::from_columns(schema, columns, target, None).unwrap()
    }

    #[test]
    fn staged_scores_equal_the_metrics_of_each_stage() {
        let d = dataset(
            vec![vec![0.0, 1.0, 2.0, 3.0]],
            vec![0.0, 1.0, 1.0, 0.0],
            Task::Classification,
        );
        // Stage t predicts p(class 1) = (t + 1) / 4 for every row.
        let predict = |_: &[f32], emit: &mut dyn FnMut(usize, &[f64])| {
            for t in 0..3 {
                let p = (t + 1) as f64 / 4.0;
                emit(t, &[1.0 - p, p]);
            }
        };
        let Staged::Classification { accuracy, log_loss } = staged_scores(&d, 3, &predict) else {
            panic!("classification data");
        };
        for t in 0..3 {
            let p = (t + 1) as f64 / 4.0;
            let m = metrics::classification(&d.class_indices(), &vec![vec![1.0 - p, p]; 4]);
            assert_eq!(accuracy[t], m.accuracy);
            assert!((log_loss[t] - m.log_loss).abs() < 1e-15);
        }
        let r = dataset(
            vec![vec![0.0, 1.0, 2.0]],
            vec![1.0, 2.0, 4.0],
            Task::Regression,
        );
        let predict = |row: &[f32], emit: &mut dyn FnMut(usize, &[f64])| {
            emit(0, &[0.0]);
            emit(1, &[row[0] as f64 + 1.0]);
        };
        let Staged::Regression { rmse, r2 } = staged_scores(&r, 2, &predict) else {
            panic!("regression data");
        };
        let m = metrics::regression(&r.target, &[0.0, 0.0, 0.0]);
        assert!((rmse[0] - m.rmse).abs() < 1e-15 && (r2[0] - m.r2).abs() < 1e-15);
        let m = metrics::regression(&r.target, &[1.0, 2.0, 3.0]);
        assert!((rmse[1] - m.rmse).abs() < 1e-15 && (r2[1] - m.r2).abs() < 1e-15);
    }

    #[test]
    fn curves_end_at_the_trained_models_scores() {
        use crate::train::cart::TreeParams;
        use crate::train::forest::{ForestKind, ForestParams};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/iris_train.csv");
        let spec = DatasetSpec {
            target: "label".into(),
            ..DatasetSpec::default()
        };
        let d = Dataset::from_csv(&path, &spec).unwrap();
        let labels = d.class_indices();
        let score = |predict: &dyn Fn(&[f32]) -> Vec<f64>| {
            let proba: Vec<Vec<f64>> = (0..d.n_rows).map(|r| predict(&d.row(r))).collect();
            metrics::classification(&labels, &proba)
        };

        let tree = DecisionTree::train(&d, &TreeParams::new(Task::Classification), 0).unwrap();
        let curves = cart(&tree, &d, None);
        let acc = &curves.charts[0].series[0].points;
        assert_eq!(acc.len(), tree.depth() + 1);
        assert_eq!(acc[0].0, 0.0);
        let m = score(&|row| tree.predict_row(row).to_vec());
        assert_eq!(acc.last().unwrap().1, m.accuracy);
        // The root predicts the majority class: accuracy is its share.
        let majority = (0..3)
            .map(|c| labels.iter().filter(|&&y| y == c).count())
            .max()
            .unwrap();
        assert_eq!(acc[0].1, majority as f64 / d.n_rows as f64);

        let mut fp = ForestParams::new(ForestKind::RandomForest, Task::Classification);
        fp.n_estimators = 12;
        fp.oob_score = true;
        let f = Forest::train(&d, &fp, &|_| {}).unwrap();
        let curves = forest(&f, &d, Some(&d));
        let [acc, ll] = [&curves.charts[0], &curves.charts[1]];
        assert_eq!(acc.series.len(), 3, "train, valid, OOB");
        assert!(acc.series.iter().all(|s| s.points.len() == 12));
        let m = score(&|row| f.predict_row(row));
        assert_eq!(acc.series[0].points[11].1, m.accuracy);
        assert!((ll.series[0].points[11].1 - m.log_loss).abs() < 1e-12);
        let oob = f.oob.as_ref().unwrap();
        assert_eq!(acc.series[2].points[11].1, oob.score);
    }

    fn load(name: &str, target: &str) -> Dataset {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../data/{name}.csv"));
        let spec = DatasetSpec {
            target: target.into(),
            ..DatasetSpec::default()
        };
        Dataset::from_csv(&path, &spec).unwrap()
    }

    /// Metrics of `predict` on every row of `d`: (accuracy, log-loss) or (RMSE, R²).
    fn final_scores(d: &Dataset, predict: &dyn Fn(&[f32]) -> Vec<f64>) -> (f64, f64) {
        let rows: Vec<Vec<f64>> = (0..d.n_rows).map(|r| predict(&d.row(r))).collect();
        if d.task() == Task::Classification {
            let m = metrics::classification(&d.class_indices(), &rows);
            (m.accuracy, m.log_loss)
        } else {
            let p: Vec<f64> = rows.iter().map(|p| p[0]).collect();
            let m = metrics::regression(&d.target, &p);
            (m.rmse, m.r2)
        }
    }

    #[test]
    fn boosting_curves_end_at_the_trained_models_scores() {
        use crate::train::boost::adaboost::AdaBoostParams;
        use crate::train::boost::gbdt::GbdtParams;
        use crate::train::config::Algo;
        let req = TrainConfig::new(Algo::Gbdt, "d.csv".into(), "y".into(), "m.emk".into());
        for (name, target) in [
            ("iris_train", "label"),
            ("breast_cancer_train", "label"),
            ("diabetes_train", "target"),
        ] {
            let d = load(name, target);
            let mut p = GbdtParams::new(d.task());
            p.n_estimators = 7;
            let g = Gbdt::train(&d, &p, None, &mut |_| {}).unwrap();
            let curves = gbdt(&g, &req, &d, None);
            let loss = &curves.charts[0].series[0].points;
            assert_eq!(loss.len(), 7);
            assert_eq!(loss[6].1, g.train_loss[6]);
            let scores = &curves.charts[1].series[0].points;
            assert_eq!(scores.len(), 7);
            let (first, _) = final_scores(&d, &|row| {
                if d.task() == Task::Classification {
                    g.predict_proba(row)
                } else {
                    g.predict_row(row)
                }
            });
            assert!(
                (scores[6].1 - first).abs() < 1e-12,
                "{name}: {} vs {first}",
                scores[6].1
            );

            let mut p = AdaBoostParams::new(d.task());
            p.n_estimators = 6;
            let mut errors = Vec::new();
            let a = AdaBoost::train(&d, &p, &mut |r| errors.push(r.error)).unwrap();
            let curves = adaboost(&a, &errors, &d, None);
            assert_eq!(curves.charts[0].series[0].points.len(), errors.len());
            let scores = &curves.charts[1].series[0].points;
            assert_eq!(scores.len(), a.trees.len());
            let (first, _) = final_scores(&d, &|row| {
                if d.task() == Task::Classification {
                    a.predict_proba(row)
                } else {
                    a.predict_row(row)
                }
            });
            let last = scores.last().unwrap().1;
            assert!((last - first).abs() < 1e-12, "{name}: {last} vs {first}");
        }
    }

    #[test]
    fn oob_r2_by_tree_ends_at_the_oob_score() {
        use crate::train::forest::{ForestKind, ForestParams};
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/diabetes_train.csv");
        let spec = DatasetSpec {
            target: "target".into(),
            ..DatasetSpec::default()
        };
        let d = Dataset::from_csv(&path, &spec).unwrap();
        let mut fp = ForestParams::new(ForestKind::RandomForest, Task::Regression);
        fp.n_estimators = 15;
        fp.oob_score = true;
        let f = Forest::train(&d, &fp, &|_| {}).unwrap();
        let oob = f.oob.as_ref().unwrap();
        assert_eq!(oob.by_tree.len(), 15);
        assert!((oob.by_tree[14] - oob.score).abs() < 1e-9, "{oob:?}");
        // More trees leave fewer rows without an out-of-bag tree: the first scores are on fewer rows but defined.
        assert!(oob.by_tree.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn hist_curves_mark_the_best_round() {
        let c = hist("logloss", &[0.5, 0.4, 0.3], &[0.6, 0.5, 0.55], Some(1));
        assert_eq!(c.charts.len(), 1);
        assert_eq!(c.charts[0].series.len(), 2);
        assert_eq!(c.charts[0].marker.as_ref().unwrap().x, 2.0);
        let c = hist("rmse", &[1.0], &[], None);
        assert_eq!(c.charts[0].series.len(), 1);
        assert!(c.charts[0].marker.is_none());
    }
}
