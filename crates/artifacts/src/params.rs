//! Loading one section of `params.yaml` into a typed struct.
//!
//! Only the requested dotted key is deserialized (other keys are skipped unparsed), so a stage
//! sees only its own settings, and errors keep the YAML location: a typo in a key is reported
//! with file, line, the full dotted key and the closest valid name.

use std::marker::PhantomData;
use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::error::{ArtifactError, Result};

/// Deserializes the value at `dotted_key` (`"train"`, `"infer.models"`, or `""` for the whole
/// file) of the YAML file at `path`.
pub fn load<T: DeserializeOwned>(path: impl AsRef<Path>, dotted_key: &str) -> Result<T> {
    let path = path.as_ref();
    let text = fs_err::read_to_string(path).map_err(|error| ArtifactError::Params {
        path: path.to_path_buf(),
        location: String::new(),
        key: dotted_key.to_owned(),
        message: format!("cannot read the params file: {}", error.kind()),
    })?;
    from_str(path, &text, dotted_key)
}

/// Like [`load`], from text already read (`path` is used for messages only).
pub fn from_str<T: DeserializeOwned>(path: &Path, text: &str, dotted_key: &str) -> Result<T> {
    let keys: Vec<&str> = if dotted_key.is_empty() {
        Vec::new()
    } else {
        dotted_key.split('.').collect()
    };
    let deserializer = serde_norway::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(deserializer, &mut track);
    let seed = AtKey::<T> {
        keys: &keys,
        _value: PhantomData,
    };
    match seed.deserialize(tracked) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(ArtifactError::Params {
            path: path.to_path_buf(),
            location: String::new(),
            key: dotted_key.to_owned(),
            message: "no such key in the params file".to_owned(),
        }),
        Err(error) => {
            let key = track.path().to_string();
            let location = error
                .location()
                .map(|at| format!("{}:{}: ", at.line(), at.column()))
                .unwrap_or_default();
            Err(ArtifactError::Params {
                path: path.to_path_buf(),
                location,
                key: if key == "." {
                    dotted_key.to_owned()
                } else {
                    key
                },
                message: with_suggestion(&strip_location(&error.to_string())),
            })
        }
    }
}

/// serde_norway prefixes the path (`train.gru: `) and appends " at line L column C"; both are
/// reported separately.
fn strip_location(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest.to_owned(),
        _ => message.to_owned(),
    }
}

/// Adds "did you mean `x`?" to serde's "unknown field `y`, expected one of `a`, `b`" (or
/// "expected `a` or `b`", or the same for variants).
pub fn with_suggestion(message: &str) -> String {
    let Some(start) = message
        .find("unknown field `")
        .or_else(|| message.find("unknown variant `"))
    else {
        return message.to_owned();
    };
    let rest = &message[start..];
    let rest = &rest[rest.find('`').map_or(0, |i| i + 1)..];
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match closest(unknown, candidates.iter().copied()) {
        Some(best) => format!("{message}\nhint: did you mean `{best}`?"),
        None => message.to_owned(),
    }
}

/// The candidate closest to `word`, if any is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(word.len()) / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

struct AtKey<'a, T> {
    keys: &'a [&'a str],
    _value: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for AtKey<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        if self.keys.is_empty() {
            return T::deserialize(deserializer).map(Some);
        }
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for AtKey<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(formatter, "a mapping with key `{}`", self.keys[0])
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.keys[0] {
                found = map.next_value_seed(AtKey::<T> {
                    keys: &self.keys[1..],
                    _value: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
