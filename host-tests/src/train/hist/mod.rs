//! Second-order histogram gradient boosting, XGBoost's `tree_method = "hist"`: features binned once into
//! quantile bins ([`bins`]), per-node gradient histograms with the subtraction trick ([`histogram`]), XGBoost's
//! regularized split gain with learned missing-value directions, native categorical splits and monotone
//! constraints ([`split`]), depthwise or loss-guided growth ([`grow`]), and the boosting loop with XGBoost's
//! objectives, intercept estimation and early stopping ([`booster`], [`objective`]).
//!
//! Models follow XGBoost's definitions closely enough that, given the same bins, they grow XGBoost's trees
//! (same splits, thresholds, default directions and leaf values) — `host-tests/tests/train_hist.rs` checks this
//! against XGBoost 3.4 — and they export to the [ensemble IR](crate::ir) with XGBoost's prediction semantics,
//! so the `no_std` core reproduces the trainer's `f32` margins bit for bit, and to XGBoost's JSON model format
//! ([`crate::export::xgboost_json`]), which XGBoost loads and predicts identically.
//!
//! ```
//! use emkern_host::train::dataset::{Dataset, Schema, FeatureKind};
//! use emkern_host::train::hist::{HistBooster, HistParams};
//!
//! let x: Vec<f32> = (0..200).map(|i| i as f32 / 10.0).collect();
//! let y: Vec<f64> = x.iter().map(|&v| (v as f64).sin()).collect();
//! let schema = Schema {
//!     feature_names: vec!["x".into()],
//!     kinds: vec![FeatureKind::Numeric],
//!     target_name: "y".into(),
//!     weight_name: None,
//!     classes: None,
//! };
//! let data = Dataset::from_columns(schema, vec![x], y, None).unwrap();
//! let model = HistBooster::train(&data, None, &HistParams::default(), &|_| {}).unwrap();
//! let p = model.predict(&[1.0]);
//! assert!((p[0] - 1f32.sin()).abs() < 0.05);
//! ```

pub mod bins;
pub mod booster;
pub mod grow;
pub mod histogram;
pub mod objective;
pub mod run;
pub mod sample;
pub mod split;
pub mod tree;

pub use booster::{HistBooster, HistParams, RoundReport};
pub use grow::GrowPolicy;
pub use objective::Objective;
