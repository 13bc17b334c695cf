//! The HTML report: one self-contained page (inline style, inline SVG plots, no script and no external
//! resource) with the summary of the run, the metrics table, the training curves and the importance chart.

use std::fmt::Write;

use super::{ReportData, plot};

/// `s` with `&`, `<`, `>` and `"` escaped for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;color:#282828;max-width:920px;margin:24px auto;padding:0 16px}\
h1{font-size:22px}h2{font-size:18px;margin-top:28px}\
table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums}th{font-weight:600;white-space:nowrap}\
figure{margin:12px 0}svg{max-width:100%;height:auto}p.note{color:#555}";

/// The metrics table: one row per split, one column per metric name (in first-seen order), and the rows scored.
fn metrics_table(data: &ReportData, out: &mut String) {
    let mut names: Vec<&str> = Vec::new();
    for m in &data.metrics {
        for (n, _) in &m.values {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let with_rows = data.metrics.iter().any(|m| m.rows.is_some());
    let with_notes = data.metrics.iter().any(|m| m.note.is_some());
    out.push_str("<table class=\"metrics\">\n<thead><tr><th></th>");
    for n in &names {
        let _ = write!(out, "<th>{}</th>", escape(n));
    }
    if with_rows {
        out.push_str("<th>rows</th>");
    }
    if with_notes {
        out.push_str("<th></th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for m in &data.metrics {
        let _ = write!(out, "<tr><th>{}</th>", escape(&m.split));
        for n in &names {
            let v = m
                .values
                .iter()
                .find(|(k, _)| k == n)
                .map_or("", |(_, v)| v.as_str());
            let _ = write!(out, "<td class=\"num\">{}</td>", escape(v));
        }
        if with_rows {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td>",
                escape(m.rows.as_deref().unwrap_or(""))
            );
        }
        if with_notes {
            let _ = write!(out, "<td>{}</td>", escape(m.note.as_deref().unwrap_or("")));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The report as an HTML page.
pub fn page(data: &ReportData) -> Result<String, String> {
    let mut out = String::new();
    let title = escape(&data.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    out.push_str("<h2>Summary</h2>\n<table class=\"summary\">\n<tbody>\n");
    for (name, value) in &data.facts {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(value)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if !data.metrics.is_empty() {
        out.push_str("<h2>Metrics</h2>\n");
        metrics_table(data, &mut out);
    }
    out.push_str("<h2>Training curves</h2>\n");
    for chart in &data.charts {
        let _ = write!(out, "<figure>\n{}</figure>\n", plot::chart_svg(chart)?);
    }
    for note in &data.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out.push_str("<h2>Feature importance</h2>\n");
    let _ = write!(
        out,
        "<figure>\n{}</figure>\n",
        plot::importance_svg(&data.importance)?
    );
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Chart, Importance, MetricsRow, Series};
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }

    #[test]
    fn page_is_self_contained_and_balanced() {
        let data = ReportData {
            title: "emkern train: <test>".into(),
            facts: vec![("trees".into(), "3".into())],
            metrics: vec![
                MetricsRow::parse("train", "accuracy 0.9000  log-loss 0.2000  (10 rows)"),
                MetricsRow::parse("valid", "accuracy 0.8000  (5 rows)"),
            ],
            charts: vec![Chart {
                title: "accuracy".into(),
                x_label: "trees".into(),
                y_label: "accuracy".into(),
                series: vec![Series::from_rounds("train", &[0.5, 0.7, 0.9])],
                marker: None,
            }],
            importance: Importance {
                measure: "impurity decrease".into(),
                names: vec!["x<1".into(), "y".into()],
                values: vec![0.75, 0.25],
            },
            notes: vec!["a & b".into()],
        };
        let html = page(&data).unwrap();
        for tag in [
            "html", "head", "body", "table", "tr", "svg", "figure", "title",
        ] {
            assert_eq!(
                html.matches(&format!("<{tag}")).count(),
                html.matches(&format!("</{tag}>")).count(),
                "<{tag}> unbalanced"
            );
        }
        assert!(html.contains("&lt;test&gt;") && html.contains("a &amp; b"));
        assert!(html.contains("x&lt;1"));
        assert!(!html.contains("<script") && !html.contains("href") && !html.contains("src="));
        // The valid row has no log-loss: an empty cell keeps the columns aligned.
        assert!(html.contains("<th>valid</th><td class=\"num\">0.8000</td><td class=\"num\"></td><td class=\"num\">5</td>"));
    }
}
