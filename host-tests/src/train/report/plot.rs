//! The report's plots, drawn with `plotters`' SVG backend: line charts of metrics (one polyline per series, its
//! points marked when there are few), a horizontal bar chart of the top feature importances, and the single-image
//! report that stacks them under a title.
//!
//! Text is laid out with `plotters`' built-in size estimate (no font files are read); the viewer renders it with
//! its own sans-serif font. Axis ranges come from the finite points only and never collapse to zero width: a
//! constant series gets a band around its value, a chart without points an empty unit range and a `no data` note.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, Importance, ReportData, TOP_FEATURES};

/// Width of every plot, in pixels.
pub const WIDTH: u32 = 880;
/// Height of one line chart.
pub const CHART_HEIGHT: u32 = 360;
/// Series drawn with a dot on every point when they have at most this many points.
const DOTS_UP_TO: usize = 40;
/// Height of a line chart's caption and legend.
const HEADING: u32 = 56;
/// Height of one bar (with its gap) of the importance chart.
const BAR_HEIGHT: u32 = 24;

const FONT: &str = "sans-serif";
const BLUE_: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN_: RGBColor = RGBColor(44, 160, 44);
const OTHERS: [RGBColor; 4] = [
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];
const GRID: RGBColor = RGBColor(225, 225, 225);
const TEXT: RGBColor = RGBColor(40, 40, 40);

type PlotResult = Result<(), String>;

fn err(e: impl std::fmt::Display) -> String {
    format!("cannot draw the report: {e}")
}

/// The color of a series: training blue, validation (or held-out) orange, out-of-bag green, others in turn.
fn color_of(name: &str, index: usize) -> RGBColor {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("train") {
        BLUE_
    } else if lower.starts_with("valid") || lower.starts_with("held-out") {
        ORANGE
    } else if lower.starts_with("oob") {
        GREEN_
    } else {
        OTHERS[index % OTHERS.len()]
    }
}

/// The range an axis shows for `values` (finite ones only): padded by `pad` of the span on each side; a single
/// value (or values equal but for rounding) gets `±5%` of itself (±0.5 for zero), no value the unit range.
pub fn axis_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if !span.is_finite() {
        // Values near ±f64::MAX: halve them so that the span is finite.
        return (lo / 2.0, hi / 2.0);
    }
    // Differences of rounding only (a relative 1e-9) count as a constant: ticks cannot tell them apart.
    if span <= 1e-9 * lo.abs().max(hi.abs()) || span == 0.0 {
        let d = if lo == 0.0 { 0.5 } else { 0.05 * lo.abs() };
        return (lo - d, hi + d);
    }
    (lo - pad * span, hi + pad * span)
}

/// Decimals that tell ticks over `span` apart.
fn decimals_for(span: f64) -> usize {
    if !(span.is_finite() && span > 0.0) {
        return 2;
    }
    (-(span / 5.0).log10()).ceil().clamp(0.0, 8.0) as usize
}

/// Where a marker's label goes: the height (a fraction of the plot, from the bottom) among a few candidates with
/// the fewest points near the label, highest first among equals.
fn marker_label_height(chart: &Chart, mx: f64, x: (f64, f64), y: (f64, f64)) -> f64 {
    let fm = (mx - x.0) / (x.1 - x.0);
    let mut best = (0.97, usize::MAX);
    for cand in [0.97, 0.75, 0.5, 0.3] {
        let near = chart
            .series
            .iter()
            .flat_map(|s| s.finite_points())
            .filter(|&(px, py)| {
                let fx = (px - x.0) / (x.1 - x.0);
                let fy = (py - y.0) / (y.1 - y.0);
                (fx - fm).abs() < 0.25 && fy <= cand + 0.04 && fy >= cand - 0.14
            })
            .count();
        if near < best.1 {
            best = (cand, near);
        }
    }
    best.0
}

/// Draws the caption and, under it, the legend (a swatch and the name of every series with points), centered on
/// `strip`: outside the plot, so that it never hides a curve.
fn draw_heading<DB: DrawingBackend>(strip: &DrawingArea<DB, Shift>, chart: &Chart) -> PlotResult {
    let (w, _) = strip.dim_in_pixel();
    let centre = Pos::new(HPos::Center, VPos::Top);
    strip
        .draw(&Text::new(
            chart.title.clone(),
            (w as i32 / 2, 8),
            (FONT, 20).into_font().color(&TEXT).pos(centre),
        ))
        .map_err(err)?;
    let items: Vec<(&str, RGBColor)> = chart
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| s.finite_points().next().is_some())
        .map(|(i, s)| (s.name.as_str(), color_of(&s.name, i)))
        .collect();
    // About 7 pixels per character at size 15, a 18-pixel swatch, gaps of 6 and 22 pixels.
    let widths: Vec<i32> = items
        .iter()
        .map(|(name, _)| 18 + 6 + 7 * name.chars().count() as i32)
        .collect();
    let total: i32 = widths.iter().sum::<i32>() + 22 * (widths.len() as i32 - 1).max(0);
    let mut x = (w as i32 - total) / 2;
    let y = 40;
    for ((name, color), width) in items.iter().zip(&widths) {
        strip
            .draw(&Rectangle::new(
                [(x, y - 4), (x + 18, y + 4)],
                color.filled(),
            ))
            .map_err(err)?;
        strip
            .draw(&Text::new(
                name.to_string(),
                (x + 24, y),
                (FONT, 15)
                    .into_font()
                    .color(&TEXT)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        x += width + 22;
    }
    Ok(())
}

/// Draws `chart` on `area`.
pub fn draw_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> PlotResult {
    let xs: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| s.finite_points().map(|p| p.0))
        .collect();
    let (mut x0, mut x1) = axis_range(
        xs.iter().copied().chain(chart.marker.iter().map(|m| m.x)),
        0.02,
    );
    let integral_x = xs.iter().all(|x| x.fract() == 0.0);
    if !xs.is_empty() && integral_x && x1 - x0 < 2.0 {
        // One round: show it between its neighbours.
        let mid = (x0 + x1) / 2.0;
        (x0, x1) = (mid.round() - 1.0, mid.round() + 1.0);
    }
    let (y0, y1) = axis_range(
        chart
            .series
            .iter()
            .flat_map(|s| s.finite_points().map(|p| p.1)),
        0.06,
    );
    let has_points = !xs.is_empty();
    let y_decimals = decimals_for(y1 - y0);
    let x_labels = if integral_x {
        ((x1 - x0).floor() as usize + 1).clamp(2, 11)
    } else {
        10
    };
    // Room for the widest tick label (about 8 pixels per character at size 15) and the axis caption.
    let widest = [y0, y1]
        .iter()
        .map(|v| format!("{v:.y_decimals$}").chars().count())
        .max()
        .unwrap_or(4) as u32;
    let y_label_width = (widest * 8 + 36).max(72);
    let (strip, plot) = area.split_vertically(HEADING);
    draw_heading(&strip, chart)?;
    let mut c = ChartBuilder::on(&plot)
        .margin(12)
        .margin_top(4)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(y_label_width)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let non_negative_x = xs.iter().all(|&x| x >= 0.0);
    let x_fmt = |v: &f64| {
        if non_negative_x && *v < 0.0 {
            // The padding left of depth 0 or round 1 has no label.
            String::new()
        } else if integral_x {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    let y_fmt = |v: &f64| format!("{v:.y_decimals$}");
    c.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_labels(x_labels)
        .y_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT, 15).into_font().color(&TEXT))
        .axis_desc_style((FONT, 16).into_font().color(&TEXT))
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    if let Some(m) = &chart.marker
        && m.x.is_finite()
    {
        c.draw_series(std::iter::once(DashedPathElement::new(
            vec![(m.x, y0), (m.x, y1)],
            6,
            4,
            RGBColor(110, 110, 110).stroke_width(1),
        )))
        .map_err(err)?;
        let right_half = (m.x - x0) / (x1 - x0) > 0.5;
        let style = (FONT, 14)
            .into_font()
            .color(&RGBColor(80, 80, 80))
            .pos(Pos::new(
                if right_half { HPos::Right } else { HPos::Left },
                VPos::Top,
            ));
        let dx = if right_half { -5 } else { 5 };
        let height = marker_label_height(chart, m.x, (x0, x1), (y0, y1));
        c.draw_series(std::iter::once(
            EmptyElement::at((m.x, y0 + height * (y1 - y0)))
                + Text::new(m.label.clone(), (dx, 2), style),
        ))
        .map_err(err)?;
    }
    for (i, s) in chart.series.iter().enumerate() {
        let points: Vec<(f64, f64)> = s.finite_points().collect();
        if points.is_empty() {
            continue;
        }
        let color = color_of(&s.name, i);
        let dots = if points.len() <= DOTS_UP_TO { 3 } else { 0 };
        c.draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(dots))
            .map_err(err)?;
    }
    if !has_points {
        let style = (FONT, 18)
            .into_font()
            .color(&RGBColor(120, 120, 120))
            .pos(Pos::new(HPos::Center, VPos::Center));
        c.draw_series(std::iter::once(Text::new(
            "no data",
            ((x0 + x1) / 2.0, (y0 + y1) / 2.0),
            style,
        )))
        .map_err(err)?;
    }
    Ok(())
}

/// Height of the importance chart of `imp`.
pub fn importance_height(imp: &Importance) -> u32 {
    let n = imp.top(TOP_FEATURES).len().max(1) as u32;
    110 + n * BAR_HEIGHT
}

/// Pixels the longest of `names` needs at label size 15 (`plotters`' estimate of 0.7 em per byte, plus room).
fn label_width(names: &[&str]) -> u32 {
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(4) as u32;
    (longest * 7 + 24).clamp(60, 360)
}

/// Draws the top importances of `imp` as horizontal bars, largest on top, on `area`.
pub fn draw_importance<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    imp: &Importance,
) -> PlotResult {
    let top = imp.top(TOP_FEATURES);
    let n = top.len();
    let title = if n < imp.values.iter().filter(|v| **v > 0.0).count() {
        format!(
            "Feature importance (top {n} of {} features)",
            imp.names.len()
        )
    } else {
        "Feature importance".to_string()
    };
    let max = top.first().map_or(1.0, |t| t.1);
    let names: Vec<&str> = top.iter().map(|t| t.0).collect();
    let mut c = ChartBuilder::on(area)
        .caption(&title, (FONT, 20).into_font().color(&TEXT))
        .margin(12)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(label_width(&names))
        .build_cartesian_2d(0.0..max * 1.15, 0.0..n.max(1) as f64)
        .map_err(err)?;
    let x_decimals = decimals_for(max);
    let x_fmt = |v: &f64| format!("{v:.x_decimals$}");
    c.configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(6)
        .x_label_formatter(&x_fmt)
        .x_desc(&imp.measure)
        .label_style((FONT, 15).into_font().color(&TEXT))
        .axis_desc_style((FONT, 16).into_font().color(&TEXT))
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    if n == 0 {
        let style = (FONT, 18)
            .into_font()
            .color(&RGBColor(120, 120, 120))
            .pos(Pos::new(HPos::Center, VPos::Center));
        c.draw_series(std::iter::once(Text::new(
            "no split: every importance is 0",
            (max * 0.575, 0.5),
            style,
        )))
        .map_err(err)?;
        return Ok(());
    }
    let slot = |i: usize| (n - 1 - i) as f64;
    c.draw_series(top.iter().enumerate().map(|(i, &(_, v))| {
        Rectangle::new([(0.0, slot(i) + 0.18), (v, slot(i) + 0.82)], BLUE_.filled())
    }))
    .map_err(err)?;
    let name_style = (FONT, 15)
        .into_font()
        .color(&TEXT)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let value_style = (FONT, 13)
        .into_font()
        .color(&RGBColor(70, 70, 70))
        .pos(Pos::new(HPos::Left, VPos::Center));
    c.draw_series(top.iter().enumerate().map(|(i, &(name, _))| {
        EmptyElement::at((0.0, slot(i) + 0.5))
            + Text::new(name.to_string(), (-8, 0), name_style.clone())
    }))
    .map_err(err)?;
    c.draw_series(top.iter().enumerate().map(|(i, &(_, v))| {
        EmptyElement::at((v, slot(i) + 0.5))
            + Text::new(format!("{v:.3}"), (5, 0), value_style.clone())
    }))
    .map_err(err)?;
    Ok(())
}

/// Renders one drawing of `size` into an SVG document.
fn svg_of(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> PlotResult,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// `chart` as a standalone SVG document.
pub fn chart_svg(chart: &Chart) -> Result<String, String> {
    svg_of((WIDTH, CHART_HEIGHT), |a| draw_chart(a, chart))
}

/// The importance chart as a standalone SVG document.
pub fn importance_svg(imp: &Importance) -> Result<String, String> {
    svg_of((WIDTH, importance_height(imp)), |a| draw_importance(a, imp))
}

/// Lines under the title of the single-image report: the metrics of every split, then the notes.
fn header_lines(data: &ReportData) -> Vec<String> {
    let mut lines: Vec<String> = data
        .metrics
        .iter()
        .map(|m| {
            let values: Vec<String> = m.values.iter().map(|(n, v)| format!("{n} {v}")).collect();
            let rows = m
                .rows
                .as_ref()
                .map_or(String::new(), |r| format!(" ({r} rows)"));
            let note = m.note.as_ref().map_or(String::new(), |n| format!(" ({n})"));
            format!("{}: {}{rows}{note}", m.split, values.join(", "))
        })
        .collect();
    lines.extend(data.notes.iter().cloned());
    lines
}

/// Characters of a header line that fit the width at font size 15 (about 7 pixels per character).
const HEADER_CHARS: usize = (WIDTH as usize - 40) / 7;

/// Breaks `line` at spaces into pieces of at most [`HEADER_CHARS`] characters.
fn wrap(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > HEADER_CHARS
        {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

/// The whole report as one SVG image: title, metric lines and notes, every chart, then the importance chart.
pub fn report_svg(data: &ReportData) -> Result<String, String> {
    let lines: Vec<String> = header_lines(data).iter().flat_map(|l| wrap(l)).collect();
    let header = 48 + 20 * lines.len() as u32;
    let heights: Vec<u32> = data
        .charts
        .iter()
        .map(|_| CHART_HEIGHT)
        .chain(std::iter::once(importance_height(&data.importance)))
        .collect();
    let total = header + heights.iter().sum::<u32>();
    svg_of((WIDTH, total), |root| {
        let (top, mut rest) = root.split_vertically(header);
        top.draw(&Text::new(
            data.title.clone(),
            (16, 14),
            (FONT, 22, FontStyle::Bold).into_font().color(&TEXT),
        ))
        .map_err(err)?;
        for (i, l) in lines.iter().enumerate() {
            top.draw(&Text::new(
                l.clone(),
                (16, 44 + 20 * i as i32),
                (FONT, 15).into_font().color(&TEXT),
            ))
            .map_err(err)?;
        }
        for chart in &data.charts {
            let (area, below) = rest.split_vertically(CHART_HEIGHT);
            draw_chart(&area, chart)?;
            rest = below;
        }
        draw_importance(&rest, &data.importance)
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Marker, Series};
    use super::*;

    fn chart(series: Vec<Series>) -> Chart {
        Chart {
            title: "t".into(),
            x_label: "round".into(),
            y_label: "loss".into(),
            series,
            marker: None,
        }
    }

    fn polylines(svg: &str) -> Vec<usize> {
        svg.split("<polyline")
            .skip(1)
            .map(|p| {
                let points = p
                    .split("points=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                points.split_whitespace().count()
            })
            .collect()
    }

    fn balanced(svg: &str) {
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn axis_ranges_never_collapse() {
        assert_eq!(axis_range(std::iter::empty(), 0.1), (0.0, 1.0));
        assert_eq!(
            axis_range([f64::NAN, f64::INFINITY].into_iter(), 0.1),
            (0.0, 1.0)
        );
        assert_eq!(axis_range([0.0, 0.0].into_iter(), 0.1), (-0.5, 0.5));
        let (lo, hi) = axis_range([2.0].into_iter(), 0.1);
        assert!(lo < 2.0 && hi > 2.0);
        // Equal but for rounding: a band around the value, wide enough for readable ticks.
        let v = 1.0986122886681098f64;
        let (lo, hi) = axis_range([v, v + 4.0 * f64::EPSILON].into_iter(), 0.1);
        assert!(hi - lo > 0.1, "{lo} {hi}");
        let (lo, hi) = axis_range([1.0, 3.0, f64::NAN].into_iter(), 0.1);
        assert!((lo - 0.8).abs() < 1e-12 && (hi - 3.2).abs() < 1e-12);
        let (lo, hi) = axis_range([-f64::MAX, f64::MAX].into_iter(), 0.1);
        assert!(lo < hi && (hi - lo).is_finite());
    }

    #[test]
    fn a_series_is_one_polyline_with_its_finite_points() {
        let values: Vec<f64> = (0..50).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let mut with_nan = values.clone();
        with_nan[7] = f64::NAN;
        with_nan[8] = f64::INFINITY;
        let svg = chart_svg(&chart(vec![
            Series::from_rounds("train", &values),
            Series::from_rounds("valid", &with_nan),
        ]))
        .unwrap();
        balanced(&svg);
        let long: Vec<usize> = polylines(&svg).into_iter().filter(|&n| n > 2).collect();
        assert_eq!(long, vec![50, 48]);
        assert!(svg.contains(">\ntrain\n") || svg.contains(">train<") || svg.contains("train\n"));
    }

    #[test]
    fn degenerate_charts_draw_without_panicking() {
        for c in [
            chart(vec![]),
            chart(vec![Series::default()]),
            chart(vec![Series::from_rounds("train", &[0.25])]),
            chart(vec![Series::from_rounds("train", &[3.0; 30])]),
            chart(vec![Series::from_rounds("train", &[0.0; 5])]),
            chart(vec![Series::from_rounds("valid", &[f64::NAN; 4])]),
            chart(vec![Series {
                name: "x".into(),
                points: vec![(0.5, 1.0), (0.5, 1.0)],
            }]),
            Chart {
                marker: Some(Marker {
                    x: 1.0,
                    label: "best".into(),
                }),
                ..chart(vec![Series::from_rounds("valid", &[1.0])])
            },
        ] {
            let svg = chart_svg(&c).unwrap();
            balanced(&svg);
        }
        // A single point is visible as a dot.
        let svg = chart_svg(&chart(vec![Series::from_rounds("train", &[0.25])])).unwrap();
        assert!(svg.contains("<circle"));
        let svg = chart_svg(&chart(vec![])).unwrap();
        assert!(svg.contains("no data"));
    }

    #[test]
    fn importance_bars_are_the_top_features_in_order() {
        let names: Vec<String> = (0..30).map(|i| format!("feature_{i}")).collect();
        let values: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let imp = Importance {
            measure: "gain".into(),
            names,
            values,
        };
        let svg = importance_svg(&imp).unwrap();
        balanced(&svg);
        assert!(svg.contains("feature_29") && svg.contains("feature_10"));
        assert!(!svg.contains("feature_9\n") && !svg.contains("feature_0\n"));
        assert!(svg.find("feature_29").unwrap() < svg.find("feature_28").unwrap());
        assert!(svg.contains("top 20 of 30"));
        let empty = importance_svg(&Importance::default()).unwrap();
        balanced(&empty);
        assert!(empty.contains("every importance is 0"));
    }

    #[test]
    fn long_header_lines_wrap_at_spaces() {
        let line = "word ".repeat(100);
        let pieces = wrap(line.trim());
        assert!(pieces.len() > 1);
        assert!(pieces.iter().all(|p| p.chars().count() <= HEADER_CHARS));
        assert_eq!(pieces.join(" "), line.trim());
    }
}
