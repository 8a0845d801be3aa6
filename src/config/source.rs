//! Reading config files into a flat stream of logical lines: the preprocessing layer of
//! keepalived 2.2.7's lib/parser.c (`read_line`). Each step below was measured against
//! `keepalived -t`; `grammar/keepalived.ebnf` writes the same rules down.
//!
//! For every piece of text (a physical line, a line produced by an expansion or generator, or the
//! rest of a line after a brace), in this order:
//! 1. decomment ([`lexer::decomment`]); blank results are skipped;
//! 2. `@id` / `@^id` conditional prefix;
//! 3. `$NAME=value` definition (a trailing `\` continues it over the next physical lines);
//! 4. `~SEQ` / `~SEQx` / `~LST` generator: the rest of the line is processed once per value;
//! 5. `$NAME` / `${NAME}` expansion (recursive; multi-line values add lines); a changed line starts
//!    again at step 1 (so it is decommented again and may be a conditional, definition, generator);
//! 6. `include*` (the rest of the line is a glob pattern);
//! 7. split at the first brace outside double quotes; the rest goes back to step 1.
//!
//! Keyword semantics live in the section modules, not here, with one exception: `include_check`
//! inside `global_defs` changes how later includes are checked, so it is applied while reading.

use std::collections::{HashMap, VecDeque};
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diagnostics, Pos, Severity};
use super::lexer::{self, Physical};

/// One logical line: a keyword line, or a lone `{` / `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Position of the first character of `text` (after an expansion: of the text it replaced).
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
    /// `-e/--all-config`: every include is checked as `includea` would be.
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
/// Expansion passes per line: keepalived loops for ever on `$A=${B}` / `$B=${A}`; we stop.
const MAX_EXPANSION_PASSES: usize = 64;
/// Longest expanded line we build (keepalived truncates at MAXBUF; we allow more, then stop).
const MAX_EXPANDED_LEN: usize = 16 * lexer::MAXBUF;
/// Most lines one reference to multi-line values may add.
const MAX_EXPANDED_LINES: usize = 4096;
/// Total pieces of text processed per config, so that self-referencing multi-line parameters and
/// nested generators cannot run for ever (keepalived's own 65024-instance example is ~1M).
const MAX_WORK: usize = 4 << 20;
/// Block nesting limit: real configs nest 4 deep; this keeps the tree and its walkers shallow.
const MAX_BLOCK_DEPTH: usize = 256;
/// Total generator rows per config.
const MAX_GENERATED_TOTAL: usize = 1 << 20;

/// Which include failures are errors (`include_check` and the `include?` variants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct IncludeCheck {
    /// A match that cannot be read (e.g. a directory).
    readable: bool,
    /// No file matches a pattern without wildcards.
    matched: bool,
    /// No file matches a pattern with wildcards.
    wildcard: bool,
    /// A brace alternative without wildcards names no file.
    brace: bool,
}

impl IncludeCheck {
    const ALL: IncludeCheck = IncludeCheck { readable: true, matched: true, wildcard: true, brace: true };

    fn union(self, o: IncludeCheck) -> IncludeCheck {
        IncludeCheck {
            readable: self.readable || o.readable,
            matched: self.matched || o.matched,
            wildcard: self.wildcard || o.wildcard,
            brace: self.brace || o.brace,
        }
    }
}

/// The include keywords of 2.2.7 (`includet` does not exist there: it is an unknown keyword).
fn include_variant(word: &str) -> Option<IncludeCheck> {
    let none = IncludeCheck::default();
    Some(match word {
        "include" => none,
        "includer" => IncludeCheck { readable: true, ..none },
        "includem" => IncludeCheck { readable: true, matched: true, ..none },
        // measured: `includew nope.conf` fails, `include_check wildcard_match` alone does not.
        "includew" => IncludeCheck { readable: true, matched: true, wildcard: true, ..none },
        "includeb" => IncludeCheck { readable: true, brace: true, ..none },
        "includea" => IncludeCheck::ALL,
        _ => return None,
    })
}

/// A parameter: single-line values expand anywhere; multi-line ones only at the end of a line.
#[derive(Debug, Clone)]
struct Def {
    lines: Vec<String>,
    multiline: bool,
}

/// Work queued for the current file ahead of its next physical line.
#[derive(Debug)]
enum Item {
    /// Text, where it came from, how many multi-line expansions produced it, and, if it is the
    /// result of parameter expansion, the byte length of the line before (step 5 is then not
    /// repeated).
    Text(String, Pos, u32, Option<usize>),
    /// A generator assigning its variable before the line it repeats.
    Define(String, String),
}

/// One file being read.
struct FileCtx<'b> {
    file: Arc<PathBuf>,
    /// Directory relative includes resolve against, and `${_PWD}`.
    dir: PathBuf,
    phys: lexer::PhysicalLines<'b>,
    pending: VecDeque<Item>,
}

impl FileCtx<'_> {
    fn next_physical(&mut self) -> Option<Physical> {
        self.phys.next()
    }
}

struct Reader<'a> {
    opts: &'a SourceOptions,
    diags: &'a mut Diagnostics,
    /// Where each logical line goes as soon as it is complete.
    sink: &'a mut dyn FnMut(Line, &mut Diagnostics),
    defs: HashMap<String, Def>,
    include_check: IncludeCheck,
    /// For `include_check`: the keyword owning each open brace, and the last keyword line.
    frames: Vec<String>,
    last_keyword: Option<String>,
    rng: u64,
    work: usize,
    generated: usize,
    /// Set once a budget is exhausted: everything after is dropped (one error reported).
    aborted: bool,
}

/// Read `path` and everything it includes. Problems go to `diags`; the lines read so far are
/// always returned so that the caller can report every problem in one run.
pub fn read_config(path: &Path, opts: &SourceOptions, diags: &mut Diagnostics) -> Vec<Line> {
    let mut out = Vec::new();
    read_config_each(path, opts, diags, &mut |l, _| out.push(l));
    out
}

/// As [`read_config`], handing each line to `sink` as it is read (nothing is accumulated).
pub fn read_config_each(
    path: &Path,
    opts: &SourceOptions,
    diags: &mut Diagnostics,
    sink: &mut dyn FnMut(Line, &mut Diagnostics),
) {
    let mut r = Reader::new(opts, diags, sink);
    // keepalived opens `-f` like a plain include: a glob, and a missing file is only logged
    // (`-t` exits 0). With -e keepalived exits 4, a class Diagnostics lacks: we give 6.
    let pos = Pos::new(Arc::new(path.to_path_buf()), 0, 0);
    let pattern = path.to_string_lossy();
    let checks = r.include_check;
    r.include_files(Path::new("."), &pattern, checks, &pos, 0, true);
}

/// Parse an in-memory config (for tests, fuzzing and benchmarks); includes resolve against the
/// directory part of `name`.
pub fn read_str(name: &str, text: &str, opts: &SourceOptions, diags: &mut Diagnostics) -> Vec<Line> {
    let mut out = Vec::new();
    read_str_each(name, text, opts, diags, &mut |l, _| out.push(l));
    out
}

/// As [`read_str`], handing each line to `sink` as it is read.
pub fn read_str_each(
    name: &str,
    text: &str,
    opts: &SourceOptions,
    diags: &mut Diagnostics,
    sink: &mut dyn FnMut(Line, &mut Diagnostics),
) {
    let mut r = Reader::new(opts, diags, sink);
    r.read_text(Path::new(name), text.as_bytes(), 0);
}

fn col_after(pos: &Pos, text: &str, byte_off: usize) -> Pos {
    let n = text.get(..byte_off).map(|s| s.chars().count()).unwrap_or(0) as u32;
    pos.at_col(pos.col.saturating_add(n))
}

fn trim_start_pos<'t>(text: &'t str, pos: &Pos) -> (&'t str, Pos) {
    let rest = text.trim_start_matches(lexer::is_blank);
    let p = col_after(pos, text, text.len() - rest.len());
    (rest, p)
}

impl<'a> Reader<'a> {
    fn new(
        opts: &'a SourceOptions,
        diags: &'a mut Diagnostics,
        sink: &'a mut dyn FnMut(Line, &mut Diagnostics),
    ) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id()).rotate_left(32);
        Reader {
            opts,
            diags,
            sink,
            defs: HashMap::new(),
            include_check: if opts.all_config { IncludeCheck::ALL } else { IncludeCheck::default() },
            frames: Vec::new(),
            last_keyword: None,
            rng: seed | 1,
            work: 0,
            generated: 0,
            aborted: false,
        }
    }

    fn read_text(&mut self, path: &Path, bytes: &[u8], depth: usize) {
        let file = Arc::new(path.to_path_buf());
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut f = FileCtx { file, dir, phys: lexer::physical_lines(bytes), pending: VecDeque::new() };
        // include_check set while reading a file does not outlive it.
        let saved = self.include_check;
        while let Some(item) = self.next_item(&mut f) {
            match item {
                Item::Define(name, value) => {
                    self.defs.insert(name, Def { lines: vec![value], multiline: false });
                }
                Item::Text(text, pos, nest, expanded) => self.process(&mut f, &text, pos, nest, expanded, depth),
            }
        }
        self.include_check = saved;
    }

    fn next_item(&mut self, f: &mut FileCtx) -> Option<Item> {
        if self.aborted {
            return None;
        }
        self.work += 1;
        if self.work > MAX_WORK {
            self.aborted = true;
            let pos = Pos::new(f.file.clone(), 0, 0);
            self.diags.push(pos, Severity::Error, "configuration expands to too many lines - stopping");
            return None;
        }
        if let Some(item) = f.pending.pop_front() {
            return Some(item);
        }
        loop {
            let p = f.next_physical()?;
            let pos = Pos::new(f.file.clone(), p.line, p.col);
            if p.split {
                self.diags.push(
                    pos.clone(),
                    Severity::Warning,
                    format!("line longer than {} bytes: keepalived reads the rest as a new line", lexer::MAXBUF - 1),
                );
            }
            if !p.text.is_empty() {
                return Some(Item::Text(p.text, pos, 0, None));
            }
        }
    }

    /// Steps 1-7 of the module doc for one piece of text.
    fn process(&mut self, f: &mut FileCtx, raw: &str, pos: Pos, nest: u32, expanded: Option<usize>, depth: usize) {
        let dc = lexer::decomment(raw);
        if dc.unterminated_quote {
            self.diags.push(pos.clone(), Severity::Error, format!("Unterminated quote '{}'", dc.text.trim()));
        }
        let (text, mut pos) = trim_start_pos(&dc.text, &pos);
        if text.is_empty() {
            return;
        }

        if let Some(c) = lexer::conditional(text) {
            if !lexer::conditional_keeps(&c, &self.opts.config_id) {
                return;
            }
            let rest = c.rest.unwrap_or(text.len());
            pos = col_after(&pos, text, rest);
            if let Some(before) = expanded {
                // keepalived 2.2.7 bug, reproduced: on a line produced by expansion the prefix is
                // removed with the length of the line *before* expansion, so only that many bytes
                // move and the rest of the old text stays (`$C=@vm` / `$C bogus` reads
                // `bogusogus`, with `@node1` it reads `boode1 bogus`).
                let kept = &text[rest..];
                let n = (before + 1).saturating_sub(rest);
                if n > 0 && n <= kept.len() {
                    let junk = format!("{}{}", kept.get(..n).unwrap_or(kept), text.get(n..).unwrap_or(""));
                    return self.process_rest(f, &junk, pos, nest, expanded, depth);
                }
            }
            return self.process_rest(f, &text[rest..], pos, nest, expanded, depth);
        }
        self.process_rest(f, text, pos, nest, expanded, depth);
    }

    /// Steps 3-7, after decommenting and the conditional prefix.
    fn process_rest(
        &mut self,
        f: &mut FileCtx,
        text: &str,
        pos: Pos,
        nest: u32,
        expanded: Option<usize>,
        depth: usize,
    ) {
        if let Some((name, value)) = lexer::definition(text) {
            self.define(f, name, value);
            return;
        }

        if let Some(spec) = lexer::generator(text) {
            self.generate(f, text, &pos, nest, spec);
            return;
        }

        if expanded.is_none() {
            let Some((new, extra)) = self.expand(text, &f.dir, &pos) else {
                return;
            };
            if !extra.is_empty() && nest >= MAX_EXPANSION_PASSES as u32 {
                let msg = "multi-line parameter expansion does not terminate (a parameter refers to itself?)";
                self.diags.push(pos.clone(), Severity::Error, msg);
                return;
            }
            for line in extra.into_iter().rev() {
                f.pending.push_front(Item::Text(line, pos.clone(), nest + 1, None));
            }
            // The expanded line starts again from step 1, as keepalived rechecks it: it is
            // decommented again (`${_HASH}`), and may now be a conditional, definition or generator.
            if let Some(new) = new {
                f.pending.push_front(Item::Text(new, pos, nest, Some(text.len())));
                return;
            }
        }
        let text = text.to_string();

        if self.include(f, &text, &pos, depth) {
            return;
        }

        match lexer::first_brace(&text) {
            None => self.emit(&text, pos),
            Some(0) => {
                self.emit(&text[..1], pos.clone());
                let rest = &text[1..];
                if !lexer::trim_blanks(rest).is_empty() {
                    let p = pos.at_col(pos.col.saturating_add(1));
                    f.pending.push_front(Item::Text(rest.to_string(), p, nest, None));
                }
            }
            Some(i) => {
                self.emit(text[..i].trim_end_matches(lexer::is_blank), pos.clone());
                let p = col_after(&pos, &text, i);
                f.pending.push_front(Item::Text(text[i..].to_string(), p, nest, None));
            }
        }
    }

    /// Record a finished logical line, reporting keepalived's "Unmatched quote" and following
    /// `global_defs { include_check ... }`.
    fn emit(&mut self, text: &str, pos: Pos) {
        // Only a line with a double quote can have an unmatched one (this runs for every line).
        if text.contains('"') && lexer::tokenize_plain_checked(text).unmatched_quote.is_some() {
            self.diags.push(pos.clone(), Severity::Error, format!("Unmatched quote: '{text}'"));
        }
        match text {
            "{" if self.frames.len() >= MAX_BLOCK_DEPTH => {
                let msg = format!("blocks nested more than {MAX_BLOCK_DEPTH} deep - stopping");
                self.diags.push(pos, Severity::Fatal, msg);
                self.aborted = true;
                return;
            }
            "{" => self.frames.push(self.last_keyword.take().unwrap_or_default()),
            "}" => {
                self.frames.pop();
                self.last_keyword = None;
            }
            _ => {
                let kw = first_word(text);
                if kw == "include_check" && self.frames.len() == 1 && self.frames[0] == "global_defs" {
                    let toks = lexer::tokenize_plain(text);
                    let args: Vec<&str> = toks.iter().skip(1).map(|t| t.text.as_str()).collect();
                    self.set_include_check(&args, &pos);
                }
                // Only block-opening keywords matter (global_defs); reuse the buffer.
                let mut last = self.last_keyword.take().unwrap_or_default();
                last.clear();
                last.push_str(kw);
                self.last_keyword = Some(last);
            }
        }
        (self.sink)(Line { pos, text: text.to_string() }, self.diags);
    }

    /// `include_check [[+|-]match|wildcard_match|brace_match ...]`: no option means all; a first
    /// option without a sign replaces the current set. (2.2.7 rejects `readable` as unknown.)
    fn set_include_check(&mut self, args: &[&str], pos: &Pos) {
        if args.is_empty() {
            self.include_check = IncludeCheck::ALL;
            return;
        }
        for (k, a) in args.iter().enumerate() {
            let (op, name) = match a.as_bytes().first() {
                Some(b'+') => (Some(true), &a[1..]),
                Some(b'-') => (Some(false), &a[1..]),
                _ => (None, *a),
            };
            if k == 0 && op.is_none() {
                self.include_check = IncludeCheck::default();
            }
            let add = op.unwrap_or(true);
            let c = &mut self.include_check;
            match name {
                "match" => c.matched = add,
                "wildcard_match" => c.wildcard = add,
                "brace_match" => c.brace = add,
                _ => {
                    let msg = format!("Unknown include_check type '{name}' - ignoring");
                    self.diags.push(pos.clone(), Severity::Error, msg);
                    continue;
                }
            }
            if add {
                c.readable = true;
            }
        }
    }

    /// `$NAME=value`; with a trailing `\` the value continues over the following physical lines
    /// (decommented) until one does not end with `\`. A line that is blank after decommenting
    /// ends the value unless the raw line ends with `\` (`# note \`), as keepalived's children
    /// read it (the parent process skips blank lines, but the children's errors decide `-t`).
    fn define(&mut self, f: &mut FileCtx, name: &str, value: &str) {
        let value = lexer::trim_blanks(value);
        let Some(first) = value.strip_suffix('\\') else {
            self.defs.insert(name.to_string(), Def { lines: vec![value.to_string()], multiline: false });
            return;
        };
        let mut lines = Vec::new();
        let first = lexer::trim_blanks(first);
        if !first.is_empty() {
            lines.push(first.to_string());
        }
        while let Some(p) = f.next_physical() {
            let dc = lexer::decomment(&p.text);
            let t = lexer::trim_blanks(&dc.text);
            if t.is_empty() {
                if lexer::trim_blanks(&p.text).ends_with('\\') {
                    continue;
                }
                break;
            }
            match t.strip_suffix('\\') {
                Some(more) => {
                    let more = lexer::trim_blanks(more);
                    if !more.is_empty() {
                        lines.push(more.to_string());
                    }
                }
                None => {
                    lines.push(t.to_string());
                    break;
                }
            }
        }
        self.defs.insert(name.to_string(), Def { lines, multiline: true });
    }

    /// Queue the rest of a generator line once per row, each preceded by its assignments.
    fn generate(
        &mut self,
        f: &mut FileCtx,
        text: &str,
        pos: &Pos,
        nest: u32,
        spec: Result<lexer::GeneratorSpec, lexer::GenError>,
    ) {
        let rows = spec.and_then(|mut s| {
            for row in s.values.iter_mut() {
                for v in row.iter_mut() {
                    if let Some((Some(e), _)) = self.expand(v, &f.dir, pos) {
                        *v = e;
                    }
                }
            }
            s.rows().map(|r| (r, s))
        });
        let (rows, spec) = match rows {
            Ok(x) => x,
            Err(e) => {
                self.diags.push(pos.clone(), Severity::Error, format!("{e}: '{text}'"));
                return;
            }
        };
        self.generated = self.generated.saturating_add(rows.len());
        if self.generated > MAX_GENERATED_TOTAL {
            self.aborted = true;
            let msg = format!("generators produce more than {MAX_GENERATED_TOTAL} lines - stopping");
            self.diags.push(pos.clone(), Severity::Error, msg);
            return;
        }
        let rest = text.get(spec.rest..).unwrap_or("");
        if rest.is_empty() {
            return;
        }
        let rest_pos = col_after(pos, text, spec.rest);
        let mut items = Vec::new();
        for row in rows {
            for (var, val) in spec.vars.iter().zip(row) {
                items.push(Item::Define(var.clone(), val));
            }
            items.push(Item::Text(rest.to_string(), rest_pos.clone(), nest, None));
        }
        for item in items.into_iter().rev() {
            f.pending.push_front(item);
        }
    }

    /// Expand `${NAME}` anywhere and `$NAME` followed by a blank or the end, recursively.
    /// Returns the new first line (None if nothing changed) and the extra lines that multi-line
    /// values add after it. Undefined names stay as written.
    /// `None` when the expansion does not terminate (reported; the caller drops the line).
    fn expand(&mut self, text: &str, dir: &Path, pos: &Pos) -> Option<(Option<String>, Vec<String>)> {
        if !text.contains('$') {
            return Some((None, Vec::new()));
        }
        let mut cur = text.to_string();
        let mut extra: Vec<String> = Vec::new();
        let mut changed = false;
        for pass in 0.. {
            if pass == MAX_EXPANSION_PASSES || cur.len() > MAX_EXPANDED_LEN || extra.len() > MAX_EXPANDED_LINES {
                self.diags.push(
                    pos.clone(),
                    Severity::Error,
                    "parameter expansion does not terminate (a parameter refers to itself?) - line ignored",
                );
                return None;
            }
            match self.expand_once(&cur, dir) {
                Some((next, more)) => {
                    cur = next;
                    // Lines from a later pass belong before those of an earlier one.
                    let mut m = more;
                    m.append(&mut extra);
                    extra = m;
                    changed = true;
                }
                None => break,
            }
        }
        Some((changed.then_some(cur), extra))
    }

    fn expand_once(&mut self, text: &str, dir: &Path) -> Option<(String, Vec<String>)> {
        let mut out = String::with_capacity(text.len());
        let mut extra = Vec::new();
        let mut changed = false;
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, tail) = match after.strip_prefix('{') {
                Some(inner) => match inner.find('}') {
                    Some(end) => (&inner[..end], &inner[end + 1..]),
                    None => ("", after),
                },
                None => {
                    let end = after.find(lexer::is_blank).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            let value = if name.is_empty() { None } else { self.lookup(name, dir) };
            let dollar = text.len() - rest.len() + i;
            match value {
                // keepalived 2.2.7 bug, reproduced for identical results: `${_RANDOM MIN MAX}`
                // followed by text keeps only the first following character, then resumes the
                // original line just past the written number (`r${_RANDOM 1 1}.conf` becomes
                // `r1._RANDOM 1 1}.conf`).
                Some(def) if name.starts_with("_RANDOM ") && !tail.is_empty() => {
                    let v = def.lines.first().map(String::as_str).unwrap_or("");
                    out.push_str(v);
                    out.extend(tail.chars().next());
                    rest = text.get(dollar + v.len() + 1..).unwrap_or("");
                    changed = true;
                }
                Some(def) if !def.multiline => {
                    out.push_str(def.lines.first().map(String::as_str).unwrap_or(""));
                    rest = tail;
                    changed = true;
                }
                // A multi-line value must end the line; the text before it joins its first line.
                Some(def) if lexer::trim_blanks(tail).is_empty() => {
                    let mut lines = def.lines.into_iter();
                    out.push_str(&lines.next().unwrap_or_default());
                    extra.extend(lines);
                    rest = "";
                    changed = true;
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        changed.then_some((out, extra))
    }

    /// A user definition, else a predefined one (`_PWD`, `_INSTANCE`, `_RANDOM [MIN [MAX]]`,
    /// `_HASH`, `_BANG`). User definitions win, as in keepalived.
    fn lookup(&mut self, name: &str, dir: &Path) -> Option<Def> {
        if let Some(d) = self.defs.get(name) {
            return Some(d.clone());
        }
        let one = |s: String| Some(Def { lines: vec![s], multiline: false });
        match name {
            "_PWD" => {
                let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
                one(abs.display().to_string())
            }
            "_INSTANCE" => one(self.opts.config_id.clone()),
            "_HASH" => one("#".into()),
            "_BANG" => one("!".into()),
            _ => {
                let (min, max) = random_args(name)?;
                let r = self.next_random();
                let v = if max >= min { min + r % (max - min + 1) } else { min };
                one(v.to_string())
            }
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: only needs to be unpredictable enough for ${_RANDOM}.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// `include*` + pattern. Returns false when the line is not an include (then it is an
    /// ordinary line: `include` alone is an unknown keyword, as in keepalived).
    fn include(&mut self, f: &mut FileCtx, text: &str, pos: &Pos, depth: usize) -> bool {
        let kw_end = text.find(lexer::is_blank).unwrap_or(text.len());
        let Some(variant) = include_variant(&text[..kw_end]) else {
            return false;
        };
        let pattern = lexer::trim_blanks(&text[kw_end..]);
        if pattern.is_empty() {
            return false;
        }
        let checks = self.include_check.union(variant);
        let dir = f.dir.clone();
        self.include_files(&dir, pattern, checks, pos, depth, false);
        true
    }

    /// Read every file `pattern` (relative to `dir`) matches, reporting failures as `checks`
    /// make them: errors are exit 6 under `-t`, the rest warnings (keepalived only logs them).
    fn include_files(&mut self, dir: &Path, pattern: &str, checks: IncludeCheck, pos: &Pos, depth: usize, top: bool) {
        if depth >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                pos.clone(),
                Severity::Fatal,
                format!("include '{pattern}' nested more than {MAX_INCLUDE_DEPTH} deep (include loop?)"),
            );
            return;
        }
        let full = if Path::new(pattern).is_absolute() || top { PathBuf::from(pattern) } else { dir.join(pattern) };
        let files = glob(&full);
        // An include failure that the active checks make fatal gives exit 6, like keepalived.
        let report = |diags: &mut Diagnostics, fail: bool, msg: String| {
            let sev = if fail { Severity::Security } else { Severity::Warning };
            diags.push(pos.clone(), sev, msg);
        };
        let alternatives = brace_alternatives(pattern);
        if files.is_empty() {
            if alternatives.len() > 1 {
                report(self.diags, checks.brace, format!("Config files missing '{pattern}'."));
            } else if !has_wildcard(pattern) {
                report(self.diags, checks.matched, format!("Config files missing '{pattern}'."));
            } else if checks.wildcard {
                report(self.diags, true, format!("No config files matched '{pattern}'."));
            }
            return;
        }
        if top && files.len() > 1 {
            let msg = format!("multiple configuration file matches of {pattern}, starting with {}", files[0].display());
            self.diags.push(pos.clone(), Severity::Warning, msg);
        }
        if alternatives.len() > 1 {
            let missing = alternatives.iter().any(|alt| {
                let p = if Path::new(alt).is_absolute() || top { PathBuf::from(alt) } else { dir.join(alt) };
                !has_wildcard(alt) && std::fs::symlink_metadata(&p).is_err()
            });
            if missing {
                report(self.diags, checks.brace, format!("Some config files missing: \"{pattern}\"."));
            }
        }
        for file in files {
            if file.is_dir() {
                let msg = format!("Configuration file '{}/' is a directory - skipping", file.display());
                report(self.diags, checks.readable, msg);
                continue;
            }
            // Devices and FIFOs (`include /dev/zero`) would never end; keepalived would hang.
            if !file.is_file() {
                let msg = format!("Configuration file '{}' is not a regular file - skipping", file.display());
                report(self.diags, checks.readable, msg);
                continue;
            }
            match std::fs::read(&file) {
                Ok(bytes) => self.read_text(&file, &bytes, depth + 1),
                Err(e) => report(self.diags, checks.readable, format!("Could not open '{}': {e}", file.display())),
            }
            if self.aborted {
                break;
            }
        }
    }
}

/// `_RANDOM`, `_RANDOM MIN` or `_RANDOM MIN MAX` (single spaces, non-negative decimals);
/// defaults 0 and 32767.
/// The first plain word of a logical line (token 0 of `tokenize_plain` for the keywords this
/// layer looks at, which are never quoted), without tokenizing the whole line.
fn first_word(text: &str) -> &str {
    let t = text.trim_start_matches(lexer::is_blank);
    &t[..t.find(lexer::is_blank).unwrap_or(t.len())]
}

fn random_args(name: &str) -> Option<(u64, u64)> {
    let args = name.strip_prefix("_RANDOM")?;
    if args.is_empty() {
        return Some((0, 32767));
    }
    let args = args.strip_prefix(' ')?;
    let num = |s: &str| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    match args.split_once(' ') {
        None => Some((num(args)?, 32767)),
        Some((a, b)) => Some((num(a)?, num(b)?)),
    }
}

fn has_wildcard(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// csh-style brace expansion as glob(3) with GLOB_BRACE does it, to find literal alternatives.
/// Bounded: patterns with many groups are not expanded past 4096 alternatives.
fn brace_alternatives(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_braces(p, &mut out);
    out
}

fn expand_braces(p: &str, out: &mut Vec<String>) {
    if out.len() > 4096 {
        return;
    }
    let Some(open) = p.find('{') else {
        out.push(p.to_string());
        return;
    };
    // Find the matching close brace and the top-level commas inside.
    let mut level = 0usize;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, c) in p[open..].char_indices() {
        let i = open + i;
        match c {
            '{' => level += 1,
            '}' => {
                level = level.saturating_sub(1);
                if level == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if level == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        out.push(p.to_string());
        return;
    };
    let (pre, post) = (&p[..open], &p[close + 1..]);
    let mut start = open + 1;
    for end in commas.into_iter().chain(std::iter::once(close)) {
        expand_braces(&format!("{pre}{}{post}", &p[start..end]), out);
        start = end + 1;
    }
}

/// Expand a pattern with glob(3), GLOB_BRACE and GLOB_MARK semantics left to libc, as keepalived.
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

    fn opts() -> SourceOptions {
        SourceOptions { config_id: "node1".into(), all_config: false }
    }

    fn read(text: &str) -> (Vec<Line>, Diagnostics) {
        let mut d = Diagnostics::default();
        let out = read_str("t.conf", text, &opts(), &mut d);
        (out, d)
    }

    fn lines(text: &str) -> Vec<String> {
        read(text).0.into_iter().map(|l| l.text).collect()
    }

    /// A scratch directory removed on drop.
    struct TmpDir(PathBuf);
    impl TmpDir {
        fn new(tag: &str) -> Self {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("kard-src-{tag}-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            TmpDir(p)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).unwrap();
            }
            std::fs::write(&p, text).unwrap();
            p
        }
        fn run(&self, main: &str, o: &SourceOptions) -> (Vec<String>, Diagnostics) {
            let mut d = Diagnostics::default();
            let out = read_config(&self.0.join(main), o, &mut d);
            (out.into_iter().map(|l| l.text).collect(), d)
        }
    }
    impl Drop for TmpDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn seed_comments_and_braces() {
        let t = "vrrp_instance VI_1 {\nstate BACKUP ! 主为master,不争抢模式改为BACKUP\nnopreempt !不争抢模式添加\n}";
        assert_eq!(lines(t), ["vrrp_instance VI_1", "{", "state BACKUP", "nopreempt", "}"]);
    }

    #[test]
    fn positions_are_line_and_column() {
        let (out, _) = read("a {\n   b c }\n\t@node1 d\n");
        let p: Vec<_> = out.iter().map(|l| (l.text.as_str(), l.pos.line, l.pos.col)).collect();
        assert_eq!(p, [("a", 1, 1), ("{", 1, 3), ("b c", 2, 4), ("}", 2, 8), ("d", 3, 9)]);
    }

    #[test]
    fn crlf_and_blanks() {
        assert_eq!(lines("a\r\n  b  \r\n\r\n\x0bc\x0c\n"), ["a", "b", "c"]);
    }

    #[test]
    fn long_lines_split_like_fgets() {
        // A comment longer than 1023 bytes: its tail is read as a line (keepalived: unknown keyword).
        let t = format!("# {}tail\nnext\n", "x".repeat(lexer::MAXBUF - 3));
        let (out, d) = read(&t);
        let texts: Vec<_> = out.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["tail", "next"]);
        assert_eq!((out[0].pos.line, out[0].pos.col), (1, 1024));
        assert_eq!(d.count(Severity::Warning), 1);
        assert_eq!(d.exit_code(), 0);
    }

    #[test]
    fn escaped_comment_chars() {
        assert_eq!(lines(r"a\#b c\!d # e"), ["a#b c!d"]);
        assert_eq!(lines(r#""x\#" y"#), [r#""x\#" y"#]);
    }

    #[test]
    fn quote_errors() {
        let (out, d) = read("router_id \"abc\n");
        assert_eq!(out[0].text, "router_id \"abc");
        let msgs: Vec<_> = d.list.iter().map(|x| x.message.as_str()).collect();
        assert_eq!(msgs, ["Unterminated quote 'router_id \"abc'", "Unmatched quote: 'router_id \"abc'"]);
        let (_, d) = read("router_id \"a\\\"b\"\n");
        assert_eq!(d.list.len(), 1);
        assert!(d.list[0].message.starts_with("Unmatched quote"));
        let (_, d) = read("router_id 'a\n");
        assert!(d.list.is_empty());
    }

    #[test]
    fn braces_split_and_rest_reprocessed() {
        assert_eq!(lines("global_defs{router_id A}"), ["global_defs", "{", "router_id A", "}"]);
        assert_eq!(lines("}}"), ["}", "}"]);
        assert_eq!(lines(r#"router_id "{x}" }"#), [r#"router_id "{x}""#, "}"]);
        // the rest after a brace goes through conditionals, definitions and generators again
        assert_eq!(lines("g { @node1 a\ng { @other b\n"), ["g", "{", "a", "g", "{"]);
        assert_eq!(lines("g { $X=1\nf$X\n"), ["g", "{", "f1"]);
        assert_eq!(lines("g { } ~SEQ(I,1,2) x$I\n"), ["g", "{", "}", "x1", "x2"]);
        // an undefined ${NAME} is split at its braces, as keepalived does
        assert_eq!(lines("${U}x"), ["$", "{", "U", "}", "x"]);
    }

    #[test]
    fn definitions_and_expansion() {
        assert_eq!(lines("$X=foo bar\n$X\n"), ["foo bar"]);
        assert_eq!(lines("  $X= foo  \n${X}y\n"), ["fooy"]);
        assert_eq!(lines("$X =foo\n"), ["$X =foo"]);
        assert_eq!(lines("$1X=foo\n"), ["$1X=foo"]);
        assert_eq!(lines("$X=\n$X foo\n"), ["foo"]);
        assert_eq!(lines("$X=foo\n$Xy\nx$X\n$X$X\n${X}${X}\n$ X\n"), ["$Xy", "xfoo", "$Xfoo", "foofoo", "$ X"]);
        assert_eq!(lines("$X=p q\nfoo $X\n$X r\n"), ["foo p q", "p q r"]);
        assert_eq!(lines("$X=foo\n$X=bar\n$X\n"), ["bar"]);
        assert_eq!(lines("${UNDEF_X} $UNDEF"), ["$", "{", "UNDEF_X", "}", "$UNDEF"]);
        assert_eq!(lines("$X=a # c\n$X\n"), ["a"]);
    }

    #[test]
    fn expansion_is_recursive_at_use_time() {
        let t = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n\
                 $ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n";
        assert_eq!(lines(t), ["10.2.0.100/32", "10.2.10.100/32"]);
        assert_eq!(lines("$X=a${Y}\n$Y=b\n$X\n"), ["ab"]);
    }

    #[test]
    fn self_reference_terminates_with_an_error() {
        // the last one (found by fuzzing) split each partial expansion at its braces, and every
        // piece expanded again
        for t in
            ["$X=$X\n$X\n", "$X=${X}a\n$X\n", "$X=${Y}\n$Y=${X}\n$X\n", "$X=a\\\n$X\nb\n$X\n", "$F=x}y $F\n${F} }\n"]
        {
            let (_, d) = read(t);
            assert_eq!(d.exit_code(), 5, "{t}");
        }
    }

    #[test]
    fn expansion_is_decommented_again() {
        assert_eq!(lines("f${_HASH}x {\n"), ["f"]);
        assert_eq!(lines("$X=foo\nf\\#x $X\n"), ["f"]);
        assert_eq!(lines("$X=foo\nf\\#x $Y\n"), ["f#x $Y"]);
        assert_eq!(lines("\"f${_HASH}x\" y\n"), ["\"f#x\" y"]);
        assert_eq!(lines("$X=a\\#b\nf$X\n"), ["fa"]);
    }

    #[test]
    fn expanded_line_is_processed_again() {
        // measured (-i node1): '$C bogus' reads 'boode1 bogus', '$C bogus_long_enough' reads
        // 'bogus_long_enoong_enough'; clean when expansion did not lengthen the line
        assert_eq!(lines("$C=@node1\n$C bogus\n$D=@other\n$D hidden\n"), ["boode1 bogus"]);
        assert_eq!(lines("$C=@node1\n$C bogus_long_enough\n"), ["bogus_long_enoong_enough"]);
        assert_eq!(lines("$C=@node1\n$CCCCCCC bogus\n$CCCCCCC=@node1\n$CCCCCCC bogus\n"), ["$CCCCCCC bogus", "bogus"]);
        assert_eq!(lines("$C=~SEQ(I,1,2)\n$C b$I\n"), ["b1", "b2"]);
        assert_eq!(lines("$D=$Y=5\n$D\nf$Y\n"), ["f5"]);
    }

    #[test]
    fn multiline_definitions() {
        assert_eq!(lines("$X=a\\\nb\n$X\n"), ["a", "b"]);
        assert_eq!(lines("$X= \\\n  foo \\\n  bar { x \\\n }\n$X\n"), ["foo", "bar", "{", "x", "}"]);
        // a blank or comment-only line ends a definition, unless the raw line ends with `\`
        assert_eq!(lines("$X=a\\\n# c\\\n  \\\nb\n$X\n"), ["a", "b"]);
        assert_eq!(lines("$X=a\\\n\nb\n$X\n"), ["b", "a"]);
        assert_eq!(lines("$X=a\\\n# c\nb\n$X\n"), ["b", "a"]);
        // only at the end of a line
        assert_eq!(lines("$X=a\\\nb\nfoo $X\n"), ["foo a", "b"]);
        assert_eq!(lines("$X=a\\\nb\n$X foo\n${X}c\n"), ["$X foo", "$", "{", "X", "}", "c"]);
        assert_eq!(lines("$X=a\\\nb\n$Y=c ${X}\n$Y\n"), ["c a", "b"]);
        // lines of the value are full config lines: conditionals and definitions work inside
        assert_eq!(lines("$X=a\\\n@node1 b\\\n@other c\\\n$Y=d\\\n${Y}z\n$X\n"), ["a", "b", "dz"]);
        // a plain line never continues
        assert_eq!(lines("foo \\\nbar\n"), ["foo \\", "bar"]);
        assert!(lines("$X=a\\\n").is_empty());
    }

    #[test]
    fn manual_nested_multiline_example() {
        let t = "$RS= \\\nreal_server ${VS_NUM}.${RS_NUM} { \\\n weight 1 \\\n}\n\
                 $VS= \\\nvirtual_server ${VS_NUM} { \\\n $RS_NUM=1 \\\n $RS \\\n $RS_NUM=2 \\\n $RS \\\n}\n\
                 $VS_NUM=0\n$VS\n";
        assert_eq!(
            lines(t),
            [
                "virtual_server 0",
                "{",
                "real_server 0.1",
                "{",
                "weight 1",
                "}",
                "real_server 0.2",
                "{",
                "weight 1",
                "}",
                "}"
            ]
        );
    }

    #[test]
    fn predefined_parameters() {
        assert_eq!(lines("f${_HASH}\nf${_BANG}x y\n"), ["f", "f"]);
        assert_eq!(lines("i${_INSTANCE} $_INSTANCE"), ["inode1 node1"]);
        assert_eq!(lines("$_HASH=zz\nf${_HASH}\n"), ["fzz"]);
        assert_eq!(lines("r${_RANDOM 5 5}"), ["r5"]);
        // measured: keepalived garbles the rest of the line after ${_RANDOM MIN MAX}
        assert_eq!(lines("r${_RANDOM 1 1}.conf"), ["r1._RANDOM 1 1", "}", ".conf"]);
        let r: u64 = lines("${_RANDOM 7 9}")[0].parse().unwrap();
        assert!((7..=9).contains(&r));
        let r: u64 = lines("${_RANDOM}")[0].parse().unwrap();
        assert!(r <= 32767);
        assert_eq!(lines("f${_RANDOM  3  3 }"), ["f$", "{", "_RANDOM  3  3", "}"]);
        let dir = TmpDir::new("pwd");
        dir.write("sub/p.conf", "p${_PWD}\n");
        dir.write("m.conf", "include sub/p.conf\nm${_PWD}\n");
        let (out, _) = dir.run("m.conf", &opts());
        let canon = std::fs::canonicalize(&dir.0).unwrap();
        assert_eq!(out, [format!("p{}/sub", canon.display()), format!("m{}", canon.display())]);
    }

    #[test]
    fn conditional_lines() {
        assert_eq!(lines("@node1 a\n@node2 b\n@^node1 c\n@^node2 d"), ["a", "d"]);
        assert_eq!(lines("@node1\n@^x\n@node1\tx\n  @node1  y\n@ node1 z\n@node1x w\n"), ["x", "y"]);
        assert_eq!(lines("@node1#x foo\n@node1 @node1 foo\n"), ["@node1 foo"]);
        assert_eq!(lines("@node1 $X=1\n$X\n"), ["1"]);
        assert_eq!(lines("@node1{ foo\n"), Vec::<String>::new());
        let mut d = Diagnostics::default();
        let o = SourceOptions { config_id: String::new(), all_config: false };
        let out = read_str("t.conf", "@a x\n@^a y\n", &o, &mut d);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "y");
    }

    #[test]
    fn generators() {
        assert_eq!(lines("~SEQ(I, 1, 3) foo$I\n"), ["foo1", "foo2", "foo3"]);
        assert_eq!(lines("~SEQ(I,1,2) ~SEQ(J,1,2) f${I}g${J}\n"), ["f1g1", "f1g2", "f2g1", "f2g2"]);
        assert_eq!(lines("~SEQ(I,1,3) ~SEQ(J,1,${I}) ${I}${J}\n"), ["11", "21", "22", "31", "32", "33"]);
        assert_eq!(lines("$N=2\n~SEQ(I,1,$N) f${I}\n"), ["f1", "f2"]);
        assert_eq!(lines("~SEQ(I,1,2) f${I}\nlater${I}\n"), ["f1", "f2", "later2"]);
        assert_eq!(lines("$X=a$I\\\nb$I\n~SEQ(I,1,2) $X\n"), ["a1", "b1", "a2", "b2"]);
        assert_eq!(lines("~SEQ(I,1,2) $Z=$I\n$Z\n"), ["2"]);
        assert_eq!(lines("~SEQ(I,1,2) @node1 f$I\n@node1 ~SEQ(I,1,1) g$I\n"), ["f1", "f2", "g1"]);
        assert_eq!(
            lines("~SEQx(AD2, 0x90, 0x10, 0xa0) ~SEQx(AD1, 0x12, -1, 0x11) ${AD2}:${AD1}"),
            ["90:12", "90:11", "a0:12", "a0:11"]
        );
        assert_eq!(
            lines("~LST({IP,IP1},{10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}"),
            ["192.168.10.1", "192.170.10.1", "192.168.20.4", "192.170.20.4"]
        );
        assert_eq!(lines("~LST({I,J},{1},{3,4}) f${I}g${J}\n"), ["f1g", "f3g4"]);
        assert!(lines("~SEQ(I,1,2)\n").is_empty());
        assert_eq!(lines("x ~SEQ(I,1,2) y\n"), ["x ~SEQ(I,1,2) y"]);
    }

    #[test]
    fn generator_errors() {
        for t in ["~SEQ(I,1,0,3) x", "~SEQ(I, a) x", "~SEQ(I, 1 x", "~LST(I) x", "~LST(I,{a,b}) x", "~SEQx(I,-1) x"] {
            let (out, d) = read(t);
            assert!(out.is_empty(), "{t}");
            assert_eq!(d.exit_code(), 5, "{t}");
        }
        let (_, d) = read("~SEQ(A,200000) x");
        assert_eq!(d.exit_code(), 5);
    }

    #[test]
    fn include_relative_to_including_file() {
        let dir = TmpDir::new("rel");
        dir.write("main.conf", "include sub/*.conf\nafter\n");
        dir.write("sub/a.conf", "from_a { x }\n");
        dir.write("sub/b.conf", "include ../leaf.con{f,x}\n");
        dir.write("leaf.conf", "leaf\n");
        let mut d = Diagnostics::default();
        let out = read_config(&dir.0.join("main.conf"), &opts(), &mut d);
        let t: Vec<_> = out.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(t, ["from_a", "{", "x", "}", "leaf", "after"]);
        assert!(out[4].pos.file.ends_with("leaf.conf"));
        // leaf.conx does not exist: logged only
        assert_eq!(d.exit_code(), 0);
        assert_eq!(d.list.len(), 1);
        assert!(d.list[0].message.starts_with("Some config files missing"));
    }

    #[test]
    fn include_forms() {
        let dir = TmpDir::new("forms");
        dir.write("a.conf", "incfoo\n");
        let cases: &[(&str, &[&str])] = &[
            ("blk {\ninclude a.conf\n}\n", &["blk", "{", "incfoo", "}"]),
            // the whole rest of the line is the pattern, brace included
            ("blk { include a.conf }\n", &["blk", "{"]),
            ("include a.conf extra\n", &[]),
            ("  include   a.conf # c\n", &["incfoo"]),
            ("include \"a.conf\"\n", &[]),
            ("include\n", &["include"]),
            ("includet a.conf\n", &["includet a.conf"]),
            ("$F=a.conf\ninclude $F\n", &["incfoo"]),
            ("$I=include\n$I a.conf\n", &["incfoo"]),
            ("$X=\\\ninclude a.conf\n$X\n", &["incfoo"]),
            ("@node1 include a.conf\n", &["incfoo"]),
            ("@other include a.conf\n", &[]),
        ];
        for (text, want) in cases {
            dir.write("m.conf", text);
            let (out, _) = dir.run("m.conf", &opts());
            assert_eq!(&out, want, "{text}");
        }
    }

    #[test]
    fn include_checks_give_keepalived_exit_codes() {
        let dir = TmpDir::new("chk");
        dir.write("ok.conf", "ok\n");
        std::fs::create_dir_all(dir.0.join("d")).unwrap();
        // (pattern, exit code for include, includer, includem, includew, includeb, includea)
        let table: &[(&str, [i32; 6])] = &[
            ("nope.conf", [0, 0, 6, 6, 0, 6]),
            ("nope*.conf", [0, 0, 0, 6, 0, 6]),
            ("{nope,ok}.conf", [0, 0, 0, 0, 6, 6]),
            ("{nope,nope2}.conf", [0, 0, 0, 0, 6, 6]),
            ("{nope,nope2*}.conf", [0, 0, 0, 0, 6, 6]),
            ("{nope*,ok}.conf", [0, 0, 0, 0, 0, 0]),
            ("d", [0, 6, 6, 6, 6, 6]),
            ("ok.conf", [0, 0, 0, 0, 0, 0]),
        ];
        let kws = ["include", "includer", "includem", "includew", "includeb", "includea"];
        for (pat, codes) in table {
            for (kw, want) in kws.iter().zip(codes) {
                dir.write("m.conf", &format!("{kw} {pat}\n"));
                let (_, d) = dir.run("m.conf", &opts());
                assert_eq!(d.exit_code(), *want, "{kw} {pat}");
            }
            dir.write("m.conf", &format!("include {pat}\n"));
            let (_, d) = dir.run("m.conf", &SourceOptions { all_config: true, ..opts() });
            assert_eq!(d.exit_code(), codes[5], "-e include {pat}");
        }
    }

    #[test]
    fn include_check_keyword() {
        let dir = TmpDir::new("ic");
        let run = |text: &str| {
            dir.write("m.conf", text);
            dir.run("m.conf", &opts()).1
        };
        assert_eq!(run("include_check\ninclude nope\n").exit_code(), 0);
        assert_eq!(run("global_defs {\ninclude_check\n}\ninclude nope\n").exit_code(), 6);
        assert_eq!(run("global_defs {\ninclude_check match\n}\ninclude nope*\n").exit_code(), 0);
        assert_eq!(run("global_defs {\ninclude_check wildcard_match\n}\ninclude nope*\n").exit_code(), 6);
        assert_eq!(run("global_defs {\ninclude_check wildcard_match\n}\ninclude nope\n").exit_code(), 0);
        assert_eq!(run("global_defs {\ninclude_check +match -match\n}\ninclude nope\n").exit_code(), 0);
        assert_eq!(run("global_defs {\ninclude_check -match\n}\nincludem nope\n").exit_code(), 6);
        assert_eq!(run("global_defs {\ninclude_check brace_match\n}\ninclude {a,b}\n").exit_code(), 6);
        let d = run("global_defs {\ninclude_check readable\n}\ninclude nope\n");
        assert_eq!(d.exit_code(), 5);
        assert_eq!(d.list[0].message, "Unknown include_check type 'readable' - ignoring");
        assert_eq!(run("vrrp_instance X {\ninclude_check\n}\ninclude nope\n").exit_code(), 0);
        // the setting made inside an included file ends with that file
        dir.write("ic.conf", "global_defs {\ninclude_check\n}\n");
        assert_eq!(run("include ic.conf\ninclude nope\n").exit_code(), 0);
        dir.write("ic2.conf", "include nope\n");
        assert_eq!(run("global_defs {\ninclude_check\n}\ninclude ic2.conf\n").exit_code(), 6);
    }

    #[test]
    fn hostile_inputs_are_bounded() {
        let (out, d) = read(&"a{".repeat(1000));
        assert_eq!(d.exit_code(), 2);
        assert!(out.len() <= 2 * MAX_BLOCK_DEPTH + 2);
        let dir = TmpDir::new("dev");
        dir.write("m.conf", "include /dev/zero\nincluder /dev/null\n");
        let (_, d) = dir.run("m.conf", &opts());
        assert_eq!(d.exit_code(), 6);
        assert_eq!(d.count(Severity::Warning), 1);
    }

    #[test]
    fn missing_top_file_and_include_loops() {
        // a missing -f file is only logged, like a plain include (keepalived -t exits 0)
        let mut d = Diagnostics::default();
        read_config(Path::new("/nonexistent/k.conf"), &opts(), &mut d);
        assert_eq!((d.exit_code(), d.list.len()), (0, 1));
        let mut d = Diagnostics::default();
        read_config(Path::new("/nonexistent/k.conf"), &SourceOptions { all_config: true, ..opts() }, &mut d);
        assert_ne!(d.exit_code(), 0);
        // -f is a glob
        let dir = TmpDir::new("top");
        dir.write("a.conf", "a\n");
        dir.write("b.conf", "b\n");
        let mut d = Diagnostics::default();
        let out = read_config(&dir.0.join("*.conf"), &opts(), &mut d);
        assert_eq!(out.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(d.count(Severity::Warning), 1);
        let dir = TmpDir::new("loop");
        dir.write("l.conf", "include l.conf\n");
        let (_, d) = dir.run("l.conf", &opts());
        assert_eq!(d.exit_code(), 2);
    }
}
