//! AdaBoost with scikit-learn 1.9's `AdaBoostClassifier` (SAMME, Zhu et al., 2009) and `AdaBoostRegressor`
//! (AdaBoost.R2, Drucker, 1997) semantics.
//!
//! Both start from the sample weights normalised to sum to 1 (unit weights without a weight column) and, before
//! every round, raise weights below f64 ε to ε (weights that started at 0 stay 0).
//!
//! **SAMME** (classification, `K ≥ 2` classes; default base learner: a stump, `max_depth = 1`):
//! - fit a tree with the current weights; `err = Σ w·[ŷ ≠ y] / Σ w` on the training rows;
//! - `err = 0`: keep the tree with weight 1 and stop; `err ≥ 1 − 1/K`: drop the tree and stop (an error if it
//!   was the first);
//! - else the tree's weight is `α = learning_rate · (ln((1 − err)/err) + ln(K − 1))`, and (except after the last
//!   round) misclassified rows' weights are multiplied by `e^α` (as `exp(ln w + α)`), then all are normalised.
//! - Decision function: `f_c(x) = Σ_t α_t·(1 if tree t predicts c else −1/(K − 1)) / Σ_t α_t`; for two classes
//!   `f = f_1 − f_0`. Probabilities: `softmax(f / (K − 1))`, i.e. `σ(f)` for two classes.
//!
//! **AdaBoost.R2** (regression; default base learner: `max_depth = 3`):
//! - fit a tree, without weights, to a bootstrap sample of `n` rows drawn with probabilities equal to the
//!   weights; score every row: `e = ∣ŷ − y∣ / max ∣ŷ − y∣` (over rows of positive weight), squared (`square`) or
//!   `1 − e^−e` (`exponential`) per the loss; `err = Σ w·e`;
//! - `err = 0`: keep the tree with weight 1 and stop; `err ≥ ½`: stop, dropping the tree unless it is the only
//!   one (it is then kept with weight 0);
//! - else `β = err/(1 − err)`, the tree's weight is `learning_rate · ln(1/β)`, and (except after the last round)
//!   each row's weight is multiplied by `β^((1 − e)·learning_rate)`, then all are normalised.
//! - Prediction: the weighted median of the trees' predictions (the smallest prediction whose cumulative weight,
//!   in increasing order of predictions, reaches half the total; [`crate::ir::weighted_median`], scikit-learn's
//!   arithmetic).
//!
//! Randomness replays scikit-learn's: one [`RandomState`] seeded with `seed` gives each round's tree its own seed
//! (`randint(2³¹ − 1)`), from which the tree's splitter state is the first draw; R2 then draws its bootstrap
//! sample from the boosting generator.
//!
//! **Export**: SAMME models become the IR scikit-learn's importer builds: one tree per round whose leaves hold
//! the tree's votes (`α` for its class, `−α/(K − 1)` for the others; for two classes the single margin
//! `vote₁ − vote₀`), averaged with divisor `(K − 1)·Σα` (two classes: `Σα`) and followed by softmax (sigmoid).
//! AdaBoost.R2 models become the trees with their values and [`Aggregate::WeightedMedian`] over the tree weights
//! (the blob's weighted median, version 3 of the format): the core selects the tree scikit-learn selects.

use super::UnsupportedExport;
use super::split;
use crate::ir::{Aggregate, Compare, Ensemble, Node, Precision, Transform};
use crate::metrics::argmax;
use crate::train::TrainError;
use crate::train::cart::{self, DecisionTree, TreeParams};
use crate::train::dataset::{Dataset, Task};
use crate::train::model::tree_to_ir;
use crate::train::numeric;
use crate::train::random_state::RandomState;
use crate::train::rng::SplitterRng;

/// AdaBoost.R2's per-row loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum R2Loss {
    /// `e`.
    Linear,
    /// `e²`.
    Square,
    /// `1 − e^−e`.
    Exponential,
}

impl R2Loss {
    /// Parses `linear`, `square` or `exponential`.
    pub fn from_name(s: &str) -> Option<R2Loss> {
        Some(match s {
            "linear" => R2Loss::Linear,
            "square" => R2Loss::Square,
            "exponential" => R2Loss::Exponential,
            _ => return None,
        })
    }

    /// scikit-learn's name.
    pub fn name(self) -> &'static str {
        match self {
            R2Loss::Linear => "linear",
            R2Loss::Square => "square",
            R2Loss::Exponential => "exponential",
        }
    }
}

/// AdaBoost parameters (scikit-learn's names and defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct AdaBoostParams {
    /// The most rounds.
    pub n_estimators: usize,
    /// Shrinks every tree's weight, above 0.
    pub learning_rate: f64,
    /// The base trees' parameters (their class weights multiply the boosting weights in every round).
    pub tree: TreeParams,
    /// AdaBoost.R2's loss (regression only).
    pub loss: R2Loss,
    /// Seed of the [`RandomState`] (scikit-learn's `random_state`).
    pub seed: u32,
}

impl AdaBoostParams {
    /// scikit-learn's defaults for `task`: 50 rounds, learning rate 1; stumps (Gini) for classification,
    /// depth-3 trees and the linear loss for regression.
    pub fn new(task: Task) -> AdaBoostParams {
        let mut tree = TreeParams::new(task);
        tree.max_depth = Some(match task {
            Task::Classification => 1,
            Task::Regression => 3,
        });
        AdaBoostParams {
            n_estimators: 50,
            learning_rate: 1.0,
            tree,
            loss: R2Loss::Linear,
            seed: 0,
        }
    }
}

/// Why boosting ended before `n_estimators` rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// All rounds ran.
    Completed,
    /// A tree fitted the weighted training data perfectly (kept with weight 1).
    Perfect,
    /// A tree was no better than chance (`err ≥ 1 − 1/K`, or `err ≥ ½` for R2) and was dropped.
    NoBetterThanChance,
    /// The sample weights overflowed or summed to zero.
    DegenerateWeights,
}

/// What a finished round reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Round {
    /// Rounds done (1-based).
    pub round: usize,
    /// The most rounds.
    pub total: usize,
    /// The round's weighted error.
    pub error: f64,
}

/// A trained AdaBoost model.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaBoost {
    /// Classes (SAMME) or 0 (AdaBoost.R2).
    pub n_classes: usize,
    /// Features a row has.
    pub n_features: usize,
    /// The trees kept.
    pub trees: Vec<DecisionTree>,
    /// Each tree's weight.
    pub weights: Vec<f64>,
    /// Each tree's weighted training error.
    pub errors: Vec<f64>,
    /// Why training ended.
    pub termination: Termination,
    /// `Σ weights`, summed as scikit-learn sums `estimator_weights_` (over `n_estimators` entries, zeros
    /// after the last tree), the normaliser of the SAMME decision function.
    pub weight_total: f64,
    /// The R2 loss (regression).
    pub loss: R2Loss,
}

impl AdaBoost {
    /// Trains SAMME (classification target) or AdaBoost.R2 (regression target) on `data`; `progress` is called
    /// after every round.
    pub fn train(
        data: &Dataset,
        params: &AdaBoostParams,
        progress: &mut dyn FnMut(&Round),
    ) -> Result<AdaBoost, TrainError> {
        params.tree.validate(data)?;
        if params.n_estimators == 0 {
            return Err(TrainError::Invalid(
                "n_estimators must be at least 1".into(),
            ));
        }
        if !(params.learning_rate > 0.0 && params.learning_rate.is_finite()) {
            return Err(TrainError::Invalid(format!(
                "learning_rate must be a positive number, got {}",
                params.learning_rate
            )));
        }
        let n = data.n_rows;
        let mut sw: Vec<f64> = data.weights.clone().unwrap_or_else(|| vec![1.0; n]);
        let total = numeric::sum(&sw);
        if total.is_nan() || total <= 0.0 {
            return Err(TrainError::Invalid(
                "no training row has a positive weight".into(),
            ));
        }
        sw.iter_mut().for_each(|w| *w /= total);
        let zero: Vec<bool> = sw.iter().map(|&w| w == 0.0).collect();
        let classification = data.task() == Task::Classification;
        let k = data.n_classes();
        if classification && k < 2 {
            return Err(TrainError::Invalid(
                "AdaBoost needs at least 2 classes".into(),
            ));
        }
        let class_w = params.tree.class_weight.per_class(data)?;
        let rows = data.rows_row_major();
        let nf = data.n_features();
        let row = |r: usize| &rows[r * nf..(r + 1) * nf];
        let mut rng = RandomState::new(params.seed);
        let mut model = AdaBoost {
            n_classes: k,
            n_features: nf,
            trees: Vec::new(),
            weights: Vec::new(),
            errors: Vec::new(),
            termination: Termination::Completed,
            weight_total: 0.0,
            loss: params.loss,
        };
        let last = params.n_estimators - 1;
        let lr = params.learning_rate;
        for iboost in 0..params.n_estimators {
            for (w, &z) in sw.iter_mut().zip(&zero) {
                *w = if z { 0.0 } else { w.max(f64::EPSILON) };
            }
            let tree_seed = rng.estimator_seed();
            let splitter = SplitterRng::from_random_state(tree_seed);
            let (tree, alpha, error, stop) = if classification {
                let fit_w: Vec<f64> = if class_w.is_empty() {
                    sw.clone()
                } else {
                    sw.iter()
                        .zip(&data.target)
                        .map(|(w, &y)| w * class_w[y as usize])
                        .collect()
                };
                let tree = cart::fit(data, &params.tree, &fit_w, splitter)?;
                let incorrect: Vec<f64> = (0..n)
                    .map(|r| {
                        let wrong = argmax(tree.predict_row(row(r))) != data.target[r] as usize;
                        if wrong { 1.0 } else { 0.0 }
                    })
                    .collect();
                let err = numeric::average(&incorrect, &sw);
                if err <= 0.0 {
                    (Some(tree), 1.0, 0.0, Some(Termination::Perfect))
                } else if err >= 1.0 - 1.0 / k as f64 {
                    if model.trees.is_empty() {
                        return Err(TrainError::Invalid(format!(
                            "the first base tree is no better than chance (weighted error {err:.4} ≥ 1 − 1/{k}); \
                             AdaBoost cannot be fitted"
                        )));
                    }
                    (None, 0.0, err, Some(Termination::NoBetterThanChance))
                } else {
                    let alpha = lr * (((1.0 - err) / err).ln() + (k as f64 - 1.0).ln());
                    if iboost != last {
                        for (w, inc) in sw.iter_mut().zip(&incorrect) {
                            let positive = if *w > 0.0 { 1.0 } else { 0.0 };
                            *w = (w.ln() + alpha * inc * positive).exp();
                        }
                    }
                    (Some(tree), alpha, err, None)
                }
            } else {
                let picks = rng.choice_weighted(&sw, n);
                let mut boot = split::subset(data, &picks, "bootstrap sample");
                boot.weights = None;
                let tree = cart::fit(&boot, &params.tree, &vec![1.0; n], splitter)?;
                let masked: Vec<usize> = (0..n).filter(|&r| sw[r] > 0.0).collect();
                let mut e: Vec<f64> = masked
                    .iter()
                    .map(|&r| (tree.predict_row(row(r))[0] - data.target[r]).abs())
                    .collect();
                let max = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if max != 0.0 {
                    e.iter_mut().for_each(|v| *v /= max);
                }
                match params.loss {
                    R2Loss::Linear => {}
                    R2Loss::Square => e.iter_mut().for_each(|v| *v = v.powi(2)),
                    R2Loss::Exponential => e.iter_mut().for_each(|v| *v = 1.0 - (-*v).exp()),
                }
                let products: Vec<f64> = masked.iter().zip(&e).map(|(&r, e)| sw[r] * e).collect();
                let err = numeric::sum(&products);
                if err <= 0.0 {
                    (Some(tree), 1.0, 0.0, Some(Termination::Perfect))
                } else if err >= 0.5 {
                    let keep = model.trees.is_empty();
                    (
                        keep.then_some(tree),
                        0.0,
                        err,
                        Some(Termination::NoBetterThanChance),
                    )
                } else {
                    let beta = err / (1.0 - err);
                    let alpha = lr * (1.0 / beta).ln();
                    if iboost != last {
                        for (&r, e) in masked.iter().zip(&e) {
                            sw[r] *= beta.powf((1.0 - e) * lr);
                        }
                    }
                    (Some(tree), alpha, err, None)
                }
            };
            if let Some(tree) = tree {
                model.trees.push(tree);
                model.weights.push(alpha);
                model.errors.push(error);
            }
            progress(&Round {
                round: iboost + 1,
                total: params.n_estimators,
                error,
            });
            if let Some(t) = stop {
                model.termination = t;
                break;
            }
            let s = numeric::sum(&sw);
            if !s.is_finite() || s <= 0.0 {
                model.termination = Termination::DegenerateWeights;
                break;
            }
            if iboost < last {
                sw.iter_mut().for_each(|w| *w /= s);
            }
        }
        let mut padded = model.weights.clone();
        padded.resize(params.n_estimators, 0.0);
        model.weight_total = numeric::sum(&padded);
        Ok(model)
    }

    /// The SAMME decision function (`K` values, or one for two classes), as scikit-learn computes it.
    pub fn decision_function(&self, row: &[f32]) -> Vec<f64> {
        assert!(self.n_classes >= 2, "decision_function of a classifier");
        let k = self.n_classes;
        let mut pred = vec![0.0; k];
        for (tree, &w) in self.trees.iter().zip(&self.weights) {
            let c = argmax(tree.predict_row(row));
            let other = -1.0 / (k as f64 - 1.0) * w;
            for (j, p) in pred.iter_mut().enumerate() {
                *p += if j == c { w } else { other };
            }
        }
        pred.iter_mut().for_each(|p| *p /= self.weight_total);
        if k == 2 {
            vec![-pred[0] + pred[1]]
        } else {
            pred
        }
    }

    /// AdaBoost.R2's prediction: the weighted median of the trees' predictions.
    pub fn predict_median(&self, row: &[f32]) -> f64 {
        let preds: Vec<f64> = self.trees.iter().map(|t| t.predict_row(row)[0]).collect();
        crate::ir::weighted_median(&preds, &self.weights)
    }

    /// The prediction the exported model makes: the probability of class 1 (two classes), the class
    /// probabilities, or (R2) the weighted median.
    pub fn predict_row(&self, row: &[f32]) -> Vec<f64> {
        if self.n_classes == 0 {
            return vec![self.predict_median(row)];
        }
        let d = self.decision_function(row);
        if self.n_classes == 2 {
            vec![super::loss::sigmoid(d[0])]
        } else {
            let scaled: Vec<f64> = d
                .iter()
                .map(|v| v / (self.n_classes as f64 - 1.0))
                .collect();
            super::loss::softmax(&scaled)
        }
    }

    /// Class probabilities (classification): `[1 − p, p]` for two classes.
    pub fn predict_proba(&self, row: &[f32]) -> Vec<f64> {
        let p = self.predict_row(row);
        if self.n_classes == 2 {
            vec![1.0 - p[0], p[0]]
        } else {
            p
        }
    }

    /// Feature importances (scikit-learn's): the trees' normalised importances averaged with the tree weights.
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut sum = vec![0.0; self.n_features];
        for (t, &w) in self.trees.iter().zip(&self.weights) {
            for (s, v) in sum.iter_mut().zip(t.feature_importances()) {
                *s += w * v;
            }
        }
        let norm: f64 = self.weights.iter().sum();
        if norm > 0.0 {
            sum.iter_mut().for_each(|s| *s /= norm);
        }
        sum
    }

    /// The ensemble IR (see the module documentation). Fails only for an AdaBoost.R2 model whose weights the
    /// format cannot hold (a weight that overflowed to infinity).
    pub fn to_ensemble(
        &self,
        feature_names: Option<Vec<String>>,
        source: &str,
    ) -> Result<Ensemble, UnsupportedExport> {
        if self.n_classes == 0 {
            if let Some(w) = self.weights.iter().find(|w| !w.is_finite()) {
                return Err(UnsupportedExport {
                    model: "AdaBoost.R2",
                    reason: format!(
                        "a tree's weight is {w} (its weighted error underflowed); lower --learning-rate"
                    ),
                });
            }
            return Ok(Ensemble {
                n_features: self.n_features as u32,
                n_outputs: 1,
                trees: self.trees.iter().map(|t| tree_to_ir(t, false)).collect(),
                base_margin: vec![0.0],
                compare: Compare::LessEqual,
                aggregate: Aggregate::WeightedMedian {
                    weights: self.weights.clone(),
                },
                transform: Transform::Identity,
                precision: Precision::F64,
                feature_names,
                source: source.to_string(),
                input_f64: false,
            });
        }
        let k = self.n_classes;
        let binary = k == 2;
        let trees = self
            .trees
            .iter()
            .zip(&self.weights)
            .map(|(tree, &w)| {
                let mut t = tree_to_ir(tree, true);
                for node in &mut t.nodes {
                    if let Node::Leaf(v) = node {
                        let c = argmax(v);
                        let votes: Vec<f64> = (0..k)
                            .map(|j| {
                                if j == c {
                                    w
                                } else {
                                    -1.0 / (k as f64 - 1.0) * w
                                }
                            })
                            .collect();
                        *v = if binary {
                            vec![votes[1] - votes[0]]
                        } else {
                            votes
                        };
                    }
                }
                t.output = binary.then_some(0);
                t
            })
            .collect();
        let n_outputs = if binary { 1 } else { k };
        Ok(Ensemble {
            n_features: self.n_features as u32,
            n_outputs: n_outputs as u32,
            trees,
            base_margin: vec![0.0; n_outputs],
            compare: Compare::LessEqual,
            aggregate: Aggregate::Mean {
                divisor: if binary {
                    self.weight_total
                } else {
                    (k as f64 - 1.0) * self.weight_total
                },
            },
            transform: if binary {
                Transform::Sigmoid
            } else {
                Transform::Softmax
            },
            precision: Precision::F64,
            feature_names,
            source: source.to_string(),
            input_f64: false,
        })
    }
}
