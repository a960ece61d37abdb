//! Lizard 1.24.3's Ruby reader, ported to Rust like [`super::lizard_js`]: its tokenizer
//! (`lizard_languages/ruby.py`, with string interpolation read by restarting the tokenizer, and
//! `script_language.py`), the shared token pipeline and `RubylikeStateMachine`
//! (`rubylike.py`), which matches `end`s with a stack of its own.
//!
//! Lizard does not know heredocs (their text is read as code), splits some regular expressions,
//! and ends a function at the `end` its own matching pairs with `def` (`case`, `until` and
//! `x = if` push nothing); reading the tokens as lizard does gives all of that.

use std::cell::RefCell;
use std::rc::Rc;

use super::lizard_js::{
    Context, Failed, Step, base_token_len, block_comment, first, is_space, regex_token,
    splitlines_count, word_len,
};

/// How deep machines nest before Python's recursion limit stops lizard (measured on nested
/// braces, `begin`, `if` and `def` blocks and interpolations).
const MAX_DEPTH: usize = 496;

/// Lizard's complexity of a Ruby snippet's function: the first function lizard starts in it
/// (the snippet's `def`), ended or not (lizard's `end` matching may not end it inside the
/// snippet; in its file a later `end` does), else lizard's count for code outside functions.
pub fn cyclomatic(code: &str) -> usize {
    let cx = read_all(code);
    let ccn = cx
        .functions
        .get(1)
        .map_or(cx.functions[0].ccn, |function| function.ccn);
    usize::try_from(ccn).unwrap_or(0)
}

/// The functions lizard reports for a whole Ruby file: (name, first line, last line,
/// complexity); `None` when lizard fails on it.
pub fn functions(source: &str) -> Option<Vec<(String, usize, usize, i64)>> {
    let mut cx = Context::new();
    let mut reader = Machine::new();
    if let Err(Failed::Exception) = read(&mut cx, &mut reader, source) {
        return None;
    }
    Some(
        cx.reported
            .iter()
            .map(|&index| {
                let f = &cx.functions[index];
                (f.name.clone(), f.start_line, f.end_line, f.ccn)
            })
            .collect(),
    )
}

fn read_all(source: &str) -> Context {
    let mut cx = Context::new();
    let mut reader = Machine::new();
    // Lizard keeps what it read before a failure; the snippet's function is read from the start.
    let _ = read(&mut cx, &mut reader, source);
    cx
}

// ------------------------------------------------------------------ the tokenizer

/// A percent literal `%[qQrwiI]?O...C` at the start of `text` (no nesting; for `(` the body
/// may not hold `>`, as lizard's pattern says).
fn percent_literal(text: &str) -> Option<usize> {
    let mut at = 1;
    let after = text.strip_prefix('%')?;
    let after = match first(after) {
        Some('q' | 'Q' | 'r' | 'w' | 'i' | 'I')
            if matches!(first(&after[1..]), Some('{' | '[' | '<' | '(')) =>
        {
            at += 1;
            &after[1..]
        }
        _ => after,
    };
    let (close, forbidden) = match first(after)? {
        '{' => ('}', '}'),
        '[' => (']', ']'),
        '<' => ('>', '>'),
        '(' => (')', '>'),
        _ => return None,
    };
    at += 1;
    let mut chars = text[at..].char_indices();
    while let Some((offset, c)) = chars.next() {
        if c == close {
            return Some(at + offset + 1);
        }
        if c == '\\' {
            chars.next()?;
        } else if c == forbidden {
            return None;
        }
    }
    None
}

/// The end of the token lizard's Ruby pattern matches at `at` of `source[..end]`.
fn token_end(source: &str, at: usize, end: usize) -> usize {
    let rest = &source[..end][at..];
    if let Some(len) = block_comment(rest) {
        return at + len;
    }
    if rest.starts_with('#') {
        return at + rest.find('\n').unwrap_or(rest.len());
    }
    let line_start = at == 0 || source[..at].ends_with('\n');
    if line_start && rest.starts_with("=begin") {
        return at + 6;
    }
    if line_start && rest.starts_with("=end") {
        return at + 4;
    }
    if let Some(len) = percent_literal(rest) {
        return at + len;
    }
    let word = word_len(rest);
    if word > 0 && rest[word..].starts_with(':') {
        return at + word + 1;
    }
    if let Some(name) = rest.strip_prefix('$') {
        let word = word_len(name);
        if word > 0 {
            return at + 1 + word;
        }
    }
    if rest.starts_with('.') {
        return at + rest.find(|c: char| c != '.').unwrap_or(rest.len());
    }
    // `:?\@{0,2}\w+\??\!?`
    let mut i = usize::from(rest.starts_with(':'));
    let ats = rest[i..].chars().take(2).take_while(|&c| c == '@').count();
    i += ats;
    let name = word_len(&rest[i..]);
    if name > 0 {
        i += name;
        if rest[i..].starts_with('?') {
            i += 1;
        }
        if rest[i..].starts_with('!') {
            i += 1;
        }
        return at + i;
    }
    if let Some(regex_end) = regex_token(source, at, end) {
        return regex_end;
    }
    at + base_token_len(rest)
}

/// `tokens_in_span` over the whole `source`, with each token's start.
fn tokens_in(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut macro_text: Option<(usize, String)> = None;
    let mut at = 0;
    while at < source.len() {
        let next = token_end(source, at, source.len());
        let token = &source[at..next];
        if let Some((_, text)) = &mut macro_text {
            if token.contains("\\\n") || !token.contains('\n') {
                text.push_str(token);
            } else {
                out.push(macro_text.take().expect("a macro"));
                out.push((at, token.to_string()));
            }
        } else if token == "#" {
            macro_text = Some((at, token.to_string()));
        } else {
            out.push((at, token.to_string()));
        }
        at = next;
    }
    out.extend(macro_text);
    out
}

/// `RubyReader.generate_tokens`: `"...#{` yields the string's start and `${`, and tokenizing
/// restarts inside the interpolation; its `}` restarts it on `"` + the rest of the string.
/// Whitespace before a regex literal is split off (`js_style_regex_expression`).
pub fn tokens(source: &str) -> Vec<String> {
    let mut raw = Vec::new();
    let mut brackets: Vec<bool> = Vec::new(); // true: `#{`
    let mut text = source.to_string();
    'restart: loop {
        for (begin, token) in tokens_in(&text) {
            if token == "{" {
                brackets.push(false);
            } else if token == "}" {
                if brackets.pop() == Some(true) {
                    let rest = format!("\"{}", &text[begin + 1..]);
                    raw.push(token);
                    text = rest;
                    continue 'restart;
                }
            } else if token.starts_with('"')
                && let Some(at) = token.find("#{")
            {
                raw.push(format!("{}\"", &token[..at]));
                raw.push("${".to_string());
                brackets.push(true);
                text = text[begin + at + 2..].to_string();
                continue 'restart;
            }
            raw.push(token);
        }
        break;
    }
    let mut tokens = Vec::with_capacity(raw.len());
    for token in raw {
        let stripped = token.trim_start_matches(is_space);
        if stripped.starts_with('/') && !token.starts_with('/') {
            let mut rest = &token[..token.len() - stripped.len()];
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

// ------------------------------------------------------------------ the state machine

#[derive(Clone)]
enum State {
    Global,
    Def,
    It,
    DefContinue,
    DefClassMethod,
    DefParameters,
    If,
    ForWhile,
    /// `state_embedded_doc`: skips to `=end`.
    EmbeddedDoc,
    Sub(Rc<RefCell<Machine>>),
}

/// `RubylikeStateMachine`.
struct Machine {
    state: State,
    saved_state: State,
    /// The only callback: `_def_continue`'s, which ends the function.
    callback: bool,
    last_token: Option<String>,
    to_exit: bool,
}

impl Machine {
    fn new() -> Self {
        Machine {
            state: State::Global,
            saved_state: State::Global,
            callback: false,
            last_token: None,
            to_exit: false,
        }
    }

    fn call(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
        if self.run_state(cx, token)? {
            self.state = self.saved_state.clone();
            if std::mem::take(&mut self.callback) {
                cx.end_of_function();
                self.state = State::Global;
            }
        }
        self.last_token = Some(token.to_string());
        Ok(self.to_exit)
    }

    fn next(&mut self, cx: &mut Context, state: State, token: Option<&str>) -> Step {
        self.state = state;
        if let Some(token) = token {
            self.call(cx, token)?;
        }
        Ok(())
    }

    fn sub_state(&mut self, cx: &mut Context, callback: bool, token: Option<&str>) -> Step {
        self.saved_state = self.state.clone();
        self.callback = callback;
        self.next(cx, State::Sub(Rc::new(RefCell::new(Machine::new()))), token)
    }

    fn is_newline(&self, cx: &Context) -> bool {
        cx.newline || self.last_token.as_deref() == Some(";")
    }

    fn run_state(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
        match self.state.clone() {
            State::Global => {
                let after_dot = self.last_token.as_deref() == Some(".");
                match token {
                    "end" | "}" => self.to_exit = true,
                    "def" => self.state = State::Def,
                    "it" => self.state = State::It,
                    "begin" | "do" | "class" | "module" | "{" | "${" if !after_dot => {
                        self.sub_state(cx, false, None)?
                    }
                    "while" | "for" if self.is_newline(cx) => self.state = State::ForWhile,
                    "if" | "unless" => {
                        if self.is_newline(cx) {
                            self.sub_state(cx, false, None)?;
                        } else {
                            self.state = State::If;
                        }
                    }
                    "=begin" => {
                        self.saved_state = self.state.clone();
                        self.callback = false;
                        self.state = State::EmbeddedDoc;
                    }
                    _ => {}
                }
            }
            State::Def => {
                if token == "(" {
                    cx.push_new_function("(anonymous)");
                    self.state = State::DefParameters;
                } else {
                    cx.push_new_function(token);
                    self.state = State::DefContinue;
                }
            }
            State::It => {
                if token == "do" || token == "{" {
                    cx.push_new_function(self.last_token.as_deref().unwrap_or(""));
                    self.state = State::DefContinue;
                }
            }
            State::DefContinue => {
                if token == "." {
                    add_to_function_name(cx, token);
                    self.state = State::DefClassMethod;
                } else if token == "(" {
                    self.state = State::DefParameters;
                } else {
                    // Python hands the token on through `sub_state`, `next` and `__call__`:
                    // three more frames towards the recursion limit while it does.
                    cx.depth += 3;
                    let handed = self.sub_state(cx, true, Some(token));
                    cx.depth -= 3;
                    handed?;
                }
            }
            State::DefClassMethod => {
                add_to_function_name(cx, token);
                self.state = State::DefContinue;
            }
            State::DefParameters => {
                if token == ")" {
                    self.state = State::DefContinue;
                }
            }
            State::If => {
                if self.is_newline(cx) {
                    self.next(cx, State::Global, Some(token))?;
                } else if token == "then" {
                    self.state = State::Global;
                    self.sub_state(cx, false, None)?;
                }
            }
            State::ForWhile => {
                if self.is_newline(cx) || token == "do" {
                    self.state = State::Global;
                    if token != "end" {
                        self.sub_state(cx, false, None)?;
                    }
                }
            }
            State::EmbeddedDoc => return Ok(token == "=end"),
            State::Sub(machine) => {
                if cx.depth + 1 >= MAX_DEPTH {
                    return Err(Failed::Recursion);
                }
                cx.depth += 1;
                let result = machine.borrow_mut().call(cx, token);
                cx.depth -= 1;
                return result;
            }
        }
        Ok(false)
    }
}

fn add_to_function_name(cx: &mut Context, text: &str) {
    let current = cx.current;
    cx.functions[current].name.push_str(text);
}

// ------------------------------------------------------------------ the pipeline

/// Lizard's decision tokens for Ruby (`RubylikeReader`'s condition sets).
fn is_condition(token: &str) -> bool {
    matches!(
        token,
        "if" | "elsif"
            | "elseif"
            | "until"
            | "for"
            | "while"
            | "rescue"
            | "ensure"
            | "when"
            | "and"
            | "or"
            | "||"
            | "&&"
            | "?"
    )
}

/// `ScriptLanguageMixIn.get_comment_from_token`.
fn comment_of(token: &str) -> Option<String> {
    if !token.starts_with('#') {
        return None;
    }
    let stripped = token.trim_start_matches('#').trim_matches(is_space);
    Some(
        if stripped.starts_with("lizard forgive global")
            || stripped.starts_with("#lizard forgive global")
        {
            "#lizard forgive global".to_string()
        } else if stripped.starts_with("lizard forgive") || stripped.starts_with("#lizard forgive")
        {
            "#lizard forgive".to_string()
        } else {
            stripped.to_string()
        },
    )
}

/// `preprocessing`, `comment_counter`, `line_counter`, `condition_counter` and the reader.
fn read(cx: &mut Context, reader: &mut Machine, source: &str) -> Step {
    cx.current_line = 1;
    let mut newline = 1;
    for token in tokens(source) {
        if token != "\n" && !token.is_empty() && token.chars().all(is_space) {
            continue;
        }
        let newlines = if let Some(comment) = comment_of(&token) {
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
            splitlines_count(&comment).saturating_sub(1)
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_like_lizard() {
        assert_eq!(
            tokens("x = \"a #{b ? 1 : 2} c\" + %w(d e) if f?\n"),
            [
                "x", " ", "=", " ", "\"a \"", "${", "b", " ", "?", " ", "1", " ", ":", " ", "2",
                "}", "\" c\"", " ", "+", " ", "%w(d e)", " ", "if", " ", "f?", "\n"
            ]
        );
    }

    #[test]
    fn functions_end_where_lizards_end_matching_says() {
        // `case` pushes nothing: its `end` ends `f`, and `c if d` is not counted.
        let found = functions("def f(a)\n  case a\n  when 1 then b\n  end\n  c if d\nend\n");
        assert_eq!(found, Some(vec![("f".to_string(), 1, 4, 2)]));
        // A heredoc is read as code: its `if` opens a block, and `f` never ends.
        let code = "def f(a)\n  x = <<~T\n    if this or that\n  T\n  a\nend\n";
        assert_eq!(functions(code), Some(Vec::new()));
        assert_eq!(cyclomatic(code), 3);
    }

    #[test]
    fn deep_nesting_stops_at_pythons_recursion_limit() {
        let nested = |n: usize| {
            format!(
                "def g\n  a if b\nend\nx = {}{}\ndef h\nend\n",
                "{".repeat(n),
                "}".repeat(n)
            )
        };
        let names = |found: Option<Vec<(String, usize, usize, i64)>>| -> Vec<String> {
            found.into_iter().flatten().map(|f| f.0).collect()
        };
        assert_eq!(names(functions(&nested(400))), ["g", "h"]);
        assert_eq!(names(functions(&nested(5000))), ["g"]);
    }
}
