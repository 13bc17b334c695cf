//! A trained model of any algorithm, its own predictions, and its translation into the
//! [ensemble IR](crate::ir) that every exporter reads.
//!
//! The IR keeps scikit-learn's semantics, so exported models behave like scikit-learn's on the device:
//! `x ≤ t` on f64 thresholds ([`Compare::LessEqual`]), NaN following each split's learned direction, category sets
//! as [`Test::Categorical`] (a member is `trunc(x)` for `0 ≤ x < 2²⁴`), f64 leaves and sums. Classifiers have
//! one margin column per class holding class fractions (vector leaves) and the identity transform, so a
//! prediction is the probability vector scikit-learn's `predict_proba` gives; regressors have one column. Forests
//! average their trees with [`Aggregate::Mean`].

use super::cart::DecisionTree;
use super::dataset::Dataset;
use super::forest::Forest;
use super::splitter::Rule;
use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test, Transform, Tree,
};
use crate::metrics::argmax;

/// A trained model.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainedModel {
    /// One decision tree.
    Tree(DecisionTree),
    /// A forest.
    Forest(Forest),
}

impl TrainedModel {
    /// The trees, in order.
    pub fn trees(&self) -> &[DecisionTree] {
        match self {
            TrainedModel::Tree(t) => std::slice::from_ref(t),
            TrainedModel::Forest(f) => &f.trees,
        }
    }

    /// Classes (classification) or 0 (regression).
    pub fn n_classes(&self) -> usize {
        self.trees()[0].n_classes
    }

    /// The trainer's own prediction for `row`: class probabilities, or the regression value (one element).
    pub fn predict_row(&self, row: &[f32]) -> Vec<f64> {
        match self {
            TrainedModel::Tree(t) => t.predict_row(row).to_vec(),
            TrainedModel::Forest(f) => f.predict_row(row),
        }
    }

    /// The predicted class index for `row` (classification).
    pub fn predict_class(&self, row: &[f32]) -> usize {
        argmax(&self.predict_row(row))
    }

    /// Impurity-based feature importances (sum to 1 unless no tree has a split).
    pub fn feature_importances(&self) -> Vec<f64> {
        match self {
            TrainedModel::Tree(t) => t.feature_importances(),
            TrainedModel::Forest(f) => f.feature_importances(),
        }
    }

    /// Total nodes over all trees (splits and leaves).
    pub fn n_nodes(&self) -> usize {
        self.trees().iter().map(|t| t.nodes.len()).sum()
    }

    /// The ensemble IR of this model; `data` supplies the feature names and `source` describes the training run.
    pub fn to_ensemble(&self, data: &Dataset, source: &str) -> Ensemble {
        let k = self.n_classes();
        let n_outputs = k.max(1);
        let trees: Vec<Tree> = self.trees().iter().map(|t| tree_to_ir(t, k > 0)).collect();
        let aggregate = match self {
            TrainedModel::Tree(_) => Aggregate::Sum,
            TrainedModel::Forest(f) => Aggregate::Mean {
                divisor: f.trees.len() as f64,
            },
        };
        Ensemble {
            n_features: data.n_features() as u32,
            n_outputs: n_outputs as u32,
            trees,
            base_margin: vec![0.0; n_outputs],
            compare: Compare::LessEqual,
            aggregate,
            transform: Transform::Identity,
            precision: Precision::F64,
            feature_names: Some(data.schema.feature_names.clone()),
            source: source.to_string(),
            input_f64: false,
        }
    }
}

/// One tree in the IR, node for node (same indices).
pub fn tree_to_ir(tree: &DecisionTree, classification: bool) -> Tree {
    let nodes = tree
        .nodes
        .iter()
        .map(|n| match &n.split {
            None => Node::Leaf(n.value.clone()),
            Some(s) => Node::Split(Split {
                feature: s.feature as u32,
                test: match &s.rule {
                    Rule::Threshold(t) => Test::Numeric(*t),
                    Rule::Categories { set, set_goes_left } => Test::Categorical {
                        categories: set.clone(),
                        in_set_left: *set_goes_left,
                        truncate_first: false,
                    },
                },
                default_left: s.missing_left,
                missing: MissingMode::Nan,
                left: s.left,
                right: s.right,
            }),
        })
        .collect();
    Tree {
        nodes,
        output: if classification { None } else { Some(0) },
        weight: 1.0,
    }
}
