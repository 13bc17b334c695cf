//! QuickScorer beside emkern's batch paths, in the same run: nanoseconds per row·tree of the scalar batch
//! (`Forest::predict_batch`), the SIMD lockstep walker (`Forest::predict_batch_simd`) at every level this CPU has,
//! and QuickScorer row by row, in blocks, with AVX2 and with AVX-512 (`emkern_benches::quickscorer`), all writing margins.
//!
//! ```text
//! cargo run --release -p emkern-benches --example quickscorer -- --write-data DIR [--train N] [--test N]
//! cargo run --release -p emkern-benches --example quickscorer -- --model MODEL --rows DIR/X_test.npy [--repeats 5]
//! ```
//!
//! `--write-data` writes emkern's synthetic classification set (50 standard-normal features,
//! `emkern_host::bench_train::synthetic`, as `train_peers.py` uses it) as NumPy files `X_train.npy`,
//! `y_train.npy`, `X_test.npy`, `y_test.npy` for `benches/peers/quickscorer_models.py` to train on. A model with f64 values
//! (LightGBM) is re-exported with f32 values, as `emkern import --f32` does, since QuickScorer and the SIMD walker
//! score f32 models. Before timing, every engine's margins are checked bit for bit against the scalar batch.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use emkern::forest::Forest;
use emkern_benches::quickscorer::QuickScorer;
use emkern_host::bench::{Timing, seconds_per_call};
use emkern_host::bench_train::{synthetic, write_npy};
use emkern_host::io::npy;
use emkern_host::ir::Precision;
use emkern_host::train::dataset::Task;
use emkern_simd::Simd;

/// Features of the synthetic set.
const N_FEATURES: usize = 50;
/// The synthetic set's seed.
const SEED: u64 = 42;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(dir) = arg(&args, "--write-data") {
        let n_train: usize = arg(&args, "--train").unwrap_or("200000").parse()?;
        let n_test: usize = arg(&args, "--test").unwrap_or("20000").parse()?;
        let data = synthetic(Task::Classification, n_train, n_test, N_FEATURES, SEED);
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir)?;
        write_npy(&dir, "", &data)?;
        println!(
            "wrote {n_train} training and {n_test} test rows to {}",
            dir.display()
        );
        return Ok(());
    }
    let model_path = PathBuf::from(arg(&args, "--model").ok_or("--model MODEL is required")?);
    let rows_path = PathBuf::from(arg(&args, "--rows").ok_or("--rows FILE is required")?);
    let repeats: usize = arg(&args, "--repeats").unwrap_or("5").parse()?;

    let mut loaded = emkern_host::model::load(&model_path)?;
    if let Some(e) = loaded.ensemble.as_mut()
        && e.precision == Precision::F64
    {
        e.precision = Precision::F32;
        loaded.blob = emkern_host::export::blob::write(e)?;
        println!("model has f64 values: re-exported with f32 values (as `emkern import --f32`)");
    }
    let forest = Forest::new(&loaded.blob).map_err(|e| format!("{e:?}"))?;
    let qs = QuickScorer::from_blob(&loaded.blob)?;
    let nf = forest.n_features();
    let rows = npy::read(&rows_path)?.values;
    let n_rows = rows.len() / nf;
    let n_trees = qs.n_trees();
    let leaves_max = (0..n_trees).map(|t| qs.tree_leaves(t)).max().unwrap_or(0);
    println!(
        "{}: {n_trees} trees, {} nodes, at most {leaves_max} leaves a tree; {n_rows} rows × {nf} features",
        model_path.display(),
        qs.n_nodes()
    );

    let false_nodes: usize = rows.chunks_exact(nf).map(|r| qs.false_nodes(r)).sum();
    println!(
        "QuickScorer applies {:.1} masks per row·tree on these rows (a walk visits one node per level)",
        false_nodes as f64 / (n_rows * n_trees) as f64
    );
    let mut words = vec![0u32; forest.simd_plan_len().unwrap_or(0)];
    let plan = match forest.simd_plan(&mut words) {
        Ok(p) => Some(p),
        Err(e) => {
            println!("no SIMD plan ({e}): predict_batch_simd takes the scalar batch path");
            None
        }
    };
    let levels: Vec<Simd> = Simd::available()
        .filter(|s| s.level() != emkern_simd::Level::Scalar)
        .collect();

    // Every engine's margins against the scalar batch's, bit for bit.
    let no = forest.n_outputs();
    let mut want = vec![0.0f32; n_rows * no];
    forest
        .predict_batch(&rows, nf, n_rows, &mut want, true)
        .map_err(|e| format!("{e:?}"))?;
    let mut got = vec![0.0f32; n_rows * no];
    let same = |got: &[f32]| {
        got.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    };
    qs.score(&rows, nf, n_rows, &mut got);
    assert!(same(&got), "QuickScorer differs from predict_batch");
    qs.score_blocked(&rows, nf, n_rows, &mut got);
    assert!(same(&got), "blocked QuickScorer differs from predict_batch");
    if qs.score_avx2(&rows, nf, n_rows, &mut got) {
        assert!(same(&got), "AVX2 QuickScorer differs from predict_batch");
    }
    if qs.score_avx512(&rows, nf, n_rows, &mut got) {
        assert!(same(&got), "AVX-512 QuickScorer differs from predict_batch");
    }
    for &simd in &levels {
        forest
            .predict_batch_simd(simd, plan.as_ref(), &rows, nf, n_rows, &mut got, true)
            .map_err(|e| format!("{e:?}"))?;
        assert!(
            same(&got),
            "predict_batch_simd at {:?} differs",
            simd.level()
        );
    }
    println!("margins: every engine bit-identical to predict_batch on all {n_rows} rows");

    let timing = Timing {
        sample: Duration::from_millis(200),
        samples: 5,
    };
    let per = |secs: f64| secs * 1e9 / (n_rows * n_trees) as f64;
    let mut names: Vec<String> = vec!["batch (scalar)".into()];
    names.extend(
        levels
            .iter()
            .map(|s| format!("batch simd {}", s.level().name())),
    );
    names.extend(["quickscorer".into(), "quickscorer blocked".into()]);
    if QuickScorer::has_avx2() {
        names.push("quickscorer avx2".into());
    }
    if QuickScorer::has_avx512() {
        names.push("quickscorer avx512".into());
    }
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for rep in 0..repeats {
        let mut col = 0;
        let mut record = |secs: f64| {
            results[col].push(per(secs));
            col += 1;
        };
        record(seconds_per_call(timing, || {
            let _ = forest.predict_batch(black_box(&rows), nf, n_rows, &mut got, true);
            black_box(&mut got);
        }));
        for &simd in &levels {
            record(seconds_per_call(timing, || {
                let _ = forest.predict_batch_simd(
                    simd,
                    plan.as_ref(),
                    black_box(&rows),
                    nf,
                    n_rows,
                    &mut got,
                    true,
                );
                black_box(&mut got);
            }));
        }
        record(seconds_per_call(timing, || {
            qs.score(black_box(&rows), nf, n_rows, &mut got);
            black_box(&mut got);
        }));
        record(seconds_per_call(timing, || {
            qs.score_blocked(black_box(&rows), nf, n_rows, &mut got);
            black_box(&mut got);
        }));
        if QuickScorer::has_avx2() {
            record(seconds_per_call(timing, || {
                qs.score_avx2(black_box(&rows), nf, n_rows, &mut got);
                black_box(&mut got);
            }));
        }
        if QuickScorer::has_avx512() {
            record(seconds_per_call(timing, || {
                qs.score_avx512(black_box(&rows), nf, n_rows, &mut got);
                black_box(&mut got);
            }));
        }
        let line: Vec<String> = names
            .iter()
            .zip(&results)
            .map(|(n, r)| format!("{n} {:.3}", r[rep]))
            .collect();
        println!("run {}: {}", rep + 1, line.join(", "));
    }
    println!(
        "\nns per row·tree over {repeats} runs (median [min – max]); ratio = engine / reference, per run"
    );
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let range = |v: &[f64]| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(0.0, f64::max);
        (lo, hi)
    };
    let references: Vec<usize> = (0..=levels.len()).collect();
    for (name, r) in names.iter().zip(&results) {
        let (lo, hi) = range(r);
        let mut line = format!("{name:<22} {:>7.3} [{lo:.3} – {hi:.3}]", median(r));
        for &k in &references {
            let ratios: Vec<f64> = r.iter().zip(&results[k]).map(|(a, b)| a / b).collect();
            let (rlo, rhi) = range(&ratios);
            line += &format!(
                "   ×{:.2} [{rlo:.2}–{rhi:.2}] of {}",
                median(&ratios),
                names[k]
            );
        }
        println!("{line}");
    }
    Ok(())
}
