//! ONNX-ML importer: a model whose graph is one `ai.onnx.ml` tree-ensemble operator
//! (`TreeEnsembleClassifier` or `TreeEnsembleRegressor`, operator sets 1 and 3, as skl2onnx and onnxmltools write
//! them; `TreeEnsemble`, operator set 5, with the limits [`trees::translate_v5`] lists) into the
//! [ensemble IR](crate::ir), giving onnxruntime's numbers.
//!
//! The file is protobuf: [`proto`] declares the messages read. The graph must hold exactly one tree-ensemble
//! node reading the single graph input, a float tensor `[N, F]` (`F` from its shape, else the largest feature
//! id + 1). Other nodes are accepted only when they leave the numbers as they are: `ZipMap` (probabilities as a
//! map), `Identity`, `Cast` to a float type, and `Mul` by a constant 1 (onnxmltools' LightGBM models); any other
//! operator is an error naming it. The translation of the operator's attributes is in [`trees`].
//!
//! Errors name the place in the model: `graph.node[0].nodes_modes[17]`, an input, or the operator.

pub mod proto;
pub mod trees;

use std::collections::HashSet;
use std::path::Path;

use prost::Message;

use super::ImportError;
use crate::ir::Ensemble;
use proto::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, data_type};

type Result<T> = std::result::Result<T, ImportError>;

/// The `ai.onnx.ml` domain, where the tree-ensemble operators live.
pub const ML_DOMAIN: &str = "ai.onnx.ml";

/// Whether `bytes` are an ONNX model: protobuf that starts with field 1 (`ir_version`, a varint, tag byte
/// `0x08`) and decodes as a `ModelProto` with a graph.
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x08) && ModelProto::decode(bytes).is_ok_and(|m| m.graph.is_some())
}

/// Reads and imports the ONNX model at `path`; errors name the file.
pub fn load(path: impl AsRef<Path>) -> Result<Ensemble> {
    let path = path.as_ref();
    let bytes = ImportError::read_file(path)?;
    from_bytes(&bytes).map_err(|e| e.in_file(path))
}

/// Imports an ONNX model from its bytes.
pub fn from_bytes(bytes: &[u8]) -> Result<Ensemble> {
    let model = ModelProto::decode(bytes)
        .map_err(|e| ImportError::whole(format!("not an ONNX model (protobuf ModelProto): {e}")))?;
    from_model(&model)
}

/// Imports a decoded `ModelProto`.
pub fn from_model(model: &ModelProto) -> Result<Ensemble> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ImportError::at_path("graph", "the model has no graph"))?;
    let (at, node) = ensemble_node(graph)?;
    let path = format!("graph.node[{at}]");
    let op = node.op_type.as_deref().unwrap_or_default();
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.as_deref() == Some(ML_DOMAIN))
        .and_then(|o| o.version);
    let n_features = input_width(graph, node, &path)?;
    check_other_nodes(graph, at)?;
    let producer = match (&model.producer_name, &model.producer_version) {
        (Some(n), Some(v)) if !n.is_empty() => format!("{n} {v}"),
        (Some(n), _) if !n.is_empty() => n.clone(),
        _ => "unknown producer".to_string(),
    };
    let opset_text = opset.map_or("opset not declared".to_string(), |v| format!("opset {v}"));
    let source = format!("onnx: {producer}, {ML_DOMAIN}.{op} ({opset_text})");
    let attrs = Attributes {
        path: path.clone(),
        list: &node.attribute,
    };
    match op {
        "TreeEnsembleClassifier" | "TreeEnsembleRegressor" => {
            trees::translate(&attrs, op == "TreeEnsembleClassifier", n_features, source)
        }
        _ => trees::translate_v5(&attrs, n_features, source),
    }
}

/// The graph's one tree-ensemble node and its index.
fn ensemble_node(graph: &GraphProto) -> Result<(usize, &NodeProto)> {
    let mut found = None;
    for (i, n) in graph.node.iter().enumerate() {
        let op = n.op_type.as_deref().unwrap_or_default();
        let domain = n.domain.as_deref().unwrap_or_default();
        if domain != ML_DOMAIN {
            continue;
        }
        match op {
            "TreeEnsembleClassifier" | "TreeEnsembleRegressor" | "TreeEnsemble" => {
                if found.is_some() {
                    return Err(ImportError::at_path(
                        format!("graph.node[{i}]"),
                        format!(
                            "a second tree-ensemble node ({op}): emkern reads models of one ensemble"
                        ),
                    ));
                }
                found = Some((i, n));
            }
            _ => {}
        }
    }
    found.ok_or_else(|| {
        ImportError::at_path(
            "graph.node",
            "no ai.onnx.ml.TreeEnsembleClassifier, TreeEnsembleRegressor or TreeEnsemble node",
        )
    })
}

/// The row width: from the graph input's shape `[N, F]`, or `None` (the importer then takes the largest feature
/// id + 1). The ensemble must read the graph's only (non-initializer) input, a float tensor.
fn input_width(graph: &GraphProto, node: &NodeProto, path: &str) -> Result<Option<u32>> {
    let constants: HashSet<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !constants.contains(i.name.as_deref().unwrap_or_default()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(ImportError::at_path(
            "graph.input",
            format!(
                "{} inputs; emkern reads models with one input, a float tensor [N, F]",
                inputs.len()
            ),
        ));
    };
    let name = input.name.as_deref().unwrap_or_default();
    if node.input.first().map(String::as_str) != Some(name) || node.input.len() != 1 {
        return Err(ImportError::at_path(
            format!("{path}.input"),
            format!("the tree ensemble must read the graph input `{name}` directly"),
        ));
    }
    let Some(tensor) = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()) else {
        return Err(ImportError::at_path(
            "graph.input[0]",
            format!("input `{name}` is not a tensor"),
        ));
    };
    match tensor.elem_type {
        Some(data_type::FLOAT) => {}
        Some(data_type::DOUBLE) => {
            return Err(ImportError::at_path(
                "graph.input[0]",
                format!(
                    "input `{name}` is a double tensor: onnxruntime then compares and sums in f64; emkern \
                     reads float (f32) inputs only"
                ),
            ));
        }
        other => {
            return Err(ImportError::at_path(
                "graph.input[0]",
                format!("input `{name}` has element type {other:?}; expected float (1)"),
            ));
        }
    }
    let Some(shape) = &tensor.shape else {
        return Ok(None);
    };
    match shape.dim.as_slice() {
        [_, d] => match d.dim_value {
            Some(f) if f > 0 => u32::try_from(f).map(Some).map_err(|_| {
                ImportError::at_path("graph.input[0]", format!("{f} features is too many"))
            }),
            _ => Ok(None),
        },
        [_] | [] => Ok(None),
        dims => Err(ImportError::at_path(
            "graph.input[0]",
            format!(
                "input `{name}` has {} dimensions; expected [N, F]",
                dims.len()
            ),
        )),
    }
}

/// Every node but the ensemble (at `at`) must leave numbers as they are.
fn check_other_nodes(graph: &GraphProto, at: usize) -> Result<()> {
    for (i, n) in graph.node.iter().enumerate() {
        if i == at {
            continue;
        }
        let op = n.op_type.as_deref().unwrap_or_default();
        let domain = n.domain.as_deref().unwrap_or_default();
        let path = format!("graph.node[{i}]");
        let ok = match (domain, op) {
            (ML_DOMAIN, "ZipMap") => true,
            ("" | "ai.onnx", "Identity") => true,
            ("" | "ai.onnx", "Cast") => {
                let to = n
                    .attribute
                    .iter()
                    .find(|a| a.name.as_deref() == Some("to"))
                    .and_then(|a| a.i);
                // A label may be cast to anything; a score cast to a non-float type would change it.
                matches!(
                    to.and_then(|t| i32::try_from(t).ok()),
                    Some(data_type::FLOAT | data_type::DOUBLE)
                ) || !carries_scores(graph, at, &n.input)
            }
            ("" | "ai.onnx", "Mul") => n.input.iter().any(|name| is_constant_one(graph, name)),
            _ => false,
        };
        if !ok {
            let shown = if domain.is_empty() {
                op.to_string()
            } else {
                format!("{domain}.{op}")
            };
            return Err(ImportError::at_path(
                path,
                format!(
                    "operator {shown} is not supported: emkern imports a tree-ensemble node followed only by \
                     ZipMap, Identity, Cast to float or Mul by 1"
                ),
            ));
        }
    }
    Ok(())
}

/// Whether any of `inputs` descends from the ensemble node's score output (its last output).
fn carries_scores(graph: &GraphProto, at: usize, inputs: &[String]) -> bool {
    let mut scores: HashSet<&str> = graph.node[at]
        .output
        .last()
        .map(String::as_str)
        .into_iter()
        .collect();
    for n in &graph.node[at + 1..] {
        if n.input.iter().any(|i| scores.contains(i.as_str())) {
            scores.extend(n.output.iter().map(String::as_str));
        }
    }
    inputs.iter().any(|i| scores.contains(i.as_str()))
}

/// Whether `name` is an initializer holding the single value 1.
fn is_constant_one(graph: &GraphProto, name: &str) -> bool {
    graph
        .initializer
        .iter()
        .find(|t| t.name.as_deref() == Some(name))
        .and_then(|t| tensor_f64(t).ok())
        .is_some_and(|v| v == [1.0])
}

/// A tensor's values as f64 (float, double, int32 or int64 data, typed fields or `raw_data`).
pub fn tensor_f64(t: &TensorProto) -> std::result::Result<Vec<f64>, String> {
    if t.data_location == Some(1) {
        return Err("the tensor's data is in an external file".into());
    }
    let raw = t.raw_data.as_deref().unwrap_or_default();
    let chunks = |n: usize| -> std::result::Result<std::slice::ChunksExact<'_, u8>, String> {
        if !raw.len().is_multiple_of(n) {
            return Err(format!(
                "raw_data of {} bytes is not a whole number of elements",
                raw.len()
            ));
        }
        Ok(raw.chunks_exact(n))
    };
    Ok(match t.data_type {
        Some(data_type::FLOAT) if !raw.is_empty() => chunks(4)?
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
            .collect(),
        Some(data_type::FLOAT) => t.float_data.iter().map(|&v| v as f64).collect(),
        Some(data_type::DOUBLE) if !raw.is_empty() => chunks(8)?
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect(),
        Some(data_type::DOUBLE) => t.double_data.clone(),
        Some(data_type::INT64) if !raw.is_empty() => chunks(8)?
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
            .collect(),
        Some(data_type::INT64) => t.int64_data.iter().map(|&v| v as f64).collect(),
        Some(data_type::INT32) if !raw.is_empty() => chunks(4)?
            .map(|c| i32::from_le_bytes(c.try_into().unwrap_or_default()) as f64)
            .collect(),
        Some(data_type::INT32) => t.int32_data.iter().map(|&v| v as f64).collect(),
        Some(data_type::UINT8) if !raw.is_empty() => raw.iter().map(|&v| v as f64).collect(),
        Some(data_type::UINT8) => t.int32_data.iter().map(|&v| v as f64).collect(),
        other => {
            return Err(format!(
                "tensor element type {other:?} is not float, double or integer"
            ));
        }
    })
}

/// A node's attributes, looked up by name, with errors naming `path.name`.
pub struct Attributes<'a> {
    /// Where the node is, e.g. `graph.node[0]`.
    pub path: String,
    /// The node's attributes.
    pub list: &'a [AttributeProto],
}

impl Attributes<'_> {
    fn get(&self, name: &str) -> Option<&AttributeProto> {
        self.list.iter().find(|a| a.name.as_deref() == Some(name))
    }

    /// `path.name` for errors.
    pub fn at(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// Whether the attribute is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// An `INTS` attribute (empty when absent).
    pub fn ints(&self, name: &str) -> Vec<i64> {
        self.get(name).map(|a| a.ints.clone()).unwrap_or_default()
    }

    /// An `INT` attribute.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|a| a.i)
    }

    /// A `STRING` attribute, as UTF-8 text.
    pub fn string(&self, name: &str) -> Result<Option<String>> {
        match self.get(name).and_then(|a| a.s.as_ref()) {
            None => Ok(None),
            Some(s) => String::from_utf8(s.clone())
                .map(Some)
                .map_err(|_| ImportError::at_path(self.at(name), "not UTF-8 text")),
        }
    }

    /// A `STRINGS` attribute, as UTF-8 texts (empty when absent).
    pub fn strings(&self, name: &str) -> Result<Vec<String>> {
        let Some(a) = self.get(name) else {
            return Ok(Vec::new());
        };
        a.strings
            .iter()
            .enumerate()
            .map(|(i, s)| {
                String::from_utf8(s.clone()).map_err(|_| {
                    ImportError::at_path(format!("{}[{i}]", self.at(name)), "not UTF-8 text")
                })
            })
            .collect()
    }

    /// A `TENSOR` attribute's values as f64 (empty when absent).
    pub fn tensor(&self, name: &str) -> Result<Vec<f64>> {
        let Some(a) = self.get(name) else {
            return Ok(Vec::new());
        };
        let t = a
            .t
            .as_ref()
            .ok_or_else(|| ImportError::at_path(self.at(name), "the attribute holds no tensor"))?;
        tensor_f64(t).map_err(|e| ImportError::at_path(self.at(name), e))
    }

    /// A `FLOATS` attribute, or its operator-set-3 `{name}_as_tensor` form (a float or double tensor, whose values
    /// onnxruntime rounds to f32 for float inputs); empty when neither is present, an error when both are.
    pub fn floats(&self, name: &str) -> Result<Vec<f32>> {
        let tensor_name = format!("{name}_as_tensor");
        match (self.get(name), self.get(&tensor_name)) {
            (Some(_), Some(_)) => Err(ImportError::at_path(
                self.at(name),
                format!("both `{name}` and `{tensor_name}` are set"),
            )),
            (Some(a), None) => Ok(a.floats.clone()),
            (None, Some(a)) => {
                let t = a.t.as_ref().ok_or_else(|| {
                    ImportError::at_path(self.at(&tensor_name), "the attribute holds no tensor")
                })?;
                let values =
                    tensor_f64(t).map_err(|e| ImportError::at_path(self.at(&tensor_name), e))?;
                Ok(values.into_iter().map(|v| v as f32).collect())
            }
            (None, None) => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::proto::*;
    use super::*;

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            ints: v.to_vec(),
            r#type: Some(attribute_type::INTS),
            ..Default::default()
        }
    }

    fn floats(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            floats: v.to_vec(),
            r#type: Some(attribute_type::FLOATS),
            ..Default::default()
        }
    }

    fn string(name: &str, v: &str) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            s: Some(v.as_bytes().to_vec()),
            r#type: Some(attribute_type::STRING),
            ..Default::default()
        }
    }

    fn strings(name: &str, v: &[&str]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            r#type: Some(attribute_type::STRINGS),
            ..Default::default()
        }
    }

    fn float_tensor(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            t: Some(TensorProto {
                dims: vec![v.len() as i64],
                data_type: Some(data_type::FLOAT),
                raw_data: Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                ..Default::default()
            }),
            r#type: Some(attribute_type::TENSOR),
            ..Default::default()
        }
    }

    /// One regressor tree: `x[1] <mode> 0.5 ? 1.0 : 2.0`, NaN tracking set.
    fn regressor_attributes(mode: &str) -> Vec<AttributeProto> {
        vec![
            ints("nodes_treeids", &[0, 0, 0]),
            ints("nodes_nodeids", &[0, 1, 2]),
            ints("nodes_featureids", &[1, 0, 0]),
            floats("nodes_values", &[0.5, 0.0, 0.0]),
            strings("nodes_modes", &[mode, "LEAF", "LEAF"]),
            ints("nodes_truenodeids", &[1, 0, 0]),
            ints("nodes_falsenodeids", &[2, 0, 0]),
            ints("nodes_missing_value_tracks_true", &[1, 0, 0]),
            ints("target_treeids", &[0, 0]),
            ints("target_nodeids", &[1, 2]),
            ints("target_ids", &[0, 0]),
            floats("target_weights", &[1.0, 2.0]),
            ints("n_targets", &[]),
        ]
        .into_iter()
        .filter(|a| a.name.as_deref() != Some("n_targets"))
        .collect()
    }

    fn model(
        op: &str,
        attribute: Vec<AttributeProto>,
        extra: Vec<NodeProto>,
        elem: i32,
    ) -> Vec<u8> {
        let mut node = vec![NodeProto {
            input: vec!["x".into()],
            output: vec!["y".into()],
            op_type: Some(op.into()),
            domain: Some(ML_DOMAIN.into()),
            attribute,
            ..Default::default()
        }];
        node.extend(extra);
        let input = ValueInfoProto {
            name: Some("x".into()),
            r#type: Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type: Some(elem),
                    shape: Some(TensorShapeProto {
                        dim: vec![
                            Dimension {
                                dim_param: Some("N".into()),
                                ..Default::default()
                            },
                            Dimension {
                                dim_value: Some(3),
                                ..Default::default()
                            },
                        ],
                    }),
                }),
            }),
        };
        ModelProto {
            ir_version: Some(8),
            producer_name: Some("unit-test".into()),
            producer_version: Some("0".into()),
            graph: Some(GraphProto {
                node,
                input: vec![input],
                ..Default::default()
            }),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(ML_DOMAIN.into()),
                version: Some(3),
            }],
        }
        .encode_to_vec()
    }

    fn import(op: &str, attrs: Vec<AttributeProto>) -> Result<Ensemble> {
        from_bytes(&model(op, attrs, vec![], data_type::FLOAT))
    }

    fn err(r: Result<Ensemble>) -> String {
        r.expect_err("expected an error").to_string()
    }

    #[test]
    fn a_model_is_recognised_and_named() {
        let bytes = model(
            "TreeEnsembleRegressor",
            regressor_attributes("BRANCH_LEQ"),
            vec![],
            1,
        );
        assert!(looks_like(&bytes));
        assert!(!looks_like(b"{\"learner\": {}}"));
        assert!(!looks_like(&[0x08, 0x01, 0xff]));
        let e = from_bytes(&bytes).unwrap();
        assert_eq!(e.n_features, 3);
        assert!(
            e.source
                .starts_with("onnx: unit-test 0, ai.onnx.ml.TreeEnsembleRegressor (opset 3)"),
            "{}",
            e.source
        );
    }

    #[test]
    fn every_mode_decides_like_its_definition() {
        // onnxruntime's rule: true when `x <mode> t` holds, or x is NaN and tracking is set (NEQ: NaN != t holds).
        let t = 0.5f32;
        let probes = [
            f32::NAN,
            -1.0,
            0.0,
            below_half(),
            0.5,
            0.500_000_06,
            1.0,
            f32::INFINITY,
        ];
        for (mode, holds) in [
            (
                "BRANCH_LEQ",
                (|x: f32, t: f32| x <= t) as fn(f32, f32) -> bool,
            ),
            ("BRANCH_LT", |x, t| x < t),
            ("BRANCH_GTE", |x, t| x >= t),
            ("BRANCH_GT", |x, t| x > t),
            ("BRANCH_EQ", |x, t| x == t),
            ("BRANCH_NEQ", |x, t| x != t),
        ] {
            for tracking in [0, 1] {
                let mut attrs = regressor_attributes(mode);
                attrs[7] = ints("nodes_missing_value_tracks_true", &[tracking, 0, 0]);
                let e = import("TreeEnsembleRegressor", attrs).unwrap();
                for x in probes {
                    let truth = holds(x, t) || (x.is_nan() && tracking == 1);
                    let want = if truth { 1.0 } else { 2.0 };
                    let got = e.margin_reference(&[0.0, x, 0.0])[0];
                    assert_eq!(got, want, "{mode}, tracking {tracking}, x = {x}");
                }
            }
        }
    }

    fn below_half() -> f32 {
        f32::from_bits(0.5f32.to_bits() - 1)
    }

    #[test]
    fn tensor_attributes_read_like_lists() {
        let mut attrs = regressor_attributes("BRANCH_LT");
        attrs[3] = float_tensor("nodes_values_as_tensor", &[0.5, 0.0, 0.0]);
        attrs[11] = float_tensor("target_weights_as_tensor", &[1.0, 2.0]);
        let a = import("TreeEnsembleRegressor", attrs).unwrap();
        let b = import("TreeEnsembleRegressor", regressor_attributes("BRANCH_LT")).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn unsupported_features_are_errors_naming_them() {
        let with = |extra: AttributeProto| {
            let mut a = regressor_attributes("BRANCH_LEQ");
            a.push(extra);
            import("TreeEnsembleRegressor", a)
        };
        assert!(err(with(string("post_transform", "PROBIT"))).contains("PROBIT"));
        assert!(err(with(string("post_transform", "LOGISTIC"))).contains("one-target regressor"));
        assert!(err(with(string("aggregate_function", "MIN"))).contains("aggregate_function MIN"));
        let e = err(import(
            "TreeEnsembleRegressor",
            regressor_attributes("BRANCH_MEMBER"),
        ));
        assert!(
            e.contains("nodes_modes[0]") && e.contains("BRANCH_MEMBER"),
            "{e}"
        );
        let add = NodeProto {
            input: vec!["y".into(), "y".into()],
            output: vec!["z".into()],
            op_type: Some("Add".into()),
            ..Default::default()
        };
        let e = err(from_bytes(&model(
            "TreeEnsembleRegressor",
            regressor_attributes("BRANCH_LEQ"),
            vec![add],
            data_type::FLOAT,
        )));
        assert!(
            e.contains("graph.node[1]") && e.contains("operator Add"),
            "{e}"
        );
        let e = err(from_bytes(&model(
            "TreeEnsembleRegressor",
            regressor_attributes("BRANCH_LEQ"),
            vec![],
            data_type::DOUBLE,
        )));
        assert!(e.contains("double"), "{e}");
        let mut short = regressor_attributes("BRANCH_LEQ");
        short[2] = ints("nodes_featureids", &[1, 0]);
        assert!(err(import("TreeEnsembleRegressor", short)).contains("nodes_featureids"));
        let mut wide = regressor_attributes("BRANCH_LEQ");
        wide[2] = ints("nodes_featureids", &[7, 0, 0]);
        assert!(err(import("TreeEnsembleRegressor", wide)).contains("the input has 3 features"));
        let mut cycle = regressor_attributes("BRANCH_LEQ");
        cycle[4] = strings("nodes_modes", &["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"]);
        cycle[5] = ints("nodes_truenodeids", &[1, 0, 0]);
        cycle[6] = ints("nodes_falsenodeids", &[2, 2, 0]);
        cycle[9] = ints("target_nodeids", &[2, 2]);
        assert!(err(import("TreeEnsembleRegressor", cycle)).contains("tree 0 has no root"));
        let mut two_roots = regressor_attributes("BRANCH_LEQ");
        two_roots[5] = ints("nodes_truenodeids", &[2, 0, 0]);
        assert!(err(import("TreeEnsembleRegressor", two_roots)).contains("several roots"));
        let mut nan = regressor_attributes("BRANCH_LT");
        nan[3] = floats("nodes_values", &[f32::NAN, 0.0, 0.0]);
        assert!(err(import("TreeEnsembleRegressor", nan)).contains("nodes_values[0]"));
        assert!(from_bytes(b"\x08\x01\x3a\x02\xff").is_err());
    }

    fn tensor_of(name: &str, elem: i32, v: &[f64]) -> AttributeProto {
        AttributeProto {
            name: Some(name.into()),
            t: Some(TensorProto {
                dims: vec![v.len() as i64],
                data_type: Some(elem),
                float_data: v.iter().map(|&x| x as f32).collect(),
                int32_data: v.iter().map(|&x| x as i32).collect(),
                ..Default::default()
            }),
            r#type: Some(attribute_type::TENSOR),
            ..Default::default()
        }
    }

    /// A `TreeEnsemble` (operator set 5) of one split on `x[2]` with mode number `mode` and two leaves.
    fn v5_attributes(mode: f64) -> Vec<AttributeProto> {
        vec![
            ints("nodes_featureids", &[2]),
            tensor_of("nodes_splits", data_type::FLOAT, &[1.0]),
            tensor_of("nodes_modes", data_type::UINT8, &[mode]),
            ints("nodes_truenodeids", &[0]),
            ints("nodes_falsenodeids", &[1]),
            ints("nodes_trueleafs", &[1]),
            ints("nodes_falseleafs", &[1]),
            ints("tree_roots", &[0]),
            ints("leaf_targetids", &[0, 0]),
            tensor_of("leaf_weights", data_type::FLOAT, &[10.0, 20.0]),
        ]
    }

    #[test]
    fn tree_ensemble_v5_reads_leaves_and_refuses_the_ambiguous() {
        let e = import("TreeEnsemble", v5_attributes(1.0)).unwrap();
        // BRANCH_LT: x < 1 → leaf 0 (10), else leaf 1 (20); NaN untracked → false.
        for (x, want) in [(0.0f32, 10.0), (1.0, 20.0), (f32::NAN, 20.0)] {
            assert_eq!(e.margin_reference(&[0.0, 0.0, x])[0], want, "x = {x}");
        }
        let e = err(import("TreeEnsemble", v5_attributes(6.0)));
        assert!(
            e.contains("nodes_modes[0]") && e.contains("BRANCH_MEMBER"),
            "{e}"
        );
        let mut post = v5_attributes(0.0);
        post.push(AttributeProto {
            name: Some("post_transform".into()),
            i: Some(1),
            r#type: Some(attribute_type::INT),
            ..Default::default()
        });
        assert!(err(import("TreeEnsemble", post)).contains("post_transform 1"));
        let mut bad_leaf = v5_attributes(0.0);
        bad_leaf[4] = ints("nodes_falsenodeids", &[5]);
        assert!(err(import("TreeEnsemble", bad_leaf)).contains("does not exist"));
    }
}
