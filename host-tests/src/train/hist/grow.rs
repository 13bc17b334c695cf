//! Growing one tree on a binned matrix, XGBoost's `hist` way (`src/tree/updater_quantile_hist.cc`,
//! `driver.h`).
//!
//! - The root's sums are the sum of feature 0's bins when no training value is missing, else the sum of the
//!   rows' pairs; its weight and reduction come from the [`Evaluator`].
//! - Candidates wait in a queue. **Depthwise**: every queued node of the shallowest depth is expanded together
//!   (in node order). **Lossguide**: the candidate with the largest loss reduction is expanded first (the older
//!   node on ties), one at a time. A candidate is expanded when its loss reduction exceeds 1e-6 and `gamma`,
//!   its depth is below `max_depth` (0: no limit) and the tree has fewer than `max_leaves` leaves (0: no limit);
//!   lossguide stops at the first candidate that fails.
//! - Expanding a node gives its children the leaf values `eta · w` (weights under the parent's bounds), and
//!   under a monotone constraint bounds at the midpoint of the two weights (XGBoost's `TreeEvaluator::AddSplit`).
//! - Rows are partitioned stably (every child keeps its rows in row order) by the split's bin test. Children
//!   that can still be split get histograms: the child with fewer rows is built, its sibling is the parent's
//!   histogram minus it; then both are searched for their best splits.
//! - Parallelism: histograms over nodes and row blocks, split search over (node, feature) pairs, partitions over
//!   nodes and row chunks; every result is assembled in a fixed order, so the tree does not depend on the
//!   number of threads.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::bins::BinnedMatrix;
use super::histogram::{GradSum, HistBuilder, RowSet, subtract};
use super::objective::GradPair;
use super::sample::ColumnSampler;
use super::split::{Bounds, Evaluator, NodeEntry, RT_EPS, SplitCandidate, SplitParams, best_split};
use super::tree::{HistNode, HistTree};

/// The order in which a tree grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrowPolicy {
    /// Level by level (XGBoost's `depthwise`).
    Depthwise,
    /// Best loss reduction first (XGBoost's `lossguide`, LightGBM's leaf-wise growth).
    Lossguide,
}

impl GrowPolicy {
    /// XGBoost's name.
    pub fn name(self) -> &'static str {
        match self {
            GrowPolicy::Depthwise => "depthwise",
            GrowPolicy::Lossguide => "lossguide",
        }
    }
}

/// What shapes a tree.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeParams {
    /// Split finding.
    pub split: SplitParams,
    /// Learning rate, applied to leaf values.
    pub eta: f32,
    /// Smallest loss reduction of a split (`min_split_loss`).
    pub gamma: f32,
    /// Deepest a leaf can be; 0 for no limit.
    pub max_depth: u32,
    /// Most leaves a tree can have; 0 for no limit.
    pub max_leaves: u32,
    /// Growth order.
    pub policy: GrowPolicy,
}

/// The rows of the tree's nodes: a permutation of the tree's rows in which every node owns a range.
#[derive(Clone, Debug, Default)]
pub struct Partition {
    /// Row indices.
    pub rows: Vec<u32>,
    /// `ranges[node]`: the node's rows are `rows[begin..end]`.
    pub ranges: Vec<(usize, usize)>,
}

impl Partition {
    /// The rows of a node.
    pub fn rows_of(&self, node: usize) -> &[u32] {
        let (b, e) = self.ranges[node];
        &self.rows[b..e]
    }
}

/// A queued candidate.
#[derive(Clone, Debug)]
struct Candidate {
    nid: u32,
    depth: u32,
    split: SplitCandidate,
}

/// A candidate with the queue's priority order.
struct Queued {
    c: Candidate,
    policy: GrowPolicy,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Greater is expanded first.
    fn cmp(&self, other: &Self) -> Ordering {
        let by_age = other.c.nid.cmp(&self.c.nid);
        match self.policy {
            GrowPolicy::Depthwise => by_age,
            GrowPolicy::Lossguide => {
                let (a, b) = (self.c.split.loss_chg, other.c.split.loss_chg);
                if a == b {
                    by_age
                } else {
                    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
                }
            }
        }
    }
}

/// XGBoost's `Driver`: the queue of candidates and the count of leaves.
struct Driver<'a> {
    p: &'a TreeParams,
    queue: BinaryHeap<Queued>,
    n_leaves: u32,
}

impl Driver<'_> {
    fn push(&mut self, c: Candidate) {
        if c.split.loss_chg > RT_EPS {
            self.queue.push(Queued {
                c,
                policy: self.p.policy,
            });
        }
    }

    fn valid(&self, c: &Candidate) -> bool {
        let p = self.p;
        let loss = c.split.loss_chg;
        !(loss <= RT_EPS
            || loss < p.gamma
            || (p.max_depth > 0 && c.depth == p.max_depth)
            || (p.max_leaves > 0 && self.n_leaves == p.max_leaves))
    }

    fn child_valid(&self, c: &Candidate) -> bool {
        let p = self.p;
        !((p.max_depth > 0 && c.depth + 1 >= p.max_depth)
            || (p.max_leaves > 0 && self.n_leaves >= p.max_leaves))
    }

    /// The next candidates to expand (empty: the tree is done).
    fn pop(&mut self) -> Vec<Candidate> {
        let Some(top) = self.queue.pop() else {
            return Vec::new();
        };
        match self.p.policy {
            GrowPolicy::Lossguide => {
                if self.valid(&top.c) {
                    self.n_leaves += 1;
                    vec![top.c]
                } else {
                    Vec::new()
                }
            }
            GrowPolicy::Depthwise => {
                let level = top.c.depth;
                let mut out = Vec::new();
                let mut next = Some(top);
                while let Some(q) = next {
                    if q.c.depth != level {
                        self.queue.push(q);
                        break;
                    }
                    if self.valid(&q.c) {
                        self.n_leaves += 1;
                        out.push(q.c);
                    }
                    next = self.queue.pop();
                }
                out
            }
        }
    }
}

/// Per-node state while growing.
#[derive(Clone, Copy, Debug)]
struct NodeState {
    entry: NodeEntry,
    depth: u32,
}

/// Grows trees, keeping its scratch space (histograms, buffers) from one tree to the next.
#[derive(Debug, Default)]
pub struct Grower {
    builder: HistBuilder,
    pool: Vec<Vec<GradSum>>,
}

/// Rows per chunk of a parallel partition.
const PARTITION_CHUNK: usize = 16_384;

/// Stable partition of `rows` by `left`: the rows that go left first, each side in its original order.
/// Returns the number of rows that go left. Branch-free (the side of a row is data, not control flow).
#[inline(never)]
fn stable_partition<F: Fn(u32) -> bool + Sync>(rows: &mut [u32], left: &F) -> usize {
    if rows.len() < 2 * PARTITION_CHUNK {
        let mut right = vec![0u32; rows.len()];
        let (nl, nr) = partition_into(rows, &mut right, left);
        rows[nl..].copy_from_slice(&right[..nr]);
        return nl;
    }
    let parts: Vec<(Vec<u32>, usize)> = rows
        .par_chunks_mut(PARTITION_CHUNK)
        .map(|c| {
            let mut right = vec![0u32; c.len()];
            let (nl, nr) = partition_into(c, &mut right, left);
            right.truncate(nr);
            (right, nl)
        })
        .collect();
    // Each chunk holds its left rows at its start; gather them, then every chunk's right rows.
    let mut at = 0;
    for (c, (_, nl)) in parts.iter().enumerate() {
        let start = c * PARTITION_CHUNK;
        rows.copy_within(start..start + nl, at);
        at += nl;
    }
    let nl = at;
    for (r, _) in &parts {
        rows[at..at + r.len()].copy_from_slice(r);
        at += r.len();
    }
    nl
}

/// Moves the rows of `rows` that go left to its front (in order) and the others into `right` (in order);
/// returns both counts.
#[inline(always)]
fn partition_into<F: Fn(u32) -> bool>(
    rows: &mut [u32],
    right: &mut [u32],
    left: &F,
) -> (usize, usize) {
    let mut nl = 0;
    let mut nr = 0;
    for i in 0..rows.len() {
        let r = rows[i];
        let l = left(r) as usize;
        rows[nl] = r;
        right[nr] = r;
        nl += l;
        nr += 1 - l;
    }
    (nl, nr)
}

impl Grower {
    /// A grower without scratch space yet.
    pub fn new() -> Grower {
        Grower::default()
    }

    fn take_hist(&mut self, n_slots: usize) -> Vec<GradSum> {
        match self.pool.pop() {
            Some(h) if h.len() == n_slots => h,
            _ => vec![GradSum::ZERO; n_slots],
        }
    }

    /// Grows one tree on rows `rows` (ascending; `all_rows` when they are every row of the matrix) with the
    /// gradient pairs `gpair` (one per matrix row). Returns the tree and the partition of `rows` over its nodes.
    #[allow(clippy::too_many_arguments)]
    pub fn grow(
        &mut self,
        m: &BinnedMatrix,
        gpair: &[GradPair],
        rows: Vec<u32>,
        all_rows: bool,
        p: &TreeParams,
        monotone: &[i8],
        sampler: &mut ColumnSampler,
    ) -> (HistTree, Partition) {
        let ev = Evaluator::new(&p.split, monotone);
        let n_slots = m.n_slots();
        let features = m.features();
        let n = rows.len();
        let mut part = Partition {
            rows,
            ranges: vec![(0, n)],
        };

        // Root.
        let mut hists: Vec<Option<Vec<GradSum>>> = Vec::new();
        let mut root_hist = self.take_hist(n_slots);
        {
            let set = if all_rows {
                RowSet::All
            } else {
                RowSet::List(&part.rows)
            };
            self.builder
                .build(m, gpair, &[set], &mut [root_hist.as_mut_slice()]);
        }
        let stats = if m.is_dense() && m.n_features() > 0 {
            let mut s = GradSum::ZERO;
            for b in &root_hist[..features[0].n_bins()] {
                s += *b;
            }
            s
        } else {
            let mut s = GradSum::ZERO;
            for &r in &part.rows {
                s += GradSum::of(gpair[r as usize]);
            }
            s
        };
        hists.push(Some(root_hist));
        let root_weight = ev.weight(Bounds::NONE, stats);
        let mut state = vec![NodeState {
            entry: NodeEntry {
                stats,
                root_gain: ev.gain(Bounds::NONE, stats),
                bounds: Bounds::NONE,
            },
            depth: 0,
        }];
        let mut tree = HistTree {
            nodes: vec![HistNode::leaf(None, root_weight * p.eta, stats.h)],
        };
        tree.nodes[0].base_weight = root_weight;

        let mut driver = Driver {
            p,
            queue: BinaryHeap::new(),
            n_leaves: 1,
        };
        let root = self.evaluate(m, &ev, p, &[0], &state, &hists, sampler);
        driver.push(Candidate {
            nid: 0,
            depth: 0,
            split: root.into_iter().next().unwrap_or_default(),
        });
        let mut expand = driver.pop();
        while !expand.is_empty() {
            let mut valid = Vec::new();
            for c in &expand {
                self.apply(&ev, p, c, &mut tree, &mut state, monotone);
                hists.push(None);
                hists.push(None);
                if driver.child_valid(c) {
                    valid.push(c.clone());
                } else if let Some(h) = hists[c.nid as usize].take() {
                    self.pool.push(h);
                }
            }
            self.partition(m, &tree, &expand, &mut part);

            let mut children = Vec::new();
            if !valid.is_empty() {
                // Build the child with fewer rows, derive its sibling.
                let mut build_ids = Vec::with_capacity(valid.len());
                let mut sub_ids = Vec::with_capacity(valid.len());
                for c in &valid {
                    let (l, r) = tree.nodes[c.nid as usize].children.unwrap_or_default();
                    let rows = |id: u32| {
                        let (b, e) = part.ranges[id as usize];
                        e - b
                    };
                    if rows(l) <= rows(r) {
                        build_ids.push(l);
                        sub_ids.push(r);
                    } else {
                        build_ids.push(r);
                        sub_ids.push(l);
                    }
                    children.push(l);
                    children.push(r);
                }
                let mut built: Vec<Vec<GradSum>> =
                    build_ids.iter().map(|_| self.take_hist(n_slots)).collect();
                {
                    let sets: Vec<RowSet<'_>> = build_ids
                        .iter()
                        .map(|&id| RowSet::List(part.rows_of(id as usize)))
                        .collect();
                    let mut outs: Vec<&mut [GradSum]> =
                        built.iter_mut().map(|h| h.as_mut_slice()).collect();
                    self.builder.build(m, gpair, &sets, &mut outs);
                }
                for ((c, b_id), (s_id, h)) in
                    valid.iter().zip(&build_ids).zip(sub_ids.iter().zip(built))
                {
                    let parent = hists[c.nid as usize]
                        .take()
                        .expect("a split node's histogram is kept until its children are built");
                    let mut sib = self.take_hist(n_slots);
                    subtract(&parent, &h, &mut sib);
                    self.pool.push(parent);
                    hists[*b_id as usize] = Some(h);
                    hists[*s_id as usize] = Some(sib);
                }
                let found = self.evaluate(m, &ev, p, &children, &state, &hists, sampler);
                for (&id, split) in children.iter().zip(found) {
                    driver.push(Candidate {
                        nid: id,
                        depth: state[id as usize].depth,
                        split,
                    });
                }
            }
            expand = driver.pop();
            // Candidates that will never be expanded no longer need their histograms. In depthwise growth
            // every queued node is popped level by level; in lossguide growth the queue keeps them.
            if p.policy == GrowPolicy::Depthwise {
                for id in children {
                    if !expand.iter().any(|c| c.nid == id)
                        && let Some(h) = hists[id as usize].take()
                    {
                        self.pool.push(h);
                    }
                }
            }
        }
        for h in hists.into_iter().flatten() {
            self.pool.push(h);
        }
        (tree, part)
    }

    /// The best split of each node in `nids`, in order (feature sets drawn in that order).
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        m: &BinnedMatrix,
        ev: &Evaluator<'_>,
        p: &TreeParams,
        nids: &[u32],
        state: &[NodeState],
        hists: &[Option<Vec<GradSum>>],
        sampler: &mut ColumnSampler,
    ) -> Vec<SplitCandidate> {
        let sets: Vec<Vec<usize>> = nids
            .iter()
            .map(|&id| sampler.node_features(state[id as usize].depth as usize))
            .collect();
        let tasks: Vec<(usize, usize)> = sets
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.iter().map(move |&f| (i, f)))
            .collect();
        let offsets = m.offsets();
        let features = m.features();
        let found: Vec<SplitCandidate> = tasks
            .par_iter()
            .map(|&(i, f)| {
                let id = nids[i] as usize;
                let hist = hists[id]
                    .as_deref()
                    .expect("an evaluated node has a histogram");
                let slots = &hist[offsets[f] as usize..offsets[f + 1] as usize];
                best_split(ev, &p.split, &state[id].entry, f, &features[f], slots)
            })
            .collect();
        let mut best = vec![SplitCandidate::default(); nids.len()];
        for (&(i, _), c) in tasks.iter().zip(&found) {
            best[i].update(c);
        }
        best
    }

    /// Turns leaf `c.nid` into a split with two leaf children.
    fn apply(
        &self,
        ev: &Evaluator<'_>,
        p: &TreeParams,
        c: &Candidate,
        tree: &mut HistTree,
        state: &mut Vec<NodeState>,
        monotone: &[i8],
    ) {
        let nid = c.nid as usize;
        let s = &c.split;
        let bounds = state[nid].entry.bounds;
        let parent_sum = s.left_sum + s.right_sum;
        let base_weight = ev.weight(bounds, parent_sum);
        let wl = ev.weight(bounds, s.left_sum);
        let wr = ev.weight(bounds, s.right_sum);
        let l = tree.nodes.len() as u32;
        let r = l + 1;
        {
            let node = &mut tree.nodes[nid];
            node.children = Some((l, r));
            node.feature = s.feature as u32;
            node.rule = s.rule;
            node.default_left = s.default_left;
            node.base_weight = base_weight;
            node.loss_change = s.loss_chg;
            node.sum_hess = parent_sum.h;
        }
        tree.nodes
            .push(HistNode::leaf(Some(nid as u32), wl * p.eta, s.left_sum.h));
        tree.nodes
            .push(HistNode::leaf(Some(nid as u32), wr * p.eta, s.right_sum.h));
        let (mut lb, mut rb) = (bounds, bounds);
        let constraint = monotone.get(s.feature).copied().unwrap_or(0);
        if constraint != 0 {
            let mid = (wl + wr) / 2.0;
            if constraint < 0 {
                lb.lower = mid;
                rb.upper = mid;
            } else {
                lb.upper = mid;
                rb.lower = mid;
            }
        }
        let depth = state[nid].depth + 1;
        // XGBoost computes a child's own reduction under its parent's bounds.
        state.push(NodeState {
            entry: NodeEntry {
                stats: s.left_sum,
                root_gain: ev.gain(bounds, s.left_sum),
                bounds: lb,
            },
            depth,
        });
        state.push(NodeState {
            entry: NodeEntry {
                stats: s.right_sum,
                root_gain: ev.gain(bounds, s.right_sum),
                bounds: rb,
            },
            depth,
        });
    }

    /// Splits the rows of every expanded node between its children.
    fn partition(
        &self,
        m: &BinnedMatrix,
        tree: &HistTree,
        expanded: &[Candidate],
        part: &mut Partition,
    ) {
        let mut jobs: Vec<(usize, usize, usize)> = expanded
            .iter()
            .map(|c| {
                let (b, e) = part.ranges[c.nid as usize];
                (b, e, c.nid as usize)
            })
            .collect();
        jobs.sort_unstable();
        let features = m.features();
        let mut slices: Vec<(&mut [u32], usize, usize)> = Vec::with_capacity(jobs.len());
        let mut rest: &mut [u32] = &mut part.rows;
        let mut consumed = 0;
        for &(b, e, nid) in &jobs {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(b - consumed);
            let (mid, tail) = tail.split_at_mut(e - b);
            slices.push((mid, b, nid));
            rest = tail;
            consumed = e;
        }
        let counts: Vec<(usize, usize, usize)> = slices
            .into_par_iter()
            .map(|(rows, b, nid)| {
                let node = &tree.nodes[nid];
                let f = node.feature as usize;
                let missing = features[f].n_bins();
                // The side of every bin, so that a row's side is one table lookup.
                let mut side = [false; 256];
                for (c, s) in side.iter_mut().enumerate() {
                    *s = node.code_goes_left(c as u8, missing);
                }
                let column = m.column(f);
                let nl = stable_partition(rows, &|r: u32| side[column[r as usize] as usize]);
                let len = rows.len();
                (nid, b + nl, b + len)
            })
            .collect();
        for (nid, mid, end) in counts {
            let (b, _) = part.ranges[nid];
            let (l, r) = tree.nodes[nid].children.unwrap_or_default();
            if part.ranges.len() <= r as usize {
                part.ranges.resize(r as usize + 1, (0, 0));
            }
            part.ranges[l as usize] = (b, mid);
            part.ranges[r as usize] = (mid, end);
        }
        let total = tree.nodes.len();
        if part.ranges.len() < total {
            part.ranges.resize(total, (0, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_partition_keeps_order_at_every_size() {
        for n in [0usize, 5, 1000, 3 * PARTITION_CHUNK + 11] {
            let mut rows: Vec<u32> = (0..n as u32).map(|i| i * 3).collect();
            let pred = |r: u32| (r / 3) % 7 < 3;
            let expect: Vec<u32> = rows
                .iter()
                .copied()
                .filter(|&r| pred(r))
                .chain(rows.iter().copied().filter(|&r| !pred(r)))
                .collect();
            let nl = stable_partition(&mut rows, &pred);
            assert_eq!(rows, expect);
            assert_eq!(nl, expect.iter().filter(|&&r| pred(r)).count());
        }
    }
}
