//! Training tree ensembles on tabular data: the [`dataset`] reader, [CART trees](cart), [random forests
//! and extra trees](forest), [boosting](boost), [histogram boosting](hist), [stacking](stack), and the
//! translation of every trained model into the [ensemble IR](crate::ir) ([`model::TrainedModel::to_ensemble`]),
//! from which the exporters write blobs and sources.
//!
//! Trainers follow scikit-learn's algorithms and parameter names; a model depends only on its data, its
//! parameters and its seed (see [`rng`]), never on the number of threads.

pub mod boost;
pub mod budget;
pub mod cart;
pub mod config;
pub mod criterion;
pub mod dataset;
pub mod fit;
pub mod forest;
mod heap;
pub mod hist;
pub mod model;
pub mod numeric;
pub mod output;
pub mod random_state;
pub mod report;
pub mod rng;
pub mod run;
mod splitter;
pub mod stack;
pub mod summary;

pub use splitter::{EXHAUSTIVE_CATEGORIES, Rule};

use crate::io::DataError;

/// What a training run returns: an error is for people (it names the file, the option or the value).
pub type RunResult = Result<(), Box<dyn std::error::Error>>;

/// Why a model could not be trained.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
    /// The data could not be read.
    Data(DataError),
    /// A parameter is out of range or does not fit the data (the message says which).
    Invalid(String),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::Data(e) => e.fmt(f),
            TrainError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<DataError> for TrainError {
    fn from(e: DataError) -> TrainError {
        TrainError::Data(e)
    }
}
