//! Line charts: overlaid series with optional ± bands and a vertical marker, on a linear,
//! integer or log₁₀ x axis.
//!
//! Contract: points with a non-finite coordinate (or x ≤ 0 on a log axis) are left out rather
//! than drawn at an edge; bands and points outside a fixed y range are clamped to the plot, so
//! nothing is drawn over the axes; every point has a tooltip with its x and value.

use super::axis::{Axis, Reference};
use super::canvas::{MARKER, Rect, Svg, WIDTH, escape, fmt3, n, trim_number};
use super::colour::{LegendEntry, Swatch, legend_rows};

/// One point of a line: x, y and an optional ± band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinePoint {
    /// Position along x.
    pub x: f64,
    /// Value.
    pub y: f64,
    /// Half-width of the band around the line (e.g. one sd).
    pub sd: Option<f64>,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    /// Name, for the legend and tooltips.
    pub name: String,
    /// Colour (`#rrggbb`).
    pub colour: String,
    /// Points in increasing x.
    pub points: Vec<LinePoint>,
}

/// Lines with optional ±sd bands, overlaid, with an optional vertical marker.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// The lines; a legend is drawn when there are several.
    pub series: Vec<LineSeries>,
    /// A vertical dashed line (e.g. the reference k or the λ used).
    pub x_marker: Option<Reference>,
    /// Log₁₀ x axis (for λ).
    pub log_x: bool,
    /// Integer x ticks only (for k).
    pub integer_x: bool,
    /// Fixed y range (e.g. `[0, 1]`); from the data if absent.
    pub y_range: Option<(f64, f64)>,
}

/// Renders a [`LineChart`].
pub fn line_chart(chart: &LineChart) -> String {
    let width = WIDTH;
    let legend: Vec<LegendEntry> = if chart.series.len() > 1 {
        chart
            .series
            .iter()
            .map(|s| LegendEntry::new(Swatch::Line, &s.colour, s.name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let rows = legend_rows(&legend, 56.0, width - 16.0);
    // Room above the plot for the marker's label.
    let top = 34.0 + rows * 16.0 + if chart.x_marker.is_some() { 12.0 } else { 0.0 };
    let plot = Rect {
        left: 56.0,
        top,
        right: width - 20.0,
        bottom: top + 240.0,
    };
    let height = plot.bottom + 44.0;

    let finite = |p: &&LinePoint| p.x.is_finite() && p.y.is_finite() && (!chart.log_x || p.x > 0.0);
    let all: Vec<&LinePoint> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(finite)
        .collect();
    let mut x_lo = all.iter().map(|p| p.x).fold(f64::INFINITY, f64::min);
    let mut x_hi = all.iter().map(|p| p.x).fold(f64::NEG_INFINITY, f64::max);
    if let Some(m) = chart.x_marker.as_ref().filter(|m| m.value.is_finite()) {
        x_lo = x_lo.min(m.value);
        x_hi = x_hi.max(m.value);
    }
    let sd = |p: &LinePoint| p.sd.filter(|s| s.is_finite()).unwrap_or(0.0);
    let (y_lo, y_hi) = chart.y_range.unwrap_or_else(|| {
        (
            all.iter()
                .map(|p| p.y - sd(p))
                .fold(f64::INFINITY, f64::min),
            all.iter()
                .map(|p| p.y + sd(p))
                .fold(f64::NEG_INFINITY, f64::max),
        )
    });
    let x_axis = if chart.log_x {
        Axis::log(x_lo, x_hi, plot.left, plot.right)
    } else if chart.integer_x {
        Axis::integer(x_lo, x_hi, plot.left, plot.right, 8)
    } else {
        Axis::linear(x_lo, x_hi, plot.left, plot.right, 8)
    };
    let y_axis = Axis::linear(y_lo, y_hi, plot.bottom, plot.top, 5);

    let mut svg = Svg::new(width, height, &chart.title);
    svg.legend_row(&legend, plot.left, 34.0, width - 16.0);
    svg.axes(plot, &x_axis, &chart.x_label, &y_axis, &chart.y_label);
    let clamp_y = |v: f64| y_axis.map(v).clamp(plot.top, plot.bottom);
    let xy = |p: &LinePoint, y: f64| format!("{},{} ", n(x_axis.map(p.x)), n(clamp_y(y)));

    for s in &chart.series {
        let pts: Vec<&LinePoint> = s.points.iter().filter(finite).collect();
        if pts
            .iter()
            .any(|p| p.sd.is_some_and(|v| v.is_finite() && v > 0.0))
        {
            // Upper edge left to right, then the lower edge back, as one closed polygon.
            let mut poly = String::new();
            for p in pts.iter() {
                poly.push_str(&xy(p, p.y + sd(p)));
            }
            for p in pts.iter().rev() {
                poly.push_str(&xy(p, p.y - sd(p)));
            }
            svg.raw(&format!(
                r#"<polygon points="{}" fill="{}" fill-opacity="0.18" stroke="none"><title>{} ± sd</title></polygon>"#,
                poly.trim_end(),
                s.colour,
                escape(&s.name)
            ));
        }
        let line: String = pts.iter().map(|p| xy(p, p.y)).collect();
        svg.raw(&format!(
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            line.trim_end(),
            s.colour
        ));
        for p in &pts {
            let x_text = trim_number(p.x);
            let tip = match p.sd.filter(|v| v.is_finite()) {
                Some(sd) => format!(
                    "{}: {} = {x_text}, {} ± {}",
                    s.name,
                    chart.x_label,
                    fmt3(p.y),
                    fmt3(sd)
                ),
                None => format!("{}: {} = {x_text}, {}", s.name, chart.x_label, fmt3(p.y)),
            };
            svg.circle(
                x_axis.map(p.x),
                clamp_y(p.y),
                2.8,
                &s.colour,
                r##"stroke="#fff" stroke-width="0.8""##,
                Some(&tip),
            );
        }
    }
    if let Some(m) = chart.x_marker.as_ref().filter(|m| m.value.is_finite()) {
        let x = x_axis.map(m.value);
        svg.reference_line(x, plot.top - 4.0, plot.bottom, MARKER, &m.label);
        svg.reference_label(x, plot.top - 5.0, MARKER, &m.label);
    }
    svg.finish()
}
