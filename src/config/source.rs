//! Reading config files into a flat stream of logical lines: the preprocessing layer of
//! keepalived's lib/parser.c. Handles `include` (globs relative to the including file),
//! `$NAME=value` definitions and `$NAME`/`${NAME}` expansion, `@id`/`@^id` conditional lines and
//! brace splitting. Keyword semantics live in the section modules, not here.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diagnostics, Pos, Severity};
use super::lexer;

/// One logical line: a keyword line, or a lone `{` / `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Position of the first character of `text`.
    pub pos: Pos,
    /// Decommented, expanded and trimmed text.
    pub text: String,
}

impl Line {
    pub fn is_open(&self) -> bool {
        self.text == "{"
    }
    pub fn is_close(&self) -> bool {
        self.text == "}"
    }
}

#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// `-i/--config-id`; defaults to the host name up to its first dot.
    pub config_id: String,
    /// `-e/--all-config`: every include must match a file.
    pub all_config: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions { config_id: default_config_id(), all_config: false }
    }
}

/// keepalived's default config id: the node name up to the first dot.
pub fn default_config_id() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into a buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    name.split('.').next().unwrap_or("").to_string()
}

/// Include nesting limit, so that a file including itself cannot loop for ever.
const MAX_INCLUDE_DEPTH: usize = 32;

struct Reader<'a> {
    opts: &'a SourceOptions,
    diags: &'a mut Diagnostics,
    out: Vec<Line>,
    defs: HashMap<String, String>,
}

/// Read `path` and everything it includes. Problems go to `diags`; the lines read so far are
/// always returned so that the caller can report every problem in one run.
pub fn read_config(path: &Path, opts: &SourceOptions, diags: &mut Diagnostics) -> Vec<Line> {
    let mut r = Reader { opts, diags, out: Vec::new(), defs: HashMap::new() };
    match std::fs::read(path) {
        Ok(bytes) => r.read_text(path, &bytes, 0),
        Err(e) => r.diags.push(
            Pos::new(Arc::new(path.to_path_buf()), 0, 0),
            Severity::Fatal,
            format!("cannot read configuration file: {e}"),
        ),
    }
    r.out
}

/// Parse an in-memory config (for tests, fuzzing and benchmarks); includes resolve against the cwd.
pub fn read_str(name: &str, text: &str, opts: &SourceOptions, diags: &mut Diagnostics) -> Vec<Line> {
    let mut r = Reader { opts, diags, out: Vec::new(), defs: HashMap::new() };
    r.read_text(Path::new(name), text.as_bytes(), 0);
    r.out
}

impl Reader<'_> {
    fn read_text(&mut self, path: &Path, bytes: &[u8], depth: usize) {
        let file = Arc::new(path.to_path_buf());
        let text = String::from_utf8_lossy(bytes);
        let mut lines = text.split('\n').enumerate().peekable();
        while let Some((idx, raw)) = lines.next() {
            let lineno = (idx + 1) as u32;
            let pos = Pos::new(file.clone(), lineno, 1);
            if raw.len() > lexer::MAXBUF {
                self.diags.push(
                    pos.clone(),
                    Severity::Error,
                    format!("line is {} bytes long; keepalived reads at most {}", raw.len(), lexer::MAXBUF),
                );
            }
            let lead = raw.len() - raw.trim_start().len();
            let mut line = raw.trim().to_string();
            let mut pos = pos.at_col(raw[..lead].chars().count() as u32 + 1);

            // `$NAME=value` definitions, multi-line with a trailing backslash.
            if let Some(def) = parse_definition(&line) {
                let (name, mut value) = def;
                while value.ends_with('\\') {
                    value.pop();
                    match lines.next() {
                        Some((_, more)) => {
                            value.push('\n');
                            value.push_str(more.trim());
                        }
                        None => break,
                    }
                }
                self.defs.insert(name, value.trim_end().to_string());
                continue;
            }

            // `@id rest` / `@^id rest`: keep the rest only if the id matches (or, negated, does not).
            if let Some(stripped) = line.strip_prefix('@') {
                let (neg, body) = match stripped.strip_prefix('^') {
                    Some(b) => (true, b),
                    None => (false, stripped),
                };
                let id_len = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
                let matches = body[..id_len] == self.opts.config_id;
                if matches == neg {
                    continue;
                }
                let rest = &body[id_len..];
                let skip = line.len() - rest.trim_start().len();
                pos = pos.at_col(pos.col + line[..skip].chars().count() as u32);
                line = rest.trim_start().to_string();
            }

            let code = lexer::decomment(&line).to_string();
            if code.is_empty() {
                continue;
            }
            let expanded = self.expand(&code);
            // A definition's value may hold several lines (and whole blocks).
            for (n, part) in expanded.split('\n').enumerate() {
                let part_pos = if n == 0 { pos.clone() } else { pos.at_col(1) };
                self.logical_line(path, part.trim(), part_pos, depth);
            }
        }
    }

    fn logical_line(&mut self, path: &Path, text: &str, pos: Pos, depth: usize) {
        let toks = lexer::tokenize_plain(text);
        if let Some(first) = toks.first()
            && !first.quoted
            && let Some(kind) = include_kind(&first.text)
        {
            let pattern = toks.get(1).map(|t| t.text.as_str());
            self.include(path, kind, pattern, &pos, depth);
            return;
        }
        for piece in lexer::split_braces(text) {
            let col = pos.col + text[..piece.offset].chars().count() as u32;
            self.out.push(Line { pos: pos.at_col(col), text: lexer::unescape_comment_chars(piece.text).into_owned() });
        }
    }

    fn include(&mut self, path: &Path, kind: IncludeKind, pattern: Option<&str>, pos: &Pos, depth: usize) {
        let Some(pattern) = pattern else {
            self.diags.push(pos.clone(), Severity::Error, "include requires a file name or pattern");
            return;
        };
        if depth >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                pos.clone(),
                Severity::Fatal,
                format!("include '{pattern}' nested more than {MAX_INCLUDE_DEPTH} deep (include loop?)"),
            );
            return;
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let full = if Path::new(pattern).is_absolute() { PathBuf::from(pattern) } else { base.join(pattern) };
        let files = glob(&full);
        if files.is_empty() {
            let (sev, why) = match kind {
                IncludeKind::All => (Severity::Security, "no file matches 'includea'"),
                _ if self.opts.all_config => (Severity::Error, "no file matches and --all-config is set"),
                _ => (Severity::Warning, "no file matches; keepalived logs \"Config files missing\""),
            };
            self.diags.push(pos.clone(), sev, format!("include '{pattern}': {why}"));
            return;
        }
        for f in files {
            match std::fs::read(&f) {
                Ok(bytes) => self.read_text(&f, &bytes, depth + 1),
                Err(e) => self.diags.push(
                    pos.clone(),
                    Severity::Error,
                    format!("include '{}': cannot read: {e}", f.display()),
                ),
            }
        }
    }

    /// Replace `${NAME}` anywhere and `$NAME` followed by a blank or the end, recursively.
    /// Undefined names are left as written, as keepalived does.
    fn expand(&self, text: &str) -> String {
        if self.defs.is_empty() || !text.contains('$') {
            return text.to_string();
        }
        let mut cur = text.to_string();
        // Bounded so that `$A=$A` style loops terminate.
        for _ in 0..32 {
            let next = self.expand_once(&cur);
            if next == cur {
                break;
            }
            cur = next;
        }
        cur
    }

    fn expand_once(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(inner) = after.strip_prefix('{')
                && let Some(end) = inner.find('}')
                && let Some(v) = self.defs.get(&inner[..end])
            {
                out.push_str(v);
                rest = &inner[end + 1..];
                continue;
            }
            let len = after.find(|c: char| c.is_whitespace()).unwrap_or(after.len());
            match self.defs.get(&after[..len]) {
                Some(v) if len > 0 => {
                    out.push_str(v);
                    rest = &after[len..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// `$NAME=value`: no blank before `=`, only blanks before `$`.
fn parse_definition(line: &str) -> Option<(String, String)> {
    let body = line.strip_prefix('$')?;
    let eq = body.find('=')?;
    let name = &body[..eq];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((name.to_string(), body[eq + 1..].trim_start().to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncludeKind {
    /// `include`: a missing file is only logged.
    Plain,
    /// `includea`: every pattern must match (missing = security-class failure, exit 6 under -t).
    All,
}

fn include_kind(word: &str) -> Option<IncludeKind> {
    match word {
        "include" | "includer" | "includem" | "includew" | "includeb" | "includet" => Some(IncludeKind::Plain),
        "includea" => Some(IncludeKind::All),
        _ => None,
    }
}

/// Expand a pattern with glob(3) and GLOB_BRACE, as keepalived does.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(pattern.as_os_str().as_bytes()) else {
        return Vec::new();
    };
    // SAFETY: glob_t is plain data; zeroed is its documented initial state. We free it below.
    let mut g: libc::glob_t = unsafe { std::mem::zeroed() };
    const GLOB_BRACE: libc::c_int = 1 << 10; // glibc's value; not exported by the libc crate
    // SAFETY: c is a valid NUL-terminated string and g is a valid glob_t.
    let rc = unsafe { libc::glob(c.as_ptr(), GLOB_BRACE, None, &mut g) };
    let mut out = Vec::new();
    if rc == 0 {
        for i in 0..g.gl_pathc {
            // SAFETY: glob returned gl_pathc valid NUL-terminated strings in gl_pathv.
            let p = unsafe { CStr::from_ptr(*g.gl_pathv.add(i)) };
            out.push(PathBuf::from(std::ffi::OsStr::from_bytes(p.to_bytes())));
        }
    }
    // SAFETY: g was filled by glob (or is zeroed, which globfree accepts).
    unsafe { libc::globfree(&mut g) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        let mut d = Diagnostics::default();
        let opts = SourceOptions { config_id: "node1".into(), all_config: false };
        read_str("t.conf", text, &opts, &mut d).into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn seed_comments_and_braces() {
        let t = "vrrp_instance VI_1 {\nstate BACKUP ! 主为master,不争抢模式改为BACKUP\nnopreempt !不争抢模式添加\n}";
        assert_eq!(lines(t), ["vrrp_instance VI_1", "{", "state BACKUP", "nopreempt", "}"]);
    }

    #[test]
    fn positions_are_line_and_column() {
        let mut d = Diagnostics::default();
        let out = read_str("t.conf", "a {\n   b c }\n", &SourceOptions::default(), &mut d);
        let p: Vec<_> = out.iter().map(|l| (l.text.as_str(), l.pos.line, l.pos.col)).collect();
        assert_eq!(p, [("a", 1, 1), ("{", 1, 3), ("b c", 2, 4), ("}", 2, 8)]);
    }

    #[test]
    fn definitions_and_expansion() {
        let t = "$IF=eth0\n$BLOCK=a { \\\nb\\\n}\ninterface $IF\nx${IF}y $UNDEF\n$BLOCK";
        assert_eq!(lines(t), ["interface eth0", "xeth0y $UNDEF", "a", "{", "b", "}"]);
    }

    #[test]
    fn conditional_lines() {
        assert_eq!(lines("@node1 a\n@node2 b\n@^node1 c\n@^node2 d"), ["a", "d"]);
    }

    #[test]
    fn include_relative_to_including_file() {
        let dir = std::env::temp_dir().join(format!("kard-inc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("main.conf"), "include sub/*.conf\nafter\n").unwrap();
        std::fs::write(dir.join("sub/a.conf"), "from_a { x }\n").unwrap();
        std::fs::write(dir.join("sub/b.conf"), "include ../leaf.con{f,x}\n").unwrap();
        std::fs::write(dir.join("leaf.conf"), "leaf\n").unwrap();
        let mut d = Diagnostics::default();
        let out = read_config(&dir.join("main.conf"), &SourceOptions::default(), &mut d);
        let t: Vec<_> = out.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(t, ["from_a", "{", "x", "}", "leaf", "after"]);
        assert!(out[4].pos.file.ends_with("leaf.conf"));
        assert!(d.list.is_empty(), "{:?}", d.list);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_includes() {
        let mut d = Diagnostics::default();
        read_str("/nonexistent/t.conf", "include nope.conf\n", &SourceOptions::default(), &mut d);
        assert_eq!(d.exit_code(), 0);
        assert_eq!(d.count(Severity::Warning), 1);
        let mut d = Diagnostics::default();
        read_str("/nonexistent/t.conf", "includea nope.conf\n", &SourceOptions::default(), &mut d);
        assert_eq!(d.exit_code(), 6);
    }

    #[test]
    fn self_include_terminates() {
        let dir = std::env::temp_dir().join(format!("kard-loop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("l.conf"), "include l.conf\n").unwrap();
        let mut d = Diagnostics::default();
        read_config(&dir.join("l.conf"), &SourceOptions::default(), &mut d);
        assert_eq!(d.exit_code(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
