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
//!
//! Layout: `canvas` (the SVG document and text helpers), `axis` (ticks, scales, axes, reference
//! lines) and `colour` (palettes, legends, colour bars) are shared by the plots in `bar`, `line`,
//! `scatter` and `heatmap`. Everything public is re-exported here; the submodules are private.

mod axis;
mod bar;
mod canvas;
mod colour;
mod heatmap;
mod line;
mod scatter;

pub use axis::{Reference, Ticks, format_tick, log_ticks, nice_ticks};
pub use bar::{BarChart, BarGroup, BarValue, bar_chart};
pub use canvas::{WIDTH, escape, fmt3};
pub use colour::{
    CATEGORICAL, ColourMap, MAX_CATEGORIES, OTHER, categorical, categorize, diverging, sequential,
};
pub use heatmap::{CountHeatmap, Heatmap, count_heatmap, heatmap};
pub use line::{LineChart, LinePoint, LineSeries, line_chart};
pub use scatter::{
    CategoryScatter, MapPoint, MapScatter, Q_FLOOR, category_scatter, map_scatter, neg_log10,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The snapshots predate the split into a module folder: keep reading them from
    /// `src/snapshots`, under their old names, rather than from `src/svg/snapshots`.
    macro_rules! assert_snapshot {
        ($name:expr, $value:expr) => {
            insta::with_settings!({ snapshot_path => "../snapshots" }, {
                insta::assert_snapshot!($name, $value);
            })
        };
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
        assert_snapshot!("bar_chart", svg);
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
        assert_snapshot!("line_chart_log_x", line_chart(&lines));
    }
}
