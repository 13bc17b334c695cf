//! The `.emk` forest blob, versions 1 to 3: the one specification that the host's writer
//! (`emkern_host::export::blob`) and this crate's reader ([`Forest`](super::Forest)) both follow.
//!
//! All integers and floats are little-endian. The blob may start at any address (fields are read byte-wise, so
//! `include_bytes!` in flash needs no alignment). Layout:
//!
//! ```text
//! offset size field
//!      0    4 magic            b"EMKF"
//!      4    2 version          1; 2 when a metadata section follows the last section; 3 for a weighted median
//!                              (aggregate 2, with its tree-weights section; metadata as in version 2)
//!      6    2 header_len       64
//!      8    4 total_len        bytes in the whole blob
//!     12    4 checksum         CRC-32 (IEEE 802.3, reflected, init/xorout 0xFFFFFFFF) of bytes 16..total_len
//!     16    4 n_features       row length the model reads (every feature index is below it)
//!     20    4 n_outputs        columns of the raw margin (classes, targets or 1)
//!     24    4 n_trees
//!     28    4 n_nodes          internal (split) nodes over all trees
//!     32    4 n_leaves         leaves over all trees
//!     36    4 leaf_width       values per leaf: 1, or n_outputs for vector leaves
//!     40    4 n_cat_words      u32 words in the category table
//!     44    1 feature_bytes    width of a node's feature index: 1, 2 or 4
//!     45    1 child_bytes      width of a node's child indices: 1, 2 or 4
//!     46    1 compare          0: go left when x < t (XGBoost); 1: when x <= t (LightGBM, scikit-learn)
//!     47    1 aggregate        0: sum; 1: sum divided by `divisor` (random-forest mean); 2: weighted median
//!                              of the tree outputs (AdaBoost.R2, version 3 only)
//!     48    1 transform        output transform, see `Transform` (0 identity, 1 sigmoid, 2 softmax, 3 argmax of
//!                              the margins, 4 exp, 5 hinge step `x > 0`, 6 the margins sorted ascending)
//!     49    1 value_bytes      4: leaves, margins and sums are f32; 8: f64
//!     50    2 reserved         zero
//!     52    4 linear_bytes     bytes in the linear-leaf table (0: no linear leaves)
//!     56    8 divisor          f64, > 0 (1 for sums)
//!     64      sections, each starting at the next multiple of 8 from the blob start, zero padding between:
//!             base margins     n_outputs values (value_bytes each), margin space (added before any tree)
//!             trees            n_trees records of 16 bytes
//!             tree weights     aggregate 2 only: n_trees f64 values, the weighted median's weights
//!             nodes            n_nodes records of node_size = 4 + feature_bytes + 1 + 2·child_bytes bytes
//!             leaves           n_leaves × leaf_width values
//!             categories       n_cat_words u32 words
//!             leaf models      only when linear_bytes > 0: n_leaves u32 byte offsets into the linear table, or
//!                              u32::MAX for a constant leaf
//!             linear table     linear_bytes bytes of linear-leaf entries
//!             metadata         versions 2 and 3, optional: from the next multiple of 8 after the last section
//!                              (zero padding before it) to total_len
//!     total_len = end of the last section (version 1), or of the metadata section when there is one
//! ```
//!
//! **Metadata** (versions 2 and 3): records back to back, each `tag: u32`, `len: u32`, then `len` bytes of payload; the
//! records fill the section exactly. A reader skips a record whose tag it does not know (later additions), so
//! metadata never changes what a model predicts. Known tags (each at most once):
//!
//! ```text
//! tag 1  class names   count: u32, then count entries of `len: u32` and `len` bytes of UTF-8 text; the entries
//!                      fill the payload exactly. Name i is the label of class i (the model's class order).
//! ```
//!
//! A writer emits version 1 when it has no metadata, so models without it stay readable by version-1 readers;
//! a version-2 reader reads both. A writer emits version 3 only for a weighted median (aggregate 2), which older
//! readers reject by its version; a version-3 reader reads all three.
//!
//! **Weighted median** (aggregate 2; scikit-learn's `AdaBoostRegressor.predict`): only for `n_outputs = 1`,
//! scalar leaves without linear models and at least one tree. Tree `t`'s output is `p_t = weight · leaf` in the
//! value precision (its record's `weight`, 1 from scikit-learn) and its median weight `w_t` is entry `t` of the tree-weights section,
//! an f64 that is finite and ≥ 0 (scikit-learn's `estimator_weights_`); the weights' sum must be finite. The
//! margin is `base margin + p_m`, where `m` is chosen as scikit-learn does, with its arithmetic:
//!
//! ```text
//! order the trees by (p_t, t) ascending          (a stable sort of the outputs)
//! c_k   = f64 running sum of w in that order     (c_k after the k-th tree; numpy's cumsum)
//! total = c_T
//! m     = the tree at the first position k with c_k >= 0.5 · total
//! ```
//!
//! scikit-learn sorts with `np.argsort`, whose order among equal outputs is not specified (and differs between
//! NumPy builds and CPUs); since `c_k` only grows, the first position reaching half the total lies in the group of
//! equal outputs whose cumulative weight first reaches it, so every order of ties selects the same *value*, except
//! that the order of a tie group's weights can change the last bit of the running sums, which matters only when a
//! sum lands within rounding of exactly half the total. The stable order (`np.argsort(kind="stable")`) makes the
//! result well defined: without ties it is scikit-learn's bit for bit. A tree of weight 0 never decides unless all
//! weights are 0; then `m` is the smallest output (scikit-learn keeps a lone first tree whose error was ≥ ½ with
//! weight 0, and predicts with it).
//!
//! The predictor needs no allocation and no scratch from the caller: it walks the trees in passes, each keeping
//! the next [`MEDIAN_CHUNK`] (128) outputs of the sorted order in a stack buffer (`MEDIAN_CHUNK` × 12 bytes =
//! 1.5 KiB, used only while a weighted median predicts). Models with at most `MEDIAN_CHUNK` trees take one pass
//! (one walk of every tree, as a sum does); larger ones take up to `2·⌈T / MEDIAN_CHUNK⌉` passes (one enumeration
//! of the sorted order for the total, one up to the median), which `Forest::worst_case_visits` includes. There is
//! no limit on the number of trees.
//!
//! Why this design: sorting needs the outputs somewhere. A caller-provided scratch slice would change `predict`
//! for every model; a bound on the trees with a buffer of that size refuses larger models (scikit-learn's own
//! AdaBoost.R2 example uses 300 trees) or costs every prediction its stack; re-walking the trees without a buffer
//! costs `O(T²)` walks. Chunks of a bounded buffer are each of these where it is cheap. Measured on the host
//! (x86-64, one core, `predict` per row, best of 200 passes over the 133 diabetes test rows; AdaBoost.R2 models
//! trained on the diabetes split; the same trees averaged as a random forest for comparison), ns per row:
//!
//! ```text
//! trees × depth          50 × 3   120 × 3   50 × 6   300 × 6
//! same trees, mean          589     1 387    1 032     6 481
//! chunk 1 (no buffer)    57 214   301 626   99 427 3 611 510   2T passes of T walks: O(T²)
//! chunk 16 (192 B)        8 525    43 765   16 392   390 131
//! chunk 64 (768 B)        1 937    15 308    3 314   158 429
//! chunk 128 (1.5 KiB)     2 023     6 285    3 484   107 031   this format's MEDIAN_CHUNK
//! chunk 512 (6 KiB)       2 088     6 342    3 590    29 830   one pass for every model measured
//! ```
//!
//! One pass costs about 3× a mean of the same trees (one walk at a time with the node widths read at run time,
//! and the insertion sort); each further pass costs a walk of every tree and a bounded insertion again. On the
//! boards (instructions per row counted by the `boards/selftest` firmware under QEMU, 50 trees of depth 3 trained
//! on the breast-cancer rows, f64 values): Cortex-M4F 38 645 for the median, 19 459 for the mean of the same
//! trees (f64 arithmetic is a library call there); Cortex-M55 21 329 and 7 914.
//!
//! The predictor is compiled only with the crate's `weighted-median` feature (on by default; about 2.5 KB of
//! Cortex-M4 flash). Without it a reader rejects aggregate 2 with [`BlobError::BadField`](super::BlobError), so
//! firmware without such models carries none of this code.
//!
//! **Tree record**: `node_start: u32` (index of the tree's first node in the node section), `leaf_start: u32`
//! (index of its first leaf), `output: u32` (the margin column its scalar leaves add to, or `u32::MAX` for a tree
//! of vector leaves that add to every column), `weight: f32` (multiplies the tree's leaves: DART, boosting
//! weights; 1 otherwise). Starts are non-decreasing; a tree owns the nodes and leaves up to the next tree's start
//! (or the section end). A tree with no nodes is a single leaf.
//!
//! **Node record**: `threshold: f32` (for a categorical split: the word offset of its category set in the
//! category table), `feature: u8/u16/u32`, `flags: u8`, `left`, `right` (tree-local indices, `child_bytes` wide:
//! a node index, or a leaf index when the child is a leaf). Flags:
//!
//! ```text
//! bit 0     default_left      direction of a missing value
//! bit 1     categorical
//! bits 2-3  missing mode      0: NaN is missing; 1: NaN is read as 0.0 (LightGBM `None`);
//!                             2: NaN and |x| <= 1e-35 are missing (LightGBM `Zero`)
//! bit 4     left is a leaf
//! bit 5     right is a leaf
//! bit 6     categorical: a value in the set goes left (LightGBM); otherwise it goes right (XGBoost)
//! bit 7     categorical: truncate toward zero before the range check (LightGBM: -0.5 is category 0); otherwise
//!           a negative value is out of range (XGBoost)
//! ```
//!
//! **Linear leaf** (LightGBM `linear_tree`; only with `leaf_width = 1`): an 8-aligned entry of `n_terms: u32`,
//! 4 zero bytes, `constant: f64`, then `n_terms` terms of `feature: u32`, 4 zero bytes, `coefficient: f64`. The
//! leaf's output is `constant + Σ coefficient·x[feature]` in f64, or the leaf's stored value when any of those
//! features is NaN.
//!
//! A category set is `n_words: u32` followed by `n_words` words; category `c` is in the set when bit `c % 32` of
//! word `c / 32` is set. Values that are negative, not below `32·n_words`, or not below 2²⁴ are not in the set.
//!
//! **Canonical order**: within a tree, nodes and leaves are numbered in breadth-first order: scanning nodes
//! `0, 1, 2, …`, each child that is a node is numbered with the next unused node index and each leaf child with the
//! next unused leaf index (left before right). The reader checks exactly this, which proves every tree is a tree
//! (each node reached once, no cycle), lets it compute every tree's depth without memory, and makes the worst-case
//! number of node visits per row (the sum of the depths) a validated number.
//!
//! The version changes whenever this layout changes.

/// The four magic bytes at the start of a blob.
pub const MAGIC: [u8; 4] = *b"EMKF";
/// The newest layout version described above: version 2 plus the weighted median (aggregate 2 and its
/// tree-weights section).
pub const VERSION: u16 = 3;
/// The layout version with the optional metadata section, which this reader also reads.
pub const VERSION_2: u16 = 2;
/// The layout version without a metadata section, which this reader also reads.
pub const VERSION_1: u16 = 1;
/// Outputs the weighted-median predictor sorts per pass, in a stack buffer (see the module documentation).
pub const MEDIAN_CHUNK: usize = 128;
/// Bytes of one entry of the tree-weights section.
pub const MEDIAN_WEIGHT: usize = 8;
/// Metadata record tag: class names (see the module documentation).
pub const TAG_CLASS_NAMES: u32 = 1;
/// Bytes in a metadata record's head (`tag`, `len`).
pub const META_RECORD_HEAD: usize = 8;
/// Bytes in the header.
pub const HEADER_LEN: usize = 64;
/// Bytes in a tree record.
pub const TREE_RECORD: usize = 16;
/// `output` value of a tree whose leaves are vectors adding to every margin column.
pub const ALL_OUTPUTS: u32 = u32::MAX;
/// Largest category value any framework accepts (XGBoost: 2²⁴; values at or above are "not in the set").
pub const MAX_CATEGORY: f32 = 16_777_216.0;
/// LightGBM's zero threshold (`kZeroThreshold = 1e-35f`) for the `Zero` missing mode.
pub const ZERO_THRESHOLD: f32 = 1.0e-35;

/// `leaf models` entry of a leaf without a linear model.
pub const NO_LINEAR: u32 = u32::MAX;
/// Bytes in a linear entry's head (`n_terms`, padding, constant) and in each term.
pub const LINEAR_HEAD: usize = 16;
/// Bytes in one linear term.
pub const LINEAR_TERM: usize = 16;

/// Node flag bits (see the module documentation).
pub mod flags {
    /// A missing value goes left.
    pub const DEFAULT_LEFT: u8 = 1 << 0;
    /// The split tests membership in a category set.
    pub const CATEGORICAL: u8 = 1 << 1;
    /// Shift of the two-bit missing mode.
    pub const MISSING_SHIFT: u8 = 2;
    /// Mask of the missing mode after shifting.
    pub const MISSING_MASK: u8 = 0b11;
    /// The left child is a leaf.
    pub const LEFT_LEAF: u8 = 1 << 4;
    /// The right child is a leaf.
    pub const RIGHT_LEAF: u8 = 1 << 5;
    /// Categorical: a value in the set goes left.
    pub const IN_SET_LEFT: u8 = 1 << 6;
    /// Categorical: truncate toward zero before the range check.
    pub const TRUNCATE_FIRST: u8 = 1 << 7;
}

/// How a node treats missing values (flag bits 2–3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MissingMode {
    /// NaN is missing and takes the default direction (XGBoost, scikit-learn, LightGBM `NaN`).
    Nan = 0,
    /// NaN is read as 0.0 and compared like any value (LightGBM `None`).
    NanAsZero = 1,
    /// NaN and values with `|x| <= 1e-35` take the default direction (LightGBM `Zero`).
    ZeroOrNan = 2,
}

/// How a row's values are compared with a node's threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Compare {
    /// Go left when `x < t` (XGBoost).
    Less = 0,
    /// Go left when `x <= t` (LightGBM and scikit-learn, with their f64 thresholds rounded down to f32 by the
    /// exporter, which is exact for f32 inputs).
    LessEqual = 1,
}

/// How tree outputs are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Aggregate {
    /// Sum of the base margin and every tree's (weighted) leaves.
    Sum = 0,
    /// Base margin plus the sum of the trees' leaves divided by the divisor (random forests average).
    Mean = 1,
    /// Base margin plus the weighted median of the tree outputs (AdaBoost.R2; see the module documentation).
    WeightedMedian = 2,
}

/// The function from raw margins to predictions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transform {
    /// Predictions are the margins.
    Identity = 0,
    /// `1 / (1 + e^-m)` on every column (binary logistic, one-vs-all).
    Sigmoid = 1,
    /// Softmax across the columns.
    Softmax = 2,
    /// The index of the largest margin, as one value (XGBoost `multi:softmax`).
    ArgMax = 3,
    /// `e^m` on every column (Poisson, gamma, Tweedie, Cox).
    Exp = 4,
    /// `1` if `m > 0`, else `0` (XGBoost `binary:hinge`).
    HingeStep = 5,
    /// The row's margins sorted ascending, so that they do not cross (XGBoost 3.4+ `reg:quantileerror` with
    /// several `quantile_alpha`s). Sorted by insertion with `>` as XGBoost does: a NaN never moves and no value
    /// moves past it.
    SortAscending = 6,
}

impl Transform {
    /// Decodes a transform byte.
    pub const fn from_u8(v: u8) -> Option<Transform> {
        Some(match v {
            0 => Transform::Identity,
            1 => Transform::Sigmoid,
            2 => Transform::Softmax,
            3 => Transform::ArgMax,
            4 => Transform::Exp,
            5 => Transform::HingeStep,
            6 => Transform::SortAscending,
            _ => return None,
        })
    }
}

/// Size in bytes of a node record for the given index widths.
pub const fn node_size(feature_bytes: usize, child_bytes: usize) -> usize {
    4 + feature_bytes + 1 + 2 * child_bytes
}

/// Rounds `offset` up to the next multiple of 8 (`None` on overflow).
pub const fn align8(offset: usize) -> Option<usize> {
    match offset.checked_add(7) {
        Some(v) => Some(v & !7),
        None => None,
    }
}

/// Margin columns the predictor accumulates per pass over the trees: a model with more outputs takes
/// `⌈n_outputs / OUTPUT_CHUNK⌉` passes (see `Forest::passes`).
pub const OUTPUT_CHUNK: usize = 32;

// Byte readers shared by the readers of both layouts (checked: `None` past the end).

/// Reads a little-endian `u32` at `off`, or `None` past the end.
#[inline]
pub(crate) fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a little-endian `u16` at `off`, or `None` past the end.
#[inline]
pub(crate) fn get_u16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// Reads a little-endian `f64` at `off`, or `None` past the end.
#[inline]
pub(crate) fn get_f64(b: &[u8], off: usize) -> Option<f64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(f64::from_le_bytes(a))
}
