//! Models of the JVM XGBoost4J-Spark estimators (`ml.dmlc.xgboost4j.scala.spark.XGBoostClassifier`,
//! `XGBoostRegressor`, and `XGBoostRanker` from 3.0): `model.write.save(path)` writes Spark's
//! `metadata/part-00000` (`DefaultParamsWriter`: `class`, `sparkVersion`, `paramMap`, `defaultParamMap`) and
//! the native booster's bytes (`Booster.saveModel(out, format)`, no header or wrapper) as one file under `data/`.
//! The booster is read by the XGBoost importers, so margins and predictions are the booster's.
//!
//! Where, per release line (from the XGBoost4J-Spark sources):
//!
//! - 1.x, 2.0 and 2.1: `data/XGBoostClassificationModel` or `data/XGBoostRegressionModel`, and an
//!   `xgboostVersion` member in the metadata. The default format (`.option("format", …)` overrides it) is the
//!   legacy binary format up to 2.0 ([`xgboost_binary`](crate::import::xgboost_binary)) and UBJSON from 2.1.
//!   Metadata without `xgboostVersion` comes from releases before 0.82, whose classifier files start with the
//!   class count; those are refused.
//! - 3.x: `data/model` (also for `XGBoostRankerModel`), UBJSON by default; no `xgboostVersion`.
//!
//! The booster's format is told from its bytes as XGBoost's loader does: `{` then a quote is JSON, `{` then a
//! UBJSON type marker is UBJSON, anything else is the legacy binary format (with or without its `binf` header).
//!
//! What the JVM model outputs: the booster's prediction as f32 (a classifier's `probability` column is `[1 − p,
//! p]` for a binary objective, the class probabilities otherwise; `rawPrediction` is `[−m, m]` or the margins),
//! widened to f64. emkern's margin and prediction are the booster's `m` and `p`.
//!
//! Missing values: XGBoost4J-Spark builds its prediction matrix with the model's `missing` parameter (NaN
//! unless the user set it). With NaN, a value is missing exactly when it is NaN, as in emkern. Any other
//! `missing` (users often set 0.0) makes every feature value equal to it missing, which emkern's models cannot
//! express: such a model is refused, naming the parameter. Rows are read as dense vectors: XGBoost4J-Spark
//! also treats the zeros a Spark `SparseVector` leaves out as missing, so a row that reached the JVM model as a
//! sparse vector with zeros in it is predicted by emkern as its dense form.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::import::ImportError;
use crate::import::format::strip_bom;
use crate::import::xgboost;
use crate::ir::Ensemble;

/// The prefix of the metadata's `class` for XGBoost4J-Spark models.
pub const CLASS_PREFIX: &str = "ml.dmlc.xgboost4j.";

/// The model classes read, by their short name.
pub const CLASSES: [&str; 3] = [
    "XGBoostClassificationModel",
    "XGBoostRegressionModel",
    "XGBoostRankerModel",
];

/// Where the booster's bytes are, relative to the model directory: `data/model` (3.x) or
/// `data/<short class name>` (before 3.0).
pub fn booster_files(short_class: &str) -> [String; 2] {
    ["data/model".to_string(), format!("data/{short_class}")]
}

/// Imports the model in `dir`, whose `metadata/part-00000` holds `metadata`, when the metadata names an
/// XGBoost4J-Spark class; `Ok(None)` for any other class.
pub fn load(dir: &Path, metadata: &[u8]) -> Result<Option<Ensemble>, ImportError> {
    let text = String::from_utf8_lossy(strip_bom(metadata));
    match super::xgboost_spark::string_field(&text, "class") {
        Some(class) if class.starts_with(CLASS_PREFIX) => {}
        _ => return Ok(None),
    }
    let meta_path = dir.join(super::METADATA);
    let meta = Meta::parse(text.as_bytes()).map_err(|e| e.in_file(&meta_path))?;
    let (path, bytes) = booster_bytes(dir, &meta)?;
    let mut e = booster(&bytes).map_err(|e| e.in_file(&path))?;
    if let Some(want) = meta.num_class {
        let got = e.n_outputs;
        let ok = if want <= 2 {
            got == 1
        } else {
            got as u64 == want
        };
        if !ok {
            return Err(ImportError::at_path(
                "paramMap.numClass",
                format!("{want} classes, but the booster under data/ has {got} outputs"),
            )
            .in_file(&meta_path));
        }
    }
    e.source = format!("{}; {}", meta.source(), e.source);
    Ok(Some(e))
}

/// Imports a booster's bytes in whichever format they are (JSON, UBJSON or legacy binary).
pub fn booster(bytes: &[u8]) -> Result<Ensemble, ImportError> {
    let bytes = strip_bom(bytes);
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        xgboost::from_bytes(bytes)
    } else {
        xgboost::from_legacy_binary_bytes(bytes)
    }
}

/// What the metadata says.
#[derive(Clone, Debug, PartialEq)]
struct Meta {
    short: String,
    spark: String,
    xgboost: Option<String>,
    num_class: Option<u64>,
}

impl Meta {
    fn parse(bytes: &[u8]) -> Result<Meta, ImportError> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
            ImportError::at_line(
                e.line().max(1),
                format!("column {}: not valid JSON: {e}", e.column()),
            )
        })?;
        let string = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
        let class = string("class").ok_or_else(|| ImportError::at_path("class", "missing"))?;
        let short = class.rsplit('.').next().unwrap_or(&class).to_string();
        if !CLASSES.contains(&short.as_str()) {
            return Err(ImportError::at_path(
                "class",
                format!(
                    "`{class}`: not an XGBoost4J-Spark model class emkern imports ({})",
                    CLASSES.join(", ")
                ),
            ));
        }
        let spark = string("sparkVersion").unwrap_or_else(|| "unknown".into());
        let xgboost = string("xgboostVersion");
        // A parameter the user set (`paramMap`) wins over its default (`defaultParamMap`).
        let param = |key: &str| {
            ["paramMap", "defaultParamMap"]
                .iter()
                .find_map(|m| Some((*m, doc.get(m)?.get(key)?)))
        };
        if let Some((map, v)) = param("missing") {
            // Spark's `FloatParam` writes NaN as the string "NaN" (and ±∞ as "Inf"/"-Inf"), other values as
            // numbers.
            let nan = v.as_str() == Some("NaN") || v.as_f64().is_some_and(f64::is_nan);
            if !nan {
                return Err(ImportError::at_path(
                    format!("{map}.missing"),
                    format!(
                        "{v}: this model treats every feature value equal to {v} as missing (and sends it the \
                         default way at each split), which emkern's models cannot express (only NaN is missing): \
                         retrain with missing = NaN, or replace that value by NaN in your rows and import the \
                         booster (`nativeBooster.saveModel(\"model.json\")`), knowing its predictions then differ \
                         from the Spark model's for rows holding it"
                    ),
                ));
            }
        }
        let num_class = match param("numClass") {
            None => None,
            Some((map, v)) => Some(v.as_u64().filter(|&n| n >= 2).ok_or_else(|| {
                ImportError::at_path(
                    format!("{map}.numClass"),
                    format!("expected a class count of at least 2, found {v}"),
                )
            })?),
        };
        Ok(Meta {
            short,
            spark,
            xgboost,
            num_class: if class.ends_with("XGBoostClassificationModel") {
                num_class
            } else {
                None
            },
        })
    }

    /// `XGBoost4J-Spark <class>, XGBoost <version>, Spark <version>` (the XGBoost version from the metadata,
    /// which releases before 3.0 write).
    fn source(&self) -> String {
        match &self.xgboost {
            Some(v) => format!(
                "XGBoost4J-Spark {}, XGBoost {v}, Spark {}",
                self.short, self.spark
            ),
            None => format!("XGBoost4J-Spark {}, Spark {}", self.short, self.spark),
        }
    }
}

/// The booster file of the model in `dir` and its bytes.
fn booster_bytes(dir: &Path, meta: &Meta) -> Result<(PathBuf, Vec<u8>), ImportError> {
    let names = booster_files(&meta.short);
    let Some(path) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) else {
        return Err(ImportError::whole(format!(
            "an XGBoost4J-Spark {} directory without its booster (expected {} or {})",
            meta.short, names[0], names[1]
        ))
        .in_file(dir));
    };
    if meta.xgboost.is_none() && path.ends_with("data/XGBoostClassificationModel") {
        return Err(ImportError::whole(
            "saved by an XGBoost4J-Spark release before 0.82 (no xgboostVersion in the metadata), whose classifier \
             file starts with the class count before a pre-1.0 booster: load it with XGBoost4J-Spark and save it \
             again, or save its booster as JSON",
        )
        .in_file(&path));
    }
    let bytes = ImportError::read_file(&path)?;
    Ok((path, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASS: &str = "ml.dmlc.xgboost4j.scala.spark.XGBoostClassificationModel";

    fn meta(members: &str) -> Result<Meta, ImportError> {
        Meta::parse(
            format!(r#"{{"class":"{CLASS}","sparkVersion":"3.0.1","uid":"x"{members}}}"#)
                .as_bytes(),
        )
    }

    #[test]
    fn missing_other_than_nan_is_refused_naming_the_parameter() {
        let m = meta(r#","paramMap":{"numClass":3},"defaultParamMap":{"missing":"NaN"},"xgboostVersion":"1.7.6""#)
            .unwrap();
        assert_eq!(m.num_class, Some(3));
        assert_eq!(
            m.source(),
            "XGBoost4J-Spark XGBoostClassificationModel, XGBoost 1.7.6, Spark 3.0.1"
        );
        let e =
            meta(r#","paramMap":{"missing":0.0},"defaultParamMap":{"missing":"NaN"}"#).unwrap_err();
        assert_eq!(
            e.location,
            crate::import::Location::Path("paramMap.missing".into())
        );
        assert!(e.message.contains("0.0"), "{e}");
        let e = meta(r#","defaultParamMap":{"missing":-999.0}"#).unwrap_err();
        assert_eq!(
            e.location,
            crate::import::Location::Path("defaultParamMap.missing".into())
        );
        assert!(meta(r#","paramMap":{"numClass":1}"#).is_err());
        let e = Meta::parse(
            br#"{"class":"ml.dmlc.xgboost4j.scala.spark.XGBoostFoo","sparkVersion":"3"}"#,
        )
        .unwrap_err();
        assert_eq!(e.location, crate::import::Location::Path("class".into()));
    }
}
