//! What a training run is given: the algorithm ([`Algo`]), the data, the parameters and the outputs
//! ([`TrainConfig`], with the [histogram booster's](HistConfig) and [stacking's](StackConfig) own parameters).
//! The command line (`emkern train`) fills these in; the trainers read nothing else.

use std::path::PathBuf;

use super::budget::select::Rank;
use super::cart::{ClassWeight, MaxFeatures, TreeParams};
use super::criterion::Criterion;
use super::dataset::{Dataset, Task};

/// The training algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    /// One CART decision tree.
    Cart,
    /// A random forest.
    Rf,
    /// Extremely randomized trees.
    ExtraTrees,
    /// AdaBoost: SAMME (classification) or AdaBoost.R2 (regression).
    Adaboost,
    /// Gradient boosting.
    Gbdt,
    /// Second-order histogram gradient boosting (XGBoost's `hist` method).
    HistGbdt,
    /// Stacking: a linear meta-model over base ensembles, fitted on out-of-fold predictions.
    Stack,
}

impl Algo {
    /// Every algorithm, in the order `emkern train --help` lists them.
    pub const ALL: [Algo; 7] = [
        Algo::Cart,
        Algo::Rf,
        Algo::ExtraTrees,
        Algo::Adaboost,
        Algo::Gbdt,
        Algo::HistGbdt,
        Algo::Stack,
    ];

    /// The name `--algo` takes (`hist-gbdt`).
    pub fn id(self) -> &'static str {
        match self {
            Algo::Cart => "cart",
            Algo::Rf => "rf",
            Algo::ExtraTrees => "extra-trees",
            Algo::Adaboost => "adaboost",
            Algo::Gbdt => "gbdt",
            Algo::HistGbdt => "hist-gbdt",
            Algo::Stack => "stack",
        }
    }

    /// What it is, in one line (the help of `--algo`).
    pub fn summary(self) -> &'static str {
        match self {
            Algo::Cart => "One CART decision tree",
            Algo::Rf => "A random forest",
            Algo::ExtraTrees => "Extremely randomized trees",
            Algo::Adaboost => "AdaBoost: SAMME (classification) or AdaBoost.R2 (regression)",
            Algo::Gbdt => "Gradient boosting",
            Algo::HistGbdt => "Second-order histogram gradient boosting (XGBoost's `hist` method)",
            Algo::Stack => {
                "Stacking: a linear meta-model over base ensembles, fitted on out-of-fold predictions"
            }
        }
    }

    /// A readable name.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Cart => "decision tree",
            Algo::Rf => "random forest",
            Algo::ExtraTrees => "extra trees",
            Algo::Adaboost => "AdaBoost",
            Algo::Gbdt => "gradient boosting",
            Algo::HistGbdt => "histogram gradient boosting",
            Algo::Stack => "stacking",
        }
    }
}

/// A training run: what to train, on which data, with which parameters, and where to write the model.
///
/// Each field is the option of `emkern train` with the same name (`max_leaf_nodes` is `--max-leaf-nodes`), and
/// errors about a field name it that way. `None` means the algorithm's default. [`TrainConfig::new`] gives
/// the command line's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Algorithm.
    pub algo: Algo,
    /// Training data: CSV with a header row (empty cell, nan or NA = missing), or Parquet (`.parquet`,
    /// `.parq`; null = missing).
    pub data: PathBuf,
    /// Target column: a header name, or a 0-based column index.
    pub target: String,
    /// Categorical feature columns, by name (comma-separated).
    pub categorical: Vec<String>,
    /// Sample-weight column, by name.
    pub weight: Option<String>,
    /// Task (default: inferred; an all-integer target with at most 20 distinct values, or any non-numeric
    /// label, is a classification target).
    pub task: Option<Task>,
    /// Validation data (CSV or Parquet), with the training file's columns (by name).
    pub valid: Option<PathBuf>,
    /// Split criterion: gini, entropy (classification), squared_error (regression).
    pub criterion: Option<String>,
    /// Maximum depth (default: unlimited; gbdt and AdaBoost regression 3, AdaBoost classification 1).
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split.
    pub min_samples_split: usize,
    /// Fewest rows in a leaf.
    pub min_samples_leaf: usize,
    /// Smallest leaf weight, as a fraction of the total weight.
    pub min_weight_fraction_leaf: f64,
    /// Smallest weighted impurity decrease for a split (scikit-learn's definition).
    pub min_impurity_decrease: f64,
    /// Grow best-first with at most this many leaves per tree.
    pub max_leaf_nodes: Option<usize>,
    /// Features per split: sqrt, log2, all, a count (5) or a fraction (0.5). Default: all for cart and for
    /// regression forests, sqrt for classification forests.
    pub max_features: Option<String>,
    /// Class weights: balanced, or label:weight pairs (a:1,b:2.5).
    pub class_weight: Option<String>,
    /// Trees in a forest (default 100).
    pub n_estimators: Option<usize>,
    /// Bootstrap samples for forests (`--bootstrap` or `--bootstrap=false`; default: on for rf, off for
    /// extra-trees).
    pub bootstrap: Option<bool>,
    /// Bootstrap sample size: a count (200) or a fraction of the rows (0.5).
    pub max_samples: Option<String>,
    /// Report the out-of-bag score (forests with bootstrap).
    pub oob: bool,
    /// Random seed: scikit-learn's `random_state` for cart, rf, extra-trees, adaboost, gbdt and stack (below
    /// 2^32; the same seed grows the same model as scikit-learn), hist-gbdt's own seed. The model depends only on
    /// it, not on the thread count.
    pub seed: u64,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
    /// Boosting: shrinkage of every tree (default 0.1 for gbdt, 1 for adaboost).
    pub learning_rate: Option<f64>,
    /// Boosting loss. gbdt: squared_error, absolute_error, huber, quantile, log_loss, poisson (default log_loss
    /// or squared_error); adaboost regression: linear, square, exponential (default linear).
    pub loss: Option<String>,
    /// gbdt: fraction of the rows each round sees (default 1).
    pub subsample: Option<f64>,
    /// gbdt huber and quantile losses: the quantile alpha (default 0.9). hist-gbdt: the L1 penalty (default 0).
    pub alpha: Option<f64>,
    /// gbdt: stop after this many rounds without improving the validation loss, keeping the best round.
    pub n_iter_no_change: Option<usize>,
    /// gbdt early stopping without --valid: the fraction of the training rows held out (default 0.1).
    pub validation_fraction: Option<f64>,
    /// gbdt early stopping: the improvement that counts (default 1e-4).
    pub tol: Option<f64>,
    /// Parameters of --algo hist-gbdt.
    pub hist: HistConfig,
    /// Flash budget of the blob: bytes, or with a unit K/KB/KiB (1024) or M/MB/MiB (1024²). The trained model
    /// is shrunk to the best model that fits (fewer rounds or trees, pruned trees, f32 values), chosen on --valid
    /// (else the training data), and the accuracy lost is reported.
    pub max_bytes: Option<usize>,
    /// --max-bytes with a classifier: rank the candidates by accuracy (log-loss breaks ties) or by log-loss
    /// (accuracy breaks ties) (default accuracy).
    pub budget_metric: Option<Rank>,
    /// Also write a training report: `.html` (a self-contained page with the summary, the metrics, the training
    /// curves and the feature importances) or `.svg` (the plots in one image).
    pub report: Option<PathBuf>,
    /// Parameters of --algo stack.
    pub stack: StackConfig,
    /// Where to write the `.emk` blob.
    pub output: PathBuf,
    /// Also write a Rust source embedding the blob as an aligned `static` (named after the blob file's stem).
    pub rust: Option<PathBuf>,
    /// Also write a C header embedding the blob as a byte array (named after the blob file's stem): with
    /// `--c-source`, declarations and size macros that any number of C files include (as `emkern import`).
    pub c_header: Option<PathBuf>,
    /// Also write the C source that defines the blob and its class names once, for the `--c-header` it includes.
    pub c_source: Option<PathBuf>,
    /// Identifier of the `--rust`, `--c-header` and `--c-source` sources: a C identifier (default: the blob
    /// file's stem when it is one, else `model`).
    pub name: Option<String>,
    /// Also write the model as source with the trees as code, like `emkern codegen`: `--codegen c FILE` (a C99
    /// header) or `--codegen rust FILE` (a no_std module); may be given twice. Named after the blob file's stem
    /// when that is a C/Rust identifier, else `model`.
    pub codegen: Vec<String>,
    /// No progress bar.
    pub quiet: bool,
}

/// Parameters of `--algo hist-gbdt` (XGBoost's names and defaults). `--n-estimators` (default 100),
/// `--max-depth` (6), `--subsample` (1), `--alpha` (the L1 penalty, 0), `--learning-rate` (the same as `--eta`),
/// `--seed` and `--threads` are the shared options of [`TrainConfig`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistConfig {
    /// hist-gbdt: reg:squarederror, binary:logistic, multi:softprob or count:poisson (default from the target).
    pub objective: Option<String>,
    /// hist-gbdt: learning rate (default 0.3; --learning-rate is accepted too).
    pub eta: Option<f32>,
    /// hist-gbdt: most leaves per tree (default 0: no limit).
    pub max_leaves: Option<u32>,
    /// hist-gbdt: depthwise or lossguide (default depthwise).
    pub grow_policy: Option<String>,
    /// hist-gbdt: L2 penalty on leaf weights (default 1).
    pub lambda: Option<f32>,
    /// hist-gbdt: smallest loss reduction of a split (min_split_loss) (default 0).
    pub gamma: Option<f32>,
    /// hist-gbdt: smallest hessian sum of a child (default 1).
    pub min_child_weight: Option<f32>,
    /// hist-gbdt: largest absolute leaf weight (default 0: none; 0.7 for count:poisson).
    pub max_delta_step: Option<f32>,
    /// hist-gbdt: most bins of a numeric feature, 2..=256 (default 256).
    pub max_bin: Option<usize>,
    /// hist-gbdt: fraction of the features per tree (default 1).
    pub colsample_bytree: Option<f32>,
    /// hist-gbdt: fraction of the tree's features per depth (default 1).
    pub colsample_bylevel: Option<f32>,
    /// hist-gbdt: fraction of the level's features per node (default 1).
    pub colsample_bynode: Option<f32>,
    /// hist-gbdt: monotone constraints, one per feature in order: '(1,0,-1)'.
    pub monotone: Option<String>,
    /// hist-gbdt: stop after this many rounds without a better validation metric, keeping the best round
    /// (needs --valid).
    pub early_stopping_rounds: Option<usize>,
    /// hist-gbdt: the intercept in prediction space (default estimated from the target).
    pub base_score: Option<f32>,
    /// hist-gbdt: categorical features with fewer categories are split one-vs-rest (default 4).
    pub max_cat_to_onehot: Option<u32>,
    /// hist-gbdt: most categories a partition split considers (default 64).
    pub max_cat_threshold: Option<u32>,
    /// Also write the model as XGBoost 3.x JSON here: hist-gbdt, gbdt, adaboost (classification), stack,
    /// cart, rf and extra-trees (a classifier's class probabilities as a multi-target `reg:squarederror` model
    /// whose `Booster.predict` returns them).
    pub xgboost_json: Option<PathBuf>,
}

/// Parameters of `--algo stack`. The base models take the shared flags (`--n-estimators`, `--max-depth`,
/// `--learning-rate`, `--seed`, …) that apply to them, with each algorithm's own defaults otherwise.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackConfig {
    /// stack: the base models, comma-separated: cart, rf, extra-trees, adaboost, gbdt, hist-gbdt (default
    /// rf,hist-gbdt).
    pub base: Vec<Algo>,
    /// stack: cross-validation folds for the out-of-fold predictions the meta-model is fitted on (default 5;
    /// stratified for classification, shuffled with --seed).
    pub cv: Option<usize>,
    /// stack: the meta-model's inverse L2 regularization strength, scikit-learn's C (default 1; inf for none).
    pub meta_c: Option<f64>,
}

impl TrainConfig {
    /// The command line's defaults for training `algo` on `data` (predicting `target`) into `output`.
    pub fn new(algo: Algo, data: PathBuf, target: String, output: PathBuf) -> TrainConfig {
        TrainConfig {
            algo,
            data,
            target,
            categorical: Vec::new(),
            weight: None,
            task: None,
            valid: None,
            criterion: None,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_weight_fraction_leaf: 0.0,
            min_impurity_decrease: 0.0,
            max_leaf_nodes: None,
            max_features: None,
            class_weight: None,
            n_estimators: None,
            bootstrap: None,
            max_samples: None,
            oob: false,
            seed: 0,
            threads: None,
            learning_rate: None,
            loss: None,
            subsample: None,
            alpha: None,
            n_iter_no_change: None,
            validation_fraction: None,
            tol: None,
            hist: HistConfig::default(),
            max_bytes: None,
            budget_metric: None,
            report: None,
            stack: StackConfig::default(),
            output,
            rust: None,
            c_header: None,
            c_source: None,
            name: None,
            codegen: Vec::new(),
            quiet: false,
        }
    }

    /// `--seed` as scikit-learn's `random_state` (below 2³²).
    pub(crate) fn random_state(&self) -> Result<u32, String> {
        u32::try_from(self.seed).map_err(|_| {
            format!(
                "--seed {} is too large for --algo {}: it is scikit-learn's random_state, below 2^32",
                self.seed,
                self.algo.id()
            )
        })
    }

    pub(crate) fn tree_params(&self, task: Task, forest: bool) -> Result<TreeParams, String> {
        let mut p = TreeParams::new(task);
        if forest && task == Task::Classification {
            p.max_features = MaxFeatures::Sqrt;
        }
        if let Some(c) = &self.criterion {
            p.criterion = Criterion::from_name(c).ok_or_else(|| {
                format!("--criterion {c}: expected gini, entropy or squared_error")
            })?;
        }
        if let Some(m) = &self.max_features {
            p.max_features = MaxFeatures::from_name(m).ok_or_else(|| {
                format!(
                    "--max-features {m}: expected sqrt, log2, all, a count ≥ 1 or a fraction in (0, 1]"
                )
            })?;
        }
        if let Some(c) = &self.class_weight {
            p.class_weight =
                ClassWeight::from_spec(c).map_err(|e| format!("--class-weight: {e}"))?;
        }
        p.max_depth = self.max_depth;
        p.min_samples_split = self.min_samples_split;
        p.min_samples_leaf = self.min_samples_leaf;
        p.min_weight_fraction_leaf = self.min_weight_fraction_leaf;
        p.min_impurity_decrease = self.min_impurity_decrease;
        p.max_leaf_nodes = self.max_leaf_nodes;
        Ok(p)
    }

    pub(crate) fn describe(&self, p: &TreeParams, data: &Dataset) -> String {
        let mut s = format!(
            "emkern-host {} train: {} ({}, criterion={}, max_features={}",
            env!("CARGO_PKG_VERSION"),
            self.algo.name(),
            data.task().name(),
            p.criterion.name(),
            p.max_features.describe()
        );
        if let Some(d) = p.max_depth {
            s += &format!(", max_depth={d}");
        }
        if self.algo != Algo::Cart {
            s += &format!(", n_estimators={}", self.n_estimators.unwrap_or(100));
        }
        s += &format!(", seed={})", self.seed);
        s
    }
}
