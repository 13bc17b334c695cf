//! QuickScorer (Lucchese et al., SIGIR 2015): bit-vector scoring of tree ensembles whose trees have at most 64
//! leaves, as a measurement engine beside emkern's own batch paths.
//!
//! # Algorithm
//! Every tree's leaves are numbered left to right, and each tree keeps a 64-bit leaf bitvector, all ones at the
//! start of a row. For every internal node the *mask* clears the bits of the leaves of its left subtree. The nodes
//! that test a feature are sorted by threshold; for a row, the scan of a feature's nodes applies (ANDs) the mask of
//! every node at which the row goes right (a "false node") and stops at the first node the row passes, because
//! with thresholds in increasing order the row passes every later node too. Once every feature is scanned, a tree's
//! exit leaf is the lowest set bit of its bitvector: the leftmost leaf no false node removed.
//!
//! # Exactness
//! The scores are those of [`emkern::forest::Forest::predict_margin`], bit for bit:
//! - decisions: `x < t` ([`Compare::Less`]) or `x <= t` ([`Compare::LessEqual`]) with the blob's f32 thresholds,
//!   so a row goes right at `t <= x` (resp. `t < x`), compared in f32 as the core does (±0 compare equal, ±∞ as
//!   any value). The thresholds are sorted by value, so the scan's stopping rule holds for every f32 input;
//! - missing values: a NaN compares false with every threshold, so the scan applies nothing; instead each feature
//!   has the list of nodes a NaN sends right, whose masks a NaN value applies. Per node: mode `Nan` sends NaN to
//!   the default child; LightGBM's `None` reads NaN as 0.0 (the node's decision for 0.0); LightGBM's `Zero` band
//!   (`|x| ≤ 1e-35` is missing) is accepted only where the band's values compare to the default side anyway (as
//!   the core's SIMD plan does), so that the band needs no special case;
//! - sums: each tree's leaves are stored already multiplied by the tree's weight in f32 (the same product the
//!   core computes per prediction), and are added in tree order in f32, from the base margin for a sum, or from
//!   zero then divided by the f32 divisor and added to the base for a mean.
//!
//! Anything else is refused with a [`Refused`] reason: categorical splits, trees with more than 64 leaves, vector
//! leaves, f64 values, linear leaves, other aggregations, and zero bands that would need their own case.
//!
//! # Engines
//! [`QuickScorer::score`] runs rows one at a time (the paper's plain QuickScorer), [`QuickScorer::score_blocked`]
//! runs rows in blocks so that each feature's node list is read once per block (the paper's block-wise variant,
//! with the documents blocked), and [`QuickScorer::score_avx2`] scores 8 rows per AVX2 vector (V-QuickScorer):
//! each node's threshold is compared with the 8 rows' values at once and its mask is applied in the lanes where
//! the row goes right; [`QuickScorer::score_avx512`] does the same with 16 rows per AVX-512 vector, applying the
//! masks with masked AND-NOTs.

use emkern::forest::{Aggregate, Compare, MissingMode};
use emkern_host::export::codegen::CodegenError;
use emkern_host::export::codegen::model::{Child, Model, Test, Tree};

/// Leaves a tree may have: one bit each in a `u64`.
pub const MAX_LEAVES: usize = 64;

/// Rows per block of [`QuickScorer::score_blocked`].
pub const BLOCK_ROWS: usize = 16;

/// Rows per AVX2 vector of [`QuickScorer::score_avx2`].
pub const AVX2_LANES: usize = 8;

/// Rows per AVX-512 vector of [`QuickScorer::score_avx512`].
pub const AVX512_LANES: usize = 16;

/// Why a model has no QuickScorer.
#[derive(Clone, Debug, PartialEq)]
pub enum Refused {
    /// The blob could not be decoded.
    Blob(String),
    /// f64 leaves and sums.
    WideValues,
    /// An aggregation other than a sum or a mean.
    Aggregate,
    /// Tree `tree` has vector leaves.
    VectorLeaves {
        /// Tree index.
        tree: usize,
    },
    /// Tree `tree` has linear leaves.
    LinearLeaves {
        /// Tree index.
        tree: usize,
    },
    /// Tree `tree` has `leaves` leaves, more than [`MAX_LEAVES`].
    TooManyLeaves {
        /// Tree index.
        tree: usize,
        /// Its leaves.
        leaves: usize,
    },
    /// Node `node` of tree `tree` is a categorical split.
    Categorical {
        /// Tree index.
        tree: usize,
        /// Node index in the tree.
        node: usize,
    },
    /// Node `node` of tree `tree` has LightGBM's zero band where the band's values do not all go to the default
    /// side.
    ZeroBand {
        /// Tree index.
        tree: usize,
        /// Node index in the tree.
        node: usize,
    },
    /// A tree is not a tree (a node reached twice or never, a child out of range).
    Malformed(&'static str),
}

impl core::fmt::Display for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refused::Blob(e) => write!(f, "{e}"),
            Refused::WideValues => f.write_str("f64 values"),
            Refused::Aggregate => f.write_str("an aggregation other than a sum or a mean"),
            Refused::VectorLeaves { tree } => write!(f, "tree {tree}: vector leaves"),
            Refused::LinearLeaves { tree } => write!(f, "tree {tree}: linear leaves"),
            Refused::TooManyLeaves { tree, leaves } => {
                write!(f, "tree {tree}: {leaves} leaves (at most {MAX_LEAVES})")
            }
            Refused::Categorical { tree, node } => {
                write!(f, "tree {tree}, node {node}: a categorical split")
            }
            Refused::ZeroBand { tree, node } => write!(
                f,
                "tree {tree}, node {node}: a zero band whose values do not all take the default side"
            ),
            Refused::Malformed(what) => write!(f, "malformed tree: {what}"),
        }
    }
}

impl std::error::Error for Refused {}

/// One node of a feature's list: its threshold, its tree and the bits its mask clears (the leaves of its left
/// subtree). 16 bytes, four to a cache line.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct QsNode {
    threshold: f32,
    tree: u32,
    clear: u64,
}

/// A node a NaN sends right: its tree and the bits its mask clears.
#[derive(Clone, Copy, Debug, PartialEq)]
struct NanNode {
    tree: u32,
    clear: u64,
}

/// A model laid out for QuickScorer (see the module documentation).
#[derive(Clone, Debug)]
pub struct QuickScorer {
    n_features: usize,
    n_outputs: usize,
    less_equal: bool,
    /// Feature `f`'s nodes are `nodes[feature_start[f]..feature_start[f + 1]]`, by increasing threshold.
    feature_start: Vec<usize>,
    nodes: Vec<QsNode>,
    /// Feature `f`'s NaN-right nodes are `nan_nodes[nan_start[f]..nan_start[f + 1]]`.
    nan_start: Vec<usize>,
    nan_nodes: Vec<NanNode>,
    /// Tree `t`'s leaves, left to right and times the tree's weight, are `leaves[leaf_start[t]..]`.
    leaf_start: Vec<usize>,
    leaves: Vec<f32>,
    /// The margin column of each tree.
    tree_output: Vec<usize>,
    base: Vec<f32>,
    /// The divisor of a mean (`None` for a sum).
    divisor: Option<f32>,
}

/// A tree's leaves in left-to-right order and, per internal node, the leaves of its left subtree as a bit mask.
struct Numbered {
    /// Blob leaf index of the leaf at each position.
    order: Vec<usize>,
    /// Per node: bits of its left subtree's leaves.
    left_bits: Vec<u64>,
}

/// Numbers `tree`'s leaves left to right (depth first, left child first).
fn number_leaves(tree: &Tree) -> Result<Numbered, Refused> {
    let mut order = Vec::with_capacity(tree.leaves.len());
    let mut left_bits = vec![0u64; tree.nodes.len()];
    let mut seen = vec![false; tree.nodes.len()];
    if tree.nodes.is_empty() {
        if tree.leaves.len() != 1 {
            return Err(Refused::Malformed(
                "a tree without nodes must have one leaf",
            ));
        }
        return Ok(Numbered {
            order: vec![0],
            left_bits,
        });
    }
    // Returns the positions [first, end) of the subtree's leaves.
    fn walk(
        tree: &Tree,
        child: Child,
        order: &mut Vec<usize>,
        left_bits: &mut [u64],
        seen: &mut [bool],
    ) -> Result<(usize, usize), Refused> {
        match child {
            Child::Leaf(l) => {
                if l >= tree.leaves.len() {
                    return Err(Refused::Malformed("a leaf index out of range"));
                }
                order.push(l);
                Ok((order.len() - 1, order.len()))
            }
            Child::Node(n) => {
                let node = tree
                    .nodes
                    .get(n)
                    .ok_or(Refused::Malformed("a node index out of range"))?;
                if std::mem::replace(&mut seen[n], true) {
                    return Err(Refused::Malformed("a node reached twice"));
                }
                let (first, mid) = walk(tree, node.left, order, left_bits, seen)?;
                if mid > MAX_LEAVES {
                    return Err(Refused::Malformed("too many leaves"));
                }
                left_bits[n] = bits(first, mid);
                let (_, end) = walk(tree, node.right, order, left_bits, seen)?;
                Ok((first, end))
            }
        }
    }
    walk(tree, Child::Node(0), &mut order, &mut left_bits, &mut seen)?;
    if seen.iter().any(|s| !s) || order.len() != tree.leaves.len() {
        return Err(Refused::Malformed(
            "a node or leaf not reached from the root",
        ));
    }
    Ok(Numbered { order, left_bits })
}

/// Bits `first..end` of a u64 (`end ≤ 64`).
fn bits(first: usize, end: usize) -> u64 {
    let upto = |n: usize| if n >= 64 { !0u64 } else { (1u64 << n) - 1 };
    upto(end) & !upto(first)
}

/// The core's decision for a non-missing value: `x < t` or `x <= t`.
fn below(x: f32, t: f32, compare: Compare) -> bool {
    match compare {
        Compare::Less => x < t,
        Compare::LessEqual => x <= t,
    }
}

impl QuickScorer {
    /// Decodes `blob` (validated by the core) and lays it out, or says why QuickScorer cannot score it exactly.
    pub fn from_blob(blob: &[u8]) -> Result<QuickScorer, Refused> {
        let model =
            Model::from_blob(blob).map_err(|e: CodegenError| Refused::Blob(e.to_string()))?;
        QuickScorer::from_model(&model)
    }

    /// Lays out a decoded model, or says why QuickScorer cannot score it exactly.
    pub fn from_model(model: &Model) -> Result<QuickScorer, Refused> {
        if model.wide {
            return Err(Refused::WideValues);
        }
        let divisor = match model.aggregate {
            Aggregate::Sum => None,
            Aggregate::Mean => Some(model.divisor as f32),
            _ => return Err(Refused::Aggregate),
        };
        let nf = model.n_features;
        let mut per_feature: Vec<Vec<QsNode>> = vec![Vec::new(); nf];
        let mut nan_per_feature: Vec<Vec<NanNode>> = vec![Vec::new(); nf];
        let mut leaf_start = Vec::with_capacity(model.trees.len() + 1);
        let mut leaves = Vec::new();
        let mut tree_output = Vec::with_capacity(model.trees.len());
        for (t, tree) in model.trees.iter().enumerate() {
            let output = tree.output.ok_or(Refused::VectorLeaves { tree: t })?;
            if output >= model.n_outputs {
                return Err(Refused::Malformed("a tree's output column out of range"));
            }
            if tree.leaves.len() > MAX_LEAVES {
                return Err(Refused::TooManyLeaves {
                    tree: t,
                    leaves: tree.leaves.len(),
                });
            }
            if tree.leaves.iter().any(|l| l.linear.is_some()) {
                return Err(Refused::LinearLeaves { tree: t });
            }
            if tree.leaves.iter().any(|l| l.values.len() != 1) {
                return Err(Refused::VectorLeaves { tree: t });
            }
            let numbered = number_leaves(tree)?;
            for (n, node) in tree.nodes.iter().enumerate() {
                let Test::Numeric { threshold, missing } = node.test else {
                    return Err(Refused::Categorical { tree: t, node: n });
                };
                let nan_left = match missing {
                    MissingMode::Nan => node.default_left,
                    MissingMode::NanAsZero => below(0.0, threshold, model.compare),
                    MissingMode::ZeroOrNan => {
                        let band = zero_band();
                        if below(-band, threshold, model.compare) != node.default_left
                            || below(band, threshold, model.compare) != node.default_left
                        {
                            return Err(Refused::ZeroBand { tree: t, node: n });
                        }
                        node.default_left
                    }
                };
                if node.feature >= nf {
                    return Err(Refused::Malformed("a feature index out of range"));
                }
                let clear = numbered.left_bits[n];
                per_feature[node.feature].push(QsNode {
                    threshold,
                    tree: t as u32,
                    clear,
                });
                if !nan_left {
                    nan_per_feature[node.feature].push(NanNode {
                        tree: t as u32,
                        clear,
                    });
                }
            }
            leaf_start.push(leaves.len());
            // The same f32 product as the core's `w * v` per prediction.
            leaves.extend(
                numbered
                    .order
                    .iter()
                    .map(|&l| tree.weight * tree.leaves[l].values[0] as f32),
            );
            tree_output.push(output);
        }
        leaf_start.push(leaves.len());
        let mut feature_start = vec![0];
        let mut nodes = Vec::new();
        for mut list in per_feature {
            // Thresholds are never NaN (the core validates them); ties keep tree order.
            list.sort_by(|a, b| a.threshold.total_cmp(&b.threshold));
            // `total_cmp` puts -0 before +0, which compare equal: either order scans the same.
            nodes.extend(list);
            feature_start.push(nodes.len());
        }
        let mut nan_start = vec![0];
        let mut nan_nodes = Vec::new();
        for list in nan_per_feature {
            nan_nodes.extend(list);
            nan_start.push(nan_nodes.len());
        }
        Ok(QuickScorer {
            n_features: nf,
            n_outputs: model.n_outputs,
            less_equal: model.compare == Compare::LessEqual,
            feature_start,
            nodes,
            nan_start,
            nan_nodes,
            leaf_start,
            leaves,
            tree_output,
            base: model.base.iter().map(|&b| b as f32).collect(),
            divisor,
        })
    }

    /// Row length the model reads.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Margin columns per row.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Trees.
    pub fn n_trees(&self) -> usize {
        self.tree_output.len()
    }

    /// Leaves of tree `t` (`t < n_trees`).
    pub fn tree_leaves(&self, t: usize) -> usize {
        self.leaf_start[t + 1] - self.leaf_start[t]
    }

    /// Internal nodes over all trees.
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Applies feature `f`'s masks for value `x` to the bitvectors `bv` (one per tree, `bv.len() == n_trees`).
    #[inline(always)]
    fn apply_feature<const LE: bool>(&self, f: usize, x: f32, bv: &mut [u64]) {
        assert_eq!(bv.len(), self.n_trees());
        if x.is_nan() {
            for n in &self.nan_nodes[self.nan_start[f]..self.nan_start[f + 1]] {
                // SAFETY: `n.tree < n_trees` (built so in `from_model`) and `bv` holds `n_trees` (asserted).
                unsafe { *bv.get_unchecked_mut(n.tree as usize) &= !n.clear };
            }
            return;
        }
        for n in &self.nodes[self.feature_start[f]..self.feature_start[f + 1]] {
            // Right (a false node) at `t <= x` for `x < t`, at `t < x` for `x <= t`.
            let right = if LE {
                n.threshold < x
            } else {
                n.threshold <= x
            };
            if !right {
                break;
            }
            // SAFETY: as above.
            unsafe { *bv.get_unchecked_mut(n.tree as usize) &= !n.clear };
        }
    }

    /// Nodes at which `row` goes right (the masks QuickScorer applies for it), over all trees: the work of one
    /// row, against the `depth` nodes a tree walk visits per tree.
    pub fn false_nodes(&self, row: &[f32]) -> usize {
        let mut count = 0;
        for (f, &x) in row.iter().enumerate().take(self.n_features) {
            count += if x.is_nan() {
                self.nan_start[f + 1] - self.nan_start[f]
            } else {
                self.nodes[self.feature_start[f]..self.feature_start[f + 1]]
                    .iter()
                    .take_while(|n| {
                        if self.less_equal {
                            n.threshold < x
                        } else {
                            n.threshold <= x
                        }
                    })
                    .count()
            };
        }
        count
    }

    /// The margins of a group of `L` rows from their lanes of the trees' bitvectors `bv` (`lanes_bv`: room for
    /// one lane's bitvectors), into `out` (the group's first row first).
    fn finish_group<const L: usize>(&self, bv: &[[u64; L]], lanes_bv: &mut [u64], out: &mut [f32]) {
        for k in 0..L {
            for (d, b) in lanes_bv.iter_mut().zip(bv) {
                *d = b[k];
            }
            self.finish(lanes_bv, &mut out[k * self.n_outputs..]);
        }
    }

    /// Adds the exit leaves of bitvectors `bv` to margins `out` (`n_outputs` values).
    #[inline(always)]
    fn finish(&self, bv: &[u64], out: &mut [f32]) {
        let out = &mut out[..self.n_outputs];
        if self.divisor.is_some() {
            out.fill(0.0);
        } else {
            out.copy_from_slice(&self.base);
        }
        for (t, &b) in bv.iter().enumerate() {
            // A row always keeps its exit leaf's bit, so `b != 0`.
            let leaf = self.leaves[self.leaf_start[t] + b.trailing_zeros() as usize];
            out[self.tree_output[t]] += leaf;
        }
        if let Some(d) = self.divisor {
            for (o, &b) in out.iter_mut().zip(&self.base) {
                *o = *o / d + b;
            }
        }
    }

    /// Checks the shapes of a batch of `n_rows` rows `stride` apart writing `n_outputs` margins each.
    fn check(&self, rows: &[f32], stride: usize, n_rows: usize, out: &[f32]) {
        assert!(stride >= self.n_features, "stride shorter than a row");
        if n_rows > 0 {
            assert!(
                rows.len() >= (n_rows - 1) * stride + self.n_features,
                "rows too short"
            );
        }
        assert!(out.len() >= n_rows * self.n_outputs, "out too short");
    }

    /// Margins of `n_rows` rows stored `stride` values apart, one row at a time (plain QuickScorer), written
    /// row-major into `out` (`n_outputs` each). Panics when the slices are too short.
    pub fn score(&self, rows: &[f32], stride: usize, n_rows: usize, out: &mut [f32]) {
        if self.less_equal {
            self.score_rows::<true>(rows, stride, n_rows, out);
        } else {
            self.score_rows::<false>(rows, stride, n_rows, out);
        }
    }

    fn score_rows<const LE: bool>(
        &self,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
    ) {
        self.check(rows, stride, n_rows, out);
        let mut bv = vec![!0u64; self.n_trees()];
        for r in 0..n_rows {
            let row = &rows[r * stride..r * stride + self.n_features];
            bv.fill(!0);
            for (f, &x) in row.iter().enumerate() {
                self.apply_feature::<LE>(f, x, &mut bv);
            }
            self.finish(&bv, &mut out[r * self.n_outputs..]);
        }
    }

    /// [`QuickScorer::score`] with the rows in blocks of [`BLOCK_ROWS`]: each feature's node list is scanned for
    /// every row of a block in turn, so it is read from memory once per block.
    pub fn score_blocked(&self, rows: &[f32], stride: usize, n_rows: usize, out: &mut [f32]) {
        if self.less_equal {
            self.score_blocks::<true>(rows, stride, n_rows, out);
        } else {
            self.score_blocks::<false>(rows, stride, n_rows, out);
        }
    }

    fn score_blocks<const LE: bool>(
        &self,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
    ) {
        self.check(rows, stride, n_rows, out);
        let nt = self.n_trees();
        let mut bv = vec![!0u64; BLOCK_ROWS * nt];
        let mut r0 = 0;
        while r0 < n_rows {
            let block = (n_rows - r0).min(BLOCK_ROWS);
            bv[..block * nt].fill(!0);
            for f in 0..self.n_features {
                for (j, b) in bv.chunks_exact_mut(nt).take(block).enumerate() {
                    self.apply_feature::<LE>(f, rows[(r0 + j) * stride + f], b);
                }
            }
            for (j, b) in bv.chunks_exact(nt).take(block).enumerate() {
                self.finish(b, &mut out[(r0 + j) * self.n_outputs..]);
            }
            r0 += block;
        }
    }

    /// The rows from `first` on through [`QuickScorer::score`] (the rest of a vector engine's full groups).
    #[cfg(target_arch = "x86_64")]
    fn score_from(
        &self,
        first: usize,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
    ) {
        if first < n_rows {
            self.score(
                &rows[first * stride..],
                stride,
                n_rows - first,
                &mut out[first * self.n_outputs..],
            );
        }
    }

    /// Whether [`QuickScorer::score_avx2`] runs on this CPU.
    pub fn has_avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// [`QuickScorer::score`] with 8 rows per AVX2 vector (V-QuickScorer); the rows past the last full group of
    /// 8 take the scalar path. Returns `false` (and writes nothing) when the CPU has no AVX2.
    pub fn score_avx2(&self, rows: &[f32], stride: usize, n_rows: usize, out: &mut [f32]) -> bool {
        if !QuickScorer::has_avx2() {
            return false;
        }
        self.check(rows, stride, n_rows, out);
        #[cfg(target_arch = "x86_64")]
        {
            let full = n_rows / AVX2_LANES * AVX2_LANES;
            // SAFETY: AVX2 is available (checked above); the shapes were checked by `check`.
            unsafe {
                if self.less_equal {
                    self.avx2_groups::<true>(rows, stride, full, out);
                } else {
                    self.avx2_groups::<false>(rows, stride, full, out);
                }
            }
            self.score_from(full, rows, stride, n_rows, out);
        }
        true
    }

    /// Whether [`QuickScorer::score_avx512`] runs on this CPU.
    pub fn has_avx512() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// [`QuickScorer::score`] with 16 rows per AVX-512 vector: a node's compare gives a lane mask that applies its
    /// mask to the bitvectors of those lanes (masked AND-NOT); the rows past the last full group of 16 take the
    /// scalar path. Returns `false` (and writes nothing) when the CPU has no AVX-512 F.
    pub fn score_avx512(
        &self,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
    ) -> bool {
        if !QuickScorer::has_avx512() {
            return false;
        }
        self.check(rows, stride, n_rows, out);
        #[cfg(target_arch = "x86_64")]
        {
            let full = n_rows / AVX512_LANES * AVX512_LANES;
            // SAFETY: AVX-512 F is available (checked above); the shapes were checked by `check`.
            unsafe {
                if self.less_equal {
                    self.avx512_groups::<true>(rows, stride, full, out);
                } else {
                    self.avx512_groups::<false>(rows, stride, full, out);
                }
            }
            self.score_from(full, rows, stride, n_rows, out);
        }
        true
    }

    /// Groups of 16 rows (`n_rows` a multiple of 16) through AVX-512.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, and the slices hold `n_rows` rows `stride` apart and their margins (checked by
    /// [`QuickScorer::check`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512_groups<const LE: bool>(
        &self,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
    ) {
        use std::arch::x86_64::*;
        const L: usize = AVX512_LANES;
        let nt = self.n_trees();
        let nf = self.n_features;
        let mut bv = vec![[!0u64; L]; nt];
        let mut xs = vec![[0.0f32; L]; nf];
        let mut lanes_bv = vec![0u64; nt];
        for g in (0..n_rows).step_by(L) {
            start_group(rows, stride, g, &mut xs, &mut bv);
            for (f, x) in xs.iter().enumerate() {
                // SAFETY: `x` holds 16 f32 (an unaligned load); AVX-512 F is enabled on this function.
                let xv = unsafe { _mm512_loadu_ps(x.as_ptr()) };
                for n in &self.nodes[self.feature_start[f]..self.feature_start[f + 1]] {
                    let tv = _mm512_set1_ps(n.threshold);
                    // Ordered compares: false in NaN lanes.
                    let right = if LE {
                        _mm512_cmp_ps_mask::<_CMP_LT_OQ>(tv, xv)
                    } else {
                        _mm512_cmp_ps_mask::<_CMP_LE_OQ>(tv, xv)
                    };
                    if right == 0 {
                        break;
                    }
                    // SAFETY: `n.tree < nt` (built so), and AVX-512 F is enabled on this function.
                    unsafe { clear_lanes16(&mut bv[n.tree as usize], right, n.clear) };
                }
                let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(xv, xv);
                if nan != 0 {
                    for n in &self.nan_nodes[self.nan_start[f]..self.nan_start[f + 1]] {
                        // SAFETY: as above.
                        unsafe { clear_lanes16(&mut bv[n.tree as usize], nan, n.clear) };
                    }
                }
            }
            self.finish_group(&bv, &mut lanes_bv, &mut out[g * self.n_outputs..]);
        }
    }

    /// Groups of 8 rows (`n_rows` a multiple of 8) through AVX2.
    ///
    /// # Safety
    /// The CPU has AVX2, and the slices hold `n_rows` rows `stride` apart and their margins (checked by
    /// [`QuickScorer::check`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn avx2_groups<const LE: bool>(
        &self,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
    ) {
        use std::arch::x86_64::*;
        const L: usize = AVX2_LANES;
        let nt = self.n_trees();
        let nf = self.n_features;
        // Bitvectors per tree, lanes 0-3 then 4-7.
        let mut bv = vec![[!0u64; L]; nt];
        // The group's values feature-major: xs[f] holds the 8 rows' value of feature f.
        let mut xs = vec![[0.0f32; L]; nf];
        let mut lanes_bv = vec![0u64; nt];
        for g in (0..n_rows).step_by(L) {
            start_group(rows, stride, g, &mut xs, &mut bv);
            for (f, x) in xs.iter().enumerate() {
                // SAFETY: `x` holds 8 f32 (an unaligned load); AVX2 is enabled on this function.
                let xv = unsafe { _mm256_loadu_ps(x.as_ptr()) };
                let nodes = &self.nodes[self.feature_start[f]..self.feature_start[f + 1]];
                for n in nodes {
                    let tv = _mm256_set1_ps(n.threshold);
                    // Ordered compares: false in NaN lanes.
                    let right = if LE {
                        _mm256_cmp_ps::<_CMP_LT_OQ>(tv, xv)
                    } else {
                        _mm256_cmp_ps::<_CMP_LE_OQ>(tv, xv)
                    };
                    if _mm256_movemask_ps(right) == 0 {
                        break;
                    }
                    let right = _mm256_castps_si256(right);
                    // SAFETY: `n.tree < nt` (built so), and AVX2 is enabled on this function.
                    unsafe { clear_lanes(&mut bv[n.tree as usize], right, n.clear) };
                }
                let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(xv, xv);
                if _mm256_movemask_ps(nan) != 0 {
                    let nan = _mm256_castps_si256(nan);
                    for n in &self.nan_nodes[self.nan_start[f]..self.nan_start[f + 1]] {
                        // SAFETY: as above.
                        unsafe { clear_lanes(&mut bv[n.tree as usize], nan, n.clear) };
                    }
                }
            }
            self.finish_group(&bv, &mut lanes_bv, &mut out[g * self.n_outputs..]);
        }
    }
}

/// Starts a group of `L` rows from row `g`: their values feature-major into `xs` (`xs[f][k]`: row `g + k`'s
/// feature `f`), every tree's bitvectors `bv` all ones.
fn start_group<const L: usize>(
    rows: &[f32],
    stride: usize,
    g: usize,
    xs: &mut [[f32; L]],
    bv: &mut [[u64; L]],
) {
    for (f, x) in xs.iter_mut().enumerate() {
        for (k, v) in x.iter_mut().enumerate() {
            *v = rows[(g + k) * stride + f];
        }
    }
    for b in bv.iter_mut() {
        *b = [!0u64; L];
    }
}

/// Clears the bits `clear` of the 16 bitvectors `bv` in the lanes set in `lanes`.
///
/// # Safety
/// The CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn clear_lanes16(bv: &mut [u64; AVX512_LANES], lanes: u16, clear: u64) {
    use std::arch::x86_64::*;
    let c = _mm512_set1_epi64(clear as i64);
    let p = bv.as_mut_ptr() as *mut __m512i;
    // SAFETY: `bv` holds 16 u64, two unaligned 512-bit halves.
    unsafe {
        let a = _mm512_loadu_si512(p);
        let b = _mm512_loadu_si512(p.add(1));
        _mm512_storeu_si512(p, _mm512_mask_andnot_epi64(a, lanes as u8, c, a));
        _mm512_storeu_si512(
            p.add(1),
            _mm512_mask_andnot_epi64(b, (lanes >> 8) as u8, c, b),
        );
    }
}

/// Clears the bits `clear` of the 8 bitvectors `bv` in the lanes where `lanes` (8 × 32-bit masks) is set.
///
/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn clear_lanes(bv: &mut [u64; AVX2_LANES], lanes: std::arch::x86_64::__m256i, clear: u64) {
    use std::arch::x86_64::*;
    let c = _mm256_set1_epi64x(clear as i64);
    let lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(lanes));
    let hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(lanes));
    let p = bv.as_mut_ptr() as *mut __m256i;
    // SAFETY: `bv` holds 8 u64, two unaligned 256-bit halves.
    unsafe {
        let a = _mm256_loadu_si256(p);
        let b = _mm256_loadu_si256(p.add(1));
        _mm256_storeu_si256(p, _mm256_andnot_si256(_mm256_and_si256(lo, c), a));
        _mm256_storeu_si256(p.add(1), _mm256_andnot_si256(_mm256_and_si256(hi, c), b));
    }
}

/// LightGBM's zero band: `|x| ≤` this is missing in mode `Zero`.
fn zero_band() -> f32 {
    emkern::forest::format::ZERO_THRESHOLD
}
