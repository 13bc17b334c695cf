//! Split finding on a node's histogram: XGBoost's second-order gain with its regularization, constraints,
//! missing-value directions and categorical partitions, in XGBoost's order of floating-point operations
//! (`src/tree/param.h`, `split_evaluator.h`, `hist/evaluate_splits.h`), so that equally good candidates tie and
//! break ties the same way.
//!
//! With `G`, `H` the sums of gradients and hessians of a node (in `f64`), λ the L2 and α the L1 penalty:
//!
//! - weight `w = −T_α(G) / (H + λ)` with `T_α` XGBoost's `ThresholdL1` (soft thresholding: `G − α` above α,
//!   `G + α` below −α, 0 between), limited to `±max_delta_step` when that is set, rounded to `f32`, then clamped
//!   to the node's monotone bounds; 0 when `H ≤ 0`;
//! - the objective reduction of a node with weight `w`: `−(2Gw + (H + λ)w² + 2α|w|)` (`f32` `w²`), 0 when
//!   `H ≤ 0`, rounded to `f32`;
//! - a split's gain is the sum of its children's reductions (each at its own weight) minus the parent's: with
//!   α = 0, no `max_delta_step` and no constraint this is `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)` (twice the
//!   textbook ½[…]: the factor does not change which split wins);
//! - a split is admissible when both children have `H > 0` and `H ≥ min_child_weight`, and, under a monotone
//!   constraint `c` on its feature, when `w_L ≤ w_R` (`c = 1`) or `w_L ≥ w_R` (`c = −1`);
//! - `gamma` (XGBoost's `min_split_loss`) is applied by the tree grower: a split whose gain is below γ is not
//!   made.
//!
//! **Numeric features**: a forward scan over the bins sends bins `0..=b` left and missing values right; if the
//! node has missing values for the feature (its missing bin is not empty), a backward scan sends bins `b+1..`
//! right and missing values left. The best candidate is kept; a later candidate replaces it only with a strictly
//! larger gain, and across features the lower feature index wins ties. (XGBoost has no missing bin: it runs the
//! backward scan when the bins' `f64` sum differs from the node's, which on large data also happens through
//! rounding alone; that second pass over the same partitions can then move a split's default direction for
//! features without missing training values, and nothing else. With exact sums — small data — the two rules
//! agree.)
//!
//! **Categorical features** with fewer categories than `max_cat_to_onehot` try each category against the rest
//! (with missing values on either side). Otherwise the categories are sorted by their own weight
//! `−T_α(G)/(H+λ)` (a stable sort) and the best prefix of that order is found by a forward scan (missing left)
//! and a backward scan (missing right) over at most `max_cat_threshold` categories — the optimal partition for
//! a second-order loss (Fisher, 1958), as XGBoost and LightGBM do. Either way the split's category set is the
//! set of categories that go **right**, XGBoost's convention.

use super::bins::FeatureBins;
use super::histogram::GradSum;

/// XGBoost's `kRtEps`: a split must reduce the loss by more than this.
pub const RT_EPS: f32 = 1e-6;

/// The regularization and constraints of split finding (XGBoost's names).
#[derive(Clone, Debug, PartialEq)]
pub struct SplitParams {
    /// L2 penalty on leaf weights (`reg_lambda`).
    pub lambda: f32,
    /// L1 penalty on leaf weights (`reg_alpha`).
    pub alpha: f32,
    /// Smallest hessian sum of a child.
    pub min_child_weight: f32,
    /// Largest absolute leaf weight before the learning rate; 0 for none.
    pub max_delta_step: f32,
    /// Categorical features with fewer categories than this are split one category against the rest.
    pub max_cat_to_onehot: u32,
    /// Most categories a partition-based split considers.
    pub max_cat_threshold: u32,
}

/// A node's range for its weight under monotone constraints.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Smallest weight.
    pub lower: f32,
    /// Largest weight.
    pub upper: f32,
}

impl Bounds {
    /// No bound (XGBoost's `±f32::MAX`).
    pub const NONE: Bounds = Bounds {
        lower: -f32::MAX,
        upper: f32::MAX,
    };
}

/// Computes weights and gains (see the module documentation).
#[derive(Clone, Debug)]
pub struct Evaluator<'a> {
    p: &'a SplitParams,
    /// One constraint per feature (−1, 0, 1).
    monotone: &'a [i8],
    constrained: bool,
}

fn threshold_l1(g: f64, alpha: f64) -> f64 {
    if g > alpha {
        g - alpha
    } else if g < -alpha {
        g + alpha
    } else {
        0.0
    }
}

impl<'a> Evaluator<'a> {
    /// An evaluator; `monotone` has one entry per feature (or is empty for none).
    pub fn new(p: &'a SplitParams, monotone: &'a [i8]) -> Evaluator<'a> {
        Evaluator {
            p,
            monotone,
            constrained: monotone.iter().any(|&c| c != 0),
        }
    }

    /// The unconstrained weight of a sum, in `f64` (XGBoost's `CalcWeight`).
    fn raw_weight(&self, s: GradSum) -> f64 {
        if s.h <= 0.0 {
            return 0.0;
        }
        let dw = -threshold_l1(s.g, self.p.alpha as f64) / (s.h + self.p.lambda as f64);
        let mds = self.p.max_delta_step as f64;
        if self.p.max_delta_step != 0.0 && dw.abs() > mds {
            mds.copysign(dw)
        } else {
            dw
        }
    }

    /// The weight of a node with sums `s` and bounds `b`.
    pub fn weight(&self, b: Bounds, s: GradSum) -> f32 {
        let w = self.raw_weight(s) as f32;
        if !self.constrained {
            w
        } else if w < b.lower {
            b.lower
        } else if w > b.upper {
            b.upper
        } else {
            w
        }
    }

    /// The reduction of the objective by a node of sums `s` with weight `w`.
    fn gain_given_weight(&self, s: GradSum, w: f32) -> f32 {
        if s.h <= 0.0 {
            return 0.0;
        }
        let wd = w as f64;
        let w2 = (w * w) as f64;
        (-(2.0 * s.g * wd
            + (s.h + self.p.lambda as f64) * w2
            + 2.0 * self.p.alpha as f64 * w.abs() as f64)) as f32
    }

    /// The reduction of the objective by a node of sums `s` at its own weight under bounds `b`.
    pub fn gain(&self, b: Bounds, s: GradSum) -> f32 {
        self.gain_given_weight(s, self.weight(b, s))
    }

    /// The children's total reduction for a split on `feature` of a node with bounds `b`; −∞ when the split is
    /// not admissible.
    #[inline]
    pub fn split_gain(&self, b: Bounds, feature: usize, l: GradSum, r: GradSum) -> f32 {
        let mcw = self.p.min_child_weight as f64;
        if !(l.h > 0.0 && r.h > 0.0 && l.h >= mcw && r.h >= mcw) {
            return f32::NEG_INFINITY;
        }
        let wl = self.weight(b, l);
        let wr = self.weight(b, r);
        let gain = self.gain_given_weight(l, wl) + self.gain_given_weight(r, wr);
        match self.monotone.get(feature).copied().unwrap_or(0) {
            0 => gain,
            c if c > 0 => {
                if wl <= wr {
                    gain
                } else {
                    f32::NEG_INFINITY
                }
            }
            _ => {
                if wl >= wr {
                    gain
                } else {
                    f32::NEG_INFINITY
                }
            }
        }
    }

    /// Whether gains take the plain form (no L1 penalty, no `max_delta_step`, no monotone constraint), which
    /// [`Evaluator::plain_split_gain`] computes with fewer operations and the same result.
    pub fn is_plain(&self) -> bool {
        !self.constrained && self.p.alpha == 0.0 && self.p.max_delta_step == 0.0
    }

    /// [`Evaluator::split_gain`] for an admissible split (both hessian sums positive and at least
    /// `min_child_weight`) when [`Evaluator::is_plain`]: each side's `w = (−G/(H + λ))` in `f32` and reduction
    /// `−(2Gw + (H + λ)w²)`, the two divisions done together.
    #[inline(always)]
    pub fn plain_split_gain(&self, l: GradSum, r: GradSum) -> f32 {
        let lambda = self.p.lambda as f64;
        let hl = [l.h + lambda, r.h + lambda];
        let g = [l.g, r.g];
        let w = [(-g[0] / hl[0]) as f32, (-g[1] / hl[1]) as f32];
        let side = |i: usize| {
            let wd = w[i] as f64;
            (-(2.0 * g[i] * wd + hl[i] * ((w[i] * w[i]) as f64))) as f32
        };
        side(0) + side(1)
    }

    /// The weight a category is sorted by (unbounded).
    fn category_weight(&self, s: GradSum) -> f32 {
        self.raw_weight(s) as f32
    }

    /// The monotone constraint of a feature.
    pub fn constraint(&self, feature: usize) -> i8 {
        self.monotone.get(feature).copied().unwrap_or(0)
    }
}

/// A set of category codes (below 256), as a bitset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CatSet([u64; 4]);

impl CatSet {
    /// Adds a code.
    pub fn insert(&mut self, c: usize) {
        self.0[c / 64] |= 1 << (c % 64);
    }

    /// Whether the set holds `c` (false for `c ≥ 256`).
    pub fn contains(&self, c: usize) -> bool {
        c < 256 && self.0[c / 64] >> (c % 64) & 1 == 1
    }

    /// The codes, ascending.
    pub fn to_vec(&self) -> Vec<u32> {
        (0..256u32).filter(|&c| self.contains(c as usize)).collect()
    }
}

/// How a split sends a non-missing value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SplitRule {
    /// `x < threshold` goes left; in bins, bins `0..=bin` go left (`bin = −1`: none).
    Numeric {
        /// The `f32` threshold.
        threshold: f32,
        /// The last bin that goes left.
        bin: i32,
    },
    /// Categories in the set go right, every other value left.
    Categorical {
        /// The categories that go right.
        right: CatSet,
    },
}

/// The best split found for a node so far.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitCandidate {
    /// The loss reduction (gain minus the parent's reduction), `f32`; 0 when no split was found.
    pub loss_chg: f32,
    /// Feature index.
    pub feature: usize,
    /// Where missing values go.
    pub default_left: bool,
    /// The test.
    pub rule: SplitRule,
    /// Sums of the left child.
    pub left_sum: GradSum,
    /// Sums of the right child.
    pub right_sum: GradSum,
}

impl Default for SplitCandidate {
    fn default() -> SplitCandidate {
        SplitCandidate {
            loss_chg: 0.0,
            feature: 0,
            default_left: false,
            rule: SplitRule::Numeric {
                threshold: 0.0,
                bin: 0,
            },
            left_sum: GradSum::ZERO,
            right_sum: GradSum::ZERO,
        }
    }
}

impl SplitCandidate {
    /// Whether a candidate with this loss change on `feature` replaces this one: strictly better, or as good
    /// on a lower feature index; infinite values never replace (XGBoost's `NeedReplace`).
    fn need_replace(&self, loss_chg: f32, feature: usize) -> bool {
        if loss_chg.is_infinite() {
            false
        } else if self.feature <= feature {
            loss_chg > self.loss_chg
        } else {
            // Not strictly worse (a NaN candidate replaces too, as in XGBoost).
            self.loss_chg.partial_cmp(&loss_chg) != Some(std::cmp::Ordering::Greater)
        }
    }

    /// Keeps `other` if it is better — a strictly larger loss reduction, or an equal one on a lower feature
    /// index (XGBoost's `NeedReplace`) — and returns whether it was kept.
    pub fn update(&mut self, other: &SplitCandidate) -> bool {
        if self.need_replace(other.loss_chg, other.feature) {
            *self = other.clone();
            true
        } else {
            false
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn offer(
        &mut self,
        loss_chg: f32,
        feature: usize,
        default_left: bool,
        rule: SplitRule,
        left_sum: GradSum,
        right_sum: GradSum,
    ) -> bool {
        if self.need_replace(loss_chg, feature) {
            *self = SplitCandidate {
                loss_chg,
                feature,
                default_left,
                rule,
                left_sum,
                right_sum,
            };
            true
        } else {
            false
        }
    }
}

/// What split finding needs to know about a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeEntry {
    /// The node's sums.
    pub stats: GradSum,
    /// The node's own reduction of the objective (XGBoost's `root_gain`).
    pub root_gain: f32,
    /// The node's weight bounds.
    pub bounds: Bounds,
}

/// The best split of `feature` for a node, from the feature's histogram slots (value bins then the missing
/// bin). The result's `loss_chg` is 0 when nothing beats "no split".
pub fn best_split(
    ev: &Evaluator<'_>,
    p: &SplitParams,
    node: &NodeEntry,
    feature: usize,
    fb: &FeatureBins,
    hist: &[GradSum],
) -> SplitCandidate {
    let nb = fb.n_bins();
    let bins = &hist[..nb];
    let mut best = SplitCandidate::default();
    if fb.categorical {
        if (nb as u32) < p.max_cat_to_onehot {
            one_hot(ev, node, feature, bins, &mut best);
        } else {
            partition(ev, p, node, feature, bins, &mut best);
        }
    } else {
        if ev.is_plain() {
            numeric_scans(node, feature, fb, hist, p, &mut best, |l, r| {
                ev.plain_split_gain(l, r)
            });
        } else {
            numeric_scans(node, feature, fb, hist, p, &mut best, |l, r| {
                ev.split_gain(node.bounds, feature, l, r)
            });
        }
    }
    best
}

/// The forward and backward scans of a numeric feature (see the module documentation); `gain` is the
/// children's total reduction of an admissible split.
#[inline(always)]
fn numeric_scans(
    node: &NodeEntry,
    feature: usize,
    fb: &FeatureBins,
    hist: &[GradSum],
    p: &SplitParams,
    best: &mut SplitCandidate,
    gain: impl Fn(GradSum, GradSum) -> f32,
) {
    let nb = fb.n_bins();
    let bins = &hist[..nb];
    let parent = node.stats;
    let mcw = p.min_child_weight as f64;
    // A child below min_child_weight (or without hessian) cannot be split off (its gain is −∞): the forward
    // scan starts once the left side is heavy enough and stops when the right side no longer is (and the
    // other way round for the backward scan). An empty bin repeats the previous candidate, which cannot win
    // again.
    let light = |s: GradSum| s.h < mcw || s.h <= 0.0;
    // Forward: bins 0..=b left, missing right.
    let mut left = GradSum::ZERO;
    for (b, s) in bins.iter().enumerate() {
        if s.h == 0.0 && s.g == 0.0 {
            continue;
        }
        left += *s;
        let right = parent - left;
        if light(right) {
            break;
        }
        if light(left) {
            continue;
        }
        let loss = gain(left, right) - node.root_gain;
        if loss > best.loss_chg || best.feature > feature {
            let rule = SplitRule::Numeric {
                threshold: fb.cuts[b],
                bin: b as i32,
            };
            best.offer(loss, feature, false, rule, left, right);
        }
    }
    // Backward, when the node has missing values for the feature: bins b.. right, missing left.
    let missing = hist[nb];
    if missing.h != 0.0 || missing.g != 0.0 {
        let mut right = GradSum::ZERO;
        for b in (0..nb).rev() {
            let s = bins[b];
            if s.h == 0.0 && s.g == 0.0 {
                continue;
            }
            right += s;
            let left = parent - right;
            if light(left) {
                break;
            }
            if light(right) {
                continue;
            }
            let loss = gain(left, right) - node.root_gain;
            if loss > best.loss_chg || best.feature > feature {
                let rule = SplitRule::Numeric {
                    threshold: fb.threshold(b as i32 - 1),
                    bin: b as i32 - 1,
                };
                best.offer(loss, feature, true, rule, left, right);
            }
        }
    }
}

/// One category against the rest, with missing values on either side.
fn one_hot(
    ev: &Evaluator<'_>,
    node: &NodeEntry,
    feature: usize,
    bins: &[GradSum],
    best: &mut SplitCandidate,
) {
    let parent = node.stats;
    let mut total = GradSum::ZERO;
    for s in bins {
        total += *s;
    }
    let missing = parent - total;
    let mut local = SplitCandidate::default();
    let mut chosen = None;
    for (c, s) in bins.iter().enumerate() {
        let mut set = CatSet::default();
        set.insert(c);
        let rule = SplitRule::Categorical { right: set };
        // Missing values left, with the other categories.
        let mut right = *s;
        let mut left = parent - right;
        let loss = ev.split_gain(node.bounds, feature, left, right) - node.root_gain;
        if local.offer(loss, feature, true, rule, left, right) {
            chosen = Some(c);
        }
        // Missing values right, with the chosen category.
        right += missing;
        left = parent - right;
        let loss = ev.split_gain(node.bounds, feature, left, right) - node.root_gain;
        if local.offer(loss, feature, false, rule, left, right) {
            chosen = Some(c);
        }
    }
    if chosen.is_some() {
        best.update(&local);
    }
}

/// The best prefix of the categories sorted by weight, scanned both ways.
fn partition(
    ev: &Evaluator<'_>,
    p: &SplitParams,
    node: &NodeEntry,
    feature: usize,
    bins: &[GradSum],
    best: &mut SplitCandidate,
) {
    let parent = node.stats;
    let nb = bins.len();
    let n = (p.max_cat_threshold as usize).min(nb);
    let mut sorted: Vec<usize> = (0..nb).collect();
    let weights: Vec<f32> = bins.iter().map(|&s| ev.category_weight(s)).collect();
    sorted.sort_by(|&a, &b| {
        weights[a]
            .partial_cmp(&weights[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let set_of = |k: usize| {
        let mut set = CatSet::default();
        for &c in &sorted[..k] {
            set.insert(c);
        }
        set
    };
    // Forward: the first j + 1 sorted categories right, missing left.
    let mut local = SplitCandidate::default();
    let mut right = GradSum::ZERO;
    let mut found = None;
    for (j, &c) in sorted.iter().enumerate().take(n.saturating_sub(1)) {
        right += bins[c];
        let left = parent - right;
        let loss = ev.split_gain(node.bounds, feature, left, right) - node.root_gain;
        let rule = SplitRule::Categorical {
            right: CatSet::default(),
        };
        if local.offer(loss, feature, true, rule, left, right) {
            found = Some(j + 1);
        }
    }
    if let Some(k) = found {
        local.rule = SplitRule::Categorical { right: set_of(k) };
        best.update(&local);
    }
    // Backward: the last sorted categories left, the first i (and missing values) right.
    let mut local = SplitCandidate::default();
    let mut left = GradSum::ZERO;
    let mut found = None;
    for i in ((nb + 1 - n.max(1))..nb).rev() {
        left += bins[sorted[i]];
        let right = parent - left;
        let loss = ev.split_gain(node.bounds, feature, left, right) - node.root_gain;
        let rule = SplitRule::Categorical {
            right: CatSet::default(),
        };
        if local.offer(loss, feature, false, rule, left, right) {
            found = Some(i);
        }
    }
    if let Some(k) = found {
        local.rule = SplitRule::Categorical { right: set_of(k) };
        best.update(&local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SplitParams {
        SplitParams {
            lambda: 1.0,
            alpha: 0.0,
            min_child_weight: 1.0,
            max_delta_step: 0.0,
            max_cat_to_onehot: 4,
            max_cat_threshold: 64,
        }
    }

    fn s(g: f64, h: f64) -> GradSum {
        GradSum { g, h }
    }

    #[test]
    fn gain_is_the_textbook_formula_without_extras() {
        let p = params();
        let ev = Evaluator::new(&p, &[]);
        let (l, r) = (s(-4.0, 3.0), s(5.0, 4.0));
        let parent = l + r;
        let gain = ev.split_gain(Bounds::NONE, 0, l, r) - ev.gain(Bounds::NONE, parent);
        let textbook = 16.0 / 4.0 + 25.0 / 5.0 - 1.0 / 8.0;
        assert!((gain as f64 - textbook).abs() < 1e-5, "{gain} {textbook}");
        assert!((ev.weight(Bounds::NONE, l) - 1.0).abs() < 1e-7);
        // min_child_weight and empty children.
        assert_eq!(
            ev.split_gain(Bounds::NONE, 0, s(1.0, 0.5), r),
            f32::NEG_INFINITY
        );
        assert_eq!(
            ev.split_gain(Bounds::NONE, 0, s(0.0, 0.0), r),
            f32::NEG_INFINITY
        );
    }

    #[test]
    fn l1_max_delta_step_and_bounds() {
        let mut p = params();
        p.alpha = 2.0;
        let ev = Evaluator::new(&p, &[]);
        assert_eq!(ev.weight(Bounds::NONE, s(1.5, 1.0)), 0.0);
        assert!((ev.weight(Bounds::NONE, s(-5.0, 2.0)) - 1.0).abs() < 1e-7);
        p.alpha = 0.0;
        p.max_delta_step = 0.5;
        let ev = Evaluator::new(&p, &[]);
        assert_eq!(ev.weight(Bounds::NONE, s(-5.0, 2.0)), 0.5);
        assert_eq!(ev.weight(Bounds::NONE, s(5.0, 2.0)), -0.5);
        let p = params();
        let mono = [1i8];
        let ev = Evaluator::new(&p, &mono);
        let b = Bounds {
            lower: -0.1,
            upper: 0.2,
        };
        assert_eq!(ev.weight(b, s(-5.0, 1.0)), 0.2);
        // Increasing constraint: left weight above right is rejected.
        assert_eq!(
            ev.split_gain(Bounds::NONE, 0, s(-4.0, 3.0), s(5.0, 4.0)),
            f32::NEG_INFINITY
        );
        assert!(
            ev.split_gain(Bounds::NONE, 0, s(4.0, 3.0), s(-5.0, 4.0))
                .is_finite()
        );
    }

    #[test]
    fn numeric_scan_learns_the_missing_direction() {
        let p = params();
        let ev = Evaluator::new(&p, &[]);
        let fb = FeatureBins {
            categorical: false,
            cuts: vec![1.0, 2.0, 3.0],
            has_missing: true,
        };
        // Bins: strongly negative gradients in bin 0 and in the missing bin; positive in bins 1 and 2.
        let hist = [s(-6.0, 3.0), s(4.0, 2.0), s(4.0, 2.0), s(-6.0, 3.0)];
        let stats = hist.iter().fold(GradSum::ZERO, |a, &b| a + b);
        let node = NodeEntry {
            stats,
            root_gain: ev.gain(Bounds::NONE, stats),
            bounds: Bounds::NONE,
        };
        let best = best_split(&ev, &p, &node, 0, &fb, &hist);
        assert!(best.loss_chg > 0.0);
        assert!(best.default_left, "missing values go with bin 0");
        assert_eq!(
            best.rule,
            SplitRule::Numeric {
                threshold: 1.0,
                bin: 0
            }
        );
        assert_eq!(best.left_sum, s(-12.0, 6.0));
    }

    #[test]
    fn categorical_partition_groups_by_weight() {
        let p = params();
        let ev = Evaluator::new(&p, &[]);
        let fb = FeatureBins {
            categorical: true,
            cuts: (0..6).map(|c| c as f32).collect(),
            has_missing: false,
        };
        // Categories 1, 3, 4 have positive gradients (negative weights): they belong together.
        let hist = [
            s(-5.0, 3.0),
            s(6.0, 3.0),
            s(-4.0, 3.0),
            s(5.0, 3.0),
            s(7.0, 3.0),
            s(-6.0, 3.0),
            GradSum::ZERO,
        ];
        let stats = hist.iter().fold(GradSum::ZERO, |a, &b| a + b);
        let node = NodeEntry {
            stats,
            root_gain: ev.gain(Bounds::NONE, stats),
            bounds: Bounds::NONE,
        };
        let best = best_split(&ev, &p, &node, 2, &fb, &hist);
        let SplitRule::Categorical { right } = best.rule else {
            panic!("categorical split expected")
        };
        let r = right.to_vec();
        assert!(r == vec![1, 3, 4] || r == vec![0, 2, 5], "{r:?}");
        assert_eq!(best.feature, 2);
        // One-hot below max_cat_to_onehot.
        let mut p2 = params();
        p2.max_cat_to_onehot = 10;
        let best = best_split(&ev, &p2, &node, 2, &fb, &hist);
        let SplitRule::Categorical { right } = best.rule else {
            panic!("categorical split expected")
        };
        assert_eq!(right.to_vec().len(), 1);
    }

    #[test]
    fn ties_prefer_the_lower_feature() {
        let mut a = SplitCandidate::default();
        let mut c = SplitCandidate {
            loss_chg: 2.0,
            feature: 5,
            ..SplitCandidate::default()
        };
        assert!(a.update(&c));
        c.feature = 3;
        assert!(a.update(&c), "same gain, lower feature");
        c.feature = 7;
        assert!(!a.update(&c), "same gain, higher feature");
        c.loss_chg = f32::INFINITY;
        c.feature = 0;
        assert!(!a.update(&c));
    }
}
