//! Boosted tree ensembles: [AdaBoost](adaboost) (SAMME for classification, AdaBoost.R2 for regression) and
//! [gradient boosting](gbdt), with scikit-learn 1.9's algorithms, parameter names and defaults.
//!
//! Both replay scikit-learn's random numbers ([`random_state`](crate::train::random_state)): with the same data, parameters and seed
//! (`random_state`), the base trees are grown from the same splitter states, subsamples and bootstrap samples as
//! scikit-learn's, the reductions that feed them ([`numeric`](crate::train::numeric)) round as NumPy's do, and the trees sort a node's
//! rows as scikit-learn does (so splits that tie mathematically resolve the same way). On the bundled datasets the
//! models equal scikit-learn's: test predictions agree to a few ulps (`tests/train_boost.rs`).
//!
//! Every model exports to the [ensemble IR](crate::ir) ([`Boosted::to_ensemble`]) with the sums, base margins
//! and transforms (AdaBoost.R2: the weighted median) that make the `no_std` core reproduce the trainer's
//! predictions.

pub mod adaboost;
pub mod gbdt;
pub mod loss;
pub mod run;
pub mod split;

use adaboost::AdaBoost;
use gbdt::Gbdt;

use super::cart::DecisionTree;
use crate::ir::Ensemble;

/// A model the blob cannot represent, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedExport {
    /// The kind of model.
    pub model: &'static str,
    /// Why it cannot be exported.
    pub reason: String,
}

impl std::fmt::Display for UnsupportedExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} models cannot be exported: {}",
            self.model, self.reason
        )
    }
}

impl std::error::Error for UnsupportedExport {}

/// A trained boosted model.
#[derive(Clone, Debug, PartialEq)]
pub enum Boosted {
    /// AdaBoost (SAMME or R2).
    AdaBoost(AdaBoost),
    /// Gradient boosting.
    Gbdt(Gbdt),
}

impl Boosted {
    /// The trees, in evaluation order.
    pub fn trees(&self) -> Vec<&DecisionTree> {
        match self {
            Boosted::AdaBoost(a) => a.trees.iter().collect(),
            Boosted::Gbdt(g) => g.trees().collect(),
        }
    }

    /// Classes (classification) or 0 (regression).
    pub fn n_classes(&self) -> usize {
        match self {
            Boosted::AdaBoost(a) => a.n_classes,
            Boosted::Gbdt(g) => g.n_classes,
        }
    }

    /// The prediction the exported model makes for `row` (see [`AdaBoost::predict_row`], [`Gbdt::predict_row`]).
    pub fn predict_row(&self, row: &[f32]) -> Vec<f64> {
        match self {
            Boosted::AdaBoost(a) => a.predict_row(row),
            Boosted::Gbdt(g) => g.predict_row(row),
        }
    }

    /// Class probabilities (classification), one per class.
    pub fn predict_proba(&self, row: &[f32]) -> Vec<f64> {
        match self {
            Boosted::AdaBoost(a) => a.predict_proba(row),
            Boosted::Gbdt(g) => g.predict_proba(row),
        }
    }

    /// Impurity-based feature importances (scikit-learn's definitions).
    pub fn feature_importances(&self) -> Vec<f64> {
        match self {
            Boosted::AdaBoost(a) => a.feature_importances(),
            Boosted::Gbdt(g) => g.feature_importances(),
        }
    }

    /// The ensemble IR, or why the model cannot be exported.
    pub fn to_ensemble(
        &self,
        feature_names: Option<Vec<String>>,
        source: &str,
    ) -> Result<Ensemble, UnsupportedExport> {
        match self {
            Boosted::AdaBoost(a) => a.to_ensemble(feature_names, source),
            Boosted::Gbdt(g) => Ok(g.to_ensemble(feature_names, source)),
        }
    }
}
