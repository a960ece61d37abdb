//! Lizard 1.24.3's JavaScript reader, ported to Rust: its tokenizer, its token pipeline and the
//! state machine that finds functions and counts their cyclomatic complexity, quirks included.
//!
//! Lizard does not parse JavaScript; it reads tokens with a few nested state machines
//! (`lizard_languages/typescript.py`, `typescript_states.py`, `javascript_functions.py`,
//! `javascript_objects.py`, `javascript_bindings.py`, `typescript_declarations.py`,
//! `javascript_templates.py`, `js_style_regex_expression.py`, `token_pattern.py`, and
//! `lizard_core/file_analyzer.py` and `file_info_builder.py` for the pipeline and the
//! function stack). Its counts follow from that reading, not from the syntax tree: a `?` glued
//! to a name (`a? b : c`) is not a decision, a `type` used as a name swallows tokens, a method
//! call's parentheses hide an arrow function's `=>`. Any tree-based approximation misses some
//! of these on code it was not tuned on, so this module replays lizard's reading token by
//! token, one Rust function per Python method, and keeps its names in the comments.
//!
//! [`analyze`] reads a whole text as lizard reads a `.js` file and returns the functions lizard
//! reports, each with its complexity; [`cyclomatic`] gives the complexity of a snippet's own
//! (outermost) function.

use std::cell::RefCell;
use std::rc::Rc;

/// A function as lizard reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub start_line: usize,
    pub end_line: usize,
    pub cyclomatic_complexity: i64,
}

/// What lizard makes of one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// Functions in the order lizard lists them (a function after the functions nested in it).
    pub functions: Vec<Function>,
    /// The complexity of lizard's `*global*` pseudo function (code outside functions).
    pub global_complexity: i64,
    /// Lizard would fail on this text with a Python exception (it then reports nothing).
    pub failed: bool,
}

/// The class shell a JavaScript method is parsed in (`crate::Snippet`).
const SHELL: (&str, &str) = ("class _ {\n", "\n}\n");

/// Lizard's complexity of the snippet's own function: `text` is the snippet's parsed text (in
/// its class shell when it has one), `code` the snippet alone. The function is the outermost
/// one lizard reports (first line, then last line, then listed last); a snippet in which lizard
/// finds no function alone (an object member `key: function () {...}`) is read in the class
/// shell; code without any function gets lizard's count for code outside functions.
pub fn cyclomatic(text: &str, code: &str, wrapped: bool) -> usize {
    let analysis = analyze(text);
    let outermost = |analysis: &Analysis| {
        analysis
            .functions
            .iter()
            .enumerate()
            .filter(|(_, function)| function.name != "*global*")
            // First line, then last line, then listed last (lizard lists a function after
            // the functions nested in it).
            .max_by_key(|&(index, function)| {
                (
                    std::cmp::Reverse(function.start_line),
                    function.end_line,
                    index,
                )
            })
            .map(|(_, function)| function.cyclomatic_complexity)
    };
    let ccn = outermost(&analysis)
        .or_else(|| {
            (!wrapped)
                .then(|| outermost(&analyze(&format!("{}{code}{}", SHELL.0, SHELL.1))))
                .flatten()
        })
        .unwrap_or(analysis.global_complexity);
    usize::try_from(ccn).unwrap_or(0)
}

// ------------------------------------------------------------------ the tokenizer

/// Python's `str.isspace` for one character (`\s` of a `str` pattern).
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `\w` (a `str` pattern).
pub(super) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

pub(super) fn first(text: &str) -> Option<char> {
    text.chars().next()
}

/// Length of the run of word characters at the start of `text`.
pub(super) fn word_len(text: &str) -> usize {
    text.find(|c: char| !is_word(c)).unwrap_or(text.len())
}

/// `(?:D+')+D+` at the start of `text` (digit groups joined by apostrophes, at least two).
fn grouped_digits(text: &str, digit: fn(char) -> bool) -> Option<usize> {
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
fn quoted(text: &str, quote: char) -> Option<usize> {
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
fn line_comment(text: &str) -> usize {
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
fn generic(text: &str) -> Option<usize> {
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
fn regex_literal(text: &str, at: usize) -> Option<usize> {
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
pub(super) fn regex_token(source: &str, at: usize, end: usize) -> Option<usize> {
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

const COMBINED: &[&str] = &[
    "<<=", ">>=", "||", "&&", "===", "!==", "==", "!=", "<=", ">=", "->", "=>", "++", "--", "+=",
    "-=", "+", "-", "*", "/", "*=", "/=", "^=", "&=", "|=", "...",
];

/// The end of the token lizard's JavaScript pattern matches at `at` of `source[..end]` (the
/// alternatives in the pattern's order; the last matches any character).
fn token_end(source: &str, at: usize, end: usize) -> usize {
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
pub(super) fn block_comment(text: &str) -> Option<usize> {
    text.strip_prefix("/*")?.find("*/").map(|close| close + 4)
}

/// The length of the token the alternatives every lizard pattern ends with (`token_pattern.py`,
/// from the digit groups on) match at the start of `rest`.
pub(super) fn base_token_len(rest: &str) -> usize {
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
fn tokens_in_span(source: &str, start: usize, end: usize, out: &mut Vec<String>) {
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
fn opaque_at(source: &str, at: usize) -> Option<usize> {
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
fn search(
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
fn template_end(source: &str, start: usize) -> (usize, Option<Vec<(usize, usize)>>) {
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
fn split_template(
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
fn next_template(source: &str, from: usize) -> Option<(usize, usize, bool)> {
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

// ------------------------------------------------------------------ the function stack

pub(super) struct FunctionInfo {
    pub(super) name: String,
    pub(super) start_line: usize,
    pub(super) end_line: usize,
    pub(super) ccn: i64,
}

/// Why lizard stops reading a text.
#[derive(Debug)]
pub(super) enum Failed {
    /// A Python exception lizard does not catch (it then reports nothing for the file).
    Exception,
    /// Python's recursion limit, which lizard catches: it keeps the functions already ended.
    Recursion,
}

/// How deep machines nest (each `sub_state` one level) before Python's recursion limit (1000
/// frames) stops lizard: measured on nested parentheses, brackets, braces and blocks.
const MAX_DEPTH: usize = 330;

pub(super) type Step<T = ()> = Result<T, Failed>;

/// `FileInfoBuilder`, the context the state machines drive.
pub(super) struct Context {
    pub(super) current_line: usize,
    pub(super) newline: bool,
    pub(super) forgive: bool,
    pub(super) forgive_global: bool,
    /// Every function ever started; 0 is `*global*`.
    pub(super) functions: Vec<FunctionInfo>,
    pub(super) current: usize,
    pub(super) stacked: Vec<usize>,
    pub(super) reported: Vec<usize>,
    /// Machines handing tokens on, nested (see [`MAX_DEPTH`]).
    pub(super) depth: usize,
}

impl Context {
    pub(super) fn new() -> Self {
        Context {
            current_line: 0,
            newline: true,
            forgive: false,
            forgive_global: false,
            functions: vec![FunctionInfo {
                name: "*global*".into(),
                start_line: 0,
                end_line: 0,
                ccn: 1,
            }],
            current: 0,
            stacked: Vec::new(),
            reported: Vec::new(),
            depth: 0,
        }
    }

    pub(super) fn push_new_function(&mut self, name: &str) {
        self.stacked.push(self.current);
        self.functions.push(FunctionInfo {
            name: name.to_string(),
            start_line: self.current_line,
            end_line: self.current_line,
            ccn: 1,
        });
        self.current = self.functions.len() - 1;
    }

    pub(super) fn add_condition(&mut self, increment: i64) {
        self.functions[self.current].ccn += increment;
    }

    pub(super) fn end_of_function(&mut self) {
        if !self.forgive
            && (self.functions[self.current].name != "*global*" || !self.forgive_global)
        {
            self.reported.push(self.current);
        }
        self.forgive = false;
        self.current = self.stacked.pop().unwrap_or(0);
    }

    pub(super) fn add_nloc(&mut self, count: usize) {
        let line = self.current_line;
        self.functions[self.current].end_line = line;
        self.newline = count > 0;
    }
}

// ------------------------------------------------------------------ binding patterns

#[derive(Clone)]
struct Frame {
    closing: &'static str,
    initializing: bool,
}

/// `JavaScriptBindings`: defaults in a binding pattern, initializers left out.
#[derive(Clone)]
struct Bindings {
    frames: Vec<Frame>,
    brackets: Vec<&'static str>,
    previous: String,
    defaults: i64,
}

#[derive(Default)]
struct Event {
    ended: bool,
    in_expression: bool,
    initializer_started: bool,
    initializer_ended: bool,
}

fn closing_of(token: &str) -> Option<&'static str> {
    match token {
        "(" => Some(")"),
        "[" => Some("]"),
        "{" | "${" => Some("}"),
        _ => None,
    }
}

impl Bindings {
    fn new(closing: &'static str) -> Self {
        Bindings {
            frames: vec![Frame {
                closing,
                initializing: false,
            }],
            brackets: Vec::new(),
            previous: String::new(),
            defaults: 0,
        }
    }

    fn in_expression(&self) -> Step<bool> {
        // Python indexes `_frames[-1]`: an IndexError once the pattern has ended.
        let frame = self.frames.last().ok_or(Failed::Exception)?;
        Ok(frame.initializing || !self.brackets.is_empty())
    }

    fn at_start(&self) -> bool {
        self.previous.is_empty()
    }

    fn read_token(&mut self, token: &str) -> Event {
        let Some(frame) = self.frames.last() else {
            return Event {
                ended: true,
                ..Event::default()
            };
        };
        let closing = frame.closing;
        let frame_initializing = frame.initializing;
        let initializing = frame_initializing || !self.brackets.is_empty();
        let initializer_ended =
            initializing && self.brackets.is_empty() && (token == "," || token == closing);
        let defaults = self.defaults;
        let previous_opens = matches!(self.previous.as_str(), "" | "{" | ",");
        if !self.brackets.is_empty() {
            if let Some(close) = closing_of(token) {
                self.brackets.push(close);
            } else if Some(&token) == self.brackets.last() {
                self.brackets.pop();
            }
        } else if token == closing {
            self.frames.pop();
        } else if token == "," {
            self.frames.last_mut().expect("a frame").initializing = false;
        } else if frame_initializing
            || token == "("
            || (token == "[" && closing == "}" && previous_opens)
        {
            if let Some(close) = closing_of(token) {
                self.brackets.push(close);
            }
        } else if token == "[" || token == "{" {
            self.frames.push(Frame {
                closing: if token == "[" { "]" } else { "}" },
                initializing: false,
            });
        } else if token == "=" {
            self.defaults += 1;
            self.frames.last_mut().expect("a frame").initializing = true;
        }
        let ended = self.frames.is_empty();
        if !ended {
            self.previous = token.to_string();
        }
        Event {
            ended,
            in_expression: initializing,
            initializer_started: self.defaults != defaults,
            initializer_ended,
        }
    }
}

/// `BindingSummary`.
#[derive(Clone, Copy)]
struct Summary {
    defaults: i64,
    expression_complexity: i64,
    confirmed_defaults: i64,
}

// ------------------------------------------------------------------ the state machines

type Shared = Rc<RefCell<Machine>>;

enum Machine {
    States(Box<States>),
    Type(TypeStates),
}

impl Machine {
    fn call(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
        match self {
            Machine::States(states) => states.call(cx, token),
            Machine::Type(states) => states.call(token),
        }
    }
}

/// A state of a machine: a method of it, a closure with its captured variables, or a machine
/// it hands tokens to (`sub_state`).
#[derive(Clone)]
enum State {
    Global,
    ExpectingCondition,
    ExpectingStatement,
    Field,
    TemplateLiteral,
    Function,
    Declaration,
    ExpectingOpeningBracket,
    ArrowFunction,
    /// `_collect_computed_name`'s `collect`.
    Collect(Vec<String>),
    /// `skip_declared_function`.
    SkipDeclared,
    /// `handle_type_alias`.
    TypeAlias {
        phase: u8,
        braces: i64,
        generics: i64,
    },
    /// `skip_interface`.
    SkipInterface {
        braces: i64,
        started: bool,
    },
    /// `_consume_generic_type_params`' `consume`.
    ConsumeGeneric(i64),
    Sub(Shared),
    // TypeScriptTypeAnnotationStates
    TypeGlobal,
    TypeSimple,
    TypeInline,
    TypeGeneric,
    TypeFunction,
}

/// What to do when a machine handed tokens to returns.
enum Callback {
    /// `_expecting_condition_and_statement_block`'s `callback`.
    ExpectStatement,
    /// `_expecting_statement_or_block`'s `callback`.
    ResetToGlobal,
    PopFunction,
    /// `_read_binding_candidate`'s `complete`.
    Complete {
        candidate: Shared,
        function: usize,
        complexity: i64,
        track: bool,
        then: Then,
    },
    /// `_consume_type_annotation`'s `callback`.
    Replay(Shared),
}

/// The `callback` given to `_read_binding_candidate`.
#[derive(Clone, Copy)]
enum Then {
    /// None: the summary becomes `_pending_bindings`.
    Pending,
    /// `catch_callback`.
    Catch,
    /// `read_object`'s `callback`.
    ReadObject,
}

/// `CodeStateMachine`'s own fields.
struct Base {
    state: State,
    saved_state: State,
    callback: Option<Callback>,
    to_exit: bool,
    br_count: i64,
}

impl Base {
    fn new(state: State) -> Self {
        Base {
            saved_state: state.clone(),
            state,
            callback: None,
            to_exit: false,
            br_count: 0,
        }
    }
}

fn is_name_start(name: &str) -> bool {
    first(name).is_some_and(|c| c.is_alphabetic() || matches!(c, '_' | '$' | '#'))
}

/// `TypeScriptStates` (with its mixins): lizard's JavaScript reader.
struct States {
    base: Base,
    last_tokens: String,
    function_name: String,
    started_function: bool,
    as_object: bool,
    getter_setter_prefix: Option<String>,
    ts_declare: bool,
    static_seen: bool,
    async_seen: bool,
    prev_token: String,
    in_prop_value: bool,
    in_abstract_context: bool,
    condition_kind: String,
    ternary_depth: i64,
    binding_candidate: Option<Bindings>,
    pending_bindings: Option<Summary>,
    initializer_reader: Option<Box<States>>,
    confirmed_binding_defaults: i64,
    parameter_bindings: Option<Bindings>,
}

impl States {
    fn new() -> Self {
        States {
            base: Base::new(State::Global),
            last_tokens: String::new(),
            function_name: String::new(),
            started_function: false,
            as_object: false,
            getter_setter_prefix: None,
            ts_declare: false,
            static_seen: false,
            async_seen: false,
            prev_token: String::new(),
            in_prop_value: false,
            in_abstract_context: false,
            condition_kind: String::new(),
            ternary_depth: 0,
            binding_candidate: None,
            pending_bindings: None,
            initializer_reader: None,
            confirmed_binding_defaults: 0,
            parameter_bindings: None,
        }
    }

    fn shared(self) -> Shared {
        Rc::new(RefCell::new(Machine::States(Box::new(self))))
    }

    /// `TypeScriptStates.__call__`, then `CodeStateMachine.__call__`.
    fn call(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
        if let Some(bindings) = &mut self.binding_candidate {
            bindings.read_token(token);
        }
        if self.run_state(cx, token)? {
            self.base.state = self.base.saved_state.clone();
            if let Some(callback) = self.base.callback.take() {
                self.run_callback(cx, callback)?;
            }
        }
        Ok(self.base.to_exit)
    }

    /// `next(state, token)`.
    fn next(&mut self, cx: &mut Context, state: State, token: Option<&str>) -> Step {
        self.base.state = state;
        if let Some(token) = token {
            self.call(cx, token)?;
        }
        Ok(())
    }

    /// `sub_state(machine, callback)`.
    fn sub_state(&mut self, machine: Shared, callback: Option<Callback>) {
        self.base.saved_state = self.base.state.clone();
        self.base.callback = callback;
        self.base.state = State::Sub(machine);
    }

    fn statemachine_return(&mut self, cx: &mut Context) {
        self.base.to_exit = true;
        self.statemachine_before_return(cx);
    }

    fn statemachine_before_return(&mut self, cx: &mut Context) {
        if self.started_function {
            self.pop_function_from_stack(cx);
        }
    }

    /// `self._state(token)`: whether it returned a true value.
    fn run_state(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
        match self.base.state.clone() {
            State::Global => self.state_global(cx, token)?,
            State::ExpectingCondition => self.expecting_condition(cx, token)?,
            State::ExpectingStatement => self.expecting_statement(cx, token)?,
            State::Field => self.field(cx, token)?,
            State::TemplateLiteral => {
                if token == "`" {
                    self.next(cx, State::Global, None)?;
                }
            }
            State::Function => self.function(cx, token)?,
            State::Declaration => self.declaration(cx, token)?,
            State::ExpectingOpeningBracket => self.expecting_opening_bracket(cx, token)?,
            State::ArrowFunction => self.arrow_function(cx, token)?,
            State::Collect(mut tokens) => {
                if token == "]" {
                    let name: String = tokens
                        .concat()
                        .chars()
                        .filter(|c| !matches!(c, '\'' | '"' | '+' | ' '))
                        .collect();
                    self.last_tokens = camel_case(&name);
                    self.next(cx, State::Global, None)?;
                    return Ok(true);
                }
                tokens.push(token.to_string());
                self.base.state = State::Collect(tokens);
            }
            State::SkipDeclared => {
                if token == ";" || cx.newline {
                    self.next(cx, State::Global, None)?;
                    return Ok(true);
                }
            }
            State::TypeAlias {
                mut phase,
                mut braces,
                mut generics,
            } => {
                match phase {
                    0 => {
                        if first(token).is_some_and(char::is_alphabetic) {
                            phase = 1;
                        } else {
                            self.last_tokens = "type".into();
                            self.next(cx, State::Global, None)?;
                            self.state_global(cx, token)?;
                            return Ok(true);
                        }
                    }
                    1 => {
                        if token == "<" {
                            generics = 1;
                            phase = 3;
                        } else if token == "=" {
                            phase = 2;
                        } else if token == ";" {
                            self.next(cx, State::Global, None)?;
                            return Ok(true);
                        }
                    }
                    2 => {
                        if token == "{" {
                            braces = 1;
                            phase = 4;
                        } else if token == ";" || cx.newline {
                            self.next(cx, State::Global, None)?;
                            if token != ";" {
                                self.state_global(cx, token)?;
                            }
                            return Ok(true);
                        }
                    }
                    3 => {
                        if token == "<" {
                            generics += 1;
                        } else if token == ">" {
                            generics -= 1;
                            if generics == 0 {
                                phase = 1;
                            }
                        }
                    }
                    _ => {
                        if token == "{" {
                            braces += 1;
                        } else if token == "}" {
                            braces -= 1;
                            if braces == 0 {
                                self.next(cx, State::Global, None)?;
                                return Ok(true);
                            }
                        }
                    }
                }
                self.base.state = State::TypeAlias {
                    phase,
                    braces,
                    generics,
                };
            }
            State::SkipInterface {
                mut braces,
                mut started,
            } => {
                if token == "{" {
                    started = true;
                    braces += 1;
                } else if token == "}" && started {
                    braces -= 1;
                    if braces == 0 {
                        self.next(cx, State::Global, None)?;
                        return Ok(true);
                    }
                }
                self.base.state = State::SkipInterface { braces, started };
            }
            State::ConsumeGeneric(mut depth) => {
                if token == "<" {
                    depth += 1;
                } else if token == ">" {
                    depth -= 1;
                    if depth == 0 {
                        self.next(cx, State::Global, None)?;
                        return Ok(false);
                    }
                }
                self.base.state = State::ConsumeGeneric(depth);
            }
            State::Sub(machine) => {
                if cx.depth + 1 >= MAX_DEPTH {
                    return Err(Failed::Recursion);
                }
                cx.depth += 1;
                let result = machine.borrow_mut().call(cx, token);
                cx.depth -= 1;
                return result;
            }
            State::TypeGlobal
            | State::TypeSimple
            | State::TypeInline
            | State::TypeGeneric
            | State::TypeFunction => unreachable!("a type annotation state in the reader"),
        }
        Ok(false)
    }

    fn run_callback(&mut self, cx: &mut Context, callback: Callback) -> Step {
        match callback {
            Callback::ExpectStatement => self.next(cx, State::ExpectingStatement, None),
            Callback::ResetToGlobal => {
                self.prev_token.clear();
                self.next(cx, State::Global, None)
            }
            Callback::PopFunction => {
                self.pop_function_from_stack(cx);
                Ok(())
            }
            Callback::Complete {
                candidate,
                function,
                complexity,
                track,
                then,
            } => {
                let summary = {
                    let candidate = candidate.borrow();
                    let Machine::States(candidate) = &*candidate else {
                        unreachable!("a binding candidate is a reader")
                    };
                    Summary {
                        defaults: candidate
                            .binding_candidate
                            .as_ref()
                            .map_or(0, |bindings| bindings.defaults),
                        expression_complexity: if track {
                            cx.functions[function].ccn - complexity
                        } else {
                            0
                        },
                        confirmed_defaults: if track {
                            candidate.confirmed_binding_defaults
                        } else {
                            0
                        },
                    }
                };
                match then {
                    Then::Pending => {
                        self.pending_bindings = Some(summary);
                        Ok(())
                    }
                    Then::Catch => {
                        cx.add_condition(summary.defaults);
                        self.next(cx, State::ExpectingStatement, None)
                    }
                    Then::ReadObject => {
                        self.pending_bindings = Some(summary);
                        self.next(cx, State::Global, None)
                    }
                }
            }
            Callback::Replay(machine) => {
                let saved = match &*machine.borrow() {
                    Machine::Type(states) => states.saved_token.clone(),
                    Machine::States(_) => None,
                };
                match saved {
                    Some(token) if !token.is_empty() => self.call(cx, &token).map(|_| ()),
                    _ => Ok(()),
                }
            }
        }
    }

    // -------------------------------------------------------------- typescript_states.py

    fn state_global(&mut self, cx: &mut Context, token: &str) -> Step {
        self.resolve_pending_bindings(cx, token);
        if self.handle_type_declaration(token) {
            return Ok(());
        }
        if matches!(token, "static" | "async" | "new") {
            match token {
                "static" => self.static_seen = true,
                "async" => self.async_seen = true,
                _ => {}
            }
            self.prev_token = token.to_string();
            return Ok(());
        }
        if token == "?" {
            self.ternary_depth += 1;
        } else if token == ":" && self.ternary_depth != 0 {
            self.ternary_depth -= 1;
            self.last_tokens = token.to_string();
            self.prev_token = token.to_string();
            return Ok(());
        }
        if self.handle_object_member(cx, token)? {
            return Ok(());
        }
        if token == "." || token == "?." {
            self.base.state = State::Field;
            self.last_tokens.push_str(token);
            self.prev_token = ".".into();
            return Ok(());
        }
        if token == "function" {
            if self.started_function && !self.as_object {
                self.pop_function_from_stack(cx);
            }
            self.base.state = State::Function;
        } else if matches!(token, "if" | "switch" | "for" | "while" | "catch") {
            self.condition_kind = token.to_string();
            self.next(cx, State::ExpectingCondition, None)?;
        } else if matches!(token, "else" | "do" | "try" | "final") {
            self.next(cx, State::ExpectingStatement, None)?;
        } else if token == "=>" {
            self.base.state = State::ArrowFunction;
        } else if token == "=" {
            if is_name_start(&self.last_tokens) {
                self.function_name = self.last_tokens.clone();
            }
        } else if token == "(" {
            if self.prev_token == "." || self.prev_token == "new" {
                self.sub_state(States::new().shared(), None);
            } else if match &self.binding_candidate {
                Some(bindings) => bindings.in_expression()?,
                None => false,
            } {
                self.read_binding_candidate(cx, ")", Then::Pending, false, true);
            } else if !self.function_name.is_empty() {
                if self.last_tokens != self.function_name
                    && !matches!(self.prev_token.as_str(), "=" | "async" | ">")
                {
                    self.function_name.clear();
                    self.sub_state(States::new().shared(), None);
                } else {
                    if !self.started_function {
                        let name = self.function_name.clone();
                        self.function(cx, &name)?;
                    }
                    self.next(cx, State::Function, Some(token))?;
                }
            } else {
                self.read_binding_candidate(cx, ")", Then::Pending, false, true);
            }
        } else if token == "[" && !matches!(self.prev_token.as_str(), "." | ")" | "]" | "}") {
            let previous = self.prev_token.as_str();
            let operand =
                first(previous).is_some_and(|c| c.is_alphanumeric() || "_$#'\"`".contains(c));
            if !operand
                || matches!(
                    previous,
                    "const" | "let" | "var" | "return" | "throw" | "yield" | "await"
                )
            {
                self.read_binding_candidate(cx, "]", Then::Pending, false, true);
            }
        } else if token == "{" {
            if self.started_function {
                self.sub_state(States::new().shared(), Some(Callback::PopFunction));
            } else {
                self.read_object(cx);
            }
        } else if token == "}" || token == ")" || (token == "]" && self.binding_candidate.is_some())
        {
            self.statemachine_return(cx);
        } else if cx.newline || token == ";" {
            self.function_name.clear();
            self.pop_function_from_stack(cx);
            self.static_seen = false;
            self.async_seen = false;
            self.in_abstract_context = false;
            self.in_prop_value = false;
            self.prev_token.clear();
        }

        if token == "`" {
            self.next(cx, State::TemplateLiteral, None)?;
        }
        if !self.as_object && token == ":" {
            self.consume_type_annotation();
            self.prev_token = token.to_string();
            return Ok(());
        }
        if self.as_object && token == "," {
            self.in_prop_value = false;
        }
        self.last_tokens = token.to_string();
        if self.prev_token != "new" && self.prev_token != "." {
            self.prev_token = token.to_string();
        }
        Ok(())
    }

    fn expecting_condition(&mut self, cx: &mut Context, token: &str) -> Step {
        if token == "await" {
            return Ok(());
        }
        if token != "(" {
            return self.next(cx, State::Global, Some(token));
        }
        if self.condition_kind == "catch" {
            self.read_binding_candidate(cx, ")", Then::Catch, false, false);
            return Ok(());
        }
        self.sub_state(States::new().shared(), Some(Callback::ExpectStatement));
        Ok(())
    }

    fn expecting_statement(&mut self, cx: &mut Context, token: &str) -> Step {
        if token == "{" {
            self.sub_state(States::new().shared(), Some(Callback::ResetToGlobal));
            Ok(())
        } else {
            self.next(cx, State::Global, Some(token))
        }
    }

    fn field(&mut self, cx: &mut Context, token: &str) -> Step {
        if token == "(" || token == "[" {
            self.function_name.clear();
            self.prev_token = ".".into();
            return self.next(cx, State::Global, Some(token));
        }
        self.last_tokens.push_str(token);
        self.base.state = State::Global;
        Ok(())
    }

    // -------------------------------------------------------------- javascript_bindings.py

    fn resolve_pending_bindings(&mut self, cx: &mut Context, token: &str) {
        let Some(pending) = self.pending_bindings.take() else {
            return;
        };
        if matches!(token, "=" | "of" | "in") {
            if self.binding_candidate.is_some() {
                self.confirmed_binding_defaults += pending.defaults;
            } else {
                cx.add_condition(pending.defaults);
            }
        } else if token == "=>" {
            self.pending_bindings = Some(pending);
        } else {
            cx.add_condition(pending.confirmed_defaults);
        }
    }

    fn read_binding_candidate(
        &mut self,
        cx: &Context,
        closing: &'static str,
        then: Then,
        as_object: bool,
        track: bool,
    ) -> Shared {
        let mut candidate = States::new();
        candidate.as_object = as_object;
        candidate.binding_candidate = Some(Bindings::new(closing));
        let candidate = candidate.shared();
        let function = cx.current;
        self.sub_state(
            candidate.clone(),
            Some(Callback::Complete {
                candidate: candidate.clone(),
                function,
                complexity: cx.functions[function].ccn,
                track,
                then,
            }),
        );
        candidate
    }

    fn push_arrow_function(&mut self, cx: &mut Context) {
        let pending = self.pending_bindings.take();
        if self.started_function {
            return;
        }
        if let Some(pending) = pending {
            cx.add_condition(-pending.expression_complexity);
        }
        self.push_function_to_stack(cx);
        if let Some(pending) = pending {
            cx.add_condition(pending.defaults + pending.expression_complexity);
        }
    }

    fn read_parameter_binding(&mut self, cx: &mut Context, token: &str) -> Step<Event> {
        let event = self
            .parameter_bindings
            .as_mut()
            .ok_or(Failed::Exception)?
            .read_token(token);
        if event.initializer_started {
            cx.add_condition(1);
            self.initializer_reader = Some(Box::new(States::new()));
        } else if event.in_expression {
            if event.initializer_ended {
                // Python calls a method on `None` when there is no reader: AttributeError.
                let mut reader = self.initializer_reader.take().ok_or(Failed::Exception)?;
                reader.statemachine_before_return(cx);
            } else if let Some(reader) = &mut self.initializer_reader {
                reader.call(cx, token)?;
            }
        }
        Ok(event)
    }

    // -------------------------------------------------------------- javascript_functions.py

    fn push_function_to_stack(&mut self, cx: &mut Context) {
        if self.in_abstract_context {
            return;
        }
        self.started_function = true;
        let name = if self.function_name.is_empty() {
            "(anonymous)"
        } else {
            &self.function_name
        };
        cx.push_new_function(name);
    }

    fn pop_function_from_stack(&mut self, cx: &mut Context) {
        if self.started_function {
            cx.end_of_function();
        }
        self.started_function = false;
        self.in_prop_value = false;
    }

    fn abandon_function(&mut self, cx: &mut Context) {
        cx.forgive = true;
        cx.end_of_function();
        self.started_function = false;
    }

    fn arrow_function(&mut self, cx: &mut Context, token: &str) -> Step {
        self.push_arrow_function(cx);
        self.function_name.clear();
        self.async_seen = false;
        self.static_seen = false;
        self.next(cx, State::Global, Some(token))
    }

    /// `_function` (also called directly with a name).
    fn function(&mut self, cx: &mut Context, token: &str) -> Step {
        if token == "*" {
            return Ok(());
        }
        if token == "<" {
            self.base.state = State::ConsumeGeneric(1);
            return Ok(());
        }
        if token.len() > 1 && token.starts_with('<') && token.ends_with('>') {
            return Ok(());
        }
        if token != "(" {
            self.function_name = if is_name_start(token) {
                token.to_string()
            } else {
                String::new()
            };
            self.static_seen = false;
            self.async_seen = false;
        } else {
            if !self.started_function {
                self.push_function_to_stack(cx);
            }
            self.parameter_bindings = Some(Bindings::new(")"));
            self.base.state = State::Declaration;
        }
        Ok(())
    }

    /// `_dec`: the parameters (only what changes complexity or structure).
    fn declaration(&mut self, cx: &mut Context, token: &str) -> Step {
        let (at_start, defaults) = match &self.parameter_bindings {
            Some(bindings) => (bindings.at_start(), bindings.defaults),
            None => return Err(Failed::Exception),
        };
        if token == "(" && at_start {
            self.abandon_function(cx);
            self.next(cx, State::Global, None)?;
            self.read_binding_candidate(cx, ")", Then::Pending, false, true);
            return Ok(());
        }
        if token == "function" && defaults == 0 {
            self.abandon_function(cx);
            return self.next(cx, State::Global, Some(token));
        }
        let event = self.read_parameter_binding(cx, token)?;
        if event.ended {
            self.base.state = State::ExpectingOpeningBracket;
        }
        Ok(())
    }

    fn expecting_opening_bracket(&mut self, cx: &mut Context, token: &str) -> Step {
        if token == ":" {
            self.next(cx, State::Global, None)?;
            self.consume_type_annotation();
            return Ok(());
        } else if token == ";" && self.as_object && self.in_abstract_context {
            if self.started_function {
                self.pop_function_from_stack(cx);
            }
            self.in_abstract_context = false;
            self.next(cx, State::Global, None)?;
        } else if token != "{" && token != "=>" && self.started_function {
            self.abandon_function(cx);
        }
        self.next(cx, State::Global, Some(token))
    }

    // -------------------------------------------------------------- javascript_objects.py

    fn handle_object_member(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
        if !self.as_object {
            return Ok(false);
        }
        if token == "get" || token == "set" {
            self.getter_setter_prefix = Some(token.to_string());
            return Ok(true);
        }
        if let Some(prefix) = self.getter_setter_prefix.take() {
            self.last_tokens = format!("{prefix} {token}");
            return Ok(true);
        }
        if token == "[" {
            self.base.state = State::Collect(Vec::new());
            return Ok(true);
        }
        if token == ":" {
            if is_name_start(&self.last_tokens) {
                self.function_name = self.last_tokens.clone();
            }
            self.in_prop_value = true;
            return Ok(true);
        } else if token == "<"
            || (token.len() > 1 && token.starts_with('<') && token.ends_with('>'))
        {
            if token == "<" {
                self.base.state = State::ConsumeGeneric(1);
            }
            return Ok(true);
        } else if token == "(" {
            if self.prev_token == "." || self.prev_token == "new" {
                self.sub_state(States::new().shared(), None);
                self.prev_token = token.to_string();
                return Ok(true);
            }
            if self.in_prop_value
                && (self.function_name.is_empty() || self.last_tokens != self.function_name)
            {
                self.sub_state(States::new().shared(), None);
                self.prev_token = token.to_string();
                return Ok(true);
            }
            if !self.started_function {
                let name = if self.last_tokens == "=" && !self.function_name.is_empty() {
                    self.function_name.clone()
                } else {
                    self.last_tokens.clone()
                };
                self.function(cx, &name)?;
            }
            self.next(cx, State::Function, Some(token))?;
            return Ok(true);
        } else if (self.async_seen || self.static_seen) && !matches!(token, "*" | "function" | "=>")
        {
            if token == "=" {
                self.static_seen = false;
                self.async_seen = false;
            } else {
                self.last_tokens = token.to_string();
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn read_object(&mut self, cx: &Context) {
        let object = self.read_binding_candidate(cx, "}", Then::ReadObject, true, false);
        if let Machine::States(object) = &mut *object.borrow_mut() {
            object.static_seen = self.static_seen;
            object.async_seen = self.async_seen;
        }
        self.static_seen = false;
        self.async_seen = false;
    }

    // -------------------------------------------------------------- typescript_declarations.py

    fn handle_type_declaration(&mut self, token: &str) -> bool {
        if token == "declare" {
            self.ts_declare = true;
            return true;
        }
        if token == "function" && self.ts_declare {
            self.ts_declare = false;
            self.base.state = State::SkipDeclared;
            return true;
        }
        self.ts_declare = false;
        if token == "type" && !self.as_object {
            self.base.state = State::TypeAlias {
                phase: 0,
                braces: 0,
                generics: 0,
            };
            return true;
        }
        if token == "interface" {
            self.base.state = State::SkipInterface {
                braces: 0,
                started: false,
            };
            return true;
        }
        if token == "abstract" && self.as_object {
            self.in_abstract_context = true;
            return true;
        }
        false
    }

    fn consume_type_annotation(&mut self) {
        let machine = Rc::new(RefCell::new(Machine::Type(TypeStates::new())));
        self.sub_state(machine.clone(), Some(Callback::Replay(machine)));
    }
}

/// `_to_camel_case`.
fn camel_case(name: &str) -> String {
    let parts: Vec<&str> = name.split_whitespace().collect();
    let Some((head, tail)) = parts.split_first() else {
        return name.to_string();
    };
    let mut out = String::new();
    let mut chars = head.chars();
    if let Some(c) = chars.next() {
        out.extend(c.to_lowercase());
        out.push_str(chars.as_str());
    }
    for part in tail {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    out
}

/// `TypeScriptTypeAnnotationStates`: a type after `:`, up to the token that ends it.
struct TypeStates {
    base: Base,
    saved_token: Option<String>,
}

impl TypeStates {
    fn new() -> Self {
        TypeStates {
            base: Base::new(State::TypeGlobal),
            saved_token: None,
        }
    }

    fn call(&mut self, token: &str) -> Step<bool> {
        // Its states never return true and it starts no machine of its own.
        self.run_state(token);
        Ok(self.base.to_exit)
    }

    fn next(&mut self, state: State, token: &str) {
        self.base.state = state;
        self.call(token).expect("type annotations do not fail");
    }

    fn brackets(&mut self, token: &str, open: &str, close: &str) {
        if token == open {
            self.base.br_count += 1;
        } else if token == close {
            self.base.br_count -= 1;
        }
        if self.base.br_count == 0 {
            self.base.to_exit = true;
        }
    }

    fn run_state(&mut self, token: &str) {
        match self.base.state {
            State::TypeGlobal => {
                if token == "{" {
                    self.next(State::TypeInline, token);
                } else {
                    self.next(State::TypeSimple, token);
                }
            }
            State::TypeSimple => {
                if token == "<" {
                    self.next(State::TypeGeneric, token);
                } else if "{=;)".contains(token) || token == "=>" {
                    self.saved_token = Some(token.to_string());
                    self.base.to_exit = true;
                } else if token == "(" {
                    self.next(State::TypeFunction, token);
                }
            }
            State::TypeInline => self.brackets(token, "{", "}"),
            State::TypeGeneric => self.brackets(token, "<", ">"),
            State::TypeFunction => self.brackets(token, "(", ")"),
            _ => unreachable!("a reader state in a type annotation"),
        }
    }
}

// ------------------------------------------------------------------ the pipeline

/// How many lines Python's `str.splitlines` finds in `text`.
pub(super) fn splitlines_count(text: &str) -> usize {
    let mut lines = 0;
    let mut chars = text.chars().peekable();
    let mut open = false;
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines += 1;
                open = false;
            }
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => {
                lines += 1;
                open = false;
            }
            _ => open = true,
        }
    }
    lines + usize::from(open)
}

/// Reads `source` as lizard 1.24.3 reads a `.js` file (default extensions).
pub fn analyze(source: &str) -> Analysis {
    let mut cx = Context::new();
    let mut reader = States::new();
    let failed = matches!(read(&mut cx, &mut reader, source), Err(Failed::Exception));
    let functions = if failed {
        Vec::new()
    } else {
        cx.reported
            .iter()
            .map(|&index| {
                let function = &cx.functions[index];
                Function {
                    name: function.name.clone(),
                    start_line: function.start_line,
                    end_line: function.end_line,
                    cyclomatic_complexity: function.ccn,
                }
            })
            .collect()
    };
    Analysis {
        functions,
        global_complexity: cx.functions[0].ccn,
        failed,
    }
}

/// Lizard's decision tokens for JavaScript (`TypeScriptReader`'s condition sets).
fn is_condition(token: &str) -> bool {
    matches!(
        token,
        "if" | "elseif" | "for" | "while" | "catch" | "&&" | "||" | "??" | "case" | "?"
    )
}

/// `preprocessing`, `comment_counter`, `line_counter`, `condition_counter` and the reader.
fn read(cx: &mut Context, reader: &mut States, source: &str) -> Step {
    cx.current_line = 1;
    let mut newline = 1;
    for token in tokens(source) {
        if token != "\n" && !token.is_empty() && token.chars().all(is_space) {
            continue;
        }
        let newlines = if let Some(comment) = token
            .strip_prefix("/*")
            .or_else(|| token.strip_prefix("//"))
        {
            let stripped = comment.trim_matches(is_space);
            if stripped.starts_with("#lizard forgive global") {
                cx.forgive_global = true;
            } else if stripped.starts_with("#lizard forgives(") {
                // Forgives metrics by name: nothing lizard reports changes.
            } else if stripped.starts_with("#lizard forgive") {
                cx.forgive = true;
            }
            if comment.contains("GENERATED CODE") {
                break;
            }
            splitlines_count(comment).saturating_sub(1)
        } else if token == "\n" {
            1
        } else {
            let count = token.matches('\n').count();
            cx.current_line += count;
            cx.add_nloc(count + newline);
            newline = 0;
            if is_condition(&token) {
                cx.add_condition(1);
            }
            reader.call(cx, &token)?;
            continue;
        };
        cx.current_line += newlines;
        if newlines > 0 {
            newline = 1;
        }
    }
    reader.statemachine_before_return(cx);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_like_lizard() {
        assert_eq!(
            tokens("a = b? c : d ?? /x[/]/g.test(`t${a ? 1 : 2}u`)"),
            [
                "a",
                " ",
                "=",
                " ",
                "b?",
                " ",
                "c",
                " ",
                ":",
                " ",
                "d",
                " ",
                "??",
                " ",
                "/x[/]/g",
                ".",
                "test",
                "(",
                "`",
                "`t`",
                "${",
                "a ? 1 : 2",
                "}",
                "`u`",
                "`",
                ")"
            ]
        );
    }

    #[test]
    fn functions_and_their_complexity() {
        let analysis =
            analyze("function f(a) {\n  if (a && b) {}\n  g(function () { if (c) {} });\n}\n");
        let found: Vec<(&str, usize, i64)> = analysis
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.start_line, f.cyclomatic_complexity))
            .collect();
        assert_eq!(found, [("(anonymous)", 3, 2), ("f", 1, 3)]);
    }

    #[test]
    fn deep_nesting_stops_at_pythons_recursion_limit() {
        // Lizard 1.24.3 keeps g and then hits the recursion limit; it reports nothing more.
        let nested = |n: usize| {
            format!(
                "function g() {{ if (c) {{}} }}\nx = {}a{};\nfunction h() {{}}\n",
                "(".repeat(n),
                ")".repeat(n)
            )
        };
        let names = |analysis: Analysis| -> Vec<String> {
            analysis.functions.into_iter().map(|f| f.name).collect()
        };
        assert_eq!(names(analyze(&nested(300))), ["g", "h"]);
        assert_eq!(names(analyze(&nested(5000))), ["g"]);
        let blocks = format!("function f(a) {{\n{}\n}}\n", "if (a) {".repeat(5000));
        assert!(!analyze(&blocks).failed);
    }
}
