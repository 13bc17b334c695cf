//! The compact writer: lays out an [`Ensemble`] as `emkern::forest::compact` specifies (the reader's spec), or
//! says why the model does not fit that layout (it then fits the general one, [`super::blob`]).
//!
//! What the writer decides: the f32 threshold of each split exactly as the general writer rounds it (so both
//! layouts take the same decisions on every f32 input), folded with the comparison and the default direction
//! into the record's value and negate bit; the pre-order of each tree with the default child next (unreachable
//! nodes are dropped); leaves multiplied by their tree's weight in f32; vector leaves as indices into one table
//! of distinct vectors (equal vectors, bit for bit, stored once); the CRC-32.
//!
//! [`write_from_blob`] does the same from a general blob (what `emkern profile` and `emkern import --layout` get
//! when the model is an `.emk` file).

use std::collections::HashMap;

use emkern::forest::compact::{self as layout};
use emkern::forest::{Compare, MissingMode, Transform, crc32};

use super::blob::{f32_round_down, f32_round_up};
use crate::ir::{Aggregate, Ensemble, Node, Precision, Test};

/// Why an ensemble cannot be written as a compact blob. Every variant but [`CompactRefusal::Invalid`] names a
/// feature of the model that only the general layout holds.
#[derive(Debug, Clone, PartialEq)]
pub enum CompactRefusal {
    /// Leaves and sums are f64 (the compact layout is f32; write with f32 precision, or the general layout).
    F64Precision,
    /// A leaf with a linear model.
    LinearLeaf {
        /// The tree.
        tree: usize,
        /// The node index in the tree.
        node: usize,
    },
    /// A categorical split.
    Categorical {
        /// The tree.
        tree: usize,
        /// The node index in the tree.
        node: usize,
    },
    /// A LightGBM `Zero` missing mode (NaN and `|x| ≤ 1e-35` take the default direction) whose zero band does not
    /// compare to the default side: the layout sends only NaN the default way. (`None`, NaN read as 0.0, fits:
    /// NaN takes 0.0's side.)
    MissingMode {
        /// The tree.
        tree: usize,
        /// The node index in the tree.
        node: usize,
        /// The node's mode.
        mode: MissingMode,
    },
    /// The weighted median (AdaBoost.R2) aggregate.
    WeightedMedian,
    /// A transform outside identity, sigmoid, softmax, argmax and exp.
    Transform(Transform),
    /// More margin columns than the compact layout holds.
    TooManyOutputs(u32),
    /// More features than 16-bit feature indices reach.
    TooManyFeatures(u32),
    /// A subtree too large for a split's 15-bit far offset.
    SubtreeTooLarge {
        /// The tree.
        tree: usize,
        /// The node index in the tree.
        node: usize,
        /// The offset that does not fit.
        far: usize,
    },
    /// More records (nodes and leaves) than 24-bit roots reach.
    TooManyRecords(usize),
    /// A leaf times its tree's weight, or the mean's divisor, is not a finite f32.
    NotFiniteF32 {
        /// What overflowed (e.g. `tree 3, node 7: leaf × weight`).
        what: String,
    },
    /// The ensemble is inconsistent (message says how and where).
    Invalid(String),
}

impl std::fmt::Display for CompactRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let general = "; the general layout holds it";
        match self {
            CompactRefusal::F64Precision => write!(
                f,
                "the model computes in f64, the compact layout in f32 (import with --f32){general}"
            ),
            CompactRefusal::LinearLeaf { tree, node } => {
                write!(f, "tree {tree}, node {node}: a linear leaf{general}")
            }
            CompactRefusal::Categorical { tree, node } => {
                write!(f, "tree {tree}, node {node}: a categorical split{general}")
            }
            CompactRefusal::MissingMode { tree, node, mode } => write!(
                f,
                "tree {tree}, node {node}: missing mode {mode:?} whose zero band does not compare to the \
                 default side (the compact layout sends only NaN the default way){general}"
            ),
            CompactRefusal::WeightedMedian => {
                write!(f, "the weighted-median aggregate{general}")
            }
            CompactRefusal::Transform(t) => write!(
                f,
                "the {t:?} transform (the compact layout has identity, sigmoid, softmax, argmax, exp){general}"
            ),
            CompactRefusal::TooManyOutputs(n) => write!(
                f,
                "{n} output columns, the compact layout holds 1 to {}{general}",
                layout::MAX_OUTPUTS
            ),
            CompactRefusal::TooManyFeatures(n) => write!(
                f,
                "{n} features, the compact layout reads at most {}{general}",
                layout::MAX_FEATURES
            ),
            CompactRefusal::SubtreeTooLarge { tree, node, far } => write!(
                f,
                "tree {tree}, node {node}: its first subtree has {} records, the compact layout's far \
                 offset reaches {}{general}",
                far - 1,
                layout::MAX_FAR - 1
            ),
            CompactRefusal::TooManyRecords(n) => write!(
                f,
                "{n} nodes and leaves, the compact layout holds fewer than {}{general}",
                layout::MAX_RECORDS
            ),
            CompactRefusal::NotFiniteF32 { what } => {
                write!(f, "{what} is not a finite f32{general}")
            }
            CompactRefusal::Invalid(m) => write!(f, "invalid model: {m}"),
        }
    }
}

impl std::error::Error for CompactRefusal {}

/// The record value of a split `x < t` / `x <= t` (IR threshold `t`) whose default child is on the left or not,
/// as the layout's table specifies (the negate bit is set exactly when the default child is on the right).
fn fold_split(t: f64, compare: Compare, default_left: bool) -> f32 {
    let up = |v: f32| {
        if v == f32::INFINITY {
            f32::NAN
        } else {
            v.next_up()
        }
    };
    match (compare, default_left) {
        (Compare::Less, true) => f32_round_up(t),
        (Compare::Less, false) => up(-f32_round_up(t)),
        (Compare::LessEqual, true) => up(f32_round_down(t)),
        (Compare::LessEqual, false) => -f32_round_down(t),
    }
}

/// The side (`true`: left) a NaN takes at split `s` with threshold `t` under `compare`, as the general layout
/// decides it, in the compact layout's one convention (NaN takes the default child); `None` when the layout
/// cannot hold the split's missing mode. LightGBM's `NanAsZero` reads NaN as 0.0, so NaN goes where 0.0 goes
/// (compared with the general layout's f32 threshold); its `ZeroOrNan` sends NaN and every `|x| ≤ 1e-35` to the
/// default side, which the layout holds when the whole band compares to the default side anyway (the band is
/// an interval, so its ends decide).
fn nan_left(s: &crate::ir::Split, t: f64, compare: Compare) -> Option<bool> {
    let below = |x: f32| match compare {
        Compare::Less => x < f32_round_up(t),
        Compare::LessEqual => x <= f32_round_down(t),
    };
    match s.missing {
        MissingMode::Nan => Some(s.default_left),
        MissingMode::NanAsZero => Some(below(0.0)),
        MissingMode::ZeroOrNan => {
            let z = emkern::forest::format::ZERO_THRESHOLD;
            let all = below(-z) && below(z);
            let none = !below(-z) && !below(z);
            ((all && s.default_left) || (none && !s.default_left)).then_some(s.default_left)
        }
    }
}

/// Checks the model-wide properties the compact layout needs.
fn check_model(e: &Ensemble) -> Result<(), CompactRefusal> {
    if e.precision == Precision::F64 {
        return Err(CompactRefusal::F64Precision);
    }
    match &e.aggregate {
        Aggregate::WeightedMedian { .. } => return Err(CompactRefusal::WeightedMedian),
        Aggregate::Mean { divisor } => {
            let d = *divisor as f32;
            if !(divisor.is_finite() && *divisor > 0.0) {
                return Err(CompactRefusal::Invalid(format!("mean divisor {divisor}")));
            }
            if !(d.is_finite() && d > 0.0) {
                return Err(CompactRefusal::NotFiniteF32 {
                    what: format!("the mean's divisor {divisor} in f32"),
                });
            }
        }
        Aggregate::Sum => {}
    }
    if !matches!(
        e.transform,
        Transform::Identity
            | Transform::Sigmoid
            | Transform::Softmax
            | Transform::ArgMax
            | Transform::Exp
    ) {
        return Err(CompactRefusal::Transform(e.transform));
    }
    super::check_shape(e, layout::MAX_OUTPUTS, layout::MAX_FEATURES).map_err(|s| match s {
        super::ShapeLimit::Outputs(n) => CompactRefusal::TooManyOutputs(n),
        super::ShapeLimit::Features(n) => CompactRefusal::TooManyFeatures(n),
        super::ShapeLimit::Invalid(why) => CompactRefusal::Invalid(why),
    })?;
    if let Some(k) = e.base_margin.iter().position(|m| !(*m as f32).is_finite()) {
        return Err(CompactRefusal::NotFiniteF32 {
            what: format!("base margin {k}"),
        });
    }
    Ok(())
}

/// The distinct leaf vectors of a model (their f32 bits), in first-use order.
#[derive(Default)]
struct Vectors {
    index: HashMap<Vec<u32>, u32>,
    table: Vec<u32>,
}

impl Vectors {
    /// The index of `v` (added when new).
    fn of(&mut self, v: Vec<u32>) -> u32 {
        let next = self.index.len() as u32;
        *self.index.entry(v).or_insert_with_key(|v| {
            self.table.extend_from_slice(v);
            next
        })
    }
}

/// Appends tree `t` of `e` in pre-order (default child next) to `records` (value bits, info); the leaves of a
/// vector tree go to `vectors`.
fn write_tree(
    e: &Ensemble,
    t: usize,
    records: &mut Vec<(u32, u32)>,
    vectors: &mut Vectors,
) -> Result<(), CompactRefusal> {
    let tree = &e.trees[t];
    let vector = tree.output.is_none();
    let n = tree.nodes.len();
    if n == 0 {
        return Err(CompactRefusal::Invalid(format!("tree {t} has no nodes")));
    }
    let mut seen = vec![false; n];
    seen[0] = true;
    // The reader checks a tree's pre-order with a stack of this many pending far children; deeper trees are
    // checked record by record, which allows no leaf pair.
    let pairs = tree_depth(tree) <= layout::MAX_CHECKED_DEPTH;
    // A leaf's word: its value times the tree's weight (f32 bits), or its vector's index.
    let leaf_bits = |i: usize, vectors: &mut Vectors| -> Result<u32, CompactRefusal> {
        match &tree.nodes[i] {
            Node::Leaf(v) if vector => {
                if v.len() != e.n_outputs as usize {
                    return Err(CompactRefusal::Invalid(format!(
                        "tree {t}, node {i}: {} leaf values for {} outputs",
                        v.len(),
                        e.n_outputs
                    )));
                }
                let mut bits = Vec::with_capacity(v.len());
                for (k, x) in v.iter().enumerate() {
                    if !x.is_finite() {
                        return Err(CompactRefusal::Invalid(format!(
                            "tree {t}, node {i}: leaf value {k} is not finite"
                        )));
                    }
                    // The general reader's `weight · leaf`, in f32, per column.
                    let w = tree.weight * (*x as f32);
                    if !w.is_finite() {
                        return Err(CompactRefusal::NotFiniteF32 {
                            what: format!("tree {t}, node {i}: leaf value {k} × tree weight"),
                        });
                    }
                    bits.push(w.to_bits());
                }
                Ok(vectors.of(bits))
            }
            Node::Leaf(v) => {
                let [v] = v.as_slice() else {
                    return Err(CompactRefusal::Invalid(format!(
                        "tree {t}, node {i}: {} leaf values for a scalar tree",
                        v.len()
                    )));
                };
                if !v.is_finite() {
                    return Err(CompactRefusal::Invalid(format!(
                        "tree {t}, node {i}: leaf value is not finite"
                    )));
                }
                // The general reader's `weight · leaf`, in f32.
                let w = tree.weight * (*v as f32);
                if !w.is_finite() {
                    return Err(CompactRefusal::NotFiniteF32 {
                        what: format!("tree {t}, node {i}: leaf × tree weight"),
                    });
                }
                Ok(w.to_bits())
            }
            _ => unreachable!("called on leaves only"),
        }
    };
    if let Some((levels, leaves)) = oblivious_shape(e, tree) {
        // The header (depth, OBLIVIOUS), one record per level, then the leaf words in index order, two a record.
        records.push((levels.len() as u32, layout::OBLIVIOUS));
        for &(feature, th, default_left) in &levels {
            let value = fold_split(th, e.compare, default_left);
            let info = layout::split_info(feature as usize, 1, !default_left)
                .map(|i| i & !(u32::MAX << layout::FAR_SHIFT))
                .ok_or_else(|| {
                    CompactRefusal::Invalid(format!("tree {t}: feature {feature} out of range"))
                })?;
            records.push((value.to_bits(), info));
        }
        for pair in leaves.chunks_exact(2) {
            records.push((leaf_bits(pair[0], vectors)?, leaf_bits(pair[1], vectors)?));
        }
        return Ok(());
    }
    // (IR node to place, and for a far child: its parent's record, IR node and side for NaN).
    let mut stack: Vec<(usize, Option<FarOf>)> = vec![(0, None)];
    while let Some((i, far_of)) = stack.pop() {
        let at = records.len();
        if let Some((p, parent, default_left)) = far_of {
            let Node::Split(s) = &tree.nodes[parent] else {
                unreachable!("only splits are parents")
            };
            // The table's negate bit: the default child is on the right.
            let info = layout::split_info(s.feature as usize, at - p, !default_left).ok_or(
                CompactRefusal::SubtreeTooLarge {
                    tree: t,
                    node: parent,
                    far: at - p,
                },
            )?;
            records[p].1 = info;
        }
        match &tree.nodes[i] {
            Node::Leaf(_) => {
                let bits = leaf_bits(i, vectors)?;
                records.push((bits, 0));
            }
            Node::LinearLeaf(_) => return Err(CompactRefusal::LinearLeaf { tree: t, node: i }),
            Node::Split(s) => {
                let th = match s.test {
                    Test::Numeric(th) => th,
                    Test::Categorical { .. } => {
                        return Err(CompactRefusal::Categorical { tree: t, node: i });
                    }
                };
                if th.is_nan() {
                    return Err(CompactRefusal::Invalid(format!(
                        "tree {t}, node {i}: threshold is NaN"
                    )));
                }
                if s.feature >= e.n_features {
                    return Err(CompactRefusal::Invalid(format!(
                        "tree {t}, node {i}: feature {} ≥ n_features {}",
                        s.feature, e.n_features
                    )));
                }
                for child in [s.left, s.right] {
                    if child >= n || seen[child] {
                        return Err(CompactRefusal::Invalid(format!(
                            "tree {t}, node {i}: child {child} is out of range or shared"
                        )));
                    }
                    seen[child] = true;
                }
                let default_left =
                    nan_left(s, th, e.compare).ok_or(CompactRefusal::MissingMode {
                        tree: t,
                        node: i,
                        mode: s.missing,
                    })?;
                let value = fold_split(th, e.compare, default_left);
                let (next, far) = if default_left {
                    (s.left, s.right)
                } else {
                    (s.right, s.left)
                };
                let is_leaf = |c: usize| matches!(tree.nodes[c], Node::Leaf(_));
                if pairs && is_leaf(next) && is_leaf(far) {
                    // A bottom split: its two leaves are the next record, a leaf pair (next child first).
                    let info = layout::split_info(
                        s.feature as usize,
                        layout::PAIR_FAR as usize,
                        !default_left,
                    )
                    .ok_or_else(|| {
                        CompactRefusal::Invalid(format!(
                            "tree {t}, node {i}: feature {} out of range",
                            s.feature
                        ))
                    })?;
                    records.push((value.to_bits(), info));
                    let pair = (leaf_bits(next, vectors)?, leaf_bits(far, vectors)?);
                    records.push(pair);
                    continue;
                }
                // The info is written when the far child is placed (after the whole next subtree).
                records.push((value.to_bits(), 0));
                stack.push((far, Some((at, i, default_left))));
                stack.push((next, None));
            }
        }
    }
    Ok(())
}

/// A far child's parent: its record, its IR node, and whether NaN goes left there.
type FarOf = (usize, usize, bool);

/// One level of an oblivious tree: feature, threshold, default direction left.
type Level = (u32, f64, bool);

/// The levels (feature, threshold, default left) and the leaves (IR nodes, in the layout's leaf-index order) of
/// `tree` when it is oblivious: complete, of depth 2 ..= `MAX_OBLIVIOUS_DEPTH`, every split of a level the same
/// numeric test with NaN to the same side, every value one the layout holds. Leaf index bit `d − 1 − k` is set
/// when the path takes the non-default (far) child at level `k`.
fn oblivious_shape(e: &Ensemble, tree: &crate::ir::Tree) -> Option<(Vec<Level>, Vec<usize>)> {
    let mut level = vec![0usize];
    let mut levels = Vec::new();
    loop {
        let first = match tree.nodes.get(level[0])? {
            Node::Split(s) => s,
            Node::Leaf(_) => break,
            Node::LinearLeaf(_) => return None,
        };
        let Test::Numeric(th) = first.test else {
            return None;
        };
        if th.is_nan() || first.missing != MissingMode::Nan || first.feature >= e.n_features {
            return None;
        }
        if levels.len() as u32 >= layout::MAX_OBLIVIOUS_DEPTH {
            return None;
        }
        let mut next = Vec::with_capacity(2 * level.len());
        for &i in &level {
            let Some(Node::Split(s)) = tree.nodes.get(i) else {
                return None;
            };
            let same = s.feature == first.feature
                && matches!(s.test, Test::Numeric(x) if x.to_bits() == th.to_bits())
                && s.default_left == first.default_left
                && s.missing == MissingMode::Nan;
            if !same {
                return None;
            }
            // Default (next) child first: index bit 0 at this level; the far child sets it.
            let (near, far) = if s.default_left {
                (s.left, s.right)
            } else {
                (s.right, s.left)
            };
            next.push(near);
            next.push(far);
        }
        levels.push((first.feature, th, first.default_left));
        level = next;
    }
    // Every node of the last level a leaf, each node used once.
    let mut seen = vec![false; tree.nodes.len()];
    for &i in &level {
        if !matches!(tree.nodes.get(i), Some(Node::Leaf(_)))
            || std::mem::replace(seen.get_mut(i)?, true)
        {
            return None;
        }
    }
    (levels.len() >= 2).then_some((levels, level))
}

/// Levels of splits on the longest path from the root of `tree` (0 for a single leaf).
fn tree_depth(tree: &crate::ir::Tree) -> usize {
    let mut deepest = 0;
    let mut seen = vec![false; tree.nodes.len()];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, d)) = stack.pop() {
        // Each node once (a malformed tree with shared children or cycles is refused by `write_tree`).
        match seen.get_mut(i) {
            Some(s) if !*s => *s = true,
            _ => continue,
        }
        match &tree.nodes[i] {
            Node::Split(s) => {
                stack.push((s.left, d + 1));
                stack.push((s.right, d + 1));
            }
            _ => deepest = deepest.max(d),
        }
    }
    deepest
}

/// Writes `e` as a compact blob, or says why it does not fit the compact layout.
pub fn write(e: &Ensemble) -> Result<Vec<u8>, CompactRefusal> {
    check_model(e)?;
    let mut records: Vec<(u32, u32)> = Vec::new();
    let mut vectors = Vectors::default();
    let mut entries: Vec<u32> = Vec::with_capacity(e.trees.len());
    for (t, tree) in e.trees.iter().enumerate() {
        let root = records.len();
        write_tree(e, t, &mut records, &mut vectors)?;
        if records.len() >= layout::MAX_RECORDS {
            return Err(CompactRefusal::TooManyRecords(records.len()));
        }
        let column = match tree.output {
            None => layout::VECTOR_COLUMN,
            Some(k) if k < e.n_outputs => k,
            k => {
                return Err(CompactRefusal::Invalid(format!(
                    "tree {t}: output {k:?} with {} outputs",
                    e.n_outputs
                )));
            }
        };
        entries.push(root as u32 | (column << layout::COLUMN_SHIFT));
    }
    let n_trees = u32::try_from(entries.len())
        .map_err(|_| CompactRefusal::Invalid("more than 2^32 trees".into()))?;
    let n_out = e.n_outputs as usize;
    let n_vectors = vectors.index.len();
    let total = layout::HEADER_LEN
        + 4 * n_out
        + layout::TREE_ENTRY * entries.len()
        + layout::RECORD * records.len()
        + 4 * vectors.table.len();
    let total32 =
        u32::try_from(total).map_err(|_| CompactRefusal::TooManyRecords(records.len()))?;
    let (mean, divisor) = match e.aggregate {
        Aggregate::Mean { divisor } => (1u8, divisor as f32),
        _ => (0u8, 1.0f32),
    };
    let mut b = Vec::with_capacity(total);
    b.extend(layout::MAGIC);
    b.extend(layout::VERSION.to_le_bytes());
    b.extend((layout::HEADER_LEN as u16).to_le_bytes());
    b.extend(total32.to_le_bytes());
    b.extend([0u8; 4]); // checksum, below
    b.extend(e.n_features.to_le_bytes());
    b.extend(n_trees.to_le_bytes());
    b.extend((records.len() as u32).to_le_bytes());
    b.extend([e.n_outputs as u8, mean, e.transform as u8, 0]);
    b.extend(divisor.to_le_bytes());
    b.extend((n_vectors as u32).to_le_bytes());
    for m in &e.base_margin {
        b.extend((*m as f32).to_le_bytes());
    }
    for entry in &entries {
        b.extend(entry.to_le_bytes());
    }
    for (value, info) in &records {
        b.extend(value.to_le_bytes());
        b.extend(info.to_le_bytes());
    }
    for v in &vectors.table {
        b.extend(v.to_le_bytes());
    }
    debug_assert_eq!(b.len(), total);
    let crc = crc32(&b[16..]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(b)
}

/// Which layout `emkern import --layout` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The general `.emk` layout (every model).
    General,
    /// The compact layout; a model outside its scope is an error that says why.
    Compact,
    /// The compact layout when the model fits it, else the general one.
    Auto,
}

impl Layout {
    /// The names the CLI accepts.
    pub const NAMES: [&'static str; 3] = ["general", "compact", "auto"];

    /// Parses one of [`Layout::NAMES`].
    pub fn parse(name: &str) -> Option<Layout> {
        match name {
            "general" => Some(Layout::General),
            "compact" => Some(Layout::Compact),
            "auto" => Some(Layout::Auto),
            _ => None,
        }
    }

    /// The bytes to write for a model whose general blob is `general` and whose ensemble is `ensemble` (`None`
    /// when the model was read from a blob: the compact blob is then written from the general one), and whether
    /// they are the compact layout. Errors say why the compact layout was not possible.
    pub fn bytes(
        self,
        ensemble: Option<&Ensemble>,
        general: &[u8],
    ) -> Result<(Vec<u8>, bool), String> {
        let compact = match (self, ensemble) {
            (Layout::General, _) => return Ok((general.to_vec(), false)),
            (_, None) => write_from_blob(general),
            (_, Some(e)) => write(e),
        };
        match (self, compact) {
            (_, Ok(bytes)) => Ok((bytes, true)),
            (Layout::Auto, Err(_)) => Ok((general.to_vec(), false)),
            (_, Err(why)) => Err(format!("the model does not fit the compact layout: {why}")),
        }
    }
}

/// Writes the model of general blob `general` as a compact blob, or says why it does not fit (the general
/// blob's thresholds are f32 already, so both blobs take the same decisions).
pub fn write_from_blob(general: &[u8]) -> Result<Vec<u8>, CompactRefusal> {
    write(&ensemble_of_blob(general)?)
}

/// The ensemble of a general blob, for the compact writer (categorical splits and linear leaves, which the
/// compact layout refuses anyway, are named rather than translated).
fn ensemble_of_blob(general: &[u8]) -> Result<Ensemble, CompactRefusal> {
    use super::codegen::model::{Child, Model, Test as BlobTest};
    use emkern::forest::{Aggregate as BlobAggregate, Forest};

    let forest = Forest::new(general).map_err(|e| CompactRefusal::Invalid(e.to_string()))?;
    if forest.aggregate() == BlobAggregate::WeightedMedian {
        return Err(CompactRefusal::WeightedMedian);
    }
    let m = Model::from_blob(general).map_err(|e| CompactRefusal::Invalid(e.to_string()))?;
    let mut trees = Vec::with_capacity(m.trees.len());
    for (t, tree) in m.trees.iter().enumerate() {
        // IR nodes: the blob's splits first, then its leaves.
        let splits = tree.nodes.len();
        let at = |c: Child| match c {
            Child::Node(i) => i,
            Child::Leaf(l) => splits + l,
        };
        let mut nodes = Vec::with_capacity(splits + tree.leaves.len());
        for (i, n) in tree.nodes.iter().enumerate() {
            let (threshold, missing) = match n.test {
                BlobTest::Numeric { threshold, missing } => (threshold, missing),
                BlobTest::Categorical { .. } => {
                    return Err(CompactRefusal::Categorical { tree: t, node: i });
                }
            };
            nodes.push(Node::Split(crate::ir::Split {
                feature: n.feature as u32,
                test: Test::Numeric(threshold as f64),
                default_left: n.default_left,
                missing,
                left: at(n.left),
                right: at(n.right),
            }));
        }
        for (l, leaf) in tree.leaves.iter().enumerate() {
            if leaf.linear.is_some() {
                return Err(CompactRefusal::LinearLeaf {
                    tree: t,
                    node: splits + l,
                });
            }
            nodes.push(Node::Leaf(leaf.values.clone()));
        }
        trees.push(crate::ir::Tree {
            nodes,
            output: tree.output.map(|k| k as u32),
            weight: tree.weight,
        });
    }
    Ok(Ensemble {
        n_features: m.n_features as u32,
        n_outputs: m.n_outputs as u32,
        trees,
        base_margin: m.base.clone(),
        compare: m.compare,
        aggregate: match m.aggregate {
            BlobAggregate::Mean => Aggregate::Mean { divisor: m.divisor },
            _ => Aggregate::Sum,
        },
        transform: m.transform,
        precision: if m.wide {
            Precision::F64
        } else {
            Precision::F32
        },
        feature_names: None,
        source: String::new(),
        input_f64: false,
    })
}
