//! LightGBM decides in f64. The fixtures under `fixtures/lightgbm-f64/` (made by `fixtures/generate.py`) hold
//! LightGBM 4.7 models with f64 rows whose values sit on, and one f64 step either side of, the models'
//! thresholds (most not f32 values, some f32 values such as ±1e-35f), the zero band and category boundaries, with
//! LightGBM's own predictions for them (`Booster.predict` on a float64 array).
//!
//! `emkern predict` on those rows, written with 17 significant digits, must give LightGBM's predictions: the same
//! decisions at every split. The tolerance only absorbs the printed f32 rounding of the f64 outputs (and the
//! rounding of the inputs inside linear leaves); the test also proves that it catches a flipped decision: the
//! same rows rounded to f32 before the core (the plain f32 path) miss LightGBM's predictions on some rows of every
//! fixture.
//!
//! `EMKERN_LIGHTGBM_F64_FIXTURES` overrides the fixture directory.

#[path = "common/scratch.rs"]
mod scratch;

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern::forest::Forest;
use emkern_host::f64_inputs::F64Inputs;
use emkern_host::io::{self, TableF64};
use emkern_host::model;
use scratch::Scratch;

/// Relative tolerance: the CLI prints f32 values (relative rounding 6e-8) and linear leaves multiply the f32
/// rounding of the input.
const REL: f64 = 1e-6;
/// Absolute slack near zero.
const ABS: f64 = 1e-9;

fn close(got: f64, want: f64) -> bool {
    (got.is_nan() && want.is_nan()) || got == want || (got - want).abs() <= REL * want.abs() + ABS
}

fn fixture_dirs() -> Vec<PathBuf> {
    let root = match std::env::var_os("EMKERN_LIGHTGBM_F64_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lightgbm-f64"),
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("model.txt").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn table(path: &Path) -> TableF64 {
    io::read_csv_f64(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The rows as a CSV with 17 significant digits (every f64 reads back exactly); NaN as an empty cell.
fn write_17_digits(input: &TableF64, path: &Path) {
    let mut text = input.columns.join(",") + "\n";
    for row in &input.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|v| {
                if v.is_nan() {
                    String::new()
                } else {
                    format!("{v:.16e}")
                }
            })
            .collect();
        text += &(cells.join(",") + "\n");
    }
    std::fs::write(path, text).unwrap();
    let back = table(path);
    for (a, b) in back.rows.iter().flatten().zip(input.rows.iter().flatten()) {
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{a} written as 17 digits did not read back as {b}"
        );
    }
}

/// `emkern predict` (with `--margin` when asked), one value per row.
fn cli_predict(model: &Path, input: &Path, margin: bool) -> Vec<f64> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emkern"));
    cmd.arg("predict")
        .arg("--model")
        .arg(model)
        .arg("--input")
        .arg(input);
    if margin {
        cmd.arg("--margin");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "emkern predict failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "emkern predict warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.parse::<f64>()
                .unwrap_or_else(|e| panic!("`{l}` is not a number: {e}"))
        })
        .collect()
}

/// Rows (0-based) whose value misses `want` beyond the tolerance, and the largest relative error of the others.
fn misses(got: &[f64], want: &TableF64) -> (Vec<usize>, f64) {
    assert_eq!(got.len(), want.rows.len(), "one output per row");
    let mut bad = Vec::new();
    let mut worst = 0.0f64;
    for (r, (&g, w)) in got.iter().zip(&want.rows).enumerate() {
        let w = w[0];
        if close(g, w) {
            if g.is_finite() && w.is_finite() {
                worst = worst.max((g - w).abs() / w.abs().max(1e-3));
            }
        } else {
            bad.push(r);
        }
    }
    (bad, worst)
}

#[test]
fn lightgbm_f64_rows_take_lightgbm_decisions() {
    let dirs = fixture_dirs();
    assert!(
        !dirs.is_empty(),
        "no fixtures under fixtures/lightgbm-f64 (expected <name>/model.txt, input.csv, margin.csv, pred.csv)"
    );
    let scratch = Scratch::new("lightgbm-f64");
    println!(
        "{:<28} {:>5} {:>11} {:>11} {:>22}",
        "fixture", "rows", "pred err", "margin err", "f32-path rows missed"
    );
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let model_path = dir.join("model.txt");
        let input = table(&dir.join("input.csv"));
        let margin = table(&dir.join("margin.csv"));
        let pred = table(&dir.join("pred.csv"));

        // The rows as a user would write them, through the CLI.
        let csv = scratch.join(format!("{name}.csv"));
        write_17_digits(&input, &csv);
        let (bad_pred, pred_err) = misses(&cli_predict(&model_path, &csv, false), &pred);
        let (bad_margin, margin_err) = misses(&cli_predict(&model_path, &csv, true), &margin);
        assert!(
            bad_pred.is_empty() && bad_margin.is_empty(),
            "{name}: emkern predict misses LightGBM on rows {bad_pred:?} (predictions) and {bad_margin:?} \
             (margins); first input row: {:?}",
            bad_pred
                .first()
                .or(bad_margin.first())
                .map(|&r| &input.rows[r])
        );

        // The plain f32 path: the same rows rounded to f32 before the core. It must miss LightGBM somewhere, or
        // the fixture would not tell the two apart.
        let loaded = model::load(&model_path).unwrap();
        let inputs = F64Inputs::for_model(&loaded).expect("a LightGBM model reads f64 rows");
        assert!(
            inputs.unseparated().is_empty(),
            "{name}: thresholds that no f32 separates: {:?}",
            inputs.unseparated()
        );
        let forest = Forest::new(&loaded.blob).unwrap();
        let mut p = vec![0f32; forest.output_len()];
        let rounded: Vec<f64> = input
            .rows
            .iter()
            .map(|row| {
                let x: Vec<f32> = row.iter().map(|&v| v as f32).collect();
                forest.predict(&x, &mut p).unwrap();
                p[0] as f64
            })
            .collect();
        let (bad_rounded, _) = misses(&rounded, &pred);
        println!(
            "{name:<28} {:>5} {pred_err:>11.2e} {margin_err:>11.2e} {:>22}",
            input.rows.len(),
            bad_rounded.len()
        );
        assert!(
            !bad_rounded.is_empty(),
            "{name}: rounding the rows to f32 changes no prediction beyond the tolerance: the fixture does not \
             exercise f64 decisions"
        );
    }
}
