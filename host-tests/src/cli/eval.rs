//! `emkern eval`: scores a model (any format the CLI loads) on a labelled CSV file, predicting through the
//! `no_std` core.
//!
//! What is scored follows from the model's outputs: several prediction columns are class probabilities
//! (classifiers, softmax models); one column through a sigmoid is the probability of class 1; `ArgMax` and hinge
//! models predict a class directly (accuracy only); any other single column is a regression value.
//!
//! Features are every column but the target and the `--ignore`d ones, in file order, as the trainer reads them;
//! they must be numeric (categorical columns as their integer codes). Labels are class indices `0..K`, or names
//! mapped through the class names `emkern train` stores in the blob, or through `--classes` (in the model's
//! class order, which `emkern train` prints; when the model stores names too, they must agree). The data may be
//! CSV or Parquet (`.parquet`, `.parq`), read as [`io::read_records`] describes.

use std::fmt::Write as _;
use std::path::PathBuf;

use emkern::forest::{Forest, Transform};

use crate::io::{self, DataError};
use crate::metrics;
use crate::model;

/// Arguments of `emkern eval`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalRequest {
    /// The model (an `.emk` blob, XGBoost JSON/UBJSON, LightGBM text, emkern-sklearn JSON, CatBoost JSON or ONNX-ML).
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled rows: CSV with a header row, or Parquet (`.parquet`, `.parq`).
    #[arg(long)]
    pub data: PathBuf,
    /// Target column: a header name, or a 0-based column index.
    #[arg(long)]
    pub target: String,
    /// Columns that are neither features nor the target (e.g. a weight column), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Class names in the model's class order, for labels that are not class indices (default: the names
    /// stored in the model by `emkern train`).
    #[arg(long, value_delimiter = ',')]
    pub classes: Vec<String>,
}

/// How the model's predictions are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// One probability per class.
    Probabilities(usize),
    /// The probability of class 1 of two.
    PositiveProbability,
    /// A class index (no probabilities).
    Class,
    /// A real value.
    Value,
}

fn reading(f: &Forest) -> Reading {
    match (f.transform(), f.output_len()) {
        (Transform::ArgMax | Transform::HingeStep, _) => Reading::Class,
        (Transform::Sigmoid, 1) => Reading::PositiveProbability,
        (_, 1) => Reading::Value,
        (_, k) => Reading::Probabilities(k),
    }
}

/// Runs `emkern eval`.
pub fn run(req: &EvalRequest) -> Result<(), Box<dyn std::error::Error>> {
    let loaded = model::load(&req.model)?;
    let f = crate::describe::open_blob(&req.model, &loaded.blob)?;
    let classes = class_names(req, &f)?;
    let how = reading(&f);
    let k = match how {
        Reading::Probabilities(k) => Some(k),
        Reading::PositiveProbability => Some(2),
        _ => None,
    };
    if let Some(k) = k
        && !classes.is_empty()
        && classes.len() != k
    {
        return Err(format!(
            "{} name {} classes, the model predicts {k}",
            if req.classes.is_empty() {
                "the model's stored class names"
            } else {
                "--classes"
            },
            classes.len()
        )
        .into());
    }
    let records = io::read_records(&req.data)?;
    let err = |line: usize, column: usize, message: String| {
        records.error(&req.data, line, column, message)
    };
    if records.rows.is_empty() {
        return Err(err(
            0,
            0,
            "no data rows after the header: nothing to score".into(),
        )
        .into());
    }
    let header = &records.header;
    let target = header
        .iter()
        .position(|h| *h == req.target)
        .or_else(|| {
            req.target
                .parse::<usize>()
                .ok()
                .filter(|&c| c < header.len())
        })
        .ok_or_else(|| err(0, 0, format!("no target column `{}`", req.target)))?;
    for name in &req.ignore {
        if !header.contains(name) {
            return Err(err(0, 0, format!("no column `{name}` to ignore")).into());
        }
    }
    let features: Vec<usize> = (0..header.len())
        .filter(|&c| c != target && !req.ignore.contains(&header[c]))
        .collect();
    if features.len() < f.n_features() {
        return Err(err(
            0,
            0,
            format!(
                "{} feature columns, the model reads {}",
                features.len(),
                f.n_features()
            ),
        )
        .into());
    }
    let mut out = vec![0.0f32; f.output_len()];
    let mut row = Vec::with_capacity(features.len());
    let mut predictions: Vec<Vec<f64>> = Vec::with_capacity(records.rows.len());
    let mut labels = Vec::with_capacity(records.rows.len());
    for rec in &records.rows {
        row.clear();
        for &c in &features {
            let s = rec.cells[c].as_str();
            row.push(if io::is_missing(s) {
                f32::NAN
            } else {
                s.parse::<f64>().map_err(|_| {
                    err(
                        rec.line,
                        c + 1,
                        format!(
                            "`{s}` in the column `{}` is not a number (features must be numeric; categorical \
                             columns as their integer codes)",
                            header[c]
                        ),
                    )
                })? as f32
            });
        }
        f.predict(&row, &mut out)
            .map_err(|e| err(rec.line, 0, e.to_string()))?;
        predictions.push(out.iter().map(|&v| v as f64).collect());
        labels.push(label(rec, target, header, how, &classes, &err)?);
    }
    let n = records.rows.len();
    let s = f.summary();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "emkern eval: {} ({}, {} trees) on {} ({n} rows)",
        req.model.display(),
        loaded.format.name(),
        s.trees,
        req.data.display()
    );
    match how {
        Reading::Value => {
            let y: Vec<f64> = labels.iter().map(|l| l.value()).collect();
            let p: Vec<f64> = predictions.iter().map(|p| p[0]).collect();
            let m = metrics::regression(&y, &p);
            let _ = writeln!(o, "  RMSE      {:.6}", m.rmse);
            let _ = writeln!(o, "  MAE       {:.6}", m.mae);
            let _ = writeln!(o, "  R²        {:.6}", m.r2);
        }
        Reading::Class => {
            let correct = labels
                .iter()
                .zip(&predictions)
                .filter(|(l, p)| l.class() == p[0] as usize)
                .count();
            let _ = writeln!(
                o,
                "  accuracy  {:.6} ({correct} of {n}; the model predicts classes, no probabilities)",
                correct as f64 / n as f64
            );
        }
        Reading::PositiveProbability | Reading::Probabilities(_) => {
            let proba: Vec<Vec<f64>> = if how == Reading::PositiveProbability {
                predictions.iter().map(|p| vec![1.0 - p[0], p[0]]).collect()
            } else {
                predictions
            };
            let classes: Vec<usize> = labels.iter().map(Label::class).collect();
            let m = metrics::classification(&classes, &proba);
            let correct = (m.accuracy * n as f64).round() as usize;
            let _ = writeln!(o, "  accuracy  {:.6} ({correct} of {n})", m.accuracy);
            let _ = writeln!(o, "  log-loss  {:.6}", m.log_loss);
            if let Some(a) = m.auc {
                let _ = writeln!(o, "  AUC       {a:.6}");
            }
        }
    }
    crate::output::print(&o)?;
    Ok(())
}

/// The class names labels are mapped through: `--classes`, else the names stored in the model (empty when
/// neither); both given and different is an error.
fn class_names(req: &EvalRequest, f: &Forest) -> Result<Vec<String>, String> {
    let stored: Vec<String> = f.class_names().map(str::to_string).collect();
    if req.classes.is_empty() {
        return Ok(stored);
    }
    let differ = stored.len() != req.classes.len()
        || stored
            .iter()
            .zip(&req.classes)
            .any(|(a, b)| !same_label(a, b));
    if !stored.is_empty() && differ {
        return Err(format!(
            "--classes {} differ from the class names stored in {} ({}); leave --classes out to use the stored names",
            crate::io::printable(&req.classes.join(",")),
            req.model.display(),
            crate::io::printable(&stored.join(", "))
        ));
    }
    Ok(req.classes.clone())
}

/// Whether two labels name the same class: the same text, or numbers of the same value (`1` and `1.0`).
fn same_label(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}

/// A row's label: a class index or a value.
enum Label {
    Class(usize),
    Value(f64),
}

impl Label {
    fn class(&self) -> usize {
        match self {
            Label::Class(c) => *c,
            Label::Value(v) => *v as usize,
        }
    }

    fn value(&self) -> f64 {
        match self {
            Label::Class(c) => *c as f64,
            Label::Value(v) => *v,
        }
    }
}

fn label(
    rec: &io::Record,
    target: usize,
    header: &[String],
    how: Reading,
    classes: &[String],
    err: &dyn Fn(usize, usize, String) -> DataError,
) -> Result<Label, DataError> {
    let s = rec.cells[target].as_str();
    let name = &header[target];
    if io::is_missing(s) {
        return Err(err(
            rec.line,
            target + 1,
            format!("missing target in the column `{name}`"),
        ));
    }
    let n_classes = match how {
        Reading::Value => {
            return s.parse::<f64>().map(Label::Value).map_err(|_| {
                err(
                    rec.line,
                    target + 1,
                    format!("target `{s}` in the column `{name}` is not a number"),
                )
            });
        }
        Reading::Probabilities(k) => Some(k),
        Reading::PositiveProbability => Some(2),
        Reading::Class => None,
    };
    if !classes.is_empty() {
        return classes
            .iter()
            .position(|c| same_label(c, s))
            .map(Label::Class)
            .ok_or_else(|| {
                err(
                    rec.line,
                    target + 1,
                    format!(
                        "label `{s}` in the column `{name}` is not one of the model's classes ({})",
                        classes.join(", ")
                    ),
                )
            });
    }
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.fract() == 0.0 && n_classes.is_none_or(|k| v < k as f64) => {
            Ok(Label::Class(v as usize))
        }
        _ => Err(err(
            rec.line,
            target + 1,
            format!(
                "label `{s}` in the column `{name}` is not a class index{} (pass --classes with the class names \
                 in the model's order)",
                n_classes.map_or(String::new(), |k| format!(" below {k}"))
            ),
        )),
    }
}
