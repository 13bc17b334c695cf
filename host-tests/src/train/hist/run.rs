//! A training run with `--algo hist-gbdt`: the histogram booster's parameters from the [`HistConfig`], training
//! with a progress bar, export to the `.emk` blob (and optionally XGBoost JSON), and the report: metrics the `no_std` core
//! computes from the exported blob, and whether its margins equal the trainer's bit for bit.

use crate::output::Outputs;
use crate::train::RunResult;
use std::time::Instant;

use emkern::forest::Forest as CoreForest;

use super::booster::{HistBooster, HistParams, RoundReport};
use super::grow::GrowPolicy;
use super::objective::Objective;
use crate::train::config::{Algo, HistConfig, TrainConfig};
use crate::train::dataset::Dataset;

/// Parses `'(1,0,-1)'` (parentheses and brackets optional).
pub fn parse_monotone(s: &str) -> Result<Vec<i8>, String> {
    let inner = s
        .trim()
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']']);
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|t| match t.trim() {
            "1" | "+1" => Ok(1),
            "0" => Ok(0),
            "-1" => Ok(-1),
            other => Err(format!("--monotone {s}: `{other}` is not 1, 0 or -1")),
        })
        .collect()
}

impl HistConfig {
    /// The flags given, by name (to refuse them with other algorithms).
    pub(crate) fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut add = |name, given: bool| {
            if given {
                v.push(name);
            }
        };
        add("--objective", self.objective.is_some());
        add("--eta", self.eta.is_some());
        add("--max-leaves", self.max_leaves.is_some());
        add("--grow-policy", self.grow_policy.is_some());
        add("--lambda", self.lambda.is_some());
        add("--gamma", self.gamma.is_some());
        add("--min-child-weight", self.min_child_weight.is_some());
        add("--max-delta-step", self.max_delta_step.is_some());
        add("--max-bin", self.max_bin.is_some());
        add("--colsample-bytree", self.colsample_bytree.is_some());
        add("--colsample-bylevel", self.colsample_bylevel.is_some());
        add("--colsample-bynode", self.colsample_bynode.is_some());
        add("--monotone", self.monotone.is_some());
        add(
            "--early-stopping-rounds",
            self.early_stopping_rounds.is_some(),
        );
        add("--base-score", self.base_score.is_some());
        add("--max-cat-to-onehot", self.max_cat_to_onehot.is_some());
        add("--max-cat-threshold", self.max_cat_threshold.is_some());
        v
    }
}

/// Refuses hist-gbdt flags with other algorithms (a stack checks them against its bases).
pub fn check_flags(req: &TrainConfig) -> Result<(), String> {
    if !matches!(req.algo, Algo::HistGbdt | Algo::Stack)
        && let Some(flag) = req.hist.given().first()
    {
        return Err(format!("{flag} applies to --algo hist-gbdt"));
    }
    Ok(())
}

/// The booster's parameters from the run's options.
pub fn params(req: &TrainConfig) -> Result<HistParams, String> {
    let h = &req.hist;
    let unsupported = [
        ("--criterion", req.criterion.is_some()),
        (
            "--max-leaf-nodes (use --max-leaves)",
            req.max_leaf_nodes.is_some(),
        ),
        (
            "--max-features (use --colsample-*)",
            req.max_features.is_some(),
        ),
        ("--class-weight (use --weight)", req.class_weight.is_some()),
        ("--bootstrap", req.bootstrap.is_some()),
        ("--max-samples", req.max_samples.is_some()),
        ("--oob", req.oob),
        ("--loss (use --objective)", req.loss.is_some()),
        (
            "--n-iter-no-change (use --early-stopping-rounds)",
            req.n_iter_no_change.is_some(),
        ),
        ("--validation-fraction", req.validation_fraction.is_some()),
        ("--tol", req.tol.is_some()),
    ];
    if let Some((flag, _)) = unsupported.iter().find(|(_, given)| *given) {
        return Err(format!("{flag} does not apply to --algo hist-gbdt"));
    }
    let mut p = HistParams::default();
    if let Some(o) = &h.objective {
        p.objective = Some(Objective::from_name(o).ok_or_else(|| {
            format!(
                "--objective {o}: expected one of {}",
                Objective::ALL.map(|o| o.name()).join(", ")
            )
        })?);
    }
    if let Some(n) = req.n_estimators {
        p.n_estimators = n;
    }
    if let (Some(_), Some(_)) = (h.eta, req.learning_rate) {
        return Err("give --eta or --learning-rate, not both".into());
    }
    if let Some(e) = h.eta.or(req.learning_rate.map(|v| v as f32)) {
        p.eta = e;
    }
    if let Some(d) = req.max_depth {
        p.max_depth = d as u32;
    }
    if let Some(l) = h.max_leaves {
        p.max_leaves = l;
    }
    if let Some(g) = &h.grow_policy {
        p.grow_policy = match g.as_str() {
            "depthwise" => GrowPolicy::Depthwise,
            "lossguide" => GrowPolicy::Lossguide,
            _ => {
                return Err(format!(
                    "--grow-policy {g}: expected depthwise or lossguide"
                ));
            }
        };
    }
    if let Some(v) = h.lambda {
        p.lambda = v;
    }
    if let Some(v) = req.alpha {
        p.alpha = v as f32;
    }
    if let Some(v) = h.gamma {
        p.gamma = v;
    }
    if let Some(v) = h.min_child_weight {
        p.min_child_weight = v;
    }
    p.max_delta_step = h.max_delta_step;
    if let Some(v) = h.max_bin {
        p.max_bin = v;
    }
    if let Some(v) = req.subsample {
        p.subsample = v as f32;
    }
    if let Some(v) = h.colsample_bytree {
        p.colsample_bytree = v;
    }
    if let Some(v) = h.colsample_bylevel {
        p.colsample_bylevel = v;
    }
    if let Some(v) = h.colsample_bynode {
        p.colsample_bynode = v;
    }
    if let Some(m) = &h.monotone {
        p.monotone = parse_monotone(m)?;
    }
    p.early_stopping_rounds = h.early_stopping_rounds;
    p.base_score = h.base_score;
    if let Some(v) = h.max_cat_to_onehot {
        p.max_cat_to_onehot = v;
    }
    if let Some(v) = h.max_cat_threshold {
        p.max_cat_threshold = v;
    }
    p.seed = req.seed;
    p.threads = req.threads;
    Ok(p)
}

/// Runs `emkern train --algo hist-gbdt` on loaded data.
pub fn run(req: &TrainConfig, data: &Dataset, valid: Option<&Dataset>, out: &Outputs) -> RunResult {
    let p = params(req)?;
    let objective = p
        .objective
        .unwrap_or_else(|| super::booster::default_objective(data));
    crate::train::summary::print_start("histogram gradient boosting", &req.data, data);
    let parameters = format!(
        "{}, {} rounds, eta {}, {} max_depth {}{}, lambda {}, alpha {}, gamma {}, \
         min_child_weight {}, max_bin {}, subsample {}, seed {}",
        objective.name(),
        p.n_estimators,
        p.eta,
        p.grow_policy.name(),
        p.max_depth,
        if p.max_leaves > 0 {
            format!(" max_leaves {}", p.max_leaves)
        } else {
            String::new()
        },
        p.lambda,
        p.alpha,
        p.gamma,
        p.min_child_weight,
        p.max_bin,
        p.subsample,
        p.seed
    );
    crate::say!("  params    {parameters}");
    let bar = crate::progress::bar(
        req.quiet,
        p.n_estimators as u64,
        "  training {bar:30} {pos}/{len} rounds {msg} [{elapsed_precise}, eta {eta}]",
    );
    let metric = objective.metric_name();
    let train_curve = std::sync::Mutex::new(Vec::new());
    let report = |r: &RoundReport| {
        if req.report.is_some() {
            let k = r.train_margins.len() / data.n_rows;
            let m = super::booster::eval_metric(
                objective,
                r.train_margins,
                k,
                &data.target,
                data.weights.as_deref(),
            );
            train_curve.lock().map(|mut c| c.push(m)).ok();
        }
        bar.set_position(r.round as u64);
        if let (Some(m), Some((b, bm))) = (r.metric, r.best) {
            bar.set_message(format!(
                "valid {metric} {m:.5} (best {bm:.5} at round {})",
                b + 1
            ));
        }
    };
    let start = Instant::now();
    let model = HistBooster::train(data, valid, &p, &report);
    bar.finish_and_clear();
    let model = model?;
    let seconds = start.elapsed().as_secs_f64();
    let (model, ensemble) =
        crate::train::budget::fit(req, model, data, valid, |m| m.to_ensemble())?;
    let bytes = crate::train::output::write_model(req, &ensemble, data, out)?;
    let core = crate::train::output::load_exported(req, &bytes)?;
    let threads = p
        .threads
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let nodes: usize = model.trees.iter().map(|t| t.nodes.len()).sum();
    let leaves: usize = model.trees.iter().map(|t| t.n_leaves()).sum();
    let depth = model.trees.iter().map(|t| t.depth()).max().unwrap_or(0);
    crate::say!(
        "  trained   {} trees ({} rounds × {} output{}), {nodes} nodes ({leaves} leaves), depth ≤ {depth}, \
         in {seconds:.3} s ({threads} thread{})",
        model.trees.len(),
        model.trees.len() / model.n_outputs,
        model.n_outputs,
        if model.n_outputs == 1 { "" } else { "s" },
        if threads == 1 { "" } else { "s" }
    );
    crate::say!(
        "  intercept base_score {:?} (margin {:?})",
        model.base_score,
        model.base_margin
    );
    if let Some(b) = model.best_iteration {
        crate::say!(
            "  early     best round {} of {} trained (valid {metric} {:.6}); the model keeps rounds 1..={}",
            b + 1,
            model.rounds_trained,
            model.history[b],
            b + 1
        );
    }
    let (line, mismatches, rows) = evaluate(&core, &model, data);
    crate::say!("  train     {line}");
    let mut printed = vec![("train", line)];
    let (mut mismatches, mut rows) = (mismatches, rows);
    if let Some(v) = valid {
        let (line, m, r) = evaluate(&core, &model, v);
        crate::say!("  valid     {line}");
        printed.push(("valid", line));
        mismatches += m;
        rows += r;
    }
    crate::say!(
        "  core      margins equal to the trainer's bit for bit on {} of {rows} rows",
        rows - mismatches
    );
    let s = core.summary();
    crate::train::summary::print_blob(&req.output, &core);
    if let Some(path) = &req.hist.xgboost_json {
        let json = model.to_xgboost_json()?;
        out.write(path, json.as_bytes())?;
        crate::say!("  xgboost   {} (XGBoost 3.x JSON model)", path.display());
    }
    super::super::summary::print_top_features(
        &data.schema.feature_names,
        &model.feature_importances(),
        " (share of the total gain)",
    );
    crate::train::report::run::Run {
        outputs: out,
        req,
        data,
        valid,
        parameters,
        seconds,
        threads,
        blob: Ok((req.output.display().to_string(), s.blob_bytes)),
        printed,
    }
    .hist(&model, &train_curve.into_inner().unwrap_or_default())?;
    Ok(())
}

/// Metrics of the core's predictions on `data` (one line), the rows whose core margins differ from the
/// trainer's in any bit, and the rows scored.
fn evaluate(core: &CoreForest, model: &HistBooster, data: &Dataset) -> (String, usize, usize) {
    let mut out = vec![0.0f32; core.output_len()];
    let mut margin = vec![0.0f32; model.n_outputs];
    let mut row = Vec::new();
    let mut predictions = Vec::with_capacity(data.n_rows);
    let mut flat = Vec::with_capacity(data.n_rows * model.n_outputs);
    let mut mismatches = 0;
    for r in 0..data.n_rows {
        data.row_into(r, &mut row);
        core.predict(&row, &mut out)
            .expect("rows have the model's width");
        core.predict_margin(&row, &mut margin)
            .expect("rows have the model's width");
        let ours = model.predict_margin(&row);
        if ours
            .iter()
            .zip(&margin)
            .any(|(a, b)| a.to_bits() != b.to_bits())
        {
            mismatches += 1;
        }
        flat.extend_from_slice(&out);
        predictions.push(out.iter().map(|&v| v as f64).collect::<Vec<f64>>());
    }
    let objective_metric = format!(
        "{} {:.5}",
        model.objective.metric_name(),
        model
            .objective
            .metric(&flat, &data.target, data.weights.as_deref())
    );
    let line = crate::train::summary::metrics_summary(data, predictions, &objective_metric);
    (line, mismatches, data.n_rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotone_parsing() {
        assert_eq!(parse_monotone("(1,0,-1)").unwrap(), vec![1, 0, -1]);
        assert_eq!(parse_monotone("[ 1 , -1 ]").unwrap(), vec![1, -1]);
        assert_eq!(parse_monotone("()").unwrap(), Vec::<i8>::new());
        assert!(parse_monotone("(2)").is_err());
    }
}
