//! Stacking: a linear meta-model over the outputs of base tree ensembles, fitted on out-of-fold predictions
//! and exported as one tree ensemble that the `no_std` core evaluates exactly.
//!
//! Fitting follows scikit-learn's `StackingClassifier` / `StackingRegressor`: the training rows are split into
//! `k` folds ([`folds`]); every base model is fitted on each fold's complement and predicts the fold, which
//! gives an out-of-fold output for every row; the meta-model ([`meta`]: L2-regularized logistic regression for
//! classification, ridge regression for regression) is fitted on those outputs; then every base is refitted on
//! all rows ([`run::fit`]).
//!
//! Exactness: the meta-model reads outputs that are linear in the bases' leaves ([`base`]: averaged class
//! probabilities of forests, raw margins of boosted models, regression values), so the meta-model's margin is a
//! sum of the bases' trees with linearly transformed leaves plus a new base margin, and its link (sigmoid,
//! softmax, identity) is the transform ([`combine`]). No new evaluation code is needed on the device.
//!
//! The bases' outputs are their exported models' f64 margins ([`crate::ir::Ensemble::margin_reference`]): for
//! scikit-learn-style bases these are the trainers' own f64 outputs up to the order of additions; a hist-gbdt
//! base's margin is the exact f64 sum of its f32 leaves, where its own trainer (like XGBoost) accumulates in f32.
//! The exported stack has f64 leaves and sums, so the core reproduces the meta-model over those margins to f64
//! rounding before its f32 output (`tests/train_stack.rs`).
//!
//! What is not offered: passing the raw features through to the meta-model (scikit-learn's `passthrough=True`).
//! A raw feature is a linear term in the input, which an ensemble of constant-leaf trees cannot express exactly
//! (a linear leaf could, but only for scalar leaves and with a NaN fallback that differs from the meta-model's),
//! so the stacked model would not be exportable.

pub mod base;
pub mod combine;
pub mod folds;
pub mod meta;
pub mod run;
