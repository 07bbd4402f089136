//! Output modes and styles.
//!
//! Human output goes through `anstream`, which drops the colour codes when
//! stdout is not a terminal or `NO_COLOR` is set. `--json` prints one JSON
//! document on stdout and nothing else; `--quiet` prints only the essential
//! value (a hash, a network id) or nothing.

use anstyle::{AnsiColor, Style};
use serde::Serialize;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Output {
    /// Machine-readable JSON on stdout.
    pub(crate) json: bool,
    /// Only the essential value.
    pub(crate) quiet: bool,
}

impl Output {
    /// Whether to print the human-readable text.
    pub(crate) fn human(&self) -> bool {
        !self.json && !self.quiet
    }

    /// Prints `value` as pretty JSON (only in `--json` mode).
    pub(crate) fn json(&self, value: &impl Serialize) -> anyhow::Result<()> {
        if self.json {
            line(&serde_json::to_string_pretty(value)?);
        }
        Ok(())
    }

    /// Prints the essential value in `--quiet` mode.
    pub(crate) fn quiet(&self, value: impl std::fmt::Display) {
        if self.quiet && !self.json {
            line(&value.to_string());
        }
    }
}

pub(crate) const BOLD: Style = Style::new().bold();
pub(crate) const DIM: Style = Style::new().dimmed();
pub(crate) const OK: Style = AnsiColor::Green.on_default().bold();
pub(crate) const BAD: Style = AnsiColor::Red.on_default().bold();
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub(crate) const KEY: Style = AnsiColor::Cyan.on_default();

/// How many terminal columns `text` takes: CJK characters take two, so
/// tables of names in any script line up.
pub(crate) fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` padded with spaces to `columns` terminal columns (by display
/// width, not by characters; never cut).
pub(crate) fn pad(text: &str, columns: usize) -> String {
    let mut s = text.to_owned();
    s.extend(std::iter::repeat_n(
        ' ',
        columns.saturating_sub(width(text)),
    ));
    s
}

/// A progress bar on stderr over `len` `unit` (`records`, `events`),
/// labelled `what` (`sending`); hidden with `--json` or `--quiet`, and
/// drawn only when stderr is a terminal.
pub(crate) fn bar(out: &Output, len: u64, what: &str, unit: &str) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressStyle};
    if !out.human() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!("{{msg:10}} [{{bar:30}}] {{pos}}/{{len}} {unit}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

/// Writes one line to stdout, ignoring a closed pipe (`terroir … | head`).
pub(crate) fn line(text: &str) {
    use std::io::Write;
    let _ = writeln!(anstream::stdout(), "{text}");
}

/// Prints a line of human output (colours stripped when stdout is not a
/// terminal or `NO_COLOR` is set; a closed pipe is not an error).
macro_rules! say {
    () => { $crate::output::line("") };
    ($($arg:tt)*) => { $crate::output::line(&format!($($arg)*)) };
}
pub(crate) use say;
