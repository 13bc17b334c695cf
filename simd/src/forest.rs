//! Batch prediction of tree ensembles: a lockstep walker in which the rows of one SIMD vector (4 with NEON and
//! Helium, 8 with AVX2, 16 with AVX-512, one at a time on the scalar level) walk each tree together, one level per
//! step.
//!
//! # The plan: complete trees, structure of arrays
//! The walker reads a [`Plan`]: a model re-laid for gathers, built once per model into a caller-provided
//! `&mut [u32]` (this crate never allocates) by a [`PlanBuilder`]. Each tree of depth `D` (levels of splits) is
//! stored as a *complete* binary tree in heap order: the node at level `k`, position `p` (`0 ≤ p < 2ᵏ`) is entry
//! `2ᵏ − 1 + p`, and its children are positions `2p` (left) and `2p + 1` (right) of level `k + 1`. Then no child
//! index is stored or gathered: one step is `i ← 2i + 1 + right`, and after exactly `D` steps `i − (2ᴰ − 1)` is the
//! leaf slot. A tree that is not complete is padded: a leaf above level `D` is copied into every leaf slot below
//! it, and the padding nodes under it (feature 0, threshold 0) send rows either way to the same value. A tree of
//! depth `D` takes `3·2ᴰ − 2` words ([`PlanBuilder::tree_words`]), as three arrays:
//!
//! ```text
//! features    2ᴰ − 1 words: feature | default_left << 31
//! thresholds  2ᴰ − 1 f32 bits
//! leaves      2ᴰ f32 values (already multiplied by the tree's weight)
//! ```
//!
//! so that the nodes of one level are contiguous in each array: a level of at most 16 nodes (AVX2, NEON) or 64
//! nodes (AVX-512), the top five or seven levels, is loaded into registers once per tree and looked up with a
//! permute (`vpermd`, `vpermt2d`, NEON's `tbl`) instead of two gathers; only deeper levels gather their nodes
//! (NEON, which has no gather, with one load per lane). Before the trees, a table
//! of two words per tree (the word offset of its data and its depth). Depths are limited to [`MAX_DEPTH`] so that
//! the padding stays bounded (`3·2¹²` words = 48 KiB for the deepest tree).
//!
//! # Sparse trees: deeper than a complete tree can hold
//! A tree deeper than [`MAX_DEPTH`] (leaf-wise LightGBM grows them: 63 leaves at depths up to 21 in one measured
//! model) is stored *sparse*: its `E = 2·splits + 1` entries (splits and leaves; the root is entry 0) in three
//! arrays of `E` words, with each split's two children next to each other, so that one gathered word holds the
//! node and where its children are:
//!
//! ```text
//! words       E words: feature (bits 0–15) | first child c (bits 16–30) | default_left << 31
//! thresholds  E f32 bits
//! leaves      E f32 values (a leaf's value; 0 at a split)
//! ```
//!
//! A step is `j ← c + right` from entry `j` (the root is `j = 0`). A leaf is an absorbing entry: feature 0,
//! threshold NaN and NaN going right (so every row goes right), first child `j − 1`: a row that has reached it
//! stays there. So a tree of depth `D` is exactly `D` steps for every row, as a complete tree is, and `leaves[j]`
//! is then its leaf. A step gathers the word and the threshold (two gathers, no permute table) and the row
//! value; a sparse tree takes `3·E` words. Limits: depth ≤ [`MAX_SPARSE_DEPTH`], `E ≤` [`MAX_SPARSE_ENTRIES`],
//! and a plan with a sparse tree reads at most [`MAX_SPARSE_FEATURES`] features. The batch walker takes sparse
//! trees at every level but Helium (whose walker is one `asm!` block over complete trees: a plan with a sparse
//! tree takes the scalar twin there), and the single-row walker ([`Simd::forest_row`]) walks a plan with a
//! sparse tree on its scalar twin at every level.
//!
//! # Decisions
//! A row goes left at a node when `x < t` ([`Compare::Less`]) or `x ≤ t` ([`Compare::LessEqual`]), or when `x` is
//! NaN and the node's default direction is left; a NaN goes right otherwise. The threshold is the stored f32.
//! Other missing-value conventions are translated by the builder's caller into this one where they agree (see
//! `emkern`'s forest plan), or not planned.
//!
//! # Sums
//! [`Simd::forest_sums`] adds, for every row, the leaf of tree 0, then tree 1, … to the row's entry of `sums`, one
//! f32 addition per tree in tree order, on every level. The caller starts the sums (a base margin, or zero), so
//! the result is bit for bit what a scalar walk that adds `base + leaf₀ + leaf₁ + …` in that order gives.
//!
//! # Single rows
//! [`Simd::forest_row`] walks one row through the same plan with the lanes on *trees* (4 per vector with NEON, 8
//! with AVX2, 16 with AVX-512): each lane gathers its own tree's node and the row's value at that node's feature,
//! a block of trees as deep as its deepest one (shallower lanes stop at their leaf), and the leaves are added to
//! the sum one by one in tree order, so it is bit for bit [`Simd::forest_sums`] for that row. The skeleton is
//! [`arch::generic::forest_row`](crate::arch); its scalar twin is
//! [`portable::forest_row`](crate::portable::forest_row).
//!
//! # Levels
//! The walk is written once ([`arch::generic`](crate::arch)-style, over a crate-private vector trait) and
//! instantiated for AVX2 (8 rows per vector), AVX-512 (16 rows per vector) and NEON (4 rows per vector), several
//! vectors in flight, so that the gathers (or NEON's per-lane loads) of several vectors overlap. Helium (4 rows per
//! vector) walks the same plan in one `asm!` block per vector with `vldrw` gathers (the `arch::arm::forest`
//! module; its compares are on integer keys because MVE flushes subnormals). The portable twin in
//! [`portable::forest`](crate::portable::forest) is the reference and the path of the scalar level.
//!
//! [`Simd::forest_sums`]: crate::Simd::forest_sums
//! [`Simd::forest_row`]: crate::Simd::forest_row

/// Deepest complete tree a [`Plan`] holds (levels of splits); deeper trees are sparse ([`MAX_SPARSE_DEPTH`]).
pub const MAX_DEPTH: u32 = 12;

/// Deepest sparse tree a [`Plan`] holds (levels of splits: every row takes this many steps through the tree).
pub const MAX_SPARSE_DEPTH: u32 = 64;

/// Most entries (splits and leaves) of a sparse tree: its first-child fields are 15 bits.
pub const MAX_SPARSE_ENTRIES: usize = 1 << 15;

/// Most features a plan with a sparse tree reads: a sparse node's feature field is 16 bits.
pub const MAX_SPARSE_FEATURES: usize = 1 << 16;

/// Bit of a tree-table depth word marking a sparse tree (its entries in bits 8–23, its depth in bits 0–7).
const SPARSE: u32 = 1 << 31;

/// Feature bits of a sparse node's word.
pub(crate) const SPARSE_FEATURE_MASK: u32 = 0xffff;

/// Shift of the first-child field of a sparse node's word.
pub(crate) const SPARSE_CHILD_SHIFT: u32 = 16;

/// First-child bits of a sparse node's word, after the shift.
pub(crate) const SPARSE_CHILD_MASK: u32 = 0x7fff;

/// The threshold of a sparse leaf (NaN: no row is below it, and NaN rows go right).
const SPARSE_LEAF_THRESHOLD: u32 = 0x7fc0_0000;

/// Bit of a node's feature word holding its default direction (set: a NaN goes left).
pub(crate) const DEFAULT_LEFT: u32 = 1 << 31;

/// How a row value is compared with a node's threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Compare {
    /// Go left when `x < t`.
    Less,
    /// Go left when `x ≤ t`.
    LessEqual,
}

/// Why a [`PlanBuilder`] call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PlanError {
    /// The buffer is shorter than the plan.
    BufferTooShort {
        /// Words needed so far.
        needed: usize,
        /// Words given.
        got: usize,
    },
    /// A complete tree is deeper than [`MAX_DEPTH`], or a sparse tree's depth is 0 or above
    /// [`MAX_SPARSE_DEPTH`].
    TooDeep {
        /// Tree index.
        tree: usize,
        /// Its depth.
        depth: u32,
    },
    /// A split reads a feature at or above the plan's feature count (or above `2³¹ − 1`), or a tree with splits
    /// was begun in a plan of zero features.
    FeatureOutOfRange {
        /// Tree index.
        tree: usize,
    },
    /// A split or leaf lies outside its tree (level at or past the depth, position at or past `2^level`), or
    /// was written before any tree was begun.
    BadPosition {
        /// Tree index.
        tree: usize,
    },
    /// More trees were begun than the plan was created for, or [`PlanBuilder::finish`] was called before all of
    /// them were.
    TreeCount {
        /// Trees the plan was created for.
        expected: usize,
        /// Trees begun.
        got: usize,
    },
    /// The plan's size overflows `usize`.
    TooLarge,
}

impl core::fmt::Display for PlanError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            PlanError::BufferTooShort { needed, got } => {
                write!(f, "plan buffer has {got} words, {needed} needed")
            }
            PlanError::TooDeep { tree, depth } => {
                write!(
                    f,
                    "tree {tree} has depth {depth}, outside the plan's limits"
                )
            }
            PlanError::FeatureOutOfRange { tree } => {
                write!(f, "tree {tree}: a split's feature is out of range")
            }
            PlanError::BadPosition { tree } => {
                write!(f, "tree {tree}: a node or leaf lies outside the tree")
            }
            PlanError::TreeCount { expected, got } => {
                write!(f, "plan for {expected} trees, {got} begun")
            }
            PlanError::TooLarge => f.write_str("plan size overflows"),
        }
    }
}

/// A buffer passed to [`Simd::forest_sums`](crate::Simd::forest_sums) (or a row to
/// [`Simd::forest_row`](crate::Simd::forest_row), [`RowsError::RowsTooShort`]) has the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RowsError {
    /// A row's stride is below the plan's feature count (with more than one row).
    BadStride {
        /// Features the plan reads.
        needed: usize,
        /// Stride given.
        got: usize,
    },
    /// `rows` is shorter than `(n_rows − 1)·stride + n_features` (for a single row: than `n_features`).
    RowsTooShort {
        /// Values needed.
        needed: usize,
        /// Values given.
        got: usize,
    },
    /// `sums` is shorter than `n_rows`.
    SumsTooShort {
        /// Values needed.
        needed: usize,
        /// Values given.
        got: usize,
    },
}

/// A model laid out for the lockstep walker (see the [module documentation](self)). Built by [`PlanBuilder`];
/// borrows its buffer.
///
/// Invariants (established by the builder, relied on by the walkers): the first `2·n_trees` words are the tree
/// table; tree `t`'s entry `(offset, depth)` is either a complete tree, with `depth ≤ MAX_DEPTH` and
/// `offset + tree_words(depth) ≤ words.len()`, every node's feature (without the default-left bit) below
/// `n_features`; or a sparse tree (the depth word's top bit set, `E` entries, `3 ≤ E ≤ MAX_SPARSE_ENTRIES`), with
/// `offset + 3·E ≤ words.len()`, every entry's feature field below `n_features` and its first-child field at most
/// `E − 2` (so that `c + right` is an entry). `n_features ≥ 1` when any tree has a split.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    words: &'a [u32],
    n_trees: usize,
    n_features: usize,
    compare: Compare,
    tag: u32,
    sparse: usize,
}

/// A tree of a [`Plan`], as the walkers read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TreeShape {
    /// A complete tree: its data at word `off`, `depth` levels of splits.
    Complete {
        /// Word offset of its features.
        off: usize,
        /// Levels of splits.
        depth: u32,
    },
    /// A sparse tree: its `entries` words, thresholds and leaves at word `off`.
    Sparse {
        /// Word offset of its node words.
        off: usize,
        /// Entries (splits and leaves).
        entries: usize,
        /// Levels of splits (steps per row).
        depth: u32,
    },
}

impl<'a> Plan<'a> {
    /// Trees in the plan.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// Values each row must hold.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The comparison of every split.
    pub fn compare(&self) -> Compare {
        self.compare
    }

    /// The caller's tag given to [`PlanBuilder::new`] (e.g. a checksum of the model, to recognize its plan).
    pub fn tag(&self) -> u32 {
        self.tag
    }

    /// Whether a tree of the plan is sparse (deeper than [`MAX_DEPTH`]): then [`Simd::forest_row`] and the
    /// Helium batch walker take the scalar twin.
    ///
    /// [`Simd::forest_row`]: crate::Simd::forest_row
    pub fn has_sparse(&self) -> bool {
        self.sparse > 0
    }

    /// Sparse trees in the plan (the others are complete).
    pub fn sparse_trees(&self) -> usize {
        self.sparse
    }

    /// Tree `t`'s data offset and depth (`t < n_trees`) for the walkers of complete trees only: a sparse tree
    /// reads as depth 0 (its first word as the leaf; in bounds, and never used: those walkers are not given
    /// plans with sparse trees).
    #[inline(always)]
    pub(crate) fn tree(&self, t: usize) -> (usize, u32) {
        match self.shape(t) {
            TreeShape::Complete { off, depth } => (off, depth),
            TreeShape::Sparse { off, .. } => (off, 0),
        }
    }

    /// Tree `t`'s shape and place (`t < n_trees`).
    #[inline(always)]
    pub(crate) fn shape(&self, t: usize) -> TreeShape {
        let w = self.words;
        // The table holds 2·n_trees words (invariant); `get` keeps this safe for any `t`.
        let off = w.get(2 * t).copied().unwrap_or(0) as usize;
        let d = w.get(2 * t + 1).copied().unwrap_or(0);
        if d & SPARSE != 0 {
            TreeShape::Sparse {
                off,
                entries: ((d >> 8) & 0xffff) as usize,
                depth: d & 0xff,
            }
        } else {
            TreeShape::Complete { off, depth: d }
        }
    }

    /// The plan's words.
    #[inline(always)]
    pub(crate) fn words(&self) -> &'a [u32] {
        self.words
    }
}

/// Writes a [`Plan`] into a caller-provided buffer, one tree after another.
///
/// ```
/// use emkern_simd::forest::{Compare, PlanBuilder};
/// use emkern_simd::Simd;
/// // One tree: x[1] < 0.5 (NaN left) → -1, else 2.
/// let mut words = [0u32; 16];
/// let mut b = PlanBuilder::new(&mut words, 1, 2, Compare::Less, 0).unwrap();
/// b.begin_tree(1).unwrap();
/// b.split(0, 0, 1, 0.5, true).unwrap();
/// b.leaf(1, 0, -1.0).unwrap();
/// b.leaf(1, 1, 2.0).unwrap();
/// let plan = b.finish().unwrap();
/// let rows = [0.0, 0.25, 0.0, 0.75, 0.0, f32::NAN];
/// let mut sums = [0.5f32; 3];
/// for simd in Simd::available() {
///     let mut s = sums;
///     simd.forest_sums(&plan, &rows, 2, 3, &mut s).unwrap();
///     assert_eq!(s, [-0.5, 2.5, -0.5]);
/// }
/// ```
#[derive(Debug)]
pub struct PlanBuilder<'a> {
    words: &'a mut [u32],
    n_trees: usize,
    n_features: usize,
    compare: Compare,
    tag: u32,
    /// Trees begun.
    begun: usize,
    /// Next free word.
    cursor: usize,
    /// The current tree's data offset and depth, when it is complete.
    current: Option<(usize, u32)>,
    /// The current tree's data offset and entries, when it is sparse.
    sparse_current: Option<(usize, usize)>,
    /// Sparse trees begun.
    sparse: usize,
}

impl<'a> PlanBuilder<'a> {
    /// Words one tree of `depth` levels of splits takes, `3·2^depth − 2`; `None` above [`MAX_DEPTH`].
    pub const fn tree_words(depth: u32) -> Option<usize> {
        if depth > MAX_DEPTH {
            None
        } else {
            Some(3 * (1usize << depth) - 2)
        }
    }

    /// Words of the tree table for `n_trees` trees (`None` on overflow).
    pub const fn table_words(n_trees: usize) -> Option<usize> {
        n_trees.checked_mul(2)
    }

    /// Starts a plan of `n_trees` trees over rows of `n_features` values, comparing with `compare`; `tag` is
    /// kept for the caller ([`Plan::tag`]). Needs room for the tree table.
    pub fn new(
        words: &'a mut [u32],
        n_trees: usize,
        n_features: usize,
        compare: Compare,
        tag: u32,
    ) -> Result<PlanBuilder<'a>, PlanError> {
        let table = Self::table_words(n_trees).ok_or(PlanError::TooLarge)?;
        let got = words.len();
        let Some(t) = words.get_mut(..table) else {
            return Err(PlanError::BufferTooShort { needed: table, got });
        };
        t.fill(0);
        Ok(PlanBuilder {
            words,
            n_trees,
            n_features,
            compare,
            tag,
            begun: 0,
            cursor: table,
            current: None,
            sparse_current: None,
            sparse: 0,
        })
    }

    /// Begins the next tree, of `depth` levels of splits (0: a single leaf). Its nodes start as padding
    /// (feature 0, threshold 0, NaN right) and its leaves as 0; [`PlanBuilder::split`] and
    /// [`PlanBuilder::leaf`] fill them.
    pub fn begin_tree(&mut self, depth: u32) -> Result<(), PlanError> {
        let tree = self.begun;
        if tree >= self.n_trees {
            return Err(PlanError::TreeCount {
                expected: self.n_trees,
                got: tree + 1,
            });
        }
        let size = Self::tree_words(depth).ok_or(PlanError::TooDeep { tree, depth })?;
        if depth > 0 && self.n_features == 0 {
            return Err(PlanError::FeatureOutOfRange { tree });
        }
        if u32::try_from(self.cursor).is_err() {
            return Err(PlanError::TooLarge);
        }
        let end = self.cursor.checked_add(size).ok_or(PlanError::TooLarge)?;
        let got = self.words.len();
        let Some(data) = self.words.get_mut(self.cursor..end) else {
            return Err(PlanError::BufferTooShort { needed: end, got });
        };
        data.fill(0);
        if let Some(entry) = self.words.get_mut(2 * tree..2 * tree + 2) {
            entry[0] = self.cursor as u32;
            entry[1] = depth;
        }
        self.current = Some((self.cursor, depth));
        self.sparse_current = None;
        self.cursor = end;
        self.begun += 1;
        Ok(())
    }

    /// Words one sparse tree of `entries` entries (splits and leaves) takes, `3·entries`; `None` below 3 or
    /// above [`MAX_SPARSE_ENTRIES`].
    pub const fn sparse_tree_words(entries: usize) -> Option<usize> {
        if entries < 3 || entries > MAX_SPARSE_ENTRIES {
            None
        } else {
            Some(3 * entries)
        }
    }

    /// Begins the next tree as a sparse tree (see the [module documentation](self)) of `entries` entries
    /// (`2·splits + 1`; the root, entry 0, is a split) and `depth` levels of splits (`1 ..=`
    /// [`MAX_SPARSE_DEPTH`]: every row takes `depth` steps, so it must be at least the tree's depth). Every
    /// entry starts as a leaf of value 0 (entry 0 as a split-free placeholder whose children are entries 0 and
    /// 1); [`PlanBuilder::sparse_split`] and [`PlanBuilder::sparse_leaf`] fill them. The plan's features must be
    /// at most [`MAX_SPARSE_FEATURES`].
    pub fn begin_sparse_tree(&mut self, entries: usize, depth: u32) -> Result<(), PlanError> {
        let tree = self.begun;
        if tree >= self.n_trees {
            return Err(PlanError::TreeCount {
                expected: self.n_trees,
                got: tree + 1,
            });
        }
        if depth == 0 || depth > MAX_SPARSE_DEPTH {
            return Err(PlanError::TooDeep { tree, depth });
        }
        let size = Self::sparse_tree_words(entries).ok_or(PlanError::TooLarge)?;
        if self.n_features == 0 || self.n_features > MAX_SPARSE_FEATURES {
            return Err(PlanError::FeatureOutOfRange { tree });
        }
        if u32::try_from(self.cursor).is_err() {
            return Err(PlanError::TooLarge);
        }
        let end = self.cursor.checked_add(size).ok_or(PlanError::TooLarge)?;
        let got = self.words.len();
        let Some(data) = self.words.get_mut(self.cursor..end) else {
            return Err(PlanError::BufferTooShort { needed: end, got });
        };
        let (nodes, rest) = data.split_at_mut(entries);
        let (thresholds, leaves) = rest.split_at_mut(entries);
        for (i, w) in nodes.iter_mut().enumerate() {
            // A leaf's first child is itself − 1 (every row goes right); entry 0's is 0.
            *w = (i.saturating_sub(1) as u32) << SPARSE_CHILD_SHIFT;
        }
        thresholds.fill(SPARSE_LEAF_THRESHOLD);
        leaves.fill(0);
        if let Some(entry) = self.words.get_mut(2 * tree..2 * tree + 2) {
            entry[0] = self.cursor as u32;
            entry[1] = SPARSE | ((entries as u32) << 8) | depth;
        }
        self.current = None;
        self.sparse_current = Some((self.cursor, entries));
        self.sparse += 1;
        self.cursor = end;
        self.begun += 1;
        Ok(())
    }

    /// The current sparse tree's offset and entries, with a check that `index` is one of them and at least
    /// `min_index`.
    fn sparse_at(&self, index: usize, min_index: usize) -> Result<(usize, usize), PlanError> {
        let tree = self.begun.saturating_sub(1);
        let bad = PlanError::BadPosition { tree };
        let (off, entries) = self.sparse_current.ok_or(bad)?;
        if index >= entries || index < min_index {
            return Err(bad);
        }
        Ok((off, entries))
    }

    /// Sets entry `index` of the current sparse tree to a split whose children are entries `first_child` (left)
    /// and `first_child + 1` (right, `≤ entries − 1`): left when `x` compares below `threshold`, or when `x` is
    /// NaN and `default_left`.
    pub fn sparse_split(
        &mut self,
        index: usize,
        feature: usize,
        threshold: f32,
        default_left: bool,
        first_child: usize,
    ) -> Result<(), PlanError> {
        let tree = self.begun.saturating_sub(1);
        let (off, entries) = self.sparse_at(index, 0)?;
        // Checked: a wrapped sum would let a first child past the tree's entries through.
        if first_child.checked_add(2).is_none_or(|end| end > entries) {
            return Err(PlanError::BadPosition { tree });
        }
        // n_features ≤ MAX_SPARSE_FEATURES (checked when the tree began), so the feature fits 16 bits.
        if feature >= self.n_features {
            return Err(PlanError::FeatureOutOfRange { tree });
        }
        let word = feature as u32
            | ((first_child as u32) << SPARSE_CHILD_SHIFT)
            | if default_left { DEFAULT_LEFT } else { 0 };
        if let Some(w) = self.words.get_mut(off + index) {
            *w = word;
        }
        if let Some(t) = self.words.get_mut(off + entries + index) {
            *t = threshold.to_bits();
        }
        Ok(())
    }

    /// Sets entry `index` (`≥ 1`: the root is a split) of the current sparse tree to a leaf of `value` (the
    /// tree's weight already applied).
    pub fn sparse_leaf(&mut self, index: usize, value: f32) -> Result<(), PlanError> {
        let (off, entries) = self.sparse_at(index, 1)?;
        if let Some(w) = self.words.get_mut(off + index) {
            *w = ((index - 1) as u32) << SPARSE_CHILD_SHIFT;
        }
        if let Some(t) = self.words.get_mut(off + entries + index) {
            *t = SPARSE_LEAF_THRESHOLD;
        }
        if let Some(l) = self.words.get_mut(off + 2 * entries + index) {
            *l = value.to_bits();
        }
        Ok(())
    }

    /// The current tree's offset and depth, with a check that (`level`, `position`) lies inside it (`level ≤
    /// max_level`).
    fn at(&self, level: u32, position: usize, max_level: u32) -> Result<(usize, u32), PlanError> {
        let tree = self.begun.saturating_sub(1);
        let bad = PlanError::BadPosition { tree };
        let (off, depth) = self.current.ok_or(bad)?;
        if level > max_level.min(depth) || position >= (1usize << level) {
            return Err(bad);
        }
        Ok((off, depth))
    }

    /// Sets the current tree's split at `level` (`< depth`), `position` (`< 2^level`): left when `x` compares
    /// below `threshold`, or when `x` is NaN and `default_left`.
    pub fn split(
        &mut self,
        level: u32,
        position: usize,
        feature: usize,
        threshold: f32,
        default_left: bool,
    ) -> Result<(), PlanError> {
        let tree = self.begun.saturating_sub(1);
        let (off, depth) = self.at(level, position, u32::MAX)?;
        if level >= depth {
            return Err(PlanError::BadPosition { tree });
        }
        if feature >= self.n_features || feature as u64 >= DEFAULT_LEFT as u64 {
            return Err(PlanError::FeatureOutOfRange { tree });
        }
        let node = (1usize << level) - 1 + position;
        let word = feature as u32 | if default_left { DEFAULT_LEFT } else { 0 };
        let nodes = (1usize << depth) - 1;
        if let Some(w) = self.words.get_mut(off + node) {
            *w = word;
        }
        if let Some(t) = self.words.get_mut(off + nodes + node) {
            *t = threshold.to_bits();
        }
        Ok(())
    }

    /// Sets the current tree's leaf at `level` (`≤ depth`), `position` (`< 2^level`) to `value` (the tree's
    /// weight already applied): every leaf slot below it holds the value.
    pub fn leaf(&mut self, level: u32, position: usize, value: f32) -> Result<(), PlanError> {
        let (off, depth) = self.at(level, position, u32::MAX)?;
        let nodes = (1usize << depth) - 1;
        let span = 1usize << (depth - level);
        let first = off + 2 * nodes + position * span;
        if let Some(slots) = self.words.get_mut(first..first + span) {
            slots.fill(value.to_bits());
        }
        Ok(())
    }

    /// Finishes the plan; every tree must have been begun.
    pub fn finish(self) -> Result<Plan<'a>, PlanError> {
        if self.begun != self.n_trees {
            return Err(PlanError::TreeCount {
                expected: self.n_trees,
                got: self.begun,
            });
        }
        Ok(Plan {
            words: self.words,
            n_trees: self.n_trees,
            n_features: self.n_features,
            compare: self.compare,
            tag: self.tag,
            sparse: self.sparse,
        })
    }
}

/// Checks the shapes of a [`Simd::forest_sums`](crate::Simd::forest_sums) call (`n_rows ≥ 1`).
pub(crate) fn check_rows(
    plan: &Plan<'_>,
    rows: usize,
    stride: usize,
    n_rows: usize,
    sums: usize,
) -> Result<(), RowsError> {
    let nf = plan.n_features;
    if n_rows > 1 && stride < nf {
        return Err(RowsError::BadStride {
            needed: nf,
            got: stride,
        });
    }
    let needed = (n_rows - 1).saturating_mul(stride).saturating_add(nf);
    if rows < needed {
        return Err(RowsError::RowsTooShort { needed, got: rows });
    }
    if sums < n_rows {
        return Err(RowsError::SumsTooShort {
            needed: n_rows,
            got: sums,
        });
    }
    Ok(())
}

/// Checks the row of a [`Simd::forest_row`](crate::Simd::forest_row) call: it must hold the plan's features.
pub(crate) fn check_row(plan: &Plan<'_>, row: usize) -> Result<(), RowsError> {
    if row < plan.n_features {
        return Err(RowsError::RowsTooShort {
            needed: plan.n_features,
            got: row,
        });
    }
    Ok(())
}
