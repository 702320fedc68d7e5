//! Axes: "nice" ticks and their labels, linear and log₁₀ scales, the drawn axes with grid lines
//! and titles, and named reference lines across a plot.
//!
//! Contract: tick values are snapped to their step's decimals, so labels read `0.6` and never
//! `0.6000000000000001`; labels use a true minus sign and never show `-0`. Non-finite or
//! degenerate ranges still give a usable axis, so no `NaN` reaches the output.

use super::canvas::{AXIS, GRID, Rect, Svg, text_width};

/// Dash of reference lines across a whole plot: thresholds, control anchors, markers.
pub(super) const REFERENCE_DASH: &str = r#"stroke-width="1.2" stroke-dasharray="5 3""#;

/// Colours of reference lines, alternating so neighbouring lines tell apart.
pub(super) const REFERENCE_COLOURS: [&str; 2] = ["#a01818", "#1a5e1a"];

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

/// Label of a log tick: plain for 0.001–10000, `1e-5` style otherwise.
fn format_log_tick(v: f64) -> String {
    if (1e-3..=1e4).contains(&v) {
        let s = format!("{v}");
        s.replacen('-', "\u{2212}", 1)
    } else {
        format!("{v:e}").replace('-', "\u{2212}")
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
        // A one-point domain has no direction: put it in the middle rather than divide by zero.
        if d1 == d0 {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - d0) / (d1 - d0) * (self.r1 - self.r0)
    }
}

/// An axis: its scale, tick values and their labels.
pub(super) struct Axis {
    scale: Scale,
    ticks: Vec<(f64, String)>,
}

impl Axis {
    /// A linear axis over `[lo, hi]` widened to nice ticks, drawn from pixel `r0` to `r1`.
    pub(super) fn linear(lo: f64, hi: f64, r0: f64, r1: f64, target: usize) -> Axis {
        Axis::from_ticks(&nice_ticks(lo, hi, target), r0, r1)
    }

    /// A linear axis with integer ticks only (for k).
    pub(super) fn integer(lo: f64, hi: f64, r0: f64, r1: f64, target: usize) -> Axis {
        let ticks = nice_ticks(lo, hi, target);
        if ticks.step < 1.0 {
            // A fractional step would label k = 2.5: tick every integer instead.
            let (lo, hi) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
            Axis {
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
            }
        } else {
            Axis::from_ticks(&ticks, r0, r1)
        }
    }

    /// A log₁₀ axis over `[lo, hi]` widened to whole decades, drawn from pixel `r0` to `r1`.
    pub(super) fn log(lo: f64, hi: f64, r0: f64, r1: f64) -> Axis {
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

    fn from_ticks(t: &Ticks, r0: f64, r1: f64) -> Axis {
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

    /// The pixel position of data value `v`.
    pub(super) fn map(&self, v: f64) -> f64 {
        self.scale.map(v)
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

impl Svg {
    /// Both axes of `plot` with grid lines: y first, so x's ticks draw over its grid.
    pub(super) fn axes(&mut self, plot: Rect, x: &Axis, x_label: &str, y: &Axis, y_label: &str) {
        self.y_axis(plot, y, y_label);
        self.x_axis(plot, x, x_label);
    }

    /// Horizontal grid lines and the y axis with ticks and a rotated label.
    fn y_axis(&mut self, plot: Rect, axis: &Axis, label: &str) {
        for (v, text) in &axis.ticks {
            let y = axis.map(*v);
            self.line((plot.left, y), (plot.right, y), GRID, "", None);
            self.line((plot.left - 4.0, y), (plot.left, y), AXIS, "", None);
            self.text(plot.left - 6.0, y + 3.5, "end", "", text);
        }
        self.line(
            (plot.left, plot.top),
            (plot.left, plot.bottom),
            AXIS,
            "",
            None,
        );
        self.y_title((plot.top + plot.bottom) / 2.0, label);
    }

    /// Vertical grid lines and the x axis with ticks and a label below.
    pub(super) fn x_axis(&mut self, plot: Rect, axis: &Axis, label: &str) {
        for (v, text) in &axis.ticks {
            let x = axis.map(*v);
            self.line((x, plot.top), (x, plot.bottom), GRID, "", None);
            self.line((x, plot.bottom), (x, plot.bottom + 4.0), AXIS, "", None);
            self.text(x, plot.bottom + 15.0, "middle", "", text);
        }
        self.line(
            (plot.left, plot.bottom),
            (plot.right, plot.bottom),
            AXIS,
            "",
            None,
        );
        self.text(
            (plot.left + plot.right) / 2.0,
            plot.bottom + 32.0,
            "middle",
            "",
            label,
        );
    }

    /// The title of a vertical axis, rotated, at the left edge and centred on `y`.
    pub(super) fn y_title(&mut self, y: f64, label: &str) {
        self.text_up(14.0, y, "middle", "", label);
    }

    /// A dashed vertical reference line at `x` from `top` to `bottom`, with a tooltip.
    pub(super) fn reference_line(
        &mut self,
        x: f64,
        top: f64,
        bottom: f64,
        colour: &str,
        tip: &str,
    ) {
        self.line((x, top), (x, bottom), colour, REFERENCE_DASH, Some(tip));
    }

    /// The label of a vertical line at `x`: right of it, or left of it where it would run past
    /// the document's right edge.
    pub(super) fn reference_label(&mut self, x: f64, y: f64, colour: &str, text: &str) {
        let anchor_end = x + text_width(text, 10.0) + 4.0 > self.width() - 4.0;
        self.text(
            if anchor_end { x - 3.0 } else { x + 3.0 },
            y,
            if anchor_end { "end" } else { "start" },
            &format!(r#"font-size="10" fill="{colour}""#),
            text,
        );
    }
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
}
