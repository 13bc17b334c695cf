//! XGBoost fixtures end to end: every `fixtures/xgboost/<name>/` directory's model (JSON and UBJSON) is
//! imported, written as a blob, loaded by the core, and its margins and predictions for every row of
//! `input.csv` are held against XGBoost's own (`margin.csv`, `pred.csv`).
//!
//! The test fails when any fixture mismatches, when a fixture cannot be imported, and when no fixture is found
//! at all (so a missing fixture tree cannot pass silently). `EMKERN_XGBOOST_FIXTURES=<dir>` checks the fixture
//! directories under `<dir>` instead.

use std::path::{Path, PathBuf};

use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::import::xgboost;

/// Relative tolerance against XGBoost's f32 outputs (summation order differs).
const REL_TOL: f64 = 1e-5;
/// Absolute slack for values near zero.
const ABS_TOL: f64 = 1e-6;

/// An expected-output table: column names and rows of f64 values (full precision), read by
/// [`emkern_host::io::read_csv_f64`].
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

fn read_csv(path: &Path) -> Result<Table, String> {
    let t = emkern_host::io::read_csv_f64(path).map_err(|e| e.to_string())?;
    Ok(Table {
        header: t.columns,
        rows: t.rows,
    })
}

fn close(got: f64, want: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    (got - want).abs() <= ABS_TOL + REL_TOL * want.abs()
}

fn rel_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1e-3)
}

struct Outcome {
    rows: usize,
    max_margin_err: f64,
    max_pred_err: f64,
    mismatches: Vec<String>,
}

/// Imports one model file and checks every row. `Err` for import/export failures.
fn check_model(
    model: &Path,
    input: &Table,
    margin: &Table,
    pred: &Table,
) -> Result<Outcome, String> {
    let ensemble = xgboost::load(model).map_err(|e| format!("import: {e}"))?;
    let bytes = blob::write(&ensemble).map_err(|e| format!("export: {e}"))?;
    let forest = Forest::new(&bytes).map_err(|e| format!("blob: {e:?}"))?;
    if forest.n_features() > input.header.len() {
        return Err(format!(
            "model reads {} features, input has {}",
            forest.n_features(),
            input.header.len()
        ));
    }
    if margin.header.len() != forest.n_outputs() {
        return Err(format!(
            "margin.csv has {} columns, the model {} outputs",
            margin.header.len(),
            forest.n_outputs()
        ));
    }
    if pred.header.len() != forest.output_len() {
        return Err(format!(
            "pred.csv has {} columns, the model predicts {}",
            pred.header.len(),
            forest.output_len()
        ));
    }
    if margin.rows.len() != input.rows.len() || pred.rows.len() != input.rows.len() {
        return Err("input, margin and pred row counts differ".into());
    }
    let mut out = Outcome {
        rows: input.rows.len(),
        max_margin_err: 0.0,
        max_pred_err: 0.0,
        mismatches: Vec::new(),
    };
    let mut m = vec![0f32; forest.n_outputs()];
    let mut p = vec![0f32; forest.output_len()];
    for (r, row) in input.rows.iter().enumerate() {
        let x: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        forest
            .predict_margin(&x, &mut m)
            .map_err(|e| format!("predict_margin: {e:?}"))?;
        forest
            .predict(&x, &mut p)
            .map_err(|e| format!("predict: {e:?}"))?;
        for (k, (&got, &want)) in m.iter().zip(&margin.rows[r]).enumerate() {
            out.max_margin_err = out.max_margin_err.max(rel_err(got as f64, want));
            if !close(got as f64, want) {
                out.mismatches
                    .push(format!("row {r} margin[{k}]: got {got}, want {want}"));
            }
        }
        for (k, (&got, &want)) in p.iter().zip(&pred.rows[r]).enumerate() {
            out.max_pred_err = out.max_pred_err.max(rel_err(got as f64, want));
            if !close(got as f64, want) {
                out.mismatches
                    .push(format!("row {r} pred[{k}]: got {got}, want {want}"));
            }
        }
    }
    Ok(out)
}

/// The fixture directories: under `fixtures/xgboost`, or under `$EMKERN_XGBOOST_FIXTURES` when set (to check
/// models made elsewhere in the same layout).
fn fixture_dirs() -> Vec<PathBuf> {
    let root = match std::env::var_os("EMKERN_XGBOOST_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xgboost"),
    };
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("input.csv").is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    dirs
}

#[test]
fn xgboost_fixtures_match_xgboost() {
    let dirs = fixture_dirs();
    assert!(
        !dirs.is_empty(),
        "no XGBoost fixtures found under fixtures/xgboost (expected <name>/input.csv, margin.csv, pred.csv, model.*)"
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    println!(
        "{:<48} {:<6} {:>5} {:>11} {:>11}  result",
        "fixture", "format", "rows", "margin err", "pred err"
    );
    for dir in &dirs {
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let tables = (|| -> Result<_, String> {
            Ok((
                read_csv(&dir.join("input.csv"))?,
                read_csv(&dir.join("margin.csv"))?,
                read_csv(&dir.join("pred.csv"))?,
            ))
        })();
        let (input, margin, pred) = match tables {
            Ok(t) => t,
            Err(e) => {
                println!(
                    "{name:<48} {:<6} {:>5} {:>11} {:>11}  FAIL {e}",
                    "-", "-", "-", "-"
                );
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let models: Vec<(&str, PathBuf)> = [("json", "model.json"), ("ubj", "model.ubj")]
            .into_iter()
            .map(|(f, file)| (f, dir.join(file)))
            .filter(|(_, p)| p.is_file())
            .collect();
        if models.is_empty() {
            println!(
                "{name:<48} {:<6} {:>5} {:>11} {:>11}  FAIL no model file",
                "-", "-", "-", "-"
            );
            failures.push(format!("{name}: no model.json or model.ubj"));
        }
        for (format, path) in models {
            checked += 1;
            match check_model(&path, &input, &margin, &pred) {
                Ok(o) if o.mismatches.is_empty() => println!(
                    "{name:<48} {format:<6} {:>5} {:>11.2e} {:>11.2e}  ok",
                    o.rows, o.max_margin_err, o.max_pred_err
                ),
                Ok(o) => {
                    println!(
                        "{name:<48} {format:<6} {:>5} {:>11.2e} {:>11.2e}  FAIL {} mismatches, first: {}",
                        o.rows,
                        o.max_margin_err,
                        o.max_pred_err,
                        o.mismatches.len(),
                        o.mismatches[0]
                    );
                    failures.push(format!("{name} ({format}): {}", o.mismatches[0]));
                }
                Err(e) => {
                    println!(
                        "{name:<48} {format:<6} {:>5} {:>11} {:>11}  FAIL {e}",
                        "-", "-", "-"
                    );
                    failures.push(format!("{name} ({format}): {e}"));
                }
            }
        }
    }
    println!(
        "{} fixture directories, {checked} model files, {} failures",
        dirs.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} XGBoost fixture checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The release from a fixture's `meta.json` (`"version": "3.4.1"`) as numbers.
fn fixture_version(dir: &Path) -> Result<Vec<i64>, String> {
    let path = dir.join("meta.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let meta: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let v = meta["version"]
        .as_str()
        .ok_or_else(|| format!("{}: no version", path.display()))?;
    v.split('.')
        .map(|p| p.parse::<i64>().map_err(|e| format!("version {v}: {e}")))
        .collect()
}

/// Rows whose raw quantile outputs are out of order (a lower alpha's margin above a higher one's).
fn crossing_rows(margin: &Table) -> usize {
    margin
        .rows
        .iter()
        .filter(|r| r.windows(2).any(|w| w[0] > w[1]))
        .count()
}

/// Multi-quantile models with crossing outputs, from every release that has `reg:quantileerror`: the fixture
/// really crosses (rows whose margins are out of order by more than the comparison tolerance, so unsorted
/// outputs would fail), XGBoost's predictions follow its release's rule (3.4+ sorts each row, earlier releases
/// do not), and the core reproduces the predictions and the margins bit for bit from JSON and UBJSON.
#[test]
fn crossing_quantiles_follow_the_saving_release() {
    let dirs: Vec<PathBuf> = fixture_dirs()
        .into_iter()
        .filter(|d| d.to_string_lossy().ends_with("-reg-quantileerror-crossing"))
        .collect();
    let mut releases = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let version = fixture_version(dir).unwrap();
        let sorts = xgboost::sorts_quantiles(&version);
        let input = read_csv(&dir.join("input.csv")).unwrap();
        let margin = read_csv(&dir.join("margin.csv")).unwrap();
        let pred = read_csv(&dir.join("pred.csv")).unwrap();
        let crossing = crossing_rows(&margin);
        // Rows where the unsorted margins miss the sorted predictions by more than the general tolerance.
        let detectable = margin
            .rows
            .iter()
            .zip(&pred.rows)
            .filter(|(m, p)| m.iter().zip(p.iter()).any(|(&a, &b)| !close(a, b)))
            .count();
        assert!(
            crossing > 0,
            "{name}: no row with crossing quantile margins"
        );
        if sorts {
            assert!(
                detectable > 0,
                "{name}: XGBoost's sorted predictions equal the margins within tolerance on every row"
            );
        } else {
            assert_eq!(
                detectable, 0,
                "{name}: a release before 3.4 returned predictions other than the margins"
            );
        }
        for file in ["model.json", "model.ubj"] {
            let ensemble = xgboost::load(&dir.join(file)).unwrap();
            let bytes = blob::write(&ensemble).unwrap();
            let forest = Forest::new(&bytes).unwrap();
            let k = forest.n_outputs();
            let (mut m, mut p) = (vec![0f32; k], vec![0f32; k]);
            for (r, row) in input.rows.iter().enumerate() {
                let x: Vec<f32> = row.iter().map(|&v| v as f32).collect();
                forest.predict_margin(&x, &mut m).unwrap();
                forest.predict(&x, &mut p).unwrap();
                for c in 0..k {
                    assert_eq!(
                        (m[c] as f64).to_bits(),
                        margin.rows[r][c].to_bits(),
                        "{name}/{file}: row {r} margin {c}: core {}, XGBoost {}",
                        m[c],
                        margin.rows[r][c]
                    );
                    assert_eq!(
                        (p[c] as f64).to_bits(),
                        pred.rows[r][c].to_bits(),
                        "{name}/{file}: row {r} prediction {c}: core {}, XGBoost {}",
                        p[c],
                        pred.rows[r][c]
                    );
                }
            }
        }
        println!(
            "{name:<48} {} rows, {crossing} with crossing margins, {detectable} predictions differ from the margins ({})",
            input.rows.len(),
            if sorts { "sorted" } else { "not sorted" }
        );
        releases.push(sorts);
    }
    // Both rules are exercised: releases that sort and releases that do not.
    assert!(
        releases.contains(&true) && releases.contains(&false),
        "expected crossing-quantile fixtures from releases before and after 3.4, found {} fixtures",
        dirs.len()
    );
}
