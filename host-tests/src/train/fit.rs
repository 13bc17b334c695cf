//! Fitting from a [`TrainConfig`]: the forest trainer driven by the shared options, with a progress bar.

use super::cart::TreeParams;
use super::config::{Algo, TrainConfig};
use super::dataset::Dataset;
use super::forest::{Forest, ForestKind, ForestParams, MaxSamples};

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

/// Trains a forest with a progress bar (trees built / total).
pub(crate) fn train_forest(
    req: &TrainConfig,
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
