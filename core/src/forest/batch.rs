//! Batch prediction on the SIMD lockstep walker of `emkern-simd` ([`emkern_simd::forest`]): the model is re-laid
//! once into a caller-provided buffer of `u32` words (a [`Plan`]: complete trees in heap order, structure of
//! arrays), and [`Forest::predict_batch_simd`] then walks 8 (AVX2) or 16 (AVX-512) rows per vector through it;
//! [`Forest::predict_simd_row`] walks one row through 8 (AVX2) or 16 (AVX-512) trees per vector of the same plan
//! (of complete trees: a plan with a sparse tree, below, predicts single rows on the scalar path).
//!
//! The plan lives in a buffer the caller provides ([`Forest::simd_plan_len`] words), like every other scratch of
//! this crate: it never allocates. A host allocates it once per model; a firmware that never calls these
//! functions links none of this code.
//!
//! # What is planned
//! Models whose predictions the walker reproduces bit for bit: f32 values, one margin column, a sum or a mean of
//! the trees, constant leaves, numeric splits, and trees of depth ≤ [`MAX_SPARSE_DEPTH`]: complete trees up to
//! [`MAX_DEPTH`] levels, sparse trees (children by index: two gathers per step and no register table) beyond, as
//! deep leaf-wise LightGBM trees need. Missing values follow each
//! node's mode exactly: NaN takes the default direction (mode `Nan`); LightGBM's `None` reads NaN as 0.0, which
//! is the default direction `0.0 < t` (or `0.0 ≤ t`) of the same node; LightGBM's `Zero` is planned where every
//! `|x| ≤ 1e-35` compares to the node's default side anyway, and refused otherwise. Everything else ([`PlanUnsupported`] says what) takes the scalar batch path
//! ([`Forest::predict_batch`]); [`Forest::predict_batch_simd`] falls back to it by itself.
//!
//! # Exactness
//! Each tree's leaf is stored multiplied by the tree's weight (the scalar path's `weight · leaf`, the same f32
//! product), the row sums start from the base margin (or zero for a mean) and add the trees in order, then a mean
//! divides and adds the base, and the transform runs on the f32 margin: the same operations in the same order as
//! [`Forest::predict`], so the results are identical bit for bit.

use emkern_simd::Simd;
use emkern_simd::forest::{
    Compare as PlanCompare, MAX_DEPTH, MAX_SPARSE_DEPTH, MAX_SPARSE_FEATURES, Plan, PlanBuilder,
    PlanError,
};

use super::error::ShapeError;
use super::format::{self, Aggregate, Compare, flags, get_u32};
use super::predict::apply_transform;
use super::view::{Forest, get_index};

/// Why a model has no SIMD plan (its batches take [`Forest::predict_batch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PlanUnsupported {
    /// Leaves and margins are f64.
    WideValues,
    /// Leaves carry linear models.
    LinearLeaves,
    /// The trees combine by a weighted median.
    WeightedMedian,
    /// The model has more than one margin column.
    Outputs(usize),
    /// A split tests a category set.
    Categorical {
        /// Tree index.
        tree: usize,
        /// Tree-local node index.
        node: usize,
    },
    /// A LightGBM `Zero` missing-mode split where some value of the zero band (`|x| ≤ 1e-35`, which takes the
    /// default direction) would compare to the other side: the walker has no zero band.
    ZeroMissing {
        /// Tree index.
        tree: usize,
        /// Tree-local node index.
        node: usize,
    },
    /// A tree is deeper than [`MAX_SPARSE_DEPTH`] levels of splits.
    TooDeep {
        /// Tree index.
        tree: usize,
        /// Its depth.
        depth: u32,
    },
    /// The plan's size overflows.
    TooLarge,
    /// The builder refused the plan (e.g. the buffer is shorter than [`Forest::simd_plan_len`]).
    Plan(PlanError),
}

impl core::fmt::Display for PlanUnsupported {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PlanUnsupported::WideValues => f.write_str("f64 values"),
            PlanUnsupported::LinearLeaves => f.write_str("linear leaves"),
            PlanUnsupported::WeightedMedian => f.write_str("a weighted median"),
            PlanUnsupported::Outputs(n) => write!(f, "{n} margin columns"),
            PlanUnsupported::Categorical { tree, node } => {
                write!(f, "tree {tree}, node {node}: a categorical split")
            }
            PlanUnsupported::ZeroMissing { tree, node } => {
                write!(
                    f,
                    "tree {tree}, node {node}: a zero-as-missing split whose zero band does not compare to its default side"
                )
            }
            PlanUnsupported::TooDeep { tree, depth } => {
                write!(f, "tree {tree} has depth {depth}, above {MAX_SPARSE_DEPTH}")
            }
            PlanUnsupported::TooLarge => f.write_str("the plan's size overflows"),
            PlanUnsupported::Plan(e) => write!(f, "{e}"),
        }
    }
}

/// Which engine a [`Forest::predict_batch_simd`] call ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BatchPath {
    /// The lockstep walker at this level.
    Walker(emkern_simd::Level),
    /// The scalar batch path ([`Forest::predict_batch`]): no plan, or a plan of another model.
    Scalar,
}

/// One node of the model, decoded for planning.
struct PlanNode {
    feature: usize,
    threshold: f32,
    default_left: bool,
    /// Children: (tree-local index, is a leaf).
    children: [(usize, bool); 2],
}

impl Forest<'_> {
    /// The model-level checks: the kinds of model the walker reproduces.
    fn plan_scope(&self) -> Result<(), PlanUnsupported> {
        if self.wide {
            return Err(PlanUnsupported::WideValues);
        }
        if self.linear {
            return Err(PlanUnsupported::LinearLeaves);
        }
        if self.aggregate == Aggregate::WeightedMedian {
            return Err(PlanUnsupported::WeightedMedian);
        }
        if self.n_outputs != 1 {
            return Err(PlanUnsupported::Outputs(self.n_outputs));
        }
        Ok(())
    }

    /// Node `i` of the tree whose nodes start at `node_start`, decoded; its missing mode translated to a default
    /// direction for NaN (see the module documentation).
    fn plan_node(
        &self,
        tree: usize,
        node_start: usize,
        i: usize,
    ) -> Result<PlanNode, PlanUnsupported> {
        let b = self.bytes;
        let off = self.nodes_off + (node_start + i) * self.node_size;
        let fb = self.feature_bytes;
        let cb = self.child_bytes;
        // Validated layout: every read succeeds; `TooLarge` stands for the impossible failure.
        let read = || -> Option<(u32, usize, u8, usize, usize)> {
            Some((
                get_u32(b, off)?,
                get_index(b, off + 4, fb)?,
                *b.get(off + 4 + fb)?,
                get_index(b, off + 5 + fb, cb)?,
                get_index(b, off + 5 + fb + cb, cb)?,
            ))
        };
        let (bits, feature, fl, left, right) = read().ok_or(PlanUnsupported::TooLarge)?;
        if fl & flags::CATEGORICAL != 0 {
            return Err(PlanUnsupported::Categorical { tree, node: i });
        }
        let t = f32::from_bits(bits);
        let below = |x: f32| match self.compare {
            Compare::Less => x < t,
            Compare::LessEqual => x <= t,
        };
        let dl = fl & flags::DEFAULT_LEFT != 0;
        let default_left = match (fl >> flags::MISSING_SHIFT) & flags::MISSING_MASK {
            // NaN is read as 0.0 and compared: its side is 0.0's.
            1 => below(0.0),
            // NaN and |x| ≤ 1e-35 take the default side: the same as mode 0 when every x in the band compares
            // to that side anyway (the band is an interval, so its ends decide).
            2 => {
                let z = format::ZERO_THRESHOLD;
                let all = below(-z) && below(z);
                let none = !below(-z) && !below(z);
                if !((all && dl) || (none && !dl)) {
                    return Err(PlanUnsupported::ZeroMissing { tree, node: i });
                }
                dl
            }
            _ => dl,
        };
        Ok(PlanNode {
            feature,
            threshold: t,
            default_left,
            children: [
                (left, fl & flags::LEFT_LEAF != 0),
                (right, fl & flags::RIGHT_LEAF != 0),
            ],
        })
    }

    /// Depth (levels of splits) of a tree, from its breadth-first numbering (as validation computes it).
    fn plan_depth(
        &self,
        tree: usize,
        node_start: usize,
        nodes: usize,
    ) -> Result<u32, PlanUnsupported> {
        let mut next_node = 1usize;
        let mut level_end = 0usize;
        let mut depth = 0u32;
        for i in 0..nodes {
            if i == level_end {
                depth += 1;
                level_end = next_node;
            }
            let n = self.plan_node(tree, node_start, i)?;
            next_node += n.children.iter().filter(|c| !c.1).count();
        }
        Ok(depth)
    }

    /// How tree `t` is planned: complete up to [`MAX_DEPTH`] levels, sparse up to [`MAX_SPARSE_DEPTH`] (with
    /// its entries); its depth and words.
    fn plan_shape(&self, t: usize) -> Result<(u32, Option<usize>, usize), PlanUnsupported> {
        let tr = self.tree_ref(t);
        let depth = self.plan_depth(t, tr.node_start, tr.nodes)?;
        if let Some(words) = PlanBuilder::tree_words(depth) {
            return Ok((depth, None, words));
        }
        if depth > MAX_SPARSE_DEPTH {
            return Err(PlanUnsupported::TooDeep { tree: t, depth });
        }
        if self.n_features > MAX_SPARSE_FEATURES {
            return Err(PlanUnsupported::Plan(PlanError::FeatureOutOfRange {
                tree: t,
            }));
        }
        // A binary tree of `nodes` splits has `nodes + 1` leaves.
        let entries = tr.nodes.checked_mul(2).and_then(|n| n.checked_add(1));
        let words = entries
            .and_then(PlanBuilder::sparse_tree_words)
            .ok_or(PlanUnsupported::TooLarge)?;
        Ok((depth, entries, words))
    }

    /// Words of the buffer [`Forest::simd_plan`] needs, or why the model has no plan. Walks every node once.
    pub fn simd_plan_len(&self) -> Result<usize, PlanUnsupported> {
        self.plan_scope()?;
        let mut total = PlanBuilder::table_words(self.n_trees).ok_or(PlanUnsupported::TooLarge)?;
        for t in 0..self.n_trees {
            let (_, _, words) = self.plan_shape(t)?;
            total = total.checked_add(words).ok_or(PlanUnsupported::TooLarge)?;
        }
        Ok(total)
    }

    /// Builds the model's plan for [`Forest::predict_batch_simd`] into `words` (at least
    /// [`Forest::simd_plan_len`] words), or says why the model has none.
    pub fn simd_plan<'w>(&self, words: &'w mut [u32]) -> Result<Plan<'w>, PlanUnsupported> {
        // Every refusal of the model first (the same as `simd_plan_len`'s, whatever the buffer), then its size.
        let needed = self.simd_plan_len()?;
        if words.len() < needed {
            return Err(PlanUnsupported::Plan(PlanError::BufferTooShort {
                needed,
                got: words.len(),
            }));
        }
        let compare = match self.compare {
            Compare::Less => PlanCompare::Less,
            Compare::LessEqual => PlanCompare::LessEqual,
        };
        let mut b = PlanBuilder::new(words, self.n_trees, self.n_features, compare, self.tag())
            .map_err(PlanUnsupported::Plan)?;
        for t in 0..self.n_trees {
            let tr = self.tree_ref(t);
            let (depth, sparse, _) = self.plan_shape(t)?;
            let leaf_value = |leaf: usize| -> Result<f32, PlanUnsupported> {
                let off = self.leaves_off + (tr.leaf_start + leaf) * self.leaf_width * 4;
                let v = get_u32(self.bytes, off).ok_or(PlanUnsupported::TooLarge)?;
                // The scalar path adds `weight · leaf` (an f32 product): store that product.
                Ok(tr.weight * f32::from_bits(v))
            };
            if let Some(entries) = sparse {
                b.begin_sparse_tree(entries, depth)
                    .map_err(PlanUnsupported::Plan)?;
                self.plan_sparse(&mut b, t, tr.node_start, depth, &leaf_value)?;
                continue;
            }
            b.begin_tree(depth).map_err(PlanUnsupported::Plan)?;
            if tr.nodes == 0 {
                b.leaf(0, 0, leaf_value(0)?)
                    .map_err(PlanUnsupported::Plan)?;
                continue;
            }
            // Depth-first from the root with an explicit stack of (node, level, position): at most one pending
            // right child per level, plus the node being expanded.
            let mut stack = [(0usize, 0u32, 0usize); MAX_DEPTH as usize + 2];
            let mut top = 1usize;
            while top > 0 {
                top -= 1;
                let (i, level, pos) = stack[top];
                let n = self.plan_node(t, tr.node_start, i)?;
                b.split(level, pos, n.feature, n.threshold, n.default_left)
                    .map_err(PlanUnsupported::Plan)?;
                // Right first, so that the left child is expanded next.
                for side in [1usize, 0] {
                    let (child, is_leaf) = n.children[side];
                    let cpos = 2 * pos + side;
                    if is_leaf {
                        b.leaf(level + 1, cpos, leaf_value(child)?)
                            .map_err(PlanUnsupported::Plan)?;
                    } else {
                        let slot = stack
                            .get_mut(top)
                            .ok_or(PlanUnsupported::TooDeep { tree: t, depth })?;
                        *slot = (child, level + 1, cpos);
                        top += 1;
                    }
                }
            }
        }
        b.finish().map_err(PlanUnsupported::Plan)
    }

    /// Writes the splits and leaves of tree `t` (nodes from `node_start`, `depth` levels, at least one split)
    /// into the sparse tree just begun: depth first from the root (entry 0), each split's children given the
    /// next two free entries.
    fn plan_sparse(
        &self,
        b: &mut PlanBuilder<'_>,
        t: usize,
        node_start: usize,
        depth: u32,
        leaf_value: &dyn Fn(usize) -> Result<f32, PlanUnsupported>,
    ) -> Result<(), PlanUnsupported> {
        // (node, entry): at most one pending right child per level, plus the node being expanded.
        let mut stack = [(0usize, 0usize); MAX_SPARSE_DEPTH as usize + 2];
        let mut top = 1usize;
        let mut free = 1usize;
        while top > 0 {
            top -= 1;
            let (i, entry) = stack[top];
            let n = self.plan_node(t, node_start, i)?;
            b.sparse_split(entry, n.feature, n.threshold, n.default_left, free)
                .map_err(PlanUnsupported::Plan)?;
            let first = free;
            free += 2;
            // Right first, so that the left child is expanded next.
            for side in [1usize, 0] {
                let (child, is_leaf) = n.children[side];
                if is_leaf {
                    b.sparse_leaf(first + side, leaf_value(child)?)
                        .map_err(PlanUnsupported::Plan)?;
                } else {
                    let slot = stack
                        .get_mut(top)
                        .ok_or(PlanUnsupported::TooDeep { tree: t, depth })?;
                    *slot = (child, first + side);
                    top += 1;
                }
            }
        }
        Ok(())
    }

    /// The blob's checksum, which tags its plans.
    fn tag(&self) -> u32 {
        get_u32(self.bytes, 12).unwrap_or(0)
    }

    /// [`Forest::predict_batch`] on the lockstep walker at `simd`'s level when `plan` is this model's
    /// ([`Forest::simd_plan`]); otherwise (no plan, or a plan of another model) on the scalar batch path.
    /// Returns which one ran. Same arguments, same checks, same results bit for bit.
    // `predict_batch`'s arguments plus the level and the plan, in the same order.
    #[allow(clippy::too_many_arguments)]
    pub fn predict_batch_simd(
        &self,
        simd: Simd,
        plan: Option<&Plan<'_>>,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
        margin: bool,
    ) -> Result<BatchPath, ShapeError> {
        let ours = plan.filter(|p| self.owns_plan(p));
        let Some(plan) = ours else {
            self.predict_batch(rows, stride, n_rows, out, margin)?;
            return Ok(BatchPath::Scalar);
        };
        // The same shape checks (and errors) as the scalar path; one margin column, so one value per row.
        if n_rows == 0 {
            return Ok(BatchPath::Walker(simd.level()));
        }
        self.check_batch(rows.len(), stride, n_rows, out.len(), 1)?;
        let sums = out.get_mut(..n_rows).unwrap_or_default();
        let mut start = [0.0f32];
        self.start_sums::<f32>(0, &mut start);
        sums.fill(start[0]);
        if simd.forest_sums(plan, rows, stride, n_rows, sums).is_err() {
            // Unreachable after `check_batch` (the plan reads this model's features); the scalar path reports
            // the same shapes.
            self.predict_batch(rows, stride, n_rows, out, margin)?;
            return Ok(BatchPath::Scalar);
        }
        for s in sums.iter_mut() {
            let mut m = [*s];
            self.finish_sums::<f32>(0, &mut m);
            if margin {
                *s = m[0];
            } else {
                apply_transform(self.transform, &mut m, core::slice::from_mut(s));
            }
        }
        Ok(BatchPath::Walker(simd.level()))
    }

    /// [`Forest::predict`] (or with `margin` [`Forest::predict_margin`]) of one row on the single-row walker at
    /// `simd`'s level ([`Simd::forest_row`]: several trees per vector, each lane at its own tree's node) when
    /// `plan` is this model's ([`Forest::simd_plan`]); otherwise (no plan, or a plan of another model) on the
    /// scalar path. Returns which one ran. Same arguments, same checks, same results bit for bit.
    pub fn predict_simd_row(
        &self,
        simd: Simd,
        plan: Option<&Plan<'_>>,
        row: &[f32],
        out: &mut [f32],
        margin: bool,
    ) -> Result<BatchPath, ShapeError> {
        // A plan with a sparse tree walks one row on the portable twin at every level: the scalar path is as
        // fast and is the reference.
        let Some(plan) = plan.filter(|p| self.owns_plan(p) && !p.has_sparse()) else {
            if margin {
                self.predict_margin(row, out)?;
            } else {
                self.predict(row, out)?;
            }
            return Ok(BatchPath::Scalar);
        };
        // One margin column: one value, margin or not (`ArgMax` of one column writes one index too).
        self.check(row.len(), out.len(), 1)?;
        let mut start = [0.0f32];
        self.start_sums::<f32>(0, &mut start);
        let mut sum = start[0];
        if simd.forest_row(plan, row, &mut sum).is_err() {
            // Unreachable after `check` (the plan reads this model's features); the scalar path answers.
            if margin {
                self.predict_margin(row, out)?;
            } else {
                self.predict(row, out)?;
            }
            return Ok(BatchPath::Scalar);
        }
        let mut m = [sum];
        self.finish_sums::<f32>(0, &mut m);
        let o = out.get_mut(..1).unwrap_or_default();
        if margin {
            o.copy_from_slice(&m);
        } else {
            apply_transform(self.transform, &mut m, o);
        }
        Ok(BatchPath::Walker(simd.level()))
    }

    /// Whether `plan` was built from this model (its tag, trees and features) and the model is in the walker's
    /// scope.
    fn owns_plan(&self, p: &Plan<'_>) -> bool {
        p.tag() == self.tag()
            && p.n_trees() == self.n_trees
            && p.n_features() == self.n_features
            && self.plan_scope().is_ok()
    }
}
