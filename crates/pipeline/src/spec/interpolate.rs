//! `${...}` interpolation in pipeline.yaml: `${train.epochs}` reads params.yaml, `${item}`,
//! `${item.name}` and `${key}` read the current `foreach`/`matrix` item. A value that is exactly
//! one `${...}` keeps its type (so `foreach: ${models}` can be a list); inside a longer string
//! only scalars may appear. `\${` is a literal `${` (for shell variables).

use serde_norway::Value;

use crate::spec::params;

/// What `${...}` can refer to.
#[derive(Clone, Copy, Default)]
pub struct Scope<'a> {
    /// The top level of params.yaml, if it exists.
    pub params: Option<&'a Value>,
    /// The current `foreach`/`matrix` item.
    pub item: Option<&'a Value>,
    /// The current `foreach` key (dict form) or stage-name suffix.
    pub key: Option<&'a str>,
}

/// The expression of a value that is exactly `${expr}`.
pub fn whole(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains("${") && !inner.contains('}')).then_some(inner.trim())
}

/// The value of `expr` (`train.epochs`, `item.name`, `key`).
pub fn resolve(expr: &str, scope: &Scope) -> Result<Value, String> {
    let (head, rest) = match expr.find(['.', '[']) {
        Some(at) => (&expr[..at], expr[at..].trim_start_matches('.')),
        None => (expr, ""),
    };
    let (root, what) = match head {
        "item" => match scope.item {
            Some(item) => (item, "item"),
            None => return Err("`${item}` is only defined inside `foreach` or `matrix`".to_owned()),
        },
        "key" if scope.key.is_some() => {
            if !rest.is_empty() {
                return Err(format!(
                    "`${{key}}` is a string; `${{{expr}}}` cannot index it"
                ));
            }
            return Ok(Value::String(scope.key.unwrap_or_default().to_owned()));
        }
        _ => match scope.params {
            Some(params) => return lookup(params, expr, "params.yaml"),
            None => {
                return Err(format!(
                    "`${{{expr}}}` refers to `{}`, which does not exist",
                    params::DEFAULT_FILE
                ));
            }
        },
    };
    if rest.is_empty() {
        Ok(root.clone())
    } else {
        lookup(root, rest, what)
    }
}

fn lookup(root: &Value, dotted: &str, what: &str) -> Result<Value, String> {
    params::lookup(root, dotted).cloned().map_err(|missing| {
        let hint = missing
            .suggestion
            .map(|name| format!("\nhint: did you mean `{name}`?"))
            .unwrap_or_default();
        format!(
            "cannot resolve `${{{dotted}}}` in {what}: {}{hint}",
            missing.message
        )
    })
}

/// A scalar as it appears inside a string.
pub fn scalar_text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Tagged(tagged) => scalar_text(&tagged.value),
        other => Err(format!(
            "is a {}, which cannot be part of a string",
            params::kind_of(other)
        )),
    }
}

/// Replaces every `${...}` in `text`.
pub fn interpolate(text: &str, scope: &Scope) -> Result<String, String> {
    if !text.contains("${") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 && rest.as_bytes()[start - 1] == b'\\' {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err(format!("unterminated `${{` in `{text}`"));
        };
        let expr = rest[start + 2..start + end].trim();
        let value = resolve(expr, scope)?;
        out.push_str(&scalar_text(&value).map_err(|why| format!("`${{{expr}}}` {why}"))?);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn replaces_params_and_items_and_keeps_escapes() {
        let params = value("train: {epochs: 3}\nname: x\n");
        let item = value("{name: gru, size: 2}");
        let scope = Scope {
            params: Some(&params),
            item: Some(&item),
            key: Some("gru"),
        };
        assert_eq!(
            interpolate("run ${train.epochs} ${item.name} ${key} \\${HOME}", &scope).unwrap(),
            "run 3 gru gru ${HOME}"
        );
        assert_eq!(resolve("item", &scope).unwrap(), item);
        assert_eq!(whole(" ${ train } "), Some("train"));
        assert_eq!(whole("a ${train}"), None);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let params = value("train: {epochs: 3}\n");
        let scope = Scope {
            params: Some(&params),
            ..Scope::default()
        };
        let error = interpolate("${train.epoch}", &scope).unwrap_err();
        assert!(error.contains("did you mean `train.epochs`"), "{error}");
        assert!(
            interpolate("${item}", &scope)
                .unwrap_err()
                .contains("foreach")
        );
        assert!(
            interpolate("${train}", &scope)
                .unwrap_err()
                .contains("mapping")
        );
        assert!(
            interpolate("${train", &scope)
                .unwrap_err()
                .contains("unterminated")
        );
        let none = Scope::default();
        assert!(
            interpolate("${x}", &none)
                .unwrap_err()
                .contains("params.yaml")
        );
    }
}
