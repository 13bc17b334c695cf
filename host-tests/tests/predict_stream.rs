//! `emkern predict` streams its input in chunks on several threads: every chunk size and thread count writes the
//! same file, byte for byte, and that file is the framework's predictions (the fixtures' `margin.csv`, written
//! by XGBoost and LightGBM themselves).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("predict_stream");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `emkern predict` with `extra` options; returns the written CSV.
fn predict(model: &Path, input: &Path, out: &Path, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_emkern"))
        .arg("predict")
        .arg("--model")
        .arg(model)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .args(["--margin", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

/// The values of a CSV file without its header (if any), as f32.
fn values(text: &str) -> Vec<Vec<f32>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            l.split(',')
                .all(|c| c.trim() == "nan" || c.trim().parse::<f64>().is_ok())
        })
        .map(|l| {
            l.split(',')
                .map(|c| c.trim().parse::<f64>().unwrap_or(f64::NAN) as f32)
                .collect()
        })
        .collect()
}

#[test]
fn chunks_and_threads_write_the_frameworks_margins() {
    let fixtures = [
        ("xgboost/v3.2.0-binary-logistic-nan-heavy", "model.json"),
        ("xgboost/v3.2.0-multi-softprob", "model.json"),
        ("lightgbm/v4.7.0-binary", "model.txt"),
    ];
    for (fixture, model) in fixtures {
        let dir = repo().join("host-tests/fixtures").join(fixture);
        let model = dir.join(model);
        let input = dir.join("input.csv");
        let name = fixture.replace('/', "-");
        let reference = predict(
            &model,
            &input,
            &scratch(&format!("{name}-default.csv")),
            &[],
        );
        for (i, extra) in [
            &["--threads", "1"][..],
            &["--threads", "3", "--chunk-rows", "7"],
            &["--threads", "2", "--chunk-rows", "1"],
        ]
        .iter()
        .enumerate()
        {
            let got = predict(&model, &input, &scratch(&format!("{name}-{i}.csv")), extra);
            assert_eq!(got, reference, "{fixture} with {extra:?}");
        }
        let want = values(&std::fs::read_to_string(dir.join("margin.csv")).unwrap());
        let got = values(&reference);
        assert_eq!(got.len(), want.len(), "{fixture}: rows");
        for (r, (g, w)) in got.iter().zip(&want).enumerate() {
            for (a, b) in g.iter().zip(w) {
                let tol = 1e-6 * b.abs().max(1.0);
                assert!(
                    (a - b).abs() <= tol,
                    "{fixture}: row {}: {a} against the framework's {b}",
                    r + 1
                );
            }
        }
    }
}

#[test]
fn bad_thread_counts_and_late_bad_rows_are_errors() {
    let dir = repo().join("host-tests/fixtures/xgboost/v3.2.0-multi-softprob");
    let text = std::fs::read_to_string(dir.join("input.csv")).unwrap();
    // A bad cell far into the file, after several chunks were written: the error names its line and column,
    // and the output file is not left behind.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len();
    let mut cells: Vec<String> = lines[n - 2].split(',').map(str::to_string).collect();
    cells[2] = "oops".into();
    lines[n - 2] = cells.join(",");
    let bad = scratch("late-bad.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let out = scratch("late-bad-out.csv");
    let _ = std::fs::remove_file(&out);
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_emkern"))
            .arg("predict")
            .arg("--model")
            .arg(dir.join("model.json"))
            .arg("--input")
            .arg(&bad)
            .arg("--output")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--chunk-rows", "3", "--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains(&format!("late-bad.csv:{}: column 3", n - 1)) && stderr.contains("`oops`"),
        "{stderr}"
    );
    assert!(!out.exists(), "a partial output was left");
    let o = run(&["--threads", "0"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--threads 0"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
