//! The leaderboard as Markdown (`leaderboard.md`): for CI summaries and pull-request comments.
//! Holds nothing that varies between identical runs, so two boards of the same results give
//! the same bytes. The regressions against a baseline come first (what a reviewer needs), then
//! the overall ranking over the common benchmarks with each plugin's coverage, then one table
//! per benchmark with the split it was scored on.

use cpbench_results::format::{MISSING, fixed, fmt_opt_scaled, fmt_raw};
use cpbench_results::{
    Cell, Compared, Leaderboard, PluginMeta, PluginRole, RegressionCheck, ScoredSplit, Status,
    Tolerance,
};

/// Longest reason text shown in a Markdown status cell.
const MAX_REASON_CHARS: usize = 60;

/// The leaderboard as Markdown: an overall table, then one table per benchmark with raw and
/// scaled values, contamination and notes. Holds nothing that varies between identical runs.
pub fn leaderboard_markdown(board: &Leaderboard) -> String {
    let mut md = String::new();
    let mut line = |text: &str| {
        md.push_str(text);
        md.push('\n');
    };
    line("# cpbench leaderboard");
    line("");
    line(&format!(
        "Harness {}{}. Each headline score is shown raw with its scaled value in parentheses: \
         0 is the worst control and 1 the best control on that benchmark.",
        escape(&board.harness.version),
        board
            .harness
            .git_commit
            .as_deref()
            .map(|c| format!(" (commit {})", escape(short_commit(c))))
            .unwrap_or_default()
    ));
    if let Some(check) = &board.regression_check {
        line("");
        for text in regressions_section(check) {
            line(&text);
        }
    }
    line("");
    line("## Overall");
    line("");
    let total = board.benchmarks.len();
    line(&if board.common_benchmarks.is_empty() {
        "No method or reference was scored on any benchmark: there is no overall ranking."
            .to_string()
    } else {
        format!(
            "Ranked by the mean scaled score over the {} every ranked plugin was scored on: {}. \
             A plugin scored on only some of them is listed without an overall rank (its rank \
             on each benchmark below stands). Coverage: benchmarks a plugin was scored on, not \
             contaminated, out of {total}.",
            if board.common_benchmarks.len() == 1 {
                "benchmark".to_string()
            } else {
                format!("{} benchmarks", board.common_benchmarks.len())
            },
            board
                .common_benchmarks
                .iter()
                .map(|b| format!("`{}`", escape(b)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    line("");
    line("| Rank | Plugin | Role | Mean scaled (common) | Coverage | Contaminated on |");
    line("|---:|---|---|---:|---:|---|");
    for row in &board.overall {
        line(&format!(
            "| {} | {} | {} | {} | {}/{total} | {} |",
            fmt_rank(row.rank),
            plugin_label(&row.plugin),
            role_str(row.plugin.role),
            fmt_opt_scaled(row.mean_scaled),
            row.benchmarks,
            if row.contaminated_on.is_empty() {
                MISSING.to_string()
            } else {
                escape(&row.contaminated_on.join(", "))
            }
        ));
    }
    for board in &board.benchmarks {
        line("");
        line(&format!(
            "## {} v{}: {}",
            escape(&board.id),
            board.version,
            escape(&board.title)
        ));
        line("");
        if let Some(split) = &board.split {
            line(&split_text(split));
            line("");
        }
        let mut header = String::from("| Rank | Plugin | Role | Status |");
        let mut rule = String::from("|---:|---|---|---|");
        for column in &board.columns {
            let arrow = if column.higher_is_better {
                "↑"
            } else {
                "↓"
            };
            header.push_str(&format!(" {} {arrow} |", escape(&column.key)));
            rule.push_str("---:|");
        }
        header.push_str(" Mean scaled |");
        rule.push_str("---:|");
        line(&header);
        line(&rule);
        for row in &board.rows {
            let mut text = format!(
                "| {} | {}{} | {} | {} |",
                fmt_rank(row.rank),
                plugin_label(&row.plugin),
                if !row.contaminated.is_empty() {
                    " †"
                } else if !row.trained_on_train_split.is_empty() {
                    " ‡"
                } else {
                    ""
                },
                role_str(row.plugin.role),
                status_text(row.status, &row.reasons)
            );
            for cell in &row.cells {
                text.push_str(&format!(" {} |", fmt_cell(cell)));
            }
            text.push_str(&format!(" {} |", fmt_opt_scaled(row.mean_scaled)));
            line(&text);
        }
        let contaminated: Vec<String> = board
            .rows
            .iter()
            .filter(|r| !r.contaminated.is_empty())
            .map(|r| format!("{} (trained on {})", r.plugin.id, r.contaminated.join(", ")))
            .collect();
        let split_trained: Vec<&str> = board
            .rows
            .iter()
            .filter(|r| !r.trained_on_train_split.is_empty())
            .map(|r| r.plugin.id.as_str())
            .collect();
        if !contaminated.is_empty() || !split_trained.is_empty() || !board.notes.is_empty() {
            line("");
        }
        if !contaminated.is_empty() {
            line(&format!(
                "† Trained on this benchmark's data: {}. Shown, not ranked.",
                escape(&contaminated.join("; "))
            ));
        }
        if !split_trained.is_empty() {
            line(&format!(
                "‡ Trained on this benchmark's train split only and scored on its test split: \
                 ranked. {}.",
                escape(&split_trained.join(", "))
            ));
        }
        for note in &board.notes {
            line(&format!("- {}", escape(note)));
        }
    }
    md
}

/// The regression section: what dropped beyond its tolerance against the baseline, on which
/// scale, and the boards left out of the comparison.
fn regressions_section(check: &RegressionCheck) -> Vec<String> {
    let mut out = vec![
        "## Regressions against the baseline".to_string(),
        String::new(),
        format!(
            "Baseline built by cpbench {}{}; {}.",
            escape(&check.baseline_harness.version),
            check
                .baseline_harness
                .git_commit
                .as_deref()
                .map(|c| format!(" (commit {})", escape(short_commit(c))))
                .unwrap_or_default(),
            tolerance_text(&check.tolerance)
        ),
        String::new(),
    ];
    if check.regressions.is_empty() {
        out.push("No regression.".to_string());
    } else {
        out.push(format!(
            "**{} regression{}:**",
            check.regressions.len(),
            if check.regressions.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
        out.push(String::new());
        for r in &check.regressions {
            out.push(format!("- {}", escape(&r.describe())));
        }
        if check
            .regressions
            .iter()
            .any(|r| r.compared == Compared::Raw)
        {
            out.push(String::new());
            out.push(
                "Raw values are compared only for a column that has no scaled value (fewer than \
                 two controls, or controls that tie)."
                    .to_string(),
            );
        }
    }
    if !check.notes.is_empty() {
        out.push(String::new());
        for note in &check.notes {
            out.push(format!("- {}", escape(note)));
        }
    }
    out
}

/// "largest allowed drop 0.02 of a control-scaled score (map: 0.01)".
fn tolerance_text(t: &Tolerance) -> String {
    let per_metric: Vec<String> = t
        .per_metric
        .iter()
        .map(|(m, v)| format!("{}: {v}", escape(m)))
        .collect();
    format!(
        "largest allowed drop {} of a control-scaled score (0 = worst control, 1 = best){}",
        t.default,
        if per_metric.is_empty() {
            String::new()
        } else {
            format!(", per metric {}", per_metric.join(", "))
        }
    )
}

/// What the board's runs were scored on when the benchmark declares a split.
fn split_text(split: &ScoredSplit) -> String {
    let r = &split.rows;
    let by = match &split.file {
        Some(file) => format!("`{}` through `{}`", escape(&split.column), escape(file)),
        None => format!("`{}`", escape(&split.column)),
    };
    format!(
        "Scored on the test split ({by}): {} test and {} shared rows of {}; plugins fit on {} \
         train and the shared rows.",
        r.test,
        r.shared,
        r.train + r.test + r.shared + r.none,
        r.train
    )
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn short_commit(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn role_str(role: PluginRole) -> &'static str {
    match role {
        PluginRole::Method => "method",
        PluginRole::Control => "control",
        PluginRole::Reference => "reference",
        PluginRole::Example => "example",
    }
}

fn plugin_label(plugin: &PluginMeta) -> String {
    format!("{} {}", escape(&plugin.id), escape(&plugin.version))
}

fn fmt_rank(rank: Option<u32>) -> String {
    rank.map_or_else(|| MISSING.to_string(), |r| r.to_string())
}

fn fmt_cell(cell: &Cell) -> String {
    match (cell.raw, cell.scaled) {
        (None, _) => MISSING.to_string(),
        (Some(raw), None) => fmt_raw(raw),
        (Some(raw), Some(scaled)) => format!("{} ({})", fmt_raw(raw), fixed(scaled, 2)),
    }
}

fn status_text(status: Status, reasons: &[String]) -> String {
    let name = match status {
        Status::Succeeded => return "ok".to_string(),
        Status::Failed => "failed",
        Status::Skipped => "skipped",
        Status::NotApplicable => "not applicable",
    };
    match reasons.first() {
        None => name.to_string(),
        Some(reason) => {
            let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = if reason.chars().count() > MAX_REASON_CHARS {
                let cut: String = reason.chars().take(MAX_REASON_CHARS - 1).collect();
                // End at a word boundary unless that would drop much of the text.
                let cut = match cut.rfind(' ') {
                    Some(space) if space >= MAX_REASON_CHARS * 2 / 3 => &cut[..space],
                    _ => cut.as_str(),
                };
                format!("{}…", cut.trim_end())
            } else {
                reason
            };
            format!("{name}: {}", escape(&short))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpbench_results::build_leaderboard;
    use cpbench_results::fixtures::board::{
        self as board, LEAK, MAP, controls, entry, harness, score, with_status,
    };

    #[test]
    fn markdown_failed_and_not_applicable_runs_stay_on_the_board() {
        let entries = board::failed_and_not_applicable();
        let lb = build_leaderboard(&entries, harness());
        let md = leaderboard_markdown(&lb);
        assert!(
            md.contains(
                "| — | crash 1.0 | method | failed: worker exited with signal 11 \\| while embedding batch 3 of… | — | — | — |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| — | imgs 1.0 | method | not applicable: plugin consumes images; benchmark has wells | — | — | — |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| 1 | m 1.0 | method | ok | 0.350 (0.50) | — | 0.50 |"),
            "{md}"
        );
    }

    #[test]
    fn markdown_detects_contamination_ignoring_case() {
        let entries = board::contaminated();
        let lb = build_leaderboard(&entries, harness());
        let md = leaderboard_markdown(&lb);
        // Shown with its score, flagged, not ranked.
        assert!(
            md.contains("| — | cnn 1.0 † | method | ok | 0.350 (0.50) |"),
            "{md}"
        );
        assert!(
            md.contains(
                "† Trained on this benchmark's data: cnn (trained on JUMP-CP, LINCS-SQ00015054)."
            ),
            "{md}"
        );
        // Overall: the contaminated benchmark is listed but does not count.
        assert!(
            md.contains("| — | cnn 1.0 | method | — | 0/2 | lincs-sq00015054 |"),
            "{md}"
        );
    }

    #[test]
    fn markdown_is_stable_and_complete() {
        let mut entries = controls("b");
        let mut m = entry(
            "b",
            "m|x",
            PluginRole::Method,
            vec![score(MAP, 0.35), score(LEAK, 0.55)],
        );
        m.result.scores[0].sd = Some(0.02);
        entries.push(m);
        entries.push(with_status(
            entry("b", "gone", PluginRole::Reference, vec![]),
            Status::Skipped,
            "onnx runtime missing",
        ));
        entries.push(entry("c", "m|x", PluginRole::Method, vec![score(MAP, 0.2)]));
        let lb = build_leaderboard(&entries, harness());
        let expected = "\
# cpbench leaderboard

Harness 0.1.0 (commit 0123456789ab). Each headline score is shown raw with its scaled value in parentheses: 0 is the worst control and 1 the best control on that benchmark.

## Overall

Ranked by the mean scaled score over the benchmark every ranked plugin was scored on: `b`. A plugin scored on only some of them is listed without an overall rank (its rank on each benchmark below stands). Coverage: benchmarks a plugin was scored on, not contaminated, out of 2.

| Rank | Plugin | Role | Mean scaled (common) | Coverage | Contaminated on |
|---:|---|---|---:|---:|---|
| 1 | m\\|x 1.0 | method | 0.50 | 1/2 | — |
| — | gone 1.0 | reference | — | 0/2 | — |
| — | positive 1.0 | control | 1.00 | 1/2 | — |
| — | random 1.0 | control | 0.00 | 1/2 | — |

## b v1: b title

| Rank | Plugin | Role | Status | replicate-map/map/copairs-0.5 ↑ | batch/batch-leakage/knn-5 ↓ | Mean scaled |
|---:|---|---|---|---:|---:|---:|
| 1 | m\\|x 1.0 | method | ok | 0.350 (0.50) | 0.550 (0.50) | 0.50 |
| — | gone 1.0 | reference | skipped: onnx runtime missing | — | — | — |
| — | positive 1.0 | control | ok | 0.600 (1.00) | 0.200 (1.00) | 1.00 |
| — | random 1.0 | control | ok | 0.100 (0.00) | 0.900 (0.00) | 0.00 |

## c v1: c title

| Rank | Plugin | Role | Status | replicate-map/map/copairs-0.5 ↑ | Mean scaled |
|---:|---|---|---|---:|---:|
| — | m\\|x 1.0 | method | ok | 0.200 | — |

- replicate-map/map/copairs-0.5: not scaled, no control has a value
";
        assert_eq!(leaderboard_markdown(&lb), expected);
        assert_eq!(
            leaderboard_markdown(&lb),
            leaderboard_markdown(&build_leaderboard(&entries, harness()))
        );
    }

    #[test]
    fn markdown_lists_regressions_first_and_says_what_was_scored() {
        let md = leaderboard_markdown(&cpbench_results::fixtures::leaderboard());
        let expected = "\
## Regressions against the baseline

Baseline built by cpbench 0.0.9; largest allowed drop 0.02 of a control-scaled score (0 = worst control, 1 = best), per metric batch-leakage: 0.05.

**1 regression:**

- demo-screen / pca: replicate-map/map/copairs-0.05 scaled 0.4333 → 0.3611 (worse by 0.07222, tolerance 0.02; raw 0.522 → 0.47)

- other-screen: not compared, the baseline has v1 and this leaderboard v2 (a new version may score other rows or tasks)

## Overall
";
        assert!(md.contains(expected), "{md}");
        assert!(md.find("## Regressions") < md.find("## Overall"));
        assert!(
            md.contains(
                "Scored on the test split (`Metadata_compound` through `split.csv`): 210 test \
                 and 24 shared rows of 384; plugins fit on 150 train and the shared rows."
            ),
            "{md}"
        );
        assert!(
            md.contains("| 1 | cnn-demo 1.0.0 ‡ | method | ok |"),
            "{md}"
        );
        assert!(
            md.contains("| — | broken-model 1.0.0 † | method | failed:"),
            "{md}"
        );
        assert!(
            md.contains(
                "‡ Trained on this benchmark's train split only and scored on its test split: \
                 ranked. cnn-demo."
            ),
            "{md}"
        );

        // Without regressions the section says so; without a baseline it is absent.
        let mut lb = cpbench_results::fixtures::leaderboard();
        let check = lb.regression_check.as_mut().unwrap();
        check.regressions.clear();
        check.notes.clear();
        let md = leaderboard_markdown(&lb);
        assert!(
            md.contains("per metric batch-leakage: 0.05.\n\nNo regression.\n"),
            "{md}"
        );
        lb.regression_check = None;
        assert!(!leaderboard_markdown(&lb).contains("Regressions"));
    }

    #[test]
    fn cells_and_statuses_are_written_plainly() {
        assert_eq!(
            fmt_cell(&Cell {
                raw: Some(0.4972),
                sd: None,
                scaled: Some(0.834)
            }),
            "0.497 (0.83)"
        );
        assert_eq!(
            fmt_cell(&Cell {
                raw: None,
                sd: None,
                scaled: None
            }),
            "—"
        );
        assert_eq!(status_text(Status::Failed, &[]), "failed");
    }
}
