//! `emkern train`: the command line of a training run. The arguments ([`Request`]) become a
//! [`TrainConfig`], which [`crate::train::run::run`] trains from.

use std::path::PathBuf;

use clap::ValueEnum;
use clap::builder::PossibleValue;

use super::CliResult;
use crate::train::budget::{self, select::Rank};
use crate::train::config::{Algo, HistConfig, StackConfig, TrainConfig};
use crate::train::dataset::Task;

/// `--algo`: a training algorithm, named by [`Algo::id`] and described by [`Algo::summary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlgoArg(pub Algo);

/// Every `--algo` value, in [`Algo::ALL`]'s order.
const ALGO_ARGS: [AlgoArg; Algo::ALL.len()] = {
    let mut out = [AlgoArg(Algo::Cart); Algo::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = AlgoArg(Algo::ALL[i]);
        i += 1;
    }
    out
};

impl ValueEnum for AlgoArg {
    fn value_variants<'a>() -> &'a [AlgoArg] {
        &ALGO_ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.id()).help(self.0.summary()))
    }
}

/// The task, when not inferred from the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Class labels.
    Classification,
    /// A real-valued target.
    Regression,
}

/// `--budget-metric`: what ranks classifiers under `--max-bytes` ([`Rank`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RankArg {
    /// Accuracy first, log-loss to break ties.
    Accuracy,
    /// Log-loss first, accuracy to break ties.
    LogLoss,
}

/// Arguments of `emkern train`.
#[derive(clap::Args, Debug, Clone)]
pub struct Request {
    /// Algorithm.
    #[arg(long, value_enum)]
    pub algo: AlgoArg,
    /// Training data: CSV with a header row (empty cell, nan or NA = missing), or Parquet (`.parquet`,
    /// `.parq`; null = missing).
    #[arg(long)]
    pub data: PathBuf,
    /// Target column: a header name, or a 0-based column index.
    #[arg(long)]
    pub target: String,
    /// Categorical feature columns, by name (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Sample-weight column, by name.
    #[arg(long)]
    pub weight: Option<String>,
    /// Task (default: inferred; an all-integer target with at most 20 distinct values, or any non-numeric
    /// label, is a classification target).
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,
    /// Validation data (CSV or Parquet), with the training file's columns (by name).
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Split criterion: gini, entropy (classification), squared_error (regression).
    #[arg(long)]
    pub criterion: Option<String>,
    /// Maximum depth (default: unlimited; gbdt and AdaBoost regression 3, AdaBoost classification 1).
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split.
    #[arg(long, default_value_t = 2)]
    pub min_samples_split: usize,
    /// Fewest rows in a leaf.
    #[arg(long, default_value_t = 1)]
    pub min_samples_leaf: usize,
    /// Smallest leaf weight, as a fraction of the total weight.
    #[arg(long, default_value_t = 0.0)]
    pub min_weight_fraction_leaf: f64,
    /// Smallest weighted impurity decrease for a split (scikit-learn's definition).
    #[arg(long, default_value_t = 0.0)]
    pub min_impurity_decrease: f64,
    /// Grow best-first with at most this many leaves per tree.
    #[arg(long)]
    pub max_leaf_nodes: Option<usize>,
    /// Features per split: sqrt, log2, all, a count (5) or a fraction (0.5). Default: all for cart and for
    /// regression forests, sqrt for classification forests.
    #[arg(long)]
    pub max_features: Option<String>,
    /// Class weights: balanced, or label:weight pairs (a:1,b:2.5).
    #[arg(long)]
    pub class_weight: Option<String>,
    /// Trees in a forest (default 100).
    #[arg(long)]
    pub n_estimators: Option<usize>,
    /// Bootstrap samples for forests (`--bootstrap` or `--bootstrap=false`; default: on for rf, off for
    /// extra-trees).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub bootstrap: Option<bool>,
    /// Bootstrap sample size: a count (200) or a fraction of the rows (0.5).
    #[arg(long)]
    pub max_samples: Option<String>,
    /// Report the out-of-bag score (forests with bootstrap).
    #[arg(long)]
    pub oob: bool,
    /// Random seed: scikit-learn's `random_state` for cart, rf, extra-trees, adaboost, gbdt and stack (below
    /// 2^32; the same seed grows the same model as scikit-learn), hist-gbdt's own seed. The model depends only on
    /// it, not on the thread count.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Boosting: shrinkage of every tree (default 0.1 for gbdt, 1 for adaboost).
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Boosting loss. gbdt: squared_error, absolute_error, huber, quantile, log_loss, poisson (default log_loss
    /// or squared_error); adaboost regression: linear, square, exponential (default linear).
    #[arg(long)]
    pub loss: Option<String>,
    /// gbdt: fraction of the rows each round sees (default 1).
    #[arg(long)]
    pub subsample: Option<f64>,
    /// gbdt huber and quantile losses: the quantile alpha (default 0.9). hist-gbdt: the L1 penalty (default 0).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// gbdt: stop after this many rounds without improving the validation loss, keeping the best round.
    #[arg(long)]
    pub n_iter_no_change: Option<usize>,
    /// gbdt early stopping without --valid: the fraction of the training rows held out (default 0.1).
    #[arg(long)]
    pub validation_fraction: Option<f64>,
    /// gbdt early stopping: the improvement that counts (default 1e-4).
    #[arg(long)]
    pub tol: Option<f64>,
    /// Parameters of --algo hist-gbdt.
    #[command(flatten)]
    pub hist: HistArgs,
    /// Flash budget of the blob: bytes, or with a unit K/KB/KiB (1024) or M/MB/MiB (1024²). The trained model
    /// is shrunk to the best model that fits (fewer rounds or trees, pruned trees, f32 values), chosen on --valid
    /// (else the training data), and the accuracy lost is reported.
    #[arg(long, value_parser = budget::parse_bytes)]
    pub max_bytes: Option<usize>,
    /// --max-bytes with a classifier: rank the candidates by accuracy (log-loss breaks ties) or by log-loss
    /// (accuracy breaks ties) (default accuracy).
    #[arg(long, value_enum)]
    pub budget_metric: Option<RankArg>,
    /// Also write a training report: `.html` (a self-contained page with the summary, the metrics, the training
    /// curves and the feature importances) or `.svg` (the plots in one image).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Parameters of --algo stack.
    #[command(flatten)]
    pub stack: StackArgs,
    /// Where to write the `.emk` blob.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write a Rust source embedding the blob as an aligned `static` (named after the blob file's stem).
    #[arg(long)]
    pub rust: Option<PathBuf>,
    /// Also write a C header embedding the blob as a byte array (named after the blob file's stem): with
    /// `--c-source`, declarations and size macros that any number of C files include (as `emkern import`).
    #[arg(long)]
    pub c_header: Option<PathBuf>,
    /// Also write the C source that defines the blob and its class names once, for the `--c-header` it includes.
    #[arg(long, requires = "c_header")]
    pub c_source: Option<PathBuf>,
    /// Identifier of the `--rust`, `--c-header` and `--c-source` sources: a C identifier (default: the blob
    /// file's stem when it is one, else `model`).
    #[arg(long)]
    pub name: Option<String>,
    /// Also write the model as source with the trees as code, like `emkern codegen`: `--codegen c FILE` (a C99
    /// header) or `--codegen rust FILE` (a no_std module); may be given twice. Named after the blob file's stem
    /// when that is a C/Rust identifier, else `model`.
    #[arg(long, num_args = 2, value_names = ["LANG", "FILE"], action = clap::ArgAction::Append)]
    pub codegen: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Parameters of `--algo hist-gbdt` (XGBoost's names and defaults). `--n-estimators` (default 100),
/// `--max-depth` (6), `--subsample` (1), `--alpha` (the L1 penalty, 0), `--learning-rate` (the same as `--eta`),
/// `--seed` and `--threads` are the shared flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct HistArgs {
    /// hist-gbdt: reg:squarederror, binary:logistic, multi:softprob or count:poisson (default from the target).
    #[arg(long)]
    pub objective: Option<String>,
    /// hist-gbdt: learning rate (default 0.3; --learning-rate is accepted too).
    #[arg(long)]
    pub eta: Option<f32>,
    /// hist-gbdt: most leaves per tree (default 0: no limit).
    #[arg(long)]
    pub max_leaves: Option<u32>,
    /// hist-gbdt: depthwise or lossguide (default depthwise).
    #[arg(long)]
    pub grow_policy: Option<String>,
    /// hist-gbdt: L2 penalty on leaf weights (default 1).
    #[arg(long)]
    pub lambda: Option<f32>,
    /// hist-gbdt: smallest loss reduction of a split (min_split_loss) (default 0).
    #[arg(long)]
    pub gamma: Option<f32>,
    /// hist-gbdt: smallest hessian sum of a child (default 1).
    #[arg(long)]
    pub min_child_weight: Option<f32>,
    /// hist-gbdt: largest absolute leaf weight (default 0: none; 0.7 for count:poisson).
    #[arg(long)]
    pub max_delta_step: Option<f32>,
    /// hist-gbdt: most bins of a numeric feature, 2..=256 (default 256).
    #[arg(long)]
    pub max_bin: Option<usize>,
    /// hist-gbdt: fraction of the features per tree (default 1).
    #[arg(long)]
    pub colsample_bytree: Option<f32>,
    /// hist-gbdt: fraction of the tree's features per depth (default 1).
    #[arg(long)]
    pub colsample_bylevel: Option<f32>,
    /// hist-gbdt: fraction of the level's features per node (default 1).
    #[arg(long)]
    pub colsample_bynode: Option<f32>,
    /// hist-gbdt: monotone constraints, one per feature in order: '(1,0,-1)'.
    #[arg(long)]
    pub monotone: Option<String>,
    /// hist-gbdt: stop after this many rounds without a better validation metric, keeping the best round
    /// (needs --valid).
    #[arg(long)]
    pub early_stopping_rounds: Option<usize>,
    /// hist-gbdt: the intercept in prediction space (default estimated from the target).
    #[arg(long)]
    pub base_score: Option<f32>,
    /// hist-gbdt: categorical features with fewer categories are split one-vs-rest (default 4).
    #[arg(long)]
    pub max_cat_to_onehot: Option<u32>,
    /// hist-gbdt: most categories a partition split considers (default 64).
    #[arg(long)]
    pub max_cat_threshold: Option<u32>,
    /// Also write the model as XGBoost 3.x JSON here: hist-gbdt, gbdt, adaboost (classification), stack,
    /// cart, rf and extra-trees (a classifier's class probabilities as a multi-target `reg:squarederror` model
    /// whose `Booster.predict` returns them).
    #[arg(long)]
    pub xgboost_json: Option<PathBuf>,
}

/// Parameters of `--algo stack`. The base models take the shared flags (`--n-estimators`, `--max-depth`,
/// `--learning-rate`, `--seed`, …) that apply to them, with each algorithm's own defaults otherwise.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StackArgs {
    /// stack: the base models, comma-separated: cart, rf, extra-trees, adaboost, gbdt, hist-gbdt (default
    /// rf,hist-gbdt).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub base: Vec<AlgoArg>,
    /// stack: cross-validation folds for the out-of-fold predictions the meta-model is fitted on (default 5;
    /// stratified for classification, shuffled with --seed).
    #[arg(long)]
    pub cv: Option<usize>,
    /// stack: the meta-model's inverse L2 regularization strength, scikit-learn's C (default 1; inf for none).
    #[arg(long)]
    pub meta_c: Option<f64>,
}

impl Request {
    /// The training run these arguments ask for.
    pub fn to_config(&self) -> TrainConfig {
        TrainConfig {
            algo: self.algo.0,
            data: self.data.clone(),
            target: self.target.clone(),
            categorical: self.categorical.clone(),
            weight: self.weight.clone(),
            task: self.task.map(|t| match t {
                TaskArg::Classification => Task::Classification,
                TaskArg::Regression => Task::Regression,
            }),
            valid: self.valid.clone(),
            criterion: self.criterion.clone(),
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            min_weight_fraction_leaf: self.min_weight_fraction_leaf,
            min_impurity_decrease: self.min_impurity_decrease,
            max_leaf_nodes: self.max_leaf_nodes,
            max_features: self.max_features.clone(),
            class_weight: self.class_weight.clone(),
            n_estimators: self.n_estimators,
            bootstrap: self.bootstrap,
            max_samples: self.max_samples.clone(),
            oob: self.oob,
            seed: self.seed,
            threads: self.threads,
            learning_rate: self.learning_rate,
            loss: self.loss.clone(),
            subsample: self.subsample,
            alpha: self.alpha,
            n_iter_no_change: self.n_iter_no_change,
            validation_fraction: self.validation_fraction,
            tol: self.tol,
            hist: self.hist.to_config(),
            max_bytes: self.max_bytes,
            budget_metric: self.budget_metric.map(|r| match r {
                RankArg::Accuracy => Rank::Accuracy,
                RankArg::LogLoss => Rank::LogLoss,
            }),
            report: self.report.clone(),
            stack: StackConfig {
                base: self.stack.base.iter().map(|a| a.0).collect(),
                cv: self.stack.cv,
                meta_c: self.stack.meta_c,
            },
            output: self.output.clone(),
            rust: self.rust.clone(),
            c_header: self.c_header.clone(),
            c_source: self.c_source.clone(),
            name: self.name.clone(),
            codegen: self.codegen.clone(),
            quiet: self.quiet,
        }
    }
}

impl HistArgs {
    /// The histogram booster's parameters these arguments ask for.
    pub fn to_config(&self) -> HistConfig {
        HistConfig {
            objective: self.objective.clone(),
            eta: self.eta,
            max_leaves: self.max_leaves,
            grow_policy: self.grow_policy.clone(),
            lambda: self.lambda,
            gamma: self.gamma,
            min_child_weight: self.min_child_weight,
            max_delta_step: self.max_delta_step,
            max_bin: self.max_bin,
            colsample_bytree: self.colsample_bytree,
            colsample_bylevel: self.colsample_bylevel,
            colsample_bynode: self.colsample_bynode,
            monotone: self.monotone.clone(),
            early_stopping_rounds: self.early_stopping_rounds,
            base_score: self.base_score,
            max_cat_to_onehot: self.max_cat_to_onehot,
            max_cat_threshold: self.max_cat_threshold,
            xgboost_json: self.xgboost_json.clone(),
        }
    }
}

/// Runs `emkern train`.
pub fn run(req: &Request) -> CliResult {
    crate::train::run::run(&req.to_config())
}

/// The value of one option given by a program rather than typed (the Python package's keyword arguments).
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// The option's text, as it would follow `--name` on the command line.
    Text(String),
    /// A switch: `true` gives the option alone (`--oob`); `false` gives `--name=false` to an option that takes
    /// a value (`--bootstrap=false`) and leaves a plain flag out.
    Switch(bool),
    /// A list option (`--categorical a,b`).
    List(Vec<String>),
}

/// The [`TrainConfig`] of `emkern train` with these options (names as the command line's without the dashes,
/// `_` or `-` between words), so that a program's options mean, default and fail exactly as the command's do.
/// An error is the command line's message for the option.
pub fn config_from_options(options: &[(String, OptionValue)]) -> Result<TrainConfig, String> {
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    #[command(name = "train", no_binary_name = true, disable_help_flag = true)]
    struct Options {
        #[command(flatten)]
        req: Request,
    }
    let command = Options::command();
    let mut argv = Vec::new();
    for (name, value) in options {
        let flag = name.replace('_', "-");
        let takes_value = command
            .get_arguments()
            .find(|a| a.get_long() == Some(flag.as_str()))
            .map(|a| a.get_action().takes_values());
        match value {
            OptionValue::Text(t) => argv.push(format!("--{flag}={t}")),
            OptionValue::List(items) => argv.push(format!("--{flag}={}", items.join(","))),
            OptionValue::Switch(true) => argv.push(format!("--{flag}")),
            OptionValue::Switch(false) if takes_value == Some(false) => {}
            OptionValue::Switch(false) => argv.push(format!("--{flag}=false")),
        }
    }
    let parsed = Options::try_parse_from(&argv).map_err(|e| {
        let text = e.render().to_string();
        // clap's first line is the message; the usage lines after it name the command line, not the caller.
        let first = text.lines().next().unwrap_or_default();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })?;
    Ok(parsed.req.to_config())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        req: Request,
    }

    fn parse(argv: &[&str]) -> TrainConfig {
        let mut all = vec!["train", "--data", "d.csv", "--target", "y", "-o", "m.emk"];
        all.extend(argv);
        Args::try_parse_from(all).unwrap().req.to_config()
    }

    /// Options given by a program mean what the same flags do on the command line.
    #[test]
    fn program_options_mean_the_flags() {
        let text = |s: &str| OptionValue::Text(s.into());
        let options = [
            ("algo".to_string(), text("rf")),
            ("data".into(), text("d.csv")),
            ("target".into(), text("y")),
            ("output".into(), text("m.emk")),
            ("n_estimators".into(), text("7")),
            ("bootstrap".into(), OptionValue::Switch(false)),
            ("oob".into(), OptionValue::Switch(false)),
            (
                "categorical".into(),
                OptionValue::List(vec!["a".into(), "b".into()]),
            ),
        ];
        let from_options = config_from_options(&options).unwrap();
        let from_flags = parse(&[
            "--algo",
            "rf",
            "--n-estimators",
            "7",
            "--bootstrap",
            "false",
            "--categorical",
            "a,b",
        ]);
        assert_eq!(from_options, from_flags);
        assert_eq!(from_options.bootstrap, Some(false));
        assert!(!from_options.oob);
        let err = config_from_options(&[("n_estimator".into(), text("3"))]).unwrap_err();
        assert!(err.contains("--n-estimator"), "{err}");
        let err = config_from_options(&[
            ("algo".into(), text("rf")),
            ("data".into(), text("d.csv")),
            ("target".into(), text("y")),
            ("output".into(), text("m.emk")),
            ("max_depth".into(), text("deep")),
        ])
        .unwrap_err();
        assert!(err.contains("--max-depth"), "{err}");
    }

    /// The command line's defaults are [`TrainConfig::new`]'s, so a library caller trains what `emkern train` does.
    #[test]
    fn defaults_agree_with_the_library() {
        for algo in Algo::ALL {
            assert_eq!(
                parse(&["--algo", algo.id()]),
                TrainConfig::new(algo, "d.csv".into(), "y".into(), "m.emk".into()),
                "{}",
                algo.id()
            );
        }
    }

    #[test]
    fn every_option_reaches_the_config() {
        let c = parse(&[
            "--algo",
            "stack",
            "--task",
            "regression",
            "--base",
            "extra-trees,hist-gbdt",
            "--cv",
            "3",
            "--budget-metric",
            "log-loss",
            "--max-bytes",
            "2K",
            "--lambda",
            "2",
            "--xgboost-json",
            "m.json",
            "--codegen",
            "c",
            "m.h",
            "--bootstrap",
            "--min-samples-leaf",
            "3",
        ]);
        assert_eq!(c.algo, Algo::Stack);
        assert_eq!(c.task, Some(Task::Regression));
        assert_eq!(c.stack.base, vec![Algo::ExtraTrees, Algo::HistGbdt]);
        assert_eq!(c.stack.cv, Some(3));
        assert_eq!(c.budget_metric, Some(Rank::LogLoss));
        assert_eq!(c.max_bytes, Some(2048));
        assert_eq!(c.hist.lambda, Some(2.0));
        assert_eq!(c.hist.xgboost_json, Some(PathBuf::from("m.json")));
        assert_eq!(c.codegen, vec!["c".to_string(), "m.h".to_string()]);
        assert_eq!(c.bootstrap, Some(true));
        assert_eq!(c.min_samples_leaf, 3);
    }

    /// `--algo` names the algorithms as [`Algo::id`] does (errors and generated sources quote it).
    #[test]
    fn algo_names_agree() {
        for algo in Algo::ALL {
            assert_eq!(AlgoArg::from_str(algo.id(), false), Ok(AlgoArg(algo)));
        }
        assert_eq!(AlgoArg::value_variants().len(), Algo::ALL.len());
    }
}
