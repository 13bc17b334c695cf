//! Training benchmark of the histogram booster ([`crate::train::hist`]): time and test quality on synthetic
//! regression and classification data (200 000 × 50 by default) and on a bundled real dataset, on one thread and
//! on every core.
//!
//! The synthetic data ([`synthetic`]) is fully specified by its seed (SplitMix64 draws, Box–Muller normals), so
//! peers can be timed on the very same rows: [`write_npy`] writes them as NumPy files, which
//! `benches/peers/train_peers.py` reads to time XGBoost's `hist` method and LightGBM beside this report, in the
//! same run, with the same parameters.
//!
//! The parameters are XGBoost's defaults except the learning rate: 100 rounds, depth 6, `eta` 0.1, `lambda` 1,
//! `min_child_weight` 1, 256 bins. Times include binning (quantiles and the bin matrix), as the peers' include
//! theirs (building a `DMatrix`/`Dataset`).

use std::path::Path;
use std::time::Instant;

use crate::train::dataset::{Dataset, FeatureKind, Schema, Task};
use crate::train::hist::{HistBooster, HistParams};
use crate::train::rng::SplitMix64;

/// A synthetic training and test set.
#[derive(Clone, Debug)]
pub struct Synthetic {
    /// Training rows.
    pub train: Dataset,
    /// Test rows (same distribution, later draws).
    pub test: Dataset,
}

/// The benchmark's parameters: XGBoost's defaults with `eta` 0.1 and 100 rounds.
pub fn params(threads: usize) -> HistParams {
    HistParams {
        n_estimators: 100,
        eta: 0.1,
        max_depth: 6,
        threads: Some(threads),
        ..HistParams::default()
    }
}

/// A standard normal draw (Box–Muller, the cosine branch).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = 1.0 - rng.next_f64();
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The synthetic generator: features i.i.d. N(0, 1) (stored as `f32`, row by row); the signal
/// `s = Σ_{j<10} (j + 1)/10 · (−1)^j · x_j + sin(2 x₁₀) + x₁₁ x₁₂ + |x₁₃|` (with `n_features ≥ 14`, unused terms
/// dropped otherwise). Regression: `y = s + 0.5 ε`; classification: `y = 1` with probability `σ(s)`. The first
/// `n_train` rows are the training set, the next `n_test` the test set.
pub fn synthetic(
    task: Task,
    n_train: usize,
    n_test: usize,
    n_features: usize,
    seed: u64,
) -> Synthetic {
    let mut rng = SplitMix64::new(seed);
    let n = n_train + n_test;
    let mut rows = vec![0.0f32; n * n_features];
    let mut target = Vec::with_capacity(n);
    for r in 0..n {
        let x = &mut rows[r * n_features..(r + 1) * n_features];
        for v in x.iter_mut() {
            *v = normal(&mut rng) as f32;
        }
        let xf = |j: usize| x.get(j).map_or(0.0, |&v| v as f64);
        let mut s = 0.0;
        for j in 0..10 {
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            s += (j + 1) as f64 / 10.0 * sign * xf(j);
        }
        s += (2.0 * xf(10)).sin() + xf(11) * xf(12) + xf(13).abs();
        let y = match task {
            Task::Regression => s + 0.5 * normal(&mut rng),
            Task::Classification => {
                let p = 1.0 / (1.0 + (-s).exp());
                if rng.next_f64() < p { 1.0 } else { 0.0 }
            }
        };
        target.push(y);
    }
    let schema = Schema {
        feature_names: (0..n_features).map(|j| format!("x{j}")).collect(),
        kinds: vec![FeatureKind::Numeric; n_features],
        target_name: "y".into(),
        weight_name: None,
        classes: match task {
            Task::Classification => Some(vec!["0".into(), "1".into()]),
            Task::Regression => None,
        },
    };
    let split = |range: std::ops::Range<usize>| {
        let columns: Vec<Vec<f32>> = (0..n_features)
            .map(|f| range.clone().map(|r| rows[r * n_features + f]).collect())
            .collect();
        let mut d = Dataset::from_columns(schema.clone(), columns, target[range].to_vec(), None)
            .expect("the generator's columns have the target's length");
        d.source = format!("synthetic {} (seed {seed})", task.name());
        d
    };
    Synthetic {
        train: split(0..n_train),
        test: split(n_train..n),
    }
}

/// Writes `X_train.npy`, `y_train.npy`, `X_test.npy`, `y_test.npy` (features `f32` row-major, targets `f64`)
/// with prefix `prefix` into `dir`.
pub fn write_npy(dir: &Path, prefix: &str, s: &Synthetic) -> Result<(), String> {
    for (name, d) in [("train", &s.train), ("test", &s.test)] {
        let x = dir.join(format!("{prefix}X_{name}.npy"));
        crate::io::npy::write_f32(&x, &[d.n_rows, d.n_features()], &d.rows_row_major())
            .map_err(|e| format!("{}: {e}", x.display()))?;
        let y = dir.join(format!("{prefix}y_{name}.npy"));
        crate::io::npy::write_f64(&y, &[d.n_rows], &d.target)
            .map_err(|e| format!("{}: {e}", y.display()))?;
    }
    Ok(())
}

/// One timed training run.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The data (`regression 200000x50`, …).
    pub data: String,
    /// Threads used.
    pub threads: usize,
    /// Wall time of training (binning included), seconds: the best of the repetitions.
    pub seconds: f64,
    /// Test metrics: `(name, value)`.
    pub metrics: Vec<(String, f64)>,
}

/// Test metrics of a model: RMSE for regression; log-loss and accuracy for classification.
fn quality(model: &HistBooster, test: &Dataset) -> Vec<(String, f64)> {
    let mut row = Vec::new();
    let mut se = 0.0;
    let mut ll = 0.0;
    let mut correct = 0usize;
    for r in 0..test.n_rows {
        test.row_into(r, &mut row);
        let p = model.predict(&row)[0] as f64;
        let y = test.target[r];
        match test.task() {
            Task::Regression => se += (p - y) * (p - y),
            Task::Classification => {
                let pc = p.clamp(1e-15, 1.0 - 1e-15);
                ll -= y * pc.ln() + (1.0 - y) * (1.0 - pc).ln();
                if (p > 0.5) == (y == 1.0) {
                    correct += 1;
                }
            }
        }
    }
    let n = test.n_rows as f64;
    match test.task() {
        Task::Regression => vec![("rmse".into(), (se / n).sqrt())],
        Task::Classification => vec![
            ("logloss".into(), ll / n),
            ("accuracy".into(), correct as f64 / n),
        ],
    }
}

/// Trains `repeats` times on `threads` threads and keeps the fastest run.
pub fn measure(
    name: &str,
    train: &Dataset,
    test: &Dataset,
    threads: usize,
    repeats: usize,
) -> Measurement {
    let p = params(threads);
    let mut best = f64::INFINITY;
    let mut model = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let m = HistBooster::train(train, None, &p, &|_| {}).expect("the benchmark data trains");
        best = best.min(t.elapsed().as_secs_f64());
        model = Some(m);
    }
    let model = model.expect("at least one run");
    Measurement {
        data: name.to_string(),
        threads,
        seconds: best,
        metrics: quality(&model, test),
    }
}

/// Every measurement of the report: synthetic regression and classification (200 000 × 50, or 20 000 × 50 with
/// `quick`) and the bundled breast-cancer split, on one thread and on every core.
pub fn measurements(quick: bool) -> Vec<Measurement> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n_train = if quick { 20_000 } else { 200_000 };
    let mut out = Vec::new();
    for (task, seed) in [(Task::Regression, 1u64), (Task::Classification, 2)] {
        let s = synthetic(task, n_train, 50_000, 50, seed);
        let name = format!("{} {n_train}x50", task.name());
        for threads in [1, cores] {
            out.push(measure(
                &name,
                &s.train,
                &s.test,
                threads,
                if quick { 1 } else { 2 },
            ));
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let spec = crate::train::dataset::DatasetSpec {
        target: "label".into(),
        task: Some(Task::Classification),
        ..Default::default()
    };
    if let (Ok(train), Some(test)) = (
        Dataset::from_csv(&dir.join("breast_cancer_train.csv"), &spec),
        Dataset::from_csv(&dir.join("breast_cancer_train.csv"), &spec)
            .ok()
            .and_then(|t| {
                Dataset::from_csv_like(&dir.join("breast_cancer_test.csv"), &t.schema).ok()
            }),
    ) {
        for threads in [1, cores] {
            out.push(measure("breast_cancer 398x30", &train, &test, threads, 5));
        }
    }
    out
}

/// The benchmark as a table (see the module documentation).
pub fn report(quick: bool) -> String {
    let rows = measurements(quick);
    let mut s = String::from(
        "emkern hist-gbdt training: 100 rounds, depth 6, eta 0.1, 256 bins (binning included)\n",
    );
    s += &format!(
        "{:<28} {:>7} {:>10}  {}\n",
        "data", "threads", "seconds", "test quality"
    );
    for m in &rows {
        let q: Vec<String> = m
            .metrics
            .iter()
            .map(|(k, v)| format!("{k} {v:.5}"))
            .collect();
        s += &format!(
            "{:<28} {:>7} {:>10.3}  {}\n",
            m.data,
            m.threads,
            m.seconds,
            q.join("  ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_learnable() {
        let a = synthetic(Task::Classification, 500, 100, 20, 7);
        let b = synthetic(Task::Classification, 500, 100, 20, 7);
        assert_eq!(a.train, b.train);
        assert_eq!(a.test.n_rows, 100);
        let pos = a.train.target.iter().filter(|&&y| y == 1.0).count();
        assert!(pos > 150 && pos < 350, "{pos}");
        let m = measure("t", &a.train, &a.test, 1, 1);
        assert!(m.metrics[1].1 > 0.6, "{m:?}");
    }
}
