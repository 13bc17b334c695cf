//! [`Forest`]: the validated view over a blob, and its validation.

use super::error::BlobError;
use super::format::{self, Aggregate, Compare, Transform, flags, get_f64, get_u16, get_u32};
use super::metadata::{self, ClassNames, MetadataIndex};

/// A validated tree-ensemble model borrowed from a blob. Cheap to copy; all methods are allocation-free.
#[derive(Clone, Copy, Debug)]
pub struct Forest<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) n_features: usize,
    pub(super) n_outputs: usize,
    pub(super) n_trees: usize,
    pub(super) n_nodes: usize,
    pub(super) n_leaves: usize,
    pub(super) leaf_width: usize,
    pub(super) feature_bytes: usize,
    pub(super) child_bytes: usize,
    pub(super) node_size: usize,
    pub(super) compare: Compare,
    pub(super) aggregate: Aggregate,
    pub(super) transform: Transform,
    pub(super) wide: bool,
    pub(super) divisor: f64,
    pub(super) base_off: usize,
    pub(super) trees_off: usize,
    /// Offset of the tree-weights section (meaningful for [`Aggregate::WeightedMedian`]).
    #[cfg_attr(not(feature = "weighted-median"), allow(dead_code))]
    pub(super) weights_off: usize,
    pub(super) nodes_off: usize,
    pub(super) leaves_off: usize,
    pub(super) cats_off: usize,
    pub(super) n_cat_words: usize,
    /// Offset of the per-leaf linear offsets (meaningful when `linear` is true).
    pub(super) leaf_models_off: usize,
    /// Offset of the linear table.
    pub(super) linear_off: usize,
    pub(super) linear: bool,
    pub(super) max_depth: u32,
    pub(super) worst_case_visits: u64,
    /// Where the metadata's class names are (none for version 1).
    pub(super) metadata: MetadataIndex,
}

/// Numbers that describe a model, for `inspect`-style reports.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Summary {
    /// Trees.
    pub trees: usize,
    /// Internal (split) nodes.
    pub nodes: usize,
    /// Leaves.
    pub leaves: usize,
    /// Features a row must have.
    pub features: usize,
    /// Margin columns.
    pub outputs: usize,
    /// Values per leaf.
    pub leaf_width: usize,
    /// Bytes of one node record.
    pub node_bytes: usize,
    /// Bytes of the whole blob.
    pub blob_bytes: usize,
    /// Deepest tree (internal levels).
    pub max_depth: u32,
    /// Worst-case internal nodes visited per row: the sum of every tree's depth times the passes
    /// ([`Forest::worst_case_visits`]).
    pub worst_case_visits: u64,
    /// Leaves, margins and sums are f64 (else f32).
    pub wide_values: bool,
    /// How the trees' outputs combine.
    pub aggregate: Aggregate,
}

/// Section offsets implied by the header's counts (all arithmetic checked).
struct Layout {
    base_off: usize,
    trees_off: usize,
    weights_off: usize,
    nodes_off: usize,
    leaves_off: usize,
    cats_off: usize,
    leaf_models_off: usize,
    linear_off: usize,
    end: usize,
}

impl Layout {
    fn compute(counts: [usize; 8], value_bytes: usize, node_size: usize) -> Option<Layout> {
        let [
            n_outputs,
            n_trees,
            n_weights,
            n_nodes,
            n_leaves,
            leaf_width,
            n_cat_words,
            linear_bytes,
        ] = counts;
        let after = |off: usize, n: usize, size: usize| {
            format::align8(off.checked_add(n.checked_mul(size)?)?)
        };
        let base_off = format::HEADER_LEN;
        let trees_off = after(base_off, n_outputs, value_bytes)?;
        let weights_off = after(trees_off, n_trees, format::TREE_RECORD)?;
        let nodes_off = after(weights_off, n_weights, format::MEDIAN_WEIGHT)?;
        let leaves_off = after(nodes_off, n_nodes, node_size)?;
        let cats_off = after(leaves_off, n_leaves.checked_mul(leaf_width)?, value_bytes)?;
        let cats_end = cats_off.checked_add(n_cat_words.checked_mul(4)?)?;
        let (leaf_models_off, linear_off, end) = if linear_bytes == 0 {
            (cats_end, cats_end, cats_end)
        } else {
            let leaf_models_off = format::align8(cats_end)?;
            let linear_off = after(leaf_models_off, n_leaves, 4)?;
            (
                leaf_models_off,
                linear_off,
                linear_off.checked_add(linear_bytes)?,
            )
        };
        Some(Layout {
            base_off,
            trees_off,
            weights_off,
            nodes_off,
            leaves_off,
            cats_off,
            leaf_models_off,
            linear_off,
            end,
        })
    }
}

/// Reads an unsigned index of `width` (1, 2 or 4) bytes at `off`.
#[inline]
pub(super) fn get_index(b: &[u8], off: usize, width: usize) -> Option<usize> {
    Some(match width {
        1 => *b.get(off)? as usize,
        2 => get_u16(b, off)? as usize,
        _ => get_u32(b, off)? as usize,
    })
}

/// A value of `value_bytes` (4: f32, 8: f64) at `off`, widened to f64.
#[inline]
fn get_value(b: &[u8], off: usize, wide: bool) -> Option<f64> {
    if wide {
        get_f64(b, off)
    } else {
        get_u32(b, off).map(|v| f32::from_bits(v) as f64)
    }
}

fn header_u8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

impl<'a> Forest<'a> {
    /// Validates `bytes` as a version-1, 2 or 3 blob (see [`format`](super::format)) and returns the view.
    ///
    /// Trailing bytes after `total_len` are ignored. Cost: one pass over the blob (checksum) and one over the
    /// nodes and leaves.
    pub fn new(bytes: &'a [u8]) -> Result<Forest<'a>, BlobError> {
        let h = format::HEADER_LEN;
        let truncated = |needed: usize| BlobError::Truncated {
            needed,
            got: bytes.len(),
        };
        if bytes.len() < h {
            return Err(truncated(h));
        }
        if bytes.get(0..4) != Some(&format::MAGIC[..]) {
            return Err(BlobError::BadMagic);
        }
        let version = get_u16(bytes, 4).ok_or(truncated(h))?;
        if !matches!(
            version,
            format::VERSION_1 | format::VERSION_2 | format::VERSION
        ) {
            return Err(BlobError::UnsupportedVersion(version));
        }
        let header_len = get_u16(bytes, 6).ok_or(truncated(h))?;
        if header_len as usize != h {
            return Err(BlobError::BadHeaderLength(header_len));
        }
        let u32_at = |off: usize| get_u32(bytes, off).map(|v| v as usize).ok_or(truncated(h));
        let total_len = u32_at(8)?;
        if total_len < h {
            return Err(BlobError::BadField("total_len"));
        }
        if bytes.len() < total_len {
            return Err(truncated(total_len));
        }
        let bytes = bytes.get(..total_len).ok_or(truncated(total_len))?;
        let stored = get_u32(bytes, 12).ok_or(truncated(h))?;
        let computed = super::crc32(bytes.get(16..).unwrap_or_default());
        if stored != computed {
            return Err(BlobError::ChecksumMismatch { stored, computed });
        }

        let n_features = u32_at(16)?;
        let n_outputs = u32_at(20)?;
        let n_trees = u32_at(24)?;
        let n_nodes = u32_at(28)?;
        let n_leaves = u32_at(32)?;
        let leaf_width = u32_at(36)?;
        let n_cat_words = u32_at(40)?;
        let feature_bytes = header_u8(bytes, 44) as usize;
        let child_bytes = header_u8(bytes, 45) as usize;
        if !matches!(feature_bytes, 1 | 2 | 4) {
            return Err(BlobError::BadField("feature_bytes"));
        }
        if !matches!(child_bytes, 1 | 2 | 4) {
            return Err(BlobError::BadField("child_bytes"));
        }
        let compare = match header_u8(bytes, 46) {
            0 => Compare::Less,
            1 => Compare::LessEqual,
            _ => return Err(BlobError::BadField("compare")),
        };
        let aggregate = match header_u8(bytes, 47) {
            0 => Aggregate::Sum,
            1 => Aggregate::Mean,
            #[cfg(feature = "weighted-median")]
            2 if version >= format::VERSION => Aggregate::WeightedMedian,
            #[cfg(not(feature = "weighted-median"))]
            2 if version >= format::VERSION => {
                return Err(BlobError::BadField(
                    "aggregate 2 (weighted median) needs emkern's `weighted-median` feature",
                ));
            }
            _ => return Err(BlobError::BadField("aggregate")),
        };
        let median = aggregate == Aggregate::WeightedMedian;
        let transform =
            Transform::from_u8(header_u8(bytes, 48)).ok_or(BlobError::BadField("transform"))?;
        let wide = match header_u8(bytes, 49) {
            4 => false,
            8 => true,
            _ => return Err(BlobError::BadField("value_bytes")),
        };
        if bytes.get(50..52).is_none_or(|r| r.iter().any(|&b| b != 0)) {
            return Err(BlobError::BadField("reserved"));
        }
        let linear_bytes = u32_at(52)?;
        let divisor = get_f64(bytes, 56).ok_or(truncated(h))?;
        if !(divisor.is_finite() && divisor > 0.0) {
            return Err(BlobError::BadField("divisor"));
        }
        if n_outputs == 0 {
            return Err(BlobError::BadField("n_outputs"));
        }
        if leaf_width != 1 && leaf_width != n_outputs {
            return Err(BlobError::BadField("leaf_width"));
        }
        if median && (n_outputs != 1 || n_trees == 0 || linear_bytes != 0) {
            return Err(BlobError::BadField(
                "a weighted median needs one output, one tree or more and no linear leaves",
            ));
        }

        // Sections at 8-aligned offsets, sizes from the counts; all arithmetic checked.
        let value_bytes = if wide { 8 } else { 4 };
        let node_size = format::node_size(feature_bytes, child_bytes);
        let l = Layout::compute(
            [
                n_outputs,
                n_trees,
                if median { n_trees } else { 0 },
                n_nodes,
                n_leaves,
                leaf_width,
                n_cat_words,
                linear_bytes,
            ],
            value_bytes,
            node_size,
        )
        .ok_or(BlobError::BadLayout)?;
        let Layout {
            base_off,
            trees_off,
            weights_off,
            nodes_off,
            leaves_off,
            cats_off,
            leaf_models_off,
            linear_off,
            end,
        } = l;
        if linear_bytes > 0 && leaf_width != 1 {
            return Err(BlobError::BadField("linear leaves need leaf_width = 1"));
        }
        let metadata = if version == format::VERSION_1 || end == total_len {
            if end != total_len {
                return Err(BlobError::BadLayout);
            }
            MetadataIndex::default()
        } else {
            let start = format::align8(end)
                .filter(|&s| end < total_len && s <= total_len)
                .ok_or(BlobError::BadLayout)?;
            if bytes
                .get(end..start)
                .is_none_or(|p| p.iter().any(|&b| b != 0))
            {
                return Err(BlobError::BadMetadata(
                    "padding before the section is not zero",
                ));
            }
            metadata::validate(bytes, start, total_len)?
        };

        let mut forest = Forest {
            bytes,
            n_features,
            n_outputs,
            n_trees,
            n_nodes,
            n_leaves,
            leaf_width,
            feature_bytes,
            child_bytes,
            node_size,
            compare,
            aggregate,
            transform,
            wide,
            divisor,
            base_off,
            trees_off,
            weights_off,
            nodes_off,
            leaves_off,
            cats_off,
            n_cat_words,
            leaf_models_off,
            linear_off,
            linear: linear_bytes > 0,
            max_depth: 0,
            worst_case_visits: 0,
            metadata,
        };
        forest.validate_values()?;
        forest.validate_linear(linear_bytes)?;
        forest.validate_trees()?;
        #[cfg(feature = "weighted-median")]
        if median {
            forest.validate_median_weights()?;
        }
        forest.worst_case_visits = forest
            .worst_case_visits
            .saturating_mul(forest.passes() as u64);
        Ok(forest)
    }

    /// Passes over the trees one prediction makes: `⌈outputs / 32⌉` (the predictor sums 32 margin columns per
    /// pass, each pass walking every tree), or [`Forest::median_passes`] for a weighted median.
    pub fn passes(&self) -> usize {
        if self.aggregate == Aggregate::WeightedMedian {
            self.median_passes()
        } else {
            self.n_outputs.div_ceil(format::OUTPUT_CHUNK).max(1)
        }
    }

    /// Tree walks one prediction makes: [`Forest::passes`] × trees. Each walk reads one leaf, a tree without
    /// split nodes included, so with [`Forest::worst_case_visits`] this bounds a prediction's work.
    pub fn worst_case_tree_walks(&self) -> u64 {
        (self.passes() as u64).saturating_mul(self.n_trees as u64)
    }

    /// Walks of every tree one prediction takes at most: one, except for a weighted median over more than
    /// [`format::MEDIAN_CHUNK`] trees, which takes two enumerations of `⌈T / MEDIAN_CHUNK⌉` passes.
    pub fn median_passes(&self) -> usize {
        if self.aggregate != Aggregate::WeightedMedian || self.n_trees <= format::MEDIAN_CHUNK {
            1
        } else {
            2 * self.n_trees.div_ceil(format::MEDIAN_CHUNK)
        }
    }

    /// Base margins and leaf values must be finite.
    fn validate_values(&self) -> Result<(), BlobError> {
        let vb = if self.wide { 8 } else { 4 };
        for k in 0..self.n_outputs {
            match get_value(self.bytes, self.base_off + k * vb, self.wide) {
                Some(v) if v.is_finite() => {}
                _ => {
                    return Err(BlobError::BadValue {
                        table: "output column",
                        index: k as u32,
                        what: "base margin is not finite",
                    });
                }
            }
        }
        let n_values = self.n_leaves * self.leaf_width;
        for i in 0..n_values {
            match get_value(self.bytes, self.leaves_off + i * vb, self.wide) {
                Some(v) if v.is_finite() => {}
                _ => {
                    return Err(BlobError::BadValue {
                        table: "leaf",
                        index: (i / self.leaf_width.max(1)) as u32,
                        what: "value is not finite",
                    });
                }
            }
        }
        Ok(())
    }

    /// Every leaf's linear entry lies in the table, with finite numbers and feature indices below `n_features`.
    fn validate_linear(&self, linear_bytes: usize) -> Result<(), BlobError> {
        if !self.linear {
            return Ok(());
        }
        let b = self.bytes;
        for leaf in 0..self.n_leaves {
            let bad = |what| BlobError::BadValue {
                table: "leaf",
                index: leaf as u32,
                what,
            };
            let entry = get_u32(b, self.leaf_models_off + 4 * leaf).ok_or(BlobError::BadLayout)?;
            if entry == format::NO_LINEAR {
                continue;
            }
            let entry = entry as usize;
            let head_end = entry
                .checked_add(format::LINEAR_HEAD)
                .ok_or(bad("linear entry offset is out of range"))?;
            if !entry.is_multiple_of(8) || head_end > linear_bytes {
                return Err(bad("linear entry offset is out of range"));
            }
            let at = self.linear_off + entry;
            let n_terms = get_u32(b, at).ok_or(BlobError::BadLayout)? as usize;
            let end = n_terms
                .checked_mul(format::LINEAR_TERM)
                .and_then(|t| t.checked_add(head_end));
            if end.is_none_or(|e| e > linear_bytes) {
                return Err(bad("linear entry runs past the linear table"));
            }
            if !get_f64(b, at + 8).is_some_and(f64::is_finite) {
                return Err(bad("linear constant is not finite"));
            }
            for k in 0..n_terms {
                let term = at + format::LINEAR_HEAD + k * format::LINEAR_TERM;
                let feature = get_u32(b, term).ok_or(BlobError::BadLayout)? as usize;
                if feature >= self.n_features {
                    return Err(bad("a linear term reads a feature out of range"));
                }
                if !get_f64(b, term + 8).is_some_and(f64::is_finite) {
                    return Err(bad("a linear coefficient is not finite"));
                }
            }
        }
        Ok(())
    }

    /// Tree records, then each tree's nodes in canonical breadth-first order; computes depths.
    fn validate_trees(&mut self) -> Result<(), BlobError> {
        let b = self.bytes;
        let mut max_depth = 0u32;
        let mut visits = 0u64;
        let mut prev_nodes = 0usize;
        let mut prev_leaves = 0usize;
        for t in 0..self.n_trees {
            let tree = t as u32;
            let bad = |what| BlobError::BadTree { tree, what };
            let rec = self.trees_off + t * format::TREE_RECORD;
            let node_start = get_u32(b, rec).ok_or(BlobError::BadLayout)? as usize;
            let leaf_start = get_u32(b, rec + 4).ok_or(BlobError::BadLayout)? as usize;
            let output = get_u32(b, rec + 8).ok_or(BlobError::BadLayout)?;
            let weight = f32::from_bits(get_u32(b, rec + 12).ok_or(BlobError::BadLayout)?);
            if node_start != prev_nodes {
                return Err(bad("node_start does not follow the previous tree"));
            }
            if leaf_start != prev_leaves {
                return Err(bad("leaf_start does not follow the previous tree"));
            }
            if !weight.is_finite() {
                return Err(bad("weight is not finite"));
            }
            if self.leaf_width == 1 {
                if output as usize >= self.n_outputs {
                    return Err(bad("output column out of range"));
                }
            } else if output != format::ALL_OUTPUTS {
                return Err(bad("vector-leaf tree must have output = ALL_OUTPUTS"));
            }
            let (node_end, leaf_end) = if t + 1 < self.n_trees {
                let next = rec + format::TREE_RECORD;
                let ns = get_u32(b, next).ok_or(BlobError::BadLayout)? as usize;
                let ls = get_u32(b, next + 4).ok_or(BlobError::BadLayout)? as usize;
                (ns, ls)
            } else {
                (self.n_nodes, self.n_leaves)
            };
            if node_end < node_start || node_end > self.n_nodes {
                return Err(bad("node range out of bounds"));
            }
            if leaf_end < leaf_start || leaf_end > self.n_leaves {
                return Err(bad("leaf range out of bounds"));
            }
            let nodes = node_end - node_start;
            let leaves = leaf_end - leaf_start;
            if leaves != nodes + 1 {
                return Err(bad("a binary tree has one leaf more than nodes"));
            }
            let depth = self.validate_tree_nodes(tree, node_start, nodes)?;
            max_depth = max_depth.max(depth);
            visits += depth as u64;
            prev_nodes = node_end;
            prev_leaves = leaf_end;
        }
        if prev_nodes != self.n_nodes || prev_leaves != self.n_leaves {
            return Err(BlobError::BadField(
                "n_nodes/n_leaves do not match the trees",
            ));
        }
        self.max_depth = max_depth;
        self.worst_case_visits = visits;
        Ok(())
    }

    /// Checks one tree's nodes (breadth-first numbering, children, features, flags, category sets) and returns
    /// its depth in internal levels.
    fn validate_tree_nodes(&self, tree: u32, start: usize, nodes: usize) -> Result<u32, BlobError> {
        let b = self.bytes;
        let mut next_node = 1usize;
        let mut next_leaf = 0usize;
        let mut depth = 0u32;
        let mut level_end = 0usize;
        for i in 0..nodes {
            let bad = |what| BlobError::BadNode {
                tree,
                node: i as u32,
                what,
            };
            if i >= next_node && i > 0 {
                return Err(bad("node is not reachable in breadth-first order"));
            }
            if i == level_end {
                depth += 1;
                level_end = next_node;
            }
            let off = self.nodes_off + (start + i) * self.node_size;
            let threshold = get_u32(b, off).ok_or(BlobError::BadLayout)?;
            let feature = get_index(b, off + 4, self.feature_bytes).ok_or(BlobError::BadLayout)?;
            let fl = *b
                .get(off + 4 + self.feature_bytes)
                .ok_or(BlobError::BadLayout)?;
            let left = get_index(b, off + 5 + self.feature_bytes, self.child_bytes)
                .ok_or(BlobError::BadLayout)?;
            let right = get_index(
                b,
                off + 5 + self.feature_bytes + self.child_bytes,
                self.child_bytes,
            )
            .ok_or(BlobError::BadLayout)?;
            if feature >= self.n_features {
                return Err(bad("feature index out of range"));
            }
            let mode = (fl >> flags::MISSING_SHIFT) & flags::MISSING_MASK;
            if mode == 3 {
                return Err(bad("unknown missing mode"));
            }
            if fl & flags::CATEGORICAL != 0 {
                let words_off = threshold as usize;
                let n_words = get_u32(b, self.cats_off + words_off.saturating_mul(4))
                    .filter(|_| words_off < self.n_cat_words)
                    .ok_or(bad("category set offset out of range"))?
                    as usize;
                if words_off
                    .checked_add(1)
                    .and_then(|v| v.checked_add(n_words))
                    .is_none_or(|e| e > self.n_cat_words)
                {
                    return Err(bad("category set runs past the category table"));
                }
            } else {
                if fl & (flags::IN_SET_LEFT | flags::TRUNCATE_FIRST) != 0 {
                    return Err(bad("categorical flags on a numeric split"));
                }
                if f32::from_bits(threshold).is_nan() {
                    return Err(bad("threshold is NaN"));
                }
            }
            for (child, is_leaf) in [
                (left, fl & flags::LEFT_LEAF != 0),
                (right, fl & flags::RIGHT_LEAF != 0),
            ] {
                if is_leaf {
                    if child != next_leaf {
                        return Err(bad("leaf child out of breadth-first order"));
                    }
                    next_leaf += 1;
                } else {
                    if child != next_node {
                        return Err(bad("node child out of breadth-first order"));
                    }
                    next_node += 1;
                }
            }
        }
        let bad_tree = |what| BlobError::BadTree { tree, what };
        if nodes > 0 && next_node != nodes {
            return Err(bad_tree("not every node is reached"));
        }
        if next_leaf != if nodes == 0 { 0 } else { nodes + 1 } {
            return Err(bad_tree("not every leaf is reached"));
        }
        Ok(depth)
    }

    /// Features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Columns of the raw margin ([`Forest::predict_margin`]).
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Values [`Forest::predict`] writes per row: 1 for [`Transform::ArgMax`], else [`Forest::n_outputs`].
    pub fn output_len(&self) -> usize {
        if self.transform == Transform::ArgMax {
            1
        } else {
            self.n_outputs
        }
    }

    /// The output transform.
    pub fn transform(&self) -> Transform {
        self.transform
    }

    /// How the trees' outputs combine (sum, mean, weighted median).
    pub fn aggregate(&self) -> Aggregate {
        self.aggregate
    }

    /// The worst-case number of internal nodes one row visits: the sum of every tree's depth (validated), times
    /// [`Forest::passes`] (more than 32 margin columns, or a weighted median over more than
    /// [`format::MEDIAN_CHUNK`] trees). With [`Forest::worst_case_tree_walks`] leaf reads, this bounds the work of
    /// a prediction, for WCET analysis (a model of leaf-only trees visits no node but still reads every leaf).
    pub fn worst_case_visits(&self) -> u64 {
        self.worst_case_visits
    }

    /// The class names stored with the model (version-2 metadata), in class order; empty when the blob has none.
    /// Validated by [`Forest::new`]; never allocates.
    pub fn class_names(&self) -> ClassNames<'a> {
        ClassNames::new(self.bytes, self.metadata)
    }

    /// Sizes and counts of the model.
    pub fn summary(&self) -> Summary {
        Summary {
            trees: self.n_trees,
            nodes: self.n_nodes,
            leaves: self.n_leaves,
            features: self.n_features,
            outputs: self.n_outputs,
            leaf_width: self.leaf_width,
            node_bytes: self.node_size,
            blob_bytes: self.bytes.len(),
            max_depth: self.max_depth,
            worst_case_visits: self.worst_case_visits,
            wide_values: self.wide,
            aggregate: self.aggregate,
        }
    }
}
