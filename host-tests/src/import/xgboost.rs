//! XGBoost model importer: the JSON and UBJSON model formats of XGBoost 1.0 through 3.4, into the
//! [ensemble IR](crate::ir).
//!
//! Both formats are read into one document model ([`ubjson::Value`]) and translated by one function,
//! [`from_document`]. What the translation honours (see XGBoost's `doc/model.schema` and its tree loaders):
//!
//! - `learner.learner_model_param`: `num_feature`, `num_class`, `num_target` (decimal strings) and
//!   `base_score`, a scalar string (`"5E-1"`, up to 3.0) or a vector in a string (`"[5E-1,…]"`, 3.1+; a
//!   length-1 vector broadcasts). It is stored in prediction space; the objective's link (logit, log or
//!   identity) maps it to margin space, computed in `f32` exactly as XGBoost does (`-logf(1/b - 1)`,
//!   `logf(b)`, with the logit's input clamped to `[1e-6, 1 - 1e-6]` as 3.2+ does).
//! - `learner.objective.name` → [`Transform`] (sigmoid, exp, softmax, argmax, hinge step or identity); any
//!   objective outside XGBoost's set is an error naming it. `reg:quantileerror` with several `quantile_alpha`s
//!   saved by XGBoost 3.4 or later sorts each row's predictions ([`Transform::SortAscending`], see
//!   [`sorts_quantiles`]); the `version` field decides, so the blob predicts what the saving release predicts.
//! - `gradient_booster`: `gbtree`, or `dart` with the trees in a nested `gbtree`; DART's `weight_drop` beside
//!   the nested booster (before 3.4) or inside `model` (3.4, and DART models saved as `gbtree` from 3.3);
//!   trees placed by their `id`; `tree_info` (output column of each tree); `iteration_indptr` and
//!   `gbtree_model_param` checked for consistency (parallel trees are simply summed).
//! - Trees: `left_children` (−1 marks a leaf), `right_children`, `split_indices`, `split_conditions` (the
//!   threshold of `x < t` in `f32`, the leaf value at a leaf), `default_left` (integers or booleans),
//!   `split_type` with `categories_nodes/segments/sizes` and `categories` (a value in the set goes right);
//!   vector leaves (`tree_param.size_leaf_vector > 1`) from `leaf_weights` rows indexed by the leaf's
//!   `right_children` entry (3.2+) or from `base_weights` rows indexed by node (2.0–3.1). Only nodes reachable
//!   from the root are imported (pruned models keep deleted nodes in their arrays).
//!
//! Numbers in XGBoost's JSON are `f32`: a JSON pre-pass makes sure every decimal ends up as the `f32` it
//! denotes (a decimal rounded first to `f64` and then to `f32` can land one ulp off), and turns XGBoost's bare
//! `NaN`/`Infinity` tokens into numbers `serde_json` accepts.
//!
//! Every problem is an [`ImportError`] naming the JSON path (e.g.
//! `learner.gradient_booster.model.trees[3].left_children[7]`), or the line (JSON syntax) or byte offset
//! (UBJSON syntax), and what was expected.

use std::path::Path;

use super::ImportError;
use super::format::{Format, sniff, strip_bom};
pub use super::json_text::parse_json;
use super::ubjson::{self, TypedArray, Value};
use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test, Transform, Tree,
};

/// Largest number of output columns accepted (a sanity bound against corrupt counts).
pub const MAX_OUTPUTS: u64 = 1 << 16;

/// Largest feature count accepted (a sanity bound against corrupt counts; XGBoost's own limit is 2³¹).
pub const MAX_FEATURES: u64 = 1 << 31;

/// Imports an XGBoost model file, JSON, UBJSON or the legacy binary format ([`super::xgboost_binary`]), told
/// apart by content, not by the file name.
pub fn load(path: &Path) -> Result<Ensemble, ImportError> {
    let bytes = ImportError::read_file(path)?;
    from_bytes(&bytes).map_err(|e| e.in_file(path))
}

/// Imports a model from the bytes of a JSON, UBJSON or legacy binary file (told apart by
/// [`super::format::sniff`]; a UTF-8 byte-order mark is skipped).
pub fn from_bytes(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    let bytes = strip_bom(bytes);
    match sniff(bytes) {
        Some(Format::XgboostJson | Format::Sklearn) => from_json_bytes(bytes),
        Some(Format::XgboostUbjson) => from_ubjson_bytes(bytes),
        Some(Format::XgboostBinary) => from_legacy_binary_bytes(bytes),
        Some(Format::CatBoostJson) => Err(ImportError::whole(
            "a CatBoost JSON model, not an XGBoost one (`emkern import` reads both)",
        )),
        Some(Format::Onnx) => Err(ImportError::whole(
            "an ONNX model, not an XGBoost one (`emkern import` reads both)",
        )),
        Some(Format::SparkMl) => Err(ImportError::whole(
            "a Spark ML model's metadata, not an XGBoost model (`emkern import` reads the model's directory)",
        )),
        Some(Format::Blob | Format::LightGbm) | None => Err(ImportError::whole(
            "not an XGBoost JSON, UBJSON or legacy binary model: the file starts with neither `{` nor `binf`",
        )),
    }
}

/// Imports a model saved as JSON (`Booster.save_model("model.json")`).
pub fn from_json_bytes(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    from_document(&parse_json(bytes)?)
}

/// Imports a model saved in XGBoost's legacy binary format (with or without the `binf` header; see
/// [`super::xgboost_binary`]).
pub fn from_legacy_binary_bytes(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    let (doc, saved) = super::xgboost_binary::to_document(bytes)?;
    let mut e = from_document(&doc)?;
    let (major, minor) = saved.version;
    // The document carries `[major, minor]` only: name the release as the file does.
    e.source = e.source.replacen(
        &format!("xgboost {major}.{minor},"),
        &format!("xgboost {major}.{minor} (legacy binary),"),
        1,
    );
    Ok(e)
}

/// Imports a model saved as UBJSON (`Booster.save_model("model.ubj")`, the default format since 2.1).
pub fn from_ubjson_bytes(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    from_document(&ubjson::parse(bytes)?)
}

/// The link from prediction space to margin space that XGBoost applies to `base_score`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The margin is the base score.
    Identity,
    /// `-ln(1/b - 1)` (logistic objectives).
    Logit,
    /// `ln(b)` (Poisson, gamma, Tweedie, Cox, AFT).
    Log,
}

impl Link {
    /// `base_score` in margin space, in `f32` arithmetic as XGBoost computes it (`None` outside the link's
    /// domain).
    pub fn to_margin(self, b: f32) -> Option<f32> {
        let m = match self {
            Link::Identity => b,
            Link::Logit => {
                // XGBoost 3.2+ clamps to [kRtEps, 1 - kRtEps]; earlier versions reject values outside (0, 1),
                // which the clamp leaves unchanged.
                const RT_EPS: f32 = 1e-6;
                let b = b.clamp(RT_EPS, 1.0 - RT_EPS);
                -(1.0f32 / b - 1.0f32).ln()
            }
            Link::Log => {
                if b.is_nan() || b <= 0.0 {
                    return None;
                }
                b.ln()
            }
        };
        m.is_finite().then_some(m)
    }
}

/// The output transform and base-score link of an XGBoost objective; `None` for a name outside XGBoost's
/// objectives (custom objectives, typos).
pub fn objective(name: &str) -> Option<(Transform, Link)> {
    Some(match name {
        "binary:logistic" | "reg:logistic" => (Transform::Sigmoid, Link::Logit),
        "count:poisson" | "reg:gamma" | "reg:tweedie" | "survival:cox" | "survival:aft" => {
            (Transform::Exp, Link::Log)
        }
        "multi:softprob" => (Transform::Softmax, Link::Identity),
        "multi:softmax" => (Transform::ArgMax, Link::Identity),
        "binary:hinge" => (Transform::HingeStep, Link::Identity),
        "binary:logitraw"
        | "reg:squarederror"
        | "reg:linear"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "reg:expectileerror"
        | "rank:pairwise"
        | "rank:ndcg"
        | "rank:map" => (Transform::Identity, Link::Identity),
        _ => return None,
    })
}

/// Whether the XGBoost release that saved a model (its `version` field) sorts each row's `reg:quantileerror`
/// predictions: 3.4.0 and later do (the objective's `PredTransform`, an insertion sort per row, so that the
/// quantiles of several `quantile_alpha`s do not cross; margins are left as they are); earlier releases return
/// the margins. A model without a version is taken as older.
pub fn sorts_quantiles(version: &[i64]) -> bool {
    version.get(..2).is_some_and(|v| (v[0], v[1]) >= (3, 4))
}

/// The objectives [`objective`] knows, for error messages.
const OBJECTIVES: &str = "binary:logistic, binary:logitraw, binary:hinge, reg:squarederror, reg:linear, \
    reg:squaredlogerror, reg:logistic, reg:pseudohubererror, reg:absoluteerror, reg:quantileerror, \
    reg:expectileerror, reg:gamma, reg:tweedie, count:poisson, survival:cox, survival:aft, multi:softmax, \
    multi:softprob, rank:pairwise, rank:ndcg, rank:map";

/// A value in the document with its path, for error messages.
#[derive(Clone)]
struct At<'a> {
    v: &'a Value,
    path: String,
}

type Result<T, E = ImportError> = std::result::Result<T, E>;

impl<'a> At<'a> {
    fn root(v: &'a Value) -> At<'a> {
        At {
            v,
            path: String::new(),
        }
    }

    fn err(&self, message: impl Into<String>) -> ImportError {
        ImportError::at_path(self.path.clone(), message)
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn expected(&self, what: &str) -> ImportError {
        self.err(format!("expected {what}, found {}", self.v.kind()))
    }

    /// The member `key`, which must exist.
    fn key(&self, key: &str) -> Result<At<'a>> {
        self.opt(key)?.ok_or_else(|| {
            let path = self.child_path(key);
            ImportError::at_path(path, "missing (required field)")
        })
    }

    /// The member `key`, if present (and not null); `self` must be an object.
    fn opt(&self, key: &str) -> Result<Option<At<'a>>> {
        if !matches!(self.v, Value::Object(_)) {
            return Err(self.expected("an object"));
        }
        Ok(self.v.get(key).filter(|v| **v != Value::Null).map(|v| At {
            v,
            path: self.child_path(key),
        }))
    }

    fn str(&self) -> Result<&'a str> {
        match self.v {
            Value::Str(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    fn elements(&self) -> Result<&'a [Value]> {
        match self.v {
            Value::Array(items) => Ok(items),
            _ => Err(self.expected("an array")),
        }
    }

    fn item(&self, i: usize, v: &'a Value) -> At<'a> {
        At {
            v,
            path: format!("{}[{i}]", self.path),
        }
    }

    fn item_path(&self, i: usize) -> String {
        format!("{}[{i}]", self.path)
    }

    /// An unsigned integer parameter: XGBoost writes them as decimal strings; integers are accepted too.
    fn param_uint(&self) -> Result<u64> {
        match self.v {
            Value::Str(s) => s
                .trim()
                .parse::<u64>()
                .map_err(|_| self.err(format!("expected a non-negative integer, found {s:?}"))),
            Value::Int(i) => u64::try_from(*i)
                .map_err(|_| self.err(format!("expected a non-negative integer, found {i}"))),
            _ => Err(self.expected("an integer in a string")),
        }
    }

    /// An array of integers (JSON integers, or any UBJSON integer array; integral floats are accepted).
    fn ints(&self) -> Result<Vec<i64>> {
        let non_integral = |i: usize, x: f64| {
            ImportError::at_path(self.item_path(i), format!("expected an integer, found {x}"))
        };
        let as_int = |i: usize, x: f64| {
            if x.fract() == 0.0 && x.abs() < 9.0e18 {
                Ok(x as i64)
            } else {
                Err(non_integral(i, x))
            }
        };
        match self.v {
            Value::Typed(t) => match t {
                TypedArray::U8(v) => Ok(v.iter().map(|&x| x as i64).collect()),
                TypedArray::I8(v) => Ok(v.iter().map(|&x| x as i64).collect()),
                TypedArray::I16(v) => Ok(v.iter().map(|&x| x as i64).collect()),
                TypedArray::I32(v) => Ok(v.iter().map(|&x| x as i64).collect()),
                TypedArray::I64(v) => Ok(v.clone()),
                TypedArray::F32(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| as_int(i, x as f64))
                    .collect(),
                TypedArray::F64(v) => v.iter().enumerate().map(|(i, &x)| as_int(i, x)).collect(),
            },
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Int(x) => Ok(*x),
                    Value::Float(x) => as_int(i, *x),
                    other => Err(ImportError::at_path(
                        self.item_path(i),
                        format!("expected an integer, found {}", other.kind()),
                    )),
                })
                .collect(),
            _ => Err(self.expected("an array of integers")),
        }
    }

    /// An array of numbers as XGBoost's `f32`.
    fn f32s(&self) -> Result<Vec<f32>> {
        match self.v {
            Value::Typed(t) => Ok(match t {
                TypedArray::U8(v) => v.iter().map(|&x| x as f32).collect(),
                TypedArray::I8(v) => v.iter().map(|&x| x as f32).collect(),
                TypedArray::I16(v) => v.iter().map(|&x| x as f32).collect(),
                TypedArray::I32(v) => v.iter().map(|&x| x as f32).collect(),
                TypedArray::I64(v) => v.iter().map(|&x| x as f32).collect(),
                TypedArray::F32(v) => v.clone(),
                TypedArray::F64(v) => v.iter().map(|&x| x as f32).collect(),
            }),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Int(x) => Ok(*x as f32),
                    Value::Float(x) => Ok(*x as f32),
                    other => Err(ImportError::at_path(
                        self.item_path(i),
                        format!("expected a number, found {}", other.kind()),
                    )),
                })
                .collect(),
            _ => Err(self.expected("an array of numbers")),
        }
    }

    /// An array of flags: booleans (XGBoost 1.0–1.2) or integers (non-zero is true).
    fn flags(&self) -> Result<Vec<bool>> {
        match self.v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Bool(b) => Ok(*b),
                    Value::Int(x) => Ok(*x != 0),
                    other => Err(ImportError::at_path(
                        self.item_path(i),
                        format!("expected a boolean or 0/1, found {}", other.kind()),
                    )),
                })
                .collect(),
            Value::Typed(_) => Ok(self.ints()?.into_iter().map(|x| x != 0).collect()),
            _ => Err(self.expected("an array of flags")),
        }
    }

    /// An array of strings.
    fn strings(&self) -> Result<Vec<String>> {
        self.elements()?
            .iter()
            .enumerate()
            .map(|(i, v)| self.item(i, v).str().map(str::to_string))
            .collect()
    }
}

/// Parses `base_score`: `"5E-1"`, `"[5E-1]"`, `"[-1.09E0,-1.09E0,-1.09E0]"` (or a plain number).
fn base_scores(at: &At<'_>) -> Result<Vec<f32>> {
    let parse = |s: &str| -> Result<f32> {
        let s = s.trim();
        match s.parse::<f32>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(at.err(format!("expected a finite number, found {s:?}"))),
        }
    };
    match at.v {
        Value::Str(s) => {
            let t = s.trim();
            if let Some(inner) = t.strip_prefix('[') {
                let inner = inner
                    .strip_suffix(']')
                    .ok_or_else(|| at.err(format!("unterminated vector {s:?}")))?;
                let v: Vec<f32> = inner.split(',').map(parse).collect::<Result<_>>()?;
                Ok(v)
            } else {
                Ok(vec![parse(t)?])
            }
        }
        Value::Int(i) => Ok(vec![*i as f32]),
        Value::Float(f) if f.is_finite() => Ok(vec![*f as f32]),
        _ => Err(at.expected("a number in a string")),
    }
}

/// Translates an XGBoost model document (parsed from JSON or UBJSON) into the IR.
pub fn from_document(doc: &Value) -> Result<Ensemble> {
    let root = At::root(doc);
    let version_parts = match root.opt("version")? {
        Some(v) => v.ints()?,
        None => Vec::new(),
    };
    let version = if version_parts.is_empty() {
        "(unknown version)".to_string()
    } else {
        version_parts
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(".")
    };
    let cat_rule = match version_parts.get(..2) {
        Some([1, 5]) => CategoryRule::Truncating,
        Some([1, 6]) => CategoryRule::InvalidToDefault,
        _ => CategoryRule::Standard,
    };
    let learner = root.key("learner")?;

    // Shape of the model.
    let mp = learner.key("learner_model_param")?;
    let num_feature = mp.key("num_feature")?.param_uint()?;
    if num_feature > MAX_FEATURES {
        return Err(mp.key("num_feature")?.err(format!(
            "{num_feature} features is beyond any XGBoost model (at most {MAX_FEATURES})"
        )));
    }
    let num_class = match mp.opt("num_class")? {
        Some(a) => a.param_uint()?,
        None => 0,
    };
    let num_target = match mp.opt("num_target")? {
        Some(a) => a.param_uint()?,
        None => 1,
    };
    let n_outputs = num_class.max(num_target).max(1);
    if n_outputs > MAX_OUTPUTS {
        return Err(mp.err(format!(
            "{n_outputs} outputs (num_class {num_class}, num_target {num_target}); at most {MAX_OUTPUTS} supported"
        )));
    }
    let n_out = n_outputs as usize;

    // Objective.
    let obj_at = learner.key("objective")?;
    let name_at = obj_at.key("name")?;
    let obj_name = name_at.str()?;
    let (transform, link) = objective(obj_name).ok_or_else(|| {
        name_at.err(format!(
            "unsupported objective `{obj_name}` (custom objectives cannot be imported; supported: {OBJECTIVES})"
        ))
    })?;
    let transform =
        if obj_name == "reg:quantileerror" && n_out > 1 && sorts_quantiles(&version_parts) {
            Transform::SortAscending
        } else {
            transform
        };

    // A binary objective predicts one probability (or margin) per target: a class count says the file is
    // inconsistent (LightGBM's importer refuses the same for its binary objective).
    let binary = obj_name.starts_with("binary:") || obj_name == "reg:logistic";
    if binary && num_class > 1 {
        return Err(mp.key("num_class")?.err(format!(
            "`{obj_name}` has one output per target, but num_class is {num_class} (expected 0 or 1)"
        )));
    }

    // Base score, broadcast and mapped to margin space.
    let bs_at = mp.key("base_score")?;
    let mut scores = base_scores(&bs_at)?;
    if scores.len() == 1 && n_out > 1 {
        scores = vec![scores[0]; n_out];
    }
    if scores.len() != n_out {
        return Err(bs_at.err(format!(
            "{} base scores for {n_out} outputs (expected 1 or {n_out})",
            scores.len()
        )));
    }
    let base_margin = scores
        .iter()
        .map(|&b| {
            link.to_margin(b).map(f64::from).ok_or_else(|| {
                bs_at.err(format!(
                    "base_score {b} is outside the domain of `{obj_name}`'s link ({link:?})"
                ))
            })
        })
        .collect::<Result<Vec<f64>>>()?;

    // Booster.
    let gb = learner.key("gradient_booster")?;
    let booster = gb.key("name")?.str()?;
    match booster {
        "gbtree" | "dart" => {}
        "gblinear" => {
            return Err(gb
                .key("name")?
                .err("a gblinear (linear) booster is not a tree ensemble and cannot be imported"));
        }
        other => {
            return Err(gb.key("name")?.err(format!(
                "unknown booster `{other}` (expected gbtree or dart)"
            )));
        }
    }
    let inner = match gb.opt("gbtree")? {
        Some(g) => g,
        None => gb.clone(),
    };
    let model = inner.key("model")?;
    let trees_at = model.key("trees")?;
    let tree_values = trees_at.elements()?;
    let n_trees = tree_values.len();

    if let Some(p) = model.opt("gbtree_model_param")?
        && let Some(nt) = p.opt("num_trees")?
    {
        let count = nt.param_uint()?;
        if count != n_trees as u64 {
            return Err(nt.err(format!("says {count} trees but `trees` has {n_trees}")));
        }
    }

    let info_at = model.key("tree_info")?;
    let tree_info = info_at.ints()?;
    if tree_info.len() != n_trees {
        return Err(info_at.err(format!("{} entries for {n_trees} trees", tree_info.len())));
    }

    if let Some(ip) = model.opt("iteration_indptr")? {
        let indptr = ip.ints()?;
        let ok = indptr.first().is_none_or(|&f| f == 0)
            && indptr.windows(2).all(|w| w[0] <= w[1])
            && indptr.last().is_none_or(|&l| l == n_trees as i64);
        if !ok {
            return Err(ip.err(format!(
                "expected non-decreasing offsets from 0 to the {n_trees} trees, found {indptr:?}"
            )));
        }
    }

    // DART weights: beside the trees' model (older DART) or inside it (3.3+); the outer one wins, as in
    // XGBoost's loader.
    let weights_at = match gb.opt("weight_drop")? {
        Some(w) => Some(w),
        None => model.opt("weight_drop")?,
    };
    let weights = match &weights_at {
        Some(w) => {
            let v = w.f32s()?;
            if v.len() > n_trees {
                return Err(w.err(format!("{} weights for {n_trees} trees", v.len())));
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(ImportError::at_path(
                    w.item_path(i),
                    "tree weight is not finite",
                ));
            }
            v
        }
        None => Vec::new(),
    };

    // Trees, placed by their `id` when every tree has one.
    let ids: Option<Vec<usize>> = tree_values
        .iter()
        .enumerate()
        .map(|(t, v)| {
            let at = trees_at.item(t, v);
            match at.opt("id") {
                Ok(Some(id)) => match id.v {
                    Value::Int(i) => usize::try_from(*i).ok(),
                    _ => None,
                },
                _ => None,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..n_trees).collect();
    if let Some(ids) = ids {
        let mut seen = vec![false; n_trees];
        for (t, &id) in ids.iter().enumerate() {
            if id >= n_trees || seen[id] {
                return Err(ImportError::at_path(
                    format!("{}.id", trees_at.item_path(t)),
                    format!("tree id {id} is out of range or repeated ({n_trees} trees)"),
                ));
            }
            seen[id] = true;
            order[id] = t;
        }
    }

    let mut trees = Vec::with_capacity(n_trees);
    let mut any_vector = false;
    for (pos, &t) in order.iter().enumerate() {
        let at = trees_at.item(t, &tree_values[t]);
        let (nodes, vector) = parse_tree(&at, num_feature, n_out, cat_rule)?;
        any_vector |= vector;
        let output = if vector {
            None
        } else {
            let k = tree_info[pos];
            if k < 0 || k as u64 >= n_outputs {
                return Err(ImportError::at_path(
                    info_at.item_path(pos),
                    format!("output group {k} is outside the model's {n_outputs} outputs"),
                ));
            }
            Some(k as u32)
        };
        trees.push(Tree {
            nodes,
            output,
            weight: weights.get(pos).copied().unwrap_or(1.0),
        });
    }
    if any_vector && trees.iter().any(|t| t.output.is_some()) {
        return Err(trees_at.err("the model mixes vector-leaf and scalar-leaf trees"));
    }

    let feature_names = match learner.opt("feature_names")? {
        Some(a) => {
            let names = a.strings()?;
            if names.is_empty() {
                None
            } else if names.len() as u64 != num_feature {
                return Err(a.err(format!("{} names for {num_feature} features", names.len())));
            } else {
                Some(names)
            }
        }
        None => None,
    };
    if let Some(a) = learner.opt("feature_types")? {
        let types = a.strings()?;
        if !types.is_empty() && types.len() as u64 != num_feature {
            return Err(a.err(format!("{} types for {num_feature} features", types.len())));
        }
    }

    let mut source = format!("xgboost {version}, {obj_name}");
    if !weights.is_empty() || booster == "dart" {
        source.push_str(", dart");
    }
    if any_vector {
        source.push_str(", vector leaves");
    }
    Ok(Ensemble {
        n_features: num_feature as u32,
        n_outputs: n_outputs as u32,
        trees,
        base_margin,
        compare: Compare::Less,
        aggregate: Aggregate::Sum,
        transform,
        precision: Precision::F32,
        feature_names,
        source,
        input_f64: false,
    })
}

/// Reads one tree: its reachable nodes (root first) and whether its leaves are vectors.
/// How the XGBoost release that saved a model decides categorical splits for values that are not a valid
/// category (the decisions for valid categories and for NaN are the same in every release).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CategoryRule {
    /// 1.7+: a value that is negative, at least 2²⁴, or beyond the node's bitset goes left (it is "not in the
    /// set").
    Standard,
    /// 1.5: the value is truncated to an integer first, so `(-1, 0)` reads as category 0.
    Truncating,
    /// 1.6: a negative value, one at least 2²⁴, or one beyond the node's bitset (32 categories per word) takes
    /// the node's default direction.
    InvalidToDefault,
}

/// The IR test of an XGBoost categorical split whose set sends its members right.
fn categorical_test(set: Vec<u32>, default_left: bool, rule: CategoryRule) -> Test {
    match rule {
        CategoryRule::InvalidToDefault if !default_left => {
            // Invalid values go right with the members, valid non-members go left: that is "members of the
            // complement within the bitset's range go left".
            let words = set.iter().max().map_or(0, |&m| m / 32 + 1);
            let complement = (0..32 * words).filter(|c| !set.contains(c)).collect();
            Test::Categorical {
                categories: complement,
                in_set_left: true,
                truncate_first: false,
            }
        }
        _ => Test::Categorical {
            categories: set,
            in_set_left: false,
            truncate_first: rule == CategoryRule::Truncating,
        },
    }
}

fn parse_tree(
    at: &At<'_>,
    n_features: u64,
    n_out: usize,
    cat_rule: CategoryRule,
) -> Result<(Vec<Node>, bool)> {
    let tp = at.opt("tree_param")?;
    let leaf_size = match &tp {
        Some(tp) => match tp.opt("size_leaf_vector")? {
            Some(s) => s.param_uint()?.max(1),
            None => 1,
        },
        None => 1,
    };
    let vector = leaf_size > 1;
    if vector && leaf_size != n_out as u64 {
        return Err(tp.as_ref().unwrap_or(at).err(format!(
            "size_leaf_vector {leaf_size} does not match the model's {n_out} outputs"
        )));
    }

    let left_at = at.key("left_children")?;
    let right_at = at.key("right_children")?;
    let left = left_at.ints()?;
    let right = right_at.ints()?;
    let n = left.len();
    if n == 0 {
        return Err(left_at.err("a tree needs at least one node"));
    }
    if let Some(tp) = &tp
        && let Some(nn) = tp.opt("num_nodes")?
    {
        let count = nn.param_uint()?;
        if count != n as u64 {
            return Err(nn.err(format!("says {count} nodes but left_children has {n}")));
        }
    }
    let check_len = |a: &At<'_>, len: usize| -> Result<()> {
        if len == n {
            Ok(())
        } else {
            Err(a.err(format!("{len} entries, expected one per node ({n})")))
        }
    };
    check_len(&right_at, right.len())?;
    let feat_at = at.key("split_indices")?;
    let features = feat_at.ints()?;
    check_len(&feat_at, features.len())?;
    let cond_at = at.key("split_conditions")?;
    let conds = cond_at.f32s()?;
    check_len(&cond_at, conds.len())?;
    let dl_at = at.key("default_left")?;
    let default_left = dl_at.flags()?;
    check_len(&dl_at, default_left.len())?;

    // Categorical splits.
    let split_type = match at.opt("split_type")? {
        Some(st) => {
            let v = st.ints()?;
            check_len(&st, v.len())?;
            if let Some(i) = v.iter().position(|&x| x != 0 && x != 1) {
                return Err(ImportError::at_path(
                    st.item_path(i),
                    format!("expected 0 (numerical) or 1 (categorical), found {}", v[i]),
                ));
            }
            Some(v)
        }
        None => None,
    };
    let mut sets: Vec<Option<Vec<u32>>> = Vec::new();
    if split_type.as_ref().is_some_and(|s| s.contains(&1)) {
        sets = vec![None; n];
        let nodes_at = at.key("categories_nodes")?;
        let seg_at = at.key("categories_segments")?;
        let size_at = at.key("categories_sizes")?;
        let cats_at = at.key("categories")?;
        let cat_nodes = nodes_at.ints()?;
        let segs = seg_at.ints()?;
        let sizes = size_at.ints()?;
        let cats = cats_at.ints()?;
        if segs.len() != cat_nodes.len() {
            return Err(seg_at.err(format!(
                "{} entries for {} categorical nodes",
                segs.len(),
                cat_nodes.len()
            )));
        }
        if sizes.len() != cat_nodes.len() {
            return Err(size_at.err(format!(
                "{} entries for {} categorical nodes",
                sizes.len(),
                cat_nodes.len()
            )));
        }
        for (k, &node) in cat_nodes.iter().enumerate() {
            if node < 0 || node as usize >= n {
                return Err(ImportError::at_path(
                    nodes_at.item_path(k),
                    format!("node {node} is outside the tree's {n} nodes"),
                ));
            }
            let (seg, size) = (segs[k], sizes[k]);
            let end = seg.checked_add(size);
            if seg < 0 || size < 0 || end.is_none_or(|e| e as u64 > cats.len() as u64) {
                return Err(ImportError::at_path(
                    seg_at.item_path(k),
                    format!(
                        "segment [{seg}, {seg} + {size}) is outside the {} categories",
                        cats.len()
                    ),
                ));
            }
            let mut set = Vec::with_capacity(size as usize);
            let first = seg as usize;
            for (j, &c) in cats.iter().enumerate().skip(first).take(size as usize) {
                if !(0..1 << 24).contains(&c) {
                    return Err(ImportError::at_path(
                        cats_at.item_path(j),
                        format!("category {c} is outside [0, 2^24)"),
                    ));
                }
                set.push(c as u32);
            }
            sets[node as usize] = Some(set);
        }
    }

    // Vector leaves: rows of `leaf_weights` indexed by the leaf's right child (3.2+), or of `base_weights`
    // indexed by node (2.0–3.1).
    let k = leaf_size as usize;
    let leaf_rows: Option<(At<'_>, Vec<f32>, bool)> = if vector {
        match at.opt("leaf_weights")? {
            Some(lw) => {
                let v = lw.f32s()?;
                if v.len() % k != 0 {
                    return Err(lw.err(format!("{} values are not whole rows of {k}", v.len())));
                }
                Some((lw, v, true))
            }
            None => {
                let bw = at.key("base_weights")?;
                let v = bw.f32s()?;
                if v.len() != n * k {
                    return Err(bw.err(format!(
                        "{} values, expected {n} nodes × {k} targets",
                        v.len()
                    )));
                }
                Some((bw, v, false))
            }
        }
    } else {
        None
    };

    // Walk from the root; only reachable nodes are kept, renumbered in visiting order.
    let mut new_index = vec![usize::MAX; n];
    let mut nodes: Vec<Node> = vec![Node::Leaf(Vec::new())];
    new_index[0] = 0;
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        let me = new_index[i];
        if left[i] == -1 {
            let values = match &leaf_rows {
                None => {
                    let v = conds[i];
                    if !v.is_finite() {
                        return Err(ImportError::at_path(
                            cond_at.item_path(i),
                            format!("leaf value {v} is not finite"),
                        ));
                    }
                    vec![v as f64]
                }
                Some((rows_at, rows, by_right)) => {
                    let row = if *by_right {
                        let r = right[i];
                        if r < 0
                            || (r as u64).saturating_add(1).saturating_mul(k as u64)
                                > rows.len() as u64
                        {
                            return Err(ImportError::at_path(
                                right_at.item_path(i),
                                format!(
                                    "leaf row {r} is outside leaf_weights' {} rows",
                                    rows.len() / k
                                ),
                            ));
                        }
                        r as usize
                    } else {
                        i
                    };
                    let values = &rows[row * k..row * k + k];
                    if let Some(j) = values.iter().position(|x| !x.is_finite()) {
                        return Err(ImportError::at_path(
                            rows_at.item_path(row * k + j),
                            "leaf value is not finite",
                        ));
                    }
                    values.iter().map(|&x| x as f64).collect()
                }
            };
            nodes[me] = Node::Leaf(values);
            continue;
        }
        let mut children = [0usize; 2];
        for (slot, (arr_at, c)) in [(&left_at, left[i]), (&right_at, right[i])]
            .into_iter()
            .enumerate()
        {
            if c < 0 || c as u64 >= n as u64 {
                return Err(ImportError::at_path(
                    arr_at.item_path(i),
                    format!("child {c} is outside the tree's {n} nodes"),
                ));
            }
            let c = c as usize;
            if new_index[c] != usize::MAX {
                return Err(ImportError::at_path(
                    arr_at.item_path(i),
                    format!("node {c} is reached twice (the nodes do not form a tree)"),
                ));
            }
            new_index[c] = nodes.len();
            nodes.push(Node::Leaf(Vec::new()));
            children[slot] = new_index[c];
            stack.push(c);
        }
        let f = features[i];
        if f < 0 || f as u64 >= n_features {
            return Err(ImportError::at_path(
                feat_at.item_path(i),
                format!("feature {f} is outside the model's {n_features} features"),
            ));
        }
        let categorical = split_type.as_ref().is_some_and(|s| s[i] == 1);
        let test = if categorical {
            let set = sets.get(i).cloned().flatten().ok_or_else(|| {
                ImportError::at_path(
                    format!("{}.categories_nodes", at.path),
                    format!("node {i} is a categorical split without a category set"),
                )
            })?;
            categorical_test(set, default_left[i], cat_rule)
        } else {
            let t = conds[i];
            // `x < NaN` is never true: the same decisions as a threshold of -inf.
            let t = if t.is_nan() { f32::NEG_INFINITY } else { t };
            Test::Numeric(t as f64)
        };
        nodes[me] = Node::Split(Split {
            feature: f as u32,
            test,
            default_left: default_left[i],
            missing: MissingMode::Nan,
            left: children[0],
            right: children[1],
        });
    }
    Ok((nodes, vector))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::blob;
    use crate::proptest_config::proptest_config;
    use proptest::prelude::*;

    /// A model in the 1.0–1.4 style: boolean `default_left`, no `split_type`, `size_leaf_vector` 0, pruned
    /// (deleted) nodes, XGBoost's bare `NaN` token in a statistic, trees listed out of `id` order.
    const V1_MODEL: &str = r#"{
      "version": [1, 0, 0],
      "learner": {
        "attributes": {},
        "gradient_booster": {
          "name": "gbtree",
          "model": {
            "gbtree_model_param": {"num_trees": "2", "size_leaf_vector": "0"},
            "trees": [
              {
                "id": 1,
                "tree_param": {"num_deleted": "2", "num_feature": "3", "num_nodes": "5", "size_leaf_vector": "0"},
                "left_children": [1, -1, -1, -1, -1],
                "right_children": [2, -1, -1, -1, -1],
                "parents": [2147483647, 0, 0, 2, 2],
                "split_indices": [2, 0, 0, 2147483647, 2147483647],
                "split_conditions": [-1.0, 0.05, -0.05, 0.0, 0.0],
                "default_left": [true, false, false, false, false],
                "loss_changes": [NaN, 0.0, 0.0, -Infinity, Infinity],
                "sum_hessian": [1.0, 1.0, 1.0, 1.0, 1.0],
                "base_weights": [0.0, 0.0, 0.0, 0.0, 0.0],
                "leaf_child_cnt": [0, 0, 0, 0, 0]
              },
              {
                "id": 0,
                "tree_param": {"num_feature": "3", "num_nodes": "5", "size_leaf_vector": "0"},
                "left_children": [1, -1, 3, -1, -1],
                "right_children": [2, -1, 4, -1, -1],
                "parents": [2147483647, 0, 0, 2, 2],
                "split_indices": [0, 0, 1, 0, 0],
                "split_conditions": [0.5, 0.1, 1.5, -0.2, 0.3],
                "default_left": [true, false, false, false, false],
                "loss_changes": [1.0, 0.0, 1.0, 0.0, 0.0],
                "sum_hessian": [1.0, 1.0, 1.0, 1.0, 1.0],
                "base_weights": [0.0, 0.0, 0.0, 0.0, 0.0]
              }
            ],
            "tree_info": [0, 0]
          }
        },
        "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "3"},
        "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}
      }
    }"#;

    /// A 3.1-style multi-class model: vector `base_score`, integer flags, a categorical split, DART weights
    /// beside the nested booster.
    const V31_MODEL: &str = r#"{
      "version": [3, 1, 0],
      "learner": {
        "feature_names": ["a", "b"],
        "feature_types": ["c", "q"],
        "gradient_booster": {
          "name": "dart",
          "gbtree": {
            "name": "gbtree",
            "model": {
              "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "3"},
              "iteration_indptr": [0, 3],
              "tree_info": [0, 1, 2],
              "trees": [
                {"id": 0, "tree_param": {"num_nodes": "3", "size_leaf_vector": "1", "num_feature": "2"},
                 "left_children": [1, -1, -1], "right_children": [2, -1, -1],
                 "split_indices": [0, 0, 0], "split_conditions": [NaN, 1.0, 2.0],
                 "default_left": [0, 0, 0], "split_type": [1, 0, 0],
                 "categories_nodes": [0], "categories_segments": [0], "categories_sizes": [2],
                 "categories": [1, 3]},
                {"id": 1, "tree_param": {"num_nodes": "1", "size_leaf_vector": "1", "num_feature": "2"},
                 "left_children": [-1], "right_children": [-1], "split_indices": [0],
                 "split_conditions": [0.5], "default_left": [0], "split_type": [0],
                 "categories_nodes": [], "categories_segments": [], "categories_sizes": [], "categories": []},
                {"id": 2, "tree_param": {"num_nodes": "3", "size_leaf_vector": "1", "num_feature": "2"},
                 "left_children": [1, -1, -1], "right_children": [2, -1, -1],
                 "split_indices": [1, 0, 0], "split_conditions": [0.25, -1.0, 1.0],
                 "default_left": [1, 0, 0], "split_type": [0, 0, 0],
                 "categories_nodes": [], "categories_segments": [], "categories_sizes": [], "categories": []}
              ]
            }
          },
          "weight_drop": [0.5, 1.0, 2.0]
        },
        "learner_model_param": {"base_score": "[1E0,2E0,3E0]", "num_class": "3", "num_feature": "2",
                                "num_target": "1", "boost_from_average": "1"},
        "objective": {"name": "multi:softprob", "softmax_multiclass_param": {"num_class": "3"}}
      }
    }"#;

    /// A 3.2-style vector-leaf tree: `leaf_weights` rows indexed by the leaves' `right_children`.
    const V32_VECTOR_MODEL: &str = r#"{
      "version": [3, 2, 0],
      "learner": {
        "gradient_booster": {"name": "gbtree", "model": {
          "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1"},
          "iteration_indptr": [0, 1], "tree_info": [0],
          "trees": [{"id": 0, "tree_param": {"num_nodes": "3", "size_leaf_vector": "2", "num_feature": "1"},
            "left_children": [1, -1, -1], "right_children": [2, 1, 0],
            "split_indices": [0, 0, 0], "split_conditions": [0.0, 0.0, 0.0], "default_left": [0, 0, 0],
            "base_weights": [0.0, 0.0, 9.0, 9.0, 9.0, 9.0],
            "leaf_weights": [10.0, 20.0, 30.0, 40.0]}]}},
        "learner_model_param": {"base_score": "[0E0,0E0]", "num_class": "0", "num_feature": "1",
                                "num_target": "2"},
        "objective": {"name": "reg:squarederror"}
      }
    }"#;

    /// Test-only UBJSON writer (typed arrays where XGBoost writes them).
    fn to_ubjson(v: &Value, out: &mut Vec<u8>) {
        fn len(n: usize, out: &mut Vec<u8>) {
            out.push(b'L');
            out.extend((n as i64).to_be_bytes());
        }
        match v {
            Value::Null => out.push(b'Z'),
            Value::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
            Value::Int(i) => {
                out.push(b'L');
                out.extend(i.to_be_bytes());
            }
            Value::Float(f) => {
                if (*f as f32) as f64 == *f || f.is_nan() {
                    out.push(b'd');
                    out.extend((*f as f32).to_be_bytes());
                } else {
                    out.push(b'D');
                    out.extend(f.to_be_bytes());
                }
            }
            Value::Str(s) => {
                out.push(b'S');
                len(s.len(), out);
                out.extend(s.as_bytes());
            }
            Value::Array(items) => {
                let floats: Option<Vec<f32>> = items
                    .iter()
                    .map(|x| match x {
                        Value::Float(f) => Some(*f as f32),
                        _ => None,
                    })
                    .collect();
                let ints: Option<Vec<i32>> = items
                    .iter()
                    .map(|x| match x {
                        Value::Int(i) => i32::try_from(*i).ok(),
                        _ => None,
                    })
                    .collect();
                if let (Some(f), false) = (floats, items.is_empty()) {
                    out.extend(b"[$d#");
                    len(f.len(), out);
                    f.iter().for_each(|x| out.extend(x.to_be_bytes()));
                } else if let (Some(i), false) = (ints, items.is_empty()) {
                    out.extend(b"[$l#");
                    len(i.len(), out);
                    i.iter().for_each(|x| out.extend(x.to_be_bytes()));
                } else {
                    out.push(b'[');
                    items.iter().for_each(|x| to_ubjson(x, out));
                    out.push(b']');
                }
            }
            Value::Typed(_) => unreachable!("not produced by JSON"),
            Value::Object(entries) => {
                out.push(b'{');
                for (k, x) in entries {
                    len(k.len(), out);
                    out.extend(k.as_bytes());
                    to_ubjson(x, out);
                }
                out.push(b'}');
            }
        }
    }

    fn ubj(json: &str) -> Vec<u8> {
        let mut out = Vec::new();
        to_ubjson(&parse_json(json.as_bytes()).unwrap(), &mut out);
        out
    }

    fn f(x: f32) -> f64 {
        x as f64
    }

    #[test]
    fn v1_model() {
        let e = from_json_bytes(V1_MODEL.as_bytes()).unwrap();
        assert_eq!(e, from_ubjson_bytes(&ubj(V1_MODEL)).unwrap());
        assert_eq!(e, from_bytes(&ubj(V1_MODEL)).unwrap());
        assert_eq!((e.n_features, e.n_outputs, e.trees.len()), (3, 1, 2));
        assert_eq!(e.base_margin, vec![0.0]);
        assert_eq!(e.transform, Transform::Sigmoid);
        assert_eq!(e.source, "xgboost 1.0.0, binary:logistic");
        // Tree 0 is the one with id 0; the deleted nodes of tree 1 are dropped.
        assert_eq!(e.trees[0].nodes.len(), 5);
        assert_eq!(e.trees[1].nodes.len(), 3);
        let nan = f32::NAN;
        for (row, want) in [
            ([0.0, 2.0, -2.0], f(0.1) + f(0.05)),
            ([nan, 1.0, 0.0], f(0.1) - f(0.05)),
            ([1.0, nan, nan], f(0.3) + f(0.05)),
            // Values equal to a threshold go right (`x < t`).
            ([0.5, 1.5, -1.0], f(0.3) - f(0.05)),
        ] {
            assert_eq!(e.margin_reference(&row), vec![want], "{row:?}");
        }
        assert!(blob::write(&e).is_ok());
    }

    #[test]
    fn v31_multiclass_categorical_dart() {
        let e = from_json_bytes(V31_MODEL.as_bytes()).unwrap();
        assert_eq!(e, from_ubjson_bytes(&ubj(V31_MODEL)).unwrap());
        assert_eq!(e.n_outputs, 3);
        assert_eq!(e.base_margin, vec![1.0, 2.0, 3.0]);
        assert_eq!(e.transform, Transform::Softmax);
        assert_eq!(
            e.feature_names,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            e.trees
                .iter()
                .map(|t| (t.output, t.weight))
                .collect::<Vec<_>>(),
            vec![(Some(0), 0.5), (Some(1), 1.0), (Some(2), 2.0)]
        );
        // Category 1 or 3 → right (2.0), otherwise (negative, fractional-negative, absent) left.
        let m = |x0: f32, x1: f32| e.margin_reference(&[x0, x1]);
        assert_eq!(m(1.0, 0.0), vec![1.0 + 0.5 * 2.0, 2.5, 3.0 - 2.0]);
        assert_eq!(m(3.7, 1.0), vec![1.0 + 0.5 * 2.0, 2.5, 3.0 + 2.0]);
        assert_eq!(m(2.0, f32::NAN), vec![1.0 + 0.5, 2.5, 3.0 - 2.0]);
        assert_eq!(m(-0.5, 0.0)[0], 1.5);
        // Missing: default_left is 0, so right.
        assert_eq!(m(f32::NAN, 0.0)[0], 2.0);
        assert_eq!(e.source, "xgboost 3.1.0, multi:softprob, dart");
        assert!(blob::write(&e).is_ok());
    }

    #[test]
    fn release_specific_category_rules() {
        let m = |doc: &str, x0: f32| {
            let e = from_json_bytes(doc.as_bytes()).unwrap();
            assert!(blob::write(&e).is_ok());
            e.margin_reference(&[x0, 0.0])[0]
        };
        let (left, right) = (1.5, 2.0);
        // 1.7+: invalid values are "not in the set" and go left.
        for x in [-1.0, -0.5, 32.0, 1e9] {
            assert_eq!(m(V31_MODEL, x), left, "{x}");
        }
        // 1.6: invalid values (negative, beyond the one-word bitset) take the default direction (right here).
        let v16 = V31_MODEL.replace("[3, 1, 0]", "[1, 6, 2]");
        for (x, want) in [
            (-1.0, right),
            (-0.5, right),
            (32.0, right),
            (1e9, right),
            (0.0, left),
        ] {
            assert_eq!(m(&v16, x), want, "{x}");
        }
        assert_eq!(
            (m(&v16, 1.0), m(&v16, 3.5), m(&v16, 31.0)),
            (right, right, left)
        );
        // 1.5: values are truncated first, so -0.5 is category 0.
        let v15 = V31_MODEL
            .replace("[3, 1, 0]", "[1, 5, 1]")
            .replace(r#""categories": [1, 3]"#, r#""categories": [0, 3]"#);
        assert_eq!(
            (m(&v15, -0.5), m(&v15, -1.0), m(&v15, 0.0)),
            (right, left, right)
        );
    }

    #[test]
    fn v32_vector_leaves() {
        let e = from_json_bytes(V32_VECTOR_MODEL.as_bytes()).unwrap();
        assert_eq!(e, from_ubjson_bytes(&ubj(V32_VECTOR_MODEL)).unwrap());
        assert_eq!(e.trees[0].output, None);
        assert_eq!(e.margin_reference(&[-1.0]), vec![30.0, 40.0]);
        assert_eq!(e.margin_reference(&[1.0]), vec![10.0, 20.0]);
        // Without `leaf_weights` (3.0–3.1), rows of `base_weights` by node.
        let old =
            V32_VECTOR_MODEL.replace(r#""leaf_weights": [10.0, 20.0, 30.0, 40.0]"#, r#""x": 0"#);
        let e = from_json_bytes(old.as_bytes()).unwrap();
        assert_eq!(e.margin_reference(&[-1.0]), vec![9.0, 9.0]);
        assert!(blob::write(&e).is_ok());
    }

    #[test]
    fn dart_weights_inside_the_model() {
        // 3.4: booster saved as `gbtree`, weights in `model`.
        let doc = V1_MODEL.replace(
            r#""tree_info": [0, 0]"#,
            r#""tree_info": [0, 0], "weight_drop": [2.0, 3.0]"#,
        );
        let e = from_json_bytes(doc.as_bytes()).unwrap();
        assert_eq!(
            e.trees.iter().map(|t| t.weight).collect::<Vec<_>>(),
            vec![2.0, 3.0]
        );
        // Fewer weights than trees: the rest weigh 1.
        let doc = V1_MODEL.replace(
            r#""tree_info": [0, 0]"#,
            r#""tree_info": [0, 0], "weight_drop": [2.0]"#,
        );
        let e = from_json_bytes(doc.as_bytes()).unwrap();
        assert_eq!(
            e.trees.iter().map(|t| t.weight).collect::<Vec<_>>(),
            vec![2.0, 1.0]
        );
    }

    #[test]
    fn quantiles_are_sorted_for_models_saved_by_3_4_and_later() {
        let doc = |version: &str, targets: &str| {
            V1_MODEL
                .replace("[1, 0, 0]", version)
                .replace("binary:logistic", "reg:quantileerror")
                .replace(
                    r#""num_class": "0""#,
                    &format!(r#""num_target": "{targets}""#),
                )
                .replace(r#""tree_info": [0, 0]"#, r#""tree_info": [0, 1]"#)
        };
        for (version, targets, want) in [
            ("[3, 4, 1]", "2", Transform::SortAscending),
            ("[3, 4, 0]", "2", Transform::SortAscending),
            ("[4, 0, 0]", "2", Transform::SortAscending),
            ("[3, 3, 0]", "2", Transform::Identity),
            ("[2, 1, 4]", "2", Transform::Identity),
            ("[3, 4, 1]", "1", Transform::Identity),
        ] {
            let mut text = doc(version, targets);
            if targets == "1" {
                text = text.replace(r#""tree_info": [0, 1]"#, r#""tree_info": [0, 0]"#);
            }
            let e = from_json_bytes(text.as_bytes()).unwrap();
            assert_eq!(e.transform, want, "version {version}, {targets} quantiles");
            assert_eq!(from_ubjson_bytes(&ubj(&text)).unwrap().transform, want);
        }
        assert!(!sorts_quantiles(&[]));
    }

    #[test]
    fn links_in_f32() {
        assert_eq!(Link::Logit.to_margin(0.5), Some(0.0));
        assert_eq!(Link::Logit.to_margin(0.25), Some(-(3.0f32.ln())));
        assert!(
            Link::Logit
                .to_margin(1.0)
                .is_some_and(|m| m.is_finite() && m > 13.0)
        );
        assert_eq!(Link::Log.to_margin(2.0), Some(2.0f32.ln()));
        assert_eq!(Link::Log.to_margin(0.0), None);
        assert_eq!(Link::Identity.to_margin(-7.5), Some(-7.5));
        for (name, t) in [
            ("reg:tweedie", Transform::Exp),
            ("multi:softmax", Transform::ArgMax),
            ("binary:hinge", Transform::HingeStep),
            ("rank:ndcg", Transform::Identity),
        ] {
            assert_eq!(objective(name).map(|o| o.0), Some(t));
        }
        assert_eq!(objective("mylogistic"), None);
    }

    #[test]
    fn numbers_are_read_as_xgboost_reads_them() {
        // Rounded to f64 first, this decimal lands on an f32 midpoint and then rounds the wrong way.
        let v = parse_json(b"[7.038531e-26, -7.038531e-26, NaN, -Infinity, \"NaN\"]").unwrap();
        let Value::Array(items) = v else {
            panic!("not an array")
        };
        let Value::Float(a) = items[0] else { panic!() };
        assert_eq!((a as f32).to_bits(), 363742205);
        let Value::Float(b) = items[1] else { panic!() };
        assert_eq!((b as f32).to_bits(), 2511225853);
        assert!(matches!(items[2], Value::Float(x) if x.is_nan()));
        assert_eq!(items[3], Value::Float(f64::NEG_INFINITY));
        assert_eq!(items[4], Value::Str("NaN".into()));
        assert_eq!(
            parse_json(br#"{"a\"NaN": 1}"#).unwrap().get("a\"NaN"),
            Some(&Value::Int(1))
        );
    }

    #[test]
    fn binary_objectives_refuse_a_class_count() {
        let doc = |num_class: &str| {
            format!(
                r#"{{"learner": {{"learner_model_param": {{"base_score": "5E-1", "num_class": "{num_class}",
                "num_feature": "1"}}, "objective": {{"name": "binary:logistic"}},
                "gradient_booster": {{"name": "gbtree", "model": {{"trees": [], "tree_info": []}}}}}}}}"#
            )
        };
        let e = from_json_bytes(doc("65536").as_bytes()).unwrap_err();
        assert_eq!(
            e.location,
            super::super::Location::Path("learner.learner_model_param.num_class".into())
        );
        assert!(e.message.contains("num_class is 65536"), "{e}");
        assert!(from_json_bytes(doc("0").as_bytes()).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_skipped_by_every_path() {
        let plain = from_json_bytes(V1_MODEL.as_bytes()).unwrap();
        let bom = [b"\xef\xbb\xbf", V1_MODEL.as_bytes()].concat();
        assert_eq!(from_json_bytes(&bom).unwrap(), plain);
        assert_eq!(from_bytes(&bom).unwrap(), plain);
        let path = std::env::temp_dir().join(format!("emkern-bom-{}.json", std::process::id()));
        std::fs::write(&path, &bom).unwrap();
        let loaded = load(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.unwrap(), plain);
        assert!(from_bytes(b"binf").is_err());
        assert!(from_bytes(b"EMKF\x01").is_err());
    }

    fn err(doc: &str) -> ImportError {
        match from_json_bytes(doc.as_bytes()) {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn errors_name_the_path() {
        let e = err(&V1_MODEL.replace(
            "\"left_children\": [1, -1, 3, -1, -1]",
            "\"left_children\": [1, -1, 7, -1, -1]",
        ));
        assert_eq!(
            e.location,
            super::super::Location::Path(
                "learner.gradient_booster.model.trees[1].left_children[2]".into()
            )
        );
        assert!(e.message.contains("child 7"), "{e}");

        let e = err(&V1_MODEL.replace("binary:logistic", "my:objective"));
        assert_eq!(
            e.to_string().split(':').next(),
            Some("learner.objective.name")
        );
        assert!(e.message.contains("`my:objective`"), "{e}");

        let e = err(&V31_MODEL.replace("[1E0,2E0,3E0]", "[1E0,2E0]"));
        assert!(
            e.to_string()
                .starts_with("learner.learner_model_param.base_score: 2 base scores")
        );

        let e = err(&V1_MODEL.replace("\"tree_info\"", "\"tree_inf\""));
        assert_eq!(
            e.to_string(),
            "learner.gradient_booster.model.tree_info: missing (required field)"
        );

        let e = err(&V1_MODEL.replace(
            "\"split_indices\": [0, 0, 1, 0, 0]",
            "\"split_indices\": [0, 0, 3, 0, 0]",
        ));
        assert!(
            e.to_string()
                .starts_with("learner.gradient_booster.model.trees[1].split_indices[2]: feature 3")
        );

        let e = err(&V1_MODEL.replace(
            "\"left_children\": [1, -1, 3, -1, -1]",
            "\"left_children\": [1, -1, 3, -1, 1]",
        ));
        assert!(e.message.contains("reached twice"), "{e}");

        let e = err(&V1_MODEL.replace("\"gbtree\"", "\"gblinear\""));
        assert!(e.message.contains("gblinear"), "{e}");

        let e = err(&V31_MODEL.replace("\"categories_sizes\": [2]", "\"categories_sizes\": [3]"));
        assert!(
            e.to_string().contains("trees[0].categories_segments[0]"),
            "{e}"
        );

        let e = err(&V1_MODEL[..200]);
        assert!(matches!(e.location, super::super::Location::Line(_)), "{e}");

        let e = from_ubjson_bytes(&ubj(V1_MODEL)[..300]).unwrap_err();
        assert!(matches!(e.location, super::super::Location::Byte(_)), "{e}");
    }

    fn fixture(name: &str) -> Option<Vec<u8>> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/xgboost")
            .join(name);
        std::fs::read(path).ok()
    }

    /// Valid documents to mutate: the embedded ones, plus a real fixture pair when present.
    fn corpus() -> Vec<Vec<u8>> {
        let mut docs = vec![
            V1_MODEL.as_bytes().to_vec(),
            V31_MODEL.as_bytes().to_vec(),
            ubj(V1_MODEL),
            ubj(V31_MODEL),
            ubj(V32_VECTOR_MODEL),
        ];
        for name in [
            "v3.4.1-categorical-pandas/model.json",
            "v3.4.1-categorical-pandas/model.ubj",
            "v3.4.1-multi-softprob-vector-leaf/model.ubj",
        ] {
            docs.extend(fixture(name));
        }
        docs
    }

    proptest! {
        #![proptest_config(proptest_config(256))]

        #[test]
        fn truncated_documents_are_errors(doc in 0usize..8, cut in 0.0f64..1.0) {
            let corpus = corpus();
            let bytes = &corpus[doc % corpus.len()];
            let trimmed = bytes.trim_ascii_end();
            let at = ((trimmed.len() - 1) as f64 * cut) as usize;
            prop_assert!(from_bytes(&trimmed[..at]).is_err());
        }

        #[test]
        fn mutated_documents_do_not_panic(
            doc in 0usize..8,
            edits in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 1..6),
        ) {
            let corpus = corpus();
            let mut bytes = corpus[doc % corpus.len()].clone();
            for (pos, byte) in edits {
                let i = ((bytes.len() - 1) as f64 * pos) as usize;
                bytes[i] = byte;
            }
            // Whatever is accepted must be a model the blob writer and the core agree on.
            if let Ok(e) = from_bytes(&bytes)
                && let Ok(b) = blob::write(&e)
            {
                let f = emkern::forest::Forest::new(&b);
                prop_assert!(f.is_ok(), "{:?}", f.err());
            }
        }
    }
}

/// The legacy binary reader on a model written field by field (here, beside the translation it feeds, so that
/// `xgboost_binary` imports nothing of this file).
#[cfg(test)]
mod legacy_binary_tests {
    use super::super::xgboost_binary::{
        GBTREE_PARAM, HEADER, LEARNER_PARAM, NODE_STAT, TREE_PARAM,
    };
    use super::from_legacy_binary_bytes as from_bytes;

    /// A one-tree `reg:squarederror` model: a root split `x0 < 0.5` (default left) and two leaves, written
    /// field by field as the format above defines it.
    fn tiny(header: bool, major: u32) -> Vec<u8> {
        let mut b = Vec::new();
        if header {
            b.extend_from_slice(HEADER);
        }
        let mut lp = [0u8; LEARNER_PARAM];
        lp[0..4].copy_from_slice(&0.25f32.to_le_bytes());
        lp[4..8].copy_from_slice(&2u32.to_le_bytes());
        lp[20..24].copy_from_slice(&major.to_le_bytes());
        lp[24..28].copy_from_slice(&7u32.to_le_bytes());
        b.extend_from_slice(&lp);
        for s in ["reg:squarederror", "gbtree"] {
            b.extend_from_slice(&(s.len() as u64).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        let mut gp = [0u8; GBTREE_PARAM];
        gp[0..4].copy_from_slice(&1i32.to_le_bytes());
        gp[4..8].copy_from_slice(&1i32.to_le_bytes());
        b.extend_from_slice(&gp);
        let mut tp = [0u8; TREE_PARAM];
        tp[0..4].copy_from_slice(&1i32.to_le_bytes());
        tp[4..8].copy_from_slice(&3i32.to_le_bytes());
        b.extend_from_slice(&tp);
        let node = |parent: i32, l: i32, r: i32, sindex: u32, v: f32| {
            let mut n = Vec::new();
            for x in [parent, l, r] {
                n.extend_from_slice(&x.to_le_bytes());
            }
            n.extend_from_slice(&sindex.to_le_bytes());
            n.extend_from_slice(&v.to_le_bytes());
            n
        };
        b.extend(node(-1, 1, 2, 1 << 31, 0.5));
        b.extend(node(i32::MIN, -1, -1, 0, -1.5));
        b.extend(node(0, -1, -1, 0, 2.0));
        b.extend(std::iter::repeat_n(0u8, 3 * NODE_STAT));
        b.extend_from_slice(&0i32.to_le_bytes());
        b
    }

    #[test]
    fn reads_the_format_as_defined() {
        for header in [true, false] {
            let e = from_bytes(&tiny(header, 1)).unwrap();
            assert_eq!(e.n_features, 2);
            assert_eq!(e.base_margin, vec![0.25]);
            assert_eq!(e.trees.len(), 1);
            assert_eq!(e.margin_reference(&[0.0, 0.0]), vec![0.25 - 1.5]);
            assert_eq!(e.margin_reference(&[0.5, 0.0]), vec![0.25 + 2.0]);
            assert_eq!(e.margin_reference(&[f32::NAN, 0.0]), vec![0.25 - 1.5]);
            assert!(
                e.source.contains("xgboost 1.7 (legacy binary)"),
                "{}",
                e.source
            );
        }
    }

    #[test]
    fn damage_is_an_error_at_a_byte() {
        let e = from_bytes(&tiny(true, 0)).unwrap_err();
        assert_eq!(e.location, super::super::Location::Byte(4 + 20));
        let good = tiny(true, 1);
        for cut in [0, 3, 10, 150, 200, good.len() - 1] {
            let e = from_bytes(&good[..cut]).unwrap_err();
            assert!(
                matches!(e.location, super::super::Location::Byte(_)),
                "{cut}: {e}"
            );
        }
        let mut long = good.clone();
        long.push(0);
        assert!(
            from_bytes(&long)
                .unwrap_err()
                .message
                .contains("after the model")
        );
        // A child index out of range is caught by the tree reader.
        let mut bad = good;
        let node0 = 4 + LEARNER_PARAM + 8 + 16 + 8 + 6 + GBTREE_PARAM + TREE_PARAM;
        bad[node0 + 4..node0 + 8].copy_from_slice(&9i32.to_le_bytes());
        assert!(from_bytes(&bad).is_err());
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_config::proptest_config(256))]

        /// Any byte changed anywhere gives a model or an error, never a panic.
        #[test]
        fn mutated_files_do_not_panic(at in 0usize..600, byte in proptest::prelude::any::<u8>()) {
            let mut b = tiny(true, 1);
            let at = at % b.len();
            b[at] = byte;
            let _ = from_bytes(&b);
        }
    }
}
