//! The boosting loop: gradients from the current margins, one tree per output per round, the training margins
//! updated from the trees' leaf assignments (XGBoost's prediction cache), an evaluation metric on validation data,
//! and early stopping that keeps the best round.
//!
//! Margins are `f32` and every tree's leaf is added in tree order, starting from the intercept's `f32` margin: the
//! arithmetic of XGBoost's predictor and of the `no_std` core's `f32` models, so the trainer's margins, the
//! exported blob's and an exported XGBoost model's are the same bits.
//!
//! Random draws (row subsamples, column sets) come from one [`SplitMix64`] stream seeded with
//! [`HistParams::seed`], one seed per tree in tree order; every parallel step assembles its results in a fixed
//! order, so a model depends only on its data, parameters and seed — never on [`HistParams::threads`].

use rayon::prelude::*;

use super::bins::{BinnedMatrix, DEFAULT_MAX_BIN, MAX_BINS};
use super::grow::{GrowPolicy, Grower, TreeParams};
use super::objective::{GradPair, Objective, sigmoid};
use super::sample::{ColumnSampler, subsample_rows};
use super::split::SplitParams;
use super::tree::HistTree;
use crate::ir::{Aggregate, Compare, Ensemble, Precision, Transform};
use crate::train::TrainError;
use crate::train::dataset::{Dataset, FeatureKind, Task};
use crate::train::rng::SplitMix64;

/// Training parameters, with XGBoost's names and defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct HistParams {
    /// The objective; `None` picks `binary:logistic` (two classes), `multi:softprob` (more) or
    /// `reg:squarederror` (regression) from the data.
    pub objective: Option<Objective>,
    /// Boosting rounds (trees per output).
    pub n_estimators: usize,
    /// Learning rate (`eta`, 0.3).
    pub eta: f32,
    /// Deepest leaf (6); 0 for no limit (then `lossguide` or `max_leaves` must bound the trees).
    pub max_depth: u32,
    /// Most leaves per tree (0: no limit).
    pub max_leaves: u32,
    /// Growth order.
    pub grow_policy: GrowPolicy,
    /// L2 penalty (`lambda`, 1).
    pub lambda: f32,
    /// L1 penalty (`alpha`, 0).
    pub alpha: f32,
    /// Smallest loss reduction of a split (`gamma`, 0).
    pub gamma: f32,
    /// Smallest hessian sum of a child (1).
    pub min_child_weight: f32,
    /// Largest absolute leaf weight; `None`: 0.7 for `count:poisson`, none otherwise.
    pub max_delta_step: Option<f32>,
    /// Most value bins of a numeric feature (256).
    pub max_bin: usize,
    /// Fraction of rows per tree (1).
    pub subsample: f32,
    /// Fraction of features per tree (1).
    pub colsample_bytree: f32,
    /// Fraction of the tree's features per depth (1).
    pub colsample_bylevel: f32,
    /// Fraction of the level's features per node (1).
    pub colsample_bynode: f32,
    /// Monotone constraint per feature (−1, 0, 1); missing entries are 0.
    pub monotone: Vec<i8>,
    /// Categorical features with fewer categories than this are split one-vs-rest (4).
    pub max_cat_to_onehot: u32,
    /// Most categories a partition-based categorical split considers (64).
    pub max_cat_threshold: u32,
    /// Stop when the validation metric has not improved for this many rounds, keeping the best round.
    pub early_stopping_rounds: Option<usize>,
    /// The intercept in prediction space (`None`: estimated from the targets, as XGBoost does).
    pub base_score: Option<f32>,
    /// Seed of every random draw.
    pub seed: u64,
    /// Worker threads (`None`: one per core). The model does not depend on it.
    pub threads: Option<usize>,
}

impl Default for HistParams {
    fn default() -> HistParams {
        HistParams {
            objective: None,
            n_estimators: 100,
            eta: 0.3,
            max_depth: 6,
            max_leaves: 0,
            grow_policy: GrowPolicy::Depthwise,
            lambda: 1.0,
            alpha: 0.0,
            gamma: 0.0,
            min_child_weight: 1.0,
            max_delta_step: None,
            max_bin: DEFAULT_MAX_BIN,
            subsample: 1.0,
            colsample_bytree: 1.0,
            colsample_bylevel: 1.0,
            colsample_bynode: 1.0,
            monotone: Vec::new(),
            max_cat_to_onehot: 4,
            max_cat_threshold: 64,
            early_stopping_rounds: None,
            base_score: None,
            seed: 0,
            threads: None,
        }
    }
}

/// What the trainer reports after each round.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoundReport<'a> {
    /// Rounds done (1-based).
    pub round: usize,
    /// Rounds asked for.
    pub n_rounds: usize,
    /// The validation metric after this round, with validation data.
    pub metric: Option<f64>,
    /// The best round so far (0-based) and its metric, with validation data.
    pub best: Option<(usize, f64)>,
    /// The training rows' margins after this round (row-major, `n_outputs` per row): XGBoost's prediction cache,
    /// from which [`eval_metric`] gives the training metric XGBoost would print.
    pub train_margins: &'a [f32],
}

/// The evaluation metric of `margins` (row-major, `k` per row) against `target`: the objective's transform in
/// `f32` (XGBoost's own sigmoid for `binary:logistic`), then [`Objective::metric`].
pub fn eval_metric(
    objective: Objective,
    margins: &[f32],
    k: usize,
    target: &[f64],
    weights: Option<&[f64]>,
) -> f64 {
    let mut pred = margins.to_vec();
    for p in pred.chunks_mut(k) {
        if objective == Objective::BinaryLogistic {
            p[0] = sigmoid(p[0]);
        } else {
            transform_f32(objective.transform(), p);
        }
    }
    objective.metric(&pred, target, weights)
}

/// A trained histogram gradient-boosting model.
#[derive(Clone, Debug, PartialEq)]
pub struct HistBooster {
    /// The objective.
    pub objective: Objective,
    /// Features a row has.
    pub n_features: usize,
    /// Margin columns (classes for `multi:softprob`, else 1).
    pub n_outputs: usize,
    /// The intercept in prediction space, per output.
    pub base_score: Vec<f32>,
    /// The intercept's margin, per output (from `base_score` through the objective's link, in `f32`).
    pub base_margin: Vec<f32>,
    /// Trees in order: round by round, one per output in output order.
    pub trees: Vec<HistTree>,
    /// The output column of each tree.
    pub tree_info: Vec<u32>,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// Which features are categorical.
    pub categorical: Vec<bool>,
    /// The `max_delta_step` used (the objective's and the trees').
    pub max_delta_step: f32,
    /// The validation metric after each round trained (with validation data).
    pub history: Vec<f64>,
    /// The kept round (0-based) when early stopping chose one.
    pub best_iteration: Option<usize>,
    /// Rounds trained (including any past the best round that early stopping dropped).
    pub rounds_trained: usize,
}

/// The objective a dataset gets without an explicit one.
pub fn default_objective(data: &Dataset) -> Objective {
    match data.task() {
        Task::Classification if data.n_classes() > 2 => Objective::MultiSoftprob,
        Task::Classification => Objective::BinaryLogistic,
        Task::Regression => Objective::SquaredError,
    }
}

fn check_fraction(name: &str, v: f32) -> Result<(), TrainError> {
    if v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(TrainError::Invalid(format!("{name} {v} is outside (0, 1]")))
    }
}

fn check_non_negative(name: &str, v: f32) -> Result<(), TrainError> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(TrainError::Invalid(format!(
            "{name} {v} must be a finite number ≥ 0"
        )))
    }
}

/// Applies the output transform to `n_outputs` margins in place, in `f32` as the core computes it.
pub fn transform_f32(t: Transform, m: &mut [f32]) {
    match t {
        Transform::Sigmoid => {
            for v in m.iter_mut() {
                *v = 1.0 / (1.0 + (-*v).exp());
            }
        }
        Transform::Exp => {
            for v in m.iter_mut() {
                *v = v.exp();
            }
        }
        Transform::Softmax => {
            let max = m.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f32;
            for v in m.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            for v in m.iter_mut() {
                *v /= sum;
            }
        }
        _ => {}
    }
}

impl HistBooster {
    /// Trains on `data`, evaluating on `valid` after every round when given; `progress` hears about every round
    /// (in round order, from the training thread).
    pub fn train(
        data: &Dataset,
        valid: Option<&Dataset>,
        params: &HistParams,
        progress: &(dyn Fn(&RoundReport<'_>) + Sync),
    ) -> Result<HistBooster, TrainError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(params.threads.unwrap_or(0))
            .build()
            .map_err(|e| TrainError::Invalid(format!("cannot start the worker threads: {e}")))?;
        pool.install(|| train_inner(data, valid, params, progress))
    }

    /// The trees of the first `rounds` rounds.
    fn rounds(&self) -> usize {
        self.trees.len() / self.n_outputs
    }

    /// Raw margins of one row (`n_outputs` values), `f32` sums in tree order from the intercept.
    pub fn predict_margin(&self, row: &[f32]) -> Vec<f32> {
        let mut m = self.base_margin.clone();
        for (t, &k) in self.trees.iter().zip(&self.tree_info) {
            m[k as usize] += t.nodes[t.leaf(row)].value;
        }
        m
    }

    /// The prediction of one row: probabilities (classification), the mean (regression, Poisson).
    pub fn predict(&self, row: &[f32]) -> Vec<f32> {
        let mut m = self.predict_margin(row);
        transform_f32(self.objective.transform(), &mut m);
        m
    }

    /// Feature importances by total gain (the sum of the loss reductions of a feature's splits), normalized to
    /// sum to 1 (all zero without splits).
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut imp = vec![0.0f64; self.n_features];
        for t in &self.trees {
            for n in &t.nodes {
                if !n.is_leaf() {
                    imp[n.feature as usize] += n.loss_change as f64;
                }
            }
        }
        let total: f64 = imp.iter().sum();
        if total > 0.0 {
            for v in &mut imp {
                *v /= total;
            }
        }
        imp
    }

    /// The model in the ensemble IR: XGBoost's semantics (`x < t` on `f32`, NaN to the learned side, category
    /// sets going right), `f32` leaves and sums from the intercept's margin, the objective's transform.
    pub fn to_ensemble(&self) -> Ensemble {
        Ensemble {
            n_features: self.n_features as u32,
            n_outputs: self.n_outputs as u32,
            trees: self
                .trees
                .iter()
                .zip(&self.tree_info)
                .map(|(t, &k)| t.to_ir(k))
                .collect(),
            base_margin: self.base_margin.iter().map(|&m| m as f64).collect(),
            compare: Compare::Less,
            aggregate: Aggregate::Sum,
            transform: self.objective.transform(),
            precision: Precision::F32,
            feature_names: Some(self.feature_names.clone()),
            source: format!(
                "emkern hist-gbdt, {}, {} rounds",
                self.objective.name(),
                self.rounds()
            ),
            input_f64: false,
        }
    }

    /// The model as an XGBoost 3.x JSON document (see [`crate::export::xgboost_json`]), with the trees'
    /// statistics (`base_weights`, `loss_changes`, `sum_hessian`).
    pub fn to_xgboost_json(&self) -> Result<String, crate::export::blob::ExportError> {
        use crate::export::xgboost_json::{Extras, TreeStats, write};
        let stats = self
            .trees
            .iter()
            .map(|t| TreeStats {
                base_weights: t.nodes.iter().map(|n| n.base_weight).collect(),
                loss_changes: t.nodes.iter().map(|n| n.loss_change).collect(),
                sum_hessian: t.nodes.iter().map(|n| n.sum_hess as f32).collect(),
            })
            .collect();
        let extras = Extras {
            objective: Some(self.objective.name().to_string()),
            base_score: Some(self.base_score.clone()),
            feature_types: Some(
                self.categorical
                    .iter()
                    .map(|&c| if c { "c" } else { "q" }.to_string())
                    .collect(),
            ),
            tree_stats: Some(stats),
            max_delta_step: self.max_delta_step,
        };
        write(&self.to_ensemble(), &extras)
    }
}

fn train_inner(
    data: &Dataset,
    valid: Option<&Dataset>,
    params: &HistParams,
    progress: &(dyn Fn(&RoundReport<'_>) + Sync),
) -> Result<HistBooster, TrainError> {
    let objective = params.objective.unwrap_or_else(|| default_objective(data));
    let nf = data.n_features();
    if nf == 0 {
        return Err(TrainError::Invalid("the data has no feature column".into()));
    }
    if data.n_rows == 0 {
        return Err(TrainError::Invalid("the data has no rows".into()));
    }
    let k = match objective {
        Objective::MultiSoftprob => {
            if data.task() != Task::Classification {
                return Err(TrainError::Invalid(
                    "multi:softprob needs class labels (a classification target)".into(),
                ));
            }
            data.n_classes()
        }
        _ => 1,
    };
    if objective == Objective::BinaryLogistic
        && data.task() == Task::Classification
        && data.n_classes() != 2
    {
        return Err(TrainError::Invalid(format!(
            "binary:logistic needs two classes, the data has {} (use multi:softprob)",
            data.n_classes()
        )));
    }
    if objective == Objective::CountPoisson && data.task() == Task::Classification {
        return Err(TrainError::Invalid(
            "count:poisson needs a numeric target (use --task regression)".into(),
        ));
    }
    objective
        .check_targets(&data.target, k)
        .map_err(TrainError::Invalid)?;
    if params.n_estimators == 0 {
        return Err(TrainError::Invalid(
            "n_estimators must be at least 1".into(),
        ));
    }
    if !(params.eta > 0.0 && params.eta.is_finite()) {
        return Err(TrainError::Invalid(format!(
            "eta {} must be a positive number",
            params.eta
        )));
    }
    for (name, v) in [
        ("lambda", params.lambda),
        ("alpha", params.alpha),
        ("gamma", params.gamma),
        ("min_child_weight", params.min_child_weight),
        ("max_delta_step", params.max_delta_step.unwrap_or(0.0)),
    ] {
        check_non_negative(name, v)?;
    }
    for (name, v) in [
        ("subsample", params.subsample),
        ("colsample_bytree", params.colsample_bytree),
        ("colsample_bylevel", params.colsample_bylevel),
        ("colsample_bynode", params.colsample_bynode),
    ] {
        check_fraction(name, v)?;
    }
    if !(2..=MAX_BINS).contains(&params.max_bin) {
        return Err(TrainError::Invalid(format!(
            "max_bin {} is outside 2..={MAX_BINS}",
            params.max_bin
        )));
    }
    if params.max_depth == 0 && params.max_leaves == 0 {
        return Err(TrainError::Invalid(
            "max_depth 0 (no depth limit) needs max_leaves to bound the trees".into(),
        ));
    }
    if params.max_cat_to_onehot == 0 || params.max_cat_threshold == 0 {
        return Err(TrainError::Invalid(
            "max_cat_to_onehot and max_cat_threshold must be at least 1".into(),
        ));
    }
    if params.monotone.len() > nf {
        return Err(TrainError::Invalid(format!(
            "{} monotone constraints for {nf} features",
            params.monotone.len()
        )));
    }
    let categorical: Vec<bool> = data
        .schema
        .kinds
        .iter()
        .map(|k| matches!(k, FeatureKind::Categorical(_)))
        .collect();
    let mut monotone = params.monotone.clone();
    monotone.resize(nf, 0);
    if let Some(f) = (0..nf).find(|&f| monotone[f] != 0 && categorical[f]) {
        return Err(TrainError::Invalid(format!(
            "feature `{}` is categorical: a monotone constraint needs an ordered feature",
            data.schema.feature_names[f]
        )));
    }
    if let Some(c) = monotone.iter().find(|c| !(-1..=1).contains(*c)) {
        return Err(TrainError::Invalid(format!(
            "monotone constraint {c} is not −1, 0 or 1"
        )));
    }
    if params.early_stopping_rounds.is_some() && valid.is_none() {
        return Err(TrainError::Invalid(
            "early stopping needs validation data".into(),
        ));
    }
    if let Some(v) = valid {
        if v.n_features() != nf {
            return Err(TrainError::Invalid(format!(
                "validation data has {} features, the training data {nf}",
                v.n_features()
            )));
        }
        objective
            .check_targets(&v.target, k)
            .map_err(|e| TrainError::Invalid(format!("validation data: {e}")))?;
    }

    // Bins.
    let weights: Option<Vec<f32>> = data
        .weights
        .as_ref()
        .map(|w| w.iter().map(|&x| x as f32).collect());
    let columns: Vec<&[f32]> = (0..nf).map(|f| data.column(f)).collect();
    let m = BinnedMatrix::build(
        &columns,
        &categorical,
        &data.schema.feature_names,
        weights.as_deref(),
        params.max_bin,
    )?;

    // Intercept.
    let target: Vec<f32> = data.target.iter().map(|&y| y as f32).collect();
    let base_score = match params.base_score {
        Some(b) => vec![b; k],
        None => objective.estimate_base_score(&data.target, weights.as_deref(), k),
    };
    let base_margin = base_score
        .iter()
        .map(|&b| {
            objective.base_margin(b).ok_or_else(|| {
                TrainError::Invalid(format!(
                    "base_score {b} is outside the domain of {}'s link{}",
                    objective.name(),
                    if params.base_score.is_none() {
                        " (it was estimated from the targets: give a base score explicitly)"
                    } else {
                        ""
                    }
                ))
            })
        })
        .collect::<Result<Vec<f32>, TrainError>>()?;

    let max_delta_step = params
        .max_delta_step
        .unwrap_or_else(|| objective.default_max_delta_step());
    let tree_params = TreeParams {
        split: SplitParams {
            lambda: params.lambda,
            alpha: params.alpha,
            min_child_weight: params.min_child_weight,
            max_delta_step,
            max_cat_to_onehot: params.max_cat_to_onehot,
            max_cat_threshold: params.max_cat_threshold,
        },
        eta: params.eta,
        gamma: params.gamma,
        max_depth: params.max_depth,
        max_leaves: params.max_leaves,
        policy: params.grow_policy,
    };

    let n = data.n_rows;
    let mut margins: Vec<f32> = (0..n * k).map(|i| base_margin[i % k]).collect();
    let valid_rows: Option<(Vec<f32>, usize)> = valid.map(|v| (v.rows_row_major(), v.n_rows));
    let mut valid_margins: Vec<f32> = valid_rows
        .as_ref()
        .map(|(_, vn)| (0..vn * k).map(|i| base_margin[i % k]).collect())
        .unwrap_or_default();

    let mut booster = HistBooster {
        objective,
        n_features: nf,
        n_outputs: k,
        base_score,
        base_margin,
        trees: Vec::new(),
        tree_info: Vec::new(),
        feature_names: data.schema.feature_names.clone(),
        categorical,
        max_delta_step,
        history: Vec::new(),
        best_iteration: None,
        rounds_trained: 0,
    };

    let mut master = SplitMix64::new(params.seed);
    let mut grower = Grower::new();
    let mut gpair_rows = vec![GradPair::default(); n * k];
    let mut per_output: Vec<Vec<GradPair>> = if k > 1 {
        vec![vec![GradPair::default(); n]; k]
    } else {
        Vec::new()
    };
    let mut in_sample: Vec<bool> = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    const GRAD_CHUNK: usize = 4096;

    for round in 0..params.n_estimators {
        // Gradients from the current margins (elementwise: any chunking gives the same values).
        gpair_rows
            .par_chunks_mut(GRAD_CHUNK * k)
            .enumerate()
            .for_each(|(c, out)| {
                objective.gradients_rows(
                    &margins,
                    &target,
                    weights.as_deref(),
                    max_delta_step,
                    c * GRAD_CHUNK,
                    out,
                )
            });
        if k > 1 {
            for (j, out) in per_output.iter_mut().enumerate() {
                for (r, o) in out.iter_mut().enumerate() {
                    *o = gpair_rows[r * k + j];
                }
            }
        }
        for j in 0..k {
            let gpair: &[GradPair] = if k > 1 { &per_output[j] } else { &gpair_rows };
            let tree_seed = master.next_u64();
            let rows = subsample_rows(n, params.subsample, tree_seed);
            let all_rows = rows.len() == n;
            let mut sampler = ColumnSampler::new(
                nf,
                params.colsample_bytree,
                params.colsample_bylevel,
                params.colsample_bynode,
                tree_seed ^ 0x5DEE_CE66_D1CE_4E5B,
            );
            let (tree, part) = grower.grow(
                &m,
                gpair,
                rows,
                all_rows,
                &tree_params,
                &monotone,
                &mut sampler,
            );
            // Training margins: the partition gives the leaf of every row of the tree; other rows walk it.
            for (id, node) in tree.nodes.iter().enumerate() {
                if node.is_leaf() {
                    for &r in part.rows_of(id) {
                        margins[r as usize * k + j] += node.value;
                    }
                }
            }
            if !all_rows {
                in_sample.clear();
                in_sample.resize(n, false);
                for &r in &part.rows {
                    in_sample[r as usize] = true;
                }
                for (r, &s) in in_sample.iter().enumerate() {
                    if !s {
                        let leaf = tree.leaf_of_codes(m.row(r), m.features());
                        margins[r * k + j] += tree.nodes[leaf].value;
                    }
                }
            }
            if let Some((rows, _)) = &valid_rows {
                valid_margins
                    .par_chunks_mut(k)
                    .zip(rows.par_chunks(nf))
                    .for_each(|(mv, row)| mv[j] += tree.nodes[tree.leaf(row)].value);
            }
            booster.trees.push(tree);
            booster.tree_info.push(j as u32);
        }
        booster.rounds_trained = round + 1;

        let mut metric = None;
        if let Some(v) = valid {
            let score = eval_metric(
                objective,
                &valid_margins,
                k,
                &v.target,
                v.weights.as_deref(),
            );
            booster.history.push(score);
            metric = Some(score);
            if best.is_none_or(|(_, b)| score < b) {
                best = Some((round, score));
            }
        }
        progress(&RoundReport {
            round: round + 1,
            n_rounds: params.n_estimators,
            metric,
            best,
            train_margins: &margins,
        });
        if let (Some(rounds), Some((best_round, _))) = (params.early_stopping_rounds, best)
            && round - best_round >= rounds
        {
            break;
        }
    }
    if params.early_stopping_rounds.is_some()
        && let Some((best_round, _)) = best
    {
        booster.best_iteration = Some(best_round);
        booster.trees.truncate((best_round + 1) * k);
        booster.tree_info.truncate((best_round + 1) * k);
    }
    Ok(booster)
}
