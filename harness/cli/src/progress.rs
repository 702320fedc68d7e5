//! Progress bars on a terminal, silence otherwise (CI logs stay clean).

use std::io::IsTerminal;

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

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silences the one-line summaries of `cpbench eval` (a benchmark run reports its own).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Whether summaries are silenced.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// `println!` unless summaries are silenced.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        if !$crate::progress::quiet() {
            println!($($arg)*);
        }
    };
}
