//! A training run with `--algo adaboost|gbdt`: trains a boosted model with a progress bar (round, training and
//! validation loss), exports the blob, and reports metrics computed by the `no_std` core from the exported blob
//! (a model the blob cannot hold — an AdaBoost.R2 weight that overflowed — reports the trainer's own metrics and
//! fails the export).

use crate::output::Outputs;
use crate::train::RunResult;
use std::time::Instant;

use super::Boosted;
use super::adaboost::{AdaBoost, AdaBoostParams, R2Loss, Termination};
use super::gbdt::{EarlyStopping, Gbdt, GbdtParams};
use super::loss::Loss;
use crate::train::config::{Algo, TrainConfig};
use crate::train::criterion::Criterion;
use crate::train::dataset::{Dataset, Task};

/// Rejects flags that do not apply to the chosen algorithm (boosting flags for trees and forests, forest flags
/// for boosting, and the flags one boosting algorithm lacks).
pub fn check_flags(req: &TrainConfig) -> Result<(), String> {
    let boosting = [
        ("--learning-rate", req.learning_rate.is_some()),
        ("--loss", req.loss.is_some()),
        ("--subsample", req.subsample.is_some()),
        ("--alpha", req.alpha.is_some()),
        ("--n-iter-no-change", req.n_iter_no_change.is_some()),
        ("--validation-fraction", req.validation_fraction.is_some()),
        ("--tol", req.tol.is_some()),
    ];
    let gbdt_only = &boosting[2..];
    let forest_only = [
        ("--bootstrap", req.bootstrap.is_some()),
        ("--max-samples", req.max_samples.is_some()),
        ("--oob", req.oob),
    ];
    let given = |flags: &[(&'static str, bool)]| flags.iter().find(|(_, g)| *g).map(|(f, _)| *f);
    match req.algo {
        Algo::Adaboost => {
            if let Some(f) = given(gbdt_only).or(given(&forest_only)) {
                return Err(format!("{f} does not apply to --algo adaboost"));
            }
        }
        Algo::Gbdt => {
            if let Some(f) = given(&forest_only) {
                return Err(format!("{f} does not apply to --algo gbdt"));
            }
            if req.class_weight.is_some() {
                return Err(
                    "--class-weight does not apply to --algo gbdt (use a --weight column)".into(),
                );
            }
            if (req.validation_fraction.is_some() || req.tol.is_some())
                && req.n_iter_no_change.is_none()
            {
                return Err(
                    "--validation-fraction and --tol configure early stopping: add --n-iter-no-change".into(),
                );
            }
        }
        Algo::Cart | Algo::Rf | Algo::ExtraTrees => {
            if let Some(f) = given(&boosting) {
                return Err(format!("{f} applies to boosting (--algo adaboost or gbdt)"));
            }
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
    Ok(())
}

/// Trains, exports and reports (the dataset header line is already printed).
pub fn run(req: &TrainConfig, data: &Dataset, valid: Option<&Dataset>, out: &Outputs) -> RunResult {
    let seed = req.random_state()?;
    let task = data.task();
    if req.algo == Algo::Adaboost && task == Task::Regression && req.hist.xgboost_json.is_some() {
        return Err("--xgboost-json: AdaBoost.R2 predicts the weighted median of its trees' outputs, and XGBoost \
                    only sums trees (no sum of trees selects a median); write the .emk blob, --rust or \
                    --c-header instead"
            .into());
    }
    let bar = crate::progress::bar(
        req.quiet,
        0,
        "  boosting {bar:30} {pos}/{len} rounds  {msg} [{elapsed_precise}, eta {eta}]",
    );
    let start = Instant::now();
    let mut errors = Vec::new();
    let (model, describe, threads) = match req.algo {
        Algo::Adaboost => {
            let (p, describe) = adaboost_params(req, task, seed)?;
            bar.set_length(p.n_estimators as u64);
            let model = AdaBoost::train(data, &p, &mut |r| {
                bar.set_position(r.round as u64);
                bar.set_message(format!("weighted error {:.4}", r.error));
                errors.push(r.error);
            })?;
            (Boosted::AdaBoost(model), describe, 1)
        }
        _ => {
            let (p, describe) = gbdt_params(req, task, seed)?;
            bar.set_length(p.n_estimators as u64);
            let metric = p.loss.metric_name();
            let model = Gbdt::train(data, &p, valid, &mut |r| {
                bar.set_position(r.round as u64);
                let mut m = format!("train {metric} {:.4}", r.train_loss);
                if let Some(v) = r.valid_loss {
                    m += &format!("  valid {v:.4}");
                }
                bar.set_message(m);
            })?;
            let columns = model.init.len();
            let threads = if columns > 1 {
                req.threads
                    .filter(|&t| t > 0)
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                    .min(columns)
            } else {
                1
            };
            (Boosted::Gbdt(model), describe, threads)
        }
    };
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let trees = model.trees();
    crate::say!(
        "  trained   {}, {} tree{}, {} nodes ({} leaves), depth ≤ {}, in {:.3} s ({} thread{})",
        rounds_line(&model),
        trees.len(),
        if trees.len() == 1 { "" } else { "s" },
        trees.iter().map(|t| t.nodes.len()).sum::<usize>(),
        trees.iter().map(|t| t.n_leaves()).sum::<usize>(),
        trees.iter().map(|t| t.depth()).max().unwrap_or(0),
        seconds,
        threads,
        if threads == 1 { "" } else { "s" },
    );
    if let Boosted::Gbdt(g) = &model
        && let Some(es) = &held_out(req)
    {
        let metric = g.loss.metric_name();
        let what = if valid.is_some() {
            "the --valid data".to_string()
        } else {
            format!("{} of the training rows", es)
        };
        crate::say!(
            "  stopping  {} of {} rounds trained; best validation {metric} {:.4} at round {} (on {what})",
            g.rounds_trained,
            req.n_estimators.unwrap_or(100),
            g.valid_loss[g.stages.len() - 1],
            g.stages.len(),
        );
    }
    let source = format!(
        "emkern-host {} train: {describe}",
        env!("CARGO_PKG_VERSION")
    );
    let report = |printed, blob| crate::train::report::run::Run {
        outputs: out,
        req,
        data,
        valid,
        parameters: describe.clone(),
        seconds,
        threads,
        blob,
        printed,
    };
    let (model, ensemble) = crate::train::budget::fit_exportable(req, model, data, valid, |m| {
        m.to_ensemble(Some(data.schema.feature_names.clone()), &source)
    })?;
    let ensemble = match ensemble {
        Ok(e) => e,
        Err(e) => {
            let mut printed = vec![(
                "train",
                format!(
                    "{}  (trainer)",
                    metrics_line(data, |row| model.predict_row(row))
                ),
            )];
            crate::say!("  train     {}", printed[0].1);
            if let Some(v) = valid {
                let line = format!(
                    "{}  (trainer)",
                    metrics_line(v, |row| model.predict_row(row))
                );
                crate::say!("  valid     {line}");
                printed.push(("valid", line));
            }
            report(printed, Err(e.to_string())).boosted(&model, &errors)?;
            // The report says why there is no blob: it is written, the other outputs are not.
            out.commit_written()?;
            return Err(format!("{}: not written: {e}", req.output.display()).into());
        }
    };
    let bytes = crate::train::output::write_model(req, &ensemble, data, out)?;
    let core = crate::train::output::load_exported(req, &bytes)?;
    let s = core.summary();
    let mut worst = 0.0f64;
    let mut core_predict = |row: &[f32], out: &mut Vec<f64>| {
        let mut buf = vec![0.0f32; core.output_len()];
        core.predict(row, &mut buf)
            .expect("rows have the model's width");
        out.clear();
        out.extend(buf.iter().map(|&v| v as f64));
        for (a, b) in out.iter().zip(model.predict_row(row)) {
            worst = worst.max(relative_difference(*a, b));
        }
    };
    let scored = |d: &Dataset| {
        metrics_line(d, |row| {
            let mut out = Vec::new();
            core_predict(row, &mut out);
            out
        })
    };
    let printed = crate::train::summary::print_scores(data, valid, scored);
    crate::say!(
        "  core      max |core − trainer| / max(1, |trainer|) = {worst:.1e} over the {} rows",
        if valid.is_some() {
            "training and validation"
        } else {
            "training"
        }
    );
    crate::train::summary::print_blob(&req.output, &core);
    if let Some(path) = &req.hist.xgboost_json {
        crate::train::output::write_xgboost_json(path, &ensemble, data, valid, out)?;
    }
    super::super::summary::print_top_features(
        &data.schema.feature_names,
        &model.feature_importances(),
        "",
    );
    report(
        printed,
        Ok((req.output.display().to_string(), s.blob_bytes)),
    )
    .boosted(&model, &errors)?;
    Ok(())
}

/// AdaBoost's parameters from the run's options, and their description for the model's source line.
pub(crate) fn adaboost_params(
    req: &TrainConfig,
    task: Task,
    seed: u32,
) -> Result<(AdaBoostParams, String), String> {
    let mut tree = req.tree_params(task, false)?;
    let mut p = AdaBoostParams::new(task);
    p.tree.max_depth = req.max_depth.or(p.tree.max_depth);
    tree.max_depth = p.tree.max_depth;
    p.tree = tree;
    p.n_estimators = req.n_estimators.unwrap_or(p.n_estimators);
    p.learning_rate = req.learning_rate.unwrap_or(p.learning_rate);
    p.seed = seed;
    if let Some(l) = &req.loss {
        if task == Task::Classification {
            return Err(format!(
                "--loss {l}: AdaBoost classification (SAMME) has no loss option"
            ));
        }
        p.loss = R2Loss::from_name(l).ok_or_else(|| {
            format!("--loss {l}: AdaBoost.R2 takes linear, square or exponential")
        })?;
    }
    let describe = format!(
        "{} (n_estimators={}, learning_rate={}, max_depth={}, criterion={}{}, seed={seed})",
        if task == Task::Classification {
            "AdaBoost SAMME"
        } else {
            "AdaBoost.R2"
        },
        p.n_estimators,
        p.learning_rate,
        p.tree.max_depth.map_or("none".into(), |d| d.to_string()),
        p.tree.criterion.name(),
        if task == Task::Regression {
            format!(", loss={}", p.loss.name())
        } else {
            String::new()
        },
    );
    Ok((p, describe))
}

/// Gradient boosting's parameters from the run's options, and their description for the model's source line.
pub(crate) fn gbdt_params(
    req: &TrainConfig,
    task: Task,
    seed: u32,
) -> Result<(GbdtParams, String), String> {
    let mut tree = req.tree_params(task, false)?;
    let mut p = GbdtParams::new(task);
    if let Some(c) = &req.criterion {
        if c != "friedman_mse" && Criterion::from_name(c) != Some(Criterion::SquaredError) {
            return Err(format!(
                "--criterion {c}: gradient boosting fits regression trees (squared_error)"
            ));
        }
        tree.criterion = Criterion::SquaredError;
    } else {
        tree.criterion = Criterion::SquaredError;
    }
    tree.max_depth = req.max_depth.or(p.tree.max_depth);
    p.tree = tree;
    let alpha = req.alpha.unwrap_or(0.9);
    if let Some(l) = &req.loss {
        p.loss = Loss::from_name(l, alpha).ok_or_else(|| {
            format!(
                "--loss {l}: expected squared_error, absolute_error, huber, quantile, log_loss or poisson"
            )
        })?;
    }
    if req.alpha.is_some() && !matches!(p.loss, Loss::Huber { .. } | Loss::Quantile { .. }) {
        return Err("--alpha applies to the huber and quantile losses".into());
    }
    p.n_estimators = req.n_estimators.unwrap_or(p.n_estimators);
    p.learning_rate = req.learning_rate.unwrap_or(p.learning_rate);
    p.subsample = req.subsample.unwrap_or(p.subsample);
    p.seed = seed;
    p.threads = req.threads;
    if let Some(n) = req.n_iter_no_change {
        let mut es = EarlyStopping::new(n);
        es.validation_fraction = req.validation_fraction.unwrap_or(es.validation_fraction);
        es.tol = req.tol.unwrap_or(es.tol);
        p.early_stopping = Some(es);
    }
    let describe = format!(
        "gradient boosting (loss={}, n_estimators={}, learning_rate={}, subsample={}, max_depth={}{}, \
         seed={seed})",
        p.loss.name(),
        p.n_estimators,
        p.learning_rate,
        p.subsample,
        p.tree.max_depth.map_or("none".into(), |d| d.to_string()),
        p.early_stopping.map_or(String::new(), |e| format!(
            ", n_iter_no_change={}",
            e.n_iter_no_change
        )),
    );
    Ok((p, describe))
}

/// The held-out share of early stopping (`10%`), for the report; `None` without early stopping.
fn held_out(req: &TrainConfig) -> Option<String> {
    req.n_iter_no_change
        .map(|_| format!("{:.0}%", 100.0 * req.validation_fraction.unwrap_or(0.1)))
}

/// `50 rounds`, `37 of 50 rounds (stopped: ...)`, `3 classes × 100 rounds`.
fn rounds_line(model: &Boosted) -> String {
    match model {
        Boosted::AdaBoost(a) => {
            let n = a.trees.len();
            let why = match a.termination {
                Termination::Completed => "",
                Termination::Perfect => " (stopped: a tree fitted the training data perfectly)",
                Termination::NoBetterThanChance => {
                    " (stopped: the next tree was no better than chance)"
                }
                Termination::DegenerateWeights => " (stopped: the sample weights degenerated)",
            };
            format!("{n} round{}{why}", if n == 1 { "" } else { "s" })
        }
        Boosted::Gbdt(g) => {
            let n = g.stages.len();
            let per = g.init.len();
            if per > 1 {
                format!("{n} rounds × {per} trees (one per class)")
            } else {
                format!("{n} round{}", if n == 1 { "" } else { "s" })
            }
        }
    }
}

/// `|a − b| / max(1, |b|)`.
fn relative_difference(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

/// One line of metrics of `predict` (the exported model's outputs) on `data`.
pub(crate) fn metrics_line(data: &Dataset, mut predict: impl FnMut(&[f32]) -> Vec<f64>) -> String {
    let mut row = Vec::new();
    let mut predictions = Vec::with_capacity(data.n_rows);
    for r in 0..data.n_rows {
        data.row_into(r, &mut row);
        predictions.push(predict(&row));
    }
    crate::train::summary::metrics_summary(data, predictions, "")
}
