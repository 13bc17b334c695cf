//! The harness shared by the LightGBM and scikit-learn fixture tests: expected-output tables, tolerance scores,
//! the per-fixture outcome and the loop over fixture directories.

use std::path::{Path, PathBuf};

use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::io;
use emkern_host::ir::Ensemble;

/// An expected-output table: column names and rows of f64 values (full precision), read by
/// [`emkern_host::io::read_csv_f64`].
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

pub fn read_csv(path: &Path) -> Result<Table, String> {
    let t = emkern_host::io::read_csv_f64(path).map_err(|e| e.to_string())?;
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

/// Relative tolerance of the core's f32 outputs against the framework's f64 numbers.
pub const REL: f64 = 1e-5;
/// Absolute slack for values near zero.
pub const ABS: f64 = 1e-7;
/// Relative tolerance of the IR's f64 reference evaluation (only summation order differs from the framework).
pub const REL_REFERENCE: f64 = 1e-9;

/// Checks one imported fixture: exports `ensemble`, loads the blob in the core, and holds the IR's reference
/// margins, the core's margins and the core's predictions for every row of `input.csv` against the framework's
/// `margin.csv` (multiplied by `margin_factor`) and `pred.csv`.
pub fn check_fixture(
    framework: &str,
    dir: &Path,
    ensemble: &Ensemble,
    margin_factor: f64,
) -> Result<Outcome, String> {
    let bytes = blob::write(ensemble).map_err(|e| format!("export: {e}"))?;
    let forest = Forest::new(&bytes).map_err(|e| format!("blob: {e:?}"))?;
    let input = io::read_csv(&dir.join("input.csv")).map_err(|e| e.to_string())?;
    let margin = read_csv(&dir.join("margin.csv"))?;
    let pred = read_csv(&dir.join("pred.csv"))?;
    let n_out = ensemble.n_outputs as usize;
    let out_len = ensemble.output_len();
    if input.columns.len() < ensemble.n_features as usize {
        return Err(format!(
            "input.csv has {} columns, the model reads {}",
            input.columns.len(),
            ensemble.n_features
        ));
    }
    if margin.header.len() != n_out || pred.header.len() != out_len {
        return Err(format!(
            "margin.csv/pred.csv have {}/{} columns, the model has {n_out} margins and {out_len} predictions",
            margin.header.len(),
            pred.header.len()
        ));
    }
    if margin.rows.len() != input.rows || pred.rows.len() != input.rows {
        return Err("input.csv, margin.csv and pred.csv differ in row count".into());
    }
    let mut o = Outcome {
        rows: input.rows,
        outputs: n_out,
        trees: ensemble.trees.len(),
        worst_reference: 0.0,
        worst_margin: 0.0,
        worst_pred: 0.0,
        failures: Vec::new(),
    };
    let mut m = vec![0f32; n_out];
    let mut p = vec![0f32; out_len];
    for r in 0..input.rows {
        let x = input.row(r);
        let reference = ensemble.margin_reference(x);
        forest
            .predict_margin(x, &mut m)
            .map_err(|e| format!("predict_margin: {e:?}"))?;
        forest
            .predict(x, &mut p)
            .map_err(|e| format!("predict: {e:?}"))?;
        for k in 0..n_out {
            let want = margin.rows[r][k] * margin_factor;
            let s = score(reference[k], want, REL_REFERENCE, 1e-12);
            o.worst_reference = o.worst_reference.max(s);
            if !close(reference[k], want, REL_REFERENCE, 1e-12) {
                o.failures.push(format!(
                    "row {r}, margin {k}: IR reference {} vs {framework} {want}",
                    reference[k]
                ));
            }
            o.worst_margin = o.worst_margin.max(score(m[k] as f64, want, REL, ABS));
            if !close(m[k] as f64, want, REL, ABS) {
                o.failures.push(format!(
                    "row {r}, margin {k}: core {} vs {framework} {want}",
                    m[k]
                ));
            }
        }
        for (k, &got) in p.iter().enumerate() {
            let want = pred.rows[r][k];
            o.worst_pred = o.worst_pred.max(score(got as f64, want, REL, ABS));
            if !close(got as f64, want, REL, ABS) {
                o.failures.push(format!(
                    "row {r}, prediction {k}: core {got} vs {framework} {want}"
                ));
            }
        }
    }
    Ok(o)
}
