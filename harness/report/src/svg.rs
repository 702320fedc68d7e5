//! Hand-written SVG plots for the HTML reports.
//!
//! No plotting crate: the output is deterministic (same input, same bytes), compact, and meant to
//! be inlined in HTML without an `xmlns` attribute (HTML5 allows that), so a page names no URL.
//! Every plot has a title, axes with "nice" ticks, axis labels, a legend where there are several
//! series, and `<title>` tooltips on its marks, so hovering shows values without JavaScript.
//! Text is escaped; coordinates are rounded to one decimal.
//!
//! Colours: [`CATEGORICAL`] (Okabe–Ito, extended by two of Paul Tol's colours) for series and
//! categories, [`OTHER`] grey for everything past the tenth category, [`diverging`] (ColorBrewer
//! RdBu) for similarities in `[-1, 1]`, and [`sequential`] (light to dark blue) for counts.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Categorical palette: the Okabe–Ito colours (yellow last, as it reads poorly on white) and two
/// of Paul Tol's, all distinguishable with the common colour-vision deficiencies.
pub const CATEGORICAL: [&str; 10] = [
    "#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#000000", "#882255",
    "#44aa99", "#f0e442",
];

/// Colour of the categories beyond the first [`MAX_CATEGORIES`] ("other") and of "not
/// significant" points.
pub const OTHER: &str = "#b4b4b4";

/// How many categories get their own colour before the rest are pooled as "other".
pub const MAX_CATEGORIES: usize = 10;

/// Width of a full-width plot, in SVG units (pixels at 100%).
pub const WIDTH: f64 = 600.0;

const FONT: &str = "system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const AXIS: &str = "#444";
const GRID: &str = "#e6e6e6";
const MUTED: &str = "#666";

/// The `i`-th categorical colour, cycling after ten.
pub fn categorical(i: usize) -> &'static str {
    CATEGORICAL[i % CATEGORICAL.len()]
}

/// A stable name → colour assignment: names get palette colours in the order given, so the same
/// plugin has the same colour in every chart of a page.
#[derive(Debug, Clone, Default)]
pub struct ColourMap {
    names: Vec<String>,
}

impl ColourMap {
    /// Assigns colours to `names` in order; repeated names keep their first colour.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut map = ColourMap::default();
        for name in names {
            if !map.names.iter().any(|n| n == name.as_ref()) {
                map.names.push(name.as_ref().to_string());
            }
        }
        map
    }

    /// The colour of `name`; [`OTHER`] for a name the map was not built with.
    pub fn colour(&self, name: &str) -> &'static str {
        match self.names.iter().position(|n| n == name) {
            Some(i) => categorical(i),
            None => OTHER,
        }
    }
}

/// Diverging colour for `v` in `[-1, 1]` (clamped): blue for −1, near white for 0, red for +1.
pub fn diverging(v: f64) -> String {
    const STOPS: [[u8; 3]; 5] = [
        [0x21, 0x66, 0xac],
        [0x67, 0xa9, 0xcf],
        [0xf7, 0xf7, 0xf7],
        [0xef, 0x8a, 0x62],
        [0xb2, 0x18, 0x2b],
    ];
    let t = if v.is_finite() {
        (v.clamp(-1.0, 1.0) + 1.0) / 2.0
    } else {
        0.5
    };
    ramp(&STOPS, t)
}

/// Sequential colour for `t` in `[0, 1]` (clamped): light blue to dark blue. Zero counts are
/// drawn white by the count heat map, apart from this ramp, so they stay visible.
pub fn sequential(t: f64) -> String {
    const STOPS: [[u8; 3]; 4] = [
        [0xd4, 0xe6, 0xf4],
        [0x85, 0xbc, 0xdc],
        [0x31, 0x82, 0xbd],
        [0x08, 0x30, 0x6b],
    ];
    ramp(
        &STOPS,
        if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        },
    )
}

fn ramp(stops: &[[u8; 3]], t: f64) -> String {
    let pos = t * (stops.len() - 1) as f64;
    let i = (pos.floor() as usize).min(stops.len() - 2);
    let f = pos - i as f64;
    let channel = |c: usize| {
        let a = f64::from(stops[i][c]);
        let b = f64::from(stops[i + 1][c]);
        (a + (b - a) * f).round() as u8
    };
    format!("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2))
}

/// Whether text on `hex` (`#rrggbb`) should be white rather than black.
fn dark(hex: &str) -> bool {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_or(0.0, f64::from);
    0.299 * c(1) + 0.587 * c(3) + 0.114 * c(5) < 140.0
}

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with at most one decimal, without a trailing `.0`.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    let r = if r == 0.0 { 0.0 } else { r };
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// A value for tooltips: three decimals, `—` when missing or not finite.
pub fn fmt3(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.3}");
        if s == "-0.000" { "0.000".into() } else { s }
    } else {
        "—".into()
    }
}

/// Linear tick positions covering a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Start of the (widened) domain, a multiple of `step`.
    pub lo: f64,
    /// End of the (widened) domain, a multiple of `step`.
    pub hi: f64,
    /// Distance between ticks: 1, 2 or 5 times a power of ten.
    pub step: f64,
    /// The tick values from `lo` to `hi`.
    pub values: Vec<f64>,
}

/// "Nice" ticks for `[lo, hi]`: about `target` steps of 1, 2 or 5 × 10ⁿ, the domain widened to
/// whole steps. A degenerate range is widened around its value; non-finite input gives `[0, 1]`.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        lo -= pad;
        hi += pad;
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    // As d3 does: the multiple nearest to the raw step on a log scale.
    let ratio = raw / mag;
    let step = mag
        * if ratio >= 50f64.sqrt() {
            10.0
        } else if ratio >= 10f64.sqrt() {
            5.0
        } else if ratio >= 2f64.sqrt() {
            2.0
        } else {
            1.0
        };
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil();
    // Round to the step's decimals, so 3 × 0.2 reads 0.6 and not 0.6000000000000001.
    let scale = 10f64.powi((-step.log10().floor()).max(0.0) as i32 + 1);
    let snap = |v: f64| {
        let r = (v * scale).round() / scale;
        if r == 0.0 { 0.0 } else { r }
    };
    let values: Vec<f64> = (0..=((last - first) as i64))
        .map(|i| snap((first + i as f64) * step))
        .collect();
    Ticks {
        lo: snap(first * step),
        hi: snap(last * step),
        step,
        values,
    }
}

/// Ticks of a log₁₀ axis over `[lo, hi]` (both positive): the powers of ten it spans, plus 2
/// and 5 times them when it spans less than three decades; returns the widened domain too.
pub fn log_ticks(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    let lo = if lo.is_finite() && lo > 0.0 { lo } else { 1e-3 };
    let hi = if hi.is_finite() && hi > lo {
        hi
    } else {
        lo * 10.0
    };
    let e0 = lo.log10().floor() as i32;
    let e1 = hi.log10().ceil().max(f64::from(e0 + 1)) as i32;
    let mut values = Vec::new();
    for e in e0..=e1 {
        let p = 10f64.powi(e);
        values.push(p);
        if e1 - e0 < 3 && e < e1 {
            values.push(2.0 * p);
            values.push(5.0 * p);
        }
    }
    (10f64.powi(e0), 10f64.powi(e1), values)
}

/// Label of a linear tick, with as many decimals as the step needs and a true minus sign.
pub fn format_tick(v: f64, step: f64) -> String {
    let decimals = if step > 0.0 && step.is_finite() {
        (-(step.log10() + 1e-9).floor()).max(0.0) as usize
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    let s = if s
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    };
    s.replacen('-', "\u{2212}", 1)
}

/// A number without trailing zeros (at most six decimals), for tooltips of positions.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Label of a log tick: plain for 0.001–10000, `1e-5` style otherwise.
fn format_log_tick(v: f64) -> String {
    if (1e-3..=1e4).contains(&v) {
        let s = format!("{v}");
        s.replacen('-', "\u{2212}", 1)
    } else {
        format!("{v:e}").replace('-', "\u{2212}")
    }
}

/// Rough rendered width of `text` at `size` px in a sans-serif font.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// `text` shortened to `max` characters with an ellipsis.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A linear or log₁₀ map from data to pixels.
#[derive(Debug, Clone, Copy)]
struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
    log: bool,
}

impl Scale {
    fn map(&self, v: f64) -> f64 {
        let (v, d0, d1) = if self.log {
            (v.max(1e-300).log10(), self.d0.log10(), self.d1.log10())
        } else {
            (v, self.d0, self.d1)
        };
        if d1 == d0 {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - d0) / (d1 - d0) * (self.r1 - self.r0)
    }
}

/// An axis: its scale, tick values and their labels.
struct Axis {
    scale: Scale,
    ticks: Vec<(f64, String)>,
}

impl Axis {
    fn linear(lo: f64, hi: f64, r0: f64, r1: f64, target: usize) -> Axis {
        let t = nice_ticks(lo, hi, target);
        Axis {
            scale: Scale {
                d0: t.lo,
                d1: t.hi,
                r0,
                r1,
                log: false,
            },
            ticks: t
                .values
                .iter()
                .map(|v| (*v, format_tick(*v, t.step)))
                .collect(),
        }
    }

    /// A linear axis with integer ticks only (for k).
    fn integer(lo: f64, hi: f64, r0: f64, r1: f64, target: usize) -> Axis {
        let mut axis = Axis::linear(lo, hi, r0, r1, target);
        let step = nice_ticks(lo, hi, target).step;
        if step < 1.0 {
            let (lo, hi) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
            axis = Axis {
                scale: Scale {
                    d0: lo,
                    d1: hi,
                    r0,
                    r1,
                    log: false,
                },
                ticks: (lo as i64..=hi as i64)
                    .map(|v| (v as f64, format_tick(v as f64, 1.0)))
                    .collect(),
            };
        }
        axis
    }

    fn log(lo: f64, hi: f64, r0: f64, r1: f64) -> Axis {
        let (d0, d1, values) = log_ticks(lo, hi);
        Axis {
            scale: Scale {
                d0,
                d1,
                r0,
                r1,
                log: true,
            },
            ticks: values.iter().map(|v| (*v, format_log_tick(*v))).collect(),
        }
    }

    fn map(&self, v: f64) -> f64 {
        self.scale.map(v)
    }
}

/// The plot area inside an SVG.
#[derive(Debug, Clone, Copy)]
struct Rect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

/// An SVG document under construction.
struct Svg {
    out: String,
    width: f64,
    height: f64,
}

impl Svg {
    fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg class="plot" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" font-family="{FONT}" font-size="11">"#,
            w = n(width),
            h = n(height),
            t = escape(title),
        );
        let mut svg = Svg { out, width, height };
        svg.text(
            width / 2.0,
            16.0,
            "middle",
            r#"font-size="13" font-weight="600""#,
            title,
        );
        svg
    }

    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, extra: &str, content: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{}" y="{}" text-anchor="{anchor}"{}{extra}>{}</text>"#,
            n(x),
            n(y),
            if extra.is_empty() { "" } else { " " },
            escape(content)
        );
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, extra: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}"{}{extra}/>"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            if extra.is_empty() { "" } else { " " },
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: Option<&str>) {
        let _ = write!(
            self.out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}""#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0)),
        );
        self.close("rect", tip);
    }

    /// Closes an element `tag` opened without `>`: with a tooltip as a `<title>` child, or empty.
    fn close(&mut self, tag: &str, tip: Option<&str>) {
        match tip {
            Some(t) => {
                let _ = write!(self.out, "><title>{}</title></{tag}>", escape(t));
            }
            None => self.out.push_str("/>"),
        }
    }

    fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str, extra: &str, tip: Option<&str>) {
        let _ = write!(
            self.out,
            r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}"{}{extra}"#,
            n(x),
            n(y),
            n(r),
            if extra.is_empty() { "" } else { " " },
        );
        self.close("circle", tip);
    }

    fn finish(mut self) -> String {
        let _ = (self.width, self.height);
        self.out.push_str("</svg>");
        self.out
    }

    /// Horizontal grid lines and the y axis with ticks and a rotated label.
    fn y_axis(&mut self, plot: Rect, axis: &Axis, label: &str, grid: bool) {
        for (v, text) in &axis.ticks {
            let y = axis.map(*v);
            if grid {
                self.line(plot.left, y, plot.right, y, GRID, "");
            }
            self.line(plot.left - 4.0, y, plot.left, y, AXIS, "");
            self.text(plot.left - 6.0, y + 3.5, "end", "", text);
        }
        self.line(plot.left, plot.top, plot.left, plot.bottom, AXIS, "");
        let x = 14.0;
        let y = (plot.top + plot.bottom) / 2.0;
        self.text(
            x,
            y,
            "middle",
            &format!(r#"transform="rotate(-90 {} {})""#, n(x), n(y)),
            label,
        );
    }

    /// Vertical grid lines and the x axis with ticks and a label below.
    fn x_axis(&mut self, plot: Rect, axis: &Axis, label: &str, grid: bool) {
        for (v, text) in &axis.ticks {
            let x = axis.map(*v);
            if grid {
                self.line(x, plot.top, x, plot.bottom, GRID, "");
            }
            self.line(x, plot.bottom, x, plot.bottom + 4.0, AXIS, "");
            self.text(x, plot.bottom + 15.0, "middle", "", text);
        }
        self.line(plot.left, plot.bottom, plot.right, plot.bottom, AXIS, "");
        self.text(
            (plot.left + plot.right) / 2.0,
            plot.bottom + 32.0,
            "middle",
            "",
            label,
        );
    }

    /// A one-line legend from `(swatch, label)` entries starting at `(x, y)`, wrapping at
    /// `max_x`; returns the y below it.
    fn legend_row(&mut self, entries: &[LegendEntry], x0: f64, y0: f64, max_x: f64) -> f64 {
        let mut x = x0;
        let mut y = y0;
        for entry in entries {
            let w = 18.0 + text_width(&entry.label, 11.0) + 14.0;
            if x + w > max_x && x > x0 {
                x = x0;
                y += 16.0;
            }
            entry.swatch(self, x, y);
            self.text(x + 18.0, y + 4.0, "start", "", &entry.label);
            x += w;
        }
        y + 16.0
    }

    /// A bold title over a one-column legend of `(name, count, colour)` categories.
    fn category_legend(
        &mut self,
        title: &str,
        categories: &[(String, usize, &str)],
        swatch: Swatch,
        x: f64,
        y: f64,
    ) {
        self.text(x, y, "start", r#"font-weight="600""#, &truncate(title, 30));
        let entries: Vec<LegendEntry> = categories
            .iter()
            .map(|(name, count, colour)| {
                LegendEntry::new(swatch, colour, format!("{} ({count})", truncate(name, 26)))
            })
            .collect();
        self.legend_column(&entries, x, y + 18.0);
    }

    /// A one-column legend; returns the y below it.
    fn legend_column(&mut self, entries: &[LegendEntry], x: f64, y0: f64) -> f64 {
        let mut y = y0;
        for entry in entries {
            entry.swatch(self, x, y);
            self.text(x + 18.0, y + 4.0, "start", "", &entry.label);
            y += 16.0;
        }
        y
    }
}

/// What a legend entry's swatch looks like.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Square,
    Dot,
    Line,
    Dashed,
}

struct LegendEntry {
    swatch: Swatch,
    colour: String,
    label: String,
}

impl LegendEntry {
    fn new(swatch: Swatch, colour: &str, label: impl Into<String>) -> LegendEntry {
        LegendEntry {
            swatch,
            colour: colour.to_string(),
            label: label.into(),
        }
    }

    fn swatch(&self, svg: &mut Svg, x: f64, y: f64) {
        match self.swatch {
            Swatch::Square => svg.rect(x + 2.0, y - 5.0, 10.0, 10.0, &self.colour, None),
            Swatch::Dot => svg.circle(x + 7.0, y, 4.0, &self.colour, "", None),
            Swatch::Line => svg.line(x, y, x + 14.0, y, &self.colour, r#"stroke-width="2.5""#),
            Swatch::Dashed => svg.line(
                x,
                y,
                x + 14.0,
                y,
                &self.colour,
                r#"stroke-width="1.5" stroke-dasharray="4 3""#,
            ),
        }
    }
}

/// A named vertical or horizontal reference line.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Where the line sits, in data units.
    pub value: f64,
    /// What it marks (e.g. `random (worst control)`).
    pub label: String,
}

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
        legend.push(LegendEntry::new(Swatch::Dashed, "#333", label.clone()));
    }
    let legend_rows = legend_rows(&legend, 16.0, WIDTH - 16.0);
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
    svg.x_axis(plot, &axis, &chart.value_label, true);
    let zero = axis.map(0.0);

    for (gi, group) in chart.groups.iter().enumerate() {
        let y0 = top + band * gi as f64 + 5.0;
        let label = truncate(&group.label, 32);
        let _ = write!(svg.out, "<g><title>{}</title>", escape(&group.label));
        svg.text(left - 8.0, y0 + band / 2.0 - 5.0 + 3.5, "end", "", &label);
        svg.raw("</g>");
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
                        svg.line(a, cy, b, cy, "#222", r#"stroke-width="1.2""#);
                        svg.line(a, cy - 3.0, a, cy + 3.0, "#222", r#"stroke-width="1.2""#);
                        svg.line(b, cy - 3.0, b, cy + 3.0, "#222", r#"stroke-width="1.2""#);
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
            let _ = write!(
                svg.out,
                r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#333" stroke-width="1.5" stroke-dasharray="4 3"><title>{}: {}</title></line>"##,
                n(y0 - 3.0),
                n(y0 + band - 7.0),
                escape(chart.marker_label.as_deref().unwrap_or("marker")),
                fmt3(m),
                x = n(x),
            );
        }
    }
    if lo < 0.0 {
        svg.line(zero, top, zero, bottom, AXIS, "");
    }
    for (i, r) in chart.references.iter().enumerate() {
        if !r.value.is_finite() {
            continue;
        }
        let x = axis.map(r.value);
        let colour = if i % 2 == 0 { "#a01818" } else { "#1a5e1a" };
        let _ = write!(
            svg.out,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{colour}" stroke-width="1.2" stroke-dasharray="5 3"><title>{}: {}</title></line>"#,
            n(top - 13.0 * (ref_rows - i as f64) + 8.0),
            n(bottom),
            escape(&r.label),
            fmt3(r.value),
            x = n(x),
        );
        let text = format!("{} {}", r.label, fmt3(r.value));
        let y = top - 13.0 * (ref_rows - i as f64) + 6.0;
        let anchor_end = x + text_width(&text, 10.0) + 4.0 > WIDTH - 4.0;
        svg.text(
            if anchor_end { x - 3.0 } else { x + 3.0 },
            y,
            if anchor_end { "end" } else { "start" },
            &format!(r#"font-size="10" fill="{colour}""#),
            &text,
        );
    }
    svg.finish()
}

/// How many rows [`Svg::legend_row`] will take for `entries`.
fn legend_rows(entries: &[LegendEntry], x0: f64, max_x: f64) -> f64 {
    if entries.is_empty() {
        return 0.0;
    }
    let mut rows = 1.0;
    let mut x = x0;
    for entry in entries {
        let w = 18.0 + text_width(&entry.label, 11.0) + 14.0;
        if x + w > max_x && x > x0 {
            x = x0;
            rows += 1.0;
        }
        x += w;
    }
    rows
}

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
    let sig = chart
        .points
        .iter()
        .filter(|p| p.q.is_finite() && p.q < chart.threshold)
        .count();
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
    let y_axis = Axis::linear(0.0, y_max * 1.04, plot.bottom, plot.top, 5);
    let mut svg = Svg::new(width, height, &chart.title);
    svg.legend_row(&legend, plot.left, 32.0, width - 8.0);
    svg.y_axis(plot, &y_axis, "−log10(q)", true);
    svg.x_axis(plot, &x_axis, "mAP", true);
    let ty = y_axis.map(thr);
    let _ = write!(
        svg.out,
        r##"<line x1="{}" y1="{ty}" x2="{}" y2="{ty}" stroke="#a01818" stroke-width="1.2" stroke-dasharray="5 3"><title>q = {}</title></line>"##,
        n(plot.left),
        n(plot.right),
        chart.threshold,
        ty = n(ty),
    );
    // Not significant first, so significant points sit on top.
    let mut order: Vec<&MapPoint> = chart.points.iter().collect();
    order.sort_by_key(|p| p.q.is_finite() && p.q < chart.threshold);
    let r = if chart.small { 2.6 } else { 3.2 };
    for p in order {
        if !p.map.is_finite() {
            continue;
        }
        let significant = p.q.is_finite() && p.q < chart.threshold;
        let tip = format!("{}: mAP {}, q {}", p.label, fmt3(p.map), fmt_q(p.q));
        svg.circle(
            x_axis.map(p.map),
            y_axis.map(neg_log10(p.q)),
            r,
            if significant { CATEGORICAL[0] } else { OTHER },
            r#"fill-opacity="0.8""#,
            Some(&tip),
        );
    }
    svg.finish()
}

fn fmt_q(q: f64) -> String {
    if !q.is_finite() {
        "—".into()
    } else if q == 0.0 || q >= 1e-3 {
        fmt3(q)
    } else {
        format!("{q:.1e}")
    }
}

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
    let (y_lo, y_hi) = chart.y_range.unwrap_or_else(|| {
        let sd = |p: &&LinePoint| p.sd.filter(|s| s.is_finite()).unwrap_or(0.0);
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
    svg.y_axis(plot, &y_axis, &chart.y_label, true);
    svg.x_axis(plot, &x_axis, &chart.x_label, true);
    let clamp_y = |v: f64| y_axis.map(v).clamp(plot.top, plot.bottom);

    for s in &chart.series {
        let pts: Vec<&LinePoint> = s.points.iter().filter(finite).collect();
        if pts
            .iter()
            .any(|p| p.sd.is_some_and(|v| v.is_finite() && v > 0.0))
        {
            let mut poly = String::new();
            for p in pts.iter() {
                let sd = p.sd.filter(|v| v.is_finite()).unwrap_or(0.0);
                let _ = write!(poly, "{},{} ", n(x_axis.map(p.x)), n(clamp_y(p.y + sd)));
            }
            for p in pts.iter().rev() {
                let sd = p.sd.filter(|v| v.is_finite()).unwrap_or(0.0);
                let _ = write!(poly, "{},{} ", n(x_axis.map(p.x)), n(clamp_y(p.y - sd)));
            }
            let _ = write!(
                svg.out,
                r#"<polygon points="{}" fill="{}" fill-opacity="0.18" stroke="none"><title>{} ± sd</title></polygon>"#,
                poly.trim_end(),
                s.colour,
                escape(&s.name)
            );
        }
        let mut line = String::new();
        for p in &pts {
            let _ = write!(line, "{},{} ", n(x_axis.map(p.x)), n(clamp_y(p.y)));
        }
        let _ = write!(
            svg.out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            line.trim_end(),
            s.colour
        );
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
        let _ = write!(
            svg.out,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#333" stroke-width="1.2" stroke-dasharray="5 3"><title>{}</title></line>"##,
            n(plot.top - 4.0),
            n(plot.bottom),
            escape(&m.label),
            x = n(x),
        );
        let anchor_end = x + text_width(&m.label, 10.0) + 4.0 > width - 4.0;
        svg.text(
            if anchor_end { x - 3.0 } else { x + 3.0 },
            plot.top - 5.0,
            if anchor_end { "end" } else { "start" },
            r##"font-size="10" fill="#333""##,
            &m.label,
        );
    }
    svg.finish()
}

/// Categories of points: the [`MAX_CATEGORIES`] most frequent (ties by name) keep their own
/// colour in that order; the rest become "other". Returns `(name, count, colour)` per legend
/// entry and each point's colour.
pub fn categorize(values: &[String]) -> (Vec<(String, usize, &'static str)>, Vec<&'static str>) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let mut order: Vec<(&str, usize)> = counts.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let keep = if order.len() > MAX_CATEGORIES {
        MAX_CATEGORIES
    } else {
        order.len()
    };
    let colours: BTreeMap<&str, &'static str> = order[..keep]
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, categorical(i)))
        .collect();
    let mut legend: Vec<(String, usize, &'static str)> = order[..keep]
        .iter()
        .map(|(name, count)| (name.to_string(), *count, colours[name]))
        .collect();
    let rest: usize = order[keep..].iter().map(|(_, c)| c).sum();
    if rest > 0 {
        legend.push((format!("other ({} more)", order.len() - keep), rest, OTHER));
    }
    let per_point = values
        .iter()
        .map(|v| colours.get(v.as_str()).copied().unwrap_or(OTHER))
        .collect();
    (legend, per_point)
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
    svg.y_axis(plot, &y_axis, &chart.y_label, true);
    svg.x_axis(plot, &x_axis, &chart.x_label, true);
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

/// Row/column label layout shared by the heat maps.
fn label_font(cell: f64) -> Option<f64> {
    if cell >= 7.0 {
        Some((cell - 1.0).min(11.0))
    } else {
        None
    }
}

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

/// Renders a [`Heatmap`] with a diverging palette and a colour bar.
pub fn heatmap(chart: &Heatmap) -> String {
    let k = chart.labels.len();
    let cell = (480.0 / k.max(1) as f64).clamp(2.0, 18.0);
    let font = label_font(cell);
    let label_w = font.map_or(0.0, |f| {
        chart
            .labels
            .iter()
            .map(|l| text_width(&truncate(l, 24), f))
            .fold(0.0, f64::max)
            + 6.0
    });
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
        .map(|(name, c, _)| text_width(&format!("{} ({c})", truncate(name, 26)), 11.0) + 22.0)
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
        let _ = write!(svg.out, "<g><title>{}</title>", escape(row));
        for (c, col) in chart.labels.iter().enumerate() {
            let v = chart.values.get(r * k + c).copied().unwrap_or(f64::NAN);
            let fill = if v.is_finite() {
                diverging(v)
            } else {
                "#ffffff".into()
            };
            let tip = if k <= 60 {
                Some(format!("{row} × {col}: {}", fmt3(v)))
            } else {
                None
            };
            svg.rect(
                left + cell * c as f64,
                y,
                cell + 0.05,
                cell + 0.05,
                &fill,
                tip.as_deref(),
            );
        }
        svg.raw("</g>");
    }
    svg.raw(&format!(
        r#"<rect x="{}" y="{}" width="{s}" height="{s}" fill="none" stroke="{AXIS}" stroke-width="0.8"/>"#,
        n(left),
        n(top),
        s = n(side)
    ));
    if let Some(f) = font {
        for (i, label) in chart.labels.iter().enumerate() {
            let c = cell * i as f64 + cell / 2.0 + f * 0.35;
            svg.text(
                left - strip - 4.0,
                top + c,
                "end",
                &format!(r#"font-size="{}""#, n(f)),
                &truncate(label, 24),
            );
            let x = left + c;
            let y = top + side + 4.0;
            svg.text(
                x,
                y,
                "end",
                &format!(
                    r#"font-size="{}" transform="rotate(-90 {} {})""#,
                    n(f),
                    n(x),
                    n(y)
                ),
                &truncate(label, 24),
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
    // Colour bar: 20 stacked rectangles from +1 (top) to −1, no gradient ids needed.
    let bar_h = 160.0;
    for i in 0..20 {
        let v = 1.0 - (i as f64 + 0.5) / 10.0;
        svg.rect(
            bar_x,
            top + bar_h * i as f64 / 20.0,
            12.0,
            bar_h / 20.0 + 0.3,
            &diverging(v),
            None,
        );
    }
    for (v, label) in [(1.0, "1"), (0.0, "0"), (-1.0, "\u{2212}1")] {
        let y = top + (1.0 - v) / 2.0 * bar_h;
        svg.line(bar_x + 12.0, y, bar_x + 16.0, y, AXIS, "");
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

/// Renders a [`CountHeatmap`]: a sequential palette, zeros white with a red dot so gaps show.
pub fn count_heatmap(chart: &CountHeatmap) -> String {
    let nr = chart.rows.len();
    let nc = chart.cols.len();
    let cw = (440.0 / nc.max(1) as f64).clamp(6.0, 44.0);
    let ch = (560.0 / nr.max(1) as f64).clamp(3.0, 18.0);
    let row_font = label_font(ch);
    let col_font = label_font(cw);
    let row_w = row_font.map_or(0.0, |f| {
        chart
            .rows
            .iter()
            .map(|l| text_width(&truncate(l, 28), f))
            .fold(0.0, f64::max)
            + 8.0
    });
    let col_h = col_font.map_or(0.0, |f| {
        chart
            .cols
            .iter()
            .map(|l| text_width(&truncate(l, 20), f))
            .fold(0.0, f64::max)
            + 8.0
    });
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
    let colour = |c: u32| {
        if c == 0 {
            "#ffffff".to_string()
        } else if max == 1 {
            sequential(1.0)
        } else {
            sequential((f64::from(c) - 1.0) / (f64::from(max) - 1.0))
        }
    };
    for (r, row) in chart.rows.iter().enumerate() {
        let y = top + ch * r as f64;
        let _ = write!(svg.out, "<g><title>{}</title>", escape(row));
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
                    "#d55e00",
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
        svg.raw("</g>");
    }
    // Cell borders as one light grid, drawn over the cells.
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
        let _ = write!(
            svg.out,
            r##"<path d="{d}" stroke="#c8c8c8" stroke-width="0.6" fill="none"/>"##
        );
    }
    if let Some(f) = row_font {
        for (r, row) in chart.rows.iter().enumerate() {
            svg.text(
                left - 4.0,
                top + ch * r as f64 + ch / 2.0 + f * 0.35,
                "end",
                &format!(r#"font-size="{}""#, n(f)),
                &truncate(row, 28),
            );
        }
    }
    if let Some(f) = col_font {
        for (c, col) in chart.cols.iter().enumerate() {
            let x = left + cw * c as f64 + cw / 2.0 + f * 0.35;
            let y = top + grid_h + 4.0;
            svg.text(
                x,
                y,
                "end",
                &format!(
                    r#"font-size="{}" transform="rotate(-90 {} {})""#,
                    n(f),
                    n(x),
                    n(y)
                ),
                &truncate(col, 20),
            );
        }
    }
    let cy = top + grid_h / 2.0;
    svg.text(
        14.0,
        cy,
        "middle",
        &format!(r#"transform="rotate(-90 14 {})""#, n(cy)),
        &chart.row_label,
    );
    svg.text(
        left + grid_w / 2.0,
        top + grid_h + col_h + 18.0,
        "middle",
        "",
        &chart.col_label,
    );
    // Colour bar: counts 1..max, then the zero swatch.
    let bar_h = 120.0;
    for i in 0..20 {
        let t = 1.0 - (i as f64 + 0.5) / 20.0;
        svg.rect(
            bar_x,
            top + bar_h * i as f64 / 20.0,
            12.0,
            bar_h / 20.0 + 0.3,
            &sequential(t),
            None,
        );
    }
    svg.text(bar_x + 18.0, top + 8.0, "start", "", &max.to_string());
    svg.text(bar_x + 18.0, top + bar_h, "start", "", "1");
    svg.rect(bar_x, top + bar_h + 12.0, 12.0, 12.0, "#ffffff", None);
    svg.raw(&format!(
        r##"<rect x="{}" y="{}" width="12" height="12" fill="none" stroke="#999"/>"##,
        n(bar_x),
        n(top + bar_h + 12.0)
    ));
    svg.circle(bar_x + 6.0, top + bar_h + 18.0, 2.2, "#d55e00", "", None);
    svg.text(bar_x + 18.0, top + bar_h + 22.0, "start", "", "0 (none)");
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_use_1_2_5_steps() {
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(t.step, 0.2);
        assert_eq!(t.values, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let t = nice_ticks(0.013, 0.87, 5);
        assert_eq!((t.lo, t.hi, t.step), (0.0, 1.0, 0.2));
        let t = nice_ticks(-3.2, 47.0, 5);
        assert_eq!(t.step, 10.0);
        assert_eq!(t.values, [-10.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        let t = nice_ticks(0.1, 0.3, 4);
        assert_eq!(t.step, 0.05);
        assert_eq!(
            t.values
                .iter()
                .map(|v| format_tick(*v, t.step))
                .collect::<Vec<_>>(),
            ["0.10", "0.15", "0.20", "0.25", "0.30"]
        );
        // Degenerate and non-finite ranges still give a usable axis.
        let t = nice_ticks(0.5, 0.5, 5);
        assert!(t.lo < 0.5 && t.hi > 0.5, "{t:?}");
        let t = nice_ticks(f64::NAN, 1.0, 5);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
    }

    #[test]
    fn tick_labels_use_a_true_minus_and_no_negative_zero() {
        assert_eq!(format_tick(-0.5, 0.5), "\u{2212}0.5");
        assert_eq!(format_tick(-0.0, 0.5), "0.0");
        assert_eq!(format_tick(20.0, 10.0), "20");
        assert_eq!(format_tick(0.25, 0.05), "0.25");
    }

    #[test]
    fn log_ticks_cover_the_decades() {
        let (lo, hi, v) = log_ticks(1e-4, 1.0);
        assert_eq!((lo, hi), (1e-4, 1.0));
        assert_eq!(v, [1e-4, 1e-3, 1e-2, 1e-1, 1.0]);
        let (_, _, v) = log_ticks(0.01, 0.5);
        assert_eq!(v, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);
    }

    #[test]
    fn colours_are_stable_per_name() {
        let a = ColourMap::new(["cnn", "pca", "random", "pca"]);
        let b = ColourMap::new(["cnn", "pca", "random"]);
        for name in ["cnn", "pca", "random"] {
            assert_eq!(a.colour(name), b.colour(name));
        }
        assert_eq!(a.colour("cnn"), CATEGORICAL[0]);
        assert_eq!(a.colour("random"), CATEGORICAL[2]);
        assert_eq!(a.colour("unknown"), OTHER);
        assert_eq!(diverging(-1.0), "#2166ac");
        assert_eq!(diverging(0.0), "#f7f7f7");
        assert_eq!(diverging(1.0), "#b2182b");
        assert_eq!(diverging(f64::NAN), "#f7f7f7");
        assert_eq!(sequential(0.0), "#d4e6f4");
        assert_eq!(sequential(1.0), "#08306b");
    }

    #[test]
    fn more_than_ten_categories_pool_the_rest_as_other() {
        let values: Vec<String> = (0..14)
            .flat_map(|i| std::iter::repeat_n(format!("c{i:02}"), 20 - i))
            .collect();
        let (legend, colours) = categorize(&values);
        assert_eq!(legend.len(), 11);
        assert_eq!(legend[0], ("c00".into(), 20, CATEGORICAL[0]));
        assert_eq!(legend[10], ("other (4 more)".into(), 7 + 8 + 9 + 10, OTHER));
        assert_eq!(colours.len(), values.len());
        assert_eq!(*colours.last().unwrap(), OTHER);
        // Same data, same colours.
        assert_eq!(categorize(&values), (legend, colours));
    }

    #[test]
    fn text_is_escaped_in_titles_and_tooltips() {
        let svg = bar_chart(&BarChart {
            title: "<script>alert(1)</script>".into(),
            value_label: "a & b".into(),
            series: vec![("s\"1".into(), CATEGORICAL[0].into())],
            groups: vec![BarGroup {
                label: "<b>x</b>".into(),
                values: vec![Some(BarValue {
                    value: 0.5,
                    err: Some(0.1),
                })],
                marker: None,
                colour: None,
            }],
            references: vec![],
            marker_label: None,
        });
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("a &amp; b"), "{svg}");
        assert!(!svg.contains("http"), "no xmlns or other URL: {svg}");
    }

    #[test]
    fn no_nan_reaches_the_output() {
        let svg = line_chart(&LineChart {
            title: "t".into(),
            x_label: "k".into(),
            y_label: "NMI".into(),
            series: vec![LineSeries {
                name: "a".into(),
                colour: CATEGORICAL[0].into(),
                points: vec![
                    LinePoint {
                        x: 2.0,
                        y: 0.1,
                        sd: Some(f64::NAN),
                    },
                    LinePoint {
                        x: 4.0,
                        y: f64::NAN,
                        sd: None,
                    },
                    LinePoint {
                        x: 8.0,
                        y: 0.3,
                        sd: Some(0.02),
                    },
                ],
            }],
            x_marker: Some(Reference {
                value: 4.0,
                label: "k = 4".into(),
            }),
            log_x: false,
            integer_x: true,
            y_range: None,
        });
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let svg = map_scatter(&MapScatter {
            title: "m".into(),
            points: vec![MapPoint {
                label: "g".into(),
                map: 0.5,
                q: 0.0,
            }],
            threshold: 0.05,
            y_max: None,
            small: true,
        });
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn small_plots_are_stable() {
        let bars = BarChart {
            title: "leakage".into(),
            value_label: "balanced accuracy".into(),
            series: vec![
                ("a".into(), categorical(0).into()),
                ("b".into(), categorical(1).into()),
            ],
            groups: vec![BarGroup {
                label: "task (plate)".into(),
                values: vec![
                    Some(BarValue {
                        value: 0.4,
                        err: Some(0.05),
                    }),
                    None,
                ],
                marker: Some(0.25),
                colour: None,
            }],
            references: vec![Reference {
                value: 0.3,
                label: "worst control: random".into(),
            }],
            marker_label: Some("chance".into()),
        };
        let svg = bar_chart(&bars);
        assert_eq!(svg, bar_chart(&bars), "deterministic");
        insta::assert_snapshot!("bar_chart", svg);
        let lines = LineChart {
            title: "nsc vs λ".into(),
            x_label: "λ".into(),
            y_label: "accuracy".into(),
            series: vec![LineSeries {
                name: "pca".into(),
                colour: categorical(0).into(),
                points: vec![
                    LinePoint {
                        x: 0.001,
                        y: 0.4,
                        sd: None,
                    },
                    LinePoint {
                        x: 0.1,
                        y: 0.5,
                        sd: Some(0.02),
                    },
                ],
            }],
            x_marker: Some(Reference {
                value: 0.01,
                label: "λ used".into(),
            }),
            log_x: true,
            integer_x: false,
            y_range: None,
        };
        insta::assert_snapshot!("line_chart_log_x", line_chart(&lines));
    }
}
