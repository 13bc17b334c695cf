//! `emkern train --report`: every algorithm writes an HTML page or an SVG image of its training run, and the report
//! says what the command line printed.
//!
//! Each case runs the binary on a bundled dataset (`data/`) and checks the report file:
//! - it is well formed, roughly: every `<svg>`, `<text>` (and for HTML every table, row and figure) is closed;
//! - every curve is one `<polyline>` with one point per round, tree or depth (counts read from stdout), and no
//!   other polyline has more than the two points of an axis or tick;
//! - it names the top features stdout lists;
//! - in HTML, the metrics table holds exactly the numbers of stdout's `train`, `valid` (and `oob`) lines, and the
//!   summary the printed trees, nodes, blob bytes and training time.
//!
//! An unknown extension is refused before any data is read. When Python with XGBoost ≥ 3.1 is available
//! (`EMKERN_PYTHON` or `python3`), hist-gbdt's per-round training and validation metrics are XGBoost's own
//! `evals_result` for the same data and parameters (skipped loudly otherwise).

#[path = "common/python.rs"]
mod python;
#[path = "common/scratch.rs"]
mod scratch;

use std::path::{Path, PathBuf};

use scratch::Scratch;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `emkern-report-<name>-<pid>`, removed when the test passes.
fn scratch(name: &str) -> Scratch {
    Scratch::new(&format!("report-{name}"))
}

/// A finished `emkern train` run.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
    /// The report's text (empty when the file was not written).
    report: String,
    /// The blob's path.
    blob: PathBuf,
    /// The directory holding the blob and the report, removed when the test passes.
    _dir: Scratch,
}

/// Runs `emkern train <args> -o <dir>/model.emk --report <dir>/<report> --quiet` from the repository root.
fn train(name: &str, args: &[&str], report: &str) -> Run {
    let dir = scratch(name);
    let blob = dir.join("model.emk");
    let path = dir.join(report);
    let _ = std::fs::remove_file(&path);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
        .current_dir(repo())
        .arg("train")
        .args(args)
        .arg("-o")
        .arg(&blob)
        .arg("--report")
        .arg(&path)
        .arg("--quiet")
        .output()
        .unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report: std::fs::read_to_string(&path).unwrap_or_default(),
        blob,
        _dir: dir,
    }
}

/// The text after `  <label>` on the stdout line that starts with it.
fn line<'a>(stdout: &'a str, label: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("  {label} ")))
        .map(str::trim)
}

/// The number just before `word` in `text` (`366 nodes` → 366).
fn number_before(text: &str, word: &str) -> usize {
    let at = text
        .find(&format!(" {word}"))
        .unwrap_or_else(|| panic!("no `{word}` in {text}"));
    text[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no number before `{word}` in {text}"))
}

/// The words of a printed line that are numbers, as printed (`(455` → `455`).
fn numbers(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c| c == '(' || c == ')' || c == ','))
        .filter(|w| w.parse::<f64>().is_ok())
        .map(String::from)
        .collect()
}

/// Point counts of every `<polyline>`.
fn polylines(doc: &str) -> Vec<usize> {
    doc.split("<polyline")
        .skip(1)
        .map(|p| {
            let points = p
                .split("points=\"")
                .nth(1)
                .and_then(|q| q.split('"').next())
                .expect("a polyline has points");
            points.split_whitespace().count()
        })
        .collect()
}

/// Checks that every curve is one polyline with `expected` points: `counts` lists (points, curves) pairs, and
/// no other polyline has more than 2 points.
fn check_curves(doc: &str, counts: &[(usize, usize)]) {
    let lengths = polylines(doc);
    for &(points, curves) in counts {
        assert!(
            points > 2,
            "a curve of {points} points cannot be told from an axis"
        );
        let found = lengths.iter().filter(|&&l| l == points).count();
        assert_eq!(
            found, curves,
            "{curves} curves of {points} points expected; polylines: {lengths:?}"
        );
    }
    let total: usize = counts.iter().map(|c| c.1).sum();
    assert_eq!(
        lengths.iter().filter(|&&l| l > 2).count(),
        total,
        "polylines: {lengths:?}"
    );
}

/// Checks that `tags` open as often as they close.
fn check_balanced(doc: &str, tags: &[&str]) {
    for tag in tags {
        let open = doc
            .match_indices(&format!("<{tag}"))
            .filter(|(at, m)| matches!(doc.as_bytes().get(at + m.len()), Some(b'>' | b' ' | b'\n')))
            .count();
        let close = doc.matches(&format!("</{tag}>")).count();
        assert!(open > 0, "no <{tag}>");
        assert_eq!(
            open, close,
            "<{tag}> opened {open} times, closed {close} times"
        );
    }
}

fn check_svg(doc: &str) {
    assert!(doc.starts_with("<svg"), "{}", &doc[..doc.len().min(200)]);
    assert!(doc.trim_end().ends_with("</svg>"));
    assert_eq!(doc.matches("<svg").count(), 1, "one image");
    check_balanced(doc, &["svg", "text"]);
}

fn check_html(doc: &str) {
    assert!(doc.starts_with("<!DOCTYPE html>"));
    check_balanced(
        doc,
        &[
            "html", "head", "body", "table", "tbody", "tr", "th", "td", "figure", "svg", "text",
        ],
    );
    for external in ["<script", "href=", "src=", "<link", "@import", "url("] {
        assert!(!doc.contains(external), "the page uses `{external}`");
    }
}

/// The names of the top features stdout lists.
fn top_features(stdout: &str) -> Vec<String> {
    let list = line(stdout, "features").expect("a features line");
    let list = list.split(" (").next().unwrap();
    list.split(", ")
        .map(|f| f.rsplit_once(' ').unwrap().0.to_string())
        .collect()
}

fn check_features(run: &Run) {
    let names = top_features(&run.stdout);
    assert!(!names.is_empty());
    for name in names {
        assert!(
            run.report.contains(&format!(">\n{name}\n</text>")),
            "feature `{name}` missing from the importance chart"
        );
    }
}

/// The cells of the metrics table's row for `split`.
fn metrics_row(doc: &str, split: &str) -> Vec<String> {
    let table = doc
        .split("<table class=\"metrics\">")
        .nth(1)
        .expect("a metrics table");
    let start = format!("<tr><th>{split}</th>");
    let row = table
        .split("</tr>")
        .find_map(|r| r.find(&start).map(|at| &r[at + start.len()..]))
        .unwrap_or_else(|| panic!("no `{split}` row in the metrics table"));
    row.split("<td class=\"num\">")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The value of the summary table's row `name`.
fn fact<'a>(doc: &'a str, name: &str) -> &'a str {
    let start = format!("<tr><th>{name}</th><td>");
    let at = doc
        .find(&start)
        .unwrap_or_else(|| panic!("no `{name}` in the summary"));
    doc[at + start.len()..].split("</td>").next().unwrap()
}

/// Checks that the HTML report holds stdout's metrics (every split printed) and summary numbers.
fn check_summary(run: &Run) {
    let out = &run.stdout;
    for (label, split) in [("train", "train"), ("valid", "valid"), ("oob", "OOB")] {
        let Some(printed) = line(out, label) else {
            continue;
        };
        assert_eq!(
            metrics_row(&run.report, split),
            numbers(printed),
            "`{split}` metrics differ from stdout's `{printed}`"
        );
    }
    let trained = line(out, "trained").expect("a trained line");
    let nodes = number_before(trained, "nodes");
    assert_eq!(fact(&run.report, "nodes"), nodes.to_string());
    // `60 trees, …` (forests, boosting), `78 trees (26 rounds × 3 outputs)` (hist-gbdt), `1 tree, …` (cart).
    let trees = ["trees,", "trees (", "tree,"]
        .iter()
        .find(|w| trained.contains(&format!(" {w}")))
        .map(|w| number_before(trained, w))
        .expect("a tree count");
    assert_eq!(fact(&run.report, "trees"), trees.to_string());
    let seconds = trained
        .split(" in ")
        .nth(1)
        .unwrap()
        .split(" s")
        .next()
        .unwrap();
    assert_eq!(fact(&run.report, "training time"), format!("{seconds} s"));
    let blob = line(out, "blob").expect("a blob line");
    let bytes = number_before(blob, "bytes,");
    assert_eq!(
        fact(&run.report, "blob"),
        format!("{}: {bytes} bytes", run.blob.display())
    );
    assert!(run.stdout.contains("  report    "));
}

const IRIS: [&str; 6] = [
    "--data",
    "data/iris_train.csv",
    "--target",
    "label",
    "--valid",
    "data/iris_test.csv",
];
const WINE: [&str; 6] = [
    "--data",
    "data/wine_train.csv",
    "--target",
    "label",
    "--valid",
    "data/wine_test.csv",
];
const CANCER: [&str; 6] = [
    "--data",
    "data/breast_cancer_train.csv",
    "--target",
    "label",
    "--valid",
    "data/breast_cancer_test.csv",
];
const DIABETES: [&str; 6] = [
    "--data",
    "data/diabetes_train.csv",
    "--target",
    "target",
    "--valid",
    "data/diabetes_test.csv",
];

fn args<'a>(data: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    [extra, data].concat()
}

#[test]
fn gbdt_html_has_a_point_per_round() {
    let run = train(
        "gbdt",
        &args(
            &IRIS,
            &["--algo", "gbdt", "--n-estimators", "20", "--max-depth", "2"],
        ),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    // log-loss (train, valid) and accuracy (train, valid) per round.
    check_curves(&run.report, &[(20, 4)]);
    check_features(&run);
    check_summary(&run);
    assert!(run.report.contains("log-loss per round"));
    assert!(run.report.contains("Accuracy per round"));
    assert!(fact(&run.report, "parameters").contains("n_estimators=20"));
}

#[test]
fn gbdt_early_stopping_marks_the_kept_round() {
    let run = train(
        "gbdt-early",
        &[
            "--algo",
            "gbdt",
            "--data",
            "data/breast_cancer_train.csv",
            "--target",
            "label",
            "--n-estimators",
            "300",
            "--n-iter-no-change",
            "4",
            "--subsample",
            "0.8",
        ],
        "report.svg",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_svg(&run.report);
    let stopping = line(&run.stdout, "stopping").expect("a stopping line");
    let trained = number_before(stopping, "of");
    let kept = number_before(stopping, "(on");
    assert!(kept <= trained && trained < 300, "{stopping}");
    // The loss on the in-bag and held-out rows for every round trained; the accuracy of the rounds kept.
    if kept == trained {
        check_curves(&run.report, &[(trained, 3)]);
    } else {
        check_curves(&run.report, &[(trained, 2), (kept, 1)]);
    }
    assert!(run.report.contains(&format!("kept: {kept} rounds")));
    assert!(run.report.contains("train (in-bag)") && run.report.contains("held-out 10%"));
    check_features(&run);
}

#[test]
fn adaboost_samme_shows_the_weighted_error() {
    let run = train(
        "adaboost",
        &args(&WINE, &["--algo", "adaboost", "--n-estimators", "15"]),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    let trained = line(&run.stdout, "trained").unwrap();
    let rounds = number_before(trained, "rounds");
    let trees = number_before(trained, "trees");
    assert_eq!((rounds, trees), (15, 15), "{trained}");
    // Weighted error, then accuracy (train, valid).
    check_curves(&run.report, &[(15, 3)]);
    assert!(run.report.contains("Weighted training error per round"));
    check_features(&run);
    check_summary(&run);
}

#[test]
fn adaboost_r2_reports_its_weighted_median_blob() {
    let run = train(
        "adaboost-r2",
        &args(&DIABETES, &["--algo", "adaboost", "--n-estimators", "12"]),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    // Weighted error, then RMSE (train, valid), per round.
    check_curves(&run.report, &[(12, 3)]);
    assert!(fact(&run.report, "blob").contains("bytes"));
    for label in ["train", "valid"] {
        assert!(!line(&run.stdout, label).unwrap().ends_with("(trainer)"));
    }
    check_features(&run);
    check_summary(&run);
}

#[test]
fn random_forest_svg_has_train_valid_and_oob_by_tree() {
    let run = train(
        "rf",
        &args(
            &CANCER,
            &[
                "--algo",
                "rf",
                "--n-estimators",
                "25",
                "--oob",
                "--threads",
                "2",
            ],
        ),
        "report.svg",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_svg(&run.report);
    // Accuracy (train, valid, OOB) and log-loss (train, valid) of the first t trees.
    check_curves(&run.report, &[(25, 5)]);
    assert!(run.report.contains("Accuracy by number of trees"));
    check_features(&run);
    // The header repeats the printed metrics.
    let oob = line(&run.stdout, "oob").unwrap();
    assert!(
        run.report
            .contains(&format!("OOB: accuracy {}", numbers(oob)[0]))
    );
}

#[test]
fn random_forest_html_metrics_include_oob() {
    let run = train(
        "rf-html",
        &args(&IRIS, &["--algo", "rf", "--n-estimators", "8", "--oob"]),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    check_curves(&run.report, &[(8, 5)]);
    check_summary(&run);
    assert_eq!(
        metrics_row(&run.report, "OOB").len(),
        2,
        "accuracy and rows"
    );
}

#[test]
fn extra_trees_regression_shows_rmse_and_r2() {
    let run = train(
        "extra-trees",
        &args(
            &DIABETES,
            &["--algo", "extra-trees", "--n-estimators", "15"],
        ),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    check_curves(&run.report, &[(15, 4)]);
    assert!(
        run.report.contains("RMSE by number of trees")
            && run.report.contains("R² by number of trees")
    );
    check_features(&run);
    check_summary(&run);
}

#[test]
fn cart_shows_the_tree_cut_at_each_depth() {
    let run = train(
        "cart",
        &args(&WINE, &["--algo", "cart", "--max-depth", "4"]),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    let trained = line(&run.stdout, "trained").unwrap();
    let depth = trained
        .split("depth ≤ ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse::<usize>()
        .unwrap();
    assert!(depth >= 2, "{trained}");
    // Depths 0..=depth: accuracy and log-loss, train and valid.
    check_curves(&run.report, &[(depth + 1, 4)]);
    assert!(run.report.contains("Accuracy by depth"));
    assert!(
        run.report
            .contains(&format!("cut at each depth from 0 to {depth}"))
    );
    check_features(&run);
    check_summary(&run);
}

#[test]
fn hist_gbdt_html_shows_xgboosts_metric_per_round() {
    let run = train(
        "hist",
        &args(
            &WINE,
            &[
                "--algo",
                "hist-gbdt",
                "--n-estimators",
                "12",
                "--max-depth",
                "3",
            ],
        ),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    check_curves(&run.report, &[(12, 2)]);
    assert!(run.report.contains("mlogloss per round"));
    check_features(&run);
    check_summary(&run);
}

#[test]
fn hist_gbdt_early_stopping_marks_the_best_round() {
    let run = train(
        "hist-early",
        &args(
            &CANCER,
            &[
                "--algo",
                "hist-gbdt",
                "--n-estimators",
                "200",
                "--early-stopping-rounds",
                "5",
            ],
        ),
        "report.svg",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_svg(&run.report);
    let early = line(&run.stdout, "early").expect("an early line");
    let best = number_before(early, "of");
    let trained = number_before(early, "trained");
    assert!(best < trained && trained < 200, "{early}");
    check_curves(&run.report, &[(trained, 2)]);
    assert!(run.report.contains(&format!("best round {best}")));
    assert!(run.report.contains("logloss per round"));
    check_features(&run);
}

#[test]
fn hist_gbdt_regression_svg() {
    let run = train(
        "hist-reg",
        &args(
            &DIABETES,
            &[
                "--algo",
                "hist-gbdt",
                "--n-estimators",
                "10",
                "--max-depth",
                "2",
            ],
        ),
        "report.svg",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_svg(&run.report);
    check_curves(&run.report, &[(10, 2)]);
    assert!(run.report.contains("rmse per round"));
    check_features(&run);
}

#[test]
fn unknown_report_extension_fails_before_training() {
    let dir = scratch("bad-extension");
    let blob = dir.join("model.emk");
    let _ = std::fs::remove_file(&blob);
    for report in ["report.pdf", "report"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_emkern"))
            .current_dir(repo())
            .args(["train", "--algo", "gbdt"])
            .args(IRIS)
            .arg("-o")
            .arg(&blob)
            .arg("--report")
            .arg(dir.join(report))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success());
        assert!(
            stderr.contains(&format!("--report {}", dir.join(report).display()))
                && stderr.contains(".html")
                && stderr.contains(".svg"),
            "{stderr}"
        );
        assert!(stdout.is_empty(), "nothing is read or trained: {stdout}");
        assert!(!blob.exists());
        assert!(!dir.join(report).exists());
    }
}

/// XGBoost's per-round metric on train and valid (`evals_result`) for `rounds` rounds of default `hist` boosting.
const XGBOOST_EVALS: &str = r#"
import json, sys
import numpy as np
import xgboost as xgb
train, valid, target, objective, rounds = sys.argv[1:6]
def load(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    x = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    t = header.index(target)
    return xgb.DMatrix(np.delete(x, t, axis=1), label=x[:, t])
dt, dv = load(train), load(valid)
params = {"objective": objective, "tree_method": "hist", "seed": 0}
if objective == "multi:softprob":
    params["num_class"] = int(max(dt.get_label())) + 1
log = {}
xgb.train(params, dt, int(rounds), evals=[(dt, "train"), (dv, "valid")], evals_result=log, verbose_eval=False)
print(json.dumps({k: list(v.values())[0] for k, v in log.items()}))
"#;

#[test]
fn hist_gbdt_curves_are_xgboosts_eval_log() {
    use emkern_host::train::dataset::{Dataset, DatasetSpec};
    use emkern_host::train::hist::booster::eval_metric;
    use emkern_host::train::hist::{HistBooster, HistParams, Objective};
    // XGBoost's own training: 3.4 grows the trees emkern's booster reproduces (earlier releases differ).
    let Some(py) =
        python::python_or_skip("hist_gbdt_curves_are_xgboosts_eval_log", "xgboost", (3, 4))
    else {
        return;
    };
    for (name, target, objective) in [
        ("breast_cancer", "label", Objective::BinaryLogistic),
        ("wine", "label", Objective::MultiSoftprob),
        ("diabetes", "target", Objective::SquaredError),
    ] {
        let train_path = repo().join(format!("data/{name}_train.csv"));
        let valid_path = repo().join(format!("data/{name}_test.csv"));
        let spec = DatasetSpec {
            target: target.into(),
            ..DatasetSpec::default()
        };
        let train = Dataset::from_csv(&train_path, &spec).unwrap();
        let valid = Dataset::from_csv_like(&valid_path, &train.schema).unwrap();
        let p = HistParams {
            objective: Some(objective),
            n_estimators: 12,
            ..HistParams::default()
        };
        // What `emkern train --report` records: the metric of the training margins after every round.
        let curve = std::sync::Mutex::new(Vec::new());
        let model = HistBooster::train(&train, Some(&valid), &p, &|r| {
            let k = r.train_margins.len() / train.n_rows;
            let m = eval_metric(objective, r.train_margins, k, &train.target, None);
            curve.lock().unwrap().push(m);
        })
        .unwrap();
        let ours = [curve.into_inner().unwrap(), model.history.clone()];
        let out = std::process::Command::new(&py)
            .args(["-c", XGBOOST_EVALS])
            .arg(&train_path)
            .arg(&valid_path)
            .args([target, objective.name(), "12"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for (split, ours) in ["train", "valid"].iter().zip(&ours) {
            let theirs: Vec<f64> = theirs[split]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(ours.len(), theirs.len(), "{name} {split}");
            for (round, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                // XGBoost accumulates its metric in its own order (and prints it from f32 partial sums).
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                    "{name} {split} round {}: {a} vs XGBoost {b}",
                    round + 1
                );
            }
        }
    }
}

/// Each base's metric lines from a stack's stdout: `(split (base), printed line)` for the `oof`, `train` and
/// `valid` lines under `bases`.
fn stack_base_lines(stdout: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut base = String::new();
    let mut inside = false;
    for l in stdout.lines() {
        if l.starts_with("  bases ") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if !l.starts_with("    ") {
            break;
        }
        let mut words = l.split_whitespace();
        let first = words.next().unwrap();
        let split = if ["oof", "train", "valid"].contains(&first) {
            first
        } else {
            base = first.to_string();
            words.next().unwrap()
        };
        let at = l.find(&format!(" {split} ")).unwrap() + split.len() + 2;
        rows.push((format!("{split} ({base})"), l[at..].trim().to_string()));
    }
    rows
}

#[test]
fn stack_html_has_every_base_and_no_curve() {
    let run = train(
        "stack",
        &args(
            &CANCER,
            &[
                "--algo",
                "stack",
                "--base",
                "rf,gbdt",
                "--n-estimators",
                "15",
                "--cv",
                "3",
            ],
        ),
        "report.html",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_html(&run.report);
    // No curve (a stack has no stages), a note saying why, and the importance chart.
    check_curves(&run.report, &[]);
    assert!(
        run.report
            .contains("No training curve: a stack is not grown in stages")
    );
    check_features(&run);
    // The stack's metrics, then every base's, exactly as printed.
    for split in ["train", "valid"] {
        let printed = line(&run.stdout, split).unwrap();
        assert_eq!(metrics_row(&run.report, split), numbers(printed), "{split}");
    }
    let bases = stack_base_lines(&run.stdout);
    let labels: Vec<&str> = bases.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "oof (rf)",
            "train (rf)",
            "valid (rf)",
            "oof (gbdt)",
            "train (gbdt)",
            "valid (gbdt)"
        ]
    );
    for (label, printed) in &bases {
        assert_eq!(metrics_row(&run.report, label), numbers(printed), "{label}");
    }
    // The summary: bases, folds, meta-model and its weights as printed, the blob and the time.
    assert_eq!(fact(&run.report, "bases"), "rf, gbdt");
    assert_eq!(
        fact(&run.report, "cross-validation"),
        "3 folds, stratified, fold seed 0"
    );
    assert!(fact(&run.report, "meta-model").starts_with("logistic regression (C=1), fitted in"));
    assert_eq!(
        fact(&run.report, "meta weights"),
        line(&run.stdout, "meta").unwrap()
    );
    let shares = fact(&run.report, "base shares of the meta margin");
    let total: f64 = shares
        .split(", ")
        .map(|s| s.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 2e-3, "{shares}");
    assert_eq!(fact(&run.report, "base fits"), "8");
    let trained = line(&run.stdout, "trained").unwrap();
    assert!(trained.starts_with("8 base fits in "), "{trained}");
    let seconds = trained
        .split(" in ")
        .nth(1)
        .unwrap()
        .split(" s")
        .next()
        .unwrap();
    assert_eq!(fact(&run.report, "training time"), format!("{seconds} s"));
    let blob = line(&run.stdout, "blob").unwrap();
    assert_eq!(
        fact(&run.report, "blob"),
        format!(
            "{}: {} bytes",
            run.blob.display(),
            number_before(blob, "bytes,")
        )
    );
    assert_eq!(
        fact(&run.report, "trees"),
        number_before(blob, "trees,").to_string()
    );
    assert_eq!(
        fact(&run.report, "nodes"),
        number_before(blob, "nodes").to_string()
    );
}

#[test]
fn multiclass_stack_svg_has_importances_and_the_note() {
    let run = train(
        "stack-wine",
        &args(
            &WINE,
            &["--algo", "stack", "--n-estimators", "10", "--cv", "3"],
        ),
        "report.svg",
    );
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    check_svg(&run.report);
    check_curves(&run.report, &[]);
    check_features(&run);
    assert!(run.report.contains("No training curve"));
    // The HTML of the same run names each margin's meta weights.
    let html = train(
        "stack-wine-html",
        &args(
            &WINE,
            &["--algo", "stack", "--n-estimators", "10", "--cv", "3"],
        ),
        "report.html",
    );
    assert!(html.ok, "{}\n{}", html.stdout, html.stderr);
    for o in 0..3 {
        let printed = html
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("  meta      margin {o}: ")))
            .unwrap();
        assert_eq!(
            fact(&html.report, &format!("meta weights (margin {o})")),
            printed
        );
    }
    assert_eq!(
        metrics_row(&html.report, "valid (hist-gbdt)"),
        numbers(&stack_base_lines(&html.stdout)[5].1)
    );
}
