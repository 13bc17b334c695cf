//! The `.emk` writer: lays out an [`Ensemble`] exactly as `emkern::forest::format` specifies (the reader's spec).
//!
//! What the writer decides: the narrowest feature and child index widths for this model; f32 thresholds that
//! reproduce the IR's f64 comparison exactly for every f32 input (`x < t` ⇔ `x < ⌈t⌉₃₂`, `x ≤ t` ⇔ `x ≤ ⌊t⌋₃₂`);
//! the canonical breadth-first numbering of each tree (unreachable nodes are dropped); de-duplicated category
//! sets; the CRC-32.

use std::collections::{HashMap, VecDeque};

use emkern::forest::format::{self, flags};
use emkern::forest::{Compare, crc32};

use crate::ir::{Aggregate, Ensemble, Node, Precision, Test, Tree};

/// Why an ensemble cannot be written as a blob.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportError {
    /// The ensemble is inconsistent (message says how and where).
    Invalid(String),
    /// A count does not fit the format's u32 fields.
    TooLarge(&'static str),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Invalid(m) => write!(f, "invalid model: {m}"),
            ExportError::TooLarge(what) => write!(f, "model too large for the blob format: {what}"),
        }
    }
}

impl std::error::Error for ExportError {}

/// The largest f32 that is ≤ `t` (for `x ≤ t` on f32 inputs).
pub fn f32_round_down(t: f64) -> f32 {
    let r = t as f32;
    if (r as f64) > t { next_down(r) } else { r }
}

/// The threshold `t′` with `x < t′ ⇔ x ≤ t` for every f32 `x` (`t` not NaN): XGBoost's comparison.
pub fn less_equal_as_less(t: f64) -> f64 {
    let d = f32_round_down(t);
    if d == f32::INFINITY {
        d as f64
    } else {
        d.next_up() as f64
    }
}

/// The smallest f32 that is ≥ `t` (for `x < t` on f32 inputs).
pub fn f32_round_up(t: f64) -> f32 {
    let r = t as f32;
    if (r as f64) < t { next_up(r) } else { r }
}

fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f32::from_bits(1);
    }
    let b = x.to_bits();
    f32::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

fn next_down(x: f32) -> f32 {
    -next_up(-x)
}

fn width_for(max_index: usize) -> u8 {
    if max_index <= u8::MAX as usize {
        1
    } else if max_index <= u16::MAX as usize {
        2
    } else {
        4
    }
}

/// A child reference after renumbering: (is a leaf, new index).
type ChildRef = (bool, usize);

/// A tree renumbered in breadth-first order: nodes as (original index, left ref, right ref), leaves as original
/// indices.
struct Bfs {
    nodes: Vec<(usize, ChildRef, ChildRef)>,
    leaves: Vec<usize>,
}

fn bfs(tree: &Tree, t: usize) -> Result<Bfs, ExportError> {
    let n = tree.nodes.len();
    if n == 0 {
        return Err(ExportError::Invalid(format!("tree {t} has no nodes")));
    }
    let mut out = Bfs {
        nodes: Vec::new(),
        leaves: Vec::new(),
    };
    if !matches!(tree.nodes[0], Node::Split(_)) {
        out.leaves.push(0);
        return Ok(out);
    }
    let mut seen = vec![false; n];
    let mut queue = VecDeque::from([0usize]);
    seen[0] = true;
    let mut next_node = 1;
    while let Some(i) = queue.pop_front() {
        let Node::Split(s) = &tree.nodes[i] else {
            unreachable!("only splits are queued")
        };
        let mut refs = [(false, 0usize); 2];
        for (slot, child) in [s.left, s.right].into_iter().enumerate() {
            if child >= n || seen[child] {
                return Err(ExportError::Invalid(format!(
                    "tree {t}, node {i}: child {child} is out of range or shared"
                )));
            }
            seen[child] = true;
            refs[slot] = match tree.nodes[child] {
                Node::Leaf(_) | Node::LinearLeaf(_) => {
                    out.leaves.push(child);
                    (true, out.leaves.len() - 1)
                }
                Node::Split(_) => {
                    queue.push_back(child);
                    next_node += 1;
                    (false, next_node - 1)
                }
            };
        }
        out.nodes.push((i, refs[0], refs[1]));
    }
    Ok(out)
}

/// A weighted median's constraints (the format's): one output, scalar constant leaves, at least one tree, and one
/// finite weight ≥ 0 per tree with a finite sum.
fn check_median(e: &Ensemble, weights: &[f64], vector: bool) -> Result<(), ExportError> {
    let invalid = |m: String| Err(ExportError::Invalid(m));
    if e.n_outputs != 1 || vector {
        return invalid(format!(
            "a weighted median combines scalar trees of one output, not {} outputs",
            e.n_outputs
        ));
    }
    if e.trees.is_empty() || weights.len() != e.trees.len() {
        return invalid(format!(
            "a weighted median needs one weight per tree and at least one tree: {} weights, {} trees",
            weights.len(),
            e.trees.len()
        ));
    }
    if let Some((t, w)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        return invalid(format!(
            "tree {t}: weighted-median weight {w} is negative or not finite"
        ));
    }
    if weights.iter().sum::<f64>() > f64::MAX / 2.0 {
        return invalid("the weighted-median weights sum to more than f64 holds".into());
    }
    let linear = e
        .trees
        .iter()
        .position(|t| t.nodes.iter().any(|n| matches!(n, Node::LinearLeaf(_))));
    if let Some(t) = linear {
        return invalid(format!(
            "tree {t}: a weighted median does not take linear leaves"
        ));
    }
    Ok(())
}

/// What a blob may carry besides the model (the format's version-2 metadata section).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobMetadata {
    /// Class labels by class index (empty: none stored).
    pub class_names: Vec<String>,
}

impl BlobMetadata {
    /// The metadata section's bytes (records as the format specifies), empty when there is nothing to store.
    fn encode(&self) -> Result<Vec<u8>, ExportError> {
        let mut out = Vec::new();
        if self.class_names.is_empty() {
            return Ok(out);
        }
        let too_large = || ExportError::TooLarge("class names");
        let mut payload = Vec::new();
        payload.extend(
            u32::try_from(self.class_names.len())
                .map_err(|_| too_large())?
                .to_le_bytes(),
        );
        for name in &self.class_names {
            payload.extend(
                u32::try_from(name.len())
                    .map_err(|_| too_large())?
                    .to_le_bytes(),
            );
            payload.extend(name.as_bytes());
        }
        out.extend(format::TAG_CLASS_NAMES.to_le_bytes());
        out.extend(
            u32::try_from(payload.len())
                .map_err(|_| too_large())?
                .to_le_bytes(),
        );
        out.extend(payload);
        Ok(out)
    }
}

impl BlobMetadata {
    /// Bytes a blob written with `self` takes when the model alone (as [`write()`] lays it out) takes
    /// `model_bytes`: the same without metadata, else the model padded to 8 bytes plus the metadata section.
    pub fn blob_bytes(&self, model_bytes: usize) -> Result<usize, ExportError> {
        let m = self.encode()?.len();
        Ok(if m == 0 {
            model_bytes
        } else {
            model_bytes.div_ceil(8) * 8 + m
        })
    }

    /// The largest model size (as [`write()`] lays it out) whose blob with `self` fits in `budget` bytes; `None`
    /// when the metadata alone does not leave room.
    pub fn model_budget(&self, budget: usize) -> Result<Option<usize>, ExportError> {
        let m = self.encode()?.len();
        Ok(if m == 0 {
            Some(budget)
        } else {
            // 8·⌈b/8⌉ + m ≤ budget ⇔ b ≤ 8·⌊(budget − m)/8⌋.
            budget.checked_sub(m).map(|r| r / 8 * 8)
        })
    }
}

/// Writes `e` as a version-1 blob (no metadata).
pub fn write(e: &Ensemble) -> Result<Vec<u8>, ExportError> {
    write_with_metadata(e, &BlobMetadata::default())
}

/// Writes `e` with `meta`: a version-2 blob whose metadata section holds `meta`, or a version-1 blob (readable by
/// older readers) when `meta` is empty; a weighted median is always a version-3 blob.
pub fn write_with_metadata(e: &Ensemble, meta: &BlobMetadata) -> Result<Vec<u8>, ExportError> {
    let metadata = meta.encode()?;
    let n_out = e.n_outputs as usize;
    if n_out == 0 || e.base_margin.len() != n_out {
        return Err(ExportError::Invalid(format!(
            "{} base margins for {} outputs",
            e.base_margin.len(),
            e.n_outputs
        )));
    }
    let wide = e.precision == Precision::F64;
    let vb = if wide { 8 } else { 4 };
    let shapes: Vec<Bfs> = e
        .trees
        .iter()
        .enumerate()
        .map(|(t, tree)| bfs(tree, t))
        .collect::<Result<_, _>>()?;
    let vector = e.trees.iter().any(|t| t.output.is_none());
    let leaf_width = if vector { n_out } else { 1 };
    for (t, tree) in e.trees.iter().enumerate() {
        match tree.output {
            Some(k) if vector || k as usize >= n_out => {
                return Err(ExportError::Invalid(format!(
                    "tree {t}: output {k} with {n_out} outputs (mixing scalar and vector leaves is not supported)"
                )));
            }
            _ => {}
        }
        for (i, node) in tree.nodes.iter().enumerate() {
            if let Node::LinearLeaf(l) = node {
                if leaf_width != 1 {
                    return Err(ExportError::Invalid(format!(
                        "tree {t}, leaf {i}: linear leaves need scalar leaves"
                    )));
                }
                let finite = l.value.is_finite()
                    && l.constant.is_finite()
                    && l.terms.iter().all(|(_, c)| c.is_finite());
                if !finite || l.terms.iter().any(|&(f, _)| f >= e.n_features) {
                    return Err(ExportError::Invalid(format!(
                        "tree {t}, leaf {i}: linear model has a non-finite number or a feature out of range"
                    )));
                }
            }
            if let Node::Leaf(v) = node {
                if v.len() != leaf_width {
                    return Err(ExportError::Invalid(format!(
                        "tree {t}, leaf {i}: {} values, expected {leaf_width}",
                        v.len()
                    )));
                }
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(ExportError::Invalid(format!(
                        "tree {t}, leaf {i}: value is not finite"
                    )));
                }
            }
        }
    }
    let median = match &e.aggregate {
        Aggregate::WeightedMedian { weights } => {
            check_median(e, weights, vector)?;
            Some(weights.as_slice())
        }
        _ => None,
    };
    let n_nodes: usize = shapes.iter().map(|s| s.nodes.len()).sum();
    let n_leaves: usize = shapes.iter().map(|s| s.leaves.len()).sum();
    let max_children = shapes
        .iter()
        .map(|s| s.nodes.len().max(s.leaves.len()))
        .max()
        .unwrap_or(1);
    let fb = width_for(e.n_features.saturating_sub(1) as usize) as usize;
    let cb = width_for(max_children.saturating_sub(1)) as usize;
    let node_size = format::node_size(fb, cb);

    // Category sets, de-duplicated.
    let mut cat_words: Vec<u32> = Vec::new();
    let mut cat_index: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut set_offset = |cats: &[u32]| -> Result<u32, ExportError> {
        let mut key = cats.to_vec();
        key.sort_unstable();
        key.dedup();
        if let Some(&o) = cat_index.get(&key) {
            return Ok(o);
        }
        let max = key.last().copied().unwrap_or(0);
        if max as f32 >= format::MAX_CATEGORY {
            return Err(ExportError::Invalid(format!(
                "category {max} is not below 2^24"
            )));
        }
        let n_words = if key.is_empty() {
            0
        } else {
            max as usize / 32 + 1
        };
        let off = cat_words.len() as u32;
        cat_words.push(n_words as u32);
        let start = cat_words.len();
        cat_words.resize(start + n_words, 0);
        for c in &key {
            cat_words[start + *c as usize / 32] |= 1 << (c % 32);
        }
        cat_index.insert(key, off);
        Ok(off)
    };

    let u32_of =
        |v: usize, what: &'static str| u32::try_from(v).map_err(|_| ExportError::TooLarge(what));
    let header = format::HEADER_LEN;
    let base_off = header;
    let trees_off = format::align8(base_off + n_out * vb).ok_or(ExportError::TooLarge("layout"))?;
    let weights_off = format::align8(trees_off + e.trees.len() * format::TREE_RECORD)
        .ok_or(ExportError::TooLarge("layout"))?;
    let n_weights = median.map_or(0, <[f64]>::len);
    let nodes_off = format::align8(weights_off + n_weights * format::MEDIAN_WEIGHT)
        .ok_or(ExportError::TooLarge("layout"))?;
    let leaves_off =
        format::align8(nodes_off + n_nodes * node_size).ok_or(ExportError::TooLarge("layout"))?;
    let cats_off = format::align8(leaves_off + n_leaves * leaf_width * vb)
        .ok_or(ExportError::TooLarge("layout"))?;

    let mut nodes = vec![0u8; n_nodes * node_size];
    let mut leaves = Vec::with_capacity(n_leaves * leaf_width * vb);
    let mut trees = Vec::with_capacity(e.trees.len() * format::TREE_RECORD);
    let mut leaf_models: Vec<u32> = Vec::with_capacity(n_leaves);
    let mut linear: Vec<u8> = Vec::new();
    let (mut node_at, mut leaf_at) = (0usize, 0usize);
    for (t, (tree, shape)) in e.trees.iter().zip(&shapes).enumerate() {
        trees.extend(u32_of(node_at, "nodes")?.to_le_bytes());
        trees.extend(u32_of(leaf_at, "leaves")?.to_le_bytes());
        trees.extend(tree.output.unwrap_or(format::ALL_OUTPUTS).to_le_bytes());
        trees.extend(tree.weight.to_le_bytes());
        for &(orig, left, right) in &shape.nodes {
            let Node::Split(s) = &tree.nodes[orig] else {
                unreachable!("bfs lists splits as nodes")
            };
            if s.feature >= e.n_features {
                return Err(ExportError::Invalid(format!(
                    "tree {t}, node {orig}: feature {} ≥ n_features {}",
                    s.feature, e.n_features
                )));
            }
            let mut fl = (s.missing as u8) << flags::MISSING_SHIFT;
            if s.default_left {
                fl |= flags::DEFAULT_LEFT;
            }
            if left.0 {
                fl |= flags::LEFT_LEAF;
            }
            if right.0 {
                fl |= flags::RIGHT_LEAF;
            }
            let threshold_bits = match &s.test {
                Test::Numeric(th) => {
                    if th.is_nan() {
                        return Err(ExportError::Invalid(format!(
                            "tree {t}, node {orig}: threshold is NaN"
                        )));
                    }
                    match e.compare {
                        Compare::Less => f32_round_up(*th),
                        Compare::LessEqual => f32_round_down(*th),
                    }
                    .to_bits()
                }
                Test::Categorical {
                    categories,
                    in_set_left,
                    truncate_first,
                } => {
                    fl |= flags::CATEGORICAL;
                    if *in_set_left {
                        fl |= flags::IN_SET_LEFT;
                    }
                    if *truncate_first {
                        fl |= flags::TRUNCATE_FIRST;
                    }
                    set_offset(categories)?
                }
            };
            let rec = &mut nodes[node_at * node_size..(node_at + 1) * node_size];
            rec[..4].copy_from_slice(&threshold_bits.to_le_bytes());
            rec[4..4 + fb].copy_from_slice(&s.feature.to_le_bytes()[..fb]);
            rec[4 + fb] = fl;
            rec[5 + fb..5 + fb + cb].copy_from_slice(&(left.1 as u32).to_le_bytes()[..cb]);
            rec[5 + fb + cb..5 + fb + 2 * cb]
                .copy_from_slice(&(right.1 as u32).to_le_bytes()[..cb]);
            node_at += 1;
        }
        for &orig in &shape.leaves {
            let values: &[f64] = match &tree.nodes[orig] {
                Node::Leaf(v) => v,
                Node::LinearLeaf(l) => {
                    leaf_models.push(linear.len() as u32);
                    linear.extend((l.terms.len() as u32).to_le_bytes());
                    linear.extend([0u8; 4]);
                    linear.extend(l.constant.to_le_bytes());
                    for (f, c) in &l.terms {
                        linear.extend(f.to_le_bytes());
                        linear.extend([0u8; 4]);
                        linear.extend(c.to_le_bytes());
                    }
                    std::slice::from_ref(&l.value)
                }
                Node::Split(_) => unreachable!("bfs lists splits as nodes"),
            };
            if !matches!(tree.nodes[orig], Node::LinearLeaf(_)) {
                leaf_models.push(format::NO_LINEAR);
            }
            for x in values {
                if wide {
                    leaves.extend(x.to_le_bytes());
                } else {
                    leaves.extend((*x as f32).to_le_bytes());
                }
            }
            leaf_at += 1;
        }
    }

    let cats_end = cats_off + cat_words.len() * 4;
    let (leaf_models_off, linear_off, total) = if linear.is_empty() {
        (cats_end, cats_end, cats_end)
    } else {
        let lm = format::align8(cats_end).ok_or(ExportError::TooLarge("layout"))?;
        let lo = format::align8(lm + 4 * n_leaves).ok_or(ExportError::TooLarge("layout"))?;
        (lm, lo, lo + linear.len())
    };
    let (meta_off, total) = if metadata.is_empty() {
        (total, total)
    } else {
        let at = format::align8(total).ok_or(ExportError::TooLarge("layout"))?;
        (at, at + metadata.len())
    };
    let mut b = vec![0u8; total];
    b[meta_off..].copy_from_slice(&metadata);
    if !linear.is_empty() {
        for (k, m) in leaf_models.iter().enumerate() {
            b[leaf_models_off + 4 * k..leaf_models_off + 4 * k + 4]
                .copy_from_slice(&m.to_le_bytes());
        }
        b[linear_off..linear_off + linear.len()].copy_from_slice(&linear);
        b[52..56].copy_from_slice(&u32_of(linear.len(), "linear table")?.to_le_bytes());
    }
    b[0..4].copy_from_slice(&format::MAGIC);
    let version = if median.is_some() {
        format::VERSION
    } else if metadata.is_empty() {
        format::VERSION_1
    } else {
        format::VERSION_2
    };
    b[4..6].copy_from_slice(&version.to_le_bytes());
    b[6..8].copy_from_slice(&(header as u16).to_le_bytes());
    b[8..12].copy_from_slice(&u32_of(total, "blob bytes")?.to_le_bytes());
    for (off, v, what) in [
        (16, e.n_features as usize, "features"),
        (20, n_out, "outputs"),
        (24, e.trees.len(), "trees"),
        (28, n_nodes, "nodes"),
        (32, n_leaves, "leaves"),
        (36, leaf_width, "leaf width"),
        (40, cat_words.len(), "category words"),
    ] {
        b[off..off + 4].copy_from_slice(&u32_of(v, what)?.to_le_bytes());
    }
    b[44] = fb as u8;
    b[45] = cb as u8;
    b[46] = e.compare as u8;
    let (divisor, aggregate) = match e.aggregate {
        Aggregate::Sum => (1.0, format::Aggregate::Sum),
        Aggregate::Mean { divisor } => (divisor, format::Aggregate::Mean),
        Aggregate::WeightedMedian { .. } => (1.0, format::Aggregate::WeightedMedian),
    };
    if !(divisor.is_finite() && divisor > 0.0) {
        return Err(ExportError::Invalid(format!("mean divisor {divisor}")));
    }
    b[47] = aggregate as u8;
    b[48] = e.transform as u8;
    b[49] = vb as u8;
    b[56..64].copy_from_slice(&divisor.to_le_bytes());
    for (k, m) in e.base_margin.iter().enumerate() {
        if !m.is_finite() {
            return Err(ExportError::Invalid(format!(
                "base margin {k} is not finite"
            )));
        }
        let at = base_off + k * vb;
        if wide {
            b[at..at + 8].copy_from_slice(&m.to_le_bytes());
        } else {
            b[at..at + 4].copy_from_slice(&(*m as f32).to_le_bytes());
        }
    }
    b[trees_off..trees_off + trees.len()].copy_from_slice(&trees);
    for (t, w) in median.unwrap_or_default().iter().enumerate() {
        let at = weights_off + t * format::MEDIAN_WEIGHT;
        b[at..at + format::MEDIAN_WEIGHT].copy_from_slice(&w.to_le_bytes());
    }
    b[nodes_off..nodes_off + nodes.len()].copy_from_slice(&nodes);
    b[leaves_off..leaves_off + leaves.len()].copy_from_slice(&leaves);
    for (k, w) in cat_words.iter().enumerate() {
        b[cats_off + 4 * k..cats_off + 4 * k + 4].copy_from_slice(&w.to_le_bytes());
    }
    let crc = crc32(&b[16..]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(b)
}
