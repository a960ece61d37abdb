//! Progress bars for long loops. They draw on stderr only when it is a terminal and
//! `ICODEGEN_PROGRESS` is not `0`, so logs and tests stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn enabled() -> bool {
    std::env::var_os("ICODEGEN_PROGRESS").is_none_or(|value| value != "0")
}

/// A bar over `len` items labelled `message` (`"infer gru"`, `"rows"`, ...).
pub fn bar(len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), draw_target());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>12} [{bar:30}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    bar
}

/// A spinner for loops of unknown length.
pub fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, draw_target());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} {spinner} {human_pos} ({per_sec})")
            .expect("valid template"),
    );
    bar.set_message(message.to_owned());
    bar
}

fn draw_target() -> ProgressDrawTarget {
    if enabled() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}
