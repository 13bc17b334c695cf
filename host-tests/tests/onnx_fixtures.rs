//! ONNX-ML fixtures: every directory under `fixtures/onnx/` holds a tree-ensemble model converted by the real
//! converters (skl2onnx for scikit-learn, onnxmltools for XGBoost and LightGBM) or written with `onnx.helper`
//! to exercise every `nodes_modes` value, missing-value tracking and the two-class conventions (`model.onnx`),
//! rows (`input.csv`, a header line, an empty cell for a missing value), onnxruntime's numeric output for them
//! (`pred.csv`: probabilities or regression values, one thread) and `meta.json` (`fixtures/onnx/make.py`).
//!
//! Each model is imported and its predictions, from the no_std core and through the CLI (`emkern import`, then
//! `emkern predict`), are held to onnxruntime's within `1e-6·|want| + 1e-7`: relative 1e-6, plus an absolute
//! slack of about one f32 step at 1, since onnxruntime computes a small probability as `1 − v` in f32. The IR's
//! f64 reference evaluation is held to `1e-5·|want| + 1e-6` (onnxruntime sums in f32).
//!
//! The live test converts freshly trained models with `make.py --seed` in a temporary directory and holds them
//! to the same checks; it prints `SKIPPED` without a Python that has onnx, onnxruntime and skl2onnx
//! (`EMKERN_PYTHON`, see `scripts/setup.sh`). `EMKERN_ONNX_SEED` picks its seed (default 1).
//!
//! `EMKERN_ONNX_FIXTURES` overrides the fixture directory.

#[path = "common/proptest_config.rs"]
mod proptest_config;
#[path = "common/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

// The margin-based `check_fixture` is unused: onnxruntime gives predictions only, checked here.
#[allow(dead_code)]
mod common;

use common::cli::{emkern, fixture_dirs, meta, scratch};
use common::fixtures::{Outcome, close, read_csv, run_all, score};
use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::import::onnx;
use emkern_host::ir::{Compare, Precision};
use proptest::prelude::*;
use proptest_config::proptest_config;

/// Relative tolerance against onnxruntime's f32 outputs.
const REL: f64 = 1e-6;
/// Absolute slack: about one f32 step at 1 (onnxruntime's small probabilities are `1 − v` in f32).
const ABS: f64 = 1e-7;
/// Tolerance of the IR's f64 reference against onnxruntime's f32 sums.
const REL_REFERENCE: f64 = 1e-5;
const ABS_REFERENCE: f64 = 1e-6;

fn fixture_root() -> PathBuf {
    match std::env::var_os("EMKERN_ONNX_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/onnx"),
    }
}

/// The source line must name the producer and the operator.
fn check_source(dir: &Path, source: &str) -> Result<(), String> {
    let meta = meta(dir)?;
    let producer = meta["producer_name"].as_str().unwrap_or("?");
    let op = meta["ops"][0].as_str().unwrap_or("?");
    if !source.starts_with(&format!("onnx: {producer}"))
        || !source.contains(&format!("ai.onnx.ml.{op}"))
    {
        return Err(format!(
            "source `{source}` does not name {producer} and {op}"
        ));
    }
    Ok(())
}

fn run_fixture(dir: &Path) -> Result<Outcome, String> {
    let ensemble = onnx::load(dir.join("model.onnx")).map_err(|e| format!("import: {e}"))?;
    check_source(dir, &ensemble.source)?;
    if ensemble.compare != Compare::LessEqual || ensemble.precision != Precision::F32 {
        return Err("expected `<=` comparisons and f32 sums".into());
    }
    let bytes = blob::write(&ensemble).map_err(|e| format!("export: {e}"))?;
    let forest = Forest::new(&bytes).map_err(|e| format!("blob: {e:?}"))?;
    let input = emkern_host::io::read_csv(&dir.join("input.csv")).map_err(|e| e.to_string())?;
    let pred = read_csv(&dir.join("pred.csv"))?;
    let out_len = ensemble.output_len();
    if pred.header.len() != out_len || pred.rows.len() != input.rows {
        return Err(format!(
            "pred.csv has {} columns and {} rows; the model predicts {out_len} values for {} rows",
            pred.header.len(),
            pred.rows.len(),
            input.rows
        ));
    }
    let mut o = Outcome {
        rows: input.rows,
        outputs: out_len,
        trees: ensemble.trees.len(),
        worst_reference: 0.0,
        worst_margin: 0.0,
        worst_pred: 0.0,
        failures: Vec::new(),
    };
    let mut p = vec![0f32; out_len];
    for r in 0..input.rows {
        let x = input.row(r);
        let reference = ensemble.transform_reference(&ensemble.margin_reference(x));
        forest
            .predict(x, &mut p)
            .map_err(|e| format!("predict: {e:?}"))?;
        for k in 0..out_len {
            let want = pred.rows[r][k];
            o.worst_reference =
                o.worst_reference
                    .max(score(reference[k], want, REL_REFERENCE, ABS_REFERENCE));
            if !close(reference[k], want, REL_REFERENCE, ABS_REFERENCE) {
                o.failures.push(format!(
                    "row {r}, output {k}: IR reference {} vs onnxruntime {want}",
                    reference[k]
                ));
            }
            let got = p[k] as f64;
            o.worst_pred = o.worst_pred.max(score(got, want, REL, ABS));
            if !close(got, want, REL, ABS) {
                o.failures.push(format!(
                    "row {r}, output {k}: core {got} vs onnxruntime {want}"
                ));
            }
        }
    }
    Ok(o)
}

#[test]
fn onnx_fixtures_match_onnxruntime() {
    run_all("ONNX", &fixture_root(), "model.onnx", run_fixture);
}

/// Largest `|got − want| / |want|` (over nonzero `want`) and largest `|got − want|` of a CSV written by
/// `emkern predict` against `pred.csv`, after checking every value against [`REL`] and [`ABS`].
fn compare_cli(stdout: &str, want: &Path) -> Result<(f64, f64), String> {
    let want = read_csv(want)?;
    let got: Vec<Vec<f64>> = stdout
        .lines()
        .map(|l| {
            l.split(',')
                .map(|c| c.trim().parse::<f64>().map_err(|e| format!("`{c}`: {e}")))
                .collect()
        })
        .collect::<Result<_, _>>()?;
    if got.len() != want.rows.len() {
        return Err(format!("{} rows, expected {}", got.len(), want.rows.len()));
    }
    let (mut rel, mut abs) = (0f64, 0f64);
    for (r, (g, w)) in got.iter().zip(&want.rows).enumerate() {
        if g.len() != w.len() {
            return Err(format!(
                "row {r} has {} values, expected {}",
                g.len(),
                w.len()
            ));
        }
        for (k, (&g, &w)) in g.iter().zip(w).enumerate() {
            if !close(g, w, REL, ABS) {
                return Err(format!("row {r}, column {k}: emkern {g}, onnxruntime {w}"));
            }
            let d = (g - w).abs();
            abs = abs.max(d);
            if w != 0.0 {
                rel = rel.max(d / w.abs());
            }
        }
    }
    Ok((rel, abs))
}

/// `emkern import`, `emkern inspect` and `emkern predict` (from the blob and from the `.onnx` file) on every
/// fixture under `root`.
fn check_cli(root: &Path) {
    let tmp = scratch("onnx", "cli");
    let dirs = fixture_dirs(root, "model.onnx", "ONNX");
    let mut failed = Vec::new();
    println!(
        "{:<42} {:>12} {:>12}   (emkern predict vs onnxruntime)",
        "fixture", "max rel", "max abs"
    );
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let blob = tmp.join(format!("{name}.emk"));
        let model = dir.join("model.onnx");
        let input = dir.join("input.csv");
        let run = || -> Result<(f64, f64), String> {
            let said = emkern(&[
                "import".as_ref(),
                model.as_os_str(),
                "-o".as_ref(),
                blob.as_os_str(),
            ])?;
            if !said.contains("(ONNX-ML)") {
                return Err(format!("import did not name the format: {said}"));
            }
            let meta = meta(dir)?;
            let producer = meta["producer_name"].as_str().unwrap_or("?");
            let op = meta["ops"][0].as_str().unwrap_or("?");
            let inspect = emkern(&["inspect".as_ref(), model.as_os_str()])?;
            if !inspect.contains("ONNX-ML") || !inspect.contains(producer) || !inspect.contains(op)
            {
                return Err(format!(
                    "inspect did not name ONNX-ML, {producer} and {op}:\n{inspect}"
                ));
            }
            let predict = |m: &Path| {
                emkern(&[
                    "predict".as_ref(),
                    "--model".as_ref(),
                    m.as_os_str(),
                    "--input".as_ref(),
                    input.as_os_str(),
                ])
            };
            let from_blob = compare_cli(&predict(&blob)?, &dir.join("pred.csv"))?;
            let from_onnx = compare_cli(&predict(&model)?, &dir.join("pred.csv"))?;
            Ok((from_blob.0.max(from_onnx.0), from_blob.1.max(from_onnx.1)))
        };
        match run() {
            Ok((rel, abs)) => println!("{name:<42} {rel:>12.2e} {abs:>12.2e}"),
            Err(e) => {
                println!("{name:<42} FAIL: {e}");
                failed.push(name);
            }
        }
    }
    assert!(failed.is_empty(), "ONNX fixtures failed: {failed:?}");
}

#[test]
fn cli_import_and_predict_match_onnxruntime() {
    check_cli(&fixture_root());
}

/// Fresh models converted by skl2onnx/onnxmltools and run by onnxruntime: `make.py --seed` in a scratch
/// directory, then the fixture and CLI checks.
#[test]
fn freshly_converted_onnx_models_match() {
    let Some(py) = python::python_or_skip(
        "freshly_converted_onnx_models_match",
        "onnxruntime",
        (1, 16),
    ) else {
        return;
    };
    for module in ["onnx", "skl2onnx"] {
        let ok = Command::new(&py)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!(
                "\n*** SKIPPED freshly_converted_onnx_models_match: {py} has onnxruntime but not {module} ***\n"
            );
            return;
        }
    }
    let seed: u64 = std::env::var("EMKERN_ONNX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    println!("ONNX models converted with make.py --seed {seed} (EMKERN_ONNX_SEED)");
    let out = scratch("onnx", "live");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/onnx/make.py");
    let status = Command::new(&py)
        .arg(&script)
        .arg("--out")
        .arg(&*out)
        .arg("--seed")
        .arg(seed.to_string())
        .status()
        .expect("cannot run Python");
    assert!(status.success(), "{} failed", script.display());
    run_all("ONNX", &out, "model.onnx", run_fixture);
    check_cli(&out);
}

/// The fixture models' bytes, read once.
fn fixture_models() -> Vec<Vec<u8>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture_root())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|d| std::fs::read(d.join("model.onnx")).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// A fixture model with bytes changed or cut: an error, or a model that exports, loads in the core and
    /// predicts like its IR says, never a panic.
    #[test]
    fn damaged_models_never_panic(
        which in 0usize..64, at in 0usize..1_000_000, byte in any::<u8>(), cut in any::<bool>()
    ) {
        thread_local! {
            static MODELS: Vec<Vec<u8>> = fixture_models();
        }
        let mut bytes = MODELS.with(|m| m[which % m.len()].clone());
        let at = at % bytes.len();
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        let Ok(e) = onnx::from_bytes(&bytes) else {
            return Ok(());
        };
        let Ok(blob) = blob::write(&e) else {
            return Ok(());
        };
        let forest = Forest::new(&blob).map_err(|err| TestCaseError::fail(format!("blob rejected: {err:?}")))?;
        let mut m = vec![0f32; e.n_outputs as usize];
        for probe in [f32::NAN, -1.0, 0.0, 0.5, 2.0, 1000.0] {
            let row = vec![probe; e.n_features as usize];
            forest.predict_margin(&row, &mut m).map_err(|err| TestCaseError::fail(format!("{err:?}")))?;
            let want = e.margin_reference(&row);
            for (k, (&got, &want)) in m.iter().zip(&want).enumerate() {
                prop_assert!(
                    !want.is_finite() || want.abs() > 1e30 || close(got as f64, want, 1e-5, 1e-5),
                    "margin {}: core {} vs IR {}", k, got, want
                );
            }
        }
    }
}
