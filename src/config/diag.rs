//! Source positions and the diagnostics collected while reading a config.
//!
//! keepalived reports `(file: Line N) reason`; we report `file:line:col: error: reason`, one line per
//! problem, and keep going so that one run shows every problem. The *class* of each diagnostic decides
//! the `-t` exit code exactly as keepalived 2.2.7 does (see [`Diagnostics::exit_code`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a config file: 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pos {
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn new(file: Arc<PathBuf>, line: u32, col: u32) -> Self {
        Pos { file, line, col }
    }

    /// A position for messages that are not tied to a file (command line, environment).
    pub fn none() -> Self {
        Pos { file: Arc::new(PathBuf::new()), line: 0, col: 0 }
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The same line, another column.
    pub fn at_col(&self, col: u32) -> Self {
        Pos { file: self.file.clone(), line: self.line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

/// How a problem affects the outcome, mirroring keepalived 2.2.7's config-test exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Informational; keepalived logs it but the config test still passes (exit 0).
    Warning,
    /// keepalived's `report_config_error`: parsing continues, `-t` exits 5.
    Error,
    /// Script security violation (or `includea` of a missing file): `-t` exits 6.
    Security,
    /// keepalived stops reading (e.g. a keyword missing its parameter): exit 2.
    Fatal,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Security => "error",
            Severity::Fatal => "fatal",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pos.file.as_os_str().is_empty() {
            write!(f, "{}: {}", self.severity.label(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.pos, self.severity.label(), self.message)
        }
    }
}

/// keepalived 2.2.7 config-test exit codes (lib/scheduler.h, measured in the reference notes).
pub const EXIT_OK: i32 = 0;
pub const EXIT_CONFIG_FATAL: i32 = 2;
pub const EXIT_CONFIG_TEST: i32 = 5;
pub const EXIT_CONFIG_TEST_SECURITY: i32 = 6;

#[derive(Default, Debug)]
pub struct Diagnostics {
    pub list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, pos: Pos, severity: Severity, message: impl Into<String>) {
        self.list.push(Diagnostic { pos, severity, message: message.into() });
    }

    pub fn worst(&self) -> Option<Severity> {
        self.list.iter().map(|d| d.severity).max()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.list.iter().filter(|d| d.severity == severity).count()
    }

    /// The exit code `keepalived -t` gives for these diagnostics: fatal beats security beats error.
    pub fn exit_code(&self) -> i32 {
        match self.worst() {
            Some(Severity::Fatal) => EXIT_CONFIG_FATAL,
            Some(Severity::Security) => EXIT_CONFIG_TEST_SECURITY,
            Some(Severity::Error) => EXIT_CONFIG_TEST,
            Some(Severity::Warning) | None => EXIT_OK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> Pos {
        Pos::new(Arc::new(PathBuf::from("k.conf")), 3, 7)
    }

    #[test]
    fn display_has_file_line_col() {
        let d = Diagnostic { pos: pos(), severity: Severity::Error, message: "Unknown keyword 'x'".into() };
        assert_eq!(d.to_string(), "k.conf:3:7: error: Unknown keyword 'x'");
    }

    #[test]
    fn exit_code_ranks_classes() {
        let mut d = Diagnostics::default();
        assert_eq!(d.exit_code(), 0);
        d.push(pos(), Severity::Warning, "w");
        assert_eq!(d.exit_code(), 0);
        d.push(pos(), Severity::Error, "e");
        assert_eq!(d.exit_code(), 5);
        d.push(pos(), Severity::Security, "s");
        assert_eq!(d.exit_code(), 6);
        d.push(pos(), Severity::Fatal, "f");
        assert_eq!(d.exit_code(), 2);
    }
}
