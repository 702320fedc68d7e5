//! Progress bars on a terminal, silence otherwise (CI logs stay clean), and the console
//! reporter the runner's messages go to.

use std::io::IsTerminal;

use cpbench_runner::Reporter;
use indicatif::{ProgressBar, ProgressStyle};

/// A byte-counting bar for long reads; hidden when stderr is not a terminal.
pub fn bytes(len: u64, message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style);
    }
    bar.set_message(message.to_string());
    bar
}

/// Summaries and finished pairs on stdout, notes on stderr.
///
/// A closed or full stream never stops the work: the line is dropped and the failure, if it is
/// one, decides the exit status at the end (`crate::output`).
pub struct Console;

impl Reporter for Console {
    fn summary(&self, line: &str) {
        outln!("{line}");
    }
    fn note(&self, line: &str) {
        errln!("{line}");
    }
    fn pair_done(&self, line: &str) {
        outln!("{line}");
    }
}
