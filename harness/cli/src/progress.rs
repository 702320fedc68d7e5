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

/// The progress of remote data fetches: a bar with bytes, rate and ETA on a terminal; the
/// notes (a resumed download, a retry, a corrupt cache entry, what was fetched) on stderr
/// always.
pub struct Fetching {
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

/// The one fetch display of this process.
pub static FETCHING: Fetching = Fetching {
    bar: std::sync::Mutex::new(None),
};

impl cpbench_remote::Progress for Fetching {
    fn start(&self, label: &str, total: Option<u64>, done: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::no_length(),
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_message(label.to_string());
        bar.set_position(done);
        // Rate and ETA count this transfer only, not the bytes already on disk.
        bar.reset_eta();
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }

    fn note(&self, text: &str) {
        let bar = self.bar.lock().ok().and_then(|s| s.clone());
        match bar {
            Some(bar) => bar.suspend(|| errln!("{text}")),
            None => errln!("{text}"),
        }
    }
}
