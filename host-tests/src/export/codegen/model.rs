//! The model as code generation sees it: a validated blob decoded into trees, so that the generated source uses
//! exactly the values the blob interpreter uses (the writer's f32 thresholds, the leaf values in the blob's
//! precision, its category sets and linear leaves) — the rounding rules live in the writer alone.
//!
//! The blob is first validated by the core ([`emkern::forest::Forest::new`]); this reader then follows
//! `emkern::forest::format` field by field, with checked reads (a malformed blob is an error, never a panic).
//! Header values this reader does not know (a newer aggregation, transform or a non-zero reserved field) are
//! reported as not supported by code generation, never guessed.

use emkern::forest::format::{self, flags};
use emkern::forest::{Aggregate, Compare, Forest, MissingMode, Transform};

use super::CodegenError;

/// A decoded model: everything the blob interpreter reads, in tree form.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Row length the model reads.
    pub n_features: usize,
    /// Margin columns.
    pub n_outputs: usize,
    /// How thresholds compare.
    pub compare: Compare,
    /// How tree outputs combine.
    pub aggregate: Aggregate,
    /// The mean's divisor (1 for sums), in f64 as stored.
    pub divisor: f64,
    /// Margin → prediction.
    pub transform: Transform,
    /// Values a prediction has (the core's [`Forest::output_len`]).
    pub output_len: usize,
    /// Leaves, margins and sums are f64 (else f32).
    pub wide: bool,
    /// Base margins, as stored (f32 values widened exactly when not `wide`).
    pub base: Vec<f64>,
    /// Trees in evaluation (and summation) order.
    pub trees: Vec<Tree>,
    /// Category sets by their word offset in the blob's category table: `(offset, words)`.
    pub sets: Vec<(u32, Vec<u32>)>,
}

/// One tree: nodes and leaves in the blob's breadth-first order (node 0 is the root; a tree without nodes is its
/// single leaf 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    /// The margin column its scalar leaves add to; `None` for vector leaves adding to every column.
    pub output: Option<usize>,
    /// Multiplies every leaf (DART, boosting weights).
    pub weight: f32,
    /// Internal nodes.
    pub nodes: Vec<Node>,
    /// Leaves.
    pub leaves: Vec<Leaf>,
    /// Index of the tree's first leaf in the whole model (the blob's leaf numbering).
    pub leaf_start: usize,
}

/// A child of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    /// An internal node of the same tree.
    Node(usize),
    /// A leaf of the same tree.
    Leaf(usize),
}

/// An internal node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Feature index (< `n_features`).
    pub feature: usize,
    /// The test.
    pub test: Test,
    /// Where a missing value goes.
    pub default_left: bool,
    /// Left child.
    pub left: Child,
    /// Right child.
    pub right: Child,
}

/// What a node tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Test {
    /// `x < t` or `x <= t` per [`Model::compare`], with the blob's f32 threshold.
    Numeric {
        /// The threshold (never NaN).
        threshold: f32,
        /// What counts as missing.
        missing: MissingMode,
    },
    /// Membership of `trunc(x)` in a category set.
    Categorical {
        /// The set's word offset (a key of [`Model::sets`]).
        set: u32,
        /// A member goes left.
        in_set_left: bool,
        /// Truncate toward zero before the range check.
        truncate_first: bool,
    },
}

/// A leaf.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    /// Its values as stored (1, or `n_outputs` for vector leaves; f32 widened exactly when not `wide`).
    pub values: Vec<f64>,
    /// Its linear model (LightGBM `linear_tree`), if any.
    pub linear: Option<Linear>,
}

/// A linear leaf model: `constant + Σ coefficient·x[feature]` in f64, or the leaf's stored value when one of
/// the features is NaN.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    /// Constant term.
    pub constant: f64,
    /// `(feature, coefficient)` terms in stored order (the order of the f64 additions).
    pub terms: Vec<(usize, f64)>,
}

/// Checked little-endian reads.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&self, off: usize) -> Result<[u8; N], CodegenError> {
        off.checked_add(N)
            .and_then(|end| self.0.get(off..end))
            .and_then(|s| s.try_into().ok())
            .ok_or(CodegenError::Malformed("a field lies past the end"))
    }
    fn u8(&self, off: usize) -> Result<u8, CodegenError> {
        Ok(self.bytes::<1>(off)?[0])
    }
    fn u32(&self, off: usize) -> Result<u32, CodegenError> {
        Ok(u32::from_le_bytes(self.bytes(off)?))
    }
    fn usize(&self, off: usize) -> Result<usize, CodegenError> {
        Ok(self.u32(off)? as usize)
    }
    fn f64(&self, off: usize) -> Result<f64, CodegenError> {
        Ok(f64::from_le_bytes(self.bytes(off)?))
    }
    fn index(&self, off: usize, width: usize) -> Result<usize, CodegenError> {
        Ok(match width {
            1 => self.u8(off)? as usize,
            2 => u16::from_le_bytes(self.bytes(off)?) as usize,
            _ => self.usize(off)?,
        })
    }
    fn value(&self, off: usize, wide: bool) -> Result<f64, CodegenError> {
        if wide {
            self.f64(off)
        } else {
            Ok(f32::from_bits(self.u32(off)?) as f64)
        }
    }
}

/// Section offsets, as `format` lays them out.
fn after(off: usize, n: usize, size: usize) -> Result<usize, CodegenError> {
    n.checked_mul(size)
        .and_then(|b| b.checked_add(off))
        .and_then(format::align8)
        .ok_or(CodegenError::Malformed("layout overflows"))
}

impl Model {
    /// Validates `blob` with the core and decodes it.
    pub fn from_blob(blob: &[u8]) -> Result<Model, CodegenError> {
        let forest = Forest::new(blob).map_err(CodegenError::Blob)?;
        let output_len = forest.output_len();
        let r = Reader(blob);
        let n_features = r.usize(16)?;
        let n_outputs = r.usize(20)?;
        let n_trees = r.usize(24)?;
        let n_nodes = r.usize(28)?;
        let n_leaves = r.usize(32)?;
        let leaf_width = r.usize(36)?;
        let n_cat_words = r.usize(40)?;
        let fb = r.u8(44)? as usize;
        let cb = r.u8(45)? as usize;
        let compare = match r.u8(46)? {
            b if b == Compare::Less as u8 => Compare::Less,
            b if b == Compare::LessEqual as u8 => Compare::LessEqual,
            b => {
                return Err(unsupported(format!("comparison {b} (blob header byte 46)")));
            }
        };
        let ab = r.u8(47)?;
        let aggregate = [Aggregate::Sum, Aggregate::Mean]
            .into_iter()
            .find(|a| *a as u8 == ab)
            .ok_or_else(|| unsupported(format!("aggregation {ab} (blob header byte 47)")))?;
        let tb = r.u8(48)?;
        let transform = Transform::from_u8(tb)
            .ok_or_else(|| unsupported(format!("output transform {tb} (blob header byte 48)")))?;
        let wide = r.u8(49)? == 8;
        if r.bytes::<2>(50)? != [0, 0] {
            return Err(unsupported(
                "a header field this version does not know (reserved bytes 50-51 are set)".into(),
            ));
        }
        let linear_bytes = r.usize(52)?;
        let divisor = r.f64(56)?;
        let vb = if wide { 8 } else { 4 };
        let node_size = format::node_size(fb, cb);
        let base_off = format::HEADER_LEN;
        let trees_off = after(base_off, n_outputs, vb)?;
        let nodes_off = after(trees_off, n_trees, format::TREE_RECORD)?;
        let leaves_off = after(nodes_off, n_nodes, node_size)?;
        let cats_off = after(leaves_off, n_leaves * leaf_width, vb)?;
        let cats_end = cats_off + 4 * n_cat_words;
        let leaf_models_off =
            format::align8(cats_end).ok_or(CodegenError::Malformed("layout overflows"))?;
        let linear_off = after(leaf_models_off, n_leaves, 4)?;

        let base = (0..n_outputs)
            .map(|k| r.value(base_off + k * vb, wide))
            .collect::<Result<Vec<_>, _>>()?;
        let mut set_offsets = Vec::new();
        let mut trees = Vec::with_capacity(n_trees);
        for t in 0..n_trees {
            let rec = trees_off + t * format::TREE_RECORD;
            let node_start = r.usize(rec)?;
            let leaf_start = r.usize(rec + 4)?;
            let output = r.u32(rec + 8)?;
            let weight = f32::from_bits(r.u32(rec + 12)?);
            let (node_end, leaf_end) = if t + 1 < n_trees {
                (
                    r.usize(rec + format::TREE_RECORD)?,
                    r.usize(rec + format::TREE_RECORD + 4)?,
                )
            } else {
                (n_nodes, n_leaves)
            };
            let mut nodes = Vec::with_capacity(node_end.saturating_sub(node_start));
            for i in node_start..node_end {
                let off = nodes_off + i * node_size;
                let bits = r.u32(off)?;
                let feature = r.index(off + 4, fb)?;
                let fl = r.u8(off + 4 + fb)?;
                let child = |slot: usize, leaf_flag: u8| -> Result<Child, CodegenError> {
                    let c = r.index(off + 5 + fb + slot * cb, cb)?;
                    Ok(if fl & leaf_flag != 0 {
                        Child::Leaf(c)
                    } else {
                        Child::Node(c)
                    })
                };
                let test = if fl & flags::CATEGORICAL != 0 {
                    set_offsets.push(bits);
                    Test::Categorical {
                        set: bits,
                        in_set_left: fl & flags::IN_SET_LEFT != 0,
                        truncate_first: fl & flags::TRUNCATE_FIRST != 0,
                    }
                } else {
                    let missing = match (fl >> flags::MISSING_SHIFT) & flags::MISSING_MASK {
                        m if m == MissingMode::Nan as u8 => MissingMode::Nan,
                        m if m == MissingMode::NanAsZero as u8 => MissingMode::NanAsZero,
                        m if m == MissingMode::ZeroOrNan as u8 => MissingMode::ZeroOrNan,
                        m => return Err(unsupported(format!("missing mode {m}"))),
                    };
                    Test::Numeric {
                        threshold: f32::from_bits(bits),
                        missing,
                    }
                };
                nodes.push(Node {
                    feature,
                    test,
                    default_left: fl & flags::DEFAULT_LEFT != 0,
                    left: child(0, flags::LEFT_LEAF)?,
                    right: child(1, flags::RIGHT_LEAF)?,
                });
            }
            let mut leaves = Vec::with_capacity(leaf_end.saturating_sub(leaf_start));
            for l in leaf_start..leaf_end {
                let values = (0..leaf_width)
                    .map(|k| r.value(leaves_off + (l * leaf_width + k) * vb, wide))
                    .collect::<Result<Vec<_>, _>>()?;
                let linear = if linear_bytes == 0 {
                    None
                } else {
                    match r.u32(leaf_models_off + 4 * l)? {
                        format::NO_LINEAR => None,
                        entry => {
                            let at = linear_off + entry as usize;
                            let n_terms = r.usize(at)?;
                            let terms = (0..n_terms)
                                .map(|k| {
                                    let term = at + format::LINEAR_HEAD + k * format::LINEAR_TERM;
                                    Ok((r.usize(term)?, r.f64(term + 8)?))
                                })
                                .collect::<Result<Vec<_>, CodegenError>>()?;
                            Some(Linear {
                                constant: r.f64(at + 8)?,
                                terms,
                            })
                        }
                    }
                };
                leaves.push(Leaf { values, linear });
            }
            trees.push(Tree {
                output: (output != format::ALL_OUTPUTS).then_some(output as usize),
                weight,
                nodes,
                leaves,
                leaf_start,
            });
        }
        set_offsets.sort_unstable();
        set_offsets.dedup();
        let sets = set_offsets
            .into_iter()
            .map(|off| {
                let at = cats_off + 4 * off as usize;
                let n = r.usize(at)?;
                let words = (0..n)
                    .map(|k| r.u32(at + 4 + 4 * k))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((off, words))
            })
            .collect::<Result<Vec<_>, CodegenError>>()?;
        Ok(Model {
            n_features,
            n_outputs,
            compare,
            aggregate,
            divisor,
            transform,
            output_len,
            wide,
            base,
            trees,
            sets,
        })
    }

    /// Leaves of vector-leaf trees (every tree's leaves then hold `n_outputs` values).
    pub fn vector_leaves(&self) -> bool {
        self.trees.iter().any(|t| t.output.is_none())
    }

    /// The words of the category set at `offset`.
    pub fn set(&self, offset: u32) -> &[u32] {
        self.sets
            .iter()
            .find(|(o, _)| *o == offset)
            .map_or(&[][..], |(_, w)| w)
    }
}

fn unsupported(what: String) -> CodegenError {
    CodegenError::Unsupported(what)
}
