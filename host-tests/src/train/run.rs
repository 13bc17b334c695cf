//! A training run from a [`TrainConfig`] (what `emkern train` runs): reads the data (CSV or Parquet), checks the
//! options against the algorithm, trains, exports the `.emk` blob and the other outputs, and reports metrics on
//! the training and validation data computed by the `no_std` core from the exported blob. Errors name the
//! options in their command-line form (`--max-samples`), as [`TrainConfig`] documents.

use super::RunResult;
use std::time::Instant;

use emkern::forest::Forest as CoreForest;

use super::cart::{DecisionTree, SplitStrategy};
use super::config::{Algo, TrainConfig};
use super::dataset::{Dataset, DatasetSpec, FeatureKind, Task};
use super::fit::{threads_used, train_forest};
use super::model::TrainedModel;
use super::summary::{metrics_summary, print_blob, print_top_features};
use crate::output::Outputs;

/// Most trees or rounds `--n-estimators` accepts.
pub const MAX_ESTIMATORS: usize = 1_000_000;

/// Most worker threads `--threads` accepts.
pub const MAX_THREADS: usize = 1024;

/// Refuses counts that no training run can honour before anything is read or allocated.
fn check_counts(req: &TrainConfig) -> Result<(), String> {
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

/// Runs a training run: checks the options and the output paths, trains, and writes every output file only
/// when the whole run succeeded (see [`crate::output`]).
pub fn run(req: &TrainConfig) -> RunResult {
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

fn train(req: &TrainConfig, out: &Outputs) -> RunResult {
    let spec = DatasetSpec {
        target: req.target.clone(),
        categorical: req.categorical.clone(),
        weight: req.weight.clone(),
        task: req.task,
    };
    let data = Dataset::from_csv(&req.data, &spec)?;
    let valid = match &req.valid {
        Some(p) => Some(Dataset::from_csv_like(p, &data.schema)?),
        None => None,
    };
    super::stack::run::check_flags(req)?;
    if req.algo == Algo::Stack {
        return super::stack::run::run(req, &data, valid.as_ref(), out);
    }
    super::hist::run::check_flags(req)?;
    if req.algo == Algo::HistGbdt {
        return super::hist::run::run(req, &data, valid.as_ref(), out);
    }
    super::boost::run::check_flags(req)?;
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
        return super::boost::run::run(req, &data, valid.as_ref(), out);
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
    print_blob(&req.output, &core);
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
