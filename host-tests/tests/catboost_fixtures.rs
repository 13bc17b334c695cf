//! CatBoost fixtures: every directory under `fixtures/catboost/` holds a model saved by CatBoost as JSON
//! (`model.json`), rows (`input.csv`, a header line, an empty cell for a missing value) and CatBoost's own outputs
//! for them (`margin.csv` = `predict(prediction_type='RawFormulaVal')`, `pred.csv` = `Probability`, `Exponent` or
//! `RawFormulaVal`), plus `meta.json` describing how they were made (`fixtures/catboost/make.py`). Each model is
//! imported and checked against CatBoost with the IR's f64 reference evaluator and with the no_std core, and
//! through the CLI: `emkern import`, then `emkern predict` (with and without `--margin`) within 1e-6 relative.
//!
//! The live test trains fresh models with `make.py --seed` in a temporary directory and holds them to the same
//! checks; it prints `SKIPPED` without a Python that has CatBoost (`EMKERN_PYTHON`, see `scripts/setup.sh`).
//! `EMKERN_CATBOOST_SEED` picks its seed (default 1).
//!
//! `EMKERN_CATBOOST_FIXTURES` overrides the fixture directory.

#[path = "common/proptest_config.rs"]
mod proptest_config;
#[path = "common/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern_host::import::catboost;
use emkern_host::ir::{Compare, Precision, Transform};
mod common;

use common::cli::{emkern, fixture_dirs, meta, scratch};
use common::fixtures::{ABS, Outcome, REL, check_fixture, close, read_csv, run_all};
use emkern::forest::Forest;
use emkern_host::export::blob;
use proptest::prelude::*;
use proptest_config::proptest_config;
use serde_json::{Value, json};

/// Relative tolerance of `emkern predict` (f32 outputs of f64 sums) against CatBoost's f64 outputs.
const CLI_REL: f64 = 1e-6;
/// Absolute slack for outputs near zero (CatBoost's own sums are exact to about 1e-16 of the leaf magnitudes).
const CLI_ABS: f64 = 1e-12;

fn fixture_root() -> PathBuf {
    match std::env::var_os("EMKERN_CATBOOST_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/catboost"),
    }
}

fn run_fixture(dir: &Path) -> Result<Outcome, String> {
    let ensemble = catboost::load(dir.join("model.json")).map_err(|e| format!("import: {e}"))?;
    let meta = meta(dir)?;
    let version = meta["version"].as_str().unwrap_or("?");
    let loss = meta["loss_function"].as_str().unwrap_or("?");
    let want_source = format!("catboost {version}, {loss}");
    if !ensemble.source.starts_with(&want_source) {
        return Err(format!(
            "source `{}`, expected it to start with `{want_source}`",
            ensemble.source
        ));
    }
    if ensemble.compare != Compare::LessEqual || ensemble.precision != Precision::F64 {
        return Err("expected `<=` comparisons in f64".into());
    }
    let want_transform = match loss {
        "Logloss" | "CrossEntropy" | "MultiClassOneVsAll" => Transform::Sigmoid,
        "MultiClass" => Transform::Softmax,
        "Poisson" | "Tweedie" => Transform::Exp,
        _ => Transform::Identity,
    };
    if ensemble.transform != want_transform {
        return Err(format!(
            "transform {:?} for {loss}, expected {want_transform:?}",
            ensemble.transform
        ));
    }
    check_fixture("CatBoost", dir, &ensemble, 1.0)
}

#[test]
fn catboost_fixtures_match_catboost() {
    run_all("CatBoost", &fixture_root(), "model.json", run_fixture);
}

/// The largest `|got − want| / |want|` over a CSV written by `emkern predict` and a fixture table, after checking
/// every value against [`CLI_REL`] and [`CLI_ABS`].
fn compare_cli(what: &str, stdout: &str, want: &Path) -> Result<f64, String> {
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
        return Err(format!(
            "{what}: {} rows, expected {}",
            got.len(),
            want.rows.len()
        ));
    }
    let mut worst = 0f64;
    for (r, (g, w)) in got.iter().zip(&want.rows).enumerate() {
        if g.len() != w.len() {
            return Err(format!(
                "{what}: row {r} has {} values, expected {}",
                g.len(),
                w.len()
            ));
        }
        for (k, (&g, &w)) in g.iter().zip(w).enumerate() {
            let diff = (g - w).abs();
            if diff > CLI_REL * w.abs() + CLI_ABS || g.is_nan() != w.is_nan() {
                return Err(format!(
                    "{what}: row {r}, column {k}: emkern {g}, CatBoost {w}"
                ));
            }
            if w != 0.0 {
                worst = worst.max(diff / w.abs());
            }
        }
    }
    Ok(worst)
}

/// `emkern import`, `emkern inspect` and `emkern predict` on every fixture.
fn check_cli(root: &Path) {
    let tmp = scratch("catboost", "cli");
    let dirs = fixture_dirs(root, "model.json", "CatBoost");
    let mut failed = Vec::new();
    println!(
        "{:<40} {:>14} {:>14}",
        "fixture", "max rel margin", "max rel pred"
    );
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let blob = tmp.join(format!("{name}.emk"));
        let model = dir.join("model.json");
        let input = dir.join("input.csv");
        let run = || -> Result<(f64, f64), String> {
            let said = emkern(&[
                "import".as_ref(),
                model.as_os_str(),
                "-o".as_ref(),
                blob.as_os_str(),
            ])?;
            if !said.contains("(CatBoost JSON)") {
                return Err(format!("import did not name the format: {said}"));
            }
            let version = meta(dir)?["version"].as_str().unwrap_or("?").to_string();
            let inspect = emkern(&["inspect".as_ref(), model.as_os_str()])?;
            if !inspect.contains("CatBoost JSON")
                || !inspect.contains(&format!("catboost {version}"))
            {
                return Err(format!(
                    "inspect did not name CatBoost {version}:\n{inspect}"
                ));
            }
            let predict = |margin: bool| {
                let mut args = vec![
                    "predict".as_ref(),
                    "--model".as_ref(),
                    blob.as_os_str(),
                    "--input".as_ref(),
                    input.as_os_str(),
                ];
                if margin {
                    args.push("--margin".as_ref());
                }
                emkern(&args)
            };
            let m = compare_cli("margin", &predict(true)?, &dir.join("margin.csv"))?;
            let p = compare_cli("prediction", &predict(false)?, &dir.join("pred.csv"))?;
            Ok((m, p))
        };
        match run() {
            Ok((m, p)) => println!("{name:<40} {m:>14.2e} {p:>14.2e}"),
            Err(e) => {
                println!("{name:<40} FAIL: {e}");
                failed.push(name);
            }
        }
    }
    assert!(failed.is_empty(), "CatBoost fixtures failed: {failed:?}");
}

#[test]
fn cli_import_and_predict_match_catboost() {
    check_cli(&fixture_root());
}

/// The one-hot fixture's categorical feature lists CatBoost's hash of every category its one-hot splits test:
/// each is emkern's [`catboost::category_hash`] of one of the integers the generator used, and they include
/// categories of one and of six digits (CityHash64's two short-input formulas).
#[test]
fn category_hashes_are_catboost_hashes() {
    let dir = std::fs::read_dir(fixture_root())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with("-one-hot"))
        .expect("a one-hot fixture");
    let meta = meta(&dir).unwrap();
    let categories: Vec<u32> = meta["input"]["category_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    assert_eq!(categories.len(), 6);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    let mut stored: Vec<i64> = model["features_info"]["categorical_features"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut matched: Vec<u32> = stored
        .iter()
        .map(|&h| {
            *categories
                .iter()
                .find(|&&c| catboost::category_hash(c) as i64 == h)
                .unwrap_or_else(|| panic!("CatBoost's hash {h} is no category's emkern hash"))
        })
        .collect();
    matched.sort_unstable();
    assert!(
        matched.len() >= 2 && matched[0] < 10 && matched[matched.len() - 1] >= 100_000,
        "{matched:?}"
    );
    stored.sort_unstable();
    stored.dedup();
    assert_eq!(stored.len(), matched.len());
}

/// Fresh models from CatBoost itself: `make.py --seed` in a scratch directory, then the fixture and CLI checks.
#[test]
fn freshly_trained_catboost_models_match() {
    let Some(py) =
        python::python_or_skip("freshly_trained_catboost_models_match", "catboost", (1, 2))
    else {
        return;
    };
    let seed: u64 = std::env::var("EMKERN_CATBOOST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    println!("CatBoost models trained with make.py --seed {seed} (EMKERN_CATBOOST_SEED)");
    let out = scratch("catboost", "live");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/catboost/make.py");
    let status = Command::new(&py)
        .arg(&script)
        .arg("--out")
        .arg(&*out)
        .arg("--seed")
        .arg(seed.to_string())
        .status()
        .expect("cannot run Python");
    assert!(status.success(), "{} failed", script.display());
    run_all("CatBoost", &out, "model.json", run_fixture);
    check_cli(&out);
}

/// JSON pointers of every value in `v` (the root excluded), in document order.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

/// Small fixture models to mutate, parsed once.
fn mutation_models() -> Vec<(Value, Vec<String>)> {
    ["regression-scaled", "one-hot", "lossguide-multiclass"]
        .iter()
        .map(|name| {
            let dir = std::fs::read_dir(fixture_root())
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.to_string_lossy().ends_with(&format!("-{name}")))
                .unwrap_or_else(|| panic!("a {name} fixture"));
            let text = std::fs::read_to_string(dir.join("model.json")).unwrap();
            let doc: Value = serde_json::from_str(&text).unwrap();
            let mut ps = Vec::new();
            pointers(&doc, String::new(), &mut ps);
            // The training log and options do not reach the importer: mutate what it reads.
            ps.retain(|p| {
                !p.starts_with("/model_info/training")
                    && !p.starts_with("/model_info/output_options")
            });
            (doc, ps)
        })
        .collect()
}

/// Replacement values for the mutation test: out of range, wrong type, non-finite in spirit, huge.
fn replacements() -> Vec<Value> {
    vec![
        json!(-1),
        json!(0),
        json!(1),
        json!(3),
        json!(17),
        json!(1e300),
        json!(-0.5),
        json!(4294967296u64),
        json!("AsTrue"),
        json!("OnlineCtr"),
        json!("x"),
        json!(null),
        json!([]),
        json!({}),
        json!([1.0, 2.0]),
    ]
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// A value replaced or a member deleted: an error, or a model that exports and predicts like the IR says.
    #[test]
    fn mutated_models_never_panic(which in 0usize..3, at in 0usize..1_000_000, with in 0usize..15, delete in 0u8..4) {
        thread_local! {
            static MODELS: Vec<(Value, Vec<String>)> = mutation_models();
        }
        let mut doc = MODELS.with(|m| m[which].0.clone());
        let pointer = MODELS.with(|m| m[which].1[at % m[which].1.len()].clone());
        if delete == 0 {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            match doc.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&key.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(a)) => {
                    a.remove(key.parse::<usize>().unwrap());
                }
                _ => {}
            }
        } else {
            *doc.pointer_mut(&pointer).unwrap() = replacements()[with].clone();
        }
        let Ok(e) = catboost::from_document(&doc) else {
            return Ok(());
        };
        let Ok(bytes) = blob::write(&e) else {
            return Ok(());
        };
        let forest = Forest::new(&bytes).map_err(|err| TestCaseError::fail(format!("blob rejected: {err:?}")))?;
        let mut m = vec![0f32; e.n_outputs as usize];
        for probe in [f32::NAN, -1.0, 0.0, 0.5, 2.0, 1000.0] {
            let row = vec![probe; e.n_features as usize];
            forest.predict_margin(&row, &mut m).map_err(|err| TestCaseError::fail(format!("{err:?}")))?;
            let want = e.margin_reference(&row);
            for (k, (&got, &want)) in m.iter().zip(&want).enumerate() {
                prop_assert!(
                    !want.is_finite() || want.abs() > 1e30 || close(got as f64, want, REL, ABS),
                    "margin {}: core {} vs IR {}", k, got, want
                );
            }
        }
    }
}
