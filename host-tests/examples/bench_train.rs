//! The training benchmark of `emkern_host::bench_train`, as a program: prints the table, and writes the
//! synthetic data for `benches/peers/train_peers.py`.
//!
//! ```sh
//! cargo run --release -p emkern-host --example bench_train -- [--quick] [--write-data DIR] [--json]
//! ```
//!
//! `--write-data DIR` writes `regression_X_train.npy` … `classification_y_test.npy` (the synthetic sets the
//! table uses) and exits; `--json` prints the measurements as one JSON object per line instead of the table.

use std::path::PathBuf;

use emkern_host::bench_train;
use emkern_host::train::dataset::Task;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json = args.iter().any(|a| a == "--json");
    if let Some(i) = args.iter().position(|a| a == "--write-data") {
        let Some(dir) = args.get(i + 1).map(PathBuf::from) else {
            eprintln!("--write-data needs a directory");
            std::process::exit(2);
        };
        let n_train = if quick { 20_000 } else { 200_000 };
        for (task, seed) in [(Task::Regression, 1u64), (Task::Classification, 2)] {
            let s = bench_train::synthetic(task, n_train, 50_000, 50, seed);
            if let Err(e) = bench_train::write_npy(&dir, &format!("{}_", task.name()), &s) {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if json {
        for m in bench_train::measurements(quick) {
            let metrics: serde_json::Map<String, serde_json::Value> = m
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "data": m.data,
                    "threads": m.threads,
                    "seconds": m.seconds,
                    "metrics": metrics,
                })
            );
        }
    } else {
        print!("{}", bench_train::report(quick));
    }
}
