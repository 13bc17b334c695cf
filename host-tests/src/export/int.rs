//! The integer writer: lays out an [`Ensemble`] as `emkern::forest::int` specifies (the reader's spec), or says
//! why the model does not fit that layout (it then fits the general one, [`super::blob`]).
//!
//! What the writer decides: per feature, the sorted distinct keys of its f32 thresholds exactly as the general writer
//! rounds them (so both layouts take the same decisions on every f32 input) and its one missing mode; the pre-order of
//! each tree with the default child next (unreachable nodes are dropped), each split's bin threshold (on the bin or on
//! its mirror, by the default direction) and the narrowest field widths; the leaves `weight · leaf / divisor` (f64) and
//! the base margins rounded to nearest at the largest scale whose worst-case column sum stays below 2^30; the CRC-32.
//! A model with vector leaves (a scikit-learn random-forest classifier's class probabilities, XGBoost multi-output
//! trees) or softmax is written as version 2: every leaf of every tree becomes a row of the leaf table (a scalar
//! tree's leaf a row with its value in its column and zeros elsewhere), distinct rows once; other models as
//! version 1, as before.

use std::collections::{BTreeMap, BTreeSet};

use emkern::forest::int::{self as layout};
use emkern::forest::{Compare, MissingMode, Transform, crc32};

use super::blob::{f32_round_down, f32_round_up};
use crate::ir::{Aggregate, Ensemble, Node, Test};

/// The names `emkern import --layout` accepts: the compact writer's and `int`.
pub const LAYOUT_NAMES: [&str; 4] = ["general", "compact", "auto", "int"];

/// Why an ensemble cannot be written as an integer blob. Every variant but [`IntRefusal::Invalid`] names a
/// feature of the model that only the general layout holds.
#[derive(Debug, Clone, PartialEq)]
pub enum IntRefusal {
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
    /// A feature whose splits use different missing-value modes (the mode is per feature in this layout).
    MixedMissingModes {
        /// The feature (row index).
        feature: u32,
    },
    /// The weighted median (AdaBoost.R2) aggregate.
    WeightedMedian,
    /// A transform outside identity, sigmoid, softmax and argmax.
    Transform(Transform),
    /// More margin columns than the layout holds.
    TooManyOutputs(u32),
    /// More features than 16-bit row indices reach.
    TooManyFeatures(u32),
    /// A feature with more distinct thresholds than 15-bit bins reach.
    TooManyThresholds {
        /// The feature (row index).
        feature: u32,
        /// Its distinct thresholds.
        count: usize,
    },
    /// A subtree too large for a split's far offset (the bits the threshold and bin index fields leave).
    SubtreeTooLarge {
        /// The tree.
        tree: usize,
        /// The node index in the tree.
        node: usize,
        /// The offset that does not fit (in words).
        far: usize,
        /// The far offset's width.
        bits: u32,
    },
    /// More words than 24-bit tree starts reach.
    TooManyWords(usize),
    /// Leaves and base margins so large that no scale down to `2^-MIN_SCALE` fits their sum in 30 bits.
    ValuesTooLarge(f64),
    /// The ensemble is inconsistent (message says how and where).
    Invalid(String),
}

impl std::fmt::Display for IntRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let general = "; the general layout holds it";
        match self {
            IntRefusal::LinearLeaf { tree, node } => {
                write!(f, "tree {tree}, node {node}: a linear leaf{general}")
            }
            IntRefusal::Categorical { tree, node } => {
                write!(f, "tree {tree}, node {node}: a categorical split{general}")
            }
            IntRefusal::MixedMissingModes { feature } => write!(
                f,
                "feature {feature}: its splits use different missing-value modes (the integer layout has one \
                 per feature){general}"
            ),
            IntRefusal::WeightedMedian => write!(f, "the weighted-median aggregate{general}"),
            IntRefusal::Transform(t) => write!(
                f,
                "the {t:?} transform (the integer layout has identity, sigmoid, softmax and argmax){general}"
            ),
            IntRefusal::TooManyOutputs(n) => write!(
                f,
                "{n} output columns, the integer layout holds 1 to {}{general}",
                layout::MAX_OUTPUTS
            ),
            IntRefusal::TooManyFeatures(n) => write!(
                f,
                "{n} features, the integer layout reads at most {}{general}",
                layout::MAX_FEATURES
            ),
            IntRefusal::TooManyThresholds { feature, count } => write!(
                f,
                "feature {feature} has {count} distinct thresholds, the integer layout at most {}{general}",
                layout::MAX_KEYS_PER_FEATURE
            ),
            IntRefusal::SubtreeTooLarge {
                tree,
                node,
                far,
                bits,
            } => write!(
                f,
                "tree {tree}, node {node}: its first subtree has {} words, this model's {bits}-bit far offset \
                 reaches {} (the threshold and feature fields take the rest of a node's word){general}",
                far - 1,
                (1usize << bits) - 2
            ),
            IntRefusal::TooManyWords(n) => write!(
                f,
                "{n} words of nodes and leaves, the integer layout holds fewer than {}{general}",
                layout::MAX_WORDS
            ),
            IntRefusal::ValuesTooLarge(b) => write!(
                f,
                "leaves and base margins up to a column sum of {b:e} do not fit 30-bit fixed point at any \
                 scale down to 2^{}{general}",
                layout::MIN_SCALE
            ),
            IntRefusal::Invalid(m) => write!(f, "invalid model: {m}"),
        }
    }
}

impl std::error::Error for IntRefusal {}

/// The key stored for threshold `t` under `compare` (the layout's *Bins*).
fn threshold_key(t: f64, compare: Compare) -> i32 {
    match compare {
        Compare::Less => layout::key(f32_round_up(t)),
        Compare::LessEqual => layout::key(f32_round_down(t)) + 1,
    }
}

fn missing_code(m: MissingMode) -> u8 {
    match m {
        MissingMode::Nan => layout::MISSING_NAN,
        MissingMode::NanAsZero => layout::MISSING_NAN_AS_ZERO,
        MissingMode::ZeroOrNan => layout::MISSING_ZERO_OR_NAN,
    }
}

/// Checks the model-wide properties; returns the mean's divisor (1 for a sum).
fn check_model(e: &Ensemble) -> Result<f64, IntRefusal> {
    let divisor = match &e.aggregate {
        Aggregate::WeightedMedian { .. } => return Err(IntRefusal::WeightedMedian),
        Aggregate::Mean { divisor } => {
            if !(divisor.is_finite() && *divisor > 0.0) {
                return Err(IntRefusal::Invalid(format!("mean divisor {divisor}")));
            }
            *divisor
        }
        Aggregate::Sum => 1.0,
    };
    if !matches!(
        e.transform,
        Transform::Identity | Transform::Sigmoid | Transform::Softmax | Transform::ArgMax
    ) {
        return Err(IntRefusal::Transform(e.transform));
    }
    super::check_shape(e, layout::MAX_OUTPUTS, layout::MAX_FEATURES).map_err(|s| match s {
        super::ShapeLimit::Outputs(n) => IntRefusal::TooManyOutputs(n),
        super::ShapeLimit::Features(n) => IntRefusal::TooManyFeatures(n),
        super::ShapeLimit::Invalid(why) => IntRefusal::Invalid(why),
    })?;
    Ok(divisor)
}

/// What the first pass learns: per feature its keys and mode, per tree its column and effective leaves.
struct Scan {
    /// Feature → (sorted distinct keys, missing mode).
    features: BTreeMap<u32, (BTreeSet<i32>, MissingMode)>,
    /// Per tree: its column (`None` for vector leaves) and the largest |effective leaf|.
    trees: Vec<(Option<u32>, f64)>,
}

/// Checks every node and collects the thresholds and modes.
fn scan(e: &Ensemble, divisor: f64) -> Result<Scan, IntRefusal> {
    let mut features: BTreeMap<u32, (BTreeSet<i32>, MissingMode)> = BTreeMap::new();
    let mut trees = Vec::with_capacity(e.trees.len());
    for (t, tree) in e.trees.iter().enumerate() {
        let column = match tree.output {
            None => None,
            Some(k) if k < e.n_outputs => Some(k),
            Some(k) => {
                return Err(IntRefusal::Invalid(format!(
                    "tree {t}: output {k} with {} outputs",
                    e.n_outputs
                )));
            }
        };
        if tree.nodes.is_empty() {
            return Err(IntRefusal::Invalid(format!("tree {t} has no nodes")));
        }
        let n = tree.nodes.len();
        let mut seen = vec![false; n];
        seen[0] = true;
        let mut largest = 0.0f64;
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            match &tree.nodes[i] {
                Node::Leaf(v) => {
                    let want = if column.is_some() {
                        1
                    } else {
                        e.n_outputs as usize
                    };
                    if v.len() != want {
                        return Err(IntRefusal::Invalid(format!(
                            "tree {t}, node {i}: {} leaf values, {want} expected",
                            v.len()
                        )));
                    }
                    for v in v {
                        let w = f64::from(tree.weight) * v / divisor;
                        if !w.is_finite() {
                            return Err(IntRefusal::Invalid(format!(
                                "tree {t}, node {i}: leaf value is not finite"
                            )));
                        }
                        largest = largest.max(w.abs());
                    }
                }
                Node::LinearLeaf(_) => return Err(IntRefusal::LinearLeaf { tree: t, node: i }),
                Node::Split(s) => {
                    let th = match s.test {
                        Test::Numeric(th) => th,
                        Test::Categorical { .. } => {
                            return Err(IntRefusal::Categorical { tree: t, node: i });
                        }
                    };
                    if th.is_nan() {
                        return Err(IntRefusal::Invalid(format!(
                            "tree {t}, node {i}: threshold is NaN"
                        )));
                    }
                    if s.feature >= e.n_features {
                        return Err(IntRefusal::Invalid(format!(
                            "tree {t}, node {i}: feature {} ≥ n_features {}",
                            s.feature, e.n_features
                        )));
                    }
                    for child in [s.left, s.right] {
                        if child >= n || seen[child] {
                            return Err(IntRefusal::Invalid(format!(
                                "tree {t}, node {i}: child {child} is out of range or shared"
                            )));
                        }
                        seen[child] = true;
                        stack.push(child);
                    }
                    let entry = features
                        .entry(s.feature)
                        .or_insert_with(|| (BTreeSet::new(), s.missing));
                    if entry.1 != s.missing {
                        return Err(IntRefusal::MixedMissingModes { feature: s.feature });
                    }
                    entry.0.insert(threshold_key(th, e.compare));
                    if entry.0.len() > layout::MAX_KEYS_PER_FEATURE {
                        return Err(IntRefusal::TooManyThresholds {
                            feature: s.feature,
                            count: entry.0.len(),
                        });
                    }
                }
            }
        }
        trees.push((column, largest));
    }
    Ok(Scan { features, trees })
}

/// `v · 2^s` rounded to nearest (ties away from zero).
fn to_fixed(v: f64, s: i32) -> i64 {
    (v * 2f64.powi(s)).round() as i64
}

/// The largest scale at which every column's `|base| + Σ max |leaf|`, after rounding, is below 2^30 (with a
/// leaf table: `|base| + T · max |row value|` in the column, the reader's check).
fn choose_scale(e: &Ensemble, scan: &Scan, rows: Option<&[Vec<f64>]>) -> Result<i32, IntRefusal> {
    let n = e.n_outputs as usize;
    let mut worst_real = 0.0f64;
    for s in (layout::MIN_SCALE..=layout::MAX_SCALE).rev() {
        if let Some(rows) = rows {
            let trees = scan.trees.len() as i64;
            let mut fits = true;
            worst_real = 0.0;
            for k in 0..n {
                let top = rows.iter().map(|r| r[k].abs()).fold(0.0, f64::max);
                let fixed = rows
                    .iter()
                    .map(|r| to_fixed(r[k], s).abs())
                    .max()
                    .unwrap_or(0);
                let sum = to_fixed(e.base_margin[k], s)
                    .abs()
                    .saturating_add(fixed.saturating_mul(trees));
                worst_real = worst_real.max(e.base_margin[k].abs() + trees as f64 * top);
                fits &= sum < 1 << 30;
            }
            if fits {
                return Ok(s);
            }
            continue;
        }
        let mut sums: Vec<i64> = e
            .base_margin
            .iter()
            .map(|b| to_fixed(*b, s).abs())
            .collect();
        let mut real: Vec<f64> = e.base_margin.iter().map(|b| b.abs()).collect();
        for (column, largest) in &scan.trees {
            let c = column.unwrap_or(0) as usize;
            sums[c] = sums[c].saturating_add(to_fixed(*largest, s).abs());
            real[c] += largest;
        }
        worst_real = real.iter().copied().fold(0.0, f64::max);
        if sums.iter().take(n).all(|v| *v < 1 << 30) {
            return Ok(s);
        }
    }
    Err(IntRefusal::ValuesTooLarge(worst_real))
}

/// Writes `e` as an integer blob, or says why it does not fit the integer layout. Models computing in f64 are
/// accepted: the split decisions on f32 rows are the same, and the fixed-point margin's bound holds against
/// the exact sum.
pub fn write(e: &Ensemble) -> Result<Vec<u8>, IntRefusal> {
    let divisor = check_model(e)?;
    let scan = scan(e, divisor)?;
    if scan.features.len() > layout::MAX_USED {
        return Err(IntRefusal::TooManyFeatures(scan.features.len() as u32));
    }
    // A leaf table when a tree has vector leaves or the transform is softmax (version 2): every leaf's
    // effective values as a row, scalar leaves with zeros in the other columns.
    let n_out = e.n_outputs as usize;
    let vector = scan.trees.iter().any(|(c, _)| c.is_none());
    let leaf_row = |tree: &crate::ir::Tree, v: &[f64]| -> Vec<f64> {
        let w = |x: f64| f64::from(tree.weight) * x / divisor;
        match tree.output {
            None => v.iter().map(|x| w(*x)).collect(),
            Some(c) => {
                let mut r = vec![0.0; n_out];
                r[c as usize] = w(v[0]);
                r
            }
        }
    };
    let real_rows: Option<Vec<Vec<f64>>> = vector.then(|| {
        e.trees
            .iter()
            .flat_map(|tree| {
                tree.nodes.iter().filter_map(move |n| match n {
                    Node::Leaf(v) => Some(leaf_row(tree, v)),
                    _ => None,
                })
            })
            .collect()
    });
    let scale = choose_scale(e, &scan, real_rows.as_deref())?;
    let version = if vector || e.transform == Transform::Softmax {
        layout::VERSION
    } else {
        layout::VERSION_1
    };
    // The leaf table: distinct fixed-point rows, in the order the leaves first name them.
    let mut table: Vec<Vec<i32>> = Vec::new();
    let mut table_index: std::collections::HashMap<Vec<i32>, u32> =
        std::collections::HashMap::new();
    // Used features in row order; each one's keys, sorted.
    let used: Vec<(u32, Vec<i32>, MissingMode)> = scan
        .features
        .iter()
        .map(|(f, (keys, mode))| (*f, keys.iter().copied().collect(), *mode))
        .collect();
    let index: BTreeMap<u32, usize> = used
        .iter()
        .enumerate()
        .map(|(u, (f, _, _))| (*f, u))
        .collect();

    // Records: a leaf's word, or a split's (threshold, bin index, far offset) until the field widths are known.
    enum Rec {
        Leaf(u32),
        Split { t: u32, f: u32, far: usize },
    }
    let n_used = used.len() as u32;
    let mut recs: Vec<Rec> = Vec::new();
    // (tree, IR node) of each record, for the refusal that names it.
    let mut origin: Vec<(usize, usize)> = Vec::new();
    let mut entries: Vec<u32> = Vec::with_capacity(e.trees.len());
    for (t, tree) in e.trees.iter().enumerate() {
        let start = recs.len();
        // (IR node, and for a far child: its parent's record).
        let mut stack: Vec<(usize, Option<usize>)> = vec![(0, None)];
        while let Some((i, far_of)) = stack.pop() {
            let at = recs.len();
            if let Some(p) = far_of
                && let Rec::Split { far, .. } = &mut recs[p]
            {
                *far = at - p;
            }
            match &tree.nodes[i] {
                Node::Leaf(v) => {
                    let fixed = if vector {
                        let row: Vec<i32> = leaf_row(tree, v)
                            .iter()
                            .map(|x| to_fixed(*x, scale) as i32)
                            .collect();
                        *table_index.entry(row.clone()).or_insert_with(|| {
                            table.push(row);
                            (table.len() - 1) as u32
                        }) as i32
                    } else {
                        let w = f64::from(tree.weight) * v[0] / divisor;
                        to_fixed(w, scale) as i32
                    };
                    recs.push(Rec::Leaf(layout::leaf_word(fixed).ok_or_else(|| {
                        IntRefusal::Invalid(format!(
                            "tree {t}, node {i}: leaf does not fit 31 bits"
                        ))
                    })?));
                    origin.push((t, i));
                }
                Node::Split(s) => {
                    let Test::Numeric(th) = s.test else {
                        unreachable!("scan refused categorical splits")
                    };
                    let u = index[&s.feature] as u32;
                    let keys = &used[u as usize].1;
                    let key = threshold_key(th, e.compare);
                    let k = keys.binary_search(&key).expect("scan collected every key") as u32;
                    let m = keys.len() as u32;
                    // Default left: right (far) when the bin is at least k + 2; default right: left (far) when
                    // the mirror is at least m + 1 − k.
                    let (threshold, f) = if s.default_left {
                        (k + 2, u)
                    } else {
                        (m + 1 - k, n_used + u)
                    };
                    recs.push(Rec::Split {
                        t: threshold,
                        f,
                        far: 0,
                    });
                    origin.push((t, i));
                    let (next, far) = if s.default_left {
                        (s.left, s.right)
                    } else {
                        (s.right, s.left)
                    };
                    stack.push((far, Some(at)));
                    stack.push((next, None));
                }
                Node::LinearLeaf(_) => unreachable!("scan refused linear leaves"),
            }
        }
        if recs.len() >= layout::MAX_WORDS {
            return Err(IntRefusal::TooManyWords(recs.len()));
        }
        let column = if vector {
            0
        } else {
            scan.trees[t].0.unwrap_or(0)
        };
        entries.push(start as u32 | (column << layout::COLUMN_SHIFT));
    }
    // Field widths: the fewest bits for the largest threshold and bin index (at least 1 each).
    let width = |v: u32| (32 - v.leading_zeros()).max(1);
    let t_bits = width(
        recs.iter()
            .filter_map(|r| match r {
                Rec::Split { t, .. } => Some(*t),
                Rec::Leaf(_) => None,
            })
            .max()
            .unwrap_or(0),
    );
    let f_bits = width((2 * n_used).saturating_sub(1));
    let mut words: Vec<u32> = Vec::with_capacity(recs.len());
    for (r, (t, node)) in recs.iter().zip(&origin) {
        words.push(match r {
            Rec::Leaf(w) => *w,
            Rec::Split { t: th, f, far } => layout::split_word(*th, *f, *far, t_bits, f_bits)
                .ok_or(IntRefusal::SubtreeTooLarge {
                    tree: *t,
                    node: *node,
                    far: *far,
                    bits: 31u32.saturating_sub(t_bits + f_bits),
                })?,
        });
    }

    let n_keys: usize = used.iter().map(|(_, k, _)| k.len()).sum();
    let header_len = if version == layout::VERSION_1 {
        layout::HEADER_LEN
    } else {
        layout::HEADER_LEN_2
    };
    let total = header_len
        + 4 * n_out
        + layout::FEATURE_ENTRY * used.len()
        + 4 * n_keys
        + 4 * entries.len()
        + 4 * words.len()
        + 4 * n_out * table.len();
    let total32 = u32::try_from(total).map_err(|_| IntRefusal::TooManyWords(words.len()))?;
    let mut b = Vec::with_capacity(total);
    b.extend(layout::MAGIC);
    b.extend(version.to_le_bytes());
    b.extend((header_len as u16).to_le_bytes());
    b.extend(total32.to_le_bytes());
    b.extend([0u8; 4]); // checksum, below
    b.extend(e.n_features.to_le_bytes());
    b.extend((entries.len() as u32).to_le_bytes());
    b.extend((words.len() as u32).to_le_bytes());
    b.extend((n_keys as u32).to_le_bytes());
    b.extend((used.len() as u16).to_le_bytes());
    b.extend([
        e.n_outputs as u8,
        e.transform as u8,
        scale as i8 as u8,
        t_bits as u8,
        f_bits as u8,
        0,
    ]);
    if version != layout::VERSION_1 {
        b.extend((table.len() as u32).to_le_bytes());
    }
    for m in &e.base_margin {
        b.extend((to_fixed(*m, scale) as i32).to_le_bytes());
    }
    let mut end = 0u32;
    for (f, keys, mode) in &used {
        end += keys.len() as u32;
        b.extend((*f | (u32::from(missing_code(*mode)) << 16)).to_le_bytes());
        b.extend(end.to_le_bytes());
    }
    for (_, keys, _) in &used {
        for k in keys {
            b.extend(k.to_le_bytes());
        }
    }
    for entry in &entries {
        b.extend(entry.to_le_bytes());
    }
    for w in &words {
        b.extend(w.to_le_bytes());
    }
    for v in table.iter().flatten() {
        b.extend(v.to_le_bytes());
    }
    debug_assert_eq!(b.len(), total);
    let crc = crc32(&b[16..]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    Ok(b)
}

/// The margin error bound of an integer blob written from `e` at scale `scale`, for column `column`:
/// `(T + 1) · 2^-(scale+1)` with `T` the trees adding to the column, vector-leaf trees included (against the
/// exact sum of the writer's values; the conversion to f32 adds half an ulp of the result).
pub fn margin_bound(e: &Ensemble, scale: i32, column: u32) -> f64 {
    let trees = e
        .trees
        .iter()
        .filter(|t| t.output.is_none_or(|c| c == column))
        .count();
    (trees as f64 + 1.0) * 2f64.powi(-(scale + 1))
}
