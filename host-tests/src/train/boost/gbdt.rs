//! Gradient boosting (Friedman, 2001) with scikit-learn 1.9's `GradientBoostingClassifier` and
//! `GradientBoostingRegressor` semantics.
//!
//! The model starts from the [prior](super::loss::prior) and adds `n_estimators` rounds. Each round computes the
//! negative gradient of the loss at the current raw predictions, fits one least-squares regression tree to it
//! per output column (one column for regression and binary classification, one per class for multi-class
//! `log_loss`), replaces each leaf's value by the loss's line search over the leaf's rows
//! ([`loss::leaf_value`]), and adds `learning_rate × leaf value` to the raw predictions.
//!
//! - Trees are [CART trees](crate::train::cart) with the squared-error criterion (scikit-learn 1.9 fits its
//!   gradient-boosting trees with `criterion="squared_error"`; the former `friedman_mse` option is deprecated
//!   and has no effect), `max_depth` 3 by default and all of the CART limits.
//! - `subsample < 1` fits each round's trees on `max(1, ⌊subsample · n⌋)` rows drawn without replacement
//!   (scikit-learn's `_random_sample_mask`); the leaf values use those rows only, while every row's raw
//!   prediction is updated.
//! - Randomness comes from one [`RandomState`] seeded with `seed`, drawn in scikit-learn's order: the round's
//!   subsample, then one splitter state per tree. With the same seed, data and parameters, the trees are
//!   scikit-learn's `random_state=seed` trees.
//! - Early stopping ([`EarlyStopping`]) scores a validation set after every round: the `--valid` data if given,
//!   else scikit-learn's `train_test_split` of the training rows (stratified for classifiers). Training stops at
//!   the first round whose validation loss does not improve on any of the last `n_iter_no_change` losses by more
//!   than `tol` (scikit-learn's rule), and the model is truncated to the round with the lowest validation loss.
//!   (scikit-learn keeps every round up to the one that stopped training; its predictions at our best round are
//!   the ones this model makes.)
//! - The trees of a multi-class round are independent given the round's gradients; they are fitted in parallel
//!   with the splitter states drawn beforehand in order, so the model does not depend on the thread count.

use std::borrow::Cow;

use rayon::prelude::*;

use super::loss::{self, LeafRows, Loss};
use super::split;
use crate::ir::{Aggregate, Compare, Ensemble, Node, Precision, Transform};
use crate::train::TrainError;
use crate::train::cart::{self, ClassWeight, DecisionTree, TreeParams};
use crate::train::criterion::Criterion;
use crate::train::dataset::{Dataset, Task};
use crate::train::model::tree_to_ir;
use crate::train::numeric;
use crate::train::random_state::RandomState;
use crate::train::rng::SplitterRng;

/// Early stopping on a validation set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Stop when this many rounds in a row do not improve the validation loss by more than `tol`.
    pub n_iter_no_change: usize,
    /// The fraction of the training rows held out when no validation data is given.
    pub validation_fraction: f64,
    /// The improvement that counts.
    pub tol: f64,
}

impl EarlyStopping {
    /// scikit-learn's defaults with `n_iter_no_change` rounds: a 10% validation split, `tol` 1e-4.
    pub fn new(n_iter_no_change: usize) -> EarlyStopping {
        EarlyStopping {
            n_iter_no_change,
            validation_fraction: 0.1,
            tol: 1e-4,
        }
    }
}

/// Gradient-boosting parameters (scikit-learn's names and defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct GbdtParams {
    /// The loss.
    pub loss: Loss,
    /// Boosting rounds.
    pub n_estimators: usize,
    /// Shrinkage of every tree's contribution, above 0.
    pub learning_rate: f64,
    /// Fraction of the rows each round's trees see, in `(0, 1]`.
    pub subsample: f64,
    /// Parameters of the trees (the criterion must be squared error; class weights are not supported).
    pub tree: TreeParams,
    /// Early stopping, if any.
    pub early_stopping: Option<EarlyStopping>,
    /// Seed of the [`RandomState`] (scikit-learn's `random_state`).
    pub seed: u32,
    /// Worker threads for the trees of a multi-class round (`None`: one per core). Results do not depend on it.
    pub threads: Option<usize>,
}

impl GbdtParams {
    /// scikit-learn's defaults for `task`: `log_loss` or `squared_error`, 100 rounds, learning rate 0.1, no
    /// subsampling, trees of depth at most 3 on all features.
    pub fn new(task: Task) -> GbdtParams {
        let mut tree = TreeParams::new(Task::Regression);
        tree.max_depth = Some(3);
        GbdtParams {
            loss: match task {
                Task::Classification => Loss::LogLoss,
                Task::Regression => Loss::SquaredError,
            },
            n_estimators: 100,
            learning_rate: 0.1,
            subsample: 1.0,
            tree,
            early_stopping: None,
            seed: 0,
            threads: None,
        }
    }

    fn validate(&self, data: &Dataset) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        match (data.task(), self.loss.is_classification()) {
            (Task::Classification, false) => {
                return bad(format!(
                    "loss {} is for regression, the target is a classification target (use log_loss)",
                    self.loss.name()
                ));
            }
            (Task::Regression, true) => {
                return bad(
                    "loss log_loss is for classification, the target is a regression target".into(),
                );
            }
            _ => {}
        }
        if let Loss::Huber { alpha } | Loss::Quantile { alpha } = self.loss
            && !(alpha > 0.0 && alpha < 1.0)
        {
            return bad(format!("alpha must be in (0, 1), got {alpha}"));
        }
        if self.n_estimators == 0 {
            return bad("n_estimators must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!(
                "learning_rate must be a positive number, got {}",
                self.learning_rate
            ));
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0) {
            return bad(format!(
                "subsample must be in (0, 1], got {}",
                self.subsample
            ));
        }
        if self.tree.criterion != Criterion::SquaredError {
            return bad(format!(
                "gradient boosting fits regression trees to gradients: the criterion is squared_error, not {}",
                self.tree.criterion.name()
            ));
        }
        if self.tree.class_weight != ClassWeight::None {
            return bad("gradient boosting takes sample weights, not class weights".into());
        }
        if let Some(es) = &self.early_stopping {
            if es.n_iter_no_change == 0 {
                return bad("n_iter_no_change must be at least 1".into());
            }
            if es.tol.is_nan() || es.tol < 0.0 {
                return bad(format!("tol must be non-negative, got {}", es.tol));
            }
        }
        Ok(())
    }
}

/// What a finished round reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Round {
    /// Rounds done (1-based).
    pub round: usize,
    /// Rounds asked for.
    pub total: usize,
    /// The training loss (in-bag rows when subsampling), on the scale of [`Loss::metric_name`].
    pub train_loss: f64,
    /// The validation loss, when there is validation data.
    pub valid_loss: Option<f64>,
}

/// A trained gradient-boosting model.
#[derive(Clone, Debug, PartialEq)]
pub struct Gbdt {
    /// The loss it was trained with.
    pub loss: Loss,
    /// Classes (classification) or 0 (regression).
    pub n_classes: usize,
    /// Features a row has.
    pub n_features: usize,
    /// The shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// The prior: one raw value per output column.
    pub init: Vec<f64>,
    /// The rounds kept, each with one tree per output column; leaf values are the line-search values (before the
    /// learning rate).
    pub stages: Vec<Vec<DecisionTree>>,
    /// The training loss after each round trained (including rounds dropped by early stopping).
    pub train_loss: Vec<f64>,
    /// The validation loss after each round, when there was validation data.
    pub valid_loss: Vec<f64>,
    /// Rounds trained before stopping (`stages.len()` unless early stopping truncated the model).
    pub rounds_trained: usize,
}

/// One output column's working state during training.
struct Column {
    /// A regression copy of the training data whose target is the column's negative gradient.
    work: Dataset,
    /// Raw predictions of the training rows.
    raw: Vec<f64>,
    /// Raw predictions of the validation rows.
    raw_valid: Vec<f64>,
}

impl Gbdt {
    /// Trains a model on `data`. `valid` is scored after every round (and used for early stopping when it is
    /// configured); `progress` is called after every round.
    pub fn train(
        data: &Dataset,
        params: &GbdtParams,
        valid: Option<&Dataset>,
        progress: &mut dyn FnMut(&Round),
    ) -> Result<Gbdt, TrainError> {
        params.validate(data)?;
        if let Some(v) = valid
            && v.n_features() != data.n_features()
        {
            return Err(TrainError::Invalid(format!(
                "the validation data has {} features, the training data {}",
                v.n_features(),
                data.n_features()
            )));
        }
        // The rows the trees see and the rows that are scored.
        let (train, scored): (Cow<Dataset>, Option<Cow<Dataset>>) =
            match (&params.early_stopping, valid) {
                (Some(es), None) => {
                    let stratify =
                        (data.task() == Task::Classification).then_some(&data.target[..]);
                    let (tr, te) = split::train_test_split(
                        data.n_rows,
                        es.validation_fraction,
                        params.seed,
                        stratify,
                    )?;
                    (
                        Cow::Owned(split::subset(data, &tr, "training part")),
                        Some(Cow::Owned(split::subset(data, &te, "validation part"))),
                    )
                }
                (_, v) => (Cow::Borrowed(data), v.map(Cow::Borrowed)),
            };
        let train = train.as_ref();
        let scored = scored.as_deref();
        let n = train.n_rows;
        let n_classes = train.n_classes();
        let y = &train.target;
        let w: Vec<f64> = train.weights.clone().unwrap_or_else(|| vec![1.0; n]);
        let total = numeric::sum(&w);
        if total.is_nan() || total <= 0.0 {
            return Err(TrainError::Invalid(
                "no training row has a positive weight".into(),
            ));
        }
        if n_classes > 0 {
            let mut present = vec![false; n_classes];
            for (&c, &wr) in y.iter().zip(&w) {
                if wr > 0.0 {
                    present[c as usize] = true;
                }
            }
            let k = present.iter().filter(|&&p| p).count();
            if k < 2 {
                return Err(TrainError::Invalid(format!(
                    "log_loss needs rows of at least 2 classes with a positive weight, found {k}"
                )));
            }
            if scored.is_some()
                && params.early_stopping.is_some()
                && valid.is_none()
                && k < n_classes
            {
                return Err(TrainError::Invalid(
                    "the training part of the early-stopping split misses a class; use another seed".into(),
                ));
            }
        }
        if params.loss == Loss::Poisson {
            if let Some(r) = y.iter().position(|&v| v < 0.0) {
                return Err(TrainError::Invalid(format!(
                    "poisson needs non-negative targets; row {r} has {}",
                    y[r]
                )));
            }
            let mean = numeric::average(y, &w);
            if mean.is_nan() || mean <= 0.0 {
                return Err(TrainError::Invalid(
                    "poisson needs a positive mean target".into(),
                ));
            }
        }
        let n_columns = if params.loss == Loss::LogLoss && n_classes > 2 {
            n_classes
        } else {
            1
        };
        let init = loss::prior(params.loss, y, train.weights.as_deref(), n_classes);
        let rows = train.rows_row_major();
        let nf = train.n_features();
        let valid_rows = scored.map(Dataset::rows_row_major);
        let n_valid = scored.map_or(0, |v| v.n_rows);
        let valid_w: Vec<f64> = scored.map_or_else(Vec::new, |v| {
            v.weights.clone().unwrap_or_else(|| vec![1.0; v.n_rows])
        });
        let base = regression_view(train);
        let mut columns: Vec<Column> = (0..n_columns)
            .map(|k| Column {
                work: base.clone(),
                raw: vec![init[k]; n],
                raw_valid: vec![init[k]; n_valid],
            })
            .collect();
        drop(base);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(params.threads.unwrap_or(0))
            .build()
            .map_err(|e| TrainError::Invalid(format!("cannot start the worker threads: {e}")))?;

        let mut rng = RandomState::new(params.seed);
        let subsampling = params.subsample < 1.0;
        let n_inbag = ((params.subsample * n as f64) as usize).max(1);
        let mut in_bag = vec![true; n];
        let mut stages: Vec<Vec<DecisionTree>> = Vec::new();
        let mut train_loss = Vec::new();
        let mut valid_loss = Vec::new();
        let mut history = params
            .early_stopping
            .map(|es| vec![f64::INFINITY; es.n_iter_no_change]);
        let mut delta = 0.0;
        let mut neg_gradient = vec![vec![0.0; n]; n_columns];
        for i in 0..params.n_estimators {
            if subsampling {
                random_sample_mask(&mut in_bag, n_inbag, &mut rng);
            }
            if let Loss::Huber { alpha } = params.loss {
                delta = loss::huber_delta(alpha, y, &columns[0].raw, &w);
            }
            if n_columns == 1 {
                for (r, g) in neg_gradient[0].iter_mut().enumerate() {
                    *g = loss::negative_gradient(params.loss, y[r], columns[0].raw[r], delta);
                }
            } else {
                let mut raw_row = vec![0.0; n_columns];
                let mut g_row = vec![0.0; n_columns];
                for r in 0..n {
                    for (k, c) in columns.iter().enumerate() {
                        raw_row[k] = c.raw[r];
                    }
                    loss::multinomial_negative_gradient(&raw_row, y[r] as usize, &mut g_row);
                    for (k, g) in g_row.iter().enumerate() {
                        neg_gradient[k][r] = *g;
                    }
                }
            }
            let tree_w: Cow<[f64]> = if subsampling {
                Cow::Owned(
                    w.iter()
                        .zip(&in_bag)
                        .map(|(w, &b)| if b { *w } else { 0.0 })
                        .collect(),
                )
            } else {
                Cow::Borrowed(&w)
            };
            let states: Vec<u32> = (0..n_columns).map(|_| rng.splitter_state()).collect();
            let ctx = StageContext {
                params,
                y,
                w: &tree_w,
                in_bag: &in_bag,
                rows: &rows,
                valid_rows: valid_rows.as_deref(),
                nf,
                n_columns,
                n_classes,
                delta,
            };
            let fit = |(k, (col, g)): (usize, (&mut Column, &Vec<f64>))| {
                ctx.fit_column(k, col, g, states[k])
            };
            let trees: Vec<DecisionTree> = if n_columns == 1 {
                columns
                    .iter_mut()
                    .zip(&neg_gradient)
                    .enumerate()
                    .map(fit)
                    .collect::<Result<_, _>>()?
            } else {
                pool.install(|| {
                    columns
                        .par_iter_mut()
                        .zip(neg_gradient.par_iter())
                        .enumerate()
                        .map(fit)
                        .collect::<Result<_, _>>()
                })?
            };
            stages.push(trees);

            let bag: Option<&[bool]> = subsampling.then_some(&in_bag[..]);
            let tl = score(params.loss, y, &w, &columns, |c| &c.raw, delta, bag);
            train_loss.push(tl);
            let vl = scored.map(|v| {
                score(
                    params.loss,
                    &v.target,
                    &valid_w,
                    &columns,
                    |c| &c.raw_valid,
                    delta,
                    None,
                )
            });
            if let Some(vl) = vl {
                valid_loss.push(vl);
            }
            progress(&Round {
                round: i + 1,
                total: params.n_estimators,
                train_loss: tl,
                valid_loss: vl,
            });
            if let (Some(h), Some(es), Some(vl)) = (&mut history, &params.early_stopping, vl) {
                if h.iter().any(|&past| vl + es.tol < past) {
                    let len = h.len();
                    h[i % len] = vl;
                } else {
                    break;
                }
            }
        }
        let rounds_trained = stages.len();
        if params.early_stopping.is_some() {
            let best = (0..valid_loss.len())
                .min_by(|&a, &b| valid_loss[a].total_cmp(&valid_loss[b]).then(a.cmp(&b)))
                .unwrap_or(0);
            stages.truncate(best + 1);
        }
        Ok(Gbdt {
            loss: params.loss,
            n_classes,
            n_features: data.n_features(),
            learning_rate: params.learning_rate,
            init,
            stages,
            train_loss,
            valid_loss,
            rounds_trained,
        })
    }

    /// Raw predictions (the decision function): the prior plus `learning_rate ×` every tree's leaf value, added in
    /// round order.
    pub fn decision_function(&self, row: &[f32]) -> Vec<f64> {
        let mut raw = self.init.clone();
        for stage in &self.stages {
            for (k, tree) in stage.iter().enumerate() {
                raw[k] += self.learning_rate * tree.predict_row(row)[0];
            }
        }
        raw
    }

    /// The prediction the exported model makes: the probability of class 1 (binary), the class probabilities
    /// (multi-class), the mean (`poisson`: `e^raw`) or the raw value (other regression losses).
    pub fn predict_row(&self, row: &[f32]) -> Vec<f64> {
        let raw = self.decision_function(row);
        match (self.loss, raw.len()) {
            (Loss::LogLoss, 1) => vec![loss::sigmoid(raw[0])],
            (Loss::LogLoss, _) => loss::softmax(&raw),
            (Loss::Poisson, _) => vec![raw[0].exp()],
            _ => raw,
        }
    }

    /// Class probabilities (classification): `[1 − p, p]` for two classes.
    pub fn predict_proba(&self, row: &[f32]) -> Vec<f64> {
        let p = self.predict_row(row);
        if p.len() == 1 {
            vec![1.0 - p[0], p[0]]
        } else {
            p
        }
    }

    /// All trees, round by round.
    pub fn trees(&self) -> impl Iterator<Item = &DecisionTree> {
        self.stages.iter().flatten()
    }

    /// Impurity-based feature importances (scikit-learn's `feature_importances_`): the mean over the trees with a
    /// split of their unnormalised importances, normalised to sum to 1.
    pub fn feature_importances(&self) -> Vec<f64> {
        let trees: Vec<&DecisionTree> = self.trees().filter(|t| t.nodes.len() > 1).collect();
        let mut sum = vec![0.0; self.n_features];
        for t in &trees {
            for (s, v) in sum.iter_mut().zip(unnormalised_importances(t)) {
                *s += v;
            }
        }
        let total: f64 = sum.iter().sum();
        if total > 0.0 {
            sum.iter_mut().for_each(|s| *s /= total);
        }
        sum
    }

    /// The ensemble IR: base margin = the prior, one scalar-leaf tree per round and column with leaves
    /// `learning_rate × value`, summed, then the sigmoid (binary), softmax (multi-class), exp (`poisson`) or
    /// identity.
    pub fn to_ensemble(&self, feature_names: Option<Vec<String>>, source: &str) -> Ensemble {
        let mut trees = Vec::new();
        for stage in &self.stages {
            for (k, tree) in stage.iter().enumerate() {
                let mut t = tree_to_ir(tree, false);
                for node in &mut t.nodes {
                    if let Node::Leaf(v) = node {
                        v[0] *= self.learning_rate;
                    }
                }
                t.output = Some(k as u32);
                trees.push(t);
            }
        }
        let transform = match (self.loss, self.init.len()) {
            (Loss::LogLoss, 1) => Transform::Sigmoid,
            (Loss::LogLoss, _) => Transform::Softmax,
            (Loss::Poisson, _) => Transform::Exp,
            _ => Transform::Identity,
        };
        Ensemble {
            n_features: self.n_features as u32,
            n_outputs: self.init.len() as u32,
            trees,
            base_margin: self.init.clone(),
            compare: Compare::LessEqual,
            aggregate: Aggregate::Sum,
            transform,
            precision: Precision::F64,
            feature_names,
            source: source.to_string(),
            input_f64: false,
        }
    }
}

/// What every column of a round shares.
struct StageContext<'a> {
    params: &'a GbdtParams,
    y: &'a [f64],
    w: &'a [f64],
    in_bag: &'a [bool],
    rows: &'a [f32],
    valid_rows: Option<&'a [f32]>,
    nf: usize,
    n_columns: usize,
    n_classes: usize,
    delta: f64,
}

impl StageContext<'_> {
    /// Fits column `k`'s tree to its negative gradient `g`, sets its leaf values, and updates the column's raw
    /// predictions.
    fn fit_column(
        &self,
        k: usize,
        col: &mut Column,
        g: &[f64],
        state: u32,
    ) -> Result<DecisionTree, TrainError> {
        col.work.target.copy_from_slice(g);
        let mut tree = cart::fit(
            &col.work,
            &self.params.tree,
            self.w,
            SplitterRng::from_state(state),
        )?;
        let n = self.y.len();
        let leaf_of: Vec<usize> = (0..n)
            .map(|r| tree.leaf_index(&self.rows[r * self.nf..(r + 1) * self.nf]))
            .collect();
        if self.params.loss != Loss::SquaredError {
            // The target of the line search: the class indicator for multi-class log-loss.
            let yk: Cow<[f64]> = if self.n_columns > 1 {
                Cow::Owned(
                    self.y
                        .iter()
                        .map(|&c| if c as usize == k { 1.0 } else { 0.0 })
                        .collect(),
                )
            } else {
                Cow::Borrowed(self.y)
            };
            let mut members: Vec<Vec<usize>> = vec![Vec::new(); tree.nodes.len()];
            for (r, &leaf) in leaf_of.iter().enumerate() {
                if self.in_bag[r] {
                    members[leaf].push(r);
                }
            }
            for (leaf, rows) in members.iter().enumerate() {
                if tree.nodes[leaf].split.is_some() || rows.is_empty() {
                    continue;
                }
                let gather = |v: &[f64]| -> Vec<f64> { rows.iter().map(|&r| v[r]).collect() };
                let (ly, lraw, lg, lw) = (gather(&yk), gather(&col.raw), gather(g), gather(self.w));
                let lr = LeafRows {
                    y: &ly,
                    raw: &lraw,
                    neg_gradient: &lg,
                    w: &lw,
                };
                if let Some(v) = loss::leaf_value(self.params.loss, &lr, self.n_classes, self.delta)
                {
                    tree.nodes[leaf].value = vec![v];
                }
            }
        }
        let lr = self.params.learning_rate;
        for (r, &leaf) in leaf_of.iter().enumerate() {
            col.raw[r] += lr * tree.nodes[leaf].value[0];
        }
        if let Some(vrows) = self.valid_rows {
            for (r, raw) in col.raw_valid.iter_mut().enumerate() {
                *raw += lr * tree.predict_row(&vrows[r * self.nf..(r + 1) * self.nf])[0];
            }
        }
        Ok(tree)
    }
}

/// A regression copy of `data` (its target is replaced by gradients during training).
fn regression_view(data: &Dataset) -> Dataset {
    let mut d = data.clone();
    d.schema.classes = None;
    if data.task() == Task::Classification {
        d.target.iter_mut().for_each(|t| *t = 0.0);
    }
    d
}

/// scikit-learn's `_random_sample_mask`: `n_inbag` of the rows, each kept when `u · (n − i) < n_inbag − kept`.
fn random_sample_mask(mask: &mut [bool], n_inbag: usize, rng: &mut RandomState) {
    let n = mask.len();
    let u: Vec<f64> = (0..n).map(|_| rng.random_sample()).collect();
    let mut kept = 0usize;
    for (i, m) in mask.iter_mut().enumerate() {
        *m = u[i] * ((n - i) as f64) < (n_inbag - kept) as f64;
        if *m {
            kept += 1;
        }
    }
}

/// The weighted mean loss of the rows (those of `bag`, if given) at the columns' raw predictions.
fn score<'a>(
    loss: Loss,
    y: &[f64],
    w: &[f64],
    columns: &'a [Column],
    raw_of: impl Fn(&'a Column) -> &'a Vec<f64>,
    delta: f64,
    bag: Option<&[bool]>,
) -> f64 {
    let raws: Vec<&Vec<f64>> = columns.iter().map(raw_of).collect();
    let mut values = Vec::with_capacity(y.len());
    let mut weights = Vec::with_capacity(y.len());
    let mut raw_row = vec![0.0; raws.len()];
    for r in 0..y.len() {
        if bag.is_some_and(|b| !b[r]) {
            continue;
        }
        let v = if raws.len() == 1 {
            loss::row_loss(loss, y[r], raws[0][r], delta)
        } else {
            for (k, raw) in raws.iter().enumerate() {
                raw_row[k] = raw[r];
            }
            loss::multinomial_row_loss(&raw_row, y[r] as usize)
        };
        values.push(v);
        weights.push(w[r]);
    }
    numeric::average(&values, &weights)
}

/// A tree's impurity-based importances before normalisation: per feature, `Σ (w·I − w_L·I_L − w_R·I_R)` over its
/// splits, divided by the root's weight.
pub(crate) fn unnormalised_importances(tree: &DecisionTree) -> Vec<f64> {
    let mut imp = vec![0.0; tree.n_features];
    for node in &tree.nodes {
        if let Some(s) = &node.split {
            let (l, r) = (&tree.nodes[s.left], &tree.nodes[s.right]);
            imp[s.feature] += node.weighted_n_samples * node.impurity
                - l.weighted_n_samples * l.impurity
                - r.weighted_n_samples * r.impurity;
        }
    }
    let root = tree.nodes[0].weighted_n_samples;
    imp.iter_mut().for_each(|v| *v /= root);
    imp
}
