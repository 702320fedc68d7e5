//! Heat maps: a square matrix of similarities in `[-1, 1]` (diverging palette, optional
//! annotation strips) and a rows × columns table of counts (sequential palette).
//!
//! Contract: cells are laid out on a fixed budget (about 480 px for the similarity matrix,
//! 440 × 560 px for counts), so large matrices shrink their cells rather than the page growing;
//! row and column labels are drawn only where a cell is tall enough to hold them; missing
//! values and zero counts are white, zeros marked with a dot so gaps stand out.

use std::fmt::Write;

use super::canvas::{AXIS, BLANK, Svg, WIDTH, fmt3, n, text_width, truncate};
use super::colour::{Swatch, categorize, category_label, colour_bar, dark, diverging, sequential};

/// Marks zero counts, so a missing combination stands out from a small one.
const GAP: &str = "#d55e00";

/// A square matrix of similarities in `[-1, 1]` with labels and an annotation strip.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Title.
    pub title: String,
    /// Row and column names, in display order.
    pub labels: Vec<String>,
    /// Row-major values, `labels.len()²`.
    pub values: Vec<f64>,
    /// Column name and one annotation per label, drawn as a colour strip.
    pub annotation: Option<(String, Vec<String>)>,
}

/// Counts per (row, column), e.g. condition × batch.
#[derive(Debug, Clone, PartialEq)]
pub struct CountHeatmap {
    /// Title.
    pub title: String,
    /// What the rows are (e.g. the condition column).
    pub row_label: String,
    /// What the columns are (e.g. the batch column).
    pub col_label: String,
    /// Row names.
    pub rows: Vec<String>,
    /// Column names.
    pub cols: Vec<String>,
    /// Row-major counts, `rows.len() × cols.len()`.
    pub counts: Vec<u32>,
}

/// Font size of the labels of cells `cell` px across; none when the cells are too small for
/// legible text, as unreadable labels would only clutter the plot.
fn label_font(cell: f64) -> Option<f64> {
    if cell >= 7.0 {
        Some((cell - 1.0).min(11.0))
    } else {
        None
    }
}

/// Room the longest of `labels`, shortened to `max` characters, takes at `font` plus `pad`;
/// nothing when there are no labels to draw.
fn label_extent(labels: &[String], font: Option<f64>, max: usize, pad: f64) -> f64 {
    font.map_or(0.0, |f| {
        labels
            .iter()
            .map(|l| text_width(&truncate(l, max), f))
            .fold(0.0, f64::max)
            + pad
    })
}

/// Where a heat map's cell label goes.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// A row label: right-aligned, ending at this x.
    Left(f64),
    /// A column label: reading bottom to top, ending at this y.
    Below(f64),
}

/// One row or column label of a heat map at `font` px, shortened to `max` characters, with its
/// baseline at `along` (a y for a row, an x for a column).
fn cell_label(svg: &mut Svg, side: Side, along: f64, font: f64, text: &str, max: usize) {
    let size = format!(r#"font-size="{}""#, n(font));
    let text = truncate(text, max);
    match side {
        Side::Left(x) => svg.text(x, along, "end", &size, &text),
        Side::Below(y) => svg.text_up(along, y, "end", &size, &text),
    }
}

/// Renders a [`Heatmap`] with a diverging palette and a colour bar.
pub fn heatmap(chart: &Heatmap) -> String {
    let k = chart.labels.len();
    let cell = (480.0 / k.max(1) as f64).clamp(2.0, 18.0);
    let font = label_font(cell);
    let label_w = label_extent(&chart.labels, font, 24, 6.0);
    let strip = if chart.annotation.is_some() {
        10.0
    } else {
        0.0
    };
    let left = 16.0 + label_w + strip;
    let top = 32.0 + strip;
    let side = cell * k as f64;
    let bar_x = left + side + 24.0;
    let (legend, ann_colours) = match &chart.annotation {
        Some((_, values)) => categorize(values),
        None => (Vec::new(), Vec::new()),
    };
    let legend_w = legend
        .iter()
        .map(|(name, c, _)| text_width(&category_label(name, *c), 11.0) + 22.0)
        .fold(0.0, f64::max);
    let width = (bar_x
        + 60.0
        + if legend.is_empty() {
            0.0
        } else {
            legend_w + 10.0
        })
    .max(WIDTH.min(bar_x + 200.0));
    let height = (top + side + label_w + 12.0)
        .max(top + 200.0)
        .max(48.0 + 16.0 * legend.len() as f64 + 20.0);
    let mut svg = Svg::new(width, height, &chart.title);

    for (r, row) in chart.labels.iter().enumerate() {
        let y = top + cell * r as f64;
        svg.open_group(row);
        for (c, col) in chart.labels.iter().enumerate() {
            let v = chart.values.get(r * k + c).copied().unwrap_or(f64::NAN);
            let fill = if v.is_finite() {
                diverging(v)
            } else {
                BLANK.into()
            };
            // Past 60 × 60 the per-cell tooltips would dominate the page's size.
            let tip = if k <= 60 {
                Some(format!("{row} × {col}: {}", fmt3(v)))
            } else {
                None
            };
            // Slightly oversized cells, so no hairline gaps show between them when scaled.
            svg.rect(
                left + cell * c as f64,
                y,
                cell + 0.05,
                cell + 0.05,
                &fill,
                tip.as_deref(),
            );
        }
        svg.close_group();
    }
    svg.outline(
        left,
        top,
        side,
        side,
        &format!(r#"stroke="{AXIS}" stroke-width="0.8""#),
    );
    if let Some(f) = font {
        for (i, label) in chart.labels.iter().enumerate() {
            // Rows and columns are the same labels, so both sit at the same offset.
            let c = cell * i as f64 + cell / 2.0 + f * 0.35;
            cell_label(
                &mut svg,
                Side::Left(left - strip - 4.0),
                top + c,
                f,
                label,
                24,
            );
            cell_label(
                &mut svg,
                Side::Below(top + side + 4.0),
                left + c,
                f,
                label,
                24,
            );
        }
    }
    if let Some((column, values)) = &chart.annotation {
        for (i, colour) in ann_colours.iter().enumerate() {
            let tip = format!("{column}: {}", values[i]);
            let at = cell * i as f64;
            svg.rect(
                left - strip,
                top + at,
                strip - 2.0,
                cell,
                colour,
                Some(&tip),
            );
            svg.rect(
                left + at,
                top - strip,
                cell,
                strip - 2.0,
                colour,
                Some(&tip),
            );
        }
    }
    let bar_h = 160.0;
    colour_bar(&mut svg, bar_x, top, bar_h, |down| {
        diverging(1.0 - 2.0 * down)
    });
    for (v, label) in [(1.0, "1"), (0.0, "0"), (-1.0, "\u{2212}1")] {
        let y = top + (1.0 - v) / 2.0 * bar_h;
        svg.line((bar_x + 12.0, y), (bar_x + 16.0, y), AXIS, "", None);
        svg.text(bar_x + 18.0, y + 3.5, "start", "", label);
    }
    svg.text(bar_x, top + bar_h + 16.0, "start", "", "cosine");
    if !legend.is_empty() {
        let x = bar_x + 50.0;
        let column = chart.annotation.as_ref().map_or("", |(c, _)| c.as_str());
        svg.category_legend(column, &legend, Swatch::Square, x, top + 4.0);
    }
    svg.finish()
}

/// Renders a [`CountHeatmap`]: a sequential palette, zeros white with a red dot so gaps show.
pub fn count_heatmap(chart: &CountHeatmap) -> String {
    let nr = chart.rows.len();
    let nc = chart.cols.len();
    let cw = (440.0 / nc.max(1) as f64).clamp(6.0, 44.0);
    let ch = (560.0 / nr.max(1) as f64).clamp(3.0, 18.0);
    let row_font = label_font(ch);
    let col_font = label_font(cw);
    let row_w = label_extent(&chart.rows, row_font, 28, 8.0);
    let col_h = label_extent(&chart.cols, col_font, 20, 8.0);
    let left = 34.0 + row_w;
    let top = 34.0;
    let grid_w = cw * nc as f64;
    let grid_h = ch * nr as f64;
    let max = chart.counts.iter().copied().max().unwrap_or(0).max(1);
    let bar_x = left + grid_w + 24.0;
    let width = (bar_x + 130.0).max(360.0);
    let height = (top + grid_h + col_h + 30.0).max(top + 190.0);
    let mut svg = Svg::new(width, height, &chart.title);
    let show_numbers = cw >= 22.0 && ch >= 12.0;
    // The ramp starts at 1, so the smallest non-zero count is still clearly not white.
    let colour = |c: u32| {
        if c == 0 {
            BLANK.to_string()
        } else if max == 1 {
            sequential(1.0)
        } else {
            sequential((f64::from(c) - 1.0) / (f64::from(max) - 1.0))
        }
    };
    for (r, row) in chart.rows.iter().enumerate() {
        let y = top + ch * r as f64;
        svg.open_group(row);
        for (c, col) in chart.cols.iter().enumerate() {
            let count = chart.counts.get(r * nc + c).copied().unwrap_or(0);
            let x = left + cw * c as f64;
            let fill = colour(count);
            let tip = format!("{row} × {col}: {count}");
            svg.rect(x, y, cw, ch, &fill, Some(&tip));
            if count == 0 {
                svg.circle(
                    x + cw / 2.0,
                    y + ch / 2.0,
                    (ch.min(cw) * 0.18).max(1.0),
                    GAP,
                    "",
                    None,
                );
            } else if show_numbers {
                svg.text(
                    x + cw / 2.0,
                    y + ch / 2.0 + 3.5,
                    "middle",
                    &format!(
                        r#"font-size="10" fill="{}""#,
                        if dark(&fill) { "#fff" } else { "#111" }
                    ),
                    &count.to_string(),
                );
            }
        }
        svg.close_group();
    }
    // Cell borders as one light grid over the cells: one path instead of a stroke per cell.
    if cw >= 6.0 && ch >= 6.0 {
        let mut d = String::new();
        for r in 0..=nr {
            let y = top + ch * r as f64;
            let _ = write!(d, "M{} {}H{}", n(left), n(y), n(left + grid_w));
        }
        for c in 0..=nc {
            let x = left + cw * c as f64;
            let _ = write!(d, "M{} {}V{}", n(x), n(top), n(top + grid_h));
        }
        svg.raw(&format!(
            r##"<path d="{d}" stroke="#c8c8c8" stroke-width="0.6" fill="none"/>"##
        ));
    }
    if let Some(f) = row_font {
        for (r, row) in chart.rows.iter().enumerate() {
            let y = top + ch * r as f64 + ch / 2.0 + f * 0.35;
            cell_label(&mut svg, Side::Left(left - 4.0), y, f, row, 28);
        }
    }
    if let Some(f) = col_font {
        for (c, col) in chart.cols.iter().enumerate() {
            let x = left + cw * c as f64 + cw / 2.0 + f * 0.35;
            cell_label(&mut svg, Side::Below(top + grid_h + 4.0), x, f, col, 20);
        }
    }
    svg.y_title(top + grid_h / 2.0, &chart.row_label);
    svg.text(
        left + grid_w / 2.0,
        top + grid_h + col_h + 18.0,
        "middle",
        "",
        &chart.col_label,
    );
    // Counts 1..max down the bar, then the zero swatch below it.
    let bar_h = 120.0;
    colour_bar(&mut svg, bar_x, top, bar_h, |down| sequential(1.0 - down));
    svg.text(bar_x + 18.0, top + 8.0, "start", "", &max.to_string());
    svg.text(bar_x + 18.0, top + bar_h, "start", "", "1");
    svg.rect(bar_x, top + bar_h + 12.0, 12.0, 12.0, BLANK, None);
    svg.outline(bar_x, top + bar_h + 12.0, 12.0, 12.0, r##"stroke="#999""##);
    svg.circle(bar_x + 6.0, top + bar_h + 18.0, 2.2, GAP, "", None);
    svg.text(bar_x + 18.0, top + bar_h + 22.0, "start", "", "0 (none)");
    svg.finish()
}
