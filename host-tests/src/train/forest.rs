//! Random forests (Breiman, 2001) and extremely randomized trees (Geurts et al., 2006), as scikit-learn 1.9 builds
//! `RandomForest*` and `ExtraTrees*`.
//!
//! - Each tree is a [CART tree](super::cart) on a bootstrap sample (drawn with replacement; with sample or class
//!   weights, rows are drawn with probability proportional to their weight, and the tree sees the draw counts as
//!   its weights, as scikit-learn 1.9 does) or on every row with its weight (`bootstrap = false`). Balanced class
//!   weights count the classes' sample weights here (scikit-learn's forests do; its single trees count rows).
//! - Random forests search the best split among `max_features` random features per node; extra trees draw one
//!   uniform threshold in `[min, max]` of the node's values per feature and keep the best of those.
//! - Predictions average the trees: the mean of the per-tree class fractions (classification), or of the
//!   per-tree values (regression), summed in tree order.
//! - Randomness is scikit-learn's for `random_state = seed`: tree `i`'s seed is the `i`-th
//!   [`RandomState::estimator_seed`] of NumPy's `RandomState(seed)`; its bootstrap sample is
//!   `RandomState(seed_i).randint(0, n, n_draws)` (or, with weights, `RandomState(seed_i).choice(n, n_draws,
//!   p = w / Σw)`) and its splitter state the first draw of another fresh `RandomState(seed_i)` (the tree is
//!   fitted with `random_state = seed_i`). Trees are built in parallel (rayon) and collected in order, so a forest
//!   is identical for any thread count.
//! - The out-of-bag score averages, for every row, the trees whose bootstrap sample missed it, and scores the
//!   rows that have at least one such tree: accuracy (classification) or R² (regression). That is scikit-learn's
//!   `oob_score_` when every row has one (scikit-learn scores the others too, with a zero prediction).

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use super::TrainError;
use super::cart::{self, DecisionTree, MaxFeatures, SplitStrategy, TreeParams};
use super::dataset::{Dataset, Task};
use super::numeric;
use super::random_state::RandomState;
use super::rng::SplitterRng;
use crate::metrics::argmax;

/// Which ensemble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForestKind {
    /// Random forest: best splits over random feature subsets, bootstrap samples.
    RandomForest,
    /// Extra trees: random thresholds, every row by default.
    ExtraTrees,
}

impl ForestKind {
    /// `random forest` or `extra trees`.
    pub fn name(self) -> &'static str {
        match self {
            ForestKind::RandomForest => "random forest",
            ForestKind::ExtraTrees => "extra trees",
        }
    }
}

/// The bootstrap sample size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxSamples {
    /// This many draws.
    Count(usize),
    /// `max(1, ⌊f · W⌋)` draws, `W` being the number of rows (or the total weight when rows are weighted).
    Fraction(f64),
}

/// Forest parameters (scikit-learn's names and defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct ForestParams {
    /// Random forest or extra trees.
    pub kind: ForestKind,
    /// Number of trees.
    pub n_estimators: usize,
    /// Parameters of every tree (`splitter` is set from `kind`).
    pub tree: TreeParams,
    /// Whether each tree sees a bootstrap sample.
    pub bootstrap: bool,
    /// Bootstrap sample size (default: as many draws as rows).
    pub max_samples: Option<MaxSamples>,
    /// Compute the out-of-bag score (needs `bootstrap`).
    pub oob_score: bool,
    /// The seed: scikit-learn's `random_state`.
    pub seed: u32,
    /// Worker threads (`None`: one per core). Results do not depend on it.
    pub threads: Option<usize>,
}

impl ForestParams {
    /// scikit-learn's defaults for `kind` and `task`: 100 trees; `max_features` `sqrt` for classification and all
    /// features for regression; bootstrap for random forests only.
    pub fn new(kind: ForestKind, task: Task) -> ForestParams {
        let mut tree = TreeParams::new(task);
        tree.max_features = match task {
            Task::Classification => MaxFeatures::Sqrt,
            Task::Regression => MaxFeatures::All,
        };
        ForestParams {
            kind,
            n_estimators: 100,
            tree,
            bootstrap: kind == ForestKind::RandomForest,
            max_samples: None,
            oob_score: false,
            seed: 0,
            threads: None,
        }
    }
}

/// The out-of-bag estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct OobScore {
    /// Accuracy (classification) or R² (regression) over the rows with at least one out-of-bag tree.
    pub score: f64,
    /// How many rows that is.
    pub rows: usize,
    /// The score of the first `t + 1` trees at index `t`: each row averages its out-of-bag trees among them, and
    /// the rows that have one are scored (NaN while no row has). The last entry is `score`, up to rounding (its
    /// R² comes from running sums).
    pub by_tree: Vec<f64>,
}

/// Running sums of one forest size's out-of-bag scores.
#[derive(Clone, Copy, Debug, Default)]
struct OobSums {
    rows: f64,
    correct: f64,
    /// Σ y, Σ y² (targets less the mean of all targets), Σ (y − prediction)².
    sum_y: f64,
    sum_yy: f64,
    sum_se: f64,
}

/// Rows per parallel work item of the out-of-bag score (fixed, so that its sums do not depend on the threads).
const OOB_CHUNK: usize = 256;

/// A trained forest.
#[derive(Clone, Debug, PartialEq)]
pub struct Forest {
    /// Random forest or extra trees.
    pub kind: ForestKind,
    /// The trees, in order.
    pub trees: Vec<DecisionTree>,
    /// Features a row has.
    pub n_features: usize,
    /// Classes (classification) or 0 (regression).
    pub n_classes: usize,
    /// The out-of-bag score, when asked for.
    pub oob: Option<OobScore>,
}

impl Forest {
    /// Trains a forest. `progress` is called with the number of finished trees after each tree (from worker
    /// threads, in completion order).
    pub fn train(
        data: &Dataset,
        params: &ForestParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Forest, TrainError> {
        let mut tree_params = params.tree.clone();
        tree_params.splitter = match params.kind {
            ForestKind::RandomForest => SplitStrategy::Best,
            ForestKind::ExtraTrees => SplitStrategy::Random,
        };
        tree_params.validate(data)?;
        if params.n_estimators == 0 {
            return Err(TrainError::Invalid(
                "n_estimators must be at least 1".into(),
            ));
        }
        if params.oob_score && !params.bootstrap {
            return Err(TrainError::Invalid(
                "the out-of-bag score needs bootstrap samples".into(),
            ));
        }
        if params.max_samples.is_some() && !params.bootstrap {
            return Err(TrainError::Invalid(
                "max_samples needs bootstrap samples".into(),
            ));
        }
        let base = row_weights(data, &tree_params.class_weight)?;
        let weighted =
            data.weights.is_some() || tree_params.class_weight != cart::ClassWeight::None;
        let total = numeric::sum(&base);
        if total.is_nan() || total <= 0.0 {
            return Err(TrainError::Invalid(
                "no training row has a positive weight".into(),
            ));
        }
        let n_draws = match params.max_samples {
            None => data.n_rows,
            Some(MaxSamples::Count(k)) if k >= 1 => k,
            Some(MaxSamples::Fraction(f)) if f > 0.0 && f <= 1.0 => {
                let w = if weighted { total } else { data.n_rows as f64 };
                ((f * w) as usize).max(1)
            }
            Some(m) => {
                return Err(TrainError::Invalid(format!(
                    "max_samples {m:?} must be a count ≥ 1 or a fraction in (0, 1]"
                )));
            }
        };
        // scikit-learn's `sample_weight / np.sum(sample_weight)`, the probabilities of its weighted draws.
        let probabilities: Option<Vec<f64>> =
            weighted.then(|| base.iter().map(|w| w / total).collect());
        let mut master = RandomState::new(params.seed);
        let seeds: Vec<u32> = (0..params.n_estimators)
            .map(|_| master.estimator_seed())
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(params.threads.unwrap_or(0))
            .build()
            .map_err(|e| TrainError::Invalid(format!("cannot start the worker threads: {e}")))?;
        let done = AtomicUsize::new(0);
        let grow = |seed: u32| -> Result<(DecisionTree, Option<Vec<u64>>), TrainError> {
            let rng = SplitterRng::from_random_state(seed);
            let (weights, in_bag): (Cow<[f64]>, _) = if params.bootstrap {
                let counts = bootstrap_counts(seed, data.n_rows, n_draws, probabilities.as_deref());
                let mut bits = vec![0u64; data.n_rows.div_ceil(64)];
                for (r, &c) in counts.iter().enumerate() {
                    if c > 0.0 {
                        bits[r / 64] |= 1 << (r % 64);
                    }
                }
                (Cow::Owned(counts), Some(bits))
            } else {
                (Cow::Borrowed(&base[..]), None)
            };
            let tree = cart::fit(data, &tree_params, &weights, rng)?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            Ok((tree, in_bag))
        };
        let built: Vec<(DecisionTree, Option<Vec<u64>>)> = pool.install(|| {
            seeds
                .par_iter()
                .map(|&s| grow(s))
                .collect::<Result<Vec<_>, TrainError>>()
        })?;
        let (trees, bags): (Vec<DecisionTree>, Vec<Option<Vec<u64>>>) = built.into_iter().unzip();
        let mut forest = Forest {
            kind: params.kind,
            trees,
            n_features: data.n_features(),
            n_classes: data.n_classes(),
            oob: None,
        };
        if params.oob_score {
            let bags: Vec<Vec<u64>> = bags.into_iter().flatten().collect();
            forest.oob = Some(pool.install(|| forest.oob_score(data, &bags)));
        }
        Ok(forest)
    }

    /// The prediction for `row`: the mean of the trees' class fractions or values, summed in tree order.
    pub fn predict_row(&self, row: &[f32]) -> Vec<f64> {
        let mut sum = vec![0.0; self.trees[0].nodes[0].value.len()];
        for t in &self.trees {
            for (s, v) in sum.iter_mut().zip(t.predict_row(row)) {
                *s += v;
            }
        }
        let n = self.trees.len() as f64;
        sum.iter().map(|s| s / n).collect()
    }

    /// Impurity-based feature importances: the mean of the trees' normalised importances (trees that are a
    /// single leaf left out), normalised to sum to 1.
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut sum = vec![0.0; self.n_features];
        let mut n = 0usize;
        for t in self.trees.iter().filter(|t| t.nodes.len() > 1) {
            for (s, v) in sum.iter_mut().zip(t.feature_importances()) {
                *s += v;
            }
            n += 1;
        }
        if n == 0 {
            return sum;
        }
        sum.iter_mut().for_each(|s| *s /= n as f64);
        let total: f64 = sum.iter().sum();
        if total > 0.0 {
            sum.iter_mut().for_each(|s| *s /= total);
        }
        sum
    }

    fn oob_score(&self, data: &Dataset, bags: &[Vec<u64>]) -> OobScore {
        let n_trees = self.trees.len();
        let classification = self.n_classes > 0;
        let centre = data.target.iter().sum::<f64>() / data.n_rows as f64;
        let rows: Vec<usize> = (0..data.n_rows).collect();
        // Per chunk: each row's out-of-bag prediction (if any), and the chunk's sums per forest size.
        type Chunk = (Vec<Option<Vec<f64>>>, Vec<OobSums>);
        let chunks: Vec<Chunk> = rows
            .par_chunks(OOB_CHUNK)
            .map(|chunk| {
                let mut sums = vec![OobSums::default(); n_trees];
                let mut mean = Vec::new();
                let predictions = chunk
                    .iter()
                    .map(|&r| {
                        let row = data.row(r);
                        let y = data.target[r];
                        let mut acc: Option<Vec<f64>> = None;
                        let mut n = 0usize;
                        for (t, (tree, bag)) in self.trees.iter().zip(bags).enumerate() {
                            if bag[r / 64] >> (r % 64) & 1 == 0 {
                                let v = tree.predict_row(&row);
                                let a = acc.get_or_insert_with(|| vec![0.0; v.len()]);
                                for (a, v) in a.iter_mut().zip(v) {
                                    *a += v;
                                }
                                n += 1;
                            }
                            let Some(a) = &acc else { continue };
                            mean.clear();
                            mean.extend(a.iter().map(|s| s / n as f64));
                            let s = &mut sums[t];
                            s.rows += 1.0;
                            if classification {
                                s.correct += f64::from(u8::from(argmax(&mean) == y as usize));
                            } else {
                                s.sum_y += y - centre;
                                s.sum_yy += (y - centre) * (y - centre);
                                s.sum_se += (y - mean[0]) * (y - mean[0]);
                            }
                        }
                        acc.map(|a| a.iter().map(|s| s / n as f64).collect())
                    })
                    .collect();
                (predictions, sums)
            })
            .collect();
        let mut totals = vec![OobSums::default(); n_trees];
        let mut per_row: Vec<Option<Vec<f64>>> = Vec::with_capacity(data.n_rows);
        for (predictions, sums) in chunks {
            per_row.extend(predictions);
            for (t, s) in totals.iter_mut().zip(sums) {
                t.rows += s.rows;
                t.correct += s.correct;
                t.sum_y += s.sum_y;
                t.sum_yy += s.sum_yy;
                t.sum_se += s.sum_se;
            }
        }
        let by_tree = totals
            .iter()
            .map(|s| {
                if s.rows == 0.0 {
                    f64::NAN
                } else if classification {
                    s.correct / s.rows
                } else {
                    1.0 - s.sum_se / (s.sum_yy - s.sum_y * s.sum_y / s.rows)
                }
            })
            .collect();
        let scored: Vec<(usize, &Vec<f64>)> = per_row
            .iter()
            .enumerate()
            .filter_map(|(r, p)| p.as_ref().map(|p| (r, p)))
            .collect();
        let rows = scored.len();
        let score = if rows == 0 {
            f64::NAN
        } else if self.n_classes > 0 {
            let correct = scored
                .iter()
                .filter(|(r, p)| argmax(p) == data.target[*r] as usize)
                .count();
            correct as f64 / rows as f64
        } else {
            let mean = scored.iter().map(|(r, _)| data.target[*r]).sum::<f64>() / rows as f64;
            let ss_res: f64 = scored
                .iter()
                .map(|(r, p)| (data.target[*r] - p[0]).powi(2))
                .sum();
            let ss_tot: f64 = scored
                .iter()
                .map(|(r, _)| (data.target[*r] - mean).powi(2))
                .sum();
            1.0 - ss_res / ss_tot
        };
        OobScore {
            score,
            rows,
            by_tree,
        }
    }
}

/// Each row's weight before bootstrapping: its sample weight (1 without) times its class weight. Balanced class
/// weights come from the classes' total sample weights, `W / (K · W_k)`, as scikit-learn's forests compute them
/// (`compute_class_weight("balanced", …, sample_weight=…)`); without sample weights that is [`cart::row_weights`].
fn row_weights(data: &Dataset, class_weight: &cart::ClassWeight) -> Result<Vec<f64>, TrainError> {
    let (Some(sample), cart::ClassWeight::Balanced, Some(classes)) =
        (&data.weights, class_weight, &data.schema.classes)
    else {
        return cart::row_weights(data, class_weight);
    };
    let mut by_class = vec![0.0; classes.len()];
    let mut present = vec![false; classes.len()];
    for (&w, &y) in sample.iter().zip(&data.target) {
        by_class[y as usize] += w;
        present[y as usize] = true;
    }
    let counts: Vec<f64> = by_class
        .iter()
        .zip(&present)
        .filter_map(|(&c, &p)| p.then_some(c))
        .collect();
    let k = counts.len() as f64;
    let all = numeric::sum(&counts);
    Ok(sample
        .iter()
        .zip(&data.target)
        .map(|(&w, &y)| w * (all / (k * by_class[y as usize])))
        .collect())
}

/// Draw counts of the bootstrap sample of the tree whose `random_state` is `seed`: `n_draws` rows out of
/// `n_rows`, uniform (`randint(0, n_rows, n_draws)`) or with the `probabilities` of the rows (`choice(n_rows,
/// n_draws, p = probabilities)`), from a fresh `RandomState(seed)`.
fn bootstrap_counts(
    seed: u32,
    n_rows: usize,
    n_draws: usize,
    probabilities: Option<&[f64]>,
) -> Vec<f64> {
    let mut g = RandomState::new(seed);
    let mut counts = vec![0.0; n_rows];
    match probabilities {
        None => {
            let n = u32::try_from(n_rows).expect("a bootstrap sample of fewer than 2^32 rows");
            for _ in 0..n_draws {
                counts[g.randint(n) as usize] += 1.0;
            }
        }
        Some(p) => {
            for r in g.choice_weighted(p, n_draws) {
                counts[r] += 1.0;
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_bootstrap_follows_the_weights() {
        let p = [0.125, 0.0, 0.375, 0.5]; // weights 1, 0, 3, 4
        let c = bootstrap_counts(5, 4, 80_000, Some(&p));
        assert_eq!(c[1], 0.0, "a zero-weight row is never drawn");
        assert!((c[0] / 80_000.0 - 0.125).abs() < 0.01, "{c:?}");
        assert!((c[2] / 80_000.0 - 0.375).abs() < 0.01, "{c:?}");
        let c = bootstrap_counts(5, 10, 1000, None);
        assert_eq!(c.iter().sum::<f64>(), 1000.0);
    }
}
