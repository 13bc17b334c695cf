//! The report of one `emkern train` run: what the command line hands over after training (facts, the metric lines
//! it printed), and the curves and importances of each kind of model, written to `--report`.

use std::path::Path;

use super::{ReportData, staged, write};
use crate::train::boost::Boosted;
use crate::train::cart::DecisionTree;
use crate::train::cli::TrainRequest;
use crate::train::dataset::{Dataset, Task};
use crate::train::hist::HistBooster;
use crate::train::model::TrainedModel;

/// A finished training run, as the command line saw it.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    /// The command line.
    pub req: &'a TrainRequest,
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
        mut r: ReportData,
        curves: staged::Curves,
        measure: &str,
        importances: &[f64],
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
        r.charts = curves.charts;
        r.notes = curves.notes;
        r.importances(measure, &self.data.schema.feature_names, importances);
        write(path, &r)?;
        println!("  report    {}", path.display());
        Ok(())
    }
}
