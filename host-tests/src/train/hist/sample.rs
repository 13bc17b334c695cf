//! Row and column sampling, seeded, and drawn in an order that depends only on the seed and the tree being
//! grown (never on threads).
//!
//! - Rows (`subsample`): each training row takes part in a tree with probability `subsample` (independent
//!   Bernoulli draws, XGBoost's `uniform` sampling).
//! - Columns: `colsample_bytree` draws a feature set per tree, `colsample_bylevel` a subset of it per depth (drawn
//!   when the depth is first reached), `colsample_bynode` a subset of the level's set for every node evaluated;
//!   each draw keeps `max(1, ⌊fraction · n⌋)` of the `n` features it draws from (a uniform random subset, sorted),
//!   as XGBoost's `ColumnSampler` does.

use crate::train::rng::SplitMix64;

/// The features of a tree, of its levels and of its nodes.
#[derive(Clone, Debug)]
pub struct ColumnSampler {
    rng: SplitMix64,
    tree: Vec<usize>,
    levels: Vec<Option<Vec<usize>>>,
    bylevel: f32,
    bynode: f32,
}

/// A uniform random subset of `max(1, ⌊frac · |from|⌋)` of `from`, sorted (`from` itself when `frac ≥ 1`).
fn subset(rng: &mut SplitMix64, from: &[usize], frac: f32) -> Vec<usize> {
    if frac >= 1.0 || from.is_empty() {
        return from.to_vec();
    }
    let n = ((frac * from.len() as f32) as usize).max(1);
    let mut v = from.to_vec();
    // Partial Fisher–Yates: the first n positions become a uniform sample.
    for i in 0..n {
        let j = i + rng.below((v.len() - i) as u64) as usize;
        v.swap(i, j);
    }
    v.truncate(n);
    v.sort_unstable();
    v
}

impl ColumnSampler {
    /// A sampler for one tree over `n_features` features, drawing the tree's set now.
    pub fn new(
        n_features: usize,
        bytree: f32,
        bylevel: f32,
        bynode: f32,
        seed: u64,
    ) -> ColumnSampler {
        let mut rng = SplitMix64::new(seed);
        let all: Vec<usize> = (0..n_features).collect();
        let tree = subset(&mut rng, &all, bytree);
        ColumnSampler {
            rng,
            tree,
            levels: Vec::new(),
            bylevel,
            bynode,
        }
    }

    /// The features a node at `depth` may split on (a fresh draw per call when `colsample_bynode < 1`, so call
    /// it once per node, in a fixed order).
    pub fn node_features(&mut self, depth: usize) -> Vec<usize> {
        if self.bylevel >= 1.0 && self.bynode >= 1.0 {
            return self.tree.clone();
        }
        if self.levels.len() <= depth {
            self.levels.resize(depth + 1, None);
        }
        if self.levels[depth].is_none() {
            self.levels[depth] = Some(subset(&mut self.rng, &self.tree, self.bylevel));
        }
        let level = self.levels[depth].as_deref().unwrap_or_default();
        if self.bynode >= 1.0 {
            return level.to_vec();
        }
        subset(&mut self.rng, level, self.bynode)
    }
}

/// The rows of one tree: each of `0..n_rows` with probability `frac` (all rows when `frac ≥ 1`), ascending.
pub fn subsample_rows(n_rows: usize, frac: f32, seed: u64) -> Vec<u32> {
    if frac >= 1.0 {
        return (0..n_rows as u32).collect();
    }
    let mut rng = SplitMix64::new(seed);
    let p = frac as f64;
    (0..n_rows as u32).filter(|_| rng.next_f64() < p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_nesting_and_determinism() {
        let mut s = ColumnSampler::new(10, 0.5, 0.6, 0.5, 3);
        assert_eq!(s.tree.len(), 5);
        let a = s.node_features(0);
        let b = s.node_features(0);
        assert_eq!(a.len(), 1, "⌊0.5 · ⌊0.6 · 5⌋⌋ = 1");
        let level = s.levels[0].clone().unwrap();
        assert_eq!(level.len(), 3);
        assert!(level.iter().all(|f| s.tree.contains(f)));
        assert!(a.iter().chain(&b).all(|f| level.contains(f)));
        let mut t = ColumnSampler::new(10, 0.5, 0.6, 0.5, 3);
        assert_eq!(t.node_features(0), a);
        let mut full = ColumnSampler::new(4, 1.0, 1.0, 1.0, 9);
        assert_eq!(full.node_features(7), vec![0, 1, 2, 3]);
        let tiny = ColumnSampler::new(3, 0.01, 1.0, 1.0, 1);
        assert_eq!(tiny.tree.len(), 1);
    }

    #[test]
    fn subsample_fraction() {
        let r = subsample_rows(100_000, 0.3, 5);
        assert!((r.len() as f64 / 1e5 - 0.3).abs() < 0.01);
        assert!(r.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(r, subsample_rows(100_000, 0.3, 5));
        assert_eq!(subsample_rows(5, 1.0, 5), vec![0, 1, 2, 3, 4]);
    }
}
