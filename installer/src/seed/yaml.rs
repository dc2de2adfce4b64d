//! A YAML document as a tree of values that remember where they were
//! written, so every later check can name the line of what it rejects.
//!
//! Mapping order is kept as written: group order and `pig:` output depend
//! on it, and diagnostics read better in file order.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

use super::error::SeedError;

/// One YAML node and its position (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: Value,
    /// Line of the node in its file, 0 when the node was not read from a file.
    pub line: u64,
    /// Column of the node in its file.
    pub column: u64,
}

/// A YAML value; like Ansible's YAML 1.1 reader, `yes`/`no`/`on`/`off`
/// are booleans.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Any other scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with its keys as text, in document order.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// A node made in code rather than read from a file.
    pub fn synthetic(value: Value) -> Node {
        Node {
            value,
            line: 0,
            column: 0,
        }
    }

    /// The entry `key` of a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value of an integer scalar.
    pub fn as_int(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The value of a boolean scalar.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A scalar as text (strings, numbers and booleans); `None` for
    /// null, sequences and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

impl Value {
    /// What kind of value this is, for messages ("string", "mapping", …).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}

/// Shows a value compactly, in YAML flow style, for error messages.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Seq(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", item.value)?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {}", v.value)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Parse one YAML document; `input` names the text in errors.
pub fn parse(text: &str, input: &str) -> Result<Node, SeedError> {
    serde_saphyr::from_str::<Node>(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        SeedError::Syntax {
            input: input.to_string(),
            line,
            column,
            message: first_line(&e.without_snippet().to_string()),
        }
    })
}

/// The first line of a possibly multi-line parser message.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            value: spanned.value,
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u)
            .map(Value::Int)
            .map_err(|_| E::custom(format!("integer {u} is too large")))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<KeyText>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key.0, value));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key as text: inventories key hosts by address and redis
/// instances by port, so scalar keys of any type are accepted.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = KeyText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_bool<E>(self, b: bool) -> Result<KeyText, E> {
        Ok(KeyText(b.to_string()))
    }
    fn visit_i64<E>(self, i: i64) -> Result<KeyText, E> {
        Ok(KeyText(i.to_string()))
    }
    fn visit_u64<E>(self, u: u64) -> Result<KeyText, E> {
        Ok(KeyText(u.to_string()))
    }
    fn visit_f64<E>(self, x: f64) -> Result<KeyText, E> {
        Ok(KeyText(x.to_string()))
    }
    fn visit_str<E>(self, s: &str) -> Result<KeyText, E> {
        Ok(KeyText(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<KeyText, E> {
        Ok(KeyText(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_positions_and_scalar_types() {
        let n = parse("b: 1\na: [x, 2.5, true, ~]\n6379: {}\n", "t.yml").unwrap();
        let map = n.as_map().unwrap();
        let keys: Vec<_> = map.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "6379"]);
        assert_eq!(n.get("b").unwrap().as_int(), Some(1));
        let a = n.get("a").unwrap();
        assert_eq!(a.line, 2);
        let items = a.as_seq().unwrap();
        assert_eq!(items[0].value, Value::Str("x".into()));
        assert_eq!(items[1].value, Value::Float(2.5));
        assert_eq!(items[2].value, Value::Bool(true));
        assert_eq!(items[3].value, Value::Null);
    }

    #[test]
    fn yes_and_off_are_booleans_as_in_ansible() {
        // Ansible reads inventories with YAML 1.1 (PyYAML): `off` is false,
        // which is why Pigsty quotes `patroni_watchdog_mode: 'off'`.
        let n = parse("a: yes\nb: off\nc: 'off'\n", "t.yml").unwrap();
        assert_eq!(n.get("a").unwrap().as_bool(), Some(true));
        assert_eq!(n.get("b").unwrap().as_bool(), Some(false));
        assert_eq!(n.get("c").unwrap().as_str(), Some("off"));
    }

    #[test]
    fn syntax_error_names_input_line_and_column() {
        let e = parse("a: 1\nb: [1, 2\nc: 3\n", "seed.yml").unwrap_err();
        let SeedError::Syntax { input, line, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(input, "seed.yml");
        assert!(*line >= 2, "{e}");
        assert!(e.to_string().starts_with("seed.yml:"), "{e}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        assert!(parse("a: 1\na: 2\n", "t.yml").is_err());
    }
}
