//! The SVG document every plot is written into, and the text primitives they all share.
//!
//! Contract: [`Svg`] writes elements in call order, coordinates through [`n`] (at most one
//! decimal, no `-0`) and text and tooltips through [`escape`]; `extra` attributes and
//! [`Svg::raw`] markup go in as given, so callers pass only fixed or escaped strings. The same
//! calls give the same bytes. The document has no `xmlns` and no ids, so any number of plots can
//! be inlined in one HTML page without clashes or URLs.

use std::fmt::Write;

/// Width of a full-width plot, in SVG units (pixels at 100%).
pub const WIDTH: f64 = 600.0;

const FONT: &str = "system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
/// Axis lines, ticks and plot outlines.
pub(super) const AXIS: &str = "#444";
/// Grid lines, light so the marks stay in front.
pub(super) const GRID: &str = "#e6e6e6";
/// Secondary text such as value labels.
pub(super) const MUTED: &str = "#666";
/// Per-category markers and the vertical marker of line charts.
pub(super) const MARKER: &str = "#333";
/// Empty cells: missing similarities and zero counts.
pub(super) const BLANK: &str = "#ffffff";

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
pub(super) fn n(v: f64) -> String {
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

/// A number without trailing zeros (at most six decimals), for tooltips of positions.
pub(super) fn trim_number(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Rough rendered width of `text` at `size` px in a sans-serif font.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// `text` shortened to `max` characters with an ellipsis.
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The separator between an element's fixed attributes and `extra` ones, if there are any.
fn sep(extra: &str) -> &'static str {
    if extra.is_empty() { "" } else { " " }
}

/// The plot area inside an SVG.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rect {
    pub(super) left: f64,
    pub(super) top: f64,
    pub(super) right: f64,
    pub(super) bottom: f64,
}

/// An SVG document under construction.
pub(super) struct Svg {
    out: String,
    /// Kept so labels near the right edge can flip to the other side of their anchor.
    width: f64,
}

impl Svg {
    /// Opens a `width` × `height` document headed by `title`, which also labels it for screen
    /// readers.
    pub(super) fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg class="plot" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" font-family="{FONT}" font-size="11">"#,
            w = n(width),
            h = n(height),
            t = escape(title),
        );
        let mut svg = Svg { out, width };
        svg.text(
            width / 2.0,
            16.0,
            "middle",
            r#"font-size="13" font-weight="600""#,
            title,
        );
        svg
    }

    /// The document's width.
    pub(super) fn width(&self) -> f64 {
        self.width
    }

    /// Appends markup as is; the caller escapes and rounds.
    pub(super) fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Opens a group whose `tip` shows when hovering any of its children.
    pub(super) fn open_group(&mut self, tip: &str) {
        let _ = write!(self.out, "<g><title>{}</title>", escape(tip));
    }

    /// Closes the group [`Svg::open_group`] opened.
    pub(super) fn close_group(&mut self) {
        self.out.push_str("</g>");
    }

    /// Text anchored at `(x, y)`; `extra` holds further attributes, already escaped.
    pub(super) fn text(&mut self, x: f64, y: f64, anchor: &str, extra: &str, content: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{}" y="{}" text-anchor="{anchor}"{}{extra}>{}</text>"#,
            n(x),
            n(y),
            sep(extra),
            escape(content)
        );
    }

    /// Text reading bottom to top, turned about its anchor `(x, y)`; `extra` goes before the
    /// transform.
    pub(super) fn text_up(&mut self, x: f64, y: f64, anchor: &str, extra: &str, content: &str) {
        let rotate = format!(
            r#"{extra}{}transform="rotate(-90 {} {})""#,
            sep(extra),
            n(x),
            n(y)
        );
        self.text(x, y, anchor, &rotate, content);
    }

    /// A line from `(x1, y1)` to `(x2, y2)`, with an optional tooltip.
    pub(super) fn line(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        stroke: &str,
        extra: &str,
        tip: Option<&str>,
    ) {
        let _ = write!(
            self.out,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}"{}{extra}"#,
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            sep(extra),
        );
        self.close("line", tip);
    }

    /// A filled rectangle; negative sizes are drawn empty rather than flipped.
    pub(super) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: Option<&str>) {
        self.open_rect(x, y, w, h, fill);
        self.close("rect", tip);
    }

    /// An unfilled rectangle drawn with the `stroke` attributes, to frame cells or swatches.
    pub(super) fn outline(&mut self, x: f64, y: f64, w: f64, h: f64, stroke: &str) {
        self.open_rect(x, y, w, h, "none");
        let _ = write!(self.out, " {stroke}/>");
    }

    fn open_rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        let _ = write!(
            self.out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}""#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0)),
        );
    }

    /// A circle centred on `(x, y)`, with an optional tooltip.
    pub(super) fn circle(
        &mut self,
        x: f64,
        y: f64,
        r: f64,
        fill: &str,
        extra: &str,
        tip: Option<&str>,
    ) {
        let _ = write!(
            self.out,
            r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}"{}{extra}"#,
            n(x),
            n(y),
            n(r),
            sep(extra),
        );
        self.close("circle", tip);
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

    /// Closes the document and returns its markup.
    pub(super) fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}
