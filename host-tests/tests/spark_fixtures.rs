//! Spark ML fixtures: every directory under `fixtures/spark/` holds a tree model saved by PySpark
//! (`model/`, a directory: `metadata/part-00000`, `data/*.parquet`, `treesMetadata/*.parquet`), rows
//! (`input.csv`), Spark's own outputs for them (`spark.csv`: `prediction`, `rawPrediction`, `probability`) and
//! what emkern's margin and prediction must be (`margin.csv`, `pred.csv`: functions of `spark.csv` that
//! `meta.json` names, checked here against `spark.csv`), made by `fixtures/spark/make.py`.
//!
//! Each model is imported and held against Spark with the IR's f64 reference evaluator (≤ 1e-9 relative) and
//! with the no_std core (f32 outputs of f64 sums, the shared harness's 1e-5), and through the CLI: `emkern
//! import` of the directory, `emkern inspect` (which must name the class and Spark version), and `emkern predict`
//! with and without `--margin`, whose f32 outputs of the model's f64 sums must be within 1e-6 relative of Spark's
//! f64 numbers; `emkern predict` from the directory also on `input-f64.csv` (f64 values on and just above split
//! thresholds, read as f64 and mapped to f32 values with the same decisions) against `pred-f64.csv`. A classifier's most probable class must be Spark's `prediction`.
//!
//! Fixtures named `*-xgboost-*` are models of XGBoost's PySpark estimators (`xgboost.spark`): Spark's metadata with
//! the booster's JSON under `model/`, read by the XGBoost importer (f32, `x < t`).
//!
//! `fixtures/spark/xgboost4j/` holds XGBoost4J-Spark (JVM) model directories whose layout is written from the
//! XGBoost4J-Spark sources of 1.7.6, 2.1.4 and 3.2.0 by `fixtures/spark/make_xgboost4j.py`, not by the JVM, around
//! real boosters (legacy binary, UBJSON, JSON) trained and saved by the xgboost Python package of the same release,
//! with that package's margins and predictions: emkern's margins must be bit-identical, its predictions within 2
//! f32 ulp, through the library and the CLI; a `missing` other than NaN and damaged directories are refused.
//!
//! The live test trains fresh models with `make.py --seed` in a temporary directory and holds them to the same
//! checks; it prints `SKIPPED` without a Python that has PySpark 3.5 (`EMKERN_PYTHON`) or without Java.
//! `EMKERN_SPARK_SEED` picks its seed (default 1). `EMKERN_SPARK_FIXTURES` overrides the fixture directory.

#[path = "common/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

use emkern_host::import::spark;
use emkern_host::ir::{Compare, Precision, Transform};
mod common;

use common::cli::{emkern, meta, scratch};
use common::fixtures::{ABS, Outcome, REL, check_fixture, close, read_csv, run_all, score};
use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::io;
use emkern_host::ir::Ensemble;

/// Relative tolerance of `emkern predict` (f32 outputs of f64 sums) against Spark's f64 outputs.
const CLI_REL: f64 = 1e-6;
/// Absolute slack for outputs near zero.
const CLI_ABS: f64 = 1e-12;

fn fixture_root() -> PathBuf {
    match std::env::var_os("EMKERN_SPARK_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/spark"),
    }
}

/// The fixture folders under `root` (those with a `model/metadata/part-00000`), sorted.
fn fixture_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("no Spark fixtures: cannot read {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model/metadata/part-00000").is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no Spark fixtures under {}",
        root.display()
    );
    dirs
}

/// `margin.csv` and `pred.csv` are what `meta.json` says they are, computed from Spark's `spark.csv`; and a
/// classifier's largest `pred.csv` column (or, for a GBT classifier, margin > 0) is Spark's `prediction`.
fn check_derived(dir: &Path) -> Result<(), String> {
    let meta = meta(dir)?;
    let spark = read_csv(&dir.join("spark.csv"))?;
    let margin = read_csv(&dir.join("margin.csv"))?;
    let pred = read_csv(&dir.join("pred.csv"))?;
    let k = meta["num_classes"].as_u64().unwrap_or(0) as usize;
    let trees = meta["num_trees"].as_f64().unwrap_or(1.0);
    let method = |what: &str| meta[what]["method"].as_str().unwrap_or("?").to_string();
    for (r, s) in spark.rows.iter().enumerate() {
        let (raw, proba) = (&s[1..1 + k], &s[1 + k..]);
        let (want_margin, want_pred): (Vec<f64>, Vec<f64>) =
            match (method("margin").as_str(), method("pred").as_str()) {
                ("2 * rawPrediction[1]", "probability[1]") => (vec![2.0 * raw[1]], vec![proba[1]]),
                ("rawPrediction / numTrees", "probability") => {
                    (raw.iter().map(|v| v / trees).collect(), proba.to_vec())
                }
                ("probability", "probability") => (proba.to_vec(), proba.to_vec()),
                ("rawPrediction[1]", "probability[1]") => (vec![raw[1]], vec![proba[1]]),
                ("rawPrediction", "probability") => (raw.to_vec(), proba.to_vec()),
                ("prediction", "prediction") => (vec![s[0]], vec![s[0]]),
                other => return Err(format!("unknown derivation {other:?}")),
            };
        if margin.rows[r] != want_margin || pred.rows[r] != want_pred {
            return Err(format!(
                "row {r}: margin.csv/pred.csv are not {}/{} of spark.csv",
                method("margin"),
                method("pred")
            ));
        }
        if k > 0 {
            let class = if margin.header == ["margin"] {
                f64::from(u8::from(margin.rows[r][0] > 0.0))
            } else {
                let p = &pred.rows[r];
                (0..p.len()).fold(0, |b, i| if p[i] > p[b] { i } else { b }) as f64
            };
            if class != s[0] {
                return Err(format!(
                    "row {r}: the most probable class is {class}, Spark predicts {}",
                    s[0]
                ));
            }
        }
    }
    Ok(())
}

fn run_fixture(dir: &Path) -> Result<Outcome, String> {
    let ensemble = spark::load(dir.join("model")).map_err(|e| format!("import: {e}"))?;
    let meta = meta(dir)?;
    let version = meta["version"].as_str().unwrap_or("?");
    let class = meta["class"].as_str().unwrap_or("?");
    let short = class.rsplit('.').next().unwrap_or(class);
    let xgboost = class.starts_with("xgboost.spark.");
    let want_source = source_line(class, version);
    if !ensemble.source.starts_with(&want_source) {
        return Err(format!(
            "source `{}`, expected it to start with `{want_source}`",
            ensemble.source
        ));
    }
    let (compare, precision) = if xgboost {
        (Compare::Less, Precision::F32)
    } else {
        (Compare::LessEqual, Precision::F64)
    };
    if ensemble.compare != compare || ensemble.precision != precision {
        return Err(format!("expected {compare:?} comparisons in {precision:?}"));
    }
    let classes = meta["num_classes"].as_u64().unwrap_or(0);
    let want_transform = match (xgboost, short, classes) {
        (false, "GBTClassificationModel", _) | (true, _, 2) => Transform::Sigmoid,
        (true, _, 3..) => Transform::Softmax,
        _ => Transform::Identity,
    };
    if ensemble.transform != want_transform {
        return Err(format!(
            "transform {:?} for {short}, expected {want_transform:?}",
            ensemble.transform
        ));
    }
    check_derived(dir)?;
    if xgboost {
        check_xgboost_core(dir, &ensemble)
    } else {
        check_fixture("Spark", dir, &ensemble, 1.0)
    }
}

/// The core against an `xgboost.spark` fixture: XGBoost sums its f32 leaves in f32, so the IR's f64 reference is
/// held to 1e-6 relative (not the harness's 1e-9) and the core's margins and predictions to the harness's
/// tolerance.
fn check_xgboost_core(dir: &Path, ensemble: &Ensemble) -> Result<Outcome, String> {
    let bytes = blob::write(ensemble).map_err(|e| format!("export: {e}"))?;
    let forest = Forest::new(&bytes).map_err(|e| format!("blob: {e:?}"))?;
    let input = io::read_csv(&dir.join("input.csv")).map_err(|e| e.to_string())?;
    let margin = read_csv(&dir.join("margin.csv"))?;
    let pred = read_csv(&dir.join("pred.csv"))?;
    let mut o = Outcome {
        rows: input.rows,
        outputs: ensemble.n_outputs as usize,
        trees: ensemble.trees.len(),
        worst_reference: 0.0,
        worst_margin: 0.0,
        worst_pred: 0.0,
        failures: Vec::new(),
    };
    if margin.rows.len() != input.rows || pred.rows.len() != input.rows {
        return Err("input.csv, margin.csv and pred.csv differ in row count".into());
    }
    let mut m = vec![0f32; o.outputs];
    let mut p = vec![0f32; ensemble.output_len()];
    for r in 0..input.rows {
        let x = input.row(r);
        let reference = ensemble.margin_reference(x);
        forest
            .predict_margin(x, &mut m)
            .map_err(|e| format!("{e:?}"))?;
        forest.predict(x, &mut p).map_err(|e| format!("{e:?}"))?;
        let checks = [
            (
                "IR reference margin",
                &reference,
                &margin.rows[r],
                1e-6,
                &mut o.worst_reference,
            ),
            (
                "core margin",
                &m.iter().map(|&v| v as f64).collect(),
                &margin.rows[r],
                REL,
                &mut o.worst_margin,
            ),
            (
                "core prediction",
                &p.iter().map(|&v| v as f64).collect(),
                &pred.rows[r],
                REL,
                &mut o.worst_pred,
            ),
        ];
        for (what, got, want, rel, worst) in checks {
            if got.len() != want.len() {
                return Err(format!(
                    "row {r}: {what} has {} values, expected {}",
                    got.len(),
                    want.len()
                ));
            }
            for (k, (&g, &w)) in got.iter().zip(want.iter()).enumerate() {
                *worst = worst.max(score(g, w, rel, ABS));
                if !close(g, w, rel, ABS) {
                    o.failures
                        .push(format!("row {r}, {what} {k}: {g} vs Spark {w}"));
                }
            }
        }
    }
    Ok(o)
}

/// The start of the `source` line (and of `emkern inspect`'s) for a model of `class` saved by Spark `version`.
fn source_line(class: &str, version: &str) -> String {
    let short = class.rsplit('.').next().unwrap_or(class);
    if class.starts_with("xgboost.spark.") {
        format!("XGBoost PySpark {short}, Spark {version}; xgboost ")
    } else {
        format!("Spark MLlib {short}, Spark {version}")
    }
}

#[test]
fn spark_fixtures_match_spark() {
    run_all(
        "Spark",
        &fixture_root(),
        "model/metadata/part-00000",
        run_fixture,
    );
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
                    "{what}: row {r}, column {k}: emkern {g}, Spark {w}"
                ));
            }
            if w != 0.0 {
                worst = worst.max(diff / w.abs());
            }
        }
    }
    Ok(worst)
}

/// `emkern import`, `emkern inspect` and `emkern predict` on every fixture: the directory itself, and `predict`
/// also straight from the directory (the f64 reading of input rows).
fn check_cli(root: &Path) {
    let tmp = scratch("spark", "cli");
    let mut failed = Vec::new();
    println!(
        "{:<40} {:>14} {:>14} {:>14}",
        "fixture", "max rel margin", "max rel pred", "from dir, f64"
    );
    for dir in fixture_dirs(root) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let blob = tmp.join(format!("{name}.emk"));
        let model = dir.join("model");
        let input = dir.join("input.csv");
        let run = || -> Result<(f64, f64, f64), String> {
            let said = emkern(&[
                "import".as_ref(),
                model.as_os_str(),
                "-o".as_ref(),
                blob.as_os_str(),
            ])?;
            if !said.contains("(Spark ML)") {
                return Err(format!("import did not name the format: {said}"));
            }
            let meta = meta(&dir)?;
            let version = meta["version"].as_str().unwrap_or("?");
            let class = meta["class"].as_str().unwrap_or("?");
            let want = source_line(class, version);
            let inspect = emkern(&["inspect".as_ref(), model.as_os_str()])?;
            if !inspect.contains(&want) {
                return Err(format!("inspect did not say `{want}`:\n{inspect}"));
            }
            let predict = |from: &Path, margin: bool| {
                let mut args = vec![
                    "predict".as_ref(),
                    "--model".as_ref(),
                    from.as_os_str(),
                    "--input".as_ref(),
                    input.as_os_str(),
                ];
                if margin {
                    args.push("--margin".as_ref());
                }
                emkern(&args)
            };
            let m = compare_cli("margin", &predict(&blob, true)?, &dir.join("margin.csv"))?;
            let p = compare_cli("prediction", &predict(&blob, false)?, &dir.join("pred.csv"))?;
            let d = compare_cli(
                "prediction from the directory",
                &predict(&model, false)?,
                &dir.join("pred.csv"),
            )?;
            // f64 rows on and just above thresholds: read as f64 from the directory, they take Spark's path.
            // (XGBoost reads its inputs as f32: its fixtures have none.)
            let input_f64 = dir.join("input-f64.csv");
            if !input_f64.is_file() {
                return Ok((m, p, d));
            }
            let f = compare_cli(
                "f64 rows",
                &emkern(&[
                    "predict".as_ref(),
                    "--model".as_ref(),
                    model.as_os_str(),
                    "--input".as_ref(),
                    input_f64.as_os_str(),
                ])?,
                &dir.join("pred-f64.csv"),
            )?;
            Ok((m, p, d.max(f)))
        };
        match run() {
            Ok((m, p, d)) => println!("{name:<40} {m:>14.2e} {p:>14.2e} {d:>14.2e}"),
            Err(e) => {
                println!("{name:<40} FAIL: {e}");
                failed.push(name);
            }
        }
    }
    assert!(failed.is_empty(), "Spark fixtures failed: {failed:?}");
}

#[test]
fn cli_import_and_predict_match_spark() {
    check_cli(&fixture_root());
}

/// A copy of a fixture's model directory in a scratch folder, to damage.
fn copy_model(name: &str, to: &Path) -> PathBuf {
    let from = fixture_dirs(&fixture_root())
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(name))
        .unwrap_or_else(|| panic!("a fixture ending in {name}"))
        .join("model");
    let dest = to.join(name);
    for sub in ["metadata", "data", "treesMetadata"] {
        let Ok(entries) = std::fs::read_dir(from.join(sub)) else {
            continue;
        };
        std::fs::create_dir_all(dest.join(sub)).unwrap();
        for e in entries {
            let p = e.unwrap().path();
            std::fs::copy(&p, dest.join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    dest
}

/// The only Parquet part file of `folder`.
fn part_file(folder: &Path) -> PathBuf {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap()
}

/// Damaged model directories are errors that name the file and the field, from the library and the CLI.
#[test]
fn damaged_models_are_errors_naming_the_file_and_field() {
    let tmp = scratch("spark", "damaged");
    let import_err = |dir: &Path| {
        let lib = spark::load(dir).unwrap_err().to_string();
        let cli = emkern(&[
            "import".as_ref(),
            dir.as_os_str(),
            "-o".as_ref(),
            tmp.join("x.emk").as_os_str(),
        ])
        .unwrap_err();
        assert!(cli.contains(&lib), "CLI: {cli}\nlibrary: {lib}");
        lib
    };
    let edit_metadata = |dir: &Path, from: &str, to: &str| {
        let p = dir.join("metadata/part-00000");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{from} not in {text}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    };

    let dir = copy_model("gbt-binary", &tmp);
    edit_metadata(&dir, "\"numFeatures\":5", "\"numFeatures\":0");
    let e = import_err(&dir);
    assert!(
        e.contains("metadata/part-00000") && e.contains("numFeatures"),
        "{e}"
    );

    let dir = copy_model("rf-multiclass", &tmp);
    edit_metadata(&dir, "\"numFeatures\":5", "\"numFeatures\":3");
    let e = import_err(&dir);
    assert!(
        e.contains(".parquet") && e.contains("split.featureIndex") && e.contains("row "),
        "{e}"
    );

    let dir = copy_model("rf-regression", &tmp);
    edit_metadata(&dir, "\"numTrees\":5}", "\"numTrees\":7}");
    let e = import_err(&dir);
    assert!(e.contains("numTrees") && e.contains("5 trees"), "{e}");

    let dir = copy_model("dt-regression", &tmp);
    edit_metadata(
        &dir,
        "org.apache.spark.ml.regression.DecisionTreeRegressionModel",
        "org.apache.spark.ml.regression.IsotonicRegressionModel",
    );
    let e = import_err(&dir);
    assert!(
        e.contains("class") && e.contains("IsotonicRegressionModel"),
        "{e}"
    );

    let dir = copy_model("gbt-regression", &tmp);
    std::fs::remove_dir_all(dir.join("treesMetadata")).unwrap();
    let e = import_err(&dir);
    assert!(e.contains("treesMetadata"), "{e}");

    let dir = copy_model("dt-binary", &tmp);
    let part = part_file(&dir.join("data"));
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    let e = import_err(&dir);
    assert!(
        e.contains(&*part.file_name().unwrap().to_string_lossy()),
        "{e}"
    );

    // A directory that is no model.
    let empty = tmp.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let cli = emkern(&["inspect".as_ref(), empty.as_os_str()]).unwrap_err();
    assert!(cli.contains("not a Spark ML model directory"), "{cli}");
}

/// Fresh models from PySpark itself: `make.py --seed` in a scratch directory, then the fixture and CLI checks.
#[test]
fn freshly_trained_spark_models_match() {
    let Some(py) = python::python_or_skip("freshly_trained_spark_models_match", "pyspark", (3, 5))
    else {
        return;
    };
    if Command::new("java")
        .arg("-version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!(
            "\n*** SKIPPED freshly_trained_spark_models_match: PySpark needs Java, and `java -version` failed ***\n"
        );
        return;
    }
    let seed: u64 = std::env::var("EMKERN_SPARK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    println!("Spark models trained with make.py --seed {seed} (EMKERN_SPARK_SEED)");
    let out = scratch("spark", "live");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/spark/make.py");
    let status = Command::new(&py)
        .arg(&script)
        .arg("--out")
        .arg(&*out)
        .arg("--seed")
        .arg(seed.to_string())
        .status()
        .expect("cannot run Python");
    assert!(status.success(), "{} failed", script.display());
    run_all("Spark", &out, "model/metadata/part-00000", run_fixture);
    check_cli(&out);
}

/// The XGBoost4J-Spark fixtures: `fixtures/spark/xgboost4j/`, written by `fixtures/spark/make_xgboost4j.py`. Their
/// layout is written from the XGBoost4J-Spark sources of the release in each name (1.7.6: legacy binary booster in
/// `data/XGBoost*Model`; 2.1.4: UBJSON there, and the legacy binary format 2.0 wrote by default; 3.2.0: UBJSON or
/// JSON in `data/model`), not by the JVM; the boosters are real, trained and saved by the xgboost Python package of
/// that release (the same native save function XGBoost4J calls), with its margins and predictions.
fn xgboost4j_root() -> PathBuf {
    fixture_root().join("xgboost4j")
}

/// One XGBoost4J-Spark fixture through the library: the source line names the class and the release, and the
/// core's margins are XGBoost's bit for bit, its predictions within 2 f32 ulp (the IR's f64 reference within 1e-6
/// relative).
fn run_xgboost4j_fixture(dir: &Path) -> Result<Outcome, String> {
    let ensemble = spark::load(dir.join("model")).map_err(|e| format!("import: {e}"))?;
    let meta = meta(dir)?;
    let want = xgboost4j_source(&meta);
    if !ensemble.source.starts_with(&want) {
        return Err(format!(
            "source `{}`, expected it to start with `{want}`",
            ensemble.source
        ));
    }
    if ensemble.compare != Compare::Less || ensemble.precision != Precision::F32 {
        return Err("expected XGBoost's f32 `x < t`".into());
    }
    let bytes = blob::write(&ensemble).map_err(|e| format!("export: {e}"))?;
    let forest = Forest::new(&bytes).map_err(|e| format!("blob: {e:?}"))?;
    let input = io::read_csv(&dir.join("input.csv")).map_err(|e| e.to_string())?;
    let margin = read_csv(&dir.join("margin.csv"))?;
    let pred = read_csv(&dir.join("pred.csv"))?;
    if margin.rows.len() != input.rows || pred.rows.len() != input.rows {
        return Err("input.csv, margin.csv and pred.csv differ in row count".into());
    }
    let mut o = Outcome {
        rows: input.rows,
        outputs: ensemble.n_outputs as usize,
        trees: ensemble.trees.len(),
        worst_reference: 0.0,
        worst_margin: 0.0,
        worst_pred: 0.0,
        failures: Vec::new(),
    };
    let mut m = vec![0f32; o.outputs];
    let mut p = vec![0f32; ensemble.output_len()];
    for r in 0..input.rows {
        let x = input.row(r);
        let reference = ensemble.margin_reference(x);
        forest
            .predict_margin(x, &mut m)
            .map_err(|e| format!("{e:?}"))?;
        forest.predict(x, &mut p).map_err(|e| format!("{e:?}"))?;
        if m.len() != margin.rows[r].len() || p.len() != pred.rows[r].len() {
            return Err(format!("row {r}: output count differs from the fixture"));
        }
        for k in 0..m.len() {
            let want = margin.rows[r][k] as f32;
            if m[k].to_bits() != want.to_bits() {
                o.failures.push(format!(
                    "row {r}, margin {k}: core {} vs XGBoost {want}",
                    m[k]
                ));
            }
            let ulps = (m[k].to_bits() as i64 - want.to_bits() as i64).unsigned_abs();
            o.worst_margin = o.worst_margin.max(ulps as f64);
            o.worst_reference =
                o.worst_reference
                    .max(score(reference[k], margin.rows[r][k], 1e-6, 1e-7));
            if !close(reference[k], margin.rows[r][k], 1e-6, 1e-7) {
                o.failures.push(format!(
                    "row {r}, reference margin {k}: {} vs XGBoost {}",
                    reference[k], margin.rows[r][k]
                ));
            }
        }
        for (k, (&got, &want)) in p.iter().zip(&pred.rows[r]).enumerate() {
            let want = want as f32;
            let ulps = (got.to_bits() as i64 - want.to_bits() as i64).unsigned_abs();
            o.worst_pred = o.worst_pred.max(ulps as f64 / 2.0);
            if ulps > 2 {
                o.failures.push(format!(
                    "row {r}, prediction {k}: core {got} vs XGBoost {want} ({ulps} ulp)"
                ));
            }
        }
    }
    Ok(o)
}

/// The start of an XGBoost4J-Spark model's source line (and `emkern inspect`'s): the class, the XGBoost release
/// (releases before 3.0 write it in the metadata) and the Spark version.
fn xgboost4j_source(meta: &serde_json::Value) -> String {
    let class = meta["class"].as_str().unwrap_or("?");
    let short = class.rsplit('.').next().unwrap_or(class);
    let version = meta["version"].as_str().unwrap_or("?");
    let spark = meta["spark_version"].as_str().unwrap_or("?");
    if version.starts_with("3.") {
        format!("XGBoost4J-Spark {short}, Spark {spark}; xgboost {version}")
    } else {
        let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
        let booster = if meta["booster_format"] == "deprecated" {
            format!("xgboost {minor} (legacy binary)")
        } else {
            format!("xgboost {version}")
        };
        format!("XGBoost4J-Spark {short}, XGBoost {version}, Spark {spark}; {booster}")
    }
}

#[test]
fn xgboost4j_fixtures_match_xgboost() {
    run_all(
        "XGBoost4J-Spark",
        &xgboost4j_root(),
        "model/metadata/part-00000",
        run_xgboost4j_fixture,
    );
}

/// `emkern import`, `inspect` and `predict` (margins and predictions, from the blob and from the directory) on
/// every XGBoost4J-Spark fixture: the printed values are XGBoost's f32 outputs (margins bit for bit, predictions
/// within 2 ulp).
#[test]
fn xgboost4j_cli_import_and_predict_match_xgboost() {
    let tmp = scratch("spark", "xgboost4j-cli");
    let dirs = common::cli::fixture_dirs(
        &xgboost4j_root(),
        "model/metadata/part-00000",
        "XGBoost4J-Spark",
    );
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let model = dir.join("model");
        let blob = tmp.join(format!("{name}.emk"));
        let said = emkern(&[
            "import".as_ref(),
            model.as_os_str(),
            "-o".as_ref(),
            blob.as_os_str(),
        ])
        .unwrap();
        assert!(said.contains("(Spark ML)"), "{name}: {said}");
        let want = xgboost4j_source(&meta(&dir).unwrap());
        let inspect = emkern(&["inspect".as_ref(), model.as_os_str()]).unwrap();
        assert!(inspect.contains(&want), "{name}: no `{want}` in\n{inspect}");
        let input = dir.join("input.csv");
        for (from, margin, file, ulps) in [
            (&blob, true, "margin.csv", 0),
            (&blob, false, "pred.csv", 2),
            (&model, false, "pred.csv", 2),
        ] {
            let mut args = vec![
                "predict".as_ref(),
                "--model".as_ref(),
                from.as_os_str(),
                "--input".as_ref(),
                input.as_os_str(),
            ];
            if margin {
                args.push("--margin".as_ref());
            }
            let out = emkern(&args).unwrap();
            let want = read_csv(&dir.join(file)).unwrap();
            let got: Vec<Vec<f32>> = out
                .lines()
                .map(|l| l.split(',').map(|c| c.trim().parse().unwrap()).collect())
                .collect();
            assert_eq!(got.len(), want.rows.len(), "{name}: {file} rows");
            for (r, (g, w)) in got.iter().zip(&want.rows).enumerate() {
                assert_eq!(g.len(), w.len(), "{name}: {file} row {r}");
                for (&g, &w) in g.iter().zip(w) {
                    let w = w as f32;
                    let d = (g.to_bits() as i64 - w.to_bits() as i64).unsigned_abs();
                    assert!(d <= ulps, "{name}: {file} row {r}: emkern {g}, XGBoost {w}");
                }
            }
        }
        // A legacy binary booster file is also a model file of its own.
        let data = [
            "data/XGBoostClassificationModel",
            "data/XGBoostRegressionModel",
        ]
        .map(|f| model.join(f))
        .into_iter()
        .find(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"binf")));
        if let Some(data) = data {
            let alone = tmp.join(format!("{name}-booster.emk"));
            let said = emkern(&[
                "import".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                alone.as_os_str(),
            ])
            .unwrap();
            assert!(said.contains("(XGBoost legacy binary)"), "{name}: {said}");
            let out = emkern(&[
                "predict".as_ref(),
                "--model".as_ref(),
                alone.as_os_str(),
                "--input".as_ref(),
                input.as_os_str(),
                "--margin".as_ref(),
            ])
            .unwrap();
            let want = read_csv(&dir.join("margin.csv")).unwrap();
            for (r, (line, w)) in out.lines().zip(&want.rows).enumerate() {
                let g: Vec<f32> = line.split(',').map(|c| c.trim().parse().unwrap()).collect();
                let w: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                assert_eq!(g, w, "{name}: booster file alone, row {r}");
            }
        }
        println!("{name:<32} import, inspect, predict: XGBoost's outputs");
    }
}

/// Damaged XGBoost4J-Spark directories, and a `missing` other than NaN, are errors naming the file and the field
/// or byte, from the library and the CLI.
#[test]
fn xgboost4j_refusals_name_the_file_and_field() {
    let tmp = scratch("spark", "xgboost4j-damaged");
    let copy = |name: &str| {
        let from = xgboost4j_root().join(name).join("model");
        let dest = tmp.join(name);
        for sub in ["metadata", "data"] {
            std::fs::create_dir_all(dest.join(sub)).unwrap();
            for e in std::fs::read_dir(from.join(sub)).unwrap() {
                let p = e.unwrap().path();
                std::fs::copy(&p, dest.join(sub).join(p.file_name().unwrap())).unwrap();
            }
        }
        dest
    };
    let import_err = |dir: &Path| {
        let lib = spark::load(dir).unwrap_err().to_string();
        let cli = emkern(&[
            "import".as_ref(),
            dir.as_os_str(),
            "-o".as_ref(),
            tmp.join("x.emk").as_os_str(),
        ])
        .unwrap_err();
        assert!(cli.contains(&lib), "CLI: {cli}\nlibrary: {lib}");
        lib
    };

    // A model whose `missing` is 0.0: values equal to it are missing in XGBoost4J-Spark, which emkern refuses.
    let dir = copy("v1.7.6-binary");
    let p = dir.join("metadata/part-00000");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        text.replacen("\"paramMap\":{", "\"paramMap\":{\"missing\":0.0,", 1),
    )
    .unwrap();
    let e = import_err(&dir);
    assert!(
        e.contains("metadata/part-00000") && e.contains("paramMap.missing") && e.contains("0.0"),
        "{e}"
    );

    // A truncated legacy binary booster: the byte where it ends.
    let dir = copy("v1.7.6-multiclass");
    let data = dir.join("data/XGBoostClassificationModel");
    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&data, &bytes[..bytes.len() / 2]).unwrap();
    let e = import_err(&dir);
    assert!(
        e.contains("data/XGBoostClassificationModel") && e.contains("byte "),
        "{e}"
    );

    // The class count in the metadata disagrees with the booster.
    let dir = copy("v3.2.0-multiclass");
    let p = dir.join("metadata/part-00000");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("\"numClass\":3", "\"numClass\":4", 1)).unwrap();
    let e = import_err(&dir);
    assert!(
        e.contains("paramMap.numClass") && e.contains("3 outputs"),
        "{e}"
    );

    // No booster file.
    let dir = copy("v3.2.0-regression-json");
    std::fs::remove_file(dir.join("data/model")).unwrap();
    let e = import_err(&dir);
    assert!(
        e.contains("data/model") && e.contains("data/XGBoostRegressionModel"),
        "{e}"
    );
}
