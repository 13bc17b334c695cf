//! Rank tests: the smallest form of generated C (compiled for size).
//!
//! A key test ([`int_keys`](super::int_keys)) still carries a 32-bit threshold in every node: a literal-pool
//! word and its load, about 12 bytes a node on Cortex-M. Boosted models reuse thresholds heavily (XGBoost's and
//! LightGBM's histogram methods split only at a feature's bin borders), so the rank form stores each feature's
//! distinct thresholds once, as sorted keys ("cuts"), and maps the row once per prediction to one small integer
//! per feature: its *rank*, the number of the feature's cuts at or below the row's key (a binary search). A node
//! then tests `rank <= r`: a byte load, a compare with an 8-bit immediate and a branch, about 6 bytes. The
//! leaves shrink too: a tree returns its leaf's index in a table of its distinct values (a 2-byte `movs`) instead
//! of loading a float constant (an instruction and a literal word).
//!
//! **Exact.** With the cut of a test `x < t` equal to `key(t)` and of `x <= t` to `key(t) + 1` (keys are
//! integers, so `key(x) <= key(t)` is `key(x) < key(t) + 1`), a node's test is `key(x) < c_r` for its feature's
//! cut `c_r`. The cuts are sorted and distinct, so `key(x) < c_r` holds exactly when fewer than `r + 1` cuts are
//! at or below `key(x)`: `rank(x) <= r`. A NaN gets the rank `n` (the feature's number of cuts; it fails every
//! test, `r < n`) in the "NaN goes right" ranks `br`, and 0 (it passes every test) in the "NaN goes left" ranks
//! `bl`. So every decision is the float test's, as for the keys.
//!
//! The mapping costs a binary search per used feature and prediction (a few dozen instructions each), so the
//! header uses ranks only when the compiler optimizes for size.

use std::collections::HashMap;

use emkern::forest::Compare;

use super::cond::{self, Cond};
use super::int_keys::{self, KeyUse};
use super::model::Model;

/// The rank tables of a model whose tests can all be keys.
pub struct Ranks {
    /// Per slot: the feature's row index and its sorted distinct cuts. Slots are ordered by how many nodes test
    /// the feature (most first), so the busiest features get the shortest loads.
    pub slots: Vec<(usize, Vec<i32>)>,
    /// Slot of each row index that some node tests.
    slot_of: HashMap<usize, usize>,
    /// Which rank arrays the tests read (the key arrays' counterparts).
    pub used: KeyUse,
}

impl Ranks {
    /// The rank tables of `m`, whose tests are all plain threshold tests (`KeyUse::of(m)` is `used`).
    pub fn of(m: &Model, used: KeyUse) -> Ranks {
        let mut cuts: HashMap<usize, Vec<i32>> = HashMap::new();
        let mut uses: HashMap<usize, usize> = HashMap::new();
        for t in &m.trees {
            for node in &t.nodes {
                if let Cond::Numeric {
                    feature,
                    compare,
                    threshold,
                    ..
                } = cond::condition(m, node)
                {
                    cuts.entry(feature)
                        .or_default()
                        .push(cut(compare, threshold));
                    *uses.entry(feature).or_default() += 1;
                }
            }
        }
        let mut slots: Vec<(usize, Vec<i32>)> = cuts
            .into_iter()
            .map(|(f, mut c)| {
                c.sort_unstable();
                c.dedup();
                (f, c)
            })
            .collect();
        slots.sort_by_key(|(f, _)| (std::cmp::Reverse(uses[f]), *f));
        let slot_of = slots
            .iter()
            .enumerate()
            .map(|(s, (f, _))| (*f, s))
            .collect();
        Ranks {
            slots,
            slot_of,
            used,
        }
    }

    /// The C type of a rank: a byte while no feature has more than 255 cuts.
    pub fn rank_type(&self) -> &'static str {
        if self.slots.iter().all(|(_, c)| c.len() <= 255) {
            "uint8_t"
        } else {
            "uint16_t"
        }
    }

    /// All cuts, slot after slot.
    pub fn all_cuts(&self) -> impl Iterator<Item = i32> + '_ {
        self.slots.iter().flat_map(|(_, c)| c.iter().copied())
    }

    /// The end of each slot's cuts in [`Ranks::all_cuts`].
    pub fn ends(&self) -> Vec<usize> {
        self.slots
            .iter()
            .scan(0, |end, (_, c)| {
                *end += c.len();
                Some(*end)
            })
            .collect()
    }

    /// The test `x[feature] < threshold` (or `<=`) on the row's ranks: `br` when a NaN goes right, `bl` when it
    /// goes left.
    pub fn test(&self, feature: usize, compare: Compare, threshold: f32, nan_left: bool) -> String {
        let s = self.slot_of[&feature];
        let c = &self.slots[s].1;
        let r = c
            .binary_search(&cut(compare, threshold))
            .unwrap_or_else(|_| {
                unreachable!("every test's cut is in its feature's table (collected by `of`)")
            });
        format!("{}[{s}] <= {r}", if nan_left { "bl" } else { "br" })
    }
}

/// What a form of generated trees tests: the row's floats, its integer keys
/// ([`int_keys`](super::int_keys)) or its ranks.
#[derive(Clone, Copy)]
pub enum Form<'a> {
    /// The floats (`x`).
    Floats,
    /// Integer keys (`kr`, `kl`).
    Keys(KeyUse),
    /// Ranks (`br`, `bl`).
    Ranks(&'a Ranks),
}

impl Form<'_> {
    /// The arrays a tree function takes instead of the row (none for floats).
    pub fn names(self) -> Vec<&'static str> {
        match self {
            Form::Floats => Vec::new(),
            Form::Keys(used) => used.names(),
            Form::Ranks(r) => names(r.used),
        }
    }

    /// The argument list of a tree function's call to a subtree function.
    pub fn args(self) -> String {
        match self {
            Form::Floats => "x".to_string(),
            _ => self.names().join(", "),
        }
    }
}

/// The rank form's scalar leaf values: per tree its distinct values (bits), contiguous in one table.
pub struct ScalarTable {
    /// The values, tree after tree.
    pub values: Vec<f64>,
    /// Where each tree's values start.
    pub offsets: Vec<usize>,
    /// `index[t][l]`: the index of leaf `l` of tree `t` among its tree's values (empty for vector trees).
    pub index: Vec<Vec<usize>>,
}

impl ScalarTable {
    /// The table of `m`'s scalar trees (vector trees get no values and an empty index).
    pub fn of(m: &Model) -> ScalarTable {
        let mut values = Vec::new();
        let mut offsets = Vec::with_capacity(m.trees.len());
        let mut index = Vec::with_capacity(m.trees.len());
        for t in &m.trees {
            offsets.push(values.len());
            let mut ix = Vec::new();
            if t.output.is_some() {
                let mut seen: std::collections::HashMap<u64, usize> = Default::default();
                let start = values.len();
                for l in &t.leaves {
                    let v = cond::weighted(l.values[0], t.weight, m.wide);
                    let next = values.len() - start;
                    let i = *seen.entry(v.to_bits()).or_insert(next);
                    if i == next {
                        values.push(v);
                    }
                    ix.push(i);
                }
            }
            index.push(ix);
        }
        ScalarTable {
            values,
            offsets,
            index,
        }
    }
}

/// Array items as source lines: twelve to a line, each line indented four spaces and ending in a comma and a
/// newline (the same in C and Rust).
pub fn lines(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let mut out = String::new();
    for chunk in items.chunks(12) {
        out.push_str("    ");
        out.push_str(&chunk.join(", "));
        out.push_str(",\n");
    }
    out
}

/// The rank arrays that stand for `used`'s key arrays, `br` before `bl`.
pub fn names(used: KeyUse) -> Vec<&'static str> {
    used.names()
        .into_iter()
        .map(|n| if n == "kr" { "br" } else { "bl" })
        .collect()
}

/// The cut of a test: the row goes left exactly when `key(x) < cut`.
fn cut(compare: Compare, threshold: f32) -> i32 {
    let k = int_keys::key(threshold);
    match compare {
        Compare::Less => k,
        // A threshold's key is at most key(+inf) = 0x7f800000: no overflow.
        Compare::LessEqual => k + 1,
    }
}

/// The rank of key `k` among `cuts` (sorted): how many are at or below it.
#[cfg(test)]
fn rank(cuts: &[i32], k: i32) -> usize {
    cuts.partition_point(|&c| c <= k)
}

#[cfg(test)]
mod tests {
    use super::{cut, rank};
    use crate::export::codegen::int_keys::key;
    use emkern::forest::Compare;

    /// For thresholds and rows around each other (neighbours, ±0, infinities), the rank test decides as the
    /// float test does.
    #[test]
    fn rank_tests_decide_as_the_floats() {
        let base = [
            f32::NEG_INFINITY,
            -3.5,
            -1.0,
            -f32::MIN_POSITIVE,
            -0.0,
            0.0,
            1.0e-45,
            0.25,
            1.0,
            7.0e30,
            f32::MAX,
            f32::INFINITY,
        ];
        let mut xs: Vec<f32> = Vec::new();
        for &b in &base {
            xs.push(b);
            if b.is_finite() {
                xs.push(f32::from_bits(b.to_bits().wrapping_add(1)));
                xs.push(f32::from_bits(b.to_bits().wrapping_sub(1)));
            }
        }
        xs.retain(|x| !x.is_nan());
        for compare in [Compare::Less, Compare::LessEqual] {
            let mut cuts: Vec<i32> = base.iter().map(|&t| cut(compare, t)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            for &t in &base {
                let r = cuts.binary_search(&cut(compare, t)).unwrap();
                for &x in &xs {
                    let float = match compare {
                        Compare::Less => x < t,
                        Compare::LessEqual => x <= t,
                    };
                    assert_eq!(rank(&cuts, key(x)) <= r, float, "{x:e} {compare:?} {t:e}");
                }
                // NaN: rank n fails every test, rank 0 passes every one.
                assert!(cuts.len() > r);
            }
        }
    }
}
