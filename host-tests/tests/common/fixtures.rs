//! The harness shared by the LightGBM and scikit-learn fixture tests: expected-output tables, tolerance scores,
//! the per-fixture outcome and the loop over fixture directories.

use std::path::{Path, PathBuf};

/// An expected-output table: column names and rows of f64 values (full precision), read by
/// [`emkern_host::data::read_csv_f64`].
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

pub fn read_csv(path: &Path) -> Result<Table, String> {
    let t = emkern_host::data::read_csv_f64(path).map_err(|e| e.to_string())?;
    Ok(Table {
        header: t.columns,
        rows: t.rows,
    })
}

pub fn close(got: f64, want: f64, rel: f64, abs: f64) -> bool {
    (got.is_nan() && want.is_nan()) || (got - want).abs() <= rel * want.abs() + abs
}

pub struct Outcome {
    pub rows: usize,
    pub outputs: usize,
    pub trees: usize,
    pub worst_reference: f64,
    pub worst_margin: f64,
    pub worst_pred: f64,
    pub failures: Vec<String>,
}

/// Largest error relative to the tolerance scale `rel·|want| + abs` (≤ 1 passes).
pub fn score(got: f64, want: f64, rel: f64, abs: f64) -> f64 {
    if got.is_nan() && want.is_nan() {
        return 0.0;
    }
    (got - want).abs() / (rel * want.abs() + abs)
}

/// Runs `run_fixture` on every directory under `root` that holds `model_file`, prints one line per fixture, and
/// fails if any fixture fails or none is found.
pub fn run_all(
    framework: &str,
    root: &Path,
    model_file: &str,
    run_fixture: impl Fn(&Path) -> Result<Outcome, String>,
) {
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(root) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join(model_file).is_file())
            .collect(),
        Err(e) => panic!(
            "no {framework} fixtures: cannot read {}: {e}",
            root.display()
        ),
    };
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no {framework} fixtures (directories with {model_file}) under {}",
        root.display()
    );
    let mut failed = Vec::new();
    println!(
        "{:<52} {:>5} {:>4} {:>5} {:>10} {:>10} {:>10}  result",
        "fixture", "rows", "outs", "trees", "ref/tol", "margin/tol", "pred/tol"
    );
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match run_fixture(dir) {
            Ok(o) => {
                let ok = o.failures.is_empty();
                println!(
                    "{name:<52} {:>5} {:>4} {:>5} {:>10.3e} {:>10.3e} {:>10.3e}  {}",
                    o.rows,
                    o.outputs,
                    o.trees,
                    o.worst_reference,
                    o.worst_margin,
                    o.worst_pred,
                    if ok {
                        "ok".to_string()
                    } else {
                        format!("FAIL ({} mismatches)", o.failures.len())
                    }
                );
                if !ok {
                    for f in o.failures.iter().take(5) {
                        println!("    {f}");
                    }
                    failed.push(name);
                }
            }
            Err(e) => {
                println!("{name:<52} FAIL: {e}");
                failed.push(name);
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {framework} fixtures failed: {failed:?}",
        failed.len(),
        dirs.len()
    );
}
