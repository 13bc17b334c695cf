//! Training reports: `emkern train --report report.html|report.svg`.
//!
//! A trainer fills in a [`ReportData`]: facts about the run (algorithm, parameters, rows, trees, nodes, blob
//! bytes, training time), the metric lines it printed, [charts](Chart) of metrics per boosting round, per tree or
//! per depth (see [`staged`] for the curves computed from trained models), and the feature importances. The
//! report is written as
//!
//! - `.svg`: one image, the curves and the importance chart stacked under a title;
//! - `.html`: a self-contained page (no script, no external resource) with the summary tables and every chart as
//!   an inline SVG.
//!
//! The plots are drawn with `plotters`' SVG backend ([`plot`]); the page is written by [`html`].

pub mod html;
pub mod plot;
pub mod run;
pub mod staged;

use std::fmt::Display;
use std::path::Path;

use crate::train::config::TrainConfig;
use crate::train::dataset::Dataset;

/// The report file's format, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// A self-contained HTML page.
    Html,
    /// One SVG image.
    Svg,
}

impl ReportFormat {
    /// The format of `path` (`.html`, `.htm` or `.svg`, any case), or an error naming the path.
    pub fn from_path(path: &Path) -> Result<ReportFormat, String> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("html" | "htm") => Ok(ReportFormat::Html),
            Some("svg") => Ok(ReportFormat::Svg),
            other => Err(format!(
                "--report {}: the report is written as .html (a page with the plots and the summary) or .svg \
                 (the plots only), {}",
                path.display(),
                match other {
                    Some(e) => format!("not .{e}"),
                    None => "and this name has no extension".into(),
                }
            )),
        }
    }
}

/// One curve: `(x, y)` points in order. Points with a non-finite coordinate are skipped when drawn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The legend name (`train`, `valid`, `OOB`).
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series of `values` at x = 1, 2, 3, … (rounds or trees).
    pub fn from_rounds(name: &str, values: &[f64]) -> Series {
        Series {
            name: name.to_string(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect(),
        }
    }

    /// The points that can be drawn (both coordinates finite).
    pub fn finite_points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }
}

/// A vertical line across a chart, with a label (the best round kept by early stopping).
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// Where.
    pub x: f64,
    /// What it marks.
    pub label: String,
}

/// A line chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chart {
    /// The caption.
    pub title: String,
    /// What x counts (`round`, `trees`, `depth`).
    pub x_label: String,
    /// The metric on y.
    pub y_label: String,
    /// The curves, each in its own color.
    pub series: Vec<Series>,
    /// An optional vertical marker.
    pub marker: Option<Marker>,
}

/// The metrics of one split, as printed on the command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsRow {
    /// `train`, `valid`, `OOB`.
    pub split: String,
    /// `(metric, value)` pairs in printed order, values as printed.
    pub values: Vec<(String, String)>,
    /// Rows scored, as printed.
    pub rows: Option<String>,
    /// What the printed line added in parentheses besides the row count (`trainer`).
    pub note: Option<String>,
}

impl MetricsRow {
    /// Parses a printed metrics line, metrics separated by two spaces: `accuracy 0.9561  log-loss 0.1234  AUC
    /// 0.9876  (114 rows)`. A chunk `(N rows)` gives the row count; another parenthesized chunk is kept as a note;
    /// every other chunk is `name value`, the value being its last word.
    pub fn parse(split: &str, line: &str) -> MetricsRow {
        let mut row = MetricsRow {
            split: split.to_string(),
            ..MetricsRow::default()
        };
        for chunk in line.split("  ").map(str::trim).filter(|c| !c.is_empty()) {
            if let Some(inner) = chunk.strip_prefix('(').and_then(|c| c.strip_suffix(')')) {
                match inner.strip_suffix(" rows") {
                    Some(n) => row.rows = Some(n.to_string()),
                    None => row.note = Some(inner.to_string()),
                }
            } else if let Some((name, value)) = chunk.rsplit_once(' ') {
                row.values
                    .push((name.trim().to_string(), value.trim().to_string()));
            } else {
                row.values.push((chunk.to_string(), String::new()));
            }
        }
        row
    }
}

/// Feature importances: one value per feature.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Importance {
    /// What the values measure (`impurity decrease`, `gain`), shown on the chart's axis.
    pub measure: String,
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// Importances, in column order.
    pub values: Vec<f64>,
}

impl Importance {
    /// The `n` largest importances above zero, largest first (ties by column), as `(name, value)`; NaN is skipped.
    pub fn top(&self, n: usize) -> Vec<(&str, f64)> {
        let mut order: Vec<usize> = (0..self.values.len())
            .filter(|&f| self.values[f] > 0.0 && self.values[f].is_finite())
            .collect();
        order.sort_by(|&a, &b| self.values[b].total_cmp(&self.values[a]).then(a.cmp(&b)));
        order
            .into_iter()
            .take(n)
            .map(|f| {
                (
                    self.names.get(f).map_or("?", String::as_str),
                    self.values[f],
                )
            })
            .collect()
    }
}

/// Most features the importance chart shows.
pub const TOP_FEATURES: usize = 20;

/// Everything a report shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportData {
    /// The heading.
    pub title: String,
    /// The summary table: `(name, value)` rows.
    pub facts: Vec<(String, String)>,
    /// The metrics table: one row per split.
    pub metrics: Vec<MetricsRow>,
    /// The training curves.
    pub charts: Vec<Chart>,
    /// Feature importances.
    pub importance: Importance,
    /// Remarks shown under the curves (what a curve means, why one is missing).
    pub notes: Vec<String>,
}

impl ReportData {
    /// A report on `req`'s run: the title and the facts about the algorithm and the data.
    pub fn for_run(req: &TrainConfig, data: &Dataset, valid: Option<&Dataset>) -> ReportData {
        let mut r = ReportData {
            title: format!(
                "emkern train: {} on {}",
                req.algo.name(),
                req.data.display()
            ),
            ..ReportData::default()
        };
        r.fact("algorithm", req.algo.name());
        r.fact(
            "task",
            match &data.schema.classes {
                Some(c) => format!("classification: {} classes ({})", c.len(), c.join(", ")),
                None => "regression".into(),
            },
        );
        r.fact(
            "training data",
            format!(
                "{}: {} rows, {} features",
                req.data.display(),
                data.n_rows,
                data.n_features()
            ),
        );
        if let (Some(path), Some(v)) = (&req.valid, valid) {
            r.fact(
                "validation data",
                format!("{}: {} rows", path.display(), v.n_rows),
            );
        }
        r
    }

    /// Adds a row to the summary table.
    pub fn fact(&mut self, name: &str, value: impl Display) {
        self.facts.push((name.to_string(), value.to_string()));
    }

    /// Adds the metrics of `split` from the line printed for it (see [`MetricsRow::parse`]).
    pub fn metrics_line(&mut self, split: &str, line: &str) {
        self.metrics.push(MetricsRow::parse(split, line));
    }

    /// Sets the importances from `names` and `values` (column order), measured as `measure`.
    pub fn importances(&mut self, measure: &str, names: &[String], values: &[f64]) {
        self.importance = Importance {
            measure: measure.to_string(),
            names: names.to_vec(),
            values: values.to_vec(),
        };
    }
}

/// Renders `data` as `format`.
pub fn render(data: &ReportData, format: ReportFormat) -> Result<String, String> {
    match format {
        ReportFormat::Svg => plot::report_svg(data),
        ReportFormat::Html => html::page(data),
    }
}

/// Writes `data` to `path` (one of the command's planned `outputs`) in the format its extension names.
pub fn write(
    path: &Path,
    data: &ReportData,
    outputs: &crate::output::Outputs,
) -> Result<(), String> {
    let text = render(data, ReportFormat::from_path(path)?)?;
    outputs.write(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(
            ReportFormat::from_path(Path::new("a/report.html")),
            Ok(ReportFormat::Html)
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("R.HTM")),
            Ok(ReportFormat::Html)
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("r.Svg")),
            Ok(ReportFormat::Svg)
        );
        let e = ReportFormat::from_path(Path::new("r.pdf")).unwrap_err();
        assert!(e.contains("r.pdf") && e.contains("not .pdf"), "{e}");
        let e = ReportFormat::from_path(Path::new("report")).unwrap_err();
        assert!(e.contains("no extension"), "{e}");
    }

    #[test]
    fn metric_lines_parse_into_pairs() {
        let r = MetricsRow::parse(
            "train",
            "accuracy 0.9561  log-loss 0.1234  AUC 0.9876  logloss 0.12345  (455 rows)",
        );
        assert_eq!(r.split, "train");
        let names: Vec<&str> = r.values.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["accuracy", "log-loss", "AUC", "logloss"]);
        assert_eq!(r.values[0].1, "0.9561");
        assert_eq!(r.values[3].1, "0.12345");
        assert_eq!(r.rows.as_deref(), Some("455"));
        assert_eq!(r.note, None);
        let r = MetricsRow::parse("valid", "RMSE 53.1  MAE 41.0  R² 0.4  (89 rows)  (trainer)");
        assert_eq!(r.values[2], ("R²".to_string(), "0.4".to_string()));
        assert_eq!(r.rows.as_deref(), Some("89"));
        assert_eq!(r.note.as_deref(), Some("trainer"));
    }

    #[test]
    fn degenerate_reports_render_in_both_formats() {
        let empty = ReportData::default();
        let one_point = ReportData {
            title: "one round".into(),
            charts: vec![Chart {
                title: "loss per round".into(),
                x_label: "round".into(),
                y_label: "loss".into(),
                series: vec![
                    Series::from_rounds("train", &[0.5]),
                    Series::from_rounds("valid", &[f64::NAN]),
                ],
                marker: Some(Marker {
                    x: 1.0,
                    label: "best round 1".into(),
                }),
            }],
            importance: Importance {
                measure: "gain".into(),
                names: vec!["only".into()],
                values: vec![0.0],
            },
            ..ReportData::default()
        };
        for data in [empty, one_point] {
            for format in [ReportFormat::Svg, ReportFormat::Html] {
                let text = render(&data, format).unwrap();
                assert_eq!(text.matches("<svg").count(), text.matches("</svg>").count());
                assert!(text.contains("every importance is 0"));
                assert!(!text.contains("NaN"));
            }
        }
    }

    #[test]
    fn top_features_skip_zero_and_nan_and_break_ties_by_column() {
        let imp = Importance {
            measure: "gain".into(),
            names: ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
            values: vec![0.2, 0.0, f64::NAN, 0.5, 0.2],
        };
        assert_eq!(imp.top(10), vec![("d", 0.5), ("a", 0.2), ("e", 0.2)]);
        assert_eq!(imp.top(1), vec![("d", 0.5)]);
        assert!(Importance::default().top(20).is_empty());
    }
}
