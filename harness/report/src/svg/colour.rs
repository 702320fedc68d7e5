//! Colours and their keys: the categorical palette, the diverging and sequential ramps, the
//! category → colour assignment, legends and colour bars.
//!
//! Contract: colours are `#rrggbb` strings and depend only on their input (the same names or
//! values give the same colours in every chart of a page); ramps clamp their input and map
//! non-finite values to their neutral end; legends and colour bars are laid out from fixed
//! metrics, so their size is known before they are drawn.

use std::collections::BTreeMap;

use super::canvas::{Svg, text_width, truncate};

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

/// Dash of per-category markers, shared by their legend swatch so the two read as one.
pub(super) const MARKER_DASH: &str = r#"stroke-width="1.5" stroke-dasharray="4 3""#;

/// Height of a legend row, in pixels.
const LEGEND_ROW: f64 = 16.0;

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

/// Linear interpolation between evenly spaced `stops` at `t` in `[0, 1]`.
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
pub(super) fn dark(hex: &str) -> bool {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_or(0.0, f64::from);
    0.299 * c(1) + 0.587 * c(3) + 0.114 * c(5) < 140.0
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
    let keep = order.len().min(MAX_CATEGORIES);
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

/// The legend text of a category: its (shortened) name and how many items it has.
pub(super) fn category_label(name: &str, count: usize) -> String {
    format!("{} ({count})", truncate(name, 26))
}

/// What a legend entry's swatch looks like.
#[derive(Debug, Clone, Copy)]
pub(super) enum Swatch {
    Square,
    Dot,
    Line,
    Dashed,
}

/// One legend entry: a swatch and its label.
pub(super) struct LegendEntry {
    swatch: Swatch,
    colour: String,
    label: String,
}

impl LegendEntry {
    /// An entry drawn as `swatch` in `colour`, followed by `label`.
    pub(super) fn new(swatch: Swatch, colour: &str, label: impl Into<String>) -> LegendEntry {
        LegendEntry {
            swatch,
            colour: colour.to_string(),
            label: label.into(),
        }
    }

    /// Horizontal room the entry takes in a legend row: swatch, label and a gap.
    fn width(&self) -> f64 {
        18.0 + text_width(&self.label, 11.0) + 14.0
    }

    /// Draws the swatch and the label with the swatch's middle-left at `(x, y)`.
    fn draw(&self, svg: &mut Svg, x: f64, y: f64) {
        match self.swatch {
            Swatch::Square => svg.rect(x + 2.0, y - 5.0, 10.0, 10.0, &self.colour, None),
            Swatch::Dot => svg.circle(x + 7.0, y, 4.0, &self.colour, "", None),
            Swatch::Line => svg.line(
                (x, y),
                (x + 14.0, y),
                &self.colour,
                r#"stroke-width="2.5""#,
                None,
            ),
            Swatch::Dashed => svg.line((x, y), (x + 14.0, y), &self.colour, MARKER_DASH, None),
        }
        svg.text(x + 18.0, y + 4.0, "start", "", &self.label);
    }
}

/// Where each entry of a legend row starting at `x0` and wrapping at `max_x` goes: its x and
/// its row. One layout serves both sizing a plot and drawing its legend, so they agree.
fn flow(entries: &[LegendEntry], x0: f64, max_x: f64) -> Vec<(f64, usize)> {
    let mut x = x0;
    let mut row = 0;
    let mut at = Vec::with_capacity(entries.len());
    for entry in entries {
        let w = entry.width();
        if x + w > max_x && x > x0 {
            x = x0;
            row += 1;
        }
        at.push((x, row));
        x += w;
    }
    at
}

/// How many rows [`Svg::legend_row`] will take for `entries`.
pub(super) fn legend_rows(entries: &[LegendEntry], x0: f64, max_x: f64) -> f64 {
    flow(entries, x0, max_x)
        .last()
        .map_or(0.0, |(_, row)| (row + 1) as f64)
}

/// A vertical colour bar of 20 stacked rectangles, `height` tall with its top-left at
/// `(x, top)`; `colour` gets each step's middle as a fraction of the way down. Rectangles
/// rather than a gradient, as a gradient needs an id, and ids clash between inlined plots.
pub(super) fn colour_bar(
    svg: &mut Svg,
    x: f64,
    top: f64,
    height: f64,
    colour: impl Fn(f64) -> String,
) {
    for i in 0..20 {
        let down = (i as f64 + 0.5) / 20.0;
        svg.rect(
            x,
            top + height * i as f64 / 20.0,
            12.0,
            // Overlap the next step a little, so no hairline gaps show when scaled.
            height / 20.0 + 0.3,
            &colour(down),
            None,
        );
    }
}

impl Svg {
    /// A legend row from `entries` starting at `(x0, y0)`, wrapping at `max_x`.
    pub(super) fn legend_row(&mut self, entries: &[LegendEntry], x0: f64, y0: f64, max_x: f64) {
        for (entry, (x, row)) in entries.iter().zip(flow(entries, x0, max_x)) {
            entry.draw(self, x, y0 + LEGEND_ROW * row as f64);
        }
    }

    /// A bold title over a one-column legend of `(name, count, colour)` categories.
    pub(super) fn category_legend(
        &mut self,
        title: &str,
        categories: &[(String, usize, &str)],
        swatch: Swatch,
        x: f64,
        y: f64,
    ) {
        self.text(x, y, "start", r#"font-weight="600""#, &truncate(title, 30));
        for (i, (name, count, colour)) in categories.iter().enumerate() {
            LegendEntry::new(swatch, colour, category_label(name, *count)).draw(
                self,
                x,
                y + 18.0 + LEGEND_ROW * i as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
