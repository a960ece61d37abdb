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

mod states;
mod tokenize;

use states::*;
pub(in crate::covariates) use tokenize::*;

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
