//! `emkern train`: reads a CSV file, trains a tree or a forest, exports the `.emk` blob, and reports metrics on
//! the training and validation data computed by the `no_std` core from the exported blob.

use std::path::PathBuf;
use std::time::Instant;

use clap::ValueEnum;
use emkern::forest::Forest as CoreForest;

use super::cart::{ClassWeight, DecisionTree, MaxFeatures, SplitStrategy, TreeParams};
use super::criterion::Criterion;
use super::dataset::{Dataset, DatasetSpec, FeatureKind, Task};
use super::forest::{Forest, ForestKind, ForestParams, MaxSamples};
use super::model::TrainedModel;
use crate::metrics;
use crate::output::Outputs;

/// The training algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
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

/// The task, when not inferred from the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Class labels.
    Classification,
    /// A real-valued target.
    Regression,
}

/// Arguments of `emkern train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainRequest {
    /// Algorithm.
    #[arg(long, value_enum)]
    pub algo: Algo,
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
    pub hist: super::hist::cli::HistArgs,
    /// Flash budget of the blob: bytes, or with a unit K/KB/KiB (1024) or M/MB/MiB (1024²). The trained model
    /// is shrunk to the best model that fits (fewer rounds or trees, pruned trees, f32 values), chosen on --valid
    /// (else the training data), and the accuracy lost is reported.
    #[arg(long, value_parser = super::budget::parse_bytes)]
    pub max_bytes: Option<usize>,
    /// --max-bytes with a classifier: rank the candidates by accuracy (log-loss breaks ties) or by log-loss
    /// (accuracy breaks ties) (default accuracy).
    #[arg(long, value_enum)]
    pub budget_metric: Option<super::budget::select::Rank>,
    /// Also write a training report: `.html` (a self-contained page with the summary, the metrics, the training
    /// curves and the feature importances) or `.svg` (the plots in one image).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Parameters of --algo stack.
    #[command(flatten)]
    pub stack: super::stack::cli::StackArgs,
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

type CliResult = Result<(), Box<dyn std::error::Error>>;

impl TrainRequest {
    /// `--seed` as scikit-learn's `random_state` (below 2³²).
    pub(crate) fn random_state(&self) -> Result<u32, String> {
        u32::try_from(self.seed).map_err(|_| {
            format!(
                "--seed {} is too large for --algo {}: it is scikit-learn's random_state, below 2^32",
                self.seed,
                self.algo
                    .to_possible_value()
                    .map_or_else(|| self.algo.name().to_string(), |v| v.get_name().to_string())
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

    fn describe(&self, p: &TreeParams, data: &Dataset) -> String {
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

fn parse_max_samples(s: &str) -> Result<MaxSamples, String> {
    if s.contains('.') {
        s.parse::<f64>()
            .ok()
            .filter(|f| *f > 0.0 && *f <= 1.0)
            .map(MaxSamples::Fraction)
    } else {
        s.parse::<usize>()
            .ok()
            .filter(|&k| k > 0)
            .map(MaxSamples::Count)
    }
    .ok_or_else(|| format!("--max-samples {s}: expected a count ≥ 1 or a fraction in (0, 1]"))
}

/// Most trees or rounds `--n-estimators` accepts.
pub const MAX_ESTIMATORS: usize = 1_000_000;

/// Most worker threads `--threads` accepts.
pub const MAX_THREADS: usize = 1024;

/// Refuses counts that no training run can honour before anything is read or allocated.
fn check_counts(req: &TrainRequest) -> Result<(), String> {
    if let Some(n) = req.n_estimators
        && n > MAX_ESTIMATORS
    {
        return Err(format!(
            "--n-estimators {n}: at most {MAX_ESTIMATORS} trees or rounds"
        ));
    }
    if let Some(t) = req.threads
        && t > MAX_THREADS
    {
        return Err(format!(
            "--threads {t}: at most {MAX_THREADS} worker threads (this machine has {} cores; the model does not \
             depend on the thread count)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ));
    }
    Ok(())
}

/// Runs `emkern train`: checks the arguments and the output paths, trains, and writes every output file only
/// when the whole run succeeded (see [`crate::output`]).
pub fn run(req: &TrainRequest) -> CliResult {
    check_counts(req)?;
    if let Some(path) = &req.report {
        super::report::ReportFormat::from_path(path)?;
    }
    super::output::codegen_outputs(req)?;
    if let Some(name) = &req.name {
        crate::export::source::check_c_name(name).map_err(|e| format!("--name: {e}"))?;
    }
    let out = Outputs::plan(&super::output::targets(req), &super::output::inputs(req))?;
    train(req, &out)?;
    // Lines that could not be printed fail the run before any output replaces an existing file.
    if let Some(e) = crate::output::stdout_error() {
        return Err(e.into());
    }
    out.commit()?;
    Ok(())
}

fn train(req: &TrainRequest, out: &Outputs) -> CliResult {
    let spec = DatasetSpec {
        target: req.target.clone(),
        categorical: req.categorical.clone(),
        weight: req.weight.clone(),
        task: req.task.map(|t| match t {
            TaskArg::Classification => Task::Classification,
            TaskArg::Regression => Task::Regression,
        }),
    };
    let data = Dataset::from_csv(&req.data, &spec)?;
    let valid = match &req.valid {
        Some(p) => Some(Dataset::from_csv_like(p, &data.schema)?),
        None => None,
    };
    super::stack::cli::check_flags(req)?;
    if req.algo == Algo::Stack {
        return super::stack::cli::run(req, &data, valid.as_ref(), out);
    }
    super::hist::cli::check_flags(req)?;
    if req.algo == Algo::HistGbdt {
        return super::hist::cli::run(req, &data, valid.as_ref(), out);
    }
    super::boost::cli::check_flags(req)?;
    let forest = req.algo != Algo::Cart;
    if !forest {
        let forest_only = [
            ("--n-estimators", req.n_estimators.is_some()),
            ("--bootstrap", req.bootstrap.is_some()),
            ("--max-samples", req.max_samples.is_some()),
            ("--oob", req.oob),
        ];
        if let Some((flag, _)) = forest_only.iter().find(|(_, given)| *given) {
            return Err(format!(
                "{flag} applies to forests (--algo rf or extra-trees), not to cart"
            )
            .into());
        }
    }
    let params = req.tree_params(data.task(), forest)?;
    let task = data.task();
    let categorical = data
        .schema
        .kinds
        .iter()
        .filter(|k| matches!(k, FeatureKind::Categorical(_)))
        .count();
    crate::say!(
        "emkern train: {} on {} ({} rows, {} features{}), {}",
        req.algo.name(),
        req.data.display(),
        data.n_rows,
        data.n_features(),
        if categorical > 0 {
            format!(", {categorical} categorical")
        } else {
            String::new()
        },
        match &data.schema.classes {
            Some(c) => format!(
                "classification: {} classes ({})",
                c.len(),
                crate::io::printable(&c.join(", "))
            ),
            None => "regression".into(),
        }
    );
    if matches!(req.algo, Algo::Adaboost | Algo::Gbdt) {
        return super::boost::cli::run(req, &data, valid.as_ref(), out);
    }
    let start = Instant::now();
    let model = if forest {
        TrainedModel::Forest(train_forest(req, &data, &params)?)
    } else {
        let mut p = params.clone();
        p.splitter = SplitStrategy::Best;
        TrainedModel::Tree(DecisionTree::train(&data, &p, req.random_state()?)?)
    };
    let seconds = start.elapsed().as_secs_f64();
    let (model, ensemble) = super::budget::fit(req, model, &data, valid.as_ref(), |m| {
        m.to_ensemble(&data, &req.describe(&params, &data))
    })?;
    let bytes = super::output::write_model(req, &ensemble, &data, out)?;
    let core = super::output::load_exported(req, &bytes)?;
    let s = core.summary();
    let trees = model.trees();
    crate::say!(
        "  trained   {} tree{}, {} nodes ({} leaves), depth ≤ {}, in {:.3} s ({} thread{})",
        trees.len(),
        if trees.len() == 1 { "" } else { "s" },
        model.n_nodes(),
        trees.iter().map(DecisionTree::n_leaves).sum::<usize>(),
        trees.iter().map(DecisionTree::depth).max().unwrap_or(0),
        seconds,
        threads_used(req.threads, forest),
        if threads_used(req.threads, forest) == 1 {
            ""
        } else {
            "s"
        },
    );
    if let TrainedModel::Forest(f) = &model
        && let Some(oob) = &f.oob
    {
        let what = if task == Task::Classification {
            "accuracy"
        } else {
            "R²"
        };
        crate::say!("  oob       {what} {:.4} ({} rows)", oob.score, oob.rows);
    }
    let (line, worst) = evaluate(&core, &model, &data);
    crate::say!("  train     {line}");
    let mut printed = vec![("train", line)];
    if let Some(v) = &valid {
        let (line, w) = evaluate(&core, &model, v);
        crate::say!("  valid     {line}");
        printed.push(("valid", line));
        crate::say!(
            "  core      max |core − trainer| = {:.1e} over the training and validation rows",
            worst.max(w)
        );
    } else {
        crate::say!("  core      max |core − trainer| = {worst:.1e} over the training rows");
    }
    crate::say!(
        "  blob      {}: {} bytes, {} bytes/node, worst case {} node visits per row",
        req.output.display(),
        s.blob_bytes,
        s.node_bytes,
        crate::describe::Cost::of(&core).node_visits
    );
    if let Some(path) = &req.hist.xgboost_json {
        super::output::write_xgboost_json(path, &ensemble, &data, valid.as_ref(), out)?;
    }
    print_top_features(&data.schema.feature_names, &model.feature_importances(), "");
    super::report::run::Run {
        outputs: out,
        req,
        data: &data,
        valid: valid.as_ref(),
        parameters: req.describe(&params, &data),
        seconds,
        threads: threads_used(req.threads, forest),
        blob: Ok((req.output.display().to_string(), s.blob_bytes)),
        printed,
    }
    .trees(&model)?;
    Ok(())
}

/// Trains a forest with a progress bar (trees built / total).
pub(crate) fn train_forest(
    req: &TrainRequest,
    data: &Dataset,
    params: &TreeParams,
) -> Result<Forest, Box<dyn std::error::Error>> {
    let kind = if req.algo == Algo::Rf {
        ForestKind::RandomForest
    } else {
        ForestKind::ExtraTrees
    };
    let mut fp = ForestParams::new(kind, data.task());
    fp.tree = params.clone();
    fp.n_estimators = req.n_estimators.unwrap_or(fp.n_estimators);
    if let Some(b) = req.bootstrap {
        fp.bootstrap = b;
    }
    fp.max_samples = req
        .max_samples
        .as_deref()
        .map(parse_max_samples)
        .transpose()?;
    fp.oob_score = req.oob;
    fp.seed = req.random_state()?;
    fp.threads = req.threads;
    let bar = crate::progress::bar(
        req.quiet,
        fp.n_estimators as u64,
        "  training {bar:30} {pos}/{len} trees [{elapsed_precise}, eta {eta}]",
    );
    let forest = Forest::train(data, &fp, &|done| bar.set_position(done as u64));
    bar.finish_and_clear();
    Ok(forest?)
}

pub(crate) fn threads_used(threads: Option<usize>, forest: bool) -> usize {
    if !forest {
        return 1;
    }
    threads
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Metrics of the core's predictions on `data` (one line), and the largest difference between the core's and the
/// trainer's predictions.
fn evaluate(core: &CoreForest, model: &TrainedModel, data: &Dataset) -> (String, f64) {
    let mut out = vec![0.0f32; core.output_len()];
    let mut row = Vec::new();
    let mut predictions = Vec::with_capacity(data.n_rows);
    let mut worst = 0.0f64;
    for r in 0..data.n_rows {
        data.row_into(r, &mut row);
        core.predict(&row, &mut out)
            .expect("rows have the model's width");
        let p: Vec<f64> = out.iter().map(|&v| v as f64).collect();
        for (a, b) in p.iter().zip(model.predict_row(&row)) {
            worst = worst.max((a - b).abs());
        }
        predictions.push(p);
    }
    (metrics_summary(data, predictions, ""), worst)
}

/// The metrics line `train` prints for `predictions` on `data` (one row per data row: the class probabilities, or
/// P(class 1) alone for a binary model, or the regression value): accuracy, log-loss and AUC, or RMSE, MAE and
/// R², then `extra` if not empty, then the row count. The report parses these lines.
pub(crate) fn metrics_summary(data: &Dataset, predictions: Vec<Vec<f64>>, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("  {extra}")
    };
    match data.task() {
        Task::Classification => {
            let proba: Vec<Vec<f64>> = predictions
                .into_iter()
                .map(|p| {
                    if p.len() == 1 {
                        vec![1.0 - p[0], p[0]]
                    } else {
                        p
                    }
                })
                .collect();
            let m = metrics::classification(&data.class_indices(), &proba);
            let mut line = format!("accuracy {:.4}  log-loss {:.4}", m.accuracy, m.log_loss);
            if let Some(a) = m.auc {
                line += &format!("  AUC {a:.4}");
            }
            line + &format!("{extra}  ({} rows)", m.rows)
        }
        Task::Regression => {
            let p: Vec<f64> = predictions.iter().map(|p| p[0]).collect();
            let m = metrics::regression(&data.target, &p);
            format!(
                "RMSE {:.4}  MAE {:.4}  R² {:.4}{extra}  ({} rows)",
                m.rmse, m.mae, m.r2, m.rows
            )
        }
    }
}

/// Prints the five most important features (importance > 0) in decreasing order, ties by index, as
/// `  features  name 0.123, …` followed by `suffix`.
pub(crate) fn print_top_features(names: &[String], imp: &[f64], suffix: &str) {
    let mut order: Vec<usize> = (0..imp.len()).collect();
    order.sort_by(|&a, &b| imp[b].total_cmp(&imp[a]).then(a.cmp(&b)));
    let top: Vec<String> = order
        .iter()
        .take(5)
        .filter(|&&f| imp[f] > 0.0)
        .map(|&f| format!("{} {:.3}", names.get(f).map_or("?", String::as_str), imp[f]))
        .collect();
    if !top.is_empty() {
        crate::say!("  features  {}{suffix}", top.join(", "));
    }
}
