//! Line-level lexing of keepalived.conf, with keepalived 2.2.7's rules (lib/parser.c):
//!
//! * `!` and `#` start a comment anywhere outside *double* quotes; single quotes do not protect.
//! * a line is split at its first `{` or `}` outside double quotes: the text before is one logical
//!   line, the brace is the next, and the rest is lexed again (`global_defs{`, `{ a b }` one-liners).
//! * plain keywords are split on blanks; a token that starts with `"` runs to the next `"`.
//! * script-like keywords (`script`, `notify*`, `misc_path`, ...) use a shell-like tokenizer with
//!   `'`/`"` grouping and backslash escapes ([`tokenize_shell`]).
//!
//! The grammar is written down in `grammar/keepalived.ebnf`; keep the two in step.

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{take_till, take_till1, take_while},
    character::complete::char,
    combinator::{opt, recognize},
    sequence::preceded,
};

/// keepalived's line buffer (MAXBUF in lib/parser.h): longer lines are an error there and here.
pub const MAXBUF: usize = 1024;

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\x0b' || c == '\x0c'
}

/// Byte offset where a comment starts (`!` or `#` outside double quotes), if any.
///
/// A backslash before `!`/`#` makes it literal (keepalived keeps the backslash out: see
/// [`unescape_comment_chars`]).
pub fn comment_start(line: &str) -> Option<usize> {
    let mut in_quote = false;
    let mut prev_backslash = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '!' | '#' if !in_quote && !prev_backslash => return Some(i),
            _ => {}
        }
        prev_backslash = c == '\\' && !prev_backslash;
    }
    None
}

/// The line with any comment removed and trailing blanks trimmed.
pub fn decomment(line: &str) -> &str {
    let end = comment_start(line).unwrap_or(line.len());
    line[..end].trim_end_matches(is_blank)
}

/// `\#` and `\!` outside comments stand for the characters themselves.
pub fn unescape_comment_chars(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains("\\#") || s.contains("\\!") {
        std::borrow::Cow::Owned(s.replace("\\#", "#").replace("\\!", "!"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Byte offset of the first `{` or `}` outside double quotes.
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

/// One piece of a physical line after brace splitting: text and its byte offset in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'a> {
    pub text: &'a str,
    pub offset: usize,
}

/// Split a decommented line into logical pieces at braces: `a { b }` -> `a`, `{`, `b`, `}`.
/// Pieces are trimmed; empty pieces are dropped.
pub fn split_braces(line: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = line;
    let mut base = 0;
    loop {
        let lead = rest.len() - rest.trim_start_matches(is_blank).len();
        rest = &rest[lead..];
        base += lead;
        if rest.is_empty() {
            break;
        }
        match first_brace(rest) {
            Some(0) => {
                out.push(Piece { text: &rest[..1], offset: base });
                rest = &rest[1..];
                base += 1;
            }
            Some(i) => {
                out.push(Piece { text: rest[..i].trim_end_matches(is_blank), offset: base });
                rest = &rest[i..];
                base += i;
            }
            None => {
                out.push(Piece { text: rest.trim_end_matches(is_blank), offset: base });
                break;
            }
        }
    }
    out
}

/// A token of a logical line, with its byte offset inside that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawToken {
    pub text: String,
    pub offset: usize,
    /// The token was written in double quotes (so `"{"` is a word, not a brace).
    pub quoted: bool,
}

/// `"..."` up to the next double quote (or the end of the line, as keepalived does).
fn quoted_word(i: &str) -> IResult<&str, &str> {
    let (i, body) = preceded(char('"'), take_till(|c| c == '"')).parse(i)?;
    let (i, _) = opt(char('"')).parse(i)?;
    Ok((i, body))
}

fn bare_word(i: &str) -> IResult<&str, &str> {
    take_till1(is_blank).parse(i)
}

/// Tokenize a logical line as keepalived's `alloc_strvec_r` does: blank-separated words, a word
/// that starts with `"` runs to the next `"` (quotes removed), nothing else is special.
pub fn tokenize_plain(line: &str) -> Vec<RawToken> {
    let mut out = Vec::new();
    let mut input = line;
    loop {
        let (rest, _) = take_while::<_, &str, ()>(is_blank).parse(input).unwrap_or((input, ""));
        if rest.is_empty() {
            break;
        }
        let offset = line.len() - rest.len();
        let quoted = rest.starts_with('"');
        let parsed: IResult<&str, &str> = alt((quoted_word, recognize(bare_word))).parse(rest);
        match parsed {
            Ok((next, word)) => {
                out.push(RawToken { text: word.to_string(), offset, quoted });
                input = next;
            }
            Err(_) => break,
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellError {
    /// A `'` or `"` with no closing partner (keepalived: "Unmatched quote").
    UnmatchedQuote(char),
}

/// Tokenize a script command line as keepalived's `alloc_strvec_quoted_escaped` does: `'` and `"`
/// group words (quotes removed, adjacent text glued), and backslash escapes
/// `\a \b \E \f \n \r \t \v \nnn \xHH \cC \\ \" \'` are processed.
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
                quote = Some(c);
                have = true;
            }
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                have = true;
                match it.next() {
                    None => cur.push('\\'),
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
            let mut v = 0u32;
            let mut n = 0;
            while n < 2 {
                match it.peek().and_then(|c| c.to_digit(16)) {
                    Some(d) => {
                        v = v * 16 + d;
                        it.next();
                        n += 1;
                    }
                    None => break,
                }
            }
            if n == 0 {
                cur.push('x');
            } else {
                cur.push(char::from(v as u8));
            }
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

    #[test]
    fn comments_outside_double_quotes_only() {
        assert_eq!(decomment("state BACKUP ! 主为master,不争抢模式改为BACKUP"), "state BACKUP");
        assert_eq!(decomment("nopreempt !不争抢模式添加"), "nopreempt");
        assert_eq!(decomment(r#"router_id "a # b ! c""#), r#"router_id "a # b ! c""#);
        assert_eq!(decomment("notification_email_from 'x # y'"), "notification_email_from 'x");
        assert_eq!(decomment("a \\# b # c"), "a \\# b");
        assert_eq!(decomment("# whole line"), "");
    }

    #[test]
    fn braces_split_anywhere() {
        let p: Vec<_> = split_braces("vrrp_instance VI_1{ state BACKUP").into_iter().map(|p| p.text).collect();
        assert_eq!(p, ["vrrp_instance VI_1", "{", "state BACKUP"]);
        let p: Vec<_> = split_braces("virtual_ipaddress { 1.2.3.4/24 dev eth0 }").into_iter().map(|p| p.text).collect();
        assert_eq!(p, ["virtual_ipaddress", "{", "1.2.3.4/24 dev eth0", "}"]);
        let p: Vec<_> = split_braces("}}").into_iter().map(|p| p.text).collect();
        assert_eq!(p, ["}", "}"]);
        let p = split_braces("  auth_pass secret }");
        assert_eq!(p[0], Piece { text: "auth_pass secret", offset: 2 });
        assert_eq!(p[1], Piece { text: "}", offset: 19 });
        let p: Vec<_> = split_braces(r#"router_id "{x}""#).into_iter().map(|p| p.text).collect();
        assert_eq!(p, [r#"router_id "{x}""#]);
    }

    #[test]
    fn plain_tokens() {
        assert_eq!(words(tokenize_plain("  priority\t100 ")), ["priority", "100"]);
        assert_eq!(words(tokenize_plain(r#"router_id "a b" c"#)), ["router_id", "a b", "c"]);
        assert_eq!(words(tokenize_plain(r#"x "unterminated"#)), ["x", "unterminated"]);
        assert_eq!(words(tokenize_plain("x 'a b'")), ["x", "'a", "b'"]);
        let t = tokenize_plain("a  bb");
        assert_eq!(t[1].offset, 3);
        assert!(tokenize_plain("").is_empty());
    }

    #[test]
    fn shell_tokens() {
        assert_eq!(tokenize_shell(r#"abcd" efg "h x"#).unwrap(), ["abcd efg h", "x"]);
        assert_eq!(tokenize_shell(r#"/bin/echo 'a "b"' \t\x41\101"#).unwrap(), ["/bin/echo", "a \"b\"", "\tAA"]);
        assert_eq!(tokenize_shell(r#""""#).unwrap(), [""]);
        assert_eq!(tokenize_shell("x 'y").unwrap_err(), ShellError::UnmatchedQuote('\''));
        assert_eq!(tokenize_shell("\\cA").unwrap(), ["\x01"]);
    }
}
