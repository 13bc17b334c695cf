//! Categorical splits: two sets of category codes (see the parent module's documentation for the rules).

use super::super::criterion::proxy;
use super::{Candidate, Rule, Scan, Splitter};

/// Multiclass categorical splits try every partition up to this many categories in the node.
pub const EXHAUSTIVE_CATEGORIES: usize = 8;

/// The statistics of one category (or of the missing values) in a node.
#[derive(Clone)]
struct Group {
    /// Class weights (classification) or the weighted target sum (regression).
    sums: Vec<f64>,
    weight: f64,
    rows: usize,
}

impl Group {
    fn new(k: usize) -> Group {
        Group {
            sums: vec![0.0; k],
            weight: 0.0,
            rows: 0,
        }
    }

    fn add(&mut self, other: &Group) {
        for (s, v) in self.sums.iter_mut().zip(&other.sums) {
            *s += v;
        }
        self.weight += other.weight;
        self.rows += other.rows;
    }
}

/// The present codes of `samples` in `column`, sorted and de-duplicated.
fn distinct_codes(column: &[f32], samples: &[u32]) -> Vec<u32> {
    let mut codes: Vec<u32> = samples
        .iter()
        .map(|&i| column[i as usize])
        .filter(|x| !x.is_nan())
        .map(|x| x as u32)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

impl Splitter<'_> {
    /// A random split of the node's categories (extra trees): each present category goes left with probability
    /// one half, with at least one category on each side when there are two or more.
    pub(super) fn random_categories(&mut self, feature: usize) -> Rule {
        let column = self.data.column(feature);
        let cats = distinct_codes(column, &self.samples[self.start..self.end]);
        let mut left: Vec<bool> = cats.iter().map(|_| self.rng.int(0, 2) == 1).collect();
        if cats.len() == 1 {
            left[0] = true;
        } else if left.iter().all(|&l| l == left[0]) {
            let k = self.rng.int(0, cats.len());
            left[k] = !left[k];
        }
        Rule::Categories {
            set: cats
                .iter()
                .zip(&left)
                .filter(|(_, l)| **l)
                .map(|(c, _)| *c)
                .collect(),
            set_goes_left: true,
        }
    }

    /// Re-expresses a left-set categorical rule (samples partitioned at `pos`, statistics updated) with the set of
    /// the side that has less training weight, so that unseen categories follow the heavier side.
    pub(super) fn smaller_side_set(&self, feature: usize, rule: Rule, pos: usize) -> Rule {
        let Rule::Categories { set, .. } = rule else {
            return rule;
        };
        if self.stats.w_left <= self.stats.w_right {
            return Rule::Categories {
                set,
                set_goes_left: true,
            };
        }
        Rule::Categories {
            set: distinct_codes(self.data.column(feature), &self.samples[pos..self.end]),
            set_goes_left: false,
        }
    }

    /// Adds row `i` to `g`.
    fn add_row(&self, g: &mut Group, i: usize) {
        let w = self.sample.w[i];
        if self.settings.criterion.is_classification() {
            g.sums[self.sample.y[i] as usize] += w;
        } else {
            g.sums[0] += w * self.sample.y[i];
        }
        g.weight += w;
        g.rows += 1;
    }

    /// Candidate partitions of `cats` as membership masks (true = left).
    fn partitions(&self, cats: &[(u32, Group)], k: usize) -> Vec<Vec<bool>> {
        let classification = self.settings.criterion.is_classification();
        let c = cats.len();
        if classification && k > 2 && c <= EXHAUSTIVE_CATEGORIES {
            // Every partition once: the last category always on the right.
            return (1u32..(1u32 << (c - 1)))
                .map(|mask| (0..c).map(|j| mask >> j & 1 == 1).collect())
                .collect();
        }
        // Prefixes of the categories sorted by mean target, by fraction of class 1 (binary), or by fraction of the
        // node's majority class.
        let totals = self.stats.totals();
        let key_class = if k > 2 {
            (0..k)
                .max_by(|&a, &b| totals[a].total_cmp(&totals[b]).then(b.cmp(&a)))
                .unwrap_or(0)
        } else {
            k.saturating_sub(1)
        };
        let key = |g: &Group| g.sums[key_class] / g.weight;
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by(|&a, &b| key(&cats[a].1).total_cmp(&key(&cats[b].1)).then(a.cmp(&b)));
        (1..c)
            .map(|j| {
                let mut m = vec![false; c];
                for &o in &order[..j] {
                    m[o] = true;
                }
                m
            })
            .collect()
    }

    /// Best categorical split of one feature.
    pub(super) fn best_categorical_split(&mut self, feature: usize) -> Scan {
        let (start, end) = (self.start, self.end);
        let n_missing = self.sort_by_feature(feature);
        let end_present = end - n_missing;
        if end_present == start {
            return Scan::Constant;
        }
        let criterion = self.settings.criterion;
        let k = self.stats.totals().len();
        let mut cats: Vec<(u32, Group)> = Vec::new();
        for p in start..end_present {
            let code = self.values[p] as u32;
            if cats.last().is_none_or(|c| c.0 != code) {
                cats.push((code, Group::new(k)));
            }
            let group = &mut cats.last_mut().expect("pushed above").1;
            self.add_row(group, self.samples[p] as usize);
        }
        if cats.len() == 1 && n_missing == 0 {
            return Scan::Constant;
        }
        let mut missing = Group::new(k);
        for p in end_present..end {
            self.add_row(&mut missing, self.samples[p] as usize);
        }
        let mut partitions = self.partitions(&cats, k);
        if n_missing > 0 {
            // Every present category left, missing values right.
            partitions.push(vec![true; cats.len()]);
        }
        let totals = self.stats.totals().to_vec();
        let (w_node, n_node) = (self.stats.w_node, end - start);
        let (msl, mwl) = (
            self.settings.min_samples_leaf,
            self.settings.min_weight_leaf,
        );
        let mut best: Option<(f64, &Vec<bool>, bool)> = None;
        let mut right = vec![0.0; k];
        for mask in &partitions {
            let all_left = mask.iter().all(|&b| b);
            for missing_left in [false, true] {
                if missing_left && (n_missing == 0 || all_left) {
                    continue;
                }
                let mut left = Group::new(k);
                for ((_, g), _) in cats.iter().zip(mask).filter(|(_, l)| **l) {
                    left.add(g);
                }
                if missing_left {
                    left.add(&missing);
                }
                let (wr, nr) = (w_node - left.weight, n_node - left.rows);
                if left.rows < msl || nr < msl || left.weight < mwl || wr < mwl {
                    continue;
                }
                for ((r, t), l) in right.iter_mut().zip(&totals).zip(&left.sums) {
                    *r = t - l;
                }
                let p = proxy(criterion, &left.sums, left.weight, &right, wr);
                if p > best.map_or(f64::NEG_INFINITY, |b| b.0) {
                    best = Some((p, mask, missing_left));
                }
            }
        }
        let Some((proxy, mask, missing_left)) = best else {
            return Scan::Nothing;
        };
        let rule = Rule::Categories {
            set: cats
                .iter()
                .zip(mask)
                .filter(|(_, l)| **l)
                .map(|(c, _)| c.0)
                .collect(),
            set_goes_left: true,
        };
        let pos = self.partition(feature, &rule, missing_left);
        self.stats.reset();
        self.stats.update(&self.sample, &self.samples, pos);
        let missing_left = if n_missing == 0 {
            pos - start > end - pos
        } else {
            missing_left
        };
        Scan::Found(
            proxy,
            Candidate {
                pos,
                rule: self.smaller_side_set(feature, rule, pos),
                missing_left,
            },
            n_missing > 0,
        )
    }
}
