//! scikit-learn importer: reads the `emkern-sklearn` JSON document (format version 1, specified in
//! `docs/sklearn-json.md` and written by `host-tests/python/emkern_sklearn.py`).
//!
//! scikit-learn has no portable model file, so the Python exporter resolves every estimator-specific rule
//! (probability averaging, the gradient-boosting prior, AdaBoost's votes, HistGradientBoosting's categories) and
//! writes a document that maps one-to-one onto the [ensemble IR](crate::ir). This importer translates field names
//! and validates everything: types, ranges, that every tree is a tree, that leaves have the right width. Errors
//! name the JSON path of the offending value (e.g. `trees[3].nodes[7].split.threshold`).

use std::path::Path;

use serde_json::{Map, Value};

use super::ImportError;
use crate::ir::{
    Aggregate, Compare, Ensemble, MissingMode, Node, Precision, Split, Test, Transform, Tree,
};

/// The `format` field of every document.
pub const FORMAT: &str = "emkern-sklearn";
/// The document version this importer reads.
pub const VERSION: u64 = 1;

/// Categories must be below this (the IR's and the blob's limit).
const MAX_CATEGORY: u64 = 1 << 24;

/// Reads an emkern-sklearn JSON document from `path`.
pub fn load(path: impl AsRef<Path>) -> Result<Ensemble, ImportError> {
    let path = path.as_ref();
    let bytes = ImportError::read_file(path)?;
    from_slice(&bytes).map_err(|e| e.in_file(path))
}

/// Parses an emkern-sklearn JSON document held in `text`; `file_name` names it in error messages.
pub fn from_str(text: &str, file_name: &str) -> Result<Ensemble, ImportError> {
    from_slice(text.as_bytes()).map_err(|e| e.in_file(Path::new(file_name)))
}

fn from_slice(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        ImportError::at_line(
            e.line(),
            format!("not valid JSON (column {}): {e}", e.column()),
        )
    })?;
    convert(&doc)
}

/// A JSON path under construction, for error messages.
#[derive(Clone)]
struct At(String);

impl At {
    fn root() -> At {
        At(String::new())
    }

    fn key(&self, k: &str) -> At {
        if self.0.is_empty() {
            At(k.to_string())
        } else {
            At(format!("{}.{k}", self.0))
        }
    }

    fn index(&self, i: usize) -> At {
        At(format!("{}[{i}]", self.0))
    }

    fn err(&self, message: impl Into<String>) -> ImportError {
        ImportError::at_path(self.0.clone(), message)
    }
}

/// A short description of a JSON value's kind, for "expected …, found …" messages.
fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            let shown: String = s.chars().take(30).collect();
            format!("the string \"{shown}\"")
        }
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

fn object<'a>(v: &'a Value, at: &At) -> Result<&'a Map<String, Value>, ImportError> {
    v.as_object()
        .ok_or_else(|| at.err(format!("expected an object, found {}", kind(v))))
}

fn field<'a>(o: &'a Map<String, Value>, at: &At, key: &str) -> Result<&'a Value, ImportError> {
    o.get(key)
        .ok_or_else(|| at.err(format!("missing the field `{key}`")))
}

fn array<'a>(v: &'a Value, at: &At) -> Result<&'a [Value], ImportError> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| at.err(format!("expected an array, found {}", kind(v))))
}

fn string<'a>(v: &'a Value, at: &At) -> Result<&'a str, ImportError> {
    v.as_str()
        .ok_or_else(|| at.err(format!("expected a string, found {}", kind(v))))
}

fn boolean(v: &Value, at: &At) -> Result<bool, ImportError> {
    v.as_bool()
        .ok_or_else(|| at.err(format!("expected true or false, found {}", kind(v))))
}

fn unsigned(v: &Value, at: &At) -> Result<u64, ImportError> {
    v.as_u64().ok_or_else(|| {
        at.err(format!(
            "expected a non-negative integer, found {}",
            kind(v)
        ))
    })
}

fn u32_below(v: &Value, at: &At, limit: u64, what: &str) -> Result<u32, ImportError> {
    let n = unsigned(v, at)?;
    if n >= limit {
        return Err(at.err(format!(
            "{what} {n} is out of range (expected below {limit})"
        )));
    }
    u32::try_from(n).map_err(|_| at.err(format!("{what} {n} does not fit in 32 bits")))
}

/// A number: a JSON number, or one of the strings `"inf"`, `"-inf"`, `"nan"` the format uses for non-finite
/// values.
fn number(v: &Value, at: &At) -> Result<f64, ImportError> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| at.err(format!("the number {n} is not representable as f64"))),
        Value::String(s) => match s.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "nan" => Ok(f64::NAN),
            _ => Err(at.err(format!(
                "expected a number (or \"inf\", \"-inf\", \"nan\"), found {}",
                kind(v)
            ))),
        },
        _ => Err(at.err(format!("expected a number, found {}", kind(v)))),
    }
}

fn finite(v: &Value, at: &At) -> Result<f64, ImportError> {
    let x = number(v, at)?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err(at.err(format!("expected a finite number, found {x}")))
    }
}

/// For a file without `input_dtype` (written before the exporter had the field): whether the estimator it names
/// (`estimator`, or else the name in `source`, `"scikit-learn 1.9.1, NAME(...)"`) reads float64 rows, which of
/// scikit-learn's estimators only the histogram gradient boosting ones do.
fn older_export_reads_f64(o: &Map<String, Value>) -> bool {
    let name = match o.get("estimator").and_then(Value::as_str) {
        Some(name) => name,
        None => o
            .get("source")
            .and_then(Value::as_str)
            .and_then(|s| s.split_once(", "))
            .map_or("", |(_, rest)| rest),
    };
    name.starts_with("HistGradientBoostingClassifier")
        || name.starts_with("HistGradientBoostingRegressor")
}

fn convert(doc: &Value) -> Result<Ensemble, ImportError> {
    let root = At::root();
    let o = object(doc, &root)?;

    let at = root.key("format");
    let format = string(field(o, &root, "format")?, &at)?;
    if format != FORMAT {
        return Err(at.err(format!("expected \"{FORMAT}\", found \"{format}\"")));
    }
    let at = root.key("version");
    let version = unsigned(field(o, &root, "version")?, &at)?;
    if version != VERSION {
        return Err(at.err(format!(
            "version {version} is not supported (this importer reads version {VERSION})"
        )));
    }

    let at = root.key("n_features");
    let n_features = u32_below(field(o, &root, "n_features")?, &at, 1 << 32, "n_features")?;
    if n_features == 0 {
        return Err(at.err("expected at least 1 feature"));
    }
    let at = root.key("n_outputs");
    let n_outputs = u32_below(field(o, &root, "n_outputs")?, &at, 1 << 32, "n_outputs")?;
    if n_outputs == 0 {
        return Err(at.err("expected at least 1 output"));
    }

    let at = root.key("compare");
    let compare = match string(field(o, &root, "compare")?, &at)? {
        "le" => Compare::LessEqual,
        "lt" => Compare::Less,
        other => return Err(at.err(format!("expected \"le\" or \"lt\", found \"{other}\""))),
    };

    let at = root.key("aggregate");
    let aggregate = match field(o, &root, "aggregate")? {
        Value::String(s) if s == "sum" => Aggregate::Sum,
        Value::Object(m) if m.len() == 1 && m.contains_key("mean") => {
            let at = at.key("mean");
            let divisor = finite(&m["mean"], &at)?;
            if divisor <= 0.0 {
                return Err(at.err(format!("the divisor must be above 0, found {divisor}")));
            }
            Aggregate::Mean { divisor }
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("weighted_median") => {
            let at = at.key("weighted_median");
            let weights = array(&m["weighted_median"], &at)?
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let w = finite(v, &at.index(i))?;
                    if w < 0.0 {
                        return Err(at.index(i).err(format!("a weight must be ≥ 0, found {w}")));
                    }
                    Ok(w)
                })
                .collect::<Result<Vec<f64>, _>>()?;
            if n_outputs != 1 {
                return Err(at.err(format!(
                    "a weighted median has one output, but n_outputs is {n_outputs}"
                )));
            }
            Aggregate::WeightedMedian { weights }
        }
        v => {
            return Err(at.err(format!(
                "expected \"sum\", {{\"mean\": divisor}} or {{\"weighted_median\": [weights]}}, found {}",
                kind(v)
            )));
        }
    };

    let at = root.key("transform");
    let transform = match string(field(o, &root, "transform")?, &at)? {
        "identity" => Transform::Identity,
        "sigmoid" => Transform::Sigmoid,
        "softmax" => Transform::Softmax,
        "argmax" => Transform::ArgMax,
        "exp" => Transform::Exp,
        "hinge_step" => Transform::HingeStep,
        other => {
            return Err(at.err(format!(
                "unknown transform \"{other}\" (expected identity, sigmoid, softmax, argmax, exp or hinge_step)"
            )));
        }
    };

    let at = root.key("precision");
    let precision = match string(field(o, &root, "precision")?, &at)? {
        "f64" => Precision::F64,
        "f32" => Precision::F32,
        other => return Err(at.err(format!("expected \"f64\" or \"f32\", found \"{other}\""))),
    };

    let at = root.key("base_margin");
    let base = array(field(o, &root, "base_margin")?, &at)?;
    if base.len() != n_outputs as usize {
        return Err(at.err(format!(
            "expected {n_outputs} values (n_outputs), found {}",
            base.len()
        )));
    }
    let base_margin = base
        .iter()
        .enumerate()
        .map(|(i, v)| finite(v, &at.index(i)))
        .collect::<Result<Vec<f64>, _>>()?;

    let feature_names = match o.get("feature_names") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let at = root.key("feature_names");
            let names = array(v, &at)?;
            if names.len() != n_features as usize {
                return Err(at.err(format!(
                    "expected {n_features} names (n_features), found {}",
                    names.len()
                )));
            }
            Some(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| string(n, &at.index(i)).map(str::to_string))
                    .collect::<Result<Vec<String>, _>>()?,
            )
        }
    };

    let source = match o.get("source") {
        None | Some(Value::Null) => "scikit-learn (emkern-sklearn JSON)".to_string(),
        Some(v) => string(v, &root.key("source"))?.to_string(),
    };

    let at = root.key("input_dtype");
    let input_f64 = match o.get("input_dtype") {
        None | Some(Value::Null) => older_export_reads_f64(o),
        Some(v) => match string(v, &at)? {
            "float64" => true,
            "float32" => false,
            other => {
                return Err(at.err(format!(
                    "expected \"float32\" or \"float64\", found \"{other}\""
                )));
            }
        },
    };

    let at = root.key("trees");
    let trees = array(field(o, &root, "trees")?, &at)?
        .iter()
        .enumerate()
        .map(|(i, t)| convert_tree(t, &at.index(i), n_features, n_outputs))
        .collect::<Result<Vec<Tree>, _>>()?;
    let scalar = trees.iter().filter(|t| t.output.is_some()).count();
    if scalar != 0 && scalar != trees.len() {
        return Err(at.err(
            "mixes scalar-leaf trees (\"output\": k) and vector-leaf trees (\"output\": null)",
        ));
    }
    if let Aggregate::WeightedMedian { weights } = &aggregate {
        if weights.len() != trees.len() || trees.is_empty() {
            return Err(root.key("aggregate").key("weighted_median").err(format!(
                "expected one weight per tree ({} trees, at least one), found {}",
                trees.len(),
                weights.len()
            )));
        }
        if scalar != trees.len() {
            return Err(at.err("a weighted median needs scalar-leaf trees (\"output\": 0)"));
        }
    }

    Ok(Ensemble {
        n_features,
        n_outputs,
        trees,
        base_margin,
        compare,
        aggregate,
        transform,
        precision,
        feature_names,
        source,
        input_f64,
    })
}

fn convert_tree(v: &Value, at: &At, n_features: u32, n_outputs: u32) -> Result<Tree, ImportError> {
    let o = object(v, at)?;
    let output = match field(o, at, "output")? {
        Value::Null => None,
        v => Some(u32_below(
            v,
            &at.key("output"),
            n_outputs as u64,
            "output column",
        )?),
    };
    let weight = match o.get("weight") {
        None => 1.0,
        Some(v) => {
            let wat = at.key("weight");
            let w = finite(v, &wat)?;
            if (w as f32) as f64 != w {
                return Err(wat.err(format!(
                    "{w} is not exactly an f32 (tree weights are f32 in the IR; fold other weights into the leaves)"
                )));
            }
            w as f32
        }
    };
    let leaf_width = if output.is_some() {
        1
    } else {
        n_outputs as usize
    };
    let nat = at.key("nodes");
    let list = array(field(o, at, "nodes")?, &nat)?;
    if list.is_empty() {
        return Err(nat.err("a tree needs at least one node"));
    }
    let nodes = list
        .iter()
        .enumerate()
        .map(|(i, n)| convert_node(n, &nat.index(i), n_features, list.len(), leaf_width))
        .collect::<Result<Vec<Node>, _>>()?;
    check_shape(&nodes, &nat)?;
    Ok(Tree {
        nodes,
        output,
        weight,
    })
}

fn convert_node(
    v: &Value,
    at: &At,
    n_features: u32,
    n_nodes: usize,
    leaf_width: usize,
) -> Result<Node, ImportError> {
    let o = object(v, at)?;
    if let Some(leaf) = o.get("leaf") {
        if o.contains_key("split") {
            return Err(at.err("a node has either `leaf` or `split`, not both"));
        }
        let lat = at.key("leaf");
        let values = array(leaf, &lat)?;
        if values.len() != leaf_width {
            return Err(lat.err(format!(
                "expected {leaf_width} values ({}), found {}",
                if leaf_width == 1 {
                    "the tree has an output column"
                } else {
                    "the tree has vector leaves of n_outputs values"
                },
                values.len()
            )));
        }
        let values = values
            .iter()
            .enumerate()
            .map(|(i, x)| finite(x, &lat.index(i)))
            .collect::<Result<Vec<f64>, _>>()?;
        return Ok(Node::Leaf(values));
    }
    let sat = at.key("split");
    let s = match o.get("split") {
        Some(s) => object(s, &sat)?,
        None => return Err(at.err("expected a node with a `leaf` or a `split` field")),
    };
    let child = |key: &str| -> Result<usize, ImportError> {
        let cat = at.key(key);
        let c = unsigned(field(o, at, key)?, &cat)?;
        match usize::try_from(c) {
            Ok(c) if c < n_nodes => Ok(c),
            _ => Err(cat.err(format!("child {c} is not a node index (0..{n_nodes})"))),
        }
    };
    let left = child("left")?;
    let right = child("right")?;
    let feature = u32_below(
        field(s, &sat, "feature")?,
        &sat.key("feature"),
        n_features as u64,
        "feature",
    )?;
    let default_left = boolean(field(s, &sat, "default_left")?, &sat.key("default_left"))?;
    let mat = sat.key("missing");
    let missing = match string(field(s, &sat, "missing")?, &mat)? {
        "nan" => MissingMode::Nan,
        other => return Err(mat.err(format!("expected \"nan\", found \"{other}\""))),
    };
    let test = match (s.get("threshold"), s.get("categories")) {
        (Some(t), None) => {
            let tat = sat.key("threshold");
            let t = number(t, &tat)?;
            if t.is_nan() {
                return Err(tat.err("the threshold is NaN"));
            }
            Test::Numeric(t)
        }
        (None, Some(c)) => {
            let cat = sat.key("categories");
            let categories = array(c, &cat)?
                .iter()
                .enumerate()
                .map(|(i, x)| u32_below(x, &cat.index(i), MAX_CATEGORY, "category"))
                .collect::<Result<Vec<u32>, _>>()?;
            Test::Categorical {
                categories,
                in_set_left: boolean(field(s, &sat, "in_set_left")?, &sat.key("in_set_left"))?,
                truncate_first: boolean(
                    field(s, &sat, "truncate_first")?,
                    &sat.key("truncate_first"),
                )?,
            }
        }
        (Some(_), Some(_)) => {
            return Err(sat.err("a split has either `threshold` or `categories`, not both"));
        }
        (None, None) => {
            return Err(sat.err("a split needs `threshold` (numeric) or `categories`"));
        }
    };
    Ok(Node::Split(Split {
        feature,
        test,
        default_left,
        missing,
        left,
        right,
    }))
}

/// Every node reachable from the root is reached exactly once (no sharing, no cycle). Unreachable nodes are
/// allowed, as in the IR.
fn check_shape(nodes: &[Node], at: &At) -> Result<(), ImportError> {
    let mut seen = vec![false; nodes.len()];
    seen[0] = true;
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if let Node::Split(s) = &nodes[i] {
            for (key, c) in [("left", s.left), ("right", s.right)] {
                if seen[c] {
                    return Err(at.index(i).key(key).err(format!(
                        "node {c} is reached twice (or is the root): not a tree"
                    )));
                }
                seen[c] = true;
                stack.push(c);
            }
        }
    }
    Ok(())
}
