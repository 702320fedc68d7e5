//! Horizontal bar charts: one band per category, one bar per series in it, with error bars,
//! per-category markers and reference lines across the chart.
//!
//! Contract: the value axis always includes zero, every error bar, marker and reference line;
//! a missing or non-finite value shows "no value" instead of a bar; category labels are
//! shortened to 32 characters with the full name as a tooltip.

use super::axis::{Axis, REFERENCE_COLOURS, Reference};
use super::canvas::{AXIS, MARKER, MUTED, Rect, Svg, WIDTH, fmt3, truncate};
use super::colour::{CATEGORICAL, LegendEntry, MARKER_DASH, Swatch, legend_rows};

/// One bar: a value with an optional error (± sd) and tooltip note.
#[derive(Debug, Clone, PartialEq)]
pub struct BarValue {
    /// The value.
    pub value: f64,
    /// Half-length of the error bar (e.g. one sd); none drawn when absent.
    pub err: Option<f64>,
}

/// One category of a bar chart: a value per series, optionally a marker (e.g. chance) of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// Category name, shown at the left of its bars.
    pub label: String,
    /// One entry per series, aligned with [`BarChart::series`]; `None` shows "no value".
    pub values: Vec<Option<BarValue>>,
    /// A dashed line across this category's bars only (e.g. its chance level).
    pub marker: Option<f64>,
    /// Colour of this category's bars, overriding the series colour (e.g. the plugin's colour
    /// when each category is a plugin).
    pub colour: Option<String>,
}

/// A horizontal bar chart: categories down the side, values along the bottom, one bar per
/// series in each category, error bars, and optional reference lines.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title above the chart.
    pub title: String,
    /// Label of the value axis.
    pub value_label: String,
    /// Series names and colours; a legend is drawn when there are several.
    pub series: Vec<(String, String)>,
    /// The categories.
    pub groups: Vec<BarGroup>,
    /// Dashed lines across the whole chart (e.g. control anchors).
    pub references: Vec<Reference>,
    /// What the per-group markers mean, for the legend (e.g. `chance`).
    pub marker_label: Option<String>,
}

/// Renders a [`BarChart`].
pub fn bar_chart(chart: &BarChart) -> String {
    let series_n = chart.series.len().max(1);
    let label_chars = chart
        .groups
        .iter()
        .map(|g| g.label.chars().count().min(32))
        .max()
        .unwrap_or(4);
    // Generous (0.62 em per character): a clipped category label is worse than some space.
    let left = (label_chars as f64 * 11.0 * 0.62 + 18.0).clamp(60.0, 250.0);
    let right = WIDTH - 56.0;
    let bar_h = if series_n == 1 { 16.0 } else { 11.0 };
    let band = bar_h * series_n as f64 + 10.0;

    let mut legend: Vec<LegendEntry> = Vec::new();
    if chart.series.len() > 1 {
        for (name, colour) in &chart.series {
            legend.push(LegendEntry::new(Swatch::Square, colour, name.clone()));
        }
    }
    if let Some(label) = &chart.marker_label
        && chart.groups.iter().any(|g| g.marker.is_some())
    {
        legend.push(LegendEntry::new(Swatch::Dashed, MARKER, label.clone()));
    }
    let legend_rows = legend_rows(&legend, 16.0, WIDTH - 16.0);
    // Each reference line gets its own label row above the bars, so labels never overlap.
    let ref_rows = chart.references.len() as f64;
    let top = 30.0 + legend_rows * 16.0 + ref_rows * 13.0 + 4.0;
    let bottom = top + band * chart.groups.len().max(1) as f64;
    let height = bottom + 44.0;

    let mut lo: f64 = 0.0;
    let mut hi: f64 = 0.0;
    for group in &chart.groups {
        for bar in group.values.iter().flatten() {
            let e = bar.err.filter(|e| e.is_finite()).unwrap_or(0.0);
            if bar.value.is_finite() {
                lo = lo.min(bar.value - e);
                hi = hi.max(bar.value + e);
            }
        }
        if let Some(m) = group.marker.filter(|m| m.is_finite()) {
            lo = lo.min(m);
            hi = hi.max(m);
        }
    }
    for r in chart.references.iter().filter(|r| r.value.is_finite()) {
        lo = lo.min(r.value);
        hi = hi.max(r.value);
    }
    let plot = Rect {
        left,
        top,
        right,
        bottom,
    };
    let axis = Axis::linear(lo, hi, left, right, 6);

    let mut svg = Svg::new(WIDTH, height, &chart.title);
    svg.legend_row(&legend, 16.0, 34.0, WIDTH - 16.0);
    svg.x_axis(plot, &axis, &chart.value_label);
    let zero = axis.map(0.0);

    for (gi, group) in chart.groups.iter().enumerate() {
        let y0 = top + band * gi as f64 + 5.0;
        svg.open_group(&group.label);
        svg.text(
            left - 8.0,
            y0 + band / 2.0 - 5.0 + 3.5,
            "end",
            "",
            &truncate(&group.label, 32),
        );
        svg.close_group();
        for (si, value) in group.values.iter().enumerate() {
            let (name, colour) = chart
                .series
                .get(si)
                .map(|(n, c)| (n.as_str(), c.as_str()))
                .unwrap_or(("", CATEGORICAL[0]));
            let colour = group.colour.as_deref().unwrap_or(colour);
            let y = y0 + bar_h * si as f64;
            let who = if name.is_empty() || chart.series.len() == 1 {
                group.label.clone()
            } else {
                format!("{} — {name}", group.label)
            };
            match value.as_ref().filter(|b| b.value.is_finite()) {
                Some(bar) => {
                    let x = axis.map(bar.value);
                    let err = bar.err.filter(|e| e.is_finite() && *e > 0.0);
                    let tip = match err {
                        Some(e) => format!("{who}: {} ± {}", fmt3(bar.value), fmt3(e)),
                        None => format!("{who}: {}", fmt3(bar.value)),
                    };
                    // At least a pixel wide, so a zero still shows a bar to hover.
                    svg.rect(
                        zero.min(x),
                        y + 1.0,
                        (x - zero).abs().max(1.0),
                        bar_h - 2.0,
                        colour,
                        Some(&tip),
                    );
                    let mut end = x.max(zero);
                    if let Some(e) = err {
                        let (a, b) = (axis.map(bar.value - e), axis.map(bar.value + e));
                        let cy = y + bar_h / 2.0;
                        let stroke = r#"stroke-width="1.2""#;
                        svg.line((a, cy), (b, cy), "#222", stroke, None);
                        svg.line((a, cy - 3.0), (a, cy + 3.0), "#222", stroke, None);
                        svg.line((b, cy - 3.0), (b, cy + 3.0), "#222", stroke, None);
                        end = end.max(b);
                    }
                    svg.text(
                        end + 4.0,
                        y + bar_h / 2.0 + 3.5,
                        "start",
                        &format!(r#"font-size="10" fill="{MUTED}""#),
                        &fmt3(bar.value),
                    );
                }
                None => svg.text(
                    zero + 4.0,
                    y + bar_h / 2.0 + 3.5,
                    "start",
                    &format!(r#"font-size="10" fill="{MUTED}" font-style="italic""#),
                    "no value",
                ),
            }
        }
        if let Some(m) = group.marker.filter(|m| m.is_finite()) {
            let x = axis.map(m);
            let tip = format!(
                "{}: {}",
                chart.marker_label.as_deref().unwrap_or("marker"),
                fmt3(m)
            );
            svg.line(
                (x, y0 - 3.0),
                (x, y0 + band - 7.0),
                MARKER,
                MARKER_DASH,
                Some(&tip),
            );
        }
    }
    if lo < 0.0 {
        svg.line((zero, top), (zero, bottom), AXIS, "", None);
    }
    for (i, r) in chart.references.iter().enumerate() {
        if !r.value.is_finite() {
            continue;
        }
        let x = axis.map(r.value);
        let colour = REFERENCE_COLOURS[i % 2];
        // Line i starts at its own label row.
        let row = top - 13.0 * (ref_rows - i as f64);
        svg.reference_line(
            x,
            row + 8.0,
            bottom,
            colour,
            &format!("{}: {}", r.label, fmt3(r.value)),
        );
        svg.reference_label(
            x,
            row + 6.0,
            colour,
            &format!("{} {}", r.label, fmt3(r.value)),
        );
    }
    svg.finish()
}
