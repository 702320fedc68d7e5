//! Scatter plots: mAP against significance (one point per group), and 2-D projections coloured
//! by a categorical column.
//!
//! Contract: points with a non-finite coordinate are left out; overlapping points are drawn so
//! the ones that matter sit on top (significant over not, rare categories over frequent ones);
//! a q of 0 is plotted at [`Q_FLOOR`] instead of at infinity.

use super::axis::{Axis, REFERENCE_COLOURS, REFERENCE_DASH};
use super::canvas::{Rect, Svg, WIDTH, fmt3};
use super::colour::{CATEGORICAL, LegendEntry, OTHER, Swatch, categorize};

/// One group of an mAP scatter.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// Group name, for the tooltip.
    pub label: String,
    /// Mean average precision.
    pub map: f64,
    /// Corrected p-value (q).
    pub q: f64,
}

/// mAP against −log10(q), one point per group, coloured by significance.
#[derive(Debug, Clone, PartialEq)]
pub struct MapScatter {
    /// Title (e.g. the plugin, for small multiples).
    pub title: String,
    /// The groups.
    pub points: Vec<MapPoint>,
    /// Significance threshold on q; drawn as a line at −log10(threshold).
    pub threshold: f64,
    /// Upper end of the y axis, to share it between small multiples; from the data if absent.
    pub y_max: Option<f64>,
    /// Draw small (for a grid of small multiples) rather than full width.
    pub small: bool,
}

/// Smallest q plotted: a q of 0 (possible with few permutations) is drawn at this floor.
pub const Q_FLOOR: f64 = 1e-10;

/// −log10(q) as plotted, with q floored at [`Q_FLOOR`].
pub fn neg_log10(q: f64) -> f64 {
    if q.is_finite() {
        -q.clamp(Q_FLOOR, 1.0).log10()
    } else {
        0.0
    }
}

/// Renders a [`MapScatter`].
pub fn map_scatter(chart: &MapScatter) -> String {
    let (width, height) = if chart.small {
        (300.0, 260.0)
    } else {
        (WIDTH, 380.0)
    };
    let thr = neg_log10(chart.threshold);
    let y_max = chart.y_max.unwrap_or_else(|| {
        chart
            .points
            .iter()
            .map(|p| neg_log10(p.q))
            .fold(thr, f64::max)
    });
    let significant = |p: &MapPoint| p.q.is_finite() && p.q < chart.threshold;
    let sig = chart.points.iter().filter(|p| significant(p)).count();
    let legend = [
        LegendEntry::new(
            Swatch::Dot,
            CATEGORICAL[0],
            format!("q < {} ({sig})", chart.threshold),
        ),
        LegendEntry::new(
            Swatch::Dot,
            OTHER,
            format!("not ({})", chart.points.len() - sig),
        ),
    ];
    let plot = Rect {
        left: 48.0,
        top: 48.0,
        right: width - 14.0,
        bottom: height - 44.0,
    };
    let x_axis = Axis::linear(
        0.0,
        1.0,
        plot.left,
        plot.right,
        if chart.small { 5 } else { 10 },
    );
    // A little headroom, so the highest points are not cut by the plot's edge.
    let y_axis = Axis::linear(0.0, y_max * 1.04, plot.bottom, plot.top, 5);
    let mut svg = Svg::new(width, height, &chart.title);
    svg.legend_row(&legend, plot.left, 32.0, width - 8.0);
    svg.axes(plot, &x_axis, "mAP", &y_axis, "−log10(q)");
    let ty = y_axis.map(thr);
    svg.line(
        (plot.left, ty),
        (plot.right, ty),
        REFERENCE_COLOURS[0],
        REFERENCE_DASH,
        Some(&format!("q = {}", chart.threshold)),
    );
    // Not significant first, so significant points sit on top.
    let mut order: Vec<&MapPoint> = chart.points.iter().collect();
    order.sort_by_key(|p| significant(p));
    let r = if chart.small { 2.6 } else { 3.2 };
    for p in order {
        if !p.map.is_finite() {
            continue;
        }
        let tip = format!("{}: mAP {}, q {}", p.label, fmt3(p.map), fmt_q(p.q));
        svg.circle(
            x_axis.map(p.map),
            y_axis.map(neg_log10(p.q)),
            r,
            if significant(p) {
                CATEGORICAL[0]
            } else {
                OTHER
            },
            r#"fill-opacity="0.8""#,
            Some(&tip),
        );
    }
    svg.finish()
}

/// A q for tooltips: three decimals, or scientific notation where those would read 0.000.
fn fmt_q(q: f64) -> String {
    if !q.is_finite() {
        "—".into()
    } else if q == 0.0 || q >= 1e-3 {
        fmt3(q)
    } else {
        format!("{q:.1e}")
    }
}

/// A 2-D scatter of points, optionally coloured by a categorical column.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryScatter {
    /// Title.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// First coordinates.
    pub x: Vec<f64>,
    /// Second coordinates.
    pub y: Vec<f64>,
    /// Column name and one value per point; uniform colour when absent.
    pub categories: Option<(String, Vec<String>)>,
}

/// Renders a [`CategoryScatter`]; categories past the tenth are grey "other".
pub fn category_scatter(chart: &CategoryScatter) -> String {
    let width = WIDTH;
    let height = 440.0;
    let plot = Rect {
        left: 56.0,
        top: 30.0,
        right: 380.0,
        bottom: height - 44.0,
    };
    let count = chart.x.len().min(chart.y.len());
    let (legend, colours) = match &chart.categories {
        Some((_, values)) => {
            let (legend, mut colours) = categorize(&values[..values.len().min(count)]);
            colours.resize(count, OTHER);
            (legend, colours)
        }
        None => (Vec::new(), vec![CATEGORICAL[0]; count]),
    };
    let ok = |i: usize| chart.x[i].is_finite() && chart.y[i].is_finite();
    let range = |v: &[f64]| {
        (0..count)
            .filter(|i| ok(*i))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
                (lo.min(v[i]), hi.max(v[i]))
            })
    };
    let (x_lo, x_hi) = range(&chart.x);
    let (y_lo, y_hi) = range(&chart.y);
    let x_axis = Axis::linear(x_lo, x_hi, plot.left, plot.right, 6);
    let y_axis = Axis::linear(y_lo, y_hi, plot.bottom, plot.top, 6);
    let mut svg = Svg::new(width, height, &chart.title);
    svg.axes(plot, &x_axis, &chart.x_label, &y_axis, &chart.y_label);
    // Smaller dots for many points, so clusters keep their shape instead of merging into blobs.
    let r = if count > 2000 { 1.8 } else { 2.6 };
    // "Other" first, then the rarest shown category, so frequent ones do not hide rare ones.
    let rank = |c: &str| -> usize {
        legend
            .iter()
            .position(|(_, _, colour)| *colour == c)
            .map_or(usize::MAX, |i| i)
    };
    let mut order: Vec<usize> = (0..count).filter(|i| ok(*i)).collect();
    order.sort_by_key(|i| std::cmp::Reverse(rank(colours[*i])));
    for i in order {
        let tip = match &chart.categories {
            Some((_, values)) => values.get(i).map(String::as_str).unwrap_or(""),
            None => "",
        };
        svg.circle(
            x_axis.map(chart.x[i]),
            y_axis.map(chart.y[i]),
            r,
            colours[i],
            r#"fill-opacity="0.75""#,
            if tip.is_empty() { None } else { Some(tip) },
        );
    }
    if let Some((column, _)) = &chart.categories {
        svg.category_legend(column, &legend, Swatch::Dot, plot.right + 20.0, 42.0);
    }
    svg.finish()
}
