//! `emkern._native.Model`: a loaded model (its format, its IR when it was imported, the blob the core runs) and
//! what can be done with it: predict through the `no_std` core, describe it, write it as a blob, C or Rust.

use emkern::forest::{Aggregate, Forest};
use emkern_host::describe::{Cost, blob_error};
use emkern_host::export::codegen::{self, Lang};
use emkern_host::export::{source, xgboost_json};
use emkern_host::f64_inputs::F64Inputs;
use emkern_host::model::{self, Loaded};
use emkern_simd::Simd;
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::error;

/// A model emkern can run: imported from a framework's model or read from an `.emk` blob.
#[pyclass(module = "emkern._native", frozen)]
pub struct Model {
    /// The format, the IR (absent for a blob) and the blob.
    loaded: Loaded,
    /// The f64 → f32 input mapping of a model that compares in f64 (LightGBM), as `emkern predict` reads rows.
    inputs: Option<F64Inputs>,
    /// The XGBoost JSON a training run wrote beside the blob (trained models only).
    xgboost_json: Option<String>,
    /// Where the model came from, for messages and the generated sources' header comment.
    origin: String,
    /// The shape and class names, read once when the blob was validated (the getters answer from these).
    shape: Shape,
}

/// What the getters report, read from the validated blob at construction.
struct Shape {
    n_features: usize,
    n_outputs: usize,
    output_len: usize,
    transform: String,
    class_names: Vec<String>,
}

impl Model {
    /// A model from what [`model::load`] or [`model::from_bytes`] returned.
    pub(crate) fn new(
        loaded: Loaded,
        origin: String,
        xgboost_json: Option<String>,
    ) -> PyResult<Model> {
        let shape = {
            let f = Forest::new(&loaded.blob)
                .map_err(|e| error(format!("{origin}: {}", blob_error(&loaded.blob, e))))?;
            Shape {
                n_features: f.n_features(),
                n_outputs: f.n_outputs(),
                output_len: f.output_len(),
                transform: format!("{:?}", f.transform()).to_lowercase(),
                class_names: f.class_names().map(str::to_string).collect(),
            }
        };
        Ok(Model {
            inputs: F64Inputs::for_model(&loaded),
            loaded,
            xgboost_json,
            origin,
            shape,
        })
    }

    /// The core's view of the blob (validated on every call: the view borrows the blob).
    fn forest(&self) -> PyResult<Forest<'_>> {
        let blob = &self.loaded.blob;
        Forest::new(blob).map_err(|e| error(format!("{}: {}", self.origin, blob_error(blob, e))))
    }

    /// The rows of `x` as the core reads them: f64 values mapped to f32 values with the same decisions for a
    /// model that compares in f64, else rounded to the nearest f32 (as XGBoost's `DMatrix` does); and the number
    /// of values no f32 maps exactly.
    fn rows(&self, x: &PyReadonlyArray2<'_, f64>) -> (Vec<f32>, usize) {
        let view = x.as_array();
        let mut out = Vec::with_capacity(view.len());
        let mut inexact = 0;
        for row in view.rows() {
            for (j, &v) in row.iter().enumerate() {
                match &self.inputs {
                    Some(inputs) => {
                        let mapped = inputs.map(j, v);
                        inexact += !mapped.exact as usize;
                        out.push(mapped.value);
                    }
                    None => out.push(v as f32),
                }
            }
        }
        (out, inexact)
    }
}

#[pymethods]
impl Model {
    /// Reads a model file: anything `emkern import` reads (XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn
    /// JSON, CatBoost JSON, ONNX-ML) or an `.emk` blob; the format is told from the content.
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Model> {
        let loaded = model::load(&path).map_err(error)?;
        Model::new(loaded, path.display().to_string(), None)
    }

    /// Reads a model held in memory, as `from_file` reads a file; `name` stands for the file in messages and
    /// `onnx` takes bytes no format recognizes as ONNX.
    #[staticmethod]
    #[pyo3(signature = (data, name, onnx = false))]
    fn from_bytes(data: &[u8], name: String, onnx: bool) -> PyResult<Model> {
        let loaded = model::from_bytes(data.to_vec(), &name, onnx)
            .map_err(|e| error(format!("{name}: {e}")))?;
        Model::new(loaded, name, None)
    }

    /// Predictions (or, with `margin`, raw margins) of every row of `x` (a C-contiguous or strided float64
    /// array of shape `(rows, n_features)`), through the core's batch path: an f32 array `(rows, width)`, and
    /// the number of input values that no f32 maps exactly (see `emkern predict`).
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        margin: bool,
    ) -> PyResult<(Bound<'py, PyArray2<f32>>, usize)> {
        let f = self.forest()?;
        let (n_rows, n_cols) = x.as_array().dim();
        if n_cols != f.n_features() {
            return Err(error(format!(
                "X has {n_cols} column{} but the model reads {} feature{}",
                if n_cols == 1 { "" } else { "s" },
                f.n_features(),
                if f.n_features() == 1 { "" } else { "s" }
            )));
        }
        let (rows, inexact) = self.rows(&x);
        let width = if margin {
            f.n_outputs()
        } else {
            f.output_len()
        };
        let mut values = vec![0.0f32; n_rows * width];
        let result = py.detach(|| {
            let mut plan_words = f.simd_plan_len().map(|n| vec![0u32; n]).unwrap_or_default();
            let plan = f.simd_plan(&mut plan_words).ok();
            f.predict_batch_simd(
                Simd::best(),
                plan.as_ref(),
                &rows,
                n_cols,
                n_rows,
                &mut values,
                margin,
            )
            .map(|_| ())
        });
        result.map_err(error)?;
        let array = PyArray1::from_vec(py, values).reshape([n_rows, width])?;
        Ok((array, inexact))
    }

    /// The blob the core runs (the bytes of an `.emk` file).
    fn blob<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.loaded.blob)
    }

    /// The model as generated source with the trees as code: `lang` is `"c"` (one C99 header) or `"rust"` (one
    /// `no_std` module); `name` prefixes the C functions and macros.
    fn codegen(&self, lang: &str, name: &str) -> PyResult<String> {
        let lang = Lang::from_name(lang)
            .ok_or_else(|| error(format!("lang {lang:?}: \"c\" or \"rust\"")))?;
        codegen::check_name(name).map_err(|e| error(format!("name: {e}")))?;
        codegen::generate(&self.loaded.blob, lang, name, &self.describe_origin())
            .map_err(|e| error(format!("{}: {e}", self.origin)))
    }

    /// The model as C data for the C API: `(header, source)` texts, the source including the header by the
    /// file name `header_file` and defining the blob `name` (as `emkern import --c-header --c-source` writes).
    fn c_api_files(&self, name: &str, header_file: &str) -> PyResult<(String, String)> {
        source::check_c_name(name).map_err(|e| error(format!("name: {e}")))?;
        let dir = std::path::Path::new("");
        let (h, c) = (dir.join(header_file), dir.join("model.c"));
        let files = source::c_files(
            name,
            Some(&h),
            Some(&c),
            &self.loaded.blob,
            &self.describe_origin(),
        )
        .map_err(error)?;
        match <[_; 2]>::try_from(files) {
            Ok([(_, header), (_, source)]) => Ok((header, source)),
            Err(_) => Err(error(
                "the C API writer returned an unexpected number of files",
            )),
        }
    }

    /// The model as an XGBoost 3.x JSON document (`xgboost.Booster(model_file=...)` loads it): the trained
    /// model's own, or the imported model's IR written with XGBoost's semantics. A bare blob has no IR.
    fn xgboost_json(&self) -> PyResult<String> {
        if let Some(json) = &self.xgboost_json {
            return Ok(json.clone());
        }
        let e = self.loaded.ensemble.as_ref().ok_or_else(|| {
            error(format!(
                "{}: an .emk blob does not keep the trees' full IR; convert the framework's model instead",
                self.origin
            ))
        })?;
        let x = xgboost_json::to_xgboost_semantics(e).map_err(error)?;
        xgboost_json::write(&x, &Default::default()).map_err(error)
    }

    /// What the model is and what one prediction costs, as a dict (see `emkern.Model.inspect`).
    fn inspect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = self.forest()?;
        let s = f.summary();
        let cost = Cost::of(&f);
        let d = PyDict::new(py);
        d.set_item("format", self.loaded.format.name())?;
        d.set_item(
            "source",
            self.loaded.ensemble.as_ref().map(|e| e.source.clone()),
        )?;
        d.set_item("transform", &self.shape.transform)?;
        d.set_item(
            "aggregate",
            match s.aggregate {
                Aggregate::Sum => "sum",
                Aggregate::Mean => "mean",
                Aggregate::WeightedMedian => "weighted_median",
            },
        )?;
        d.set_item("trees", s.trees)?;
        d.set_item("nodes", s.nodes)?;
        d.set_item("leaves", s.leaves)?;
        d.set_item("n_features", s.features)?;
        d.set_item("n_outputs", s.outputs)?;
        d.set_item("output_width", f.output_len())?;
        d.set_item("leaf_width", s.leaf_width)?;
        d.set_item("node_bytes", s.node_bytes)?;
        d.set_item("bytes", s.blob_bytes)?;
        d.set_item("max_depth", s.max_depth)?;
        d.set_item("worst_case_visits", cost.node_visits)?;
        d.set_item("tree_walks", cost.tree_walks)?;
        d.set_item("passes", cost.passes)?;
        d.set_item("f64_values", s.wide_values)?;
        d.set_item("f64_inputs", self.inputs.is_some())?;
        d.set_item("class_names", &self.shape.class_names)?;
        d.set_item(
            "feature_names",
            self.loaded
                .ensemble
                .as_ref()
                .and_then(|e| e.feature_names.clone()),
        )?;
        Ok(d)
    }

    /// Features a row must have.
    #[getter]
    fn n_features(&self) -> usize {
        self.shape.n_features
    }

    /// Values `predict` returns per row.
    #[getter]
    fn output_width(&self) -> usize {
        self.shape.output_len
    }

    /// Raw margin columns per row.
    #[getter]
    fn n_outputs(&self) -> usize {
        self.shape.n_outputs
    }

    /// The class names stored in the blob (empty when it has none).
    #[getter]
    fn class_names(&self) -> Vec<String> {
        self.shape.class_names.clone()
    }

    /// The transform the core applies to the margins (`"identity"`, `"sigmoid"`, `"softmax"`, ...).
    #[getter]
    fn transform(&self) -> String {
        self.shape.transform.clone()
    }

    /// The format the model was read from (`"XGBoost JSON"`, `"emkern blob"`, ...).
    #[getter]
    fn format(&self) -> &'static str {
        self.loaded.format.name()
    }

    /// Where the model came from (a file name, or what `emkern.convert` was given).
    #[getter]
    fn origin(&self) -> &str {
        &self.origin
    }
}

impl Model {
    /// The origin line of generated sources: the name and, for imported models, the IR's source line.
    fn describe_origin(&self) -> String {
        match &self.loaded.ensemble {
            Some(e) => format!("{} ({})", self.origin, e.source),
            None => self.origin.clone(),
        }
    }
}
