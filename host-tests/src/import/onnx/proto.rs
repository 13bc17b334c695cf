//! The few ONNX protobuf messages the importer reads, declared with prost's derive macro. Field numbers are
//! `onnx/onnx-ml.proto`'s; fields the importer does not read are left out (protobuf skips unknown fields), and
//! `oneof` members are declared as plain optional fields, which decode the same.

/// `ModelProto`: the file's top-level message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// `ir_version` (field 1): the ONNX IR version.
    #[prost(int64, optional, tag = "1")]
    pub ir_version: Option<i64>,
    /// `producer_name` (field 2), e.g. `skl2onnx`.
    #[prost(string, optional, tag = "2")]
    pub producer_name: Option<String>,
    /// `producer_version` (field 3).
    #[prost(string, optional, tag = "3")]
    pub producer_version: Option<String>,
    /// `graph` (field 7): the model's computation.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// `opset_import` (field 8): the operator set version of each domain.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
}

/// `OperatorSetIdProto`: a domain and its operator set version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// `domain` (field 1); empty for the default domain `ai.onnx`.
    #[prost(string, optional, tag = "1")]
    pub domain: Option<String>,
    /// `version` (field 2).
    #[prost(int64, optional, tag = "2")]
    pub version: Option<i64>,
}

/// `GraphProto`: nodes in topological order, inputs, outputs and constant tensors.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// `node` (field 1).
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// `initializer` (field 5): named constant tensors.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// `input` (field 11).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// `output` (field 12).
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `NodeProto`: one operator call.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// `input` (field 1): value names.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// `output` (field 2): value names.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// `name` (field 3).
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    /// `op_type` (field 4), e.g. `TreeEnsembleClassifier`.
    #[prost(string, optional, tag = "4")]
    pub op_type: Option<String>,
    /// `attribute` (field 5).
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
    /// `domain` (field 7), e.g. `ai.onnx.ml`; empty for `ai.onnx`.
    #[prost(string, optional, tag = "7")]
    pub domain: Option<String>,
}

/// `AttributeProto`: a named attribute of a node (one of the value fields is set, per `type`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// `name` (field 1).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// `f` (field 2): a float.
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    /// `i` (field 3): an integer.
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    /// `s` (field 4): a UTF-8 string.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    /// `t` (field 5): a tensor (the `*_as_tensor` attributes of the tree ensembles).
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// `floats` (field 7).
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    /// `ints` (field 8).
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    /// `strings` (field 9).
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
    /// `type` (field 20): which value field is in use ([`attribute_type`] names them).
    #[prost(int32, optional, tag = "20")]
    pub r#type: Option<i32>,
}

/// `AttributeProto.AttributeType` values the importer reads.
pub mod attribute_type {
    /// `FLOAT`.
    pub const FLOAT: i32 = 1;
    /// `INT`.
    pub const INT: i32 = 2;
    /// `STRING`.
    pub const STRING: i32 = 3;
    /// `TENSOR`.
    pub const TENSOR: i32 = 4;
    /// `FLOATS`.
    pub const FLOATS: i32 = 6;
    /// `INTS`.
    pub const INTS: i32 = 7;
    /// `STRINGS`.
    pub const STRINGS: i32 = 8;
}

/// `TensorProto`: a tensor's shape, element type and data (in one of the typed fields or `raw_data`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// `dims` (field 1).
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// `data_type` (field 2): a [`data_type`] value.
    #[prost(int32, optional, tag = "2")]
    pub data_type: Option<i32>,
    /// `float_data` (field 4).
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// `int32_data` (field 5).
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// `int64_data` (field 7).
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// `name` (field 8).
    #[prost(string, optional, tag = "8")]
    pub name: Option<String>,
    /// `raw_data` (field 9): little-endian element bytes.
    #[prost(bytes = "vec", optional, tag = "9")]
    pub raw_data: Option<Vec<u8>>,
    /// `double_data` (field 10).
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    /// `data_location` (field 14): 1 = `EXTERNAL` (the data is in another file).
    #[prost(int32, optional, tag = "14")]
    pub data_location: Option<i32>,
}

/// `TensorProto.DataType` values the importer reads.
pub mod data_type {
    /// `FLOAT` (f32).
    pub const FLOAT: i32 = 1;
    /// `UINT8` (`TreeEnsemble`'s `nodes_modes`).
    pub const UINT8: i32 = 2;
    /// `INT32`.
    pub const INT32: i32 = 6;
    /// `INT64`.
    pub const INT64: i32 = 7;
    /// `DOUBLE` (f64).
    pub const DOUBLE: i32 = 11;
}

/// `ValueInfoProto`: a graph input's or output's name and type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// `name` (field 1).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// `type` (field 2).
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// `TypeProto`: only its `tensor_type` member (field 1 of the `value` oneof) is read.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// `tensor_type` (field 1).
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// `TypeProto.Tensor`: element type and shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorTypeProto {
    /// `elem_type` (field 1): a [`data_type`] value.
    #[prost(int32, optional, tag = "1")]
    pub elem_type: Option<i32>,
    /// `shape` (field 2).
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// `TensorShapeProto`: one entry per dimension.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// `dim` (field 1).
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// `TensorShapeProto.Dimension`: a size or a symbolic name (the `value` oneof).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// `dim_value` (field 1).
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    /// `dim_param` (field 2).
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}
