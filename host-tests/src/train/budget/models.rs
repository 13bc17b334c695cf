//! What each trainer's model offers the budget search: its units (trees of a forest, rounds of a boosted model),
//! the model made of its first `k` units, and (trees and forests) the model pruned with a cost-complexity alpha.

use super::prune;
use crate::ir::Aggregate;
use crate::train::boost::Boosted;
use crate::train::cart::DecisionTree;
use crate::train::hist::booster::HistBooster;
use crate::train::model::TrainedModel;
use crate::train::numeric;

/// Most pruning levels tried for a single tree (every alpha of its path when it has fewer).
pub const TREE_LEVELS: usize = 512;
/// Most pruning levels tried for a forest (alphas spread over the quantiles of its trees' paths).
pub const FOREST_LEVELS: usize = 32;

/// A trained model the budget search can shrink.
pub trait Shrink: Clone + Send + Sync {
    /// What a unit is (`tree`, `round`).
    fn unit(&self) -> &'static str;
    /// Units in the model.
    fn units(&self) -> usize;
    /// The fewest units a model can have (0 when the base margin alone predicts).
    fn min_units(&self) -> usize;
    /// Trees in a unit (in the ensemble IR).
    fn trees_per_unit(&self) -> usize;
    /// The model made of the first `k` units.
    fn prefix(&self, k: usize) -> Self;
    /// The aggregate of the IR of [`Shrink::prefix`]`(k)`, given the whole model's.
    fn prefix_aggregate(&self, k: usize, full: &Aggregate) -> Aggregate;
    /// The cost-complexity alphas worth trying, ascending from 0 (just `[0]` when the model is not pruned).
    fn alphas(&self) -> Vec<f64> {
        vec![0.0]
    }
    /// Every tree pruned with `ccp_alpha = alpha` (the model itself when it is not pruned).
    fn pruned(&self, alpha: f64) -> Self {
        let _ = alpha;
        self.clone()
    }
    /// Leaves over all trees.
    fn leaves(&self) -> usize;
}

/// At most `n` values of the sorted `all`, spread evenly over its ranks, always with the first and the last.
fn spread(all: &[f64], n: usize) -> Vec<f64> {
    if all.len() <= n {
        return all.to_vec();
    }
    let mut out: Vec<f64> = (0..n)
        .map(|i| all[(i * (all.len() - 1)).div_ceil(n - 1)])
        .collect();
    out.dedup();
    out
}

/// 0 and the distinct effective alphas of the trees' pruning paths, at most `n` in all.
fn tree_alphas(trees: &[DecisionTree], n: usize) -> Vec<f64> {
    let mut all: Vec<f64> = trees
        .iter()
        .flat_map(|t| prune::path(t).steps.into_iter().map(|s| s.alpha))
        .filter(|a| *a > 0.0)
        .collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    let mut out = vec![0.0];
    out.extend(spread(&all, n - 1));
    out
}

impl Shrink for TrainedModel {
    fn unit(&self) -> &'static str {
        "tree"
    }

    fn units(&self) -> usize {
        self.trees().len()
    }

    fn min_units(&self) -> usize {
        1
    }

    fn trees_per_unit(&self) -> usize {
        1
    }

    fn prefix(&self, k: usize) -> Self {
        match self {
            TrainedModel::Tree(_) => self.clone(),
            TrainedModel::Forest(f) if k == f.trees.len() => self.clone(),
            TrainedModel::Forest(f) => {
                let mut f = f.clone();
                f.trees.truncate(k);
                f.oob = None;
                TrainedModel::Forest(f)
            }
        }
    }

    fn prefix_aggregate(&self, k: usize, full: &Aggregate) -> Aggregate {
        match full {
            Aggregate::Mean { .. } => Aggregate::Mean { divisor: k as f64 },
            other => other.clone(),
        }
    }

    fn alphas(&self) -> Vec<f64> {
        match self {
            TrainedModel::Tree(t) => tree_alphas(std::slice::from_ref(t), TREE_LEVELS),
            TrainedModel::Forest(f) => tree_alphas(&f.trees, FOREST_LEVELS),
        }
    }

    fn pruned(&self, alpha: f64) -> Self {
        if alpha == 0.0 {
            return self.clone();
        }
        match self {
            TrainedModel::Tree(t) => TrainedModel::Tree(prune::prune_alpha(t, alpha)),
            TrainedModel::Forest(f) => {
                let mut f = f.clone();
                f.trees = f
                    .trees
                    .iter()
                    .map(|t| prune::prune_alpha(t, alpha))
                    .collect();
                f.oob = None;
                TrainedModel::Forest(f)
            }
        }
    }

    fn leaves(&self) -> usize {
        self.trees().iter().map(DecisionTree::n_leaves).sum()
    }
}

impl Shrink for Boosted {
    fn unit(&self) -> &'static str {
        "round"
    }

    fn units(&self) -> usize {
        match self {
            Boosted::AdaBoost(a) => a.trees.len(),
            Boosted::Gbdt(g) => g.stages.len(),
        }
    }

    fn min_units(&self) -> usize {
        match self {
            Boosted::AdaBoost(_) => 1,
            Boosted::Gbdt(_) => 0,
        }
    }

    fn trees_per_unit(&self) -> usize {
        match self {
            Boosted::AdaBoost(_) => 1,
            Boosted::Gbdt(g) => g.init.len(),
        }
    }

    fn prefix(&self, k: usize) -> Self {
        if k == self.units() {
            return self.clone();
        }
        match self {
            Boosted::AdaBoost(a) => {
                let mut a = a.clone();
                a.trees.truncate(k);
                a.weights.truncate(k);
                a.errors.truncate(k);
                a.weight_total = numeric::sum(&a.weights);
                Boosted::AdaBoost(a)
            }
            Boosted::Gbdt(g) => {
                let mut g = g.clone();
                g.stages.truncate(k);
                Boosted::Gbdt(g)
            }
        }
    }

    fn prefix_aggregate(&self, k: usize, full: &Aggregate) -> Aggregate {
        match (self, full) {
            (Boosted::AdaBoost(a), Aggregate::Mean { .. }) => {
                // As `AdaBoost::to_ensemble`: the weight total, times K − 1 for more than two classes.
                let total = if k == a.trees.len() {
                    a.weight_total
                } else {
                    numeric::sum(&a.weights[..k])
                };
                let classes = if a.n_classes == 2 {
                    1.0
                } else {
                    a.n_classes as f64 - 1.0
                };
                Aggregate::Mean {
                    divisor: classes * total,
                }
            }
            // AdaBoost.R2: the first `k` weights (scikit-learn's `staged_predict`).
            (_, Aggregate::WeightedMedian { weights }) => Aggregate::WeightedMedian {
                weights: weights[..k].to_vec(),
            },
            _ => full.clone(),
        }
    }

    fn leaves(&self) -> usize {
        self.trees().iter().map(|t| t.n_leaves()).sum()
    }
}

impl Shrink for HistBooster {
    fn unit(&self) -> &'static str {
        "round"
    }

    fn units(&self) -> usize {
        self.trees.len() / self.n_outputs
    }

    fn min_units(&self) -> usize {
        0
    }

    fn trees_per_unit(&self) -> usize {
        self.n_outputs
    }

    fn prefix(&self, k: usize) -> Self {
        let mut b = self.clone();
        b.trees.truncate(k * self.n_outputs);
        b.tree_info.truncate(k * self.n_outputs);
        b
    }

    fn prefix_aggregate(&self, _k: usize, full: &Aggregate) -> Aggregate {
        full.clone()
    }

    fn leaves(&self) -> usize {
        self.trees.iter().map(|t| t.n_leaves()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_both_ends() {
        let all: Vec<f64> = (0..100).map(f64::from).collect();
        let s = spread(&all, 10);
        assert_eq!(s.len(), 10);
        assert_eq!(s[0], 0.0);
        assert_eq!(*s.last().unwrap(), 99.0);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(spread(&all[..5], 10), all[..5].to_vec());
    }
}
