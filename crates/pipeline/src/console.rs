//! What the runner tells the user, on stderr (results such as `status` go to stdout): `-q` shows
//! only errors, `-v` adds fresh stages and timings, `-vv` stage keys. Colour only on a terminal,
//! and never when `NO_COLOR` is set (https://no-color.org).

use std::fmt::Display;
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Green,
    Yellow,
    Red,
    Cyan,
    Bold,
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Cyan => "36",
            Style::Bold => "1",
            Style::Dim => "2",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Console {
    /// -1 quiet, 0 normal, 1 `-v`, 2 `-vv`.
    pub verbosity: i8,
    /// Colour on stdout.
    pub color_out: bool,
    /// Colour on stderr.
    pub color_err: bool,
}

/// Whether `NO_COLOR` asks for no colour (set and not empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

impl Console {
    pub fn new(verbosity: i8) -> Console {
        let allowed = !no_color();
        Console {
            verbosity,
            color_out: allowed && std::io::stdout().is_terminal(),
            color_err: allowed && std::io::stderr().is_terminal(),
        }
    }

    /// A console that never colours (tests, files).
    pub fn plain(verbosity: i8) -> Console {
        Console {
            verbosity,
            color_out: false,
            color_err: false,
        }
    }

    fn wrap(enabled: bool, text: impl Display, style: Style) -> String {
        if enabled {
            format!("\x1b[{}m{text}\x1b[0m", style.code())
        } else {
            text.to_string()
        }
    }

    /// `text` styled for stdout.
    pub fn out(&self, text: impl Display, style: Style) -> String {
        Self::wrap(self.color_out, text, style)
    }

    /// `text` styled for stderr.
    pub fn err(&self, text: impl Display, style: Style) -> String {
        Self::wrap(self.color_err, text, style)
    }

    pub fn info(&self, message: impl Display) {
        if self.verbosity >= 0 {
            eprintln!("{message}");
        }
    }

    pub fn verbose(&self, message: impl Display) {
        if self.verbosity >= 1 {
            eprintln!("{message}");
        }
    }

    pub fn debug(&self, message: impl Display) {
        if self.verbosity >= 2 {
            eprintln!("{message}");
        }
    }

    pub fn warn(&self, message: impl Display) {
        if self.verbosity >= 0 {
            eprintln!("{} {message}", self.err("warning:", Style::Yellow));
        }
    }

    /// Errors are shown even with `-q`.
    pub fn error(&self, message: impl Display) {
        eprintln!("{} {message}", self.err("error:", Style::Red));
    }
}
