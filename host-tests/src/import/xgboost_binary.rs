//! XGBoost's legacy binary model format (`save_raw()` in 1.x, `Booster.saveModel(out, "deprecated")` in
//! XGBoost4J up to 3.0, the format XGBoost4J-Spark 1.x and 2.0 write by default; removed in 3.1), read into the
//! same document model as JSON and UBJSON and translated by `xgboost::from_document` (`xgboost::from_legacy_binary_bytes` does both), so a legacy booster
//! predicts exactly as its JSON re-save would.
//!
//! The layout, as XGBoost's C++ sources define it (`src/learner.cc` `LearnerModelParamLegacy` and
//! `LearnerImpl::SaveModel`, `src/gbm/gbtree_model.{h,cc}`, `include/xgboost/tree_model.h` and
//! `src/tree/tree_model.cc` `RegTree::Save`). Every number is little-endian (big-endian hosts swap on write);
//! a string is a `u64` byte count and the bytes; a vector is a `u64` element count and the elements.
//!
//! - An optional 4-byte header `binf` (every release from 1.0 writes it).
//! - The learner parameters, 136 bytes: `base_score` (`f32`, in prediction space as in JSON), `num_feature`
//!   (`u32`), `num_class` (`i32`), `contain_extra_attrs` (`i32`), `contain_eval_metrics` (`i32`),
//!   `major_version`, `minor_version` (`u32`), `num_target` (`u32`, 0 in older files, read as 1),
//!   `boost_from_average` (`i32`), 25 reserved `i32`s.
//! - The objective's name and the booster's name (strings): `gbtree` or `dart` (`gblinear` is refused).
//! - The tree model parameters, 160 bytes: `num_trees`, `num_parallel_tree`, `num_feature` (deprecated),
//!   padding (`i32` each), `num_pbuffer` (`i64`, deprecated), `num_output_group` (deprecated),
//!   `size_leaf_vector` (`i32` each), 32 reserved `i32`s.
//! - Each tree: its parameters, 148 bytes (`num_roots` (must be 1), `num_nodes`, `num_deleted`, `max_depth`,
//!   `num_feature`, `size_leaf_vector`, then 31 reserved `i32`s); `num_nodes` nodes of 20 bytes (`parent`,
//!   `left`, `right` as `i32`, `sindex` as `u32` whose top bit is "default left" and the rest the feature, and
//!   one `f32`: the threshold of `x < t`, or the leaf value where `left` is −1); `num_nodes` statistics of 16
//!   bytes (`loss_chg`, `sum_hess`, `base_weight` as `f32`, `leaf_child_cnt` as `i32`).
//! - `tree_info`: one `i32` output group per tree (absent when there are no trees).
//! - DART only: the tree weights, a vector of `f32` (absent when there are no trees).
//! - When `contain_extra_attrs` is set: the attributes, a vector of (string, string) pairs. XGBoost 1.0+ saves
//!   the objective's configuration as JSON under `objective` (e.g. `num_class` of `multi:softprob`,
//!   `scale_pos_weight`), which is what this reader hands on as `learner.objective`.
//!
//! Files from releases before 1.0 (`major_version` 0) stored `base_score` after the objective's transform and
//! no objective configuration; they are refused (load them in a current XGBoost and save them as JSON).
//! Categorical splits and vector leaves cannot be saved in this format, so none are read.
//!
//! Every problem is an [`ImportError`] at the byte offset where the field starts.

use super::ImportError;
use super::json_text::parse_json;
use super::ubjson::{TypedArray, Value};

type Result<T> = std::result::Result<T, ImportError>;

/// The optional header every release from 1.0 writes first.
pub const HEADER: &[u8] = super::format::XGBOOST_BINARY_HEADER;

/// Size of the learner parameters.
pub(crate) const LEARNER_PARAM: usize = 136;
/// Size of the tree model parameters.
pub(crate) const GBTREE_PARAM: usize = 160;
/// Size of one tree's parameters.
pub(crate) const TREE_PARAM: usize = 148;
/// Size of one node.
const NODE: usize = 20;
/// Size of one node's statistics.
pub(crate) const NODE_STAT: usize = 16;

/// Largest string accepted (objective names and attributes; a sanity bound against corrupt lengths).
const MAX_STRING: u64 = 1 << 26;

/// Whether `bytes` start like a legacy binary model: the `binf` header.
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(HEADER)
}

/// A little-endian reader that names the byte offset of whatever it fails to read.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.err(format!(
                "the file ends inside {what} ({n} bytes needed, {} left)",
                self.bytes.len() - self.pos
            ))),
        }
    }

    fn err(&self, message: impl Into<String>) -> ImportError {
        ImportError::new(super::Location::Byte(self.pos), message)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > MAX_STRING {
            return Err(ImportError::new(
                super::Location::Byte(at),
                format!("{what}: a length of {n} bytes is beyond any model"),
            ));
        }
        let b = self.take(n as usize, what)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| ImportError::new(super::Location::Byte(at), format!("{what}: not UTF-8")))
    }

    /// A `u64` element count, checked against the bytes left for `size`-byte elements.
    fn count(&mut self, size: usize, what: &str) -> Result<usize> {
        let at = self.pos;
        let n = self.u64(what)?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(size as u64) > left {
            return Err(ImportError::new(
                super::Location::Byte(at),
                format!("{what}: {n} elements, but only {left} bytes are left"),
            ));
        }
        Ok(n as usize)
    }
}

fn i32_at(b: &[u8], off: usize) -> i32 {
    i32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn f32_at(b: &[u8], off: usize) -> f32 {
    f32::from_bits(u32_at(b, off))
}

fn obj(members: Vec<(&str, Value)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn text(s: impl ToString) -> Value {
    Value::Str(s.to_string())
}

/// What the file says besides the model document: the release that saved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// `major_version.minor_version` from the learner parameters.
    pub version: (u32, u32),
}

/// Reads the legacy binary model in `bytes` into the document XGBoost's JSON saver would write for it.
pub fn to_document(bytes: &[u8]) -> Result<(Value, Saved)> {
    let mut r = Reader { bytes, pos: 0 };
    if bytes.starts_with(HEADER) {
        r.pos = HEADER.len();
    }
    let p = r.take(LEARNER_PARAM, "the learner parameters")?;
    let base_score = f32_at(p, 0);
    let num_feature = u32_at(p, 4);
    let num_class = i32_at(p, 8);
    let extra_attrs = i32_at(p, 12) != 0;
    let (major, minor) = (u32_at(p, 20), u32_at(p, 24));
    let num_target = u32_at(p, 28).max(1);
    let param_at = r.pos - LEARNER_PARAM;
    if major == 0 {
        return Err(ImportError::new(
            super::Location::Byte(param_at + 20),
            "saved by XGBoost before 1.0 (major_version 0), whose binary files store base_score after the \
             objective's transform: load it in a current XGBoost and save it as JSON",
        ));
    }
    if num_class < 0 {
        return Err(ImportError::new(
            super::Location::Byte(param_at + 8),
            format!("num_class is negative ({num_class})"),
        ));
    }
    let objective = r.string("the objective's name")?;
    let booster_at = r.pos;
    let booster = r.string("the booster's name")?;
    if booster != "gbtree" && booster != "dart" {
        return Err(ImportError::new(
            super::Location::Byte(booster_at),
            if booster == "gblinear" {
                "a gblinear (linear) booster is not a tree ensemble and cannot be imported"
                    .to_string()
            } else {
                format!("unknown booster `{booster}` (expected gbtree or dart)")
            },
        ));
    }

    let gp_at = r.pos;
    let gp = r.take(GBTREE_PARAM, "the tree model parameters")?;
    let num_trees = i32_at(gp, 0);
    if num_trees < 0 {
        return Err(ImportError::new(
            super::Location::Byte(gp_at),
            format!("num_trees is negative ({num_trees})"),
        ));
    }
    let num_parallel_tree = i32_at(gp, 4);
    let n_trees = num_trees as usize;
    // Each tree needs at least its parameters and one node.
    if n_trees.saturating_mul(TREE_PARAM + NODE + NODE_STAT) > bytes.len() - r.pos {
        return Err(ImportError::new(
            super::Location::Byte(gp_at),
            format!("num_trees {num_trees} does not fit in the rest of the file"),
        ));
    }
    let mut trees = Vec::with_capacity(n_trees);
    for t in 0..n_trees {
        trees.push(read_tree(&mut r, t)?);
    }
    let mut tree_info = Vec::with_capacity(n_trees);
    if n_trees > 0 {
        let b = r.take(4 * n_trees, "tree_info")?;
        tree_info.extend((0..n_trees).map(|t| i32_at(b, 4 * t)));
    }
    let mut weight_drop = None;
    if booster == "dart" && n_trees > 0 {
        let n = r.count(4, "the DART tree weights")?;
        let b = r.take(4 * n, "the DART tree weights")?;
        weight_drop = Some(TypedArray::F32((0..n).map(|i| f32_at(b, 4 * i)).collect()));
    }
    let mut objective_config = None;
    if extra_attrs {
        let n = r.count(16, "the attributes")?;
        for _ in 0..n {
            let key = r.string("an attribute's name")?;
            let value_at = r.pos;
            let value = r.string("an attribute's value")?;
            if key == "objective" {
                let doc = parse_json(value.as_bytes()).map_err(|e| {
                    ImportError::new(
                        super::Location::Byte(value_at),
                        format!("the objective's configuration: {}", e.message),
                    )
                })?;
                objective_config = Some(doc);
            }
        }
    }
    if r.pos != bytes.len() {
        return Err(r.err(format!("{} bytes after the model", bytes.len() - r.pos)));
    }
    // XGBoost reads the objective from its saved configuration; a file without one names it only.
    let objective = objective_config.unwrap_or_else(|| obj(vec![("name", text(&objective))]));

    let model = obj(vec![
        (
            "gbtree_model_param",
            obj(vec![
                ("num_trees", text(num_trees)),
                ("num_parallel_tree", text(num_parallel_tree)),
            ]),
        ),
        ("trees", Value::Array(trees)),
        ("tree_info", Value::Typed(TypedArray::I32(tree_info))),
    ]);
    let gradient_booster = if booster == "dart" {
        let mut members = vec![
            ("name", text("dart")),
            (
                "gbtree",
                obj(vec![("name", text("gbtree")), ("model", model)]),
            ),
        ];
        if let Some(w) = weight_drop {
            members.push(("weight_drop", Value::Typed(w)));
        }
        obj(members)
    } else {
        obj(vec![("name", text("gbtree")), ("model", model)])
    };
    let doc = obj(vec![
        (
            "version",
            Value::Typed(TypedArray::I64(vec![major as i64, minor as i64])),
        ),
        (
            "learner",
            obj(vec![
                (
                    "learner_model_param",
                    obj(vec![
                        ("base_score", Value::Float(f64::from(base_score))),
                        ("num_feature", text(num_feature)),
                        ("num_class", text(num_class)),
                        ("num_target", text(num_target)),
                    ]),
                ),
                ("objective", objective),
                ("gradient_booster", gradient_booster),
            ]),
        ),
    ]);
    Ok((
        doc,
        Saved {
            version: (major, minor),
        },
    ))
}

/// One tree as the JSON saver writes it: children, features (`sindex` without its top bit), thresholds or leaf
/// values, default directions (the top bit), base weights.
fn read_tree(r: &mut Reader<'_>, t: usize) -> Result<Value> {
    let at = r.pos;
    let what = format!("tree {t}'s parameters");
    let p = r.take(TREE_PARAM, &what)?;
    let roots = i32_at(p, 0);
    let num_nodes = i32_at(p, 4);
    let size_leaf_vector = i32_at(p, 20);
    if roots != 1 {
        return Err(ImportError::new(
            super::Location::Byte(at),
            format!("tree {t} has {roots} roots (expected 1)"),
        ));
    }
    if num_nodes < 1 {
        return Err(ImportError::new(
            super::Location::Byte(at + 4),
            format!("tree {t} has {num_nodes} nodes (expected at least 1)"),
        ));
    }
    let n = num_nodes as usize;
    let nodes = r.take(n.saturating_mul(NODE), &format!("tree {t}'s nodes"))?;
    let stats = r.take(n * NODE_STAT, &format!("tree {t}'s node statistics"))?;
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    let mut feature = Vec::with_capacity(n);
    let mut cond = Vec::with_capacity(n);
    let mut default_left = Vec::with_capacity(n);
    let mut base_weight = Vec::with_capacity(n);
    for i in 0..n {
        let b = &nodes[i * NODE..(i + 1) * NODE];
        left.push(i32_at(b, 4));
        right.push(i32_at(b, 8));
        let sindex = u32_at(b, 12);
        feature.push((sindex & 0x7fff_ffff) as i32);
        default_left.push(u8::from(sindex >> 31 != 0));
        cond.push(f32_at(b, 16));
        base_weight.push(f32_at(stats, i * NODE_STAT + 8));
    }
    Ok(obj(vec![
        (
            "tree_param",
            obj(vec![
                ("num_nodes", text(num_nodes)),
                ("size_leaf_vector", text(size_leaf_vector)),
            ]),
        ),
        ("left_children", Value::Typed(TypedArray::I32(left))),
        ("right_children", Value::Typed(TypedArray::I32(right))),
        ("split_indices", Value::Typed(TypedArray::I32(feature))),
        ("split_conditions", Value::Typed(TypedArray::F32(cond))),
        ("default_left", Value::Typed(TypedArray::U8(default_left))),
        ("base_weights", Value::Typed(TypedArray::F32(base_weight))),
    ]))
}
