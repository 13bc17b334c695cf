//! Prediction: tree traversal, accumulation of the leaves, and the output transforms.
//!
//! The hot path reads the validated blob without bounds checks (each read's justification is the validation in
//! `view.rs`, named at every `unsafe` block). Traversal is monomorphized over the node record's index widths and
//! over the value type (f32 or f64), chosen once per call. The weighted median (AdaBoost.R2) takes its own,
//! non-generic path (`median.rs`), kept small and out of the sums' loops.

use super::error::ShapeError;
use super::format::{self, Aggregate, Compare, Transform, flags};
use super::view::Forest;

/// Calls `$self.$method::<FB, CB, V>(args)` with the node-field widths and value type of the model.
macro_rules! monomorphize {
    ($self:ident, $method:ident, $args:tt) => {
        match ($self.feature_bytes, $self.child_bytes) {
            (1, 1) => monomorphize!(@wide $self, $method, 1, 1, $args),
            (1, 2) => monomorphize!(@wide $self, $method, 1, 2, $args),
            (1, _) => monomorphize!(@wide $self, $method, 1, 4, $args),
            (2, 1) => monomorphize!(@wide $self, $method, 2, 1, $args),
            (2, 2) => monomorphize!(@wide $self, $method, 2, 2, $args),
            (2, _) => monomorphize!(@wide $self, $method, 2, 4, $args),
            (_, 1) => monomorphize!(@wide $self, $method, 4, 1, $args),
            (_, 2) => monomorphize!(@wide $self, $method, 4, 2, $args),
            _ => monomorphize!(@wide $self, $method, 4, 4, $args),
        }
    };
    (@wide $self:ident, $method:ident, $fb:literal, $cb:literal, ($($arg:expr),*)) => {
        if $self.wide {
            $self.$method::<$fb, $cb, f64>($($arg),*)
        } else {
            $self.$method::<$fb, $cb, f32>($($arg),*)
        }
    };
}

/// Margin columns accumulated per pass over the trees ([`format::OUTPUT_CHUNK`]).
const CHUNK: usize = format::OUTPUT_CHUNK;

/// Node flags that leave the common path (numeric split, NaN is missing).
const SPECIAL: u8 = flags::CATEGORICAL | (flags::MISSING_MASK << flags::MISSING_SHIFT);

/// Trees walked together, interleaved: four on out-of-order cores, where the walks' dependent loads overlap; one
/// on 32-bit Arm (Cortex-M cores execute in order, so interleaving only adds instructions).
#[cfg(not(target_arch = "arm"))]
const LANES: usize = 4; // `leaf_indices` writes out one step per lane
#[cfg(target_arch = "arm")]
const LANES: usize = 1;

/// One tree's record, decoded.
#[derive(Clone, Copy)]
pub(super) struct TreeRef {
    pub(super) node_start: usize,
    pub(super) nodes: usize,
    pub(super) leaf_start: usize,
    output: u32,
    pub(super) weight: f32,
}

impl TreeRef {
    const EMPTY: TreeRef = TreeRef {
        node_start: 0,
        nodes: 0,
        leaf_start: 0,
        output: 0,
        weight: 0.0,
    };
}

/// The value type leaves, margins and sums are stored and accumulated in.
pub(super) trait Value:
    Copy
    + core::ops::Add<Output = Self>
    + core::ops::Sub<Output = Self>
    + core::ops::Mul<Output = Self>
    + core::ops::Neg<Output = Self>
    + PartialOrd
{
    const BYTES: usize;
    const ZERO: Self;
    const ONE: Self;
    /// Reads a little-endian value at `off`.
    ///
    /// # Safety
    /// `off + BYTES <= bytes.len()`.
    unsafe fn read(bytes: &[u8], off: usize) -> Self;
    fn from_f32(v: f32) -> Self;
    fn from_f64(v: f64) -> Self;
    fn to_f32(self) -> f32;
    fn exp(self) -> Self;
    fn div(self, d: Self) -> Self;
}

impl Value for f32 {
    const BYTES: usize = 4;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    unsafe fn read(bytes: &[u8], off: usize) -> Self {
        // SAFETY: the caller guarantees 4 readable bytes at `off`; `read_unaligned` needs no alignment.
        f32::from_bits(u32::from_le_bytes(unsafe {
            bytes.as_ptr().add(off).cast::<[u8; 4]>().read_unaligned()
        }))
    }
    fn from_f32(v: f32) -> Self {
        v
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn exp(self) -> Self {
        libm::expf(self)
    }
    fn div(self, d: Self) -> Self {
        self / d
    }
}

impl Value for f64 {
    const BYTES: usize = 8;
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    unsafe fn read(bytes: &[u8], off: usize) -> Self {
        // SAFETY: the caller guarantees 8 readable bytes at `off`; `read_unaligned` needs no alignment.
        f64::from_bits(u64::from_le_bytes(unsafe {
            bytes.as_ptr().add(off).cast::<[u8; 8]>().read_unaligned()
        }))
    }
    fn from_f32(v: f32) -> Self {
        v as f64
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn exp(self) -> Self {
        libm::exp(self)
    }
    fn div(self, d: Self) -> Self {
        self / d
    }
}

/// Reads a little-endian `u32` without bounds checks.
///
/// # Safety
/// `off + 4 <= bytes.len()`.
#[inline(always)]
pub(super) unsafe fn read_u32(bytes: &[u8], off: usize) -> u32 {
    // SAFETY: the caller guarantees 4 readable bytes at `off`; `read_unaligned` needs no alignment.
    u32::from_le_bytes(unsafe { bytes.as_ptr().add(off).cast::<[u8; 4]>().read_unaligned() })
}

/// Reads an index of `W` bytes (1, 2 or 4) without bounds checks.
///
/// # Safety
/// `off + W <= bytes.len()`.
#[inline(always)]
pub(super) unsafe fn read_index<const W: usize>(bytes: &[u8], off: usize) -> usize {
    match W {
        // SAFETY: the caller guarantees W = 1 readable byte at `off`.
        1 => unsafe { *bytes.get_unchecked(off) as usize },
        // SAFETY: the caller guarantees W = 2 readable bytes at `off`; `read_unaligned` needs no alignment.
        2 => unsafe {
            u16::from_le_bytes(bytes.as_ptr().add(off).cast::<[u8; 2]>().read_unaligned()) as usize
        },
        // SAFETY: the caller guarantees W = 4 readable bytes at `off`.
        _ => unsafe { read_u32(bytes, off) as usize },
    }
}

impl Forest<'_> {
    /// Writes the raw margins of one row (`n_outputs` values) into `out[..n_outputs]`.
    ///
    /// `row` must hold at least [`Forest::n_features`] values; NaN marks a missing value. Extra values and
    /// extra room in `out` are ignored.
    pub fn predict_margin(&self, row: &[f32], out: &mut [f32]) -> Result<(), ShapeError> {
        self.check(row.len(), out.len(), self.n_outputs)?;
        self.dispatch(row, out, false);
        Ok(())
    }

    /// Writes the prediction of one row ([`Forest::output_len`] values): the margins through the model's
    /// [`Transform`] (probabilities for classifiers, the class index for `ArgMax`, …).
    pub fn predict(&self, row: &[f32], out: &mut [f32]) -> Result<(), ShapeError> {
        self.check(row.len(), out.len(), self.output_len())?;
        self.dispatch(row, out, true);
        Ok(())
    }

    /// Predicts `n_rows` rows stored row-major with `stride` values between row starts, writing
    /// `n_rows × output_len` values (or `n_rows × n_outputs` margins with `margin`) row-major into `out`.
    pub fn predict_batch(
        &self,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        out: &mut [f32],
        margin: bool,
    ) -> Result<(), ShapeError> {
        if n_rows == 0 {
            return Ok(());
        }
        let width = if margin {
            self.n_outputs
        } else {
            self.output_len()
        };
        self.check_batch(rows.len(), stride, n_rows, out.len(), width)?;
        let mut outs = out.chunks_exact_mut(width.max(1)).take(n_rows);
        let mut r = 0;
        // Groups of LANES rows walk each tree together (their walks interleave); models with more margin columns
        // than one pass holds, and weighted medians, take the single-row path.
        if LANES > 1 && self.n_outputs <= CHUNK && self.aggregate != Aggregate::WeightedMedian {
            while r + LANES <= n_rows {
                let group_rows: [&[f32]; LANES] =
                    core::array::from_fn(|k| rows.get((r + k) * stride..).unwrap_or_default());
                let mut group_outs: [&mut [f32]; LANES] =
                    core::array::from_fn(|_| outs.next().unwrap_or_default());
                monomorphize!(self, run_rows, (&group_rows, &mut group_outs, !margin));
                r += LANES;
            }
        }
        for (k, o) in outs.enumerate() {
            let row = rows.get((r + k) * stride..).unwrap_or_default();
            self.dispatch(row, o, !margin);
        }
        Ok(())
    }

    /// The shape checks of a batch of `n_rows ≥ 1` rows writing `width` values each.
    pub(super) fn check_batch(
        &self,
        rows: usize,
        stride: usize,
        n_rows: usize,
        out: usize,
        width: usize,
    ) -> Result<(), ShapeError> {
        if n_rows > 1 && stride < self.n_features {
            return Err(ShapeError::BadStride {
                needed: self.n_features,
                got: stride,
            });
        }
        let needed_in = n_rows
            .saturating_sub(1)
            .saturating_mul(stride)
            .saturating_add(self.n_features);
        if rows < needed_in {
            return Err(ShapeError::RowTooShort {
                needed: needed_in,
                got: rows,
            });
        }
        let needed_out = n_rows.saturating_mul(width);
        if out < needed_out {
            return Err(ShapeError::OutputTooShort {
                needed: needed_out,
                got: out,
            });
        }
        Ok(())
    }

    pub(super) fn check(&self, row: usize, out: usize, needed: usize) -> Result<(), ShapeError> {
        if row < self.n_features {
            return Err(ShapeError::RowTooShort {
                needed: self.n_features,
                got: row,
            });
        }
        if out < needed {
            return Err(ShapeError::OutputTooShort { needed, got: out });
        }
        Ok(())
    }

    /// Picks the monomorphized kernel for this model's widths and value type. The caller checked
    /// `row.len() >= n_features` and that `out` is long enough.
    fn dispatch(&self, row: &[f32], out: &mut [f32], transform: bool) {
        #[cfg(feature = "weighted-median")]
        if self.aggregate == Aggregate::WeightedMedian {
            return self.run_median(row, out, transform);
        }
        monomorphize!(self, run, (row, out, transform))
    }

    /// One row through one instantiation. Never inlined: inlined into `dispatch`, the instantiations' margin
    /// accumulators each took their own stack slots (1.8 KiB of frame on Cortex-M4); apart, a prediction's
    /// stack is one instantiation's.
    #[inline(never)]
    fn run<const FB: usize, const CB: usize, V: Value>(
        &self,
        row: &[f32],
        out: &mut [f32],
        transform: bool,
    ) {
        let n = self.n_outputs;
        let mut acc = [V::ZERO; CHUNK];
        let mut start = 0;
        // ArgMax over more columns than one pass holds writes one value: the running maximum of the f32 margins
        // (as every transform past one pass works on f32 margins) is kept across the passes; the first index
        // among equals wins and NaN never does, as in `apply_transform`.
        let argmax = transform && self.transform == Transform::ArgMax;
        let mut best: Option<(usize, f32)> = None;
        while start < n {
            let len = (n - start).min(CHUNK);
            self.accumulate::<FB, CB, V>(row, start, &mut acc[..len]);
            if transform && n <= CHUNK {
                // All margins are in `acc`: transform in the model's precision.
                apply_transform(self.transform, &mut acc[..len], out);
                return;
            }
            if argmax {
                for (k, a) in acc[..len].iter().enumerate() {
                    let a = a.to_f32();
                    match best {
                        Some((_, b)) if a > b => best = Some((start + k, a)),
                        None => best = Some((start + k, a)),
                        _ => {}
                    }
                }
            } else {
                for (o, a) in out.iter_mut().skip(start).zip(&acc[..len]) {
                    *o = a.to_f32();
                }
            }
            start += len;
        }
        if argmax {
            if let (Some(o), Some((k, _))) = (out.first_mut(), best) {
                *o = k as f32;
            }
            return;
        }
        if transform {
            // More columns than one pass holds: transform the f32 margins in place.
            if let Some(margins) = out.get_mut(..n) {
                transform_in_place_f32(self.transform, margins);
            }
        }
    }

    /// Predicts LANES rows together (`n_outputs <= CHUNK`): each tree is walked for all rows at once, interleaved.
    /// Every row holds at least `n_features` values and every output slice is long enough (checked by the caller).
    fn run_rows<const FB: usize, const CB: usize, V: Value>(
        &self,
        rows: &[&[f32]; LANES],
        outs: &mut [&mut [f32]; LANES],
        transform: bool,
    ) {
        let n = self.n_outputs.min(CHUNK);
        let mut acc = [[V::ZERO; CHUNK]; LANES];
        for a in acc.iter_mut() {
            self.start_sums(0, &mut a[..n]);
        }
        for t in 0..self.n_trees {
            let tr = self.tree_ref(t);
            let mut node = [0usize; LANES];
            let mut leaf = [tr.leaf_start; LANES];
            let mut active = [tr.nodes > 0; LANES];
            while active.iter().any(|&a| a) {
                for k in 0..LANES {
                    self.step::<FB, CB>(rows[k], &tr, &mut node[k], &mut leaf[k], &mut active[k]);
                }
            }
            for k in 0..LANES {
                self.add_leaf(rows[k], &tr, leaf[k], 0, &mut acc[k][..n]);
            }
        }
        for (a, out) in acc.iter_mut().zip(outs.iter_mut()) {
            let a = &mut a[..n];
            self.finish_sums(0, a);
            if transform {
                apply_transform(self.transform, a, out);
            } else {
                for (o, v) in out.iter_mut().zip(a.iter()) {
                    *o = v.to_f32();
                }
            }
        }
    }

    /// Margins of columns `first .. first + acc.len()`: base margin, then every tree that adds to them.
    fn accumulate<const FB: usize, const CB: usize, V: Value>(
        &self,
        row: &[f32],
        first: usize,
        acc: &mut [V],
    ) {
        self.start_sums(first, acc);
        // Trees are walked LANES at a time, interleaved, so that the dependent loads of one walk overlap with the
        // others' (a single walk is bound by load latency).
        let mut t = 0;
        while t < self.n_trees {
            let group = (self.n_trees - t).min(LANES);
            let mut trees = [TreeRef::EMPTY; LANES];
            for (k, tr) in trees.iter_mut().enumerate().take(group) {
                *tr = self.tree_ref(t + k);
            }
            let leaves = self.leaf_indices::<FB, CB>(row, &trees, group);
            for (tr, &leaf) in trees.iter().zip(&leaves).take(group) {
                self.add_leaf(row, tr, leaf, first, acc);
            }
            t += group;
        }
        self.finish_sums(first, acc);
    }

    /// The base margin of column `k` (`k < n_outputs`).
    #[inline(always)]
    pub(super) fn base<V: Value>(&self, k: usize) -> V {
        // SAFETY: callers pass k < n_outputs, and the base margins section holds n_outputs values.
        unsafe { V::read(self.bytes, self.base_off + k * V::BYTES) }
    }

    /// Starts the sums of columns `first .. first + acc.len()`: sums start from the base margin and add trees in
    /// order (XGBoost's order, so f32 sums match it bit for bit); means start from zero and add the base after
    /// dividing ([`Forest::finish_sums`]).
    #[inline(always)]
    pub(super) fn start_sums<V: Value>(&self, first: usize, acc: &mut [V]) {
        let mean = self.aggregate == Aggregate::Mean;
        for (k, a) in acc.iter_mut().enumerate() {
            *a = if mean { V::ZERO } else { self.base(first + k) };
        }
    }

    /// Finishes sums started by [`Forest::start_sums`]: a mean divides and adds the base margin.
    #[inline(always)]
    pub(super) fn finish_sums<V: Value>(&self, first: usize, acc: &mut [V]) {
        if self.aggregate == Aggregate::Mean {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = (*a).div(V::from_f64(self.divisor)) + self.base(first + k);
            }
        }
    }

    /// Tree `t`'s record. `t < n_trees`.
    #[inline(always)]
    pub(super) fn tree_ref(&self, t: usize) -> TreeRef {
        let b = self.bytes;
        let rec = self.trees_off + t * format::TREE_RECORD;
        // SAFETY: `validate_trees` checked that all `n_trees` records lie inside the blob, and t < n_trees.
        let (node_start, leaf_start, output, weight) = unsafe {
            (
                read_u32(b, rec) as usize,
                read_u32(b, rec + 4) as usize,
                read_u32(b, rec + 8),
                read_u32(b, rec + 12),
            )
        };
        let node_end = if t + 1 < self.n_trees {
            // SAFETY: record t + 1 exists (t + 1 < n_trees), validated as above.
            unsafe { read_u32(b, rec + format::TREE_RECORD) as usize }
        } else {
            self.n_nodes
        };
        TreeRef {
            node_start,
            nodes: node_end - node_start,
            leaf_start,
            output,
            weight: f32::from_bits(weight),
        }
    }

    /// Adds tree `tr`'s leaf `leaf` (global index) to the columns of `acc` (columns `first..`) it feeds.
    #[inline(always)]
    fn add_leaf<V: Value>(
        &self,
        row: &[f32],
        tr: &TreeRef,
        leaf: usize,
        first: usize,
        acc: &mut [V],
    ) {
        let b = self.bytes;
        let w = V::from_f32(tr.weight);
        let leaf_off = self.leaves_off + leaf * self.leaf_width * V::BYTES;
        if tr.output == format::ALL_OUTPUTS {
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `leaf` is a validated leaf index (< n_leaves) and `first + k < n_outputs = leaf_width`, so
                // the value lies inside the leaf section.
                let v = unsafe { V::read(b, leaf_off + (first + k) * V::BYTES) };
                *a = *a + w * v;
            }
        } else if let Some(a) = (tr.output as usize)
            .checked_sub(first)
            .and_then(|k| acc.get_mut(k))
        {
            let v = if self.linear {
                self.linear_leaf(row, leaf, leaf_off)
            } else {
                // SAFETY: scalar leaves (leaf_width = 1) at a validated leaf index.
                unsafe { V::read(b, leaf_off) }
            };
            *a = *a + w * v;
        }
    }

    /// The output of scalar leaf `leaf` in a model with linear leaves: its linear model, or its stored value when
    /// it has none or when one of the model's features is NaN.
    fn linear_leaf<V: Value>(&self, row: &[f32], leaf: usize, leaf_off: usize) -> V {
        let b = self.bytes;
        // SAFETY: `leaf < n_leaves` and the leaf-model section holds n_leaves u32 offsets (validated layout).
        let entry = unsafe { read_u32(b, self.leaf_models_off + 4 * leaf) };
        // SAFETY: a validated leaf index with leaf_width = 1.
        let constant_leaf = unsafe { V::read(b, leaf_off) };
        if entry == format::NO_LINEAR {
            return constant_leaf;
        }
        let at = self.linear_off + entry as usize;
        // SAFETY: `validate_linear` proved the entry's head and all its terms lie inside the linear table.
        let (n_terms, mut sum) =
            unsafe { (read_u32(b, at) as usize, <f64 as Value>::read(b, at + 8)) };
        for k in 0..n_terms {
            let term = at + format::LINEAR_HEAD + k * format::LINEAR_TERM;
            // SAFETY: term k < n_terms lies inside the validated entry; its feature index is < n_features ≤
            // row.len().
            let (x, coeff) = unsafe {
                let feature = read_u32(b, term) as usize;
                (
                    *row.get_unchecked(feature),
                    <f64 as Value>::read(b, term + 8),
                )
            };
            if x.is_nan() {
                return constant_leaf;
            }
            sum += x as f64 * coeff;
        }
        V::from_f64(sum)
    }

    /// Walks `group` (≤ LANES) trees from their roots to a leaf each, in lockstep, and returns the leaves' global
    /// indices.
    #[inline(always)]
    fn leaf_indices<const FB: usize, const CB: usize>(
        &self,
        row: &[f32],
        trees: &[TreeRef; LANES],
        group: usize,
    ) -> [usize; LANES] {
        let mut node = [0usize; LANES];
        let mut leaf = [0usize; LANES];
        // A lane is active while its walk is at a node; a tree without nodes is a single leaf.
        let mut active = [false; LANES];
        for k in 0..group {
            active[k] = trees[k].nodes > 0;
            leaf[k] = trees[k].leaf_start;
        }
        while active.iter().any(|&a| a) {
            // Written out per lane so that the compiler keeps each walk's state in registers.
            let ([t0, ..], [n0, ..], [l0, ..], [a0, ..]) =
                (trees, &mut node, &mut leaf, &mut active);
            self.step::<FB, CB>(row, t0, n0, l0, a0);
            #[cfg(not(target_arch = "arm"))]
            {
                let ([_, t1, t2, t3], [_, n1, n2, n3], [_, l1, l2, l3], [_, a1, a2, a3]) =
                    (trees, &mut node, &mut leaf, &mut active);
                self.step::<FB, CB>(row, t1, n1, l1, a1);
                self.step::<FB, CB>(row, t2, n2, l2, a2);
                self.step::<FB, CB>(row, t3, n3, l3, a3);
            }
        }
        leaf
    }

    /// One step of one walk: from node `*node` of `tr` to its child; at a leaf, records it and deactivates.
    #[inline(always)]
    fn step<const FB: usize, const CB: usize>(
        &self,
        row: &[f32],
        tr: &TreeRef,
        node: &mut usize,
        leaf: &mut usize,
        active: &mut bool,
    ) {
        if !*active {
            return;
        }
        let b = self.bytes;
        let size = format::node_size(FB, CB);
        let off = self.nodes_off + (tr.node_start + *node) * size;
        // SAFETY: *node is a node of this tree (its root, or a node child, which validation proved is < tr.nodes),
        // so the whole record lies inside the node section.
        let (threshold, feature, fl) = unsafe {
            (
                read_u32(b, off),
                read_index::<FB>(b, off + 4),
                *b.get_unchecked(off + 4 + FB),
            )
        };
        // SAFETY: validation proved feature < n_features, and callers checked row.len() >= n_features.
        let x = unsafe { *row.get_unchecked(feature) };
        let go_left = self.go_left(x, threshold, fl);
        // Branch-free selection: the direction is data-dependent and unpredictable, so it becomes an
        // address offset (0 for left, 1 for right) instead of a jump; only the predictable "reached a
        // leaf" test branches.
        let side = (!go_left) as usize;
        // SAFETY: both child fields lie inside the record (see above); side ∈ {0, 1}.
        let child = unsafe { read_index::<CB>(b, off + 5 + FB + side * CB) };
        let leaf_bit = flags::LEFT_LEAF << side;
        if fl & leaf_bit != 0 {
            *leaf = tr.leaf_start + child;
            *active = false;
        } else {
            // Validation proved node children are numbered after their parent: each walk ends within `tr.nodes`
            // steps.
            *node = child;
        }
    }

    /// A node's decision for value `x`: its threshold field and flags as stored.
    #[inline(always)]
    pub(super) fn go_left(&self, x: f32, threshold: u32, fl: u8) -> bool {
        if fl & SPECIAL == 0 {
            // The common node: numeric, NaN is missing. `x < t` is false for NaN.
            let t = f32::from_bits(threshold);
            let below = match self.compare {
                Compare::Less => x < t,
                Compare::LessEqual => x <= t,
            };
            below | (x.is_nan() & (fl & flags::DEFAULT_LEFT != 0))
        } else if fl & flags::CATEGORICAL == 0 {
            self.numeric_left(x, f32::from_bits(threshold), fl)
        } else {
            self.categorical_left(x, threshold as usize, fl)
        }
    }

    /// The numeric decision, evaluated without branches: a missing value (per the node's missing mode) takes
    /// the default direction, anything else compares with the threshold.
    #[inline(always)]
    fn numeric_left(&self, x: f32, t: f32, fl: u8) -> bool {
        let mode = (fl >> flags::MISSING_SHIFT) & flags::MISSING_MASK;
        let default_left = fl & flags::DEFAULT_LEFT != 0;
        let nan = x.is_nan();
        // Mode 1 (LightGBM `None`) reads NaN as 0.0; the other modes treat NaN as missing.
        let nan_as_zero = mode == 1;
        let v = if nan & nan_as_zero { 0.0 } else { x };
        let missing = (nan & !nan_as_zero) | ((mode == 2) & (v.abs() <= format::ZERO_THRESHOLD));
        let below = match self.compare {
            Compare::Less => v < t,
            Compare::LessEqual => v <= t,
        };
        (missing & default_left) | (!missing & below)
    }

    #[inline(always)]
    fn categorical_left(&self, x: f32, words_off: usize, fl: u8) -> bool {
        if x.is_nan() {
            return fl & flags::DEFAULT_LEFT != 0;
        }
        let in_set_left = fl & flags::IN_SET_LEFT != 0;
        let truncated = x as i64; // toward zero, saturating
        let valid = if fl & flags::TRUNCATE_FIRST != 0 {
            truncated >= 0
        } else {
            x >= 0.0
        };
        if !valid || x >= format::MAX_CATEGORY {
            return !in_set_left;
        }
        let c = truncated as usize;
        let b = self.bytes;
        let table = self.cats_off + words_off * 4;
        // SAFETY: validation proved the set (its length word and `n_words` words) lies inside the table.
        let n_words = unsafe { read_u32(b, table) as usize };
        let word = c / 32;
        let in_set = word < n_words && {
            // SAFETY: word < n_words, inside the validated set.
            let w = unsafe { read_u32(b, table + 4 + word * 4) };
            (w >> (c % 32)) & 1 != 0
        };
        in_set == in_set_left
    }
}

/// Applies `t` to margins held in the model's precision and writes the predictions.
pub(super) fn apply_transform<V: Value>(t: Transform, m: &mut [V], out: &mut [f32]) {
    match t {
        Transform::Identity => {}
        Transform::Sigmoid => {
            for v in m.iter_mut() {
                *v = V::ONE.div(V::ONE + (-*v).exp());
            }
        }
        Transform::Softmax => {
            if let Some(&first) = m.first() {
                let max = m
                    .iter()
                    .copied()
                    .fold(first, |a, v| if v > a { v } else { a });
                let mut sum = V::ZERO;
                for v in m.iter_mut() {
                    *v = (*v - max).exp();
                    sum = sum + *v;
                }
                for v in m.iter_mut() {
                    *v = (*v).div(sum);
                }
            }
        }
        Transform::ArgMax => {
            let mut best = 0usize;
            for (k, v) in m.iter().enumerate() {
                if m.get(best).is_some_and(|b| *v > *b) {
                    best = k;
                }
            }
            if let Some(o) = out.first_mut() {
                *o = best as f32;
            }
            return;
        }
        Transform::Exp => {
            for v in m.iter_mut() {
                *v = (*v).exp();
            }
        }
        Transform::HingeStep => {
            for v in m.iter_mut() {
                *v = if *v > V::ZERO { V::ONE } else { V::ZERO };
            }
        }
        Transform::SortAscending => {
            // Sorted after rounding to f32: rounding is monotone, so this is the rounding of the sorted values
            // (and one f32 sort serves both value types).
            let len = m.len();
            for (o, v) in out.iter_mut().zip(m.iter()) {
                *o = v.to_f32();
            }
            if let Some(o) = out.get_mut(..len) {
                sort_ascending(o);
            }
            return;
        }
    }
    for (o, v) in out.iter_mut().zip(m.iter()) {
        *o = v.to_f32();
    }
}

/// [`apply_transform`] on f32 margins already in `out` (models with more than [`CHUNK`] columns; `ArgMax` never
/// comes here: `run` keeps its running maximum across the passes).
fn transform_in_place_f32(t: Transform, out: &mut [f32]) {
    match t {
        Transform::Softmax => {
            let max = out
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, |a, v| if v > a { v } else { a });
            let mut sum = 0.0f32;
            for v in out.iter_mut() {
                *v = libm::expf(*v - max);
                sum += *v;
            }
            for v in out.iter_mut() {
                *v /= sum;
            }
        }
        Transform::SortAscending => sort_ascending(out),
        _ => {
            let mut tmp = [0.0f32; 1];
            for v in out.iter_mut() {
                tmp[0] = *v;
                apply_transform(t, &mut tmp, core::slice::from_mut(v));
            }
        }
    }
}

/// Sorts `m` ascending in place by insertion, comparing with `>` as XGBoost 3.4's quantile `PredTransform` does,
/// so the result is XGBoost's bit for bit, NaN included (a NaN compares false: it never moves and no value moves
/// past it). Quadratic, for the few outputs of a quantile model; one small out-of-line copy.
#[inline(never)]
fn sort_ascending(m: &mut [f32]) {
    for i in 1..m.len() {
        let mut j = i;
        // 0 < j <= i < m.len(): both indices are in bounds.
        while j > 0 && m[j - 1] > m[j] {
            m.swap(j - 1, j);
            j -= 1;
        }
    }
}
