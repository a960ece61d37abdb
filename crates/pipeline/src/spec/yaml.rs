//! YAML helpers: turning serde_norway errors into located [`PipelineError::Spec`]s, and finding
//! the line of a key after parsing.
//!
//! serde_norway gives positions only in errors. To point at, say, the second out of a stage found
//! to overlap another stage's out long after parsing, [`locate`] re-reads the text with a seed
//! that walks down to that node and fails there on purpose: the parser stamps its own error with
//! the node's line and column. This runs only on the error path, so it costs nothing otherwise,
//! and the YAML is still parsed by the YAML crate, never by hand.

use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Location, PipelineError};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    pub fn key(name: &str) -> Seg {
        Seg::Key(name.to_owned())
    }
}

/// `stages.train.deps[0]`.
pub fn dotted(path: &[Seg]) -> String {
    let mut text = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Seg::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

const MARKER: &str = "\u{1}icodegen-here\u{1}";

/// The position of the node at `path` in `text` (of its key when `at_key`), if it exists.
pub fn locate(text: &str, path: &[Seg], at_key: bool) -> Option<Location> {
    let deserializer = serde_norway::Deserializer::from_str(text);
    match (Find { path, at_key }).deserialize(deserializer) {
        Ok(()) => None,
        Err(error) if error.to_string().contains(MARKER) => error.location().map(|at| Location {
            line: at.line(),
            column: at.column(),
        }),
        Err(_) => None,
    }
}

struct Find<'a> {
    path: &'a [Seg],
    at_key: bool,
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.path.first() {
            None => deserializer.deserialize_any(Here),
            Some(Seg::Key(_)) => deserializer.deserialize_map(self),
            Some(Seg::Index(_)) => deserializer.deserialize_seq(self),
        }
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a mapping or a sequence")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let Some(Seg::Key(wanted)) = self.path.first() else {
            return Ok(());
        };
        let rest = &self.path[1..];
        let fail_on_key = self.at_key && rest.is_empty();
        while let Some(matched) = map.next_key_seed(KeyMatch {
            wanted,
            fail: fail_on_key,
        })? {
            if matched {
                map.next_value_seed(Find {
                    path: rest,
                    at_key: self.at_key,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let Some(Seg::Index(wanted)) = self.path.first() else {
            return Ok(());
        };
        let mut index = 0;
        loop {
            if index == *wanted {
                return seq
                    .next_element_seed(Find {
                        path: &self.path[1..],
                        at_key: self.at_key,
                    })
                    .map(|_| ());
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// Deserializes a mapping key; fails (stamping the key's position) when it is the wanted key
/// and `fail` is set, else says whether it matched.
struct KeyMatch<'a> {
    wanted: &'a str,
    fail: bool,
}

impl<'de> DeserializeSeed<'de> for KeyMatch<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyMatch<'_> {
    type Value = bool;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        if key == self.wanted && self.fail {
            return Err(E::custom(MARKER));
        }
        Ok(key == self.wanted)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<bool, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<bool, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<bool, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<bool, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<bool, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// Fails on whatever node it is given, so that the parser stamps the node's position.
struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("anything")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(MARKER))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(MARKER))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(MARKER))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(MARKER))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(MARKER))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(MARKER))
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(MARKER))
    }
    fn visit_map<M: MapAccess<'de>>(self, _: M) -> Result<(), M::Error> {
        Err(de::Error::custom(MARKER))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, _: S) -> Result<(), S::Error> {
        Err(de::Error::custom(MARKER))
    }
}

/// Deserializes `text` (the contents of `file`) as `T`, turning errors into
/// [`PipelineError::Spec`] with line, column, the dotted key and a "did you mean" hint for
/// unknown keys.
/// Reads a YAML file the user edits (or the lock) as text; `None` when it does not exist. Bytes
/// that are not UTF-8 are a located error (exit 2), not an I/O failure.
pub fn read_text(path: &Path, display: &Path) -> Result<Option<String>, PipelineError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(PipelineError::io("read", display, error)),
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(error) => {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&byte| byte == b'\n').count() + 1;
            let start = valid
                .iter()
                .rposition(|&byte| byte == b'\n')
                .map_or(0, |at| at + 1);
            let column = String::from_utf8_lossy(&valid[start..]).chars().count() + 1;
            Err(PipelineError::Spec {
                file: display.to_path_buf(),
                location: Some(Location { line, column }),
                key: String::new(),
                message: format!(
                    "the file is not UTF-8 text (byte 0x{:02x}); save it as UTF-8",
                    error.as_bytes()[valid.len()]
                ),
            })
        }
    }
}

pub fn from_str<T: de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, PipelineError> {
    let deserializer = serde_norway::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(deserializer, &mut track);
    T::deserialize(tracked).map_err(|error| {
        let key = track.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let location = error.location().map(|at| Location {
            line: at.line(),
            column: at.column(),
        });
        let mut message = icodegen_artifacts::params::with_suggestion(&strip_location(&error.to_string()));
        // `[data/${item}]`: in a flow list, `{` starts a mapping.
        let line = location.and_then(|at| text.lines().nth(at.line.saturating_sub(1))).unwrap_or_default();
        if line.contains("${") && line.contains('[') {
            message.push_str("\nhint: inside `[...]`, quote values that use `${...}`, e.g. `outs: [\"data/${item}.txt\"]`, or write one `- item` per line");
        }
        PipelineError::Spec {
            file: file.to_path_buf(),
            location,
            key,
            message,
        }
    })
}

/// serde_norway prefixes messages with the path (`stages.x: `) and appends " at line L column C";
/// both are reported separately.
fn strip_location(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && !path.contains('`') => rest.to_owned(),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "stages:\n  ingest:\n    cmd: echo hi\n    deps:\n      - a\n      - b\n  train:\n    outs: [x, y]\n";

    #[test]
    fn locates_values_keys_and_sequence_items() {
        let path = [
            Seg::key("stages"),
            Seg::key("ingest"),
            Seg::key("deps"),
            Seg::Index(1),
        ];
        assert_eq!(
            locate(TEXT, &path, false),
            Some(Location { line: 6, column: 9 })
        );
        let path = [Seg::key("stages"), Seg::key("train")];
        assert_eq!(
            locate(TEXT, &path, true),
            Some(Location { line: 7, column: 3 })
        );
        let path = [
            Seg::key("stages"),
            Seg::key("train"),
            Seg::key("outs"),
            Seg::Index(1),
        ];
        assert_eq!(
            locate(TEXT, &path, false),
            Some(Location {
                line: 8,
                column: 15
            })
        );
    }

    #[test]
    fn a_missing_node_has_no_location() {
        let path = [Seg::key("stages"), Seg::key("analyze")];
        assert_eq!(locate(TEXT, &path, true), None);
        let path = [
            Seg::key("stages"),
            Seg::key("ingest"),
            Seg::key("deps"),
            Seg::Index(7),
        ];
        assert_eq!(locate(TEXT, &path, false), None);
    }

    #[test]
    fn an_unquoted_interpolation_in_a_flow_list_gets_a_hint() {
        let error = from_str::<serde_norway::Value>(Path::new("p.yaml"), "outs: [a/${item}]\n")
            .unwrap_err();
        assert!(
            error.to_string().contains("quote values that use `${...}`"),
            "{error}"
        );
    }

    #[test]
    fn dotted_paths_read_like_the_yaml() {
        let path = [
            Seg::key("stages"),
            Seg::key("train@gru"),
            Seg::key("deps"),
            Seg::Index(0),
        ];
        assert_eq!(dotted(&path), "stages.train@gru.deps[0]");
    }
}
