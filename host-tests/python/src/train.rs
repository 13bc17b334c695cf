//! `emkern._native.train`: a training run of `emkern train` on rows given by Python.
//!
//! The rows are written to a CSV file in a fresh temporary folder, exactly as the trainer reads them (features
//! as the shortest text of their f32 value, which the reader parses back to the same f32; targets as given),
//! and the run is [`emkern_host::train::run::run`] with the options `emkern train` would parse from the same
//! flags ([`config_from_options`]): the same defaults, checks, messages and trees as the command line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use emkern_host::cli::train::{OptionValue, config_from_options};
use emkern_host::model;
use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString, PyTuple};

use crate::error;
use crate::model::Model;

/// A folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> PyResult<Scratch> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("emkern-train-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| error(format!("{}: cannot create the folder: {e}", dir.display())))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break (a quote doubled).
fn cell(text: &str, out: &mut String) {
    if text.contains([',', '"', '\n', '\r']) || text.trim() != text {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// The training CSV: a header of `names` and `target`, then each row of `x` and its label.
fn write_csv(
    path: &Path,
    x: &PyReadonlyArray2<'_, f64>,
    y: &[String],
    names: &[String],
    target: &str,
) -> PyResult<()> {
    let mut text = String::new();
    for name in names {
        cell(name, &mut text);
        text.push(',');
    }
    cell(target, &mut text);
    text.push('\n');
    for (row, label) in x.as_array().rows().into_iter().zip(y) {
        for &v in row {
            let v = v as f32;
            if !v.is_nan() {
                let _ = write!(text, "{v}");
            }
            text.push(',');
        }
        cell(label, &mut text);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| error(format!("{}: cannot write: {e}", path.display())))
}

/// One option's value from Python: a bool is a switch, a list or tuple of values a list option, anything else
/// its `str()`.
fn option_value(v: &Bound<'_, PyAny>) -> PyResult<OptionValue> {
    if v.is_instance_of::<PyBool>() {
        return Ok(OptionValue::Switch(v.extract()?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = v.extract()?;
        return items
            .iter()
            .map(|i| Ok(i.str()?.to_string()))
            .collect::<PyResult<Vec<String>>>()
            .map(OptionValue::List);
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(OptionValue::Text(s.to_string()));
    }
    Ok(OptionValue::Text(v.str()?.to_string()))
}

/// Trains `algo` on the rows `x` (float64, `(rows, features)`, NaN = missing) and the labels or targets `y`
/// (their text), with `options` named as `emkern train`'s flags; returns the model (with the class names in its
/// blob) and, for the algorithms that can write one, its XGBoost JSON.
#[pyfunction]
#[pyo3(signature = (x, y, feature_names, algo, options, verbose = false))]
pub fn train(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    y: Vec<String>,
    feature_names: Vec<String>,
    algo: String,
    options: Vec<(String, Bound<'_, PyAny>)>,
    verbose: bool,
) -> PyResult<Model> {
    let (rows, cols) = x.as_array().dim();
    if y.len() != rows {
        return Err(error(format!(
            "X has {rows} rows but y has {} values",
            y.len()
        )));
    }
    if feature_names.len() != cols {
        return Err(error(format!(
            "{} feature names for {cols} columns",
            feature_names.len()
        )));
    }
    let mut target = "target".to_string();
    while feature_names.contains(&target) {
        target.insert(0, '_');
    }
    let scratch = Scratch::new()?;
    let data = scratch.0.join("train.csv");
    let output = scratch.0.join("model.emk");
    let xgboost = scratch.0.join("model.xgboost.json");
    write_csv(&data, &x, &y, &feature_names, &target)?;
    let path = |p: &Path| OptionValue::Text(p.display().to_string());
    let mut all = vec![
        ("algo".to_string(), OptionValue::Text(algo.clone())),
        ("data".into(), path(&data)),
        ("target".into(), OptionValue::Text(target)),
        ("output".into(), path(&output)),
        ("quiet".into(), OptionValue::Switch(true)),
    ];
    let reserved = [
        "algo",
        "data",
        "target",
        "output",
        "quiet",
        "valid",
        "report",
        "xgboost_json",
    ];
    for (name, value) in &options {
        let key = name.replace('-', "_");
        if reserved.contains(&key.as_str())
            || ["rust", "c_header", "c_source", "codegen"].contains(&key.as_str())
        {
            return Err(error(format!(
                "{name}: set by emkern.train itself (write outputs with Model.save or Model.to_xgboost_json)"
            )));
        }
        all.push((key, option_value(value)?));
    }
    let mut config = config_from_options(&all).map_err(error)?;
    // Every algorithm but AdaBoost.R2 can be written as XGBoost JSON; the run fails if it cannot.
    let regression_adaboost = config.algo == emkern_host::train::config::Algo::Adaboost
        && config.task != Some(emkern_host::train::dataset::Task::Classification);
    if !regression_adaboost {
        config.hist.xgboost_json = Some(xgboost.clone());
    }
    let result = py.detach(|| {
        emkern_host::output::set_quiet(!verbose);
        let r = emkern_host::train::run::run(&config).map_err(|e| e.to_string());
        emkern_host::output::set_quiet(false);
        r
    });
    result.map_err(|e| error(format!("emkern.train({algo:?}): {e}")))?;
    let loaded = model::load(&output).map_err(error)?;
    let json = std::fs::read_to_string(&xgboost).ok();
    Model::new(loaded, format!("emkern.train({algo:?})"), json)
}
