//! The report of one `emkern train` run: what the training run hands over after training (facts, the metric lines
//! it printed), and the curves and importances of each kind of model, written to `--report`.

use std::path::Path;

use crate::output::Outputs;

use super::{ReportData, staged, write};
use crate::train::boost::Boosted;
use crate::train::cart::DecisionTree;
use crate::train::config::TrainConfig;
use crate::train::dataset::{Dataset, Task};
use crate::train::hist::HistBooster;
use crate::train::model::TrainedModel;

/// What a stack's report shows besides a [`Run`]'s facts (`emkern train --algo stack`).
#[derive(Clone, Debug, Default)]
pub struct StackReport {
    /// The bases, comma-separated, in order.
    pub bases: String,
    /// The cross-validation: folds, stratification, seed.
    pub cv: String,
    /// The meta-model and how it was fitted.
    pub meta_model: String,
    /// The meta-model's weights, one line per margin.
    pub meta_weights: Vec<String>,
    /// Each base's share of the meta-model's margin (`rf 0.620, hist-gbdt 0.380`).
    pub base_shares: String,
    /// Base models fitted (folds and the refits on all rows).
    pub base_fits: usize,
    /// Trees in the exported model.
    pub trees: usize,
    /// Nodes (splits and leaves) in the exported model.
    pub nodes: usize,
    /// Each base's metric lines as printed, labelled `oof (rf)`, `train (rf)`, `valid (rf)`.
    pub base_rows: Vec<(String, String)>,
    /// The stacked model's feature importances (see the stack's `feature_importances`).
    pub importances: Vec<f64>,
}

/// Why a stack's report has no curve.
pub const STACK_NO_CURVE: &str = "No training curve: a stack is not grown in stages. Each base is fitted whole \
     (on every fold's complement, then on all rows) and the meta-model in one solve, so there is no round, tree or \
     depth count along which the stack's metric could be drawn. The table lists each base's metrics (out-of-fold \
     on the training rows; refitted on all rows, on the training and validation rows) next to the stack's. The \
     importances are the bases' own (impurity decrease, or gain for hist-gbdt) weighted by each base's share of \
     the meta-model's margin (|weight| × standard deviation of its out-of-fold inputs), normalized to sum to 1.";

/// A finished training run, as the run saw it.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    /// The command's output files (the report is written through them).
    pub outputs: &'a Outputs,
    /// The run's options.
    pub req: &'a TrainConfig,
    /// The training data.
    pub data: &'a Dataset,
    /// The validation data.
    pub valid: Option<&'a Dataset>,
    /// The parameters, as printed or as the blob's source line describes them.
    pub parameters: String,
    /// Training time.
    pub seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// The blob written and its size in bytes, or why none was.
    pub blob: Result<(String, usize), String>,
    /// The metric lines printed, by split: `("train", "accuracy 0.9561  …  (455 rows)")`.
    pub printed: Vec<(&'static str, String)>,
}

impl Run<'_> {
    /// The report of a decision tree or a forest (curves by depth or by number of trees), when asked for.
    pub fn trees(mut self, model: &TrainedModel) -> Result<(), String> {
        let Some(path) = &self.req.report else {
            return Ok(());
        };
        let curves = match model {
            TrainedModel::Tree(t) => staged::cart(t, self.data, self.valid),
            TrainedModel::Forest(f) => staged::forest(f, self.data, self.valid),
        };
        if let TrainedModel::Forest(f) = model
            && let Some(oob) = &f.oob
        {
            let what = if self.data.task() == Task::Classification {
                "accuracy"
            } else {
                "R²"
            };
            // The numbers of the printed `oob` line.
            self.printed.push((
                "OOB",
                format!("{what} {:.4}  ({} rows)", oob.score, oob.rows),
            ));
        }
        let trees: Vec<&DecisionTree> = model.trees().iter().collect();
        let imp = model.feature_importances();
        self.write(path, &trees, curves, "impurity decrease (share)", &imp)
    }

    /// The report of AdaBoost (with the weighted `errors` the trainer reported per round) or gradient boosting,
    /// when asked for.
    pub fn boosted(self, model: &Boosted, errors: &[f64]) -> Result<(), String> {
        let Some(path) = &self.req.report else {
            return Ok(());
        };
        let curves = match model {
            Boosted::AdaBoost(a) => staged::adaboost(a, errors, self.data, self.valid),
            Boosted::Gbdt(g) => staged::gbdt(g, self.req, self.data, self.valid),
        };
        let imp = model.feature_importances();
        self.write(
            path,
            &model.trees(),
            curves,
            "impurity decrease (share)",
            &imp,
        )
    }

    /// The report of histogram gradient boosting, with the training metric after every round (`train_curve`),
    /// when asked for.
    pub fn hist(self, model: &HistBooster, train_curve: &[f64]) -> Result<(), String> {
        let Some(path) = &self.req.report else {
            return Ok(());
        };
        let curves = staged::hist(
            model.objective.metric_name(),
            train_curve,
            &model.history,
            model.best_iteration,
        );
        let mut r = self.start();
        r.fact("trees", model.trees.len());
        r.fact(
            "nodes",
            model.trees.iter().map(|t| t.nodes.len()).sum::<usize>(),
        );
        r.fact(
            "leaves",
            model.trees.iter().map(|t| t.n_leaves()).sum::<usize>(),
        );
        r.fact(
            "depth",
            model.trees.iter().map(|t| t.depth()).max().unwrap_or(0),
        );
        self.finish(
            path,
            r,
            curves,
            "share of the total gain",
            &model.feature_importances(),
        )
    }

    /// The report of a stack, when asked for: the stack's facts and meta weights, the stack's and every base's
    /// metrics, no curve (see [`STACK_NO_CURVE`]), the stacked importances.
    pub fn stack(self, s: &StackReport) -> Result<(), String> {
        let Some(path) = &self.req.report else {
            return Ok(());
        };
        let mut r = self.start();
        r.fact("bases", &s.bases);
        r.fact("cross-validation", &s.cv);
        r.fact("meta-model", &s.meta_model);
        let many = s.meta_weights.len() > 1;
        for (o, w) in s.meta_weights.iter().enumerate() {
            // A multi-class line starts `margin o: `, which the fact's name says instead.
            let w = w
                .split_once(": ")
                .filter(|_| many)
                .map_or(w.as_str(), |(_, w)| w);
            if many {
                r.fact(&format!("meta weights (margin {o})"), w);
            } else {
                r.fact("meta weights", w);
            }
        }
        r.fact("base shares of the meta margin", &s.base_shares);
        r.fact("base fits", s.base_fits);
        r.fact("trees", s.trees);
        r.fact("nodes", s.nodes);
        let curves = staged::Curves {
            charts: Vec::new(),
            notes: vec![STACK_NO_CURVE.to_string()],
        };
        self.finish_with(
            path,
            r,
            curves,
            "bases' importances × meta share",
            &s.importances,
            &s.base_rows,
        )
    }

    /// Writes the report of a model made of `trees`.
    fn write(
        &self,
        path: &Path,
        trees: &[&DecisionTree],
        curves: staged::Curves,
        measure: &str,
        importances: &[f64],
    ) -> Result<(), String> {
        let mut r = self.start();
        r.fact("trees", trees.len());
        r.fact("nodes", trees.iter().map(|t| t.nodes.len()).sum::<usize>());
        r.fact("leaves", trees.iter().map(|t| t.n_leaves()).sum::<usize>());
        r.fact("depth", trees.iter().map(|t| t.depth()).max().unwrap_or(0));
        self.finish(path, r, curves, measure, importances)
    }

    /// The report's first facts: algorithm, task, data and parameters.
    fn start(&self) -> ReportData {
        let mut r = ReportData::for_run(self.req, self.data, self.valid);
        // The blob's source line starts `emkern-host <version> train: `; the summary needs what follows.
        let parameters = self
            .parameters
            .split_once(" train: ")
            .map_or(self.parameters.as_str(), |(_, p)| p);
        r.fact("parameters", parameters);
        r
    }

    /// Adds the blob, time, metrics, curves and importances to `r`, writes it and says so on stdout.
    fn finish(
        &self,
        path: &Path,
        r: ReportData,
        curves: staged::Curves,
        measure: &str,
        importances: &[f64],
    ) -> Result<(), String> {
        self.finish_with(path, r, curves, measure, importances, &[])
    }

    /// [`Self::finish`], with metric rows (`(split, printed line)`) after the run's own.
    fn finish_with(
        &self,
        path: &Path,
        mut r: ReportData,
        curves: staged::Curves,
        measure: &str,
        importances: &[f64],
        extra_rows: &[(String, String)],
    ) -> Result<(), String> {
        match &self.blob {
            Ok((file, bytes)) => r.fact("blob", format!("{file}: {bytes} bytes")),
            Err(why) => r.fact("blob", format!("not written: {why}")),
        }
        r.fact("training time", format!("{:.3} s", self.seconds));
        r.fact("threads", self.threads);
        for (split, line) in &self.printed {
            r.metrics_line(split, line);
        }
        for (split, line) in extra_rows {
            r.metrics_line(split, line);
        }
        r.charts = curves.charts;
        r.notes = curves.notes;
        r.importances(measure, &self.data.schema.feature_names, importances);
        write(path, &r, self.outputs)?;
        crate::say!("  report    {}", path.display());
        Ok(())
    }
}
