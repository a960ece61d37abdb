//! The raw YAML shape of pipeline.yaml, as serde reads it (with positions kept by `yaml`):
//! unknown keys refused, duplicate keys refused, a `cmd` as a string or a list of lines, a
//! param as a key or `{file: [keys]}`, and mappings in the order they were written.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_norway::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    pub(super) stages: Ordered<RawStage>,
    pub(super) cache: Option<RawCache>,
}

/// `cache:` in pipeline.yaml.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    /// `type: reflink` or `type: [reflink, copy]`.
    #[serde(rename = "type")]
    pub(super) kind: Option<OneOrList>,
}

/// A string or a list of strings.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrList {
    One(String),
    List(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStage {
    pub(super) cmd: Option<RawCmd>,
    #[serde(default, deserialize_with = "list")]
    pub(super) deps: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) params: Vec<RawParam>,
    #[serde(default, deserialize_with = "list")]
    pub(super) outs: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) metrics: Vec<String>,
    pub(super) desc: Option<String>,
    pub(super) resources: Option<RawResources>,
    #[serde(default)]
    pub(super) always_changed: bool,
    pub(super) foreach: Option<Value>,
    #[serde(rename = "do")]
    pub(super) body: Option<Box<RawStage>>,
    pub(super) matrix: Option<Ordered<Value>>,
}

impl RawStage {
    pub(super) fn is_only_foreach(&self) -> bool {
        self.cmd.is_none()
            && self.deps.is_empty()
            && self.params.is_empty()
            && self.outs.is_empty()
            && self.metrics.is_empty()
            && self.resources.is_none()
            && !self.always_changed
            && self.matrix.is_none()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResources {
    pub(super) cpus: Option<Value>,
    pub(super) mem: Option<Value>,
    pub(super) gpus: Option<Value>,
    pub(super) time: Option<Value>,
    pub(super) partition: Option<Value>,
    pub(super) account: Option<Value>,
    #[serde(default, deserialize_with = "list")]
    pub(super) extra: Vec<String>,
}

/// `null` (an empty `deps:`) reads as an empty list.
pub(super) fn list<'de, D: de::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// `cmd: one line` or `cmd: [line, line]` (joined with `&&`).
pub(super) struct RawCmd(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for RawCmd {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CmdVisitor;
        impl<'de> Visitor<'de> for CmdVisitor {
            type Value = RawCmd;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a command string or a list of command strings")
            }
            fn visit_str<E: de::Error>(self, line: &str) -> Result<RawCmd, E> {
                Ok(RawCmd(vec![line.to_owned()]))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<RawCmd, S::Error> {
                let mut lines = Vec::new();
                while let Some(line) = seq.next_element::<String>()? {
                    lines.push(line);
                }
                Ok(RawCmd(lines))
            }
        }
        deserializer.deserialize_any(CmdVisitor)
    }
}

/// A `params` entry: `train.gru` (in params.yaml) or `{other.yaml: [a.b, c]}`.
pub(super) enum RawParam {
    Key(String),
    File(String, Vec<String>),
}

impl<'de> Deserialize<'de> for RawParam {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamVisitor;
        impl<'de> Visitor<'de> for ParamVisitor {
            type Value = RawParam;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a dotted key of params.yaml, or `FILE: [keys]`")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<RawParam, E> {
                Ok(RawParam::Key(key.to_owned()))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RawParam, M::Error> {
                let Some((file, keys)) = map.next_entry::<String, Vec<String>>()? else {
                    return Err(de::Error::custom("an empty mapping is not a param"));
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "write one `FILE: [keys]` per params entry",
                    ));
                }
                Ok(RawParam::File(file, keys))
            }
        }
        deserializer.deserialize_any(ParamVisitor)
    }
}

/// A mapping that keeps its order and refuses duplicate keys.
pub(super) struct Ordered<T>(pub(super) Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OrderedVisitor<T> {
            type Value = Ordered<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a mapping")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ordered(Vec::new()))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut entries: Vec<(String, T)> = Vec::new();
                let mut seen = BTreeSet::new();
                while let Some(key) = map.next_key_seed(UniqueKey { seen: &seen })? {
                    seen.insert(key.clone());
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(std::marker::PhantomData))
    }
}

/// A mapping key that must not repeat one in `seen` (fails on the key, so the error has its line).
struct UniqueKey<'a> {
    seen: &'a BTreeSet<String>,
}

impl<'de> DeserializeSeed<'de> for UniqueKey<'_> {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for UniqueKey<'_> {
    type Value = String;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if self.seen.contains(key) {
            return Err(E::custom(format!("`{key}` is defined twice")));
        }
        Ok(key.to_owned())
    }
    fn visit_i64<E: de::Error>(self, key: i64) -> Result<String, E> {
        self.visit_str(&key.to_string())
    }
    fn visit_u64<E: de::Error>(self, key: u64) -> Result<String, E> {
        self.visit_str(&key.to_string())
    }
}
