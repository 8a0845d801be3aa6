//! Line-level lexing of keepalived.conf with keepalived 2.2.7's rules (lib/parser.c), each one
//! measured against `keepalived -t` (see `grammar/keepalived.ebnf`, which names these functions):
//!
//! * [`physical_lines`]: the file is read in chunks of at most [`MAXBUF`]` - 1` bytes (fgets), so a
//!   longer line is split and its tail becomes a line of its own; trailing CR/LF are dropped.
//! * [`decomment`]: `!` and `#` start a comment outside *double* quotes; a backslash pairs with the
//!   next character (so `\"` does not toggle quoting and `\\#` still starts a comment) and `\#`/`\!`
//!   outside quotes stand for the bare character.
//! * [`first_brace`]: a line is split at its first `{` or `}` outside double quotes.
//! * [`conditional`], [`definition`], [`generator`]: `@id`, `$NAME=value`, `~SEQ`/`~LST` prefixes.
//! * [`tokenize_plain`]: ordinary keywords (`alloc_strvec`); [`tokenize_shell`]: script keywords.

use std::collections::VecDeque;

use nom::{
    IResult, Parser,
    bytes::complete::{take_till, take_while, take_while1},
    character::complete::char,
    sequence::preceded,
};

/// keepalived's line buffer (MAXBUF in lib/parser.h). fgets() reads at most `MAXBUF - 1` bytes.
pub const MAXBUF: usize = 1024;

/// C `isspace()` in the C locale: what keepalived treats as a blank everywhere.
pub fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `strspn(" \t")`: the conditional-line and include separators only know space and tab.
fn is_space_tab(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub fn trim_blanks(s: &str) -> &str {
    s.trim_matches(is_blank)
}

/// One chunk of the file as fgets() returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Physical {
    pub text: String,
    /// 1-based line number in the file.
    pub line: u32,
    /// 1-based column of the chunk's first character (> 1 only for the tail of a split line).
    pub col: u32,
    /// This chunk is the continuation of a line longer than `MAXBUF - 1` bytes.
    pub split: bool,
}

/// Split a file into the chunks keepalived reads: lines, each cut every `MAXBUF - 1` bytes, with
/// trailing CR/LF removed and anything after a NUL byte ignored (C strings). Empty chunks are kept
/// so that callers can tell a blank line from a comment line. Lazy: a large file is never held
/// as a list of lines.
pub fn physical_lines(bytes: &[u8]) -> PhysicalLines<'_> {
    let is_nl: fn(&u8) -> bool = |&b| b == b'\n';
    PhysicalLines { lines: bytes.split(is_nl).peekable(), lineno: 0, pieces: VecDeque::new() }
}

type RawLines<'a> = std::iter::Peekable<std::slice::Split<'a, u8, fn(&u8) -> bool>>;

/// The iterator of [`physical_lines`].
pub struct PhysicalLines<'a> {
    lines: RawLines<'a>,
    lineno: u32,
    /// The remaining chunks of the current line (more than one only for an over-long line).
    pieces: VecDeque<Physical>,
}

impl Iterator for PhysicalLines<'_> {
    type Item = Physical;

    fn next(&mut self) -> Option<Physical> {
        if let Some(p) = self.pieces.pop_front() {
            return Some(p);
        }
        let raw = self.lines.next()?;
        self.lineno = self.lineno.saturating_add(1);
        let lineno = self.lineno;
        if raw.is_empty() {
            self.lines.peek()?; // none: the empty "line" after a final newline
            return Some(Physical { text: String::new(), line: lineno, col: 1, split: false });
        }
        let mut col: u32 = 1;
        let split = raw.len() >= MAXBUF - 1;
        for (i, chunk) in raw.chunks(MAXBUF - 1).enumerate() {
            let upto = chunk.iter().position(|&b| b == 0).unwrap_or(chunk.len());
            let mut c = &chunk[..upto];
            while let Some((&last, rest)) = c.split_last() {
                if last == b'\r' || last == b'\n' {
                    c = rest;
                } else {
                    break;
                }
            }
            let text = String::from_utf8_lossy(c).into_owned();
            self.pieces.push_back(Physical { text, line: lineno, col, split: i > 0 });
            if split {
                // Only a split line needs the width (in characters) of its first pieces.
                col = col.saturating_add(String::from_utf8_lossy(chunk).chars().count() as u32);
            }
        }
        self.pieces.pop_front()
    }
}

/// A line with its comment removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decommented<'a> {
    /// The text before the comment, `\#`/`\!` unescaped, trailing blanks removed.
    pub text: std::borrow::Cow<'a, str>,
    /// A double quote was left open (keepalived: "Unterminated quote").
    pub unterminated_quote: bool,
}

/// Remove a `#`/`!` comment (keepalived's `decomment()`).
pub fn decomment(line: &str) -> Decommented<'_> {
    // Most lines have no quote, comment or backslash: borrow them (this runs for every line).
    if !line.bytes().any(|b| matches!(b, b'"' | b'#' | b'!' | b'\\')) {
        let text = std::borrow::Cow::Borrowed(line.trim_end_matches(is_blank));
        return Decommented { text, unterminated_quote: false };
    }
    let mut text = String::with_capacity(line.len());
    let mut in_quote = false;
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.peek().copied() {
                Some(n @ ('#' | '!')) if !in_quote => {
                    text.push(n);
                    it.next();
                }
                Some(n) => {
                    text.push('\\');
                    text.push(n);
                    it.next();
                }
                None => text.push('\\'),
            },
            '"' => {
                in_quote = !in_quote;
                text.push(c);
            }
            '#' | '!' if !in_quote => break,
            _ => text.push(c),
        }
    }
    let keep = text.trim_end_matches(is_blank).len();
    text.truncate(keep);
    Decommented { text: std::borrow::Cow::Owned(text), unterminated_quote: in_quote }
}

/// Byte offset of the first `{` or `}` outside double quotes (plain toggling, no escapes).
pub fn first_brace(line: &str) -> Option<usize> {
    let mut in_quote = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '{' | '}' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// `@id rest` / `@^id rest` (after leading blanks have been removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditional<'a> {
    pub negate: bool,
    pub id: &'a str,
    /// Byte offset of the rest of the line (after the id and its following blanks), if any.
    pub rest: Option<usize>,
}

/// Parse a conditional prefix. The id runs to the first space or tab; a line with nothing after
/// the id has `rest: None` (keepalived drops such lines whatever the id).
pub fn conditional(line: &str) -> Option<Conditional<'_>> {
    let body = line.strip_prefix('@')?;
    let (negate, body) = match body.strip_prefix('^') {
        Some(b) => (true, b),
        None => (false, body),
    };
    let parsed: IResult<&str, &str> = take_till(is_space_tab).parse(body);
    let (after_id, id) = parsed.ok()?;
    if after_id.is_empty() {
        return Some(Conditional { negate, id, rest: None });
    }
    let rest = after_id.trim_start_matches(is_space_tab);
    Some(Conditional { negate, id, rest: Some(line.len() - rest.len()) })
}

/// Whether a conditional line is kept for `config_id` (an empty id never matches).
pub fn conditional_keeps(c: &Conditional<'_>, config_id: &str) -> bool {
    let matches = !config_id.is_empty() && c.id == config_id;
    c.rest.is_some() && matches != c.negate
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `$NAME=value`: NAME is `[A-Za-z_][A-Za-z0-9_]*` directly followed by `=`. Returns the name and
/// the raw value (not trimmed).
pub fn definition(line: &str) -> Option<(&str, &str)> {
    let parsed: IResult<&str, &str> = preceded(char('$'), take_while1(is_name_char)).parse(line);
    let (rest, name) = parsed.ok()?;
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let value = rest.strip_prefix('=')?;
    Some((name, value))
}

/// A `~SEQ(...)`, `~SEQx(...)` or `~LST(...)` prefix, split into its parts but not evaluated
/// (values may hold `$NAME`s, expanded by the caller before [`Generator::rows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorSpec {
    pub kind: GenKind,
    /// The variables (one for `~SEQ`; one or a `{...}` group for `~LST`).
    pub vars: Vec<String>,
    /// `~SEQ`: the 1-3 numbers. `~LST`: one row per value or `{...}` group.
    pub values: Vec<Vec<String>>,
    /// Byte offset of the rest of the line after `)` and blanks.
    pub rest: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenKind {
    Seq,
    SeqHex,
    Lst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenError {
    /// No closing `)` (keepalived: "~SEQ parameter strings too long").
    Unterminated,
    /// Wrong shape: missing variable, wrong number of values, blanks inside a value.
    Definition,
    /// Not a number, zero step, or a step that never reaches the end ("Invalid ~SEQ values").
    Values,
    /// `~SEQx` with a negative start or end.
    NegativeHex,
    /// A `~LST` row with more values than variables.
    TooManyValues,
    /// More lines than we are prepared to generate.
    TooLong,
}

impl std::fmt::Display for GenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            GenError::Unterminated => "missing ')' (keepalived: parameter strings too long)",
            GenError::Definition => "Invalid ~SEQ/~LST definition",
            GenError::Values => "Invalid ~SEQ values (not a number, or a step that never reaches the end)",
            GenError::NegativeHex => "~SEQx is only valid for positive numbers",
            GenError::TooManyValues => "~LST specification has too many values",
            GenError::TooLong => "generator produces too many lines",
        };
        f.write_str(s)
    }
}

/// At most this many lines per generator, so that a typo cannot exhaust memory.
pub const MAX_GENERATED: usize = 1 << 17;

/// Recognise a generator prefix. `None`: not a generator line. The keyword may be followed by
/// blanks before `(`; the rest of the line starts after `)` and any blanks.
pub fn generator(line: &str) -> Option<Result<GeneratorSpec, GenError>> {
    let (kind, after) = if let Some(r) = line.strip_prefix("~SEQx") {
        (GenKind::SeqHex, r)
    } else if let Some(r) = line.strip_prefix("~SEQ") {
        (GenKind::Seq, r)
    } else if let Some(r) = line.strip_prefix("~LST") {
        (GenKind::Lst, r)
    } else {
        return None;
    };
    let inner_start = after.trim_start_matches(is_blank);
    let inner = inner_start.strip_prefix('(')?;
    Some(parse_generator_body(kind, line, inner))
}

fn parse_generator_body(kind: GenKind, line: &str, inner: &str) -> Result<GeneratorSpec, GenError> {
    let (vars, values, after) = match kind {
        GenKind::Seq | GenKind::SeqHex => {
            let close = inner.find(')').ok_or(GenError::Unterminated)?;
            let parts: Vec<String> = inner[..close].split(',').map(|p| trim_blanks(p).to_string()).collect();
            let var = parts.first().cloned().unwrap_or_default();
            if var.is_empty() || !(2..=4).contains(&parts.len()) {
                return Err(GenError::Definition);
            }
            if parts[1..].iter().any(|p| p.contains(is_blank)) {
                return Err(GenError::Definition);
            }
            (vec![var], vec![parts[1..].to_vec()], &inner[close + 1..])
        }
        GenKind::Lst => {
            let (vars, rest) = lst_group_or_value(inner).ok_or(GenError::Unterminated)?;
            let mut rows = Vec::new();
            let mut rest = rest;
            loop {
                let r = rest.trim_start_matches(is_blank);
                if let Some(r) = r.strip_prefix(')') {
                    rest = r;
                    break;
                }
                let r = r.strip_prefix(',').ok_or(GenError::Definition)?;
                let (row, r) = lst_group_or_value(r).ok_or(GenError::Unterminated)?;
                if row.iter().any(|v| v.contains(is_blank)) {
                    return Err(GenError::Definition);
                }
                rows.push(row);
                rest = r;
            }
            if rows.is_empty() || vars.iter().any(|v| v.contains(is_blank)) {
                return Err(GenError::Definition);
            }
            if rows.iter().any(|r| r.len() > vars.len()) {
                return Err(GenError::TooManyValues);
            }
            (vars, rows, rest)
        }
    };
    let rest = after.trim_start_matches(is_blank);
    Ok(GeneratorSpec { kind, vars, values, rest: line.len() - rest.len() })
}

/// One `~LST` element: `{a, b}` or a bare value up to `,` or `)`. Values are trimmed.
fn lst_group_or_value(i: &str) -> Option<(Vec<String>, &str)> {
    let i = i.trim_start_matches(is_blank);
    if let Some(body) = i.strip_prefix('{') {
        let close = body.find('}')?;
        let vals = body[..close].split(',').map(|v| trim_blanks(v).to_string()).collect();
        Some((vals, &body[close + 1..]))
    } else {
        let end = i.find([',', ')'])?;
        Some((vec![trim_blanks(&i[..end]).to_string()], &i[end..]))
    }
}

/// C `strtol(s, &end, 0)` over the whole string: optional sign, `0x` hex, leading-0 octal.
pub fn parse_c_long(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (16, h)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

impl GeneratorSpec {
    /// The rows of values to assign to [`GeneratorSpec::vars`], one row per generated line.
    /// `values` must already be parameter-expanded.
    pub fn rows(&self) -> Result<Vec<Vec<String>>, GenError> {
        match self.kind {
            GenKind::Lst => Ok(self
                .values
                .iter()
                .map(|row| (0..self.vars.len()).map(|k| row.get(k).cloned().unwrap_or_default()).collect())
                .collect()),
            GenKind::Seq | GenKind::SeqHex => {
                let nums: Option<Vec<i64>> =
                    self.values.first().map(|v| v.iter().map(|s| parse_c_long(s)).collect()).unwrap_or(None);
                let nums = nums.ok_or(GenError::Definition)?;
                let (start, step, end) = match nums.as_slice() {
                    [end] => {
                        let start = if *end < 0 { -1 } else { 1 };
                        (start, if start <= *end { 1 } else { -1 }, *end)
                    }
                    [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
                    [start, step, end] => (*start, *step, *end),
                    _ => return Err(GenError::Definition),
                };
                if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
                    return Err(GenError::Values);
                }
                if self.kind == GenKind::SeqHex && (start < 0 || end < 0) {
                    return Err(GenError::NegativeHex);
                }
                let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
                if count > MAX_GENERATED as i128 {
                    return Err(GenError::TooLong);
                }
                let mut out = Vec::with_capacity(count as usize);
                let mut v = i128::from(start);
                for _ in 0..count {
                    out.push(vec![if self.kind == GenKind::SeqHex { format!("{v:x}") } else { v.to_string() }]);
                    v += i128::from(step);
                }
                Ok(out)
            }
        }
    }
}

/// A token of a logical line, with its byte offset inside that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawToken {
    pub text: String,
    pub offset: usize,
    /// The token was written in double quotes (so `"{"` is a word, not a brace).
    pub quoted: bool,
}

/// Plain tokens and, if a `"` was never closed, its byte offset (keepalived: "Unmatched quote";
/// tokenizing stops there).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlainTokens {
    pub tokens: Vec<RawToken>,
    pub unmatched_quote: Option<usize>,
}

/// `"..."`: the text up to the next double quote (no escapes).
fn quoted_word(i: &str) -> IResult<&str, &str> {
    let (i, body) = preceded(char('"'), take_till(|c| c == '"')).parse(i)?;
    let (i, _) = char('"').parse(i)?;
    Ok((i, body))
}

/// A bare word ends at a blank or at a double quote (`a"b c"` is `a`, `b c`).
fn bare_word(i: &str) -> IResult<&str, &str> {
    take_while1(|c| !is_blank(c) && c != '"').parse(i)
}

/// One plain word borrowed from its line: byte offset, text (quotes removed), quoted or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<'a> {
    pub offset: usize,
    pub text: &'a str,
    pub quoted: bool,
}

/// keepalived's `alloc_strvec`: blank-separated words; a `"` starts a word that runs to the next
/// `"` (quotes removed, no escapes); a `"` inside a bare word starts a new word. Calls `f` with
/// each word, without allocating; returns the offset of a `"` that was never closed
/// (keepalived: "Unmatched quote"; tokenizing stops there).
pub fn plain_spans<'a>(line: &'a str, mut f: impl FnMut(Span<'a>)) -> Option<usize> {
    let mut input = line;
    loop {
        let skipped: IResult<&str, &str> = take_while(is_blank).parse(input);
        let rest = match skipped {
            Ok((rest, _)) => rest,
            Err(_) => input,
        };
        if rest.is_empty() {
            return None;
        }
        let offset = line.len() - rest.len();
        let quoted = rest.starts_with('"');
        let parsed = if quoted { quoted_word(rest) } else { bare_word(rest) };
        match parsed {
            Ok((next, text)) => {
                f(Span { offset, text, quoted });
                input = next;
            }
            Err(_) => return Some(offset),
        }
    }
}

/// [`plain_spans`] collected into owned tokens.
pub fn tokenize_plain_checked(line: &str) -> PlainTokens {
    let mut tokens = Vec::new();
    let unmatched_quote = plain_spans(line, |sp| {
        tokens.push(RawToken { text: sp.text.to_string(), offset: sp.offset, quoted: sp.quoted })
    });
    PlainTokens { tokens, unmatched_quote }
}

/// [`tokenize_plain_checked`] without the error report.
pub fn tokenize_plain(line: &str) -> Vec<RawToken> {
    tokenize_plain_checked(line).tokens
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellError {
    /// A `'` or `"` with no closing partner and text after it (keepalived: "String '...':
    /// missing terminating '"). A quote that is the last character is silently dropped.
    UnmatchedQuote(char),
    /// The string ends with a lone backslash.
    TrailingBackslash,
}

impl std::fmt::Display for ShellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShellError::UnmatchedQuote(q) => write!(f, "missing terminating {q}"),
            ShellError::TrailingBackslash => f.write_str("ends with a lone '\\'"),
        }
    }
}

/// keepalived's `alloc_strvec_quoted_escaped` (script keywords): unquoted blanks separate words;
/// `'...'` and `"..."` group (quotes removed, adjacent text glued: `abcd" efg "h` is one word);
/// backslash escapes work inside and outside both kinds of quotes: `\a \b \E \f \n \r \t \v`,
/// `\nnn` (up to 3 octal digits), `\xHH...` (hex digits, low byte kept), `\cC` (control), and `\C`
/// for any other C is C itself. `""` is an empty word. Escaped blanks do not separate words.
pub fn tokenize_shell(line: &str) -> Result<Vec<String>, ShellError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut quote: Option<char> = None;
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        match (quote, c) {
            (None, c) if is_blank(c) => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            (None, '\'' | '"') => {
                if it.peek().is_none() {
                    break; // a lone quote at the very end is dropped
                }
                quote = Some(c);
                have = true;
            }
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                have = true;
                match it.next() {
                    None => return Err(ShellError::TrailingBackslash),
                    Some(e) => push_escape(e, &mut it, &mut cur),
                }
            }
            (_, c) => {
                cur.push(c);
                have = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(ShellError::UnmatchedQuote(q));
    }
    if have {
        out.push(cur);
    }
    Ok(out)
}

fn push_escape(e: char, it: &mut std::iter::Peekable<std::str::Chars<'_>>, cur: &mut String) {
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'E' => Some('\x1b'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(s) = simple {
        cur.push(s);
        return;
    }
    match e {
        '0'..='7' => {
            let mut v = e.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match it.peek().and_then(|c| c.to_digit(8)) {
                    Some(d) => {
                        v = v * 8 + d;
                        it.next();
                    }
                    None => break,
                }
            }
            cur.push(char::from((v & 0xff) as u8));
        }
        'x' => {
            let mut v: u32 = 0;
            let mut n = 0;
            while let Some(d) = it.peek().and_then(|c| c.to_digit(16)) {
                v = (v << 4 | d) & 0xff;
                it.next();
                n += 1;
            }
            cur.push(if n == 0 { 'x' } else { char::from(v as u8) });
        }
        'c' => match it.next() {
            Some(c) => cur.push(char::from((c.to_ascii_uppercase() as u8) ^ 0x40)),
            None => cur.push('c'),
        },
        other => cur.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: Vec<RawToken>) -> Vec<String> {
        v.into_iter().map(|t| t.text).collect()
    }

    fn dc(s: &str) -> String {
        decomment(s).text.into_owned()
    }

    #[test]
    fn comments_outside_double_quotes_only() {
        assert_eq!(dc("state BACKUP ! 主为master,不争抢模式改为BACKUP"), "state BACKUP");
        assert_eq!(dc("nopreempt !不争抢模式添加"), "nopreempt");
        assert_eq!(dc(r#"router_id "a # b ! c""#), r#"router_id "a # b ! c""#);
        assert_eq!(dc("notification_email_from 'x # y'"), "notification_email_from 'x");
        assert_eq!(dc("# whole line"), "");
        assert_eq!(dc("a\t \x0b"), "a");
    }

    #[test]
    fn backslash_pairs_in_decomment() {
        // measured: f\#x -> f#x, f\\#x -> f\\, f\\\#x -> f\\#x, "f\#x" -> f\#x
        assert_eq!(dc(r"f\#x y"), "f#x y");
        assert_eq!(dc(r"f\!x"), "f!x");
        assert_eq!(dc(r"f\\#x"), r"f\\");
        assert_eq!(dc(r"f\\\#x"), r"f\\#x");
        assert_eq!(dc(r#""f\#x" y"#), r#""f\#x" y"#);
        // \" does not toggle quoting, so the # stays inside the quotes
        assert_eq!(dc(r#""a\"b#" c"#), r#""a\"b#" c"#);
        assert_eq!(dc(r"f\x \"), r"f\x \");
    }

    #[test]
    fn unterminated_quote_is_flagged() {
        assert!(decomment(r#"router_id "abc"#).unterminated_quote);
        assert!(!decomment(r#"router_id "a\"b""#).unterminated_quote);
        assert!(!decomment("router_id 'a").unterminated_quote);
        assert!(!decomment("a # \"").unterminated_quote);
    }

    #[test]
    fn physical_lines_split_at_maxbuf() {
        let mut long = "foo".to_string();
        long.push_str(&"x".repeat(1030));
        long.push_str(" bar\r\nbaz\n\n");
        let p: Vec<Physical> = physical_lines(long.as_bytes()).collect();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].text.len(), MAXBUF - 1);
        assert_eq!((p[1].text.as_str(), p[1].line, p[1].col, p[1].split), ("xxxxxxxxxx bar", 1, 1024, true));
        assert_eq!((p[2].text.as_str(), p[2].line), ("baz", 2));
        assert_eq!((p[3].text.as_str(), p[3].line), ("", 3));
        // exactly MAXBUF-1 bytes: one chunk, no tail
        let exact = format!("{}\nz", "y".repeat(MAXBUF - 1));
        let p: Vec<Physical> = physical_lines(exact.as_bytes()).collect();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].line, 2);
        assert_eq!(physical_lines(b"a\0b c\nd").map(|p| p.text).collect::<Vec<_>>(), ["a", "d"]);
        assert!(physical_lines(b"").next().is_none());
        let blank: Vec<Physical> = physical_lines(b"a\n\nb\n").collect();
        assert_eq!(blank.iter().map(|p| (p.text.as_str(), p.line)).collect::<Vec<_>>(), [("a", 1), ("", 2), ("b", 3)]);
        assert_eq!(physical_lines(b"a\rb\r\r\n").next().map(|p| p.text), Some("a\rb".to_string()));
    }

    #[test]
    fn braces_outside_quotes() {
        assert_eq!(first_brace("vrrp_instance VI_1{ x"), Some(18));
        assert_eq!(first_brace(r#"router_id "{x}" }"#), Some(16));
        assert_eq!(first_brace(r#"a"{"b"#), None);
        assert_eq!(first_brace("plain"), None);
    }

    #[test]
    fn conditional_prefix() {
        let c = conditional("@main router_id x").unwrap();
        assert_eq!((c.negate, c.id, c.rest), (false, "main", Some(6)));
        let c = conditional("@^b\t\tz").unwrap();
        assert_eq!((c.negate, c.id, c.rest), (true, "b", Some(5)));
        assert!(conditional_keeps(&c, "a"));
        assert!(!conditional_keeps(&c, "b"));
        let c = conditional("@vm").unwrap();
        assert_eq!(c.rest, None);
        assert!(!conditional_keeps(&c, "vm"));
        let c = conditional("@ vm x").unwrap();
        assert_eq!(c.id, "");
        assert!(!conditional_keeps(&c, "vm"));
        assert!(!conditional_keeps(&conditional("@a x").unwrap(), ""));
        assert!(conditional_keeps(&conditional("@^a x").unwrap(), ""));
        assert!(conditional("x @a").is_none());
    }

    #[test]
    fn definitions() {
        assert_eq!(definition("$X=foo bar"), Some(("X", "foo bar")));
        assert_eq!(definition("$X_1= "), Some(("X_1", " ")));
        assert_eq!(definition("$X="), Some(("X", "")));
        assert_eq!(definition("$X =foo"), None);
        assert_eq!(definition("$1X=foo"), None);
        assert_eq!(definition("$X-Y=foo"), None);
        assert_eq!(definition("$=x"), None);
        assert_eq!(definition("X=1"), None);
    }

    fn rows(s: &str) -> Result<Vec<String>, GenError> {
        let g = generator(s).expect("generator")?;
        Ok(g.rows()?.into_iter().map(|r| r.join("/")).collect())
    }

    #[test]
    fn seq_generators() {
        assert_eq!(rows("~SEQ(I, 1, 3) x").unwrap(), ["1", "2", "3"]);
        assert_eq!(rows("~SEQ(I,3) x").unwrap(), ["1", "2", "3"]);
        assert_eq!(rows("~SEQ(I,-2) x").unwrap(), ["-1", "-2"]);
        assert_eq!(rows("~SEQ(I,0) x").unwrap(), ["1", "0"]);
        assert_eq!(rows("~SEQ(I,5,2) x").unwrap(), ["5", "4", "3", "2"]);
        assert_eq!(rows("~SEQ(I,6,-2,1) x").unwrap(), ["6", "4", "2"]);
        assert_eq!(rows("~SEQx(I,10,3,20) x").unwrap(), ["a", "d", "10", "13"]);
        assert_eq!(rows("~SEQ(I,0x10,1,0x11) x").unwrap(), ["16", "17"]);
        assert_eq!(rows("~SEQ(I,010,1,011) x").unwrap(), ["8", "9"]);
        assert_eq!(rows("~SEQ (I,+1,1) x").unwrap(), ["1"]);
        assert_eq!(rows("~SEQ(I,1,0,3) x"), Err(GenError::Values));
        assert_eq!(rows("~SEQ(I,2,1,1) x"), Err(GenError::Values));
        assert_eq!(rows("~SEQ(I, a, 2) x"), Err(GenError::Definition));
        assert_eq!(rows("~SEQ(I,3x) x"), Err(GenError::Definition));
        assert_eq!(rows("~SEQ(I) x"), Err(GenError::Definition));
        assert_eq!(rows("~SEQ(,1,2) x"), Err(GenError::Definition));
        assert_eq!(rows("~SEQ(I,1,1,2,3) x"), Err(GenError::Definition));
        assert_eq!(rows("~SEQ(I, 1 2) x"), Err(GenError::Definition));
        assert_eq!(rows("~SEQ(I,1,2,) x"), Err(GenError::Definition));
        assert_eq!(rows("~SEQ(I, 1, 2 x"), Err(GenError::Unterminated));
        assert_eq!(rows("~SEQx(I,-2) x"), Err(GenError::NegativeHex));
        assert_eq!(rows("~SEQ(I,0,99999999999) x"), Err(GenError::TooLong));
        assert!(generator("~SEQfoo x").is_none());
        assert!(generator("x ~SEQ(I,1) x").is_none());
        let g = generator("~SEQ(I,1,1)foo").unwrap().unwrap();
        assert_eq!(&"~SEQ(I,1,1)foo"[g.rest..], "foo");
    }

    #[test]
    fn lst_generators() {
        assert_eq!(rows("~LST(I, a, b, c) x").unwrap(), ["a", "b", "c"]);
        assert_eq!(rows("~LST({I, J}, {1, 2} , { 3 , 4 }) x").unwrap(), ["1/2", "3/4"]);
        assert_eq!(rows("~LST({I,J},{1},{3,4}) x").unwrap(), ["1/", "3/4"]);
        assert_eq!(rows("~LST({I,J},a,b) x").unwrap(), ["a/", "b/"]);
        assert_eq!(rows("~LST(I,,c) x").unwrap(), ["", "c"]);
        assert_eq!(rows("~LST(,a) x").unwrap(), ["a"]);
        assert_eq!(rows("~LST ( I, a ) x").unwrap(), ["a"]);
        assert_eq!(rows("~LST({I,J},{1},{3,4,5}) x"), Err(GenError::TooManyValues));
        assert_eq!(rows("~LST(I,{a,b},c) x"), Err(GenError::TooManyValues));
        assert_eq!(rows("~LST(I) x"), Err(GenError::Definition));
        assert_eq!(rows("~LST(I,a b,c) x"), Err(GenError::Definition));
        assert_eq!(rows("~LST(I,a,b x"), Err(GenError::Unterminated));
        assert_eq!(rows("~LST({I,J}) x"), Err(GenError::Definition));
        assert!(generator("~lst(I,a) x").is_none());
    }

    #[test]
    fn c_long() {
        assert_eq!(parse_c_long("-0x1f"), Some(-31));
        assert_eq!(parse_c_long("0"), Some(0));
        assert_eq!(parse_c_long("08"), None);
        assert_eq!(parse_c_long(""), None);
        assert_eq!(parse_c_long("-"), None);
        assert_eq!(parse_c_long("99999999999999999999"), None);
    }

    #[test]
    fn plain_tokens() {
        assert_eq!(words(tokenize_plain("  priority\t100 ")), ["priority", "100"]);
        assert_eq!(words(tokenize_plain(r#"router_id "a b" c"#)), ["router_id", "a b", "c"]);
        assert_eq!(
            words(tokenize_plain(r#"10.9.9.9/32"aa"bb  cc"dd ee""#)),
            ["10.9.9.9/32", "aa", "bb", "cc", "dd ee"]
        );
        assert_eq!(words(tokenize_plain("x 'a b'")), ["x", "'a", "b'"]);
        assert_eq!(words(tokenize_plain("foo€bar x")), ["foo€bar", "x"]);
        let t = tokenize_plain("a  bb");
        assert_eq!(t[1].offset, 3);
        assert!(tokenize_plain("").is_empty());
    }

    #[test]
    fn plain_unmatched_quote_stops() {
        let t = tokenize_plain_checked(r#"x "unterminated"#);
        assert_eq!(words(t.tokens), ["x"]);
        assert_eq!(t.unmatched_quote, Some(2));
        let t = tokenize_plain_checked(r#"router_id "a\"b""#);
        assert_eq!(words(t.tokens), ["router_id", "a\\", "b"]);
        assert_eq!(t.unmatched_quote, Some(15));
        assert_eq!(tokenize_plain_checked(r#""a"b"#).unmatched_quote, None);
    }

    #[test]
    fn shell_tokens() {
        // each case measured through a vrrp_script's dumped Command (pass 2 of script parsing)
        assert_eq!(tokenize_shell(r#"/bin/true abcd" efg "h x"#).unwrap(), ["/bin/true", "abcd efg h", "x"]);
        assert_eq!(tokenize_shell(r#"/bin/echo 'a "b"' \t\x41\101"#).unwrap(), ["/bin/echo", "a \"b\"", "\tAA"]);
        assert_eq!(tokenize_shell("'a\\tb' c").unwrap(), ["a\tb", "c"]);
        assert_eq!(tokenize_shell(r#""a\"b" 'c\'d'"#).unwrap(), ["a\"b", "c'd"]);
        assert_eq!(tokenize_shell(r#""" '' e"#).unwrap(), ["", "", "e"]);
        assert_eq!(tokenize_shell("x'").unwrap(), ["x"]);
        assert_eq!(tokenize_shell("'e'f'").unwrap(), ["ef"]);
        assert_eq!(tokenize_shell(r"\x4142 \x4g \0101 \8 \x").unwrap(), ["B", "\x04g", "\x081", "8", "x"]);
        assert_eq!(tokenize_shell(r"c\ d \cA\c[").unwrap(), ["c d", "\x01\x1b"]);
        assert_eq!(tokenize_shell("x 'y z").unwrap_err(), ShellError::UnmatchedQuote('\''));
        assert_eq!(tokenize_shell(r"x\").unwrap_err(), ShellError::TrailingBackslash);
        assert!(tokenize_shell("  ").unwrap().is_empty());
    }

    #[test]
    fn script_two_passes() {
        // `script "..."`: the line's word 1, tokenized again (what script.rs does)
        let pass1 = tokenize_shell(r#"script "/bin/true 'a \"b\"' \t\x41\101 \cA\c[ \q \\ \E z""#).unwrap();
        let argv = tokenize_shell(&pass1[1]).unwrap();
        assert_eq!(argv, ["/bin/true", "a \"b\"", "AA", "\x01\x1b", "q", " \x1b", "z"]);
    }
}
