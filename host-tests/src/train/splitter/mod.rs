//! The split search of one node: which features to look at, and for each the best (or a random) split.
//!
//! The node's samples are `samples[start..end]`; the search reorders them and leaves them partitioned by the
//! chosen split (left part first). Numeric features follow scikit-learn's dense splitters exactly
//! (`sklearn/tree/_splitter.pyx`, `_partitioner.pyx`):
//!
//! - features are drawn without replacement by a Fisher–Yates walk over a persistent feature array, skipping
//!   features known to be constant in an ancestor, until `max_features` non-constant ones were evaluated (more if
//!   all drawn so far were constant);
//! - a feature is constant when all its values are missing, or it has no missing value and `max ≤ min + 1e-7`
//!   (in f32);
//! - best splits: the values are sorted with missing values last, by scikit-learn's own (unstable) sort, so rows
//!   with equal values keep scikit-learn's order and the running sums round alike; candidate positions lie
//!   between consecutive values more than 1e-7 apart (in f32); the threshold is `a/2 + b/2` in f64 and a row
//!   goes left when `x ≤ threshold`. With missing values a second pass puts them on the left, and the first pass
//!   also tries "every present value left, missing right" (threshold +∞). Without missing values in the node,
//!   missing values later go to the child with more training samples;
//! - random splits (extra trees): a threshold uniform in `[min, max]` of the node's values, missing values sent
//!   to a random side; the best of the drawn features wins; each drawn feature partitions the node's rows, and
//!   the best feature's partition is redone at the end only when it was not the last one drawn (as
//!   scikit-learn does, so the children's rows keep its order);
//! - the first candidate with the strictly largest proxy wins.
//!
//! Categorical features (not in scikit-learn's trees) are split into two sets of categories. The best split sorts
//! the node's categories by their mean target (regression) or their fraction of class 1 (binary), which finds the
//! optimal partition (Breiman et al., 1984), and scans the prefixes; with more classes it tries every partition
//! when there are at most [`EXHAUSTIVE_CATEGORIES`] categories, else it sorts by the fraction of the node's
//! majority class. Random splits send each category to a random side.

mod categorical;
mod sort;

pub use categorical::EXHAUSTIVE_CATEGORIES;

use super::criterion::{Criterion, NodeStats, Sample};
use super::dataset::{Dataset, FeatureKind};
use super::rng::SplitterRng;

/// The tolerance under which two feature values count as equal (as in scikit-learn, added in f32).
const FEATURE_THRESHOLD: f32 = 1e-7;

/// How a split sends a present (non-missing) value left.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// `x ≤ threshold` goes left (compared in f64).
    Threshold(f64),
    /// Categories: `trunc(x)` in `set` goes to the side `set_goes_left` names; any other value (an unseen
    /// category, a negative or too large value) goes to the other side. The set is the side with less training
    /// weight, so unseen categories follow the majority.
    Categories {
        /// Sorted category codes.
        set: Vec<u32>,
        /// Whether members go left.
        set_goes_left: bool,
    },
}

impl Rule {
    /// Whether a present value `x` goes left.
    pub fn goes_left(&self, x: f32) -> bool {
        match self {
            Rule::Threshold(t) => (x as f64) <= *t,
            Rule::Categories { set, set_goes_left } => {
                let member = (0.0..16_777_216.0).contains(&x)
                    && set.binary_search(&(x.trunc() as u32)).is_ok();
                member == *set_goes_left
            }
        }
    }
}

/// The split chosen for a node.
#[derive(Clone, Debug)]
pub(crate) struct SplitRecord {
    pub(crate) feature: usize,
    pub(crate) rule: Rule,
    /// Where missing values go.
    pub(crate) missing_left: bool,
    /// Whether the node had training rows with this feature missing.
    pub(crate) missing_seen: bool,
    /// `samples[start..pos]` is the left child.
    pub(crate) pos: usize,
    pub(crate) improvement: f64,
    pub(crate) impurity_left: f64,
    pub(crate) impurity_right: f64,
}

/// Search settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SplitSettings {
    pub(crate) criterion: Criterion,
    pub(crate) n_classes: usize,
    pub(crate) max_features: usize,
    pub(crate) min_samples_leaf: usize,
    pub(crate) min_weight_leaf: f64,
    pub(crate) random: bool,
}

/// What scanning one feature found.
enum Scan {
    /// The feature is constant in the node (it joins the known constants).
    Constant,
    /// No split of this feature satisfies the leaf constraints.
    Nothing,
    /// The feature's best candidate: its proxy, the candidate, and whether the node has missing values.
    Found(f64, Candidate, bool),
}

/// A candidate found while scanning one feature.
struct Candidate {
    pos: usize,
    rule: Rule,
    missing_left: bool,
}

/// The split-search state shared by every node of one tree.
pub(crate) struct Splitter<'a> {
    data: &'a Dataset,
    sample: Sample<'a>,
    settings: SplitSettings,
    rng: SplitterRng,
    /// Rows with a positive weight; each node owns a contiguous range.
    pub(crate) samples: Vec<u32>,
    features: Vec<usize>,
    constant_features: Vec<usize>,
    /// Feature values aligned with `samples` (for the feature being evaluated).
    values: Vec<f32>,
    stats: NodeStats,
    /// Total weight of every training row (zero weights included).
    pub(crate) weighted_n_samples: f64,
    start: usize,
    end: usize,
}

impl<'a> Splitter<'a> {
    /// A splitter over the rows of `data` with `weights` (rows of weight 0 take no part).
    pub(crate) fn new(
        data: &'a Dataset,
        weights: &'a [f64],
        settings: SplitSettings,
        rng: SplitterRng,
    ) -> Splitter<'a> {
        let samples: Vec<u32> = (0..data.n_rows as u32)
            .filter(|&i| weights[i as usize] != 0.0)
            .collect();
        let n = data.n_rows;
        Splitter {
            data,
            sample: Sample {
                y: &data.target,
                w: weights,
            },
            settings,
            rng,
            samples,
            features: (0..data.n_features()).collect(),
            constant_features: vec![0; data.n_features()],
            values: vec![0.0; n],
            stats: NodeStats::new(settings.criterion, settings.n_classes),
            weighted_n_samples: weights.iter().sum(),
            start: 0,
            end: 0,
        }
    }

    /// Number of rows with a positive weight.
    pub(crate) fn n_samples(&self) -> usize {
        self.samples.len()
    }

    /// Starts a node over `samples[start..end]`; returns its weight.
    pub(crate) fn node_reset(&mut self, start: usize, end: usize) -> f64 {
        self.start = start;
        self.end = end;
        self.stats.init(&self.sample, &self.samples, start, end);
        self.stats.w_node
    }

    /// The current node's impurity.
    pub(crate) fn node_impurity(&self) -> f64 {
        self.stats.node_impurity()
    }

    /// The current node's value.
    pub(crate) fn node_value(&self) -> Vec<f64> {
        self.stats.node_value()
    }

    /// Finds the current node's split. `n_known_constants` features (the first ones of the persistent array) are
    /// known to be constant from the ancestors; returns the split, if any, and the new count of known constants.
    pub(crate) fn node_split(
        &mut self,
        impurity: f64,
        n_known_constants: usize,
    ) -> (Option<SplitRecord>, usize) {
        let (start, end) = (self.start, self.end);
        let n_features = self.features.len();
        let max_features = self.settings.max_features;
        let mut best: Option<(usize, Candidate, bool)> = None;
        let mut best_proxy = f64::NEG_INFINITY;
        let mut f_i = n_features;
        let mut n_visited = 0usize;
        let mut n_found_constants = 0usize;
        let mut n_drawn_constants = 0usize;
        let mut n_total_constants = n_known_constants;
        // The last feature scanned: a random scan leaves the samples partitioned by its candidate.
        let mut last_scanned = None;
        while f_i > n_total_constants
            && (n_visited < max_features || n_visited <= n_found_constants + n_drawn_constants)
        {
            n_visited += 1;
            let mut f_j = self.rng.int(n_drawn_constants, f_i - n_found_constants);
            if f_j < n_known_constants {
                self.features.swap(n_drawn_constants, f_j);
                n_drawn_constants += 1;
                continue;
            }
            f_j += n_found_constants;
            let feature = self.features[f_j];
            last_scanned = Some(feature);
            let outcome = if self.settings.random {
                self.random_feature_split(feature)
            } else {
                self.best_feature_split(feature)
            };
            if let Scan::Constant = outcome {
                self.features.swap(f_j, n_total_constants);
                n_found_constants += 1;
                n_total_constants += 1;
                continue;
            }
            f_i -= 1;
            self.features.swap(f_i, f_j);
            if let Scan::Found(proxy, candidate, missing_seen) = outcome
                && proxy > best_proxy
            {
                best_proxy = proxy;
                best = Some((feature, candidate, missing_seen));
            }
        }
        // Ancestors' constants keep their order for the siblings and children; append the new ones.
        self.features[..n_known_constants]
            .copy_from_slice(&self.constant_features[..n_known_constants]);
        let (known, found) = (n_known_constants, n_found_constants);
        self.constant_features[known..known + found]
            .copy_from_slice(&self.features[known..known + found]);

        let Some((feature, candidate, missing_seen)) = best else {
            return (None, n_total_constants);
        };
        // scikit-learn's random splitter partitions again only when the last feature it scanned is not the best
        // one (the partition would otherwise reverse the right child's rows, and the sums round differently).
        if !(self.settings.random && last_scanned == Some(feature)) {
            self.partition(feature, &candidate.rule, candidate.missing_left);
        }
        self.stats.reset();
        self.stats
            .update(&self.sample, &self.samples, candidate.pos);
        let (impurity_left, impurity_right) =
            self.stats.children_impurity(&self.sample, &self.samples);
        let improvement = self.stats.improvement(
            self.weighted_n_samples,
            impurity,
            impurity_left,
            impurity_right,
        );
        debug_assert!(start < candidate.pos && candidate.pos < end);
        (
            Some(SplitRecord {
                feature,
                rule: candidate.rule,
                missing_left: candidate.missing_left,
                missing_seen,
                pos: candidate.pos,
                improvement,
                impurity_left,
                impurity_right,
            }),
            n_total_constants,
        )
    }

    /// Moves the node's samples with missing values of `feature` to the end and sorts the others by value;
    /// fills `values` accordingly and returns the number of missing values. Both steps are scikit-learn's (each
    /// missing value swapped with the right-most present one, then [`sort::sort`]), so the rows keep
    /// scikit-learn's order from node to node and from feature to feature.
    fn sort_by_feature(&mut self, feature: usize) -> usize {
        let (start, end) = (self.start, self.end);
        let column = self.data.column(feature);
        let mut n_missing = 0usize;
        let (mut i, mut last) = (start, end);
        while i < last {
            if column[self.samples[last - 1] as usize].is_nan() {
                n_missing += 1;
                last -= 1;
                continue;
            }
            if column[self.samples[i] as usize].is_nan() {
                self.samples.swap(i, last - 1);
                n_missing += 1;
                last -= 1;
            }
            self.values[i] = column[self.samples[i] as usize];
            i += 1;
        }
        let end_present = end - n_missing;
        self.values[end_present..end].fill(f32::NAN);
        sort::sort(
            &mut self.values[start..end_present],
            &mut self.samples[start..end_present],
        );
        n_missing
    }

    /// Whether `min_samples_leaf` holds for a split at `pos`.
    fn leaf_sizes_ok(&self, pos: usize) -> bool {
        let msl = self.settings.min_samples_leaf;
        pos - self.start >= msl && self.end - pos >= msl
    }

    /// Whether the minimum leaf weight holds at the statistics' current position.
    fn leaf_weights_ok(&self) -> bool {
        let mwl = self.settings.min_weight_leaf;
        self.stats.w_left >= mwl && self.stats.w_right >= mwl
    }

    /// Best split of one feature: `None` if the feature is constant in the node, else the best candidate (if one
    /// satisfies the leaf constraints) with its proxy and whether the node had missing values.
    fn best_feature_split(&mut self, feature: usize) -> Scan {
        if matches!(self.data.schema.kinds[feature], FeatureKind::Categorical(_)) {
            return self.best_categorical_split(feature);
        }
        let (start, end) = (self.start, self.end);
        let n_missing = self.sort_by_feature(feature);
        let end_present = end - n_missing;
        if end_present == start
            || (n_missing == 0
                && self.values[end_present - 1] <= self.values[start] + FEATURE_THRESHOLD)
        {
            return Scan::Constant;
        }
        let mut best: Option<(f64, Candidate)> = None;
        let passes = if n_missing > 0 { 2 } else { 1 };
        for pass in 0..passes {
            let missing_left = pass == 1;
            if missing_left {
                self.samples[start..end].rotate_right(n_missing);
                self.values[start..end].rotate_right(n_missing);
            }
            self.stats.reset();
            let scan_end = if missing_left { end } else { end_present };
            let mut p = start;
            while p < end {
                let p_prev;
                if p == scan_end && !missing_left {
                    p = end;
                    continue;
                } else {
                    if missing_left && p == start {
                        p = start + n_missing;
                    }
                    p += 1;
                    while p < scan_end && self.values[p] <= self.values[p - 1] + FEATURE_THRESHOLD {
                        p += 1;
                    }
                    p_prev = p - 1;
                }
                if p == end || !self.leaf_sizes_ok(p) {
                    continue;
                }
                self.stats.update(&self.sample, &self.samples, p);
                if !self.leaf_weights_ok() {
                    continue;
                }
                let proxy = self.stats.proxy();
                if proxy > best.as_ref().map_or(f64::NEG_INFINITY, |b| b.0) {
                    let threshold = if p == end_present && !missing_left {
                        f64::INFINITY
                    } else {
                        self.values[p_prev] as f64 / 2.0 + self.values[p] as f64 / 2.0
                    };
                    let missing_left = if n_missing == 0 {
                        p - start > end - p
                    } else {
                        missing_left
                    };
                    best = Some((
                        proxy,
                        Candidate {
                            pos: p,
                            rule: Rule::Threshold(threshold),
                            missing_left,
                        },
                    ));
                }
            }
        }
        // With missing values the rows stay as the second pass left them (missing ones first), where the next
        // feature's sort starts from, as in scikit-learn.
        match best {
            Some((proxy, c)) => Scan::Found(proxy, c, n_missing > 0),
            None => Scan::Nothing,
        }
    }

    /// Random split of one feature (extra trees): `None` if constant, else the drawn candidate if it satisfies
    /// the leaf constraints.
    fn random_feature_split(&mut self, feature: usize) -> Scan {
        let (start, end) = (self.start, self.end);
        let column = self.data.column(feature);
        let categorical = matches!(self.data.schema.kinds[feature], FeatureKind::Categorical(_));
        let mut n_missing = 0usize;
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        let mut seen = false;
        for &i in &self.samples[start..end] {
            let x = column[i as usize];
            if x.is_nan() {
                n_missing += 1;
            } else if !seen {
                (lo, hi, seen) = (x, x, true);
            } else if x < lo {
                lo = x;
            } else if x > hi {
                hi = x;
            }
        }
        if end - start == n_missing || (hi <= lo + FEATURE_THRESHOLD && n_missing == 0) {
            return Scan::Constant;
        }
        let rule = if categorical {
            self.random_categories(feature)
        } else {
            let mut t = self.rng.uniform(lo as f64, hi as f64);
            if t == hi as f64 {
                t = lo as f64;
            }
            Rule::Threshold(t)
        };
        let missing_left = n_missing > 0 && self.rng.int(0, 2) == 1;
        let pos = self.partition(feature, &rule, missing_left);
        if !self.leaf_sizes_ok(pos) {
            return Scan::Nothing;
        }
        self.stats.reset();
        self.stats.update(&self.sample, &self.samples, pos);
        if !self.leaf_weights_ok() {
            return Scan::Nothing;
        }
        let missing_left = if n_missing == 0 {
            pos - start > end - pos
        } else {
            missing_left
        };
        let rule = if categorical {
            self.smaller_side_set(feature, rule, pos)
        } else {
            rule
        };
        Scan::Found(
            self.stats.proxy(),
            Candidate {
                pos,
                rule,
                missing_left,
            },
            n_missing > 0,
        )
    }

    /// Partitions the node's samples by a split (left first, in place, as scikit-learn's final partition does);
    /// returns the split position.
    fn partition(&mut self, feature: usize, rule: &Rule, missing_left: bool) -> usize {
        let column = self.data.column(feature);
        let (mut lo, mut hi) = (self.start, self.end);
        while lo < hi {
            let x = column[self.samples[lo] as usize];
            let left = if x.is_nan() {
                missing_left
            } else {
                rule.goes_left(x)
            };
            if left {
                lo += 1;
            } else {
                hi -= 1;
                self.samples.swap(lo, hi);
            }
        }
        hi
    }
}
