//! Lizard's JavaScript tokenizer (`generate_tokens` and the JavaScript reader's token
//! pattern): regular expressions, templates, comments and glued operators, as lizard splits them.

/// Python's `str.isspace` for one character (`\s` of a `str` pattern).
pub(in crate::covariates) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `\w` (a `str` pattern).
pub(in crate::covariates) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

pub(in crate::covariates) fn first(text: &str) -> Option<char> {
    text.chars().next()
}

/// Length of the run of word characters at the start of `text`.
pub(in crate::covariates) fn word_len(text: &str) -> usize {
    text.find(|c: char| !is_word(c)).unwrap_or(text.len())
}

/// `(?:D+')+D+` at the start of `text` (digit groups joined by apostrophes, at least two).
pub(super) fn grouped_digits(text: &str, digit: fn(char) -> bool) -> Option<usize> {
    let run = |from: usize| {
        text[from..]
            .find(|c: char| !digit(c))
            .unwrap_or(text.len() - from)
    };
    let mut end = run(0);
    if end == 0 {
        return None;
    }
    let mut groups = 1;
    while text[end..].starts_with('\'') {
        let next = run(end + 1);
        if next == 0 {
            break;
        }
        end += 1 + next;
        groups += 1;
    }
    (groups >= 2).then_some(end)
}

/// A quoted string `Q(?:\\.|[^Q\\])*Q` at the start of `text` (it may span lines).
pub(super) fn quoted(text: &str, quote: char) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        if c == '\\' {
            chars.next()?;
        } else if c == quote {
            return Some(at + c.len_utf8());
        }
    }
    None
}

/// `//(?:\\\n|[^\n])*`: a line comment (continued by a backslash at the end of the line).
pub(super) fn line_comment(text: &str) -> usize {
    let mut at = 2;
    loop {
        let rest = &text[at..];
        if rest.starts_with("\\\n") {
            at += 2;
            continue;
        }
        match first(rest) {
            None | Some('\n') => return at,
            Some(c) => at += c.len_utf8(),
        }
    }
}

/// `\<(?=(?:[^<>?]*\?)+[^<>]*\>)(?:[\w\s,.?]|(?:extends))+\>`: a generic with a wildcard.
pub(super) fn generic(text: &str) -> Option<usize> {
    let close = text[1..].find(['<', '>'])? + 1;
    let inside = &text[1..close];
    (text[close..].starts_with('>')
        && inside.contains('?')
        && inside
            .chars()
            .all(|c| is_word(c) || is_space(c) || matches!(c, ',' | '.' | '?')))
    .then_some(close + 1)
}

/// `js_style_regex_expression.REGEX_LITERAL` at `at` of `text`: its end.
pub(super) fn regex_literal(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    if !rest.starts_with('/') || rest[1..].starts_with(['/', '*']) {
        return None;
    }
    let mut i = 1;
    let mut units = 0;
    loop {
        let c = first(&rest[i..])?;
        match c {
            '\\' => match first(&rest[i + 1..]) {
                Some(next) if next != '\r' && next != '\n' => i += 1 + next.len_utf8(),
                _ => break,
            },
            '[' => {
                let mut j = i + 1;
                let closed = loop {
                    match first(&rest[j..]) {
                        Some(']') => break true,
                        Some('\\') => match first(&rest[j + 1..]) {
                            Some(next) if next != '\r' && next != '\n' => j += 1 + next.len_utf8(),
                            _ => break false,
                        },
                        Some('\r' | '\n') | None => break false,
                        Some(other) => j += other.len_utf8(),
                    }
                };
                if !closed {
                    break;
                }
                i = j + 1;
            }
            '/' | '\r' | '\n' => break,
            other => i += other.len_utf8(),
        }
        units += 1;
    }
    if units == 0 || !rest[i..].starts_with('/') {
        return None;
    }
    i += 1;
    i += rest[i..]
        .find(|c: char| !c.is_ascii_lowercase())
        .unwrap_or(rest.len() - i);
    Some(at + i)
}

/// `REGEX_TOKEN` (`(?:\A|(?<=[=,({[?:!&|;]))\s*` then a regex literal) at `at` of
/// `source[..end]`; the look-behind sees the whole source.
pub(in crate::covariates) fn regex_token(source: &str, at: usize, end: usize) -> Option<usize> {
    let after_opener = at == 0
        || source[..at]
            .chars()
            .next_back()
            .is_some_and(|c| "=,({[?:!&|;".contains(c));
    if !after_opener {
        return None;
    }
    let text = &source[..end];
    let start = text[at..]
        .find(|c: char| !is_space(c))
        .map_or(text.len(), |offset| at + offset);
    regex_literal(text, start)
}

pub(super) const COMBINED: &[&str] = &[
    "<<=", ">>=", "||", "&&", "===", "!==", "==", "!=", "<=", ">=", "->", "=>", "++", "--", "+=",
    "-=", "+", "-", "*", "/", "*=", "/=", "^=", "&=", "|=", "...",
];

/// The end of the token lizard's JavaScript pattern matches at `at` of `source[..end]` (the
/// alternatives in the pattern's order; the last matches any character).
pub(super) fn token_end(source: &str, at: usize, end: usize) -> usize {
    let rest = &source[..end][at..];
    if let Some(close) = block_comment(rest) {
        return at + close;
    }
    if let Some(regex_end) = regex_token(source, at, end) {
        return regex_end;
    }
    if matches!(first(rest), Some('#' | '$')) {
        let word = word_len(&rest[1..]);
        if word > 0 {
            return at + 1 + word;
        }
    }
    let word = word_len(rest);
    if word > 0 && rest[word..].starts_with('?') && !rest[word + 1..].starts_with(['?', '.']) {
        return at + word + 1;
    }
    if rest.starts_with("??") {
        return at + 2;
    }
    if rest.starts_with("?.") && !first(&rest[2..]).is_some_and(|c| c.is_ascii_digit()) {
        return at + 2;
    }
    at + base_token_len(rest)
}

/// `/\*.*?\*/` at the start of `text`: its length.
pub(in crate::covariates) fn block_comment(text: &str) -> Option<usize> {
    text.strip_prefix("/*")?.find("*/").map(|close| close + 4)
}

/// The length of the token the alternatives every lizard pattern ends with (`token_pattern.py`,
/// from the digit groups on) match at the start of `rest`.
pub(in crate::covariates) fn base_token_len(rest: &str) -> usize {
    let c = first(rest).expect("a character");
    let at = 0;
    let word = word_len(rest);
    if let Some(len) = grouped_digits(rest, |c| c.is_ascii_digit()) {
        return at + len;
    }
    for (prefix, digit) in [
        ("0x", (|c: char| c.is_ascii_hexdigit()) as fn(char) -> bool),
        ("0b", |c: char| c == '0' || c == '1'),
    ] {
        if let Some(stripped) = rest.strip_prefix(prefix)
            && let Some(len) = grouped_digits(stripped, digit)
        {
            return at + 2 + len;
        }
    }
    if word > 0 {
        return at + word;
    }
    if (c == '"' || c == '\'')
        && let Some(len) = quoted(rest, c)
    {
        return at + len;
    }
    if rest.starts_with("//") {
        return at + line_comment(rest);
    }
    if c == '#' {
        return at + 1;
    }
    if [":=", "::", "**"]
        .iter()
        .any(|symbol| rest.starts_with(symbol))
    {
        return at + 2;
    }
    if c == '<'
        && let Some(len) = generic(rest)
    {
        return at + len;
    }
    if let Some(symbol) = COMBINED.iter().find(|symbol| rest.starts_with(*symbol)) {
        return at + symbol.len();
    }
    if rest.starts_with("\\\n") {
        return at + 2;
    }
    if c != '\n' && is_space(c) {
        return at
            + rest
                .find(|c: char| c == '\n' || !is_space(c))
                .unwrap_or(rest.len());
    }
    at + c.len_utf8()
}

/// `tokens_in_span`: the tokens of `source[start..end]`, a line from a lone `#` on as one token.
pub(super) fn tokens_in_span(source: &str, start: usize, end: usize, out: &mut Vec<String>) {
    let mut macro_text = String::new();
    let mut at = start;
    while at < end {
        let next = token_end(source, at, end);
        let token = &source[at..next];
        at = next;
        if !macro_text.is_empty() {
            if token.contains("\\\n") || !token.contains('\n') {
                macro_text.push_str(token);
            } else {
                out.push(std::mem::take(&mut macro_text));
                out.push(token.to_string());
            }
        } else if token == "#" {
            macro_text.push_str(token);
        } else {
            out.push(token.to_string());
        }
    }
    if !macro_text.is_empty() {
        out.push(macro_text);
    }
}

/// One of `_OPAQUE_CODE`'s alternatives at `at` (comments, strings, a regex literal): its end.
pub(super) fn opaque_at(source: &str, at: usize) -> Option<usize> {
    let rest = &source[at..];
    if rest.starts_with("/*")
        && let Some(close) = rest[2..].find("*/")
    {
        return Some(at + close + 4);
    }
    if rest.starts_with("//") {
        return Some(
            at + rest
                .find(['\r', '\n', '\u{2028}', '\u{2029}'])
                .unwrap_or(rest.len()),
        );
    }
    if let Some(quote @ ('"' | '\'')) = first(rest)
        && let Some(len) = quoted(rest, quote)
    {
        return Some(at + len);
    }
    regex_token(source, at, source.len())
}

/// The leftmost match from `from` of opaque code or one of `specials` (each at a position in
/// that order): (start, end, whether a special).
pub(super) fn search(
    source: &str,
    from: usize,
    opaque: bool,
    special: impl Fn(&str) -> Option<usize>,
) -> Option<(usize, usize, bool)> {
    for (offset, _) in source[from..].char_indices() {
        let at = from + offset;
        if opaque && let Some(end) = opaque_at(source, at) {
            return Some((at, end, false));
        }
        if let Some(len) = special(&source[at..]) {
            return Some((at, at + len, true));
        }
    }
    None
}

/// `_template_end`: the end of the template starting at `start` and its outermost
/// interpolations (`None` when it is not closed).
pub(super) fn template_end(source: &str, start: usize) -> (usize, Option<Vec<(usize, usize)>>) {
    let mut stack = vec![0usize];
    let mut expressions = Vec::new();
    let mut expression_start = 0;
    let mut at = start + 1;
    while let Some(&top) = stack.last() {
        let found = if top == 0 {
            search(source, at, false, |rest| {
                if let Some(escaped) = rest.strip_prefix('\\') {
                    first(escaped).map(|c| 1 + c.len_utf8())
                } else if rest.starts_with('`') {
                    Some(1)
                } else if rest.starts_with("${") {
                    Some(2)
                } else {
                    None
                }
            })
        } else {
            search(source, at, true, |rest| {
                rest.starts_with(['`', '{', '}']).then_some(1)
            })
        };
        let Some((match_start, match_end, special)) = found else {
            return (source.len(), None);
        };
        at = match_end;
        if !special {
            continue;
        }
        let token = &source[match_start..match_end];
        if top == 0 {
            if token == "`" {
                stack.pop();
            } else if token == "${" {
                if stack.len() == 1 {
                    expression_start = at;
                }
                stack.push(1);
            }
        } else if token == "`" {
            stack.push(0);
        } else if token == "{" {
            *stack.last_mut().expect("a frame") += 1;
        } else if token == "}" {
            let last = stack.last_mut().expect("a frame");
            *last -= 1;
            if *last == 0 {
                stack.pop();
                if stack.len() == 1 {
                    expressions.push((expression_start, match_start));
                }
            }
        }
    }
    (at, Some(expressions))
}

/// `_split_template`: a template as lizard's tokens (its interpolations opaque).
pub(super) fn split_template(
    source: &str,
    start: usize,
    end: usize,
    expressions: &[(usize, usize)],
    out: &mut Vec<String>,
) {
    out.push("`".into());
    let mut at = start + 1;
    for &(expression_start, expression_end) in expressions {
        let text_end = expression_start - 2;
        if at < text_end {
            out.push(format!("`{}`", &source[at..text_end]));
        }
        out.push("${".into());
        out.push(source[expression_start..expression_end].to_string());
        out.push("}".into());
        at = expression_end + 1;
    }
    if at + 1 < end {
        out.push(format!("`{}`", &source[at..end - 1]));
    }
    out.push("`".into());
}

/// `TypeScriptReader.generate_tokens` for JavaScript: templates split around opaque
/// interpolations, the rest by the token pattern, whitespace before a regex literal split off.
pub fn tokens(source: &str) -> Vec<String> {
    let mut raw = Vec::new();
    let mut at = 0;
    if source.contains('`') {
        let mut from = 0;
        while let Some((start, _, _)) = next_template(source, from) {
            let (end, expressions) = template_end(source, start);
            tokens_in_span(source, at, start, &mut raw);
            match expressions {
                Some(expressions) => split_template(source, start, end, &expressions, &mut raw),
                None => raw.push(source[start..end].to_string()),
            }
            at = end;
            from = end;
        }
    }
    tokens_in_span(source, at, source.len(), &mut raw);
    let mut tokens = Vec::with_capacity(raw.len());
    for token in raw {
        let stripped = token.trim_start_matches(is_space);
        if stripped.starts_with('/') && !token.starts_with('/') {
            let prefix = &token[..token.len() - stripped.len()];
            let mut rest = prefix;
            while let Some(c) = first(rest) {
                let len = if c == '\n' {
                    1
                } else {
                    rest.find(|c: char| c == '\n' || !is_space(c))
                        .unwrap_or(rest.len())
                };
                tokens.push(rest[..len].to_string());
                rest = &rest[len..];
            }
            tokens.push(stripped.to_string());
        } else {
            tokens.push(token);
        }
    }
    tokens
}

/// `_template_spans`' search: the next backtick outside comments, strings and regex literals.
pub(super) fn next_template(source: &str, from: usize) -> Option<(usize, usize, bool)> {
    let mut at = from;
    loop {
        let (start, end, special) =
            search(source, at, true, |rest| rest.starts_with('`').then_some(1))?;
        if special {
            return Some((start, end, special));
        }
        at = end;
    }
}
