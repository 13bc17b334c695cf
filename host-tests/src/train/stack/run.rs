//! A training run with `--algo stack`: fits the base models on cross-validation folds, the meta-model on their
//! out-of-fold outputs, refits the bases on all rows, writes the combined model as one `.emk` blob, and reports
//! each base's metrics next to the stack's (computed by the `no_std` core from the exported blobs).

use crate::output::Outputs;
use crate::train::RunResult;
use std::time::Instant;

use emkern::forest::Forest as CoreForest;

use super::base;
use super::combine::{self, StackBase};
use super::folds;
use super::meta::{self, LinearMeta};
use crate::export::blob;
use crate::ir::Ensemble;
use crate::train::boost::run::metrics_line;
use crate::train::config::{Algo, TrainConfig};
use crate::train::dataset::{Dataset, Task};

/// The default bases.
pub const DEFAULT_BASES: [Algo; 2] = [Algo::Rf, Algo::HistGbdt];

/// Refuses stack flags with other algorithms.
pub fn check_flags(req: &TrainConfig) -> Result<(), String> {
    if req.algo == Algo::Stack {
        return Ok(());
    }
    let s = &req.stack;
    for (flag, given) in [
        ("--base", !s.base.is_empty()),
        ("--cv", s.cv.is_some()),
        ("--meta-c", s.meta_c.is_some()),
    ] {
        if given {
            return Err(format!("{flag} applies to --algo stack"));
        }
    }
    Ok(())
}

/// A fitted stack: the bases refitted on all rows, the meta-model, and what the out-of-fold fit saw.
#[derive(Clone, Debug)]
pub struct Stack {
    /// The bases, in `--base` order.
    pub bases: Vec<StackBase>,
    /// The meta-model over the bases' concatenated inputs.
    pub meta: LinearMeta,
    /// Each base's out-of-fold predictions (its own transform applied), one row per training row.
    pub oof_predictions: Vec<Vec<Vec<f64>>>,
    /// The test fold of every training row.
    pub folds: Vec<usize>,
    /// Each base's feature importances, from its trainer (see [`base::train_with_importances`]).
    pub base_importances: Vec<Vec<f64>>,
    /// The standard deviation of every meta-model input over the out-of-fold rows, in input order.
    pub input_sd: Vec<f64>,
}

impl Stack {
    /// The stack's prediction for `row` computed in f64 from the bases and the meta-model.
    pub fn predict_reference(&self, row: &[f32]) -> Vec<f64> {
        combine::predict_reference(&self.bases, &self.meta, row)
    }

    /// How much of the meta-model's margin each base carries: for base `b`, the sum over the meta-model's
    /// margins `o` and the base's inputs `i` of `|coef[o][i]| · sd_i`, where `sd_i` is the standard deviation of
    /// input `i` over the out-of-fold rows (the spread of the margin that input moves it by: a raw coefficient
    /// alone would depend on the input's scale, probabilities against boosting margins); divided by the total
    /// over the bases, so the shares sum to 1 (all 0 when every weight is 0).
    pub fn base_shares(&self) -> Vec<f64> {
        let mut shares = Vec::with_capacity(self.bases.len());
        let mut at = 0;
        for b in &self.bases {
            let n = b.map.len();
            let s: f64 = self
                .meta
                .coef
                .iter()
                .map(|w| {
                    (at..at + n)
                        .map(|i| w[i].abs() * self.input_sd[i])
                        .sum::<f64>()
                })
                .sum();
            shares.push(s);
            at += n;
        }
        let total: f64 = shares.iter().sum();
        if total > 0.0 {
            shares.iter_mut().for_each(|s| *s /= total);
        }
        shares
    }

    /// The stacked model's feature importances: each base's own importances (shares summing to 1: impurity
    /// decrease, or gain for hist-gbdt) weighted by the base's [share of the meta-model's margin](Self::base_shares),
    /// `I(f) = Σ_b share_b · I_b(f)`, normalized to sum to 1. A feature matters to the stack as much as it matters
    /// to the bases the meta-model leans on.
    pub fn feature_importances(&self) -> Vec<f64> {
        let n = self.base_importances.first().map_or(0, Vec::len);
        let mut imp = vec![0.0; n];
        for (share, base) in self.base_shares().iter().zip(&self.base_importances) {
            for (a, v) in imp.iter_mut().zip(base) {
                *a += share * v;
            }
        }
        let total: f64 = imp.iter().sum();
        if total > 0.0 {
            imp.iter_mut().for_each(|a| *a /= total);
        }
        imp
    }

    /// The combined model (see [`combine::combine`]).
    pub fn to_ensemble(
        &self,
        feature_names: Option<Vec<String>>,
        source: &str,
    ) -> Result<Ensemble, String> {
        combine::combine(&self.bases, &self.meta, feature_names, source)
    }
}

/// The stack's settings after defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct StackSettings {
    /// Base algorithms, in order.
    pub bases: Vec<Algo>,
    /// Folds.
    pub cv: usize,
    /// The meta-model's C.
    pub meta_c: f64,
    /// The fold shuffle seed.
    pub seed: u32,
}

/// Why `--max-bytes` (and `--budget-metric`) are refused with `--algo stack`, and what to do instead.
///
/// Shrinking a fitted stack to a budget would mean shrinking its bases (fewer rounds or trees, pruned trees),
/// but the meta-model's weights were fitted on the out-of-fold outputs of the full bases: kept as they are, they
/// weigh models they were not fitted for; refitted, they would need out-of-fold outputs of every shrunken
/// candidate of every base (each fold's models shrunk the same way) and one meta-model fit per combination of
/// candidates, which this trainer does not do. The stack's size is set by its bases' flags instead.
pub const STACK_BUDGET_REFUSED: &str = "--max-bytes does not apply to --algo stack: the meta-model's weights \
     are fitted on the out-of-fold outputs of the full bases, so shrinking the bases after the fit would leave \
     weights fitted for other models. Bound the stack's size through its bases instead (--n-estimators, \
     --max-depth, --max-leaf-nodes or --max-leaves; the blob's size is printed), or train a single model with \
     --max-bytes";

/// Checks the stack flags against the data and fills in defaults.
pub fn settings(req: &TrainConfig, data: &Dataset) -> Result<StackSettings, String> {
    let bases = if req.stack.base.is_empty() {
        DEFAULT_BASES.to_vec()
    } else {
        req.stack.base.clone()
    };
    for (i, a) in bases.iter().enumerate() {
        base::check_supported(*a, data.task())?;
        if bases[..i].contains(a) {
            return Err(format!(
                "--base lists {} twice (the same algorithm with the same flags fits the same model)",
                a.id()
            ));
        }
    }
    let unused = base::unused_flags(req, &bases);
    if !unused.is_empty() {
        return Err(format!(
            "{} applies to none of the bases ({})",
            unused.join(", "),
            bases.iter().map(|a| a.id()).collect::<Vec<_>>().join(", ")
        ));
    }
    if req.oob {
        return Err("--oob does not apply to --algo stack".into());
    }
    if req.max_bytes.is_some() || req.budget_metric.is_some() {
        return Err(STACK_BUDGET_REFUSED.into());
    }
    if req.hist.early_stopping_rounds.is_some() {
        return Err(
            "--early-stopping-rounds does not apply to --algo stack (the bases never see the --valid data)"
                .into(),
        );
    }
    let meta_c = req.stack.meta_c.unwrap_or(1.0);
    if meta_c.is_nan() || meta_c <= 0.0 {
        return Err(format!(
            "--meta-c {meta_c}: expected a positive number (inf for no penalty)"
        ));
    }
    // The folds' shuffle is scikit-learn's with `random_state = seed`.
    let seed = req.random_state()?;
    Ok(StackSettings {
        bases,
        cv: req.stack.cv.unwrap_or(5),
        meta_c,
        seed,
    })
}

/// Fits a stack on `data`. `progress(step, total, what)` is called before each base fit.
pub fn fit(
    req: &TrainConfig,
    s: &StackSettings,
    data: &Dataset,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<Stack, String> {
    let fold = folds::assign(data, s.cv, s.seed)?;
    let classes = data.schema.classes.as_deref();
    let total = s.bases.len() * (s.cv + 1);
    let mut step = 0;
    let mut oof_inputs: Vec<Vec<Vec<f64>>> = vec![Vec::new(); data.n_rows];
    let mut oof_predictions = vec![vec![Vec::new(); data.n_rows]; s.bases.len()];
    let mut row = Vec::new();
    for f in 0..s.cv {
        let train_rows: Vec<usize> = (0..data.n_rows).filter(|&r| fold[r] != f).collect();
        let test_rows: Vec<usize> = (0..data.n_rows).filter(|&r| fold[r] == f).collect();
        let part = folds::subset(data, &train_rows);
        for (b, &algo) in s.bases.iter().enumerate() {
            progress(
                step,
                total,
                &format!("fold {}/{}: {}", f + 1, s.cv, algo.id()),
            );
            step += 1;
            let e = base::train(&base::request_for(req, algo), algo, &part)?;
            let sb = base::stack_base(algo, e, classes)?;
            for &r in &test_rows {
                data.row_into(r, &mut row);
                let m = sb.ensemble.margin_reference(&row);
                oof_inputs[r].push(sb.apply_map(&m));
                oof_predictions[b][r] = sb.ensemble.transform_reference(&m);
            }
        }
    }
    let mut bases = Vec::with_capacity(s.bases.len());
    let mut base_importances = Vec::with_capacity(s.bases.len());
    for &algo in &s.bases {
        progress(step, total, &format!("all rows: {}", algo.id()));
        step += 1;
        let (e, imp) = base::train_with_importances(&base::request_for(req, algo), algo, data)?;
        bases.push(base::stack_base(algo, e, classes)?);
        base_importances.push(imp);
    }
    progress(step, total, "meta-model");
    let p: usize = bases.iter().map(|b| b.map.len()).sum();
    let x: Vec<f64> = oof_inputs.into_iter().flatten().flatten().collect();
    let input_sd: Vec<f64> = (0..p)
        .map(|i| {
            let n = data.n_rows.max(1) as f64;
            let mean = (0..data.n_rows).map(|r| x[r * p + i]).sum::<f64>() / n;
            ((0..data.n_rows)
                .map(|r| (x[r * p + i] - mean).powi(2))
                .sum::<f64>()
                / n)
                .sqrt()
        })
        .collect();
    let w = data.weights.as_deref();
    let meta = match data.task() {
        Task::Classification => {
            meta::fit_logistic(&x, p, &data.class_indices(), data.n_classes(), w, s.meta_c)
        }
        Task::Regression => meta::fit_ridge(&x, p, &data.target, w, s.meta_c),
    }
    .map_err(|e| format!("meta-model: {e}"))?;
    Ok(Stack {
        bases,
        meta,
        oof_predictions,
        folds: fold,
        base_importances,
        input_sd,
    })
}

/// Runs `emkern train --algo stack` on loaded data.
pub fn run(req: &TrainConfig, data: &Dataset, valid: Option<&Dataset>, out: &Outputs) -> RunResult {
    let s = settings(req, data)?;
    let task = data.task();
    crate::train::summary::print_start("stacking", &req.data, data);
    let meta_name = match task {
        Task::Classification => format!("logistic regression (C={})", s.meta_c),
        Task::Regression => format!("ridge regression (alpha=1/C, C={})", s.meta_c),
    };
    crate::say!(
        "  stack     bases {}; meta-model {meta_name} on {}-fold {}out-of-fold outputs (fold seed {})",
        base_names(&s.bases),
        s.cv,
        if task == Task::Classification {
            "stratified "
        } else {
            ""
        },
        s.seed
    );
    if let Some(classes) = &data.schema.classes {
        let labels = data.class_indices();
        let counts: Vec<usize> = (0..classes.len())
            .map(|c| labels.iter().filter(|&&y| y == c).count())
            .collect();
        let largest = counts.iter().copied().max().unwrap_or(0);
        if let Some((c, &n)) = counts.iter().enumerate().min_by_key(|(_, n)| **n)
            && n < s.cv
            && largest >= s.cv
        {
            crate::say!(
                "  warning   class {} has {n} training rows, fewer than the {} folds: some test folds hold none of \
                 its rows (scikit-learn warns likewise)",
                classes[c],
                s.cv
            );
        }
    }
    let bar = crate::progress::bar(
        req.quiet,
        0,
        "  training {bar:30} {pos}/{len} base fits  {msg} [{elapsed_precise}, eta {eta}]",
    );
    let start = Instant::now();
    let stack = fit(req, &s, data, &mut |step, total, what| {
        bar.set_length(total as u64);
        bar.set_position(step as u64);
        bar.set_message(what.to_string());
    });
    bar.finish_and_clear();
    let stack = stack?;
    let seconds = start.elapsed().as_secs_f64();
    let source = format!(
        "emkern-host {} train: stacking ({}; meta {meta_name}, cv={}, seed={})",
        env!("CARGO_PKG_VERSION"),
        base_names(&s.bases),
        s.cv,
        s.seed
    );
    let ensemble = stack.to_ensemble(Some(data.schema.feature_names.clone()), &source)?;
    let bytes = crate::train::output::write_model(req, &ensemble, data, out)?;
    let core = crate::train::output::load_exported(req, &bytes)?;
    let sum = core.summary();
    let meta_fit = match task {
        Task::Classification => format!(
            "meta-model in {} Newton step{}",
            stack.meta.iterations,
            if stack.meta.iterations == 1 { "" } else { "s" }
        ),
        Task::Regression => "meta-model in closed form".to_string(),
    };
    crate::say!(
        "  trained   {} base fits in {seconds:.3} s; {meta_fit}",
        s.bases.len() * (s.cv + 1),
    );
    crate::say!(
        "  bases     (oof: out-of-fold on the training rows; train, valid: refitted on all rows)"
    );
    let mut base_rows = Vec::new();
    for (b, sb) in stack.bases.iter().enumerate() {
        let oof = &stack.oof_predictions[b];
        let mut i = 0;
        let line = metrics_line(data, |_| {
            i += 1;
            oof[i - 1].clone()
        });
        crate::say!("    {:<11} oof   {line}", sb.name);
        base_rows.push((format!("oof ({})", sb.name), line));
        let b_bytes = blob::write(&sb.ensemble)?;
        let b_core = CoreForest::new(&b_bytes)
            .map_err(|e| format!("base {}: the exported blob does not load: {e}", sb.name))?;
        let line = metrics_line(data, |row| core_predict(&b_core, row));
        crate::say!("    {:<11} train {line}", "");
        base_rows.push((format!("train ({})", sb.name), line));
        if let Some(v) = valid {
            let line = metrics_line(v, |row| core_predict(&b_core, row));
            crate::say!("    {:<11} valid {line}", "");
            base_rows.push((format!("valid ({})", sb.name), line));
        }
    }
    print_meta(&stack);
    let mut worst = 0.0f64;
    let scored = |d: &Dataset| {
        metrics_line(d, |row| {
            let got = core_predict(&core, row);
            for (a, b) in got.iter().zip(stack.predict_reference(row)) {
                worst = worst.max((a - b).abs() / b.abs().max(1.0));
            }
            got
        })
    };
    let printed = crate::train::summary::print_scores(data, valid, scored);
    crate::say!(
        "  core      max |core − meta(bases)| / max(1, |meta(bases)|) = {worst:.1e} over the {} rows (f32 \
         output)",
        if valid.is_some() {
            "training and validation"
        } else {
            "training"
        }
    );
    crate::say!(
        "  blob      {}: {} bytes, {} trees, {} nodes ({} leaves, {} value{} each), worst case {} node visits per row",
        req.output.display(),
        sum.blob_bytes,
        sum.trees,
        sum.nodes + sum.leaves,
        sum.leaves,
        sum.leaf_width,
        if sum.leaf_width == 1 { "" } else { "s" },
        crate::describe::Cost::of(&core).node_visits
    );
    if let Some(path) = &req.hist.xgboost_json {
        crate::train::output::write_xgboost_json(path, &ensemble, data, valid, out)?;
    }
    let importances = stack.feature_importances();
    crate::train::summary::print_top_features(
        &data.schema.feature_names,
        &importances,
        " (the bases' importances weighted by their share of the meta-model's margin)",
    );
    let shares = stack.base_shares();
    let report = crate::train::report::run::StackReport {
        bases: s
            .bases
            .iter()
            .map(|a| a.id())
            .collect::<Vec<_>>()
            .join(", "),
        cv: format!(
            "{} folds{}, fold seed {}",
            s.cv,
            if task == Task::Classification {
                ", stratified"
            } else {
                ""
            },
            s.seed
        ),
        meta_model: format!(
            "{meta_name}, fitted {}",
            meta_fit.trim_start_matches("meta-model ")
        ),
        meta_weights: meta_lines(&stack),
        base_shares: stack
            .bases
            .iter()
            .zip(&shares)
            .map(|(b, s)| format!("{} {s:.3}", b.name))
            .collect::<Vec<_>>()
            .join(", "),
        base_fits: s.bases.len() * (s.cv + 1),
        trees: sum.trees,
        nodes: sum.nodes + sum.leaves,
        base_rows,
        importances,
    };
    crate::train::report::run::Run {
        outputs: out,
        req,
        data,
        valid,
        parameters: source.clone(),
        seconds,
        threads: crate::train::fit::threads_used(
            req.threads,
            s.bases
                .iter()
                .any(|a| matches!(a, Algo::Rf | Algo::ExtraTrees)),
        ),
        blob: Ok((req.output.display().to_string(), sum.blob_bytes)),
        printed,
    }
    .stack(&report)?;
    Ok(())
}

fn core_predict(core: &CoreForest, row: &[f32]) -> Vec<f64> {
    let mut out = vec![0.0f32; core.output_len()];
    core.predict(row, &mut out)
        .expect("rows have the model's width");
    out.iter().map(|&v| v as f64).collect()
}

/// The meta-model's weights, one line per margin: `intercept +0.1234; rf 1 +2.0000, …`, prefixed by
/// `margin o: ` when there are several.
fn meta_lines(stack: &Stack) -> Vec<String> {
    let labels: Vec<String> = stack
        .bases
        .iter()
        .flat_map(|b| b.inputs.iter().map(move |i| format!("{} {i}", b.name)))
        .collect();
    let n = stack.meta.coef.len();
    stack
        .meta
        .coef
        .iter()
        .zip(&stack.meta.intercept)
        .enumerate()
        .map(|(o, (w, c))| {
            let terms: Vec<String> = labels
                .iter()
                .zip(w)
                .map(|(l, w)| format!("{l} {w:+.4}"))
                .collect();
            format!(
                "{}intercept {c:+.4}; {}",
                if n > 1 {
                    format!("margin {o}: ")
                } else {
                    String::new()
                },
                terms.join(", ")
            )
        })
        .collect()
}

/// Prints the meta-model's weights, one line per margin.
fn print_meta(stack: &Stack) {
    for line in meta_lines(stack) {
        crate::say!("  meta      {line}");
    }
}

/// The bases' `--base` names, comma-separated.
fn base_names(bases: &[Algo]) -> String {
    bases.iter().map(|a| a.id()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Aggregate, Compare, Node, Precision, Transform, Tree};
    use crate::train::stack::meta::Link;

    fn base(name: &str, inputs: usize) -> StackBase {
        StackBase {
            name: name.into(),
            ensemble: Ensemble {
                n_features: 3,
                n_outputs: 1,
                trees: vec![Tree {
                    nodes: vec![Node::Leaf(vec![0.0])],
                    output: Some(0),
                    weight: 1.0,
                }],
                base_margin: vec![0.0],
                compare: Compare::LessEqual,
                aggregate: Aggregate::Sum,
                transform: Transform::Identity,
                precision: Precision::F64,
                feature_names: None,
                source: String::new(),
                input_f64: false,
            },
            map: vec![vec![1.0]; inputs],
            inputs: (0..inputs).map(|i| i.to_string()).collect(),
        }
    }

    #[test]
    fn importances_weigh_bases_by_their_share_of_the_margin() {
        // Base a: one input, weight −2 (sign ignored), spread 0.5 → 1. Base b: two inputs over two margins,
        // |w|·sd = (1·1 + 0·4) + (0.5·1 + 0.5·4) = 3.5, so shares 1/4.5 and 3.5/4.5.
        let stack = Stack {
            bases: vec![base("a", 1), base("b", 2)],
            meta: LinearMeta {
                coef: vec![vec![-2.0, 1.0, 0.0], vec![0.0, -0.5, 0.5]],
                intercept: vec![0.0, 0.0],
                link: Link::Softmax,
                iterations: 0,
            },
            oof_predictions: Vec::new(),
            folds: Vec::new(),
            base_importances: vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.25, 0.75]],
            input_sd: vec![0.5, 1.0, 4.0],
        };
        let shares = stack.base_shares();
        assert!((shares[0] - 1.0 / 4.5).abs() < 1e-15 && (shares[1] - 3.5 / 4.5).abs() < 1e-15);
        let imp = stack.feature_importances();
        let want = [1.0 / 4.5, 3.5 / 4.5 * 0.25, 3.5 / 4.5 * 0.75];
        for (g, w) in imp.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{imp:?}");
        }
        // No weight at all: every share and importance is 0, not NaN.
        let mut flat = stack.clone();
        flat.meta.coef = vec![vec![0.0; 3]; 2];
        assert_eq!(flat.base_shares(), [0.0, 0.0]);
        assert_eq!(flat.feature_importances(), [0.0, 0.0, 0.0]);
    }
}
