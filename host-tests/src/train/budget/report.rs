//! `emkern train`'s budget step: picks the selection data, runs the search with a progress bar, checks the
//! fitted blob against the budget, and prints the report (both models' metrics as the `no_std` core computes them
//! from their blobs, what was kept, pruned and narrowed, and what was searched).

use emkern::forest::Forest as CoreForest;

use super::fit_to_budget;
use super::models::Shrink;
use super::select::{Metrics, Selection};
use crate::export::blob;
use crate::ir::{Ensemble, Precision};
use crate::train::config::TrainConfig;
use crate::train::dataset::{Dataset, Task};

/// The core's predictions for the selection rows from `bytes`.
fn core_predictions(bytes: &[u8], sel: &Selection) -> Result<Vec<Vec<f64>>, String> {
    let core = CoreForest::new(bytes).map_err(|e| format!("the fitted blob does not load: {e}"))?;
    let mut out = vec![0.0f32; core.output_len()];
    sel.rows
        .iter()
        .map(|row| {
            core.predict(row, &mut out)
                .map_err(|e| format!("the fitted blob does not predict: {e}"))?;
            Ok(out.iter().map(|&v| v as f64).collect())
        })
        .collect()
}

/// `emkern train`'s budget step: without `--max-bytes`, `model` and its IR unchanged; with it, the fitted model and
/// its IR (at the chosen precision), after printing the report. `to_ir` translates a model into the IR.
pub fn fit<M: Shrink>(
    req: &TrainConfig,
    model: M,
    data: &Dataset,
    valid: Option<&Dataset>,
    to_ir: impl Fn(&M) -> Ensemble + Sync,
) -> Result<(M, Ensemble), Box<dyn std::error::Error>> {
    let Some(budget) = req.max_bytes else {
        if req.budget_metric.is_some() {
            return Err(
                "--budget-metric ranks the candidates of --max-bytes: add --max-bytes".into(),
            );
        }
        let e = to_ir(&model);
        return Ok((model, e));
    };
    if req.budget_metric.is_some() && data.task() == Task::Regression {
        return Err(
            "--budget-metric applies to classification (regressors are ranked by R²)".into(),
        );
    }
    let mut sel = match valid {
        Some(v) => Selection::of(v, "the --valid data"),
        None => {
            let mut s = Selection::of(data, "the training data");
            s.what += " (no --valid given: training metrics favour bigger models)";
            s
        }
    };
    sel.rank = req.budget_metric.unwrap_or_default();
    let bar = crate::progress::bar(
        req.quiet,
        0,
        "  budget    {bar:30} {pos}/{len} pruning levels [{elapsed_precise}, eta {eta}]",
    );
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(t) = req.threads.filter(|&t| t > 0) {
        pool = pool.num_threads(t);
    }
    // The blob carries a classifier's class names after the model: the search sizes the model alone, within
    // what the names leave of the budget.
    let meta = crate::train::output::metadata(data);
    let model_budget = meta.model_budget(budget)?.unwrap_or(0);
    let fitted = pool.build()?.install(|| {
        fit_to_budget(&model, model_budget, &sel, &to_ir, &|done, of| {
            bar.set_length(of as u64);
            bar.set_position(done as u64);
        })
    });
    bar.finish_and_clear();
    let f = match fitted {
        Ok(f) => f,
        Err(mut e) => {
            e.budget = budget;
            e.smallest = meta.blob_bytes(e.smallest)?;
            e.unconstrained = meta.blob_bytes(e.unconstrained)?;
            return Err(e.into());
        }
    };
    let full_bytes = blob::write_with_metadata(&to_ir(&model), &meta)?;
    let fitted_bytes = blob::write_with_metadata(&f.ensemble, &meta)?;
    if fitted_bytes.len() > budget {
        return Err(format!(
            "internal error: the fitted blob takes {} bytes, over the budget of {budget}",
            fitted_bytes.len()
        )
        .into());
    }
    let before: Metrics = sel.metrics(&core_predictions(&full_bytes, &sel)?);
    let fitted_predictions = core_predictions(&fitted_bytes, &sel)?;
    let after = sel.metrics(&fitted_predictions);
    let lost = before.headline() - after.headline();
    crate::say!(
        "  budget    {budget} bytes: unconstrained {} bytes ({before}) → fitted {} bytes ({after}), {} {} {:.4}",
        full_bytes.len(),
        fitted_bytes.len(),
        if lost >= 0.0 { "lost" } else { "gained" },
        before.headline_name(),
        lost.abs()
    );
    let unit = model.unit();
    let mut what = vec![format!(
        "kept {} of {} {unit}{}",
        f.candidate.units,
        f.units,
        if f.units == 1 { "" } else { "s" }
    )];
    if f.alpha > 0.0 {
        what.push(format!(
            "cost-complexity pruned at ccp_alpha {:.3e} ({} of {} leaves removed)",
            f.alpha,
            f.leaves_before - f.leaves_after,
            f.leaves_before
        ));
    } else if model.alphas().len() > 1 {
        what.push("not pruned".into());
    }
    match (f.native, f.ensemble.precision) {
        (Precision::F64, Precision::F32) => {
            let worst = sel
                .rows
                .iter()
                .zip(&fitted_predictions)
                .map(|(row, got)| {
                    let want = f
                        .ensemble
                        .transform_reference(&f.ensemble.margin_reference(row));
                    want.iter()
                        .zip(got)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max)
                })
                .fold(0.0, f64::max);
            what.push(format!(
                "f32 values instead of f64 (predictions move by at most {worst:.1e})"
            ));
        }
        (_, p) => what.push(format!(
            "{} values",
            if p == Precision::F64 { "f64" } else { "f32" }
        )),
    }
    let unchanged =
        f.candidate.units == f.units && f.alpha == 0.0 && f.ensemble.precision == f.native;
    let note = match (full_bytes.len() <= budget, unchanged) {
        (true, true) => "; the unconstrained model fits and is kept",
        (true, false) => "; the unconstrained model fits too, but scores lower there",
        (false, _) => "",
    };
    let mut searched = Vec::new();
    if f.units > 1 {
        searched.push(format!("the first {}..{} {unit}s", f.min_units, f.units));
    }
    if f.levels > 1 {
        searched.push(format!("{} cost-complexity alphas", f.levels));
    }
    searched.push(match f.native {
        Precision::F64 => "f64 or f32 values".to_string(),
        Precision::F32 => "f32 values".to_string(),
    });
    crate::say!(
        "  budget    {}; chosen on {} from {} candidate{} that fit (searched: {}){note}",
        what.join(", "),
        sel.what,
        f.scored,
        if f.scored == 1 { "" } else { "s" },
        searched.join(" × ")
    );
    Ok((f.model, f.ensemble))
}

/// [`fit`] for models some of which cannot be exported (an AdaBoost.R2 weight that overflowed): those are
/// returned with their export error and left for the caller to report.
#[allow(clippy::type_complexity)]
pub fn fit_exportable<M: Shrink, E>(
    req: &TrainConfig,
    model: M,
    data: &Dataset,
    valid: Option<&Dataset>,
    to_ir: impl Fn(&M) -> Result<Ensemble, E> + Sync,
) -> Result<(M, Result<Ensemble, E>), Box<dyn std::error::Error>> {
    let full = to_ir(&model);
    if full.is_err() {
        return Ok((model, full));
    }
    let (m, e) = fit(req, model, data, valid, |m| match to_ir(m) {
        Ok(e) => e,
        Err(_) => unreachable!("a prefix of an exportable model exports"),
    })?;
    Ok((m, Ok(e)))
}
