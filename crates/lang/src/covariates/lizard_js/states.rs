//! The state machine of lizard's TypeScript/JavaScript reader (`TypeScriptStates` and the
//! readers it nests: functions, objects, bindings, declarations, type annotations).

use super::*;

impl States {
    pub(super) fn new() -> Self {
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

    pub(super) fn shared(self) -> Shared {
        Rc::new(RefCell::new(Machine::States(Box::new(self))))
    }

    /// `TypeScriptStates.__call__`, then `CodeStateMachine.__call__`.
    pub(super) fn call(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
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
    pub(super) fn next(&mut self, cx: &mut Context, state: State, token: Option<&str>) -> Step {
        self.base.state = state;
        if let Some(token) = token {
            self.call(cx, token)?;
        }
        Ok(())
    }

    /// `sub_state(machine, callback)`.
    pub(super) fn sub_state(&mut self, machine: Shared, callback: Option<Callback>) {
        self.base.saved_state = self.base.state.clone();
        self.base.callback = callback;
        self.base.state = State::Sub(machine);
    }

    pub(super) fn statemachine_return(&mut self, cx: &mut Context) {
        self.base.to_exit = true;
        self.statemachine_before_return(cx);
    }

    pub(super) fn statemachine_before_return(&mut self, cx: &mut Context) {
        if self.started_function {
            self.pop_function_from_stack(cx);
        }
    }

    /// `self._state(token)`: whether it returned a true value.
    pub(super) fn run_state(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
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

    pub(super) fn run_callback(&mut self, cx: &mut Context, callback: Callback) -> Step {
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

    pub(super) fn state_global(&mut self, cx: &mut Context, token: &str) -> Step {
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

    pub(super) fn expecting_condition(&mut self, cx: &mut Context, token: &str) -> Step {
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

    pub(super) fn expecting_statement(&mut self, cx: &mut Context, token: &str) -> Step {
        if token == "{" {
            self.sub_state(States::new().shared(), Some(Callback::ResetToGlobal));
            Ok(())
        } else {
            self.next(cx, State::Global, Some(token))
        }
    }

    pub(super) fn field(&mut self, cx: &mut Context, token: &str) -> Step {
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

    pub(super) fn resolve_pending_bindings(&mut self, cx: &mut Context, token: &str) {
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

    pub(super) fn read_binding_candidate(
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

    pub(super) fn push_arrow_function(&mut self, cx: &mut Context) {
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

    pub(super) fn read_parameter_binding(&mut self, cx: &mut Context, token: &str) -> Step<Event> {
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

    pub(super) fn push_function_to_stack(&mut self, cx: &mut Context) {
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

    pub(super) fn pop_function_from_stack(&mut self, cx: &mut Context) {
        if self.started_function {
            cx.end_of_function();
        }
        self.started_function = false;
        self.in_prop_value = false;
    }

    pub(super) fn abandon_function(&mut self, cx: &mut Context) {
        cx.forgive = true;
        cx.end_of_function();
        self.started_function = false;
    }

    pub(super) fn arrow_function(&mut self, cx: &mut Context, token: &str) -> Step {
        self.push_arrow_function(cx);
        self.function_name.clear();
        self.async_seen = false;
        self.static_seen = false;
        self.next(cx, State::Global, Some(token))
    }

    /// `_function` (also called directly with a name).
    pub(super) fn function(&mut self, cx: &mut Context, token: &str) -> Step {
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
    pub(super) fn declaration(&mut self, cx: &mut Context, token: &str) -> Step {
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

    pub(super) fn expecting_opening_bracket(&mut self, cx: &mut Context, token: &str) -> Step {
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

    pub(super) fn handle_object_member(&mut self, cx: &mut Context, token: &str) -> Step<bool> {
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

    pub(super) fn read_object(&mut self, cx: &Context) {
        let object = self.read_binding_candidate(cx, "}", Then::ReadObject, true, false);
        if let Machine::States(object) = &mut *object.borrow_mut() {
            object.static_seen = self.static_seen;
            object.async_seen = self.async_seen;
        }
        self.static_seen = false;
        self.async_seen = false;
    }

    // -------------------------------------------------------------- typescript_declarations.py

    pub(super) fn handle_type_declaration(&mut self, token: &str) -> bool {
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

    pub(super) fn consume_type_annotation(&mut self) {
        let machine = Rc::new(RefCell::new(Machine::Type(TypeStates::new())));
        self.sub_state(machine.clone(), Some(Callback::Replay(machine)));
    }
}

/// `_to_camel_case`.
pub(super) fn camel_case(name: &str) -> String {
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
pub(super) struct TypeStates {
    base: Base,
    saved_token: Option<String>,
}

impl TypeStates {
    pub(super) fn new() -> Self {
        TypeStates {
            base: Base::new(State::TypeGlobal),
            saved_token: None,
        }
    }

    pub(super) fn call(&mut self, token: &str) -> Step<bool> {
        // Its states never return true and it starts no machine of its own.
        self.run_state(token);
        Ok(self.base.to_exit)
    }

    pub(super) fn next(&mut self, state: State, token: &str) {
        self.base.state = state;
        self.call(token).expect("type annotations do not fail");
    }

    pub(super) fn brackets(&mut self, token: &str, open: &str, close: &str) {
        if token == open {
            self.base.br_count += 1;
        } else if token == close {
            self.base.br_count -= 1;
        }
        if self.base.br_count == 0 {
            self.base.to_exit = true;
        }
    }

    pub(super) fn run_state(&mut self, token: &str) {
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
