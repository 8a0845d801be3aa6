//! The block layer: logical lines -> a tree of keyword nodes, and [`Ctx`], the walker that
//! section parsers use to dispatch keywords, report problems and read typed values.
//!
//! The tree is generic (any line followed by `{` owns the block). Whether a keyword *may* own a
//! block is known only to its section parser, which answers [`Kw`] from its dispatch closure;
//! [`Ctx::walk`] then reproduces keepalived's recovery rules: an unknown keyword or a leaf keyword
//! followed by `{` gets its block's contents parsed at the current level, as 2.2.7 does.

use std::time::Duration;

use compact_str::CompactString;

use super::diag::{Diagnostics, Pos, Severity};
use super::lexer;
use super::source::Line;

/// A word of a keyword line. Words are short: `CompactString` keeps up to 24 bytes inline, so
/// building the tree of a 100,000-line config does not allocate once per word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: CompactString,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Where the `{` is.
    pub open: Pos,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The logical line, decommented and expanded (scripts re-tokenize it shell-style).
    pub text: String,
    /// Plain tokens; `tokens[0]` is the keyword.
    pub tokens: Vec<Token>,
    pub block: Option<Block>,
}

impl Node {
    pub fn pos(&self) -> &Pos {
        &self.tokens[0].pos
    }
    pub fn keyword(&self) -> &str {
        &self.tokens[0].text
    }
    /// Token `i`, counting the keyword as 0 (keepalived's `strvec_slot` numbering).
    pub fn arg(&self, i: usize) -> Option<&Token> {
        self.tokens.get(i)
    }
    pub fn arg_str(&self, i: usize) -> Option<&str> {
        self.tokens.get(i).map(|t| t.text.as_str())
    }
    /// Tokens after the keyword.
    pub fn args(&self) -> &[Token] {
        &self.tokens[1..]
    }
    pub fn children(&self) -> &[Node] {
        self.block.as_ref().map(|b| b.nodes.as_slice()).unwrap_or(&[])
    }
    /// The text after the keyword, for keywords tokenized shell-style (`script`, `notify*`, ...).
    pub fn rest_text(&self) -> &str {
        let kw_len = self.text.find(|c: char| c.is_whitespace()).unwrap_or(self.text.len());
        self.text[kw_len..].trim_start()
    }
}

/// Build the node tree. Brace mismatches are reported as keepalived reports them (config errors).
pub fn build(lines: Vec<Line>, diags: &mut Diagnostics) -> Vec<Node> {
    let mut out = Vec::new();
    build_each(lines, diags, |n, _| out.push(n));
    out
}

/// As [`build`], handing each root node to `f` as soon as it is complete, so that a large config
/// never holds its whole tree in memory (the caller parses each root block and drops it).
pub fn build_each(lines: Vec<Line>, diags: &mut Diagnostics, mut f: impl FnMut(Node, &mut Diagnostics)) {
    let mut b = Builder::default();
    for line in lines {
        b.push(line, diags, &mut f);
    }
    b.finish(diags, &mut f);
}

/// The tree, built one line at a time: the source reader feeds it as it reads, so neither the
/// lines nor the tree of a large config are ever all in memory.
#[derive(Default)]
pub struct Builder {
    /// Open blocks: (the node that owns it, or None for a stray '{'; its children).
    stack: Vec<(Option<Node>, Pos, Vec<Node>)>,
    /// Root nodes not yet handed out (only the last may still get its '{').
    top: Vec<Node>,
}

impl Builder {
    pub fn push(&mut self, line: Line, diags: &mut Diagnostics, f: &mut impl FnMut(Node, &mut Diagnostics)) {
        let (stack, top) = (&mut self.stack, &mut self.top);
        // Root nodes before the last are complete (only the last may still get its '{').
        if stack.is_empty() && top.len() > 1 {
            let last = top.pop();
            for n in top.drain(..) {
                f(n, diags);
            }
            top.extend(last);
        }
        if line.is_open() {
            let cur = match stack.last_mut() {
                Some((_, _, nodes)) => nodes,
                None => top,
            };
            let owner = match cur.last() {
                Some(n) if n.block.is_none() => cur.pop(),
                _ => None,
            };
            if owner.is_none() {
                diags.push(line.pos.clone(), Severity::Error, "Unexpected '{' - ignoring");
            }
            stack.push((owner, line.pos, Vec::new()));
        } else if line.is_close() {
            match stack.pop() {
                Some((owner, open, nodes)) => {
                    let parent = match stack.last_mut() {
                        Some((_, _, n)) => n,
                        None => top,
                    };
                    match owner {
                        Some(mut n) => {
                            n.block = Some(Block { open, nodes });
                            parent.push(n);
                        }
                        None => parent.extend(nodes),
                    }
                }
                None => diags.push(line.pos.clone(), Severity::Error, "Extra '}' found"),
            }
        } else {
            let mut tokens = Vec::new();
            // Columns count characters; walk the line once, not once per word.
            let (mut col, mut at) = (line.pos.col, 0usize);
            lexer::plain_spans(&line.text, |sp| {
                col += line.text[at..sp.offset].chars().count() as u32;
                at = sp.offset;
                tokens.push(Token { pos: line.pos.at_col(col), text: CompactString::from(sp.text) });
            });
            if tokens.is_empty() {
                return;
            }
            let node = Node { text: line.text, tokens, block: None };
            match stack.last_mut() {
                Some((_, _, nodes)) => nodes.push(node),
                None => top.push(node),
            }
        }
    }

    /// End of input: closes what is still open (reported) and hands out the remaining roots.
    pub fn finish(mut self, diags: &mut Diagnostics, f: &mut impl FnMut(Node, &mut Diagnostics)) {
        let (stack, top) = (&mut self.stack, &mut self.top);
        if let Some((_, first, _)) = stack.first() {
            let n = stack.len();
            let pos = first.clone();
            diags.push(pos, Severity::Error, format!("There are {n} missing '}}'s or extra '{{'s (block opened here)"));
            while let Some((owner, open, nodes)) = stack.pop() {
                let parent = match stack.last_mut() {
                    Some((_, _, p)) => p,
                    None => &mut *top,
                };
                match owner {
                    Some(mut o) => {
                        o.block = Some(Block { open, nodes });
                        parent.push(o);
                    }
                    None => parent.extend(nodes),
                }
            }
        }
        for n in self.top {
            f(n, diags);
        }
    }
}

/// What a section parser did with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kw {
    /// A keyword that takes no block.
    Leaf,
    /// A keyword that owns a block (a missing `{` is reported by the walker).
    Block,
    /// Not a keyword here.
    Unknown,
    /// A keyword that may be written with or without a block (handled by the parser itself).
    Either,
}

/// Parsing context: diagnostics plus typed-value helpers that report in one consistent style.
pub struct Ctx<'a> {
    pub diags: &'a mut Diagnostics,
}

impl<'a> Ctx<'a> {
    pub fn new(diags: &'a mut Diagnostics) -> Self {
        Ctx { diags }
    }

    pub fn warn(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.diags.push(pos.clone(), Severity::Warning, msg);
    }
    pub fn error(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.diags.push(pos.clone(), Severity::Error, msg);
    }
    pub fn fatal(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.diags.push(pos.clone(), Severity::Fatal, msg);
    }
    pub fn security(&mut self, pos: &Pos, msg: impl Into<String>) {
        self.diags.push(pos.clone(), Severity::Security, msg);
    }

    /// Dispatch each node to `f`, applying keepalived's recovery for unknown keywords and
    /// misplaced braces.
    pub fn walk(&mut self, nodes: &[Node], f: &mut dyn FnMut(&mut Ctx<'a>, &Node) -> Kw) {
        for n in nodes {
            match f(self, n) {
                Kw::Leaf => {
                    if let Some(b) = &n.block {
                        self.error(&b.open, format!("Unexpected '{{' after '{}' - ignoring", n.keyword()));
                        self.walk(&b.nodes, f);
                    }
                }
                Kw::Block => {
                    if n.block.is_none() {
                        self.error(n.pos(), format!("Missing '{{' after '{}'", n.keyword()));
                    }
                }
                Kw::Either => {}
                Kw::Unknown => {
                    self.error(n.pos(), format!("Unknown keyword '{}'", n.keyword()));
                    if let Some(b) = &n.block {
                        self.walk(&b.nodes, f);
                    }
                }
            }
        }
    }

    /// Token `i` of `n`, or a fatal error as keepalived's `strvec_slot` gives (it stops there).
    pub fn need<'n>(&mut self, n: &'n Node, i: usize) -> Option<&'n str> {
        match n.arg_str(i) {
            Some(s) => Some(s),
            None => {
                self.fatal(n.pos(), format!("'{}' is missing its parameter (word {})", n.keyword(), i + 1));
                None
            }
        }
    }

    /// An unsigned integer in `[min, max]` from token `i` (missing: fatal; bad/out of range: error).
    pub fn uint(&mut self, n: &Node, i: usize, min: u64, max: u64) -> Option<u64> {
        let s = self.need(n, i)?;
        let pos = n.tokens[i].pos.clone();
        match parse_uint(s) {
            Some(v) if v >= min && v <= max => Some(v),
            Some(_) => {
                self.error(&pos, format!("{}: number '{s}' outside range [{min}, {max}]", n.keyword()));
                None
            }
            None => {
                self.error(&pos, format!("{}: '{s}' is not a valid number", n.keyword()));
                None
            }
        }
    }

    /// A signed integer in `[min, max]` from token `i`.
    pub fn int(&mut self, n: &Node, i: usize, min: i64, max: i64) -> Option<i64> {
        let s = self.need(n, i)?;
        let pos = n.tokens[i].pos.clone();
        match s.strip_prefix('+').filter(|r| !r.starts_with(['+', '-'])).unwrap_or(s).parse::<i64>() {
            Ok(v) if v >= min && v <= max => Some(v),
            Ok(_) => {
                self.error(&pos, format!("{}: number '{s}' outside range [{min}, {max}]", n.keyword()));
                None
            }
            Err(_) => {
                self.error(&pos, format!("{}: '{s}' is not a valid number", n.keyword()));
                None
            }
        }
    }

    /// A keepalived TIMER: decimal seconds with microsecond resolution, within `[min, max]` seconds.
    pub fn timer(&mut self, n: &Node, i: usize, min: f64, max: f64) -> Option<Duration> {
        let s = self.need(n, i)?;
        let pos = n.tokens[i].pos.clone();
        if s.split_once('.').is_some_and(|(_, f)| f.len() > 6) {
            self.error(&pos, format!("{}: number '{s}' has too many decimal places (at most 6)", n.keyword()));
            return None;
        }
        match parse_timer(s) {
            Some(d) if d.as_secs_f64() >= min && d.as_secs_f64() <= max => Some(d),
            Some(_) => {
                self.error(&pos, format!("{}: time '{s}' outside range [{min}, {max}] seconds", n.keyword()));
                None
            }
            None => {
                self.error(&pos, format!("{}: '{s}' is not a valid time in seconds", n.keyword()));
                None
            }
        }
    }

    /// An optional `<BOOL>` at token `i`: absent means `true` (keepalived's `get_value_bool`).
    pub fn opt_bool(&mut self, n: &Node, i: usize) -> Option<bool> {
        match n.arg(i) {
            None => Some(true),
            Some(t) => match parse_bool(&t.text) {
                Some(b) => Some(b),
                None => {
                    let msg = format!("{}: invalid boolean '{}' (use on|off|true|false|yes|no)", n.keyword(), t.text);
                    self.error(&t.pos, msg);
                    None
                }
            },
        }
    }
}

/// Decimal digits with an optional leading `+` (strtoul accepts it, so keepalived does).
pub fn parse_uint(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decimal seconds with at most 6 fractional digits (keepalived's µs resolution) and an
/// optional leading `+`.
pub fn parse_timer(s: &str) -> Option<Duration> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if frac.len() > 6 || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: u64 = 0;
    for (k, b) in frac.bytes().enumerate() {
        micros += u64::from(b - b'0') * 10u64.pow(5 - k as u32);
    }
    Duration::from_secs(secs).checked_add(Duration::from_micros(micros))
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::source::{SourceOptions, read_str};
    use super::*;

    fn tree(text: &str) -> (Vec<Node>, Diagnostics) {
        let mut d = Diagnostics::default();
        let lines = read_str("t.conf", text, &SourceOptions::default(), &mut d);
        let nodes = build(lines, &mut d);
        (nodes, d)
    }

    #[test]
    fn blocks_attach_to_previous_line() {
        let (n, d) = tree("a x {\n b 1\n c\n {\n d\n }\n}\ne");
        assert!(d.list.is_empty());
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].keyword(), "a");
        assert_eq!(n[0].arg_str(1), Some("x"));
        assert_eq!(n[0].children().len(), 2);
        assert_eq!(n[0].children()[1].children()[0].keyword(), "d");
        assert_eq!(n[1].keyword(), "e");
    }

    #[test]
    fn brace_errors() {
        let (_, d) = tree("a {\n");
        assert_eq!(d.exit_code(), 5);
        assert!(d.list[0].message.contains("missing '}'"));
        let (n, d) = tree("a\n}\n");
        assert_eq!(n.len(), 1);
        assert_eq!(d.list[0].message, "Extra '}' found");
        let (n, d) = tree("{\n x\n}\n");
        assert_eq!(n[0].keyword(), "x");
        assert_eq!(d.exit_code(), 5);
    }

    #[test]
    fn walk_recovers_like_keepalived() {
        let (nodes, mut d) = tree("known 1\nbogus {\n known 2\n}\nleaf {\n known 3\n}\nblk\n");
        let mut seen = Vec::new();
        let mut ctx = Ctx::new(&mut d);
        ctx.walk(&nodes, &mut |_, n| match n.keyword() {
            "known" => {
                seen.push(n.arg_str(1).unwrap().to_string());
                Kw::Leaf
            }
            "leaf" => Kw::Leaf,
            "blk" => Kw::Block,
            _ => Kw::Unknown,
        });
        assert_eq!(seen, ["1", "2", "3"]);
        let msgs: Vec<_> = d.list.iter().map(|x| x.message.as_str()).collect();
        assert_eq!(
            msgs,
            ["Unknown keyword 'bogus'", "Unexpected '{' after 'leaf' - ignoring", "Missing '{' after 'blk'"]
        );
    }

    #[test]
    fn values() {
        assert_eq!(parse_timer("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_timer("0.1"), Some(Duration::from_millis(100)));
        assert_eq!(parse_timer(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timer("1.000001"), Some(Duration::from_micros(1_000_001)));
        assert_eq!(parse_timer("1.0000019"), None, "keepalived: too many decimal places");
        assert_eq!(parse_timer("+2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_uint("+3"), Some(3));
        assert_eq!(parse_uint("++3"), None);
        assert_eq!(parse_timer("x"), None);
        assert_eq!(parse_timer("-1"), None);
        assert_eq!(parse_uint("300"), Some(300));
        assert_eq!(parse_bool("yes"), Some(true));
        let (nodes, mut d) = tree("virtual_router_id 300\npriority\n");
        let mut ctx = Ctx::new(&mut d);
        assert_eq!(ctx.uint(&nodes[0], 1, 1, 255), None);
        assert_eq!(ctx.uint(&nodes[1], 1, 1, 255), None);
        assert_eq!(d.exit_code(), 2);
        assert!(d.list[0].message.contains("outside range [1, 255]"));
        assert_eq!(d.list[0].pos.col, 19);
    }
}
