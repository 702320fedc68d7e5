//! Writes the fixture pages: `index.html` (a leaderboard) and `runs/demo-screen/*.html` (run
//! reports), for looking at them in a browser and for `ci/check-report.sh`.
//!
//! `cargo run -p cpbench-report --example render_fixture -- OUT_DIR` (default `target/report-fixture`)

use std::path::PathBuf;

use cpbench_report::{
    BenchmarkRuns, LeaderboardPage, RunPage, render_leaderboard, render_run_report,
};
use cpbench_results::RunFigures;
use cpbench_results::fixtures::{self, LEADERBOARD_RUNS};

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/report-fixture".into()),
    );
    let runs_dir = out.join("runs/demo-screen");
    std::fs::create_dir_all(&runs_dir).expect("create output folder");

    let figures: Vec<(&str, RunFigures)> = LEADERBOARD_RUNS
        .iter()
        .map(|(plugin, quality, seed)| (*plugin, fixtures::run_figures_with(*quality, *seed)))
        .collect();
    let tasks = vec![
        (
            "replicate-map".to_string(),
            "mAP of each compound's replicates against negative controls (copairs)".to_string(),
        ),
        (
            "moa-kmeans".to_string(),
            "k-means of compound profiles against mechanism-of-action labels".to_string(),
        ),
        (
            "batch-leakage".to_string(),
            "logistic regression predicting the batch from the profiles".to_string(),
        ),
    ];
    let mut written = Vec::new();
    for (plugin, figs) in &figures {
        let mut result = fixtures::run_result();
        result.plugin.id = plugin.to_string();
        let html = render_run_report(&RunPage {
            result: &result,
            figures: figs,
            benchmark_title: "Demo compound screen",
            benchmark_description: Some(
                "A small simulated compound screen: 40 compounds in 4 batches.",
            ),
            plugin_description: "fixture plugin",
            task_descriptions: tasks.clone(),
            index_href: Some("../../index.html"),
        })
        .expect("render run report");
        let path = runs_dir.join(format!("{plugin}.html"));
        std::fs::write(&path, html).expect("write run report");
        written.push(path);
    }
    let board = fixtures::leaderboard();
    let html = render_leaderboard(&LeaderboardPage {
        board: &board,
        runs: vec![BenchmarkRuns {
            benchmark: "demo-screen",
            description: Some("A small simulated compound screen: 40 compounds in 4 batches."),
            runs: figures.iter().map(|(p, f)| (*p, f)).collect(),
        }],
        generated_note: Some("fixture data"),
    })
    .expect("render leaderboard");
    let index = out.join("index.html");
    std::fs::write(&index, html).expect("write index.html");
    println!("{}", index.display());
    for path in written {
        println!("{}", path.display());
    }
}
