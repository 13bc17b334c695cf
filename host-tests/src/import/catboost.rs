//! CatBoost model importer: the JSON model format (`model.save_model(path, format="json")`), into the
//! [ensemble IR](crate::ir).
//!
//! What the translation honours (CatBoost 1.x JSON):
//!
//! - `oblivious_trees` (symmetric trees, CatBoost's default): each tree's `splits` are tested at every level; split
//!   `i` contributes bit `i` of the leaf index (`1` when the split's condition holds), and `leaf_values` holds
//!   `2^depth × dimension` values, leaf-major (`leaf_values[leaf · dimension + k]`). Each tree is expanded into a
//!   binary tree of `2^depth` leaves that tests split 0 at the root and split `depth − 1` last. Depths above
//!   [`MAX_DEPTH`] (CatBoost's own limit) are rejected.
//! - `trees` (non-symmetric trees, `grow_policy` `Depthwise` or `Lossguide`): nested nodes with `split`, `left`
//!   (the condition does not hold) and `right` (it holds); leaves hold `value`, a number or one number per
//!   dimension.
//! - Splits of type `FloatFeature`: the condition is `x > border` with `x` and `border` in f32 (CatBoost stores
//!   borders as f32 and reads inputs as f32). The IR's [`Compare::LessEqual`] with the border as threshold goes
//!   left exactly when the condition fails, for every f32 input, so no threshold is moved. NaN follows the
//!   feature's `nan_value_treatment`: `AsIs` and `AsFalse` (training option `nan_mode` `Min`) send it to the
//!   "false" side, `AsTrue` (`nan_mode` `Max`) to the "true" side.
//! - `features_info`: `float_features` map a split's `float_feature_index` to the column of the input row
//!   (`flat_feature_index`); the row is as wide as the largest flat index of any feature, categorical ones
//!   included.
//! - One-hot splits (`OneHotFeature`, categorical features with fewer categories than `one_hot_max_size`): the
//!   condition is `hash(category) == value`, with CatBoost's hash of the category's text ([`category_hash`]).
//!   emkern reads categories as integers `0..2^24` (CatBoost reads an integer category as its decimal text): each
//!   hash in `categorical_features[*].values` is mapped back to the integer with that hash, and the split becomes
//!   a one-category set. A hash no such integer has (a text category) is an error naming the feature.
//! - Splits on CTRs (`OnlineCtr`, target statistics over categories) and any other split type are rejected, as
//!   are text and embedding features, naming the feature.
//! - `scale_and_bias`: CatBoost's raw value is `scale · Σ leaves + bias`; the scale is folded into the leaves
//!   (in f64) and the bias, one per dimension, is the base margin.
//! - `model_info.params.loss_function.type` → [`Transform`]: `Logloss` and `CrossEntropy` → sigmoid (CatBoost's
//!   `Probability` of class 1), `MultiClass` → softmax, `MultiClassOneVsAll` → sigmoid per class, `Poisson`
//!   and `Tweedie` → exp (CatBoost's `Exponent`), the other regression and ranking losses → identity
//!   (`RawFormulaVal`). A model without a recorded loss predicts its raw values. The CatBoost version comes from
//!   `model_info.catboost_version_info`.
//!
//! Leaves and sums are f64 ([`Precision::F64`]), as CatBoost computes them.
//!
//! Every problem is an [`ImportError`] naming the JSON path (e.g. `oblivious_trees[3].splits[1].border`), or the
//! line (JSON syntax), and what was expected.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::ImportError;
use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test, Transform, Tree,
};

/// Deepest symmetric tree accepted: CatBoost's own limit for `depth`.
pub const MAX_DEPTH: usize = 16;

/// Largest number of output dimensions accepted (a sanity bound against corrupt files).
pub const MAX_OUTPUTS: usize = 1 << 16;

/// Largest flat feature index accepted (a sanity bound against corrupt files).
pub const MAX_FEATURES: u64 = 1 << 31;

type Result<T> = std::result::Result<T, ImportError>;

/// Whether `bytes` look like a CatBoost JSON model: a JSON object with an `oblivious_trees` or a
/// `features_info` key (XGBoost's JSON has neither).
pub fn looks_like(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return false;
    }
    has_key(bytes, b"\"oblivious_trees\"") || has_key(bytes, b"\"features_info\"")
}

/// Whether `key` (quoted) occurs in `bytes` followed by optional whitespace and `:`.
fn has_key(bytes: &[u8], key: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = bytes[from..].windows(key.len()).position(|w| w == key) {
        let end = from + at + key.len();
        let next = bytes[end..].iter().find(|b| !b.is_ascii_whitespace());
        if next == Some(&b':') {
            return true;
        }
        from = end;
    }
    false
}

/// Imports a CatBoost JSON model file.
pub fn load(path: impl AsRef<Path>) -> Result<Ensemble> {
    let path = path.as_ref();
    let bytes = ImportError::read_file(path)?;
    from_json_bytes(&bytes).map_err(|e| e.in_file(path))
}

/// Imports a CatBoost JSON model from its bytes.
pub fn from_json_bytes(bytes: &[u8]) -> Result<Ensemble> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::at_line(
            e.line().max(1),
            format!("column {}: not valid JSON: {e}", e.column()),
        )
    })?;
    from_document(&doc)
}

/// A JSON value with its path, for errors that say where.
#[derive(Clone, Copy)]
struct At<'a, 'p> {
    value: &'a Value,
    path: &'p str,
}

fn err(path: &str, message: impl Into<String>) -> ImportError {
    ImportError::at_path(path, message)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> At<'a, '_> {
    fn object(self) -> Result<&'a Map<String, Value>> {
        self.value.as_object().ok_or_else(|| {
            err(
                self.path,
                format!("expected an object, found {}", kind(self.value)),
            )
        })
    }

    fn array(self) -> Result<&'a Vec<Value>> {
        self.value.as_array().ok_or_else(|| {
            err(
                self.path,
                format!("expected an array, found {}", kind(self.value)),
            )
        })
    }

    fn number(self) -> Result<f64> {
        match self.value.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(err(
                self.path,
                format!("expected a finite number, found {}", kind(self.value)),
            )),
        }
    }

    fn index(self, max: u64) -> Result<u64> {
        match self.value.as_u64() {
            Some(i) if i < max => Ok(i),
            _ => Err(err(
                self.path,
                format!("expected an integer in 0..{max}, found {}", self.value),
            )),
        }
    }

    fn string(self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| {
            err(
                self.path,
                format!("expected a string, found {}", kind(self.value)),
            )
        })
    }
}

/// The member `key` of the object at `at`, if present.
fn member<'a>(at: At<'a, '_>, key: &str) -> Result<Option<&'a Value>> {
    Ok(at.object()?.get(key))
}

/// The member `key` of the object at `at`, or an error naming it.
fn required<'a>(at: At<'a, '_>, key: &str) -> Result<&'a Value> {
    member(at, key)?.ok_or_else(|| err(at.path, format!("missing `{key}`")))
}

/// One float feature: its input column and where NaN goes.
#[derive(Clone, Copy)]
struct FloatFeature {
    column: u32,
    /// NaN takes the "true" side (`x > border`) of every split on the feature.
    nan_true: bool,
}

/// The model's features, by their indices in the JSON.
struct Features {
    float: HashMap<u64, FloatFeature>,
    /// Categorical features: index → (name, column).
    categorical: HashMap<u64, (String, u32)>,
    /// The integer category behind each one-hot value (a category hash) of `categorical_features[*].values`.
    categories: HashMap<i64, u32>,
    /// Row length: one past the largest flat index.
    n_features: u32,
    names: Option<Vec<String>>,
}

fn read_features(doc: At) -> Result<Features> {
    let info_v = required(doc, "features_info")?;
    let info = At {
        value: info_v,
        path: "features_info",
    };
    info.object()?;
    let mut names: Vec<(u32, String)> = Vec::new();
    let mut float = HashMap::new();
    let mut categorical = HashMap::new();
    let mut hashes: Vec<i64> = Vec::new();
    let mut width = 0u64;
    let mut column = |f: At, path: &str| -> Result<(u64, u32, String)> {
        let index = At {
            value: required(f, "feature_index")?,
            path: &join(path, "feature_index"),
        }
        .index(MAX_FEATURES)?;
        let flat = At {
            value: required(f, "flat_feature_index")?,
            path: &join(path, "flat_feature_index"),
        }
        .index(MAX_FEATURES)?;
        let name = match member(f, "feature_id")? {
            Some(v) => At {
                value: v,
                path: &join(path, "feature_id"),
            }
            .string()?
            .to_string(),
            None => String::new(),
        };
        width = width.max(flat + 1);
        Ok((index, flat as u32, name))
    };
    if let Some(list) = member(info, "float_features")? {
        let list_path = "features_info.float_features";
        for (i, f) in (At {
            value: list,
            path: list_path,
        })
        .array()?
        .iter()
        .enumerate()
        {
            let path = format!("{list_path}[{i}]");
            let at = At {
                value: f,
                path: &path,
            };
            let (index, flat, name) = column(at, &path)?;
            let nan_true = match member(at, "nan_value_treatment")? {
                None => false,
                Some(v) => {
                    let p = join(&path, "nan_value_treatment");
                    match (At { value: v, path: &p }).string()? {
                        "AsIs" | "AsFalse" => false,
                        "AsTrue" => true,
                        other => {
                            return Err(err(
                                &p,
                                format!("`{other}`: expected AsIs, AsFalse or AsTrue"),
                            ));
                        }
                    }
                }
            };
            if float
                .insert(
                    index,
                    FloatFeature {
                        column: flat,
                        nan_true,
                    },
                )
                .is_some()
            {
                return Err(err(
                    &join(&path, "feature_index"),
                    format!("float feature index {index} appears twice"),
                ));
            }
            names.push((flat, name));
        }
    }
    if let Some(list) = member(info, "categorical_features")? {
        let list_path = "features_info.categorical_features";
        for (i, f) in (At {
            value: list,
            path: list_path,
        })
        .array()?
        .iter()
        .enumerate()
        {
            let path = format!("{list_path}[{i}]");
            let at = At {
                value: f,
                path: &path,
            };
            let (index, flat, name) = column(at, &path)?;
            if let Some(values) = member(at, "values")? {
                let vp = join(&path, "values");
                for (k, v) in (At {
                    value: values,
                    path: &vp,
                })
                .array()?
                .iter()
                .enumerate()
                {
                    match v.as_i64() {
                        Some(h) if i32::try_from(h).is_ok() => hashes.push(h),
                        _ => {
                            return Err(err(
                                &format!("{vp}[{k}]"),
                                format!("expected a 32-bit integer (a category hash), found {v}"),
                            ));
                        }
                    }
                }
            }
            categorical.insert(index, (name.clone(), flat));
            names.push((flat, name));
        }
    }
    for (key, what) in [
        ("text_features", "text"),
        ("embedding_features", "embedding"),
    ] {
        if let Some(list) = member(info, key)? {
            let list_path = format!("features_info.{key}");
            let list = At {
                value: list,
                path: &list_path,
            }
            .array()?;
            if let Some(f) = list.first() {
                let path = format!("{list_path}[0]");
                let (_, flat, name) = column(
                    At {
                        value: f,
                        path: &path,
                    },
                    &path,
                )?;
                return Err(err(
                    &path,
                    format!(
                        "{what} feature {} (column {flat}): CatBoost computes {what} features with its own \
                         processing, which emkern cannot evaluate",
                        quoted(&name)
                    ),
                ));
            }
        }
    }
    if width == 0 {
        return Err(err("features_info", "the model has no features"));
    }
    let n_features = width as u32;
    let names = if names.len() == width as usize && names.iter().all(|(_, n)| !n.is_empty()) {
        let mut out = vec![String::new(); width as usize];
        for (flat, n) in names {
            out[flat as usize] = n;
        }
        out.iter().all(|n| !n.is_empty()).then_some(out)
    } else {
        None
    };
    Ok(Features {
        float,
        categorical,
        categories: categories_of(&hashes),
        n_features,
        names,
    })
}

/// A feature name in backquotes, or `(unnamed)`.
fn quoted(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".to_string()
    } else {
        format!("`{name}`")
    }
}

/// The CatBoost release in `model_info.catboost_version_info` (`Branch: tags/v1.2.10` → `1.2.10`).
fn version(doc: At) -> Option<String> {
    let info = doc.value.get("model_info")?.get("catboost_version_info")?;
    let text = info.as_str()?;
    let tag = text.split("tags/v").nth(1)?;
    let v: String = tag
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    (!v.is_empty()).then_some(v)
}

/// The loss function's name from `model_info.params` (an object, or JSON in a string), if recorded.
fn loss_name(doc: At) -> Result<Option<String>> {
    let Some(params) = doc.value.get("model_info").and_then(|m| m.get("params")) else {
        return Ok(None);
    };
    let parsed;
    let params = match params {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|e| {
                err(
                    "model_info.params",
                    format!("a string that is not valid JSON: {e}"),
                )
            })?;
            &parsed
        }
        v => v,
    };
    let Some(loss) = params.get("loss_function") else {
        return Ok(None);
    };
    let name = match loss {
        Value::String(s) => s.split(':').next().unwrap_or("").to_string(),
        v => At {
            value: required(
                At {
                    value: v,
                    path: "model_info.params.loss_function",
                },
                "type",
            )?,
            path: "model_info.params.loss_function.type",
        }
        .string()?
        .to_string(),
    };
    Ok(Some(name))
}

/// The transform for CatBoost's loss function, checked against the dimension of the raw values.
fn transform_for(loss: Option<&str>, dims: usize) -> Result<Transform> {
    const PATH: &str = "model_info.params.loss_function.type";
    let Some(loss) = loss else {
        return Ok(Transform::Identity);
    };
    let (transform, want_one) = match loss {
        "Logloss" | "CrossEntropy" => (Transform::Sigmoid, true),
        "MultiClass" => (Transform::Softmax, false),
        "MultiClassOneVsAll" => (Transform::Sigmoid, false),
        "Poisson" | "Tweedie" => (Transform::Exp, true),
        "RMSE" | "MAE" | "Quantile" | "Expectile" | "MAPE" | "Huber" | "LogCosh" | "Lq"
        | "MultiRMSE" | "YetiRank" | "YetiRankPairwise" | "PairLogit" | "PairLogitPairwise"
        | "QueryRMSE" | "QuerySoftMax" | "QueryCrossEntropy" | "StochasticRank" | "LambdaMart"
        | "MultiQuantile" => (Transform::Identity, false),
        other => {
            return Err(err(
                PATH,
                format!(
                    "loss function `{other}` is not supported (supported: Logloss, CrossEntropy, MultiClass, \
                     MultiClassOneVsAll, Poisson, Tweedie, and the regression and ranking losses whose \
                     prediction is the raw value)"
                ),
            ));
        }
    };
    if want_one && dims != 1 {
        return Err(err(
            PATH,
            format!("loss function `{loss}` with {dims} dimensions: expected 1"),
        ));
    }
    Ok(transform)
}

/// `scale_and_bias`: `[scale, [bias, …]]` (or a scalar bias); absent means `1` and `0`.
fn scale_and_bias(doc: At) -> Result<(f64, Option<Vec<f64>>)> {
    const PATH: &str = "scale_and_bias";
    let Some(v) = member(doc, PATH)? else {
        return Ok((1.0, None));
    };
    let a = At {
        value: v,
        path: PATH,
    }
    .array()?;
    if a.len() != 2 {
        return Err(err(
            PATH,
            format!("expected [scale, bias], found {} items", a.len()),
        ));
    }
    let scale = At {
        value: &a[0],
        path: "scale_and_bias[0]",
    }
    .number()?;
    let bias = match &a[1] {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(k, b)| {
                At {
                    value: b,
                    path: &format!("scale_and_bias[1][{k}]"),
                }
                .number()
            })
            .collect::<Result<Vec<f64>>>()?,
        b => vec![
            At {
                value: b,
                path: "scale_and_bias[1]",
            }
            .number()?,
        ],
    };
    if bias.is_empty() || bias.len() > MAX_OUTPUTS {
        return Err(err(
            "scale_and_bias[1]",
            format!("expected 1 to {MAX_OUTPUTS} biases, found {}", bias.len()),
        ));
    }
    Ok((scale, Some(bias)))
}

/// Translates one split object into the IR's column, test and default direction (left = the condition fails).
fn split_of(s: At, features: &Features, doc: At) -> Result<(u32, Test, bool)> {
    let split_type = At {
        value: required(s, "split_type")?,
        path: &join(s.path, "split_type"),
    }
    .string()?;
    match split_type {
        "FloatFeature" => {
            let ip = join(s.path, "float_feature_index");
            let index = At {
                value: required(s, "float_feature_index")?,
                path: &ip,
            }
            .index(MAX_FEATURES)?;
            let f = features.float.get(&index).ok_or_else(|| {
                err(
                    &ip,
                    format!("float feature {index} is not in features_info.float_features"),
                )
            })?;
            let border = At {
                value: required(s, "border")?,
                path: &join(s.path, "border"),
            }
            .number()?;
            // CatBoost keeps borders in f32; its JSON prints their f64 widening. Rounding to the nearest f32
            // recovers the border CatBoost compares with (and is exact for what CatBoost writes).
            let border = border as f32;
            if !border.is_finite() {
                return Err(err(&join(s.path, "border"), "the border overflows an f32"));
            }
            Ok((f.column, Test::Numeric(border as f64), !f.nan_true))
        }
        "OneHotFeature" => {
            let ip = join(s.path, "cat_feature_index");
            let index = At {
                value: required(s, "cat_feature_index")?,
                path: &ip,
            }
            .index(MAX_FEATURES)?;
            let &(ref name, column) = features.categorical.get(&index).ok_or_else(|| {
                err(
                    &ip,
                    format!(
                        "categorical feature {index} is not in features_info.categorical_features"
                    ),
                )
            })?;
            let vp = join(s.path, "value");
            let value = required(s, "value")?;
            let hash = value.as_i64().ok_or_else(|| {
                err(
                    &vp,
                    format!("expected an integer (a category hash), found {value}"),
                )
            })?;
            let category = features.categories.get(&hash).copied().ok_or_else(|| {
                err(
                    &vp,
                    format!(
                        "one-hot split on categorical feature {} (column {column}): no integer category in \
                         0..2^24 has the hash {hash}; emkern reads categories as integers, and this one was text \
                         or out of range",
                        quoted(name)
                    ),
                )
            })?;
            // The condition `category == value` holds on the right. CatBoost's integer categories are never
            // fractional, negative or NaN: the IR takes a fractional value's integer part, and negatives and NaN
            // to the "false" side.
            Ok((
                column,
                Test::Categorical {
                    categories: vec![category],
                    in_set_left: false,
                    truncate_first: false,
                },
                true,
            ))
        }
        "OnlineCtr" => Err(err(
            s.path,
            format!(
                "split on a CTR of categorical feature(s) {}: CTRs (target statistics over categories) cannot \
                 be evaluated by emkern; train without categorical features, or with one_hot_max_size above their \
                 category counts and one-hot encode them yourself",
                ctr_features(s, features, doc)
            ),
        )),
        other => Err(err(
            &join(s.path, "split_type"),
            format!("split type `{other}` is not supported (only FloatFeature)"),
        )),
    }
}

/// The categorical features behind an `OnlineCtr` split: those of the CTR in `features_info.ctrs` with the
/// split's border, else every categorical feature of the model.
fn ctr_features(s: At, features: &Features, doc: At) -> String {
    let border = s.value.get("border").and_then(Value::as_f64);
    let mut indices: Vec<u64> = Vec::new();
    if let Some(ctrs) = doc
        .value
        .get("features_info")
        .and_then(|f| f.get("ctrs"))
        .and_then(Value::as_array)
    {
        for ctr in ctrs {
            let has = ctr
                .get("borders")
                .and_then(Value::as_array)
                .is_some_and(|b| b.iter().any(|x| x.as_f64() == border));
            if has {
                for e in ctr
                    .get("elements")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(i) = e.get("cat_feature_index").and_then(Value::as_u64) {
                        indices.push(i);
                    }
                }
                break;
            }
        }
    }
    if indices.is_empty() {
        indices = features.categorical.keys().copied().collect();
    }
    indices.sort_unstable();
    indices.dedup();
    let names: Vec<String> = indices
        .iter()
        .map(|i| match features.categorical.get(i) {
            Some((name, column)) => format!("{} (column {column})", quoted(name)),
            None => format!("#{i}"),
        })
        .collect();
    if names.is_empty() {
        "(unknown)".to_string()
    } else {
        names.join(", ")
    }
}

/// Leaf values at `path`: `dims` numbers, times `scale`.
fn leaf_values(v: At, dims: usize, scale: f64) -> Result<Vec<f64>> {
    let values = match v.value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(k, x)| {
                At {
                    value: x,
                    path: &format!("{}[{k}]", v.path),
                }
                .number()
            })
            .collect::<Result<Vec<f64>>>()?,
        _ => vec![v.number()?],
    };
    if values.len() != dims {
        return Err(err(
            v.path,
            format!("{} leaf values, expected {dims}", values.len()),
        ));
    }
    Ok(values.into_iter().map(|x| x * scale).collect())
}

/// The tree's output column and leaf vector shape for `dims` dimensions.
fn tree_of(nodes: Vec<Node>, dims: usize) -> Tree {
    Tree {
        nodes,
        output: if dims == 1 { Some(0) } else { None },
        weight: 1.0,
    }
}

/// Expands symmetric tree `t` into a binary tree.
fn oblivious_tree(tree: At, features: &Features, doc: At, dims: usize, scale: f64) -> Result<Tree> {
    let sp = join(tree.path, "splits");
    let splits = At {
        value: required(tree, "splits")?,
        path: &sp,
    }
    .array()?;
    let depth = splits.len();
    if depth > MAX_DEPTH {
        return Err(err(
            &sp,
            format!(
                "tree of depth {depth}: deeper than {MAX_DEPTH}, CatBoost's limit for symmetric trees (the \
                 expanded tree would have 2^{depth} leaves)"
            ),
        ));
    }
    let tests = splits
        .iter()
        .enumerate()
        .map(|(i, s)| {
            split_of(
                At {
                    value: s,
                    path: &format!("{sp}[{i}]"),
                },
                features,
                doc,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let lp = join(tree.path, "leaf_values");
    let values = At {
        value: required(tree, "leaf_values")?,
        path: &lp,
    }
    .array()?;
    let n_leaves = 1usize << depth;
    if values.len() != n_leaves * dims {
        return Err(err(
            &lp,
            format!(
                "{} values, expected {} ({n_leaves} leaves of depth {depth} × {dims} dimensions)",
                values.len(),
                n_leaves * dims
            ),
        ));
    }
    let leaves = values
        .iter()
        .enumerate()
        .map(|(k, x)| {
            At {
                value: x,
                path: &format!("{lp}[{k}]"),
            }
            .number()
            .map(|x| x * scale)
        })
        .collect::<Result<Vec<f64>>>()?;
    // Breadth-first: level `l` holds 2^l nodes; the node for the partial leaf index `idx` (bits 0..l set by
    // splits 0..l) tests split `l`. Its children are `idx` (condition false, left) and `idx | 1 << l` (true).
    let mut nodes = Vec::with_capacity(2 * n_leaves - 1);
    let mut level: Vec<usize> = vec![0];
    for (l, (feature, test, nan_left)) in tests.iter().enumerate() {
        let first_child = nodes.len() + level.len();
        let mut next = Vec::with_capacity(level.len() * 2);
        for (j, &idx) in level.iter().enumerate() {
            nodes.push(Node::Split(Split {
                feature: *feature,
                test: test.clone(),
                default_left: *nan_left,
                missing: MissingMode::Nan,
                left: first_child + 2 * j,
                right: first_child + 2 * j + 1,
            }));
            next.push(idx);
            next.push(idx | 1 << l);
        }
        level = next;
    }
    for idx in level {
        nodes.push(Node::Leaf(leaves[idx * dims..(idx + 1) * dims].to_vec()));
    }
    Ok(tree_of(nodes, dims))
}

/// A node of a non-symmetric tree still to read: its JSON, its path, and its parent with whether it is the
/// parent's left child.
type Pending<'a> = (&'a Value, String, Option<(usize, bool)>);

/// Reads non-symmetric tree `t` (nested `split`/`left`/`right` objects, leaves with `value`).
fn nested_tree(tree: At, features: &Features, doc: At, dims: usize, scale: f64) -> Result<Tree> {
    let mut nodes = Vec::new();
    // Depth-first with an explicit stack: (value, path, parent to patch, whether it is the left child). The
    // nesting is bounded by serde_json's recursion limit.
    let mut stack: Vec<Pending> = vec![(tree.value, tree.path.to_string(), None)];
    while let Some((value, path, parent)) = stack.pop() {
        let at = At { value, path: &path };
        let index = nodes.len();
        if let Some((p, is_left)) = parent
            && let Node::Split(s) = &mut nodes[p]
        {
            if is_left {
                s.left = index;
            } else {
                s.right = index;
            }
        }
        match member(at, "split")? {
            Some(split) => {
                let (feature, test, nan_left) = split_of(
                    At {
                        value: split,
                        path: &join(&path, "split"),
                    },
                    features,
                    doc,
                )?;
                nodes.push(Node::Split(Split {
                    feature,
                    test,
                    default_left: nan_left,
                    missing: MissingMode::Nan,
                    left: 0,
                    right: 0,
                }));
                let right = required(at, "right")?;
                let left = required(at, "left")?;
                stack.push((right, join(&path, "right"), Some((index, false))));
                stack.push((left, join(&path, "left"), Some((index, true))));
            }
            None => {
                let v = required(at, "value")?;
                nodes.push(Node::Leaf(leaf_values(
                    At {
                        value: v,
                        path: &join(&path, "value"),
                    },
                    dims,
                    scale,
                )?));
            }
        }
    }
    Ok(tree_of(nodes, dims))
}

/// Imports a parsed CatBoost JSON document.
pub fn from_document(doc: &Value) -> Result<Ensemble> {
    let doc = At {
        value: doc,
        path: "",
    };
    doc.object()?;
    let features = read_features(doc)?;
    let loss = loss_name(doc)?;
    let (scale, bias) = scale_and_bias(doc)?;
    let dims = bias.as_ref().map_or(1, Vec::len);
    let base_margin = bias.unwrap_or_else(|| vec![0.0; dims]);
    let transform = transform_for(loss.as_deref(), dims)?;
    let mut trees = Vec::new();
    let symmetric = member(doc, "oblivious_trees")?;
    let nested = member(doc, "trees")?;
    match (symmetric, nested) {
        (Some(list), None) => {
            for (i, t) in (At {
                value: list,
                path: "oblivious_trees",
            })
            .array()?
            .iter()
            .enumerate()
            {
                trees.push(oblivious_tree(
                    At {
                        value: t,
                        path: &format!("oblivious_trees[{i}]"),
                    },
                    &features,
                    doc,
                    dims,
                    scale,
                )?);
            }
        }
        (None, Some(list)) => {
            for (i, t) in (At {
                value: list,
                path: "trees",
            })
            .array()?
            .iter()
            .enumerate()
            {
                trees.push(nested_tree(
                    At {
                        value: t,
                        path: &format!("trees[{i}]"),
                    },
                    &features,
                    doc,
                    dims,
                    scale,
                )?);
            }
        }
        (Some(_), Some(_)) => {
            return Err(err(
                "",
                "both `oblivious_trees` and `trees`: expected one of them",
            ));
        }
        (None, None) => {
            return Err(err(
                "",
                "missing `oblivious_trees` (symmetric trees) or `trees` (non-symmetric trees)",
            ));
        }
    }
    let mut source = match version(doc) {
        Some(v) => format!("catboost {v}"),
        None => "catboost".to_string(),
    };
    match &loss {
        Some(l) => source.push_str(&format!(", {l}")),
        None => source.push_str(", loss function not recorded (raw values)"),
    }
    if let Some(classes) = class_names(doc) {
        source.push_str(&format!(", classes {classes}"));
    }
    Ok(Ensemble {
        n_features: features.n_features,
        n_outputs: dims as u32,
        trees,
        base_margin,
        compare: Compare::LessEqual,
        aggregate: Aggregate::Sum,
        transform,
        precision: Precision::F64,
        feature_names: features.names,
        source,
        input_f64: false,
    })
}

/// The integer categories `0..2^24` whose CatBoost hash ([`category_hash`]) is in `hashes` (searched in
/// increasing order until every hash is found).
fn categories_of(hashes: &[i64]) -> HashMap<i64, u32> {
    let mut want: std::collections::HashSet<i64> = hashes.iter().copied().collect();
    let mut found = HashMap::new();
    let mut k = 0u32;
    while !want.is_empty() && k < 1 << 24 {
        let h = category_hash(k) as i64;
        if want.remove(&h) {
            found.insert(h, k);
        }
        k += 1;
    }
    found
}

/// CatBoost's hash of integer category `k`: CatBoost reads an integer category as its decimal text and hashes
/// it with CityHash64 (version 1.0), keeping the low 32 bits as a signed integer. Only texts of 1 to 8 bytes
/// occur here (`k < 2^24`), which CityHash64 maps with its short-input formulas.
pub fn category_hash(k: u32) -> i32 {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut v = k;
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    cityhash64_short(&digits[at..]) as u32 as i32
}

/// CityHash64 (version 1.0) of 1 to 10 bytes (exact for up to 8, the lengths [`category_hash`] needs below 2^24).
fn cityhash64_short(s: &[u8]) -> u64 {
    const K2: u64 = 0x9ae1_6a3b_2f90_404f;
    const K3: u64 = 0xc949_d7c7_509e_6557;
    const MUL: u64 = 0x9ddf_ea08_eb38_2d69;
    let n = s.len();
    let s = &s[..n.min(8)];
    let n = s.len();
    let shift_mix = |v: u64| v ^ (v >> 47);
    let fetch32 = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]) as u64;
    if n >= 4 {
        // HashLen16(len + (first 4 bytes << 3), last 4 bytes): the 128-to-64-bit mix.
        let u = (n as u64).wrapping_add(fetch32(0) << 3);
        let v = fetch32(n - 4);
        let a = shift_mix((u ^ v).wrapping_mul(MUL));
        let b = shift_mix((v ^ a).wrapping_mul(MUL));
        b.wrapping_mul(MUL)
    } else {
        let (a, b, c) = (s[0] as u64, s[n >> 1] as u64, s[n - 1] as u64);
        let y = a.wrapping_add(b << 8);
        let z = (n as u64).wrapping_add(c << 2);
        shift_mix(y.wrapping_mul(K2) ^ z.wrapping_mul(K3)).wrapping_mul(K2)
    }
}

/// `model_info.class_params.class_names`, joined with `, ` (for the `source` line).
fn class_names(doc: At) -> Option<String> {
    let names = doc
        .value
        .get("model_info")?
        .get("class_params")?
        .get("class_names")?
        .as_array()?;
    if names.is_empty() {
        return None;
    }
    let names: Vec<String> = names
        .iter()
        .map(|n| match n {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect();
    Some(names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A two-tree model: a depth-2 symmetric tree over features 0 (NaN as false) and 2 (NaN as true), and a
    /// depth-1 tree over feature 0; feature 1 is categorical and unused.
    fn model() -> Value {
        json!({
            "features_info": {
                "float_features": [
                    {"feature_index": 0, "flat_feature_index": 0, "feature_id": "a", "borders": [0.5],
                     "nan_value_treatment": "AsFalse"},
                    {"feature_index": 1, "flat_feature_index": 2, "feature_id": "c", "borders": [-1.25],
                     "nan_value_treatment": "AsTrue"}
                ],
                "categorical_features": [
                    {"feature_index": 0, "flat_feature_index": 1, "feature_id": "b"}
                ]
            },
            "model_info": {
                "catboost_version_info": "Git info:\n    Branch: tags/v1.2.10\n",
                "params": {"loss_function": {"type": "RMSE", "params": {}}}
            },
            "oblivious_trees": [
                {"splits": [
                    {"split_type": "FloatFeature", "float_feature_index": 0, "border": 0.5},
                    {"split_type": "FloatFeature", "float_feature_index": 1, "border": -1.25}
                 ],
                 "leaf_values": [1.0, 2.0, 4.0, 8.0], "leaf_weights": [1, 1, 1, 1]},
                {"splits": [{"split_type": "FloatFeature", "float_feature_index": 0, "border": 0.5}],
                 "leaf_values": [16.0, 32.0], "leaf_weights": [1, 1]}
            ],
            "scale_and_bias": [0.5, [100.0]]
        })
    }

    fn import(doc: &Value) -> Result<Ensemble> {
        from_json_bytes(doc.to_string().as_bytes())
    }

    fn error(doc: &Value) -> String {
        import(doc).unwrap_err().to_string()
    }

    /// CatBoost's definition, written out: leaf index bit `i` is `x > border` of split `i` (NaN by the feature's
    /// treatment), the raw value `scale · Σ leaves + bias`.
    fn oracle(x: [f32; 3]) -> f64 {
        let gt = |v: f32, b: f32, nan_true: bool| if v.is_nan() { nan_true } else { v > b };
        let b0 = gt(x[0], 0.5, false) as usize;
        let b1 = gt(x[2], -1.25, true) as usize;
        let t0 = [1.0, 2.0, 4.0, 8.0][b0 | b1 << 1];
        let t1 = [16.0, 32.0][b0];
        0.5 * (t0 + t1) + 100.0
    }

    #[test]
    fn symmetric_trees_follow_catboost_leaf_indices() {
        let e = import(&model()).unwrap();
        assert_eq!((e.n_features, e.n_outputs, e.trees.len()), (3, 1, 2));
        assert_eq!(e.source, "catboost 1.2.10, RMSE");
        assert_eq!(e.transform, Transform::Identity);
        assert_eq!(
            e.feature_names,
            Some(vec!["a".to_string(), "b".into(), "c".into()])
        );
        assert_eq!(e.trees[0].nodes.len(), 7);
        let probes = [
            f32::NAN,
            f32::NEG_INFINITY,
            -1.25f32.next_down(),
            -1.25,
            -1.25f32.next_up(),
            0.0,
            0.5f32.next_down(),
            0.5,
            0.5f32.next_up(),
            f32::INFINITY,
        ];
        for &a in &probes {
            for &c in &probes {
                let row = [a, 7.0, c];
                let got = e.margin_reference(&row)[0];
                assert_eq!(got, oracle(row), "row {row:?}");
            }
        }
    }

    #[test]
    fn errors_name_the_place_and_the_reason() {
        let mut doc = model();
        doc["oblivious_trees"][1]["splits"][0] = json!({"split_type": "OnlineCtr", "border": 9.5});
        let e = error(&doc);
        assert!(
            e.starts_with("oblivious_trees[1].splits[0]: split on a CTR"),
            "{e}"
        );
        assert!(
            e.contains("`b` (column 1)") && e.contains("cannot be evaluated"),
            "{e}"
        );

        let mut doc = model();
        doc["oblivious_trees"][1]["splits"][0] =
            json!({"split_type": "OneHotFeature", "cat_feature_index": 0, "value": 7});
        let e = error(&doc);
        assert!(
            e.starts_with("oblivious_trees[1].splits[0].value: one-hot split"),
            "{e}"
        );
        assert!(
            e.contains("categorical feature `b` (column 1)") && e.contains("hash 7"),
            "{e}"
        );

        let mut doc = model();
        doc["features_info"]["text_features"] =
            json!([{"feature_index": 0, "flat_feature_index": 3, "feature_id": "review"}]);
        let e = error(&doc);
        assert!(e.contains("text feature `review` (column 3)"), "{e}");

        let mut doc = model();
        doc["oblivious_trees"][0]["leaf_values"] = json!([1.0, 2.0, 3.0]);
        assert_eq!(
            error(&doc),
            "oblivious_trees[0].leaf_values: 3 values, expected 4 (4 leaves of depth 2 × 1 dimensions)"
        );

        let mut doc = model();
        let split = doc["oblivious_trees"][1]["splits"][0].clone();
        doc["oblivious_trees"][1]["splits"] = Value::Array(vec![split; 17]);
        let e = error(&doc);
        assert!(
            e.starts_with("oblivious_trees[1].splits: tree of depth 17"),
            "{e}"
        );

        let mut doc = model();
        doc["model_info"]["params"]["loss_function"]["type"] = json!("RMSEWithUncertainty");
        let e = error(&doc);
        assert!(e.contains("`RMSEWithUncertainty` is not supported"), "{e}");

        let mut doc = model();
        doc["features_info"]["float_features"][1]["nan_value_treatment"] = json!("Min");
        let e = error(&doc);
        assert!(
            e.starts_with("features_info.float_features[1].nan_value_treatment: `Min`"),
            "{e}"
        );

        let mut doc = model();
        doc["oblivious_trees"][0]["splits"][1]["float_feature_index"] = json!(5);
        let e = error(&doc);
        assert!(e.contains("float feature 5 is not in"), "{e}");

        let mut doc = model();
        doc["oblivious_trees"][0]["splits"][0]["border"] = json!(1e300);
        assert!(error(&doc).contains("overflows an f32"));

        let e = from_json_bytes(b"{\n\"features_info\": [\n,]}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 3: column 1: not valid JSON"), "{e}");
        assert!(error(&json!({"oblivious_trees": []})).contains("missing `features_info`"));
        let mut doc = model();
        doc.as_object_mut().unwrap().remove("oblivious_trees");
        assert!(error(&doc).contains("missing `oblivious_trees`"));
    }

    #[test]
    fn sniffing_tells_catboost_from_xgboost() {
        assert!(looks_like(model().to_string().as_bytes()));
        assert!(looks_like(b"\xef\xbb\xbf  {\"oblivious_trees\" : []}"));
        assert!(!looks_like(
            br#"{"learner": {"feature_names": ["features_info", "oblivious_trees"]}}"#
        ));
        assert!(!looks_like(b"tree\nversion=v4\n\"features_info\":"));
    }

    /// Hashes CatBoost 1.2.10 wrote into one-hot splits for the categories `"1"`, `"2"` and `"5"`.
    #[test]
    fn category_hashes_match_catboost() {
        assert_eq!(category_hash(1), 1_121_341_681);
        assert_eq!(category_hash(2), -1_284_790_409);
        assert_eq!(category_hash(5), -1_280_163_355);
        let map = categories_of(&[-1_284_790_409, 1_121_341_681]);
        assert_eq!((map[&-1_284_790_409], map[&1_121_341_681]), (2, 1));
    }
}
